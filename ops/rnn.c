/* rnn.c — the recurrent layers RNN, GRU and LSTM (every opset: 1, 3 for GRU, 7, 14, 22).
 *
 * This file reads and checks the attributes and shapes into an ox_rnn_desc; the loops are in
 * kernels/rnn.c. Version differences: opset 14 added `layout` (batch-first tensors), opset
 * 22 bfloat16, GRU opset 3 `linear_before_reset`; opset 1's `output_sequence` only made Y
 * optional, which every version expresses by omitting the output, so it is ignored.
 *
 * Types: float and double compute in their own type; float16 and bfloat16 are widened to
 * float32 in scratch, run there and rounded once per output element.
 *
 * Activation parameters follow the spec's wording "consumed in the order of activation
 * functions": each activation that takes an alpha (beta) takes the next unread value of
 * activation_alpha (activation_beta), else its default — the default of the ONNX operator of
 * that name (LeakyRelu 0.01, ThresholdedRelu 1, HardSigmoid 0.2 / 0.5, Elu 1) and, for the
 * two functions with no ONNX operator, the identity-like Affine(1, 0) and ScaledTanh(1, 1).
 * (onnxruntime agrees except that it defaults the alpha of ThresholdedRelu, Affine and
 * ScaledTanh, and the beta of the last two, to 0.) */
#include <math.h>
#include <string.h>

#include "op.h"
#include "rnn.h"

enum { IN_X, IN_W, IN_R, IN_B, IN_LENS, IN_H0, IN_C0, IN_P };
enum { OUT_Y, OUT_YH, OUT_YC };

static const char *const in_names[] = {"X", "W", "R", "B", "sequence_lens", "initial_h",
                                       "initial_c", "P"};

/* ---- activations ------------------------------------------------------------------------ */

typedef struct act_info {
    const char *name;
    ox_rnn_act_fn fn;
    bool takes_alpha, takes_beta;
    float alpha, beta; /* defaults */
} act_info;

static const act_info act_table[] = {
    {"Relu", OX_RACT_RELU, false, false, 0, 0},
    {"Tanh", OX_RACT_TANH, false, false, 0, 0},
    {"Sigmoid", OX_RACT_SIGMOID, false, false, 0, 0},
    {"Affine", OX_RACT_AFFINE, true, true, 1.0f, 0.0f},
    {"LeakyRelu", OX_RACT_LEAKY_RELU, true, false, 0.01f, 0},
    {"ThresholdedRelu", OX_RACT_THRESHOLDED_RELU, true, false, 1.0f, 0},
    {"ScaledTanh", OX_RACT_SCALED_TANH, true, true, 1.0f, 1.0f},
    {"HardSigmoid", OX_RACT_HARD_SIGMOID, true, true, 0.2f, 0.5f},
    {"Elu", OX_RACT_ELU, true, false, 1.0f, 0},
    {"Softsign", OX_RACT_SOFTSIGN, false, false, 0, 0},
    {"Softplus", OX_RACT_SOFTPLUS, false, false, 0, 0},
};

/* Case-insensitive match of s[0..n) with the NUL-terminated name (exporters differ in case). */
static bool same_name(const char *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = name[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
        if (b == 0 || a != b) return false;
    }
    return name[n] == 0;
}

/* The activations each direction uses by default, as the op's equations name them. */
static const struct {
    int n;
    const char *names[OX_RNN_MAX_ACTS];
} default_acts[] = {
    [OX_RNN_SIMPLE] = {1, {"Tanh"}},
    [OX_RNN_GRU] = {2, {"Sigmoid", "Tanh"}},
    [OX_RNN_LSTM] = {3, {"Sigmoid", "Tanh", "Tanh"}},
};

/* Fills d->act from attributes activations, activation_alpha and activation_beta. */
static onyx_status read_activations(ox_ctx *c, ox_rnn_desc *d)
{
    const char *const *defaults = default_acts[d->kind].names;
    const int per_dir = default_acts[d->kind].n;
    const ox_attr *a = ox_node_attr(c->node, "activations");
    size_t n = a ? a->n : 0;
    /* RNN's schema default lists Tanh twice, so a one-direction RNN may carry two names. */
    if (n == 2 && d->kind == OX_RNN_SIMPLE && d->dirs == 1) n = 1;
    if (n != 0 && n != (size_t)per_dir * (size_t)d->dirs)
        return ox_fail(c, ONYX_E_ARG, "attribute 'activations' has %zu names, expected %d",
                       a->n, per_dir * d->dirs);
    const float *alpha, *beta;
    const size_t n_alpha = ox_attr_floats(c, "activation_alpha", &alpha);
    const size_t n_beta = ox_attr_floats(c, "activation_beta", &beta);
    size_t next_alpha = 0, next_beta = 0;
    for (int k = 0; k < per_dir * d->dirs; k++) {
        const char *s = n ? a->strings[k] : defaults[k % per_dir];
        const size_t len = n ? a->string_lens[k] : strlen(s);
        const act_info *info = NULL;
        for (size_t i = 0; i < sizeof act_table / sizeof act_table[0] && !info; i++)
            if (same_name(s, len, act_table[i].name)) info = &act_table[i];
        if (!info)
            return ox_fail(c, ONYX_E_UNSUPPORTED, "activation '%.*s' is not one the op defines",
                           (int)(len > 64 ? 64 : len), s);
        ox_rnn_act *act = &d->act[k / per_dir][k % per_dir];
        act->fn = info->fn;
        act->alpha = info->alpha;
        act->beta = info->beta;
        if (info->takes_alpha && next_alpha < n_alpha) act->alpha = alpha[next_alpha++];
        if (info->takes_beta && next_beta < n_beta) act->beta = beta[next_beta++];
    }
    return ONYX_OK;
}

/* ---- attributes and shapes -------------------------------------------------------------- */

static onyx_status check_attr_types(ox_ctx *c)
{
    static const struct {
        const char *name;
        ox_attr_type type;
    } want[] = {
        {"hidden_size", OX_ATTR_INT},       {"direction", OX_ATTR_STRING},
        {"layout", OX_ATTR_INT},            {"clip", OX_ATTR_FLOAT},
        {"activations", OX_ATTR_STRINGS},   {"activation_alpha", OX_ATTR_FLOATS},
        {"activation_beta", OX_ATTR_FLOATS}, {"linear_before_reset", OX_ATTR_INT},
        {"input_forget", OX_ATTR_INT},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        onyx_status st = ox_attr_expect(c, want[i].name, want[i].type);
        if (st) return st;
    }
    return ONYX_OK;
}

/* Direction, layout, clip and the cell options. */
static onyx_status read_options(ox_ctx *c, ox_rnn_desc *d)
{
    const char *dir = ox_attr_string(c, "direction", "forward");
    if (!strcmp(dir, "forward") || !strcmp(dir, "reverse")) {
        d->dirs = 1;
        d->reverse = dir[0] == 'r';
    } else if (!strcmp(dir, "bidirectional")) {
        d->dirs = 2;
    } else {
        return ox_fail(c, ONYX_E_ARG, "direction '%s' is not forward, reverse or bidirectional",
                       dir);
    }
    const int64_t layout = c->opset >= 14 ? ox_attr_int(c, "layout", 0) : 0;
    if (layout != 0 && layout != 1)
        return ox_fail(c, ONYX_E_ARG, "layout %lld is not 0 or 1", (long long)layout);
    d->batch_major = layout == 1;
    if (ox_attr_has(c, "clip")) {
        const float clip = ox_attr_float(c, "clip", 0);
        if (!(clip > 0))
            return ox_fail(c, ONYX_E_ARG, "clip %g is not a positive threshold", (double)clip);
        d->clip = true;
        d->clip_at = clip;
    }
    const int64_t lbr = d->kind == OX_RNN_GRU && c->opset >= 3
                            ? ox_attr_int(c, "linear_before_reset", 0) : 0;
    const int64_t forget = d->kind == OX_RNN_LSTM ? ox_attr_int(c, "input_forget", 0) : 0;
    if ((lbr != 0 && lbr != 1) || (forget != 0 && forget != 1))
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' must be 0 or 1",
                       lbr != 0 && lbr != 1 ? "linear_before_reset" : "input_forget");
    d->linear_before_reset = lbr == 1;
    d->input_forget = forget == 1;
    return ONYX_OK;
}

/* Requires input i (if present) to have X's dtype and exactly the given shape. */
static onyx_status expect_input(ox_ctx *c, int i, int rank, const int64_t *dims)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    if (!t) return ONYX_OK;
    if (i != IN_LENS && t->dtype != c->in[IN_X]->dtype)
        return ox_fail(c, ONYX_E_ARG, "input %d ('%s') is %s but X is %s", i, in_names[i],
                       onyx_dtype_name(t->dtype), onyx_dtype_name(c->in[IN_X]->dtype));
    bool same = t->rank == rank;
    for (int k = 0; same && k < rank; k++) same = t->dims[k] == dims[k];
    if (!same) {
        char got[96], want[96];
        return ox_fail(c, ONYX_E_SHAPE, "input %d ('%s') has shape %s, expected %s", i,
                       in_names[i], ox_shape_str(got, sizeof got, t->rank, t->dims),
                       ox_shape_str(want, sizeof want, rank, dims));
    }
    return ONYX_OK;
}

/* Sizes from X, W and R, then every optional input checked against them. */
static onyx_status read_shapes(ox_ctx *c, ox_rnn_desc *d)
{
    const onyx_tensor *x = c->in[IN_X], *r = c->in[IN_R];
    for (int i = IN_X; i <= IN_R; i++)
        if (c->in[i]->rank != 3)
            return ox_fail(c, ONYX_E_SHAPE, "input %d ('%s') has rank %d, expected 3", i,
                           in_names[i], c->in[i]->rank);
    d->seq = x->dims[d->batch_major ? 1 : 0];
    d->batch = x->dims[d->batch_major ? 0 : 1];
    d->input = x->dims[2];
    d->hidden = r->dims[2];
    if (ox_attr_has(c, "hidden_size") && ox_attr_int(c, "hidden_size", 0) != d->hidden)
        return ox_fail(c, ONYX_E_SHAPE, "hidden_size %lld does not match R's last dim %lld",
                       (long long)ox_attr_int(c, "hidden_size", 0), (long long)d->hidden);
    const int64_t G = ox_rnn_gates(d->kind), H = d->hidden, D = d->dirs, B = d->batch;
    const int64_t w_dims[] = {D, G * H, d->input}, r_dims[] = {D, G * H, H};
    const int64_t b_dims[] = {D, 2 * G * H}, p_dims[] = {D, 3 * H}, lens_dims[] = {B};
    const int64_t state[] = {d->batch_major ? B : D, d->batch_major ? D : B, H};
    onyx_status st;
    if ((st = expect_input(c, IN_W, 3, w_dims)) || (st = expect_input(c, IN_R, 3, r_dims)) ||
        (st = expect_input(c, IN_B, 2, b_dims)) || (st = expect_input(c, IN_LENS, 1, lens_dims)) ||
        (st = expect_input(c, IN_H0, 3, state)))
        return st;
    if (d->kind == OX_RNN_LSTM &&
        ((st = expect_input(c, IN_C0, 3, state)) || (st = expect_input(c, IN_P, 2, p_dims))))
        return st;
    return ONYX_OK;
}

/* Sequence lengths must lie in [0, seq]. */
static onyx_status check_lens(ox_ctx *c, const ox_rnn_desc *d)
{
    const onyx_tensor *lens = ox_opt_in(c, IN_LENS);
    if (!lens || !lens->data) return ONYX_OK;
    for (int64_t b = 0; b < d->batch; b++) {
        const int32_t v = ((const int32_t *)lens->data)[b];
        if (v < 0 || v > d->seq)
            return ox_fail(c, ONYX_E_ARG, "sequence_lens[%lld] = %d is outside [0, %lld]",
                           (long long)b, (int)v, (long long)d->seq);
    }
    return ONYX_OK;
}

/* Everything the kernel needs to know, from the node (infer and run both call this). */
static onyx_status describe(ox_ctx *c, ox_rnn_kind kind, ox_rnn_desc *d)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->threads = c->threads;
    const int max_in = kind == OX_RNN_LSTM ? 8 : 6, max_out = kind == OX_RNN_LSTM ? 3 : 2;
    if (c->n_in > max_in || c->n_out > max_out)
        return ox_fail(c, ONYX_E_ARG, "has %d inputs and %d outputs, at most %d and %d", c->n_in,
                       c->n_out, max_in, max_out);
    for (int i = IN_X; i <= IN_R; i++)
        if (i >= c->n_in || !c->in[i])
            return ox_fail(c, ONYX_E_ARG, "required input %d ('%s') is missing", i, in_names[i]);
    const onyx_dtype reals[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                c->opset >= 22 ? ONYX_DTYPE_BFLOAT16 : ONYX_DTYPE_UNDEFINED,
                                ONYX_DTYPE_UNDEFINED};
    const onyx_dtype ints[] = {ONYX_DTYPE_INT32, ONYX_DTYPE_UNDEFINED};
    onyx_status st;
    if ((st = ox_expect_dtype(c, IN_X, reals))) return st;
    if (ox_opt_in(c, IN_LENS) && (st = ox_expect_dtype(c, IN_LENS, ints))) return st;
    if ((st = check_attr_types(c)) || (st = read_options(c, d)) || (st = read_shapes(c, d)) ||
        (st = read_activations(c, d)) || (st = check_lens(c, d)))
        return st;
    return ONYX_OK;
}

/* ---- scratch ---------------------------------------------------------------------------- */

/* Tensors the float16/bfloat16 path widens to float32, and outputs it rounds back. */
static const onyx_tensor *widened(const ox_ctx *c, int k)
{
    return k < 8 ? ox_opt_in(c, k) : (k - 8 < c->n_out ? c->out[k - 8] : NULL);
}

/* Scratch in compute-type elements: the kernel's work buffer, plus (float16/bfloat16) a
 * float32 copy of every real input and output. */
static onyx_status scratch_elems(ox_ctx *c, const ox_rnn_desc *d, int64_t *n)
{
    if (!ox_rnn_work_elems(d, n)) return ox_fail(c, ONYX_E_LIMIT, "work buffer size overflows");
    const onyx_dtype t = c->in[IN_X]->dtype;
    if (t != ONYX_DTYPE_FLOAT16 && t != ONYX_DTYPE_BFLOAT16) return ONYX_OK;
    for (int k = 0; k < 11; k++) {
        const onyx_tensor *x = widened(c, k);
        if (!x || k == IN_LENS) continue;
        const int64_t m = ox_tensor_numel(x);
        if (m > INT64_MAX - *n) return ox_fail(c, ONYX_E_LIMIT, "scratch size overflows");
        *n += m;
    }
    return ONYX_OK;
}

/* float32 W and R known at plan time (weights) are packed for the GEMMs once, into memory
 * kept with the node, instead of on every run (see linalg.c's prepack_b for when not). */
static onyx_status prepack(ox_ctx *c, const ox_rnn_desc *d)
{
    const onyx_tensor *w = c->in[IN_W], *r = c->in[IN_R];
    c->persist = NULL;
    if (c->weights_in_place || !c->strings || c->in[IN_X]->dtype != ONYX_DTYPE_FLOAT || !w->data || !r->data ||
        c->in[IN_X]->data)
        return ONYX_OK;
    const size_t bytes = ox_rnn_packed_bytes(d);
    if (!bytes) return ONYX_OK;
    void *packed = ox_pool_alloc(c->strings, bytes, OX_ALIGN);
    if (!packed) return ox_fail(c, ONYX_E_NOMEM, "out of memory packing W and R (%zu bytes)", bytes);
    ox_rnn_pack(d, w->data, r->data, packed);
    c->persist = packed;
    return ONYX_OK;
}

static onyx_status rnn_infer(ox_ctx *c, ox_rnn_kind kind)
{
    ox_rnn_desc d;
    onyx_status st = describe(c, kind, &d);
    if (st) return st;
    const onyx_dtype t = c->in[IN_X]->dtype;
    const int64_t S = d.seq, B = d.batch, D = d.dirs, H = d.hidden;
    const int64_t y_tb[] = {S, D, B, H}, y_bt[] = {B, S, D, H};
    const int64_t st_tb[] = {D, B, H}, st_bt[] = {B, D, H};
    for (int k = OUT_Y; k < c->n_out; k++) {
        if (!c->out[k]) continue;
        if (k == OUT_Y)
            ox_set_shape(c->out[k], t, 4, d.batch_major ? y_bt : y_tb);
        else
            ox_set_shape(c->out[k], t, 3, d.batch_major ? st_bt : st_tb);
    }
    int64_t n;
    if ((st = scratch_elems(c, &d, &n))) return st;
    const size_t es = t == ONYX_DTYPE_DOUBLE ? sizeof(double) : sizeof(float);
    if ((uint64_t)n > SIZE_MAX / es) return ox_fail(c, ONYX_E_LIMIT, "scratch size overflows");
    c->scratch_bytes = (size_t)n * es;
    return prepack(c, &d);
}

/* ---- run -------------------------------------------------------------------------------- */

/* float16/bfloat16: widens the inputs into scratch after the work buffer, points io at the
 * copies (and the outputs at float32 buffers), runs, and rounds the outputs back. */
static void run_half(ox_ctx *c, const ox_rnn_desc *d, float *work, float *spare)
{
    const bool bf = c->in[IN_X]->dtype == ONYX_DTYPE_BFLOAT16;
    const void *in_f32[8] = {0};
    float *out_f32[3] = {0};
    for (int k = 0; k < 11; k++) {
        const onyx_tensor *x = widened(c, k);
        if (!x || k == IN_LENS) continue;
        const int64_t n = ox_tensor_numel(x);
        if (k < 8) {
            const uint16_t *s = x->data;
            for (int64_t i = 0; i < n; i++)
                spare[i] = bf ? ox_bf16_to_f32(s[i]) : ox_f16_to_f32(s[i]);
            in_f32[k] = spare;
        } else {
            out_f32[k - 8] = spare;
        }
        spare += n;
    }
    const onyx_tensor *lens = ox_opt_in(c, IN_LENS);
    const ox_rnn_io io = {.x = in_f32[IN_X], .w = in_f32[IN_W], .r = in_f32[IN_R],
                          .b = in_f32[IN_B], .p = in_f32[IN_P], .h0 = in_f32[IN_H0],
                          .c0 = in_f32[IN_C0], .lens = lens ? lens->data : NULL,
                          .y = out_f32[OUT_Y], .yh = out_f32[OUT_YH], .yc = out_f32[OUT_YC]};
    ox_rnn_f32(d, &io, work);
    for (int k = 0; k < c->n_out; k++) {
        if (!c->out[k]) continue;
        uint16_t *dst = c->out[k]->data;
        const int64_t n = ox_tensor_numel(c->out[k]);
        for (int64_t i = 0; i < n; i++)
            dst[i] = bf ? ox_f32_to_bf16(out_f32[k][i]) : ox_f32_to_f16(out_f32[k][i]);
    }
}

static onyx_status rnn_run(ox_ctx *c, ox_rnn_kind kind)
{
    ox_rnn_desc d;
    onyx_status st = describe(c, kind, &d);
    if (st) return st;
    if (d.batch == 0 || d.hidden == 0) return ONYX_OK; /* every output is empty */
    int64_t work;
    ox_rnn_work_elems(&d, &work); /* cannot overflow: infer sized the scratch from it */
    const onyx_dtype t = c->in[IN_X]->dtype;
    if (t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16) {
        run_half(c, &d, c->scratch, (float *)c->scratch + work);
        return ONYX_OK;
    }
    const void *in[8];
    void *out[3];
    for (int k = 0; k < 8; k++) in[k] = ox_opt_in(c, k) ? ox_opt_in(c, k)->data : NULL;
    for (int k = 0; k < 3; k++) out[k] = k < c->n_out && c->out[k] ? c->out[k]->data : NULL;
    const ox_rnn_io io = {.x = in[IN_X], .w = in[IN_W], .r = in[IN_R], .b = in[IN_B],
                          .p = in[IN_P], .h0 = in[IN_H0], .c0 = in[IN_C0], .lens = in[IN_LENS],
                          .y = out[OUT_Y], .yh = out[OUT_YH], .yc = out[OUT_YC],
                          .packed = t == ONYX_DTYPE_FLOAT ? c->persist : NULL};
    if (t == ONYX_DTYPE_DOUBLE)
        ox_rnn_f64(&d, &io, c->scratch);
    else
        ox_rnn_f32(&d, &io, c->scratch);
    return ONYX_OK;
}

static onyx_status simple_infer(ox_ctx *c) { return rnn_infer(c, OX_RNN_SIMPLE); }
static onyx_status simple_run(ox_ctx *c) { return rnn_run(c, OX_RNN_SIMPLE); }
static onyx_status gru_infer(ox_ctx *c) { return rnn_infer(c, OX_RNN_GRU); }
static onyx_status gru_run(ox_ctx *c) { return rnn_run(c, OX_RNN_GRU); }
static onyx_status lstm_infer(ox_ctx *c) { return rnn_infer(c, OX_RNN_LSTM); }
static onyx_status lstm_run(ox_ctx *c) { return rnn_run(c, OX_RNN_LSTM); }

const ox_op ox_ops_rnn[] = {
    {"RNN", "", 1, 28, simple_infer, simple_run, 0},
    {"GRU", "", 1, 28, gru_infer, gru_run, 0},
    {"LSTM", "", 1, 28, lstm_infer, lstm_run, 0},
};
const size_t ox_ops_rnn_count = sizeof ox_ops_rnn / sizeof ox_ops_rnn[0];
