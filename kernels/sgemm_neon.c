/* sgemm_neon.c — the AArch64 NEON microkernel: 8 x 12 tile of C in 24 q-register accumulators.
 *
 * Per k of a packed A panel: two 4-float loads of A (the 8 rows), three of the B row, and 24
 * fused multiply-adds by lane (fmla v.4s, v.4s, v.s[i]); 24 + 2 + 3 of the 32 registers. With
 * A read in place (rows of a row-major A, lda != 0) each row's element is loaded broadcast
 * instead (ld1r), which keeps the products and their order the same. NEON is part of the
 * AArch64 base architecture, so the file is compiled with the project's baseline flags and
 * needs no run-time check. A kernel body is instantiated for each row count 1..8 (edge tiles
 * in M then cost no wasted FMAs); columns past nr are computed on B's padding and not stored. */
#include "sgemm_kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

#define N_MR 8
#define N_NR 12
#define N_INLINE static inline __attribute__((always_inline))

/* alpha * acc + beta * old, the formula of the other FMA variants (beta == 0: old not read). */
N_INLINE float32x4_t n_update(float32x4_t acc, const float *old, float alpha, float beta)
{
    if (beta == 0) return vmulq_n_f32(acc, alpha);
    float32x4_t o = vld1q_f32(old);
    if (beta != 1) o = vmulq_n_f32(o, beta);
    return vfmaq_n_f32(o, acc, alpha);
}

/* One row of the tile into C: straight for full rows, through a small buffer for nr < 12 so
 * the arithmetic is the same. */
N_INLINE void n_store_row(float *c, int nr, float32x4_t x0, float32x4_t x1, float32x4_t x2,
                          float alpha, float beta)
{
    if (nr == N_NR) {
        vst1q_f32(c, n_update(x0, c, alpha, beta));
        vst1q_f32(c + 4, n_update(x1, c + 4, alpha, beta));
        vst1q_f32(c + 8, n_update(x2, c + 8, alpha, beta));
        return;
    }
    float t[N_NR] = {0};
    if (beta != 0)
        for (int j = 0; j < nr; j++) t[j] = c[j];
    vst1q_f32(t, n_update(x0, t, alpha, beta));
    vst1q_f32(t + 4, n_update(x1, t + 4, alpha, beta));
    vst1q_f32(t + 8, n_update(x2, t + 8, alpha, beta));
    for (int j = 0; j < nr; j++) c[j] = t[j];
}

#define N_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define N_DECL(r) float32x4_t c##r##0 = vdupq_n_f32(0), c##r##1 = c##r##0, c##r##2 = c##r##0;
/* packed A: row r is lane r % 4 of the k's first (a0) or second (a1) 4 floats */
#define N_STEP_LANE(r)                                                     \
    if (MRV > r) {                                                         \
        c##r##0 = vfmaq_laneq_f32(c##r##0, b0, r < 4 ? a0 : a1, r % 4);    \
        c##r##1 = vfmaq_laneq_f32(c##r##1, b1, r < 4 ? a0 : a1, r % 4);    \
        c##r##2 = vfmaq_laneq_f32(c##r##2, b2, r < 4 ? a0 : a1, r % 4);    \
    }
/* A in place: row r's element broadcast from memory */
#define N_STEP_DUP(r)                                                      \
    if (MRV > r) {                                                         \
        const float32x4_t av = vld1q_dup_f32(a + r * lda);                \
        c##r##0 = vfmaq_f32(c##r##0, b0, av);                              \
        c##r##1 = vfmaq_f32(c##r##1, b1, av);                              \
        c##r##2 = vfmaq_f32(c##r##2, b2, av);                              \
    }
#define N_STORE(r) \
    if (MRV > r) n_store_row(c + r * ldc, nr, c##r##0, c##r##1, c##r##2, alpha, beta);

/* MRV rows; lda == 0: A(i, k) = a[k*8 + i] (a panel of pack_a_neon, rows past mr zero),
 * else a[i*lda + k]. */
N_INLINE void n_tile(const int MRV, int nr, int64_t kc, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float *c, int64_t ldc, float alpha, float beta)
{
    N_ROWS(N_DECL)
    if (lda == 0) {
        for (int64_t k = 0; k < kc; k++) {
            const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
            const float32x4_t a0 = vld1q_f32(a), a1 = MRV > 4 ? vld1q_f32(a + 4) : a0;
            N_ROWS(N_STEP_LANE)
            a += N_MR;
            b += ldb;
        }
    } else {
        for (int64_t k = 0; k < kc; k++) {
            const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
            N_ROWS(N_STEP_DUP)
            a++;
            b += ldb;
        }
    }
    N_ROWS(N_STORE)
}

static void ukr_neon(int mr, int nr, int64_t kc, const float *a, int64_t lda, const float *b,
                     int64_t ldb, float *c, int64_t ldc, float alpha, float beta)
{
    /* the row count becomes a constant of each instantiated body */
    switch (mr) {
    case 1: n_tile(1, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    case 2: n_tile(2, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    case 3: n_tile(3, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    case 4: n_tile(4, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    case 5: n_tile(5, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    case 6: n_tile(6, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    case 7: n_tile(7, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    default: n_tile(8, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta); break;
    }
}

/* A micro-panel dst[k*8 + r] with rows mr..7 zero: the microkernel loads all 8 rows of a k
 * at once, so they must hold numbers (their products are never stored). */
static void pack_a_neon(bool ta, const float *A, int64_t lda, int64_t i0, int mr, int64_t k0,
                        int64_t kc, float *dst)
{
    if (ta && mr == N_MR) { /* op(A)[i][k] = A[k][i]: each k is 8 contiguous floats */
        for (int64_t k = 0; k < kc; k++) {
            const float *src = A + (k0 + k) * lda + i0;
            vst1q_f32(dst + k * N_MR, vld1q_f32(src));
            vst1q_f32(dst + k * N_MR + 4, vld1q_f32(src + 4));
        }
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        float *d = dst + k * N_MR;
        for (int r = 0; r < N_MR; r++)
            d[r] = r >= mr ? 0.0f : ta ? A[(k0 + k) * lda + i0 + r] : A[(i0 + r) * lda + k0 + k];
    }
}

const ox_sgemm_kernel ox_sgemm_kernel_neon = {OX_SGEMM_NEON, N_MR, N_NR, ukr_neon, pack_a_neon};

#else
typedef int ox_sgemm_neon_unused; /* ISO C: a translation unit is not empty */
#endif
