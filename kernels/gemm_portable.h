/* gemm_portable.h — the portable GEMM, written once for every element type.
 *
 * Included by gemm.c with GEMM_T (element type) and GEMM_NAME (function name) defined; it
 * defines `static void GEMM_NAME(...)` with ox_sgemm's contract (see gemm.h).
 *
 * C is cut into tiles of GEMM_MC rows x GEMM_NC(T) columns; threads take whole tiles, so
 * each C element is written by one thread, and every element adds its K products in order
 * 0..K-1: the result does not depend on the thread count. op(B) is copied block by block
 * (GEMM_KC x NC) into a contiguous stack buffer, transposing it if needed: the inner loop
 * then runs along contiguous memory, and B's rows, often a multiple of 4 KiB apart, do not
 * fight over the same cache sets. The inner loop updates four rows of C at once so each
 * loaded element of B is used four times. */

#define GEMM_JOIN2(a, b) a##b
#define GEMM_JOIN(a, b) GEMM_JOIN2(a, b)
#define GEMM_TILE GEMM_JOIN(GEMM_NAME, _tile)
#define GEMM_ROWS GEMM_JOIN(GEMM_NAME, _rows)
#define GEMM_NC ((int64_t)(GEMM_PACK_BYTES / (GEMM_KC * sizeof(GEMM_T))))

/* C[r][0..nc) += sum over k < kc of alpha * op(A)[row r][k0 + k] * b[k][0..nc), for mr
 * (1..4) consecutive rows starting at i. b has row stride ldbp. */
static void GEMM_ROWS(int mr, bool trans_a, int64_t i, int64_t k0, int64_t kc, int64_t nc,
                      GEMM_T alpha, const GEMM_T *A, int64_t lda, const GEMM_T *b, int64_t ldbp,
                      GEMM_T *c, int64_t ldc)
{
    /* astep: distance between op(A)[i][k] and op(A)[i][k+1]; rstep: between rows. */
    const int64_t astep = trans_a ? lda : 1, rstep = trans_a ? 1 : lda;
    const GEMM_T *a = A + (trans_a ? k0 * lda + i : i * lda + k0);
    if (mr == 4) {
        GEMM_T *restrict c0 = c, *restrict c1 = c + ldc, *restrict c2 = c + 2 * ldc,
                         *restrict c3 = c + 3 * ldc;
        for (int64_t k = 0; k < kc; k++) {
            const GEMM_T *restrict bk = b + k * ldbp;
            const GEMM_T *ak = a + k * astep;
            GEMM_T a0 = alpha * ak[0], a1 = alpha * ak[rstep], a2 = alpha * ak[2 * rstep],
                   a3 = alpha * ak[3 * rstep];
            for (int64_t j = 0; j < nc; j++) {
                GEMM_T bv = bk[j];
                c0[j] += a0 * bv;
                c1[j] += a1 * bv;
                c2[j] += a2 * bv;
                c3[j] += a3 * bv;
            }
        }
        return;
    }
    for (int r = 0; r < mr; r++) {
        GEMM_T *restrict cr = c + r * ldc;
        for (int64_t k = 0; k < kc; k++) {
            const GEMM_T *restrict bk = b + k * ldbp;
            GEMM_T av = alpha * a[k * astep + r * rstep];
            for (int64_t j = 0; j < nc; j++) cr[j] += av * bk[j];
        }
    }
}

/* One tile of C: rows [i0, i1), columns [j0, j1). */
static void GEMM_TILE(bool trans_a, bool trans_b, int64_t i0, int64_t i1, int64_t j0,
                      int64_t j1, int64_t K, GEMM_T alpha, const GEMM_T *A, int64_t lda,
                      const GEMM_T *B, int64_t ldb, GEMM_T beta, GEMM_T *C, int64_t ldc)
{
    const int64_t nc = j1 - j0;
    for (int64_t i = i0; i < i1; i++) {
        GEMM_T *c = C + i * ldc + j0;
        if (beta == 0)
            for (int64_t j = 0; j < nc; j++) c[j] = 0;
        else if (beta != 1)
            for (int64_t j = 0; j < nc; j++) c[j] *= beta;
    }
    if (alpha == 0) return;

    GEMM_T bpack[GEMM_KC * GEMM_NC];
    for (int64_t k0 = 0; k0 < K; k0 += GEMM_KC) {
        const int64_t kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
        if (trans_b) {
            /* op(B)[k][j] = B[j][k]: copy the block transposed, reading B's rows in order. */
            for (int64_t j = 0; j < nc; j++) {
                const GEMM_T *src = B + (j0 + j) * ldb + k0;
                for (int64_t k = 0; k < kc; k++) bpack[k * nc + j] = src[k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                const GEMM_T *src = B + (k0 + k) * ldb + j0;
                for (int64_t j = 0; j < nc; j++) bpack[k * nc + j] = src[j];
            }
        }
        for (int64_t i = i0; i < i1; i += 4) {
            int mr = i1 - i < 4 ? (int)(i1 - i) : 4;
            GEMM_ROWS(mr, trans_a, i, k0, kc, nc, alpha, A, lda, bpack, nc, C + i * ldc + j0, ldc);
        }
    }
}

static void GEMM_NAME(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, GEMM_T alpha,
                      const GEMM_T *A, int64_t lda, const GEMM_T *B, int64_t ldb, GEMM_T beta,
                      GEMM_T *C, int64_t ldc, int threads)
{
    if (M <= 0 || N <= 0) return;
    if (threads < 1) threads = 1;
    const int64_t nc = GEMM_NC;
    const int64_t tiles_m = (M + GEMM_MC - 1) / GEMM_MC, tiles_n = (N + nc - 1) / nc;
    const int64_t tiles = tiles_m * tiles_n;
    /* Threads only pay off with enough work per tile. */
    const bool par = threads > 1 && tiles > 1 && (double)M * (double)N * (double)K >= 65536.0;
    (void)par;
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t i0 = (t / tiles_n) * GEMM_MC, j0 = (t % tiles_n) * nc;
        int64_t i1 = i0 + GEMM_MC < M ? i0 + GEMM_MC : M;
        int64_t j1 = j0 + nc < N ? j0 + nc : N;
        GEMM_TILE(trans_a, trans_b, i0, i1, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}

#undef GEMM_TILE
#undef GEMM_ROWS
#undef GEMM_NC
#undef GEMM_JOIN
#undef GEMM_JOIN2
