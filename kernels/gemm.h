/* gemm.h — general matrix multiply, row-major.
 *
 * ox_sgemm / ox_dgemm compute C = alpha * op(A) * op(B) + beta * C where op(X) is X or X^T,
 * op(A) is M x K, op(B) is K x N and C is M x N; lda/ldb/ldc are row strides in elements of
 * the matrices as stored (A is K x M when trans_a). As in BLAS, beta == 0 means C is not read
 * (NaN/Inf in C do not propagate).
 *
 * ox_sgemm uses OpenBLAS when built with -DONYX_HAVE_OPENBLAS (OpenBLAS then picks its own
 * thread count), else ox_sgemm_portable. The portable kernels are deterministic: every C
 * element accumulates its K products in order 0..K-1 whatever the blocking or the thread
 * count, and threads only split C into disjoint tiles. They use 16 KiB of stack per thread
 * and allocate nothing. */
#ifndef ONYX_KERNELS_GEMM_H
#define ONYX_KERNELS_GEMM_H

#include <stdbool.h>
#include <stdint.h>

void ox_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc, int threads);
void ox_dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
              const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
              int64_t ldc, int threads);

/* The portable C implementations, always available (ox_sgemm falls back to them). */
void ox_sgemm_portable(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc, int threads);
void ox_dgemm_portable(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                       double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                       double beta, double *C, int64_t ldc, int threads);

/* Integer C = op(A) * op(B) (C overwritten) with wrap-around arithmetic modulo 2^32 / 2^64.
 * Two's complement makes the bits identical for signed and unsigned operands, so these serve
 * int32/uint32 and int64/uint64 alike (pass signed data through the unsigned pointer type). */
void ox_gemm_u32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint32_t *A,
                 int64_t lda, const uint32_t *B, int64_t ldb, uint32_t *C, int64_t ldc,
                 int threads);
void ox_gemm_u64(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint64_t *A,
                 int64_t lda, const uint64_t *B, int64_t ldb, uint64_t *C, int64_t ldc,
                 int threads);

#endif
