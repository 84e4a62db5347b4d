/* test_sgemm.c — the own packed SGEMM (kernels/sgemm_driver.c) against a double-precision
 * reference: every instruction-set variant this CPU runs, edge sizes around the microkernel
 * tile (MR x NR) and the K block, all transpose combinations, alpha/beta (beta == 0 with NaN
 * in C), padded leading dimensions; bit-identical results for 1, 2 and 4 threads; the
 * prepacked-B path equal to the unpacked one bit for bit; the WebAssembly SIMD128 variant
 * (no FMA) equal to the generic one bit for bit, the FMA variants (AVX2, NEON, RVV) to a
 * scalar fmaf model bit for bit; ox_sgemm's public entry. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gemm.h"
#include "sgemm_kernels.h"

typedef struct shape {
    int64_t M, N, K;
} shape;

/* MR x NR is 4 x 16 (generic), 6 x 16 (AVX2), 8 x 12 (NEON), 7 x 16 (RVV) or 6 x 8
 * (WebAssembly); the K block at most 256. */
static const shape shapes[] = {
    {1, 1, 1},    {1, 16, 7},   {3, 17, 5},    {4, 15, 256},  {5, 31, 257},  {6, 16, 255},
    {7, 33, 64},  {11, 48, 9},  {13, 47, 513}, {2, 100, 300}, {1, 70, 1030}, {37, 5, 40},
    {64, 64, 64}, {61, 130, 3}, {130, 20, 260}, {25, 1, 600}, {8, 12, 10},   {9, 13, 17},
    {15, 11, 33}, {16, 24, 100}, {14, 25, 3},
};

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Checks C against alpha * op(A) op(B) + beta * C0 in double, within a bound scaled by the
 * magnitudes summed (float rounding of K products). */
static bool close_to_ref(bool ta, bool tb, shape s, float alpha, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float beta, const float *C0,
                         const float *C, int64_t ldc)
{
    for (int64_t i = 0; i < s.M; i++)
        for (int64_t j = 0; j < s.N; j++) {
            double acc = 0, mag = 0;
            for (int64_t k = 0; k < s.K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                acc += a * b;
                mag += fabs(a * b);
            }
            double c0 = beta == 0 ? 0 : C0[i * ldc + j];
            double ref = alpha * acc + beta * c0;
            double tol = 2e-6 * (fabs(alpha) * mag + fabs(beta * c0)) + 1e-6 + 1e-7 * (double)s.K;
            double got = C[i * ldc + j];
            if (!(fabs(got - ref) <= tol)) {
                fprintf(stderr, "  C[%lld][%lld] = %.9g, want %.9g\n", (long long)i, (long long)j,
                        got, ref);
                return false;
            }
        }
    return true;
}

static const float params[][2] = {{1, 0}, {0.5f, 1}, {-1.5f, 0.25f}, {2, -1}};

static void test_isa(ox_sgemm_isa isa)
{
    unsigned seed = 1234u + (unsigned)isa;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const shape s = shapes[si];
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2;
            const int pad = (int)(si % 3) * 3; /* leading dimensions past the minimum */
            const int64_t lda = (ta ? s.M : s.K) + pad, ldb = (tb ? s.K : s.N) + pad;
            const int64_t ldc = s.N + pad;
            const int64_t na = (ta ? s.K : s.M) * lda, nb = (tb ? s.N : s.K) * ldb, nc = s.M * ldc;
            float *A = malloc(sizeof(float) * (size_t)na), *B = malloc(sizeof(float) * (size_t)nb);
            float *C0 = malloc(sizeof(float) * (size_t)nc), *C1 = malloc(sizeof(float) * (size_t)nc);
            float *C2 = malloc(sizeof(float) * (size_t)nc), *C4 = malloc(sizeof(float) * (size_t)nc);
            float *CP = malloc(sizeof(float) * (size_t)nc);
            size_t pbytes = ox_sgemm_packed_b_bytes_with(isa, s.K, s.N);
            void *pb = aligned_alloc(64, (pbytes + 63) / 64 * 64);
            if (!A || !B || !C0 || !C1 || !C2 || !C4 || !CP || !pb) {
                CHECK(!"out of memory");
                free(A), free(B), free(C0), free(C1), free(C2), free(C4), free(CP), free(pb);
                return;
            }
            for (int64_t x = 0; x < na; x++) A[x] = frand(&seed);
            for (int64_t x = 0; x < nb; x++) B[x] = frand(&seed);
            for (size_t p = 0; p < sizeof params / sizeof *params; p++) {
                const float alpha = params[p][0], beta = params[p][1];
                for (int64_t x = 0; x < nc; x++) C0[x] = beta == 0 ? NAN : frand(&seed);
                memcpy(C1, C0, sizeof(float) * (size_t)nc);
                memcpy(C2, C0, sizeof(float) * (size_t)nc);
                memcpy(C4, C0, sizeof(float) * (size_t)nc);
                memcpy(CP, C0, sizeof(float) * (size_t)nc);
                ox_sgemm_with(isa, ta, tb, s.M, s.N, s.K, alpha, A, lda, B, ldb, beta, C1, ldc, 1);
                ox_sgemm_with(isa, ta, tb, s.M, s.N, s.K, alpha, A, lda, B, ldb, beta, C2, ldc, 2);
                ox_sgemm_with(isa, ta, tb, s.M, s.N, s.K, alpha, A, lda, B, ldb, beta, C4, ldc, 4);
                ox_sgemm_pack_b_with(isa, tb, s.K, s.N, B, ldb, pb);
                ox_sgemm_packed(ta, s.M, s.N, s.K, alpha, A, lda, pb, beta, CP, ldc, 3);
                CHECK_MSG(close_to_ref(ta, tb, s, alpha, A, lda, B, ldb, beta, C0, C1, ldc),
                          "isa %d shape %zu (%lldx%lldx%lld) trans %d alpha %g beta %g", (int)isa,
                          si, (long long)s.M, (long long)s.N, (long long)s.K, t, alpha, beta);
                CHECK_MSG(!memcmp(C1, C2, sizeof(float) * (size_t)nc) &&
                              !memcmp(C1, C4, sizeof(float) * (size_t)nc),
                          "isa %d shape %zu trans %d: threads change the bits", (int)isa, si, t);
                CHECK_MSG(!memcmp(C1, CP, sizeof(float) * (size_t)nc),
                          "isa %d shape %zu trans %d: packed B differs", (int)isa, si, t);
            }
            free(A), free(B), free(C0), free(C1), free(C2), free(C4), free(CP), free(pb);
        }
    }
}

/* Bigger products through the threaded split (several regions, B and A^T blocks). */
static void test_threads_big(ox_sgemm_isa isa)
{
    const shape big[] = {{200, 300, 520}, {7, 1000, 300}, {1000, 7, 300}};
    unsigned seed = 99u;
    for (size_t si = 0; si < sizeof big / sizeof *big; si++) {
        const shape s = big[si];
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2;
            float *A = malloc(sizeof(float) * (size_t)(s.M * s.K));
            float *B = malloc(sizeof(float) * (size_t)(s.K * s.N));
            float *C[3];
            for (int q = 0; q < 3; q++) C[q] = malloc(sizeof(float) * (size_t)(s.M * s.N));
            if (!A || !B || !C[0] || !C[1] || !C[2]) {
                CHECK(!"out of memory");
                free(A), free(B), free(C[0]), free(C[1]), free(C[2]);
                return;
            }
            for (int64_t x = 0; x < s.M * s.K; x++) A[x] = frand(&seed);
            for (int64_t x = 0; x < s.K * s.N; x++) B[x] = frand(&seed);
            const int th[3] = {1, 2, 4};
            for (int q = 0; q < 3; q++)
                ox_sgemm_with(isa, ta, tb, s.M, s.N, s.K, 1, A, ta ? s.M : s.K, B, tb ? s.K : s.N,
                              0, C[q], s.N, th[q]);
            CHECK_MSG(close_to_ref(ta, tb, s, 1, A, ta ? s.M : s.K, B, tb ? s.K : s.N, 0, NULL,
                                   C[0], s.N),
                      "big isa %d shape %zu trans %d", (int)isa, si, t);
            size_t bytes = sizeof(float) * (size_t)(s.M * s.N);
            CHECK_MSG(!memcmp(C[0], C[1], bytes) && !memcmp(C[0], C[2], bytes),
                      "big isa %d shape %zu trans %d: threads change the bits", (int)isa, si, t);
            free(A), free(B), free(C[0]), free(C[1]), free(C[2]);
        }
    }
}

/* One sweep's operands for shape s and transpose case t (bit 0: A, bit 1: B): random A and
 * B, and n_c buffers for C, all of M x N. */
typedef struct operands {
    bool ta, tb;
    int64_t lda, ldb, nc;
    float *A, *B, *C[3];
} operands;

static void operands_free(operands *o)
{
    free(o->A);
    free(o->B);
    for (int i = 0; i < 3; i++) free(o->C[i]);
}

static bool operands_make(operands *o, shape s, int t, int n_c, unsigned *seed)
{
    memset(o, 0, sizeof *o);
    o->ta = t & 1;
    o->tb = t & 2;
    o->lda = o->ta ? s.M : s.K;
    o->ldb = o->tb ? s.K : s.N;
    o->nc = s.M * s.N;
    o->A = malloc(sizeof(float) * (size_t)(s.M * s.K));
    o->B = malloc(sizeof(float) * (size_t)(s.K * s.N));
    bool ok = o->A && o->B;
    for (int i = 0; i < n_c; i++) ok = (o->C[i] = malloc(sizeof(float) * (size_t)o->nc)) && ok;
    if (!ok) {
        CHECK(!"out of memory");
        operands_free(o);
        return false;
    }
    for (int64_t x = 0; x < s.M * s.K; x++) o->A[x] = frand(seed);
    for (int64_t x = 0; x < s.K * s.N; x++) o->B[x] = frand(seed);
    return true;
}

/* C[0] set up for beta (NaN where beta == 0 must ignore it), copied into C[1 .. n_c-1]. */
static void fill_c(operands *o, float beta, int n_c, unsigned *seed)
{
    for (int64_t x = 0; x < o->nc; x++) o->C[0][x] = beta == 0 ? NAN : frand(seed);
    for (int i = 1; i < n_c; i++) memcpy(o->C[i], o->C[0], sizeof(float) * (size_t)o->nc);
}

/* A variant without fused multiply-add (WebAssembly SIMD128) rounds each product and each sum
 * as the plain C kernel does, in the same order, whatever its tile: its results, unpacked and
 * with B prepacked, must be the generic kernel's bit for bit. */
static void test_same_as_generic(ox_sgemm_isa isa)
{
    unsigned seed = 4321u;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const shape s = shapes[si];
        for (int t = 0; t < 4; t++) {
            operands o;
            if (!operands_make(&o, s, t, 3, &seed)) return;
            size_t pbytes = ox_sgemm_packed_b_bytes_with(isa, s.K, s.N);
            void *pb = aligned_alloc(64, (pbytes + 63) / 64 * 64);
            if (!pb) {
                CHECK(!"out of memory");
                operands_free(&o);
                return;
            }
            ox_sgemm_pack_b_with(isa, o.tb, s.K, s.N, o.B, o.ldb, pb);
            const size_t bytes = sizeof(float) * (size_t)o.nc;
            for (size_t p = 0; p < sizeof params / sizeof *params; p++) {
                const float alpha = params[p][0], beta = params[p][1];
                fill_c(&o, beta, 3, &seed);
                ox_sgemm_with(OX_SGEMM_GENERIC, o.ta, o.tb, s.M, s.N, s.K, alpha, o.A, o.lda, o.B, o.ldb,
                              beta, o.C[0], s.N, 1);
                ox_sgemm_with(isa, o.ta, o.tb, s.M, s.N, s.K, alpha, o.A, o.lda, o.B, o.ldb, beta, o.C[1],
                              s.N, 1);
                ox_sgemm_packed(o.ta, s.M, s.N, s.K, alpha, o.A, o.lda, pb, beta, o.C[2], s.N, 1);
                CHECK_MSG(!memcmp(o.C[0], o.C[1], bytes) && !memcmp(o.C[0], o.C[2], bytes),
                          "isa %d shape %zu trans %d alpha %g beta %g: bits differ from generic",
                          (int)isa, si, t, alpha, beta);
            }
            free(pb);
            operands_free(&o);
        }
    }
}

/* What the FMA variants (AVX2, NEON, RVV) compute for one C element, as scalar fmaf: for each
 * K block in order (blocks as equal as possible, none over OX_SGEMM_KC_MAX: the driver's
 * split), one running fused sum from 0, then C = alpha * sum (beta == 0), or beta * C (not
 * multiplied for beta == 1) + alpha * sum fused; beta is 1 after the first block. */
static float fused_ref(bool ta, bool tb, shape s, const float *A, int64_t lda, const float *B,
                       int64_t ldb, int64_t i, int64_t j, float alpha, float beta, float c)
{
    const int64_t nk = (s.K + OX_SGEMM_KC_MAX - 1) / OX_SGEMM_KC_MAX, kc = (s.K + nk - 1) / nk;
    for (int64_t k0 = 0; k0 < s.K; k0 += kc) {
        float acc = 0;
        for (int64_t k = k0; k < s.K && k < k0 + kc; k++) {
            const float a = ta ? A[k * lda + i] : A[i * lda + k];
            acc = fmaf(a, tb ? B[j * ldb + k] : B[k * ldb + j], acc);
        }
        const float b = k0 == 0 ? beta : 1.0f;
        c = b == 0 ? alpha * acc : fmaf(acc, alpha, b == 1 ? c : b * c);
    }
    return c;
}

/* The FMA variants give fused_ref's bits whatever their tile, so also each other's: a model
 * runs to the same bits on x86-64 with AVX2, AArch64 and RISC-V with V. */
static void test_same_as_fused(ox_sgemm_isa isa)
{
    unsigned seed = 8765u;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const shape s = shapes[si];
        for (int t = 0; t < 4; t++) {
            operands o;
            if (!operands_make(&o, s, t, 2, &seed)) return;
            for (size_t p = 0; p < sizeof params / sizeof *params; p++) {
                const float alpha = params[p][0], beta = params[p][1];
                fill_c(&o, beta, 2, &seed);
                ox_sgemm_with(isa, o.ta, o.tb, s.M, s.N, s.K, alpha, o.A, o.lda, o.B, o.ldb, beta, o.C[1],
                              s.N, 2);
                int64_t bad = 0;
                for (int64_t x = 0; x < o.nc; x++) {
                    const float want = fused_ref(o.ta, o.tb, s, o.A, o.lda, o.B, o.ldb, x / s.N, x % s.N,
                                                 alpha, beta, o.C[0][x]);
                    bad += memcmp(&want, &o.C[1][x], sizeof want) != 0;
                }
                CHECK_MSG(bad == 0, "isa %d shape %zu trans %d alpha %g beta %g: %lld of %lld "
                          "differ from the fused reference", (int)isa, si, t, alpha, beta,
                          (long long)bad, (long long)o.nc);
            }
            operands_free(&o);
        }
    }
}

/* alpha == 0 and K == 0 read neither A nor B: C = beta * C (zeros for beta == 0). */
static void test_degenerate(void)
{
    float A[4] = {NAN, NAN, NAN, NAN}, B[4] = {NAN, NAN, NAN, NAN};
    float C[4] = {1, 2, 3, 4};
    ox_sgemm_own(false, false, 2, 2, 2, 0, A, 2, B, 2, 2, C, 2, 1);
    CHECK(C[0] == 2 && C[1] == 4 && C[2] == 6 && C[3] == 8);
    ox_sgemm_own(false, false, 2, 2, 0, 1, A, 2, B, 2, 0, C, 2, 1);
    CHECK(C[0] == 0 && C[1] == 0 && C[2] == 0 && C[3] == 0);
    float D[4] = {NAN, NAN, NAN, NAN}, E[4] = {1, 2, 3, 4}, F[4] = {5, 6, 7, 8};
    ox_sgemm(false, false, 2, 2, 2, 1, E, 2, F, 2, 0, D, 2, 2); /* beta 0: NaN in C ignored */
    CHECK(D[0] == 19 && D[1] == 22 && D[2] == 43 && D[3] == 50);
}

int main(void)
{
    CHECK(ox_sgemm_isa_supported(OX_SGEMM_GENERIC));
    CHECK(ox_sgemm_isa_supported(ox_sgemm_isa_best()));
    /* the vector kernel is the default wherever the build's target has it */
#if defined(__aarch64__) && defined(__ARM_NEON)
    CHECK(ox_sgemm_isa_best() == OX_SGEMM_NEON);
#elif defined(__riscv_vector)
    CHECK(ox_sgemm_isa_best() == OX_SGEMM_RVV);
#elif defined(__wasm_simd128__)
    CHECK(ox_sgemm_isa_best() == OX_SGEMM_WASM);
#endif
    for (int isa = 0; isa < OX_SGEMM_ISA_COUNT; isa++) {
        if (!ox_sgemm_isa_supported((ox_sgemm_isa)isa)) {
            printf("test_sgemm: variant %d not supported by this CPU, skipped\n", isa);
            continue;
        }
        test_isa((ox_sgemm_isa)isa);
        test_threads_big((ox_sgemm_isa)isa);
        if (isa == OX_SGEMM_WASM) test_same_as_generic((ox_sgemm_isa)isa);
        if (isa == OX_SGEMM_AVX2 || isa == OX_SGEMM_NEON || isa == OX_SGEMM_RVV)
            test_same_as_fused((ox_sgemm_isa)isa);
    }
    test_degenerate();
    return check_report("test_sgemm");
}
