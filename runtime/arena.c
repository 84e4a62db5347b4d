/* arena.c — onyx_arena: a bump allocator over a caller's buffer (firmware without malloc).
 *
 * The library allocates in a pattern that suits a bump allocator: a model's and a session's
 * pools grow by chunks that live as long as their owner, and temporary blocks are freed in
 * reverse order of allocation. So giving back only the most recent block (LIFO) and
 * growing it in place keeps the peak close to what a general allocator would need. */
#include <string.h>

#include "internal.h"

/* Alignment of every block: enough for any C type (the hook's contract). */
#define ARENA_ALIGN 16

void onyx_arena_init(onyx_arena *a, void *buf, size_t size)
{
    if (!a) return;
    a->base = buf;
    a->size = buf ? size : 0;
    a->used = 0;
    a->peak = 0;
    /* blocks are aligned by their offset: start at the first aligned address of the buffer */
    uintptr_t mis = (uintptr_t)buf % ARENA_ALIGN;
    if (buf && mis) {
        size_t skip = ARENA_ALIGN - (size_t)mis;
        a->base += skip < size ? skip : size;
        a->size = skip < size ? size - skip : 0;
    }
}

/* True when p (osize bytes) is the block at the top of the arena: it ends at `used`, or
 * before it by no more than the alignment padding a later block freed since left. */
static bool is_last(const onyx_arena *a, const unsigned char *p, size_t osize)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)a->base; /* integers: p may not be in the arena */
    if ((uintptr_t)p < (uintptr_t)a->base || off > a->used || osize > a->used - off) return false;
    size_t end = (size_t)off + osize;
    return a->used - end < ARENA_ALIGN && a->used <= ((end + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
}

static void *bump(onyx_arena *a, size_t n)
{
    size_t off = (a->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (off < a->used || off > a->size || n > a->size - off) return NULL;
    a->used = off + n;
    if (a->used > a->peak) a->peak = a->used;
    return a->base + off;
}

void *onyx_arena_alloc(void *user, void *ptr, size_t osize, size_t nsize)
{
    onyx_arena *a = user;
    if (!a || !a->base) return NULL;
    unsigned char *p = ptr;
    if (nsize == 0) { /* free: only the top block goes back */
        if (p && is_last(a, p, osize)) a->used = (size_t)((uintptr_t)p - (uintptr_t)a->base);
        return NULL;
    }
    if (!p) return bump(a, nsize);
    if (is_last(a, p, osize)) { /* grow or shrink in place */
        size_t off = (size_t)((uintptr_t)p - (uintptr_t)a->base);
        if (nsize > a->size - off) return NULL;
        a->used = off + nsize;
        if (a->used > a->peak) a->peak = a->used;
        return p;
    }
    void *q = bump(a, nsize);
    if (q) memcpy(q, p, osize < nsize ? osize : nsize);
    return q;
}
