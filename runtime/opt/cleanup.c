/* cleanup.c — level-1 passes: nodes whose results nobody needs, and nodes that pass their
 * input through unchanged (Identity, Dropout in inference mode, Cast to the type the input
 * already has). ONNX ops have no side effects, so a node whose results reach no graph output
 * can go, random ops included. */
#include <string.h>

#include "opt.h"

onyx_status ox_pass_dead_nodes(ox_opt *o, bool *changed)
{
    const ox_graph *g = o->g;
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    bool *live = ox_calloc(&o->alloc, nn, sizeof *live);
    int *stack = ox_malloc(&o->alloc, nn * sizeof *stack);
    if (!live || !stack) {
        ox_free(&o->alloc, live, nn * sizeof *live);
        ox_free(&o->alloc, stack, nn * sizeof *stack);
        return ox_opt_nomem(o);
    }
    /* from the graph outputs back through every input, implicit ones included */
    int top = 0;
    for (int k = 0; k < g->n_outputs; k++) {
        int p = ox_opt_producer(o, g->outputs[k]);
        if (p >= 0 && !live[p]) {
            live[p] = true;
            stack[top++] = p;
        }
    }
    while (top) {
        const ox_node *n = &g->nodes[stack[--top]];
        for (int k = 0; k < ox_node_inputs(n); k++) {
            int p = ox_opt_producer(o, n->in[k]);
            if (p >= 0 && !live[p]) {
                live[p] = true;
                stack[top++] = p;
            }
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!o->dead[i] && !live[i]) {
            o->dead[i] = true;
            o->stats->fired[OX_PASS_DEAD_NODE]++;
            *changed = true;
        }
    ox_free(&o->alloc, live, nn * sizeof *live);
    ox_free(&o->alloc, stack, nn * sizeof *stack);
    return ONYX_OK;
}

/* Dropout is the identity unless training_mode (opset 12+) is set; a training_mode that is
 * not a constant false keeps it. Its mask output must be unused. */
static bool dropout_passes_through(const ox_opt *o, const ox_node *n)
{
    if (n->opset >= 12 && n->n_in > 2 && n->in[2] >= 0) {
        const ox_const *tm = ox_opt_const(o, n->in[2]);
        if (!tm || tm->t.dtype != ONYX_DTYPE_BOOL || ox_tensor_numel(&tm->t) != 1 || ((const uint8_t *)tm->t.data)[0])
            return false;
    }
    for (int k = 1; k < n->n_out; k++) {
        int v = n->out[k];
        if (v >= 0 && (o->uses[v] || o->pinned[v])) return false;
    }
    return true;
}

/* The pass a node that passes input 0 through as output 0 falls under, or OX_PASS_COUNT. */
static ox_pass pass_through(const ox_opt *o, const ox_node *n)
{
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0 || n->n_implicit) return OX_PASS_COUNT;
    if (ox_opt_is(n, "Identity") && n->n_out == 1) return OX_PASS_IDENTITY;
    if (ox_opt_is(n, "Dropout") && dropout_passes_through(o, n)) return OX_PASS_DROPOUT;
    if (ox_opt_is(n, "Cast") && n->n_out == 1) {
        const ox_attr *to = ox_node_attr(n, "to");
        onyx_dtype t = ox_opt_dtype(o, n->in[0]);
        if (t && to && to->type == OX_ATTR_INT && to->i == (int64_t)t) return OX_PASS_CAST;
    }
    return OX_PASS_COUNT;
}

/* The node goes and its readers read its input instead. A pinned output (a graph output, or
 * read by a body) keeps the node: its name and producer must stay. */
onyx_status ox_pass_eliminate(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    size_t nv = (size_t)(o->n_values ? o->n_values : 1);
    int *alias = ox_malloc(&o->alloc, nv * sizeof *alias);
    if (!alias) return ox_opt_nomem(o);
    for (int v = 0; v < o->n_values; v++) alias[v] = -1;
    bool any = false;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        if (o->dead[i]) continue;
        ox_pass p = pass_through(o, n);
        if (p == OX_PASS_COUNT || o->pinned[n->out[0]]) continue;
        alias[n->out[0]] = n->in[0];
        o->dead[i] = true;
        o->stats->fired[p]++;
        any = true;
    }
    /* readers follow chains of eliminated nodes to the first value that stays */
    for (int i = 0; any && i < g->n_nodes; i++) {
        if (o->dead[i]) continue;
        ox_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            while (n->in[k] >= 0 && alias[n->in[k]] >= 0) n->in[k] = alias[n->in[k]];
    }
    ox_free(&o->alloc, alias, nv * sizeof *alias);
    *changed |= any;
    return ONYX_OK;
}
