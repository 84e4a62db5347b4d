/* binary.c — Pow, Mod, PRelu, BitShift, BitwiseAnd/Or/Xor/Not, and the variadic Max, Min,
 * Mean and Sum. All broadcast numpy-style (PRelu: the slope onto X only).
 *
 * Version differences handled here:
 *   Pow before opset 7 broadcasts the legacy way (attributes broadcast/axis,
 *   ox_legacy_broadcast); from 12 the exponent may have another type than the base, and the
 *   result has the base's type.
 *   Max, Min, Mean and Sum before opset 8 require equal shapes; broadcasting is a superset
 *   of that, so every version broadcasts. `consumed_inputs` (opset 1) is a legacy hint and is
 *   ignored.
 *   Mod before opset 28 asks for fmod=1 with float inputs; fmod=0 on floats follows Mod-28's
 *   floor semantics in every version.
 *   BitShift before opset 28 takes unsigned types only; signed ones follow BitShift-28.
 * Dtypes are accepted whenever a kernel exists: a version's list is never narrower than the
 * kernels', so valid models run and the few extra types get the later versions' meaning. */
#include <string.h>

#include "binary.h"
#include "elementwise.h"
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

/* Requires inputs 0 and i to have the same dtype. */
static onyx_status same_dtype(ox_ctx *c, int i)
{
    onyx_dtype a = c->in[0]->dtype, b = c->in[i]->dtype;
    if (a == b) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "input %d has dtype %s, input 0 has %s", i,
                   onyx_dtype_name(b), onyx_dtype_name(a));
}

static onyx_status unsupported_dtype(ox_ctx *c, onyx_dtype t)
{
    return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(t));
}

/* Sets output 0 to dtype t and the broadcast shape of a and b. */
static onyx_status set_broadcast(ox_ctx *c, const onyx_tensor *a, const onyx_tensor *b,
                                 onyx_dtype t)
{
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    onyx_status st = ox_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims);
    if (st) return st;
    ox_set_shape(c->out[0], t, rank, dims);
    return ONYX_OK;
}

/* out = fn(a, b), with a and b broadcast to out's shape. a may be out itself (the variadic
 * ops fold their inputs into the output): each element is read before it is written. */
static void apply2(const ox_ctx *c, ox_binary_fn fn, const onyx_tensor *a, const onyx_tensor *b,
                   onyx_tensor *out)
{
    int64_t sa[ONYX_MAX_RANK], sb[ONYX_MAX_RANK];
    ox_broadcast_strides(a, out->rank, out->dims, sa);
    ox_broadcast_strides(b, out->rank, out->dims, sb);
    ox_binary_apply_mixed(fn, onyx_dtype_size(a->dtype), onyx_dtype_size(b->dtype),
                          onyx_dtype_size(out->dtype), out->rank, out->dims, a->data, sa,
                          b->data, sb, out->data, c->threads);
}

/* The eight plain integer types (not the unpacked sub-byte ones). */
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

/* ---- Pow ------------------------------------------------------------------------------- */

static onyx_status pow_kernel(ox_ctx *c, ox_binary_fn *fn)
{
    onyx_dtype base = c->in[0]->dtype, exponent = c->in[1]->dtype;
    *fn = ox_pow_kernel(base, exponent);
    if (!*fn)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "base dtype %s with exponent dtype %s is not "
                       "supported", onyx_dtype_name(base), onyx_dtype_name(exponent));
    return ONYX_OK;
}

static onyx_status pow_infer(ox_ctx *c)
{
    ox_binary_fn fn;
    onyx_tensor yv;
    onyx_status st = need_inputs(c, 2);
    if (!st) st = pow_kernel(c, &fn);
    if (!st) st = ox_legacy_broadcast(c, c->in[0], c->in[1], &yv);
    if (!st) st = set_broadcast(c, c->in[0], &yv, c->in[0]->dtype);
    return st;
}

static onyx_status pow_run(ox_ctx *c)
{
    ox_binary_fn fn;
    onyx_tensor yv;
    onyx_status st = pow_kernel(c, &fn);
    if (!st) st = ox_legacy_broadcast(c, c->in[0], c->in[1], &yv);
    if (!st) apply2(c, fn, c->in[0], &yv, c->out[0]);
    return st;
}

/* ---- Mod ------------------------------------------------------------------------------- */

static onyx_status mod_kernel(ox_ctx *c, ox_binary_fn *fn)
{
    onyx_status st = ox_attr_expect(c, "fmod", OX_ATTR_INT);
    if (st) return st;
    int64_t fmod = ox_attr_int(c, "fmod", 0);
    if (fmod != 0 && fmod != 1)
        return ox_fail(c, ONYX_E_ARG, "attribute fmod must be 0 or 1, got %lld", (long long)fmod);
    *fn = ox_mod_kernel(c->in[0]->dtype, fmod == 1);
    return *fn ? ONYX_OK : unsupported_dtype(c, c->in[0]->dtype);
}

static onyx_status mod_infer(ox_ctx *c)
{
    ox_binary_fn fn;
    onyx_status st = need_inputs(c, 2);
    if (!st) st = same_dtype(c, 1);
    if (!st) st = mod_kernel(c, &fn);
    if (!st) st = set_broadcast(c, c->in[0], c->in[1], c->in[0]->dtype);
    return st;
}

static onyx_status mod_run(ox_ctx *c)
{
    ox_binary_fn fn;
    onyx_status st = mod_kernel(c, &fn);
    if (!st) apply2(c, fn, c->in[0], c->in[1], c->out[0]);
    return st;
}

/* ---- PRelu ----------------------------------------------------------------------------- */

static onyx_status prelu_infer(ox_ctx *c)
{
    onyx_status st = need_inputs(c, 2);
    if (!st) st = same_dtype(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *slope = c->in[1];
    if (!ox_prelu_kernel(x->dtype)) return unsupported_dtype(c, x->dtype);
    /* Unidirectional: broadcasting slope with X must give X's shape. */
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    st = ox_broadcast_shape(c, x->rank, x->dims, slope->rank, slope->dims, &rank, dims);
    if (st) return st;
    bool same = rank == x->rank;
    for (int i = 0; same && i < rank; i++) same = dims[i] == x->dims[i];
    if (!same) {
        char sx[96], ss[96];
        return ox_fail(c, ONYX_E_SHAPE, "slope %s does not broadcast onto X %s",
                       ox_shape_str(ss, sizeof ss, slope->rank, slope->dims),
                       ox_shape_str(sx, sizeof sx, x->rank, x->dims));
    }
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status prelu_run(ox_ctx *c)
{
    ox_binary_fn fn = ox_prelu_kernel(c->in[0]->dtype);
    if (!fn) return unsupported_dtype(c, c->in[0]->dtype);
    apply2(c, fn, c->in[0], c->in[1], c->out[0]);
    return ONYX_OK;
}

/* ---- BitShift -------------------------------------------------------------------------- */

static onyx_status shift_kernel(ox_ctx *c, ox_binary_fn *fn)
{
    onyx_status st = ox_attr_expect(c, "direction", OX_ATTR_STRING);
    if (st) return st;
    const char *dir = ox_attr_string(c, "direction", NULL);
    if (!dir) return ox_fail(c, ONYX_E_ARG, "attribute direction is required");
    bool left = strcmp(dir, "LEFT") == 0;
    if (!left && strcmp(dir, "RIGHT") != 0)
        return ox_fail(c, ONYX_E_ARG, "direction must be LEFT or RIGHT, got '%s'", dir);
    *fn = ox_shift_kernel(c->in[0]->dtype, left);
    return *fn ? ONYX_OK : unsupported_dtype(c, c->in[0]->dtype);
}

static onyx_status shift_infer(ox_ctx *c)
{
    ox_binary_fn fn;
    onyx_status st = need_inputs(c, 2);
    if (!st) st = same_dtype(c, 1);
    if (!st) st = shift_kernel(c, &fn);
    if (!st) st = set_broadcast(c, c->in[0], c->in[1], c->in[0]->dtype);
    return st;
}

static onyx_status shift_run(ox_ctx *c)
{
    ox_binary_fn fn;
    onyx_status st = shift_kernel(c, &fn);
    if (!st) apply2(c, fn, c->in[0], c->in[1], c->out[0]);
    return st;
}

/* ---- BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot ------------------------------------- */

static onyx_status bitwise_infer(ox_ctx *c)
{
    onyx_status st = need_inputs(c, 2);
    if (!st) st = same_dtype(c, 1);
    if (st) return st;
    onyx_dtype t = c->in[0]->dtype;
    if (!is_plain_int(t)) return unsupported_dtype(c, t);
    return set_broadcast(c, c->in[0], c->in[1], t);
}

static onyx_status bitwise_run(ox_ctx *c, ox_bitop op)
{
    ox_binary_fn fn = ox_bitwise_kernel(op, onyx_dtype_size(c->in[0]->dtype));
    if (!fn) return unsupported_dtype(c, c->in[0]->dtype);
    apply2(c, fn, c->in[0], c->in[1], c->out[0]);
    return ONYX_OK;
}

static onyx_status and_run(ox_ctx *c) { return bitwise_run(c, OX_BIT_AND); }
static onyx_status or_run(ox_ctx *c) { return bitwise_run(c, OX_BIT_OR); }
static onyx_status xor_run(ox_ctx *c) { return bitwise_run(c, OX_BIT_XOR); }

static onyx_status not_infer(ox_ctx *c)
{
    onyx_status st = need_inputs(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    if (!is_plain_int(x->dtype)) return unsupported_dtype(c, x->dtype);
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status not_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    size_t es = onyx_dtype_size(x->dtype);
    ox_unary_fn fn = ox_bitwise_not_kernel(es);
    if (!fn) return unsupported_dtype(c, x->dtype);
    ox_unary_apply(fn, es, ox_tensor_numel(x), x->data, c->out[0]->data, c->threads);
    return ONYX_OK;
}

/* ---- Max, Min, Mean, Sum --------------------------------------------------------------- */

typedef enum fold_op { FOLD_MAX, FOLD_MIN, FOLD_MEAN, FOLD_SUM } fold_op;

/* The kernel that folds one more input into the running result. */
static ox_binary_fn fold_kernel(fold_op op, onyx_dtype t)
{
    switch (op) {
    case FOLD_MAX: return ox_minmax_kernel(t, true);
    case FOLD_MIN: return ox_minmax_kernel(t, false);
    case FOLD_MEAN: return ox_dtype_is_float(t) ? ox_binary_kernel(OX_BIN_ADD, t) : NULL;
    case FOLD_SUM: return ox_binary_kernel(OX_BIN_ADD, t);
    }
    return NULL;
}

static onyx_status fold_infer(ox_ctx *c, fold_op op)
{
    if (c->n_in < 1) return ox_fail(c, ONYX_E_ARG, "expects at least one input");
    onyx_status st = ox_need_io(c, c->n_in);
    if (st) return st;
    onyx_dtype t = c->in[0]->dtype;
    if (!fold_kernel(op, t)) return unsupported_dtype(c, t);
    onyx_tensor *out = c->out[0];
    ox_set_shape(out, t, c->in[0]->rank, c->in[0]->dims);
    for (int i = 1; i < c->n_in; i++) {
        if ((st = same_dtype(c, i))) return st;
        if ((st = set_broadcast(c, out, c->in[i], t))) return st;
    }
    return ONYX_OK;
}

/* Divides the sum in out by the input count (Mean; float types only). */
static void mean_divide(const ox_ctx *c, onyx_tensor *out)
{
    union {
        float f;
        double d;
        uint16_t h;
    } k;
    const float n = (float)c->n_in;
    switch (out->dtype) {
    case ONYX_DTYPE_DOUBLE: k.d = n; break;
    case ONYX_DTYPE_FLOAT16: k.h = ox_f32_to_f16(n); break;
    case ONYX_DTYPE_BFLOAT16: k.h = ox_f32_to_bf16(n); break;
    default: k.f = n; break;
    }
    onyx_tensor count = {.dtype = out->dtype, .rank = 0, .data = &k};
    apply2(c, ox_binary_kernel(OX_BIN_DIV, out->dtype), out, &count, out);
}

static onyx_status fold_run(ox_ctx *c, fold_op op)
{
    onyx_tensor *out = c->out[0];
    ox_binary_fn fn = fold_kernel(op, out->dtype);
    if (!fn) return unsupported_dtype(c, out->dtype);
    if (c->n_in == 1) {
        ox_copy_bytes(out->data, c->in[0]->data, ox_tensor_bytes(out));
        return ONYX_OK;
    }
    apply2(c, fn, c->in[0], c->in[1], out);
    for (int i = 2; i < c->n_in; i++) apply2(c, fn, out, c->in[i], out);
    if (op == FOLD_MEAN) mean_divide(c, out);
    return ONYX_OK;
}

static onyx_status max_infer(ox_ctx *c) { return fold_infer(c, FOLD_MAX); }
static onyx_status max_run(ox_ctx *c) { return fold_run(c, FOLD_MAX); }
static onyx_status min_infer(ox_ctx *c) { return fold_infer(c, FOLD_MIN); }
static onyx_status min_run(ox_ctx *c) { return fold_run(c, FOLD_MIN); }
static onyx_status mean_infer(ox_ctx *c) { return fold_infer(c, FOLD_MEAN); }
static onyx_status mean_run(ox_ctx *c) { return fold_run(c, FOLD_MEAN); }
static onyx_status sum_infer(ox_ctx *c) { return fold_infer(c, FOLD_SUM); }
static onyx_status sum_run(ox_ctx *c) { return fold_run(c, FOLD_SUM); }

const ox_op ox_ops_binary[] = {
    {"Pow", "", 1, 28, pow_infer, pow_run, 0},
    {"Mod", "", 10, 28, mod_infer, mod_run, 0},
    {"PRelu", "", 1, 28, prelu_infer, prelu_run, 0},
    {"BitShift", "", 11, 28, shift_infer, shift_run, 0},
    {"BitwiseAnd", "", 18, 28, bitwise_infer, and_run, 0},
    {"BitwiseOr", "", 18, 28, bitwise_infer, or_run, 0},
    {"BitwiseXor", "", 18, 28, bitwise_infer, xor_run, 0},
    {"BitwiseNot", "", 18, 28, not_infer, not_run, 0},
    {"Max", "", 1, 28, max_infer, max_run, 0},
    {"Min", "", 1, 28, min_infer, min_run, 0},
    {"Mean", "", 1, 28, mean_infer, mean_run, 0},
    {"Sum", "", 1, 28, sum_infer, sum_run, 0},
};
const size_t ox_ops_binary_count = sizeof ox_ops_binary / sizeof ox_ops_binary[0];
