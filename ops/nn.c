/* nn.c — convolution, pooling and batch normalisation over [N, C, spatial...] tensors with
 * any number of spatial dims: Conv, MaxPool, AveragePool, GlobalAveragePool,
 * BatchNormalization.
 *
 * float16 and bfloat16 are computed in float: inputs are widened into scratch, the float
 * kernel runs, and the result is rounded back (to nearest even). */
#include <math.h>
#include <string.h>

#include "conv.h"
#include "op.h"
#include "pool.h"

/* Bound on sizes taken from attributes (strides, pads, dilations, kernel dims, group), so
 * the window arithmetic on them cannot overflow int64. */
#define ATTR_MAX INT32_MAX

static const onyx_dtype real_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                        ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};
static const onyx_dtype maxpool_types[] = {ONYX_DTYPE_FLOAT,   ONYX_DTYPE_DOUBLE,
                                           ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16,
                                           ONYX_DTYPE_INT8,    ONYX_DTYPE_UINT8,
                                           ONYX_DTYPE_UNDEFINED};

/* ---- half precision through float scratch ---------------------------------------------- */

static bool is_half(onyx_dtype t) { return t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16; }

/* Bytes of a float buffer of n elements in scratch, rounded up so the next one stays aligned. */
static size_t f32_bytes(int64_t n)
{
    return ((size_t)n * sizeof(float) + OX_ALIGN - 1) / OX_ALIGN * OX_ALIGN;
}

/* Takes a float buffer of n elements from the scratch cursor *p. */
static float *take_f32(char **p, int64_t n)
{
    float *r = (float *)(void *)*p;
    *p += f32_bytes(n);
    return r;
}

static void half_to_f32(onyx_dtype t, const void *src, int64_t off, int64_t n, float *dst)
{
    const uint16_t *s = (const uint16_t *)src + off;
    if (t == ONYX_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++) dst[i] = ox_f16_to_f32(s[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ox_bf16_to_f32(s[i]);
}

static void f32_to_half(onyx_dtype t, const float *src, void *dst, int64_t off, int64_t n)
{
    uint16_t *d = (uint16_t *)dst + off;
    if (t == ONYX_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++) d[i] = ox_f32_to_f16(src[i]);
    else
        for (int64_t i = 0; i < n; i++) d[i] = ox_f32_to_bf16(src[i]);
}

/* Run-time guard: the planner must grant what infer asked for. */
static onyx_status check_scratch(ox_ctx *c, size_t need)
{
    if (c->scratch_bytes >= need && (need == 0 || c->scratch)) return ONYX_OK;
    return ox_fail(c, ONYX_E_INTERNAL, "scratch of %zu bytes granted, %zu needed",
                   c->scratch_bytes, need);
}

/* Infer-time guard: every op here produces output 0. */
static onyx_status need_output(ox_ctx *c)
{
    if (c->n_out > 0 && c->out[0]) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "output 0 is missing");
}

/* ---- window attributes (shared by Conv and the pools) ---------------------------------- */

typedef enum auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

static onyx_status get_auto_pad(ox_ctx *c, auto_pad *out)
{
    onyx_status st = ox_attr_expect(c, "auto_pad", OX_ATTR_STRING);
    if (st) return st;
    const char *s = ox_attr_string(c, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET") || !*s) *out = PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = PAD_VALID;
    else return ox_fail(c, ONYX_E_ARG, "unknown auto_pad '%s'", s);
    return ONYX_OK;
}

/* Reads the ints attribute `name` into v[0..n): def everywhere when absent, else exactly n
 * values in [min, ATTR_MAX]. */
static onyx_status get_ints(ox_ctx *c, const char *name, int n, int64_t def, int64_t min,
                            int64_t *v)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INTS);
    if (st) return st;
    const int64_t *a;
    size_t na = ox_attr_ints(c, name, &a);
    if (na == 0) {
        for (int i = 0; i < n; i++) v[i] = def;
        return ONYX_OK;
    }
    if (na != (size_t)n)
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' has %zu values, expected %d", name, na, n);
    for (int i = 0; i < n; i++) {
        if (a[i] < min || a[i] > ATTR_MAX)
            return ox_fail(c, ONYX_E_ARG, "attribute '%s' value %lld out of range [%lld, %d]",
                           name, (long long)a[i], (long long)min, ATTR_MAX);
        v[i] = a[i];
    }
    return ONYX_OK;
}

/* A 0/1 int attribute. */
static onyx_status get_flag(ox_ctx *c, const char *name, bool *out)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INT);
    if (st) return st;
    int64_t v = ox_attr_int(c, name, 0);
    if (v != 0 && v != 1)
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' must be 0 or 1, got %lld", name,
                       (long long)v);
    *out = v != 0;
    return ONYX_OK;
}

/* x must be [N, C, spatial...] with 1..OX_WIN_MAX_DIMS spatial dims. */
static onyx_status check_spatial_rank(ox_ctx *c, const onyx_tensor *x)
{
    if (x->rank >= 3 && x->rank <= 2 + OX_WIN_MAX_DIMS) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "input has rank %d, expected [N, C, D1 ...] with 1 to %d "
                   "spatial dims", x->rank, OX_WIN_MAX_DIMS);
}

/* Output size and padding of one spatial dim with explicit pads. With ceil_mode the size
 * rounds up, but the last window must still start inside the input or the left padding. */
static onyx_status explicit_dim(ox_ctx *c, int d, bool ceil_mode, ox_window *w)
{
    const int64_t effk = (w->kernel[d] - 1) * w->dil[d] + 1, s = w->stride[d];
    const int64_t span = w->in[d] + w->pad_begin[d] + w->pad_end[d] - effk;
    if (span < 0)
        return ox_fail(c, ONYX_E_SHAPE,
                       "window of %lld along spatial dim %d exceeds the padded input (%lld)",
                       (long long)effk, d, (long long)(span + effk));
    int64_t out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (out - 1) * s >= w->in[d] + w->pad_begin[d]) out--;
    w->out[d] = out;
    return ONYX_OK;
}

/* Output size and padding of one spatial dim under auto_pad. SAME keeps ceil(in / stride)
 * outputs and splits the padding it needs evenly, the odd one at the end (UPPER) or at the
 * beginning (LOWER). The output size does not depend on ceil_mode here. */
static onyx_status auto_dim(ox_ctx *c, int d, auto_pad mode, ox_window *w)
{
    const int64_t effk = (w->kernel[d] - 1) * w->dil[d] + 1, s = w->stride[d], in = w->in[d];
    if (mode == PAD_VALID) {
        if (in < effk)
            return ox_fail(c, ONYX_E_SHAPE,
                           "window of %lld along spatial dim %d exceeds the input (%lld)",
                           (long long)effk, d, (long long)in);
        w->pad_begin[d] = w->pad_end[d] = 0;
        w->out[d] = (in - effk) / s + 1;
        return ONYX_OK;
    }
    int64_t out = (in + s - 1) / s;
    int64_t total = out > 0 ? (out - 1) * s + effk - in : 0;
    if (total < 0) total = 0;
    w->pad_begin[d] = mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
    w->pad_end[d] = total - w->pad_begin[d];
    w->out[d] = out;
    return ONYX_OK;
}

/* Fills w for x [N, C, spatial...] and the kernel dims from the attributes strides,
 * dilations, pads and auto_pad. */
static onyx_status make_window(ox_ctx *c, const onyx_tensor *x, const int64_t *kernel,
                               bool ceil_mode, ox_window *w)
{
    const int nd = x->rank - 2;
    int64_t pads[2 * OX_WIN_MAX_DIMS];
    auto_pad mode = PAD_NOTSET;
    onyx_status st;
    memset(w, 0, sizeof *w);
    w->nd = nd;
    if ((st = get_ints(c, "strides", nd, 1, 1, w->stride)) ||
        (st = get_ints(c, "dilations", nd, 1, 1, w->dil)) ||
        (st = get_ints(c, "pads", 2 * nd, 0, 0, pads)) || (st = get_auto_pad(c, &mode)))
        return st;
    for (int d = 0; d < nd; d++) {
        w->in[d] = x->dims[2 + d];
        w->kernel[d] = kernel[d];
        if (mode == PAD_NOTSET) {
            w->pad_begin[d] = pads[d];
            w->pad_end[d] = pads[nd + d];
            st = explicit_dim(c, d, ceil_mode, w);
        } else {
            st = auto_dim(c, d, mode, w);
        }
        if (st) return st;
    }
    return ONYX_OK;
}

/* [N, C, out...] of a pooling or convolution output. */
static void set_window_output(onyx_tensor *y, onyx_dtype t, int64_t n, int64_t ch,
                              const ox_window *w)
{
    int64_t dims[ONYX_MAX_RANK];
    dims[0] = n;
    dims[1] = ch;
    for (int d = 0; d < w->nd; d++) dims[2 + d] = w->out[d];
    ox_set_shape(y, t, w->nd + 2, dims);
}

/* ---- Conv ------------------------------------------------------------------------------ */

static onyx_status conv_check_bias(ox_ctx *c, const onyx_tensor *b, onyx_dtype t, int64_t m)
{
    if (b->dtype != t)
        return ox_fail(c, ONYX_E_ARG, "B has dtype %s, X has %s", onyx_dtype_name(b->dtype),
                       onyx_dtype_name(t));
    if (b->rank != 1 || b->dims[0] != m)
        return ox_fail(c, ONYX_E_SHAPE, "B must have shape [%lld]", (long long)m);
    return ONYX_OK;
}

/* Validates X [N, C, D...], W [M, C/group, k...] and B [M], and describes the convolution. */
static onyx_status conv_setup(ox_ctx *c, ox_conv_shape *s)
{
    onyx_status st;
    if ((st = ox_expect_dtype(c, 0, real_types)) || (st = ox_expect_dtype(c, 1, real_types)))
        return st;
    const onyx_tensor *x = c->in[0], *w = c->in[1];
    const onyx_tensor *b = c->n_in > 2 ? c->in[2] : NULL;
    if (w->dtype != x->dtype)
        return ox_fail(c, ONYX_E_ARG, "W has dtype %s, X has %s", onyx_dtype_name(w->dtype),
                       onyx_dtype_name(x->dtype));
    if ((st = check_spatial_rank(c, x))) return st;
    if (w->rank != x->rank)
        return ox_fail(c, ONYX_E_SHAPE, "W has rank %d, X has rank %d", w->rank, x->rank);
    if ((st = ox_attr_expect(c, "group", OX_ATTR_INT))) return st;
    const int64_t group = ox_attr_int(c, "group", 1), ch = x->dims[1], m = w->dims[0];
    if (group < 1 || group > ATTR_MAX)
        return ox_fail(c, ONYX_E_ARG, "group %lld out of range", (long long)group);
    if (ch % group || w->dims[1] != ch / group || m % group)
        return ox_fail(c, ONYX_E_SHAPE,
                       "X has %lld channels and W is [%lld, %lld, ...]: with group %lld, W "
                       "needs C/group input channels and a multiple of group output channels",
                       (long long)ch, (long long)m, (long long)w->dims[1], (long long)group);
    const int nd = x->rank - 2;
    for (int d = 0; d < nd; d++)
        if (w->dims[2 + d] < 1 || w->dims[2 + d] > ATTR_MAX)
            return ox_fail(c, ONYX_E_SHAPE, "W kernel dim %d is %lld", d,
                           (long long)w->dims[2 + d]);
    if ((st = ox_attr_expect(c, "kernel_shape", OX_ATTR_INTS))) return st;
    const int64_t *ks;
    size_t nks = ox_attr_ints(c, "kernel_shape", &ks);
    if (nks && (nks != (size_t)nd || memcmp(ks, &w->dims[2], (size_t)nd * sizeof *ks)))
        return ox_fail(c, ONYX_E_SHAPE, "kernel_shape does not match W's spatial dims");
    if (b && (st = conv_check_bias(c, b, x->dtype, m))) return st;
    if ((st = make_window(c, x, &w->dims[2], false, &s->win))) return st;
    s->batch = x->dims[0];
    s->in_channels = ch;
    s->out_channels = m;
    s->group = group;
    return ONYX_OK;
}

/* float16/bfloat16: W, B, one input image and one output image in float, then the float
 * convolution's own scratch. */
static size_t conv_half_scratch(const ox_conv_shape *s, const onyx_tensor *w)
{
    ox_conv_shape one = *s;
    one.batch = 1;
    return f32_bytes(ox_tensor_numel(w)) + f32_bytes(s->out_channels) +
           f32_bytes(s->in_channels * ox_window_in_size(&s->win)) +
           f32_bytes(s->out_channels * ox_window_out_size(&s->win)) + ox_conv_f32_scratch(&one);
}

static size_t conv_scratch(const ox_conv_shape *s, const onyx_tensor *w)
{
    switch (w->dtype) {
    case ONYX_DTYPE_FLOAT: return ox_conv_f32_scratch(s);
    case ONYX_DTYPE_DOUBLE: return 0;
    default: return conv_half_scratch(s, w);
    }
}

static onyx_status conv_infer(ox_ctx *c)
{
    ox_conv_shape s;
    onyx_status st;
    if ((st = need_output(c)) || (st = conv_setup(c, &s))) return st;
    set_window_output(c->out[0], c->in[0]->dtype, s.batch, s.out_channels, &s.win);
    c->scratch_bytes = conv_scratch(&s, c->in[1]);
    return ONYX_OK;
}

static void conv_half(ox_ctx *c, const ox_conv_shape *s)
{
    const onyx_tensor *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
    const onyx_dtype t = x->dtype;
    const int64_t xn = s->in_channels * ox_window_in_size(&s->win);
    const int64_t yn = s->out_channels * ox_window_out_size(&s->win);
    char *p = c->scratch;
    float *wf = take_f32(&p, ox_tensor_numel(w)), *bf = take_f32(&p, s->out_channels);
    float *xf = take_f32(&p, xn), *yf = take_f32(&p, yn);
    half_to_f32(t, w->data, 0, ox_tensor_numel(w), wf);
    if (b) half_to_f32(t, b->data, 0, s->out_channels, bf);
    ox_conv_shape one = *s;
    one.batch = 1;
    for (int64_t n = 0; n < s->batch; n++) {
        half_to_f32(t, x->data, n * xn, xn, xf);
        ox_conv_f32(&one, xf, wf, b ? bf : NULL, yf, p, c->threads);
        f32_to_half(t, yf, c->out[0]->data, n * yn, yn);
    }
}

static onyx_status conv_run(ox_ctx *c)
{
    ox_conv_shape s;
    onyx_status st = conv_setup(c, &s);
    if (st || (st = check_scratch(c, conv_scratch(&s, c->in[1])))) return st;
    const onyx_tensor *b = c->n_in > 2 ? c->in[2] : NULL;
    const void *x = c->in[0]->data, *w = c->in[1]->data, *bias = b ? b->data : NULL;
    void *y = c->out[0]->data;
    switch (c->in[0]->dtype) {
    case ONYX_DTYPE_FLOAT: ox_conv_f32(&s, x, w, bias, y, c->scratch, c->threads); break;
    case ONYX_DTYPE_DOUBLE: ox_conv_f64(&s, x, w, bias, y, c->threads); break;
    default: conv_half(c, &s); break;
    }
    return ONYX_OK;
}

/* ---- MaxPool / AveragePool ------------------------------------------------------------- */

/* Validates X and the pooling attributes (kernel_shape is required) and describes the
 * window. */
static onyx_status pool_setup(ox_ctx *c, const onyx_dtype *types, ox_window *w)
{
    onyx_status st;
    if ((st = ox_expect_dtype(c, 0, types))) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = check_spatial_rank(c, x))) return st;
    const int nd = x->rank - 2;
    int64_t kernel[OX_WIN_MAX_DIMS];
    bool ceil_mode;
    if (!ox_attr_has(c, "kernel_shape"))
        return ox_fail(c, ONYX_E_ARG, "attribute 'kernel_shape' is required");
    if ((st = get_ints(c, "kernel_shape", nd, 1, 1, kernel)) ||
        (st = get_flag(c, "ceil_mode", &ceil_mode)))
        return st;
    return make_window(c, x, kernel, ceil_mode, w);
}

/* float16/bfloat16: the input and the output in float. */
static size_t pool_scratch(const ox_ctx *c)
{
    if (!is_half(c->in[0]->dtype)) return 0;
    return f32_bytes(ox_tensor_numel(c->in[0])) + f32_bytes(ox_tensor_numel(c->out[0]));
}

static onyx_status pool_infer(ox_ctx *c, const onyx_dtype *types)
{
    ox_window w;
    onyx_status st;
    if ((st = need_output(c)) || (st = pool_setup(c, types, &w))) return st;
    const onyx_tensor *x = c->in[0];
    set_window_output(c->out[0], x->dtype, x->dims[0], x->dims[1], &w);
    c->scratch_bytes = pool_scratch(c);
    return ONYX_OK;
}

/* The pooled input widened to float in scratch (half types), with room for the output. */
static void pool_half_begin(ox_ctx *c, float **xf, float **yf)
{
    char *p = c->scratch;
    const int64_t xn = ox_tensor_numel(c->in[0]);
    *xf = take_f32(&p, xn);
    *yf = take_f32(&p, ox_tensor_numel(c->out[0]));
    half_to_f32(c->in[0]->dtype, c->in[0]->data, 0, xn, *xf);
}

static void pool_half_end(ox_ctx *c, const float *yf)
{
    f32_to_half(c->out[0]->dtype, yf, c->out[0]->data, 0, ox_tensor_numel(c->out[0]));
}

static onyx_status maxpool_infer(ox_ctx *c)
{
    onyx_status st = pool_infer(c, maxpool_types);
    if (st) return st;
    bool col_major;
    if ((st = get_flag(c, "storage_order", &col_major))) return st;
    onyx_tensor *idx = c->n_out > 1 ? c->out[1] : NULL;
    if (idx) {
        if (c->opset < 8) return ox_fail(c, ONYX_E_ARG, "output Indices needs opset 8");
        ox_set_shape(idx, ONYX_DTYPE_INT64, c->out[0]->rank, c->out[0]->dims);
    }
    return ONYX_OK;
}

static onyx_status maxpool_run(ox_ctx *c)
{
    ox_window w;
    bool col_major;
    onyx_status st = pool_setup(c, maxpool_types, &w);
    if (st || (st = get_flag(c, "storage_order", &col_major)) ||
        (st = check_scratch(c, pool_scratch(c))))
        return st;
    const onyx_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    void *y = c->out[0]->data;
    int64_t *idx = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    const int nt = c->threads;
    switch (x->dtype) {
    case ONYX_DTYPE_FLOAT: ox_maxpool_f32(&w, planes, x->data, y, idx, col_major, nt); break;
    case ONYX_DTYPE_DOUBLE: ox_maxpool_f64(&w, planes, x->data, y, idx, col_major, nt); break;
    case ONYX_DTYPE_INT8: ox_maxpool_i8(&w, planes, x->data, y, idx, col_major, nt); break;
    case ONYX_DTYPE_UINT8: ox_maxpool_u8(&w, planes, x->data, y, idx, col_major, nt); break;
    default: {
        float *xf, *yf;
        pool_half_begin(c, &xf, &yf);
        ox_maxpool_f32(&w, planes, xf, yf, idx, col_major, nt);
        pool_half_end(c, yf);
        break;
    }
    }
    return ONYX_OK;
}

static onyx_status avgpool_infer(ox_ctx *c)
{
    bool count_pad;
    onyx_status st = pool_infer(c, real_types);
    return st ? st : get_flag(c, "count_include_pad", &count_pad);
}

static onyx_status avgpool_run(ox_ctx *c)
{
    ox_window w;
    bool count_pad;
    onyx_status st = pool_setup(c, real_types, &w);
    if (st || (st = get_flag(c, "count_include_pad", &count_pad)) ||
        (st = check_scratch(c, pool_scratch(c))))
        return st;
    const onyx_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    void *y = c->out[0]->data;
    switch (x->dtype) {
    case ONYX_DTYPE_FLOAT: ox_avgpool_f32(&w, planes, count_pad, x->data, y, c->threads); break;
    case ONYX_DTYPE_DOUBLE: ox_avgpool_f64(&w, planes, count_pad, x->data, y, c->threads); break;
    default: {
        float *xf, *yf;
        pool_half_begin(c, &xf, &yf);
        ox_avgpool_f32(&w, planes, count_pad, xf, yf, c->threads);
        pool_half_end(c, yf);
        break;
    }
    }
    return ONYX_OK;
}

/* ---- GlobalAveragePool ----------------------------------------------------------------- */

static onyx_status global_avgpool_infer(ox_ctx *c)
{
    onyx_status st;
    if ((st = need_output(c)) || (st = ox_expect_dtype(c, 0, real_types))) return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank < 2)
        return ox_fail(c, ONYX_E_SHAPE, "input has rank %d, expected [N, C, ...]", x->rank);
    int64_t dims[ONYX_MAX_RANK];
    for (int d = 0; d < x->rank; d++) dims[d] = d < 2 ? x->dims[d] : 1;
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    c->scratch_bytes = pool_scratch(c);
    return ONYX_OK;
}

static onyx_status global_avgpool_run(ox_ctx *c)
{
    onyx_status st = check_scratch(c, pool_scratch(c));
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t size = planes > 0 ? ox_tensor_numel(x) / planes : 0;
    void *y = c->out[0]->data;
    switch (x->dtype) {
    case ONYX_DTYPE_FLOAT: ox_global_avgpool_f32(planes, size, x->data, y, c->threads); break;
    case ONYX_DTYPE_DOUBLE: ox_global_avgpool_f64(planes, size, x->data, y, c->threads); break;
    default: {
        float *xf, *yf;
        pool_half_begin(c, &xf, &yf);
        ox_global_avgpool_f32(planes, size, xf, yf, c->threads);
        pool_half_end(c, yf);
        break;
    }
    }
    return ONYX_OK;
}

/* ---- BatchNormalization ---------------------------------------------------------------- */

/* X is seen as [batch, channels, size]; the parameters have one value per channel. */
typedef struct bn_args {
    int64_t batch, channels, size;
    double eps, momentum;
    bool training; /* statistics from X itself; outputs 1, 2 get the updated running ones */
} bn_args;

static bool bn_extra_outputs(const ox_ctx *c)
{
    for (int i = 1; i < c->n_out; i++)
        if (c->out[i]) return true;
    return false;
}

/* Inference unless training_mode (opset >= 14) is set. Before opset 14 the mode was
 * implied by is_test and the extra outputs; a node asking only for Y is run as inference,
 * which is how such models are deployed. spatial = 0 (opset < 9) means per-activation
 * parameters [C, D1, ...]: each activation is then its own channel. */
static onyx_status bn_setup(ox_ctx *c, bn_args *a)
{
    onyx_status st;
    for (int i = 0; i < 5; i++)
        if ((st = ox_expect_dtype(c, i, real_types))) return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank < 2)
        return ox_fail(c, ONYX_E_SHAPE, "X has rank %d, expected [N, C, ...]", x->rank);
    a->batch = x->dims[0];
    a->channels = x->dims[1];
    a->size = 1;
    for (int d = 2; d < x->rank; d++) a->size *= x->dims[d];
    if (c->opset < 9 && ox_attr_int(c, "spatial", 1) == 0) {
        a->channels *= a->size;
        a->size = 1;
    }
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    for (int i = 1; i < 5; i++)
        if (ox_tensor_numel(c->in[i]) != a->channels)
            return ox_fail(c, ONYX_E_SHAPE, "%s has %lld values, expected %lld", names[i],
                           (long long)ox_tensor_numel(c->in[i]), (long long)a->channels);
    if ((st = ox_attr_expect(c, "epsilon", OX_ATTR_FLOAT)) ||
        (st = ox_attr_expect(c, "momentum", OX_ATTR_FLOAT)))
        return st;
    a->eps = ox_attr_float(c, "epsilon", 1e-5f);
    a->momentum = ox_attr_float(c, "momentum", 0.9f);
    a->training = false;
    if (c->opset >= 14 && (st = get_flag(c, "training_mode", &a->training))) return st;
    if (c->opset < 14 && bn_extra_outputs(c))
        return ox_fail(c, ONYX_E_UNSUPPORTED,
                       "training-mode outputs (mean, var, saved_mean, saved_var) are not "
                       "supported before opset 14");
    if (!a->training && bn_extra_outputs(c))
        return ox_fail(c, ONYX_E_ARG, "outputs running_mean/running_var need training_mode=1");
    return ONYX_OK;
}

static onyx_status bn_infer(ox_ctx *c)
{
    bn_args a;
    onyx_status st;
    if ((st = need_output(c)) || (st = bn_setup(c, &a))) return st;
    const onyx_tensor *x = c->in[0];
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    /* running_mean / running_var have the dtype of input_mean / input_var. */
    for (int i = 1; i < c->n_out && i < 3; i++)
        if (c->out[i]) ox_set_shape(c->out[i], c->in[2 + i]->dtype, 1, &a.channels);
    return ONYX_OK;
}

/* y[off + i] = (x[off + i] - mean) * scale + bias for i < n. */
static void bn_apply(onyx_dtype t, const void *x, void *y, int64_t off, int64_t n, double mean,
                     double scale, double bias)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: {
        const float *xs = (const float *)x + off;
        float *ys = (float *)y + off;
        for (int64_t i = 0; i < n; i++) ys[i] = (float)((xs[i] - mean) * scale + bias);
        break;
    }
    case ONYX_DTYPE_DOUBLE: {
        const double *xs = (const double *)x + off;
        double *ys = (double *)y + off;
        for (int64_t i = 0; i < n; i++) ys[i] = (xs[i] - mean) * scale + bias;
        break;
    }
    default: {
        const uint16_t *xs = (const uint16_t *)x + off;
        uint16_t *ys = (uint16_t *)y + off;
        const bool f16 = t == ONYX_DTYPE_FLOAT16;
        for (int64_t i = 0; i < n; i++) {
            double v = f16 ? ox_f16_to_f32(xs[i]) : ox_bf16_to_f32(xs[i]);
            float r = (float)((v - mean) * scale + bias);
            ys[i] = f16 ? ox_f32_to_f16(r) : ox_f32_to_bf16(r);
        }
        break;
    }
    }
}

static void store_real(onyx_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)t->data)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = ox_f32_to_f16((float)v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = ox_f32_to_bf16((float)v); break;
    default: break;
    }
}

/* Mean and population variance of channel ch over the batch and the spatial dims. */
static void bn_channel_stats(const onyx_tensor *x, const bn_args *a, int64_t ch, double *mean,
                             double *var)
{
    const int64_t count = a->batch * a->size;
    double sum = 0.0, sq = 0.0;
    for (int64_t n = 0; n < a->batch; n++) {
        const int64_t base = (n * a->channels + ch) * a->size;
        for (int64_t i = 0; i < a->size; i++) sum += ox_read_f64(x, base + i);
    }
    *mean = count > 0 ? sum / (double)count : 0.0;
    for (int64_t n = 0; n < a->batch; n++) {
        const int64_t base = (n * a->channels + ch) * a->size;
        for (int64_t i = 0; i < a->size; i++) {
            double dv = ox_read_f64(x, base + i) - *mean;
            sq += dv * dv;
        }
    }
    *var = count > 0 ? sq / (double)count : 0.0;
}

/* One channel: normalise every image's plane; in training mode also update the running
 * statistics outputs. */
static void bn_channel(ox_ctx *c, const bn_args *a, int64_t ch)
{
    const onyx_tensor *x = c->in[0];
    double mean, var;
    if (a->training) {
        bn_channel_stats(x, a, ch, &mean, &var);
        const double keep = a->momentum;
        if (c->n_out > 1 && c->out[1])
            store_real(c->out[1], ch, ox_read_f64(c->in[3], ch) * keep + mean * (1.0 - keep));
        if (c->n_out > 2 && c->out[2])
            store_real(c->out[2], ch, ox_read_f64(c->in[4], ch) * keep + var * (1.0 - keep));
    } else {
        mean = ox_read_f64(c->in[3], ch);
        var = ox_read_f64(c->in[4], ch);
    }
    const double scale = ox_read_f64(c->in[1], ch) / sqrt(var + a->eps);
    const double bias = ox_read_f64(c->in[2], ch);
    for (int64_t n = 0; n < a->batch; n++)
        bn_apply(x->dtype, x->data, c->out[0]->data, (n * a->channels + ch) * a->size, a->size,
                 mean, scale, bias);
}

static onyx_status bn_run(ox_ctx *c)
{
    bn_args a;
    onyx_status st = bn_setup(c, &a);
    if (st) return st;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t ch = 0; ch < a.channels; ch++) bn_channel(c, &a, ch);
    return ONYX_OK;
}

/* ---- registry -------------------------------------------------------------------------- */

const ox_op ox_ops_nn[] = {
    {"Conv", "", 1, 28, conv_infer, conv_run, 0},
    {"MaxPool", "", 1, 28, maxpool_infer, maxpool_run, 0},
    {"AveragePool", "", 1, 28, avgpool_infer, avgpool_run, 0},
    {"GlobalAveragePool", "", 1, 28, global_avgpool_infer, global_avgpool_run, 0},
    {"BatchNormalization", "", 1, 28, bn_infer, bn_run, 0},
};
const size_t ox_ops_nn_count = sizeof ox_ops_nn / sizeof ox_ops_nn[0];
