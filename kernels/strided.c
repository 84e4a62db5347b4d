/* strided.c — dense copy of a strided N-d view (see strided.h). */
#include <string.h>

#include "onyx.h"
#include "strided.h"

/* Below this many elements a copy is not worth waking threads for. */
#define PARALLEL_MIN_ELEMS ((int64_t)1 << 16)

/* Drops size-1 dims and fuses a dim into the next inner one when stepping the outer dim is
 * the same as stepping over the whole inner dim, so rows become as long as possible (a slice
 * of the last axis with step 1 becomes one memcpy per row, a full copy one memcpy). */
static int simplify(int rank, const int64_t *dims, const int64_t *strides, int64_t *d, int64_t *s)
{
    int n = 0;
    for (int k = 0; k < rank; k++) {
        if (dims[k] == 1) continue;
        if (n > 0 && s[n - 1] == strides[k] * dims[k]) {
            d[n - 1] *= dims[k];
            s[n - 1] = strides[k];
        } else {
            d[n] = dims[k];
            s[n] = strides[k];
            n++;
        }
    }
    return n;
}

/* Copies n elements src[0], src[stride], src[2*stride] ... to dst. Fixed-size memcpy lets the
 * compiler emit plain loads and stores without alignment or aliasing assumptions. */
static void copy_row(char *dst, const char *src, int64_t stride, int64_t n, size_t es)
{
    if (stride == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    int64_t step = stride * (int64_t)es;
    switch (es) {
    case 1:
        for (int64_t j = 0; j < n; j++) dst[j] = src[j * step];
        break;
    case 2:
        for (int64_t j = 0; j < n; j++) memcpy(dst + 2 * j, src + j * step, 2);
        break;
    case 4:
        for (int64_t j = 0; j < n; j++) memcpy(dst + 4 * j, src + j * step, 4);
        break;
    case 8:
        for (int64_t j = 0; j < n; j++) memcpy(dst + 8 * j, src + j * step, 8);
        break;
    default:
        for (int64_t j = 0; j < n; j++) memcpy(dst + (size_t)j * es, src + j * step, es);
        break;
    }
}

/* Copies output rows [r0, r1) of the simplified view (n >= 1 dims d, strides s). */
static void copy_rows(char *dst, const char *src, size_t es, int n, const int64_t *d,
                      const int64_t *s, int64_t offset, int64_t r0, int64_t r1)
{
    int64_t idx[ONYX_MAX_RANK];
    int64_t off = offset, r = r0;
    for (int k = n - 2; k >= 0; k--) {
        idx[k] = r % d[k];
        r /= d[k];
        off += idx[k] * s[k];
    }
    int64_t inner = d[n - 1];
    char *o = dst + (size_t)(r0 * inner) * es;
    for (int64_t row = r0; row < r1; row++) {
        copy_row(o, src + off * (int64_t)es, s[n - 1], inner, es);
        o += (size_t)inner * es;
        for (int k = n - 2; k >= 0; k--) { /* odometer step to the next row */
            off += s[k];
            if (++idx[k] < d[k]) break;
            off -= s[k] * d[k];
            idx[k] = 0;
        }
    }
}

void ox_copy_strided(void *dst, const void *src, size_t esize, int rank, const int64_t *dims,
                     int64_t offset, const int64_t *strides, int threads)
{
    int64_t d[ONYX_MAX_RANK], s[ONYX_MAX_RANK], total = 1;
    for (int k = 0; k < rank; k++) total *= dims[k];
    if (total == 0) return;
    int n = simplify(rank, dims, strides, d, s);
    if (n == 0) { /* a single element */
        memcpy(dst, (const char *)src + offset * (int64_t)esize, esize);
        return;
    }
    int64_t rows = total / d[n - 1];
    int nt = threads;
    if (total < PARALLEL_MIN_ELEMS || rows < 2) nt = 1;
    if (nt > rows) nt = (int)rows;
    if (nt <= 1) {
        copy_rows(dst, src, esize, n, d, s, offset, 0, rows);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt)
#endif
    for (int t = 0; t < nt; t++) {
        /* Contiguous blocks of rows; each thread writes a disjoint part of dst. */
        int64_t base = rows / nt, extra = rows % nt;
        int64_t r0 = base * t + (t < extra ? t : extra);
        int64_t r1 = r0 + base + (t < extra ? 1 : 0);
        copy_rows(dst, src, esize, n, d, s, offset, r0, r1);
    }
}
