/* test_scatter.c — the scatter and select families driven directly through their registry
 * rows: out-of-range indices fail with ONYX_E_ARG naming the node (never touching memory
 * outside the tensors), reductions wrap exactly, data-dependent shapes are inferred from
 * values, and ops whose shape needs an unknown value ask for it. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op.h"

/* ---- a one-node harness ------------------------------------------------------------------ */

typedef struct harness {
    ox_node node;
    ox_attr attrs[4];
    onyx_tensor in[4], out[4];
    onyx_tensor *in_ptrs[4], *out_ptrs[4];
    void *scratch;
    char msg[256];
    ox_ctx c;
    ox_pool strings;
} harness;

static void h_init(harness *h, const char *op, int opset, int n_in, int n_out)
{
    memset(h, 0, sizeof *h);
    h->node.name = "n1";
    h->node.op_type = op;
    h->node.domain = "";
    h->node.opset = opset;
    h->node.op = ox_op_find("", op, opset);
    h->node.n_in = n_in;
    h->node.n_out = n_out;
    h->node.attr = h->attrs;
    for (int i = 0; i < 4; i++) {
        h->in_ptrs[i] = i < n_in ? &h->in[i] : NULL;
        h->out_ptrs[i] = i < n_out ? &h->out[i] : NULL;
    }
    ox_pool_init(&h->strings, ox_allocator_make(NULL, NULL), 0);
    h->c.node = &h->node;
    h->c.opset = opset;
    h->c.n_in = n_in;
    h->c.n_out = n_out;
    h->c.in = h->in_ptrs;
    h->c.out = h->out_ptrs;
    h->c.threads = 1;
    h->c.msg = h->msg;
    h->c.msg_cap = sizeof h->msg;
    h->c.need_value = -1;
    h->c.strings = &h->strings;
}

static void h_int_attr(harness *h, const char *name, int64_t v)
{
    ox_attr *a = &h->attrs[h->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_INT;
    a->i = v;
}

static void h_str_attr(harness *h, const char *name, const char *s)
{
    ox_attr *a = &h->attrs[h->node.n_attr++];
    a->name = name;
    a->type = OX_ATTR_STRING;
    a->s = s;
    a->s_len = strlen(s);
}

static void h_in(harness *h, int i, onyx_dtype t, int rank, const int64_t *dims, void *data)
{
    h->in[i].dtype = t;
    h->in[i].rank = rank;
    for (int k = 0; k < rank; k++) h->in[i].dims[k] = dims[k];
    h->in[i].data = data;
}

/* infer, then allocate outputs and scratch, then run; returns the first failure. */
static onyx_status h_run(harness *h)
{
    if (!h->node.op) return ONYX_E_UNSUPPORTED;
    onyx_status st = h->node.op->infer(&h->c);
    if (st) return st;
    for (int k = 0; k < h->node.n_out; k++) {
        size_t bytes;
        if (!ox_shape_bytes(h->out[k].dtype, h->out[k].rank, h->out[k].dims, &bytes)) return ONYX_E_SHAPE;
        h->out[k].data = calloc(1, bytes + 1);
    }
    if (h->c.scratch_bytes) h->scratch = h->c.scratch = malloc(h->c.scratch_bytes);
    return h->node.op->run(&h->c);
}

static void h_free(harness *h)
{
    for (int k = 0; k < h->node.n_out; k++) free(h->out[k].data);
    free(h->scratch);
    ox_pool_release(&h->strings);
}

static bool names_node(const harness *h) { return strstr(h->msg, "node 'n1'") != NULL; }

/* ---- out-of-range indices ---------------------------------------------------------------- */

static void test_gather_elements_range(void)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    int64_t dd[2] = {2, 3}, id[2] = {2, 2};
    int64_t good[4] = {0, -1, 2, -3}, bad[4] = {0, 1, 3, 0}, neg[4] = {0, -4, 0, 0};
    harness h;
    h_init(&h, "GatherElements", 13, 2, 1);
    h_int_attr(&h, "axis", 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, good);
    CHECK(h_run(&h) == ONYX_OK);
    float *y = h.out[0].data;
    CHECK(y[0] == 1 && y[1] == 3 && y[2] == 6 && y[3] == 4);
    h_free(&h);

    int64_t *cases[2] = {bad, neg};
    for (int k = 0; k < 2; k++) {
        h_init(&h, "GatherElements", 13, 2, 1);
        h_int_attr(&h, "axis", 1);
        h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, dd, data);
        h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, cases[k]);
        CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h) && strstr(h.msg, "out of range"), "%s", h.msg);
        h_free(&h);
    }
    /* indices larger than data on a non-gathered axis are a shape error at infer */
    int64_t big[2] = {3, 1}, zeros[3] = {0, 0, 0};
    h_init(&h, "GatherElements", 13, 2, 1);
    h_int_attr(&h, "axis", 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, big, zeros);
    CHECK(h_run(&h) == ONYX_E_SHAPE && names_node(&h));
    h_free(&h);
}

static void test_scatter_elements_range(void)
{
    float data[4] = {0, 0, 0, 0}, upd[2] = {1, 2};
    int64_t dd[1] = {4}, id[1] = {2};
    int32_t bad[2] = {1, 4}, good[2] = {-1, -4};
    const char *ops[2] = {"ScatterElements", "Scatter"};
    for (int o = 0; o < 2; o++) {
        harness h;
        h_init(&h, ops[o], o ? 10 : 18, 3, 1);
        h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, dd, data);
        h_in(&h, 1, ONYX_DTYPE_INT32, 1, id, bad);
        h_in(&h, 2, ONYX_DTYPE_FLOAT, 1, id, upd);
        CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h), "%s", h.msg);
        h_free(&h);
        h_init(&h, ops[o], o ? 10 : 18, 3, 1);
        h_in(&h, 0, ONYX_DTYPE_FLOAT, 1, dd, data);
        h_in(&h, 1, ONYX_DTYPE_INT32, 1, id, good);
        h_in(&h, 2, ONYX_DTYPE_FLOAT, 1, id, upd);
        CHECK(h_run(&h) == ONYX_OK);
        float *y = h.out[0].data;
        CHECK(y[0] == 2 && y[1] == 0 && y[2] == 0 && y[3] == 1);
        h_free(&h);
    }
}

static void test_gather_nd_range(void)
{
    int32_t data[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t dd[3] = {2, 2, 2}, id[2] = {2, 1};
    int64_t good[2] = {1, -2}, bad[2] = {1, 2};
    harness h;
    h_init(&h, "GatherND", 13, 2, 1);
    h_int_attr(&h, "batch_dims", 1);
    h_in(&h, 0, ONYX_DTYPE_INT32, 3, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, good);
    CHECK(h_run(&h) == ONYX_OK);
    int32_t *y = h.out[0].data;
    CHECK(h.out[0].rank == 2 && h.out[0].dims[0] == 2 && h.out[0].dims[1] == 2);
    CHECK(y[0] == 2 && y[1] == 3 && y[2] == 4 && y[3] == 5);
    h_free(&h);

    h_init(&h, "GatherND", 13, 2, 1);
    h_int_attr(&h, "batch_dims", 1);
    h_in(&h, 0, ONYX_DTYPE_INT32, 3, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, bad);
    CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h) && strstr(h.msg, "axis 1"), "%s", h.msg);
    h_free(&h);

    /* tuples longer than the indexable dims are a shape error */
    int64_t long_tuple[2] = {1, 3}, z[3] = {0, 0, 0};
    h_init(&h, "GatherND", 13, 2, 1);
    h_int_attr(&h, "batch_dims", 1);
    h_in(&h, 0, ONYX_DTYPE_INT32, 3, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, long_tuple, z);
    CHECK(h_run(&h) == ONYX_E_SHAPE && names_node(&h));
    h_free(&h);
}

static void test_scatter_nd(void)
{
    int8_t data[4] = {100, 1, 2, 3}, upd[2] = {100, 7};
    int64_t dd[1] = {4}, id[2] = {2, 1}, ud[1] = {2};
    int64_t dup[2] = {0, -4}, bad[2] = {0, -5};
    harness h;
    /* add wraps in the element type: 100 + 100 + 7 = 207 -> -49 as int8 */
    h_init(&h, "ScatterND", 16, 3, 1);
    h_str_attr(&h, "reduction", "add");
    h_in(&h, 0, ONYX_DTYPE_INT8, 1, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, dup);
    h_in(&h, 2, ONYX_DTYPE_INT8, 1, ud, upd);
    CHECK(h_run(&h) == ONYX_OK);
    int8_t *y = h.out[0].data;
    CHECK(y[0] == -49 && y[1] == 1 && y[3] == 3);
    h_free(&h);

    h_init(&h, "ScatterND", 16, 3, 1);
    h_in(&h, 0, ONYX_DTYPE_INT8, 1, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, bad);
    h_in(&h, 2, ONYX_DTYPE_INT8, 1, ud, upd);
    CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h) && strstr(h.msg, "-5"), "%s", h.msg);
    h_free(&h);

    /* max is defined from opset 18 only */
    h_init(&h, "ScatterND", 16, 3, 1);
    h_str_attr(&h, "reduction", "max");
    h_in(&h, 0, ONYX_DTYPE_INT8, 1, dd, data);
    h_in(&h, 1, ONYX_DTYPE_INT64, 2, id, dup);
    h_in(&h, 2, ONYX_DTYPE_INT8, 1, ud, upd);
    CHECK(h_run(&h) == ONYX_E_ARG && names_node(&h));
    h_free(&h);
}

static void test_tensor_scatter(void)
{
    float past[8] = {0}, upd[4] = {1, 2, 3, 4};
    int64_t pd[3] = {2, 4, 1}, ud[3] = {2, 2, 1}, wd[1] = {2};
    int64_t fits[2] = {2, 0}, overflow[2] = {3, 0}, wrap[2] = {3, -1};
    harness h;
    h_init(&h, "TensorScatter", 24, 3, 1);
    h_int_attr(&h, "axis", 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, pd, past);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, ud, upd);
    h_in(&h, 2, ONYX_DTYPE_INT64, 1, wd, fits);
    CHECK(h_run(&h) == ONYX_OK);
    float *y = h.out[0].data;
    CHECK(y[2] == 1 && y[3] == 2 && y[4] == 3 && y[5] == 4 && y[0] == 0);
    h_free(&h);

    h_init(&h, "TensorScatter", 24, 3, 1);
    h_int_attr(&h, "axis", 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, pd, past);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, ud, upd);
    h_in(&h, 2, ONYX_DTYPE_INT64, 1, wd, overflow);
    CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h), "%s", h.msg);
    h_free(&h);

    h_init(&h, "TensorScatter", 24, 3, 1);
    h_int_attr(&h, "axis", 1);
    h_str_attr(&h, "mode", "circular");
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 3, pd, past);
    h_in(&h, 1, ONYX_DTYPE_FLOAT, 3, ud, upd);
    h_in(&h, 2, ONYX_DTYPE_INT64, 1, wd, wrap);
    CHECK(h_run(&h) == ONYX_OK);
    y = h.out[0].data;
    CHECK(y[3] == 1 && y[0] == 2 && y[7] == 3 && y[4] == 4);
    h_free(&h);
}

static void test_reverse_sequence_range(void)
{
    float x[6] = {0, 1, 2, 3, 4, 5};
    int64_t xd[2] = {3, 2}, ld[1] = {2}, bad[2] = {3, 4}, good[2] = {3, 0};
    harness h;
    h_init(&h, "ReverseSequence", 10, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, ld, bad);
    CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h), "%s", h.msg);
    h_free(&h);
    h_init(&h, "ReverseSequence", 10, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    h_in(&h, 1, ONYX_DTYPE_INT64, 1, ld, good);
    CHECK(h_run(&h) == ONYX_OK);
    float *y = h.out[0].data;
    CHECK(y[0] == 4 && y[2] == 2 && y[4] == 0 && y[1] == 1 && y[3] == 3 && y[5] == 5);
    h_free(&h);
}

/* ---- value-dependent shapes -------------------------------------------------------------- */

static void test_compress(void)
{
    float x[4] = {1, 2, 3, 4};
    uint8_t past_end[3] = {0, 0, 1}, ok[3] = {1, 0, 0};
    int64_t xd[2] = {2, 2}, cd[1] = {3};
    harness h;
    h_init(&h, "Compress", 11, 2, 1);
    h_int_attr(&h, "axis", 0);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    h_in(&h, 1, ONYX_DTYPE_BOOL, 1, cd, past_end);
    CHECK_MSG(h_run(&h) == ONYX_E_ARG && names_node(&h), "%s", h.msg);
    h_free(&h);
    /* a condition longer than the axis is fine when the extra entries are false */
    h_init(&h, "Compress", 11, 2, 1);
    h_int_attr(&h, "axis", -1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    h_in(&h, 1, ONYX_DTYPE_BOOL, 1, cd, ok);
    CHECK(h_run(&h) == ONYX_OK);
    float *y = h.out[0].data;
    CHECK(h.out[0].dims[0] == 2 && h.out[0].dims[1] == 1 && y[0] == 1 && y[1] == 3);
    h_free(&h);
    /* an unknown condition stops infer and names the input it needs */
    h_init(&h, "Compress", 11, 2, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    h_in(&h, 1, ONYX_DTYPE_BOOL, 1, cd, NULL);
    CHECK(h.node.op->infer(&h.c) == ONYX_E_UNSUPPORTED && h.c.need_value == 1);
    h_free(&h);
}

static void test_nonzero(void)
{
    float x[6] = {0, -0.0f, 3, 0, 0, 1};
    int64_t xd[2] = {2, 3};
    harness h;
    h_init(&h, "NonZero", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, NULL);
    CHECK(h.node.op->infer(&h.c) == ONYX_E_UNSUPPORTED && h.c.need_value == 0);
    h_free(&h);
    h_init(&h, "NonZero", 13, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_FLOAT, 2, xd, x);
    CHECK(h_run(&h) == ONYX_OK);
    int64_t *y = h.out[0].data;
    CHECK(h.out[0].dims[0] == 2 && h.out[0].dims[1] == 2);
    CHECK(y[0] == 0 && y[1] == 1 && y[2] == 2 && y[3] == 2);
    h_free(&h);
}

/* More values than one infer block, so counting crosses blocks. */
static void test_unique_blocks(void)
{
    enum { N = 1500, DISTINCT = 700 };
    static int64_t x[N];
    for (int i = 0; i < N; i++) x[i] = (int64_t)((i * 7919) % DISTINCT) - 300;
    int64_t xd[1] = {N};
    for (int sorted = 0; sorted < 2; sorted++) {
        harness h;
        h_init(&h, "Unique", 11, 1, 4);
        h_int_attr(&h, "sorted", sorted);
        h_in(&h, 0, ONYX_DTYPE_INT64, 1, xd, x);
        CHECK(h_run(&h) == ONYX_OK);
        CHECK(h.out[0].dims[0] == DISTINCT && h.out[2].dims[0] == N);
        const int64_t *y = h.out[0].data, *idx = h.out[1].data, *inv = h.out[2].data, *cnt = h.out[3].data;
        bool ok = true;
        int64_t total = 0;
        for (int g = 0; g < DISTINCT; g++) {
            ok &= x[idx[g]] == y[g];
            if (g) ok &= sorted ? y[g - 1] < y[g] : idx[g - 1] < idx[g];
            total += cnt[g];
        }
        for (int i = 0; i < N; i++) ok &= y[inv[i]] == x[i];
        CHECK(ok && total == N);
        h_free(&h);
    }
}

static void test_onehot(void)
{
    int64_t ind[4] = {1, -1, 5, -4}, id[1] = {4}, one = 3, vd[1] = {2};
    float values[2] = {0, 9};
    int opsets[2] = {9, 11};
    for (int o = 0; o < 2; o++) {
        harness h;
        h_init(&h, "OneHot", opsets[o], 3, 1);
        h_in(&h, 0, ONYX_DTYPE_INT64, 1, id, ind);
        h_in(&h, 1, ONYX_DTYPE_INT64, 0, NULL, &one);
        h_in(&h, 2, ONYX_DTYPE_FLOAT, 1, vd, values);
        CHECK(h_run(&h) == ONYX_OK);
        const float *y = h.out[0].data;
        CHECK(h.out[0].dims[0] == 4 && h.out[0].dims[1] == 3);
        /* out-of-range indices are all off; negative ones count from the end since opset 11 */
        CHECK(y[1] == 9 && y[0] == 0 && y[2] == 0);
        CHECK(y[5] == (o ? 9 : 0) && y[3] == 0 && y[4] == 0);
        CHECK(y[6] == 0 && y[7] == 0 && y[8] == 0 && y[9] == 0 && y[10] == 0 && y[11] == 0);
        h_free(&h);
    }
}

static void test_trilu_strings(void)
{
    const char *x[4] = {"a", "b", "c", "d"};
    int64_t xd[2] = {2, 2};
    harness h;
    h_init(&h, "Trilu", 14, 1, 1);
    h_in(&h, 0, ONYX_DTYPE_STRING, 2, xd, (void *)x);
    CHECK(h_run(&h) == ONYX_OK);
    char **y = h.out[0].data;
    CHECK(!strcmp(y[0], "a") && !strcmp(y[1], "b") && !strcmp(y[2], "") && !strcmp(y[3], "d"));
    h_free(&h);
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
