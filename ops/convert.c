/* convert.c — element type conversion for Cast and CastLike (see convert.h).
 *
 * Numbers convert through a wide intermediate: double when either side is floating point
 * (exact for every source float), else the integer's two's-complement bits in uint64 (so
 * integer narrowing keeps the low bits, as the spec asks). Strings use the same
 * intermediates: a string is parsed into one, and a number is formatted from one. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

enum { CAST_NONE, CAST_INT, CAST_FLOAT, CAST_STRING };

static int cast_class(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: case ONYX_DTYPE_DOUBLE: case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: case ONYX_DTYPE_FLOAT8E4M3FN: case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2: case ONYX_DTYPE_FLOAT8E5M2FNUZ: case ONYX_DTYPE_FLOAT4E2M1:
    case ONYX_DTYPE_FLOAT8E8M0:
        return CAST_FLOAT;
    case ONYX_DTYPE_BOOL: case ONYX_DTYPE_INT8: case ONYX_DTYPE_UINT8: case ONYX_DTYPE_INT16:
    case ONYX_DTYPE_UINT16: case ONYX_DTYPE_INT32: case ONYX_DTYPE_UINT32: case ONYX_DTYPE_INT64:
    case ONYX_DTYPE_UINT64: case ONYX_DTYPE_INT4: case ONYX_DTYPE_UINT4: case ONYX_DTYPE_INT2:
    case ONYX_DTYPE_UINT2:
        return CAST_INT;
    case ONYX_DTYPE_STRING:
        return CAST_STRING;
    default:
        return CAST_NONE; /* complex */
    }
}

/* ---- numbers to and from the intermediates ---------------------------------------------- */

#define CAST_CHUNK 256

#define LOAD(T, conv) \
    for (int64_t k = 0; k < n; k++) buf[k] = conv(((const T *)x->data)[at + k]); \
    break
#define AS_F64(v) ((double)(v))
#define AS_BITS(v) ((uint64_t)(int64_t)(v)) /* sign-extends signed sources */

static void load_f64(const onyx_tensor *x, int64_t at, int64_t n, double *buf)
{
    switch (x->dtype) {
    case ONYX_DTYPE_FLOAT: LOAD(float, AS_F64);
    case ONYX_DTYPE_DOUBLE: LOAD(double, AS_F64);
    case ONYX_DTYPE_FLOAT16: LOAD(uint16_t, (double)ox_f16_to_f32);
    case ONYX_DTYPE_BFLOAT16: LOAD(uint16_t, (double)ox_bf16_to_f32);
    case ONYX_DTYPE_FLOAT8E4M3FN: LOAD(uint8_t, (double)ox_f8e4m3fn_to_f32);
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: LOAD(uint8_t, (double)ox_f8e4m3fnuz_to_f32);
    case ONYX_DTYPE_FLOAT8E5M2: LOAD(uint8_t, (double)ox_f8e5m2_to_f32);
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: LOAD(uint8_t, (double)ox_f8e5m2fnuz_to_f32);
    case ONYX_DTYPE_FLOAT4E2M1: LOAD(uint8_t, (double)ox_f4e2m1_to_f32);
    case ONYX_DTYPE_FLOAT8E8M0: LOAD(uint8_t, (double)ox_f8e8m0_to_f32);
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2: LOAD(int8_t, AS_F64);
    case ONYX_DTYPE_INT16: LOAD(int16_t, AS_F64);
    case ONYX_DTYPE_INT32: LOAD(int32_t, AS_F64);
    /* int64/uint64 beyond 2^53 round twice (to double, then to a narrower float). */
    case ONYX_DTYPE_INT64: LOAD(int64_t, AS_F64);
    case ONYX_DTYPE_UINT16: LOAD(uint16_t, AS_F64);
    case ONYX_DTYPE_UINT32: LOAD(uint32_t, AS_F64);
    case ONYX_DTYPE_UINT64: LOAD(uint64_t, AS_F64);
    default: LOAD(uint8_t, AS_F64); /* uint8, uint4, uint2, bool */
    }
}

static void load_bits(const onyx_tensor *x, int64_t at, int64_t n, uint64_t *buf)
{
    switch (x->dtype) {
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2: LOAD(int8_t, AS_BITS);
    case ONYX_DTYPE_INT16: LOAD(int16_t, AS_BITS);
    case ONYX_DTYPE_INT32: LOAD(int32_t, AS_BITS);
    case ONYX_DTYPE_INT64: LOAD(int64_t, AS_BITS);
    case ONYX_DTYPE_UINT16: LOAD(uint16_t, (uint64_t));
    case ONYX_DTYPE_UINT32: LOAD(uint32_t, (uint64_t));
    case ONYX_DTYPE_UINT64: LOAD(uint64_t, (uint64_t));
    default: LOAD(uint8_t, (uint64_t)); /* uint8, uint4, uint2, bool */
    }
}

/* double -> float rounding to odd: truncate, then set the last mantissa bit if inexact.
 * Rounding that to float16/bfloat16 (far fewer mantissa bits) then rounds exactly as a
 * direct double -> float16 conversion would, avoiding double-rounding errors. */
static float f64_to_f32_odd(double v)
{
    float f = (float)v;
    if ((double)f == v || f - f != 0.0f) return f; /* exact, infinite or NaN */
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    if ((f < 0 ? -(double)f : (double)f) > (v < 0 ? -v : v)) b -= 1; /* towards zero */
    b |= 1;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Signed and unsigned variants of a type may alias, so integers are stored through the
 * unsigned type: narrowing then keeps the low bits without implementation-defined casts. */
#define STORE(T, conv) \
    for (int64_t k = 0; k < n; k++) ((T *)y->data)[at + k] = conv(buf[k]); \
    break
#define STORE_SMALL(encode) \
    for (int64_t k = 0; k < n; k++) ((uint8_t *)y->data)[at + k] = encode(buf[k], o->saturate); \
    break

static void store_f64(onyx_tensor *y, int64_t at, int64_t n, const double *buf,
                      const ox_cast_opts *o)
{
    switch (y->dtype) {
    case ONYX_DTYPE_FLOAT: STORE(float, (float));
    case ONYX_DTYPE_FLOAT16:
        for (int64_t k = 0; k < n; k++)
            ((uint16_t *)y->data)[at + k] = ox_f32_to_f16(f64_to_f32_odd(buf[k]));
        break;
    case ONYX_DTYPE_BFLOAT16:
        for (int64_t k = 0; k < n; k++)
            ((uint16_t *)y->data)[at + k] = ox_f32_to_bf16(f64_to_f32_odd(buf[k]));
        break;
    case ONYX_DTYPE_FLOAT8E4M3FN: STORE_SMALL(ox_f64_to_f8e4m3fn);
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: STORE_SMALL(ox_f64_to_f8e4m3fnuz);
    case ONYX_DTYPE_FLOAT8E5M2: STORE_SMALL(ox_f64_to_f8e5m2);
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: STORE_SMALL(ox_f64_to_f8e5m2fnuz);
    case ONYX_DTYPE_FLOAT4E2M1: STORE(uint8_t, ox_f64_to_f4e2m1);
    case ONYX_DTYPE_FLOAT8E8M0:
        /* The reference rounds float32 input: a double rounds to float32 first. */
        for (int64_t k = 0; k < n; k++)
            ((uint8_t *)y->data)[at + k] = ox_f32_to_f8e8m0((float)buf[k], o->saturate, o->round);
        break;
    default: STORE(double, AS_F64);
    }
}

#define LOW4S(v) ((uint8_t)((((v) & 0xFu) ^ 8u) - 8u)) /* sign-extended low 4 bits */
#define LOW2S(v) ((uint8_t)((((v) & 0x3u) ^ 2u) - 2u))
#define LOW4U(v) ((uint8_t)((v) & 0xFu))
#define LOW2U(v) ((uint8_t)((v) & 0x3u))
#define NONZERO(v) ((uint8_t)((v) != 0))

static void store_bits(onyx_tensor *y, int64_t at, int64_t n, const uint64_t *buf)
{
    switch (y->dtype) {
    case ONYX_DTYPE_BOOL: STORE(uint8_t, NONZERO);
    case ONYX_DTYPE_INT4: STORE(uint8_t, LOW4S);
    case ONYX_DTYPE_UINT4: STORE(uint8_t, LOW4U);
    case ONYX_DTYPE_INT2: STORE(uint8_t, LOW2S);
    case ONYX_DTYPE_UINT2: STORE(uint8_t, LOW2U);
    case ONYX_DTYPE_INT16: case ONYX_DTYPE_UINT16: STORE(uint16_t, (uint16_t));
    case ONYX_DTYPE_INT32: case ONYX_DTYPE_UINT32: STORE(uint32_t, (uint32_t));
    case ONYX_DTYPE_INT64: case ONYX_DTYPE_UINT64: STORE(uint64_t, (uint64_t));
    default: STORE(uint8_t, (uint8_t)); /* int8, uint8 */
    }
}

/* Float to integer bits: truncation toward zero. Out-of-range values are undefined in ONNX;
 * here they saturate to the int64 (uint64) range before narrowing and NaN gives 0, so the
 * conversion itself is always defined C. Bool is "nonzero", NaN included. */
static uint64_t f64_to_bits(double v, onyx_dtype to)
{
    if (to == ONYX_DTYPE_BOOL) return v != 0.0;
    if (v != v) return 0;
    if (to == ONYX_DTYPE_UINT64 && v >= 0.0)
        return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
    if (v >= 9223372036854775808.0) return (uint64_t)INT64_MAX;
    if (v < -9223372036854775808.0) return (uint64_t)INT64_MIN;
    return (uint64_t)(int64_t)v;
}

/* Two's-complement bits back to a signed value, without an implementation-defined cast. */
static int64_t bits_to_i64(uint64_t b)
{
    return b <= (uint64_t)INT64_MAX ? (int64_t)b : -(int64_t)(UINT64_MAX - b) - 1;
}

/* ---- numbers to strings ----------------------------------------------------------------- */

/* Formatting and parsing use snprintf/strtod, so they assume the C locale's decimal point
 * (the library never calls setlocale; an application that changes LC_NUMERIC changes it). */

/* v rounded to dtype t and read back: tells whether a decimal reads back as the same t. */
static double round_to(onyx_dtype t, double v)
{
    static const ox_cast_opts exact = {false, OX_E8M0_NEAREST};
    double cell[1], back;
    onyx_tensor one = {.dtype = t, .rank = 0, .data = cell};
    store_f64(&one, 0, 1, &v, &exact);
    load_f64(&one, 0, 1, &back);
    return back;
}

/* Formats v, a value of float dtype t, as numpy does (the ONNX reference casts with
 * astype(str)): the fewest significant digits that read back as the same value of t, laid
 * out positionally for 1e-4 <= |v| < 1e16 (double), 1e6 (float) or 1e3 (float16) — "0.5",
 * "123456.0" — and in scientific notation otherwise — "1e-07", "1e+06", "1.5e-05"; "nan",
 * "inf", "-inf". numpy cannot format the other small floats; they follow float's rule. */
static void format_float(char *out, size_t cap, double v, onyx_dtype t)
{
    if (isnan(v) || isinf(v) || v == 0.0) {
        snprintf(out, cap, "%s", isnan(v) ? "nan" : isinf(v) ? (v < 0 ? "-inf" : "inf")
                                 : signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char sci[40];
    for (int p = 1; p <= 17; p++) { /* 17 digits always read back as the same double */
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        if (round_to(t, strtod(sci, NULL)) == v) break;
    }
    /* sci is [-]d[.ddd]e±XX: take the digits and the decimal exponent. */
    const char *s = sci + (sci[0] == '-');
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.' && nd < (int)sizeof digits) digits[nd++] = *s;
    int exp = *s ? (int)strtol(s + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char buf[64];
    int k = 0;
    if (v < 0) buf[k++] = '-';
    double limit = t == ONYX_DTYPE_DOUBLE ? 1e16 : t == ONYX_DTYPE_FLOAT16 ? 1e3 : 1e6;
    if (fabs(v) >= 1e-4 && fabs(v) < limit) {
        if (exp < 0) {
            buf[k++] = '0';
            buf[k++] = '.';
            for (int z = 0; z < -exp - 1; z++) buf[k++] = '0';
            for (int i = 0; i < nd; i++) buf[k++] = digits[i];
        } else {
            for (int i = 0; i <= exp; i++) buf[k++] = i < nd ? digits[i] : '0';
            buf[k++] = '.';
            if (nd <= exp + 1) buf[k++] = '0';
            for (int i = exp + 1; i < nd; i++) buf[k++] = digits[i];
        }
        buf[k] = '\0';
    } else {
        // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): "%e" of a finite v has a digit
        buf[k++] = digits[0];
        if (nd > 1) buf[k++] = '.';
        for (int i = 1; i < nd; i++) buf[k++] = digits[i];
        snprintf(buf + k, sizeof buf - (size_t)k, "e%c%02d", exp < 0 ? '-' : '+',
                 exp < 0 ? -exp : exp);
    }
    snprintf(out, cap, "%s", buf);
}

/* Integers in decimal; bool as numpy spells it. */
static void format_int(char *out, size_t cap, uint64_t bits, onyx_dtype t)
{
    if (t == ONYX_DTYPE_BOOL) snprintf(out, cap, "%s", bits ? "True" : "False");
    else if (ox_dtype_is_signed(t)) snprintf(out, cap, "%lld", (long long)bits_to_i64(bits));
    else snprintf(out, cap, "%llu", (unsigned long long)bits);
}

static onyx_status store_strings(ox_ctx *c, onyx_tensor *y, int64_t at, int64_t n, onyx_dtype from,
                                 const double *f, const uint64_t *bits)
{
    char buf[64];
    for (int64_t k = 0; k < n; k++) {
        if (f) format_float(buf, sizeof buf, f[k], from);
        else format_int(buf, sizeof buf, bits[k], from);
        char *s = c->strings ? ox_pool_strdup(c->strings, buf) : NULL;
        if (!s) return ox_fail(c, ONYX_E_NOMEM, "out of memory for string results");
        ((char **)y->data)[at + k] = s;
    }
    return ONYX_OK;
}

/* ---- strings to numbers ----------------------------------------------------------------- */

static const char *skip_blanks(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return s;
}

/* A decimal or scientific number, or inf/nan in any case ("INF", "-inf", "NaN"), filling
 * the string (blanks around it allowed). */
static bool parse_f64(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && !*skip_blanks(end);
}

/* An optionally signed decimal integer filling the string, as two's-complement bits; false
 * if s is not one or it does not fit 64 bits (it is then parsed as a double). */
static bool parse_int(const char *s, uint64_t *bits)
{
    s = skip_blanks(s);
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (!isdigit((unsigned char)*s)) return false;
    uint64_t mag = 0;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (mag > (UINT64_MAX - d) / 10) return false;
        mag = mag * 10 + d;
    }
    if (*skip_blanks(s) || (neg && mag > (uint64_t)INT64_MAX + 1)) return false;
    *bits = neg ? 0 - mag : mag;
    return true;
}

/* "true" / "false" in any case. */
static bool parse_bool(const char *s, uint64_t *bits)
{
    static const char *const words[2] = {"false", "true"};
    for (int w = 0; w < 2; w++) {
        const char *a = skip_blanks(s), *b = words[w];
        while (*b && tolower((unsigned char)*a) == *b) a++, b++;
        if (!*b && !*skip_blanks(a)) {
            *bits = (uint64_t)w;
            return true;
        }
    }
    return false;
}

static onyx_status parse_strings(ox_ctx *c, const onyx_tensor *x, int64_t at, int64_t n,
                                 onyx_dtype to, double *f, uint64_t *bits)
{
    for (int64_t k = 0; k < n; k++) {
        const char *s = ((char *const *)x->data)[at + k];
        if (!s) s = "";
        double v;
        bool ok;
        if (cast_class(to) == CAST_FLOAT) {
            ok = parse_f64(s, &f[k]);
        } else if ((to == ONYX_DTYPE_BOOL && parse_bool(s, &bits[k])) || parse_int(s, &bits[k])) {
            ok = true;
        } else if ((ok = parse_f64(s, &v))) {
            bits[k] = f64_to_bits(v, to); /* "100.5" -> 100, as the spec suggests */
        }
        if (!ok)
            return ox_fail(c, ONYX_E_ARG, "element %lld (\"%.40s\") is not a number",
                           (long long)at + k, s);
    }
    return ONYX_OK;
}

/* ---- entry points ----------------------------------------------------------------------- */

onyx_status ox_cast_opts_read(ox_ctx *c, ox_cast_opts *o)
{
    onyx_status st;
    o->saturate = true;
    o->round = OX_E8M0_UP;
    if (c->opset >= 19) {
        if ((st = ox_attr_expect(c, "saturate", OX_ATTR_INT))) return st;
        o->saturate = ox_attr_int(c, "saturate", 1) != 0;
    }
    if (c->opset >= 24) {
        if ((st = ox_attr_expect(c, "round_mode", OX_ATTR_STRING))) return st;
        const char *m = ox_attr_string(c, "round_mode", "up");
        if (!strcmp(m, "up")) o->round = OX_E8M0_UP;
        else if (!strcmp(m, "down")) o->round = OX_E8M0_DOWN;
        else if (!strcmp(m, "nearest")) o->round = OX_E8M0_NEAREST;
        else return ox_fail(c, ONYX_E_ARG, "round_mode '%s' is not up, down or nearest", m);
    }
    return ONYX_OK;
}

onyx_status ox_cast_check(ox_ctx *c, onyx_dtype from, onyx_dtype to)
{
    if (from == to && onyx_dtype_size(from)) return ONYX_OK; /* a copy */
    if (cast_class(from) == CAST_NONE || cast_class(to) == CAST_NONE)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "cast from %s to %s is not supported",
                       onyx_dtype_name(from), onyx_dtype_name(to));
    return ONYX_OK;
}

onyx_status ox_cast_tensor(ox_ctx *c, const onyx_tensor *x, onyx_tensor *y, const ox_cast_opts *o)
{
    if (x->dtype == y->dtype) {
        ox_copy_bytes(y->data, x->data, ox_tensor_bytes(x));
        return ONYX_OK;
    }
    int from = cast_class(x->dtype), to = cast_class(y->dtype);
    bool via_float = from == CAST_FLOAT || to == CAST_FLOAT;
    double f[CAST_CHUNK];
    uint64_t bits[CAST_CHUNK];
    int64_t total = ox_tensor_numel(x);
    for (int64_t at = 0; at < total; at += CAST_CHUNK) {
        int64_t n = total - at < CAST_CHUNK ? total - at : CAST_CHUNK;
        onyx_status st;
        if (from == CAST_STRING) {
            if ((st = parse_strings(c, x, at, n, y->dtype, f, bits))) return st;
        } else if (via_float) {
            load_f64(x, at, n, f);
        } else {
            load_bits(x, at, n, bits);
        }
        if (to == CAST_STRING) {
            if ((st = store_strings(c, y, at, n, x->dtype, via_float ? f : NULL, bits))) return st;
        } else if (to == CAST_FLOAT) {
            store_f64(y, at, n, f, o);
        } else {
            if (via_float)
                for (int64_t k = 0; k < n; k++) bits[k] = f64_to_bits(f[k], y->dtype);
            store_bits(y, at, n, bits);
        }
    }
    return ONYX_OK;
}
