/* nn.c — convolution, pooling and batch normalisation over [N, C, spatial...] tensors with
 * any number of spatial dims: Conv, MaxPool, AveragePool, GlobalAveragePool,
 * BatchNormalization.
 *
 * float16 and bfloat16 are computed in float: inputs are widened into scratch, the float
 * kernel runs, and the result is rounded back (to nearest even). */
#include <math.h>

#include "conv_attrs.h"
#include "fused.h"
#include "pool.h"

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

/* Infer-time guard: every op here produces output 0. */
static onyx_status need_output(ox_ctx *c)
{
    if (c->n_out > 0 && c->out[0]) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "output 0 is missing");
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
    if ((st = ox_check_spatial_rank(c, x, "input")) ||
        (st = ox_conv_shape_of(c, x, w, "X", "W", s)))
        return st;
    return b ? conv_check_bias(c, b, x->dtype, s->out_channels) : ONYX_OK;
}

/* float16/bfloat16: W, B, one input image and one output image in float, then the float
 * convolution's own scratch. */
static size_t conv_half_scratch(const ox_conv_shape *s, const onyx_tensor *w, int threads)
{
    ox_conv_shape one = *s;
    one.batch = 1;
    return f32_bytes(ox_tensor_numel(w)) + f32_bytes(s->out_channels) +
           f32_bytes(s->in_channels * ox_window_in_size(&s->win)) +
           f32_bytes(s->out_channels * ox_window_out_size(&s->win)) + ox_conv_f32_scratch(&one, threads);
}

static size_t conv_scratch(const ox_conv_shape *s, const onyx_tensor *w, int threads)
{
    switch (w->dtype) {
    case ONYX_DTYPE_FLOAT: return ox_conv_f32_scratch(s, threads);
    case ONYX_DTYPE_DOUBLE: return 0;
    default: return conv_half_scratch(s, w, threads);
    }
}

static onyx_status conv_infer(ox_ctx *c)
{
    ox_conv_shape s;
    onyx_status st;
    if ((st = need_output(c)) || (st = conv_setup(c, &s))) return st;
    ox_set_window_output(c->out[0], c->in[0]->dtype, s.batch, s.out_channels, &s.win);
    c->scratch_bytes = conv_scratch(&s, c->in[1], c->threads);
    return ONYX_OK;
}

static void conv_half(ox_ctx *c, const ox_conv_shape *s, const ox_conv_epilogue *e)
{
    const onyx_tensor *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
    const onyx_dtype t = x->dtype;
    const int64_t xn = s->in_channels * ox_window_in_size(&s->win);
    const int64_t yn = s->out_channels * ox_window_out_size(&s->win);
    char *p = c->scratch;
    float *wf = take_f32(&p, ox_tensor_numel(w)), *bf = take_f32(&p, s->out_channels);
    float *xf = take_f32(&p, xn), *yf = take_f32(&p, yn);
    ox_half_to_f32(t, w->data, ox_tensor_numel(w), wf);
    if (b) ox_half_to_f32(t, b->data, s->out_channels, bf);
    ox_conv_shape one = *s;
    one.batch = 1;
    for (int64_t n = 0; n < s->batch; n++) {
        ox_half_to_f32(t, (const uint16_t *)x->data + n * xn, xn, xf);
        ox_conv_f32(&one, xf, wf, b ? bf : NULL, e, yf, p, c->threads);
        ox_f32_to_half(t, yf, yn, (uint16_t *)c->out[0]->data + n * yn);
    }
}

/* The residual input of a fused Conv (fused.h), or NULL. The pass only fuses one whose
 * shape is the output's (fixed or symbolic dims); checked again here, as the kernel reads it
 * like the output. */
static onyx_status conv_fused_residual(ox_ctx *c, const onyx_tensor **r)
{
    *r = c->n_in > OX_CONV_RESIDUAL_INPUT ? c->in[OX_CONV_RESIDUAL_INPUT] : NULL;
    if (!*r) return ONYX_OK;
    const onyx_tensor *y = c->out[0];
    bool same = (*r)->dtype == ONYX_DTYPE_FLOAT && c->in[0]->dtype == ONYX_DTYPE_FLOAT && (*r)->rank == y->rank;
    for (int d = 0; same && d < y->rank; d++) same = (*r)->dims[d] == y->dims[d];
    char a[96], b[96];
    /* reachable when a caller binds one symbolic dim name to two sizes (the pass proved the
     * shapes equal from the names) */
    if (!same)
        return ox_fail(c, ONYX_E_SHAPE, "fused residual input %s does not have the float output's shape %s "
                       "(the model's symbolic dims are bound inconsistently)",
                       ox_shape_str(a, sizeof a, (*r)->rank, (*r)->dims), ox_shape_str(b, sizeof b, y->rank, y->dims));
    return ONYX_OK;
}

onyx_status ox_fused_act(ox_ctx *c, ox_act *act)
{
    const int64_t kind = ox_attr_int(c, OX_CONV_ACT_ATTR, OX_ACT_NONE);
    if (kind < OX_ACT_NONE || kind >= OX_ACT_COUNT_)
        return ox_fail(c, ONYX_E_INTERNAL, "fused activation %lld is unknown", (long long)kind);
    act->kind = (ox_act_kind)kind;
    act->alpha = ox_attr_float(c, OX_CONV_ACT_ALPHA_ATTR, 0.0f);
    act->beta = ox_attr_float(c, OX_CONV_ACT_BETA_ATTR, 0.0f);
    return ONYX_OK;
}

/* The epilogue of a fused Conv: its activation (none when only a residual was fused) and
 * the residual input. */
static onyx_status conv_fused_epilogue(ox_ctx *c, ox_conv_epilogue *e)
{
    const onyx_tensor *r;
    onyx_status st = ox_fused_act(c, &e->act);
    if (st || (st = conv_fused_residual(c, &r))) return st;
    e->residual = r ? r->data : NULL;
    return st;
}

static onyx_status conv_run_with(ox_ctx *c, bool fused)
{
    ox_conv_shape s;
    ox_conv_epilogue e = {{OX_ACT_NONE, 0.0f, 0.0f}, false, NULL};
    onyx_status st = conv_setup(c, &s);
    if (st || (st = ox_check_scratch(c, conv_scratch(&s, c->in[1], c->threads)))) return st;
    if (fused && (st = conv_fused_epilogue(c, &e))) return st;
    const onyx_tensor *b = c->n_in > 2 ? c->in[2] : NULL;
    const void *x = c->in[0]->data, *w = c->in[1]->data, *bias = b ? b->data : NULL;
    void *y = c->out[0]->data;
    switch (c->in[0]->dtype) {
    case ONYX_DTYPE_FLOAT: ox_conv_f32(&s, x, w, bias, &e, y, c->scratch, c->threads); break;
    case ONYX_DTYPE_DOUBLE: /* the fusion passes only fuse float Convs */
        if (fused) return ox_fail(c, ONYX_E_INTERNAL, "fused activation on a double Conv");
        ox_conv_f64(&s, x, w, bias, y, c->threads);
        break;
    default:
        if (e.residual) return ox_fail(c, ONYX_E_INTERNAL, "fused residual on a half-precision Conv");
        conv_half(c, &s, &e);
        break;
    }
    return ONYX_OK;
}

static onyx_status conv_run(ox_ctx *c) { return conv_run_with(c, false); }
static onyx_status conv_fused_run(ox_ctx *c) { return conv_run_with(c, true); }

static onyx_status conv_fused_infer(ox_ctx *c)
{
    const onyx_tensor *r;
    onyx_status st = conv_infer(c);
    return st ? st : conv_fused_residual(c, &r);
}

/* Not in the registry table: only the fusion passes put it on a node. */
const ox_op ox_op_conv_fused = {"Conv", "", 1, 28, conv_fused_infer, conv_fused_run, 0};

/* ---- MaxPool / AveragePool ------------------------------------------------------------- */

/* Validates X and the pooling attributes (kernel_shape is required) and describes the
 * window. */
static onyx_status pool_setup(ox_ctx *c, const onyx_dtype *types, ox_window *w)
{
    onyx_status st;
    if ((st = ox_expect_dtype(c, 0, types))) return st;
    const onyx_tensor *x = c->in[0];
    int64_t kernel[OX_WIN_MAX_DIMS];
    bool ceil_mode;
    if ((st = ox_check_spatial_rank(c, x, "input")) ||
        (st = ox_pool_kernel(c, x->rank - 2, kernel, &ceil_mode)))
        return st;
    return ox_make_window(c, x, kernel, ceil_mode, w);
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
    ox_set_window_output(c->out[0], x->dtype, x->dims[0], x->dims[1], &w);
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
    ox_half_to_f32(c->in[0]->dtype, c->in[0]->data, xn, *xf);
}

static void pool_half_end(ox_ctx *c, const float *yf)
{
    ox_f32_to_half(c->out[0]->dtype, yf, ox_tensor_numel(c->out[0]), c->out[0]->data);
}

static onyx_status maxpool_infer(ox_ctx *c)
{
    onyx_status st = pool_infer(c, maxpool_types);
    if (st) return st;
    bool col_major;
    if ((st = ox_get_flag(c, "storage_order", &col_major))) return st;
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
    if (st || (st = ox_get_flag(c, "storage_order", &col_major)) ||
        (st = ox_check_scratch(c, pool_scratch(c))))
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
    return st ? st : ox_get_flag(c, "count_include_pad", &count_pad);
}

static onyx_status avgpool_run(ox_ctx *c)
{
    ox_window w;
    bool count_pad;
    onyx_status st = pool_setup(c, real_types, &w);
    if (st || (st = ox_get_flag(c, "count_include_pad", &count_pad)) ||
        (st = ox_check_scratch(c, pool_scratch(c))))
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
    if ((st = need_output(c)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = ox_set_global_pool_output(c, c->in[0], c->out[0])))
        return st;
    c->scratch_bytes = pool_scratch(c);
    return ONYX_OK;
}

static onyx_status global_avgpool_run(ox_ctx *c)
{
    onyx_status st = ox_check_scratch(c, pool_scratch(c));
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
    if (c->opset >= 14 && (st = ox_get_flag(c, "training_mode", &a->training))) return st;
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
            ox_write_f64(c->out[1], ch, ox_read_f64(c->in[3], ch) * keep + mean * (1.0 - keep));
        if (c->n_out > 2 && c->out[2])
            ox_write_f64(c->out[2], ch, ox_read_f64(c->in[4], ch) * keep + var * (1.0 - keep));
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
