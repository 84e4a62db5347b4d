/* test_rnn_packed.c — RNN, GRU and LSTM with constant W and R, which sessions pack once at
 * plan time (ops/rnn.c prepack, kernels/rnn.c ox_rnn_pack), against the same layers with W
 * and R fed as inputs, which the kernel packs on every call. Directions, GRU's two reset
 * forms (the late one packs R_h separately) and a second run on the same session are
 * covered; the recurrent products are the same packed SGEMM either way. */
#include "check.h"
#include "opt_builder.h"

enum { S = 6, B = 3, I = 5, H = 7 };

typedef struct layer {
    const char *op;
    int gates, dirs;
    int64_t linear_before_reset;
} layer;

/* X -> op -> Y with W, R, bias constants (as_inputs: graph inputs instead). */
static onyx_model *build(const layer *l, bool as_inputs, const float *w, const float *r, const float *bias)
{
    builder b;
    b_init(&b, 22, NULL);
    const int64_t xd[3] = {S, B, I}, wd[3] = {l->dirs, l->gates * H, I}, rd[3] = {l->dirs, l->gates * H, H},
                  bd[2] = {l->dirs, 2 * l->gates * H};
    int in[3] = {b_input(&b, "X", ONYX_DTYPE_FLOAT, 3, xd)};
    if (as_inputs) {
        in[1] = b_input(&b, "W", ONYX_DTYPE_FLOAT, 3, wd);
        in[2] = b_input(&b, "R", ONYX_DTYPE_FLOAT, 3, rd);
    } else {
        in[1] = b_const(&b, "W", ONYX_DTYPE_FLOAT, 3, wd, w);
        in[2] = b_const(&b, "R", ONYX_DTYPE_FLOAT, 3, rd, r);
    }
    const int with_bias[4] = {in[0], in[1], in[2], b_const(&b, "B", ONYX_DTYPE_FLOAT, 2, bd, bias)};
    static const char *const out[] = {"Y"};
    ox_node *n = b_node(&b, b.g, l->op, 4, with_bias, 1, out, 3);
    attr_int(n, 0, "hidden_size", H);
    n->attr[1].name = "direction";
    n->attr[1].type = OX_ATTR_STRING;
    n->attr[1].s = l->dirs == 2 ? "bidirectional" : "forward";
    n->attr[1].s_len = strlen(n->attr[1].s);
    attr_int(n, 2, "linear_before_reset", l->linear_before_reset);
    if (strcmp(l->op, "GRU")) n->n_attr = 2; /* the attribute is GRU's alone */
    b_output(&b, "Y");
    return b_finish(&b) ? b.m : NULL;
}

static void check_layer(const layer *l)
{
    enum { MAXG = 4 };
    static float x[S * B * I], w[2 * MAXG * H * I], r[2 * MAXG * H * H], bias[2 * 2 * MAXG * H];
    static float packed_y[S * 2 * B * H], own_y[S * 2 * B * H], again[S * 2 * B * H];
    fill(x, sizeof x / sizeof *x, 1);
    fill(w, sizeof w / sizeof *w, 2);
    fill(r, sizeof r / sizeof *r, 3);
    fill(bias, sizeof bias / sizeof *bias, 4);
    const size_t ny = (size_t)S * (size_t)l->dirs * B * H;
    const int64_t xd[3] = {S, B, I}, wd[3] = {l->dirs, l->gates * H, I}, rd[3] = {l->dirs, l->gates * H, H};
    onyx_model *packed = build(l, false, w, r, bias), *own = build(l, true, w, r, bias);
    CHECK_MSG(packed && own, "%s: building the models", l->op);
    if (!packed || !own) return;
    const onyx_tensor xin = tensor(ONYX_DTYPE_FLOAT, 3, xd, x);
    const onyx_tensor all[3] = {xin, tensor(ONYX_DTYPE_FLOAT, 3, wd, w), tensor(ONYX_DTYPE_FLOAT, 3, rd, r)};
    CHECK_MSG(run_model(packed, 0, &xin, 1, packed_y, ny), "%s dirs %d: constant weights", l->op, l->dirs);
    CHECK_MSG(run_model(own, 0, all, 3, own_y, ny), "%s dirs %d: weights as inputs", l->op, l->dirs);
    /* the input projection may differ in rounding (OpenBLAS or the own SGEMM for unpacked W) */
    float scale = 0;
    for (size_t i = 0; i < ny; i++) scale = fmaxf(scale, fabsf(own_y[i]));
    CHECK_MSG(scale > 0.05f && max_diff(packed_y, own_y, ny) <= 1e-5f * scale, "%s dirs %d lbr %lld: diff %g of %g",
              l->op, l->dirs, (long long)l->linear_before_reset, (double)max_diff(packed_y, own_y, ny), (double)scale);
    /* a second session on the same model packs its own copy and gives the same bits */
    CHECK(run_model(packed, 0, &xin, 1, again, ny) && !memcmp(again, packed_y, ny * sizeof *again));
    onyx_model_free(packed);
    onyx_model_free(own);
}

int main(void)
{
    static const layer layers[] = {
        {"RNN", 1, 1, 0}, {"RNN", 1, 2, 0}, {"LSTM", 4, 1, 0}, {"LSTM", 4, 2, 0},
        {"GRU", 3, 1, 0}, {"GRU", 3, 2, 0}, {"GRU", 3, 1, 1}, {"GRU", 3, 2, 1},
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) check_layer(&layers[i]);
    return check_report("rnn_packed");
}
