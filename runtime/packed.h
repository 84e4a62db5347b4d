/* packed.h — the packed model format (docs/PACKED_FORMAT.md): constants shared by the writer
 * (packed_write.c) and the loader (packed_load.c). Every number is little-endian. */
#ifndef ONYX_PACKED_H
#define ONYX_PACKED_H

#include "internal.h"

#define OX_PACKED_MAGIC "\x89ONYX\r\n\x1a" /* 8 bytes: non-ASCII first byte, CR LF and ^Z catch text-mode transfers */
#define OX_PACKED_MAGIC_LEN 8
#define OX_PACKED_VERSION 1
#define OX_PACKED_HEADER_BYTES 96
#define OX_PACKED_TENSOR_BYTES 88 /* one entry of the tensor table */
#define OX_PACKED_DATA_ALIGN 64   /* every tensor's data starts at a multiple of this */
#define OX_PACKED_NO_NAME 0xFFFFFFFFu /* string length meaning "absent" (a dim without a name) */

/* Header field offsets. */
enum {
    OX_PK_VERSION = 8,
    OX_PK_HEADER_BYTES = 12,
    OX_PK_FILE_BYTES = 16,
    OX_PK_GRAPH_OFFSET = 24,
    OX_PK_GRAPH_BYTES = 32,
    OX_PK_TABLE_OFFSET = 40,
    OX_PK_TENSOR_COUNT = 48,
    OX_PK_DATA_OFFSET = 56,
    OX_PK_DATA_BYTES = 64,
    OX_PK_ARENA_BYTES = 72,
    OX_PK_RESERVED = 80 /* two u64, zero in version 1 */
};

static inline bool ox_is_packed(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (!buf || len < OX_PACKED_MAGIC_LEN) return false;
    for (int i = 0; i < OX_PACKED_MAGIC_LEN; i++)
        if (p[i] != (unsigned char)OX_PACKED_MAGIC[i]) return false;
    return true;
}

/* Loads a packed model from a copy the model owns: `owned` (from ox_malloc_aligned with the
 * options' allocator, `size` bytes) is freed with the model, or here on failure. Used by
 * onyx_model_load_file and onyx_model_load_memory when they see the magic. */
onyx_status ox_packed_load_owned(void *owned, size_t size, const onyx_load_options *o, onyx_model **out,
                                 onyx_error *err);
/* The same from bytes the caller may free: the model keeps an aligned copy, so its weights
 * are used in place. */
onyx_status ox_packed_load_copy(const void *buf, size_t len, const onyx_load_options *o, onyx_model **out,
                                onyx_error *err);

#endif
