/* random.c — ops that draw random values: RandomNormal, RandomUniform, their *Like forms
 * (shape from an input), Bernoulli and Multinomial.
 *
 * Every value comes from the counter-based generator of rng.h, keyed by the node's `seed`
 * attribute or, without one, by the node itself: a model gives the same values on every run,
 * in every session and whatever the thread count (unseeded nodes included — there is no
 * global or per-run state to vary them). ONNX specifies distributions, not generators, so
 * the values differ from other runtimes' (the ONNX reference uses numpy's); `onyx check`
 * compares such models on dtypes and shapes only.
 *
 * The ops are flagged OX_OP_NO_FOLD: their outputs are produced at run time even when the
 * planner knows every input, so random tensors never land in the plan's constant memory. */
#include <math.h>
#include <string.h>

#include "op.h"
#include "rng.h"

#define PAR_MIN 4096 /* elements below which a loop is not worth threads */

/* ---- shared: key, dtypes, stores --------------------------------------------------------- */

/* The generator key: from the float attribute `seed` (by its bits, so every seed value is a
 * distinct stream), else from the node. */
static onyx_status rng_key(ox_ctx *c, uint64_t *key)
{
    onyx_status st = ox_attr_expect(c, "seed", OX_ATTR_FLOAT);
    if (st) return st;
    if (!ox_attr_has(c, "seed")) {
        *key = ox_rng_key_unseeded(c->node);
        return ONYX_OK;
    }
    double seed = ox_attr_float(c, "seed", 0.0f);
    uint64_t bits;
    memcpy(&bits, &seed, sizeof bits);
    *key = ox_rng_key_seeded(bits);
    return ONYX_OK;
}

/* The output dtype from attribute `dtype`, or def when it is absent. */
static onyx_status dtype_attr(ox_ctx *c, onyx_dtype def, onyx_dtype *t)
{
    onyx_status st = ox_attr_expect(c, "dtype", OX_ATTR_INT);
    if (st) return st;
    if (!ox_attr_has(c, "dtype")) {
        *t = def;
        return ONYX_OK;
    }
    int64_t v = ox_attr_int(c, "dtype", 0);
    if (v <= 0 || v >= ONYX_DTYPE_COUNT_)
        return ox_fail(c, ONYX_E_ARG, "attribute 'dtype' = %lld is not a dtype", (long long)v);
    *t = (onyx_dtype)v;
    return ONYX_OK;
}

/* Floating dtypes the random ops produce and take: bfloat16 joined at opset 22. */
static bool real_dtype_ok(const ox_ctx *c, onyx_dtype t)
{
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           (t == ONYX_DTYPE_BFLOAT16 && c->opset >= 22);
}

static onyx_status expect_real(ox_ctx *c, onyx_dtype t, const char *what)
{
    if (real_dtype_ok(c, t)) return ONYX_OK;
    return ox_fail(c, ONYX_E_UNSUPPORTED, "%s dtype %s is not float16, float or double%s", what,
                   onyx_dtype_name(t), c->opset >= 22 ? " or bfloat16" : "");
}

/* Element i of y (a real_dtype_ok tensor) = v, rounded once to nearest even for float; the
 * half types are rounded from float. */
static void store_real(void *y, onyx_dtype t, int64_t i, double v)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: ((float *)y)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)y)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)y)[i] = ox_f32_to_f16((float)v); break;
    default: ((uint16_t *)y)[i] = ox_f32_to_bf16((float)v); break;
    }
}

/* Element i of y = 1 or 0 in y's dtype (any of Bernoulli's output dtypes). */
static void store_bit(void *y, onyx_dtype t, int64_t i, bool one)
{
    switch (t) {
    case ONYX_DTYPE_BOOL: case ONYX_DTYPE_UINT8: case ONYX_DTYPE_INT8: ((uint8_t *)y)[i] = one; break;
    case ONYX_DTYPE_UINT16: case ONYX_DTYPE_INT16: ((uint16_t *)y)[i] = one; break;
    case ONYX_DTYPE_UINT32: case ONYX_DTYPE_INT32: ((uint32_t *)y)[i] = one; break;
    case ONYX_DTYPE_UINT64: case ONYX_DTYPE_INT64: ((uint64_t *)y)[i] = one; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)y)[i] = one ? 0x3C00 : 0; break; /* binary16 1.0 */
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)y)[i] = one ? 0x3F80 : 0; break;
    case ONYX_DTYPE_FLOAT: ((float *)y)[i] = one; break;
    default: ((double *)y)[i] = one; break;
    }
}

/* Checks that every listed attribute is absent or a float. */
static onyx_status expect_float_attrs(ox_ctx *c, const char *a, const char *b)
{
    onyx_status st = ox_attr_expect(c, a, OX_ATTR_FLOAT);
    return st ? st : ox_attr_expect(c, b, OX_ATTR_FLOAT);
}

/* ---- the four distributions over a shape -------------------------------------------------- */

/* Which distribution a Random* op draws from; its two parameters come from the node. */
typedef enum { DIST_NORMAL, DIST_UNIFORM } dist;

static onyx_status dist_attrs_check(ox_ctx *c, dist d)
{
    uint64_t key;
    onyx_status st = d == DIST_NORMAL ? expect_float_attrs(c, "mean", "scale") : expect_float_attrs(c, "low", "high");
    return st ? st : rng_key(c, &key);
}

/* RandomNormal/RandomUniform: the shape from attribute `shape`, dtype default float. */
static onyx_status shaped_infer(ox_ctx *c, dist d)
{
    onyx_status st = ox_need_io(c, 0);
    const int64_t *dims;
    onyx_dtype t;
    if (st || (st = dist_attrs_check(c, d)) || (st = ox_attr_expect(c, "shape", OX_ATTR_INTS))) return st;
    if (!ox_attr_has(c, "shape")) return ox_fail(c, ONYX_E_ARG, "attribute 'shape' is missing");
    size_t rank = ox_attr_ints(c, "shape", &dims);
    if ((st = ox_check_rank(c, (int64_t)rank))) return st;
    int64_t n;
    for (size_t k = 0; k < rank; k++)
        if (dims[k] < 0) return ox_fail(c, ONYX_E_ARG, "shape[%zu] = %lld is negative", k, (long long)dims[k]);
    if (!ox_shape_numel((int)rank, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "shape is too large");
    if ((st = dtype_attr(c, ONYX_DTYPE_FLOAT, &t)) || (st = expect_real(c, t, "output"))) return st;
    ox_set_shape(c->out[0], t, (int)rank, dims);
    return ONYX_OK;
}

/* RandomNormalLike/RandomUniformLike: input 0's shape (any dtype); its dtype unless `dtype`
 * is given. */
static onyx_status like_infer(ox_ctx *c, dist d)
{
    onyx_status st = ox_need_io(c, 1);
    onyx_dtype t;
    if (st || (st = dist_attrs_check(c, d))) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = dtype_attr(c, x->dtype, &t)) || (st = expect_real(c, t, "output"))) return st;
    ox_set_shape(c->out[0], t, x->rank, x->dims);
    return ONYX_OK;
}

/* Fills output 0. Normal values by Box-Muller from draws 2i and 2i+1 (cosine branch only, so
 * element i needs no other element's draws); uniform ones as low + (high - low) * u. */
static onyx_status dist_run(ox_ctx *c, dist d)
{
    uint64_t key;
    onyx_status st = rng_key(c, &key);
    if (st) return st;
    onyx_tensor *y = c->out[0];
    const int64_t n = ox_tensor_numel(y);
    const onyx_dtype t = y->dtype;
    void *yd = y->data;
    const double a = d == DIST_NORMAL ? ox_attr_float(c, "mean", 0.0f) : ox_attr_float(c, "low", 0.0f);
    const double b = d == DIST_NORMAL ? ox_attr_float(c, "scale", 1.0f) : ox_attr_float(c, "high", 1.0f);
    const double two_pi = 6.283185307179586476925286766559;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (n >= PAR_MIN && c->threads > 1)
#endif
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (d == DIST_NORMAL) {
            double u1 = 1.0 - ox_rng_unit(key, 2 * (uint64_t)i); /* (0, 1]: log is finite */
            double u2 = ox_rng_unit(key, 2 * (uint64_t)i + 1);
            v = a + b * (sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
        } else {
            v = a + (b - a) * ox_rng_unit(key, (uint64_t)i);
        }
        store_real(yd, t, i, v);
    }
    return ONYX_OK;
}

static onyx_status normal_infer(ox_ctx *c) { return shaped_infer(c, DIST_NORMAL); }
static onyx_status uniform_infer(ox_ctx *c) { return shaped_infer(c, DIST_UNIFORM); }
static onyx_status normal_like_infer(ox_ctx *c) { return like_infer(c, DIST_NORMAL); }
static onyx_status uniform_like_infer(ox_ctx *c) { return like_infer(c, DIST_UNIFORM); }
static onyx_status normal_run(ox_ctx *c) { return dist_run(c, DIST_NORMAL); }
static onyx_status uniform_run(ox_ctx *c) { return dist_run(c, DIST_UNIFORM); }

/* ---- Bernoulli ----------------------------------------------------------------------------- */

/* Bernoulli's output dtypes: every real type of 8 bits or more, and bool. */
static bool bernoulli_out_ok(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_BOOL: case ONYX_DTYPE_UINT8: case ONYX_DTYPE_INT8: case ONYX_DTYPE_UINT16:
    case ONYX_DTYPE_INT16: case ONYX_DTYPE_UINT32: case ONYX_DTYPE_INT32: case ONYX_DTYPE_UINT64:
    case ONYX_DTYPE_INT64: case ONYX_DTYPE_FLOAT16: case ONYX_DTYPE_BFLOAT16: case ONYX_DTYPE_FLOAT:
    case ONYX_DTYPE_DOUBLE: return true;
    default: return false;
    }
}

static onyx_status bernoulli_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    uint64_t key;
    onyx_dtype t;
    if (st || (st = rng_key(c, &key))) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = expect_real(c, x->dtype, "input")) || (st = dtype_attr(c, x->dtype, &t))) return st;
    if (!bernoulli_out_ok(t))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "output dtype %s is not a real number or bool type",
                       onyx_dtype_name(t));
    ox_set_shape(c->out[0], t, x->rank, x->dims);
    return ONYX_OK;
}

/* Element i is 1 when draw i falls below the probability p_i, so with probability p_i. */
static onyx_status bernoulli_run(ox_ctx *c)
{
    uint64_t key;
    onyx_status st = rng_key(c, &key);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    const int64_t n = ox_tensor_numel(x);
    /* Checked first, in order, so a bad probability is reported the same way every time. */
    for (int64_t i = 0; i < n; i++) {
        double p = ox_read_f64(x, i);
        if (!(p >= 0.0 && p <= 1.0))
            return ox_fail(c, ONYX_E_ARG, "input element %lld = %g is not a probability in [0, 1]",
                           (long long)i, p);
    }
    void *yd = c->out[0]->data;
    const onyx_dtype t = c->out[0]->dtype;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (n >= PAR_MIN && c->threads > 1)
#endif
    for (int64_t i = 0; i < n; i++) store_bit(yd, t, i, ox_rng_unit(key, (uint64_t)i) < ox_read_f64(x, i));
    return ONYX_OK;
}

/* ---- Multinomial --------------------------------------------------------------------------- */

/* Input [batch, classes] of unnormalised log-probabilities; output [batch, sample_size] class
 * indices. Scratch holds each row's cumulative weights exp(x - max). */
static onyx_status multinomial_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    uint64_t key;
    onyx_dtype t;
    if (st || (st = rng_key(c, &key)) || (st = ox_attr_expect(c, "sample_size", OX_ATTR_INT))) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = expect_real(c, x->dtype, "input"))) return st;
    if (x->rank != 2) return ox_fail(c, ONYX_E_SHAPE, "input has rank %d, expected [batch, classes]", x->rank);
    if ((st = dtype_attr(c, ONYX_DTYPE_INT32, &t))) return st;
    if (t != ONYX_DTYPE_INT32 && t != ONYX_DTYPE_INT64)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "output dtype %s is not int32 or int64", onyx_dtype_name(t));
    int64_t samples = ox_attr_int(c, "sample_size", 1), dims[2] = {x->dims[0], samples}, n;
    if (samples < 0) return ox_fail(c, ONYX_E_ARG, "sample_size %lld is negative", (long long)samples);
    if (!ox_shape_numel(2, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output is too large");
    if (x->dims[1] == 0 && n > 0) return ox_fail(c, ONYX_E_SHAPE, "cannot sample from zero classes");
    if (t == ONYX_DTYPE_INT32 && x->dims[1] > INT32_MAX)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "%lld classes do not fit int32 output", (long long)x->dims[1]);
    int64_t cells = ox_tensor_numel(x);
    if ((uint64_t)cells > SIZE_MAX / sizeof(double)) return ox_fail(c, ONYX_E_SHAPE, "input is too large");
    c->scratch_bytes = (size_t)cells * sizeof(double);
    ox_set_shape(c->out[0], t, 2, dims);
    return ONYX_OK;
}

/* Row b's cumulative weights into cdf; its last entry is the row's total weight, NaN when a
 * logit is NaN or +inf or every logit is -inf (exp(x - max) is then NaN). */
static void multinomial_cdf(const onyx_tensor *x, int64_t b, double *cdf)
{
    const int64_t classes = x->dims[1];
    double max = -INFINITY, sum = 0.0;
    for (int64_t k = 0; k < classes; k++) {
        double v = ox_read_f64(x, b * classes + k);
        if (v > max || v != v) max = v;
    }
    for (int64_t k = 0; k < classes; k++) {
        sum += exp(ox_read_f64(x, b * classes + k) - max);
        cdf[k] = sum;
    }
}

/* The first class whose cumulative weight exceeds target (binary search). When rounding makes
 * target reach the total, the first class reaching the total: never a zero-weight class. */
static int64_t multinomial_pick(const double *cdf, int64_t classes, double target)
{
    double total = cdf[classes - 1];
    bool at_end = target >= total;
    int64_t lo = 0, hi = classes - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (at_end ? cdf[mid] >= total : cdf[mid] > target) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static onyx_status multinomial_run(ox_ctx *c)
{
    uint64_t key;
    onyx_status st = rng_key(c, &key);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    const int64_t batch = x->dims[0], classes = x->dims[1], samples = y->dims[1];
    if (batch == 0 || samples == 0) return ONYX_OK; /* infer refused zero classes otherwise */
    double *cdf = c->scratch;
    const bool par = c->threads > 1 && batch > 1 && batch * (classes + samples) >= PAR_MIN;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (par)
#endif
    for (int64_t b = 0; b < batch; b++) multinomial_cdf(x, b, cdf + b * classes);
    for (int64_t b = 0; b < batch; b++) {
        double total = cdf[b * classes + classes - 1];
        if (!(total > 0.0 && total < INFINITY))
            return ox_fail(c, ONYX_E_ARG, "row %lld holds no valid distribution (a NaN or +inf logit, or all -inf)",
                           (long long)b);
    }
    const bool wide = y->dtype == ONYX_DTYPE_INT64;
    void *yd = y->data;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (par)
#endif
    for (int64_t b = 0; b < batch; b++) {
        const double *row = cdf + b * classes;
        for (int64_t s = 0; s < samples; s++) {
            int64_t i = b * samples + s;
            int64_t k = multinomial_pick(row, classes, ox_rng_unit(key, (uint64_t)i) * row[classes - 1]);
            if (wide) ((int64_t *)yd)[i] = k;
            else ((int32_t *)yd)[i] = (int32_t)k; /* infer checked classes fit int32 */
        }
    }
    return ONYX_OK;
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_random[] = {
    {"RandomNormal", "", 1, 28, normal_infer, normal_run, OX_OP_NO_FOLD},
    {"RandomUniform", "", 1, 28, uniform_infer, uniform_run, OX_OP_NO_FOLD},
    {"RandomNormalLike", "", 1, 28, normal_like_infer, normal_run, OX_OP_NO_FOLD},
    {"RandomUniformLike", "", 1, 28, uniform_like_infer, uniform_run, OX_OP_NO_FOLD},
    {"Bernoulli", "", 15, 28, bernoulli_infer, bernoulli_run, OX_OP_NO_FOLD},
    {"Multinomial", "", 7, 28, multinomial_infer, multinomial_run, OX_OP_NO_FOLD},
};
const size_t ox_ops_random_count = sizeof ox_ops_random / sizeof ox_ops_random[0];
