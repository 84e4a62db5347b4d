/* nesting.c — how deeply an ONNX file nests its messages, measured before decoding.
 *
 * protobuf-c decodes nested messages recursively, so a hostile file nesting subgraphs (or
 * sequence types) tens of thousands deep would exhaust the stack inside the decoder, before
 * onyx's own depth limit could look at the IR. This walker reads only the wire format,
 * follows just the fields through which ONNX messages recurse, and stops as soon as the
 * nesting passes the limit, so its own recursion is bounded too. */
#include "onnx_io.h"

typedef enum msg {
    M_OTHER, M_MODEL, M_GRAPH, M_FUNCTION, M_TRAINING, M_NODE, M_ATTR, M_VALUE_INFO, M_TYPE, M_TYPE_WRAP, M_TYPE_MAP
} msg;

/* The message a field of `m` holds, for the fields that can lead to recursion. */
static msg child(msg m, uint32_t field)
{
    switch (m) {
    case M_MODEL: return field == 7 ? M_GRAPH : field == 25 ? M_FUNCTION : field == 20 ? M_TRAINING : M_OTHER;
    case M_TRAINING: return field == 1 || field == 2 ? M_GRAPH : M_OTHER;
    case M_GRAPH: return field == 1 ? M_NODE : field >= 11 && field <= 13 ? M_VALUE_INFO : M_OTHER;
    case M_FUNCTION: return field == 7 ? M_NODE : field == 12 ? M_VALUE_INFO : field == 11 ? M_ATTR : M_OTHER;
    case M_NODE: return field == 5 ? M_ATTR : M_OTHER;
    case M_ATTR: return field == 6 || field == 11 ? M_GRAPH : field == 14 || field == 15 ? M_TYPE : M_OTHER;
    case M_VALUE_INFO: return field == 2 ? M_TYPE : M_OTHER;
    case M_TYPE: return field == 4 || field == 9 ? M_TYPE_WRAP : field == 5 ? M_TYPE_MAP : M_OTHER;
    case M_TYPE_WRAP: return field == 1 ? M_TYPE : M_OTHER;   /* Sequence / Optional elem_type */
    case M_TYPE_MAP: return field == 2 ? M_TYPE : M_OTHER;    /* Map value_type */
    default: return M_OTHER;
    }
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
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

/* Deepest nesting below (and including) this message; limit + 1 means "too deep", -1 means
 * malformed (the decoder will report it). */
static int depth_of(const uint8_t *p, const uint8_t *end, msg m, int depth, int limit)
{
    if (depth > limit) return depth;
    int deepest = depth;
    while (p < end) {
        uint64_t key, len;
        if (!varint(&p, end, &key)) return -1;
        switch (key & 7) {
        case 0:
            if (!varint(&p, end, &len)) return -1;
            break;
        case 1:
            if (end - p < 8) return -1;
            p += 8;
            break;
        case 5:
            if (end - p < 4) return -1;
            p += 4;
            break;
        case 2: {
            if (!varint(&p, end, &len) || len > (uint64_t)(end - p)) return -1;
            msg c = child(m, (uint32_t)(key >> 3));
            if (c != M_OTHER) {
                int d = depth_of(p, p + len, c, depth + 1, limit);
                if (d < 0 || d > limit) return d;
                if (d > deepest) deepest = d;
            }
            p += len;
            break;
        }
        default:
            return -1; /* groups are not used by ONNX */
        }
    }
    return deepest;
}

int ox_onnx_nesting(const void *buf, size_t len, int limit)
{
    const uint8_t *p = buf;
    return depth_of(p, p + len, M_MODEL, 0, limit);
}
