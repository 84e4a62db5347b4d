/* sgemm_wasm.c — the WebAssembly SIMD128 microkernel: 6 x 8 tile of C in 12 v128 accumulators.
 *
 * Per k: two 4-float loads of the B row, six splat loads of A and twelve multiplies and adds;
 * 12 + 2 + 1 vectors, which fit the 16 registers of SSE, the smallest a wasm engine maps v128
 * onto, so nothing spills. SIMD128 has no fused multiply-add (only the relaxed-SIMD proposal
 * does): each product is rounded and then added to its running sum, in order k = 0, 1, ...,
 * and the tile is stored as alpha * acc + beta * C, exactly as the generic C kernel computes,
 * so the two give the same bits (tests/unit/test_sgemm.c checks it); only the speed differs.
 * Compiled only when the target has SIMD128 (-msimd128, __wasm_simd128__: make
 * CROSS=wasm32-wasi-), which then is the baseline of the build: no run-time check. A kernel
 * body is instantiated for each row count 1..6 (rows past mr are never read); columns past nr
 * are computed on B's padding and not stored. */
#include "sgemm_kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#define W_MR 6
#define W_NR 8
#define W_INLINE static inline __attribute__((always_inline))

/* alpha * acc + beta * old, rounded as the generic kernel rounds (beta == 0: old not read). */
W_INLINE v128_t w_update(v128_t acc, const float *old, float alpha, float beta)
{
    v128_t v = wasm_f32x4_mul(acc, wasm_f32x4_splat(alpha));
    if (beta == 0) return v;
    return wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(old), wasm_f32x4_splat(beta)), v);
}

/* One row of the tile into C: straight for full rows, through a small buffer for nr < 8 so
 * the arithmetic is the same. */
W_INLINE void w_store_row(float *c, int nr, v128_t x0, v128_t x1, float alpha, float beta)
{
    if (nr == W_NR) {
        wasm_v128_store(c, w_update(x0, c, alpha, beta));
        wasm_v128_store(c + 4, w_update(x1, c + 4, alpha, beta));
        return;
    }
    float t[W_NR] = {0};
    if (beta != 0)
        for (int j = 0; j < nr; j++) t[j] = c[j];
    wasm_v128_store(t, w_update(x0, t, alpha, beta));
    wasm_v128_store(t + 4, w_update(x1, t + 4, alpha, beta));
    for (int j = 0; j < nr; j++) c[j] = t[j];
}

#define W_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define W_DECL(r) v128_t c##r##0 = wasm_f32x4_splat(0.0f), c##r##1 = wasm_f32x4_splat(0.0f);
#define W_STEP(r)                                                                        \
    if (MRV > r) {                                                                       \
        v128_t av = wasm_v128_load32_splat(a + r * rs);                                  \
        c##r##0 = wasm_f32x4_add(c##r##0, wasm_f32x4_mul(av, b0));                       \
        c##r##1 = wasm_f32x4_add(c##r##1, wasm_f32x4_mul(av, b1));                       \
    }
#define W_STORE(r) \
    if (MRV > r) w_store_row(c + r * ldc, nr, c##r##0, c##r##1, alpha, beta);

/* MRV rows; A(i, k) at a[i*rs + k*cs] (packed: rs 1, cs 6; in place: rs lda, cs 1). */
W_INLINE void w_tile(const int MRV, int nr, int64_t kc, const float *a, int64_t rs, int64_t cs,
                     const float *b, int64_t ldb, float *c, int64_t ldc, float alpha, float beta)
{
    W_ROWS(W_DECL)
    for (int64_t k = 0; k < kc; k++) {
        v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        W_ROWS(W_STEP)
        a += cs;
        b += ldb;
    }
    W_ROWS(W_STORE)
}

/* The row count and A's layout become constants of each instantiated body. */
#define W_CASES(RS, CS)                                                                  \
    switch (mr) {                                                                        \
    case 1: w_tile(1, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;            \
    case 2: w_tile(2, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;            \
    case 3: w_tile(3, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;            \
    case 4: w_tile(4, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;            \
    case 5: w_tile(5, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;            \
    default: w_tile(6, nr, kc, a, RS, CS, b, ldb, c, ldc, alpha, beta); break;           \
    }

static void ukr_wasm(int mr, int nr, int64_t kc, const float *a, int64_t lda, const float *b,
                     int64_t ldb, float *c, int64_t ldc, float alpha, float beta)
{
    if (lda == 0) {
        W_CASES(1, W_MR)
    } else {
        W_CASES(lda, 1)
    }
}

const ox_sgemm_kernel ox_sgemm_kernel_wasm = {OX_SGEMM_WASM, W_MR, W_NR, ukr_wasm, NULL};

#else
typedef int ox_sgemm_wasm_unused; /* ISO C: a translation unit is not empty */
#endif
