/* onyx.h — the one public header of the onyx ONNX inference runtime.
 *
 * Conventions: every symbol is prefixed onyx_/ONYX_; handles are opaque; every call that can
 * fail returns an onyx_status and leaves a message (naming node, op and input where there is
 * one) in the handle (onyx_session_error) or in a caller-owned onyx_error for creation calls.
 * The library never aborts, exits or prints and keeps no global mutable state. */
#ifndef ONYX_H
#define ONYX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONYX_VERSION "0.1.0"
#define ONYX_MAX_RANK 8

typedef enum onyx_status {
    ONYX_OK = 0,
    ONYX_E_ARG,         /* bad argument or attribute */
    ONYX_E_PARSE,       /* malformed or truncated file */
    ONYX_E_UNSUPPORTED, /* op, domain, opset or dtype not implemented */
    ONYX_E_SHAPE,       /* shapes or dtypes that do not fit */
    ONYX_E_NOMEM,       /* allocation failed */
    ONYX_E_IO,          /* file could not be read or written */
    ONYX_E_LIMIT,       /* a configured limit (tensor bytes, nodes, depth) was exceeded */
    ONYX_E_DEVICE,      /* device not available */
    ONYX_E_INTERNAL     /* a bug in onyx */
} onyx_status;

/* Element types; the numbers are ONNX's TensorProto.DataType values. */
typedef enum onyx_dtype {
    ONYX_DTYPE_UNDEFINED = 0,
    ONYX_DTYPE_FLOAT = 1,
    ONYX_DTYPE_UINT8 = 2,
    ONYX_DTYPE_INT8 = 3,
    ONYX_DTYPE_UINT16 = 4,
    ONYX_DTYPE_INT16 = 5,
    ONYX_DTYPE_INT32 = 6,
    ONYX_DTYPE_INT64 = 7,
    ONYX_DTYPE_STRING = 8, /* elements are `char *`, NUL-terminated */
    ONYX_DTYPE_BOOL = 9,
    ONYX_DTYPE_FLOAT16 = 10,
    ONYX_DTYPE_DOUBLE = 11,
    ONYX_DTYPE_UINT32 = 12,
    ONYX_DTYPE_UINT64 = 13,
    ONYX_DTYPE_COMPLEX64 = 14,
    ONYX_DTYPE_COMPLEX128 = 15,
    ONYX_DTYPE_BFLOAT16 = 16,
    ONYX_DTYPE_FLOAT8E4M3FN = 17,
    ONYX_DTYPE_FLOAT8E4M3FNUZ = 18,
    ONYX_DTYPE_FLOAT8E5M2 = 19,
    ONYX_DTYPE_FLOAT8E5M2FNUZ = 20,
    ONYX_DTYPE_UINT4 = 21, /* stored one element per byte in onyx tensors */
    ONYX_DTYPE_INT4 = 22,  /* stored one element per byte in onyx tensors */
    ONYX_DTYPE_FLOAT4E2M1 = 23,
    ONYX_DTYPE_FLOAT8E8M0 = 24,
    ONYX_DTYPE_UINT2 = 25,
    ONYX_DTYPE_INT2 = 26,
    ONYX_DTYPE_COUNT_
} onyx_dtype;

/* A dense tensor as the API exchanges it. `data` is row-major, elements of `dtype`. */
typedef struct onyx_tensor {
    onyx_dtype dtype;
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    void *data;
} onyx_tensor;

/* Caller-supplied allocator, as Lua's lua_Alloc: nsize == 0 frees ptr and returns NULL;
 * otherwise (re)allocates ptr from osize to nsize bytes (ptr may be NULL). Returned memory
 * must be aligned for any C type; onyx aligns tensor data itself. */
typedef void *(*onyx_alloc_fn)(void *user, void *ptr, size_t osize, size_t nsize);

/* Where creation calls put their message on failure. */
typedef struct onyx_error {
    onyx_status status;
    char message[512];
} onyx_error;

typedef struct onyx_load_options {
    onyx_alloc_fn alloc;          /* NULL: malloc/realloc/free */
    void *alloc_user;
    int64_t max_tensor_bytes;     /* 0: default (4 GiB) */
    int64_t max_total_bytes;      /* 0: default (16 GiB) */
    int64_t max_nodes;            /* 0: default (1,000,000) */
    int max_graph_depth;          /* 0: default (64) nested subgraphs */
    int allow_unsupported;        /* load even if ops are missing (for `onyx info`); sessions then refuse */
} onyx_load_options;

typedef struct onyx_session_options {
    int threads;                  /* 0: all cores */
    int opt_level;                /* 0 none, 1 basic, 2 all (default when the options are NULL) */
    int deterministic;            /* results bit-identical whatever the thread count and run. Every
                                   * kernel in this build already is (docs/SAFETY.md), so it changes
                                   * nothing today; a future fast path that is not will be off when
                                   * it is set. */
    const char *device;           /* NULL or "cpu" */
    void *arena;                  /* caller-owned arena (embedded); NULL: onyx allocates */
    size_t arena_bytes;
    onyx_alloc_fn alloc;          /* NULL: the model's allocator */
    void *alloc_user;
    int weights_in_place;         /* never copy weights into session memory: Gemm/MatMul read
                                   * constant B where it is instead of a prepacked copy (less
                                   * memory, somewhat slower products). Always on in the core
                                   * library (firmware: weights stay in flash); `onyx pack` sets
                                   * it when measuring the arena, so the figure is the core's. */
} onyx_session_options;

typedef struct onyx_model onyx_model;     /* immutable graph + weights; shareable across threads */
typedef struct onyx_session onyx_session; /* planned executable instance; owns its arena */

/* Information about one graph input or output. Dims are -1 where unknown; `dim_names[i]`
 * names a symbolic dim (NULL otherwise). Pointers stay valid while the model lives. */
typedef enum onyx_value_kind {
    ONYX_VALUE_TENSOR = 0,
    ONYX_VALUE_SEQUENCE,
    ONYX_VALUE_OPTIONAL,
    ONYX_VALUE_OTHER /* maps, sparse tensors: not supported as graph inputs/outputs */
} onyx_value_kind;

typedef struct onyx_value_info {
    const char *name;
    onyx_dtype dtype; /* the tensor's, or a container's elements' */
    int rank; /* -1: unknown rank */
    int64_t dims[ONYX_MAX_RANK];
    const char *dim_names[ONYX_MAX_RANK];
    int is_tensor; /* 0 for sequence/map/optional types */
    onyx_value_kind kind;
    onyx_value_kind elem_kind; /* OPTIONAL: what it holds */
} onyx_value_info;

/* A graph input or output of any kind: a tensor, a sequence of tensors, or an optional. */
typedef struct onyx_value {
    onyx_value_kind kind;
    onyx_value_kind elem_kind; /* OPTIONAL: TENSOR or SEQUENCE */
    int has_value;             /* OPTIONAL: 0 when empty */
    onyx_tensor tensor;        /* TENSOR, or OPTIONAL holding a tensor */
    onyx_dtype seq_dtype;      /* SEQUENCE: element type */
    size_t n_items;            /* SEQUENCE (or OPTIONAL holding one): its tensors */
    onyx_tensor *items;
} onyx_value;

const char *onyx_version(void);
const char *onyx_status_string(onyx_status st);
const char *onyx_dtype_name(onyx_dtype t);
size_t onyx_dtype_size(onyx_dtype t); /* bytes per element as onyx stores it; 0 if unknown */

void onyx_load_options_init(onyx_load_options *o);
void onyx_session_options_init(onyx_session_options *o);

onyx_status onyx_model_load_file(const char *path, const onyx_load_options *o, onyx_model **out,
                                 onyx_error *err);
onyx_status onyx_model_load_memory(const void *buf, size_t len, const onyx_load_options *o,
                                   onyx_model **out, onyx_error *err);
void onyx_model_free(onyx_model *m);

size_t onyx_model_input_count(const onyx_model *m);
size_t onyx_model_output_count(const onyx_model *m);
onyx_status onyx_model_input_info(const onyx_model *m, size_t i, onyx_value_info *info);
onyx_status onyx_model_output_info(const onyx_model *m, size_t i, onyx_value_info *info);

onyx_status onyx_session_create(const onyx_model *m, const onyx_session_options *o,
                                onyx_session **out, onyx_error *err);
void onyx_session_free(onyx_session *s);

/* Runs the graph. `in` are the graph inputs in declaration order. On success `out[i]` are the
 * graph outputs in declaration order; their data points into session memory and stays valid
 * until the next run or onyx_session_free. After the first run at given input shapes, run
 * allocates nothing. */
onyx_status onyx_session_run(onyx_session *s, const onyx_tensor *in, size_t n_in, onyx_tensor *out,
                             size_t n_out);
/* The same for graphs with sequence or optional inputs/outputs. Output containers point into
 * session memory until the next run. */
onyx_status onyx_session_run_values(onyx_session *s, const onyx_value *in, size_t n_in, onyx_value *out,
                                    size_t n_out);
size_t onyx_session_arena_bytes(const onyx_session *s);
const char *onyx_session_error(const onyx_session *s);

/* ---- model introspection (for tools such as `onyx info`) ------------------------------- */

typedef struct onyx_model_meta {
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    const char *domain;
    int64_t model_version;
    size_t opset_count;
    size_t node_count;          /* main graph, after function inlining */
    size_t session_node_count;  /* nodes a session at opt_level 2 runs once onyx_model_optimize
                                 * made its graph (session-only fusions applied); else 0 */
    size_t unsupported_count;   /* nodes without an implementation (allow_unsupported loads) */
    int64_t param_count;        /* elements in initializers */
    int64_t param_bytes;
} onyx_model_meta;

void onyx_model_get_meta(const onyx_model *m, onyx_model_meta *meta);
/* The i-th opset import: domain ("" = ai.onnx) and version. */
onyx_status onyx_model_opset(const onyx_model *m, size_t i, const char **domain, int64_t *version);
/* The i-th node of the main graph: op type, domain, opset and whether onyx implements it. */
onyx_status onyx_model_node(const onyx_model *m, size_t i, const char **op_type, const char **domain,
                            int64_t *opset, int *supported);

/* ---- optimising and saving models ------------------------------------------------------- */

/* Optimises m's main graph in place at `level`, as a session does on its own copy with
 * onyx_session_options.opt_level (1: clean-up: dead nodes, Identity, inference-mode Dropout,
 * no-op Casts, constant folding, Reshape/Transpose/Slice elimination, CSE; 2: also folds
 * (BatchNormalization, Mul/Add/Pad into Conv and Gemm, Transpose into Gemm) and fusions into
 * standard ops (MatMul + bias into Gemm, LayerNormalization, Gelu, RMSNormalization,
 * Attention where the model's opset has them)). Results are unchanged up to float rounding.
 * Bodies of If/Loop/Scan are left as they are. Introspection (onyx_model_get_meta,
 * onyx_model_node) and onyx_model_save_file then see the optimised graph; sessions created
 * before keep the graph they had.
 *
 * At level 2 it also makes, once, the graph that sessions at opt_level 2 run: the written
 * graph plus the session-only fusions (activations, residual Adds and bias rows into the
 * Conv/Gemm/MatMul before them; LayerNorm, GELU, RMSNorm and attention below the opsets that
 * have those ops), whose nodes are not ONNX. Sessions created afterwards with an opt_level
 * up to `level` share that graph instead of optimising a copy each. Not safe while another
 * thread uses m. Level <= 0 does nothing. */
onyx_status onyx_model_optimize(onyx_model *m, int level, onyx_error *err);
/* Optimisation pass i (0, 1, … until ONYX_E_ARG): its name and how many rewrites it made in
 * the onyx_model_optimize calls on m (a removed node, a folded BatchNormalization …). */
onyx_status onyx_model_opt_pass(const onyx_model *m, size_t i, const char **name, int64_t *count);
/* Whether pass i runs only in sessions (*session_only 1: its nodes are not ONNX and are
 * never written) or is part of the written graph (0). */
onyx_status onyx_model_opt_pass_scope(const onyx_model *m, size_t i, int *session_only);
/* Writes m as an ONNX model file: opsets, graph inputs and outputs with their types,
 * initializers (raw data), nodes with every attribute, subgraphs, value_info where types
 * are known. Doc strings and metadata are not kept; model-local functions are written as
 * the nodes they were inlined into. Files over 2 GiB (external data) are ONYX_E_LIMIT. */
onyx_status onyx_model_save_file(const onyx_model *m, const char *path, onyx_error *err);

/* The operators this build implements (the op resolver's table), for docs and tools. Each
 * row covers model opsets [min_opset, max_opset] of its domain ("" = ai.onnx). */
size_t onyx_op_count(void);
onyx_status onyx_op_info(size_t i, const char **name, const char **domain, int *min_opset, int *max_opset);

/* ---- tensor files -----------------------------------------------------------------------
 * .npy (NumPy format 1.0-3.0, C order) and .pb (a serialized ONNX TensorProto). The tensor's
 * data is one block from the options' allocator (NULL options: malloc), released with
 * onyx_tensor_free using the same options. Limits in the options bound what a file may
 * claim. String tensors (.pb only) hold `char *` into the same block. */
onyx_status onyx_tensor_read_npy(const char *path, const onyx_load_options *o, onyx_tensor *out,
                                 onyx_error *err);
onyx_status onyx_tensor_write_npy(const char *path, const onyx_tensor *t, onyx_error *err);
/* name_out (optional) receives the TensorProto's name, owned by the tensor's block. */
onyx_status onyx_tensor_read_pb(const char *path, const onyx_load_options *o, onyx_tensor *out,
                                const char **name_out, onyx_error *err);
onyx_status onyx_tensor_write_pb(const char *path, const onyx_tensor *t, const char *name,
                                 onyx_error *err);
/* A .pb file holding a TensorProto, SequenceProto or OptionalProto, read as `kind` (the
 * graph input's kind: the file does not say). Free with onyx_value_free. */
onyx_status onyx_value_read_pb(const char *path, const onyx_load_options *o, onyx_value_kind kind, onyx_value *out,
                               onyx_error *err);
void onyx_value_free(onyx_value *v, const onyx_load_options *o);
/* Allocates data for t's dtype and shape (zeroed), as the readers do. */
onyx_status onyx_tensor_alloc(onyx_tensor *t, const onyx_load_options *o, onyx_error *err);
void onyx_tensor_free(onyx_tensor *t, const onyx_load_options *o);

/* ---- packed models and fixed arenas (embedded; docs/PACKED_FORMAT.md, docs/EMBEDDED.md) --
 * A packed model (`onyx pack`) holds the graph and the weights, aligned, in one buffer that
 * needs no parsing library. onyx_model_load_packed uses it in place: weights and names point
 * into `data`, which the caller keeps alive and unchanged until onyx_model_free (flash, a
 * const array, an mmap). Weights are used without copying when `data` is 64-byte aligned
 * (as `onyx pack --c-array` declares it); otherwise they are copied into the model.
 * onyx_model_load_file and onyx_model_load_memory also accept packed files (by their magic),
 * keeping their own copy. Every offset, size, count, string and index is checked: hostile
 * bytes give ONYX_E_PARSE with a message, never an out-of-bounds read. */
onyx_status onyx_model_load_packed(const void *data, size_t size, const onyx_load_options *o, onyx_model **out,
                                   onyx_error *err);
/* Writes m's main graph (as optimised, with its bodies) and weights in the packed format into
 * buf (cap bytes); *size receives the packed size. With buf NULL or cap too small nothing is
 * written and only *size is set (ONYX_E_LIMIT when buf was given). `arena_bytes` is recorded
 * in the header as the arena the model needs (0: unknown). */
onyx_status onyx_model_pack(const onyx_model *m, uint64_t arena_bytes, void *buf, size_t cap, size_t *size,
                            onyx_error *err);
/* The distinct ops m uses in all its graphs (bodies included), one per (domain, op type),
 * with the op family implementing each (NULL if none): fills up to cap entries of out (may
 * be NULL) and returns how many there are (0 also when out of memory). For `onyx pack
 * --ops-header` (firmware op selection). */
typedef struct onyx_op_use {
    const char *op_type;
    const char *domain; /* "" = ai.onnx */
    const char *family; /* ops/<family>.c, or NULL when not implemented */
} onyx_op_use;
size_t onyx_model_ops_used(const onyx_model *m, onyx_op_use *out, size_t cap);
/* The arena size recorded in a packed model's header (0 for ONNX files or when unknown). */
uint64_t onyx_model_packed_arena_bytes(const onyx_model *m);

/* A bump allocator over a caller's buffer, for builds without malloc:
 *     static uint8_t arena[N]; onyx_arena ar; onyx_arena_init(&ar, arena, sizeof arena);
 *     opts.alloc = onyx_arena_alloc; opts.alloc_user = &ar;
 * Freeing the most recent block gives its bytes back; other frees are no-ops (the memory
 * returns when the arena is re-initialised). `peak` is the most bytes ever in use: the N a
 * model needs (what `onyx pack` measures and prints). */
typedef struct onyx_arena {
    unsigned char *base;
    size_t size;
    size_t used;
    size_t peak;
} onyx_arena;
void onyx_arena_init(onyx_arena *a, void *buf, size_t size);
void *onyx_arena_alloc(void *user, void *ptr, size_t osize, size_t nsize); /* an onyx_alloc_fn */

#ifdef __cplusplus
}
#endif
#endif
