/* image_codec.c — image decoding for ImageDecoder (see image_codec.h).
 *
 * The format is recognised by its signature (WebP and JPEG 2000 are decoded in
 * image_codec_extra.c). Every decoder writes 8-bit RGB, as the reference (Pillow) produces
 * it: 16-bit samples keep their high byte, alpha is dropped, palettes and gray are
 * expanded; no gamma or colour management is applied.
 *
 * libpng and libjpeg report errors by longjmp out of their error callbacks. Each library's
 * state (and everything else the decoding function touches after setjmp) lives in a job
 * struct in the caller's frame, so nothing local to the function calling setjmp is read
 * after the jump, and the error path destroys the library state before returning.
 *
 * Built with IMAGE=0 (ONYX_NO_IMAGE_LIBS: no libpng, libjpeg, libwebp or OpenJPEG, as for
 * cross targets), those four formats are still recognised but refused with
 * ONYX_E_UNSUPPORTED; BMP, PNM and TIFF need no library and stay. */
#include <stdio.h>
#include <string.h>

#ifndef ONYX_NO_IMAGE_LIBS
#include <setjmp.h>
#include <jpeglib.h>
#include <png.h>
#endif

#include "image_codec.h"

#define DIM_MAX 0x7FFFFFFF /* the largest width or height accepted (the planner limits bytes) */

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | (uint32_t)p[1]; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

#ifndef ONYX_NO_IMAGE_LIBS
/* ---- PNG (libpng) ------------------------------------------------------------------------ */

typedef struct png_job {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, pos;
    uint8_t *rgb; /* h * w * 3 bytes */
    uint32_t w, h;
    char msg[128];
} png_job;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_job *j = png_get_error_ptr(png);
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* warnings are not errors, and the library never prints */
    (void)msg;
}

static void png_read_memory(png_structp png, png_bytep out, png_size_t n)
{
    png_job *j = png_get_io_ptr(png);
    if (n > j->size - j->pos) png_error(png, "PNG data is truncated");
    memcpy(out, j->data + j->pos, n);
    j->pos += n;
}

/* Decodes j->data into j->rgb (checking the size is j->h x j->w); false with j->msg set. */
static bool png_run(png_job *j)
{
    j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_on_error, png_on_warning);
    if (!j->png || !(j->info = png_create_info_struct(j->png))) {
        png_destroy_read_struct(&j->png, NULL, NULL);
        snprintf(j->msg, sizeof j->msg, "out of memory");
        return false;
    }
    if (setjmp(png_jmpbuf(j->png))) {
        png_destroy_read_struct(&j->png, &j->info, NULL);
        return false;
    }
    png_set_read_fn(j->png, j, png_read_memory);
    png_read_info(j->png, j->info);
    if (png_get_image_width(j->png, j->info) != j->w || png_get_image_height(j->png, j->info) != j->h)
        png_error(j->png, "PNG size differs from its header");
    int color = png_get_color_type(j->png, j->info);
    png_set_strip_16(j->png);
    png_set_strip_alpha(j->png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(j->png);
    if (!(color & PNG_COLOR_MASK_COLOR)) {
        png_set_expand_gray_1_2_4_to_8(j->png);
        png_set_gray_to_rgb(j->png);
    }
    int passes = png_set_interlace_handling(j->png);
    png_read_update_info(j->png, j->info);
    if (png_get_rowbytes(j->png, j->info) != (size_t)j->w * 3) png_error(j->png, "unexpected PNG row size");
    for (int pass = 0; pass < passes; pass++)
        for (uint32_t y = 0; y < j->h; y++) png_read_row(j->png, j->rgb + (size_t)y * j->w * 3, NULL);
    png_destroy_read_struct(&j->png, &j->info, NULL);
    return true;
}

static onyx_status png_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    if (n < 24 || memcmp(d + 12, "IHDR", 4))
        return ox_errf(why, cap, ONYX_E_ARG, "PNG header is missing or truncated");
    *w = be32(d + 16);
    *h = be32(d + 20);
    return ONYX_OK;
}

static onyx_status png_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    png_job j = {.data = d, .size = n, .rgb = rgb, .w = (uint32_t)w, .h = (uint32_t)h};
    if (!png_run(&j)) return ox_errf(why, cap, ONYX_E_ARG, "PNG: %s", j.msg);
    return ONYX_OK;
}

/* ---- JPEG (libjpeg) ---------------------------------------------------------------------- */

typedef struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    jmp_buf jump;
    const uint8_t *data;
    size_t size;
    uint8_t *rgb; /* NULL: read the header only */
    int64_t w, h;
    bool cmyk; /* header only: CMYK or YCCK, which libjpeg does not convert to RGB */
    char msg[JMSG_LENGTH_MAX];
} jpeg_job;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_job *j = cinfo->client_data;
    cinfo->err->format_message(cinfo, j->msg);
    longjmp(j->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo) { (void)cinfo; /* warnings: the library never prints */ }

/* Leaves through the error path of jpeg_run with a message of our own. */
static void jpeg_fail(jpeg_job *j, const char *msg)
{
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    longjmp(j->jump, 1);
}

/* Reads the header into j->h, j->w and, when j->rgb is set, decodes the pixels (checking
 * the size is still j->h x j->w); false with j->msg set. */
static bool jpeg_run(jpeg_job *j)
{
    j->cinfo.err = jpeg_std_error(&j->err);
    j->err.error_exit = jpeg_on_error;
    j->err.output_message = jpeg_quiet;
    j->cinfo.client_data = j;
    if (setjmp(j->jump)) {
        jpeg_destroy_decompress(&j->cinfo);
        return false;
    }
    jpeg_create_decompress(&j->cinfo);
    j->cinfo.client_data = j; /* create keeps err and client_data, but say it plainly */
    jpeg_mem_src(&j->cinfo, j->data, (unsigned long)j->size);
    jpeg_read_header(&j->cinfo, TRUE);
    if (j->rgb) {
        if ((int64_t)j->cinfo.image_width != j->w || (int64_t)j->cinfo.image_height != j->h)
            jpeg_fail(j, "size differs from the header read before");
        /* libjpeg's defaults are Pillow's: islow DCT, fancy (smooth) chroma upsampling */
        j->cinfo.out_color_space = JCS_RGB;
        jpeg_start_decompress(&j->cinfo);
        if (j->cinfo.output_components != 3) jpeg_fail(j, "cannot convert the colour space to RGB");
        while (j->cinfo.output_scanline < j->cinfo.output_height) {
            JSAMPROW row = j->rgb + (size_t)j->cinfo.output_scanline * (size_t)j->w * 3;
            jpeg_read_scanlines(&j->cinfo, &row, 1);
        }
        jpeg_finish_decompress(&j->cinfo);
    } else {
        j->w = j->cinfo.image_width;
        j->h = j->cinfo.image_height;
        j->cmyk = j->cinfo.jpeg_color_space == JCS_CMYK || j->cinfo.jpeg_color_space == JCS_YCCK;
    }
    jpeg_destroy_decompress(&j->cinfo);
    return true;
}

static onyx_status jpeg_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    jpeg_job j;
    memset(&j, 0, sizeof j);
    j.data = d;
    j.size = n;
    if (!jpeg_run(&j)) return ox_errf(why, cap, ONYX_E_ARG, "JPEG: %s", j.msg);
    if (j.cmyk) return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "CMYK JPEG images are not supported");
    *h = j.h;
    *w = j.w;
    return ONYX_OK;
}

static onyx_status jpeg_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    jpeg_job j;
    memset(&j, 0, sizeof j);
    j.data = d;
    j.size = n;
    j.rgb = rgb;
    j.h = h;
    j.w = w;
    if (!jpeg_run(&j)) return ox_errf(why, cap, ONYX_E_ARG, "JPEG: %s", j.msg);
    return ONYX_OK;
}
#endif /* ONYX_NO_IMAGE_LIBS */

/* ---- BMP --------------------------------------------------------------------------------- */

/* Uncompressed Windows bitmaps: 1, 4 and 8 bits through a palette, 24 and 32 bits BGR(X);
 * rows bottom-up unless the height is negative, each padded to 4 bytes. */
typedef struct bmp {
    int64_t w, h;
    bool top_down;
    unsigned bpp, entry; /* bits per pixel; bytes per palette entry (3 or 4) */
    size_t pixels, palette, colors, stride;
} bmp;

static onyx_status bmp_parse(const uint8_t *d, size_t n, bmp *b, char *why, size_t cap)
{
    if (n < 26) return ox_errf(why, cap, ONYX_E_ARG, "BMP header is truncated");
    uint32_t dib = le32(d + 14), compression = 0, colors = 0;
    int64_t h;
    if (dib == 12) { /* OS/2 core header: 16-bit sizes, 3-byte palette entries */
        b->w = le16(d + 18);
        h = le16(d + 20);
        b->bpp = le16(d + 24);
        b->entry = 3;
    } else if (dib >= 40 && n >= 54) {
        uint32_t uw = le32(d + 18), uh = le32(d + 22);
        b->w = uw >= 0x80000000u ? -1 : (int64_t)uw;
        h = uh >= 0x80000000u ? (int64_t)uh - 0x100000000 : (int64_t)uh; /* negative: top-down */
        b->bpp = le16(d + 28);
        compression = le32(d + 30);
        colors = le32(d + 46);
        b->entry = 4;
    } else {
        return ox_errf(why, cap, ONYX_E_ARG, "BMP header of %u bytes is not supported", dib);
    }
    if (compression != 0)
        return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "compressed BMP (method %u) is not supported", compression);
    if (b->bpp != 1 && b->bpp != 4 && b->bpp != 8 && b->bpp != 24 && b->bpp != 32)
        return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "%u-bit BMP is not supported", b->bpp);
    b->top_down = h < 0;
    b->h = h < 0 ? -h : h;
    if (b->w <= 0 || b->h <= 0 || b->h > DIM_MAX) return ox_errf(why, cap, ONYX_E_ARG, "BMP size is invalid");
    b->stride = (size_t)((b->bpp * b->w + 31) / 32 * 4);
    b->pixels = le32(d + 10);
    if (b->pixels > n || (size_t)b->h > (n - b->pixels) / b->stride)
        return ox_errf(why, cap, ONYX_E_ARG, "BMP pixel data is truncated");
    b->palette = 14 + (size_t)dib;
    b->colors = b->bpp <= 8 ? (colors && colors < (1u << b->bpp) ? colors : 1u << b->bpp) : 0;
    if (b->palette > n || b->colors > (n - b->palette) / b->entry)
        return ox_errf(why, cap, ONYX_E_ARG, "BMP palette is truncated");
    return ONYX_OK;
}

static void bmp_row(const uint8_t *d, const bmp *b, const uint8_t *src, uint8_t *out)
{
    for (int64_t x = 0; x < b->w; x++, out += 3) {
        const uint8_t *px;
        if (b->bpp >= 24) {
            px = src + x * (b->bpp / 8);
        } else { /* palette index: the pixel's bits, most significant first */
            size_t bit = (size_t)x * b->bpp;
            unsigned v = (unsigned)(src[bit / 8] >> (8 - b->bpp - bit % 8)) & ((1u << b->bpp) - 1);
            if (v >= b->colors) v = 0;
            px = d + b->palette + (size_t)v * b->entry;
        }
        out[0] = px[2]; /* stored as B G R */
        out[1] = px[1];
        out[2] = px[0];
    }
}

static onyx_status bmp_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    bmp b;
    onyx_status st = bmp_parse(d, n, &b, why, cap);
    if (st) return st; /* b is partly unset */
    *h = b.h;
    *w = b.w;
    return ONYX_OK;
}

static onyx_status bmp_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    bmp b;
    onyx_status st = bmp_parse(d, n, &b, why, cap);
    if (st) return st;
    (void)h;
    (void)w; /* checked by the caller against the same header */
    for (int64_t y = 0; y < b.h; y++) {
        int64_t file_row = b.top_down ? y : b.h - 1 - y;
        bmp_row(d, &b, d + b.pixels + (size_t)file_row * b.stride, rgb + (size_t)(y * b.w) * 3);
    }
    return ONYX_OK;
}

/* ---- PNM (PBM, PGM, PPM) ----------------------------------------------------------------- */

/* P1/P4 bitmaps (1 is black), P2/P5 graymaps, P3/P6 pixmaps; ASCII (P1-P3) or binary
 * (P4-P6) samples of at most 8 bits, scaled to 0..255 by the maxval. */
typedef struct pnm {
    int kind; /* 1..6 */
    int64_t w, h;
    unsigned maxval;
    size_t pos; /* where the samples start */
} pnm;

/* Skips whitespace and # comments from *pos. */
static void pnm_skip(const uint8_t *d, size_t n, size_t *pos)
{
    while (*pos < n) {
        uint8_t ch = d[*pos];
        if (ch == '#') {
            while (*pos < n && d[*pos] != '\n' && d[*pos] != '\r') (*pos)++;
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f') {
            (*pos)++;
        } else {
            return;
        }
    }
}

/* Reads a decimal number of at most 9 digits; false if there is none. */
static bool pnm_number(const uint8_t *d, size_t n, size_t *pos, int64_t *v)
{
    pnm_skip(d, n, pos);
    int digits = 0;
    *v = 0;
    while (*pos < n && d[*pos] >= '0' && d[*pos] <= '9' && digits < 9) {
        *v = *v * 10 + (d[(*pos)++] - '0');
        digits++;
    }
    return digits > 0;
}

static onyx_status pnm_parse(const uint8_t *d, size_t n, pnm *p, char *why, size_t cap)
{
    int64_t maxval = 1;
    p->kind = d[1] - '0';
    p->pos = 2;
    if (!pnm_number(d, n, &p->pos, &p->w) || !pnm_number(d, n, &p->pos, &p->h) ||
        (p->kind != 1 && p->kind != 4 && !pnm_number(d, n, &p->pos, &maxval)))
        return ox_errf(why, cap, ONYX_E_ARG, "PNM header is malformed");
    if (p->w <= 0 || p->h <= 0 || maxval <= 0) return ox_errf(why, cap, ONYX_E_ARG, "PNM size is invalid");
    if (maxval > 255) return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "16-bit PNM is not supported");
    p->maxval = (unsigned)maxval;
    if (p->kind >= 4) { /* binary samples start after exactly one whitespace byte */
        if (p->pos >= n) return ox_errf(why, cap, ONYX_E_ARG, "PNM data is truncated");
        p->pos++;
        int64_t channels = p->kind == 6 ? 3 : 1;
        int64_t row = p->kind == 4 ? (p->w + 7) / 8 : p->w * channels;
        if (p->h > (int64_t)((n - p->pos) / (size_t)row)) return ox_errf(why, cap, ONYX_E_ARG, "PNM data is truncated");
    }
    return ONYX_OK;
}

static onyx_status pnm_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    pnm p;
    onyx_status st = pnm_parse(d, n, &p, why, cap);
    if (st) return st; /* p is partly unset */
    *h = p.h;
    *w = p.w;
    return ONYX_OK;
}

static onyx_status pnm_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    pnm p;
    onyx_status st = pnm_parse(d, n, &p, why, cap);
    if (st) return st;
    int channels = p.kind == 3 || p.kind == 6 ? 3 : 1;
    size_t pos = p.pos;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int ch = 0; ch < channels; ch++) {
                int64_t v;
                if (p.kind == 4) { /* packed bits, each row starting on a byte */
                    v = d[pos + (size_t)(y * ((w + 7) / 8) + x / 8)] >> (7 - x % 8) & 1;
                } else if (p.kind >= 5) {
                    v = d[pos++];
                } else if (p.kind == 1) { /* one digit per sample, separators optional */
                    pnm_skip(d, n, &pos);
                    if (pos >= n || (d[pos] != '0' && d[pos] != '1'))
                        return ox_errf(why, cap, ONYX_E_ARG, "PBM data is malformed");
                    v = d[pos++] - '0';
                } else if (!pnm_number(d, n, &pos, &v)) {
                    return ox_errf(why, cap, ONYX_E_ARG, "PNM data is malformed");
                }
                if (v > (int64_t)p.maxval) return ox_errf(why, cap, ONYX_E_ARG, "PNM sample exceeds maxval");
                uint8_t s = p.kind == 1 || p.kind == 4 ? (uint8_t)(v ? 0 : 255)
                                                       : (uint8_t)((v * 255 + p.maxval / 2) / p.maxval);
                uint8_t *out = rgb + (size_t)(y * w + x) * 3;
                if (channels == 3) out[ch] = s;
                else out[0] = out[1] = out[2] = s;
            }
    return ONYX_OK;
}

/* ---- TIFF -------------------------------------------------------------------------------- */

/* Baseline uncompressed TIFF: 8-bit gray (min-is-white or min-is-black) or RGB, samples
 * interleaved, extra samples (alpha) skipped, in strips. */
typedef struct tiff {
    const uint8_t *d;
    size_t n;
    bool be; /* "MM": big-endian */
} tiff;

/* One directory entry: its type, count and where its values are. */
typedef struct tiff_field {
    uint32_t type, count;
    size_t at;
    bool present;
} tiff_field;

enum { TIFF_WIDTH = 256, TIFF_HEIGHT = 257, TIFF_BITS = 258, TIFF_COMPRESSION = 259, TIFF_PHOTOMETRIC = 262,
       TIFF_STRIP_OFFSETS = 273, TIFF_SAMPLES = 277, TIFF_ROWS_PER_STRIP = 278, TIFF_STRIP_BYTES = 279,
       TIFF_PLANAR = 284 };

static bool tiff_u16(const tiff *t, size_t at, uint32_t *v)
{
    if (at > t->n || t->n - at < 2) return false;
    *v = t->be ? be16(t->d + at) : le16(t->d + at);
    return true;
}

static bool tiff_u32(const tiff *t, size_t at, uint32_t *v)
{
    if (at > t->n || t->n - at < 4) return false;
    *v = t->be ? be32(t->d + at) : le32(t->d + at);
    return true;
}

/* Value k of a SHORT or LONG field; def if the field is absent; false if unreadable. */
static bool tiff_value(const tiff *t, const tiff_field *f, uint32_t k, uint32_t def, uint32_t *v)
{
    if (!f->present) return (*v = def, true);
    if (k >= f->count) return false;
    if (f->type == 3) return tiff_u16(t, f->at + (size_t)k * 2, v);
    if (f->type == 4) return tiff_u32(t, f->at + (size_t)k * 4, v);
    return false;
}

typedef struct tiff_image {
    uint32_t w, h, samples, photometric, rows_per_strip, strips;
    tiff_field offsets, counts;
} tiff_image;

static onyx_status tiff_parse(const uint8_t *d, size_t n, tiff *t, tiff_image *im, char *why, size_t cap)
{
    enum { N_TAGS = 10 };
    static const uint32_t tags[N_TAGS] = {TIFF_WIDTH, TIFF_HEIGHT, TIFF_BITS, TIFF_COMPRESSION, TIFF_PHOTOMETRIC,
                                          TIFF_STRIP_OFFSETS, TIFF_SAMPLES, TIFF_ROWS_PER_STRIP, TIFF_STRIP_BYTES,
                                          TIFF_PLANAR};
    tiff_field f[N_TAGS];
    memset(f, 0, sizeof f);
    *t = (tiff){d, n, d[0] == 'M'};
    uint32_t ifd, entries;
    if (!tiff_u32(t, 4, &ifd) || !tiff_u16(t, ifd, &entries))
        return ox_errf(why, cap, ONYX_E_ARG, "TIFF directory is truncated");
    for (uint32_t e = 0; e < entries; e++) {
        size_t at = (size_t)ifd + 2 + (size_t)e * 12;
        uint32_t tag, type, count, where;
        if (!tiff_u16(t, at, &tag) || !tiff_u16(t, at + 2, &type) || !tiff_u32(t, at + 4, &count) ||
            !tiff_u32(t, at + 8, &where))
            return ox_errf(why, cap, ONYX_E_ARG, "TIFF directory is truncated");
        for (int k = 0; k < N_TAGS; k++) {
            if (tags[k] != tag) continue;
            size_t bytes = (size_t)count * (type == 3 ? 2 : 4);
            /* values of up to 4 bytes sit in the entry itself, longer ones at an offset */
            f[k] = (tiff_field){type, count, bytes <= 4 ? at + 8 : where, true};
        }
    }
    uint32_t bits, compression, planar, v;
    if (!tiff_value(t, &f[0], 0, 0, &im->w) || !tiff_value(t, &f[1], 0, 0, &im->h) ||
        !tiff_value(t, &f[3], 0, 1, &compression) || !tiff_value(t, &f[4], 0, 1, &im->photometric) ||
        !tiff_value(t, &f[6], 0, 1, &im->samples) || !tiff_value(t, &f[7], 0, 0xFFFFFFFFu, &im->rows_per_strip) ||
        !tiff_value(t, &f[9], 0, 1, &planar) || !f[5].present || !f[8].present)
        return ox_errf(why, cap, ONYX_E_ARG, "TIFF directory lacks or garbles a required field");
    if (!im->w || !im->h || im->w > DIM_MAX || im->h > DIM_MAX || !im->rows_per_strip)
        return ox_errf(why, cap, ONYX_E_ARG, "TIFF size is invalid");
    if (compression != 1) return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "compressed TIFF (method %u) is not supported", compression);
    bool gray = im->photometric <= 1 && im->samples >= 1, color = im->photometric == 2 && im->samples >= 3;
    if ((!gray && !color) || planar != 1 || im->samples > 8)
        return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "TIFF photometric %u with %u planar samples is not supported",
                       im->photometric, im->samples);
    for (uint32_t s = 0; s < im->samples; s++)
        if (!tiff_value(t, &f[2], s, 1, &bits) || bits != 8)
            return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "TIFF samples of other than 8 bits are not supported");
    im->strips = (uint32_t)(((uint64_t)im->h + im->rows_per_strip - 1) / im->rows_per_strip);
    im->offsets = f[5];
    im->counts = f[8];
    for (uint32_t s = 0; s < im->strips; s++) /* strips must lie inside the file */
        if (!tiff_value(t, &im->offsets, s, 0, &v) || v > n)
            return ox_errf(why, cap, ONYX_E_ARG, "TIFF strip %u is missing", s);
    return ONYX_OK;
}

static onyx_status tiff_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    tiff t;
    tiff_image im;
    onyx_status st = tiff_parse(d, n, &t, &im, why, cap);
    if (st) return st;
    *h = im.h;
    *w = im.w;
    return ONYX_OK;
}

static onyx_status tiff_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    tiff t;
    tiff_image im;
    onyx_status st = tiff_parse(d, n, &t, &im, why, cap);
    if (st) return st;
    size_t px = im.samples, row = (size_t)w * px;
    for (uint32_t s = 0; s < im.strips; s++) {
        uint32_t at;
        if (!tiff_value(&t, &im.offsets, s, 0, &at)) /* cannot fail: tiff_parse read them all */
            return ox_errf(why, cap, ONYX_E_INTERNAL, "TIFF strip %u has no offset", s);
        int64_t y0 = (int64_t)s * im.rows_per_strip, rows = h - y0 < im.rows_per_strip ? h - y0 : im.rows_per_strip;
        if ((size_t)rows > (n - at) / row) return ox_errf(why, cap, ONYX_E_ARG, "TIFF strip %u is truncated", s);
        for (int64_t y = y0; y < y0 + rows; y++)
            for (int64_t x = 0; x < w; x++) {
                const uint8_t *src = d + at + (size_t)(y - y0) * row + (size_t)x * px;
                uint8_t *out = rgb + (size_t)(y * w + x) * 3;
                if (im.photometric == 2) {
                    memcpy(out, src, 3);
                } else {
                    uint8_t g = im.photometric == 0 ? (uint8_t)(255 - src[0]) : src[0];
                    out[0] = out[1] = out[2] = g;
                }
            }
    }
    return ONYX_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

typedef struct codec {
    const char *name;
    onyx_status (*size)(const uint8_t *, size_t, int64_t *, int64_t *, char *, size_t);
    onyx_status (*decode)(const uint8_t *, size_t, int64_t, int64_t, uint8_t *, char *, size_t);
} codec;

/* A codec whose functions are NULL is one this build leaves out (IMAGE=0). */
#ifdef ONYX_NO_IMAGE_LIBS
#define LIB_CODEC(name, size, decode) {name, NULL, NULL}
#else
#define LIB_CODEC(name, size, decode) {name, size, decode}
#endif
static const codec codecs[] = {
    LIB_CODEC("PNG", png_size, png_decode),
    LIB_CODEC("JPEG", jpeg_size, jpeg_decode),
    {"BMP", bmp_size, bmp_decode},
    {"PNM", pnm_size, pnm_decode},
    {"TIFF", tiff_size, tiff_decode},
    LIB_CODEC("WebP", ox_webp_size, ox_webp_decode), /* these two in image_codec_extra.c */
    LIB_CODEC("JPEG 2000", ox_jp2_size, ox_jp2_decode),
};

/* The codec for the data's signature; NULL with *st and why set if there is none. */
static const codec *find_codec(const uint8_t *d, size_t n, onyx_status *st, char *why, size_t cap)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    static const uint8_t jp2_sig[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'};
    if (n >= 8 && !memcmp(d, png_sig, 8)) return &codecs[0];
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return &codecs[1];
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return &codecs[2];
    if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6') return &codecs[3];
    if (n >= 8 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return &codecs[4];
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return &codecs[5];
    if ((n >= 12 && !memcmp(d, jp2_sig, 12)) || (n >= 4 && !memcmp(d, "\xFF\x4F\xFF\x51", 4))) return &codecs[6];
    *st = ONYX_E_ARG;
    ox_errf(why, cap, *st, "the data is not an image in a known format");
    return NULL;
}

onyx_status ox_image_size(const uint8_t *data, size_t size, int64_t *height, int64_t *width, char *why,
                          size_t cap)
{
    onyx_status st;
    const codec *k = find_codec(data, size, &st, why, cap);
    if (!k) return st;
    if (!k->size)
        return ox_errf(why, cap, ONYX_E_UNSUPPORTED,
                       "%s images: this onyx was built with IMAGE=0, without the library that decodes them", k->name);
    if ((st = k->size(data, size, height, width, why, cap))) return st;
    if (*height <= 0 || *width <= 0 || *height > DIM_MAX || *width > DIM_MAX)
        return ox_errf(why, cap, ONYX_E_ARG, "%s size %lld x %lld is invalid", k->name, (long long)*width,
                       (long long)*height);
    return ONYX_OK;
}

onyx_status ox_image_decode(const uint8_t *data, size_t size, int64_t height, int64_t width, uint8_t *rgb,
                            char *why, size_t cap)
{
    int64_t h, w;
    onyx_status st = ox_image_size(data, size, &h, &w, why, cap);
    if (st) return st;
    if (h != height || w != width)
        return ox_errf(why, cap, ONYX_E_ARG, "image is %lld x %lld, expected %lld x %lld", (long long)w,
                       (long long)h, (long long)width, (long long)height);
    return find_codec(data, size, &st, why, cap)->decode(data, size, height, width, rgb, why, cap);
}
