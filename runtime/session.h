/* session.h — a planned, executable instance of a graph (internal).
 *
 * The caller's session runs the model's main graph. Control-flow ops run their bodies in
 * child sessions (one per body graph, cached in the parent), planned the same way; a child's
 * bound values are the body's inputs followed by the outer values it reads. */
#ifndef ONYX_SESSION_H
#define ONYX_SESSION_H

#include "model.h"
#include "op.h"

/* Where a value's data lives during a run. */
typedef enum ox_store {
    OX_STORE_NONE = 0, /* omitted */
    OX_STORE_BOUND,    /* the caller's input (or, in a child, the parent's value) */
    OX_STORE_CONST,    /* an initializer or a value computed at plan time */
    OX_STORE_ARENA,    /* arena + offset */
    OX_STORE_VIEW      /* same data as value `root` (a view op's output) */
} ox_store;

typedef struct ox_slot {
    ox_val v;         /* dtype, shape and (once bound) data; containers */
    ox_store store;
    int root;         /* OX_STORE_VIEW: the value whose data this shares */
    size_t offset;    /* OX_STORE_ARENA */
    size_t bytes;
    int first, last;  /* live from producing node to last use (node indices) */
    bool known;       /* value known at plan time: infer may read it, consumers may fold */
    uint64_t deps;    /* bound values (bit i, 63 = "63 or later") the value depends on */
} ox_slot;

/* Per node: the context's tensor pointers and scratch, fixed at plan time. */
typedef struct ox_step {
    onyx_tensor **in, **out;
    size_t scratch_offset, scratch_bytes;
    void *persist; /* what infer left in ox_ctx.persist (plan-pool memory), handed to run */
    bool folded; /* evaluated at plan time: skipped at run */
} ox_step;

typedef struct ox_child {
    const ox_graph *g;
    onyx_session *s;
} ox_child;

struct onyx_session {
    const onyx_model *m;
    const ox_graph *g;      /* the model's graph, an optimised copy of it, or a body */
    ox_pool opt_pool;       /* the optimised copy (the caller's session only) */
    onyx_session *parent;   /* children: the session running the enclosing graph */
    onyx_session_options opts;
    ox_allocator alloc;
    int threads;
    int *bound;             /* value indices bound per run: graph inputs, then outer values */
    int n_bound;
    ox_val *run_vals;       /* the bound values of the current run (kept: runs allocate nothing) */
    ox_pool plan_pool;      /* slots, steps, plan-time values: rebuilt by each plan */
    ox_pool run_pool;       /* strings and container items produced during a run */
    ox_slot *slots;
    ox_step *steps;
    ox_val *planned;        /* the bound values (types, shapes) the plan is for */
    /* Bound values whose *contents* shape the plan (e.g. a Reshape target fed by the caller):
     * the plan reads them and is redone when their contents change; planned[i] holds a copy
     * of such a value. Containers are always such values. */
    uint64_t value_inputs;
    bool planned_ok;
    uint8_t *arena;
    size_t arena_bytes;     /* what the plan needs */
    size_t arena_cap;       /* what is allocated (or the caller's arena size) */
    bool arena_owned;
    ox_child *children;
    int n_children, cap_children;
    char err[1024];
};

/* Bit of bound value i in value_inputs / deps masks. */
static inline uint64_t ox_input_bit(int i) { return (uint64_t)1 << (i < 63 ? i : 63); }

/* Builds the plan for the given bound values' types and shapes (already validated). With
 * have_data false (session create) a plan that needs input values is deferred: returns
 * ONYX_OK with s->planned_ok false. */
onyx_status ox_plan(onyx_session *s, const ox_val *bound, bool have_data);
/* The context node i's op sees (tensors, threads, message buffer); scratch is left unset. */
ox_ctx ox_step_ctx(onyx_session *s, int i);
/* Runs the session on its bound values (re-planning when their shapes or, for value inputs,
 * contents changed). Results are in the output slots. */
onyx_status ox_session_exec(onyx_session *s, const ox_val *bound);
/* The subgraph runner handed to control-flow ops (ox_ctx.run_graph). */
onyx_status ox_run_child(ox_ctx *c, const ox_graph *g, const ox_val *in, int n_in, ox_val *out, int n_out);

#endif
