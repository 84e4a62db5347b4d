/* sequence.c — sequence and optional values: SequenceEmpty, SequenceConstruct,
 * SequenceInsert, SequenceErase, SequenceAt, SequenceLength, SplitToSequence,
 * ConcatFromSequence, Optional, OptionalHasElement, OptionalGetElement.
 *
 * Containers hold tensors whose shapes vary with the data, so these ops evaluate in infer
 * (see op.h): they need every input's value and write their results into c->strings. */
#include <string.h>

#include "op.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static ox_val *in_val(ox_ctx *c, int i) { return ox_val_of(c->in[i]); }
static ox_val *out_val(ox_ctx *c, int k) { return ox_val_of(c->out[k]); }

static bool holds_sequence(const ox_val *v)
{
    return v->kind == OX_KIND_SEQUENCE || (v->kind == OX_KIND_OPTIONAL && v->elem_kind == OX_KIND_SEQUENCE);
}

/* Marks a container output as known (its t.data is a marker, see op.h). */
static void set_known(ox_val *v) { v->t.data = OX_KNOWN; }

static onyx_status make_sequence(ox_ctx *c, ox_val *out, onyx_dtype dtype, int64_t n)
{
    memset(out, 0, sizeof *out);
    out->kind = OX_KIND_SEQUENCE;
    out->seq.dtype = dtype;
    out->seq.n = n;
    out->seq.items = ox_pool_array(c->strings, (size_t)(n ? n : 1), sizeof(onyx_tensor));
    if (!out->seq.items) return ox_fail(c, ONYX_E_NOMEM, "out of memory building a sequence");
    out->t.dtype = dtype;
    set_known(out);
    return ONYX_OK;
}

/* A tensor output made in infer: shape set, data from the pool. */
static onyx_status make_tensor(ox_ctx *c, onyx_tensor *out, onyx_dtype dtype, int rank, const int64_t *dims)
{
    ox_set_shape(out, dtype, rank, dims);
    size_t bytes;
    if (!ox_shape_bytes(dtype, rank, dims, &bytes)) return ox_fail(c, ONYX_E_SHAPE, "invalid output shape");
    out->data = ox_pool_alloc(c->strings, bytes ? bytes : 1, OX_ALIGN);
    if (!out->data) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
    return ONYX_OK;
}

static onyx_status need_sequence(ox_ctx *c, int i)
{
    if (i >= c->n_in || !c->in[i] || in_val(c, i)->kind != OX_KIND_SEQUENCE)
        return ox_fail(c, ONYX_E_ARG, "input %d must be a sequence", i);
    return ONYX_OK;
}

/* Position input i (optional, int32/int64 scalar) normalised into [0, n] (insert) or
 * [0, n) (others); `def` when omitted. */
static onyx_status position(ox_ctx *c, int i, int64_t n, bool insert, int64_t def, int64_t *pos)
{
    const onyx_tensor *p = ox_opt_in(c, i);
    int64_t v = def;
    if (p) {
        if ((p->dtype != ONYX_DTYPE_INT64 && p->dtype != ONYX_DTYPE_INT32) || ox_tensor_numel(p) != 1)
            return ox_fail(c, ONYX_E_ARG, "position must be an int32/int64 scalar");
        v = ox_read_int(p, 0);
    }
    int64_t hi = insert ? n : n - 1;
    if (v < -n || v > hi) return ox_fail(c, ONYX_E_ARG, "position %lld out of range for a sequence of %lld", (long long)v, (long long)n);
    *pos = v < 0 ? v + n : v;
    return ONYX_OK;
}

/* Copies a tensor (data and strings) into the pool. */
static onyx_status copy_item(ox_ctx *c, const onyx_tensor *src, onyx_tensor *dst)
{
    ox_val a, b;
    memset(&a, 0, sizeof a);
    a.t = *src;
    if (ox_val_copy(c->strings, &a, &b)) return ox_fail(c, ONYX_E_NOMEM, "out of memory copying a tensor");
    *dst = b.t;
    return ONYX_OK;
}

static onyx_status no_run(ox_ctx *c) { return ox_fail(c, ONYX_E_INTERNAL, "evaluated at plan time; run is never called"); }

/* ---- sequences ------------------------------------------------------------------------------ */

static onyx_status empty_infer(ox_ctx *c)
{
    int64_t dt = ox_attr_int(c, "dtype", ONYX_DTYPE_FLOAT);
    if (!ox_dtype_valid((int)dt)) return ox_fail(c, ONYX_E_ARG, "attribute 'dtype' %lld is not a dtype", (long long)dt);
    return make_sequence(c, out_val(c, 0), (onyx_dtype)dt, 0);
}

static onyx_status construct_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    if (c->n_in < 1) return ox_fail(c, ONYX_E_ARG, "SequenceConstruct needs at least one input");
    for (int i = 0; i < c->n_in; i++)
        if (!c->in[i] || in_val(c, i)->kind != OX_KIND_TENSOR || c->in[i]->dtype != c->in[0]->dtype)
            return ox_fail(c, ONYX_E_ARG, "inputs must be tensors of one dtype");
    ox_val *out = out_val(c, 0);
    if ((st = make_sequence(c, out, c->in[0]->dtype, c->n_in))) return st;
    for (int i = 0; i < c->n_in && !st; i++) st = copy_item(c, c->in[i], &out->seq.items[i]);
    return st;
}

static onyx_status insert_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (!st) st = need_sequence(c, 0);
    if (st) return st;
    const ox_val *seq = in_val(c, 0);
    const onyx_tensor *t = c->in[1];
    if (!t || in_val(c, 1)->kind != OX_KIND_TENSOR) return ox_fail(c, ONYX_E_ARG, "input 1 must be a tensor");
    if (seq->seq.n && t->dtype != seq->seq.dtype)
        return ox_fail(c, ONYX_E_ARG, "tensor dtype %s does not match the sequence's %s", onyx_dtype_name(t->dtype),
                       onyx_dtype_name(seq->seq.dtype));
    int64_t pos;
    if ((st = position(c, 2, seq->seq.n, true, seq->seq.n, &pos))) return st;
    ox_val *out = out_val(c, 0);
    if ((st = make_sequence(c, out, t->dtype, seq->seq.n + 1))) return st;
    for (int64_t i = 0, j = 0; i < out->seq.n && !st; i++)
        st = copy_item(c, i == pos ? t : &seq->seq.items[j++], &out->seq.items[i]);
    return st;
}

static onyx_status erase_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (!st) st = need_sequence(c, 0);
    if (st) return st;
    const ox_val *seq = in_val(c, 0);
    int64_t pos;
    if ((st = position(c, 1, seq->seq.n, false, -1, &pos))) return st;
    ox_val *out = out_val(c, 0);
    if ((st = make_sequence(c, out, seq->seq.dtype, seq->seq.n - 1))) return st;
    for (int64_t i = 0, j = 0; i < seq->seq.n && !st; i++)
        if (i != pos) st = copy_item(c, &seq->seq.items[i], &out->seq.items[j++]);
    return st;
}

static onyx_status at_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (!st) st = need_sequence(c, 0);
    if (st) return st;
    const ox_val *seq = in_val(c, 0);
    int64_t pos;
    if (!ox_opt_in(c, 1)) return ox_fail(c, ONYX_E_ARG, "position is required");
    if ((st = position(c, 1, seq->seq.n, false, 0, &pos))) return st;
    return copy_item(c, &seq->seq.items[pos], c->out[0]);
}

static onyx_status length_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (!st) st = need_sequence(c, 0);
    if (!st) st = make_tensor(c, c->out[0], ONYX_DTYPE_INT64, 0, NULL);
    if (st) return st;
    *(int64_t *)c->out[0]->data = in_val(c, 0)->seq.n;
    return ONYX_OK;
}

/* Copies slab [lo, hi) of `axis` from src into a fresh tensor (keepdims or not). */
static onyx_status slab(ox_ctx *c, const onyx_tensor *src, int axis, int64_t lo, int64_t hi, bool keep, onyx_tensor *dst)
{
    int64_t dims[ONYX_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < src->rank; d++) {
        if (d == axis && !keep) continue;
        dims[rank++] = d == axis ? hi - lo : src->dims[d];
    }
    onyx_status st = make_tensor(c, dst, src->dtype, rank, dims);
    if (st) return st;
    size_t es = onyx_dtype_size(src->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= src->dims[d];
    for (int d = axis + 1; d < src->rank; d++) inner *= src->dims[d];
    size_t row = (size_t)inner * es, take = (size_t)(hi - lo) * row;
    for (int64_t o = 0; o < outer; o++)
        ox_copy_bytes((char *)dst->data + (size_t)o * take, (const char *)src->data + ((size_t)o * (size_t)src->dims[axis] + (size_t)lo) * row, take);
    return ONYX_OK;
}

static onyx_status split_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    const onyx_tensor *x = c->in[0], *split = ox_opt_in(c, 1);
    if (!x || x->dtype == ONYX_DTYPE_STRING) return ox_fail(c, ONYX_E_ARG, "input must be a numeric tensor");
    int axis;
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), x->rank, "axis", &axis))) return st;
    int64_t len = x->dims[axis], n;
    bool keep = ox_attr_int(c, "keepdims", 1) != 0;
    ox_val *out = out_val(c, 0);
    if (!split) { /* one item per index along axis */
        if ((st = make_sequence(c, out, x->dtype, len))) return st;
        for (int64_t i = 0; i < len && !st; i++) st = slab(c, x, axis, i, i + 1, keep, &out->seq.items[i]);
        return st;
    }
    int64_t ns = ox_tensor_numel(split);
    if (split->rank == 0 || ns == 1) { /* equal chunks of that size, the last one shorter */
        int64_t size = ox_read_int(split, 0);
        if (size <= 0) return ox_fail(c, ONYX_E_ARG, "split size must be positive");
        n = (len + size - 1) / size;
        if ((st = make_sequence(c, out, x->dtype, n))) return st;
        for (int64_t i = 0; i < n && !st; i++)
            st = slab(c, x, axis, i * size, i * size + size < len ? i * size + size : len, true, &out->seq.items[i]);
        return st;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < ns; i++) {
        int64_t v = ox_read_int(split, i);
        if (v < 0 || v > len - total) return ox_fail(c, ONYX_E_ARG, "split sizes do not add up to the axis length %lld", (long long)len);
        total += v;
    }
    if (total != len) return ox_fail(c, ONYX_E_ARG, "split sizes add up to %lld, axis length is %lld", (long long)total, (long long)len);
    if ((st = make_sequence(c, out, x->dtype, ns))) return st;
    for (int64_t i = 0, at = 0; i < ns && !st; i++) {
        int64_t v = ox_read_int(split, i);
        st = slab(c, x, axis, at, at + v, true, &out->seq.items[i]);
        at += v;
    }
    return st;
}

static onyx_status concat_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (!st) st = need_sequence(c, 0);
    if (st) return st;
    const ox_val *seq = in_val(c, 0);
    if (seq->seq.n == 0) return ox_fail(c, ONYX_E_ARG, "cannot concatenate an empty sequence");
    const onyx_tensor *first = &seq->seq.items[0];
    bool new_axis = ox_attr_int(c, "new_axis", 0) != 0;
    int rank = first->rank + (new_axis ? 1 : 0), axis;
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 0), rank, "axis", &axis))) return st;
    int64_t dims[ONYX_MAX_RANK], along = 0;
    for (int64_t i = 0; i < seq->seq.n; i++) {
        const onyx_tensor *t = &seq->seq.items[i];
        if (t->rank != first->rank || t->dtype != first->dtype) return ox_fail(c, ONYX_E_SHAPE, "sequence items differ in rank or dtype");
        for (int d = 0; d < t->rank; d++)
            if ((new_axis || d != axis) && t->dims[d] != first->dims[d])
                return ox_fail(c, ONYX_E_SHAPE, "sequence items differ in shape outside the axis");
        along += new_axis ? 1 : t->dims[axis];
    }
    if (new_axis && rank > ONYX_MAX_RANK) return ox_fail(c, ONYX_E_UNSUPPORTED, "rank too large");
    for (int d = 0, s = 0; d < rank; d++) { /* s walks the items' dims (no axis among them if new) */
        if (d == axis) {
            dims[d] = along;
            if (!new_axis) s++;
        } else {
            dims[d] = first->dims[s++];
        }
    }
    onyx_tensor *out = c->out[0];
    if ((st = make_tensor(c, out, first->dtype, rank, dims))) return st;
    size_t es = onyx_dtype_size(first->dtype);
    int64_t outer = 1, inner = 1;
    // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): axis < rank and dims[0 .. rank) is set
    for (int d = 0; d < axis; d++) outer *= dims[d];
    for (int d = axis + 1; d < rank; d++) inner *= dims[d];
    size_t out_row = (size_t)along * (size_t)inner * es;
    int64_t at = 0;
    for (int64_t i = 0; i < seq->seq.n; i++) {
        const onyx_tensor *t = &seq->seq.items[i];
        int64_t len = new_axis ? 1 : t->dims[axis];
        size_t chunk = (size_t)len * (size_t)inner * es;
        for (int64_t o = 0; o < outer; o++)
            ox_copy_bytes((char *)out->data + (size_t)o * out_row + (size_t)at * (size_t)inner * es, (const char *)t->data + (size_t)o * chunk, chunk);
        at += len;
    }
    return ONYX_OK;
}

/* ---- optionals ------------------------------------------------------------------------------ */

static onyx_status optional_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    ox_val *out = out_val(c, 0);
    const onyx_tensor *x = ox_opt_in(c, 0);
    if (x) {
        const ox_val *v = in_val(c, 0);
        if (v->kind == OX_KIND_OPTIONAL) return ox_fail(c, ONYX_E_ARG, "input is already an optional");
        if (ox_val_copy(c->strings, v, out)) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
        out->elem_kind = v->kind;
        out->kind = OX_KIND_OPTIONAL;
        out->none = false;
        if (v->kind != OX_KIND_TENSOR) set_known(out);
        return ONYX_OK;
    }
    const ox_attr *type = ox_node_attr(c->node, "type");
    memset(out, 0, sizeof *out);
    out->kind = OX_KIND_OPTIONAL;
    out->none = true;
    if (type && type->type == OX_ATTR_TYPE_PROTO) {
        out->elem_kind = type->tp->kind == OX_KIND_SEQUENCE ? OX_KIND_SEQUENCE : OX_KIND_TENSOR;
        out->t.dtype = type->tp->dtype;
        out->seq.dtype = type->tp->dtype;
    }
    set_known(out);
    return ONYX_OK;
}

static onyx_status has_element_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (!st) st = make_tensor(c, c->out[0], ONYX_DTYPE_BOOL, 0, NULL);
    if (st) return st;
    const onyx_tensor *x = ox_opt_in(c, 0);
    *(uint8_t *)c->out[0]->data = x && !(in_val(c, 0)->kind == OX_KIND_OPTIONAL && in_val(c, 0)->none);
    return ONYX_OK;
}

static onyx_status get_element_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    if (!ox_opt_in(c, 0)) return ox_fail(c, ONYX_E_ARG, "input is required");
    const ox_val *v = in_val(c, 0);
    if (v->kind == OX_KIND_OPTIONAL && v->none) return ox_fail(c, ONYX_E_ARG, "the optional input is empty");
    ox_val *out = out_val(c, 0);
    if (ox_val_copy(c->strings, v, out)) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
    out->kind = v->kind == OX_KIND_OPTIONAL ? v->elem_kind : v->kind;
    out->none = false;
    if (holds_sequence(v)) set_known(out);
    return ONYX_OK;
}

#define SEQ_OP(name, since, infer) {name, "", since, 28, infer, no_run, OX_OP_CONTAINERS}
const ox_op ox_ops_sequence[] = {
    SEQ_OP("SequenceEmpty", 11, empty_infer),
    SEQ_OP("SequenceConstruct", 11, construct_infer),
    SEQ_OP("SequenceInsert", 11, insert_infer),
    SEQ_OP("SequenceErase", 11, erase_infer),
    SEQ_OP("SequenceAt", 11, at_infer),
    SEQ_OP("SequenceLength", 11, length_infer),
    SEQ_OP("SplitToSequence", 11, split_infer),
    SEQ_OP("ConcatFromSequence", 11, concat_infer),
    SEQ_OP("Optional", 15, optional_infer),
    SEQ_OP("OptionalHasElement", 15, has_element_infer),
    SEQ_OP("OptionalGetElement", 15, get_element_infer),
};
const size_t ox_ops_sequence_count = sizeof ox_ops_sequence / sizeof ox_ops_sequence[0];
