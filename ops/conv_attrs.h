/* conv_attrs.h — the attributes of the windowed ops over [N, C, spatial...] tensors (Conv,
 * ConvTranspose, DeformConv, ConvInteger, QLinearConv and the pools), read once for all of
 * them: strides, dilations, pads, auto_pad, kernel_shape, ceil_mode, group, and the
 * ox_window (kernels/conv.h) they describe.
 *
 * Sizes taken from attributes are bounded by OX_WIN_ATTR_MAX so the window arithmetic on
 * them cannot overflow int64. Messages name the inputs as the op's schema does (X/W for
 * Conv, x/w for ConvInteger), so the callers pass those names. */
#ifndef ONYX_OPS_CONV_ATTRS_H
#define ONYX_OPS_CONV_ATTRS_H

#include "conv.h"
#include "op.h"

#define OX_WIN_ATTR_MAX INT32_MAX

typedef enum ox_auto_pad {
    OX_AUTO_PAD_NOTSET,
    OX_AUTO_PAD_SAME_UPPER,
    OX_AUTO_PAD_SAME_LOWER,
    OX_AUTO_PAD_VALID
} ox_auto_pad;

/* The auto_pad attribute (absent or empty: NOTSET). */
onyx_status ox_get_auto_pad(ox_ctx *c, ox_auto_pad *out);
/* The ints attribute `name` into v[0..n): def everywhere when absent, else exactly n values
 * in [min, OX_WIN_ATTR_MAX]. */
onyx_status ox_get_win_ints(ox_ctx *c, const char *name, int n, int64_t def, int64_t min,
                            int64_t *v);
/* An int attribute in [min, OX_WIN_ATTR_MAX] (absent: def). */
onyx_status ox_get_win_int(ox_ctx *c, const char *name, int64_t def, int64_t min,
                           int64_t *out);
/* A 0/1 int attribute (absent: 0). */
onyx_status ox_get_flag(ox_ctx *c, const char *name, bool *out);

/* x must be [N, C, spatial...] with 1..OX_WIN_MAX_DIMS spatial dims; `name` is how the
 * message calls it. */
onyx_status ox_check_spatial_rank(ox_ctx *c, const onyx_tensor *x, const char *name);
/* A pool's kernel_shape (required, nd values) and ceil_mode. */
onyx_status ox_pool_kernel(ox_ctx *c, int nd, int64_t *kernel, bool *ceil_mode);
/* Kernel dims of a convolution weight w [M, C', k...] (named wname): each in
 * [1, OX_WIN_ATTR_MAX], and equal to the kernel_shape attribute when that is given. */
onyx_status ox_conv_kernel(ox_ctx *c, const onyx_tensor *w, const char *wname, int64_t *kernel);
/* x [N, C, ...] and w [M, C/group, ...] agree with `group`: it divides C and M. */
onyx_status ox_conv_groups(ox_ctx *c, const onyx_tensor *x, const onyx_tensor *w,
                           int64_t group, const char *xname, const char *wname);

/* Fills w for x [N, C, spatial...] and the kernel dims from the attributes strides,
 * dilations, pads and auto_pad. With explicit pads and ceil_mode the output size rounds up,
 * but the last window must still start inside the input or the left padding. SAME keeps
 * ceil(in / stride) outputs whatever ceil_mode, splitting the padding it needs evenly, the
 * odd one at the end (UPPER) or the beginning (LOWER). */
onyx_status ox_make_window(ox_ctx *c, const onyx_tensor *x, const int64_t *kernel,
                           bool ceil_mode, ox_window *w);
/* The grouped convolution of x [N, C, D...] by w [M, C/group, k...] (rank already checked
 * on x) from the attributes group, kernel_shape, strides, dilations, pads and auto_pad. */
onyx_status ox_conv_shape_of(ox_ctx *c, const onyx_tensor *x, const onyx_tensor *w,
                             const char *xname, const char *wname, ox_conv_shape *s);
/* The output of a global pool over x [N, C, ...]: y is [N, C, 1, ...]. */
onyx_status ox_set_global_pool_output(ox_ctx *c, const onyx_tensor *x, onyx_tensor *y);
/* Sets y to [n, ch, out...] of a windowed op. */
void ox_set_window_output(onyx_tensor *y, onyx_dtype t, int64_t n, int64_t ch,
                          const ox_window *w);

#endif
