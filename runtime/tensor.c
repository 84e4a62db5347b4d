/* tensor.c — what the public tensor and value API needs whatever the file format: allocating
 * and freeing onyx_tensor / onyx_value data through the load options' allocator, and reading
 * a whole file. Shared by the ONNX, .pb and .npy readers; needs no protobuf-c, so it is in
 * builds with ONNX=0 too. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

ox_allocator ox_opts_allocator(const onyx_load_options *o)
{
    return ox_allocator_make(o ? o->alloc : NULL, o ? o->alloc_user : NULL);
}

int64_t ox_opts_max_tensor(const onyx_load_options *o)
{
    return o && o->max_tensor_bytes > 0 ? o->max_tensor_bytes : (int64_t)4 << 30;
}

onyx_status onyx_tensor_alloc(onyx_tensor *t, const onyx_load_options *o, onyx_error *err)
{
    size_t bytes;
    if (t->rank < 0 || t->rank > ONYX_MAX_RANK || !ox_shape_bytes(t->dtype, t->rank, t->dims, &bytes)) {
        ox_error_set(err, ONYX_E_ARG, "invalid tensor dtype or shape");
        return ONYX_E_ARG;
    }
    if ((uint64_t)bytes > (uint64_t)ox_opts_max_tensor(o)) {
        ox_error_set(err, ONYX_E_LIMIT, "tensor exceeds the size limit");
        return ONYX_E_LIMIT;
    }
    ox_allocator a = ox_opts_allocator(o);
    t->data = ox_malloc_aligned(&a, bytes ? bytes : 1);
    if (!t->data) {
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    memset(t->data, 0, bytes ? bytes : 1);
    return ONYX_OK;
}

void onyx_tensor_free(onyx_tensor *t, const onyx_load_options *o)
{
    if (!t || !t->data) return;
    ox_allocator a = ox_opts_allocator(o);
    ox_free_aligned(&a, t->data);
    t->data = NULL;
}

void onyx_value_free(onyx_value *v, const onyx_load_options *o)
{
    if (!v) return;
    ox_allocator a = ox_opts_allocator(o);
    onyx_tensor_free(&v->tensor, o);
    for (size_t i = 0; i < v->n_items; i++) onyx_tensor_free(&v->items[i], o);
    ox_free(&a, v->items, (v->n_items ? v->n_items : 1) * sizeof *v->items);
    memset(v, 0, sizeof *v);
}

#ifndef ONYX_CORE /* the core library (make core) has no files */
onyx_status ox_read_file(const char *path, const ox_allocator *a, int64_t max_bytes, uint8_t **buf,
                         size_t *len, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ox_errf(err, errcap, ONYX_E_IO, "cannot open '%s'", path);
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return ox_errf(err, errcap, ONYX_E_IO, "cannot read '%s'", path);
    }
    if (max_bytes > 0 && (int64_t)size > max_bytes) {
        fclose(f);
        return ox_errf(err, errcap, ONYX_E_LIMIT, "'%s' is %ld bytes, over the limit of %lld",
                       path, size, (long long)max_bytes);
    }
    uint8_t *b = ox_malloc(a, (size_t)size + 1);
    if (!b) {
        fclose(f);
        return ox_errf(err, errcap, ONYX_E_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(b, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        ox_free(a, b, (size_t)size + 1);
        return ox_errf(err, errcap, ONYX_E_IO, "short read on '%s'", path);
    }
    b[size] = 0;
    *buf = b;
    *len = (size_t)size;
    return ONYX_OK;
}
#endif
