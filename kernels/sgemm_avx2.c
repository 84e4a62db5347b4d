/* sgemm_avx2.c — the AVX2 + FMA microkernel: 6 x 16 tile of C in 12 ymm accumulators.
 *
 * Per k: two 8-float loads of the B row, six broadcasts of A and twelve FMAs; 12 + 2 + 1 of
 * the 16 ymm registers. The functions carry target attributes, so the file builds with the
 * project's baseline flags and runs only when dispatch found AVX2 and FMA. A kernel body is
 * instantiated for each row count 1..6 (edge tiles in M then cost no wasted FMAs); columns
 * past nr are computed on B's padding and not stored. */
#include "sgemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define A2_MR 6
#define A2_NR 16
#define A2_TARGET __attribute__((target("avx2,fma")))
#define A2_INLINE static inline __attribute__((always_inline)) A2_TARGET

/* alpha * acc + beta * old, the one formula every tile uses (beta == 0: old not read). */
A2_INLINE __m256 a2_update(__m256 acc, const float *old, float alpha, float beta)
{
    __m256 va = _mm256_set1_ps(alpha);
    if (beta == 0) return _mm256_mul_ps(acc, va);
    __m256 o = _mm256_loadu_ps(old);
    if (beta != 1) o = _mm256_mul_ps(o, _mm256_set1_ps(beta));
    return _mm256_fmadd_ps(acc, va, o);
}

/* One row of the tile into C: straight for full rows, through a small buffer for nr < 16 so
 * the arithmetic is the same. */
A2_INLINE void a2_store_row(float *c, int nr, __m256 x0, __m256 x1, float alpha, float beta)
{
    if (nr == A2_NR) {
        _mm256_storeu_ps(c, a2_update(x0, c, alpha, beta));
        _mm256_storeu_ps(c + 8, a2_update(x1, c + 8, alpha, beta));
        return;
    }
    float t[A2_NR] = {0};
    if (beta != 0)
        for (int j = 0; j < nr; j++) t[j] = c[j];
    _mm256_storeu_ps(t, a2_update(x0, t, alpha, beta));
    _mm256_storeu_ps(t + 8, a2_update(x1, t + 8, alpha, beta));
    for (int j = 0; j < nr; j++) c[j] = t[j];
}

#define A2_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define A2_DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define A2_STEP(r)                                                                       \
    if (MRV > r) {                                                                       \
        __m256 av = _mm256_broadcast_ss(a + r * rs);                                     \
        c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                                      \
        c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);                                      \
    }
#define A2_STORE(r) \
    if (MRV > r) a2_store_row(c + r * ldc, nr, c##r##0, c##r##1, alpha, beta);

/* MRV rows; A(i, k) at a[i*rs + k*cs] (packed: rs 1, cs 6; in place: rs lda, cs 1). */
A2_INLINE void a2_tile(const int MRV, int nr, int64_t kc, const float *a, int64_t rs,
                       int64_t cs, const float *b, int64_t ldb, float *c, int64_t ldc,
                       float alpha, float beta)
{
    A2_ROWS(A2_DECL)
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        A2_ROWS(A2_STEP)
        a += cs;
        b += ldb;
    }
    A2_ROWS(A2_STORE)
}

/* The row count and A's layout become constants of each instantiated body. */
#define A2_CASES(RS, CS)                                                                 \
    switch (mr) {                                                                        \
    case 1: a2_tile(1, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;           \
    case 2: a2_tile(2, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;           \
    case 3: a2_tile(3, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;           \
    case 4: a2_tile(4, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;           \
    case 5: a2_tile(5, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;           \
    default: a2_tile(6, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;          \
    }

A2_TARGET static void ukr_avx2(int mr, int nr, int64_t kc, const float *a, int64_t lda,
                               const float *b, int64_t ldb, float *c, int64_t ldc, float alpha,
                               float beta)
{
    if (lda == 0) {
        A2_CASES(1, A2_MR)
    } else {
        A2_CASES(lda, 1)
    }
}

/* A micro-panel of 6 rows: 8 k at a time, the 6 x 8 block transposed in registers (rows 6
 * and 7 zero) and each column stored as 8 floats at dst + 6k, the next store overwriting the
 * two spare ones (the last writes two floats of slack). */
A2_TARGET static void pack_a_avx2(bool ta, const float *A, int64_t lda, int64_t i0, int mr,
                                  int64_t k0, int64_t kc, float *dst)
{
    int64_t k = 0;
    if (ta) { /* op(A)[i][k] = A[k][i]: each k is mr contiguous floats */
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(mr),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (; k < kc; k++)
            _mm256_storeu_ps(dst + k * A2_MR, _mm256_maskload_ps(A + (k0 + k) * lda + i0, m));
        return;
    }
    if (mr == A2_MR) {
        const float *s = A + i0 * lda + k0;
        const __m256 z = _mm256_setzero_ps();
        for (; k + 8 <= kc; k += 8) {
            __m256 r0 = _mm256_loadu_ps(s + k), r1 = _mm256_loadu_ps(s + lda + k);
            __m256 r2 = _mm256_loadu_ps(s + 2 * lda + k), r3 = _mm256_loadu_ps(s + 3 * lda + k);
            __m256 r4 = _mm256_loadu_ps(s + 4 * lda + k), r5 = _mm256_loadu_ps(s + 5 * lda + k);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 s4 = _mm256_shuffle_ps(t4, z, 0x44), s5 = _mm256_shuffle_ps(t4, z, 0xEE);
            __m256 s6 = _mm256_shuffle_ps(t5, z, 0x44), s7 = _mm256_shuffle_ps(t5, z, 0xEE);
            float *d = dst + k * A2_MR;
            _mm256_storeu_ps(d + 0 * A2_MR, _mm256_permute2f128_ps(s0, s4, 0x20));
            _mm256_storeu_ps(d + 1 * A2_MR, _mm256_permute2f128_ps(s1, s5, 0x20));
            _mm256_storeu_ps(d + 2 * A2_MR, _mm256_permute2f128_ps(s2, s6, 0x20));
            _mm256_storeu_ps(d + 3 * A2_MR, _mm256_permute2f128_ps(s3, s7, 0x20));
            _mm256_storeu_ps(d + 4 * A2_MR, _mm256_permute2f128_ps(s0, s4, 0x31));
            _mm256_storeu_ps(d + 5 * A2_MR, _mm256_permute2f128_ps(s1, s5, 0x31));
            _mm256_storeu_ps(d + 6 * A2_MR, _mm256_permute2f128_ps(s2, s6, 0x31));
            _mm256_storeu_ps(d + 7 * A2_MR, _mm256_permute2f128_ps(s3, s7, 0x31));
        }
    }
    for (int r = 0; r < mr; r++) {
        const float *src = A + (i0 + r) * lda + k0;
        for (int64_t kk = k; kk < kc; kk++) dst[kk * A2_MR + r] = src[kk];
    }
}

const ox_sgemm_kernel ox_sgemm_kernel_avx2 = {OX_SGEMM_AVX2, A2_MR, A2_NR, ukr_avx2,
                                              pack_a_avx2};

#else
typedef int ox_sgemm_avx2_unused; /* ISO C: a translation unit is not empty */
#endif
