/* fold_into_conv.c — neighbours of a Conv that its attributes or constants can absorb, so
 * the result is a standard Conv (level 2; `onyx optimize` writes it out):
 *
 *   - Conv -> Mul(c) / Div(c), c a float32 constant per output channel ([M,1,1], [1,M,1,1],
 *     … or one value): weights and bias scaled, W' = W c, b' = b c (or / c);
 *   - Conv -> Add(c) / Sub(c), c likewise: b' = b + c (or - c);
 *   - Pad (mode constant, value zero, constant pads on the spatial dims only) -> Conv or
 *     AveragePool with count_include_pad = 1: the pads are added to the consumer's own. A
 *     zero-padded input convolves exactly as the same input with the Conv padding it; an
 *     average that counts the padding counts the Pad's zeros alike. MaxPool is left alone
 *     (its padding is -inf, not zero), and so is AveragePool without count_include_pad or
 *     with ceil_mode (see fold_pad).
 *
 * Mul/Add need the Conv's weights (and bias, if any) to be float32 constants and its output
 * to be read only by that node and not pinned; the Pad's output likewise. New weights and
 * biases are new constants computed in double and rounded once (the model's stay as they
 * are); a factor that would make them non-finite (zero divisor, infinity) is not folded. */
#include <math.h>
#include <string.h>

#include "opt.h"

/* ---- Mul / Div / Add / Sub by per-channel constants -------------------------------------- */

typedef enum chan_op { CH_MUL, CH_DIV, CH_ADD, CH_SUB } chan_op;

/* Conv node cv whose weights and bias can be replaced: float32 constant weights of rank >= 3,
 * bias absent or a float32 constant [M]. */
static bool conv_constants(const ox_opt *o, const ox_node *cv, const ox_const **w, const ox_const **b)
{
    if (!ox_opt_is(cv, "Conv") || cv->n_in < 2 || cv->n_in > 3 || cv->n_out != 1 || cv->n_implicit) return false;
    *w = ox_opt_const(o, cv->in[1]);
    if (!*w || (*w)->t.dtype != ONYX_DTYPE_FLOAT || (*w)->t.rank < 3 || (*w)->t.dims[0] <= 0) return false;
    *b = NULL;
    if (cv->n_in < 3 || cv->in[2] < 0) return true;
    *b = ox_opt_const(o, cv->in[2]);
    return *b && (*b)->t.dtype == ONYX_DTYPE_FLOAT && (*b)->t.rank == 1 && (*b)->t.dims[0] == (*w)->t.dims[0];
}

/* Whether constant c, broadcast against an output [N, M, spatial...] of rank r, is one value
 * or one value per channel (and broadcasting it changes nothing of the output's shape);
 * *step is 0 for one value, 1 per channel. */
static bool per_channel(const ox_const *c, int r, int64_t m, int *step)
{
    if (c->t.dtype != ONYX_DTYPE_FLOAT || c->t.rank > r) return false;
    int64_t n = ox_tensor_numel(&c->t);
    if (n == 1) {
        *step = 0;
        return true;
    }
    int ch = 1 - (r - c->t.rank); /* the axis of c that lines up with the channels */
    if (ch < 0 || n != m) return false;
    for (int d = 0; d < c->t.rank; d++)
        if (d != ch && c->t.dims[d] != 1) return false;
    *step = 1;
    return true;
}

/* Node n as Conv-output (op) constant: *conv, *op and the constant; false when it is not. */
static bool match_channel_op(const ox_opt *o, const ox_node *n, int *conv, chan_op *op, const ox_const **c)
{
    static const char *const names[] = {"Mul", "Div", "Add", "Sub"};
    int kind = -1;
    for (int k = 0; k < 4; k++)
        if (ox_opt_is(n, names[k])) kind = k;
    if (kind < 0 || n->opset < 7 || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit) return false;
    *op = (chan_op)kind;
    bool commutes = *op == CH_MUL || *op == CH_ADD;
    for (int k = 0; k < (commutes ? 2 : 1); k++) {
        int y = n->in[k];
        if (!ox_opt_single_use(o, y) || (*conv = ox_opt_producer(o, y)) < 0) continue;
        if (o->g->nodes[*conv].out[0] != y || !(*c = ox_opt_const(o, n->in[1 - k]))) continue;
        return true;
    }
    return false;
}

/* y = op(b[ch], c[ch]) in double, or op(w, c) for the weights; false when not finite. */
static bool apply(chan_op op, double v, double c, float *out)
{
    double r = op == CH_MUL ? v * c : op == CH_DIV ? v / c : op == CH_ADD ? v + c : v - c;
    *out = (float)r;
    return isfinite(*out);
}

/* Conv node cv absorbs op by constant c (already checked per channel, `step`). */
static onyx_status fold_channel_op(ox_opt *o, ox_node *cv, chan_op op, const ox_const *c, int step, bool *done)
{
    const ox_const *w, *b;
    if (!conv_constants(o, cv, &w, &b)) return ONYX_OK;
    const int64_t m = w->t.dims[0], per = ox_tensor_numel(&w->t) / m;
    const float *cv_data = c->t.data, *b0 = b ? b->t.data : NULL;
    const bool scales = op == CH_MUL || op == CH_DIV;
    for (int64_t ch = 0; ch < m; ch++) { /* a zero divisor or non-finite factor: leave it */
        double f = cv_data[ch * step];
        if (!isfinite(f) || (op == CH_DIV && f == 0.0)) return ONYX_OK;
    }
    const char *wname = o->g->values[cv->in[1]].name;
    ox_const *nw = NULL, *nb = NULL;
    int wv = cv->in[1], bv = b ? cv->in[2] : -1;
    if (scales && (wv = ox_opt_new_const(o, wname, ONYX_DTYPE_FLOAT, w->t.rank, w->t.dims, &nw)) < 0)
        return ox_opt_nomem(o);
    if ((b || !scales) && (bv = ox_opt_new_const(o, wname, ONYX_DTYPE_FLOAT, 1, &m, &nb)) < 0)
        return ox_opt_nomem(o);
    bool finite = true;
    for (int64_t ch = 0; ch < m; ch++) {
        const double f = cv_data[ch * step];
        if (nw)
            for (int64_t i = 0; i < per; i++)
                finite &= apply(op, ((const float *)w->t.data)[ch * per + i], f, (float *)nw->t.data + ch * per + i);
        if (nb) finite &= apply(op, b0 ? b0[ch] : 0.0, f, (float *)nb->t.data + ch);
    }
    if (!finite) return ONYX_OK; /* the new constants stay unread; dead-value clean-up is the writer's */
    int in[3] = {cv->in[0], wv, bv};
    if (!ox_opt_set_inputs(o, cv, in, bv >= 0 ? 3 : 2)) return ox_opt_nomem(o);
    *done = true;
    return ONYX_OK;
}

/* ---- Pad into the next Conv / AveragePool ------------------------------------------------ */

/* The string attribute `name` of n is absent or equals `want`. */
static bool str_attr_is(const ox_node *n, const char *name, const char *want)
{
    const ox_attr *a = ox_node_attr(n, name);
    return !a || (a->type == OX_ATTR_STRING && !strcmp(a->s, want));
}

/* All bytes of constant k are zero (so its value is +0 whatever its type). */
static bool all_zero(const ox_const *k)
{
    const unsigned char *p = k->t.data;
    size_t bytes = ox_tensor_bytes(&k->t);
    for (size_t i = 0; i < bytes; i++)
        if (p[i]) return false;
    return true;
}

/* Pad node n's pads when it pads with zeros in constant mode by constant amounts; *len gets
 * their count (2 x rank). */
static const int64_t *zero_pads(const ox_opt *o, const ox_node *n, int *len)
{
    if (!ox_opt_is(n, "Pad") || n->opset < 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit || n->n_in < 1 ||
        !str_attr_is(n, "mode", "constant"))
        return NULL;
    if (n->opset < 11) {
        const ox_attr *p = ox_node_attr(n, "pads"), *v = ox_node_attr(n, "value");
        if (n->n_in != 1 || !p || p->type != OX_ATTR_INTS || p->n > 2 * ONYX_MAX_RANK) return NULL;
        if (v && (v->type != OX_ATTR_FLOAT || v->f != 0.0f || signbit(v->f))) return NULL;
        *len = (int)p->n;
        return p->ints;
    }
    if (n->n_in < 2 || n->n_in > 4 || (n->n_in == 4 && n->in[3] >= 0)) return NULL; /* axes: not handled */
    if (n->n_in >= 3 && n->in[2] >= 0) {
        const ox_const *v = ox_opt_const(o, n->in[2]);
        if (!v || ox_tensor_numel(&v->t) != 1 || !all_zero(v)) return NULL;
    }
    const ox_const *p = ox_opt_const(o, n->in[1]);
    if (!p || p->t.dtype != ONYX_DTYPE_INT64 || p->t.rank != 1 || p->t.dims[0] > 2 * ONYX_MAX_RANK) return NULL;
    *len = (int)p->t.dims[0];
    return p->t.data;
}

/* Sets node n's ints attribute `name` (a private attribute array, a new list). */
static bool set_ints(ox_opt *o, ox_node *n, const char *name, const int64_t *v, int count)
{
    int64_t *ints = ox_pool_array(o->g->pool, (size_t)count, sizeof *ints);
    if (!ints) return false;
    memcpy(ints, v, (size_t)count * sizeof *ints);
    int at = -1;
    for (int a = 0; a < n->n_attr; a++)
        if (n->attr[a].name && !strcmp(n->attr[a].name, name)) at = a;
    ox_attr *attrs = ox_pool_array(o->g->pool, (size_t)n->n_attr + (at < 0), sizeof *attrs);
    if (!attrs) return false;
    if (n->n_attr) memcpy(attrs, n->attr, (size_t)n->n_attr * sizeof *attrs);
    if (at < 0) {
        at = n->n_attr++;
        memset(&attrs[at], 0, sizeof attrs[at]);
        attrs[at].name = name;
    }
    attrs[at].type = OX_ATTR_INTS;
    attrs[at].ints = ints;
    attrs[at].n = (size_t)count;
    n->attr = attrs;
    return true;
}

/* Consumer node cn (reading Pad node pd's output as input 0) absorbs the Pad. */
static onyx_status fold_pad(ox_opt *o, ox_node *cn, const ox_node *pd, bool *done)
{
    int len;
    const int64_t *pads = zero_pads(o, pd, &len);
    if (!pads || len % 2 || len < 6 || cn->in[0] != pd->out[0] || !str_attr_is(cn, "auto_pad", "NOTSET")) return ONYX_OK;
    const int r = len / 2, nd = r - 2;
    if (ox_opt_is(cn, "Conv")) {
        const ox_const *w = ox_opt_const(o, cn->in[1]);
        if (cn->n_in < 2 || (w && w->t.rank != r)) return ONYX_OK;
    } else if (ox_opt_is(cn, "AveragePool")) {
        /* ceil_mode: a last window that starts in the Pad's zeros would start in the pool's own
         * padding once folded, and such windows are dropped, so the output could shrink */
        const ox_attr *cip = ox_node_attr(cn, "count_include_pad"), *ceil = ox_node_attr(cn, "ceil_mode");
        if (!cip || cip->type != OX_ATTR_INT || cip->i != 1 || (ceil && (ceil->type != OX_ATTR_INT || ceil->i)))
            return ONYX_OK;
    } else {
        return ONYX_OK;
    }
    if (pads[0] || pads[1] || pads[r] || pads[r + 1]) return ONYX_OK; /* batch or channels */
    for (int d = 0; d < len; d++)
        if (pads[d] < 0) return ONYX_OK; /* cropping */
    int64_t merged[2 * ONYX_MAX_RANK];
    const ox_attr *old = ox_node_attr(cn, "pads");
    if (old && (old->type != OX_ATTR_INTS || old->n != 2 * (size_t)nd)) return ONYX_OK;
    for (int d = 0; d < nd; d++) {
        merged[d] = (old ? old->ints[d] : 0) + pads[2 + d];
        merged[nd + d] = (old ? old->ints[nd + d] : 0) + pads[r + 2 + d];
    }
    if (!set_ints(o, cn, "pads", merged, 2 * nd)) return ox_opt_nomem(o);
    cn->in[0] = pd->in[0];
    *done = true;
    return ONYX_OK;
}

onyx_status ox_pass_fold_into_conv(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    for (int i = 0; i < g->n_nodes; i++) {
        if (o->dead[i]) continue;
        ox_node *n = &g->nodes[i];
        bool done = false;
        onyx_status st = ONYX_OK;
        int conv;
        chan_op op;
        const ox_const *c, *w, *b;
        int step;
        if (match_channel_op(o, n, &conv, &op, &c) && conv_constants(o, &g->nodes[conv], &w, &b) &&
            per_channel(c, w->t.rank, w->t.dims[0], &step)) {
            if ((st = fold_channel_op(o, &g->nodes[conv], op, c, step, &done))) return st;
            if (!done) continue;
            g->nodes[conv].out[0] = n->out[0];
            o->dead[i] = true;
            o->stats->fired[op == CH_MUL || op == CH_DIV ? OX_PASS_MUL_CONV : OX_PASS_ADD_CONV]++;
            *changed = true;
            continue;
        }
        if ((ox_opt_is(n, "Conv") || ox_opt_is(n, "AveragePool")) && n->n_in >= 1 && !n->n_implicit &&
            ox_opt_single_use(o, n->in[0])) {
            int p = ox_opt_producer(o, n->in[0]);
            if (p < 0) continue;
            if ((st = fold_pad(o, n, &g->nodes[p], &done))) return st;
            if (!done) continue;
            o->dead[p] = true;
            o->stats->fired[OX_PASS_PAD_CONV]++;
            *changed = true;
        }
    }
    return ONYX_OK;
}
