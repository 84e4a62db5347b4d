/* strided.h — copying a strided N-d view of a tensor into a dense buffer.
 *
 * Used by data-movement ops (Transpose, Slice): the op describes which source elements
 * form the output as an element offset plus one stride per output dim; the kernel only
 * moves bytes, so it serves every dtype by element size. */
#ifndef ONYX_KERNELS_STRIDED_H
#define ONYX_KERNELS_STRIDED_H

#include <stddef.h>
#include <stdint.h>

/* dst (dense, row-major over dims) receives the elements of src at element offsets
 * offset + sum_k i_k * strides[k]. Strides may be negative or zero; the caller guarantees
 * every such offset lies inside src. rank may be 0 (one element). */
void ox_copy_strided(void *dst, const void *src, size_t esize, int rank, const int64_t *dims,
                     int64_t offset, const int64_t *strides, int threads);

#endif
