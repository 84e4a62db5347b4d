/* test_resize.c — Resize and Upsample on hand-built one-node models: results on small
 * cases worked out by hand, thread-count independence, and the errors bad attributes and
 * inputs give (exact statuses, messages naming the node). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx.pb-c.h"
#include "onyx.h"
#include "resize.h"

/* ---- a one-node model builder ------------------------------------------------------------ */

#define MAX_ATTRS 6

typedef struct model {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto node, *nodes[1];
    char *node_in[4], *node_out[1];
    Onnx__AttributeProto attrs[MAX_ATTRS], *attr_ptrs[MAX_ATTRS];
    Onnx__ValueInfoProto vi[2], *in_ptrs[1], *out_ptrs[1];
    Onnx__TypeProto types[2];
    Onnx__TypeProto__Tensor tensor_types[2];
    Onnx__TensorShapeProto shape;
    Onnx__TensorShapeProto__Dimension dims[ONYX_MAX_RANK], *dim_ptrs[ONYX_MAX_RANK];
    Onnx__TensorProto inits[3], *init_ptrs[3];
    int64_t init_dims[3];
} model;

/* A node `op` named "rs" reading graph input x (dtype, rank, dims) and writing y. */
static void m_init(model *m, const char *op, int64_t opset, int dtype, int rank, const int64_t *dims)
{
    memset(m, 0, sizeof *m);
    onnx__model_proto__init(&m->model);
    onnx__graph_proto__init(&m->graph);
    onnx__operator_set_id_proto__init(&m->opset);
    m->opset.version = opset;
    m->opset.has_version = 1;
    m->opsets[0] = &m->opset;
    m->model.ir_version = 8;
    m->model.has_ir_version = 1;
    m->model.n_opset_import = 1;
    m->model.opset_import = m->opsets;
    m->model.graph = &m->graph;
    m->graph.name = "g";
    onnx__node_proto__init(&m->node);
    m->node.name = "rs";
    m->node.op_type = (char *)op;
    m->node_in[0] = "x";
    m->node.input = m->node_in;
    m->node.n_input = 1;
    m->node_out[0] = "y";
    m->node.output = m->node_out;
    m->node.n_output = 1;
    m->node.attribute = m->attr_ptrs;
    m->nodes[0] = &m->node;
    m->graph.node = m->nodes;
    m->graph.n_node = 1;
    for (int k = 0; k < 2; k++) {
        onnx__value_info_proto__init(&m->vi[k]);
        onnx__type_proto__init(&m->types[k]);
        onnx__type_proto__tensor__init(&m->tensor_types[k]);
        m->tensor_types[k].elem_type = dtype;
        m->tensor_types[k].has_elem_type = 1;
        m->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        m->types[k].tensor_type = &m->tensor_types[k];
        m->vi[k].type = &m->types[k];
    }
    onnx__tensor_shape_proto__init(&m->shape);
    for (int i = 0; i < rank; i++) {
        onnx__tensor_shape_proto__dimension__init(&m->dims[i]);
        m->dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        m->dims[i].dim_value = dims[i];
        m->dim_ptrs[i] = &m->dims[i];
    }
    m->shape.n_dim = (size_t)rank;
    m->shape.dim = m->dim_ptrs;
    m->tensor_types[0].shape = &m->shape;
    m->vi[0].name = "x";
    m->vi[1].name = "y";
    m->in_ptrs[0] = &m->vi[0];
    m->out_ptrs[0] = &m->vi[1];
    m->graph.input = m->in_ptrs;
    m->graph.n_input = 1;
    m->graph.output = m->out_ptrs;
    m->graph.n_output = 1;
    m->graph.initializer = m->init_ptrs;
}

/* Node input slot `slot` reads a 1-D initializer (name "" leaves the slot empty). */
static void m_input(model *m, int slot, const char *name, int dtype, const void *data, size_t n)
{
    while (m->node.n_input <= (size_t)slot) m->node_in[m->node.n_input++] = "";
    m->node_in[slot] = (char *)name;
    if (!*name) return;
    int k = (int)m->graph.n_initializer++;
    Onnx__TensorProto *t = &m->inits[k];
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->data_type = dtype;
    t->has_data_type = 1;
    m->init_dims[k] = (int64_t)n;
    t->n_dims = 1;
    t->dims = &m->init_dims[k];
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)data;
    t->raw_data.len = n * (dtype == ONYX_DTYPE_INT64 ? 8 : 4);
    m->init_ptrs[k] = t;
}

static Onnx__AttributeProto *m_attr(model *m, const char *name)
{
    Onnx__AttributeProto *a = &m->attrs[m->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    m->attr_ptrs[m->node.n_attribute++] = a;
    return a;
}

static void m_str(model *m, const char *name, const char *v)
{
    Onnx__AttributeProto *a = m_attr(m, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_type = 1;
    a->s.data = (uint8_t *)v;
    a->s.len = strlen(v);
    a->has_s = 1;
}

static void m_int(model *m, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = m_attr(m, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_type = 1;
    a->i = v;
    a->has_i = 1;
}

static void m_ints(model *m, const char *name, int64_t *v, size_t n)
{
    Onnx__AttributeProto *a = m_attr(m, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->has_type = 1;
    a->ints = v;
    a->n_ints = n;
}

static void m_floats(model *m, const char *name, float *v, size_t n)
{
    Onnx__AttributeProto *a = m_attr(m, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    a->has_type = 1;
    a->floats = v;
    a->n_floats = n;
}

/* Loads the model and creates a session (threads: 0 for the default); returns the first
 * failing status with its message in err. */
static onyx_status m_session(model *m, int threads, onyx_model **mod, onyx_session **s,
                             onyx_error *err)
{
    size_t len = onnx__model_proto__get_packed_size(&m->model);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&m->model, buf);
    memset(err, 0, sizeof *err);
    *mod = NULL;
    *s = NULL;
    onyx_status st = onyx_model_load_memory(buf, len, NULL, mod, err);
    free(buf);
    if (st) return st;
    onyx_session_options o;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    return onyx_session_create(*mod, &o, s, err);
}

static void m_free(onyx_model *mod, onyx_session *s)
{
    onyx_session_free(s);
    onyx_model_free(mod);
}

/* Session creation must fail with status st and a message naming the node and holding
 * `text`. */
static void expect_error(model *m, onyx_status st, const char *text)
{
    onyx_model *mod;
    onyx_session *s;
    onyx_error err;
    onyx_status got = m_session(m, 1, &mod, &s, &err);
    CHECK_MSG(got == st && strstr(err.message, "node 'rs'") && strstr(err.message, text),
              "status %d, message '%s' (expected %d, '%s')", got, err.message, st, text);
    m_free(mod, s);
}

/* ---- results ----------------------------------------------------------------------------- */

static bool close_to(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        if (!(got[i] - want[i] < 1e-5f && want[i] - got[i] < 1e-5f)) return false;
    return true;
}

static void test_linear_half_pixel(void)
{
    /* [1 2; 3 4] upsampled x2: half_pixel samples at -0.25, 0.25, 0.75, 1.25, edges clamp. */
    static const int64_t dims[4] = {1, 1, 2, 2};
    static float scales[4] = {1, 1, 2, 2};
    model m;
    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 4, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 4);
    m_str(&m, "mode", "linear");
    onyx_model *mod;
    onyx_session *s;
    onyx_error err;
    CHECK_MSG(m_session(&m, 1, &mod, &s, &err) == ONYX_OK, "%s", err.message);
    if (!s) {
        m_free(mod, s);
        return;
    }
    float x[4] = {1, 2, 3, 4};
    onyx_tensor in = {ONYX_DTYPE_FLOAT, 4, {1, 1, 2, 2}, x}, out;
    CHECK(onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK);
    static const float want[16] = {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5,
                                   2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4};
    CHECK(out.rank == 4 && out.dims[2] == 4 && out.dims[3] == 4 && close_to(out.data, want, 16));
    m_free(mod, s);
}

static void test_nearest_crop_int8(void)
{
    /* tf_crop_and_resize over [0, 1.5] of a length-3 axis, 4 outputs at 0, 1, 2, 3: the last
     * lies outside the input and takes the extrapolation value (saturated to int8). */
    static const int64_t dims[1] = {3};
    static float roi[2] = {0, 1.5f};
    static int64_t sizes[1] = {4};
    model m;
    m_init(&m, "Resize", 19, ONYX_DTYPE_INT8, 1, dims);
    m_input(&m, 1, "roi", ONYX_DTYPE_FLOAT, roi, 2);
    m_input(&m, 3, "sizes", ONYX_DTYPE_INT64, sizes, 1);
    m_str(&m, "coordinate_transformation_mode", "tf_crop_and_resize");
    Onnx__AttributeProto *ev = m_attr(&m, "extrapolation_value");
    ev->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    ev->has_type = 1;
    ev->f = 1000.0f;
    ev->has_f = 1;
    onyx_model *mod;
    onyx_session *s;
    onyx_error err;
    CHECK_MSG(m_session(&m, 1, &mod, &s, &err) == ONYX_OK, "%s", err.message);
    if (!s) {
        m_free(mod, s);
        return;
    }
    int8_t x[3] = {-5, 6, 7};
    onyx_tensor in = {ONYX_DTYPE_INT8, 1, {3}, x}, out;
    CHECK(onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK);
    static const int8_t want[4] = {-5, 6, 7, 127};
    CHECK(out.dims[0] == 4 && !memcmp(out.data, want, sizeof want));
    m_free(mod, s);
}

static void test_upsample7(void)
{
    static const int64_t dims[2] = {2, 1};
    static float scales[2] = {1, 3};
    model m;
    m_init(&m, "Upsample", 7, ONYX_DTYPE_FLOAT, 2, dims);
    m_floats(&m, "scales", scales, 2);
    m_str(&m, "mode", "nearest");
    onyx_model *mod;
    onyx_session *s;
    onyx_error err;
    CHECK_MSG(m_session(&m, 1, &mod, &s, &err) == ONYX_OK, "%s", err.message);
    if (!s) {
        m_free(mod, s);
        return;
    }
    float x[2] = {1, 2};
    onyx_tensor in = {ONYX_DTYPE_FLOAT, 2, {2, 1}, x}, out;
    CHECK(onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK);
    static const float want[6] = {1, 1, 1, 2, 2, 2};
    CHECK(out.dims[0] == 2 && out.dims[1] == 3 && !memcmp(out.data, want, sizeof want));
    m_free(mod, s);
}

/* Cubic antialiased downscaling of a 3-D tensor gives the same bytes on 1 and 3 threads. */
static void test_threads(void)
{
    static const int64_t dims[3] = {5, 13, 17};
    static float scales[3] = {0.6f, 0.45f, 1.7f};
    float *x = malloc(5 * 13 * 17 * sizeof *x), *y1 = NULL;
    for (int i = 0; i < 5 * 13 * 17; i++) x[i] = (float)((i * 7919) % 101) / 7.0f;
    for (int t = 1; t <= 3; t += 2) {
        model m;
        m_init(&m, "Resize", 19, ONYX_DTYPE_FLOAT, 3, dims);
        m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 3);
        m_str(&m, "mode", "cubic");
        m_int(&m, "antialias", 1);
        onyx_model *mod;
        onyx_session *s;
        onyx_error err;
        CHECK_MSG(m_session(&m, t, &mod, &s, &err) == ONYX_OK, "%s", err.message);
        onyx_tensor in = {ONYX_DTYPE_FLOAT, 3, {5, 13, 17}, x}, out;
        if (s && onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK) {
            size_t bytes = (size_t)(out.dims[0] * out.dims[1] * out.dims[2]) * sizeof(float);
            CHECK(out.dims[0] == 3 && out.dims[1] == 5 && out.dims[2] == 28);
            if (!y1) {
                y1 = malloc(bytes);
                memcpy(y1, out.data, bytes);
            } else {
                CHECK(!memcmp(y1, out.data, bytes));
            }
        } else {
            CHECK(false);
        }
        m_free(mod, s);
    }
    free(y1);
    free(x);
}

static void test_taps(void)
{
    ox_resize_filter lin = {false, -0.75, false, false}, cub = {true, -0.75, false, false};
    CHECK(ox_resize_taps(&lin, 0.25) == 2 && ox_resize_taps(&cub, 0.25) == 4);
    lin.antialias = cub.antialias = true;
    CHECK(ox_resize_taps(&lin, 2.0) == 2 && ox_resize_taps(&cub, 2.0) == 4);
    CHECK(ox_resize_taps(&lin, 0.5) == 4 && ox_resize_taps(&cub, 0.5) == 8);
    CHECK(ox_resize_taps(&cub, 1e-9) == 0);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_errors(void)
{
    static const int64_t dims[2] = {2, 3};
    static float scales[2] = {2, 2}, bad_scales[2] = {2, 0}, down[2] = {1, 0.5f};
    static int64_t sizes[2] = {4, 6}, axes_rep[2] = {1, -1}, axes_far[1] = {2};
    model m;

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_input(&m, 3, "sizes", ONYX_DTYPE_INT64, sizes, 2);
    expect_error(&m, ONYX_E_ARG, "both are");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 1, "", 0, NULL, 0);
    expect_error(&m, ONYX_E_ARG, "neither is");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 1);
    expect_error(&m, ONYX_E_ARG, "scales has 1 values, expected 2");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, bad_scales, 2);
    expect_error(&m, ONYX_E_ARG, "scale 0 for axis 1 is invalid");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "mode", "bilinear");
    expect_error(&m, ONYX_E_ARG, "unknown mode 'bilinear'");

    m_init(&m, "Resize", 10, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 1, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "mode", "cubic");
    expect_error(&m, ONYX_E_ARG, "unknown mode 'cubic'");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "coordinate_transformation_mode", "corners");
    expect_error(&m, ONYX_E_ARG, "unknown coordinate_transformation_mode");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "nearest_mode", "round");
    expect_error(&m, ONYX_E_ARG, "unknown nearest_mode");

    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_int(&m, "exclude_outside", 1);
    m_str(&m, "mode", "linear");
    m_str(&m, "coordinate_transformation_mode", "tf_crop_and_resize");
    expect_error(&m, ONYX_E_ARG, "needs roi");

    m_init(&m, "Resize", 19, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "keep_aspect_ratio_policy", "not_larger");
    expect_error(&m, ONYX_E_ARG, "keep_aspect_ratio_policy");

    m_init(&m, "Resize", 19, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 3, "sizes", ONYX_DTYPE_INT64, sizes, 2);
    m_str(&m, "keep_aspect_ratio_policy", "fit");
    expect_error(&m, ONYX_E_ARG, "unknown keep_aspect_ratio_policy 'fit'");

    m_init(&m, "Resize", 19, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_ints(&m, "axes", axes_rep, 2);
    expect_error(&m, ONYX_E_ARG, "axis 1 is repeated");

    m_init(&m, "Resize", 19, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 1);
    m_ints(&m, "axes", axes_far, 1);
    expect_error(&m, ONYX_E_ARG, "axis 2 out of range");

    m_init(&m, "Resize", 19, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "mode", "linear");
    m_str(&m, "keep_aspect_ratio_policy", "stretch");
    m_str(&m, "cubic_coeff_a", "-0.5"); /* wrong attribute type */
    expect_error(&m, ONYX_E_ARG, "'cubic_coeff_a'");

    m_init(&m, "Resize", 13, ONYX_DTYPE_BOOL, 2, dims);
    m_input(&m, 2, "scales", ONYX_DTYPE_FLOAT, scales, 2);
    m_str(&m, "mode", "linear");
    expect_error(&m, ONYX_E_UNSUPPORTED, "interpolation of dtype bool");

    static const int64_t empty[2] = {2, 0};
    m_init(&m, "Resize", 13, ONYX_DTYPE_FLOAT, 2, empty);
    m_input(&m, 3, "sizes", ONYX_DTYPE_INT64, sizes, 2);
    expect_error(&m, ONYX_E_SHAPE, "axis 1 of length 0");

    m_init(&m, "Upsample", 9, ONYX_DTYPE_FLOAT, 2, dims);
    m_input(&m, 1, "scales", ONYX_DTYPE_FLOAT, down, 2);
    expect_error(&m, ONYX_E_ARG, "must be >= 1");

    m_init(&m, "Upsample", 7, ONYX_DTYPE_FLOAT, 2, dims);
    m_floats(&m, "scales", scales, 1);
    expect_error(&m, ONYX_E_ARG, "attribute 'scales' must have 2 values");
}

int main(void)
{
    test_linear_half_pixel();
    test_nearest_crop_int8();
    test_upsample7();
    test_threads();
    test_taps();
    test_errors();
    return check_report("resize");
}
