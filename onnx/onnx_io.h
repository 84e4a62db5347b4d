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
/* Reads a whole file into an allocator block of *len bytes (+1 NUL). */
onyx_status ox_read_file(const char *path, const ox_allocator *a, int64_t max_bytes, uint8_t **buf,
                         size_t *len, char *err, size_t errcap);

#endif
