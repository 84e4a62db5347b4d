/* ir.h — the graph IR: plain structs, everything allocated from the model's pool.
 *
 * A graph is a list of values (every named tensor: inputs, initializers, intermediates,
 * outputs) and a list of nodes referring to values by index. Nodes are kept in topological
 * order once ox_graph_sort has run. */
#ifndef ONYX_IR_H
#define ONYX_IR_H

#include "internal.h"

typedef struct ox_graph ox_graph;
typedef struct ox_op ox_op;

typedef enum ox_attr_type {
    OX_ATTR_UNDEFINED = 0,
    OX_ATTR_FLOAT = 1,
    OX_ATTR_INT = 2,
    OX_ATTR_STRING = 3,
    OX_ATTR_TENSOR = 4,
    OX_ATTR_GRAPH = 5,
    OX_ATTR_FLOATS = 6,
    OX_ATTR_INTS = 7,
    OX_ATTR_STRINGS = 8,
    OX_ATTR_TENSORS = 9,
    OX_ATTR_GRAPHS = 10,
    OX_ATTR_SPARSE_TENSOR = 11,
    OX_ATTR_SPARSE_TENSORS = 12,
    OX_ATTR_TYPE_PROTO = 13,
    OX_ATTR_TYPE_PROTOS = 14
} ox_attr_type;

/* Kind of a value's type: most are tensors; containers come from sequence/optional ops. */
typedef enum ox_value_kind {
    OX_KIND_TENSOR = 0,
    OX_KIND_SEQUENCE,
    OX_KIND_OPTIONAL,
    OX_KIND_MAP,
    OX_KIND_SPARSE
} ox_value_kind;

/* A constant tensor (initializer or tensor attribute). Data is OX_ALIGN-aligned in the pool;
 * sub-byte types (int4, uint4 …) are unpacked to one element per byte. */
typedef struct ox_const {
    onyx_tensor t;
    size_t nbytes;
} ox_const;

/* Declared type of a value: element type and shape (with symbolic dims). For containers,
 * `kind` says which and dtype/shape describe the innermost tensor when known. */
typedef struct ox_type {
    ox_value_kind kind;
    onyx_dtype dtype;
    int rank;                               /* -1: unknown */
    int64_t dims[ONYX_MAX_RANK];            /* -1: unknown */
    const char *dim_names[ONYX_MAX_RANK];   /* symbolic names or NULL */
    ox_value_kind elem_kind;                /* for sequence/optional: the element's kind */
} ox_type;

typedef struct ox_attr {
    const char *name;
    ox_attr_type type;
    float f;
    int64_t i;
    const char *s; /* STRING: bytes + NUL */
    size_t s_len;
    ox_const *t;   /* TENSOR / SPARSE_TENSOR (densified) */
    ox_graph *g;   /* GRAPH */
    ox_type *tp;   /* TYPE_PROTO */
    size_t n;      /* count for the list forms */
    float *floats;
    int64_t *ints;
    const char **strings;
    size_t *string_lens;
    ox_const **tensors;
    ox_graph **graphs;
    ox_type *type_protos;
} ox_attr;

typedef struct ox_value {
    const char *name;
    ox_type type;     /* declared (value_info) or inferred at load */
    ox_const *init;   /* initializer data, or NULL */
    int producer;     /* index of the producing node, -1 for inputs/initializers/outer values */
    int outer;        /* subgraphs: index of the value in the parent graph, -1 if local */
    bool is_input;
    bool is_output;
} ox_value;

typedef struct ox_node {
    const char *name;    /* never NULL; "" when the model gave none */
    const char *op_type;
    const char *domain;  /* "" for ai.onnx */
    int opset;           /* the model's opset for that domain */
    const ox_op *op;     /* resolved implementation, NULL if unsupported */
    int n_in, n_out;
    int n_implicit;      /* nodes with subgraphs: outer values the bodies read, kept after the
                          * declared inputs in `in` so ordering and liveness see them */
    int *in;             /* value indices; -1 for an omitted optional input */
    int *out;            /* value indices; -1 for an omitted optional output */
    int n_attr;
    ox_attr *attr;
} ox_node;

typedef struct ox_opset {
    const char *domain;
    int64_t version;
} ox_opset;

struct ox_graph {
    const char *name;
    ox_value *values;
    int n_values, cap_values;
    ox_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;  /* graph inputs that are not initializers, declaration order */
    int n_inputs;
    int *outputs;
    int n_outputs;
    ox_graph *parent; /* enclosing graph for If/Loop/Scan bodies */
    int depth;        /* 0 for the main graph */
    /* name -> value index, open addressing */
    int *hash;
    int hash_cap;
    ox_pool *pool;
};

/* Creates an empty graph in pool. */
ox_graph *ox_graph_new(ox_pool *pool, ox_graph *parent);
/* A copy of g in pool that can be rewired without touching g: its own values, name hash,
 * nodes (with their input/output index arrays), inputs and outputs. Attributes, subgraphs,
 * constants and strings are shared with g, so the copy lives no longer than g's pool. NULL
 * when out of memory. */
ox_graph *ox_graph_clone(const ox_graph *g, ox_pool *pool);
/* Index of the value named `name` in g (not parents), or -1. */
int ox_graph_find(const ox_graph *g, const char *name);
/* Finds or creates the value `name`; -1 on allocation failure. */
int ox_graph_value(ox_graph *g, const char *name);
/* Appends a node with room for n_in inputs, n_out outputs and n_attr attributes. */
ox_node *ox_graph_add_node(ox_graph *g, int n_in, int n_out, int n_attr);
/* Topologically sorts g->nodes (stable: keeps file order where it is valid) and sets each
 * value's producer. Fails with ONYX_E_ARG on a cycle or a value produced twice. */
onyx_status ox_graph_sort(ox_graph *g, char *err, size_t errcap);

/* A node with subgraphs reads, besides its declared inputs, every outer value its bodies use
 * (ONNX's implicit inputs): they are appended to its inputs (n_implicit) so that ordering,
 * liveness and the planner's knowledge of values treat them like any other input. False
 * when out of memory. */
bool ox_node_add_implicit_inputs(ox_graph *g, ox_node *n);
const ox_attr *ox_node_attr(const ox_node *n, const char *name);
/* Declared plus implicit inputs. */
static inline int ox_node_inputs(const ox_node *n) { return n->n_in + n->n_implicit; }

#endif
