/* test_nn_extra.c — the nn_extra and norm families on single nodes: small values worked out
 * by hand (including the half and double paths and several threads), the plan-time
 * selection of NonMaxSuppression, and the error paths, checking statuses and that messages
 * name the node. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "op_harness.h"

static bool near(double a, double b) { return fabs(a - b) <= 1e-5 * (1.0 + fabs(b)); }

static const float *f32_out(const op_case *k, int i) { return k->outs[i].data; }

/* ---- ConvTranspose ----------------------------------------------------------------------- */

static void test_convtranspose(void)
{
    /* 1-D, stride 2: y = [x0*w0, x0*w1, x1*w0, x1*w1] + b, in float, double and float16 */
    const int64_t dx[3] = {1, 1, 2}, dw[3] = {1, 1, 2}, db[1] = {1}, s2[1] = {2};
    const float x[2] = {1, 2}, w[2] = {3, 5}, b[1] = {0.5f};
    op_case k;
    oc_init_n(&k, "ConvTranspose", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, db, b);
    oc_attr_ints(&k, "strides", 1, s2);
    k.threads = 2;
    CHECK(oc_run(&k, 22) == ONYX_OK && k.outs[0].dims[2] == 4);
    const float *y = f32_out(&k, 0);
    CHECK(y[0] == 3.5f && y[1] == 5.5f && y[2] == 6.5f && y[3] == 10.5f);
    oc_free(&k);

    const double xd[2] = {1, 2}, wd[2] = {3, 5};
    oc_init_n(&k, "ConvTranspose", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_DOUBLE, 3, dx, xd);
    oc_in(&k, 1, ONYX_DTYPE_DOUBLE, 3, dw, wd);
    oc_attr_ints(&k, "strides", 1, s2);
    CHECK(oc_run(&k, 22) == ONYX_OK);
    const double *yd = k.outs[0].data;
    CHECK(yd[0] == 3 && yd[1] == 5 && yd[2] == 6 && yd[3] == 10);
    oc_free(&k);

    const uint16_t xh[2] = {0x3c00, 0x4000}, wh[2] = {0x4200, 0x4500}; /* 1, 2; 3, 5 */
    oc_init_n(&k, "ConvTranspose", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT16, 3, dx, xh);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT16, 3, dw, wh);
    oc_attr_ints(&k, "strides", 1, s2);
    CHECK(oc_run(&k, 22) == ONYX_OK);
    const uint16_t *yh = k.outs[0].data;
    CHECK(ox_f16_to_f32(yh[1]) == 5.0f && ox_f16_to_f32(yh[3]) == 10.0f);
    oc_free(&k);

    /* output_shape beyond the natural size: the extra positions hold the bias */
    const int64_t os[1] = {6};
    oc_init_n(&k, "ConvTranspose", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, db, b);
    oc_attr_ints(&k, "strides", 1, s2);
    oc_attr_ints(&k, "output_shape", 1, os);
    CHECK(oc_run(&k, 22) == ONYX_OK && k.outs[0].dims[2] == 6);
    CHECK(f32_out(&k, 0)[3] == 10.5f && f32_out(&k, 0)[4] == 0.5f && f32_out(&k, 0)[5] == 0.5f);
    oc_free(&k);

    /* errors: W rows must match X's channels; output_shape length; pads past the output */
    const int64_t dw2[3] = {2, 1, 2}, big_pads[2] = {3, 2}, os3[3] = {1, 2, 3};
    oc_init_n(&k, "ConvTranspose", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw2, NULL);
    CHECK(oc_infer(&k, 22) == ONYX_E_SHAPE && oc_msg_has(&k, "channels"));
    oc_init_n(&k, "ConvTranspose", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    oc_attr_ints(&k, "output_shape", 2, os3);
    CHECK(oc_infer(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "output_shape"));
    oc_init_n(&k, "ConvTranspose", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    oc_attr_ints(&k, "pads", 2, big_pads);
    CHECK(oc_infer(&k, 22) == ONYX_E_SHAPE && oc_msg_has(&k, "pads"));
    oc_init_n(&k, "ConvTranspose", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_DOUBLE, 3, dw, NULL);
    CHECK(oc_infer(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "dtype"));
}

/* ---- DeformConv --------------------------------------------------------------------------- */

static void test_deform_conv(void)
{
    /* a 1x1 kernel on a row of 3: an offset of +0.5 samples between neighbours, one past the
     * end reads zeros, and the mask scales */
    const int64_t dx[3] = {1, 1, 3}, dw[3] = {1, 1, 1}, doff[3] = {1, 1, 3}, dm[3] = {1, 1, 3};
    const float x[3] = {2, 4, 8}, w[1] = {10}, off[3] = {0.5f, 0.0f, 1.0f}, mask[3] = {1, 0.5f, 1};
    op_case k;
    oc_init_n(&k, "DeformConv", 5, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, w);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 3, doff, off);
    oc_in(&k, 4, ONYX_DTYPE_FLOAT, 3, dm, mask);
    CHECK(oc_run(&k, 22) == ONYX_OK);
    const float *y = f32_out(&k, 0);
    CHECK(near(y[0], 30) && near(y[1], 20) && near(y[2], 0));
    oc_free(&k);

    /* the offset tensor must be [N, offset_group * taps * dims, out...] */
    const int64_t bad[3] = {1, 2, 3};
    oc_init_n(&k, "DeformConv", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 3, bad, NULL);
    CHECK(oc_infer(&k, 22) == ONYX_E_SHAPE && oc_msg_has(&k, "offset"));
    oc_init_n(&k, "DeformConv", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dw, NULL);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 3, doff, NULL);
    oc_attr_int(&k, "offset_group", 2);
    CHECK(oc_infer(&k, 22) == ONYX_E_SHAPE && oc_msg_has(&k, "offset_group"));
}

/* ---- pools ----------------------------------------------------------------------------------- */

static void test_pools(void)
{
    const int64_t dx[3] = {1, 1, 4}, k2[1] = {2};
    const float x[4] = {3, -4, 0, 1};
    op_case k;
    oc_init_n(&k, "LpPool", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    oc_attr_ints(&k, "kernel_shape", 1, k2);
    oc_attr_ints(&k, "strides", 1, k2);
    CHECK(oc_run(&k, 22) == ONYX_OK && k.outs[0].dims[2] == 2);
    CHECK(near(f32_out(&k, 0)[0], 5) && near(f32_out(&k, 0)[1], 1));
    oc_free(&k);
    oc_init_n(&k, "LpPool", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    CHECK(oc_infer(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "kernel_shape"));
    oc_init_n(&k, "LpPool", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_attr_ints(&k, "kernel_shape", 1, k2);
    oc_attr_int(&k, "p", 0);
    CHECK(oc_infer(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "'p'"));

    /* GlobalLpPool p=1 sums magnitudes; GlobalMaxPool propagates NaN */
    oc_init_n(&k, "GlobalLpPool", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    oc_attr_int(&k, "p", 1);
    CHECK(oc_run(&k, 22) == ONYX_OK && k.outs[0].dims[2] == 1 && near(f32_out(&k, 0)[0], 8));
    oc_free(&k);
    const float xn[4] = {1, NAN, 7, 2};
    oc_init_n(&k, "GlobalMaxPool", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, xn);
    CHECK(oc_run(&k, 22) == ONYX_OK && isnan(f32_out(&k, 0)[0]));
    oc_free(&k);

    /* MaxUnpool: indices are checked before anything is written */
    const int64_t di[3] = {1, 1, 2};
    const float v[2] = {5, 6};
    const int64_t ok_idx[2] = {1, 2}, bad_idx[2] = {1, 9};
    oc_init_n(&k, "MaxUnpool", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, di, v);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 3, di, ok_idx);
    oc_attr_ints(&k, "kernel_shape", 1, k2);
    oc_attr_ints(&k, "strides", 1, k2);
    CHECK(oc_run(&k, 22) == ONYX_OK && k.outs[0].dims[2] == 4);
    const float *y = f32_out(&k, 0);
    CHECK(y[0] == 0 && y[1] == 5 && y[2] == 6 && y[3] == 0);
    oc_free(&k);
    oc_init_n(&k, "MaxUnpool", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, di, v);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 3, di, bad_idx);
    oc_attr_ints(&k, "kernel_shape", 1, k2);
    oc_attr_ints(&k, "strides", 1, k2);
    CHECK(oc_run(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "index 9"));
    oc_free(&k);
    /* an output_shape not known at plan time asks the planner for its value */
    const int64_t d1[1] = {3};
    oc_init_n(&k, "MaxUnpool", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, di, NULL);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 3, di, NULL);
    oc_in(&k, 2, ONYX_DTYPE_INT64, 1, d1, NULL);
    oc_attr_ints(&k, "kernel_shape", 1, k2);
    CHECK(oc_infer(&k, 22) == ONYX_E_UNSUPPORTED && k.need_value == 2);
}

/* ---- RoI ops ----------------------------------------------------------------------------------- */

static void test_roi(void)
{
    const int64_t dx[4] = {1, 1, 2, 2}, dr[2] = {1, 4}, db[1] = {1}, dr5[2] = {1, 5};
    const float x[4] = {1, 2, 3, 4}, rois[4] = {0, 0, 1, 1};
    const int64_t bad_batch[1] = {1};
    op_case k;
    oc_init_n(&k, "RoiAlign", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr, rois);
    oc_in(&k, 2, ONYX_DTYPE_INT64, 1, db, bad_batch);
    CHECK(oc_run(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "batch_indices"));
    oc_free(&k);
    oc_init_n(&k, "RoiAlign", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr, NULL);
    oc_in(&k, 2, ONYX_DTYPE_INT64, 1, db, NULL);
    oc_attr_str(&k, "mode", "median");
    CHECK(oc_infer(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "median"));

    /* one bin over the whole 2x2 image: the maximum; a fractional batch index is refused */
    const float r5[5] = {0, 0, 0, 1, 1}, r5bad[5] = {0.5f, 0, 0, 1, 1};
    const int64_t pooled[2] = {1, 1};
    oc_init_n(&k, "MaxRoiPool", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr5, r5);
    oc_attr_ints(&k, "pooled_shape", 2, pooled);
    CHECK(oc_run(&k, 22) == ONYX_OK && f32_out(&k, 0)[0] == 4);
    oc_free(&k);
    oc_init_n(&k, "MaxRoiPool", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dr5, r5bad);
    oc_attr_ints(&k, "pooled_shape", 2, pooled);
    CHECK(oc_run(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "batch index"));
    oc_free(&k);
}

/* ---- GridSample, AffineGrid --------------------------------------------------------------- */

static void test_grid(void)
{
    /* AffineGrid with the identity gives the base grid; GridSample on it gives X back */
    const int64_t dth[3] = {1, 2, 3}, dsz[1] = {4}, size[4] = {1, 1, 2, 2};
    const float theta[6] = {1, 0, 0, 0, 1, 0};
    op_case k;
    oc_init_n(&k, "AffineGrid", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dth, theta);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, dsz, size);
    CHECK(oc_run(&k, 20) == ONYX_OK && k.outs[0].rank == 4 && k.outs[0].dims[3] == 2);
    float grid[8];
    memcpy(grid, k.outs[0].data, sizeof grid);
    CHECK(grid[0] == -0.5f && grid[1] == -0.5f && grid[2] == 0.5f && grid[3] == -0.5f);
    oc_free(&k);
    const int64_t dx[4] = {1, 1, 2, 2}, dg[4] = {1, 2, 2, 2};
    const float x[4] = {1, 2, 3, 4};
    static const char *const modes[3] = {"linear", "nearest", "cubic"};
    for (int m = 0; m < 3; m++) {
        oc_init_n(&k, "GridSample", 2, 1);
        oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, x);
        oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dg, grid);
        oc_attr_str(&k, "mode", modes[m]);
        oc_attr_str(&k, "padding_mode", "border");
        CHECK(oc_run(&k, 22) == ONYX_OK);
        for (int i = 0; i < 4; i++)
            CHECK_MSG(near(f32_out(&k, 0)[i], x[i]), "%s: y[%d] = %g", modes[m], i, f32_out(&k, 0)[i]);
        oc_free(&k);
    }

    /* AffineGrid needs size's value; GridSample's names and ranks follow the opset */
    oc_init_n(&k, "AffineGrid", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dth, NULL);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, dsz, NULL);
    CHECK(oc_infer(&k, 20) == ONYX_E_UNSUPPORTED && k.need_value == 1);
    const int64_t size_bad[4] = {2, 1, 2, 2};
    oc_init_n(&k, "AffineGrid", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dth, NULL);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, dsz, size_bad);
    CHECK(oc_infer(&k, 20) == ONYX_E_SHAPE && oc_msg_has(&k, "size[0]"));
    oc_init_n(&k, "GridSample", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dg, NULL);
    oc_attr_str(&k, "mode", "linear");
    CHECK(oc_infer(&k, 16) == ONYX_E_ARG && oc_msg_has(&k, "linear"));
    const int64_t dx5[5] = {1, 1, 2, 2, 2}, dg5[5] = {1, 2, 2, 2, 3}, dgbad[4] = {1, 2, 2, 3};
    oc_init_n(&k, "GridSample", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 5, dx5, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 5, dg5, NULL);
    CHECK(oc_infer(&k, 16) == ONYX_E_SHAPE && oc_msg_has(&k, "opset 20"));
    CHECK(oc_infer(&k, 20) == ONYX_OK && k.outs[0].rank == 5);
    oc_init_n(&k, "GridSample", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 4, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 4, dgbad, NULL);
    CHECK(oc_infer(&k, 22) == ONYX_E_SHAPE && oc_msg_has(&k, "grid"));
}

/* ---- NonMaxSuppression ------------------------------------------------------------------------ */

/* n unit boxes in a row, a gap between each, so none overlaps; scores fall with the index
 * except box 0's NaN. */
static void nms_inputs(op_case *k, int64_t n, float *boxes, float *scores, const int64_t *max_out)
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
    oc_init_n(k, "NonMaxSuppression", 3, 1);
    oc_in(k, 0, ONYX_DTYPE_FLOAT, 3, db, boxes);
    oc_in(k, 1, ONYX_DTYPE_FLOAT, 3, ds, scores);
    oc_in(k, 2, ONYX_DTYPE_INT64, 1, d1, max_out);
}

static void test_nms(void)
{
    /* more candidates than plan time sorts at once: the batched selection agrees with run */
    const int64_t n = 600, all[1] = {100000};
    float *boxes = malloc((size_t)n * 4 * sizeof(float)), *scores = malloc((size_t)n * sizeof(float));
    op_case k;
    nms_inputs(&k, n, boxes, scores, all);
    CHECK(oc_run(&k, 11) == ONYX_OK && k.outs[0].dims[0] == n - 1 && k.outs[0].dims[1] == 3);
    const int64_t *sel = k.outs[0].data;
    bool ordered = true;
    for (int64_t i = 0; i < n - 1; i++) ordered &= sel[i * 3] == 0 && sel[i * 3 + 1] == 0 && sel[i * 3 + 2] == i + 1;
    CHECK(ordered);
    oc_free(&k);
    free(boxes);
    free(scores);

    /* more selections per class than plan time can hold */
    const int64_t big = 5000;
    boxes = malloc((size_t)big * 4 * sizeof(float));
    scores = malloc((size_t)big * sizeof(float));
    nms_inputs(&k, big, boxes, scores, all);
    CHECK(oc_infer(&k, 11) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "plan time"));
    free(boxes);
    free(scores);

    /* the output shape needs every input's value */
    const int64_t db[3] = {1, 2, 4}, ds[3] = {1, 1, 2}, dsbad[3] = {1, 1, 3};
    oc_init_n(&k, "NonMaxSuppression", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, db, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, ds, NULL);
    CHECK(oc_infer(&k, 11) == ONYX_E_UNSUPPORTED && k.need_value == 0);
    oc_init_n(&k, "NonMaxSuppression", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, db, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 3, dsbad, NULL);
    CHECK(oc_infer(&k, 11) == ONYX_E_SHAPE && oc_msg_has(&k, "scores"));
}

/* ---- norms --------------------------------------------------------------------------------------- */

static void test_layer_norm(void)
{
    /* Scale varying between rows (broadcast [2, 1]) and all three outputs */
    const int64_t dx[2] = {2, 2}, ds[2] = {2, 1};
    const float x[4] = {1, 3, 5, 5}, s[2] = {1, 2};
    op_case k;
    oc_init_n(&k, "LayerNormalization", 2, 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, s);
    oc_attr_float(&k, "epsilon", 0.0f);
    k.threads = 2;
    CHECK(oc_run(&k, 17) == ONYX_OK && k.outs[1].dims[0] == 2 && k.outs[1].dims[1] == 1);
    const float *y = f32_out(&k, 0);
    CHECK(near(y[0], -1) && near(y[1], 1));
    CHECK(isnan(y[2]) || y[2] == 0); /* zero variance with epsilon 0 */
    CHECK(near(f32_out(&k, 1)[0], 2) && near(f32_out(&k, 2)[0], 1));
    oc_free(&k);

    const int64_t dbad[1] = {3};
    oc_init_n(&k, "LayerNormalization", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dbad, NULL);
    CHECK(oc_infer(&k, 17) == ONYX_E_SHAPE && oc_msg_has(&k, "broadcast"));
    oc_init_n(&k, "LayerNormalization", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, NULL);
    oc_attr_int(&k, "stash_type", ONYX_DTYPE_INT64);
    CHECK(oc_infer(&k, 17) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "stash_type"));
    oc_init_n(&k, "LayerNormalization", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, ds, NULL);
    oc_attr_int(&k, "axis", 2);
    CHECK(oc_infer(&k, 17) == ONYX_E_ARG && oc_msg_has(&k, "axis"));

    /* RMSNormalization: Y takes Scale's dtype; it has one output */
    const int64_t d2[1] = {2};
    const float x2[2] = {3, 4};
    const double s2[2] = {1, 10};
    oc_init_n(&k, "RMSNormalization", 2, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d2, x2);
    oc_in(&k, 1, ONYX_DTYPE_DOUBLE, 1, d2, s2);
    oc_attr_float(&k, "epsilon", 0.0f);
    CHECK(oc_run(&k, 23) == ONYX_OK && k.outs[0].dtype == ONYX_DTYPE_DOUBLE);
    const double r = sqrt(12.5);
    CHECK(near(((double *)k.outs[0].data)[0], 3 / r) && near(((double *)k.outs[0].data)[1], 40 / r));
    oc_free(&k);
    oc_init_n(&k, "RMSNormalization", 2, 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d2, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d2, NULL);
    CHECK(oc_infer(&k, 23) == ONYX_E_ARG && oc_msg_has(&k, "one output"));
}

static void test_group_norms(void)
{
    /* GroupNormalization: scale per group before opset 21, per channel since */
    const int64_t dx[3] = {1, 4, 1}, dg[1] = {2}, dc[1] = {4};
    const float x[4] = {0, 2, 10, 10}, sg[2] = {1, 3}, bg[2] = {0, 1};
    op_case k;
    oc_init_n(&k, "GroupNormalization", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dg, sg);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dg, bg);
    oc_attr_int(&k, "num_groups", 2);
    oc_attr_float(&k, "epsilon", 0.0f);
    CHECK(oc_run(&k, 18) == ONYX_OK);
    CHECK(near(f32_out(&k, 0)[0], -1) && near(f32_out(&k, 0)[1], 1));
    oc_free(&k);
    oc_init_n(&k, "GroupNormalization", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dg, NULL);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dg, NULL);
    oc_attr_int(&k, "num_groups", 2);
    CHECK(oc_infer(&k, 21) == ONYX_E_SHAPE && oc_msg_has(&k, "[4]"));
    oc_init_n(&k, "GroupNormalization", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dx, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dc, NULL);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dc, NULL);
    CHECK(oc_infer(&k, 21) == ONYX_E_ARG && oc_msg_has(&k, "num_groups"));
    oc_attr_int(&k, "num_groups", 3);
    CHECK(oc_infer(&k, 21) == ONYX_E_ARG && oc_msg_has(&k, "divide"));

    /* InstanceNormalization in bfloat16 */
    const uint16_t xb[4] = {0x0000, 0x4000, 0x4120, 0x4120}, sb[4] = {0x3f80, 0x3f80, 0x3f80, 0x3f80};
    const uint16_t bb[4] = {0, 0, 0, 0x3f80};
    const int64_t dxi[3] = {1, 2, 2}, di[1] = {2};
    oc_init_n(&k, "InstanceNormalization", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_BFLOAT16, 3, dxi, xb);
    oc_in(&k, 1, ONYX_DTYPE_BFLOAT16, 1, di, sb);
    oc_in(&k, 2, ONYX_DTYPE_BFLOAT16, 1, di, bb + 2);
    oc_attr_float(&k, "epsilon", 0.0f);
    CHECK(oc_run(&k, 22) == ONYX_OK);
    const uint16_t *yb = k.outs[0].data;
    CHECK(ox_bf16_to_f32(yb[0]) == -1.0f && ox_bf16_to_f32(yb[1]) == 1.0f);
    oc_free(&k);
    oc_init_n(&k, "InstanceNormalization", 3, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dxi, NULL);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dg, NULL);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dc, NULL);
    CHECK(oc_infer(&k, 22) == ONYX_E_SHAPE && oc_msg_has(&k, "B must"));
}

static void test_other_norms(void)
{
    /* LpNormalization: a zero line stays zero; p must be 1 or 2 */
    const int64_t dx[2] = {2, 2};
    const float x[4] = {3, 4, 0, 0};
    op_case k;
    oc_init_n(&k, "LpNormalization", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, x);
    CHECK(oc_run(&k, 22) == ONYX_OK);
    const float *y = f32_out(&k, 0);
    CHECK(near(y[0], 0.6) && near(y[1], 0.8) && y[2] == 0 && y[3] == 0);
    oc_free(&k);
    oc_init_n(&k, "LpNormalization", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    oc_attr_int(&k, "p", 3);
    CHECK(oc_infer(&k, 22) == ONYX_E_ARG && oc_msg_has(&k, "p must"));

    /* LRN size 1 with alpha 1, beta 1, bias 0: y = x / x^2 */
    const int64_t dl[3] = {1, 2, 1};
    const float xl[2] = {2, 4};
    oc_init_n(&k, "LRN", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dl, xl);
    oc_attr_int(&k, "size", 1);
    oc_attr_float(&k, "alpha", 1.0f);
    oc_attr_float(&k, "beta", 1.0f);
    oc_attr_float(&k, "bias", 0.0f);
    CHECK(oc_run(&k, 13) == ONYX_OK && near(f32_out(&k, 0)[0], 0.5) && near(f32_out(&k, 0)[1], 0.25));
    oc_free(&k);
    oc_init_n(&k, "LRN", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 3, dl, NULL);
    CHECK(oc_infer(&k, 13) == ONYX_E_ARG && oc_msg_has(&k, "'size'"));

    /* MeanVarianceNormalization over axis 1 only; a repeated axis is refused */
    const int64_t axes[1] = {1}, twice[2] = {1, -1};
    const double xd[4] = {1, 3, 2, 2};
    oc_init_n(&k, "MeanVarianceNormalization", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_DOUBLE, 2, dx, xd);
    oc_attr_ints(&k, "axes", 1, axes);
    CHECK(oc_run(&k, 13) == ONYX_OK);
    const double *yd = k.outs[0].data;
    CHECK(near(yd[0], -1) && near(yd[1], 1) && yd[2] == 0 && yd[3] == 0);
    oc_free(&k);
    oc_init_n(&k, "MeanVarianceNormalization", 1, 1);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, NULL);
    oc_attr_ints(&k, "axes", 2, twice);
    CHECK(oc_infer(&k, 13) == ONYX_E_ARG && oc_msg_has(&k, "repeated"));
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
