/* fft.h — one-dimensional discrete Fourier transforms of any length, in double precision.
 *
 *   X[k] = sum_t x[t] * exp(-2*pi*i*k*t/n)    (forward)
 *   x[t] = sum_k X[k] * exp(+2*pi*i*k*t/n)    (inverse, NOT divided by n)
 *
 * Complex values are interleaved (re, im) doubles, the layout of ONNX's [..., 2] tensors.
 * Lengths that are powers of two use an iterative radix-2 transform; other short lengths a
 * direct O(n^2) sum; other long lengths Bluestein's algorithm (the transform as a convolution
 * of power-of-two length). Every twiddle factor is computed directly from its angle (no
 * recurrences), so errors do not grow with n, and results depend only on the input: the
 * same on every thread and every run.
 *
 * A plan holds the read-only tables for one length and may be shared by threads; each
 * concurrent transform needs its own work buffer. Neither allocates: the caller provides
 * ox_fft_table_doubles(n) doubles for the plan and ox_fft_work_doubles(n) per transform. */
#ifndef ONYX_KERNELS_FFT_H
#define ONYX_KERNELS_FFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest transform supported (keeps every table size and index product far from overflow). */
#define OX_FFT_MAX_LEN ((int64_t)1 << 30)

typedef enum { OX_FFT_RADIX2, OX_FFT_DIRECT, OX_FFT_BLUESTEIN } ox_fft_kind;

typedef struct ox_fft_plan {
    int64_t n;            /* transform length, 1..OX_FFT_MAX_LEN */
    ox_fft_kind kind;
    int64_t m;            /* radix-2 length: n, or Bluestein's convolution length; 0 if direct */
    const double *tw;     /* radix-2: exp(-2*pi*i*k/m), k < m/2 */
    const double *root;   /* direct: exp(-2*pi*i*k/n), k < n */
    const double *chirp;  /* Bluestein: exp(-pi*i*k*k/n), k < n */
    const double *kernel; /* Bluestein: the forward transform of the conjugate chirp, length m */
} ox_fft_plan;

/* Doubles the plan tables of an n-point transform take, and the work one transform needs. */
size_t ox_fft_table_doubles(int64_t n);
size_t ox_fft_work_doubles(int64_t n);

/* Fills the tables (table holds ox_fft_table_doubles(n) doubles) and describes them in p. */
void ox_fft_plan_init(ox_fft_plan *p, int64_t n, double *table);

/* Transforms the n complex values x in place; work holds ox_fft_work_doubles(n) doubles. */
void ox_fft(const ox_fft_plan *p, double *x, bool inverse, double *work);

#endif
