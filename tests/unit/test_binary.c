/* test_binary.c — the binary family (Pow, Mod, PRelu, BitShift, bitwise ops, Max, Min, Mean,
 * Sum): integer edge cases that would be undefined behaviour in plain C (division by zero,
 * INT_MIN % -1, shift counts past the width, float -> int overflow), NaN handling,
 * broadcasting, thread-count independence and the ops' error paths. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "op_harness.h"

static const int64_t d1[] = {1}, d2[] = {2}, d3[] = {3}, d4[] = {4}, d5[] = {5}, d6[] = {6};

static void test_mod(void)
{
    op_case k;
    const int32_t a[] = {INT32_MIN, 7, -7, 7, -7, 5};
    const int32_t b[] = {-1, 0, 3, -3, -3, 5};
    int32_t o[6];
    oc_init(&k, "Mod", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 1, d6, a);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d6, b);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 2 && o[3] == -2 && o[4] == -1 && o[5] == 0);
    oc_attr_int(&k, "fmod", 1);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == -1 && o[3] == 1 && o[4] == -1 && o[5] == 0);
    oc_free(&k);

    const int64_t a64[] = {INT64_MIN, INT64_MIN}, b64[] = {-1, 0};
    int64_t o64[2];
    oc_init(&k, "Mod", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT64, 1, d2, a64);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, b64);
    CHECK(oc_call(&k, 13, o64, sizeof o64) == ONYX_OK && o64[0] == 0 && o64[1] == 0);
    oc_free(&k);

    /* floor mod on floats: sign of the divisor, Mod-28's infinities and zeros */
    const float fa[] = {-0.0f, -3.0f, 1.0f, INFINITY, 5.5f};
    const float fb[] = {2.0f, INFINITY, -INFINITY, 2.0f, -2.0f};
    float fo[5];
    oc_init(&k, "Mod", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d5, fa);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d5, fb);
    CHECK(oc_call(&k, 28, fo, sizeof fo) == ONYX_OK);
    CHECK(fo[0] == 0 && !signbit(fo[0]));
    CHECK(fo[1] == INFINITY && fo[2] == -INFINITY && isnan(fo[3]) && fo[4] == -0.5f);
    oc_free(&k);

    /* errors: bad fmod, dtype mismatch, bool */
    oc_init(&k, "Mod", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 1, d6, a);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d6, b);
    oc_attr_int(&k, "fmod", 2);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_ARG && oc_msg_has(&k, "fmod"));
    k.node.n_attr = 0;
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d6, b);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_SHAPE && oc_msg_has(&k, "int64"));
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 1, d6, a);
    oc_in(&k, 1, ONYX_DTYPE_BOOL, 1, d6, b);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "bool"));
    k.node.n_in = 1;
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_ARG && oc_msg_has(&k, "expects 2"));
    oc_free(&k);
}

static void test_pow(void)
{
    op_case k;
    /* int32 base, int64 exponent: exact and wrapping; negative exponents truncate */
    const int32_t base[] = {3, 2, -1, 1, 0, -2};
    const int64_t e[] = {40, -1, -3, -5, -2, 3};
    int32_t o[6];
    oc_init(&k, "Pow", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 1, d6, base);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d6, e);
    CHECK(oc_call(&k, 15, o, sizeof o) == ONYX_OK);
    uint32_t p = 1;
    for (int i = 0; i < 40; i++) p *= 3u;
    CHECK(o[0] == (int32_t)p && o[1] == 0 && o[2] == -1 && o[3] == 1 && o[4] == 0 && o[5] == -8);
    oc_free(&k);

    /* int32 base, float exponent: saturating, NaN -> 0 */
    const int32_t b2[] = {10, -10, 2, 4};
    const float e2[] = {20.0f, 21.0f, NAN, 0.5f};
    int32_t o2[4];
    oc_init(&k, "Pow", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 1, d4, b2);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d4, e2);
    CHECK(oc_call(&k, 15, o2, sizeof o2) == ONYX_OK);
    CHECK(o2[0] == INT32_MAX && o2[1] == INT32_MIN && o2[2] == 0 && o2[3] == 2);
    oc_free(&k);

    /* float16 base, uint8 exponent, broadcast scalar */
    const uint16_t h[] = {ox_f32_to_f16(1.5f), ox_f32_to_f16(-2.0f)};
    const uint8_t ue = 3;
    uint16_t ho[2];
    oc_init(&k, "Pow", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT16, 1, d2, h);
    oc_in(&k, 1, ONYX_DTYPE_UINT8, 0, NULL, &ue);
    CHECK(oc_call(&k, 15, ho, sizeof ho) == ONYX_OK);
    CHECK(ox_f16_to_f32(ho[0]) == 3.375f && ox_f16_to_f32(ho[1]) == -8.0f);
    /* int8 bases are not in the schema */
    oc_in(&k, 0, ONYX_DTYPE_INT8, 1, d2, h);
    CHECK(oc_call(&k, 15, ho, sizeof ho) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "int8"));
    oc_free(&k);

    /* opset 1: legacy broadcast (B's dims from `axis`) and its errors */
    const float x[] = {1, 2, 3, 4, 5, 6}, y[] = {2, 3};
    float xo[6];
    const int64_t d23[] = {2, 3};
    oc_init(&k, "Pow", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d2, y);
    CHECK(oc_call(&k, 1, xo, sizeof xo) == ONYX_E_SHAPE && oc_msg_has(&k, "broadcast is 0"));
    oc_attr_int(&k, "broadcast", 1);
    CHECK(oc_call(&k, 1, xo, sizeof xo) == ONYX_E_SHAPE && oc_msg_has(&k, "axis"));
    oc_attr_int(&k, "axis", 0);
    CHECK(oc_call(&k, 1, xo, sizeof xo) == ONYX_OK);
    CHECK(xo[0] == 1 && xo[2] == 9 && xo[3] == 64 && xo[5] == 216);
    oc_free(&k);
}

static void test_bitshift(void)
{
    op_case k;
    const uint8_t x8[] = {1, 1, 255, 128};
    const uint8_t s8[] = {7, 8, 200, 7};
    uint8_t o8[4];
    oc_init(&k, "BitShift", 2);
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 1, d4, x8);
    oc_in(&k, 1, ONYX_DTYPE_UINT8, 1, d4, s8);
    CHECK(oc_call(&k, 11, o8, sizeof o8) == ONYX_E_ARG && oc_msg_has(&k, "direction"));
    oc_attr_str(&k, "direction", "UP");
    CHECK(oc_call(&k, 11, o8, sizeof o8) == ONYX_E_ARG && oc_msg_has(&k, "UP"));
    k.attr[0].s = "LEFT";
    CHECK(oc_call(&k, 11, o8, sizeof o8) == ONYX_OK);
    CHECK(o8[0] == 128 && o8[1] == 0 && o8[2] == 0 && o8[3] == 0);
    k.attr[0].s = "RIGHT";
    CHECK(oc_call(&k, 11, o8, sizeof o8) == ONYX_OK);
    CHECK(o8[0] == 0 && o8[1] == 0 && o8[2] == 0 && o8[3] == 1);
    oc_free(&k);

    /* signed (BitShift-28): arithmetic right shift, out-of-range counts */
    const int64_t x64[] = {-8, -8, 8, INT64_MIN, -1, 1};
    const int64_t s64[] = {1, 64, -1, 63, -5, 62};
    int64_t o64[6];
    oc_init(&k, "BitShift", 2);
    oc_attr_str(&k, "direction", "RIGHT");
    oc_in(&k, 0, ONYX_DTYPE_INT64, 1, d6, x64);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d6, s64);
    CHECK(oc_call(&k, 28, o64, sizeof o64) == ONYX_OK);
    CHECK(o64[0] == -4 && o64[1] == -1 && o64[2] == 0 && o64[3] == -1 && o64[4] == -1 &&
          o64[5] == 0);
    k.attr[0].s = "LEFT";
    CHECK(oc_call(&k, 28, o64, sizeof o64) == ONYX_OK);
    CHECK(o64[0] == -16 && o64[1] == 0 && o64[2] == 0 && o64[3] == 0 && o64[4] == 0 &&
          o64[5] == (INT64_C(1) << 62));
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d6, x64);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d6, s64);
    CHECK(oc_call(&k, 28, o64, sizeof o64) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "float32"));
    oc_free(&k);
}

static void test_bitwise(void)
{
    op_case k;
    const int16_t a[] = {-1, 0x0f0f, 0x7fff}, b[] = {0x1234, 0x00ff, -32768};
    int16_t o[3];
    oc_init(&k, "BitwiseXor", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT16, 1, d3, a);
    oc_in(&k, 1, ONYX_DTYPE_INT16, 1, d3, b);
    CHECK(oc_call(&k, 18, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == (int16_t)~0x1234 && o[1] == 0x0ff0 && o[2] == -1);
    k.node.op_type = "BitwiseAnd";
    CHECK(oc_call(&k, 18, o, sizeof o) == ONYX_OK && o[0] == 0x1234 && o[2] == 0);
    k.node.op_type = "BitwiseNot";
    k.node.n_in = 1;
    CHECK(oc_call(&k, 18, o, sizeof o) == ONYX_OK && o[0] == 0 && o[2] == -32768);
    oc_in(&k, 0, ONYX_DTYPE_INT4, 1, d3, a);
    CHECK(oc_call(&k, 18, o, sizeof o) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "int4"));
    CHECK(oc_call(&k, 17, o, sizeof o) == ONYX_E_UNSUPPORTED); /* no BitwiseNot before 18 */
    oc_free(&k);
}

static void test_prelu(void)
{
    op_case k;
    const float x[] = {-1, 2, -3, 4, -5, 6, -7, 8};
    const float slope[] = {0.5f, 2.0f, 0.0f, 1.0f};
    float o[8];
    const int64_t d24[] = {2, 4};
    oc_init(&k, "PRelu", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d24, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d4, slope);
    CHECK(oc_call(&k, 16, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == -0.5f && o[1] == 2 && o[2] == 0 && o[3] == 4 && o[4] == -2.5f && o[6] == 0);
    /* slope must broadcast onto X, not widen it */
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d3, slope);
    CHECK(oc_call(&k, 16, o, sizeof o) == ONYX_E_SHAPE);
    const int64_t d324[] = {3, 2, 4};
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, d324, slope);
    CHECK(oc_call(&k, 16, o, sizeof o) == ONYX_E_SHAPE && oc_msg_has(&k, "slope"));
    oc_free(&k);

    const int32_t xi[] = {INT32_MIN, -3, 5}, si[] = {2};
    int32_t oi[3];
    oc_init(&k, "PRelu", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 1, d3, xi);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d1, si);
    CHECK(oc_call(&k, 16, oi, sizeof oi) == ONYX_OK && oi[0] == 0 && oi[1] == -6 && oi[2] == 5);
    oc_free(&k);
}

static void test_variadic(void)
{
    op_case k;
    /* Max of [2,1], [3] and a scalar broadcast to [2,3]; NaN wins wherever it appears */
    const float a[] = {1, NAN}, b[] = {0, 5, 2}, s = 3;
    float o[6];
    const int64_t d21[] = {2, 1};
    oc_init(&k, "Max", 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d21, a);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d3, b);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 0, NULL, &s);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK);
    CHECK(k.out.rank == 2 && k.out.dims[0] == 2 && k.out.dims[1] == 3);
    CHECK(o[0] == 3 && o[1] == 5 && o[2] == 3 && isnan(o[3]) && isnan(o[4]) && isnan(o[5]));
    k.node.op_type = "Min";
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == 1 && isnan(o[3]));
    const float nan_first = NAN;
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 0, NULL, &nan_first);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK && isnan(o[0]) && isnan(o[2]));
    k.node.op_type = "Mean";
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d21, a);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 4.0f / 3 && o[1] == 3 && isnan(o[3]));
    k.node.op_type = "Sum";
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK && o[0] == 4 && o[1] == 9 && o[2] == 6);
    /* one input: a copy */
    k.node.n_in = 1;
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK && o[0] == 1 && isnan(o[1]));
    /* errors: no inputs, an omitted input, mixed dtypes, shapes that do not broadcast */
    k.node.n_in = 0;
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_ARG && oc_msg_has(&k, "at least one"));
    k.node.n_in = 3;
    k.in_p[1] = NULL;
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_ARG && oc_msg_has(&k, "input 1"));
    k.in_p[1] = &k.in[1];
    oc_in(&k, 2, ONYX_DTYPE_DOUBLE, 0, NULL, &s);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_SHAPE && oc_msg_has(&k, "float64"));
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, d2, &s);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_SHAPE && oc_msg_has(&k, "broadcast"));
    oc_free(&k);

    /* Mean refuses integers; Max takes them */
    const int32_t ia[] = {-5, 7}, ib[] = {3, -9};
    int32_t io[2];
    oc_init(&k, "Mean", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 1, d2, ia);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d2, ib);
    CHECK(oc_call(&k, 13, io, sizeof io) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "int32"));
    k.node.op_type = "Max";
    CHECK(oc_call(&k, 13, io, sizeof io) == ONYX_OK && io[0] == 3 && io[1] == 7);
    oc_free(&k);
}

/* Big broadcast Max and Pow give identical bits on 1 and 4 threads. */
static void test_threads(void)
{
    enum { R = 300, C = 257 };
    float *a = malloc(sizeof(float) * R * C), *b = malloc(sizeof(float) * C);
    float *o1 = malloc(sizeof(float) * R * C), *o4 = malloc(sizeof(float) * R * C);
    if (!a || !b || !o1 || !o4) {
        CHECK(0);
        goto done;
    }
    for (int i = 0; i < R * C; i++) a[i] = (float)((i * 7919) % 1000) / 250.0f - 2.0f;
    for (int j = 0; j < C; j++) b[j] = (float)(j % 17) / 8.0f - 1.0f;
    const int64_t da[] = {R, C}, db[] = {C};
    const char *ops[] = {"Max", "Pow", "Mod"};
    for (int t = 0; t < 3; t++) {
        op_case k;
        oc_init(&k, ops[t], 2);
        if (t == 2) oc_attr_int(&k, "fmod", 1);
        oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, da, a);
        oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, db, b);
        CHECK(oc_call(&k, 15, o1, sizeof(float) * R * C) == ONYX_OK);
        k.threads = 4;
        CHECK(oc_call(&k, 15, o4, sizeof(float) * R * C) == ONYX_OK);
        CHECK(memcmp(o1, o4, sizeof(float) * R * C) == 0);
        oc_free(&k);
    }
done:
    free(a);
    free(b);
    free(o1);
    free(o4);
}

int main(void)
{
    test_mod();
    test_pow();
    test_bitshift();
    test_bitwise();
    test_prelu();
    test_variadic();
    test_threads();
    return check_report("binary");
}
