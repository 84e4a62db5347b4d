/* optimize.c — the optimiser's driver: runs the passes of a level until none changes the
 * graph, then drops the dead nodes and sorts again. */
#include <string.h>

#include "opt.h"

#define MAX_ROUNDS 8 /* each round only shrinks the graph; a few settle every model seen */

const char *ox_pass_name(ox_pass p)
{
    static const char *const names[OX_PASS_COUNT] = {
        [OX_PASS_DEAD_NODE] = "dead-node",   [OX_PASS_IDENTITY] = "identity",
        [OX_PASS_DROPOUT] = "dropout",       [OX_PASS_CAST] = "no-op-cast",
        [OX_PASS_BN_CONV] = "bn-into-conv",  [OX_PASS_BN_GEMM] = "bn-into-gemm",
        [OX_PASS_MATMUL_ADD] = "matmul-add-to-gemm",
        [OX_PASS_FOLD_CONST] = "constant-fold",  [OX_PASS_RESHAPE] = "reshape-elim",
        [OX_PASS_TRANSPOSE] = "transpose-elim",  [OX_PASS_CSE] = "cse",
        [OX_PASS_LAYER_NORM] = "layer-norm",     [OX_PASS_GELU] = "gelu",
        [OX_PASS_ACT_CONV] = "act-into-conv",
        [OX_PASS_ATTENTION] = "attention",     [OX_PASS_ATTENTION_INTERNAL] = "attention-internal",
        [OX_PASS_RESIDUAL_CONV] = "residual-into-conv", [OX_PASS_MUL_CONV] = "mul-into-conv",
        [OX_PASS_ADD_CONV] = "add-into-conv",  [OX_PASS_PAD_CONV] = "pad-into-conv",
        [OX_PASS_TRANSPOSE_GEMM] = "transpose-into-gemm", [OX_PASS_MUL_GEMM] = "mul-into-gemm",
        [OX_PASS_ADD_GEMM] = "add-into-gemm", [OX_PASS_ACT_GEMM] = "act-into-gemm",
        [OX_PASS_MATMUL_BIAS] = "bias-into-matmul", [OX_PASS_RMS_NORM] = "rms-norm",
        [OX_PASS_LAYER_NORM_INTERNAL] = "layer-norm-internal", [OX_PASS_GELU_INTERNAL] = "gelu-internal",
        [OX_PASS_RMS_NORM_INTERNAL] = "rms-norm-internal", [OX_PASS_SKIP_LAYER_NORM] = "skip-layer-norm",
        [OX_PASS_BN_CONVTRANSPOSE] = "bn-into-convtranspose", [OX_PASS_BN_MATMUL] = "bn-into-matmul",
        [OX_PASS_ACT_CONVTRANSPOSE] = "act-into-convtranspose",
    };
    return (unsigned)p < OX_PASS_COUNT ? names[p] : "unknown";
}

bool ox_pass_session_only(ox_pass p)
{
    switch (p) {
    case OX_PASS_ACT_CONV:
    case OX_PASS_ACT_CONVTRANSPOSE:
    case OX_PASS_RESIDUAL_CONV:
    case OX_PASS_ACT_GEMM:
    case OX_PASS_MATMUL_BIAS:
    case OX_PASS_ATTENTION_INTERNAL:
    case OX_PASS_LAYER_NORM_INTERNAL:
    case OX_PASS_GELU_INTERNAL:
    case OX_PASS_RMS_NORM_INTERNAL:
    case OX_PASS_SKIP_LAYER_NORM: return true;
    default: return false;
    }
}

typedef struct pass_row {
    onyx_status (*run)(ox_opt *o, bool *changed);
    int level; /* lowest level that runs it */
} pass_row;

/* Eliminations first so folds see through Identity and Dropout; dead nodes last. */
static const pass_row passes[] = {
    {ox_pass_eliminate, 1},
    {ox_pass_fold_shapes, 1},    /* shape arithmetic of dims declared fixed, beside symbolic ones */
    {ox_pass_fold_constants, 1}, /* also finds the static shapes the passes below use */
    {ox_pass_simplify, 1},
    {ox_pass_cse, 1},
    {ox_pass_fold_bn, 2},
    {ox_pass_fold_into_conv, 2}, /* after BN, so Conv -> BN -> Mul folds in one round */
    {ox_pass_matmul_add, 2},
    {ox_pass_fold_into_gemm, 2}, /* after MatMul + Add, so a second Add joins the bias */
    {ox_pass_transformer, 2},
    {ox_pass_attention, 2},
    {ox_pass_dead_nodes, 1},
};

static void free_tables(ox_opt *o)
{
    size_t nv = (size_t)(o->n_values ? o->n_values : 1);
    ox_free(&o->alloc, o->prod, nv * sizeof *o->prod);
    ox_free(&o->alloc, o->uses, nv * sizeof *o->uses);
    ox_free(&o->alloc, o->pinned, nv * sizeof *o->pinned);
    o->prod = NULL;
    o->uses = NULL;
    o->pinned = NULL;
    o->n_values = 0;
}

onyx_status ox_opt_nomem(ox_opt *o) { return ox_errf(o->err, o->cap, ONYX_E_NOMEM, "out of memory while optimising"); }

onyx_status ox_opt_index(ox_opt *o)
{
    const ox_graph *g = o->g;
    free_tables(o);
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    o->prod = ox_malloc(&o->alloc, nv * sizeof *o->prod);
    o->uses = ox_calloc(&o->alloc, nv, sizeof *o->uses);
    o->pinned = ox_calloc(&o->alloc, nv, sizeof *o->pinned);
    o->n_values = g->n_values;
    if (!o->prod || !o->uses || !o->pinned) {
        free_tables(o);
        return ox_opt_nomem(o);
    }
    for (int v = 0; v < g->n_values; v++) o->prod[v] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (o->dead[i]) continue;
        const ox_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) o->prod[n->out[k]] = i;
        for (int k = 0; k < ox_node_inputs(n); k++) {
            int v = n->in[k];
            if (v < 0) continue;
            o->uses[v]++;
            if (k >= n->n_in) o->pinned[v] = true; /* a body reads it by index */
        }
    }
    for (int k = 0; k < g->n_outputs; k++) o->pinned[g->outputs[k]] = true;
    return ONYX_OK;
}

/* Drops dead nodes (keeping the order of the others). */
static onyx_status compact(ox_opt *o)
{
    ox_graph *g = o->g;
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++) live += !o->dead[i];
    if (live == g->n_nodes) return ONYX_OK;
    ox_node *nodes = ox_pool_array(g->pool, (size_t)(live ? live : 1), sizeof *nodes);
    if (!nodes) return ox_opt_nomem(o);
    for (int i = 0, k = 0; i < g->n_nodes; i++)
        if (!o->dead[i]) nodes[k++] = g->nodes[i];
    g->nodes = nodes;
    g->n_nodes = live;
    g->cap_nodes = live;
    return ONYX_OK;
}

/* Runs the rows of `rows` whose level is at most `level` until none changes the graph. */
static onyx_status run_passes(ox_graph *g, const pass_row *rows, size_t n_rows, int level, ox_opt_stats *stats,
                              char *err, size_t cap)
{
    if (level <= 0) return ONYX_OK;
    if (g->parent) return ox_errf(err, cap, ONYX_E_ARG, "only a main graph can be optimised");
    ox_opt_stats ignored;
    memset(&ignored, 0, sizeof ignored);
    ox_opt o;
    memset(&o, 0, sizeof o);
    o.g = g;
    o.alloc = g->pool->alloc;
    o.stats = stats ? stats : &ignored;
    o.err = err;
    o.cap = cap;
    o.cap_nodes = g->n_nodes;
    o.dead = ox_calloc(&o.alloc, (size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *o.dead);
    if (!o.dead) return ox_opt_nomem(&o);
    onyx_status st = ONYX_OK;
    bool changed_any = false;
    for (int round = 0; round < MAX_ROUNDS && !st; round++) {
        bool changed = false;
        for (size_t p = 0; p < n_rows && !st; p++) {
            if (level < rows[p].level) continue;
            bool c = false;
            if (!(st = ox_opt_index(&o))) st = rows[p].run(&o, &c);
            changed |= c;
        }
        changed_any |= changed;
        if (!changed) break;
    }
    if (!st && changed_any) st = compact(&o);
    free_tables(&o);
    ox_free(&o.alloc, o.shapes, (size_t)(o.n_shapes ? o.n_shapes : 1) * sizeof *o.shapes);
    ox_free(&o.alloc, o.sym, (size_t)(o.n_sym ? o.n_sym : 1) * sizeof *o.sym);
    ox_free(&o.alloc, o.dead, (size_t)(o.cap_nodes ? o.cap_nodes : 1) * sizeof *o.dead);
    if (st || !changed_any) return st;
    char why[400] = "";
    st = ox_graph_sort(g, why, sizeof why);
    if (st == ONYX_E_NOMEM) return ox_errf(err, cap, st, "out of memory while optimising");
    if (st) return ox_errf(err, cap, ONYX_E_INTERNAL, "the optimised graph is invalid: %s", why);
    return ONYX_OK;
}

onyx_status ox_optimize(ox_graph *g, int level, ox_opt_stats *stats, char *err, size_t cap)
{
    return run_passes(g, passes, sizeof passes / sizeof passes[0], level, stats, err, cap);
}

/* Internal-only fusions, never part of a level (opt.h). */
/* Constant folding first, for the static shapes the residual pass needs (the level's passes
 * have folded everything already); residual Adds before activations (Conv -> Add -> Relu). */
static const pass_row epilogue_passes[] = {{ox_pass_fold_constants, 1},
                                           {ox_pass_transformer_internal, 1},
                                           {ox_pass_attention_internal, 1},
                                           {ox_pass_fuse_residual, 1},
                                           {ox_pass_matmul_bias, 1},
                                           {ox_pass_skip_layer_norm, 1},
                                           {ox_pass_fuse_act, 1}};

onyx_status ox_fuse_epilogues(ox_graph *g, ox_opt_stats *stats, char *err, size_t cap)
{
    return run_passes(g, epilogue_passes, sizeof epilogue_passes / sizeof epilogue_passes[0], 1, stats, err, cap);
}

ox_graph *ox_optimized_copy(const ox_graph *g, int level, ox_pool *pool, ox_opt_stats *stats, onyx_status *st,
                            char *err, size_t cap)
{
    ox_graph *c = ox_graph_clone(g, pool);
    *st = c ? ox_optimize(c, level, stats, err, cap) : ox_errf(err, cap, ONYX_E_NOMEM, "out of memory while optimising");
    return *st ? NULL : c;
}
