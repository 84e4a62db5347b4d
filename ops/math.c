/* math.c — the unary math and activation ops of ai.onnx: Abs … Tan (trigonometric,
 * hyperbolic, exp/log, rounding), the parameterised activations (Celu, Elu, Gelu,
 * HardSigmoid, HardSwish, LeakyRelu, Mish, Selu, Shrink, Softplus, Softsign, Swish,
 * ThresholdedRelu) and the predicates IsInf and IsNaN. Relu, Sigmoid and Tanh are in
 * elementwise.c.
 *
 * Every op has one output of its input's shape, so all of them share one infer and one run;
 * a table row per op gives the kernel (kernels/unary.h), the attribute reader and the dtypes
 * each version of the schema allows. Version differences:
 *   dtypes: most ops gain bfloat16 at opset 13 or 22; Erf takes integers only in 9–12; Celu
 *   takes float32 only before 28; IsNaN/IsInf gain float8 at 20 (IsInf float16 too).
 *   Selu's default alpha/gamma were given to 4 decimals in opset 1 and to float precision from 6.
 *   `consumed_inputs` (opset 1) is a legacy hint and is ignored. */
#include <string.h>

#include "op.h"
#include "unary.h"

/* ---- dtype sets ------------------------------------------------------------------------ */

#define BIT(t) (1u << (t))
#define F32 BIT(ONYX_DTYPE_FLOAT)
#define FP (BIT(ONYX_DTYPE_FLOAT16) | BIT(ONYX_DTYPE_FLOAT) | BIT(ONYX_DTYPE_DOUBLE))
#define BF BIT(ONYX_DTYPE_BFLOAT16)
#define F32_64 (BIT(ONYX_DTYPE_FLOAT) | BIT(ONYX_DTYPE_DOUBLE))
#define SINT (BIT(ONYX_DTYPE_INT8) | BIT(ONYX_DTYPE_INT16) | BIT(ONYX_DTYPE_INT32) | \
              BIT(ONYX_DTYPE_INT64))
#define UINT (BIT(ONYX_DTYPE_UINT8) | BIT(ONYX_DTYPE_UINT16) | BIT(ONYX_DTYPE_UINT32) | \
              BIT(ONYX_DTYPE_UINT64))
#define INT (SINT | UINT)
#define F8 (BIT(ONYX_DTYPE_FLOAT8E4M3FN) | BIT(ONYX_DTYPE_FLOAT8E4M3FNUZ) | \
            BIT(ONYX_DTYPE_FLOAT8E5M2) | BIT(ONYX_DTYPE_FLOAT8E5M2FNUZ))

/* ---- attributes ------------------------------------------------------------------------ */

/* Reads a node's attributes into the kernel's arguments; may pick the kernel (Gelu). */
typedef onyx_status (*attr_fn)(ox_ctx *c, ox_math_op *op, ox_math_args *a);

static onyx_status float_attr(ox_ctx *c, const char *name, float def, double *out)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_FLOAT);
    if (st) return st;
    *out = ox_attr_float(c, name, def);
    return ONYX_OK;
}

/* Elu, Swish, ThresholdedRelu: alpha, default 1. */
static onyx_status alpha_one(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)op;
    return float_attr(c, "alpha", 1.0f, &a->alpha);
}

/* Celu divides by alpha. */
static onyx_status celu_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    onyx_status st = alpha_one(c, op, a);
    if (st) return st;
    if (a->alpha == 0) return ox_fail(c, ONYX_E_ARG, "attribute 'alpha' must not be 0");
    return ONYX_OK;
}

static onyx_status leaky_relu_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)op;
    return float_attr(c, "alpha", 0.01f, &a->alpha);
}

static onyx_status hard_sigmoid_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)op;
    onyx_status st = float_attr(c, "alpha", 0.2f, &a->alpha);
    if (st) return st;
    return float_attr(c, "beta", 0.5f, &a->beta);
}

static onyx_status selu_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)op;
    bool v1 = c->opset < 6;
    onyx_status st = float_attr(c, "alpha", v1 ? 1.6732f : 1.67326319217681884765625f, &a->alpha);
    if (st) return st;
    return float_attr(c, "gamma", v1 ? 1.0507f : 1.05070102214813232421875f, &a->gamma);
}

/* The kernel's Shrink reads lambd as alpha and bias as beta. */
static onyx_status shrink_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)op;
    onyx_status st = float_attr(c, "lambd", 0.5f, &a->alpha);
    if (st) return st;
    return float_attr(c, "bias", 0.0f, &a->beta);
}

static onyx_status gelu_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)a;
    onyx_status st = ox_attr_expect(c, "approximate", OX_ATTR_STRING);
    if (st) return st;
    const char *approx = ox_attr_string(c, "approximate", "none");
    if (!strcmp(approx, "none")) {
        *op = OX_MATH_GELU;
    } else if (!strcmp(approx, "tanh")) {
        *op = OX_MATH_GELU_TANH;
    } else {
        return ox_fail(c, ONYX_E_ARG, "attribute 'approximate' is '%s', expected 'none' or 'tanh'",
                       approx);
    }
    return ONYX_OK;
}

static onyx_status is_inf_attrs(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    (void)op;
    onyx_status st = ox_attr_expect(c, "detect_positive", OX_ATTR_INT);
    if (!st) st = ox_attr_expect(c, "detect_negative", OX_ATTR_INT);
    if (st) return st;
    a->pos_inf = ox_attr_int(c, "detect_positive", 1) != 0;
    a->neg_inf = ox_attr_int(c, "detect_negative", 1) != 0;
    return ONYX_OK;
}

/* ---- the ops --------------------------------------------------------------------------- */

/* One row per op: ONNX name, kernel (OX_MATH_<k>), attribute reader (NULL: none), then up to
 * three (since_version, dtypes) pairs from the schema's history, oldest first (0, 0 pads).
 * The first since_version is the registry's min_opset. */
#define MATH_OPS(X)                                                              \
    X("Abs", ABS, NULL, 1, FP, 6, FP | INT, 13, FP | BF | INT)                   \
    X("Acos", ACOS, NULL, 7, FP, 22, FP | BF, 0, 0)                              \
    X("Acosh", ACOSH, NULL, 9, FP, 22, FP | BF, 0, 0)                            \
    X("Asin", ASIN, NULL, 7, FP, 22, FP | BF, 0, 0)                              \
    X("Asinh", ASINH, NULL, 9, FP, 22, FP | BF, 0, 0)                            \
    X("Atan", ATAN, NULL, 7, FP, 22, FP | BF, 0, 0)                              \
    X("Atanh", ATANH, NULL, 9, FP, 22, FP | BF, 0, 0)                            \
    X("Ceil", CEIL, NULL, 1, FP, 13, FP | BF, 0, 0)                              \
    X("Celu", CELU, celu_attrs, 12, F32, 28, FP | BF, 0, 0)                      \
    X("Cos", COS, NULL, 7, FP, 22, FP | BF, 0, 0)                                \
    X("Cosh", COSH, NULL, 9, FP, 22, FP | BF, 0, 0)                              \
    X("Elu", ELU, alpha_one, 1, FP, 22, FP | BF, 0, 0)                           \
    X("Erf", ERF, NULL, 9, FP | INT, 13, FP | BF, 0, 0)                          \
    X("Exp", EXP, NULL, 1, FP, 13, FP | BF, 0, 0)                                \
    X("Floor", FLOOR, NULL, 1, FP, 13, FP | BF, 0, 0)                            \
    X("Gelu", GELU, gelu_attrs, 20, FP | BF, 0, 0, 0, 0)                         \
    X("HardSigmoid", HARD_SIGMOID, hard_sigmoid_attrs, 1, FP, 22, FP | BF, 0, 0) \
    X("HardSwish", HARD_SWISH, NULL, 14, FP, 22, FP | BF, 0, 0)                  \
    X("IsInf", IS_INF, is_inf_attrs, 10, F32_64, 20, FP | BF | F8, 0, 0)        \
    X("IsNaN", IS_NAN, NULL, 9, FP, 13, FP | BF, 20, FP | BF | F8)               \
    X("LeakyRelu", LEAKY_RELU, leaky_relu_attrs, 1, FP, 16, FP | BF, 0, 0)       \
    X("Log", LOG, NULL, 1, FP, 13, FP | BF, 0, 0)                                \
    X("Mish", MISH, NULL, 18, FP, 22, FP | BF, 0, 0)                             \
    X("Neg", NEG, NULL, 1, FP, 6, FP | SINT, 13, FP | BF | SINT)                 \
    X("Reciprocal", RECIPROCAL, NULL, 1, FP, 13, FP | BF, 0, 0)                  \
    X("Round", ROUND, NULL, 11, FP, 22, FP | BF, 0, 0)                           \
    X("Selu", SELU, selu_attrs, 1, FP, 22, FP | BF, 0, 0)                        \
    X("Shrink", SHRINK, shrink_attrs, 9, FP | INT, 0, 0, 0, 0)                   \
    X("Sign", SIGN, NULL, 9, FP | INT, 13, FP | BF | INT, 0, 0)                  \
    X("Sin", SIN, NULL, 7, FP, 22, FP | BF, 0, 0)                                \
    X("Sinh", SINH, NULL, 9, FP, 22, FP | BF, 0, 0)                              \
    X("Softplus", SOFTPLUS, NULL, 1, FP, 22, FP | BF, 0, 0)                      \
    X("Softsign", SOFTSIGN, NULL, 1, FP, 22, FP | BF, 0, 0)                      \
    X("Sqrt", SQRT, NULL, 1, FP, 13, FP | BF, 0, 0)                              \
    X("Swish", SWISH, alpha_one, 24, FP | BF, 0, 0, 0, 0)                        \
    X("Tan", TAN, NULL, 7, FP, 22, FP | BF, 0, 0)                                \
    X("ThresholdedRelu", THRESHOLDED_RELU, alpha_one, 10, FP, 22, FP | BF, 0, 0)

typedef struct math_def {
    const char *name;
    ox_math_op op;
    attr_fn attrs;
    struct {
        int since;
        uint32_t dtypes;
    } versions[3];
} math_def;

#define DEF_ROW(name, k, attrs, s0, d0, s1, d1, s2, d2) \
    {name, OX_MATH_##k, attrs, {{s0, d0}, {s1, d1}, {s2, d2}}},
static const math_def defs[] = {MATH_OPS(DEF_ROW)};

static const math_def *find_def(const char *op_type)
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (!strcmp(defs[i].name, op_type)) return &defs[i];
    return NULL;
}

/* The dtypes the schema in force at `opset` allows. */
static uint32_t allowed_dtypes(const math_def *d, int opset)
{
    uint32_t allowed = 0;
    for (int v = 0; v < 3 && d->versions[v].since && d->versions[v].since <= opset; v++)
        allowed = d->versions[v].dtypes;
    return allowed;
}

/* What this node computes: the kernel and its arguments. */
static onyx_status node_call(ox_ctx *c, ox_math_op *op, ox_math_args *a)
{
    const math_def *d = find_def(c->node->op_type);
    if (!d) return ox_fail(c, ONYX_E_INTERNAL, "not a math op");
    *op = d->op;
    *a = (ox_math_args){0};
    return d->attrs ? d->attrs(c, op, a) : ONYX_OK;
}

static onyx_status math_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    if (c->n_in != 1 || c->n_out != 1) return ox_fail(c, ONYX_E_ARG, "expects 1 input and 1 output");
    const math_def *d = find_def(c->node->op_type);
    if (!d) return ox_fail(c, ONYX_E_INTERNAL, "not a math op");
    const onyx_tensor *x = c->in[0];
    unsigned t = (unsigned)x->dtype;
    if (t >= 32 || !(allowed_dtypes(d, c->opset) >> t & 1u))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "input dtype %s is not allowed at opset %d",
                       onyx_dtype_name(x->dtype), c->opset);
    ox_math_op op;
    ox_math_args args;
    if ((st = node_call(c, &op, &args))) return st;
    if (!ox_math_supported(op, x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                       onyx_dtype_name(x->dtype));
    onyx_dtype out = ox_math_is_predicate(op) ? ONYX_DTYPE_BOOL : x->dtype;
    ox_set_shape(c->out[0], out, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status math_run(ox_ctx *c)
{
    ox_math_op op;
    ox_math_args args;
    onyx_status st = node_call(c, &op, &args);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    if (!ox_math(op, x->dtype, &args, ox_tensor_numel(x), x->data, c->out[0]->data, c->threads))
        return ox_fail(c, ONYX_E_INTERNAL, "no kernel for %s", onyx_dtype_name(x->dtype));
    return ONYX_OK;
}

#define REG_ROW(name, k, attrs, s0, ...) {name, "", s0, 28, math_infer, math_run, 0},
const ox_op ox_ops_math[] = {MATH_OPS(REG_ROW)};
const size_t ox_ops_math_count = sizeof ox_ops_math / sizeof ox_ops_math[0];
