/* cli_compare.c — result comparison for `onyx check`, matching the ONNX backend test runner
 * (numpy.testing.assert_allclose with rtol 1e-3, atol 1e-7 in onnx's runner). */
#include <math.h>
#include <string.h>

#include "cli.h"

/* How far apart two floats are for reporting: infinite when one side is NaN or an infinity
 * that the other does not match, so such mismatches are reported first. */
static bool float_close(double got, double want, double rtol, double atol, double *diff)
{
    if (isnan(got) || isnan(want)) {
        *diff = INFINITY;
        return isnan(got) && isnan(want);
    }
    if (isinf(got) || isinf(want)) {
        *diff = INFINITY;
        return got == want;
    }
    *diff = fabs(got - want);
    return *diff <= atol + rtol * fabs(want);
}

/* Element i of a complex tensor, component c (0 real, 1 imaginary). */
static double complex_part(const onyx_tensor *t, int64_t i, int c)
{
    if (t->dtype == ONYX_DTYPE_COMPLEX64) {
        float v;
        memcpy(&v, (const char *)t->data + (size_t)i * 8 + (size_t)c * 4, 4);
        return v;
    }
    double v;
    memcpy(&v, (const char *)t->data + (size_t)i * 16 + (size_t)c * 8, 8);
    return v;
}

static bool element_equal(const onyx_tensor *got, const onyx_tensor *want, int64_t i, double rtol,
                          double atol, double *diff)
{
    onyx_dtype dt = want->dtype;
    size_t es = onyx_dtype_size(dt);
    if (cli_dtype_is_float(dt))
        return float_close(cli_value_at(got, i), cli_value_at(want, i), rtol, atol, diff);
    if (dt == ONYX_DTYPE_COMPLEX64 || dt == ONYX_DTYPE_COMPLEX128) {
        double d_re, d_im;
        bool re = float_close(complex_part(got, i, 0), complex_part(want, i, 0), rtol, atol, &d_re);
        bool im = float_close(complex_part(got, i, 1), complex_part(want, i, 1), rtol, atol, &d_im);
        *diff = d_re > d_im ? d_re : d_im;
        return re && im;
    }
    if (dt == ONYX_DTYPE_STRING) {
        const char *a, *b;
        memcpy(&a, (const char *)got->data + (size_t)i * es, sizeof a);
        memcpy(&b, (const char *)want->data + (size_t)i * es, sizeof b);
        *diff = INFINITY;
        return strcmp(a ? a : "", b ? b : "") == 0;
    }
    /* integers and bools: the same bytes mean the same value */
    *diff = INFINITY;
    return memcmp((const char *)got->data + (size_t)i * es, (const char *)want->data + (size_t)i * es, es) == 0;
}

bool cli_compare(const onyx_tensor *got, const onyx_tensor *want, double rtol, double atol, bool verbose,
                 char *why, size_t cap)
{
    char a[160], b[160];
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "dtype %s, expected %s", onyx_dtype_name(got->dtype), onyx_dtype_name(want->dtype));
        return false;
    }
    if (got->rank != want->rank || memcmp(got->dims, want->dims, (size_t)want->rank * sizeof want->dims[0]) != 0) {
        cli_format_dims(got->rank, got->dims, a, sizeof a);
        cli_format_dims(want->rank, want->dims, b, sizeof b);
        snprintf(why, cap, "shape %s, expected %s", a, b);
        return false;
    }
    int64_t n = cli_numel(want), bad = 0, worst = -1;
    double worst_diff = -1;
    if (n > 0 && (!got->data || !want->data)) {
        snprintf(why, cap, "no data");
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        double diff;
        if (element_equal(got, want, i, rtol, atol, &diff)) continue;
        bad++;
        if (diff > worst_diff) {
            worst_diff = diff;
            worst = i;
        }
    }
    if (!bad) return true;
    cli_format_value(got, worst, a, sizeof a);
    cli_format_value(want, worst, b, sizeof b);
    size_t len;
    if (isinf(worst_diff))
        len = (size_t)snprintf(why, cap, "mismatch at index %lld (got %s, expected %s)", (long long)worst, a, b);
    else
        len = (size_t)snprintf(why, cap, "max abs diff %.6g at index %lld (got %s, expected %s)", worst_diff,
                               (long long)worst, a, b);
    if (verbose && len < cap)
        snprintf(why + len, cap - len, "; %lld of %lld values differ", (long long)bad, (long long)n);
    return false;
}
