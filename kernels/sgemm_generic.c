/* sgemm_generic.c — the plain C microkernel (4 x 16), for CPUs without a tuned variant.
 *
 * Fixed-size accumulator arrays let the compiler keep them in vector registers. Products and
 * sums round separately (C11 with -std=c11 does not contract a*b+c into an FMA), so results
 * differ from the FMA variants in the last bits, but not between runs or thread counts. */
#include "sgemm_kernels.h"

#define G_MR 4
#define G_NR 16

static void ukr_generic(int mr, int nr, int64_t kc, const float *a, int64_t lda, const float *b,
                        int64_t ldb, float *c, int64_t ldc, float alpha, float beta)
{
    float acc[G_MR][G_NR] = {{0}};
    const int64_t rs = lda ? lda : 1, cs = lda ? 1 : G_MR; /* A(i, k) = a[i*rs + k*cs] */
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + k * ldb, *ak = a + k * cs;
        for (int i = 0; i < G_MR; i++) {
            float av = ak[(i < mr ? i : 0) * rs]; /* rows >= mr are not read */
            for (int j = 0; j < G_NR; j++) acc[i][j] += av * bk[j];
        }
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < nr; j++) {
            float v = alpha * acc[i][j];
            ci[j] = beta == 0 ? v : beta * ci[j] + v;
        }
    }
}

const ox_sgemm_kernel ox_sgemm_kernel_generic = {OX_SGEMM_GENERIC, G_MR, G_NR, ukr_generic, NULL};
