/* test_random.c — the random ops (RandomNormal/Uniform and their *Like forms, Bernoulli,
 * Multinomial) and Dropout's training mode: error statuses and messages, reproducibility
 * (same values on every call and thread count, seeded or not), and the draws' ranges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op.h"

#define MAX_IO 3
#define MAX_ATTR 6

/* One node with up to 3 inputs and outputs, run through infer then run with scratch. */
typedef struct rcase {
    ox_node node;
    int node_in[MAX_IO], node_out[MAX_IO];
    ox_attr attr[MAX_ATTR];
    int64_t ints[MAX_ATTR][4];
    onyx_tensor in[MAX_IO], out[MAX_IO];
    onyx_tensor *in_p[MAX_IO], *out_p[MAX_IO];
    char msg[256];
    ox_pool strings;
    int threads;
} rcase;

static void rc_init(rcase *k, const char *op, const char *name, int n_in, int n_out)
{
    memset(k, 0, sizeof *k);
    k->node.name = name;
    k->node.op_type = op;
    k->node.domain = "";
    k->node.n_in = n_in;
    k->node.n_out = n_out;
    k->node.in = k->node_in;
    k->node.out = k->node_out;
    k->node.attr = k->attr;
    for (int i = 0; i < MAX_IO; i++) {
        k->node_in[i] = i;
        k->node_out[i] = 10 + i;
        k->in_p[i] = i < n_in ? &k->in[i] : NULL;
        k->out_p[i] = i < n_out ? &k->out[i] : NULL;
    }
    k->threads = 1;
    ox_pool_init(&k->strings, ox_allocator_make(NULL, NULL), 0);
}

static void rc_in(rcase *k, int i, onyx_dtype t, int rank, const int64_t *dims, const void *data)
{
    k->in[i].dtype = t;
    k->in[i].rank = rank;
    for (int d = 0; d < rank; d++) k->in[i].dims[d] = dims[d];
    k->in[i].data = (void *)data;
}

static ox_attr *rc_attr(rcase *k, const char *name, ox_attr_type t)
{
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = t;
    return a;
}

static void rc_float(rcase *k, const char *name, float v) { rc_attr(k, name, OX_ATTR_FLOAT)->f = v; }
static void rc_int(rcase *k, const char *name, int64_t v) { rc_attr(k, name, OX_ATTR_INT)->i = v; }

static void rc_ints(rcase *k, const char *name, int n, const int64_t *v)
{
    int slot = k->node.n_attr;
    ox_attr *a = rc_attr(k, name, OX_ATTR_INTS);
    memcpy(k->ints[slot], v, (size_t)n * sizeof *v);
    a->ints = k->ints[slot];
    a->n = (size_t)n;
}

/* Infers, then runs with outputs in out[i] (each cap bytes) and malloc'd scratch. */
static onyx_status rc_call(rcase *k, int opset, void *const *out, size_t cap)
{
    const ox_op *op = ox_op_find("", k->node.op_type, opset);
    if (!op) return ONYX_E_UNSUPPORTED;
    k->node.opset = opset;
    ox_ctx c = {.node = &k->node, .opset = opset, .n_in = k->node.n_in, .n_out = k->node.n_out,
                .in = k->in_p, .out = k->out_p, .threads = k->threads, .msg = k->msg,
                .msg_cap = sizeof k->msg, .need_value = -1, .strings = &k->strings};
    k->msg[0] = 0;
    onyx_status st = op->infer(&c);
    if (st) return st;
    for (int i = 0; i < k->node.n_out; i++) {
        if (ox_tensor_bytes(&k->out[i]) > cap) return ONYX_E_INTERNAL;
        k->out[i].data = out[i];
    }
    c.scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    st = op->run(&c);
    free(c.scratch);
    return st;
}

static void rc_free(rcase *k) { ox_pool_release(&k->strings); }

static bool msg_has(const rcase *k, const char *part)
{
    return strstr(k->msg, "node '") && strstr(k->msg, k->node.name) && strstr(k->msg, part);
}

/* ---- RandomNormal / RandomUniform ------------------------------------------------------- */

/* Runs RandomNormal (or RandomUniform) of n floats with the given seed (NAN: none). */
static onyx_status shaped(const char *op, const char *name, int64_t n, float seed, int threads, float *y)
{
    rcase k;
    rc_init(&k, op, name, 0, 1);
    k.threads = threads;
    rc_ints(&k, "shape", 1, &n);
    if (!isnan(seed)) rc_float(&k, "seed", seed);
    void *out[1] = {y};
    onyx_status st = rc_call(&k, 22, out, (size_t)n * sizeof(float));
    rc_free(&k);
    return st;
}

static void test_reproducible(void)
{
    enum { N = 20000 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    CHECK(shaped("RandomNormal", "r", N, 3.0f, 1, a) == ONYX_OK);
    CHECK(shaped("RandomNormal", "r", N, 3.0f, 4, b) == ONYX_OK);
    CHECK(memcmp(a, b, N * sizeof *a) == 0); /* thread count does not matter */
    CHECK(shaped("RandomNormal", "other", N, 3.0f, 1, b) == ONYX_OK);
    CHECK(memcmp(a, b, N * sizeof *a) == 0); /* the seed decides, not the node */
    CHECK(shaped("RandomNormal", "r", N, 4.0f, 1, b) == ONYX_OK);
    CHECK(memcmp(a, b, N * sizeof *a) != 0);
    /* Unseeded: the same node repeats itself, another node differs. */
    CHECK(shaped("RandomNormal", "r", N, NAN, 1, a) == ONYX_OK);
    CHECK(shaped("RandomNormal", "r", N, NAN, 3, b) == ONYX_OK);
    CHECK(memcmp(a, b, N * sizeof *a) == 0);
    CHECK(shaped("RandomNormal", "s", N, NAN, 1, b) == ONYX_OK);
    CHECK(memcmp(a, b, N * sizeof *a) != 0);
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        sum += a[i];
        sq += (double)a[i] * a[i];
    }
    CHECK(fabs(sum / N) < 0.05 && fabs(sq / N - 1.0) < 0.05); /* roughly N(0, 1) */
    CHECK(shaped("RandomUniform", "u", N, 1.0f, 1, a) == ONYX_OK);
    bool in_range = true;
    for (int i = 0; i < N; i++) in_range &= a[i] >= 0.0f && a[i] <= 1.0f;
    CHECK(in_range);
    free(a);
    free(b);
}

static void test_shaped_errors(void)
{
    rcase k;
    float y[4];
    void *out[1] = {y};
    rc_init(&k, "RandomNormal", "rn", 0, 1);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "'shape' is missing"));
    rc_free(&k);

    int64_t bad[2] = {2, -1};
    rc_init(&k, "RandomUniform", "ru", 0, 1);
    rc_ints(&k, "shape", 2, bad);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "negative"));
    rc_free(&k);

    int64_t two = 2;
    rc_init(&k, "RandomNormal", "rn", 0, 1);
    rc_ints(&k, "shape", 1, &two);
    rc_int(&k, "dtype", ONYX_DTYPE_INT32);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_E_UNSUPPORTED && msg_has(&k, "int32"));
    rc_free(&k);

    /* bfloat16 output only from opset 22 */
    rc_init(&k, "RandomNormal", "rn", 0, 1);
    rc_ints(&k, "shape", 1, &two);
    rc_int(&k, "dtype", ONYX_DTYPE_BFLOAT16);
    CHECK(rc_call(&k, 21, out, sizeof y) == ONYX_E_UNSUPPORTED);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_BFLOAT16);
    rc_free(&k);

    rc_init(&k, "RandomNormal", "rn", 0, 1);
    rc_ints(&k, "shape", 1, &two);
    rc_int(&k, "seed", 1); /* seed is a float attribute */
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "'seed'"));
    rc_free(&k);

    rc_init(&k, "RandomNormal", "rn", 0, 1);
    rc_ints(&k, "shape", 1, &two);
    rc_int(&k, "dtype", 99);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "not a dtype"));
    rc_free(&k);
}

static void test_like(void)
{
    rcase k;
    double y[6];
    void *out[1] = {y};
    int64_t dims[2] = {2, 3};
    const char *s[6] = {"a", "b", "c", "d", "e", "f"};
    /* A string input has no float dtype to copy ... */
    rc_init(&k, "RandomUniformLike", "ul", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_STRING, 2, dims, s);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_E_UNSUPPORTED && msg_has(&k, "string"));
    /* ... but gives its shape to the dtype attribute's tensor. */
    rc_float(&k, "low", 2.0f);
    rc_float(&k, "high", 3.0f);
    rc_int(&k, "dtype", ONYX_DTYPE_DOUBLE);
    CHECK(rc_call(&k, 22, out, sizeof y) == ONYX_OK);
    CHECK(k.out[0].dtype == ONYX_DTYPE_DOUBLE && k.out[0].rank == 2 && k.out[0].dims[1] == 3);
    bool in_range = true;
    for (int i = 0; i < 6; i++) in_range &= y[i] >= 2.0 && y[i] < 3.0;
    CHECK(in_range);
    rc_free(&k);

    /* Without dtype the input's (float16) is kept. */
    uint16_t h[6] = {0}, yh[6];
    void *out_h[1] = {yh};
    rc_init(&k, "RandomNormalLike", "nl", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT16, 2, dims, h);
    CHECK(rc_call(&k, 22, out_h, sizeof yh) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_FLOAT16);
    rc_free(&k);
}

/* ---- Bernoulli --------------------------------------------------------------------------- */

static void test_bernoulli(void)
{
    rcase k;
    int64_t n = 4;
    float p[4] = {0.0f, 1.0f, 0.0f, 1.0f};
    uint8_t y[4];
    void *out[1] = {y};
    rc_init(&k, "Bernoulli", "b", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, &n, p);
    rc_int(&k, "dtype", ONYX_DTYPE_BOOL);
    CHECK(rc_call(&k, 15, out, sizeof y) == ONYX_OK);
    CHECK(y[0] == 0 && y[1] == 1 && y[2] == 0 && y[3] == 1);
    p[2] = 1.5f;
    CHECK(rc_call(&k, 15, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "element 2") && msg_has(&k, "[0, 1]"));
    p[2] = NAN;
    CHECK(rc_call(&k, 15, out, sizeof y) == ONYX_E_ARG);
    rc_free(&k);

    int32_t xi[4] = {0};
    rc_init(&k, "Bernoulli", "b", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_INT32, 1, &n, xi);
    CHECK(rc_call(&k, 15, out, sizeof y) == ONYX_E_UNSUPPORTED && msg_has(&k, "input"));
    rc_free(&k);

    rc_init(&k, "Bernoulli", "b", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, &n, p);
    rc_int(&k, "dtype", ONYX_DTYPE_STRING);
    CHECK(rc_call(&k, 15, out, sizeof y) == ONYX_E_UNSUPPORTED && msg_has(&k, "output dtype"));
    rc_free(&k);

    /* p = 0.5 over many elements: about half ones, as double by default dtype. */
    enum { N = 10000 };
    double *pd = malloc(N * sizeof *pd), *yd = malloc(N * sizeof *yd);
    for (int i = 0; i < N; i++) pd[i] = 0.5;
    int64_t nn = N;
    void *out_d[1] = {yd};
    rc_init(&k, "Bernoulli", "b", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_DOUBLE, 1, &nn, pd);
    CHECK(rc_call(&k, 22, out_d, N * sizeof *yd) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_DOUBLE);
    double ones = 0;
    bool binary = true;
    for (int i = 0; i < N; i++) {
        ones += yd[i];
        binary &= yd[i] == 0.0 || yd[i] == 1.0;
    }
    CHECK(binary && fabs(ones / N - 0.5) < 0.03);
    rc_free(&k);
    free(pd);
    free(yd);
}

/* ---- Multinomial ------------------------------------------------------------------------- */

static void test_multinomial(void)
{
    rcase k;
    int64_t dims[2] = {2, 3};
    /* Row 0: class 1 has zero weight; row 1: only class 2. */
    float x[6] = {0.0f, -INFINITY, 0.0f, -INFINITY, -INFINITY, 5.0f};
    int32_t y[2 * 500];
    void *out[1] = {y};
    rc_init(&k, "Multinomial", "m", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dims, x);
    rc_int(&k, "sample_size", 500);
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_INT32);
    CHECK(k.out[0].dims[0] == 2 && k.out[0].dims[1] == 500);
    int seen[3] = {0}, row1_ok = 1;
    for (int s = 0; s < 500; s++) {
        if (y[s] >= 0 && y[s] < 3) seen[y[s]]++;
        row1_ok &= y[500 + s] == 2;
    }
    CHECK(seen[1] == 0 && seen[0] > 150 && seen[2] > 150 && seen[0] + seen[2] == 500 && row1_ok);
    x[0] = x[2] = -INFINITY; /* row 0: every logit -inf */
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "row 0"));
    x[0] = NAN;
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_E_ARG);
    rc_free(&k);

    rc_init(&k, "Multinomial", "m", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, dims, x);
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_E_SHAPE && msg_has(&k, "rank 1"));
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dims, x);
    rc_int(&k, "dtype", ONYX_DTYPE_FLOAT);
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_E_UNSUPPORTED && msg_has(&k, "int32 or int64"));
    rc_free(&k);

    rc_init(&k, "Multinomial", "m", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dims, x);
    rc_int(&k, "sample_size", -1);
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_E_ARG && msg_has(&k, "negative"));
    rc_free(&k);

    int64_t none[2] = {2, 0};
    rc_init(&k, "Multinomial", "m", 1, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, none, x);
    CHECK(rc_call(&k, 7, out, sizeof y) == ONYX_E_SHAPE && msg_has(&k, "zero classes"));
    rc_free(&k);
}

/* ---- Dropout in training mode ------------------------------------------------------------ */

static void test_dropout_training(void)
{
    /* Not a view: its training output must never be written into its input's buffer. */
    const ox_op *op = ox_op_find("", "Dropout", 13);
    CHECK(op && !(op->flags & OX_OP_VIEW));

    enum { N = 4000 };
    rcase k;
    int64_t n = N;
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *y2 = malloc(N * sizeof *y2);
    uint8_t *mask = malloc(N), *mask2 = malloc(N);
    for (int i = 0; i < N; i++) x[i] = (float)(i % 7) - 3.0f;
    float ratio = 0.25f;
    uint8_t on = 1;
    void *out[2] = {y, mask}, *out2[2] = {y2, mask2};
    rc_init(&k, "Dropout", "d", 3, 2);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    rc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, NULL, &ratio);
    rc_in(&k, 2, ONYX_DTYPE_BOOL, 0, NULL, &on);
    rc_int(&k, "seed", 42);
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_OK && k.out[1].dtype == ONYX_DTYPE_BOOL);
    int kept = 0;
    bool consistent = true;
    for (int i = 0; i < N; i++) {
        kept += mask[i];
        consistent &= mask[i] ? y[i] == x[i] * (float)(1.0 / 0.75) : y[i] == 0.0f;
    }
    CHECK(consistent && abs(kept - 3 * N / 4) < N / 20);
    k.threads = 4;
    CHECK(rc_call(&k, 13, out2, N * sizeof *y) == ONYX_OK);
    CHECK(memcmp(y, y2, N * sizeof *y) == 0 && memcmp(mask, mask2, N) == 0);

    /* Inference mode and ratio 0: the identity with an all-ones mask. */
    on = 0;
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_OK);
    CHECK(memcmp(x, y, N * sizeof *y) == 0 && mask[0] == 1 && mask[N - 1] == 1);
    on = 1;
    ratio = 0.0f;
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_OK && memcmp(x, y, N * sizeof *y) == 0);

    ratio = 1.0f;
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_E_ARG && msg_has(&k, "outside [0, 1)"));
    ratio = NAN;
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_E_ARG);
    ratio = 0.5f;
    rc_in(&k, 2, ONYX_DTYPE_FLOAT, 0, NULL, &ratio);
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_E_ARG && msg_has(&k, "training_mode"));
    rc_in(&k, 2, ONYX_DTYPE_BOOL, 0, NULL, &on);
    k.attr[0].type = OX_ATTR_FLOAT; /* seed must be an int */
    CHECK(rc_call(&k, 13, out, N * sizeof *y) == ONYX_E_ARG && msg_has(&k, "'seed'"));
    rc_free(&k);

    /* float8 data (opset 22) passes through in inference mode; onyx does not train on it. */
    uint8_t x8[4] = {0x38, 0x40, 0x00, 0xb8}, y8[4];
    int64_t four = 4;
    void *out8[1] = {y8};
    rc_init(&k, "Dropout", "d8", 3, 1);
    rc_in(&k, 0, ONYX_DTYPE_FLOAT8E4M3FN, 1, &four, x8);
    rc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, NULL, &ratio);
    rc_in(&k, 2, ONYX_DTYPE_BOOL, 0, NULL, &on);
    CHECK(rc_call(&k, 22, out8, sizeof y8) == ONYX_E_UNSUPPORTED && msg_has(&k, "float8e4m3fn"));
    on = 0;
    CHECK(rc_call(&k, 22, out8, sizeof y8) == ONYX_OK && memcmp(x8, y8, 4) == 0);
    rc_free(&k);
    free(x);
    free(y);
    free(y2);
    free(mask);
    free(mask2);
}

int main(void)
{
    test_reproducible();
    test_shaped_errors();
    test_like();
    test_bernoulli();
    test_multinomial();
    test_dropout_training();
    return check_report("random");
}
