/* op.h — what an operator implementation sees.
 *
 * An op is a row in the registry (ops/registry.c): name, domain, the model opsets it
 * supports, and two functions sharing one context type:
 *   infer(c): check attributes and input dtypes/shapes, set every present output's dtype,
 *             rank and dims, and optionally request scratch bytes. Input data is available
 *             (non-NULL) only when the value is known at plan time (initializer, folded);
 *             ops whose output shape depends on an input's *value* read it here and fail
 *             with ONYX_E_UNSUPPORTED if it is not known.
 *   run(c):   compute outputs. Output buffers are allocated by the planner (sized from what
 *             infer set) and are not zeroed; scratch (if requested) is too.
 * Ops never allocate, print or abort; they report errors with ox_fail, which prefixes the
 * node's name and op type.
 *
 * Evaluating in infer: an op whose inputs are all known may produce an output's value right
 * in infer, by pointing the output's data (or, for containers, filling its ox_val) at memory
 * from c->strings. The planner then takes that output as a known constant and never calls
 * run for the node. Container ops (sequences, optionals) and control flow (If, Loop, Scan)
 * work this way: they need every input's value (ox_need_all_values) and evaluate at plan
 * time, so they run again only when the plan is redone for new input values. */
#ifndef ONYX_OP_H
#define ONYX_OP_H

#include "../runtime/ir.h"

/* A sequence: tensors of one element type, each with its own shape. */
typedef struct ox_seq {
    onyx_dtype dtype;
    int64_t n;
    onyx_tensor *items;
} ox_seq;

/* A value as the runtime holds it: a tensor, or a container. Ops see &val->t; ops flagged
 * OX_OP_CONTAINERS reach the whole value with ox_val_of(c->in[i]). A container value's
 * t.data is non-NULL exactly when the value is known (it is then OX_KNOWN). */
typedef struct ox_val {
    onyx_tensor t;           /* the tensor (TENSOR, or OPTIONAL holding a tensor) */
    ox_value_kind kind;      /* OX_KIND_TENSOR, OX_KIND_SEQUENCE or OX_KIND_OPTIONAL */
    ox_value_kind elem_kind; /* OPTIONAL: the kind it holds (or would hold) */
    bool none;               /* OPTIONAL without a value */
    ox_seq seq;              /* SEQUENCE, or OPTIONAL holding a sequence */
} ox_val;

static inline ox_val *ox_val_of(const onyx_tensor *t) { return (ox_val *)(uintptr_t)t; }

/* What a known container's t.data points at: a constant marker, never read. */
extern const char ox_known_container;
#define OX_KNOWN ((void *)(uintptr_t)&ox_known_container)

typedef struct ox_ctx ox_ctx;
/* Runs subgraph g (an attribute of the node) on the given input values; outputs are deep
 * copies in c->strings, valid as long as the caller's results. */
typedef onyx_status (*ox_graph_runner)(ox_ctx *c, const ox_graph *g, const ox_val *in, int n_in, ox_val *out,
                                       int n_out);

struct ox_ctx {
    const ox_node *node;
    const ox_graph *graph; /* the node's graph, for value names in messages (may be NULL) */
    int opset;             /* the model's opset for the node's domain */
    int n_in, n_out;       /* n_in counts the node's declared inputs */
    int n_implicit;        /* subgraph nodes: outer values the bodies use, at in[n_in ...] */
    onyx_tensor *const *in; /* in[i] is NULL for an omitted optional input */
    onyx_tensor *const *out; /* out[i] is NULL for an omitted optional output */
    void *scratch;         /* run: scratch_bytes of OX_ALIGN-aligned memory */
    size_t scratch_bytes;  /* infer: request; run: what was granted */
    /* Data an op derives once from inputs known at plan time (prepacked weights): infer may
     * build it in c->strings (which lives as long as the plan) and point persist at it; the
     * planner keeps the pointer with the node and every run (and a plan-time fold) sees it
     * again. Read-only during runs, so runs stay allocation-free and repeatable. */
    void *persist;
    bool weights_in_place; /* onyx_session_options.weights_in_place: build no persist copies of
                            * weights (the arena then is what the core library needs) */
    int threads;           /* threads the op may use (>= 1) */
    char *msg;             /* error message buffer */
    size_t msg_cap;
    int need_value;        /* infer: the input whose unknown value stopped it (ox_need_value), else -1 */
    ox_pool *strings;      /* where ops put dynamically sized results: string bytes (the
                            * output holds `char *` into it), values made in infer, sequence
                            * items. Lives as long as the plan (infer) or the run (run). */
    ox_graph_runner run_graph; /* control-flow ops: runs a subgraph */
    void *runtime;         /* for run_graph */
};

enum {
    OX_OP_VIEW = 1u << 0,       /* output 0 is input 0's data with a new shape: no copy */
    OX_OP_NO_FOLD = 1u << 1,    /* never evaluate at plan time (random ops) */
    OX_OP_CONTAINERS = 1u << 2  /* takes sequences/optionals (others are refused them) */
};

struct ox_op {
    const char *name;
    const char *domain;
    int min_opset, max_opset; /* model opsets (of `domain`) this implementation covers */
    onyx_status (*infer)(ox_ctx *c);
    onyx_status (*run)(ox_ctx *c);
    unsigned flags;
};

/* Registry: the implementation of (domain, op_type) for a model's opset, or NULL. */
const ox_op *ox_op_find(const char *domain, const char *op_type, int opset);
/* True if some opset of (domain, op_type) is implemented (to word the error). */
bool ox_op_known(const char *domain, const char *op_type);
/* Name of the family (ops/<family>.c) whose table holds op; NULL if none. */
const char *ox_op_family(const ox_op *op);

/* The attribute types the ONNX schemas allow for (domain, op, attribute), as a bit mask of
 * ox_attr_type values (bit t); 0 when the schemas do not know the attribute. */
unsigned ox_attr_types_allowed(const char *domain, const char *op, const char *name);

/* Reports an error: "node 'NAME' (OpType): <message>". Returns st. */
onyx_status ox_fail(ox_ctx *c, onyx_status st, const char *fmt, ...) OX_PRINTF(3, 4);
#ifdef __clang_analyzer__ /* see ox_lint_status in internal.h */
#define ox_fail(c, st, ...) ox_lint_status((st), ox_fail((c), (st), __VA_ARGS__))
#endif

/* Attributes, with defaults when absent. ox_attr_ints returns the count (0 if absent) and
 * points *out at the values. A present attribute of the wrong type is an error reported by
 * ox_check_attr_type (done for every node at load, against nothing: ops check what they use). */
int64_t ox_attr_int(const ox_ctx *c, const char *name, int64_t def);
float ox_attr_float(const ox_ctx *c, const char *name, float def);
const char *ox_attr_string(const ox_ctx *c, const char *name, const char *def);
size_t ox_attr_ints(const ox_ctx *c, const char *name, const int64_t **out);
size_t ox_attr_floats(const ox_ctx *c, const char *name, const float **out);
bool ox_attr_has(const ox_ctx *c, const char *name);
/* Fails with ONYX_E_ARG unless the attribute is absent or has type t. */
onyx_status ox_attr_expect(ox_ctx *c, const char *name, ox_attr_type t);

/* ---- helpers shared by many ops -------------------------------------------------------- */

/* Sets out's dtype and shape. */
void ox_set_shape(onyx_tensor *out, onyx_dtype dtype, int rank, const int64_t *dims);
/* Normalises axis in [-rank, rank) to [0, rank); fails naming the attribute otherwise. */
onyx_status ox_norm_axis(ox_ctx *c, int64_t axis, int rank, const char *what, int *out);
/* Multidirectional (numpy) broadcast of a and b into out dims (which may alias either); fails
 * on mismatch. */
onyx_status ox_broadcast_shape(ox_ctx *c, int ra, const int64_t *da, int rb, const int64_t *db,
                               int *rank, int64_t *dims);
/* Strides (in elements) to read `t` as if broadcast to (rank, dims): 0 where broadcast. */
void ox_broadcast_strides(const onyx_tensor *t, int rank, const int64_t *dims, int64_t *strides);
/* Reads an integer tensor (int32/int64) element i as int64. */
int64_t ox_read_int(const onyx_tensor *t, int64_t i);
/* Reads a numeric tensor element i as double (any real dtype). */
double ox_read_f64(const onyx_tensor *t, int64_t i);
/* Stores v into element i of a float, double, float16 or bfloat16 tensor, rounded once to
 * its dtype (other dtypes: nothing). */
void ox_write_f64(onyx_tensor *t, int64_t i, double v);
/* n float16 (t FLOAT16) or bfloat16 (else) values widened to float, and back rounded to
 * nearest even: for ops that compute the half types in float. */
void ox_half_to_f32(onyx_dtype t, const uint16_t *src, int64_t n, float *dst);
void ox_f32_to_half(onyx_dtype t, const float *src, int64_t n, uint16_t *dst);
/* Run-time guard of ops that asked for scratch: ONYX_E_INTERNAL unless the planner granted
 * `need` bytes. */
onyx_status ox_check_scratch(ox_ctx *c, size_t need);
/* Requires input i to be present with a dtype among the given list (terminated by 0). */
onyx_status ox_expect_dtype(ox_ctx *c, int i, const onyx_dtype *allowed);
/* The graph's name of the node's input i (implicit inputs included), "" when unknown. */
const char *ox_input_name(const ox_ctx *c, int i);
/* Requires input i's value to be known at plan time (for shape-defining inputs). */
onyx_status ox_need_value(ox_ctx *c, int i);
/* Requires every present input, implicit ones included, to be known (ops that evaluate in
 * infer). */
onyx_status ox_need_all_values(ox_ctx *c);
/* Deep-copies a value (tensor data, sequence items, strings) into pool; ONYX_E_NOMEM (with
 * no message) when the pool cannot grow. */
onyx_status ox_val_copy(ox_pool *pool, const ox_val *src, ox_val *dst);
/* Reads input i, a plan-time-known int32/int64 scalar or 1-D tensor (a shape, axes, starts
 * …), into vals; fails unless it is known, integer, of rank <= 1 and at most cap long. */
onyx_status ox_input_ints(ox_ctx *c, int i, const char *what, int64_t *vals, int cap, int *n);
/* Requires inputs 0..n_in-1 and output 0 to be present (ONYX_E_ARG otherwise). */
onyx_status ox_need_io(ox_ctx *c, int n_in);
/* Input i, or NULL when omitted (also when i is past the node's inputs). */
const onyx_tensor *ox_opt_in(const ox_ctx *c, int i);
/* Element size of t as onyx stores it; ONYX_E_UNSUPPORTED for dtypes without one. */
onyx_status ox_elem_size(ox_ctx *c, onyx_dtype t, size_t *es);
/* ONYX_E_UNSUPPORTED when an output rank would exceed ONYX_MAX_RANK. */
onyx_status ox_check_rank(ox_ctx *c, int64_t rank);
/* Row-major strides, in elements, of a dense tensor of the given shape. */
void ox_dense_strides(int rank, const int64_t *dims, int64_t *strides);
/* memcpy that tolerates n == 0 with NULL pointers (empty tensors) and dst == src (views). */
void ox_copy_bytes(void *dst, const void *src, size_t n);
/* B as a binary op before opset 7 (Add, Pow, And, Equal, Greater, Less …) broadcasts it onto
 * A: attribute broadcast=0 requires equal shapes; broadcast=1 lines B's dims up with A's
 * from attribute `axis` (default: the trailing dims). *view is b reshaped to A's rank with
 * ones elsewhere, ready for numpy-style broadcasting. From opset 7 *view is b itself. */
onyx_status ox_legacy_broadcast(ox_ctx *c, const onyx_tensor *a, const onyx_tensor *b,
                                onyx_tensor *view);

/* Input 0 of a Softmax-like op (Softmax, LogSoftmax, Hardmax) viewed as [outer, n, inner]
 * with the op along n: before opset 13 the input is coerced to 2-D at attribute `axis`
 * (default 1; axis == rank allowed), so n spans every dim from axis on and inner is 1; from
 * opset 13 n is the single dim `axis` (default -1). */
onyx_status ox_softmax_view(ox_ctx *c, int64_t *outer, int64_t *n, int64_t *inner);

/* The operands of a MatMul-like op (MatMul, MatMulInteger, QLinearMatMul) as stacks of
 * matrices: a 1-D a is a 1 x K row, a 1-D b a K x 1 column; the leading (batch) dims
 * broadcast. Fails unless both have rank >= 1, the inner dims agree and the batches broadcast. */
typedef struct ox_matmul_shape {
    int64_t M, N, K;
    int nb;                       /* batch rank of the output */
    int64_t batch[ONYX_MAX_RANK]; /* output batch dims */
    onyx_tensor abatch, bbatch;   /* each operand's own batch dims (for strides) */
    int rank;                     /* the output: the batch dims, M unless a is 1-D, N unless b is */
    int64_t dims[ONYX_MAX_RANK];
} ox_matmul_shape;
onyx_status ox_matmul_shape_of(ox_ctx *c, const onyx_tensor *a, const onyx_tensor *b,
                               ox_matmul_shape *m);

#endif
