/* test_dtype.c — 16-bit float conversion, shape arithmetic. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "internal.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int main(void)
{
    /* every half value survives half -> float -> half (NaN stays NaN) */
    int roundtrip_bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ox_f16_to_f32((uint16_t)h);
        uint16_t back = ox_f32_to_f16(f);
        bool nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        if (nan ? !isnan(f) || ((back >> 10) & 0x1f) != 0x1f || !(back & 0x3ff) : back != h) roundtrip_bad++;
    }
    CHECK(roundtrip_bad == 0);
    /* known values */
    CHECK(ox_f16_to_f32(0x3c00) == 1.0f);
    CHECK(ox_f16_to_f32(0xc000) == -2.0f);
    CHECK(ox_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(ox_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(ox_f32_to_f16(65520.0f) == 0x7c00);     /* rounds to inf */
    CHECK(ox_f32_to_f16(65519.0f) == 0x7bff);
    CHECK(ox_f32_to_f16(ldexpf(1.0f, -25)) == 0); /* tie to even: 0 */
    CHECK(ox_f32_to_f16(ldexpf(1.5f, -25)) == 1);
    CHECK(ox_f32_to_f16(ldexpf(3.0f, -25)) == 2); /* 1.5 ulp ties to even 2 */
    CHECK(ox_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00); /* halfway: even */
    CHECK(ox_f32_to_f16(1.0f + ldexpf(3.0f, -11)) == 0x3c02);
    CHECK(ox_f32_to_f16(-0.0f) == 0x8000);
    /* every float rounds to the nearest half: check against a brute-force neighbour search on a sample */
    int nearest_bad = 0;
    for (uint32_t u = 0x33000000u; u < 0x477fe000u; u += 0x1357) /* up to 65504 */ {
        float f = from_bits(u);
        uint16_t h = ox_f32_to_f16(f);
        double got = ox_f16_to_f32(h), below = ox_f16_to_f32((uint16_t)(h - 1)), above = ox_f16_to_f32((uint16_t)(h + 1));
        if (fabs(got - f) > fabs(below - f) || (h < 0x7bff && fabs(got - f) > fabs(above - f))) nearest_bad++;
    }
    CHECK(nearest_bad == 0);
    /* bfloat16 */
    CHECK(ox_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(bits_of(ox_bf16_to_f32(0x3f80)) == bits_of(1.0f));
    CHECK(ox_f32_to_bf16(from_bits(0x3f808000u)) == 0x3f80); /* tie to even */
    CHECK(ox_f32_to_bf16(from_bits(0x3f818000u)) == 0x3f82);
    CHECK(isnan(ox_bf16_to_f32(ox_f32_to_bf16(NAN))));
    /* shapes */
    int64_t n, big[3] = {INT64_MAX / 2, 3, 1}, neg[2] = {2, -1}, zero[3] = {0, INT64_MAX, INT64_MAX}, zero_ok[3] = {0, 1 << 20, 1 << 20};
    size_t bytes;
    CHECK(!ox_shape_numel(3, big, &n));
    CHECK(!ox_shape_numel(2, neg, &n));
    CHECK(!ox_shape_numel(3, zero, &n)); /* empty, but its other dims would overflow a product */
    CHECK(ox_shape_numel(3, zero_ok, &n) && n == 0);
    int64_t d[2] = {1LL << 40, 1LL << 22};
    CHECK(!ox_shape_bytes(ONYX_DTYPE_FLOAT, 2, d, &bytes)); /* 2^62 elements * 4 overflows */
    CHECK(ox_shape_bytes(ONYX_DTYPE_DOUBLE, 0, d, &bytes) && bytes == 8);
    CHECK(onyx_dtype_size(ONYX_DTYPE_BFLOAT16) == 2 && !strcmp(onyx_dtype_name(ONYX_DTYPE_DOUBLE), "float64"));
    return check_report("dtype");
}
