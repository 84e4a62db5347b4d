/* npy.c — NumPy .npy tensor files: formats 1.0, 2.0 and 3.0 are read, 1.0 is written.
 *
 * A .npy file is the magic "\x93NUMPY", a major and minor version byte, the header length
 * (u16 little-endian for 1.0, u32 for 2.0/3.0), a header that is a Python dict literal
 * ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }) and then the raw elements.
 * The header is parsed by a small scanner for exactly that subset of Python, tolerant of key
 * order, spacing, quote style and trailing commas but of nothing else: a hostile file gets
 * ONYX_E_PARSE with a message, never a crash or an allocation larger than the limits allow. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* numpy itself refuses headers over 10,000 bytes by default; 1 MiB leaves generous room
 * while bounding what a corrupt length field can make us allocate. */
#define NPY_MAX_HEADER ((uint32_t)1 << 20)
#define NPY_DEFAULT_MAX_BYTES ((int64_t)4 << 30)
#define NPY_MSG 512

/* numpy type codes (descr without its byte-order character) and the onyx dtype for each.
 * `unit` is the size that byte order applies to: a complex number is two floats. */
static const struct {
    const char *code;
    onyx_dtype dtype;
    unsigned char unit;
} npy_types[] = {
    {"f4", ONYX_DTYPE_FLOAT, 4},      {"f8", ONYX_DTYPE_DOUBLE, 8},
    {"f2", ONYX_DTYPE_FLOAT16, 2},    {"i1", ONYX_DTYPE_INT8, 1},
    {"u1", ONYX_DTYPE_UINT8, 1},      {"i2", ONYX_DTYPE_INT16, 2},
    {"u2", ONYX_DTYPE_UINT16, 2},     {"i4", ONYX_DTYPE_INT32, 4},
    {"u4", ONYX_DTYPE_UINT32, 4},     {"i8", ONYX_DTYPE_INT64, 8},
    {"u8", ONYX_DTYPE_UINT64, 8},     {"b1", ONYX_DTYPE_BOOL, 1},
    {"c8", ONYX_DTYPE_COMPLEX64, 4},  {"c16", ONYX_DTYPE_COMPLEX128, 8},
};
#define NPY_TYPE_COUNT (sizeof npy_types / sizeof npy_types[0])

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Reverses the bytes of each `unit`-sized group in p[0 .. n). */
static void swap_units(unsigned char *p, size_t n, size_t unit)
{
    if (unit < 2) return;
    for (size_t off = 0; off + unit <= n; off += unit)
        for (size_t i = 0, j = unit - 1; i < j; i++, j--) {
            unsigned char tmp = p[off + i];
            p[off + i] = p[off + j];
            p[off + j] = tmp;
        }
}

/* ---- header parsing -------------------------------------------------------------------- */

typedef struct npy_header {
    onyx_dtype dtype;
    bool swap; /* file byte order differs from the host's */
    size_t unit;
    bool fortran_order;
    int rank;
    int64_t dims[ONYX_MAX_RANK];
} npy_header;

typedef struct npy_scan {
    const char *p, *end;
    const char *path;
    char *msg;
    onyx_status status; /* first error; ONYX_OK while scanning succeeds */
} npy_scan;

static bool scan_fail(npy_scan *s, onyx_status st, const char *what)
{
    if (s->status == ONYX_OK) {
        s->status = st;
        snprintf(s->msg, NPY_MSG, "npy file '%s': %s", s->path, what);
    }
    return false;
}

static void skip_space(npy_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Consumes c (after optional space) if it is next. */
static bool accept(npy_scan *s, char c)
{
    skip_space(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes (numpy's keys and descrs never need them). */
static bool scan_string(npy_scan *s, const char **str, size_t *len)
{
    skip_space(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return scan_fail(s, ONYX_E_PARSE, "header: expected a quoted string");
    char quote = *s->p++;
    const char *start = s->p;
    while (s->p < s->end && *s->p != quote) {
        if (*s->p == '\\') return scan_fail(s, ONYX_E_PARSE, "header: escapes in strings are not supported");
        s->p++;
    }
    if (s->p >= s->end) return scan_fail(s, ONYX_E_PARSE, "header: unterminated string");
    *str = start;
    *len = (size_t)(s->p - start);
    s->p++;
    return true;
}

static bool scan_word(npy_scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, word, n) == 0) {
        s->p += n;
        return true;
    }
    return false;
}

static bool scan_bool(npy_scan *s, bool *out)
{
    skip_space(s);
    if (scan_word(s, "True")) *out = true;
    else if (scan_word(s, "False")) *out = false;
    else return scan_fail(s, ONYX_E_PARSE, "header: 'fortran_order' must be True or False");
    return true;
}

/* A non-negative decimal dimension; Python 2 wrote longs with an 'L' suffix. */
static bool scan_dim(npy_scan *s, int64_t *out)
{
    skip_space(s);
    if (s->p < s->end && *s->p == '-')
        return scan_fail(s, ONYX_E_PARSE, "header: shape has a negative dimension");
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return scan_fail(s, ONYX_E_PARSE, "header: shape must be a tuple of integers");
    int64_t v = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        int d = *s->p++ - '0';
        if (v > (INT64_MAX - d) / 10) return scan_fail(s, ONYX_E_LIMIT, "header: shape dimension is too large");
        v = v * 10 + d;
    }
    if (s->p < s->end && *s->p == 'L') s->p++;
    *out = v;
    return true;
}

static bool scan_shape(npy_scan *s, npy_header *h)
{
    if (!accept(s, '(')) return scan_fail(s, ONYX_E_PARSE, "header: 'shape' must be a tuple");
    h->rank = 0;
    if (accept(s, ')')) return true; /* () is a scalar */
    for (;;) {
        int64_t d;
        if (!scan_dim(s, &d)) return false;
        if (h->rank == ONYX_MAX_RANK)
            return scan_fail(s, ONYX_E_UNSUPPORTED, "shape has more dimensions than onyx supports (8)");
        // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): scan_dim succeeded: d is set
        h->dims[h->rank++] = d;
        bool comma = accept(s, ',');
        if (accept(s, ')')) return true;
        if (!comma) return scan_fail(s, ONYX_E_PARSE, "header: unterminated shape tuple");
    }
}

/* descr: optional byte-order character ('<' little, '>' big, '|' not applicable, '=' native)
 * followed by a type code from npy_types. */
static bool scan_descr(npy_scan *s, npy_header *h)
{
    skip_space(s);
    if (s->p < s->end && *s->p == '[')
        return scan_fail(s, ONYX_E_UNSUPPORTED, "structured dtypes are not supported");
    const char *str;
    size_t len;
    if (!scan_string(s, &str, &len)) return false;
    char order = len ? str[0] : 0;
    if (order == '<' || order == '>' || order == '|' || order == '=') {
        str++;
        len--;
    } else {
        order = '=';
    }
    for (size_t i = 0; i < NPY_TYPE_COUNT; i++) {
        if (strlen(npy_types[i].code) != len || memcmp(npy_types[i].code, str, len) != 0) continue;
        h->dtype = npy_types[i].dtype;
        h->unit = npy_types[i].unit;
        if (order == '|' && h->unit > 1)
            return scan_fail(s, ONYX_E_PARSE, "header: descr has no byte order for a multi-byte type");
        bool file_little = order == '<' || (order == '=' && host_is_little_endian());
        h->swap = h->unit > 1 && file_little != host_is_little_endian();
        return true;
    }
    char what[96];
    snprintf(what, sizeof what, "dtype '%.*s' is not supported", (int)(len > 40 ? 40 : len), str);
    return scan_fail(s, ONYX_E_UNSUPPORTED, what);
}

/* The header dict: exactly the keys descr, fortran_order and shape, each once. */
static bool scan_header(npy_scan *s, npy_header *h)
{
    bool have_descr = false, have_order = false, have_shape = false;
    if (!accept(s, '{')) return scan_fail(s, ONYX_E_PARSE, "header is not a dict");
    while (!accept(s, '}')) {
        const char *key;
        size_t len;
        if (!scan_string(s, &key, &len)) return false;
        if (!accept(s, ':')) return scan_fail(s, ONYX_E_PARSE, "header: expected ':' after a key");
        bool *seen;
        bool ok;
        if (len == 5 && memcmp(key, "descr", 5) == 0) {
            seen = &have_descr;
            ok = scan_descr(s, h);
        } else if (len == 13 && memcmp(key, "fortran_order", 13) == 0) {
            seen = &have_order;
            ok = scan_bool(s, &h->fortran_order);
        } else if (len == 5 && memcmp(key, "shape", 5) == 0) {
            seen = &have_shape;
            ok = scan_shape(s, h);
        } else {
            char what[96];
            snprintf(what, sizeof what, "header: unexpected key '%.*s'", (int)(len > 40 ? 40 : len), key);
            return scan_fail(s, ONYX_E_PARSE, what);
        }
        if (!ok) return false;
        if (*seen) return scan_fail(s, ONYX_E_PARSE, "header: duplicate key");
        *seen = true;
        if (!accept(s, ',')) {
            if (accept(s, '}')) break;
            return scan_fail(s, ONYX_E_PARSE, "header: unterminated dict");
        }
    }
    if (!have_descr) return scan_fail(s, ONYX_E_PARSE, "header: missing key 'descr'");
    if (!have_order) return scan_fail(s, ONYX_E_PARSE, "header: missing key 'fortran_order'");
    if (!have_shape) return scan_fail(s, ONYX_E_PARSE, "header: missing key 'shape'");
    skip_space(s);
    if (s->p != s->end) return scan_fail(s, ONYX_E_PARSE, "header: unexpected text after the dict");
    return true;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Reads the preamble and header of an open file; on success the file is at the data. */
static onyx_status read_header(FILE *f, const char *path, const ox_allocator *a, npy_header *h,
                               long *data_offset, char *msg)
{
    unsigned char pre[12];
    if (fread(pre, 1, 8, f) != 8)
        return ox_errf(msg, NPY_MSG, ONYX_E_PARSE, "npy file '%s' is truncated (no preamble)", path);
    if (memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return ox_errf(msg, NPY_MSG, ONYX_E_PARSE, "'%s' is not a .npy file (bad magic)", path);
    int major = pre[6], minor = pre[7];
    size_t len_bytes = major == 1 ? 2 : major == 2 || major == 3 ? 4 : 0;
    if (!len_bytes)
        return ox_errf(msg, NPY_MSG, ONYX_E_UNSUPPORTED, "npy file '%s': format version %d.%d is not supported",
                       path, major, minor);
    if (fread(pre + 8, 1, len_bytes, f) != len_bytes)
        return ox_errf(msg, NPY_MSG, ONYX_E_PARSE, "npy file '%s' is truncated (no header length)", path);
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (len_bytes == 4) hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if (hlen == 0 || hlen > NPY_MAX_HEADER)
        return ox_errf(msg, NPY_MSG, ONYX_E_PARSE, "npy file '%s': implausible header length %lu", path,
                       (unsigned long)hlen);
    char *text = ox_malloc(a, hlen);
    if (!text) return ox_errf(msg, NPY_MSG, ONYX_E_NOMEM, "out of memory reading '%s'", path);
    onyx_status st = ONYX_OK;
    if (fread(text, 1, hlen, f) != hlen) {
        st = ox_errf(msg, NPY_MSG, ONYX_E_PARSE, "npy file '%s' is truncated (header)", path);
    } else {
        npy_scan s = {text, text + hlen, path, msg, ONYX_OK};
        if (!scan_header(&s, h)) st = s.status;
    }
    ox_free(a, text, hlen);
    *data_offset = (long)(8 + len_bytes + hlen);
    return st;
}

/* Bytes left in f after `offset`, or -1 when the stream cannot tell (then the read itself
 * detects truncation, after allocating no more than the limit allows). */
static int64_t bytes_after(FILE *f, long offset)
{
    if (fseek(f, 0, SEEK_END) != 0) return -1;
    long size = ftell(f);
    if (size < 0 || fseek(f, offset, SEEK_SET) != 0) return -1;
    return size >= offset ? (int64_t)size - offset : 0;
}

/* Fortran (column-major) data -> C (row-major) order, walking the C index like an odometer
 * while tracking the matching column-major offset. */
static void fortran_to_c(const unsigned char *src, unsigned char *dst, int rank, const int64_t *dims,
                         int64_t numel, size_t es)
{
    int64_t stride[ONYX_MAX_RANK], idx[ONYX_MAX_RANK] = {0};
    int64_t s = 1;
    for (int k = 0; k < rank; k++) {
        stride[k] = s;
        s *= dims[k];
    }
    int64_t off = 0;
    for (int64_t i = 0; i < numel; i++) {
        memcpy(dst + (size_t)i * es, src + (size_t)off * es, es);
        for (int k = rank - 1; k >= 0; k--) {
            // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): rank >= 1: stride[0 .. rank) is set
            off += stride[k];
            if (++idx[k] < dims[k]) break;
            off -= stride[k] * dims[k];
            idx[k] = 0;
        }
    }
}

static onyx_status read_data(FILE *f, const char *path, const ox_allocator *a, const npy_header *h,
                             int64_t max_bytes, long offset, void **data, char *msg)
{
    char shape[256];
    size_t bytes;
    ox_shape_str(shape, sizeof shape, h->rank, h->dims);
    if (!ox_shape_bytes(h->dtype, h->rank, h->dims, &bytes) || (uint64_t)bytes > (uint64_t)max_bytes)
        return ox_errf(msg, NPY_MSG, ONYX_E_LIMIT, "npy file '%s': %s tensor of shape %s exceeds the %lld-byte limit",
                       path, onyx_dtype_name(h->dtype), shape, (long long)max_bytes);
    int64_t avail = bytes_after(f, offset);
    if (avail >= 0 && (uint64_t)avail < (uint64_t)bytes)
        return ox_errf(msg, NPY_MSG, ONYX_E_PARSE,
                       "npy file '%s' is truncated: %s %s needs %llu data bytes but the file has %lld", path,
                       onyx_dtype_name(h->dtype), shape, (unsigned long long)bytes, (long long)avail);
    unsigned char *buf = ox_malloc_aligned(a, bytes ? bytes : 1);
    if (!buf) return ox_errf(msg, NPY_MSG, ONYX_E_NOMEM, "out of memory reading '%s'", path);
    if (fread(buf, 1, bytes, f) != bytes) {
        ox_free_aligned(a, buf);
        return ox_errf(msg, NPY_MSG, ONYX_E_PARSE, "npy file '%s' is truncated (data)", path);
    }
    if (h->swap) swap_units(buf, bytes, h->unit);
    if (h->dtype == ONYX_DTYPE_BOOL) /* anything but 0/1 in a bool is undefined behaviour in C */
        for (size_t i = 0; i < bytes; i++) buf[i] = buf[i] != 0;
    if (h->fortran_order && h->rank > 1 && bytes > 0) {
        unsigned char *c_order = ox_malloc_aligned(a, bytes);
        if (!c_order) {
            ox_free_aligned(a, buf);
            return ox_errf(msg, NPY_MSG, ONYX_E_NOMEM, "out of memory reading '%s'", path);
        }
        size_t es = onyx_dtype_size(h->dtype);
        fortran_to_c(buf, c_order, h->rank, h->dims, (int64_t)(bytes / es), es);
        ox_free_aligned(a, buf);
        buf = c_order;
    }
    *data = buf;
    return ONYX_OK;
}

onyx_status onyx_tensor_read_npy(const char *path, const onyx_load_options *o, onyx_tensor *out,
                                 onyx_error *err)
{
    char msg[NPY_MSG] = "";
    if (!path || !out) {
        ox_error_set(err, ONYX_E_ARG, "onyx_tensor_read_npy: path and out are required");
        return ONYX_E_ARG;
    }
    memset(out, 0, sizeof *out);
    ox_allocator a = ox_allocator_make(o ? o->alloc : NULL, o ? o->alloc_user : NULL);
    int64_t max_bytes = o && o->max_tensor_bytes > 0 ? o->max_tensor_bytes : NPY_DEFAULT_MAX_BYTES;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ox_errf(msg, sizeof msg, ONYX_E_IO, "cannot open npy file '%s'", path);
        ox_error_set(err, ONYX_E_IO, msg);
        return ONYX_E_IO;
    }
    npy_header h;
    memset(&h, 0, sizeof h);
    long offset = 0;
    void *data = NULL;
    onyx_status st = read_header(f, path, &a, &h, &offset, msg);
    if (!st) st = read_data(f, path, &a, &h, max_bytes, offset, &data, msg);
    fclose(f);
    if (st) {
        ox_error_set(err, st, msg);
        return st;
    }
    out->dtype = h.dtype;
    out->rank = h.rank;
    memcpy(out->dims, h.dims, sizeof h.dims);
    out->data = data;
    return ONYX_OK;
}

/* ---- writing --------------------------------------------------------------------------- */

/* Builds the version 1.0 preamble + header, padded with spaces and a final newline so the
 * data starts at a multiple of 64 bytes (numpy's own alignment). Returns the length. */
static size_t build_header(char *buf, size_t cap, const char *descr, const onyx_tensor *t)
{
    char dict[400];
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, i ? ", %lld" : "%lld", (long long)t->dims[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", t->rank == 1 ? "," : "");
    size_t total = (10 + n + 1 + 63) / 64 * 64; /* preamble 10, dict, newline */
    if (total > cap) return 0;
    size_t hlen = total - 10;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', hlen - n - 1);
    buf[total - 1] = '\n';
    return total;
}

/* Writes the elements little-endian; big-endian hosts swap through a bounded stack buffer. */
static bool write_data(FILE *f, const unsigned char *data, size_t bytes, size_t unit)
{
    if (bytes == 0) return true;
    if (unit < 2 || host_is_little_endian()) return fwrite(data, 1, bytes, f) == bytes;
    unsigned char chunk[4096];
    for (size_t off = 0; off < bytes; off += sizeof chunk) {
        size_t n = bytes - off < sizeof chunk ? bytes - off : sizeof chunk;
        memcpy(chunk, data + off, n);
        swap_units(chunk, n, unit);
        if (fwrite(chunk, 1, n, f) != n) return false;
    }
    return true;
}

onyx_status onyx_tensor_write_npy(const char *path, const onyx_tensor *t, onyx_error *err)
{
    char msg[NPY_MSG];
    size_t bytes;
    if (!path || !t || t->rank < 0 || t->rank > ONYX_MAX_RANK || !ox_dtype_valid((int)t->dtype) ||
        !ox_shape_bytes(t->dtype, t->rank, t->dims, &bytes) || (bytes && !t->data)) {
        ox_error_set(err, ONYX_E_ARG, "onyx_tensor_write_npy: invalid tensor");
        return ONYX_E_ARG;
    }
    char descr[8] = "";
    size_t unit = 0;
    for (size_t i = 0; i < NPY_TYPE_COUNT; i++)
        if (npy_types[i].dtype == t->dtype) {
            unit = npy_types[i].unit;
            snprintf(descr, sizeof descr, "%c%s", unit > 1 ? '<' : '|', npy_types[i].code);
        }
    if (!unit) {
        ox_errf(msg, sizeof msg, ONYX_E_UNSUPPORTED, "cannot write '%s': numpy has no %s dtype", path,
                onyx_dtype_name(t->dtype));
        ox_error_set(err, ONYX_E_UNSUPPORTED, msg);
        return ONYX_E_UNSUPPORTED;
    }
    char header[512];
    size_t hbytes = build_header(header, sizeof header, descr, t);
    if (!hbytes) {
        ox_error_set(err, ONYX_E_INTERNAL, "npy header does not fit");
        return ONYX_E_INTERNAL;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        ox_errf(msg, sizeof msg, ONYX_E_IO, "cannot create npy file '%s'", path);
        ox_error_set(err, ONYX_E_IO, msg);
        return ONYX_E_IO;
    }
    bool ok = fwrite(header, 1, hbytes, f) == hbytes && write_data(f, t->data, bytes, unit);
    if (fclose(f) != 0) ok = false;
    if (!ok) {
        remove(path); /* leave no half-written file behind */
        ox_errf(msg, sizeof msg, ONYX_E_IO, "error writing npy file '%s'", path);
        ox_error_set(err, ONYX_E_IO, msg);
        return ONYX_E_IO;
    }
    return ONYX_OK;
}
