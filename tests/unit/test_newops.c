/* test_newops.c — the newops family (BitCast, CausalConvWithState, LinearAttention,
 * FlexAttention): exact results on hand-checkable cases (sub-byte and bool reinterpretation,
 * carried convolution state, one-step recurrences) and error paths that must fail with the
 * right status and a message naming the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op.h"

/* ---- a one-node harness with scratch, several outputs and a domain ----------------------- */

#define MAX_IO 6

typedef struct harness {
    ox_node node;
    ox_attr attrs[6];
    onyx_tensor in[MAX_IO], out[MAX_IO];
    onyx_tensor *in_ptrs[MAX_IO], *out_ptrs[MAX_IO];
    char msg[256];
    ox_ctx c;
    ox_pool strings;
    void *scratch;
} harness;

static void h_init(harness *h, const char *op, const char *domain, int opset, int n_in, int n_out)
{
    memset(h, 0, sizeof *h);
    h->node.name = "n1";
    h->node.op_type = op;
    h->node.domain = domain;
    h->node.opset = opset;
    h->node.n_in = n_in;
    h->node.n_out = n_out;
    h->node.attr = h->attrs;
    for (int i = 0; i < MAX_IO; i++) {
        h->in_ptrs[i] = i < n_in ? &h->in[i] : NULL;
        h->out_ptrs[i] = i < n_out ? &h->out[i] : NULL;
    }
    ox_pool_init(&h->strings, ox_allocator_make(NULL, NULL), 0);
    h->c = (ox_ctx){.node = &h->node,
                    .opset = opset,
                    .n_in = n_in,
                    .n_out = n_out,
                    .in = h->in_ptrs,
                    .out = h->out_ptrs,
                    .threads = 1,
                    .msg = h->msg,
                    .msg_cap = sizeof h->msg,
                    .need_value = -1,
                    .strings = &h->strings};
}

static void h_free(harness *h)
{
    for (int i = 0; i < h->node.n_out; i++) free(h->out[i].data);
    free(h->scratch);
    ox_pool_release(&h->strings);
}

static void h_in(harness *h, int i, onyx_dtype t, int rank, const int64_t *dims, const void *data)
{
    h->in[i].dtype = t;
    h->in[i].rank = rank;
    for (int d = 0; d < rank; d++) h->in[i].dims[d] = dims[d];
    h->in[i].data = (void *)data;
}

/* Marks input i as omitted (an optional input left out). */
static void h_omit(harness *h, int i) { h->in_ptrs[i] = NULL; }

static ox_attr *h_attr(harness *h, const char *name, ox_attr_type t)
{
    ox_attr *a = &h->attrs[h->node.n_attr++];
    a->name = name;
    a->type = t;
    return a;
}

static void h_int(harness *h, const char *name, int64_t v) { h_attr(h, name, OX_ATTR_INT)->i = v; }
static void h_float(harness *h, const char *name, float v) { h_attr(h, name, OX_ATTR_FLOAT)->f = v; }

static void h_str(harness *h, const char *name, const char *s)
{
    ox_attr *a = h_attr(h, name, OX_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

/* Infers, allocates the outputs and the scratch asked for, runs. */
static onyx_status h_call(harness *h)
{
    const ox_op *op = ox_op_find(h->node.domain, h->node.op_type, h->c.opset);
    if (!op) return ONYX_E_UNSUPPORTED;
    h->msg[0] = 0;
    onyx_status st = op->infer(&h->c);
    if (st) return st;
    for (int i = 0; i < h->node.n_out; i++) {
        size_t n = ox_tensor_bytes(&h->out[i]);
        h->out[i].data = calloc(1, n ? n : 1);
    }
    if (h->c.scratch_bytes) h->scratch = calloc(1, h->c.scratch_bytes);
    h->c.scratch = h->scratch;
    return op->run(&h->c);
}

static bool msg_has(const harness *h, const char *part)
{
    return strstr(h->msg, "node 'n1'") && strstr(h->msg, part);
}

static bool near(float got, float want) { return fabsf(got - want) <= 1e-6f * (1.0f + fabsf(want)); }

static bool floats_near(const onyx_tensor *t, int n, const float *want)
{
    if (ox_tensor_numel(t) != n) return false;
    for (int i = 0; i < n; i++)
        if (!near(((const float *)t->data)[i], want[i])) return false;
    return true;
}

/* ---- BitCast ------------------------------------------------------------------------------ */

static void test_bitcast(void)
{
    harness h;
    const int64_t d3[1] = {3};
    const float f[3] = {1.0f, -0.0f, 2.5f};
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, d3, f);
    h_int(&h, "to", ONYX_DTYPE_INT32);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(h.out[0].dtype == ONYX_DTYPE_INT32 && h.out[0].rank == 1 && h.out[0].dims[0] == 3);
    const int32_t *bits = h.out[0].data;
    CHECK(bits[0] == 0x3F800000 && bits[1] == INT32_MIN && bits[2] == 0x40200000);
    h_free(&h);

    /* Sub-byte values are one per byte, signed ones sign-extended: -1 as int4 is 15 as uint4,
     * and 0xE as uint4 is -2 as int4. */
    const int64_t d2[1] = {2};
    const int8_t i4[2] = {-1, 7};
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_INT4, 1, d2, i4);
    h_int(&h, "to", ONYX_DTYPE_UINT4);
    CHECK(h_call(&h) == ONYX_OK);
    const uint8_t *u4 = h.out[0].data;
    CHECK(u4[0] == 15 && u4[1] == 7);
    h_free(&h);
    const uint8_t u4in[2] = {0xE, 0x3};
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_UINT4, 1, d2, u4in);
    h_int(&h, "to", ONYX_DTYPE_INT4);
    CHECK(h_call(&h) == ONYX_OK);
    const int8_t *s4 = h.out[0].data;
    CHECK(s4[0] == -2 && s4[1] == 3);
    h_free(&h);

    /* A byte other than 0/1 reinterpreted as bool is true, stored as onyx's 1. */
    const uint8_t bytes[3] = {0, 1, 2};
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_UINT8, 1, d3, bytes);
    h_int(&h, "to", ONYX_DTYPE_BOOL);
    CHECK(h_call(&h) == ONYX_OK);
    const uint8_t *b = h.out[0].data;
    CHECK(b[0] == 0 && b[1] == 1 && b[2] == 1);
    h_free(&h);

    /* Errors: different widths, strings, a missing or bogus 'to', before opset 26. */
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, d3, f);
    h_int(&h, "to", ONYX_DTYPE_INT64);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "32 bits") && msg_has(&h, "64 bits"));
    h_free(&h);
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, d3, f);
    h_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "'to'"));
    h_free(&h);
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, d3, f);
    h_int(&h, "to", 999);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "999"));
    h_free(&h);
    h_init(&h, "BitCast", "", 26, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, d3, f);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "missing"));
    h_free(&h);
    CHECK(ox_op_find("", "BitCast", 25) == NULL);
}

/* ---- CausalConvWithState ------------------------------------------------------------------ */

static void test_causal_conv(void)
{
    /* One channel, k = 3: y[t] = w0*p[t] + w1*p[t+1] + w2*p[t+2] over p = past ++ x. */
    harness h;
    const int64_t dx[3] = {1, 1, 2}, dw[3] = {1, 1, 3}, dp[3] = {1, 1, 2}, db[1] = {1};
    const float x[2] = {3, 4}, w[3] = {1, 10, 100}, past[2] = {1, 2}, bias[1] = {0.5f};
    h_init(&h, "CausalConvWithState", "", 27, 4, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 1, db, bias);
    h_in(&h, 3, ONYX_DTYPE_FLOAT, 3, dp, past);
    CHECK(h_call(&h) == ONYX_OK);
    const float y[2] = {1 + 20 + 300 + 0.5f, 2 + 30 + 400 + 0.5f}, state[2] = {3, 4};
    CHECK(floats_near(&h.out[0], 2, y));
    CHECK(h.out[1].rank == 3 && h.out[1].dims[2] == 2 && floats_near(&h.out[1], 2, state));
    h_free(&h);

    /* Without past_state the padding is zeros; an input shorter than k - 1 keeps some of it
     * in the new state. SiLU applies to the convolution's result. */
    const int64_t dx1[3] = {1, 1, 1};
    h_init(&h, "CausalConvWithState", "", 27, 2, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx1, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    h_str(&h, "activation", "silu");
    CHECK(h_call(&h) == ONYX_OK);
    const float silu300 = 300.0f, state1[2] = {0, 3};
    CHECK(floats_near(&h.out[0], 1, &silu300) && floats_near(&h.out[1], 2, state1));
    h_free(&h);

    /* Errors: unknown activation, weight of the wrong channel count, k = 0, past_state shape,
     * mixed dtypes. */
    h_init(&h, "CausalConvWithState", "", 27, 2, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    h_str(&h, "activation", "relu");
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "relu"));
    h_free(&h);
    const int64_t dw2[3] = {2, 1, 3}, dw0[3] = {1, 1, 0}, dp3[3] = {1, 1, 3};
    h_init(&h, "CausalConvWithState", "", 27, 2, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, dw2, w);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "weight"));
    h_free(&h);
    h_init(&h, "CausalConvWithState", "", 27, 2, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, dw0, w);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "k >= 1"));
    h_free(&h);
    h_init(&h, "CausalConvWithState", "", 27, 4, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    h_omit(&h, 2);
    h_in(&h, 3, ONYX_DTYPE_FLOAT, 3, dp3, past);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "past_state"));
    h_free(&h);
    const uint16_t wh[3] = {0};
    h_init(&h, "CausalConvWithState", "", 27, 2, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT16, 3, dw, wh);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "float16"));
    h_free(&h);
}

/* ---- LinearAttention ---------------------------------------------------------------------- */

/* B = 1, T = 2, one head, d_k = d_v = 1, so every step can be followed by hand. */
static void linear_case(harness *h, const char *rule, int n_in, const float *qkv, const float *gate)
{
    static const int64_t d[3] = {1, 2, 1};
    h_init(h, "LinearAttention", "", 27, n_in, 2);
    for (int i = 0; i < 3; i++) h_in(h, i, ONYX_DTYPE_FLOAT, 3, d, qkv + 2 * i);
    for (int i = 3; i < n_in; i++) h_omit(h, i);
    if (gate) {
        h_in(h, n_in - 1, ONYX_DTYPE_FLOAT, 3, d, gate);
        h->in_ptrs[n_in - 1] = &h->in[n_in - 1];
    }
    h_int(h, "q_num_heads", 1);
    h_int(h, "kv_num_heads", 1);
    h_float(h, "scale", 2.0f);
    h_str(h, "update_rule", rule);
}

static void test_linear_attention(void)
{
    harness h;
    /* q = (1, 1), k = (2, 3), v = (5, 7). */
    const float qkv[6] = {1, 1, 2, 3, 5, 7};
    linear_case(&h, "linear", 3, qkv, NULL);
    CHECK(h_call(&h) == ONYX_OK);
    /* S1 = 10, S2 = 10 + 21 = 31; o = 2 * q * S. */
    const float lin[2] = {20, 62}, lin_state = 31;
    CHECK(floats_near(&h.out[0], 2, lin) && floats_near(&h.out[1], 1, &lin_state));
    CHECK(h.out[1].rank == 4);
    h_free(&h);

    /* delta with beta = 0.5: v1' = 0.5 * (5 - 0) = 2.5, S1 = 5; v2' = 0.5 * (7 - 5*3) = -4,
     * S2 = 5 - 12 = -7. */
    const float beta[2] = {0.5f, 0.5f};
    linear_case(&h, "delta", 6, qkv, beta);
    CHECK(h_call(&h) == ONYX_OK);
    const float delta[2] = {10, -14}, delta_state = -7;
    CHECK(floats_near(&h.out[0], 2, delta) && floats_near(&h.out[1], 1, &delta_state));
    h_free(&h);

    /* gated with g = ln 0.5: S1 = 10, S2 = 5 + 21 = 26. */
    const float g[2] = {logf(0.5f), logf(0.5f)};
    linear_case(&h, "gated", 5, qkv, g);
    CHECK(h_call(&h) == ONYX_OK);
    const float gated[2] = {20, 52};
    CHECK(floats_near(&h.out[0], 2, gated));
    h_free(&h);

    /* Errors: a rule's gate missing or extra, an unknown rule, missing or uneven head
     * counts, a decay of the wrong width. */
    linear_case(&h, "gated", 3, qkv, NULL);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "requires the decay"));
    h_free(&h);
    linear_case(&h, "linear", 6, qkv, beta);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "forbids the beta"));
    h_free(&h);
    linear_case(&h, "fast", 3, qkv, NULL);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "'fast'"));
    h_free(&h);
    linear_case(&h, "linear", 3, qkv, NULL);
    h.attrs[0].name = "heads"; /* q_num_heads now missing */
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "'q_num_heads' is missing"));
    h_free(&h);
    linear_case(&h, "linear", 3, qkv, NULL);
    h.attrs[1].i = 2; /* kv_num_heads 2 does not divide q_num_heads 1 */
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "multiple"));
    h_free(&h);
    const int64_t dg[3] = {1, 2, 2};
    const float g4[4] = {0};
    linear_case(&h, "gated", 5, qkv, g);
    h_in(&h, 4, ONYX_DTYPE_FLOAT, 3, dg, g4);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "decay"));
    h_free(&h);
}

/* ---- FlexAttention ------------------------------------------------------------------------ */

/* Stand-ins for the runtime's subgraph runner: the graph's name says what the "subgraph"
 * does to the (B, H, L, S) float matrix — mask key 0, double every value, or return the
 * wrong dtype. Results go to c->strings, as the real runner's copies do. */
static onyx_status fake_runner(ox_ctx *c, const ox_graph *g, const ox_val *in, int n_in, ox_val *out,
                               int n_out)
{
    if (n_in != 1 || n_out != 1 || in[0].t.dtype != ONYX_DTYPE_FLOAT) return ONYX_E_INTERNAL;
    const int64_t n = ox_tensor_numel(&in[0].t), s = in[0].t.dims[3];
    memset(out, 0, sizeof *out);
    out->t = in[0].t;
    out->t.data = ox_pool_alloc(c->strings, (size_t)n * sizeof(double), OX_ALIGN);
    if (!out->t.data) return ONYX_E_NOMEM;
    const float *x = in[0].t.data;
    float *y = out->t.data;
    const bool mask0 = !strcmp(g->name, "mask0"), twice = !strcmp(g->name, "double");
    for (int64_t i = 0; i < n; i++) y[i] = mask0 && i % s == 0 ? -INFINITY : twice ? 2 * x[i] : x[i];
    if (!strcmp(g->name, "wrong")) out->t.dtype = ONYX_DTYPE_DOUBLE;
    return ONYX_OK;
}

/* Two keys, scale 1, q = (1, 0), k = (1, 0) and (0, 1), v = 1 and 0: Y = softmax(1, 0)[0],
 * with the modifier `mod` (a fake graph named `what`) when given. */
static onyx_status flex_two_keys(harness *h, const char *mod, const char *what, float *y)
{
    static const int64_t dq[4] = {1, 1, 1, 2}, dk[4] = {1, 1, 2, 2}, dv[4] = {1, 1, 2, 1};
    static const float q[2] = {1, 0}, k[4] = {1, 0, 0, 1}, v[2] = {1, 0};
    ox_graph body;
    memset(&body, 0, sizeof body);
    body.name = what;
    body.n_inputs = body.n_outputs = 1;
    h_init(h, "FlexAttention", "ai.onnx.preview", 1, 3, 1);
    h_in(h, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
    h_in(h, 1, ONYX_DTYPE_FLOAT, 4, dk, k);
    h_in(h, 2, ONYX_DTYPE_FLOAT, 4, dv, v);
    h_float(h, "scale", 1.0f);
    if (mod) h_attr(h, mod, OX_ATTR_GRAPH)->g = &body;
    h->c.run_graph = fake_runner;
    onyx_status st = h_call(h);
    *y = st ? NAN : *(const float *)h->out[0].data;
    h_free(h);
    return st;
}

static void test_flex_attention(void)
{
    harness h;
    /* One key: softmax is 1 whatever the score, so Y is that key's V row. Two query heads
     * share one kv head (GQA). */
    const int64_t dq[4] = {1, 2, 1, 2}, dk[4] = {1, 1, 1, 2}, dv[4] = {1, 1, 1, 3};
    const float q[4] = {1, 2, 3, 4}, k[2] = {5, 6}, v[3] = {7, 8, 9};
    h_init(&h, "FlexAttention", "ai.onnx.preview", 1, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 4, dk, k);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 4, dv, v);
    CHECK(h_call(&h) == ONYX_OK);
    const float y[6] = {7, 8, 9, 7, 8, 9};
    CHECK(h.out[0].rank == 4 && h.out[0].dims[1] == 2 && h.out[0].dims[3] == 3);
    CHECK(floats_near(&h.out[0], 6, y));
    h_free(&h);

    /* Modifiers: masking key 0 leaves key 1's value; doubling the probabilities doubles Y.
     * A modifier that changes the dtype, or a graph of the wrong arity, is an error; without
     * a subgraph runner the op cannot take modifiers. */
    const float p = (float)(exp(1.0) / (exp(1.0) + 1.0)), p2 = 2 * p, zero = 0;
    float y1;
    CHECK(flex_two_keys(&h, NULL, "", &y1) == ONYX_OK && near(y1, p));
    CHECK(flex_two_keys(&h, "score_mod", "mask0", &y1) == ONYX_OK && near(y1, zero));
    CHECK(flex_two_keys(&h, "prob_mod", "double", &y1) == ONYX_OK && near(y1, p2));
    const float p_doubled_scores = (float)(exp(2.0) / (exp(2.0) + 1.0));
    CHECK(flex_two_keys(&h, "score_mod", "double", &y1) == ONYX_OK && near(y1, p_doubled_scores));
    CHECK(flex_two_keys(&h, "prob_mod", "wrong", &y1) == ONYX_E_SHAPE && msg_has(&h, "prob_mod"));
    ox_graph body;
    memset(&body, 0, sizeof body);
    body.name = "none";
    h_init(&h, "FlexAttention", "ai.onnx.preview", 1, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 4, dk, k);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 4, dv, v);
    h_attr(&h, "score_mod", OX_ATTR_GRAPH)->g = &body;
    CHECK(h_call(&h) == ONYX_E_UNSUPPORTED && msg_has(&h, "score_mod"));
    h.c.run_graph = fake_runner;
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "0 inputs"));
    h_free(&h);

    /* Errors: heads that do not group, mixed dtypes, a bad softmax_precision, and the op
     * outside its domain. */
    const int64_t dk3[4] = {1, 3, 1, 2}, dv3[4] = {1, 3, 1, 3};
    const float k3[6] = {0}, v3[9] = {0};
    h_init(&h, "FlexAttention", "ai.onnx.preview", 1, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 4, dk3, k3);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 4, dv3, v3);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "multiple"));
    h_free(&h);
    const double vd[3] = {0};
    h_init(&h, "FlexAttention", "ai.onnx.preview", 1, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 4, dk, k);
    h_in(&h, 2, ONYX_DTYPE_DOUBLE, 4, dv, vd);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "must match"));
    h_free(&h);
    h_init(&h, "FlexAttention", "ai.onnx.preview", 1, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 4, dk, k);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 4, dv, v);
    h_int(&h, "softmax_precision", ONYX_DTYPE_INT32);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "softmax_precision"));
    h_free(&h);
    CHECK(ox_op_find("", "FlexAttention", 26) == NULL);
}

int main(void)
{
    test_bitcast();
    test_causal_conv();
    test_linear_attention();
    test_flex_attention();
    return check_report("newops");
}
