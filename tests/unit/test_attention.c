/* test_attention.c — Attention, RotaryEmbedding and SwiGLU on single nodes: small results
 * worked out by hand (fully masked rows, zero keys, the cache outputs, half precision), thread
 * independence, and the error paths, checking statuses and that messages name the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "op_harness.h"

static bool near(double a, double b) { return fabs(a - b) <= 1e-6 * (1.0 + fabs(b)); }

/* Omits output i of a case (the node leaves it empty). */
static void omit_out(op_case *k, int i)
{
    k->node_out[i] = -1;
    k->out_p[i] = NULL;
}

/* ---- Attention: values -------------------------------------------------------------------- */

/* One head, two queries, two keys, head size 1 (scale 1): q0 = 1 scores [1, 0] against the
 * keys, q1 = 0 scores [0, 0]; values 1 and 2. */
static const int64_t d4[4] = {1, 1, 2, 1};
static const float q2[2] = {1, 0}, k2[2] = {1, 0}, v2[2] = {1, 2};

static void test_attention_basic(void)
{
    op_case k;
    oc_init_n(&k, "Attention", 3, 4);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, d4, q2);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, d4, k2);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 4, d4, v2);
    oc_attr_int(&k, "qk_matmul_output_mode", 3);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    const float *y = k.outs[0].data, *p = k.outs[3].data;
    const double e = exp(1.0);
    CHECK(near(y[0], (e + 2) / (e + 1)) && near(y[1], 1.5));
    CHECK(near(p[0], e / (e + 1)) && near(p[2], 0.5) && near(p[3], 0.5));
    /* present_key without a past is K itself, [batch, heads, keys, head] */
    const float *pk = k.outs[1].data;
    CHECK(k.outs[1].rank == 4 && k.outs[1].dims[2] == 2 && pk[0] == 1 && pk[1] == 0);
    oc_free(&k);

    /* causal: query 0 sees key 0 only */
    oc_init(&k, "Attention", 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, d4, q2);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, d4, k2);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 4, d4, v2);
    oc_attr_int(&k, "is_causal", 1);
    CHECK(oc_run(&k, 24) == ONYX_OK);
    y = k.outs[0].data;
    CHECK(y[0] == 1.0f && near(y[1], 1.5));
    oc_free(&k);
}

/* A row whose every key is masked gives zeros, in Y and in the mode-3 probabilities; the
 * other row is unaffected. */
static void test_attention_fully_masked(void)
{
    const int64_t dm[2] = {2, 2};
    const bool mask[4] = {false, false, true, true};
    op_case k;
    oc_init_n(&k, "Attention", 4, 4);
    omit_out(&k, 1);
    omit_out(&k, 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, d4, q2);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, d4, k2);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 4, d4, v2);
    oc_in(&k, 3, ONYX_DTYPE_BOOL, 2, dm, mask);
    oc_attr_int(&k, "qk_matmul_output_mode", 3);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    const float *y = k.outs[0].data, *p = k.outs[3].data;
    CHECK(y[0] == 0.0f && !signbit(y[0]) && near(y[1], 1.5));
    CHECK(p[0] == 0.0f && p[1] == 0.0f && near(p[2], 0.5));
    oc_free(&k);

    /* a mask shorter than the keys masks the rest: only key 0 is left for both queries */
    const int64_t d1[1] = {1};
    const float zero[1] = {0};
    oc_init(&k, "Attention", 4);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, d4, q2);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, d4, k2);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 4, d4, v2);
    oc_in(&k, 3, ONYX_DTYPE_FLOAT, 1, d1, zero);
    CHECK(oc_run(&k, 24) == ONYX_OK);
    y = k.outs[0].data;
    CHECK(y[0] == 1.0f && y[1] == 1.0f);
    /* an empty mask masks every key */
    const int64_t d0[1] = {0};
    oc_in(&k, 3, ONYX_DTYPE_FLOAT, 1, d0, NULL);
    CHECK(oc_run(&k, 24) == ONYX_OK);
    y = k.outs[0].data;
    CHECK(y[0] == 0.0f && y[1] == 0.0f);
    oc_free(&k);
}

/* No keys at all: every probability row is empty, Y is zeros. */
static void test_attention_no_keys(void)
{
    const int64_t dq[4] = {1, 1, 2, 1}, dk[4] = {1, 1, 0, 1};
    op_case k;
    oc_init(&k, "Attention", 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dq, q2);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dk, NULL);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 4, dk, NULL);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    const float *y = k.outs[0].data;
    CHECK(y[0] == 0.0f && y[1] == 0.0f);
    oc_free(&k);
}

/* 3-D inputs with a past cache and grouped heads, in float16: present_key is the past rows
 * then the new ones, per key/value head. */
static void test_attention_cache_half(void)
{
    /* batch 1, 2 query heads sharing 1 kv head, head size 1, one new key, one past key */
    const int64_t dq[3] = {1, 1, 2}, dk[3] = {1, 1, 1}, dp[4] = {1, 1, 1, 1};
    const uint16_t q[2] = {0x3c00, 0x0000}, kk[1] = {0x3c00}, v[1] = {0x4000}; /* 1, 0; 1; 2 */
    const uint16_t pk[1] = {0x0000}, pv[1] = {0x3c00};                           /* 0; 1 */
    op_case k;
    oc_init_n(&k, "Attention", 6, 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT16, 3, dq, q);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT16, 3, dk, kk);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT16, 3, dk, v);
    oc_in(&k, 4, ONYX_DTYPE_FLOAT16, 4, dp, pk);
    oc_in(&k, 5, ONYX_DTYPE_FLOAT16, 4, dp, pv);
    oc_attr_int(&k, "q_num_heads", 2);
    oc_attr_int(&k, "kv_num_heads", 1);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    CHECK(k.outs[0].rank == 3 && k.outs[0].dims[2] == 2 && k.outs[1].dims[2] == 2);
    const uint16_t *y = k.outs[0].data, *pres_k = k.outs[1].data, *pres_v = k.outs[2].data;
    CHECK(pres_k[0] == 0x0000 && pres_k[1] == 0x3c00 && pres_v[0] == 0x3c00 && pres_v[1] == 0x4000);
    /* head 0 scores [0, 1] -> (1 + 2e) / (1 + e); head 1 scores [0, 0] -> 1.5 */
    const double e = exp(1.0);
    CHECK(fabs(ox_f16_to_f32(y[0]) - (1 + 2 * e) / (1 + e)) < 2e-3);
    CHECK(ox_f16_to_f32(y[1]) == 1.5f);
    oc_free(&k);
}

/* Many heads and query blocks: the same bits whatever the thread count. */
static void test_attention_threads(void)
{
    enum { B = 2, H = 4, S = 70, T = 90, D = 8 };
    const int64_t dq[4] = {B, H, S, D}, dk[4] = {B, 2, T, D};
    float *q = malloc(sizeof(float) * B * H * S * D), *kv = malloc(sizeof(float) * B * 2 * T * D);
    if (!q || !kv) {
        CHECK(!"out of memory");
        free(q);
        free(kv);
        return;
    }
    for (int i = 0; i < B * H * S * D; i++) q[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int i = 0; i < B * 2 * T * D; i++) kv[i] = (float)((i * 53) % 97) / 40.0f - 1.0f;
    float *results[2] = {NULL, NULL};
    const size_t bytes = sizeof(float) * B * H * S * D;
    for (int r = 0; r < 2; r++) {
        op_case k;
        oc_init(&k, "Attention", 3);
        oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dq, q);
        oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dk, kv);
        oc_in(&k, 2, ONYX_DTYPE_FLOAT, 4, dk, kv);
        oc_attr_int(&k, "is_causal", 1);
        k.threads = r == 0 ? 1 : 3;
        CHECK(oc_run(&k, 23) == ONYX_OK);
        results[r] = malloc(bytes);
        if (results[r] && k.outs[0].data) memcpy(results[r], k.outs[0].data, bytes);
        oc_free(&k);
    }
    CHECK(results[0] && results[1] && memcmp(results[0], results[1], bytes) == 0);
    free(results[0]);
    free(results[1]);
    free(q);
    free(kv);
}

/* ---- Attention: errors -------------------------------------------------------------------- */

/* A float 4-D case of the given shapes for the error tests. */
static void qkv(op_case *k, int n_in, const int64_t *dq, const int64_t *dk, const int64_t *dv)
{
    static const float buf[64];
    oc_init_n(k, "Attention", n_in, 1);
    oc_in(k, 0, ONYX_DTYPE_FLOAT, 4, dq, buf);
    oc_in(k, 1, ONYX_DTYPE_FLOAT, 4, dk, buf);
    oc_in(k, 2, ONYX_DTYPE_FLOAT, 4, dv, buf);
}

static void test_attention_errors(void)
{
    static const float buf[64];
    const int64_t d3[3] = {1, 2, 4}, dq[4] = {1, 3, 2, 2}, dk[4] = {1, 2, 2, 2};
    op_case k;

    /* 3-D without head counts */
    oc_init(&k, "Attention", 3);
    for (int i = 0; i < 3; i++) oc_in(&k, i, ONYX_DTYPE_FLOAT, 3, d3, buf);
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "q_num_heads"));
    oc_free(&k);

    /* 3 query heads over 2 kv heads */
    qkv(&k, 3, dq, dk, dk);
    CHECK(oc_run(&k, 23) == ONYX_E_SHAPE && oc_msg_has(&k, "not a multiple"));
    oc_free(&k);

    /* head-count attributes on 4-D inputs: refused at opset 25 */
    qkv(&k, 3, dk, dk, dk);
    oc_attr_int(&k, "q_num_heads", 2);
    CHECK(oc_run(&k, 24) == ONYX_OK);
    CHECK(oc_run(&k, 25) == ONYX_E_ARG && oc_msg_has(&k, "3-D"));
    oc_free(&k);

    /* past_key without past_value */
    const int64_t dp[4] = {1, 2, 1, 2};
    qkv(&k, 5, dk, dk, dk);
    oc_in(&k, 4, ONYX_DTYPE_FLOAT, 4, dp, buf);
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "together"));
    oc_free(&k);

    /* nonpad_kv_seqlen: opset 24 on, not with a past cache, values within the keys */
    const int64_t db[1] = {1}, two[1] = {2}, three[1] = {3};
    qkv(&k, 7, dk, dk, dk);
    oc_in(&k, 6, ONYX_DTYPE_INT64, 1, db, two);
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "opset 24"));
    CHECK(oc_run(&k, 24) == ONYX_OK);
    oc_in(&k, 6, ONYX_DTYPE_INT64, 1, db, three);
    CHECK(oc_run(&k, 24) == ONYX_E_ARG && oc_msg_has(&k, "nonpad_kv_seqlen[0] = 3"));
    oc_in(&k, 4, ONYX_DTYPE_FLOAT, 4, dp, buf);
    oc_in(&k, 5, ONYX_DTYPE_FLOAT, 4, dp, buf);
    CHECK(oc_run(&k, 24) == ONYX_E_ARG && oc_msg_has(&k, "past_key"));
    oc_free(&k);

    /* masks: longer than the keys, or not broadcasting */
    const int64_t long_mask[2] = {2, 3}, bad_mask[2] = {3, 2};
    qkv(&k, 4, dk, dk, dk);
    oc_in(&k, 3, ONYX_DTYPE_FLOAT, 2, long_mask, buf);
    CHECK(oc_run(&k, 23) == ONYX_E_SHAPE && oc_msg_has(&k, "attn_mask"));
    oc_in(&k, 3, ONYX_DTYPE_FLOAT, 2, bad_mask, buf);
    CHECK(oc_run(&k, 23) == ONYX_E_SHAPE && oc_msg_has(&k, "broadcast"));
    oc_free(&k);

    /* attributes out of range */
    static const struct { const char *name; int64_t v; } bad[] = {
        {"qk_matmul_output_mode", 4}, {"softmax_precision", 7}, {"left_window_size", -2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qkv(&k, 3, dk, dk, dk);
        oc_attr_int(&k, bad[i].name, bad[i].v);
        CHECK_MSG(oc_run(&k, 25) == ONYX_E_ARG && oc_msg_has(&k, ""), "%s", bad[i].name);
        oc_free(&k);
    }

    /* dtypes: K must match Q; double is not supported */
    qkv(&k, 3, dk, dk, dk);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT16, 4, dk, buf);
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "K has dtype"));
    oc_in(&k, 1, ONYX_DTYPE_DOUBLE, 4, dk, buf);
    oc_in(&k, 0, ONYX_DTYPE_DOUBLE, 4, dk, buf);
    CHECK(oc_run(&k, 23) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "double"));
    oc_free(&k);
}

/* ---- RotaryEmbedding ---------------------------------------------------------------------- */

static void test_rotary(void)
{
    /* one head of 4, rotating the pairs (0, 2), (1, 3) by 90 degrees: (x1, x2) -> (-x2, x1);
     * interleaved the pairs are (0, 1), (2, 3) */
    const int64_t dx[4] = {1, 1, 1, 4}, dc[2] = {1, 2}, dpos[2] = {1, 1};
    const float x[4] = {1, 2, 3, 4}, cs[2] = {0, 0}, sn[2] = {1, 1};
    const int64_t pos[1] = {0}, bad_pos[1] = {1};
    op_case k;
    oc_init(&k, "RotaryEmbedding", 4);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dc, cs);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 2, dc, sn);
    oc_in(&k, 3, ONYX_DTYPE_INT64, 2, dpos, pos);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    const float *y = k.outs[0].data;
    CHECK(y[0] == -3 && y[1] == -4 && y[2] == 1 && y[3] == 2);
    oc_attr_int(&k, "interleaved", 1);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    y = k.outs[0].data;
    CHECK(y[0] == -2 && y[1] == 1 && y[2] == -4 && y[3] == 3);
    /* a position past the caches */
    oc_in(&k, 3, ONYX_DTYPE_INT64, 2, dpos, bad_pos);
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "position id 1"));
    oc_free(&k);

    /* partial rotation: rotary_embedding_dim 2 rotates (0, 1) and copies the rest; an odd
     * dim is refused */
    const int64_t dc1[2] = {1, 1};
    oc_init(&k, "RotaryEmbedding", 4);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dc1, cs);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 2, dc1, sn);
    oc_in(&k, 3, ONYX_DTYPE_INT64, 2, dpos, pos);
    oc_attr_int(&k, "rotary_embedding_dim", 2);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    y = k.outs[0].data;
    CHECK(y[0] == -2 && y[1] == 1 && y[2] == 3 && y[3] == 4);
    k.attr[0].i = 3;
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "rotary_embedding_dim"));
    /* caches of the wrong width */
    k.attr[0].i = 0;
    CHECK(oc_run(&k, 23) == ONYX_E_SHAPE && oc_msg_has(&k, "cos_cache"));
    oc_free(&k);

    /* 3-D input without num_heads */
    const int64_t d3[3] = {1, 1, 4}, dc3[3] = {1, 1, 2};
    oc_init(&k, "RotaryEmbedding", 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, d3, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dc3, cs);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 3, dc3, sn);
    CHECK(oc_run(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "num_heads"));
    oc_attr_int(&k, "num_heads", 1);
    CHECK(oc_run(&k, 23) == ONYX_OK);
    y = k.outs[0].data;
    CHECK(y[0] == -3 && y[3] == 2);
    oc_free(&k);
}

/* ---- SwiGLU ------------------------------------------------------------------------------- */

static void test_swiglu(void)
{
    const int64_t d[1] = {3}, d2[1] = {2};
    const float a[3] = {0, 1, -2}, b[3] = {5, 2, 1};
    op_case k;
    oc_init(&k, "SwiGLU", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d, a);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d, b);
    oc_attr_float(&k, "alpha", 0.5f);
    CHECK(oc_run(&k, 28) == ONYX_OK);
    const float *y = k.outs[0].data;
    CHECK(y[0] == 0 && near(y[1], 2.0 / (1 + exp(-0.5))) && near(y[2], -2.0 / (1 + exp(1.0))));
    CHECK(oc_run(&k, 27) == ONYX_E_UNSUPPORTED);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d2, b);
    CHECK(oc_run(&k, 28) == ONYX_E_SHAPE && oc_msg_has(&k, "same shape"));
    oc_in(&k, 1, ONYX_DTYPE_DOUBLE, 1, d, b);
    CHECK(oc_run(&k, 28) == ONYX_E_ARG && oc_msg_has(&k, "B has dtype"));
    oc_free(&k);
}

int main(void)
{
    test_attention_basic();
    test_attention_fully_masked();
    test_attention_no_keys();
    test_attention_cache_half();
    test_attention_threads();
    test_attention_errors();
    test_rotary();
    test_swiglu();
    return check_report("attention");
}
