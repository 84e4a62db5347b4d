/* test_math.c — the unary math family: kernel edge cases (rounding, integer wraparound and
 * saturation, NaN handling, float8 predicates, thread-count independence) and the ops'
 * error paths on one-node models (bad attributes, dtypes the schema version refuses). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "onnx.pb-c.h"
#include "onyx.h"
#include "unary.h"

/* ---- kernels --------------------------------------------------------------------------- */

static const ox_math_args no_args;

static void test_round(void)
{
    const double x[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -0.4, 1e300, INFINITY};
    const double want[] = {0, 2, 2, -0.0, -2, -2, 2, -0.0, 1e300, INFINITY};
    double y[10];
    CHECK(ox_math(OX_MATH_ROUND, ONYX_DTYPE_DOUBLE, &no_args, 10, x, y, 1));
    for (int i = 0; i < 10; i++)
        CHECK_MSG(y[i] == want[i] && signbit(y[i]) == signbit(want[i]), "round(%g) = %g", x[i], y[i]);
    double nan_in = NAN, nan_out = 0;
    CHECK(ox_math(OX_MATH_ROUND, ONYX_DTYPE_DOUBLE, &no_args, 1, &nan_in, &nan_out, 1) && isnan(nan_out));
}

static void test_integers(void)
{
    const int8_t x8[] = {-128, -1, 0, 127};
    int8_t y8[4];
    CHECK(ox_math(OX_MATH_ABS, ONYX_DTYPE_INT8, &no_args, 4, x8, y8, 1));
    CHECK(y8[0] == -128 && y8[1] == 1 && y8[2] == 0 && y8[3] == 127);
    CHECK(ox_math(OX_MATH_NEG, ONYX_DTYPE_INT8, &no_args, 4, x8, y8, 1));
    CHECK(y8[0] == -128 && y8[1] == 1 && y8[2] == 0 && y8[3] == -127);
    CHECK(ox_math(OX_MATH_SIGN, ONYX_DTYPE_INT8, &no_args, 4, x8, y8, 1));
    CHECK(y8[0] == -1 && y8[1] == -1 && y8[2] == 0 && y8[3] == 1);

    /* int64 beyond 2^53 stays exact */
    const int64_t x64[] = {INT64_MIN, -9007199254740993LL, INT64_MAX};
    int64_t y64[3];
    CHECK(ox_math(OX_MATH_ABS, ONYX_DTYPE_INT64, &no_args, 3, x64, y64, 1));
    CHECK(y64[0] == INT64_MIN && y64[1] == 9007199254740993LL && y64[2] == INT64_MAX);

    const uint16_t xu[] = {0, 7, 65535};
    uint16_t yu[3];
    CHECK(ox_math(OX_MATH_SIGN, ONYX_DTYPE_UINT16, &no_args, 3, xu, yu, 1));
    CHECK(yu[0] == 0 && yu[1] == 1 && yu[2] == 1);
    CHECK(ox_math(OX_MATH_ABS, ONYX_DTYPE_UINT16, &no_args, 3, xu, yu, 1));
    CHECK(yu[2] == 65535);

    /* Shrink and Erf on integers compute in double, truncate and saturate */
    ox_math_args shrink = {.alpha = 0.5, .beta = -100};
    const int8_t xs[] = {100, -100, 0, 1};
    int8_t ys[4];
    CHECK(ox_math(OX_MATH_SHRINK, ONYX_DTYPE_INT8, &shrink, 4, xs, ys, 1));
    CHECK(ys[0] == 127 && ys[1] == -128 && ys[2] == 0 && ys[3] == 101);
    const uint8_t xsu[] = {3};
    uint8_t ysu[1];
    shrink.beta = 10;
    CHECK(ox_math(OX_MATH_SHRINK, ONYX_DTYPE_UINT8, &shrink, 1, xsu, ysu, 1) && ysu[0] == 0);
    const int32_t xe[] = {0, 1, 6, -6};
    int32_t ye[4];
    CHECK(ox_math(OX_MATH_ERF, ONYX_DTYPE_INT32, &no_args, 4, xe, ye, 1));
    CHECK(ye[0] == 0 && ye[1] == 0 && ye[2] == 1 && ye[3] == -1);

    /* what the kernels refuse */
    CHECK(!ox_math_supported(OX_MATH_NEG, ONYX_DTYPE_UINT8));
    CHECK(!ox_math_supported(OX_MATH_ACOS, ONYX_DTYPE_INT32));
    CHECK(!ox_math_supported(OX_MATH_IS_NAN, ONYX_DTYPE_INT32));
    CHECK(!ox_math_supported(OX_MATH_EXP, ONYX_DTYPE_BOOL));
    CHECK(!ox_math_supported(OX_MATH_COUNT_, ONYX_DTYPE_FLOAT));
    CHECK(!ox_math(OX_MATH_EXP, ONYX_DTYPE_STRING, &no_args, 0, NULL, NULL, 1));
}

static void test_float_edges(void)
{
    /* NaN propagates through HardSigmoid's clamp; ThresholdedRelu and Shrink map it to 0 */
    ox_math_args hs = {.alpha = 0.2, .beta = 0.5};
    const float x[] = {NAN, -10, 10, 0};
    float y[4];
    CHECK(ox_math(OX_MATH_HARD_SIGMOID, ONYX_DTYPE_FLOAT, &hs, 4, x, y, 1));
    CHECK(isnan(y[0]) && y[1] == 0 && y[2] == 1 && y[3] == 0.5f);
    ox_math_args tr = {.alpha = 1};
    CHECK(ox_math(OX_MATH_THRESHOLDED_RELU, ONYX_DTYPE_FLOAT, &tr, 4, x, y, 1));
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 10 && y[3] == 0);
    CHECK(ox_math(OX_MATH_SIGN, ONYX_DTYPE_FLOAT, &no_args, 4, x, y, 1));
    CHECK(isnan(y[0]) && y[1] == -1 && y[2] == 1 && y[3] == 0);

    /* Softplus and Gelu do not overflow or cancel at the extremes */
    const double big[] = {1000, -1000, -20};
    double r[3];
    CHECK(ox_math(OX_MATH_SOFTPLUS, ONYX_DTYPE_DOUBLE, &no_args, 2, big, r, 1));
    CHECK(r[0] == 1000 && r[1] == 0);
    CHECK(ox_math(OX_MATH_GELU, ONYX_DTYPE_DOUBLE, &no_args, 3, big, r, 1));
    CHECK(r[0] == 1000 && r[1] == 0 && r[2] < -1e-90 && r[2] > -1e-85); /* erf would cancel to 0 */

    /* float16 and bfloat16 go through float32 */
    const uint16_t h[] = {0x0000, 0x3c00, 0xbc00}; /* 0, 1, -1 */
    uint16_t hy[3];
    CHECK(ox_math(OX_MATH_EXP, ONYX_DTYPE_FLOAT16, &no_args, 3, h, hy, 1));
    CHECK(hy[0] == 0x3c00 && hy[1] == ox_f32_to_f16(2.718281828f) && hy[2] == ox_f32_to_f16(0.367879441f));
    const uint16_t b[] = {0x3f80, 0xc000}; /* 1, -2 */
    uint16_t by[2];
    CHECK(ox_math(OX_MATH_NEG, ONYX_DTYPE_BFLOAT16, &no_args, 2, b, by, 1));
    CHECK(by[0] == 0xbf80 && by[1] == 0x4000);
}

static void test_predicates(void)
{
    ox_math_args both = {.pos_inf = true, .neg_inf = true}, pos = {.pos_inf = true};
    const float x[] = {INFINITY, -INFINITY, NAN, 1};
    uint8_t y[4];
    CHECK(ox_math(OX_MATH_IS_INF, ONYX_DTYPE_FLOAT, &both, 4, x, y, 1));
    CHECK(y[0] == 1 && y[1] == 1 && y[2] == 0 && y[3] == 0);
    CHECK(ox_math(OX_MATH_IS_INF, ONYX_DTYPE_FLOAT, &pos, 4, x, y, 1));
    CHECK(y[0] == 1 && y[1] == 0);
    CHECK(ox_math(OX_MATH_IS_NAN, ONYX_DTYPE_FLOAT, &no_args, 4, x, y, 1));
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 1 && y[3] == 0);

    const uint8_t e5m2[] = {0x7c, 0xfc, 0x7d, 0xff, 0x7b, 0x80};
    uint8_t r[6];
    CHECK(ox_math(OX_MATH_IS_INF, ONYX_DTYPE_FLOAT8E5M2, &both, 6, e5m2, r, 1));
    CHECK(r[0] == 1 && r[1] == 1 && r[2] == 0 && r[3] == 0 && r[4] == 0 && r[5] == 0);
    CHECK(ox_math(OX_MATH_IS_NAN, ONYX_DTYPE_FLOAT8E5M2, &no_args, 6, e5m2, r, 1));
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == 1 && r[3] == 1 && r[4] == 0 && r[5] == 0);
    const uint8_t e4m3[] = {0x7f, 0xff, 0x7e, 0x80};
    CHECK(ox_math(OX_MATH_IS_NAN, ONYX_DTYPE_FLOAT8E4M3FN, &no_args, 4, e4m3, r, 1));
    CHECK(r[0] == 1 && r[1] == 1 && r[2] == 0 && r[3] == 0);
    CHECK(ox_math(OX_MATH_IS_NAN, ONYX_DTYPE_FLOAT8E4M3FNUZ, &no_args, 4, e4m3, r, 1));
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 1);
    CHECK(ox_math(OX_MATH_IS_INF, ONYX_DTYPE_FLOAT8E5M2FNUZ, &both, 4, e4m3, r, 1));
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0);
}

/* Results do not depend on the thread count. */
static void test_threads(void)
{
    enum { N = 100003 };
    float *x = malloc(N * sizeof *x), *y1 = malloc(N * sizeof *y1), *y4 = malloc(N * sizeof *y4);
    uint16_t *h = malloc(N * sizeof *h), *h1 = malloc(N * sizeof *h1), *h4 = malloc(N * sizeof *h4);
    if (!x || !y1 || !y4 || !h || !h1 || !h4) {
        CHECK(0);
    } else {
        for (int i = 0; i < N; i++) {
            x[i] = (float)((i * 7919) % 2001 - 1000) / 97.0f;
            h[i] = ox_f32_to_f16(x[i]);
        }
        CHECK(ox_math(OX_MATH_GELU_TANH, ONYX_DTYPE_FLOAT, &no_args, N, x, y1, 1));
        CHECK(ox_math(OX_MATH_GELU_TANH, ONYX_DTYPE_FLOAT, &no_args, N, x, y4, 4));
        CHECK(!memcmp(y1, y4, N * sizeof *y1));
        CHECK(ox_math(OX_MATH_MISH, ONYX_DTYPE_FLOAT16, &no_args, N, h, h1, 1));
        CHECK(ox_math(OX_MATH_MISH, ONYX_DTYPE_FLOAT16, &no_args, N, h, h4, 3));
        CHECK(!memcmp(h1, h4, N * sizeof *h1));
    }
    free(x), free(y1), free(y4), free(h), free(h1), free(h4);
}

/* ---- one-node models ------------------------------------------------------------------- */

typedef struct one_node {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto node, *nodes[1];
    Onnx__AttributeProto attrs[2], *attr_ptrs[2];
    Onnx__ValueInfoProto vi[3], *ins[2], *outs[1];
    Onnx__TypeProto types[3];
    Onnx__TypeProto__Tensor tensor_types[3];
    Onnx__TensorShapeProto shapes[3];
    Onnx__TensorShapeProto__Dimension dims[3], *dim_ptrs[3];
    char *in_names[2], *out_names[1];
} one_node;

static void value(one_node *b, int k, const char *name, int dtype)
{
    onnx__value_info_proto__init(&b->vi[k]);
    onnx__type_proto__init(&b->types[k]);
    onnx__type_proto__tensor__init(&b->tensor_types[k]);
    onnx__tensor_shape_proto__init(&b->shapes[k]);
    onnx__tensor_shape_proto__dimension__init(&b->dims[k]);
    b->dims[k].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    b->dims[k].dim_value = 4;
    b->dim_ptrs[k] = &b->dims[k];
    b->shapes[k].n_dim = 1;
    b->shapes[k].dim = &b->dim_ptrs[k];
    b->tensor_types[k].elem_type = dtype;
    b->tensor_types[k].has_elem_type = 1;
    b->tensor_types[k].shape = &b->shapes[k];
    b->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->types[k].tensor_type = &b->tensor_types[k];
    b->vi[k].name = (char *)name;
    b->vi[k].type = &b->types[k];
}

/* y = op(x) with x of dtype `in` and shape [4]; n_in 2 adds a second input "x2". */
static void one_init(one_node *b, const char *op, int opset, int in, int out, int n_in)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    onnx__node_proto__init(&b->node);
    b->opset.version = opset;
    b->opset.has_version = 1;
    b->opsets[0] = &b->opset;
    b->model.ir_version = 10;
    b->model.has_ir_version = 1;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.graph = &b->graph;
    b->graph.name = "g";
    value(b, 0, "x", in);
    value(b, 1, "x2", in);
    value(b, 2, "y", out);
    b->ins[0] = &b->vi[0];
    b->ins[1] = &b->vi[1];
    b->outs[0] = &b->vi[2];
    b->graph.input = b->ins;
    b->graph.n_input = (size_t)n_in;
    b->graph.output = b->outs;
    b->graph.n_output = 1;
    b->in_names[0] = "x";
    b->in_names[1] = "x2";
    b->out_names[0] = "y";
    b->node.name = "the_node";
    b->node.op_type = (char *)op;
    b->node.input = b->in_names;
    b->node.n_input = (size_t)n_in;
    b->node.output = b->out_names;
    b->node.n_output = 1;
    b->node.attribute = b->attr_ptrs;
    b->nodes[0] = &b->node;
    b->graph.node = b->nodes;
    b->graph.n_node = 1;
}

static Onnx__AttributeProto *attr(one_node *b, const char *name, Onnx__AttributeProto__AttributeType t)
{
    Onnx__AttributeProto *a = &b->attrs[b->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->type = t;
    a->has_type = 1;
    b->attr_ptrs[b->node.n_attribute++] = a;
    return a;
}

static void attr_f(one_node *b, const char *name, float f)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->f = f;
    a->has_f = 1;
}

static void attr_i(one_node *b, const char *name, int64_t i)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->i = i;
    a->has_i = 1;
}

static void attr_s(one_node *b, const char *name, const char *s)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->s.data = (uint8_t *)s;
    a->s.len = strlen(s);
    a->has_s = 1;
}

/* Loads the model and plans a session (where infer runs); with x, also runs it on x and
 * copies output 0's bytes to y. Returns the first failing status; err holds the message. */
static onyx_status plan(one_node *b, onyx_error *err, const void *x, void *y, size_t y_bytes)
{
    size_t len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(len + 1);
    if (!buf) return ONYX_E_NOMEM;
    onnx__model_proto__pack(&b->model, buf);
    memset(err, 0, sizeof *err);
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_status st = onyx_model_load_memory(buf, len, NULL, &m, err);
    free(buf);
    if (!st) st = onyx_session_create(m, NULL, &s, err);
    if (!st && x) {
        onyx_tensor in = {(onyx_dtype)b->tensor_types[0].elem_type, 1, {4}, (void *)x}, out;
        st = onyx_session_run(s, &in, 1, &out, 1);
        if (st) snprintf(err->message, sizeof err->message, "%s", onyx_session_error(s));
        else memcpy(y, out.data, y_bytes);
    }
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

#define EXPECT_FAIL(b, status, text)                                                        \
    do {                                                                                    \
        onyx_error e_;                                                                      \
        onyx_status st_ = plan(b, &e_, NULL, NULL, 0);                                      \
        CHECK_MSG(st_ == (status) && strstr(e_.message, "the_node") && strstr(e_.message, text), \
                  "status %d, message: %s", (int)st_, e_.message);                          \
    } while (0)

static void test_op_errors(void)
{
    one_node b;
    one_init(&b, "Gelu", 20, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1);
    attr_s(&b, "approximate", "erf");
    EXPECT_FAIL(&b, ONYX_E_ARG, "approximate");

    one_init(&b, "Celu", 12, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1);
    attr_f(&b, "alpha", 0);
    EXPECT_FAIL(&b, ONYX_E_ARG, "alpha");

    one_init(&b, "LeakyRelu", 16, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1);
    attr_i(&b, "alpha", 1);
    EXPECT_FAIL(&b, ONYX_E_ARG, "alpha");

    one_init(&b, "IsInf", 20, ONYX_DTYPE_FLOAT, ONYX_DTYPE_BOOL, 1);
    attr_f(&b, "detect_positive", 1);
    EXPECT_FAIL(&b, ONYX_E_ARG, "detect_positive");

    one_init(&b, "Abs", 13, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 2);
    EXPECT_FAIL(&b, ONYX_E_ARG, "1 input");

    /* dtypes the schema in force refuses */
    one_init(&b, "Neg", 13, ONYX_DTYPE_UINT8, ONYX_DTYPE_UINT8, 1);
    EXPECT_FAIL(&b, ONYX_E_UNSUPPORTED, "uint8");
    one_init(&b, "Acos", 13, ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_BFLOAT16, 1);
    EXPECT_FAIL(&b, ONYX_E_UNSUPPORTED, "bfloat16");
    one_init(&b, "IsInf", 10, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BOOL, 1);
    EXPECT_FAIL(&b, ONYX_E_UNSUPPORTED, "float16");
    one_init(&b, "Erf", 13, ONYX_DTYPE_INT32, ONYX_DTYPE_INT32, 1);
    EXPECT_FAIL(&b, ONYX_E_UNSUPPORTED, "int32");
    one_init(&b, "Celu", 12, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_DOUBLE, 1);
    EXPECT_FAIL(&b, ONYX_E_UNSUPPORTED, "float64");
    one_init(&b, "Sqrt", 13, ONYX_DTYPE_INT64, ONYX_DTYPE_INT64, 1);
    EXPECT_FAIL(&b, ONYX_E_UNSUPPORTED, "int64");
}

static void test_op_runs(void)
{
    one_node b;
    onyx_error err;

    /* the same dtypes at the version that allows them */
    const uint16_t bx[4] = {0x3f80, 0, 0xbf80, 0x3f00}; /* 1, 0, -1, 0.5 */
    uint16_t by[4];
    one_init(&b, "Acos", 22, ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_BFLOAT16, 1);
    CHECK_MSG(plan(&b, &err, bx, by, sizeof by) == ONYX_OK, "%s", err.message);
    CHECK(by[0] == 0 && by[1] == ox_f32_to_bf16(1.57079633f) && by[3] == ox_f32_to_bf16(1.04719755f));

    const int32_t ix[4] = {-3, 0, 2, 9};
    int32_t iy[4];
    one_init(&b, "Erf", 9, ONYX_DTYPE_INT32, ONYX_DTYPE_INT32, 1);
    CHECK_MSG(plan(&b, &err, ix, iy, sizeof iy) == ONYX_OK, "%s", err.message);
    CHECK(iy[0] == 0 && iy[1] == 0 && iy[2] == 0 && iy[3] == 1);

    const uint16_t hx[4] = {0x7c00, 0xfc00, 0x7e00, 0x3c00}; /* inf, -inf, nan, 1 */
    uint8_t hy[4];
    one_init(&b, "IsInf", 20, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BOOL, 1);
    attr_i(&b, "detect_positive", 0);
    CHECK_MSG(plan(&b, &err, hx, hy, sizeof hy) == ONYX_OK, "%s", err.message);
    CHECK(hy[0] == 0 && hy[1] == 1 && hy[2] == 0 && hy[3] == 0);

    /* Selu's defaults differ between opset 1 and 6 */
    const float fx[4] = {-1, 0, 1, 2};
    float y1[4], y6[4];
    one_init(&b, "Selu", 1, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1);
    CHECK_MSG(plan(&b, &err, fx, y1, sizeof y1) == ONYX_OK, "%s", err.message);
    one_init(&b, "Selu", 6, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1);
    CHECK_MSG(plan(&b, &err, fx, y6, sizeof y6) == ONYX_OK, "%s", err.message);
    CHECK(y1[2] == 1.0507f && y6[2] == 1.05070102214813232421875f);
    CHECK(fabsf(y1[0] - (float)(1.0507 * 1.6732 * expm1(-1.0))) < 1e-6f);

    /* Gelu's tanh approximation is selected by the attribute */
    float g[4];
    one_init(&b, "Gelu", 20, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1);
    attr_s(&b, "approximate", "tanh");
    CHECK_MSG(plan(&b, &err, fx, g, sizeof g) == ONYX_OK, "%s", err.message);
    CHECK(fabsf(g[2] - 0.841192f) < 1e-5f);
}

int main(void)
{
    test_round();
    test_integers();
    test_float_edges();
    test_predicates();
    test_threads();
    test_op_errors();
    test_op_runs();
    return check_report("math");
}
