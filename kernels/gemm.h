/* gemm.h — general matrix multiply, row-major.
 *
 * ox_sgemm / ox_dgemm compute C = alpha * op(A) * op(B) + beta * C where op(X) is X or X^T,
 * op(A) is M x K, op(B) is K x N and C is M x N; lda/ldb/ldc are row strides in elements of
 * the matrices as stored (A is K x M when trans_a). As in BLAS, beta == 0 means C is not read
 * (NaN/Inf in C do not propagate).
 *
 * ox_sgemm runs the own packed SGEMM (below) within the caller's thread budget; OpenBLAS's
 * separate thread pool would compete with the session's OpenMP team (see gemm.c). ox_dgemm
 * uses OpenBLAS when built with it, else ox_dgemm_portable. Both are deterministic across
 * thread counts. The portable kernels are deterministic too: every C element accumulates its K products in order 0..K-1 whatever the blocking or the thread
 * count, and threads only split C into disjoint tiles. They use 16 KiB of stack per thread
 * and allocate nothing. */
#ifndef ONYX_KERNELS_GEMM_H
#define ONYX_KERNELS_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void ox_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc, int threads);
void ox_dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
              const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
              int64_t ldc, int threads);

/* ---- the own packed SGEMM (kernels/sgemm_driver.c) ------------------------------------
 *
 * Goto/BLIS scheme: op(A) packed into MR-row micro-panels, op(B) into NR-column panels, a
 * register-blocked MR x NR microkernel (AVX2+FMA 6 x 16 when the CPU has them, NEON 8 x 12 on
 * AArch64, RVV 7 x 16 in builds for RISC-V V, SIMD128 6 x 8 in builds for WebAssembly (no
 * FMA there: the same bits as plain C), else plain C 4 x 16; chosen at each call from
 * the CPU's features), K blocks of at most 256, threads
 * (OpenMP, `threads` honoured, small products on one) over disjoint tiles of C. No
 * allocation: packing buffers live on the stack (<= ~230 KiB on the calling thread, ~80 KiB on
 * the others). trans_a / trans_b are handled while packing.
 *
 * Determinism: every C element sums its K products in order — K blocks in order 0..K-1,
 * inside a block one running FMA sum from the block's first k — then C = alpha * sum + beta *
 * C for the first block and C += alpha * sum for the next ones. Block sizes depend on K only;
 * threads and the M/N blocking never change the order. So results are bit-identical for any
 * `threads`, and ox_sgemm_packed gives the same bits as ox_sgemm_own on the same operands.
 * (Different CPUs may take different microkernels, whose roundings differ.) */
void ox_sgemm_own(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc, int threads);

/* Prepacked B, for constant weights: pack once, multiply many times.
 *   size_t n = ox_sgemm_packed_b_bytes(K, N);    // 0 if the size overflows
 *   void *pb = <n bytes, 64-byte aligned>;        // the caller owns it
 *   ox_sgemm_pack_b(trans_b, K, N, B, ldb, pb);   // op(B) is K x N; B may be freed after
 *   ox_sgemm_packed(trans_a, M, N, K, alpha, A, lda, pb, beta, C, ldc, threads);  // any M
 * The packed block records the microkernel it was packed for (so a packed block made on one
 * CPU is meant for that CPU); ox_sgemm_packed must get the same K and N. The result equals
 * ox_sgemm_own(trans_a, trans_b, M, N, K, ...) on the unpacked B bit for bit. Conv can pack
 * its weights as B = W^T (trans_b with W [Cout x Cin*kh*kw]) and run im2col columns as A. */
size_t ox_sgemm_packed_b_bytes(int64_t K, int64_t N);
void ox_sgemm_pack_b(bool trans_b, int64_t K, int64_t N, const float *B, int64_t ldb,
                     void *packed);
void ox_sgemm_packed(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const void *packed_b, float beta, float *C, int64_t ldc,
                     int threads);

/* B written straight in ox_sgemm_pack_b's panel layout by its producer (the convolution's
 * im2col), without the header: ceil(N / nr) panels of K x nr floats, panel p holding columns
 * p*nr .. p*nr + nr - 1 as panel[k*nr + j], columns past N zero; nr is
 * ox_sgemm_panel_width() (the kernel this CPU runs, which ox_sgemm_panels then uses).
 * op(A) = A. Same bits as ox_sgemm_own on the unpacked B. */
int ox_sgemm_panel_width(void);
void ox_sgemm_panels(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                     const float *panels, float beta, float *C, int64_t ldc, int threads);

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
