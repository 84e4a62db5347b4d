/* select.c — ops that pick, reorder or mask elements by value or position: Compress,
 * NonZero, Unique, OneHot, ReverseSequence, Trilu and EyeLike.
 *
 * Compress, NonZero and Unique have output shapes that depend on their input's values:
 * their infer asks for the value (ox_need_value; the planner then knows it) and computes
 * the exact shape from it. Moves copy whole elements by size, so every dtype is served
 * (strings: their `char *` pointers). */
#include <string.h>

#include "op.h"

/* ---- element helpers --------------------------------------------------------------------- */

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

static const char *elem_at(const onyx_tensor *t, int64_t i)
{
    return (const char *)t->data + (size_t)i * onyx_dtype_size(t->dtype);
}

static int64_t load_signed(const void *p, onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT8: return *(const int8_t *)p;
    case ONYX_DTYPE_INT16: return *(const int16_t *)p;
    case ONYX_DTYPE_INT32: return *(const int32_t *)p;
    default: return *(const int64_t *)p;
    }
}

static uint64_t load_unsigned(const void *p, onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_UINT16: return *(const uint16_t *)p;
    case ONYX_DTYPE_UINT32: return *(const uint32_t *)p;
    case ONYX_DTYPE_UINT64: return *(const uint64_t *)p;
    default: return *(const uint8_t *)p; /* uint8, bool */
    }
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

static bool is_real_float(onyx_dtype t)
{
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BFLOAT16;
}

/* The dtypes these ops read by value (NonZero, Unique): numbers, bool, string, complex. */
static bool readable_dtype(onyx_dtype t)
{
    return is_real_float(t) || is_plain_int(t) || t == ONYX_DTYPE_BOOL ||
           t == ONYX_DTYPE_STRING || t == ONYX_DTYPE_COMPLEX64 || t == ONYX_DTYPE_COMPLEX128;
}

static const char *string_at(const onyx_tensor *t, int64_t i)
{
    const char *s;
    memcpy(&s, elem_at(t, i), sizeof s);
    return s ? s : "";
}

/* Real or imaginary part (part 0 or 1) of complex element i, as double. */
static double complex_part(const onyx_tensor *t, int64_t i, int part)
{
    if (t->dtype == ONYX_DTYPE_COMPLEX64) return ((const float *)t->data)[2 * i + part];
    return ((const double *)t->data)[2 * i + part];
}

/* Element i is not zero (or, for strings, not empty — numpy's truth value). */
static bool nonzero_at(const onyx_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: case ONYX_DTYPE_DOUBLE: case ONYX_DTYPE_FLOAT16: case ONYX_DTYPE_BFLOAT16:
        return ox_read_f64(t, i) != 0.0; /* -0.0 is zero, NaN is not */
    case ONYX_DTYPE_COMPLEX64: case ONYX_DTYPE_COMPLEX128:
        return complex_part(t, i, 0) != 0.0 || complex_part(t, i, 1) != 0.0;
    case ONYX_DTYPE_STRING: return string_at(t, i)[0] != 0;
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT16: case ONYX_DTYPE_INT32: case ONYX_DTYPE_INT64:
        return load_signed(elem_at(t, i), t->dtype) != 0;
    default: return load_unsigned(elem_at(t, i), t->dtype) != 0;
    }
}

/* Total order on doubles for sorting: NaNs equal each other and follow every number. */
static int cmp_double(double a, double b)
{
    bool na = a != a, nb = b != b;
    if (na || nb) return na - nb;
    return (a > b) - (a < b);
}

/* Orders elements i and j of t (ascending, as numpy sorts). */
static int cmp_elems(const onyx_tensor *t, int64_t i, int64_t j)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: case ONYX_DTYPE_DOUBLE: case ONYX_DTYPE_FLOAT16: case ONYX_DTYPE_BFLOAT16:
        return cmp_double(ox_read_f64(t, i), ox_read_f64(t, j));
    case ONYX_DTYPE_COMPLEX64: case ONYX_DTYPE_COMPLEX128: { /* real part first, as numpy */
        int r = cmp_double(complex_part(t, i, 0), complex_part(t, j, 0));
        return r ? r : cmp_double(complex_part(t, i, 1), complex_part(t, j, 1));
    }
    case ONYX_DTYPE_STRING: {
        int r = strcmp(string_at(t, i), string_at(t, j));
        return (r > 0) - (r < 0);
    }
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT16: case ONYX_DTYPE_INT32: case ONYX_DTYPE_INT64: {
        int64_t a = load_signed(elem_at(t, i), t->dtype), b = load_signed(elem_at(t, j), t->dtype);
        return (a > b) - (a < b);
    }
    default: {
        uint64_t a = load_unsigned(elem_at(t, i), t->dtype), b = load_unsigned(elem_at(t, j), t->dtype);
        return (a > b) - (a < b);
    }
    }
}

/* Copies n elements of size es from one value (for fills). */
static void fill(char *dst, const void *value, int64_t n, size_t es)
{
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, value, es);
}

/* The zero element of dtype t into `zero` (es bytes): all-zero bytes for numbers and bool,
 * an empty string for strings (allocated from c->strings). */
static onyx_status zero_value(ox_ctx *c, onyx_dtype t, void *zero)
{
    memset(zero, 0, onyx_dtype_size(t));
    if (t != ONYX_DTYPE_STRING) return ONYX_OK;
    char *s = ox_pool_strndup(c->strings, "", 0);
    if (!s) return ox_fail(c, ONYX_E_NOMEM, "out of memory for string output");
    memcpy(zero, &s, sizeof s);
    return ONYX_OK;
}

/* ---- Compress ---------------------------------------------------------------------------- */

/* Selected count along the compressed axis (or the flattened input when *axis < 0). The
 * condition may be shorter than the axis (the rest is dropped) but may not select past it. */
static onyx_status compress_plan(ox_ctx *c, int *axis, int64_t *selected)
{
    const onyx_tensor *x = c->in[0], *cond = c->in[1];
    onyx_status st;
    *axis = -1;
    if (ox_attr_has(c, "axis") &&
        (st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", axis)))
        return st;
    int64_t n = *axis >= 0 ? x->dims[*axis] : ox_tensor_numel(x), len = ox_tensor_numel(cond);
    *selected = 0;
    for (int64_t i = 0; i < len; i++) {
        if (!((const uint8_t *)cond->data)[i]) continue;
        if (i >= n)
            return ox_fail(c, ONYX_E_ARG, "condition selects entry %lld, past the %lld available",
                           (long long)i, (long long)n);
        ++*selected;
    }
    return ONYX_OK;
}

static onyx_status compress_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *cond = c->in[1];
    static const onyx_dtype bool_type[] = {ONYX_DTYPE_BOOL, 0};
    size_t es;
    int axis;
    int64_t selected, dims[ONYX_MAX_RANK];
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, bool_type))) return st;
    if (cond->rank != 1) return ox_fail(c, ONYX_E_SHAPE, "condition must be 1-D, got rank %d", cond->rank);
    if ((st = ox_need_value(c, 1)) || (st = compress_plan(c, &axis, &selected))) return st;
    if (axis < 0) {
        ox_set_shape(c->out[0], x->dtype, 1, &selected);
        return ONYX_OK;
    }
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = selected;
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ONYX_OK;
}

static onyx_status compress_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *cond = c->in[1];
    int axis;
    int64_t selected;
    onyx_status st = compress_plan(c, &axis, &selected);
    if (st) return st;
    /* x as [outer, n, inner]: copy the inner blocks of the selected n entries. */
    int64_t outer = 1, n = ox_tensor_numel(x), inner = 1, len = ox_tensor_numel(cond);
    if (axis >= 0) {
        n = x->dims[axis];
        outer = product(0, axis, x->dims);
        inner = product(axis + 1, x->rank, x->dims);
    }
    if (len > n) len = n;
    size_t block = (size_t)inner * onyx_dtype_size(x->dtype);
    char *y = c->out[0]->data;
    if (selected == 0 || block == 0) return ONYX_OK; /* empty output */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < len; i++)
            if (((const uint8_t *)cond->data)[i]) {
                memcpy(y, (const char *)x->data + (size_t)(o * n + i) * block, block);
                y += block;
            }
    return ONYX_OK;
}

/* ---- NonZero ----------------------------------------------------------------------------- */

static onyx_status nonzero_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    if (!readable_dtype(x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(x->dtype));
    if ((st = ox_need_value(c, 0))) return st;
    int64_t n = ox_tensor_numel(x), dims[2] = {x->rank, 0};
    for (int64_t i = 0; i < n; i++) dims[1] += nonzero_at(x, i);
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 2, dims); /* a scalar gives [0, count], per spec */
    return ONYX_OK;
}

static onyx_status nonzero_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int64_t n = ox_tensor_numel(x), count = c->out[0]->dims[1], at = 0, coord[ONYX_MAX_RANK] = {0};
    int64_t *y = c->out[0]->data;
    /* y[k][j] is coordinate k of the j-th non-zero element, in row-major order. */
    for (int64_t i = 0; i < n; i++) {
        if (nonzero_at(x, i)) {
            if (at == count) return ox_fail(c, ONYX_E_INTERNAL, "input changed since planning");
            for (int k = 0; k < x->rank; k++) y[k * count + at] = coord[k];
            at++;
        }
        for (int k = x->rank - 1; k >= 0; k--) { /* odometer step */
            if (++coord[k] < x->dims[k]) break;
            coord[k] = 0;
        }
    }
    if (at != count) return ox_fail(c, ONYX_E_INTERNAL, "input changed since planning");
    return ONYX_OK;
}

/* ---- Unique ------------------------------------------------------------------------------ */

/* The input seen as [outer, n, inner]: Unique compares its n slices (elements when there is
 * no axis), lexicographically over each slice's elements in row-major order. */
typedef struct unique_view {
    const onyx_tensor *x;
    int64_t outer, n, inner;
} unique_view;

static onyx_status unique_make_view(ox_ctx *c, unique_view *u, int *axis)
{
    const onyx_tensor *x = c->in[0];
    u->x = x;
    u->outer = 1;
    u->n = ox_tensor_numel(x);
    u->inner = 1;
    *axis = -1;
    if (!ox_attr_has(c, "axis")) return ONYX_OK;
    onyx_status st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", axis);
    if (st) return st;
    u->n = x->dims[*axis];
    u->outer = product(0, *axis, x->dims);
    u->inner = product(*axis + 1, x->rank, x->dims);
    return ONYX_OK;
}

static int cmp_slices(const unique_view *u, int64_t a, int64_t b)
{
    for (int64_t o = 0; o < u->outer; o++) {
        int64_t ia = (o * u->n + a) * u->inner, ib = (o * u->n + b) * u->inner;
        for (int64_t i = 0; i < u->inner; i++) {
            int r = cmp_elems(u->x, ia + i, ib + i);
            if (r) return r;
        }
    }
    return 0;
}

/* Stable bottom-up merge sort of the slice numbers a[0..n) by value; tmp has room for n. */
static void sort_slices(const unique_view *u, int64_t *a, int64_t *tmp, int64_t n)
{
    int64_t *src = a, *dst = tmp;
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = mid + w < n ? mid + w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = cmp_slices(u, src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* Index in sorted distinct slices d[0..nd) of a slice equal to slice s, or -1. */
static int64_t find_slice(const unique_view *u, const int64_t *d, int64_t nd, int64_t s)
{
    int64_t lo = 0, hi = nd;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = cmp_slices(u, d[mid], s);
        if (r == 0) return mid;
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Slices sorted per block in infer, where there is no working memory but the stack. */
#define UNIQUE_BLOCK 512

/* Number of distinct slices, without heap memory: block by block, sort the block's slices,
 * keep one of each distinct value, and drop those already seen before the block.
 * O(n^2 log B / B) comparisons for n slices in blocks of B. */
static int64_t count_unique(const unique_view *u)
{
    int64_t blk[UNIQUE_BLOCK], tmp[UNIQUE_BLOCK], count = 0;
    if (u->outer == 0 || u->inner == 0) return u->n > 0; /* empty slices are all equal */
    for (int64_t s = 0; s < u->n; s += UNIQUE_BLOCK) {
        int64_t m = u->n - s < UNIQUE_BLOCK ? u->n - s : UNIQUE_BLOCK, nd = 0;
        for (int64_t k = 0; k < m; k++) blk[k] = s + k;
        sort_slices(u, blk, tmp, m);
        for (int64_t k = 0; k < m; k++)
            if (k == 0 || cmp_slices(u, blk[nd - 1], blk[k]) != 0) blk[nd++] = blk[k];
        int64_t fresh = nd;
        for (int64_t k = 0; k < nd; k++) tmp[k] = 0; /* tmp[k]: blk[k] was seen earlier */
        for (int64_t j = 0; j < s && fresh > 0; j++) {
            int64_t at = find_slice(u, blk, nd, j);
            if (at >= 0 && !tmp[at]) {
                tmp[at] = 1;
                fresh--;
            }
        }
        count += fresh;
    }
    return count;
}

static onyx_status unique_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    unique_view u;
    int axis;
    if (!readable_dtype(x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(x->dtype));
    int64_t sorted = ox_attr_int(c, "sorted", 1);
    if (sorted != 0 && sorted != 1)
        return ox_fail(c, ONYX_E_ARG, "sorted must be 0 or 1, got %lld", (long long)sorted);
    if ((st = unique_make_view(c, &u, &axis)) || (st = ox_need_value(c, 0))) return st;
    if ((uint64_t)u.n > SIZE_MAX / (3 * sizeof(int64_t)))
        return ox_fail(c, ONYX_E_LIMIT, "too many slices (%lld)", (long long)u.n);
    int64_t count = count_unique(&u), dims[ONYX_MAX_RANK];
    if (axis >= 0) {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = count;
        ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    } else {
        ox_set_shape(c->out[0], x->dtype, 1, &count);
    }
    /* indices and counts have one entry per distinct slice, inverse_indices one per slice */
    for (int k = 1; k < 4 && k < c->n_out; k++)
        if (c->out[k]) ox_set_shape(c->out[k], ONYX_DTYPE_INT64, 1, k == 2 ? &u.n : &count);
    c->scratch_bytes = (size_t)u.n * 3 * sizeof(int64_t);
    return ONYX_OK;
}

static onyx_status unique_run(ox_ctx *c)
{
    unique_view u;
    int axis;
    onyx_status st = unique_make_view(c, &u, &axis);
    if (st) return st;
    int64_t n = u.n, nu = 0;
    if (n == 0) return ONYX_OK; /* every output is empty */
    if (c->scratch_bytes < (size_t)n * 3 * sizeof(int64_t))
        return ox_fail(c, ONYX_E_INTERNAL, "scratch too small");
    /* order: slices sorted by value, then rank of each distinct value in the output;
     * first: first slice of each distinct value (sorted order); group: value of each slice */
    int64_t *order = c->scratch, *first = order + n, *group = first + n;
    for (int64_t i = 0; i < n; i++) order[i] = i;
    sort_slices(&u, order, first, n);
    for (int64_t k = 0; k < n; k++) { /* stable sort: a value's first slice comes first */
        if (k == 0 || cmp_slices(&u, order[k - 1], order[k]) != 0) first[nu++] = order[k];
        group[order[k]] = nu - 1;
    }
    const onyx_tensor *y = c->out[0];
    if (nu != y->dims[axis >= 0 ? axis : 0])
        return ox_fail(c, ONYX_E_INTERNAL, "input changed since planning");
    int64_t *rank = order; /* order is no longer needed */
    if (ox_attr_int(c, "sorted", 1)) {
        for (int64_t g = 0; g < nu; g++) rank[g] = g;
    } else { /* distinct values in order of first occurrence */
        int64_t next = 0;
        for (int64_t i = 0; i < n; i++)
            if (first[group[i]] == i) rank[group[i]] = next++;
    }
    size_t es = onyx_dtype_size(u.x->dtype), block = (size_t)u.inner * es;
    int64_t *indices = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    int64_t *inverse = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    int64_t *counts = c->n_out > 3 && c->out[3] ? c->out[3]->data : NULL;
    for (int64_t g = 0; g < nu; g++) {
        if (block)
            for (int64_t o = 0; o < u.outer; o++)
                memcpy((char *)y->data + (size_t)(o * nu + rank[g]) * block,
                       (const char *)u.x->data + (size_t)(o * n + first[g]) * block, block);
        if (indices) indices[rank[g]] = first[g];
        if (counts) counts[rank[g]] = 0;
    }
    for (int64_t i = 0; i < n; i++) {
        if (inverse) inverse[i] = rank[group[i]];
        if (counts) counts[rank[group[i]]]++;
    }
    return ONYX_OK;
}

/* ---- OneHot ------------------------------------------------------------------------------ */

/* depth: a one-element numeric tensor, cast to int64 (it must be a whole, non-negative count). */
static onyx_status onehot_depth(ox_ctx *c, int64_t *depth)
{
    const onyx_tensor *d = c->in[1];
    if (ox_tensor_numel(d) != 1 || d->rank > 1)
        return ox_fail(c, ONYX_E_SHAPE, "depth must hold exactly one value");
    if (is_real_float(d->dtype)) {
        double v = ox_read_f64(d, 0);
        if (!(v >= 0 && v < 9.2e18))
            return ox_fail(c, ONYX_E_ARG, "depth %g is not a valid count", v);
        *depth = (int64_t)v;
    } else if (ox_dtype_is_signed(d->dtype)) {
        *depth = load_signed(d->data, d->dtype);
    } else {
        uint64_t v = load_unsigned(d->data, d->dtype);
        *depth = v > INT64_MAX ? -1 : (int64_t)v;
    }
    if (*depth < 0) return ox_fail(c, ONYX_E_ARG, "depth %lld is negative", (long long)*depth);
    return ONYX_OK;
}

/* Index i of `ind` as a position on the one-hot axis, or -1 when it is outside the range
 * that selects one: [0, depth) and, since opset 11, [-depth, -1] counting from the end. */
static int64_t onehot_position(const ox_ctx *c, const onyx_tensor *ind, int64_t i, int64_t depth)
{
    int64_t v;
    const char *p = elem_at(ind, i);
    if (is_real_float(ind->dtype)) {
        double f = ox_read_f64(ind, i);
        if (!(f > -9.2e18 && f < 9.2e18)) return -1; /* NaN, inf, or far out of range */
        v = (int64_t)f;                              /* the spec's cast: toward zero */
    } else if (ox_dtype_is_signed(ind->dtype)) {
        v = load_signed(p, ind->dtype);
    } else {
        uint64_t w = load_unsigned(p, ind->dtype);
        if (w >= (uint64_t)depth) return -1;
        v = (int64_t)w;
    }
    if (v < 0 && c->opset >= 11) v += depth;
    return v >= 0 && v < depth ? v : -1;
}

static onyx_status onehot_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 3);
    if (st) return st;
    const onyx_tensor *ind = c->in[0], *values = c->in[2];
    size_t es;
    int axis;
    int64_t depth, dims[ONYX_MAX_RANK], n;
    if (!is_real_float(ind->dtype) && !is_plain_int(ind->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "indices dtype %s is not supported",
                       onyx_dtype_name(ind->dtype));
    if (!is_real_float(c->in[1]->dtype) && !is_plain_int(c->in[1]->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "depth dtype %s is not supported",
                       onyx_dtype_name(c->in[1]->dtype));
    if ((st = ox_elem_size(c, values->dtype, &es))) return st;
    if (values->rank != 1 || values->dims[0] != 2)
        return ox_fail(c, ONYX_E_SHAPE, "values must be [off_value, on_value]");
    if ((st = ox_check_rank(c, ind->rank + 1)) ||
        (st = ox_norm_axis(c, ox_attr_int(c, "axis", -1), ind->rank + 1, "axis", &axis)) ||
        (st = ox_need_value(c, 1)) || (st = onehot_depth(c, &depth)))
        return st;
    /* indices.shape with depth inserted at axis */
    for (int k = 0, j = 0; k <= ind->rank; k++) dims[k] = k == axis ? depth : ind->dims[j++];
    if (!ox_shape_numel(ind->rank + 1, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], values->dtype, ind->rank + 1, dims);
    return ONYX_OK;
}

static onyx_status onehot_run(ox_ctx *c)
{
    const onyx_tensor *ind = c->in[0], *values = c->in[2];
    int axis;
    int64_t depth;
    onyx_status st;
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", -1), ind->rank + 1, "axis", &axis)) ||
        (st = onehot_depth(c, &depth)))
        return st;
    if (ox_tensor_numel(c->out[0]) == 0) return ONYX_OK;
    int64_t outer = product(0, axis, ind->dims), inner = product(axis, ind->rank, ind->dims);
    size_t es = onyx_dtype_size(values->dtype);
    char *y = c->out[0]->data;
    const char *off = values->data, *on = off + es;
    /* y as [outer, depth, inner]: off everywhere, then on where the index points */
    fill(y, off, outer * depth * inner, es);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t d = onehot_position(c, ind, o * inner + i, depth);
            if (d >= 0) memcpy(y + (size_t)((o * depth + d) * inner + i) * es, on, es);
        }
    return ONYX_OK;
}

/* ---- ReverseSequence --------------------------------------------------------------------- */

static onyx_status reverse_sequence_axes(ox_ctx *c, int *batch_axis, int *time_axis)
{
    int64_t b = ox_attr_int(c, "batch_axis", 1), t = ox_attr_int(c, "time_axis", 0);
    if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t)
        return ox_fail(c, ONYX_E_ARG, "batch_axis %lld and time_axis %lld must be 0 and 1 in some order",
                       (long long)b, (long long)t);
    *batch_axis = (int)b;
    *time_axis = (int)t;
    return ONYX_OK;
}

static onyx_status reverse_sequence_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *lens = c->in[1];
    static const onyx_dtype len_types[] = {ONYX_DTYPE_INT64, ONYX_DTYPE_INT32, 0};
    size_t es;
    int ba, ta;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, len_types)) ||
        (st = reverse_sequence_axes(c, &ba, &ta)))
        return st;
    if (x->rank < 2) return ox_fail(c, ONYX_E_SHAPE, "input must have rank >= 2");
    if (lens->rank != 1 || lens->dims[0] != x->dims[ba])
        return ox_fail(c, ONYX_E_SHAPE, "sequence_lens must have shape [%lld]", (long long)x->dims[ba]);
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status reverse_sequence_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *lens = c->in[1];
    int ba, ta;
    onyx_status st = reverse_sequence_axes(c, &ba, &ta);
    if (st) return st;
    int64_t batches = x->dims[ba], steps = x->dims[ta], strides[ONYX_MAX_RANK];
    for (int64_t b = 0; b < batches; b++) {
        int64_t len = ox_read_int(lens, b);
        if (len < 0 || len > steps)
            return ox_fail(c, ONYX_E_ARG, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                           (long long)b, (long long)len, (long long)steps);
    }
    ox_dense_strides(x->rank, x->dims, strides);
    size_t es = onyx_dtype_size(x->dtype), block = (size_t)strides[1] * es; /* dims 2.. */
    if (block == 0) return ONYX_OK;
    char *y = c->out[0]->data;
    const char *src = x->data;
    /* Step t of batch b takes step len-1-t while t < len, else itself. */
    for (int64_t b = 0; b < batches; b++) {
        int64_t len = ox_read_int(lens, b);
        for (int64_t t = 0; t < steps; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            memcpy(y + (size_t)(b * strides[ba] + t * strides[ta]) * es,
                   src + (size_t)(b * strides[ba] + from * strides[ta]) * es, block);
        }
    }
    return ONYX_OK;
}

/* ---- Trilu ------------------------------------------------------------------------------- */

static onyx_status trilu_k(ox_ctx *c, int64_t *k)
{
    const onyx_tensor *kt = ox_opt_in(c, 1);
    *k = 0;
    if (!kt) return ONYX_OK;
    if (kt->dtype != ONYX_DTYPE_INT64 && kt->dtype != ONYX_DTYPE_INT32)
        return ox_fail(c, ONYX_E_ARG, "k must be int64, got %s", onyx_dtype_name(kt->dtype));
    if (ox_tensor_numel(kt) != 1 || kt->rank > 1)
        return ox_fail(c, ONYX_E_SHAPE, "k must hold exactly one value");
    if (kt->data) *k = ox_read_int(kt, 0);
    return ONYX_OK;
}

static onyx_status trilu_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    size_t es;
    int64_t k;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = trilu_k(c, &k))) return st;
    if (x->rank < 2) return ox_fail(c, ONYX_E_SHAPE, "input must have rank >= 2");
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status trilu_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int64_t k, rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    int64_t mats = product(0, x->rank - 2, x->dims);
    size_t es = onyx_dtype_size(x->dtype);
    char zero[16];
    onyx_status st;
    if ((st = trilu_k(c, &k)) || (st = zero_value(c, x->dtype, zero))) return st;
    if (product(0, x->rank, x->dims) == 0) return ONYX_OK;
    bool upper = ox_attr_int(c, "upper", 1) != 0;
    /* Clamping k to [-rows, cols] keeps row + k from overflowing and changes no element. */
    k = k < -rows ? -rows : k > cols ? cols : k;
    char *y = c->out[0]->data;
    const char *src = x->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            /* Upper keeps columns j >= i + k, lower keeps j <= i + k: one split per row. */
            int64_t split = upper ? i + k : i + k + 1;
            split = split < 0 ? 0 : split > cols ? cols : split;
            size_t row = (size_t)((m * rows + i) * cols) * es;
            if (upper) {
                fill(y + row, zero, split, es);
                memcpy(y + row + (size_t)split * es, src + row + (size_t)split * es,
                       (size_t)(cols - split) * es);
            } else {
                memcpy(y + row, src + row, (size_t)split * es);
                fill(y + row + (size_t)split * es, zero, cols - split, es);
            }
        }
    return ONYX_OK;
}

/* ---- EyeLike ----------------------------------------------------------------------------- */

static bool eyelike_dtype_ok(const ox_ctx *c, onyx_dtype t)
{
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BOOL || is_plain_int(t) ||
           (t == ONYX_DTYPE_BFLOAT16 && c->opset >= 22);
}

static onyx_status eyelike_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    if ((st = ox_attr_expect(c, "dtype", OX_ATTR_INT))) return st;
    int64_t t = ox_attr_int(c, "dtype", x->dtype);
    if (!eyelike_dtype_ok(c, x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "input dtype %s is not supported", onyx_dtype_name(x->dtype));
    if (t < 0 || t >= ONYX_DTYPE_COUNT_ || !eyelike_dtype_ok(c, (onyx_dtype)t))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %lld is not supported", (long long)t);
    if (x->rank != 2) return ox_fail(c, ONYX_E_SHAPE, "input must have rank 2, got %d", x->rank);
    ox_set_shape(c->out[0], (onyx_dtype)t, 2, x->dims);
    return ONYX_OK;
}

/* Stores the value 1 of dtype t (one of EyeLike's) at p. */
static void store_one(void *p, onyx_dtype t)
{
    float f = 1.0f;
    double d = 1.0;
    uint16_t h = t == ONYX_DTYPE_FLOAT16 ? 0x3C00 : t == ONYX_DTYPE_BFLOAT16 ? 0x3F80 : 1;
    uint8_t u8 = 1;
    uint32_t u32 = 1;
    uint64_t u64 = 1;
    switch (t) {
    case ONYX_DTYPE_FLOAT: memcpy(p, &f, sizeof f); break;
    case ONYX_DTYPE_DOUBLE: memcpy(p, &d, sizeof d); break;
    default:
        switch (onyx_dtype_size(t)) {
        case 1: memcpy(p, &u8, 1); break;
        case 2: memcpy(p, &h, 2); break;
        case 4: memcpy(p, &u32, 4); break;
        default: memcpy(p, &u64, 8); break;
        }
    }
}

static onyx_status eyelike_run(ox_ctx *c)
{
    onyx_tensor *y = c->out[0];
    int64_t rows = y->dims[0], cols = y->dims[1], k = ox_attr_int(c, "k", 0);
    size_t es = onyx_dtype_size(y->dtype);
    char *out = y->data;
    if (rows * cols == 0) return ONYX_OK;
    memset(out, 0, (size_t)(rows * cols) * es);
    if (k >= cols || k <= -rows) return ONYX_OK; /* the diagonal lies outside */
    /* y[i][i + k] = 1 for the rows where the column exists */
    for (int64_t i = k < 0 ? -k : 0; i < rows && i + k < cols; i++)
        store_one(out + (size_t)(i * cols + i + k) * es, y->dtype);
    return ONYX_OK;
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_select[] = {
    {"Compress", "", 9, 28, compress_infer, compress_run, 0},
    {"EyeLike", "", 9, 28, eyelike_infer, eyelike_run, 0},
    {"NonZero", "", 9, 28, nonzero_infer, nonzero_run, 0},
    {"OneHot", "", 9, 28, onehot_infer, onehot_run, 0},
    {"ReverseSequence", "", 10, 28, reverse_sequence_infer, reverse_sequence_run, 0},
    {"Trilu", "", 14, 28, trilu_infer, trilu_run, 0},
    {"Unique", "", 11, 28, unique_infer, unique_run, 0},
};
const size_t ox_ops_select_count = sizeof ox_ops_select / sizeof ox_ops_select[0];
