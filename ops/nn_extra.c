/* nn_extra.c — the less common operators over [N, C, spatial...] tensors: ConvTranspose,
 * DeformConv, LpPool, GlobalMaxPool, GlobalLpPool, MaxUnpool, MaxRoiPool, RoiAlign,
 * GridSample, AffineGrid and NonMaxSuppression. Conv and the common pools are in nn.c.
 *
 * Types are float, double, float16 and bfloat16 (NonMaxSuppression: float). The GEMM-based
 * ops (ConvTranspose, DeformConv) compute in double for double and in float otherwise, the
 * half types widened into scratch. The others read elements as double and round each result
 * once to the output type: they are gathers and small reductions, where that costs little. */
#include <math.h>
#include <string.h>

#include "activation.h"
#include "conv_attrs.h"
#include "fused.h"
#include "gemm.h"

/* GEMM column buffers are built this many bytes at a time (at least MIN_TILE positions), so
 * scratch stays bounded whatever the image size. */
#define COL_BYTES ((int64_t)4 << 20)
#define MIN_TILE 64

static const onyx_dtype real_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                        ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};

/* ---- elements, scratch, half precision ----------------------------------------------- */

static bool is_half(onyx_dtype t) { return t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16; }

/* Bytes of a buffer of n elements of es bytes in scratch, rounded up so the next one stays
 * aligned. */
static size_t buf_bytes(int64_t n, size_t es)
{
    return ((size_t)n * es + OX_ALIGN - 1) / OX_ALIGN * OX_ALIGN;
}

/* Takes a float buffer of n elements from the scratch cursor *p. */
static float *take_f32(char **p, int64_t n)
{
    float *r = (float *)(void *)*p;
    *p += buf_bytes(n, sizeof(float));
    return r;
}

/* floor(v) clamped to [lo, hi]; NaN gives lo. Keeps every float-to-integer cast defined. */
static int64_t floor_clamp(double v, int64_t lo, int64_t hi)
{
    if (!(v >= (double)lo)) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)floor(v);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Splits flat index i into row-major coordinates over dims. */
static void unflatten(int nd, const int64_t *dims, int64_t i, int64_t *coord)
{
    for (int d = nd - 1; d >= 0; d--) {
        coord[d] = dims[d] > 0 ? i % dims[d] : 0;
        i = dims[d] > 0 ? i / dims[d] : 0;
    }
}

/* Advances k through the box [lo, hi) row-major; false after the last point. */
static bool next_in_box(int nd, const int64_t *lo, const int64_t *hi, int64_t *k)
{
    for (int d = nd - 1; d >= 0; d--) {
        // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): 1 <= nd <= rank, no wrap
        if (++k[d] < hi[d]) return true;
        k[d] = lo[d];
    }
    return false;
}

/* ---- input checks ---------------------------------------------------------------------- */

/* Input i, when present, has input 0's dtype. */
static onyx_status check_same_dtype(ox_ctx *c, int i, const char *name)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    if (!t || t->dtype == c->in[0]->dtype) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "%s has dtype %s, expected %s like input 0", name,
                   onyx_dtype_name(t->dtype), onyx_dtype_name(c->in[0]->dtype));
}

/* Input i has exactly the given shape. */
static onyx_status check_shape(ox_ctx *c, int i, const char *name, int rank,
                               const int64_t *dims)
{
    const onyx_tensor *t = c->in[i];
    bool ok = t->rank == rank;
    for (int d = 0; ok && d < rank; d++) ok = t->dims[d] == dims[d];
    if (ok) return ONYX_OK;
    char a[96], b[96];
    return ox_fail(c, ONYX_E_SHAPE, "%s has shape %s, expected %s", name,
                   ox_shape_str(a, sizeof a, t->rank, t->dims), ox_shape_str(b, sizeof b, rank, dims));
}

/* ---- GEMM column tiles ----------------------------------------------------------------- */

/* Output positions per GEMM column tile of `rows` rows. */
static int64_t tile_cols(int64_t rows, int64_t positions, size_t es)
{
    int64_t t = rows > 0 ? COL_BYTES / (rows * (int64_t)es) : positions;
    if (t < MIN_TILE) t = MIN_TILE;
    return t < positions ? t : positions;
}

/* ---- float / double work buffers of the GEMM-based ops --------------------------------- */

/* n copies of v at element offset off of a float (f64 false) or double buffer. */
static void fill_work(bool f64, void *buf, int64_t off, int64_t n, double v)
{
    if (f64) {
        double *d = (double *)buf + off;
        for (int64_t i = 0; i < n; i++) d[i] = v;
    } else {
        float *f = (float *)buf + off, fv = (float)v;
        for (int64_t i = 0; i < n; i++) f[i] = fv;
    }
}

/* Element i of a work buffer. */
static double work_at(bool f64, const void *buf, int64_t i)
{
    return f64 ? ((const double *)buf)[i] : ((const float *)buf)[i];
}

/* C (M x N, row stride ldc) = op(A) * B + beta * C in the work type. */
static void work_gemm(bool f64, bool trans_a, int64_t M, int64_t N, int64_t K, const void *A,
                      int64_t lda, const void *B, int64_t ldb, double beta, void *C, int64_t ldc,
                      int threads)
{
    if (f64)
        ox_dgemm(trans_a, false, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc, threads);
    else
        ox_sgemm(trans_a, false, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C, ldc, threads);
}

/* ---- ConvTranspose --------------------------------------------------------------------- */

/* ConvTranspose is the adjoint of a convolution: input position q and tap k feed output
 * position q*stride - pad_begin + k*dilation. Its ox_window describes the convolution it
 * transposes, so win.in holds Y's spatial dims and win.out X's. X [N, C, ...] and
 * W [C, M/group, k...] give Y [N, M, ...]. */
typedef struct convt_shape {
    ox_window win;
    int64_t batch, in_channels, out_channels, group;
} convt_shape;

/* Pads of one spatial dim derived from a requested output size (output_shape, or SAME's
 * in * stride). Which end gets the odd pad follows the spec of the opset: from opset 11
 * SAME_UPPER puts it at the end, before it at the beginning. A requested size beyond the
 * natural one is not negative padding: the extra positions receive no input, only the bias
 * (as the reference evaluator has it). */
static void convt_pads_for(ox_ctx *c, ox_auto_pad mode, int64_t natural, int64_t out,
                           int64_t *pb, int64_t *pe)
{
    const int64_t total = natural > out ? natural - out : 0;
    const bool upper = mode == OX_AUTO_PAD_SAME_UPPER;
    const bool small_first = c->opset >= 11 ? upper : !upper;
    *pb = small_first ? total / 2 : total - total / 2;
    *pe = total - *pb;
}

/* Output size and pads of every spatial dim. */
static onyx_status convt_dims(ox_ctx *c, const onyx_tensor *x, convt_shape *s)
{
    ox_window *w = &s->win;
    const int nd = w->nd;
    int64_t pads[2 * OX_WIN_MAX_DIMS], outpad[OX_WIN_MAX_DIMS];
    ox_auto_pad mode;
    onyx_status st;
    if ((st = ox_get_win_ints(c, "strides", nd, 1, 1, w->stride)) ||
        (st = ox_get_win_ints(c, "dilations", nd, 1, 1, w->dil)) ||
        (st = ox_get_win_ints(c, "pads", 2 * nd, 0, 0, pads)) ||
        (st = ox_get_win_ints(c, "output_padding", nd, 0, 0, outpad)) ||
        (st = ox_get_auto_pad(c, &mode)) ||
        (st = ox_attr_expect(c, "output_shape", OX_ATTR_INTS)))
        return st;
    /* output_shape lists the spatial dims; some exporters prepend N and C. */
    const int64_t *os;
    size_t nos = ox_attr_ints(c, "output_shape", &os);
    if (nos && nos != (size_t)nd && nos != (size_t)nd + 2)
        return ox_fail(c, ONYX_E_ARG, "output_shape has %zu values for %d spatial dims", nos, nd);
    if (nos) os += nos - (size_t)nd;
    for (int d = 0; d < nd; d++) {
        const int64_t in = x->dims[2 + d], stride = w->stride[d];
        if (in > 0 && in - 1 > (INT64_MAX / 4) / stride)
            return ox_fail(c, ONYX_E_SHAPE, "spatial dim %d of %lld is too large", d, (long long)in);
        /* Output size with no padding; every term is bounded, so no overflow. */
        const int64_t natural = stride * (in > 0 ? in - 1 : 0) + outpad[d] +
                                (w->kernel[d] - 1) * w->dil[d] + 1;
        w->out[d] = in;
        if (nos || mode == OX_AUTO_PAD_SAME_UPPER || mode == OX_AUTO_PAD_SAME_LOWER) {
            const int64_t out = nos ? os[d] : in * stride;
            if (out < 0) return ox_fail(c, ONYX_E_ARG, "output_shape[%d] is %lld", d, (long long)out);
            convt_pads_for(c, mode, natural, out, &w->pad_begin[d], &w->pad_end[d]);
            w->in[d] = out;
        } else {
            w->pad_begin[d] = mode == OX_AUTO_PAD_VALID ? 0 : pads[d];
            w->pad_end[d] = mode == OX_AUTO_PAD_VALID ? 0 : pads[nd + d];
            w->in[d] = natural - w->pad_begin[d] - w->pad_end[d];
            if (w->in[d] < 0)
                return ox_fail(c, ONYX_E_SHAPE, "pads of spatial dim %d exceed its output size",
                               d);
        }
    }
    return ONYX_OK;
}

/* Validates X, W and B and describes the transposed convolution. */
static onyx_status convt_setup(ox_ctx *c, convt_shape *s)
{
    onyx_status st;
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = check_same_dtype(c, 1, "W")) || (st = check_same_dtype(c, 2, "B")))
        return st;
    const onyx_tensor *x = c->in[0], *w = c->in[1], *b = ox_opt_in(c, 2);
    if ((st = ox_check_spatial_rank(c, x, "input"))) return st;
    if (w->rank != x->rank)
        return ox_fail(c, ONYX_E_SHAPE, "W has rank %d, X has rank %d", w->rank, x->rank);
    int64_t group;
    if ((st = ox_get_win_int(c, "group", 1, 1, &group))) return st;
    const int64_t ch = x->dims[1];
    if (w->dims[0] != ch || ch % group || w->dims[1] > INT64_MAX / group)
        return ox_fail(c, ONYX_E_SHAPE,
                       "X has %lld channels and W is [%lld, %lld, ...]: W needs one row per "
                       "input channel, and group %lld must divide them", (long long)ch,
                       (long long)w->dims[0], (long long)w->dims[1], (long long)group);
    memset(s, 0, sizeof *s);
    s->win.nd = x->rank - 2;
    s->batch = x->dims[0];
    s->in_channels = ch;
    s->out_channels = w->dims[1] * group;
    s->group = group;
    if ((st = ox_conv_kernel(c, w, "W", s->win.kernel))) return st;
    if (b && (b->rank != 1 || b->dims[0] != s->out_channels))
        return ox_fail(c, ONYX_E_SHAPE, "B must have shape [%lld]", (long long)s->out_channels);
    return convt_dims(c, x, s);
}

static int64_t convt_rows(const convt_shape *s)
{
    return s->out_channels / s->group * ox_window_kernel_size(&s->win);
}

/* The GEMM column tile, then for half types W, B, one input and one output image in float. */
static size_t convt_scratch(const convt_shape *s, onyx_dtype t)
{
    const size_t es = t == ONYX_DTYPE_DOUBLE ? sizeof(double) : sizeof(float);
    const int64_t rows = convt_rows(s), in = ox_window_out_size(&s->win);
    size_t n = buf_bytes(rows * tile_cols(rows, in, es), es);
    if (is_half(t))
        n += buf_bytes(s->in_channels * rows, 4) + buf_bytes(s->out_channels, 4) +
             buf_bytes(s->in_channels * in, 4) +
             buf_bytes(s->out_channels * ox_window_in_size(&s->win), 4);
    return n;
}

static onyx_status convt_infer(ox_ctx *c)
{
    convt_shape s;
    onyx_status st = convt_setup(c, &s);
    if (st) return st;
    int64_t dims[ONYX_MAX_RANK], n;
    dims[0] = s.batch;
    dims[1] = s.out_channels;
    for (int d = 0; d < s.win.nd; d++) dims[2 + d] = s.win.in[d];
    if (!ox_shape_numel(s.win.nd + 2, dims, &n))
        return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], c->in[0]->dtype, s.win.nd + 2, dims);
    c->scratch_bytes = convt_scratch(&s, c->in[0]->dtype);
    return ONYX_OK;
}

/* y[i*step] += x[i] for i < n, in the work type (elements offsets yoff, xoff). */
static void add_strided(bool f64, void *y, int64_t yoff, int64_t step, const void *x,
                        int64_t xoff, int64_t n)
{
    if (f64) {
        double *yd = (double *)y + yoff;
        const double *xd = (const double *)x + xoff;
        for (int64_t i = 0; i < n; i++) yd[i * step] += xd[i];
    } else {
        float *yf = (float *)y + yoff;
        const float *xf = (const float *)x + xoff;
        for (int64_t i = 0; i < n; i++) yf[i * step] += xf[i];
    }
}

/* Adds one GEMM row — tap k of one output channel, over the input positions [p0, p0 + np) —
 * into that channel's output plane yc: the inverse of an im2col row. */
static void col2im_row(const ox_window *w, bool f64, const int64_t *k, const void *row,
                       int64_t p0, int64_t np, void *yc)
{
    const int last = w->nd - 1;
    const int64_t in_l = w->in[last], s_l = w->stride[last];
    int64_t o[OX_WIN_MAX_DIMS];
    unflatten(w->nd, w->out, p0, o);
    for (int64_t j = 0; j < np;) {
        /* A segment: consecutive input positions along the last dim. */
        const int64_t seg = min64(w->out[last] - o[last], np - j);
        bool inside = true;
        int64_t base = 0;
        for (int d = 0; d < last && inside; d++) {
            int64_t pos = o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dil[d];
            inside = pos >= 0 && pos < w->in[d];
            base = inside ? base * w->in[d] + pos : 0;
        }
        if (inside) {
            int64_t start = o[last] * s_l - w->pad_begin[last] + k[last] * w->dil[last], q0, q1;
            ox_clip_range(start, s_l, seg, 0, in_l, &q0, &q1);
            if (q1 > q0) add_strided(f64, yc, base * in_l + start + q0 * s_l, s_l, row, j + q0, q1 - q0);
        }
        j += seg;
        o[last] += seg;
        for (int d = last; d > 0 && o[d] == w->out[d]; d--) {
            o[d] = 0;
            o[d - 1]++;
        }
    }
}

/* Scatters the column tile [channels * kernel_size, np] into channels output planes. Each
 * thread owns whole planes, so every output sums its terms in one fixed order. */
static void col2im(const ox_window *w, bool f64, int64_t channels, const void *cols,
                   int64_t p0, int64_t np, void *y, int threads)
{
    const int64_t kvol = ox_window_kernel_size(w), ysz = ox_window_in_size(w);
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t m = 0; m < channels; m++) {
        int64_t k[OX_WIN_MAX_DIMS];
        for (int64_t kk = 0; kk < kvol; kk++) {
            unflatten(w->nd, w->kernel, kk, k);
            const char *row = (const char *)cols + (size_t)((m * kvol + kk) * np) * es;
            col2im_row(w, f64, k, row, p0, np, (char *)y + (size_t)(m * ysz) * es);
        }
    }
}

/* One image in the work type: x [C, in], w [C, M/group * kernel], b [M] or NULL,
 * y [M, out]. Per group, the GEMM W_g^T * X_g gives every (output channel, tap) row over a
 * tile of input positions, which col2im adds into the output. */
static void convt_image(const convt_shape *s, bool f64, const void *x, const void *w,
                        const void *b, void *y, void *cols, int threads)
{
    const ox_window *win = &s->win;
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    const int64_t cg = s->in_channels / s->group, mg = s->out_channels / s->group;
    const int64_t in = ox_window_out_size(win), out = ox_window_in_size(win);
    const int64_t rows = convt_rows(s), tile = tile_cols(rows, in, es);
    for (int64_t m = 0; m < s->out_channels; m++)
        fill_work(f64, y, m * out, out, b ? work_at(f64, b, m) : 0.0);
    if (cg == 0 || in == 0 || rows == 0) return;
    for (int64_t g = 0; g < s->group; g++) {
        const char *xg = (const char *)x + (size_t)(g * cg * in) * es;
        const char *wg = (const char *)w + (size_t)(g * cg * rows) * es;
        char *yg = (char *)y + (size_t)(g * mg * out) * es;
        for (int64_t p0 = 0; p0 < in; p0 += tile) {
            const int64_t np = min64(tile, in - p0);
            work_gemm(f64, true, rows, np, cg, wg, rows, xg + (size_t)p0 * es, in, 0.0, cols, np,
                      threads);
            col2im(win, f64, mg, cols, p0, np, yg, threads);
        }
    }
}

static onyx_status convt_run(ox_ctx *c)
{
    convt_shape s;
    onyx_status st = convt_setup(c, &s);
    if (st || (st = ox_check_scratch(c, convt_scratch(&s, c->in[0]->dtype)))) return st;
    const onyx_tensor *x = c->in[0], *w = c->in[1], *b = ox_opt_in(c, 2);
    const onyx_dtype t = x->dtype;
    onyx_tensor *y = c->out[0];
    if (ox_tensor_numel(y) == 0) return ONYX_OK;
    const int64_t xn = s.in_channels * ox_window_out_size(&s.win);
    const int64_t yn = s.out_channels * ox_window_in_size(&s.win);
    if (xn == 0) { /* nothing to transpose: every output is its bias */
        for (int64_t i = 0; i < ox_tensor_numel(y); i++)
            ox_write_f64(y, i,
                         b ? ox_read_f64(b, i / ox_window_in_size(&s.win) % s.out_channels) : 0.0);
        return ONYX_OK;
    }
    const bool f64 = t == ONYX_DTYPE_DOUBLE;
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    const int64_t rows = convt_rows(&s);
    char *p = c->scratch, *cols = p;
    p += buf_bytes(rows * tile_cols(rows, ox_window_out_size(&s.win), es), es);
    if (!is_half(t)) {
        for (int64_t n = 0; n < s.batch; n++)
            convt_image(&s, f64, (const char *)x->data + (size_t)(n * xn) * es, w->data,
                        b ? b->data : NULL, (char *)y->data + (size_t)(n * yn) * es, cols,
                        c->threads);
        return ONYX_OK;
    }
    float *wf = take_f32(&p, ox_tensor_numel(w)), *bf = take_f32(&p, s.out_channels);
    float *xf = take_f32(&p, xn), *yf = take_f32(&p, yn);
    ox_half_to_f32(t, w->data, ox_tensor_numel(w), wf);
    if (b) ox_half_to_f32(t, b->data, s.out_channels, bf);
    for (int64_t n = 0; n < s.batch; n++) {
        ox_half_to_f32(t, (const uint16_t *)x->data + n * xn, xn, xf);
        convt_image(&s, false, xf, wf, b ? bf : NULL, yf, cols, c->threads);
        ox_f32_to_half(t, yf, yn, (uint16_t *)y->data + n * yn);
    }
    return ONYX_OK;
}

/* ---- ConvTranspose with an activation (fused.h) ---------------------------------------- */

/* The fusion pass only fuses float ConvTransposes; checked again, as the epilogue reads
 * floats. */
static onyx_status convt_fused_float(ox_ctx *c)
{
    if (c->in[0]->dtype != ONYX_DTYPE_FLOAT)
        return ox_fail(c, ONYX_E_INTERNAL, "fused activation on a non-float ConvTranspose");
    return ONYX_OK;
}

static onyx_status convt_fused_infer(ox_ctx *c)
{
    onyx_status st = convt_infer(c);
    return st ? st : convt_fused_float(c);
}

/* Every output of a ConvTranspose gathers terms from several input positions, so it is
 * complete only once the whole image is done: the activation is one pass over the result
 * (bias already in), by output plane. Elements are independent, so the split over threads
 * changes no result. */
static onyx_status convt_fused_run(ox_ctx *c)
{
    ox_act act;
    onyx_status st = ox_fused_act(c, &act);
    if (st || (st = convt_fused_float(c)) || (st = convt_run(c))) return st;
    const onyx_tensor *y = c->out[0];
    if (ox_tensor_numel(y) == 0) return ONYX_OK; /* (its data may be NULL) */
    const int64_t planes = y->dims[0] * y->dims[1], n = ox_tensor_numel(y) / planes;
    float *yf = y->data;
    const bool par = c->threads > 1 && planes > 1 && planes * n >= 16384;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (par)
#endif
    for (int64_t p = 0; p < planes; p++) ox_act_bias_f32(&act, 0.0f, yf + p * n, n);
    return ONYX_OK;
}

/* Not in the registry table: only the fusion pass puts it on a node. */
const ox_op ox_op_convt_fused = {"ConvTranspose", "", 1, 28, convt_fused_infer, convt_fused_run, 0};

/* ---- DeformConv ------------------------------------------------------------------------ */

/* A convolution whose taps are displaced by learned offsets and scaled by a mask:
 * X [N, C, in...], W [M, C/group, k...], offset [N, offset_group * K * nd, out...] (K taps
 * per window, nd coordinates each), B [M], mask [N, offset_group * K, out...]. Taps sample X
 * with multilinear interpolation, zero outside. Built as deformable im2col + GEMM. */
typedef struct deform_shape {
    ox_window win;
    int64_t batch, in_channels, out_channels, group, offset_group;
} deform_shape;

static onyx_status deform_setup(ox_ctx *c, deform_shape *s)
{
    onyx_status st;
    if ((st = ox_need_io(c, 3)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = check_same_dtype(c, 1, "W")) || (st = check_same_dtype(c, 2, "offset")) ||
        (st = check_same_dtype(c, 3, "B")) || (st = check_same_dtype(c, 4, "mask")))
        return st;
    const onyx_tensor *x = c->in[0], *w = c->in[1];
    if ((st = ox_check_spatial_rank(c, x, "input"))) return st;
    if (w->rank != x->rank)
        return ox_fail(c, ONYX_E_SHAPE, "W has rank %d, X has rank %d", w->rank, x->rank);
    memset(s, 0, sizeof *s);
    if ((st = ox_get_win_int(c, "group", 1, 1, &s->group)) ||
        (st = ox_get_win_int(c, "offset_group", 1, 1, &s->offset_group)))
        return st;
    const int64_t ch = x->dims[1], m = w->dims[0];
    if ((st = ox_conv_groups(c, x, w, s->group, "X", "W"))) return st;
    if (ch % s->offset_group)
        return ox_fail(c, ONYX_E_SHAPE, "offset_group %lld does not divide %lld channels",
                       (long long)s->offset_group, (long long)ch);
    int64_t kernel[OX_WIN_MAX_DIMS];
    if ((st = ox_conv_kernel(c, w, "W", kernel)) ||
        (st = ox_make_window(c, x, kernel, false, &s->win)))
        return st;
    s->batch = x->dims[0];
    s->in_channels = ch;
    s->out_channels = m;
    const int nd = s->win.nd;
    const int64_t taps = s->offset_group * ox_window_kernel_size(&s->win);
    int64_t dims[ONYX_MAX_RANK];
    dims[0] = s->batch;
    dims[1] = taps * nd;
    for (int d = 0; d < nd; d++) dims[2 + d] = s->win.out[d];
    if ((st = check_shape(c, 2, "offset", nd + 2, dims))) return st;
    dims[1] = taps;
    if (ox_opt_in(c, 4) && (st = check_shape(c, 4, "mask", nd + 2, dims))) return st;
    if (ox_opt_in(c, 3) && (st = check_shape(c, 3, "B", 1, &m))) return st;
    return ONYX_OK;
}

static int64_t deform_rows(const deform_shape *s)
{
    return s->in_channels / s->group * ox_window_kernel_size(&s->win);
}

/* The column tile, then for half types W, B and one output image in float. */
static size_t deform_scratch(const deform_shape *s, onyx_dtype t)
{
    const size_t es = t == ONYX_DTYPE_DOUBLE ? sizeof(double) : sizeof(float);
    const int64_t rows = deform_rows(s), out = ox_window_out_size(&s->win);
    size_t n = buf_bytes(rows * tile_cols(rows, out, es), es);
    if (is_half(t))
        n += buf_bytes(s->out_channels * rows, 4) + buf_bytes(s->out_channels, 4) +
             buf_bytes(s->out_channels * out, 4);
    return n;
}

static onyx_status deform_infer(ox_ctx *c)
{
    deform_shape s;
    int64_t n;
    onyx_status st = deform_setup(c, &s);
    if (st) return st;
    ox_set_window_output(c->out[0], c->in[0]->dtype, s.batch, s.out_channels, &s.win);
    if (!ox_shape_numel(c->out[0]->rank, c->out[0]->dims, &n)) /* before sizing scratch */
        return ox_fail(c, ONYX_E_SHAPE, "output too large");
    c->scratch_bytes = deform_scratch(&s, c->in[0]->dtype);
    return ONYX_OK;
}

/* X's plane at element offset `plane` sampled at pos (one coordinate per spatial dim) by
 * multilinear interpolation; positions outside the plane read zero. */
static double sample_linear(const onyx_tensor *x, int64_t plane, const ox_window *w,
                            const double *pos)
{
    const int nd = w->nd;
    int64_t lo[OX_WIN_MAX_DIMS];
    double frac[OX_WIN_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        if (!(pos[d] > -1.0 && pos[d] < (double)w->in[d])) return 0.0; /* no corner inside */
        double f = floor(pos[d]);
        lo[d] = (int64_t)f;
        frac[d] = pos[d] - f;
    }
    double sum = 0.0;
    for (unsigned corner = 0; corner < 1u << nd; corner++) {
        double wt = 1.0;
        int64_t off = 0;
        bool inside = true;
        for (int d = 0; d < nd && inside; d++) {
            const bool up = (corner >> d) & 1u;
            const int64_t i = lo[d] + up;
            inside = i >= 0 && i < w->in[d];
            wt *= up ? frac[d] : 1.0 - frac[d];
            off = off * w->in[d] + i;
        }
        if (inside) sum += wt * ox_read_f64(x, plane + off);
    }
    return sum;
}

/* Deformable im2col of image n, group g, output positions [p0, p0 + np): row
 * (channel ic of the group, tap k) holds mask * X[ic] sampled at the displaced tap. */
static void deform_cols(ox_ctx *c, const deform_shape *s, int64_t n, int64_t g, int64_t p0,
                        int64_t np, bool f64, void *cols)
{
    const ox_window *w = &s->win;
    const onyx_tensor *x = c->in[0], *offset = c->in[2], *mask = ox_opt_in(c, 4);
    const int nd = w->nd;
    const int64_t kvol = ox_window_kernel_size(w), cg = s->in_channels / s->group;
    const int64_t out = ox_window_out_size(w), in = ox_window_in_size(w);
    const int64_t per_og = s->in_channels / s->offset_group, rows = cg * kvol;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t r = 0; r < rows; r++) {
        const int64_t ic = g * cg + r / kvol, kk = r % kvol, og = ic / per_og;
        const int64_t plane = (n * s->in_channels + ic) * in;
        const int64_t tap = og * kvol + kk; /* channel of the mask; offsets start at tap*nd */
        int64_t k[OX_WIN_MAX_DIMS], o[OX_WIN_MAX_DIMS];
        unflatten(nd, w->kernel, kk, k);
        unflatten(nd, w->out, p0, o);
        for (int64_t j = 0; j < np; j++) {
            const int64_t p = p0 + j;
            double pos[OX_WIN_MAX_DIMS];
            for (int d = 0; d < nd; d++) {
                const int64_t oc = (n * offset->dims[1] + tap * nd + d) * out + p;
                pos[d] = (double)(o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dil[d]) +
                         ox_read_f64(offset, oc);
            }
            double v = sample_linear(x, plane, w, pos);
            if (mask) v *= ox_read_f64(mask, (n * mask->dims[1] + tap) * out + p);
            if (f64) ((double *)cols)[r * np + j] = v;
            else ((float *)cols)[r * np + j] = (float)v;
            for (int d = nd - 1; d >= 0 && ++o[d] == w->out[d]; d--) o[d] = 0;
        }
    }
}

/* Image n in the work type: y [M, out] starts as the bias and accumulates W_g * cols. */
static void deform_image(ox_ctx *c, const deform_shape *s, int64_t n, bool f64, const void *w,
                         const void *b, void *y, void *cols)
{
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    const int64_t out = ox_window_out_size(&s->win), rows = deform_rows(s);
    const int64_t mg = s->out_channels / s->group, tile = tile_cols(rows, out, es);
    for (int64_t m = 0; m < s->out_channels; m++)
        fill_work(f64, y, m * out, out, b ? work_at(f64, b, m) : 0.0);
    if (rows == 0 || mg == 0) return;
    for (int64_t g = 0; g < s->group; g++)
        for (int64_t p0 = 0; p0 < out; p0 += tile) {
            const int64_t np = min64(tile, out - p0);
            deform_cols(c, s, n, g, p0, np, f64, cols);
            work_gemm(f64, false, mg, np, rows, (const char *)w + (size_t)(g * mg * rows) * es,
                      rows, cols, np, 1.0, (char *)y + (size_t)(g * mg * out + p0) * es, out,
                      c->threads);
        }
}

static onyx_status deform_run(ox_ctx *c)
{
    deform_shape s;
    onyx_status st = deform_setup(c, &s);
    if (st || (st = ox_check_scratch(c, deform_scratch(&s, c->in[0]->dtype)))) return st;
    const onyx_dtype t = c->in[0]->dtype;
    const onyx_tensor *w = c->in[1], *b = ox_opt_in(c, 3);
    onyx_tensor *y = c->out[0];
    if (ox_tensor_numel(y) == 0) return ONYX_OK;
    const bool f64 = t == ONYX_DTYPE_DOUBLE;
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    const int64_t rows = deform_rows(&s), out = ox_window_out_size(&s.win);
    const int64_t yn = s.out_channels * out;
    char *p = c->scratch, *cols = p;
    p += buf_bytes(rows * tile_cols(rows, out, es), es);
    if (!is_half(t)) {
        for (int64_t n = 0; n < s.batch; n++)
            deform_image(c, &s, n, f64, w->data, b ? b->data : NULL,
                         (char *)y->data + (size_t)(n * yn) * es, cols);
        return ONYX_OK;
    }
    float *wf = take_f32(&p, ox_tensor_numel(w)), *bf = take_f32(&p, s.out_channels);
    float *yf = take_f32(&p, yn);
    ox_half_to_f32(t, w->data, ox_tensor_numel(w), wf);
    if (b) ox_half_to_f32(t, b->data, s.out_channels, bf);
    for (int64_t n = 0; n < s.batch; n++) {
        deform_image(c, &s, n, false, wf, b ? bf : NULL, yf, cols);
        ox_f32_to_half(t, yf, yn, (uint16_t *)y->data + n * yn);
    }
    return ONYX_OK;
}

/* ---- LpPool, GlobalLpPool, GlobalMaxPool ------------------------------------------------ */

/* The exponent p: a float attribute in opset 1, an int from opset 2. */
static onyx_status get_p(ox_ctx *c, double *p)
{
    onyx_status st;
    if (c->opset < 2) {
        if ((st = ox_attr_expect(c, "p", OX_ATTR_FLOAT))) return st;
        *p = ox_attr_float(c, "p", 2.0f);
    } else {
        int64_t v;
        if ((st = ox_get_win_int(c, "p", 2, 1, &v))) return st;
        *p = (double)v;
    }
    if (!(*p > 0.0) || !isfinite(*p)) return ox_fail(c, ONYX_E_ARG, "p must be positive");
    return ONYX_OK;
}

static double pow_abs(double v, double p)
{
    return p == 1.0 ? fabs(v) : p == 2.0 ? v * v : pow(fabs(v), p);
}

static double root_p(double sum, double p)
{
    return p == 1.0 ? sum : p == 2.0 ? sqrt(sum) : pow(sum, 1.0 / p);
}

static onyx_status lppool_setup(ox_ctx *c, ox_window *w, double *p)
{
    onyx_status st;
    if ((st = ox_need_io(c, 1)) || (st = ox_expect_dtype(c, 0, real_types))) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = ox_check_spatial_rank(c, x, "input"))) return st;
    int64_t kernel[OX_WIN_MAX_DIMS];
    bool ceil_mode;
    if ((st = ox_pool_kernel(c, x->rank - 2, kernel, &ceil_mode)) || (st = get_p(c, p)))
        return st;
    return ox_make_window(c, x, kernel, ceil_mode, w);
}

static onyx_status lppool_infer(ox_ctx *c)
{
    ox_window w;
    double p;
    onyx_status st = lppool_setup(c, &w, &p);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    ox_set_window_output(c->out[0], x->dtype, x->dims[0], x->dims[1], &w);
    return ONYX_OK;
}

/* The p-norm of output position o's window over the plane at element offset `plane`; taps in
 * the padding add nothing. */
static double lp_window(const onyx_tensor *x, int64_t plane, const ox_window *w,
                        const int64_t *o, double p)
{
    int64_t k0[OX_WIN_MAX_DIMS], k1[OX_WIN_MAX_DIMS], k[OX_WIN_MAX_DIMS];
    for (int d = 0; d < w->nd; d++) {
        ox_window_taps(w, d, o[d], 0, w->in[d], &k0[d], &k1[d]);
        if (k0[d] == k1[d]) return 0.0;
        k[d] = k0[d];
    }
    double sum = 0.0;
    do {
        int64_t off = 0;
        for (int d = 0; d < w->nd; d++)
            off = off * w->in[d] + o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dil[d];
        sum += pow_abs(ox_read_f64(x, plane + off), p);
    } while (next_in_box(w->nd, k0, k1, k));
    return root_p(sum, p);
}

static onyx_status lppool_run(ox_ctx *c)
{
    ox_window w;
    double p;
    onyx_status st = lppool_setup(c, &w, &p);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    const int64_t in = ox_window_in_size(&w), out = ox_window_out_size(&w);
    const int64_t total = ox_tensor_numel(y);
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < total; i++) {
        int64_t o[OX_WIN_MAX_DIMS];
        unflatten(w.nd, w.out, i % out, o);
        ox_write_f64(y, i, lp_window(x, i / out * in, &w, o, p));
    }
    return ONYX_OK;
}

/* GlobalMaxPool and GlobalLpPool: one value per [n, c] plane, output [N, C, 1, ...]. */
static onyx_status global_pool_infer(ox_ctx *c)
{
    onyx_status st;
    if ((st = ox_need_io(c, 1)) || (st = ox_expect_dtype(c, 0, real_types))) return st;
    return ox_set_global_pool_output(c, c->in[0], c->out[0]);
}

/* The maximum of n elements from off; NaN propagates (as numpy's max). An empty plane gives
 * -inf. */
static double plane_max(const onyx_tensor *x, int64_t off, int64_t n)
{
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = ox_read_f64(x, off + i);
        if (v > m || isnan(v)) m = v;
        if (isnan(m)) break;
    }
    return m;
}

static double plane_lp(const onyx_tensor *x, int64_t off, int64_t n, double p)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += pow_abs(ox_read_f64(x, off + i), p);
    return root_p(sum, p);
}

static onyx_status global_pool_run(ox_ctx *c, bool lp)
{
    double p = 2.0;
    onyx_status st;
    if (lp && (st = get_p(c, &p))) return st;
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t size = planes > 0 ? ox_tensor_numel(x) / planes : 0;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < planes; i++)
        ox_write_f64(y, i, lp ? plane_lp(x, i * size, size, p) : plane_max(x, i * size, size));
    return ONYX_OK;
}

static onyx_status global_lppool_infer(ox_ctx *c)
{
    double p;
    onyx_status st = get_p(c, &p);
    return st ? st : global_pool_infer(c);
}

static onyx_status global_maxpool_run(ox_ctx *c) { return global_pool_run(c, false); }
static onyx_status global_lppool_run(ox_ctx *c) { return global_pool_run(c, true); }

/* ---- MaxUnpool ------------------------------------------------------------------------- */

/* Output shape: the output_shape input when given, else (in - 1) * stride - pads + kernel.
 * Indices are flat indices into the output, as MaxPool's Indices output gives them for its
 * input (onnxruntime's reading; the ONNX test with an output_shape larger than the inferred
 * one encodes indices of the inferred shape instead, see onnx/onnx#2398). */
static onyx_status unpool_shape(ox_ctx *c, int64_t *dims)
{
    onyx_status st;
    static const onyx_dtype index_types[] = {ONYX_DTYPE_INT64, ONYX_DTYPE_UNDEFINED};
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = ox_expect_dtype(c, 1, index_types)))
        return st;
    const onyx_tensor *x = c->in[0];
    if ((st = ox_check_spatial_rank(c, x, "input")) ||
        (st = check_shape(c, 1, "I", x->rank, x->dims)))
        return st;
    const int nd = x->rank - 2;
    if (ox_opt_in(c, 2)) {
        int n;
        if ((st = ox_input_ints(c, 2, "output_shape", dims, ONYX_MAX_RANK, &n))) return st;
        if (n != x->rank || dims[0] != x->dims[0] || dims[1] != x->dims[1])
            return ox_fail(c, ONYX_E_SHAPE, "output_shape must be [N, C, ...] of rank %d",
                           x->rank);
        for (int d = 2; d < n; d++)
            if (dims[d] < 0)
                return ox_fail(c, ONYX_E_SHAPE, "output_shape[%d] is %lld", d, (long long)dims[d]);
        return ONYX_OK;
    }
    int64_t kernel[OX_WIN_MAX_DIMS], strides[OX_WIN_MAX_DIMS], pads[2 * OX_WIN_MAX_DIMS];
    if (!ox_attr_has(c, "kernel_shape"))
        return ox_fail(c, ONYX_E_ARG, "attribute 'kernel_shape' is required");
    if ((st = ox_get_win_ints(c, "kernel_shape", nd, 1, 1, kernel)) ||
        (st = ox_get_win_ints(c, "strides", nd, 1, 1, strides)) ||
        (st = ox_get_win_ints(c, "pads", 2 * nd, 0, 0, pads)))
        return st;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int d = 0; d < nd; d++) {
        const int64_t in = x->dims[2 + d];
        if (in > 0 && in - 1 > (INT64_MAX / 4) / strides[d])
            return ox_fail(c, ONYX_E_SHAPE, "spatial dim %d of %lld is too large", d, (long long)in);
        dims[2 + d] = (in > 0 ? in - 1 : 0) * strides[d] - pads[d] - pads[nd + d] + kernel[d];
        if (dims[2 + d] < 0)
            return ox_fail(c, ONYX_E_SHAPE, "pads of spatial dim %d exceed its output size", d);
    }
    return ONYX_OK;
}

static onyx_status unpool_infer(ox_ctx *c)
{
    int64_t dims[ONYX_MAX_RANK], n;
    onyx_status st = unpool_shape(c, dims);
    if (st) return st;
    if (!ox_shape_numel(c->in[0]->rank, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, dims);
    return ONYX_OK;
}

static onyx_status unpool_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    onyx_tensor *y = c->out[0];
    const int64_t n = ox_tensor_numel(x), total = ox_tensor_numel(y);
    const size_t es = onyx_dtype_size(x->dtype);
    const int64_t *idx = ind->data;
    /* Indices are data: check them all before writing anything. */
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= total)
            return ox_fail(c, ONYX_E_ARG, "index %lld out of range for an output of %lld elements",
                           (long long)idx[i], (long long)total);
    if (total == 0) return ONYX_OK;
    memset(y->data, 0, (size_t)total * es); /* +0.0 in every real type */
    for (int64_t i = 0; i < n; i++) /* in order: a repeated index keeps the last value */
        memcpy((char *)y->data + (size_t)idx[i] * es, (const char *)x->data + (size_t)i * es, es);
    return ONYX_OK;
}

/* ---- MaxRoiPool ------------------------------------------------------------------------ */

/* X [N, C, H, W], rois [R, 5] of (batch index, x1, y1, x2, y2) in input coordinates times
 * spatial_scale. Each RoI, its corners rounded to pixels, is split into pooled_shape bins
 * and each bin gives its maximum (0 for an empty bin). */
static onyx_status roipool_setup(ox_ctx *c, int64_t *pooled, double *scale)
{
    onyx_status st;
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = check_same_dtype(c, 1, "rois")))
        return st;
    const onyx_tensor *x = c->in[0], *rois = c->in[1];
    if (x->rank != 4) return ox_fail(c, ONYX_E_SHAPE, "X must be [N, C, H, W], got rank %d", x->rank);
    if (rois->rank != 2 || rois->dims[1] != 5)
        return ox_fail(c, ONYX_E_SHAPE, "rois must be [num_rois, 5]");
    if (!ox_attr_has(c, "pooled_shape"))
        return ox_fail(c, ONYX_E_ARG, "attribute 'pooled_shape' is required");
    if ((st = ox_get_win_ints(c, "pooled_shape", 2, 1, 1, pooled)) ||
        (st = ox_attr_expect(c, "spatial_scale", OX_ATTR_FLOAT)))
        return st;
    *scale = ox_attr_float(c, "spatial_scale", 1.0f);
    return ONYX_OK;
}

static onyx_status roipool_infer(ox_ctx *c)
{
    int64_t pooled[2];
    double scale;
    onyx_status st = roipool_setup(c, pooled, &scale);
    if (st) return st;
    const int64_t dims[4] = {c->in[1]->dims[0], c->in[0]->dims[1], pooled[0], pooled[1]};
    ox_set_shape(c->out[0], c->in[0]->dtype, 4, dims);
    return ONYX_OK;
}

/* The maximum over rows [h0, h1) and columns [w0, w1) of a plane of width w; 0 if empty. */
static double region_max(const onyx_tensor *x, int64_t plane, int64_t width, int64_t h0,
                         int64_t h1, int64_t w0, int64_t w1)
{
    if (h1 <= h0 || w1 <= w0) return 0.0;
    double m = -INFINITY;
    for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) {
            double v = ox_read_f64(x, plane + h * width + w);
            if (v > m) m = v;
        }
    return m;
}

static onyx_status roipool_run(ox_ctx *c)
{
    int64_t pooled[2];
    double scale;
    onyx_status st = roipool_setup(c, pooled, &scale);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *rois = c->in[1];
    onyx_tensor *y = c->out[0];
    const int64_t nr = rois->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    for (int64_t r = 0; r < nr; r++) {
        double b = ox_read_f64(rois, r * 5);
        if (!(b >= 0.0 && b < (double)x->dims[0]) || b != floor(b))
            return ox_fail(c, ONYX_E_ARG, "RoI %lld has batch index %g, not in [0, %lld)",
                           (long long)r, b, (long long)x->dims[0]);
    }
    const int64_t total = nr * ch;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t rc = 0; rc < total; rc++) {
        const int64_t r = rc / ch, k = rc % ch;
        const int64_t plane = ((int64_t)ox_read_f64(rois, r * 5) * ch + k) * h * w;
        /* Corners rounded to pixels; the RoI includes its end pixel. */
        double x1 = round(ox_read_f64(rois, r * 5 + 1) * scale);
        double y1 = round(ox_read_f64(rois, r * 5 + 2) * scale);
        double x2 = round(ox_read_f64(rois, r * 5 + 3) * scale);
        double y2 = round(ox_read_f64(rois, r * 5 + 4) * scale);
        const double bin_h = fmax(y2 - y1 + 1.0, 1.0) / (double)pooled[0];
        const double bin_w = fmax(x2 - x1 + 1.0, 1.0) / (double)pooled[1];
        for (int64_t ph = 0; ph < pooled[0]; ph++)
            for (int64_t pw = 0; pw < pooled[1]; pw++) {
                int64_t h0 = floor_clamp(floor((double)ph * bin_h) + y1, 0, h);
                int64_t h1 = floor_clamp(ceil((double)(ph + 1) * bin_h) + y1, 0, h);
                int64_t w0 = floor_clamp(floor((double)pw * bin_w) + x1, 0, w);
                int64_t w1 = floor_clamp(ceil((double)(pw + 1) * bin_w) + x1, 0, w);
                ox_write_f64(y, (rc * pooled[0] + ph) * pooled[1] + pw,
                             region_max(x, plane, w, h0, h1, w0, w1));
            }
    }
    return ONYX_OK;
}

/* ---- RoiAlign -------------------------------------------------------------------------- */

/* Adaptive sampling grids (sampling_ratio 0) are capped per dim, bounding the work a huge or
 * hostile RoI can ask for. */
#define ROI_MAX_GRID 4096

typedef struct roialign_args {
    int64_t out_h, out_w, sampling;
    double scale;
    bool half_pixel, max_mode;
} roialign_args;

static onyx_status roialign_setup(ox_ctx *c, roialign_args *a)
{
    onyx_status st;
    static const onyx_dtype index_types[] = {ONYX_DTYPE_INT64, ONYX_DTYPE_INT32,
                                             ONYX_DTYPE_UNDEFINED};
    if ((st = ox_need_io(c, 3)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = check_same_dtype(c, 1, "rois")) || (st = ox_expect_dtype(c, 2, index_types)))
        return st;
    const onyx_tensor *x = c->in[0], *rois = c->in[1], *bi = c->in[2];
    if (x->rank != 4) return ox_fail(c, ONYX_E_SHAPE, "X must be [N, C, H, W], got rank %d", x->rank);
    if (rois->rank != 2 || rois->dims[1] != 4)
        return ox_fail(c, ONYX_E_SHAPE, "rois must be [num_rois, 4]");
    if (bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return ox_fail(c, ONYX_E_SHAPE, "batch_indices must be [num_rois]");
    if ((st = ox_get_win_int(c, "output_height", 1, 1, &a->out_h)) ||
        (st = ox_get_win_int(c, "output_width", 1, 1, &a->out_w)) ||
        (st = ox_get_win_int(c, "sampling_ratio", 0, 0, &a->sampling)) ||
        (st = ox_attr_expect(c, "spatial_scale", OX_ATTR_FLOAT)) ||
        (st = ox_attr_expect(c, "mode", OX_ATTR_STRING)) ||
        (st = ox_attr_expect(c, "coordinate_transformation_mode", OX_ATTR_STRING)))
        return st;
    a->scale = ox_attr_float(c, "spatial_scale", 1.0f);
    const char *mode = ox_attr_string(c, "mode", "avg");
    if (strcmp(mode, "avg") && strcmp(mode, "max"))
        return ox_fail(c, ONYX_E_ARG, "unknown mode '%s'", mode);
    a->max_mode = !strcmp(mode, "max");
    /* Opset 10 had no such attribute and behaved as output_half_pixel. */
    const char *ctm = c->opset >= 16
                          ? ox_attr_string(c, "coordinate_transformation_mode", "half_pixel")
                          : "output_half_pixel";
    if (strcmp(ctm, "half_pixel") && strcmp(ctm, "output_half_pixel"))
        return ox_fail(c, ONYX_E_ARG, "unknown coordinate_transformation_mode '%s'", ctm);
    a->half_pixel = !strcmp(ctm, "half_pixel");
    return ONYX_OK;
}

static onyx_status roialign_infer(ox_ctx *c)
{
    roialign_args a;
    onyx_status st = roialign_setup(c, &a);
    if (st) return st;
    const int64_t dims[4] = {c->in[1]->dims[0], c->in[0]->dims[1], a.out_h, a.out_w};
    ox_set_shape(c->out[0], c->in[0]->dtype, 4, dims);
    return ONYX_OK;
}

/* Bilinear taps of (yy, xx) in an h x w plane: positions pos[4] and weights wt[4]. Points
 * more than a pixel outside get zero weights; points just outside read the edge. */
static void roi_bilinear(int64_t h, int64_t w, double yy, double xx, int64_t *pos, double *wt)
{
    for (int i = 0; i < 4; i++) {
        pos[i] = 0;
        wt[i] = 0.0;
    }
    if (!(yy >= -1.0 && yy <= (double)h && xx >= -1.0 && xx <= (double)w)) return;
    if (yy < 0.0) yy = 0.0;
    if (xx < 0.0) xx = 0.0;
    int64_t y0 = (int64_t)yy, x0 = (int64_t)xx, y1, x1;
    if (y0 >= h - 1) {
        y0 = y1 = h - 1;
        yy = (double)y0;
    } else {
        y1 = y0 + 1;
    }
    if (x0 >= w - 1) {
        x0 = x1 = w - 1;
        xx = (double)x0;
    } else {
        x1 = x0 + 1;
    }
    const double ly = yy - (double)y0, lx = xx - (double)x0, hy = 1.0 - ly, hx = 1.0 - lx;
    pos[0] = y0 * w + x0;
    pos[1] = y0 * w + x1;
    pos[2] = y1 * w + x0;
    pos[3] = y1 * w + x1;
    wt[0] = hy * hx;
    wt[1] = hy * lx;
    wt[2] = ly * hx;
    wt[3] = ly * lx;
}

/* Samples per bin along one dim: sampling_ratio, or the bin size rounded up. */
static int64_t roi_grid(const roialign_args *a, double roi_size, int64_t bins)
{
    if (a->sampling > 0) return a->sampling;
    return floor_clamp(ceil(roi_size / (double)bins), 0, ROI_MAX_GRID);
}

/* Output plane (RoI r, channel k): each bin is the mean (or max) of a grid of bilinear
 * samples. In max mode each sample is the largest of its four weighted taps. */
static void roialign_plane(ox_ctx *c, const roialign_args *a, int64_t r, int64_t k)
{
    const onyx_tensor *x = c->in[0], *rois = c->in[1];
    onyx_tensor *y = c->out[0];
    const int64_t ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    const int64_t plane = (ox_read_int(c->in[2], r) * ch + k) * h * w;
    const double off = a->half_pixel ? 0.5 : 0.0;
    const double x1 = ox_read_f64(rois, r * 4) * a->scale - off;
    const double y1 = ox_read_f64(rois, r * 4 + 1) * a->scale - off;
    double roi_w = ox_read_f64(rois, r * 4 + 2) * a->scale - off - x1;
    double roi_h = ox_read_f64(rois, r * 4 + 3) * a->scale - off - y1;
    if (!a->half_pixel) { /* the legacy mode forces RoIs to at least one pixel */
        roi_w = fmax(roi_w, 1.0);
        roi_h = fmax(roi_h, 1.0);
    }
    const double bin_h = roi_h / (double)a->out_h, bin_w = roi_w / (double)a->out_w;
    const int64_t gh = roi_grid(a, roi_h, a->out_h), gw = roi_grid(a, roi_w, a->out_w);
    const double count = (double)max64(gh * gw, 1);
    for (int64_t ph = 0; ph < a->out_h; ph++)
        for (int64_t pw = 0; pw < a->out_w; pw++) {
            double acc = 0.0;
            bool first = true;
            for (int64_t iy = 0; iy < gh; iy++) {
                const double yy = y1 + (double)ph * bin_h + ((double)iy + 0.5) * bin_h / (double)gh;
                for (int64_t ix = 0; ix < gw; ix++) {
                    const double xx = x1 + (double)pw * bin_w + ((double)ix + 0.5) * bin_w / (double)gw;
                    int64_t pos[4];
                    double wt[4], v = 0.0;
                    roi_bilinear(h, w, yy, xx, pos, wt);
                    for (int t = 0; t < 4; t++) {
                        const double tv = wt[t] * ox_read_f64(x, plane + pos[t]);
                        if (!a->max_mode) v += tv;
                        else if (t == 0 || tv > v) v = tv;
                    }
                    if (!a->max_mode) acc += v;
                    else if (first || v > acc) acc = v;
                    first = false;
                }
            }
            ox_write_f64(y, ((r * ch + k) * a->out_h + ph) * a->out_w + pw,
                         a->max_mode ? acc : acc / count);
        }
}

static onyx_status roialign_run(ox_ctx *c)
{
    roialign_args a;
    onyx_status st = roialign_setup(c, &a);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *bi = c->in[2];
    const int64_t nr = bi->dims[0], ch = x->dims[1];
    for (int64_t r = 0; r < nr; r++) {
        int64_t b = ox_read_int(bi, r);
        if (b < 0 || b >= x->dims[0])
            return ox_fail(c, ONYX_E_ARG, "batch_indices[%lld] = %lld, not in [0, %lld)",
                           (long long)r, (long long)b, (long long)x->dims[0]);
    }
    if (x->dims[2] == 0 || x->dims[3] == 0) { /* nothing to sample */
        for (int64_t i = 0; i < ox_tensor_numel(c->out[0]); i++) ox_write_f64(c->out[0], i, 0.0);
        return ONYX_OK;
    }
    const int64_t total = nr * ch;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t rc = 0; rc < total; rc++) roialign_plane(c, &a, rc / ch, rc % ch);
    return ONYX_OK;
}

/* ---- GridSample ------------------------------------------------------------------------ */

typedef enum gs_mode { GS_NEAREST, GS_LINEAR, GS_CUBIC } gs_mode;
typedef enum gs_padding { GS_ZEROS, GS_BORDER, GS_REFLECTION } gs_padding;

/* X [N, C, in...] sampled at grid [N, out..., nd] (normalised coordinates in [-1, 1], the
 * last spatial dim first) into Y [N, C, out...]. */
typedef struct gs_args {
    gs_mode mode;
    gs_padding padding;
    bool align_corners;
    int nd;
    int64_t in[OX_WIN_MAX_DIMS], out[OX_WIN_MAX_DIMS];
} gs_args;

/* Interpolation taps along one dim: input positions, weights, and whether each reads the
 * input (false: a zero of the padding). */
typedef struct gs_taps {
    int n;
    int64_t idx[4];
    double w[4];
    bool inside[4];
} gs_taps;

static onyx_status gs_setup(ox_ctx *c, gs_args *a)
{
    onyx_status st;
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = ox_expect_dtype(c, 1, real_types)) ||
        (st = ox_get_flag(c, "align_corners", &a->align_corners)) ||
        (st = ox_attr_expect(c, "mode", OX_ATTR_STRING)) ||
        (st = ox_attr_expect(c, "padding_mode", OX_ATTR_STRING)))
        return st;
    /* Opset 20 renamed bilinear/bicubic to linear/cubic and allowed any number of dims. */
    const bool v20 = c->opset >= 20;
    const char *mode = ox_attr_string(c, "mode", v20 ? "linear" : "bilinear");
    const char *pad = ox_attr_string(c, "padding_mode", "zeros");
    if (!strcmp(mode, "nearest")) a->mode = GS_NEAREST;
    else if (!strcmp(mode, v20 ? "linear" : "bilinear")) a->mode = GS_LINEAR;
    else if (!strcmp(mode, v20 ? "cubic" : "bicubic")) a->mode = GS_CUBIC;
    else return ox_fail(c, ONYX_E_ARG, "unknown mode '%s' for opset %d", mode, c->opset);
    if (!strcmp(pad, "zeros")) a->padding = GS_ZEROS;
    else if (!strcmp(pad, "border")) a->padding = GS_BORDER;
    else if (!strcmp(pad, "reflection")) a->padding = GS_REFLECTION;
    else return ox_fail(c, ONYX_E_ARG, "unknown padding_mode '%s'", pad);
    const onyx_tensor *x = c->in[0], *grid = c->in[1];
    if ((st = ox_check_spatial_rank(c, x, "input"))) return st;
    if (!v20 && x->rank != 4)
        return ox_fail(c, ONYX_E_SHAPE, "X must be [N, C, H, W] before opset 20, got rank %d",
                       x->rank);
    a->nd = x->rank - 2;
    if (grid->rank != x->rank || grid->dims[0] != x->dims[0] ||
        grid->dims[grid->rank - 1] != a->nd)
        return ox_fail(c, ONYX_E_SHAPE, "grid must be [N, D1_out, ..., %d] with X's N", a->nd);
    for (int d = 0; d < a->nd; d++) {
        a->in[d] = x->dims[2 + d];
        a->out[d] = grid->dims[1 + d];
    }
    return ONYX_OK;
}

static onyx_status gs_infer(ox_ctx *c)
{
    gs_args a;
    onyx_status st = gs_setup(c, &a);
    if (st) return st;
    int64_t dims[ONYX_MAX_RANK];
    dims[0] = c->in[0]->dims[0];
    dims[1] = c->in[0]->dims[1];
    for (int d = 0; d < a.nd; d++) dims[2 + d] = a.out[d];
    ox_set_shape(c->out[0], c->in[0]->dtype, a.nd + 2, dims);
    return ONYX_OK;
}

/* x reflected by the borders lo and hi until it lies between them. */
static double reflect(double x, double lo, double hi)
{
    const double range = hi - lo;
    if (!(range > 0.0)) return lo; /* a single position */
    if (x < lo) {
        const double dx = lo - x, n = floor(dx / range), r = dx - n * range;
        return fmod(n, 2.0) == 0.0 ? lo + r : hi - r;
    }
    if (x > hi) {
        const double dx = x - hi, n = floor(dx / range), r = dx - n * range;
        return fmod(n, 2.0) == 0.0 ? hi - r : lo + r;
    }
    return x;
}

/* The extent of dim d that is inside the image: pixel centres with align_corners, else
 * pixel edges. */
static void gs_bounds(const gs_args *a, int d, double *lo, double *hi)
{
    *lo = a->align_corners ? 0.0 : -0.5;
    *hi = a->align_corners ? (double)a->in[d] - 1.0 : (double)a->in[d] - 0.5;
}

/* Where tap position i of dim d reads, per padding_mode; false for a padding zero. */
static bool gs_index(const gs_args *a, int d, int64_t i, int64_t *out)
{
    const int64_t size = a->in[d];
    *out = 0;
    if (size <= 0) return false;
    if (a->padding == GS_ZEROS) {
        *out = i;
        return i >= 0 && i < size;
    }
    if (a->padding == GS_REFLECTION && (i < 0 || i >= size)) {
        double lo, hi;
        gs_bounds(a, d, &lo, &hi);
        i = floor_clamp(reflect((double)i, lo, hi), 0, size - 1);
    }
    *out = i < 0 ? 0 : i >= size ? size - 1 : i;
    return true;
}

/* Keys' cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 from t in [0, 1). */
static void cubic_weights(double t, double *w)
{
    const double A = -0.75, t1 = t + 1.0, u = 1.0 - t, u1 = 2.0 - t;
    w[0] = ((A * t1 - 5.0 * A) * t1 + 8.0 * A) * t1 - 4.0 * A;
    w[1] = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    w[2] = ((A + 2.0) * u - (A + 3.0)) * u * u + 1.0;
    w[3] = ((A * u1 - 5.0 * A) * u1 + 8.0 * A) * u1 - 4.0 * A;
}

/* The taps of normalised coordinate g along dim d. */
static void gs_dim_taps(const gs_args *a, int d, double g, gs_taps *t)
{
    const double size = (double)a->in[d];
    double x = a->align_corners ? (g + 1.0) / 2.0 * (size - 1.0) : ((g + 1.0) * size - 1.0) / 2.0;
    if (a->mode == GS_NEAREST) x = nearbyint(x); /* halves to even, as PyTorch */
    double lo, hi;
    gs_bounds(a, d, &lo, &hi);
    /* Outside the image, border padding moves the point to the border and reflection
     * reflects it. Cubic border padding instead clamps each tap (PyTorch and onnxruntime do
     * so; the ONNX reference evaluator clamps the point, which changes the weights). */
    if (x < lo || x > hi) {
        if (a->padding == GS_BORDER && a->mode != GS_CUBIC) x = fmin(fmax(x, 0.0), size - 1.0);
        else if (a->padding == GS_REFLECTION) x = reflect(x, lo, hi);
    }
    /* Far outside every tap is padding; clamping keeps the integer conversions defined. */
    const double far = size + 8.0;
    if (!(x >= -far)) x = -far;
    else if (x > far) x = far;
    const double f = floor(x), frac = x - f;
    const int64_t i0 = (int64_t)f;
    if (a->mode == GS_NEAREST) {
        t->n = 1;
        t->idx[0] = (int64_t)x; /* x is integral here */
        t->w[0] = 1.0;
    } else if (a->mode == GS_LINEAR) {
        t->n = 2;
        t->idx[0] = i0;
        t->idx[1] = i0 + 1;
        t->w[0] = 1.0 - frac;
        t->w[1] = frac;
    } else {
        t->n = 4;
        for (int k = 0; k < 4; k++) t->idx[k] = i0 - 1 + k;
        cubic_weights(frac, t->w);
    }
    for (int k = 0; k < t->n; k++) t->inside[k] = gs_index(a, d, t->idx[k], &t->idx[k]);
}

/* The interpolated value of the plane at element offset `plane`: the sum over every
 * combination of per-dim taps of the product of their weights times the input there. */
static double gs_value(const onyx_tensor *x, int64_t plane, const gs_args *a, const gs_taps *t)
{
    int64_t k[OX_WIN_MAX_DIMS], lo[OX_WIN_MAX_DIMS], hi[OX_WIN_MAX_DIMS];
    for (int d = 0; d < a->nd; d++) {
        k[d] = lo[d] = 0;
        hi[d] = t[d].n;
    }
    double sum = 0.0;
    do {
        double w = 1.0;
        int64_t off = 0;
        bool inside = true;
        for (int d = 0; d < a->nd && inside; d++) {
            inside = t[d].inside[k[d]];
            w *= t[d].w[k[d]];
            off = off * a->in[d] + t[d].idx[k[d]];
        }
        if (inside) sum += w * ox_read_f64(x, plane + off);
    } while (next_in_box(a->nd, lo, hi, k));
    return sum;
}

static onyx_status gs_run(ox_ctx *c)
{
    gs_args a;
    onyx_status st = gs_setup(c, &a);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *grid = c->in[1];
    onyx_tensor *y = c->out[0];
    const int64_t ch = x->dims[1];
    int64_t in = 1, out = 1;
    for (int d = 0; d < a.nd; d++) {
        in *= a.in[d];
        out *= a.out[d];
    }
    const int64_t total = x->dims[0] * out;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < total; i++) { /* one grid point, every channel */
        const int64_t n = i / out, p = i % out;
        gs_taps t[OX_WIN_MAX_DIMS];
        for (int d = 0; d < a.nd; d++)
            gs_dim_taps(&a, d, ox_read_f64(grid, i * a.nd + (a.nd - 1 - d)), &t[d]);
        for (int64_t k = 0; k < ch; k++)
            ox_write_f64(y, (n * ch + k) * out + p, gs_value(x, (n * ch + k) * in, &a, t));
    }
    return ONYX_OK;
}

/* ---- AffineGrid ------------------------------------------------------------------------ */

/* theta [N, 2, 3] and size (N, C, H, W) give grid [N, H, W, 2]; theta [N, 3, 4] and size
 * (N, C, D, H, W) give [N, D, H, W, 3]. Each point is theta times the homogeneous position of
 * an evenly spaced base grid over [-1, 1], x (the last dim) first. */
static onyx_status affine_shape(ox_ctx *c, int64_t *size, int *nd)
{
    onyx_status st;
    int n;
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, real_types))) return st;
    bool align;
    if ((st = ox_get_flag(c, "align_corners", &align)) ||
        (st = ox_input_ints(c, 1, "size", size, ONYX_MAX_RANK, &n)))
        return st;
    const onyx_tensor *theta = c->in[0];
    *nd = n - 2;
    if ((n != 4 && n != 5) || theta->rank != 3 || theta->dims[1] != *nd ||
        theta->dims[2] != *nd + 1)
        return ox_fail(c, ONYX_E_SHAPE,
                       "theta must be [N, 2, 3] with a size of 4 values or [N, 3, 4] with 5");
    if (size[0] != theta->dims[0])
        return ox_fail(c, ONYX_E_SHAPE, "size[0] = %lld but theta has %lld matrices",
                       (long long)size[0], (long long)theta->dims[0]);
    for (int d = 1; d < n; d++)
        if (size[d] < 0) return ox_fail(c, ONYX_E_SHAPE, "size[%d] is %lld", d, (long long)size[d]);
    return ONYX_OK;
}

static onyx_status affine_infer(ox_ctx *c)
{
    int64_t size[ONYX_MAX_RANK], dims[ONYX_MAX_RANK], n;
    int nd;
    onyx_status st = affine_shape(c, size, &nd);
    if (st) return st;
    dims[0] = size[0];
    for (int d = 0; d < nd; d++) dims[1 + d] = size[2 + d];
    dims[nd + 1] = nd;
    if (!ox_shape_numel(nd + 2, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], c->in[0]->dtype, nd + 2, dims);
    return ONYX_OK;
}

/* Base grid coordinate of position i of size positions. */
static double affine_base(int64_t i, int64_t size, bool align_corners)
{
    if (align_corners) return size > 1 ? -1.0 + 2.0 * (double)i / (double)(size - 1) : -1.0;
    return -1.0 + (2.0 * (double)i + 1.0) / (double)size;
}

static onyx_status affine_run(ox_ctx *c)
{
    int64_t size[ONYX_MAX_RANK];
    int nd;
    bool align;
    onyx_status st = affine_shape(c, size, &nd);
    if (st || (st = ox_get_flag(c, "align_corners", &align))) return st;
    const onyx_tensor *theta = c->in[0];
    onyx_tensor *y = c->out[0];
    int64_t points = 1;
    for (int d = 0; d < nd; d++) points *= size[2 + d];
    const int64_t total = size[0] * points;
    for (int64_t i = 0; i < total; i++) {
        const int64_t n = i / points;
        int64_t pos[3];
        double base[4];
        unflatten(nd, size + 2, i % points, pos);
        for (int k = 0; k < nd; k++) /* base[0] is x, the last spatial dim */
            base[k] = affine_base(pos[nd - 1 - k], size[2 + nd - 1 - k], align);
        base[nd] = 1.0;
        for (int j = 0; j < nd; j++) {
            double v = 0.0;
            for (int k = 0; k <= nd; k++)
                v += ox_read_f64(theta, (n * nd + j) * (nd + 1) + k) * base[k];
            ox_write_f64(y, i * nd + j, v);
        }
    }
    return ONYX_OK;
}

/* ---- NonMaxSuppression ----------------------------------------------------------------- */

/* The selection count decides the output shape, so infer runs the whole selection, with only
 * stack memory: candidates are taken in batches of NMS_STACK_CANDS, and at most
 * NMS_STACK_SELECTED boxes per class can be selected. Run repeats it with scratch. */
#define NMS_STACK_CANDS 256
#define NMS_STACK_SELECTED 4096

typedef struct nms_args {
    const float *boxes, *scores;
    int64_t batches, classes, boxes_n, max_out;
    float iou, score_min;
    bool has_score_min, center;
} nms_args;

typedef struct nms_cand {
    float score;
    int32_t idx;
} nms_cand;

/* Selection order: higher score first, then lower index. */
static bool cand_before(nms_cand a, nms_cand b)
{
    return a.score > b.score || (a.score == b.score && a.idx < b.idx);
}

/* Reads a float scalar input i (absent or empty: def). */
static float nms_float(const ox_ctx *c, int i, float def)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    return t && ox_tensor_numel(t) > 0 ? ((const float *)t->data)[0] : def;
}

static onyx_status nms_setup(ox_ctx *c, nms_args *a)
{
    static const onyx_dtype f32[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_UNDEFINED};
    static const onyx_dtype i64[] = {ONYX_DTYPE_INT64, ONYX_DTYPE_UNDEFINED};
    onyx_status st;
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, f32)) ||
        (st = ox_expect_dtype(c, 1, f32)) || (st = ox_get_flag(c, "center_point_box", &a->center)))
        return st;
    for (int i = 2; i < 5; i++)
        if (ox_opt_in(c, i) && (st = ox_expect_dtype(c, i, i == 2 ? i64 : f32))) return st;
    const onyx_tensor *boxes = c->in[0], *scores = c->in[1];
    if (boxes->rank != 3 || boxes->dims[2] != 4)
        return ox_fail(c, ONYX_E_SHAPE, "boxes must be [num_batches, num_boxes, 4]");
    if (scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return ox_fail(c, ONYX_E_SHAPE,
                       "scores must be [num_batches, num_classes, num_boxes] matching boxes");
    if (boxes->dims[1] > INT32_MAX)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "more than %d boxes", (int)INT32_MAX);
    /* The selection depends on every input's value. */
    for (int i = 0; i < 5; i++)
        if (ox_opt_in(c, i) && (st = ox_need_value(c, i))) return st;
    a->boxes = boxes->data;
    a->scores = scores->data;
    a->batches = boxes->dims[0];
    a->boxes_n = boxes->dims[1];
    a->classes = scores->dims[1];
    const onyx_tensor *mo = ox_opt_in(c, 2);
    a->max_out = mo && ox_tensor_numel(mo) > 0 ? ((const int64_t *)mo->data)[0] : 0;
    a->max_out = min64(max64(a->max_out, 0), a->boxes_n);
    a->iou = nms_float(c, 3, 0.0f);
    a->has_score_min = ox_opt_in(c, 4) && ox_tensor_numel(c->in[4]) > 0;
    a->score_min = nms_float(c, 4, 0.0f);
    return ONYX_OK;
}

/* Corner form (x_min, y_min, x_max, y_max) of box i of a batch's boxes. */
static void nms_corners(const nms_args *a, const float *bx, int32_t i, float *r)
{
    const float *b = bx + (int64_t)i * 4;
    if (a->center) {
        r[0] = b[0] - b[2] / 2.0f;
        r[1] = b[1] - b[3] / 2.0f;
        r[2] = b[0] + b[2] / 2.0f;
        r[3] = b[1] + b[3] / 2.0f;
    } else { /* (y1, x1, y2, x2), either corner first */
        r[0] = fminf(b[1], b[3]);
        r[1] = fminf(b[0], b[2]);
        r[2] = fmaxf(b[1], b[3]);
        r[3] = fmaxf(b[0], b[2]);
    }
}

/* Whether boxes i and j overlap with an IoU above the threshold (equal is kept). float
 * arithmetic, as the reference has it, so ties at the threshold resolve alike. */
static bool nms_suppresses(const nms_args *a, const float *bx, int32_t i, int32_t j)
{
    float p[4], q[4];
    nms_corners(a, bx, i, p);
    nms_corners(a, bx, j, q);
    const float ix0 = fmaxf(p[0], q[0]), ix1 = fminf(p[2], q[2]);
    const float iy0 = fmaxf(p[1], q[1]), iy1 = fminf(p[3], q[3]);
    if (!(ix1 > ix0) || !(iy1 > iy0)) return false;
    const float inter = (ix1 - ix0) * (iy1 - iy0);
    const float area_p = (p[2] - p[0]) * (p[3] - p[1]), area_q = (q[2] - q[0]) * (q[3] - q[1]);
    const float uni = area_p + area_q - inter;
    if (!(inter > 0.0f) || !(area_p > 0.0f) || !(area_q > 0.0f) || !(uni > 0.0f)) return false;
    return inter / uni > a->iou;
}

/* Restores the heap order (the root is the candidate latest in selection order) below i. */
static void cand_sift(nms_cand *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_before(h[m], h[l])) m = l;
        if (r < n && cand_before(h[m], h[r])) m = r;
        if (m == i) return;
        nms_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Fills buf with the first `cap` candidates of a class's scores that come after *after in
 * selection order (all when NULL), sorted in that order; returns how many. NaN scores and
 * scores not above score_threshold are no candidates. */
static int64_t nms_next(const nms_args *a, const float *sc, const nms_cand *after, nms_cand *buf,
                        int64_t cap)
{
    int64_t n = 0;
    for (int64_t i = 0; i < a->boxes_n; i++) {
        const nms_cand cd = {sc[i], (int32_t)i};
        if (isnan(cd.score) || (a->has_score_min && !(cd.score > a->score_min))) continue;
        if (after && !cand_before(*after, cd)) continue;
        if (n < cap) { /* grow the heap */
            buf[n++] = cd;
            for (int64_t k = n - 1; k > 0 && cand_before(buf[(k - 1) / 2], buf[k]); k = (k - 1) / 2) {
                nms_cand t = buf[k];
                buf[k] = buf[(k - 1) / 2];
                buf[(k - 1) / 2] = t;
            }
        } else if (cand_before(cd, buf[0])) { /* replace the latest kept */
            buf[0] = cd;
            cand_sift(buf, n, 0);
        }
    }
    for (int64_t m = n - 1; m > 0; m--) { /* heap sort: latest to the end */
        nms_cand t = buf[0];
        buf[0] = buf[m];
        buf[m] = t;
        cand_sift(buf, m, 0);
    }
    return n;
}

/* Greedy selection for one (batch, class): box indices into sel, in selection order.
 * Returns how many, or -1 if more than sel_cap would be selected. */
static int64_t nms_class(const nms_args *a, int64_t b, int64_t k, nms_cand *buf, int64_t cap,
                         int32_t *sel, int64_t sel_cap)
{
    const float *bx = a->boxes + b * a->boxes_n * 4;
    const float *sc = a->scores + (b * a->classes + k) * a->boxes_n;
    int64_t nsel = 0;
    nms_cand last = {0.0f, 0};
    bool more = true;
    for (bool first = true; more && nsel < a->max_out; first = false) {
        const int64_t m = nms_next(a, sc, first ? NULL : &last, buf, cap);
        for (int64_t i = 0; i < m && nsel < a->max_out; i++) {
            bool keep = true;
            for (int64_t j = 0; j < nsel && keep; j++) keep = !nms_suppresses(a, bx, sel[j], buf[i].idx);
            if (!keep) continue;
            if (nsel == sel_cap) return -1;
            sel[nsel++] = buf[i].idx;
        }
        more = m == cap;
        if (m > 0) last = buf[m - 1];
    }
    return nsel;
}

/* Runs every (batch, class); writes [batch, class, box] triplets to out unless NULL and
 * counts them in *count. */
static onyx_status nms_all(ox_ctx *c, const nms_args *a, nms_cand *buf, int64_t cap,
                           int32_t *sel, int64_t sel_cap, int64_t *out, int64_t *count)
{
    *count = 0;
    for (int64_t b = 0; b < a->batches; b++)
        for (int64_t k = 0; k < a->classes; k++) {
            int64_t n = nms_class(a, b, k, buf, cap, sel, sel_cap);
            if (n < 0)
                return ox_fail(c, ONYX_E_UNSUPPORTED,
                               "more than %d boxes selected for one class at plan time",
                               NMS_STACK_SELECTED);
            for (int64_t i = 0; out && i < n; i++) {
                out[(*count + i) * 3] = b;
                out[(*count + i) * 3 + 1] = k;
                out[(*count + i) * 3 + 2] = sel[i];
            }
            *count += n;
        }
    return ONYX_OK;
}

static onyx_status nms_infer(ox_ctx *c)
{
    nms_args a;
    nms_cand buf[NMS_STACK_CANDS];
    int32_t sel[NMS_STACK_SELECTED];
    int64_t n;
    onyx_status st = nms_setup(c, &a);
    if (st || (st = nms_all(c, &a, buf, NMS_STACK_CANDS, sel, NMS_STACK_SELECTED, NULL, &n)))
        return st;
    const int64_t dims[2] = {n, 3};
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 2, dims);
    /* Run sorts each class's candidates at once and keeps up to max_out selections. */
    c->scratch_bytes = buf_bytes(a.boxes_n, sizeof(nms_cand)) + buf_bytes(a.max_out, sizeof(int32_t));
    return ONYX_OK;
}

static onyx_status nms_run(ox_ctx *c)
{
    nms_args a;
    int64_t n = 0;
    onyx_status st = nms_setup(c, &a);
    if (st) return st;
    const size_t cand_bytes = buf_bytes(a.boxes_n, sizeof(nms_cand));
    if ((st = ox_check_scratch(c, cand_bytes + buf_bytes(a.max_out, sizeof(int32_t))))) return st;
    if (a.max_out == 0) return ONYX_OK; /* nothing selected: the output is empty */
    nms_cand *buf = c->scratch;
    int32_t *sel = (int32_t *)(void *)((char *)c->scratch + cand_bytes);
    if ((st = nms_all(c, &a, buf, a.boxes_n, sel, a.max_out, c->out[0]->data, &n))) return st;
    if (n != c->out[0]->dims[0])
        return ox_fail(c, ONYX_E_INTERNAL, "selected %lld boxes, planned for %lld", (long long)n,
                       (long long)c->out[0]->dims[0]);
    return ONYX_OK;
}

/* ---- registry -------------------------------------------------------------------------- */

const ox_op ox_ops_nn_extra[] = {
    {"ConvTranspose", "", 1, 28, convt_infer, convt_run, 0},
    {"DeformConv", "", 19, 28, deform_infer, deform_run, 0},
    {"LpPool", "", 1, 28, lppool_infer, lppool_run, 0},
    {"GlobalMaxPool", "", 1, 28, global_pool_infer, global_maxpool_run, 0},
    {"GlobalLpPool", "", 1, 28, global_lppool_infer, global_lppool_run, 0},
    {"MaxUnpool", "", 9, 28, unpool_infer, unpool_run, 0},
    {"MaxRoiPool", "", 1, 28, roipool_infer, roipool_run, 0},
    {"RoiAlign", "", 10, 28, roialign_infer, roialign_run, 0},
    {"GridSample", "", 16, 28, gs_infer, gs_run, 0},
    {"AffineGrid", "", 20, 28, affine_infer, affine_run, 0},
    {"NonMaxSuppression", "", 10, 28, nms_infer, nms_run, 0},
};
const size_t ox_ops_nn_extra_count = sizeof ox_ops_nn_extra / sizeof ox_ops_nn_extra[0];
