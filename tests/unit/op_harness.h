/* op_harness.h — runs one op on hand-made tensors, without a model: a node with attributes,
 * an ox_ctx, infer, then run into a caller buffer. Lets op tests reach exact edge cases
 * (division by zero, shift counts, NaN) and error paths, and check statuses and messages. */
#ifndef ONYX_OP_HARNESS_H
#define ONYX_OP_HARNESS_H

#include <stdio.h>
#include <string.h>

#include "op.h"

#define OC_MAX_IN 4

typedef struct op_case {
    ox_node node;
    int node_in[OC_MAX_IN], node_out[1];
    ox_attr attr[4];
    onyx_tensor in[OC_MAX_IN], out;
    onyx_tensor *in_p[OC_MAX_IN], *out_p[1];
    char msg[256];
    ox_pool strings;
    int threads;
} op_case;

/* A node named "n1" of type op with n_in inputs (set them with oc_in). */
static inline void oc_init(op_case *k, const char *op, int n_in)
{
    memset(k, 0, sizeof *k);
    k->node.name = "n1";
    k->node.op_type = op;
    k->node.domain = "";
    k->node.n_in = n_in;
    k->node.n_out = 1;
    k->node.in = k->node_in;
    k->node.out = k->node_out;
    k->node.attr = k->attr;
    for (int i = 0; i < OC_MAX_IN; i++) {
        k->node_in[i] = i;
        k->in_p[i] = &k->in[i];
    }
    k->out_p[0] = &k->out;
    k->threads = 1;
    ox_pool_init(&k->strings, ox_allocator_make(NULL, NULL), 0);
}

static inline void oc_free(op_case *k) { ox_pool_release(&k->strings); }

/* Input i: dtype, shape and data (not copied). */
static inline void oc_in(op_case *k, int i, onyx_dtype t, int rank, const int64_t *dims,
                         const void *data)
{
    onyx_tensor *x = &k->in[i];
    x->dtype = t;
    x->rank = rank;
    for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
    x->data = (void *)data;
}

static inline void oc_attr_int(op_case *k, const char *name, int64_t v)
{
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_INT;
    a->i = v;
}

static inline void oc_attr_str(op_case *k, const char *name, const char *s)
{
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_STRING;
    a->s = s;
    a->s_len = strlen(s);
}

/* Infers, then runs into out (cap bytes) at the given opset. Returns the first failure. */
static inline onyx_status oc_call(op_case *k, int opset, void *out, size_t cap)
{
    const ox_op *op = ox_op_find("", k->node.op_type, opset);
    if (!op) {
        snprintf(k->msg, sizeof k->msg, "no %s at opset %d", k->node.op_type, opset);
        return ONYX_E_UNSUPPORTED;
    }
    k->node.opset = opset;
    ox_ctx c = {.node = &k->node, .opset = opset, .n_in = k->node.n_in, .n_out = 1,
                .in = k->in_p, .out = k->out_p, .threads = k->threads, .msg = k->msg,
                .msg_cap = sizeof k->msg, .need_value = -1, .strings = &k->strings};
    k->msg[0] = 0;
    onyx_status st = op->infer(&c);
    if (st) return st;
    if (ox_tensor_bytes(&k->out) > cap) {
        snprintf(k->msg, sizeof k->msg, "test buffer too small");
        return ONYX_E_INTERNAL;
    }
    k->out.data = out;
    return op->run(&c);
}

/* True if the message names the node and contains `part`. */
static inline bool oc_msg_has(const op_case *k, const char *part)
{
    return strstr(k->msg, "node 'n1'") && strstr(k->msg, part);
}

#endif
