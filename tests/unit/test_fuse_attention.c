/* test_fuse_attention.c — scaled dot-product attention fused into one Attention node
 * (runtime/opt/fuse_attention.c): the shapes torch exports (scores divided or multiplied by
 * the scale, or Q and K each multiplied by its square root; no mask, an additive mask input
 * broadcast over heads and query rows, a constant mask, a causal Where with -inf or a large
 * negative fill; K^T from a Transpose of [B,S,H,D] or of [B,H,S,D]) fuse in a session at opt
 * level 2 below opset 23 and give the unfused graph's results (opt 0) within 1e-5; at opset 23
 * `onyx optimize` (onyx_model_optimize) writes the standard op, never below. Not fused: an
 * intermediate that is pinned or read twice, a mask that Add would broadcast over the keys, a
 * -inf Where that masks a whole row (Softmax gives NaN there, Attention zeros), or a -10000
 * one (Softmax gives uniform weights there). */
#include "opt_builder.h"

enum { B = 2, H = 3, S = 5, D = 4, DV = 6 };
#define NQ (B * H * S * D)
#define NV (B * H * S * DV)

typedef enum scale_form { SCALE_DIV, SCALE_MUL, SCALE_QK, SCALE_NONE } scale_form;
typedef enum mask_form { MASK_NONE, MASK_INPUT, MASK_CONST, MASK_WHERE_INF, MASK_WHERE_MIN, MASK_WHERE_1E4 } mask_form;
typedef enum flaw { CLEAN, PINNED, READ_TWICE, MASK_KEYS_1, FULL_ROW } flaw;

typedef struct attn_case {
    const char *what;
    scale_form scale;
    mask_form mask;
    bool k_bshd; /* K arrives as [B,S,H,D] (Transpose perm 0,2,3,1) rather than [B,H,S,D] */
    int opset;
} attn_case;

static const int64_t dq[] = {B, H, S, D}, dk_bshd[] = {B, S, H, D}, dv[] = {B, H, S, DV};
static const int64_t dmask[] = {B, 1, 1, S}, dmask1[] = {B, 1, S, 1}, dsq[] = {S, S};
static const int64_t dcausal[] = {1, 1, S, S}, one[] = {1};

static int scalar_const(builder *b, const char *name, float v) { return b_const(b, name, ONYX_DTYPE_FLOAT, 1, one, &v); }

/* Q, K, V (and mask) inputs -> the attention block -> y [B,H,S,DV]. */
static void build(builder *b, const attn_case *c, flaw f)
{
    b_init(b, c->opset, NULL);
    int q = b_input(b, "q", ONYX_DTYPE_FLOAT, 4, dq);
    int k = b_input(b, "k", ONYX_DTYPE_FLOAT, 4, c->k_bshd ? dk_bshd : dq);
    int v = b_input(b, "v", ONYX_DTYPE_FLOAT, 4, dv);
    int mask = -1;
    if (c->mask == MASK_INPUT) mask = b_input(b, "mask", ONYX_DTYPE_FLOAT, 4, f == MASK_KEYS_1 ? dmask1 : dmask);
    static int64_t perm_bshd[] = {0, 2, 3, 1}, perm_bhsd[] = {0, 1, 3, 2};
    ox_node *tr = b_node(b, b->g, "Transpose", 1, &k, 1, (const char *[]){"kt"}, 1);
    tr->attr[0].name = "perm";
    tr->attr[0].type = OX_ATTR_INTS;
    tr->attr[0].ints = c->k_bshd ? perm_bshd : perm_bhsd;
    tr->attr[0].n = 4;
    int kt = b_val(b, "kt");
    const float root = 1.0f / sqrtf(sqrtf((float)D));
    if (c->scale == SCALE_QK) {
        int r = scalar_const(b, "root", root);
        b_node(b, b->g, "Mul", 2, (int[]){q, r}, 1, (const char *[]){"qs"}, 0);
        b_node(b, b->g, "Mul", 2, (int[]){kt, r}, 1, (const char *[]){"kts"}, 0);
        q = b_val(b, "qs");
        kt = b_val(b, "kts");
    }
    b_node(b, b->g, "MatMul", 2, (int[]){q, kt}, 1, (const char *[]){"s0"}, 0);
    int s = b_val(b, "s0");
    if (c->scale == SCALE_DIV || c->scale == SCALE_MUL) {
        int sc = scalar_const(b, "sc", c->scale == SCALE_DIV ? sqrtf((float)D) : 1.0f / sqrtf((float)D));
        b_node(b, b->g, c->scale == SCALE_DIV ? "Div" : "Mul", 2, (int[]){s, sc}, 1, (const char *[]){"s1"}, 0);
        s = b_val(b, "s1");
    }
    if (c->mask == MASK_INPUT || c->mask == MASK_CONST) {
        static float cm[S * S];
        fill(cm, S * S, 9);
        if (c->mask == MASK_CONST) mask = b_const(b, "cmask", ONYX_DTYPE_FLOAT, 2, dsq, cm);
        b_node(b, b->g, "Add", 2, (int[]){mask, s}, 1, (const char *[]){"s2"}, 0);
        s = b_val(b, "s2");
    } else if (c->mask == MASK_WHERE_INF || c->mask == MASK_WHERE_MIN || c->mask == MASK_WHERE_1E4) {
        /* -inf: the condition marks what is masked (masked_fill); min and -10000: what stays
         * (HF GPT-2, and older GPT-2 exports with -1e4) */
        static uint8_t cond[S * S];
        const bool inf = c->mask == MASK_WHERE_INF;
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) cond[i * S + j] = (uint8_t)((j > i || (f == FULL_ROW && i == 2)) == inf);
        int cv = b_const(b, "cond", ONYX_DTYPE_BOOL, 4, dcausal, cond);
        int fl = scalar_const(b, "fill", inf ? -INFINITY : c->mask == MASK_WHERE_1E4 ? -10000.0f : -3.4028234663852886e38f);
        b_node(b, b->g, "Where", 3, inf ? (int[]){cv, fl, s} : (int[]){cv, s, fl}, 1, (const char *[]){"s2"}, 0);
        s = b_val(b, "s2");
    }
    ox_node *sm = b_node(b, b->g, "Softmax", 1, &s, 1, (const char *[]){"p"}, 1);
    attr_int(sm, 0, "axis", -1);
    int p = b_val(b, "p");
    b_node(b, b->g, "MatMul", 2, (int[]){p, v}, 1, (const char *[]){"y"}, 0);
    if (f == READ_TWICE) b_node(b, b->g, "Neg", 1, &s, 1, (const char *[]){"z"}, 0);
    b_output(b, "y");
    if (f == PINNED) b_output(b, "p");
    if (f == READ_TWICE) b_output(b, "z");
    CHECK(b_finish(b));
}

/* Builds the case with flaw f, runs it at opt 0 and 2: the results agree (NaN where the
 * other has NaN); returns the number of Attention nodes at opt 2. */
static int fused_count(const attn_case *c, flaw f, float *diff)
{
    static float q[NQ], k[NQ], v[NV], mask[B * S], r0[NV], r2[NV];
    fill(q, NQ, 1);
    fill(k, NQ, 2);
    fill(v, NV, 3);
    for (int i = 0; i < NQ; i++) q[i] *= 6.0f; /* peaked softmaxes, not near-uniform ones */
    for (int i = 0; i < B * S; i++) mask[i] = (i % S) >= S - 1 - i / S ? -3.4028234663852886e38f : 0.0f;
    onyx_tensor in[4] = {tensor(ONYX_DTYPE_FLOAT, 4, dq, q),
                         tensor(ONYX_DTYPE_FLOAT, 4, c->k_bshd ? dk_bshd : dq, k),
                         tensor(ONYX_DTYPE_FLOAT, 4, dv, v),
                         tensor(ONYX_DTYPE_FLOAT, 4, f == MASK_KEYS_1 ? dmask1 : dmask, mask)};
    if (f == MASK_KEYS_1)
        for (int i = 0; i < B * S; i++) mask[i] = (float)i * -0.5f;
    builder b;
    build(&b, c, f);
    size_t n_in = c->mask == MASK_INPUT ? 4 : 3;
    session_info i0 = {.attention = -1}, i2 = {.attention = -1};
    CHECK(run_session(b.m, 0, 1, in, n_in, r0, NV, ONYX_DTYPE_FLOAT, &i0));
    CHECK(run_session(b.m, 2, 1, in, n_in, r2, NV, ONYX_DTYPE_FLOAT, &i2));
    CHECK(i0.attention == 0);
    *diff = 0;
    for (int i = 0; i < NV; i++) {
        CHECK_MSG(isnan(r0[i]) == isnan(r2[i]), "%s flaw %d: NaN at %d differs", c->what, f, i);
        if (!isnan(r0[i])) *diff = fmaxf(*diff, fabsf(r0[i] - r2[i]));
    }
    /* what `onyx optimize` writes: the standard op from opset 23 on, nothing internal below */
    onyx_error err;
    CHECK(onyx_model_optimize(b.m, 2, &err) == ONYX_OK);
    int written = count_op(b.m->graph, "Attention");
    bool broadcast_rows = c->mask == MASK_INPUT; /* [B,1,1,S]: onnxruntime refuses it */
    CHECK_MSG(written == (c->opset >= 23 && f == CLEAN && !broadcast_rows ? 1 : 0), "%s: %d written", c->what,
              written);
    onyx_model_free(b.m);
    return i2.attention;
}

int main(void)
{
    const attn_case cases[] = {
        {"div + mask input, K [B,S,H,D]", SCALE_DIV, MASK_INPUT, true, 17},
        {"div, no mask", SCALE_DIV, MASK_NONE, false, 17},
        {"mul, constant mask", SCALE_MUL, MASK_CONST, false, 17},
        {"sqrt on Q and K + mask input", SCALE_QK, MASK_INPUT, true, 17},
        {"sqrt on Q and K, causal Where -inf", SCALE_QK, MASK_WHERE_INF, true, 14},
        {"mul, causal Where min", SCALE_MUL, MASK_WHERE_MIN, false, 17},
        {"no scale, causal Where -inf", SCALE_NONE, MASK_WHERE_INF, false, 20},
        {"opset 23: div, causal", SCALE_DIV, MASK_WHERE_INF, true, 23},
        {"opset 23: div + mask input (internal form)", SCALE_DIV, MASK_INPUT, true, 23},
        {"opset 23: sqrt, constant mask", SCALE_QK, MASK_CONST, false, 23},
        {"div, causal Where -10000 (GPT-2)", SCALE_DIV, MASK_WHERE_1E4, false, 17},
    };
    float d;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = fused_count(&cases[i], CLEAN, &d);
        CHECK_MSG(n == 1, "%s: %d Attention nodes", cases[i].what, n);
        CHECK_MSG(d <= 1e-5f, "%s: fused differs by %g", cases[i].what, (double)d);
    }
    const struct { int c; flaw f; } left[] = {
        {0, PINNED}, {1, PINNED}, {0, READ_TWICE}, {4, READ_TWICE}, {0, MASK_KEYS_1}, {4, FULL_ROW}, {7, PINNED},
        {10, FULL_ROW}, /* -10000 over a whole row: Where gives uniform weights, Attention would not */
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        int n = fused_count(&cases[left[i].c], left[i].f, &d);
        CHECK_MSG(n == 0, "%s flaw %d: fused", cases[left[i].c].what, left[i].f);
        CHECK_MSG(d == 0.0f, "%s flaw %d: differs by %g", cases[left[i].c].what, left[i].f, (double)d);
    }
    return check_report("fuse_attention");
}
