/* test_conv_fast.c — the float convolution paths (1x1 GEMM, depthwise direct and AVX2 or
 * NEON, im2col + GEMM, grouped) against the double direct loop on many shapes; the bias +
 * activation epilogue against double formulas, portable and AVX2 or NEON; results
 * bit-identical at 1, 2 and 4 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "check.h"
#include "conv.h"

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* ---- activations -------------------------------------------------------------------------- */

static double ref_act(const ox_act *a, double x)
{
    double s;
    switch (a->kind) {
    case OX_ACT_RELU: return x < 0 ? 0 : x;
    case OX_ACT_CLIP: s = x < a->alpha ? a->alpha : x; return s > a->beta ? a->beta : s; /* lo > hi: hi */
    case OX_ACT_LEAKY_RELU: return x < 0 ? a->alpha * x : x;
    case OX_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case OX_ACT_HARD_SIGMOID: s = a->alpha * x + a->beta; return s < 0 ? 0 : s > 1 ? 1 : s;
    case OX_ACT_HARD_SWISH: s = x / 6 + 0.5; return x * (s < 0 ? 0 : s > 1 ? 1 : s);
    case OX_ACT_SILU: return x / (1.0 + exp(-x));
    case OX_ACT_TANH: return tanh(x);
    case OX_ACT_GELU: return 0.5 * x * erfc(-x / sqrt(2.0));
    case OX_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    default: return x;
    }
}

#define N_ACT_INPUTS 1000

static void test_activations(void)
{
    static float x[N_ACT_INPUTS], yp[N_ACT_INPUTS], yv[N_ACT_INPUTS];
    const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f, 0.3f, -0.3f, 6.0f, -3.0f, 20.0f, -20.0f,
                             87.0f, -87.0f, 88.5f, -88.5f, 100.0f, -100.0f, INFINITY, -INFINITY, NAN};
    const int n_special = (int)(sizeof special / sizeof special[0]);
    unsigned seed = 7;
    for (int i = 0; i < N_ACT_INPUTS; i++)
        x[i] = i < n_special ? special[i] : frand(&seed) * (i % 3 == 0 ? 12.0f : i % 3 == 1 ? 3.0f : 0.05f);
    const bool have_avx2 = ox_act_bias_f32_avx2(NULL, 0.0f, yv, 0);
    for (int k = OX_ACT_NONE; k <= OX_ACT_COUNT_; k++) { /* the last: Clip with min > max */
        ox_act a = {k == OX_ACT_COUNT_ ? OX_ACT_CLIP : (ox_act_kind)k, 0.0f, 0.0f};
        if (k == OX_ACT_CLIP) a.alpha = -0.5f, a.beta = 6.0f;
        if (k == OX_ACT_COUNT_) a.alpha = 1.0f, a.beta = -1.0f;
        if (k == OX_ACT_LEAKY_RELU) a.alpha = 0.1f;
        if (k == OX_ACT_HARD_SIGMOID) a.alpha = 0.3f, a.beta = 0.4f;
        const float bias = 0.25f;
        memcpy(yp, x, sizeof x);
        memcpy(yv, x, sizeof x);
        /* odd lengths: the vector loop's tail */
        ox_act_bias_f32_portable(&a, bias, yp, N_ACT_INPUTS - 3);
        /* the vector loop of this build: AVX2 (x86-64 CPUs with it) or NEON (AArch64, not Gelu) */
        bool vec = ox_act_bias_f32_avx2(&a, bias, yv, N_ACT_INPUTS - 3);
        CHECK(vec == have_avx2);
        if (!vec) vec = ox_act_bias_res_f32_neon(&a, bias, NULL, yv, N_ACT_INPUTS - 3);
        if (!vec) memcpy(yv, yp, sizeof yp);
        int bad = 0;
        for (int i = 0; i < N_ACT_INPUTS - 3; i++) {
            const double want = ref_act(&a, (double)(x[i] + bias));
            for (int which = 0; which < 2; which++) {
                const double got = which ? yv[i] : yp[i];
                bool ok = isnan(want) ? isnan(got) : isinf(want) ? got == want
                                                                  : fabs(got - want) <= 2e-6 * fabs(want) + 1e-7;
                if (!ok && bad++ < 3)
                    fprintf(stderr, "act %d %s: x %g want %.9g got %.9g\n", k, which ? "vector" : "portable",
                            (double)(x[i] + bias), want, got);
            }
        }
        CHECK_MSG(bad == 0, "activation %d: %d wrong", k, bad);
        for (int i = N_ACT_INPUTS - 3; i < N_ACT_INPUTS; i++) CHECK(yp[i] == x[i] && yv[i] == x[i]);
    }
}

/* ---- convolutions ------------------------------------------------------------------------- */

typedef struct conv_case {
    int nd;
    int64_t batch, cin, cout, group;
    int64_t in[3], k[3], stride[3], dil[3], pb[3], pe[3];
} conv_case;

static bool make_shape(const conv_case *c, ox_conv_shape *s)
{
    memset(s, 0, sizeof *s);
    s->batch = c->batch;
    s->in_channels = c->cin;
    s->out_channels = c->cout;
    s->group = c->group;
    s->win.nd = c->nd;
    for (int d = 0; d < c->nd; d++) {
        s->win.in[d] = c->in[d];
        s->win.kernel[d] = c->k[d];
        s->win.stride[d] = c->stride[d];
        s->win.dil[d] = c->dil[d];
        s->win.pad_begin[d] = c->pb[d];
        s->win.pad_end[d] = c->pe[d];
        int64_t span = c->in[d] + c->pb[d] + c->pe[d] - c->dil[d] * (c->k[d] - 1) - 1;
        if (span < 0) return false;
        s->win.out[d] = span / c->stride[d] + 1;
    }
    return true;
}

/* Runs case c: every path of ox_conv_f32 (SIMD allowed or not, threads 1, 2, 4) against
 * ox_conv_f64, with activation a. Returns false on a mismatch (reported). */
static bool run_case(const conv_case *c, const ox_act *a, unsigned seed)
{
    ox_conv_shape s;
    if (!make_shape(c, &s)) return true;
    const int64_t kvol = ox_window_kernel_size(&s.win);
    const int64_t nx = s.batch * s.in_channels * ox_window_in_size(&s.win);
    const int64_t nw = s.out_channels * (s.in_channels / s.group) * kvol;
    const int64_t ny = s.batch * s.out_channels * ox_window_out_size(&s.win);
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    float *b = malloc((size_t)s.out_channels * sizeof *b), *y = malloc((size_t)ny * sizeof *y);
    float *y1 = malloc((size_t)ny * sizeof *y1);
    double *xd = malloc((size_t)nx * sizeof *xd), *wd = malloc((size_t)nw * sizeof *wd);
    double *bd = malloc((size_t)s.out_channels * sizeof *bd), *yd = malloc((size_t)ny * sizeof *yd);
    void *scratch = malloc(ox_conv_f32_scratch(&s, 4) + 1); /* the most threads run below */
    bool ok = x && w && b && y && y1 && xd && wd && bd && yd && scratch;
    for (int64_t i = 0; ok && i < nx; i++) xd[i] = x[i] = frand(&seed);
    for (int64_t i = 0; ok && i < nw; i++) wd[i] = w[i] = frand(&seed);
    for (int64_t i = 0; ok && i < s.out_channels; i++) bd[i] = b[i] = frand(&seed) * 0.5f;
    if (ok) ox_conv_f64(&s, xd, wd, bd, yd, 1);
    double mag = 0;
    for (int64_t i = 0; ok && i < ny; i++) mag = fmax(mag, fabs(yd[i]));
    for (int portable = 0; ok && portable < 2; portable++) {
        ox_conv_epilogue e = {*a, portable, NULL};
        for (int threads = 1; ok && threads <= 4; threads *= 2) {
            for (int64_t i = 0; i < ny; i++) y[i] = NAN; /* every output must be written */
            ox_conv_f32(&s, x, w, b, &e, y, scratch, threads);
            if (threads == 1) {
                memcpy(y1, y, (size_t)ny * sizeof *y);
                for (int64_t i = 0; i < ny && ok; i++) {
                    const double want = ref_act(a, yd[i]);
                    if (!(fabs(y[i] - want) <= 1e-5 * (mag + 1))) {
                        fprintf(stderr, "conv nd %d in %lld k %lld stride %lld dil %lld pads %lld/%lld cin %lld "
                                        "cout %lld group %lld act %d portable %d: y[%lld] %.8g want %.8g\n",
                                c->nd, (long long)c->in[c->nd - 1], (long long)c->k[c->nd - 1],
                                (long long)c->stride[c->nd - 1], (long long)c->dil[c->nd - 1],
                                (long long)c->pb[c->nd - 1], (long long)c->pe[c->nd - 1], (long long)c->cin,
                                (long long)c->cout, (long long)c->group, a->kind, portable, (long long)i,
                                (double)y[i], want);
                        ok = false;
                    }
                }
            } else if (memcmp(y, y1, (size_t)ny * sizeof *y) != 0) {
                fprintf(stderr, "conv: %d threads differ from 1 (portable %d)\n", threads, portable);
                ok = false;
            }
        }
    }
    free(x), free(w), free(b), free(y), free(y1), free(xd), free(wd), free(bd), free(yd), free(scratch);
    return ok;
}

static conv_case case2d(int64_t h, int64_t wd, int64_t k, int64_t sh, int64_t sw, int64_t dil, int64_t pt, int64_t pl,
                        int64_t pb, int64_t pr)
{
    conv_case c = {2, 2, 3, 3, 3, {h, wd, 0}, {k, k, 0}, {sh, sw, 0}, {dil, dil, 0}, {pt, pl, 0}, {pb, pr, 0}};
    return c;
}

/* Depthwise: 3x3 and 5x5, strides 1 and 2 (each dim), pads 0..2 on either side, dilation 1
 * and 2, widths around the 8- and 16-lane blocks, channel multiplier 1 and 2. */
static void test_depthwise(void)
{
    const int64_t widths[] = {1, 2, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 40};
    const ox_act none = {OX_ACT_NONE, 0, 0}, relu6 = {OX_ACT_CLIP, 0, 6};
    int fails = 0, cases = 0;
    unsigned seed = 11;
    for (int64_t k = 3; k <= 5; k += 2)
        for (int64_t sh = 1; sh <= 2; sh++)
            for (int64_t sw = 1; sw <= 2; sw++)
                for (int64_t dil = 1; dil <= 2; dil++)
                    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
                        for (int64_t p = 0; p <= 2; p++) {
                            conv_case c = case2d(widths[wi] % 7 + 3, widths[wi], k, sh, sw, dil, p, p, (p + 1) % 3,
                                                 2 - p);
                            c.cout = wi % 2 ? 3 : 6; /* multiplier 1 or 2 */
                            cases++;
                            fails += !run_case(&c, (wi + p) % 2 ? &relu6 : &none, seed++);
                        }
    /* a kernel taller than wide, and one whose every tap lands in padding */
    conv_case tall = case2d(9, 20, 3, 1, 1, 1, 1, 1, 1, 1);
    tall.k[0] = 7;
    fails += !run_case(&tall, &none, 3);
    conv_case pad_only = case2d(2, 2, 3, 1, 1, 1, 4, 4, 4, 4);
    fails += !run_case(&pad_only, &relu6, 4);
    CHECK_MSG(fails == 0, "%d of %d depthwise cases wrong", fails, cases + 2);
}

static void test_other_paths(void)
{
    const ox_act acts[] = {{OX_ACT_NONE, 0, 0}, {OX_ACT_RELU, 0, 0}, {OX_ACT_SILU, 0, 0}, {OX_ACT_LEAKY_RELU, 0.1f, 0}};
    int fails = 0;
    unsigned seed = 5;
    for (int ai = 0; ai < 4; ai++) {
        const ox_act *a = &acts[ai];
        /* 1x1 as GEMM: one tile and several (the column tiles of a large plane) */
        conv_case pw = {2, 2, 16, 24, 1, {9, 13, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}, {0, 0, 0}, {0, 0, 0}};
        fails += !run_case(&pw, a, seed++);
        conv_case pw_big = {2, 1, 8, 300, 1, {40, 41, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}, {0, 0, 0}, {0, 0, 0}};
        fails += !run_case(&pw_big, a, seed++);
        /* 1x1 with stride or padding goes through im2col */
        conv_case pw_s2 = {2, 1, 8, 12, 1, {9, 10, 0}, {1, 1, 0}, {2, 2, 0}, {1, 1, 0}, {1, 0, 0}, {0, 1, 0}};
        fails += !run_case(&pw_s2, a, seed++);
        /* im2col + GEMM, 3x3 and 7x7 stride 2 (a ResNet stem, smaller) */
        conv_case g3 = {2, 2, 5, 7, 1, {11, 12, 0}, {3, 3, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}};
        fails += !run_case(&g3, a, seed++);
        conv_case stem = {2, 1, 3, 8, 1, {30, 30, 0}, {7, 7, 0}, {2, 2, 0}, {1, 1, 0}, {3, 3, 0}, {3, 3, 0}};
        fails += !run_case(&stem, a, seed++);
        /* deep im2col (72 x 9 rows, past the panel path's limit): row-major, then the GEMM */
        conv_case deep = {2, 1, 72, 8, 1, {6, 7, 0}, {3, 3, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}};
        fails += !run_case(&deep, a, seed++);
        /* grouped (not depthwise), 1x1 grouped, dilated */
        conv_case grp = {2, 2, 8, 12, 4, {7, 9, 0}, {3, 3, 0}, {2, 1, 0}, {1, 2, 0}, {1, 2, 0}, {0, 1, 0}};
        fails += !run_case(&grp, a, seed++);
        conv_case grp1 = {2, 1, 8, 8, 2, {6, 6, 0}, {1, 1, 0}, {1, 1, 0}, {1, 1, 0}, {0, 0, 0}, {0, 0, 0}};
        fails += !run_case(&grp1, a, seed++);
        /* 1-D and 3-D */
        conv_case c1 = {1, 2, 3, 4, 1, {17, 0, 0}, {5, 0, 0}, {2, 0, 0}, {1, 0, 0}, {2, 0, 0}, {1, 0, 0}};
        fails += !run_case(&c1, a, seed++);
        conv_case dw1 = {1, 1, 4, 4, 4, {19, 0, 0}, {3, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
        fails += !run_case(&dw1, a, seed++);
        conv_case c3 = {3, 1, 2, 3, 1, {4, 5, 6}, {3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1}, {1, 1, 0}};
        fails += !run_case(&c3, a, seed++);
        /* no outputs, a single output */
        conv_case one = {2, 1, 3, 2, 1, {3, 3, 0}, {3, 3, 0}, {1, 1, 0}, {1, 1, 0}, {0, 0, 0}, {0, 0, 0}};
        fails += !run_case(&one, a, seed++);
    }
    CHECK_MSG(fails == 0, "%d cases wrong", fails);
}

int main(void)
{
    test_activations();
    test_depthwise();
    test_other_paths();
    return check_report("conv_fast");
}
