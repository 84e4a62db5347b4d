/* conv.c — convolution: im2col + GEMM, 1x1 as GEMM, direct depthwise for float (with a bias +
 * residual + activation epilogue); a direct loop for double. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv.h"
#include "gemm.h"

/* The im2col matrix is built this many bytes at a time (at least OX_CONV_MIN_TILE output
 * positions), so scratch stays bounded whatever the image size. */
#define OX_CONV_COL_BYTES ((int64_t)4 << 20)
#define OX_CONV_MIN_TILE 64
/* Tiles are a multiple of every GEMM kernel's panel width (16, 12 or 8 columns). */
#define OX_CONV_TILE_ALIGN 48
/* Up to this many rows (input channels x kernel taps) im2col writes the GEMM's panels. */
#define OX_CONV_PANEL_ROWS 576
/* The widest panel, which bounds the zero columns padding a tile's last panel. */
#define OX_CONV_NR_MAX 16

int64_t ox_window_in_size(const ox_window *w)
{
    int64_t n = 1;
    for (int d = 0; d < w->nd; d++) n *= w->in[d];
    return n;
}

int64_t ox_window_out_size(const ox_window *w)
{
    int64_t n = 1;
    for (int d = 0; d < w->nd; d++) n *= w->out[d];
    return n;
}

int64_t ox_window_kernel_size(const ox_window *w)
{
    int64_t n = 1;
    for (int d = 0; d < w->nd; d++) n *= w->kernel[d];
    return n;
}

/* Splits flat index i into coordinates over dims (row-major). */
static void unflatten(int nd, const int64_t *dims, int64_t i, int64_t *coord)
{
    for (int d = nd - 1; d >= 0; d--) {
        coord[d] = i % dims[d];
        i /= dims[d];
    }
}

/* ---- float: im2col + GEMM -------------------------------------------------------------- */

static bool is_pointwise(const ox_window *w)
{
    for (int d = 0; d < w->nd; d++)
        if (w->kernel[d] != 1 || w->stride[d] != 1 || w->pad_begin[d] != 0 || w->out[d] != w->in[d])
            return false;
    return true;
}

static int64_t col_rows(const ox_conv_shape *s)
{
    return s->in_channels / s->group * ox_window_kernel_size(&s->win);
}

/* Output positions per im2col tile. */
static int64_t tile_cols(const ox_conv_shape *s)
{
    int64_t out = ox_window_out_size(&s->win), rows = col_rows(s);
    int64_t t = rows > 0 ? OX_CONV_COL_BYTES / (rows * (int64_t)sizeof(float)) : out;
    if (t < OX_CONV_MIN_TILE) t = OX_CONV_MIN_TILE;
    t = t / OX_CONV_TILE_ALIGN * OX_CONV_TILE_ALIGN; /* whole GEMM panels, except the last tile's */
    if (t < out) { /* tiles of about equal width: a narrow last one would reread all weights */
        const int64_t n = (out + t - 1) / t;
        t = ((out + n - 1) / n + OX_CONV_TILE_ALIGN - 1) / OX_CONV_TILE_ALIGN * OX_CONV_TILE_ALIGN;
    }
    return t < out ? t : out;
}

/* Each output channel reads a single input channel: the direct loop wins over GEMM. */
static bool is_depthwise(const ox_conv_shape *s) { return s->in_channels == s->group; }

/* One row of the im2col matrix: input channel plane xc seen through kernel tap k, for the
 * output positions [p0, p0 + np). Padding reads as zero. */
static void im2col_row(const ox_window *w, const float *xc, const int64_t *k, int64_t p0,
                       int64_t np, float *dst)
{
    const int last = w->nd - 1;
    const int64_t in_l = w->in[last], s_l = w->stride[last];
    int64_t o[OX_WIN_MAX_DIMS];
    unflatten(w->nd, w->out, p0, o);
    for (int64_t j = 0; j < np;) {
        /* A segment: consecutive output positions along the last dim. */
        int64_t seg = w->out[last] - o[last];
        if (seg > np - j) seg = np - j;
        bool inside = true;
        int64_t base = 0;
        for (int d = 0; d < last; d++) {
            int64_t pos = o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dil[d];
            if (pos < 0 || pos >= w->in[d]) inside = false;
            base = base * w->in[d] + pos;
        }
        float *out = dst + j;
        if (!inside) {
            memset(out, 0, (size_t)seg * sizeof *out);
        } else {
            const float *row = xc + base * in_l;
            int64_t start = o[last] * s_l - w->pad_begin[last] + k[last] * w->dil[last];
            int64_t q0, q1;
            ox_clip_range(start, s_l, seg, 0, in_l, &q0, &q1);
            for (int64_t q = 0; q < q0; q++) out[q] = 0.0f;
            if (s_l == 1 && q1 > q0) /* the common case: a contiguous run */
                memcpy(out + q0, row + start + q0, (size_t)(q1 - q0) * sizeof *out);
            else
                for (int64_t q = q0; q < q1; q++) out[q] = row[start + q * s_l];
            for (int64_t q = q1; q < seg; q++) out[q] = 0.0f;
        }
        j += seg;
        o[last] += seg;
        for (int d = last; d > 0 && o[d] == w->out[d]; d--) {
            o[d] = 0;
            o[d - 1]++;
        }
    }
}

/* The im2col matrix [channels * kernel_size, np] of channels planes of x, row-major: for
 * deep ones (rows > OX_CONV_PANEL_ROWS), whose panels would span more than the GEMM's K
 * block and read slower than the blocks the GEMM packs itself. */
static void im2col_rows(const ox_window *w, int64_t channels, const float *x, int64_t p0,
                        int64_t np, float *col, int threads)
{
    const int64_t kvol = ox_window_kernel_size(w), insz = ox_window_in_size(w);
    const int64_t rows = channels * kvol;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t r = 0; r < rows; r++) {
        int64_t k[OX_WIN_MAX_DIMS];
        unflatten(w->nd, w->kernel, r % kvol, k);
        im2col_row(w, x + (r / kvol) * insz, k, p0, np, col + r * np);
    }
}

/* The im2col matrix [channels * kernel_size, np] of channels planes of x, written straight
 * in the GEMM's panel layout (gemm.h, ox_sgemm_panels: column j of row r at
 * col[(j / nr) * rows * nr + r * nr + j % nr], zeros past np in the last panel), so the GEMM
 * reads it without packing it again. Each row is built OX_CONV_CHUNK columns at a time in a
 * buffer on the stack (L1), then dealt out to the panels. */
#ifdef ONYX_CORE
#define OX_CONV_CHUNK 96 /* the core library's small stacks (firmware) */
#else
#define OX_CONV_CHUNK 960 /* a multiple of OX_CONV_TILE_ALIGN: chunks hold whole panels */
#endif
static void im2col_tile(const ox_window *w, int64_t channels, const float *x, int64_t p0,
                        int64_t np, float *col, int nr, int threads)
{
    const int64_t kvol = ox_window_kernel_size(w), insz = ox_window_in_size(w);
    const int64_t rows = channels * kvol, pstride = rows * nr;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t r = 0; r < rows; r++) {
        int64_t k[OX_WIN_MAX_DIMS];
        float buf[OX_CONV_CHUNK + OX_CONV_NR_MAX];
        unflatten(w->nd, w->kernel, r % kvol, k);
        for (int64_t c0 = 0; c0 < np; c0 += OX_CONV_CHUNK) {
            const int64_t n = np - c0 < OX_CONV_CHUNK ? np - c0 : OX_CONV_CHUNK;
            const int64_t padded = (n + nr - 1) / nr * nr;
            im2col_row(w, x + (r / kvol) * insz, k, p0 + c0, n, buf);
            for (int64_t j = n; j < padded; j++) buf[j] = 0.0f;
            float *dst = col + (c0 / nr) * pstride + r * nr;
            if (nr == OX_CONV_NR_MAX)
                for (int64_t j = 0; j < padded; j += OX_CONV_NR_MAX, dst += pstride)
                    memcpy(dst, buf + j, OX_CONV_NR_MAX * sizeof(float));
            else
                for (int64_t j = 0; j < padded; j += nr, dst += pstride)
                    memcpy(dst, buf + j, (size_t)nr * sizeof(float));
        }
    }
}

/* ---- direct -------------------------------------------------------------------------- */

/* y[i] += a * x[i*step] for i < n. The contiguous case runs in blocks of 8, a shape that
 * compilers vectorise even at -O2. */
static void axpy_f32(float *restrict y, float a, const float *restrict x, int64_t step, int64_t n)
{
    int64_t i = 0;
    if (step == 1)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) y[i + j] += a * x[i + j];
    for (; i < n; i++) y[i] += a * x[i * step];
}

static void axpy_f64(double *restrict y, double a, const double *restrict x, int64_t step,
                     int64_t n)
{
    int64_t i = 0;
    if (step == 1)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) y[i + j] += a * x[i + j];
    for (; i < n; i++) y[i] += a * x[i * step];
}

/* y (one output plane, holding the bias) += the correlation of the cg input planes x with
 * the kernels wk (cg planes of kernel-size taps). The output is walked a line at a time;
 * for each combination of outer-dim taps, each tap of the last dim adds a scaled, strided
 * input segment to the line, so the inner loop runs along the output line. */
#define DIRECT_PLANE(NAME, T, AXPY)                                                           \
    static void NAME(const ox_window *w, int64_t cg, const T *x, const T *wk, T *y)           \
    {                                                                                         \
        const int last = w->nd - 1;                                                           \
        const int64_t insz = ox_window_in_size(w), kvol = ox_window_kernel_size(w);           \
        const int64_t nl = w->out[last], in_l = w->in[last], s_l = w->stride[last];           \
        int64_t xs[OX_WIN_MAX_DIMS], ks[OX_WIN_MAX_DIMS];                                     \
        int64_t o[OX_WIN_MAX_DIMS] = {0}, k0[OX_WIN_MAX_DIMS], k1[OX_WIN_MAX_DIMS];           \
        int64_t k[OX_WIN_MAX_DIMS];                                                           \
        xs[last] = ks[last] = 1;                                                              \
        for (int d = last - 1; d >= 0; d--) {                                                 \
            xs[d] = xs[d + 1] * w->in[d + 1];                                                 \
            ks[d] = ks[d + 1] * w->kernel[d + 1];                                             \
        }                                                                                     \
        if (ox_window_out_size(w) == 0) return;                                               \
        for (T *yl = y;; yl += nl) {                                                          \
            bool any = true;                                                                  \
            for (int d = 0; d < last; d++) {                                                  \
                ox_window_taps(w, d, o[d], 0, w->in[d], &k0[d], &k1[d]);                      \
                any = any && k0[d] < k1[d];                                                   \
                k[d] = k0[d];                                                                 \
            }                                                                                 \
            while (any) {                                                                     \
                int64_t xo = 0, wo = 0;                                                       \
                for (int d = 0; d < last; d++) {                                              \
                    xo += (o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dil[d]) * xs[d]; \
                    wo += k[d] * ks[d];                                                       \
                }                                                                             \
                for (int64_t c = 0; c < cg; c++) {                                            \
                    const T *xr = x + c * insz + xo, *wr = wk + c * kvol + wo;                \
                    for (int64_t kl = 0; kl < w->kernel[last]; kl++) {                        \
                        const int64_t start = kl * w->dil[last] - w->pad_begin[last];         \
                        const T wv = wr[kl];                                                  \
                        int64_t q0, q1;                                                       \
                        ox_clip_range(start, s_l, nl, 0, in_l, &q0, &q1);                     \
                        if (q0 < q1)                                                          \
                            AXPY(yl + q0, wv, xr + (start + q0 * s_l), s_l, q1 - q0);         \
                    }                                                                         \
                }                                                                             \
                int d = last - 1;                                                             \
                while (d >= 0 && ++k[d] == k1[d]) {                                           \
                    k[d] = k0[d];                                                             \
                    d--;                                                                      \
                }                                                                             \
                any = d >= 0;                                                                 \
            }                                                                                 \
            if (!ox_window_next_line(w, o)) break;                                            \
        }                                                                                     \
    }

DIRECT_PLANE(direct_plane_f32, float, axpy_f32)
DIRECT_PLANE(direct_plane_f64, double, axpy_f64)

#ifdef _OPENMP
#define OX_CONV_OMP_FOR \
    _Pragma("omp parallel for num_threads(threads) schedule(static) if (threads > 1)")
#else
#define OX_CONV_OMP_FOR
#endif

/* The direct convolution, one output plane per task. */
#define DIRECT_CONV(NAME, PLANE, T)                                                           \
    static void NAME(const ox_conv_shape *s, const T *x, const T *w, const T *b, T *y,        \
                     int threads)                                                             \
    {                                                                                         \
        const int64_t cg = s->in_channels / s->group, mg = s->out_channels / s->group;        \
        const int64_t insz = ox_window_in_size(&s->win), outsz = ox_window_out_size(&s->win); \
        const int64_t kvol = ox_window_kernel_size(&s->win);                                  \
        const int64_t planes = s->batch * s->out_channels;                                    \
        (void)threads;                                                                        \
        OX_CONV_OMP_FOR                                                                       \
        for (int64_t pl = 0; pl < planes; pl++) {                                             \
            const int64_t n = pl / s->out_channels, oc = pl % s->out_channels;                \
            T *yp = y + pl * outsz;                                                           \
            for (int64_t i = 0; i < outsz; i++) yp[i] = b ? b[oc] : (T)0;                     \
            PLANE(&s->win, cg, x + (n * s->in_channels + oc / mg * cg) * insz,                \
                  w + oc * cg * kvol, yp);                                                    \
        }                                                                                     \
    }


DIRECT_CONV(direct_conv_f64, direct_plane_f64, double)

/* ---- float driver ----------------------------------------------------------------------- */

/* Below this many outputs an epilogue runs on one thread: forking costs more than it saves. */
#define OX_CONV_PAR_MIN ((int64_t)1 << 15)
/* Below this many multiply-adds a whole convolution runs on one thread. */
#define OX_CONV_PAR_WORK 262144.0
/* The narrowest column block threads split a convolution into (below: they split its GEMMs). */
#define OX_CONV_SPLIT_MIN 32
/* A 1x1 convolution's output is computed in column tiles of about this many bytes (at least
 * OX_CONV_MIN_TILE columns), so the epilogue reads each tile from cache. */
#define OX_CONV_PW_TILE_BYTES ((int64_t)256 << 10)

static void epilogue_row(const ox_conv_epilogue *e, float bias, const float *r, float *y, int64_t n)
{
    if (e && e->portable) ox_act_bias_res_f32_portable(&e->act, bias, r, y, n);
    else ox_act_bias_res_f32(e ? &e->act : NULL, bias, r, y, n);
}

/* Bias, residual r (row stride ld like y, or NULL) and activation over rows [0, m) of y (row
 * stride ld), columns [0, n). */
static void epilogue_block(const ox_conv_epilogue *e, const float *b, const float *r, float *y, int64_t m,
                           int64_t n, int64_t ld, int threads)
{
    if (!b && !r && (!e || e->act.kind == OX_ACT_NONE)) return;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && m * n >= OX_CONV_PAR_MIN)
#endif
    for (int64_t row = 0; row < m; row++)
        epilogue_row(e, b ? b[row] : 0.0f, r ? r + row * ld : NULL, y + row * ld, n);
}

/* Depthwise: one output plane per task, each finished (bias, taps, activation) while hot. */
static void depthwise_f32(const ox_conv_shape *s, const float *x, const float *w, const float *b,
                          const ox_conv_epilogue *e, float *y, int threads)
{
    const int64_t mg = s->out_channels / s->group;
    const int64_t insz = ox_window_in_size(&s->win), outsz = ox_window_out_size(&s->win);
    const int64_t kvol = ox_window_kernel_size(&s->win), planes = s->batch * s->out_channels;
    const bool simd = !(e && e->portable) && ox_conv_dw_simd_handles(&s->win);
    (void)threads;
    OX_CONV_OMP_FOR
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t n = pl / s->out_channels, oc = pl % s->out_channels;
        const float *xp = x + (n * s->in_channels + oc / mg) * insz, *wk = w + oc * kvol;
        const float bias = b ? b[oc] : 0.0f;
        float *yp = y + pl * outsz;
        const float *rp = e && e->residual ? e->residual + pl * outsz : NULL;
        if (simd) {
            ox_conv_dw_plane_simd(&s->win, xp, wk, bias, yp);
        } else {
            for (int64_t i = 0; i < outsz; i++) yp[i] = bias;
            direct_plane_f32(&s->win, 1, xp, wk, yp);
        }
        if (e) epilogue_row(e, 0.0f, rp, yp, outsz); /* the bias is in already */
    }
}

/* Columns per tile of a 1x1 convolution with mg output channels per group. */
static int64_t pointwise_tile(int64_t mg, int64_t outsz)
{
    int64_t t = OX_CONV_PW_TILE_BYTES / ((mg > 0 ? mg : 1) * (int64_t)sizeof(float));
    t = t < OX_CONV_MIN_TILE ? OX_CONV_MIN_TILE : t / OX_CONV_MIN_TILE * OX_CONV_MIN_TILE;
    return t < outsz ? t : outsz;
}

/* What every output block of one float convolution shares. */
typedef struct conv_job {
    const ox_conv_shape *s;
    const float *x, *w, *b;
    const ox_conv_epilogue *e;
    float *y;
    int64_t cg, mg, insz, outsz, rows;
    bool pointwise;
    int nr; /* the GEMM's panel width */
} conv_job;

/* Output columns [p0, p0 + np) of image n, group g, all its channels: the GEMM (on the input
 * itself for 1x1, else on the im2col panels built in col) with beta = 0, then the epilogue
 * while the block is in cache. threads: what each step may fork. */
static void conv_block(const conv_job *j, int64_t n, int64_t g, int64_t p0, int64_t np, float *col,
                       int threads)
{
    const ox_conv_shape *s = j->s;
    const int64_t mg = j->mg, rows = j->rows, outsz = j->outsz;
    const float *xg = j->x + (n * s->in_channels + g * j->cg) * j->insz;
    const float *wg = j->w + g * mg * rows;
    const float *bg = j->b ? j->b + g * mg : NULL;
    const int64_t yoff = (n * s->out_channels + g * mg) * outsz + p0;
    float *yg = j->y + yoff;
    const float *rg = j->e && j->e->residual ? j->e->residual + yoff : NULL;
    if (rows == 0) { /* no products: the epilogue of zero */
        for (int64_t m = 0; m < mg; m++)
            for (int64_t i = 0; i < np; i++) yg[m * outsz + i] = 0.0f;
    } else if (j->pointwise) {
        ox_sgemm(false, false, mg, np, rows, 1.0f, wg, rows, xg + p0, j->insz, 0.0f, yg, outsz, threads);
    } else if (rows <= OX_CONV_PANEL_ROWS) {
        im2col_tile(&s->win, j->cg, xg, p0, np, col, j->nr, threads);
        ox_sgemm_panels(mg, np, rows, 1.0f, wg, rows, col, 0.0f, yg, outsz, threads);
    } else {
        im2col_rows(&s->win, j->cg, xg, p0, np, col, threads);
        ox_sgemm(false, false, mg, np, rows, 1.0f, wg, rows, col, np, 0.0f, yg, outsz, threads);
    }
    epilogue_block(j->e, bg, rg, yg, mg, np, outsz, threads);
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Floats of one thread's im2col panels (0 when there is no im2col), a multiple of 16 so each
 * thread's share stays 64-byte aligned. */
static int64_t col_floats(const ox_conv_shape *s)
{
    if (is_pointwise(&s->win) || is_depthwise(s)) return 0;
    return ceil_div(col_rows(s) * (tile_cols(s) + OX_CONV_NR_MAX - 1), 16) * 16;
}

size_t ox_conv_f32_scratch(const ox_conv_shape *s, int threads)
{
    return (size_t)col_floats(s) * (size_t)(threads > 1 ? threads : 1) * sizeof(float);
}

static int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void ox_conv_f32(const ox_conv_shape *s, const float *x, const float *w, const float *b,
                 const ox_conv_epilogue *e, float *y, void *scratch, int threads)
{
    const ox_window *win = &s->win;
    const int64_t cg = s->in_channels / s->group, mg = s->out_channels / s->group;
    const int64_t outsz = ox_window_out_size(win), rows = col_rows(s);
    const bool pointwise = is_pointwise(win);
    if (is_depthwise(s)) {
        depthwise_f32(s, x, w, b, e, y, threads);
        return;
    }
    if (outsz == 0) return;
    const conv_job j = {s, x, w, b, e, y, cg, mg, ox_window_in_size(win), outsz, rows, pointwise,
                        ox_sgemm_panel_width()};
    const int64_t tile = pointwise ? pointwise_tile(mg, outsz) : tile_cols(s);
    const int64_t per_thread = col_floats(s);
    float *col = scratch;
    int nt = threads < 1 ? 1 : threads;
    if ((double)s->batch * (double)s->out_channels * (double)outsz * (double)(rows > 0 ? rows : 1) < OX_CONV_PAR_WORK)
        nt = 1;
    /* Threads take whole blocks of columns, each one's GEMM, im2col and epilogue on its own
     * (the GEMM's bits do not depend on how the columns are split): one parallel region for
     * the node instead of three per tile. The tile count is a multiple of the threads, so
     * they get equal shares. Too few columns for that (the 7 x 7 maps of late layers): the
     * threads split each GEMM instead. */
    const int64_t tiles = nt > 1 ? ceil_div(ceil_div(outsz, tile), nt) * nt : 0;
    const int64_t split_tile = tiles > 0 ? ceil_div(outsz, tiles) : 0;
    if (nt > 1 && split_tile >= OX_CONV_SPLIT_MIN) {
        const int64_t per_image = ceil_div(outsz, split_tile), jobs = s->batch * s->group * per_image;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
        for (int64_t jb = 0; jb < jobs; jb++) {
            const int64_t ng = jb / per_image, p0 = jb % per_image * split_tile;
            const int64_t np = outsz - p0 < split_tile ? outsz - p0 : split_tile;
            float *mine = col ? col + thread_index() * per_thread : NULL;
            conv_block(&j, ng / s->group, ng % s->group, p0, np, mine, 1);
        }
        return;
    }
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t g = 0; g < s->group; g++)
            for (int64_t p0 = 0; p0 < outsz; p0 += tile)
                conv_block(&j, n, g, p0, outsz - p0 < tile ? outsz - p0 : tile, col, nt);
}

void ox_conv_f64(const ox_conv_shape *s, const double *x, const double *w, const double *b,
                 double *y, int threads)
{
    direct_conv_f64(s, x, w, b, y, threads);
}
