/* loss.c — NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 * Both score an input viewed as [N, C, D] (D the product of d1..dk, 1 when k = 0) against
 * integer labels [N, d1..dk]. The loss at a position is minus the log-probability of its
 * label times the label's weight (1 without weights, 0 where the label is ignore_index);
 * reduction "none" keeps one loss per position, "sum" adds them and "mean" divides that sum
 * by the sum of the weights — so without weights it averages over the positions that are not
 * ignored. SoftmaxCrossEntropyLoss is NegativeLogLikelihoodLoss applied to LogSoftmax over C,
 * whose result is its optional second output.
 *
 * Losses are computed in double and summed in position order by one thread, so results do not
 * depend on the thread count; each stored value is rounded once. */
#include <string.h>

#include "op.h"
#include "reduce.h"

typedef enum { RED_NONE, RED_SUM, RED_MEAN } reduction;

/* The attributes and the [n, classes, inner] view of input 0. */
typedef struct loss_args {
    reduction red;
    bool has_ignore;
    int64_t ignore;
    int64_t n, classes, inner;
} loss_args;

static onyx_status loss_args_read(ox_ctx *c, loss_args *a)
{
    onyx_status st;
    if ((st = ox_attr_expect(c, "reduction", OX_ATTR_STRING)) ||
        (st = ox_attr_expect(c, "ignore_index", OX_ATTR_INT)))
        return st;
    const char *red = ox_attr_string(c, "reduction", "mean");
    if (!strcmp(red, "none")) a->red = RED_NONE;
    else if (!strcmp(red, "sum")) a->red = RED_SUM;
    else if (!strcmp(red, "mean")) a->red = RED_MEAN;
    else return ox_fail(c, ONYX_E_ARG, "reduction '%s' is not none, sum or mean", red);
    a->has_ignore = ox_attr_has(c, "ignore_index");
    a->ignore = ox_attr_int(c, "ignore_index", 0);
    const onyx_tensor *x = c->in[0];
    a->n = x->dims[0];
    a->classes = x->dims[1];
    a->inner = 1;
    for (int k = 2; k < x->rank; k++) a->inner *= x->dims[k];
    return ONYX_OK;
}

/* Checks inputs and sets output 0 (the loss) for either op; bf16_opset is the first opset
 * whose schema lists bfloat16. */
static onyx_status loss_infer(ox_ctx *c, int bf16_opset, loss_args *a)
{
    onyx_status st = ox_need_io(c, 2);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *t = c->in[1], *w = ox_opt_in(c, 2);
    static const onyx_dtype types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                       ONYX_DTYPE_BFLOAT16, 0};
    static const onyx_dtype label_types[] = {ONYX_DTYPE_INT32, ONYX_DTYPE_INT64, 0};
    if ((st = ox_expect_dtype(c, 0, types)) || (st = ox_expect_dtype(c, 1, label_types))) return st;
    if (x->dtype == ONYX_DTYPE_BFLOAT16 && c->opset < bf16_opset)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "bfloat16 needs opset %d", bf16_opset);
    if (x->rank < 2)
        return ox_fail(c, ONYX_E_SHAPE, "input 0 must be [N, C, ...], has rank %d", x->rank);
    /* labels are the input's shape without the class dim C */
    bool match = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int k = 1; match && k < t->rank; k++) match = t->dims[k] == x->dims[k + 1];
    if (!match) return ox_fail(c, ONYX_E_SHAPE, "labels must have input 0's shape without dim 1");
    if (w && (w->dtype != x->dtype || w->rank != 1 || w->dims[0] != x->dims[1]))
        return ox_fail(c, ONYX_E_SHAPE, "weights must be a [C] tensor of input 0's dtype");
    if ((st = loss_args_read(c, a))) return st;
    if (a->red == RED_NONE) ox_set_shape(c->out[0], x->dtype, t->rank, t->dims);
    else ox_set_shape(c->out[0], x->dtype, 0, NULL);
    return ONYX_OK;
}

/* Labels are data: each must name a class or be ignore_index. */
static onyx_status check_labels(ox_ctx *c, const loss_args *a)
{
    const onyx_tensor *t = c->in[1];
    const int64_t count = a->n * a->inner;
    for (int64_t i = 0; i < count; i++) {
        int64_t label = ox_read_int(t, i);
        if ((label < 0 || label >= a->classes) && !(a->has_ignore && label == a->ignore))
            return ox_fail(c, ONYX_E_ARG, "label %lld at position %lld is not in [0, %lld)",
                           (long long)label, (long long)i, (long long)a->classes);
    }
    return ONYX_OK;
}

/* The loss of log-probabilities logp (input 0's shape and dtype) into output 0. Labels must
 * have been checked. */
static void nll(ox_ctx *c, const loss_args *a, const onyx_tensor *logp)
{
    const onyx_tensor *t = c->in[1], *w = ox_opt_in(c, 2);
    onyx_tensor *out = c->out[0];
    const size_t es = onyx_dtype_size(out->dtype);
    double total = 0, weight_total = 0;
    for (int64_t n = 0; n < a->n; n++)
        for (int64_t d = 0; d < a->inner; d++) {
            const int64_t i = n * a->inner + d, label = ox_read_int(t, i);
            double weight = 0, loss = 0;
            if (!(a->has_ignore && label == a->ignore)) {
                weight = w ? ox_read_f64(w, label) : 1.0;
                loss = -ox_read_f64(logp, (n * a->classes + label) * a->inner + d) * weight;
            }
            if (a->red == RED_NONE) {
                ox_narrow_f64(out->dtype, &loss, 1, (char *)out->data + (size_t)i * es);
            } else {
                total += loss;
                weight_total += weight;
            }
        }
    if (a->red == RED_SUM) ox_narrow_f64(out->dtype, &total, 1, out->data);
    if (a->red == RED_MEAN) {
        /* no position counted (all ignored, or none at all) gives 0/0 = NaN, as in PyTorch */
        double mean = total / weight_total;
        ox_narrow_f64(out->dtype, &mean, 1, out->data);
    }
}

/* ---- NegativeLogLikelihoodLoss ------------------------------------------------------------ */

static onyx_status nll_infer(ox_ctx *c)
{
    loss_args a;
    return loss_infer(c, 22, &a);
}

static onyx_status nll_run(ox_ctx *c)
{
    loss_args a;
    onyx_status st = loss_args_read(c, &a);
    if (st || (st = check_labels(c, &a))) return st;
    nll(c, &a, c->in[0]);
    return ONYX_OK;
}

/* ---- SoftmaxCrossEntropyLoss -------------------------------------------------------------- */

/* The log-probabilities go to output 1 when present, else to scratch of the same dtype: both
 * ways they are rounded to the input's dtype before the loss reads them, so the loss does not
 * depend on whether log_prob was asked for. */
static onyx_tensor *sce_log_prob_out(const ox_ctx *c) { return c->n_out > 1 ? c->out[1] : NULL; }

static onyx_status sce_infer(ox_ctx *c)
{
    loss_args a;
    onyx_status st = loss_infer(c, 13, &a);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    onyx_tensor *lp = sce_log_prob_out(c);
    if (lp) ox_set_shape(lp, x->dtype, x->rank, x->dims);
    else c->scratch_bytes = ox_tensor_bytes(x);
    return ONYX_OK;
}

static onyx_status sce_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    loss_args a;
    onyx_status st = loss_args_read(c, &a);
    if (st || (st = check_labels(c, &a))) return st;
    onyx_tensor scratch = *x, *lp = sce_log_prob_out(c);
    if (!lp) {
        if (c->scratch_bytes < ox_tensor_bytes(x) || (ox_tensor_bytes(x) && !c->scratch))
            return ox_fail(c, ONYX_E_INTERNAL, "scratch of %zu bytes granted, %zu needed",
                           c->scratch_bytes, ox_tensor_bytes(x));
        scratch.data = c->scratch;
        lp = &scratch;
    }
    if (ox_tensor_numel(x) > 0)
        ox_log_softmax(x->dtype, a.n, a.classes, a.inner, x->data, lp->data, c->threads);
    nll(c, &a, lp);
    return ONYX_OK;
}

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_loss[] = {
    {"NegativeLogLikelihoodLoss", "", 12, 28, nll_infer, nll_run, 0},
    {"SoftmaxCrossEntropyLoss", "", 12, 28, sce_infer, sce_run, 0},
};
const size_t ox_ops_loss_count = sizeof ox_ops_loss / sizeof ox_ops_loss[0];
