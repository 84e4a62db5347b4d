/* op_util.c — attribute access, error reporting and shape helpers shared by the ops. */
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "smallfloat.h"

onyx_status (ox_fail)(ox_ctx *c, onyx_status st, const char *fmt, ...) /* (name): not op.h's analyzer macro */
{
    if (!c->msg || c->msg_cap == 0) return st;
    int n = snprintf(c->msg, c->msg_cap, "node '%s' (%s): ", c->node->name, c->node->op_type);
    if (n < 0 || (size_t)n >= c->msg_cap) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg + n, c->msg_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return st;
}

static const ox_attr *find(const ox_ctx *c, const char *name, ox_attr_type t)
{
    const ox_attr *a = ox_node_attr(c->node, name);
    return (a && a->type == t) ? a : NULL;
}

bool ox_attr_has(const ox_ctx *c, const char *name) { return ox_node_attr(c->node, name) != NULL; }

int64_t ox_attr_int(const ox_ctx *c, const char *name, int64_t def)
{
    const ox_attr *a = find(c, name, OX_ATTR_INT);
    return a ? a->i : def;
}

float ox_attr_float(const ox_ctx *c, const char *name, float def)
{
    const ox_attr *a = find(c, name, OX_ATTR_FLOAT);
    return a ? a->f : def;
}

const char *ox_attr_string(const ox_ctx *c, const char *name, const char *def)
{
    const ox_attr *a = find(c, name, OX_ATTR_STRING);
    return a ? a->s : def;
}

size_t ox_attr_ints(const ox_ctx *c, const char *name, const int64_t **out)
{
    const ox_attr *a = find(c, name, OX_ATTR_INTS);
    *out = a ? a->ints : NULL;
    return a ? a->n : 0;
}

size_t ox_attr_floats(const ox_ctx *c, const char *name, const float **out)
{
    const ox_attr *a = find(c, name, OX_ATTR_FLOATS);
    *out = a ? a->floats : NULL;
    return a ? a->n : 0;
}

onyx_status ox_attr_expect(ox_ctx *c, const char *name, ox_attr_type t)
{
    const ox_attr *a = ox_node_attr(c->node, name);
    if (!a || a->type == t) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "attribute '%s' has type %d, expected %d", name, (int)a->type,
                   (int)t);
}

void ox_set_shape(onyx_tensor *out, onyx_dtype dtype, int rank, const int64_t *dims)
{
    out->dtype = dtype;
    out->rank = rank;
    for (int i = 0; i < rank; i++) out->dims[i] = dims[i];
}

onyx_status ox_norm_axis(ox_ctx *c, int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -(int64_t)rank || axis >= (int64_t)rank)
        return ox_fail(c, ONYX_E_ARG, "%s %lld out of range for rank %d", what, (long long)axis,
                       rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return ONYX_OK;
}

onyx_status ox_broadcast_shape(ox_ctx *c, int ra, const int64_t *da, int rb, const int64_t *db,
                               int *rank, int64_t *dims)
{
    int r = ra > rb ? ra : rb;
    int64_t a_dims[ONYX_MAX_RANK], b_dims[ONYX_MAX_RANK]; /* dims may alias da or db */
    memcpy(a_dims, da, sizeof(int64_t) * (size_t)ra);
    memcpy(b_dims, db, sizeof(int64_t) * (size_t)rb);
    da = a_dims;
    db = b_dims;
    for (int i = 0; i < r; i++) {
        int64_t a = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t b = i < r - rb ? 1 : db[i - (r - rb)];
        if (a != b && a != 1 && b != 1) {
            char sa[96], sb[96];
            return ox_fail(c, ONYX_E_SHAPE, "shapes %s and %s cannot be broadcast",
                           ox_shape_str(sa, sizeof sa, ra, da), ox_shape_str(sb, sizeof sb, rb, db));
        }
        dims[i] = (a == 1) ? b : a;
    }
    *rank = r;
    return ONYX_OK;
}

void ox_broadcast_strides(const onyx_tensor *t, int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int ti = i - (rank - t->rank);
        if (ti < 0 || t->dims[ti] == 1 || dims[i] == 1) {
            strides[i] = 0;
            if (ti >= 0) s *= t->dims[ti];
        } else {
            strides[i] = s;
            s *= t->dims[ti];
        }
    }
}

int64_t ox_read_int(const onyx_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case ONYX_DTYPE_INT64: return ((const int64_t *)t->data)[i];
    case ONYX_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    default: {
        /* other types via double; NaN and out-of-range values are clamped, not UB */
        double v = ox_read_f64(t, i);
        if (!(v == v)) return 0;
        if (v >= 9223372036854775807.0) return INT64_MAX;
        if (v <= -9223372036854775808.0) return INT64_MIN;
        return (int64_t)v;
    }
    }
}

double ox_read_f64(const onyx_tensor *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: return ((const float *)d)[i];
    case ONYX_DTYPE_DOUBLE: return ((const double *)d)[i];
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(((const uint16_t *)d)[i]);
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(((const uint16_t *)d)[i]);
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT4: return ((const int8_t *)d)[i];
    case ONYX_DTYPE_UINT8: case ONYX_DTYPE_UINT4: case ONYX_DTYPE_BOOL: return ((const uint8_t *)d)[i];
    case ONYX_DTYPE_INT16: return ((const int16_t *)d)[i];
    case ONYX_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case ONYX_DTYPE_INT32: return ((const int32_t *)d)[i];
    case ONYX_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case ONYX_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case ONYX_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    case ONYX_DTYPE_FLOAT8E4M3FN: return ox_f8e4m3fn_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: return ox_f8e4m3fnuz_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_FLOAT8E5M2: return ox_f8e5m2_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return ox_f8e5m2fnuz_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_FLOAT4E2M1: return ox_f4e2m1_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_FLOAT8E8M0: return ox_f8e8m0_to_f32(((const uint8_t *)d)[i]);
    default: return 0.0;
    }
}

void ox_write_f64(onyx_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)t->data)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = ox_f32_to_f16((float)v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = ox_f32_to_bf16((float)v); break;
    default: break;
    }
}

void ox_half_to_f32(onyx_dtype t, const uint16_t *src, int64_t n, float *dst)
{
    if (t == ONYX_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++) dst[i] = ox_f16_to_f32(src[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ox_bf16_to_f32(src[i]);
}

void ox_f32_to_half(onyx_dtype t, const float *src, int64_t n, uint16_t *dst)
{
    if (t == ONYX_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++) dst[i] = ox_f32_to_f16(src[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ox_f32_to_bf16(src[i]);
}

onyx_status ox_check_scratch(ox_ctx *c, size_t need)
{
    if (c->scratch_bytes >= need && (need == 0 || c->scratch)) return ONYX_OK;
    return ox_fail(c, ONYX_E_INTERNAL, "scratch of %zu bytes granted, %zu needed",
                   c->scratch_bytes, need);
}

onyx_status ox_expect_dtype(ox_ctx *c, int i, const onyx_dtype *allowed)
{
    if (i >= c->n_in || !c->in[i]) return ox_fail(c, ONYX_E_ARG, "input %d is missing", i);
    for (const onyx_dtype *a = allowed; *a; a++)
        if (c->in[i]->dtype == *a) return ONYX_OK;
    return ox_fail(c, ONYX_E_UNSUPPORTED, "input %d ('%s') has unsupported dtype %s", i,
                   ox_input_name(c, i), onyx_dtype_name(c->in[i]->dtype));
}

const char *ox_input_name(const ox_ctx *c, int i)
{
    if (!c->graph || i < 0 || i >= c->n_in + c->n_implicit) return "";
    int v = c->node->in[i];
    return v >= 0 && v < c->graph->n_values && c->graph->values[v].name ? c->graph->values[v].name : "";
}

onyx_status ox_need_value(ox_ctx *c, int i)
{
    if (i < c->n_in && c->in[i] && c->in[i]->data) return ONYX_OK;
    c->need_value = i;
    return ox_fail(c, ONYX_E_UNSUPPORTED,
                   "input %d determines the output shape and is not known before run", i);
}

onyx_status ox_input_ints(ox_ctx *c, int i, const char *what, int64_t *vals, int cap, int *n)
{
    onyx_status st = ox_need_value(c, i);
    if (st) return st;
    const onyx_tensor *t = c->in[i];
    if (t->dtype != ONYX_DTYPE_INT64 && t->dtype != ONYX_DTYPE_INT32)
        return ox_fail(c, ONYX_E_ARG, "%s must be int32 or int64, got %s", what,
                       onyx_dtype_name(t->dtype));
    if (t->rank > 1) return ox_fail(c, ONYX_E_ARG, "%s must be 1-D, got rank %d", what, t->rank);
    int64_t count = ox_tensor_numel(t);
    if (count > cap)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "%s has %lld values, at most %d supported", what,
                       (long long)count, cap);
    for (int64_t k = 0; k < count; k++) vals[k] = ox_read_int(t, k);
    *n = (int)count;
    return ONYX_OK;
}

onyx_status ox_need_io(ox_ctx *c, int n_in)
{
    for (int i = 0; i < n_in; i++)
        if (i >= c->n_in || !c->in[i])
            return ox_fail(c, ONYX_E_ARG, "required input %d is missing", i);
    if (c->n_out < 1 || !c->out[0]) return ox_fail(c, ONYX_E_ARG, "output 0 is missing");
    return ONYX_OK;
}

const onyx_tensor *ox_opt_in(const ox_ctx *c, int i) { return i < c->n_in ? c->in[i] : NULL; }

onyx_status ox_elem_size(ox_ctx *c, onyx_dtype t, size_t *es)
{
    *es = onyx_dtype_size(t);
    if (*es == 0)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(t));
    return ONYX_OK;
}

onyx_status ox_check_rank(ox_ctx *c, int64_t rank)
{
    if (rank > ONYX_MAX_RANK)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "output rank %lld exceeds the maximum of %d",
                       (long long)rank, ONYX_MAX_RANK);
    return ONYX_OK;
}

void ox_dense_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        strides[k] = s;
        s *= dims[k];
    }
}

void ox_copy_bytes(void *dst, const void *src, size_t n)
{
    if (n && dst != src) memcpy(dst, src, n);
}

onyx_status ox_legacy_broadcast(ox_ctx *c, const onyx_tensor *a, const onyx_tensor *b,
                                onyx_tensor *view)
{
    *view = *b;
    if (c->opset >= 7) return ONYX_OK;
    char sa[96], sb[96];
    ox_shape_str(sa, sizeof sa, a->rank, a->dims);
    ox_shape_str(sb, sizeof sb, b->rank, b->dims);
    if (!ox_attr_int(c, "broadcast", 0)) {
        bool same = a->rank == b->rank;
        for (int i = 0; same && i < a->rank; i++) same = a->dims[i] == b->dims[i];
        if (!same)
            return ox_fail(c, ONYX_E_SHAPE, "shapes %s and %s differ and broadcast is 0", sa, sb);
        return ONYX_OK;
    }
    int64_t axis = ox_attr_int(c, "axis", a->rank - b->rank);
    if (b->rank > a->rank || axis < 0 || axis > a->rank - b->rank)
        return ox_fail(c, ONYX_E_SHAPE, "cannot broadcast %s onto %s at axis %lld", sb, sa,
                       (long long)axis);
    view->rank = a->rank;
    for (int i = 0; i < a->rank; i++) view->dims[i] = 1;
    for (int i = 0; i < b->rank; i++) {
        int64_t d = b->dims[i];
        if (d != 1 && d != a->dims[axis + i])
            return ox_fail(c, ONYX_E_SHAPE, "cannot broadcast %s onto %s at axis %lld", sb, sa,
                           (long long)axis);
        view->dims[axis + i] = d;
    }
    return ONYX_OK;
}

onyx_status ox_matmul_shape_of(ox_ctx *c, const onyx_tensor *a, const onyx_tensor *b,
                               ox_matmul_shape *m)
{
    char sa[96], sb[96];
    if (a->rank < 1 || b->rank < 1)
        return ox_fail(c, ONYX_E_SHAPE, "operands must have rank >= 1");
    m->M = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    m->K = a->dims[a->rank - 1];
    m->N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    if (b->dims[b->rank >= 2 ? b->rank - 2 : 0] != m->K)
        return ox_fail(c, ONYX_E_SHAPE, "inner dimensions of %s and %s differ",
                       ox_shape_str(sa, sizeof sa, a->rank, a->dims),
                       ox_shape_str(sb, sizeof sb, b->rank, b->dims));
    memset(&m->abatch, 0, sizeof m->abatch);
    memset(&m->bbatch, 0, sizeof m->bbatch);
    m->abatch.rank = a->rank > 2 ? a->rank - 2 : 0;
    m->bbatch.rank = b->rank > 2 ? b->rank - 2 : 0;
    ox_copy_bytes(m->abatch.dims, a->dims, sizeof(int64_t) * (size_t)m->abatch.rank);
    ox_copy_bytes(m->bbatch.dims, b->dims, sizeof(int64_t) * (size_t)m->bbatch.rank);
    onyx_status st = ox_broadcast_shape(c, m->abatch.rank, m->abatch.dims, m->bbatch.rank,
                                        m->bbatch.dims, &m->nb, m->batch);
    if (st) return st;
    m->rank = m->nb;
    ox_copy_bytes(m->dims, m->batch, sizeof(int64_t) * (size_t)m->nb);
    if (a->rank >= 2) m->dims[m->rank++] = m->M;
    if (b->rank >= 2) m->dims[m->rank++] = m->N;
    return ONYX_OK;
}

onyx_status ox_softmax_view(ox_ctx *c, int64_t *outer, int64_t *n, int64_t *inner)
{
    const onyx_tensor *x = c->in[0];
    const bool coerce = c->opset < 13;
    int64_t a = ox_attr_int(c, "axis", coerce ? 1 : -1);
    int axis = x->rank;
    if (!coerce || a != x->rank) {
        onyx_status st = ox_norm_axis(c, a, x->rank, "axis", &axis);
        if (st) return st;
    }
    *outer = *n = *inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis) *outer *= x->dims[i];
        else if (i == axis || coerce) *n *= x->dims[i];
        else *inner *= x->dims[i];
    }
    return ONYX_OK;
}

const char ox_known_container = 1;

onyx_status ox_need_all_values(ox_ctx *c)
{
    for (int i = 0; i < c->n_in + c->n_implicit; i++) {
        if (!c->in[i] || c->in[i]->data) continue;
        if (ox_val_of(c->in[i])->kind == OX_KIND_TENSOR) {
            size_t bytes;
            /* an empty tensor has no data and needs none */
            if (ox_shape_bytes(c->in[i]->dtype, c->in[i]->rank, c->in[i]->dims, &bytes) && bytes == 0) continue;
        }
        return ox_need_value(c, i);
    }
    return ONYX_OK;
}

static onyx_status copy_tensor(ox_pool *pool, const onyx_tensor *src, onyx_tensor *dst)
{
    *dst = *src;
    size_t bytes = ox_tensor_bytes(src);
    dst->data = ox_pool_alloc(pool, bytes ? bytes : 1, OX_ALIGN);
    if (!dst->data) return ONYX_E_NOMEM;
    if (src->dtype != ONYX_DTYPE_STRING) {
        ox_copy_bytes(dst->data, src->data, bytes);
        return ONYX_OK;
    }
    int64_t n = ox_tensor_numel(src);
    for (int64_t i = 0; i < n; i++) {
        const char *s = ((char *const *)src->data)[i];
        char *d = ox_pool_strdup(pool, s ? s : "");
        if (!d) return ONYX_E_NOMEM;
        ((char **)dst->data)[i] = d;
    }
    return ONYX_OK;
}

onyx_status ox_val_copy(ox_pool *pool, const ox_val *src, ox_val *dst)
{
    *dst = *src;
    bool holds_seq = src->kind == OX_KIND_SEQUENCE || (src->kind == OX_KIND_OPTIONAL && src->elem_kind == OX_KIND_SEQUENCE);
    if (src->kind == OX_KIND_OPTIONAL && src->none) {
        dst->t.data = OX_KNOWN;
        return ONYX_OK;
    }
    if (!holds_seq) {
        onyx_status st = copy_tensor(pool, &src->t, &dst->t);
        if (st) return st;
        return ONYX_OK;
    }
    dst->seq.items = ox_pool_array(pool, (size_t)(src->seq.n ? src->seq.n : 1), sizeof(onyx_tensor));
    if (!dst->seq.items) return ONYX_E_NOMEM;
    for (int64_t i = 0; i < src->seq.n; i++) {
        onyx_status st = copy_tensor(pool, &src->seq.items[i], &dst->seq.items[i]);
        if (st) return st;
    }
    dst->t.data = OX_KNOWN;
    return ONYX_OK;
}
