/* fft.c — discrete Fourier transforms of any length (see fft.h). */
#include <math.h>

#include "fft.h"

/* Non-power-of-two lengths below this use the direct sum: at these sizes its n^2 products
 * cost less than Bluestein's two power-of-two transforms of length >= 2n - 1. */
#define DIRECT_MAX_LEN 64

static const double TWO_PI = 6.283185307179586476925286766559;

static bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* Smallest power of two >= n (n <= 2 * OX_FFT_MAX_LEN, so no overflow). */
static int64_t pow2_at_least(int64_t n)
{
    int64_t m = 1;
    while (m < n) m <<= 1;
    return m;
}

static ox_fft_kind kind_of(int64_t n)
{
    if (is_pow2(n)) return OX_FFT_RADIX2;
    return n < DIRECT_MAX_LEN ? OX_FFT_DIRECT : OX_FFT_BLUESTEIN;
}

/* Bluestein's convolution must hold 2n - 1 terms without wrapping onto itself. */
static int64_t bluestein_len(int64_t n) { return pow2_at_least(2 * n - 1); }

size_t ox_fft_table_doubles(int64_t n)
{
    switch (kind_of(n)) {
    case OX_FFT_RADIX2: return (size_t)n; /* n/2 complex twiddles (1 double for n = 1) */
    case OX_FFT_DIRECT: return 2 * (size_t)n;
    default: {
        size_t m = (size_t)bluestein_len(n);
        return m + 2 * (size_t)n + 2 * m; /* twiddles, chirp, kernel */
    }
    }
}

size_t ox_fft_work_doubles(int64_t n)
{
    switch (kind_of(n)) {
    case OX_FFT_RADIX2: return 0;
    case OX_FFT_DIRECT: return 2 * (size_t)n; /* the result, since the sum reads every input */
    default: return 2 * (size_t)bluestein_len(n);
    }
}

/* exp(-2*pi*i*k/n) for k < count, interleaved. */
static void fill_roots(double *out, int64_t n, int64_t count)
{
    for (int64_t k = 0; k < count; k++) {
        double a = TWO_PI * (double)k / (double)n;
        out[2 * k] = cos(a);
        out[2 * k + 1] = -sin(a);
    }
}

/* In-place radix-2 transform of m (a power of two) complex values: bit-reversal permutation,
 * then log2(m) passes of butterflies. tw holds exp(-2*pi*i*k/m), k < m/2; the inverse uses
 * their conjugates. */
static void radix2(double *x, int64_t m, const double *tw, bool inverse)
{
    for (int64_t i = 1, j = 0; i < m; i++) {
        int64_t bit = m >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double r = x[2 * i], im = x[2 * i + 1];
            x[2 * i] = x[2 * j];
            x[2 * i + 1] = x[2 * j + 1];
            x[2 * j] = r;
            x[2 * j + 1] = im;
        }
    }
    const double sign = inverse ? -1.0 : 1.0;
    for (int64_t len = 2; len <= m; len <<= 1) {
        const int64_t half = len / 2, step = m / len;
        for (int64_t s = 0; s < m; s += len) {
            for (int64_t j = 0; j < half; j++) {
                const double wr = tw[2 * j * step], wi = sign * tw[2 * j * step + 1];
                double *a = x + 2 * (s + j), *b = x + 2 * (s + j + half);
                const double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br;
                b[1] = a[1] - bi;
                a[0] += br;
                a[1] += bi;
            }
        }
    }
}

/* The defining sum; root[(k*t) mod n] is the twiddle of term t of output k. */
static void direct(double *x, int64_t n, const double *root, bool inverse, double *out)
{
    const double sign = inverse ? -1.0 : 1.0;
    for (int64_t k = 0; k < n; k++) {
        double sr = 0, si = 0;
        int64_t r = 0; /* (k * t) mod n, advanced by k per term */
        for (int64_t t = 0; t < n; t++) {
            const double wr = root[2 * r], wi = sign * root[2 * r + 1];
            sr += x[2 * t] * wr - x[2 * t + 1] * wi;
            si += x[2 * t] * wi + x[2 * t + 1] * wr;
            r += k;
            if (r >= n) r -= n;
        }
        out[2 * k] = sr;
        out[2 * k + 1] = si;
    }
    for (int64_t i = 0; i < 2 * n; i++) x[i] = out[i];
}

/* Bluestein: with c[k] = exp(-pi*i*k^2/n), kt = (k^2 + t^2 - (k-t)^2) / 2 turns the forward
 * transform into X[k] = c[k] * sum_t (x[t] c[t]) conj(c[k-t]): a convolution, done as a
 * cyclic one of power-of-two length m with the kernel's transform precomputed. */
static void bluestein(const ox_fft_plan *p, double *x, double *a)
{
    const int64_t n = p->n, m = p->m;
    const double *c = p->chirp, *kf = p->kernel;
    for (int64_t t = 0; t < n; t++) {
        a[2 * t] = x[2 * t] * c[2 * t] - x[2 * t + 1] * c[2 * t + 1];
        a[2 * t + 1] = x[2 * t] * c[2 * t + 1] + x[2 * t + 1] * c[2 * t];
    }
    for (int64_t t = 2 * n; t < 2 * m; t++) a[t] = 0;
    radix2(a, m, p->tw, false);
    for (int64_t j = 0; j < m; j++) {
        const double r = a[2 * j] * kf[2 * j] - a[2 * j + 1] * kf[2 * j + 1];
        a[2 * j + 1] = a[2 * j] * kf[2 * j + 1] + a[2 * j + 1] * kf[2 * j];
        a[2 * j] = r;
    }
    radix2(a, m, p->tw, true);
    const double scale = 1.0 / (double)m; /* the cyclic convolution's inverse transform */
    for (int64_t k = 0; k < n; k++) {
        const double ar = a[2 * k] * scale, ai = a[2 * k + 1] * scale;
        x[2 * k] = ar * c[2 * k] - ai * c[2 * k + 1];
        x[2 * k + 1] = ar * c[2 * k + 1] + ai * c[2 * k];
    }
}

static void conjugate(double *x, int64_t n)
{
    for (int64_t k = 0; k < n; k++) x[2 * k + 1] = -x[2 * k + 1];
}

void ox_fft_plan_init(ox_fft_plan *p, int64_t n, double *table)
{
    *p = (ox_fft_plan){.n = n, .kind = kind_of(n)};
    switch (p->kind) {
    case OX_FFT_RADIX2:
        p->m = n;
        fill_roots(table, n, n / 2);
        p->tw = table;
        break;
    case OX_FFT_DIRECT:
        fill_roots(table, n, n);
        p->root = table;
        break;
    case OX_FFT_BLUESTEIN: {
        const int64_t m = bluestein_len(n);
        double *tw = table, *chirp = tw + m, *kernel = chirp + 2 * n;
        p->m = m;
        fill_roots(tw, m, m / 2);
        /* k^2 is reduced mod 2n (the chirp's period) so the angle stays small and exact. */
        for (int64_t k = 0; k < n; k++) {
            double a = 0.5 * TWO_PI * (double)((k * k) % (2 * n)) / (double)n;
            chirp[2 * k] = cos(a);
            chirp[2 * k + 1] = -sin(a);
        }
        /* The kernel conj(c[j]) at offsets j and -j (wrapped to m - j); zero between. */
        for (int64_t j = 0; j < 2 * m; j++) kernel[j] = 0;
        for (int64_t j = 0; j < n; j++) {
            kernel[2 * j] = chirp[2 * j];
            kernel[2 * j + 1] = -chirp[2 * j + 1];
            if (j > 0) {
                kernel[2 * (m - j)] = chirp[2 * j];
                kernel[2 * (m - j) + 1] = -chirp[2 * j + 1];
            }
        }
        radix2(kernel, m, tw, false);
        p->tw = tw;
        p->chirp = chirp;
        p->kernel = kernel;
        break;
    }
    }
}

void ox_fft(const ox_fft_plan *p, double *x, bool inverse, double *work)
{
    switch (p->kind) {
    case OX_FFT_RADIX2: radix2(x, p->n, p->tw, inverse); break;
    case OX_FFT_DIRECT: direct(x, p->n, p->root, inverse, work); break;
    case OX_FFT_BLUESTEIN:
        /* The inverse is the conjugate of the forward transform of the conjugate. */
        if (inverse) conjugate(x, p->n);
        bluestein(p, x, work);
        if (inverse) conjugate(x, p->n);
        break;
    }
}
