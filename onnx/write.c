/* write.c — onyx IR -> ONNX ModelProto file.
 *
 * The message tree is built in a scratch pool and streamed to the file by protobuf-c; tensor
 * data is not copied (raw_data points at the constants; only sub-byte types are packed back).
 * What the IR does not keep is not written: doc strings, metadata, model-local functions
 * (inlined at load, so their nodes are written instead), initializers nobody reads. A body's
 * references to enclosing graphs are plain names, and a node's implicit inputs (what its
 * bodies read) are not node inputs in ONNX, so neither is written as such. */
#include <stdio.h>
#include <string.h>

#include "../runtime/model.h"
#include "onnx_io.h"

#define MAX_FILE_BYTES ((size_t)INT32_MAX) /* protobuf's limit for one message */

typedef struct wctx {
    ox_pool pool;
    const onyx_model *m;
    Onnx__OperatorSetIdProto **opsets;
    size_t n_opsets, cap_opsets;
    onyx_status st; /* first failure */
} wctx;

static char *cs(const char *s) { return (char *)(uintptr_t)s; } /* protobuf-c fields are not const */

static void *wnew(wctx *w, size_t size)
{
    void *p = ox_pool_alloc(&w->pool, size, 8);
    if (!p && !w->st) w->st = ONYX_E_NOMEM;
    return p;
}

static void *warray(wctx *w, size_t count, size_t size)
{
    void *p = ox_pool_array(&w->pool, count ? count : 1, size);
    if (!p && !w->st) w->st = ONYX_E_NOMEM;
    return p;
}

/* ---- opsets: the model's, plus any domain a node uses that it does not import (nodes of
 * inlined functions may use domains only the function imported) ------------------------- */

static void need_opset(wctx *w, const char *domain, int64_t version)
{
    if (version < 0) return; /* a node of a domain nobody imports (loaded for inspection) */
    for (size_t i = 0; i < w->n_opsets; i++)
        if (!strcmp(w->opsets[i]->domain ? w->opsets[i]->domain : "", domain)) return;
    if (w->n_opsets == w->cap_opsets) {
        size_t cap = w->cap_opsets ? w->cap_opsets * 2 : 8;
        Onnx__OperatorSetIdProto **a = warray(w, cap, sizeof(Onnx__OperatorSetIdProto *));
        if (!a) return;
        if (w->n_opsets) memcpy(a, w->opsets, w->n_opsets * sizeof(Onnx__OperatorSetIdProto *));
        w->opsets = a;
        w->cap_opsets = cap;
    }
    Onnx__OperatorSetIdProto *op = wnew(w, sizeof *op);
    if (!op) return;
    onnx__operator_set_id_proto__init(op);
    op->domain = cs(domain);
    op->has_version = 1;
    op->version = version;
    w->opsets[w->n_opsets++] = op;
}

/* ---- types ----------------------------------------------------------------------------- */

static Onnx__TensorShapeProto *shape_proto(wctx *w, const ox_type *t)
{
    if (t->rank < 0) return NULL;
    Onnx__TensorShapeProto *sp = wnew(w, sizeof *sp);
    Onnx__TensorShapeProto__Dimension **dims = warray(w, (size_t)t->rank, sizeof(Onnx__TensorShapeProto__Dimension *));
    Onnx__TensorShapeProto__Dimension *d = warray(w, (size_t)t->rank, sizeof *d);
    if (!sp || !dims || !d) return NULL;
    onnx__tensor_shape_proto__init(sp);
    for (int i = 0; i < t->rank; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        if (t->dims[i] >= 0) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i].dim_value = t->dims[i];
        } else if (t->dim_names[i]) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i].dim_param = cs(t->dim_names[i]);
        }
        dims[i] = &d[i];
    }
    sp->n_dim = (size_t)t->rank;
    sp->dim = dims;
    return sp;
}

/* A tensor (or sparse tensor) type of t's dtype and shape. */
static Onnx__TypeProto *tensor_type(wctx *w, const ox_type *t, bool sparse)
{
    Onnx__TypeProto *tp = wnew(w, sizeof *tp);
    if (!tp) return NULL;
    onnx__type_proto__init(tp);
    if (sparse) {
        Onnx__TypeProto__SparseTensor *s = wnew(w, sizeof *s);
        if (!s) return NULL;
        onnx__type_proto__sparse_tensor__init(s);
        s->has_elem_type = t->dtype != 0;
        s->elem_type = (int32_t)t->dtype;
        s->shape = shape_proto(w, t);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE;
        tp->sparse_tensor_type = s;
        return tp;
    }
    Onnx__TypeProto__Tensor *tt = wnew(w, sizeof *tt);
    if (!tt) return NULL;
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = t->dtype != 0;
    tt->elem_type = (int32_t)t->dtype;
    tt->shape = shape_proto(w, t);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    return tp;
}

/* A container of `inner`: a sequence or an optional. */
static Onnx__TypeProto *container_type(wctx *w, bool sequence, Onnx__TypeProto *inner)
{
    Onnx__TypeProto *tp = wnew(w, sizeof *tp);
    if (!tp || !inner) return NULL;
    onnx__type_proto__init(tp);
    if (sequence) {
        Onnx__TypeProto__Sequence *s = wnew(w, sizeof *s);
        if (!s) return NULL;
        onnx__type_proto__sequence__init(s);
        s->elem_type = inner;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        tp->sequence_type = s;
    } else {
        Onnx__TypeProto__Optional *o = wnew(w, sizeof *o);
        if (!o) return NULL;
        onnx__type_proto__optional__init(o);
        o->elem_type = inner;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
        tp->optional_type = o;
    }
    return tp;
}

/* The IR keeps a container's kind, its element's kind and the innermost tensor's type. */
static Onnx__TypeProto *type_proto(wctx *w, const ox_type *t)
{
    switch (t->kind) {
    case OX_KIND_TENSOR: return tensor_type(w, t, false);
    case OX_KIND_SPARSE: return tensor_type(w, t, true);
    case OX_KIND_SEQUENCE:
    case OX_KIND_OPTIONAL: {
        Onnx__TypeProto *inner = tensor_type(w, t, false);
        if (t->elem_kind == OX_KIND_SEQUENCE) inner = container_type(w, true, inner);
        else if (t->elem_kind == OX_KIND_OPTIONAL) inner = container_type(w, false, inner);
        return container_type(w, t->kind == OX_KIND_SEQUENCE, inner);
    }
    default: { /* a map: its key and value types are not kept */
        Onnx__TypeProto *tp = wnew(w, sizeof *tp);
        Onnx__TypeProto__Map *mt = wnew(w, sizeof *mt);
        if (!tp || !mt) return NULL;
        onnx__type_proto__init(tp);
        onnx__type_proto__map__init(mt);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE;
        tp->map_type = mt;
        return tp;
    }
    }
}

static bool type_known(const ox_type *t) { return t->kind != OX_KIND_TENSOR || t->dtype || t->rank >= 0; }

static Onnx__ValueInfoProto *value_info(wctx *w, const ox_value *v)
{
    Onnx__ValueInfoProto *vi = wnew(w, sizeof *vi);
    if (!vi) return NULL;
    onnx__value_info_proto__init(vi);
    vi->name = cs(v->name);
    if (type_known(&v->type)) vi->type = type_proto(w, &v->type);
    return vi;
}

static Onnx__TensorProto *tensor_proto(wctx *w, const ox_const *c, const char *name)
{
    Onnx__TensorProto *tp = wnew(w, sizeof *tp);
    if (!tp) return NULL;
    onyx_status st = ox_tensor_to_proto(&c->t, &w->pool, tp);
    if (st) {
        if (!w->st) w->st = st == ONYX_E_NOMEM ? st : ONYX_E_INTERNAL;
        return NULL;
    }
    tp->name = cs(name);
    return tp;
}

/* ---- graphs ---------------------------------------------------------------------------- */

static Onnx__GraphProto *graph_proto(wctx *w, const ox_graph *g);

static Onnx__AttributeProto *attr_proto(wctx *w, const ox_attr *a)
{
    Onnx__AttributeProto *ap = wnew(w, sizeof *ap);
    if (!ap) return NULL;
    onnx__attribute_proto__init(ap);
    ap->name = cs(a->name);
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OX_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
    case OX_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case OX_ATTR_STRING:
        ap->has_s = 1;
        ap->s.data = (uint8_t *)(uintptr_t)a->s;
        ap->s.len = a->s_len;
        break;
    case OX_ATTR_TENSOR: ap->t = tensor_proto(w, a->t, ""); break;
    case OX_ATTR_GRAPH: ap->g = graph_proto(w, a->g); break;
    case OX_ATTR_TYPE_PROTO: ap->tp = type_proto(w, a->tp); break;
    case OX_ATTR_FLOATS: ap->n_floats = a->n; ap->floats = a->floats; break;
    case OX_ATTR_INTS: ap->n_ints = a->n; ap->ints = a->ints; break;
    case OX_ATTR_STRINGS:
        ap->n_strings = a->n;
        if (!(ap->strings = warray(w, a->n, sizeof *ap->strings))) return NULL;
        for (size_t i = 0; i < a->n; i++) {
            ap->strings[i].data = (uint8_t *)(uintptr_t)a->strings[i];
            ap->strings[i].len = a->string_lens[i];
        }
        break;
    case OX_ATTR_TENSORS:
        ap->n_tensors = a->n;
        if (!(ap->tensors = warray(w, a->n, sizeof(Onnx__TensorProto *)))) return NULL;
        for (size_t i = 0; i < a->n; i++) ap->tensors[i] = tensor_proto(w, a->tensors[i], "");
        break;
    case OX_ATTR_GRAPHS:
        ap->n_graphs = a->n;
        if (!(ap->graphs = warray(w, a->n, sizeof(Onnx__GraphProto *)))) return NULL;
        for (size_t i = 0; i < a->n; i++) ap->graphs[i] = graph_proto(w, a->graphs[i]);
        break;
    case OX_ATTR_TYPE_PROTOS:
        ap->n_type_protos = a->n;
        if (!(ap->type_protos = warray(w, a->n, sizeof(Onnx__TypeProto *)))) return NULL;
        for (size_t i = 0; i < a->n; i++) ap->type_protos[i] = type_proto(w, &a->type_protos[i]);
        break;
    default: /* the loader densifies sparse tensors and refuses lists of them */
        if (!w->st) w->st = ONYX_E_INTERNAL;
        return NULL;
    }
    return ap;
}

/* A value name, or "" for an omitted optional input/output. */
static char *value_name(const ox_graph *g, int v) { return cs(v >= 0 ? g->values[v].name : ""); }

static Onnx__NodeProto *node_proto(wctx *w, const ox_graph *g, const ox_node *n)
{
    Onnx__NodeProto *np = wnew(w, sizeof *np);
    if (!np) return NULL;
    onnx__node_proto__init(np);
    need_opset(w, n->domain, n->opset);
    np->name = cs(n->name);
    np->op_type = cs(n->op_type);
    if (*n->domain) np->domain = cs(n->domain);
    /* declared inputs only (implicit ones are what the bodies name), trailing omitted ones
     * dropped */
    int n_in = n->n_in, n_out = n->n_out;
    while (n_in > 0 && n->in[n_in - 1] < 0) n_in--;
    while (n_out > 0 && n->out[n_out - 1] < 0) n_out--;
    np->input = warray(w, (size_t)n_in, sizeof(char *));
    np->output = warray(w, (size_t)n_out, sizeof(char *));
    np->attribute = warray(w, (size_t)n->n_attr, sizeof(Onnx__AttributeProto *));
    if (!np->input || !np->output || !np->attribute) return NULL;
    for (int k = 0; k < n_in; k++) np->input[k] = value_name(g, n->in[k]);
    for (int k = 0; k < n_out; k++) np->output[k] = value_name(g, n->out[k]);
    np->n_input = (size_t)n_in;
    np->n_output = (size_t)n_out;
    for (int k = 0; k < n->n_attr; k++) np->attribute[k] = attr_proto(w, &n->attr[k]);
    np->n_attribute = (size_t)n->n_attr;
    return np;
}

/* Values something reads: node inputs, graph outputs, and what bodies take from g. */
static bool *read_values(wctx *w, const ox_graph *g)
{
    bool *used = warray(w, (size_t)g->n_values, sizeof *used);
    if (!used) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        for (int k = 0; k < ox_node_inputs(n); k++)
            if (n->in[k] >= 0) used[n->in[k]] = true;
        for (int a = 0; a < n->n_attr; a++) {
            const ox_attr *at = &n->attr[a];
            size_t nb = at->type == OX_ATTR_GRAPH ? 1 : at->type == OX_ATTR_GRAPHS ? at->n : 0;
            for (size_t b = 0; b < nb; b++) {
                const ox_graph *body = at->type == OX_ATTR_GRAPH ? at->g : at->graphs[b];
                for (int v = 0; v < body->n_values; v++)
                    if (body->values[v].outer >= 0 && body->values[v].outer < g->n_values)
                        used[body->values[v].outer] = true;
            }
        }
    }
    for (int k = 0; k < g->n_outputs; k++) used[g->outputs[k]] = true;
    return used;
}

static Onnx__GraphProto *graph_proto(wctx *w, const ox_graph *g)
{
    Onnx__GraphProto *gp = wnew(w, sizeof *gp);
    bool *used = read_values(w, g);
    if (!gp || !used) return NULL;
    onnx__graph_proto__init(gp);
    gp->name = cs(g->name);
    size_t n_init = 0, n_vi = 0;
    for (int v = 0; v < g->n_values; v++) {
        const ox_value *val = &g->values[v];
        n_init += val->init && used[v];
        n_vi += !val->init && !val->is_input && !val->is_output && val->outer < 0 && val->producer >= 0 &&
                type_known(&val->type);
    }
    gp->node = warray(w, (size_t)g->n_nodes, sizeof(Onnx__NodeProto *));
    gp->initializer = warray(w, n_init, sizeof(Onnx__TensorProto *));
    gp->input = warray(w, (size_t)g->n_inputs, sizeof(Onnx__ValueInfoProto *));
    gp->output = warray(w, (size_t)g->n_outputs, sizeof(Onnx__ValueInfoProto *));
    gp->value_info = warray(w, n_vi, sizeof(Onnx__ValueInfoProto *));
    if (!gp->node || !gp->initializer || !gp->input || !gp->output || !gp->value_info) return NULL;
    for (int i = 0; i < g->n_nodes && !w->st; i++) gp->node[gp->n_node++] = node_proto(w, g, &g->nodes[i]);
    for (int k = 0; k < g->n_inputs; k++) gp->input[gp->n_input++] = value_info(w, &g->values[g->inputs[k]]);
    for (int k = 0; k < g->n_outputs; k++) gp->output[gp->n_output++] = value_info(w, &g->values[g->outputs[k]]);
    for (int v = 0; v < g->n_values && !w->st; v++) {
        const ox_value *val = &g->values[v];
        if (val->init && used[v]) {
            gp->initializer[gp->n_initializer++] = tensor_proto(w, val->init, val->name);
        } else if (!val->init && !val->is_input && !val->is_output && val->outer < 0 && val->producer >= 0 &&
                   type_known(&val->type)) {
            gp->value_info[gp->n_value_info++] = value_info(w, val);
        }
    }
    return gp;
}

/* ---- the file -------------------------------------------------------------------------- */

typedef struct file_sink {
    ProtobufCBuffer base;
    FILE *f;
    bool failed;
} file_sink;

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_sink *s = (file_sink *)b;
    if (!s->failed && len && fwrite(data, 1, len, s->f) != len) s->failed = true;
}

onyx_status ox_model_write_file(const onyx_model *m, const ox_graph *g, const char *path, char *err, size_t errcap)
{
    wctx w;
    memset(&w, 0, sizeof w);
    w.m = m;
    ox_pool_init(&w.pool, m->alloc, 0);
    for (int i = 0; i < m->n_opsets; i++) need_opset(&w, m->opsets[i].domain, m->opsets[i].version);
    Onnx__ModelProto mp;
    onnx__model_proto__init(&mp);
    /* initializers are not repeated among the inputs, which IR 4 made optional */
    mp.has_ir_version = 1;
    mp.ir_version = m->ir_version < 4 ? 4 : m->ir_version;
    mp.producer_name = cs(m->producer_name);
    mp.producer_version = cs(m->producer_version);
    if (*m->domain) mp.domain = cs(m->domain);
    mp.has_model_version = m->model_version != 0;
    mp.model_version = m->model_version;
    mp.graph = graph_proto(&w, g);
    mp.opset_import = w.opsets;
    mp.n_opset_import = w.n_opsets;
    onyx_status st = w.st;
    if (!st && !mp.graph) st = ONYX_E_NOMEM;
    if (st) {
        ox_pool_release(&w.pool);
        return st == ONYX_E_NOMEM ? ox_errf(err, errcap, st, "out of memory while writing the model")
                                  : ox_errf(err, errcap, st, "the graph cannot be written as ONNX");
    }
    size_t size = onnx__model_proto__get_packed_size(&mp);
    if (size > MAX_FILE_BYTES) {
        ox_pool_release(&w.pool);
        return ox_errf(err, errcap, ONYX_E_LIMIT,
                       "the model takes %zu bytes, over protobuf's 2 GiB; external data is not written yet", size);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        ox_pool_release(&w.pool);
        return ox_errf(err, errcap, ONYX_E_IO, "cannot create '%s'", path);
    }
    file_sink sink = {{NULL}, f, false};
    sink.base.append = sink_append;
    onnx__model_proto__pack_to_buffer(&mp, &sink.base);
    bool ok = !sink.failed;
    if (fclose(f) != 0) ok = false;
    ox_pool_release(&w.pool);
    if (!ok) return ox_errf(err, errcap, ONYX_E_IO, "cannot write '%s'", path);
    return ONYX_OK;
}

onyx_status onyx_model_save_file(const onyx_model *m, const char *path, onyx_error *err)
{
    if (!m || !path) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    char msg[512];
    onyx_status st = ox_model_write_file(m, m->graph, path, msg, sizeof msg);
    if (st) ox_error_set(err, st, msg);
    return st;
}
