/* newops.c — ops introduced by the newest opsets: BitCast (ai.onnx 26), CausalConvWithState
 * (ai.onnx 27), and the registry rows of the family. LinearAttention (ai.onnx 27) and
 * FlexAttention (ai.onnx.preview 1) have files of their own. */
#include <math.h>
#include <string.h>

#include "newops.h"

static const onyx_dtype conv_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16,
                                        ONYX_DTYPE_UNDEFINED};

/* ---- BitCast ------------------------------------------------------------------------------ */

/* Bits per element of t in the ONNX sense (bool is a byte, as numpy stores it); 0 for types
 * that have no bit pattern to reinterpret (string, undefined). */
static int bit_width(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT2: case ONYX_DTYPE_UINT2: return 2;
    case ONYX_DTYPE_INT4: case ONYX_DTYPE_UINT4: case ONYX_DTYPE_FLOAT4E2M1: return 4;
    case ONYX_DTYPE_STRING: case ONYX_DTYPE_UNDEFINED: return 0;
    default: return (int)onyx_dtype_size(t) * 8;
    }
}

static onyx_status bitcast_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    if (!ox_attr_has(c, "to")) return ox_fail(c, ONYX_E_ARG, "attribute 'to' is missing");
    if ((st = ox_attr_expect(c, "to", OX_ATTR_INT))) return st;
    const int64_t to = ox_attr_int(c, "to", 0);
    const onyx_tensor *x = c->in[0];
    if (to < 0 || to > INT32_MAX || !ox_dtype_valid((int)to) || bit_width((onyx_dtype)to) == 0)
        return ox_fail(c, ONYX_E_ARG, "attribute 'to' = %lld is not a dtype BitCast can produce",
                       (long long)to);
    const int from_bits = bit_width(x->dtype), to_bits = bit_width((onyx_dtype)to);
    if (from_bits == 0)
        return ox_fail(c, ONYX_E_ARG, "input of dtype %s has no bit pattern to reinterpret",
                       onyx_dtype_name(x->dtype));
    if (from_bits != to_bits)
        return ox_fail(c, ONYX_E_ARG, "%s (%d bits) cannot be reinterpreted as %s (%d bits)",
                       onyx_dtype_name(x->dtype), from_bits, onyx_dtype_name((onyx_dtype)to),
                       to_bits);
    ox_set_shape(c->out[0], (onyx_dtype)to, x->rank, x->dims);
    return ONYX_OK;
}

/* Sub-byte elements sit one per byte: signed types sign-extended, the others in the low bits.
 * Reinterpreting takes the element's low `bits` bits and stores them in the target's form. */
static void bitcast_sub_byte(const uint8_t *src, uint8_t *dst, int64_t n, int bits, bool to_signed)
{
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): bits is 2 or 4
    const unsigned mask = (1u << bits) - 1u, sign = 1u << (bits - 1);
    for (int64_t i = 0; i < n; i++) {
        const unsigned v = src[i] & mask;
        dst[i] = (uint8_t)(to_signed ? (v ^ sign) - sign : v);
    }
}

static onyx_status bitcast_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    const int64_t n = ox_tensor_numel(x);
    const int bits = bit_width(x->dtype);
    if (bits < 8) {
        const bool to_signed = y->dtype == ONYX_DTYPE_INT4 || y->dtype == ONYX_DTYPE_INT2;
        bitcast_sub_byte(x->data, y->data, n, bits, to_signed);
        return ONYX_OK;
    }
    ox_copy_bytes(y->data, x->data, ox_tensor_bytes(x));
    /* onyx bools are the bytes 0 and 1; any other byte reads as true, as numpy's view does. */
    if (y->dtype == ONYX_DTYPE_BOOL) {
        uint8_t *b = y->data;
        for (int64_t i = 0; i < n; i++) b[i] = b[i] != 0;
    }
    return ONYX_OK;
}

/* ---- CausalConvWithState ------------------------------------------------------------------ */

/* Geometry of one CausalConvWithState: input (batch, channels, len), kernel size k. */
typedef struct causal_conv {
    int64_t batch, channels, len, k;
    const onyx_tensor *bias, *past; /* optional */
    bool silu;
} causal_conv;

static onyx_status check_dims(ox_ctx *c, int i, const char *what, int rank, const int64_t *dims)
{
    const onyx_tensor *t = c->in[i];
    bool ok = t->rank == rank;
    for (int d = 0; ok && d < rank; d++) ok = t->dims[d] == dims[d];
    if (ok) return ONYX_OK;
    char got[96], want[96];
    return ox_fail(c, ONYX_E_SHAPE, "%s has shape %s, expected %s", what,
                   ox_shape_str(got, sizeof got, t->rank, t->dims),
                   ox_shape_str(want, sizeof want, rank, dims));
}

static onyx_status causal_conv_setup(ox_ctx *c, causal_conv *s)
{
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = ox_expect_dtype(c, 0, conv_types))) return st;
    const onyx_tensor *x = c->in[0], *w = c->in[1];
    s->bias = ox_opt_in(c, 2);
    s->past = ox_opt_in(c, 3);
    for (int i = 1; i < 4; i++)
        if (ox_opt_in(c, i) && c->in[i]->dtype != x->dtype)
            return ox_fail(c, ONYX_E_ARG, "input %d has dtype %s, input 0 has %s", i,
                           onyx_dtype_name(c->in[i]->dtype), onyx_dtype_name(x->dtype));
    if ((st = ox_attr_expect(c, "activation", OX_ATTR_STRING))) return st;
    const char *act = ox_attr_string(c, "activation", "none");
    s->silu = !strcmp(act, "silu") || !strcmp(act, "swish");
    if (!s->silu && strcmp(act, "none"))
        return ox_fail(c, ONYX_E_ARG, "activation '%s' is not one of 'none', 'silu', 'swish'", act);
    if (x->rank != 3)
        return ox_fail(c, ONYX_E_SHAPE, "input must be rank 3 (batch, channels, length), got rank %d",
                       x->rank);
    s->batch = x->dims[0];
    s->channels = x->dims[1];
    s->len = x->dims[2];
    if (w->rank != 3 || w->dims[2] < 1)
        return ox_fail(c, ONYX_E_SHAPE, "weight must be (channels, 1, k) with k >= 1");
    s->k = w->dims[2];
    const int64_t wdims[3] = {s->channels, 1, s->k};
    const int64_t state_dims[3] = {s->batch, s->channels, s->k - 1};
    if ((st = check_dims(c, 1, "weight", 3, wdims))) return st;
    if (s->bias && (st = check_dims(c, 2, "bias", 1, &s->channels))) return st;
    if (s->past && (st = check_dims(c, 3, "past_state", 3, state_dims))) return st;
    return ONYX_OK;
}

static onyx_status causal_conv_infer(ox_ctx *c)
{
    causal_conv s;
    onyx_status st = causal_conv_setup(c, &s);
    if (st) return st;
    const int64_t state_dims[3] = {s.batch, s.channels, s.k - 1};
    ox_set_shape(c->out[0], c->in[0]->dtype, 3, c->in[0]->dims);
    if (c->n_out > 1 && c->out[1]) ox_set_shape(c->out[1], c->in[0]->dtype, 3, state_dims);
    return ONYX_OK;
}

/* Element p of one (batch, channel) row of the padded sequence past_state ++ input, whose
 * first k - 1 positions are the carried state (zeros without past_state). */
static double padded_at(const ox_ctx *c, const causal_conv *s, int64_t row, int64_t p)
{
    if (p >= s->k - 1) return nx_get(c->in[0], row * s->len + p - (s->k - 1));
    return s->past ? nx_get(s->past, row * (s->k - 1) + p) : 0.0;
}

static void causal_conv_row(ox_ctx *c, const causal_conv *s, int64_t row)
{
    const onyx_tensor *w = c->in[1];
    onyx_tensor *y = c->out[0];
    const int64_t ch = row % s->channels;
    const double bias = s->bias ? nx_get(s->bias, ch) : 0.0;
    for (int64_t t = 0; t < s->len; t++) {
        double acc = bias;
        for (int64_t j = 0; j < s->k; j++) acc += nx_get(w, ch * s->k + j) * padded_at(c, s, row, t + j);
        /* The activation applies to the convolution's result as stored in the dtype. */
        double v = nx_round(y->dtype, acc);
        if (s->silu) v = v / (1.0 + exp(-v));
        nx_put(y, row * s->len + t, v);
    }
    onyx_tensor *present = c->n_out > 1 ? c->out[1] : NULL;
    if (present)
        for (int64_t i = 0; i < s->k - 1; i++)
            nx_put(present, row * (s->k - 1) + i, padded_at(c, s, row, s->len + i));
}

static onyx_status causal_conv_run(ox_ctx *c)
{
    causal_conv s;
    onyx_status st = causal_conv_setup(c, &s);
    if (st) return st;
    const int64_t rows = s.batch * s.channels;
    const int threads = c->threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && rows > 1)
#endif
    for (int64_t r = 0; r < rows; r++) causal_conv_row(c, &s, r);
    (void)threads;
    return ONYX_OK;
}

/* ---- registry ----------------------------------------------------------------------------- */

const ox_op ox_ops_newops[] = {
    {"BitCast", "", 26, 28, bitcast_infer, bitcast_run, 0},
    {"CausalConvWithState", "", 27, 28, causal_conv_infer, causal_conv_run, 0},
    {"LinearAttention", "", 27, 28, ox_linear_attention_infer, ox_linear_attention_run, 0},
    {"FlexAttention", "ai.onnx.preview", 1, 1, ox_flex_attention_infer, ox_flex_attention_run, 0},
};
const size_t ox_ops_newops_count = sizeof ox_ops_newops / sizeof ox_ops_newops[0];
