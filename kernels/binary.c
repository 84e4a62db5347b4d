/* binary.c — kernels for Pow, Mod, PRelu, BitShift, the bitwise ops, Max and Min (see
 * binary.h). Loops are stamped out with OX_BINARY_LOOP (binary_loop.h); the expressions they
 * evaluate are small inline functions here, written so that no input is undefined
 * behaviour: integer arithmetic goes through unsigned types, divisors and shift counts are
 * checked first, and float -> integer conversions saturate. */
#include <math.h>

#include "binary.h"
#include "binary_loop.h"

#define F16_STORE(v) ox_f32_to_f16((float)(v))
#define BF16_STORE(v) ox_f32_to_bf16((float)(v))

/* ---- Pow ------------------------------------------------------------------------------- */

/* pow, with the common square (x^2 in normalisations) done without the libm call; x * x is
 * the correctly rounded square, as pow's result is. */
static inline double pow_d(double x, double y) { return y == 2.0 ? x * x : pow(x, y); }

/* base^e modulo 2^64 by squaring; callers keep the low bits of their type. */
static uint64_t ipow_wrap(uint64_t base, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1) r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}

static inline int64_t ipow_unsigned(int64_t x, uint64_t e)
{
    return (int64_t)ipow_wrap((uint64_t)x, e);
}

/* A negative exponent gives 1 / x^-e truncated toward zero: only |x| = 1 survives. Base 0
 * would divide by zero; it gives 0 like every other base. */
static inline int64_t ipow_signed(int64_t x, int64_t e)
{
    if (e >= 0) return ipow_unsigned(x, (uint64_t)e);
    if (x == 1) return 1;
    if (x == -1) return ((uint64_t)e & 1) ? -1 : 1;
    return 0;
}

/* v truncated toward zero into [lo, hi]; NaN gives 0 (a plain cast would be undefined). */
static inline int64_t sat_int(double v, int64_t lo, int64_t hi)
{
    if (isnan(v)) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

#define SAT_I32(v) ((int32_t)sat_int((v), INT32_MIN, INT32_MAX))
#define SAT_I64(v) sat_int((v), INT64_MIN, INT64_MAX)
#define AS_F32(v) ((float)(v))

/* Exponent types as X(base args..., suffix, storage type, load, dtype). */
#define POW_FLOAT_EXPS(X, ...)                                            \
    X(__VA_ARGS__, f32, float, OX_AS_IS, ONYX_DTYPE_FLOAT)                \
    X(__VA_ARGS__, f64, double, OX_AS_IS, ONYX_DTYPE_DOUBLE)              \
    X(__VA_ARGS__, f16, uint16_t, ox_f16_to_f32, ONYX_DTYPE_FLOAT16)      \
    X(__VA_ARGS__, bf16, uint16_t, ox_bf16_to_f32, ONYX_DTYPE_BFLOAT16)
#define POW_SIGNED_EXPS(X, ...)                                           \
    X(__VA_ARGS__, i8, int8_t, OX_AS_IS, ONYX_DTYPE_INT8)                 \
    X(__VA_ARGS__, i16, int16_t, OX_AS_IS, ONYX_DTYPE_INT16)              \
    X(__VA_ARGS__, i32, int32_t, OX_AS_IS, ONYX_DTYPE_INT32)              \
    X(__VA_ARGS__, i64, int64_t, OX_AS_IS, ONYX_DTYPE_INT64)
#define POW_UNSIGNED_EXPS(X, ...)                                         \
    X(__VA_ARGS__, u8, uint8_t, OX_AS_IS, ONYX_DTYPE_UINT8)               \
    X(__VA_ARGS__, u16, uint16_t, OX_AS_IS, ONYX_DTYPE_UINT16)            \
    X(__VA_ARGS__, u32, uint32_t, OX_AS_IS, ONYX_DTYPE_UINT32)            \
    X(__VA_ARGS__, u64, uint64_t, OX_AS_IS, ONYX_DTYPE_UINT64)

/* Base types as X(suffix, storage type, load, store from double, dtype). */
#define POW_FLOAT_BASES(X)                                                \
    X(f32, float, OX_AS_IS, AS_F32, ONYX_DTYPE_FLOAT)                     \
    X(f64, double, OX_AS_IS, OX_AS_IS, ONYX_DTYPE_DOUBLE)                 \
    X(f16, uint16_t, ox_f16_to_f32, F16_STORE, ONYX_DTYPE_FLOAT16)        \
    X(bf16, uint16_t, ox_bf16_to_f32, BF16_STORE, ONYX_DTYPE_BFLOAT16)
#define POW_INT_BASES(X)                                                  \
    X(i32, int32_t, OX_AS_IS, SAT_I32, ONYX_DTYPE_INT32)                  \
    X(i64, int64_t, OX_AS_IS, SAT_I64, ONYX_DTYPE_INT64)

/* Float base with any exponent, or integer base with a float exponent: computed in double
 * and stored with the base's store (rounding, or saturating for integer bases). */
#define POW_DOUBLE(bs, TB, LB, SB, BT, es, TE, LE, ET) \
    OX_BINARY_LOOP(pow_##bs##_##es, TB, double, LB, TE, double, LE, TB, SB(pow_d(x, y)))
/* Integer base, integer exponent: exact, wrapping. */
#define POW_INT_SIGNED(bs, TB, LB, SB, BT, es, TE, LE, ET) \
    OX_BINARY_LOOP(pow_##bs##_##es, TB, int64_t, LB, TE, int64_t, LE, TB, (TB)ipow_signed(x, y))
#define POW_INT_UNSIGNED(bs, TB, LB, SB, BT, es, TE, LE, ET) \
    OX_BINARY_LOOP(pow_##bs##_##es, TB, int64_t, LB, TE, uint64_t, LE, TB, (TB)ipow_unsigned(x, y))

#define POW_FLOAT_BASE(...)                  \
    POW_FLOAT_EXPS(POW_DOUBLE, __VA_ARGS__)   \
    POW_SIGNED_EXPS(POW_DOUBLE, __VA_ARGS__)  \
    POW_UNSIGNED_EXPS(POW_DOUBLE, __VA_ARGS__)
#define POW_INT_BASE(...)                         \
    POW_FLOAT_EXPS(POW_DOUBLE, __VA_ARGS__)       \
    POW_SIGNED_EXPS(POW_INT_SIGNED, __VA_ARGS__)  \
    POW_UNSIGNED_EXPS(POW_INT_UNSIGNED, __VA_ARGS__)

POW_FLOAT_BASES(POW_FLOAT_BASE)
POW_INT_BASES(POW_INT_BASE)

#define POW_ROW(bs, TB, LB, SB, BT, es, TE, LE, ET) {BT, ET, pow_##bs##_##es},
#define POW_ROWS(...)                       \
    POW_FLOAT_EXPS(POW_ROW, __VA_ARGS__)    \
    POW_SIGNED_EXPS(POW_ROW, __VA_ARGS__)   \
    POW_UNSIGNED_EXPS(POW_ROW, __VA_ARGS__)

static const struct {
    onyx_dtype base, exponent;
    ox_binary_fn fn;
} pow_table[] = {POW_FLOAT_BASES(POW_ROWS) POW_INT_BASES(POW_ROWS)};

ox_binary_fn ox_pow_kernel(onyx_dtype base, onyx_dtype exponent)
{
    for (size_t i = 0; i < sizeof pow_table / sizeof pow_table[0]; i++)
        if (pow_table[i].base == base && pow_table[i].exponent == exponent) return pow_table[i].fn;
    return NULL;
}

/* ---- Mod ------------------------------------------------------------------------------- */

/* Floor remainder (sign of y). fmod already gives NaN for an infinite x, a zero y or a NaN,
 * and x itself for an infinite y; moving a remainder of the wrong sign by y then yields y
 * for an infinite y of the other sign, as Mod-28 asks. A zero result takes y's sign. */
static inline float mod_floor_f(float x, float y)
{
    float r = fmodf(x, y);
    if (r == 0) return copysignf(0.0f, y);
    return (r < 0) != (y < 0) ? r + y : r;
}

static inline double mod_floor_d(double x, double y)
{
    double r = fmod(x, y);
    if (r == 0) return copysign(0.0, y);
    return (r < 0) != (y < 0) ? r + y : r;
}

/* Integer remainder truncated (sign of x) or floored (sign of y). x % 0 is 0, and x % -1 is
 * 0 without evaluating INT64_MIN % -1 (undefined in C). The floored fix-up adds y to a
 * remainder of the opposite sign, so it cannot overflow. */
static inline int64_t mod_int(int64_t x, int64_t y, bool floored)
{
    if (y == 0 || y == -1) return 0;
    int64_t r = x % y;
    if (floored && r != 0 && (r < 0) != (y < 0)) r += y;
    return r;
}

static inline uint64_t mod_uint(uint64_t x, uint64_t y) { return y == 0 ? 0 : x % y; }

#define MOD_FLOAT(sfx, T, CT, LOAD, STORE, FLOOR, FMOD)                           \
    OX_BINARY_SAME(mod_##sfx, T, CT, LOAD, STORE(FLOOR(x, y)))                   \
    OX_BINARY_SAME(fmod_##sfx, T, CT, LOAD, STORE(FMOD(x, y)))
#define MOD_SIGNED(sfx, T)                                                        \
    OX_BINARY_SAME(mod_##sfx, T, int64_t, OX_AS_IS, (T)mod_int(x, y, true))      \
    OX_BINARY_SAME(fmod_##sfx, T, int64_t, OX_AS_IS, (T)mod_int(x, y, false))
/* For unsigned types floored and truncated remainders agree. */
#define MOD_UNSIGNED(sfx, T)                                                      \
    OX_BINARY_SAME(mod_##sfx, T, uint64_t, OX_AS_IS, (T)mod_uint(x, y))

MOD_FLOAT(f32, float, float, OX_AS_IS, OX_AS_IS, mod_floor_f, fmodf)
MOD_FLOAT(f64, double, double, OX_AS_IS, OX_AS_IS, mod_floor_d, fmod)
MOD_FLOAT(f16, uint16_t, float, ox_f16_to_f32, F16_STORE, mod_floor_f, fmodf)
MOD_FLOAT(bf16, uint16_t, float, ox_bf16_to_f32, BF16_STORE, mod_floor_f, fmodf)
MOD_SIGNED(i8, int8_t)
MOD_SIGNED(i16, int16_t)
MOD_SIGNED(i32, int32_t)
MOD_SIGNED(i64, int64_t)
MOD_UNSIGNED(u8, uint8_t)
MOD_UNSIGNED(u16, uint16_t)
MOD_UNSIGNED(u32, uint32_t)
MOD_UNSIGNED(u64, uint64_t)

#define MOD_ROW(t, sfx) {t, mod_##sfx, fmod_##sfx}
#define MOD_ROW_U(t, sfx) {t, mod_##sfx, mod_##sfx}

static const struct {
    onyx_dtype t;
    ox_binary_fn floored, truncated;
} mod_table[] = {
    MOD_ROW(ONYX_DTYPE_FLOAT, f32),     MOD_ROW(ONYX_DTYPE_DOUBLE, f64),
    MOD_ROW(ONYX_DTYPE_FLOAT16, f16),   MOD_ROW(ONYX_DTYPE_BFLOAT16, bf16),
    MOD_ROW(ONYX_DTYPE_INT8, i8),       MOD_ROW(ONYX_DTYPE_INT16, i16),
    MOD_ROW(ONYX_DTYPE_INT32, i32),     MOD_ROW(ONYX_DTYPE_INT64, i64),
    MOD_ROW_U(ONYX_DTYPE_UINT8, u8),    MOD_ROW_U(ONYX_DTYPE_UINT16, u16),
    MOD_ROW_U(ONYX_DTYPE_UINT32, u32),  MOD_ROW_U(ONYX_DTYPE_UINT64, u64),
};

ox_binary_fn ox_mod_kernel(onyx_dtype t, bool fmod_)
{
    for (size_t i = 0; i < sizeof mod_table / sizeof mod_table[0]; i++)
        if (mod_table[i].t == t) return fmod_ ? mod_table[i].truncated : mod_table[i].floored;
    return NULL;
}

/* ---- Max, Min -------------------------------------------------------------------------- */

/* NaN propagates: a NaN x is returned, and a NaN y loses every comparison so y is. */
static inline float max_f(float x, float y) { return isnan(x) || x > y ? x : y; }
static inline float min_f(float x, float y) { return isnan(x) || x < y ? x : y; }
static inline double max_d(double x, double y) { return isnan(x) || x > y ? x : y; }
static inline double min_d(double x, double y) { return isnan(x) || x < y ? x : y; }

#define MINMAX_FLOAT(sfx, T, CT, LOAD, STORE, MAX, MIN)          \
    OX_BINARY_SAME(max_##sfx, T, CT, LOAD, STORE(MAX(x, y)))    \
    OX_BINARY_SAME(min_##sfx, T, CT, LOAD, STORE(MIN(x, y)))
#define MINMAX_INT(sfx, T)                                       \
    OX_BINARY_SAME(max_##sfx, T, T, OX_AS_IS, x > y ? x : y)    \
    OX_BINARY_SAME(min_##sfx, T, T, OX_AS_IS, x < y ? x : y)

MINMAX_FLOAT(f32, float, float, OX_AS_IS, OX_AS_IS, max_f, min_f)
MINMAX_FLOAT(f64, double, double, OX_AS_IS, OX_AS_IS, max_d, min_d)
MINMAX_FLOAT(f16, uint16_t, float, ox_f16_to_f32, F16_STORE, max_f, min_f)
MINMAX_FLOAT(bf16, uint16_t, float, ox_bf16_to_f32, BF16_STORE, max_f, min_f)
MINMAX_INT(i8, int8_t)
MINMAX_INT(i16, int16_t)
MINMAX_INT(i32, int32_t)
MINMAX_INT(i64, int64_t)
MINMAX_INT(u8, uint8_t)
MINMAX_INT(u16, uint16_t)
MINMAX_INT(u32, uint32_t)
MINMAX_INT(u64, uint64_t)

#define MINMAX_ROW(t, sfx) {t, max_##sfx, min_##sfx}

static const struct {
    onyx_dtype t;
    ox_binary_fn max, min;
} minmax_table[] = {
    MINMAX_ROW(ONYX_DTYPE_FLOAT, f32),   MINMAX_ROW(ONYX_DTYPE_DOUBLE, f64),
    MINMAX_ROW(ONYX_DTYPE_FLOAT16, f16), MINMAX_ROW(ONYX_DTYPE_BFLOAT16, bf16),
    MINMAX_ROW(ONYX_DTYPE_INT8, i8),     MINMAX_ROW(ONYX_DTYPE_INT16, i16),
    MINMAX_ROW(ONYX_DTYPE_INT32, i32),   MINMAX_ROW(ONYX_DTYPE_INT64, i64),
    MINMAX_ROW(ONYX_DTYPE_UINT8, u8),    MINMAX_ROW(ONYX_DTYPE_UINT16, u16),
    MINMAX_ROW(ONYX_DTYPE_UINT32, u32),  MINMAX_ROW(ONYX_DTYPE_UINT64, u64),
};

ox_binary_fn ox_minmax_kernel(onyx_dtype t, bool max)
{
    for (size_t i = 0; i < sizeof minmax_table / sizeof minmax_table[0]; i++)
        if (minmax_table[i].t == t) return max ? minmax_table[i].max : minmax_table[i].min;
    return NULL;
}

/* ---- PRelu ----------------------------------------------------------------------------- */

/* x >= 0 (and NaN) pass through; signed integer products wrap through the unsigned type. */
OX_BINARY_SAME(prelu_f32, float, float, OX_AS_IS, x < 0 ? x * y : x)
OX_BINARY_SAME(prelu_f64, double, double, OX_AS_IS, x < 0 ? x * y : x)
OX_BINARY_SAME(prelu_f16, uint16_t, float, ox_f16_to_f32, F16_STORE(x < 0 ? x * y : x))
OX_BINARY_SAME(prelu_bf16, uint16_t, float, ox_bf16_to_f32, BF16_STORE(x < 0 ? x * y : x))
OX_BINARY_SAME(prelu_i32, int32_t, int32_t, OX_AS_IS,
               x < 0 ? (int32_t)((uint32_t)x * (uint32_t)y) : x)
OX_BINARY_SAME(prelu_i64, int64_t, int64_t, OX_AS_IS,
               x < 0 ? (int64_t)((uint64_t)x * (uint64_t)y) : x)
/* Unsigned x is never negative: the slope is not used. */
OX_BINARY_SAME(prelu_u32, uint32_t, uint32_t, OX_AS_IS, ((void)y, x))
OX_BINARY_SAME(prelu_u64, uint64_t, uint64_t, OX_AS_IS, ((void)y, x))

ox_binary_fn ox_prelu_kernel(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: return prelu_f32;
    case ONYX_DTYPE_DOUBLE: return prelu_f64;
    case ONYX_DTYPE_FLOAT16: return prelu_f16;
    case ONYX_DTYPE_BFLOAT16: return prelu_bf16;
    case ONYX_DTYPE_INT32: return prelu_i32;
    case ONYX_DTYPE_INT64: return prelu_i64;
    case ONYX_DTYPE_UINT32: return prelu_u32;
    case ONYX_DTYPE_UINT64: return prelu_u64;
    default: return NULL;
    }
}

/* ---- BitShift -------------------------------------------------------------------------- */

/* The shift count is loaded as uint64_t, so a negative count becomes huge and fails the
 * same `y >= BITS` check as a too-large one. Left shifts go through the unsigned type U
 * (bits pushed past the top, the sign bit included, are dropped). A signed right shift of a
 * negative x is computed as ~(~x >> y): ~x is non-negative, so the shift is plain C, and the
 * result has the vacated bits filled with ones (arithmetic). */
#define SHIFT_SIGNED(sfx, T, U, BITS)                                                    \
    OX_BINARY_LOOP(shl_##sfx, T, T, OX_AS_IS, T, uint64_t, OX_AS_IS, T,                  \
                   y >= (BITS) ? (T)0 : (T)((U)x << y))                                  \
    OX_BINARY_LOOP(shr_##sfx, T, T, OX_AS_IS, T, uint64_t, OX_AS_IS, T,                  \
                   y >= (BITS) ? (T)(x < 0 ? -1 : 0) : (T)(x < 0 ? ~(~x >> y) : x >> y))
#define SHIFT_UNSIGNED(sfx, T, U, BITS)                                                  \
    OX_BINARY_LOOP(shl_##sfx, T, T, OX_AS_IS, T, uint64_t, OX_AS_IS, T,                  \
                   y >= (BITS) ? (T)0 : (T)((U)x << y))                                  \
    OX_BINARY_LOOP(shr_##sfx, T, T, OX_AS_IS, T, uint64_t, OX_AS_IS, T,                  \
                   y >= (BITS) ? (T)0 : (T)(x >> y))

SHIFT_SIGNED(i8, int8_t, unsigned, 8)
SHIFT_SIGNED(i16, int16_t, unsigned, 16)
SHIFT_SIGNED(i32, int32_t, uint32_t, 32)
SHIFT_SIGNED(i64, int64_t, uint64_t, 64)
SHIFT_UNSIGNED(u8, uint8_t, unsigned, 8)
SHIFT_UNSIGNED(u16, uint16_t, unsigned, 16)
SHIFT_UNSIGNED(u32, uint32_t, uint32_t, 32)
SHIFT_UNSIGNED(u64, uint64_t, uint64_t, 64)

#define SHIFT_ROW(t, sfx) {t, shl_##sfx, shr_##sfx}

static const struct {
    onyx_dtype t;
    ox_binary_fn left, right;
} shift_table[] = {
    SHIFT_ROW(ONYX_DTYPE_INT8, i8),   SHIFT_ROW(ONYX_DTYPE_INT16, i16),
    SHIFT_ROW(ONYX_DTYPE_INT32, i32), SHIFT_ROW(ONYX_DTYPE_INT64, i64),
    SHIFT_ROW(ONYX_DTYPE_UINT8, u8),  SHIFT_ROW(ONYX_DTYPE_UINT16, u16),
    SHIFT_ROW(ONYX_DTYPE_UINT32, u32), SHIFT_ROW(ONYX_DTYPE_UINT64, u64),
};

ox_binary_fn ox_shift_kernel(onyx_dtype t, bool left)
{
    for (size_t i = 0; i < sizeof shift_table / sizeof shift_table[0]; i++)
        if (shift_table[i].t == t) return left ? shift_table[i].left : shift_table[i].right;
    return NULL;
}

/* ---- bitwise --------------------------------------------------------------------------- */

#define BITWISE(sfx, T)                                                  \
    OX_BINARY_SAME(and_##sfx, T, T, OX_AS_IS, (T)(x & y))               \
    OX_BINARY_SAME(or_##sfx, T, T, OX_AS_IS, (T)(x | y))                \
    OX_BINARY_SAME(xor_##sfx, T, T, OX_AS_IS, (T)(x ^ y))               \
    static void not_##sfx(int64_t n, const void *px, void *py)          \
    {                                                                    \
        const T *x = px;                                                 \
        T *y = py;                                                       \
        for (int64_t i = 0; i < n; i++) y[i] = (T)~x[i];                 \
    }

BITWISE(u8, uint8_t)
BITWISE(u16, uint16_t)
BITWISE(u32, uint32_t)
BITWISE(u64, uint64_t)

/* Indexed by log2 of the element size. */
static const struct {
    ox_binary_fn fn[3]; /* by ox_bitop */
    ox_unary_fn not_fn;
} bitwise_table[] = {
    {{and_u8, or_u8, xor_u8}, not_u8},
    {{and_u16, or_u16, xor_u16}, not_u16},
    {{and_u32, or_u32, xor_u32}, not_u32},
    {{and_u64, or_u64, xor_u64}, not_u64},
};

static int size_index(size_t esize)
{
    switch (esize) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    case 8: return 3;
    default: return -1;
    }
}

ox_binary_fn ox_bitwise_kernel(ox_bitop op, size_t esize)
{
    int k = size_index(esize);
    if (k < 0 || (unsigned)op > OX_BIT_XOR) return NULL;
    return bitwise_table[k].fn[op];
}

ox_unary_fn ox_bitwise_not_kernel(size_t esize)
{
    int k = size_index(esize);
    return k < 0 ? NULL : bitwise_table[k].not_fn;
}
