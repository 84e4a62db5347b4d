/* fold_bn.c — BatchNormalization in inference mode folded into the Conv, ConvTranspose, Gemm
 * or 2-D MatMul before it.
 *
 * BN computes y = (x - mean) * s + bias per channel with s = scale / sqrt(var + epsilon). When
 * x is such a node's output read by nothing else and every parameter is a float32 constant,
 * the producer can compute y itself: its weights scaled per output channel by s and its bias
 * b replaced by (b - mean) * s + bias. The new weights and bias are new constants (computed
 * in double, rounded once); the model's are left as they are. A MatMul has no bias, so it
 * becomes a Gemm with one (the form the Gemm passes and the session's epilogues build on). */
#include <math.h>
#include <string.h>

#include "op.h"
#include "opt.h"

typedef struct bn_params {
    int64_t channels;
    const float *mean, *bias;
    double *s; /* per channel, `channels` values */
} bn_params;

/* A float32 constant of `count` values, or NULL. */
static const float *const_floats(const ox_opt *o, int v, int64_t count)
{
    const ox_const *k = ox_opt_const(o, v);
    if (!k || k->t.dtype != ONYX_DTYPE_FLOAT || ox_tensor_numel(&k->t) != count) return NULL;
    return k->t.data;
}

/* True when BN node n is in inference mode with only its output Y. */
static bool bn_foldable(const ox_node *n)
{
    if (!ox_opt_is(n, "BatchNormalization") || n->n_in != 5 || n->n_out < 1 || n->out[0] < 0) return false;
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0) return false;
    for (int k = 0; k < 5; k++)
        if (n->in[k] < 0) return false;
    const ox_attr *tm = ox_node_attr(n, "training_mode");
    if (n->opset >= 14 && tm && (tm->type != OX_ATTR_INT || tm->i != 0)) return false;
    const ox_attr *spatial = ox_node_attr(n, "spatial");
    if (n->opset < 9 && spatial && (spatial->type != OX_ATTR_INT || spatial->i != 1)) return false;
    const ox_attr *eps = ox_node_attr(n, "epsilon");
    return !eps || eps->type == OX_ATTR_FLOAT;
}

/* Reads BN node n's parameters for `channels` channels into p (s allocated); false when they
 * are not all float32 constants of that length, or the folded values would not be finite. */
static bool bn_read(ox_opt *o, const ox_node *n, int64_t channels, bn_params *p, onyx_status *st)
{
    const float *scale = const_floats(o, n->in[1], channels);
    p->bias = const_floats(o, n->in[2], channels);
    p->mean = const_floats(o, n->in[3], channels);
    const float *var = const_floats(o, n->in[4], channels);
    if (!scale || !p->bias || !p->mean || !var || channels <= 0) return false;
    const ox_attr *eps_attr = ox_node_attr(n, "epsilon");
    double eps = eps_attr ? eps_attr->f : 1e-5f; /* as the op reads it: a float */
    p->channels = channels;
    p->s = ox_malloc(&o->alloc, (size_t)channels * sizeof *p->s);
    if (!p->s) {
        *st = ox_opt_nomem(o);
        return false;
    }
    for (int64_t c = 0; c < channels; c++) {
        p->s[c] = scale[c] / sqrt((double)var[c] + eps);
        if (!isfinite(p->s[c])) {
            ox_free(&o->alloc, p->s, (size_t)channels * sizeof *p->s);
            p->s = NULL;
            return false;
        }
    }
    return true;
}

static void bn_release(ox_opt *o, bn_params *p)
{
    if (p->s) ox_free(&o->alloc, p->s, (size_t)p->channels * sizeof *p->s);
    p->s = NULL;
}

/* New bias: (b - mean) * s + bias, with b[c] = bscale * b0[c or 0] (none: 0). */
static int folded_bias(ox_opt *o, const char *base, const bn_params *p, const float *b0, bool b0_scalar,
                       double bscale)
{
    ox_const *k;
    int v = ox_opt_new_const(o, base, ONYX_DTYPE_FLOAT, 1, &p->channels, &k);
    if (v < 0) return -1;
    float *out = k->t.data;
    for (int64_t c = 0; c < p->channels; c++) {
        double b = b0 ? bscale * b0[b0_scalar ? 0 : c] : 0.0;
        out[c] = (float)((b - p->mean[c]) * p->s[c] + p->bias[c]);
    }
    return v;
}

/* Conv node cv (weights [M, C/group, k...]) absorbs BN node bn. */
static onyx_status fold_conv(ox_opt *o, ox_node *cv, ox_node *bn, bool *done)
{
    if (cv->n_in < 2 || cv->n_in > 3 || cv->n_out != 1) return ONYX_OK;
    const ox_const *w = ox_opt_const(o, cv->in[1]);
    if (!w || w->t.dtype != ONYX_DTYPE_FLOAT || w->t.rank < 3 || w->t.dims[0] <= 0) return ONYX_OK;
    int64_t m = w->t.dims[0], per = ox_tensor_numel(&w->t) / m;
    const float *b0 = NULL;
    if (cv->n_in == 3 && cv->in[2] >= 0 && !(b0 = const_floats(o, cv->in[2], m))) return ONYX_OK;
    bn_params p = {0};
    onyx_status st = ONYX_OK;
    if (!bn_read(o, bn, m, &p, &st)) return st;
    const char *wname = o->g->values[cv->in[1]].name;
    ox_const *nw;
    int wv = ox_opt_new_const(o, wname, ONYX_DTYPE_FLOAT, w->t.rank, w->t.dims, &nw);
    int bv = wv < 0 ? -1 : folded_bias(o, wname, &p, b0, false, 1.0);
    int in[3] = {cv->in[0], wv, bv};
    if (bv < 0 || !ox_opt_set_inputs(o, cv, in, 3)) {
        bn_release(o, &p);
        return ox_opt_nomem(o);
    }
    const float *src = w->t.data;
    float *dst = nw->t.data;
    for (int64_t c = 0; c < m; c++)
        for (int64_t i = 0; i < per; i++) dst[c * per + i] = (float)(src[c * per + i] * p.s[c]);
    bn_release(o, &p);
    cv->out[0] = bn->out[0];
    *done = true;
    return ONYX_OK;
}

/* ConvTranspose node ct (weights [C, M/group, k...], group g's input channels are rows
 * g*C/group ...) absorbs BN node bn: output channel g*(M/group) + j is column j of group g's
 * rows, so each row's column j is scaled by that channel's s. */
static onyx_status fold_convt(ox_opt *o, ox_node *ct, ox_node *bn, bool *done)
{
    if (ct->n_in < 2 || ct->n_in > 3 || ct->n_out != 1) return ONYX_OK;
    const ox_const *w = ox_opt_const(o, ct->in[1]);
    if (!w || w->t.dtype != ONYX_DTYPE_FLOAT || w->t.rank < 3 || w->t.dims[0] <= 0 || w->t.dims[1] <= 0)
        return ONYX_OK;
    const ox_attr *ga = ox_node_attr(ct, "group");
    if (ga && ga->type != OX_ATTR_INT) return ONYX_OK;
    const int64_t group = ga ? ga->i : 1, rows = w->t.dims[0], per_group = w->t.dims[1];
    /* a group count the op would refuse: leave the node for the op to report */
    if (group <= 0 || rows % group || per_group > INT64_MAX / group) return ONYX_OK;
    const int64_t m = per_group * group, rows_per_group = rows / group;
    const int64_t taps = ox_tensor_numel(&w->t) / (rows * per_group);
    const float *b0 = NULL;
    if (ct->n_in == 3 && ct->in[2] >= 0 && !(b0 = const_floats(o, ct->in[2], m))) return ONYX_OK;
    bn_params p = {0};
    onyx_status st = ONYX_OK;
    if (!bn_read(o, bn, m, &p, &st)) return st;
    const char *wname = o->g->values[ct->in[1]].name;
    ox_const *nw;
    int wv = ox_opt_new_const(o, wname, ONYX_DTYPE_FLOAT, w->t.rank, w->t.dims, &nw);
    int bv = wv < 0 ? -1 : folded_bias(o, wname, &p, b0, false, 1.0);
    int in[3] = {ct->in[0], wv, bv};
    if (bv < 0 || !ox_opt_set_inputs(o, ct, in, 3)) {
        bn_release(o, &p);
        return ox_opt_nomem(o);
    }
    const float *src = w->t.data;
    float *dst = nw->t.data;
    for (int64_t r = 0; r < rows; r++) {
        const double *s = p.s + r / rows_per_group * per_group; /* the row's group's channels */
        for (int64_t j = 0; j < per_group; j++) {
            const int64_t at = (r * per_group + j) * taps;
            for (int64_t k = 0; k < taps; k++) dst[at + k] = (float)(src[at + k] * s[j]);
        }
    }
    bn_release(o, &p);
    ct->out[0] = bn->out[0];
    *done = true;
    return ONYX_OK;
}

/* MatMul node mm of a matrix A (rank 2 whatever the inputs) by a float32 constant matrix B
 * [K, N] absorbs BN node bn: the output is [M, N], its channels (axis 1) are B's columns.
 * The node becomes Gemm(A, B s, (0 - mean) s + bias). */
static onyx_status fold_matmul(ox_opt *o, ox_node *mm, ox_node *bn, bool *done)
{
    if (mm->n_in != 2 || mm->n_out != 1 || mm->opset < 7) return ONYX_OK; /* Gemm broadcasts C from 7 */
    const ox_const *b = ox_opt_const(o, mm->in[1]);
    if (!b || b->t.dtype != ONYX_DTYPE_FLOAT || b->t.rank != 2 || ox_opt_rank(o, mm->in[0]) != 2) return ONYX_OK;
    const ox_op *gemm = ox_op_find("", "Gemm", mm->opset);
    if (!gemm) return ONYX_OK;
    const int64_t k = b->t.dims[0], n = b->t.dims[1];
    bn_params p = {0};
    onyx_status st = ONYX_OK;
    if (!bn_read(o, bn, n, &p, &st)) return st;
    const char *bname = o->g->values[mm->in[1]].name;
    ox_const *nb;
    int bv = ox_opt_new_const(o, bname, ONYX_DTYPE_FLOAT, 2, b->t.dims, &nb);
    int cv = bv < 0 ? -1 : folded_bias(o, bname, &p, NULL, false, 1.0);
    int in[3] = {mm->in[0], bv, cv};
    if (cv < 0 || !ox_opt_set_inputs(o, mm, in, 3)) {
        bn_release(o, &p);
        return ox_opt_nomem(o);
    }
    const float *src = b->t.data;
    float *dst = nb->t.data;
    for (int64_t r = 0; r < k; r++)
        for (int64_t c = 0; c < n; c++) dst[r * n + c] = (float)(src[r * n + c] * p.s[c]);
    bn_release(o, &p);
    mm->op_type = "Gemm";
    mm->op = gemm;
    mm->out[0] = bn->out[0];
    *done = true;
    return ONYX_OK;
}

/* Gemm node gm (y = alpha A B' + beta C, B' = B or its transpose) absorbs BN node bn: the
 * channels are the columns of y. C must be the same for every row (a scalar or a row). */
static onyx_status fold_gemm(ox_opt *o, ox_node *gm, ox_node *bn, bool *done)
{
    if (gm->opset < 7 || gm->n_in < 2 || gm->n_in > 3 || gm->n_out != 1) return ONYX_OK;
    const ox_const *b = ox_opt_const(o, gm->in[1]);
    if (!b || b->t.dtype != ONYX_DTYPE_FLOAT || b->t.rank != 2) return ONYX_OK;
    const ox_attr *tb = ox_node_attr(gm, "transB"), *beta_attr = ox_node_attr(gm, "beta");
    if ((tb && tb->type != OX_ATTR_INT) || (beta_attr && beta_attr->type != OX_ATTR_FLOAT)) return ONYX_OK;
    bool trans = tb && tb->i;
    int64_t n = b->t.dims[trans ? 0 : 1];
    const float *c0 = NULL;
    bool c_scalar = false;
    if (gm->n_in == 3 && gm->in[2] >= 0) {
        const ox_const *c = ox_opt_const(o, gm->in[2]);
        if (!c || c->t.dtype != ONYX_DTYPE_FLOAT || c->t.rank > 2) return ONYX_OK;
        int64_t cn = ox_tensor_numel(&c->t);
        bool row = cn == n && (c->t.rank == 1 || (c->t.rank == 2 && c->t.dims[0] == 1));
        c_scalar = cn == 1;
        if (!row && !c_scalar) return ONYX_OK;
        c0 = c->t.data;
    }
    bn_params p = {0};
    onyx_status st = ONYX_OK;
    if (!bn_read(o, bn, n, &p, &st)) return st;
    const char *bname = o->g->values[gm->in[1]].name;
    ox_const *nb;
    int bv = ox_opt_new_const(o, bname, ONYX_DTYPE_FLOAT, 2, b->t.dims, &nb);
    int cv = bv < 0 ? -1 : folded_bias(o, bname, &p, c0, c_scalar, beta_attr ? beta_attr->f : 1.0);
    int in[3] = {gm->in[0], bv, cv};
    if (cv < 0 || !ox_opt_set_inputs(o, gm, in, 3) || !ox_opt_own_attrs(o, gm)) {
        bn_release(o, &p);
        return ox_opt_nomem(o);
    }
    const float *src = b->t.data;
    float *dst = nb->t.data;
    for (int64_t r = 0; r < b->t.dims[0]; r++)
        for (int64_t c = 0; c < b->t.dims[1]; c++) {
            int64_t ch = trans ? r : c, i = r * b->t.dims[1] + c;
            dst[i] = (float)(src[i] * p.s[ch]);
        }
    bn_release(o, &p);
    /* the folded bias already carries beta */
    for (int a = 0; a < gm->n_attr; a++)
        if (gm->attr[a].name && !strcmp(gm->attr[a].name, "beta")) gm->attr[a].f = 1.0f;
    gm->out[0] = bn->out[0];
    *done = true;
    return ONYX_OK;
}

onyx_status ox_pass_fold_bn(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *bn = &g->nodes[i];
        if (o->dead[i] || !bn_foldable(bn) || !ox_opt_single_use(o, bn->in[0])) continue;
        int p = ox_opt_producer(o, bn->in[0]);
        if (p < 0) continue;
        ox_node *prev = &g->nodes[p];
        if (prev->out[0] != bn->in[0] || prev->n_implicit) continue;
        bool done = false;
        onyx_status st = ONYX_OK;
        ox_pass kind = OX_PASS_COUNT;
        if (ox_opt_is(prev, "Conv")) {
            kind = OX_PASS_BN_CONV;
            st = fold_conv(o, prev, bn, &done);
        } else if (ox_opt_is(prev, "Gemm")) {
            kind = OX_PASS_BN_GEMM;
            st = fold_gemm(o, prev, bn, &done);
        } else if (ox_opt_is(prev, "ConvTranspose")) {
            kind = OX_PASS_BN_CONVTRANSPOSE;
            st = fold_convt(o, prev, bn, &done);
        } else if (ox_opt_is(prev, "MatMul")) {
            kind = OX_PASS_BN_MATMUL;
            st = fold_matmul(o, prev, bn, &done);
        }
        if (st) return st;
        if (!done) continue;
        o->dead[i] = true;
        o->stats->fired[kind]++;
        *changed = true;
    }
    return ONYX_OK;
}
