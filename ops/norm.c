/* norm.c — normalisations: InstanceNormalization, LayerNormalization, GroupNormalization,
 * RMSNormalization, LRN, LpNormalization and MeanVarianceNormalization.
 *
 * Types: float, double, float16 and bfloat16. Statistics accumulate in double whatever the
 * dtype — at least the precision any stash_type asks for — and each output element is
 * rounded once to its dtype. Each group of elements normalised together is computed by one
 * thread in a fixed order, so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "fused.h"
#include "op.h"

static const onyx_dtype real_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                        ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Contiguous runs are converted to double this many elements at a time, on the stack, so the
 * dtype is dispatched once per chunk and the loops stay simple enough to vectorise. */
#define CHUNK 512

static int64_t chunk_len(int64_t i, int64_t n) { return n - i < CHUNK ? n - i : CHUNK; }

/* dst[0..n) = elements [off, off + n) of a real tensor. */
static void load(const onyx_tensor *t, int64_t off, int64_t n, double *dst)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: {
        const float *s = (const float *)t->data + off;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i];
        break;
    }
    case ONYX_DTYPE_DOUBLE: ox_copy_bytes(dst, (const double *)t->data + off, (size_t)n * sizeof *dst); break;
    case ONYX_DTYPE_FLOAT16: {
        const uint16_t *s = (const uint16_t *)t->data + off;
        for (int64_t i = 0; i < n; i++) dst[i] = ox_f16_to_f32(s[i]);
        break;
    }
    default: {
        const uint16_t *s = (const uint16_t *)t->data + off;
        for (int64_t i = 0; i < n; i++) dst[i] = ox_bf16_to_f32(s[i]);
        break;
    }
    }
}

/* Elements [off, off + n) of a real tensor = src[0..n), rounded to its dtype. */
static void store(onyx_tensor *t, int64_t off, int64_t n, const double *src)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: {
        float *d = (float *)t->data + off;
        for (int64_t i = 0; i < n; i++) d[i] = (float)src[i];
        break;
    }
    case ONYX_DTYPE_DOUBLE: ox_copy_bytes((double *)t->data + off, src, (size_t)n * sizeof *src); break;
    case ONYX_DTYPE_FLOAT16: {
        uint16_t *d = (uint16_t *)t->data + off;
        for (int64_t i = 0; i < n; i++) d[i] = ox_f32_to_f16((float)src[i]);
        break;
    }
    default: {
        uint16_t *d = (uint16_t *)t->data + off;
        for (int64_t i = 0; i < n; i++) d[i] = ox_f32_to_bf16((float)src[i]);
        break;
    }
    }
}

/* Mean and population variance (two passes) of n elements of x from off; with no_mean, the
 * mean is taken as 0 (the mean square, for RMSNormalization). */
static void moments(const onyx_tensor *x, int64_t off, int64_t n, bool no_mean, double *mean,
                    double *var)
{
    double buf[CHUNK], sum = 0.0, sq = 0.0;
    for (int64_t i = 0; i < n && !no_mean; i += CHUNK) {
        const int64_t m = chunk_len(i, n);
        load(x, off + i, m, buf);
        for (int64_t j = 0; j < m; j++) sum += buf[j];
    }
    *mean = n > 0 ? sum / (double)n : 0.0;
    for (int64_t i = 0; i < n; i += CHUNK) {
        const int64_t m = chunk_len(i, n);
        load(x, off + i, m, buf);
        for (int64_t j = 0; j < m; j++) {
            const double d = buf[j] - *mean;
            sq += d * d;
        }
    }
    *var = n > 0 ? sq / (double)n : 0.0;
}

/* Input i, when present, has input 0's dtype. */
static onyx_status check_same_dtype(ox_ctx *c, int i, const char *name)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    if (!t || t->dtype == c->in[0]->dtype) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "%s has dtype %s, expected %s like input 0", name,
                   onyx_dtype_name(t->dtype), onyx_dtype_name(c->in[0]->dtype));
}

/* Input i is a vector of n values (per channel or per group). */
static onyx_status check_vector(ox_ctx *c, int i, const char *name, int64_t n)
{
    const onyx_tensor *t = c->in[i];
    if (t->rank == 1 && t->dims[0] == n) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "%s must have shape [%lld]", name, (long long)n);
}

static onyx_status get_epsilon(ox_ctx *c, double *eps)
{
    onyx_status st = ox_attr_expect(c, "epsilon", OX_ATTR_FLOAT);
    if (st) return st;
    *eps = ox_attr_float(c, "epsilon", 1e-5f);
    return ONYX_OK;
}

/* X viewed as [N, C, size]: rank >= 2. */
static onyx_status channel_view(ox_ctx *c, int64_t *n, int64_t *ch, int64_t *size)
{
    const onyx_tensor *x = c->in[0];
    if (x->rank < 2)
        return ox_fail(c, ONYX_E_SHAPE, "input has rank %d, expected [N, C, ...]", x->rank);
    *n = x->dims[0];
    *ch = x->dims[1];
    *size = 1;
    for (int d = 2; d < x->rank; d++) *size *= x->dims[d];
    return ONYX_OK;
}

/* Output 0 is shaped like input 0. */
static void same_shape_output(ox_ctx *c, onyx_dtype t)
{
    ox_set_shape(c->out[0], t, c->in[0]->rank, c->in[0]->dims);
}

/* ---- InstanceNormalization, GroupNormalization -------------------------------------------- */

/* X [N, C, ...] normalised over groups of C / groups consecutive channels (InstanceNorm:
 * groups == C); scale and bias hold one value per channel, or per group when per_group. */
typedef struct group_norm {
    int64_t batch, channels, size, groups;
    double eps;
    bool per_group;
} group_norm;

static onyx_status instnorm_setup(ox_ctx *c, group_norm *g)
{
    onyx_status st;
    if ((st = ox_need_io(c, 3)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = check_same_dtype(c, 1, "scale")) || (st = check_same_dtype(c, 2, "B")) ||
        (st = channel_view(c, &g->batch, &g->channels, &g->size)) ||
        (st = check_vector(c, 1, "scale", g->channels)) ||
        (st = check_vector(c, 2, "B", g->channels)) || (st = get_epsilon(c, &g->eps)))
        return st;
    g->groups = g->channels;
    g->per_group = false;
    return ONYX_OK;
}

/* Opsets 18-20 take scale and bias per group, 21 per channel. */
static onyx_status groupnorm_setup(ox_ctx *c, group_norm *g)
{
    onyx_status st;
    if ((st = ox_need_io(c, 3)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = check_same_dtype(c, 1, "scale")) || (st = check_same_dtype(c, 2, "bias")) ||
        (st = channel_view(c, &g->batch, &g->channels, &g->size)) ||
        (st = get_epsilon(c, &g->eps)) || (st = ox_attr_expect(c, "num_groups", OX_ATTR_INT)) ||
        (st = ox_attr_expect(c, "stash_type", OX_ATTR_INT)))
        return st;
    if (!ox_attr_has(c, "num_groups"))
        return ox_fail(c, ONYX_E_ARG, "attribute 'num_groups' is required");
    g->groups = ox_attr_int(c, "num_groups", 1);
    if (g->groups < 1 || g->channels % g->groups)
        return ox_fail(c, ONYX_E_ARG, "num_groups %lld must be positive and divide %lld channels",
                       (long long)g->groups, (long long)g->channels);
    g->per_group = c->opset < 21;
    const int64_t n = g->per_group ? g->groups : g->channels;
    if ((st = check_vector(c, 1, "scale", n)) || (st = check_vector(c, 2, "bias", n))) return st;
    return ONYX_OK;
}

/* One (image, group): statistics over its block, then each channel's scale and bias. */
static void group_norm_block(ox_ctx *c, const group_norm *g, int64_t block)
{
    const onyx_tensor *x = c->in[0], *scale = c->in[1], *bias = c->in[2];
    const int64_t per = g->channels / g->groups, grp = block % g->groups;
    const int64_t off = block * per * g->size;
    double mean, var, buf[CHUNK];
    moments(x, off, per * g->size, false, &mean, &var);
    const double inv = 1.0 / sqrt(var + g->eps);
    for (int64_t k = 0; k < per; k++) {
        const int64_t p = g->per_group ? grp : grp * per + k;
        const double s = ox_read_f64(scale, p) * inv, b = ox_read_f64(bias, p);
        const int64_t base = off + k * g->size;
        for (int64_t i = 0; i < g->size; i += CHUNK) {
            const int64_t m = chunk_len(i, g->size);
            load(x, base + i, m, buf);
            for (int64_t j = 0; j < m; j++) buf[j] = (buf[j] - mean) * s + b;
            store(c->out[0], base + i, m, buf);
        }
    }
}

static onyx_status group_norm_run(ox_ctx *c, const group_norm *g)
{
    const int64_t blocks = g->batch * g->groups;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < blocks; i++) group_norm_block(c, g, i);
    return ONYX_OK;
}

static onyx_status instnorm_infer(ox_ctx *c)
{
    group_norm g;
    onyx_status st = instnorm_setup(c, &g);
    if (!st) same_shape_output(c, c->in[0]->dtype);
    return st;
}

static onyx_status instnorm_run(ox_ctx *c)
{
    group_norm g;
    onyx_status st = instnorm_setup(c, &g);
    return st ? st : group_norm_run(c, &g);
}

static onyx_status groupnorm_infer(ox_ctx *c)
{
    group_norm g;
    onyx_status st = groupnorm_setup(c, &g);
    if (!st) same_shape_output(c, c->in[0]->dtype);
    return st;
}

static onyx_status groupnorm_run(ox_ctx *c)
{
    group_norm g;
    onyx_status st = groupnorm_setup(c, &g);
    return st ? st : group_norm_run(c, &g);
}

/* ---- LayerNormalization, RMSNormalization -------------------------------------------------- */

/* X seen as [rows, cols], normalised per row over the dims from axis on. Scale and B
 * broadcast to X (unidirectionally); before the rows are processed they are expanded into
 * scratch as double: over one row when they do not vary between rows (the usual [cols]
 * shapes), else over all of X. */
typedef struct row_norm {
    int axis;
    int64_t rows, cols;
    double eps;
    bool rms;                   /* RMSNormalization: no mean, no bias */
    onyx_dtype stash;           /* dtype of the Mean / InvStdDev outputs */
    int64_t scale_n, bias_n;    /* expanded lengths: cols or rows * cols (0: no bias) */
} row_norm;

/* True if param, broadcast to x, takes the same values in every row (its broadcast strides
 * over the dims before axis are all 0). */
static bool row_invariant(const onyx_tensor *param, const onyx_tensor *x, int axis)
{
    int64_t strides[ONYX_MAX_RANK];
    ox_broadcast_strides(param, x->rank, x->dims, strides);
    for (int d = 0; d < axis; d++)
        if (strides[d] != 0) return false;
    return true;
}

/* param must broadcast to x unidirectionally (x's shape is kept). */
static onyx_status check_unidirectional(ox_ctx *c, int i, const char *name)
{
    const onyx_tensor *p = c->in[i], *x = c->in[0];
    bool ok = p->rank <= x->rank;
    for (int d = 0; ok && d < p->rank; d++) {
        int64_t pd = p->dims[p->rank - 1 - d], xd = x->dims[x->rank - 1 - d];
        ok = pd == xd || pd == 1;
    }
    if (ok) return ONYX_OK;
    char a[96], b[96];
    return ox_fail(c, ONYX_E_SHAPE, "%s of shape %s does not broadcast to X's %s", name,
                   ox_shape_str(a, sizeof a, p->rank, p->dims),
                   ox_shape_str(b, sizeof b, x->rank, x->dims));
}

/* stash_type names the dtype of the statistics outputs. */
static onyx_status get_stash(ox_ctx *c, onyx_dtype *out)
{
    onyx_status st = ox_attr_expect(c, "stash_type", OX_ATTR_INT);
    if (st) return st;
    int64_t v = ox_attr_int(c, "stash_type", ONYX_DTYPE_FLOAT);
    if (v != ONYX_DTYPE_FLOAT && v != ONYX_DTYPE_DOUBLE && v != ONYX_DTYPE_FLOAT16 &&
        v != ONYX_DTYPE_BFLOAT16)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "stash_type %lld is not supported", (long long)v);
    *out = (onyx_dtype)v;
    return ONYX_OK;
}

static onyx_status row_norm_setup(ox_ctx *c, bool rms, row_norm *r)
{
    onyx_status st;
    if ((st = ox_need_io(c, 2)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = ox_expect_dtype(c, 1, real_types)) || (st = get_epsilon(c, &r->eps)) ||
        (st = get_stash(c, &r->stash)) || (st = ox_attr_expect(c, "axis", OX_ATTR_INT)))
        return st;
    /* RMSNormalization's Scale may have its own dtype (it is Y's); LayerNormalization's
     * Scale and B have X's. */
    if (!rms && ((st = check_same_dtype(c, 1, "Scale")) || (st = check_same_dtype(c, 2, "B"))))
        return st;
    const onyx_tensor *x = c->in[0], *b = rms ? NULL : ox_opt_in(c, 2);
    if (x->rank < 1) return ox_fail(c, ONYX_E_SHAPE, "X must have rank >= 1");
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", -1), x->rank, "axis", &r->axis)) ||
        (st = check_unidirectional(c, 1, "Scale")) ||
        (b && (st = check_unidirectional(c, 2, "B"))))
        return st;
    r->rms = rms;
    r->rows = 1;
    r->cols = 1;
    for (int d = 0; d < x->rank; d++) *(d < r->axis ? &r->rows : &r->cols) *= x->dims[d];
    const int64_t all = r->rows * r->cols;
    r->scale_n = row_invariant(c->in[1], x, r->axis) ? r->cols : all;
    r->bias_n = !b ? 0 : row_invariant(b, x, r->axis) ? r->cols : all;
    return ONYX_OK;
}

static size_t row_norm_scratch(const row_norm *r)
{
    return (size_t)(r->scale_n + r->bias_n) * sizeof(double);
}

static onyx_status row_norm_infer(ox_ctx *c, bool rms)
{
    row_norm r;
    onyx_status st = row_norm_setup(c, rms, &r);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    /* RMSNormalization's Y has Scale's dtype. */
    same_shape_output(c, rms ? c->in[1]->dtype : x->dtype);
    int64_t dims[ONYX_MAX_RANK];
    for (int d = 0; d < x->rank; d++) dims[d] = d < r.axis ? x->dims[d] : 1;
    for (int i = 1; i < c->n_out && i < 3; i++)
        if (c->out[i]) {
            if (rms) return ox_fail(c, ONYX_E_ARG, "RMSNormalization has one output");
            ox_set_shape(c->out[i], r.stash, x->rank, dims);
        }
    c->scratch_bytes = row_norm_scratch(&r);
    return ONYX_OK;
}

/* dst[j] = param broadcast to x, at x's flat element j, for j < n. */
static void expand_param(const onyx_tensor *param, const onyx_tensor *x, int64_t n, double *dst)
{
    int64_t strides[ONYX_MAX_RANK], coord[ONYX_MAX_RANK];
    ox_broadcast_strides(param, x->rank, x->dims, strides);
    for (int64_t j = 0; j < n; j++) {
        int64_t rest = j, off = 0;
        for (int d = x->rank - 1; d >= 0; d--) {
            coord[d] = rest % x->dims[d];
            rest /= x->dims[d];
            off += coord[d] * strides[d];
        }
        dst[j] = ox_read_f64(param, off);
    }
}

/* The skip input of a fused LayerNormalization (fused.h), or NULL. */
static const onyx_tensor *skip_of(const ox_ctx *c) { return ox_opt_in(c, OX_LN_SKIP_INPUT); }

/* One row: its statistics, then Y (and Mean / InvStdDev when asked for). With a skip input
 * (fused.h), the row of X + skip goes into Y (and the sum output) first and is normalised
 * from there: each chunk of Y is read before it is written. */
static void row_norm_row(ox_ctx *c, const row_norm *r, const double *scale, const double *bias,
                         int64_t row)
{
    const onyx_tensor *x = c->in[0], *skip = skip_of(c);
    const int64_t off = row * r->cols;
    if (skip) {
        const float *a = (const float *)x->data + off, *b = (const float *)skip->data + off;
        float *y = (float *)c->out[0]->data + off;
        for (int64_t j = 0; j < r->cols; j++) y[j] = a[j] + b[j];
        if (c->n_out > OX_LN_SUM_OUTPUT && c->out[OX_LN_SUM_OUTPUT])
            memcpy((float *)c->out[OX_LN_SUM_OUTPUT]->data + off, y, (size_t)r->cols * sizeof *y);
        x = c->out[0];
    }
    double mean, var, buf[CHUNK];
    moments(x, off, r->cols, r->rms, &mean, &var);
    const double inv = 1.0 / sqrt(var + r->eps);
    const double *s = scale + (r->scale_n > r->cols ? off : 0);
    const double *b = bias ? bias + (r->bias_n > r->cols ? off : 0) : NULL;
    for (int64_t i = 0; i < r->cols; i += CHUNK) {
        const int64_t m = chunk_len(i, r->cols);
        load(x, off + i, m, buf);
        // NOLINTNEXTLINE(clang-analyzer-core.NullDereference): s is in the scratch (non-empty rows)
        for (int64_t j = 0; j < m; j++) buf[j] = (buf[j] - mean) * inv * s[i + j];
        if (b)
            for (int64_t j = 0; j < m; j++) buf[j] += b[i + j];
        store(c->out[0], off + i, m, buf);
    }
    if (c->n_out > 1 && c->out[1]) ox_write_f64(c->out[1], row, mean);
    if (c->n_out > 2 && c->out[2]) ox_write_f64(c->out[2], row, inv);
}

static onyx_status row_norm_run(ox_ctx *c, bool rms)
{
    row_norm r;
    onyx_status st = row_norm_setup(c, rms, &r);
    if (st || (st = ox_check_scratch(c, row_norm_scratch(&r)))) return st;
    if (r.rows * r.cols == 0) return ONYX_OK;
    double *scale = c->scratch, *bias = r.bias_n ? scale + r.scale_n : NULL;
    expand_param(c->in[1], c->in[0], r.scale_n, scale);
    if (bias) expand_param(c->in[2], c->in[0], r.bias_n, bias);
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < r.rows; i++) row_norm_row(c, &r, scale, bias, i);
    return ONYX_OK;
}

static onyx_status layernorm_infer(ox_ctx *c) { return row_norm_infer(c, false); }

static onyx_status layernorm_run(ox_ctx *c) { return row_norm_run(c, false); }
static onyx_status rmsnorm_infer(ox_ctx *c) { return row_norm_infer(c, true); }
static onyx_status rmsnorm_run(ox_ctx *c) { return row_norm_run(c, true); }

/* The fused form: X, Scale, B, skip (float, X's shape); outputs Y and the sum X + skip. */
static onyx_status layernorm_skip_infer(ox_ctx *c)
{
    onyx_status st = row_norm_infer(c, false);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *skip = skip_of(c);
    bool same = skip && x->dtype == ONYX_DTYPE_FLOAT && skip->dtype == ONYX_DTYPE_FLOAT && skip->rank == x->rank;
    for (int d = 0; same && d < x->rank; d++) same = skip->dims[d] == x->dims[d];
    char a[96], b[96];
    /* reachable when a caller binds one symbolic dim name to two sizes (the pass proved the
     * shapes equal from the names) */
    if (!same)
        return ox_fail(c, ONYX_E_SHAPE, "fused skip input %s does not have the float input's shape %s "
                       "(the model's symbolic dims are bound inconsistently)",
                       skip ? ox_shape_str(a, sizeof a, skip->rank, skip->dims) : "(none)",
                       ox_shape_str(b, sizeof b, x->rank, x->dims));
    for (int i = 1; i < c->n_out; i++)
        if (c->out[i] && i != OX_LN_SUM_OUTPUT)
            return ox_fail(c, ONYX_E_INTERNAL, "fused LayerNormalization with statistics outputs");
    if (c->n_out > OX_LN_SUM_OUTPUT && c->out[OX_LN_SUM_OUTPUT])
        ox_set_shape(c->out[OX_LN_SUM_OUTPUT], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

/* Not in the registry table: only the fusion pass puts it on a node. */
const ox_op ox_op_layernorm_skip = {"LayerNormalization", "", 17, 28, layernorm_skip_infer, layernorm_run, 0};

/* ---- LRN ----------------------------------------------------------------------------------- */

/* Y = X / (bias + alpha / size * sum of squares over a window of channels) ^ beta; the
 * window of channel c is [c - floor((size-1)/2), c + ceil((size-1)/2)] within [0, C). */
typedef struct lrn_args {
    int64_t batch, channels, spatial, size;
    double alpha, beta, bias;
} lrn_args;

static onyx_status lrn_setup(ox_ctx *c, lrn_args *a)
{
    onyx_status st;
    if ((st = ox_need_io(c, 1)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = channel_view(c, &a->batch, &a->channels, &a->spatial)) ||
        (st = ox_attr_expect(c, "size", OX_ATTR_INT)) ||
        (st = ox_attr_expect(c, "alpha", OX_ATTR_FLOAT)) ||
        (st = ox_attr_expect(c, "beta", OX_ATTR_FLOAT)) ||
        (st = ox_attr_expect(c, "bias", OX_ATTR_FLOAT)))
        return st;
    if (!ox_attr_has(c, "size")) return ox_fail(c, ONYX_E_ARG, "attribute 'size' is required");
    a->size = ox_attr_int(c, "size", 1);
    if (a->size < 1 || a->size > INT32_MAX)
        return ox_fail(c, ONYX_E_ARG, "size %lld out of range", (long long)a->size);
    a->alpha = ox_attr_float(c, "alpha", 1e-4f);
    a->beta = ox_attr_float(c, "beta", 0.75f);
    a->bias = ox_attr_float(c, "bias", 1.0f);
    return ONYX_OK;
}

static onyx_status lrn_infer(ox_ctx *c)
{
    lrn_args a;
    onyx_status st = lrn_setup(c, &a);
    if (!st) same_shape_output(c, c->in[0]->dtype);
    return st;
}

/* Every channel at one (image, spatial position). */
static void lrn_column(ox_ctx *c, const lrn_args *a, int64_t n, int64_t s)
{
    const onyx_tensor *x = c->in[0];
    const int64_t before = (a->size - 1) / 2, after = a->size / 2; /* ceil((size-1)/2) */
    const int64_t base = n * a->channels * a->spatial + s;
    for (int64_t ch = 0; ch < a->channels; ch++) {
        const int64_t lo = ch > before ? ch - before : 0;
        const int64_t hi = ch < a->channels - 1 - after ? ch + after : a->channels - 1;
        double sq = 0.0;
        for (int64_t i = lo; i <= hi; i++) {
            double v = ox_read_f64(x, base + i * a->spatial);
            sq += v * v;
        }
        const int64_t e = base + ch * a->spatial;
        const double scale = pow(a->bias + a->alpha / (double)a->size * sq, a->beta);
        ox_write_f64(c->out[0], e, ox_read_f64(x, e) / scale);
    }
}

static onyx_status lrn_run(ox_ctx *c)
{
    lrn_args a;
    onyx_status st = lrn_setup(c, &a);
    if (st) return st;
    const int64_t total = a.batch * a.spatial;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < total; i++) lrn_column(c, &a, i / a.spatial, i % a.spatial);
    return ONYX_OK;
}

/* ---- LpNormalization ------------------------------------------------------------------------ */

/* Each line along axis divided by its L1 or L2 norm; a zero norm gives zeros. */
static onyx_status lpnorm_setup(ox_ctx *c, int *axis, int *p)
{
    onyx_status st;
    if ((st = ox_need_io(c, 1)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = ox_attr_expect(c, "axis", OX_ATTR_INT)) || (st = ox_attr_expect(c, "p", OX_ATTR_INT)))
        return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank < 1) return ox_fail(c, ONYX_E_SHAPE, "input must have rank >= 1");
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", -1), x->rank, "axis", axis))) return st;
    int64_t pv = ox_attr_int(c, "p", 2);
    if (pv != 1 && pv != 2) return ox_fail(c, ONYX_E_ARG, "p must be 1 or 2, got %lld", (long long)pv);
    *p = (int)pv;
    return ONYX_OK;
}

static onyx_status lpnorm_infer(ox_ctx *c)
{
    int axis, p;
    onyx_status st = lpnorm_setup(c, &axis, &p);
    if (!st) same_shape_output(c, c->in[0]->dtype);
    return st;
}

static onyx_status lpnorm_run(ox_ctx *c)
{
    int axis, p;
    onyx_status st = lpnorm_setup(c, &axis, &p);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t outer = 1, inner = 1;
    const int64_t n = x->dims[axis];
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->dims[d];
    const int64_t lines = outer * inner;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t l = 0; l < lines; l++) {
        const int64_t base = l / inner * n * inner + l % inner;
        double norm = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double v = ox_read_f64(x, base + i * inner);
            norm += p == 1 ? fabs(v) : v * v;
        }
        if (p == 2) norm = sqrt(norm);
        for (int64_t i = 0; i < n; i++) {
            const int64_t e = base + i * inner;
            ox_write_f64(c->out[0], e, norm == 0.0 ? 0.0 : ox_read_f64(x, e) / norm);
        }
    }
    return ONYX_OK;
}

/* ---- MeanVarianceNormalization --------------------------------------------------------------- */

/* Y = (X - mean) / (sqrt(variance) + 1e-9), the statistics over `axes` (default 0, 2, 3):
 * one group per combination of the other dims' coordinates. */
#define MVN_EPSILON 1e-9

typedef struct mvn_split {
    int nk, nr;                       /* kept and reduced dims */
    int64_t kdims[ONYX_MAX_RANK], kstr[ONYX_MAX_RANK];
    int64_t rdims[ONYX_MAX_RANK], rstr[ONYX_MAX_RANK];
    int64_t groups, count;            /* groups, elements per group */
} mvn_split;

static onyx_status mvn_setup(ox_ctx *c, mvn_split *s)
{
    onyx_status st;
    if ((st = ox_need_io(c, 1)) || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = ox_attr_expect(c, "axes", OX_ATTR_INTS)))
        return st;
    const onyx_tensor *x = c->in[0];
    static const int64_t def_axes[] = {0, 2, 3};
    const int64_t *axes = def_axes;
    size_t na = 3;
    if (ox_attr_has(c, "axes")) na = ox_attr_ints(c, "axes", &axes);
    bool reduced[ONYX_MAX_RANK] = {false};
    for (size_t i = 0; i < na; i++) {
        int a;
        if ((st = ox_norm_axis(c, axes[i], x->rank, "axis", &a))) return st;
        if (reduced[a]) return ox_fail(c, ONYX_E_ARG, "axis %d is repeated", a);
        reduced[a] = true;
    }
    int64_t strides[ONYX_MAX_RANK];
    ox_dense_strides(x->rank, x->dims, strides);
    s->nk = s->nr = 0;
    s->groups = s->count = 1;
    for (int d = 0; d < x->rank; d++) {
        if (reduced[d]) {
            s->rdims[s->nr] = x->dims[d];
            s->rstr[s->nr++] = strides[d];
            s->count *= x->dims[d];
        } else {
            s->kdims[s->nk] = x->dims[d];
            s->kstr[s->nk++] = strides[d];
            s->groups *= x->dims[d];
        }
    }
    return ONYX_OK;
}

static onyx_status mvn_infer(ox_ctx *c)
{
    mvn_split s;
    onyx_status st = mvn_setup(c, &s);
    if (!st) same_shape_output(c, c->in[0]->dtype);
    return st;
}

/* Offset in X of element j (row-major over the reduced dims) of the group at base. */
static int64_t mvn_offset(const mvn_split *s, int64_t base, int64_t j)
{
    for (int d = s->nr - 1; d >= 0; d--) {
        base += j % s->rdims[d] * s->rstr[d];
        j /= s->rdims[d];
    }
    return base;
}

static void mvn_group(ox_ctx *c, const mvn_split *s, int64_t g)
{
    const onyx_tensor *x = c->in[0];
    int64_t base = 0;
    for (int d = s->nk - 1; d >= 0; d--) {
        base += g % s->kdims[d] * s->kstr[d];
        g /= s->kdims[d];
    }
    double sum = 0.0, sq = 0.0;
    for (int64_t j = 0; j < s->count; j++) sum += ox_read_f64(x, mvn_offset(s, base, j));
    const double mean = sum / (double)s->count;
    for (int64_t j = 0; j < s->count; j++) {
        double d = ox_read_f64(x, mvn_offset(s, base, j)) - mean;
        sq += d * d;
    }
    const double denom = sqrt(sq / (double)s->count) + MVN_EPSILON;
    for (int64_t j = 0; j < s->count; j++) {
        const int64_t e = mvn_offset(s, base, j);
        ox_write_f64(c->out[0], e, (ox_read_f64(x, e) - mean) / denom);
    }
}

static onyx_status mvn_run(ox_ctx *c)
{
    mvn_split s;
    onyx_status st = mvn_setup(c, &s);
    if (st) return st;
    if (s.count == 0) return ONYX_OK; /* an empty tensor */
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t g = 0; g < s.groups; g++) mvn_group(c, &s, g);
    return ONYX_OK;
}

/* ---- registry --------------------------------------------------------------------------------- */

const ox_op ox_ops_norm[] = {
    {"InstanceNormalization", "", 1, 28, instnorm_infer, instnorm_run, 0},
    {"LayerNormalization", "", 17, 28, layernorm_infer, layernorm_run, 0},
    {"GroupNormalization", "", 18, 28, groupnorm_infer, groupnorm_run, 0},
    {"RMSNormalization", "", 23, 28, rmsnorm_infer, rmsnorm_run, 0},
    {"LRN", "", 1, 28, lrn_infer, lrn_run, 0},
    {"LpNormalization", "", 1, 28, lpnorm_infer, lpnorm_run, 0},
    {"MeanVarianceNormalization", "", 9, 28, mvn_infer, mvn_run, 0},
};
const size_t ox_ops_norm_count = sizeof ox_ops_norm / sizeof ox_ops_norm[0];
