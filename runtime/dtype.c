/* dtype.c — element types: names, sizes, shape arithmetic and 16-bit float conversion. */
#include <string.h>
#include <stdio.h>

#include "internal.h"

static const struct {
    const char *name;
    unsigned char size;
} dtype_info[ONYX_DTYPE_COUNT_] = {
    [ONYX_DTYPE_UNDEFINED] = {"undefined", 0},
    [ONYX_DTYPE_FLOAT] = {"float32", 4},
    [ONYX_DTYPE_UINT8] = {"uint8", 1},
    [ONYX_DTYPE_INT8] = {"int8", 1},
    [ONYX_DTYPE_UINT16] = {"uint16", 2},
    [ONYX_DTYPE_INT16] = {"int16", 2},
    [ONYX_DTYPE_INT32] = {"int32", 4},
    [ONYX_DTYPE_INT64] = {"int64", 8},
    [ONYX_DTYPE_STRING] = {"string", sizeof(char *)},
    [ONYX_DTYPE_BOOL] = {"bool", 1},
    [ONYX_DTYPE_FLOAT16] = {"float16", 2},
    [ONYX_DTYPE_DOUBLE] = {"float64", 8},
    [ONYX_DTYPE_UINT32] = {"uint32", 4},
    [ONYX_DTYPE_UINT64] = {"uint64", 8},
    [ONYX_DTYPE_COMPLEX64] = {"complex64", 8},
    [ONYX_DTYPE_COMPLEX128] = {"complex128", 16},
    [ONYX_DTYPE_BFLOAT16] = {"bfloat16", 2},
    [ONYX_DTYPE_FLOAT8E4M3FN] = {"float8e4m3fn", 1},
    [ONYX_DTYPE_FLOAT8E4M3FNUZ] = {"float8e4m3fnuz", 1},
    [ONYX_DTYPE_FLOAT8E5M2] = {"float8e5m2", 1},
    [ONYX_DTYPE_FLOAT8E5M2FNUZ] = {"float8e5m2fnuz", 1},
    [ONYX_DTYPE_UINT4] = {"uint4", 1},
    [ONYX_DTYPE_INT4] = {"int4", 1},
    [ONYX_DTYPE_FLOAT4E2M1] = {"float4e2m1", 1},
    [ONYX_DTYPE_FLOAT8E8M0] = {"float8e8m0", 1},
    [ONYX_DTYPE_UINT2] = {"uint2", 1},
    [ONYX_DTYPE_INT2] = {"int2", 1},
};

bool ox_dtype_valid(int t) { return t > 0 && t < ONYX_DTYPE_COUNT_; }

const char *onyx_dtype_name(onyx_dtype t)
{
    return ox_dtype_valid((int)t) ? dtype_info[t].name : "invalid";
}

size_t onyx_dtype_size(onyx_dtype t) { return ox_dtype_valid((int)t) ? dtype_info[t].size : 0; }

bool ox_dtype_is_float(onyx_dtype t)
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

bool ox_dtype_is_signed(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT16: case ONYX_DTYPE_INT32: case ONYX_DTYPE_INT64:
    case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2:
        return true;
    default:
        return false;
    }
}

bool ox_dtype_is_int(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_UINT8: case ONYX_DTYPE_UINT16: case ONYX_DTYPE_UINT32: case ONYX_DTYPE_UINT64:
    case ONYX_DTYPE_UINT4: case ONYX_DTYPE_UINT2:
        return true;
    default:
        return ox_dtype_is_signed(t);
    }
}

/* A shape is valid when its dims are non-negative and the product of its non-zero dims fits
 * int64: then every partial product an op computes fits too, even for empty tensors. */
bool ox_shape_numel(int rank, const int64_t *dims, int64_t *out)
{
    int64_t n = 1;
    bool zero = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return false;
        if (dims[i] == 0) {
            zero = true;
            continue;
        }
        if (n > INT64_MAX / dims[i]) return false;
        n *= dims[i];
    }
    *out = zero ? 0 : n;
    return true;
}

bool ox_shape_bytes(onyx_dtype t, int rank, const int64_t *dims, size_t *out)
{
    int64_t n;
    size_t es = onyx_dtype_size(t);
    if (!es || !ox_shape_numel(rank, dims, &n)) return false;
    if ((uint64_t)n > SIZE_MAX / es) return false;
    *out = (size_t)n * es;
    return true;
}

int64_t ox_tensor_numel(const onyx_tensor *t)
{
    int64_t n; /* shapes are checked when made; this only guards against misuse */
    return ox_shape_numel(t->rank, t->dims, &n) ? n : 0;
}

size_t ox_tensor_bytes(const onyx_tensor *t)
{
    return (size_t)ox_tensor_numel(t) * onyx_dtype_size(t->dtype);
}

const char *ox_shape_str(char *buf, size_t cap, int rank, const int64_t *dims)
{
    size_t n = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

/* IEEE half <-> single, exact for every half value; rounding to nearest even. */
float ox_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ox_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf or nan (keep nan quiet) */
        return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0);
    if (ax >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: overflow to inf */
    if (ax < 0x38800000u) { /* result is subnormal or zero */
        if (ax < 0x33000000u) return sign; /* < 2^-25: rounds to zero */
        uint32_t e = ax >> 23, man = (ax & 0x7fffff) | 0x800000;
        uint32_t drop = 126 - e; /* value = man * 2^(e-150); in units of 2^-24: >> (126-e) */
        uint32_t half = man >> drop, rem = man & ((1u << drop) - 1), mid = 1u << (drop - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t h = ((ax >> 13) - ((127 - 15) << 10));
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return sign | (uint16_t)h;
}

float ox_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ox_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
