/* fold_const.c — constant folding and static shapes.
 *
 * One walk over the live nodes in order, as the planner's does, but for what holds for every
 * run: graph inputs whose declared dims are all fixed have those shapes (runs check them),
 * constants have their values, and each op's own infer carries shapes (and values it makes in
 * infer, such as Shape's) forward. A node whose inputs are all known is evaluated with its
 * run-time kernel and, when the result is small (≤ FOLD_SMALL bytes, or no larger than its
 * inputs), replaced by a new initializer: so Shape -> Gather -> Unsqueeze -> Concat -> Reshape
 * chains on fixed-shape inputs and arithmetic on weights disappear.
 *
 * Left alone: random ops (OX_OP_NO_FOLD), Dropout (random in training mode), ops with
 * subgraphs or containers, string results, nodes with a pinned output (its name must keep a
 * producer), Constant nodes (already constants). An op that fails in infer or run here is not
 * an error: it stays, and the planner reports what is wrong with it when it plans.
 *
 * The shapes found are kept in the ox_opt (ox_opt_shape) for the passes after this one. */
#include <string.h>

#include "op.h"
#include "opt.h"

#define FOLD_SMALL ((size_t)1 << 20)   /* results this small fold whatever their inputs */
#define EVAL_BUDGET ((size_t)64 << 20) /* bytes of results and scratch evaluated per walk */

typedef struct walk {
    ox_opt *o;
    ox_val *vals;   /* per value (first nv): shape, and data when known */
    bool *has_shape;
    bool *has_data;
    int nv;
    int *alias;     /* folded value -> its new constant, or -1 */
    ox_pool tmp;    /* evaluated results and values ops make in infer */
    size_t budget;
    bool changed;
} walk;

static bool has_subgraph(const ox_node *n)
{
    for (int a = 0; a < n->n_attr; a++)
        if (n->attr[a].type == OX_ATTR_GRAPH || n->attr[a].type == OX_ATTR_GRAPHS) return true;
    return n->n_implicit > 0;
}

/* Shapes and values every run starts from. */
static void seed(walk *w)
{
    const ox_graph *g = w->o->g;
    for (int v = 0; v < w->nv; v++) {
        const ox_value *val = &g->values[v];
        ox_val *x = &w->vals[v];
        x->kind = OX_KIND_TENSOR;
        const ox_const *k = ox_opt_const(w->o, v);
        if (k && val->init) { /* Constant nodes get theirs in the walk */
            x->t = k->t;
            w->has_shape[v] = w->has_data[v] = true;
        } else if (val->is_input && val->type.kind == OX_KIND_TENSOR && val->type.rank >= 0 && val->type.dtype) {
            bool fixed = true;
            for (int d = 0; d < val->type.rank; d++) fixed &= val->type.dims[d] >= 0;
            if (!fixed) continue;
            x->t.dtype = val->type.dtype;
            x->t.rank = val->type.rank;
            memcpy(x->t.dims, val->type.dims, sizeof x->t.dims);
            w->has_shape[v] = true;
        }
    }
}

static bool foldable_op(const ox_node *n)
{
    if (!n->op || (n->op->flags & (OX_OP_NO_FOLD | OX_OP_CONTAINERS)) || has_subgraph(n)) return false;
    return !ox_opt_is(n, "Dropout");
}

/* Replaces node i's outputs (all evaluated in outs) by new initializers when that is worth it. */
static onyx_status replace(walk *w, int i, const ox_val *outs, size_t in_bytes)
{
    ox_opt *o = w->o;
    ox_node *n = &o->g->nodes[i];
    if (ox_opt_is(n, "Constant")) return ONYX_OK;
    for (int k = 0; k < n->n_out; k++) {
        int v = n->out[k];
        if (v < 0) continue;
        size_t bytes = ox_tensor_bytes(&outs[k].t);
        if (o->pinned[v] || outs[k].t.dtype == ONYX_DTYPE_STRING || (bytes > FOLD_SMALL && bytes > in_bytes))
            return ONYX_OK;
    }
    for (int k = 0; k < n->n_out; k++) {
        int v = n->out[k];
        if (v < 0) continue;
        ox_const *c;
        int nv = ox_opt_new_const(o, o->g->values[v].name, outs[k].t.dtype, outs[k].t.rank, outs[k].t.dims, &c);
        if (nv < 0) return ox_opt_nomem(o);
        ox_copy_bytes(c->t.data, outs[k].t.data, c->nbytes);
        w->alias[v] = nv;
    }
    o->dead[i] = true;
    o->stats->fired[OX_PASS_FOLD_CONST]++;
    w->changed = true;
    return ONYX_OK;
}

/* Infers node i and, when its inputs are all known, evaluates it. */
static onyx_status visit(walk *w, int i)
{
    ox_opt *o = w->o;
    const ox_node *n = &o->g->nodes[i];
    if (!foldable_op(n) || n->n_in > 64 || n->n_out > 16) return ONYX_OK;
    onyx_tensor *in[64], *out[16];
    ox_val outs[16];
    bool all_data = true;
    size_t in_bytes = 0;
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        in[k] = NULL;
        if (v < 0) continue;
        if (v >= w->nv || !w->has_shape[v]) return ONYX_OK;
        in[k] = &w->vals[v].t;
        all_data &= w->has_data[v];
        in_bytes += ox_tensor_bytes(in[k]);
    }
    memset(outs, 0, sizeof outs);
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] >= w->nv) return ONYX_OK;
        outs[k].kind = OX_KIND_TENSOR;
        out[k] = n->out[k] >= 0 ? &outs[k].t : NULL;
    }
    char msg[256];
    ox_ctx c;
    ox_opt_op_ctx(&c, n, n->n_in, in, out, &w->tmp, msg, sizeof msg);
    onyx_status st = n->op->infer(&c);
    if (st == ONYX_E_NOMEM) return ox_opt_nomem(o);
    if (st) return ONYX_OK;
    bool produced = true;
    size_t need = c.scratch_bytes;
    for (int k = 0; k < n->n_out; k++) {
        if (!out[k]) continue;
        size_t bytes;
        if (outs[k].kind != OX_KIND_TENSOR || !ox_dtype_valid((int)outs[k].t.dtype) || outs[k].t.rank < 0 ||
            outs[k].t.rank > ONYX_MAX_RANK || !ox_shape_bytes(outs[k].t.dtype, outs[k].t.rank, outs[k].t.dims, &bytes))
            return ONYX_OK;
        produced &= outs[k].t.data != NULL || bytes == 0;
        need += bytes;
    }
    if (!produced && all_data) { /* evaluate with the run-time kernel */
        if (need > w->budget) all_data = false;
        for (int k = 0; all_data && k < n->n_out; k++) {
            if (!out[k]) continue;
            size_t bytes = ox_tensor_bytes(&outs[k].t);
            if (!(outs[k].t.data = ox_pool_alloc(&w->tmp, bytes ? bytes : 1, OX_ALIGN))) return ox_opt_nomem(o);
        }
        if (all_data && c.scratch_bytes && !(c.scratch = ox_pool_alloc(&w->tmp, c.scratch_bytes, OX_ALIGN)))
            return ox_opt_nomem(o);
        if (all_data) {
            w->budget -= need;
            st = n->op->run(&c);
            if (st == ONYX_E_NOMEM) return ox_opt_nomem(o);
            produced = !st;
        }
    }
    for (int k = 0; k < n->n_out; k++) {
        int v = n->out[k];
        if (v < 0) continue;
        w->vals[v] = outs[k];
        if (!produced) w->vals[v].t.data = NULL;
        w->has_shape[v] = true;
        w->has_data[v] = produced;
    }
    return produced ? replace(w, i, outs, in_bytes) : ONYX_OK;
}

/* Keeps the shapes found for the passes after this one. */
static onyx_status keep_shapes(walk *w)
{
    ox_opt *o = w->o;
    ox_free(&o->alloc, o->shapes, (size_t)(o->n_shapes ? o->n_shapes : 1) * sizeof *o->shapes);
    o->n_shapes = 0;
    o->shapes = ox_malloc(&o->alloc, (size_t)(w->nv ? w->nv : 1) * sizeof *o->shapes);
    if (!o->shapes) return ox_opt_nomem(o);
    o->n_shapes = w->nv;
    for (int v = 0; v < w->nv; v++) {
        o->shapes[v] = w->vals[v].t;
        o->shapes[v].data = NULL;
        if (!w->has_shape[v]) o->shapes[v].rank = -1;
    }
    return ONYX_OK;
}

onyx_status ox_pass_fold_constants(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    walk w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.nv = o->n_values;
    w.budget = EVAL_BUDGET;
    size_t nv = (size_t)(w.nv ? w.nv : 1);
    w.vals = ox_calloc(&o->alloc, nv, sizeof *w.vals);
    w.has_shape = ox_calloc(&o->alloc, nv, sizeof *w.has_shape);
    w.has_data = ox_calloc(&o->alloc, nv, sizeof *w.has_data);
    w.alias = ox_malloc(&o->alloc, nv * sizeof *w.alias);
    ox_pool_init(&w.tmp, o->alloc, 0);
    onyx_status st = ONYX_OK;
    if (!w.vals || !w.has_shape || !w.has_data || !w.alias) {
        st = ox_opt_nomem(o);
        goto done;
    }
    for (int v = 0; v < w.nv; v++) w.alias[v] = -1;
    seed(&w);
    for (int i = 0; i < g->n_nodes && !st; i++)
        if (!o->dead[i]) st = visit(&w, i);
    /* readers of folded values read the new constants */
    for (int i = 0; !st && w.changed && i < g->n_nodes; i++) {
        if (o->dead[i]) continue;
        ox_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && n->in[k] < w.nv && w.alias[n->in[k]] >= 0) n->in[k] = w.alias[n->in[k]];
    }
    if (!st) st = keep_shapes(&w);
done:
    ox_pool_release(&w.tmp);
    ox_free(&o->alloc, w.vals, nv * sizeof *w.vals);
    ox_free(&o->alloc, w.has_shape, nv * sizeof *w.has_shape);
    ox_free(&o->alloc, w.has_data, nv * sizeof *w.has_data);
    ox_free(&o->alloc, w.alias, nv * sizeof *w.alias);
    *changed |= w.changed;
    return st;
}

const onyx_tensor *ox_opt_shape(const ox_opt *o, int v)
{
    const ox_const *k = ox_opt_const(o, v);
    if (k) return &k->t;
    if (v < 0 || v >= o->n_shapes || o->shapes[v].rank < 0) return NULL;
    return &o->shapes[v];
}
