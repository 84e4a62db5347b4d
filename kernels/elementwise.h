/* elementwise.h — element-wise arithmetic and activations over plain buffers.
 *
 * Binary ops come as inner-loop functions (one per op and dtype) plus a driver that walks
 * a broadcast N-d iteration space in contiguous runs, so the common cases (same shape, a
 * scalar operand, a per-channel bias) reach the inner loop with long runs.
 *
 * Integer semantics: add/sub/mul wrap around modulo 2^bits (two's complement); division
 * truncates toward zero as in C; dividing by zero gives 0 and INT_MIN / -1 gives INT_MIN
 * (the wrapped result), so no input is undefined behaviour. float16 and bfloat16 compute in
 * float32 and round to nearest even. */
#ifndef ONYX_KERNELS_ELEMENTWISE_H
#define ONYX_KERNELS_ELEMENTWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

typedef enum ox_binop { OX_BIN_ADD, OX_BIN_SUB, OX_BIN_MUL, OX_BIN_DIV } ox_binop;

/* out[i] = a[a_vec ? i : 0] op b[b_vec ? i : 0] for i < n. */
typedef void (*ox_binary_fn)(int64_t n, const void *a, bool a_vec, const void *b, bool b_vec,
                             void *out);

/* The inner loop for op on dtype t, or NULL if t is not supported. */
ox_binary_fn ox_binary_kernel(ox_binop op, onyx_dtype t);

/* Applies fn over the output shape (rank, dims), reading a and b with element strides sa
 * and sb (0 along broadcast dims; see ox_broadcast_strides) and writing out contiguously.
 * esize is the element size in bytes. Splits the work across up to `threads` threads. */
void ox_binary_apply(ox_binary_fn fn, size_t esize, int rank, const int64_t *dims,
                     const void *a, const int64_t *sa, const void *b, const int64_t *sb,
                     void *out, int threads);

/* As ox_binary_apply, with the element sizes of a, b and out given apart: comparisons write
 * bool, and Pow's exponent may have another type than its base. */
void ox_binary_apply_mixed(ox_binary_fn fn, size_t a_size, size_t b_size, size_t out_size,
                           int rank, const int64_t *dims, const void *a, const int64_t *sa,
                           const void *b, const int64_t *sb, void *out, int threads);

/* out[i] = f(a[a_vec ? i : 0], b[b_vec ? i : 0], c[c_vec ? i : 0]) for i < n. */
typedef void (*ox_ternary_fn)(int64_t n, const void *a, bool a_vec, const void *b, bool b_vec,
                              const void *c, bool c_vec, void *out);

/* The three-operand driver (Where): in[k] is read with element strides strides[k] and
 * element size sizes[k]; sizes[3] is the output's element size. */
void ox_ternary_apply(ox_ternary_fn fn, const size_t sizes[4], int rank, const int64_t *dims,
                      const void *const in[3], const int64_t *const strides[3], void *out,
                      int threads);

typedef enum ox_unop { OX_UN_RELU, OX_UN_SIGMOID, OX_UN_TANH } ox_unop;

/* y[i] = f(x[i]) for i < n. */
typedef void (*ox_unary_fn)(int64_t n, const void *x, void *y);

/* The loop for op on dtype t, or NULL if t is not supported. Relu takes every signed integer
 * and float type; Sigmoid and Tanh take float, double, float16 and bfloat16. */
ox_unary_fn ox_unary_kernel(ox_unop op, onyx_dtype t);

/* Applies fn to n contiguous elements of size esize, split across up to `threads` threads. */
void ox_unary_apply(ox_unary_fn fn, size_t esize, int64_t n, const void *x, void *y,
                    int threads);

/* True if ox_clip takes dtype t: every integer type, float, double, float16, bfloat16. */
bool ox_clip_supported(onyx_dtype t);

/* y[i] = min(max(x[i], *lo), *hi) for n elements of dtype t; lo/hi point to one element of
 * dtype t, or are NULL for no bound. NaN stays NaN. Returns false if t is not supported. */
bool ox_clip(onyx_dtype t, int64_t n, const void *x, const void *lo, const void *hi, void *y,
             int threads);

#endif
