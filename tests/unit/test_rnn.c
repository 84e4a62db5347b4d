/* test_rnn.c — RNN, GRU and LSTM on single nodes: a linear recurrence worked out by hand
 * (forward, reverse, bidirectional, per-batch lengths, layout 1; float, double and float16;
 * several threads), empty sequences and empty dims, and the error paths, checking statuses
 * and that messages name the node. (Values against onnxruntime: tests/models/make_rnn_cases.py.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "op.h"

/* ---- a one-node harness: up to 8 inputs, 3 outputs, any attributes ---------------------- */

#define T_IN 8
#define T_OUT 3

typedef struct tcase {
    ox_node node;
    int node_in[T_IN], node_out[T_OUT];
    ox_attr attr[8];
    onyx_tensor in[T_IN], out[T_OUT];
    onyx_tensor *in_p[T_IN], *out_p[T_OUT];
    void *scratch;
    char msg[256];
    int threads;
} tcase;

/* A node "n1" with n_in inputs (all omitted until t_in) and the outputs flagged in outs
 * (bit k: output k present). */
static void t_init(tcase *k, const char *op, int n_in, int n_out, unsigned outs)
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
    for (int i = 0; i < T_IN; i++) k->node_in[i] = -1;
    for (int i = 0; i < n_out; i++) {
        k->node_out[i] = (outs >> i) & 1 ? i : -1;
        k->out_p[i] = (outs >> i) & 1 ? &k->out[i] : NULL;
    }
    k->threads = 1;
}

static void t_in(tcase *k, int i, onyx_dtype t, int rank, const int64_t *dims, const void *data)
{
    onyx_tensor *x = &k->in[i];
    x->dtype = t;
    x->rank = rank;
    for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
    x->data = (void *)data;
    k->node_in[i] = i;
    k->in_p[i] = x;
}

static ox_attr *t_attr(tcase *k, const char *name, ox_attr_type type)
{
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = type;
    return a;
}

static void t_int(tcase *k, const char *name, int64_t v) { t_attr(k, name, OX_ATTR_INT)->i = v; }
static void t_float(tcase *k, const char *name, float v) { t_attr(k, name, OX_ATTR_FLOAT)->f = v; }

static void t_str(tcase *k, const char *name, const char *s)
{
    ox_attr *a = t_attr(k, name, OX_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

static void t_strs(tcase *k, const char *name, size_t n, const char **s, size_t *lens)
{
    ox_attr *a = t_attr(k, name, OX_ATTR_STRINGS);
    for (size_t i = 0; i < n; i++) lens[i] = strlen(s[i]);
    a->n = n;
    a->strings = s;
    a->string_lens = lens;
}

static void t_floats(tcase *k, const char *name, size_t n, const float *v)
{
    ox_attr *a = t_attr(k, name, OX_ATTR_FLOATS);
    a->n = n;
    a->floats = (float *)v;
}

/* Infers, then (if run) runs into freshly allocated outputs and scratch. */
static onyx_status t_call(tcase *k, int opset, bool run)
{
    const ox_op *op = ox_op_find("", k->node.op_type, opset);
    if (!op) {
        snprintf(k->msg, sizeof k->msg, "no %s at opset %d", k->node.op_type, opset);
        return ONYX_E_UNSUPPORTED;
    }
    k->node.opset = opset;
    ox_ctx c = {.node = &k->node, .opset = opset, .n_in = k->node.n_in, .n_out = k->node.n_out,
                .in = k->in_p, .out = k->out_p, .threads = k->threads, .msg = k->msg,
                .msg_cap = sizeof k->msg, .need_value = -1};
    k->msg[0] = 0;
    onyx_status st = op->infer(&c);
    if (st || !run) return st;
    for (int i = 0; i < k->node.n_out; i++)
        if (k->out_p[i]) k->out[i].data = calloc(1, ox_tensor_bytes(&k->out[i]) + 1);
    k->scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    c.scratch = k->scratch;
    return op->run(&c);
}

static onyx_status t_run(tcase *k, int opset) { return t_call(k, opset, true); }
static onyx_status t_infer(tcase *k, int opset) { return t_call(k, opset, false); }

static void t_free(tcase *k)
{
    for (int i = 0; i < T_OUT; i++) free(k->out[i].data);
    free(k->scratch);
    k->scratch = NULL;
    for (int i = 0; i < T_OUT; i++) k->out[i].data = NULL;
}

static bool t_msg(const tcase *k, const char *part)
{
    return strstr(k->msg, "node 'n1'") && strstr(k->msg, part);
}

/* Output element i as double, whatever its dtype. */
static double out_at(const tcase *k, int o, int64_t i)
{
    const onyx_tensor *t = &k->out[o];
    switch (t->dtype) {
    case ONYX_DTYPE_DOUBLE: return ((const double *)t->data)[i];
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(((const uint16_t *)t->data)[i]);
    default: return ((const float *)t->data)[i];
    }
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-6 * (1.0 + fabs(b)); }

/* ---- a linear RNN worked out by hand ---------------------------------------------------- */

/* Affine(1, 0) makes the RNN linear, h_t = w x_t + r h_t-1, with hidden and input size 1.
 * Batch 0: x = 1, 2, 3 (length 3); batch 1: x = 4, 5, 6 (length 1). w = 1, r = 0.5.
 *   forward:  batch 0 h = 1, 2.5, 4.25;  batch 1 h = 4, then Y zero.
 *   backward (each sequence from its own end): batch 0 at t = 2, 1, 0: 3, 3.5, 2.75;
 *             batch 1: 4 at t = 0.
 * The backward direction's weights are w = 1, r = 0.5 as well. */
static const double fwd_y[3][2] = {{1, 4}, {2.5, 0}, {4.25, 0}};
static const double bwd_y[3][2] = {{2.75, 4}, {3.5, 0}, {3, 0}};

static void linear_rnn(tcase *k, onyx_dtype t, const void *x, const void *w, const void *r,
                       const int32_t *lens, const char *direction, int layout, const char **acts,
                       size_t *act_lens)
{
    const int dirs = strcmp(direction, "bidirectional") ? 1 : 2;
    const int64_t dx_tb[3] = {3, 2, 1}, dx_bt[3] = {2, 3, 1}, dw[3] = {dirs, 1, 1}, dl[1] = {2};
    t_init(k, "RNN", 5, 2, 3);
    t_in(k, 0, t, 3, layout ? dx_bt : dx_tb, x);
    t_in(k, 1, t, 3, dw, w);
    t_in(k, 2, t, 3, dw, r);
    t_in(k, 4, ONYX_DTYPE_INT32, 1, dl, lens);
    t_str(k, "direction", direction);
    t_strs(k, "activations", (size_t)dirs, acts, act_lens);
    if (layout) t_int(k, "layout", 1);
}

/* Y and Y_h of linear_rnn against the hand values (layout 0: Y [t, dir, b]; 1: [b, t, dir]). */
static bool linear_ok(const tcase *k, int dirs, bool reverse, int layout)
{
    bool ok = true;
    for (int d = 0; d < dirs; d++) {
        const double(*want)[2] = d == 1 || reverse ? bwd_y : fwd_y;
        for (int t = 0; t < 3; t++)
            for (int b = 0; b < 2; b++) {
                const int64_t at = layout ? (b * 3 + t) * dirs + d : (t * dirs + d) * 2 + b;
                ok = ok && near(out_at(k, 0, at), want[t][b]);
            }
        /* Y_h: the state after each sequence's last step */
        const double h_end[2] = {d == 1 || reverse ? 2.75 : 4.25, 4};
        for (int b = 0; b < 2; b++)
            ok = ok && near(out_at(k, 1, layout ? b * dirs + d : d * 2 + b), h_end[b]);
    }
    return ok;
}

static void test_linear(void)
{
    const float x_tb[6] = {1, 4, 2, 5, 3, 6}, x_bt[6] = {1, 2, 3, 4, 5, 6}, w[2] = {1, 1},
                r[2] = {0.5f, 0.5f};
    const double xd[6] = {1, 4, 2, 5, 3, 6}, wd[2] = {1, 1}, rd[2] = {0.5, 0.5};
    const uint16_t xh[6] = {0x3c00, 0x4400, 0x4000, 0x4500, 0x4200, 0x4600}; /* 1 4 2 5 3 6 */
    const uint16_t wh[2] = {0x3c00, 0x3c00}, rh[2] = {0x3800, 0x3800};     /* 1; 0.5 */
    const int32_t lens[2] = {3, 1};
    const char *acts[2] = {"Affine", "affine"}; /* names match case-insensitively */
    size_t act_lens[2];
    tcase k;

    linear_rnn(&k, ONYX_DTYPE_FLOAT, x_tb, w, r, lens, "forward", 0, acts, act_lens);
    CHECK(t_run(&k, 22) == ONYX_OK && linear_ok(&k, 1, false, 0));
    t_free(&k);
    linear_rnn(&k, ONYX_DTYPE_FLOAT, x_tb, w, r, lens, "reverse", 0, acts, act_lens);
    CHECK(t_run(&k, 7) == ONYX_OK && linear_ok(&k, 1, true, 0));
    t_free(&k);
    linear_rnn(&k, ONYX_DTYPE_FLOAT, x_tb, w, r, lens, "bidirectional", 0, acts, act_lens);
    k.threads = 3;
    CHECK(t_run(&k, 14) == ONYX_OK && linear_ok(&k, 2, false, 0));
    t_free(&k);
    linear_rnn(&k, ONYX_DTYPE_FLOAT, x_bt, w, r, lens, "bidirectional", 1, acts, act_lens);
    CHECK(t_run(&k, 22) == ONYX_OK && linear_ok(&k, 2, false, 1));
    CHECK(k.out[0].rank == 4 && k.out[0].dims[0] == 2 && k.out[0].dims[1] == 3 &&
          k.out[0].dims[2] == 2 && k.out[1].dims[0] == 2 && k.out[1].dims[1] == 2);
    t_free(&k);
    linear_rnn(&k, ONYX_DTYPE_DOUBLE, xd, wd, rd, lens, "bidirectional", 0, acts, act_lens);
    CHECK(t_run(&k, 22) == ONYX_OK && linear_ok(&k, 2, false, 0));
    t_free(&k);
    linear_rnn(&k, ONYX_DTYPE_FLOAT16, xh, wh, rh, lens, "bidirectional", 0, acts, act_lens);
    CHECK(t_run(&k, 22) == ONYX_OK && linear_ok(&k, 2, false, 0)); /* exact in float16 */
    t_free(&k);
    /* before opset 14 layout is not an attribute of the op: ignored */
    linear_rnn(&k, ONYX_DTYPE_FLOAT, x_tb, w, r, lens, "forward", 1, acts, act_lens);
    k.in[0].dims[0] = 3, k.in[0].dims[1] = 2;
    CHECK(t_run(&k, 7) == ONYX_OK && linear_ok(&k, 1, false, 0));
    t_free(&k);
}

/* Each activation on one value: a bidirectional RNN of one step with w = 1, r = 0 gives
 * Y_h = (f0(x), f1(x)). Parameters are taken in order by the functions that use them. */
static void test_activations(void)
{
    static const struct {
        const char *f0, *f1;
        int n_alpha, n_beta;
        float alpha[2], beta[2];
        float x;
        double y0, y1;
    } cases[] = {
        {"Relu", "Tanh", 0, 0, {0}, {0}, -1, 0, -0.76159415595576},
        {"Sigmoid", "LeakyRelu", 0, 0, {0}, {0}, -2, 0.11920292202212, -0.02},
        {"Tanh", "LeakyRelu", 1, 0, {0.5f}, {0}, -2, -0.96402758007582, -1},
        {"LeakyRelu", "LeakyRelu", 1, 0, {0.5f}, {0}, -2, -1, -0.02}, /* 2nd: default */
        {"ThresholdedRelu", "ThresholdedRelu", 1, 0, {2.5f}, {0}, 2, 0, 2}, /* default 1 */
        {"Affine", "Affine", 2, 1, {2, 3}, {1}, 2, 5, 6},                  /* 2nd beta: 0 */
        {"ScaledTanh", "ScaledTanh", 1, 1, {2}, {0.5f}, 1, 2 * 0.46211715726001,
         0.76159415595576},
        {"HardSigmoid", "HardSigmoid", 1, 1, {0.5f}, {0.25f}, 1, 0.75, 0.7},
        {"Elu", "Elu", 1, 0, {0.5f}, {0}, -1, 0.5 * -0.63212055882856, -0.63212055882856},
        {"Softsign", "Softplus", 0, 0, {0}, {0}, -3, -0.75, 0.04858735157374},
        {"Softplus", "Softplus", 0, 0, {0}, {0}, 100, 100, 100},
    };
    const int64_t dx[3] = {1, 1, 1}, dw[3] = {2, 1, 1};
    const float w[2] = {1, 1}, r[2] = {0, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *names[2] = {cases[i].f0, cases[i].f1};
        size_t lens[2];
        tcase k;
        t_init(&k, "RNN", 3, 2, 2);
        t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, &cases[i].x);
        t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
        t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, dw, r);
        t_str(&k, "direction", "bidirectional");
        t_strs(&k, "activations", 2, names, lens);
        if (cases[i].n_alpha)
            t_floats(&k, "activation_alpha", (size_t)cases[i].n_alpha, cases[i].alpha);
        if (cases[i].n_beta)
            t_floats(&k, "activation_beta", (size_t)cases[i].n_beta, cases[i].beta);
        const bool ok = t_run(&k, 22) == ONYX_OK;
        CHECK_MSG(ok && near(out_at(&k, 1, 0), cases[i].y0) && near(out_at(&k, 1, 1), cases[i].y1),
                  "%s/%s: got %g %g", names[0], names[1], ok ? out_at(&k, 1, 0) : NAN,
                  ok ? out_at(&k, 1, 1) : NAN);
        t_free(&k);
    }
}

/* LSTM with an empty sequence: Y, Y_h and Y_c are zero for it, whatever the initial state. */
static void test_empty_sequence(void)
{
    const int64_t dx[3] = {2, 2, 1}, dw[3] = {1, 4, 1}, dl[1] = {2}, ds[3] = {1, 2, 1};
    const float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1}, r[4] = {1, 1, 1, 1};
    const float h0[2] = {0.5f, 0.5f}, c0[2] = {2, 2};
    const int32_t lens[2] = {2, 0};
    tcase k;
    t_init(&k, "LSTM", 7, 3, 7);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, dw, r);
    t_in(&k, 4, ONYX_DTYPE_INT32, 1, dl, lens);
    t_in(&k, 5, ONYX_DTYPE_FLOAT, 3, ds, h0);
    t_in(&k, 6, ONYX_DTYPE_FLOAT, 3, ds, c0);
    CHECK(t_run(&k, 22) == ONYX_OK);
    CHECK(out_at(&k, 0, 1) == 0 && out_at(&k, 0, 3) == 0); /* Y [t, 1, b, 1] for b = 1 */
    CHECK(out_at(&k, 1, 1) == 0 && out_at(&k, 2, 1) == 0);
    CHECK(out_at(&k, 1, 0) > 0.5 && out_at(&k, 2, 0) > 2); /* batch 0 ran */
    t_free(&k);
}

/* Zero-sized dims: no batch, no time steps (Y_h zero), no input features. */
static void test_empty_dims(void)
{
    const int64_t shapes[3][3] = {{2, 0, 3}, {0, 2, 3}, {2, 2, 0}};
    const float w[9] = {0}, r[3] = {0};
    const float b[6] = {1, 1, 0.5f, 0, 0, 0}; /* Wb: z 1, r 1, h 0.5 */
    for (int s = 0; s < 3; s++) {
        const int64_t dw[3] = {1, 3, shapes[s][2]}, dr[3] = {1, 3, 1}, db[2] = {1, 6};
        tcase k;
        t_init(&k, "GRU", 4, 2, 3);
        t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, shapes[s], NULL);
        t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, shapes[s][2] ? w : NULL);
        t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, dr, r);
        t_in(&k, 3, ONYX_DTYPE_FLOAT, 2, db, b);
        CHECK(t_run(&k, 22) == ONYX_OK);
        const int64_t batch = shapes[s][1];
        CHECK(k.out[1].dims[1] == batch);
        if (s == 1) CHECK(out_at(&k, 1, 0) == 0 && out_at(&k, 1, 1) == 0);
        /* no input features: from h0 = 0, h1 = (1 - sigmoid(1)) tanh(0.5) */
        if (s == 2) CHECK(near(out_at(&k, 0, 0), (1 - 1 / (1 + exp(-1.0))) * tanh(0.5)));
        t_free(&k);
    }
}

/* ---- errors ----------------------------------------------------------------------------- */

/* A valid forward GRU (hidden 2, input 3, seq 2, batch 1) with data unknown, to break. */
static void gru_base(tcase *k)
{
    static const int64_t dx[3] = {2, 1, 3}, dw[3] = {1, 6, 3}, dr[3] = {1, 6, 2};
    t_init(k, "GRU", 3, 2, 3);
    t_in(k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    t_in(k, 2, ONYX_DTYPE_FLOAT, 3, dr, NULL);
}

static void test_errors(void)
{
    tcase k;
    gru_base(&k);
    CHECK(t_infer(&k, 22) == ONYX_OK && k.out[0].dims[0] == 2 && k.out[1].dims[2] == 2);

    gru_base(&k);
    k.node.n_in = 2;
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "('R') is missing"));

    const int64_t bad_w[3] = {1, 5, 3}, bad_b[2] = {1, 11}, lens_d[1] = {1}, h0_d[3] = {1, 2, 2};
    gru_base(&k);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, bad_w, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "'W'"));

    gru_base(&k);
    k.node.n_in = 4;
    t_in(&k, 3, ONYX_DTYPE_FLOAT, 2, bad_b, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "'B'"));

    gru_base(&k);
    k.node.n_in = 6;
    t_in(&k, 5, ONYX_DTYPE_FLOAT, 3, h0_d, NULL); /* batch is 1 */
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "'initial_h'"));

    gru_base(&k);
    k.node.n_in = 4;
    t_in(&k, 3, ONYX_DTYPE_DOUBLE, 2, bad_b, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "('B') is float64"));

    gru_base(&k);
    t_int(&k, "hidden_size", 3);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "hidden_size 3"));

    gru_base(&k);
    t_str(&k, "direction", "sideways");
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "sideways"));

    gru_base(&k);
    t_int(&k, "layout", 2);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "layout 2"));

    gru_base(&k);
    t_float(&k, "clip", 0);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "clip"));

    gru_base(&k);
    t_int(&k, "linear_before_reset", 2);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "linear_before_reset"));

    gru_base(&k);
    t_int(&k, "hidden_size", 2);
    t_attr(&k, "direction", OX_ATTR_INT);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "'direction'"));

    const char *one[1] = {"Sigmoid"}, *bad[2] = {"Sigmoid", "Swish"};
    size_t lens1[1], lens2[2];
    gru_base(&k);
    t_strs(&k, "activations", 1, one, lens1);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "1 names, expected 2"));
    gru_base(&k);
    t_strs(&k, "activations", 2, bad, lens2);
    CHECK(t_infer(&k, 22) == ONYX_E_UNSUPPORTED && t_msg(&k, "'Swish'"));

    /* bfloat16 arrived with opset 22 */
    gru_base(&k);
    for (int i = 0; i < 3; i++) k.in[i].dtype = ONYX_DTYPE_BFLOAT16;
    CHECK(t_infer(&k, 14) == ONYX_E_UNSUPPORTED);
    CHECK(t_infer(&k, 22) == ONYX_OK);

    gru_base(&k);
    k.node.n_in = 5;
    t_in(&k, 4, ONYX_DTYPE_INT64, 1, lens_d, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_UNSUPPORTED && t_msg(&k, "int64"));

    /* sequence lengths past seq_length: at plan time when known, at run time otherwise */
    const int32_t too_long[1] = {3};
    gru_base(&k);
    k.node.n_in = 5;
    t_in(&k, 4, ONYX_DTYPE_INT32, 1, lens_d, too_long);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "sequence_lens[0] = 3"));
    const int64_t dx[3] = {2, 1, 1}, dw[3] = {1, 3, 1}, dr[3] = {1, 3, 1};
    const float x[2] = {1, 2}, w[3] = {1, 1, 1}, r[3] = {1, 1, 1};
    t_init(&k, "GRU", 5, 2, 3);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, dr, r);
    t_in(&k, 4, ONYX_DTYPE_INT32, 1, lens_d, NULL);
    CHECK(t_infer(&k, 22) == ONYX_OK);
    k.in[4].data = (void *)too_long;
    CHECK(t_run(&k, 22) == ONYX_E_ARG && t_msg(&k, "sequence_lens"));
    t_free(&k);

    /* RNN and GRU have no Y_c */
    gru_base(&k);
    k.node.n_out = 3;
    k.out_p[2] = &k.out[2];
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "outputs"));
}

int main(void)
{
    test_linear();
    test_activations();
    test_empty_sequence();
    test_empty_dims();
    test_errors();
    return check_report("rnn");
}
