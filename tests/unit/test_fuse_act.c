/* test_fuse_act.c — activation epilogues fused into Conv (runtime/opt/fuse_act.c): each
 * activation (and the Sigmoid+Mul SiLU pair) fuses in a session at opt level 2, results equal
 * the unfused graph's (opt 0) within float rounding and are bit-identical at 1, 2 and 4
 * threads; no fusion where the Conv output is pinned, read twice, not float, or Clip's
 * bounds are not constants; onyx_model_optimize (what `onyx optimize` writes) never fuses. */
#include "opt_builder.h"

static const int64_t dx[] = {2, 4, 7, 7}, dw[] = {6, 4, 3, 3}, db[] = {6}, scalar[] = {0};
#define NX (2 * 4 * 7 * 7)
#define NY (2 * 6 * 7 * 7)

typedef enum shape_kind { PLAIN, PINNED, READ_TWICE, DOUBLE_W, CLIP_INPUT_MIN } shape_kind;

typedef struct act_case {
    const char *op;
    int opset;
    const char *approximate; /* Gelu */
    float alpha, beta;       /* attributes (LeakyRelu, HardSigmoid), Clip bounds */
    bool has_alpha, has_beta;
} act_case;

/* x -> Conv(w, b, pads 1) -> c -> activation -> y (SiLU: Mul(c, Sigmoid(c)), `swap`ped). */
static void build(builder *b, const act_case *a, shape_kind kind, bool swap)
{
    static float w[6 * 4 * 9], bias[6];
    static double wd[6 * 4 * 9], biasd[6];
    fill(w, 6 * 4 * 9, 1);
    fill(bias, 6, 2);
    for (int i = 0; i < 6 * 4 * 9; i++) wd[i] = w[i];
    for (int i = 0; i < 6; i++) biasd[i] = bias[i];
    b_init(b, a->opset, NULL);
    const onyx_dtype t = kind == DOUBLE_W ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
    int x = b_input(b, "x", t, 4, dx);
    int wv = b_const(b, "w", t, 4, dw, kind == DOUBLE_W ? (const void *)wd : w);
    int bv = b_const(b, "b", t, 1, db, kind == DOUBLE_W ? (const void *)biasd : bias);
    ox_node *cv = b_node(b, b->g, "Conv", 3, (int[]){x, wv, bv}, 1, (const char *[]){"c"}, 1);
    static int64_t pads[4] = {1, 1, 1, 1};
    cv->attr[0].name = "pads";
    cv->attr[0].type = OX_ATTR_INTS;
    cv->attr[0].ints = pads;
    cv->attr[0].n = 4;
    int c = b_val(b, "c");
    if (!strcmp(a->op, "SiLU")) {
        b_node(b, b->g, "Sigmoid", 1, &c, 1, (const char *[]){"s"}, 0);
        int s = b_val(b, "s");
        b_node(b, b->g, "Mul", 2, swap ? (int[]){s, c} : (int[]){c, s}, 1, (const char *[]){"y"}, 0);
    } else if (!strcmp(a->op, "Clip")) {
        int lo = -1, hi = -1;
        if (kind == CLIP_INPUT_MIN) lo = b_input(b, "lo", ONYX_DTYPE_FLOAT, 0, scalar);
        else if (a->has_alpha) lo = b_const(b, "lo", ONYX_DTYPE_FLOAT, 0, scalar, &a->alpha);
        if (a->has_beta) hi = b_const(b, "hi", ONYX_DTYPE_FLOAT, 0, scalar, &a->beta);
        b_node(b, b->g, "Clip", 3, (int[]){c, lo, hi}, 1, (const char *[]){"y"}, 0);
    } else {
        int n_attr = a->has_alpha + a->has_beta + (a->approximate != NULL);
        ox_node *n = b_node(b, b->g, a->op, 1, &c, 1, (const char *[]){"y"}, n_attr);
        int k = 0;
        if (a->has_alpha) attr_float(n, k++, "alpha", a->alpha);
        if (a->has_beta) attr_float(n, k++, "beta", a->beta);
        if (a->approximate) {
            n->attr[k].name = "approximate";
            n->attr[k].type = OX_ATTR_STRING;
            n->attr[k].s = a->approximate;
            n->attr[k].s_len = strlen(a->approximate);
        }
    }
    if (kind == READ_TWICE) b_node(b, b->g, "Neg", 1, &c, 1, (const char *[]){"z"}, 0);
    b_output(b, "y");
    if (kind == PINNED) b_output(b, "c");
    if (kind == READ_TWICE) b_output(b, "z");
    CHECK(b_finish(b));
}

/* One activation: fuses, and matches the unfused graph; also at threads 2 and 4. */
static void check_fuses(const act_case *a, bool swap)
{
    static float xin[NX], r0[NY], r2[NY], rt[NY];
    fill(xin, NX, 3);
    for (int i = 0; i < NX; i++) xin[i] *= 8.0f; /* reach the activations' bends and tails */
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, dx, xin);
    builder b;
    build(&b, a, PLAIN, swap);
    session_info i0 = {0}, i2 = {0};
    CHECK(run_session(b.m, 0, 1, &in, 1, r0, NY, ONYX_DTYPE_FLOAT, &i0));
    CHECK(run_session(b.m, 2, 1, &in, 1, r2, NY, ONYX_DTYPE_FLOAT, &i2));
    CHECK_MSG(i2.nodes == 1 && i2.conv_fused == 1 && !i0.conv_fused, "%s: %d nodes, fused %d", a->op, i2.nodes,
              i2.conv_fused);
    float d = max_diff(r0, r2, NY);
    CHECK_MSG(d <= 2e-6f, "%s: fused differs by %g", a->op, (double)d);
    for (int threads = 2; threads <= 4; threads *= 2) {
        CHECK(run_session(b.m, 2, threads, &in, 1, rt, NY, ONYX_DTYPE_FLOAT, NULL));
        CHECK_MSG(!memcmp(rt, r2, sizeof r2), "%s: %d threads differ", a->op, threads);
    }
    /* onyx optimize's path: the model itself never gets the internal op */
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(b.m->graph->n_nodes == (strcmp(a->op, "SiLU") ? 2 : 3));
    for (int i = 0; i < b.m->graph->n_nodes; i++) CHECK(b.m->graph->nodes[i].op != &ox_op_conv_fused);
    onyx_model_free(b.m);
}

/* A shape the pass must leave alone; results still equal the unfused ones. */
static void check_not_fused(const act_case *a, shape_kind kind)
{
    static float xin[NX], r0[NY], r2[NY];
    static double xd[NX], d0[NY], d2[NY];
    fill(xin, NX, 4);
    for (int i = 0; i < NX; i++) xd[i] = xin[i];
    float lo = -0.25f;
    onyx_tensor in[2] = {kind == DOUBLE_W ? tensor(ONYX_DTYPE_DOUBLE, 4, dx, xd) : tensor(ONYX_DTYPE_FLOAT, 4, dx, xin),
                         tensor(ONYX_DTYPE_FLOAT, 0, scalar, &lo)};
    builder b;
    build(&b, a, kind, false);
    const onyx_dtype dt = kind == DOUBLE_W ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
    size_t es = onyx_dtype_size(dt);
    void *o0 = kind == DOUBLE_W ? (void *)d0 : r0, *o2 = kind == DOUBLE_W ? (void *)d2 : r2;
    size_t n_in = kind == CLIP_INPUT_MIN ? 2 : 1;
    session_info i0 = {0}, i2 = {0};
    CHECK(run_session(b.m, 0, 1, in, n_in, o0, NY, dt, &i0));
    CHECK(run_session(b.m, 2, 1, in, n_in, o2, NY, dt, &i2));
    CHECK_MSG(!i2.conv_fused && i2.nodes == i0.nodes, "%s kind %d: fused (%d nodes)", a->op, kind, i2.nodes);
    CHECK(!memcmp(o0, o2, NY * es));
    onyx_model_free(b.m);
}

int main(void)
{
    const act_case cases[] = {
        {"Relu", 13, NULL, 0, 0, false, false},
        {"Clip", 13, NULL, 0.0f, 6.0f, true, true},   /* Relu6 */
        {"Clip", 13, NULL, -0.5f, 0, true, false},    /* min only */
        {"Clip", 13, NULL, 0, 0.75f, false, true},    /* max only */
        {"LeakyRelu", 13, NULL, 0.1f, 0, true, false},
        {"LeakyRelu", 13, NULL, 0, 0, false, false},  /* default alpha */
        {"Sigmoid", 13, NULL, 0, 0, false, false},
        {"HardSigmoid", 13, NULL, 0.3f, 0.4f, true, true},
        {"HardSigmoid", 13, NULL, 0, 0, false, false},
        {"HardSwish", 14, NULL, 0, 0, false, false},
        {"Tanh", 13, NULL, 0, 0, false, false},
        {"Gelu", 20, NULL, 0, 0, false, false},
        {"Gelu", 20, "tanh", 0, 0, false, false},
        {"SiLU", 13, NULL, 0, 0, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_fuses(&cases[i], false);
    check_fuses(&cases[sizeof cases / sizeof cases[0] - 1], true); /* Mul(Sigmoid(c), c) */
    const act_case relu = cases[0], silu = cases[sizeof cases / sizeof cases[0] - 1];
    check_not_fused(&relu, PINNED);
    check_not_fused(&silu, PINNED);
    check_not_fused(&relu, READ_TWICE);
    check_not_fused(&silu, READ_TWICE);
    check_not_fused(&relu, DOUBLE_W);
    check_not_fused(&cases[1], CLIP_INPUT_MIN);
    return check_report("fuse_act");
}
