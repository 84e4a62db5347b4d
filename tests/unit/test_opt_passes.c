/* test_opt_passes.c — constant folding with static shapes, movement-op simplification, CSE
 * and the transformer fusions on hand-built graphs: each fires where it may and not where it
 * must not, and results at --opt 2 equal those at --opt 0 (within float rounding). */
#include "opt_builder.h"

static void attr_ints(builder *b, ox_node *n, int k, const char *name, int count, const int64_t *v)
{
    n->attr[k].name = name;
    n->attr[k].type = OX_ATTR_INTS;
    n->attr[k].n = (size_t)count;
    n->attr[k].ints = ox_pool_array(&b->m->pool, (size_t)count, sizeof(int64_t));
    memcpy(n->attr[k].ints, v, (size_t)count * sizeof(int64_t));
}

static int b_i64(builder *b, const char *name, int count, const int64_t *v)
{
    const int64_t d[] = {count};
    return b_const(b, name, ONYX_DTYPE_INT64, 1, d, v);
}

static int b_scalar(builder *b, const char *name, float f) { return b_const(b, name, ONYX_DTYPE_FLOAT, 0, NULL, &f); }

#define IN(...) (int[]){__VA_ARGS__}
#define OUT(...) (const char *[]){__VA_ARGS__}

/* Runs m at levels 0 and 2 on x (n_x floats, shape dims) and compares output 0 (n floats). */
static float diff_0_2(const onyx_model *m, int rank, const int64_t *dims, size_t n_x, size_t n)
{
    float *x = malloc(n_x * sizeof *x), *r0 = malloc(n * sizeof *r0), *r2 = malloc(n * sizeof *r2);
    fill(x, n_x, 7);
    for (size_t i = 0; i < n_x; i++) x[i] *= 4;
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, rank, dims, x);
    bool ok = run_model(m, 0, &in, 1, r0, n) && run_model(m, 2, &in, 1, r2, n);
    float d = ok ? max_diff(r0, r2, n) : INFINITY;
    free(x);
    free(r0);
    free(r2);
    return d;
}

/* ---- constant folding ------------------------------------------------------------------ */

static void build_fold(builder *b, bool fixed)
{
    b_init(b, 13, NULL);
    const int64_t dx[] = {2, fixed ? 3 : -1}, d3[] = {3};
    const float av[] = {1, 2, 3}, bv[] = {0.5f, 0.25f, 2};
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, 2, dx);
    int a = b_const(b, "a", ONYX_DTYPE_FLOAT, 1, d3, av), bb = b_const(b, "b", ONYX_DTYPE_FLOAT, 1, d3, bv);
    b_node(b, b->g, "Add", 2, IN(a, bb), 1, OUT("ab"), 0);
    b_node(b, b->g, "Sqrt", 1, IN(b_val(b, "ab")), 1, OUT("sab"), 0);
    b_node(b, b->g, "Mul", 2, IN(x, b_val(b, "sab")), 1, OUT("xm"), 0);
    /* Reshape(xm, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): [2, 3] -> [2, 3] */
    b_node(b, b->g, "Shape", 1, IN(x), 1, OUT("shp"), 0);
    int64_t zero = 0, minus1 = -1;
    int idx = b_const(b, "idx0", ONYX_DTYPE_INT64, 0, NULL, &zero);
    b_node(b, b->g, "Gather", 2, IN(b_val(b, "shp"), idx), 1, OUT("g0"), 0);
    b_node(b, b->g, "Unsqueeze", 2, IN(b_val(b, "g0"), b_i64(b, "ax0", 1, &zero)), 1, OUT("u0"), 0);
    ox_node *cat = b_node(b, b->g, "Concat", 2, IN(b_val(b, "u0"), b_i64(b, "m1", 1, &minus1)), 1, OUT("tgt"), 1);
    attr_int(cat, 0, "axis", 0);
    b_node(b, b->g, "Reshape", 2, IN(b_val(b, "xm"), b_val(b, "tgt")), 1, OUT("r"), 0);
    b_node(b, b->g, "Relu", 1, IN(b_val(b, "r")), 1, OUT("y"), 0);
    b_output(b, "y");
    CHECK(b_finish(b));
}

static void test_fold_constants(void)
{
    builder b;
    build_fold(&b, true);
    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 1, &st);
    CHECK(g != NULL);
    if (g) {
        /* Add, Sqrt, Shape, Gather, Unsqueeze, Concat folded; the Reshape to [2, 3] goes */
        CHECK(g->n_nodes == 2 && count_op(g, "Mul") == 1 && count_op(g, "Relu") == 1);
        CHECK(st.fired[OX_PASS_FOLD_CONST] == 6 && st.fired[OX_PASS_RESHAPE] == 1);
        for (int i = 0; i < g->n_nodes; i++)
            if (!strcmp(g->nodes[i].op_type, "Mul")) {
                const ox_const *k = g->values[g->nodes[i].in[1]].init;
                CHECK(k && k->t.rank == 1 && k->t.dims[0] == 3);
                if (k) CHECK(((const float *)k->t.data)[2] == sqrtf(5.0f));
            }
    }
    ox_pool_release(&pool);
    const int64_t dx[] = {2, 3};
    CHECK(diff_0_2(b.m, 2, dx, 6, 6) == 0);
    onyx_model_free(b.m);

    /* a symbolic dim 1: the weights fold, and so does the shape chain, which reads only the
     * fixed dim 0 (runtime/opt/sym_shape.c: Gather, Unsqueeze and Concat become constants);
     * the Reshape stays (its input's shape is not fixed) */
    build_fold(&b, false);
    g = optimised(b.m, &pool, 1, &st);
    CHECK(g != NULL);
    if (g) {
        CHECK_MSG(count_op(g, "Shape") == 0 && count_op(g, "Reshape") == 1 && count_op(g, "Add") == 0 &&
                  count_op(g, "Gather") == 0 && count_op(g, "Concat") == 0, "%d nodes", g->n_nodes);
        CHECK_MSG(st.fired[OX_PASS_FOLD_CONST] == 5, "%lld", (long long)st.fired[OX_PASS_FOLD_CONST]);
    }
    ox_pool_release(&pool);
    CHECK(diff_0_2(b.m, 2, dx, 6, 6) == 0);
    onyx_model_free(b.m);
}

/* Random ops are never folded, nor are nodes whose output is a graph output. */
static void test_fold_leaves_random_and_outputs(void)
{
    builder b;
    b_init(&b, 13, NULL);
    const int64_t d2[] = {2};
    const float av[] = {1, 2};
    int a = b_const(&b, "a", ONYX_DTYPE_FLOAT, 1, d2, av);
    ox_node *r = b_node(&b, b.g, "RandomUniformLike", 1, IN(a), 1, OUT("noise"), 0);
    (void)r;
    b_node(&b, b.g, "Add", 2, IN(a, b_val(&b, "noise")), 1, OUT("y"), 0);
    b_node(&b, b.g, "Neg", 1, IN(a), 1, OUT("z"), 0);
    b_output(&b, "y");
    b_output(&b, "z");
    CHECK(b_finish(&b));
    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 2, &st);
    CHECK(g && g->n_nodes == 3 && st.fired[OX_PASS_FOLD_CONST] == 0);
    ox_pool_release(&pool);
    onyx_model_free(b.m);
}

/* ---- movement ops and CSE -------------------------------------------------------------- */

static void test_simplify(void)
{
    builder b;
    b_init(&b, 13, NULL);
    const int64_t dx[] = {2, 3, 4};
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 3, dx);
    const int64_t p021[] = {0, 2, 1}, p102[] = {1, 0, 2};
    /* T(0,2,1) . T(0,2,1) = identity: both go */
    attr_ints(&b, b_node(&b, b.g, "Transpose", 1, IN(x), 1, OUT("t1"), 1), 0, "perm", 3, p021);
    attr_ints(&b, b_node(&b, b.g, "Transpose", 1, IN(b_val(&b, "t1")), 1, OUT("t2"), 1), 0, "perm", 3, p021);
    /* T(1,0,2) then T(0,2,1): one Transpose (1,2,0) */
    attr_ints(&b, b_node(&b, b.g, "Transpose", 1, IN(b_val(&b, "t2")), 1, OUT("t3"), 1), 0, "perm", 3, p102);
    attr_ints(&b, b_node(&b, b.g, "Transpose", 1, IN(b_val(&b, "t3")), 1, OUT("t4"), 1), 0, "perm", 3, p021);
    /* Reshape [3,8] then Reshape [4,6]: the second reshapes t4 directly */
    const int64_t s38[] = {3, 8}, s46[] = {4, -1}, s46full[] = {4, 6}, st0[] = {0, 0}, en[] = {100, 100};
    b_node(&b, b.g, "Reshape", 2, IN(b_val(&b, "t4"), b_i64(&b, "s38", 2, s38)), 1, OUT("r1"), 0);
    b_node(&b, b.g, "Reshape", 2, IN(b_val(&b, "r1"), b_i64(&b, "s46", 2, s46)), 1, OUT("r2"), 0);
    /* Expand to [4, 6] and a Slice of everything: both go */
    b_node(&b, b.g, "Expand", 2, IN(b_val(&b, "r2"), b_i64(&b, "e46", 2, s46full)), 1, OUT("e"), 0);
    b_node(&b, b.g, "Slice", 3, IN(b_val(&b, "e"), b_i64(&b, "st", 2, st0), b_i64(&b, "en", 2, en)), 1, OUT("sl"), 0);
    b_node(&b, b.g, "Relu", 1, IN(b_val(&b, "sl")), 1, OUT("y"), 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 1, &st);
    CHECK(g != NULL);
    if (g) {
        CHECK(count_op(g, "Transpose") == 1 && count_op(g, "Reshape") == 1 && count_op(g, "Expand") == 0 &&
              count_op(g, "Slice") == 0 && g->n_nodes == 3);
        for (int i = 0; i < g->n_nodes; i++)
            if (!strcmp(g->nodes[i].op_type, "Transpose")) {
                const ox_attr *a = ox_node_attr(&g->nodes[i], "perm");
                CHECK(g->nodes[i].in[0] == x && a && a->n == 3 && a->ints[0] == 1 && a->ints[1] == 2 && a->ints[2] == 0);
            }
        CHECK(st.fired[OX_PASS_TRANSPOSE] == 3 && st.fired[OX_PASS_RESHAPE] == 3);
    }
    ox_pool_release(&pool);
    CHECK(diff_0_2(b.m, 3, dx, 24, 24) == 0);
    onyx_model_free(b.m);

    /* a Slice with a negative step reverses: it stays */
    b_init(&b, 13, NULL);
    const int64_t d4[] = {4}, big[] = {-100}, neg[] = {-1}, last[] = {3};
    x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 1, d4);
    b_node(&b, b.g, "Slice", 5,
           IN(x, b_i64(&b, "s", 1, last), b_i64(&b, "e", 1, big), b_i64(&b, "a", 1, (const int64_t[]){0}),
              b_i64(&b, "k", 1, neg)),
           1, OUT("y"), 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    g = optimised(b.m, &pool, 2, &st);
    CHECK(g && count_op(g, "Slice") == 1);
    ox_pool_release(&pool);
    onyx_model_free(b.m);
}

static void test_cse(void)
{
    builder b;
    b_init(&b, 13, NULL);
    const int64_t d4[] = {4};
    int x = b_input(&b, "x", ONYX_DTYPE_FLOAT, 1, d4);
    ox_node *l1 = b_node(&b, b.g, "LeakyRelu", 1, IN(x), 1, OUT("a"), 1);
    ox_node *l2 = b_node(&b, b.g, "LeakyRelu", 1, IN(x), 1, OUT("b"), 1);
    ox_node *l3 = b_node(&b, b.g, "LeakyRelu", 1, IN(x), 1, OUT("c"), 1); /* another alpha: differs */
    attr_float(l1, 0, "alpha", 0.1f);
    attr_float(l2, 0, "alpha", 0.1f);
    attr_float(l3, 0, "alpha", 0.2f);
    b_node(&b, b.g, "Exp", 1, IN(b_val(&b, "a")), 1, OUT("ea"), 0);
    b_node(&b, b.g, "Exp", 1, IN(b_val(&b, "b")), 1, OUT("eb"), 0); /* equal once b is a */
    b_node(&b, b.g, "Sum", 3, IN(b_val(&b, "ea"), b_val(&b, "eb"), b_val(&b, "c")), 1, OUT("y"), 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    ox_pool pool;
    ox_opt_stats st;
    ox_graph *g = optimised(b.m, &pool, 1, &st);
    CHECK(g && count_op(g, "LeakyRelu") == 2 && count_op(g, "Exp") == 1 && st.fired[OX_PASS_CSE] == 2);
    ox_pool_release(&pool);
    CHECK(diff_0_2(b.m, 1, d4, 4, 4) == 0);
    onyx_model_free(b.m);
}

/* ---- transformer patterns -------------------------------------------------------------- */

/* Decomposed LayerNorm over the last axis of x [2, 3, 8], as torch exports it; `recip`
 * normalises with Mul(d, Reciprocal(sqrt)) instead of Div. */
static void build_layer_norm(builder *b, int opset, bool recip, bool with_beta)
{
    b_init(b, opset, NULL);
    const int64_t dx[] = {2, 3, 8}, d8[] = {8}, m1 = -1;
    float gv[8], bv[8];
    fill(gv, 8, 3);
    fill(bv, 8, 4);
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, 3, dx);
    int gamma = b_const(b, "gamma", ONYX_DTYPE_FLOAT, 1, d8, gv), beta = b_const(b, "beta", ONYX_DTYPE_FLOAT, 1, d8, bv);
    int axes = opset >= 18 ? b_i64(b, "axes", 1, &m1) : -1;
    for (int k = 0; k < 2; k++) {
        ox_node *rm = k == 0 ? b_node(b, b->g, "ReduceMean", opset >= 18 ? 2 : 1, IN(x, axes), 1, OUT("mean"), opset >= 18 ? 0 : 1)
                             : b_node(b, b->g, "ReduceMean", opset >= 18 ? 2 : 1, IN(b_val(b, "sq"), axes), 1, OUT("var"),
                                      opset >= 18 ? 0 : 1);
        if (opset < 18) attr_ints(b, rm, 0, "axes", 1, &m1);
        if (k == 0) {
            b_node(b, b->g, "Sub", 2, IN(x, b_val(b, "mean")), 1, OUT("d"), 0);
            b_node(b, b->g, "Pow", 2, IN(b_val(b, "d"), b_scalar(b, "two", 2.0f)), 1, OUT("sq"), 0);
        }
    }
    b_node(b, b->g, "Add", 2, IN(b_val(b, "var"), b_scalar(b, "eps", 1e-5f)), 1, OUT("ve"), 0);
    b_node(b, b->g, "Sqrt", 1, IN(b_val(b, "ve")), 1, OUT("std"), 0);
    if (recip) {
        b_node(b, b->g, "Reciprocal", 1, IN(b_val(b, "std")), 1, OUT("inv"), 0);
        b_node(b, b->g, "Mul", 2, IN(b_val(b, "d"), b_val(b, "inv")), 1, OUT("n"), 0);
    } else {
        b_node(b, b->g, "Div", 2, IN(b_val(b, "d"), b_val(b, "std")), 1, OUT("n"), 0);
    }
    b_node(b, b->g, "Mul", 2, IN(gamma, b_val(b, "n")), 1, OUT(with_beta ? "ng" : "y"), 0);
    if (with_beta) b_node(b, b->g, "Add", 2, IN(b_val(b, "ng"), beta), 1, OUT("y"), 0);
    b_output(b, "y");
    CHECK(b_finish(b));
}

static void test_layer_norm(void)
{
    const int64_t dx[] = {2, 3, 8};
    const struct { int opset; bool recip, beta, fused; } cases[] = {
        {17, false, true, true}, {18, true, true, true}, {18, false, false, true}, {16, false, true, false}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        builder b;
        build_layer_norm(&b, cases[c].opset, cases[c].recip, cases[c].beta);
        ox_pool pool;
        ox_opt_stats st;
        ox_graph *g = optimised(b.m, &pool, 2, &st);
        CHECK(g != NULL);
        if (g && cases[c].fused) {
            CHECK(g->n_nodes == 1 && count_op(g, "LayerNormalization") == 1 && st.fired[OX_PASS_LAYER_NORM] == 1);
            const ox_attr *eps = ox_node_attr(&g->nodes[0], "epsilon"), *axis = ox_node_attr(&g->nodes[0], "axis");
            CHECK(eps && eps->f == 1e-5f && axis && axis->i == -1 && g->nodes[0].n_in == (cases[c].beta ? 3 : 2));
        } else if (g) {
            CHECK(count_op(g, "LayerNormalization") == 0 && st.fired[OX_PASS_LAYER_NORM] == 0);
        }
        ox_pool_release(&pool);
        CHECK(diff_0_2(b.m, 3, dx, 48, 48) < 1e-5f);
        onyx_model_free(b.m);
    }
}

/* GELU forms: 0 erf with Div, 1 erf with Mul(1/√2) and Mul(Mul(x, 0.5), h), 2 tanh. */
static void build_gelu(builder *b, int opset, int form)
{
    b_init(b, opset, NULL);
    const int64_t dx[] = {2, 5};
    int x = b_input(b, "x", ONYX_DTYPE_FLOAT, 2, dx);
    if (form == 2) {
        b_node(b, b->g, "Pow", 2, IN(x, b_scalar(b, "three", 3.0f)), 1, OUT("x3"), 0);
        b_node(b, b->g, "Mul", 2, IN(b_val(b, "x3"), b_scalar(b, "c", 0.044715f)), 1, OUT("cx3"), 0);
        b_node(b, b->g, "Add", 2, IN(x, b_val(b, "cx3")), 1, OUT("in"), 0);
        b_node(b, b->g, "Mul", 2, IN(b_scalar(b, "k", 0.7978845608f), b_val(b, "in")), 1, OUT("kin"), 0);
        b_node(b, b->g, "Tanh", 1, IN(b_val(b, "kin")), 1, OUT("e"), 0);
    } else {
        if (form == 0) b_node(b, b->g, "Div", 2, IN(x, b_scalar(b, "r2", 1.4142135f)), 1, OUT("s"), 0);
        else b_node(b, b->g, "Mul", 2, IN(x, b_scalar(b, "r2", 0.70710678f)), 1, OUT("s"), 0);
        b_node(b, b->g, "Erf", 1, IN(b_val(b, "s")), 1, OUT("e"), 0);
    }
    b_node(b, b->g, "Add", 2, IN(b_val(b, "e"), b_scalar(b, "one", 1.0f)), 1, OUT("h"), 0);
    if (form == 1) {
        b_node(b, b->g, "Mul", 2, IN(x, b_scalar(b, "half", 0.5f)), 1, OUT("xh"), 0);
        b_node(b, b->g, "Mul", 2, IN(b_val(b, "xh"), b_val(b, "h")), 1, OUT("y"), 0);
    } else {
        b_node(b, b->g, "Mul", 2, IN(x, b_val(b, "h")), 1, OUT("xhh"), 0);
        b_node(b, b->g, "Mul", 2, IN(b_val(b, "xhh"), b_scalar(b, "half", 0.5f)), 1, OUT("y"), 0);
    }
    b_output(b, "y");
    CHECK(b_finish(b));
}

static void test_gelu(void)
{
    const int64_t dx[] = {2, 5};
    for (int form = 0; form < 3; form++)
        for (int opset = 17; opset <= 20; opset += 3) {
            builder b;
            build_gelu(&b, opset, form);
            ox_pool pool;
            ox_opt_stats st;
            ox_graph *g = optimised(b.m, &pool, 2, &st);
            CHECK(g != NULL);
            if (g && opset >= 20) {
                CHECK(g->n_nodes == 1 && count_op(g, "Gelu") == 1 && st.fired[OX_PASS_GELU] == 1);
                const ox_attr *a = ox_node_attr(&g->nodes[0], "approximate");
                CHECK(form == 2 ? a && !strcmp(a->s, "tanh") : !a);
            } else if (g) {
                CHECK(count_op(g, "Gelu") == 0); /* not in opset 17: stays decomposed */
            }
            ox_pool_release(&pool);
            CHECK(diff_0_2(b.m, 2, dx, 10, 10) < 1e-5f);
            onyx_model_free(b.m);
        }
}

/* Every allocation of the new passes failing in turn gives ONYX_E_NOMEM and no leak. */
static void test_alloc_failures(void)
{
    for (long fail = 1;; fail++) {
        counting c = {0, fail, 0};
        builder b;
        build_layer_norm(&b, 18, false, true);
        /* the copy's pool, and so the optimiser, allocate through the counting allocator */
        ox_pool pool;
        ox_allocator a = {counting_alloc, &c};
        ox_pool_init(&pool, a, 0);
        char err[256];
        onyx_status st;
        long before = c.live;
        ox_graph *g = ox_optimized_copy(b.m->graph, 2, &pool, NULL, &st, err, sizeof err);
        ox_pool_release(&pool);
        CHECK(c.live == before);
        onyx_model_free(b.m);
        if (g) break;
        CHECK(st == ONYX_E_NOMEM);
        if (st != ONYX_E_NOMEM || fail > 10000) break;
    }
}

int main(void)
{
    test_fold_constants();
    test_fold_leaves_random_and_outputs();
    test_simplify();
    test_cse();
    test_layer_norm();
    test_gelu();
    test_alloc_failures();
    return check_report("opt_passes");
}
