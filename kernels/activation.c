/* activation.c — bias + activation in place (see activation.h): a portable loop of scalar
 * formulas and an AVX2+FMA loop chosen at run time. */
#include <math.h>
#include <stddef.h>

#include "activation.h"
#include "simd.h"

/* ---- portable ---------------------------------------------------------------------------- */

/* 1 / (1 + exp(-x)) taking exp of non-positive numbers only (no overflow). NaN stays NaN. */
static inline float sigmoid_f(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* min(max(v, lo), hi) keeping NaN; lo > hi gives hi, as ONNX's Clip. */
static inline float clip_f(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* min(max(v, 0), 1) keeping NaN. */
static inline float clamp01_f(float v) { return v < 0 ? 0.0f : v > 1 ? 1.0f : v; }

/* x/2 (1 + tanh z) written as x sigmoid(2z): no cancellation where tanh z is near -1. */
static inline float gelu_tanh_f(float x)
{
    return x * sigmoid_f(2.0f * 0.7978845608f * (x + 0.044715f * x * x * x));
}

/* Exact Gelu written with erfc so large negative x keeps its tiny value. */
static inline float gelu_f(float x) { return 0.5f * x * erfcf(-x * 0.7071067812f); }

/* One loop per activation: the switch stays outside, so each loop is a plain map. */
#define ACT_LOOP(EXPR)                                    \
    for (int64_t i = 0; i < n; i++) {                     \
        const float x = r ? (y[i] + bias) + r[i] : y[i] + bias; \
        y[i] = (EXPR);                                    \
    }                                                     \
    break;

/* With a residual, a zero bias is added as -0.0f, which leaves every float (-0 included)
 * as it is: the sum is then exactly the unfused Conv's output (which skips a zero bias) plus
 * the residual. */
static float residual_bias(float bias, const float *r) { return r && bias == 0.0f ? -0.0f : bias; }

static void act_portable(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    bias = residual_bias(bias, r);
    const ox_act_kind kind = act ? act->kind : OX_ACT_NONE;
    const float alpha = act ? act->alpha : 0.0f, beta = act ? act->beta : 0.0f;
    switch (kind) {
    case OX_ACT_RELU: ACT_LOOP(x < 0 ? 0.0f : x)
    case OX_ACT_CLIP: ACT_LOOP(clip_f(x, alpha, beta))
    case OX_ACT_LEAKY_RELU: ACT_LOOP(x < 0 ? alpha * x : x)
    case OX_ACT_SIGMOID: ACT_LOOP(sigmoid_f(x))
    case OX_ACT_HARD_SIGMOID: ACT_LOOP(clamp01_f(alpha * x + beta))
    case OX_ACT_HARD_SWISH: ACT_LOOP(x * clamp01_f(x * (1.0f / 6.0f) + 0.5f))
    case OX_ACT_SILU: ACT_LOOP(x * sigmoid_f(x))
    case OX_ACT_TANH: ACT_LOOP(tanhf(x))
    case OX_ACT_GELU: ACT_LOOP(gelu_f(x))
    case OX_ACT_GELU_TANH: ACT_LOOP(gelu_tanh_f(x))
    default:
        if (r)
            for (int64_t i = 0; i < n; i++) y[i] = (y[i] + bias) + r[i];
        else if (bias != 0.0f)
            for (int64_t i = 0; i < n; i++) y[i] += bias;
        break;
    }
}

void ox_act_bias_f32_portable(const ox_act *act, float bias, float *y, int64_t n)
{
    act_portable(act, bias, NULL, y, n);
}

void ox_act_bias_res_f32_portable(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    act_portable(act, bias, r, y, n);
}

/* ---- AVX2 + FMA ------------------------------------------------------------------------- */

#if OX_SIMD_X86
#include <immintrin.h>

/* 2^n for integral n in [-126, 127], built in the exponent field. */
OX_TARGET_AVX2 static inline __m256 pow2i(__m256 n)
{
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

/* Splits y (<= 0, clamped to stay in the normal range) as n ln2 + r, |r| <= ln2 / 2, and
 * returns expm1(r) from its Taylor series through r^8 (truncation below 1e-9 relative). */
OX_TARGET_AVX2 static inline __m256 expm1_reduced(__m256 y, __m256 *n)
{
    y = _mm256_max_ps(y, _mm256_set1_ps(-87.0f));
    *n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(1.44269504089f)),
                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(*n, _mm256_set1_ps(0.693145751953125f), y); /* ln2, high bits */
    r = _mm256_fnmadd_ps(*n, _mm256_set1_ps(1.428606765330187e-06f), r);   /* ln2 - high */
    __m256 p = _mm256_set1_ps(1.0f / 40320);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 5040));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r);
}

/* exp(y) for y <= 0 (below -87 it gives exp(-87), about 1.6e-38). */
OX_TARGET_AVX2 static inline __m256 exp_neg(__m256 y)
{
    __m256 n, q = expm1_reduced(y, &n);
    return _mm256_fmadd_ps(pow2i(n), q, pow2i(n));
}

/* expm1(y) for y <= 0: 2^n (expm1(r) + 1) - 1 = 2^n expm1(r) + (2^n - 1); near 0 (n = 0)
 * that is expm1(r) itself, without the cancellation of exp(y) - 1. */
OX_TARGET_AVX2 static inline __m256 expm1_neg(__m256 y)
{
    __m256 n, q = expm1_reduced(y, &n);
    __m256 s = pow2i(n);
    return _mm256_fmadd_ps(s, q, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
}

/* NaN lanes of x are passed through (the clamps above would turn them into numbers). */
OX_TARGET_AVX2 static inline __m256 keep_nan(__m256 x, __m256 r)
{
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

OX_TARGET_AVX2 static inline __m256 abs_ps(__m256 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

/* Below -87 the exact sigmoid is denormal; it is taken as 0, so SiLU(-inf) = -inf * 0 = NaN
 * as in the unfused Mul(x, Sigmoid(x)). */
OX_TARGET_AVX2 static inline __m256 sigmoid_ps(__m256 x)
{
    __m256 ax = abs_ps(x);
    __m256 e = exp_neg(_mm256_sub_ps(_mm256_setzero_ps(), ax)); /* exp(-|x|) */
    e = _mm256_andnot_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(87.0f), _CMP_GT_OQ), e);
    __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    __m256 num = _mm256_blendv_ps(e, _mm256_set1_ps(1.0f), pos);
    return keep_nan(x, _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
}

/* tanh |x| = -expm1(-2|x|) / (2 + expm1(-2|x|)), sign restored: accurate near 0 too. */
OX_TARGET_AVX2 static inline __m256 tanh_ps(__m256 x)
{
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 m = expm1_neg(_mm256_mul_ps(_mm256_set1_ps(-2.0f), abs_ps(x)));
    __m256 t = _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), m), _mm256_add_ps(_mm256_set1_ps(2.0f), m));
    return keep_nan(x, _mm256_or_ps(t, sign));
}

/* 1 + erf(z), without the cancellation of 1 + erf(z) for z << 0 (where it is erfc(-z)):
 *   |z| < 1:  1 + z P(z^2)                       (erf(z)/z fitted in z^2, degree 6)
 *   |z| >= 1: erfc(|z|) = exp(-z^2) Q(|z| - 2.5)  (erfc(t) exp(t^2) fitted on [1, 4], degree 11)
 *             and 1 + erf(z) = erfc(|z|) below 0, 2 - erfc(|z|) above.
 * Our least-squares fits; in float32 both are within 2 ulp of erf (1.5e-7 absolute near
 * |z| = 1). Past |z| = 4 erfc is below half an ulp of 1; Q is evaluated at most at 4 there,
 * and beyond |z| = 9.5 exp(-z^2) is taken as 0, so GELU(-inf) = -inf * 0 = NaN as in libm. */
OX_TARGET_AVX2 static inline __m256 one_plus_erf_ps(__m256 z)
{
    static const float p[7] = {1.12837917e+00f, -3.76126298e-01f, 1.12836346e-01f, -2.68560696e-02f,
                               5.19295787e-03f, -8.05375110e-04f, 8.00687406e-05f};
    static const float q[12] = {2.10806360e-01f, -7.43473394e-02f, 2.49381512e-02f, -8.00166687e-03f,
                                2.46619394e-03f, -7.33228436e-04f, 2.12679305e-04f, -5.94384152e-05f,
                                1.45167954e-05f, -3.78840733e-06f, 1.64032327e-06f, -4.19281682e-07f};
    const __m256 one = _mm256_set1_ps(1.0f), az = abs_ps(z), z2 = _mm256_mul_ps(z, z);
    __m256 pa = _mm256_set1_ps(p[6]);
    for (int k = 5; k >= 0; k--) pa = _mm256_fmadd_ps(pa, z2, _mm256_set1_ps(p[k]));
    const __m256 small = _mm256_fmadd_ps(z, pa, one);
    const __m256 t = _mm256_sub_ps(_mm256_min_ps(az, _mm256_set1_ps(4.0f)), _mm256_set1_ps(2.5f));
    __m256 qb = _mm256_set1_ps(q[11]);
    for (int k = 10; k >= 0; k--) qb = _mm256_fmadd_ps(qb, t, _mm256_set1_ps(q[k]));
    __m256 e = exp_neg(_mm256_sub_ps(_mm256_setzero_ps(), z2));
    e = _mm256_andnot_ps(_mm256_cmp_ps(az, _mm256_set1_ps(9.5f), _CMP_GT_OQ), e);
    const __m256 tail = _mm256_mul_ps(qb, e); /* erfc(|z|) */
    const __m256 big = _mm256_blendv_ps(tail, _mm256_sub_ps(_mm256_set1_ps(2.0f), tail),
                                        _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GT_OQ));
    return _mm256_blendv_ps(big, small, _mm256_cmp_ps(az, one, _CMP_LT_OQ));
}

/* min(max(v, lo), hi) with NaN kept: max_ps/min_ps return their second operand when either
 * is NaN. */
OX_TARGET_AVX2 static inline __m256 clamp_ps(__m256 v, __m256 lo, __m256 hi)
{
    return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
}

OX_TARGET_AVX2 static inline __m256 act8(ox_act_kind kind, __m256 x, __m256 alpha, __m256 beta)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (kind) {
    case OX_ACT_RELU: return _mm256_max_ps(zero, x);
    case OX_ACT_CLIP: return clamp_ps(x, alpha, beta);
    case OX_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(x, _mm256_mul_ps(alpha, x), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    case OX_ACT_SIGMOID: return sigmoid_ps(x);
    case OX_ACT_HARD_SIGMOID: return clamp_ps(_mm256_fmadd_ps(alpha, x, beta), zero, one);
    case OX_ACT_HARD_SWISH:
        return _mm256_mul_ps(
            x, clamp_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f)), zero, one));
    case OX_ACT_SILU: return _mm256_mul_ps(x, sigmoid_ps(x));
    case OX_ACT_TANH: return tanh_ps(x);
    case OX_ACT_GELU: /* x/2 (1 + erf(x/√2)) */
        return keep_nan(x, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                                         one_plus_erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)))));
    case OX_ACT_GELU_TANH: {
        __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        __m256 z2 = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
        return _mm256_mul_ps(x, sigmoid_ps(z2)); /* x sigmoid(2z), as the portable loop */
    }
    default: return x;
    }
}

/* One loop per activation kind (the kind is a constant inside each after inlining); r, when
 * not NULL, is added after the bias. */
OX_TARGET_AVX2 static inline __m256 pre_add(__m256 v, __m256 vb, const float *r)
{
    v = _mm256_add_ps(v, vb);
    return r ? _mm256_add_ps(v, _mm256_loadu_ps(r)) : v;
}

#define AVX2_LOOP(KIND)                                                                    \
    OX_TARGET_AVX2 static void loop_##KIND(float bias, const float *r, float *y, int64_t n, float a, float b) \
    {                                                                                      \
        const __m256 vb = _mm256_set1_ps(bias), va = _mm256_set1_ps(a), vbeta = _mm256_set1_ps(b); \
        int64_t i = 0;                                                                     \
        for (; i + 8 <= n; i += 8)                                                         \
            _mm256_storeu_ps(y + i, act8(KIND, pre_add(_mm256_loadu_ps(y + i), vb, r ? r + i : NULL), va, vbeta)); \
        if (i < n) { /* the tail through a full vector, so it gets the same formula */    \
            float t[8] = {0}, rt[8] = {0};                                                 \
            for (int64_t j = i; j < n; j++) t[j - i] = y[j];                               \
            if (r)                                                                         \
                for (int64_t j = i; j < n; j++) rt[j - i] = r[j];                          \
            _mm256_storeu_ps(t, act8(KIND, pre_add(_mm256_loadu_ps(t), vb, r ? rt : NULL), va, vbeta)); \
            for (int64_t j = i; j < n; j++) y[j] = t[j - i];                               \
        }                                                                                  \
    }

AVX2_LOOP(OX_ACT_NONE)
AVX2_LOOP(OX_ACT_RELU)
AVX2_LOOP(OX_ACT_CLIP)
AVX2_LOOP(OX_ACT_LEAKY_RELU)
AVX2_LOOP(OX_ACT_SIGMOID)
AVX2_LOOP(OX_ACT_HARD_SIGMOID)
AVX2_LOOP(OX_ACT_HARD_SWISH)
AVX2_LOOP(OX_ACT_SILU)
AVX2_LOOP(OX_ACT_TANH)
AVX2_LOOP(OX_ACT_GELU)
AVX2_LOOP(OX_ACT_GELU_TANH)

static bool act_avx2(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    if (!ox_cpu_avx2()) return false;
    const ox_act_kind kind = act ? act->kind : OX_ACT_NONE;
    const float a = act ? act->alpha : 0.0f, b = act ? act->beta : 0.0f;
    bias = residual_bias(bias, r);
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
    case OX_ACT_GELU: loop_OX_ACT_GELU(bias, r, y, n, a, b); break;
    case OX_ACT_GELU_TANH: loop_OX_ACT_GELU_TANH(bias, r, y, n, a, b); break;
    default: act_portable(act, bias, r, y, n); break;
    }
    return true;
}
#else
static bool act_avx2(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    (void)act, (void)bias, (void)r, (void)y, (void)n;
    return false;
}
#endif

bool ox_act_bias_f32_avx2(const ox_act *act, float bias, float *y, int64_t n)
{
    return act_avx2(act, bias, NULL, y, n);
}

bool ox_act_bias_res_f32_avx2(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    return act_avx2(act, bias, r, y, n);
}

void ox_act_bias_f32(const ox_act *act, float bias, float *y, int64_t n)
{
    if (n <= 0 || ((!act || act->kind == OX_ACT_NONE) && bias == 0.0f)) return;
    if (!act_avx2(act, bias, NULL, y, n) && !ox_act_bias_res_f32_neon(act, bias, NULL, y, n))
        act_portable(act, bias, NULL, y, n);
}

void ox_act_bias_res_f32(const ox_act *act, float bias, const float *r, float *y, int64_t n)
{
    if (!r) {
        ox_act_bias_f32(act, bias, y, n);
        return;
    }
    if (n > 0 && !act_avx2(act, bias, r, y, n) && !ox_act_bias_res_f32_neon(act, bias, r, y, n))
        act_portable(act, bias, r, y, n);
}
