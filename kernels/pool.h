/* pool.h — max and average pooling over planes (N*C of them) of any number of spatial dims.
 * The window geometry is ox_window (conv.h). Half-precision types are pooled by the caller
 * through float. */
#ifndef ONYX_KERNELS_POOL_H
#define ONYX_KERNELS_POOL_H

#include "conv.h"

/* y[plane][o] = the maximum over the window of o inside the input (padding never wins).
 * idx (NULL to skip) receives the flat index into x of the first maximum in row-major window
 * order: plane * in_size + the spatial offset, row-major or, if col_major, column-major.
 * NaN inputs are skipped; a window with no (non-NaN) input inside gives the type's lowest
 * value and index -1. */
void ox_maxpool_f32(const ox_window *w, int64_t planes, const float *x, float *y, int64_t *idx,
                    bool col_major, int threads);
void ox_maxpool_f64(const ox_window *w, int64_t planes, const double *x, double *y,
                    int64_t *idx, bool col_major, int threads);
void ox_maxpool_i8(const ox_window *w, int64_t planes, const int8_t *x, int8_t *y, int64_t *idx,
                   bool col_major, int threads);
void ox_maxpool_u8(const ox_window *w, int64_t planes, const uint8_t *x, uint8_t *y,
                   int64_t *idx, bool col_major, int threads);

/* y[plane][o] = the mean over the window of o. The divisor counts the taps inside the input,
 * or with count_pad the taps inside the padded extent [-pad_begin, in + pad_end) (taps past
 * it, which ceil mode can create, never count). An empty divisor gives NaN. Sums accumulate
 * in the element type, in row-major window order. */
void ox_avgpool_f32(const ox_window *w, int64_t planes, bool count_pad, const float *x, float *y,
                    int threads);
void ox_avgpool_f64(const ox_window *w, int64_t planes, bool count_pad, const double *x,
                    double *y, int threads);

/* y[plane] = mean of the plane's size elements (accumulated in double). */
void ox_global_avgpool_f32(int64_t planes, int64_t size, const float *x, float *y, int threads);
void ox_global_avgpool_f64(int64_t planes, int64_t size, const double *x, double *y,
                           int threads);

#endif
