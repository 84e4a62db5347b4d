/* resize.c — resampling tables and the nearest / linear / cubic drivers (see resize.h).
 *
 * Coordinates are computed in double by the reference's formulas, so the taps chosen at
 * exact ties (an output landing on an input sample, or halfway between two) are the
 * reference's. (The reference computes cubic weights in float32, through its float32
 * cubic_coeff_a; here they are double, which differs from it by about 1e-7 relative.) */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "resize.h"

/* ---- tables ------------------------------------------------------------------------------ */

/* x_original of output index yi, by the ONNX formulas. The target length in align_corners,
 * pytorch_half_pixel and tf_crop_and_resize is output_width = scale * in, which is
 * fractional when the scale does not divide the input evenly; a width of at most 1 takes
 * the spec's single-output branch (as onnxruntime does; the reference instead takes it only
 * at a width of exactly 1, and maps pytorch_half_pixel there to -0.5, not the spec's 0). */
static double source_coord(const ox_resize_geom *g, int64_t yi)
{
    const double y = (double)yi, in = (double)g->in, s = g->scale, width = s * (double)g->in;
    switch (g->coord) {
    case OX_COORD_HALF_PIXEL:
        return (y + 0.5) / s - 0.5;
    case OX_COORD_HALF_PIXEL_SYMMETRIC: {
        /* Centres the sampled region when the output length was rounded down. */
        double offset = in / 2 * (1 - (double)g->out / width);
        return offset + (y + 0.5) / s - 0.5;
    }
    case OX_COORD_PYTORCH_HALF_PIXEL:
        return width > 1 ? (y + 0.5) / s - 0.5 : 0.0;
    case OX_COORD_ALIGN_CORNERS:
        return width > 1 ? y * (in - 1) / (width - 1) : 0.0;
    case OX_COORD_ASYMMETRIC:
        return y / s;
    case OX_COORD_TF_HALF_PIXEL_FOR_NN:
        return (y + 0.5) / s;
    case OX_COORD_TF_CROP_AND_RESIZE: {
        double span = g->roi_end - g->roi_start;
        double x = width > 1 ? y * span * (in - 1) / (width - 1) : span * (in - 1) / 2;
        return x + g->roi_start * (in - 1);
    }
    }
    return 0.0;
}

/* tf_crop_and_resize outputs whose source lies outside the input take the fill value. */
static bool outside_crop(const ox_resize_geom *g, double x)
{
    return g->coord == OX_COORD_TF_CROP_AND_RESIZE && !(x >= 0 && x <= (double)(g->in - 1));
}

/* Keeps a coordinate where floor() converts safely to int64. Past `margin` samples beyond
 * either edge every tap is clamped to the edge sample anyway, so the result is unchanged
 * (NaN, from a NaN crop box, goes to the low edge). */
static double clamp_coord(double x, int64_t in, int margin)
{
    double lo = -(double)margin - 2, hi = (double)in + margin + 2;
    if (!(x >= lo)) return lo;
    return x > hi ? hi : x;
}

static int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : i >= in ? in - 1 : i; }

void ox_resize_identity_table(int64_t n, int64_t stride, ox_resize_axis *a)
{
    a->in = a->out = n;
    a->taps = 1;
    for (int64_t o = 0; o < n; o++) {
        a->src[o] = o * stride;
        if (a->w) a->w[o] = 1.0;
        a->fill[o] = 0;
    }
}

/* Whether nearest takes the sample above x rather than floor(x); r = x - floor(x) > 0. */
static bool nearest_rounds_up(ox_nearest_mode m, double r, double scale)
{
    switch (m) {
    case OX_NEAREST_ROUND_PREFER_FLOOR: return r > 0.5;
    case OX_NEAREST_ROUND_PREFER_CEIL: return r >= 0.5;
    case OX_NEAREST_FLOOR: return false;
    case OX_NEAREST_CEIL: return true;
    case OX_NEAREST_SIMPLE: return scale < 1;
    }
    return false;
}

void ox_resize_nearest_table(const ox_resize_geom *g, ox_nearest_mode m, int64_t stride,
                             ox_resize_axis *a)
{
    a->in = g->in;
    a->out = g->out;
    a->taps = 1;
    for (int64_t o = 0; o < g->out; o++) {
        double x = source_coord(g, o);
        a->fill[o] = outside_crop(g, x);
        x = clamp_coord(x, g->in, 1);
        double f = floor(x);
        int64_t i = (int64_t)f + (x > f && nearest_rounds_up(m, x - f, g->scale));
        a->src[o] = clamp_index(i, g->in) * stride;
    }
}

/* Filter half-width in input samples before stretching. */
static double filter_support(const ox_resize_filter *f) { return f->cubic ? 2.0 : 1.0; }

/* Factor applied to tap distances: antialiasing widens the filter by 1/scale when
 * downscaling. */
static double filter_scale(const ox_resize_filter *f, double scale)
{
    return f->antialias && scale < 1 ? scale : 1.0;
}

/* Offset, from floor(x), of the first tap of a non-integral coordinate x. The taps are
 * symmetric about x: 2 * (1 - first) of them. */
static double first_tap(const ox_resize_filter *f, double scale)
{
    return floor(-filter_support(f) / filter_scale(f, scale)) + 1;
}

int ox_resize_taps(const ox_resize_filter *f, double scale)
{
    double first = first_tap(f, scale);
    if (!(first >= -(double)(1 << 20))) return 0;
    return (int)(2 - 2 * first);
}

/* Keys' cubic convolution kernel with parameter a. */
static double cubic_kernel(double x, double a)
{
    x = fabs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

static double linear_kernel(double x)
{
    x = 1 - fabs(x);
    return x > 0 ? x : 0.0;
}

/* Scales w[0..n) to sum to 1 (left as is when they sum to 0). */
static void normalise(double *w, int n)
{
    double sum = 0;
    for (int j = 0; j < n; j++) sum += w[j];
    if (sum != 0)
        for (int j = 0; j < n; j++) w[j] /= sum;
}

/* Taps and weights of one output at input coordinate x. As in the ONNX reference, an
 * integral x is treated as lying at ratio 1 past the sample below it, so the window
 * reaches one sample further down; the weights then select x itself. */
static void filter_taps(const ox_resize_geom *g, const ox_resize_filter *f, double x,
                        int64_t stride, int n, int64_t *src, double *w)
{
    double k = filter_scale(f, g->scale), first = first_tap(f, g->scale);
    x = clamp_coord(x, g->in, n);
    double fl = floor(x);
    double ratio = x == fl ? 1.0 : x - fl;
    int64_t start = (int64_t)fl + (int64_t)first - (x == fl);
    if (!f->cubic && !f->antialias) {
        /* Plain linear: the reference's exact weights (1 - (1 - r) may differ from r in the
         * last bit, which moves integer results at rounding ties). */
        w[0] = 1 - ratio;
        w[1] = ratio;
    } else {
        for (int j = 0; j < n; j++) {
            double d = (first + j - ratio) * k;
            w[j] = f->cubic ? cubic_kernel(d, f->cubic_a) : linear_kernel(d);
        }
    }
    if (f->antialias) normalise(w, n);
    if (f->exclude_outside) {
        for (int j = 0; j < n; j++)
            if (start + j < 0 || start + j >= g->in) w[j] = 0.0;
        normalise(w, n);
    }
    for (int j = 0; j < n; j++) src[j] = clamp_index(start + j, g->in) * stride;
}

void ox_resize_filter_table(const ox_resize_geom *g, const ox_resize_filter *f, int64_t stride,
                            ox_resize_axis *a)
{
    a->in = g->in;
    a->out = g->out;
    const int n = a->taps;
    for (int64_t o = 0; o < g->out; o++) {
        double x = source_coord(g, o);
        a->fill[o] = outside_crop(g, x);
        filter_taps(g, f, x, stride, n, a->src + o * n, a->w + o * n);
    }
}

/* ---- walking the output ------------------------------------------------------------------ */

/* The output is walked in rows: the elements sharing every index but the last. */
static int64_t row_count(int rank, const ox_resize_axis *ax)
{
    int64_t rows = 1;
    for (int d = 0; d < rank - 1; d++) rows *= ax[d].out;
    return rows;
}

/* Rows are split into contiguous chunks, one per thread, so every output is computed by
 * one thread in a fixed order whatever the thread count. */
static int chunk_count(int64_t rows, int threads)
{
    if (threads < 1) threads = 1;
    return rows < threads ? (int)rows : threads;
}

static void chunk_rows(int64_t rows, int chunks, int k, int64_t *r0, int64_t *r1)
{
    int64_t q = rows / chunks, rem = rows % chunks;
    *r0 = q * k + (k < rem ? k : rem);
    *r1 = *r0 + q + (k < rem);
}

/* Output indices o[0..rank-2] of row r; returns true if some axis fills that row. */
static bool row_index(int rank, const ox_resize_axis *ax, int64_t r, int64_t *o)
{
    bool filled = false;
    for (int d = rank - 2; d >= 0; d--) {
        o[d] = r % ax[d].out;
        r /= ax[d].out;
        filled |= ax[d].fill[o[d]] != 0;
    }
    return filled;
}

/* ---- nearest ----------------------------------------------------------------------------- */

static void copy_elem(void *dst, const void *src, size_t es)
{
    /* Fixed sizes let the compiler turn each copy into a single move. */
    switch (es) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, es); break;
    }
}

static void gather_rows(int rank, const ox_resize_axis *ax, size_t es, const char *x, char *y,
                        const void *fill, int64_t r0, int64_t r1)
{
    const ox_resize_axis *last = &ax[rank - 1];
    int64_t o[ONYX_MAX_RANK];
    for (int64_t r = r0; r < r1; r++) {
        bool filled = row_index(rank, ax, r, o);
        int64_t base = 0;
        for (int d = 0; d < rank - 1; d++) base += ax[d].src[o[d]];
        char *yr = y + (size_t)(r * last->out) * es;
        for (int64_t i = 0; i < last->out; i++) {
            const void *s = filled || last->fill[i] ? fill : x + (size_t)(base + last->src[i]) * es;
            copy_elem(yr + (size_t)i * es, s, es);
        }
    }
}

void ox_resize_gather(int rank, const ox_resize_axis *ax, size_t esize, const void *x, void *y,
                      const void *fill, int threads)
{
    int64_t rows = row_count(rank, ax);
    int chunks = chunk_count(rows, threads);
    if (chunks == 0) return;
#ifdef _OPENMP
#pragma omp parallel for num_threads(chunks) schedule(static) if (chunks > 1)
#endif
    for (int k = 0; k < chunks; k++) {
        int64_t r0, r1;
        chunk_rows(rows, chunks, k, &r0, &r1);
        gather_rows(rank, ax, esize, x, y, fill, r0, r1);
    }
}

/* ---- linear and cubic -------------------------------------------------------------------- */

/* Reading input rows as double: load copies n elements from x + base; axpy adds w times
 * them to dst. */
typedef struct row_ops {
    void (*load)(const void *x, int64_t base, int64_t n, double *dst);
    void (*axpy)(const void *x, int64_t base, int64_t n, double w, double *dst);
} row_ops;

#define DEFINE_ROW_OPS(sfx, T, LOAD)                                                        \
    static void load_##sfx(const void *xv, int64_t base, int64_t n, double *dst)           \
    {                                                                                       \
        const T *x = (const T *)xv + base;                                                  \
        for (int64_t i = 0; i < n; i++) dst[i] = (double)LOAD(x[i]);                        \
    }                                                                                       \
    static void axpy_##sfx(const void *xv, int64_t base, int64_t n, double w, double *dst) \
    {                                                                                       \
        const T *x = (const T *)xv + base;                                                  \
        for (int64_t i = 0; i < n; i++) dst[i] += w * (double)LOAD(x[i]);                   \
    }

#define LOAD_PLAIN(v) (v)
#define LOAD_F16(v) ox_f16_to_f32(v)
#define LOAD_BF16(v) ox_bf16_to_f32(v)

DEFINE_ROW_OPS(f32, float, LOAD_PLAIN)
DEFINE_ROW_OPS(f64, double, LOAD_PLAIN)
DEFINE_ROW_OPS(f16, uint16_t, LOAD_F16)
DEFINE_ROW_OPS(bf16, uint16_t, LOAD_BF16)
DEFINE_ROW_OPS(i8, int8_t, LOAD_PLAIN)
DEFINE_ROW_OPS(u8, uint8_t, LOAD_PLAIN)
DEFINE_ROW_OPS(i16, int16_t, LOAD_PLAIN)
DEFINE_ROW_OPS(u16, uint16_t, LOAD_PLAIN)
DEFINE_ROW_OPS(i32, int32_t, LOAD_PLAIN)
DEFINE_ROW_OPS(u32, uint32_t, LOAD_PLAIN)
DEFINE_ROW_OPS(i64, int64_t, LOAD_PLAIN)
DEFINE_ROW_OPS(u64, uint64_t, LOAD_PLAIN)

#define ROW_OPS(sfx) ((row_ops){load_##sfx, axpy_##sfx})

static bool row_ops_for(onyx_dtype t, row_ops *ops)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: *ops = ROW_OPS(f32); return true;
    case ONYX_DTYPE_DOUBLE: *ops = ROW_OPS(f64); return true;
    case ONYX_DTYPE_FLOAT16: *ops = ROW_OPS(f16); return true;
    case ONYX_DTYPE_BFLOAT16: *ops = ROW_OPS(bf16); return true;
    case ONYX_DTYPE_INT8: *ops = ROW_OPS(i8); return true;
    case ONYX_DTYPE_UINT8: *ops = ROW_OPS(u8); return true;
    case ONYX_DTYPE_INT16: *ops = ROW_OPS(i16); return true;
    case ONYX_DTYPE_UINT16: *ops = ROW_OPS(u16); return true;
    case ONYX_DTYPE_INT32: *ops = ROW_OPS(i32); return true;
    case ONYX_DTYPE_UINT32: *ops = ROW_OPS(u32); return true;
    case ONYX_DTYPE_INT64: *ops = ROW_OPS(i64); return true;
    case ONYX_DTYPE_UINT64: *ops = ROW_OPS(u64); return true;
    default: return false;
    }
}

bool ox_resize_interp_supported(onyx_dtype t)
{
    row_ops ops;
    return row_ops_for(t, &ops);
}

/* Half-precision results: finite values beyond the type's range saturate to its largest
 * finite value (as the reference's saturate_cast does); infinities and NaN pass through. */
static double saturate(double v, double max)
{
    if (v > max && v <= DBL_MAX) return max;
    if (v < -max && v >= -DBL_MAX) return -max;
    return v;
}

/* Integers: round half to even, then clamp to [lo, hi]; NaN gives 0. lo and hi are exact
 * in double except for the 64-bit bounds, which the comparisons handle: v >= 2^63 is out of
 * int64's range and 2^64 out of uint64's. */
static double round_clamp(double v, double lo, double hi)
{
    if (v != v) return 0.0;
    v = nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

#define STORE_INT(T, lo, hi)                                                     \
    for (int64_t i = 0; i < n; i++) {                                            \
        double r = round_clamp(v[i], (double)(lo), (double)(hi));                \
        ((T *)y)[i] = r >= (double)(hi) ? (T)(hi) : (T)r;                        \
    }

void ox_resize_store(onyx_dtype t, const double *v, int64_t n, void *y)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT:
        for (int64_t i = 0; i < n; i++) ((float *)y)[i] = (float)v[i];
        break;
    case ONYX_DTYPE_DOUBLE:
        for (int64_t i = 0; i < n; i++) ((double *)y)[i] = v[i];
        break;
    case ONYX_DTYPE_FLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)y)[i] = ox_f32_to_f16((float)saturate(v[i], 65504.0));
        break;
    case ONYX_DTYPE_BFLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)y)[i] = ox_f32_to_bf16((float)saturate(v[i], 3.3895313892515355e38));
        break;
    case ONYX_DTYPE_INT8: STORE_INT(int8_t, INT8_MIN, INT8_MAX) break;
    case ONYX_DTYPE_UINT8: STORE_INT(uint8_t, 0, UINT8_MAX) break;
    case ONYX_DTYPE_INT16: STORE_INT(int16_t, INT16_MIN, INT16_MAX) break;
    case ONYX_DTYPE_UINT16: STORE_INT(uint16_t, 0, UINT16_MAX) break;
    case ONYX_DTYPE_INT32: STORE_INT(int32_t, INT32_MIN, INT32_MAX) break;
    case ONYX_DTYPE_UINT32: STORE_INT(uint32_t, 0, UINT32_MAX) break;
    case ONYX_DTYPE_INT64: STORE_INT(int64_t, INT64_MIN, INT64_MAX) break;
    case ONYX_DTYPE_UINT64: STORE_INT(uint64_t, 0, UINT64_MAX) break;
    default: break;
    }
}

int64_t ox_resize_interp_work(int rank, const int64_t *in_dims, const int64_t *out_dims,
                              int threads)
{
    int64_t rows = 1;
    for (int d = 0; d < rank - 1; d++) rows *= out_dims[d];
    return chunk_count(rows, threads) * (rank * in_dims[rank - 1] + out_dims[rank - 1]);
}

/* One output row being computed: the axes, the row's outer output indices o, the input. */
typedef struct interp_row {
    const ox_resize_axis *ax;
    const int64_t *o;
    const void *x;
    row_ops ops;
    int64_t width; /* input length of the last axis */
} interp_row;

/* dst[0..width) = the input row at base resampled along the outer axes 0..d: the weighted
 * sum over axis d's taps of the same along axes 0..d-1. Axis 0 is innermost, so sums
 * associate as the reference's axis-by-axis passes do (axis 0 first). Axes copied
 * unchanged (one tap, weight 1) are passed through exactly. dst + width onwards is
 * scratch for the deeper levels. */
static void resample_outer(const interp_row *r, int d, int64_t base, double *dst)
{
    if (d < 0) {
        r->ops.load(r->x, base, r->width, dst);
        return;
    }
    const ox_resize_axis *a = &r->ax[d];
    const int64_t k = r->o[d] * a->taps;
    if (a->taps == 1) {
        resample_outer(r, d - 1, base + a->src[k], dst);
        return;
    }
    for (int64_t i = 0; i < r->width; i++) dst[i] = 0.0;
    for (int j = 0; j < a->taps; j++) {
        if (d == 0) {
            r->ops.axpy(r->x, base + a->src[k + j], r->width, a->w[k + j], dst);
        } else {
            double *t = dst + r->width;
            resample_outer(r, d - 1, base + a->src[k + j], t);
            for (int64_t i = 0; i < r->width; i++) dst[i] += a->w[k + j] * t[i];
        }
    }
}

/* Resamples the last axis from the outer-resampled row `row` into out. */
static void resample_last(const ox_resize_axis *last, const double *row, double fill,
                          double *out)
{
    const int n = last->taps;
    if (n == 2) { /* linear: the common case, unrolled (same sums) */
        const int64_t *s = last->src;
        const double *w = last->w;
        for (int64_t o = 0; o < last->out; o++)
            out[o] = last->fill[o] ? fill : w[2 * o] * row[s[2 * o]] + w[2 * o + 1] * row[s[2 * o + 1]];
        return;
    }
    for (int64_t o = 0; o < last->out; o++) {
        const int64_t *s = last->src + o * n;
        const double *w = last->w + o * n;
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += w[j] * row[s[j]];
        out[o] = last->fill[o] ? fill : sum;
    }
}

static void interp_rows(int rank, const ox_resize_axis *ax, onyx_dtype t, const void *x,
                        char *y, double fill, double *work, int64_t r0, int64_t r1)
{
    const ox_resize_axis *last = &ax[rank - 1];
    const size_t es = onyx_dtype_size(t);
    int64_t o[ONYX_MAX_RANK];
    interp_row r = {ax, o, x, {NULL, NULL}, last->in};
    row_ops_for(t, &r.ops);
    double *out = work, *row = work + last->out;
    for (int64_t ri = r0; ri < r1; ri++) {
        if (row_index(rank, ax, ri, o)) {
            for (int64_t i = 0; i < last->out; i++) out[i] = fill;
        } else {
            resample_outer(&r, rank - 2, 0, row);
            resample_last(last, row, fill, out);
        }
        ox_resize_store(t, out, last->out, y + (size_t)(ri * last->out) * es);
    }
}

void ox_resize_interp(int rank, const ox_resize_axis *ax, onyx_dtype t, const void *x, void *y,
                      double fill, double *work, int threads)
{
    int64_t rows = row_count(rank, ax);
    int chunks = chunk_count(rows, threads);
    int64_t per_chunk = rank * ax[rank - 1].in + ax[rank - 1].out;
    if (!ox_resize_interp_supported(t) || chunks == 0) return;
#ifdef _OPENMP
#pragma omp parallel for num_threads(chunks) schedule(static) if (chunks > 1)
#endif
    for (int k = 0; k < chunks; k++) {
        int64_t r0, r1;
        chunk_rows(rows, chunks, k, &r0, &r1);
        interp_rows(rank, ax, t, x, y, fill, work + k * per_chunk, r0, r1);
    }
}
