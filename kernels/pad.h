/* pad.h — copying an N-d tensor into a padded and/or cropped output.
 *
 * Along each axis the output shows a window of the input axis (negative pads crop), with
 * `before` positions ahead of it and the rest after it; positions outside the window take
 * the fill element (constant mode) or repeat window elements: the edge one (edge), mirrored
 * without repeating the edge (reflect, continuing past the window's length as numpy does),
 * or cyclically (wrap). Tile is wrap padding and CenterCropPad constant padding, so they use
 * this kernel too. It only moves bytes, so it serves every dtype by element size. */
#ifndef ONYX_KERNELS_PAD_H
#define ONYX_KERNELS_PAD_H

#include <stddef.h>
#include <stdint.h>

typedef enum { OX_PAD_CONSTANT, OX_PAD_REFLECT, OX_PAD_EDGE, OX_PAD_WRAP } ox_pad_mode;

typedef struct ox_pad_axis {
    int64_t start;  /* first input index of the window */
    int64_t window; /* its length; 0 makes the whole axis fill (whatever the mode) */
    int64_t before; /* output positions ahead of the window */
} ox_pad_axis;

/* dst is dense over out_dims, src dense over in_dims; fill is one element of esize bytes.
 * The caller guarantees each window lies inside its input axis. rank may be 0. */
void ox_pad(void *dst, const void *src, size_t esize, int rank, const int64_t *in_dims,
            const int64_t *out_dims, const ox_pad_axis *axes, ox_pad_mode mode, const void *fill,
            int threads);

#endif
