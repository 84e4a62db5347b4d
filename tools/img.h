/* img.h — the tools' image library: PNG/JPEG reading, PNG writing, and the preprocessing
 * that turns a picture into a model input tensor (and a model output back into a picture).
 *
 * Shared by the CLI commands (classify, detect, img2img) and the HTTP server. It uses only
 * the public runtime API (onyx.h) plus libpng and libjpeg; it never prints, aborts or exits:
 * every call returns an onyx_status and, on failure, fills the caller's onyx_error (which
 * may be NULL) with a message. On failure the output object is left empty (safe to free).
 *
 * Semantics of every preprocessing step, and how they match PIL / torchvision, are in
 * docs/VISION.md. */
#ifndef ONYX_IMG_H
#define ONYX_IMG_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#if defined(__GNUC__)
#define IMG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IMG_PRINTF(f, a)
#endif

/* Sets err (which may be NULL) to st and the formatted message; returns st. */
onyx_status img_error(onyx_error *err, onyx_status st, const char *fmt, ...) IMG_PRINTF(3, 4);

/* ---- images ---------------------------------------------------------------------------- */

/* Sample type of an image's data. */
typedef enum img_sample {
    IMG_U8 = 0,  /* uint8_t, 0..255 */
    IMG_F32 = 1, /* float, 0..1 (keeps 16-bit precision; results of float math) */
} img_sample;

typedef enum img_format { IMG_FORMAT_UNKNOWN = 0, IMG_FORMAT_PNG, IMG_FORMAT_JPEG } img_format;

/* A decoded image: samples interleaved per pixel, rows top to bottom, no padding:
 * sample (x, y, c) is at index (y * width + x) * channels + c.
 * channels: 1 gray (L), 2 gray + alpha (LA), 3 RGB, 4 RGBA. Alpha is straight (not
 * premultiplied). `data` is owned by the image: release with img_free. */
typedef struct img_image {
    int width, height;
    int channels;      /* 1, 2, 3 or 4 */
    img_sample sample; /* IMG_U8 or IMG_F32 */
    void *data;
    /* Filled by the readers (informational; 0 for images made otherwise): */
    img_format format; /* the file's format */
    int bit_depth;     /* the file's bits per sample: 1, 2, 4, 8 or 16 */
    int orientation;   /* EXIF orientation found (1-8; 1 when absent), already applied */
} img_image;

/* Reading options. All-zero (or NULL) is the default. */
typedef struct img_read_options {
    int channels;        /* 0: as stored (palette → RGB/RGBA, tRNS → alpha); 1, 2, 3 or 4:
                          * converted as img_convert does */
    img_sample sample;   /* IMG_U8 (default): 16-bit files keep their high byte (as PIL and
                          * libpng's strip_16 do); IMG_F32: value / 255 or value / 65535 */
    int ignore_orientation; /* nonzero: do not apply the EXIF orientation */
    int64_t max_pixels;  /* 0: default (1 << 28); larger images fail with ONYX_E_LIMIT */
    int64_t max_file_bytes; /* 0: default (1 GiB); img_read_file only */
} img_read_options;

/* The format given by the leading magic bytes (never the file name). */
img_format img_detect_format(const void *buf, size_t len);
const char *img_format_name(img_format f); /* "png", "jpeg", "unknown" */

/* Decodes a PNG or JPEG (format from the magic bytes).
 * PNG: bit depths 1-16, gray, gray+alpha, RGB, RGBA, palette (expanded), interlaced, tRNS
 * (becomes an alpha channel), eXIf orientation. JPEG: baseline, progressive, grayscale,
 * EXIF (APP1) orientation; CMYK/YCCK fail with ONYX_E_UNSUPPORTED.
 * Errors: ONYX_E_ARG (bad arguments), ONYX_E_IO (cannot read the file), ONYX_E_PARSE (not an
 * image, corrupt or truncated), ONYX_E_UNSUPPORTED, ONYX_E_LIMIT, ONYX_E_NOMEM. */
onyx_status img_read_memory(const void *buf, size_t len, const img_read_options *o, img_image *out,
                            onyx_error *err);
onyx_status img_read_file(const char *path, const img_read_options *o, img_image *out, onyx_error *err);

/* Writes an 8-bit PNG: 1 → gray, 2 → gray+alpha, 3 → RGB, 4 → RGBA. An IMG_F32 image is
 * written as round(clamp(v, 0, 1) * 255). img_write_png_memory returns a malloc'd buffer
 * (free()) in *buf, its size in *len. */
onyx_status img_write_png(const char *path, const img_image *im, onyx_error *err);
onyx_status img_write_png_memory(const img_image *im, void **buf, size_t *len, onyx_error *err);

/* Allocates zeroed data for im->width, height, channels, sample (other fields untouched). */
onyx_status img_alloc(img_image *im, onyx_error *err);
void img_free(img_image *im); /* releases the data; the image becomes all-zero. NULL ok. */
/* A deep copy. */
onyx_status img_copy(const img_image *in, img_image *out, onyx_error *err);

/* Channel conversion as PIL's Image.convert: L→RGB replicates, RGB→L is
 * (299 R + 587 G + 114 B) / 1000 (PIL's fixed-point rounding for U8), alpha dropped (not
 * composited) or added as opaque. `channels` 1-4. The sample type is kept. */
onyx_status img_convert(const img_image *in, int channels, img_image *out, onyx_error *err);
/* Sample type conversion: U8 → F32 is v / 255; F32 → U8 is round(clamp(v, 0, 1) * 255). */
onyx_status img_to_sample(const img_image *in, img_sample sample, img_image *out, onyx_error *err);

/* Applies an EXIF orientation (1-8) as PIL's ImageOps.exif_transpose does:
 * 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise. */
onyx_status img_orient(const img_image *in, int orientation, img_image *out, onyx_error *err);

/* ---- geometry -------------------------------------------------------------------------- */

typedef enum img_filter {
    IMG_FILTER_BILINEAR = 0, /* PIL BILINEAR: triangle, support 1 (scaled when shrinking) */
    IMG_FILTER_NEAREST,      /* PIL NEAREST: source pixel floor((x + 0.5) * in / out) */
    IMG_FILTER_BOX,          /* PIL BOX: area averaging, support 0.5 (scaled when shrinking) */
    IMG_FILTER_BICUBIC,      /* PIL BICUBIC: Keys cubic a = -0.5, support 2 (scaled) */
} img_filter;

/* How a tensor's pixel coordinates relate to the source image's:
 *   x_tensor = x_src * scale_x + off_x,   y_tensor = y_src * scale_y + off_y
 * (continuous coordinates, pixel (i, j) covering [i, i+1) x [j, j+1)). So a box found by a
 * detector maps back with x_src = (x_tensor - off_x) / scale_x (see img_geom_to_source). */
typedef struct img_geom {
    double scale_x, scale_y;
    double off_x, off_y;
    int src_w, src_h; /* the source image's size, to clamp mapped boxes */
} img_geom;

/* Maps a point from tensor coordinates back to source-image coordinates (not clamped). */
void img_geom_to_source(const img_geom *g, double x, double y, double *sx, double *sy);

/* Resizes to w x h with PIL's Image.resize semantics (separable convolution, horizontal pass
 * then vertical; when shrinking the filter's support is scaled by the factor, i.e.
 * antialiased). U8 images are computed as PIL computes 8-bit images (fixed-point weights,
 * each pass rounded to 8 bits), so results equal PIL's; F32 images in float. */
onyx_status img_resize(const img_image *in, int w, int h, img_filter f, img_image *out, onyx_error *err);

/* torchvision Resize(size) with an int: the shorter side becomes `size`, the longer
 * int(size * long / short) (truncated); equal sides both become size. */
onyx_status img_resize_shorter(const img_image *in, int size, img_filter f, img_image *out, onyx_error *err);

/* torchvision CenterCrop((h, w)): top = round((H - h) / 2), left = round((W - w) / 2), with
 * Python's round (half to even); when the crop is larger than the image it is first padded
 * with zeros by ((w - W) // 2, (h - H) // 2) on the left/top and the rest on the
 * right/bottom, as torchvision does. */
onyx_status img_center_crop(const img_image *in, int w, int h, img_image *out, onyx_error *err);

/* Letterbox (YOLO): scale r = min(w / W, h / H); the image is resized to
 * nw = round(W * r), nh = round(H * r) (at least 1, at most w / h) with filter f, placed at
 * left = (w - nw) / 2, top = (h - nh) / 2 (integer division, as ultralytics' round(d - 0.1))
 * on a w x h canvas filled with pad[c] (0..255 scale for U8 and F32 alike; e.g. 114).
 * `geom` (optional) receives scale_x = nw / W, scale_y = nh / H, off = (left, top). */
onyx_status img_letterbox(const img_image *in, int w, int h, img_filter f, const float pad[4], img_image *out,
                          img_geom *geom, onyx_error *err);

/* ---- tensors --------------------------------------------------------------------------- */

typedef enum img_layout { IMG_NCHW = 0, IMG_NHWC } img_layout;
typedef enum img_order { IMG_RGB = 0, IMG_BGR } img_order;

/* How pixels become tensor values. All-zero (or NULL) is a valid default: float32, NCHW,
 * RGB, value / 255, no mean/std. For a float tensor each value is
 *     t = (v * scale - mean[c]) / std[c]
 * where v is the sample on the 0..255 scale (F32 images: sample * 255) and c the channel in
 * the image's order (mean/std are given for R, G, B, (A) — or L — whatever `order` is).
 * A uint8 tensor holds the 0..255 samples themselves (scale, mean, std unused; F32 samples
 * rounded). Channels: alpha is dropped unless `channels` asks for it. */
typedef struct img_tensor_options {
    onyx_dtype dtype;   /* ONYX_DTYPE_FLOAT (also when 0/UNDEFINED) or ONYX_DTYPE_UINT8 */
    img_layout layout;  /* NCHW: dims {1, C, H, W}; NHWC: dims {1, H, W, C} */
    img_order order;    /* BGR reverses the first three channels (RGB/RGBA only) */
    int channels;       /* 0: 1 for L/LA images, 3 for RGB/RGBA; 1, 3 or 4: converted
                         * with img_convert semantics */
    float scale;        /* 0: 1/255 */
    float mean[4];      /* per channel, on the scaled values (ImageNet: 0.485 0.456 0.406) */
    float std[4];       /* per channel; 0 means 1 (ImageNet: 0.229 0.224 0.225) */
} img_tensor_options;

/* Fills o with ImageNet's float32 NCHW RGB normalisation (scale 1/255, the mean/std above). */
void img_tensor_options_imagenet(img_tensor_options *o);

/* Makes a tensor {1, C, H, W} or {1, H, W, C} from an image. The tensor's data is allocated
 * with onyx_tensor_alloc(…, NULL, …): release with onyx_tensor_free(out, NULL). */
onyx_status img_to_tensor(const img_image *in, const img_tensor_options *o, onyx_tensor *out, onyx_error *err);

/* The inverse, for image-to-image models: reads a float32 or uint8 tensor of rank 3 (C,H,W
 * or H,W,C per o->layout) or rank 4 (batch index `index` taken) with 1, 3 or 4 channels
 * and produces an U8 image: v = round(clamp((t * std + mean) / scale, 0, 255)) for float
 * tensors (uint8 tensors copied), BGR reordered back to RGB. */
onyx_status img_from_tensor(const onyx_tensor *t, int64_t index, const img_tensor_options *o, img_image *out,
                            onyx_error *err);

/* ---- the whole pipeline ---------------------------------------------------------------- */

typedef enum img_fit {
    IMG_FIT_STRETCH = 0,     /* resize to width x height, aspect not kept */
    IMG_FIT_RESIZE_CROP,     /* torchvision Resize(resize_shorter) + CenterCrop((height, width));
                              * resize_shorter 0: round(min(width, height) / 0.875), the
                              * usual 256 for 224 */
    IMG_FIT_LETTERBOX,       /* img_letterbox to width x height with pad */
    IMG_FIT_NONE,            /* the image as it is (width/height ignored) */
} img_fit;

typedef struct img_preprocess_options {
    int width, height;       /* the tensor's spatial size */
    img_fit fit;
    img_filter filter;       /* resampling filter for every resize */
    int resize_shorter;      /* IMG_FIT_RESIZE_CROP only */
    float pad[4];            /* IMG_FIT_LETTERBOX only, 0..255 scale (e.g. 114) */
    img_tensor_options tensor;
} img_preprocess_options;

/* Fit, then img_to_tensor. `geom` (optional) maps tensor coordinates back to the image.
 * Release the tensor with onyx_tensor_free(out, NULL). */
onyx_status img_preprocess(const img_image *in, const img_preprocess_options *o, onyx_tensor *out, img_geom *geom,
                           onyx_error *err);

#endif
