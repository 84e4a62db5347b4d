/* test_quant.c — the quant family: the integer kernels (wrap-around accumulation, rounding,
 * saturation, thread-count independence) and the ops on single nodes: exact rounding and
 * saturation edge cases, and error paths, checking statuses and that messages name the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "op_harness.h"
#include "qgemm.h"

/* ---- kernels ----------------------------------------------------------------------------- */

static void test_qgemm_wraps(void)
{
    /* 40000 products of 255 * 255 sum past INT32_MAX: the result wraps modulo 2^32 */
    enum { K = 40000 };
    int16_t *a = malloc(K * sizeof *a), *b = malloc(K * sizeof *b);
    for (int i = 0; i < K; i++) a[i] = b[i] = 255;
    int32_t c = 0;
    ox_qgemm_s16(1, 1, K, a, b, &c, 1, 1);
    CHECK(c == -1693967296); /* 2601000000 - 2^32 */
    free(a);
    free(b);
}

static void test_qgemm_threads(void)
{
    /* the same bits whatever the thread count, and equal to a plain triple loop */
    enum { M = 9, N = 300, K = 37 };
    int16_t A[M * K], B[K * N];
    int32_t C1[M * N], C4[M * N];
    for (int i = 0; i < M * K; i++) A[i] = (int16_t)((i * 37) % 511 - 255);
    for (int i = 0; i < K * N; i++) B[i] = (int16_t)((i * 91) % 511 - 255);
    ox_qgemm_s16(M, N, K, A, B, C1, N, 1);
    ox_qgemm_s16(M, N, K, A, B, C4, N, 4);
    CHECK(!memcmp(C1, C4, sizeof C1));
    bool ok = true;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int32_t s = 0;
            for (int k = 0; k < K; k++) s += A[m * K + k] * B[k * N + n];
            ok = ok && s == C1[m * N + n];
        }
    CHECK(ok);
}

static void test_requant(void)
{
    /* ties to even, saturation, and a NaN multiplier giving the zero point */
    const int32_t acc[6] = {5, 7, -5, 1000, -1000, 3};
    const float half[1] = {0.5f};
    uint8_t u[6];
    ox_q8_requant(acc, 6, half, 0, 0, false, u);
    CHECK(u[0] == 2 && u[1] == 4 && u[2] == 0 && u[3] == 255 && u[4] == 0 && u[5] == 2);
    int8_t s[6];
    ox_q8_requant(acc, 6, half, 0, 1, true, s);
    CHECK(s[0] == 4 && s[1] == 4 && s[2] == -2 && s[3] == 127 && s[4] == -128 && s[5] == 2);
    const float nan_mult[1] = {NAN};
    ox_q8_requant(acc, 1, nan_mult, 0, 7, true, s);
    CHECK(s[0] == 7);
}

/* ---- QuantizeLinear / DequantizeLinear ---------------------------------------------------- */

static void test_quantize_values(void)
{
    op_case k;
    const int64_t d8[1] = {8}, d0[1] = {0};
    const float x[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, NAN, INFINITY, -300.0f};
    const float one = 1.0f;
    const int8_t zp = 0;
    int8_t y[8];
    oc_init_n(&k, "QuantizeLinear", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d8, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, &one);
    oc_in(&k, 2, ONYX_DTYPE_INT8, 0, d0, &zp);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_OK);
    const int8_t want[8] = {0, 2, 2, 0, -2, 0, 127, -128};
    CHECK(!memcmp(y, want, sizeof want));

    /* int4 saturates to [-8, 7]; output_dtype picks the type when there is no zero point */
    oc_init_n(&k, "QuantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d8, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, &one);
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_INT4);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_OK && k.outs[0].dtype == ONYX_DTYPE_INT4);
    CHECK(y[6] == 7 && y[7] == -8 && y[2] == 2);

    /* float8 without saturation: overflow is NaN for E4M3FN (0x7F/0xFF), inf for E5M2 */
    const float big[2] = {1e6f, -1e6f};
    const int64_t d2[1] = {2};
    uint8_t f8[2];
    oc_init_n(&k, "QuantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d2, big);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, &one);
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_FLOAT8E4M3FN);
    oc_attr_int(&k, "saturate", 0);
    CHECK(oc_call(&k, 21, f8, sizeof f8) == ONYX_OK && (f8[0] & 0x7F) == 0x7F);
    k.attr[0].i = ONYX_DTYPE_FLOAT8E5M2;
    CHECK(oc_call(&k, 21, f8, sizeof f8) == ONYX_OK && f8[0] == 0x7C && f8[1] == 0xFC);
    k.attr[1].i = 1; /* saturate: ±max = ±57344 */
    CHECK(oc_call(&k, 21, f8, sizeof f8) == ONYX_OK && f8[0] == 0x7B && f8[1] == 0xFB);
}

static void test_quantize_blocked(void)
{
    /* x [2, 5] along axis 1 in blocks of 2: scale [2, 3], the last block short */
    op_case k;
    const int64_t dx[2] = {2, 5}, ds[2] = {2, 3};
    const float x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const float s[6] = {1, 2, 4, 1, 0.5f, 0.25f};
    uint8_t y[10];
    oc_init_n(&k, "QuantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, s);
    oc_attr_int(&k, "axis", 1);
    oc_attr_int(&k, "block_size", 2);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_OK);
    const uint8_t want[10] = {1, 2, 2, 2, 1, 6, 7, 16, 18, 40};
    CHECK(!memcmp(y, want, sizeof want));
    /* a block size that does not give the scale's shape */
    k.attr[1].i = 3;
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "block_size 3"));
}

static void test_quantize_errors(void)
{
    op_case k;
    const int64_t d4[1] = {4}, d3[1] = {3}, d2[2] = {2, 2}, d0[1] = {0};
    const float x[4] = {0}, s[4] = {1, 1, 1, 1};
    const uint8_t zp[4] = {0};
    uint8_t y[4];

    /* zero point and scale shapes differ */
    oc_init_n(&k, "QuantizeLinear", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d4, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d4, s);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 1, d3, zp);
    oc_attr_int(&k, "axis", 0);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "zero point shape"));

    /* per-axis scale of the wrong length; axis out of range */
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 1, d3, zp);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d3, s);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "per-axis"));
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d4, s);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 1, d4, zp);
    k.attr[0].i = 1;
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "axis 1"));

    /* a vector scale before opset 13; a 2-D scale without block_size */
    k.attr[0].i = 0;
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "scalar"));
    const int64_t dx2[2] = {2, 2};
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx2, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, d2, s);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 2, d2, zp);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_SHAPE);

    /* output_dtype contradicting the zero point; a non-quantized output type */
    oc_init_n(&k, "QuantizeLinear", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d4, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, s);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 0, d0, zp);
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_INT8);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "output_dtype"));
    oc_init_n(&k, "QuantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d4, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, s);
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_FLOAT);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "quantize to float32"));
    k.attr[0].i = 999;
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "unknown dtype"));

    /* an unsupported division precision; an unsupported x type */
    oc_init_n(&k, "QuantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d4, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, s);
    oc_attr_int(&k, "precision", ONYX_DTYPE_INT32);
    CHECK(oc_call(&k, 23, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "precision"));
    oc_init_n(&k, "QuantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 1, d4, zp);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, s);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "uint8"));
}

static void test_dequantize(void)
{
    op_case k;
    const int64_t d4[1] = {4}, d2[2] = {2, 2}, d0[1] = {0};
    const int8_t x4[4] = {-8, -1, 0, 7}; /* int4, one element per byte */
    const int8_t zp4 = -1;
    const float s = 0.5f;
    float y[4];
    oc_init_n(&k, "DequantizeLinear", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_INT4, 1, d4, x4);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, &s);
    oc_in(&k, 2, ONYX_DTYPE_INT4, 0, d0, &zp4);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_OK);
    CHECK(y[0] == -3.5f && y[1] == 0.0f && y[2] == 0.5f && y[3] == 4.0f);

    /* float16 output by output_dtype; per-axis along a negative axis */
    const uint8_t xu[4] = {10, 20, 30, 40};
    const float sv[2] = {1.0f, 0.25f};
    const int64_t dv[1] = {2};
    uint16_t h[4];
    oc_init_n(&k, "DequantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 2, d2, xu);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dv, sv);
    oc_attr_int(&k, "axis", -1);
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_FLOAT16);
    CHECK(oc_call(&k, 23, h, sizeof h) == ONYX_OK && k.outs[0].dtype == ONYX_DTYPE_FLOAT16);
    CHECK(ox_f16_to_f32(h[0]) == 10.0f && ox_f16_to_f32(h[1]) == 5.0f &&
          ox_f16_to_f32(h[3]) == 10.0f);

    /* errors: zero point type, output type, a float8e8m0 scale without output_dtype */
    const uint8_t zu = 0;
    const int8_t zi = 0;
    oc_init_n(&k, "DequantizeLinear", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 1, d4, xu);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, &s);
    oc_in(&k, 2, ONYX_DTYPE_INT8, 0, d0, &zi);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "zero point has dtype int8"));
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 0, d0, &zu);
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_INT32);
    CHECK(oc_call(&k, 23, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "dequantize to int32"));
    const uint8_t e8 = 127;
    oc_init_n(&k, "DequantizeLinear", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 1, d4, xu);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT8E8M0, 0, d0, &e8);
    CHECK(oc_call(&k, 24, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "output_dtype"));
    oc_attr_int(&k, "output_dtype", ONYX_DTYPE_FLOAT);
    CHECK(oc_call(&k, 24, y, sizeof y) == ONYX_OK && y[1] == 20.0f);
}

/* ---- DynamicQuantizeLinear ---------------------------------------------------------------- */

static void test_dynamic(void)
{
    /* the spec's example: [0, 2, -3, -2.5, 1.34, 0.5] -> scale 5/255, zero point 153 */
    op_case k;
    const int64_t d6[1] = {6};
    const float x[6] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
    uint8_t y[6], zp = 0;
    float scale = 0;
    void *outs[3] = {y, &scale, &zp};
    oc_init_n(&k, "DynamicQuantizeLinear", 1, 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d6, x);
    CHECK(oc_call_n(&k, 11, outs, sizeof y) == ONYX_OK);
    const uint8_t want[6] = {153, 255, 0, 26, 221, 179};
    CHECK(!memcmp(y, want, sizeof want) && zp == 153 && scale == 5.0f / 255.0f);
    /* infinite inputs make the scale infinite and the zero point NaN: 0 (no UB) */
    const float inf3[3] = {-INFINITY, INFINITY, 1.0f};
    const int64_t d3[1] = {3};
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d3, inf3);
    CHECK(oc_call_n(&k, 11, outs, sizeof y) == ONYX_OK && zp == 0 && y[0] == 0 && y[2] == 0);
    /* float only */
    oc_in(&k, 0, ONYX_DTYPE_DOUBLE, 1, d6, x);
    CHECK(oc_call_n(&k, 11, outs, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "float64"));
}

/* ---- MatMulInteger / QLinearMatMul -------------------------------------------------------- */

static void test_matmul_integer(void)
{
    /* batched A [2, 2, 3] with a per-row zero point [2, 2, 1], B [3, 2] with a per-column one */
    op_case k;
    const int64_t da[3] = {2, 2, 3}, dza[3] = {2, 2, 1}, db[2] = {3, 2}, dzb[1] = {2};
    const int8_t a[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, 127, -128, 0};
    const int8_t za[4] = {1, 0, -1, 2};
    const uint8_t b[6] = {0, 255, 1, 128, 2, 7}, zb[2] = {1, 128};
    int32_t y[8];
    oc_init_n(&k, "MatMulInteger", 4, 1);
    oc_in(&k, 0, ONYX_DTYPE_INT8, 3, da, a);
    oc_in(&k, 1, ONYX_DTYPE_UINT8, 2, db, b);
    oc_in(&k, 2, ONYX_DTYPE_INT8, 3, dza, za);
    oc_in(&k, 3, ONYX_DTYPE_UINT8, 1, dzb, zb);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_OK && k.outs[0].rank == 3);
    bool ok = true;
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int32_t s = 0;
                for (int q = 0; q < 3; q++)
                    s += (a[(t * 2 + i) * 3 + q] - za[t * 2 + i]) * (b[q * 2 + j] - zb[j]);
                ok = ok && y[(t * 2 + i) * 2 + j] == s;
            }
    CHECK(ok);

    /* errors: inner dims, zero point shape and type */
    const int64_t db_bad[2] = {4, 2}, dz_bad[1] = {3};
    oc_in(&k, 1, ONYX_DTYPE_UINT8, 2, db_bad, b);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "inner dimensions"));
    oc_in(&k, 1, ONYX_DTYPE_UINT8, 2, db, b);
    oc_in(&k, 3, ONYX_DTYPE_UINT8, 1, dz_bad, zb);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "input 3"));
    oc_in(&k, 3, ONYX_DTYPE_INT8, 1, dzb, zb);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "input 3 has dtype int8"));
    oc_in(&k, 0, ONYX_DTYPE_INT16, 3, da, a);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "int16"));
}

static void test_qlinear_matmul(void)
{
    /* [1, 2] x [2, 1]: (10-2)*(3-1) + (4-2)*(5-1) = 24; 24 * 0.5*0.25/0.5 = 6 + y_zp 1 = 7 */
    op_case k;
    const int64_t da[2] = {1, 2}, db[2] = {2, 1}, d1[1] = {1};
    const uint8_t a[2] = {10, 4}, b[2] = {3, 5}, za = 2, zb = 1, zy = 1;
    const float sa = 0.5f, sb = 0.25f, sy = 0.5f;
    uint8_t y[1];
    oc_init_n(&k, "QLinearMatMul", 8, 1);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 2, da, a);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d1, &sa);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 1, d1, &za);
    oc_in(&k, 3, ONYX_DTYPE_UINT8, 2, db, b);
    oc_in(&k, 4, ONYX_DTYPE_FLOAT, 1, d1, &sb);
    oc_in(&k, 5, ONYX_DTYPE_UINT8, 1, d1, &zb);
    oc_in(&k, 6, ONYX_DTYPE_FLOAT, 1, d1, &sy);
    oc_in(&k, 7, ONYX_DTYPE_UINT8, 1, d1, &zy);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_OK && y[0] == 7);
    /* mixed scale types; a y_scale of two values; float8 */
    const float sy2[2] = {1, 1};
    const int64_t d2[1] = {2};
    oc_in(&k, 4, ONYX_DTYPE_FLOAT16, 1, d1, &sb);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "input 4 has dtype float16"));
    oc_in(&k, 4, ONYX_DTYPE_FLOAT, 1, d1, &sb);
    oc_in(&k, 6, ONYX_DTYPE_FLOAT, 1, d2, sy2);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "input 6 must hold one"));
    oc_in(&k, 6, ONYX_DTYPE_FLOAT, 1, d1, &sy);
    oc_in(&k, 7, ONYX_DTYPE_FLOAT8E4M3FN, 1, d1, &zy);
    CHECK(oc_call(&k, 21, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "float8"));
}

/* ---- ConvInteger / QLinearConv ------------------------------------------------------------ */

static void test_conv_integer(void)
{
    /* 1x1x3x3 input, 2 output channels with their own weight zero points, padding 1: the
     * padding stands for the input zero point, so it contributes 0 */
    op_case k;
    const int64_t dx[4] = {1, 1, 3, 3}, dw[4] = {2, 1, 2, 2}, d0[1] = {0}, dz[1] = {2};
    const uint8_t x[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10}, w[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    const uint8_t xz = 1, wz[2] = {0, 1};
    const int64_t pads[4] = {1, 1, 1, 1};
    int32_t y[32];
    oc_init_n(&k, "ConvInteger", 4, 1);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_UINT8, 4, dw, w);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 0, d0, &xz);
    oc_in(&k, 3, ONYX_DTYPE_UINT8, 1, dz, wz);
    oc_attr_ints(&k, "pads", 4, pads);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_OK && k.outs[0].dims[2] == 4);
    /* corner (0, 0) sees x[0] - 1 = 1 only; centre (1, 1) sees 1 + 2 + 4 + 5 = 12 */
    CHECK(y[0] == 1 && y[5] == 12 && y[16] == 1 && y[21] == 12);

    /* threads do not change the result */
    int32_t y4[32];
    k.threads = 4;
    CHECK(oc_call(&k, 10, y4, sizeof y4) == ONYX_OK && !memcmp(y, y4, sizeof y));

    /* errors: per-channel zero point of the wrong length, x zero point not a scalar, groups */
    const int64_t dz3[1] = {3};
    const uint8_t wz3[3] = {0};
    oc_in(&k, 3, ONYX_DTYPE_UINT8, 1, dz3, wz3);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "input 3 has shape [3]"));
    oc_in(&k, 3, ONYX_DTYPE_UINT8, 1, dz, wz);
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 1, dz, wz);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "input 2 must hold one"));
    oc_in(&k, 2, ONYX_DTYPE_UINT8, 0, d0, &xz);
    oc_attr_int(&k, "group", 2);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "group 2"));
    k.attr[1].i = 1;
    const int64_t strides[1] = {1};
    oc_attr_ints(&k, "strides", 1, strides);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "'strides' has 1 values"));
}

static void test_qlinear_conv(void)
{
    /* 1x1 kernel: y = round((x - xz) * w_scale[m] * x_scale / y_scale + bias term) + yz */
    op_case k;
    const int64_t dx[4] = {1, 1, 1, 3}, dw[4] = {2, 1, 1, 1}, d0[1] = {0}, d2[1] = {2};
    const int8_t x[3] = {-128, 0, 127}, w[2] = {1, -1}, wz = 0, xz = 0, yz = 0;
    const float xs = 1.0f, ws[2] = {0.5f, 0.25f}, ys = 1.0f;
    const int32_t bias[2] = {1, 0};
    int8_t y[6];
    oc_init_n(&k, "QLinearConv", 9, 1);
    oc_in(&k, 0, ONYX_DTYPE_INT8, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, d0, &xs);
    oc_in(&k, 2, ONYX_DTYPE_INT8, 0, d0, &xz);
    oc_in(&k, 3, ONYX_DTYPE_INT8, 4, dw, w);
    oc_in(&k, 4, ONYX_DTYPE_FLOAT, 1, d2, ws);
    oc_in(&k, 5, ONYX_DTYPE_INT8, 0, d0, &wz);
    oc_in(&k, 6, ONYX_DTYPE_FLOAT, 0, d0, &ys);
    oc_in(&k, 7, ONYX_DTYPE_INT8, 0, d0, &yz);
    oc_in(&k, 8, ONYX_DTYPE_INT32, 1, d2, bias);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_OK);
    /* channel 0: (x + 1) * 0.5 = -63.5, 0.5, 64 -> -64, 0, 64 (ties to even);
     * channel 1: -x * 0.25 = 32, 0, -31.75 -> 32, 0, -32 */
    const int8_t want[6] = {-64, 0, 64, 32, 0, -32};
    CHECK(!memcmp(y, want, sizeof want));
    /* errors: a bias of the wrong shape, a y_zero_point of another type than int8/uint8 */
    oc_in(&k, 8, ONYX_DTYPE_INT32, 0, d0, bias);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "B must be int32"));
    oc_omit(&k, 8);
    oc_in(&k, 7, ONYX_DTYPE_INT16, 0, d0, &yz);
    CHECK(oc_call(&k, 10, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "int16"));
}

int main(void)
{
    test_qgemm_wraps();
    test_qgemm_threads();
    test_requant();
    test_quantize_values();
    test_quantize_blocked();
    test_quantize_errors();
    test_dequantize();
    test_dynamic();
    test_matmul_integer();
    test_qlinear_matmul();
    test_conv_integer();
    test_qlinear_conv();
    return check_report("quant");
}
