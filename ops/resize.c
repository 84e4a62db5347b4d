/* resize.c — Resize (opsets 10-19 semantics) and Upsample (7, 9).
 *
 * Both ops reduce to one description, resize_spec: per axis the input and output lengths,
 * the scale and the coordinate transform, plus the interpolation (nearest, or a linear or
 * cubic filter). The output shape comes from the `scales` or `sizes` values, so infer asks
 * for them with ox_need_value. Run builds per-axis sampling tables in scratch and hands
 * them to the kernels (kernels/resize.h): nearest moves elements of any dtype, linear and
 * cubic compute in double like the ONNX reference.
 *
 * Versions: Resize-10 and Upsample have only `mode` (nearest or linear) and sample at
 * x / scale (asymmetric); their nearest takes floor when upsampling and ceil when
 * downsampling. Resize-11 adds roi, sizes, cubic and the coordinate / nearest modes; 13
 * makes roi and scales optional; 18 adds antialias, axes and keep_aspect_ratio_policy; 19
 * adds half_pixel_symmetric. */
#include <math.h>
#include <string.h>

#include "op.h"
#include "resize.h"

typedef struct resize_spec {
    int rank;
    ox_resize_coord coord;
    bool interp;                          /* linear or cubic; else nearest */
    ox_resize_filter filter;
    ox_nearest_mode nearest;
    double extrapolation;                 /* tf_crop_and_resize's fill value */
    int n_axes;                           /* the axes scales / sizes / roi refer to */
    int axes[ONYX_MAX_RANK];
    bool resized[ONYX_MAX_RANK];
    bool roi_known;                       /* geom roi fields are set */
    ox_resize_geom geom[ONYX_MAX_RANK];   /* per axis: in, out, scale, coord, roi */
} resize_spec;

static bool is_crop(const resize_spec *p) { return p->coord == OX_COORD_TF_CROP_AND_RESIZE; }

/* ---- attributes -------------------------------------------------------------------------- */

static onyx_status check_attr_types(ox_ctx *c)
{
    static const struct {
        const char *name;
        ox_attr_type type;
    } attrs[] = {
        {"mode", OX_ATTR_STRING}, {"coordinate_transformation_mode", OX_ATTR_STRING},
        {"nearest_mode", OX_ATTR_STRING}, {"keep_aspect_ratio_policy", OX_ATTR_STRING},
        {"cubic_coeff_a", OX_ATTR_FLOAT}, {"extrapolation_value", OX_ATTR_FLOAT},
        {"exclude_outside", OX_ATTR_INT}, {"antialias", OX_ATTR_INT},
        {"axes", OX_ATTR_INTS}, {"scales", OX_ATTR_FLOATS},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        onyx_status st = ox_attr_expect(c, attrs[i].name, attrs[i].type);
        if (st) return st;
    }
    return ONYX_OK;
}

static onyx_status parse_mode(ox_ctx *c, resize_spec *p, bool cubic_allowed)
{
    const char *m = ox_attr_string(c, "mode", "nearest");
    p->interp = strcmp(m, "nearest") != 0;
    p->filter.cubic = cubic_allowed && !strcmp(m, "cubic");
    if (p->interp && !p->filter.cubic && strcmp(m, "linear"))
        return ox_fail(c, ONYX_E_ARG, "unknown mode '%s' (expected nearest, linear%s)", m,
                       cubic_allowed ? " or cubic" : "");
    return ONYX_OK;
}

/* half_pixel_symmetric is specified from opset 19 and tf_half_pixel_for_nn up to 12; both
 * names are unambiguous, so they are accepted at every opset from 11 on. */
static onyx_status parse_coord(ox_ctx *c, ox_resize_coord *out)
{
    static const struct {
        const char *name;
        ox_resize_coord coord;
    } modes[] = {
        {"half_pixel", OX_COORD_HALF_PIXEL},
        {"half_pixel_symmetric", OX_COORD_HALF_PIXEL_SYMMETRIC},
        {"pytorch_half_pixel", OX_COORD_PYTORCH_HALF_PIXEL},
        {"align_corners", OX_COORD_ALIGN_CORNERS},
        {"asymmetric", OX_COORD_ASYMMETRIC},
        {"tf_half_pixel_for_nn", OX_COORD_TF_HALF_PIXEL_FOR_NN},
        {"tf_crop_and_resize", OX_COORD_TF_CROP_AND_RESIZE},
    };
    const char *m = ox_attr_string(c, "coordinate_transformation_mode", "half_pixel");
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(m, modes[i].name)) {
            *out = modes[i].coord;
            return ONYX_OK;
        }
    return ox_fail(c, ONYX_E_ARG, "unknown coordinate_transformation_mode '%s'", m);
}

static onyx_status parse_nearest(ox_ctx *c, ox_nearest_mode *out)
{
    static const struct {
        const char *name;
        ox_nearest_mode mode;
    } modes[] = {
        {"round_prefer_floor", OX_NEAREST_ROUND_PREFER_FLOOR},
        {"round_prefer_ceil", OX_NEAREST_ROUND_PREFER_CEIL},
        {"floor", OX_NEAREST_FLOOR},
        {"ceil", OX_NEAREST_CEIL},
    };
    const char *m = ox_attr_string(c, "nearest_mode", "round_prefer_floor");
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(m, modes[i].name)) {
            *out = modes[i].mode;
            return ONYX_OK;
        }
    return ox_fail(c, ONYX_E_ARG, "unknown nearest_mode '%s'", m);
}

/* The axes scales / sizes / roi refer to: attribute `axes` (opset 18+) or every axis. */
static onyx_status read_axes(ox_ctx *c, resize_spec *p)
{
    const int64_t *a = NULL;
    size_t n = c->opset >= 18 ? ox_attr_ints(c, "axes", &a) : 0;
    if (!a) {
        p->n_axes = p->rank;
        for (int d = 0; d < p->rank; d++) {
            p->axes[d] = d;
            p->resized[d] = true;
        }
    } else {
        if (n == 0 || n > (size_t)p->rank)
            return ox_fail(c, ONYX_E_ARG, "attribute 'axes' has %zu values for rank %d", n, p->rank);
        p->n_axes = (int)n;
        for (size_t i = 0; i < n; i++) {
            onyx_status st = ox_norm_axis(c, a[i], p->rank, "axis", &p->axes[i]);
            if (st) return st;
            if (p->resized[p->axes[i]])
                return ox_fail(c, ONYX_E_ARG, "axis %d is repeated", p->axes[i]);
            p->resized[p->axes[i]] = true;
        }
    }
    return ONYX_OK;
}

/* ---- output shape ------------------------------------------------------------------------ */

/* Sets axis d's scale and output length floor(in * scale). Upsample's scales are >= 1. */
static onyx_status set_scale(ox_ctx *c, resize_spec *p, int d, double s, bool upsample)
{
    ox_resize_geom *g = &p->geom[d];
    if (!(upsample ? s >= 1 : s > 0) || !(s <= 1e18))
        return ox_fail(c, ONYX_E_ARG, "scale %g for axis %d is invalid (must be %s and <= 1e18)",
                       s, d, upsample ? ">= 1" : "> 0");
    double out = floor((double)g->in * s);
    if (out > 4e18) return ox_fail(c, ONYX_E_SHAPE, "axis %d is too large after scaling", d);
    g->scale = s;
    g->out = (int64_t)out;
    return ONYX_OK;
}

/* Scales from a float tensor (input i), one per resized axis. */
static onyx_status read_scales(ox_ctx *c, int i, resize_spec *p, bool upsample)
{
    onyx_status st = ox_need_value(c, i);
    if (st) return st;
    const onyx_tensor *t = c->in[i];
    if (!ox_dtype_is_float(t->dtype) || t->rank > 1)
        return ox_fail(c, ONYX_E_ARG, "scales must be a 1-D float tensor");
    if (ox_tensor_numel(t) != p->n_axes)
        return ox_fail(c, ONYX_E_ARG, "scales has %lld values, expected %d",
                       (long long)ox_tensor_numel(t), p->n_axes);
    for (int k = 0; k < p->n_axes; k++)
        if ((st = set_scale(c, p, p->axes[k], ox_read_f64(t, k), upsample))) return st;
    return ONYX_OK;
}

/* Output lengths from `sizes` (input 3), adjusted by keep_aspect_ratio_policy (opset 18+):
 * not_larger / not_smaller scale every resized axis by the smallest / largest ratio. */
static onyx_status read_sizes(ox_ctx *c, resize_spec *p)
{
    int64_t sizes[ONYX_MAX_RANK];
    int n;
    onyx_status st = ox_input_ints(c, 3, "sizes", sizes, ONYX_MAX_RANK, &n);
    if (st) return st;
    if (n != p->n_axes) return ox_fail(c, ONYX_E_ARG, "sizes has %d values, expected %d", n, p->n_axes);
    const char *policy = c->opset >= 18 ? ox_attr_string(c, "keep_aspect_ratio_policy", "stretch")
                                        : "stretch";
    bool stretch = !strcmp(policy, "stretch"), larger = !strcmp(policy, "not_larger");
    if (!stretch && !larger && strcmp(policy, "not_smaller"))
        return ox_fail(c, ONYX_E_ARG, "unknown keep_aspect_ratio_policy '%s'", policy);
    double keep = 0;
    for (int k = 0; k < n; k++) {
        ox_resize_geom *g = &p->geom[p->axes[k]];
        if (sizes[k] < 0)
            return ox_fail(c, ONYX_E_ARG, "sizes[%d] = %lld is negative", k, (long long)sizes[k]);
        if (g->in == 0 && (sizes[k] != 0 || !stretch))
            return ox_fail(c, ONYX_E_SHAPE, "axis %d of length 0 cannot be resized to %lld",
                           p->axes[k], (long long)sizes[k]);
        g->out = sizes[k];
        g->scale = g->in ? (double)sizes[k] / (double)g->in : 1.0;
        if (k == 0 || (larger ? g->scale < keep : g->scale > keep)) keep = g->scale;
    }
    if (stretch) return ONYX_OK;
    for (int k = 0; k < n; k++) {
        ox_resize_geom *g = &p->geom[p->axes[k]];
        double out = floor(keep * (double)g->in + 0.5); /* round half up */
        if (out > 4e18) return ox_fail(c, ONYX_E_SHAPE, "axis %d is too large", p->axes[k]);
        g->scale = keep;
        g->out = (int64_t)out;
    }
    return ONYX_OK;
}

/* scales (input 2) or sizes (input 3) of Resize-11+: exactly one is given non-empty. */
static onyx_status read_scales_or_sizes(ox_ctx *c, resize_spec *p)
{
    const onyx_tensor *sc = ox_opt_in(c, 2), *sz = ox_opt_in(c, 3);
    bool has_scales = sc && ox_tensor_numel(sc) > 0, has_sizes = sz && ox_tensor_numel(sz) > 0;
    if (has_scales == has_sizes)
        return ox_fail(c, ONYX_E_ARG, "exactly one of 'scales' and 'sizes' must be given, %s",
                       has_scales ? "both are" : "neither is");
    if (has_sizes) return read_sizes(c, p);
    if (c->opset >= 18 && strcmp(ox_attr_string(c, "keep_aspect_ratio_policy", "stretch"), "stretch"))
        return ox_fail(c, ONYX_E_ARG, "keep_aspect_ratio_policy applies to 'sizes', not 'scales'");
    return read_scales(c, 2, p, false);
}

/* Reads roi (input 1) into the crop bounds when coordinate_transformation_mode is
 * tf_crop_and_resize (and ignores it otherwise): [starts..., ends...] over the resized
 * axes. Its values may be unknown at plan time; they do not change the output shape. */
static onyx_status read_roi(ox_ctx *c, resize_spec *p)
{
    p->roi_known = true;
    if (!is_crop(p)) return ONYX_OK;
    const onyx_tensor *roi = ox_opt_in(c, 1);
    if (!roi || ox_tensor_numel(roi) != 2 * p->n_axes || roi->rank != 1 || !ox_dtype_is_float(roi->dtype))
        return ox_fail(c, ONYX_E_ARG, "tf_crop_and_resize needs roi, a 1-D float tensor of %d values",
                       2 * p->n_axes);
    p->roi_known = roi->data != NULL;
    if (!p->roi_known) return ONYX_OK;
    for (int k = 0; k < p->n_axes; k++) {
        p->geom[p->axes[k]].roi_start = ox_read_f64(roi, k);
        p->geom[p->axes[k]].roi_end = ox_read_f64(roi, p->n_axes + k);
    }
    return ONYX_OK;
}

/* Fills p for Resize (any opset) or Upsample from the node's attributes and inputs. */
static onyx_status read_spec(ox_ctx *c, bool upsample, resize_spec *p)
{
    const onyx_tensor *x = c->in[0];
    memset(p, 0, sizeof *p);
    p->rank = x->rank;
    if (x->rank < 1) return ox_fail(c, ONYX_E_SHAPE, "input must have rank >= 1");
    p->coord = OX_COORD_ASYMMETRIC;
    p->nearest = OX_NEAREST_SIMPLE;
    bool modern = !upsample && c->opset >= 11;
    onyx_status st = check_attr_types(c);
    if (!st) st = parse_mode(c, p, modern);
    if (!st && modern) st = parse_coord(c, &p->coord);
    if (!st && modern) st = parse_nearest(c, &p->nearest);
    if (!st) st = read_axes(c, p);
    if (st) return st;
    if (modern) {
        p->filter.cubic_a = ox_attr_float(c, "cubic_coeff_a", -0.75f);
        p->filter.exclude_outside = ox_attr_int(c, "exclude_outside", 0) != 0;
        p->filter.antialias = c->opset >= 18 && ox_attr_int(c, "antialias", 0) != 0;
        p->extrapolation = ox_attr_float(c, "extrapolation_value", 0.0f);
    }
    for (int d = 0; d < p->rank; d++)
        p->geom[d] = (ox_resize_geom){x->dims[d], x->dims[d], 1.0, p->coord, 0.0, 1.0};
    if (modern) {
        st = read_scales_or_sizes(c, p);
    } else if (upsample && c->opset < 9) {
        const float *s = NULL;
        size_t n = ox_attr_floats(c, "scales", &s);
        if (!s || n != (size_t)p->rank)
            return ox_fail(c, ONYX_E_ARG, "attribute 'scales' must have %d values", p->rank);
        for (int d = 0; d < p->rank && !st; d++) st = set_scale(c, p, d, s[d], true);
    } else {
        if (!ox_opt_in(c, 1)) return ox_fail(c, ONYX_E_ARG, "input 'scales' is missing");
        st = read_scales(c, 1, p, upsample);
    }
    if (!st) st = read_roi(c, p);
    return st;
}

/* ---- sampling tables --------------------------------------------------------------------- */

/* An axis whose output is its input: not resized, or scale 1 with no crop. Such axes are
 * copied, not filtered (as the reference skips them), so a filter never mixes in taps with
 * weight 0 there. Unknown roi counts as a crop (an upper bound on the scratch needed). */
static bool axis_identity(const resize_spec *p, int d)
{
    const ox_resize_geom *g = &p->geom[d];
    if (!p->resized[d]) return true;
    if (g->out != g->in || g->scale != 1.0) return false;
    return !is_crop(p) || (p->roi_known && g->roi_start == 0.0 && g->roi_end == 1.0);
}

/* Taps of every axis; fails when an antialiased filter would be too wide. */
static onyx_status axis_taps(ox_ctx *c, const resize_spec *p, int *taps)
{
    for (int d = 0; d < p->rank; d++) {
        taps[d] = 1;
        if (axis_identity(p, d) || !p->interp) continue;
        taps[d] = ox_resize_taps(&p->filter, p->geom[d].scale);
        if (taps[d] == 0)
            return ox_fail(c, ONYX_E_UNSUPPORTED, "scale %g of axis %d is too small for antialias",
                           p->geom[d].scale, d);
    }
    return ONYX_OK;
}

/* Where each table lives in scratch (byte offsets). */
typedef struct scratch_layout {
    size_t src[ONYX_MAX_RANK], w[ONYX_MAX_RANK], fill[ONYX_MAX_RANK], work, total;
} scratch_layout;

/* Reserves count elements of size bytes at *at (8-byte aligned); false on overflow. */
static bool reserve(size_t *at, int64_t count, size_t size, size_t *off)
{
    size_t a = (*at + 7) & ~(size_t)7;
    if (a < *at || count < 0 || (uint64_t)count > (SIZE_MAX - a) / size) return false;
    *off = a;
    *at = a + (size_t)count * size;
    return true;
}

/* Lays out the tables and the interpolation work buffer. The sizes are first estimated in
 * double, so the exact int64 arithmetic below cannot overflow for absurd shapes. */
static onyx_status plan_scratch(ox_ctx *c, const resize_spec *p, const int *taps,
                                scratch_layout *l)
{
    int64_t in[ONYX_MAX_RANK] = {0}, dims[ONYX_MAX_RANK] = {0};
    const int last = p->rank - 1;
    double estimate = (double)c->threads * ((double)p->rank * (double)p->geom[last].in +
                                            (double)p->geom[last].out) * 8.0;
    for (int d = 0; d < p->rank; d++) {
        in[d] = p->geom[d].in;
        dims[d] = p->geom[d].out;
        estimate += (double)dims[d] * (taps[d] * 16.0 + 1);
    }
    if (estimate > 1e18)
        return ox_fail(c, ONYX_E_LIMIT, "sampling tables would need %g bytes", estimate);
    size_t at = 0;
    bool ok = true;
    for (int d = 0; d < p->rank; d++)
        ok = ok && reserve(&at, dims[d] * taps[d], sizeof(int64_t), &l->src[d]) &&
             reserve(&at, dims[d], 1, &l->fill[d]) &&
             (!p->interp || reserve(&at, dims[d] * taps[d], sizeof(double), &l->w[d]));
    int64_t work = p->interp ? ox_resize_interp_work(p->rank, in, dims, c->threads) : 0;
    if (!ok || !reserve(&at, work, sizeof(double), &l->work))
        return ox_fail(c, ONYX_E_LIMIT, "scratch size overflows");
    l->total = at;
    return ONYX_OK;
}

/* Builds every axis's table in scratch. */
static void build_tables(const resize_spec *p, const int *taps, const scratch_layout *l,
                         char *scratch, ox_resize_axis *ax)
{
    int64_t strides[ONYX_MAX_RANK], in_dims[ONYX_MAX_RANK];
    for (int d = 0; d < p->rank; d++) in_dims[d] = p->geom[d].in;
    ox_dense_strides(p->rank, in_dims, strides);
    for (int d = 0; d < p->rank; d++) {
        ox_resize_axis *a = &ax[d];
        a->taps = taps[d];
        a->src = (int64_t *)(void *)(scratch + l->src[d]);
        a->fill = (uint8_t *)(scratch + l->fill[d]);
        a->w = p->interp ? (double *)(void *)(scratch + l->w[d]) : NULL;
        if (axis_identity(p, d))
            ox_resize_identity_table(p->geom[d].in, strides[d], a);
        else if (p->interp)
            ox_resize_filter_table(&p->geom[d], &p->filter, strides[d], a);
        else
            ox_resize_nearest_table(&p->geom[d], p->nearest, strides[d], a);
    }
}

/* ---- infer and run ----------------------------------------------------------------------- */

static onyx_status infer_common(ox_ctx *c, bool upsample)
{
    onyx_status st = ox_need_io(c, 1);
    if (st) return st;
    const onyx_tensor *x = c->in[0];
    size_t es;
    if ((st = ox_elem_size(c, x->dtype, &es))) return st;
    resize_spec p;
    if ((st = read_spec(c, upsample, &p))) return st;
    if ((p.interp || is_crop(&p)) && !ox_resize_interp_supported(x->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "%s of dtype %s is not supported",
                       p.interp ? "interpolation" : "tf_crop_and_resize", onyx_dtype_name(x->dtype));
    int64_t dims[ONYX_MAX_RANK], n_out;
    for (int d = 0; d < p.rank; d++) dims[d] = p.geom[d].out;
    if (!ox_shape_numel(p.rank, dims, &n_out)) return ox_fail(c, ONYX_E_SHAPE, "output too large");
    ox_set_shape(c->out[0], x->dtype, p.rank, dims);
    if (n_out == 0) return ONYX_OK;
    if (ox_tensor_numel(x) == 0)
        return ox_fail(c, ONYX_E_SHAPE, "an empty input cannot be resized to a non-empty output");
    int taps[ONYX_MAX_RANK];
    scratch_layout l;
    if ((st = axis_taps(c, &p, taps)) || (st = plan_scratch(c, &p, taps, &l))) return st;
    c->scratch_bytes = l.total;
    return ONYX_OK;
}

static onyx_status run_common(ox_ctx *c, bool upsample)
{
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    if (ox_tensor_numel(y) == 0) return ONYX_OK;
    resize_spec p;
    int taps[ONYX_MAX_RANK];
    scratch_layout l;
    onyx_status st;
    if ((st = read_spec(c, upsample, &p)) || (st = axis_taps(c, &p, taps)) ||
        (st = plan_scratch(c, &p, taps, &l)) || (st = ox_check_scratch(c, l.total)))
        return st;
    ox_resize_axis ax[ONYX_MAX_RANK];
    build_tables(&p, taps, &l, c->scratch, ax);
    if (p.interp) {
        double *work = (double *)(void *)((char *)c->scratch + l.work);
        ox_resize_interp(p.rank, ax, x->dtype, x->data, y->data, p.extrapolation, work, c->threads);
    } else {
        /* The fill element (tf_crop_and_resize only, numeric types only). */
        union { unsigned char b[16]; double align; } fill = {{0}};
        if (is_crop(&p)) ox_resize_store(x->dtype, &p.extrapolation, 1, fill.b);
        ox_resize_gather(p.rank, ax, onyx_dtype_size(x->dtype), x->data, y->data, fill.b, c->threads);
    }
    return ONYX_OK;
}

static onyx_status resize_infer(ox_ctx *c) { return infer_common(c, false); }
static onyx_status resize_run(ox_ctx *c) { return run_common(c, false); }
static onyx_status upsample_infer(ox_ctx *c) { return infer_common(c, true); }
static onyx_status upsample_run(ox_ctx *c) { return run_common(c, true); }

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_resize[] = {
    {"Resize", "", 10, 28, resize_infer, resize_run, 0},
    {"Upsample", "", 7, 9, upsample_infer, upsample_run, 0},
};
const size_t ox_ops_resize_count = sizeof ox_ops_resize / sizeof ox_ops_resize[0];
