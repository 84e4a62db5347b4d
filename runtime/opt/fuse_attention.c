/* fuse_attention.c — scaled dot-product attention, as torch exports it, into one Attention
 * node:
 *
 *   s = MatMul(Q', Kt')                         Q [B,H,S,D]; Kt = Transpose(K0, p) is K^T
 *   Q' = Q or Mul(Q, a); Kt' = Kt or Mul(Kt, b)  (F.scaled_dot_product_attention scales each
 *                                                by sqrt(scale))
 *   s' = s, Div(s, c) or Mul(s, c)               (hand-written attention scales the scores)
 *   s'' = s', Add(s', mask) or Where(cond, s', fill ≤ -1e4) / Where(cond, fill, s')
 *   y = MatMul(Softmax(s'', axis -1), V)        V [B,H,Sk,Dv]
 *
 * becomes y = Attention(Q, K, V, mask) with scale = a·b·c (or 1/c) and K [B,H,Sk,D] read
 * from K0 by the Transpose with the last two axes of p swapped (the Transpose is rewritten,
 * or goes when that is the identity). A Where with a constant condition becomes the additive
 * mask 0 / fill (s + fill is fill for every score of a sane size when fill ≤ -1e30, as the
 * Where gives; with a fill from -1e4 down, as GPT-2's -10000, the masked keys' weights
 * exp(fill + s - max) and exp(fill - max) are both exactly 0 in float32 while the scores
 * stay below about 4900 in magnitude, provided some key of every row stays, which is checked
 * on the constant condition).
 *
 * Attention (kernels/attention.c) then does the whole block head by head with two GEMMs and
 * a row softmax on a bounded scratch, instead of materialising [B,H,S,Sk] scores three times.
 *
 * Two forms of one match:
 *   - models of opset >= 23 get the standard Attention op (level 2, `onyx optimize` writes
 *     it: ox_pass_attention), unless the mask broadcasts over query rows, which onnxruntime's
 *     Attention refuses (BERT's [B,1,1,Sk] padding mask): those take the internal form;
 *   - older opsets (every TorchScript export) get a node whose op is set directly to the
 *     Attention implementation with standard attributes (ox_pass_attention_internal, run by
 *     ox_fuse_epilogues on a session's private copy only, never written: the model's opset
 *     has no such op).
 *
 * Conditions, so the fused node computes what the pattern did: every intermediate is read
 * only by the pattern and is not pinned; Q, K^T, V and the scores are float32 of known
 * shapes, fixed or symbolic (sym_shape.c: a dynamic batch or sequence length; equal dims are
 * the same size or the same dim_param), Q, K, V agree in batch, heads and head size (the
 * MatMul's batch broadcasting is not Attention's), Softmax is over the last axis, the mask
 * broadcasts to the scores without enlarging them and covers every key (Attention reads a
 * shorter mask as "the remaining keys are masked out", Add would broadcast it), and a
 * -inf Where leaves at least one key per row (Softmax of an all -inf row is NaN, Attention
 * gives zeros; likewise a row that keeps no key under a -1e4 fill). What was proved from
 * symbolic dims the internal form's op checks again when it runs (ox_op_attention_fused:
 * one head count for Q, K and V, a mask covering exactly the keys), failing with an error
 * rather than computing something else when a caller binds one name to two sizes; the
 * written form fuses symbolic masks only with a fixed key count. One difference remains: a mask
 * *input* that is -inf across a whole row gives that row zeros instead of Softmax's NaN (it
 * cannot be seen before the run; finite masks such as BERT's finfo.min are unaffected). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fused.h"
#include "op.h"
#include "opt.h"

#define MAX_GONE 8

typedef struct attn_match {
    int gone[MAX_GONE]; /* pattern nodes that go */
    int n_gone;
    int q, k0, v;       /* values: Q, K's source (K0), V */
    int kt_node;        /* the Transpose making K^T */
    int64_t perm[4];    /* K0 -> K [B,H,Sk,D] */
    double scale;
    int mask;           /* additive mask value, or -1 */
    int where;          /* Where node whose constant condition becomes the mask, or -1 */
    int where_fill_if_true; /* the fill is Where's X (true branch) rather than Y */
    float fill;
    ox_sdim dims[4];    /* scores [B,H,S,Sk] (symbolic dims: sym_shape.c) */
} attn_match;

/* The live node producing v as its only output, read only by the pattern, of op_type. */
static const ox_node *inner(const ox_opt *o, int v, const char *op_type, attn_match *m)
{
    if (v < 0 || !ox_opt_single_use(o, v) || m->n_gone == MAX_GONE) return NULL;
    int p = ox_opt_producer(o, v);
    if (p < 0) return NULL;
    const ox_node *n = &o->g->nodes[p];
    if (!ox_opt_is(n, op_type) || n->n_out != 1 || n->out[0] != v || n->n_implicit) return NULL;
    m->gone[m->n_gone++] = p;
    return n;
}

/* The single float32 value of constant v (rank <= 4), or NAN. */
static double scalar(const ox_opt *o, int v)
{
    const ox_const *c = ox_opt_const(o, v);
    if (!c || c->t.dtype != ONYX_DTYPE_FLOAT || c->t.rank > 4 || ox_tensor_numel(&c->t) != 1) return NAN;
    return ((const float *)c->t.data)[0];
}

/* For a binary node: the input other than a scalar constant (whose value goes to *c), or -1. */
static int scaled_input(const ox_opt *o, const ox_node *n, bool either_side, double *c)
{
    if (n->n_in != 2 || n->opset < 7) return -1;
    for (int k = either_side ? 0 : 1; k < 2; k++)
        if (isfinite(*c = scalar(o, n->in[k]))) return n->in[1 - k];
    return -1;
}

/* The float32 shape of v (fixed or symbolic dims) if it has rank 4, or NULL. */
static const ox_sshape *shape4(const ox_opt *o, int v)
{
    const ox_sshape *t = ox_opt_sshape(o, v);
    return t && t->rank == 4 && (t->dtype == ONYX_DTYPE_FLOAT || ox_opt_float(o, v)) ? t : NULL;
}

static bool eq(const ox_sdim *a, const ox_sdim *b) { return ox_sdim_eq(a, b); }

/* v, or the input of a Mul of v by a scalar read only by the pattern (its factor into *scale). */
static int unscaled(const ox_opt *o, int v, attn_match *m)
{
    int save = m->n_gone;
    const ox_node *mul = inner(o, v, "Mul", m);
    double c;
    int x = mul ? scaled_input(o, mul, true, &c) : -1;
    if (x < 0) {
        m->n_gone = save;
        return v;
    }
    m->scale *= c;
    return x;
}

/* The scores value s: [Div|Mul by c](MatMul(Q', Kt')); fills q, k0, kt_node, perm, scale. */
static bool match_scores(const ox_opt *o, int s, attn_match *m)
{
    int save = m->n_gone;
    m->scale = 1.0;
    const ox_node *mm = inner(o, s, "MatMul", m);
    if (!mm) {
        double c;
        const ox_node *div = inner(o, s, "Div", m);
        int x = div ? scaled_input(o, div, false, &c) : -1;
        if (x >= 0 && c != 0.0) {
            m->scale = 1.0 / c;
        } else {
            m->n_gone = save;
            const ox_node *mul = inner(o, s, "Mul", m);
            if (!mul || (x = scaled_input(o, mul, true, &c)) < 0) goto fail;
            m->scale = c;
        }
        if (!(mm = inner(o, x, "MatMul", m))) goto fail;
    }
    if (mm->n_in != 2) goto fail;
    m->q = unscaled(o, mm->in[0], m);
    int kt = unscaled(o, mm->in[1], m);
    const ox_node *tr = inner(o, kt, "Transpose", m);
    if (!tr || tr->n_in != 1) goto fail;
    m->kt_node = m->gone[m->n_gone - 1];
    m->n_gone--; /* the Transpose is rewritten, not dropped (unless it ends up the identity) */
    const ox_attr *p = ox_node_attr(tr, "perm");
    if (!p || p->type != OX_ATTR_INTS || p->n != 4) goto fail;
    bool seen[4] = {false, false, false, false};
    for (int d = 0; d < 4; d++) {
        if (p->ints[d] < 0 || p->ints[d] > 3 || seen[p->ints[d]]) goto fail;
        seen[p->ints[d]] = true;
        m->perm[d] = p->ints[d];
    }
    m->perm[2] = p->ints[3];
    m->perm[3] = p->ints[2];
    m->k0 = tr->in[0];
    /* shapes: Q [B,H,S,D], K^T [B,H,D,Sk] (the MatMul's input, before any Mul) */
    const ox_sshape *qs = shape4(o, m->q), *ks = shape4(o, kt), *ss = shape4(o, s);
    if (!qs || !ks || !ss || !eq(&ks->dims[0], &qs->dims[0]) || !eq(&ks->dims[1], &qs->dims[1]) ||
        !eq(&ks->dims[2], &qs->dims[3]))
        goto fail;
    for (int d = 0; d < 4; d++) m->dims[d] = ss->dims[d];
    if (!eq(&m->dims[0], &qs->dims[0]) || !eq(&m->dims[1], &qs->dims[1]) || !eq(&m->dims[2], &qs->dims[2]) ||
        !eq(&m->dims[3], &ks->dims[3]))
        goto fail;
    return isfinite(m->scale) && m->scale >= 0.0;
fail:
    m->n_gone = save;
    return false;
}

/* A mask of shape t broadcasts to the scores without enlarging them and covers every key. */
static bool mask_fits(const ox_sshape *t, const ox_sdim *dims)
{
    if (!t || t->rank < 1 || t->rank > 4 || !eq(&t->dims[t->rank - 1], &dims[3])) return false;
    for (int d = 0; d < t->rank - 1; d++)
        if (!(t->dims[d].known && t->dims[d].size == 1) && !eq(&t->dims[d], &dims[4 - t->rank + d])) return false;
    return true;
}

/* The shape of a constant as an ox_sshape (fixed dims). */
static const ox_sshape *const_shape(const ox_const *c, ox_sshape *s)
{
    memset(s, 0, sizeof *s);
    s->dtype = c->t.dtype;
    s->rank = c->t.rank;
    s->n_content = -1;
    for (int d = 0; d < c->t.rank; d++) {
        s->dims[d].known = true;
        s->dims[d].size = c->t.dims[d];
        s->dims[d].value = -1;
    }
    return s;
}

/* Where(cond, a, b) with a constant bool cond, one branch the scores and the other a large
 * negative scalar: *scores gets the scores value. */
static bool match_where(const ox_opt *o, const ox_node *w, int *scores, attn_match *m)
{
    if (w->n_in != 3) return false;
    const ox_const *c = ox_opt_const(o, w->in[0]);
    if (!c || c->t.dtype != ONYX_DTYPE_BOOL) return false;
    for (int k = 1; k <= 2; k++) {
        double f = scalar(o, w->in[k]);
        if (f <= -1e4 && !isnan(f)) {
            m->fill = (float)f;
            m->where_fill_if_true = k == 1;
            *scores = w->in[3 - k];
            return true;
        }
    }
    return false;
}

/* Unless the fill swallows any score (finite, <= -1e30: s + fill == fill), some key of every
 * row of the condition must stay (see the top). */
static bool where_rows_ok(const ox_const *c, const attn_match *m)
{
    if (m->fill != -INFINITY && m->fill <= -1e30f) return true;
    const uint8_t *x = c->t.data;
    const int64_t cols = c->t.dims[c->t.rank - 1], rows = cols ? ox_tensor_numel(&c->t) / cols : 0;
    for (int64_t r = 0; r < rows; r++) {
        bool kept = false;
        for (int64_t j = 0; j < cols && !kept; j++) kept = (x[r * cols + j] != 0) != m->where_fill_if_true;
        if (!kept) return false;
    }
    return true;
}

/* Node i as the last MatMul of the pattern. */
static bool match(const ox_opt *o, int i, attn_match *m)
{
    const ox_node *n = &o->g->nodes[i];
    memset(m, 0, sizeof *m);
    m->mask = m->where = -1;
    if (!ox_opt_is(n, "MatMul") || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit) return false;
    m->v = n->in[1];
    const ox_node *sm = inner(o, n->in[0], "Softmax", m);
    if (!sm || sm->n_in != 1) return false;
    const ox_attr *ax = ox_node_attr(sm, "axis");
    int64_t axis = ax ? ax->i : sm->opset >= 13 ? -1 : 1;
    if ((ax && ax->type != OX_ATTR_INT) || (axis != -1 && axis != 3)) return false;
    int x = sm->in[0];
    int save = m->n_gone;
    const ox_node *add = inner(o, x, "Add", m);
    if (add && add->n_in == 2) {
        for (int k = 0; k < 2 && m->mask < 0; k++)
            if (match_scores(o, add->in[k], m)) m->mask = add->in[1 - k];
        if (m->mask < 0 || !mask_fits(shape4(o, x) ? ox_opt_sshape(o, m->mask) : NULL, m->dims)) return false;
    } else {
        m->n_gone = save;
        const ox_node *w = inner(o, x, "Where", m);
        int s = -1;
        if (w) {
            const ox_const *c;
            ox_sshape cs;
            if (!match_where(o, w, &s, m) || !match_scores(o, s, m)) return false;
            c = ox_opt_const(o, w->in[0]);
            if (!mask_fits(const_shape(c, &cs), m->dims) || !where_rows_ok(c, m)) return false;
            m->where = save < m->n_gone ? m->gone[save] : -1;
        } else {
            m->n_gone = save;
            if (!match_scores(o, x, m)) return false;
        }
    }
    const ox_sshape *qs = shape4(o, m->q), *vs = shape4(o, m->v), *ys = shape4(o, n->out[0]);
    const ox_sshape *mk = m->mask >= 0 ? ox_opt_sshape(o, m->mask) : NULL;
    if (mk && mk->dtype != ONYX_DTYPE_FLOAT && !ox_opt_float(o, m->mask)) return false;
    return qs && vs && ys && eq(&vs->dims[0], &qs->dims[0]) && eq(&vs->dims[1], &qs->dims[1]) &&
           eq(&vs->dims[2], &m->dims[3]);
}

/* The additive mask for the Where's constant condition: 0 where the scores stay, fill elsewhere. */
static int where_mask(ox_opt *o, const attn_match *m)
{
    const ox_node *w = &o->g->nodes[m->where];
    const ox_const *c = ox_opt_const(o, w->in[0]);
    ox_const *k;
    int v = ox_opt_new_const(o, "attn_mask", ONYX_DTYPE_FLOAT, c->t.rank, c->t.dims, &k);
    if (v < 0) return -1;
    const uint8_t *x = c->t.data;
    float *d = k->t.data;
    for (int64_t j = 0, n = ox_tensor_numel(&c->t); j < n; j++) d[j] = ((x[j] != 0) == m->where_fill_if_true) ? m->fill : 0.0f;
    return v;
}

/* K [B,H,Sk,D]: K0 itself when the swapped permutation is the identity, else the Transpose
 * rewritten to it with a new output value. */
static int make_k(ox_opt *o, const attn_match *m)
{
    bool identity = true;
    for (int d = 0; d < 4; d++) identity &= m->perm[d] == d;
    if (identity) {
        o->dead[m->kt_node] = true;
        return m->k0;
    }
    ox_graph *g = o->g;
    ox_node *tr = &g->nodes[m->kt_node];
    int64_t *perm = ox_pool_array(g->pool, 4, sizeof *perm);
    if (!perm || !ox_opt_own_attrs(o, tr)) return -1;
    memcpy(perm, m->perm, sizeof m->perm);
    for (int a = 0; a < tr->n_attr; a++)
        if (!strcmp(tr->attr[a].name, "perm")) tr->attr[a].ints = perm;
    char name[256];
    do snprintf(name, sizeof name, "%.200s_k_%d", g->values[tr->out[0]].name, o->fresh++);
    while (ox_graph_find(g, name) >= 0);
    int v = ox_graph_value(g, name);
    if (v < 0) return -1;
    tr->out[0] = v;
    return v;
}

/* onnxruntime's Attention refuses a mask whose second-last dim broadcasts (the spec allows
 * it), so the written form keeps such masks unfused: files onyx writes run elsewhere. The
 * written form also wants the mask's key count fixed: the standard op reads a shorter mask
 * as "the remaining keys are masked out" and cannot be told to check it, so a symbolic key
 * count bound to a smaller size would change the answer (the internal form checks). */
static bool portable_mask(const ox_opt *o, const attn_match *m)
{
    ox_sshape cs;
    const ox_sshape *t = m->mask >= 0 ? ox_opt_sshape(o, m->mask)
                         : m->where >= 0 ? const_shape(ox_opt_const(o, o->g->nodes[m->where].in[0]), &cs) : NULL;
    return !t || (t->rank >= 2 && eq(&t->dims[t->rank - 2], &m->dims[2]) && t->dims[t->rank - 1].known);
}

static onyx_status fuse(ox_opt *o, bool internal, bool *changed)
{
    ox_graph *g = o->g;
    onyx_status st = ox_opt_sym_shapes(o);
    if (st) return st;
    for (int i = 0; i < g->n_nodes; i++) {
        attn_match m;
        if (o->dead[i]) continue;
        ox_node *n = &g->nodes[i];
        if (!internal && n->opset < 23) continue; /* the standard op only where the opset has it */
        /* the internal form checks at run time what the match proved from symbolic dims */
        const ox_op *op = internal ? &ox_op_attention_fused : ox_op_find("", "Attention", n->opset);
        if (!op || !match(o, i, &m) || (!internal && !portable_mask(o, &m))) continue;
        int mask = m.mask;
        if (m.where >= 0 && (mask = where_mask(o, &m)) < 0) return ox_opt_nomem(o);
        int k = make_k(o, &m);
        if (k < 0) return ox_opt_nomem(o);
        ox_attr *a = ox_pool_array(g->pool, 1, sizeof *a);
        const int in[4] = {m.q, k, m.v, mask};
        if (!a || !ox_opt_set_inputs(o, n, in, mask >= 0 ? 4 : 3)) return ox_opt_nomem(o);
        memset(a, 0, sizeof *a);
        a->name = "scale";
        a->type = OX_ATTR_FLOAT;
        a->f = (float)m.scale;
        n->attr = a;
        n->n_attr = 1;
        n->op_type = "Attention";
        n->op = op;
        for (int j = 0; j < m.n_gone; j++) o->dead[m.gone[j]] = true;
        o->stats->fired[internal ? OX_PASS_ATTENTION_INTERNAL : OX_PASS_ATTENTION]++;
        *changed = true;
    }
    return ONYX_OK;
}

onyx_status ox_pass_attention(ox_opt *o, bool *changed) { return fuse(o, false, changed); }

onyx_status ox_pass_attention_internal(ox_opt *o, bool *changed)
{
    /* the epilogue driver runs no constant-folding walk: find the static shapes here */
    if (!o->shapes) {
        bool any = false;
        for (int i = 0; i < o->g->n_nodes && !any; i++) any = !o->dead[i] && ox_opt_is(&o->g->nodes[i], "Softmax");
        if (!any) return ONYX_OK;
        bool folded = false;
        onyx_status st = ox_pass_fold_constants(o, &folded);
        if (st) return st;
        *changed |= folded;
        if (folded) return ONYX_OK; /* the driver re-indexes and comes back */
    }
    return fuse(o, true, changed);
}
