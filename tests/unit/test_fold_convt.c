/* test_fold_convt.c — what a ConvTranspose and a 2-D MatMul absorb:
 *   - inference BatchNormalization (level 2, fold_bn.c: bn-into-convtranspose, bn-into-matmul):
 *     the BN node is gone, the one node left gives the unoptimised graph's results within
 *     1e-5 of their largest magnitude (ConvTranspose with group 1 and 2, with and without a
 *     bias, 1-D and 2-D; MatMul becomes a Gemm with a bias, and a Relu after it then joins it
 *     in a session); not folded for a 3-D MatMul output (its channels are not B's columns) or
 *     a producer output with a second reader;
 *   - activations after a ConvTranspose (session only, fuse_act.c: act-into-convtranspose):
 *     Relu, LeakyRelu, Sigmoid, Clip, SiLU and BN -> Relu leave one fused node whose results
 *     match the unfused graph's and are the same bits at 1 and 2 threads; not fused when the
 *     ConvTranspose output is also a graph output, or for a double ConvTranspose. Nothing
 *     internal is written by onyx_model_optimize;
 *   - a session over either fold fails cleanly (ONYX_E_NOMEM, no leak) at every allocation. */
#include "opt_builder.h"

#define MAXY (2 * 6 * 64 * 64)

static void ints_attr(ox_node *n, int k, const char *name, int64_t *v, size_t count)
{
    n->attr[k].name = name;
    n->attr[k].type = OX_ATTR_INTS;
    n->attr[k].ints = v;
    n->attr[k].n = count;
}

/* max |a - b| <= rel * max |a| over n values (and a message naming `what` when not). */
static void check_close(const char *what, const float *a, const float *b, size_t n, float rel)
{
    float big = 0;
    for (size_t i = 0; i < n; i++) big = fmaxf(big, fabsf(a[i]));
    float d = max_diff(a, b, n);
    CHECK_MSG(d <= rel * big && big > 0, "%s: differs by %g (max %g)", what, (double)d, (double)big);
}

/* A BatchNormalization of `ch` channels reading value x into output `out`, parameters from
 * seed (variance positive, scale away from zero). */
static void add_bn(builder *b, int x, int64_t ch, unsigned seed, const char *out)
{
    static float p[4][64];
    const int64_t d[1] = {ch};
    for (int k = 0; k < 4; k++) fill(p[k], (size_t)ch, seed + (unsigned)k);
    for (int64_t c = 0; c < ch; c++) {
        p[0][c] += p[0][c] < 0 ? -0.75f : 0.75f;
        p[3][c] += 0.6f;
    }
    static const char *const names[4] = {"bn_scale", "bn_bias", "bn_mean", "bn_var"};
    int v[5] = {x};
    for (int k = 0; k < 4; k++) v[k + 1] = b_const(b, names[k], ONYX_DTYPE_FLOAT, 1, d, p[k]);
    ox_node *n = b_node(b, b->g, "BatchNormalization", 5, v, 1, (const char *[]){out}, 1);
    attr_float(n, 0, "epsilon", 1e-3f);
}

/* ---- BatchNormalization into ConvTranspose ------------------------------------------------- */

typedef struct convt_case {
    int nd;       /* spatial dims: 1 or 2 */
    int64_t group;
    bool bias;
} convt_case;

enum { CI = 4, CO = 6 }; /* input and output channels */

/* x [2, CI, 5(, 4)] -> ConvTranspose (W [CI, CO/group, 3(, 3)], strides 2, pads 1) -> c;
 * y [2, CO, 9(, 7)]. */
static int add_convt(builder *b, const convt_case *k, const int64_t *dx, bool f64)
{
    static float w[CI * CO * 9], bb[CO];
    static double wd[CI * CO * 9], bd[CO];
    static int64_t strides[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    const int64_t dw[4] = {CI, CO / k->group, 3, 3}, db[1] = {CO};
    const size_t nw = (size_t)(CI * CO / k->group * (k->nd == 2 ? 9 : 3));
    fill(w, nw, 101);
    fill(bb, CO, 102);
    for (size_t i = 0; i < nw; i++) wd[i] = w[i];
    for (size_t i = 0; i < CO; i++) bd[i] = bb[i];
    const onyx_dtype t = f64 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
    int x = b_input(b, "x", t, 2 + k->nd, dx);
    int wv = b_const(b, "w", t, 2 + k->nd, dw, f64 ? (const void *)wd : w);
    int bv = k->bias ? b_const(b, "b", t, 1, db, f64 ? (const void *)bd : bb) : -1;
    ox_node *n = b_node(b, b->g, "ConvTranspose", k->bias ? 3 : 2, (int[]){x, wv, bv}, 1, (const char *[]){"c"}, 3);
    ints_attr(n, 0, "strides", strides, (size_t)k->nd);
    ints_attr(n, 1, "pads", pads, 2 * (size_t)k->nd);
    attr_int(n, 2, "group", k->group);
    return b_val(b, "c");
}

/* second_reader: c is also read by a Neg whose result is a second output: not folded. */
static void check_bn_convt(const convt_case *k, bool second_reader)
{
    static float xin[2 * CI * 5 * 4], r0[MAXY], r2[MAXY], ro[MAXY];
    const int64_t dx[4] = {2, CI, 5, 4};
    const size_t ny = 2 * CO * 9 * (k->nd == 2 ? 7u : 1u);
    fill(xin, sizeof xin / sizeof *xin, 103);
    builder b;
    b_init(&b, 13, NULL);
    int c = add_convt(&b, k, dx, false);
    add_bn(&b, c, CO, 110, "y");
    b_output(&b, "y");
    if (second_reader) {
        b_node(&b, b.g, "Neg", 1, &c, 1, (const char *[]){"z"}, 0);
        b_output(&b, "z");
    }
    CHECK(b_finish(&b));
    char what[96];
    snprintf(what, sizeof what, "ConvTranspose %d-D group %lld bias %d reader %d", k->nd, (long long)k->group, k->bias,
             second_reader);
    ox_pool pool;
    ox_opt_stats stats;
    ox_graph *g = optimised(b.m, &pool, 2, &stats);
    const bool want = !second_reader;
    CHECK_MSG(g && stats.fired[OX_PASS_BN_CONVTRANSPOSE] == want && count_op(g, "BatchNormalization") == !want &&
                  g->n_nodes == (want ? 1 : 3),
              "%s: fired %lld, %d nodes", what, (long long)stats.fired[OX_PASS_BN_CONVTRANSPOSE], g ? g->n_nodes : -1);
    if (g && want) CHECK_MSG(g->nodes[0].n_in == 3 && g->nodes[0].in[2] >= 0, "%s: no bias", what);
    ox_pool_release(&pool);
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 2 + k->nd, dx, xin);
    CHECK(run_model(b.m, 0, &in, 1, r0, ny));
    CHECK(run_model(b.m, 2, &in, 1, r2, ny));
    check_close(what, r0, r2, ny, 1e-5f);
    /* what onyx optimize writes: standard ops, the same results at opt 0 */
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(count_op(b.m->graph, "BatchNormalization") == !want);
    CHECK(run_model(b.m, 0, &in, 1, ro, ny));
    CHECK(!memcmp(ro, r2, ny * sizeof *ro));
    onyx_model_free(b.m);
}

/* ---- BatchNormalization into MatMul ------------------------------------------------------ */

typedef enum mm_kind {
    MM_2D,         /* A [3, 5] @ B [5, 4] -> BN: a Gemm with a bias */
    MM_2D_RELU,    /* ... -> Relu: in a session, one fused Gemm */
    MM_3D,         /* A [2, 4, 5]: BN's channels are A's rows, not B's columns: left alone */
    MM_READ_TWICE, /* the MatMul output has a second reader: left alone */
} mm_kind;

static void check_bn_matmul(mm_kind kind)
{
    static float a[2 * 4 * 5], bm[5 * 4], r0[64], r2[64], ro[64];
    fill(a, sizeof a / sizeof *a, 201);
    fill(bm, sizeof bm / sizeof *bm, 202);
    const bool three = kind == MM_3D;
    const int64_t da3[3] = {2, 4, 5}, da2[2] = {3, 5}, db[2] = {5, 4};
    const int64_t *da = three ? da3 : da2;
    const size_t ny = three ? 2 * 4 * 4 : 3 * 4;
    builder b;
    b_init(&b, 13, NULL);
    int av = b_input(&b, "a", ONYX_DTYPE_FLOAT, three ? 3 : 2, da);
    int bv = b_const(&b, "b", ONYX_DTYPE_FLOAT, 2, db, bm);
    b_node(&b, b.g, "MatMul", 2, (int[]){av, bv}, 1, (const char *[]){"m"}, 0);
    int m = b_val(&b, "m");
    add_bn(&b, m, 4, 210, kind == MM_2D_RELU ? "n" : "y"); /* 3-D: channels = A's 4 rows */
    if (kind == MM_2D_RELU) b_node(&b, b.g, "Relu", 1, (int[]){b_val(&b, "n")}, 1, (const char *[]){"y"}, 0);
    b_output(&b, "y");
    if (kind == MM_READ_TWICE) {
        b_node(&b, b.g, "Neg", 1, &m, 1, (const char *[]){"z"}, 0);
        b_output(&b, "z");
    }
    CHECK(b_finish(&b));
    const bool want = kind == MM_2D || kind == MM_2D_RELU;
    ox_pool pool;
    ox_opt_stats stats;
    ox_graph *g = optimised(b.m, &pool, 2, &stats);
    CHECK_MSG(g && stats.fired[OX_PASS_BN_MATMUL] == want && count_op(g, "BatchNormalization") == !want &&
                  count_op(g, "Gemm") == want && count_op(g, "MatMul") == !want,
              "matmul kind %d: fired %lld", kind, (long long)stats.fired[OX_PASS_BN_MATMUL]);
    ox_pool_release(&pool);
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, three ? 3 : 2, da, a);
    session_info info;
    CHECK(run_model(b.m, 0, &in, 1, r0, ny));
    CHECK(run_session(b.m, 2, 1, &in, 1, r2, ny, ONYX_DTYPE_FLOAT, &info));
    char what[32];
    snprintf(what, sizeof what, "matmul kind %d", kind);
    check_close(what, r0, r2, ny, 1e-5f);
    if (kind == MM_2D_RELU) CHECK_MSG(info.nodes == 1 && info.linear_fused == 1, "Gemm + Relu: %d nodes", info.nodes);
    if (kind == MM_2D) CHECK(info.nodes == 1);
    if (kind == MM_3D) CHECK(info.nodes == 2);
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(count_op(b.m->graph, "BatchNormalization") == !want && count_op(b.m->graph, "Relu") == (kind == MM_2D_RELU));
    CHECK(run_model(b.m, 0, &in, 1, ro, ny));
    check_close(what, r0, ro, ny, 1e-5f);
    onyx_model_free(b.m);
}

/* ---- activation into ConvTranspose (session only) ---------------------------------------- */

typedef enum act_kind { ACT_RELU, ACT_LEAKY, ACT_SIGMOID, ACT_CLIP, ACT_SILU, ACT_BN_RELU } act_kind;

typedef enum act_flaw {
    FLAW_NONE,
    FLAW_PINNED, /* the ConvTranspose output is a graph output too */
    FLAW_DOUBLE, /* a double ConvTranspose: the epilogue works on float */
} act_flaw;

/* x [1, CI, 32, 32] (1-D: [2, CI, 40]) -> ConvTranspose (stride 2, pad 1, kernel 3) -> act -> y:
 * [1, CO, 63, 63] is large enough for the epilogue to split over threads. */
static void check_act(act_kind act, const convt_case *k, act_flaw flaw)
{
    static float xin[2 * CI * 32 * 32], r0[MAXY], r1[MAXY], r2[MAXY];
    static double xd[2 * CI * 32 * 32], d0[MAXY], d2[MAXY];
    const bool f64 = flaw == FLAW_DOUBLE;
    const int64_t dx2[4] = {1, CI, 32, 32}, dx1[3] = {2, CI, 40};
    const int64_t *dx = k->nd == 2 ? dx2 : dx1;
    const size_t nx = k->nd == 2 ? CI * 32 * 32 : 2 * CI * 40;
    const size_t ny = k->nd == 2 ? CO * 63 * 63 : 2 * CO * 79;
    fill(xin, nx, 301);
    for (size_t i = 0; i < nx; i++) xd[i] = xin[i];
    builder b;
    b_init(&b, 13, NULL);
    int c = add_convt(&b, k, dx, f64);
    const char *const last = "y";
    int y0 = c;
    if (act == ACT_BN_RELU) {
        add_bn(&b, c, CO, 310, "n");
        y0 = b_val(&b, "n");
    }
    switch (act) {
    case ACT_RELU:
    case ACT_BN_RELU: b_node(&b, b.g, "Relu", 1, &y0, 1, (const char *[]){last}, 0); break;
    case ACT_LEAKY: attr_float(b_node(&b, b.g, "LeakyRelu", 1, &y0, 1, (const char *[]){last}, 1), 0, "alpha", 0.2f); break;
    case ACT_SIGMOID: b_node(&b, b.g, "Sigmoid", 1, &y0, 1, (const char *[]){last}, 0); break;
    case ACT_CLIP: {
        const float lo = -0.1f, hi = 0.3f;
        const int64_t scalar[1] = {0};
        int lv = b_const(&b, "lo", ONYX_DTYPE_FLOAT, 0, scalar, &lo), hv = b_const(&b, "hi", ONYX_DTYPE_FLOAT, 0, scalar, &hi);
        b_node(&b, b.g, "Clip", 3, (int[]){y0, lv, hv}, 1, (const char *[]){last}, 0);
        break;
    }
    case ACT_SILU:
        b_node(&b, b.g, "Sigmoid", 1, &y0, 1, (const char *[]){"s"}, 0);
        b_node(&b, b.g, "Mul", 2, (int[]){y0, b_val(&b, "s")}, 1, (const char *[]){last}, 0);
        break;
    }
    b_output(&b, "y");
    if (flaw == FLAW_PINNED) b_output(&b, "c");
    CHECK(b_finish(&b));
    char what[80];
    snprintf(what, sizeof what, "act %d %d-D group %lld bias %d flaw %d", act, k->nd, (long long)k->group, k->bias, flaw);
    const int unfused = b.g->n_nodes;

    /* the pass itself: the optimised copy, then the session-only fusions */
    ox_pool pool;
    ox_opt_stats stats;
    ox_graph *g = optimised(b.m, &pool, 2, &stats);
    char err[256];
    CHECK(g && ox_fuse_epilogues(g, &stats, err, sizeof err) == ONYX_OK);
    const bool want = flaw == FLAW_NONE;
    CHECK_MSG(stats.fired[OX_PASS_ACT_CONVTRANSPOSE] == want && stats.fired[OX_PASS_ACT_CONV] == 0 &&
                  stats.fired[OX_PASS_BN_CONVTRANSPOSE] == (act == ACT_BN_RELU),
              "%s: fired %lld", what, (long long)stats.fired[OX_PASS_ACT_CONVTRANSPOSE]);
    CHECK(ox_pass_session_only(OX_PASS_ACT_CONVTRANSPOSE) && !ox_pass_session_only(OX_PASS_BN_CONVTRANSPOSE));
    ox_pool_release(&pool);

    onyx_tensor in = tensor(f64 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, 2 + k->nd, dx, f64 ? (void *)xd : xin);
    session_info i0, i2;
    if (f64) {
        CHECK(run_session(b.m, 0, 1, &in, 1, d0, ny, ONYX_DTYPE_DOUBLE, &i0));
        CHECK(run_session(b.m, 2, 1, &in, 1, d2, ny, ONYX_DTYPE_DOUBLE, &i2));
        CHECK_MSG(!memcmp(d0, d2, ny * sizeof *d0), "%s: results differ", what);
    } else {
        CHECK(run_session(b.m, 0, 1, &in, 1, r0, ny, ONYX_DTYPE_FLOAT, &i0));
        CHECK(run_session(b.m, 2, 1, &in, 1, r2, ny, ONYX_DTYPE_FLOAT, &i2));
        /* the vector activations are within a few ulps of libm's (absolute 1e-7 in Sigmoid's
         * tails); a folded BN rounds differently */
        check_close(what, r0, r2, ny, act == ACT_BN_RELU ? 1e-5f : 1e-6f);
        CHECK(run_session(b.m, 2, 2, &in, 1, r1, ny, ONYX_DTYPE_FLOAT, NULL));
        CHECK_MSG(!memcmp(r1, r2, ny * sizeof *r1), "%s: 2 threads differ", what);
    }
    CHECK_MSG(i0.nodes == unfused && i0.convt_fused == 0, "%s: %d nodes at opt 0", what, i0.nodes);
    CHECK_MSG(want ? i2.nodes == 1 && i2.convt_fused == 1 : i2.convt_fused == 0 && i2.nodes > 1,
              "%s: %d nodes, %d fused at opt 2", what, i2.nodes, i2.convt_fused);
    CHECK(i2.conv_fused == 0);

    /* never in what onyx optimize writes */
    onyx_error e;
    CHECK(onyx_model_optimize(b.m, 2, &e) == ONYX_OK);
    CHECK(count_op(b.m->graph, "ConvTranspose") == 1);
    for (int n = 0; n < b.m->graph->n_nodes; n++) CHECK(b.m->graph->nodes[n].op != &ox_op_convt_fused);
    onyx_model_free(b.m);
}

/* ---- allocation failures ----------------------------------------------------------------- */

/* ConvTranspose (group 2, no bias) or 2-D MatMul -> BN -> Relu: creating a session (the BN
 * fold makes constants, the epilogue pass attributes, the planner the rest) fails cleanly at
 * each of its allocations in turn: ONYX_E_NOMEM, no session, nothing leaked. */
static void check_alloc_fail(bool matmul)
{
    static float bm[5 * 4];
    fill(bm, sizeof bm / sizeof *bm, 401);
    const int64_t dx[3] = {2, CI, 5}, da[2] = {3, 5}, db[2] = {5, 4};
    counting c = {0};
    builder b;
    b_init(&b, 13, &c);
    int y0;
    if (matmul) {
        int av = b_input(&b, "a", ONYX_DTYPE_FLOAT, 2, da), bv = b_const(&b, "b", ONYX_DTYPE_FLOAT, 2, db, bm);
        b_node(&b, b.g, "MatMul", 2, (int[]){av, bv}, 1, (const char *[]){"c"}, 0);
        add_bn(&b, b_val(&b, "c"), 4, 410, "n");
    } else {
        add_bn(&b, add_convt(&b, &(convt_case){1, 2, false}, dx, false), CO, 420, "n");
    }
    y0 = b_val(&b, "n");
    b_node(&b, b.g, "Relu", 1, &y0, 1, (const char *[]){"y"}, 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.threads = 1;
    onyx_error err;
    long start = c.calls, live = c.live;
    onyx_session *s = NULL;
    CHECK(onyx_session_create(b.m, &so, &s, &err) == ONYX_OK && s && s->g->n_nodes == 1);
    onyx_session_free(s);
    long calls = c.calls - start, bad = 0;
    for (long n = 1; n <= calls; n++) {
        c.fail_at = c.calls + n;
        s = NULL;
        onyx_status st = onyx_session_create(b.m, &so, &s, &err);
        if (st != ONYX_E_NOMEM || s || c.live != live) bad++;
        onyx_session_free(s);
    }
    CHECK_MSG(bad == 0 && calls > 1, "%s: %ld of %ld failed allocations misbehaved", matmul ? "MatMul" : "ConvTranspose",
              bad, calls);
    c.fail_at = 0;
    onyx_model_free(b.m);
    CHECK(c.live == 0);
}

int main(void)
{
    for (int nd = 1; nd <= 2; nd++)
        for (int64_t group = 1; group <= 2; group++)
            for (int bias = 0; bias < 2; bias++) check_bn_convt(&(convt_case){nd, group, bias}, false);
    check_bn_convt(&(convt_case){2, 2, true}, true);
    check_bn_convt(&(convt_case){1, 1, false}, true);

    for (int k = MM_2D; k <= MM_READ_TWICE; k++) check_bn_matmul((mm_kind)k);

    const convt_case plain = {2, 1, true};
    for (int a = ACT_RELU; a <= ACT_BN_RELU; a++) check_act((act_kind)a, &plain, FLAW_NONE);
    check_act(ACT_RELU, &(convt_case){1, 2, false}, FLAW_NONE);
    check_act(ACT_LEAKY, &(convt_case){1, 2, true}, FLAW_NONE);
    check_act(ACT_BN_RELU, &(convt_case){1, 2, false}, FLAW_NONE);
    check_act(ACT_RELU, &plain, FLAW_PINNED);
    check_act(ACT_RELU, &plain, FLAW_DOUBLE);

    check_alloc_fail(false);
    check_alloc_fail(true);
    return check_report("fold_convt");
}
