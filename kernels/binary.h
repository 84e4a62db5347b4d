/* binary.h — element-wise kernels for Pow, Mod, PRelu, BitShift, the bitwise ops, Max and
 * Min, as ox_binary_fn / ox_unary_fn loops for the broadcast drivers of elementwise.h.
 *
 * Every kernel is total: no input is undefined behaviour. Integer results wrap modulo
 * 2^bits; float16 and bfloat16 compute in float32 and round to nearest even. */
#ifndef ONYX_KERNELS_BINARY_H
#define ONYX_KERNELS_BINARY_H

#include "elementwise.h"

/* out = base ^ exponent, of the base's type (float, double, float16, bfloat16, int32, int64);
 * the exponent may be any of those or any other integer type. Float bases compute in double.
 * Integer bases with an integer exponent multiply exactly (wrapping); a negative exponent
 * gives 1 / base^-e truncated: 1 for base 1, ±1 for base -1, else 0 (also for base 0). With a
 * float exponent the double result is truncated and saturated to the base type (NaN -> 0).
 * NULL if the pair is not supported. */
ox_binary_fn ox_pow_kernel(onyx_dtype base, onyx_dtype exponent);

/* Remainder of a / b for every integer type, float, double, float16 and bfloat16.
 * fmod false: a - floor(a / b) * b (sign of b; float special cases per ONNX Mod-28);
 * fmod true:  a - trunc(a / b) * b (sign of a, C fmod for floats).
 * An integer remainder by 0 is 0. NULL if t is not supported. */
ox_binary_fn ox_mod_kernel(onyx_dtype t, bool fmod);

/* Element-wise max (or min) for every integer type, float, double, float16 and bfloat16;
 * NaN in either operand gives NaN. NULL if t is not supported. */
ox_binary_fn ox_minmax_kernel(onyx_dtype t, bool max);

/* out = x < 0 ? slope * x : x, for float, double, float16, bfloat16, int32, int64, uint32
 * and uint64 (a is x, b is slope). NULL if t is not supported. */
ox_binary_fn ox_prelu_kernel(onyx_dtype t);

/* Shifts a by b bits (b of a's type) for every integer type. Right shifts of signed types
 * are arithmetic. A shift that is negative or at least the width gives 0, or -1 for a right
 * shift of a negative value (ONNX BitShift-28). NULL if t is not supported. */
ox_binary_fn ox_shift_kernel(onyx_dtype t, bool left);

typedef enum ox_bitop { OX_BIT_AND, OX_BIT_OR, OX_BIT_XOR } ox_bitop;

/* Bitwise op on integers of esize bytes (1, 2, 4 or 8), signed or not: the bits are the
 * same either way. NULL for other sizes. */
ox_binary_fn ox_bitwise_kernel(ox_bitop op, size_t esize);

/* Bitwise complement of integers of esize bytes (1, 2, 4 or 8); NULL for other sizes. */
ox_unary_fn ox_bitwise_not_kernel(size_t esize);

#endif
