/* scatter.c — ops that read or write elements at positions held in an index tensor:
 * GatherElements, GatherND, Scatter (opsets 9-10) / ScatterElements, ScatterND and
 * TensorScatter.
 *
 * Indices are data, so every run checks all of them before moving anything and fails with
 * ONYX_E_ARG naming the node when one is out of range; negative indices count from the end
 * of their axis, as the spec allows. Elements are moved whole by size, so every dtype is
 * served (strings: their `char *` pointers). Scatter reductions (add, mul, max, min) are
 * computed exactly in the element type: integers wrap, bool adds as "or" and multiplies as
 * "and", float16/bfloat16 are computed in float and rounded to nearest even. Scatters apply
 * their updates one by one in index order, so duplicate indices give the result the spec's
 * loop gives, whatever the thread count. */
#include <string.h>

#include "op.h"

/* Below this many elements a gather is not worth waking threads for. */
#define PARALLEL_MIN_ELEMS ((int64_t)1 << 15)

static const onyx_dtype index_types[] = {ONYX_DTYPE_INT32, ONYX_DTYPE_INT64, 0};

/* ---- shared helpers ---------------------------------------------------------------------- */

/* Checks element i of `ind` against a dim of size n: valid indices are in [-n, n), the
 * negative ones counting from the end (index_at resolves them). */
static onyx_status check_index(ox_ctx *c, const onyx_tensor *ind, int64_t i, int64_t n, int axis)
{
    int64_t v = ox_read_int(ind, i);
    if (v < -n || v >= n)
        return ox_fail(c, ONYX_E_ARG,
                       "index %lld (indices element %lld) is out of range for axis %d of size %lld",
                       (long long)v, (long long)i, axis, (long long)n);
    return ONYX_OK;
}

/* Element i of `ind`, already checked against a dim of size n, as a position in [0, n). */
static int64_t index_at(const onyx_tensor *ind, int64_t i, int64_t n)
{
    int64_t v = ox_read_int(ind, i);
    return v < 0 ? v + n : v;
}

/* Element offset, under `strides`, of the element at row-major position i of a tensor of
 * shape dims (the position is split into per-dim coordinates). */
static int64_t offset_of(int rank, const int64_t *dims, const int64_t *strides, int64_t i)
{
    int64_t off = 0;
    for (int k = rank - 1; k >= 0; k--) {
        off += (i % dims[k]) * strides[k];
        i /= dims[k];
    }
    return off;
}

/* Product of dims[from..to). A part of a valid shape overflows only when another dim is 0
 * (the tensor is empty and no element is touched); it then saturates instead of wrapping. */
static int64_t product(int from, int to, const int64_t *dims)
{
    int64_t p = 1;
    for (int k = from; k < to; k++) {
        if (dims[k] == 0) return 0;
        p = p > INT64_MAX / dims[k] ? INT64_MAX : p * dims[k];
    }
    return p;
}

/* The 8- to 64-bit integer types (these ops do not take the packed 4- and 2-bit ones). */
static bool is_plain_int(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT16: case ONYX_DTYPE_INT32: case ONYX_DTYPE_INT64:
    case ONYX_DTYPE_UINT8: case ONYX_DTYPE_UINT16: case ONYX_DTYPE_UINT32: case ONYX_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

static bool same_dims(int rank, const int64_t *a, const int64_t *b)
{
    for (int k = 0; k < rank; k++)
        if (a[k] != b[k]) return false;
    return true;
}

/* Indices of GatherElements and ScatterElements: same rank as data, and no larger than data
 * on the other axes (those coordinates address data directly). */
static onyx_status check_element_indices(ox_ctx *c, const onyx_tensor *data,
                                         const onyx_tensor *ind, int axis)
{
    char a[96], b[96];
    if (ind->rank != data->rank)
        return ox_fail(c, ONYX_E_SHAPE, "indices %s must have the rank of data %s",
                       ox_shape_str(a, sizeof a, ind->rank, ind->dims),
                       ox_shape_str(b, sizeof b, data->rank, data->dims));
    for (int k = 0; k < data->rank; k++)
        if (k != axis && ind->dims[k] > data->dims[k])
            return ox_fail(c, ONYX_E_SHAPE, "indices %s exceed data %s on axis %d",
                           ox_shape_str(a, sizeof a, ind->rank, ind->dims),
                           ox_shape_str(b, sizeof b, data->rank, data->dims), k);
    return ONYX_OK;
}

/* ---- scatter reductions ------------------------------------------------------------------ */

typedef enum reduction { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } reduction;

/* The "reduction" attribute: none before opset 16, add/mul since 16, max/min since 18. */
static onyx_status parse_reduction(ox_ctx *c, onyx_dtype t, reduction *r)
{
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    onyx_status st = ox_attr_expect(c, "reduction", OX_ATTR_STRING);
    if (st) return st;
    const char *s = ox_attr_string(c, "reduction", "none");
    int allowed = c->opset >= 18 ? 5 : c->opset >= 16 ? 3 : 1;
    int k = 0;
    while (k < allowed && strcmp(s, names[k]) != 0) k++;
    if (k == allowed)
        return ox_fail(c, ONYX_E_ARG, "reduction '%s' is not defined at opset %d", s, c->opset);
    *r = (reduction)k;
    bool numeric = t == ONYX_DTYPE_BOOL || t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE ||
                   t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16 || is_plain_int(t);
    if (*r != RED_NONE && !numeric)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "reduction '%s' on %s data is not supported", s,
                       onyx_dtype_name(t));
    return ONYX_OK;
}

/* Integer element at p as 64 bits: sign-extended for signed types. */
static uint64_t load_int(const void *p, onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT8: return (uint64_t)(int64_t) * (const int8_t *)p;
    case ONYX_DTYPE_INT16: return (uint64_t)(int64_t) * (const int16_t *)p;
    case ONYX_DTYPE_INT32: return (uint64_t)(int64_t) * (const int32_t *)p;
    case ONYX_DTYPE_INT64: return (uint64_t) * (const int64_t *)p;
    case ONYX_DTYPE_UINT16: return *(const uint16_t *)p;
    case ONYX_DTYPE_UINT32: return *(const uint32_t *)p;
    case ONYX_DTYPE_UINT64: return *(const uint64_t *)p;
    default: return *(const uint8_t *)p; /* uint8, bool */
    }
}

/* Stores the low bits of v: the element's two's complement pattern, so wraparound is exact
 * for signed types too, without an implementation-defined conversion. */
static void store_int(void *p, onyx_dtype t, uint64_t v)
{
    size_t es = onyx_dtype_size(t);
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;
    switch (es) {
    case 1: memcpy(p, &u8, 1); break;
    case 2: memcpy(p, &u16, 2); break;
    case 4: memcpy(p, &u32, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

static void reduce_int(void *dst, const void *src, onyx_dtype t, reduction r)
{
    uint64_t a = load_int(dst, t), b = load_int(src, t), v = b;
    /* Flipping the sign bit maps signed order onto unsigned order. */
    uint64_t bias = ox_dtype_is_signed(t) ? (uint64_t)1 << 63 : 0;
    bool a_ge_b = (a ^ bias) >= (b ^ bias);
    if (t == ONYX_DTYPE_BOOL) {
        bool either = r == RED_ADD || r == RED_MAX; /* add and max are "or", mul and min "and" */
        v = either ? (a | b) != 0 : (a & b) != 0;
    } else if (r == RED_ADD) {
        v = a + b;
    } else if (r == RED_MUL) {
        v = a * b; /* the low bits of the product are the same for signed operands */
    } else if (r == RED_MAX) {
        v = a_ge_b ? a : b;
    } else if (r == RED_MIN) {
        v = a_ge_b ? b : a;
    }
    store_int(dst, t, v);
}

/* Floating types: computed in double (exact for one operation on float16/bfloat16/float
 * operands, so the single rounding back to the element type is the correct one). Max and
 * min propagate NaN, as numpy's maximum/minimum do. */
static void reduce_float(void *dst, const void *src, onyx_dtype t, reduction r)
{
    double a, b, v;
    switch (t) {
    case ONYX_DTYPE_FLOAT: a = *(float *)dst; b = *(const float *)src; break;
    case ONYX_DTYPE_DOUBLE: a = *(double *)dst; b = *(const double *)src; break;
    case ONYX_DTYPE_FLOAT16:
        a = ox_f16_to_f32(*(uint16_t *)dst);
        b = ox_f16_to_f32(*(const uint16_t *)src);
        break;
    default:
        a = ox_bf16_to_f32(*(uint16_t *)dst);
        b = ox_bf16_to_f32(*(const uint16_t *)src);
        break;
    }
    if (r == RED_ADD) v = a + b;
    else if (r == RED_MUL) v = a * b;
    else if (a != a || b != b) v = a != a ? a : b;
    else if (r == RED_MAX) v = a >= b ? a : b;
    else v = a <= b ? a : b;
    switch (t) {
    case ONYX_DTYPE_FLOAT: *(float *)dst = (float)v; break;
    case ONYX_DTYPE_DOUBLE: *(double *)dst = v; break;
    case ONYX_DTYPE_FLOAT16: *(uint16_t *)dst = ox_f32_to_f16((float)v); break;
    default: *(uint16_t *)dst = ox_f32_to_bf16((float)v); break;
    }
}

/* Applies n updates of element type t (size es) from src to dst under reduction r. */
static void apply_updates(char *dst, const char *src, int64_t n, onyx_dtype t, size_t es,
                          reduction r)
{
    if (r == RED_NONE) {
        ox_copy_bytes(dst, src, (size_t)n * es);
        return;
    }
    bool is_float = t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
                    t == ONYX_DTYPE_BFLOAT16;
    for (int64_t j = 0; j < n; j++) {
        if (is_float) reduce_float(dst + (size_t)j * es, src + (size_t)j * es, t, r);
        else reduce_int(dst + (size_t)j * es, src + (size_t)j * es, t, r);
    }
}

/* ---- GatherElements ---------------------------------------------------------------------- */

static onyx_status gather_elements_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    size_t es;
    int axis;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, index_types))) return st;
    if (x->rank == 0) return ox_fail(c, ONYX_E_SHAPE, "data must have rank >= 1");
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis)) ||
        (st = check_element_indices(c, x, ind, axis)))
        return st;
    ox_set_shape(c->out[0], x->dtype, ind->rank, ind->dims);
    return ONYX_OK;
}

static onyx_status gather_elements_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    int axis;
    onyx_status st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis);
    if (st) return st;
    int64_t n = x->dims[axis], m = ox_tensor_numel(ind);
    for (int64_t i = 0; i < m; i++)
        if ((st = check_index(c, ind, i, n, axis))) return st;
    /* Output element i sits at data coordinates: its own ones, with indices[i] on the axis. */
    int64_t strides[ONYX_MAX_RANK], axis_stride;
    ox_dense_strides(x->rank, x->dims, strides);
    axis_stride = strides[axis];
    strides[axis] = 0;
    size_t es = onyx_dtype_size(x->dtype);
    const char *src = x->data;
    char *y = c->out[0]->data;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) if (m >= PARALLEL_MIN_ELEMS && c->threads > 1)
#endif
    for (int64_t i = 0; i < m; i++) {
        int64_t off = offset_of(ind->rank, ind->dims, strides, i) + index_at(ind, i, n) * axis_stride;
        memcpy(y + (size_t)i * es, src + (size_t)off * es, es);
    }
    return ONYX_OK;
}

/* ---- Scatter / ScatterElements ----------------------------------------------------------- */

static onyx_status scatter_elements_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 3);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *ind = c->in[1], *upd = c->in[2];
    size_t es;
    int axis;
    reduction r;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, index_types))) return st;
    if (upd->dtype != x->dtype)
        return ox_fail(c, ONYX_E_SHAPE, "updates are %s, data is %s", onyx_dtype_name(upd->dtype),
                       onyx_dtype_name(x->dtype));
    if (x->rank == 0) return ox_fail(c, ONYX_E_SHAPE, "data must have rank >= 1");
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis)) ||
        (st = check_element_indices(c, x, ind, axis)) || (st = parse_reduction(c, x->dtype, &r)))
        return st;
    if (upd->rank != ind->rank || !same_dims(ind->rank, ind->dims, upd->dims)) {
        char a[96], b[96];
        return ox_fail(c, ONYX_E_SHAPE, "updates %s and indices %s differ in shape",
                       ox_shape_str(a, sizeof a, upd->rank, upd->dims),
                       ox_shape_str(b, sizeof b, ind->rank, ind->dims));
    }
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status scatter_elements_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1], *upd = c->in[2];
    int axis;
    reduction r;
    onyx_status st;
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis)) ||
        (st = parse_reduction(c, x->dtype, &r)))
        return st;
    int64_t n = x->dims[axis], m = ox_tensor_numel(ind);
    for (int64_t i = 0; i < m; i++)
        if ((st = check_index(c, ind, i, n, axis))) return st;
    size_t es = onyx_dtype_size(x->dtype);
    char *y = c->out[0]->data;
    const char *u = upd->data;
    ox_copy_bytes(y, x->data, ox_tensor_bytes(x));
    int64_t strides[ONYX_MAX_RANK], axis_stride;
    ox_dense_strides(x->rank, x->dims, strides);
    axis_stride = strides[axis];
    strides[axis] = 0;
    for (int64_t i = 0; i < m; i++) { /* in order: later duplicates win or accumulate */
        int64_t off = offset_of(ind->rank, ind->dims, strides, i) + index_at(ind, i, n) * axis_stride;
        apply_updates(y + (size_t)off * es, u + (size_t)i * es, 1, x->dtype, es, r);
    }
    return ONYX_OK;
}

/* ---- GatherND ---------------------------------------------------------------------------- */

/* The layout GatherND and ScatterND share: data [batch..., indexed (k dims)..., slice...],
 * indices [batch..., tuples..., k]. */
typedef struct nd_plan {
    int b, k;                   /* batch dims, index tuple length */
    int64_t batches, tuples;    /* batch count, tuples per batch */
    int64_t slice;              /* elements per addressed slice */
    int64_t batch_stride;       /* elements of data per batch */
    int64_t strides[ONYX_MAX_RANK]; /* dense strides of data */
} nd_plan;

static onyx_status nd_make_plan(ox_ctx *c, int64_t batch_dims, nd_plan *p)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    int r = x->rank, q = ind->rank;
    if (r < 1 || q < 1)
        return ox_fail(c, ONYX_E_SHAPE, "data and indices must have rank >= 1 (got %d and %d)", r, q);
    if (batch_dims < 0 || batch_dims >= (r < q ? r : q))
        return ox_fail(c, ONYX_E_ARG, "batch_dims %lld must be in [0, %d)", (long long)batch_dims,
                       r < q ? r : q);
    int b = (int)batch_dims;
    for (int d = 0; d < b; d++)
        if (x->dims[d] != ind->dims[d])
            return ox_fail(c, ONYX_E_SHAPE, "batch dim %d differs: data %lld, indices %lld", d,
                           (long long)x->dims[d], (long long)ind->dims[d]);
    int64_t k = ind->dims[q - 1];
    if (k > r - b)
        return ox_fail(c, ONYX_E_SHAPE, "index tuples of length %lld exceed the %d indexable dims of data",
                       (long long)k, r - b);
    p->b = b;
    p->k = (int)k;
    p->batches = product(0, b, x->dims);
    p->tuples = product(b, q - 1, ind->dims);
    p->slice = product(b + p->k, r, x->dims);
    p->batch_stride = product(b, r, x->dims);
    ox_dense_strides(r, x->dims, p->strides);
    return ONYX_OK;
}

/* Checks every index of every tuple against the data dim it addresses. */
static onyx_status nd_check_indices(ox_ctx *c, const nd_plan *p)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    int64_t n = p->batches * p->tuples * p->k;
    for (int64_t i = 0; i < n; i++) {
        int d = p->b + (int)(i % p->k);
        onyx_status st = check_index(c, ind, i, x->dims[d], d);
        if (st) return st;
    }
    return ONYX_OK;
}

/* Element offset in data of the slice addressed by tuple t (counted over all batches). */
static int64_t nd_offset(const onyx_tensor *x, const onyx_tensor *ind, const nd_plan *p, int64_t t)
{
    int64_t off = (t / p->tuples) * p->batch_stride;
    for (int m = 0; m < p->k; m++) {
        int d = p->b + m;
        off += index_at(ind, t * p->k + m, x->dims[d]) * p->strides[d];
    }
    return off;
}

/* batch_dims arrived in opset 12. */
static int64_t gather_nd_batch_dims(const ox_ctx *c)
{
    return c->opset >= 12 ? ox_attr_int(c, "batch_dims", 0) : 0;
}

static onyx_status gather_nd_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    size_t es;
    nd_plan p;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, index_types)) ||
        (st = nd_make_plan(c, gather_nd_batch_dims(c), &p)))
        return st;
    if (p.k < 1) return ox_fail(c, ONYX_E_SHAPE, "the last dim of indices must be >= 1");
    /* indices.shape[:-1] + data.shape[batch_dims + k:] */
    int rank = ind->rank - 1 + x->rank - p.b - p.k;
    if ((st = ox_check_rank(c, rank))) return st;
    int64_t dims[ONYX_MAX_RANK], n;
    int r = 0;
    for (int d = 0; d < ind->rank - 1; d++) dims[r++] = ind->dims[d];
    for (int d = p.b + p.k; d < x->rank; d++) dims[r++] = x->dims[d];
    if (!ox_shape_numel(rank, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], x->dtype, rank, dims);
    return ONYX_OK;
}

static onyx_status gather_nd_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    nd_plan p;
    onyx_status st;
    if ((st = nd_make_plan(c, gather_nd_batch_dims(c), &p)) || (st = nd_check_indices(c, &p)))
        return st;
    int64_t n = p.batches * p.tuples;
    size_t es = onyx_dtype_size(x->dtype), block = (size_t)p.slice * es;
    const char *src = x->data;
    char *y = c->out[0]->data;
    if (block == 0) return ONYX_OK; /* nothing to copy; data may be NULL */
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) \
    if (n * p.slice >= PARALLEL_MIN_ELEMS && c->threads > 1)
#endif
    for (int64_t t = 0; t < n; t++)
        memcpy(y + (size_t)t * block, src + (size_t)nd_offset(x, ind, &p, t) * es, block);
    return ONYX_OK;
}

/* ---- ScatterND --------------------------------------------------------------------------- */

static onyx_status scatter_nd_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 3);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *ind = c->in[1], *upd = c->in[2];
    size_t es;
    nd_plan p;
    reduction r;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, index_types)) ||
        (st = nd_make_plan(c, 0, &p)) || (st = parse_reduction(c, x->dtype, &r)))
        return st;
    if (upd->dtype != x->dtype)
        return ox_fail(c, ONYX_E_SHAPE, "updates are %s, data is %s", onyx_dtype_name(upd->dtype),
                       onyx_dtype_name(x->dtype));
    /* updates.shape == indices.shape[:-1] + data.shape[k:] */
    int64_t dims[2 * ONYX_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < ind->rank - 1; d++) dims[rank++] = ind->dims[d];
    for (int d = p.k; d < x->rank; d++) dims[rank++] = x->dims[d];
    if (upd->rank != rank || !same_dims(rank, dims, upd->dims)) {
        char a[96], b[96], e[96];
        return ox_fail(c, ONYX_E_SHAPE, "updates %s must have shape %s (indices %s)",
                       ox_shape_str(a, sizeof a, upd->rank, upd->dims),
                       rank <= ONYX_MAX_RANK ? ox_shape_str(b, sizeof b, rank, dims) : "of rank > 8",
                       ox_shape_str(e, sizeof e, ind->rank, ind->dims));
    }
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status scatter_nd_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1], *upd = c->in[2];
    nd_plan p;
    reduction r;
    onyx_status st;
    if ((st = nd_make_plan(c, 0, &p)) || (st = parse_reduction(c, x->dtype, &r)) ||
        (st = nd_check_indices(c, &p)))
        return st;
    size_t es = onyx_dtype_size(x->dtype);
    char *y = c->out[0]->data;
    const char *u = upd->data;
    ox_copy_bytes(y, x->data, ox_tensor_bytes(x));
    if (p.slice == 0) return ONYX_OK; /* empty updates; their data may be NULL */
    for (int64_t t = 0; t < p.tuples; t++) /* in order: later duplicates win or accumulate */
        apply_updates(y + (size_t)nd_offset(x, ind, &p, t) * es, u + (size_t)(t * p.slice) * es,
                      p.slice, x->dtype, es, r);
    return ONYX_OK;
}

/* ---- TensorScatter ----------------------------------------------------------------------- */

/* Writes `update` into a copy of `past_cache` along the sequence axis, per batch entry at
 * write_indices[b] (0 when omitted); "circular" mode wraps positions modulo the cache
 * length, "linear" mode requires them to fit. */
static onyx_status tensor_scatter_params(ox_ctx *c, int *axis, bool *circular)
{
    const onyx_tensor *past = c->in[0];
    onyx_status st = ox_attr_expect(c, "mode", OX_ATTR_STRING);
    if (st) return st;
    const char *mode = ox_attr_string(c, "mode", "linear");
    if (strcmp(mode, "linear") != 0 && strcmp(mode, "circular") != 0)
        return ox_fail(c, ONYX_E_ARG, "mode '%s' is not 'linear' or 'circular'", mode);
    *circular = mode[0] == 'c';
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", -2), past->rank, "axis", axis))) return st;
    if (*axis == 0) return ox_fail(c, ONYX_E_ARG, "axis must not be the batch axis 0");
    return ONYX_OK;
}

static onyx_status tensor_scatter_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *past = c->in[0], *upd = c->in[1], *wi = ox_opt_in(c, 2);
    size_t es;
    int axis;
    bool circular;
    char a[96], b[96];
    if ((st = ox_elem_size(c, past->dtype, &es))) return st;
    if (past->rank < 2) return ox_fail(c, ONYX_E_SHAPE, "past_cache must have rank >= 2");
    if ((st = tensor_scatter_params(c, &axis, &circular))) return st;
    if (upd->dtype != past->dtype)
        return ox_fail(c, ONYX_E_SHAPE, "update is %s, past_cache is %s",
                       onyx_dtype_name(upd->dtype), onyx_dtype_name(past->dtype));
    bool fits = upd->rank == past->rank;
    for (int d = 0; fits && d < past->rank; d++)
        fits = d == axis ? upd->dims[d] <= past->dims[d] : upd->dims[d] == past->dims[d];
    if (!fits)
        return ox_fail(c, ONYX_E_SHAPE, "update %s does not fit past_cache %s on axis %d",
                       ox_shape_str(a, sizeof a, upd->rank, upd->dims),
                       ox_shape_str(b, sizeof b, past->rank, past->dims), axis);
    if (wi && (wi->dtype != ONYX_DTYPE_INT64 || wi->rank != 1 || wi->dims[0] != past->dims[0]))
        return ox_fail(c, ONYX_E_SHAPE, "write_indices (%s %s) must be int64 of shape [%lld]",
                       onyx_dtype_name(wi->dtype), ox_shape_str(a, sizeof a, wi->rank, wi->dims),
                       (long long)past->dims[0]);
    ox_set_shape(c->out[0], past->dtype, past->rank, past->dims);
    return ONYX_OK;
}

/* Cache position where batch entry `batch` starts writing. */
static onyx_status tensor_scatter_start(ox_ctx *c, int64_t batch, int64_t max_len, int64_t len,
                                        bool circular, int64_t *start)
{
    const onyx_tensor *wi = ox_opt_in(c, 2);
    int64_t w = wi ? ((const int64_t *)wi->data)[batch] : 0;
    if (circular) { /* the position modulo max_len, in [0, max_len) also for negative w */
        int64_t m = max_len ? w % max_len : 0;
        *start = m < 0 ? m + max_len : m;
        return ONYX_OK;
    }
    if (w < 0 || w > max_len - len)
        return ox_fail(c, ONYX_E_ARG,
                       "write_indices[%lld] = %lld: %lld updates do not fit a cache of %lld",
                       (long long)batch, (long long)w, (long long)len, (long long)max_len);
    *start = w;
    return ONYX_OK;
}

static onyx_status tensor_scatter_run(ox_ctx *c)
{
    const onyx_tensor *past = c->in[0], *upd = c->in[1];
    int axis;
    bool circular;
    onyx_status st = tensor_scatter_params(c, &axis, &circular);
    if (st) return st;
    int64_t max_len = past->dims[axis], len = upd->dims[axis], start;
    for (int64_t bi = 0; bi < past->dims[0]; bi++)
        if ((st = tensor_scatter_start(c, bi, max_len, len, circular, &start))) return st;
    char *y = c->out[0]->data;
    const char *u = upd->data;
    ox_copy_bytes(y, past->data, ox_tensor_bytes(past));
    /* Rows: one per (prefix index, sequence position), of the dims after the axis. */
    int64_t prefix = product(0, axis, past->dims), per_batch = product(1, axis, past->dims);
    size_t row = (size_t)product(axis + 1, past->rank, past->dims) * onyx_dtype_size(past->dtype);
    if (row == 0) return ONYX_OK; /* empty update; its data may be NULL */
    for (int64_t pi = 0; pi < prefix; pi++) {
        (void)tensor_scatter_start(c, pi / per_batch, max_len, len, circular, &start); /* checked */
        for (int64_t s = 0; s < len; s++) {
            // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): each start was checked
            int64_t at = circular ? (start + s) % max_len : start + s;
            memcpy(y + (size_t)(pi * max_len + at) * row, u + (size_t)(pi * len + s) * row, row);
        }
    }
    return ONYX_OK;
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_scatter[] = {
    {"GatherElements", "", 11, 28, gather_elements_infer, gather_elements_run, 0},
    {"GatherND", "", 11, 28, gather_nd_infer, gather_nd_run, 0},
    {"Scatter", "", 9, 10, scatter_elements_infer, scatter_elements_run, 0},
    {"ScatterElements", "", 11, 28, scatter_elements_infer, scatter_elements_run, 0},
    {"ScatterND", "", 11, 28, scatter_nd_infer, scatter_nd_run, 0},
    {"TensorScatter", "", 24, 28, tensor_scatter_infer, tensor_scatter_run, 0},
};
const size_t ox_ops_scatter_count = sizeof ox_ops_scatter / sizeof ox_ops_scatter[0];
