/* unary.c — element-wise math functions and activations (see unary.h).
 *
 * Each op is one line below: its scalar formula over a double `x` (and the attributes in
 * `arg`), stamped into two loops: one over double arrays and one over float arrays (float32
 * is by far the most common dtype and a fused loop is several times faster than converting
 * through a buffer for the cheap formulas). Other dtypes are served by a codec that loads a
 * block of elements into doubles, runs the double loop and stores the results back, so every
 * op works on every dtype without a loop per (op, dtype) pair. Only Abs, Neg and Sign on
 * integers have loops of their own, because they must be exact where doubles are not (int64
 * beyond 2^53). */
#include <math.h>

#include "internal.h"
#include "unary.h"

/* Below this many elements a call runs on one thread: forking costs more than it saves. */
#define PAR_MIN_ELEMS 16384
/* Elements converted through doubles at a time: the buffer (2 KiB) stays in L1 and the
 * per-block calls are amortised. */
#define BLOCK 256

/* ---- formulas that take more than an expression ---------------------------------------- */

/* Round half to even, independent of the floating-point environment's rounding mode (which
 * the host application may have changed). floor and x - floor(x) are exact; the sign is
 * restored so that -0.4 rounds to -0.0 as numpy does. NaN and infinities pass through. */
static inline double round_half_even(double x)
{
    double r = floor(x);
    double frac = x - r;
    if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) != 0.0)) r += 1.0;
    return copysign(r, x);
}

/* log(1 + exp(x)) without overflow for large x. */
static inline double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* 1 / (1 + exp(-x)) taking exp of non-positive numbers only. NaN stays NaN. */
static inline double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* min(max(v, 0), 1) keeping NaN (fmin/fmax would turn it into a bound). */
static inline double clamp01(double v) { return v < 0 ? 0.0 : v > 1 ? 1.0 : v; }

/* numpy's sign: NaN stays NaN and both zeros give +0. */
static inline double sign(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x; }

/* Gelu, exact: x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)), written with erfc so that large
 * negative x keeps its tiny value instead of cancelling to 0. */
static inline double gelu(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }

/* Gelu, tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
static inline double gelu_tanh(double x)
{
    return 0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
}

/* ---- one loop per formula -------------------------------------------------------------- */

typedef void (*formula_loop)(int64_t n, const double *x, double *y, const ox_math_args *a);
typedef void (*formula_loop_f32)(int64_t n, const float *x, float *y, const ox_math_args *a);

/* ys[i] = EXPR for i < n, EXPR reading `x` and `arg` (a copy, so the compiler need not
 * assume the stores to ys change it); in place (ys == xs) is fine. */
#define LOOP_OVER(name, T, EXPR)                                                   \
    static void name(int64_t n, const T *xs, T *ys, const ox_math_args *a)         \
    {                                                                              \
        const ox_math_args arg = *a;                                               \
        (void)arg;                                                                 \
        for (int64_t i = 0; i < n; i++) {                                          \
            const double x = xs[i];                                                \
            ys[i] = (T)(EXPR);                                                     \
        }                                                                          \
    }
#define LOOP(name, EXPR)                         \
    LOOP_OVER(loop_##name, double, EXPR)         \
    LOOP_OVER(loop_##name##_f32, float, EXPR)

LOOP(abs, fabs(x))
LOOP(acos, acos(x))
LOOP(acosh, acosh(x))
LOOP(asin, asin(x))
LOOP(asinh, asinh(x))
LOOP(atan, atan(x))
LOOP(atanh, atanh(x))
LOOP(ceil, ceil(x))
/* max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): for x > 0 the second term is 0 and for
 * x <= 0 the first is, whatever alpha's sign. */
LOOP(celu, x > 0 ? x : arg.alpha * expm1(x / arg.alpha))
LOOP(cos, cos(x))
LOOP(cosh, cosh(x))
LOOP(elu, x < 0 ? arg.alpha * expm1(x) : x)
LOOP(erf, erf(x))
LOOP(exp, exp(x))
LOOP(floor, floor(x))
LOOP(gelu, gelu(x))
LOOP(gelu_tanh, gelu_tanh(x))
LOOP(hard_sigmoid, clamp01(arg.alpha * x + arg.beta))
LOOP(hard_swish, x * clamp01(x / 6.0 + 0.5))
LOOP(leaky_relu, x < 0 ? arg.alpha * x : x)
LOOP(log, log(x))
LOOP(mish, x * tanh(softplus(x)))
LOOP(neg, -x)
LOOP(reciprocal, 1.0 / x)
LOOP(round, round_half_even(x))
LOOP(selu, x > 0 ? arg.gamma * x : arg.gamma * arg.alpha * expm1(x))
LOOP(shrink, x < -arg.alpha ? x + arg.beta : x > arg.alpha ? x - arg.beta : 0.0)
LOOP(sign, sign(x))
LOOP(sin, sin(x))
LOOP(sinh, sinh(x))
LOOP(softplus, softplus(x))
LOOP(softsign, x / (1.0 + fabs(x)))
LOOP(sqrt, sqrt(x))
LOOP(swish, x * sigmoid(arg.alpha * x))
LOOP(tan, tan(x))
LOOP(thresholded_relu, x > arg.alpha ? x : 0.0)

static const struct {
    formula_loop f64;
    formula_loop_f32 f32;
} formula_loops[OX_MATH_COUNT_] = {
    [OX_MATH_ABS] = {loop_abs, loop_abs_f32},
    [OX_MATH_ACOS] = {loop_acos, loop_acos_f32},
    [OX_MATH_ACOSH] = {loop_acosh, loop_acosh_f32},
    [OX_MATH_ASIN] = {loop_asin, loop_asin_f32},
    [OX_MATH_ASINH] = {loop_asinh, loop_asinh_f32},
    [OX_MATH_ATAN] = {loop_atan, loop_atan_f32},
    [OX_MATH_ATANH] = {loop_atanh, loop_atanh_f32},
    [OX_MATH_CEIL] = {loop_ceil, loop_ceil_f32},
    [OX_MATH_CELU] = {loop_celu, loop_celu_f32},
    [OX_MATH_COS] = {loop_cos, loop_cos_f32},
    [OX_MATH_COSH] = {loop_cosh, loop_cosh_f32},
    [OX_MATH_ELU] = {loop_elu, loop_elu_f32},
    [OX_MATH_ERF] = {loop_erf, loop_erf_f32},
    [OX_MATH_EXP] = {loop_exp, loop_exp_f32},
    [OX_MATH_FLOOR] = {loop_floor, loop_floor_f32},
    [OX_MATH_GELU] = {loop_gelu, loop_gelu_f32},
    [OX_MATH_GELU_TANH] = {loop_gelu_tanh, loop_gelu_tanh_f32},
    [OX_MATH_HARD_SIGMOID] = {loop_hard_sigmoid, loop_hard_sigmoid_f32},
    [OX_MATH_HARD_SWISH] = {loop_hard_swish, loop_hard_swish_f32},
    [OX_MATH_LEAKY_RELU] = {loop_leaky_relu, loop_leaky_relu_f32},
    [OX_MATH_LOG] = {loop_log, loop_log_f32},
    [OX_MATH_MISH] = {loop_mish, loop_mish_f32},
    [OX_MATH_NEG] = {loop_neg, loop_neg_f32},
    [OX_MATH_RECIPROCAL] = {loop_reciprocal, loop_reciprocal_f32},
    [OX_MATH_ROUND] = {loop_round, loop_round_f32},
    [OX_MATH_SELU] = {loop_selu, loop_selu_f32},
    [OX_MATH_SHRINK] = {loop_shrink, loop_shrink_f32},
    [OX_MATH_SIGN] = {loop_sign, loop_sign_f32},
    [OX_MATH_SIN] = {loop_sin, loop_sin_f32},
    [OX_MATH_SINH] = {loop_sinh, loop_sinh_f32},
    [OX_MATH_SOFTPLUS] = {loop_softplus, loop_softplus_f32},
    [OX_MATH_SOFTSIGN] = {loop_softsign, loop_softsign_f32},
    [OX_MATH_SQRT] = {loop_sqrt, loop_sqrt_f32},
    [OX_MATH_SWISH] = {loop_swish, loop_swish_f32},
    [OX_MATH_TAN] = {loop_tan, loop_tan_f32},
    [OX_MATH_THRESHOLDED_RELU] = {loop_thresholded_relu, loop_thresholded_relu_f32},
};

/* ---- codecs: a dtype's elements to and from double ------------------------------------- */

/* double -> integer type T: truncation toward zero (as numpy's astype), saturating at the
 * type's limits, NaN to 0, so no value is an out-of-range conversion. The limits compare as
 * doubles: a bound that rounds up (INT64_MAX -> 2^63) still sends every value that would
 * not fit to the bound. */
#define SATURATE(T, LO, HI)                          \
    static inline T to_##T(double v)                 \
    {                                                \
        if (!(v == v)) return 0;                     \
        if (v <= (double)(LO)) return (LO);          \
        if (v >= (double)(HI)) return (HI);          \
        return (T)v;                                 \
    }

SATURATE(int8_t, INT8_MIN, INT8_MAX)
SATURATE(int16_t, INT16_MIN, INT16_MAX)
SATURATE(int32_t, INT32_MIN, INT32_MAX)
SATURATE(int64_t, INT64_MIN, INT64_MAX)
SATURATE(uint8_t, 0, UINT8_MAX)
SATURATE(uint16_t, 0, UINT16_MAX)
SATURATE(uint32_t, 0, UINT32_MAX)
SATURATE(uint64_t, 0, UINT64_MAX)

static inline double from_f16(uint16_t h) { return ox_f16_to_f32(h); }
static inline double from_bf16(uint16_t h) { return ox_bf16_to_f32(h); }
/* float16/bfloat16 round through float32, the precision the ONNX reference computes in. */
static inline uint16_t to_f16(double v) { return ox_f32_to_f16((float)v); }
static inline uint16_t to_bf16(double v) { return ox_f32_to_bf16((float)v); }
static inline float to_f32(double v) { return (float)v; }
#define TO_DOUBLE(v) ((double)(v))

typedef void (*load_fn)(const void *x, int64_t off, int64_t n, double *d);
typedef void (*store_fn)(const double *d, int64_t n, void *y, int64_t off);

#define CODEC(sfx, T, LOAD, STORE)                                           \
    static void load_##sfx(const void *px, int64_t off, int64_t n, double *d) \
    {                                                                        \
        const T *x = (const T *)px + off;                                    \
        for (int64_t i = 0; i < n; i++) d[i] = LOAD(x[i]);                   \
    }                                                                        \
    static void store_##sfx(const double *d, int64_t n, void *py, int64_t off) \
    {                                                                        \
        T *y = (T *)py + off;                                                \
        for (int64_t i = 0; i < n; i++) y[i] = STORE(d[i]);                  \
    }

CODEC(f32, float, TO_DOUBLE, to_f32)
CODEC(f16, uint16_t, from_f16, to_f16)
CODEC(bf16, uint16_t, from_bf16, to_bf16)
CODEC(i8, int8_t, TO_DOUBLE, to_int8_t)
CODEC(i16, int16_t, TO_DOUBLE, to_int16_t)
CODEC(i32, int32_t, TO_DOUBLE, to_int32_t)
CODEC(i64, int64_t, TO_DOUBLE, to_int64_t)
CODEC(u8, uint8_t, TO_DOUBLE, to_uint8_t)
CODEC(u16, uint16_t, TO_DOUBLE, to_uint16_t)
CODEC(u32, uint32_t, TO_DOUBLE, to_uint32_t)
CODEC(u64, uint64_t, TO_DOUBLE, to_uint64_t)

typedef struct codec {
    onyx_dtype t;
    load_fn load;
    store_fn store;
} codec;

/* Double is absent: its elements are the formulas' own type, no conversion needed. Float32
 * has its own formula loops and uses its codec for the predicates only. */
static const codec codecs[] = {
    {ONYX_DTYPE_FLOAT, load_f32, store_f32},   {ONYX_DTYPE_FLOAT16, load_f16, store_f16},
    {ONYX_DTYPE_BFLOAT16, load_bf16, store_bf16}, {ONYX_DTYPE_INT8, load_i8, store_i8},
    {ONYX_DTYPE_INT16, load_i16, store_i16},   {ONYX_DTYPE_INT32, load_i32, store_i32},
    {ONYX_DTYPE_INT64, load_i64, store_i64},   {ONYX_DTYPE_UINT8, load_u8, store_u8},
    {ONYX_DTYPE_UINT16, load_u16, store_u16},  {ONYX_DTYPE_UINT32, load_u32, store_u32},
    {ONYX_DTYPE_UINT64, load_u64, store_u64},
};

static const codec *find_codec(onyx_dtype t)
{
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        if (codecs[i].t == t) return &codecs[i];
    return NULL;
}

/* ---- exact integer Abs, Neg, Sign ------------------------------------------------------ */

typedef void (*int_loop)(int64_t n, const void *x, void *y);

/* Negation goes through the unsigned type W so the most negative value wraps to itself
 * instead of overflowing. */
#define SIGNED_LOOPS(sfx, T, W)                                               \
    static void abs_##sfx(int64_t n, const void *px, void *py)                \
    {                                                                         \
        const T *x = px;                                                      \
        T *y = py;                                                            \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)((W)0 - (W)x[i]) : x[i]; \
    }                                                                         \
    static void neg_##sfx(int64_t n, const void *px, void *py)                \
    {                                                                         \
        const T *x = px;                                                      \
        T *y = py;                                                            \
        for (int64_t i = 0; i < n; i++) y[i] = (T)((W)0 - (W)x[i]);           \
    }                                                                         \
    static void sign_##sfx(int64_t n, const void *px, void *py)               \
    {                                                                         \
        const T *x = px;                                                      \
        T *y = py;                                                            \
        for (int64_t i = 0; i < n; i++) y[i] = (T)((x[i] > 0) - (x[i] < 0));  \
    }

#define UNSIGNED_LOOPS(sfx, T)                                                \
    static void abs_##sfx(int64_t n, const void *px, void *py)                \
    {                                                                         \
        const T *x = px;                                                      \
        T *y = py;                                                            \
        for (int64_t i = 0; i < n; i++) y[i] = x[i];                          \
    }                                                                         \
    static void sign_##sfx(int64_t n, const void *px, void *py)               \
    {                                                                         \
        const T *x = px;                                                      \
        T *y = py;                                                            \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0;                      \
    }

SIGNED_LOOPS(i8, int8_t, unsigned)
SIGNED_LOOPS(i16, int16_t, unsigned)
SIGNED_LOOPS(i32, int32_t, uint32_t)
SIGNED_LOOPS(i64, int64_t, uint64_t)
UNSIGNED_LOOPS(u8, uint8_t)
UNSIGNED_LOOPS(u16, uint16_t)
UNSIGNED_LOOPS(u32, uint32_t)
UNSIGNED_LOOPS(u64, uint64_t)

/* Neg is not defined on unsigned types (the ONNX schema leaves them out). */
static const struct {
    onyx_dtype t;
    int_loop abs, neg, sign;
} int_loops[] = {
    {ONYX_DTYPE_INT8, abs_i8, neg_i8, sign_i8},     {ONYX_DTYPE_INT16, abs_i16, neg_i16, sign_i16},
    {ONYX_DTYPE_INT32, abs_i32, neg_i32, sign_i32}, {ONYX_DTYPE_INT64, abs_i64, neg_i64, sign_i64},
    {ONYX_DTYPE_UINT8, abs_u8, NULL, sign_u8},      {ONYX_DTYPE_UINT16, abs_u16, NULL, sign_u16},
    {ONYX_DTYPE_UINT32, abs_u32, NULL, sign_u32},   {ONYX_DTYPE_UINT64, abs_u64, NULL, sign_u64},
};

static int_loop find_int_loop(ox_math_op op, onyx_dtype t)
{
    for (size_t i = 0; i < sizeof int_loops / sizeof int_loops[0]; i++) {
        if (int_loops[i].t != t) continue;
        switch (op) {
        case OX_MATH_ABS: return int_loops[i].abs;
        case OX_MATH_NEG: return int_loops[i].neg;
        case OX_MATH_SIGN: return int_loops[i].sign;
        default: return NULL;
        }
    }
    return NULL;
}

/* ---- IsNaN, IsInf ---------------------------------------------------------------------- */

enum { CLASS_NAN = 1, CLASS_POS_INF = 2, CLASS_NEG_INF = 4 };

static inline unsigned class_of(double v)
{
    if (isnan(v)) return CLASS_NAN;
    if (isinf(v)) return v > 0 ? CLASS_POS_INF : CLASS_NEG_INF;
    return 0;
}

/* The float8 formats, by bit pattern: E4M3FN has NaN at S.1111.111 and no infinity; E5M2
 * has IEEE-style infinities (S.11111.00) and NaNs (S.11111.xx); the FNUZ variants have a
 * single NaN, the "negative zero" pattern 0x80, and no infinity. */
static unsigned class_f8(onyx_dtype t, uint8_t b)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT8E4M3FN: return (b & 0x7f) == 0x7f ? CLASS_NAN : 0;
    case ONYX_DTYPE_FLOAT8E5M2:
        if ((b & 0x7f) == 0x7c) return b & 0x80 ? CLASS_NEG_INF : CLASS_POS_INF;
        return (b & 0x7f) > 0x7c ? CLASS_NAN : 0;
    default: return b == 0x80 ? CLASS_NAN : 0; /* the FNUZ formats */
    }
}

static bool is_f8(onyx_dtype t)
{
    return t == ONYX_DTYPE_FLOAT8E4M3FN || t == ONYX_DTYPE_FLOAT8E4M3FNUZ ||
           t == ONYX_DTYPE_FLOAT8E5M2 || t == ONYX_DTYPE_FLOAT8E5M2FNUZ;
}

/* ---- dispatch -------------------------------------------------------------------------- */

/* One call's work: how to compute and on what. */
typedef struct job {
    onyx_dtype t;
    int_loop ints;        /* exact integer Abs/Neg/Sign, else NULL */
    bool predicate;       /* IsNaN/IsInf: y is bool, true for the classes in mask */
    unsigned mask;
    bool f8;              /* predicates on float8: by bit pattern */
    formula_loop f64;     /* the formula over doubles (float64, and every codec dtype) */
    formula_loop_f32 f32; /* the same over floats (float32) */
    const codec *codec;   /* NULL for double */
    ox_math_args args;
    const void *x;
    void *y;
    size_t esize;
} job;

bool ox_math_is_predicate(ox_math_op op) { return op == OX_MATH_IS_NAN || op == OX_MATH_IS_INF; }

static bool job_init(job *j, ox_math_op op, onyx_dtype t, const ox_math_args *a)
{
    *j = (job){.t = t, .esize = onyx_dtype_size(t)};
    if (a) j->args = *a;
    if ((unsigned)op >= OX_MATH_COUNT_) return false;
    j->codec = find_codec(t);
    bool floating = t == ONYX_DTYPE_DOUBLE || (j->codec && ox_dtype_is_float(t));
    if (ox_math_is_predicate(op)) {
        j->predicate = true;
        j->mask = op == OX_MATH_IS_NAN ? CLASS_NAN
                                       : (j->args.pos_inf ? CLASS_POS_INF : 0u) |
                                             (j->args.neg_inf ? CLASS_NEG_INF : 0u);
        j->f8 = is_f8(t);
        return floating || j->f8;
    }
    j->f64 = formula_loops[op].f64;
    j->f32 = formula_loops[op].f32;
    if (floating) return true;
    j->ints = find_int_loop(op, t);
    /* Integer Erf and Shrink compute in double, as the reference does. */
    return j->ints || (j->codec && (op == OX_MATH_ERF || op == OX_MATH_SHRINK));
}

/* Predicates over elements [lo, hi): y is one byte per element. */
static void predicate_range(const job *j, int64_t lo, int64_t hi)
{
    uint8_t *y = (uint8_t *)j->y + lo;
    if (j->f8) {
        const uint8_t *x = (const uint8_t *)j->x + lo;
        for (int64_t i = 0; i < hi - lo; i++) y[i] = (class_f8(j->t, x[i]) & j->mask) != 0;
        return;
    }
    if (!j->codec) {
        const double *x = (const double *)j->x + lo;
        for (int64_t i = 0; i < hi - lo; i++) y[i] = (class_of(x[i]) & j->mask) != 0;
        return;
    }
    double buf[BLOCK];
    for (int64_t b = lo; b < hi; b += BLOCK) {
        int64_t m = hi - b < BLOCK ? hi - b : BLOCK;
        j->codec->load(j->x, b, m, buf);
        for (int64_t i = 0; i < m; i++) y[b - lo + i] = (class_of(buf[i]) & j->mask) != 0;
    }
}

/* Computes elements [lo, hi). */
static void job_range(const job *j, int64_t lo, int64_t hi)
{
    if (j->ints) {
        j->ints(hi - lo, (const char *)j->x + (size_t)lo * j->esize,
                (char *)j->y + (size_t)lo * j->esize);
    } else if (j->predicate) {
        predicate_range(j, lo, hi);
    } else if (j->t == ONYX_DTYPE_FLOAT) {
        j->f32(hi - lo, (const float *)j->x + lo, (float *)j->y + lo, &j->args);
    } else if (!j->codec) {
        j->f64(hi - lo, (const double *)j->x + lo, (double *)j->y + lo, &j->args);
    } else {
        double buf[BLOCK];
        for (int64_t b = lo; b < hi; b += BLOCK) {
            int64_t m = hi - b < BLOCK ? hi - b : BLOCK;
            j->codec->load(j->x, b, m, buf);
            j->f64(m, buf, buf, &j->args);
            j->codec->store(buf, m, j->y, b);
        }
    }
}

bool ox_math_supported(ox_math_op op, onyx_dtype t)
{
    job j;
    return job_init(&j, op, t, NULL);
}

bool ox_math(ox_math_op op, onyx_dtype t, const ox_math_args *a, int64_t n, const void *x,
             void *y, int threads)
{
    job j;
    if (!job_init(&j, op, t, a)) return false;
    if (n <= 0) return true;
    j.x = x;
    j.y = y;
    if (threads <= 1 || n < PAR_MIN_ELEMS) {
        job_range(&j, 0, n);
        return true;
    }
    /* Chunks start on 64-element boundaries so no two threads write one cache line. Each
     * element is computed the same way whichever thread takes it. */
    int64_t chunk = (n + threads - 1) / threads;
    chunk = (chunk + 63) / 64 * 64;
    int64_t chunks = (n + chunk - 1) / chunk;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        job_range(&j, lo, hi);
    }
    return true;
}
