/* fold_into_gemm.c — what a Gemm can do itself, folded into it (written by `onyx optimize`:
 * the result is a standard Gemm):
 *
 *   Transpose into Gemm    Gemm(Transpose(X), ...) reads X with transA/transB flipped; a 2-D
 *                          MatMul with a transposed input becomes such a Gemm (float only:
 *                          onnxruntime has no integer Gemm).
 *   Mul into Gemm          Mul(Gemm(...), s) with s a float32 constant: a scalar scales alpha
 *                          and beta; a row of per-column factors scales the columns of a
 *                          constant B and of C.
 *   Add into Gemm          Add/Sub(Gemm(...), d) with d a float32 constant row or scalar: d
 *                          joins C (C' = beta C ± d, beta' = 1).
 *
 * The Gemm's output must be read only by the folded node (and not be pinned); the Gemm
 * takes over that node's output value. New weights and biases are new constants: the
 * model's are shared and stay as they are. */
#include <string.h>

#include "op.h"
#include "opt.h"

/* Sets int or float attribute `name` of n (added when absent) on a private copy of its
 * attributes; false when out of memory. */
static bool set_attr(ox_opt *o, ox_node *n, const char *name, ox_attr_type type, int64_t i, float f)
{
    int k = 0;
    while (k < n->n_attr && (!n->attr[k].name || strcmp(n->attr[k].name, name))) k++;
    ox_attr *a = ox_pool_array(o->g->pool, (size_t)n->n_attr + (k == n->n_attr), sizeof *a);
    if (!a) return false;
    if (n->n_attr) memcpy(a, n->attr, (size_t)n->n_attr * sizeof *a);
    memset(&a[k], 0, sizeof a[k]);
    a[k].name = name;
    a[k].type = type;
    a[k].i = i;
    a[k].f = f;
    n->attr = a;
    n->n_attr += k == n->n_attr;
    return true;
}

/* Gemm attribute `name` as an int or float (def when absent); false when mistyped. */
static bool gemm_int(const ox_node *n, const char *name, int64_t *out)
{
    const ox_attr *a = ox_node_attr(n, name);
    if (a && a->type != OX_ATTR_INT) return false;
    *out = a ? a->i : 0;
    return true;
}

static bool gemm_float(const ox_node *n, const char *name, float *out)
{
    const ox_attr *a = ox_node_attr(n, name);
    if (a && a->type != OX_ATTR_FLOAT) return false;
    *out = a ? a->f : 1.0f;
    return true;
}

/* The input of a live 2-D Transpose (perm [1, 0], or none on a matrix) producing v, or -1. */
static int transposed_from(const ox_opt *o, int v)
{
    int p = ox_opt_producer(o, v);
    if (p < 0) return -1;
    const ox_node *t = &o->g->nodes[p];
    if (!ox_opt_is(t, "Transpose") || t->n_in != 1 || t->in[0] < 0 || t->n_out != 1 || t->n_implicit ||
        ox_opt_rank(o, t->in[0]) != 2)
        return -1;
    const ox_attr *perm = ox_node_attr(t, "perm");
    if (perm && (perm->type != OX_ATTR_INTS || perm->n != 2 || perm->ints[0] != 1 || perm->ints[1] != 0)) return -1;
    return t->in[0];
}

/* ---- Transpose into Gemm ---------------------------------------------------------------- */

/* Gemm (or 2-D float MatMul, which becomes a Gemm) node n reads its transposed inputs
 * directly. The Transposes stay for their other readers; dead ones go at the end. */
static onyx_status transpose_into(ox_opt *o, ox_node *n, bool *done)
{
    bool mm = ox_opt_is(n, "MatMul");
    if (n->n_implicit || n->n_out != 1 || n->n_in < 2 || n->in[0] < 0 || n->in[1] < 0) return ONYX_OK;
    int64_t trans[2] = {0, 0};
    if (mm) {
        /* Gemm without C needs opset 11; both inputs matrices, float (onnxruntime's Gemm) */
        if (n->n_in != 2 || n->opset < 11 || ox_opt_rank(o, n->in[0]) != 2 || ox_opt_rank(o, n->in[1]) != 2 ||
            !(ox_opt_float(o, n->in[0]) || ox_opt_float(o, n->in[1])))
            return ONYX_OK;
    } else if (!gemm_int(n, "transA", &trans[0]) || !gemm_int(n, "transB", &trans[1])) {
        return ONYX_OK;
    }
    int src[2] = {transposed_from(o, n->in[0]), transposed_from(o, n->in[1])};
    if (src[0] < 0 && src[1] < 0) return ONYX_OK;
    const ox_op *gemm = mm ? ox_op_find("", "Gemm", n->opset) : n->op;
    if (!gemm) return ONYX_OK;
    int in[3] = {n->in[0], n->in[1], n->n_in > 2 ? n->in[2] : -1};
    static const char *const names[2] = {"transA", "transB"};
    for (int k = 0; k < 2; k++) {
        if (src[k] < 0) continue;
        in[k] = src[k];
        if (!set_attr(o, n, names[k], OX_ATTR_INT, !trans[k], 0.0f)) return ox_opt_nomem(o);
    }
    if (!ox_opt_set_inputs(o, n, in, n->n_in)) return ox_opt_nomem(o);
    n->op_type = "Gemm";
    n->op = gemm;
    *done = true;
    return ONYX_OK;
}

/* ---- Mul / Add into Gemm ---------------------------------------------------------------- */

/* What a folded node does to the Gemm's output y: y * s, y + s or y - s, with s a float32
 * constant that is a scalar or a row (per column: [N] or [1, N]). */
typedef struct fold_op {
    enum { FOLD_MUL, FOLD_ADD } kind;
    const float *s;
    int64_t len; /* 1 or the row's length */
    float sign;  /* Add: +1, Sub: -1 */
} fold_op;

/* Node n as y <op> constant, y = v: fills f and the Gemm's output value; false when it is
 * none of the forms above. */
static bool match_fold(const ox_opt *o, const ox_node *n, int *y, fold_op *f)
{
    bool mul = ox_opt_is(n, "Mul"), add = ox_opt_is(n, "Add"), sub = ox_opt_is(n, "Sub");
    if ((!mul && !add && !sub) || n->opset < 7 || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit)
        return false;
    for (int k = 0; k < (sub ? 1 : 2); k++) { /* Sub only as y - s */
        const ox_const *c = ox_opt_const(o, n->in[1 - k]);
        if (!c || c->t.dtype != ONYX_DTYPE_FLOAT || c->t.rank > 2 || (c->t.rank == 2 && c->t.dims[0] != 1)) continue;
        int64_t len = ox_tensor_numel(&c->t);
        if (len < 1) continue;
        f->kind = mul ? FOLD_MUL : FOLD_ADD;
        f->s = c->t.data;
        f->len = len;
        f->sign = sub ? -1.0f : 1.0f;
        *y = n->in[k];
        return true;
    }
    return false;
}

/* The float32 constant C of Gemm n as a row (scalar or [N]/[1, N]); *len 0 when n has no C;
 * false when C is something else (not constant, a full matrix). */
static bool c_row(const ox_opt *o, const ox_node *n, const float **c, int64_t *len)
{
    *c = NULL;
    *len = 0;
    if (n->n_in < 3 || n->in[2] < 0) return true;
    const ox_const *k = ox_opt_const(o, n->in[2]);
    if (!k || k->t.dtype != ONYX_DTYPE_FLOAT || k->t.rank > 2 || (k->t.rank == 2 && k->t.dims[0] != 1)) return false;
    *c = k->t.data;
    *len = ox_tensor_numel(&k->t);
    return *len >= 1;
}

/* New C (a row of `len` values): beta * C (op) s, where op is the fold. */
static int new_c(ox_opt *o, const ox_node *n, float beta, const float *c, int64_t c_len, const fold_op *f, int64_t len)
{
    ox_const *k;
    int v = ox_opt_new_const(o, n->out[0] >= 0 ? o->g->values[n->out[0]].name : "gemm_c", ONYX_DTYPE_FLOAT, 1, &len, &k);
    if (v < 0) return -1;
    float *dst = k->t.data;
    for (int64_t j = 0; j < len; j++) {
        double cj = c ? (double)beta * c[c_len > 1 ? j : 0] : 0.0, sj = f->s[f->len > 1 ? j : 0];
        dst[j] = (float)(f->kind == FOLD_MUL ? cj * sj : cj + f->sign * sj);
    }
    return v;
}

/* Gemm node n absorbs fold f (its output read only by the folded node). */
static onyx_status fold_into(ox_opt *o, ox_node *n, const fold_op *f, bool *done)
{
    float alpha, beta;
    int64_t tb;
    if (n->opset < 7 || n->n_in < 2 || n->n_out != 1 || n->n_implicit || !gemm_float(n, "alpha", &alpha) ||
        !gemm_float(n, "beta", &beta) || !gemm_int(n, "transB", &tb))
        return ONYX_OK;
    if (f->kind == FOLD_MUL && f->len == 1) { /* s (alpha A B + beta C), whatever C is */
        if (!set_attr(o, n, "alpha", OX_ATTR_FLOAT, 0, alpha * f->s[0]) ||
            !set_attr(o, n, "beta", OX_ATTR_FLOAT, 0, beta * f->s[0]))
            return ox_opt_nomem(o);
        *done = true;
        return ONYX_OK;
    }
    const float *c;
    int64_t c_len;
    if (!c_row(o, n, &c, &c_len) || (c_len > 1 && f->len > 1 && c_len != f->len)) return ONYX_OK;
    int in[3] = {n->in[0], n->in[1], -1};
    int64_t len = c_len > f->len ? c_len : f->len;
    if (f->kind == FOLD_MUL) { /* per column: B's columns and C scaled */
        const ox_const *b = ox_opt_const(o, n->in[1]);
        if (!b || b->t.dtype != ONYX_DTYPE_FLOAT || b->t.rank != 2 || b->t.dims[tb ? 0 : 1] != f->len) return ONYX_OK;
        ox_const *nb;
        in[1] = ox_opt_new_const(o, o->g->values[n->in[1]].name, ONYX_DTYPE_FLOAT, 2, b->t.dims, &nb);
        if (in[1] < 0) return ox_opt_nomem(o);
        const float *src = b->t.data;
        float *dst = nb->t.data;
        for (int64_t r = 0; r < b->t.dims[0]; r++)
            for (int64_t col = 0; col < b->t.dims[1]; col++) {
                int64_t i = r * b->t.dims[1] + col;
                dst[i] = src[i] * f->s[tb ? r : col];
            }
        if (c && (in[2] = new_c(o, n, beta, c, c_len, f, len)) < 0) return ox_opt_nomem(o);
    } else if ((in[2] = new_c(o, n, beta, c, c_len, f, len)) < 0) {
        return ox_opt_nomem(o);
    }
    if (!ox_opt_set_inputs(o, n, in, in[2] >= 0 ? 3 : 2) || (in[2] >= 0 && !set_attr(o, n, "beta", OX_ATTR_FLOAT, 0, 1.0f)))
        return ox_opt_nomem(o);
    *done = true;
    return ONYX_OK;
}

onyx_status ox_pass_fold_into_gemm(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    for (int i = 0; i < g->n_nodes; i++) {
        if (o->dead[i]) continue;
        ox_node *n = &g->nodes[i];
        bool done = false;
        onyx_status st;
        if (ox_opt_is(n, "Gemm") || ox_opt_is(n, "MatMul")) {
            if ((st = transpose_into(o, n, &done))) return st;
            if (done) {
                o->stats->fired[OX_PASS_TRANSPOSE_GEMM]++;
                *changed = true;
            }
            continue;
        }
        int y, p;
        fold_op f;
        if (!match_fold(o, n, &y, &f) || !ox_opt_single_use(o, y) || (p = ox_opt_producer(o, y)) < 0) continue;
        ox_node *gm = &g->nodes[p];
        if (!ox_opt_is(gm, "Gemm") || gm->out[0] != y) continue;
        if ((st = fold_into(o, gm, &f, &done))) return st;
        if (!done) continue;
        gm->out[0] = n->out[0];
        o->dead[i] = true;
        o->stats->fired[f.kind == FOLD_MUL ? OX_PASS_MUL_GEMM : OX_PASS_ADD_GEMM]++;
        *changed = true;
    }
    return ONYX_OK;
}
