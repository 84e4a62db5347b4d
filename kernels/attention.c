/* attention.c — scaled dot-product attention, rotary embedding and SwiGLU loops.
 *
 * Attention works head by head: the keys and values of one (batch, query head) pair are
 * gathered into float32 rows once, then blocks of query rows go through
 *   scores = (Q * s) (K * s)^T -> softcap -> + bias -> softmax -> probabilities V
 * with both products on ox_sgemm. Following the ONNX reference (and the function body the
 * spec gives), each step's result is rounded to T1, and the softmax runs in softmax_type, so
 * float16 and bfloat16 results track the reference bit for bit in nearly every case. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "gemm.h"
#include "internal.h"

/* ---- dtype helpers -------------------------------------------------------------------------- */

/* v rounded to dtype t (identity for float and double: float math already rounds to float). */
static inline float round_to(onyx_dtype t, float v)
{
    if (t == ONYX_DTYPE_FLOAT16) return ox_f16_to_f32(ox_f32_to_f16(v));
    if (t == ONYX_DTYPE_BFLOAT16) return ox_bf16_to_f32(ox_f32_to_bf16(v));
    return v;
}

/* dst[0..n) = elements [off, off + n) of data (dtype t, any real or bool type) as float. */
static void load_f32(onyx_dtype t, const void *data, int64_t off, int64_t n, float *dst)
{
    if (n <= 0) return; /* data may be NULL then */
#define LOAD_AS(T, EXPR)                                    \
    do {                                                    \
        const T *s_ = (const T *)data + off;                \
        for (int64_t i_ = 0; i_ < n; i_++) dst[i_] = EXPR; \
    } while (0)
    switch (t) {
    case ONYX_DTYPE_FLOAT: LOAD_AS(float, s_[i_]); break;
    case ONYX_DTYPE_FLOAT16: LOAD_AS(uint16_t, ox_f16_to_f32(s_[i_])); break;
    case ONYX_DTYPE_BFLOAT16: LOAD_AS(uint16_t, ox_bf16_to_f32(s_[i_])); break;
    case ONYX_DTYPE_DOUBLE: LOAD_AS(double, (float)s_[i_]); break;
    case ONYX_DTYPE_INT8: LOAD_AS(int8_t, (float)s_[i_]); break;
    case ONYX_DTYPE_INT16: LOAD_AS(int16_t, (float)s_[i_]); break;
    case ONYX_DTYPE_INT32: LOAD_AS(int32_t, (float)s_[i_]); break;
    case ONYX_DTYPE_INT64: LOAD_AS(int64_t, (float)s_[i_]); break;
    case ONYX_DTYPE_UINT16: LOAD_AS(uint16_t, (float)s_[i_]); break;
    case ONYX_DTYPE_UINT32: LOAD_AS(uint32_t, (float)s_[i_]); break;
    case ONYX_DTYPE_UINT64: LOAD_AS(uint64_t, (float)s_[i_]); break;
    default: LOAD_AS(uint8_t, (float)s_[i_]); break; /* uint8, bool */
    }
#undef LOAD_AS
}

/* Elements [off, off + n) of data (float, float16 or bfloat16) = src, rounded to nearest even. */
static void store_f32(onyx_dtype t, void *data, int64_t off, int64_t n, const float *src)
{
    if (n <= 0) return; /* data may be NULL then */
    if (t == ONYX_DTYPE_FLOAT) {
        memcpy((float *)data + off, src, (size_t)n * sizeof *src);
        return;
    }
    uint16_t *d = (uint16_t *)data + off;
    for (int64_t i = 0; i < n; i++)
        d[i] = t == ONYX_DTYPE_FLOAT16 ? ox_f32_to_f16(src[i]) : ox_f32_to_bf16(src[i]);
}

static int64_t view_offset(const ox_attn_view *v, int64_t b, int64_t h, int64_t r)
{
    return b * v->sb + h * v->sh + r * v->sr;
}

/* ---- Attention ------------------------------------------------------------------------------ */

/* Query rows per block: bounds the score block to QUERY_BLOCK rows of keys. */
#define QUERY_BLOCK 64

static int64_t keys_of(const ox_attention *a) { return a->past_len + a->new_len; }

static int64_t block_rows(const ox_attention *a)
{
    return a->q_len < QUERY_BLOCK ? (a->q_len > 0 ? a->q_len : 1) : QUERY_BLOCK;
}

/* One worker's buffers: the softmax row in double, then in float the scaled keys, the
 * values, a block of scaled queries, its scores and its outputs, and one bias row. */
typedef struct attn_mem {
    double *tmp;
    float *k, *v, *q, *s, *o, *bias;
} attn_mem;

static size_t worker_floats(const ox_attention *a)
{
    const int64_t n = keys_of(a), qb = block_rows(a);
    return (size_t)(n * a->head_size + n * a->v_head_size + qb * a->head_size + qb * n +
                    qb * a->v_head_size + n);
}

size_t ox_attention_worker_bytes(const ox_attention *a)
{
    const size_t bytes = (size_t)keys_of(a) * sizeof(double) + worker_floats(a) * sizeof(float);
    return (bytes / 64 + 1) * 64; /* never 0: a worker's buffers are never NULL */
}

static attn_mem carve(const ox_attention *a, void *base)
{
    const int64_t n = keys_of(a), qb = block_rows(a);
    attn_mem m;
    m.tmp = base;
    m.k = (float *)(void *)((char *)base + (size_t)n * sizeof(double));
    m.v = m.k + n * a->head_size;
    m.q = m.v + n * a->v_head_size;
    m.s = m.q + qb * a->head_size;
    m.o = m.s + qb * n;
    m.bias = m.o + qb * a->v_head_size;
    return m;
}

/* rows x cols of view v at (b, h, from row r0) into dst as float; with scale, each value is
 * multiplied by it and rounded to the view's dtype, as the reference scales Q and K in T1. */
static void gather(const ox_attn_view *v, int64_t b, int64_t h, int64_t r0, int64_t rows,
                   int64_t cols, const float *scale, float *dst)
{
    for (int64_t r = 0; r < rows; r++) {
        float *d = dst + r * cols;
        load_f32(v->dtype, v->data, view_offset(v, b, h, r0 + r), cols, d);
        if (scale)
            for (int64_t c = 0; c < cols; c++) d[c] = round_to(v->dtype, d[c] * *scale);
    }
}

/* The keys (scaled) and values of key/value head kh: past rows, then the new ones. */
static void gather_kv(const ox_attention *a, int64_t b, int64_t kh, const attn_mem *m)
{
    const int64_t p = a->past_len, d = a->head_size, dv = a->v_head_size;
    gather(&a->past_k, b, kh, 0, p, d, &a->qk_scale, m->k);
    gather(&a->k, b, kh, 0, a->new_len, d, &a->qk_scale, m->k + p * d);
    gather(&a->past_v, b, kh, 0, p, dv, NULL, m->v);
    gather(&a->v, b, kh, 0, a->new_len, dv, NULL, m->v + p * dv);
}

/* Where the causal rule and the window are anchored: the number of valid keys before the
 * query block (the past length with an internal cache; nonpad - q_len with an external one,
 * which may be negative: the leading queries then see no key at all). */
static int64_t key_offset(const ox_attention *a, int64_t b)
{
    return a->nonpad ? a->nonpad[b] - a->q_len : a->past_len;
}

/* The bias of query i against every key: the mask value (or 0), plus -inf wherever the mask
 * length, the causal rule, the window or the padding excludes the key. -inf is added rather
 * than stored, as the reference sums its biases: a +inf mask value meeting an exclusion gives
 * NaN there too. Returns true if every key is excluded outright (all -inf): the row then
 * attends nothing and its probabilities are zero, whatever its scores are. */
static bool bias_row(const ox_attention *a, int64_t b, int64_t h, int64_t i, float *bias)
{
    const int64_t n = keys_of(a), off = key_offset(a, b);
    const ox_attn_view *mk = &a->mask;
    int64_t len = n;
    if (a->has_mask) {
        len = a->mask_len;
        const int64_t base = view_offset(mk, b, h, i);
        if (mk->dtype == ONYX_DTYPE_BOOL && len > 0) {
            const uint8_t *m = (const uint8_t *)mk->data + base;
            for (int64_t j = 0; j < len; j++) bias[j] = m[j] ? 0.0f : -INFINITY;
        } else if (mk->dtype != ONYX_DTYPE_BOOL) {
            load_f32(mk->dtype, mk->data, base, len, bias);
        }
    } else {
        for (int64_t j = 0; j < n; j++) bias[j] = 0.0f;
    }
    bool all_excluded = true;
    for (int64_t j = 0; j < n; j++) {
        const int64_t ahead = j - i - off; /* > 0: key j lies after the query's position */
        bool out = j >= len || (a->causal && ahead > 0);
        out |= (a->left_window >= 0 && -ahead > a->left_window) ||
               (a->right_window >= 0 && ahead > a->right_window);
        out |= a->nonpad && j >= a->nonpad[b];
        if (j >= len) bias[j] = 0.0f;
        if (out) bias[j] += -INFINITY;
        all_excluded &= bias[j] == -INFINITY;
    }
    return all_excluded;
}

/* Largest value, NaN if any is NaN (as numpy's max). */
static float row_max(const float *x, int64_t n)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
        if (isnan(x[j])) return x[j];
        if (x[j] > m) m = x[j];
    }
    return m;
}

/* Sum of x[0..n) in precision t as numpy sums it: float16 accumulates in float and rounds
 * once, bfloat16 (ml_dtypes) rounds after every addition; float accumulates in double here,
 * within an ulp of numpy's pairwise float sum. */
static float row_sum(const float *x, int64_t n, onyx_dtype t)
{
    if (t == ONYX_DTYPE_BFLOAT16) {
        float sum = 0.0f;
        for (int64_t j = 0; j < n; j++) sum = round_to(t, sum + x[j]);
        return sum;
    }
    if (t == ONYX_DTYPE_FLOAT16) {
        float sum = 0.0f;
        for (int64_t j = 0; j < n; j++) sum += x[j];
        return round_to(t, sum);
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += x[j];
    return (float)sum;
}

/* Softmax of x[0..n) in precision t, in place. As the reference: a row whose maximum is -inf
 * is shifted by 0 instead (no -inf - -inf), and a zero sum divides by 1, so it gives zeros.
 * float16/bfloat16 round every step to t; their sum accumulates as numpy's does (float16 in
 * float, bfloat16 element by element in bfloat16). */
static void softmax_row(float *x, int64_t n, onyx_dtype t, double *tmp)
{
    for (int64_t j = 0; j < n; j++) x[j] = round_to(t, x[j]);
    float m = row_max(x, n);
    if (m == -INFINITY) m = 0.0f;
    if (t == ONYX_DTYPE_DOUBLE) {
        double sum = 0.0;
        for (int64_t j = 0; j < n; j++) sum += tmp[j] = exp((double)x[j] - (double)m);
        if (sum == 0.0) sum = 1.0;
        for (int64_t j = 0; j < n; j++) x[j] = (float)(tmp[j] / sum);
        return;
    }
    for (int64_t j = 0; j < n; j++) x[j] = round_to(t, expf(round_to(t, x[j] - m)));
    float sum = row_sum(x, n, t);
    if (sum == 0.0f) sum = 1.0f;
    for (int64_t j = 0; j < n; j++) x[j] = round_to(t, x[j] / sum);
}

/* Row i of qk_matmul_output, if it is wanted at this stage. */
static void put_scores(const ox_attention *a, int mode, int64_t b, int64_t h, int64_t i,
                       const float *s)
{
    if (!a->scores.data || a->scores_mode != mode) return;
    store_f32(a->scores.dtype, a->scores.data, view_offset(&a->scores, b, h, i), keys_of(a), s);
}

/* score_row's common case, float32 with at most a plain additive float mask covering every
 * key (no causal rule, window, padding, softcap or scores output): the same arithmetic as
 * the general path (which rounds to float, a no-op here) without its per-element dtype
 * branches and bias row, so the loops are tight. Returns false when the case is not this. */
static bool score_row_f32(const ox_attention *a, int64_t b, int64_t h, int64_t i, float *s)
{
    const int64_t n = keys_of(a);
    if (a->q.dtype != ONYX_DTYPE_FLOAT || a->softmax_type != ONYX_DTYPE_FLOAT || a->softcap > 0.0f ||
        a->scores.data || a->causal || a->left_window >= 0 || a->right_window >= 0 || a->nonpad ||
        (a->has_mask && (a->mask.dtype != ONYX_DTYPE_FLOAT || a->mask_len != n)) || n == 0)
        return false;
    bool excluded = false;
    if (a->has_mask) {
        const float *mk = (const float *)a->mask.data + view_offset(&a->mask, b, h, i);
        excluded = true;
        for (int64_t j = 0; j < n; j++) {
            s[j] += mk[j];
            excluded &= mk[j] == -INFINITY;
        }
    }
    if (excluded) { /* every key masked out: zeros, as bias_row's rule */
        memset(s, 0, (size_t)n * sizeof *s);
        return true;
    }
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++) m = s[j] > m ? s[j] : m; /* a NaN makes every result NaN below */
    if (m == -INFINITY) m = 0.0f;
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += s[j] = expf(s[j] - m);
    float fs = (float)sum;
    if (fs == 0.0f) fs = 1.0f;
    for (int64_t j = 0; j < n; j++) s[j] /= fs;
    return true;
}

/* Scores of query i (from the matmul) into its probabilities, rounded to T1. */
static void score_row(const ox_attention *a, int64_t b, int64_t h, int64_t i, float *s,
                      const attn_mem *m)
{
    if (score_row_f32(a, b, h, i, s)) return;
    const int64_t n = keys_of(a);
    const onyx_dtype t1 = a->q.dtype;
    for (int64_t j = 0; j < n; j++) s[j] = round_to(t1, s[j]);
    put_scores(a, 0, b, h, i, s);
    if (a->softcap > 0.0f) {
        const float cap = a->softcap;
        for (int64_t j = 0; j < n; j++)
            s[j] = round_to(t1, round_to(t1, tanhf(round_to(t1, s[j] / cap))) * cap);
    }
    put_scores(a, 1, b, h, i, s);
    const bool excluded = bias_row(a, b, h, i, m->bias);
    for (int64_t j = 0; j < n; j++) s[j] = round_to(t1, s[j] + m->bias[j]);
    put_scores(a, 2, b, h, i, s);
    if (excluded) {
        for (int64_t j = 0; j < n; j++) s[j] = 0.0f;
    } else {
        softmax_row(s, n, a->softmax_type, m->tmp);
        for (int64_t j = 0; j < n; j++) s[j] = round_to(t1, s[j]);
    }
    put_scores(a, 3, b, h, i, s);
}

/* Query head h of batch b, whole. */
static void attend(const ox_attention *a, int64_t b, int64_t h, void *mem)
{
    const attn_mem m = carve(a, mem);
    const int64_t n = keys_of(a), d = a->head_size, dv = a->v_head_size;
    gather_kv(a, b, h / (a->q_heads / a->kv_heads), &m);
    for (int64_t i0 = 0; i0 < a->q_len; i0 += QUERY_BLOCK) {
        const int64_t rows = a->q_len - i0 < QUERY_BLOCK ? a->q_len - i0 : QUERY_BLOCK;
        gather(&a->q, b, h, i0, rows, d, &a->qk_scale, m.q);
        ox_sgemm(false, true, rows, n, d, 1.0f, m.q, d, m.k, d, 0.0f, m.s, n, 1);
        for (int64_t r = 0; r < rows; r++) score_row(a, b, h, i0 + r, m.s + r * n, &m);
        ox_sgemm(false, false, rows, dv, n, 1.0f, m.s, n, m.v, dv, 0.0f, m.o, dv, 1);
        for (int64_t r = 0; r < rows; r++)
            store_f32(a->y.dtype, a->y.data, view_offset(&a->y, b, h, i0 + r), dv, m.o + r * dv);
    }
}

void ox_attention_run(const ox_attention *a, void *scratch, int64_t workers, int threads)
{
    const int64_t heads = a->batch * a->q_heads;
    const size_t per = ox_attention_worker_bytes(a);
    if (heads == 0 || a->q_len == 0) return;
    if (workers > heads) workers = heads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && workers > 1)
#endif
    for (int64_t w = 0; w < workers; w++)
        for (int64_t p = heads * w / workers; p < heads * (w + 1) / workers; p++)
            attend(a, p / a->q_heads, p % a->q_heads, (char *)scratch + per * (size_t)w);
}

/* rows rows of `cols` elements from view v at (b, h) to dense dst. */
static void copy_rows(char *dst, const ox_attn_view *v, int64_t b, int64_t h, int64_t rows,
                      int64_t cols, size_t es)
{
    const size_t row_bytes = (size_t)cols * es;
    if (row_bytes == 0) return;
    for (int64_t r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * row_bytes,
               (const char *)v->data + (size_t)view_offset(v, b, h, r) * es, row_bytes);
}

void ox_attention_concat(void *dst, const ox_attn_view *past, const ox_attn_view *cur,
                         int64_t batch, int64_t heads, int64_t past_len, int64_t new_len,
                         int64_t cols, size_t es)
{
    const size_t row_bytes = (size_t)cols * es;
    if (row_bytes == 0 || past_len + new_len == 0) return; /* dst may be NULL */
    char *d = dst;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t h = 0; h < heads; h++) {
            copy_rows(d, past, b, h, past_len, cols, es);
            d += (size_t)past_len * row_bytes;
            copy_rows(d, cur, b, h, new_len, cols, es);
            d += (size_t)new_len * row_bytes;
        }
}

/* ---- RotaryEmbedding, SwiGLU ------------------------------------------------------------ */

/* Rotary embedding computes in double and rounds each step to the dtype, as the reference
 * and the spec's function body compute in the dtype: this reproduces float32 arithmetic
 * exactly (double holds every float product and sum before the one rounding) and numpy's
 * step-by-step float16/bfloat16 arithmetic. SwiGLU computes in double and rounds once, as
 * its node tests expect of float16. */
static inline double round_d(onyx_dtype t, double v)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: return (float)v;
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(ox_f32_to_f16((float)v));
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(ox_f32_to_bf16((float)v));
    default: return v;
    }
}

static inline double get_d(onyx_dtype t, const void *p, int64_t i)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: return ((const float *)p)[i];
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(((const uint16_t *)p)[i]);
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const double *)p)[i];
    }
}

/* Stores v rounded to t (to nearest even). */
static inline void put_d(onyx_dtype t, void *p, int64_t i, double v)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: ((float *)p)[i] = (float)v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)p)[i] = ox_f32_to_f16((float)v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)p)[i] = ox_f32_to_bf16((float)v); break;
    default: ((double *)p)[i] = v; break;
    }
}

/* Row (b, h, s): pairs (x1, x2) become (c x1 - s x2, s x1 + c x2); the tail is copied. */
static void rotate_row(const ox_rotary *r, int64_t b, int64_t h, int64_t s, const void *x,
                       const void *cosc, const void *sinc, void *y)
{
    const onyx_dtype t = r->dtype;
    const int64_t half = r->rot_dim / 2, row = b * r->sb + h * r->sh + s * r->ss;
    const int64_t crow = r->position_ids
                             ? r->position_ids[b * r->pos_sb + s * r->pos_ss] * half
                             : b * r->cache_sb + s * r->cache_ss;
    for (int64_t k = 0; k < half; k++) {
        const int64_t i1 = r->interleaved ? 2 * k : k, i2 = r->interleaved ? 2 * k + 1 : k + half;
        const double x1 = get_d(t, x, row + i1), x2 = get_d(t, x, row + i2);
        const double c = get_d(t, cosc, crow + k), sn = get_d(t, sinc, crow + k);
        put_d(t, y, row + i1, round_d(t, round_d(t, c * x1) - round_d(t, sn * x2)));
        put_d(t, y, row + i2, round_d(t, round_d(t, sn * x1) + round_d(t, c * x2)));
    }
    const size_t es = t == ONYX_DTYPE_FLOAT ? 4 : 2;
    if (r->head_size > r->rot_dim)
        memcpy((char *)y + (size_t)(row + r->rot_dim) * es,
               (const char *)x + (size_t)(row + r->rot_dim) * es,
               (size_t)(r->head_size - r->rot_dim) * es);
}

void ox_rotary_run(const ox_rotary *r, const void *x, const void *cos_cache, const void *sin_cache,
                   void *y, int threads)
{
    const int64_t rows = r->batch * r->heads * r->seq;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && rows > 64)
#endif
    for (int64_t i = 0; i < rows; i++) {
        const int64_t s = i % r->seq, bh = i / r->seq;
        rotate_row(r, bh / r->heads, bh % r->heads, s, x, cos_cache, sin_cache, y);
    }
}

void ox_swiglu(onyx_dtype t, int64_t n, const void *a, const void *b, void *y, double alpha,
               int threads)
{
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && n > 4096)
#endif
    for (int64_t i = 0; i < n; i++) {
        const double x = get_d(t, a, i);
        put_d(t, y, i, x / (1.0 + exp(-alpha * x)) * get_d(t, b, i));
    }
}
