/* test_fold_gemm.c — folds into Gemm (runtime/opt/fold_into_gemm.c: Transpose, Mul, Add/Sub)
 * written by onyx_model_optimize; the session-only fusions into Gemm/MatMul (bias row,
 * activation: fuse_act.c), RMSNorm/GELU below their opsets and skip + LayerNorm
 * (fuse_transformer.c); and the graph onyx_model_optimize makes once for sessions. Every case compares the optimised
 * results with the unoptimised graph's (opt 0) and counts what is left. */
#include "opt_builder.h"

#define MAX_OUT 64

/* Results at opt 2 equal those at opt 0 within rel * max|y|; returns the session's node
 * count at opt 2 (-1 on failure) and its fused nodes in *fused. */
static int same_results(const char *what, const onyx_model *m, const onyx_tensor *in, size_t n_in, size_t n, float rel,
                        int *fused)
{
    float r0[MAX_OUT], r2[MAX_OUT];
    session_info i2;
    *fused = -1;
    if (!run_session(m, 0, 1, in, n_in, r0, n, ONYX_DTYPE_FLOAT, NULL) ||
        !run_session(m, 2, 1, in, n_in, r2, n, ONYX_DTYPE_FLOAT, &i2)) {
        CHECK_MSG(false, "%s: a run failed", what);
        return -1;
    }
    *fused = i2.linear_fused + i2.conv_fused;
    float big = 0;
    for (size_t i = 0; i < n; i++) big = fmaxf(big, fabsf(r0[i]));
    float d = max_diff(r0, r2, n);
    CHECK_MSG(d <= rel * big, "%s: opt 2 differs by %g (max %g)", what, (double)d, (double)big);
    return i2.nodes;
}

static const ox_node *only_node(const ox_graph *g) { return g->n_nodes == 1 ? &g->nodes[0] : NULL; }

static int64_t int_attr(const ox_node *n, const char *name)
{
    const ox_attr *a = ox_node_attr(n, name);
    return a && a->type == OX_ATTR_INT ? a->i : 0;
}

static float float_attr(const ox_node *n, const char *name, float def)
{
    const ox_attr *a = ox_node_attr(n, name);
    return a && a->type == OX_ATTR_FLOAT ? a->f : def;
}

/* ---- Transpose into Gemm ---------------------------------------------------------------- */

/* y = Gemm(Transpose(a), Transpose(b)) or MatMul(a, Transpose(b)) on inputs (not constants,
 * which constant folding would transpose instead). */
static void check_transpose(bool matmul)
{
    static const int64_t da[] = {6, 4}, db[] = {5, 6}, dm[] = {4, 6};
    builder b;
    b_init(&b, 13, NULL);
    int a = b_input(&b, "a", ONYX_DTYPE_FLOAT, 2, matmul ? dm : da);
    int bb = b_input(&b, "b", ONYX_DTYPE_FLOAT, 2, db);
    b_node(&b, b.g, "Transpose", 1, &bb, 1, (const char *[]){"bt"}, 0);
    if (matmul) {
        b_node(&b, b.g, "MatMul", 2, (int[]){a, b_val(&b, "bt")}, 1, (const char *[]){"y"}, 0);
    } else {
        b_node(&b, b.g, "Transpose", 1, &a, 1, (const char *[]){"at"}, 0);
        ox_node *g = b_node(&b, b.g, "Gemm", 2, (int[]){b_val(&b, "at"), b_val(&b, "bt")}, 1, (const char *[]){"y"}, 1);
        attr_float(g, 0, "alpha", 0.5f);
    }
    b_output(&b, "y");
    CHECK(b_finish(&b));
    static float va[24], vb[30];
    fill(va, 24, 1);
    fill(vb, 30, 2);
    onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 2, matmul ? dm : da, va), tensor(ONYX_DTYPE_FLOAT, 2, db, vb)};
    int fused;
    CHECK(same_results(matmul ? "MatMul(a, b^T)" : "Gemm(a^T, b^T)", b.m, in, 2, 20, 1e-6f, &fused) == 1);
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    const ox_node *n = only_node(b.m->graph);
    CHECK_MSG(n && !strcmp(n->op_type, "Gemm") && n->op == ox_op_find("", "Gemm", 13), "transpose: not one Gemm");
    if (n) {
        CHECK(int_attr(n, "transA") == !matmul && int_attr(n, "transB") == 1);
        CHECK(n->in[0] == a && n->in[1] == bb);
    }
    onyx_model_free(b.m);
}

/* ---- Mul / Add / Sub into Gemm ------------------------------------------------------------ */

typedef enum fold_case { FOLD_ALL, FOLD_ALL_TRANS_B, KEEP_FULL_MUL, KEEP_CONST_MINUS, KEEP_PINNED } fold_case;

/* y = (Gemm(x, W, C; alpha 0.5, beta 2) * s[5] + d[1,5]) * 3 - e, and the cases the pass
 * must leave alone. */
static void check_fold(fold_case kind)
{
    static const int64_t dx[] = {4, 6}, dw[] = {6, 5}, dwt[] = {5, 6}, dc[] = {5}, dd[] = {1, 5}, dfull[] = {4, 5},
                         one[] = {0};
    static float x[24], w[30], c[5], s[5], d[5], full[20];
    const float three = 3.0f, e = 0.25f;
    fill(x, 24, 3);
    fill(w, 30, 4);
    fill(c, 5, 5);
    fill(s, 5, 6);
    fill(d, 5, 7);
    fill(full, 20, 8);
    const bool tb = kind == FOLD_ALL_TRANS_B;
    builder b;
    b_init(&b, 13, NULL);
    int xv = b_input(&b, "x", ONYX_DTYPE_FLOAT, 2, dx);
    int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 2, tb ? dwt : dw, w);
    int cv = b_const(&b, "c", ONYX_DTYPE_FLOAT, 1, dc, c);
    ox_node *g = b_node(&b, b.g, "Gemm", 3, (int[]){xv, wv, cv}, 1, (const char *[]){"g"}, 3);
    attr_float(g, 0, "alpha", 0.5f);
    attr_float(g, 1, "beta", 2.0f);
    attr_int(g, 2, "transB", tb);
    int gv = b_val(&b, "g");
    if (kind == KEEP_FULL_MUL) {
        int fv = b_const(&b, "full", ONYX_DTYPE_FLOAT, 2, dfull, full);
        b_node(&b, b.g, "Mul", 2, (int[]){gv, fv}, 1, (const char *[]){"y"}, 0);
    } else if (kind == KEEP_CONST_MINUS) {
        int ev = b_const(&b, "e", ONYX_DTYPE_FLOAT, 0, one, &e);
        b_node(&b, b.g, "Sub", 2, (int[]){ev, gv}, 1, (const char *[]){"y"}, 0);
    } else {
        int sv = b_const(&b, "s", ONYX_DTYPE_FLOAT, 1, dc, s), dv = b_const(&b, "d", ONYX_DTYPE_FLOAT, 2, dd, d);
        int tv = b_const(&b, "three", ONYX_DTYPE_FLOAT, 0, one, &three), ev = b_const(&b, "e", ONYX_DTYPE_FLOAT, 0, one, &e);
        b_node(&b, b.g, "Mul", 2, (int[]){sv, gv}, 1, (const char *[]){"m"}, 0);
        b_node(&b, b.g, "Add", 2, (int[]){b_val(&b, "m"), dv}, 1, (const char *[]){"a"}, 0);
        b_node(&b, b.g, "Mul", 2, (int[]){b_val(&b, "a"), tv}, 1, (const char *[]){"t"}, 0);
        b_node(&b, b.g, "Sub", 2, (int[]){b_val(&b, "t"), ev}, 1, (const char *[]){"y"}, 0);
    }
    b_output(&b, "y");
    if (kind == KEEP_PINNED) b_output(&b, "g");
    CHECK(b_finish(&b));
    const int before = b.g->n_nodes;
    const float *w_before = b.m->graph->values[wv].init->t.data;
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 2, dx, x);
    int fused;
    const bool folds = kind == FOLD_ALL || kind == FOLD_ALL_TRANS_B;
    int nodes = same_results("fold into Gemm", b.m, &in, 1, 20, 2e-6f, &fused);
    CHECK_MSG(nodes == (folds ? 1 : before), "fold case %d: %d nodes", kind, nodes);
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(b.m->graph->n_nodes == (folds ? 1 : before));
    if (folds) {
        const ox_node *n = only_node(b.m->graph);
        CHECK(n && !strcmp(n->op_type, "Gemm") && n->n_in == 3 && float_attr(n, "beta", 1.0f) == 1.0f);
        CHECK(n && fabsf(float_attr(n, "alpha", 1.0f) - 1.5f) < 1e-6f); /* 0.5 * 3 */
        CHECK(n && n->in[1] != wv);                                  /* a new, scaled B */
    }
    CHECK(b.m->graph->values[wv].init->t.data == w_before && !memcmp(w_before, w, sizeof w)); /* model's kept */
    onyx_model_free(b.m);
}

/* ---- session-only: bias row and activation into MatMul / Gemm ---------------------------- */

/* y = Relu(MatMul(x[2,3,6], W[6,5]) + bias[5]) and z = Sigmoid(Gemm(x2, W)): each one node in
 * a session; the written graph keeps the MatMul, Add and activations. */
static void check_linear_epilogues(void)
{
    static const int64_t dx[] = {2, 3, 6}, dx2[] = {4, 6}, dw[] = {6, 5}, dbias[] = {5};
    static float x[36], x2[24], w[30], bias[5];
    fill(x, 36, 9);
    fill(x2, 24, 10);
    fill(w, 30, 11);
    fill(bias, 5, 12);
    for (int gemm = 0; gemm < 2; gemm++) {
        builder b;
        b_init(&b, 13, NULL);
        int xv = gemm ? b_input(&b, "x", ONYX_DTYPE_FLOAT, 2, dx2) : b_input(&b, "x", ONYX_DTYPE_FLOAT, 3, dx);
        int wv = b_const(&b, "w", ONYX_DTYPE_FLOAT, 2, dw, w), bv = b_const(&b, "bias", ONYX_DTYPE_FLOAT, 1, dbias, bias);
        if (gemm) {
            b_node(&b, b.g, "Gemm", 2, (int[]){xv, wv}, 1, (const char *[]){"g"}, 0);
            int gv = b_val(&b, "g");
            b_node(&b, b.g, "Sigmoid", 1, &gv, 1, (const char *[]){"y"}, 0);
        } else {
            b_node(&b, b.g, "MatMul", 2, (int[]){xv, wv}, 1, (const char *[]){"mm"}, 0);
            b_node(&b, b.g, "Add", 2, (int[]){bv, b_val(&b, "mm")}, 1, (const char *[]){"a"}, 0);
            int av = b_val(&b, "a");
            b_node(&b, b.g, "Relu", 1, &av, 1, (const char *[]){"y"}, 0);
        }
        b_output(&b, "y");
        CHECK(b_finish(&b));
        onyx_tensor in = gemm ? tensor(ONYX_DTYPE_FLOAT, 2, dx2, x2) : tensor(ONYX_DTYPE_FLOAT, 3, dx, x);
        int fused, nodes = same_results(gemm ? "Gemm + Sigmoid" : "MatMul + bias + Relu", b.m, &in, 1, gemm ? 20 : 30,
                                        1e-6f, &fused);
        CHECK_MSG(nodes == 1 && fused == 1, "linear epilogue %d: %d nodes, %d fused", gemm, nodes, fused);
        onyx_error err;
        CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
        CHECK(b.m->graph->n_nodes == (gemm ? 2 : 3)); /* nothing internal is written */
        onyx_model_meta meta;
        onyx_model_get_meta(b.m, &meta);
        CHECK(meta.session_node_count == 1);
        /* sessions now share the model's session graph */
        onyx_session *s = NULL;
        CHECK(onyx_session_create(b.m, NULL, &s, &err) == ONYX_OK);
        CHECK(s && s->g == b.m->session_graph);
        onyx_session_free(s);
        int again_fused;
        CHECK(same_results("shared session graph", b.m, &in, 1, gemm ? 20 : 30, 1e-6f, &again_fused) == 1);
        onyx_model_free(b.m);
    }
}

/* ---- RMSNorm and GELU (tanh form with x*x*x) ---------------------------------------------- */

/* y = x / sqrt(mean(x^2, -1) + eps) * gamma (the rsqrt as Div(1, Sqrt)) at `opset`: one
 * RMSNormalization written at 23, a session-only one below. */
static void check_rms_norm(int opset)
{
    static const int64_t dx[] = {2, 3, 8}, dg[] = {8}, one[] = {0}, dax[] = {1};
    static float x[48], gamma[8];
    fill(x, 48, 13);
    fill(gamma, 8, 14);
    const float two = 2.0f, eps = 1e-5f, unit = 1.0f;
    const int64_t axis = -1;
    builder b;
    b_init(&b, opset, NULL);
    int xv = b_input(&b, "x", ONYX_DTYPE_FLOAT, 3, dx);
    b_node(&b, b.g, "Pow", 2, (int[]){xv, b_const(&b, "two", ONYX_DTYPE_FLOAT, 0, one, &two)}, 1, (const char *[]){"p"}, 0);
    int axes = b_const(&b, "axes", ONYX_DTYPE_INT64, 1, dax, &axis);
    b_node(&b, b.g, "ReduceMean", 2, (int[]){b_val(&b, "p"), axes}, 1, (const char *[]){"v"}, 0);
    b_node(&b, b.g, "Add", 2, (int[]){b_val(&b, "v"), b_const(&b, "eps", ONYX_DTYPE_FLOAT, 0, one, &eps)}, 1,
           (const char *[]){"ve"}, 0);
    int ve = b_val(&b, "ve");
    b_node(&b, b.g, "Sqrt", 1, &ve, 1, (const char *[]){"sd"}, 0);
    b_node(&b, b.g, "Div", 2, (int[]){b_const(&b, "one", ONYX_DTYPE_FLOAT, 0, one, &unit), b_val(&b, "sd")}, 1,
           (const char *[]){"r"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){xv, b_val(&b, "r")}, 1, (const char *[]){"n"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){b_val(&b, "n"), b_const(&b, "gamma", ONYX_DTYPE_FLOAT, 1, dg, gamma)}, 1,
           (const char *[]){"y"}, 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 3, dx, x);
    int fused, nodes = same_results("RMSNorm", b.m, &in, 1, 48, 2e-6f, &fused);
    CHECK_MSG(nodes == 1, "RMSNorm opset %d: %d nodes in a session", opset, nodes);
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    const ox_node *n = only_node(b.m->graph);
    if (opset >= 23) CHECK(n && !strcmp(n->op_type, "RMSNormalization") && int_attr(n, "axis") == -1);
    else CHECK(b.m->graph->n_nodes == 7);
    const ox_node *s = b.m->session_graph ? only_node(b.m->session_graph) : NULL;
    CHECK(s && !strcmp(s->op_type, "RMSNormalization") && fabsf(float_attr(s, "epsilon", 0) - eps) < 1e-12f);
    onyx_model_free(b.m);
}

/* y = 0.5 * h * (1 + tanh(√(2/π) (h + 0.044715 * h * (h * h)))), h = MatMul(x, W) + bias, at
 * opset 18: the whole of it is one session node (bias and Gelu in the MatMul). */
static void check_gelu_cube(void)
{
    static const int64_t dx[] = {2, 3, 6}, dw[] = {6, 5}, dbias[] = {5}, one[] = {0};
    static float x[36], w[30], bias[5];
    fill(x, 36, 15);
    for (int i = 0; i < 36; i++) x[i] *= 6.0f;
    fill(w, 30, 16);
    fill(bias, 5, 17);
    const float half = 0.5f, unit = 1.0f, k = 0.044715f, c = 0.7978845608f;
    builder b;
    b_init(&b, 18, NULL);
    int xv = b_input(&b, "x", ONYX_DTYPE_FLOAT, 3, dx);
    b_node(&b, b.g, "MatMul", 2, (int[]){xv, b_const(&b, "w", ONYX_DTYPE_FLOAT, 2, dw, w)}, 1, (const char *[]){"mm"}, 0);
    b_node(&b, b.g, "Add", 2, (int[]){b_val(&b, "mm"), b_const(&b, "bias", ONYX_DTYPE_FLOAT, 1, dbias, bias)}, 1,
           (const char *[]){"h"}, 0);
    int h = b_val(&b, "h");
    b_node(&b, b.g, "Mul", 2, (int[]){h, h}, 1, (const char *[]){"h2"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){h, b_val(&b, "h2")}, 1, (const char *[]){"h3"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){b_const(&b, "k", ONYX_DTYPE_FLOAT, 0, one, &k), b_val(&b, "h3")}, 1,
           (const char *[]){"kh3"}, 0);
    b_node(&b, b.g, "Add", 2, (int[]){h, b_val(&b, "kh3")}, 1, (const char *[]){"in"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){b_const(&b, "c", ONYX_DTYPE_FLOAT, 0, one, &c), b_val(&b, "in")}, 1,
           (const char *[]){"arg"}, 0);
    int arg = b_val(&b, "arg");
    b_node(&b, b.g, "Tanh", 1, &arg, 1, (const char *[]){"t"}, 0);
    b_node(&b, b.g, "Add", 2, (int[]){b_const(&b, "unit", ONYX_DTYPE_FLOAT, 0, one, &unit), b_val(&b, "t")}, 1,
           (const char *[]){"t1"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){b_const(&b, "half", ONYX_DTYPE_FLOAT, 0, one, &half), h}, 1,
           (const char *[]){"hh"}, 0);
    b_node(&b, b.g, "Mul", 2, (int[]){b_val(&b, "hh"), b_val(&b, "t1")}, 1, (const char *[]){"y"}, 0);
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_tensor in = tensor(ONYX_DTYPE_FLOAT, 3, dx, x);
    int fused, nodes = same_results("GELU (tanh, x*x*x)", b.m, &in, 1, 30, 2e-6f, &fused);
    CHECK_MSG(nodes == 1 && fused == 1, "GELU cube: %d nodes, %d fused", nodes, fused);
    onyx_model_free(b.m);
}

/* ---- skip + LayerNorm ------------------------------------------------------------------- */

/* y = LayerNorm(a + b): one session node. keep_sum: the sum is also read (z = Relu(a + b),
 * output 0, so the fused node's sum output is what is compared), as in pre-norm layers. */
static void check_skip_layer_norm(bool keep_sum)
{
    static const int64_t dx[] = {2, 3, 8}, dg[] = {8};
    static float a[48], bb[48], gamma[8], beta[8];
    fill(a, 48, 18);
    fill(bb, 48, 19);
    fill(gamma, 8, 20);
    fill(beta, 8, 21);
    builder b;
    b_init(&b, 17, NULL);
    int av = b_input(&b, "a", ONYX_DTYPE_FLOAT, 3, dx), bv = b_input(&b, "b", ONYX_DTYPE_FLOAT, 3, dx);
    b_node(&b, b.g, "Add", 2, (int[]){av, bv}, 1, (const char *[]){"s"}, 0);
    int sv = b_val(&b, "s");
    ox_node *ln = b_node(&b, b.g, "LayerNormalization", 3,
                         (int[]){sv, b_const(&b, "gamma", ONYX_DTYPE_FLOAT, 1, dg, gamma),
                                 b_const(&b, "beta", ONYX_DTYPE_FLOAT, 1, dg, beta)},
                         1, (const char *[]){"y"}, 1);
    attr_int(ln, 0, "axis", -1);
    if (keep_sum) {
        b_node(&b, b.g, "Relu", 1, &sv, 1, (const char *[]){"z"}, 0);
        b_output(&b, "z");
    }
    b_output(&b, "y");
    CHECK(b_finish(&b));
    onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 3, dx, a), tensor(ONYX_DTYPE_FLOAT, 3, dx, bb)};
    int fused, nodes = same_results(keep_sum ? "skip + LayerNorm, sum read" : "skip + LayerNorm", b.m, in, 2, 48,
                                    keep_sum ? 0.0f : 1e-6f, &fused);
    CHECK_MSG(nodes == (keep_sum ? 2 : 1), "skip + LayerNorm: %d nodes", nodes);
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    CHECK(b.m->graph->n_nodes == (keep_sum ? 3 : 2)); /* nothing internal is written */
    int with_skip = 0;
    for (int i = 0; b.m->session_graph && i < b.m->session_graph->n_nodes; i++)
        with_skip += b.m->session_graph->nodes[i].op == &ox_op_layernorm_skip;
    CHECK(with_skip == 1);
    onyx_model_free(b.m);
}

int main(void)
{
    check_transpose(false);
    check_transpose(true);
    check_fold(FOLD_ALL);
    check_fold(FOLD_ALL_TRANS_B);
    check_fold(KEEP_FULL_MUL);
    check_fold(KEEP_CONST_MINUS);
    check_fold(KEEP_PINNED);
    check_linear_epilogues();
    check_rms_norm(23);
    check_rms_norm(18);
    check_gelu_cube();
    check_skip_layer_norm(false);
    check_skip_layer_norm(true);
    return check_report("fold_gemm");
}
