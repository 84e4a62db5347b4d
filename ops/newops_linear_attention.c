/* newops_linear_attention.c — LinearAttention (ai.onnx 27).
 *
 * The recurrence runs token by token, as the spec defines it (the chunked form is only a
 * faster schedule of the same sums), with the state in float32 like the reference. Each
 * (batch, kv head) pair owns its state and writes only its own query heads' outputs, so
 * pairs run in parallel and results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "newops.h"

static const onyx_dtype linear_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16,
                                          ONYX_DTYPE_UNDEFINED};

/* A required, positive integer attribute. */
static onyx_status positive_attr(ox_ctx *c, const char *name, int64_t *out)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INT);
    if (st) return st;
    if (!ox_attr_has(c, name)) return ox_fail(c, ONYX_E_ARG, "attribute '%s' is missing", name);
    *out = ox_attr_int(c, name, 0);
    if (*out <= 0) return ox_fail(c, ONYX_E_ARG, "attribute '%s' = %lld must be positive", name,
                                  (long long)*out);
    return ONYX_OK;
}

enum { LA_QUERY, LA_KEY, LA_VALUE, LA_PAST, LA_DECAY, LA_BETA };

typedef struct linear_attn {
    int64_t batch, seq, hq, hkv, dk, dv;
    bool gating, delta;          /* update_rule: decay gate, delta correction */
    bool decay_per_head;         /* decay is (B, T, H_kv), else (B, T, H_kv * d_k) */
    int64_t beta_heads;          /* beta is (B, T, H_kv) or (B, T, 1) */
    const onyx_tensor *past, *decay, *beta;
    onyx_dtype state_dtype;      /* present_state: past_state's dtype, else query's */
    float scale;
    size_t item_floats;          /* scratch per (batch, kv head): state, k, q, v */
    size_t scratch_bytes;        /* for every (batch, kv head) */
} linear_attn;

/* Input i of a LinearAttention: rank 3 (B, T, last) with the query's B and T. */
static onyx_status packed_3d(ox_ctx *c, int i, const char *what, int64_t *last)
{
    const onyx_tensor *t = c->in[i], *q = c->in[LA_QUERY];
    if (t->dtype != q->dtype)
        return ox_fail(c, ONYX_E_ARG, "%s has dtype %s, query has %s", what,
                       onyx_dtype_name(t->dtype), onyx_dtype_name(q->dtype));
    if (t->rank != 3 || t->dims[0] != q->dims[0] || t->dims[1] != q->dims[1]) {
        char buf[96];
        return ox_fail(c, ONYX_E_SHAPE, "%s has shape %s, expected (%lld, %lld, *)", what,
                       ox_shape_str(buf, sizeof buf, t->rank, t->dims), (long long)q->dims[0],
                       (long long)q->dims[1]);
    }
    *last = t->dims[2];
    return ONYX_OK;
}

static onyx_status update_rule(ox_ctx *c, linear_attn *a)
{
    onyx_status st = ox_attr_expect(c, "update_rule", OX_ATTR_STRING);
    if (st) return st;
    const char *rule = ox_attr_string(c, "update_rule", "gated_delta");
    a->gating = !strcmp(rule, "gated") || !strcmp(rule, "gated_delta");
    a->delta = !strcmp(rule, "delta") || !strcmp(rule, "gated_delta");
    if (!a->gating && !a->delta && strcmp(rule, "linear"))
        return ox_fail(c, ONYX_E_ARG,
                       "update_rule '%s' is not one of 'linear', 'gated', 'delta', 'gated_delta'",
                       rule);
    a->decay = ox_opt_in(c, LA_DECAY);
    a->beta = ox_opt_in(c, LA_BETA);
    if (a->gating != (a->decay != NULL))
        return ox_fail(c, ONYX_E_ARG, "update_rule '%s' %s the decay input", rule,
                       a->gating ? "requires" : "forbids");
    if (a->delta != (a->beta != NULL))
        return ox_fail(c, ONYX_E_ARG, "update_rule '%s' %s the beta input", rule,
                       a->delta ? "requires" : "forbids");
    return ONYX_OK;
}

/* Head counts and sizes: q (B, T, H_q*d_k), k (B, T, H_kv*d_k), v (B, T, H_kv*d_v). */
static onyx_status linear_heads(ox_ctx *c, linear_attn *a)
{
    onyx_status st;
    if ((st = positive_attr(c, "q_num_heads", &a->hq)) ||
        (st = positive_attr(c, "kv_num_heads", &a->hkv)))
        return st;
    if (a->hq % a->hkv)
        return ox_fail(c, ONYX_E_ARG, "q_num_heads %lld is not a multiple of kv_num_heads %lld",
                       (long long)a->hq, (long long)a->hkv);
    const onyx_tensor *q = c->in[LA_QUERY];
    if (q->rank != 3)
        return ox_fail(c, ONYX_E_SHAPE, "query must be rank 3 (B, T, H*d_k), got rank %d", q->rank);
    a->batch = q->dims[0];
    a->seq = q->dims[1];
    int64_t klast, vlast;
    if ((st = packed_3d(c, LA_KEY, "key", &klast)) || (st = packed_3d(c, LA_VALUE, "value", &vlast)))
        return st;
    if (q->dims[2] % a->hq || vlast % a->hkv)
        return ox_fail(c, ONYX_E_SHAPE, "query's last dim %lld or value's %lld does not split "
                       "into %lld / %lld heads", (long long)q->dims[2], (long long)vlast,
                       (long long)a->hq, (long long)a->hkv);
    a->dk = q->dims[2] / a->hq;
    a->dv = vlast / a->hkv;
    /* hkv <= hq and dk <= the query's last dim, so this product cannot overflow. */
    if (klast != a->hkv * a->dk)
        return ox_fail(c, ONYX_E_SHAPE, "key's last dim %lld is not kv_num_heads * d_k = %lld",
                       (long long)klast, (long long)a->hkv * a->dk);
    return ONYX_OK;
}

/* decay: (B, T, H_kv) or (B, T, H_kv*d_k); beta: (B, T, H_kv) or (B, T, 1). */
static onyx_status linear_gates(ox_ctx *c, linear_attn *a)
{
    int64_t last;
    onyx_status st;
    if (a->decay) {
        if ((st = packed_3d(c, LA_DECAY, "decay", &last))) return st;
        a->decay_per_head = last == a->hkv;
        if (!a->decay_per_head && last != a->hkv * a->dk)
            return ox_fail(c, ONYX_E_SHAPE, "decay's last dim %lld is neither kv_num_heads (%lld) "
                           "nor kv_num_heads * d_k (%lld)", (long long)last, (long long)a->hkv,
                           (long long)a->hkv * a->dk);
    }
    if (a->beta) {
        if ((st = packed_3d(c, LA_BETA, "beta", &last))) return st;
        if (last != a->hkv && last != 1)
            return ox_fail(c, ONYX_E_SHAPE, "beta's last dim %lld is neither kv_num_heads (%lld) "
                           "nor 1", (long long)last, (long long)a->hkv);
        a->beta_heads = last;
    }
    return ONYX_OK;
}

/* Scratch floats per (batch, kv head) — the state, k, q and v — and in all, overflow-checked
 * (dims of empty tensors can be large). */
static onyx_status linear_scratch(ox_ctx *c, linear_attn *a)
{
    const int64_t items[2] = {a->batch, a->hkv}, state[2] = {a->dk, a->dv};
    int64_t n_items, n_state;
    /* Below INT64_MAX / 4 too, so the sum of four such terms fits both int64 and size_t. */
    const uint64_t cap = (uint64_t)(SIZE_MAX / sizeof(float)) / 4;
    if (!ox_shape_numel(2, items, &n_items) || !ox_shape_numel(2, state, &n_state) ||
        (uint64_t)n_state > cap || (uint64_t)a->dk > cap || (uint64_t)a->dv > cap)
        return ox_fail(c, ONYX_E_SHAPE, "the recurrent state is too large");
    a->item_floats = (size_t)(n_state + 2 * a->dk + a->dv);
    if (n_items && a->item_floats > SIZE_MAX / sizeof(float) / (size_t)n_items)
        return ox_fail(c, ONYX_E_SHAPE, "the recurrent state is too large");
    a->scratch_bytes = (size_t)n_items * a->item_floats * sizeof(float);
    return ONYX_OK;
}

static onyx_status linear_setup(ox_ctx *c, linear_attn *a)
{
    memset(a, 0, sizeof *a);
    onyx_status st = ox_need_io(c, 3);
    if (st || (st = ox_expect_dtype(c, LA_QUERY, linear_types)) || (st = update_rule(c, a)) ||
        (st = linear_heads(c, a)) || (st = linear_gates(c, a)))
        return st;
    a->past = ox_opt_in(c, LA_PAST);
    a->state_dtype = c->in[LA_QUERY]->dtype;
    if (a->past) {
        if ((st = ox_expect_dtype(c, LA_PAST, linear_types))) return st;
        const int64_t want[4] = {a->batch, a->hkv, a->dk, a->dv};
        if (a->past->rank != 4 || memcmp(a->past->dims, want, sizeof want)) {
            char got[96], expected[96];
            return ox_fail(c, ONYX_E_SHAPE, "past_state has shape %s, expected %s",
                           ox_shape_str(got, sizeof got, a->past->rank, a->past->dims),
                           ox_shape_str(expected, sizeof expected, 4, want));
        }
        a->state_dtype = a->past->dtype;
    }
    if ((st = ox_attr_expect(c, "scale", OX_ATTR_FLOAT))) return st;
    const float scale = ox_attr_float(c, "scale", 0.0f);
    /* 0 selects 1/sqrt(d_k); the reference applies it as a float32. */
    a->scale = scale != 0.0f ? scale : (float)(1.0 / sqrt((double)a->dk));
    return linear_scratch(c, a);
}

onyx_status ox_linear_attention_infer(ox_ctx *c)
{
    linear_attn a;
    onyx_status st = linear_setup(c, &a);
    if (st) return st;
    const int64_t hv[2] = {a.hq, a.dv};
    int64_t out_last;
    if (!ox_shape_numel(2, hv, &out_last))
        return ox_fail(c, ONYX_E_SHAPE, "q_num_heads * d_v overflows");
    const int64_t out_dims[3] = {a.batch, a.seq, out_last};
    const int64_t state_dims[4] = {a.batch, a.hkv, a.dk, a.dv};
    ox_set_shape(c->out[0], c->in[LA_QUERY]->dtype, 3, out_dims);
    if (c->n_out > 1 && c->out[1]) ox_set_shape(c->out[1], a.state_dtype, 4, state_dims);
    c->scratch_bytes = a.scratch_bytes;
    return ONYX_OK;
}

/* dst = n elements of x (B, T, packed) at batch b, token t, from packed column col. */
static void load_row(const onyx_tensor *x, int64_t b, int64_t t, int64_t col, int64_t n,
                     float *dst)
{
    const int64_t base = (b * x->dims[1] + t) * x->dims[2] + col;
    for (int64_t i = 0; i < n; i++) dst[i] = (float)nx_get(x, base + i);
}

/* S *= exp(g_t): per key dimension (row of S) or one factor for the head. */
static void decay_state(const linear_attn *a, int64_t b, int64_t t, int64_t h, float *s)
{
    const int64_t cols = a->decay->dims[2], at = (b * a->seq + t) * cols;
    for (int64_t d = 0; d < a->dk; d++) {
        const int64_t g = a->decay_per_head ? at + h : at + h * a->dk + d;
        const float f = expf((float)nx_get(a->decay, g));
        for (int64_t m = 0; m < a->dv; m++) s[d * a->dv + m] *= f;
    }
}

/* v <- beta_t * (v - S^T k): the delta rule writes only what the state does not yet hold. */
static void delta_correct(const linear_attn *a, int64_t b, int64_t t, int64_t h, const float *s,
                          const float *k, float *v)
{
    const int64_t bi = (b * a->seq + t) * a->beta_heads + (a->beta_heads == 1 ? 0 : h);
    const float beta = (float)nx_get(a->beta, bi);
    for (int64_t m = 0; m < a->dv; m++) {
        float r = 0.0f;
        for (int64_t d = 0; d < a->dk; d++) r += s[d * a->dv + m] * k[d];
        v[m] = beta * (v[m] - r);
    }
}

/* One (batch, kv head): the whole recurrence, the outputs of the query heads sharing this kv
 * head, and the final state. */
static void linear_item(ox_ctx *c, const linear_attn *a, int64_t item, float *mem)
{
    const int64_t b = item / a->hkv, h = item % a->hkv, group = a->hq / a->hkv;
    const int64_t sn = a->dk * a->dv;
    float *s = mem, *k = s + sn, *q = k + a->dk, *v = q + a->dk;
    for (int64_t i = 0; i < sn; i++) s[i] = a->past ? (float)nx_get(a->past, item * sn + i) : 0.0f;
    onyx_tensor *y = c->out[0];
    for (int64_t t = 0; t < a->seq; t++) {
        load_row(c->in[LA_KEY], b, t, h * a->dk, a->dk, k);
        load_row(c->in[LA_VALUE], b, t, h * a->dv, a->dv, v);
        if (a->gating) decay_state(a, b, t, h, s);
        if (a->delta) delta_correct(a, b, t, h, s, k, v);
        for (int64_t d = 0; d < a->dk; d++)
            for (int64_t m = 0; m < a->dv; m++) s[d * a->dv + m] += k[d] * v[m];
        for (int64_t qh = h * group; qh < (h + 1) * group; qh++) {
            load_row(c->in[LA_QUERY], b, t, qh * a->dk, a->dk, q);
            const int64_t out_at = ((b * a->seq + t) * a->hq + qh) * a->dv;
            for (int64_t m = 0; m < a->dv; m++) {
                float o = 0.0f;
                for (int64_t d = 0; d < a->dk; d++) o += q[d] * s[d * a->dv + m];
                nx_put(y, out_at + m, a->scale * o);
            }
        }
    }
    onyx_tensor *present = c->n_out > 1 ? c->out[1] : NULL;
    if (present)
        for (int64_t i = 0; i < sn; i++) nx_put(present, item * sn + i, s[i]);
}

onyx_status ox_linear_attention_run(ox_ctx *c)
{
    linear_attn a;
    onyx_status st = linear_setup(c, &a);
    if (st || (st = nx_check_scratch(c, a.scratch_bytes))) return st;
    const int64_t items = a.batch * a.hkv;
    float *mem = c->scratch;
    const int threads = c->threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && items > 1)
#endif
    for (int64_t i = 0; i < items; i++) linear_item(c, &a, i, mem + (size_t)i * a.item_floats);
    (void)threads;
    return ONYX_OK;
}
