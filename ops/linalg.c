/* linalg.c — Gemm, MatMul and Softmax.
 *
 * float and double go straight to the GEMM kernels; float16 and bfloat16 are widened to
 * float32 in scratch memory, multiplied there and rounded back; int32/int64/uint32/uint64
 * use the wrap-around integer GEMM. */
#include <math.h>

#include "activation.h"
#include "fused.h"
#include "gemm.h"
#include "op.h"

static const onyx_dtype matmul_types[] = {
    ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16,
    ONYX_DTYPE_INT32, ONYX_DTYPE_INT64,  ONYX_DTYPE_UINT32,  ONYX_DTYPE_UINT64, 0};

static bool is_half(onyx_dtype t) { return t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16; }

/* A float32 B known at plan time (weights) is packed once for the own SGEMM, into plan
 * memory kept with the node (ox_ctx.persist); runs then skip B's packing. Not done when A is
 * known too (the node is folded at plan time anyway), nor with weights_in_place (the core
 * library, and `onyx pack` measuring its arena: on a device the copy would move weights from
 * flash into the RAM arena). The packed product gives the same bits on every run and thread
 * count (see gemm.h). */
static onyx_status prepack_b(ox_ctx *c, bool tb, int64_t K, int64_t N, int64_t ldb)
{
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    c->persist = NULL;
    if (c->weights_in_place) return ONYX_OK;
    if (a->dtype != ONYX_DTYPE_FLOAT || !b->data || a->data || K <= 0 || N <= 0) return ONYX_OK;
    size_t bytes = ox_sgemm_packed_b_bytes(K, N);
    void *packed = bytes ? ox_pool_alloc_uninit(c->strings, bytes, OX_ALIGN) : NULL; /* packing writes all */
    if (!packed) return ox_fail(c, ONYX_E_NOMEM, "out of memory packing B (%zu bytes)", bytes);
    ox_sgemm_pack_b(tb, K, N, b->data, ldb, packed);
    c->persist = packed;
    return ONYX_OK;
}

/* Requests n float32 elements of scratch; fails if the byte count overflows. */
static onyx_status want_float_scratch(ox_ctx *c, int64_t n)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float))
        return ox_fail(c, ONYX_E_LIMIT, "scratch size overflows");
    c->scratch_bytes = (size_t)n * sizeof(float);
    return ONYX_OK;
}

/* C = op(A) * op(B) (overwriting C) on any non-half dtype. `portable` picks the portable
 * float kernels (used for batches of small products, which run in parallel). */
static void gemm_plain(onyx_dtype t, bool portable, bool ta, bool tb, int64_t M, int64_t N,
                       int64_t K, const void *A, int64_t lda, const void *B, int64_t ldb, void *C,
                       int64_t ldc, int threads)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT:
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: /* halves arrive here already widened */
        (portable ? ox_sgemm_portable : ox_sgemm)(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f,
                                                  C, ldc, threads);
        break;
    case ONYX_DTYPE_DOUBLE:
        (portable ? ox_dgemm_portable : ox_dgemm)(ta, tb, M, N, K, 1.0, A, lda, B, ldb, 0.0, C,
                                                  ldc, threads);
        break;
    case ONYX_DTYPE_INT32:
    case ONYX_DTYPE_UINT32:
        ox_gemm_u32(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, threads);
        break;
    default: /* INT64, UINT64 */
        ox_gemm_u64(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, threads);
        break;
    }
}

/* ---- Gemm ------------------------------------------------------------------------------ */

typedef struct gemm_dims {
    bool ta, tb;
    int64_t M, N, K;
} gemm_dims;

static onyx_status gemm_dims_of(ox_ctx *c, gemm_dims *g)
{
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    char sa[96], sb[96];
    if (a->rank != 2 || b->rank != 2)
        return ox_fail(c, ONYX_E_SHAPE, "A %s and B %s must be matrices",
                       ox_shape_str(sa, sizeof sa, a->rank, a->dims),
                       ox_shape_str(sb, sizeof sb, b->rank, b->dims));
    g->ta = ox_attr_int(c, "transA", 0) != 0;
    g->tb = ox_attr_int(c, "transB", 0) != 0;
    g->M = a->dims[g->ta ? 1 : 0];
    g->K = a->dims[g->ta ? 0 : 1];
    g->N = b->dims[g->tb ? 0 : 1];
    if (b->dims[g->tb ? 1 : 0] != g->K)
        return ox_fail(c, ONYX_E_SHAPE, "inner dimensions differ: A %s%s, B %s%s",
                       ox_shape_str(sa, sizeof sa, a->rank, a->dims), g->ta ? "^T" : "",
                       ox_shape_str(sb, sizeof sb, b->rank, b->dims), g->tb ? "^T" : "");
    return ONYX_OK;
}

/* Integer Gemm applies alpha and beta exactly in wrap-around arithmetic, so they must be
 * whole numbers. */
static bool whole(float v, int64_t *out)
{
    if (!(v >= -9.0e18f && v <= 9.0e18f) || v != (float)(int64_t)v) return false;
    *out = (int64_t)v;
    return true;
}

static onyx_status gemm_infer(ox_ctx *c)
{
    if (c->n_in < 2 || c->n_in > 3 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects 2 or 3 inputs and 1 output");
    onyx_status st = ox_expect_dtype(c, 0, matmul_types);
    if (st) return st;
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    const onyx_tensor *cc = c->n_in > 2 ? c->in[2] : NULL;
    if (b->dtype != a->dtype || (cc && cc->dtype != a->dtype))
        return ox_fail(c, ONYX_E_SHAPE, "inputs must share one dtype");
    static const char *const ints[] = {"transA", "transB", "broadcast"};
    static const char *const floats[] = {"alpha", "beta"};
    for (int i = 0; i < 3; i++)
        if ((st = ox_attr_expect(c, ints[i], OX_ATTR_INT))) return st;
    for (int i = 0; i < 2; i++)
        if ((st = ox_attr_expect(c, floats[i], OX_ATTR_FLOAT))) return st;
    gemm_dims g;
    if ((st = gemm_dims_of(c, &g))) return st;
    int64_t out_dims[2] = {g.M, g.N};

    if (cc) {
        /* C broadcasts one way to [M, N]; before opset 7 only with broadcast=1. */
        bool exact = c->opset < 7 && !ox_attr_int(c, "broadcast", 0);
        bool ok = cc->rank <= 2 && (!exact || cc->rank == 2);
        for (int i = 0; ok && i < cc->rank; i++) {
            int64_t d = cc->dims[i], want = out_dims[2 - cc->rank + i];
            ok = d == want || (d == 1 && !exact);
        }
        if (!ok) {
            char s1[96], s2[96];
            return ox_fail(c, ONYX_E_SHAPE, "C %s does not broadcast to %s",
                           ox_shape_str(s1, sizeof s1, cc->rank, cc->dims),
                           ox_shape_str(s2, sizeof s2, 2, out_dims));
        }
    }
    if (ox_dtype_is_int(a->dtype)) {
        int64_t alpha, beta;
        if (!whole(ox_attr_float(c, "alpha", 1.0f), &alpha) ||
            !whole(ox_attr_float(c, "beta", 1.0f), &beta))
            return ox_fail(c, ONYX_E_UNSUPPORTED,
                           "integer Gemm needs whole-number alpha and beta");
    }
    if (is_half(a->dtype)) {
        /* widened A, B and the float32 result */
        st = want_float_scratch(c, g.M * g.K + g.K * g.N + g.M * g.N);
        if (st) return st;
    }
    if (ox_attr_float(c, "alpha", 1.0f) != 0 && (st = prepack_b(c, g.tb, g.K, g.N, b->dims[1])))
        return st;
    ox_set_shape(c->out[0], a->dtype, 2, out_dims);
    return ONYX_OK;
}

/* Fills the M x N float/double matrix y with C broadcast (C of dtype t, y of dtype t or, for
 * halves, float32). */
static void fill_bias(const onyx_tensor *cc, int64_t M, int64_t N, void *y)
{
    const int64_t dims[2] = {M, N};
    int64_t s[2];
    ox_broadcast_strides(cc, 2, dims, s);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            int64_t src = i * s[0] + j * s[1], dst = i * N + j;
            switch (cc->dtype) {
            case ONYX_DTYPE_DOUBLE: ((double *)y)[dst] = ((const double *)cc->data)[src]; break;
            case ONYX_DTYPE_FLOAT: ((float *)y)[dst] = ((const float *)cc->data)[src]; break;
            default: ((float *)y)[dst] = (float)ox_read_f64(cc, src); break;
            }
        }
}

/* Integer epilogue: y = alpha * y + beta * C, wrapping. */
static void int_epilogue(onyx_dtype t, const onyx_tensor *cc, int64_t M, int64_t N,
                         int64_t alpha, int64_t beta, void *y)
{
    const int64_t dims[2] = {M, N};
    int64_t s[2] = {0, 0};
    if (cc) ox_broadcast_strides(cc, 2, dims, s);
    const bool wide = onyx_dtype_size(t) == 8;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            int64_t src = i * s[0] + j * s[1], dst = i * N + j;
            if (wide) {
                uint64_t *y64 = y;
                uint64_t v = (uint64_t)alpha * y64[dst];
                if (cc) v += (uint64_t)beta * ((const uint64_t *)cc->data)[src];
                y64[dst] = v;
            } else {
                uint32_t *y32 = y;
                uint32_t v = (uint32_t)alpha * y32[dst];
                if (cc) v += (uint32_t)beta * ((const uint32_t *)cc->data)[src];
                y32[dst] = v;
            }
        }
}

static onyx_status gemm_run(ox_ctx *c)
{
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    const onyx_tensor *cc = c->n_in > 2 ? c->in[2] : NULL;
    onyx_tensor *out = c->out[0];
    gemm_dims g;
    onyx_status st = gemm_dims_of(c, &g);
    if (st) return st;
    const float alpha = ox_attr_float(c, "alpha", 1.0f), beta = ox_attr_float(c, "beta", 1.0f);
    const int64_t lda = a->dims[1], ldb = b->dims[1];
    const onyx_dtype t = a->dtype;
    if (g.M == 0 || g.N == 0) return ONYX_OK;
    if (beta == 0) cc = NULL; /* as in BLAS: C is not read, so NaN in C does not leak */

    if (ox_dtype_is_int(t)) {
        int64_t ia = 1, ib = 1;
        whole(alpha, &ia);
        whole(beta, &ib);
        gemm_plain(t, false, g.ta, g.tb, g.M, g.N, g.K, a->data, lda, b->data, ldb, out->data,
                   g.N, c->threads);
        if (ia != 1 || cc) int_epilogue(t, cc, g.M, g.N, ia, ib, out->data);
        return ONYX_OK;
    }
    if (t == ONYX_DTYPE_DOUBLE) {
        if (cc) fill_bias(cc, g.M, g.N, out->data);
        ox_dgemm(g.ta, g.tb, g.M, g.N, g.K, alpha, a->data, lda, b->data, ldb, cc ? beta : 0.0,
                 out->data, g.N, c->threads);
        return ONYX_OK;
    }
    const float *A = a->data, *B = b->data;
    float *Y = out->data;
    if (is_half(t)) {
        float *As = c->scratch, *Bs = As + g.M * g.K;
        Y = Bs + g.K * g.N;
        ox_half_to_f32(t, a->data, g.M * g.K, As);
        ox_half_to_f32(t, b->data, g.K * g.N, Bs);
        A = As;
        B = Bs;
    }
    if (cc) fill_bias(cc, g.M, g.N, Y);
    if (c->persist)
        ox_sgemm_packed(g.ta, g.M, g.N, g.K, alpha, A, lda, c->persist, cc ? beta : 0.0f, Y, g.N,
                        c->threads);
    else
        ox_sgemm(g.ta, g.tb, g.M, g.N, g.K, alpha, A, lda, B, ldb, cc ? beta : 0.0f, Y, g.N,
                 c->threads);
    if (is_half(t)) ox_f32_to_half(t, Y, g.M * g.N, out->data);
    return ONYX_OK;
}

/* ---- MatMul ---------------------------------------------------------------------------- */

/* MatMul's shape inference; a fused MatMul (fused.h) may have a bias as input 2. */
static onyx_status matmul_infer_with(ox_ctx *c, bool fused)
{
    if ((c->n_in != 2 && !(fused && c->n_in == 3)) || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects 2 inputs and 1 output");
    onyx_status st = ox_expect_dtype(c, 0, matmul_types);
    if (st) return st;
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    if (b->dtype != a->dtype)
        return ox_fail(c, ONYX_E_SHAPE, "input dtypes differ: %s and %s",
                       onyx_dtype_name(a->dtype), onyx_dtype_name(b->dtype));
    ox_matmul_shape m;
    if ((st = ox_matmul_shape_of(c, a, b, &m))) return st;
    ox_set_shape(c->out[0], a->dtype, m.rank, m.dims);
    if (is_half(a->dtype)) {
        int64_t out_n = ox_tensor_numel(c->out[0]);
        st = want_float_scratch(c, ox_tensor_numel(a) + ox_tensor_numel(b) + out_n);
        if (st) return st;
    }
    if (m.bbatch.rank == 0 && (st = prepack_b(c, false, m.K, m.N, m.N))) return st; /* one B */
    return ONYX_OK;
}

static onyx_status matmul_infer(ox_ctx *c) { return matmul_infer_with(c, false); }

/* Products at most this big (M*N*K) count as small: a batch of them runs one product per
 * thread on the portable kernel instead of threading inside each product. The choice
 * depends on shapes only, so results do not depend on the thread count. */
#define MM_SMALL (64 * 64 * 64)

static void matmul_batched(onyx_dtype t, const ox_matmul_shape *m, const void *A, const void *B,
                           void *Y, int threads)
{
    const size_t es = onyx_dtype_size(t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16
                                          ? ONYX_DTYPE_FLOAT : t);
    const int64_t M = m->M, N = m->N, K = m->K;
    int64_t count = 1;
    for (int i = 0; i < m->nb; i++) count *= m->batch[i];
    if (count == 0 || M == 0 || N == 0) return;
    if (m->bbatch.rank == 0) {
        /* B is one matrix: the stacked rows of A form a single (count*M) x K product. */
        gemm_plain(t, false, false, false, count * M, N, K, A, K, B, N, Y, N, threads);
        return;
    }
    int64_t sa[ONYX_MAX_RANK], sb[ONYX_MAX_RANK];
    ox_broadcast_strides(&m->abatch, m->nb, m->batch, sa);
    ox_broadcast_strides(&m->bbatch, m->nb, m->batch, sb);
    const bool small = (double)M * (double)N * (double)K <= MM_SMALL;
    const bool par = small && threads > 1 && count > 1;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t t_ = 0; t_ < count; t_++) {
        int64_t rem = t_, oa = 0, ob = 0;
        for (int i = m->nb - 1; i >= 0; i--) {
            int64_t idx = rem % m->batch[i];
            rem /= m->batch[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        gemm_plain(t, small, false, false, M, N, K, (const char *)A + (size_t)(oa * M * K) * es,
                   K, (const char *)B + (size_t)(ob * K * N) * es, N,
                   (char *)Y + (size_t)(t_ * M * N) * es, N, small ? 1 : threads);
    }
}

static onyx_status matmul_run(ox_ctx *c)
{
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    onyx_tensor *out = c->out[0];
    ox_matmul_shape m;
    onyx_status st = ox_matmul_shape_of(c, c->in[0], c->in[1], &m);
    if (st) return st;
    const onyx_dtype t = a->dtype;
    if (c->persist) { /* float32, one prepacked B: the stacked rows of A in one product */
        int64_t rows = m.M;
        for (int i = 0; i < m.nb; i++) rows *= m.batch[i];
        if (rows > 0)
            ox_sgemm_packed(false, rows, m.N, m.K, 1.0f, a->data, m.K, c->persist, 0.0f,
                            out->data, m.N, c->threads);
        return ONYX_OK;
    }
    if (!is_half(t)) {
        matmul_batched(t, &m, a->data, b->data, out->data, c->threads);
        return ONYX_OK;
    }
    const int64_t na = ox_tensor_numel(a), nb = ox_tensor_numel(b), ny = ox_tensor_numel(out);
    if (ny == 0) return ONYX_OK; /* (and scratch may be empty) */
    float *As = c->scratch, *Bs = As + na, *Ys = Bs + nb;
    ox_half_to_f32(t, a->data, na, As);
    ox_half_to_f32(t, b->data, nb, Bs);
    matmul_batched(t, &m, As, Bs, Ys, c->threads);
    ox_f32_to_half(t, Ys, ny, out->data);
    return ONYX_OK;
}

/* ---- Gemm and MatMul with an epilogue (fused.h) ----------------------------------------- */

/* y (rows x n, float) = act(y + bias): bias NULL, one value (len 1) or one per column. Rows
 * are independent, so the split over threads does not change any result. */
static void linear_epilogue(const ox_act *act, const float *bias, int64_t len, float *y, int64_t rows, int64_t n,
                            int threads)
{
    const bool par = threads > 1 && rows > 1 && rows * n >= 16384;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t r = 0; r < rows; r++) {
        if (bias && len > 1) ox_act_bias_res_f32(act, 0.0f, bias, y + r * n, n);
        else ox_act_bias_f32(act, bias ? bias[0] : 0.0f, y + r * n, n);
    }
}

/* The fusion passes only fuse float nodes; checked again, as the epilogue reads floats. */
static onyx_status fused_float(ox_ctx *c)
{
    for (int k = 0; k < c->n_in; k++)
        if (c->in[k] && c->in[k]->dtype != ONYX_DTYPE_FLOAT)
            return ox_fail(c, ONYX_E_INTERNAL, "fused epilogue on a non-float input %d", k);
    return ONYX_OK;
}

static onyx_status gemm_fused_infer(ox_ctx *c)
{
    onyx_status st = gemm_infer(c);
    return st ? st : fused_float(c);
}

static onyx_status gemm_fused_run(ox_ctx *c)
{
    ox_act act;
    onyx_status st = ox_fused_act(c, &act);
    if (st || (st = gemm_run(c))) return st;
    const onyx_tensor *y = c->out[0];
    linear_epilogue(&act, NULL, 0, y->data, y->dims[0], y->dims[1], c->threads);
    return ONYX_OK;
}

static onyx_status matmul_fused_infer(ox_ctx *c)
{
    onyx_status st = matmul_infer_with(c, true);
    if (st || (st = fused_float(c))) return st;
    const onyx_tensor *y = c->out[0], *b = c->n_in > OX_MATMUL_BIAS_INPUT ? c->in[OX_MATMUL_BIAS_INPUT] : NULL;
    int64_t len = b ? ox_tensor_numel(b) : 1, n = y->rank ? y->dims[y->rank - 1] : 1;
    if (y->rank < 1 || (len != 1 && len != n))
        return ox_fail(c, ONYX_E_INTERNAL, "fused bias of %lld values for %lld columns", (long long)len, (long long)n);
    return ONYX_OK;
}

static onyx_status matmul_fused_run(ox_ctx *c)
{
    ox_act act;
    onyx_status st = ox_fused_act(c, &act);
    if (st || (st = matmul_run(c))) return st;
    const onyx_tensor *y = c->out[0], *b = c->n_in > OX_MATMUL_BIAS_INPUT ? c->in[OX_MATMUL_BIAS_INPUT] : NULL;
    int64_t n = y->dims[y->rank - 1], rows = n ? ox_tensor_numel(y) / n : 0;
    linear_epilogue(&act, b ? b->data : NULL, b ? ox_tensor_numel(b) : 0, y->data, rows, n, c->threads);
    return ONYX_OK;
}

/* Not in the registry table: only the fusion passes put them on a node. */
const ox_op ox_op_gemm_fused = {"Gemm", "", 1, 28, gemm_fused_infer, gemm_fused_run, 0};
const ox_op ox_op_matmul_fused = {"MatMul", "", 1, 28, matmul_fused_infer, matmul_fused_run, 0};

/* ---- Softmax --------------------------------------------------------------------------- */

/* Columns processed together when inner > 1: their running max and sum live on the stack. */
#define SM_COLS 256

/* One block: rows 0..n-1 (stride `inner`) by w <= SM_COLS columns, from x to y. Max and sum
 * are taken per column; exp(x - max) is stored in y and then scaled by 1 / sum. */
#define SOFTMAX_BLOCK(name, T, EXP)                                                      \
    static void name(const void *px, void *py, int64_t n, int64_t inner, int64_t w)    \
    {                                                                                  \
        const T *x = px;                                                               \
        T *y = py;                                                                     \
        T mx[SM_COLS], sum[SM_COLS];                                                   \
        for (int64_t j = 0; j < w; j++) {                                              \
            mx[j] = x[j];                                                              \
            sum[j] = 0;                                                                \
        }                                                                              \
        for (int64_t k = 1; k < n; k++)                                                \
            for (int64_t j = 0; j < w; j++)                                            \
                if (x[k * inner + j] > mx[j]) mx[j] = x[k * inner + j];                \
        for (int64_t k = 0; k < n; k++)                                                \
            for (int64_t j = 0; j < w; j++) {                                          \
                T e = EXP(x[k * inner + j] - mx[j]);                                   \
                sum[j] += e;                                                           \
                y[k * inner + j] = e;                                                  \
            }                                                                          \
        for (int64_t j = 0; j < w; j++) sum[j] = 1 / sum[j];                           \
        for (int64_t k = 0; k < n; k++)                                                \
            for (int64_t j = 0; j < w; j++) y[k * inner + j] *= sum[j];                \
    }

SOFTMAX_BLOCK(softmax_f32, float, expf)
SOFTMAX_BLOCK(softmax_f64, double, exp)

/* Half types follow Softmax's defining function body, where every step is an op whose result
 * has the input's type: x - max, exp and the division each round to it, and so does the
 * sum — once at the end for float16, after every addition for bfloat16 (the reference's
 * accumulation). Rounding only at the end would differ by an ulp from what the spec defines. */
static void softmax_half(const uint16_t *x, uint16_t *y, int64_t n, int64_t inner, int64_t w, bool bf16)
{
    float (*load)(uint16_t) = bf16 ? ox_bf16_to_f32 : ox_f16_to_f32;
    uint16_t (*store)(float) = bf16 ? ox_f32_to_bf16 : ox_f32_to_f16;
    float mx[SM_COLS], sum[SM_COLS];
    for (int64_t j = 0; j < w; j++) {
        mx[j] = load(x[j]);
        sum[j] = 0;
    }
    for (int64_t k = 1; k < n; k++)
        for (int64_t j = 0; j < w; j++)
            if (load(x[k * inner + j]) > mx[j]) mx[j] = load(x[k * inner + j]);
    for (int64_t k = 0; k < n; k++)
        for (int64_t j = 0; j < w; j++) {
            int64_t i = k * inner + j;
            y[i] = store(expf(load(store(load(x[i]) - mx[j]))));
            sum[j] += load(y[i]);
            if (bf16) sum[j] = load(store(sum[j]));
        }
    for (int64_t j = 0; j < w; j++) sum[j] = load(store(sum[j]));
    for (int64_t k = 0; k < n; k++)
        for (int64_t j = 0; j < w; j++) y[k * inner + j] = store(load(y[k * inner + j]) / sum[j]);
}

static void softmax_f16(const void *x, void *y, int64_t n, int64_t inner, int64_t w) { softmax_half(x, y, n, inner, w, false); }
static void softmax_bf16(const void *x, void *y, int64_t n, int64_t inner, int64_t w) { softmax_half(x, y, n, inner, w, true); }

typedef void (*softmax_fn)(const void *x, void *y, int64_t n, int64_t inner, int64_t w);

static softmax_fn softmax_kernel(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: return softmax_f32;
    case ONYX_DTYPE_DOUBLE: return softmax_f64;
    case ONYX_DTYPE_FLOAT16: return softmax_f16;
    case ONYX_DTYPE_BFLOAT16: return softmax_bf16;
    default: return NULL;
    }
}

static onyx_status softmax_infer(ox_ctx *c)
{
    if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects 1 input and 1 output");
    const onyx_tensor *x = c->in[0];
    if (!softmax_kernel(x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported",
                       onyx_dtype_name(x->dtype));
    int64_t outer, n, inner; /* the input as [outer, n, inner], softmax along n */
    onyx_status st = ox_softmax_view(c, &outer, &n, &inner);
    if (st) return st;
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status softmax_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    int64_t outer, n, inner;
    onyx_status st = ox_softmax_view(c, &outer, &n, &inner);
    if (st) return st;
    if (outer == 0 || n == 0 || inner == 0) return ONYX_OK;
    softmax_fn fn = softmax_kernel(x->dtype);
    const size_t es = onyx_dtype_size(x->dtype);
    /* Tasks: every (outer slab, column block) pair; a block of one column is one row. */
    const int64_t cols = inner == 1 ? 1 : SM_COLS;
    const int64_t blocks = (inner + cols - 1) / cols, tasks = outer * blocks;
    const bool par = c->threads > 1 && tasks > 1 && outer * n * inner >= 16384;
    (void)par;
    const char *xd = x->data;
    char *yd = c->out[0]->data;
#ifdef _OPENMP
#pragma omp parallel for num_threads(c->threads) schedule(static) if (par)
#endif
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / blocks, j0 = (t % blocks) * cols;
        int64_t w = inner - j0 < cols ? inner - j0 : cols;
        size_t off = (size_t)(o * n * inner + j0) * es;
        fn(xd + off, yd + off, n, inner, w);
    }
    return ONYX_OK;
}

const ox_op ox_ops_linalg[] = {
    {"Gemm", "", 1, 28, gemm_infer, gemm_run, 0},
    {"MatMul", "", 1, 28, matmul_infer, matmul_run, 0},
    {"Softmax", "", 1, 28, softmax_infer, softmax_run, 0},
};
const size_t ox_ops_linalg_count = sizeof ox_ops_linalg / sizeof ox_ops_linalg[0];
