/* cli_values.c — reading, printing and widening tensor elements of every onyx dtype.
 *
 * The CLI sees tensors only through onyx.h, so it decodes the small float formats itself
 * (the library's converters are internal). All decodings here are exact. */
#include <math.h>
#include <string.h>

#include "cli.h"

int64_t cli_numel(const onyx_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dims[i];
    return n;
}

bool cli_dtype_is_float(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: case ONYX_DTYPE_DOUBLE: case ONYX_DTYPE_FLOAT16: case ONYX_DTYPE_BFLOAT16:
    case ONYX_DTYPE_FLOAT8E4M3FN: case ONYX_DTYPE_FLOAT8E4M3FNUZ: case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: case ONYX_DTYPE_FLOAT4E2M1: case ONYX_DTYPE_FLOAT8E8M0:
        return true;
    default:
        return false;
    }
}

/* A finite value of a small binary float: sign bit above `ebits` exponent bits above `mbits`
 * mantissa bits, with the given bias; exponent 0 is subnormal. Callers handle inf/NaN. */
static double minifloat(unsigned bits, int ebits, int mbits, int bias)
{
    unsigned man = bits & ((1u << mbits) - 1);
    unsigned exp = (bits >> mbits) & ((1u << ebits) - 1);
    double frac = (double)man / (double)(1u << mbits);
    double v = exp ? ldexp(1.0 + frac, (int)exp - bias) : ldexp(frac, 1 - bias);
    return (bits >> (ebits + mbits)) & 1 ? -v : v;
}

/* Formats whose all-ones exponent means inf (mantissa 0) or NaN, as IEEE 754. */
static double ieee_small(unsigned bits, int ebits, int mbits, int bias)
{
    unsigned exp = (bits >> mbits) & ((1u << ebits) - 1);
    if (exp == (1u << ebits) - 1) {
        if (bits & ((1u << mbits) - 1)) return NAN;
        return (bits >> (ebits + mbits)) & 1 ? -INFINITY : INFINITY;
    }
    return minifloat(bits, ebits, mbits, bias);
}

double cli_value_at(const onyx_tensor *t, int64_t i)
{
    const unsigned char *p = (const unsigned char *)t->data + (size_t)i * onyx_dtype_size(t->dtype);
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: { float v; memcpy(&v, p, 4); return v; }
    case ONYX_DTYPE_DOUBLE: { double v; memcpy(&v, p, 8); return v; }
    case ONYX_DTYPE_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return ieee_small(v, 5, 10, 15); }
    case ONYX_DTYPE_BFLOAT16: {
        uint16_t h;
        memcpy(&h, p, 2);
        uint32_t bits = (uint32_t)h << 16;
        float v;
        memcpy(&v, &bits, 4);
        return v;
    }
    /* float8 formats (ONNX spec): "fn" has no inf and NaN only at S.1111.111; "fnuz" has no
     * negative zero, and its pattern 0x80 is the one NaN. */
    case ONYX_DTYPE_FLOAT8E4M3FN: return (*p & 0x7f) == 0x7f ? NAN : minifloat(*p, 4, 3, 7);
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: return *p == 0x80 ? NAN : minifloat(*p, 4, 3, 8);
    case ONYX_DTYPE_FLOAT8E5M2: return ieee_small(*p, 5, 2, 15);
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return *p == 0x80 ? NAN : minifloat(*p, 5, 2, 16);
    case ONYX_DTYPE_FLOAT4E2M1: return minifloat(*p & 0x0f, 2, 1, 1);
    case ONYX_DTYPE_FLOAT8E8M0: return *p == 0xff ? NAN : ldexp(1.0, (int)*p - 127);
    case ONYX_DTYPE_UINT8: case ONYX_DTYPE_UINT4: case ONYX_DTYPE_UINT2: case ONYX_DTYPE_BOOL: return *p;
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2: { int8_t v; memcpy(&v, p, 1); return v; }
    case ONYX_DTYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case ONYX_DTYPE_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case ONYX_DTYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case ONYX_DTYPE_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case ONYX_DTYPE_UINT64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    case ONYX_DTYPE_INT64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case ONYX_DTYPE_COMPLEX64: { float v; memcpy(&v, p, 4); return v; }     /* real part */
    case ONYX_DTYPE_COMPLEX128: { double v; memcpy(&v, p, 8); return v; }  /* real part */
    default: return NAN;
    }
}

void cli_format_value(const onyx_tensor *t, int64_t i, char *buf, size_t cap)
{
    const unsigned char *p = (const unsigned char *)t->data + (size_t)i * onyx_dtype_size(t->dtype);
    switch (t->dtype) {
    case ONYX_DTYPE_STRING: {
        const char *s;
        memcpy(&s, p, sizeof s);
        snprintf(buf, cap, "\"%.60s%s\"", s ? s : "", s && strlen(s) > 60 ? "..." : "");
        return;
    }
    case ONYX_DTYPE_BOOL: snprintf(buf, cap, "%s", *p ? "true" : "false"); return;
    case ONYX_DTYPE_INT64: { int64_t v; memcpy(&v, p, 8); snprintf(buf, cap, "%lld", (long long)v); return; }
    case ONYX_DTYPE_UINT64: { uint64_t v; memcpy(&v, p, 8); snprintf(buf, cap, "%llu", (unsigned long long)v); return; }
    case ONYX_DTYPE_COMPLEX64: {
        float v[2];
        memcpy(v, p, 8);
        snprintf(buf, cap, "%.6g%+.6gj", v[0], v[1]);
        return;
    }
    case ONYX_DTYPE_COMPLEX128: {
        double v[2];
        memcpy(v, p, 16);
        snprintf(buf, cap, "%.6g%+.6gj", v[0], v[1]);
        return;
    }
    default:
        if (cli_dtype_is_float(t->dtype)) snprintf(buf, cap, "%.6g", cli_value_at(t, i));
        else snprintf(buf, cap, "%.0f", cli_value_at(t, i)); /* integers up to 32 bits: exact */
        return;
    }
}

onyx_dtype cli_numpy_dtype(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_BFLOAT16: case ONYX_DTYPE_FLOAT8E4M3FN: case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2: case ONYX_DTYPE_FLOAT8E5M2FNUZ: case ONYX_DTYPE_FLOAT4E2M1:
    case ONYX_DTYPE_FLOAT8E8M0:
        return ONYX_DTYPE_FLOAT;
    case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2: return ONYX_DTYPE_INT8;
    case ONYX_DTYPE_UINT4: case ONYX_DTYPE_UINT2: return ONYX_DTYPE_UINT8;
    case ONYX_DTYPE_STRING: case ONYX_DTYPE_UNDEFINED: return ONYX_DTYPE_UNDEFINED;
    default: return t;
    }
}

onyx_status cli_widen(const onyx_tensor *t, onyx_dtype to, onyx_tensor *out, onyx_error *err)
{
    *out = *t;
    out->dtype = to;
    out->data = NULL;
    onyx_status st = onyx_tensor_alloc(out, NULL, err);
    if (st) return st;
    int64_t n = cli_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = cli_value_at(t, i); /* exact: every source value fits the target */
        if (to == ONYX_DTYPE_FLOAT) ((float *)out->data)[i] = (float)v;
        else if (to == ONYX_DTYPE_INT8) ((int8_t *)out->data)[i] = (int8_t)v;
        else ((uint8_t *)out->data)[i] = (uint8_t)v;
    }
    return ONYX_OK;
}
