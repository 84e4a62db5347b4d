/* onnx_io.h — conversions between ONNX protobuf messages and onyx's IR (internal). */
#ifndef ONYX_ONNX_IO_H
#define ONYX_ONNX_IO_H

#include <protobuf-c/protobuf-c.h>

#include "onnx.pb-c.h"
#include "../runtime/ir.h"

/* Limits and context for turning TensorProtos into constants. */
typedef struct ox_tensor_src {
    const char *base_dir;     /* folder for external data; NULL: external data refused */
    int64_t max_tensor_bytes;
    char *err;
    size_t errcap;
} ox_tensor_src;

/* A protobuf-c allocator on top of an ox_allocator (which needs sizes on free). protobuf-c
 * reports a failed allocation like malformed input (NULL), so `failed` tells them apart. */
typedef struct ox_pb_alloc {
    ProtobufCAllocator pa;
    const ox_allocator *a;
    bool failed;
} ox_pb_alloc;
void ox_pb_alloc_init(ox_pb_alloc *pb, const ox_allocator *a);

/* TensorProto -> constant in pool (data aligned, sub-byte types unpacked, external data read).
 * Fails with ONYX_E_PARSE on inconsistent data, ONYX_E_LIMIT beyond limits. */
onyx_status ox_tensor_from_proto(const Onnx__TensorProto *tp, const ox_tensor_src *src,
                                 ox_pool *pool, ox_const **out);
/* SparseTensorProto -> dense constant. */
onyx_status ox_sparse_from_proto(const Onnx__SparseTensorProto *sp, const ox_tensor_src *src,
                                 ox_pool *pool, ox_const **out);
/* onyx tensor -> TensorProto (name unset): raw_data points at t's data, except for sub-byte
 * types, packed back into pool (as are dims and the string list). ONYX_E_ARG for an invalid
 * tensor, ONYX_E_NOMEM. */
onyx_status ox_tensor_to_proto(const onyx_tensor *t, ox_pool *pool, Onnx__TensorProto *tp);
/* Writes graph g (m's main graph, or an optimised copy of it) with m's metadata and opsets
 * as an ONNX model file. */
onyx_status ox_model_write_file(const onyx_model *m, const ox_graph *g, const char *path, char *err, size_t errcap);
/* Deepest message nesting of a serialized ModelProto along the fields through which ONNX
 * messages recurse (graphs in attributes, nested type protos); a value above limit means
 * "deeper than limit", -1 malformed wire data. Run before decoding: the decoder recurses. */
int ox_onnx_nesting(const void *buf, size_t len, int limit);
/* A stretch of the encoded model. */
typedef struct ox_slice {
    const uint8_t *p;
    size_t len;
} ox_slice;

/* A ModelProto split for streaming (split.c): the model without the main graph's
 * initializers, and where each of those initializers is encoded, in file order. */
typedef struct ox_model_split {
    uint8_t *skeleton;
    size_t skeleton_len;
    ox_slice *inits;
    size_t n_inits;
} ox_model_split;
/* ONYX_OK, ONYX_E_NOMEM, or ONYX_E_UNSUPPORTED when the wire data is malformed or unusual
 * enough that the model should be decoded whole; nothing stays allocated unless ONYX_OK. */
onyx_status ox_onnx_split(const void *buf, size_t len, const ox_allocator *a, ox_model_split *out);
void ox_onnx_split_free(ox_model_split *s, const ox_allocator *a);
/* Decodes one encoded TensorProto with raw_data pointing into s instead of copied; NULL when
 * malformed or out of memory (pb->failed). Free with ox_tensor_proto_free_aliased. */
Onnx__TensorProto *ox_tensor_proto_unpack_aliased(ox_slice s, ox_pb_alloc *pb);
void ox_tensor_proto_free_aliased(Onnx__TensorProto *tp, ox_pb_alloc *pb);

/* A file's bytes, mapped read-only where possible (file_map.c), else read. */
typedef struct ox_file_bytes {
    uint8_t *data;
    size_t len;
    bool mapped;
} ox_file_bytes;
onyx_status ox_file_bytes_open(const char *path, const ox_allocator *a, int64_t max_bytes, ox_file_bytes *out,
                               char *err, size_t errcap);
/* The caller is done with s (inside f): mapped pages wholly inside it may be given back. */
void ox_file_bytes_done(const ox_file_bytes *f, ox_slice s);
void ox_file_bytes_close(ox_file_bytes *f, const ox_allocator *a);

/* Reads and decodes a protobuf file; NULL with *st and msg set on failure. pb->a must be set;
 * free the message with protobuf_c_message_free_unpacked(m, &pb->pa). */
ProtobufCMessage *ox_unpack_file(const char *path, const ProtobufCMessageDescriptor *desc, const onyx_load_options *o,
                                 ox_pb_alloc *pb, onyx_status *st, char *msg, size_t cap);
/* A TensorProto as one block the caller frees with onyx_tensor_free (external data relative
 * to path's folder). */
onyx_status ox_tensor_block_from_proto(const Onnx__TensorProto *tp, const char *path, const onyx_load_options *o,
                                       onyx_tensor *out, const char **name_out, char *msg, size_t cap);

#endif
