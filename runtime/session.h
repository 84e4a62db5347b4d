/* session.h — a planned, executable instance of a model (internal). */
#ifndef ONYX_SESSION_H
#define ONYX_SESSION_H

#include "model.h"
#include "op.h"

/* Where a value's data lives during a run. */
typedef enum ox_store {
    OX_STORE_NONE = 0, /* omitted or not a tensor */
    OX_STORE_INPUT,    /* the caller's input buffer */
    OX_STORE_CONST,    /* an initializer or a value folded at plan time */
    OX_STORE_ARENA,    /* arena + offset */
    OX_STORE_VIEW      /* same data as value `root` (a view op's output) */
} ox_store;

typedef struct ox_slot {
    onyx_tensor t;    /* dtype, shape and (once bound) data */
    ox_store store;
    int root;         /* OX_STORE_VIEW: the value whose data this shares */
    size_t offset;    /* OX_STORE_ARENA */
    size_t bytes;
    int first, last;  /* live from producing node to last use (node indices) */
    bool known;       /* value known at plan time: infer may read it, consumers may fold */
    uint64_t deps;    /* graph inputs (bit i, 63 = "63 or later") the value depends on */
} ox_slot;

/* Per node: the context's tensor pointers and scratch, fixed at plan time. */
typedef struct ox_step {
    onyx_tensor **in, **out;
    size_t scratch_offset, scratch_bytes;
    bool folded; /* evaluated at plan time: skipped at run */
} ox_step;

struct onyx_session {
    const onyx_model *m;
    const ox_graph *g;
    onyx_session_options opts;
    ox_allocator alloc;
    int threads;
    ox_pool plan_pool;      /* slots, steps, folded data: rebuilt by each plan */
    ox_pool string_pool;    /* bytes of string tensors produced during a run */
    ox_slot *slots;
    ox_step *steps;
    onyx_tensor *planned_inputs; /* the input dtypes/shapes the plan is for */
    /* Graph inputs whose *values* shape the plan (e.g. a Reshape target fed by the caller):
     * the plan reads them and is redone when their contents change. planned_inputs[i].data
     * holds a copy of such an input's contents. */
    uint64_t value_inputs;
    bool planned;
    uint8_t *arena;
    size_t arena_bytes;     /* what the plan needs */
    size_t arena_cap;       /* what is allocated (or the caller's arena size) */
    bool arena_owned;
    char err[1024];
};

/* Builds the plan for the given inputs' dtypes and shapes (inputs already validated). With
 * have_data false (session create) a plan that needs input values is deferred: returns
 * ONYX_OK with s->planned false. */
onyx_status ox_plan(onyx_session *s, const onyx_tensor *in, bool have_data);
/* The context node i's op sees (tensors, threads, message buffer); scratch is left unset. */
ox_ctx ox_step_ctx(onyx_session *s, int i);
/* Bit of graph input i in value_inputs / deps masks. */
static inline uint64_t ox_input_bit(int i) { return (uint64_t)1 << (i < 63 ? i : 63); }

#endif
