/* sym_shape.c — shapes with symbolic dims, for the fusions that need two values to have one
 * shape (residual Add, skip + LayerNorm, attention) in models exported with a dynamic batch
 * or sequence axis, where the constant-folding walk (fold_const.c) knows no shapes.
 *
 * A dim is a fixed size, a symbolic name from a graph input's declared shape (ONNX's
 * dim_param: one name is one size throughout the graph, as the IR spec and other runtimes
 * take it), an anonymous dim (the same only as itself: that axis of the graph input, or of the
 * value where it could not be told, such as the broadcast of "N" and "M"), or unknown (equal
 * to nothing, not even itself). One walk over the live nodes in
 * order carries these forward through the ops whose output dims follow from their inputs'
 * without knowing sizes: elementwise and broadcasting ops, MatMul, Gemm, Attention, Transpose,
 * Reshape (0 and -1 entries included), Unsqueeze/Squeeze, Concat, Split, Slice, and ops that
 * keep the batch dim (Conv, pooling: their other dims must be fixed and come from the op's
 * own infer). Small 1-D integer tensors also carry their contents as dims, so the
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains of exported models reshape to
 * known dims. Anything else is unknown: a pass that needs a fact it cannot see leaves the
 * graph alone. The fused ops check their shapes again when they run (a caller may bind one
 * name to two sizes: the model is then wrong, and the fused node says so instead of
 * computing something else). */
#include <string.h>

#include "op.h"
#include "opt.h"

#define CONTENT_MAX ONYX_MAX_RANK /* 1-D integer tensors this long carry their contents */

static ox_sdim fixed(int64_t v)
{
    ox_sdim d = {true, v, NULL, -1, 0};
    return d;
}

static ox_sdim unknown(void)
{
    ox_sdim d = {false, -1, NULL, -1, 0};
    return d;
}

static bool is_fixed(const ox_sdim *d) { return d->known; }

bool ox_sdim_eq(const ox_sdim *a, const ox_sdim *b)
{
    if (a->known || b->known) return a->known && b->known && a->size == b->size;
    if (a->name || b->name) return a->name && b->name && !strcmp(a->name, b->name);
    return a->value >= 0 && a->value == b->value && a->axis == b->axis;
}

const ox_sshape *ox_opt_sshape(const ox_opt *o, int v)
{
    if (v < 0 || v >= o->n_sym || o->sym[v].rank < 0) return NULL;
    return &o->sym[v];
}

bool ox_opt_same_shape(const ox_opt *o, int a, int b)
{
    const ox_sshape *x = ox_opt_sshape(o, a), *y = ox_opt_sshape(o, b);
    if (!x || !y || x->rank != y->rank) return false;
    for (int d = 0; d < x->rank; d++)
        if (!ox_sdim_eq(&x->dims[d], &y->dims[d])) return false;
    return true;
}

/* ---- the walk ------------------------------------------------------------------------------ */

static bool int_type(onyx_dtype t) { return t == ONYX_DTYPE_INT64 || t == ONYX_DTYPE_INT32; }

/* An unknown shape: every dim unknown (an anonymous dim must never be made up by zeroing). */
static void clear(ox_sshape *s)
{
    memset(s, 0, sizeof *s);
    s->rank = -1;
    s->n_content = -1;
    for (int d = 0; d < ONYX_MAX_RANK; d++) s->dims[d] = s->content[d] = unknown();
}

/* The shape (and small integer contents) of constant k. */
static void from_const(ox_sshape *s, const ox_const *k)
{
    s->dtype = k->t.dtype;
    s->rank = k->t.rank;
    for (int d = 0; d < k->t.rank; d++) s->dims[d] = fixed(k->t.dims[d]);
    int64_t n = ox_tensor_numel(&k->t);
    if (k->t.rank > 1 || !int_type(k->t.dtype) || n > CONTENT_MAX) return;
    s->n_content = (int)n;
    for (int64_t i = 0; i < n; i++)
        s->content[i] = fixed(k->t.dtype == ONYX_DTYPE_INT64 ? ((const int64_t *)k->t.data)[i]
                                                             : ((const int32_t *)k->t.data)[i]);
}

static void seed(ox_opt *o)
{
    const ox_graph *g = o->g;
    for (int v = 0; v < o->n_sym; v++) {
        ox_sshape *s = &o->sym[v];
        clear(s);
        const ox_value *val = &g->values[v];
        const ox_const *k = ox_opt_const(o, v);
        const onyx_tensor *st = ox_opt_shape(o, v);
        if (k) {
            from_const(s, k);
        } else if (st) { /* the folding walk's static shape */
            s->dtype = st->dtype;
            s->rank = st->rank;
            for (int d = 0; d < st->rank; d++) s->dims[d] = fixed(st->dims[d]);
        } else if (val->is_input && val->type.kind == OX_KIND_TENSOR && val->type.rank >= 0 &&
                   val->type.rank <= ONYX_MAX_RANK) {
            s->dtype = val->type.dtype;
            s->rank = val->type.rank;
            for (int d = 0; d < s->rank; d++) {
                ox_sdim x = {val->type.dims[d] >= 0, val->type.dims[d], NULL, v, d};
                if (x.size < 0) {
                    x.size = -1;
                    x.name = val->type.dim_names[d] && *val->type.dim_names[d] ? val->type.dim_names[d] : NULL;
                }
                s->dims[d] = x;
            }
        }
    }
}

/* Integer attribute `name` of n (def when absent or not an int). */
static int64_t iattr(const ox_node *n, const char *name, int64_t def)
{
    const ox_attr *a = ox_node_attr(n, name);
    return a && a->type == OX_ATTR_INT ? a->i : def;
}

/* The fixed contents of input k (a constant, or a value of known contents), into vals; false
 * when not all known. */
static bool fixed_list(const ox_opt *o, const ox_node *n, int k, int64_t *vals, int *count)
{
    if (k >= n->n_in || n->in[k] < 0) return false;
    const ox_sshape *s = ox_opt_sshape(o, n->in[k]);
    if (!s || s->n_content < 0) return false;
    for (int i = 0; i < s->n_content; i++) {
        if (!is_fixed(&s->content[i])) return false;
        vals[i] = s->content[i].size;
    }
    *count = s->n_content;
    return true;
}

/* Axes from attribute "axes" (below `opset_input`) or input 1 (from it), normalised to rank. */
static bool axes_of(const ox_opt *o, const ox_node *n, int opset_input, int rank, int64_t *axes, int *count)
{
    if (n->opset < opset_input) {
        const ox_attr *a = ox_node_attr(n, "axes");
        if (!a || a->type != OX_ATTR_INTS || a->n > ONYX_MAX_RANK) return false;
        for (size_t i = 0; i < a->n; i++) axes[i] = a->ints[i];
        *count = (int)a->n;
    } else if (!fixed_list(o, n, 1, axes, count)) {
        return false;
    }
    for (int i = 0; i < *count; i++) {
        if (axes[i] < 0) axes[i] += rank;
        if (axes[i] < 0 || axes[i] >= rank) return false;
    }
    return true;
}

/* Numpy broadcasting of a and b into r; unknown dims where it cannot be told. */
static bool broadcast(const ox_sshape *pa, const ox_sshape *pb, int skip, ox_sshape *r)
{
    const ox_sshape ca = *pa, cb = *pb, *a = &ca, *b = &cb; /* r may be either */
    int ra = a->rank - skip, rb = b->rank - skip, rr = ra > rb ? ra : rb;
    if (ra < 0 || rb < 0) return false;
    r->rank = rr;
    for (int d = 0; d < rr; d++) {
        int da = d - (rr - ra), db = d - (rr - rb);
        const ox_sdim *x = da >= 0 ? &a->dims[da] : NULL, *y = db >= 0 ? &b->dims[db] : NULL;
        if (!x || (y && x->known && x->size == 1)) r->dims[d] = *y;
        else if (!y || (y->known && y->size == 1) || ox_sdim_eq(x, y)) r->dims[d] = *x;
        else r->dims[d] = unknown();
    }
    return true;
}

/* Elementwise arithmetic on fixed integer contents (Shape arithmetic in exports). */
static void arith(const ox_node *n, const ox_sshape *a, const ox_sshape *b, ox_sshape *r)
{
    if (!int_type(r->dtype) || a->n_content < 0 || b->n_content < 0 || r->rank > 1) return;
    int len = a->n_content > b->n_content ? a->n_content : b->n_content;
    if ((a->n_content != len && a->n_content != 1) || (b->n_content != len && b->n_content != 1)) return;
    for (int i = 0; i < len; i++) {
        const ox_sdim *x = &a->content[a->n_content == 1 ? 0 : i], *y = &b->content[b->n_content == 1 ? 0 : i];
        if (!is_fixed(x) || !is_fixed(y) || x->size > INT32_MAX || y->size > INT32_MAX || x->size < -INT32_MAX ||
            y->size < -INT32_MAX)
            return;
        int64_t p = x->size, q = y->size, v;
        if (!strcmp(n->op_type, "Add")) v = p + q;
        else if (!strcmp(n->op_type, "Sub")) v = p - q;
        else if (!strcmp(n->op_type, "Mul")) v = p * q;
        else if (!strcmp(n->op_type, "Div") && p >= 0 && q > 0) v = p / q; /* truncation is floor here */
        else return;
        if (v < 0 || (r->dtype == ONYX_DTYPE_INT32 && v > INT32_MAX)) return;
        r->content[i] = fixed(v);
    }
    r->n_content = len;
}

/* *acc *= f for sizes (f >= 0), false on overflow. */
static bool mul_ok(int64_t *acc, int64_t f)
{
    if (f < 0 || (f && *acc > INT64_MAX / f)) return false;
    *acc *= f;
    return true;
}

/* Reshape's output from the input shape x and the target contents t. */
static void reshape(const ox_sshape *x, const ox_sshape *t, bool allowzero, ox_sshape *r)
{
    if (t->n_content < 0) return;
    r->rank = t->n_content;
    int infer = -1;
    for (int d = 0; d < r->rank; d++) {
        const ox_sdim *e = &t->content[d];
        if (is_fixed(e) && e->size == 0 && !allowzero) r->dims[d] = x && d < x->rank ? x->dims[d] : unknown();
        else if (is_fixed(e) && e->size == -1 && infer < 0) infer = d;
        else if (is_fixed(e) && e->size == -1) { /* two -1s: the run fails */
            r->rank = -1;
            return;
        }
        else r->dims[d] = *e;
        if (e->size < -1) r->dims[d] = unknown();
    }
    if (infer < 0) return;
    r->dims[infer] = unknown();
    if (!x) return;
    /* the -1 dim: the input's dims with the other output dims cancelled out */
    bool used[ONYX_MAX_RANK] = {false};
    int64_t num = 1, den = 1;
    for (int d = 0; d < x->rank; d++)
        if (is_fixed(&x->dims[d])) {
            if (!mul_ok(&num, x->dims[d].size)) return;
            used[d] = true;
        }
    for (int d = 0; d < r->rank; d++) {
        if (d == infer) continue;
        const ox_sdim *e = &r->dims[d];
        if (is_fixed(e)) {
            if (!mul_ok(&den, e->size)) return;
            continue;
        }
        int hit = -1;
        for (int k = 0; k < x->rank && hit < 0; k++)
            if (!used[k] && ox_sdim_eq(&x->dims[k], e)) hit = k;
        if (hit < 0) return;
        used[hit] = true;
    }
    int left = -1, n_left = 0;
    for (int k = 0; k < x->rank; k++)
        if (!used[k]) left = k, n_left++;
    if (n_left == 0 && den > 0 && num % den == 0) r->dims[infer] = fixed(num / den);
    else if (n_left == 1 && num == den) r->dims[infer] = x->dims[left];
}

/* Output 0 of a batch-keeping op (Conv, pooling …): its own infer on input 0 with the batch
 * dim set to 1 (its other dims fixed) and the other inputs constants; dim 0 is then input 0's. */
static onyx_status batch_op(ox_opt *o, const ox_node *n, const ox_sshape *x, ox_sshape *r)
{
    const ox_op *op = ox_op_find("", n->op_type, n->opset);
    const int n_in = !strcmp(n->op_type, "Conv") && n->n_in > 3 ? 3 : n->n_in;
    if (!op || !x || x->rank < 1 || n_in > 8 || n->n_out > 8) return ONYX_OK;
    onyx_tensor ts[8], outs[8];
    onyx_tensor *in[8], *out[8];
    memset(ts, 0, sizeof ts);
    memset(outs, 0, sizeof outs);
    for (int k = 0; k < n_in; k++) {
        in[k] = NULL;
        if (n->in[k] < 0) continue;
        if (k == 0) {
            ts[0].dtype = x->dtype;
            ts[0].rank = x->rank;
            ts[0].dims[0] = 1;
            for (int d = 1; d < x->rank; d++) {
                if (!is_fixed(&x->dims[d])) return ONYX_OK;
                ts[0].dims[d] = x->dims[d].size;
            }
        } else {
            const ox_const *c = ox_opt_const(o, n->in[k]);
            if (!c) return ONYX_OK;
            ts[k] = c->t;
        }
        in[k] = &ts[k];
    }
    for (int k = 0; k < n->n_out; k++) out[k] = n->out[k] >= 0 ? &outs[k] : NULL;
    char msg[128];
    ox_pool tmp;
    ox_pool_init(&tmp, o->alloc, 0);
    ox_ctx c;
    ox_opt_op_ctx(&c, n, n_in, in, out, &tmp, msg, sizeof msg);
    onyx_status st = ts[0].dtype ? op->infer(&c) : ONYX_E_ARG;
    ox_pool_release(&tmp);
    if (st == ONYX_E_NOMEM) return ox_opt_nomem(o); /* other failures: the shape stays unknown */
    if (st || !out[0] || outs[0].rank < 1 || outs[0].rank > ONYX_MAX_RANK || outs[0].dims[0] != 1) return ONYX_OK;
    r->dtype = outs[0].dtype;
    r->rank = outs[0].rank;
    r->dims[0] = x->dims[0];
    for (int d = 1; d < r->rank; d++) r->dims[d] = fixed(outs[0].dims[d]);
    return ONYX_OK;
}

static bool in_list(const char *t, const char *const *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t, ops[i])) return true;
    return false;
}

/* Ops whose output 0 has input 0's shape and type. */
static bool same_shape_op(const char *t)
{
    static const char *const ops[] = {
        "Abs", "BatchNormalization", "Ceil", "Clip", "Cos", "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu",
        "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu", "Log",
        "LogSoftmax", "Neg", "Not", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Softmax",
        "Softplus", "Sqrt", "Tanh", "RMSNormalization", "LRN"};
    return in_list(t, ops, sizeof ops / sizeof ops[0]);
}

static bool broadcast_op(const char *t)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min", "Sum", "Mean"};
    return in_list(t, ops, sizeof ops / sizeof ops[0]);
}

static bool batch_keeping_op(const char *t)
{
    static const char *const ops[] = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
                                      "GlobalMaxPool", "LpPool"};
    return in_list(t, ops, sizeof ops / sizeof ops[0]);
}

/* Dims of value v that could not be told are still one size in a run: they become v's own
 * anonymous dims, equal to themselves wherever ops carry them (two Convs reading one value
 * of unknown batch have one batch). */
static void name_unknown(ox_sshape *s, int v)
{
    for (int d = 0; d < s->rank; d++)
        if (!s->dims[d].known && !s->dims[d].name && s->dims[d].value < 0) {
            s->dims[d].value = v;
            s->dims[d].axis = d;
        }
}

static void visit_slice(const ox_opt *o, const ox_node *n, const ox_sshape *x, ox_sshape *r)
{
    int64_t st[ONYX_MAX_RANK], en[ONYX_MAX_RANK], ax[ONYX_MAX_RANK], sp[ONYX_MAX_RANK];
    int ns, ne, na, np;
    if (n->opset < 10 || !fixed_list(o, n, 1, st, &ns) || !fixed_list(o, n, 2, en, &ne) || ns != ne) return;
    if (n->n_in > 3 && n->in[3] >= 0) {
        if (!fixed_list(o, n, 3, ax, &na) || na != ns) return;
    } else {
        for (int i = 0; i < ns; i++) ax[i] = i;
    }
    if (n->n_in > 4 && n->in[4] >= 0) {
        if (!fixed_list(o, n, 4, sp, &np) || np != ns) return;
    } else {
        for (int i = 0; i < ns; i++) sp[i] = 1;
    }
    /* a 1-D value of known contents: the contents sliced (shape[a:b] in exports) */
    const bool content = x->rank == 1 && x->n_content >= 0;
    *r = *x;
    r->n_content = -1;
    for (int i = 0; i < ns; i++) {
        int64_t a = ax[i] < 0 ? ax[i] + x->rank : ax[i];
        if (a < 0 || a >= x->rank || sp[i] != 1) {
            r->rank = -1;
            return;
        }
        const ox_sdim *d = &x->dims[a];
        if (!is_fixed(d)) { /* the whole of a symbolic dim, or unknown */
            r->dims[a] = st[i] == 0 && en[i] >= INT32_MAX ? *d : unknown();
            continue;
        }
        int64_t len = d->size, b = st[i] < 0 ? st[i] + len : st[i], e = en[i] < 0 ? en[i] + len : en[i];
        b = b < 0 ? 0 : b > len ? len : b;
        e = e < 0 ? 0 : e > len ? len : e;
        r->dims[a] = fixed(e > b ? e - b : 0);
        if (content && x->n_content == len) {
            r->n_content = (int)(e > b ? e - b : 0);
            for (int64_t j = b; j < e; j++) r->content[j - b] = x->content[j];
        }
    }
}

static void visit_split(const ox_opt *o, const ox_node *n, const ox_sshape *x)
{
    int64_t axis = iattr(n, "axis", 0), sizes[16];
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank || n->n_out > 16) return;
    int count = 0;
    const ox_attr *a = ox_node_attr(n, "split");
    if (n->opset < 13 && a && a->type == OX_ATTR_INTS && a->n == (size_t)n->n_out) {
        for (int i = 0; i < n->n_out; i++) sizes[i] = a->ints[i];
        count = n->n_out;
    } else if (n->opset >= 13 && n->n_in > 1 && n->in[1] >= 0) {
        const ox_const *c = ox_opt_const(o, n->in[1]);
        if (!c || c->t.dtype != ONYX_DTYPE_INT64 || ox_tensor_numel(&c->t) != n->n_out) return;
        for (int i = 0; i < n->n_out; i++) sizes[i] = ((const int64_t *)c->t.data)[i];
        count = n->n_out;
    } else if (is_fixed(&x->dims[axis]) && n->n_out > 0 && x->dims[axis].size % n->n_out == 0) {
        for (int i = 0; i < n->n_out; i++) sizes[i] = x->dims[axis].size / n->n_out;
        count = n->n_out;
    }
    if (count != n->n_out) return;
    for (int i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0) continue;
        ox_sshape *r = &o->sym[n->out[i]];
        *r = *x;
        r->n_content = -1;
        r->dims[axis] = fixed(sizes[i]);
        name_unknown(r, n->out[i]);
    }
}

static onyx_status visit(ox_opt *o, const ox_node *n)
{
    if (!n->op || *n->domain || n->n_out < 1 || n->out[0] < 0 || n->out[0] >= o->n_sym || n->n_in < 1) return ONYX_OK;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= o->n_sym) return ONYX_OK;
    const char *t = n->op_type;
    ox_sshape *r = &o->sym[n->out[0]];
    if (r->rank >= 0) return ONYX_OK; /* a constant, or a static shape from the folding walk */
    const ox_sshape *x = ox_opt_sshape(o, n->in[0]);
    ox_sshape res;
    clear(&res);
    if (!strcmp(t, "Split")) {
        if (x) visit_split(o, n, x);
        return ONYX_OK;
    }
    if (same_shape_op(t) && x) {
        res = *x;
        res.n_content = -1;
    } else if (!strcmp(t, "Cast") && x) {
        res = *x;
        res.dtype = (onyx_dtype)iattr(n, "to", 0);
        if (!int_type(res.dtype) || !int_type(x->dtype)) res.n_content = -1;
        for (int i = 0; i < res.n_content; i++) /* a narrowing cast changes what it cannot hold */
            if (res.dtype == ONYX_DTYPE_INT32 && (!res.content[i].known || res.content[i].size > INT32_MAX ||
                                                   res.content[i].size < INT32_MIN))
                res.n_content = -1;
    } else if (broadcast_op(t) && n->opset >= 7) {
        const int first = !strcmp(t, "Where");
        const ox_sshape *a = ox_opt_sshape(o, n->in[first]);
        if (!a) return ONYX_OK;
        res = *a;
        res.n_content = -1;
        for (int k = 0; k < n->n_in; k++) {
            const ox_sshape *b = k != first ? ox_opt_sshape(o, n->in[k]) : NULL;
            if (k == first) continue;
            if (!b || !broadcast(&res, b, 0, &res)) return ONYX_OK;
        }
        if (n->n_in == 2 && !first) arith(n, a, ox_opt_sshape(o, n->in[1]), &res);
    } else if (!strcmp(t, "MatMul") && n->n_in >= 2) {
        const ox_sshape *b = ox_opt_sshape(o, n->in[1]);
        if (!x || !b || x->rank < 2 || b->rank < 2 || !broadcast(x, b, 2, &res)) return ONYX_OK;
        res.dtype = x->dtype;
        res.dims[res.rank++] = x->dims[x->rank - 2];
        res.dims[res.rank++] = b->dims[b->rank - 1];
    } else if (!strcmp(t, "Gemm") && n->n_in >= 2) {
        const ox_sshape *b = ox_opt_sshape(o, n->in[1]);
        if (!x || !b || x->rank != 2 || b->rank != 2) return ONYX_OK;
        res.dtype = x->dtype;
        res.rank = 2;
        res.dims[0] = x->dims[iattr(n, "transA", 0) ? 1 : 0];
        res.dims[1] = b->dims[iattr(n, "transB", 0) ? 0 : 1];
    } else if (!strcmp(t, "Transpose") && x) {
        const ox_attr *p = ox_node_attr(n, "perm");
        res = *x;
        res.n_content = -1;
        if (p && (p->type != OX_ATTR_INTS || p->n != (size_t)x->rank)) return ONYX_OK;
        for (int d = 0; d < x->rank; d++) {
            int64_t s = p ? p->ints[d] : x->rank - 1 - d;
            if (s < 0 || s >= x->rank) return ONYX_OK;
            res.dims[d] = x->dims[s];
        }
    } else if (!strcmp(t, "Reshape") && n->opset >= 5 && n->n_in == 2) {
        const ox_sshape *s = ox_opt_sshape(o, n->in[1]);
        if (!s) return ONYX_OK;
        reshape(x, s, n->opset >= 14 && iattr(n, "allowzero", 0), &res);
        if (x) res.dtype = x->dtype;
    } else if (!strcmp(t, "Shape") && x) {
        int64_t start = iattr(n, "start", 0), end = iattr(n, "end", x->rank);
        start = start < 0 ? start + x->rank : start;
        end = end < 0 ? end + x->rank : end;
        start = start < 0 ? 0 : start > x->rank ? x->rank : start;
        end = end < start ? start : end > x->rank ? x->rank : end;
        res.dtype = ONYX_DTYPE_INT64;
        res.rank = 1;
        res.dims[0] = fixed(end - start);
        res.n_content = (int)(end - start);
        for (int64_t d = start; d < end; d++) res.content[d - start] = x->dims[d];
    } else if (!strcmp(t, "Gather") && n->n_in == 2 && x && x->rank == 1 && x->n_content >= 0 &&
               iattr(n, "axis", 0) == 0) {
        const ox_const *idx = ox_opt_const(o, n->in[1]);
        if (!idx || idx->t.rank > 1 || !int_type(idx->t.dtype) || ox_tensor_numel(&idx->t) > CONTENT_MAX) return ONYX_OK;
        res.dtype = x->dtype;
        res.rank = idx->t.rank;
        res.n_content = (int)ox_tensor_numel(&idx->t);
        if (res.rank) res.dims[0] = fixed(res.n_content);
        for (int i = 0; i < res.n_content; i++) {
            int64_t j = idx->t.dtype == ONYX_DTYPE_INT64 ? ((const int64_t *)idx->t.data)[i]
                                                         : ((const int32_t *)idx->t.data)[i];
            if (j < 0) j += x->n_content;
            if (j < 0 || j >= x->n_content) return ONYX_OK;
            res.content[i] = x->content[j];
        }
    } else if (!strcmp(t, "Unsqueeze") && x) {
        int64_t raw[ONYX_MAX_RANK]; /* against the output's rank */
        int nr = 0;
        if (n->opset < 13) {
            const ox_attr *a = ox_node_attr(n, "axes");
            if (!a || a->type != OX_ATTR_INTS || a->n > ONYX_MAX_RANK) return ONYX_OK;
            for (size_t i = 0; i < a->n; i++) raw[i] = a->ints[i];
            nr = (int)a->n;
        } else if (!fixed_list(o, n, 1, raw, &nr)) {
            return ONYX_OK;
        }
        const int rank = x->rank + nr;
        if (rank > ONYX_MAX_RANK) return ONYX_OK;
        bool one[ONYX_MAX_RANK] = {false};
        for (int i = 0; i < nr; i++) {
            int64_t a = raw[i] < 0 ? raw[i] + rank : raw[i];
            if (a < 0 || a >= rank || one[a]) return ONYX_OK;
            one[a] = true;
        }
        res.dtype = x->dtype;
        res.rank = rank;
        for (int d = 0, k = 0; d < rank; d++) res.dims[d] = one[d] ? fixed(1) : x->dims[k++];
        if (x->rank == 0 && x->n_content == 1 && rank == 1) {
            res.n_content = 1;
            res.content[0] = x->content[0];
        }
    } else if (!strcmp(t, "Squeeze") && x) {
        int64_t axes[ONYX_MAX_RANK];
        int na = 0;
        if (!axes_of(o, n, 13, x->rank, axes, &na) || na == 0) return ONYX_OK;
        bool drop[ONYX_MAX_RANK] = {false};
        for (int i = 0; i < na; i++) drop[axes[i]] = true;
        res.dtype = x->dtype;
        res.rank = 0;
        for (int d = 0; d < x->rank; d++)
            if (!drop[d]) res.dims[res.rank++] = x->dims[d];
        if (x->rank == 1 && x->n_content == 1 && res.rank == 0) {
            res.n_content = 1;
            res.content[0] = x->content[0];
        }
    } else if (!strcmp(t, "Concat") && x) {
        int64_t axis = iattr(n, "axis", 0);
        if (axis < 0) axis += x->rank;
        if (axis < 0 || axis >= x->rank) return ONYX_OK;
        res = *x;
        int64_t total = 0;
        bool content = x->rank == 1;
        res.n_content = 0;
        for (int k = 0; k < n->n_in; k++) {
            const ox_sshape *s = ox_opt_sshape(o, n->in[k]);
            if (!s || s->rank != x->rank) return ONYX_OK;
            if (total >= 0)
                total = is_fixed(&s->dims[axis]) && s->dims[axis].size >= 0 && total <= INT32_MAX &&
                                s->dims[axis].size <= INT32_MAX
                            ? total + s->dims[axis].size
                            : -1;
            if (content && s->n_content >= 0 && res.n_content + s->n_content <= CONTENT_MAX) {
                for (int i = 0; i < s->n_content; i++) res.content[res.n_content++] = s->content[i];
            } else {
                content = false;
            }
        }
        res.dims[axis] = total >= 0 ? fixed(total) : n->n_in == 1 ? x->dims[axis] : unknown();
        if (!content) res.n_content = -1;
    } else if (!strcmp(t, "Slice") && x) {
        visit_slice(o, n, x, &res);
    } else if (!strcmp(t, "Flatten") && x && x->rank >= 1) {
        int64_t axis = iattr(n, "axis", 1);
        if (axis < 0) axis += x->rank;
        if (axis != 1) return ONYX_OK;
        int64_t rest = 1;
        for (int d = 1; d < x->rank; d++)
            if (!is_fixed(&x->dims[d]) || !mul_ok(&rest, x->dims[d].size)) return ONYX_OK;
        res.dtype = x->dtype;
        res.rank = 2;
        res.dims[0] = x->dims[0];
        res.dims[1] = fixed(rest);
    } else if (!strcmp(t, "Attention") && x && x->rank == 4 && n->n_in >= 3) { /* 4-D: [B, Hq, S, Dv] */
        const ox_sshape *v = ox_opt_sshape(o, n->in[2]);
        if (!v || v->rank != 4) return ONYX_OK;
        res = *x;
        res.n_content = -1;
        res.dims[3] = v->dims[3];
    } else if (batch_keeping_op(t)) {
        onyx_status st = batch_op(o, n, x, &res);
        if (st) return st;
    } else {
        return ONYX_OK;
    }
    if (res.rank > ONYX_MAX_RANK) return ONYX_OK;
    name_unknown(&res, n->out[0]);
    *r = res;
    return ONYX_OK;
}

onyx_status ox_opt_sym_shapes(ox_opt *o)
{
    ox_free(&o->alloc, o->sym, (size_t)(o->n_sym ? o->n_sym : 1) * sizeof *o->sym);
    o->n_sym = 0;
    o->sym = ox_malloc(&o->alloc, (size_t)(o->g->n_values ? o->g->n_values : 1) * sizeof *o->sym);
    if (!o->sym) return ox_opt_nomem(o);
    o->n_sym = o->g->n_values;
    seed(o);
    onyx_status st = ONYX_OK;
    for (int i = 0; i < o->g->n_nodes && !st; i++)
        if (!o->dead[i]) st = visit(o, &o->g->nodes[i]);
    return st;
}

/* ---- folding known shape arithmetic ------------------------------------------------------ */

/* A small integer value whose contents are all fixed although its inputs are not constants
 * (Gather(Shape(x), 2) where x's dim 2 is declared fixed and dim 0 is not): a new constant,
 * which its readers read instead, so the constant-folding walk goes on from it (the head
 * size, the attention scale computed from it) as it does for fixed-shape inputs. */
static onyx_status fold_value(ox_opt *o, int i, bool *changed)
{
    ox_graph *g = o->g;
    const ox_node *n = &g->nodes[i];
    if (!n->op || *n->domain || ox_opt_is(n, "Constant") || n->n_out != 1 || n->n_implicit) return ONYX_OK;
    const int v = n->out[0];
    if (v < 0 || v >= o->n_sym || v >= o->n_values || o->pinned[v] || ox_opt_const(o, v)) return ONYX_OK;
    const ox_sshape *s = &o->sym[v];
    if (!int_type(s->dtype) || s->rank > 1 || s->n_content < 0 || (s->rank == 0 && s->n_content != 1) ||
        (s->rank == 1 && (!s->dims[0].known || s->dims[0].size != s->n_content)))
        return ONYX_OK;
    for (int k = 0; k < s->n_content; k++)
        if (!s->content[k].known || (s->dtype == ONYX_DTYPE_INT32 && (s->content[k].size > INT32_MAX ||
                                                                        s->content[k].size < INT32_MIN)))
            return ONYX_OK;
    const int64_t dims[1] = {s->n_content};
    ox_const *c;
    int nv = ox_opt_new_const(o, g->values[v].name, s->dtype, s->rank, dims, &c);
    if (nv < 0) return ox_opt_nomem(o);
    for (int k = 0; k < s->n_content; k++) {
        if (s->dtype == ONYX_DTYPE_INT64) ((int64_t *)c->t.data)[k] = s->content[k].size;
        else ((int32_t *)c->t.data)[k] = (int32_t)s->content[k].size;
    }
    for (int j = 0; j < g->n_nodes; j++) {
        if (o->dead[j]) continue;
        ox_node *r = &g->nodes[j];
        for (int k = 0; k < r->n_in; k++)
            if (r->in[k] == v) r->in[k] = nv;
    }
    o->dead[i] = true;
    o->stats->fired[OX_PASS_FOLD_CONST]++;
    *changed = true;
    return ONYX_OK;
}

onyx_status ox_pass_fold_shapes(ox_opt *o, bool *changed)
{
    onyx_status st = ox_opt_sym_shapes(o);
    for (int i = 0; i < o->g->n_nodes && !st; i++)
        if (!o->dead[i]) st = fold_value(o, i, changed);
    return st;
}
