/* unary.h — element-wise math functions and activations over plain buffers (the ai.onnx
 * unary math ops: trigonometry, exp/log, rounding, Elu/Gelu/Selu/… and IsInf/IsNaN).
 *
 * Every function is one scalar formula; one shared loop per dtype applies it. Floating
 * types compute in double: float32 results are then the correctly rounded value in nearly
 * every case, and float16/bfloat16 round through float32 to nearest even. Integer inputs:
 * Abs, Neg and Sign are exact (Abs/Neg of the most negative value wrap to itself, as two's
 * complement does); Erf and Shrink compute in double as the ONNX reference does and convert
 * back truncating toward zero, saturating at the type's limits (NaN gives 0). */
#ifndef ONYX_KERNELS_UNARY_H
#define ONYX_KERNELS_UNARY_H

#include <stdbool.h>
#include <stdint.h>

#include "onyx.h"

typedef enum ox_math_op {
    OX_MATH_ABS, OX_MATH_ACOS, OX_MATH_ACOSH, OX_MATH_ASIN, OX_MATH_ASINH, OX_MATH_ATAN,
    OX_MATH_ATANH, OX_MATH_CEIL, OX_MATH_CELU, OX_MATH_COS, OX_MATH_COSH, OX_MATH_ELU,
    OX_MATH_ERF, OX_MATH_EXP, OX_MATH_FLOOR, OX_MATH_GELU, OX_MATH_GELU_TANH,
    OX_MATH_HARD_SIGMOID, OX_MATH_HARD_SWISH, OX_MATH_LEAKY_RELU, OX_MATH_LOG, OX_MATH_MISH,
    OX_MATH_NEG, OX_MATH_RECIPROCAL, OX_MATH_ROUND, OX_MATH_SELU, OX_MATH_SHRINK,
    OX_MATH_SIGN, OX_MATH_SIN, OX_MATH_SINH, OX_MATH_SOFTPLUS, OX_MATH_SOFTSIGN, OX_MATH_SQRT,
    OX_MATH_SWISH, OX_MATH_TAN, OX_MATH_THRESHOLDED_RELU,
    /* Predicates: the output is bool (one byte, 0 or 1) whatever the input dtype. */
    OX_MATH_IS_NAN, OX_MATH_IS_INF,
    OX_MATH_COUNT_
} ox_math_op;

/* The attributes an op's formula uses (unused ones are ignored):
 *   Celu, Elu, LeakyRelu, Swish, ThresholdedRelu: alpha
 *   HardSigmoid: alpha * x + beta      Selu: alpha, gamma      Shrink: alpha = lambd, beta = bias
 *   IsInf: which infinities count (detect_positive / detect_negative). */
typedef struct ox_math_args {
    double alpha, beta, gamma;
    bool pos_inf, neg_inf;
} ox_math_args;

/* True for the predicates (bool output). */
bool ox_math_is_predicate(ox_math_op op);

/* True if the kernel computes op on input dtype t: every op takes float, double, float16 and
 * bfloat16; Abs, Sign, Erf and Shrink also take every 8- to 64-bit integer type, Neg the
 * signed ones; IsNaN and IsInf also take the four float8 types. */
bool ox_math_supported(ox_math_op op, onyx_dtype t);

/* y[i] = op(x[i]) for n elements; x has dtype t, y has dtype t (bool for predicates).
 * Splits the work across up to `threads` threads. Returns false if op/t is not supported. */
bool ox_math(ox_math_op op, onyx_dtype t, const ox_math_args *a, int64_t n, const void *x,
             void *y, int threads);

#endif
