/* test_fold_conv.c — what a Conv absorbs from its neighbours:
 *   - residual Add (session only, fuse_act.c): Conv -> Add(r) [-> Relu] becomes one fused
 *     node whose results are bit-identical to the unfused graph (same additions in the same
 *     order) on the 1x1, depthwise and im2col paths, at 1, 2 and 4 threads; not fused when r
 *     broadcasts, r's shape is not static, or the Conv output is read elsewhere or pinned;
 *   - Mul/Div/Add/Sub by per-channel constants into weights and bias (level 2,
 *     fold_into_conv.c): fused graph equals the unfused one within float rounding; not
 *     folded for constants that are not per channel, a zero divisor, a Conv output read twice;
 *   - zero Pad into Conv and AveragePool(count_include_pad=1) pads (level 2); not into MaxPool,
 *     AveragePool without count_include_pad, a nonzero value, reflect mode, channel padding.
 * Level 2 results are also what onyx_model_optimize (`onyx optimize`) keeps: standard ops. */
#include "activation.h"
#include "opt_builder.h"

#define MAXN 4096
#define MAXR (2 * 16 * 48 * 48) /* the largest residual case */

static void ints_attr(ox_node *n, int k, const char *name, int64_t *v, size_t count)
{
    n->attr[k].name = name;
    n->attr[k].type = OX_ATTR_INTS;
    n->attr[k].ints = v;
    n->attr[k].n = count;
}

/* ---- residual Add ------------------------------------------------------------------------ */

typedef enum res_kind {
    RES_PLAIN,       /* Add(c, r) -> Relu */
    RES_SWAPPED,     /* Add(r, c) -> Relu */
    RES_NO_ACT,      /* Add(c, r) is the output */
    RES_TWO_CONVS,   /* Add(conv(x), conv2(x)) -> Relu: the downsample block */
    RES_BROADCAST,   /* r is [1, M, 1, 1]: not fused */
    RES_SYMBOLIC,    /* x's batch is symbolic: r's shape is not static, not fused */
    RES_PINNED,      /* c is a graph output too: not fused */
} res_kind;

typedef enum conv_path { PATH_IM2COL, PATH_POINTWISE, PATH_DEPTHWISE } conv_path;

/* The residual cases' sizes: small, and one large enough that the epilogue runs on threads. */
static int64_t RN = 2, RC = 4, RH = 6, RW = 7;

/* x [RN,RC,RH,RW] -> Conv (path; M = RC, same spatial size) -> c; r an input -> Add -> [Relu] -> y */
static void build_residual(builder *b, res_kind kind, conv_path path, bool bias)
{
    static float w[16 * 16 * 9], w2[16 * 16], bb[16];
    fill(w, (size_t)(RC * RC * 9), 11);
    fill(w2, (size_t)(RC * RC), 12);
    fill(bb, RC, 13);
    static int64_t pads1[4] = {1, 1, 1, 1};
    int64_t dx[4] = {kind == RES_SYMBOLIC ? -1 : RN, RC, RH, RW}, dr[4] = {RN, RC, RH, RW};
    int64_t dwk[4] = {RC, path == PATH_DEPTHWISE ? 1 : RC, path == PATH_POINTWISE ? 1 : 3,
                      path == PATH_POINTWISE ? 1 : 3};
    int64_t dw2[4] = {RC, RC, 1, 1}, db[1] = {RC};
    if (kind == RES_BROADCAST) dr[0] = 1, dr[2] = dr[3] = 1;
    b_init(b, 13, NULL);
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, 4, dx);
    int r = kind == RES_TWO_CONVS ? -1 : b_input(b, "r", ONYX_DTYPE_FLOAT, 4, dr);
    int wv = b_const(b, "w", ONYX_DTYPE_FLOAT, 4, dwk, w);
    int bv = bias ? b_const(b, "b", ONYX_DTYPE_FLOAT, 1, db, bb) : -1;
    int n_attr = (path != PATH_POINTWISE) + (path == PATH_DEPTHWISE);
    ox_node *cv = b_node(b, b->g, "Conv", bias ? 3 : 2, (int[]){x, wv, bv}, 1, (const char *[]){"c"}, n_attr);
    if (path != PATH_POINTWISE) ints_attr(cv, 0, "pads", pads1, 4);
    if (path == PATH_DEPTHWISE) attr_int(cv, 1, "group", RC);
    if (kind == RES_TWO_CONVS) {
        int w2v = b_const(b, "w2", ONYX_DTYPE_FLOAT, 4, dw2, w2);
        b_node(b, b->g, "Conv", 2, (int[]){x, w2v}, 1, (const char *[]){"d"}, 0);
        r = b_val(b, "d");
    }
    int c = b_val(b, "c");
    const char *sum = kind == RES_NO_ACT ? "y" : "s";
    b_node(b, b->g, "Add", 2, kind == RES_SWAPPED ? (int[]){r, c} : (int[]){c, r}, 1, (const char *[]){sum}, 0);
    if (kind != RES_NO_ACT) b_node(b, b->g, "Relu", 1, (int[]){b_val(b, "s")}, 1, (const char *[]){"y"}, 0);
    b_output(b, "y");
    if (kind == RES_PINNED) b_output(b, "c");
    CHECK(b_finish(b));
}

static void check_residual(res_kind kind, conv_path path, bool bias)
{
    static float xin[MAXR], rin[MAXR], r0[MAXR], r2[MAXR], rt[MAXR];
    const size_t ny = (size_t)(RN * RC * RH * RW);
    fill(xin, ny, 21);
    fill(rin, ny, 22);
    int64_t dx[4] = {RN, RC, RH, RW}, dr[4] = {RN, RC, RH, RW};
    if (kind == RES_BROADCAST) dr[0] = 1, dr[2] = dr[3] = 1;
    onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 4, dx, xin), tensor(ONYX_DTYPE_FLOAT, 4, dr, rin)};
    size_t n_in = kind == RES_TWO_CONVS ? 1 : 2;
    builder b;
    build_residual(&b, kind, path, bias);
    session_info i0 = {0}, i2 = {0};
    CHECK(run_session(b.m, 0, 1, in, n_in, r0, ny, ONYX_DTYPE_FLOAT, &i0));
    CHECK(run_session(b.m, 2, 1, in, n_in, r2, ny, ONYX_DTYPE_FLOAT, &i2));
    bool want = kind != RES_BROADCAST && kind != RES_SYMBOLIC && kind != RES_PINNED;
    CHECK_MSG(i2.residual == want && !i0.residual, "kind %d path %d: residual fused %d", kind, path, i2.residual);
    if (want) {
        int expect_nodes = kind == RES_TWO_CONVS ? 2 : 1;
        CHECK_MSG(i2.nodes == expect_nodes && i2.conv_fused == 1, "kind %d path %d: %d nodes", kind, path, i2.nodes);
    }
    /* the same additions in the same order: the same bits */
    CHECK_MSG(!memcmp(r0, r2, ny * sizeof *r0), "kind %d path %d: differs by %g", kind, path,
              (double)max_diff(r0, r2, ny));
    for (int threads = 2; threads <= 4; threads *= 2) {
        CHECK(run_session(b.m, 2, threads, in, n_in, rt, ny, ONYX_DTYPE_FLOAT, NULL));
        CHECK_MSG(!memcmp(rt, r2, ny * sizeof *rt), "kind %d path %d: %d threads differ", kind, path, threads);
    }
    /* never in what onyx optimize writes */
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(count_op(b.m->graph, "Add") == 1);
    for (int i = 0; i < b.m->graph->n_nodes; i++) CHECK(b.m->graph->nodes[i].op != &ox_op_conv_fused);
    onyx_model_free(b.m);
}

/* Reading the same value twice, Add(c, c) has no residual to fuse (c is read twice). */
static void check_residual_read_twice(void)
{
    static float xin[MAXR], r0[MAXR], r2[MAXR];
    static float w[16 * 16];
    const size_t ny = (size_t)(RN * RC * RH * RW);
    fill(xin, ny, 31);
    fill(w, RC * RC, 32);
    int64_t dx[4] = {RN, RC, RH, RW}, dwk[4] = {RC, RC, 1, 1};
    builder b;
    b_init(&b, 13, NULL);
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 4, dx);
    int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 4, dwk, w);
    b_node(&b, b.g, "Conv", 2, (int[]){x, wv}, 1, (const char *[]){"c"}, 0);
    int c = b_val(&b, "c");
    b_node(&b, b.g, "Add", 2, (int[]){c, c}, 1, (const char *[]){"y"}, 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, dx, xin);
    session_info info = {0};
    CHECK(run_model(b.m, 0, &in, 1, r0, ny));
    CHECK(run_session(b.m, 2, 1, &in, 1, r2, ny, ONYX_DTYPE_FLOAT, &info));
    CHECK(info.residual == 0 && info.nodes == 2);
    CHECK(!memcmp(r0, r2, ny * sizeof *r0));
    onyx_model_free(b.m);
}

/* The kernel itself: portable and AVX2 residual epilogues agree with act((y + b) + r). */
static void check_residual_kernel(void)
{
    enum { N = 37 };
    float y[N], r[N], yp[N], yv[N];
    fill(y, N, 41);
    fill(r, N, 42);
    y[3] = -0.0f, r[3] = -0.0f; /* -0 + -0 stays -0 with no bias */
    ox_act relu = {OX_ACT_RELU, 0, 0}, none = {OX_ACT_NONE, 0, 0};
    for (int bias_on = 0; bias_on < 2; bias_on++)
        for (int a = 0; a < 2; a++) {
            const ox_act *act = a ? &relu : &none;
            float bias = bias_on ? 0.25f : 0.0f;
            memcpy(yp, y, sizeof y);
            memcpy(yv, y, sizeof y);
            ox_act_bias_res_f32_portable(act, bias, r, yp, N);
            bool avx = ox_act_bias_res_f32_avx2(act, bias, r, yv, N);
            for (int i = 0; i < N; i++) {
                float s = (bias_on ? y[i] + bias : y[i]) + r[i];
                float want = a && s < 0 ? 0.0f : s;
#if defined(__wasm__) /* clang 14 makes `x < 0 ? 0 : x` wasm's max, +0 for -0 (LLVM issue 93414) */
                const bool zero_sign_ok = a && yp[i] == 0 && want == 0;
#else
                const bool zero_sign_ok = false;
#endif
                CHECK_MSG(!memcmp(&yp[i], &want, sizeof want) || zero_sign_ok, "portable %d: %g vs %g", i,
                          (double)yp[i], (double)want);
                if (avx) CHECK_MSG(!memcmp(&yv[i], &yp[i], sizeof want) || (a && yv[i] == 0 && yp[i] == 0),
                                   "avx2 %d: %g vs %g", i, (double)yv[i], (double)yp[i]);
            }
            if (!bias_on && !a) CHECK(signbit(yp[3]));
        }
}

/* ---- Mul / Div / Add / Sub by per-channel constants ---------------------------------------- */

typedef struct chan_case {
    const char *op;
    int rank;          /* of the constant */
    int64_t dims[4];
    bool conv_first;   /* Conv output is input 0 */
    bool bias;
    bool folds;
    bool zero;         /* a zero among the constants */
} chan_case;

enum { CM = 3 };

static void check_channel(const chan_case *k, bool read_twice)
{
    static float w[CM * 2 * 9], bb[CM], cst[64], xin[2 * 2 * 5 * 5], r0[MAXN], r2[MAXN], ro[MAXN];
    fill(w, sizeof w / sizeof *w, 51);
    fill(bb, CM, 52);
    int64_t n = 1;
    for (int d = 0; d < k->rank; d++) n *= k->dims[d];
    fill(cst, (size_t)n, 53);
    for (int64_t i = 0; i < n; i++) cst[i] += 1.0f; /* away from zero */
    if (k->zero) cst[0] = 0.0f;
    const int64_t dx[4] = {2, 2, 5, 5}, dwk[4] = {CM, 2, 3, 3}, db[1] = {CM};
    const size_t ny = 2 * CM * 3 * 3;
    fill(xin, sizeof xin / sizeof *xin, 54);
    builder b;
    b_init(&b, 13, NULL);
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 4, dx);
    int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 4, dwk, w);
    int bv = k->bias ? b_const(&b, "b", ONYX_DTYPE_FLOAT, 1, db, bb) : -1;
    int cv = b_const(&b, "k", ONYX_DTYPE_FLOAT, k->rank, k->dims, cst);
    b_node(&b, b.g, "Conv", k->bias ? 3 : 2, (int[]){x, wv, bv}, 1, (const char *[]){"c"}, 0);
    int c = b_val(&b, "c");
    b_node(&b, b.g, k->op, 2, k->conv_first ? (int[]){c, cv} : (int[]){cv, c}, 1, (const char *[]){"y"}, 0);
    b_output(&b, "y");
    if (read_twice) {
        b_node(&b, b.g, "Neg", 1, &c, 1, (const char *[]){"z"}, 0);
        b_output(&b, "z");
    }
    CHECK(b_finish(&b));
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, dx, xin);
    const size_t out_n = ny; /* every constant here broadcasts within the output */
    CHECK(run_model(b.m, 0, &in, 1, r0, out_n));
    CHECK(run_model(b.m, 2, &in, 1, r2, out_n));
    ox_pool pool;
    ox_opt_stats stats;
    ox_graph *g = optimised(b.m, &pool, 2, &stats);
    CHECK(g);
    bool want = k->folds && !read_twice;
    int64_t fired = g ? stats.fired[OX_PASS_MUL_CONV] + stats.fired[OX_PASS_ADD_CONV] : -1;
    CHECK_MSG(fired == (want ? 1 : 0) && g->n_nodes == (want ? 1 : 2 + read_twice), "%s rank %d: fired %lld, %d nodes", k->op,
              k->rank, (long long)fired, g ? g->n_nodes : -1);
    ox_pool_release(&pool);
    float d = max_diff(r0, r2, out_n), scale = 0;
    for (size_t i = 0; i < out_n; i++) scale = fmaxf(scale, fabsf(r0[i]));
    CHECK_MSG(d <= 1e-6f * (scale + 1), "%s rank %d: differs by %g", k->op, k->rank, (double)d);
    /* written out (onyx_model_optimize): standard ops, same results at opt 0 */
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(count_op(b.m->graph, k->op) == !want);
    CHECK(run_model(b.m, 0, &in, 1, ro, out_n));
    CHECK(!memcmp(ro, r2, out_n * sizeof *ro));
    onyx_model_free(b.m);
}

/* Conv -> BN-free Mul -> Add chain: both fold, and Conv -> Mul -> Relu keeps the Relu. */
static void check_channel_chain(void)
{
    static float w[CM * 2 * 9], s[CM], t[CM], xin[2 * 2 * 5 * 5], r0[MAXN], r2[MAXN];
    fill(w, sizeof w / sizeof *w, 61);
    fill(s, CM, 62);
    fill(t, CM, 63);
    fill(xin, sizeof xin / sizeof *xin, 64);
    const int64_t dx[4] = {2, 2, 5, 5}, dwk[4] = {CM, 2, 3, 3}, dc[3] = {CM, 1, 1};
    builder b;
    b_init(&b, 13, NULL);
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 4, dx);
    int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 4, dwk, w);
    int sv = b_const(&b, "s", ONYX_DTYPE_FLOAT, 3, dc, s), tv = b_const(&b, "t", ONYX_DTYPE_FLOAT, 3, dc, t);
    b_node(&b, b.g, "Conv", 2, (int[]){x, wv}, 1, (const char *[]){"c"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){b_val(&b, "c"), sv}, 1, (const char *[]){"m"}, 0);
    b_node(&b, b.g, "Add", 2, (int[]){tv, b_val(&b, "m")}, 1, (const char *[]){"a"}, 0);
    b_node(&b, b.g, "Relu", 1, (int[]){b_val(&b, "a")}, 1, (const char *[]){"y"}, 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, dx, xin);
    const size_t ny = 2 * CM * 3 * 3;
    CHECK(run_model(b.m, 0, &in, 1, r0, ny));
    CHECK(run_model(b.m, 2, &in, 1, r2, ny));
    CHECK(max_diff(r0, r2, ny) <= 1e-6f);
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(b.m->graph->n_nodes == 2 && count_op(b.m->graph, "Relu") == 1);
    onyx_model_free(b.m);
}

/* ---- Pad into Conv / AveragePool --------------------------------------------------------- */

typedef enum pad_kind {
    PAD_CONV,          /* opset 13 Pad -> Conv with pads: folds */
    PAD_CONV_OPSET10,  /* pads as attribute: folds */
    PAD_AVG_INCLUDE,   /* -> AveragePool count_include_pad=1: folds */
    PAD_AVG_CEIL,      /* the same with ceil_mode: no (a last window starting in the Pad's zeros
                        * would start in the pool's padding after folding and be dropped) */
    PAD_AVG_EXCLUDE,   /* count_include_pad=0: no */
    PAD_MAXPOOL,       /* no */
    PAD_VALUE,         /* constant_value 1: no */
    PAD_REFLECT,       /* mode reflect: no */
    PAD_CHANNELS,      /* pads on the channel axis: no */
} pad_kind;

static void check_pad(pad_kind kind)
{
    static float w[3 * 2 * 9], xin[2 * 2 * 6 * 5], r0[MAXN], r2[MAXN], ro[MAXN];
    static int64_t pads13[8], conv_pads[4] = {1, 0, 0, 1}, kernel[2] = {3, 3}, strides[2] = {2, 2};
    const int64_t pads_src[8] = {0, 0, 1, 2, 0, 0, 2, 1};
    memcpy(pads13, pads_src, sizeof pads13);
    if (kind == PAD_CHANNELS) pads13[1] = 1;
    fill(w, sizeof w / sizeof *w, 71);
    fill(xin, sizeof xin / sizeof *xin, 72);
    for (size_t i = 0; i < sizeof xin / sizeof *xin; i++) xin[i] += 0.75f; /* MaxPool would see the zeros */
    const int64_t dx[4] = {2, 2, 6, 5}, dwk[4] = {3, 2, 3, 3}, dp[1] = {8}, scalar[1] = {0};
    const bool conv = kind == PAD_CONV || kind == PAD_CONV_OPSET10 || kind == PAD_VALUE || kind == PAD_REFLECT ||
                      kind == PAD_CHANNELS;
    builder b;
    b_init(&b, kind == PAD_CONV_OPSET10 ? 10 : 13, NULL);
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 4, dx);
    ox_node *pd;
    if (kind == PAD_CONV_OPSET10) {
        pd = b_node(&b, b.g, "Pad", 1, &x, 1, (const char *[]){"p"}, 1);
        ints_attr(pd, 0, "pads", pads13, 8);
    } else {
        int pv = b_const(&b, "pads", ONYX_DTYPE_INT64, 1, dp, pads13);
        float one = 1.0f, zero = 0.0f;
        int vv = b_const(&b, "val", ONYX_DTYPE_FLOAT, 0, scalar, kind == PAD_VALUE ? &one : &zero);
        pd = b_node(&b, b.g, "Pad", 3, (int[]){x, pv, vv}, 1, (const char *[]){"p"}, kind == PAD_REFLECT);
        if (kind == PAD_REFLECT) {
            pd->attr[0].name = "mode";
            pd->attr[0].type = OX_ATTR_STRING;
            pd->attr[0].s = "reflect";
            pd->attr[0].s_len = 7;
        }
    }
    int p = b_val(&b, "p");
    const char *op = conv ? "Conv" : kind == PAD_MAXPOOL ? "MaxPool" : "AveragePool";
    if (conv) {
        int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 4, dwk, w);
        ox_node *cv = b_node(&b, b.g, "Conv", 2, (int[]){p, wv}, 1, (const char *[]){"y"}, 1);
        ints_attr(cv, 0, "pads", conv_pads, 4);
    } else {
        ox_node *pl = b_node(&b, b.g, op, 1, &p, 1, (const char *[]){"y"}, kind == PAD_MAXPOOL ? 4 : 5);
        ints_attr(pl, 0, "kernel_shape", kernel, 2);
        ints_attr(pl, 1, "strides", strides, 2);
        ints_attr(pl, 2, "pads", conv_pads, 4);
        attr_int(pl, 3, "ceil_mode", kind == PAD_AVG_CEIL);
        if (kind != PAD_MAXPOOL) attr_int(pl, 4, "count_include_pad", kind != PAD_AVG_EXCLUDE);
    }
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, dx, xin);
    /* output: padded [2, 2 (+1), 9, 8] + own pads -> conv 3x3 [2,3,8,7]; pool 3x3 s2 [2,2,4,4],
     * with ceil_mode [2,2,5,4] */
    const size_t ny = conv ? (kind == PAD_CHANNELS ? 0 : 2 * 3 * 8 * 7) : kind == PAD_AVG_CEIL ? 2 * 2 * 5 * 4 : 2 * 2 * 4 * 4;
    const bool want = kind == PAD_CONV || kind == PAD_CONV_OPSET10 || kind == PAD_AVG_INCLUDE;
    ox_pool pool;
    ox_opt_stats stats;
    ox_graph *g = optimised(b.m, &pool, 2, &stats);
    CHECK_MSG(g && stats.fired[OX_PASS_PAD_CONV] == want && g->n_nodes == 2 - want, "pad kind %d: fired %lld", kind,
              g ? (long long)stats.fired[OX_PASS_PAD_CONV] : -1LL);
    ox_pool_release(&pool);
    if (ny) { /* channel padding makes the Conv invalid (3 channels for a 2-channel W): no run */
        CHECK(run_model(b.m, 0, &in, 1, r0, ny));
        CHECK(run_model(b.m, 2, &in, 1, r2, ny));
        float d = max_diff(r0, r2, ny);
        CHECK_MSG(d <= 1e-6f, "pad kind %d: differs by %g", kind, (double)d);
        onyx_error err;
        CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
        CHECK(count_op(b.m->graph, "Pad") == !want);
        CHECK(run_model(b.m, 0, &in, 1, ro, ny));
        CHECK(!memcmp(ro, r2, ny * sizeof *ro));
    }
    onyx_model_free(b.m);
}

int main(void)
{
    check_residual_kernel();
    const res_kind kinds[] = {RES_PLAIN, RES_SWAPPED, RES_NO_ACT, RES_TWO_CONVS, RES_BROADCAST, RES_SYMBOLIC, RES_PINNED};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int path = 0; path < 3; path++) check_residual(kinds[k], (conv_path)path, true);
    check_residual(RES_PLAIN, PATH_IM2COL, false);
    check_residual(RES_PLAIN, PATH_DEPTHWISE, false);
    check_residual(RES_NO_ACT, PATH_POINTWISE, false);
    RN = 1, RC = 16, RH = 48, RW = 48; /* 36864 outputs: the epilogue forks */
    for (int path = 0; path < 3; path++) check_residual(RES_PLAIN, (conv_path)path, true);
    check_residual(RES_TWO_CONVS, PATH_IM2COL, true);
    RN = 2, RC = 4, RH = 6, RW = 7;
    check_residual_read_twice();

    const chan_case chans[] = {
        {"Mul", 3, {CM, 1, 1}, true, true, true, false},
        {"Mul", 4, {1, CM, 1, 1}, false, true, true, false},
        {"Mul", 0, {0}, true, false, true, false},  /* scalar, no bias */
        {"Div", 3, {CM, 1, 1}, true, true, true, false},
        {"Div", 3, {CM, 1, 1}, true, true, false, true}, /* a zero divisor: no */
        {"Add", 3, {CM, 1, 1}, false, true, true, false},
        {"Add", 1, {1}, true, false, true, false},  /* no bias: one is made */
        {"Sub", 4, {1, CM, 1, 1}, true, true, true, false},
        {"Sub", 3, {CM, 1, 1}, false, true, false, false}, /* c - conv: no */
        {"Mul", 4, {1, 1, 1, 3}, true, true, false, false}, /* along W, not channels: no */
    };
    for (size_t k = 0; k < sizeof chans / sizeof chans[0]; k++) check_channel(&chans[k], false);
    check_channel(&chans[0], true);
    check_channel(&chans[5], true);
    check_channel_chain();

    for (int k = PAD_CONV; k <= PAD_CHANNELS; k++) check_pad((pad_kind)k);
    return check_report("fold_conv");
}
