/* test_reduce.c — the reduce and einsum families: kernel edge cases (integer wraparound,
 * empty sets, NaN, infinities, ties, pivoting, thread-count independence) and the ops' error
 * paths on single nodes (bad axes, k, shapes and equations), checking statuses and that the
 * messages name the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "op_harness.h"
#include "reduce.h"

/* ---- kernels ----------------------------------------------------------------------------- */

static void test_reduce_integers(void)
{
    /* sums wrap at the element width; means truncate toward zero */
    int8_t x8[4] = {100, 100, 100, -1};
    int8_t y8;
    const int64_t d4[1] = {4};
    const bool all[1] = {true};
    ox_reduce(OX_RED_SUM, ONYX_DTYPE_INT8, 1, d4, all, x8, &y8, 1);
    CHECK(y8 == 43); /* 299 - 256 */
    int32_t x32[4] = {-7, 2, 3, -1}, y32;
    ox_reduce(OX_RED_MEAN, ONYX_DTYPE_INT32, 1, d4, all, x32, &y32, 1);
    CHECK(y32 == -0);
    int32_t xm[4] = {-9, 2, 0, 0};
    ox_reduce(OX_RED_MEAN, ONYX_DTYPE_INT32, 1, d4, all, xm, &y32, 1);
    CHECK(y32 == -1); /* -7/4 = -1.75 -> -1 */
    int64_t x64[4] = {INT64_MIN, -1, 5, 0}, y64;
    ox_reduce(OX_RED_MIN, ONYX_DTYPE_INT64, 1, d4, all, x64, &y64, 1);
    CHECK(y64 == INT64_MIN);
    ox_reduce(OX_RED_L1, ONYX_DTYPE_INT64, 1, d4, all, x64, &y64, 1);
    CHECK(y64 == INT64_MIN + 6); /* |INT64_MIN| wraps to itself */
    uint32_t xu[4] = {UINT32_MAX, 1, 7, 3}, yu;
    ox_reduce(OX_RED_MAX, ONYX_DTYPE_UINT32, 1, d4, all, xu, &yu, 1);
    CHECK(yu == UINT32_MAX);
    ox_reduce(OX_RED_PROD, ONYX_DTYPE_UINT32, 1, d4, all, xu, &yu, 1);
    CHECK(yu == (uint32_t)(UINT32_MAX * 21u));

    /* empty sets give the identities */
    const int64_t d0[2] = {3, 0};
    const bool last[2] = {false, true};
    int16_t e16[3];
    ox_reduce(OX_RED_MAX, ONYX_DTYPE_INT16, 2, d0, last, NULL, e16, 1);
    CHECK(e16[0] == INT16_MIN && e16[2] == INT16_MIN);
    uint8_t eu8[3];
    ox_reduce(OX_RED_MIN, ONYX_DTYPE_UINT8, 2, d0, last, NULL, eu8, 1);
    CHECK(eu8[1] == 255);
    uint8_t eb[3];
    ox_reduce(OX_RED_MIN, ONYX_DTYPE_BOOL, 2, d0, last, NULL, eb, 1);
    CHECK(eb[0] == 1);
    ox_reduce(OX_RED_PROD, ONYX_DTYPE_UINT8, 2, d0, last, NULL, eu8, 1);
    CHECK(eu8[2] == 1);

    CHECK(!ox_reduce_supported(OX_RED_LOG_SUM, ONYX_DTYPE_INT32));
    CHECK(!ox_reduce_supported(OX_RED_SUM, ONYX_DTYPE_BOOL));
    CHECK(ox_reduce_supported(OX_RED_MAX, ONYX_DTYPE_BOOL));
    CHECK(!ox_reduce_supported(OX_RED_SUM, ONYX_DTYPE_STRING));
}

static void test_reduce_floats(void)
{
    const int64_t d[2] = {2, 3};
    const bool rows[2] = {false, true}, cols[2] = {true, false};
    float x[6] = {1, NAN, 3, 4, 5, 6}, y[3];
    ox_reduce(OX_RED_MAX, ONYX_DTYPE_FLOAT, 2, d, rows, x, y, 1);
    CHECK(isnan(y[0]) && y[1] == 6);
    ox_reduce(OX_RED_MIN, ONYX_DTYPE_FLOAT, 2, d, cols, x, y, 1);
    CHECK(y[0] == 1 && isnan(y[1]) && y[2] == 3);

    /* LogSumExp: no overflow for large inputs; infinities give infinities, not NaN */
    double l[6] = {1000, 1000, INFINITY, 1, -INFINITY, -INFINITY}, ly[3];
    const int64_t d32[2] = {3, 2};
    ox_reduce(OX_RED_LOG_SUM_EXP, ONYX_DTYPE_DOUBLE, 2, d32, rows, l, ly, 1);
    CHECK(fabs(ly[0] - (1000 + log(2.0))) < 1e-9 && ly[1] == INFINITY && ly[2] == -INFINITY);

    /* empty sets: Mean is NaN, LogSum -inf, Max -inf */
    const int64_t d0[2] = {2, 0};
    float e[2];
    ox_reduce(OX_RED_MEAN, ONYX_DTYPE_FLOAT, 2, d0, rows, NULL, e, 1);
    CHECK(isnan(e[0]) && isnan(e[1]));
    ox_reduce(OX_RED_LOG_SUM, ONYX_DTYPE_FLOAT, 2, d0, rows, NULL, e, 1);
    CHECK(e[0] == -INFINITY);
    ox_reduce(OX_RED_MAX, ONYX_DTYPE_FLOAT, 2, d0, rows, NULL, e, 1);
    CHECK(e[1] == -INFINITY);

    /* reducing over no axes still applies the per-element steps */
    const bool none[2] = {false, false};
    const float xs[6] = {1, -2, 3, 0, 1, 2};
    float sq[6];
    ox_reduce(OX_RED_SUM_SQUARE, ONYX_DTYPE_FLOAT, 2, d, none, xs, sq, 1);
    CHECK(sq[1] == 4 && sq[2] == 9);
}

static void test_thread_independence(void)
{
    /* the same bits whatever the thread count, for both run shapes */
    enum { R = 300, C = 700 };
    float *x = malloc(sizeof(float) * R * C), y1[C], y4[C];
    for (int i = 0; i < R * C; i++) x[i] = (float)sin(i * 0.37) * 1000.0f;
    const int64_t d[2] = {R, C};
    const bool by_col[2] = {true, false}, by_row[2] = {false, true};
    ox_reduce(OX_RED_SUM, ONYX_DTYPE_FLOAT, 2, d, by_col, x, y1, 1);
    ox_reduce(OX_RED_SUM, ONYX_DTYPE_FLOAT, 2, d, by_col, x, y4, 4);
    CHECK(!memcmp(y1, y4, sizeof y1));
    ox_reduce(OX_RED_LOG_SUM_EXP, ONYX_DTYPE_FLOAT, 2, d, by_row, x, y1, 1);
    ox_reduce(OX_RED_LOG_SUM_EXP, ONYX_DTYPE_FLOAT, 2, d, by_row, x, y4, 4);
    CHECK(!memcmp(y1, y4, sizeof(float) * R));
    free(x);
}

static void test_arg_and_scan(void)
{
    /* NaN wins ArgMax and ArgMin; select_last takes the last of equal values */
    const float x[5] = {1, NAN, 3, NAN, 3};
    int64_t i;
    ox_arg_reduce(ONYX_DTYPE_FLOAT, true, false, 1, 5, 1, x, &i, 1);
    CHECK(i == 1);
    ox_arg_reduce(ONYX_DTYPE_FLOAT, false, true, 1, 5, 1, x, &i, 1);
    CHECK(i == 3);
    const int64_t ties[4] = {INT64_MIN, 7, INT64_MIN, 7};
    ox_arg_reduce(ONYX_DTYPE_INT64, false, true, 1, 4, 1, ties, &i, 1);
    CHECK(i == 2);
    ox_arg_reduce(ONYX_DTYPE_INT64, true, false, 1, 4, 1, ties, &i, 1);
    CHECK(i == 1);

    /* exclusive reverse cumulative sums; int32 wraps */
    const int32_t c[3] = {INT32_MAX, 1, 2};
    int32_t cy[3];
    ox_cumsum(ONYX_DTYPE_INT32, true, true, 1, 3, 1, c, cy, 1);
    CHECK(cy[0] == 3 && cy[1] == 2 && cy[2] == 0);
    ox_cumsum(ONYX_DTYPE_INT32, false, false, 1, 3, 1, c, cy, 1);
    CHECK(cy[1] == INT32_MIN && cy[2] == INT32_MIN + 2);

    /* cumulative products: exclusive ones start at 1, int32 wraps */
    const int32_t p[3] = {65536, 65536, 3};
    ox_cumprod(ONYX_DTYPE_INT32, true, true, 1, 3, 1, p, cy, 1);
    CHECK(cy[0] == 196608 && cy[1] == 3 && cy[2] == 1);
    ox_cumprod(ONYX_DTYPE_INT32, false, false, 1, 3, 1, p, cy, 1);
    CHECK(cy[0] == 65536 && cy[1] == 0 && cy[2] == 0); /* 2^32 wraps to 0 */
    const float fp[4] = {2, -0.5f, 3, 4};
    float fy[4];
    ox_cumprod(ONYX_DTYPE_FLOAT, false, true, 1, 4, 1, fp, fy, 1);
    CHECK(fy[0] == -12 && fy[1] == -6 && fy[2] == 12 && fy[3] == 4);
    CHECK(!ox_op_find("", "CumProd", 25) && ox_op_find("", "CumProd", 26));

    /* Hardmax marks the first max only */
    const double h[4] = {2, 5, 5, 1};
    double hy[4];
    ox_hardmax(ONYX_DTYPE_DOUBLE, 1, 4, 1, h, hy, 1);
    CHECK(hy[0] == 0 && hy[1] == 1 && hy[2] == 0 && hy[3] == 0);
}

static void test_topk_and_det(void)
{
    /* ties by lower index, NaN greatest, -0 equal to 0 */
    const float x[6] = {2, NAN, -0.0f, 2, 0, -1};
    float v[3];
    int64_t idx[3];
    uint64_t scratch[9];
    ox_topk(ONYX_DTYPE_FLOAT, true, 1, 6, 1, 3, x, v, idx, scratch, 1);
    CHECK(isnan(v[0]) && idx[0] == 1 && idx[1] == 0 && idx[2] == 3);
    ox_topk(ONYX_DTYPE_FLOAT, false, 1, 6, 1, 3, x, v, idx, scratch, 1);
    CHECK(idx[0] == 5 && idx[1] == 2 && idx[2] == 4);
    const uint64_t u[4] = {UINT64_MAX, 1, UINT64_MAX - 1, 0};
    uint64_t uv[2];
    ox_topk(ONYX_DTYPE_UINT64, true, 1, 4, 1, 2, u, uv, idx, scratch, 1);
    CHECK(uv[0] == UINT64_MAX && uv[1] == UINT64_MAX - 1 && idx[1] == 2);

    /* pivoting flips the sign; a singular matrix gives exactly 0 */
    const double swap[4] = {0, 1, 1, 0}, sing[9] = {1, 2, 3, 2, 4, 6, 1, 0, 1};
    double dy, a[9];
    ox_det(ONYX_DTYPE_DOUBLE, 1, 2, swap, &dy, a, 1);
    CHECK(dy == -1);
    ox_det(ONYX_DTYPE_DOUBLE, 1, 3, sing, &dy, a, 1);
    CHECK(dy == 0);
}

/* ---- op error paths ---------------------------------------------------------------------- */

static void test_reduce_errors(void)
{
    op_case k;
    float x[6] = {0}, y[6];
    const int64_t d[2] = {2, 3}, one[1] = {2};
    int64_t axes[2] = {1, -1};

    oc_init(&k, "ReduceSum", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d, x);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, one, axes);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "repeated"));
    axes[1] = 2;
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "out of range"));
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, one, NULL); /* axes not known before run */
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "input 1"));
    oc_free(&k);

    int32_t xi[6] = {0};
    oc_init(&k, "ReduceLogSum", 1);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 2, d, xi);
    CHECK(oc_call(&k, 18, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "int32"));
    oc_free(&k);

    /* keepdims=0 and noop over an empty axes input */
    oc_init(&k, "ReduceMax", 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d, (float[6]){1, 9, 3, 4, 5, 6});
    oc_attr_int(&k, "keepdims", 0);
    CHECK(oc_call(&k, 18, y, sizeof y) == ONYX_OK && k.out.rank == 0 && y[0] == 9);
    oc_attr_int(&k, "noop_with_empty_axes", 1);
    CHECK(oc_call(&k, 18, y, sizeof y) == ONYX_OK && k.out.rank == 2 && y[1] == 9);
    oc_free(&k);

    const int64_t empty[2] = {2, 0};
    oc_init(&k, "ArgMax", 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, empty, NULL);
    oc_attr_int(&k, "axis", 1);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "size 0"));
    oc_free(&k);
}

static void test_other_errors(void)
{
    op_case k;
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    const int64_t d[2] = {2, 3}, two[1] = {2}, d1[1] = {1};

    int64_t ax[2] = {0, 1};
    oc_init(&k, "CumSum", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d, x);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, two, ax);
    CHECK(oc_call(&k, 14, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "scalar"));
    ax[0] = -3;
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d1, ax);
    CHECK(oc_call(&k, 14, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "out of range"));
    ax[0] = -1;
    CHECK(oc_call(&k, 14, y, sizeof y) == ONYX_OK && y[2] == 6 && y[5] == 15);
    oc_free(&k);

    int64_t kk = 4;
    oc_init(&k, "TopK", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d, x);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d1, &kk);
    CHECK(oc_call(&k, 11, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "k = 4"));
    kk = -1;
    CHECK(oc_call(&k, 11, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "out of range"));
    kk = 2; /* the indices output is omitted: they go to scratch */
    CHECK(oc_call(&k, 11, y, sizeof y) == ONYX_OK && y[0] == 3 && y[1] == 2 && y[3] == 5);
    oc_free(&k);

    oc_init(&k, "Det", 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d, x);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "square"));
    oc_in(&k, 0, ONYX_DTYPE_INT32, 2, d, x);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_UNSUPPORTED);
    oc_free(&k);

    oc_init(&k, "LogSoftmax", 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d, x);
    oc_attr_int(&k, "axis", 2);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "axis 2"));
    CHECK(oc_call(&k, 11, y, sizeof y) == ONYX_OK); /* coerced: axis == rank is allowed */
    oc_free(&k);
}

static void test_einsum(void)
{
    op_case k;
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, y[16];
    const int64_t d23[2] = {2, 3}, d32[2] = {3, 2}, d22[2] = {2, 2};
    static const struct {
        const char *eq;
        int n_in;
        onyx_status st;
        const char *msg;
    } bad[] = {
        {"ij,jk->ik!", 2, ONYX_E_ARG, "invalid character"},
        {"ij->ik", 1, ONYX_E_ARG, "'k' is not in any input"},
        {"ij,jk,kl->il", 2, ONYX_E_ARG, "more terms"},
        {"ij", 2, ONYX_E_ARG, "fewer terms"},
        {"ijk,jk", 2, ONYX_E_SHAPE, "rank 2"},
        {"ij,ik", 2, ONYX_E_SHAPE, "does not match"},
        {"i..j,jk", 2, ONYX_E_ARG, "ellipsis"},
        {"ij,jk->ii", 2, ONYX_E_ARG, "repeats"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        oc_init(&k, "Einsum", bad[i].n_in);
        oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, a);
        oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, d32, b);
        oc_attr_str(&k, "equation", bad[i].eq);
        onyx_status st = oc_call(&k, 12, y, sizeof y);
        CHECK_MSG(st == bad[i].st && oc_msg_has(&k, bad[i].msg), "%s: %d %s", bad[i].eq, st, k.msg);
        oc_free(&k);
    }

    /* a matrix product, a trace-like diagonal sum and an implicit transpose */
    oc_init(&k, "Einsum", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, a);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, d32, b);
    oc_attr_str(&k, "equation", "ij,jk");
    CHECK(oc_call(&k, 12, y, sizeof y) == ONYX_OK && k.out.rank == 2 &&
          k.out.dims[0] == 2 && k.out.dims[1] == 2 && y[0] == 4 && y[1] == 5 && y[3] == 11);
    oc_free(&k);
    oc_init(&k, "Einsum", 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d22, a);
    oc_attr_str(&k, "equation", "ii");
    CHECK(oc_call(&k, 12, y, sizeof y) == ONYX_OK && k.out.rank == 0 && y[0] == 5);
    oc_free(&k);
    int32_t ia[6] = {INT32_MAX, 1, 0, 0, 0, 0}, iy[6];
    oc_init(&k, "Einsum", 1);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 2, d23, ia);
    oc_attr_str(&k, "equation", "ij->");
    CHECK(oc_call(&k, 12, iy, sizeof iy) == ONYX_OK && iy[0] == INT32_MIN);
    k.node.n_attr = 0;
    oc_attr_str(&k, "equation", "ba");
    CHECK(oc_call(&k, 12, iy, sizeof iy) == ONYX_OK && k.out.dims[0] == 3 && iy[1] == 0 &&
          iy[2] == 1);
    oc_free(&k);
}

int main(void)
{
    test_reduce_integers();
    test_reduce_floats();
    test_thread_independence();
    test_arg_and_scan();
    test_topk_and_det();
    test_reduce_errors();
    test_other_errors();
    test_einsum();
    return check_report("reduce");
}
