/* gemm.c — row-major GEMM: ox_sgemm picks, by shape, the own packed SGEMM
 * (sgemm_driver.c) or OpenBLAS; the portable blocked C kernels serve the other types. */
#include <limits.h>

#include "gemm.h"

#ifdef ONYX_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* Blocking of the portable kernels: C tiles of GEMM_MC rows; a transposed B is packed in
 * blocks of GEMM_KC rows x as many columns as fit GEMM_PACK_BYTES of stack. */
#define GEMM_MC 64
#define GEMM_KC 64
#define GEMM_PACK_BYTES 16384

#define GEMM_T float
#define GEMM_NAME gemm_f32
#include "gemm_portable.h"
#undef GEMM_T
#undef GEMM_NAME

#define GEMM_T double
#define GEMM_NAME gemm_f64
#include "gemm_portable.h"
#undef GEMM_T
#undef GEMM_NAME

#define GEMM_T uint32_t
#define GEMM_NAME gemm_u32
#include "gemm_portable.h"
#undef GEMM_T
#undef GEMM_NAME

#define GEMM_T uint64_t
#define GEMM_NAME gemm_u64
#include "gemm_portable.h"
#undef GEMM_T
#undef GEMM_NAME

void ox_sgemm_portable(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc, int threads)
{
    gemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

void ox_dgemm_portable(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                       double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                       double beta, double *C, int64_t ldc, int threads)
{
    gemm_f64(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

void ox_gemm_u32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint32_t *A,
                 int64_t lda, const uint32_t *B, int64_t ldb, uint32_t *C, int64_t ldc,
                 int threads)
{
    gemm_u32(trans_a, trans_b, M, N, K, 1, A, lda, B, ldb, 0, C, ldc, threads);
}

void ox_gemm_u64(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint64_t *A,
                 int64_t lda, const uint64_t *B, int64_t ldb, uint64_t *C, int64_t ldc,
                 int threads)
{
    gemm_u64(trans_a, trans_b, M, N, K, 1, A, lda, B, ldb, 0, C, ldc, threads);
}

#ifdef ONYX_HAVE_OPENBLAS
/* True if the call can go to CBLAS as is: sizes fit its int, and the leading dimensions are
 * ones BLAS accepts (it reports bad ones by printing, which the library must never do).
 * K == 0 is left to the portable code, which then only scales C by beta. */
static bool blas_ok(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                    int64_t ldb, int64_t ldc)
{
    if (M <= 0 || N <= 0 || K <= 0) return false;
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
        ldc > INT_MAX)
        return false;
    return lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N;
}
#endif


/* Float GEMM always runs the own kernel. On one thread it is within a few percent of
 * OpenBLAS (0.3.21) on every shape measured, and ahead with prepacked B; with more threads
 * OpenBLAS's own pthread pool (sized by OPENBLAS_NUM_THREADS, not by the session) competes
 * with the session's OpenMP team for the same cores: ResNet-50 on 2 threads ran 1.3-2.5x
 * slower with it (bench/RESULTS.md). `make bench-gemm` still compares the two. */
void ox_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc, int threads)
{
    ox_sgemm_own(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

void ox_dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
              const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
              int64_t ldc, int threads)
{
#ifdef ONYX_HAVE_OPENBLAS
    if (blas_ok(trans_a, trans_b, M, N, K, lda, ldb, ldc)) {
        cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
                    (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
    gemm_f64(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}
