/* opt_util.c — what the optimiser's passes ask of a graph: producers, constants, ranks and
 * element types known without input shapes, new constants, private copies of node data. */
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "opt.h"

#define MAX_DEPTH 64 /* rank questions follow producer chains at most this far */

int ox_opt_producer(const ox_opt *o, int v)
{
    if (v < 0 || v >= o->n_values) return -1;
    int p = o->prod[v];
    if (p < 0 || o->dead[p]) return -1;
    const ox_node *n = &o->g->nodes[p];
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] == v) return p;
    return -1;
}

bool ox_opt_single_use(const ox_opt *o, int v)
{
    return v >= 0 && v < o->n_values && o->uses[v] == 1 && !o->pinned[v];
}

bool ox_opt_is(const ox_node *n, const char *op_type)
{
    return n->op && !*n->domain && !strcmp(n->op_type, op_type);
}

const ox_const *ox_opt_const(const ox_opt *o, int v)
{
    if (v < 0) return NULL;
    if (o->g->values[v].init) return o->g->values[v].init;
    int p = ox_opt_producer(o, v);
    if (p < 0 || !ox_opt_is(&o->g->nodes[p], "Constant")) return NULL;
    const ox_attr *a = ox_node_attr(&o->g->nodes[p], "value");
    return a && a->type == OX_ATTR_TENSOR ? a->t : NULL;
}

static int rank_of(const ox_opt *o, int v, int depth);

/* The length of value v, a 1-D tensor, when it is fixed: constants, Shape of a value of
 * known rank, Gather from a 1-D value with constant 1-D indices, Unsqueeze of a scalar, and
 * Concat of such. This is what decides a Reshape's output rank in exported models. */
static int64_t length_of(const ox_opt *o, int v, int depth)
{
    if (v < 0 || depth > MAX_DEPTH) return -1;
    const ox_const *k = ox_opt_const(o, v);
    if (k) return k->t.rank == 1 ? k->t.dims[0] : -1;
    int p = ox_opt_producer(o, v);
    if (p < 0) return -1;
    const ox_node *n = &o->g->nodes[p];
    if (n->out[0] != v || n->n_in < 1) return -1;
    if (ox_opt_is(n, "Shape"))
        return ox_node_attr(n, "start") || ox_node_attr(n, "end") ? -1 : rank_of(o, n->in[0], depth + 1);
    if (ox_opt_is(n, "Gather") && n->n_in == 2) {
        const ox_const *idx = ox_opt_const(o, n->in[1]);
        return idx && idx->t.rank == 1 && rank_of(o, n->in[0], depth + 1) == 1 ? idx->t.dims[0] : -1;
    }
    if (ox_opt_is(n, "Unsqueeze") && rank_of(o, n->in[0], depth + 1) == 0) {
        const ox_attr *a = ox_node_attr(n, "axes");
        const ox_const *axes = n->n_in > 1 ? ox_opt_const(o, n->in[1]) : NULL;
        bool one = n->opset < 13 ? a && a->type == OX_ATTR_INTS && a->n == 1
                                 : axes && ox_tensor_numel(&axes->t) == 1;
        return one ? 1 : -1;
    }
    if (ox_opt_is(n, "Concat")) {
        int64_t total = 0;
        for (int i = 0; i < n->n_in; i++) {
            int64_t len = length_of(o, n->in[i], depth + 1);
            if (len < 0 || len > INT32_MAX) return -1;
            total += len;
        }
        return total;
    }
    return -1;
}

/* Ops whose output 0 has the rank of input 0. */
static bool keeps_rank(const char *t)
{
    static const char *const ops[] = {
        "Abs", "BatchNormalization", "Cast", "Ceil", "Clip", "Cos", "Dropout", "Elu", "Erf", "Exp",
        "Floor", "Gelu", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization",
        "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "Neg", "Not", "Reciprocal", "Relu",
        "Round", "Selu", "Sigmoid", "Sign", "Sin", "Softmax", "Softplus", "Sqrt", "Tanh", "Transpose"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(t, ops[i])) return true;
    return false;
}

/* Ops broadcasting their inputs numpy-style from opset 7 on: output rank = the largest. */
static bool broadcasts(const char *t)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min", "Sum", "Mean"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(t, ops[i])) return true;
    return false;
}

static int rank_of(const ox_opt *o, int v, int depth)
{
    if (v < 0 || depth > MAX_DEPTH) return -1;
    const ox_value *val = &o->g->values[v];
    const ox_const *k = ox_opt_const(o, v);
    if (k) return k->t.rank;
    if (val->is_input) return val->type.kind == OX_KIND_TENSOR ? val->type.rank : -1;
    const onyx_tensor *s = ox_opt_shape(o, v); /* fixed-shape inputs: every shape is known */
    if (s) return s->rank;
    const ox_sshape *ss = ox_opt_sshape(o, v); /* symbolic shapes, when a pass found them */
    if (ss) return ss->rank;
    int p = ox_opt_producer(o, v);
    if (p < 0) return -1;
    const ox_node *n = &o->g->nodes[p];
    if (n->out[0] != v || n->n_in < 1 || !n->op || *n->domain) return -1;
    const char *t = n->op_type;
    if (!strcmp(t, "Flatten") || !strcmp(t, "Gemm")) return 2;
    if (!strcmp(t, "Shape")) return 1;
    if (!strcmp(t, "Size")) return 0;
    if (keeps_rank(t)) return rank_of(o, n->in[0], depth + 1);
    if (!strcmp(t, "Reshape") && n->n_in == 2) {
        int64_t len = length_of(o, n->in[1], depth + 1);
        return len >= 0 && len <= ONYX_MAX_RANK ? (int)len : -1;
    }
    if (!strcmp(t, "MatMul") && n->n_in >= 2) { /* a fused one has a bias row as input 2 */
        int ra = rank_of(o, n->in[0], depth + 1), rb = rank_of(o, n->in[1], depth + 1);
        return ra >= 2 && rb >= 2 ? (ra > rb ? ra : rb) : -1;
    }
    if (broadcasts(t) && n->opset >= 7) {
        int r = 0;
        for (int i = 0; i < n->n_in; i++) {
            int ri = rank_of(o, n->in[i], depth + 1);
            if (ri < 0) return -1;
            if (ri > r) r = ri;
        }
        return r;
    }
    return -1;
}

int ox_opt_rank(const ox_opt *o, int v) { return rank_of(o, v, 0); }

onyx_dtype ox_opt_dtype(const ox_opt *o, int v)
{
    if (v < 0) return ONYX_DTYPE_UNDEFINED;
    const ox_const *k = ox_opt_const(o, v);
    if (k) return k->t.dtype;
    const ox_value *val = &o->g->values[v];
    if (val->is_input) return val->type.kind == OX_KIND_TENSOR ? val->type.dtype : ONYX_DTYPE_UNDEFINED;
    int p = ox_opt_producer(o, v);
    if (p < 0 || !ox_opt_is(&o->g->nodes[p], "Cast")) return ONYX_DTYPE_UNDEFINED;
    const ox_attr *to = ox_node_attr(&o->g->nodes[p], "to");
    return to && to->type == OX_ATTR_INT && ox_dtype_valid((int)to->i) ? (onyx_dtype)to->i : ONYX_DTYPE_UNDEFINED;
}

bool ox_opt_float(const ox_opt *o, int v)
{
    onyx_dtype t = ox_opt_dtype(o, v);
    const onyx_tensor *s = t ? NULL : ox_opt_shape(o, v);
    return (s ? s->dtype : t) == ONYX_DTYPE_FLOAT;
}

int ox_opt_new_const(ox_opt *o, const char *base, onyx_dtype dtype, int rank, const int64_t *dims, ox_const **out)
{
    ox_graph *g = o->g;
    size_t bytes;
    if (rank < 0 || rank > ONYX_MAX_RANK || !ox_shape_bytes(dtype, rank, dims, &bytes)) return -1;
    ox_const *c = ox_pool_alloc(g->pool, sizeof *c, 8);
    void *data = c ? ox_pool_alloc(g->pool, bytes ? bytes : 1, OX_ALIGN) : NULL;
    if (!data) return -1;
    c->t.dtype = dtype;
    c->t.rank = rank;
    for (int d = 0; d < rank; d++) c->t.dims[d] = dims[d];
    c->t.data = data;
    c->nbytes = bytes;
    char name[256];
    do snprintf(name, sizeof name, "%.200s_%d", base, o->fresh++);
    while (ox_graph_find(g, name) >= 0);
    int v = ox_graph_value(g, name);
    if (v < 0) return -1;
    ox_value *val = &g->values[v];
    val->init = c;
    val->type.kind = OX_KIND_TENSOR;
    val->type.dtype = dtype;
    val->type.rank = rank;
    for (int d = 0; d < rank; d++) val->type.dims[d] = dims[d];
    *out = c;
    return v;
}

bool ox_opt_own_attrs(ox_opt *o, ox_node *n)
{
    ox_attr *a = ox_pool_array(o->g->pool, (size_t)(n->n_attr ? n->n_attr : 1), sizeof *a);
    if (!a) return false;
    if (n->n_attr) memcpy(a, n->attr, (size_t)n->n_attr * sizeof *a);
    n->attr = a;
    return true;
}

bool ox_opt_set_inputs(ox_opt *o, ox_node *n, const int *in, int n_in)
{
    int *arr = ox_pool_array(o->g->pool, (size_t)(n_in ? n_in : 1), sizeof(int));
    if (!arr) return false;
    if (n_in) memcpy(arr, in, (size_t)n_in * sizeof(int));
    n->in = arr;
    n->n_in = n_in;
    n->n_implicit = 0;
    return true;
}

void ox_opt_op_ctx(ox_ctx *c, const ox_node *n, int n_in, onyx_tensor **in, onyx_tensor **out, ox_pool *strings,
                   char *msg, size_t msg_cap)
{
    memset(c, 0, sizeof *c);
    c->node = n;
    c->opset = n->opset;
    c->n_in = n_in;
    c->n_out = n->n_out;
    c->in = in;
    c->out = out;
    c->threads = 1;
    c->msg = msg;
    c->msg_cap = msg_cap;
    c->need_value = -1;
    c->strings = strings;
    c->weights_in_place = true;
}
