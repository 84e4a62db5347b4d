/* load.c — ONNX ModelProto -> onyx IR.
 *
 * Two passes per graph: (A) emit nodes, inlining model-local functions, and register every
 * node output so later references resolve; (B) resolve each node's inputs (locally, else in
 * enclosing graphs for subgraph bodies), convert attributes (recursing into subgraphs) and
 * look up the op implementation. Unsupported ops are collected and reported all at once. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/model.h"
#include "onnx_io.h"
#include "../runtime/packed.h"
#include "op.h"

#define MAX_INLINE_DEPTH 32

typedef struct load_ctx {
    onyx_model *m;
    ox_tensor_src src;
    const Onnx__ModelProto *mp;
    char *err;
    size_t errcap;
    size_t unsupported_len; /* bytes of the unsupported-op list written into err */
    int64_t n_nodes;        /* across all graphs, for the node limit */
    int inline_counter;
    const ox_model_split *split; /* the main graph's initializers, still encoded (split.c) */
    ox_pb_alloc *pb;
    const ox_file_bytes *file;   /* where split's slices live, if a file */
} load_ctx;

/* One attribute as bound at a call site: its (possibly renamed) name and proto. */
typedef struct bound_attr {
    const char *name;
    const Onnx__AttributeProto *ap;
} bound_attr;

/* A node emitted in pass A, waiting for pass B. */
typedef struct pending_node {
    const char **in_names;
    bound_attr *attrs;
} pending_node;

/* Names inside an inlined function body map to fresh, unique names; formal inputs and
 * outputs map to the call site's names. */
typedef struct inline_scope {
    const struct inline_scope *outer;
    const Onnx__FunctionProto *fn;
    const Onnx__NodeProto *call;
    const bound_attr *call_attrs; /* the call's attributes after its own scope's binding */
    int n_call_attrs;
    const char *prefix;
} inline_scope;

static onyx_status fail(load_ctx *c, onyx_status st, const char *fmt, ...) OX_PRINTF(3, 4);
static onyx_status fail(load_ctx *c, onyx_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ox_verrf(c->err, c->errcap, st, fmt, ap);
    va_end(ap);
    return st;
}

static onyx_status nomem(load_ctx *c) { return fail(c, ONYX_E_NOMEM, "out of memory while loading the model"); }

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static bool is_default_domain(const char *d) { return !d || !*d || !strcmp(d, "ai.onnx"); }

static int64_t opset_of(const Onnx__OperatorSetIdProto *const *ops, size_t n, const char *domain)
{
    for (size_t i = 0; i < n; i++) {
        const char *d = str_or_empty(ops[i]->domain);
        if ((is_default_domain(d) && is_default_domain(domain)) || !strcmp(d, str_or_empty(domain)))
            return ops[i]->version;
    }
    return -1;
}

static const Onnx__FunctionProto *find_function(const load_ctx *c, const char *domain, const char *name)
{
    for (size_t i = 0; i < c->mp->n_functions; i++) {
        const Onnx__FunctionProto *f = c->mp->functions[i];
        if (f->name && !strcmp(f->name, name) && !strcmp(str_or_empty(f->domain), str_or_empty(domain)))
            return f;
    }
    return NULL;
}

/* ---- types ----------------------------------------------------------------------------- */

static onyx_status convert_shape(load_ctx *c, ox_pool *pool, const Onnx__TensorShapeProto *sp, ox_type *t,
                                 const char *what)
{
    if (!sp) {
        t->rank = -1;
        return ONYX_OK;
    }
    if (sp->n_dim > ONYX_MAX_RANK)
        return fail(c, ONYX_E_UNSUPPORTED, "'%s' has rank %zu; onyx supports up to %d", what, sp->n_dim,
                    ONYX_MAX_RANK);
    t->rank = (int)sp->n_dim;
    for (size_t i = 0; i < sp->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
        t->dims[i] = -1;
        t->dim_names[i] = NULL;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0) return fail(c, ONYX_E_PARSE, "'%s' declares negative dim %lld", what, (long long)d->dim_value);
            t->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
            if (!(t->dim_names[i] = ox_pool_strdup(pool, d->dim_param))) return nomem(c);
        }
    }
    return ONYX_OK;
}

static onyx_status convert_type(load_ctx *c, ox_pool *pool, const Onnx__TypeProto *tp, ox_type *t, const char *what,
                                int depth)
{
    memset(t, 0, sizeof *t);
    t->rank = -1;
    if (!tp) return ONYX_OK;
    if (depth > 16) return fail(c, ONYX_E_LIMIT, "type of '%s' is nested too deeply", what);
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        t->kind = OX_KIND_TENSOR;
        t->dtype = (onyx_dtype)(ox_dtype_valid(tp->tensor_type->elem_type) ? tp->tensor_type->elem_type : 0);
        return convert_shape(c, pool, tp->tensor_type->shape, t, what);
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
        t->kind = OX_KIND_SPARSE;
        t->dtype = (onyx_dtype)(ox_dtype_valid(tp->sparse_tensor_type->elem_type) ? tp->sparse_tensor_type->elem_type : 0);
        return convert_shape(c, pool, tp->sparse_tensor_type->shape, t, what);
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: {
        bool seq = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        const Onnx__TypeProto *elem = seq ? tp->sequence_type->elem_type : tp->optional_type->elem_type;
        onyx_status st = convert_type(c, pool, elem, t, what, depth + 1);
        if (st) return st;
        t->elem_kind = t->kind;
        t->kind = seq ? OX_KIND_SEQUENCE : OX_KIND_OPTIONAL;
        return ONYX_OK;
    }
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
        t->kind = OX_KIND_MAP;
        return ONYX_OK;
    default:
        return ONYX_OK;
    }
}

/* ---- attributes ------------------------------------------------------------------------ */

static onyx_status convert_graph(load_ctx *c, const Onnx__GraphProto *gp, ox_graph *parent, ox_graph **out);

/* Old files omit AttributeProto.type; infer it from the field that is set. */
static ox_attr_type attr_type(const Onnx__AttributeProto *ap)
{
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return (ox_attr_type)ap->type;
    if (ap->n_floats) return OX_ATTR_FLOATS;
    if (ap->n_ints) return OX_ATTR_INTS;
    if (ap->n_strings) return OX_ATTR_STRINGS;
    if (ap->n_tensors) return OX_ATTR_TENSORS;
    if (ap->n_graphs) return OX_ATTR_GRAPHS;
    if (ap->t) return OX_ATTR_TENSOR;
    if (ap->g) return OX_ATTR_GRAPH;
    if (ap->sparse_tensor) return OX_ATTR_SPARSE_TENSOR;
    if (ap->has_s) return OX_ATTR_STRING;
    if (ap->has_i) return OX_ATTR_INT;
    if (ap->has_f) return OX_ATTR_FLOAT;
    return OX_ATTR_UNDEFINED;
}

static const char *attr_type_name(ox_attr_type t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
                                        "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS",
                                        "TYPE_PROTO", "TYPE_PROTOS"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static onyx_status convert_attr(load_ctx *c, ox_graph *g, const char *name, const Onnx__AttributeProto *ap,
                                ox_attr *a)
{
    ox_pool *pool = g->pool;
    onyx_status st = ONYX_OK;
    a->name = ox_pool_strdup(pool, name);
    if (!a->name) return nomem(c);
    a->type = attr_type(ap);
    switch (a->type) {
    case OX_ATTR_FLOAT: a->f = ap->f; break;
    case OX_ATTR_INT: a->i = ap->i; break;
    case OX_ATTR_STRING:
        a->s_len = ap->s.len;
        if (!(a->s = ox_pool_strndup(pool, (const char *)ap->s.data, ap->s.len))) return nomem(c);
        break;
    case OX_ATTR_TENSOR:
        if (!ap->t) return fail(c, ONYX_E_PARSE, "attribute '%s' has no tensor", name);
        st = ox_tensor_from_proto(ap->t, &c->src, pool, &a->t);
        break;
    case OX_ATTR_SPARSE_TENSOR:
        if (!ap->sparse_tensor) return fail(c, ONYX_E_PARSE, "attribute '%s' has no sparse tensor", name);
        st = ox_sparse_from_proto(ap->sparse_tensor, &c->src, pool, &a->t);
        a->type = OX_ATTR_TENSOR; /* densified: ops see a plain tensor */
        break;
    case OX_ATTR_GRAPH:
        if (!ap->g) return fail(c, ONYX_E_PARSE, "attribute '%s' has no graph", name);
        st = convert_graph(c, ap->g, g, &a->g);
        break;
    case OX_ATTR_TYPE_PROTO:
        if (!(a->tp = ox_pool_alloc(pool, sizeof *a->tp, 8))) return nomem(c);
        st = convert_type(c, pool, ap->tp, a->tp, name, 0);
        break;
    case OX_ATTR_FLOATS:
        a->n = ap->n_floats;
        if (!(a->floats = ox_pool_array(pool, a->n ? a->n : 1, sizeof(float)))) return nomem(c);
        if (a->n) memcpy(a->floats, ap->floats, a->n * sizeof(float));
        break;
    case OX_ATTR_INTS:
        a->n = ap->n_ints;
        if (!(a->ints = ox_pool_array(pool, a->n ? a->n : 1, sizeof(int64_t)))) return nomem(c);
        if (a->n) memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
        break;
    case OX_ATTR_STRINGS:
        a->n = ap->n_strings;
        a->strings = ox_pool_array(pool, a->n ? a->n : 1, sizeof(char *));
        a->string_lens = ox_pool_array(pool, a->n ? a->n : 1, sizeof(size_t));
        if (!a->strings || !a->string_lens) return nomem(c);
        for (size_t i = 0; i < a->n; i++) {
            a->string_lens[i] = ap->strings[i].len;
            if (!(a->strings[i] = ox_pool_strndup(pool, (const char *)ap->strings[i].data, ap->strings[i].len)))
                return nomem(c);
        }
        break;
    case OX_ATTR_TENSORS:
        a->n = ap->n_tensors;
        if (!(a->tensors = ox_pool_array(pool, a->n ? a->n : 1, sizeof(ox_const *)))) return nomem(c);
        for (size_t i = 0; i < a->n && !st; i++) st = ox_tensor_from_proto(ap->tensors[i], &c->src, pool, &a->tensors[i]);
        break;
    case OX_ATTR_GRAPHS:
        a->n = ap->n_graphs;
        if (!(a->graphs = ox_pool_array(pool, a->n ? a->n : 1, sizeof(ox_graph *)))) return nomem(c);
        for (size_t i = 0; i < a->n && !st; i++) st = convert_graph(c, ap->graphs[i], g, &a->graphs[i]);
        break;
    case OX_ATTR_TYPE_PROTOS:
        a->n = ap->n_type_protos;
        if (!(a->type_protos = ox_pool_array(pool, a->n ? a->n : 1, sizeof(ox_type)))) return nomem(c);
        for (size_t i = 0; i < a->n && !st; i++) st = convert_type(c, pool, ap->type_protos[i], &a->type_protos[i], name, 0);
        break;
    case OX_ATTR_SPARSE_TENSORS:
        return fail(c, ONYX_E_UNSUPPORTED, "attribute '%s': lists of sparse tensors are not supported", name);
    default:
        return fail(c, ONYX_E_PARSE, "attribute '%s' has no value", name);
    }
    return st;
}

/* ---- pass A: emit nodes (with inlining) ------------------------------------------------ */

/* Maps a name used inside `scope` to the graph-level name. */
static const char *scoped_name(load_ctx *c, ox_pool *pool, const inline_scope *s, const char *name)
{
    if (!s || !*name) return name;
    for (size_t i = 0; i < s->fn->n_input; i++)
        if (!strcmp(s->fn->input[i], name))
            return i < s->call->n_input ? scoped_name(c, pool, s->outer, s->call->input[i]) : "";
    for (size_t i = 0; i < s->fn->n_output; i++)
        if (!strcmp(s->fn->output[i], name))
            return i < s->call->n_output ? scoped_name(c, pool, s->outer, s->call->output[i]) : "";
    size_t lp = strlen(s->prefix), ln = strlen(name);
    char *r = ox_pool_alloc(pool, lp + ln + 1, 1);
    if (!r) return NULL;
    memcpy(r, s->prefix, lp);
    memcpy(r + lp, name, ln + 1);
    return r;
}

/* Binds a node's attributes: inside a function body, ref_attr_name refers to the call's
 * attribute of that name (or the function's default); outside, attributes are as written. */
static onyx_status bind_attrs(load_ctx *c, ox_pool *pool, const Onnx__NodeProto *np, const inline_scope *s,
                              bound_attr **out, int *n_out)
{
    bound_attr *b = ox_pool_array(pool, np->n_attribute ? np->n_attribute : 1, sizeof *b);
    if (!b) return nomem(c);
    int n = 0;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        const char *name = str_or_empty(ap->name);
        if (ap->ref_attr_name && *ap->ref_attr_name) {
            const Onnx__AttributeProto *found = NULL;
            if (s) {
                for (int k = 0; k < s->n_call_attrs && !found; k++)
                    if (!strcmp(s->call_attrs[k].name, ap->ref_attr_name)) found = s->call_attrs[k].ap;
                for (size_t k = 0; k < s->fn->n_attribute_proto && !found; k++)
                    if (s->fn->attribute_proto[k]->name && !strcmp(s->fn->attribute_proto[k]->name, ap->ref_attr_name))
                        found = s->fn->attribute_proto[k];
            }
            if (!found) continue; /* unbound optional attribute: the op's default applies */
            ap = found;
        }
        b[n].name = name;
        b[n].ap = ap;
        n++;
    }
    *out = b;
    *n_out = n;
    return ONYX_OK;
}

static onyx_status emit_nodes(load_ctx *c, ox_graph *g, Onnx__NodeProto *const *nodes, size_t n_nodes,
                              const inline_scope *s, pending_node **pend, int *cap_pend, int depth);

static onyx_status emit_node(load_ctx *c, ox_graph *g, const Onnx__NodeProto *np, const inline_scope *s,
                             pending_node **pend, int *cap_pend, int depth)
{
    ox_pool *pool = g->pool;
    const char *domain = str_or_empty(np->domain), *op_type = str_or_empty(np->op_type);
    bound_attr *attrs = NULL;
    int n_attrs = 0;
    onyx_status st = bind_attrs(c, pool, np, s, &attrs, &n_attrs);
    if (st) return st;

    /* Model-local functions are inlined, unless onyx implements the op itself. */
    int64_t opset = s ? opset_of((const Onnx__OperatorSetIdProto *const *)s->fn->opset_import, s->fn->n_opset_import, domain)
                      : -1;
    if (opset < 0) opset = opset_of((const Onnx__OperatorSetIdProto *const *)c->mp->opset_import, c->mp->n_opset_import, domain);
    const Onnx__FunctionProto *fn = find_function(c, domain, op_type);
    if (fn && !(opset >= 0 && ox_op_find(domain, op_type, (int)opset))) {
        if (depth >= MAX_INLINE_DEPTH)
            return fail(c, ONYX_E_LIMIT, "function '%s' is nested more than %d deep (recursive?)", op_type, MAX_INLINE_DEPTH);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s#%d/", op_type, c->inline_counter++);
        /* Call-site names resolve through the enclosing scope; body names get the prefix. */
        Onnx__NodeProto call = *np;
        const char **ins = ox_pool_array(pool, np->n_input ? np->n_input : 1, sizeof(char *));
        const char **outs = ox_pool_array(pool, np->n_output ? np->n_output : 1, sizeof(char *));
        const char *pfx = ox_pool_strdup(pool, prefix);
        if (!ins || !outs || !pfx) return nomem(c);
        for (size_t i = 0; i < np->n_input; i++)
            if (!(ins[i] = scoped_name(c, pool, s, np->input[i]))) return nomem(c);
        for (size_t i = 0; i < np->n_output; i++)
            if (!(outs[i] = scoped_name(c, pool, s, np->output[i]))) return nomem(c);
        call.input = (char **)ins;
        call.output = (char **)outs;
        inline_scope inner = {NULL, fn, &call, attrs, n_attrs, pfx};
        return emit_nodes(c, g, fn->node, fn->n_node, &inner, pend, cap_pend, depth + 1);
    }

    if (++c->n_nodes > c->m->opts.max_nodes)
        return fail(c, ONYX_E_LIMIT, "model has more than %lld nodes", (long long)c->m->opts.max_nodes);
    ox_node *n = ox_graph_add_node(g, (int)np->n_input, (int)np->n_output, n_attrs);
    if (!n) return nomem(c);
    if (g->n_nodes > *cap_pend) {
        int ncap = *cap_pend ? *cap_pend * 2 : 64;
        pending_node *p = ox_pool_array(pool, (size_t)ncap, sizeof *p);
        if (!p) return nomem(c);
        if (*cap_pend) memcpy(p, *pend, (size_t)*cap_pend * sizeof *p);
        *pend = p;
        *cap_pend = ncap;
    }
    pending_node *p = &(*pend)[g->n_nodes - 1];
    n->op_type = ox_pool_strdup(pool, op_type);
    n->domain = ox_pool_strdup(pool, is_default_domain(domain) ? "" : domain);
    n->opset = opset > INT_MAX ? INT_MAX : (int)opset;
    const char *name = np->name && *np->name ? np->name : (np->n_output ? np->output[0] : op_type);
    /* a scoped name may be the call site's own string, which lives in the protobuf */
    const char *scoped = s ? scoped_name(c, pool, s, name) : name;
    n->name = scoped ? ox_pool_strdup(pool, scoped) : NULL;
    p->in_names = ox_pool_array(pool, np->n_input ? np->n_input : 1, sizeof(char *));
    p->attrs = attrs;
    if (!n->op_type || !n->domain || !n->name || !p->in_names) return nomem(c);
    for (size_t i = 0; i < np->n_input; i++)
        if (!(p->in_names[i] = scoped_name(c, pool, s, np->input[i]))) return nomem(c);
    for (size_t i = 0; i < np->n_output; i++) {
        const char *out = scoped_name(c, pool, s, np->output[i]);
        if (!out) return nomem(c);
        if (!*out) {
            n->out[i] = -1;
            continue;
        }
        int v = ox_graph_value(g, out);
        if (v < 0) return nomem(c);
        if (g->values[v].producer >= 0 || g->values[v].init || g->values[v].is_input)
            return fail(c, ONYX_E_ARG, "value '%s' is defined more than once (node '%s' %s)", out, n->name, n->op_type);
        g->values[v].producer = g->n_nodes - 1;
        n->out[i] = v;
    }
    return ONYX_OK;
}

static onyx_status emit_nodes(load_ctx *c, ox_graph *g, Onnx__NodeProto *const *nodes, size_t n_nodes,
                              const inline_scope *s, pending_node **pend, int *cap_pend, int depth)
{
    for (size_t i = 0; i < n_nodes; i++) {
        onyx_status st = emit_node(c, g, nodes[i], s, pend, cap_pend, depth);
        if (st) return st;
    }
    return ONYX_OK;
}

/* ---- pass B: inputs, attributes, op resolution ----------------------------------------- */

static bool defined(const ox_value *v) { return v->is_input || v->init || v->producer >= 0 || v->outer >= 0; }

/* The index of `name` as seen from g: local, or a new local alias of an enclosing graph's value. */
static int resolve(ox_graph *g, const char *name)
{
    int v = ox_graph_find(g, name);
    if (v >= 0 && defined(&g->values[v])) return v;
    if (!g->parent) return -1;
    int p = resolve(g->parent, name);
    if (p < 0) return p;
    v = ox_graph_value(g, name);
    if (v < 0) return -2;
    g->values[v].outer = p;
    g->values[v].type = g->parent->values[p].type;
    return v;
}

/* Appends "Op (domain 'd', opset N)" to the unsupported list in the error buffer, once per op. */
static void note_unsupported(load_ctx *c, const ox_node *n)
{
    char item[192];
    bool known = ox_op_known(n->domain, n->op_type);
    snprintf(item, sizeof item, "%s (domain '%s', opset %d%s)", n->op_type, *n->domain ? n->domain : "ai.onnx",
             n->opset, n->opset < 0 ? ": domain not imported" : known ? ": version not implemented" : "");
    if (c->unsupported_len && strstr(c->err, item)) return;
    const char *head = "unsupported ops: ";
    size_t len = c->unsupported_len;
    if (!len) len = (size_t)snprintf(c->err, c->errcap, "%s", head);
    else if (len < c->errcap) len += (size_t)snprintf(c->err + len, c->errcap - len, "; ");
    if (len < c->errcap) len += (size_t)snprintf(c->err + len, c->errcap - len, "%s", item);
    c->unsupported_len = len < c->errcap ? len : c->errcap - 1;
}

static onyx_status finish_nodes(load_ctx *c, ox_graph *g, const pending_node *pend)
{
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            // NOLINTNEXTLINE(clang-analyzer-core.NullDereference): pend has an entry per node
            const char *name = pend[i].in_names[k];
            if (!*name) {
                n->in[k] = -1;
                continue;
            }
            int v = resolve(g, name);
            if (v == -2) return nomem(c);
            if (v < 0)
                return fail(c, ONYX_E_ARG, "node '%s' (%s): input %d '%s' is not defined in the graph", n->name,
                            n->op_type, k, name);
            n->in[k] = v;
        }
        for (int k = 0; k < n->n_attr; k++) {
            // NOLINTNEXTLINE(clang-analyzer-core.NullDereference): pend has an entry per node
            const char *aname = pend[i].attrs[k].name;
            ox_attr_type t = attr_type(pend[i].attrs[k].ap);
            unsigned allowed = ox_attr_types_allowed(n->domain, n->op_type, aname);
            if (allowed && ((unsigned)t >= 32 || !(allowed & (1u << t)))) /* t: any int32 a file holds */
                return fail(c, ONYX_E_ARG, "node '%s' (%s): attribute '%s' has type %s, which the op does not take",
                            n->name, n->op_type, aname, attr_type_name(t));
            onyx_status st = convert_attr(c, g, aname, pend[i].attrs[k].ap, &n->attr[k]);
            if (st) {
                if (st != ONYX_E_NOMEM && !strstr(c->err, n->name)) {
                    char inner[400];
                    snprintf(inner, sizeof inner, "%s", c->err);
                    fail(c, st, "node '%s' (%s): %s", n->name, n->op_type, inner);
                }
                return st;
            }
        }
        if (!ox_node_add_implicit_inputs(g, n)) return nomem(c);
        n->op = n->opset >= 0 ? ox_op_find(n->domain, n->op_type, n->opset) : NULL;
        if (!n->op) {
            c->m->n_unsupported++;
            note_unsupported(c, n);
        }
    }
    return ONYX_OK;
}

static onyx_status add_initializer(load_ctx *c, ox_graph *g, const Onnx__TensorProto *tp)
{
    int v = ox_graph_value(g, str_or_empty(tp->name));
    if (v < 0) return nomem(c);
    if (g->values[v].init) return fail(c, ONYX_E_ARG, "initializer '%s' is defined twice", g->values[v].name);
    return ox_tensor_from_proto(tp, &c->src, &c->m->pool, &g->values[v].init);
}

/* Decodes one initializer of the split model, converts it and lets its bytes go. */
static onyx_status stream_initializer(load_ctx *c, ox_graph *g, ox_slice s)
{
    Onnx__TensorProto *tp = ox_tensor_proto_unpack_aliased(s, c->pb);
    if (!tp)
        return c->pb->failed ? nomem(c)
                             : fail(c, ONYX_E_PARSE, "not a valid ONNX model (an initializer does not decode)");
    onyx_status st = add_initializer(c, g, tp);
    ox_tensor_proto_free_aliased(tp, c->pb);
    if (c->file) ox_file_bytes_done(c->file, s);
    return st;
}

static onyx_status convert_graph(load_ctx *c, const Onnx__GraphProto *gp, ox_graph *parent, ox_graph **out)
{
    ox_pool *pool = &c->m->pool;
    if (parent && parent->depth + 1 > c->m->opts.max_graph_depth)
        return fail(c, ONYX_E_LIMIT, "subgraphs nested more than %d deep", c->m->opts.max_graph_depth);
    ox_graph *g = ox_graph_new(pool, parent);
    if (!g || !(g->name = ox_pool_strdup(pool, str_or_empty(gp->name)))) return nomem(c);
    onyx_status st;

    for (size_t i = 0; i < gp->n_initializer; i++)
        if ((st = add_initializer(c, g, gp->initializer[i]))) return st;
    if (gp == c->mp->graph && c->split)
        for (size_t i = 0; i < c->split->n_inits; i++)
            if ((st = stream_initializer(c, g, c->split->inits[i]))) return st;
    for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[i];
        const char *name = sp->values ? str_or_empty(sp->values->name) : "";
        int v = ox_graph_value(g, name);
        if (v < 0) return nomem(c);
        if (g->values[v].init) return fail(c, ONYX_E_ARG, "initializer '%s' is defined twice", name);
        if ((st = ox_sparse_from_proto(sp, &c->src, pool, &g->values[v].init))) return st;
    }
    for (int v = 0; v < g->n_values; v++) {
        const ox_const *k = g->values[v].init;
        ox_type *t = &g->values[v].type;
        t->kind = OX_KIND_TENSOR;
        t->dtype = k->t.dtype;
        t->rank = k->t.rank;
        for (int d = 0; d < k->t.rank; d++) t->dims[d] = k->t.dims[d];
    }

    /* Graph inputs; ones that name an initializer (IR < 4 style) are constants, not inputs. */
    if (!(g->inputs = ox_pool_array(pool, gp->n_input ? gp->n_input : 1, sizeof(int)))) return nomem(c);
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = str_or_empty(gp->input[i]->name);
        int v = ox_graph_value(g, name);
        if (v < 0) return nomem(c);
        ox_value *val = &g->values[v];
        if (val->init) continue;
        if (val->is_input) return fail(c, ONYX_E_ARG, "graph input '%s' is declared twice", name);
        if ((st = convert_type(c, pool, gp->input[i]->type, &val->type, name, 0))) return st;
        val->is_input = true;
        g->inputs[g->n_inputs++] = v;
    }

    pending_node *pend = NULL;
    int cap_pend = 0;
    if ((st = emit_nodes(c, g, gp->node, gp->n_node, NULL, &pend, &cap_pend, 0))) return st;
    if ((st = finish_nodes(c, g, pend))) return st;

    for (size_t i = 0; i < gp->n_value_info; i++) {
        int v = ox_graph_find(g, str_or_empty(gp->value_info[i]->name));
        if (v >= 0 && !g->values[v].init && !g->values[v].is_input &&
            (st = convert_type(c, pool, gp->value_info[i]->type, &g->values[v].type, g->values[v].name, 0)))
            return st;
    }

    if (!(g->outputs = ox_pool_array(pool, gp->n_output ? gp->n_output : 1, sizeof(int)))) return nomem(c);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = str_or_empty(gp->output[i]->name);
        int v = resolve(g, name);
        if (v == -2) return nomem(c);
        if (v < 0) return fail(c, ONYX_E_ARG, "graph output '%s' is not produced by any node", name);
        ox_value *val = &g->values[v];
        ox_type declared;
        if ((st = convert_type(c, pool, gp->output[i]->type, &declared, name, 0))) return st;
        if (!val->init && !val->is_input && val->type.rank < 0 && val->type.dtype == 0) val->type = declared;
        if (declared.kind != OX_KIND_TENSOR) val->type.kind = declared.kind;
        val->is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    if ((st = ox_graph_sort(g, c->err, c->errcap))) return st;
    *out = g;
    return ONYX_OK;
}

/* ---- entry points ---------------------------------------------------------------------- */

static onyx_status load_proto(onyx_model *m, const Onnx__ModelProto *mp, const char *base_dir, char *err,
                              size_t errcap, load_ctx c)
{
    c.m = m;
    c.mp = mp;
    c.err = err;
    c.errcap = errcap;
    c.src.base_dir = base_dir;
    c.src.max_tensor_bytes = m->opts.max_tensor_bytes;
    c.src.err = err;
    c.src.errcap = errcap;
    ox_pool *pool = &m->pool;

    if (!mp->graph) return fail(&c, ONYX_E_PARSE, "model has no graph");
    m->ir_version = mp->ir_version;
    m->model_version = mp->model_version;
    m->producer_name = ox_pool_strdup(pool, str_or_empty(mp->producer_name));
    m->producer_version = ox_pool_strdup(pool, str_or_empty(mp->producer_version));
    m->domain = ox_pool_strdup(pool, str_or_empty(mp->domain));
    m->opsets = ox_pool_array(pool, mp->n_opset_import ? mp->n_opset_import : 1, sizeof(ox_opset));
    if (!m->producer_name || !m->producer_version || !m->domain || !m->opsets) return nomem(&c);
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = str_or_empty(mp->opset_import[i]->domain);
        if (!(m->opsets[i].domain = ox_pool_strdup(pool, is_default_domain(d) ? "" : d))) return nomem(&c);
        m->opsets[i].version = mp->opset_import[i]->version;
    }
    m->n_opsets = (int)mp->n_opset_import;

    onyx_status st = convert_graph(&c, mp->graph, NULL, &m->graph);
    if (st) return st;
    if (m->n_unsupported && !m->opts.allow_unsupported) return ONYX_E_UNSUPPORTED;
    if (m->n_unsupported) err[0] = 0;
    return ONYX_OK;
}

/* Decodes the protobuf (every allocation through the model's allocator), converts it, and
 * frees the protobuf: the model keeps only its own IR and weights. The main graph's
 * initializers are decoded one at a time when the model splits (split.c); file, if set, holds
 * buf and gets each initializer's bytes back once converted. */
static onyx_status load_buffer(const void *buf, size_t len, const ox_file_bytes *file, const char *base_dir,
                               const onyx_load_options *o, onyx_model **out, onyx_error *err)
{
    char msg[1024] = "";
    *out = NULL;
    onyx_model *m = ox_model_new(o);
    if (!m) {
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    /* each subgraph level is three message levels (graph, node, attribute) */
    int limit = 4 * m->opts.max_graph_depth + 64;
    if (ox_onnx_nesting(buf, len, limit) > limit) {
        char msg2[160];
        snprintf(msg2, sizeof msg2, "the model nests subgraphs or types too deeply (limit: %d subgraph levels)",
                 m->opts.max_graph_depth);
        ox_error_set(err, ONYX_E_LIMIT, msg2);
        onyx_model_free(m);
        return ONYX_E_LIMIT;
    }
    ox_pb_alloc pb;
    ox_pb_alloc_init(&pb, &m->alloc);
    ox_model_split split;
    onyx_status st = ox_onnx_split(buf, len, &m->alloc, &split);
    bool streamed = st == ONYX_OK;
    Onnx__ModelProto *mp = NULL;
    if (st == ONYX_E_NOMEM)
        ox_errf(msg, sizeof msg, ONYX_E_NOMEM, "out of memory decoding the model");
    else if (!(mp = streamed ? onnx__model_proto__unpack(&pb.pa, split.skeleton_len, split.skeleton)
                             : onnx__model_proto__unpack(&pb.pa, len, buf))) {
        st = pb.failed ? ox_errf(msg, sizeof msg, ONYX_E_NOMEM, "out of memory decoding the model")
                       : ox_errf(msg, sizeof msg, ONYX_E_PARSE, "not a valid ONNX model (protobuf decoding failed)");
    } else {
        load_ctx c = {0};
        c.split = streamed ? &split : NULL;
        c.pb = &pb;
        c.file = file;
        st = load_proto(m, mp, base_dir, msg, sizeof msg, c);
        onnx__model_proto__free_unpacked(mp, &pb.pa);
    }
    if (streamed) ox_onnx_split_free(&split, &m->alloc);
    if (st) {
        ox_error_set(err, st, msg);
        onyx_model_free(m);
        return st;
    }
    *out = m;
    return ONYX_OK;
}

onyx_status onyx_model_load_memory(const void *buf, size_t len, const onyx_load_options *o, onyx_model **out,
                                   onyx_error *err)
{
    if (!out || (!buf && len)) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    if (ox_is_packed(buf, len)) return ox_packed_load_copy(buf, len, o, out, err);
    return load_buffer(buf, len, NULL, NULL, o, out, err);
}

onyx_status onyx_model_load_file(const char *path, const onyx_load_options *o, onyx_model **out, onyx_error *err)
{
    if (!path || !out) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    *out = NULL;
    onyx_load_options r;
    ox_load_options_resolve(o, &r);
    ox_allocator a = ox_allocator_make(r.alloc, r.alloc_user);
    char msg[512];
    ox_file_bytes file;
    onyx_status st = ox_file_bytes_open(path, &a, r.max_total_bytes, &file, msg, sizeof msg);
    if (st) {
        ox_error_set(err, st, msg);
        return st;
    }
    if (ox_is_packed(file.data, file.len)) {
        st = ox_packed_load_copy(file.data, file.len, o, out, err);
        ox_file_bytes_close(&file, &a);
        return st;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    st = load_buffer(file.data, file.len, &file, dir, o, out, err);
    ox_file_bytes_close(&file, &a);
    return st;
}
