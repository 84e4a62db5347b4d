/* attention.c — transformer ops: Attention (opsets 23-25 semantics), RotaryEmbedding (23)
 * and SwiGLU (28).
 *
 * Attention takes Q, K, V as 4-D [batch, heads, seq, head] or 3-D [batch, seq, heads * head]
 * (head counts from q_num_heads / kv_num_heads), with grouped-query heads (each key/value
 * head serves q_heads / kv_heads consecutive query heads), an internal cache (past_key /
 * past_value concatenated before K / V, returned as present_key / present_value) or an
 * external one (nonpad_kv_seqlen, opset 24), a bool or additive attn_mask that broadcasts and
 * may be shorter than the keys, causal masking anchored bottom-right at the cache offset, the
 * sliding window of opset 25, softcap, softmax_precision and the four qk_matmul_output modes.
 * Fully masked rows give zeros. float, float16 and bfloat16 compute in float32 (kernels/
 * attention.c rounds to T1 where the reference does); double is not supported. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "fused.h"
#include "op.h"

/* ---- shared helpers ---------------------------------------------------------------------- */

static const onyx_dtype half_or_float[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16,
                                           ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};

/* Output i, or NULL when the node omits it. */
static onyx_tensor *opt_out(const ox_ctx *c, int i) { return i < c->n_out ? c->out[i] : NULL; }

/* Input i, when present, has dtype t (the type its constraint shares with another input). */
static onyx_status same_dtype(ox_ctx *c, int i, const char *name, onyx_dtype t, const char *like)
{
    const onyx_tensor *x = ox_opt_in(c, i);
    if (!x || x->dtype == t) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "%s has dtype %s, expected %s like %s", name,
                   onyx_dtype_name(x->dtype), onyx_dtype_name(t), like);
}

/* An optional integer attribute of type INT (def when absent). */
static onyx_status int_attr(ox_ctx *c, const char *name, int64_t def, int64_t *v)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INT);
    if (!st) *v = ox_attr_int(c, name, def);
    return st;
}

static onyx_status float_attr(ox_ctx *c, const char *name, float def, float *v)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_FLOAT);
    if (!st) *v = ox_attr_float(c, name, def);
    return st;
}

/* ---- Attention ---------------------------------------------------------------------------- */

enum { IN_Q, IN_K, IN_V, IN_MASK, IN_PAST_K, IN_PAST_V, IN_NONPAD };
enum { OUT_Y, OUT_PRESENT_K, OUT_PRESENT_V, OUT_SCORES };

/* attn_mask dtypes (U). */
static const onyx_dtype mask_types[] = {
    ONYX_DTYPE_UINT8, ONYX_DTYPE_UINT16, ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64, ONYX_DTYPE_INT8,
    ONYX_DTYPE_INT16, ONYX_DTYPE_INT32, ONYX_DTYPE_INT64, ONYX_DTYPE_BFLOAT16,
    ONYX_DTYPE_FLOAT16, ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_BOOL,
    ONYX_DTYPE_UNDEFINED};

/* Everything one Attention node computes, from its attributes and input shapes. */
typedef struct attn {
    ox_attention k;   /* kernel arguments; data pointers are filled at run */
    bool packed;      /* 3-D inputs and output */
    size_t scratch;   /* bytes for `workers` workers */
    int64_t workers;
} attn;

/* Q, K or V as [batch, heads, rows, head_size]: 4-D as is, 3-D with heads packed in the last
 * dim. */
static ox_attn_view qkv_view(const onyx_tensor *t, int64_t heads, int64_t head_size)
{
    ox_attn_view v = {.dtype = t->dtype, .data = t->data};
    const int64_t rows = t->dims[t->rank - 2];
    if (t->rank == 4) {
        v.sb = heads * rows * head_size;
        v.sh = rows * head_size;
        v.sr = head_size;
    } else {
        v.sb = rows * heads * head_size;
        v.sh = head_size;
        v.sr = heads * head_size;
    }
    return v;
}

/* 3-D inputs: the head counts come from the attributes, the head sizes from dividing. */
static onyx_status packed_heads(ox_ctx *c, attn *a, int64_t *v_hidden)
{
    ox_attention *k = &a->k;
    onyx_status st = int_attr(c, "q_num_heads", 0, &k->q_heads);
    if (st || (st = int_attr(c, "kv_num_heads", 0, &k->kv_heads))) return st;
    if (k->q_heads <= 0 || k->kv_heads <= 0)
        return ox_fail(c, ONYX_E_ARG, "3-D Q, K, V need positive q_num_heads and kv_num_heads "
                       "attributes (got %lld and %lld)", (long long)k->q_heads,
                       (long long)k->kv_heads);
    const int64_t qh = c->in[IN_Q]->dims[2], kh = c->in[IN_K]->dims[2];
    *v_hidden = c->in[IN_V]->dims[2];
    if (qh % k->q_heads || kh % k->kv_heads || *v_hidden % k->kv_heads)
        return ox_fail(c, ONYX_E_SHAPE, "hidden sizes Q %lld, K %lld, V %lld are not multiples of "
                       "the head counts %lld (Q) and %lld (K, V)", (long long)qh, (long long)kh,
                       (long long)*v_hidden, (long long)k->q_heads, (long long)k->kv_heads);
    k->head_size = qh / k->q_heads;
    k->v_head_size = *v_hidden / k->kv_heads;
    if (kh / k->kv_heads != k->head_size)
        return ox_fail(c, ONYX_E_SHAPE, "K's head size %lld differs from Q's %lld",
                       (long long)(kh / k->kv_heads), (long long)k->head_size);
    return ONYX_OK;
}

/* 4-D inputs: heads and head sizes from the shapes. The head-count attributes are for 3-D
 * inputs: opset 25 refuses them here, earlier opsets accept them when they agree. */
static onyx_status unpacked_heads(ox_ctx *c, attn *a)
{
    ox_attention *k = &a->k;
    const onyx_tensor *q = c->in[IN_Q], *kt = c->in[IN_K], *v = c->in[IN_V];
    k->q_heads = q->dims[1];
    k->kv_heads = kt->dims[1];
    k->head_size = q->dims[3];
    k->v_head_size = v->dims[3];
    if (v->dims[1] != k->kv_heads || kt->dims[3] != k->head_size)
        return ox_fail(c, ONYX_E_SHAPE, "K has %lld heads of %lld, V %lld heads; expected the "
                       "same head count and Q's head size %lld", (long long)k->kv_heads,
                       (long long)kt->dims[3], (long long)v->dims[1], (long long)k->head_size);
    static const char *const names[2] = {"q_num_heads", "kv_num_heads"};
    const int64_t heads[2] = {k->q_heads, k->kv_heads};
    for (int i = 0; i < 2; i++) {
        int64_t n;
        onyx_status st = int_attr(c, names[i], heads[i], &n);
        if (st) return st;
        if (ox_attr_has(c, names[i]) && (c->opset >= 25 || n != heads[i]))
            return ox_fail(c, ONYX_E_ARG, "attribute '%s' is for 3-D inputs%s", names[i],
                           c->opset >= 25 ? "" : " (it disagrees with the 4-D shape)");
    }
    return ONYX_OK;
}

/* Q, K, V: dtypes, ranks, batch and sequence agreement, heads and head sizes. */
static onyx_status attn_qkv(ox_ctx *c, attn *a)
{
    ox_attention *k = &a->k;
    if (c->in[IN_Q]->dtype == ONYX_DTYPE_DOUBLE || c->in[IN_V]->dtype == ONYX_DTYPE_DOUBLE)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "double Q or V is not supported");
    onyx_status st;
    if ((st = ox_expect_dtype(c, IN_Q, half_or_float)) ||
        (st = ox_expect_dtype(c, IN_V, half_or_float)) ||
        (st = same_dtype(c, IN_K, "K", c->in[IN_Q]->dtype, "Q")))
        return st;
    const onyx_tensor *q = c->in[IN_Q], *kt = c->in[IN_K], *v = c->in[IN_V];
    if ((q->rank != 3 && q->rank != 4) || kt->rank != q->rank || v->rank != q->rank)
        return ox_fail(c, ONYX_E_SHAPE, "Q, K, V have ranks %d, %d, %d; expected all 3 or all 4",
                       q->rank, kt->rank, v->rank);
    a->packed = q->rank == 3;
    k->batch = q->dims[0];
    k->q_len = q->dims[q->rank - 2];
    k->new_len = kt->dims[kt->rank - 2];
    if (kt->dims[0] != k->batch || v->dims[0] != k->batch || v->dims[v->rank - 2] != k->new_len)
        return ox_fail(c, ONYX_E_SHAPE, "K and V must share Q's batch %lld and one sequence "
                       "length (K [%lld, .., %lld], V [%lld, .., %lld])", (long long)k->batch,
                       (long long)kt->dims[0], (long long)k->new_len, (long long)v->dims[0],
                       (long long)v->dims[v->rank - 2]);
    int64_t v_hidden = 0;
    if ((st = a->packed ? packed_heads(c, a, &v_hidden) : unpacked_heads(c, a))) return st;
    if (k->kv_heads <= 0 || k->q_heads % k->kv_heads)
        return ox_fail(c, ONYX_E_SHAPE, "%lld query heads are not a multiple of %lld key/value "
                       "heads", (long long)k->q_heads, (long long)k->kv_heads);
    if (a->packed && k->v_head_size > 0 && k->q_heads > INT64_MAX / k->v_head_size)
        return ox_fail(c, ONYX_E_SHAPE, "output hidden size overflows");
    k->q = qkv_view(q, k->q_heads, k->head_size);
    k->k = qkv_view(kt, k->kv_heads, k->head_size);
    k->v = qkv_view(v, k->kv_heads, k->v_head_size);
    return ONYX_OK;
}

/* past_key / past_value: both or neither, [batch, kv_heads, past, head_size / v_head_size]. */
static onyx_status attn_past(ox_ctx *c, attn *a)
{
    ox_attention *k = &a->k;
    const onyx_tensor *pk = ox_opt_in(c, IN_PAST_K), *pv = ox_opt_in(c, IN_PAST_V);
    k->past_len = 0;
    if (!pk && !pv) return ONYX_OK;
    if (!pk || !pv)
        return ox_fail(c, ONYX_E_ARG, "past_key and past_value must be given together");
    onyx_status st;
    if ((st = same_dtype(c, IN_PAST_K, "past_key", k->q.dtype, "Q")) ||
        (st = same_dtype(c, IN_PAST_V, "past_value", k->v.dtype, "V")))
        return st;
    if (pk->rank != 4 || pv->rank != 4 || pk->dims[0] != k->batch || pv->dims[0] != k->batch ||
        pk->dims[1] != k->kv_heads || pv->dims[1] != k->kv_heads || pv->dims[2] != pk->dims[2] ||
        pk->dims[3] != k->head_size || pv->dims[3] != k->v_head_size) {
        char sk[96], sv[96];
        return ox_fail(c, ONYX_E_SHAPE, "past_key %s and past_value %s must be [%lld, %lld, P, %lld] "
                       "and [%lld, %lld, P, %lld]", ox_shape_str(sk, sizeof sk, pk->rank, pk->dims),
                       ox_shape_str(sv, sizeof sv, pv->rank, pv->dims), (long long)k->batch,
                       (long long)k->kv_heads, (long long)k->head_size, (long long)k->batch,
                       (long long)k->kv_heads, (long long)k->v_head_size);
    }
    k->past_len = pk->dims[2];
    k->past_k = qkv_view(pk, k->kv_heads, k->head_size);
    k->past_v = qkv_view(pv, k->kv_heads, k->v_head_size);
    return ONYX_OK;
}

/* nonpad_kv_seqlen (opset 24): int64 [batch], not with an internal cache. */
static onyx_status attn_nonpad(ox_ctx *c, attn *a)
{
    const onyx_tensor *t = ox_opt_in(c, IN_NONPAD);
    if (!t) return ONYX_OK;
    if (c->opset < 24)
        return ox_fail(c, ONYX_E_ARG, "input 6 (nonpad_kv_seqlen) needs opset 24");
    if (ox_opt_in(c, IN_PAST_K))
        return ox_fail(c, ONYX_E_ARG, "nonpad_kv_seqlen cannot be combined with past_key/past_value");
    if (t->dtype != ONYX_DTYPE_INT64 || t->rank != 1 || t->dims[0] != a->k.batch)
        return ox_fail(c, ONYX_E_SHAPE, "nonpad_kv_seqlen must be int64 [%lld]",
                       (long long)a->k.batch);
    return ONYX_OK;
}

/* attn_mask: broadcast to [batch, q_heads, q_len, *] with a last dim of at most the key
 * count (missing keys are masked out). */
static onyx_status attn_mask(ox_ctx *c, attn *a)
{
    ox_attention *k = &a->k;
    const onyx_tensor *m = ox_opt_in(c, IN_MASK);
    const int64_t keys = k->past_len + k->new_len;
    if (!m) return ONYX_OK;
    onyx_status st = ox_expect_dtype(c, IN_MASK, mask_types);
    if (st) return st;
    if (m->rank < 1 || m->rank > 4 || m->dims[m->rank - 1] > keys)
        return ox_fail(c, ONYX_E_SHAPE, "attn_mask must have rank 1 to 4 and at most %lld "
                       "columns (the keys), got rank %d", (long long)keys, m->rank);
    const int64_t want[3] = {k->batch, k->q_heads, k->q_len};
    int64_t stride[3] = {0, 0, 0}, run = m->dims[m->rank - 1];
    for (int d = 2; d >= 0; d--) {
        const int md = m->rank - 4 + d; /* the mask dim aligned with target dim d */
        if (md < 0) break;
        if (m->dims[md] != 1 && m->dims[md] != want[d])
            return ox_fail(c, ONYX_E_SHAPE, "attn_mask dim %d (%lld) does not broadcast to %lld",
                           md, (long long)m->dims[md], (long long)want[d]);
        stride[d] = m->dims[md] == 1 ? 0 : run;
        run *= m->dims[md];
    }
    k->mask = (ox_attn_view){.dtype = m->dtype, .data = m->data, .sb = stride[0],
                             .sh = stride[1], .sr = stride[2]};
    k->mask_len = m->dims[m->rank - 1];
    k->has_mask = true;
    return ONYX_OK;
}

/* Scale, softcap, causal, window, softmax precision and the qk_matmul_output mode. */
static onyx_status attn_attrs(ox_ctx *c, attn *a)
{
    ox_attention *k = &a->k;
    const onyx_dtype t1 = k->q.dtype;
    int64_t causal, mode, precision = t1;
    float scale = 0.0f, softcap = 0.0f;
    onyx_status st;
    if ((st = float_attr(c, "scale", 0.0f, &scale)) || (st = float_attr(c, "softcap", 0.0f, &softcap)) ||
        (st = int_attr(c, "is_causal", 0, &causal)) ||
        (st = int_attr(c, "qk_matmul_output_mode", 0, &mode)) ||
        (st = int_attr(c, "softmax_precision", t1, &precision)))
        return st;
    /* Q and K are each scaled by sqrt(scale) rounded to T1, as the reference does. */
    const double s = ox_attr_has(c, "scale") ? scale : 1.0 / sqrt((double)k->head_size);
    if (!(s >= 0.0))
        return ox_fail(c, ONYX_E_ARG, "scale %g must be non-negative", s);
    k->qk_scale = (float)sqrt(s);
    k->softcap = softcap;
    k->causal = causal != 0;
    if (mode < 0 || mode > 3)
        return ox_fail(c, ONYX_E_ARG, "qk_matmul_output_mode %lld is not 0 to 3", (long long)mode);
    k->scores_mode = (int)mode;
    if (precision != ONYX_DTYPE_FLOAT && precision != ONYX_DTYPE_FLOAT16 &&
        precision != ONYX_DTYPE_DOUBLE && precision != ONYX_DTYPE_BFLOAT16)
        return ox_fail(c, ONYX_E_ARG, "softmax_precision %lld is not float, float16, double or "
                       "bfloat16", (long long)precision);
    k->softmax_type = (onyx_dtype)precision;
    k->left_window = k->right_window = -1;
    if (c->opset >= 25) {
        if ((st = int_attr(c, "left_window_size", -1, &k->left_window)) ||
            (st = int_attr(c, "right_window_size", -1, &k->right_window)))
            return st;
        if (k->left_window < -1 || k->right_window < -1)
            return ox_fail(c, ONYX_E_ARG, "window sizes %lld, %lld must be -1 or non-negative",
                           (long long)k->left_window, (long long)k->right_window);
    }
    return ONYX_OK;
}

/* Rounds the scalars the reference holds in T1 (sqrt(scale), softcap). */
static float round_t1(onyx_dtype t1, float v)
{
    if (t1 == ONYX_DTYPE_FLOAT16) return ox_f16_to_f32(ox_f32_to_f16(v));
    if (t1 == ONYX_DTYPE_BFLOAT16) return ox_bf16_to_f32(ox_f32_to_bf16(v));
    return v;
}

/* Scratch: one worker per thread, at most one per (batch, query head). The bound checked
 * first (all query rows at once, more than a worker holds) keeps the kernel's size
 * arithmetic far from overflow. */
static onyx_status attn_scratch(ox_ctx *c, attn *a)
{
    const ox_attention *k = &a->k;
    const double keys = (double)k->past_len + (double)k->new_len, rows = (double)k->q_len;
    const double floats = keys * (double)(k->head_size + k->v_head_size + 3) +
                          rows * (double)(k->head_size + k->v_head_size) + rows * keys;
    const double heads = (double)k->batch * (double)k->q_heads;
    a->workers = c->threads < 1 ? 1 : c->threads;
    if (heads < (double)a->workers) a->workers = heads < 1.0 ? 1 : (int64_t)heads;
    if (floats * 4.0 * (double)a->workers > (double)(SIZE_MAX / 8))
        return ox_fail(c, ONYX_E_LIMIT, "attention over %.0f keys needs too much scratch", keys);
    a->scratch = ox_attention_worker_bytes(k) * (size_t)a->workers;
    return ONYX_OK;
}

static onyx_status attn_setup(ox_ctx *c, attn *a)
{
    memset(a, 0, sizeof *a);
    onyx_status st = ox_need_io(c, 3);
    if (st || (st = attn_qkv(c, a)) || (st = attn_past(c, a)) || (st = attn_nonpad(c, a)) ||
        (st = attn_mask(c, a)) || (st = attn_attrs(c, a)) || (st = attn_scratch(c, a)))
        return st;
    a->k.qk_scale = round_t1(a->k.q.dtype, a->k.qk_scale);
    a->k.softcap = round_t1(a->k.q.dtype, a->k.softcap);
    return ONYX_OK;
}

static onyx_status attention_infer(ox_ctx *c)
{
    attn a;
    onyx_status st = attn_setup(c, &a);
    if (st) return st;
    const ox_attention *k = &a.k;
    const int64_t keys = k->past_len + k->new_len;
    const int64_t y4[4] = {k->batch, k->q_heads, k->q_len, k->v_head_size};
    const int64_t y3[3] = {k->batch, k->q_len, k->q_heads * k->v_head_size};
    ox_set_shape(c->out[OUT_Y], k->q.dtype, a.packed ? 3 : 4, a.packed ? y3 : y4);
    onyx_tensor *pk = opt_out(c, OUT_PRESENT_K), *pv = opt_out(c, OUT_PRESENT_V),
                *qk = opt_out(c, OUT_SCORES);
    const int64_t dk[4] = {k->batch, k->kv_heads, keys, k->head_size};
    const int64_t dv[4] = {k->batch, k->kv_heads, keys, k->v_head_size};
    const int64_t ds[4] = {k->batch, k->q_heads, k->q_len, keys};
    if (pk) ox_set_shape(pk, k->q.dtype, 4, dk);
    if (pv) ox_set_shape(pv, k->v.dtype, 4, dv);
    if (qk) ox_set_shape(qk, k->q.dtype, 4, ds);
    c->scratch_bytes = a.scratch;
    return ONYX_OK;
}

/* Every nonpad_kv_seqlen value counts keys: 0 to the key count. */
static onyx_status check_nonpad(ox_ctx *c, const ox_attention *k)
{
    const int64_t keys = k->past_len + k->new_len;
    for (int64_t b = 0; b < k->batch; b++)
        if (k->nonpad[b] < 0 || k->nonpad[b] > keys)
            return ox_fail(c, ONYX_E_ARG, "nonpad_kv_seqlen[%lld] = %lld is outside [0, %lld]",
                           (long long)b, (long long)k->nonpad[b], (long long)keys);
    return ONYX_OK;
}

/* present_key / present_value, when asked for: the past rows then the new ones. */
static void write_present(ox_ctx *c, const ox_attention *k)
{
    const struct { int out; const ox_attn_view *past, *cur; int64_t cols; } p[2] = {
        {OUT_PRESENT_K, &k->past_k, &k->k, k->head_size},
        {OUT_PRESENT_V, &k->past_v, &k->v, k->v_head_size}};
    for (int i = 0; i < 2; i++) {
        onyx_tensor *o = opt_out(c, p[i].out);
        if (!o) continue;
        ox_attention_concat(o->data, p[i].past, p[i].cur, k->batch, k->kv_heads, k->past_len,
                            k->new_len, p[i].cols, onyx_dtype_size(o->dtype));
    }
}

static onyx_status attention_run(ox_ctx *c)
{
    attn a;
    onyx_status st = attn_setup(c, &a);
    if (st) return st;
    ox_attention *k = &a.k;
    const onyx_tensor *np = ox_opt_in(c, IN_NONPAD);
    k->nonpad = np ? np->data : NULL;
    if (k->nonpad && (st = check_nonpad(c, k))) return st;
    write_present(c, k);
    const size_t per = ox_attention_worker_bytes(k);
    if (!c->scratch || c->scratch_bytes < per)
        return ox_fail(c, ONYX_E_INTERNAL, "scratch of %zu bytes granted, %zu needed",
                       c->scratch_bytes, per);
    onyx_tensor *y = c->out[OUT_Y], *qk = opt_out(c, OUT_SCORES);
    k->y = qkv_view(y, k->q_heads, k->v_head_size);
    if (qk) k->scores = qkv_view(qk, k->q_heads, k->past_len + k->new_len);
    /* As many workers as there are scratch blocks (infer asked for one per thread). */
    ox_attention_run(k, c->scratch, (int64_t)(c->scratch_bytes / per), c->threads);
    return ONYX_OK;
}

/* ---- the optimiser's form (fused.h) ------------------------------------------------------ */

/* What runtime/opt/fuse_attention.c proved of the pattern it replaced, possibly from symbolic
 * dims (one dim_param, one size), checked on the actual shapes: Q, K, V of rank 4 with one
 * head count (the pattern's MatMuls broadcast no heads), and a mask whose last dim is the key
 * count (the pattern's Add would broadcast a shorter one; the standard op masks the missing
 * keys out). A caller binding one name to two sizes gets this error, not another answer. */
static onyx_status attention_fused_check(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 3);
    if (st) return st;
    const onyx_tensor *q = c->in[IN_Q], *k = c->in[IN_K], *v = c->in[IN_V], *m = ox_opt_in(c, IN_MASK);
    char sq[96], sk[96], sv[96];
    if (q->rank != 4 || k->rank != 4 || v->rank != 4 || k->dims[1] != q->dims[1] || v->dims[1] != q->dims[1])
        return ox_fail(c, ONYX_E_SHAPE, "fused attention: Q %s, K %s, V %s must be 4-D with one head count "
                       "(the model's symbolic dims are bound inconsistently)", ox_shape_str(sq, sizeof sq, q->rank, q->dims),
                       ox_shape_str(sk, sizeof sk, k->rank, k->dims), ox_shape_str(sv, sizeof sv, v->rank, v->dims));
    if (m && (m->rank < 1 || m->dims[m->rank - 1] != k->dims[2]))
        return ox_fail(c, ONYX_E_SHAPE, "fused attention: mask %s must have one column per key (%lld) "
                       "(the model's symbolic dims are bound inconsistently)",
                       ox_shape_str(sq, sizeof sq, m->rank, m->dims), (long long)k->dims[2]);
    return ONYX_OK;
}

static onyx_status attention_fused_infer(ox_ctx *c)
{
    onyx_status st = attention_fused_check(c);
    return st ? st : attention_infer(c);
}

static onyx_status attention_fused_run(ox_ctx *c)
{
    onyx_status st = attention_fused_check(c);
    return st ? st : attention_run(c);
}

/* Not in the registry table: only the fusion pass puts it on a node. */
const ox_op ox_op_attention_fused = {"Attention", "", 23, 28, attention_fused_infer, attention_fused_run, 0};

/* ---- RotaryEmbedding ---------------------------------------------------------------------- */

enum { ROT_X, ROT_COS, ROT_SIN, ROT_POS };

/* Strides of a [batch or 1, seq or 1] operand read as [batch, seq]: 0 where it broadcasts. */
static onyx_status batch_seq_strides(ox_ctx *c, const onyx_tensor *t, const char *name,
                                     int64_t batch, int64_t seq, int64_t row, int64_t *sb,
                                     int64_t *ss)
{
    if ((t->dims[0] != 1 && t->dims[0] != batch) || (t->dims[1] != 1 && t->dims[1] != seq))
        return ox_fail(c, ONYX_E_SHAPE, "%s dims [%lld, %lld, ..] do not match batch %lld and "
                       "sequence %lld", name, (long long)t->dims[0], (long long)t->dims[1],
                       (long long)batch, (long long)seq);
    *ss = t->dims[1] == 1 ? 0 : row;
    *sb = t->dims[0] == 1 ? 0 : t->dims[1] * row;
    return ONYX_OK;
}

/* X [batch, heads, seq, head] or [batch, seq, heads * head] (num_heads attribute). */
static onyx_status rotary_layout(ox_ctx *c, ox_rotary *r)
{
    const onyx_tensor *x = c->in[ROT_X];
    if (x->rank == 4) {
        r->batch = x->dims[0];
        r->heads = x->dims[1];
        r->seq = x->dims[2];
        r->head_size = x->dims[3];
        r->ss = r->head_size;
        r->sh = r->seq * r->head_size;
        r->sb = r->heads * r->sh;
        return ONYX_OK;
    }
    if (x->rank != 3)
        return ox_fail(c, ONYX_E_SHAPE, "input has rank %d, expected 3 or 4", x->rank);
    onyx_status st = int_attr(c, "num_heads", 0, &r->heads);
    if (st) return st;
    const int64_t hidden = x->dims[2];
    if (r->heads <= 0 || hidden % r->heads)
        return ox_fail(c, ONYX_E_ARG, "3-D input needs a positive num_heads dividing its hidden "
                       "size %lld (got %lld)", (long long)hidden, (long long)r->heads);
    r->batch = x->dims[0];
    r->seq = x->dims[1];
    r->head_size = hidden / r->heads;
    r->sh = r->head_size;
    r->ss = hidden;
    r->sb = r->seq * hidden;
    return ONYX_OK;
}

/* The caches: [positions, rot_dim / 2] with position_ids [batch, seq], else
 * [batch, seq, rot_dim / 2] (batch and seq may broadcast from 1). */
static onyx_status rotary_caches(ox_ctx *c, ox_rotary *r)
{
    const onyx_tensor *cs = c->in[ROT_COS], *sn = c->in[ROT_SIN], *pos = ox_opt_in(c, ROT_POS);
    const int64_t half = r->rot_dim / 2;
    const int rank = pos ? 2 : 3;
    bool ok = cs->rank == rank && sn->rank == rank && cs->dims[rank - 1] == half;
    for (int d = 0; ok && d < rank; d++) ok = cs->dims[d] == sn->dims[d];
    if (!ok)
        return ox_fail(c, ONYX_E_SHAPE, "cos_cache and sin_cache must share one %s shape ending "
                       "in rotary_embedding_dim / 2 = %lld", pos ? "[positions, *]" : "[batch, seq, *]",
                       (long long)half);
    if (!pos) return batch_seq_strides(c, cs, "cos_cache", r->batch, r->seq, half, &r->cache_sb,
                                       &r->cache_ss);
    if (pos->dtype != ONYX_DTYPE_INT64 || pos->rank != 2)
        return ox_fail(c, ONYX_E_SHAPE, "position_ids must be int64 [batch, seq]");
    return batch_seq_strides(c, pos, "position_ids", r->batch, r->seq, 1, &r->pos_sb, &r->pos_ss);
}

static onyx_status rotary_setup(ox_ctx *c, ox_rotary *r)
{
    memset(r, 0, sizeof *r);
    onyx_status st = ox_need_io(c, 3);
    if (st || (st = ox_expect_dtype(c, ROT_X, half_or_float))) return st;
    r->dtype = c->in[ROT_X]->dtype;
    int64_t interleaved;
    if ((st = same_dtype(c, ROT_COS, "cos_cache", r->dtype, "the input")) ||
        (st = same_dtype(c, ROT_SIN, "sin_cache", r->dtype, "the input")) ||
        (st = rotary_layout(c, r)) || (st = int_attr(c, "interleaved", 0, &interleaved)) ||
        (st = int_attr(c, "rotary_embedding_dim", 0, &r->rot_dim)))
        return st;
    r->interleaved = interleaved != 0;
    if (r->rot_dim == 0) r->rot_dim = r->head_size;
    if (r->rot_dim < 0 || r->rot_dim > r->head_size || r->rot_dim % 2)
        return ox_fail(c, ONYX_E_ARG, "rotary_embedding_dim %lld must be even and at most the "
                       "head size %lld", (long long)r->rot_dim, (long long)r->head_size);
    return rotary_caches(c, r);
}

static onyx_status rotary_infer(ox_ctx *c)
{
    ox_rotary r;
    onyx_status st = rotary_setup(c, &r);
    if (!st) ox_set_shape(c->out[0], r.dtype, c->in[ROT_X]->rank, c->in[ROT_X]->dims);
    return st;
}

static onyx_status rotary_run(ox_ctx *c)
{
    ox_rotary r;
    onyx_status st = rotary_setup(c, &r);
    if (st) return st;
    const onyx_tensor *pos = ox_opt_in(c, ROT_POS);
    if (pos) {
        const int64_t n = ox_tensor_numel(pos), limit = c->in[ROT_COS]->dims[0];
        r.position_ids = pos->data;
        for (int64_t i = 0; i < n; i++)
            if (r.position_ids[i] < 0 || r.position_ids[i] >= limit)
                return ox_fail(c, ONYX_E_ARG, "position id %lld is outside the caches' %lld rows",
                               (long long)r.position_ids[i], (long long)limit);
    }
    ox_rotary_run(&r, c->in[ROT_X]->data, c->in[ROT_COS]->data, c->in[ROT_SIN]->data,
                  c->out[0]->data, c->threads);
    return ONYX_OK;
}

/* ---- SwiGLU ------------------------------------------------------------------------------- */

static const onyx_dtype real_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                        ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};

/* A and B: one real dtype and identical shapes (SwiGLU does not broadcast). */
static onyx_status swiglu_setup(ox_ctx *c, float *alpha)
{
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = ox_expect_dtype(c, 0, real_types)) ||
        (st = same_dtype(c, 1, "B", c->in[0]->dtype, "A")) ||
        (st = float_attr(c, "alpha", 1.0f, alpha)))
        return st;
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    bool same = a->rank == b->rank;
    for (int d = 0; same && d < a->rank; d++) same = a->dims[d] == b->dims[d];
    if (!same) {
        char sa[96], sb[96];
        return ox_fail(c, ONYX_E_SHAPE, "A %s and B %s must have the same shape",
                       ox_shape_str(sa, sizeof sa, a->rank, a->dims),
                       ox_shape_str(sb, sizeof sb, b->rank, b->dims));
    }
    return ONYX_OK;
}

static onyx_status swiglu_infer(ox_ctx *c)
{
    float alpha;
    onyx_status st = swiglu_setup(c, &alpha);
    if (!st) ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return st;
}

static onyx_status swiglu_run(ox_ctx *c)
{
    float alpha;
    onyx_status st = swiglu_setup(c, &alpha);
    if (st) return st;
    ox_swiglu(c->in[0]->dtype, ox_tensor_numel(c->in[0]), c->in[0]->data, c->in[1]->data,
              c->out[0]->data, alpha, c->threads);
    return ONYX_OK;
}

const ox_op ox_ops_attention[] = {
    {"Attention", "", 23, 28, attention_infer, attention_run, 0},
    {"RotaryEmbedding", "", 23, 28, rotary_infer, rotary_run, 0},
    {"SwiGLU", "", 28, 28, swiglu_infer, swiglu_run, 0},
};
const size_t ox_ops_attention_count = sizeof ox_ops_attention / sizeof ox_ops_attention[0];
