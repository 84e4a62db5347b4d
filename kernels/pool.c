/* pool.c — max and average pooling.
 *
 * A plane's outputs are produced a line at a time (all positions along the last spatial dim
 * for fixed outer coordinates). Every output of a line sees the same input rows (one per
 * combination of outer-dim taps), so each row is folded into the whole line at once: the
 * window bookkeeping is paid per row and line, not per output and tap. Rows are visited in
 * row-major window order, which keeps "the first maximum" well defined. */
#include <math.h>

#include "pool.h"
#include "simd.h"

/* The valid taps [k0, k1) of the outer dims (all but the last) for the line at outer
 * coordinates o; false if some dim has none. */
static bool clip_outer(const ox_window *w, const int64_t *o, int64_t *k0, int64_t *k1)
{
    bool any = true;
    for (int d = 0; d < w->nd - 1; d++) {
        ox_window_taps(w, d, o[d], 0, w->in[d], &k0[d], &k1[d]);
        if (k0[d] == k1[d]) any = false;
    }
    return any;
}

/* The input rows of a line, as plane offsets of their element at last-dim position 0:
 * one per combination of the outer taps [k0, k1), row-major. */
typedef struct row_iter {
    const ox_window *w;
    const int64_t *o, *k0, *k1;
    int64_t k[OX_WIN_MAX_DIMS];
    bool done;
} row_iter;

static void rows_begin(row_iter *it, const ox_window *w, const int64_t *o, const int64_t *k0,
                       const int64_t *k1)
{
    it->w = w;
    it->o = o;
    it->k0 = k0;
    it->k1 = k1;
    for (int d = 0; d < w->nd - 1; d++) it->k[d] = k0[d];
    it->done = false;
}

static bool rows_next(row_iter *it, int64_t *row)
{
    if (it->done) return false;
    const ox_window *w = it->w;
    const int last = w->nd - 1;
    int64_t off = 0;
    for (int d = 0; d < last; d++)
        off = off * w->in[d] + it->o[d] * w->stride[d] - w->pad_begin[d] + it->k[d] * w->dil[d];
    *row = off * w->in[last];
    int d = last - 1;
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): nd <= OX_WIN_MAX_DIMS
    while (d >= 0 && ++it->k[d] == it->k1[d]) {
        it->k[d] = it->k0[d];
        d--;
    }
    if (d < 0) it->done = true;
    return true;
}

/* Row-major offset within a plane -> column-major offset. */
static int64_t to_col_major(const ox_window *w, int64_t off)
{
    int64_t coord[OX_WIN_MAX_DIMS], r = 0, scale = 1;
    for (int d = w->nd - 1; d >= 0; d--) {
        coord[d] = off % w->in[d];
        off /= w->in[d];
    }
    for (int d = 0; d < w->nd; d++) {
        // cppcheck-suppress uninitvar ; the loop above set coord[d] for every d < nd
        r += coord[d] * scale;
        scale *= w->in[d];
    }
    return r;
}

/* ---- max ------------------------------------------------------------------------------- */

/* Folds the input row at plane offset `row` of plane x into the line y (and, if idx, the
 * plane offsets of the maxima: -1 means none yet, and y is then still the lowest value).
 * Ties keep the earlier element; NaN never wins, with or without idx. Only the element type
 * differs between the four instances. */
#define MAX_FOLD_ROW(NAME, T)                                                                 \
    static void NAME(const ox_window *w, const T *x, int64_t row, T *y, int64_t *idx)         \
    {                                                                                         \
        const int last = w->nd - 1;                                                           \
        const int64_t dil = w->dil[last];                                                     \
        for (int64_t o = 0; o < w->out[last]; o++) {                                          \
            int64_t k0, k1;                                                                   \
            ox_window_taps(w, last, o, 0, w->in[last], &k0, &k1);                             \
            const int64_t first = row + o * w->stride[last] - w->pad_begin[last];             \
            T m = y[o];                                                                       \
            if (idx) {                                                                        \
                int64_t best = idx[o];                                                        \
                for (int64_t k = k0; k < k1; k++)                                             \
                    if (x[first + k * dil] > m || (best < 0 && x[first + k * dil] == m)) {    \
                        m = x[first + k * dil];                                               \
                        best = first + k * dil;                                               \
                    }                                                                         \
                idx[o] = best;                                                                \
            } else {                                                                          \
                for (int64_t k = k0; k < k1; k++)                                             \
                    if (x[first + k * dil] > m) m = x[first + k * dil];                       \
            }                                                                                 \
            y[o] = m;                                                                         \
        }                                                                                     \
    }

MAX_FOLD_ROW(max_row_f32, float)
MAX_FOLD_ROW(max_row_f64, double)
MAX_FOLD_ROW(max_row_i8, int8_t)
MAX_FOLD_ROW(max_row_u8, uint8_t)

typedef enum elem { ELEM_F32, ELEM_F64, ELEM_I8, ELEM_U8 } elem;

static size_t elem_size(elem t)
{
    switch (t) {
    case ELEM_F32: return sizeof(float);
    case ELEM_F64: return sizeof(double);
    default: return 1;
    }
}

/* Sets n elements of y (at element offset off) to the type's lowest value: the max of an
 * empty window, and the start of every fold. */
static void fill_lowest(elem t, void *y, int64_t off, int64_t n)
{
    for (int64_t i = 0; i < n; i++) switch (t) {
        case ELEM_F32: ((float *)y)[off + i] = -INFINITY; break;
        case ELEM_F64: ((double *)y)[off + i] = -INFINITY; break;
        case ELEM_I8: ((int8_t *)y)[off + i] = INT8_MIN; break;
        case ELEM_U8: ((uint8_t *)y)[off + i] = 0; break;
        }
}

static void max_fold_row(elem t, const ox_window *w, const void *x, int64_t row, void *y,
                         int64_t *idx)
{
    switch (t) {
    case ELEM_F32: max_row_f32(w, x, row, y, idx); break;
    case ELEM_F64: max_row_f64(w, x, row, y, idx); break;
    case ELEM_I8: max_row_i8(w, x, row, y, idx); break;
    case ELEM_U8: max_row_u8(w, x, row, y, idx); break;
    }
}

static void maxpool_plane(const ox_window *w, elem t, int64_t plane, const void *x, void *y,
                          int64_t *idx, bool col_major)
{
    const int last = w->nd - 1;
    const int64_t insz = ox_window_in_size(w), outsz = ox_window_out_size(w);
    const int64_t nl = w->out[last];
    const size_t es = elem_size(t);
    const char *xp = (const char *)x + (size_t)(plane * insz) * es;
    int64_t o[OX_WIN_MAX_DIMS] = {0}, k0[OX_WIN_MAX_DIMS], k1[OX_WIN_MAX_DIMS];
    if (outsz == 0) return;
    for (int64_t p = plane * outsz;; p += nl) {
        char *yl = (char *)y + (size_t)p * es;
        int64_t *il = idx ? idx + p : NULL;
        fill_lowest(t, yl, 0, nl);
        for (int64_t i = 0; il && i < nl; i++) il[i] = -1;
        if (clip_outer(w, o, k0, k1)) {
            row_iter it;
            int64_t row;
            rows_begin(&it, w, o, k0, k1);
            while (rows_next(&it, &row)) max_fold_row(t, w, xp, row, yl, il);
        }
        for (int64_t i = 0; il && i < nl; i++)
            if (il[i] >= 0) il[i] = plane * insz + (col_major ? to_col_major(w, il[i]) : il[i]);
        if (!ox_window_next_line(w, o)) break;
    }
}

/* 2-D float max pool without indices or dilation, the pool of nearly every CNN: each
 * window is folded whole, its taps clipped once instead of once per window row and output.
 * Same taps in the same order as maxpool_plane (rows, then columns; ties keep the earlier
 * element; NaN never wins), so the same bits. */
static void maxpool2d_f32(const ox_window *w, int64_t plane, const float *x, float *y)
{
    const int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1];
    const float *xp = x + plane * H * W;
    float *yp = y + plane * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t h0, h1;
        ox_window_taps(w, 0, oh, 0, H, &h0, &h1);
        const int64_t top = oh * w->stride[0] - w->pad_begin[0];
        for (int64_t ow = 0; ow < OW; ow++) {
            int64_t k0, k1;
            ox_window_taps(w, 1, ow, 0, W, &k0, &k1);
            /* an offset, not a pointer: with padding it starts before the plane */
            int64_t row = (top + h0) * W + ow * w->stride[1] - w->pad_begin[1];
            float m = -INFINITY;
            for (int64_t kh = h0; kh < h1; kh++, row += W)
                for (int64_t kw = k0; kw < k1; kw++) m = xp[row + kw] > m ? xp[row + kw] : m;
            yp[oh * OW + ow] = m;
        }
    }
}

#if OX_SIMD_X86
#include <immintrin.h>

/* 8 floats x[0], x[2], ..., x[14] (reads x[0 .. 15]). */
OX_TARGET_AVX2 static inline __m256 pool_load_even(const float *x)
{
    __m256 a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8);
    __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* maxpool2d_f32 with 8 outputs per vector where a row's every tap and every vector load lie
 * inside the row (horizontal stride 1 or 2); the other outputs as there. max_ps(v, m) is
 * v > m ? v : m, the scalar fold's very comparison (NaN never wins), in the same tap order:
 * the same bits. */
OX_TARGET_AVX2 static void maxpool2d_f32_avx2(const ox_window *w, int64_t plane, const float *x, float *y)
{
    const int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1];
    const int64_t sw = w->stride[1], pl = w->pad_begin[1], K = w->kernel[1];
    const float *xp = x + plane * H * W;
    float *yp = y + plane * OH * OW;
    /* vectors start at ow in [v0, v1]: ow*sw - pl >= 0, and the last float a vector load
     * reads, ow*sw - pl + K - 1 + (sw == 1 ? 7 : 15), inside the row */
    int64_t v0 = (pl + sw - 1) / sw;
    const int64_t last = W - 1 - (K - 1 + (sw == 1 ? 7 : 15)) + pl;
    const int64_t v1 = last < 0 ? -1 : last / sw;
    if (v0 > OW) v0 = OW;
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t h0, h1;
        ox_window_taps(w, 0, oh, 0, H, &h0, &h1);
        const int64_t top = oh * w->stride[0] - w->pad_begin[0];
        float *yr = yp + oh * OW;
        int64_t ow = 0;
        for (;; ow++) {
            if (ow >= v0 && ow + 8 <= OW && ow <= v1) {
                __m256 m = _mm256_set1_ps(-INFINITY);
                for (int64_t kh = h0; kh < h1; kh++) {
                    const float *r = xp + (top + kh) * W + ow * sw - pl; /* in the row */
                    for (int64_t kw = 0; kw < K; kw++)
                        m = _mm256_max_ps(sw == 1 ? _mm256_loadu_ps(r + kw) : pool_load_even(r + kw), m);
                }
                _mm256_storeu_ps(yr + ow, m);
                ow += 7;
                continue;
            }
            if (ow >= OW) break;
            int64_t k0, k1;
            ox_window_taps(w, 1, ow, 0, W, &k0, &k1);
            int64_t row = (top + h0) * W + ow * sw - pl;
            float m = -INFINITY;
            for (int64_t kh = h0; kh < h1; kh++, row += W)
                for (int64_t kw = k0; kw < k1; kw++) m = xp[row + kw] > m ? xp[row + kw] : m;
            yr[ow] = m;
        }
    }
}
#endif

static void maxpool(const ox_window *w, elem t, int64_t planes, const void *x, void *y,
                    int64_t *idx, bool col_major, int threads)
{
    (void)threads;
    const bool plain2d = t == ELEM_F32 && !idx && w->nd == 2 && w->dil[0] == 1 && w->dil[1] == 1;
#if OX_SIMD_X86
    const bool vec = plain2d && (w->stride[1] == 1 || w->stride[1] == 2) && ox_cpu_avx2();
#else
    const bool vec = false;
#endif
    (void)vec;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t pl = 0; pl < planes; pl++) {
#if OX_SIMD_X86
        if (vec) {
            maxpool2d_f32_avx2(w, pl, x, y);
            continue;
        }
#endif
        if (plain2d) maxpool2d_f32(w, pl, x, y);
        else maxpool_plane(w, t, pl, x, y, idx, col_major);
    }
}

void ox_maxpool_f32(const ox_window *w, int64_t planes, const float *x, float *y, int64_t *idx,
                    bool col_major, int threads)
{
    maxpool(w, ELEM_F32, planes, x, y, idx, col_major, threads);
}

void ox_maxpool_f64(const ox_window *w, int64_t planes, const double *x, double *y,
                    int64_t *idx, bool col_major, int threads)
{
    maxpool(w, ELEM_F64, planes, x, y, idx, col_major, threads);
}

void ox_maxpool_i8(const ox_window *w, int64_t planes, const int8_t *x, int8_t *y, int64_t *idx,
                   bool col_major, int threads)
{
    maxpool(w, ELEM_I8, planes, x, y, idx, col_major, threads);
}

void ox_maxpool_u8(const ox_window *w, int64_t planes, const uint8_t *x, uint8_t *y,
                   int64_t *idx, bool col_major, int threads)
{
    maxpool(w, ELEM_U8, planes, x, y, idx, col_major, threads);
}

/* ---- average --------------------------------------------------------------------------- */

/* Adds the input row at plane offset `row` into the line sums y. */
#define SUM_FOLD_ROW(NAME, T)                                                                 \
    static void NAME(const ox_window *w, const T *x, int64_t row, T *y)                       \
    {                                                                                         \
        const int last = w->nd - 1;                                                           \
        const int64_t dil = w->dil[last];                                                     \
        for (int64_t o = 0; o < w->out[last]; o++) {                                          \
            int64_t k0, k1;                                                                   \
            ox_window_taps(w, last, o, 0, w->in[last], &k0, &k1);                             \
            const int64_t first = row + o * w->stride[last] - w->pad_begin[last];             \
            T s = y[o];                                                                       \
            for (int64_t k = k0; k < k1; k++) s += x[first + k * dil];                        \
            y[o] = s;                                                                         \
        }                                                                                     \
    }

SUM_FOLD_ROW(sum_row_f32, float)
SUM_FOLD_ROW(sum_row_f64, double)

/* Taps of the window at o along dim d that count: inside the input, or with count_pad
 * inside the padded extent [-pad_begin, in + pad_end) (ceil mode can reach past it). */
static int64_t counted_taps(const ox_window *w, int d, int64_t o, bool count_pad)
{
    int64_t a, b;
    if (count_pad)
        ox_window_taps(w, d, o, -w->pad_begin[d], w->in[d] + w->pad_end[d], &a, &b);
    else
        ox_window_taps(w, d, o, 0, w->in[d], &a, &b);
    return b - a;
}

/* Divides the sums of a line by each window's count (NaN for none). */
static void divide_line(const ox_window *w, const int64_t *o, bool count_pad, bool f32, void *y)
{
    const int last = w->nd - 1;
    int64_t outer = 1;
    for (int d = 0; d < last; d++) outer *= counted_taps(w, d, o[d], count_pad);
    for (int64_t i = 0; i < w->out[last]; i++) {
        int64_t count = outer * counted_taps(w, last, i, count_pad);
        if (f32) {
            float *yf = y;
            yf[i] = count > 0 ? yf[i] / (float)count : NAN;
        } else {
            double *yd = y;
            yd[i] = count > 0 ? yd[i] / (double)count : NAN;
        }
    }
}

static void avgpool_plane(const ox_window *w, bool f32, int64_t plane, bool count_pad,
                          const void *x, void *y)
{
    const int last = w->nd - 1;
    const int64_t insz = ox_window_in_size(w), outsz = ox_window_out_size(w);
    const int64_t nl = w->out[last];
    const size_t es = f32 ? sizeof(float) : sizeof(double);
    const void *xp = (const char *)x + (size_t)(plane * insz) * es;
    int64_t o[OX_WIN_MAX_DIMS] = {0}, k0[OX_WIN_MAX_DIMS], k1[OX_WIN_MAX_DIMS];
    if (outsz == 0) return;
    for (int64_t p = plane * outsz;; p += nl) {
        void *yl = (char *)y + (size_t)p * es;
        for (int64_t i = 0; i < nl; i++) {
            if (f32) ((float *)yl)[i] = 0.0f;
            else ((double *)yl)[i] = 0.0;
        }
        if (clip_outer(w, o, k0, k1)) {
            row_iter it;
            int64_t row;
            rows_begin(&it, w, o, k0, k1);
            while (rows_next(&it, &row)) {
                if (f32) sum_row_f32(w, (const float *)xp, row, yl);
                else sum_row_f64(w, (const double *)xp, row, yl);
            }
        }
        divide_line(w, o, count_pad, f32, yl);
        if (!ox_window_next_line(w, o)) break;
    }
}

static void avgpool(const ox_window *w, bool f32, int64_t planes, bool count_pad, const void *x,
                    void *y, int threads)
{
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t pl = 0; pl < planes; pl++) avgpool_plane(w, f32, pl, count_pad, x, y);
}

void ox_avgpool_f32(const ox_window *w, int64_t planes, bool count_pad, const float *x, float *y,
                    int threads)
{
    avgpool(w, true, planes, count_pad, x, y, threads);
}

void ox_avgpool_f64(const ox_window *w, int64_t planes, bool count_pad, const double *x,
                    double *y, int threads)
{
    avgpool(w, false, planes, count_pad, x, y, threads);
}

/* ---- global average -------------------------------------------------------------------- */

void ox_global_avgpool_f32(int64_t planes, int64_t size, const float *x, float *y, int threads)
{
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t pl = 0; pl < planes; pl++) {
        /* eight running sums (element i into sum i % 8) added up at the end: a single chain
         * of dependent adds would bound the loop by the add's latency */
        const float *xp = x + pl * size;
        double s[8] = {0};
        int64_t i = 0;
        for (; i + 8 <= size; i += 8)
            for (int j = 0; j < 8; j++) s[j] += xp[i + j];
        for (int j = 0; i < size; i++, j++) s[j] += xp[i];
        const double acc = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        y[pl] = size > 0 ? (float)(acc / (double)size) : NAN;
    }
}

void ox_global_avgpool_f64(int64_t planes, int64_t size, const double *x, double *y,
                           int threads)
{
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t pl = 0; pl < planes; pl++) {
        double acc = 0.0;
        for (int64_t i = 0; i < size; i++) acc += x[pl * size + i];
        y[pl] = size > 0 ? acc / (double)size : NAN;
    }
}
