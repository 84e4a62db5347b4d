/* opt.h — the graph optimiser (internal): rewrites a main graph into an equivalent one that
 * runs faster.
 *
 * A model is immutable and shared, so the optimiser works on a copy (ox_graph_clone). Bodies
 * of If/Loop/Scan refer to main-graph values by index (ox_value.outer) and nodes list the
 * values their bodies read as implicit inputs, so no pass ever renumbers or deletes a value:
 * passes rewire node inputs and outputs, mark nodes dead and may append new values (folded
 * constants) at the end of the values array. At the end the dead nodes are dropped and the
 * graph is sorted again. Values that are graph outputs or that bodies read ("pinned") keep
 * their producer, so their names and indices still mean what they meant. Bodies themselves
 * are not optimised. */
#ifndef ONYX_OPT_H
#define ONYX_OPT_H

#include "../ir.h"

/* The rewrites, counted in ox_opt_stats. */
typedef enum ox_pass {
    OX_PASS_DEAD_NODE = 0, /* node whose results reach no graph output */
    OX_PASS_IDENTITY,      /* Identity: consumers read its input */
    OX_PASS_DROPOUT,       /* Dropout in inference mode: likewise */
    OX_PASS_CAST,          /* Cast to the type its input already has */
    OX_PASS_BN_CONV,       /* BatchNormalization folded into the Conv before it */
    OX_PASS_BN_GEMM,       /* BatchNormalization folded into the Gemm before it */
    OX_PASS_MATMUL_ADD,    /* MatMul of a matrix + Add of a bias row: one Gemm */
    OX_PASS_FOLD_CONST,    /* node of constant inputs (static shapes included) -> initializer */
    OX_PASS_RESHAPE,       /* Reshape/Expand/Slice that changes nothing, Reshape of a Reshape */
    OX_PASS_TRANSPOSE,     /* identity Transpose, Transpose of a Transpose */
    OX_PASS_CSE,           /* node equal to an earlier one (op, inputs, attributes) */
    OX_PASS_LAYER_NORM,    /* decomposed LayerNorm -> LayerNormalization */
    OX_PASS_GELU,          /* erf/tanh-form GELU -> Gelu */
    OX_PASS_ACT_CONV,      /* activation into the Conv before it (session only: fuse_act.c) */
    OX_PASS_ATTENTION,     /* MatMul-scale-mask-Softmax-MatMul -> Attention (opset >= 23) */
    OX_PASS_ATTENTION_INTERNAL, /* the same below opset 23 (session only: fuse_attention.c) */
    OX_PASS_RESIDUAL_CONV, /* residual Add into the Conv before it (session only: fuse_act.c) */
    OX_PASS_MUL_CONV,      /* Mul/Div by per-channel constants into the Conv's weights */
    OX_PASS_ADD_CONV,      /* Add/Sub of per-channel constants into the Conv's bias */
    OX_PASS_PAD_CONV,      /* zero Pad into the following Conv's / AveragePool's pads */
    OX_PASS_TRANSPOSE_GEMM, /* 2-D Transpose into Gemm's transA/transB (MatMul becomes Gemm) */
    OX_PASS_MUL_GEMM,      /* Mul by a constant scalar or per-column row into the Gemm */
    OX_PASS_ADD_GEMM,      /* Add/Sub of a constant row into the Gemm's C */
    OX_PASS_ACT_GEMM,      /* activation into the Gemm/MatMul before it (session only: fuse_act.c) */
    OX_PASS_MATMUL_BIAS,   /* bias row Add into the MatMul before it (session only: fuse_act.c) */
    OX_PASS_RMS_NORM,      /* decomposed RMSNorm -> RMSNormalization (opset >= 23) */
    OX_PASS_LAYER_NORM_INTERNAL, /* LayerNorm, GELU, RMSNorm below the opsets that have the op */
    OX_PASS_GELU_INTERNAL,       /* (session only: fuse_transformer.c) */
    OX_PASS_RMS_NORM_INTERNAL,
    OX_PASS_SKIP_LAYER_NORM, /* Add into the LayerNormalization after it (session only) */
    OX_PASS_BN_CONVTRANSPOSE, /* BatchNormalization folded into the ConvTranspose before it */
    OX_PASS_BN_MATMUL,        /* BatchNormalization of a 2-D MatMul: scaled B + bias, one Gemm */
    OX_PASS_ACT_CONVTRANSPOSE, /* activation into the ConvTranspose before it (session only) */
    OX_PASS_COUNT
} ox_pass;

typedef struct ox_opt_stats {
    int64_t fired[OX_PASS_COUNT]; /* rewrites per pass */
} ox_opt_stats;

/* Short name of a pass ("identity", "bn-into-conv" …). */
const char *ox_pass_name(ox_pass p);
/* True for the passes of ox_fuse_epilogues, whose nodes are not ONNX. */
bool ox_pass_session_only(ox_pass p);

/* Optimises g in place: level 1 clean-up (dead nodes, Identity, inference Dropout, no-op
 * Cast), level 2 also folds and fusions; level <= 0 does nothing. g must be a main graph
 * (not a body) that the caller may modify, e.g. a clone; new data comes from g->pool.
 * stats (may be NULL) is added to. */
onyx_status ox_optimize(ox_graph *g, int level, ox_opt_stats *stats, char *err, size_t cap);

/* A copy of graph g in pool (ox_graph_clone), optimised at level; NULL with *st set and a
 * message in err on failure. */
ox_graph *ox_optimized_copy(const ox_graph *g, int level, ox_pool *pool, ox_opt_stats *stats, onyx_status *st,
                            char *err, size_t cap);

/* The internal-only fusions on g (a session's optimised copy): activations into the Conv,
 * ConvTranspose, Gemm or MatMul before them (fuse_act.c), attention below opset 23 (fuse_attention.c). Their nodes are not ONNX, so a graph that will be written must
 * never go through this; sessions at opt_level >= 2 call it after ox_optimized_copy. */
onyx_status ox_fuse_epilogues(ox_graph *g, ox_opt_stats *stats, char *err, size_t cap);

/* ---- for the passes --------------------------------------------------------------------- */

/* A dim whose size may not be known before the run (sym_shape.c): fixed (known), a
 * symbolic name from a graph input's declared shape (one name is one size), an anonymous dim
 * of `value` at `axis` (a graph input's, or one whose size could not be told: equal only to
 * itself), or unknown (value -1: equal to nothing). */
typedef struct ox_sdim {
    bool known;       /* fixed: size is it (contents may be negative: Reshape's -1) */
    int64_t size;     /* -1 unless known */
    const char *name; /* the dim_param, or NULL */
    int value, axis;
} ox_sdim;

/* A value's shape in such dims (rank -1: unknown); for small 1-D integer tensors (shapes being
 * computed) also the contents as dims (n_content >= 0). */
typedef struct ox_sshape {
    onyx_dtype dtype; /* 0: unknown */
    int rank;
    ox_sdim dims[ONYX_MAX_RANK];
    int n_content;
    ox_sdim content[ONYX_MAX_RANK];
} ox_sshape;

/* What the passes see: the graph, which nodes are dead, and per value (for the first
 * n_values values, as of the last ox_opt_index) its live producer, its readers and whether
 * it is pinned. Passes keep `dead` current; the per-value tables go stale as a pass rewires,
 * so a pass checks what it relies on (ox_opt_producer) and the driver re-indexes between
 * passes. */
typedef struct ox_opt {
    ox_graph *g;
    ox_allocator alloc;
    bool *dead;      /* per node */
    int cap_nodes;
    int n_values;    /* values the tables below cover */
    int *prod;       /* live node producing the value, or -1 */
    int *uses;       /* reads by live nodes, implicit inputs included */
    bool *pinned;    /* graph output, or read by a body: keeps its producer */
    ox_opt_stats *stats;
    onyx_tensor *shapes; /* static shapes from the last constant-folding walk (rank -1: unknown) */
    int n_shapes;
    ox_sshape *sym;      /* symbolic shapes (ox_opt_sym_shapes), per value; NULL until asked for */
    int n_sym;
    int fresh;       /* counter for names of new values */
    char *err;
    size_t cap;
} ox_opt;

/* Rebuilds prod, uses and pinned from the live nodes. */
onyx_status ox_opt_index(ox_opt *o);
/* The live node producing value v as its output 0 … n_out-1, or -1 (stale tables are
 * checked against the node). */
int ox_opt_producer(const ox_opt *o, int v);
/* True if v has exactly one reader and is not pinned: its producer's result may change form
 * when that reader is folded into it. */
bool ox_opt_single_use(const ox_opt *o, int v);
/* True if node n is op_type of the default domain with an implementation. */
bool ox_opt_is(const ox_node *n, const char *op_type);
/* The constant behind value v (an initializer), or NULL. */
const ox_const *ox_opt_const(const ox_opt *o, int v);
/* The rank value v has whenever the graph runs, or -1 when it cannot be told without input
 * shapes: initializers, declared graph inputs (runs check them), and ops whose output rank
 * follows from their inputs' ranks or constant inputs. */
int ox_opt_rank(const ox_opt *o, int v);
/* The element type value v has whenever the graph runs, or 0 when unknown (initializers,
 * declared graph inputs, Cast results). */
onyx_dtype ox_opt_dtype(const ox_opt *o, int v);
/* True when v is known to be float32 whenever the graph runs: ox_opt_dtype, or the static
 * shapes of the last constant-folding walk. */
bool ox_opt_float(const ox_opt *o, int v);
/* Appends an initializer value named after `base` (made unique) holding a new zeroed
 * constant of the given type and shape; *out gets the constant. Returns the value's index,
 * or -1 when out of memory. */
int ox_opt_new_const(ox_opt *o, const char *base, onyx_dtype dtype, int rank, const int64_t *dims,
                     ox_const **out);
/* A copy of node n's attributes in g's pool, so one may change (the model's are shared);
 * false when out of memory. */
bool ox_opt_own_attrs(ox_opt *o, ox_node *n);
/* Sets node n's declared inputs to the given list (a new array; n must have no implicit
 * inputs); false when out of memory. */
bool ox_opt_set_inputs(ox_opt *o, ox_node *n, const int *in, int n_in);
onyx_status ox_opt_nomem(ox_opt *o);
/* Fills *c for calling node n's infer (and then run) from an optimiser walk: the node's
 * inputs in[0 .. n_in) and outputs, one thread, no prepacked copies of weights (the walks want
 * shapes and values), dynamically sized results in strings, messages in msg. */
struct ox_ctx;
void ox_opt_op_ctx(struct ox_ctx *c, const ox_node *n, int n_in, onyx_tensor **in, onyx_tensor **out,
                   ox_pool *strings, char *msg, size_t msg_cap);
/* The shape value v has in every run (constants; values the last constant-folding walk
 * followed from fixed-shape inputs), or NULL; data is not set. */
const onyx_tensor *ox_opt_shape(const ox_opt *o, int v);

/* Finds the symbolic shapes of every value (sym_shape.c) for the lookups below; a pass
 * that wants them calls this first (they follow the graph as it is then). */
onyx_status ox_opt_sym_shapes(ox_opt *o);
/* Value v's symbolic shape as of the last ox_opt_sym_shapes, or NULL when its rank is unknown. */
const ox_sshape *ox_opt_sshape(const ox_opt *o, int v);
/* True when the two dims are the same size in every run that does not fail earlier (fixed and
 * equal, or one symbolic name, or one anonymous input dim). */
bool ox_sdim_eq(const ox_sdim *a, const ox_sdim *b);
/* True when values a and b have the same rank and equal dims (ox_sdim_eq) in every run. */
bool ox_opt_same_shape(const ox_opt *o, int a, int b);

/* The passes: each reports whether it changed the graph. */
onyx_status ox_pass_dead_nodes(ox_opt *o, bool *changed);
onyx_status ox_pass_eliminate(ox_opt *o, bool *changed); /* Identity, Dropout, Cast */
onyx_status ox_pass_fold_bn(ox_opt *o, bool *changed);
onyx_status ox_pass_matmul_add(ox_opt *o, bool *changed);
onyx_status ox_pass_fold_constants(ox_opt *o, bool *changed); /* fold_const.c */
onyx_status ox_pass_fold_shapes(ox_opt *o, bool *changed);    /* sym_shape.c: known shape arithmetic */
onyx_status ox_pass_simplify(ox_opt *o, bool *changed);       /* Reshape/Transpose/Expand/Slice */
onyx_status ox_pass_cse(ox_opt *o, bool *changed);
onyx_status ox_pass_transformer(ox_opt *o, bool *changed);    /* LayerNorm, GELU, RMSNorm */
onyx_status ox_pass_transformer_internal(ox_opt *o, bool *changed); /* the same below their opsets */
onyx_status ox_pass_skip_layer_norm(ox_opt *o, bool *changed); /* fuse_transformer.c; session only */
onyx_status ox_pass_fuse_act(ox_opt *o, bool *changed);       /* fuse_act.c; via ox_fuse_epilogues */
onyx_status ox_pass_fuse_residual(ox_opt *o, bool *changed);  /* fuse_act.c; via ox_fuse_epilogues */
onyx_status ox_pass_matmul_bias(ox_opt *o, bool *changed);    /* fuse_act.c; via ox_fuse_epilogues */
onyx_status ox_pass_fold_into_conv(ox_opt *o, bool *changed); /* fold_into_conv.c: Mul/Add/Pad */
onyx_status ox_pass_attention(ox_opt *o, bool *changed);      /* fuse_attention.c */
onyx_status ox_pass_fold_into_gemm(ox_opt *o, bool *changed); /* fold_into_gemm.c: Transpose/Mul/Add */
onyx_status ox_pass_attention_internal(ox_opt *o, bool *changed); /* via ox_fuse_epilogues */

#endif
