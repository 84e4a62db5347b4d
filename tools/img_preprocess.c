/* img_preprocess.c — resizing, cropping, letterboxing and image <-> tensor conversion with
 * the semantics of PIL and torchvision (docs/VISION.md says exactly which).
 *
 * Resizing is PIL's: a separable convolution whose weights, for output pixel i of an axis
 * scaled by s = in / out, are filter((j + 0.5 - (i + 0.5) * s) / max(s, 1)) over the source
 * pixels j within support * max(s, 1) of the centre, normalised to sum 1. Shrinking thus
 * widens the filter (antialiasing). 8-bit images use PIL's 22-bit fixed-point weights and
 * round each pass to 8 bits, so they come out as PIL's do; float images accumulate in
 * double and store float after each pass, as PIL's mode "F" does. */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "img.h"

/* img_error's value made visible to the static analyzer, which does not follow variadic calls */
#define FAIL(err, st, ...) (img_error((err), (st), __VA_ARGS__), (st))
#define FIX_BITS 22 /* PIL's PRECISION_BITS for 8-bit resampling: 32 - 8 - 2 */

/* ---- filters and weights --------------------------------------------------------------- */

static double filter_box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

static double filter_bilinear(double x)
{
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double filter_bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

/* The weights of one axis: output pixel i reads source pixels lo[i] .. lo[i] + len[i] - 1
 * with weights w[i * ksize ...] (and fixed-point copies fw). */
typedef struct axis_weights {
    int ksize;
    int *lo, *len;
    double *w;
    int32_t *fw;
} axis_weights;

static void axis_free(axis_weights *a)
{
    free(a->lo);
    free(a->len);
    free(a->w);
    free(a->fw);
    memset(a, 0, sizeof *a);
}

static onyx_status axis_make(int in_size, int out_size, img_filter f, axis_weights *a, onyx_error *err)
{
    memset(a, 0, sizeof *a);
    double (*fn)(double) = f == IMG_FILTER_BOX ? filter_box : f == IMG_FILTER_BICUBIC ? filter_bicubic : filter_bilinear;
    double support = f == IMG_FILTER_BOX ? 0.5 : f == IMG_FILTER_BICUBIC ? 2.0 : 1.0;
    double scale = (double)in_size / out_size, fscale = scale < 1.0 ? 1.0 : scale;
    support *= fscale;
    double kd = ceil(support) * 2.0 + 1.0;
    if (kd > (double)INT_MAX || (size_t)kd > SIZE_MAX / sizeof(double) / (size_t)out_size)
        return FAIL(err, ONYX_E_LIMIT, "resize kernel too large");
    a->ksize = (int)kd;
    size_t nk = (size_t)a->ksize * (size_t)out_size;
    a->lo = calloc((size_t)out_size, sizeof *a->lo);
    a->len = calloc((size_t)out_size, sizeof *a->len);
    a->w = calloc(nk, sizeof *a->w);
    a->fw = calloc(nk, sizeof *a->fw);
    if (!a->lo || !a->len || !a->w || !a->fw) {
        axis_free(a);
        return FAIL(err, ONYX_E_NOMEM, "out of memory for resize weights");
    }
    double inv = 1.0 / fscale;
    for (int i = 0; i < out_size; i++) {
        double center = (i + 0.5) * scale;
        /* truncation toward zero, then clamping, as PIL does */
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        if (hi - lo > a->ksize) hi = lo + a->ksize; /* cannot happen; keeps the bound plain */
        int n = hi > lo ? (int)(hi - lo) : 0;
        double *w = a->w + (size_t)i * (size_t)a->ksize, sum = 0.0;
        for (int j = 0; j < n; j++) {
            w[j] = fn(((double)j + (double)lo - center + 0.5) * inv);
            sum += w[j];
        }
        int32_t *fw = a->fw + (size_t)i * (size_t)a->ksize;
        for (int j = 0; j < n; j++) {
            if (sum != 0.0) w[j] /= sum;
            double v = w[j] * (double)(1 << FIX_BITS);
            fw[j] = (int32_t)(v < 0.0 ? v - 0.5 : v + 0.5);
        }
        a->lo[i] = (int)lo;
        a->len[i] = n;
    }
    return ONYX_OK;
}

/* A value on the 0..255 scale as a sample: rounded half up, clamped, NaN → 0. */
static uint8_t sample_u8(float v)
{
    if (!(v > 0.0f)) return 0;
    return v >= 255.0f ? 255 : (uint8_t)lroundf(v);
}

static uint8_t fix_to_u8(int64_t acc)
{
    if (acc <= 0) return 0;
    acc >>= FIX_BITS;
    return acc > 255 ? 255 : (uint8_t)acc;
}

/* ---- resampling passes ----------------------------------------------------------------- */

/* Horizontal pass: in (w_in x h, c channels) → out (a->out x h). */
static void pass_h(const img_image *in, const axis_weights *a, img_image *out)
{
    int c = in->channels, wi = in->width, wo = out->width;
    for (int y = 0; y < in->height; y++) {
        for (int x = 0; x < wo; x++) {
            int lo = a->lo[x], n = a->len[x];
            size_t k = (size_t)x * (size_t)a->ksize;
            for (int ch = 0; ch < c; ch++) {
                size_t src = ((size_t)y * (size_t)wi + (size_t)lo) * (size_t)c + (size_t)ch;
                size_t dst = ((size_t)y * (size_t)wo + (size_t)x) * (size_t)c + (size_t)ch;
                if (in->sample == IMG_U8) {
                    const uint8_t *s = (const uint8_t *)in->data + src;
                    int64_t acc = (int64_t)1 << (FIX_BITS - 1);
                    for (int j = 0; j < n; j++) acc += (int64_t)s[(size_t)j * (size_t)c] * a->fw[k + (size_t)j];
                    ((uint8_t *)out->data)[dst] = fix_to_u8(acc);
                } else {
                    const float *s = (const float *)in->data + src;
                    double acc = 0.0;
                    for (int j = 0; j < n; j++) acc += (double)s[(size_t)j * (size_t)c] * a->w[k + (size_t)j];
                    ((float *)out->data)[dst] = (float)acc;
                }
            }
        }
    }
}

/* Vertical pass: in (w x h_in) → out (w x a->out). */
static void pass_v(const img_image *in, const axis_weights *a, img_image *out)
{
    size_t row = (size_t)in->width * (size_t)in->channels;
    for (int y = 0; y < out->height; y++) {
        int lo = a->lo[y], n = a->len[y];
        size_t k = (size_t)y * (size_t)a->ksize;
        for (size_t i = 0; i < row; i++) {
            size_t src = (size_t)lo * row + i;
            if (in->sample == IMG_U8) {
                const uint8_t *s = (const uint8_t *)in->data + src;
                int64_t acc = (int64_t)1 << (FIX_BITS - 1);
                for (int j = 0; j < n; j++) acc += (int64_t)s[(size_t)j * row] * a->fw[k + (size_t)j];
                ((uint8_t *)out->data)[(size_t)y * row + i] = fix_to_u8(acc);
            } else {
                const float *s = (const float *)in->data + src;
                double acc = 0.0;
                for (int j = 0; j < n; j++) acc += (double)s[(size_t)j * row] * a->w[k + (size_t)j];
                ((float *)out->data)[(size_t)y * row + i] = (float)acc;
            }
        }
    }
}

/* PIL resizes LA/RGBA premultiplied (as "La"/"RGBa"), with these 8-bit roundings. */
static void premultiply(img_image *im)
{
    int c = im->channels;
    size_t n = (size_t)im->width * (size_t)im->height;
    if (im->sample == IMG_U8) {
        uint8_t *p = im->data;
        for (size_t i = 0; i < n; i++, p += c) {
            uint32_t a = p[c - 1];
            for (int ch = 0; ch < c - 1; ch++) {
                uint32_t t = p[ch] * a + 128;
                p[ch] = (uint8_t)(((t >> 8) + t) >> 8);
            }
        }
    } else {
        float *p = im->data;
        for (size_t i = 0; i < n; i++, p += c)
            for (int ch = 0; ch < c - 1; ch++) p[ch] *= p[c - 1];
    }
}

static void unpremultiply(img_image *im)
{
    int c = im->channels;
    size_t n = (size_t)im->width * (size_t)im->height;
    if (im->sample == IMG_U8) {
        uint8_t *p = im->data;
        for (size_t i = 0; i < n; i++, p += c) {
            uint32_t a = p[c - 1];
            if (a == 0 || a == 255) continue;
            for (int ch = 0; ch < c - 1; ch++) {
                uint32_t v = 255u * p[ch] / a;
                p[ch] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    } else {
        float *p = im->data;
        for (size_t i = 0; i < n; i++, p += c)
            if (p[c - 1] != 0.0f)
                for (int ch = 0; ch < c - 1; ch++) p[ch] /= p[c - 1];
    }
}

/* PIL's NEAREST: source index floor(s / 2 + i * s), the position accumulated in double
 * exactly as PIL accumulates it (which decides the ties). */
static onyx_status nearest_index(int in_size, int out_size, int **idx, onyx_error *err)
{
    *idx = malloc(sizeof **idx * (size_t)out_size);
    if (!*idx) return FAIL(err, ONYX_E_NOMEM, "out of memory for resize");
    double s = (double)in_size / out_size, pos = s * 0.5;
    for (int i = 0; i < out_size; i++) {
        int v = pos < (double)in_size ? (int)pos : in_size - 1;
        (*idx)[i] = v < 0 ? 0 : v;
        pos += s;
    }
    return ONYX_OK;
}

static onyx_status resize_nearest(const img_image *in, img_image *out, onyx_error *err)
{
    int *xi = NULL, *yi = NULL;
    onyx_status st = nearest_index(in->width, out->width, &xi, err);
    if (!st) st = nearest_index(in->height, out->height, &yi, err);
    if (!st) {
        size_t px = (size_t)in->channels * (in->sample == IMG_F32 ? sizeof(float) : 1);
        const uint8_t *s = in->data;
        uint8_t *d = out->data;
        for (int y = 0; y < out->height; y++)
            for (int x = 0; x < out->width; x++, d += px)
                memcpy(d, s + ((size_t)yi[y] * (size_t)in->width + (size_t)xi[x]) * px, px);
    }
    free(xi);
    free(yi);
    return st;
}

static onyx_status new_image(const img_image *like, int w, int h, img_image *out, onyx_error *err)
{
    img_image im = {.width = w, .height = h, .channels = like->channels, .sample = like->sample,
                    .format = like->format, .bit_depth = like->bit_depth, .orientation = like->orientation};
    onyx_status st = img_alloc(&im, err);
    *out = im;
    return st;
}

static bool image_ok(const img_image *im)
{
    return im && im->data && im->width > 0 && im->height > 0 && im->channels >= 1 && im->channels <= 4 &&
           (im->sample == IMG_U8 || im->sample == IMG_F32);
}

onyx_status img_resize(const img_image *in, int w, int h, img_filter f, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    if (!image_ok(in)) return FAIL(err, ONYX_E_ARG, "invalid image");
    if (w <= 0 || h <= 0) return FAIL(err, ONYX_E_ARG, "invalid resize target %d x %d", w, h);
    if (f != IMG_FILTER_BILINEAR && f != IMG_FILTER_NEAREST && f != IMG_FILTER_BOX && f != IMG_FILTER_BICUBIC)
        return FAIL(err, ONYX_E_ARG, "invalid resize filter %d", (int)f);
    if (w == in->width && h == in->height) return img_copy(in, out, err);
    onyx_status st;
    if (f == IMG_FILTER_NEAREST) {
        if ((st = new_image(in, w, h, out, err))) return st;
        if ((st = resize_nearest(in, out, err))) img_free(out);
        return st;
    }
    bool alpha = in->channels == 2 || in->channels == 4;
    img_image pre = {0}, mid = {0};
    const img_image *src = in;
    axis_weights ax = {0}, ay = {0};
    if (alpha) {
        if ((st = img_copy(in, &pre, err))) return st;
        premultiply(&pre);
        src = &pre;
    }
    if (w != in->width) {
        st = axis_make(in->width, w, f, &ax, err);
        if (!st) st = new_image(in, w, in->height, h != in->height ? &mid : out, err);
        if (!st) pass_h(src, &ax, h != in->height ? &mid : out);
        if (h != in->height) src = &mid;
    } else {
        st = ONYX_OK;
    }
    if (!st && h != in->height) {
        st = axis_make(in->height, h, f, &ay, err);
        if (!st) st = new_image(in, w, h, out, err);
        if (!st) pass_v(src, &ay, out);
    }
    if (!st && alpha) unpremultiply(out);
    if (st) img_free(out);
    axis_free(&ax);
    axis_free(&ay);
    img_free(&pre);
    img_free(&mid);
    return st;
}

/* torchvision's size for Resize(int): the shorter side becomes size. */
static void shorter_size(int w, int h, int size, int *ow, int *oh)
{
    int s = w <= h ? w : h, l = w <= h ? h : w;
    double nl = (double)size * (double)l / (double)s;
    int new_long = nl >= (double)INT_MAX ? INT_MAX : (int)nl;
    *ow = w <= h ? size : new_long;
    *oh = w <= h ? new_long : size;
}

onyx_status img_resize_shorter(const img_image *in, int size, img_filter f, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    if (!image_ok(in)) return FAIL(err, ONYX_E_ARG, "invalid image");
    if (size <= 0) return FAIL(err, ONYX_E_ARG, "invalid resize size %d", size);
    int w, h;
    shorter_size(in->width, in->height, size, &w, &h);
    return img_resize(in, w, h, f, out, err);
}

/* The source offset of a centre crop along one axis: round((size - crop) / 2) half to even
 * when the crop fits, -((crop - size) // 2) (the zero padding before) when it does not. */
static int crop_offset(int size, int crop)
{
    if (crop > size) return -((crop - size) / 2);
    int n = size - crop, k = n / 2;
    if (n % 2 && k % 2) k++; /* k + 0.5 rounds to the even neighbour */
    return k;
}

/* Copies the overlap of in shifted by (ox, oy) into out (out(x, y) = in(x + ox, y + oy)). */
static void blit(const img_image *in, int ox, int oy, img_image *out)
{
    size_t px = (size_t)in->channels * (in->sample == IMG_F32 ? sizeof(float) : 1);
    int x0 = ox < 0 ? -ox : 0, x1 = in->width - ox < out->width ? in->width - ox : out->width;
    for (int y = 0; y < out->height; y++) {
        int sy = y + oy;
        if (sy < 0 || sy >= in->height || x1 <= x0) continue;
        memcpy((uint8_t *)out->data + ((size_t)y * (size_t)out->width + (size_t)x0) * px,
               (const uint8_t *)in->data + ((size_t)sy * (size_t)in->width + (size_t)(x0 + ox)) * px,
               (size_t)(x1 - x0) * px);
    }
}

onyx_status img_center_crop(const img_image *in, int w, int h, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    if (!image_ok(in)) return FAIL(err, ONYX_E_ARG, "invalid image");
    if (w <= 0 || h <= 0) return FAIL(err, ONYX_E_ARG, "invalid crop size %d x %d", w, h);
    onyx_status st = new_image(in, w, h, out, err);
    if (st) return st;
    blit(in, crop_offset(in->width, w), crop_offset(in->height, h), out);
    return ONYX_OK;
}

/* Fills every pixel of im with pad[c] (0..255 scale). */
static void fill(img_image *im, const float pad[4])
{
    size_t n = (size_t)im->width * (size_t)im->height;
    int c = im->channels;
    for (size_t i = 0; i < n; i++) {
        for (int ch = 0; ch < c; ch++) {
            float v = pad ? pad[ch] : 0.0f;
            if (im->sample == IMG_U8) {
                ((uint8_t *)im->data)[i * (size_t)c + (size_t)ch] = sample_u8(v);
            } else {
                ((float *)im->data)[i * (size_t)c + (size_t)ch] = v / 255.0f;
            }
        }
    }
}

onyx_status img_letterbox(const img_image *in, int w, int h, img_filter f, const float pad[4], img_image *out,
                          img_geom *geom, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    if (!image_ok(in)) return FAIL(err, ONYX_E_ARG, "invalid image");
    if (w <= 0 || h <= 0) return FAIL(err, ONYX_E_ARG, "invalid letterbox size %d x %d", w, h);
    double rx = (double)w / in->width, ry = (double)h / in->height, r = rx < ry ? rx : ry;
    double fw = nearbyint(in->width * r), fh = nearbyint(in->height * r); /* Python's round */
    int nw = fw < 1.0 ? 1 : fw > w ? w : (int)fw, nh = fh < 1.0 ? 1 : fh > h ? h : (int)fh;
    int left = (w - nw) / 2, top = (h - nh) / 2;
    img_image scaled;
    onyx_status st = img_resize(in, nw, nh, f, &scaled, err);
    if (st) return st;
    if (!(st = new_image(in, w, h, out, err))) {
        fill(out, pad);
        blit(&scaled, -left, -top, out);
    }
    img_free(&scaled);
    if (!st && geom)
        *geom = (img_geom){.scale_x = (double)nw / in->width, .scale_y = (double)nh / in->height,
                           .off_x = left, .off_y = top, .src_w = in->width, .src_h = in->height};
    return st;
}

void img_geom_to_source(const img_geom *g, double x, double y, double *sx, double *sy)
{
    if (sx) *sx = g->scale_x != 0.0 ? (x - g->off_x) / g->scale_x : 0.0;
    if (sy) *sy = g->scale_y != 0.0 ? (y - g->off_y) / g->scale_y : 0.0;
}

/* ---- tensors --------------------------------------------------------------------------- */

void img_tensor_options_imagenet(img_tensor_options *o)
{
    *o = (img_tensor_options){.dtype = ONYX_DTYPE_FLOAT, .layout = IMG_NCHW, .order = IMG_RGB,
                              .scale = 1.0f / 255.0f, .mean = {0.485f, 0.456f, 0.406f, 0.0f},
                              .std = {0.229f, 0.224f, 0.225f, 1.0f}};
}

static onyx_status check_tensor_options(const img_tensor_options *o, onyx_error *err)
{
    if (o->dtype != ONYX_DTYPE_UNDEFINED && o->dtype != ONYX_DTYPE_FLOAT && o->dtype != ONYX_DTYPE_UINT8)
        return FAIL(err, ONYX_E_UNSUPPORTED, "image tensors are float32 or uint8, not %s", onyx_dtype_name(o->dtype));
    if (o->layout != IMG_NCHW && o->layout != IMG_NHWC) return FAIL(err, ONYX_E_ARG, "invalid tensor layout");
    if (o->order != IMG_RGB && o->order != IMG_BGR) return FAIL(err, ONYX_E_ARG, "invalid channel order");
    if (o->channels != 0 && o->channels != 1 && o->channels != 3 && o->channels != 4)
        return FAIL(err, ONYX_E_ARG, "invalid tensor channel count %d (1, 3 or 4)", o->channels);
    return ONYX_OK;
}

/* The image channel shown in tensor channel tc (BGR reverses the first three). */
static int source_channel(const img_tensor_options *o, int c, int tc) { return o->order == IMG_BGR && c >= 3 && tc < 3 ? 2 - tc : tc; }

static size_t tensor_index(img_layout layout, int c, int h, int w, int tc, int y, int x)
{
    return layout == IMG_NCHW ? ((size_t)tc * (size_t)h + (size_t)y) * (size_t)w + (size_t)x
                              : ((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)tc;
}

onyx_status img_to_tensor(const img_image *in, const img_tensor_options *opts, onyx_tensor *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output tensor");
    memset(out, 0, sizeof *out);
    img_tensor_options def = {0};
    const img_tensor_options *o = opts ? opts : &def;
    onyx_status st = check_tensor_options(o, err);
    if (st) return st;
    if (!image_ok(in)) return FAIL(err, ONYX_E_ARG, "invalid image");
    int c = o->channels ? o->channels : in->channels >= 3 ? 3 : 1;
    img_image conv = {0};
    const img_image *src = in;
    if (c != in->channels) {
        if ((st = img_convert(in, c, &conv, err))) return st;
        src = &conv;
    }
    int h = src->height, w = src->width;
    onyx_tensor t = {.dtype = o->dtype == ONYX_DTYPE_UINT8 ? ONYX_DTYPE_UINT8 : ONYX_DTYPE_FLOAT, .rank = 4};
    t.dims[0] = 1;
    if (o->layout == IMG_NCHW) t.dims[1] = c, t.dims[2] = h, t.dims[3] = w;
    else t.dims[1] = h, t.dims[2] = w, t.dims[3] = c;
    if ((st = onyx_tensor_alloc(&t, NULL, err))) {
        img_free(&conv);
        out->data = NULL;
        return st;
    }
    float scale = o->scale != 0.0f ? o->scale : 1.0f / 255.0f;
    for (int tc = 0; tc < c; tc++) {
        int sc = source_channel(o, c, tc);
        float mean = o->mean[sc], sd = o->std[sc] != 0.0f ? o->std[sc] : 1.0f;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                size_t si = ((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)sc;
                size_t ti = tensor_index(o->layout, c, h, w, tc, y, x);
                float v = src->sample == IMG_U8 ? (float)((const uint8_t *)src->data)[si]
                                                : ((const float *)src->data)[si] * 255.0f;
                if (t.dtype == ONYX_DTYPE_UINT8)
                    ((uint8_t *)t.data)[ti] = sample_u8(v);
                else
                    ((float *)t.data)[ti] = (v * scale - mean) / sd;
            }
        }
    }
    img_free(&conv);
    *out = t;
    return ONYX_OK;
}

onyx_status img_from_tensor(const onyx_tensor *t, int64_t index, const img_tensor_options *opts, img_image *out,
                            onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    img_tensor_options def = {0};
    const img_tensor_options *o = opts ? opts : &def;
    onyx_status st = check_tensor_options(o, err);
    if (st) return st;
    if (!t || !t->data || (t->rank != 3 && t->rank != 4))
        return FAIL(err, ONYX_E_ARG, "an image tensor has rank 3 or 4");
    if (t->dtype != ONYX_DTYPE_FLOAT && t->dtype != ONYX_DTYPE_UINT8)
        return FAIL(err, ONYX_E_UNSUPPORTED, "image tensors are float32 or uint8, not %s", onyx_dtype_name(t->dtype));
    const int64_t *d = t->dims + (t->rank - 3);
    int64_t n = t->rank == 4 ? t->dims[0] : 1;
    if (index < 0 || index >= n) return FAIL(err, ONYX_E_ARG, "batch index %lld out of range", (long long)index);
    int64_t c = o->layout == IMG_NCHW ? d[0] : d[2], h = o->layout == IMG_NCHW ? d[1] : d[0],
            w = o->layout == IMG_NCHW ? d[2] : d[1];
    if (c < 1 || c > 4 || c == 2)
        return FAIL(err, ONYX_E_ARG, "an image tensor has 1, 3 or 4 channels, not %lld", (long long)c);
    if (h < 1 || w < 1 || h > INT_MAX || w > INT_MAX) return FAIL(err, ONYX_E_ARG, "invalid image tensor size");
    img_image im = {.width = (int)w, .height = (int)h, .channels = (int)c, .sample = IMG_U8};
    if ((st = img_alloc(&im, err))) return st;
    size_t plane = (size_t)c * (size_t)h * (size_t)w, base = (size_t)index * plane;
    float scale = o->scale != 0.0f ? o->scale : 1.0f / 255.0f;
    uint8_t *dst = im.data;
    for (int tc = 0; tc < (int)c; tc++) {
        int ic = source_channel(o, (int)c, tc);
        float mean = o->mean[ic], sd = o->std[ic] != 0.0f ? o->std[ic] : 1.0f;
        for (int y = 0; y < (int)h; y++) {
            for (int x = 0; x < (int)w; x++) {
                size_t ti = base + tensor_index(o->layout, (int)c, (int)h, (int)w, tc, y, x);
                uint8_t v;
                if (t->dtype == ONYX_DTYPE_UINT8) {
                    v = ((const uint8_t *)t->data)[ti];
                } else {
                    float f = (((const float *)t->data)[ti] * sd + mean) / scale;
                    v = sample_u8(f);
                }
                dst[((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)ic] = v;
            }
        }
    }
    *out = im;
    return ONYX_OK;
}

/* ---- the whole pipeline ---------------------------------------------------------------- */

onyx_status img_preprocess(const img_image *in, const img_preprocess_options *o, onyx_tensor *out, img_geom *geom,
                           onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output tensor");
    memset(out, 0, sizeof *out);
    if (!o) return FAIL(err, ONYX_E_ARG, "no preprocessing options");
    if (!image_ok(in)) return FAIL(err, ONYX_E_ARG, "invalid image");
    onyx_status st = check_tensor_options(&o->tensor, err);
    if (st) return st;
    if (o->fit != IMG_FIT_NONE && (o->width <= 0 || o->height <= 0))
        return FAIL(err, ONYX_E_ARG, "invalid input size %d x %d", o->width, o->height);
    /* channels first (torchvision's convert("RGB") before the transforms): alpha never
     * takes part in resizing */
    int c = o->tensor.channels ? o->tensor.channels : in->channels >= 3 ? 3 : 1;
    img_image conv = {0}, fitted = {0}, tmp = {0};
    const img_image *src = in;
    if (c != in->channels) {
        if ((st = img_convert(in, c, &conv, err))) return st;
        src = &conv;
    }
    img_geom g = {.scale_x = 1.0, .scale_y = 1.0, .src_w = in->width, .src_h = in->height};
    switch (o->fit) {
    case IMG_FIT_STRETCH:
        st = img_resize(src, o->width, o->height, o->filter, &fitted, err);
        g.scale_x = (double)o->width / in->width;
        g.scale_y = (double)o->height / in->height;
        break;
    case IMG_FIT_RESIZE_CROP: {
        int size = o->resize_shorter;
        if (size <= 0) size = (int)floor((o->width < o->height ? o->width : o->height) / 0.875 + 0.5);
        int rw, rh;
        shorter_size(src->width, src->height, size, &rw, &rh);
        st = img_resize(src, rw, rh, o->filter, &tmp, err);
        if (!st) st = img_center_crop(&tmp, o->width, o->height, &fitted, err);
        g.scale_x = (double)rw / in->width;
        g.scale_y = (double)rh / in->height;
        g.off_x = -crop_offset(rw, o->width);
        g.off_y = -crop_offset(rh, o->height);
        break;
    }
    case IMG_FIT_LETTERBOX: st = img_letterbox(src, o->width, o->height, o->filter, o->pad, &fitted, &g, err); break;
    case IMG_FIT_NONE: st = img_copy(src, &fitted, err); break;
    default: st = FAIL(err, ONYX_E_ARG, "invalid fit %d", (int)o->fit); break;
    }
    img_free(&conv);
    img_free(&tmp);
    if (!st) {
        img_tensor_options to = o->tensor;
        to.channels = c;
        st = img_to_tensor(&fitted, &to, out, err);
    }
    img_free(&fitted);
    if (!st && geom) *geom = g;
    return st;
}
