/* test_fuse_symbolic.c — the session-only fusions on graphs whose inputs have symbolic dims
 * (a dynamic batch "N", a dynamic sequence "S"; runtime/opt/sym_shape.c): a residual Add into
 * the Conv before it, Add into the LayerNormalization after it, and attention with the
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape head split of torch exports (and Reshape
 * targets with 0 and -1) fire as they do for fixed shapes, and one session at opt level 2
 * gives the results of opt level 0 (within 1e-5 relative) for two different sizes. Not fused:
 * operands whose dims have different names ("N" and "M" may broadcast). A caller that binds
 * one name to two sizes gets an error naming the fused node, never another answer. */
#include <stdio.h>

#include "fused.h"
#include "opt/opt.h"
#include "opt_builder.h"
#include "session.h"

#define MAXF 4096

static int64_t pads1[4] = {1, 1, 1, 1};

/* A graph input whose dims are fixed (>= 0) or named (names[d] when dims[d] < 0). */
static int sym_input(builder *b, const char *name, int rank, const int64_t *dims, const char *const *names)
{
    int v = b_input(b, name, ONYX_DTYPE_FLOAT, rank, dims);
    for (int d = 0; d < rank; d++) b->g->values[v].type.dim_names[d] = dims[d] < 0 ? names[d] : NULL;
    return v;
}

static int i64_const(builder *b, const char *name, int n, const int64_t *vals)
{
    const int64_t dims[1] = {n};
    return b_const(b, name, ONYX_DTYPE_INT64, 1, dims, vals);
}

static int f_const(builder *b, const char *name, int rank, const int64_t *dims, unsigned seed)
{
    static float buf[MAXF];
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    fill(buf, n, seed);
    return b_const(b, name, ONYX_DTYPE_FLOAT, rank, dims, buf);
}

static void set_ints(builder *b, ox_node *n, int k, const char *name, int count, const int64_t *vals)
{
    int64_t *p = ox_pool_array(&b->m->pool, (size_t)count, sizeof *p);
    memcpy(p, vals, (size_t)count * sizeof *p);
    n->attr[k].name = name;
    n->attr[k].type = OX_ATTR_INTS;
    n->attr[k].ints = p;
    n->attr[k].n = (size_t)count;
}

static ox_node *conv3(builder *b, int x, const char *w, const char *out, unsigned seed, int c)
{
    const int64_t wd[4] = {c, c, 3, 3}, bd[1] = {c};
    int wv = f_const(b, w, 4, wd, seed), bv = f_const(b, "b_", 1, bd, seed + 1);
    ox_node *n = b_node(b, b->g, "Conv", 3, (int[]){x, wv, bv}, 1, (const char *[]){out}, 1);
    n->attr[0].name = "pads";
    n->attr[0].type = OX_ATTR_INTS;
    n->attr[0].ints = pads1;
    n->attr[0].n = 4;
    return n;
}

/* The session-only pass counts for m (what `onyx info --opt 2` prints). */
static void session_stats(const onyx_model *m, ox_opt_stats *st)
{
    ox_pool pool;
    char err[256];
    ox_graph *g = optimised(m, &pool, 2, st);
    CHECK(g && ox_fuse_epilogues(g, st, err, sizeof err) == ONYX_OK);
    ox_pool_release(&pool);
}

static onyx_session *open_session(const onyx_model *m, int level)
{
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.opt_level = level;
    so.threads = 1;
    onyx_session *s = NULL;
    onyx_error err;
    if (onyx_session_create(m, &so, &s, &err) != ONYX_OK) fprintf(stderr, "session: %s\n", err.message);
    return s;
}

/* Runs s; output 0 (n floats expected) into out. */
static bool run_once(onyx_session *s, const onyx_tensor *in, size_t n_in, float *out, size_t n)
{
    onyx_tensor res;
    if (!s || onyx_session_run(s, in, n_in, &res, 1) != ONYX_OK) {
        if (s) fprintf(stderr, "run: %s\n", onyx_session_error(s));
        return false;
    }
    if (res.dtype != ONYX_DTYPE_FLOAT || (size_t)ox_tensor_numel(&res) != n) return false;
    memcpy(out, res.data, n * sizeof *out);
    return true;
}

static float rel_diff(const float *a, const float *b, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i]));
    return max_diff(a, b, n) / (m > 0 ? m : 1);
}

/* The inputs of one run: in[k] of rank[k] with dims[k], filled from seeds. */
typedef struct run_in {
    int n;
    int rank[3];
    int64_t dims[3][4];
} run_in;

/* Runs m at opt 0 and 2 (one session each, reused) for each size; the outputs agree within
 * 1e-5 relative. Returns the opt-2 session's count of nodes running `fused_op` (or -1). */
static int agree(const onyx_model *m, const run_in *sizes, int n_sizes, size_t (*out_n)(const run_in *), const ox_op *fused_op)
{
    static float x[3][MAXF], r0[MAXF], r2[MAXF];
    onyx_session *s0 = open_session(m, 0), *s2 = open_session(m, 2);
    int count = -1;
    for (int k = 0; k < n_sizes; k++) {
        onyx_tensor in[3];
        for (int i = 0; i < sizes[k].n; i++) {
            onyx_tensor t = tensor(ONYX_DTYPE_FLOAT, sizes[k].rank[i], sizes[k].dims[i], x[i]);
            fill(x[i], (size_t)ox_tensor_numel(&t), 7u + (unsigned)(i + 3 * k));
            in[i] = t;
        }
        size_t n = out_n(&sizes[k]);
        bool ok0 = run_once(s0, in, (size_t)sizes[k].n, r0, n), ok2 = run_once(s2, in, (size_t)sizes[k].n, r2, n);
        CHECK(ok0 && ok2);
        if (ok0 && ok2) CHECK_MSG(rel_diff(r0, r2, n) <= 1e-5f, "size %d: %g", k, (double)rel_diff(r0, r2, n));
    }
    if (s2) {
        count = 0;
        for (int i = 0; i < s2->g->n_nodes; i++) count += s2->g->nodes[i].op == fused_op;
    }
    onyx_session_free(s0);
    onyx_session_free(s2);
    return count;
}

/* ---- residual Add into Conv ------------------------------------------------------------- */

enum { C = 4, HW = 6 };

static size_t cnn_out(const run_in *r) { return (size_t)(r->dims[0][0] * C * HW * HW); }

/* x [N,C,6,6] -> Conv -> Add(x) -> Relu -> y; y -> Conv, Conv -> Add: two residuals. With
 * `other`, the first Add's residual is a second input r [M,C,6,6] (named `other`). */
static void build_cnn(builder *b, const char *other, bool anonymous)
{
    b_init(b, 17, NULL);
    const int64_t d[4] = {-1, C, HW, HW};
    const char *nx[4] = {anonymous ? NULL : "N", NULL, NULL, NULL}, *nr[4] = {other, NULL, NULL, NULL};
    int x = sym_input(b, "x", 4, d, nx);
    int r = other ? sym_input(b, "r", 4, d, nr) : x;
    conv3(b, x, "w1", "c1", 11, C);
    b_node(b, b->g, "Add", 2, (int[]){b_val(b, "c1"), r}, 1, (const char *[]){"a1"}, 0);
    b_node(b, b->g, "Relu", 1, (int[]){b_val(b, "a1")}, 1, (const char *[]){"y1"}, 0);
    conv3(b, b_val(b, "y1"), "w2", "c2", 21, C);
    conv3(b, b_val(b, "y1"), "w3", "c3", 31, C);
    b_node(b, b->g, "Add", 2, (int[]){b_val(b, "c3"), b_val(b, "c2")}, 1, (const char *[]){"y"}, 0);
    b_output(b, "y");
    CHECK(b_finish(b));
}

static void test_residual(void)
{
    const run_in one[2] = {{1, {4}, {{1, C, HW, HW}}}, {1, {4}, {{3, C, HW, HW}}}};
    for (int anonymous = 0; anonymous < 2; anonymous++) {
        builder b;
        ox_opt_stats st;
        build_cnn(&b, NULL, anonymous);
        session_stats(b.m, &st);
        /* both Adds (one residual the block input, one another Conv's output), the Relu */
        CHECK_MSG(st.fired[OX_PASS_RESIDUAL_CONV] == 2, "%lld", (long long)st.fired[OX_PASS_RESIDUAL_CONV]);
        CHECK(st.fired[OX_PASS_ACT_CONV] == 1);
        CHECK(agree(b.m, one, 2, cnn_out, &ox_op_conv_fused) == 2);
        onyx_model_free(b.m);
    }
    /* r [M,...] may broadcast against [N,...]: the first Add stays; the second still fuses (its
     * operands share a batch, whatever it is: both Convs read the first Add's result) */
    builder b;
    ox_opt_stats st;
    build_cnn(&b, "M", false);
    session_stats(b.m, &st);
    CHECK_MSG(st.fired[OX_PASS_RESIDUAL_CONV] == 1, "%lld", (long long)st.fired[OX_PASS_RESIDUAL_CONV]);
    const run_in two[2] = {{2, {4, 4}, {{2, C, HW, HW}, {2, C, HW, HW}}}, {2, {4, 4}, {{3, C, HW, HW}, {1, C, HW, HW}}}};
    CHECK(agree(b.m, two, 2, cnn_out, &ox_op_conv_fused) == 1);
    onyx_model_free(b.m);
    /* r [N,...] too: fused; binding N to 3 and 1 fails in the fused node (Add would broadcast) */
    build_cnn(&b, "N", false);
    session_stats(b.m, &st);
    CHECK(st.fired[OX_PASS_RESIDUAL_CONV] == 2);
    CHECK(agree(b.m, two, 1, cnn_out, &ox_op_conv_fused) == 2);
    onyx_session *s = open_session(b.m, 2);
    static float x[3 * C * HW * HW], r[C * HW * HW];
    fill(x, sizeof x / sizeof *x, 1);
    fill(r, sizeof r / sizeof *r, 2);
    onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 4, two[1].dims[0], x), tensor(ONYX_DTYPE_FLOAT, 4, two[1].dims[1], r)};
    onyx_tensor res;
    CHECK(s && onyx_session_run(s, in, 2, &res, 1) == ONYX_E_SHAPE);
    const char *msg = s ? onyx_session_error(s) : "";
    CHECK_MSG(strstr(msg, "'c1'") && strstr(msg, "symbolic"), "%s", msg);
    onyx_session_free(s);
    onyx_model_free(b.m);
}

/* ---- Add into LayerNormalization -------------------------------------------------------- */

enum { E = 8 };

static size_t seq_out(const run_in *r) { return (size_t)(r->dims[0][0] * r->dims[0][1] * E); }

/* h = MatMul(x [N,S,E], W) + bias; LayerNormalization(h + r) with r = x, or a second input
 * [other,S,E]. */
static void build_ln(builder *b, const char *other)
{
    b_init(b, 17, NULL);
    const int64_t d[3] = {-1, -1, E}, wd[2] = {E, E}, ed[1] = {E};
    const char *nx[3] = {"N", "S", NULL}, *nr[3] = {other, "S", NULL};
    int x = sym_input(b, "x", 3, d, nx);
    int r = other ? sym_input(b, "r", 3, d, nr) : x;
    int w = f_const(b, "w", 2, wd, 3), bias = f_const(b, "bias", 1, ed, 4);
    b_node(b, b->g, "MatMul", 2, (int[]){x, w}, 1, (const char *[]){"mm"}, 0);
    b_node(b, b->g, "Add", 2, (int[]){b_val(b, "mm"), bias}, 1, (const char *[]){"h"}, 0);
    b_node(b, b->g, "Add", 2, (int[]){b_val(b, "h"), r}, 1, (const char *[]){"s"}, 0);
    int gamma = f_const(b, "gamma", 1, ed, 5), beta = f_const(b, "beta", 1, ed, 6);
    ox_node *ln = b_node(b, b->g, "LayerNormalization", 3, (int[]){b_val(b, "s"), gamma, beta}, 1,
                         (const char *[]){"y"}, 1);
    attr_int(ln, 0, "axis", -1);
    b_output(b, "y");
    CHECK(b_finish(b));
}

static void test_skip_layer_norm(void)
{
    const run_in one[2] = {{1, {3}, {{1, 3, E}}}, {1, {3}, {{2, 5, E}}}};
    builder b;
    ox_opt_stats st;
    build_ln(&b, NULL);
    session_stats(b.m, &st);
    CHECK(st.fired[OX_PASS_SKIP_LAYER_NORM] == 1);
    CHECK(st.fired[OX_PASS_MATMUL_BIAS] == 1);
    CHECK(agree(b.m, one, 2, seq_out, &ox_op_layernorm_skip) == 1);
    onyx_model_free(b.m);
    build_ln(&b, "M");
    session_stats(b.m, &st);
    CHECK(st.fired[OX_PASS_SKIP_LAYER_NORM] == 0);
    const run_in two[2] = {{2, {3, 3}, {{2, 3, E}, {2, 3, E}}}, {2, {3, 3}, {{2, 4, E}, {1, 4, E}}}};
    CHECK(agree(b.m, two, 2, seq_out, &ox_op_layernorm_skip) == 0);
    onyx_model_free(b.m);
}

/* ---- attention -------------------------------------------------------------------------- */

enum { HEADS = 2, HD = 4, HID = HEADS * HD };

static size_t attn_out(const run_in *r) { return (size_t)(r->dims[0][0] * r->dims[0][1] * HID); }

typedef enum attn_mask { NO_MASK, MASK_NS, MASK_M, MASK_T } attn_mask;

/* x [N,S,HID] -> Q, K, V projections split into heads three ways: Q by a target computed from
 * Shape(x) (torch's view(b, s, h, d)), K by [0, -1, h, d], V by [0, 0, h, d]; scores / sqrt(d)
 * (+ a mask input [mN,1,1,mS]) -> Softmax -> @ V -> merged back by [0, 0, HID]. */
static void build_attn(builder *b, int opset, attn_mask mask)
{
    b_init(b, opset, NULL);
    const int64_t d[3] = {-1, -1, HID}, wd[2] = {HID, HID}, one[1] = {1};
    const char *nx[3] = {"N", "S", NULL};
    int x = sym_input(b, "x", 3, d, nx), m = -1;
    if (mask != NO_MASK) {
        const int64_t md[4] = {-1, 1, 1, -1};
        const char *nm[4] = {mask == MASK_M ? "M" : "N", NULL, NULL, mask == MASK_T ? "T" : "S"};
        m = sym_input(b, "mask", 4, md, nm);
    }
    int proj[3];
    const char *pn[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
        int w = f_const(b, i == 0 ? "wq" : i == 1 ? "wk" : "wv", 2, wd, 40u + (unsigned)i);
        b_node(b, b->g, "MatMul", 2, (int[]){x, w}, 1, (const char *[]){pn[i]}, 0);
        proj[i] = b_val(b, pn[i]);
    }
    b_node(b, b->g, "Shape", 1, &x, 1, (const char *[]){"shp"}, 0);
    int zero = b_const(b, "i0", ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){0});
    int onei = b_const(b, "i1", ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){1});
    b_node(b, b->g, "Gather", 2, (int[]){b_val(b, "shp"), zero}, 1, (const char *[]){"gb"}, 1);
    attr_int(&b->g->nodes[b->g->n_nodes - 1], 0, "axis", 0);
    b_node(b, b->g, "Gather", 2, (int[]){b_val(b, "shp"), onei}, 1, (const char *[]){"gs"}, 1);
    attr_int(&b->g->nodes[b->g->n_nodes - 1], 0, "axis", 0);
    int ax0 = i64_const(b, "ax0", 1, (int64_t[]){0});
    b_node(b, b->g, "Unsqueeze", 2, (int[]){b_val(b, "gb"), ax0}, 1, (const char *[]){"ub"}, 0);
    b_node(b, b->g, "Unsqueeze", 2, (int[]){b_val(b, "gs"), ax0}, 1, (const char *[]){"us"}, 0);
    int hd = i64_const(b, "hd", 2, (int64_t[]){HEADS, HD});
    ox_node *cat = b_node(b, b->g, "Concat", 3, (int[]){b_val(b, "ub"), b_val(b, "us"), hd}, 1,
                          (const char *[]){"tq"}, 1);
    attr_int(cat, 0, "axis", 0);
    int tk = i64_const(b, "tk", 4, (int64_t[]){0, -1, HEADS, HD});
    int tv = i64_const(b, "tv", 4, (int64_t[]){0, 0, HEADS, HD});
    b_node(b, b->g, "Reshape", 2, (int[]){proj[0], b_val(b, "tq")}, 1, (const char *[]){"q4"}, 0);
    b_node(b, b->g, "Reshape", 2, (int[]){proj[1], tk}, 1, (const char *[]){"k4"}, 0);
    b_node(b, b->g, "Reshape", 2, (int[]){proj[2], tv}, 1, (const char *[]){"v4"}, 0);
    ox_node *t;
    t = b_node(b, b->g, "Transpose", 1, (int[]){b_val(b, "q4")}, 1, (const char *[]){"qh"}, 1);
    set_ints(b, t, 0, "perm", 4, (int64_t[]){0, 2, 1, 3});
    t = b_node(b, b->g, "Transpose", 1, (int[]){b_val(b, "k4")}, 1, (const char *[]){"kt"}, 1);
    set_ints(b, t, 0, "perm", 4, (int64_t[]){0, 2, 3, 1});
    t = b_node(b, b->g, "Transpose", 1, (int[]){b_val(b, "v4")}, 1, (const char *[]){"vh"}, 1);
    set_ints(b, t, 0, "perm", 4, (int64_t[]){0, 2, 1, 3});
    b_node(b, b->g, "MatMul", 2, (int[]){b_val(b, "qh"), b_val(b, "kt")}, 1, (const char *[]){"sc"}, 0);
    float sq = 2.0f; /* sqrt(HD) */
    int c = b_const(b, "sqrt_d", ONYX_DTYPE_FLOAT, 1, one, &sq);
    b_node(b, b->g, "Div", 2, (int[]){b_val(b, "sc"), c}, 1, (const char *[]){"sd"}, 0);
    int sm_in = b_val(b, "sd");
    if (m >= 0) {
        b_node(b, b->g, "Add", 2, (int[]){sm_in, m}, 1, (const char *[]){"sm_in"}, 0);
        sm_in = b_val(b, "sm_in");
    }
    ox_node *sm = b_node(b, b->g, "Softmax", 1, &sm_in, 1, (const char *[]){"p"}, 1);
    attr_int(sm, 0, "axis", -1);
    b_node(b, b->g, "MatMul", 2, (int[]){b_val(b, "p"), b_val(b, "vh")}, 1, (const char *[]){"o4"}, 0);
    t = b_node(b, b->g, "Transpose", 1, (int[]){b_val(b, "o4")}, 1, (const char *[]){"ot"}, 1);
    set_ints(b, t, 0, "perm", 4, (int64_t[]){0, 2, 1, 3});
    int to = i64_const(b, "to", 3, (int64_t[]){0, 0, HID});
    b_node(b, b->g, "Reshape", 2, (int[]){b_val(b, "ot"), to}, 1, (const char *[]){"y"}, 0);
    b_output(b, "y");
    CHECK(b_finish(b));
}

static int attention_nodes(const onyx_model *m, int level)
{
    onyx_session *s = open_session(m, level);
    int n = -1;
    if (s) n = count_op(s->g, "Attention");
    onyx_session_free(s);
    return n;
}

static void test_attention(void)
{
    const run_in plain[2] = {{1, {3}, {{1, 4, HID}}}, {1, {3}, {{3, 6, HID}}}};
    const run_in masked[2] = {{2, {3, 4}, {{1, 4, HID}, {1, 1, 1, 4}}}, {2, {3, 4}, {{3, 6, HID}, {3, 1, 1, 6}}}};
    builder b;
    ox_opt_stats st;
    for (int opset = 17; opset <= 23; opset += 6) {
        for (attn_mask mk = NO_MASK; mk <= MASK_NS; mk++) {
            build_attn(&b, opset, mk);
            session_stats(b.m, &st);
            /* opset 23 writes the standard op, unless the mask broadcasts over query rows */
            const bool written = opset >= 23 && mk == NO_MASK;
            CHECK_MSG(st.fired[OX_PASS_ATTENTION] == written && st.fired[OX_PASS_ATTENTION_INTERNAL] == !written,
                      "opset %d mask %d: %lld %lld", opset, (int)mk, (long long)st.fired[OX_PASS_ATTENTION],
                      (long long)st.fired[OX_PASS_ATTENTION_INTERNAL]);
            agree(b.m, mk == NO_MASK ? plain : masked, 2, attn_out, NULL);
            CHECK(attention_nodes(b.m, 2) == 1);
            onyx_model_free(b.m);
        }
    }
    /* a mask [M,1,1,S] or [N,1,1,T]: Add might broadcast it; not fused */
    const run_in m_ok[2] = {{2, {3, 4}, {{2, 4, HID}, {2, 1, 1, 4}}}, {2, {3, 4}, {{2, 5, HID}, {1, 1, 1, 5}}}};
    const run_in t_ok[2] = {{2, {3, 4}, {{2, 4, HID}, {2, 1, 1, 4}}}, {2, {3, 4}, {{2, 5, HID}, {2, 1, 1, 1}}}};
    for (attn_mask mk = MASK_M; mk <= MASK_T; mk++) {
        build_attn(&b, 17, mk);
        session_stats(b.m, &st);
        CHECK(st.fired[OX_PASS_ATTENTION] == 0 && st.fired[OX_PASS_ATTENTION_INTERNAL] == 0);
        agree(b.m, mk == MASK_M ? m_ok : t_ok, 2, attn_out, NULL);
        CHECK(attention_nodes(b.m, 2) == 0);
        onyx_model_free(b.m);
    }
    /* [N,1,1,S] fused; a mask of one column for S = 5 (Add would broadcast it): an error */
    build_attn(&b, 17, MASK_NS);
    onyx_session *s = open_session(b.m, 2);
    static float x[2 * 5 * HID], mk[2];
    fill(x, sizeof x / sizeof *x, 1);
    onyx_tensor in[2] = {tensor(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 5, HID}, x),
                         tensor(ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 1, 1, 1}, mk)};
    onyx_tensor res;
    CHECK(s && onyx_session_run(s, in, 2, &res, 1) == ONYX_E_SHAPE);
    const char *msg = s ? onyx_session_error(s) : "";
    CHECK_MSG(strstr(msg, "'o4'") && strstr(msg, "symbolic"), "%s", msg);
    onyx_session_free(s);
    onyx_model_free(b.m);
}

int main(void)
{
    test_residual();
    test_skip_layer_norm();
    test_attention();
    return check_report("fuse_symbolic");
}
