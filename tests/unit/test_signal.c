/* test_signal.c — the FFT kernel against the defining sum (every algorithm: radix-2, direct,
 * Bluestein), the spectral ops on small exact cases, results that must not depend on the
 * thread count, and error paths that must fail with the right status and a message naming
 * the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fft.h"
#include "op.h"

/* ---- a one-node harness with scratch --------------------------------------------------- */

#define MAX_IN 5

typedef struct harness {
    ox_node node;
    ox_attr attrs[4];
    onyx_tensor in[MAX_IN], out;
    onyx_tensor *in_ptrs[MAX_IN], *out_ptrs[1];
    char msg[256];
    ox_ctx c;
    ox_pool strings;
    void *scratch;
} harness;

static void h_init(harness *h, const char *op, int opset, int n_in)
{
    memset(h, 0, sizeof *h);
    h->node.name = "n1";
    h->node.op_type = op;
    h->node.domain = "";
    h->node.opset = opset;
    h->node.n_in = n_in;
    h->node.n_out = 1;
    h->node.attr = h->attrs;
    for (int i = 0; i < MAX_IN; i++) h->in_ptrs[i] = i < n_in ? &h->in[i] : NULL;
    h->out_ptrs[0] = &h->out;
    ox_pool_init(&h->strings, ox_allocator_make(NULL, NULL), 0);
    h->c = (ox_ctx){.node = &h->node, .opset = opset, .n_in = n_in, .n_out = 1,
                    .in = h->in_ptrs, .out = h->out_ptrs, .threads = 1, .msg = h->msg,
                    .msg_cap = sizeof h->msg, .need_value = -1, .strings = &h->strings};
}

static void h_free(harness *h)
{
    free(h->out.data);
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

static void h_omit(harness *h, int i) { h->in_ptrs[i] = NULL; }

static void h_int(harness *h, const char *name, int64_t v)
{
    ox_attr *a = &h->attrs[h->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_INT;
    a->i = v;
}

/* Infers, allocates the output and the scratch asked for, runs. */
static onyx_status h_call(harness *h)
{
    const ox_op *op = ox_op_find("", h->node.op_type, h->c.opset);
    if (!op) return ONYX_E_UNSUPPORTED;
    h->msg[0] = 0;
    onyx_status st = op->infer(&h->c);
    if (st) return st;
    size_t n = ox_tensor_bytes(&h->out);
    h->out.data = calloc(1, n ? n : 1);
    if (h->c.scratch_bytes) h->scratch = malloc(h->c.scratch_bytes);
    h->c.scratch = h->scratch;
    return op->run(&h->c);
}

static bool msg_has(const harness *h, const char *part)
{
    return strstr(h->msg, "node 'n1'") && strstr(h->msg, part);
}

static const int64_t scalar_dims[1] = {1};

/* ---- the kernel ------------------------------------------------------------------------ */

/* Max |ox_fft(x) - sum| over a pseudo-random input, relative to the largest output. */
static double fft_error(int64_t n, bool inverse)
{
    double *table = malloc((ox_fft_table_doubles(n) + 1) * sizeof(double));
    double *work = malloc((ox_fft_work_doubles(n) + 1) * sizeof(double));
    double *x = malloc(2 * (size_t)n * sizeof(double)), *in = malloc(2 * (size_t)n * sizeof(double));
    uint32_t seed = 12345u + (uint32_t)n;
    for (int64_t k = 0; k < 2 * n; k++) {
        seed = seed * 1664525u + 1013904223u;
        in[k] = x[k] = (double)(seed >> 8) / (double)(1u << 24) - 0.5;
    }
    ox_fft_plan p;
    ox_fft_plan_init(&p, n, table);
    ox_fft(&p, x, inverse, work);
    double err = 0, big = 1e-300, sign = inverse ? 1.0 : -1.0;
    for (int64_t k = 0; k < n; k++) {
        long double sr = 0, si = 0;
        for (int64_t t = 0; t < n; t++) {
            long double a = sign * 2.0L * 3.14159265358979323846264338327950288L *
                            (long double)((k * t) % n) / (long double)n;
            sr += in[2 * t] * cosl(a) - in[2 * t + 1] * sinl(a);
            si += in[2 * t] * sinl(a) + in[2 * t + 1] * cosl(a);
        }
        err = fmax(err, fmax(fabs(x[2 * k] - (double)sr), fabs(x[2 * k + 1] - (double)si)));
        big = fmax(big, fmax(fabs((double)sr), fabs((double)si)));
    }
    free(table);
    free(work);
    free(x);
    free(in);
    return err / big;
}

static void test_fft_kernel(void)
{
    static const int64_t lens[] = {1, 2, 3, 4, 5, 7, 8, 10, 12, 31, 63, 64, 65, 97, 100, 128, 257, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (int inv = 0; inv < 2; inv++) {
            double e = fft_error(lens[i], inv);
            CHECK_MSG(e < 1e-13, "n=%lld inverse=%d relative error %g", (long long)lens[i], inv, e);
        }
}

/* ---- DFT ------------------------------------------------------------------------------- */

static void test_dft_values(void)
{
    /* [1, 2, 3, 4] along axis 1: X = [10, -2+2i, -2, -2-2i]; one-sided keeps 3 bins. */
    harness h;
    const float x[4] = {1, 2, 3, 4};
    const int64_t xd[3] = {1, 4, 1};
    h_init(&h, "DFT", 17, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, xd, x);
    h_int(&h, "onesided", 1);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(h.out.rank == 3 && h.out.dims[1] == 3 && h.out.dims[2] == 2);
    const float want[6] = {10, 0, -2, 2, -2, 0};
    const float *y = h.out.data;
    for (int k = 0; k < 6; k++) CHECK_MSG(fabsf(y[k] - want[k]) < 1e-6f, "bin %d: %g", k, y[k]);
    h_free(&h);

    /* IRFFT of that spectrum with dft_length 4 (input 2, int32) gives the signal back. */
    const float spec[6] = {10, 0, -2, 2, -2, 0};
    const int64_t sd[3] = {1, 3, 2};
    const int32_t len = 4;
    h_init(&h, "DFT", 17, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, sd, spec);
    h_in(&h, 1, ONYX_DTYPE_INT32, 0, NULL, &len);
    h_int(&h, "onesided", 1);
    h_int(&h, "inverse", 1);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(h.out.dims[1] == 4 && h.out.dims[2] == 1);
    y = h.out.data;
    for (int k = 0; k < 4; k++) CHECK_MSG(fabsf(y[k] - x[k]) < 1e-6f, "sample %d: %g", k, y[k]);
    h_free(&h);
}

/* The same transform with 1 and 4 threads: bit-identical. */
static void test_dft_threads(void)
{
    enum { B = 37, N = 100 };
    static float x[B * N * 2];
    for (int k = 0; k < B * N * 2; k++) x[k] = (float)sin(0.37 * k) + (float)(k % 7);
    const int64_t xd[3] = {B, N, 2};
    void *out[2] = {NULL, NULL};
    size_t bytes = 0;
    for (int run = 0; run < 2; run++) {
        harness h;
        h_init(&h, "DFT", 20, 1);
        h.c.threads = run ? 4 : 1;
        h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, xd, x);
        CHECK(h_call(&h) == ONYX_OK);
        bytes = ox_tensor_bytes(&h.out);
        out[run] = h.out.data;
        h.out.data = NULL;
        h_free(&h);
    }
    CHECK(out[0] && out[1] && memcmp(out[0], out[1], bytes) == 0);
    free(out[0]);
    free(out[1]);
}

static void test_dft_errors(void)
{
    const float x[6] = {0};
    const int64_t d3[3] = {1, 2, 3}, d2[2] = {3, 2};
    harness h;

    h_init(&h, "DFT", 17, 1); /* last dim 3: neither real nor complex */
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, d3, x);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "last dim"));
    h_free(&h);

    h_init(&h, "DFT", 17, 1); /* the channel dim is not an axis */
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, d2, x);
    h_int(&h, "axis", -1);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "axis -1"));
    h_free(&h);

    h_init(&h, "DFT", 17, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, d2, x);
    h_int(&h, "axis", 0);
    h_int(&h, "onesided", 2);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "onesided"));
    h_free(&h);

    const int64_t zero = 0;
    h_init(&h, "DFT", 17, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, d2, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, scalar_dims, &zero);
    h_int(&h, "axis", 0);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "DFT length 0"));
    h_free(&h);

    const int32_t xi[6] = {0};
    h_init(&h, "DFT", 17, 1);
    h_in(&h, 0, ONYX_DTYPE_INT32, 2, d2, xi);
    h_int(&h, "axis", 0);
    CHECK(h_call(&h) == ONYX_E_UNSUPPORTED && msg_has(&h, "int32"));
    h_free(&h);

    /* Opset 20: an axis input not known at plan time must be asked for. */
    h_init(&h, "DFT", 20, 3);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, d2, x);
    h_omit(&h, 1);
    h_in(&h, 2, ONYX_DTYPE_INT64, 0, NULL, NULL);
    CHECK(h_call(&h) == ONYX_E_UNSUPPORTED && h.c.need_value == 2);
    h_free(&h);
}

/* ---- STFT ------------------------------------------------------------------------------ */

static void test_stft(void)
{
    const float sig[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const int64_t sd[3] = {1, 8, 1}, wd[1] = {3};
    const int64_t step = 2, four = 4, ten = 10, zero = 0;
    const float win[3] = {1, 1, 1};
    harness h;

    /* A constant signal, frames of 4 every 2: 3 frames, DC = 4, other bins 0. */
    h_init(&h, "STFT", 17, 4);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, sd, sig);
    h_in(&h, 1, ONYX_DTYPE_INT64, 0, NULL, &step);
    h_omit(&h, 2);
    h_in(&h, 3, ONYX_DTYPE_INT64, 0, NULL, &four);
    CHECK(h_call(&h) == ONYX_OK);
    CHECK(h.out.rank == 4 && h.out.dims[1] == 3 && h.out.dims[2] == 3 && h.out.dims[3] == 2);
    const float *y = h.out.data;
    for (int f = 0; f < 3; f++)
        for (int k = 0; k < 6; k++)
            CHECK(fabsf(y[f * 6 + k] - (k == 0 ? 4.0f : 0.0f)) < 1e-6f);
    h_free(&h);

    h_init(&h, "STFT", 17, 4); /* frame longer than the signal */
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, sd, sig);
    h_in(&h, 1, ONYX_DTYPE_INT64, 0, NULL, &step);
    h_omit(&h, 2);
    h_in(&h, 3, ONYX_DTYPE_INT64, 0, NULL, &ten);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "frame_length 10"));
    h_free(&h);

    h_init(&h, "STFT", 17, 4); /* window and frame_length disagree */
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, sd, sig);
    h_in(&h, 1, ONYX_DTYPE_INT64, 0, NULL, &step);
    h_in(&h, 2, ONYX_DTYPE_FLOAT, 1, wd, win);
    h_in(&h, 3, ONYX_DTYPE_INT64, 0, NULL, &four);
    CHECK(h_call(&h) == ONYX_E_SHAPE && msg_has(&h, "window has 3 values"));
    h_free(&h);

    h_init(&h, "STFT", 17, 2);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, sd, sig);
    h_in(&h, 1, ONYX_DTYPE_INT64, 0, NULL, &zero);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "frame_step 0"));
    h_free(&h);
}

/* ---- windows and MelWeightMatrix --------------------------------------------------------- */

static void test_windows(void)
{
    harness h;
    const int64_t one = 1, five = 5, neg = -3;

    h_init(&h, "HannWindow", 17, 1); /* one symmetric point: [1] */
    h_in(&h, 0, ONYX_DTYPE_INT64, 0, NULL, &one);
    h_int(&h, "periodic", 0);
    CHECK(h_call(&h) == ONYX_OK && h.out.dims[0] == 1 && ((float *)h.out.data)[0] == 1.0f);
    h_free(&h);

    /* Symmetric Blackman of 5 as int64: the centre is exactly 1, the rest truncate to 0. */
    h_init(&h, "BlackmanWindow", 17, 1);
    h_in(&h, 0, ONYX_DTYPE_INT64, 0, NULL, &five);
    h_int(&h, "periodic", 0);
    h_int(&h, "output_datatype", ONYX_DTYPE_INT64);
    CHECK(h_call(&h) == ONYX_OK && h.out.dtype == ONYX_DTYPE_INT64);
    const int64_t *b = h.out.data;
    CHECK(b[0] == 0 && b[1] == 0 && b[2] == 1 && b[3] == 0 && b[4] == 0);
    h_free(&h);

    h_init(&h, "HammingWindow", 17, 1); /* periodic, double: alpha - beta cos(2 pi k / 5) */
    h_in(&h, 0, ONYX_DTYPE_INT64, 0, NULL, &five);
    h_int(&h, "output_datatype", ONYX_DTYPE_DOUBLE);
    CHECK(h_call(&h) == ONYX_OK);
    const double *w = h.out.data;
    for (int k = 0; k < 5; k++)
        CHECK(fabs(w[k] - (25.0 / 46 - 21.0 / 46 * cos(2 * 3.14159265358979323846 * k / 5))) < 1e-15);
    h_free(&h);

    h_init(&h, "HannWindow", 17, 1);
    h_in(&h, 0, ONYX_DTYPE_INT64, 0, NULL, &neg);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "size -3"));
    h_free(&h);

    h_init(&h, "HannWindow", 17, 1);
    h_in(&h, 0, ONYX_DTYPE_INT64, 0, NULL, &five);
    h_int(&h, "output_datatype", ONYX_DTYPE_STRING);
    CHECK(h_call(&h) == ONYX_E_UNSUPPORTED && msg_has(&h, "output_datatype 8"));
    h_free(&h);
}

static void mel_inputs(harness *h, const int64_t *ints, const float *edges)
{
    h_init(h, "MelWeightMatrix", 17, 5);
    for (int i = 0; i < 3; i++) h_in(h, i, ONYX_DTYPE_INT64, 0, NULL, &ints[i]);
    for (int i = 0; i < 2; i++) h_in(h, 3 + i, ONYX_DTYPE_FLOAT, 0, NULL, &edges[i]);
}

static void test_mel(void)
{
    harness h;
    /* The ONNX example: 8 bands over a 16-point DFT at 8192 Hz, 0..4096 Hz. Each band is a
     * triangle peaking at 1, and the [9, 8] matrix has at least one 1 per band. */
    const int64_t ok[3] = {8, 16, 8192};
    const float edges[2] = {0, 4096};
    mel_inputs(&h, ok, edges);
    CHECK(h_call(&h) == ONYX_OK && h.out.dims[0] == 9 && h.out.dims[1] == 8);
    const float *m = h.out.data;
    for (int band = 0; band < 8; band++) {
        float peak = 0;
        for (int j = 0; j < 9; j++) peak = fmaxf(peak, m[j * 8 + band]);
        CHECK_MSG(peak == 1.0f, "band %d peaks at %g", band, peak);
    }
    h_free(&h);

    const float too_high[2] = {0, 8000}; /* far above the 4096 Hz Nyquist frequency */
    mel_inputs(&h, ok, too_high);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "sample_rate"));
    h_free(&h);

    const int64_t no_rate[3] = {8, 16, 0};
    mel_inputs(&h, no_rate, edges);
    CHECK(h_call(&h) == ONYX_E_ARG && msg_has(&h, "sample_rate 0"));
    h_free(&h);
}

int main(void)
{
    test_fft_kernel();
    test_dft_values();
    test_dft_threads();
    test_dft_errors();
    test_stft();
    test_windows();
    test_mel();
    return check_report("signal");
}
