/* gemm_bench.c — onyx's SGEMM entry points against OpenBLAS, in GFLOP/s (`make bench-gemm`).
 *
 *     gemm_bench [SECONDS_PER_CELL]      (default 0.2)
 *
 * Row-major C = A * B (no transposes, alpha 1, beta 0) on square sizes 64..1024 and on the
 * skinny shapes real models produce (ResNet-50 convolutions as im2col GEMMs, BERT/GPT
 * projections at 1, 16 and 128 tokens), at 1 and 2 threads. Each cell repeats the call for
 * at least SECONDS_PER_CELL and reports the best of three such windows (the machine may be
 * shared). Columns: ox_sgemm (what the ops call), ox_sgemm_portable, ox_sgemm_own (when
 * kernels/gemm.h declares it: the Makefile defines HAVE_SGEMM_OWN), cblas_sgemm, and the
 * core's fp32 peak measured with an FMA loop (AVX-512 if the CPU has it, else AVX2+FMA;
 * those functions alone are compiled for those targets and only called when the CPU
 * supports them). Every onyx result is checked against OpenBLAS's (relative max error). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm.h"

#ifdef ONYX_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

typedef void (*sgemm_fn)(bool, bool, int64_t, int64_t, int64_t, float, const float *, int64_t, const float *,
                         int64_t, float, float *, int64_t, int);

typedef struct shape {
    const char *what;
    int64_t M, N, K;
} shape;

static const shape SHAPES[] = {
    {"square", 64, 64, 64},
    {"square", 128, 128, 128},
    {"square", 256, 256, 256},
    {"square", 512, 512, 512},
    {"square", 1024, 1024, 1024},
    {"resnet fc", 1, 1000, 2048},
    {"bert 1 tok qkv", 1, 768, 768},
    {"bert 1 tok ffn1", 1, 3072, 768},
    {"bert 16 tok qkv", 16, 768, 768},
    {"bert 16 tok ffn1", 16, 3072, 768},
    {"bert 128 tok qkv", 128, 768, 768},
    {"bert 128 tok ffn1", 128, 3072, 768},
    {"bert 128 tok ffn2", 128, 768, 3072},
    {"resnet l4 3x3", 49, 512, 4608},
    {"resnet l3 3x3", 196, 256, 2304},
    {"resnet l1 3x3", 3136, 64, 576},
    {"resnet l1 1x1 in", 3136, 64, 256},
    {"resnet l1 1x1 out", 3136, 256, 64},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- fp32 peak: independent FMA chains, enough to cover latency x ports ------------------- */

#define PEAK_ITERS 20000000L
#define PEAK_CHAINS 10 /* independent accumulators: FMA latency (4-5 cycles) x 2 FMA ports */

/* Ten explicit accumulators (an array would be kept in memory at -O2 on some compilers, and
 * the loop would time store-to-load forwarding instead of the FMA units). */
#define PEAK_BODY(FMA)                                                                               \
    for (long i = 0; i < iters; i++) {                                                              \
        a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);             \
        a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);             \
        a8 = FMA(a8, m, c); a9 = FMA(a9, m, c);                                                     \
    }

#ifdef HAVE_X86
__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters, double *flops)
{
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0.f), a1 = _mm256_set1_ps(1.f), a2 = _mm256_set1_ps(2.f), a3 = _mm256_set1_ps(3.f),
           a4 = _mm256_set1_ps(4.f), a5 = _mm256_set1_ps(5.f), a6 = _mm256_set1_ps(6.f), a7 = _mm256_set1_ps(7.f),
           a8 = _mm256_set1_ps(8.f), a9 = _mm256_set1_ps(9.f);
    PEAK_BODY(_mm256_fmadd_ps)
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(_mm256_add_ps(a6, a7), _mm256_add_ps(a8, a9))));
    *flops = (double)iters * PEAK_CHAINS * 8 * 2;
    return _mm256_cvtss_f32(s); /* returned so the loop is not optimised away */
}

__attribute__((target("avx512f"))) static float fma_loop_avx512(long iters, double *flops)
{
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0.f), a1 = _mm512_set1_ps(1.f), a2 = _mm512_set1_ps(2.f), a3 = _mm512_set1_ps(3.f),
           a4 = _mm512_set1_ps(4.f), a5 = _mm512_set1_ps(5.f), a6 = _mm512_set1_ps(6.f), a7 = _mm512_set1_ps(7.f),
           a8 = _mm512_set1_ps(8.f), a9 = _mm512_set1_ps(9.f);
    PEAK_BODY(_mm512_fmadd_ps)
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(_mm512_add_ps(a6, a7), _mm512_add_ps(a8, a9))));
    *flops = (double)iters * PEAK_CHAINS * 16 * 2;
    return _mm512_reduce_add_ps(s);
}
#endif

static const char *peak_isa(void)
{
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2+fma";
#endif
    return NULL;
}

/* GFLOP/s of one thread's FMA loop (best of three); 0 without AVX2. *junk receives the
 * loop's results so the compiler must compute them. */
static double peak_one_thread(const char *isa, float *junk)
{
    double best = 0;
    for (int rep = 0; rep < 3 && isa; rep++) {
        double flops = 0, t0 = now_s();
#ifdef HAVE_X86
        *junk += strcmp(isa, "avx512f") == 0 ? fma_loop_avx512(PEAK_ITERS, &flops) : fma_loop_avx2(PEAK_ITERS, &flops);
#endif
        double g = flops / (now_s() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* Aggregate peak over `threads` threads running the loop at once. */
static double peak_gflops(const char *isa, int threads)
{
    double total = 0;
    float junk = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : total, junk)
    total += peak_one_thread(isa, &junk);
#else
    if (threads != 1) return 0;
    total = peak_one_thread(isa, &junk);
#endif
    if (junk == 1234.5f) printf("(the FMA loop summed to %g)\n", junk); /* keeps junk live */
    return total;
}

/* ---- GEMM timing ------------------------------------------------------------------------- */

#ifdef ONYX_HAVE_OPENBLAS
static void openblas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, int threads)
{
    (void)threads; /* set once per table with openblas_set_num_threads */
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
#endif

typedef struct impl {
    const char *name;
    sgemm_fn fn;
} impl;

static const impl IMPLS[] = {
    {"ox_sgemm", ox_sgemm},
    {"portable", ox_sgemm_portable},
#ifdef HAVE_SGEMM_OWN
    {"own", ox_sgemm_own},
#endif
#ifdef ONYX_HAVE_OPENBLAS
    {"openblas", openblas_sgemm},
#endif
};
#define N_IMPLS (sizeof IMPLS / sizeof IMPLS[0])

static double gflops(sgemm_fn fn, const shape *s, const float *A, const float *B, float *C, int threads,
                     double seconds)
{
    double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K, best = 0;
    fn(false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N, threads); /* warm-up */
    for (int window = 0; window < 3; window++) {
        long calls = 0;
        double t0 = now_s(), t;
        do {
            fn(false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N, threads);
            calls++;
        } while ((t = now_s() - t0) < seconds);
        double g = flop * (double)calls / t / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* max |C - ref| / max |ref| */
static double rel_error(const float *C, const float *ref, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)C[i] - (double)ref[i]));
        scale = fmax(scale, fabs((double)ref[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

static void table(int threads, double seconds, const float *A, const float *B, float *C, float *ref)
{
    const char *isa = peak_isa();
    double peak = peak_gflops(isa, threads);
#ifdef ONYX_HAVE_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    printf("\nthreads=%d  GFLOP/s (best of 3 windows of %.2f s); peak = FMA loop (%s) on %d thread(s)\n", threads,
           seconds, isa ? isa : "none", threads);
    printf("%-18s %5s %5s %5s", "shape", "M", "N", "K");
    for (size_t i = 0; i < N_IMPLS; i++) printf(" %9s", IMPLS[i].name);
    printf(" %9s\n", "peak");
    for (size_t s = 0; s < N_SHAPES; s++) {
        const shape *sh = &SHAPES[s];
        printf("%-18s %5lld %5lld %5lld", sh->what, (long long)sh->M, (long long)sh->N, (long long)sh->K);
        fflush(stdout);
        /* the reference: OpenBLAS when linked (last column), else the portable kernels */
        sgemm_fn reference = IMPLS[N_IMPLS - 1].fn;
        reference(false, false, sh->M, sh->N, sh->K, 1.0f, A, sh->K, B, sh->N, 0.0f, ref, sh->N, threads);
        char bad[256] = "";
        for (size_t i = 0; i < N_IMPLS; i++) {
            double g = gflops(IMPLS[i].fn, sh, A, B, C, threads, seconds);
            double err = rel_error(C, ref, sh->M * sh->N);
            if (err > 1e-4)
                snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " %s rel.err %.1e!", IMPLS[i].name, err);
            printf(" %9.1f", g);
            fflush(stdout);
        }
        printf(" %9.1f%s\n", peak, bad);
    }
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    if (!(seconds > 0 && seconds < 60)) {
        fprintf(stderr, "usage: gemm_bench [SECONDS_PER_CELL in (0, 60)]\n");
        return 2;
    }
    size_t max_a = 0, max_b = 0, max_c = 0;
    for (size_t s = 0; s < N_SHAPES; s++) {
        size_t M = (size_t)SHAPES[s].M, N = (size_t)SHAPES[s].N, K = (size_t)SHAPES[s].K;
        if (M * K > max_a) max_a = M * K;
        if (K * N > max_b) max_b = K * N;
        if (M * N > max_c) max_c = M * N;
    }
    float *A = malloc(max_a * sizeof *A), *B = malloc(max_b * sizeof *B);
    float *C = malloc(max_c * sizeof *C), *ref = malloc(max_c * sizeof *ref);
    if (!A || !B || !C || !ref) {
        fprintf(stderr, "gemm_bench: out of memory\n");
        return 1;
    }
    unsigned x = 12345;
    for (size_t i = 0; i < max_a; i++) A[i] = (float)((x = x * 1103515245u + 12345u) >> 8) * 0x1p-24f - 0.5f;
    for (size_t i = 0; i < max_b; i++) B[i] = (float)((x = x * 1103515245u + 12345u) >> 8) * 0x1p-24f - 0.5f;
    printf("onyx SGEMM benchmark: C = A*B row-major, fp32%s%s\n",
#ifdef ONYX_HAVE_OPENBLAS
           ", OpenBLAS ", openblas_get_config()
#else
           "", " (built without OpenBLAS)"
#endif
    );
    table(1, seconds, A, B, C, ref);
    table(2, seconds, A, B, C, ref);
    free(A);
    free(B);
    free(C);
    free(ref);
    return 0;
}
