/* internal.h — helpers shared by every part of the library (not installed).
 * Internal symbols are prefixed ox_; only onyx_ symbols are exported from libonyx.so. */
#ifndef ONYX_INTERNAL_H
#define ONYX_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#define OX_ALIGN 64 /* alignment of every tensor buffer: a cache line, enough for AVX-512 */

#if defined(__GNUC__)
#define OX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define OX_PRINTF(f, a)
#endif

/* ---- allocation ------------------------------------------------------------------------ */

typedef struct ox_allocator {
    onyx_alloc_fn fn;
    void *user;
} ox_allocator;

ox_allocator ox_allocator_make(onyx_alloc_fn fn, void *user); /* NULL fn: libc */
void *ox_malloc(const ox_allocator *a, size_t n);
void *ox_calloc(const ox_allocator *a, size_t n, size_t size); /* overflow-checked, zeroed */
void *ox_realloc(const ox_allocator *a, void *p, size_t old_n, size_t new_n);
void ox_free(const ox_allocator *a, void *p, size_t n);
/* Aligned block of n bytes (OX_ALIGN); free with ox_free_aligned. */
void *ox_malloc_aligned(const ox_allocator *a, size_t n);
void ox_free_aligned(const ox_allocator *a, void *p);
/* The allocator load options name (libc when NULL), and their tensor size limit (4 GiB when
 * unset). runtime/tensor.c */
ox_allocator ox_opts_allocator(const onyx_load_options *o);
int64_t ox_opts_max_tensor(const onyx_load_options *o);
/* Reads a whole file into an allocator block of *len bytes (+1 NUL). runtime/tensor.c */
onyx_status ox_read_file(const char *path, const ox_allocator *a, int64_t max_bytes, uint8_t **buf,
                         size_t *len, char *err, size_t errcap);

/* A pool is a bump allocator over chunks: everything in it is freed at once. The model's IR
 * and weights live in one pool; so do a session's plan-time tables. */
typedef struct ox_pool_chunk ox_pool_chunk;
typedef struct ox_pool {
    ox_allocator alloc;
    ox_pool_chunk *head;
    size_t used;  /* bytes handed out, for limits and reporting */
    size_t limit; /* 0: none */
} ox_pool;

void ox_pool_init(ox_pool *p, ox_allocator a, size_t limit);
void *ox_pool_alloc(ox_pool *p, size_t n, size_t align); /* zeroed; NULL on failure */
/* Not zeroed: for blocks the caller overwrites whole (a large constant's data). */
void *ox_pool_alloc_uninit(ox_pool *p, size_t n, size_t align);
void *ox_pool_array(ox_pool *p, size_t count, size_t size); /* overflow-checked */
char *ox_pool_strndup(ox_pool *p, const char *s, size_t n);
char *ox_pool_strdup(ox_pool *p, const char *s);
void ox_pool_release(ox_pool *p);

/* ---- errors ---------------------------------------------------------------------------- */

/* Writes a formatted message into buf (may be NULL) and returns st. */
onyx_status ox_errf(char *buf, size_t cap, onyx_status st, const char *fmt, ...) OX_PRINTF(4, 5);
onyx_status ox_verrf(char *buf, size_t cap, onyx_status st, const char *fmt, va_list ap);

#ifdef __clang_analyzer__
/* For static analysis only (clang-tidy, make lint). The analyzer works one file at a time and
 * never steps into variadic functions, so it would take the status returned by ox_errf (and
 * ox_fail, op.h) as unknown, possibly ONYX_OK, and report uses of outputs that an error path
 * left unset. Through this macro it sees that the status passed in comes back. */
static inline onyx_status ox_lint_status(onyx_status st, onyx_status returned)
{
    (void)returned;
    return st;
}
#define ox_errf(buf, cap, st, ...) ox_lint_status((st), ox_errf((buf), (cap), (st), __VA_ARGS__))
#endif
void ox_error_set(onyx_error *e, onyx_status st, const char *msg);

/* ---- dtypes and shapes ----------------------------------------------------------------- */

bool ox_dtype_valid(int t);
bool ox_dtype_is_float(onyx_dtype t); /* any floating type incl. 16/8-bit */
bool ox_dtype_is_int(onyx_dtype t);   /* signed or unsigned integer (not bool) */
bool ox_dtype_is_signed(onyx_dtype t);

/* Number of elements; false if a dim is negative or the product overflows int64. */
bool ox_shape_numel(int rank, const int64_t *dims, int64_t *out);
/* numel * element size, checked against SIZE_MAX; false on overflow or bad dims. */
bool ox_shape_bytes(onyx_dtype t, int rank, const int64_t *dims, size_t *out);
int64_t ox_tensor_numel(const onyx_tensor *t); /* assumes a checked shape */
size_t ox_tensor_bytes(const onyx_tensor *t);
/* "[1,3,224,224]" into buf; returns buf. */
const char *ox_shape_str(char *buf, size_t cap, int rank, const int64_t *dims);

float ox_f16_to_f32(uint16_t h);
uint16_t ox_f32_to_f16(float f); /* round to nearest even */
float ox_bf16_to_f32(uint16_t h);
uint16_t ox_f32_to_bf16(float f); /* round to nearest even */

#endif
