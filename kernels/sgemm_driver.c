/* sgemm_driver.c — the own packed SGEMM (Goto/BLIS scheme) and its prepacked-B entry.
 *
 * Threads split C into a grid of regions (rows x columns, on micro-panel edges), each
 * computed start to end by one thread with no synchronisation (sgemm_blocked). In a region,
 * outermost first:
 *   jc: columns in blocks of nc (the B block, kc x nc floats, sized to stay in L2)
 *   pc: K in blocks of kc (balanced, <= OX_SGEMM_KC_MAX; depends on K only), in order.
 *       op(B)'s block is packed into NR-wide panels — unless B was prepacked (panels read in
 *       place) or can be read straight from B (not transposed and at most MR rows: each B
 *       element is then used once anyway).
 *   ic: rows; a row-major op(A) is read in place by the microkernel (no packing), A^T is
 *       packed in blocks of MR-row micro-panels.
 *   ir: one A micro-panel (MR x kc, stays in L1) against every B panel of the block (L2).
 *
 * Determinism: a C element gets, for each K block in order, its block's products summed in
 * order k = 0..kc-1 inside the microkernel, then C = alpha * sum + beta * C (beta for the first
 * block, 1 after). Threads and the M/N blocking only decide *who* computes a tile, never the
 * order of its sums, so results are identical for every thread count, and the prepacked and
 * unpacked paths give the same bits.
 *
 * Memory: no allocation. Each thread's buffers are on its own stack: at most SG_BUF_FLOATS
 * (224 KiB; 24 KiB in the core library) or a B edge panel (16 KiB); OpenMP's default thread
 * stacks are MiBs. */
#include <string.h>

#include "gemm.h"
#include "sgemm_kernels.h"


#ifdef ONYX_CORE
/* The core library (firmware, a few KiB to tens of KiB of stack): one A micro-panel and one
 * B panel of the widest kernel, 24 KiB. Only the M and N blocking change, so the results
 * are the same bits (see Determinism above). */
#define SG_A_FLOATS (OX_SGEMM_MR_MAX * OX_SGEMM_KC_MAX)
#define SG_BUF_FLOATS (SG_A_FLOATS + OX_SGEMM_PACK_SLACK + OX_SGEMM_KC_MAX * OX_SGEMM_NR_MAX)
#else
#define SG_BUF_FLOATS (56 * 1024)          /* per thread: B block (+ A block): 224 KiB */
#define SG_A_FLOATS (48 * OX_SGEMM_KC_MAX) /* the A block, when A^T is packed: 48 KiB */
#endif
#define SG_EDGE_FLOATS (OX_SGEMM_KC_MAX * OX_SGEMM_NR_MAX)
#define SG_PAR_WORK 262144.0 /* M*N*K below this runs on one thread */

/* ---- CPU dispatch ---------------------------------------------------------------------- */

bool ox_sgemm_isa_supported(ox_sgemm_isa isa)
{
    switch (isa) {
    case OX_SGEMM_GENERIC: return true;
#if defined(__x86_64__) || defined(__i386__)
    case OX_SGEMM_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
    case OX_SGEMM_NEON: return true; /* baseline of the build's target */
#endif
#if defined(__riscv_vector)
    case OX_SGEMM_RVV: return true; /* the build targets V (-march=rv64gcv) */
#endif
#if defined(__wasm_simd128__)
    case OX_SGEMM_WASM: return true; /* the build targets SIMD128 (-msimd128) */
#endif
    default: return false;
    }
}

ox_sgemm_isa ox_sgemm_isa_best(void)
{
#if defined(__aarch64__) && defined(__ARM_NEON)
    return OX_SGEMM_NEON;
#elif defined(__riscv_vector)
    return OX_SGEMM_RVV;
#elif defined(__wasm_simd128__)
    return OX_SGEMM_WASM;
#else
    return ox_sgemm_isa_supported(OX_SGEMM_AVX2) ? OX_SGEMM_AVX2 : OX_SGEMM_GENERIC;
#endif
}

static const ox_sgemm_kernel *kernel_for(ox_sgemm_isa isa)
{
#if defined(__x86_64__) || defined(__i386__)
    if (isa == OX_SGEMM_AVX2 && ox_sgemm_isa_supported(isa)) return &ox_sgemm_kernel_avx2;
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
    if (isa == OX_SGEMM_NEON) return &ox_sgemm_kernel_neon;
#endif
#if defined(__riscv_vector)
    if (isa == OX_SGEMM_RVV) return &ox_sgemm_kernel_rvv;
#endif
#if defined(__wasm_simd128__)
    if (isa == OX_SGEMM_WASM) return &ox_sgemm_kernel_wasm;
#endif
    (void)isa;
    return &ox_sgemm_kernel_generic;
}

/* ---- packing --------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The K block size: blocks as equal as possible, none over OX_SGEMM_KC_MAX. A function of K
 * alone, which the determinism guarantee rests on. */
static int64_t k_block(int64_t K)
{
    int64_t nk = ceil_div(K, OX_SGEMM_KC_MAX);
    return ceil_div(K, nk);
}

/* Rows i0..i0+mr of op(A), columns k0..k0+kc, as a micro-panel: dst[k*MR + r]. */
static void pack_a_panel(int MR, bool ta, const float *A, int64_t lda, int64_t i0, int mr,
                         int64_t k0, int64_t kc, float *dst)
{
    if (ta) { /* op(A)[i][k] = A[k][i]: each k gives mr contiguous floats */
        for (int64_t k = 0; k < kc; k++) {
            const float *src = A + (k0 + k) * lda + i0;
            float *d = dst + k * MR;
            for (int r = 0; r < mr; r++) d[r] = src[r];
        }
        return;
    }
    for (int r = 0; r < mr; r++) {
        const float *src = A + (i0 + r) * lda + k0;
        for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = src[k];
    }
}

/* Columns j0..j0+nr of op(B), rows k0..k0+kc, as a panel dst[k*NR + j], zero past nr. */
static void pack_b_panel(int NR, bool tb, const float *B, int64_t ldb, int64_t k0, int64_t kc,
                         int64_t j0, int nr, float *dst)
{
    if (!tb) {
        if (nr == OX_SGEMM_NR_MAX && NR == OX_SGEMM_NR_MAX) {
            /* full panels of the widest kernels: a copy of constant size, which compilers
             * inline (a library call per 64 bytes would cost as much as the copy) */
            for (int64_t k = 0; k < kc; k++)
                // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): B is NULL only with prepacked panels, never packed
                memcpy(dst + k * NR, B + (k0 + k) * ldb + j0, OX_SGEMM_NR_MAX * sizeof(float));
            return;
        }
        for (int64_t k = 0; k < kc; k++) {
            float *d = dst + k * NR;
            // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): as above
            memcpy(d, B + (k0 + k) * ldb + j0, (size_t)nr * sizeof(float));
            for (int j = nr; j < NR; j++) d[j] = 0;
        }
        return;
    }
    if (nr < NR)
        for (int64_t k = 0; k < kc; k++)
            for (int j = nr; j < NR; j++) dst[k * NR + j] = 0;
    for (int j = 0; j < nr; j++) { /* op(B)[k][j] = B[j][k]: read B's rows in order */
        const float *src = B + (j0 + j) * ldb + k0;
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = src[k];
    }
}

/* ---- the blocked product --------------------------------------------------------------- */

typedef struct sg_job {
    const ox_sgemm_kernel *kn;
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    int64_t lda, ldb;
    const float *packed; /* prepacked panels (K x NR each), or NULL */
    float *C;
    int64_t ldc;
} sg_job;

/* C = beta * C, for alpha == 0 or K == 0 (A and B are not read, as in BLAS). */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0)
            for (int64_t j = 0; j < N; j++) c[j] = 0;
        else if (beta != 1)
            for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
}

/* The product restricted to C rows [m0, m1) and columns [n0, n1) (n0 a multiple of NR), on
 * the calling thread, with buffers on its stack (at most SG_BUF_FLOATS + an edge panel). */
static void sgemm_region(const sg_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    const ox_sgemm_kernel *kn = j->kn;
    const int MR = kn->mr, NR = kn->nr;
    const int64_t K = j->K, kc_nom = k_block(K);
    /* A row-major op(A) is read in place by the microkernel; A^T is packed in blocks. */
    const bool pack_a = j->ta;
    /* B read in place when each of its elements is used once anyway (one row panel). */
    const bool direct = !j->packed && !j->tb && m1 - m0 <= MR;
    const bool pack_b = !j->packed && !direct;
    const int64_t a_floats = pack_a ? SG_A_FLOATS + OX_SGEMM_PACK_SLACK : 0;
    const int64_t mc_max = pack_a ? ((SG_A_FLOATS / kc_nom) / MR) * MR : m1 - m0;
    /* the B block (kc x nc) is sized to stay in L2 also when it is not packed here */
    const int64_t nc_max = (((SG_BUF_FLOATS - a_floats) / kc_nom) / NR) * NR;
    _Alignas(64) float buf[pack_b ? SG_BUF_FLOATS : a_floats + 1];
    _Alignas(64) float edge[direct ? SG_EDGE_FLOATS : 1];
    float *abuf = buf, *bbuf = buf + a_floats;

    for (int64_t jc = n0; jc < n1; jc += nc_max) {
        const int64_t nc = min64(nc_max, n1 - jc), np = ceil_div(nc, NR);
        for (int64_t pc = 0; pc < K; pc += kc_nom) {
            const int64_t kc = min64(kc_nom, K - pc);
            const float beta = pc == 0 ? j->beta : 1.0f;
            if (pack_b)
                for (int64_t p = 0; p < np; p++)
                    pack_b_panel(NR, j->tb, j->B, j->ldb, pc, kc, jc + p * NR,
                                 (int)min64(NR, nc - p * NR), bbuf + p * kc * NR);
            for (int64_t i0 = m0; i0 < m1; i0 += mc_max) {
                const int64_t mc = min64(mc_max, m1 - i0);
                if (pack_a)
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int mr = (int)min64(MR, mc - ir);
                        float *dst = abuf + (ir / MR) * kc * MR;
                        if (kn->pack_a) kn->pack_a(true, j->A, j->lda, i0 + ir, mr, pc, kc, dst);
                        else pack_a_panel(MR, true, j->A, j->lda, i0 + ir, mr, pc, kc, dst);
                    }
                /* A micro-panel outer: its MR x kc floats stay in L1 while the B panels
                 * stream from L2. */
                for (int64_t ir = 0; ir < mc; ir += MR) {
                    const int mr = (int)min64(MR, mc - ir);
                    const float *a = pack_a ? abuf + (ir / MR) * kc * MR
                                            : j->A + (i0 + ir) * j->lda + pc;
                    const int64_t lda = pack_a ? 0 : j->lda;
                    float *c = j->C + (i0 + ir) * j->ldc;
                    for (int64_t p = 0; p < np; p++) {
                        const int64_t col = jc + p * NR;
                        const int nr = (int)min64(NR, jc + nc - col);
                        const float *b = bbuf + p * kc * NR;
                        int64_t ldb = NR;
                        if (j->packed) {
                            b = j->packed + (col / NR) * K * NR + pc * NR;
                        } else if (direct && nr == NR) {
                            b = j->B + pc * j->ldb + col;
                            ldb = j->ldb;
                        } else if (direct) { /* the narrow last panel: a padded copy */
                            pack_b_panel(NR, false, j->B, j->ldb, pc, kc, col, nr, edge);
                            b = edge;
                        }
                        kn->ukr(mr, nr, kc, a, lda, b, ldb, c + col, j->ldc, j->alpha, beta);
                    }
                }
            }
        }
    }
}

/* Threads take a grid of tm x tn regions of C, each computed start to end by one thread
 * with no synchronisation. Each thread packs the A rows and B columns of its region, so the
 * split duplicates A's packing tn times and B's tm times: pick the grid that packs least. */
static void sgemm_blocked(const sg_job *j, int threads)
{
    const int64_t M = j->M, N = j->N, K = j->K;
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || j->alpha == 0) {
        scale_c(M, N, j->beta, j->C, j->ldc);
        return;
    }
    const int MR = j->kn->mr, NR = j->kn->nr;
    const int64_t pm = ceil_div(M, MR), pn = ceil_div(N, NR); /* micro-panels per dim */
    int nt = threads < 1 ? 1 : threads;
    if ((double)M * (double)N * (double)K < SG_PAR_WORK) nt = 1;
    int tm = 1, tn = 1;
    double best = -1;
    for (int a = 1; a <= nt; a++) {
        int b = nt / a;
        if (a * b != nt || a > pm || b > pn) continue;
        double cost = (double)M * (double)b + (double)N * (double)a; /* K factors out */
        if (best < 0 || cost < best) best = cost, tm = a, tn = b;
    }
    if (best < 0) { /* nt does not split the panels: use what fits */
        tm = (int)min64(nt, pm);
        tn = (int)min64(nt / tm, pn);
    }
    const int regions = tm * tn;
    (void)regions;
#pragma omp parallel for num_threads(regions) schedule(static) if (regions > 1)
    for (int r = 0; r < regions; r++) {
        const int rm = r / tn, rn = r % tn;
        /* boundaries on micro-panel edges, so regions tile C as the 1-thread run does */
        const int64_t m0 = min64(M, pm * rm / tm * MR), m1 = min64(M, pm * (rm + 1) / tm * MR);
        const int64_t n0 = min64(N, pn * rn / tn * NR), n1 = min64(N, pn * (rn + 1) / tn * NR);
        if (m0 < m1 && n0 < n1) sgemm_region(j, m0, m1, n0, n1);
    }
}

/* ---- entry points ---------------------------------------------------------------------- */

void ox_sgemm_with(ox_sgemm_isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc, int threads)
{
    sg_job j = {kernel_for(isa), trans_a, trans_b, M, N, K, alpha, beta, A, B, lda, ldb,
                NULL, C, ldc};
    sgemm_blocked(&j, threads);
}

void ox_sgemm_own(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc, int threads)
{
    ox_sgemm_with(ox_sgemm_isa_best(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta,
                  C, ldc, threads);
}

/* A prepacked B: this header, then ceil(N / NR) panels of K x NR floats. */
typedef struct packed_head {
    uint32_t magic;
    uint32_t isa;
    int64_t K, N;
} packed_head;
#define PACKED_MAGIC 0x4250584fu /* "OXPB" */
#define PACKED_DATA 64           /* header bytes: panels stay 64-byte aligned */

size_t ox_sgemm_packed_b_bytes_with(ox_sgemm_isa isa, int64_t K, int64_t N)
{
    const int64_t NR = kernel_for(isa)->nr;
    if (K < 0 || N < 0) return 0;
    const int64_t panels = ceil_div(N, NR);
    if (K > 0 && (uint64_t)panels > (SIZE_MAX - PACKED_DATA) / sizeof(float) / (uint64_t)NR / (uint64_t)K)
        return 0;
    return PACKED_DATA + (size_t)panels * (size_t)NR * (size_t)K * sizeof(float);
}

size_t ox_sgemm_packed_b_bytes(int64_t K, int64_t N)
{
    return ox_sgemm_packed_b_bytes_with(ox_sgemm_isa_best(), K, N);
}

void ox_sgemm_pack_b_with(ox_sgemm_isa isa, bool trans_b, int64_t K, int64_t N, const float *B,
                          int64_t ldb, void *packed)
{
    const ox_sgemm_kernel *kn = kernel_for(isa);
    packed_head h = {PACKED_MAGIC, (uint32_t)kn->isa, K, N};
    memset(packed, 0, PACKED_DATA); /* every byte written: callers need not zero the block */
    memcpy(packed, &h, sizeof h);
    float *dst = (float *)(void *)((char *)packed + PACKED_DATA); /* 64-byte aligned */
    for (int64_t j0 = 0; j0 < N; j0 += kn->nr)
        pack_b_panel(kn->nr, trans_b, B, ldb, 0, K, j0, (int)min64(kn->nr, N - j0),
                     dst + (j0 / kn->nr) * K * kn->nr);
}

void ox_sgemm_pack_b(bool trans_b, int64_t K, int64_t N, const float *B, int64_t ldb,
                     void *packed)
{
    ox_sgemm_pack_b_with(ox_sgemm_isa_best(), trans_b, K, N, B, ldb, packed);
}

void ox_sgemm_packed(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const void *packed_b, float beta, float *C, int64_t ldc,
                     int threads)
{
    packed_head h;
    memcpy(&h, packed_b, sizeof h);
    sg_job j = {kernel_for((ox_sgemm_isa)h.isa), trans_a, false, M, N, K, alpha, beta, A, NULL,
                lda, 0, (const float *)(const void *)((const char *)packed_b + PACKED_DATA), C, ldc};
    sgemm_blocked(&j, threads);
}

int ox_sgemm_panel_width(void) { return kernel_for(ox_sgemm_isa_best())->nr; }

void ox_sgemm_panels(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                     const float *panels, float beta, float *C, int64_t ldc, int threads)
{
    sg_job j = {kernel_for(ox_sgemm_isa_best()), false, false, M, N, K, alpha, beta, A, NULL,
                lda, 0, panels, C, ldc};
    sgemm_blocked(&j, threads);
}
