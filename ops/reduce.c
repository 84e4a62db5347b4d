/* reduce.c — ops that reduce or scan along axes: the Reduce* family, ArgMax/ArgMin, CumSum,
 * CumProd, LogSoftmax, Hardmax, TopK and Det. The loops are in kernels/reduce.c; here are the
 * attributes, shapes and the version differences.
 *
 * Floating types compute in double and integers in wrap-around uint64 (see reduce.h), so
 * every dtype the schemas list is served by one kernel each. */
#include <string.h>

#include "op.h"
#include "reduce.h"

/* Requests count elements of `size` bytes as scratch; ONYX_E_LIMIT if that overflows. */
static onyx_status want_scratch(ox_ctx *c, int64_t count, size_t size)
{
    if (count < 0 || (uint64_t)count > SIZE_MAX / size)
        return ox_fail(c, ONYX_E_LIMIT, "scratch size overflows");
    c->scratch_bytes = (size_t)count * size;
    return ONYX_OK;
}

/* Input 0 as [outer, n, inner] around dim `axis`. */
static void split_at(const onyx_tensor *x, int axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= x->dims[k];
    for (int k = axis + 1; k < x->rank; k++) *inner *= x->dims[k];
    *n = x->dims[axis];
}

static onyx_status expect_floating(ox_ctx *c)
{
    if (ox_red_is_floating(c->in[0]->dtype)) return ONYX_OK;
    return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                   onyx_dtype_name(c->in[0]->dtype));
}

/* Floating or integer types (bool excluded). */
static onyx_status expect_numeric(ox_ctx *c)
{
    onyx_dtype t = c->in[0]->dtype;
    if (ox_red_is_floating(t) || (ox_red_is_integral(t) && t != ONYX_DTYPE_BOOL)) return ONYX_OK;
    return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(t));
}

/* ---- Reduce* ----------------------------------------------------------------------------- */

/* Which dims of input 0 a Reduce* node reduces. Axes are attribute "axes" before
 * axes_input_opset (13 for ReduceSum, 18 for the others) and optional input 1 since. No axes
 * (or empty ones) mean every axis, or none at all with noop_with_empty_axes (an attribute of
 * the input form): then each element is "reduced" alone, so ReduceSumSquare still squares. */
static onyx_status reduce_axes(ox_ctx *c, int axes_input_opset, bool *reduced)
{
    const int rank = c->in[0]->rank;
    int64_t axes[ONYX_MAX_RANK];
    int n = 0;
    bool noop = false;
    onyx_status st;
    if (c->opset < axes_input_opset) {
        const int64_t *a;
        size_t na = ox_attr_ints(c, "axes", &a);
        if ((st = ox_attr_expect(c, "axes", OX_ATTR_INTS))) return st;
        if (na > ONYX_MAX_RANK)
            return ox_fail(c, ONYX_E_ARG, "attribute 'axes' has %zu values for rank %d", na, rank);
        ox_copy_bytes(axes, a, na * sizeof *a);
        n = (int)na;
    } else {
        if ((st = ox_attr_expect(c, "noop_with_empty_axes", OX_ATTR_INT))) return st;
        noop = ox_attr_int(c, "noop_with_empty_axes", 0) != 0;
        if (ox_opt_in(c, 1) && (st = ox_input_ints(c, 1, "axes", axes, ONYX_MAX_RANK, &n)))
            return st;
    }
    for (int k = 0; k < rank; k++) reduced[k] = n == 0 && !noop;
    for (int i = 0; i < n; i++) {
        int a;
        if ((st = ox_norm_axis(c, axes[i], rank, "axis", &a))) return st;
        if (reduced[a]) return ox_fail(c, ONYX_E_ARG, "axis %d is repeated", a);
        reduced[a] = true;
    }
    return ONYX_OK;
}

static onyx_status reduce_infer(ox_ctx *c, ox_redop op, int axes_input_opset)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    if (!ox_reduce_supported(op, x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                       onyx_dtype_name(x->dtype));
    if ((st = ox_attr_expect(c, "keepdims", OX_ATTR_INT))) return st;
    bool reduced[ONYX_MAX_RANK];
    if ((st = reduce_axes(c, axes_input_opset, reduced))) return st;
    const bool keep = ox_attr_int(c, "keepdims", 1) != 0;
    int64_t dims[ONYX_MAX_RANK];
    int rank = 0;
    for (int k = 0; k < x->rank; k++) {
        if (!reduced[k]) dims[rank++] = x->dims[k];
        else if (keep) dims[rank++] = 1;
    }
    ox_set_shape(c->out[0], x->dtype, rank, dims);
    return ONYX_OK;
}

static onyx_status reduce_run(ox_ctx *c, ox_redop op, int axes_input_opset)
{
    const onyx_tensor *x = c->in[0];
    bool reduced[ONYX_MAX_RANK];
    onyx_status st = reduce_axes(c, axes_input_opset, reduced);
    if (st) return st;
    ox_reduce(op, x->dtype, x->rank, x->dims, reduced, x->data, c->out[0]->data, c->threads);
    return ONYX_OK;
}

#define REDUCE_OP(fn, op, axes_input_opset)                                                  \
    static onyx_status fn##_infer(ox_ctx *c) { return reduce_infer(c, op, axes_input_opset); } \
    static onyx_status fn##_run(ox_ctx *c) { return reduce_run(c, op, axes_input_opset); }

REDUCE_OP(reduce_sum, OX_RED_SUM, 13)
REDUCE_OP(reduce_mean, OX_RED_MEAN, 18)
REDUCE_OP(reduce_prod, OX_RED_PROD, 18)
REDUCE_OP(reduce_max, OX_RED_MAX, 18)
REDUCE_OP(reduce_min, OX_RED_MIN, 18)
REDUCE_OP(reduce_l1, OX_RED_L1, 18)
REDUCE_OP(reduce_l2, OX_RED_L2, 18)
REDUCE_OP(reduce_sum_square, OX_RED_SUM_SQUARE, 18)
REDUCE_OP(reduce_log_sum, OX_RED_LOG_SUM, 18)
REDUCE_OP(reduce_log_sum_exp, OX_RED_LOG_SUM_EXP, 18)

/* ---- ArgMax, ArgMin ---------------------------------------------------------------------- */

static onyx_status arg_axis(ox_ctx *c, int *axis)
{
    onyx_status st;
    static const char *const ints[] = {"axis", "keepdims", "select_last_index"};
    for (int i = 0; i < 3; i++)
        if ((st = ox_attr_expect(c, ints[i], OX_ATTR_INT))) return st;
    return ox_norm_axis(c, ox_attr_int(c, "axis", 0), c->in[0]->rank, "axis", axis);
}

static onyx_status arg_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int axis;
    if ((st = expect_numeric(c)) || (st = arg_axis(c, &axis))) return st;
    const bool keep = ox_attr_int(c, "keepdims", 1) != 0;
    int64_t dims[ONYX_MAX_RANK], outer, n, inner;
    int rank = 0;
    split_at(x, axis, &outer, &n, &inner);
    if (n == 0 && outer * inner > 0)
        return ox_fail(c, ONYX_E_SHAPE, "axis %d has size 0: there is no %s to take", axis,
                       c->node->op_type);
    for (int k = 0; k < x->rank; k++) {
        if (k != axis) dims[rank++] = x->dims[k];
        else if (keep) dims[rank++] = 1;
    }
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, rank, dims);
    return ONYX_OK;
}

static onyx_status arg_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int axis;
    onyx_status st = arg_axis(c, &axis);
    if (st) return st;
    int64_t outer, n, inner;
    split_at(x, axis, &outer, &n, &inner);
    if (outer * n * inner == 0) return ONYX_OK;
    const bool is_max = !strcmp(c->node->op_type, "ArgMax");
    /* select_last_index exists from opset 12; earlier models never set it. */
    const bool last = ox_attr_int(c, "select_last_index", 0) != 0;
    ox_arg_reduce(x->dtype, is_max, last, outer, n, inner, x->data, c->out[0]->data, c->threads);
    return ONYX_OK;
}

/* ---- CumSum, CumProd ---------------------------------------------------------------------- */

/* The axis input: an integer scalar (or one-element 1-D tensor) in [-rank, rank). */
static onyx_status cumsum_axis(ox_ctx *c, int *axis)
{
    const onyx_tensor *a = c->in[1];
    if ((a->dtype != ONYX_DTYPE_INT32 && a->dtype != ONYX_DTYPE_INT64) || a->rank > 1 ||
        ox_tensor_numel(a) != 1)
        return ox_fail(c, ONYX_E_ARG, "axis must be an int32 or int64 scalar");
    if (!a->data) return ONYX_OK; /* known only at run time */
    return ox_norm_axis(c, ox_read_int(a, 0), c->in[0]->rank, "axis", axis);
}

static onyx_status cumsum_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int axis;
    if ((st = expect_numeric(c)) || (st = cumsum_axis(c, &axis))) return st;
    if ((st = ox_attr_expect(c, "exclusive", OX_ATTR_INT)) ||
        (st = ox_attr_expect(c, "reverse", OX_ATTR_INT)))
        return st;
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status cumsum_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int axis;
    onyx_status st = cumsum_axis(c, &axis);
    if (st) return st;
    int64_t outer, n, inner;
    // NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): at run time axis is known and set
    split_at(x, axis, &outer, &n, &inner);
    if (outer * n * inner == 0) return ONYX_OK;
    const bool exclusive = ox_attr_int(c, "exclusive", 0) != 0;
    const bool reverse = ox_attr_int(c, "reverse", 0) != 0;
    if (!strcmp(c->node->op_type, "CumProd"))
        ox_cumprod(x->dtype, exclusive, reverse, outer, n, inner, x->data, c->out[0]->data,
                   c->threads);
    else
        ox_cumsum(x->dtype, exclusive, reverse, outer, n, inner, x->data, c->out[0]->data,
                  c->threads);
    return ONYX_OK;
}

/* ---- LogSoftmax, Hardmax ----------------------------------------------------------------- */

static onyx_status softmax_like_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t outer, n, inner;
    if ((st = expect_floating(c)) || (st = ox_attr_expect(c, "axis", OX_ATTR_INT)) ||
        (st = ox_softmax_view(c, &outer, &n, &inner)))
        return st;
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status log_softmax_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int64_t outer, n, inner;
    onyx_status st = ox_softmax_view(c, &outer, &n, &inner);
    if (st) return st;
    if (outer * n * inner == 0) return ONYX_OK;
    ox_log_softmax(x->dtype, outer, n, inner, x->data, c->out[0]->data, c->threads);
    return ONYX_OK;
}

static onyx_status hardmax_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int64_t outer, n, inner;
    onyx_status st = ox_softmax_view(c, &outer, &n, &inner);
    if (st) return st;
    if (outer * n * inner == 0) return ONYX_OK;
    ox_hardmax(x->dtype, outer, n, inner, x->data, c->out[0]->data, c->threads);
    return ONYX_OK;
}

/* ---- TopK -------------------------------------------------------------------------------- */

/* Axis and k: k is attribute "k" before opset 10 and input 1 (one int64) since; `largest`
 * and `sorted` came in opset 11 (results are always sorted, which sorted=0 allows). */
typedef struct topk_args {
    int axis;
    int64_t outer, n, inner, k;
} topk_args;

static onyx_status topk_args_of(ox_ctx *c, topk_args *a)
{
    const onyx_tensor *x = c->in[0];
    onyx_status st;
    static const char *const ints[] = {"axis", "k", "largest", "sorted"};
    for (int i = 0; i < 4; i++)
        if ((st = ox_attr_expect(c, ints[i], OX_ATTR_INT))) return st;
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", -1), x->rank, "axis", &a->axis))) return st;
    split_at(x, a->axis, &a->outer, &a->n, &a->inner);
    if (c->opset < 10) {
        if (!ox_attr_has(c, "k")) return ox_fail(c, ONYX_E_ARG, "attribute 'k' is missing");
        a->k = ox_attr_int(c, "k", 0);
    } else {
        int64_t kv[1];
        int nk;
        if ((st = ox_input_ints(c, 1, "K", kv, 1, &nk))) return st;
        if (nk != 1) return ox_fail(c, ONYX_E_ARG, "K must hold one value, got %d", nk);
        a->k = kv[0];
    }
    if (a->k < 0 || a->k > a->n)
        return ox_fail(c, ONYX_E_ARG, "k = %lld is out of range for axis %d of size %lld",
                       (long long)a->k, a->axis, (long long)a->n);
    return ONYX_OK;
}

/* Scratch: per thread the keys and heap of one slice, then room for an omitted output. */
static int64_t topk_scratch_elems(const ox_ctx *c, const topk_args *a)
{
    int64_t per = ox_topk_scratch(a->n, a->k), out = a->outer * a->k * a->inner;
    if (per > (INT64_MAX - 2 * out) / c->threads) return -1;
    int64_t total = per * c->threads;
    if (c->n_out < 1 || !c->out[0]) total += out; /* values, at most 8 bytes each */
    if (c->n_out < 2 || !c->out[1]) total += out;
    return total;
}

static onyx_status topk_infer(ox_ctx *c)
{
    if (c->n_in < 1 || !c->in[0] || (c->opset >= 10 && (c->n_in < 2 || !c->in[1])))
        return ox_fail(c, ONYX_E_ARG, "expects input X%s", c->opset >= 10 ? " and K" : "");
    const onyx_tensor *x = c->in[0];
    topk_args a;
    onyx_status st;
    if ((st = expect_numeric(c)) || (st = topk_args_of(c, &a))) return st;
    int64_t dims[ONYX_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[a.axis] = a.k;
    if (c->n_out >= 1 && c->out[0]) ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    if (c->n_out >= 2 && c->out[1]) ox_set_shape(c->out[1], ONYX_DTYPE_INT64, x->rank, dims);
    return want_scratch(c, topk_scratch_elems(c, &a), sizeof(uint64_t));
}

static onyx_status topk_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    topk_args a;
    onyx_status st = topk_args_of(c, &a);
    if (st) return st;
    const int64_t out = a.outer * a.k * a.inner;
    if (out == 0) return ONYX_OK; /* (scratch may be empty) */
    uint64_t *scratch = c->scratch, *spare = scratch + ox_topk_scratch(a.n, a.k) * c->threads;
    void *values = spare;
    int64_t *indices;
    if (c->n_out >= 1 && c->out[0]) values = c->out[0]->data;
    else spare += out;
    if (c->n_out >= 2 && c->out[1]) indices = c->out[1]->data;
    else indices = (int64_t *)spare;
    const bool largest = c->opset < 11 || ox_attr_int(c, "largest", 1) != 0;
    ox_topk(x->dtype, largest, a.outer, a.n, a.inner, a.k, x->data, values, indices, scratch,
            c->threads);
    return ONYX_OK;
}

/* ---- Det --------------------------------------------------------------------------------- */

static onyx_status det_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = expect_floating(c))) return st;
    char s[96];
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return ox_fail(c, ONYX_E_SHAPE, "input %s is not a (batch of) square matrices",
                       ox_shape_str(s, sizeof s, x->rank, x->dims));
    const int64_t m = x->dims[x->rank - 1];
    if (m > 0 && (m > INT64_MAX / m || m * m > INT64_MAX / c->threads))
        return ox_fail(c, ONYX_E_LIMIT, "matrices of size %lld are too large", (long long)m);
    ox_set_shape(c->out[0], x->dtype, x->rank - 2, x->dims);
    return want_scratch(c, m * m * c->threads, sizeof(double));
}

static onyx_status det_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    const int64_t m = x->dims[x->rank - 1], batch = ox_tensor_numel(c->out[0]);
    if (batch == 0) return ONYX_OK;
    if (m == 0) { /* the determinant of an empty matrix is 1 */
        const size_t es = onyx_dtype_size(x->dtype);
        const double one = 1;
        for (int64_t b = 0; b < batch; b++)
            ox_narrow_f64(x->dtype, &one, 1, (char *)c->out[0]->data + (size_t)b * es);
        return ONYX_OK;
    }
    ox_det(x->dtype, batch, m, x->data, c->out[0]->data, c->scratch, c->threads);
    return ONYX_OK;
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_reduce[] = {
    {"ReduceSum", "", 1, 28, reduce_sum_infer, reduce_sum_run, 0},
    {"ReduceMean", "", 1, 28, reduce_mean_infer, reduce_mean_run, 0},
    {"ReduceProd", "", 1, 28, reduce_prod_infer, reduce_prod_run, 0},
    {"ReduceMax", "", 1, 28, reduce_max_infer, reduce_max_run, 0},
    {"ReduceMin", "", 1, 28, reduce_min_infer, reduce_min_run, 0},
    {"ReduceL1", "", 1, 28, reduce_l1_infer, reduce_l1_run, 0},
    {"ReduceL2", "", 1, 28, reduce_l2_infer, reduce_l2_run, 0},
    {"ReduceSumSquare", "", 1, 28, reduce_sum_square_infer, reduce_sum_square_run, 0},
    {"ReduceLogSum", "", 1, 28, reduce_log_sum_infer, reduce_log_sum_run, 0},
    {"ReduceLogSumExp", "", 1, 28, reduce_log_sum_exp_infer, reduce_log_sum_exp_run, 0},
    {"ArgMax", "", 1, 28, arg_infer, arg_run, 0},
    {"ArgMin", "", 1, 28, arg_infer, arg_run, 0},
    {"CumSum", "", 11, 28, cumsum_infer, cumsum_run, 0},
    {"CumProd", "", 26, 28, cumsum_infer, cumsum_run, 0},
    {"LogSoftmax", "", 1, 28, softmax_like_infer, log_softmax_run, 0},
    {"Hardmax", "", 1, 28, softmax_like_infer, hardmax_run, 0},
    {"TopK", "", 1, 28, topk_infer, topk_run, 0},
    {"Det", "", 11, 28, det_infer, det_run, 0},
};
const size_t ox_ops_reduce_count = sizeof ox_ops_reduce / sizeof ox_ops_reduce[0];
