/* test_loader.c — the ONNX loader on hand-built models: storage forms, errors with clear
 * statuses for malformed and hostile files, the planner's arena and the executor. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx.pb-c.h"
#include "onyx.h"
#include "tmp_path.h"

/* ---- building models with the generated protobuf-c structs ------------------------------ */

typedef struct builder {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto nodes[8], *node_ptrs[8];
    Onnx__ValueInfoProto vi[8], *in_ptrs[4], *out_ptrs[4];
    Onnx__TypeProto types[8];
    Onnx__TypeProto__Tensor tensor_types[8];
    Onnx__TensorShapeProto shapes[8];
    Onnx__TensorShapeProto__Dimension dims[8][4], *dim_ptrs[8][4];
    Onnx__TensorProto inits[4], *init_ptrs[4];
    int n_vi;
} builder;

static void b_init(builder *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.version = opset;
    b->opset.has_version = 1;
    b->opsets[0] = &b->opset;
    b->model.ir_version = 8;
    b->model.has_ir_version = 1;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.graph = &b->graph;
    b->graph.name = "g";
    b->graph.node = b->node_ptrs;
    b->graph.input = b->in_ptrs;
    b->graph.output = b->out_ptrs;
    b->graph.initializer = b->init_ptrs;
}

static Onnx__ValueInfoProto *b_value(builder *b, const char *name, int dtype, int rank, const int64_t *dims)
{
    int k = b->n_vi++;
    Onnx__ValueInfoProto *v = &b->vi[k];
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(&b->types[k]);
    onnx__type_proto__tensor__init(&b->tensor_types[k]);
    onnx__tensor_shape_proto__init(&b->shapes[k]);
    for (int i = 0; i < rank; i++) {
        onnx__tensor_shape_proto__dimension__init(&b->dims[k][i]);
        b->dims[k][i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        b->dims[k][i].dim_value = dims[i];
        b->dim_ptrs[k][i] = &b->dims[k][i];
    }
    b->shapes[k].n_dim = (size_t)rank;
    b->shapes[k].dim = b->dim_ptrs[k];
    b->tensor_types[k].elem_type = dtype;
    b->tensor_types[k].has_elem_type = 1;
    b->tensor_types[k].shape = &b->shapes[k];
    b->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->types[k].tensor_type = &b->tensor_types[k];
    v->name = (char *)name;
    v->type = &b->types[k];
    return v;
}

static void b_input(builder *b, const char *name, int rank, const int64_t *dims)
{
    b->in_ptrs[b->graph.n_input++] = b_value(b, name, ONYX_DTYPE_FLOAT, rank, dims);
}

static void b_output(builder *b, const char *name)
{
    b->out_ptrs[b->graph.n_output++] = b_value(b, name, ONYX_DTYPE_FLOAT, 0, NULL);
    b->out_ptrs[b->graph.n_output - 1]->type->tensor_type->shape = NULL;
}

static Onnx__NodeProto *b_node(builder *b, const char *op, char **in, size_t n_in, char **out, size_t n_out)
{
    Onnx__NodeProto *n = &b->nodes[b->graph.n_node];
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->input = in;
    n->n_input = n_in;
    n->output = out;
    n->n_output = n_out;
    b->node_ptrs[b->graph.n_node++] = n;
    return n;
}

static Onnx__TensorProto *b_init_f32(builder *b, const char *name, int rank, int64_t *dims, const float *data, size_t n)
{
    Onnx__TensorProto *t = &b->inits[b->graph.n_initializer];
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->data_type = ONYX_DTYPE_FLOAT;
    t->has_data_type = 1;
    t->n_dims = (size_t)rank;
    t->dims = dims;
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)data;
    t->raw_data.len = n * sizeof(float);
    b->init_ptrs[b->graph.n_initializer++] = t;
    return t;
}

static onyx_status load(builder *b, onyx_model **m, onyx_error *err)
{
    size_t len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(len + 1);
    onnx__model_proto__pack(&b->model, buf);
    memset(err, 0, sizeof *err);
    onyx_status st = onyx_model_load_memory(buf, len, NULL, m, err);
    free(buf);
    return st;
}

/* ---- tests ------------------------------------------------------------------------------ */

static char *s_x[] = {"x"}, *s_y[] = {"y"}, *s_xw[] = {"x", "w"}, *s_t[] = {"t"};

static void test_add_run(void)
{
    builder b;
    b_init(&b, 13);
    int64_t d[2] = {2, 3};
    float w[6] = {1, 2, 3, 4, 5, 6};
    b_input(&b, "x", 2, d);
    b_init_f32(&b, "w", 2, d, w, 6);
    b_node(&b, "Add", s_xw, 2, s_t, 1);
    b_node(&b, "Relu", s_t, 1, s_y, 1);
    b_output(&b, "y");
    onyx_model *m = NULL;
    onyx_error err;
    CHECK_MSG(load(&b, &m, &err) == ONYX_OK, "%s", err.message);
    if (!m) return;
    onyx_session *s = NULL;
    CHECK(onyx_session_create(m, NULL, &s, &err) == ONYX_OK);
    float x[6] = {-10, 0, -1, 1, -6, 0};
    onyx_tensor in = {ONYX_DTYPE_FLOAT, 2, {2, 3}, x}, out;
    CHECK(onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK);
    const float want[6] = {0, 2, 2, 5, 0, 6};
    CHECK(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 3 && !memcmp(out.data, want, sizeof want));
    /* t and y cannot share memory (t is read while y is written): 2 buffers of 64 bytes */
    CHECK(onyx_session_arena_bytes(s) == 128);
    /* wrong dtype and wrong shape are refused with the input's name */
    onyx_tensor bad = in;
    bad.dtype = ONYX_DTYPE_DOUBLE;
    CHECK(onyx_session_run(s, &bad, 1, &out, 1) == ONYX_E_ARG && strstr(onyx_session_error(s), "'x'"));
    bad = in;
    bad.dims[1] = 4;
    CHECK(onyx_session_run(s, &bad, 1, &out, 1) == ONYX_E_SHAPE && strstr(onyx_session_error(s), "'x'"));
    onyx_session_free(s);
    onyx_model_free(m);
}

static void test_errors(void)
{
    builder b;
    onyx_model *m = NULL;
    onyx_error err;
    int64_t d[2] = {2, 3};
    float w[6] = {0};

    /* truncated and garbage buffers */
    uint8_t junk[64];
    for (int i = 0; i < 64; i++) junk[i] = (uint8_t)(i * 37 + 11);
    CHECK(onyx_model_load_memory(junk, sizeof junk, NULL, &m, &err) == ONYX_E_PARSE && !m);

    /* raw_data shorter than the shape */
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_init_f32(&b, "w", 2, d, w, 5);
    b_node(&b, "Add", s_xw, 2, s_y, 1);
    b_output(&b, "y");
    CHECK(load(&b, &m, &err) == ONYX_E_PARSE && strstr(err.message, "'w'"));

    /* a cycle */
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_node(&b, "Relu", s_y, 1, s_t, 1);
    b_node(&b, "Relu", s_t, 1, s_y, 1);
    b_output(&b, "y");
    CHECK_MSG(load(&b, &m, &err) == ONYX_E_ARG && strstr(err.message, "cycle"), "%s", err.message);

    /* an undefined input */
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_node(&b, "Add", s_xw, 2, s_y, 1);
    b_output(&b, "y");
    CHECK(load(&b, &m, &err) == ONYX_E_ARG && strstr(err.message, "'w'") && strstr(err.message, "not defined"));

    /* a value produced twice */
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_node(&b, "Relu", s_x, 1, s_y, 1);
    b_node(&b, "Sigmoid", s_x, 1, s_y, 1);
    b_output(&b, "y");
    CHECK(load(&b, &m, &err) == ONYX_E_ARG && strstr(err.message, "more than once"));

    /* unsupported ops are all listed, naming domain and opset */
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_node(&b, "NoSuchOp", s_x, 1, s_t, 1);
    Onnx__NodeProto *n = b_node(&b, "OtherOp", s_t, 1, s_y, 1);
    n->domain = "com.example";
    b_output(&b, "y");
    CHECK_MSG(load(&b, &m, &err) == ONYX_E_UNSUPPORTED && strstr(err.message, "NoSuchOp (domain 'ai.onnx', opset 13") &&
                  strstr(err.message, "OtherOp (domain 'com.example'"),
              "%s", err.message);

    /* a negative dim in an initializer */
    b_init(&b, 13);
    int64_t neg[2] = {2, -3};
    b_input(&b, "x", 2, d);
    b_init_f32(&b, "w", 2, neg, w, 6);
    b_node(&b, "Add", s_xw, 2, s_y, 1);
    b_output(&b, "y");
    CHECK(load(&b, &m, &err) == ONYX_E_PARSE);

    /* an attribute of the wrong type (Softmax's axis as a float) is refused, not ignored */
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    Onnx__NodeProto *sm = b_node(&b, "Softmax", s_x, 1, s_y, 1);
    Onnx__AttributeProto axis = ONNX__ATTRIBUTE_PROTO__INIT, *axis_ptr = &axis;
    axis.name = "axis";
    axis.has_type = 1;
    axis.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    axis.has_f = 1;
    axis.f = 1.0f;
    sm->n_attribute = 1;
    sm->attribute = &axis_ptr;
    b_output(&b, "y");
    CHECK_MSG(load(&b, &m, &err) == ONYX_E_ARG && strstr(err.message, "'axis'") && strstr(err.message, "FLOAT") &&
                  strstr(err.message, "Softmax"),
              "%s", err.message);

    /* a shape mismatch found by inference names the node and op */
    b_init(&b, 13);
    int64_t d2[2] = {4, 5};
    float w20[20] = {0};
    b_input(&b, "x", 2, d);
    b_init_f32(&b, "w", 2, d2, w20, 20);
    b_node(&b, "Add", s_xw, 2, s_y, 1)->name = "the_add";
    b_output(&b, "y");
    CHECK(load(&b, &m, &err) == ONYX_OK);
    onyx_session *s = NULL;
    CHECK_MSG(onyx_session_create(m, NULL, &s, &err) == ONYX_E_SHAPE && !s &&
                  strstr(err.message, "node 'the_add' (Add)") && strstr(err.message, "[2,3]"),
              "%s", err.message);
    onyx_model_free(m);
}

/* ---- nesting: If nodes whose then_branch holds an If node … `levels` deep ----------------- */

/* Writes `bytes` in front of *pos (the buffer is filled from its end towards its start). */
static void put(uint8_t **pos, const void *bytes, size_t n)
{
    *pos -= n;
    memcpy(*pos, bytes, n);
}

static void put_varint(uint8_t **pos, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(pos, tmp, (size_t)n);
}

/* Wraps everything from *pos to end in field `field` (length-delimited). */
static void wrap(uint8_t **pos, const uint8_t *end, uint32_t field)
{
    put_varint(pos, (uint64_t)(end - *pos));
    put_varint(pos, (uint64_t)field << 3 | 2);
}

static onyx_status load_nested(long levels)
{
    size_t cap = (size_t)levels * 40 + 64;
    uint8_t *buf = malloc(cap), *end = buf + cap, *pos = end;
    for (long i = 0; i < levels; i++) {
        /* graph { node { op_type "If", attribute { name "then_branch", type GRAPH, g { <inner> } } } } */
        /* every message here ends where the buffer does: the innermost graph comes last */
        wrap(&pos, end, 6);                       /* AttributeProto.g */
        put(&pos, "\xa0\x01\x05", 3);           /* AttributeProto.type = GRAPH (field 20) */
        put(&pos, "\x0a\x0bthen_branch", 13);     /* AttributeProto.name */
        wrap(&pos, end, 5);                       /* NodeProto.attribute */
        put(&pos, "\x22\x02If", 4);                /* NodeProto.op_type */
        wrap(&pos, end, 1);                       /* GraphProto.node */
    }
    wrap(&pos, end, 7);                           /* ModelProto.graph */
    put(&pos, "\x42\x02\x10\x0d", 4);            /* ModelProto.opset_import { version 13 } */
    onyx_model *m = NULL;
    onyx_error err;
    onyx_status st = onyx_model_load_memory(pos, (size_t)(end - pos), NULL, &m, &err);
    onyx_model_free(m);
    free(buf);
    return st;
}

/* An allocator that remembers the largest single request. */
static void *peak_alloc(void *user, void *ptr, size_t osize, size_t nsize)
{
    (void)osize;
    size_t *peak = user;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (nsize > *peak) *peak = nsize;
    return realloc(ptr, nsize);
}

/* A 2.4 GB tensor claimed by an initializer with no data, and dims whose product overflows:
 * refused before anything of that size is allocated. */
static void test_claimed_sizes(void)
{
    builder b;
    int64_t d[2] = {2, 3}, huge[1] = {600000000}, overflow[3] = {1LL << 40, 1LL << 40, 0};
    float w[1] = {0};
    onyx_error err;
    onyx_model *m = NULL;
    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_init_f32(&b, "w", 1, huge, w, 0);
    b_node(&b, "Add", s_xw, 2, s_y, 1);
    b_output(&b, "y");
    size_t len = onnx__model_proto__get_packed_size(&b.model), peak = 0;
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&b.model, buf);
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.alloc = peak_alloc;
    lo.alloc_user = &peak;
    CHECK(onyx_model_load_memory(buf, len, &lo, &m, &err) == ONYX_E_PARSE && strstr(err.message, "'w'"));
    CHECK_MSG(peak < ((size_t)64 << 20), "largest allocation %zu bytes", peak);
    free(buf);

    b_init(&b, 13);
    b_input(&b, "x", 2, d);
    b_init_f32(&b, "w", 3, overflow, w, 0);
    b_node(&b, "Add", s_xw, 2, s_y, 1);
    b_output(&b, "y");
    CHECK(load(&b, &m, &err) == ONYX_E_PARSE && strstr(err.message, "invalid dims"));
}

/* ---- the main graph's initializers decoded one at a time (onnx/split.c) ------------------ */

static size_t append_field(uint8_t *dst, uint32_t field, const uint8_t *bytes, size_t n)
{
    uint8_t tmp[24], *pos = tmp + sizeof tmp;
    put_varint(&pos, n);
    put_varint(&pos, (uint64_t)field << 3 | 2);
    size_t head = (size_t)(tmp + sizeof tmp - pos);
    memcpy(dst, pos, head);
    memcpy(dst + head, bytes, n);
    return head + n;
}

/* y = x + w over 4096 floats, with w stored as an initializer whose raw_data field appears
 * twice (protobuf keeps the last: `last`); with split_graph the initializer travels in a
 * second ModelProto.graph field, which a decoder merges into the first. With corrupt the
 * TensorProto ends in a key no decoder accepts. */
static uint8_t *encode_streamed(const float *first, const float *last, size_t n, bool split_graph, bool corrupt,
                                size_t *len)
{
    builder b;
    int64_t d[1] = {(int64_t)n};
    b_init(&b, 13);
    b_input(&b, "x", 1, d);
    Onnx__TensorProto *w = b_init_f32(&b, "w", 1, d, first, n);
    b_node(&b, "Add", s_xw, 2, s_y, 1);
    b_output(&b, "y");
    b.graph.n_initializer = 0;
    size_t wl = onnx__tensor_proto__get_packed_size(w), gl = onnx__graph_proto__get_packed_size(&b.graph);
    b.model.graph = NULL;
    size_t ml = onnx__model_proto__get_packed_size(&b.model), bytes = n * sizeof(float);
    uint8_t *t = malloc(wl + bytes + 16), *g = malloc(gl + wl + bytes + 32), *out = malloc(ml + gl + wl + bytes + 64);
    onnx__tensor_proto__pack(w, t);
    wl += append_field(t + wl, 9, (const uint8_t *)last, bytes); /* TensorProto.raw_data again */
    if (corrupt) t[wl++] = 0x0f;                                   /* a key of wire type 7 */
    onnx__graph_proto__pack(&b.graph, g);
    size_t o = onnx__model_proto__pack(&b.model, out);
    if (split_graph) {
        o += append_field(out + o, 7, g, gl);          /* ModelProto.graph: the nodes */
        gl = append_field(g, 5, t, wl);                /* GraphProto.initializer only */
    } else {
        gl += append_field(g + gl, 5, t, wl);
    }
    o += append_field(out + o, 7, g, gl);
    free(t);
    free(g);
    *len = o;
    return out;
}

static bool adds(onyx_model *m, const float *x, const float *w, size_t n)
{
    onyx_session *s = NULL;
    onyx_error err;
    if (onyx_session_create(m, NULL, &s, &err) != ONYX_OK) return false;
    onyx_tensor in = {ONYX_DTYPE_FLOAT, 1, {(int64_t)n}, (void *)(uintptr_t)x}, out;
    bool ok = onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK && out.dims[0] == (int64_t)n;
    for (size_t i = 0; ok && i < n; i++) ok = ((const float *)out.data)[i] == x[i] + w[i];
    onyx_session_free(s);
    return ok;
}

static void test_streamed_initializers(void)
{
    enum { N = 4096 }; /* 16 KB: pages wholly inside it are given back after conversion */
    static float x[N], first[N], last[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i * 0.25f;
        first[i] = -1.0f;
        last[i] = (float)(i % 97) - 40.0f;
    }
    for (int split_graph = 0; split_graph < 2; split_graph++) {
        size_t len;
        uint8_t *buf = encode_streamed(first, last, N, split_graph, false, &len);
        onyx_model *m = NULL;
        onyx_error err;
        CHECK_MSG(onyx_model_load_memory(buf, len, NULL, &m, &err) == ONYX_OK, "%s", err.message);
        CHECK_MSG(m && adds(m, x, last, N), "memory, split graph %d", split_graph);
        onyx_model_free(m);
        m = NULL;
        /* from a file: mapped, pages released as initializers convert */
        char path[256];
        FILE *f = tmp_file(path, sizeof path, "onyx-stream") ? fopen(path, "wb") : NULL;
        CHECK(f && fwrite(buf, 1, len, f) == len);
        if (f) fclose(f);
        CHECK_MSG(onyx_model_load_file(path, NULL, &m, &err) == ONYX_OK, "%s", err.message);
        CHECK_MSG(m && adds(m, x, last, N), "file, split graph %d", split_graph);
        onyx_model_free(m);
        m = NULL;
        /* cut inside the initializer: refused as malformed, by the streamed decoder or whole */
        CHECK(onyx_model_load_memory(buf, len - 100, NULL, &m, &err) == ONYX_E_PARSE && !m);
        remove(path);
        free(buf);
        buf = encode_streamed(first, last, N, split_graph, true, &len);
        CHECK_MSG(onyx_model_load_memory(buf, len, NULL, &m, &err) == ONYX_E_PARSE && !m, "%s", err.message);
        free(buf);
    }
}

static void test_nesting(void)
{
    CHECK(load_nested(3) != ONYX_E_LIMIT);        /* shallow: not refused for its depth */
    CHECK(load_nested(65) == ONYX_E_LIMIT);       /* past the default 64 levels */
    CHECK(load_nested(200000) == ONYX_E_LIMIT);   /* would exhaust the decoder's stack */
}

int main(void)
{
    test_add_run();
    test_errors();
    test_nesting();
    test_claimed_sizes();
    test_streamed_initializers();
    return check_report("loader");
}
