/* plan.c — from input shapes to an executable plan.
 *
 * 1. Shape and dtype inference node by node (each op's infer). Nodes whose inputs are all
 *    known at plan time (initializers, or outputs of such nodes: Shape of a known-shape input,
 *    shape arithmetic, Constant) are evaluated right here and become constants, so the
 *    Shape -> Gather -> Concat -> Reshape chains of exported models cost nothing at run.
 *    An op may also produce a value in infer (containers, control flow): it is a constant too.
 * 2. Views: outputs of view ops share their input's storage.
 * 3. Liveness: every arena buffer lives from its producer to its last consumer; graph outputs
 *    to the end.
 * 4. Placement: greedy by size (largest first, lowest offset that does not overlap a placed
 *    buffer whose lifetime intersects), as TFLite Micro's planner does. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define FOLD_BUDGET ((size_t)256 << 20) /* bytes of plan-time results per plan */

typedef struct buffer {
    size_t bytes, offset;
    int first, last;
    int value; /* -1 for node scratch */
    int node;
} buffer;

static onyx_status plan_fail(onyx_session *s, onyx_status st, const char *fmt, ...) OX_PRINTF(3, 4);
static onyx_status plan_fail(onyx_session *s, onyx_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ox_verrf(s->err, sizeof s->err, st, fmt, ap);
    va_end(ap);
    return st;
}

/* Checks what infer produced for output k of node n and sizes it. */
static onyx_status check_output(onyx_session *s, const ox_node *n, int k, ox_slot *sl)
{
    const ox_value *v = &s->g->values[n->out[k]];
    const onyx_tensor *t = &sl->v.t;
    if (sl->v.kind != OX_KIND_TENSOR) {
        sl->bytes = 0;
        if (t->data) return ONYX_OK;
        return plan_fail(s, ONYX_E_INTERNAL, "node '%s' (%s): container output '%s' was not produced in infer",
                         n->name, n->op_type, v->name);
    }
    if (!ox_dtype_valid((int)t->dtype) || t->rank < 0 || t->rank > ONYX_MAX_RANK ||
        !ox_shape_bytes(t->dtype, t->rank, t->dims, &sl->bytes)) {
        char buf[160];
        return plan_fail(s, ONYX_E_SHAPE, "node '%s' (%s): output '%s' has invalid dtype or shape %s", n->name,
                         n->op_type, v->name, ox_shape_str(buf, sizeof buf, t->rank < 0 ? 0 : t->rank, t->dims));
    }
    if ((int64_t)sl->bytes > s->m->opts.max_tensor_bytes)
        return plan_fail(s, ONYX_E_LIMIT, "node '%s' (%s): output '%s' needs %zu bytes, over the limit of %lld",
                         n->name, n->op_type, v->name, sl->bytes, (long long)s->m->opts.max_tensor_bytes);
    return ONYX_OK;
}

ox_ctx ox_step_ctx(onyx_session *s, int i)
{
    const ox_node *n = &s->g->nodes[i];
    const ox_step *st = &s->steps[i];
    ox_ctx c;
    memset(&c, 0, sizeof c);
    c.node = n;
    c.graph = s->g;
    c.opset = n->opset;
    c.n_in = n->n_in;
    c.n_implicit = n->n_implicit;
    c.n_out = n->n_out;
    c.in = st->in;
    c.out = st->out;
    c.threads = s->threads;
    c.msg = s->err;
    c.msg_cap = sizeof s->err;
    c.need_value = -1;
    c.persist = st->persist;
    c.weights_in_place = s->opts.weights_in_place != 0;
    c.strings = &s->plan_pool; /* plan-time results live as long as the plan; run swaps it */
    c.run_graph = ox_run_child;
    c.runtime = s;
    return c;
}

/* Evaluates node i at plan time into plan-pool memory. */
static onyx_status fold(onyx_session *s, int i, size_t scratch_bytes, size_t *budget)
{
    const ox_node *n = &s->g->nodes[i];
    ox_step *st = &s->steps[i];
    size_t need = scratch_bytes;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0) need += s->slots[n->out[k]].bytes;
    if (need > *budget) return ONYX_E_LIMIT; /* not an error: the node runs at run time */
    *budget -= need;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0) continue;
        ox_slot *sl = &s->slots[n->out[k]];
        sl->v.t.data = ox_pool_alloc(&s->plan_pool, sl->bytes ? sl->bytes : 1, OX_ALIGN);
        if (!sl->v.t.data) return plan_fail(s, ONYX_E_NOMEM, "out of memory while planning");
    }
    ox_ctx c = ox_step_ctx(s, i);
    c.scratch_bytes = scratch_bytes;
    if (scratch_bytes && !(c.scratch = ox_pool_alloc(&s->plan_pool, scratch_bytes, OX_ALIGN)))
        return plan_fail(s, ONYX_E_NOMEM, "out of memory while planning");
    onyx_status rc = n->op->run(&c);
    if (rc) return rc;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0) {
            s->slots[n->out[k]].store = OX_STORE_CONST;
            s->slots[n->out[k]].known = true;
        }
    st->folded = true;
    return ONYX_OK;
}

/* Wires node i's inputs and outputs to their slots; tells whether every input is known and
 * which bound values the node depends on. */
static onyx_status wire(onyx_session *s, int i, bool *all_known, uint64_t *deps)
{
    const ox_graph *g = s->g;
    const ox_node *n = &g->nodes[i];
    ox_step *st = &s->steps[i];
    int n_in = ox_node_inputs(n);
    st->in = ox_pool_array(&s->plan_pool, (size_t)(n_in ? n_in : 1), sizeof(onyx_tensor *));
    st->out = ox_pool_array(&s->plan_pool, (size_t)(n->n_out ? n->n_out : 1), sizeof(onyx_tensor *));
    if (!st->in || !st->out) return plan_fail(s, ONYX_E_NOMEM, "out of memory while planning");
    *all_known = true;
    *deps = 0;
    for (int k = 0; k < n_in; k++) {
        int v = n->in[k];
        if (v < 0) continue;
        ox_slot *sl = &s->slots[v];
        if (sl->store == OX_STORE_NONE)
            return plan_fail(s, ONYX_E_INTERNAL, "node '%s' (%s): input '%s' has no value", n->name, n->op_type,
                             g->values[v].name);
        if (sl->v.kind != OX_KIND_TENSOR && !(n->op->flags & OX_OP_CONTAINERS))
            return plan_fail(s, ONYX_E_UNSUPPORTED, "node '%s' (%s): input '%s' is a sequence or optional, which %s does not take",
                             n->name, n->op_type, g->values[v].name, n->op_type);
        st->in[k] = &sl->v.t;
        *all_known &= sl->known;
        *deps |= sl->deps;
    }
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0) st->out[k] = &s->slots[n->out[k]].v.t;
    return ONYX_OK;
}

/* Shape inference over all nodes, folding what is known. When an op needs the value of an
 * input that is not known, *need gets the bound values that value depends on. */
static onyx_status infer_all(onyx_session *s, uint64_t *need)
{
    const ox_graph *g = s->g;
    size_t budget = FOLD_BUDGET;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        if (!n->op)
            return plan_fail(s, ONYX_E_UNSUPPORTED, "node '%s': op %s (domain '%s', opset %d) is not supported",
                             n->name, n->op_type, *n->domain ? n->domain : "ai.onnx", n->opset);
        bool all_known = false;
        uint64_t deps = 0;
        onyx_status rc = wire(s, i, &all_known, &deps);
        if (rc) return rc;
        ox_ctx c = ox_step_ctx(s, i);
        if ((rc = n->op->infer(&c))) {
            if (c.need_value >= 0 && c.need_value < ox_node_inputs(n) && n->in[c.need_value] >= 0)
                *need = s->slots[n->in[c.need_value]].deps;
            return rc;
        }
        bool produced = false;
        for (int k = 0; k < n->n_out; k++) {
            if (n->out[k] < 0) continue;
            ox_slot *sl = &s->slots[n->out[k]];
            if ((rc = check_output(s, n, k, sl))) return rc;
            sl->first = i;
            sl->last = i;
            sl->deps = deps;
            produced |= sl->v.t.data != NULL;
            sl->store = sl->v.t.data ? OX_STORE_CONST : OX_STORE_ARENA;
            sl->known = sl->v.t.data != NULL;
        }
        s->steps[i].scratch_bytes = c.scratch_bytes;
        s->steps[i].persist = c.persist;
        if (produced) {
            s->steps[i].folded = true; /* infer made the values: nothing left to run */
        } else if (all_known && !(n->op->flags & OX_OP_NO_FOLD)) {
            rc = fold(s, i, c.scratch_bytes, &budget);
            if (rc && rc != ONYX_E_LIMIT) return rc;
        }
    }
    return ONYX_OK;
}

/* Views share their input's storage; liveness of each buffer's root is extended to cover
 * every view of it. */
static void assign_views_and_liveness(onyx_session *s)
{
    const ox_graph *g = s->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        if (s->steps[i].folded) continue;
        if ((n->op->flags & OX_OP_VIEW) && n->n_in > 0 && n->in[0] >= 0 && n->out[0] >= 0) {
            int src = n->in[0], root = s->slots[src].store == OX_STORE_VIEW ? s->slots[src].root : src;
            ox_slot *out = &s->slots[n->out[0]];
            /* A graph output must live in the arena so the caller's result never aliases its
             * own input or the model's weights. */
            bool root_in_arena = s->slots[root].store == OX_STORE_ARENA;
            if (root_in_arena || !g->values[n->out[0]].is_output) {
                out->store = OX_STORE_VIEW;
                out->root = root;
            }
        }
        for (int k = 0; k < ox_node_inputs(n); k++) {
            int v = n->in[k];
            if (v < 0) continue;
            int root = s->slots[v].store == OX_STORE_VIEW ? s->slots[v].root : v;
            if (s->slots[root].last < i) s->slots[root].last = i;
        }
    }
    for (int o = 0; o < g->n_outputs; o++) {
        int v = g->outputs[o];
        int root = s->slots[v].store == OX_STORE_VIEW ? s->slots[v].root : v;
        s->slots[root].last = g->n_nodes;
    }
}

static int by_size_desc(const void *a, const void *b)
{
    const buffer *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first; /* deterministic */
}

static size_t align_up(size_t n) { return (n + OX_ALIGN - 1) & ~(size_t)(OX_ALIGN - 1); }

/* Greedy by size; returns the arena bytes needed. O(n^2) in buffers, fine for graphs of
 * thousands of nodes. */
static onyx_status place(onyx_session *s)
{
    const ox_graph *g = s->g;
    int nb = 0;
    for (int v = 0; v < g->n_values; v++) nb += s->slots[v].store == OX_STORE_ARENA;
    for (int i = 0; i < g->n_nodes; i++) nb += !s->steps[i].folded && s->steps[i].scratch_bytes > 0;
    buffer *b = ox_pool_array(&s->plan_pool, (size_t)(nb ? nb : 1), sizeof *b);
    buffer **placed = ox_pool_array(&s->plan_pool, (size_t)(nb ? nb : 1), sizeof(buffer *));
    if (!b || !placed) return plan_fail(s, ONYX_E_NOMEM, "out of memory while planning");
    nb = 0;
    for (int v = 0; v < g->n_values; v++) {
        ox_slot *sl = &s->slots[v];
        if (sl->store == OX_STORE_ARENA) b[nb++] = (buffer){align_up(sl->bytes), 0, sl->first, sl->last, v, -1};
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!s->steps[i].folded && s->steps[i].scratch_bytes > 0)
            b[nb++] = (buffer){align_up(s->steps[i].scratch_bytes), 0, i, i, -1, i};
    qsort(b, (size_t)nb, sizeof *b, by_size_desc);
    size_t total = 0;
    int np = 0;
    for (int k = 0; k < nb; k++) {
        size_t off = 0;
        /* placed[] is kept sorted by offset: scan for the first gap that fits */
        for (int j = 0; j < np; j++) {
            const buffer *p = placed[j];
            if (p->last < b[k].first || p->first > b[k].last) continue; /* lifetimes disjoint */
            if (off + b[k].bytes <= p->offset) break;
            if (p->offset + p->bytes > off) off = p->offset + p->bytes;
        }
        b[k].offset = off;
        int j = np++;
        while (j > 0 && placed[j - 1]->offset > off) {
            placed[j] = placed[j - 1];
            j--;
        }
        placed[j] = &b[k];
        if (off + b[k].bytes > total) total = off + b[k].bytes;
    }
    for (int k = 0; k < nb; k++) {
        if (b[k].value >= 0) s->slots[b[k].value].offset = b[k].offset;
        else s->steps[b[k].node].scratch_offset = b[k].offset;
    }
    s->arena_bytes = total;
    return ONYX_OK;
}

/* Sets bound value i's slot: its type and shape, and its contents when the plan depends on
 * them (a copy is kept to tell when a later run brings other contents). */
static onyx_status bind_for_plan(onyx_session *s, int i, const ox_val *val)
{
    ox_slot *sl = &s->slots[s->bound[i]];
    ox_val *p = &s->planned[i];
    sl->v = *val;
    sl->bytes = val->kind == OX_KIND_TENSOR ? ox_tensor_bytes(&val->t) : 0;
    sl->store = OX_STORE_BOUND;
    sl->deps = ox_input_bit(i);
    *p = *val;
    p->t.data = NULL;
    if (val->kind != OX_KIND_TENSOR) s->value_inputs |= ox_input_bit(i); /* containers: always by value */
    if (!(s->value_inputs & ox_input_bit(i))) {
        sl->v.t.data = NULL; /* unknown until run: infer must not read it */
        return ONYX_OK;
    }
    if (ox_val_copy(&s->plan_pool, val, p)) return ONYX_E_NOMEM;
    sl->v = *p;
    sl->known = true;
    return ONYX_OK;
}

/* One planning attempt with the current set of value inputs. */
static onyx_status plan_once(onyx_session *s, const ox_val *bound, uint64_t *need)
{
    const ox_graph *g = s->g;
    s->planned_ok = false;
    ox_pool_release(&s->plan_pool);
    s->slots = ox_pool_array(&s->plan_pool, (size_t)(g->n_values ? g->n_values : 1), sizeof(ox_slot));
    s->steps = ox_pool_array(&s->plan_pool, (size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(ox_step));
    s->planned = ox_pool_array(&s->plan_pool, (size_t)(s->n_bound ? s->n_bound : 1), sizeof(ox_val));
    if (!s->slots || !s->steps || !s->planned) return plan_fail(s, ONYX_E_NOMEM, "out of memory while planning");
    for (int v = 0; v < g->n_values; v++) {
        const ox_value *val = &g->values[v];
        ox_slot *sl = &s->slots[v];
        sl->first = -1;
        sl->last = -1;
        if (val->init) {
            sl->v.t = val->init->t;
            sl->bytes = val->init->nbytes;
            sl->store = OX_STORE_CONST;
            sl->known = true;
        }
    }
    for (int i = 0; i < s->n_bound; i++)
        if (bind_for_plan(s, i, &bound[i])) return plan_fail(s, ONYX_E_NOMEM, "out of memory while planning");
    onyx_status st = infer_all(s, need);
    if (st) return st;
    assign_views_and_liveness(s);
    if ((st = place(s))) return st;

    if (s->arena_bytes > s->arena_cap) {
        if (!s->arena_owned && s->arena)
            return plan_fail(s, ONYX_E_LIMIT, "the caller's arena has %zu bytes; this plan needs %zu", s->arena_cap,
                             s->arena_bytes);
        ox_free_aligned(&s->alloc, s->arena);
        s->arena = ox_malloc_aligned(&s->alloc, s->arena_bytes);
        s->arena_cap = s->arena ? s->arena_bytes : 0;
        s->arena_owned = true;
        if (!s->arena) return plan_fail(s, ONYX_E_NOMEM, "cannot allocate an arena of %zu bytes", s->arena_bytes);
    }
    s->planned_ok = true;
    return ONYX_OK;
}

onyx_status ox_plan(onyx_session *s, const ox_val *bound, bool have_data)
{
    for (;;) {
        uint64_t need = 0;
        onyx_status st = plan_once(s, bound, &need);
        uint64_t more = need & ~s->value_inputs;
        if (!st || !more) return st;
        if (!have_data) {
            s->err[0] = 0;
            return ONYX_OK; /* planned at the first run, when the values are there */
        }
        s->value_inputs |= more;
    }
}
