/* signal.c — spectral ops: DFT, STFT, the Hann, Hamming and Blackman windows and
 * MelWeightMatrix.
 *
 * DFT and STFT transform "lines": one 1-D signal per position of the other dims. Every line
 * is gathered into a complex double buffer (zero-padded or truncated to the DFT length),
 * transformed by kernels/fft.c and scattered into the output. Inputs that are not double are
 * converted to double up front and outputs converted back at the end (scratch holds both), so
 * float16, bfloat16, float and double share one code path and round once. Lines are split
 * into contiguous blocks, one per thread with its own buffer, and each line is computed the
 * same way whatever the block, so results do not depend on the thread count.
 *
 * The semantics follow the ONNX specification and, where it is silent, the reference
 * evaluator (onnx/reference/ops): a one-sided forward DFT of complex input keeps the first
 * n/2 + 1 bins of the full transform, and a one-sided inverse (IRFFT) of real input treats
 * the imaginary parts as zero. */
#include <math.h>

#include "convert.h"
#include "fft.h"
#include "op.h"

/* ---- shared helpers -------------------------------------------------------------------- */

static const ox_cast_opts CAST_OPTS = {true, OX_E8M0_UP};
static const double PI = 3.14159265358979323846;

static bool is_float_dtype(onyx_dtype t)
{
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BFLOAT16;
}

static onyx_status need_float(ox_ctx *c, int i, const char *what)
{
    if (is_float_dtype(c->in[i]->dtype)) return ONYX_OK;
    return ox_fail(c, ONYX_E_UNSUPPORTED, "%s must be float16, bfloat16, float or double, got %s",
                   what, onyx_dtype_name(c->in[i]->dtype));
}

/* Input i: a plan-time-known int32/int64 scalar (or one-element 1-D tensor). */
static onyx_status scalar_int(ox_ctx *c, int i, const char *what, int64_t *v)
{
    int n;
    onyx_status st = ox_input_ints(c, i, what, v, 1, &n);
    if (st) return st;
    if (n != 1) return ox_fail(c, ONYX_E_SHAPE, "%s must hold one value, got %d", what, n);
    return ONYX_OK;
}

/* A 0/1 attribute. */
static onyx_status flag_attr(ox_ctx *c, const char *name, int64_t def, bool *out)
{
    int64_t v = ox_attr_int(c, name, def);
    if (v != 0 && v != 1)
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' must be 0 or 1, got %lld", name, (long long)v);
    *out = v == 1;
    return ONYX_OK;
}

/* Attribute output_datatype of the window ops and MelWeightMatrix: any real number type. */
static onyx_status output_datatype(ox_ctx *c, onyx_dtype *out)
{
    static const onyx_dtype allowed[] = {
        ONYX_DTYPE_UINT8, ONYX_DTYPE_UINT16, ONYX_DTYPE_UINT32,  ONYX_DTYPE_UINT64,
        ONYX_DTYPE_INT8,  ONYX_DTYPE_INT16,  ONYX_DTYPE_INT32,   ONYX_DTYPE_INT64,
        ONYX_DTYPE_FLOAT16, ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_BFLOAT16};
    int64_t v = ox_attr_int(c, "output_datatype", ONYX_DTYPE_FLOAT);
    for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++) {
        if (v == (int64_t)allowed[k]) {
            *out = allowed[k];
            return ONYX_OK;
        }
    }
    return ox_fail(c, ONYX_E_UNSUPPORTED, "output_datatype %lld is not a supported number type",
                   (long long)v);
}

/* Adds n doubles to a byte count; false on overflow. */
static bool add_doubles(size_t *bytes, int64_t n)
{
    if (n < 0 || (uint64_t)n > (SIZE_MAX - *bytes) / sizeof(double)) return false;
    *bytes += (size_t)n * sizeof(double);
    return true;
}

/* Takes n doubles from the scratch cursor. */
static double *take(char **cursor, int64_t n)
{
    double *p = (double *)(void *)*cursor;
    *cursor += (size_t)n * sizeof(double);
    return p;
}

/* t's elements as doubles: its own data when it is double, else converted into buf. */
static const double *as_f64(ox_ctx *c, const onyx_tensor *t, double *buf)
{
    if (t->dtype == ONYX_DTYPE_DOUBLE) return t->data;
    onyx_tensor d = *t;
    d.dtype = ONYX_DTYPE_DOUBLE;
    d.data = buf;
    (void)ox_cast_tensor(c, t, &d, &CAST_OPTS); /* float to double cannot fail */
    return buf;
}

/* Stores the doubles src into y (converting unless y is double and src is its data). */
static onyx_status store_f64(ox_ctx *c, const double *src, onyx_tensor *y)
{
    if (src == y->data) return ONYX_OK;
    onyx_tensor d = *y;
    d.dtype = ONYX_DTYPE_DOUBLE;
    d.data = (void *)src;
    return ox_cast_tensor(c, &d, y, &CAST_OPTS);
}

/* ---- transforms of lines, in parallel ------------------------------------------------------ */

/* Everything the per-line functions need: the transform, the double input and output laid
 * out as [outer][len][inner][channels], and the DFT/STFT specifics. */
typedef struct line_job {
    const ox_fft_plan *plan;
    const double *x;
    double *y;
    int64_t inner;           /* DFT: positions after the axis (before the channel dim) */
    int64_t len_in, len_out; /* samples per input line, bins per output line */
    int ch_in, ch_out;       /* 1 (real) or 2 (complex) */
    bool inverse, onesided;
    /* STFT only */
    int64_t frames, step;
    const onyx_tensor *window; /* NULL for the rectangular window */
} line_job;

typedef void (*line_fn)(const line_job *j, int64_t line, double *buf, double *work);

/* Runs fn on every line; block b of the lines uses slot b of slot_mem (a line buffer of 2n
 * doubles, then the transform's work). */
static void for_each_line(const line_job *j, line_fn fn, int64_t lines, int slots, double *slot_mem)
{
    const int64_t n = j->plan->n;
    const size_t slot_doubles = 2 * (size_t)n + ox_fft_work_doubles(n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(slots) schedule(static) if (slots > 1)
#endif
    for (int b = 0; b < slots; b++) {
        double *buf = slot_mem + (size_t)b * slot_doubles, *work = buf + 2 * n;
        int64_t lo = lines * b / slots, hi = lines * (b + 1) / slots;
        for (int64_t l = lo; l < hi; l++) fn(j, l, buf, work);
    }
}

/* How many line slots to use: one per thread, at most one per line. */
static int slot_count(const ox_ctx *c, int64_t lines)
{
    int64_t s = c->threads < lines ? c->threads : lines;
    return s < 1 ? 1 : (int)s;
}

/* Scratch for a line transform: plan tables, the double input and output when the tensors
 * are not double, and the slots. */
static onyx_status line_scratch(ox_ctx *c, int64_t n, int64_t lines, int64_t x_numel,
                                int64_t y_numel, size_t *bytes)
{
    size_t b = 0;
    int64_t slot = 2 * n + (int64_t)ox_fft_work_doubles(n);
    if (!add_doubles(&b, (int64_t)ox_fft_table_doubles(n)) || !add_doubles(&b, x_numel) ||
        !add_doubles(&b, y_numel) || slot_count(c, lines) > INT64_MAX / slot ||
        !add_doubles(&b, slot * slot_count(c, lines)))
        return ox_fail(c, ONYX_E_LIMIT, "scratch for a %lld-point transform overflows", (long long)n);
    *bytes = b;
    return ONYX_OK;
}

/* Carves the scratch of line_scratch, converts the input and runs n-point transforms on
 * every line. */
static onyx_status transform_lines(ox_ctx *c, line_job *j, line_fn fn, int64_t n, int64_t lines,
                                   const onyx_tensor *x, onyx_tensor *y)
{
    size_t need;
    onyx_status st = line_scratch(c, n, lines, x->dtype == ONYX_DTYPE_DOUBLE ? 0 : ox_tensor_numel(x),
                                  y->dtype == ONYX_DTYPE_DOUBLE ? 0 : ox_tensor_numel(y), &need);
    if (st) return st;
    if (c->scratch_bytes < need || !c->scratch)
        return ox_fail(c, ONYX_E_INTERNAL, "scratch of %zu bytes granted, %zu needed",
                       c->scratch_bytes, need);
    char *cur = c->scratch;
    ox_fft_plan plan;
    ox_fft_plan_init(&plan, n, take(&cur, (int64_t)ox_fft_table_doubles(n)));
    j->plan = &plan;
    j->x = as_f64(c, x, x->dtype == ONYX_DTYPE_DOUBLE ? NULL : take(&cur, ox_tensor_numel(x)));
    j->y = y->dtype == ONYX_DTYPE_DOUBLE ? y->data : take(&cur, ox_tensor_numel(y));
    if (lines > 0) for_each_line(j, fn, lines, slot_count(c, lines), (double *)(void *)cur);
    st = store_f64(c, j->y, y);
    j->plan = NULL;
    return st;
}

/* ---- DFT ----------------------------------------------------------------------------------- */

typedef struct dft_args {
    int axis;           /* normalised, < rank - 1 */
    int64_t n;          /* DFT length */
    bool inverse, onesided;
} dft_args;

/* The axis: attribute (default 1) before opset 20, optional input 2 (default -2) since. It
 * counts the trailing channel dim, which itself is not a valid axis. */
static onyx_status dft_axis(ox_ctx *c, int rank, int *axis)
{
    int64_t a;
    onyx_status st;
    if (c->opset < 20) {
        a = ox_attr_int(c, "axis", 1);
    } else if (ox_opt_in(c, 2)) {
        if ((st = scalar_int(c, 2, "axis", &a))) return st;
    } else {
        a = -2;
    }
    if (a < -rank || a >= rank - 1 || a == -1)
        return ox_fail(c, ONYX_E_ARG,
                       "axis %lld is out of range for rank %d (the last dim holds the complex parts)",
                       (long long)a, rank);
    *axis = (int)(a < 0 ? a + rank : a);
    return ONYX_OK;
}

static onyx_status dft_setup(ox_ctx *c, dft_args *d)
{
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = need_float(c, 0, "input"))) return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return ox_fail(c, ONYX_E_SHAPE, "input must have rank >= 2 and a last dim of 1 (real) or 2 "
                       "(complex), got rank %d", x->rank);
    if ((st = dft_axis(c, x->rank, &d->axis)) || (st = flag_attr(c, "inverse", 0, &d->inverse)) ||
        (st = flag_attr(c, "onesided", 0, &d->onesided)))
        return st;
    const int64_t len = x->dims[d->axis];
    if (ox_opt_in(c, 1)) {
        if ((st = scalar_int(c, 1, "dft_length", &d->n))) return st;
    } else {
        /* IRFFT takes n/2 + 1 bins, so an even n is assumed by default. */
        d->n = d->inverse && d->onesided ? 2 * (len - 1) : len;
    }
    if (d->n < 1 || d->n > OX_FFT_MAX_LEN)
        return ox_fail(c, ONYX_E_ARG, "DFT length %lld is not in [1, %lld]", (long long)d->n,
                       (long long)OX_FFT_MAX_LEN);
    return ONYX_OK;
}

static onyx_status dft_infer(ox_ctx *c)
{
    dft_args d;
    onyx_status st = dft_setup(c, &d);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    const int r = x->rank;
    int64_t dims[ONYX_MAX_RANK], numel, lines;
    for (int k = 0; k < r; k++) dims[k] = x->dims[k];
    dims[d.axis] = !d.inverse && d.onesided ? d.n / 2 + 1 : d.n;
    dims[r - 1] = d.inverse && d.onesided ? 1 : 2; /* IRFFT's result is real */
    if (!ox_shape_numel(r, dims, &numel)) return ox_fail(c, ONYX_E_SHAPE, "output size overflows");
    ox_set_shape(c->out[0], x->dtype, r, dims);
    dims[d.axis] = dims[r - 1] = 1; /* one line per position of the other dims */
    ox_shape_numel(r, dims, &lines);
    bool convert = x->dtype != ONYX_DTYPE_DOUBLE;
    return line_scratch(c, d.n, lines, convert ? ox_tensor_numel(x) : 0, convert ? numel : 0,
                        &c->scratch_bytes);
}

/* One DFT line: gather (pad/truncate), extend a one-sided spectrum for IRFFT, transform,
 * scale the inverse by 1/n, scatter. */
static void dft_line(const line_job *j, int64_t line, double *buf, double *work)
{
    const int64_t n = j->plan->n, o = line / j->inner, i = line % j->inner;
    const bool irfft = j->inverse && j->onesided;
    const int64_t have = irfft ? n / 2 + 1 : n; /* input bins the transform reads */
    const int64_t take_n = j->len_in < have ? j->len_in : have;
    const int64_t in_step = j->inner * j->ch_in, out_step = j->inner * j->ch_out;
    if (take_n > 0) { /* an empty input may have no data pointer to offset */
        const double *x = j->x + (o * j->len_in * j->inner + i) * j->ch_in;
        for (int64_t t = 0; t < take_n; t++) {
            buf[2 * t] = x[t * in_step];
            buf[2 * t + 1] = j->ch_in == 2 ? x[t * in_step + 1] : 0.0;
        }
    }
    for (int64_t t = 2 * take_n; t < 2 * n; t++) buf[t] = 0.0;
    if (irfft) /* the spectrum of a real signal: X[n - k] = conj(X[k]) */
        for (int64_t k = n / 2 + 1; k < n; k++) {
            buf[2 * k] = buf[2 * (n - k)];
            buf[2 * k + 1] = -buf[2 * (n - k) + 1];
        }
    ox_fft(j->plan, buf, j->inverse, work);
    const double div = j->inverse ? (double)n : 1.0;
    double *y = j->y + (o * j->len_out * j->inner + i) * j->ch_out;
    for (int64_t k = 0; k < j->len_out; k++) {
        y[k * out_step] = buf[2 * k] / div;
        if (j->ch_out == 2) y[k * out_step + 1] = buf[2 * k + 1] / div;
    }
}

static onyx_status dft_run(ox_ctx *c)
{
    dft_args d;
    onyx_status st = dft_setup(c, &d);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    const int r = x->rank;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < d.axis; k++) outer *= x->dims[k];
    for (int k = d.axis + 1; k < r - 1; k++) inner *= x->dims[k];
    line_job j = {.inner = inner, .len_in = x->dims[d.axis],
                  .len_out = y->dims[d.axis], .ch_in = (int)x->dims[r - 1],
                  .ch_out = (int)y->dims[r - 1], .inverse = d.inverse, .onesided = d.onesided};
    return transform_lines(c, &j, dft_line, d.n, outer * inner, x, y);
}

/* ---- STFT ---------------------------------------------------------------------------------- */

typedef struct stft_args {
    int64_t batch, len, ch;     /* signal [batch][len][ch] */
    int64_t step, n, frames;    /* frame step, frame (DFT) length, frame count */
    bool onesided;
} stft_args;

static onyx_status stft_setup(ox_ctx *c, stft_args *s)
{
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = need_float(c, 0, "signal"))) return st;
    const onyx_tensor *x = c->in[0], *w = ox_opt_in(c, 2);
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return ox_fail(c, ONYX_E_SHAPE, "signal must be [batch][length][1 or 2], got rank %d", x->rank);
    s->batch = x->dims[0];
    s->len = x->dims[1];
    s->ch = x->dims[2];
    if ((st = scalar_int(c, 1, "frame_step", &s->step)) ||
        (st = flag_attr(c, "onesided", 1, &s->onesided)))
        return st;
    if (s->step < 1) return ox_fail(c, ONYX_E_ARG, "frame_step %lld must be positive", (long long)s->step);
    if (w && w->dtype != x->dtype)
        return ox_fail(c, ONYX_E_ARG, "window is %s but the signal is %s", onyx_dtype_name(w->dtype),
                       onyx_dtype_name(x->dtype));
    if (w && w->rank != 1) return ox_fail(c, ONYX_E_SHAPE, "window must be 1-D, got rank %d", w->rank);
    if (ox_opt_in(c, 3)) {
        if ((st = scalar_int(c, 3, "frame_length", &s->n))) return st;
        if (w && w->dims[0] != s->n)
            return ox_fail(c, ONYX_E_SHAPE, "window has %lld values but frame_length is %lld",
                           (long long)w->dims[0], (long long)s->n);
    } else {
        s->n = w ? w->dims[0] : s->len;
    }
    if (s->n < 1 || s->n > s->len || s->n > OX_FFT_MAX_LEN)
        return ox_fail(c, ONYX_E_ARG, "frame_length %lld is not in [1, %lld] (the signal length)",
                       (long long)s->n, (long long)(s->len < OX_FFT_MAX_LEN ? s->len : OX_FFT_MAX_LEN));
    s->frames = (s->len - s->n) / s->step + 1;
    return ONYX_OK;
}

static onyx_status stft_infer(ox_ctx *c)
{
    stft_args s;
    onyx_status st = stft_setup(c, &s);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    int64_t dims[4] = {s.batch, s.frames, s.onesided ? s.n / 2 + 1 : s.n, 2}, numel;
    if (!ox_shape_numel(4, dims, &numel)) return ox_fail(c, ONYX_E_SHAPE, "output size overflows");
    ox_set_shape(c->out[0], x->dtype, 4, dims);
    bool convert = x->dtype != ONYX_DTYPE_DOUBLE;
    return line_scratch(c, s.n, s.batch * s.frames, convert ? ox_tensor_numel(x) : 0,
                        convert ? numel : 0, &c->scratch_bytes);
}

/* One frame: window the samples, transform, keep the first len_out bins. The window is read
 * in its own dtype: n reads per frame are cheap next to the transform. */
static void stft_line(const line_job *j, int64_t line, double *buf, double *work)
{
    const int64_t n = j->plan->n, b = line / j->frames, f = line % j->frames;
    const double *x = j->x + (b * j->len_in + f * j->step) * j->ch_in;
    for (int64_t t = 0; t < n; t++) {
        const double w = j->window ? ox_read_f64(j->window, t) : 1.0;
        buf[2 * t] = x[t * j->ch_in] * w;
        buf[2 * t + 1] = j->ch_in == 2 ? x[t * j->ch_in + 1] * w : 0.0;
    }
    ox_fft(j->plan, buf, false, work);
    double *y = j->y + line * j->len_out * 2;
    for (int64_t k = 0; k < 2 * j->len_out; k++) y[k] = buf[k];
}

static onyx_status stft_run(ox_ctx *c)
{
    stft_args s;
    onyx_status st = stft_setup(c, &s);
    if (st) return st;
    onyx_tensor *y = c->out[0];
    line_job j = {.len_in = s.len, .len_out = y->dims[2], .ch_in = (int)s.ch,
                  .ch_out = 2, .frames = s.frames, .step = s.step, .window = ox_opt_in(c, 2)};
    return transform_lines(c, &j, stft_line, s.n, s.batch * s.frames, c->in[0], y);
}

/* ---- window functions ---------------------------------------------------------------------- */

/* w[k] for k < size, with period N: size for a periodic window, size - 1 for a symmetric one. */
typedef double (*window_fn)(double k, double N);

static double hann(double k, double N)
{
    double s = sin(PI * k / N);
    return s * s;
}

static double hamming(double k, double N)
{
    const double alpha = 25.0 / 46.0; /* the exact Hamming coefficients, as torch uses */
    return alpha - (1.0 - alpha) * cos(2.0 * PI * k / N);
}

/* Summed in the reference's order, so the centre of an odd window is exactly 1 (which an
 * integer output_datatype truncates to 1, not 0). */
static double blackman(double k, double N)
{
    return (-0.5 * cos(2.0 * PI * k / N) + 0.08 * cos(4.0 * PI * k / N)) + 0.42;
}

static onyx_status window_setup(ox_ctx *c, int64_t *size, bool *periodic, onyx_dtype *dt)
{
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = scalar_int(c, 0, "size", size)) || (st = flag_attr(c, "periodic", 1, periodic)) ||
        (st = output_datatype(c, dt)))
        return st;
    if (*size < 0) return ox_fail(c, ONYX_E_ARG, "size %lld is negative", (long long)*size);
    return ONYX_OK;
}

static onyx_status window_infer(ox_ctx *c)
{
    int64_t size;
    bool periodic;
    onyx_dtype dt;
    onyx_status st = window_setup(c, &size, &periodic, &dt);
    if (st) return st;
    ox_set_shape(c->out[0], dt, 1, &size);
    c->scratch_bytes = 0;
    if (dt != ONYX_DTYPE_DOUBLE && !add_doubles(&c->scratch_bytes, size))
        return ox_fail(c, ONYX_E_LIMIT, "scratch overflows");
    return ONYX_OK;
}

static onyx_status window_run(ox_ctx *c, window_fn fn)
{
    int64_t size;
    bool periodic;
    onyx_dtype dt;
    onyx_status st = window_setup(c, &size, &periodic, &dt);
    if (st) return st;
    onyx_tensor *y = c->out[0];
    if (size == 0) return ONYX_OK;
    if (dt != ONYX_DTYPE_DOUBLE && (c->scratch_bytes < (size_t)size * sizeof(double) || !c->scratch))
        return ox_fail(c, ONYX_E_INTERNAL, "scratch too small");
    double *w = dt == ONYX_DTYPE_DOUBLE ? y->data : c->scratch;
    const int64_t N = periodic ? size : size - 1;
    /* A symmetric window of one point has no period (0/0); it is [1], as in torch. */
    for (int64_t k = 0; k < size; k++) w[k] = N == 0 ? 1.0 : fn((double)k, (double)N);
    return store_f64(c, w, y);
}

static onyx_status hann_run(ox_ctx *c) { return window_run(c, hann); }
static onyx_status hamming_run(ox_ctx *c) { return window_run(c, hamming); }
static onyx_status blackman_run(ox_ctx *c) { return window_run(c, blackman); }

/* ---- MelWeightMatrix ----------------------------------------------------------------------- */

typedef struct mel_args {
    int64_t bins, dft_length, spec_bins; /* output [spec_bins][bins] */
    onyx_dtype dtype;
} mel_args;

/* Requires input i to hold exactly one element. */
static onyx_status need_scalar(ox_ctx *c, int i, const char *what)
{
    if (ox_tensor_numel(c->in[i]) == 1 && c->in[i]->rank <= 1) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "%s must be a scalar", what);
}

static onyx_status mel_setup(ox_ctx *c, mel_args *m)
{
    onyx_status st = ox_need_io(c, 5);
    if (st || (st = scalar_int(c, 0, "num_mel_bins", &m->bins)) ||
        (st = scalar_int(c, 1, "dft_length", &m->dft_length)) || (st = output_datatype(c, &m->dtype)))
        return st;
    onyx_dtype sr = c->in[2]->dtype;
    if (sr != ONYX_DTYPE_INT32 && sr != ONYX_DTYPE_INT64)
        return ox_fail(c, ONYX_E_ARG, "sample_rate must be int32 or int64, got %s", onyx_dtype_name(sr));
    if (c->in[3]->dtype != c->in[4]->dtype)
        return ox_fail(c, ONYX_E_ARG, "lower_edge_hertz and upper_edge_hertz differ in type");
    if ((st = need_scalar(c, 2, "sample_rate")) || (st = need_float(c, 3, "lower_edge_hertz")) ||
        (st = need_scalar(c, 3, "lower_edge_hertz")) || (st = need_scalar(c, 4, "upper_edge_hertz")))
        return st;
    if (m->bins < 0 || m->dft_length < 0)
        return ox_fail(c, ONYX_E_ARG, "num_mel_bins (%lld) and dft_length (%lld) must not be negative",
                       (long long)m->bins, (long long)m->dft_length);
    m->spec_bins = m->dft_length / 2 + 1;
    return ONYX_OK;
}

static onyx_status mel_infer(ox_ctx *c)
{
    mel_args m;
    onyx_status st = mel_setup(c, &m);
    if (st) return st;
    int64_t dims[2] = {m.spec_bins, m.bins}, numel;
    if (!ox_shape_numel(2, dims, &numel)) return ox_fail(c, ONYX_E_SHAPE, "output size overflows");
    ox_set_shape(c->out[0], m.dtype, 2, dims);
    c->scratch_bytes = 0;
    if (m.dtype != ONYX_DTYPE_DOUBLE && !add_doubles(&c->scratch_bytes, numel))
        return ox_fail(c, ONYX_E_LIMIT, "scratch overflows");
    return ONYX_OK;
}

/* Floor division as Python and numpy compute it on floats (via fmod), which stays exact
 * where floor(a / b) is off by one because a / b rounds up to an integer. */
static double floor_div(double a, double b)
{
    double mod = fmod(a, b), div = (a - mod) / b;
    if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0;
    if (div == 0) return 0.0;
    double fl = floor(div);
    return div - fl > 0.5 ? fl + 1.0 : fl;
}

/* mel(f) = 2595 log10(1 + f/700). For float edges the reference evaluates the logarithm in
 * float and only the division by ln 10 in double; doing the same keeps the bin edges (which
 * are floored) identical to it. */
static double hz_to_mel(double f, bool in_double)
{
    if (in_double) return 2595.0 * log1p(f / 700.0) / log(10.0);
    return (double)(2595.0f * log1pf((float)f / 700.0f)) / log(10.0);
}

/* The spectrogram bin of mel edge i: edges are evenly spaced in mel from the lower edge in
 * steps of (high - low) / (bins + 2), mapped back to hertz and to a bin of the DFT. */
static onyx_status mel_edge_bin(ox_ctx *c, const mel_args *m, double low, double step, double rate,
                                int64_t i, int64_t *bin)
{
    double mel = (double)i * step + low;
    double hz = 700.0 * expm1(mel / 2595.0 * log(10.0));
    double b = floor_div((double)(m->dft_length + 1) * hz, rate);
    /* Bins are used as indices: anything outside the spectrogram fails below, but the cast
     * itself must stay defined. */
    if (!(b >= -1.0 && b <= (double)m->spec_bins + 1.0))
        return ox_fail(c, ONYX_E_ARG, "mel band edge %lld falls outside the %lld spectrogram bins "
                       "(check the edge frequencies against sample_rate)", (long long)i,
                       (long long)m->spec_bins);
    *bin = (int64_t)b;
    return ONYX_OK;
}

/* Sets w[j][band] with j checked against the spectrogram. */
static onyx_status mel_put(ox_ctx *c, const mel_args *m, double *w, int64_t j, int64_t band, double v)
{
    if (j < 0 || j >= m->spec_bins)
        return ox_fail(c, ONYX_E_ARG, "mel band %lld reaches spectrogram bin %lld, outside [0, %lld) "
                       "(check the edge frequencies against sample_rate)", (long long)band,
                       (long long)j, (long long)m->spec_bins);
    w[j * m->bins + band] = v;
    return ONYX_OK;
}

/* Triangle `band`: rising from bin lo to 1 at bin mid, falling to 0 at bin hi (a spike at
 * mid when lo == mid). */
static onyx_status mel_band(ox_ctx *c, const mel_args *m, double *w, int64_t band, int64_t lo,
                            int64_t mid, int64_t hi)
{
    onyx_status st = ONYX_OK;
    if (mid == lo) st = mel_put(c, m, w, mid, band, 1.0);
    for (int64_t j = lo; mid > lo && j <= mid && !st; j++)
        st = mel_put(c, m, w, j, band, (double)(j - lo) / (double)(mid - lo));
    for (int64_t j = mid; hi > mid && j < hi && !st; j++)
        st = mel_put(c, m, w, j, band, (double)(hi - j) / (double)(hi - mid));
    return st;
}

static onyx_status mel_run(ox_ctx *c)
{
    mel_args m;
    onyx_status st = mel_setup(c, &m);
    if (st) return st;
    onyx_tensor *y = c->out[0];
    const int64_t total = m.spec_bins * m.bins;
    if (total > 0 && m.dtype != ONYX_DTYPE_DOUBLE &&
        (c->scratch_bytes < (size_t)total * sizeof(double) || !c->scratch))
        return ox_fail(c, ONYX_E_INTERNAL, "scratch too small");
    double *w = m.dtype == ONYX_DTYPE_DOUBLE ? y->data : c->scratch;
    const int64_t rate = ox_read_int(c->in[2], 0);
    if (rate <= 0) return ox_fail(c, ONYX_E_ARG, "sample_rate %lld must be positive", (long long)rate);
    const bool in_double = c->in[3]->dtype == ONYX_DTYPE_DOUBLE;
    const double low = hz_to_mel(ox_read_f64(c->in[3], 0), in_double);
    const double high = hz_to_mel(ox_read_f64(c->in[4], 0), in_double);
    const double step = (high - low) / (double)(m.bins + 2);
    for (int64_t k = 0; k < total; k++) w[k] = 0.0;
    int64_t e[3]; /* edges of the current band: lower, centre, upper */
    for (int64_t i = 0; i < 2 && m.bins > 0; i++)
        if ((st = mel_edge_bin(c, &m, low, step, (double)rate, i, &e[i]))) return st;
    for (int64_t band = 0; band < m.bins; band++) {
        if ((st = mel_edge_bin(c, &m, low, step, (double)rate, band + 2, &e[2])) ||
            (st = mel_band(c, &m, w, band, e[0], e[1], e[2])))
            return st;
        e[0] = e[1];
        e[1] = e[2];
    }
    return store_f64(c, w, y);
}

/* ---- registry ------------------------------------------------------------------------------ */

const ox_op ox_ops_signal[] = {
    {"BlackmanWindow", "", 17, 28, window_infer, blackman_run, 0},
    {"DFT", "", 17, 28, dft_infer, dft_run, 0},
    {"HammingWindow", "", 17, 28, window_infer, hamming_run, 0},
    {"HannWindow", "", 17, 28, window_infer, hann_run, 0},
    {"MelWeightMatrix", "", 17, 28, mel_infer, mel_run, 0},
    {"STFT", "", 17, 28, stft_infer, stft_run, 0},
};
const size_t ox_ops_signal_count = sizeof ox_ops_signal / sizeof ox_ops_signal[0];
