/* test_opt.c — the graph optimiser on hand-built graphs: each pass fires where it may and
 * not where it must not, results at --opt 2 equal those at --opt 0 (within float rounding),
 * the model stays untouched, values bodies read stay produced, allocation failures give
 * ONYX_E_NOMEM without leaks, and optimised graphs survive onyx_model_save_file and a reload. */
#include <unistd.h>

#include "opt_builder.h"
#include "tmp_path.h"

/* ---- clean-up passes ------------------------------------------------------------------- */

static void test_identity_and_dead(void)
{
    builder b;
    b_init(&b, 17, NULL);
    const int64_t d4[] = {4};
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 1, d4);
    b_node(&b, b.g, "Identity", 1, (int[]){x}, 1, (const char *[]){"a"}, 0);
    b_node(&b, b.g, "Identity", 1, (int[]){b_val(&b, "a")}, 1, (const char *[]){"b"}, 0);
    b_node(&b, b.g, "Relu", 1, (int[]){b_val(&b, "b")}, 1, (const char *[]){"y"}, 0);
    b_node(&b, b.g, "Identity", 1, (int[]){b_val(&b, "y")}, 1, (const char *[]){"y_out"}, 0); /* an output: stays */
    b_node(&b, b.g, "Sigmoid", 1, (int[]){x}, 1, (const char *[]){"unused"}, 0);
    b_node(&b, b.g, "Neg", 1, (int[]){b_val(&b, "unused")}, 1, (const char *[]){"unused2"}, 0);
    b_node(&b, b.g, "RandomNormalLike", 1, (int[]){x}, 1, (const char *[]){"noise"}, 0);
    b_output(&b, "y_out");
    b_output(&b, "a"); /* a graph output fed by an Identity: stays, but Relu's chain may skip it */
    CHECK(b_finish(&b));

    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 1, &st);
    CHECK(g != NULL);
    if (g) {
        CHECK(g->n_nodes == 3); /* Identity x->a (output), Relu, Identity y->y_out */
        CHECK(count_op(g, "Identity") == 2 && count_op(g, "Relu") == 1);
        CHECK(st.fired[OX_PASS_IDENTITY] == 1);
        CHECK(st.fired[OX_PASS_DEAD_NODE] == 3);
        for (int i = 0; i < g->n_nodes; i++)
            if (!strcmp(g->nodes[i].op_type, "Relu")) CHECK(g->nodes[i].in[0] == b_val(&b, "a"));
        CHECK(b.m->graph->n_nodes == 7); /* the model is untouched */
    }
    ox_pool_release(&pool);

    float xin[4] = {-1, 2, -3, 4}, r0[4], r1[4];
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 1, d4, xin);
    CHECK(run_model(b.m, 0, &in, 1, r0, 4) && run_model(b.m, 1, &in, 1, r1, 4));
    CHECK(max_diff(r0, r1, 4) == 0 && r1[1] == 2 && r1[0] == 0);
    onyx_model_free(b.m);
}

static void test_dropout_and_cast(void)
{
    builder b;
    b_init(&b, 13, NULL);
    const int64_t d3[] = {3};
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 1, d3);
    int train = b_input(&b, "train", ONYX_DTYPE_BOOL, 0, NULL);
    uint8_t no = 0;
    float ratio = 0.5f;
    int f = b_const(&b, "f", ONYX_DTYPE_BOOL, 0, NULL, &no);
    int r = b_const(&b, "ratio", ONYX_DTYPE_FLOAT, 0, NULL, &ratio);
    b_node(&b, b.g, "Dropout", 3, (int[]){x, r, f}, 1, (const char *[]){"d1"}, 0);      /* goes */
    b_node(&b, b.g, "Dropout", 3, (int[]){b_val(&b, "d1"), r, train}, 1, (const char *[]){"d2"}, 0); /* stays */
    b_node(&b, b.g, "Dropout", 1, (int[]){b_val(&b, "d2")}, 2, (const char *[]){"d3", "mask"}, 0); /* mask used */
    ox_node *c1 = b_node(&b, b.g, "Cast", 1, (int[]){b_val(&b, "d3")}, 1, (const char *[]){"c1"}, 1);
    attr_int(c1, 0, "to", ONYX_DTYPE_INT32); /* d3's type is unknown without shapes: stays */
    ox_node *c2 = b_node(&b, b.g, "Cast", 1, (int[]){b_val(&b, "c1")}, 1, (const char *[]){"c2"}, 1);
    attr_int(c2, 0, "to", ONYX_DTYPE_INT32); /* c1 is int32: goes */
    ox_node *c3 = b_node(&b, b.g, "Cast", 1, (int[]){b_val(&b, "c2")}, 1, (const char *[]){"c3"}, 1);
    attr_int(c3, 0, "to", ONYX_DTYPE_FLOAT);
    ox_node *c4 = b_node(&b, b.g, "Cast", 1, (int[]){x}, 1, (const char *[]){"c4"}, 1);
    attr_int(c4, 0, "to", ONYX_DTYPE_FLOAT); /* x is declared float: goes */
    b_node(&b, b.g, "Add", 2, (int[]){b_val(&b, "c3"), b_val(&b, "c4")}, 1, (const char *[]){"y"}, 0);
    b_node(&b, b.g, "Cast", 1, (int[]){b_val(&b, "mask")}, 1, (const char *[]){"m"}, 1);
    attr_int(&b.g->nodes[b.g->n_nodes - 1], 0, "to", ONYX_DTYPE_FLOAT);
    b_output(&b, "y");
    b_output(&b, "m");
    CHECK(b_finish(&b));

    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 1, &st);
    CHECK(g != NULL);
    if (g) {
        CHECK(st.fired[OX_PASS_DROPOUT] == 1);
        CHECK(st.fired[OX_PASS_CAST] == 2);
        CHECK(count_op(g, "Dropout") == 2 && count_op(g, "Cast") == 3);
    }
    ox_pool_release(&pool);

    float xin[3] = {1.5f, -2.25f, 3.75f}, r0[3], r2[3];
    uint8_t tr = 0;
    onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 1, d3, xin), tensor(ONYX_DTYPE_BOOL, 0, NULL, &tr)};
    CHECK(run_model(b.m, 0, in, 2, r0, 3) && run_model(b.m, 2, in, 2, r2, 3));
    CHECK(max_diff(r0, r2, 3) == 0 && r2[0] == 2.5f);
    onyx_model_free(b.m);
}

/* ---- folds ----------------------------------------------------------------------------- */

static const int64_t conv_x[] = {1, 2, 5, 5}, conv_w[] = {3, 2, 3, 3}, d_3[] = {3};

/* x -> Conv(w, b) -> BN -> y; with `also_used`, the Conv output is a graph output too. */
static void build_conv_bn(builder *b, bool also_used, bool with_bias, counting *c)
{
    static float w[54], bias[3], scale[3] = {0.5f, 1.5f, -1}, shift[3] = {0.1f, -0.2f, 0.3f}, mean[3] = {0.05f, -0.1f, 0},
                                        var[3] = {0.5f, 2, 1};
    fill(w, 54, 1);
    fill(bias, 3, 2);
    b_init(b, 13, c);
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, 4, conv_x);
    int wv = b_const(b, "w", ONYX_DTYPE_FLOAT, 4, conv_w, w);
    int bv = b_const(b, "b", ONYX_DTYPE_FLOAT, 1, d_3, bias);
    ox_node *cv = b_node(b, b->g, "Conv", with_bias ? 3 : 2, (int[]){x, wv, bv}, 1, (const char *[]){"c"}, 1);
    cv->attr[0].name = "pads";
    cv->attr[0].type = OX_ATTR_INTS;
    static int64_t pads[4] = {1, 1, 1, 1};
    cv->attr[0].ints = pads;
    cv->attr[0].n = 4;
    int p[4] = {b_const(b, "scale", ONYX_DTYPE_FLOAT, 1, d_3, scale), b_const(b, "shift", ONYX_DTYPE_FLOAT, 1, d_3, shift),
                b_const(b, "mean", ONYX_DTYPE_FLOAT, 1, d_3, mean), b_const(b, "var", ONYX_DTYPE_FLOAT, 1, d_3, var)};
    ox_node *bn = b_node(b, b->g, "BatchNormalization", 5, (int[]){b_val(b, "c"), p[0], p[1], p[2], p[3]}, 1,
                         (const char *[]){"y"}, 1);
    attr_float(bn, 0, "epsilon", 1e-3f);
    b_output(b, "y");
    if (also_used) b_output(b, "c");
    CHECK(b_finish(b));
}

static void test_bn_into_conv(void)
{
    float xin[50], r0[75], r2[75];
    fill(xin, 50, 3);
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, conv_x, xin);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        builder b;
        build_conv_bn(&b, false, with_bias, NULL);
        ox_pool pool;
        ox_opt_stats st;
        ox_graph *g = optimised(b.m, &pool, 2, &st);
        CHECK(g && g->n_nodes == 1 && count_op(g, "Conv") == 1 && st.fired[OX_PASS_BN_CONV] == 1);
        if (g) CHECK(g->nodes[0].n_in == 3 && g->values[g->nodes[0].in[1]].init && g->nodes[0].out[0] == b_val(&b, "y"));
        ox_pool_release(&pool);
        g = optimised(b.m, &pool, 1, &st); /* level 1 does not fold */
        CHECK(g && g->n_nodes == 2);
        ox_pool_release(&pool);
        CHECK(b.m->graph->n_nodes == 2 && b.m->graph->nodes[0].n_in == 2 + with_bias);
        CHECK(run_model(b.m, 0, &in, 1, r0, 75) && run_model(b.m, 2, &in, 1, r2, 75));
        CHECK_MSG(max_diff(r0, r2, 75) < 1e-5f, "diff %g", (double)max_diff(r0, r2, 75));
        onyx_model_free(b.m);
    }
    /* the Conv's output is also read elsewhere: BN stays */
    builder b;
    build_conv_bn(&b, true, true, NULL);
    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 2, &st);
    CHECK(g && g->n_nodes == 2 && st.fired[OX_PASS_BN_CONV] == 0);
    ox_pool_release(&pool);
    onyx_model_free(b.m);
}

/* A Gemm (transB, bias row, beta) then BatchNormalization over its columns. */
static void test_bn_into_gemm(void)
{
    for (int trans = 0; trans < 2; trans++) {
        builder b;
        b_init(&b, 15, NULL);
        const int64_t dx[] = {4, 3}, dw[] = {trans ? 5 : 3, trans ? 3 : 5}, d5[] = {5}, d15[] = {1, 5};
        float w[15], c[5], scale[5], shift[5], mean[5], var[5] = {1, 2, 0.5f, 1.5f, 3};
        fill(w, 15, 4);
        fill(c, 5, 5);
        fill(scale, 5, 6);
        fill(shift, 5, 7);
        fill(mean, 5, 8);
        int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 2, dx);
        int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 2, dw, w);
        int cv = b_const(&b, "c", ONYX_DTYPE_FLOAT, trans ? 2 : 1, trans ? d15 : d5, c);
        ox_node *gm = b_node(&b, b.g, "Gemm", 3, (int[]){x, wv, cv}, 1, (const char *[]){"g"}, 3);
        attr_int(gm, 0, "transB", trans);
        attr_float(gm, 1, "beta", 0.5f);
        attr_float(gm, 2, "alpha", 2.0f);
        int p[4] = {b_const(&b, "scale", ONYX_DTYPE_FLOAT, 1, d5, scale), b_const(&b, "shift", ONYX_DTYPE_FLOAT, 1, d5, shift),
                    b_const(&b, "mean", ONYX_DTYPE_FLOAT, 1, d5, mean), b_const(&b, "var", ONYX_DTYPE_FLOAT, 1, d5, var)};
        b_node(&b, b.g, "BatchNormalization", 5, (int[]){b_val(&b, "g"), p[0], p[1], p[2], p[3]}, 1, (const char *[]){"y"}, 0);
        b_output(&b, "y");
        CHECK(b_finish(&b));
        ox_pool pool;
        ox_opt_stats st;
        ox_graph *g = optimised(b.m, &pool, 2, &st);
        CHECK(g && g->n_nodes == 1 && st.fired[OX_PASS_BN_GEMM] == 1);
        if (g) {
            const ox_attr *beta = ox_node_attr(&g->nodes[0], "beta");
            CHECK(beta && beta->f == 1.0f);
        }
        CHECK(ox_node_attr(&b.m->graph->nodes[0], "beta")->f == 0.5f); /* the model's attributes are not changed */
        ox_pool_release(&pool);
        float xin[12], r0[20], r2[20];
        fill(xin, 12, 9);
        onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 2, dx, xin);
        CHECK(run_model(b.m, 0, &in, 1, r0, 20) && run_model(b.m, 2, &in, 1, r2, 20));
        CHECK_MSG(max_diff(r0, r2, 20) < 1e-5f, "diff %g", (double)max_diff(r0, r2, 20));
        onyx_model_free(b.m);
    }
}

/* x [rank] -> MatMul(w [3, 5]) -> Add(bias) -> y, bias first when `swap`. */
static void build_matmul_add(builder *b, int rank, const int64_t *dbias, int bias_rank, bool swap, bool reshaped)
{
    static float w[15], bias[20];
    fill(w, 15, 10);
    fill(bias, 20, 11);
    b_init(b, 13, NULL);
    const int64_t dx2[] = {4, 3}, dx3[] = {2, 2, 3}, dw[] = {3, 5};
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, rank, rank == 2 ? dx2 : dx3);
    if (reshaped) { /* x [2, 2, 3] -> Reshape to [-1, 3] through Shape/Gather/Concat: rank 2 */
        const int64_t d1[] = {1}, minus[] = {-1}, three[] = {3};
        int m1 = b_const(b, "m1", ONYX_DTYPE_INT64, 1, d1, minus);
        int k3 = b_const(b, "k3", ONYX_DTYPE_INT64, 1, d1, three);
        b_node(b, b->g, "Concat", 2, (int[]){m1, k3}, 1, (const char *[]){"target"}, 1);
        attr_int(&b->g->nodes[b->g->n_nodes - 1], 0, "axis", 0);
        b_node(b, b->g, "Reshape", 2, (int[]){x, b_val(b, "target")}, 1, (const char *[]){"x2"}, 0);
        x = b_val(b, "x2");
    }
    int wv = b_const(b, "w", ONYX_DTYPE_FLOAT, 2, dw, w);
    int bv = b_const(b, "bias", ONYX_DTYPE_FLOAT, bias_rank, dbias, bias);
    b_node(b, b->g, "MatMul", 2, (int[]){x, wv}, 1, (const char *[]){"mm"}, 0);
    int mm = b_val(b, "mm");
    b_node(b, b->g, "Add", 2, swap ? (int[]){bv, mm} : (int[]){mm, bv}, 1, (const char *[]){"y"}, 0);
    b_output(b, "y");
    CHECK(b_finish(b));
}

static void test_matmul_add(void)
{
    static const struct {
        int rank, bias_rank;
        int64_t dbias[2];
        bool swap, reshaped, fuses;
    } cases[] = {
        {2, 1, {5}, false, false, true},    {2, 2, {1, 5}, true, false, true}, {2, 0, {0}, false, false, true},
        {2, 2, {4, 5}, false, false, false}, /* a bias per row: not Gemm's C for every M */
        {3, 1, {5}, false, false, false},    /* x of rank 3: MatMul is batched */
        {3, 1, {5}, false, true, true},      /* reshaped to rank 2 with a constant-length target */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        builder b;
        build_matmul_add(&b, cases[i].rank, cases[i].dbias, cases[i].bias_rank, cases[i].swap, cases[i].reshaped);
        ox_pool pool;
        ox_opt_stats st;
        ox_graph *g = optimised(b.m, &pool, 2, &st);
        CHECK_MSG(g && (st.fired[OX_PASS_MATMUL_ADD] == 1) == cases[i].fuses, "case %zu", i);
        if (g && cases[i].fuses) CHECK(count_op(g, "Gemm") == 1 && count_op(g, "Add") == 0);
        ox_pool_release(&pool);
        float xin[12], r0[20], r2[20];
        fill(xin, 12, 12);
        const int64_t dx2[] = {4, 3}, dx3[] = {2, 2, 3};
        onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, cases[i].rank, cases[i].rank == 2 ? dx2 : dx3, xin);
        CHECK(run_model(b.m, 0, &in, 1, r0, 20) && run_model(b.m, 2, &in, 1, r2, 20));
        CHECK_MSG(max_diff(r0, r2, 20) < 1e-6f, "case %zu: diff %g", i, (double)max_diff(r0, r2, 20));
        onyx_model_free(b.m);
    }
}

/* ---- bodies read main-graph values by index ------------------------------------------- */

/* x -> Identity -> a; If(cond) { then: Neg(a) } { else: Identity(a) } -> y; Relu(a) -> z.
 * Both bodies read `a`: the Identity producing it must stay even though Relu could skip it. */
static void build_if(builder *b)
{
    b_init(b, 13, NULL);
    const int64_t d2[] = {2};
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, 1, d2);
    int cond = b_input(b, "cond", ONYX_DTYPE_BOOL, 0, NULL);
    b_node(b, b->g, "Identity", 1, (int[]){x}, 1, (const char *[]){"a"}, 0);
    int a = b_val(b, "a");
    ox_graph *body[2];
    static const char *const ops[2] = {"Neg", "Identity"};
    for (int k = 0; k < 2; k++) {
        ox_graph *g = body[k] = ox_graph_new(&b->m->pool, b->g);
        g->name = k ? "else" : "then";
        int alias = ox_graph_value(g, "a");
        g->values[alias].outer = a;
        b_node(b, g, ops[k], 1, (int[]){alias}, 1, (const char *[]){k ? "e_out" : "t_out"}, 0);
        g->outputs = ox_pool_array(&b->m->pool, 1, sizeof(int));
        g->outputs[0] = ox_graph_find(g, k ? "e_out" : "t_out");
        g->values[g->outputs[0]].is_output = true;
        g->n_outputs = 1;
        g->inputs = ox_pool_array(&b->m->pool, 1, sizeof(int));
        char err[128];
        CHECK(ox_graph_sort(g, err, sizeof err) == ONYX_OK);
    }
    ox_node *n = b_node(b, b->g, "If", 2, (int[]){cond, a}, 1, (const char *[]){"y"}, 2);
    n->n_in = 1; /* `a` is the implicit input */
    n->n_implicit = 1;
    n->attr[0] = (ox_attr){.name = "then_branch", .type = OX_ATTR_GRAPH, .g = body[0]};
    n->attr[1] = (ox_attr){.name = "else_branch", .type = OX_ATTR_GRAPH, .g = body[1]};
    b_node(b, b->g, "Relu", 1, (int[]){a}, 1, (const char *[]){"z"}, 0);
    b_node(b, b->g, "Add", 2, (int[]){b_val(b, "y"), b_val(b, "z")}, 1, (const char *[]){"out"}, 0);
    b_output(b, "out");
    CHECK(b_finish(b));
}

static void test_bodies_pin_values(void)
{
    builder b;
    build_if(&b);
    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 2, &st);
    CHECK(g && count_op(g, "Identity") == 1 && st.fired[OX_PASS_IDENTITY] == 0);
    ox_pool_release(&pool);
    const int64_t d2[] = {2};
    float xin[2] = {-1, 3}, r0[2], r2[2];
    for (uint8_t c = 0; c < 2; c++) {
        onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 1, d2, xin), tensor(ONYX_DTYPE_BOOL, 0, NULL, &c)};
        CHECK(run_model(b.m, 0, in, 2, r0, 2) && run_model(b.m, 2, in, 2, r2, 2));
        CHECK(max_diff(r0, r2, 2) == 0 && r2[1] == (c ? 0.0f : 6.0f));
    }
    onyx_model_free(b.m);
}

/* ---- the public calls, saving, allocation failures ------------------------------------- */

/* Saves m, reloads it and compares output 0 with m's at opt level 0. */
static void check_save_reload(const onyx_model *m, const onyx_tensor *in, size_t n_in, size_t n_out)
{
    char path[512];
    const bool made = tmp_file(path, sizeof path, "onyx_test_opt");
    CHECK(made);
    if (!made) return;
    onyx_error err;
    onyx_model *back = NULL;
    CHECK(onyx_model_save_file(m, path, &err) == ONYX_OK);
    CHECK_MSG(onyx_model_load_file(path, NULL, &back, &err) == ONYX_OK, "%s", err.message);
    unlink(path);
    if (!back) return;
    float *r0 = calloc(n_out, sizeof *r0), *r1 = calloc(n_out, sizeof *r1);
    CHECK(r0 && r1 && run_model(m, 0, in, n_in, r0, n_out) && run_model(back, 0, in, n_in, r1, n_out));
    if (r0 && r1) CHECK(max_diff(r0, r1, n_out) == 0);
    onyx_model_meta a, b;
    onyx_model_get_meta(m, &a);
    onyx_model_get_meta(back, &b);
    CHECK(a.node_count == b.node_count);
    free(r0);
    free(r1);
    onyx_model_free(back);
}

static void test_model_optimize_and_save(void)
{
    builder b;
    build_conv_bn(&b, false, true, NULL);
    float xin[50];
    fill(xin, 50, 13);
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, conv_x, xin);
    check_save_reload(b.m, &in, 1, 75);
    onyx_session *before = NULL;
    onyx_error err;
    CHECK(onyx_session_create(b.m, NULL, &before, &err) == ONYX_OK);
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    onyx_model_meta meta;
    onyx_model_get_meta(b.m, &meta);
    CHECK(meta.node_count == 1);
    const char *name;
    int64_t count, total = 0;
    size_t i = 0;
    for (; onyx_model_opt_pass(b.m, i, &name, &count) == ONYX_OK; i++) {
        total += count;
        if (!strcmp(name, "bn-into-conv")) CHECK(count == 1);
    }
    CHECK(i == OX_PASS_COUNT && total == 1);
    check_save_reload(b.m, &in, 1, 75);
    onyx_tensor out;
    CHECK(before && onyx_session_run(before, &in, 1, &out, 1) == ONYX_OK); /* the old graph still serves */
    onyx_session_free(before);
    onyx_model_free(b.m);

    build_if(&b);
    const int64_t d2[] = {2};
    float x2[2] = {-1, 3};
    uint8_t c = 1;
    onyx_tensor in2[2] = {tensor(ONYX_DTYPE_FLOAT, 1, d2, x2), tensor(ONYX_DTYPE_BOOL, 0, NULL, &c)};
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    check_save_reload(b.m, in2, 2, 2); /* bodies and their outer references survive the file */
    onyx_model_free(b.m);
}

static void test_alloc_failures(void)
{
    counting c = {0};
    builder b;
    build_conv_bn(&b, false, true, &c);
    float xin[50];
    fill(xin, 50, 14);
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 4, conv_x, xin);
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.threads = 1;
    onyx_error err;
    /* session create (clone + optimise + plan), then save, each failing at every allocation */
    long start = c.calls, live = c.live;
    onyx_session *s = NULL;
    CHECK(onyx_session_create(b.m, &so, &s, &err) == ONYX_OK);
    onyx_session_free(s);
    long calls = c.calls - start, bad = 0;
    for (long n = 1; n <= calls; n++) {
        c.fail_at = c.calls + n;
        s = NULL;
        onyx_status st = onyx_session_create(b.m, &so, &s, &err);
        if (st != ONYX_E_NOMEM || s || c.live != live) bad++;
        onyx_session_free(s);
    }
    CHECK_MSG(bad == 0, "%ld of %ld failed session allocations misbehaved", bad, calls);
    char path[512];
    CHECK(tmp_file(path, sizeof path, "onyx_test_opt"));
    c.fail_at = 0;
    start = c.calls;
    CHECK(onyx_model_save_file(b.m, path, &err) == ONYX_OK);
    calls = c.calls - start;
    bad = 0;
    for (long n = 1; n <= calls; n++) {
        c.fail_at = c.calls + n;
        if (onyx_model_save_file(b.m, path, &err) != ONYX_E_NOMEM || c.live != live) bad++;
    }
    CHECK_MSG(bad == 0, "%ld of %ld failed save allocations misbehaved", bad, calls);
    CHECK(calls >= 1);
    c.fail_at = 0;
    CHECK(onyx_session_create(b.m, &so, &s, &err) == ONYX_OK);
    onyx_tensor out;
    CHECK(onyx_session_run(s, &in, 1, &out, 1) == ONYX_OK);
    onyx_session_free(s);
    unlink(path);
    onyx_model_free(b.m);
    CHECK(c.live == 0);
}

int main(void)
{
    test_identity_and_dead();
    test_dropout_and_cast();
    test_bn_into_conv();
    test_bn_into_gemm();
    test_matmul_add();
    test_bodies_pin_values();
    test_model_optimize_and_save();
    test_alloc_failures();
    return check_report("opt");
}
