/* session.c — session lifetime and the executor: bind the plan's buffers, run the nodes. */
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
    onyx_session *s = ox_malloc(&a, sizeof *s);
    if (!s) {
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->m = m;
    s->g = m->graph;
    s->opts = opts;
    s->alloc = a;
    s->threads = opts.threads > 0 ? opts.threads : default_threads();
    if (s->threads < 1) s->threads = 1;
    ox_pool_init(&s->plan_pool, a, 0);
    ox_pool_init(&s->string_pool, a, 0);
    if (opts.arena) {
        s->arena = opts.arena;
        s->arena_cap = opts.arena_bytes;
        s->arena_owned = false;
    }
    /* Plan now when every input shape is fixed, so the arena size is known before run. */
    const ox_graph *g = s->g;
    bool fixed = true;
    size_t in_bytes = (size_t)(g->n_inputs ? g->n_inputs : 1) * sizeof(onyx_tensor);
    onyx_tensor *in = ox_calloc(&a, (size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *in);
    if (!in) {
        onyx_session_free(s);
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    for (int i = 0; i < g->n_inputs && fixed; i++) {
        const ox_type *t = &g->values[g->inputs[i]].type;
        fixed = t->kind == OX_KIND_TENSOR && t->rank >= 0 && ox_dtype_valid((int)t->dtype);
        in[i].dtype = t->dtype;
        in[i].rank = t->rank;
        for (int d = 0; fixed && d < t->rank; d++) fixed = (in[i].dims[d] = t->dims[d]) >= 0;
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

void onyx_session_free(onyx_session *s)
{
    if (!s) return;
    ox_allocator a = s->alloc;
    ox_pool_release(&s->plan_pool);
    ox_pool_release(&s->string_pool);
    if (s->arena_owned) ox_free_aligned(&a, s->arena);
    ox_free(&a, s, sizeof *s);
}

size_t onyx_session_arena_bytes(const onyx_session *s) { return s && s->planned ? s->arena_bytes : 0; }

const char *onyx_session_error(const onyx_session *s) { return s ? s->err : "null session"; }

static onyx_status run_fail(onyx_session *s, onyx_status st, const char *fmt, ...) OX_PRINTF(3, 4);
static onyx_status run_fail(onyx_session *s, onyx_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ox_verrf(s->err, sizeof s->err, st, fmt, ap);
    va_end(ap);
    return st;
}

/* Checks the caller's inputs against the declared types; tells whether a re-plan is needed. */
static onyx_status check_inputs(onyx_session *s, const onyx_tensor *in, size_t n_in, bool *replan)
{
    const ox_graph *g = s->g;
    if (n_in != (size_t)g->n_inputs)
        return run_fail(s, ONYX_E_ARG, "the model has %d inputs, %zu were given", g->n_inputs, n_in);
    *replan = !s->planned;
    for (int i = 0; i < g->n_inputs; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        const onyx_tensor *t = &in[i];
        char a[160], b[160];
        size_t bytes;
        if (t->rank < 0 || t->rank > ONYX_MAX_RANK || !ox_shape_bytes(t->dtype, t->rank, t->dims, &bytes))
            return run_fail(s, ONYX_E_ARG, "input '%s': invalid dtype or shape", v->name);
        if ((int64_t)bytes > s->m->opts.max_tensor_bytes)
            return run_fail(s, ONYX_E_LIMIT, "input '%s' has %zu bytes, over the limit", v->name, bytes);
        if (!t->data && bytes)
            return run_fail(s, ONYX_E_ARG, "input '%s' has no data", v->name);
        if (v->type.dtype && t->dtype != v->type.dtype)
            return run_fail(s, ONYX_E_ARG, "input '%s' must be %s, got %s", v->name, onyx_dtype_name(v->type.dtype),
                            onyx_dtype_name(t->dtype));
        bool ok = v->type.rank < 0 || v->type.rank == t->rank;
        for (int d = 0; ok && v->type.rank >= 0 && d < t->rank; d++)
            ok = v->type.dims[d] < 0 || v->type.dims[d] == t->dims[d];
        if (!ok)
            return run_fail(s, ONYX_E_SHAPE, "input '%s' must have shape %s, got %s", v->name,
                            ox_shape_str(a, sizeof a, v->type.rank, v->type.dims),
                            ox_shape_str(b, sizeof b, t->rank, t->dims));
        if (!*replan) {
            const onyx_tensor *p = &s->planned_inputs[i];
            *replan = p->dtype != t->dtype || p->rank != t->rank ||
                      memcmp(p->dims, t->dims, sizeof(int64_t) * (size_t)t->rank) != 0 ||
                      ((s->value_inputs & ox_input_bit(i)) && bytes && memcmp(p->data, t->data, bytes) != 0);
        }
    }
    return ONYX_OK;
}

/* Points every non-constant value at its storage for this run. */
static void bind(onyx_session *s, const onyx_tensor *in)
{
    const ox_graph *g = s->g;
    for (int i = 0; i < g->n_inputs; i++) s->slots[g->inputs[i]].t.data = in[i].data;
    /* a plan whose intermediates are all empty has no arena: their data stays NULL */
    for (int v = 0; v < g->n_values; v++)
        if (s->slots[v].store == OX_STORE_ARENA) s->slots[v].t.data = s->arena ? s->arena + s->slots[v].offset : NULL;
    for (int v = 0; v < g->n_values; v++)
        if (s->slots[v].store == OX_STORE_VIEW) s->slots[v].t.data = s->slots[s->slots[v].root].t.data;
}

onyx_status onyx_session_run(onyx_session *s, const onyx_tensor *in, size_t n_in, onyx_tensor *out, size_t n_out)
{
    if (!s || (n_in && !in) || (n_out && !out)) return s ? run_fail(s, ONYX_E_ARG, "null argument") : ONYX_E_ARG;
    const ox_graph *g = s->g;
    s->err[0] = 0;
    if (n_out > (size_t)g->n_outputs)
        return run_fail(s, ONYX_E_ARG, "the model has %d outputs, %zu were asked for", g->n_outputs, n_out);
    bool replan = true;
    onyx_status st = check_inputs(s, in, n_in, &replan);
    if (st) return st;
    if (replan && (st = ox_plan(s, in, true))) return st;
    bind(s, in);
    ox_pool_release(&s->string_pool);
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_step *step = &s->steps[i];
        if (step->folded) continue;
        const ox_node *n = &g->nodes[i];
        ox_ctx c = ox_step_ctx(s, i);
        c.scratch_bytes = step->scratch_bytes;
        c.scratch = step->scratch_bytes && s->arena ? s->arena + step->scratch_offset : NULL;
        c.strings = &s->string_pool;
        if ((st = n->op->run(&c))) {
            if (!s->err[0]) run_fail(s, st, "node '%s' (%s): %s", n->name, n->op_type, onyx_status_string(st));
            return st;
        }
    }
    for (size_t i = 0; i < n_out; i++) out[i] = s->slots[g->outputs[i]].t;
    return ONYX_OK;
}
