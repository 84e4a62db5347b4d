/* opt_builder.h — hand-built graphs for the optimiser's tests (test_opt*.c): a builder over
 * the IR, a counting allocator for leak and failure checks, running a model at an opt level
 * (and what the session made of its graph), and the optimised copy of a model's graph. */
#ifndef ONYX_TEST_OPT_BUILDER_H
#define ONYX_TEST_OPT_BUILDER_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fused.h"
#include "model.h"
#include "op.h"
#include "session.h"

/* ---- counting allocator (for leak and failure checks) ---------------------------------- */

typedef struct counting {
    long calls, fail_at, live;
} counting;

static inline void *counting_alloc(void *user, void *ptr, size_t osize, size_t nsize)
{
    counting *c = user;
    (void)osize;
    if (nsize == 0) {
        if (ptr) c->live--;
        free(ptr);
        return NULL;
    }
    if (++c->calls == c->fail_at) return NULL;
    void *p = realloc(ptr, nsize);
    if (p && !ptr) c->live++;
    return p;
}

/* ---- building graphs ------------------------------------------------------------------- */

typedef struct builder {
    onyx_model *m;
    ox_graph *g;
    int opset;
} builder;

static inline void b_init(builder *b, int opset, counting *c)
{
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    if (c) {
        lo.alloc = counting_alloc;
        lo.alloc_user = c;
    }
    b->m = ox_model_new(&lo);
    b->g = ox_graph_new(&b->m->pool, NULL);
    b->opset = opset;
    b->m->graph = b->g;
    b->m->ir_version = 8;
    b->m->opsets = ox_pool_array(&b->m->pool, 1, sizeof(ox_opset));
    b->m->opsets[0].domain = "";
    b->m->opsets[0].version = opset;
    b->m->n_opsets = 1;
    b->g->inputs = ox_pool_array(&b->m->pool, 8, sizeof(int));
    b->g->outputs = ox_pool_array(&b->m->pool, 8, sizeof(int));
}

static inline int b_input(builder *b, const char *name, onyx_dtype dt, int rank, const int64_t *dims)
{
    int v = ox_graph_value(b->g, name);
    ox_value *val = &b->g->values[v];
    val->is_input = true;
    val->type.dtype = dt;
    val->type.rank = rank;
    for (int d = 0; d < rank; d++) val->type.dims[d] = dims[d];
    b->g->inputs[b->g->n_inputs++] = v;
    return v;
}

/* An initializer (float32, or another dtype with raw bytes). */
static inline int b_const(builder *b, const char *name, onyx_dtype dt, int rank, const int64_t *dims, const void *data)
{
    int v = ox_graph_value(b->g, name);
    ox_const *k = ox_pool_alloc(&b->m->pool, sizeof *k, 8);
    k->t.dtype = dt;
    k->t.rank = rank;
    for (int d = 0; d < rank; d++) k->t.dims[d] = dims[d];
    k->nbytes = ox_tensor_bytes(&k->t);
    k->t.data = ox_pool_alloc(&b->m->pool, k->nbytes ? k->nbytes : 1, OX_ALIGN);
    memcpy(k->t.data, data, k->nbytes);
    ox_value *val = &b->g->values[v];
    val->init = k;
    val->type.dtype = dt;
    val->type.rank = rank;
    for (int d = 0; d < rank; d++) val->type.dims[d] = dims[d];
    return v;
}

/* A node; inputs given by value index (-1 omitted), outputs by name ("" omitted). */
static inline ox_node *b_node(builder *b, ox_graph *g, const char *op, int n_in, const int *in, int n_out, const char *const *out,
                       int n_attr)
{
    ox_node *n = ox_graph_add_node(g, n_in, n_out, n_attr);
    n->op_type = op;
    n->opset = b->opset;
    n->op = ox_op_find("", op, b->opset);
    n->name = out[0];
    for (int k = 0; k < n_in; k++) n->in[k] = in[k];
    for (int k = 0; k < n_out; k++) n->out[k] = *out[k] ? ox_graph_value(g, out[k]) : -1;
    return n;
}

static inline int b_val(builder *b, const char *name) { return ox_graph_find(b->g, name); }

static inline void b_output(builder *b, const char *name)
{
    int v = b_val(b, name);
    b->g->values[v].is_output = true;
    b->g->outputs[b->g->n_outputs++] = v;
}

static inline void attr_int(ox_node *n, int k, const char *name, int64_t i)
{
    n->attr[k].name = name;
    n->attr[k].type = OX_ATTR_INT;
    n->attr[k].i = i;
}

static inline void attr_float(ox_node *n, int k, const char *name, float f)
{
    n->attr[k].name = name;
    n->attr[k].type = OX_ATTR_FLOAT;
    n->attr[k].f = f;
}

static inline bool b_finish(builder *b)
{
    char err[256];
    return ox_graph_sort(b->g, err, sizeof err) == ONYX_OK;
}

/* ---- running --------------------------------------------------------------------------- */

/* What run_session tells of the session's graph (after its optimiser and fusions). */
typedef struct session_info {
    int nodes;        /* node count */
    int conv_fused;   /* nodes of each fused op (ops/fused.h) */
    int convt_fused;
    int linear_fused; /* Gemm and MatMul */
    int residual;     /* fused Convs with a residual input */
    int attention;    /* Attention nodes */
} session_info;

/* Runs m at opt level `level` on `threads` threads with inputs in; copies output 0, which
 * must be n elements of type dt, into out; *info (may be NULL) describes the session's
 * graph. */
static inline bool run_session(const onyx_model *m, int level, int threads, const onyx_tensor *in, size_t n_in,
                               void *out, size_t n, onyx_dtype dt, session_info *info)
{
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.opt_level = level;
    so.threads = threads;
    onyx_session *s = NULL;
    onyx_error err;
    onyx_tensor res[8];
    const size_t n_out = onyx_model_output_count(m);
    bool ok = n_out <= sizeof res / sizeof res[0] && onyx_session_create(m, &so, &s, &err) == ONYX_OK;
    if (!ok) fprintf(stderr, "session: %s\n", n_out > sizeof res / sizeof res[0] ? "too many outputs" : err.message);
    ok = ok && onyx_session_run(s, in, n_in, res, n_out) == ONYX_OK;
    if (s && !ok) fprintf(stderr, "run: %s\n", onyx_session_error(s));
    ok = ok && res[0].dtype == dt && (res[0].data || !n) && (size_t)ox_tensor_numel(&res[0]) == n;
    if (ok && n) memcpy(out, res[0].data, n * onyx_dtype_size(dt));
    if (ok && info) {
        memset(info, 0, sizeof *info);
        info->nodes = s->g->n_nodes;
        for (int i = 0; i < s->g->n_nodes; i++) {
            const ox_node *nd = &s->g->nodes[i];
            info->conv_fused += nd->op == &ox_op_conv_fused;
            info->convt_fused += nd->op == &ox_op_convt_fused;
            info->linear_fused += nd->op == &ox_op_gemm_fused || nd->op == &ox_op_matmul_fused;
            info->residual += nd->op == &ox_op_conv_fused && nd->n_in > OX_CONV_RESIDUAL_INPUT &&
                              nd->in[OX_CONV_RESIDUAL_INPUT] >= 0;
            info->attention += !strcmp(nd->op_type, "Attention");
        }
    }
    onyx_session_free(s);
    return ok;
}

/* Runs m at opt level `level` (1 thread); copies output 0 (n floats) into out. */
static inline bool run_model(const onyx_model *m, int level, const onyx_tensor *in, size_t n_in, float *out, size_t n)
{
    return run_session(m, level, 1, in, n_in, out, n, ONYX_DTYPE_FLOAT, NULL);
}

static inline float max_diff(const float *a, const float *b, size_t n)
{
    float d = 0;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

/* The optimised copy of m's graph at level (stats in *st). */
static inline ox_graph *optimised(const onyx_model *m, ox_pool *pool, int level, ox_opt_stats *stats)
{
    char err[256];
    onyx_status st;
    memset(stats, 0, sizeof *stats);
    ox_pool_init(pool, m->alloc, 0);
    ox_graph *g = ox_optimized_copy(m->graph, level, pool, stats, &st, err, sizeof err);
    if (!g) fprintf(stderr, "optimise: %s\n", err);
    return g;
}

static inline int count_op(const ox_graph *g, const char *op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !strcmp(g->nodes[i].op_type, op);
    return n;
}

static inline float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static inline void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) x[i] = frand(&seed);
}

static inline onyx_tensor tensor(onyx_dtype dt, int rank, const int64_t *dims, void *data)
{
    onyx_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
    t.data = data;
    return t;
}
#endif
