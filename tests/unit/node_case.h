/* node_case.h — runs one op of any domain on hand-made tensors: a node with attributes of
 * every list form (ints, floats, strings, tensors), several outputs, scratch, and a string
 * pool. Infer, then outputs and scratch are allocated as asked, then run. Used by the tests
 * of the strings, ml and image families. */
#ifndef ONYX_NODE_CASE_H
#define ONYX_NODE_CASE_H

#include <stdlib.h>
#include <string.h>

#include "op.h"

#define NC_MAX_IO 4
#define NC_MAX_ATTR 16

typedef struct node_case {
    ox_node node;
    ox_attr attr[NC_MAX_ATTR];
    ox_const consts[NC_MAX_ATTR];
    int node_in[NC_MAX_IO], node_out[NC_MAX_IO]; /* value indices 0.. (messages read them) */
    onyx_tensor in[NC_MAX_IO], out[NC_MAX_IO];
    onyx_tensor *in_p[NC_MAX_IO], *out_p[NC_MAX_IO];
    char msg[256];
    ox_ctx c;
    ox_pool strings;
    void *scratch;
} node_case;

/* A node named "n1" of type op in domain ("" for ai.onnx) at opset. */
static inline void nc_init(node_case *k, const char *domain, const char *op, int opset, int n_in, int n_out)
{
    memset(k, 0, sizeof *k);
    k->node.name = "n1";
    k->node.op_type = op;
    k->node.domain = domain;
    k->node.opset = opset;
    k->node.n_in = n_in;
    k->node.n_out = n_out;
    k->node.attr = k->attr;
    k->node.in = k->node_in;
    k->node.out = k->node_out;
    for (int i = 0; i < NC_MAX_IO; i++) {
        k->node_in[i] = k->node_out[i] = i;
        k->in_p[i] = i < n_in ? &k->in[i] : NULL;
        k->out_p[i] = i < n_out ? &k->out[i] : NULL;
    }
    ox_pool_init(&k->strings, ox_allocator_make(NULL, NULL), 0);
    k->c = (ox_ctx){.node = &k->node, .opset = opset, .n_in = n_in, .n_out = n_out, .in = k->in_p,
                    .out = k->out_p, .threads = 1, .msg = k->msg, .msg_cap = sizeof k->msg,
                    .need_value = -1, .strings = &k->strings};
}

static inline void nc_free(node_case *k)
{
    for (int i = 0; i < k->node.n_out; i++) free(k->out[i].data);
    free(k->scratch);
    ox_pool_release(&k->strings);
}

/* Input i: dtype, shape and data (not copied; NULL: value unknown at plan time). */
static inline void nc_in(node_case *k, int i, onyx_dtype t, int rank, const int64_t *dims, const void *data)
{
    onyx_tensor *x = &k->in[i];
    x->dtype = t;
    x->rank = rank;
    for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
    x->data = (void *)data;
}

static inline ox_attr *nc_attr(node_case *k, const char *name, ox_attr_type t)
{
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = t;
    return a;
}

static inline void nc_int(node_case *k, const char *name, int64_t v) { nc_attr(k, name, OX_ATTR_INT)->i = v; }
static inline void nc_float(node_case *k, const char *name, float v) { nc_attr(k, name, OX_ATTR_FLOAT)->f = v; }

static inline void nc_str(node_case *k, const char *name, const char *s)
{
    ox_attr *a = nc_attr(k, name, OX_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

/* List attributes point at the caller's arrays (static in the tests). */
static inline void nc_ints(node_case *k, const char *name, size_t n, const int64_t *v)
{
    ox_attr *a = nc_attr(k, name, OX_ATTR_INTS);
    a->n = n;
    a->ints = (int64_t *)v;
}

static inline void nc_floats(node_case *k, const char *name, size_t n, const float *v)
{
    ox_attr *a = nc_attr(k, name, OX_ATTR_FLOATS);
    a->n = n;
    a->floats = (float *)v;
}

static inline void nc_strs(node_case *k, const char *name, size_t n, const char *const *v)
{
    ox_attr *a = nc_attr(k, name, OX_ATTR_STRINGS);
    a->n = n;
    a->strings = (const char **)v;
}

/* A 1-D tensor attribute of n elements of dtype t. */
static inline void nc_tensor(node_case *k, const char *name, onyx_dtype t, int64_t n, const void *data)
{
    ox_const *cst = &k->consts[k->node.n_attr];
    ox_attr *a = nc_attr(k, name, OX_ATTR_TENSOR);
    cst->t.dtype = t;
    cst->t.rank = 1;
    cst->t.dims[0] = n;
    cst->t.data = (void *)data;
    cst->nbytes = (size_t)n * onyx_dtype_size(t);
    a->t = cst;
}

/* Infers; on success allocates the outputs and the scratch asked for, and runs. */
static inline onyx_status nc_call(node_case *k)
{
    const ox_op *op = ox_op_find(k->node.domain, k->node.op_type, k->c.opset);
    if (!op) return ONYX_E_UNSUPPORTED;
    k->msg[0] = 0;
    onyx_status st = op->infer(&k->c);
    if (st) return st;
    for (int i = 0; i < k->node.n_out; i++) {
        size_t n = ox_tensor_bytes(&k->out[i]);
        k->out[i].data = calloc(1, n ? n : 1);
    }
    if (k->c.scratch_bytes) k->scratch = calloc(1, k->c.scratch_bytes);
    k->c.scratch = k->scratch;
    return op->run(&k->c);
}

/* True if the message names the node and contains part. */
static inline bool nc_msg_has(const node_case *k, const char *part)
{
    return strstr(k->msg, "node 'n1'") && strstr(k->msg, part);
}

/* Output i's string element j. */
static inline const char *nc_str_out(const node_case *k, int i, int64_t j)
{
    return ((char *const *)k->out[i].data)[j];
}

#endif
