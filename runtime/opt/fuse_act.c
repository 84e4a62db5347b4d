/* fuse_act.c — epilogues: an activation whose only input is a float Conv's, ConvTranspose's,
 * Gemm's or MatMul's output, read by nothing else, is folded into that node, which then
 * applies it to its output (a Conv block by block while the block is still in cache:
 * kernels/activation.h; a ConvTranspose, whose outputs are complete only at the end, in one
 * pass after it) instead of in a separate node. ConvTranspose counts as
 * `act-into-convtranspose`, the others as `act-into-conv` / `act-into-gemm`.
 *
 * Fused: Relu, Clip (constant bounds), LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh,
 * Gelu (both forms), and SiLU written as Mul(y, Sigmoid(y)). The node's op becomes the fused
 * one (ops/fused.h) with the activation in internal attributes, and it takes over the
 * activation's output value, so names, types and shapes stay. Such a node is not ONNX, so
 * this runs only on a session's private copy (ox_fuse_epilogues), never on a graph that
 * `onyx optimize` writes.
 *
 * A residual Add (ox_pass_fuse_residual) goes in first: Add(conv_out, r), where r has the
 * Conv output's shape in every run (fixed, or symbolic dims such as a dynamic batch:
 * sym_shape.c), becomes input 3 of the fused
 * Conv, added after the bias and before the activation, so Conv -> Add -> Relu is one node.
 * r is an ordinary input to the planner: it stays alive until the Conv has run, and the
 * Conv's output never shares its buffer (their lifetimes overlap at the Conv). Likewise a
 * bias row goes into a MatMul first (ox_pass_matmul_bias, below).
 *
 * Not fused: an output that is pinned (graph output, read by a body) or has another reader;
 * nodes not known to compute in float32 (the epilogue works on float; half types would round
 * in a different place). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "activation.h"
#include "fused.h"
#include "opt.h"

typedef struct act_match {
    ox_act act;
    int sigmoid; /* SiLU: the Sigmoid node that goes with the Mul, else -1 */
} act_match;

/* The float attribute `name` of n (def when absent); false when present with another type. */
static bool float_attr(const ox_node *n, const char *name, float def, float *out)
{
    const ox_attr *a = ox_node_attr(n, name);
    if (a && a->type != OX_ATTR_FLOAT) return false;
    *out = a ? a->f : def;
    return true;
}

/* Clip's bound from input k (opset >= 11): absent is `def`; else a float32 scalar constant. */
static bool clip_bound_input(const ox_opt *o, const ox_node *n, int k, float def, float *out)
{
    if (n->n_in <= k || n->in[k] < 0) {
        *out = def;
        return true;
    }
    const ox_const *c = ox_opt_const(o, n->in[k]);
    if (!c || c->t.dtype != ONYX_DTYPE_FLOAT || ox_tensor_numel(&c->t) != 1) return false;
    *out = *(const float *)c->t.data;
    return true;
}

static bool clip_bounds(const ox_opt *o, const ox_node *n, ox_act *a)
{
    if (n->opset >= 11)
        return clip_bound_input(o, n, 1, -INFINITY, &a->alpha) && clip_bound_input(o, n, 2, INFINITY, &a->beta);
    if (n->n_in != 1) return false;
    /* opset 6 defaults the bounds to the float32 limits, opset 1 to none */
    const float lo = n->opset >= 6 ? -FLT_MAX : -INFINITY, hi = n->opset >= 6 ? FLT_MAX : INFINITY;
    return float_attr(n, "min", lo, &a->alpha) && float_attr(n, "max", hi, &a->beta);
}

/* The activation node n computes, as an epilogue of its input 0; false when it is none the
 * Conv can take. */
static bool single_input_act(const ox_opt *o, const ox_node *n, ox_act *a)
{
    memset(a, 0, sizeof *a);
    if (!n->op || *n->domain || n->n_implicit || n->n_out != 1 || n->out[0] < 0 || n->n_in < 1 || n->in[0] < 0)
        return false;
    const char *t = n->op_type;
    if (!strcmp(t, "Clip")) {
        a->kind = OX_ACT_CLIP;
        return clip_bounds(o, n, a);
    }
    if (n->n_in != 1) return false;
    if (!strcmp(t, "Relu")) a->kind = OX_ACT_RELU;
    else if (!strcmp(t, "Sigmoid")) a->kind = OX_ACT_SIGMOID;
    else if (!strcmp(t, "Tanh")) a->kind = OX_ACT_TANH;
    else if (!strcmp(t, "HardSwish")) a->kind = OX_ACT_HARD_SWISH;
    else if (!strcmp(t, "LeakyRelu")) {
        a->kind = OX_ACT_LEAKY_RELU;
        return float_attr(n, "alpha", 0.01f, &a->alpha);
    } else if (!strcmp(t, "HardSigmoid")) {
        a->kind = OX_ACT_HARD_SIGMOID;
        return float_attr(n, "alpha", 0.2f, &a->alpha) && float_attr(n, "beta", 0.5f, &a->beta);
    } else if (!strcmp(t, "Gelu")) {
        const ox_attr *ap = ox_node_attr(n, "approximate");
        if (ap && (ap->type != OX_ATTR_STRING || (strcmp(ap->s, "none") && strcmp(ap->s, "tanh")))) return false;
        a->kind = ap && !strcmp(ap->s, "tanh") ? OX_ACT_GELU_TANH : OX_ACT_GELU;
    } else
        return false;
    return true;
}

/* True when Conv node cv already applies an activation. */
static bool has_act(const ox_node *cv)
{
    const ox_attr *a = ox_node_attr(cv, OX_CONV_ACT_ATTR);
    return a && a->i != OX_ACT_NONE;
}

/* What each kind of producer takes: its fused op; how many inputs the plain op has at most
 * (more means the node carries something fused already); whether its weights (input 1) tell
 * that it computes in float (Conv, ConvTranspose), else either operand does (Gemm, MatMul);
 * whether a residual Add goes in (only Conv's kernel adds one); the pass an activation counts
 * under. */
typedef struct fusable_kind {
    const char *op_type;
    const ox_op *fused;
    int plain_inputs;
    bool float_weights, residual;
    ox_pass act_pass;
} fusable_kind;

static const fusable_kind fusable_kinds[] = {
    {"Conv", &ox_op_conv_fused, 3, true, true, OX_PASS_ACT_CONV},
    {"ConvTranspose", &ox_op_convt_fused, 3, true, false, OX_PASS_ACT_CONVTRANSPOSE},
    {"Gemm", &ox_op_gemm_fused, 3, false, false, OX_PASS_ACT_GEMM},
    {"MatMul", &ox_op_matmul_fused, 2, false, false, OX_PASS_ACT_GEMM},
};

/* The row of fusable_kinds for node n's kind, or NULL. */
static const fusable_kind *kind_of(const ox_node *n)
{
    for (size_t k = 0; k < sizeof fusable_kinds / sizeof fusable_kinds[0]; k++)
        if (ox_opt_is(n, fusable_kinds[k].op_type)) return &fusable_kinds[k];
    return NULL;
}

/* The live float Conv, ConvTranspose, Gemm or MatMul producing v that can take an epilogue,
 * or -1: an activation goes into one without an activation (a residual or bias may be there
 * already: it comes first); a residual only into a plain Conv (`residual`). */
static int fusable_producer(const ox_opt *o, int v, bool residual)
{
    int p = ox_opt_producer(o, v);
    if (p < 0) return -1;
    const ox_node *n = &o->g->nodes[p];
    const fusable_kind *kind = kind_of(n);
    if (!kind || n->n_out != 1 || n->out[0] != v || n->n_implicit || n->n_in < 2 || (residual && !kind->residual))
        return -1;
    if (n->op == kind->fused ? residual || has_act(n) : n->n_in > kind->plain_inputs) return -1;
    if (kind->float_weights) return ox_opt_dtype(o, n->in[1]) == ONYX_DTYPE_FLOAT ? p : -1;
    return ox_opt_float(o, n->in[0]) || ox_opt_float(o, n->in[1]) ? p : -1;
}

/* Node i as an epilogue of Conv *conv: a single-input activation whose input only it reads,
 * or Mul(y, Sigmoid(y)) where the Mul and the Sigmoid are y's only readers. */
static bool match(const ox_opt *o, int i, int *conv, act_match *m)
{
    const ox_node *n = &o->g->nodes[i];
    m->sigmoid = -1;
    if (single_input_act(o, n, &m->act)) {
        *conv = ox_opt_single_use(o, n->in[0]) ? fusable_producer(o, n->in[0], false) : -1;
        return *conv >= 0;
    }
    if (!ox_opt_is(n, "Mul") || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit) return false;
    for (int k = 0; k < 2; k++) {
        int y = n->in[k], s = n->in[1 - k];
        int sp = ox_opt_single_use(o, s) ? ox_opt_producer(o, s) : -1;
        if (sp < 0 || y < 0) continue;
        const ox_node *sg = &o->g->nodes[sp];
        if (!ox_opt_is(sg, "Sigmoid") || sg->n_in != 1 || sg->in[0] != y || sg->n_out != 1 || sg->n_implicit)
            continue;
        /* y read twice: by the Sigmoid and by this Mul, nothing else */
        if (y >= o->n_values || o->uses[y] != 2 || o->pinned[y] || (*conv = fusable_producer(o, y, false)) < 0) continue;
        memset(&m->act, 0, sizeof m->act);
        m->act.kind = OX_ACT_SILU;
        m->sigmoid = sp;
        return true;
    }
    return false;
}

/* Node cv (Conv, ConvTranspose, Gemm, MatMul: `kind`) takes activation a: the fused op and
 * three more attributes. */
static bool make_fused(ox_opt *o, ox_node *cv, const fusable_kind *kind, const ox_act *a)
{
    ox_attr *attrs = ox_pool_array(o->g->pool, (size_t)cv->n_attr + 3, sizeof *attrs);
    if (!attrs) return false;
    if (cv->n_attr) memcpy(attrs, cv->attr, (size_t)cv->n_attr * sizeof *attrs);
    ox_attr *k = &attrs[cv->n_attr], *al = k + 1, *be = k + 2;
    memset(k, 0, 3 * sizeof *k);
    k->name = OX_CONV_ACT_ATTR;
    k->type = OX_ATTR_INT;
    k->i = a->kind;
    al->name = OX_CONV_ACT_ALPHA_ATTR;
    al->type = OX_ATTR_FLOAT;
    al->f = a->alpha;
    be->name = OX_CONV_ACT_BETA_ATTR;
    be->type = OX_ATTR_FLOAT;
    be->f = a->beta;
    cv->attr = attrs;
    cv->n_attr += 3;
    cv->op = kind->fused;
    return true;
}

onyx_status ox_pass_fuse_act(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    for (int i = 0; i < g->n_nodes; i++) {
        int conv;
        act_match m;
        if (o->dead[i] || !match(o, i, &conv, &m)) continue;
        ox_node *cv = &g->nodes[conv];
        const fusable_kind *kind = kind_of(cv); /* not NULL: match() found cv by it */
        if (!kind) continue;
        if (!make_fused(o, cv, kind, &m.act)) return ox_opt_nomem(o);
        cv->out[0] = g->nodes[i].out[0];
        o->dead[i] = true;
        if (m.sigmoid >= 0) o->dead[m.sigmoid] = true;
        o->stats->fired[kind->act_pass]++;
        *changed = true;
    }
    return ONYX_OK;
}

/* ---- residual Add ------------------------------------------------------------------------ */

/* True when v is known to be float32: its type, or its shape's (sym_shape.c). */
static bool known_float(const ox_opt *o, int v)
{
    const ox_sshape *s = ox_opt_sshape(o, v);
    return ox_opt_float(o, v) || (s && s->dtype == ONYX_DTYPE_FLOAT);
}

/* Add node n as a residual of a Conv: one input is a plain float Conv's output that only the
 * Add reads, the other is float and has that output's shape in every run (so the Add
 * broadcasts nothing and the sum has the Conv output's shape): fixed dims, or symbolic ones
 * such as a dynamic batch (ox_opt_same_shape; the fused Conv checks the shapes again when it
 * runs). *conv and *other get the Conv and the residual. */
static bool match_residual(const ox_opt *o, const ox_node *n, int *conv, int *other)
{
    if (!ox_opt_is(n, "Add") || n->opset < 7 || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit)
        return false;
    for (int k = 0; k < 2; k++) {
        int y = n->in[k], r = n->in[1 - k];
        if (y < 0 || r < 0 || !ox_opt_single_use(o, y) || (*conv = fusable_producer(o, y, true)) < 0) continue;
        if (!known_float(o, r) || !ox_opt_same_shape(o, y, r)) continue;
        *other = r;
        return true;
    }
    return false;
}

/* Add(conv_out, r) -> the Conv with r as input 3 (float addition commutes, so either order
 * of the Add's inputs gives the same bits). The Conv takes over the Add's output value. */
onyx_status ox_pass_fuse_residual(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    onyx_status st = ox_opt_sym_shapes(o);
    if (st) return st;
    for (int i = 0; i < g->n_nodes; i++) {
        int conv, r;
        if (o->dead[i] || !match_residual(o, &g->nodes[i], &conv, &r)) continue;
        ox_node *cv = &g->nodes[conv];
        int in[OX_CONV_RESIDUAL_INPUT + 1] = {cv->in[0], cv->in[1], cv->n_in > 2 ? cv->in[2] : -1, r};
        if (!ox_opt_set_inputs(o, cv, in, OX_CONV_RESIDUAL_INPUT + 1)) return ox_opt_nomem(o);
        cv->op = &ox_op_conv_fused;
        cv->out[0] = g->nodes[i].out[0];
        o->dead[i] = true;
        o->stats->fired[OX_PASS_RESIDUAL_CONV]++;
        *changed = true;
    }
    return ONYX_OK;
}

/* ---- bias row into MatMul ---------------------------------------------------------------- */

/* Add(MatMul(A, B), bias) with B a float32 constant matrix (prepacked at plan time), A of
 * rank >= 2 and bias a float32 constant row that broadcasts along the rows ([N], [1, .., N]
 * or one value): the MatMul adds the bias in its epilogue, so a following activation joins
 * it too (the transformer's feed-forward MatMul -> Add -> Gelu is one node). A 2-D MatMul has
 * become a Gemm already (ox_pass_matmul_add); this covers the 3-D activations of a
 * transformer, which the written form cannot express without reshapes. */
static bool match_bias(const ox_opt *o, const ox_node *n, int *mm, int *bias)
{
    if (!ox_opt_is(n, "Add") || n->opset < 7 || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit)
        return false;
    for (int k = 0; k < 2; k++) {
        int y = n->in[k], p = ox_opt_single_use(o, y) ? ox_opt_producer(o, y) : -1;
        if (p < 0) continue;
        const ox_node *m = &o->g->nodes[p];
        if (!ox_opt_is(m, "MatMul") || m->op == &ox_op_matmul_fused || m->n_in != 2 || m->n_out != 1 ||
            m->out[0] != y || m->n_implicit || ox_opt_rank(o, m->in[0]) < 2)
            continue;
        const ox_const *b = ox_opt_const(o, m->in[1]), *c = ox_opt_const(o, n->in[1 - k]);
        if (!b || !c || b->t.dtype != ONYX_DTYPE_FLOAT || b->t.rank != 2 || c->t.dtype != ONYX_DTYPE_FLOAT ||
            c->t.rank > 2)
            continue;
        int64_t len = ox_tensor_numel(&c->t);
        if ((len != 1 && len != b->t.dims[1]) || (c->t.rank == 2 && c->t.dims[0] != 1)) continue;
        *mm = p;
        *bias = n->in[1 - k];
        return true;
    }
    return false;
}

onyx_status ox_pass_matmul_bias(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    onyx_status st = ox_opt_sym_shapes(o); /* A's rank through symbolic reshapes (ox_opt_rank) */
    if (st) return st;
    for (int i = 0; i < g->n_nodes; i++) {
        int mm, bias;
        if (o->dead[i] || !match_bias(o, &g->nodes[i], &mm, &bias)) continue;
        ox_node *m = &g->nodes[mm];
        int in[OX_MATMUL_BIAS_INPUT + 1] = {m->in[0], m->in[1], bias};
        if (!ox_opt_set_inputs(o, m, in, OX_MATMUL_BIAS_INPUT + 1)) return ox_opt_nomem(o);
        m->op = &ox_op_matmul_fused;
        m->out[0] = g->nodes[i].out[0];
        o->dead[i] = true;
        o->stats->fired[OX_PASS_MATMUL_BIAS]++;
        *changed = true;
    }
    return ONYX_OK;
}
