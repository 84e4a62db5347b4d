/* value_pb.c — .pb files holding any graph value: TensorProto, SequenceProto or OptionalProto
 * (the layout of the ONNX backend tests' input_N.pb / output_N.pb files). */
#include <stdio.h>
#include <string.h>

#include "onnx_io.h"

/* SequenceProto/OptionalProto elem_type values (their own enum, not a tensor dtype). */
enum { PB_UNDEFINED = 0, PB_TENSOR = 1, PB_SEQUENCE = 3 };

static onyx_status read_sequence(const Onnx__SequenceProto *sp, const char *path, const onyx_load_options *o,
                                 onyx_value *out, char *msg, size_t cap)
{
    ox_allocator a = ox_opts_allocator(o);
    if (sp->n_sparse_tensor_values || sp->n_sequence_values || sp->n_map_values || sp->n_optional_values) {
        snprintf(msg, cap, "'%s': sequences of anything but tensors are not supported", path);
        return ONYX_E_UNSUPPORTED;
    }
    out->items = ox_calloc(&a, sp->n_tensor_values ? sp->n_tensor_values : 1, sizeof *out->items);
    if (!out->items) {
        snprintf(msg, cap, "out of memory reading '%s'", path);
        return ONYX_E_NOMEM;
    }
    for (size_t i = 0; i < sp->n_tensor_values; i++) {
        onyx_status st = ox_tensor_block_from_proto(sp->tensor_values[i], path, o, &out->items[i], NULL, msg, cap);
        if (st) return st;
        out->n_items++;
        if (i && out->items[i].dtype != out->items[0].dtype) {
            snprintf(msg, cap, "'%s': sequence items have different dtypes", path);
            return ONYX_E_PARSE;
        }
    }
    out->seq_dtype = sp->n_tensor_values ? out->items[0].dtype : ONYX_DTYPE_UNDEFINED;
    return ONYX_OK;
}

onyx_status onyx_value_read_pb(const char *path, const onyx_load_options *o, onyx_value_kind kind, onyx_value *out,
                               onyx_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (kind == ONYX_VALUE_TENSOR) return onyx_tensor_read_pb(path, o, &out->tensor, NULL, err);
    if (kind != ONYX_VALUE_SEQUENCE && kind != ONYX_VALUE_OPTIONAL) {
        ox_error_set(err, ONYX_E_UNSUPPORTED, "only tensors, sequences and optionals can be read");
        return ONYX_E_UNSUPPORTED;
    }
    char msg[512] = "";
    ox_allocator a = ox_opts_allocator(o);
    ox_pb_alloc pb;
    pb.a = &a;
    onyx_status st;
    const ProtobufCMessageDescriptor *desc =
        kind == ONYX_VALUE_SEQUENCE ? &onnx__sequence_proto__descriptor : &onnx__optional_proto__descriptor;
    ProtobufCMessage *m = ox_unpack_file(path, desc, o, &pb, &st, msg, sizeof msg);
    if (m && kind == ONYX_VALUE_SEQUENCE) {
        st = read_sequence((const Onnx__SequenceProto *)m, path, o, out, msg, sizeof msg);
    } else if (m) {
        const Onnx__OptionalProto *op = (const Onnx__OptionalProto *)m;
        out->has_value = op->elem_type != PB_UNDEFINED;
        if (op->elem_type == PB_TENSOR && op->tensor_value) {
            out->elem_kind = ONYX_VALUE_TENSOR;
            st = ox_tensor_block_from_proto(op->tensor_value, path, o, &out->tensor, NULL, msg, sizeof msg);
        } else if (op->elem_type == PB_SEQUENCE && op->sequence_value) {
            out->elem_kind = ONYX_VALUE_SEQUENCE;
            st = read_sequence(op->sequence_value, path, o, out, msg, sizeof msg);
        } else if (out->has_value) {
            st = ONYX_E_UNSUPPORTED;
            snprintf(msg, sizeof msg, "'%s': optionals of anything but tensors or sequences are not supported", path);
        }
    }
    if (m) protobuf_c_message_free_unpacked(m, &pb.pa);
    if (st) {
        onyx_value_free(out, o);
        ox_error_set(err, st, msg);
    }
    return st;
}
