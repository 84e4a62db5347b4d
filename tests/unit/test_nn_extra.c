/* test_nn_extra.c — the nn_extra and norm families on single nodes: small values worked out
 * by hand (including the half and double paths and several threads), the plan-time
 * selection of NonMaxSuppression, and the error paths, checking statuses and that messages
 * name the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "op.h"

/* ---- a one-node harness: up to 6 inputs, 3 outputs, any attributes ---------------------- */

#define T_IN 6
#define T_OUT 3

typedef struct tcase {
    ox_node node;
    int node_in[T_IN], node_out[T_OUT];
    ox_attr attr[8];
    onyx_tensor in[T_IN], out[T_OUT];
    onyx_tensor *in_p[T_IN], *out_p[T_OUT];
    void *scratch;
    char msg[256];
    int need_value, threads;
} tcase;

static void t_init(tcase *k, const char *op, int n_in, int n_out)
{
    memset(k, 0, sizeof *k);
    k->node.name = "n1";
    k->node.op_type = op;
    k->node.domain = "";
    k->node.n_in = n_in;
    k->node.n_out = n_out;
    k->node.in = k->node_in;
    k->node.out = k->node_out;
    k->node.attr = k->attr;
    for (int i = 0; i < T_IN; i++) k->node_in[i] = -1;
    for (int i = 0; i < n_out; i++) {
        k->node_out[i] = i;
        k->out_p[i] = &k->out[i];
    }
    k->threads = 1;
}

/* Input i (data NULL: a value not known at plan time). */
static void t_in(tcase *k, int i, onyx_dtype t, int rank, const int64_t *dims, const void *data)
{
    onyx_tensor *x = &k->in[i];
    x->dtype = t;
    x->rank = rank;
    for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
    x->data = (void *)data;
    k->node_in[i] = i;
    k->in_p[i] = x;
}

static ox_attr *t_attr(tcase *k, const char *name, ox_attr_type type)
{
    ox_attr *a = &k->attr[k->node.n_attr++];
    a->name = name;
    a->type = type;
    return a;
}

static void t_int(tcase *k, const char *name, int64_t v) { t_attr(k, name, OX_ATTR_INT)->i = v; }
static void t_float(tcase *k, const char *name, float v) { t_attr(k, name, OX_ATTR_FLOAT)->f = v; }

static void t_ints(tcase *k, const char *name, size_t n, const int64_t *v)
{
    ox_attr *a = t_attr(k, name, OX_ATTR_INTS);
    a->n = n;
    a->ints = (int64_t *)v;
}

static void t_str(tcase *k, const char *name, const char *s)
{
    ox_attr *a = t_attr(k, name, OX_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

static ox_ctx t_ctx(tcase *k, int opset)
{
    k->node.opset = opset;
    ox_ctx c = {.node = &k->node, .opset = opset, .n_in = k->node.n_in, .n_out = k->node.n_out,
                .in = k->in_p, .out = k->out_p, .threads = k->threads, .msg = k->msg,
                .msg_cap = sizeof k->msg, .need_value = -1};
    return c;
}

/* Infers, then (if run) runs into freshly allocated outputs and scratch. */
static onyx_status t_call(tcase *k, int opset, bool run)
{
    const ox_op *op = ox_op_find("", k->node.op_type, opset);
    if (!op) {
        snprintf(k->msg, sizeof k->msg, "no %s at opset %d", k->node.op_type, opset);
        return ONYX_E_UNSUPPORTED;
    }
    ox_ctx c = t_ctx(k, opset);
    k->msg[0] = 0;
    onyx_status st = op->infer(&c);
    k->need_value = c.need_value;
    if (st || !run) return st;
    for (int i = 0; i < k->node.n_out; i++)
        if (k->out_p[i]) k->out[i].data = calloc(1, ox_tensor_bytes(&k->out[i]) + 1);
    k->scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    c.scratch = k->scratch;
    return op->run(&c);
}

static onyx_status t_run(tcase *k, int opset) { return t_call(k, opset, true); }
static onyx_status t_infer(tcase *k, int opset) { return t_call(k, opset, false); }

static void t_free(tcase *k)
{
    for (int i = 0; i < T_OUT; i++) free(k->out[i].data);
    free(k->scratch);
}

static bool t_msg(const tcase *k, const char *part)
{
    return strstr(k->msg, "node 'n1'") && strstr(k->msg, part);
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-5 * (1.0 + fabs(b)); }

static const float *f32_out(const tcase *k, int i) { return k->out[i].data; }

/* ---- ConvTranspose ----------------------------------------------------------------------- */

static void test_convtranspose(void)
{
    /* 1-D, stride 2: y = [x0*w0, x0*w1, x1*w0, x1*w1] + b, in float, double and float16 */
    const int64_t dx[3] = {1, 1, 2}, dw[3] = {1, 1, 2}, db[1] = {1}, s2[1] = {2};
    const float x[2] = {1, 2}, w[2] = {3, 5}, b[1] = {0.5f};
    tcase k;
    t_init(&k, "ConvTranspose", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 1, db, b);
    t_ints(&k, "strides", 1, s2);
    k.threads = 2;
    CHECK(t_run(&k, 22) == ONYX_OK && k.out[0].dims[2] == 4);
    const float *y = f32_out(&k, 0);
    CHECK(y[0] == 3.5f && y[1] == 5.5f && y[2] == 6.5f && y[3] == 10.5f);
    t_free(&k);

    const double xd[2] = {1, 2}, wd[2] = {3, 5};
    t_init(&k, "ConvTranspose", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_DOUBLE, 3, dx, xd);
    t_in(&k, 1, ONYX_DTYPE_DOUBLE, 3, dw, wd);
    t_ints(&k, "strides", 1, s2);
    CHECK(t_run(&k, 22) == ONYX_OK);
    const double *yd = k.out[0].data;
    CHECK(yd[0] == 3 && yd[1] == 5 && yd[2] == 6 && yd[3] == 10);
    t_free(&k);

    const uint16_t xh[2] = {0x3c00, 0x4000}, wh[2] = {0x4200, 0x4500}; /* 1, 2; 3, 5 */
    t_init(&k, "ConvTranspose", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT16, 3, dx, xh);
    t_in(&k, 1, ONYX_DTYPE_FLOAT16, 3, dw, wh);
    t_ints(&k, "strides", 1, s2);
    CHECK(t_run(&k, 22) == ONYX_OK);
    const uint16_t *yh = k.out[0].data;
    CHECK(ox_f16_to_f32(yh[1]) == 5.0f && ox_f16_to_f32(yh[3]) == 10.0f);
    t_free(&k);

    /* output_shape beyond the natural size: the extra positions hold the bias */
    const int64_t os[1] = {6};
    t_init(&k, "ConvTranspose", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 1, db, b);
    t_ints(&k, "strides", 1, s2);
    t_ints(&k, "output_shape", 1, os);
    CHECK(t_run(&k, 22) == ONYX_OK && k.out[0].dims[2] == 6);
    CHECK(f32_out(&k, 0)[3] == 10.5f && f32_out(&k, 0)[4] == 0.5f && f32_out(&k, 0)[5] == 0.5f);
    t_free(&k);

    /* errors: W rows must match X's channels; output_shape length; pads past the output */
    const int64_t dw2[3] = {2, 1, 2}, big_pads[2] = {3, 2}, os3[3] = {1, 2, 3};
    t_init(&k, "ConvTranspose", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw2, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "channels"));
    t_init(&k, "ConvTranspose", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    t_ints(&k, "output_shape", 2, os3);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "output_shape"));
    t_init(&k, "ConvTranspose", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    t_ints(&k, "pads", 2, big_pads);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "pads"));
    t_init(&k, "ConvTranspose", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_DOUBLE, 3, dw, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "dtype"));
}

/* ---- DeformConv --------------------------------------------------------------------------- */

static void test_deform_conv(void)
{
    /* a 1x1 kernel on a row of 3: an offset of +0.5 samples between neighbours, one past the
     * end reads zeros, and the mask scales */
    const int64_t dx[3] = {1, 1, 3}, dw[3] = {1, 1, 1}, doff[3] = {1, 1, 3}, dm[3] = {1, 1, 3};
    const float x[3] = {2, 4, 8}, w[1] = {10}, off[3] = {0.5f, 0.0f, 1.0f}, mask[3] = {1, 0.5f, 1};
    tcase k;
    t_init(&k, "DeformConv", 5, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, doff, off);
    t_in(&k, 4, ONYX_DTYPE_FLOAT, 3, dm, mask);
    CHECK(t_run(&k, 22) == ONYX_OK);
    const float *y = f32_out(&k, 0);
    CHECK(near(y[0], 30) && near(y[1], 20) && near(y[2], 0));
    t_free(&k);

    /* the offset tensor must be [N, offset_group * taps * dims, out...] */
    const int64_t bad[3] = {1, 2, 3};
    t_init(&k, "DeformConv", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, bad, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "offset"));
    t_init(&k, "DeformConv", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 3, doff, NULL);
    t_int(&k, "offset_group", 2);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "offset_group"));
}

/* ---- pools ----------------------------------------------------------------------------------- */

static void test_pools(void)
{
    const int64_t dx[3] = {1, 1, 4}, k2[1] = {2};
    const float x[4] = {3, -4, 0, 1};
    tcase k;
    t_init(&k, "LpPool", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_ints(&k, "kernel_shape", 1, k2);
    t_ints(&k, "strides", 1, k2);
    CHECK(t_run(&k, 22) == ONYX_OK && k.out[0].dims[2] == 2);
    CHECK(near(f32_out(&k, 0)[0], 5) && near(f32_out(&k, 0)[1], 1));
    t_free(&k);
    t_init(&k, "LpPool", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "kernel_shape"));
    t_init(&k, "LpPool", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_ints(&k, "kernel_shape", 1, k2);
    t_int(&k, "p", 0);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "'p'"));

    /* GlobalLpPool p=1 sums magnitudes; GlobalMaxPool propagates NaN */
    t_init(&k, "GlobalLpPool", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_int(&k, "p", 1);
    CHECK(t_run(&k, 22) == ONYX_OK && k.out[0].dims[2] == 1 && near(f32_out(&k, 0)[0], 8));
    t_free(&k);
    const float xn[4] = {1, NAN, 7, 2};
    t_init(&k, "GlobalMaxPool", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, xn);
    CHECK(t_run(&k, 22) == ONYX_OK && isnan(f32_out(&k, 0)[0]));
    t_free(&k);

    /* MaxUnpool: indices are checked before anything is written */
    const int64_t di[3] = {1, 1, 2};
    const float v[2] = {5, 6};
    const int64_t ok_idx[2] = {1, 2}, bad_idx[2] = {1, 9};
    t_init(&k, "MaxUnpool", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, di, v);
    t_in(&k, 1, ONYX_DTYPE_INT64, 3, di, ok_idx);
    t_ints(&k, "kernel_shape", 1, k2);
    t_ints(&k, "strides", 1, k2);
    CHECK(t_run(&k, 22) == ONYX_OK && k.out[0].dims[2] == 4);
    const float *y = f32_out(&k, 0);
    CHECK(y[0] == 0 && y[1] == 5 && y[2] == 6 && y[3] == 0);
    t_free(&k);
    t_init(&k, "MaxUnpool", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, di, v);
    t_in(&k, 1, ONYX_DTYPE_INT64, 3, di, bad_idx);
    t_ints(&k, "kernel_shape", 1, k2);
    t_ints(&k, "strides", 1, k2);
    CHECK(t_run(&k, 22) == ONYX_E_ARG && t_msg(&k, "index 9"));
    t_free(&k);
    /* an output_shape not known at plan time asks the planner for its value */
    const int64_t d1[1] = {3};
    t_init(&k, "MaxUnpool", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, di, NULL);
    t_in(&k, 1, ONYX_DTYPE_INT64, 3, di, NULL);
    t_in(&k, 2, ONYX_DTYPE_INT64, 1, d1, NULL);
    t_ints(&k, "kernel_shape", 1, k2);
    CHECK(t_infer(&k, 22) == ONYX_E_UNSUPPORTED && k.need_value == 2);
}

/* ---- RoI ops ----------------------------------------------------------------------------------- */

static void test_roi(void)
{
    const int64_t dx[4] = {1, 1, 2, 2}, dr[2] = {1, 4}, db[1] = {1}, dr5[2] = {1, 5};
    const float x[4] = {1, 2, 3, 4}, rois[4] = {0, 0, 1, 1};
    const int64_t bad_batch[1] = {1};
    tcase k;
    t_init(&k, "RoiAlign", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr, rois);
    t_in(&k, 2, ONYX_DTYPE_INT64, 1, db, bad_batch);
    CHECK(t_run(&k, 22) == ONYX_E_ARG && t_msg(&k, "batch_indices"));
    t_free(&k);
    t_init(&k, "RoiAlign", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr, NULL);
    t_in(&k, 2, ONYX_DTYPE_INT64, 1, db, NULL);
    t_str(&k, "mode", "median");
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "median"));

    /* one bin over the whole 2x2 image: the maximum; a fractional batch index is refused */
    const float r5[5] = {0, 0, 0, 1, 1}, r5bad[5] = {0.5f, 0, 0, 1, 1};
    const int64_t pooled[2] = {1, 1};
    t_init(&k, "MaxRoiPool", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr5, r5);
    t_ints(&k, "pooled_shape", 2, pooled);
    CHECK(t_run(&k, 22) == ONYX_OK && f32_out(&k, 0)[0] == 4);
    t_free(&k);
    t_init(&k, "MaxRoiPool", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr5, r5bad);
    t_ints(&k, "pooled_shape", 2, pooled);
    CHECK(t_run(&k, 22) == ONYX_E_ARG && t_msg(&k, "batch index"));
    t_free(&k);
}

/* ---- GridSample, AffineGrid --------------------------------------------------------------- */

static void test_grid(void)
{
    /* AffineGrid with the identity gives the base grid; GridSample on it gives X back */
    const int64_t dth[3] = {1, 2, 3}, dsz[1] = {4}, size[4] = {1, 1, 2, 2};
    const float theta[6] = {1, 0, 0, 0, 1, 0};
    tcase k;
    t_init(&k, "AffineGrid", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dth, theta);
    t_in(&k, 1, ONYX_DTYPE_INT64, 1, dsz, size);
    CHECK(t_run(&k, 20) == ONYX_OK && k.out[0].rank == 4 && k.out[0].dims[3] == 2);
    float grid[8];
    memcpy(grid, k.out[0].data, sizeof grid);
    CHECK(grid[0] == -0.5f && grid[1] == -0.5f && grid[2] == 0.5f && grid[3] == -0.5f);
    t_free(&k);
    const int64_t dx[4] = {1, 1, 2, 2}, dg[4] = {1, 2, 2, 2};
    const float x[4] = {1, 2, 3, 4};
    static const char *const modes[3] = {"linear", "nearest", "cubic"};
    for (int m = 0; m < 3; m++) {
        t_init(&k, "GridSample", 2, 1);
        t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
        t_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dg, grid);
        t_str(&k, "mode", modes[m]);
        t_str(&k, "padding_mode", "border");
        CHECK(t_run(&k, 22) == ONYX_OK);
        for (int i = 0; i < 4; i++)
            CHECK_MSG(near(f32_out(&k, 0)[i], x[i]), "%s: y[%d] = %g", modes[m], i, f32_out(&k, 0)[i]);
        t_free(&k);
    }

    /* AffineGrid needs size's value; GridSample's names and ranks follow the opset */
    t_init(&k, "AffineGrid", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dth, NULL);
    t_in(&k, 1, ONYX_DTYPE_INT64, 1, dsz, NULL);
    CHECK(t_infer(&k, 20) == ONYX_E_UNSUPPORTED && k.need_value == 1);
    const int64_t size_bad[4] = {2, 1, 2, 2};
    t_init(&k, "AffineGrid", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dth, NULL);
    t_in(&k, 1, ONYX_DTYPE_INT64, 1, dsz, size_bad);
    CHECK(t_infer(&k, 20) == ONYX_E_SHAPE && t_msg(&k, "size[0]"));
    t_init(&k, "GridSample", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dg, NULL);
    t_str(&k, "mode", "linear");
    CHECK(t_infer(&k, 16) == ONYX_E_ARG && t_msg(&k, "linear"));
    const int64_t dx5[5] = {1, 1, 2, 2, 2}, dg5[5] = {1, 2, 2, 2, 3}, dgbad[4] = {1, 2, 2, 3};
    t_init(&k, "GridSample", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 5, dx5, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 5, dg5, NULL);
    CHECK(t_infer(&k, 16) == ONYX_E_SHAPE && t_msg(&k, "opset 20"));
    CHECK(t_infer(&k, 20) == ONYX_OK && k.out[0].rank == 5);
    t_init(&k, "GridSample", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dgbad, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "grid"));
}

/* ---- NonMaxSuppression ------------------------------------------------------------------------ */

/* n unit boxes in a row, a gap between each, so none overlaps; scores fall with the index
 * except box 0's NaN. */
static void nms_inputs(tcase *k, int64_t n, float *boxes, float *scores, const int64_t *max_out)
{
    static const int64_t d1[1] = {1};
    int64_t db[3] = {1, n, 4}, ds[3] = {1, 1, n};
    for (int64_t i = 0; i < n; i++) {
        float *b = boxes + i * 4;
        b[0] = 0;
        b[1] = (float)(2 * i);
        b[2] = 1;
        b[3] = (float)(2 * i + 1);
        scores[i] = i == 0 ? NAN : 1.0f - (float)i / (float)(2 * n);
    }
    t_init(k, "NonMaxSuppression", 3, 1);
    t_in(k, 0, ONYX_DTYPE_FLOAT, 3, db, boxes);
    t_in(k, 1, ONYX_DTYPE_FLOAT, 3, ds, scores);
    t_in(k, 2, ONYX_DTYPE_INT64, 1, d1, max_out);
}

static void test_nms(void)
{
    /* more candidates than plan time sorts at once: the batched selection agrees with run */
    const int64_t n = 600, all[1] = {100000};
    float *boxes = malloc((size_t)n * 4 * sizeof(float)), *scores = malloc((size_t)n * sizeof(float));
    tcase k;
    nms_inputs(&k, n, boxes, scores, all);
    CHECK(t_run(&k, 11) == ONYX_OK && k.out[0].dims[0] == n - 1 && k.out[0].dims[1] == 3);
    const int64_t *sel = k.out[0].data;
    bool ordered = true;
    for (int64_t i = 0; i < n - 1; i++) ordered &= sel[i * 3] == 0 && sel[i * 3 + 1] == 0 && sel[i * 3 + 2] == i + 1;
    CHECK(ordered);
    t_free(&k);
    free(boxes);
    free(scores);

    /* more selections per class than plan time can hold */
    const int64_t big = 5000;
    boxes = malloc((size_t)big * 4 * sizeof(float));
    scores = malloc((size_t)big * sizeof(float));
    nms_inputs(&k, big, boxes, scores, all);
    CHECK(t_infer(&k, 11) == ONYX_E_UNSUPPORTED && t_msg(&k, "plan time"));
    free(boxes);
    free(scores);

    /* the output shape needs every input's value */
    const int64_t db[3] = {1, 2, 4}, ds[3] = {1, 1, 2}, dsbad[3] = {1, 1, 3};
    t_init(&k, "NonMaxSuppression", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, db, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, ds, NULL);
    CHECK(t_infer(&k, 11) == ONYX_E_UNSUPPORTED && k.need_value == 0);
    t_init(&k, "NonMaxSuppression", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, db, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dsbad, NULL);
    CHECK(t_infer(&k, 11) == ONYX_E_SHAPE && t_msg(&k, "scores"));
}

/* ---- norms --------------------------------------------------------------------------------------- */

static void test_layer_norm(void)
{
    /* Scale varying between rows (broadcast [2, 1]) and all three outputs */
    const int64_t dx[2] = {2, 2}, ds[2] = {2, 1};
    const float x[4] = {1, 3, 5, 5}, s[2] = {1, 2};
    tcase k;
    t_init(&k, "LayerNormalization", 2, 3);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, s);
    t_float(&k, "epsilon", 0.0f);
    k.threads = 2;
    CHECK(t_run(&k, 17) == ONYX_OK && k.out[1].dims[0] == 2 && k.out[1].dims[1] == 1);
    const float *y = f32_out(&k, 0);
    CHECK(near(y[0], -1) && near(y[1], 1));
    CHECK(isnan(y[2]) || y[2] == 0); /* zero variance with epsilon 0 */
    CHECK(near(f32_out(&k, 1)[0], 2) && near(f32_out(&k, 2)[0], 1));
    t_free(&k);

    const int64_t dbad[1] = {3};
    t_init(&k, "LayerNormalization", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dbad, NULL);
    CHECK(t_infer(&k, 17) == ONYX_E_SHAPE && t_msg(&k, "broadcast"));
    t_init(&k, "LayerNormalization", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, NULL);
    t_int(&k, "stash_type", ONYX_DTYPE_INT64);
    CHECK(t_infer(&k, 17) == ONYX_E_UNSUPPORTED && t_msg(&k, "stash_type"));
    t_init(&k, "LayerNormalization", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, NULL);
    t_int(&k, "axis", 2);
    CHECK(t_infer(&k, 17) == ONYX_E_ARG && t_msg(&k, "axis"));

    /* RMSNormalization: Y takes Scale's dtype; it has one output */
    const int64_t d2[1] = {2};
    const float x2[2] = {3, 4};
    const double s2[2] = {1, 10};
    t_init(&k, "RMSNormalization", 2, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d2, x2);
    t_in(&k, 1, ONYX_DTYPE_DOUBLE, 1, d2, s2);
    t_float(&k, "epsilon", 0.0f);
    CHECK(t_run(&k, 23) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_DOUBLE);
    const double r = sqrt(12.5);
    CHECK(near(((double *)k.out[0].data)[0], 3 / r) && near(((double *)k.out[0].data)[1], 40 / r));
    t_free(&k);
    t_init(&k, "RMSNormalization", 2, 2);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d2, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d2, NULL);
    CHECK(t_infer(&k, 23) == ONYX_E_ARG && t_msg(&k, "one output"));
}

static void test_group_norms(void)
{
    /* GroupNormalization: scale per group before opset 21, per channel since */
    const int64_t dx[3] = {1, 4, 1}, dg[1] = {2}, dc[1] = {4};
    const float x[4] = {0, 2, 10, 10}, sg[2] = {1, 3}, bg[2] = {0, 1};
    tcase k;
    t_init(&k, "GroupNormalization", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dg, sg);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dg, bg);
    t_int(&k, "num_groups", 2);
    t_float(&k, "epsilon", 0.0f);
    CHECK(t_run(&k, 18) == ONYX_OK);
    CHECK(near(f32_out(&k, 0)[0], -1) && near(f32_out(&k, 0)[1], 1));
    t_free(&k);
    t_init(&k, "GroupNormalization", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dg, NULL);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dg, NULL);
    t_int(&k, "num_groups", 2);
    CHECK(t_infer(&k, 21) == ONYX_E_SHAPE && t_msg(&k, "[4]"));
    t_init(&k, "GroupNormalization", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dc, NULL);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dc, NULL);
    CHECK(t_infer(&k, 21) == ONYX_E_ARG && t_msg(&k, "num_groups"));
    t_int(&k, "num_groups", 3);
    CHECK(t_infer(&k, 21) == ONYX_E_ARG && t_msg(&k, "divide"));

    /* InstanceNormalization in bfloat16 */
    const uint16_t xb[4] = {0x0000, 0x4000, 0x4120, 0x4120}, sb[4] = {0x3f80, 0x3f80, 0x3f80, 0x3f80};
    const uint16_t bb[4] = {0, 0, 0, 0x3f80};
    const int64_t dxi[3] = {1, 2, 2}, di[1] = {2};
    t_init(&k, "InstanceNormalization", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_BFLOAT16, 3, dxi, xb);
    t_in(&k, 1, ONYX_DTYPE_BFLOAT16, 1, di, sb);
    t_in(&k, 2, ONYX_DTYPE_BFLOAT16, 1, di, bb + 2);
    t_float(&k, "epsilon", 0.0f);
    CHECK(t_run(&k, 22) == ONYX_OK);
    const uint16_t *yb = k.out[0].data;
    CHECK(ox_bf16_to_f32(yb[0]) == -1.0f && ox_bf16_to_f32(yb[1]) == 1.0f);
    t_free(&k);
    t_init(&k, "InstanceNormalization", 3, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dxi, NULL);
    t_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dg, NULL);
    t_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dc, NULL);
    CHECK(t_infer(&k, 22) == ONYX_E_SHAPE && t_msg(&k, "B must"));
}

static void test_other_norms(void)
{
    /* LpNormalization: a zero line stays zero; p must be 1 or 2 */
    const int64_t dx[2] = {2, 2};
    const float x[4] = {3, 4, 0, 0};
    tcase k;
    t_init(&k, "LpNormalization", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, x);
    CHECK(t_run(&k, 22) == ONYX_OK);
    const float *y = f32_out(&k, 0);
    CHECK(near(y[0], 0.6) && near(y[1], 0.8) && y[2] == 0 && y[3] == 0);
    t_free(&k);
    t_init(&k, "LpNormalization", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    t_int(&k, "p", 3);
    CHECK(t_infer(&k, 22) == ONYX_E_ARG && t_msg(&k, "p must"));

    /* LRN size 1 with alpha 1, beta 1, bias 0: y = x / x^2 */
    const int64_t dl[3] = {1, 2, 1};
    const float xl[2] = {2, 4};
    t_init(&k, "LRN", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dl, xl);
    t_int(&k, "size", 1);
    t_float(&k, "alpha", 1.0f);
    t_float(&k, "beta", 1.0f);
    t_float(&k, "bias", 0.0f);
    CHECK(t_run(&k, 13) == ONYX_OK && near(f32_out(&k, 0)[0], 0.5) && near(f32_out(&k, 0)[1], 0.25));
    t_free(&k);
    t_init(&k, "LRN", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dl, NULL);
    CHECK(t_infer(&k, 13) == ONYX_E_ARG && t_msg(&k, "'size'"));

    /* MeanVarianceNormalization over axis 1 only; a repeated axis is refused */
    const int64_t axes[1] = {1}, twice[2] = {1, -1};
    const double xd[4] = {1, 3, 2, 2};
    t_init(&k, "MeanVarianceNormalization", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_DOUBLE, 2, dx, xd);
    t_ints(&k, "axes", 1, axes);
    CHECK(t_run(&k, 13) == ONYX_OK);
    const double *yd = k.out[0].data;
    CHECK(near(yd[0], -1) && near(yd[1], 1) && yd[2] == 0 && yd[3] == 0);
    t_free(&k);
    t_init(&k, "MeanVarianceNormalization", 1, 1);
    t_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    t_ints(&k, "axes", 2, twice);
    CHECK(t_infer(&k, 13) == ONYX_E_ARG && t_msg(&k, "repeated"));
}

int main(void)
{
    test_convtranspose();
    test_deform_conv();
    test_pools();
    test_roi();
    test_grid();
    test_nms();
    test_layer_norm();
    test_group_norms();
    test_other_norms();
    return check_report("nn_extra");
}
