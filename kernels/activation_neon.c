/* activation_neon.c — the bias + activation loop of activation.c on AArch64, 4 lanes per NEON
 * vector (NEON is in the base architecture: no run-time check).
 *
 * The AVX2 loop of activation.c operation for operation: the same polynomial exp with the
 * same fused multiply-adds, round-to-nearest-even and selects, and x86's max/min semantics
 * written out (maxps returns its second operand when either is NaN or both are zeros, where
 * NEON's fmax would return NaN and order -0 below +0). So the two give the same bits for
 * the activations both implement (measured on 20000 inputs each), except the sign of a NaN
 * the hardware makes (inf - inf, 0 * inf: negative on x86, positive on ARM). Gelu (erf) is
 * left to the portable loop. */
#include <stddef.h>

#include "activation.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

typedef float32x4_t v4;
#define V4_INLINE static inline __attribute__((always_inline))

V4_INLINE v4 dup4(float x) { return vdupq_n_f32(x); }
V4_INLINE v4 max_x86(v4 a, v4 b) { return vbslq_f32(vcgtq_f32(a, b), a, b); } /* a > b ? a : b */
V4_INLINE v4 min_x86(v4 a, v4 b) { return vbslq_f32(vcltq_f32(a, b), a, b); } /* a < b ? a : b */
/* fmadd(a, b, c) = a * b + c and fnmadd(a, b, c) = c - a * b, each rounded once */
V4_INLINE v4 fmadd4(v4 a, v4 b, v4 c) { return vfmaq_f32(c, a, b); }
V4_INLINE v4 fnmadd4(v4 a, v4 b, v4 c) { return vfmsq_f32(c, a, b); }

/* 2^n for integral n in [-126, 127], built in the exponent field. */
V4_INLINE v4 pow2i4(v4 n)
{
    int32x4_t e = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
}

/* Splits y (<= 0, clamped to stay in the normal range) as n ln2 + r, |r| <= ln2 / 2, and
 * returns expm1(r) from its Taylor series through r^8 (truncation below 1e-9 relative). */
V4_INLINE v4 expm1_reduced4(v4 y, v4 *n)
{
    y = max_x86(y, dup4(-87.0f));
    *n = vrndnq_f32(vmulq_f32(y, dup4(1.44269504089f)));
    v4 r = fnmadd4(*n, dup4(0.693145751953125f), y); /* ln2, high bits */
    r = fnmadd4(*n, dup4(1.428606765330187e-06f), r);  /* ln2 - high */
    v4 p = dup4(1.0f / 40320);
    p = fmadd4(p, r, dup4(1.0f / 5040));
    p = fmadd4(p, r, dup4(1.0f / 720));
    p = fmadd4(p, r, dup4(1.0f / 120));
    p = fmadd4(p, r, dup4(1.0f / 24));
    p = fmadd4(p, r, dup4(1.0f / 6));
    p = fmadd4(p, r, dup4(0.5f));
    return fmadd4(vmulq_f32(p, r), r, r);
}

/* exp(y) for y <= 0 (below -87 it gives exp(-87)). */
V4_INLINE v4 exp_neg4(v4 y)
{
    v4 n, q = expm1_reduced4(y, &n);
    return fmadd4(pow2i4(n), q, pow2i4(n));
}

/* expm1(y) for y <= 0 as 2^n expm1(r) + (2^n - 1): no cancellation near 0. */
V4_INLINE v4 expm1_neg4(v4 y)
{
    v4 n, q = expm1_reduced4(y, &n);
    v4 s = pow2i4(n);
    return fmadd4(s, q, vsubq_f32(s, dup4(1.0f)));
}

/* NaN lanes of x are passed through (the clamps above would turn them into numbers). */
V4_INLINE v4 keep_nan4(v4 x, v4 r) { return vbslq_f32(vceqq_f32(x, x), r, x); }

/* Below -87 the sigmoid is taken as 0, so SiLU(-inf) = -inf * 0 = NaN as unfused. */
V4_INLINE v4 sigmoid4(v4 x)
{
    v4 ax = vabsq_f32(x);
    v4 e = exp_neg4(vsubq_f32(dup4(0.0f), ax)); /* exp(-|x|) */
    e = vbslq_f32(vcgtq_f32(ax, dup4(87.0f)), dup4(0.0f), e);
    v4 num = vbslq_f32(vcgeq_f32(x, dup4(0.0f)), dup4(1.0f), e);
    return keep_nan4(x, vdivq_f32(num, vaddq_f32(dup4(1.0f), e)));
}

/* tanh |x| = -expm1(-2|x|) / (2 + expm1(-2|x|)), sign restored. */
V4_INLINE v4 tanh4(v4 x)
{
    uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
    v4 m = expm1_neg4(vmulq_f32(dup4(-2.0f), vabsq_f32(x)));
    v4 t = vdivq_f32(vsubq_f32(dup4(0.0f), m), vaddq_f32(dup4(2.0f), m));
    return keep_nan4(x, vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(t), sign)));
}

/* min(max(v, lo), hi) keeping NaN; lo > hi gives hi */
V4_INLINE v4 clamp4(v4 v, v4 lo, v4 hi) { return min_x86(hi, max_x86(lo, v)); }

V4_INLINE v4 act4(ox_act_kind kind, v4 x, v4 alpha, v4 beta)
{
    const v4 zero = dup4(0.0f), one = dup4(1.0f);
    switch (kind) {
    case OX_ACT_RELU: return max_x86(zero, x);
    case OX_ACT_CLIP: return clamp4(x, alpha, beta);
    case OX_ACT_LEAKY_RELU: return vbslq_f32(vcltq_f32(x, zero), vmulq_f32(alpha, x), x);
    case OX_ACT_SIGMOID: return sigmoid4(x);
    case OX_ACT_HARD_SIGMOID: return clamp4(fmadd4(alpha, x, beta), zero, one);
    case OX_ACT_HARD_SWISH:
        return vmulq_f32(x, clamp4(fmadd4(x, dup4(1.0f / 6.0f), dup4(0.5f)), zero, one));
    case OX_ACT_SILU: return vmulq_f32(x, sigmoid4(x));
    case OX_ACT_TANH: return tanh4(x);
    case OX_ACT_GELU_TANH: { /* x sigmoid(2z), as the portable loop */
        v4 x3 = vmulq_f32(vmulq_f32(x, x), x);
        v4 z2 = vmulq_f32(dup4(2.0f * 0.7978845608f), fmadd4(dup4(0.044715f), x3, x));
        return vmulq_f32(x, sigmoid4(z2));
    }
    default: return x;
    }
}

/* the bias, then r (when not NULL) */
V4_INLINE v4 pre_add4(v4 v, v4 vb, const float *r)
{
    v = vaddq_f32(v, vb);
    return r ? vaddq_f32(v, vld1q_f32(r)) : v;
}

/* One loop per activation kind (a constant inside each after inlining). */
#define NEON_LOOP(KIND)                                                                           \
    static void loop_##KIND(float bias, const float *r, float *y, int64_t n, float a, float b)     \
    {                                                                                             \
        const v4 vb = dup4(bias), va = dup4(a), vbeta = dup4(b);                                  \
        int64_t i = 0;                                                                            \
        for (; i + 4 <= n; i += 4)                                                                \
            vst1q_f32(y + i, act4(KIND, pre_add4(vld1q_f32(y + i), vb, r ? r + i : NULL), va, vbeta)); \
        if (i < n) { /* the tail through a full vector, so it gets the same formula */           \
            float t[4] = {0}, rt[4] = {0};                                                        \
            for (int64_t j = i; j < n; j++) t[j - i] = y[j];                                      \
            if (r)                                                                                \
                for (int64_t j = i; j < n; j++) rt[j - i] = r[j];                                 \
            vst1q_f32(t, act4(KIND, pre_add4(vld1q_f32(t), vb, r ? rt : NULL), va, vbeta));       \
            for (int64_t j = i; j < n; j++) y[j] = t[j - i];                                      \
        }                                                                                         \
    }

NEON_LOOP(OX_ACT_NONE)
NEON_LOOP(OX_ACT_RELU)
NEON_LOOP(OX_ACT_CLIP)
NEON_LOOP(OX_ACT_LEAKY_RELU)
NEON_LOOP(OX_ACT_SIGMOID)
NEON_LOOP(OX_ACT_HARD_SIGMOID)
NEON_LOOP(OX_ACT_HARD_SWISH)
NEON_LOOP(OX_ACT_SILU)
NEON_LOOP(OX_ACT_TANH)
NEON_LOOP(OX_ACT_GELU_TANH)

bool ox_act_bias_res_f32_neon(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    const ox_act_kind kind = act ? act->kind : OX_ACT_NONE;
    const float a = act ? act->alpha : 0.0f, b = act ? act->beta : 0.0f;
    /* with a residual a zero bias is added as -0.0f, which leaves every float as it is (see
     * residual_bias in activation.c) */
    if (r && bias == 0.0f) bias = -0.0f;
    switch (kind) {
    case OX_ACT_NONE: loop_OX_ACT_NONE(bias, r, y, n, a, b); break;
    case OX_ACT_RELU: loop_OX_ACT_RELU(bias, r, y, n, a, b); break;
    case OX_ACT_CLIP: loop_OX_ACT_CLIP(bias, r, y, n, a, b); break;
    case OX_ACT_LEAKY_RELU: loop_OX_ACT_LEAKY_RELU(bias, r, y, n, a, b); break;
    case OX_ACT_SIGMOID: loop_OX_ACT_SIGMOID(bias, r, y, n, a, b); break;
    case OX_ACT_HARD_SIGMOID: loop_OX_ACT_HARD_SIGMOID(bias, r, y, n, a, b); break;
    case OX_ACT_HARD_SWISH: loop_OX_ACT_HARD_SWISH(bias, r, y, n, a, b); break;
    case OX_ACT_SILU: loop_OX_ACT_SILU(bias, r, y, n, a, b); break;
    case OX_ACT_TANH: loop_OX_ACT_TANH(bias, r, y, n, a, b); break;
    case OX_ACT_GELU_TANH: loop_OX_ACT_GELU_TANH(bias, r, y, n, a, b); break;
    default: return false; /* Gelu: the portable loop */
    }
    return true;
}
#else
bool ox_act_bias_res_f32_neon(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    (void)act, (void)bias, (void)r, (void)y, (void)n;
    return false;
}
#endif
