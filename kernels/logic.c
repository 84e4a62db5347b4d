/* logic.c — comparisons, boolean logic and Where (see logic.h). */
#include <string.h>

#include "binary_loop.h"
#include "logic.h"

/* ---- comparisons ----------------------------------------------------------------------- */

#define AS_BOOL(v) ((v) != 0)

/* Strings compare by their bytes. Tensors never hold NULL strings, but a NULL reads as "". */
static inline bool str_eq(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

#define CMP_ALL(sfx, T, CT, LOAD)                                                         \
    OX_BINARY_LOOP(eq_##sfx, T, CT, LOAD, T, CT, LOAD, uint8_t, (uint8_t)(x == y))        \
    OX_BINARY_LOOP(gt_##sfx, T, CT, LOAD, T, CT, LOAD, uint8_t, (uint8_t)(x > y))         \
    OX_BINARY_LOOP(ge_##sfx, T, CT, LOAD, T, CT, LOAD, uint8_t, (uint8_t)(x >= y))        \
    OX_BINARY_LOOP(lt_##sfx, T, CT, LOAD, T, CT, LOAD, uint8_t, (uint8_t)(x < y))         \
    OX_BINARY_LOOP(le_##sfx, T, CT, LOAD, T, CT, LOAD, uint8_t, (uint8_t)(x <= y))

CMP_ALL(f32, float, float, OX_AS_IS)
CMP_ALL(f64, double, double, OX_AS_IS)
CMP_ALL(f16, uint16_t, float, ox_f16_to_f32)
CMP_ALL(bf16, uint16_t, float, ox_bf16_to_f32)
CMP_ALL(i8, int8_t, int8_t, OX_AS_IS)
CMP_ALL(i16, int16_t, int16_t, OX_AS_IS)
CMP_ALL(i32, int32_t, int32_t, OX_AS_IS)
CMP_ALL(i64, int64_t, int64_t, OX_AS_IS)
CMP_ALL(u8, uint8_t, uint8_t, OX_AS_IS)
CMP_ALL(u16, uint16_t, uint16_t, OX_AS_IS)
CMP_ALL(u32, uint32_t, uint32_t, OX_AS_IS)
CMP_ALL(u64, uint64_t, uint64_t, OX_AS_IS)
OX_BINARY_LOOP(eq_bool, uint8_t, bool, AS_BOOL, uint8_t, bool, AS_BOOL, uint8_t,
               (uint8_t)(x == y))
/* A string element, named so that `const str_elem *` reads as `char *const *`. */
typedef char *str_elem;
OX_BINARY_LOOP(eq_str, str_elem, str_elem, OX_AS_IS, str_elem, str_elem, OX_AS_IS, uint8_t,
               (uint8_t)str_eq(x, y))

#define CMP_ROW(t, sfx) {t, {eq_##sfx, gt_##sfx, ge_##sfx, lt_##sfx, le_##sfx}}

static const struct {
    onyx_dtype t;
    ox_binary_fn fn[5]; /* by ox_cmp */
} compare_table[] = {
    CMP_ROW(ONYX_DTYPE_FLOAT, f32),    CMP_ROW(ONYX_DTYPE_DOUBLE, f64),
    CMP_ROW(ONYX_DTYPE_FLOAT16, f16),  CMP_ROW(ONYX_DTYPE_BFLOAT16, bf16),
    CMP_ROW(ONYX_DTYPE_INT8, i8),      CMP_ROW(ONYX_DTYPE_INT16, i16),
    CMP_ROW(ONYX_DTYPE_INT32, i32),    CMP_ROW(ONYX_DTYPE_INT64, i64),
    CMP_ROW(ONYX_DTYPE_UINT8, u8),     CMP_ROW(ONYX_DTYPE_UINT16, u16),
    CMP_ROW(ONYX_DTYPE_UINT32, u32),   CMP_ROW(ONYX_DTYPE_UINT64, u64),
    {ONYX_DTYPE_BOOL, {eq_bool, NULL, NULL, NULL, NULL}},
    {ONYX_DTYPE_STRING, {eq_str, NULL, NULL, NULL, NULL}},
};

ox_binary_fn ox_compare_kernel(ox_cmp op, onyx_dtype t)
{
    if ((unsigned)op > OX_CMP_LE) return NULL;
    for (size_t i = 0; i < sizeof compare_table / sizeof compare_table[0]; i++)
        if (compare_table[i].t == t) return compare_table[i].fn[op];
    return NULL;
}

/* ---- boolean logic --------------------------------------------------------------------- */

OX_BINARY_SAME(and_bool, uint8_t, bool, AS_BOOL, (uint8_t)(x && y))
OX_BINARY_SAME(or_bool, uint8_t, bool, AS_BOOL, (uint8_t)(x || y))
OX_BINARY_SAME(xor_bool, uint8_t, bool, AS_BOOL, (uint8_t)(x != y))

ox_binary_fn ox_logic_kernel(ox_logic op)
{
    switch (op) {
    case OX_LOGIC_AND: return and_bool;
    case OX_LOGIC_OR: return or_bool;
    case OX_LOGIC_XOR: return xor_bool;
    default: return NULL;
    }
}

void ox_logic_not(int64_t n, const void *a, void *out)
{
    const uint8_t *x = a;
    uint8_t *y = out;
    for (int64_t i = 0; i < n; i++) y[i] = (uint8_t)(x[i] == 0);
}

/* ---- Where ----------------------------------------------------------------------------- */

/* Elements are copied as bytes (memcpy of a constant size compiles to plain moves): Where
 * takes every dtype, and reading a float or a pointer through an integer type would break
 * C's aliasing rules. A broadcast operand repeats element 0: its index step is 0. */
#define WHERE_KERNEL(name, ES)                                                             \
    static void name(int64_t n, const void *pc, bool vc, const void *px, bool vx,          \
                     const void *py, bool vy, void *po)                                    \
    {                                                                                      \
        const uint8_t *c = pc;                                                             \
        const char *x = px, *y = py;                                                       \
        char *o = po;                                                                      \
        const int64_t sc = vc, sx = vx, sy = vy;                                           \
        for (int64_t i = 0; i < n; i++) {                                                  \
            const char *src = c[i * sc] ? x + (size_t)(i * sx) * (ES)                      \
                                        : y + (size_t)(i * sy) * (ES);                     \
            memcpy(o + (size_t)i * (ES), src, (ES));                                       \
        }                                                                                  \
    }

WHERE_KERNEL(where_1, 1)
WHERE_KERNEL(where_2, 2)
WHERE_KERNEL(where_4, 4)
WHERE_KERNEL(where_8, 8)
WHERE_KERNEL(where_16, 16)

ox_ternary_fn ox_where_kernel(size_t esize)
{
    switch (esize) {
    case 1: return where_1;
    case 2: return where_2;
    case 4: return where_4;
    case 8: return where_8;
    case 16: return where_16;
    default: return NULL;
    }
}
