/* test_movement.c — the movement family (Pad, Tile, Expand, Split, Range, …), Cast's string
 * and small-float conversions, and the small-float codecs: exact results at edge cases
 * (negative pads, uneven splits, float8 overflow and rounding, numpy's number spelling) and
 * error paths that must fail with the right status and a message naming the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op.h"
#include "smallfloat.h"

/* ---- a one-node harness with scratch and several outputs --------------------------------- */

#define MAX_IO 4

typedef struct harness {
    ox_node node;
    ox_attr attrs[4];
    int64_t attr_ints[4][8];
    onyx_tensor in[MAX_IO], out[MAX_IO];
    onyx_tensor *in_ptrs[MAX_IO], *out_ptrs[MAX_IO];
    char msg[256];
    ox_ctx c;
    ox_pool strings;
    void *scratch;
} harness;

static void h_init(harness *h, const char *op, int opset, int n_in, int n_out)
{
    memset(h, 0, sizeof *h);
    h->node.name = "n1";
    h->node.op_type = op;
    h->node.domain = "";
    h->node.opset = opset;
    h->node.n_in = n_in;
    h->node.n_out = n_out;
    h->node.attr = h->attrs;
    for (int i = 0; i < MAX_IO; i++) {
        h->in_ptrs[i] = i < n_in ? &h->in[i] : NULL;
        h->out_ptrs[i] = i < n_out ? &h->out[i] : NULL;
    }
    ox_pool_init(&h->strings, ox_allocator_make(NULL, NULL), 0);
    h->c = (ox_ctx){.node = &h->node,
                    .opset = opset,
                    .n_in = n_in,
                    .n_out = n_out,
                    .in = h->in_ptrs,
                    .out = h->out_ptrs,
                    .threads = 1,
                    .msg = h->msg,
                    .msg_cap = sizeof h->msg,
                    .need_value = -1,
                    .strings = &h->strings};
}

static void h_free(harness *h)
{
    for (int i = 0; i < h->node.n_out; i++) free(h->out[i].data);
    free(h->scratch);
    ox_pool_release(&h->strings);
}

static void h_in(harness *h, int i, onyx_dtype t, int rank, const int64_t *dims, const void *data)
{
    h->in[i].dtype = t;
    h->in[i].rank = rank;
    for (int d = 0; d < rank; d++) h->in[i].dims[d] = dims[d];
    h->in[i].data = (void *)data;
}

static void h_int(harness *h, const char *name, int64_t v)
{
    ox_attr *a = &h->attrs[h->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_INT;
    a->i = v;
}

static void h_ints(harness *h, const char *name, int n, const int64_t *v)
{
    int k = h->node.n_attr++;
    ox_attr *a = &h->attrs[k];
    a->name = name;
    a->type = OX_ATTR_INTS;
    a->n = (size_t)n;
    memcpy(h->attr_ints[k], v, (size_t)n * sizeof *v);
    a->ints = h->attr_ints[k];
}

static void h_str(harness *h, const char *name, const char *s)
{
    ox_attr *a = &h->attrs[h->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_STRING;
    a->s = s;
    a->s_len = strlen(s);
}

/* Infers, allocates the outputs and the scratch asked for, runs. */
static onyx_status h_call(harness *h)
{
    const ox_op *op = ox_op_find("", h->node.op_type, h->c.opset);
    if (!op) return ONYX_E_UNSUPPORTED;
    h->msg[0] = 0;
    onyx_status st = op->infer(&h->c);
    if (st) return st;
    for (int i = 0; i < h->node.n_out; i++) {
        size_t n = ox_tensor_bytes(&h->out[i]);
        h->out[i].data = calloc(1, n ? n : 1);
    }
    if (h->c.scratch_bytes) h->scratch = calloc(1, h->c.scratch_bytes);
    h->c.scratch = h->scratch;
    return op->run(&h->c);
}

static bool msg_has(const harness *h, const char *part)
{
    return strstr(h->msg, "node 'n1'") && strstr(h->msg, part);
}

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
    harness h;
    h_init(&h, "Cast", 21, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(h_call(&h) == ONYX_OK && h.out[0].dtype == ONYX_DTYPE_STRING);
    for (int i = 0; i < n; i++)
        CHECK_MSG(!strcmp(((char **)h.out[0].data)[i], want[i]), "%s vs %s",
                  ((char **)h.out[0].data)[i], want[i]);
    h_free(&h);

    static const double d[] = {0.1, 1.0 / 3, 1e16, 1e15};
    static const char *const dwant[] = {"0.1", "0.3333333333333333", "1e+16", "1000000000000000.0"};
    n = 4;
    h_init(&h, "Cast", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_DOUBLE, 1, &n, d);
    h_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(h_call(&h) == ONYX_OK);
    for (int i = 0; i < n; i++) CHECK(!strcmp(((char **)h.out[0].data)[i], dwant[i]));
    h_free(&h);

    static const int64_t iv[] = {-5, INT64_MAX};
    n = 2;
    h_init(&h, "Cast", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_INT64, 1, &n, iv);
    h_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(!strcmp(((char **)h.out[0].data)[0], "-5") &&
          !strcmp(((char **)h.out[0].data)[1], "9223372036854775807"));
    h_free(&h);

    static const uint8_t bv[] = {1, 0};
    h_init(&h, "Cast", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_BOOL, 1, &n, bv);
    h_int(&h, "to", ONYX_DTYPE_STRING);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(!strcmp(((char **)h.out[0].data)[0], "True") &&
          !strcmp(((char **)h.out[0].data)[1], "False"));
    h_free(&h);
}

static void test_cast_from_string(void)
{
    const char *s[] = {"INF", "-inf", "NaN", "+INF", "1e-5", " 3.5 ", "100"};
    int64_t n = 7;
    harness h;
    h_init(&h, "Cast", 21, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, s);
    h_int(&h, "to", ONYX_DTYPE_FLOAT);
    CHECK(h_call(&h) == ONYX_OK);
    const float *f = h.out[0].data;
    CHECK(isinf(f[0]) && f[0] > 0 && isinf(f[1]) && f[1] < 0 && isnan(f[2]) && isinf(f[3]));
    CHECK(f[4] == 1e-5f && f[5] == 3.5f && f[6] == 100.0f);
    h_free(&h);

    const char *si[] = {"-12", "100.5", "9223372036854775807"};
    n = 3;
    h_init(&h, "Cast", 21, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, si);
    h_int(&h, "to", ONYX_DTYPE_INT64);
    CHECK(h_call(&h) == ONYX_OK);
    const int64_t *iv = h.out[0].data;
    CHECK(iv[0] == -12 && iv[1] == 100 && iv[2] == INT64_MAX);
    h_free(&h);

    const char *sb[] = {"true", "False", "0", "2"};
    n = 4;
    h_init(&h, "Cast", 21, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, sb);
    h_int(&h, "to", ONYX_DTYPE_BOOL);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(!memcmp(h.out[0].data, (const uint8_t[]){1, 0, 0, 1}, 4));
    h_free(&h);

    const char *bad[] = {"1.5", "abc"};
    n = 2;
    h_init(&h, "Cast", 21, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_STRING, 1, &n, bad);
    h_int(&h, "to", ONYX_DTYPE_DOUBLE);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "element 1 (\"abc\") is not a number"));
    h_free(&h);
}

static void test_cast_float8(void)
{
    static const float x[] = {1e6f, -1e6f, 0.4789f};
    int64_t n = 3;
    harness h;
    /* saturate=0 (opset 19+) lets overflow become NaN; before opset 19 Cast always saturates. */
    h_init(&h, "Cast", 19, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_int(&h, "to", ONYX_DTYPE_FLOAT8E4M3FN);
    h_int(&h, "saturate", 0);
    CHECK(h_call(&h) == ONYX_OK && !memcmp(h.out[0].data, (const uint8_t[]){0x7F, 0xFF, 0x2F}, 3));
    h_free(&h);
    h_init(&h, "CastLike", 19, 2, 1);
    static const uint8_t like = 0;
    int64_t one = 1;
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_in(&h, 1, ONYX_DTYPE_FLOAT8E5M2, 1, &one, &like);
    CHECK(h_call(&h) == ONYX_OK && h.out[0].dtype == ONYX_DTYPE_FLOAT8E5M2);
    CHECK(!memcmp(h.out[0].data, (const uint8_t[]){0x7B, 0xFB, 0x38}, 3));
    h_free(&h);
    /* round_mode is checked. */
    h_init(&h, "Cast", 25, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_int(&h, "to", ONYX_DTYPE_FLOAT8E8M0);
    h_str(&h, "round_mode", "sideways");
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "round_mode"));
    h_free(&h);
    /* complex is not converted. */
    h_init(&h, "Cast", 21, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_COMPLEX64, 1, &n, x);
    h_int(&h, "to", ONYX_DTYPE_FLOAT);
    CHECK(h_call(&h) == ONYX_E_UNSUPPORTED && msg_has(&h, "complex64"));
    h_free(&h);
}

/* ---- Pad ---------------------------------------------------------------------------------- */

/* Pads a float vector x (n elements) by begin/end in the given mode at opset 19. */
static onyx_status pad_1d(harness *h, const float *x, int64_t n, int64_t begin, int64_t end,
                          const char *mode)
{
    static int64_t pads[2], two = 2;
    pads[0] = begin;
    pads[1] = end;
    h_init(h, "Pad", 19, 2, 1);
    h_in(h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_in(h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    h_str(h, "mode", mode);
    return h_call(h);
}

static void test_pad(void)
{
    static const float x[] = {1, 2, 3, 4};
    harness h;
    /* Reflection keeps going when the padding is wider than the axis (as numpy does). */
    CHECK(pad_1d(&h, x, 3, 4, 4, "reflect") == ONYX_OK);
    CHECK(floats_are(&h.out[0], 11, (const float[]){1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3}));
    h_free(&h);
    CHECK(pad_1d(&h, x, 1, 2, 1, "reflect") == ONYX_OK &&
          floats_are(&h.out[0], 4, (const float[]){1, 1, 1, 1}));
    h_free(&h);
    /* Negative pads crop first; wrap then repeats what is left. */
    CHECK(pad_1d(&h, x, 4, -1, 2, "wrap") == ONYX_OK &&
          floats_are(&h.out[0], 5, (const float[]){2, 3, 4, 2, 3}));
    h_free(&h);
    CHECK(pad_1d(&h, x, 4, 2, -3, "edge") == ONYX_OK &&
          floats_are(&h.out[0], 3, (const float[]){1, 1, 1}));
    h_free(&h);
    CHECK(pad_1d(&h, x, 4, -2, -2, "constant") == ONYX_OK && ox_tensor_numel(&h.out[0]) == 0);
    h_free(&h);
    CHECK(pad_1d(&h, x, 3, -2, -2, "constant") == ONYX_E_SHAPE && msg_has(&h, "crop more"));
    h_free(&h);
    CHECK(pad_1d(&h, x, 2, -2, 1, "reflect") == ONYX_E_SHAPE && msg_has(&h, "nothing to pad"));
    h_free(&h);
    CHECK(pad_1d(&h, x, 2, 1, 1, "mirror") == ONYX_E_ARG && msg_has(&h, "mirror"));
    h_free(&h);
    /* Constant padding of an empty input (whose data may be NULL) is all fill. */
    CHECK(pad_1d(&h, NULL, 0, 2, 1, "constant") == ONYX_OK && floats_are(&h.out[0], 3, (const float[]){0, 0, 0}));
    h_free(&h);

    /* 2-D edge with constant_value and axes inputs (opset 18). */
    static const float m[] = {1, 2, 3, 4};
    static const int64_t md[] = {2, 2}, pads[] = {0, 2}, two = 2, one = 1, axes[] = {-1};
    static const float cv = 9;
    h_init(&h, "Pad", 18, 4, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, m);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 0, NULL, &cv);
    h_in(&h, 3, ONYX_DTYPE_INT64, 1, &one, axes);
    CHECK(h_call(&h) == ONYX_OK &&
          floats_are(&h.out[0], 8, (const float[]){1, 2, 9, 9, 3, 4, 9, 9}));
    h_free(&h);

    /* Opset 2: pads attribute, value attribute, [x1_begin, x2_begin, x1_end, x2_end]. */
    static const int64_t apads[] = {1, 0, 0, 2};
    h_init(&h, "Pad", 2, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, m);
    h_ints(&h, "pads", 4, apads);
    h_str(&h, "mode", "edge");
    CHECK(h_call(&h) == ONYX_OK &&
          floats_are(&h.out[0], 12, (const float[]){1, 2, 2, 2, 1, 2, 2, 2, 3, 4, 4, 4}));
    h_free(&h);

    /* Wrong pad counts; wrap before opset 19; pads not known at plan time. */
    h_init(&h, "Pad", 18, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, m);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "2 pads for 2 axes"));
    h_free(&h);
    h_init(&h, "Pad", 18, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, m);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, pads);
    h_str(&h, "mode", "wrap");
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "wrap"));
    h_free(&h);
    h_init(&h, "Pad", 18, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, m);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, NULL);
    CHECK(h_call(&h) == ONYX_E_UNSUPPORTED && h.c.need_value == 1);
    h_free(&h);
}

/* ---- Split, Tile, Expand, CenterCropPad ---------------------------------------------------- */

static void test_split(void)
{
    static const float x[] = {1, 2, 3, 4, 5, 6, 7};
    int64_t n = 7, five = 5, three = 3;
    harness h;
    /* num_outputs: parts of ceil(7 / 3) = 3, the last what remains. */
    h_init(&h, "Split", 18, 1, 3);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_int(&h, "num_outputs", 3);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(floats_are(&h.out[0], 3, x) && floats_are(&h.out[1], 3, x + 3) &&
          floats_are(&h.out[2], 1, x + 6));
    h_free(&h);
    h_init(&h, "Split", 18, 1, 4);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &five, x);
    h_int(&h, "num_outputs", 4);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "cannot split"));
    h_free(&h);
    h_init(&h, "Split", 18, 1, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_int(&h, "num_outputs", 3);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "num_outputs"));
    h_free(&h);
    static const int64_t sizes[] = {2, 2, 2};
    h_init(&h, "Split", 13, 2, 3);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &three, sizes);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "add up to 6"));
    h_free(&h);
    /* Opset 11: the split attribute, on a negative axis. */
    static const int64_t md[] = {2, 3}, sz[] = {1, 2};
    h_init(&h, "Split", 11, 1, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, md, x);
    h_int(&h, "axis", -1);
    h_ints(&h, "split", 2, sz);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(floats_are(&h.out[0], 2, (const float[]){1, 4}) &&
          floats_are(&h.out[1], 4, (const float[]){2, 3, 5, 6}));
    h_free(&h);
}

static void test_tile_expand_crop(void)
{
    static const float x[] = {1, 2, 3, 4, 5};
    int64_t two = 2, one = 1, five = 5;
    harness h;
    static const int64_t rep[] = {3}, neg[] = {-1};
    h_init(&h, "Tile", 13, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, rep);
    CHECK(h_call(&h) == ONYX_OK && floats_are(&h.out[0], 6, (const float[]){1, 2, 1, 2, 1, 2}));
    h_free(&h);
    h_init(&h, "Tile", 13, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, neg);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "negative"));
    h_free(&h);

    /* Expand is bidirectional: [2,1] by [1,3] gives [2,3]. */
    static const int64_t col[] = {2, 1}, shape[] = {1, 3}, bad[] = {3};
    h_init(&h, "Expand", 13, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, col, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, shape);
    CHECK(h_call(&h) == ONYX_OK && h.out[0].rank == 2 &&
          floats_are(&h.out[0], 6, (const float[]){1, 1, 1, 2, 2, 2}));
    h_free(&h);
    h_init(&h, "Expand", 13, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &two, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, bad);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "broadcast"));
    h_free(&h);

    /* CenterCropPad: crop windows start rounded down; odd padding goes to the end. */
    static const int64_t t3[] = {3}, t8[] = {8};
    h_init(&h, "CenterCropPad", 18, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &five, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, t3);
    CHECK(h_call(&h) == ONYX_OK && floats_are(&h.out[0], 3, (const float[]){2, 3, 4}));
    h_free(&h);
    h_init(&h, "CenterCropPad", 18, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, &five, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &one, t8);
    CHECK(h_call(&h) == ONYX_OK &&
          floats_are(&h.out[0], 8, (const float[]){0, 1, 2, 3, 4, 5, 0, 0}));
    h_free(&h);
}

/* ---- Range, ConstantOfShape, Size, DepthToSpace, Col2Im ------------------------------------ */

static onyx_status range(harness *h, onyx_dtype t, const void *start, const void *limit,
                         const void *delta)
{
    h_init(h, "Range", 11, 3, 1);
    h_in(h, 0, t, 0, NULL, start);
    h_in(h, 1, t, 0, NULL, limit);
    h_in(h, 2, t, 0, NULL, delta);
    return h_call(h);
}

static void test_range_and_shapes(void)
{
    harness h;
    static const int32_t s = 10, l = 4, d = -2, zero = 0;
    CHECK(range(&h, ONYX_DTYPE_INT32, &s, &l, &d) == ONYX_OK && h.out[0].dims[0] == 3);
    CHECK(!memcmp(h.out[0].data, (const int32_t[]){10, 8, 6}, 12));
    h_free(&h);
    CHECK(range(&h, ONYX_DTYPE_INT32, &s, &l, &zero) == ONYX_E_ARG && msg_has(&h, "delta is zero"));
    h_free(&h);
    /* The count is exact over the whole int64 range. */
    static const int64_t lo = INT64_MIN, hi = INT64_MAX, step = INT64_MAX;
    CHECK(range(&h, ONYX_DTYPE_INT64, &lo, &hi, &step) == ONYX_OK && h.out[0].dims[0] == 3);
    CHECK(!memcmp(h.out[0].data, (const int64_t[]){INT64_MIN, -1, INT64_MAX - 1}, 24));
    h_free(&h);
    static const float fs = 1, fl = 2, fd = 0.25f, inf = INFINITY;
    CHECK(range(&h, ONYX_DTYPE_FLOAT, &fs, &fl, &fd) == ONYX_OK &&
          floats_are(&h.out[0], 4, (const float[]){1, 1.25f, 1.5f, 1.75f}));
    h_free(&h);
    CHECK(range(&h, ONYX_DTYPE_FLOAT, &fs, &inf, &fd) == ONYX_E_ARG && msg_has(&h, "finite"));
    h_free(&h);

    static const int64_t shape[] = {2, 3}, negshape[] = {2, -1};
    int64_t two = 2;
    h_init(&h, "ConstantOfShape", 9, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_INT64, 1, &two, shape);
    CHECK(h_call(&h) == ONYX_OK && h.out[0].dtype == ONYX_DTYPE_FLOAT &&
          floats_are(&h.out[0], 6, (const float[]){0, 0, 0, 0, 0, 0}));
    h_free(&h);
    h_init(&h, "ConstantOfShape", 9, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_INT64, 1, &two, negshape);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "negative"));
    h_free(&h);

    static const float x[24] = {0};
    static const int64_t d4[] = {1, 6, 2, 2};
    h_init(&h, "Size", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, d4, x);
    CHECK(h_call(&h) == ONYX_OK && h.out[0].rank == 0 && *(int64_t *)h.out[0].data == 24);
    h_free(&h);
    h_init(&h, "DepthToSpace", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 4, d4, x);
    h_int(&h, "blocksize", 2);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "multiple of blocksize"));
    h_free(&h);

    /* Col2Im: L must be the number of block positions. */
    static const int64_t cd[] = {1, 4, 3}, img[] = {3, 3}, blk[] = {2, 2};
    h_init(&h, "Col2Im", 18, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, cd, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, &two, img);
    h_in(&h, 2, ONYX_DTYPE_INT64, 1, &two, blk);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "4 block positions"));
    h_free(&h);
}

/* Large enough to take the threaded path: the result must not depend on the thread count. */
static void test_threads(void)
{
    enum { N = 300 };
    static float x[N * N];
    for (int i = 0; i < N * N; i++) x[i] = (float)i;
    static const int64_t dims[] = {N, N}, pads[] = {3, -2, 5, 7}, four = 4;
    harness a, b;
    for (int t = 0; t < 2; t++) {
        harness *h = t ? &b : &a;
        h_init(h, "Pad", 19, 2, 1);
        h_in(h, 0, ONYX_DTYPE_FLOAT, 2, dims, x);
        h_in(h, 1, ONYX_DTYPE_INT64, 1, &four, pads);
        h_str(h, "mode", "reflect");
        h->c.threads = t ? 4 : 1;
        CHECK(h_call(h) == ONYX_OK);
    }
    CHECK(a.out[0].dims[0] == N + 8 && a.out[0].dims[1] == N + 5);
    CHECK(!memcmp(a.out[0].data, b.out[0].data, ox_tensor_bytes(&a.out[0])));
    /* Spot checks: row 0 reflects row 3; column 0 is input column 2 (two cropped). */
    const float *y = a.out[0].data;
    CHECK(y[0] == x[3 * N + 2] && y[(N + 5) * 3] == x[2]);
    h_free(&a);
    h_free(&b);

    static const int64_t row[] = {1, N}, rep[] = {N, 3}, two = 2;
    for (int t = 0; t < 2; t++) {
        harness *h = t ? &b : &a;
        h_init(h, "Tile", 13, 2, 1);
        h_in(h, 0, ONYX_DTYPE_FLOAT, 2, row, x);
        h_in(h, 1, ONYX_DTYPE_INT64, 1, &two, rep);
        h->c.threads = t ? 4 : 1;
        CHECK(h_call(h) == ONYX_OK);
    }
    CHECK(a.out[0].dims[0] == N && a.out[0].dims[1] == 3 * N);
    CHECK(!memcmp(a.out[0].data, b.out[0].data, ox_tensor_bytes(&a.out[0])));
    y = a.out[0].data;
    CHECK(y[(N - 1) * 3 * N + 2 * N + 7] == x[7]);
    h_free(&a);
    h_free(&b);
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
