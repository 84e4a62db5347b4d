/* img_io.c — image reading (PNG through libpng, JPEG through libjpeg), PNG writing, and the
 * pixel-level conversions the readers need: channels, sample type, EXIF orientation.
 *
 * libpng and libjpeg report errors by longjmp out of their error callbacks. Each decoder
 * keeps its library state, and everything the code after setjmp writes, in a job struct
 * that lives in the caller's frame; the function calling setjmp only returns after a jump,
 * so no automatic variable of its own is read after longjmp (C11 7.13.2.1). The caller then
 * destroys the library state and frees what the job holds, on success and failure alike.
 * Warnings are swallowed (the library never prints); libjpeg's warnings that mean the pixel
 * data is corrupt or truncated are turned into errors. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "img.h"

#define DEFAULT_MAX_PIXELS ((int64_t)1 << 28)
#define DEFAULT_MAX_FILE_BYTES ((int64_t)1 << 30)
/* img_error's value made visible to the static analyzer, which does not follow variadic calls */
#define FAIL(err, st, ...) (img_error((err), (st), __VA_ARGS__), (st))
#define JPEG_MAX_SCANS 1000 /* a progressive file needs ~10; thousands only burn time */

onyx_status img_error(onyx_error *err, onyx_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = st;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* errno as text, without strerror's shared buffer (the server reads images on many threads) */
static const char *errno_text(int e, char *buf, size_t cap)
{
    if (strerror_r(e, buf, cap) != 0) snprintf(buf, cap, "error %d", e);
    return buf;
}

/* ---- images ---------------------------------------------------------------------------- */

static size_t sample_bytes(img_sample s) { return s == IMG_F32 ? sizeof(float) : 1; }

/* Bytes of an image's data; 0 when the fields are invalid or the size does not fit. */
static size_t image_bytes(int w, int h, int c, img_sample s)
{
    if (w <= 0 || h <= 0 || c < 1 || c > 4 || (s != IMG_U8 && s != IMG_F32)) return 0;
    if ((size_t)h > SIZE_MAX / (size_t)w) return 0;
    size_t px = (size_t)w * (size_t)h, per = (size_t)c * sample_bytes(s);
    if (px > SIZE_MAX / per) return 0;
    return px * per;
}

onyx_status img_alloc(img_image *im, onyx_error *err)
{
    if (!im) return FAIL(err, ONYX_E_ARG, "no image");
    im->data = NULL;
    size_t n = image_bytes(im->width, im->height, im->channels, im->sample);
    if (!n)
        return FAIL(err, ONYX_E_ARG, "invalid image: %d x %d, %d channels", im->width, im->height,
                         im->channels);
    im->data = calloc(1, n);
    if (!im->data) return FAIL(err, ONYX_E_NOMEM, "out of memory for a %d x %d image", im->width, im->height);
    return ONYX_OK;
}

void img_free(img_image *im)
{
    if (!im) return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

/* Checks an input image; ONYX_OK or ONYX_E_ARG with a message. */
static onyx_status check_image(const img_image *im, onyx_error *err)
{
    if (!im || !im->data || !image_bytes(im->width, im->height, im->channels, im->sample))
        return FAIL(err, ONYX_E_ARG, "invalid image");
    return ONYX_OK;
}

/* Starts *out as an empty image of the given shape with in's informational fields. */
static onyx_status make_like(const img_image *in, int w, int h, int c, img_sample s, img_image *out,
                             onyx_error *err)
{
    img_image im = {.width = w, .height = h, .channels = c, .sample = s};
    if (in) {
        im.format = in->format;
        im.bit_depth = in->bit_depth;
        im.orientation = in->orientation;
    }
    onyx_status st = img_alloc(&im, err);
    *out = im;
    return st;
}

onyx_status img_copy(const img_image *in, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    onyx_status st = check_image(in, err);
    if (st) return st;
    if ((st = make_like(in, in->width, in->height, in->channels, in->sample, out, err))) return st;
    memcpy(out->data, in->data, image_bytes(in->width, in->height, in->channels, in->sample));
    return ONYX_OK;
}

static uint8_t to_u8(float v)
{
    if (!(v > 0.0f)) return 0; /* also NaN */
    if (v >= 1.0f) return 255;
    return (uint8_t)lroundf(v * 255.0f);
}

onyx_status img_to_sample(const img_image *in, img_sample sample, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    onyx_status st = check_image(in, err);
    if (st) return st;
    if (sample != IMG_U8 && sample != IMG_F32) return FAIL(err, ONYX_E_ARG, "invalid sample type %d", (int)sample);
    if (sample == in->sample) return img_copy(in, out, err);
    if ((st = make_like(in, in->width, in->height, in->channels, sample, out, err))) return st;
    size_t n = (size_t)in->width * (size_t)in->height * (size_t)in->channels;
    if (sample == IMG_F32) {
        const uint8_t *s = in->data;
        float *d = out->data;
        for (size_t i = 0; i < n; i++) d[i] = (float)s[i] / 255.0f;
    } else {
        const float *s = in->data;
        uint8_t *d = out->data;
        for (size_t i = 0; i < n; i++) d[i] = to_u8(s[i]);
    }
    return ONYX_OK;
}

/* PIL's "L" from RGB: ITU-R 601-2 luma in 16-bit fixed point, rounded. */
static uint8_t luma_u8(const uint8_t *p)
{
    return (uint8_t)(((uint32_t)p[0] * 19595u + (uint32_t)p[1] * 38470u + (uint32_t)p[2] * 7471u + 0x8000u) >> 16);
}

static float luma_f32(const float *p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

onyx_status img_convert(const img_image *in, int channels, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    onyx_status st = check_image(in, err);
    if (st) return st;
    if (channels < 1 || channels > 4) return FAIL(err, ONYX_E_ARG, "invalid channel count %d", channels);
    if (channels == in->channels) return img_copy(in, out, err);
    if ((st = make_like(in, in->width, in->height, channels, in->sample, out, err))) return st;
    size_t n = (size_t)in->width * (size_t)in->height;
    int ci = in->channels, co = channels;
    bool in_color = ci >= 3, in_alpha = ci == 2 || ci == 4;
    if (in->sample == IMG_U8) {
        const uint8_t *s = in->data;
        uint8_t *d = out->data;
        for (size_t i = 0; i < n; i++, s += ci, d += co) {
            uint8_t a = in_alpha ? s[ci - 1] : 255;
            if (co <= 2) {
                d[0] = in_color ? luma_u8(s) : s[0];
            } else {
                d[0] = s[0];
                d[1] = in_color ? s[1] : s[0];
                d[2] = in_color ? s[2] : s[0];
            }
            if (co == 2 || co == 4) d[co - 1] = a;
        }
    } else {
        const float *s = in->data;
        float *d = out->data;
        for (size_t i = 0; i < n; i++, s += ci, d += co) {
            float a = in_alpha ? s[ci - 1] : 1.0f;
            if (co <= 2) {
                d[0] = in_color ? luma_f32(s) : s[0];
            } else {
                d[0] = s[0];
                d[1] = in_color ? s[1] : s[0];
                d[2] = in_color ? s[2] : s[0];
            }
            if (co == 2 || co == 4) d[co - 1] = a;
        }
    }
    return ONYX_OK;
}

onyx_status img_orient(const img_image *in, int orientation, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    onyx_status st = check_image(in, err);
    if (st) return st;
    if (orientation < 1 || orientation > 8) return FAIL(err, ONYX_E_ARG, "invalid orientation %d", orientation);
    int w = in->width, h = in->height;
    bool swap = orientation >= 5; /* 5-8 exchange width and height */
    int ow = swap ? h : w, oh = swap ? w : h;
    if ((st = make_like(in, ow, oh, in->channels, in->sample, out, err))) return st;
    size_t px = (size_t)in->channels * sample_bytes(in->sample);
    const uint8_t *s = in->data;
    uint8_t *d = out->data;
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy; /* the source pixel shown at (x, y) */
            switch (orientation) {
            case 2: sx = w - 1 - x, sy = y; break;           /* mirrored */
            case 3: sx = w - 1 - x, sy = h - 1 - y; break;   /* rotated 180 */
            case 4: sx = x, sy = h - 1 - y; break;           /* flipped */
            case 5: sx = y, sy = x; break;                   /* transposed */
            case 6: sx = y, sy = h - 1 - x; break;           /* rotated 90 clockwise */
            case 7: sx = w - 1 - y, sy = h - 1 - x; break;   /* transversed */
            case 8: sx = w - 1 - y, sy = x; break;           /* rotated 90 counter-clockwise */
            default: sx = x, sy = y; break;
            }
            memcpy(d + ((size_t)y * (size_t)ow + (size_t)x) * px, s + ((size_t)sy * (size_t)w + (size_t)sx) * px, px);
        }
    }
    return ONYX_OK;
}

/* ---- format and EXIF ------------------------------------------------------------------- */

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

img_format img_detect_format(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (!p) return IMG_FORMAT_UNKNOWN;
    if (len >= 8 && !memcmp(p, png_magic, 8)) return IMG_FORMAT_PNG;
    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return IMG_FORMAT_JPEG;
    return IMG_FORMAT_UNKNOWN;
}

const char *img_format_name(img_format f)
{
    switch (f) {
    case IMG_FORMAT_PNG: return "png";
    case IMG_FORMAT_JPEG: return "jpeg";
    default: return "unknown";
    }
}

static uint32_t rd16(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? rd16(p, true) | rd16(p + 2, true) << 16 : rd16(p, false) << 16 | rd16(p + 2, false);
}

/* The Orientation tag (0x0112) of IFD0 in TIFF-structured EXIF data (from its "II"/"MM"
 * header); 1 when absent or malformed. A leading "Exif\0\0" (as in JPEG APP1) is skipped. */
static int exif_orientation(const uint8_t *p, size_t n)
{
    if (n >= 6 && !memcmp(p, "Exif\0\0", 6)) p += 6, n -= 6;
    if (n < 8) return 1;
    bool le;
    if (p[0] == 'I' && p[1] == 'I') le = true;
    else if (p[0] == 'M' && p[1] == 'M') le = false;
    else return 1;
    if (rd16(p + 2, le) != 42) return 1;
    uint32_t ifd = rd32(p + 4, le);
    if (ifd > n || n - ifd < 2) return 1;
    uint32_t count = rd16(p + ifd, le);
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e > n || n - e < 12) break;
        if (rd16(p + e, le) != 0x0112) continue;
        uint32_t type = rd16(p + e + 2, le), v;
        if (type == 3) v = rd16(p + e + 8, le);      /* SHORT, as the standard says */
        else if (type == 4) v = rd32(p + e + 8, le); /* LONG, seen in the wild */
        else return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* A decoder's result before the caller's options are applied. */
typedef struct decoded {
    img_image im;
    int orientation;
} decoded;

/* ---- PNG reading ----------------------------------------------------------------------- */

typedef struct png_rjob {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, pos;
    int64_t max_pixels;
    bool keep16;      /* keep 16-bit samples (float output) */
    uint8_t *raw;     /* decoded rows, rowbytes each */
    png_bytep *rows;
    uint32_t w, h;
    int channels, depth, out_depth;
    int orientation;
    onyx_status st;   /* ONYX_OK until an error: then what kind */
    char msg[256];
} png_rjob;

static void png_rjob_fail(png_rjob *j, onyx_status st, const char *msg)
{
    j->st = st;
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    png_longjmp(j->png, 1);
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_rjob *j = png_get_error_ptr(png);
    j->st = strstr(msg, "memory") || strstr(msg, "Memory") ? ONYX_E_NOMEM : ONYX_E_PARSE;
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* warnings are not errors, and the library never prints */
    (void)msg;
}

static void png_read_memory(png_structp png, png_bytep out, size_t n)
{
    png_rjob *j = png_get_io_ptr(png);
    if (n > j->size - j->pos) png_rjob_fail(j, ONYX_E_PARSE, "the file is truncated");
    memcpy(out, j->data + j->pos, n);
    j->pos += n;
}

/* Decodes into j->raw (rows top to bottom, no padding); false after an error. Everything it
 * sets lives in *j (see the top of the file). */
static bool png_rjob_run(png_rjob *j)
{
    if (setjmp(png_jmpbuf(j->png))) return false;
    png_set_read_fn(j->png, j, png_read_memory);
    png_set_user_limits(j->png, 0x7FFFFFFF, 0x7FFFFFFF); /* the pixel limit below decides */
    png_read_info(j->png, j->info);
    j->w = png_get_image_width(j->png, j->info);
    j->h = png_get_image_height(j->png, j->info);
    if (j->w == 0 || j->h == 0 || (int64_t)j->w * (int64_t)j->h > j->max_pixels)
        png_rjob_fail(j, ONYX_E_LIMIT, "the image is larger than the pixel limit");
    int color = png_get_color_type(j->png, j->info);
    j->depth = png_get_bit_depth(j->png, j->info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(j->png);
    if (color == PNG_COLOR_TYPE_GRAY && j->depth < 8) png_set_expand_gray_1_2_4_to_8(j->png);
    if (png_get_valid(j->png, j->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(j->png);
    j->out_depth = 8;
    if (j->depth == 16) {
        if (j->keep16) j->out_depth = 16;
        else png_set_strip_16(j->png);
    }
    png_set_interlace_handling(j->png); /* png_read_image then runs every Adam7 pass */
    png_read_update_info(j->png, j->info);
    j->channels = png_get_channels(j->png, j->info);
    size_t rowbytes = png_get_rowbytes(j->png, j->info);
    if (j->channels < 1 || j->channels > 4 || rowbytes != (size_t)j->w * (size_t)j->channels * (size_t)(j->out_depth / 8))
        png_rjob_fail(j, ONYX_E_PARSE, "unexpected row layout");
    if ((size_t)j->h > SIZE_MAX / (rowbytes + sizeof *j->rows)) /* both blocks below fit */
        png_rjob_fail(j, ONYX_E_LIMIT, "the image is too large");
    j->raw = malloc(rowbytes * j->h);
    j->rows = malloc(sizeof *j->rows * j->h);
    if (!j->raw || !j->rows) png_rjob_fail(j, ONYX_E_NOMEM, "out of memory");
    for (uint32_t y = 0; y < j->h; y++) j->rows[y] = j->raw + (size_t)y * rowbytes;
    png_read_image(j->png, j->rows);
    png_read_end(j->png, j->info); /* checks the rest of the file; eXIf may follow the pixels */
    j->orientation = 1;
#ifdef PNG_eXIf_SUPPORTED
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
    if (png_get_eXIf_1(j->png, j->info, &exif_len, &exif) && exif) j->orientation = exif_orientation(exif, exif_len);
#endif
    return true;
}

static onyx_status png_decode(const uint8_t *data, size_t size, int64_t max_pixels, bool want_f32, decoded *out,
                              onyx_error *err)
{
    png_rjob j;
    memset(&j, 0, sizeof j);
    j.data = data;
    j.size = size;
    j.max_pixels = max_pixels;
    j.keep16 = want_f32;
    j.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &j, png_on_error, png_on_warning);
    if (j.png) j.info = png_create_info_struct(j.png);
    if (!j.png || !j.info) {
        png_destroy_read_struct(&j.png, NULL, NULL);
        return FAIL(err, ONYX_E_NOMEM, "PNG: out of memory");
    }
    bool ok = png_rjob_run(&j);
    png_destroy_read_struct(&j.png, &j.info, NULL);
    free(j.rows);
    if (!ok) {
        free(j.raw);
        return FAIL(err, j.st ? j.st : ONYX_E_PARSE, "PNG: %s", j.msg);
    }
    img_image im = {.width = (int)j.w, .height = (int)j.h, .channels = j.channels,
                    .format = IMG_FORMAT_PNG, .bit_depth = j.depth};
    if (!want_f32) { /* the rows are the image */
        im.sample = IMG_U8;
        im.data = j.raw;
    } else {
        im.sample = IMG_F32;
        onyx_status st = img_alloc(&im, err);
        if (st) {
            free(j.raw);
            return st;
        }
        size_t n = (size_t)j.w * (size_t)j.h * (size_t)j.channels;
        float *d = im.data;
        if (j.out_depth == 16)
            for (size_t i = 0; i < n; i++) d[i] = (float)((uint32_t)j.raw[2 * i] << 8 | j.raw[2 * i + 1]) / 65535.0f;
        else
            for (size_t i = 0; i < n; i++) d[i] = (float)j.raw[i] / 255.0f;
        free(j.raw);
    }
    out->im = im;
    out->orientation = j.orientation;
    return ONYX_OK;
}

/* ---- JPEG reading ---------------------------------------------------------------------- */

typedef struct jpeg_rjob {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    const uint8_t *data;
    size_t size;
    int64_t max_pixels;
    uint8_t *pixels; /* w * h * channels */
    int w, h, channels;
    int orientation;
    onyx_status st;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_rjob;

static void jpeg_rjob_fail(jpeg_rjob *j, onyx_status st, const char *msg)
{
    j->st = st;
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    longjmp(j->jump, 1);
}

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_rjob *j = cinfo->client_data;
    cinfo->err->format_message(cinfo, j->msg);
    j->st = cinfo->err->msg_code == JERR_OUT_OF_MEMORY ? ONYX_E_NOMEM : ONYX_E_PARSE;
    longjmp(j->jump, 1);
}

/* libjpeg reports corrupt entropy data and a missing end as warnings and carries on with
 * made-up pixels; those are errors here. Other warnings (e.g. extraneous bytes between
 * markers, common in camera files) are ignored, as is all tracing. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level != -1) return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC: jpeg_on_error(cinfo); break;
    default: break;
    }
}

static void jpeg_on_progress(j_common_ptr cinfo)
{
    jpeg_rjob *j = cinfo->client_data;
    if (j->cinfo.input_scan_number > JPEG_MAX_SCANS) jpeg_rjob_fail(j, ONYX_E_LIMIT, "too many scans");
}

/* Decodes into j->pixels; false after an error (see the top of the file). */
static bool jpeg_rjob_run(jpeg_rjob *j)
{
    j->cinfo.err = jpeg_std_error(&j->jerr);
    j->jerr.error_exit = jpeg_on_error;
    j->jerr.emit_message = jpeg_on_message;
    j->cinfo.client_data = j;
    if (setjmp(j->jump)) return false;
    jpeg_create_decompress(&j->cinfo);
    j->cinfo.client_data = j;
    j->progress.progress_monitor = jpeg_on_progress;
    j->cinfo.progress = &j->progress;
    jpeg_mem_src(&j->cinfo, j->data, (unsigned long)j->size);
    jpeg_save_markers(&j->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&j->cinfo, TRUE);
    switch (j->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: j->cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: j->cinfo.out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
        jpeg_rjob_fail(j, ONYX_E_UNSUPPORTED, "CMYK/YCCK JPEG images are not supported (convert to RGB first)");
        break;
    default: jpeg_rjob_fail(j, ONYX_E_UNSUPPORTED, "unsupported colour space"); break;
    }
    if ((int64_t)j->cinfo.image_width * (int64_t)j->cinfo.image_height > j->max_pixels)
        jpeg_rjob_fail(j, ONYX_E_LIMIT, "the image is larger than the pixel limit");
    j->orientation = 1;
    for (jpeg_saved_marker_ptr m = j->cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6)) {
            j->orientation = exif_orientation(m->data, m->data_length);
            break;
        }
    }
    /* libjpeg's defaults are Pillow's: islow DCT, fancy (smooth) chroma upsampling */
    jpeg_start_decompress(&j->cinfo);
    j->w = (int)j->cinfo.output_width;
    j->h = (int)j->cinfo.output_height;
    j->channels = j->cinfo.output_components;
    if (j->channels != 1 && j->channels != 3) jpeg_rjob_fail(j, ONYX_E_UNSUPPORTED, "unexpected component count");
    size_t stride = (size_t)j->w * (size_t)j->channels;
    j->pixels = malloc(stride * (size_t)j->h);
    if (!j->pixels) jpeg_rjob_fail(j, ONYX_E_NOMEM, "out of memory");
    while (j->cinfo.output_scanline < j->cinfo.output_height) {
        JSAMPROW row = j->pixels + (size_t)j->cinfo.output_scanline * stride;
        if (jpeg_read_scanlines(&j->cinfo, &row, 1) != 1) jpeg_rjob_fail(j, ONYX_E_PARSE, "the file is truncated");
    }
    jpeg_finish_decompress(&j->cinfo);
    return true;
}

static onyx_status jpeg_decode(const uint8_t *data, size_t size, int64_t max_pixels, bool want_f32, decoded *out,
                               onyx_error *err)
{
    jpeg_rjob *j = calloc(1, sizeof *j); /* large (jmp_buf, libjpeg structs): off the stack */
    if (!j) return FAIL(err, ONYX_E_NOMEM, "JPEG: out of memory");
    j->data = data;
    j->size = size;
    j->max_pixels = max_pixels;
    bool ok = jpeg_rjob_run(j);
    jpeg_destroy_decompress(&j->cinfo);
    onyx_status st = ONYX_OK;
    if (!ok) {
        st = FAIL(err, j->st ? j->st : ONYX_E_PARSE, "JPEG: %s", j->msg);
        free(j->pixels);
        free(j);
        return st;
    }
    img_image im = {.width = j->w, .height = j->h, .channels = j->channels, .sample = IMG_U8,
                    .data = j->pixels, .format = IMG_FORMAT_JPEG, .bit_depth = 8};
    out->orientation = j->orientation;
    free(j);
    if (want_f32) {
        img_image f;
        st = img_to_sample(&im, IMG_F32, &f, err);
        img_free(&im);
        if (st) return st;
        im = f;
    }
    out->im = im;
    return ONYX_OK;
}

/* ---- reading: the public entry points -------------------------------------------------- */

/* Replaces *im by the result of a conversion (keeping the informational fields). */
static onyx_status adopt(img_image *im, onyx_status st, img_image *next)
{
    if (st) {
        img_free(im);
        return st;
    }
    next->format = im->format;
    next->bit_depth = im->bit_depth;
    next->orientation = im->orientation;
    img_free(im);
    *im = *next;
    return ONYX_OK;
}

onyx_status img_read_memory(const void *buf, size_t len, const img_read_options *o, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    img_read_options def = {0};
    if (!o) o = &def;
    if (!buf && len) return FAIL(err, ONYX_E_ARG, "no image data");
    if (o->channels < 0 || o->channels > 4) return FAIL(err, ONYX_E_ARG, "invalid channel count %d", o->channels);
    if (o->sample != IMG_U8 && o->sample != IMG_F32)
        return FAIL(err, ONYX_E_ARG, "invalid sample type %d", (int)o->sample);
    int64_t max_pixels = o->max_pixels > 0 ? o->max_pixels : DEFAULT_MAX_PIXELS;
    bool f32 = o->sample == IMG_F32;
    decoded dec;
    memset(&dec, 0, sizeof dec);
    onyx_status st;
    switch (img_detect_format(buf, len)) {
    case IMG_FORMAT_PNG: st = png_decode(buf, len, max_pixels, f32, &dec, err); break;
    case IMG_FORMAT_JPEG: st = jpeg_decode(buf, len, max_pixels, f32, &dec, err); break;
    default: return FAIL(err, ONYX_E_PARSE, "not a PNG or JPEG image (unrecognised signature)");
    }
    if (st) return st;
    img_image im = dec.im, next;
    im.orientation = dec.orientation;
    if (o->channels && o->channels != im.channels && (st = adopt(&im, img_convert(&im, o->channels, &next, err), &next)))
        return st;
    if (!o->ignore_orientation && dec.orientation != 1 &&
        (st = adopt(&im, img_orient(&im, dec.orientation, &next, err), &next)))
        return st;
    *out = im;
    return ONYX_OK;
}

onyx_status img_read_file(const char *path, const img_read_options *o, img_image *out, onyx_error *err)
{
    if (!out) return FAIL(err, ONYX_E_ARG, "no output image");
    memset(out, 0, sizeof *out);
    if (!path) return FAIL(err, ONYX_E_ARG, "no path");
    int64_t limit = o && o->max_file_bytes > 0 ? o->max_file_bytes : DEFAULT_MAX_FILE_BYTES;
    FILE *f = fopen(path, "rb");
    char why[128];
    if (!f) return FAIL(err, ONYX_E_IO, "cannot open '%s': %s", path, errno_text(errno, why, sizeof why));
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    onyx_status st = ONYX_OK;
    if (!buf) st = FAIL(err, ONYX_E_NOMEM, "out of memory reading '%s'", path);
    while (!st) {
        if (len == cap) {
            if ((int64_t)cap > limit) {
                st = FAIL(err, ONYX_E_LIMIT, "'%s' is larger than %lld bytes", path, (long long)limit);
                break;
            }
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                st = FAIL(err, ONYX_E_NOMEM, "out of memory reading '%s'", path);
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) st = FAIL(err, ONYX_E_IO, "cannot read '%s'", path);
            break;
        }
    }
    fclose(f);
    if (!st && (int64_t)len > limit)
        st = FAIL(err, ONYX_E_LIMIT, "'%s' is larger than %lld bytes", path, (long long)limit);
    if (!st) {
        st = img_read_memory(buf, len, o, out, err);
        if (st && err) { /* name the file */
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err->message);
            img_error(err, st, "'%s': %s", path, msg);
        }
    }
    free(buf);
    return st;
}

/* ---- PNG writing ----------------------------------------------------------------------- */

typedef struct png_wjob {
    png_structp png;
    png_infop info;
    const img_image *im; /* U8 */
    png_bytep *rows;
    uint8_t *buf;
    size_t len, cap;
    onyx_status st;
    char msg[256];
} png_wjob;

static void png_on_write_error(png_structp png, png_const_charp msg)
{
    png_wjob *j = png_get_error_ptr(png);
    if (!j->st) j->st = ONYX_E_INTERNAL;
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_write_memory(png_structp png, png_bytep data, size_t n)
{
    png_wjob *j = png_get_io_ptr(png);
    if (n > j->cap - j->len) {
        size_t cap = j->cap ? j->cap : 4096;
        while (cap - j->len < n) {
            if (cap > SIZE_MAX / 2) png_error(png, "output too large");
            cap *= 2;
        }
        uint8_t *bigger = realloc(j->buf, cap);
        if (!bigger) {
            j->st = ONYX_E_NOMEM;
            png_error(png, "out of memory");
        }
        j->buf = bigger;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, data, n);
    j->len += n;
}

static void png_flush_memory(png_structp png) { (void)png; }

static bool png_wjob_run(png_wjob *j)
{
    static const int colors[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                  PNG_COLOR_TYPE_RGB_ALPHA};
    if (setjmp(png_jmpbuf(j->png))) return false;
    png_set_write_fn(j->png, j, png_write_memory, png_flush_memory);
    png_set_IHDR(j->png, j->info, (png_uint_32)j->im->width, (png_uint_32)j->im->height, 8, colors[j->im->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(j->png, j->info);
    png_write_image(j->png, j->rows);
    png_write_end(j->png, NULL);
    return true;
}

onyx_status img_write_png_memory(const img_image *im, void **buf, size_t *len, onyx_error *err)
{
    if (!buf || !len) return FAIL(err, ONYX_E_ARG, "no output buffer");
    *buf = NULL;
    *len = 0;
    onyx_status st = check_image(im, err);
    if (st) return st;
    img_image u8 = {0};
    const img_image *src = im;
    if (im->sample != IMG_U8) {
        if ((st = img_to_sample(im, IMG_U8, &u8, err))) return st;
        src = &u8;
    }
    png_wjob j;
    memset(&j, 0, sizeof j);
    j.im = src;
    j.rows = malloc(sizeof *j.rows * (size_t)src->height);
    if (j.rows) j.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &j, png_on_write_error, png_on_warning);
    if (j.png) j.info = png_create_info_struct(j.png);
    if (!j.rows || !j.png || !j.info) {
        png_destroy_write_struct(&j.png, &j.info);
        free(j.rows);
        img_free(&u8);
        return FAIL(err, ONYX_E_NOMEM, "PNG: out of memory");
    }
    size_t stride = (size_t)src->width * (size_t)src->channels;
    for (int y = 0; y < src->height; y++) j.rows[y] = (uint8_t *)src->data + (size_t)y * stride;
    bool ok = png_wjob_run(&j);
    png_destroy_write_struct(&j.png, &j.info);
    free(j.rows);
    img_free(&u8);
    if (!ok) {
        free(j.buf);
        return FAIL(err, j.st, "PNG: %s", j.msg);
    }
    *buf = j.buf;
    *len = j.len;
    return ONYX_OK;
}

onyx_status img_write_png(const char *path, const img_image *im, onyx_error *err)
{
    if (!path) return FAIL(err, ONYX_E_ARG, "no path");
    void *buf;
    size_t len;
    onyx_status st = img_write_png_memory(im, &buf, &len, err);
    if (st) return st;
    FILE *f = fopen(path, "wb");
    if (!f) {
        char why[128];
        st = FAIL(err, ONYX_E_IO, "cannot create '%s': %s", path, errno_text(errno, why, sizeof why));
    } else {
        bool ok = fwrite(buf, 1, len, f) == len;
        ok = (fclose(f) == 0) && ok;
        if (!ok) st = FAIL(err, ONYX_E_IO, "cannot write '%s'", path);
    }
    free(buf);
    return st;
}
