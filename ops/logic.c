/* logic.c — And, Or, Xor, Not, Equal, Greater, GreaterOrEqual, Less, LessOrEqual, Where.
 * Results of the comparisons and the logic ops are bool; all broadcast numpy-style.
 *
 * Version differences handled here:
 *   And, Or, Xor, Equal, Greater and Less before opset 7 broadcast the legacy way
 *   (attributes broadcast/axis, ox_legacy_broadcast).
 *   Equal takes strings from opset 19 and the comparisons take more numeric types from 9/11/
 *   13; dtypes are accepted whenever a kernel exists, so earlier versions accept them too.
 * Where copies its elements as they are; for string tensors it then copies each selected
 * string into the run's string pool, so the output never points into an input that the
 * caller or another node owns. */
#include <string.h>

#include "elementwise.h"
#include "logic.h"
#include "op.h"

/* ---- shared plumbing ------------------------------------------------------------------- */

/* Requires exactly n inputs, all present, and output 0. */
static onyx_status need_inputs(ox_ctx *c, int n)
{
    if (c->n_in != n)
        return ox_fail(c, ONYX_E_ARG, "expects %d input%s, got %d", n, n == 1 ? "" : "s",
                       c->n_in);
    return ox_need_io(c, n);
}

/* Requires inputs i and j to have the same dtype. */
static onyx_status same_dtype(ox_ctx *c, int i, int j)
{
    onyx_dtype a = c->in[i]->dtype, b = c->in[j]->dtype;
    if (a == b) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "input %d has dtype %s, input %d has %s", j,
                   onyx_dtype_name(b), i, onyx_dtype_name(a));
}

static onyx_status need_bool(ox_ctx *c, int i)
{
    if (c->in[i]->dtype == ONYX_DTYPE_BOOL) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "input %d must be bool, got %s", i,
                   onyx_dtype_name(c->in[i]->dtype));
}

/* Sets output 0 to bool and the broadcast shape of input 0 and *b (input 1 or its legacy
 * view). */
static onyx_status set_bool_broadcast(ox_ctx *c, const onyx_tensor *b)
{
    const onyx_tensor *a = c->in[0];
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    onyx_status st = ox_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims);
    if (st) return st;
    ox_set_shape(c->out[0], ONYX_DTYPE_BOOL, rank, dims);
    return ONYX_OK;
}

/* out = fn(input 0, *b), broadcast to out's shape. */
static void apply2(const ox_ctx *c, ox_binary_fn fn, const onyx_tensor *b)
{
    const onyx_tensor *a = c->in[0];
    onyx_tensor *out = c->out[0];
    int64_t sa[ONYX_MAX_RANK], sb[ONYX_MAX_RANK];
    ox_broadcast_strides(a, out->rank, out->dims, sa);
    ox_broadcast_strides(b, out->rank, out->dims, sb);
    ox_binary_apply_mixed(fn, onyx_dtype_size(a->dtype), onyx_dtype_size(b->dtype),
                          onyx_dtype_size(out->dtype), out->rank, out->dims, a->data, sa,
                          b->data, sb, out->data, c->threads);
}

/* ---- Equal, Greater, GreaterOrEqual, Less, LessOrEqual --------------------------------- */

static onyx_status compare_kernel(ox_ctx *c, ox_cmp op, ox_binary_fn *fn)
{
    onyx_status st = same_dtype(c, 0, 1);
    if (st) return st;
    *fn = ox_compare_kernel(op, c->in[0]->dtype);
    if (!*fn)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                       onyx_dtype_name(c->in[0]->dtype));
    return ONYX_OK;
}

static onyx_status compare_infer(ox_ctx *c, ox_cmp op)
{
    ox_binary_fn fn;
    onyx_tensor bv;
    onyx_status st = need_inputs(c, 2);
    if (!st) st = compare_kernel(c, op, &fn);
    if (!st) st = ox_legacy_broadcast(c, c->in[0], c->in[1], &bv);
    if (!st) st = set_bool_broadcast(c, &bv);
    return st;
}

static onyx_status compare_run(ox_ctx *c, ox_cmp op)
{
    ox_binary_fn fn;
    onyx_tensor bv;
    onyx_status st = compare_kernel(c, op, &fn);
    if (!st) st = ox_legacy_broadcast(c, c->in[0], c->in[1], &bv);
    if (!st) apply2(c, fn, &bv);
    return st;
}

static onyx_status eq_infer(ox_ctx *c) { return compare_infer(c, OX_CMP_EQ); }
static onyx_status eq_run(ox_ctx *c) { return compare_run(c, OX_CMP_EQ); }
static onyx_status gt_infer(ox_ctx *c) { return compare_infer(c, OX_CMP_GT); }
static onyx_status gt_run(ox_ctx *c) { return compare_run(c, OX_CMP_GT); }
static onyx_status ge_infer(ox_ctx *c) { return compare_infer(c, OX_CMP_GE); }
static onyx_status ge_run(ox_ctx *c) { return compare_run(c, OX_CMP_GE); }
static onyx_status lt_infer(ox_ctx *c) { return compare_infer(c, OX_CMP_LT); }
static onyx_status lt_run(ox_ctx *c) { return compare_run(c, OX_CMP_LT); }
static onyx_status le_infer(ox_ctx *c) { return compare_infer(c, OX_CMP_LE); }
static onyx_status le_run(ox_ctx *c) { return compare_run(c, OX_CMP_LE); }

/* ---- And, Or, Xor, Not ----------------------------------------------------------------- */

static onyx_status logic_infer(ox_ctx *c)
{
    onyx_tensor bv;
    onyx_status st = need_inputs(c, 2);
    if (!st) st = need_bool(c, 0);
    if (!st) st = need_bool(c, 1);
    if (!st) st = ox_legacy_broadcast(c, c->in[0], c->in[1], &bv);
    if (!st) st = set_bool_broadcast(c, &bv);
    return st;
}

static onyx_status logic_run(ox_ctx *c, ox_logic op)
{
    onyx_tensor bv;
    onyx_status st = ox_legacy_broadcast(c, c->in[0], c->in[1], &bv);
    if (!st) apply2(c, ox_logic_kernel(op), &bv);
    return st;
}

static onyx_status and_run(ox_ctx *c) { return logic_run(c, OX_LOGIC_AND); }
static onyx_status or_run(ox_ctx *c) { return logic_run(c, OX_LOGIC_OR); }
static onyx_status xor_run(ox_ctx *c) { return logic_run(c, OX_LOGIC_XOR); }

static onyx_status not_infer(ox_ctx *c)
{
    onyx_status st = need_inputs(c, 1);
    if (!st) st = need_bool(c, 0);
    if (st) return st;
    ox_set_shape(c->out[0], ONYX_DTYPE_BOOL, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

static onyx_status not_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    ox_unary_apply(ox_logic_not, 1, ox_tensor_numel(x), x->data, c->out[0]->data, c->threads);
    return ONYX_OK;
}

/* ---- Where ----------------------------------------------------------------------------- */

static onyx_status where_kernel(ox_ctx *c, ox_ternary_fn *fn)
{
    onyx_dtype t = c->in[1]->dtype;
    size_t es;
    onyx_status st = ox_elem_size(c, t, &es);
    if (st) return st;
    *fn = ox_where_kernel(es);
    if (!*fn)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(t));
    return ONYX_OK;
}

static onyx_status where_infer(ox_ctx *c)
{
    ox_ternary_fn fn;
    onyx_status st = need_inputs(c, 3);
    if (!st) st = need_bool(c, 0);
    if (!st) st = same_dtype(c, 1, 2);
    if (!st) st = where_kernel(c, &fn);
    if (st) return st;
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    const onyx_tensor *cond = c->in[0], *x = c->in[1], *y = c->in[2];
    st = ox_broadcast_shape(c, cond->rank, cond->dims, x->rank, x->dims, &rank, dims);
    if (!st) st = ox_broadcast_shape(c, rank, dims, y->rank, y->dims, &rank, dims);
    if (st) return st;
    ox_set_shape(c->out[0], x->dtype, rank, dims);
    return ONYX_OK;
}

/* Replaces each string pointer of out (copied from X or Y) with a copy in the string pool. */
static onyx_status own_strings(ox_ctx *c, onyx_tensor *out)
{
    if (!c->strings) return ox_fail(c, ONYX_E_INTERNAL, "no string pool for string output");
    char **s = out->data;
    int64_t n = ox_tensor_numel(out);
    for (int64_t i = 0; i < n; i++) {
        const char *v = s[i] ? s[i] : "";
        char *copy = ox_pool_strndup(c->strings, v, strlen(v));
        if (!copy) return ox_fail(c, ONYX_E_NOMEM, "out of memory copying strings");
        s[i] = copy;
    }
    return ONYX_OK;
}

static onyx_status where_run(ox_ctx *c)
{
    ox_ternary_fn fn;
    onyx_status st = where_kernel(c, &fn);
    if (st) return st;
    onyx_tensor *out = c->out[0];
    int64_t strides[3][ONYX_MAX_RANK];
    const void *in[3];
    for (int k = 0; k < 3; k++) {
        ox_broadcast_strides(c->in[k], out->rank, out->dims, strides[k]);
        in[k] = c->in[k]->data;
    }
    const int64_t *sp[3] = {strides[0], strides[1], strides[2]};
    size_t es = onyx_dtype_size(out->dtype);
    const size_t sizes[4] = {1, es, es, es};
    ox_ternary_apply(fn, sizes, out->rank, out->dims, in, sp, out->data, c->threads);
    return out->dtype == ONYX_DTYPE_STRING ? own_strings(c, out) : ONYX_OK;
}

const ox_op ox_ops_logic[] = {
    {"And", "", 1, 28, logic_infer, and_run, 0},
    {"Or", "", 1, 28, logic_infer, or_run, 0},
    {"Xor", "", 1, 28, logic_infer, xor_run, 0},
    {"Not", "", 1, 28, not_infer, not_run, 0},
    {"Equal", "", 1, 28, eq_infer, eq_run, 0},
    {"Greater", "", 1, 28, gt_infer, gt_run, 0},
    {"GreaterOrEqual", "", 12, 28, ge_infer, ge_run, 0},
    {"Less", "", 1, 28, lt_infer, lt_run, 0},
    {"LessOrEqual", "", 12, 28, le_infer, le_run, 0},
    {"Where", "", 9, 28, where_infer, where_run, 0},
};
const size_t ox_ops_logic_count = sizeof ox_ops_logic / sizeof ox_ops_logic[0];
