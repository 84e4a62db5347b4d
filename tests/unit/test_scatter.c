/* test_scatter.c — the scatter and select families driven directly through their registry
 * rows: out-of-range indices fail with ONYX_E_ARG naming the node (never touching memory
 * outside the tensors), reductions wrap exactly, data-dependent shapes are inferred from
 * values, and ops whose shape needs an unknown value ask for it. */
#include <string.h>

#include "check.h"
#include "op_harness.h"

/* ---- out-of-range indices ---------------------------------------------------------------- */

static void test_gather_elements_range(void)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    int64_t dd[2] = {2, 3}, id[2] = {2, 2};
    int64_t good[4] = {0, -1, 2, -3}, bad[4] = {0, 1, 3, 0}, neg[4] = {0, -4, 0, 0};
    op_case h;
    oc_init_n(&h, "GatherElements", 2, 1);
    oc_attr_int(&h, "axis", 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, good);
    CHECK(oc_run(&h, 13) == ONYX_OK);
    float *y = h.outs[0].data;
    CHECK(y[0] == 1 && y[1] == 3 && y[2] == 6 && y[3] == 4);
    oc_free(&h);

    int64_t *cases[2] = {bad, neg};
    for (int k = 0; k < 2; k++) {
        oc_init_n(&h, "GatherElements", 2, 1);
        oc_attr_int(&h, "axis", 1);
        oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, dd, data);
        oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, cases[k]);
        CHECK_MSG(oc_run(&h, 13) == ONYX_E_ARG && oc_msg_has(&h, "out of range"), "%s", h.msg);
        oc_free(&h);
    }
    /* indices larger than data on a non-gathered axis are a shape error at infer */
    int64_t big[2] = {3, 1}, zeros[3] = {0, 0, 0};
    oc_init_n(&h, "GatherElements", 2, 1);
    oc_attr_int(&h, "axis", 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, big, zeros);
    CHECK(oc_run(&h, 13) == ONYX_E_SHAPE && oc_msg_has(&h, "node 'n1'"));
    oc_free(&h);
}

static void test_scatter_elements_range(void)
{
    float data[4] = {0, 0, 0, 0}, upd[2] = {1, 2};
    int64_t dd[1] = {4}, id[1] = {2};
    int32_t bad[2] = {1, 4}, good[2] = {-1, -4};
    const char *ops[2] = {"ScatterElements", "Scatter"};
    for (int o = 0; o < 2; o++) {
        op_case h;
        oc_init_n(&h, ops[o], 3, 1);
        oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, dd, data);
        oc_in(&h, 1, ONYX_DTYPE_INT32, 1, id, bad);
        oc_in(&h, 2, ONYX_DTYPE_FLOAT, 1, id, upd);
        CHECK_MSG(oc_run(&h, o ? 10 : 18) == ONYX_E_ARG && oc_msg_has(&h, "node 'n1'"), "%s", h.msg);
        oc_free(&h);
        oc_init_n(&h, ops[o], 3, 1);
        oc_in(&h, 0, ONYX_DTYPE_FLOAT, 1, dd, data);
        oc_in(&h, 1, ONYX_DTYPE_INT32, 1, id, good);
        oc_in(&h, 2, ONYX_DTYPE_FLOAT, 1, id, upd);
        CHECK(oc_run(&h, o ? 10 : 18) == ONYX_OK);
        float *y = h.outs[0].data;
        CHECK(y[0] == 2 && y[1] == 0 && y[2] == 0 && y[3] == 1);
        oc_free(&h);
    }
}

static void test_gather_nd_range(void)
{
    int32_t data[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t dd[3] = {2, 2, 2}, id[2] = {2, 1};
    int64_t good[2] = {1, -2}, bad[2] = {1, 2};
    op_case h;
    oc_init_n(&h, "GatherND", 2, 1);
    oc_attr_int(&h, "batch_dims", 1);
    oc_in(&h, 0, ONYX_DTYPE_INT32, 3, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, good);
    CHECK(oc_run(&h, 13) == ONYX_OK);
    int32_t *y = h.outs[0].data;
    CHECK(h.outs[0].rank == 2 && h.outs[0].dims[0] == 2 && h.outs[0].dims[1] == 2);
    CHECK(y[0] == 2 && y[1] == 3 && y[2] == 4 && y[3] == 5);
    oc_free(&h);

    oc_init_n(&h, "GatherND", 2, 1);
    oc_attr_int(&h, "batch_dims", 1);
    oc_in(&h, 0, ONYX_DTYPE_INT32, 3, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, bad);
    CHECK_MSG(oc_run(&h, 13) == ONYX_E_ARG && oc_msg_has(&h, "axis 1"), "%s", h.msg);
    oc_free(&h);

    /* tuples longer than the indexable dims are a shape error */
    int64_t long_tuple[2] = {1, 3}, z[3] = {0, 0, 0};
    oc_init_n(&h, "GatherND", 2, 1);
    oc_attr_int(&h, "batch_dims", 1);
    oc_in(&h, 0, ONYX_DTYPE_INT32, 3, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, long_tuple, z);
    CHECK(oc_run(&h, 13) == ONYX_E_SHAPE && oc_msg_has(&h, "node 'n1'"));
    oc_free(&h);
}

static void test_scatter_nd(void)
{
    int8_t data[4] = {100, 1, 2, 3}, upd[2] = {100, 7};
    int64_t dd[1] = {4}, id[2] = {2, 1}, ud[1] = {2};
    int64_t dup[2] = {0, -4}, bad[2] = {0, -5};
    op_case h;
    /* add wraps in the element type: 100 + 100 + 7 = 207 -> -49 as int8 */
    oc_init_n(&h, "ScatterND", 3, 1);
    oc_attr_str(&h, "reduction", "add");
    oc_in(&h, 0, ONYX_DTYPE_INT8, 1, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, dup);
    oc_in(&h, 2, ONYX_DTYPE_INT8, 1, ud, upd);
    CHECK(oc_run(&h, 16) == ONYX_OK);
    int8_t *y = h.outs[0].data;
    CHECK(y[0] == -49 && y[1] == 1 && y[3] == 3);
    oc_free(&h);

    oc_init_n(&h, "ScatterND", 3, 1);
    oc_in(&h, 0, ONYX_DTYPE_INT8, 1, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, bad);
    oc_in(&h, 2, ONYX_DTYPE_INT8, 1, ud, upd);
    CHECK_MSG(oc_run(&h, 16) == ONYX_E_ARG && oc_msg_has(&h, "-5"), "%s", h.msg);
    oc_free(&h);

    /* max is defined from opset 18 only */
    oc_init_n(&h, "ScatterND", 3, 1);
    oc_attr_str(&h, "reduction", "max");
    oc_in(&h, 0, ONYX_DTYPE_INT8, 1, dd, data);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 2, id, dup);
    oc_in(&h, 2, ONYX_DTYPE_INT8, 1, ud, upd);
    CHECK(oc_run(&h, 16) == ONYX_E_ARG && oc_msg_has(&h, "node 'n1'"));
    oc_free(&h);
}

static void test_tensor_scatter(void)
{
    float past[8] = {0}, upd[4] = {1, 2, 3, 4};
    int64_t pd[3] = {2, 4, 1}, ud[3] = {2, 2, 1}, wd[1] = {2};
    int64_t fits[2] = {2, 0}, overflow[2] = {3, 0}, wrap[2] = {3, -1};
    op_case h;
    oc_init_n(&h, "TensorScatter", 3, 1);
    oc_attr_int(&h, "axis", 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 3, pd, past);
    oc_in(&h, 1, ONYX_DTYPE_FLOAT, 3, ud, upd);
    oc_in(&h, 2, ONYX_DTYPE_INT64, 1, wd, fits);
    CHECK(oc_run(&h, 24) == ONYX_OK);
    float *y = h.outs[0].data;
    CHECK(y[2] == 1 && y[3] == 2 && y[4] == 3 && y[5] == 4 && y[0] == 0);
    oc_free(&h);

    oc_init_n(&h, "TensorScatter", 3, 1);
    oc_attr_int(&h, "axis", 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 3, pd, past);
    oc_in(&h, 1, ONYX_DTYPE_FLOAT, 3, ud, upd);
    oc_in(&h, 2, ONYX_DTYPE_INT64, 1, wd, overflow);
    CHECK_MSG(oc_run(&h, 24) == ONYX_E_ARG && oc_msg_has(&h, "node 'n1'"), "%s", h.msg);
    oc_free(&h);

    oc_init_n(&h, "TensorScatter", 3, 1);
    oc_attr_int(&h, "axis", 1);
    oc_attr_str(&h, "mode", "circular");
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 3, pd, past);
    oc_in(&h, 1, ONYX_DTYPE_FLOAT, 3, ud, upd);
    oc_in(&h, 2, ONYX_DTYPE_INT64, 1, wd, wrap);
    CHECK(oc_run(&h, 24) == ONYX_OK);
    y = h.outs[0].data;
    CHECK(y[3] == 1 && y[0] == 2 && y[7] == 3 && y[4] == 4);
    oc_free(&h);
}

static void test_reverse_sequence_range(void)
{
    float x[6] = {0, 1, 2, 3, 4, 5};
    int64_t xd[2] = {3, 2}, ld[1] = {2}, bad[2] = {3, 4}, good[2] = {3, 0};
    op_case h;
    oc_init_n(&h, "ReverseSequence", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, ld, bad);
    CHECK_MSG(oc_run(&h, 10) == ONYX_E_ARG && oc_msg_has(&h, "node 'n1'"), "%s", h.msg);
    oc_free(&h);
    oc_init_n(&h, "ReverseSequence", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    oc_in(&h, 1, ONYX_DTYPE_INT64, 1, ld, good);
    CHECK(oc_run(&h, 10) == ONYX_OK);
    float *y = h.outs[0].data;
    CHECK(y[0] == 4 && y[2] == 2 && y[4] == 0 && y[1] == 1 && y[3] == 3 && y[5] == 5);
    oc_free(&h);
}

/* ---- value-dependent shapes -------------------------------------------------------------- */

static void test_compress(void)
{
    float x[4] = {1, 2, 3, 4};
    uint8_t past_end[3] = {0, 0, 1}, ok[3] = {1, 0, 0};
    int64_t xd[2] = {2, 2}, cd[1] = {3};
    op_case h;
    oc_init_n(&h, "Compress", 2, 1);
    oc_attr_int(&h, "axis", 0);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    oc_in(&h, 1, ONYX_DTYPE_BOOL, 1, cd, past_end);
    CHECK_MSG(oc_run(&h, 11) == ONYX_E_ARG && oc_msg_has(&h, "node 'n1'"), "%s", h.msg);
    oc_free(&h);
    /* a condition longer than the axis is fine when the extra entries are false */
    oc_init_n(&h, "Compress", 2, 1);
    oc_attr_int(&h, "axis", -1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    oc_in(&h, 1, ONYX_DTYPE_BOOL, 1, cd, ok);
    CHECK(oc_run(&h, 11) == ONYX_OK);
    float *y = h.outs[0].data;
    CHECK(h.outs[0].dims[0] == 2 && h.outs[0].dims[1] == 1 && y[0] == 1 && y[1] == 3);
    oc_free(&h);
    /* an unknown condition stops infer and names the input it needs */
    oc_init_n(&h, "Compress", 2, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    oc_in(&h, 1, ONYX_DTYPE_BOOL, 1, cd, NULL);
    CHECK(oc_infer(&h, 11) == ONYX_E_UNSUPPORTED && h.need_value == 1);
    oc_free(&h);
}

static void test_nonzero(void)
{
    float x[6] = {0, -0.0f, 3, 0, 0, 1};
    int64_t xd[2] = {2, 3};
    op_case h;
    oc_init_n(&h, "NonZero", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, NULL);
    CHECK(oc_infer(&h, 13) == ONYX_E_UNSUPPORTED && h.need_value == 0);
    oc_free(&h);
    oc_init_n(&h, "NonZero", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    CHECK(oc_run(&h, 13) == ONYX_OK);
    int64_t *y = h.outs[0].data;
    CHECK(h.outs[0].dims[0] == 2 && h.outs[0].dims[1] == 2);
    CHECK(y[0] == 0 && y[1] == 1 && y[2] == 2 && y[3] == 2);
    oc_free(&h);
}

/* More values than one infer block, so counting crosses blocks. */
static void test_unique_blocks(void)
{
    enum { N = 1500, DISTINCT = 700 };
    static int64_t x[N];
    for (int i = 0; i < N; i++) x[i] = (int64_t)((i * 7919) % DISTINCT) - 300;
    int64_t xd[1] = {N};
    for (int sorted = 0; sorted < 2; sorted++) {
        op_case h;
        oc_init_n(&h, "Unique", 1, 4);
        oc_attr_int(&h, "sorted", sorted);
        oc_in(&h, 0, ONYX_DTYPE_INT64, 1, xd, x);
        CHECK(oc_run(&h, 11) == ONYX_OK);
        CHECK(h.outs[0].dims[0] == DISTINCT && h.outs[2].dims[0] == N);
        const int64_t *y = h.outs[0].data, *idx = h.outs[1].data, *inv = h.outs[2].data, *cnt = h.outs[3].data;
        bool ok = true;
        int64_t total = 0;
        for (int g = 0; g < DISTINCT; g++) {
            ok &= x[idx[g]] == y[g];
            if (g) ok &= sorted ? y[g - 1] < y[g] : idx[g - 1] < idx[g];
            total += cnt[g];
        }
        for (int i = 0; i < N; i++) ok &= y[inv[i]] == x[i];
        CHECK(ok && total == N);
        oc_free(&h);
    }
}

static void test_onehot(void)
{
    int64_t ind[4] = {1, -1, 5, -4}, id[1] = {4}, one = 3, vd[1] = {2};
    float values[2] = {0, 9};
    int opsets[2] = {9, 11};
    for (int o = 0; o < 2; o++) {
        op_case h;
        oc_init_n(&h, "OneHot", 3, 1);
        oc_in(&h, 0, ONYX_DTYPE_INT64, 1, id, ind);
        oc_in(&h, 1, ONYX_DTYPE_INT64, 0, NULL, &one);
        oc_in(&h, 2, ONYX_DTYPE_FLOAT, 1, vd, values);
        CHECK(oc_run(&h, opsets[o]) == ONYX_OK);
        const float *y = h.outs[0].data;
        CHECK(h.outs[0].dims[0] == 4 && h.outs[0].dims[1] == 3);
        /* out-of-range indices are all off; negative ones count from the end since opset 11 */
        CHECK(y[1] == 9 && y[0] == 0 && y[2] == 0);
        CHECK(y[5] == (o ? 9 : 0) && y[3] == 0 && y[4] == 0);
        CHECK(y[6] == 0 && y[7] == 0 && y[8] == 0 && y[9] == 0 && y[10] == 0 && y[11] == 0);
        oc_free(&h);
    }
}

static void test_trilu_strings(void)
{
    const char *x[4] = {"a", "b", "c", "d"};
    int64_t xd[2] = {2, 2};
    op_case h;
    oc_init_n(&h, "Trilu", 1, 1);
    oc_in(&h, 0, ONYX_DTYPE_STRING, 2, xd, (void *)x);
    CHECK(oc_run(&h, 14) == ONYX_OK);
    char **y = h.outs[0].data;
    CHECK(!strcmp(y[0], "a") && !strcmp(y[1], "b") && !strcmp(y[2], "") && !strcmp(y[3], "d"));
    oc_free(&h);
}

int main(void)
{
    test_gather_elements_range();
    test_scatter_elements_range();
    test_gather_nd_range();
    test_scatter_nd();
    test_tensor_scatter();
    test_reverse_sequence_range();
    test_compress();
    test_nonzero();
    test_unique_blocks();
    test_onehot();
    test_trilu_strings();
    return check_report("scatter");
}
