/* sgemm_rvv.c — the RISC-V Vector (RVV 1.0) microkernel: 7 x 16 tile of C, one vector
 * register group per row.
 *
 * Per k: one 16-float load of the B row and seven vfmacc.vf (a scalar of A times the B row,
 * fused). The vector length is the hardware's (VLEN bits, 128 or more): a row of 16 floats
 * takes LMUL = 512 / VLEN registers, so the body is instantiated for LMUL 4, 2 and 1 and
 * picked from VLEN at each call (7 accumulators + the B row = 8 register groups, at most all
 * 32 registers). Any LMUL computes the same element-wise operations in the same order, so the
 * results are bit-identical whatever the VLEN. Compiled only when the compiler targets the V
 * extension (__riscv_vector: -march=rv64gcv, make RVV=1), which then is the baseline of the
 * build: no run-time check. Columns past nr are neither loaded from C nor stored (vl = nr). */
#include "sgemm_kernels.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

/* The intrinsics are named __riscv_vle32_v_f32m4 ... since v0.11 of the intrinsics spec
 * (which defines __riscv_v_intrinsic); clang 14 has the earlier names without the prefix. */
#if defined(__riscv_v_intrinsic)
#define RV_(name) __riscv_##name
#else
#define RV_(name) name
#endif
#define RV_T(L) vfloat32##L##_t
#define RV_SETVL(L) RV_(vsetvl_e32##L)
#define RV_SPLAT(L) RV_(vfmv_v_f_f32##L)
#define RV_LOAD(L) RV_(vle32_v_f32##L)
#define RV_VSE(L) RV_(vse32_v_f32##L)
#define RV_FMACC(L) RV_(vfmacc_vf_f32##L)
#define RV_MULF(L) RV_(vfmul_vf_f32##L)
#define RV_INLINE static inline __attribute__((always_inline))

#define RV_MR 7
#define RV_NR 16

#define RV_ROWS(X, L) X(0, L) X(1, L) X(2, L) X(3, L) X(4, L) X(5, L) X(6, L)
#define RV_DECL(r, L) RV_T(L) c##r = RV_SPLAT(L)(0.0f, vl);
#define RV_STEP(r, L) \
    if (MRV > r) c##r = RV_FMACC(L)(c##r, a[r * rs], bk, vl);
/* C = alpha * acc + beta * C as the other FMA variants: (beta * C) + alpha * acc, fused */
#define RV_PUT(r, L)                                                        \
    if (MRV > r) {                                                          \
        float *cr = c + r * ldc;                                            \
        RV_T(L) o;                                                          \
        if (beta == 0) o = RV_MULF(L)(c##r, alpha, vn);                     \
        else {                                                              \
            o = RV_LOAD(L)(cr, vn);                                         \
            if (beta != 1) o = RV_MULF(L)(o, beta, vn);                     \
            o = RV_FMACC(L)(o, alpha, c##r, vn);                            \
        }                                                                   \
        RV_VSE(L)(cr, o, vn);                                               \
    }

/* MRV rows with register groups of LMUL L; A(i, k) = a[i*rs + k*cs]. */
#define RV_TILE(L)                                                                            \
    RV_INLINE void rv_tile_##L(const int MRV, int nr, int64_t kc, const float *a, int64_t rs, \
                               int64_t cs, const float *b, int64_t ldb, float *c, int64_t ldc, \
                               float alpha, float beta)                                      \
    {                                                                                         \
        const size_t vl = RV_SETVL(L)(RV_NR), vn = RV_SETVL(L)((size_t)nr);                   \
        RV_ROWS(RV_DECL, L)                                                                      \
        for (int64_t k = 0; k < kc; k++) {                                                    \
            const RV_T(L) bk = RV_LOAD(L)(b, vl);                                             \
            RV_ROWS(RV_STEP, L)                                                                  \
            a += cs;                                                                          \
            b += ldb;                                                                         \
        }                                                                                     \
        RV_ROWS(RV_PUT, L)                                                                     \
    }                                                                                         \
    /* the row count and A's layout become constants of each instantiated body */            \
    static void rv_ukr_##L(int mr, int nr, int64_t kc, const float *a, int64_t lda,          \
                           const float *b, int64_t ldb, float *c, int64_t ldc, float alpha,   \
                           float beta)                                                        \
    {                                                                                         \
        const int64_t rs = lda ? lda : 1, cs = lda ? 1 : RV_MR;                       \
        switch (mr) {                                                                         \
        case 1: rv_tile_##L(1, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;        \
        case 2: rv_tile_##L(2, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;        \
        case 3: rv_tile_##L(3, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;        \
        case 4: rv_tile_##L(4, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;        \
        case 5: rv_tile_##L(5, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;        \
        case 6: rv_tile_##L(6, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;        \
        default: rv_tile_##L(7, nr, kc, a, rs, cs, b, ldb, c, ldc, alpha, beta); break;       \
        }                                                                                     \
    }

RV_TILE(m4)
RV_TILE(m2)
RV_TILE(m1)

static void ukr_rvv(int mr, int nr, int64_t kc, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float *c, int64_t ldc, float alpha, float beta)
{
    /* VLEN / 8 bytes per register (VLMAX of e8, m1): 16 (VLEN 128) needs m4, 32 m2 */
    const size_t vlenb = RV_(vsetvlmax_e8m1)();
    if (vlenb >= 64) rv_ukr_m1(mr, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta);
    else if (vlenb >= 32) rv_ukr_m2(mr, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta);
    else rv_ukr_m4(mr, nr, kc, a, lda, b, ldb, c, ldc, alpha, beta);
}

const ox_sgemm_kernel ox_sgemm_kernel_rvv = {OX_SGEMM_RVV, RV_MR, RV_NR, ukr_rvv, NULL};

#else
typedef int ox_sgemm_rvv_unused; /* ISO C: a translation unit is not empty */
#endif
