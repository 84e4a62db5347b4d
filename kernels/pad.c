/* pad.c — padded/cropped copy (see pad.h). */
#include <stdbool.h>
#include <string.h>

#include "onyx.h"
#include "pad.h"

/* Below this many elements a copy is not worth waking threads for. */
#define PARALLEL_MIN_ELEMS ((int64_t)1 << 16)

/* The input index output index o reads along axis a, or -1 for the fill element. */
static int64_t source(ox_pad_mode mode, const ox_pad_axis *a, int64_t o)
{
    int64_t i = o - a->before, w = a->window;
    if (i >= 0 && i < w) return a->start + i;
    if (mode == OX_PAD_CONSTANT || w == 0) return -1;
    if (mode == OX_PAD_EDGE) {
        i = i < 0 ? 0 : w - 1;
    } else if (mode == OX_PAD_WRAP) {
        i %= w;
        if (i < 0) i += w;
    } else if (w == 1) {
        i = 0; /* reflecting one element repeats it */
    } else {
        int64_t period = 2 * (w - 1); /* there and back without repeating the edges */
        i %= period;
        if (i < 0) i += period;
        if (i >= w) i = period - i;
    }
    return a->start + i;
}

/* One output row along the last axis; row points at the input row. Runs of consecutive
 * sources (the window, or whole repeats in wrap mode) become one memcpy. */
static void pad_row(char *dst, const char *row, size_t es, const ox_pad_axis *a, ox_pad_mode mode,
                    int64_t n, const void *fill)
{
    int64_t j = 0;
    while (j < n) {
        int64_t s = source(mode, a, j);
        if (s < 0) {
            memcpy(dst + (size_t)j * es, fill, es);
            j++;
            continue;
        }
        int64_t len = 1;
        while (j + len < n && source(mode, a, j + len) == s + len) len++;
        memcpy(dst + (size_t)j * es, row + (size_t)s * es, (size_t)len * es);
        j += len;
    }
}

typedef struct pad_job {
    char *dst;
    const char *src;
    size_t es;
    int rank;
    const int64_t *out_dims;
    int64_t in_strides[ONYX_MAX_RANK];
    const ox_pad_axis *axes;
    ox_pad_mode mode;
    const void *fill;
} pad_job;

/* Output rows [r0, r1): the outer axes pick the input row (or make the row all fill). */
static void pad_rows(const pad_job *p, int64_t r0, int64_t r1)
{
    int last = p->rank - 1;
    int64_t idx[ONYX_MAX_RANK], n = p->out_dims[last], r = r0;
    for (int k = last - 1; k >= 0; k--) {
        idx[k] = r % p->out_dims[k];
        r /= p->out_dims[k];
    }
    for (int64_t row = r0; row < r1; row++) {
        char *o = p->dst + (size_t)(row * n) * p->es;
        int64_t base = 0;
        bool outside = false;
        for (int k = 0; k < last && !outside; k++) {
            int64_t s = source(p->mode, &p->axes[k], idx[k]);
            outside = s < 0;
            base += s * p->in_strides[k];
        }
        if (outside)
            for (int64_t j = 0; j < n; j++) memcpy(o + (size_t)j * p->es, p->fill, p->es);
        else
            pad_row(o, p->src + (size_t)base * p->es, p->es, &p->axes[last], p->mode, n, p->fill);
        for (int k = last - 1; k >= 0; k--) { /* odometer step to the next row */
            if (++idx[k] < p->out_dims[k]) break;
            idx[k] = 0;
        }
    }
}

void ox_pad(void *dst, const void *src, size_t esize, int rank, const int64_t *in_dims,
            const int64_t *out_dims, const ox_pad_axis *axes, ox_pad_mode mode, const void *fill,
            int threads)
{
    int64_t total = 1;
    for (int k = 0; k < rank; k++) total *= out_dims[k];
    if (total == 0) return;
    int64_t in_total = 1;
    for (int k = 0; k < rank; k++) in_total *= in_dims[k];
    if (in_total == 0) { /* every window is empty: all fill (and src may be NULL) */
        for (int64_t j = 0; j < total; j++) memcpy((char *)dst + (size_t)j * esize, fill, esize);
        return;
    }
    if (rank == 0) {
        memcpy(dst, src, esize);
        return;
    }
    pad_job p = {dst, src, esize, rank, out_dims, {0}, axes, mode, fill};
    int64_t s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        p.in_strides[k] = s;
        s *= in_dims[k];
    }
    int64_t rows = total / out_dims[rank - 1];
    int nt = threads;
    if (total < PARALLEL_MIN_ELEMS || rows < 2) nt = 1;
    if (nt > rows) nt = (int)rows;
    if (nt <= 1) {
        pad_rows(&p, 0, rows);
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
        pad_rows(&p, r0, r1);
    }
}
