/* session.c — session lifetime and the executor: bind the plan's buffers, run the nodes;
 * child sessions for control-flow bodies; the public run calls. */
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "session.h"

void onyx_session_options_init(onyx_session_options *o)
{
    memset(o, 0, sizeof *o);
    o->opt_level = 2;
}

static int default_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static onyx_status run_fail(onyx_session *s, onyx_status st, const char *fmt, ...) OX_PRINTF(3, 4);
static onyx_status run_fail(onyx_session *s, onyx_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ox_verrf(s->err, sizeof s->err, st, fmt, ap);
    va_end(ap);
    return st;
}

/* A session for graph g; parent is NULL for the caller's session. */
static onyx_session *session_new(const onyx_model *m, const ox_graph *g, onyx_session *parent,
                                 const onyx_session_options *opts, ox_allocator a)
{
    onyx_session *s = ox_malloc(&a, sizeof *s);
    if (!s) return NULL;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->g = g;
    s->parent = parent;
    s->opts = *opts;
    s->alloc = a;
    s->threads = opts->threads > 0 ? opts->threads : default_threads();
    if (s->threads < 1) s->threads = 1;
    ox_pool_init(&s->plan_pool, a, 0);
    ox_pool_init(&s->run_pool, a, 0);
    int n_outer = 0;
    for (int v = 0; v < g->n_values; v++) n_outer += g->values[v].outer >= 0;
    s->n_bound = g->n_inputs + n_outer;
    s->bound = ox_calloc(&a, (size_t)(s->n_bound ? s->n_bound : 1), sizeof(int));
    s->run_vals = ox_calloc(&a, (size_t)(s->n_bound ? s->n_bound : 1), sizeof(ox_val));
    if (!s->bound || !s->run_vals) {
        ox_free(&a, s->bound, (size_t)(s->n_bound ? s->n_bound : 1) * sizeof(int));
        ox_free(&a, s->run_vals, (size_t)(s->n_bound ? s->n_bound : 1) * sizeof(ox_val));
        ox_free(&a, s, sizeof *s);
        return NULL;
    }
    for (int i = 0; i < g->n_inputs; i++) s->bound[i] = g->inputs[i];
    for (int v = 0, k = g->n_inputs; v < g->n_values; v++)
        if (g->values[v].outer >= 0) s->bound[k++] = v;
    return s;
}

void onyx_session_free(onyx_session *s)
{
    if (!s) return;
    ox_allocator a = s->alloc;
    for (int i = 0; i < s->n_children; i++) onyx_session_free(s->children[i].s);
    ox_free(&a, s->children, (size_t)s->cap_children * sizeof *s->children);
    ox_pool_release(&s->plan_pool);
    ox_pool_release(&s->run_pool);
    ox_pool_release(&s->opt_pool);
    if (s->arena_owned) ox_free_aligned(&a, s->arena);
    ox_free(&a, s->bound, (size_t)(s->n_bound ? s->n_bound : 1) * sizeof(int));
    ox_free(&a, s->run_vals, (size_t)(s->n_bound ? s->n_bound : 1) * sizeof(ox_val));
    ox_free(&a, s, sizeof *s);
}

onyx_status onyx_session_create(const onyx_model *m, const onyx_session_options *o, onyx_session **out,
                                onyx_error *err)
{
    if (!m || !out) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    *out = NULL;
    onyx_session_options opts;
    if (o) opts = *o;
    else onyx_session_options_init(&opts);
#ifdef ONYX_CORE
    opts.weights_in_place = 1; /* firmware: weights stay in flash, never copied into the arena */
#endif
    if (opts.device && strcmp(opts.device, "cpu") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "device '%s' is not available in this build", opts.device);
        ox_error_set(err, ONYX_E_DEVICE, msg);
        return ONYX_E_DEVICE;
    }
    if (m->n_unsupported) {
        ox_error_set(err, ONYX_E_UNSUPPORTED, "the model has unsupported ops (loaded for inspection only)");
        return ONYX_E_UNSUPPORTED;
    }
    ox_allocator a = opts.alloc ? ox_allocator_make(opts.alloc, opts.alloc_user) : m->alloc;
    onyx_session *s = session_new(m, m->graph, NULL, &opts, a);
    if (!s) {
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    if (opts.opt_level >= 1 && opts.opt_level <= m->opt_level) {
        /* the model is optimised already (onyx_model_optimize): share its graphs */
        if (opts.opt_level >= 2 && m->session_graph) s->g = m->session_graph;
    } else if (opts.opt_level >= 1) { /* on a copy: the model is shared and stays as it is */
        char msg[512];
        onyx_status st;
        ox_pool_init(&s->opt_pool, a, (size_t)m->opts.max_total_bytes);
        ox_graph *g = ox_optimized_copy(m->graph, opts.opt_level, &s->opt_pool, NULL, &st, msg, sizeof msg);
        /* internal-only fusions (activation epilogues) on the session's copy, never written */
        if (g && opts.opt_level >= 2 && (st = ox_fuse_epilogues(g, NULL, msg, sizeof msg))) g = NULL;
        if (!g) {
            ox_error_set(err, st, msg);
            onyx_session_free(s);
            return st;
        }
        s->g = g;
    }
    if (opts.arena) {
        s->arena = opts.arena;
        s->arena_cap = opts.arena_bytes;
    }
    /* Plan now when every input is a tensor of fixed shape, so the arena size is known
     * before run. */
    const ox_graph *g = s->g;
    bool fixed = true;
    size_t in_bytes = (size_t)(g->n_inputs ? g->n_inputs : 1) * sizeof(ox_val);
    ox_val *in = ox_calloc(&a, (size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *in);
    if (!in) {
        onyx_session_free(s);
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    for (int i = 0; i < g->n_inputs && fixed; i++) {
        const ox_type *t = &g->values[g->inputs[i]].type;
        fixed = t->kind == OX_KIND_TENSOR && t->rank >= 0 && ox_dtype_valid((int)t->dtype);
        in[i].t.dtype = t->dtype;
        in[i].t.rank = t->rank;
        for (int d = 0; fixed && d < t->rank; d++) fixed = (in[i].t.dims[d] = t->dims[d]) >= 0;
    }
    onyx_status st = fixed ? ox_plan(s, in, false) : ONYX_OK;
    ox_free(&a, in, in_bytes);
    if (st) {
        ox_error_set(err, st, s->err);
        onyx_session_free(s);
        return st;
    }
    *out = s;
    return ONYX_OK;
}

size_t onyx_session_arena_bytes(const onyx_session *s) { return s && s->planned_ok ? s->arena_bytes : 0; }

const char *onyx_session_error(const onyx_session *s) { return s ? s->err : "null session"; }

/* Checks one tensor against its declared type. */
static onyx_status check_tensor(onyx_session *s, const ox_value *v, const onyx_tensor *t)
{
    char a[160], b[160];
    size_t bytes;
    if (t->rank < 0 || t->rank > ONYX_MAX_RANK || !ox_shape_bytes(t->dtype, t->rank, t->dims, &bytes))
        return run_fail(s, ONYX_E_ARG, "input '%s': invalid dtype or shape", v->name);
    if ((int64_t)bytes > s->m->opts.max_tensor_bytes)
        return run_fail(s, ONYX_E_LIMIT, "input '%s' has %zu bytes, over the limit", v->name, bytes);
    if (!t->data && bytes) return run_fail(s, ONYX_E_ARG, "input '%s' has no data", v->name);
    if (v->type.dtype && t->dtype != v->type.dtype)
        return run_fail(s, ONYX_E_ARG, "input '%s' must be %s, got %s", v->name, onyx_dtype_name(v->type.dtype),
                        onyx_dtype_name(t->dtype));
    if (v->type.kind != OX_KIND_TENSOR) return ONYX_OK; /* container element shapes vary */
    bool ok = v->type.rank < 0 || v->type.rank == t->rank;
    for (int d = 0; ok && v->type.rank >= 0 && d < t->rank; d++) ok = v->type.dims[d] < 0 || v->type.dims[d] == t->dims[d];
    if (!ok)
        return run_fail(s, ONYX_E_SHAPE, "input '%s' must have shape %s, got %s", v->name,
                        ox_shape_str(a, sizeof a, v->type.rank, v->type.dims), ox_shape_str(b, sizeof b, t->rank, t->dims));
    return ONYX_OK;
}

static bool same_tensor_contents(const onyx_tensor *a, const onyx_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) != 0)
        return false;
    size_t bytes = ox_tensor_bytes(a);
    if (a->dtype != ONYX_DTYPE_STRING) return !bytes || !memcmp(a->data, b->data, bytes);
    for (int64_t i = 0, n = ox_tensor_numel(a); i < n; i++)
        if (strcmp(((char *const *)a->data)[i], ((char *const *)b->data)[i]) != 0) return false;
    return true;
}

static bool same_contents(const ox_val *a, const ox_val *b)
{
    if (a->kind != b->kind || a->elem_kind != b->elem_kind || a->none != b->none) return false;
    if (a->kind == OX_KIND_OPTIONAL && a->none) return true;
    bool seq = a->kind == OX_KIND_SEQUENCE || (a->kind == OX_KIND_OPTIONAL && a->elem_kind == OX_KIND_SEQUENCE);
    if (!seq) return same_tensor_contents(&a->t, &b->t);
    if (a->seq.n != b->seq.n || a->seq.dtype != b->seq.dtype) return false;
    for (int64_t i = 0; i < a->seq.n; i++)
        if (!same_tensor_contents(&a->seq.items[i], &b->seq.items[i])) return false;
    return true;
}

/* Checks the bound values against the declared types; tells whether a re-plan is needed. */
static onyx_status check_bound(onyx_session *s, const ox_val *in, bool *replan)
{
    const ox_graph *g = s->g;
    *replan = !s->planned_ok;
    for (int i = 0; i < s->n_bound; i++) {
        const ox_value *v = &g->values[s->bound[i]];
        const ox_val *x = &in[i];
        if (v->outer < 0) { /* given by the caller (a child's outer values were checked upstream) */
            ox_value_kind declared = v->type.kind == OX_KIND_SEQUENCE || v->type.kind == OX_KIND_OPTIONAL ? v->type.kind
                                                                                                          : OX_KIND_TENSOR;
            if (x->kind != declared)
                return run_fail(s, ONYX_E_ARG, "input '%s' must be a %s", v->name,
                                declared == OX_KIND_TENSOR ? "tensor" : declared == OX_KIND_SEQUENCE ? "sequence" : "optional");
            if (declared == OX_KIND_TENSOR) {
                onyx_status st = check_tensor(s, v, &x->t);
                if (st) return st;
            }
        }
        if (*replan) continue;
        const ox_val *p = &s->planned[i];
        if (s->value_inputs & ox_input_bit(i)) {
            *replan = !same_contents(p, x);
        } else {
            *replan = p->kind != x->kind || p->t.dtype != x->t.dtype || p->t.rank != x->t.rank ||
                      memcmp(p->t.dims, x->t.dims, sizeof(int64_t) * (size_t)x->t.rank) != 0;
        }
    }
    return ONYX_OK;
}

/* Points every value that is not a plan-time constant at its storage for this run. */
static void bind(onyx_session *s, const ox_val *in)
{
    const ox_graph *g = s->g;
    for (int i = 0; i < s->n_bound; i++)
        if (!(s->value_inputs & ox_input_bit(i))) s->slots[s->bound[i]].v = in[i];
    /* a plan whose intermediates are all empty has no arena: their data stays NULL */
    for (int v = 0; v < g->n_values; v++)
        if (s->slots[v].store == OX_STORE_ARENA) s->slots[v].v.t.data = s->arena ? s->arena + s->slots[v].offset : NULL;
    for (int v = 0; v < g->n_values; v++)
        if (s->slots[v].store == OX_STORE_VIEW) s->slots[v].v.t.data = s->slots[s->slots[v].root].v.t.data;
}

onyx_status ox_session_exec(onyx_session *s, const ox_val *bound)
{
    const ox_graph *g = s->g;
    s->err[0] = 0;
    bool replan;
    onyx_status st = check_bound(s, bound, &replan);
    if (st) return st;
    if (replan && (st = ox_plan(s, bound, true))) return st;
    bind(s, bound);
    ox_pool_release(&s->run_pool);
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_step *step = &s->steps[i];
        if (step->folded) continue;
        const ox_node *n = &g->nodes[i];
        ox_ctx c = ox_step_ctx(s, i);
        c.scratch_bytes = step->scratch_bytes;
        c.scratch = step->scratch_bytes && s->arena ? s->arena + step->scratch_offset : NULL;
        c.strings = &s->run_pool;
        if ((st = n->op->run(&c))) {
            if (!s->err[0]) run_fail(s, st, "node '%s' (%s): %s", n->name, n->op_type, onyx_status_string(st));
            return st;
        }
    }
    return ONYX_OK;
}

/* ---- child sessions (control-flow bodies) ------------------------------------------------ */

static onyx_session *child_for(onyx_session *s, const ox_graph *g)
{
    for (int i = 0; i < s->n_children; i++)
        if (s->children[i].g == g) return s->children[i].s;
    if (s->n_children == s->cap_children) {
        int cap = s->cap_children ? s->cap_children * 2 : 4;
        ox_child *c = ox_realloc(&s->alloc, s->children, (size_t)s->cap_children * sizeof *c, (size_t)cap * sizeof *c);
        if (!c) return NULL;
        s->children = c;
        s->cap_children = cap;
    }
    onyx_session *child = session_new(s->m, g, s, &s->opts, s->alloc);
    if (!child) return NULL;
    child->threads = s->threads;
    s->children[s->n_children++] = (ox_child){g, child};
    return child;
}

onyx_status ox_run_child(ox_ctx *c, const ox_graph *g, const ox_val *in, int n_in, ox_val *out, int n_out)
{
    onyx_session *s = c->runtime, *child = child_for(s, g);
    if (!child) return ox_fail(c, ONYX_E_NOMEM, "out of memory creating a subgraph session");
    if (n_in != g->n_inputs || n_out > g->n_outputs)
        return ox_fail(c, ONYX_E_ARG, "body graph '%s' takes %d inputs and gives %d outputs (got %d and %d)",
                       g->name, g->n_inputs, g->n_outputs, n_in, n_out);
    /* bound values: the body's inputs, then the outer values it reads (from this session) */
    ox_val *bound = child->run_vals;
    for (int i = 0; i < n_in; i++) {
        bound[i] = in[i];
        /* a plain value fed to an optional input (a loop-carried optional) becomes an optional
         * that holds it */
        if (g->values[g->inputs[i]].type.kind == OX_KIND_OPTIONAL && in[i].kind != OX_KIND_OPTIONAL) {
            bound[i].elem_kind = in[i].kind;
            bound[i].kind = OX_KIND_OPTIONAL;
            bound[i].none = false;
        }
    }
    for (int i = n_in; i < child->n_bound; i++) bound[i] = s->slots[g->values[child->bound[i]].outer].v;
    onyx_status st = ox_session_exec(child, bound);
    if (st) return ox_fail(c, st, "in body '%s': %s", g->name, child->err);
    for (int k = 0; k < n_out; k++)
        if (ox_val_copy(c->strings, &child->slots[g->outputs[k]].v, &out[k]))
            return ox_fail(c, ONYX_E_NOMEM, "out of memory keeping a subgraph's results");
    return ONYX_OK;
}

/* ---- public run calls ----------------------------------------------------------------------- */

static void val_from_public(const onyx_value *v, ox_val *x)
{
    memset(x, 0, sizeof *x);
    x->kind = v->kind == ONYX_VALUE_SEQUENCE ? OX_KIND_SEQUENCE : v->kind == ONYX_VALUE_OPTIONAL ? OX_KIND_OPTIONAL : OX_KIND_TENSOR;
    x->elem_kind = v->elem_kind == ONYX_VALUE_SEQUENCE ? OX_KIND_SEQUENCE : OX_KIND_TENSOR;
    x->none = v->kind == ONYX_VALUE_OPTIONAL && !v->has_value;
    x->t = v->tensor;
    x->seq.dtype = v->seq_dtype;
    x->seq.n = (int64_t)v->n_items;
    x->seq.items = v->items;
    if (x->kind != OX_KIND_TENSOR && !(x->kind == OX_KIND_OPTIONAL && x->elem_kind == OX_KIND_TENSOR && !x->none)) {
        x->t.dtype = x->seq.dtype;
        x->t.rank = 0;
        x->t.data = OX_KNOWN; /* a container the caller gives is known */
    }
}

static void val_to_public(const ox_val *x, onyx_value *v)
{
    memset(v, 0, sizeof *v);
    v->kind = x->kind == OX_KIND_SEQUENCE ? ONYX_VALUE_SEQUENCE : x->kind == OX_KIND_OPTIONAL ? ONYX_VALUE_OPTIONAL : ONYX_VALUE_TENSOR;
    v->elem_kind = x->elem_kind == OX_KIND_SEQUENCE ? ONYX_VALUE_SEQUENCE : ONYX_VALUE_TENSOR;
    v->has_value = !x->none;
    bool seq = x->kind == OX_KIND_SEQUENCE || (x->kind == OX_KIND_OPTIONAL && x->elem_kind == OX_KIND_SEQUENCE);
    if (seq) {
        v->seq_dtype = x->seq.dtype;
        v->n_items = (size_t)x->seq.n;
        v->items = x->seq.items;
    } else if (!x->none) {
        v->tensor = x->t;
    }
}

onyx_status onyx_session_run_values(onyx_session *s, const onyx_value *in, size_t n_in, onyx_value *out, size_t n_out)
{
    if (!s || (n_in && !in) || (n_out && !out)) return s ? run_fail(s, ONYX_E_ARG, "null argument") : ONYX_E_ARG;
    const ox_graph *g = s->g;
    if (n_in != (size_t)g->n_inputs) return run_fail(s, ONYX_E_ARG, "the model has %d inputs, %zu were given", g->n_inputs, n_in);
    if (n_out > (size_t)g->n_outputs)
        return run_fail(s, ONYX_E_ARG, "the model has %d outputs, %zu were asked for", g->n_outputs, n_out);
    for (size_t i = 0; i < n_in; i++) val_from_public(&in[i], &s->run_vals[i]);
    onyx_status st = ox_session_exec(s, s->run_vals);
    if (st) return st;
    for (size_t i = 0; i < n_out; i++) val_to_public(&s->slots[g->outputs[i]].v, &out[i]);
    return ONYX_OK;
}

/* The tensor-only call: nothing is allocated after the first run at given shapes. */
onyx_status onyx_session_run(onyx_session *s, const onyx_tensor *in, size_t n_in, onyx_tensor *out, size_t n_out)
{
    if (!s || (n_in && !in) || (n_out && !out)) return s ? run_fail(s, ONYX_E_ARG, "null argument") : ONYX_E_ARG;
    const ox_graph *g = s->g;
    if (n_in != (size_t)g->n_inputs) return run_fail(s, ONYX_E_ARG, "the model has %d inputs, %zu were given", g->n_inputs, n_in);
    if (n_out > (size_t)g->n_outputs)
        return run_fail(s, ONYX_E_ARG, "the model has %d outputs, %zu were asked for", g->n_outputs, n_out);
    for (size_t i = 0; i < n_out; i++)
        if (g->values[g->outputs[i]].type.kind != OX_KIND_TENSOR)
            return run_fail(s, ONYX_E_ARG, "output '%s' is a sequence or optional: use onyx_session_run_values",
                            g->values[g->outputs[i]].name);
    for (size_t i = 0; i < n_in; i++) {
        memset(&s->run_vals[i], 0, sizeof s->run_vals[i]);
        s->run_vals[i].t = in[i];
    }
    onyx_status st = ox_session_exec(s, s->run_vals);
    if (st) return st;
    for (size_t i = 0; i < n_out; i++) out[i] = s->slots[g->outputs[i]].v.t;
    return ONYX_OK;
}
