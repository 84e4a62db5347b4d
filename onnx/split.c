/* split.c — the main graph's initializers found in the encoded model without decoding them.
 *
 * Decoding a whole ModelProto with protobuf-c copies every raw_data blob, so a 440 MB model
 * briefly needs the file plus that copy plus onyx's own constants. Instead the loader decodes
 * a skeleton (the model minus the main graph's initializer fields, a few hundred KB) and then
 * each initializer on its own, with raw_data pointing into the encoded bytes rather than
 * copied. Peak memory is then the constants plus one page of the file at a time (the file
 * loader drops pages it has converted).
 *
 * Only the wire format is read here: tags, lengths and the two field numbers ModelProto.graph
 * (7), GraphProto.initializer (5) and TensorProto.raw_data (9). Anything unusual (a repeated
 * graph field, which protobuf merges; malformed wire data) makes ox_onnx_split decline, and
 * the caller decodes the file whole, so protobuf-c still judges every file. */
#include <string.h>

#include "onnx_io.h"

enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9, WIRE_LEN = 2 };

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return false;
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        if (out) out[n] = (uint8_t)(b | (v ? 0x80 : 0));
        n++;
    } while (v);
    return n;
}

/* One field: its number, wire type, the whole encoding [start, end) and, for
 * length-delimited fields, the payload [body, end). */
typedef struct field {
    uint32_t number, wire;
    const uint8_t *start, *body, *end;
} field;

static bool next_field(const uint8_t **p, const uint8_t *end, field *f)
{
    uint64_t key, v;
    f->start = *p;
    if (!read_varint(p, end, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX) return false;
    f->number = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    f->body = *p;
    switch (f->wire) {
    case 0:
        if (!read_varint(p, end, &v)) return false;
        break;
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if ((size_t)(end - *p) < n) return false;
        *p += n;
        break;
    }
    case WIRE_LEN:
        if (!read_varint(p, end, &v) || v > (uint64_t)(end - *p)) return false;
        f->body = *p;
        *p += v;
        break;
    default:
        return false; /* groups: ONNX has none */
    }
    f->end = *p;
    return true;
}

/* Copies (or, with out NULL, measures) the fields of message [p, end) except those numbered
 * `drop`; *len gets the size. With slices set, each dropped field's payload is recorded. */
static bool copy_without(const uint8_t *p, const uint8_t *end, uint32_t drop, uint8_t *out, size_t *len,
                         ox_slice *slices, size_t *n_slices)
{
    size_t n = 0, k = 0;
    field f;
    while (p < end) {
        if (!next_field(&p, end, &f)) return false;
        if (f.number == drop && f.wire == WIRE_LEN) {
            if (slices) slices[k] = (ox_slice){f.body, (size_t)(f.end - f.body)};
            k++;
            continue;
        }
        if (out) memcpy(out + n, f.start, (size_t)(f.end - f.start));
        n += (size_t)(f.end - f.start);
    }
    *len = n;
    if (n_slices) *n_slices = k;
    return true;
}

onyx_status ox_onnx_split(const void *buf, size_t len, const ox_allocator *a, ox_model_split *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *p = buf, *end = p + len;
    const uint8_t *graph_field = NULL, *graph = NULL, *graph_end = NULL;
    size_t outside = 0; /* bytes of the model's other fields */
    field f;
    while (p < end) {
        if (!next_field(&p, end, &f)) return ONYX_E_UNSUPPORTED;
        if (f.number == MODEL_GRAPH && f.wire == WIRE_LEN) {
            if (graph) return ONYX_E_UNSUPPORTED; /* a repeated message field merges: protobuf-c's job */
            graph_field = f.start;
            graph = f.body;
            graph_end = f.end;
        } else {
            outside += (size_t)(f.end - f.start);
        }
    }
    size_t graph_len, n_inits;
    if (!graph || !copy_without(graph, graph_end, GRAPH_INITIALIZER, NULL, &graph_len, NULL, &n_inits))
        return ONYX_E_UNSUPPORTED;
    size_t head = put_varint(NULL, (uint64_t)MODEL_GRAPH << 3 | WIRE_LEN) + put_varint(NULL, graph_len);
    out->skeleton_len = outside + head + graph_len;
    out->n_inits = n_inits;
    out->skeleton = ox_malloc(a, out->skeleton_len ? out->skeleton_len : 1);
    out->inits = ox_malloc(a, (n_inits ? n_inits : 1) * sizeof *out->inits);
    if (!out->skeleton || !out->inits) {
        ox_onnx_split_free(out, a);
        return ONYX_E_NOMEM;
    }
    /* the other fields first, then the graph: field order does not matter to a decoder */
    uint8_t *w = out->skeleton;
    for (p = buf; p < end;) {
        next_field(&p, end, &f); /* cannot fail: the same bytes parsed above */
        if (f.start == graph_field) continue;
        memcpy(w, f.start, (size_t)(f.end - f.start));
        w += f.end - f.start;
    }
    w += put_varint(w, (uint64_t)MODEL_GRAPH << 3 | WIRE_LEN);
    w += put_varint(w, graph_len);
    size_t check;
    copy_without(graph, graph_end, GRAPH_INITIALIZER, w, &check, out->inits, &out->n_inits);
    return ONYX_OK;
}

void ox_onnx_split_free(ox_model_split *s, const ox_allocator *a)
{
    if (s->skeleton) ox_free(a, s->skeleton, s->skeleton_len ? s->skeleton_len : 1);
    if (s->inits) ox_free(a, s->inits, (s->n_inits ? s->n_inits : 1) * sizeof *s->inits);
    memset(s, 0, sizeof *s);
}

Onnx__TensorProto *ox_tensor_proto_unpack_aliased(ox_slice s, ox_pb_alloc *pb)
{
    const uint8_t *p = s.p, *end = s.p + s.len;
    size_t len;
    field f;
    /* of repeated raw_data fields protobuf keeps the last */
    const uint8_t *last_raw = NULL;
    size_t last_len = 0, n_raw = 0;
    while (p < end) {
        if (!next_field(&p, end, &f)) return NULL;
        if (f.number == TENSOR_RAW_DATA && f.wire == WIRE_LEN) {
            last_raw = f.body;
            last_len = (size_t)(f.end - f.body);
            n_raw++;
        }
    }
    if (!copy_without(s.p, end, TENSOR_RAW_DATA, NULL, &len, NULL, NULL)) return NULL;
    uint8_t *rest = pb->pa.alloc(pb->pa.allocator_data, len ? len : 1);
    if (!rest) return NULL;
    copy_without(s.p, end, TENSOR_RAW_DATA, rest, &len, NULL, NULL);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pb->pa, len, rest);
    pb->pa.free(pb->pa.allocator_data, rest);
    if (tp && n_raw) {
        tp->has_raw_data = 1;
        tp->raw_data.data = (uint8_t *)(uintptr_t)last_raw; /* read only; never freed: see below */
        tp->raw_data.len = last_len;
    }
    return tp;
}

void ox_tensor_proto_free_aliased(Onnx__TensorProto *tp, ox_pb_alloc *pb)
{
    if (!tp) return;
    /* the aliased raw_data belongs to the encoded model, not to protobuf-c */
    tp->raw_data.data = NULL;
    tp->raw_data.len = 0;
    onnx__tensor_proto__free_unpacked(tp, &pb->pa);
}
