/* tensor_proto.c — ONNX TensorProto <-> onyx tensors: every storage form (raw_data, typed
 * fields, external data), sub-byte unpacking, sparse densifying, and the .pb file API. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_io.h"

/* ---- protobuf-c allocator -------------------------------------------------------------- */

/* protobuf-c frees without a size; ox allocators want one, so blocks carry it in front. */
typedef union size_prefix {
    size_t size;
    max_align_t align;
} size_prefix;

static void *pb_alloc(void *data, size_t size)
{
    ox_pb_alloc *pb = data;
    size_prefix *p = size > SIZE_MAX - sizeof(size_prefix) ? NULL : ox_malloc(pb->a, size + sizeof *p);
    if (!p) {
        pb->failed = true;
        return NULL;
    }
    p->size = size + sizeof *p;
    return p + 1;
}

static void pb_free(void *data, void *ptr)
{
    if (!ptr) return;
    size_prefix *p = (size_prefix *)ptr - 1;
    ox_free(((ox_pb_alloc *)data)->a, p, p->size);
}

void ox_pb_alloc_init(ox_pb_alloc *pb, const ox_allocator *a)
{
    pb->pa.alloc = pb_alloc;
    pb->pa.free = pb_free;
    pb->pa.allocator_data = pb;
    pb->a = a;
    pb->failed = false;
}

/* ---- TensorProto -> constant ----------------------------------------------------------- */

static int sub_byte_bits(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT4: case ONYX_DTYPE_UINT4: case ONYX_DTYPE_FLOAT4E2M1: return 4;
    case ONYX_DTYPE_INT2: case ONYX_DTYPE_UINT2: return 2;
    default: return 8;
    }
}

/* Bytes the packed (file) form of n elements takes. */
static uint64_t packed_bytes(onyx_dtype t, int64_t n)
{
    int bits = sub_byte_bits(t);
    if (bits < 8) return ((uint64_t)n * (uint64_t)bits + 7) / 8;
    return (uint64_t)n * onyx_dtype_size(t);
}

/* Packed sub-byte elements (low bits first) -> one element per byte, sign-extended if signed. */
static void unpack_sub_byte(onyx_dtype t, const uint8_t *src, uint8_t *dst, int64_t n)
{
    int bits = sub_byte_bits(t), per = 8 / bits;
    unsigned mask = (1u << bits) - 1, sign = 1u << (bits - 1);
    bool is_signed = t == ONYX_DTYPE_INT4 || t == ONYX_DTYPE_INT2;
    for (int64_t i = 0; i < n; i++) {
        unsigned v = (src[i / per] >> ((i % per) * bits)) & mask;
        dst[i] = is_signed ? (uint8_t)(int8_t)((int)(v ^ sign) - (int)sign) : (uint8_t)v;
    }
}

static const char *entry(const Onnx__TensorProto *tp, const char *key)
{
    for (size_t i = 0; i < tp->n_external_data; i++)
        if (tp->external_data[i]->key && !strcmp(tp->external_data[i]->key, key))
            return tp->external_data[i]->value;
    return NULL;
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < 0) return false;
    *out = v;
    return true;
}

/* Reads `len` bytes at `offset` of the external file named by the tensor, refusing any path
 * that leaves the model's folder (absolute, "..", or a symlink pointing out). */
/* Opens the external file named by the tensor, positioned at its data, after checking that
 * `want` bytes are there — before anything is allocated for them. Refuses any path that
 * leaves the model's folder (absolute, "..", or a symlink pointing out). */
static onyx_status open_external(const Onnx__TensorProto *tp, const ox_tensor_src *src, uint64_t want, FILE **out)
{
    const char *name = tp->name ? tp->name : "";
    const char *loc = entry(tp, "location");
    if (!src->base_dir)
        return ox_errf(src->err, src->errcap, ONYX_E_ARG,
                       "tensor '%s' uses external data, which needs a model loaded from a file", name);
    if (!loc || !*loc)
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "tensor '%s': external data without location", name);
    int64_t offset = 0, length = -1;
    const char *s_off = entry(tp, "offset"), *s_len = entry(tp, "length");
    if ((s_off && !parse_i64(s_off, &offset)) || (s_len && !parse_i64(s_len, &length)))
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "tensor '%s': bad external data offset/length", name);
    if (length >= 0 && (uint64_t)length != want)
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE,
                       "tensor '%s': external length %lld, shape needs %llu bytes", name,
                       (long long)length, (unsigned long long)want);
    if (loc[0] == '/' || strstr(loc, "..") || strchr(loc, '\\'))
        return ox_errf(src->err, src->errcap, ONYX_E_ARG,
                       "tensor '%s': external data path '%s' leaves the model's folder", name, loc);
    char path[PATH_MAX], real_path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", src->base_dir, loc) >= (int)sizeof path)
        return ox_errf(src->err, src->errcap, ONYX_E_ARG, "tensor '%s': external path too long", name);
#ifdef __wasi__
    /* wasi-libc has no realpath. What a WASI program opens is bounded by the folders its host
     * preopened; inside them, only the checks on loc above apply (symlinks are followed). */
    memcpy(real_path, path, sizeof path);
#else
    char real_base[PATH_MAX];
    if (!realpath(src->base_dir, real_base) || !realpath(path, real_path))
        return ox_errf(src->err, src->errcap, ONYX_E_IO, "tensor '%s': cannot open external data '%s'", name, path);
    size_t bl = strlen(real_base);
    if (strncmp(real_path, real_base, bl) || real_path[bl] != '/')
        return ox_errf(src->err, src->errcap, ONYX_E_ARG,
                       "tensor '%s': external data '%s' resolves outside the model's folder", name, loc);
#endif
    FILE *f = fopen(real_path, "rb");
    if (!f) return ox_errf(src->err, src->errcap, ONYX_E_IO, "tensor '%s': cannot open '%s'", name, path);
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    onyx_status st = ONYX_OK;
    if (size < 0 || (uint64_t)offset > (uint64_t)size || want > (uint64_t)size - (uint64_t)offset)
        st = ox_errf(src->err, src->errcap, ONYX_E_PARSE,
                     "tensor '%s': external data [%lld, +%llu) is past the end of '%s' (%ld bytes)",
                     name, (long long)offset, (unsigned long long)want, loc, size);
    else if (fseek(f, (long)offset, SEEK_SET) != 0)
        st = ox_errf(src->err, src->errcap, ONYX_E_IO, "tensor '%s': cannot read '%s'", name, path);
    if (st) fclose(f);
    else *out = f;
    return st;
}

/* How many typed-field values the tensor holds (have) and its shape needs (need). */
static void field_counts(const Onnx__TensorProto *tp, onyx_dtype dt, int64_t n, uint64_t *have, uint64_t *need)
{
    *need = (uint64_t)n;
    switch (dt) {
    case ONYX_DTYPE_FLOAT: *have = tp->n_float_data; break;
    case ONYX_DTYPE_COMPLEX64: *have = tp->n_float_data; *need *= 2; break;
    case ONYX_DTYPE_DOUBLE: *have = tp->n_double_data; break;
    case ONYX_DTYPE_COMPLEX128: *have = tp->n_double_data; *need *= 2; break;
    case ONYX_DTYPE_INT64: *have = tp->n_int64_data; break;
    case ONYX_DTYPE_UINT32: case ONYX_DTYPE_UINT64: *have = tp->n_uint64_data; break;
    case ONYX_DTYPE_STRING: *have = tp->n_string_data; break;
    default: /* everything else travels in int32_data, sub-byte types packed */
        *have = tp->n_int32_data;
        if (sub_byte_bits(dt) < 8) *need = packed_bytes(dt, n);
        break;
    }
}

/* Copies typed-field values (the non-raw storage) into dst, element size es. */
static onyx_status from_fields(const Onnx__TensorProto *tp, onyx_dtype dt, int64_t n,
                               const ox_tensor_src *src, ox_pool *pool, uint8_t *dst)
{
    const char *name = tp->name ? tp->name : "";
    uint64_t need = (uint64_t)n;
    size_t have = 0;
    switch (dt) {
    case ONYX_DTYPE_FLOAT: case ONYX_DTYPE_COMPLEX64:
        have = tp->n_float_data;
        if (dt == ONYX_DTYPE_COMPLEX64) need *= 2;
        if (have == need && need) memcpy(dst, tp->float_data, need * 4);
        break;
    case ONYX_DTYPE_DOUBLE: case ONYX_DTYPE_COMPLEX128:
        have = tp->n_double_data;
        if (dt == ONYX_DTYPE_COMPLEX128) need *= 2;
        if (have == need && need) memcpy(dst, tp->double_data, need * 8);
        break;
    case ONYX_DTYPE_INT64:
        have = tp->n_int64_data;
        if (have == need && need) memcpy(dst, tp->int64_data, need * 8);
        break;
    case ONYX_DTYPE_UINT32: case ONYX_DTYPE_UINT64:
        have = tp->n_uint64_data;
        if (have == need) {
            for (uint64_t i = 0; i < need; i++) {
                if (dt == ONYX_DTYPE_UINT32) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
                else ((uint64_t *)dst)[i] = tp->uint64_data[i];
            }
        }
        break;
    case ONYX_DTYPE_STRING:
        have = tp->n_string_data;
        if (have == need) {
            char **strs = (char **)dst;
            for (uint64_t i = 0; i < need; i++) {
                strs[i] = ox_pool_strndup(pool, (const char *)tp->string_data[i].data, tp->string_data[i].len);
                if (!strs[i]) return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory");
            }
        }
        break;
    default: { /* everything else travels in int32_data, sub-byte types packed per int32 */
        int bits = sub_byte_bits(dt);
        size_t es = onyx_dtype_size(dt);
        have = tp->n_int32_data;
        if (bits < 8) {
            need = packed_bytes(dt, n);
            if (have == need) {
                uint8_t *packed = ox_pool_alloc(pool, need ? need : 1, 1);
                if (!packed) return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory");
                for (uint64_t i = 0; i < need; i++) packed[i] = (uint8_t)tp->int32_data[i];
                unpack_sub_byte(dt, packed, dst, n);
            }
        } else if (have == need) {
            for (uint64_t i = 0; i < need; i++) {
                int32_t v = tp->int32_data[i];
                if (es == 1) dst[i] = (uint8_t)v;
                else if (es == 2) ((uint16_t *)dst)[i] = (uint16_t)v;
                else ((int32_t *)dst)[i] = v;
            }
        }
        break;
    }
    }
    if (have != need)
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE,
                       "tensor '%s' holds %zu values, its shape needs %llu", name, have,
                       (unsigned long long)need);
    return ONYX_OK;
}

onyx_status ox_tensor_from_proto(const Onnx__TensorProto *tp, const ox_tensor_src *src,
                                 ox_pool *pool, ox_const **out)
{
    const char *name = tp->name ? tp->name : "";
    ox_const *c = ox_pool_alloc(pool, sizeof *c, 8);
    if (!c) return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory");
    if (!ox_dtype_valid(tp->data_type))
        return ox_errf(src->err, src->errcap, tp->data_type ? ONYX_E_UNSUPPORTED : ONYX_E_PARSE,
                       "tensor '%s' has unknown data type %d", name, (int)tp->data_type);
    onyx_dtype dt = (onyx_dtype)tp->data_type;
    if (tp->n_dims > ONYX_MAX_RANK)
        return ox_errf(src->err, src->errcap, ONYX_E_UNSUPPORTED,
                       "tensor '%s' has rank %zu; onyx supports up to %d", name, tp->n_dims, ONYX_MAX_RANK);
    c->t.dtype = dt;
    c->t.rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) c->t.dims[i] = tp->dims[i];
    int64_t n;
    size_t bytes;
    if (!ox_shape_numel(c->t.rank, c->t.dims, &n) || !onyx_dtype_size(dt)) {
        char s[160];
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "tensor '%s' has invalid dims %s", name,
                       ox_shape_str(s, sizeof s, c->t.rank, c->t.dims));
    }
    /* valid dims whose bytes do not fit a size_t: a limit of 32-bit targets (WebAssembly) */
    if (!ox_shape_bytes(dt, c->t.rank, c->t.dims, &bytes))
        return ox_errf(src->err, src->errcap, ONYX_E_LIMIT,
                       "tensor '%s' has %lld elements, more bytes than this platform addresses", name,
                       (long long)n);
    int64_t limit = src->max_tensor_bytes;
    if (limit > 0 && (uint64_t)bytes > (uint64_t)limit)
        return ox_errf(src->err, src->errcap, ONYX_E_LIMIT,
                       "tensor '%s' needs %zu bytes, over the limit of %lld", name, bytes, (long long)limit);
    /* Check that the storage holds what the shape claims before allocating for it. */
    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    uint64_t want = packed_bytes(dt, n);
    if (external || tp->has_raw_data) {
        if (dt == ONYX_DTYPE_STRING)
            return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "string tensor '%s' cannot use raw data", name);
        if (!external && tp->raw_data.len != want)
            return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "tensor '%s' raw_data has %zu bytes, its shape needs %llu",
                           name, tp->raw_data.len, (unsigned long long)want);
    } else {
        uint64_t have, need;
        field_counts(tp, dt, n, &have, &need);
        if (have != need)
            return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "tensor '%s' holds %llu values, its shape needs %llu",
                           name, (unsigned long long)have, (unsigned long long)need);
    }
    FILE *ext = NULL;
    onyx_status st = external ? open_external(tp, src, want, &ext) : ONYX_OK;
    if (st) return st;
    /* raw bytes of a whole-byte type overwrite every byte: skip the zeroing pass */
    bool whole = (external || tp->has_raw_data) && sub_byte_bits(dt) >= 8 && want == bytes && bytes;
    uint8_t *data = whole ? ox_pool_alloc_uninit(pool, bytes, OX_ALIGN) : ox_pool_alloc(pool, bytes ? bytes : 1, OX_ALIGN);
    if (!data) {
        if (ext) fclose(ext);
        return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory for tensor '%s' (%zu bytes)", name, bytes);
    }
    c->t.data = data;
    c->nbytes = bytes;
    *out = c;
    if (!external && !tp->has_raw_data) return from_fields(tp, dt, n, src, pool, data);
    const uint8_t *raw = tp->raw_data.data;
    if (external) {
        uint8_t *staged = sub_byte_bits(dt) < 8 ? ox_pool_alloc(pool, want ? want : 1, 1) : data;
        bool ok = staged && fread(staged, 1, (size_t)want, ext) == want;
        fclose(ext);
        if (!staged) return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory");
        if (!ok) return ox_errf(src->err, src->errcap, ONYX_E_IO, "tensor '%s': cannot read its external data", name);
        raw = staged;
    }
    if (sub_byte_bits(dt) < 8)
        unpack_sub_byte(dt, raw, data, n);
    else if (raw != data && want)
        memcpy(data, raw, want); /* raw_data is little-endian, as are all supported hosts */
    return ONYX_OK;
}

onyx_status ox_sparse_from_proto(const Onnx__SparseTensorProto *sp, const ox_tensor_src *src,
                                 ox_pool *pool, ox_const **out)
{
    if (!sp->values || !sp->indices)
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "sparse tensor without values or indices");
    const char *name = sp->values->name ? sp->values->name : "";
    ox_const *vals, *idx;
    onyx_status st = ox_tensor_from_proto(sp->values, src, pool, &vals);
    if (!st) st = ox_tensor_from_proto(sp->indices, src, pool, &idx);
    if (st) return st;
    if (sp->n_dims > ONYX_MAX_RANK || vals->t.rank != 1 || idx->t.dtype != ONYX_DTYPE_INT64)
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "sparse tensor '%s' is malformed", name);
    ox_const *c = ox_pool_alloc(pool, sizeof *c, 8);
    if (!c) return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory");
    c->t.dtype = vals->t.dtype;
    c->t.rank = (int)sp->n_dims;
    for (size_t i = 0; i < sp->n_dims; i++) c->t.dims[i] = sp->dims[i];
    int64_t n, nnz = vals->t.dims[0];
    size_t bytes, es = onyx_dtype_size(c->t.dtype);
    if (!ox_shape_numel(c->t.rank, c->t.dims, &n) || !ox_shape_bytes(c->t.dtype, c->t.rank, c->t.dims, &bytes) ||
        (src->max_tensor_bytes > 0 && (uint64_t)bytes > (uint64_t)src->max_tensor_bytes))
        return ox_errf(src->err, src->errcap, ONYX_E_LIMIT, "sparse tensor '%s' has invalid or too large dims", name);
    c->t.data = ox_pool_alloc(pool, bytes ? bytes : 1, OX_ALIGN);
    if (!c->t.data) return ox_errf(src->err, src->errcap, ONYX_E_NOMEM, "out of memory");
    c->nbytes = bytes;
    const int64_t *ix = idx->t.data;
    /* indices are [NNZ] linear positions or [NNZ, rank] coordinates */
    bool linear = idx->t.rank == 1 && idx->t.dims[0] == nnz;
    bool coords = idx->t.rank == 2 && idx->t.dims[0] == nnz && idx->t.dims[1] == c->t.rank;
    if (!linear && !coords)
        return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "sparse tensor '%s' has bad indices shape", name);
    for (int64_t k = 0; k < nnz; k++) {
        int64_t pos = 0;
        if (linear) {
            pos = ix[k];
        } else {
            for (int d = 0; d < c->t.rank; d++) {
                int64_t v = ix[k * c->t.rank + d];
                if (v < 0 || v >= c->t.dims[d]) { pos = -1; break; }
                pos = pos * c->t.dims[d] + v;
            }
        }
        if (pos < 0 || pos >= n)
            return ox_errf(src->err, src->errcap, ONYX_E_PARSE, "sparse tensor '%s' index out of range", name);
        memcpy((uint8_t *)c->t.data + (size_t)pos * es, (uint8_t *)vals->t.data + (size_t)k * es, es);
    }
    *out = c;
    return ONYX_OK;
}

/* ---- public tensor file API (.pb) ------------------------------------------------------ */

ProtobufCMessage *ox_unpack_file(const char *path, const ProtobufCMessageDescriptor *desc, const onyx_load_options *o,
                                 ox_pb_alloc *pb, onyx_status *st, char *msg, size_t cap)
{
    ox_allocator a = ox_opts_allocator(o);
    uint8_t *buf = NULL;
    size_t len = 0;
    *st = ox_read_file(path, &a, ox_opts_max_tensor(o) + (1 << 20), &buf, &len, msg, cap);
    if (*st) return NULL;
    ox_pb_alloc_init(pb, pb->a);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &pb->pa, len, buf);
    ox_free(&a, buf, len + 1);
    if (!m) {
        *st = pb->failed ? ONYX_E_NOMEM : ONYX_E_PARSE;
        snprintf(msg, cap, pb->failed ? "out of memory reading '%s'" : "'%s' is not a valid %s file", path, desc->short_name);
    }
    return m;
}

onyx_status ox_tensor_block_from_proto(const Onnx__TensorProto *tp, const char *path, const onyx_load_options *o,
                                       onyx_tensor *out, const char **name_out, char *msg, size_t cap)
{
    /* Convert through a scratch pool, then copy into one block the caller frees. */
    ox_allocator a = ox_opts_allocator(o);
    ox_pool pool;
    ox_pool_init(&pool, a, 0);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    ox_tensor_src src = {dir, ox_opts_max_tensor(o), msg, cap};
    ox_const *c = NULL;
    onyx_status st = ox_tensor_from_proto(tp, &src, &pool, &c);
    if (!st) {
        size_t name_len = tp->name ? strlen(tp->name) : 0, strings = 0;
        int64_t n = ox_tensor_numel(&c->t);
        if (c->t.dtype == ONYX_DTYPE_STRING)
            for (int64_t i = 0; i < n; i++) strings += strlen(((char **)c->t.data)[i]) + 1;
        size_t total = c->nbytes + strings + name_len + 1;
        uint8_t *block = ox_malloc_aligned(&a, total);
        if (!block) {
            st = ONYX_E_NOMEM;
            snprintf(msg, cap, "out of memory reading '%s'", path);
        } else {
            uint8_t *tail = block + c->nbytes;
            if (c->t.dtype == ONYX_DTYPE_STRING) {
                for (int64_t i = 0; i < n; i++) {
                    const char *s = ((char **)c->t.data)[i];
                    size_t l = strlen(s) + 1;
                    memcpy(tail, s, l);
                    ((char **)(void *)block)[i] = (char *)tail;
                    tail += l;
                }
            } else if (c->nbytes) {
                memcpy(block, c->t.data, c->nbytes);
            }
            memcpy(tail, tp->name ? tp->name : "", name_len + 1);
            *out = c->t;
            out->data = block;
            if (name_out) *name_out = (const char *)tail;
        }
    }
    ox_pool_release(&pool);
    return st;
}

onyx_status onyx_tensor_read_pb(const char *path, const onyx_load_options *o, onyx_tensor *out,
                                const char **name_out, onyx_error *err)
{
    char msg[512] = "";
    ox_allocator a = ox_opts_allocator(o);
    ox_pb_alloc pb;
    pb.a = &a;
    onyx_status st;
    Onnx__TensorProto *tp = (Onnx__TensorProto *)ox_unpack_file(path, &onnx__tensor_proto__descriptor, o, &pb, &st, msg, sizeof msg);
    if (tp) {
        st = ox_tensor_block_from_proto(tp, path, o, out, name_out, msg, sizeof msg);
        onnx__tensor_proto__free_unpacked(tp, &pb.pa);
    }
    if (st) ox_error_set(err, st, msg);
    return st;
}

/* Sub-byte dtypes are packed back; strings go to string_data, all else to raw_data (pointing
 * at t's data, not copied). */
onyx_status ox_tensor_to_proto(const onyx_tensor *t, ox_pool *pool, Onnx__TensorProto *tp)
{
    size_t bytes;
    if (!t || t->rank < 0 || t->rank > ONYX_MAX_RANK || !ox_shape_bytes(t->dtype, t->rank, t->dims, &bytes))
        return ONYX_E_ARG;
    int64_t n = ox_tensor_numel(t);
    onnx__tensor_proto__init(tp);
    tp->n_dims = (size_t)t->rank;
    tp->dims = ox_pool_array(pool, (size_t)(t->rank ? t->rank : 1), sizeof(int64_t));
    if (!tp->dims) return ONYX_E_NOMEM;
    for (int i = 0; i < t->rank; i++) tp->dims[i] = t->dims[i];
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    if (t->dtype == ONYX_DTYPE_STRING) {
        ProtobufCBinaryData *strs = ox_pool_array(pool, (size_t)(n ? n : 1), sizeof *strs);
        if (!strs) return ONYX_E_NOMEM;
        for (int64_t i = 0; i < n; i++) {
            const char *s = ((char *const *)t->data)[i];
            strs[i].data = (uint8_t *)(uintptr_t)s;
            strs[i].len = strlen(s);
        }
        tp->n_string_data = (size_t)n;
        tp->string_data = strs;
        return ONYX_OK;
    }
    tp->has_raw_data = 1;
    int bits = sub_byte_bits(t->dtype);
    if (bits == 8) { /* raw_data is little-endian, as are all supported hosts */
        tp->raw_data.data = t->data;
        tp->raw_data.len = bytes;
        return ONYX_OK;
    }
    size_t packed_len = (size_t)packed_bytes(t->dtype, n);
    uint8_t *packed = ox_pool_alloc(pool, packed_len ? packed_len : 1, 1);
    if (!packed) return ONYX_E_NOMEM;
    int per = 8 / bits;
    for (int64_t i = 0; i < n; i++)
        packed[i / per] |= (uint8_t)((((const uint8_t *)t->data)[i] & ((1u << bits) - 1)) << ((i % per) * bits));
    tp->raw_data.data = packed;
    tp->raw_data.len = packed_len;
    return ONYX_OK;
}

onyx_status onyx_tensor_write_pb(const char *path, const onyx_tensor *t, const char *name,
                                 onyx_error *err)
{
    char msg[512];
    ox_pool pool;
    ox_pool_init(&pool, ox_allocator_make(NULL, NULL), 0);
    Onnx__TensorProto tp;
    onyx_status st = path ? ox_tensor_to_proto(t, &pool, &tp) : ONYX_E_ARG;
    if (st) {
        ox_pool_release(&pool);
        ox_error_set(err, st, st == ONYX_E_NOMEM ? "out of memory" : "invalid tensor");
        return st;
    }
    tp.name = (char *)(uintptr_t)(name ? name : "");
    size_t size = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = ox_pool_alloc(&pool, size ? size : 1, 1);
    if (!buf) {
        ox_pool_release(&pool);
        ox_error_set(err, ONYX_E_NOMEM, "out of memory");
        return ONYX_E_NOMEM;
    }
    onnx__tensor_proto__pack(&tp, buf);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(buf, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = false;
    ox_pool_release(&pool);
    if (!ok) {
        snprintf(msg, sizeof msg, "cannot write '%s'", path);
        ox_error_set(err, ONYX_E_IO, msg);
        return ONYX_E_IO;
    }
    return ONYX_OK;
}
