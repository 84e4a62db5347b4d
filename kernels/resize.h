/* resize.h — resampling an N-d tensor (Resize, Upsample).
 *
 * Work is split in two steps. First, per axis, a table says where each output index reads:
 * `taps` source positions (already clamped into the input, as element offsets along the
 * axis) with their weights, and whether the output lies outside a crop region and takes a
 * fill value instead. The table builders here implement the ONNX coordinate transforms,
 * nearest rounding modes and linear/cubic filters (with antialiasing and exclude_outside).
 * Second, a driver walks the output a row (all positions along the last axis) at a time:
 * nearest copies the one selected element (any dtype, bit-exact); linear and cubic resample,
 * in double, the input rows the outer axes select into one row of the input's width, then
 * that row along the last axis. Sums associate as in the ONNX reference's axis-by-axis
 * passes (axis 0 first), so results match it closely, rounding ties included, with no
 * intermediate tensors: the work buffer is a few rows per thread. */
#ifndef ONYX_KERNELS_RESIZE_H
#define ONYX_KERNELS_RESIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

/* How an output coordinate maps to an input coordinate (ONNX coordinate_transformation_mode). */
typedef enum ox_resize_coord {
    OX_COORD_HALF_PIXEL,
    OX_COORD_HALF_PIXEL_SYMMETRIC,
    OX_COORD_PYTORCH_HALF_PIXEL,
    OX_COORD_ALIGN_CORNERS,
    OX_COORD_ASYMMETRIC,
    OX_COORD_TF_HALF_PIXEL_FOR_NN,
    OX_COORD_TF_CROP_AND_RESIZE
} ox_resize_coord;

/* How nearest picks an input index from a fractional coordinate. SIMPLE is the rule of
 * Resize-10 and Upsample (which have no nearest_mode): floor when the axis is upsampled,
 * ceil when it is downsampled. */
typedef enum ox_nearest_mode {
    OX_NEAREST_ROUND_PREFER_FLOOR,
    OX_NEAREST_ROUND_PREFER_CEIL,
    OX_NEAREST_FLOOR,
    OX_NEAREST_CEIL,
    OX_NEAREST_SIMPLE
} ox_nearest_mode;

/* One axis's geometry. scale is the factor the model gave (a `scales` value, or
 * output/input when `sizes` were given); out = the integer output length. */
typedef struct ox_resize_geom {
    int64_t in, out;
    double scale;
    ox_resize_coord coord;
    double roi_start, roi_end; /* tf_crop_and_resize only: the crop, normalised to [0, 1] */
} ox_resize_geom;

/* The linear or cubic filter. */
typedef struct ox_resize_filter {
    bool cubic;           /* else linear */
    double cubic_a;       /* cubic_coeff_a */
    bool antialias;       /* stretch the filter by 1/scale when downscaling */
    bool exclude_outside; /* zero the weights of taps outside the input and renormalise */
} ox_resize_filter;

/* Where the outputs along one axis read. src and w hold out * taps entries (output-major);
 * w is NULL for nearest. fill[o] is 1 where output o takes the fill value. */
typedef struct ox_resize_axis {
    int64_t in, out;
    int taps;
    int64_t *src; /* element offsets into the input: clamped index * axis stride */
    double *w;
    uint8_t *fill;
} ox_resize_axis;

/* Taps per output of filter f at this scale, or 0 when an antialiased filter would be too
 * wide (scale below about 1e-6). */
int ox_resize_taps(const ox_resize_filter *f, double scale);

/* Table for an axis that is not resized: output o reads input o (weight 1). */
void ox_resize_identity_table(int64_t n, int64_t stride, ox_resize_axis *a);
/* Table for nearest resampling (taps 1, no weights). */
void ox_resize_nearest_table(const ox_resize_geom *g, ox_nearest_mode m, int64_t stride,
                             ox_resize_axis *a);
/* Table for filter f; a->taps must be ox_resize_taps(f, g->scale). */
void ox_resize_filter_table(const ox_resize_geom *g, const ox_resize_filter *f, int64_t stride,
                            ox_resize_axis *a);

/* Element sizes ox_resize_gather can move: any, via memcpy for unusual sizes. Copies, for
 * each output element, the input element its per-axis offsets select, or `fill` (one
 * element of esize bytes) where some axis marks the output as filled. Input and output are
 * dense row-major of rank >= 1; ax[d].out are the output dims. */
void ox_resize_gather(int rank, const ox_resize_axis *ax, size_t esize, const void *x, void *y,
                      const void *fill, int threads);

/* True for the dtypes ox_resize_interp computes: every integer type, float, double, float16
 * and bfloat16. */
bool ox_resize_interp_supported(onyx_dtype t);

/* Doubles ox_resize_interp needs as its work buffer. */
int64_t ox_resize_interp_work(int rank, const int64_t *in_dims, const int64_t *out_dims,
                              int threads);

/* y = x resampled by the axes' weights (one axis after another), computed in double and
 * stored in t: integers rounded half to even and saturated to their range, float16 and
 * bfloat16 saturated to their largest finite value, float rounded. Outputs marked filled
 * get `fill`. work: ox_resize_interp_work doubles. */
void ox_resize_interp(int rank, const ox_resize_axis *ax, onyx_dtype t, const void *x, void *y,
                      double fill, double *work, int threads);

/* Stores n doubles as dtype t (a type ox_resize_interp_supported accepts), rounding and
 * saturating as ox_resize_interp does. */
void ox_resize_store(onyx_dtype t, const double *v, int64_t n, void *y);

#endif
