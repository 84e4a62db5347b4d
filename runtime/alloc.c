/* alloc.c — the allocator hook and the pool (one bump arena per model or plan). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef ONYX_CORE
/* The core library (make core) has no malloc: without a caller's allocator (onyx_arena_alloc
 * over a static buffer, say) every allocation fails with ONYX_E_NOMEM. */
static void *libc_alloc(void *user, void *ptr, size_t osize, size_t nsize)
{
    (void)user;
    (void)ptr;
    (void)osize;
    (void)nsize;
    return NULL;
}
#else
static void *libc_alloc(void *user, void *ptr, size_t osize, size_t nsize)
{
    (void)user;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}
#endif

ox_allocator ox_allocator_make(onyx_alloc_fn fn, void *user)
{
    ox_allocator a = {fn ? fn : libc_alloc, fn ? user : NULL};
    return a;
}

void *ox_malloc(const ox_allocator *a, size_t n) { return n ? a->fn(a->user, NULL, 0, n) : NULL; }

void *ox_calloc(const ox_allocator *a, size_t n, size_t size)
{
    if (n == 0 || size == 0 || n > SIZE_MAX / size) return NULL;
    void *p = ox_malloc(a, n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void *ox_realloc(const ox_allocator *a, void *p, size_t old_n, size_t new_n)
{
    if (new_n == 0) return NULL;
    return a->fn(a->user, p, old_n, new_n);
}

void ox_free(const ox_allocator *a, void *p, size_t n)
{
    if (p) a->fn(a->user, p, n, 0);
}

/* Aligned blocks keep a header just before the aligned address: the raw pointer and size. */
typedef struct aligned_header {
    void *raw;
    size_t raw_size;
} aligned_header;

void *ox_malloc_aligned(const ox_allocator *a, size_t n)
{
    size_t extra = OX_ALIGN + sizeof(aligned_header);
    if (n > SIZE_MAX - extra) return NULL;
    size_t raw_size = n + extra;
    char *raw = ox_malloc(a, raw_size);
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)(raw + sizeof(aligned_header)) + OX_ALIGN - 1) & ~(uintptr_t)(OX_ALIGN - 1);
    aligned_header h = {raw, raw_size};
    memcpy((char *)p - sizeof h, &h, sizeof h);
    return (void *)p;
}

void ox_free_aligned(const ox_allocator *a, void *p)
{
    if (!p) return;
    aligned_header h;
    memcpy(&h, (char *)p - sizeof h, sizeof h);
    ox_free(a, h.raw, h.raw_size);
}

/* ---- pool ------------------------------------------------------------------------------ */

struct ox_pool_chunk {
    ox_pool_chunk *next;
    size_t size; /* bytes of data[] */
    size_t used;
    _Alignas(OX_ALIGN) unsigned char data[];
};

/* Chunks start small and double up to POOL_CHUNK_MAX, so a small model's pools (on a
 * microcontroller's fixed arena, say) stay small while big ones still allocate rarely. */
#define POOL_CHUNK_FIRST 1024
#define POOL_CHUNK_MAX (64 * 1024)

void ox_pool_init(ox_pool *p, ox_allocator a, size_t limit)
{
    memset(p, 0, sizeof *p);
    p->alloc = a;
    p->limit = limit;
}

void *ox_pool_alloc_uninit(ox_pool *p, size_t n, size_t align)
{
    if (align < 8) align = 8;
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 2 || (p->limit && (n > p->limit || p->used > p->limit - n))) return NULL;
    ox_pool_chunk *c = p->head;
    if (c) {
        size_t off = (c->used + align - 1) & ~(align - 1);
        if (off <= c->size && n <= c->size - off) {
            c->used = off + n;
            p->used += n;
            return c->data + off;
        }
    }
    size_t grow = c ? (c->size < POOL_CHUNK_MAX / 2 ? c->size * 2 : POOL_CHUNK_MAX) : POOL_CHUNK_FIRST;
    size_t size = n + align > grow ? n + align : grow;
    c = ox_malloc_aligned(&p->alloc, sizeof(ox_pool_chunk) + size);
    if (!c) return NULL;
    c->size = size;
    c->used = n;
    c->next = p->head;
    p->head = c;
    p->used += n;
    return c->data;
}

void *ox_pool_alloc(ox_pool *p, size_t n, size_t align)
{
    void *d = ox_pool_alloc_uninit(p, n, align);
    if (d) memset(d, 0, n ? n : 1);
    return d;
}

void *ox_pool_array(ox_pool *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return ox_pool_alloc(p, count * size, 8);
}

char *ox_pool_strndup(ox_pool *p, const char *s, size_t n)
{
    char *d = ox_pool_alloc(p, n + 1, 1);
    if (d && n) memcpy(d, s, n);
    return d;
}

char *ox_pool_strdup(ox_pool *p, const char *s) { return ox_pool_strndup(p, s ? s : "", s ? strlen(s) : 0); }

void ox_pool_release(ox_pool *p)
{
    ox_pool_chunk *c = p->head;
    while (c) {
        ox_pool_chunk *next = c->next;
        ox_free_aligned(&p->alloc, c);
        c = next;
    }
    p->head = NULL;
    p->used = 0;
}
