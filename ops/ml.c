/* ml.c — the classical machine-learning ops of domain ai.onnx.ml: LabelEncoder, Binarizer,
 * ArrayFeatureExtractor and TreeEnsemble.
 *
 * Their parameters are attributes (lists or tensors), checked once in infer; run trusts
 * what infer checked about the attributes and checks only what depends on input data
 * (indices). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "op.h"

#define ML "ai.onnx.ml"

/* Numeric element i of a plain array of dtype t, as double (strings: 0). */
static double elem_f64(onyx_dtype t, const void *data, int64_t i)
{
    onyx_tensor v = {.dtype = t, .data = (void *)data};
    return ox_read_f64(&v, i);
}

/* double -> float without the undefined conversion of values beyond float's range. */
static float to_f32(double v)
{
    if (v > FLT_MAX) return INFINITY;
    if (v < -FLT_MAX) return -INFINITY;
    return (float)v;
}

/* Stores v as element i of a float, double or float16 array. */
static void store_real(onyx_dtype t, void *data, int64_t i, double v)
{
    if (t == ONYX_DTYPE_DOUBLE) ((double *)data)[i] = v;
    else if (t == ONYX_DTYPE_FLOAT16) ((uint16_t *)data)[i] = ox_f32_to_f16(to_f32(v));
    else ((float *)data)[i] = to_f32(v);
}

/* ---- LabelEncoder ---------------------------------------------------------------------- */

/* A column of keys or values: a plain array of one dtype (strings as `const char *`). */
typedef struct column {
    onyx_dtype dtype;
    size_t n;
    const void *data; /* unused when `positions` */
    bool positions;   /* opset 1: the elements are 0, 1, … n-1 (positions in classes_strings) */
} column;

typedef struct label_map {
    column keys, values;
    unsigned char def[16]; /* the default output element, in the values' dtype */
} label_map;

/* Reads the one attribute among keys_strings / keys_int64s / keys_floats / keys_tensor
 * (prefix "keys" or "values") into col. Tensor forms exist from opset 4. */
static onyx_status map_column(ox_ctx *c, const char *prefix, column *col)
{
    static const char *const forms[] = {"strings", "int64s", "floats", "tensor"};
    const ox_attr *found = NULL;
    for (int f = 0; f < 4; f++) {
        char name[32];
        snprintf(name, sizeof name, "%s_%s", prefix, forms[f]);
        const ox_attr *a = ox_node_attr(c->node, name);
        if (!a) continue;
        if (found) return ox_fail(c, ONYX_E_ARG, "more than one %s_* attribute is set", prefix);
        if (f == 3 && c->opset < 4)
            return ox_fail(c, ONYX_E_ARG, "%s is only defined from opset 4", name);
        static const ox_attr_type types[] = {OX_ATTR_STRINGS, OX_ATTR_INTS, OX_ATTR_FLOATS, OX_ATTR_TENSOR};
        if (a->type != types[f]) return ox_fail(c, ONYX_E_ARG, "attribute '%s' has the wrong type", name);
        found = a;
        switch (f) {
        case 0: *col = (column){ONYX_DTYPE_STRING, a->n, a->strings, false}; break;
        case 1: *col = (column){ONYX_DTYPE_INT64, a->n, a->ints, false}; break;
        case 2: *col = (column){ONYX_DTYPE_FLOAT, a->n, a->floats, false}; break;
        default: {
            const onyx_tensor *t = &a->t->t;
            static const onyx_dtype ok[] = {ONYX_DTYPE_STRING, ONYX_DTYPE_INT16, ONYX_DTYPE_INT32,
                                            ONYX_DTYPE_INT64, ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE};
            bool known = false;
            for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) known |= t->dtype == ok[k];
            if (!known || t->rank != 1)
                return ox_fail(c, ONYX_E_ARG, "%s must be a 1-D string, int16, int32, int64, float or double tensor", name);
            *col = (column){t->dtype, (size_t)t->dims[0], t->data, false};
        }
        }
    }
    if (!found) return ox_fail(c, ONYX_E_ARG, "no %s_* attribute is set", prefix);
    return ONYX_OK;
}

/* The default output element: default_tensor for tensor values, else default_int64 /
 * default_float / default_string, with the schema's defaults (-1, -0.0, "_Unused"). */
static onyx_status map_default(ox_ctx *c, label_map *m)
{
    onyx_dtype t = m->values.dtype;
    const ox_attr *dt = ox_node_attr(c->node, "default_tensor");
    const ox_attr *vt = ox_node_attr(c->node, "values_tensor");
    if (vt && dt) {
        if (dt->type != OX_ATTR_TENSOR || dt->t->t.dtype != t || dt->t->nbytes < onyx_dtype_size(t))
            return ox_fail(c, ONYX_E_ARG, "default_tensor must hold one %s", onyx_dtype_name(t));
        memcpy(m->def, dt->t->t.data, onyx_dtype_size(t));
        return ONYX_OK;
    }
    const char *s = ox_attr_string(c, "default_string", "_Unused");
    int64_t i = ox_attr_int(c, "default_int64", -1);
    float f = ox_attr_float(c, "default_float", -0.0f);
    double d = f;
    int32_t i32 = (int32_t)(vt ? -1 : 0);
    int16_t i16 = (int16_t)(vt ? -1 : 0);
    switch (t) {
    case ONYX_DTYPE_STRING: memcpy(m->def, &s, sizeof s); break;
    case ONYX_DTYPE_INT64: memcpy(m->def, &i, sizeof i); break;
    case ONYX_DTYPE_FLOAT: memcpy(m->def, &f, sizeof f); break;
    case ONYX_DTYPE_DOUBLE: memcpy(m->def, &d, sizeof d); break;
    case ONYX_DTYPE_INT32: memcpy(m->def, &i32, sizeof i32); break;
    default: memcpy(m->def, &i16, sizeof i16); break;
    }
    return ONYX_OK;
}

/* The mapping as attributes define it. Opset 1 maps strings to their position in
 * classes_strings (default_int64) or positions to strings (default_string). */
static onyx_status label_map_read(ox_ctx *c, label_map *m)
{
    onyx_status st;
    memset(m, 0, sizeof *m);
    if (c->opset < 2) {
        const ox_attr *a = ox_node_attr(c->node, "classes_strings");
        if (!a || a->type != OX_ATTR_STRINGS)
            return ox_fail(c, ONYX_E_ARG, "attribute 'classes_strings' is missing");
        column classes = {ONYX_DTYPE_STRING, a->n, a->strings, false};
        column positions = {ONYX_DTYPE_INT64, a->n, NULL, true};
        bool to_int = c->in[0]->dtype == ONYX_DTYPE_STRING;
        m->keys = to_int ? classes : positions;
        m->values = to_int ? positions : classes;
        return map_default(c, m);
    }
    if ((st = map_column(c, "keys", &m->keys)) || (st = map_column(c, "values", &m->values))) return st;
    if (m->keys.n != m->values.n)
        return ox_fail(c, ONYX_E_ARG, "%zu keys but %zu values", m->keys.n, m->values.n);
    return map_default(c, m);
}

/* Three-way comparison of element i of (t, a) with element j of (t, b). NaNs equal each
 * other and sort after every number, so a NaN key matches a NaN input. */
static int key_cmp(onyx_dtype t, const void *a, int64_t i, const void *b, int64_t j)
{
    if (t == ONYX_DTYPE_STRING) {
        const char *p = ((const char *const *)a)[i], *q = ((const char *const *)b)[j];
        return strcmp(p ? p : "", q ? q : "");
    }
    if (t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE) {
        double x = elem_f64(t, a, i), y = elem_f64(t, b, j);
        if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
        return (x > y) - (x < y);
    }
    int64_t x, y; /* int16 and int32 are exact as double; int64 is read as is */
    if (t == ONYX_DTYPE_INT64) {
        x = ((const int64_t *)a)[i];
        y = ((const int64_t *)b)[j];
    } else {
        x = (int64_t)elem_f64(t, a, i);
        y = (int64_t)elem_f64(t, b, j);
    }
    return (x > y) - (x < y);
}

/* Order of key positions p and q: by key, then by position (so the sort is total). */
static bool key_before(const column *k, int64_t p, int64_t q)
{
    int r = key_cmp(k->dtype, k->data, p, k->data, q);
    return r < 0 || (r == 0 && p < q);
}

/* Heap sort of the key positions idx[0..n) (in scratch: no allocation, no recursion). */
static void sort_keys(const column *k, int64_t *idx, int64_t n)
{
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t end = n, start = n / 2; end > 1;) {
        if (start > 0) start--;
        else {
            int64_t top = idx[--end];
            idx[end] = idx[0];
            idx[0] = top;
        }
        for (int64_t root = start;;) { /* sift idx[root] down within [0, end) */
            int64_t child = 2 * root + 1;
            if (child >= end) break;
            if (child + 1 < end && key_before(k, idx[child], idx[child + 1])) child++;
            if (!key_before(k, idx[root], idx[child])) break;
            int64_t tmp = idx[root];
            idx[root] = idx[child];
            idx[child] = tmp;
            root = child;
        }
    }
}

/* Position of the last key equal to element i of x among the sorted positions, or -1. */
static int64_t find_key(const column *k, const int64_t *idx, const onyx_tensor *x, int64_t i)
{
    int64_t lo = 0, hi = (int64_t)k->n; /* first position whose key is greater than x[i] */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (key_cmp(k->dtype, x->data, i, k->data, idx[mid]) >= 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0 || key_cmp(k->dtype, x->data, i, k->data, idx[lo - 1]) != 0) return -1;
    return idx[lo - 1];
}

static onyx_status label_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    label_map m;
    if (st || (st = label_map_read(c, &m))) return st;
    const onyx_tensor *x = c->in[0];
    bool int_ok = m.keys.positions && ox_dtype_is_int(x->dtype);
    if (x->dtype != m.keys.dtype && !int_ok)
        return ox_fail(c, ONYX_E_ARG, "input is %s but the keys are %s", onyx_dtype_name(x->dtype),
                       onyx_dtype_name(m.keys.dtype));
    if (!m.keys.positions) c->scratch_bytes = m.keys.n * sizeof(int64_t);
    ox_set_shape(c->out[0], m.values.dtype, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status label_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    label_map m;
    onyx_status st = label_map_read(c, &m);
    if (st) return st;
    size_t es = onyx_dtype_size(m.values.dtype);
    char *y = c->out[0]->data;
    int64_t n = ox_tensor_numel(x), *idx = c->scratch;
    if (!m.keys.positions) {
        if (c->scratch_bytes < m.keys.n * sizeof(int64_t))
            return ox_fail(c, ONYX_E_INTERNAL, "scratch for the key index is missing");
        sort_keys(&m.keys, idx, (int64_t)m.keys.n);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t k; /* the matching key's position, or -1 */
        if (!m.keys.positions) {
            k = find_key(&m.keys, idx, x, i);
        } else { /* opset 1, positions to strings: the input is the position */
            k = ox_read_int(x, i);
            if (k >= (int64_t)m.keys.n) k = -1;
        }
        const unsigned char *src = m.def;
        if (k >= 0 && !m.values.positions) src = (const unsigned char *)m.values.data + (size_t)k * es;
        else if (k >= 0) src = (const unsigned char *)&k; /* opset 1, strings to positions */
        memcpy(y + (size_t)i * es, src, es);
    }
    return ONYX_OK;
}

/* ---- Binarizer ------------------------------------------------------------------------- */

static const onyx_dtype real_or_int[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_INT32,
                                         ONYX_DTYPE_INT64, 0};

static onyx_status binarizer_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = ox_expect_dtype(c, 0, real_or_int))) return st;
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

/* v > t exactly for an int64 v (as double, large values would round): v > t iff
 * v > floor(t), when floor(t) is in int64's range [-2^63, 2^63). NaN is never exceeded. */
static bool int64_above(int64_t v, double t)
{
    if (t < -9223372036854775808.0) return true;
    if (!(t < 9223372036854775808.0)) return false;
    return v > (int64_t)floor(t);
}

static onyx_status binarizer_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    void *y = c->out[0]->data;
    double threshold = ox_attr_float(c, "threshold", 0.0f);
    int64_t n = ox_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        bool above = x->dtype == ONYX_DTYPE_INT64 ? int64_above(((const int64_t *)x->data)[i], threshold)
                                                  : ox_read_f64(x, i) > threshold;
        switch (x->dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)y)[i] = above; break;
        case ONYX_DTYPE_DOUBLE: ((double *)y)[i] = above; break;
        case ONYX_DTYPE_INT32: ((int32_t *)y)[i] = above; break;
        default: ((int64_t *)y)[i] = above; break;
        }
    }
    return ONYX_OK;
}

/* ---- ArrayFeatureExtractor ------------------------------------------------------------- */

/* Output: X's shape with the last dim replaced by the number of indices (a 1-D X gives
 * [1, k], as onnxruntime does). */
static onyx_status afe_infer(ox_ctx *c)
{
    static const onyx_dtype index_type[] = {ONYX_DTYPE_INT64, 0};
    static const onyx_dtype data_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_INT32,
                                            ONYX_DTYPE_INT64, ONYX_DTYPE_STRING, 0};
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = ox_expect_dtype(c, 0, data_types)) || (st = ox_expect_dtype(c, 1, index_type))) return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank == 0) return ox_fail(c, ONYX_E_SHAPE, "X must have rank >= 1");
    int64_t dims[ONYX_MAX_RANK];
    int rank = x->rank == 1 ? 2 : x->rank;
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    if (x->rank == 1) dims[0] = 1;
    dims[rank - 1] = ox_tensor_numel(c->in[1]);
    ox_set_shape(c->out[0], x->dtype, rank, dims);
    return ONYX_OK;
}

static onyx_status afe_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0], *ind = c->in[1];
    int64_t d = x->dims[x->rank - 1], k = ox_tensor_numel(ind);
    const int64_t *idx = ind->data;
    for (int64_t j = 0; j < k; j++)
        if (idx[j] < 0 || idx[j] >= d)
            return ox_fail(c, ONYX_E_ARG, "index %lld is out of range for the last dim of size %lld",
                           (long long)idx[j], (long long)d);
    size_t es = onyx_dtype_size(x->dtype);
    int64_t rows = d ? ox_tensor_numel(x) / d : 0;
    const char *src = x->data;
    char *y = c->out[0]->data;
    /* strings are copied as pointers: they belong to the input, which outlives the run */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < k; j++)
            memcpy(y + (size_t)(r * k + j) * es, src + (size_t)(r * d + idx[j]) * es, es);
    return ONYX_OK;
}

/* ---- TreeEnsemble ---------------------------------------------------------------------- */

/* Interior nodes are the nodes_* tuples; each branch goes to another node or, when the
 * *_leafs flag is set, to a leaf (leaf_targetids, leaf_weights). A node whose two branches
 * are the same leaf is that leaf (a one-leaf tree). Leaf weights are aggregated per target
 * (SUM, AVERAGE over trees, MIN, MAX) in double and post-transformed per row. */
enum { AGG_AVERAGE, AGG_SUM, AGG_MIN, AGG_MAX };
enum { POST_NONE, POST_SOFTMAX, POST_LOGISTIC, POST_SOFTMAX_ZERO, POST_PROBIT };
enum { MODE_LEQ, MODE_LT, MODE_GTE, MODE_GT, MODE_EQ, MODE_NEQ, MODE_MEMBER };

typedef struct forest {
    size_t n_nodes, n_leaves, n_trees, n_members;
    const int64_t *feature, *true_id, *false_id, *true_leaf, *false_leaf, *missing_true;
    const int64_t *leaf_target, *roots;
    const onyx_tensor *splits, *modes, *weights, *members; /* members may be NULL */
    int64_t n_targets, aggregate, post;
} forest;

/* Reads an ints attribute that must have n entries (n == 0: any, and sets n). */
static onyx_status forest_ints(ox_ctx *c, const char *name, size_t *n, const int64_t **out, bool required)
{
    size_t got = ox_attr_ints(c, name, out);
    if (!ox_attr_has(c, name) && !required) return ONYX_OK;
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INTS);
    if (st) return st;
    if (!ox_attr_has(c, name)) return ox_fail(c, ONYX_E_ARG, "attribute '%s' is missing", name);
    if (*n && got != *n) return ox_fail(c, ONYX_E_ARG, "%s has %zu entries, expected %zu", name, got, *n);
    *n = got;
    return ONYX_OK;
}

/* A tensor attribute with n entries (n == 0: any) of a real dtype (modes: uint8). */
static onyx_status forest_tensor(ox_ctx *c, const char *name, size_t n, bool modes, const onyx_tensor **out)
{
    const ox_attr *a = ox_node_attr(c->node, name);
    *out = NULL;
    if (!a) return ONYX_OK;
    if (a->type != OX_ATTR_TENSOR) return ox_fail(c, ONYX_E_ARG, "attribute '%s' is not a tensor", name);
    const onyx_tensor *t = &a->t->t;
    bool real = t->dtype == ONYX_DTYPE_FLOAT || t->dtype == ONYX_DTYPE_DOUBLE || t->dtype == ONYX_DTYPE_FLOAT16;
    if (modes ? t->dtype != ONYX_DTYPE_UINT8 : !real)
        return ox_fail(c, ONYX_E_ARG, "%s has dtype %s, expected %s", name, onyx_dtype_name(t->dtype),
                       modes ? "uint8" : "float, double or float16");
    if (n && ox_tensor_numel(t) != (int64_t)n)
        return ox_fail(c, ONYX_E_ARG, "%s has %lld entries, expected %zu", name,
                       (long long)ox_tensor_numel(t), n);
    *out = t;
    return ONYX_OK;
}

static bool is_leaf_node(const forest *f, size_t i)
{
    return f->true_leaf[i] && f->false_leaf[i] && f->true_id[i] == f->false_id[i];
}

/* Reads and checks every attribute against X's feature count, so run can walk the trees
 * without bounds checks (cycles aside, which run bounds by the node count). */
static onyx_status forest_read(ox_ctx *c, int64_t n_features, forest *f)
{
    onyx_status st;
    memset(f, 0, sizeof *f);
    if ((st = forest_ints(c, "nodes_featureids", &f->n_nodes, &f->feature, true)) ||
        (st = forest_ints(c, "nodes_truenodeids", &f->n_nodes, &f->true_id, true)) ||
        (st = forest_ints(c, "nodes_falsenodeids", &f->n_nodes, &f->false_id, true)) ||
        (st = forest_ints(c, "nodes_trueleafs", &f->n_nodes, &f->true_leaf, true)) ||
        (st = forest_ints(c, "nodes_falseleafs", &f->n_nodes, &f->false_leaf, true)) ||
        (st = forest_ints(c, "nodes_missing_value_tracks_true", &f->n_nodes, &f->missing_true, false)) ||
        (st = forest_ints(c, "leaf_targetids", &f->n_leaves, &f->leaf_target, true)) ||
        (st = forest_ints(c, "tree_roots", &f->n_trees, &f->roots, true)) ||
        (st = forest_tensor(c, "nodes_splits", f->n_nodes, false, &f->splits)) ||
        (st = forest_tensor(c, "nodes_modes", f->n_nodes, true, &f->modes)) ||
        (st = forest_tensor(c, "leaf_weights", f->n_leaves, false, &f->weights)) ||
        (st = forest_tensor(c, "membership_values", 0, false, &f->members)))
        return st;
    if (!f->splits || !f->modes || !f->weights)
        return ox_fail(c, ONYX_E_ARG, "nodes_splits, nodes_modes and leaf_weights are required");
    f->n_targets = ox_attr_int(c, "n_targets", 0);
    f->aggregate = ox_attr_int(c, "aggregate_function", AGG_SUM);
    f->post = ox_attr_int(c, "post_transform", POST_NONE);
    if (f->n_targets < 1 || f->n_targets > INT32_MAX)
        return ox_fail(c, ONYX_E_ARG, "n_targets %lld is out of range", (long long)f->n_targets);
    if (f->aggregate < AGG_AVERAGE || f->aggregate > AGG_MAX)
        return ox_fail(c, ONYX_E_ARG, "aggregate_function %lld is unknown", (long long)f->aggregate);
    if (f->post < POST_NONE || f->post > POST_PROBIT)
        return ox_fail(c, ONYX_E_ARG, "post_transform %lld is unknown", (long long)f->post);
    if (!f->n_trees) return ox_fail(c, ONYX_E_ARG, "tree_roots is empty");
    for (size_t k = 0; k < f->n_trees; k++)
        if (f->roots[k] < 0 || f->roots[k] >= (int64_t)f->n_nodes)
            return ox_fail(c, ONYX_E_ARG, "tree_roots[%zu] = %lld is not a node", k, (long long)f->roots[k]);
    for (size_t k = 0; k < f->n_leaves; k++)
        if (f->leaf_target[k] < 0 || f->leaf_target[k] >= f->n_targets)
            return ox_fail(c, ONYX_E_ARG, "leaf_targetids[%zu] = %lld is not a target", k,
                           (long long)f->leaf_target[k]);
    const uint8_t *mode = f->modes->data;
    for (size_t i = 0; i < f->n_nodes; i++) {
        for (int side = 0; side < 2; side++) {
            int64_t to = side ? f->false_id[i] : f->true_id[i];
            bool leaf = (side ? f->false_leaf[i] : f->true_leaf[i]) != 0;
            if (to < 0 || to >= (int64_t)(leaf ? f->n_leaves : f->n_nodes))
                return ox_fail(c, ONYX_E_ARG, "node %zu: %s branch %lld is not a %s", i,
                               side ? "false" : "true", (long long)to, leaf ? "leaf" : "node");
        }
        if (mode[i] > MODE_MEMBER) return ox_fail(c, ONYX_E_ARG, "node %zu: mode %d is unknown", i, mode[i]);
        f->n_members += mode[i] == MODE_MEMBER;
        if (!is_leaf_node(f, i) && (f->feature[i] < 0 || f->feature[i] >= n_features))
            return ox_fail(c, ONYX_E_ARG, "node %zu: feature %lld is out of range for %lld features", i,
                           (long long)f->feature[i], (long long)n_features);
    }
    /* each BRANCH_MEMBER node owns one NaN-terminated run of membership_values */
    size_t sets = 0;
    int64_t nm = f->members ? ox_tensor_numel(f->members) : 0;
    for (int64_t k = 0; k < nm; k++) sets += isnan(ox_read_f64(f->members, k)) != 0;
    if (sets != f->n_members)
        return ox_fail(c, ONYX_E_ARG, "%zu BRANCH_MEMBER nodes but %zu NaN-delimited membership sets",
                       f->n_members, sets);
    return ONYX_OK;
}

/* Does x go down the true branch of node i? (member_at: start of its membership set.) */
static bool node_true(const forest *f, size_t i, double x, const int64_t *member_at)
{
    if (isnan(x) && f->missing_true && f->missing_true[i]) return true;
    double s = ox_read_f64(f->splits, (int64_t)i);
    switch (((const uint8_t *)f->modes->data)[i]) {
    case MODE_LEQ: return x <= s;
    case MODE_LT: return x < s;
    case MODE_GTE: return x >= s;
    case MODE_GT: return x > s;
    case MODE_EQ: return x == s;
    case MODE_NEQ: return x != s;
    default:
        for (int64_t k = member_at[i];; k++) {
            double m = ox_read_f64(f->members, k);
            if (isnan(m)) return false;
            if (m == x) return true;
        }
    }
}

/* The leaf that row x reaches from root; -1 if the walk is longer than the node count
 * (a cycle). */
static int64_t tree_leaf(const forest *f, int64_t root, const onyx_tensor *x, int64_t row,
                         int64_t n_features, const int64_t *member_at)
{
    size_t i = (size_t)root;
    for (size_t steps = 0; steps <= f->n_nodes; steps++) {
        if (is_leaf_node(f, i)) return f->true_id[i];
        bool t = node_true(f, i, ox_read_f64(x, row * n_features + f->feature[i]), member_at);
        int64_t to = t ? f->true_id[i] : f->false_id[i];
        if (t ? f->true_leaf[i] : f->false_leaf[i]) return to;
        i = (size_t)to;
    }
    return -1;
}

/* sqrt(2) * erfinv(2p - 1): Winitzki's closed form refined by Newton steps on erf. */
static double probit(double p)
{
    double y = 2.0 * p - 1.0;
    if (!(y > -1.0 && y < 1.0)) return y == 1.0 ? INFINITY : y == -1.0 ? -INFINITY : NAN;
    const double a = 0.147, pi = 3.14159265358979323846;
    double l = log(1.0 - y * y), b = 2.0 / (pi * a) + l / 2.0;
    double x = copysign(sqrt(sqrt(b * b - l / a) - b), y);
    for (int k = 0; k < 3; k++) x -= (erf(x) - y) / (2.0 / sqrt(pi) * exp(-x * x));
    return sqrt(2.0) * x;
}

/* Applies post_transform to one row of scores. */
static void post_transform(int64_t post, double *v, int64_t n)
{
    if (post == POST_SOFTMAX || post == POST_SOFTMAX_ZERO) {
        /* SOFTMAX_ZERO leaves zero scores at zero and normalises the others */
        bool keep_zero = post == POST_SOFTMAX_ZERO;
        double mx = -INFINITY, sum = 0.0;
        for (int64_t k = 0; k < n; k++)
            if (v[k] > mx) mx = v[k];
        for (int64_t k = 0; k < n; k++) {
            v[k] = keep_zero && v[k] == 0.0 ? 0.0 : exp(v[k] - mx);
            sum += v[k];
        }
        for (int64_t k = 0; k < n; k++) v[k] = sum > 0 ? v[k] / sum : 0.0;
    } else if (post == POST_LOGISTIC) {
        for (int64_t k = 0; k < n; k++) v[k] = 1.0 / (1.0 + exp(-v[k]));
    } else if (post == POST_PROBIT) {
        for (int64_t k = 0; k < n; k++) v[k] = probit(v[k]);
    }
}

static const onyx_dtype real_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, 0};

/* Scratch: the membership-set start of every node, then one row of scores per thread. */
static size_t tree_scratch(const forest *f, int threads)
{
    return f->n_nodes * sizeof(int64_t) + (size_t)threads * (size_t)f->n_targets * sizeof(double);
}

static onyx_status tree_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = ox_expect_dtype(c, 0, real_types))) return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank != 2) return ox_fail(c, ONYX_E_SHAPE, "X must be [N, F], got rank %d", x->rank);
    forest f;
    if ((st = forest_read(c, x->dims[1], &f))) return st;
    int64_t dims[2] = {x->dims[0], f.n_targets};
    size_t bytes;
    if (!ox_shape_bytes(ONYX_DTYPE_DOUBLE, 2, dims, &bytes))
        return ox_fail(c, ONYX_E_SHAPE, "output too large");
    c->scratch_bytes = tree_scratch(&f, c->threads);
    ox_set_shape(c->out[0], x->dtype, 2, dims);
    return ONYX_OK;
}

/* Scores rows [r0, r1) into y, using acc (n_targets doubles) for one row at a time. */
static int64_t tree_rows(const forest *f, const onyx_tensor *x, onyx_tensor *y, int64_t r0, int64_t r1,
                         const int64_t *member_at, double *acc)
{
    const int64_t nt = f->n_targets, nf = x->dims[1];
    double start = 0.0;
    if (f->aggregate == AGG_MIN || f->aggregate == AGG_MAX) {
        /* targets no leaf reaches keep the dtype's extreme, as the reference does */
        double big = y->dtype == ONYX_DTYPE_DOUBLE ? DBL_MAX : y->dtype == ONYX_DTYPE_FLOAT ? FLT_MAX : 65504.0;
        start = f->aggregate == AGG_MIN ? big : -big;
    }
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t k = 0; k < nt; k++) acc[k] = start;
        for (size_t t = 0; t < f->n_trees; t++) {
            int64_t leaf = tree_leaf(f, f->roots[t], x, r, nf, member_at);
            if (leaf < 0) return (int64_t)t;
            double w = ox_read_f64(f->weights, leaf);
            double *a = &acc[f->leaf_target[leaf]];
            if (f->aggregate == AGG_MIN) *a = w < *a ? w : *a;
            else if (f->aggregate == AGG_MAX) *a = w > *a ? w : *a;
            else *a += w;
        }
        if (f->aggregate == AGG_AVERAGE)
            for (int64_t k = 0; k < nt; k++) acc[k] /= (double)f->n_trees;
        post_transform(f->post, acc, nt);
        for (int64_t k = 0; k < nt; k++) store_real(y->dtype, y->data, r * nt + k, acc[k]);
    }
    return -1;
}

static onyx_status tree_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    forest f;
    onyx_status st = forest_read(c, x->dims[1], &f);
    if (st) return st;
    int threads = c->threads;
    while (threads > 1 && tree_scratch(&f, threads) > c->scratch_bytes) threads--;
    if (tree_scratch(&f, threads) > c->scratch_bytes)
        return ox_fail(c, ONYX_E_INTERNAL, "scratch for the trees is missing");
    int64_t *member_at = c->scratch;
    double *acc = (double *)(void *)((char *)c->scratch + f.n_nodes * sizeof(int64_t));
    for (size_t i = 0, k = 0; i < f.n_nodes; i++) {
        member_at[i] = (int64_t)k;
        if (((const uint8_t *)f.modes->data)[i] != MODE_MEMBER) continue;
        while (!isnan(ox_read_f64(f.members, (int64_t)k))) k++;
        k++; /* past the NaN */
    }
    /* rows split into one contiguous block per thread, each with its own accumulator */
    int64_t rows = x->dims[0], blocks = rows < threads ? (rows ? rows : 1) : threads;
    int64_t bad = -1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (blocks > 1 && rows * (int64_t)f.n_trees >= 4096)
#endif
    for (int64_t b = 0; b < blocks; b++) {
        int64_t t = tree_rows(&f, x, c->out[0], rows * b / blocks, rows * (b + 1) / blocks, member_at,
                              acc + b * f.n_targets);
        if (t >= 0) {
#ifdef _OPENMP
#pragma omp critical(tree_ensemble_error)
#endif
            if (bad < 0 || t < bad) bad = t; /* the same tree whatever the thread count */
        }
    }
    if (bad >= 0) return ox_fail(c, ONYX_E_ARG, "tree %lld has a cycle", (long long)bad);
    return ONYX_OK;
}

/* ---- registry -------------------------------------------------------------------------- */

const ox_op ox_ops_ml[] = {
    {"LabelEncoder", ML, 1, 5, label_infer, label_run, 0},
    {"Binarizer", ML, 1, 5, binarizer_infer, binarizer_run, 0},
    {"ArrayFeatureExtractor", ML, 1, 5, afe_infer, afe_run, 0},
    {"TreeEnsemble", ML, 5, 5, tree_infer, tree_run, 0},
};
const size_t ox_ops_ml_count = sizeof ox_ops_ml / sizeof ox_ops_ml[0];
