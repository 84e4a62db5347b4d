/* packed_write.c — onyx_model_pack: a model's graph and weights in the packed format
 * (docs/PACKED_FORMAT.md).
 *
 * One walk over the graph serves both passes: with no room it only counts (graph stream
 * bytes, tensors, data bytes), with room it also writes. Tensors are numbered in the order
 * the walk meets them; each one's table entry and data are written when it is met, so the
 * two passes agree by construction. Values that nothing refers to (weights left behind by
 * the optimiser's folds, unused declarations) are dropped and the rest renumbered. */
#include <string.h>

#include "model.h"
#include "op.h"
#include "packed.h"

typedef struct pk_writer {
    uint8_t *buf;        /* NULL: counting pass */
    size_t pos;          /* graph stream write position (absolute) */
    uint64_t n_tensors;  /* tensors met so far */
    uint64_t data_used;  /* bytes of the data section used so far (aligned) */
    uint64_t table_off, data_off;
    const ox_allocator *alloc;
    onyx_status st;
    char *err;
    size_t errcap;
} pk_writer;

static void put(pk_writer *w, const void *p, size_t n)
{
    if (w->buf && n) memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

/* Little-endian stores (the only hosts onyx packs on are little-endian, but say it anyway). */
static void le_store(uint8_t *d, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) d[i] = (uint8_t)(v >> (8 * i));
}

static void put_uint(pk_writer *w, uint64_t v, int n)
{
    uint8_t b[8];
    le_store(b, v, n);
    put(w, b, (size_t)n);
}
static void put_u8(pk_writer *w, unsigned v) { put_uint(w, v, 1); }
static void put_u32(pk_writer *w, uint32_t v) { put_uint(w, v, 4); }
static void put_i32(pk_writer *w, int32_t v) { put_uint(w, (uint32_t)v, 4); }
static void put_i64(pk_writer *w, int64_t v) { put_uint(w, (uint64_t)v, 8); }
static void put_f32(pk_writer *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(w, u);
}

static void put_strn(pk_writer *w, const char *s, size_t n)
{
    if (!s) s = "";
    if (n >= OX_PACKED_NO_NAME) {
        w->st = ox_errf(w->err, w->errcap, ONYX_E_LIMIT, "a string of %zu bytes is too long to pack", n);
        return;
    }
    put_u32(w, (uint32_t)n);
    put(w, s, n);
    put_u8(w, 0);
}
static void put_str(pk_writer *w, const char *s) { put_strn(w, s, s ? strlen(s) : 0); }

static void put_type(pk_writer *w, const ox_type *t)
{
    put_u8(w, (unsigned)t->kind);
    put_u8(w, (unsigned)t->elem_kind);
    put_u8(w, (unsigned)t->dtype);
    put_u8(w, (uint8_t)(int8_t)t->rank);
    for (int d = 0; d < t->rank && d < ONYX_MAX_RANK; d++) {
        put_i64(w, t->dims[d]);
        if (t->dim_names[d]) put_str(w, t->dim_names[d]);
        else put_u32(w, OX_PACKED_NO_NAME);
    }
}

/* Bytes a tensor's data takes in the data section. */
static uint64_t tensor_data_bytes(const ox_const *k)
{
    if (k->t.dtype != ONYX_DTYPE_STRING) return k->nbytes;
    uint64_t n = 0, numel = (uint64_t)ox_tensor_numel(&k->t);
    const char *const *s = k->t.data;
    for (uint64_t i = 0; i < numel; i++) n += 4 + strlen(s[i] ? s[i] : "") + 1;
    return n;
}

/* Numbers tensor k, writes its table entry and data; writes the index into the stream. */
static void put_tensor(pk_writer *w, const ox_const *k)
{
    uint64_t idx = w->n_tensors++;
    if (idx > UINT32_MAX - 1) {
        w->st = ox_errf(w->err, w->errcap, ONYX_E_LIMIT, "too many tensors to pack");
        return;
    }
    uint64_t bytes = tensor_data_bytes(k), off = w->data_used;
    w->data_used += (bytes + OX_PACKED_DATA_ALIGN - 1) & ~(uint64_t)(OX_PACKED_DATA_ALIGN - 1);
    put_u32(w, (uint32_t)idx);
    if (!w->buf) return;
    uint8_t *e = w->buf + w->table_off + idx * OX_PACKED_TENSOR_BYTES;
    le_store(e, (uint64_t)k->t.dtype, 4);
    le_store(e + 4, (uint64_t)k->t.rank, 4);
    for (int d = 0; d < ONYX_MAX_RANK; d++) le_store(e + 8 + 8 * d, d < k->t.rank ? (uint64_t)k->t.dims[d] : 0, 8);
    le_store(e + 72, off, 8);
    le_store(e + 80, bytes, 8);
    uint8_t *d = w->buf + w->data_off + off;
    if (k->t.dtype != ONYX_DTYPE_STRING) {
        if (bytes) memcpy(d, k->t.data, (size_t)bytes);
        return;
    }
    const char *const *s = k->t.data;
    for (int64_t i = 0; i < ox_tensor_numel(&k->t); i++) {
        size_t n = strlen(s[i] ? s[i] : "");
        le_store(d, n, 4);
        if (n) memcpy(d + 4, s[i], n);
        d[4 + n] = 0;
        d += 4 + n + 1;
    }
}

static void put_graph(pk_writer *w, const ox_graph *g, const int *parent_map);

static void put_attr(pk_writer *w, const ox_attr *a, const int *map)
{
    put_str(w, a->name);
    put_u8(w, (unsigned)a->type);
    switch (a->type) {
    case OX_ATTR_FLOAT: put_f32(w, a->f); break;
    case OX_ATTR_INT: put_i64(w, a->i); break;
    case OX_ATTR_STRING: put_strn(w, a->s, a->s_len); break;
    case OX_ATTR_TENSOR: put_tensor(w, a->t); break;
    case OX_ATTR_GRAPH: put_graph(w, a->g, map); break;
    case OX_ATTR_TYPE_PROTO: put_type(w, a->tp); break;
    case OX_ATTR_FLOATS:
        put_u32(w, (uint32_t)a->n);
        for (size_t i = 0; i < a->n; i++) put_f32(w, a->floats[i]);
        break;
    case OX_ATTR_INTS:
        put_u32(w, (uint32_t)a->n);
        for (size_t i = 0; i < a->n; i++) put_i64(w, a->ints[i]);
        break;
    case OX_ATTR_STRINGS:
        put_u32(w, (uint32_t)a->n);
        for (size_t i = 0; i < a->n; i++) put_strn(w, a->strings[i], a->string_lens[i]);
        break;
    case OX_ATTR_TENSORS:
        put_u32(w, (uint32_t)a->n);
        for (size_t i = 0; i < a->n; i++) put_tensor(w, a->tensors[i]);
        break;
    case OX_ATTR_GRAPHS:
        put_u32(w, (uint32_t)a->n);
        for (size_t i = 0; i < a->n && !w->st; i++) put_graph(w, a->graphs[i], map);
        break;
    case OX_ATTR_TYPE_PROTOS:
        put_u32(w, (uint32_t)a->n);
        for (size_t i = 0; i < a->n; i++) put_type(w, &a->type_protos[i]);
        break;
    default:
        w->st = ox_errf(w->err, w->errcap, ONYX_E_UNSUPPORTED, "attribute '%s' has a type the packed format does not hold",
                        a->name);
    }
}

static int mapped(const int *map, int v) { return v < 0 ? -1 : map[v]; }

/* Writes g; parent_map renumbers the enclosing graph's values (for outer references). */
static void put_graph(pk_writer *w, const ox_graph *g, const int *parent_map)
{
    if (w->st) return;
    size_t map_bytes = (size_t)(g->n_values ? g->n_values : 1) * sizeof(int);
    int *map = ox_malloc(w->alloc, map_bytes);
    if (!map) {
        w->st = ox_errf(w->err, w->errcap, ONYX_E_NOMEM, "out of memory while packing");
        return;
    }
    for (int v = 0; v < g->n_values; v++) map[v] = -1;
    for (int i = 0; i < g->n_inputs; i++) map[g->inputs[i]] = 0;
    for (int i = 0; i < g->n_outputs; i++) map[g->outputs[i]] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        for (int k = 0; k < ox_node_inputs(n); k++)
            if (n->in[k] >= 0) map[n->in[k]] = 0;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) map[n->out[k]] = 0;
    }
    int kept = 0; /* marked values (0) are kept and renumbered, the rest (-1) dropped */
    for (int v = 0; v < g->n_values; v++)
        if (map[v] == 0) map[v] = kept++;
        else map[v] = -1;

    put_str(w, g->name);
    put_u32(w, (uint32_t)kept);
    for (int v = 0; v < g->n_values && !w->st; v++) {
        if (map[v] < 0) continue;
        const ox_value *val = &g->values[v];
        put_str(w, val->name);
        put_type(w, &val->type);
        if (val->init) put_tensor(w, val->init);
        else put_u32(w, UINT32_MAX);
        int outer = val->outer >= 0 && parent_map ? parent_map[val->outer] : -1;
        if (val->outer >= 0 && outer < 0)
            w->st = ox_errf(w->err, w->errcap, ONYX_E_INTERNAL, "value '%s' of subgraph '%s' reads an outer value that was dropped",
                            val->name, g->name);
        put_i32(w, outer);
    }
    put_u32(w, (uint32_t)g->n_inputs);
    for (int i = 0; i < g->n_inputs; i++) put_i32(w, map[g->inputs[i]]);
    put_u32(w, (uint32_t)g->n_outputs);
    for (int i = 0; i < g->n_outputs; i++) put_i32(w, map[g->outputs[i]]);
    put_u32(w, (uint32_t)g->n_nodes);
    for (int i = 0; i < g->n_nodes && !w->st; i++) {
        const ox_node *n = &g->nodes[i];
        put_str(w, n->name);
        put_str(w, n->op_type);
        put_str(w, n->domain);
        put_i32(w, n->opset);
        put_u32(w, (uint32_t)n->n_in); /* implicit inputs are recomputed from the bodies on load */
        put_u32(w, (uint32_t)n->n_out);
        put_u32(w, (uint32_t)n->n_attr);
        for (int k = 0; k < n->n_in; k++) put_i32(w, mapped(map, n->in[k]));
        for (int k = 0; k < n->n_out; k++) put_i32(w, mapped(map, n->out[k]));
        for (int k = 0; k < n->n_attr && !w->st; k++) put_attr(w, &n->attr[k], map);
    }
    ox_free(w->alloc, map, map_bytes);
}

static void put_model(pk_writer *w, const onyx_model *m)
{
    put_str(w, m->producer_name);
    put_str(w, m->producer_version);
    put_str(w, m->domain);
    put_i64(w, m->ir_version);
    put_i64(w, m->model_version);
    put_u32(w, (uint32_t)m->n_opsets);
    for (int i = 0; i < m->n_opsets; i++) {
        put_str(w, m->opsets[i].domain);
        put_i64(w, m->opsets[i].version);
    }
    put_graph(w, m->graph, NULL);
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

onyx_status onyx_model_pack(const onyx_model *m, uint64_t arena_bytes, void *buf, size_t cap, size_t *size,
                            onyx_error *err)
{
    if (!m || !size) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    char msg[512] = "";
    pk_writer w = {0};
    w.alloc = &m->alloc;
    w.err = msg;
    w.errcap = sizeof msg;
    w.pos = OX_PACKED_HEADER_BYTES;
    put_model(&w, m); /* counting pass */
    if (w.st) {
        ox_error_set(err, w.st, msg);
        return w.st;
    }
    uint64_t graph_bytes = w.pos - OX_PACKED_HEADER_BYTES, n_tensors = w.n_tensors;
    uint64_t table_off = align_up(w.pos, 8);
    uint64_t data_off = align_up(table_off + n_tensors * OX_PACKED_TENSOR_BYTES, OX_PACKED_DATA_ALIGN);
    uint64_t total = data_off + w.data_used;
    if (total > SIZE_MAX) {
        ox_error_set(err, ONYX_E_LIMIT, "the packed model would not fit in memory");
        return ONYX_E_LIMIT;
    }
    *size = (size_t)total;
    if (!buf) return ONYX_OK;
    if (cap < total) {
        ox_error_set(err, ONYX_E_LIMIT, "buffer too small for the packed model");
        return ONYX_E_LIMIT;
    }
    uint8_t *b = buf;
    memset(b, 0, (size_t)total); /* padding is zero, so packing is deterministic */
    memcpy(b, OX_PACKED_MAGIC, OX_PACKED_MAGIC_LEN); // NOLINT(bugprone-not-null-terminated-result): bytes, not a string
    le_store(b + OX_PK_VERSION, OX_PACKED_VERSION, 4);
    le_store(b + OX_PK_HEADER_BYTES, OX_PACKED_HEADER_BYTES, 4);
    le_store(b + OX_PK_FILE_BYTES, total, 8);
    le_store(b + OX_PK_GRAPH_OFFSET, OX_PACKED_HEADER_BYTES, 8);
    le_store(b + OX_PK_GRAPH_BYTES, graph_bytes, 8);
    le_store(b + OX_PK_TABLE_OFFSET, table_off, 8);
    le_store(b + OX_PK_TENSOR_COUNT, n_tensors, 8);
    le_store(b + OX_PK_DATA_OFFSET, data_off, 8);
    le_store(b + OX_PK_DATA_BYTES, w.data_used, 8);
    le_store(b + OX_PK_ARENA_BYTES, arena_bytes, 8);
    pk_writer w2 = {0};
    w2.buf = b;
    w2.alloc = &m->alloc;
    w2.err = msg;
    w2.errcap = sizeof msg;
    w2.pos = OX_PACKED_HEADER_BYTES;
    w2.table_off = table_off;
    w2.data_off = data_off;
    put_model(&w2, m);
    if (!w2.st && (w2.pos != OX_PACKED_HEADER_BYTES + graph_bytes || w2.n_tensors != n_tensors || w2.data_used != w.data_used))
        w2.st = ox_errf(msg, sizeof msg, ONYX_E_INTERNAL, "packing passes disagree");
    if (w2.st) {
        ox_error_set(err, w2.st, msg);
        return w2.st;
    }
    return ONYX_OK;
}

/* ---- the ops a model needs (onyx pack --ops-header) ------------------------------------- */

static void collect_ops(const ox_graph *g, onyx_op_use *out, size_t cap, size_t *n)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *nd = &g->nodes[i];
        bool seen = false;
        for (size_t k = 0; k < *n && k < cap && !seen; k++)
            seen = !strcmp(out[k].op_type, nd->op_type) && !strcmp(out[k].domain, nd->domain);
        if (!seen) {
            if (*n < cap) {
                out[*n].op_type = nd->op_type;
                out[*n].domain = nd->domain;
                out[*n].family = ox_op_family(nd->op);
            }
            (*n)++;
        }
        for (int k = 0; k < nd->n_attr; k++) {
            const ox_attr *a = &nd->attr[k];
            if (a->type == OX_ATTR_GRAPH) collect_ops(a->g, out, cap, n);
            if (a->type == OX_ATTR_GRAPHS)
                for (size_t j = 0; j < a->n; j++) collect_ops(a->graphs[j], out, cap, n);
        }
    }
}

static size_t count_nodes(const ox_graph *g)
{
    size_t n = (size_t)g->n_nodes;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_attr; k++) {
            const ox_attr *a = &g->nodes[i].attr[k];
            if (a->type == OX_ATTR_GRAPH) n += count_nodes(a->g);
            if (a->type == OX_ATTR_GRAPHS)
                for (size_t j = 0; j < a->n; j++) n += count_nodes(a->graphs[j]);
        }
    return n;
}

size_t onyx_model_ops_used(const onyx_model *m, onyx_op_use *out, size_t cap)
{
    if (!m) return 0;
    /* collect into a scratch list that can hold every node, then hand out what fits */
    size_t max = count_nodes(m->graph), n = 0;
    onyx_op_use *all = ox_calloc(&m->alloc, max ? max : 1, sizeof *all);
    if (!all) return 0;
    collect_ops(m->graph, all, max, &n);
    if (out) memcpy(out, all, (n < cap ? n : cap) * sizeof *all);
    ox_free(&m->alloc, all, (max ? max : 1) * sizeof *all);
    return n;
}
