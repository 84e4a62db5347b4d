/* packed_load.c — packed model (docs/PACKED_FORMAT.md) -> onyx IR, without protobuf-c.
 *
 * The bytes may come from anywhere (flash, a download), so every field is checked before it
 * is used: section bounds and overlaps in the header; each tensor's dtype, shape, offset,
 * alignment and size against the data section; every read of the graph stream against the
 * stream's end; every count against the bytes left (so no allocation is larger than the
 * file warrants); every value index against its graph. Then the checks the ONNX loader
 * relies on: attribute types per op, one producer per value, no cycles, every input
 * defined. Names and weights point into the buffer (weights only when it is 64-byte
 * aligned; otherwise they are copied), so the caller keeps it alive. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "op.h"
#include "packed.h"

typedef struct pk_ctx {
    onyx_model *m;
    const uint8_t *base;     /* the packed model */
    uint64_t file_bytes;
    const uint8_t *p, *end;  /* graph stream cursor and end */
    const uint8_t *data;     /* data section */
    uint64_t data_bytes;
    bool zero_copy;          /* weights used in place (buffer aligned) */
    ox_const *tensors;
    uint64_t n_tensors;
    int64_t n_nodes;         /* across all graphs, for the node limit */
    onyx_status st;          /* first error (reads after it return zeros) */
    char *err;
    size_t errcap;
    size_t unsupported_len;
} pk_ctx;

static onyx_status fail(pk_ctx *c, onyx_status st, const char *fmt, ...) OX_PRINTF(3, 4);
static onyx_status fail(pk_ctx *c, onyx_status st, const char *fmt, ...)
{
    if (c->st) return c->st; /* keep the first message */
    va_list ap;
    va_start(ap, fmt);
    ox_verrf(c->err, c->errcap, st, fmt, ap);
    va_end(ap);
    c->st = st;
    return st;
}

static onyx_status nomem(pk_ctx *c) { return fail(c, ONYX_E_NOMEM, "out of memory while loading the packed model"); }

static uint64_t le_load(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Offset of the cursor in the file, for messages. */
static unsigned long long at(const pk_ctx *c) { return (unsigned long long)(c->p - c->base); }

/* ---- graph stream reads: bounded, sticky on error --------------------------------------- */

static const uint8_t *take(pk_ctx *c, size_t n, const char *what)
{
    if (c->st) return NULL;
    if ((size_t)(c->end - c->p) < n) {
        fail(c, ONYX_E_PARSE, "packed model: graph section ends inside %s (offset %llu)", what, at(c));
        return NULL;
    }
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}

static uint64_t rd_uint(pk_ctx *c, int n, const char *what)
{
    const uint8_t *b = take(c, (size_t)n, what);
    return b ? le_load(b, n) : 0;
}
static unsigned rd_u8(pk_ctx *c, const char *what) { return (unsigned)rd_uint(c, 1, what); }
static uint32_t rd_u32(pk_ctx *c, const char *what) { return (uint32_t)rd_uint(c, 4, what); }
static int32_t rd_i32(pk_ctx *c, const char *what) { return (int32_t)(uint32_t)rd_uint(c, 4, what); }
static int64_t rd_i64(pk_ctx *c, const char *what) { return (int64_t)rd_uint(c, 8, what); }
static float rd_f32(pk_ctx *c, const char *what)
{
    uint32_t u = rd_u32(c, what);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* A string: u32 length, the bytes, a NUL. `name`: no NUL inside (names are C strings).
 * `absent_ok`: the length OX_PACKED_NO_NAME means none (*s = NULL). */
static const char *rd_str_len(pk_ctx *c, const char *what, bool name, bool absent_ok, size_t *len)
{
    uint32_t n = rd_u32(c, what);
    *len = 0;
    if (c->st) return NULL;
    if (absent_ok && n == OX_PACKED_NO_NAME) return NULL;
    const uint8_t *b = take(c, (size_t)n + 1, what);
    if (!b) return NULL;
    if (b[n] != 0) {
        fail(c, ONYX_E_PARSE, "packed model: %s at offset %llu is not NUL-terminated", what, (unsigned long long)(b - c->base));
        return NULL;
    }
    if (name && memchr(b, 0, n)) {
        fail(c, ONYX_E_PARSE, "packed model: %s at offset %llu holds a NUL byte", what, (unsigned long long)(b - c->base));
        return NULL;
    }
    *len = n;
    return (const char *)b;
}

static const char *rd_name(pk_ctx *c, const char *what)
{
    size_t len;
    const char *s = rd_str_len(c, what, true, false, &len);
    return s ? s : "";
}

/* A count of items that each take at least min_bytes of the stream: larger counts cannot be
 * genuine, and refusing them keeps every allocation proportional to the file. */
static bool rd_count(pk_ctx *c, size_t min_bytes, const char *what, int *out)
{
    uint32_t n = rd_u32(c, what);
    *out = 0;
    if (c->st) return false;
    size_t left = (size_t)(c->end - c->p);
    if (n > INT_MAX / 2 || (size_t)n > left / min_bytes) {
        /* (unsigned): uint32_t is unsigned long on some 32-bit targets (arm-none-eabi) */
        fail(c, ONYX_E_PARSE, "packed model: %s %u at offset %llu is more than the graph section can hold", what,
             (unsigned)n, at(c) - 4);
        return false;
    }
    *out = (int)n;
    return true;
}

static int rd_index(pk_ctx *c, int n_values, bool allow_none, const char *what)
{
    int32_t v = rd_i32(c, what);
    if (c->st) return -1;
    if ((v == -1 && allow_none) || (v >= 0 && v < n_values)) return v;
    fail(c, ONYX_E_PARSE, "packed model: %s %d at offset %llu is not a value of the graph (%d values)", what, (int)v, at(c) - 4,
         n_values);
    return -1;
}

/* ---- tensors ---------------------------------------------------------------------------- */

static onyx_status load_strings(pk_ctx *c, ox_const *k, const uint8_t *p, uint64_t nbytes, uint64_t i, int64_t numel)
{
    /* each element takes at least 5 bytes (length and NUL) */
    if (numel > 0 && (uint64_t)numel > nbytes / 5)
        return fail(c, ONYX_E_PARSE, "packed model: string tensor %llu holds %lld strings in %llu bytes",
                    (unsigned long long)i, (long long)numel, (unsigned long long)nbytes);
    const char **s = ox_pool_array(&c->m->pool, (size_t)(numel ? numel : 1), sizeof(char *));
    if (!s) return nomem(c);
    uint64_t off = 0;
    for (int64_t e = 0; e < numel; e++) {
        if (nbytes - off < 5) return fail(c, ONYX_E_PARSE, "packed model: string tensor %llu is truncated", (unsigned long long)i);
        uint64_t n = le_load(p + off, 4);
        if (n > nbytes - off - 5 || p[off + 4 + n] != 0)
            return fail(c, ONYX_E_PARSE, "packed model: string %lld of tensor %llu overruns its data or lacks its NUL",
                        (long long)e, (unsigned long long)i);
        s[e] = (const char *)p + off + 4;
        off += 4 + n + 1;
    }
    if (off != nbytes)
        return fail(c, ONYX_E_PARSE, "packed model: string tensor %llu has %llu bytes after its strings", (unsigned long long)i,
                    (unsigned long long)(nbytes - off));
    k->t.data = (void *)s;
    k->nbytes = (size_t)numel * sizeof(char *);
    return ONYX_OK;
}

static onyx_status load_tensors(pk_ctx *c, uint64_t table_off)
{
    if (!(c->tensors = ox_pool_array(&c->m->pool, (size_t)(c->n_tensors ? c->n_tensors : 1), sizeof(ox_const))))
        return nomem(c);
    uint64_t prev_end = 0, total = 0;
    const onyx_load_options *o = &c->m->opts;
    for (uint64_t i = 0; i < c->n_tensors; i++) {
        const uint8_t *e = c->base + table_off + i * OX_PACKED_TENSOR_BYTES;
        ox_const *k = &c->tensors[i];
        uint64_t dtype = le_load(e, 4), rank = le_load(e + 4, 4), off = le_load(e + 72, 8), nbytes = le_load(e + 80, 8);
        if (dtype == 0 || dtype > INT_MAX || !ox_dtype_valid((int)dtype))
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu has unknown dtype %llu", (unsigned long long)i,
                        (unsigned long long)dtype);
        if (rank > ONYX_MAX_RANK)
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu has rank %llu (at most %d)", (unsigned long long)i,
                        (unsigned long long)rank, ONYX_MAX_RANK);
        k->t.dtype = (onyx_dtype)dtype;
        k->t.rank = (int)rank;
        for (int d = 0; d < (int)rank; d++) k->t.dims[d] = (int64_t)le_load(e + 8 + 8 * d, 8);
        int64_t numel;
        size_t bytes;
        if (!ox_shape_numel(k->t.rank, k->t.dims, &numel) || !ox_shape_bytes(k->t.dtype, k->t.rank, k->t.dims, &bytes)) {
            char s[160];
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu has invalid dims %s", (unsigned long long)i,
                        ox_shape_str(s, sizeof s, k->t.rank, k->t.dims));
        }
        if (off % OX_PACKED_DATA_ALIGN)
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu data offset %llu is not a multiple of %d",
                        (unsigned long long)i, (unsigned long long)off, OX_PACKED_DATA_ALIGN);
        if (off > c->data_bytes || nbytes > c->data_bytes - off)
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu data [%llu, +%llu) lies outside the data section (%llu bytes)",
                        (unsigned long long)i, (unsigned long long)off, (unsigned long long)nbytes,
                        (unsigned long long)c->data_bytes);
        if (off < prev_end)
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu data at %llu overlaps the previous tensor's (ends at %llu)",
                        (unsigned long long)i, (unsigned long long)off, (unsigned long long)prev_end);
        prev_end = off + nbytes;
        if (o->max_tensor_bytes > 0 && (bytes > (uint64_t)o->max_tensor_bytes || nbytes > (uint64_t)o->max_tensor_bytes))
            return fail(c, ONYX_E_LIMIT, "packed model: tensor %llu needs %llu bytes, over the limit of %lld",
                        (unsigned long long)i, (unsigned long long)(bytes > nbytes ? bytes : nbytes),
                        (long long)o->max_tensor_bytes);
        total += nbytes;
        if (o->max_total_bytes > 0 && total > (uint64_t)o->max_total_bytes)
            return fail(c, ONYX_E_LIMIT, "packed model: weights exceed the limit of %lld bytes", (long long)o->max_total_bytes);
        const uint8_t *src = c->data + off;
        if (k->t.dtype == ONYX_DTYPE_STRING) {
            onyx_status st = load_strings(c, k, src, nbytes, i, numel);
            if (st) return st;
            continue;
        }
        if (nbytes != bytes)
            return fail(c, ONYX_E_PARSE, "packed model: tensor %llu has %llu bytes of data, its shape needs %zu",
                        (unsigned long long)i, (unsigned long long)nbytes, bytes);
        k->nbytes = bytes;
        if (c->zero_copy && bytes) {
            k->t.data = (void *)src; /* read-only: constants are never written */
        } else {
            uint8_t *d = ox_pool_alloc(&c->m->pool, bytes ? bytes : 1, OX_ALIGN);
            if (!d) return nomem(c);
            if (bytes) memcpy(d, src, bytes);
            k->t.data = d;
        }
    }
    return ONYX_OK;
}

static const ox_const *rd_tensor(pk_ctx *c, const char *what)
{
    uint32_t i = rd_u32(c, what);
    if (c->st) return NULL;
    if (i >= c->n_tensors) {
        fail(c, ONYX_E_PARSE, "packed model: %s refers to tensor %u at offset %llu; the table has %llu", what, (unsigned)i, at(c) - 4,
             (unsigned long long)c->n_tensors);
        return NULL;
    }
    return &c->tensors[i];
}

/* ---- types, attributes, graphs ---------------------------------------------------------- */

static void rd_type(pk_ctx *c, ox_type *t, const char *what)
{
    memset(t, 0, sizeof *t);
    unsigned kind = rd_u8(c, what), elem = rd_u8(c, what), dtype = rd_u8(c, what);
    int rank = (int8_t)rd_u8(c, what);
    if (c->st) return;
    if (kind > OX_KIND_SPARSE || elem > OX_KIND_SPARSE || (dtype && !ox_dtype_valid((int)dtype)) || rank < -1 ||
        rank > ONYX_MAX_RANK) {
        fail(c, ONYX_E_PARSE, "packed model: %s at offset %llu has an invalid type (kind %u, dtype %u, rank %d)", what,
             at(c) - 4, kind, dtype, rank);
        return;
    }
    t->kind = (ox_value_kind)kind;
    t->elem_kind = (ox_value_kind)elem;
    t->dtype = (onyx_dtype)dtype;
    t->rank = rank;
    for (int d = 0; d < rank && !c->st; d++) {
        t->dims[d] = rd_i64(c, what);
        size_t len;
        t->dim_names[d] = rd_str_len(c, what, true, true, &len);
        if (!c->st && t->dims[d] < -1)
            fail(c, ONYX_E_PARSE, "packed model: %s declares dim %lld", what, (long long)t->dims[d]);
    }
}

static onyx_status rd_graph(pk_ctx *c, ox_graph *parent, ox_graph **out);

static void rd_attr(pk_ctx *c, ox_graph *g, const ox_node *n, ox_attr *a)
{
    ox_pool *pool = &c->m->pool;
    a->name = rd_name(c, "attribute name");
    unsigned type = rd_u8(c, "attribute type");
    if (c->st) return;
    if (type == OX_ATTR_UNDEFINED || type > OX_ATTR_TYPE_PROTOS || type == OX_ATTR_SPARSE_TENSOR ||
        type == OX_ATTR_SPARSE_TENSORS) {
        fail(c, ONYX_E_PARSE, "packed model: node '%s' (%s): attribute '%s' has invalid type %u", n->name, n->op_type, a->name,
             type);
        return;
    }
    a->type = (ox_attr_type)type;
    unsigned allowed = ox_attr_types_allowed(n->domain, n->op_type, a->name);
    if (allowed && !(allowed & (1u << type))) {
        fail(c, ONYX_E_ARG, "node '%s' (%s): attribute '%s' has type %u, which the op does not take", n->name, n->op_type,
             a->name, type);
        return;
    }
    int cnt = 0;
    switch (a->type) {
    case OX_ATTR_FLOAT: a->f = rd_f32(c, "float attribute"); break;
    case OX_ATTR_INT: a->i = rd_i64(c, "int attribute"); break;
    case OX_ATTR_STRING: a->s = rd_str_len(c, "string attribute", false, false, &a->s_len); break;
    case OX_ATTR_TENSOR: a->t = (ox_const *)rd_tensor(c, "tensor attribute"); break;
    case OX_ATTR_GRAPH: rd_graph(c, g, &a->g); break;
    case OX_ATTR_TYPE_PROTO:
        if (!(a->tp = ox_pool_alloc(pool, sizeof *a->tp, 8))) nomem(c);
        else rd_type(c, a->tp, "type attribute");
        break;
    case OX_ATTR_FLOATS:
        if (!rd_count(c, 4, "float count", &cnt)) break;
        a->n = (size_t)cnt;
        if (!(a->floats = ox_pool_array(pool, a->n ? a->n : 1, sizeof(float)))) nomem(c);
        else for (int i = 0; i < cnt && !c->st; i++) a->floats[i] = rd_f32(c, "floats attribute");
        break;
    case OX_ATTR_INTS:
        if (!rd_count(c, 8, "int count", &cnt)) break;
        a->n = (size_t)cnt;
        if (!(a->ints = ox_pool_array(pool, a->n ? a->n : 1, sizeof(int64_t)))) nomem(c);
        else for (int i = 0; i < cnt && !c->st; i++) a->ints[i] = rd_i64(c, "ints attribute");
        break;
    case OX_ATTR_STRINGS:
        if (!rd_count(c, 5, "string count", &cnt)) break;
        a->n = (size_t)cnt;
        a->strings = ox_pool_array(pool, a->n ? a->n : 1, sizeof(char *));
        a->string_lens = ox_pool_array(pool, a->n ? a->n : 1, sizeof(size_t));
        if (!a->strings || !a->string_lens) nomem(c);
        else for (int i = 0; i < cnt && !c->st; i++)
            a->strings[i] = rd_str_len(c, "strings attribute", false, false, &a->string_lens[i]);
        break;
    case OX_ATTR_TENSORS:
        if (!rd_count(c, 4, "tensor count", &cnt)) break;
        a->n = (size_t)cnt;
        if (!(a->tensors = ox_pool_array(pool, a->n ? a->n : 1, sizeof(ox_const *)))) nomem(c);
        else for (int i = 0; i < cnt && !c->st; i++) a->tensors[i] = (ox_const *)rd_tensor(c, "tensors attribute");
        break;
    case OX_ATTR_GRAPHS:
        if (!rd_count(c, 21, "graph count", &cnt)) break;
        a->n = (size_t)cnt;
        if (!(a->graphs = ox_pool_array(pool, a->n ? a->n : 1, sizeof(ox_graph *)))) nomem(c);
        else for (int i = 0; i < cnt && !c->st; i++) rd_graph(c, g, &a->graphs[i]);
        break;
    case OX_ATTR_TYPE_PROTOS:
        if (!rd_count(c, 4, "type count", &cnt)) break;
        a->n = (size_t)cnt;
        if (!(a->type_protos = ox_pool_array(pool, a->n ? a->n : 1, sizeof(ox_type)))) nomem(c);
        else for (int i = 0; i < cnt && !c->st; i++) rd_type(c, &a->type_protos[i], "types attribute");
        break;
    default: break;
    }
}

/* Appends "Op (domain 'd', opset N)" to the unsupported list in the message, once per op. */
static void note_unsupported(pk_ctx *c, const ox_node *n)
{
    char item[192];
    snprintf(item, sizeof item, "%s (domain '%s', opset %d)", n->op_type, *n->domain ? n->domain : "ai.onnx", n->opset);
    if (c->unsupported_len && strstr(c->err, item)) return;
    size_t len = c->unsupported_len;
    if (!len) len = (size_t)snprintf(c->err, c->errcap, "unsupported ops: ");
    else if (len < c->errcap) len += (size_t)snprintf(c->err + len, c->errcap - len, "; ");
    if (len < c->errcap) len += (size_t)snprintf(c->err + len, c->errcap - len, "%s", item);
    c->unsupported_len = len < c->errcap ? len : c->errcap - 1;
}

static void rd_node(pk_ctx *c, ox_graph *g)
{
    const char *name = rd_name(c, "node name"), *op_type = rd_name(c, "op type"), *domain = rd_name(c, "domain");
    int32_t opset = rd_i32(c, "opset");
    int n_in = 0, n_out = 0, n_attr = 0;
    if (!rd_count(c, 4, "input count", &n_in) || !rd_count(c, 4, "output count", &n_out) ||
        !rd_count(c, 6, "attribute count", &n_attr))
        return;
    ox_node *n = ox_graph_add_node(g, n_in, n_out, n_attr);
    if (!n) {
        nomem(c);
        return;
    }
    n->name = name;
    n->op_type = op_type;
    n->domain = domain;
    n->opset = opset;
    for (int k = 0; k < n_in && !c->st; k++) n->in[k] = rd_index(c, g->n_values, true, "node input");
    for (int k = 0; k < n_out && !c->st; k++) n->out[k] = rd_index(c, g->n_values, true, "node output");
    for (int k = 0; k < n_attr && !c->st; k++) rd_attr(c, g, n, &n->attr[k]);
    if (c->st) return;
    if (!ox_node_add_implicit_inputs(g, n)) {
        nomem(c);
        return;
    }
    n->op = n->opset >= 0 ? ox_op_find(n->domain, n->op_type, n->opset) : NULL;
    if (!n->op) {
        c->m->n_unsupported++;
        note_unsupported(c, n);
    }
}

static bool defined(const ox_value *v) { return v->is_input || v->init || v->producer >= 0 || v->outer >= 0; }

/* After sorting: the ONNX loader's guarantees, checked rather than assumed. */
static onyx_status check_graph(pk_ctx *c, const ox_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        for (int k = 0; k < ox_node_inputs(n); k++)
            if (n->in[k] >= 0 && !defined(&g->values[n->in[k]]))
                return fail(c, ONYX_E_PARSE, "packed model: node '%s' (%s): input %d '%s' is not defined in the graph", n->name,
                            n->op_type, k, g->values[n->in[k]].name);
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && g->values[n->out[k]].outer >= 0)
                return fail(c, ONYX_E_PARSE, "packed model: node '%s' (%s) writes '%s', a value of the enclosing graph", n->name,
                            n->op_type, g->values[n->out[k]].name);
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (!defined(&g->values[g->outputs[i]]))
            return fail(c, ONYX_E_PARSE, "packed model: graph output '%s' is not produced by any node",
                        g->values[g->outputs[i]].name);
    return ONYX_OK;
}

static onyx_status rd_graph(pk_ctx *c, ox_graph *parent, ox_graph **out)
{
    ox_pool *pool = &c->m->pool;
    *out = NULL;
    if (c->st) return c->st;
    if (parent && parent->depth + 1 > c->m->opts.max_graph_depth)
        return fail(c, ONYX_E_LIMIT, "packed model: subgraphs nested more than %d deep", c->m->opts.max_graph_depth);
    ox_graph *g = ox_graph_new(pool, parent);
    if (!g) return nomem(c);
    g->name = rd_name(c, "graph name");
    int n_values = 0;
    if (!rd_count(c, 17, "value count", &n_values)) return c->st;
    for (int i = 0; i < n_values && !c->st; i++) {
        const char *name = rd_name(c, "value name");
        if (c->st) break;
        int v = ox_graph_value(g, name);
        if (v < 0) return nomem(c);
        if (v != i) return fail(c, ONYX_E_PARSE, "packed model: value '%s' is declared twice in graph '%s'", name, g->name);
        ox_value *val = &g->values[v];
        rd_type(c, &val->type, "value type");
        val->init = NULL;
        if (!c->st && (size_t)(c->end - c->p) >= 4 && le_load(c->p, 4) == UINT32_MAX) c->p += 4; /* none */
        else val->init = (ox_const *)rd_tensor(c, "initializer");
        int32_t outer = rd_i32(c, "outer index");
        if (c->st) break;
        if (val->init) {
            ox_type *t = &val->type;
            memset(t, 0, sizeof *t);
            t->kind = OX_KIND_TENSOR;
            t->dtype = val->init->t.dtype;
            t->rank = val->init->t.rank;
            for (int d = 0; d < t->rank; d++) t->dims[d] = val->init->t.dims[d];
        }
        if (outer != -1) {
            if (!parent || outer < 0 || outer >= parent->n_values || val->init)
                return fail(c, ONYX_E_PARSE, "packed model: value '%s' refers to outer value %d, which %s", name, (int)outer,
                            !parent ? "a main graph cannot have" : val->init ? "an initializer cannot be" : "does not exist");
            val->outer = outer;
            val->type = parent->values[outer].type;
        }
    }
    if (c->st) return c->st;
    int n_inputs = 0, n_outputs = 0, n_nodes = 0;
    if (!rd_count(c, 4, "input count", &n_inputs)) return c->st;
    if (!(g->inputs = ox_pool_array(pool, (size_t)(n_inputs ? n_inputs : 1), sizeof(int)))) return nomem(c);
    for (int i = 0; i < n_inputs && !c->st; i++) {
        int v = rd_index(c, g->n_values, false, "graph input");
        if (c->st) break;
        ox_value *val = &g->values[v];
        if (val->is_input || val->init || val->outer >= 0)
            return fail(c, ONYX_E_PARSE, "packed model: graph input '%s' is %s", val->name,
                        val->is_input ? "declared twice" : "also a constant or an outer value");
        val->is_input = true;
        g->inputs[g->n_inputs++] = v;
    }
    if (!rd_count(c, 4, "output count", &n_outputs)) return c->st;
    if (!(g->outputs = ox_pool_array(pool, (size_t)(n_outputs ? n_outputs : 1), sizeof(int)))) return nomem(c);
    for (int i = 0; i < n_outputs && !c->st; i++) {
        int v = rd_index(c, g->n_values, false, "graph output");
        if (c->st) break;
        g->values[v].is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    if (!rd_count(c, 31, "node count", &n_nodes)) return c->st;
    c->n_nodes += n_nodes;
    if (c->n_nodes > c->m->opts.max_nodes)
        return fail(c, ONYX_E_LIMIT, "packed model: more than %lld nodes", (long long)c->m->opts.max_nodes);
    for (int i = 0; i < n_nodes && !c->st; i++) rd_node(c, g);
    if (c->st) return c->st;
    onyx_status st = ox_graph_sort(g, c->err, c->errcap);
    if (st) return c->st = st;
    if ((st = check_graph(c, g))) return st;
    *out = g;
    return ONYX_OK;
}

/* ---- header and entry points ------------------------------------------------------------ */

static bool range_ok(uint64_t off, uint64_t len, uint64_t total) { return off <= total && len <= total - off; }
static bool disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return !alen || !blen || a + alen <= b || b + blen <= a;
}

static onyx_status parse(pk_ctx *c, const uint8_t *b, size_t size)
{
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1)
        return fail(c, ONYX_E_UNSUPPORTED, "packed models are little-endian; this host is big-endian");
    if (!ox_is_packed(b, size)) return fail(c, ONYX_E_PARSE, "not a packed onyx model (bad magic)");
    if (size < OX_PACKED_HEADER_BYTES)
        return fail(c, ONYX_E_PARSE, "packed model is truncated: %zu bytes, the header alone takes %d", size,
                    OX_PACKED_HEADER_BYTES);
    uint64_t version = le_load(b + OX_PK_VERSION, 4), hdr = le_load(b + OX_PK_HEADER_BYTES, 4);
    if (version != OX_PACKED_VERSION)
        return fail(c, ONYX_E_UNSUPPORTED, "packed model format version %llu; this onyx reads version %d",
                    (unsigned long long)version, OX_PACKED_VERSION);
    if (hdr != OX_PACKED_HEADER_BYTES || le_load(b + OX_PK_RESERVED, 8) || le_load(b + OX_PK_RESERVED + 8, 8))
        return fail(c, ONYX_E_PARSE, "packed model: header size %llu or reserved fields are not those of version %d",
                    (unsigned long long)hdr, OX_PACKED_VERSION);
    uint64_t fb = le_load(b + OX_PK_FILE_BYTES, 8);
    if (fb > size)
        return fail(c, ONYX_E_PARSE, "packed model is truncated: the header says %llu bytes, the buffer holds %zu",
                    (unsigned long long)fb, size);
    if (fb < OX_PACKED_HEADER_BYTES) return fail(c, ONYX_E_PARSE, "packed model: file size %llu is smaller than its header", (unsigned long long)fb);
    uint64_t g_off = le_load(b + OX_PK_GRAPH_OFFSET, 8), g_len = le_load(b + OX_PK_GRAPH_BYTES, 8);
    uint64_t t_off = le_load(b + OX_PK_TABLE_OFFSET, 8), n_t = le_load(b + OX_PK_TENSOR_COUNT, 8);
    uint64_t d_off = le_load(b + OX_PK_DATA_OFFSET, 8), d_len = le_load(b + OX_PK_DATA_BYTES, 8);
    c->m->packed_arena_bytes = le_load(b + OX_PK_ARENA_BYTES, 8);
    if (g_off < OX_PACKED_HEADER_BYTES || !range_ok(g_off, g_len, fb))
        return fail(c, ONYX_E_PARSE, "packed model: graph section [%llu, +%llu) lies outside the file (%llu bytes)",
                    (unsigned long long)g_off, (unsigned long long)g_len, (unsigned long long)fb);
    if (t_off < OX_PACKED_HEADER_BYTES || t_off % 8 || n_t > (fb - (t_off < fb ? t_off : fb)) / OX_PACKED_TENSOR_BYTES)
        return fail(c, ONYX_E_PARSE, "packed model: tensor table at %llu with %llu entries lies outside the file",
                    (unsigned long long)t_off, (unsigned long long)n_t);
    uint64_t t_len = n_t * OX_PACKED_TENSOR_BYTES;
    if (d_off < OX_PACKED_HEADER_BYTES || d_off % OX_PACKED_DATA_ALIGN || !range_ok(d_off, d_len, fb))
        return fail(c, ONYX_E_PARSE, "packed model: data section [%llu, +%llu) is misaligned or outside the file",
                    (unsigned long long)d_off, (unsigned long long)d_len);
    if (!disjoint(g_off, g_len, t_off, t_len) || !disjoint(g_off, g_len, d_off, d_len) || !disjoint(t_off, t_len, d_off, d_len))
        return fail(c, ONYX_E_PARSE, "packed model: the graph, tensor table and data sections overlap");
    c->base = b;
    c->file_bytes = fb;
    c->data = b + d_off;
    c->data_bytes = d_len;
    c->n_tensors = n_t;
    c->zero_copy = (uintptr_t)b % OX_PACKED_DATA_ALIGN == 0;
    onyx_status st = load_tensors(c, t_off);
    if (st) return st;

    onyx_model *m = c->m;
    c->p = b + g_off;
    c->end = b + g_off + g_len;
    m->producer_name = rd_name(c, "producer name");
    m->producer_version = rd_name(c, "producer version");
    m->domain = rd_name(c, "model domain");
    m->ir_version = rd_i64(c, "IR version");
    m->model_version = rd_i64(c, "model version");
    int n_opsets = 0;
    if (!rd_count(c, 13, "opset count", &n_opsets)) return c->st;
    if (!(m->opsets = ox_pool_array(&m->pool, (size_t)(n_opsets ? n_opsets : 1), sizeof(ox_opset)))) return nomem(c);
    for (int i = 0; i < n_opsets && !c->st; i++) {
        m->opsets[i].domain = rd_name(c, "opset domain");
        m->opsets[i].version = rd_i64(c, "opset version");
    }
    m->n_opsets = n_opsets;
    if ((st = rd_graph(c, NULL, &m->graph))) return st;
    if (c->p != c->end)
        return fail(c, ONYX_E_PARSE, "packed model: %llu bytes left over at the end of the graph section",
                    (unsigned long long)(c->end - c->p));
    if (m->n_unsupported && !m->opts.allow_unsupported) return c->st = ONYX_E_UNSUPPORTED;
    if (m->n_unsupported) c->err[0] = 0;
    return ONYX_OK;
}

/* Loads from data; `owned` (or NULL) is the model's own copy, freed with it or on failure. */
static onyx_status load(const void *data, size_t size, void *owned, const onyx_load_options *o, onyx_model **out,
                        onyx_error *err)
{
    *out = NULL;
    onyx_model *m = ox_model_new(o);
    if (!m) {
        if (owned) {
            onyx_load_options r;
            ox_load_options_resolve(o, &r);
            ox_allocator a = ox_allocator_make(r.alloc, r.alloc_user);
            ox_free_aligned(&a, owned);
        }
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    m->owned_data = owned;
    char msg[512] = "";
    pk_ctx c = {0};
    c.m = m;
    c.err = msg;
    c.errcap = sizeof msg;
    onyx_status st = parse(&c, data, size);
    if (st) {
        ox_error_set(err, st, msg);
        onyx_model_free(m);
        return st;
    }
    *out = m;
    return ONYX_OK;
}

onyx_status onyx_model_load_packed(const void *data, size_t size, const onyx_load_options *o, onyx_model **out,
                                   onyx_error *err)
{
    if (!out || !data) {
        if (out) *out = NULL;
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    return load(data, size, NULL, o, out, err);
}

onyx_status ox_packed_load_owned(void *owned, size_t size, const onyx_load_options *o, onyx_model **out,
                                 onyx_error *err)
{
    return load(owned, size, owned, o, out, err);
}

uint64_t onyx_model_packed_arena_bytes(const onyx_model *m) { return m ? m->packed_arena_bytes : 0; }

onyx_status ox_packed_load_copy(const void *buf, size_t len, const onyx_load_options *o, onyx_model **out,
                                onyx_error *err)
{
    *out = NULL;
    ox_allocator a = ox_opts_allocator(o);
    void *copy = ox_malloc_aligned(&a, len);
    if (!copy) {
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    if (buf) memcpy(copy, buf, len); /* the caller saw the magic: it is there */
    return ox_packed_load_owned(copy, len, o, out, err);
}
