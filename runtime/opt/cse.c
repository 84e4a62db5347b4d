/* cse.c — common-subexpression elimination: a node with the same op, opset, inputs and
 * attributes as an earlier live node computes the same values (ONNX ops are functions of
 * their inputs), so its readers read the earlier node's outputs. Not for random ops, Dropout
 * (random in training mode), nodes with subgraphs, or a node with a pinned output (its name
 * needs a producer). Attributes compare by value; those of kinds without a comparison here
 * (graphs, type protos) make nodes different. */
#include <string.h>

#include "op.h"
#include "opt.h"

static bool eligible(const ox_node *n)
{
    if (!n->op || (n->op->flags & OX_OP_NO_FOLD) || n->n_implicit || ox_opt_is(n, "Dropout")) return false;
    for (int a = 0; a < n->n_attr; a++)
        if (n->attr[a].type == OX_ATTR_GRAPH || n->attr[a].type == OX_ATTR_GRAPHS) return false;
    return n->n_out > 0;
}

static bool same_tensor(const ox_const *a, const ox_const *b)
{
    if (a == b) return true;
    if (!a || !b || a->t.dtype != b->t.dtype || a->t.rank != b->t.rank || a->nbytes != b->nbytes) return false;
    if (a->t.dtype == ONYX_DTYPE_STRING) return false; /* pointers to bytes: not compared */
    for (int d = 0; d < a->t.rank; d++)
        if (a->t.dims[d] != b->t.dims[d]) return false;
    return !a->nbytes || !memcmp(a->t.data, b->t.data, a->nbytes);
}

static bool same_attr(const ox_attr *a, const ox_attr *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case OX_ATTR_FLOAT: return a->f == b->f;
    case OX_ATTR_INT: return a->i == b->i;
    case OX_ATTR_STRING: return a->s_len == b->s_len && (!a->s_len || !memcmp(a->s, b->s, a->s_len));
    case OX_ATTR_FLOATS: return a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, a->n * sizeof *a->floats));
    case OX_ATTR_INTS: return a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, a->n * sizeof *a->ints));
    case OX_ATTR_STRINGS:
        if (a->n != b->n) return false;
        for (size_t i = 0; i < a->n; i++)
            if (a->string_lens[i] != b->string_lens[i] || memcmp(a->strings[i], b->strings[i], a->string_lens[i]))
                return false;
        return true;
    case OX_ATTR_TENSOR: return same_tensor(a->t, b->t);
    default: return false;
    }
}

static bool same_node(const ox_node *a, const ox_node *b)
{
    if (a->op != b->op || a->opset != b->opset || strcmp(a->op_type, b->op_type) || strcmp(a->domain, b->domain) ||
        a->n_in != b->n_in || a->n_out != b->n_out || a->n_attr != b->n_attr)
        return false;
    for (int k = 0; k < a->n_in; k++)
        if (a->in[k] != b->in[k]) return false;
    for (int k = 0; k < a->n_out; k++) /* an omitted optional output may change what a node does */
        if ((a->out[k] < 0) != (b->out[k] < 0)) return false;
    for (int i = 0; i < a->n_attr; i++) {
        const ox_attr *y = ox_node_attr(b, a->attr[i].name);
        if (!y || !same_attr(&a->attr[i], y)) return false;
    }
    return true;
}

static uint64_t node_hash(const ox_node *n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = n->op_type; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    for (int k = 0; k < n->n_in; k++) h = (h ^ (uint64_t)(uint32_t)n->in[k]) * 1099511628211ull;
    return h;
}

onyx_status ox_pass_cse(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    size_t nv = (size_t)(o->n_values ? o->n_values : 1), cap = 16;
    while (cap < 2 * (size_t)g->n_nodes) cap *= 2;
    int *alias = ox_malloc(&o->alloc, nv * sizeof *alias);
    int *table = ox_malloc(&o->alloc, cap * sizeof *table); /* node indices, -1 empty */
    if (!alias || !table) {
        ox_free(&o->alloc, alias, nv * sizeof *alias);
        ox_free(&o->alloc, table, cap * sizeof *table);
        return ox_opt_nomem(o);
    }
    for (int v = 0; v < o->n_values; v++) alias[v] = -1;
    for (size_t s = 0; s < cap; s++) table[s] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *n = &g->nodes[i];
        if (o->dead[i]) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && n->in[k] < o->n_values && alias[n->in[k]] >= 0) n->in[k] = alias[n->in[k]];
        if (!eligible(n)) continue;
        size_t s = (size_t)node_hash(n) & (cap - 1);
        while (table[s] >= 0 && !same_node(&g->nodes[table[s]], n)) s = (s + 1) & (cap - 1);
        if (table[s] < 0) {
            table[s] = i;
            continue;
        }
        const ox_node *first = &g->nodes[table[s]];
        bool movable = true;
        for (int k = 0; k < n->n_out; k++)
            movable &= n->out[k] < 0 || (!o->pinned[n->out[k]] && n->out[k] < o->n_values);
        if (!movable) continue;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) alias[n->out[k]] = first->out[k];
        o->dead[i] = true;
        o->stats->fired[OX_PASS_CSE]++;
        *changed = true;
    }
    ox_free(&o->alloc, alias, nv * sizeof *alias);
    ox_free(&o->alloc, table, cap * sizeof *table);
    return ONYX_OK;
}
