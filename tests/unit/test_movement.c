/* test_movement.c — the movement family (Pad, Tile, Expand, Split, Range, …), Cast's string
 * and small-float conversions, and the small-float codecs: exact results at edge cases
 * (negative pads, uneven splits, float8 overflow and rounding, numpy's number spelling) and
 * error paths that must fail with the right status and a message naming the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"
#include "smallfloat.h"

static bool floats_are(const onyx_tensor *t, int n, const float *want)
{
    if (ox_tensor_numel(t) != n) return false;
    return !memcmp(t->data, want, (size_t)n * sizeof *want);
}

/* ---- small floats ------------------------------------------------------------------------ */

static void test_smallfloat(void)
{
    /* E4M3FN: 448 is the largest value; 464 ties to even (448); 480 and up overflow. */
    CHECK(ox_f64_to_f8e4m3fn(448, true) == 0x7E);
    CHECK(ox_f64_to_f8e4m3fn(464, false) == 0x7E);
    CHECK(ox_f64_to_f8e4m3fn(470, false) == 0x7F); /* rounds to 480: NaN without saturate */
    CHECK(ox_f64_to_f8e4m3fn(470, true) == 0x7E);
    CHECK(ox_f64_to_f8e4m3fn(-INFINITY, true) == 0xFE);
    CHECK(ox_f64_to_f8e4m3fn(-INFINITY, false) == 0xFF);
    CHECK(ox_f64_to_f8e4m3fn(-0.0, true) == 0x80);
    CHECK(ox_f64_to_f8e4m3fn(ldexp(1, -9), true) == 0x01); /* smallest subnormal */
    CHECK(ox_f64_to_f8e4m3fn(ldexp(1, -10), true) == 0x00); /* half of it: ties to even 0 */
    /* FNUZ: no -0, 0x80 is NaN. */
    CHECK(ox_f64_to_f8e4m3fnuz(-0.0, true) == 0x00);
    CHECK(ox_f64_to_f8e4m3fnuz(-1e-7, false) == 0x00);
    CHECK(ox_f64_to_f8e4m3fnuz(NAN, true) == 0x80);
    CHECK(ox_f64_to_f8e4m3fnuz(1e6, false) == 0x80);
    CHECK(ox_f64_to_f8e4m3fnuz(1e6, true) == 0x7F);
    CHECK(isnan(ox_f8e4m3fnuz_to_f32(0x80)) && ox_f8e4m3fnuz_to_f32(0x7F) == 240.0f);
    /* E5M2 has infinities: overflow without saturate gives inf. */
    CHECK(ox_f64_to_f8e5m2(1e6, false) == 0x7C && ox_f64_to_f8e5m2(-1e6, false) == 0xFC);
    CHECK(ox_f64_to_f8e5m2(1e6, true) == 0x7B && ox_f8e5m2_to_f32(0x7B) == 57344.0f);
    CHECK(isinf(ox_f8e5m2_to_f32(0x7C)) && isnan(ox_f8e5m2_to_f32(0x7E)));
    CHECK(ox_f64_to_f8e5m2fnuz(INFINITY, false) == 0x80 &&
          ox_f64_to_f8e5m2fnuz(INFINITY, true) == 0x7F);
    /* E2M1: 0, 0.5, 1, 1.5, 2, 3, 4, 6; saturating; ties to even. */
    CHECK(ox_f64_to_f4e2m1(0.25) == 0x0 && ox_f64_to_f4e2m1(0.75) == 0x2 &&
          ox_f64_to_f4e2m1(5.0) == 0x6);
    CHECK(ox_f64_to_f4e2m1(-100) == 0xF && ox_f64_to_f4e2m1(INFINITY) == 0x7);
    CHECK(ox_f4e2m1_to_f32(0xB) == -1.5f && ox_f4e2m1_to_f32(0x1) == 0.5f);
    /* E8M0: a power of two. */
    CHECK(ox_f32_to_f8e8m0(1.1f, true, OX_E8M0_UP) == 128);
    CHECK(ox_f32_to_f8e8m0(1.1f, true, OX_E8M0_DOWN) == 127);
    CHECK(ox_f32_to_f8e8m0(1.5f, true, OX_E8M0_NEAREST) == 128);
    CHECK(ox_f32_to_f8e8m0(1.4f, true, OX_E8M0_NEAREST) == 127);
    CHECK(ox_f32_to_f8e8m0(3e38f, true, OX_E8M0_UP) == 254);
    CHECK(ox_f32_to_f8e8m0(3e38f, false, OX_E8M0_UP) == 255);
    CHECK(ox_f8e8m0_to_f32(127) == 1.0f && isnan(ox_f8e8m0_to_f32(255)));
}

/* ---- Cast: strings and small floats ------------------------------------------------------- */

static void test_cast_to_string(void)
{
    static const float x[] = {0.5f,      1e-7f, INFINITY,   -INFINITY, NAN,   1e6f,
                              123456.0f, 0.1f,  3.1415927f, -0.0f,     1e-4f, 0.00012345f};
    static const char *const want[] = {"0.5",       "1e-07", "inf",      "-inf",
                                       "nan",       "1e+06", "123456.0", "0.1",
                                       "3.1415927", "-0.0",  "1e-04",    "0.00012345"};
    int64_t n = 12;
    op_case h;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_attr_int(&h, "to", ONYX_DTYPE_STRING);
    bool ran = oc_run(&h, 21) == ONYX_OK && h.outs[0].dtype == ONYX_DTYPE_STRING;
    CHECK(ran);
    for (int i = 0; ran && i < n; i++) /* (no strings to compare after a failed run) */
        CHECK_MSG(!strcmp(((char **)h.outs[0].data)[i], want[i]), "%s vs %s",
                  ((char **)h.outs[0].data)[i], want[i]);
    oc_free(&h);

    static const double d[] = {0.1, 1.0 / 3, 1e16, 1e15};
    static const char *const dwant[] = {"0.1", "0.3333333333333333", "1e+16", "1000000000000000.0"};
    n = 4;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_DOUBLE, 1, &n, d);
    oc_attr_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(oc_run(&h, 13) == ONYX_OK);
    for (int i = 0; i < n; i++) CHECK(!strcmp(((char **)h.outs[0].data)[i], dwant[i]));
    oc_free(&h);

    static const int64_t iv[] = {-5, INT64_MAX};
    n = 2;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_INT64, 1, &n, iv);
    oc_attr_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(oc_run(&h, 13) == ONYX_OK);
    CHECK(!strcmp(((char **)h.outs[0].data)[0], "-5") &&
          !strcmp(((char **)h.outs[0].data)[1], "9223372036854775807"));
    oc_free(&h);

    static const uint8_t bv[] = {1, 0};
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_BOOL, 1, &n, bv);
    oc_attr_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(oc_run(&h, 13) == ONYX_OK);
    CHECK(!strcmp(((char **)h.outs[0].data)[0], "True") &&
          !strcmp(((char **)h.outs[0].data)[1], "False"));
    oc_free(&h);
}

static void test_cast_from_string(void)
{
    const char *s[] = {"INF", "-inf", "NaN", "+INF", "1e-5", " 3.5 ", "100"};
    int64_t n = 7;
    op_case h;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, s);
    oc_attr_int(&h, "to", ONYX_DTYPE_FLOAT);
    CHECK(oc_run(&h, 21) == ONYX_OK);
    const float *f = h.outs[0].data;
    CHECK(isinf(f[0]) && f[0] > 0 && isinf(f[1]) && f[1] < 0 && isnan(f[2]) && isinf(f[3]));
    CHECK(f[4] == 1e-5f && f[5] == 3.5f && f[6] == 100.0f);
    oc_free(&h);

    const char *si[] = {"-12", "100.5", "9223372036854775807"};
    n = 3;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, si);
    oc_attr_int(&h, "to", ONYX_DTYPE_INT64);
    CHECK(oc_run(&h, 21) == ONYX_OK);
    const int64_t *iv = h.outs[0].data;
    CHECK(iv[0] == -12 && iv[1] == 100 && iv[2] == INT64_MAX);
    oc_free(&h);

    const char *sb[] = {"true", "False", "0", "2"};
    n = 4;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, sb);
    oc_attr_int(&h, "to", ONYX_DTYPE_BOOL);
    CHECK(oc_run(&h, 21) == ONYX_OK);
    CHECK(!memcmp(h.outs[0].data, (const uint8_t[]){1, 0, 0, 1}, 4));
    oc_free(&h);

    const char *bad[] = {"1.5", "abc"};
    n = 2;
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, bad);
    oc_attr_int(&h, "to", ONYX_DTYPE_DOUBLE);
    CHECK(oc_run(&h, 21) == ONYX_E_ARG && oc_msg_has(&h, "element 1 (\"abc\") is not a number"));
    oc_free(&h);
}

static void test_cast_float8(void)
{
    static const float x[] = {1e6f, -1e6f, 0.4789f};
    int64_t n = 3;
    op_case h;
    /* saturate=0 (opset 19+) lets overflow become NaN; before opset 19 Cast always saturates. */
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_attr_int(&h, "to", ONYX_DTYPE_FLOAT8E4M3FN);
    oc_attr_int(&h, "saturate", 0);
    CHECK(oc_run(&h, 19) == ONYX_OK && !memcmp(h.outs[0].data, (const uint8_t[]){0x7F, 0xFF, 0x2F}, 3));
    oc_free(&h);
    oc_init_n(&h, "CastLike", 2, 1);
    static const uint8_t like = 0;
    int64_t one = 1;
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_in(&h, 1, ONYX_DTYPE_FLOAT8E5M2, 1, &one, &like);
    CHECK(oc_run(&h, 19) == ONYX_OK && h.outs[0].dtype == ONYX_DTYPE_FLOAT8E5M2);
    CHECK(!memcmp(h.outs[0].data, (const uint8_t[]){0x7B, 0xFB, 0x38}, 3));
    oc_free(&h);
    /* round_mode is checked. */
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_attr_int(&h, "to", ONYX_DTYPE_FLOAT8E8M0);
    oc_attr_str(&h, "round_mode", "sideways");
    CHECK(oc_run(&h, 25) == ONYX_E_ARG && oc_msg_has(&h, "round_mode"));
    oc_free(&h);
    /* complex is not converted. */
    oc_init_n(&h, "Cast", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_COMPLEX64, 1, &n, x);
    oc_attr_int(&h, "to", ONYX_DTYPE_FLOAT);
    CHECK(oc_run(&h, 21) == ONYX_E_UNSUPPORTED && oc_msg_has(&h, "complex64"));
    oc_free(&h);
}

/* ---- Pad ---------------------------------------------------------------------------------- */

/* Pads a float vector x (n elements) by begin/end in the given mode at opset 19. */
static onyx_status pad_1d(op_case *h, const float *x, int64_t n, int64_t begin, int64_t end,
                          const char *mode)
{
    static int64_t pads[2], two = 2;
    pads[0] = begin;
    pads[1] = end;
    oc_init_n(h, "Pad", 2, 1);
    oc_in(h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_in(h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    oc_attr_str(h, "mode", mode);
    return oc_run(h, 19);
}

static void test_pad(void)
{
    static const float x[] = {1, 2, 3, 4};
    op_case h;
    /* Reflection keeps going when the padding is wider than the axis (as numpy does). */
    CHECK(pad_1d(&h, x, 3, 4, 4, "reflect") == ONYX_OK);
    CHECK(floats_are(&h.outs[0], 11, (const float[]){1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3}));
    oc_free(&h);
    CHECK(pad_1d(&h, x, 1, 2, 1, "reflect") == ONYX_OK &&
          floats_are(&h.outs[0], 4, (const float[]){1, 1, 1, 1}));
    oc_free(&h);
    /* Negative pads crop first; wrap then repeats what is left. */
    CHECK(pad_1d(&h, x, 4, -1, 2, "wrap") == ONYX_OK &&
          floats_are(&h.outs[0], 5, (const float[]){2, 3, 4, 2, 3}));
    oc_free(&h);
    CHECK(pad_1d(&h, x, 4, 2, -3, "edge") == ONYX_OK &&
          floats_are(&h.outs[0], 3, (const float[]){1, 1, 1}));
    oc_free(&h);
    CHECK(pad_1d(&h, x, 4, -2, -2, "constant") == ONYX_OK && ox_tensor_numel(&h.outs[0]) == 0);
    oc_free(&h);
    CHECK(pad_1d(&h, x, 3, -2, -2, "constant") == ONYX_E_SHAPE && oc_msg_has(&h, "crop more"));
    oc_free(&h);
    CHECK(pad_1d(&h, x, 2, -2, 1, "reflect") == ONYX_E_SHAPE && oc_msg_has(&h, "nothing to pad"));
    oc_free(&h);
    CHECK(pad_1d(&h, x, 2, 1, 1, "mirror") == ONYX_E_ARG && oc_msg_has(&h, "mirror"));
    oc_free(&h);
    /* Constant padding of an empty input (whose data may be NULL) is all fill. */
    CHECK(pad_1d(&h, NULL, 0, 2, 1, "constant") == ONYX_OK && floats_are(&h.outs[0], 3, (const float[]){0, 0, 0}));
    oc_free(&h);

    /* 2-D edge with constant_value and axes inputs (opset 18). */
    static const float m[] = {1, 2, 3, 4};
    static const int64_t md[] = {2, 2}, pads[] = {0, 2}, two = 2, one = 1, axes[] = {-1};
    static const float cv = 9;
    oc_init_n(&h, "Pad", 4, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, m);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    oc_in(&h, 2, ONYX_DTYPE_FLOAT, 0, NULL, &cv);
    oc_in(&h, 3, ONYX_DTYPE_INT64, 1, &one, axes);
    CHECK(oc_run(&h, 18) == ONYX_OK &&
          floats_are(&h.outs[0], 8, (const float[]){1, 2, 9, 9, 3, 4, 9, 9}));
    oc_free(&h);

    /* Opset 2: pads attribute, value attribute, [x1_begin, x2_begin, x1_end, x2_end]. */
    static const int64_t apads[] = {1, 0, 0, 2};
    oc_init_n(&h, "Pad", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, m);
    oc_attr_ints(&h, "pads", 4, apads);
    oc_attr_str(&h, "mode", "edge");
    CHECK(oc_run(&h, 2) == ONYX_OK &&
          floats_are(&h.outs[0], 12, (const float[]){1, 2, 2, 2, 1, 2, 2, 2, 3, 4, 4, 4}));
    oc_free(&h);

    /* Wrong pad counts; wrap before opset 19; pads not known at plan time. */
    oc_init_n(&h, "Pad", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, m);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    CHECK(oc_run(&h, 18) == ONYX_E_ARG && oc_msg_has(&h, "2 pads for 2 axes"));
    oc_free(&h);
    oc_init_n(&h, "Pad", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, m);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    oc_attr_str(&h, "mode", "wrap");
    CHECK(oc_run(&h, 18) == ONYX_E_ARG && oc_msg_has(&h, "wrap"));
    oc_free(&h);
    oc_init_n(&h, "Pad", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, m);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, NULL);
    CHECK(oc_run(&h, 18) == ONYX_E_UNSUPPORTED && h.need_value == 1);
    oc_free(&h);
}

/* ---- Split, Tile, Expand, CenterCropPad ---------------------------------------------------- */

static void test_split(void)
{
    static const float x[] = {1, 2, 3, 4, 5, 6, 7};
    int64_t n = 7, five = 5, three = 3;
    op_case h;
    /* num_outputs: parts of ceil(7 / 3) = 3, the last what remains. */
    oc_init_n(&h, "Split", 1, 3);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_attr_int(&h, "num_outputs", 3);
    CHECK(oc_run(&h, 18) == ONYX_OK);
    CHECK(floats_are(&h.outs[0], 3, x) && floats_are(&h.outs[1], 3, x + 3) &&
          floats_are(&h.outs[2], 1, x + 6));
    oc_free(&h);
    oc_init_n(&h, "Split", 1, 4);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &five, x);
    oc_attr_int(&h, "num_outputs", 4);
    CHECK(oc_run(&h, 18) == ONYX_E_ARG && oc_msg_has(&h, "cannot split"));
    oc_free(&h);
    oc_init_n(&h, "Split", 1, 2);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_attr_int(&h, "num_outputs", 3);
    CHECK(oc_run(&h, 18) == ONYX_E_ARG && oc_msg_has(&h, "num_outputs"));
    oc_free(&h);
    static const int64_t sizes[] = {2, 2, 2};
    oc_init_n(&h, "Split", 2, 3);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &three, sizes);
    CHECK(oc_run(&h, 13) == ONYX_E_ARG && oc_msg_has(&h, "add up to 6"));
    oc_free(&h);
    /* Opset 11: the split attribute, on a negative axis. */
    static const int64_t md[] = {2, 3}, sz[] = {1, 2};
    oc_init_n(&h, "Split", 1, 2);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, x);
    oc_attr_int(&h, "axis", -1);
    oc_attr_ints(&h, "split", 2, sz);
    CHECK(oc_run(&h, 11) == ONYX_OK);
    CHECK(floats_are(&h.outs[0], 2, (const float[]){1, 4}) &&
          floats_are(&h.outs[1], 4, (const float[]){2, 3, 5, 6}));
    oc_free(&h);
}

static void test_tile_expand_crop(void)
{
    static const float x[] = {1, 2, 3, 4, 5};
    int64_t two = 2, one = 1, five = 5;
    op_case h;
    static const int64_t rep[] = {3}, neg[] = {-1};
    oc_init_n(&h, "Tile", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, rep);
    CHECK(oc_run(&h, 13) == ONYX_OK && floats_are(&h.outs[0], 6, (const float[]){1, 2, 1, 2, 1, 2}));
    oc_free(&h);
    oc_init_n(&h, "Tile", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, neg);
    CHECK(oc_run(&h, 13) == ONYX_E_ARG && oc_msg_has(&h, "negative"));
    oc_free(&h);

    /* Expand is bidirectional: [2,1] by [1,3] gives [2,3]. */
    static const int64_t col[] = {2, 1}, shape[] = {1, 3}, bad[] = {3};
    oc_init_n(&h, "Expand", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, col, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, shape);
    CHECK(oc_run(&h, 13) == ONYX_OK && h.outs[0].rank == 2 &&
          floats_are(&h.outs[0], 6, (const float[]){1, 1, 1, 2, 2, 2}));
    oc_free(&h);
    oc_init_n(&h, "Expand", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, bad);
    CHECK(oc_run(&h, 13) == ONYX_E_SHAPE && oc_msg_has(&h, "broadcast"));
    oc_free(&h);

    /* CenterCropPad: crop windows start rounded down; odd padding goes to the end. */
    static const int64_t t3[] = {3}, t8[] = {8};
    oc_init_n(&h, "CenterCropPad", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &five, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, t3);
    CHECK(oc_run(&h, 18) == ONYX_OK && floats_are(&h.outs[0], 3, (const float[]){2, 3, 4}));
    oc_free(&h);
    oc_init_n(&h, "CenterCropPad", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &five, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, t8);
    CHECK(oc_run(&h, 18) == ONYX_OK &&
          floats_are(&h.outs[0], 8, (const float[]){0, 1, 2, 3, 4, 5, 0, 0}));
    oc_free(&h);
}

/* ---- Range, ConstantOfShape, Size, DepthToSpace, Col2Im ------------------------------------ */

static onyx_status range(op_case *h, onyx_dtype t, const void *start, const void *limit,
                         const void *delta)
{
    oc_init_n(h, "Range", 3, 1);
    oc_in(h, 0, t, 0, NULL, start);
    oc_in(h, 1, t, 0, NULL, limit);
    oc_in(h, 2, t, 0, NULL, delta);
    return oc_run(h, 11);
}

static void test_range_and_shapes(void)
{
    op_case h;
    static const int32_t s = 10, l = 4, d = -2, zero = 0;
    CHECK(range(&h, ONYX_DTYPE_INT32, &s, &l, &d) == ONYX_OK && h.outs[0].dims[0] == 3);
    CHECK(!memcmp(h.outs[0].data, (const int32_t[]){10, 8, 6}, 12));
    oc_free(&h);
    CHECK(range(&h, ONYX_DTYPE_INT32, &s, &l, &zero) == ONYX_E_ARG && oc_msg_has(&h, "delta is zero"));
    oc_free(&h);
    /* The count is exact over the whole int64 range. */
    static const int64_t lo = INT64_MIN, hi = INT64_MAX, step = INT64_MAX;
    CHECK(range(&h, ONYX_DTYPE_INT64, &lo, &hi, &step) == ONYX_OK && h.outs[0].dims[0] == 3);
    CHECK(!memcmp(h.outs[0].data, (const int64_t[]){INT64_MIN, -1, INT64_MAX - 1}, 24));
    oc_free(&h);
    static const float fs = 1, fl = 2, fd = 0.25f, inf = INFINITY;
    CHECK(range(&h, ONYX_DTYPE_FLOAT, &fs, &fl, &fd) == ONYX_OK &&
          floats_are(&h.outs[0], 4, (const float[]){1, 1.25f, 1.5f, 1.75f}));
    oc_free(&h);
    CHECK(range(&h, ONYX_DTYPE_FLOAT, &fs, &inf, &fd) == ONYX_E_ARG && oc_msg_has(&h, "finite"));
    oc_free(&h);

    static const int64_t shape[] = {2, 3}, negshape[] = {2, -1};
    int64_t two = 2;
    oc_init_n(&h, "ConstantOfShape", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_INT64, 1, &two, shape);
    CHECK(oc_run(&h, 9) == ONYX_OK && h.outs[0].dtype == ONYX_DTYPE_FLOAT &&
          floats_are(&h.outs[0], 6, (const float[]){0, 0, 0, 0, 0, 0}));
    oc_free(&h);
    oc_init_n(&h, "ConstantOfShape", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_INT64, 1, &two, negshape);
    CHECK(oc_run(&h, 9) == ONYX_E_ARG && oc_msg_has(&h, "negative"));
    oc_free(&h);

    static const float x[24] = {0};
    static const int64_t d4[] = {1, 6, 2, 2};
    oc_init_n(&h, "Size", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 4, d4, x);
    CHECK(oc_run(&h, 13) == ONYX_OK && h.outs[0].rank == 0 && *(int64_t *)h.outs[0].data == 24);
    oc_free(&h);
    oc_init_n(&h, "DepthToSpace", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 4, d4, x);
    oc_attr_int(&h, "blocksize", 2);
    CHECK(oc_run(&h, 13) == ONYX_E_SHAPE && oc_msg_has(&h, "multiple of blocksize"));
    oc_free(&h);

    /* Col2Im: L must be the number of block positions. */
    static const int64_t cd[] = {1, 4, 3}, img[] = {3, 3}, blk[] = {2, 2};
    oc_init_n(&h, "Col2Im", 3, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 3, cd, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, img);
    oc_in(&h, 2, ONYX_DTYPE_INT64, 1, &two, blk);
    CHECK(oc_run(&h, 18) == ONYX_E_SHAPE && oc_msg_has(&h, "4 block positions"));
    oc_free(&h);
}

/* Large enough to take the threaded path: the result must not depend on the thread count. */
static void test_threads(void)
{
    enum { N = 300 };
    static float x[N * N];
    for (int i = 0; i < N * N; i++) x[i] = (float)i;
    static const int64_t dims[] = {N, N}, pads[] = {3, -2, 5, 7}, four = 4;
    op_case a, b;
    for (int t = 0; t < 2; t++) {
        op_case *h = t ? &b : &a;
        oc_init_n(h, "Pad", 2, 1);
        oc_in(h, 0, ONYX_DTYPE_FLOAT, 2, dims, x);
        oc_in(h, 1, ONYX_DTYPE_INT64, 1, &four, pads);
        oc_attr_str(h, "mode", "reflect");
        h->threads = t ? 4 : 1;
        CHECK(oc_run(h, 19) == ONYX_OK);
    }
    CHECK(a.outs[0].dims[0] == N + 8 && a.outs[0].dims[1] == N + 5);
    CHECK(!memcmp(a.outs[0].data, b.outs[0].data, ox_tensor_bytes(&a.outs[0])));
    /* Spot checks: row 0 reflects row 3; column 0 is input column 2 (two cropped). */
    const float *y = a.outs[0].data;
    CHECK(y[0] == x[3 * N + 2] && y[(N + 5) * 3] == x[2]);
    oc_free(&a);
    oc_free(&b);

    static const int64_t row[] = {1, N}, rep[] = {N, 3}, two = 2;
    for (int t = 0; t < 2; t++) {
        op_case *h = t ? &b : &a;
        oc_init_n(h, "Tile", 2, 1);
        oc_in(h, 0, ONYX_DTYPE_FLOAT, 2, row, x);
        oc_in(h, 1, ONYX_DTYPE_INT64, 1, &two, rep);
        h->threads = t ? 4 : 1;
        CHECK(oc_run(h, 13) == ONYX_OK);
    }
    CHECK(a.outs[0].dims[0] == N && a.outs[0].dims[1] == 3 * N);
    CHECK(!memcmp(a.outs[0].data, b.outs[0].data, ox_tensor_bytes(&a.outs[0])));
    y = a.outs[0].data;
    CHECK(y[(N - 1) * 3 * N + 2 * N + 7] == x[7]);
    oc_free(&a);
    oc_free(&b);
}

int main(void)
{
    test_smallfloat();
    test_cast_to_string();
    test_cast_from_string();
    test_cast_float8();
    test_pad();
    test_split();
    test_tile_expand_crop();
    test_range_and_shapes();
    test_threads();
    return check_report("movement");
}
