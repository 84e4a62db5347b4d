/* index.c — ops that select elements by index: Gather and Slice.
 *
 * Both move whole elements by size (memcpy), so every dtype is served, strings included
 * (their `char *` pointers are copied; the strings are owned elsewhere). */
#include <string.h>

#include "op.h"
#include "strided.h"

/* ---- Gather ------------------------------------------------------------------------------ */

static onyx_status gather_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    static const onyx_dtype index_types[] = {ONYX_DTYPE_INT32, ONYX_DTYPE_INT64, 0};
    int axis;
    size_t es;
    if ((st = ox_elem_size(c, x->dtype, &es)) || (st = ox_expect_dtype(c, 1, index_types))) return st;
    if (x->rank == 0) return ox_fail(c, ONYX_E_SHAPE, "data must have rank >= 1");
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis))) return st;
    int rank = x->rank - 1 + ind->rank;
    if ((st = ox_check_rank(c, rank))) return st;
    /* data.shape[:axis] + indices.shape + data.shape[axis+1:] */
    int64_t dims[ONYX_MAX_RANK];
    int r = 0;
    for (int k = 0; k < axis; k++) dims[r++] = x->dims[k];
    for (int k = 0; k < ind->rank; k++) dims[r++] = ind->dims[k];
    for (int k = axis + 1; k < x->rank; k++) dims[r++] = x->dims[k];
    int64_t n;
    if (!ox_shape_numel(rank, dims, &n)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], x->dtype, rank, dims);
    return ONYX_OK;
}

static onyx_status gather_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    int axis;
    onyx_status st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis);
    if (st) return st;
    int64_t n = x->dims[axis], m = ox_tensor_numel(ind), outer = 1, inner = 1;
    /* Indices are data: check them all before reading anything. */
    for (int64_t j = 0; j < m; j++) {
        int64_t v = ox_read_int(ind, j);
        if (v < -n || v >= n)
            return ox_fail(c, ONYX_E_ARG, "index %lld out of range for axis %d of size %lld",
                           (long long)v, axis, (long long)n);
    }
    if (ox_tensor_numel(c->out[0]) == 0) return ONYX_OK; /* data may be NULL */
    for (int k = 0; k < axis; k++) outer *= x->dims[k];
    for (int k = axis + 1; k < x->rank; k++) inner *= x->dims[k];
    size_t block = (size_t)inner * onyx_dtype_size(x->dtype);
    const char *src = x->data;
    char *y = c->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < m; j++) {
            int64_t v = ox_read_int(ind, j);
            if (v < 0) v += n;
            memcpy(y, src + (size_t)(o * n + v) * block, block);
            y += block;
        }
    return ONYX_OK;
}

/* ---- Slice ------------------------------------------------------------------------------- */

/* Per input dim: first element, step and element count of the slice. */
typedef struct slice_plan {
    int64_t start[ONYX_MAX_RANK], step[ONYX_MAX_RANK], count[ONYX_MAX_RANK];
} slice_plan;

/* starts, ends, axes, steps: attributes before opset 10 (no steps), inputs 1-4 since. */
static onyx_status slice_params(ox_ctx *c, int64_t v[4][ONYX_MAX_RANK], int n[4])
{
    static const char *const names[4] = {"starts", "ends", "axes", "steps"};
    onyx_status st;
    for (int p = 0; p < 4; p++) {
        n[p] = -1; /* absent */
        if (c->opset >= 10) {
            if (!ox_opt_in(c, 1 + p)) continue;
            if ((st = ox_input_ints(c, 1 + p, names[p], v[p], ONYX_MAX_RANK, &n[p]))) return st;
        } else if (p < 3 && ox_attr_has(c, names[p])) {
            const int64_t *a;
            size_t na = ox_attr_ints(c, names[p], &a);
            if ((st = ox_attr_expect(c, names[p], OX_ATTR_INTS))) return st;
            if (na > ONYX_MAX_RANK)
                return ox_fail(c, ONYX_E_ARG, "attribute '%s' has %zu values", names[p], na);
            ox_copy_bytes(v[p], a, na * sizeof *a);
            n[p] = (int)na;
        }
    }
    if (n[0] < 0 || n[1] < 0) return ox_fail(c, ONYX_E_ARG, "starts and ends are required");
    for (int p = 1; p < 4; p++)
        if (n[p] >= 0 && n[p] != n[0])
            return ox_fail(c, ONYX_E_ARG, "%s has %d values, starts has %d", names[p], n[p], n[0]);
    return ONYX_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Slices one dim of size dim from start to end (exclusive) by step, as the spec resolves
 * them: negative positions count from the end, then positions are clamped (to [0, dim] for
 * positive steps, [-1, dim-1] for negative ones), so INT64_MAX/MIN mean "to the end". */
static void slice_dim(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                      int64_t *count)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = clamp64(start, 0, dim);
        end = clamp64(end, 0, dim);
        *count = end > start ? 1 + (end - start - 1) / step : 0;
    } else {
        start = clamp64(start, 0, dim - 1);
        end = clamp64(end, -1, dim - 1);
        int64_t mag = step == INT64_MIN ? INT64_MAX : -step; /* same count, no overflow */
        *count = dim > 0 && start > end ? 1 + (start - end - 1) / mag : 0;
    }
    *first = *count > 0 ? start : 0;
}

static onyx_status slice_make_plan(ox_ctx *c, slice_plan *p)
{
    const onyx_tensor *x = c->in[0];
    int64_t v[4][ONYX_MAX_RANK];
    int n[4];
    bool seen[ONYX_MAX_RANK] = {false};
    onyx_status st = slice_params(c, v, n);
    if (st) return st;
    if (n[2] < 0 && n[0] > x->rank)
        return ox_fail(c, ONYX_E_ARG, "%d starts for rank %d", n[0], x->rank);
    for (int k = 0; k < x->rank; k++) {
        p->start[k] = 0;
        p->step[k] = 1;
        p->count[k] = x->dims[k];
    }
    for (int i = 0; i < n[0]; i++) {
        int a = i;
        if (n[2] >= 0 && (st = ox_norm_axis(c, v[2][i], x->rank, "axis", &a))) return st;
        if (seen[a]) return ox_fail(c, ONYX_E_ARG, "axis %d is repeated", a);
        seen[a] = true;
        int64_t step = n[3] >= 0 ? v[3][i] : 1;
        if (step == 0) return ox_fail(c, ONYX_E_ARG, "step for axis %d is 0", a);
        slice_dim(x->dims[a], v[0][i], v[1][i], step, &p->start[a], &p->count[a]);
        /* A step only matters between elements; keeping it 1 otherwise keeps strides small. */
        p->step[a] = p->count[a] > 1 ? step : 1;
    }
    return ONYX_OK;
}

static onyx_status slice_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, c->opset >= 10 ? 3 : 1);
    if (st) return st;
    slice_plan p;
    size_t es;
    if ((st = ox_elem_size(c, c->in[0]->dtype, &es)) || (st = slice_make_plan(c, &p))) return st;
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, p.count);
    return ONYX_OK;
}

static onyx_status slice_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    slice_plan p;
    onyx_status st = slice_make_plan(c, &p);
    if (st) return st;
    int64_t in_strides[ONYX_MAX_RANK], strides[ONYX_MAX_RANK], offset = 0;
    ox_dense_strides(x->rank, x->dims, in_strides);
    for (int k = 0; k < x->rank; k++) {
        offset += p.start[k] * in_strides[k];
        strides[k] = p.step[k] * in_strides[k];
    }
    ox_copy_strided(c->out[0]->data, x->data, onyx_dtype_size(x->dtype), x->rank, p.count, offset,
                    strides, c->threads);
    return ONYX_OK;
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_index[] = {
    {"Gather", "", 1, 28, gather_infer, gather_run, 0},
    {"Slice", "", 1, 28, slice_infer, slice_run, 0},
};
const size_t ox_ops_index_count = sizeof ox_ops_index / sizeof ox_ops_index[0];
