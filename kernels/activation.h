/* activation.h — float activations applied in place over a buffer, with an added bias: the
 * epilogue a convolution (or GEMM) runs on its output while the block is still in cache, so
 * the activation costs no separate pass over memory.
 *
 * y[i] = act(y[i] + bias), optionally with a residual added before the activation (the
 * ResNet pattern Conv -> Add -> Relu). On x86 with AVX2+FMA the loops run 8 lanes at a time
 * (exp- and erf-based activations through polynomials with about 2 ulp error); elsewhere the portable loop
 * runs the scalar formulas of libm. Both keep NaN as NaN and agree within a few float ulps
 * (absolute 1e-7 near the tails of Sigmoid/SiLU). */
#ifndef ONYX_KERNELS_ACTIVATION_H
#define ONYX_KERNELS_ACTIVATION_H

#include <stdbool.h>
#include <stdint.h>

typedef enum ox_act_kind {
    OX_ACT_NONE = 0,
    OX_ACT_RELU,         /* max(x, 0) */
    OX_ACT_CLIP,         /* min(max(x, alpha), beta); Relu6 is Clip(0, 6) */
    OX_ACT_LEAKY_RELU,   /* x < 0 ? alpha x : x */
    OX_ACT_SIGMOID,      /* 1 / (1 + exp(-x)) */
    OX_ACT_HARD_SIGMOID, /* max(0, min(1, alpha x + beta)) */
    OX_ACT_HARD_SWISH,   /* x * max(0, min(1, x / 6 + 1/2)) */
    OX_ACT_SILU,         /* x * sigmoid(x) */
    OX_ACT_TANH,
    OX_ACT_GELU,         /* x/2 (1 + erf(x / sqrt 2)) */
    OX_ACT_GELU_TANH,    /* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    OX_ACT_COUNT_
} ox_act_kind;

typedef struct ox_act {
    ox_act_kind kind;
    float alpha, beta; /* Clip: min, max; LeakyRelu: alpha; HardSigmoid: alpha, beta */
} ox_act;

/* y[i] = act(y[i] + bias) for i < n; a NULL act (or OX_ACT_NONE) only adds the bias.
 * Picks the AVX2 loop when the CPU has it. */
void ox_act_bias_f32(const ox_act *act, float bias, float *y, int64_t n);

/* y[i] = act((y[i] + bias) + r[i]): a residual r added after the bias (a zero bias is not
 * added, so -0 stays -0, as in an unfused Conv followed by an Add). r NULL: ox_act_bias_f32. */
void ox_act_bias_res_f32(const ox_act *act, float bias, const float *r, float *y, int64_t n);

/* The two implementations, for tests: the portable one always exists; the AVX2 one returns
 * false (doing nothing) when the build or the CPU lacks it. */
void ox_act_bias_f32_portable(const ox_act *act, float bias, float *y, int64_t n);
bool ox_act_bias_f32_avx2(const ox_act *act, float bias, float *y, int64_t n);
void ox_act_bias_res_f32_portable(const ox_act *act, float bias, const float *r, float *y, int64_t n);
bool ox_act_bias_res_f32_avx2(const ox_act *act, float bias, const float *r, float *y, int64_t n);
/* The NEON loop (activation_neon.c; r may be NULL), the AVX2 one's twin (the same bits but
 * for the sign of generated NaNs): false (doing nothing) when the build is not for AArch64,
 * or for Gelu (portable there). */
bool ox_act_bias_res_f32_neon(const ox_act *act, float bias, const float *r, float *y, int64_t n);

#endif
