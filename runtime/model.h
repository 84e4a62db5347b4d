/* model.h — the model handle (internal): an immutable graph plus the weights it owns. */
#ifndef ONYX_MODEL_H
#define ONYX_MODEL_H

#include "ir.h"
#include "opt/opt.h"

struct onyx_model {
    ox_allocator alloc;
    ox_pool pool; /* the IR, the weights and every string: freed at once */
    ox_graph *graph;
    ox_opset *opsets;
    int n_opsets;
    int64_t ir_version, model_version;
    const char *producer_name, *producer_version, *domain;
    onyx_load_options opts; /* with defaults filled in */
    int n_unsupported;
    ox_opt_stats opt_stats; /* what onyx_model_optimize did */
    int opt_level;          /* the highest level onyx_model_optimize ran (0: none) */
    ox_graph *session_graph; /* level 2: graph + session-only fusions, shared by sessions */
    void *owned_data;       /* a packed model's bytes when the model keeps its own copy
                             * (ox_malloc_aligned; names and weights point into it) */
    uint64_t packed_arena_bytes; /* the arena size a packed model's header records */
};

/* Fills defaults for absent or zero options. */
void ox_load_options_resolve(const onyx_load_options *in, onyx_load_options *out);
/* Creates an empty model (pool ready); frees with onyx_model_free. */
onyx_model *ox_model_new(const onyx_load_options *o);

#endif
