/* op_harness.h — runs one op on hand-made tensors, without a model: a node with attributes,
 * an ox_ctx, infer, then run. Lets op tests reach exact edge cases (division by zero, shift
 * counts, NaN) and error paths, and check statuses and messages.
 *
 * A case has up to OC_MAX_IN inputs and OC_MAX_OUT outputs. Inputs are present once set
 * with oc_in (an input never set is an omitted optional one). Outputs go to caller buffers
 * (oc_call, oc_call_n) or to buffers the harness allocates (oc_run, freed by oc_free or the
 * next oc_run). Scratch is allocated as infer asks and freed after run. */
#ifndef ONYX_OP_HARNESS_H
#define ONYX_OP_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

#define OC_MAX_IN 9
#define OC_MAX_OUT 4
#define OC_MAX_ATTR 8
#define OC_MAX_LIST 16 /* values of one list attribute (copied into the case) */

typedef struct op_case {
    ox_node node;
    int node_in[OC_MAX_IN], node_out[OC_MAX_OUT];
    ox_attr attr[OC_MAX_ATTR];
    int64_t ints[OC_MAX_ATTR][OC_MAX_LIST];
    onyx_tensor in[OC_MAX_IN];
    union {
        onyx_tensor out;              /* output 0: the one-output case */
        onyx_tensor outs[OC_MAX_OUT]; /* every output */
    };
    onyx_tensor *in_p[OC_MAX_IN], *out_p[OC_MAX_OUT];
    void *owned[OC_MAX_OUT]; /* outputs allocated by oc_run */
    bool too_many;           /* an attribute did not fit: calls fail */
    char msg[256];
    ox_pool strings;
    int threads;
    int need_value; /* after a call: the input infer asked the value of, else -1 */
} op_case;

/* A node named "n1" of type op with n_in inputs and n_out outputs. */
static inline void oc_init_n(op_case *k, const char *op, int n_in, int n_out)
{
    memset(k, 0, sizeof *k);
    k->node.name = "n1";
    k->node.op_type = op;
    k->node.domain = "";
    k->node.n_in = n_in;
    k->node.n_out = n_out;
    k->node.in = k->node_in;
    k->node.out = k->node_out;
    k->node.attr = k->attr;
    for (int i = 0; i < OC_MAX_IN; i++) k->node_in[i] = -1;
    for (int i = 0; i < n_out && i < OC_MAX_OUT; i++) {
        k->node_out[i] = i;
        k->out_p[i] = &k->outs[i];
    }
    k->threads = 1;
    k->need_value = -1;
    ox_pool_init(&k->strings, ox_allocator_make(NULL, NULL), 0);
}

/* The common case: one output. */
static inline void oc_init(op_case *k, const char *op, int n_in) { oc_init_n(k, op, n_in, 1); }

static inline void oc_free(op_case *k)
{
    for (int i = 0; i < OC_MAX_OUT; i++) {
        free(k->owned[i]);
        k->owned[i] = NULL;
    }
    ox_pool_release(&k->strings);
}

/* Input i: dtype, shape and data (not copied; NULL: a value not known at plan time). */
static inline void oc_in(op_case *k, int i, onyx_dtype t, int rank, const int64_t *dims,
                         const void *data)
{
    onyx_tensor *x = &k->in[i];
    x->dtype = t;
    x->rank = rank;
    for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
    x->data = (void *)data;
    k->node_in[i] = i;
    k->in_p[i] = x;
}

/* Omits input i again. */
static inline void oc_omit(op_case *k, int i)
{
    k->node_in[i] = -1;
    k->in_p[i] = NULL;
}

/* A new attribute slot, or NULL (and the case marked failed) when there is none left. */
static inline ox_attr *oc_attr(op_case *k, const char *name, ox_attr_type type)
{
    if (k->node.n_attr >= OC_MAX_ATTR) {
        k->too_many = true;
        return NULL;
    }
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = type;
    return a;
}

static inline void oc_attr_int(op_case *k, const char *name, int64_t v)
{
    ox_attr *a = oc_attr(k, name, OX_ATTR_INT);
    if (a) a->i = v;
}

static inline void oc_attr_float(op_case *k, const char *name, float v)
{
    ox_attr *a = oc_attr(k, name, OX_ATTR_FLOAT);
    if (a) a->f = v;
}

static inline void oc_attr_str(op_case *k, const char *name, const char *s)
{
    ox_attr *a = oc_attr(k, name, OX_ATTR_STRING);
    if (!a) return;
    a->s = s;
    a->s_len = strlen(s);
}

/* An ints attribute of n values (copied). */
static inline void oc_attr_ints(op_case *k, const char *name, size_t n, const int64_t *v)
{
    const int at = k->node.n_attr;
    ox_attr *a = oc_attr(k, name, OX_ATTR_INTS);
    if (!a) return;
    if (n > OC_MAX_LIST) {
        k->too_many = true;
        n = 0;
    }
    if (n) memcpy(k->ints[at], v, n * sizeof *v);
    a->ints = k->ints[at];
    a->n = n;
}

static inline ox_ctx oc_ctx(op_case *k, int opset)
{
    k->node.opset = opset;
    ox_ctx c = {.node = &k->node, .opset = opset, .n_in = k->node.n_in, .n_out = k->node.n_out,
                .in = k->in_p, .out = k->out_p, .threads = k->threads, .msg = k->msg,
                .msg_cap = sizeof k->msg, .need_value = -1, .strings = &k->strings};
    return c;
}

/* Looks the op up and infers; *op is NULL on failure. */
static inline onyx_status oc_begin(op_case *k, int opset, ox_ctx *c, const ox_op **op)
{
    k->msg[0] = 0;
    k->need_value = -1;
    *op = NULL;
    if (k->too_many) {
        snprintf(k->msg, sizeof k->msg, "test: too many attributes or list values");
        return ONYX_E_INTERNAL;
    }
    const ox_op *found = ox_op_find("", k->node.op_type, opset);
    if (!found) {
        snprintf(k->msg, sizeof k->msg, "no %s at opset %d", k->node.op_type, opset);
        return ONYX_E_UNSUPPORTED;
    }
    for (int i = 0; i < k->node.n_out; i++) k->outs[i].data = NULL; /* as the planner leaves them */
    *c = oc_ctx(k, opset);
    onyx_status st = found->infer(c);
    k->need_value = c->need_value;
    if (!st) *op = found;
    return st;
}

/* True when infer produced output values itself (ops that evaluate in infer, see op.h):
 * then, as in the planner, run is not called. */
static inline bool oc_made_in_infer(const op_case *k)
{
    for (int i = 0; i < k->node.n_out; i++)
        if (k->out_p[i] && k->outs[i].data) return true;
    return false;
}

/* Runs op with the scratch infer asked for. */
static inline onyx_status oc_finish(const ox_op *op, ox_ctx *c)
{
    c->scratch = c->scratch_bytes ? malloc(c->scratch_bytes) : NULL;
    onyx_status st = op->run(c);
    free(c->scratch);
    return st;
}

/* Infers only (e.g. to see which input value it needs). */
static inline onyx_status oc_infer(op_case *k, int opset)
{
    ox_ctx c;
    const ox_op *op;
    return oc_begin(k, opset, &c, &op);
}

/* Infers, then runs with output i in out[i] (cap bytes each). Returns the first failure. */
static inline onyx_status oc_call_n(op_case *k, int opset, void *const *out, size_t cap)
{
    ox_ctx c;
    const ox_op *op;
    onyx_status st = oc_begin(k, opset, &c, &op);
    if (st) return st;
    for (int i = 0; i < k->node.n_out && oc_made_in_infer(k); i++)
        if (k->out_p[i] && out[i] && k->outs[i].data) memcpy(out[i], k->outs[i].data, ox_tensor_bytes(&k->outs[i]));
    if (oc_made_in_infer(k)) return ONYX_OK;
    for (int i = 0; i < k->node.n_out; i++) {
        if (!k->out_p[i]) continue;
        if (ox_tensor_bytes(&k->outs[i]) > cap) {
            snprintf(k->msg, sizeof k->msg, "test buffer too small");
            return ONYX_E_INTERNAL;
        }
        k->outs[i].data = out[i];
    }
    return oc_finish(op, &c);
}

/* Infers, then runs into out (cap bytes): the one-output case. */
static inline onyx_status oc_call(op_case *k, int opset, void *out, size_t cap)
{
    void *outs[OC_MAX_OUT] = {out};
    return oc_call_n(k, opset, outs, cap);
}

/* Infers, then runs into zeroed outputs the harness allocates (k->outs[i].data). */
static inline onyx_status oc_run(op_case *k, int opset)
{
    ox_ctx c;
    const ox_op *op;
    onyx_status st = oc_begin(k, opset, &c, &op);
    if (st || oc_made_in_infer(k)) return st;
    for (int i = 0; i < k->node.n_out; i++) {
        free(k->owned[i]);
        k->owned[i] = NULL;
        size_t bytes;
        if (!k->out_p[i]) continue;
        if (!ox_shape_bytes(k->outs[i].dtype, k->outs[i].rank, k->outs[i].dims, &bytes)) {
            snprintf(k->msg, sizeof k->msg, "test: output %d too large", i);
            return ONYX_E_SHAPE;
        }
        k->outs[i].data = k->owned[i] = calloc(1, bytes + 1);
    }
    return oc_finish(op, &c);
}

/* True if the message names the node and contains `part`. */
static inline bool oc_msg_has(const op_case *k, const char *part)
{
    return strstr(k->msg, "node 'n1'") && strstr(k->msg, part);
}

#endif
