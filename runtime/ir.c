/* ir.c — building graphs: values by name, nodes, topological order. */
#include <string.h>

#include "ir.h"

ox_graph *ox_graph_new(ox_pool *pool, ox_graph *parent)
{
    ox_graph *g = ox_pool_alloc(pool, sizeof *g, 8);
    if (!g) return NULL;
    g->pool = pool;
    g->parent = parent;
    g->depth = parent ? parent->depth + 1 : 0;
    g->name = "";
    return g;
}

/* Copies count elements of size bytes into pool (a 1-element block for an empty array, as
 * the builders keep). */
static void *dup_array(ox_pool *pool, const void *src, size_t count, size_t size, bool *ok)
{
    void *d = ox_pool_array(pool, count ? count : 1, size);
    if (d && count) memcpy(d, src, count * size);
    if (!d) *ok = false;
    return d;
}

ox_graph *ox_graph_clone(const ox_graph *g, ox_pool *pool)
{
    ox_graph *c = ox_pool_alloc(pool, sizeof *c, 8);
    if (!c) return NULL;
    *c = *g;
    c->pool = pool;
    bool ok = true;
    c->values = dup_array(pool, g->values, (size_t)g->n_values, sizeof *g->values, &ok);
    c->cap_values = g->n_values;
    c->hash = dup_array(pool, g->hash, (size_t)g->hash_cap, sizeof *g->hash, &ok);
    c->nodes = dup_array(pool, g->nodes, (size_t)g->n_nodes, sizeof *g->nodes, &ok);
    c->cap_nodes = g->n_nodes;
    c->inputs = dup_array(pool, g->inputs, (size_t)g->n_inputs, sizeof *g->inputs, &ok);
    c->outputs = dup_array(pool, g->outputs, (size_t)g->n_outputs, sizeof *g->outputs, &ok);
    for (int i = 0; ok && i < c->n_nodes; i++) {
        ox_node *n = &c->nodes[i];
        /* the builders never leave these NULL: keep a 1-element block for empty lists too */
        int n_in = ox_node_inputs(n);
        int *in = ox_pool_array(pool, (size_t)(n_in ? n_in : 1), sizeof(int));
        int *out = ox_pool_array(pool, (size_t)(n->n_out ? n->n_out : 1), sizeof(int));
        if (!in || !out) return NULL;
        if (n_in) memcpy(in, n->in, (size_t)n_in * sizeof(int));
        if (n->n_out) memcpy(out, n->out, (size_t)n->n_out * sizeof(int));
        n->in = in;
        n->out = out;
    }
    return ok ? c : NULL;
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int ox_graph_find(const ox_graph *g, const char *name)
{
    if (!g->hash_cap) return -1;
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        int v = g->hash[i];
        if (v < 0) return -1;
        if (!strcmp(g->values[v].name, name)) return v;
    }
}

/* Pool memory is never freed piecemeal, so growth copies into a fresh block; doubling keeps
 * the total at most twice the final size. */
static bool grow(ox_pool *pool, void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return true;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > INT32_MAX / 2) return false;
        ncap *= 2;
    }
    void *n = ox_pool_array(pool, (size_t)ncap, elem);
    if (!n) return false;
    if (*cap) memcpy(n, *arr, (size_t)*cap * elem);
    *arr = n;
    *cap = ncap;
    return true;
}

static bool rehash(ox_graph *g, int cap)
{
    int *h = ox_pool_array(g->pool, (size_t)cap, sizeof(int));
    if (!h) return false;
    memset(h, 0xff, (size_t)cap * sizeof(int));
    uint32_t mask = (uint32_t)cap - 1;
    for (int v = 0; v < g->n_values; v++) {
        uint32_t i = hash_name(g->values[v].name) & mask;
        while (h[i] >= 0) i = (i + 1) & mask;
        h[i] = v;
    }
    g->hash = h;
    g->hash_cap = cap;
    return true;
}

int ox_graph_value(ox_graph *g, const char *name)
{
    int v = ox_graph_find(g, name);
    if (v >= 0) return v;
    if (!grow(g->pool, (void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(ox_value)))
        return -1;
    v = g->n_values;
    ox_value *val = &g->values[v];
    memset(val, 0, sizeof *val);
    val->name = ox_pool_strdup(g->pool, name);
    if (!val->name) return -1;
    val->producer = -1;
    val->outer = -1;
    val->type.rank = -1;
    g->n_values++;
    /* keep the load factor under 1/2 */
    if (g->n_values * 2 > g->hash_cap) {
        if (g->hash_cap > INT32_MAX / 4 || !rehash(g, g->hash_cap ? g->hash_cap * 2 : 64)) {
            g->n_values--;
            return -1;
        }
    } else {
        uint32_t mask = (uint32_t)g->hash_cap - 1, i = hash_name(name) & mask;
        while (g->hash[i] >= 0) i = (i + 1) & mask;
        g->hash[i] = v;
    }
    return v;
}

ox_node *ox_graph_add_node(ox_graph *g, int n_in, int n_out, int n_attr)
{
    if (!grow(g->pool, (void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(ox_node)))
        return NULL;
    ox_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->in = ox_pool_array(g->pool, (size_t)(n_in ? n_in : 1), sizeof(int));
    n->out = ox_pool_array(g->pool, (size_t)(n_out ? n_out : 1), sizeof(int));
    n->attr = ox_pool_array(g->pool, (size_t)(n_attr ? n_attr : 1), sizeof(ox_attr));
    if (!n->in || !n->out || !n->attr) return NULL;
    n->n_in = n_in;
    n->n_out = n_out;
    n->n_attr = n_attr;
    n->name = "";
    n->domain = "";
    g->n_nodes++;
    return n;
}

const ox_attr *ox_node_attr(const ox_node *n, const char *name)
{
    for (int i = 0; i < n->n_attr; i++)
        if (n->attr[i].name && !strcmp(n->attr[i].name, name)) return &n->attr[i];
    return NULL;
}

/* Appends sub's outer references (indices into sub->parent) to list, once each. */
static void collect_outer(const ox_graph *sub, int *list, int *n)
{
    for (int v = 0; v < sub->n_values; v++) {
        int o = sub->values[v].outer;
        if (o < 0) continue;
        bool seen = false;
        for (int k = 0; k < *n && !seen; k++) seen = list[k] == o;
        if (!seen) list[(*n)++] = o;
    }
}

bool ox_node_add_implicit_inputs(ox_graph *g, ox_node *n)
{
    int total = 0;
    for (int k = 0; k < n->n_attr; k++) {
        const ox_attr *a = &n->attr[k];
        if (a->type == OX_ATTR_GRAPH) total += a->g->n_values;
        if (a->type == OX_ATTR_GRAPHS)
            for (size_t j = 0; j < a->n; j++) total += a->graphs[j]->n_values;
    }
    if (!total) return true;
    int *list = ox_pool_array(g->pool, (size_t)total, sizeof(int)), n_list = 0;
    if (!list) return false;
    for (int k = 0; k < n->n_attr; k++) {
        const ox_attr *a = &n->attr[k];
        if (a->type == OX_ATTR_GRAPH) collect_outer(a->g, list, &n_list);
        if (a->type == OX_ATTR_GRAPHS)
            for (size_t j = 0; j < a->n; j++) collect_outer(a->graphs[j], list, &n_list);
    }
    if (!n_list) return true;
    int *in = ox_pool_array(g->pool, (size_t)n->n_in + (size_t)n_list, sizeof(int));
    if (!in) return false;
    memcpy(in, n->in, sizeof(int) * (size_t)n->n_in);
    memcpy(in + n->n_in, list, sizeof(int) * (size_t)n_list);
    n->in = in;
    n->n_implicit = n_list;
    return true;
}

/* Kahn's algorithm over value dependencies; among ready nodes the earliest in file order goes
 * first, so an already sorted graph keeps its order exactly. */
onyx_status ox_graph_sort(ox_graph *g, char *err, size_t errcap)
{
    int nn = g->n_nodes, nv = g->n_values;
    for (int v = 0; v < nv; v++) g->values[v].producer = -1;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v < 0) continue;
            ox_value *val = &g->values[v];
            if (val->producer >= 0 || val->init || val->is_input)
                return ox_errf(err, errcap, ONYX_E_ARG,
                               "value '%s' is produced more than once (node '%s' %s)", val->name,
                               g->nodes[i].name, g->nodes[i].op_type);
            val->producer = i;
        }
    if (nn == 0) return ONYX_OK;
    /* pending[i] = inputs of node i still to be produced; users lists per value (CSR). */
    int *pending = ox_pool_array(g->pool, (size_t)nn, sizeof(int));
    int *ucount = ox_pool_array(g->pool, (size_t)nv + 1, sizeof(int));
    int *order = ox_pool_array(g->pool, (size_t)nn, sizeof(int));
    if (!pending || !ucount || !order) return ox_errf(err, errcap, ONYX_E_NOMEM, "out of memory");
    size_t edges = 0;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < ox_node_inputs(&g->nodes[i]); k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0) {
                pending[i]++;
                ucount[v + 1]++;
                edges++;
            }
        }
    for (int v = 0; v < nv; v++) ucount[v + 1] += ucount[v];
    int *users = ox_pool_array(g->pool, edges ? edges : 1, sizeof(int));
    int *fill = ox_pool_array(g->pool, (size_t)nv, sizeof(int));
    if (!users || !fill) return ox_errf(err, errcap, ONYX_E_NOMEM, "out of memory");
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < ox_node_inputs(&g->nodes[i]); k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0) users[ucount[v] + fill[v]++] = i;
        }
    /* ready set as a min-heap of node indices */
    int *heap = ox_pool_array(g->pool, (size_t)nn, sizeof(int));
    if (!heap) return ox_errf(err, errcap, ONYX_E_NOMEM, "out of memory");
    int hn = 0, done = 0;
#define HEAP_PUSH(x)                                                                 \
    do {                                                                             \
        int j = hn++;                                                                \
        heap[j] = (x);                                                               \
        while (j && heap[(j - 1) / 2] > heap[j]) {                                   \
            int t = heap[j]; heap[j] = heap[(j - 1) / 2]; heap[(j - 1) / 2] = t;     \
            j = (j - 1) / 2;                                                         \
        }                                                                            \
    } while (0)
    for (int i = 0; i < nn; i++)
        if (!pending[i]) HEAP_PUSH(i);
    while (hn) {
        int top = heap[0];
        heap[0] = heap[--hn];
        for (int j = 0;;) {
            int l = 2 * j + 1, r = l + 1, m = j;
            if (l < hn && heap[l] < heap[m]) m = l;
            if (r < hn && heap[r] < heap[m]) m = r;
            if (m == j) break;
            int t = heap[j]; heap[j] = heap[m]; heap[m] = t;
            j = m;
        }
        order[done++] = top;
        const ox_node *n = &g->nodes[top];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0) continue;
            for (int u = ucount[v]; u < ucount[v + 1]; u++)
                if (--pending[users[u]] == 0) HEAP_PUSH(users[u]);
        }
    }
#undef HEAP_PUSH
    if (done < nn) {
        for (int i = 0; i < nn; i++)
            if (pending[i])
                return ox_errf(err, errcap, ONYX_E_ARG,
                               "graph has a cycle through node '%s' (%s)", g->nodes[i].name,
                               g->nodes[i].op_type);
    }
    ox_node *sorted = ox_pool_array(g->pool, (size_t)nn, sizeof(ox_node));
    if (!sorted) return ox_errf(err, errcap, ONYX_E_NOMEM, "out of memory");
    for (int i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
    g->nodes = sorted;
    g->cap_nodes = nn;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0) g->values[g->nodes[i].out[k]].producer = i;
    return ONYX_OK;
}
