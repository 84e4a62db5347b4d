/* test_gemm.c — ox_sgemm (BLAS or portable), ox_sgemm_portable, ox_dgemm and the integer
 * GEMMs against a naive triple loop on odd shapes, every transpose, alpha/beta and padded
 * leading dimensions; and the portable kernel's independence from the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gemm.h"

typedef void (*sgemm_fn)(bool, bool, int64_t, int64_t, int64_t, float, const float *, int64_t,
                         const float *, int64_t, float, float *, int64_t, int);

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Uniform in [-1, 1). */
static double rng_unit(uint32_t *s) { return (double)rng_next(s) / (double)(1u << 23) - 1.0; }

/* Element (i, k) of op(X) where X is stored row-major with leading dimension ld. */
static int64_t at(bool trans, int64_t i, int64_t k, int64_t ld)
{
    return trans ? k * ld + i : i * ld + k;
}

typedef struct shape {
    int64_t M, N, K;
} shape;

static const shape shapes[] = {
    {1, 1, 1}, {7, 13, 5}, {64, 65, 33}, {1, 100, 70}, {70, 1, 9}, {3, 5, 0}, {130, 67, 129},
};

/* Runs one single-precision case through f and compares with a double-precision naive loop;
 * returns true if every element is within tolerance. */
static bool check_sgemm(sgemm_fn f, shape s, bool ta, bool tb, float alpha, float beta,
                        int pad, int threads, uint32_t seed)
{
    int64_t M = s.M, N = s.N, K = s.K;
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int64_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
    float *A = malloc(sizeof(float) * (size_t)(na + 1));
    float *B = malloc(sizeof(float) * (size_t)(nb + 1));
    float *C = malloc(sizeof(float) * (size_t)(nc + 1));
    float *C0 = malloc(sizeof(float) * (size_t)(nc + 1));
    bool ok = A && B && C && C0;
    if (!ok) goto done;
    for (int64_t i = 0; i < na; i++) A[i] = (float)rng_unit(&seed);
    for (int64_t i = 0; i < nb; i++) B[i] = (float)rng_unit(&seed);
    for (int64_t i = 0; i < nc; i++) C0[i] = C[i] = beta == 0 ? NAN : (float)rng_unit(&seed);
    f(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
    for (int64_t i = 0; i < M && ok; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double p = (double)A[at(ta, i, k, lda)] * B[at(tb, k, j, ldb)];
                acc += p;
                mag += fabs(p);
            }
            double ref = alpha * acc, c0 = C0[i * ldc + j];
            if (beta != 0) ref += beta * c0;
            double tol = 1e-5 * (fabs(alpha) * mag + (beta != 0 ? fabs(beta * c0) : 0)) + 1e-6;
            if (!(fabs(C[i * ldc + j] - ref) <= tol)) {
                fprintf(stderr, "  %lldx%lldx%lld ta=%d tb=%d C[%lld][%lld]=%g want %g\n",
                        (long long)M, (long long)N, (long long)K, ta, tb, (long long)i,
                        (long long)j, C[i * ldc + j], ref);
                ok = false;
                break;
            }
        }
    /* Padding between rows of C must be left alone. */
    for (int64_t i = 0; i < M && ok; i++)
        for (int64_t j = N; j < ldc; j++)
            if (memcmp(&C[i * ldc + j], &C0[i * ldc + j], sizeof(float))) ok = false;
done:
    free(A), free(B), free(C), free(C0);
    return ok;
}

static void test_sgemm_paths(void)
{
    static const float ab[][2] = {{1, 0}, {1, 1}, {0.5f, -2}, {-1.25f, 0.75f}, {0, 0.5f}};
    uint32_t seed = 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int t = 0; t < 4; t++)
            for (size_t p = 0; p < sizeof ab / sizeof ab[0]; p++) {
                bool ta = t & 1, tb = t & 2;
                int pad = (int)(p % 2) * 3;
                CHECK_MSG(check_sgemm(ox_sgemm, shapes[si], ta, tb, ab[p][0], ab[p][1], pad, 2,
                                      seed++),
                          "ox_sgemm shape %zu trans %d params %zu", si, t, p);
                CHECK_MSG(check_sgemm(ox_sgemm_portable, shapes[si], ta, tb, ab[p][0], ab[p][1],
                                      pad, 1, seed++),
                          "ox_sgemm_portable shape %zu trans %d params %zu", si, t, p);
                CHECK_MSG(check_sgemm(ox_sgemm_portable, shapes[si], ta, tb, ab[p][0], ab[p][1],
                                      pad, 3, seed++),
                          "ox_sgemm_portable (3 threads) shape %zu trans %d params %zu", si, t, p);
            }
}

/* The portable kernel gives bit-identical results for any thread count. */
static void test_portable_deterministic(void)
{
    const int64_t M = 150, N = 170, K = 300;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C4 = malloc(sizeof(float) * M * N);
    if (!A || !B || !C1 || !C4) {
        CHECK(!"out of memory");
    } else {
        uint32_t seed = 99;
        for (int64_t i = 0; i < M * K; i++) A[i] = (float)rng_unit(&seed);
        for (int64_t i = 0; i < K * N; i++) B[i] = (float)rng_unit(&seed);
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            ox_sgemm_portable(ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0, C1, N, 1);
            ox_sgemm_portable(ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0, C4, N, 4);
            CHECK(memcmp(C1, C4, sizeof(float) * M * N) == 0);
        }
    }
    free(A), free(B), free(C1), free(C4);
}

static void test_dgemm(void)
{
    uint32_t seed = 7;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            shape s = shapes[si];
            int64_t lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
            size_t na = (size_t)(s.M * s.K + 1), nb = (size_t)(s.K * s.N + 1),
                   nc = (size_t)(s.M * s.N + 1);
            double *A = malloc(sizeof(double) * na), *B = malloc(sizeof(double) * nb);
            double *C = malloc(sizeof(double) * nc), *P = malloc(sizeof(double) * nc);
            double *C0 = malloc(sizeof(double) * nc);
            bool ok = A && B && C && P && C0;
            if (ok) {
                for (size_t i = 0; i < na; i++) A[i] = rng_unit(&seed);
                for (size_t i = 0; i < nb; i++) B[i] = rng_unit(&seed);
                for (size_t i = 0; i < nc; i++) C0[i] = P[i] = C[i] = rng_unit(&seed);
                ox_dgemm(ta, tb, s.M, s.N, s.K, 1.5, A, lda, B, ldb, -0.5, C, s.N, 2);
                ox_dgemm_portable(ta, tb, s.M, s.N, s.K, 1.5, A, lda, B, ldb, -0.5, P, s.N, 2);
                for (int64_t i = 0; i < s.M; i++)
                    for (int64_t j = 0; j < s.N; j++) {
                        double acc = 0, mag = 0;
                        for (int64_t k = 0; k < s.K; k++) {
                            double p = A[at(ta, i, k, lda)] * B[at(tb, k, j, ldb)];
                            acc += p;
                            mag += fabs(p);
                        }
                        double c0 = C0[i * s.N + j], ref = 1.5 * acc - 0.5 * c0;
                        double tol = 1e-13 * (1.5 * mag + 0.5 * fabs(c0)) + 1e-15;
                        if (!(fabs(C[i * s.N + j] - ref) <= tol)) ok = false;
                        if (!(fabs(P[i * s.N + j] - ref) <= tol)) ok = false;
                    }
            }
            CHECK_MSG(ok, "dgemm shape %zu trans %d", si, t);
            free(A), free(B), free(C), free(P), free(C0);
        }
}

/* dgemm against the naive loop on one fixed case with known values. */
static void test_dgemm_values(void)
{
    const double A[2 * 3] = {1, 2, 3, 4, 5, 6};     /* 2x3 */
    const double B[3 * 2] = {7, 8, 9, 10, 11, 12};  /* 3x2 */
    double C[4] = {1, 1, 1, 1}, P[4] = {1, 1, 1, 1};
    const double want[4] = {58 * 2 + 3, 64 * 2 + 3, 139 * 2 + 3, 154 * 2 + 3};
    ox_dgemm(false, false, 2, 2, 3, 2, A, 3, B, 2, 3, C, 2, 1);
    ox_dgemm_portable(false, false, 2, 2, 3, 2, A, 3, B, 2, 3, P, 2, 1);
    for (int i = 0; i < 4; i++) {
        CHECK(C[i] == want[i]);
        CHECK(P[i] == want[i]);
    }
}

static void test_integer(void)
{
    /* Signed values through the unsigned kernels, with wrap-around in the products. */
    const int32_t A[2 * 2] = {-3, 2, INT32_MAX, 1};
    const int32_t B[2 * 3] = {4, -5, 6, 2, 0, -1};
    int32_t C[6];
    ox_gemm_u32(false, false, 2, 3, 2, (const uint32_t *)A, 2, (const uint32_t *)B, 3,
                (uint32_t *)C, 3, 1);
    CHECK(C[0] == -8 && C[1] == 15 && C[2] == -20);
    /* INT32_MAX * 4 + 2 wraps to -2. */
    CHECK(C[3] == -2);
    const int64_t A64[3] = {1, -2, 3}; /* op(A) = A^T: 1x3 stored as 3x1 */
    const int64_t B64[3] = {-4, 5, 6}; /* op(B) = B^T: 3x1 stored as 1x3 */
    int64_t C64[1];
    ox_gemm_u64(true, true, 1, 1, 3, (const uint64_t *)A64, 1, (const uint64_t *)B64, 3,
                (uint64_t *)C64, 1, 1);
    CHECK(C64[0] == -4 - 10 + 18);
}

int main(void)
{
    test_sgemm_paths();
    test_portable_deterministic();
    test_dgemm();
    test_dgemm_values();
    test_integer();
    return check_report("test_gemm");
}
