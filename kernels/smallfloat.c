/* smallfloat.c — 8- and 4-bit float codecs (see smallfloat.h).
 *
 * The five sign/exponent/mantissa formats share one encoder and one decoder, driven by a
 * description of the format; they differ only in bias, widths and how they spell NaN,
 * infinity and overflow. FLOAT8E8M0 (a bare exponent) has its own rules. */
#include <math.h>
#include <string.h>

#include "smallfloat.h"

/* How a format spends its top codes. */
typedef enum {
    KIND_IEEE, /* E5M2: exponent all ones is inf (mantissa 0) or NaN */
    KIND_FN,   /* E4M3FN: no inf; S.1111.111 is NaN */
    KIND_FNUZ, /* no inf, no -0: 0x80 is the only NaN */
    KIND_NONE  /* E2M1: no inf, no NaN */
} kind;

typedef struct format {
    int man;         /* mantissa bits */
    int bias;        /* exponent bias */
    unsigned sign;   /* the sign bit */
    unsigned max;    /* code (sign clear) of the largest finite value */
    kind kind;
} format;

static const format E4M3FN = {3, 7, 0x80, 0x7E, KIND_FN};
static const format E4M3FNUZ = {3, 8, 0x80, 0x7F, KIND_FNUZ};
static const format E5M2 = {2, 15, 0x80, 0x7B, KIND_IEEE};
static const format E5M2FNUZ = {2, 16, 0x80, 0x7F, KIND_FNUZ};
static const format E2M1 = {1, 1, 0x8, 0x7, KIND_NONE};

static float decode(const format *f, unsigned b)
{
    unsigned mag = b & (f->sign - 1), e = mag >> f->man, m = mag & ((1u << f->man) - 1);
    bool neg = (b & f->sign) != 0;
    float nan = copysignf(NAN, neg ? -1.0f : 1.0f); /* keeps the code's sign, as ml_dtypes does */
    switch (f->kind) {
    case KIND_FN: if (mag == f->max + 1) return nan; break;
    case KIND_FNUZ: if (b == f->sign) return nan; break;
    case KIND_IEEE:
        if (mag > f->max) return m == 0 ? (neg ? -INFINITY : INFINITY) : nan;
        break;
    case KIND_NONE: break;
    }
    /* Subnormals (e == 0) have no implicit leading one and the exponent of e == 1. */
    float v = e == 0 ? ldexpf((float)m, 1 - f->bias - f->man)
                     : ldexpf((float)(m | (1u << f->man)), (int)e - f->bias - f->man);
    return neg ? -v : v;
}

/* NaN's code (sign is the NaN's sign bit, kept where the format can). The E2M1 code is not
 * the spec table's 6: the ONNX reference implementation (ml_dtypes) and the conformance
 * data give the -0 pattern for NaN, so onyx matches them. */
static unsigned nan_code(const format *f, unsigned sign)
{
    switch (f->kind) {
    case KIND_FN: return (f->max + 1) | sign;
    case KIND_IEEE: return (f->max + 3) | sign; /* exponent all ones, mantissa 10 */
    case KIND_FNUZ: return f->sign;
    default: return f->sign;
    }
}

/* Code of a value beyond the largest finite one (or infinite). */
static unsigned overflow_code(const format *f, unsigned sign, bool saturate)
{
    if (saturate || f->kind == KIND_NONE) return f->max | sign;
    if (f->kind == KIND_IEEE) return (f->max + 1) | sign; /* infinity */
    return nan_code(f, sign);
}

/* Rounds a >= 0 (finite) to the format's grid, nearest even; returns the code of the
 * magnitude, which exceeds f->max when the rounded value is out of range. */
static unsigned encode_magnitude(const format *f, double a)
{
    if (a == 0.0) return 0;
    int e2;
    frexp(a, &e2); /* a = m * 2^e2 with m in [0.5, 1): a's exponent is e2 - 1 */
    int exp = e2 - 1, emin = 1 - f->bias;
    if (exp < emin) exp = emin; /* subnormal range: the quantum of the smallest exponent */
    /* Power-of-two scaling is exact; n < 2^(man+1) counts quanta. */
    double n = ldexp(a, f->man - exp);
    unsigned r = (unsigned)n;
    double frac = n - (double)r;
    if (frac > 0.5 || (frac == 0.5 && (r & 1u))) r++;
    if (r == 2u << f->man) { /* rounded up into the next binade */
        r >>= 1;
        exp++;
    }
    if (r < (1u << f->man)) return r; /* subnormal (exp == emin) or zero */
    /* For huge inputs exp + bias is large (at most ~1040): the code is then simply > max. */
    return ((unsigned)(exp + f->bias) << f->man) | (r - (1u << f->man));
}

static uint8_t encode(const format *f, double v, bool saturate)
{
    unsigned sign = signbit(v) ? f->sign : 0;
    if (isnan(v)) return (uint8_t)nan_code(f, sign);
    if (isinf(v)) return (uint8_t)overflow_code(f, sign, saturate);
    unsigned code = encode_magnitude(f, fabs(v));
    if (code > f->max) return (uint8_t)overflow_code(f, sign, saturate);
    if (code == 0 && f->kind == KIND_FNUZ) return 0; /* no negative zero */
    return (uint8_t)(code | sign);
}

float ox_f8e4m3fn_to_f32(uint8_t b) { return decode(&E4M3FN, b); }
float ox_f8e4m3fnuz_to_f32(uint8_t b) { return decode(&E4M3FNUZ, b); }
float ox_f8e5m2_to_f32(uint8_t b) { return decode(&E5M2, b); }
float ox_f8e5m2fnuz_to_f32(uint8_t b) { return decode(&E5M2FNUZ, b); }
float ox_f4e2m1_to_f32(uint8_t b) { return decode(&E2M1, b & 0xFu); }

uint8_t ox_f64_to_f8e4m3fn(double v, bool saturate) { return encode(&E4M3FN, v, saturate); }
uint8_t ox_f64_to_f8e4m3fnuz(double v, bool saturate) { return encode(&E4M3FNUZ, v, saturate); }
uint8_t ox_f64_to_f8e5m2(double v, bool saturate) { return encode(&E5M2, v, saturate); }
uint8_t ox_f64_to_f8e5m2fnuz(double v, bool saturate) { return encode(&E5M2FNUZ, v, saturate); }
uint8_t ox_f64_to_f4e2m1(double v) { return encode(&E2M1, v, true); }

float ox_f8e8m0_to_f32(uint8_t b) { return b == 0xFF ? NAN : ldexpf(1.0f, (int)b - 127); }

/* E8M0 keeps float32's biased exponent; rounding decides from the mantissa bits whether the
 * value moves up to the next power of two. Special values (exponent all ones) give NaN. */
uint8_t ox_f32_to_f8e8m0(float v, bool saturate, ox_e8m0_round mode)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t exp = (bits >> 23) & 0xFFu, frac = bits & 0x7FFFFFu;
    if (exp == 0xFF) return 0xFF;
    bool up = false;
    switch (mode) {
    case OX_E8M0_UP: up = frac != 0; break;
    case OX_E8M0_DOWN: break;
    case OX_E8M0_NEAREST: {
        /* Guard bit set means mantissa >= 1.5: ties go up, except in the subnormal range
         * where the guard bit alone is not past the midpoint. */
        bool guard = bits & 0x400000u, rest = (bits & 0x3FFFFFu) != 0;
        up = guard && (rest || exp > 0);
        break;
    }
    }
    if (up && saturate && exp == 0xFE) up = false;
    return (uint8_t)(exp + (up ? 1u : 0u)); /* 0xFE + 1 is 0xFF: NaN when not saturating */
}
