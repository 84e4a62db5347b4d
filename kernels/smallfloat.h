/* smallfloat.h — conversions between double/float and the 8- and 4-bit float formats:
 * FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT4E2M1 and FLOAT8E8M0.
 *
 * Each code is one byte (a float4 code in the low 4 bits). Decoding is exact: every value of
 * these formats is a float. Encoding rounds to nearest even from a double, so float16,
 * float32 and double sources all round once. Out-of-range values follow the ONNX Cast
 * tables: with `saturate` they clamp to ±max (infinities included), without it they become
 * NaN, or ±inf for E5M2, which has infinities. The FNUZ formats have no -0 (0x80 is their
 * NaN), so negative values that round to zero give +0.
 *
 * Shared by Cast and by the quantisation ops; no dependency on the runtime. */
#ifndef ONYX_KERNELS_SMALLFLOAT_H
#define ONYX_KERNELS_SMALLFLOAT_H

#include <stdbool.h>
#include <stdint.h>

float ox_f8e4m3fn_to_f32(uint8_t b);
float ox_f8e4m3fnuz_to_f32(uint8_t b);
float ox_f8e5m2_to_f32(uint8_t b);
float ox_f8e5m2fnuz_to_f32(uint8_t b);
float ox_f4e2m1_to_f32(uint8_t b);  /* low 4 bits */
float ox_f8e8m0_to_f32(uint8_t b);  /* 2^(b-127); 0xFF is NaN */

uint8_t ox_f64_to_f8e4m3fn(double v, bool saturate);
uint8_t ox_f64_to_f8e4m3fnuz(double v, bool saturate);
uint8_t ox_f64_to_f8e5m2(double v, bool saturate);
uint8_t ox_f64_to_f8e5m2fnuz(double v, bool saturate);
/* Float4 always saturates (it has neither infinities nor NaN). */
uint8_t ox_f64_to_f4e2m1(double v);

/* FLOAT8E8M0 holds a power of two (an exponent only). Rounding of the float32 input to a
 * power of two: UP (away from zero, the ONNX default), DOWN (towards zero) or NEAREST
 * (ties up). With saturate the result stops at the largest exponent instead of overflowing
 * into NaN. The sign is ignored (negative inputs are unspecified in ONNX). */
typedef enum { OX_E8M0_UP, OX_E8M0_DOWN, OX_E8M0_NEAREST } ox_e8m0_round;
uint8_t ox_f32_to_f8e8m0(float v, bool saturate, ox_e8m0_round mode);

#endif
