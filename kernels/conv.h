/* conv.h — convolution kernels (NCHW layout, any number of spatial dims), and the sliding
 * window geometry they share with the pooling kernels.
 *
 * float picks a path per shape:
 *   - 1x1 stride-1 unpadded: one GEMM per group straight on the input (no im2col), in
 *     column tiles so the epilogue finds each tile in cache;
 *   - depthwise (each output channel reads one input channel): GEMM would mostly move data,
 *     so a direct loop runs instead; 2-D kernels 3 or 5 wide with horizontal stride 1 or 2
 *     and no dilation take an AVX2 (when the CPU has it) or NEON kernel (conv_depthwise.c);
 *   - anything else: im2col of a bounded tile of output positions, written straight in the
 *     GEMM's packed panel layout (ox_sgemm_panels), + GEMM.
 * With threads, each takes whole column tiles (GEMM and epilogue on its own, one parallel
 * region per convolution) when there are enough columns; else the threads split each GEMM.
 * The bias, a residual input and an activation (the epilogue) are applied to each block of output right after
 * it is computed. double always runs the direct loop (it is rare, and needs no scratch). */
#ifndef ONYX_KERNELS_CONV_H
#define ONYX_KERNELS_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activation.h"

#define OX_WIN_MAX_DIMS 6 /* spatial dims: a tensor of rank ONYX_MAX_RANK minus N and C */

/* A window sliding over the nd spatial dims of one plane. Output position o along dim d
 * covers input positions o*stride[d] - pad_begin[d] + k*dil[d] for taps k in [0, kernel[d]);
 * positions outside [0, in[d]) are padding. pad_end only matters to pools that count the
 * padding (the output size is decided by whoever fills the struct). */
typedef struct ox_window {
    int nd;
    int64_t in[OX_WIN_MAX_DIMS];
    int64_t out[OX_WIN_MAX_DIMS];
    int64_t kernel[OX_WIN_MAX_DIMS];
    int64_t stride[OX_WIN_MAX_DIMS];
    int64_t dil[OX_WIN_MAX_DIMS];
    int64_t pad_begin[OX_WIN_MAX_DIMS];
    int64_t pad_end[OX_WIN_MAX_DIMS];
} ox_window;

int64_t ox_window_in_size(const ox_window *w);     /* elements of one input plane */
int64_t ox_window_out_size(const ox_window *w);    /* elements of one output plane */
int64_t ox_window_kernel_size(const ox_window *w); /* taps of one window */

/* Index range [q0, q1) of the q in [0, n) with lo <= start + q*step < hi (step > 0);
 * q0 == q1 when there is none. Inline: it runs once per output position and dim. */
static inline void ox_clip_range(int64_t start, int64_t step, int64_t n, int64_t lo, int64_t hi,
                                 int64_t *q0, int64_t *q1)
{
    int64_t a, b;
    if (start >= hi) {
        a = b = 0;
    } else if (step == 1) { /* the common case, without divisions */
        a = start >= lo ? 0 : lo - start;
        b = hi - start;
    } else {
        a = start >= lo ? 0 : (lo - start + step - 1) / step;
        b = (hi - 1 - start) / step + 1;
    }
    if (b > n) b = n;
    if (a > b) a = b;
    *q0 = a;
    *q1 = b;
}

/* The taps [k0, k1) of output coordinate o along dim d that fall inside [lo, hi) of the
 * input (lo = 0, hi = in[d] for the real input). k0 == k1 when none does. */
static inline void ox_window_taps(const ox_window *w, int d, int64_t o, int64_t lo, int64_t hi,
                                  int64_t *k0, int64_t *k1)
{
    ox_clip_range(o * w->stride[d] - w->pad_begin[d], w->dil[d], w->kernel[d], lo, hi, k0, k1);
}

/* Advances the outer coordinates o[0 .. nd-2] to the next line of outputs (a line: all
 * positions along the last dim), row-major; false after the last line. */
static inline bool ox_window_next_line(const ox_window *w, int64_t *o)
{
    for (int d = w->nd - 2; d >= 0; d--) {
        if (++o[d] < w->out[d]) return true;
        o[d] = 0;
    }
    return false;
}

/* A grouped convolution of a batch: x [batch, in_channels, in...],
 * w [out_channels, in_channels / group, kernel...], b [out_channels] or NULL,
 * y [batch, out_channels, out...]. */
typedef struct ox_conv_shape {
    ox_window win;
    int64_t batch, in_channels, out_channels, group;
} ox_conv_shape;

/* What a float convolution does after the sum of products and the bias. */
typedef struct ox_conv_epilogue {
    ox_act act;    /* applied to the output block while it is in cache */
    bool portable; /* the portable kernels only, whatever the CPU (tests compare the two) */
    const float *residual; /* NULL, or a tensor shaped like y added after the bias, before act */
} ox_conv_epilogue;

/* Scratch bytes ox_conv_f32 needs to run on up to `threads` threads (0 for 1x1 stride-1
 * unpadded and depthwise convolutions). Bounded: the im2col matrix is built a tile of output
 * positions at a time, one tile per thread. */
size_t ox_conv_f32_scratch(const ox_conv_shape *s, int threads);
/* y = act(conv(x, w) + b [+ e->residual]); e may be NULL (no activation, SIMD where available). */
void ox_conv_f32(const ox_conv_shape *s, const float *x, const float *w, const float *b,
                 const ox_conv_epilogue *e, float *y, void *scratch, int threads);
void ox_conv_f64(const ox_conv_shape *s, const double *x, const double *w, const double *b,
                 double *y, int threads);

/* conv_depthwise.c: whether the SIMD depthwise plane kernel (AVX2 or NEON) takes window w on
 * this CPU, and the kernel: y (one output plane) = bias + the correlation of input plane x
 * with kernel k. */
bool ox_conv_dw_simd_handles(const ox_window *w);
void ox_conv_dw_plane_simd(const ox_window *w, const float *x, const float *k, float bias, float *y);

#endif
