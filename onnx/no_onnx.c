/* no_onnx.c — the protobuf-based entry points for builds with ONNX=0, which leave out
 * protobuf-c and the files that use it (load.c, nesting.c, tensor_proto.c, value_pb.c,
 * write.c). Loading still takes packed models (`onyx pack`, runtime/packed_load.c), as
 * load.c does; everything else fails with ONYX_E_UNSUPPORTED and says why, so a program
 * linked against such a library learns what is missing instead of failing to link. The
 * Makefile compiles this file only when ONNX=0. */
#include <string.h>

#include "internal.h"
#include "model.h"
#include "packed.h"

static onyx_status no_onnx(onyx_error *err, const char *what, const char *path)
{
    char msg[512];
    ox_errf(msg, sizeof msg, ONYX_E_UNSUPPORTED,
            "%s%s%s%s: this onyx was built with ONNX=0, without protobuf-c and the ONNX reader and writer",
            path ? "'" : "", path ? path : "", path ? "': " : "", what);
    ox_error_set(err, ONYX_E_UNSUPPORTED, msg);
    return ONYX_E_UNSUPPORTED;
}

onyx_status onyx_model_load_file(const char *path, const onyx_load_options *o, onyx_model **out, onyx_error *err)
{
    if (!path || !out) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    *out = NULL;
    onyx_load_options r;
    ox_load_options_resolve(o, &r);
    ox_allocator a = ox_opts_allocator(o);
    uint8_t *buf = NULL;
    size_t len = 0;
    char msg[512];
    onyx_status st = ox_read_file(path, &a, r.max_total_bytes, &buf, &len, msg, sizeof msg);
    if (st) {
        ox_error_set(err, st, msg);
        return st;
    }
    st = ox_is_packed(buf, len) ? ox_packed_load_copy(buf, len, o, out, err) : no_onnx(err, "loading an ONNX model", path);
    ox_free(&a, buf, len + 1);
    return st;
}

onyx_status onyx_model_load_memory(const void *buf, size_t len, const onyx_load_options *o, onyx_model **out,
                                   onyx_error *err)
{
    if (!out || (!buf && len)) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    *out = NULL;
    if (ox_is_packed(buf, len)) return ox_packed_load_copy(buf, len, o, out, err);
    return no_onnx(err, "loading an ONNX model", NULL);
}

onyx_status onyx_model_save_file(const onyx_model *m, const char *path, onyx_error *err)
{
    (void)m;
    return no_onnx(err, "writing an ONNX model", path);
}

onyx_status onyx_tensor_read_pb(const char *path, const onyx_load_options *o, onyx_tensor *out,
                                const char **name_out, onyx_error *err)
{
    (void)o, (void)out;
    if (name_out) *name_out = NULL;
    return no_onnx(err, "reading a .pb tensor", path);
}

onyx_status onyx_tensor_write_pb(const char *path, const onyx_tensor *t, const char *name, onyx_error *err)
{
    (void)t, (void)name;
    return no_onnx(err, "writing a .pb tensor", path);
}

onyx_status onyx_value_read_pb(const char *path, const onyx_load_options *o, onyx_value_kind kind, onyx_value *out,
                               onyx_error *err)
{
    (void)o, (void)kind;
    if (out) memset(out, 0, sizeof *out);
    return no_onnx(err, "reading a .pb value", path);
}
