/* fuse_transformer.c — the decomposed forms torch exports for LayerNorm and GELU, back into
 * the standard ops, written out by `onyx optimize`, so only where the model's opset has them:
 *
 *   LayerNormalization (opset 17+), from
 *     m = ReduceMean(x, last axes); d = Sub(x, m); v = ReduceMean(Pow(d, 2), same axes);
 *     y = Div(d, Sqrt(Add(v, eps)))  (or Mul(d, Reciprocal(Sqrt(...))));
 *     out = Add(Mul(y, gamma), beta)  (beta optional; gamma and beta float constants)
 *   Gelu (opset 20+), from
 *     erf form:  h = Add(Erf(Div(x, √2) or Mul(x, 1/√2)), 1)
 *     tanh form: h = Add(Tanh(Mul(Add(x, Mul(Pow(x, 3), 0.044715)), √(2/π))), 1)  (approximate="tanh")
 *     then out = Mul(Mul(x, h), 0.5), Mul(Mul(h, 0.5), x) or Mul(Mul(x, 0.5), h).
 *   RMSNormalization (opset 23+), from Mul(x / sqrt(ReduceMean(Pow(x, 2)) + eps), gamma).
 * Below those opsets the same matches are session-only (ox_pass_transformer_internal: the
 * node gets the op of its first opset, never written), and so is skip + LayerNorm
 * (ox_pass_skip_layer_norm: LayerNormalization(Add(a, b)) adds b itself).
 * Every intermediate value must be read only inside the pattern (and not be pinned); the
 * last node of the pattern becomes the fused op, the others go. */
#include <math.h>
#include <string.h>

#include "fused.h"
#include "op.h"
#include "opt.h"

#define MAX_PAT 12
#define SQRT2 1.4142135623730951
#define SQRT_2_OVER_PI 0.7978845608028654

typedef struct match {
    int nodes[MAX_PAT]; /* pattern nodes that go (the last one is rewritten instead) */
    int n;
} match;

/* The live node producing v as op_type with v read only by the pattern, or NULL. */
static ox_node *inner(const ox_opt *o, int v, const char *op_type, match *m)
{
    if (!ox_opt_single_use(o, v)) return NULL;
    int p = ox_opt_producer(o, v);
    if (p < 0 || !ox_opt_is(&o->g->nodes[p], op_type) || o->g->nodes[p].out[0] != v || m->n == MAX_PAT) return NULL;
    m->nodes[m->n++] = p;
    return &o->g->nodes[p];
}

/* The single float value of constant v, or NAN. */
static double scalar(const ox_opt *o, int v)
{
    const ox_const *c = ox_opt_const(o, v);
    if (!c || ox_tensor_numel(&c->t) != 1) return NAN;
    if (c->t.dtype == ONYX_DTYPE_FLOAT) return ((const float *)c->t.data)[0];
    if (c->t.dtype == ONYX_DTYPE_DOUBLE) return ((const double *)c->t.data)[0];
    return NAN;
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-4 * fabs(b); }

/* For binary node n with one input a constant scalar near `want`: the other input, or -1. */
static int other_than_scalar(const ox_opt *o, const ox_node *n, double want)
{
    if (n->n_in != 2 || n->opset < 7) return -1;
    for (int k = 0; k < 2; k++)
        if (near(scalar(o, n->in[k]), want)) return n->in[1 - k];
    return -1;
}

/* The ReduceMean's axes as a count of trailing axes (axes [-k..-1], or [r-k..r-1] for a known
 * rank r), or 0 when they are not such, or keepdims is off. */
static int trailing_axes(const ox_opt *o, const ox_node *n, int x)
{
    const ox_attr *kd = ox_node_attr(n, "keepdims");
    if (kd && (kd->type != OX_ATTR_INT || kd->i != 1)) return 0;
    int64_t axes[ONYX_MAX_RANK];
    int64_t count = 0;
    if (n->opset < 18) {
        const ox_attr *a = ox_node_attr(n, "axes");
        if (!a || a->type != OX_ATTR_INTS || a->n == 0 || a->n > ONYX_MAX_RANK || n->n_in != 1) return 0;
        count = (int64_t)a->n;
        memcpy(axes, a->ints, a->n * sizeof *axes);
    } else {
        const ox_const *c = n->n_in == 2 ? ox_opt_const(o, n->in[1]) : NULL;
        if (!c || c->t.dtype != ONYX_DTYPE_INT64 || c->t.rank != 1) return 0;
        count = c->t.dims[0];
        if (count <= 0 || count > ONYX_MAX_RANK) return 0;
        memcpy(axes, c->t.data, (size_t)count * sizeof *axes);
    }
    int r = ox_opt_rank(o, x);
    bool seen[ONYX_MAX_RANK + 1] = {false};
    for (int64_t i = 0; i < count; i++) {
        int64_t a = axes[i];
        if (a >= 0) a = r >= 0 ? a - r : 1; /* as a negative axis; unknown rank: refuse */
        if (a < -count || a >= 0 || seen[-a]) return 0;
        seen[-a] = true;
    }
    return (int)count;
}

static bool float_const(const ox_opt *o, int v)
{
    const ox_const *c = ox_opt_const(o, v);
    return c && c->t.dtype == ONYX_DTYPE_FLOAT;
}

/* Rewrites node n into op_type(inputs) of `opset` with the given attributes (names and
 * values); *done stays false when this build lacks the op. */
static onyx_status become(ox_opt *o, ox_node *n, const char *op_type, int opset, const int *in, int n_in,
                          const ox_attr *attrs, int n_attr, bool *done)
{
    const ox_op *op = ox_op_find("", op_type, opset);
    if (!op) return ONYX_OK;
    ox_attr *a = ox_pool_array(o->g->pool, (size_t)(n_attr ? n_attr : 1), sizeof *a);
    if (!a) return ox_opt_nomem(o);
    if (!ox_opt_set_inputs(o, n, in, n_in)) return ox_opt_nomem(o);
    if (n_attr) memcpy(a, attrs, (size_t)n_attr * sizeof *a);
    n->attr = a;
    n->n_attr = n_attr;
    n->op_type = op_type;
    n->op = op;
    n->opset = opset;
    *done = true;
    return ONYX_OK;
}

/* The opset a fusion into an op that exists since `since` writes: the node's own in the
 * written form (only where it has the op), `since` in the internal form (only where it
 * does not: the written form has run before); 0 when this form does not apply. */
static int fused_opset(const ox_node *n, int since, bool internal)
{
    if (internal) return n->opset < since ? since : 0;
    return n->opset >= since ? (int)n->opset : 0;
}

static void kill(ox_opt *o, const match *m, ox_pass p)
{
    for (int i = 0; i < m->n; i++) o->dead[m->nodes[i]] = true;
    o->stats->fired[p]++;
}

/* ---- LayerNorm -------------------------------------------------------------------------- */

/* The reciprocal square root r of node n: Reciprocal(s), Div(1, s); the Sqrt s, or NULL. */
static const ox_node *rsqrt_of(const ox_opt *o, int r, match *m)
{
    int save = m->n;
    const ox_node *rc = inner(o, r, "Reciprocal", m);
    if (rc) {
        const ox_node *sq = inner(o, rc->in[0], "Sqrt", m);
        if (sq) return sq;
    }
    m->n = save;
    const ox_node *dv = inner(o, r, "Div", m);
    if (dv && dv->n_in == 2 && dv->opset >= 7 && scalar(o, dv->in[0]) == 1.0) {
        const ox_node *sq = inner(o, dv->in[1], "Sqrt", m);
        if (sq) return sq;
    }
    m->n = save;
    return NULL;
}

/* y = d / sqrt(mean(d^2) + eps), the Div or Mul node `div` computing y: Div(d, Sqrt(s)) or
 * Mul(d, rsqrt(s)) with s = Add(ReduceMean(Pow(d, 2)), eps). Fills d, eps and the
 * ReduceMean node. */
static bool match_scaled(const ox_opt *o, const ox_node *div, match *m, int *d, double *eps, const ox_node **var)
{
    if (div->n_in != 2 || div->opset < 7) return false;
    const ox_node *sq = NULL;
    *d = div->in[0];
    if (ox_opt_is(div, "Div")) {
        sq = inner(o, div->in[1], "Sqrt", m);
    } else {
        for (int j = 0; j < 2 && !sq; j++)
            if ((sq = rsqrt_of(o, div->in[j], m))) *d = div->in[1 - j];
    }
    if (!sq) return false;
    const ox_node *add = inner(o, sq->in[0], "Add", m);
    if (!add || add->n_in != 2 || add->opset < 7) return false;
    *var = NULL;
    for (int j = 0; j < 2 && !*var; j++) {
        *eps = scalar(o, add->in[1 - j]);
        if (!isnan(*eps) && *eps >= 0) *var = inner(o, add->in[j], "ReduceMean", m);
    }
    if (!*var) return false;
    const ox_node *pw = inner(o, (*var)->in[0], "Pow", m);
    return pw && pw->n_in == 2 && pw->in[0] == *d && scalar(o, pw->in[1]) == 2.0;
}

/* y = normalised x (the Div or Mul node's output): fills x, eps and the axis count. */
static bool match_normalise(const ox_opt *o, const ox_node *div, match *m, int *x, double *eps, int *k)
{
    int d, s;
    const ox_node *var;
    if (!match_scaled(o, div, m, &d, eps, &var)) return false;
    /* d is read by the Pow and the normalising node only */
    s = ox_opt_producer(o, d);
    if (s < 0 || o->uses[d] != 2 || o->pinned[d] || m->n == MAX_PAT) return false;
    const ox_node *sub = &o->g->nodes[s];
    if (!ox_opt_is(sub, "Sub") || sub->n_in != 2 || sub->opset < 7 || sub->out[0] != d) return false;
    m->nodes[m->n++] = s;
    *x = sub->in[0];
    const ox_node *mean = inner(o, sub->in[1], "ReduceMean", m);
    if (!mean || mean->in[0] != *x) return false;
    *k = trailing_axes(o, mean, *x);
    return *k > 0 && *k == trailing_axes(o, var, d);
}

/* Add node `last` (or Mul, without beta) ending a decomposed LayerNorm: fuse it. */
static onyx_status try_layer_norm(ox_opt *o, int i, bool internal, bool *changed)
{
    ox_node *last = &o->g->nodes[i];
    const int opset = fused_opset(last, 17, internal);
    if (!opset || last->n_in != 2 || last->n_out != 1) return ONYX_OK;
    match m = {.n = 0};
    const ox_node *mul = NULL;
    int beta = -1;
    if (ox_opt_is(last, "Add")) {
        for (int j = 0; j < 2 && !mul; j++)
            if (float_const(o, last->in[1 - j]) && (mul = inner(o, last->in[j], "Mul", &m))) beta = last->in[1 - j];
    } else if (ox_opt_is(last, "Mul")) {
        mul = last;
    }
    if (!mul || mul->n_in != 2) return ONYX_OK;
    int gamma = -1, x = -1, k = 0;
    double eps = 0;
    for (int j = 0; j < 2 && gamma < 0; j++) {
        int save = m.n;
        const ox_node *div = NULL;
        if (float_const(o, mul->in[1 - j]) && ((div = inner(o, mul->in[j], "Div", &m)) || (div = inner(o, mul->in[j], "Mul", &m))) &&
            match_normalise(o, div, &m, &x, &eps, &k))
            gamma = mul->in[1 - j];
        else
            m.n = save;
    }
    if (gamma < 0) return ONYX_OK;
    /* gamma and beta hold one value per normalised element: at most k dims */
    const ox_const *gc = ox_opt_const(o, gamma), *bc = beta >= 0 ? ox_opt_const(o, beta) : NULL;
    if (gc->t.rank > k || (bc && (bc->t.rank > k || ox_tensor_numel(&bc->t) != ox_tensor_numel(&gc->t)))) return ONYX_OK;
    const onyx_tensor *xs = ox_opt_shape(o, x);
    if (xs) { /* the normalised dims must be gamma's (no broadcasting) */
        int64_t numel = 1;
        for (int d = xs->rank - k; d < xs->rank; d++) numel *= d >= 0 ? xs->dims[d] : 0;
        if (xs->rank < k || numel != ox_tensor_numel(&gc->t) || xs->dtype != ONYX_DTYPE_FLOAT) return ONYX_OK;
    }
    if (mul != last) m.nodes[m.n++] = (int)(mul - o->g->nodes);
    ox_attr attrs[2] = {{.name = "axis", .type = OX_ATTR_INT, .i = -k},
                        {.name = "epsilon", .type = OX_ATTR_FLOAT, .f = (float)eps}};
    int in[3] = {x, gamma, beta};
    bool done = false;
    onyx_status st = become(o, last, "LayerNormalization", opset, in, beta >= 0 ? 3 : 2, attrs, 2, &done);
    if (st || !done) return st;
    kill(o, &m, internal ? OX_PASS_LAYER_NORM_INTERNAL : OX_PASS_LAYER_NORM);
    *changed = true;
    return ONYX_OK;
}

/* ---- RMSNorm ---------------------------------------------------------------------------- */

/* Mul node `last` ending a decomposed RMSNorm, Mul(x / sqrt(mean(x^2) + eps), gamma) with the
 * division in any of match_scaled's forms: fuse it. x may have other readers (it is usually
 * the residual stream). */
static onyx_status try_rms_norm(ox_opt *o, int i, bool internal, bool *changed)
{
    ox_node *last = &o->g->nodes[i];
    const int opset = fused_opset(last, 23, internal);
    if (!opset || !ox_opt_is(last, "Mul") || last->n_in != 2 || last->n_out != 1) return ONYX_OK;
    match m = {.n = 0};
    int gamma = -1, x = -1, k = 0;
    double eps = 0;
    for (int j = 0; j < 2 && gamma < 0; j++) {
        const ox_node *div = NULL, *var = NULL;
        m.n = 0;
        if (float_const(o, last->in[1 - j]) &&
            ((div = inner(o, last->in[j], "Div", &m)) || (div = inner(o, last->in[j], "Mul", &m))) &&
            match_scaled(o, div, &m, &x, &eps, &var) && (k = trailing_axes(o, var, x)) > 0)
            gamma = last->in[1 - j];
    }
    if (gamma < 0) return ONYX_OK;
    const ox_const *gc = ox_opt_const(o, gamma);
    const onyx_tensor *xs = ox_opt_shape(o, x);
    if (gc->t.rank > k) return ONYX_OK;
    if (xs) { /* gamma covers the normalised dims exactly (no broadcasting), float x */
        int64_t numel = 1;
        for (int d = xs->rank - k; d < xs->rank; d++) numel *= d >= 0 ? xs->dims[d] : 0;
        if (xs->rank < k || numel != ox_tensor_numel(&gc->t) || xs->dtype != ONYX_DTYPE_FLOAT) return ONYX_OK;
    } else if (!ox_opt_float(o, x)) {
        return ONYX_OK;
    }
    ox_attr attrs[2] = {{.name = "axis", .type = OX_ATTR_INT, .i = -k},
                        {.name = "epsilon", .type = OX_ATTR_FLOAT, .f = (float)eps}};
    int in[2] = {x, gamma};
    bool done = false;
    onyx_status st = become(o, last, "RMSNormalization", opset, in, 2, attrs, 2, &done);
    if (st || !done) return st;
    kill(o, &m, internal ? OX_PASS_RMS_NORM_INTERNAL : OX_PASS_RMS_NORM);
    *changed = true;
    return ONYX_OK;
}

/* ---- GELU ------------------------------------------------------------------------------- */

/* x for v = x^3: Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x); else -1. */
static int cube_of(const ox_opt *o, int v, match *m)
{
    int save = m->n;
    const ox_node *p = inner(o, v, "Pow", m);
    if (p) {
        if (p->n_in == 2 && scalar(o, p->in[1]) == 3.0) return p->in[0];
        m->n = save;
        return -1;
    }
    const ox_node *outer = inner(o, v, "Mul", m);
    for (int j = 0; outer && outer->n_in == 2 && j < 2; j++) {
        int save2 = m->n;
        const ox_node *sq = inner(o, outer->in[j], "Mul", m);
        if (sq && sq->n_in == 2 && sq->in[0] == sq->in[1] && sq->in[0] == outer->in[1 - j]) return sq->in[0];
        m->n = save2;
    }
    m->n = save;
    return -1;
}

/* h = 1 + erf(x/√2) or 1 + tanh(...): the Add node; fills x and whether it is the tanh form. */
static bool match_gelu_inner(const ox_opt *o, const ox_node *add, match *m, int *x, bool *tanh_form)
{
    int f = other_than_scalar(o, add, 1.0);
    if (f < 0) return false;
    int save = m->n;
    const ox_node *e = inner(o, f, "Erf", m);
    if (e) {
        *tanh_form = false;
        int save2 = m->n;
        const ox_node *s = inner(o, e->in[0], "Div", m);
        if (s && s->in[1] >= 0 && near(scalar(o, s->in[1]), SQRT2)) {
            *x = s->in[0];
            return true;
        }
        m->n = save2;
        if ((s = inner(o, e->in[0], "Mul", m)) && (*x = other_than_scalar(o, s, 1.0 / SQRT2)) >= 0) return true;
        m->n = save;
        return false;
    }
    const ox_node *t = inner(o, f, "Tanh", m), *u, *v, *w;
    if (!t || !(u = inner(o, t->in[0], "Mul", m))) return false;
    int vi = other_than_scalar(o, u, SQRT_2_OVER_PI);
    if (vi < 0 || !(v = inner(o, vi, "Add", m)) || v->n_in != 2) return false;
    for (int j = 0; j < 2; j++) {
        int save2 = m->n, wi;
        if ((w = inner(o, v->in[j], "Mul", m)) && (wi = other_than_scalar(o, w, 0.044715)) >= 0 &&
            cube_of(o, wi, m) == v->in[1 - j] && v->in[1 - j] >= 0) {
            *x = v->in[1 - j];
            *tanh_form = true;
            return true;
        }
        m->n = save2;
    }
    return false;
}

/* Mul node `last` ending a decomposed GELU: fuse it. */
static onyx_status try_gelu(ox_opt *o, int i, bool internal, bool *changed)
{
    ox_node *last = &o->g->nodes[i];
    const int opset = fused_opset(last, 20, internal);
    if (!opset || !ox_opt_is(last, "Mul") || last->n_in != 2 || last->n_out != 1) return ONYX_OK;
    int x = -1;
    bool tanh_form = false;
    match m = {.n = 0};
    for (int j = 0; j < 2 && x < 0; j++) {
        int a = last->in[j], b = last->in[1 - j];
        const ox_node *mul, *add;
        m.n = 0;
        if (near(scalar(o, b), 0.5)) { /* Mul(Mul(x, h), 0.5) */
            if (!(mul = inner(o, a, "Mul", &m)) || mul->n_in != 2) continue;
            for (int q = 0; q < 2 && x < 0; q++) {
                int save = m.n;
                if ((add = inner(o, mul->in[q], "Add", &m)) && match_gelu_inner(o, add, &m, &x, &tanh_form) &&
                    x == mul->in[1 - q])
                    break;
                x = -1;
                m.n = save;
            }
        } else if ((mul = inner(o, a, "Mul", &m)) && mul->n_in == 2) {
            /* Mul(Mul(h, 0.5), x) or Mul(Mul(x, 0.5), h) */
            int half = other_than_scalar(o, mul, 0.5), save = m.n;
            if (half < 0) continue;
            if ((add = inner(o, half, "Add", &m)) && match_gelu_inner(o, add, &m, &x, &tanh_form) && x == b) break;
            x = -1;
            m.n = save;
            if ((add = inner(o, b, "Add", &m)) && match_gelu_inner(o, add, &m, &x, &tanh_form) && x == half) break;
            x = -1;
        }
    }
    if (x < 0) return ONYX_OK;
    const onyx_tensor *xs = ox_opt_shape(o, x);
    if (xs && xs->dtype != ONYX_DTYPE_FLOAT) return ONYX_OK;
    ox_attr approx = {.name = "approximate", .type = OX_ATTR_STRING, .s = "tanh", .s_len = 4};
    bool done = false;
    onyx_status st = become(o, last, "Gelu", opset, &x, 1, &approx, tanh_form ? 1 : 0, &done);
    if (st || !done) return st;
    kill(o, &m, internal ? OX_PASS_GELU_INTERNAL : OX_PASS_GELU);
    *changed = true;
    return ONYX_OK;
}

/* ---- skip + LayerNorm (session only) ------------------------------------------------------ */

/* True when v and w are float32 and of one shape in every run: fixed dims, or symbolic ones
 * such as a dynamic batch or sequence length (sym_shape.c; the fused op checks again). */
static bool same_float_shapes(const ox_opt *o, int v, int w)
{
    const ox_sshape *a = ox_opt_sshape(o, v), *b = ox_opt_sshape(o, w);
    return a && b && (a->dtype == ONYX_DTYPE_FLOAT || ox_opt_float(o, v)) &&
           (b->dtype == ONYX_DTYPE_FLOAT || ox_opt_float(o, w)) && ox_opt_same_shape(o, v, w);
}

/* LayerNormalization(Add(a, b), ...) with a and b of one float shape (the Add
 * broadcasts nothing) and no statistics outputs: the LayerNorm adds b itself
 * (ox_op_layernorm_skip). When something else reads the sum (pre-norm transformers: the
 * residual stream goes on), the fused node produces it as output 3 and the Add goes too. */
onyx_status ox_pass_skip_layer_norm(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    onyx_status st = ox_opt_sym_shapes(o);
    if (st) return st;
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *ln = &g->nodes[i];
        if (o->dead[i] || !ox_opt_is(ln, "LayerNormalization") || ln->op == &ox_op_layernorm_skip || ln->n_implicit ||
            ln->n_in < 2 || ln->n_in > 3 || ln->in[0] < 0)
            continue;
        bool stats = false;
        for (int k = 1; k < ln->n_out; k++) stats |= ln->out[k] >= 0;
        int p = ox_opt_producer(o, ln->in[0]);
        if (stats || p < 0) continue;
        const ox_node *add = &g->nodes[p];
        if (!ox_opt_is(add, "Add") || add->opset < 7 || add->n_in != 2 || add->n_out != 1 || add->n_implicit ||
            add->out[0] != ln->in[0] || add->in[0] < 0 || add->in[1] < 0 || !same_float_shapes(o, add->in[0], add->in[1]))
            continue;
        const bool keep_sum = !ox_opt_single_use(o, add->out[0]);
        int in[OX_LN_SKIP_INPUT + 1] = {add->in[0], ln->in[1], ln->n_in > 2 ? ln->in[2] : -1, add->in[1]};
        if (!ox_opt_set_inputs(o, ln, in, OX_LN_SKIP_INPUT + 1)) return ox_opt_nomem(o);
        if (keep_sum) {
            int *out = ox_pool_array(g->pool, OX_LN_SUM_OUTPUT + 1, sizeof *out);
            if (!out) return ox_opt_nomem(o);
            out[0] = ln->out[0];
            out[1] = out[2] = -1;
            out[OX_LN_SUM_OUTPUT] = add->out[0];
            ln->out = out;
            ln->n_out = OX_LN_SUM_OUTPUT + 1;
        }
        ln->op = &ox_op_layernorm_skip;
        o->dead[p] = true;
        o->stats->fired[OX_PASS_SKIP_LAYER_NORM]++;
        *changed = true;
    }
    return ONYX_OK;
}

static onyx_status transformer(ox_opt *o, bool internal, bool *changed)
{
    ox_graph *g = o->g;
    /* from the end, so a pattern is met at its last node first (the Add of beta, not the Mul
     * of gamma before it) */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        if (o->dead[i] || g->nodes[i].n_implicit || g->nodes[i].out[0] < 0) continue;
        bool c = false;
        onyx_status st = try_layer_norm(o, i, internal, &c);
        if (!st && !c) st = try_rms_norm(o, i, internal, &c);
        if (!st && !c) st = try_gelu(o, i, internal, &c);
        if (st) return st;
        /* the tables go stale where a pattern was fused; later patterns only read other nodes */
        *changed |= c;
    }
    return ONYX_OK;
}

onyx_status ox_pass_transformer(ox_opt *o, bool *changed) { return transformer(o, false, changed); }
onyx_status ox_pass_transformer_internal(ox_opt *o, bool *changed) { return transformer(o, true, changed); }
