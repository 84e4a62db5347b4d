/* qgemm.h — exact integer kernels of the quantized ops (MatMulInteger, ConvInteger,
 * QLinearMatMul, QLinearConv).
 *
 * 8-bit operands (int8 or uint8) are first widened to int16 with their zero point subtracted:
 * the difference of two values of one 8-bit type lies in [-255, 255], and padding (which
 * stands for the zero point) becomes a plain 0. Products of two such values fit in int32 and
 * are summed modulo 2^32 in unsigned arithmetic (the spec lets the accumulation overflow only
 * in 32 bits), so no signed overflow can happen. Integer sums are exact, hence the results do
 * not depend on blocking or on the thread count. */
#ifndef ONYX_KERNELS_QGEMM_H
#define ONYX_KERNELS_QGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv.h"

/* An 8-bit integer matrix: element (r, c) is data[r*ld + c], int8 if is_signed else uint8.
 * Its zero point is zp[r*zp_rs + c*zp_cs], of the same type (strides 0 for a scalar); a NULL
 * zp means 0. */
typedef struct ox_q8 {
    const void *data;
    bool is_signed;
    int64_t ld;
    const void *zp;
    int64_t zp_rs, zp_cs;
} ox_q8;

/* dst[r*cols + c] = element (r, c) of m minus its zero point, for a rows x cols block. */
void ox_q8_widen(const ox_q8 *m, int64_t rows, int64_t cols, int16_t *dst);

/* C (M x N, row stride ldc) = A (M x K, dense) * B (K x N, dense), accumulated modulo 2^32. */
void ox_qgemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, const int16_t *B, int32_t *C,
                  int64_t ldc, int threads);

/* Requantization to 8 bits: dst[i] = saturate(round_half_even(acc[i] * mult[i*mult_step] + zp))
 * into int8 (out_signed) or uint8. The product and sum are computed in double, as the ONNX
 * reference does; a NaN result (a NaN or infinite multiplier) gives zp, saturated. */
void ox_q8_requant(const int32_t *acc, int64_t n, const float *mult, int64_t mult_step, int32_t zp,
                   bool out_signed, void *dst);

/* A grouped integer convolution (shape as for ox_conv_f32): 8-bit x with a scalar zero point,
 * 8-bit w with a zero point per output channel (w_zp[m*w_zp_step], NULL for 0), an optional
 * int32 bias. With mult NULL, y is int32; otherwise each output channel m is requantized to
 * 8 bits with ox_q8_requant's rule, multiplier mult[m*mult_step] and zero point y_zp. */
typedef struct ox_qconv {
    ox_conv_shape shape;
    const void *x;
    bool x_signed;
    int32_t x_zp;
    const void *w;
    bool w_signed;
    const void *w_zp;
    int64_t w_zp_step;
    const int32_t *bias;
    const float *mult;
    int64_t mult_step;
    int32_t y_zp;
    bool y_signed;
    void *y;
} ox_qconv;

/* Scratch bytes ox_qconv_run needs: the widened weights, one im2col tile and, when
 * requantizing (mult not NULL), that tile's int32 results. Bounded whatever the image size,
 * and never 0. */
size_t ox_qconv_scratch(const ox_conv_shape *s, bool requant);
void ox_qconv_run(const ox_qconv *q, void *scratch, int threads);

#endif
