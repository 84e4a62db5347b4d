/* qgemm.c — exact integer GEMM, im2col and requantization for the quantized ops. */
#include <math.h>
#include <string.h>

#include "qgemm.h"

/* The im2col tile of ox_qconv_run holds about this many bytes (at least QCONV_MIN_TILE output
 * positions), so scratch stays bounded whatever the image size. */
#define QCONV_COL_BYTES ((int64_t)4 << 20)
#define QCONV_MIN_TILE 64

/* GEMM blocking: a task computes QGEMM_MR rows by QGEMM_NC columns of C in a stack buffer. */
#define QGEMM_MR 4
#define QGEMM_NC 256

static inline int32_t q8_at(const void *p, bool is_signed, int64_t i)
{
    return is_signed ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

void ox_q8_widen(const ox_q8 *m, int64_t rows, int64_t cols, int16_t *dst)
{
    if (rows <= 0 || cols <= 0) return; /* (empty operands may have NULL data) */
    for (int64_t r = 0; r < rows; r++) {
        int16_t *out = dst + r * cols;
        const int64_t row = r * m->ld;
        if (!m->zp || m->zp_cs == 0) { /* one zero point for the whole row */
            const int32_t z = m->zp ? q8_at(m->zp, m->is_signed, r * m->zp_rs) : 0;
            if (m->is_signed) {
                const int8_t *src = (const int8_t *)m->data + row;
                for (int64_t c = 0; c < cols; c++) out[c] = (int16_t)(src[c] - z);
            } else {
                const uint8_t *src = (const uint8_t *)m->data + row;
                for (int64_t c = 0; c < cols; c++) out[c] = (int16_t)(src[c] - z);
            }
            continue;
        }
        for (int64_t c = 0; c < cols; c++)
            out[c] = (int16_t)(q8_at(m->data, m->is_signed, row + c) -
                               q8_at(m->zp, m->is_signed, r * m->zp_rs + c * m->zp_cs));
    }
}

/* ---- GEMM ------------------------------------------------------------------------------ */

/* Rows [m0, m0+mr) by columns [n0, n0+nc) of C. Each B row segment is loaded once for the mr
 * rows; the inner loop runs along contiguous columns, which compilers vectorise. */
static void qgemm_block(int64_t m0, int64_t mr, int64_t n0, int64_t nc, int64_t N, int64_t K,
                        const int16_t *A, const int16_t *B, int32_t *C, int64_t ldc)
{
    uint32_t acc[QGEMM_MR][QGEMM_NC];
    for (int64_t i = 0; i < mr; i++) memset(acc[i], 0, (size_t)nc * sizeof acc[i][0]);
    for (int64_t k = 0; k < K; k++) {
        const int16_t *b = B + k * N + n0;
        for (int64_t i = 0; i < mr; i++) {
            const int32_t a = A[(m0 + i) * K + k];
            if (a == 0) continue; /* zero-point padding and sparse weights are common */
            uint32_t *row = acc[i];
            for (int64_t j = 0; j < nc; j++) row[j] += (uint32_t)(a * b[j]);
        }
    }
    for (int64_t i = 0; i < mr; i++) {
        int32_t *c = C + (m0 + i) * ldc + n0;
        /* uint32 -> int32 keeps the bits (two's complement) on every supported compiler. */
        for (int64_t j = 0; j < nc; j++) c[j] = (int32_t)acc[i][j];
    }
}

void ox_qgemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, const int16_t *B, int32_t *C,
                  int64_t ldc, int threads)
{
    if (M <= 0 || N <= 0) return;
    const int64_t mb = (M + QGEMM_MR - 1) / QGEMM_MR, nb = (N + QGEMM_NC - 1) / QGEMM_NC;
    const int64_t tasks = mb * nb;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && tasks > 1)
#endif
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t m0 = t / nb * QGEMM_MR, n0 = t % nb * QGEMM_NC;
        const int64_t mr = M - m0 < QGEMM_MR ? M - m0 : QGEMM_MR;
        const int64_t nc = N - n0 < QGEMM_NC ? N - n0 : QGEMM_NC;
        qgemm_block(m0, mr, n0, nc, N, K, A, B, C, ldc);
    }
}

/* ---- requantization -------------------------------------------------------------------- */

void ox_q8_requant(const int32_t *acc, int64_t n, const float *mult, int64_t mult_step, int32_t zp,
                   bool out_signed, void *dst)
{
    const double lo = out_signed ? -128.0 : 0.0, hi = out_signed ? 127.0 : 255.0;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)acc[i] * (double)mult[i * mult_step] + (double)zp;
        if (isnan(v)) v = (double)zp;
        v = nearbyint(v); /* the default rounding mode: to nearest, ties to even */
        v = v < lo ? lo : v > hi ? hi : v;
        if (out_signed)
            ((int8_t *)dst)[i] = (int8_t)v;
        else
            ((uint8_t *)dst)[i] = (uint8_t)v;
    }
}

/* ---- convolution ----------------------------------------------------------------------- */

static size_t align_up(size_t n) { return (n + 63) & ~(size_t)63; }

static int64_t qconv_rows(const ox_conv_shape *s)
{
    return s->in_channels / s->group * ox_window_kernel_size(&s->win);
}

static int64_t qconv_tile(const ox_conv_shape *s)
{
    const int64_t out = ox_window_out_size(&s->win), rows = qconv_rows(s);
    int64_t t = rows > 0 ? QCONV_COL_BYTES / (rows * (int64_t)sizeof(int16_t)) : out;
    if (t < QCONV_MIN_TILE) t = QCONV_MIN_TILE;
    return t < out ? t : out;
}

size_t ox_qconv_scratch(const ox_conv_shape *s, bool requant)
{
    const int64_t rows = qconv_rows(s), tile = qconv_tile(s);
    size_t n = align_up((size_t)(s->out_channels * rows) * sizeof(int16_t));
    n += align_up((size_t)(rows * tile) * sizeof(int16_t));
    if (requant) n += (size_t)(s->out_channels / s->group * tile) * sizeof(int32_t);
    return n > 0 ? n : 64; /* never empty: the pointers carved from it are then never NULL */
}

/* Splits flat index i into coordinates over dims (row-major). */
static void unflatten(int nd, const int64_t *dims, int64_t i, int64_t *coord)
{
    for (int d = nd - 1; d >= 0; d--) {
        coord[d] = i % dims[d];
        i /= dims[d];
    }
}

/* One row of the im2col matrix: the 8-bit input plane xc (minus zp) seen through kernel tap k,
 * for output positions [p0, p0 + np). Padding reads as 0, i.e. as the zero point. */
static void im2col_row(const ox_window *w, const void *xc, bool is_signed, int32_t zp,
                       const int64_t *k, int64_t p0, int64_t np, int16_t *dst)
{
    const int last = w->nd - 1;
    const int64_t in_l = w->in[last], s_l = w->stride[last];
    int64_t o[OX_WIN_MAX_DIMS];
    unflatten(w->nd, w->out, p0, o);
    for (int64_t j = 0; j < np;) {
        /* A segment: consecutive output positions along the last dim. */
        int64_t seg = w->out[last] - o[last];
        if (seg > np - j) seg = np - j;
        bool inside = xc != NULL; /* NULL: an empty input, all padding */
        int64_t base = 0;
        for (int d = 0; d < last; d++) {
            int64_t pos = o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dil[d];
            if (pos < 0 || pos >= w->in[d]) inside = false;
            base = base * w->in[d] + pos;
        }
        int16_t *out = dst + j;
        if (!inside) {
            memset(out, 0, (size_t)seg * sizeof *out);
        } else {
            const int64_t row = base * in_l;
            const int64_t start = o[last] * s_l - w->pad_begin[last] + k[last] * w->dil[last];
            int64_t q0, q1;
            ox_clip_range(start, s_l, seg, 0, in_l, &q0, &q1);
            for (int64_t q = 0; q < q0; q++) out[q] = 0;
            for (int64_t q = q0; q < q1; q++)
                out[q] = (int16_t)(q8_at(xc, is_signed, row + start + q * s_l) - zp);
            for (int64_t q = q1; q < seg; q++) out[q] = 0;
        }
        j += seg;
        o[last] += seg;
        for (int d = last; d > 0 && o[d] == w->out[d]; d--) {
            o[d] = 0;
            o[d - 1]++;
        }
    }
}

/* The im2col matrix [channels * kernel_size, np] of `channels` 8-bit planes starting at x. */
static void im2col_tile(const ox_qconv *q, int64_t channels, const uint8_t *x, int64_t p0,
                        int64_t np, int16_t *col, int threads)
{
    const ox_window *w = &q->shape.win;
    const int64_t kvol = ox_window_kernel_size(w), insz = ox_window_in_size(w);
    const int64_t rows = channels * kvol;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t r = 0; r < rows; r++) {
        int64_t k[OX_WIN_MAX_DIMS];
        unflatten(w->nd, w->kernel, r % kvol, k);
        /* (x is NULL for an empty input: every tap is then padding and nothing is read) */
        im2col_row(w, x ? x + (r / kvol) * insz : NULL, q->x_signed, q->x_zp, k, p0, np,
                   col + r * np);
    }
}

/* acc rows (mr of them, row stride ld, np columns) += bias, modulo 2^32. */
static void add_bias(int32_t *acc, int64_t mr, int64_t np, int64_t ld, const int32_t *bias)
{
    for (int64_t m = 0; m < mr; m++)
        for (int64_t j = 0; j < np; j++)
            acc[m * ld + j] = (int32_t)((uint32_t)acc[m * ld + j] + (uint32_t)bias[m]);
}

void ox_qconv_run(const ox_qconv *q, void *scratch, int threads)
{
    const ox_conv_shape *s = &q->shape;
    const int64_t M = s->out_channels, cg = s->in_channels / s->group, mg = M / s->group;
    const int64_t insz = ox_window_in_size(&s->win), outsz = ox_window_out_size(&s->win);
    const int64_t rows = qconv_rows(s), tile = qconv_tile(s);
    if (M == 0 || outsz == 0 || s->batch == 0) return;
    int16_t *wq = scratch;
    int16_t *col = (int16_t *)((char *)scratch + align_up((size_t)(M * rows) * sizeof(int16_t)));
    int32_t *acc = (int32_t *)((char *)col + align_up((size_t)(rows * tile) * sizeof(int16_t)));
    const ox_q8 wm = {q->w, q->w_signed, rows, q->w_zp, q->w_zp_step, 0};
    ox_q8_widen(&wm, M, rows, wq);
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t g = 0; g < s->group; g++) {
            const int64_t x0 = (n * s->in_channels + g * cg) * insz;
            const uint8_t *xg = insz && cg ? (const uint8_t *)q->x + x0 : NULL;
            const int64_t y0 = (n * M + g * mg) * outsz; /* first output element of the group */
            for (int64_t p0 = 0; p0 < outsz; p0 += tile) {
                const int64_t np = outsz - p0 < tile ? outsz - p0 : tile;
                im2col_tile(q, cg, xg, p0, np, col, threads);
                int32_t *dst = q->mult ? acc : (int32_t *)q->y + y0 + p0;
                const int64_t ld = q->mult ? np : outsz;
                ox_qgemm_s16(mg, np, rows, wq + g * mg * rows, col, dst, ld, threads);
                if (q->bias) add_bias(dst, mg, np, ld, q->bias + g * mg);
                if (!q->mult) continue;
                for (int64_t m = 0; m < mg; m++)
                    ox_q8_requant(acc + m * np, np, q->mult + (g * mg + m) * q->mult_step, 0,
                                  q->y_zp, q->y_signed,
                                  (uint8_t *)q->y + y0 + m * outsz + p0);
            }
        }
}
