/* logic.h — element-wise comparisons, boolean logic and Where, as loops for the broadcast
 * drivers of elementwise.h. Booleans are bytes; any non-zero byte reads as true and results
 * are 0 or 1. */
#ifndef ONYX_KERNELS_LOGIC_H
#define ONYX_KERNELS_LOGIC_H

#include "elementwise.h"

typedef enum ox_cmp { OX_CMP_EQ, OX_CMP_GT, OX_CMP_GE, OX_CMP_LT, OX_CMP_LE } ox_cmp;

/* out (bool) = a op b, both of dtype t: every integer type, float, double, float16 and
 * bfloat16 (compared as numbers: NaN is unequal to everything, -0 equals +0); for OX_CMP_EQ
 * also bool and string (byte-wise equal). NULL if the pair is not supported. */
ox_binary_fn ox_compare_kernel(ox_cmp op, onyx_dtype t);

typedef enum ox_logic { OX_LOGIC_AND, OX_LOGIC_OR, OX_LOGIC_XOR } ox_logic;

/* out = a op b on bools. */
ox_binary_fn ox_logic_kernel(ox_logic op);

/* out = !a on bools. */
void ox_logic_not(int64_t n, const void *a, void *out);

/* out = cond ? x : y (the ternary operands in that order: cond is bool, x, y and out have
 * elements of esize bytes, copied as they are). esize 1, 2, 4, 8 or 16; NULL otherwise. */
ox_ternary_fn ox_where_kernel(size_t esize);

#endif
