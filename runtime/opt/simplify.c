/* simplify.c — movement ops that change nothing, and chains of them that collapse:
 *   Reshape / Expand to the shape the input already has, Slice that takes everything
 *   (static shapes from the constant-folding walk, ox_opt_shape), Transpose by the identity
 *   permutation: the node goes, readers read its input;
 *   Transpose of a Transpose: one Transpose by the composed permutation (gone if identity);
 *   Reshape of a Reshape: the second reshapes the first's input directly (its target must not
 *   copy dims from its input, i.e. contain no 0 unless allowzero).
 * A node whose output is pinned stays (its name needs a producer). */
#include <string.h>

#include "opt.h"

static bool same_shape(const onyx_tensor *a, const onyx_tensor *b)
{
    if (!a || !b || a->rank != b->rank || a->dtype != b->dtype) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* True when every value of constant input k of n is positive (absent: true). */
static bool steps_positive(const ox_opt *o, const ox_node *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0) return true;
    const ox_const *c = ox_opt_const(o, n->in[k]);
    if (!c || (c->t.dtype != ONYX_DTYPE_INT64 && c->t.dtype != ONYX_DTYPE_INT32)) return false;
    for (int64_t i = 0; i < ox_tensor_numel(&c->t); i++) {
        int64_t s = c->t.dtype == ONYX_DTYPE_INT64 ? ((const int64_t *)c->t.data)[i] : ((const int32_t *)c->t.data)[i];
        if (s <= 0) return false;
    }
    return true;
}

/* Reshape, Expand or Slice node n whose output has its input's shape. */
static bool shape_noop(const ox_opt *o, const ox_node *n)
{
    bool reshape = ox_opt_is(n, "Reshape") && n->n_in == 2, expand = ox_opt_is(n, "Expand") && n->n_in == 2;
    bool slice = ox_opt_is(n, "Slice") && steps_positive(o, n, 4);
    if (!reshape && !expand && !slice) return false;
    return same_shape(ox_opt_shape(o, n->in[0]), ox_opt_shape(o, n->out[0]));
}

/* Transpose n's permutation into perm (absent: reversed dims, needs the rank); its length,
 * or -1 when unknown. */
static int perm_of(const ox_opt *o, const ox_node *n, int64_t *perm)
{
    const ox_attr *a = ox_node_attr(n, "perm");
    if (a) {
        if (a->type != OX_ATTR_INTS || a->n > ONYX_MAX_RANK) return -1;
        for (size_t i = 0; i < a->n; i++) perm[i] = a->ints[i];
        return (int)a->n;
    }
    int r = ox_opt_rank(o, n->in[0]);
    if (r < 0 || r > ONYX_MAX_RANK) return -1;
    for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    return r;
}

static bool is_identity(const int64_t *perm, int r)
{
    for (int i = 0; i < r; i++)
        if (perm[i] != i) return false;
    return r >= 0;
}

/* Transpose n reading Transpose t: n now reads t's input, by the composed permutation. */
static onyx_status compose_transposes(ox_opt *o, ox_node *n, const ox_node *t, bool *done)
{
    int64_t p1[ONYX_MAX_RANK], p2[ONYX_MAX_RANK];
    int r1 = perm_of(o, t, p1), r2 = perm_of(o, n, p2);
    if (r1 < 0 || r1 != r2) return ONYX_OK;
    int64_t *p = ox_pool_array(o->g->pool, (size_t)(r1 ? r1 : 1), sizeof *p);
    if (!p) return ox_opt_nomem(o);
    for (int i = 0; i < r1; i++) {
        if (p2[i] < 0 || p2[i] >= r1) return ONYX_OK;
        p[i] = p1[p2[i]];
    }
    ox_attr *a = ox_pool_array(o->g->pool, 1, sizeof *a);
    if (!a) return ox_opt_nomem(o);
    a->name = "perm";
    a->type = OX_ATTR_INTS;
    a->ints = p;
    a->n = (size_t)r1;
    n->attr = a; /* perm is Transpose's only attribute */
    n->n_attr = 1;
    n->in[0] = t->in[0];
    *done = true;
    return ONYX_OK;
}

/* Reshape n reading Reshape r: n reshapes r's input when its target copies no input dims. */
static bool collapse_reshapes(const ox_opt *o, ox_node *n, const ox_node *r)
{
    if (n->opset < 5 || r->opset < 5 || r->n_in != 2) return false;
    const ox_const *s = ox_opt_const(o, n->in[1]);
    if (!s || s->t.dtype != ONYX_DTYPE_INT64) return false;
    const ox_attr *az = ox_node_attr(n, "allowzero");
    if (!(az && az->type == OX_ATTR_INT && az->i))
        for (int64_t i = 0; i < ox_tensor_numel(&s->t); i++)
            if (((const int64_t *)s->t.data)[i] == 0) return false;
    n->in[0] = r->in[0];
    return true;
}

onyx_status ox_pass_simplify(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    size_t nv = (size_t)(o->n_values ? o->n_values : 1);
    int *alias = ox_malloc(&o->alloc, nv * sizeof *alias);
    if (!alias) return ox_opt_nomem(o);
    for (int v = 0; v < o->n_values; v++) alias[v] = -1;
    onyx_status st = ONYX_OK;
    for (int i = 0; i < g->n_nodes && !st; i++) {
        ox_node *n = &g->nodes[i];
        if (o->dead[i]) continue;
        for (int k = 0; k < n->n_in; k++)
            while (n->in[k] >= 0 && n->in[k] < o->n_values && alias[n->in[k]] >= 0) n->in[k] = alias[n->in[k]];
        if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1 || n->out[0] < 0 || n->n_implicit) continue;
        ox_pass kind = OX_PASS_COUNT;
        int p = ox_opt_producer(o, n->in[0]);
        const ox_node *prev = p >= 0 ? &g->nodes[p] : NULL;
        if (ox_opt_is(n, "Transpose")) {
            bool composed = false;
            if (prev && ox_opt_is(prev, "Transpose") && prev->n_in == 1 && (st = compose_transposes(o, n, prev, &composed)))
                break;
            if (composed) {
                o->stats->fired[OX_PASS_TRANSPOSE]++;
                *changed = true;
            }
            int64_t perm[ONYX_MAX_RANK] = {0};
            if (is_identity(perm, perm_of(o, n, perm))) kind = OX_PASS_TRANSPOSE;
        } else if (ox_opt_is(n, "Reshape") && prev && ox_opt_is(prev, "Reshape") && n->n_in == 2 &&
                   collapse_reshapes(o, n, prev)) {
            o->stats->fired[OX_PASS_RESHAPE]++;
            *changed = true;
        }
        if (kind == OX_PASS_COUNT && shape_noop(o, n)) kind = OX_PASS_RESHAPE;
        if (kind == OX_PASS_COUNT || o->pinned[n->out[0]] || n->out[0] >= o->n_values) continue;
        alias[n->out[0]] = n->in[0];
        o->dead[i] = true;
        o->stats->fired[kind]++;
        *changed = true;
    }
    ox_free(&o->alloc, alias, nv * sizeof *alias);
    return st;
}
