/* sgemm_kernels.h — internals of the packed SGEMM (kernels/sgemm_driver.c): the
 * instruction-set variants, their register-blocked microkernels, and entry points that take
 * the variant explicitly (used by the tests to exercise every path the CPU supports).
 *
 * A microkernel computes one MR x NR tile of C from a packed A micro-panel and a B
 * micro-panel (see ox_sgemm_ukr). Every variant accumulates in the same order (k = 0, 1, ...
 * within the K block, one running sum per C element), but variants differ in rounding (FMA
 * or not), so results are bit-identical only within one variant. */
#ifndef ONYX_KERNELS_SGEMM_KERNELS_H
#define ONYX_KERNELS_SGEMM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ox_sgemm_isa {
    OX_SGEMM_GENERIC = 0, /* plain C: any CPU */
    OX_SGEMM_AVX2 = 1,    /* x86-64 with AVX2 and FMA */
    OX_SGEMM_NEON = 2,    /* AArch64 (NEON is in its base architecture) */
    OX_SGEMM_RVV = 3,     /* RISC-V with the V extension, builds targeting it (make RVV=1) */
    OX_SGEMM_WASM = 4,    /* WebAssembly SIMD128, builds targeting it (make CROSS=wasm32-wasi-) */
    OX_SGEMM_ISA_COUNT
} ox_sgemm_isa;

/* Largest MR / NR / K block over all variants (sizes of the drivers' stack buffers). */
#define OX_SGEMM_MR_MAX 8
#define OX_SGEMM_NR_MAX 16
#define OX_SGEMM_KC_MAX 256

/* C[i][j] (i < mr <= MR, j < nr <= NR) = alpha * acc[i][j] + beta * C[i][j], where
 * acc[i][j] = sum over k < kc, in order, of A(i, k) * b[k*ldb + j]. beta == 0: C is not read.
 * A(i, k) is a[k*MR + i] when lda == 0 (a packed micro-panel), else a[i*lda + k] (rows of a
 * row-major A read in place); rows >= mr are not read. b holds NR readable floats per k
 * (columns >= nr are read but do not reach C). */
typedef void (*ox_sgemm_ukr)(int mr, int nr, int64_t kc, const float *a, int64_t lda,
                             const float *b, int64_t ldb, float *c, int64_t ldc, float alpha,
                             float beta);

/* Packs rows i0..i0+mr (mr <= MR) of op(A), columns k0..k0+kc, as a micro-panel
 * dst[k*MR + r] (op(A) = A, or A^T when ta). May write up to OX_SGEMM_PACK_SLACK floats past
 * the panel's end (the driver's buffers have room; later panels overwrite them). */
typedef void (*ox_sgemm_pack_a)(bool ta, const float *A, int64_t lda, int64_t i0, int mr,
                                int64_t k0, int64_t kc, float *dst);
#define OX_SGEMM_PACK_SLACK 16 /* keeps what follows 64-byte aligned */

typedef struct ox_sgemm_kernel {
    ox_sgemm_isa isa;
    int mr, nr;
    ox_sgemm_ukr ukr;
    ox_sgemm_pack_a pack_a; /* NULL: the driver's plain C packing */
} ox_sgemm_kernel;

extern const ox_sgemm_kernel ox_sgemm_kernel_generic;
#if defined(__x86_64__) || defined(__i386__)
extern const ox_sgemm_kernel ox_sgemm_kernel_avx2;
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
extern const ox_sgemm_kernel ox_sgemm_kernel_neon;
#endif
#if defined(__riscv_vector)
extern const ox_sgemm_kernel ox_sgemm_kernel_rvv;
#endif
#if defined(__wasm_simd128__)
extern const ox_sgemm_kernel ox_sgemm_kernel_wasm;
#endif

/* True if this CPU (and OS) can run variant isa. Asked of the CPU at each call: a few loads
 * of the data the compiler's runtime filled at start-up, no state of ours. */
bool ox_sgemm_isa_supported(ox_sgemm_isa isa);
/* The fastest variant this CPU runs. */
ox_sgemm_isa ox_sgemm_isa_best(void);

/* The own kernel forced to variant isa (which must be supported): same contract as ox_sgemm. */
void ox_sgemm_with(ox_sgemm_isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc, int threads);
/* ox_sgemm_packed_b_bytes / ox_sgemm_pack_b for variant isa; ox_sgemm_packed then runs that
 * variant (the packed block records it). */
size_t ox_sgemm_packed_b_bytes_with(ox_sgemm_isa isa, int64_t K, int64_t N);
void ox_sgemm_pack_b_with(ox_sgemm_isa isa, bool trans_b, int64_t K, int64_t N, const float *B,
                          int64_t ldb, void *packed);

#endif
