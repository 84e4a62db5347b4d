/* shape.c — ops that change a tensor's shape or type without arithmetic: views (Identity,
 * Flatten, Reshape, Squeeze, Unsqueeze), Dropout (arithmetic only in training mode), Shape,
 * Constant, Concat, Transpose and Cast (its conversions are in convert.c). Selecting
 * elements by index (Gather, Slice) is in index.c.
 *
 * Data movement works on element size only (memcpy), so every dtype is served, strings
 * included: a string tensor holds `char *` pointers into memory owned elsewhere, and moving
 * the pointers is all these ops need. View ops are flagged OX_OP_VIEW: the planner may give
 * output 0 input 0's buffer, so their run copies only when the buffers differ. (Dropout is
 * not flagged, for its training mode: see there.) */
#include <ctype.h>
#include <string.h>

#include "convert.h"
#include "op.h"
#include "rng.h"
#include "strided.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Run of every view op: the output is input 0's bytes. */
static onyx_status view_run(ox_ctx *c)
{
    ox_copy_bytes(c->out[0]->data, c->in[0]->data, ox_tensor_bytes(c->in[0]));
    return ONYX_OK;
}

/* Sets output 0 to input 0's dtype with the given shape, after checking the element count
 * is unchanged (so a view moves exactly the bytes it has). */
static onyx_status set_view_shape(ox_ctx *c, int rank, const int64_t *dims)
{
    const onyx_tensor *x = c->in[0];
    onyx_status st = ox_check_rank(c, rank);
    if (st) return st;
    int64_t n;
    if (!ox_shape_numel(rank, dims, &n) || n != ox_tensor_numel(x)) {
        char a[96], b[96];
        return ox_fail(c, ONYX_E_SHAPE, "cannot view shape %s as %s",
                       ox_shape_str(a, sizeof a, x->rank, x->dims), ox_shape_str(b, sizeof b, rank, dims));
    }
    size_t es;
    if ((st = ox_elem_size(c, x->dtype, &es))) return st;
    ox_set_shape(c->out[0], x->dtype, rank, dims);
    return ONYX_OK;
}

/* Axes from attribute "axes" (opsets before 13) or from input 1 (13+). *given is false when
 * neither is present (Squeeze then removes every size-1 dim). */
static onyx_status read_axes(ox_ctx *c, int64_t *axes, int *n, bool *given)
{
    *n = 0;
    *given = false;
    if (c->opset < 13) {
        const int64_t *a;
        size_t na = ox_attr_ints(c, "axes", &a);
        if (!ox_attr_has(c, "axes")) return ONYX_OK;
        onyx_status st = ox_attr_expect(c, "axes", OX_ATTR_INTS);
        if (st) return st;
        if (na > ONYX_MAX_RANK)
            return ox_fail(c, ONYX_E_ARG, "attribute 'axes' has %zu values", na);
        ox_copy_bytes(axes, a, na * sizeof *a);
        *n = (int)na;
        *given = true;
        return ONYX_OK;
    }
    if (!ox_opt_in(c, 1)) return ONYX_OK;
    *given = true;
    return ox_input_ints(c, 1, "axes", axes, ONYX_MAX_RANK, n);
}

/* ---- Identity, Flatten, Reshape ---------------------------------------------------------- */

static onyx_status identity_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const ox_val *x = ox_val_of(c->in[0]);
    if (x->kind != OX_KIND_TENSOR) { /* a sequence or optional: passed on as it is, at plan time */
        if ((st = ox_need_value(c, 0))) return st;
        *ox_val_of(c->out[0]) = *x;
        return ONYX_OK;
    }
    return set_view_shape(c, c->in[0]->rank, c->in[0]->dims);
}

static onyx_status flatten_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t axis = ox_attr_int(c, "axis", 1);
    if (axis < 0 && c->opset >= 11) axis += x->rank; /* negative axes since opset 11 */
    if (axis < 0 || axis > x->rank)
        return ox_fail(c, ONYX_E_ARG, "axis %lld out of range for rank %d",
                       (long long)ox_attr_int(c, "axis", 1), x->rank);
    int64_t dims[2];
    /* Checked products: a zero dim on one side can hide an overflow on the other. */
    if (!ox_shape_numel((int)axis, x->dims, &dims[0]) ||
        !ox_shape_numel(x->rank - (int)axis, x->dims + axis, &dims[1]))
        return ox_fail(c, ONYX_E_SHAPE, "flattened dims overflow");
    return set_view_shape(c, 2, dims);
}

/* The target shape: attribute "shape" before opset 5, input 1 since. */
static onyx_status reshape_target(ox_ctx *c, int64_t *shape, int *n)
{
    if (c->opset >= 5) return ox_input_ints(c, 1, "shape", shape, ONYX_MAX_RANK, n);
    const int64_t *a;
    size_t na = ox_attr_ints(c, "shape", &a);
    if (!ox_attr_has(c, "shape")) return ox_fail(c, ONYX_E_ARG, "attribute 'shape' is missing");
    if (na > ONYX_MAX_RANK) return ox_check_rank(c, (int64_t)na);
    ox_copy_bytes(shape, a, na * sizeof *a);
    *n = (int)na;
    return ONYX_OK;
}

static onyx_status reshape_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, c->opset >= 5 ? 2 : 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t dims[ONYX_MAX_RANK];
    int n, infer_at = -1;
    if ((st = reshape_target(c, dims, &n))) return st;
    /* 0 copies the input dim unless allowzero (opset 14+) makes it a literal 0. */
    bool allowzero = c->opset >= 14 && ox_attr_int(c, "allowzero", 0) != 0;
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): reshape_target set n, it succeeded
    for (int i = 0; i < n; i++) {
        if (dims[i] == -1) {
            if (infer_at >= 0) return ox_fail(c, ONYX_E_ARG, "shape has more than one -1");
            infer_at = i;
        } else if (dims[i] == 0 && !allowzero) {
            if (i >= x->rank)
                return ox_fail(c, ONYX_E_SHAPE, "shape[%d] = 0 copies a dim the rank-%d input lacks",
                               i, x->rank);
            dims[i] = x->dims[i];
        } else if (dims[i] < 0) {
            return ox_fail(c, ONYX_E_ARG, "shape[%d] = %lld is invalid", i, (long long)dims[i]);
        }
    }
    if (infer_at >= 0) {
        int64_t rest;
        dims[infer_at] = 1;
        if (!ox_shape_numel(n, dims, &rest) || rest == 0)
            return ox_fail(c, ONYX_E_SHAPE, "cannot infer the -1 dim of shape[%d]", infer_at);
        int64_t total = ox_tensor_numel(x);
        if (total % rest)
            return ox_fail(c, ONYX_E_SHAPE, "%lld elements do not divide into the requested shape",
                           (long long)total);
        dims[infer_at] = total / rest;
    }
    return set_view_shape(c, n, dims);
}

/* ---- Squeeze, Unsqueeze ------------------------------------------------------------------ */

static onyx_status squeeze_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t axes[ONYX_MAX_RANK], dims[ONYX_MAX_RANK];
    int n, rank = 0;
    bool given, drop[ONYX_MAX_RANK] = {false};
    if ((st = read_axes(c, axes, &n, &given))) return st;
    for (int i = 0; i < n; i++) {
        int a;
        if ((st = ox_norm_axis(c, axes[i], x->rank, "axis", &a))) return st;
        if (x->dims[a] != 1)
            return ox_fail(c, ONYX_E_SHAPE, "cannot squeeze axis %d of size %lld", a,
                           (long long)x->dims[a]);
        drop[a] = true;
    }
    for (int k = 0; k < x->rank; k++) {
        bool squeeze = given ? drop[k] : x->dims[k] == 1;
        if (!squeeze) dims[rank++] = x->dims[k];
    }
    return set_view_shape(c, rank, dims);
}

static onyx_status unsqueeze_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, c->opset >= 13 ? 2 : 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t axes[ONYX_MAX_RANK], dims[ONYX_MAX_RANK];
    int n;
    bool given, inserted[ONYX_MAX_RANK] = {false};
    if ((st = read_axes(c, axes, &n, &given))) return st;
    if (!given) return ox_fail(c, ONYX_E_ARG, "axes are missing");
    int rank = x->rank + n;
    if ((st = ox_check_rank(c, rank))) return st;
    /* Axes index the output, so they are normalised against the output rank. */
    for (int i = 0; i < n; i++) {
        int a;
        if ((st = ox_norm_axis(c, axes[i], rank, "axis", &a))) return st;
        if (inserted[a]) return ox_fail(c, ONYX_E_ARG, "axis %d is repeated", a);
        inserted[a] = true;
    }
    for (int k = 0, j = 0; k < rank; k++) dims[k] = inserted[k] ? 1 : x->dims[j++];
    return set_view_shape(c, rank, dims);
}

/* ---- Dropout ----------------------------------------------------------------------------- */

/* Dropout is the identity, with an all-ones mask, unless training mode is on (input
 * training_mode, opset 12+): then each element is kept with probability 1 - ratio and scaled
 * by 1 / (1 - ratio), a dropped one is x * 0 (the spec's scale * data * mask, so NaN for an
 * infinite x), and the bool mask tells which were kept. The draws come from rng.h's generator
 * keyed by attribute `seed` or by the node, so a model drops the same elements on every run.
 * Opsets 1-6 had an is_test attribute; like other inference runtimes, onyx treats those
 * models as in test mode. Opsets 7-11 have no training mode.
 *
 * Not a view op: in training mode the output differs from the input, and computing it in the
 * input's buffer would change what the planner shares that buffer with — the caller's input,
 * a weight, a folded constant, or a value other nodes still read. The registry's flags are
 * per op, not per node, so Dropout always writes its own output (a copy in inference mode). */

/* A scalar ratio as a double (the 8-bit floats too, which ox_read_f64 does not decode). */
static double dropout_ratio_value(const onyx_tensor *r)
{
    uint8_t b = r->dtype >= ONYX_DTYPE_FLOAT8E4M3FN && r->dtype <= ONYX_DTYPE_FLOAT8E5M2FNUZ
                    ? *(const uint8_t *)r->data : 0;
    switch (r->dtype) {
    case ONYX_DTYPE_FLOAT8E4M3FN: return ox_f8e4m3fn_to_f32(b);
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: return ox_f8e4m3fnuz_to_f32(b);
    case ONYX_DTYPE_FLOAT8E5M2: return ox_f8e5m2_to_f32(b);
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return ox_f8e5m2fnuz_to_f32(b);
    default: return ox_read_f64(r, 0);
    }
}

/* The mode: *training when training_mode (opset 12+) is true, with *ratio from input 1
 * (default 0.5). In infer a deciding value may not be known yet: *training is then false and
 * run decides. Fails on ill-typed inputs, and in training mode on a ratio outside [0, 1) or
 * data of a type onyx does not train in. */
static onyx_status dropout_mode(ox_ctx *c, bool *training, double *ratio)
{
    *training = false;
    *ratio = 0.5;
    const onyx_tensor *r = c->opset >= 12 ? ox_opt_in(c, 1) : NULL;
    const onyx_tensor *tm = c->opset >= 12 ? ox_opt_in(c, 2) : NULL;
    if (r && (!ox_dtype_is_float(r->dtype) || ox_tensor_numel(r) != 1))
        return ox_fail(c, ONYX_E_ARG, "ratio must be a floating-point scalar");
    if (tm && (tm->dtype != ONYX_DTYPE_BOOL || ox_tensor_numel(tm) != 1))
        return ox_fail(c, ONYX_E_ARG, "training_mode must be a bool scalar");
    if (!tm || !tm->data || !((const uint8_t *)tm->data)[0] || (r && !r->data)) return ONYX_OK;
    *training = true;
    if (r) *ratio = dropout_ratio_value(r);
    if (!(*ratio >= 0.0 && *ratio < 1.0))
        return ox_fail(c, ONYX_E_ARG, "ratio %g is outside [0, 1)", *ratio);
    onyx_dtype t = c->in[0]->dtype;
    if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_DOUBLE && t != ONYX_DTYPE_FLOAT16 && t != ONYX_DTYPE_BFLOAT16)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "training mode on %s data", onyx_dtype_name(t));
    return ONYX_OK;
}

static onyx_status dropout_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    bool training;
    double ratio;
    if ((st = dropout_mode(c, &training, &ratio))) return st;
    if ((st = ox_attr_expect(c, "seed", OX_ATTR_INT))) return st;
    if ((st = set_view_shape(c, x->rank, x->dims))) return st;
    if (c->n_out > 1 && c->out[1]) {
        /* The mask is bool since opset 10, of the data's type before. */
        onyx_dtype mt = c->opset >= 10 ? ONYX_DTYPE_BOOL : x->dtype;
        if (mt != ONYX_DTYPE_BOOL && mt != ONYX_DTYPE_FLOAT && mt != ONYX_DTYPE_DOUBLE &&
            mt != ONYX_DTYPE_FLOAT16)
            return ox_fail(c, ONYX_E_UNSUPPORTED, "mask of dtype %s", onyx_dtype_name(mt));
        ox_set_shape(c->out[1], mt, x->rank, x->dims);
    }
    return ONYX_OK;
}

/* Fills t with ones of its dtype (bool, float16, float or double). */
static void fill_ones(onyx_tensor *t)
{
    int64_t n = ox_tensor_numel(t);
    switch (t->dtype) {
    case ONYX_DTYPE_BOOL:
        if (n) memset(t->data, 1, (size_t)n);
        break;
    case ONYX_DTYPE_FLOAT16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)t->data)[i] = 0x3C00; /* 1.0 in binary16 */
        break;
    case ONYX_DTYPE_FLOAT:
        for (int64_t i = 0; i < n; i++) ((float *)t->data)[i] = 1.0f;
        break;
    default:
        for (int64_t i = 0; i < n; i++) ((double *)t->data)[i] = 1.0;
        break;
    }
}

/* Training mode: element i is kept when draw i is at least ratio. Every element depends on
 * its own draw only, so threads may split the loop freely. Half types compute in float. */
static void dropout_train(ox_ctx *c, double ratio)
{
    uint64_t key = ox_attr_has(c, "seed") ? ox_rng_key_seeded((uint64_t)ox_attr_int(c, "seed", 0))
                                          : ox_rng_key_unseeded(c->node);
    const onyx_tensor *x = c->in[0];
    const onyx_dtype t = x->dtype;
    const int64_t n = ox_tensor_numel(x);
    const void *xd = x->data;
    void *yd = c->out[0]->data;
    uint8_t *mask = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    const double scale = 1.0 / (1.0 - ratio);
    const float scale_f = (float)scale;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (n >= 4096 && c->threads > 1)
#endif
    for (int64_t i = 0; i < n; i++) {
        bool keep = ox_rng_unit(key, (uint64_t)i) >= ratio;
        float f = keep ? scale_f : 0.0f;
        switch (t) {
        case ONYX_DTYPE_FLOAT: ((float *)yd)[i] = ((const float *)xd)[i] * f; break;
        case ONYX_DTYPE_DOUBLE: ((double *)yd)[i] = ((const double *)xd)[i] * (keep ? scale : 0.0); break;
        case ONYX_DTYPE_FLOAT16:
            ((uint16_t *)yd)[i] = ox_f32_to_f16(ox_f16_to_f32(((const uint16_t *)xd)[i]) * f);
            break;
        default: ((uint16_t *)yd)[i] = ox_f32_to_bf16(ox_bf16_to_f32(((const uint16_t *)xd)[i]) * f); break;
        }
        if (mask) mask[i] = keep;
    }
}

static onyx_status dropout_run(ox_ctx *c)
{
    bool training;
    double ratio;
    onyx_status st = dropout_mode(c, &training, &ratio);
    if (st) return st;
    if (training && ratio > 0.0) {
        dropout_train(c, ratio);
        return ONYX_OK;
    }
    view_run(c); /* the identity: a copy, Dropout not being a view op */
    if (c->n_out > 1 && c->out[1]) fill_ones(c->out[1]);
    return ONYX_OK;
}

/* ---- Shape ------------------------------------------------------------------------------- */

/* The [start, end) range of dims reported (attributes since opset 15; clamped, as the spec
 * says, rather than rejected). */
static void shape_range(const ox_ctx *c, int rank, int *start, int *end)
{
    int64_t s = 0, e = rank;
    if (c->opset >= 15) {
        s = ox_attr_int(c, "start", 0);
        e = ox_attr_int(c, "end", rank);
    }
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < s ? s : e > rank ? rank : e;
    *start = (int)s;
    *end = (int)e;
}

static onyx_status shape_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    int s, e;
    shape_range(c, c->in[0]->rank, &s, &e);
    int64_t n = e - s;
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 1, &n);
    /* The shape is known at plan time even when the values are not: produce it here, so the
     * shape arithmetic exporters put after it folds at plan time (see op.h). */
    if (!(c->out[0]->data = ox_pool_alloc(c->strings, (size_t)(n ? n : 1) * sizeof(int64_t), OX_ALIGN)))
        return ox_fail(c, ONYX_E_NOMEM, "out of memory");
    for (int k = s; k < e; k++) ((int64_t *)c->out[0]->data)[k - s] = c->in[0]->dims[k];
    return ONYX_OK;
}

static onyx_status shape_run(ox_ctx *c)
{
    return ox_fail(c, ONYX_E_INTERNAL, "evaluated at plan time; run is never called");
}

/* ---- Constant ---------------------------------------------------------------------------- */

/* The one attribute holding the value, and the attribute type it must have. */
static const struct {
    const char *name;
    ox_attr_type type;
} constant_forms[] = {
    {"value", OX_ATTR_TENSOR},          {"sparse_value", OX_ATTR_SPARSE_TENSOR},
    {"value_float", OX_ATTR_FLOAT},     {"value_floats", OX_ATTR_FLOATS},
    {"value_int", OX_ATTR_INT},         {"value_ints", OX_ATTR_INTS},
    {"value_string", OX_ATTR_STRING},   {"value_strings", OX_ATTR_STRINGS},
};

static onyx_status constant_attr(ox_ctx *c, const ox_attr **out)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof constant_forms / sizeof constant_forms[0]; i++) {
        const ox_attr *a = ox_node_attr(c->node, constant_forms[i].name);
        if (!a) continue;
        if (*out) return ox_fail(c, ONYX_E_ARG, "more than one value attribute");
        /* sparse_value reaches the IR densified, as a tensor attribute. */
        bool tensor = constant_forms[i].type == OX_ATTR_SPARSE_TENSOR &&
                      (a->type == OX_ATTR_TENSOR || a->type == OX_ATTR_SPARSE_TENSOR);
        if (a->type != constant_forms[i].type && !tensor)
            return ox_fail(c, ONYX_E_ARG, "attribute '%s' has the wrong type", a->name);
        *out = a;
    }
    if (!*out) return ox_fail(c, ONYX_E_ARG, "no value attribute");
    return ONYX_OK;
}

static onyx_status constant_infer(ox_ctx *c)
{
    const ox_attr *a;
    onyx_status st = ox_need_io(c, 0);
    if (st || (st = constant_attr(c, &a))) return st;
    int64_t n = (int64_t)a->n;
    switch (a->type) {
    case OX_ATTR_TENSOR:
    case OX_ATTR_SPARSE_TENSOR: {
        const onyx_tensor *t = &a->t->t;
        size_t bytes;
        if ((st = ox_check_rank(c, t->rank))) return st;
        if (!ox_shape_bytes(t->dtype, t->rank, t->dims, &bytes) || bytes != a->t->nbytes)
            return ox_fail(c, ONYX_E_ARG, "value tensor holds %zu bytes, its shape needs more",
                           a->t->nbytes);
        ox_set_shape(c->out[0], t->dtype, t->rank, t->dims);
        break;
    }
    case OX_ATTR_FLOAT: ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 0, NULL); break;
    case OX_ATTR_FLOATS: ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 1, &n); break;
    case OX_ATTR_INT: ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 0, NULL); break;
    case OX_ATTR_INTS: ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 1, &n); break;
    case OX_ATTR_STRING: ox_set_shape(c->out[0], ONYX_DTYPE_STRING, 0, NULL); break;
    default: ox_set_shape(c->out[0], ONYX_DTYPE_STRING, 1, &n); break;
    }
    return ONYX_OK;
}

static onyx_status constant_run(ox_ctx *c)
{
    const ox_attr *a;
    onyx_status st = constant_attr(c, &a);
    if (st) return st;
    void *y = c->out[0]->data;
    switch (a->type) {
    case OX_ATTR_TENSOR:
    case OX_ATTR_SPARSE_TENSOR: ox_copy_bytes(y, a->t->t.data, a->t->nbytes); break;
    case OX_ATTR_FLOAT: memcpy(y, &a->f, sizeof a->f); break;
    case OX_ATTR_FLOATS: ox_copy_bytes(y, a->floats, a->n * sizeof *a->floats); break;
    case OX_ATTR_INT: memcpy(y, &a->i, sizeof a->i); break;
    case OX_ATTR_INTS: ox_copy_bytes(y, a->ints, a->n * sizeof *a->ints); break;
    /* String elements point at the attribute's strings, which live as long as the model. */
    case OX_ATTR_STRING: memcpy(y, &a->s, sizeof a->s); break;
    default: ox_copy_bytes(y, a->strings, a->n * sizeof *a->strings); break;
    }
    return ONYX_OK;
}

/* ---- Concat ------------------------------------------------------------------------------ */

static onyx_status concat_axis(ox_ctx *c, int rank, int *axis)
{
    /* Opset 1 defaulted the axis to 1; it is required since opset 4. */
    if (c->opset >= 4 && !ox_attr_has(c, "axis"))
        return ox_fail(c, ONYX_E_ARG, "attribute 'axis' is missing");
    return ox_norm_axis(c, ox_attr_int(c, "axis", 1), rank, "axis", axis);
}

static onyx_status concat_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, c->n_in > 0 ? c->n_in : 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int axis;
    size_t es;
    if ((st = ox_elem_size(c, x->dtype, &es))) return st;
    if (x->rank == 0) return ox_fail(c, ONYX_E_SHAPE, "cannot concatenate scalars");
    if ((st = concat_axis(c, x->rank, &axis))) return st;
    int64_t dims[ONYX_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 1; i < c->n_in; i++) {
        const onyx_tensor *t = c->in[i];
        if (t->dtype != x->dtype)
            return ox_fail(c, ONYX_E_SHAPE, "input %d is %s, input 0 is %s", i,
                           onyx_dtype_name(t->dtype), onyx_dtype_name(x->dtype));
        bool fits = t->rank == x->rank;
        for (int k = 0; fits && k < x->rank; k++)
            if (k != axis && t->dims[k] != x->dims[k]) fits = false;
        if (!fits) {
            char a[96], b[96];
            return ox_fail(c, ONYX_E_SHAPE, "input %d of shape %s does not fit input 0 of shape %s on axis %d",
                           i, ox_shape_str(a, sizeof a, t->rank, t->dims),
                           ox_shape_str(b, sizeof b, x->rank, x->dims), axis);
        }
        if (dims[axis] > INT64_MAX - t->dims[axis])
            return ox_fail(c, ONYX_E_SHAPE, "output too large");
        dims[axis] += t->dims[axis];
    }
    int64_t n;
    if (!ox_shape_numel(x->rank, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ONYX_OK;
}

static onyx_status concat_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int axis;
    onyx_status st = concat_axis(c, x->rank, &axis);
    if (st) return st;
    /* Each outer index takes one contiguous block from every input in turn. */
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= x->dims[k];
    for (int k = axis + 1; k < x->rank; k++) inner *= x->dims[k];
    size_t es = onyx_dtype_size(x->dtype);
    char *y = c->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < c->n_in; i++) {
            size_t block = (size_t)(c->in[i]->dims[axis] * inner) * es;
            if (!block) continue; /* empty inputs may have NULL data */
            memcpy(y, (const char *)c->in[i]->data + (size_t)o * block, block);
            y += block;
        }
    return ONYX_OK;
}

/* ---- Transpose --------------------------------------------------------------------------- */

/* Output dim i is input dim perm[i]; the default reverses the dims. */
static onyx_status transpose_perm(ox_ctx *c, int rank, int *perm)
{
    const int64_t *p;
    size_t n = ox_attr_ints(c, "perm", &p);
    if (!ox_attr_has(c, "perm")) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return ONYX_OK;
    }
    onyx_status st = ox_attr_expect(c, "perm", OX_ATTR_INTS);
    if (st) return st;
    if (n != (size_t)rank)
        return ox_fail(c, ONYX_E_ARG, "perm has %zu entries for rank %d", n, rank);
    bool used[ONYX_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        int a;
        if ((st = ox_norm_axis(c, p[i], rank, "perm entry", &a))) return st;
        if (used[a]) return ox_fail(c, ONYX_E_ARG, "perm repeats axis %d", a);
        used[a] = true;
        perm[i] = a;
    }
    return ONYX_OK;
}

static onyx_status transpose_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int perm[ONYX_MAX_RANK];
    int64_t dims[ONYX_MAX_RANK];
    size_t es;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = transpose_perm(c, x->rank, perm))) return st;
    for (int i = 0; i < x->rank; i++) dims[i] = x->dims[perm[i]];
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ONYX_OK;
}

static onyx_status transpose_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int perm[ONYX_MAX_RANK];
    int64_t in_strides[ONYX_MAX_RANK], strides[ONYX_MAX_RANK];
    onyx_status st = transpose_perm(c, x->rank, perm);
    if (st) return st;
    ox_dense_strides(x->rank, x->dims, in_strides);
    for (int i = 0; i < x->rank; i++) strides[i] = in_strides[perm[i]];
    ox_copy_strided(c->out[0]->data, x->data, onyx_dtype_size(x->dtype), x->rank, c->out[0]->dims,
                    0, strides, c->threads);
    return ONYX_OK;
}

/* ---- Cast -------------------------------------------------------------------------------- */

/* The dtype named by Cast's `to`: an int, or (opset 1) a TensorProto enum name. */
static onyx_status cast_target(ox_ctx *c, onyx_dtype *to)
{
    const ox_attr *a = ox_node_attr(c->node, "to");
    if (!a) return ox_fail(c, ONYX_E_ARG, "attribute 'to' is missing");
    if (a->type == OX_ATTR_INT) {
        if (!ox_dtype_valid((int)a->i) || a->i == 0)
            return ox_fail(c, ONYX_E_ARG, "'to' = %lld is not a dtype", (long long)a->i);
        *to = (onyx_dtype)a->i;
        return ONYX_OK;
    }
    if (a->type == OX_ATTR_STRING)
        for (int t = 1; t < ONYX_DTYPE_COUNT_; t++) {
            const char *name = onyx_dtype_name((onyx_dtype)t), *s = a->s;
            while (*s && tolower((unsigned char)*s) == *name) s++, name++; /* names are lower case */
            if (!*s && !*name) {
                *to = (onyx_dtype)t;
                return ONYX_OK;
            }
        }
    return ox_fail(c, ONYX_E_ARG, "attribute 'to' does not name a dtype");
}

static onyx_status cast_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    onyx_dtype to = ONYX_DTYPE_UNDEFINED;
    ox_cast_opts o;
    if (st || (st = cast_target(c, &to)) || (st = ox_cast_opts_read(c, &o)) ||
        (st = ox_cast_check(c, c->in[0]->dtype, to)))
        return st;
    ox_set_shape(c->out[0], to, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

static onyx_status cast_run(ox_ctx *c)
{
    ox_cast_opts o;
    onyx_status st = ox_cast_opts_read(c, &o);
    if (st) return st;
    return ox_cast_tensor(c, c->in[0], c->out[0], &o);
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_shape[] = {
    {"Identity", "", 1, 28, identity_infer, view_run, OX_OP_VIEW | OX_OP_CONTAINERS},
    {"Flatten", "", 1, 28, flatten_infer, view_run, OX_OP_VIEW},
    {"Reshape", "", 1, 28, reshape_infer, view_run, OX_OP_VIEW},
    {"Squeeze", "", 1, 28, squeeze_infer, view_run, OX_OP_VIEW},
    {"Unsqueeze", "", 1, 28, unsqueeze_infer, view_run, OX_OP_VIEW},
    {"Dropout", "", 1, 28, dropout_infer, dropout_run, 0},
    {"Shape", "", 1, 28, shape_infer, shape_run, 0},
    {"Constant", "", 1, 28, constant_infer, constant_run, 0},
    {"Concat", "", 1, 28, concat_infer, concat_run, 0},
    {"Transpose", "", 1, 28, transpose_infer, transpose_run, 0},
    {"Cast", "", 1, 28, cast_infer, cast_run, 0},
};
const size_t ox_ops_shape_count = sizeof ox_ops_shape / sizeof ox_ops_shape[0];
