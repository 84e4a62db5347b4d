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
    ox_slot *slots;
    ox_step *steps;
    onyx_tensor *planned_inputs; /* the input dtypes/shapes the plan is for */
    bool planned;
    uint8_t *arena;
    size_t arena_bytes;     /* what the plan needs */
    size_t arena_cap;       /* what is allocated (or the caller's arena size) */
    bool arena_owned;
    char err[1024];
};

/* Builds the plan for the given inputs' dtypes and shapes (inputs already validated). */
onyx_status ox_plan(onyx_session *s, const onyx_tensor *in);

#endif
