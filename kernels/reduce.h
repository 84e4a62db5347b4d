/* reduce.h — reductions along axes and the kernels of the ops built on them: the Reduce*
 * family, ArgMax/ArgMin, CumSum/CumProd, LogSoftmax, Hardmax, TopK, Det and Einsum's
 * contraction.
 *
 * Numeric domains: every floating type (float, double, float16, bfloat16) is computed in
 * double and rounded once when stored; every integer type (and bool) in uint64 — signed
 * types sign-extended — so sums and products wrap modulo 2^64, which truncated to the
 * element width is exactly the wrap-around result of that width.
 *
 * Results never depend on the thread count: each output element is computed by one thread,
 * always visiting its inputs in the same order. */
#ifndef ONYX_KERNELS_REDUCE_H
#define ONYX_KERNELS_REDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

/* ---- widening to the compute domains --------------------------------------------------- */

/* True for float, double, float16 and bfloat16 (the double domain). */
bool ox_red_is_floating(onyx_dtype t);
/* True for the 8- to 64-bit integer types and bool (the uint64 domain). */
bool ox_red_is_integral(onyx_dtype t);

/* dst[i] = src[i] as double (floating t) for i < n. */
void ox_widen_f64(onyx_dtype t, const void *src, int64_t n, double *dst);
/* dst[i] = src[i] as uint64 (integral t; signed types sign-extended) for i < n. */
void ox_widen_u64(onyx_dtype t, const void *src, int64_t n, uint64_t *dst);
/* dst[i] = src[i] rounded to floating t (nearest even) for i < n. */
void ox_narrow_f64(onyx_dtype t, const double *src, int64_t n, void *dst);
/* dst[i] = the low bits of src[i] (integral t; bool stores src[i] != 0) for i < n. */
void ox_narrow_u64(onyx_dtype t, const uint64_t *src, int64_t n, void *dst);

/* ---- Reduce* ---------------------------------------------------------------------------- */

typedef enum ox_redop {
    OX_RED_SUM,
    OX_RED_MEAN,
    OX_RED_PROD,
    OX_RED_MAX,
    OX_RED_MIN,
    OX_RED_L1,
    OX_RED_L2,
    OX_RED_SUM_SQUARE,
    OX_RED_LOG_SUM,
    OX_RED_LOG_SUM_EXP
} ox_redop;

/* True if op is implemented for t: every op for floating types; all but LogSum and
 * LogSumExp for integers; only Max and Min for bool. */
bool ox_reduce_supported(ox_redop op, onyx_dtype t);

/* y = op of x over the dims k with reduced[k], for x of dtype t and shape (rank, dims); y
 * holds the kept dims in order (dense). Reducing an empty set gives the op's identity put
 * through its final step: Sum/L1/L2/SumSquare 0, Prod 1, Max -inf (integers: the lowest
 * value, bool false), Min +inf (the highest value, bool true), LogSum/LogSumExp -inf, Mean
 * NaN (integers 0). NaN propagates through Max and Min. */
void ox_reduce(ox_redop op, onyx_dtype t, int rank, const int64_t *dims, const bool *reduced,
               const void *x, void *y, int threads);

/* ---- ops along one axis of x viewed as [outer, n, inner] -------------------------------- */

/* y[o, j] = the index along n of the max (is_max) or min of x[o, :, j]: the first one, or
 * the last with select_last. NaN counts as greater than (max) or less than (min) every
 * number. n must be >= 1. Takes floating and integral t. */
void ox_arg_reduce(onyx_dtype t, bool is_max, bool select_last, int64_t outer, int64_t n,
                   int64_t inner, const void *x, int64_t *y, int threads);

/* y = cumulative sum of x along n, inclusive or exclusive (starting at 0), forward or
 * reverse. Floating and integral t (bool excluded). */
void ox_cumsum(onyx_dtype t, bool exclusive, bool reverse, int64_t outer, int64_t n,
               int64_t inner, const void *x, void *y, int threads);
/* The same with products (exclusive ones start at 1); integers wrap. */
void ox_cumprod(onyx_dtype t, bool exclusive, bool reverse, int64_t outer, int64_t n,
                int64_t inner, const void *x, void *y, int threads);

/* y = x - max - log(sum(exp(x - max))) along n; floating t. */
void ox_log_softmax(onyx_dtype t, int64_t outer, int64_t n, int64_t inner, const void *x, void *y,
                    int threads);

/* y = 1 at the first max of x along n (NaN counts as the max), 0 elsewhere; floating t. */
void ox_hardmax(onyx_dtype t, int64_t outer, int64_t n, int64_t inner, const void *x, void *y,
                int threads);

/* Scratch elements (uint64) ox_topk needs per thread. */
int64_t ox_topk_scratch(int64_t n, int64_t k);

/* The k largest (or smallest) elements of x along n, in order (best first; equal values by
 * lower index; NaN counts as the greatest value), into values [outer, k, inner] of dtype t
 * and indices [outer, k, inner]. scratch holds threads * ox_topk_scratch(n, k) elements.
 * Floating and integral t. */
void ox_topk(onyx_dtype t, bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k,
             const void *x, void *values, int64_t *indices, uint64_t *scratch, int threads);

/* ---- Det --------------------------------------------------------------------------------- */

/* y[b] = det of the m x m matrix x[b] for b < batch, by LU decomposition with partial
 * pivoting in double; floating t. scratch holds threads * m * m doubles. */
void ox_det(onyx_dtype t, int64_t batch, int64_t m, const void *x, void *y, double *scratch,
            int threads);

/* ---- Einsum's contraction ---------------------------------------------------------------- */

#define OX_EINSUM_MAX_OPS 16
#define OX_EINSUM_MAX_LABELS 64

/* out[i_0..i_{n_out-1}] = sum over i_{n_out}..i_{n_out+n_sum-1} of the product over the
 * operands k of op_k[sum_l i_l * stride[k][l]]. out is dense over the first n_out labels. */
typedef struct ox_einsum_plan {
    int n_ops, n_out, n_sum;
    int64_t dim[OX_EINSUM_MAX_LABELS];
    int64_t stride[OX_EINSUM_MAX_OPS][OX_EINSUM_MAX_LABELS];
} ox_einsum_plan;

void ox_einsum_f64(const ox_einsum_plan *p, const double *const *ops, double *out, int threads);
void ox_einsum_u64(const ox_einsum_plan *p, const uint64_t *const *ops, uint64_t *out,
                   int threads);

#endif
