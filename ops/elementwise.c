/* elementwise.c — Add, Sub, Mul, Div (broadcasting), Relu, Sigmoid, Tanh and Clip.
 *
 * Version differences handled here:
 *   Add/Sub/Mul/Div before opset 7 broadcast only when the `broadcast` attribute is set, and
 *   then B's shape lines up with A's dims starting at `axis` (default: the trailing dims);
 *   from 7 both operands broadcast numpy-style.
 *   Clip before opset 11 takes min/max as attributes (opset 6 defaults them to the float32
 *   limits, opset 1 to no bound); from 11 they are optional scalar inputs.
 *   `consumed_inputs` (opset 1) is a legacy hint and is ignored. */
#include <float.h>

#include "elementwise.h"
#include "op.h"

/* ---- Add, Sub, Mul, Div ---------------------------------------------------------------- */

static onyx_status binary_infer(ox_ctx *c)
{
    if (c->n_in != 2 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects 2 inputs and 1 output");
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    if (a->dtype != b->dtype)
        return ox_fail(c, ONYX_E_SHAPE, "input dtypes differ: %s and %s",
                       onyx_dtype_name(a->dtype), onyx_dtype_name(b->dtype));
    if (!ox_binary_kernel(OX_BIN_ADD, a->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                       onyx_dtype_name(a->dtype));
    onyx_tensor bv;
    onyx_status st = ox_legacy_broadcast(c, a, b, &bv);
    if (st) return st;
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    st = ox_broadcast_shape(c, a->rank, a->dims, bv.rank, bv.dims, &rank, dims);
    if (st) return st;
    ox_set_shape(c->out[0], a->dtype, rank, dims);
    return ONYX_OK;
}

static onyx_status binary_run(ox_ctx *c, ox_binop op)
{
    const onyx_tensor *a = c->in[0];
    onyx_tensor *out = c->out[0];
    onyx_tensor bv;
    onyx_status st = ox_legacy_broadcast(c, a, c->in[1], &bv);
    if (st) return st;
    ox_binary_fn fn = ox_binary_kernel(op, a->dtype);
    if (!fn) return ox_fail(c, ONYX_E_INTERNAL, "no kernel for %s", onyx_dtype_name(a->dtype));
    int64_t sa[ONYX_MAX_RANK], sb[ONYX_MAX_RANK];
    ox_broadcast_strides(a, out->rank, out->dims, sa);
    ox_broadcast_strides(&bv, out->rank, out->dims, sb);
    ox_binary_apply(fn, onyx_dtype_size(a->dtype), out->rank, out->dims, a->data, sa, bv.data,
                    sb, out->data, c->threads);
    return ONYX_OK;
}

static onyx_status add_run(ox_ctx *c) { return binary_run(c, OX_BIN_ADD); }
static onyx_status sub_run(ox_ctx *c) { return binary_run(c, OX_BIN_SUB); }
static onyx_status mul_run(ox_ctx *c) { return binary_run(c, OX_BIN_MUL); }
static onyx_status div_run(ox_ctx *c) { return binary_run(c, OX_BIN_DIV); }

/* ---- Relu, Sigmoid, Tanh --------------------------------------------------------------- */

static onyx_status unary_infer(ox_ctx *c, ox_unop op)
{
    if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects 1 input and 1 output");
    const onyx_tensor *x = c->in[0];
    if (!ox_unary_kernel(op, x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                       onyx_dtype_name(x->dtype));
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status unary_run(ox_ctx *c, ox_unop op)
{
    const onyx_tensor *x = c->in[0];
    ox_unary_fn fn = ox_unary_kernel(op, x->dtype);
    if (!fn) return ox_fail(c, ONYX_E_INTERNAL, "no kernel for %s", onyx_dtype_name(x->dtype));
    ox_unary_apply(fn, onyx_dtype_size(x->dtype), ox_tensor_numel(x), x->data, c->out[0]->data,
                   c->threads);
    return ONYX_OK;
}

static onyx_status relu_infer(ox_ctx *c) { return unary_infer(c, OX_UN_RELU); }
static onyx_status relu_run(ox_ctx *c) { return unary_run(c, OX_UN_RELU); }
static onyx_status sigmoid_infer(ox_ctx *c) { return unary_infer(c, OX_UN_SIGMOID); }
static onyx_status sigmoid_run(ox_ctx *c) { return unary_run(c, OX_UN_SIGMOID); }
static onyx_status tanh_infer(ox_ctx *c) { return unary_infer(c, OX_UN_TANH); }
static onyx_status tanh_run(ox_ctx *c) { return unary_run(c, OX_UN_TANH); }

/* ---- Clip ------------------------------------------------------------------------------ */

/* A bound as one element of the input's dtype. */
typedef struct bound {
    bool present;
    union {
        float f;
        double d;
        uint16_t h;
    } v;
} bound;

/* Stores attribute value f as one element of float dtype t. */
static void bound_from_attr(bound *b, onyx_dtype t, float f)
{
    b->present = true;
    switch (t) {
    case ONYX_DTYPE_DOUBLE: b->v.d = f; break;
    case ONYX_DTYPE_FLOAT16: b->v.h = ox_f32_to_f16(f); break;
    case ONYX_DTYPE_BFLOAT16: b->v.h = ox_f32_to_bf16(f); break;
    default: b->v.f = f; break;
    }
}

/* Opset < 11: the bounds are attributes; opset 6 defaults them to the float32 limits. */
static void clip_attr_bounds(const ox_ctx *c, onyx_dtype t, bound *lo, bound *hi)
{
    lo->present = hi->present = false;
    bool defaults = c->opset >= 6;
    if (defaults || ox_attr_has(c, "min"))
        bound_from_attr(lo, t, ox_attr_float(c, "min", -FLT_MAX));
    if (defaults || ox_attr_has(c, "max"))
        bound_from_attr(hi, t, ox_attr_float(c, "max", FLT_MAX));
}

static onyx_status clip_infer(ox_ctx *c)
{
    if (c->n_in < 1 || c->n_in > 3 || !c->in[0] || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects 1 to 3 inputs and 1 output");
    const onyx_tensor *x = c->in[0];
    if (c->opset < 11) {
        if (c->n_in != 1)
            return ox_fail(c, ONYX_E_ARG, "takes min/max as attributes before opset 11");
        if (!ox_dtype_is_float(x->dtype) || !ox_clip_supported(x->dtype))
            return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                           onyx_dtype_name(x->dtype));
        onyx_status st = ox_attr_expect(c, "min", OX_ATTR_FLOAT);
        if (!st) st = ox_attr_expect(c, "max", OX_ATTR_FLOAT);
        if (st) return st;
    } else {
        if (!ox_clip_supported(x->dtype))
            return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                           onyx_dtype_name(x->dtype));
        for (int i = 1; i < c->n_in; i++) {
            const onyx_tensor *b = c->in[i];
            if (!b) continue;
            if (b->dtype != x->dtype)
                return ox_fail(c, ONYX_E_SHAPE, "%s has dtype %s, input has %s",
                               i == 1 ? "min" : "max", onyx_dtype_name(b->dtype),
                               onyx_dtype_name(x->dtype));
            if (ox_tensor_numel(b) != 1)
                return ox_fail(c, ONYX_E_SHAPE, "%s must be a scalar", i == 1 ? "min" : "max");
        }
    }
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status clip_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    const void *lo = NULL, *hi = NULL;
    bound blo, bhi;
    if (c->opset < 11) {
        clip_attr_bounds(c, x->dtype, &blo, &bhi);
        lo = blo.present ? (const void *)&blo.v : NULL;
        hi = bhi.present ? (const void *)&bhi.v : NULL;
    } else {
        if (c->n_in > 1 && c->in[1]) lo = c->in[1]->data;
        if (c->n_in > 2 && c->in[2]) hi = c->in[2]->data;
    }
    if (!ox_clip(x->dtype, ox_tensor_numel(x), x->data, lo, hi, c->out[0]->data, c->threads))
        return ox_fail(c, ONYX_E_INTERNAL, "no kernel for %s", onyx_dtype_name(x->dtype));
    return ONYX_OK;
}

const ox_op ox_ops_elementwise[] = {
    {"Add", "", 1, 28, binary_infer, add_run, 0},
    {"Sub", "", 1, 28, binary_infer, sub_run, 0},
    {"Mul", "", 1, 28, binary_infer, mul_run, 0},
    {"Div", "", 1, 28, binary_infer, div_run, 0},
    {"Relu", "", 1, 28, relu_infer, relu_run, 0},
    {"Sigmoid", "", 1, 28, sigmoid_infer, sigmoid_run, 0},
    {"Tanh", "", 1, 28, tanh_infer, tanh_run, 0},
    {"Clip", "", 1, 28, clip_infer, clip_run, 0},
};
const size_t ox_ops_elementwise_count = sizeof ox_ops_elementwise / sizeof ox_ops_elementwise[0];
