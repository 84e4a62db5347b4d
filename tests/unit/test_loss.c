/* test_loss.c — the loss family on single nodes: reductions and weights on exact values,
 * ignore_index (also outside [0, C)), the NaN of a mean over nothing, and the error paths
 * (labels out of range, mismatched shapes, bad attributes, dtypes by opset), checking
 * statuses and that the messages name the node. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "internal.h"
#include "op_harness.h"

/* oc_call, plus the scratch memory an op asks for (op_harness.h grants none). */
static onyx_status call_with_scratch(op_case *k, int opset, void *out, size_t cap)
{
    const ox_op *op = ox_op_find("", k->node.op_type, opset);
    if (!op) return ONYX_E_UNSUPPORTED;
    k->node.opset = opset;
    ox_ctx c = {.node = &k->node, .opset = opset, .n_in = k->node.n_in, .n_out = 1,
                .in = k->in_p, .out = k->out_p, .threads = k->threads, .msg = k->msg,
                .msg_cap = sizeof k->msg, .need_value = -1, .strings = &k->strings};
    k->msg[0] = 0;
    onyx_status st = op->infer(&c);
    if (st) return st;
    if (ox_tensor_bytes(&k->out) > cap) return ONYX_E_INTERNAL;
    k->out.data = out;
    c.scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    st = op->run(&c);
    free(c.scratch);
    return st;
}

static const int64_t d23[2] = {2, 3}, d2[1] = {2}, d3[1] = {3};
/* log-probabilities of 2 samples over 3 classes */
static const float logp[6] = {-1, -2, -3, -4, -5, -6};

static void test_nll_values(void)
{
    op_case k;
    float y[2];
    const int64_t labels[2] = {2, 0};
    const float w[3] = {1, 2, 3};

    oc_init(&k, "NegativeLogLikelihoodLoss", 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, labels);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, d3, w);
    /* mean with weights: (3*3 + 4*1) / (3 + 1) */
    CHECK(oc_call(&k, 22, y, sizeof y) == ONYX_OK && k.out.rank == 0 && y[0] == 13.0f / 4);
    oc_attr_str(&k, "reduction", "none");
    CHECK(oc_call(&k, 22, y, sizeof y) == ONYX_OK && k.out.rank == 1 && y[0] == 9 && y[1] == 4);
    oc_free(&k);

    /* ignore_index outside [0, C) is allowed; a mean over only ignored labels is 0/0 */
    const int32_t ignored[2] = {-100, -100};
    oc_init(&k, "NegativeLogLikelihoodLoss", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d2, ignored);
    oc_attr_int(&k, "ignore_index", -100);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_OK && isnan(y[0]));
    oc_attr_str(&k, "reduction", "sum");
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_OK && y[0] == 0);
    oc_free(&k);

    /* without weights, a mean counts only the labels not ignored */
    const int64_t some[2] = {1, 0};
    oc_init(&k, "NegativeLogLikelihoodLoss", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, some);
    oc_attr_int(&k, "ignore_index", 0);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_OK && y[0] == 2);
    oc_free(&k);
}

static void test_sce_values(void)
{
    /* equal scores: every class has log-probability -log(3) */
    const double x[6] = {0, 0, 0, 5, 5, 5};
    const int64_t labels[2] = {1, 2};
    double y[2];
    op_case k;
    oc_init(&k, "SoftmaxCrossEntropyLoss", 2);
    oc_in(&k, 0, ONYX_DTYPE_DOUBLE, 2, d23, x);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, labels);
    oc_attr_str(&k, "reduction", "sum");
    CHECK(call_with_scratch(&k, 13, y, sizeof y) == ONYX_OK && fabs(y[0] - 2 * log(3.0)) < 1e-12);
    oc_free(&k);
}

static void test_loss_errors(void)
{
    op_case k;
    float y[6];
    const int64_t labels[2] = {2, 0}, bad[2] = {0, 3};
    const float w2[2] = {1, 1};

    oc_init(&k, "NegativeLogLikelihoodLoss", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, bad);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "label 3"));
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d3, labels); /* 3 labels for 2 samples */
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "labels"));
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d2, logp);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "float"));
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, labels);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d3, logp);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "rank 1"));
    oc_in(&k, 0, ONYX_DTYPE_BFLOAT16, 2, d23, logp);
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "opset 22"));
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_attr_str(&k, "reduction", "max");
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "'max'"));
    oc_free(&k);

    oc_init(&k, "NegativeLogLikelihoodLoss", 3);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, labels);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, d2, w2); /* 2 weights for 3 classes */
    CHECK(oc_call(&k, 13, y, sizeof y) == ONYX_E_SHAPE && oc_msg_has(&k, "weights"));
    oc_free(&k);

    /* labels are checked before the softmax reads anything */
    oc_init(&k, "SoftmaxCrossEntropyLoss", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, d23, logp);
    oc_in(&k, 1, ONYX_DTYPE_INT64, 1, d2, bad);
    CHECK(call_with_scratch(&k, 13, y, sizeof y) == ONYX_E_ARG && oc_msg_has(&k, "label 3"));
    CHECK(call_with_scratch(&k, 11, y, sizeof y) == ONYX_E_UNSUPPORTED); /* from opset 12 */
    oc_free(&k);
}

int main(void)
{
    test_nll_values();
    test_sce_values();
    test_loss_errors();
    return check_report("loss");
}
