/* test_image.c — ImageDecoder and its codecs: PNG colour types (16-bit, alpha, palette,
 * interlaced), JPEG through a stream compressed here, BMP, PNM and TIFF variants built in
 * memory, the pixel formats, and what undecodable or unsupported data gives. */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

#include "check.h"
#include "node_case.h"

/* PNGs written byte by byte (zlib streams from Python's zlib): a 2x2 RGB; a 2x1 16-bit
 * gray+alpha (samples 0x1234, 0xABCD); a 3x1 1-bit palette image (pixels 1 0 1 of
 * palette (1,2,3), (200,100,50)); a 3x3 8-bit gray Adam7-interlaced image of 10*y + x. */
static const uint8_t png_rgb[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x13, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
    0x00, 0xc2, 0x0c, 0xff, 0xb9, 0x44, 0xe4, 0x00, 0x1a, 0x58, 0x03, 0x3a, 0x56, 0x63, 0xa2, 0x3c,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static const uint8_t png_ga16[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x10, 0x04, 0x00, 0x00, 0x00, 0x0e, 0xbb, 0x6b,
    0x42, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x10, 0x32, 0xf9, 0xff,
    0x7f, 0xf5, 0x59, 0x06, 0x06, 0x00, 0x12, 0x0d, 0x03, 0xbd, 0x37, 0xd5, 0xa5, 0x9e, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static const uint8_t png_pal1[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x01, 0x03, 0x00, 0x00, 0x00, 0x21, 0x2e, 0x86,
    0xf7, 0x00, 0x00, 0x00, 0x06, 0x50, 0x4c, 0x54, 0x45, 0x01, 0x02, 0x03, 0xc8, 0x64, 0x32, 0x50,
    0xb4, 0xae, 0x3f, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x58, 0x00,
    0x00, 0x00, 0xa2, 0x00, 0xa1, 0xdc, 0x8d, 0xb1, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82};
static const uint8_t png_gray_adam7[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x00, 0x01, 0x04, 0x44, 0xda,
    0xf5, 0x00, 0x00, 0x00, 0x17, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x60, 0x60, 0x62,
    0x10, 0x11, 0x63, 0x60, 0x64, 0x10, 0x65, 0xe0, 0xe2, 0xe6, 0x01, 0x00, 0x02, 0x65, 0x00, 0x64,
    0x64, 0x87, 0xe5, 0xed, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* Decodes data with the given pixel_format; returns the status, output in k. */
static onyx_status decode(node_case *k, const void *data, int64_t n, const char *format)
{
    nc_init(k, "", "ImageDecoder", 20, 1, 1);
    nc_in(k, 0, ONYX_DTYPE_UINT8, 1, &n, data);
    if (format) nc_str(k, "pixel_format", format);
    return nc_call(k);
}

static bool shape_is(const node_case *k, int64_t h, int64_t w, int64_t c)
{
    const onyx_tensor *y = &k->out[0];
    return y->dtype == ONYX_DTYPE_UINT8 && y->rank == 3 && y->dims[0] == h && y->dims[1] == w && y->dims[2] == c;
}

static bool pixels_are(const node_case *k, const uint8_t *want, size_t n)
{
    return ox_tensor_bytes(&k->out[0]) == n && !memcmp(k->out[0].data, want, n);
}

static void test_png(void)
{
    node_case k;
    CHECK(decode(&k, png_rgb, sizeof png_rgb, NULL) == ONYX_OK && shape_is(&k, 2, 2, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30}, 12));
    nc_free(&k);
    CHECK(decode(&k, png_rgb, sizeof png_rgb, "BGR") == ONYX_OK);
    CHECK(pixels_are(&k, (const uint8_t[]){0, 0, 255, 0, 255, 0, 255, 0, 0, 30, 20, 10}, 12));
    nc_free(&k);
    /* Pillow's luma: (19595 R + 38470 G + 7471 B + 0x8000) >> 16 */
    CHECK(decode(&k, png_rgb, sizeof png_rgb, "Grayscale") == ONYX_OK && shape_is(&k, 2, 2, 1));
    CHECK(pixels_are(&k, (const uint8_t[]){76, 150, 29, 18}, 4));
    nc_free(&k);
    CHECK(decode(&k, png_ga16, sizeof png_ga16, NULL) == ONYX_OK && shape_is(&k, 1, 2, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){0x12, 0x12, 0x12, 0xAB, 0xAB, 0xAB}, 6));
    nc_free(&k);
    CHECK(decode(&k, png_pal1, sizeof png_pal1, NULL) == ONYX_OK && shape_is(&k, 1, 3, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){200, 100, 50, 1, 2, 3, 200, 100, 50}, 9));
    nc_free(&k);
    CHECK(decode(&k, png_gray_adam7, sizeof png_gray_adam7, "Grayscale") == ONYX_OK && shape_is(&k, 3, 3, 1));
    CHECK(pixels_are(&k, (const uint8_t[]){0, 1, 2, 10, 11, 12, 20, 21, 22}, 9));
    nc_free(&k);

    /* a corrupt stream after a good header: the shape was planned, so run fails */
    uint8_t bad[sizeof png_rgb];
    memcpy(bad, png_rgb, sizeof bad);
    bad[45] ^= 0xFF; /* inside IDAT: the CRC no longer matches */
    CHECK(decode(&k, bad, sizeof bad, NULL) == ONYX_E_ARG && nc_msg_has(&k, "PNG"));
    nc_free(&k);
    /* a truncated header: not decodable, an empty image as the spec says */
    CHECK(decode(&k, png_rgb, 20, NULL) == ONYX_OK && shape_is(&k, 0, 0, 3));
    nc_free(&k);
}

/* Compresses a 16x8 RGB gradient at quality 95 with libjpeg (into malloc'd *out). */
static unsigned long make_jpeg(unsigned char **out, uint8_t rgb[8][16][3])
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned long size = 0;
    *out = NULL;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, out, &size);
    c.image_width = 16;
    c.image_height = 8;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 16; x++) {
            rgb[y][x][0] = (uint8_t)(x * 16);
            rgb[y][x][1] = (uint8_t)(y * 32);
            rgb[y][x][2] = 128;
        }
        JSAMPROW row = rgb[y][0];
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return size;
}

static void test_jpeg(void)
{
    uint8_t src[8][16][3];
    unsigned char *jpg;
    unsigned long n = make_jpeg(&jpg, src);
    node_case rgb, bgr, gray;
    CHECK(decode(&rgb, jpg, (int64_t)n, "RGB") == ONYX_OK && shape_is(&rgb, 8, 16, 3));
    CHECK(decode(&bgr, jpg, (int64_t)n, "BGR") == ONYX_OK && shape_is(&bgr, 8, 16, 3));
    CHECK(decode(&gray, jpg, (int64_t)n, "Grayscale") == ONYX_OK && shape_is(&gray, 8, 16, 1));
    const uint8_t *p = rgb.out[0].data, *q = bgr.out[0].data, *g = gray.out[0].data;
    int worst = 0;
    bool consistent = p && q && g;
    for (int i = 0; consistent && i < 128; i++) {
        for (int ch = 0; ch < 3; ch++) {
            int d = abs(p[3 * i + ch] - src[i / 16][i % 16][ch]);
            worst = d > worst ? d : worst;
            consistent &= q[3 * i + ch] == p[3 * i + 2 - ch];
        }
        consistent &= g[i] == (uint8_t)((p[3 * i] * 19595u + p[3 * i + 1] * 38470u + p[3 * i + 2] * 7471u + 0x8000u) >> 16);
    }
    CHECK_MSG(consistent && worst <= 20, "worst error %d", worst); /* lossy, chroma subsampled */
    nc_free(&rgb);
    nc_free(&bgr);
    nc_free(&gray);

    /* cut inside the header: empty; cut in the scan: libjpeg pads (a warning) or fails */
    node_case k;
    CHECK(decode(&k, jpg, 40, NULL) == ONYX_OK && shape_is(&k, 0, 0, 3));
    nc_free(&k);
    onyx_status st = decode(&k, jpg, (int64_t)n - 100, NULL);
    CHECK(st == ONYX_OK || (st == ONYX_E_ARG && nc_msg_has(&k, "JPEG")));
    nc_free(&k);
    free(jpg);
}

/* ---- BMP, PNM, TIFF ---------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A BMP with a 40-byte info header: w x h (negative: top-down), bpp, palette entries. */
static size_t make_bmp(uint8_t *b, int32_t w, int32_t h, uint16_t bpp, uint32_t colors, uint32_t compression)
{
    memset(b, 0, 54);
    b[0] = 'B';
    b[1] = 'M';
    put32(b + 10, 54 + colors * 4);
    put32(b + 14, 40);
    put32(b + 18, (uint32_t)w);
    put32(b + 22, (uint32_t)h);
    b[26] = 1;
    b[28] = (uint8_t)bpp;
    put32(b + 30, compression);
    put32(b + 46, colors);
    return 54 + colors * 4;
}

static void test_bmp(void)
{
    uint8_t b[128];
    node_case k;
    /* 24-bit, 2x2 bottom-up, rows padded from 6 to 8 bytes, pixels stored B G R */
    size_t at = make_bmp(b, 2, 2, 24, 0, 0);
    const uint8_t rows[16] = {1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0};
    memcpy(b + at, rows, 16);
    CHECK(decode(&k, b, (int64_t)at + 16, NULL) == ONYX_OK && shape_is(&k, 2, 2, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){9, 8, 7, 12, 11, 10, 3, 2, 1, 6, 5, 4}, 12));
    nc_free(&k);
    /* 1-bit, 3x2 top-down through a 2-entry palette */
    at = make_bmp(b, 3, -2, 1, 2, 0);
    const uint8_t pal[8] = {30, 20, 10, 0, 3, 2, 1, 0}, bits[8] = {0xA0, 0, 0, 0, 0x40, 0, 0, 0};
    memcpy(b + 54, pal, 8);
    memcpy(b + at, bits, 8);
    CHECK(decode(&k, b, (int64_t)at + 8, NULL) == ONYX_OK && shape_is(&k, 2, 3, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){1, 2, 3, 10, 20, 30, 1, 2, 3, 10, 20, 30, 1, 2, 3, 10, 20, 30}, 18));
    nc_free(&k);
    /* truncated pixels: empty; run-length compressed: unsupported */
    CHECK(decode(&k, b, (int64_t)at + 4, NULL) == ONYX_OK && shape_is(&k, 0, 0, 3));
    nc_free(&k);
    at = make_bmp(b, 3, 2, 8, 0, 1);
    CHECK(decode(&k, b, (int64_t)at + 8, NULL) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "compressed BMP"));
    nc_free(&k);
}

static void test_pnm(void)
{
    node_case k;
    static const char p3[] = "P3\n# comment\n2 1 15\n15 0 0  0 15 7\n";
    CHECK(decode(&k, p3, sizeof p3 - 1, NULL) == ONYX_OK && shape_is(&k, 1, 2, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){255, 0, 0, 0, 255, 119}, 6));
    nc_free(&k);
    static const char p1[] = "P1 3 1 101";
    CHECK(decode(&k, p1, sizeof p1 - 1, "Grayscale") == ONYX_OK && shape_is(&k, 1, 3, 1));
    CHECK(pixels_are(&k, (const uint8_t[]){0, 255, 0}, 3));
    nc_free(&k);
    static const uint8_t p4[] = {'P', '4', ' ', '9', ' ', '1', '\n', 0x80, 0x80};
    CHECK(decode(&k, p4, sizeof p4, "Grayscale") == ONYX_OK && shape_is(&k, 1, 9, 1));
    CHECK(pixels_are(&k, (const uint8_t[]){0, 255, 255, 255, 255, 255, 255, 255, 0}, 9));
    nc_free(&k);
    static const uint8_t p5[] = {'P', '5', ' ', '2', ' ', '2', ' ', '2', '5', '5', '\n', 1, 2, 3};
    CHECK(decode(&k, p5, sizeof p5, NULL) == ONYX_OK && shape_is(&k, 0, 0, 3)); /* one byte short */
    nc_free(&k);
    static const char p6[] = "P6 1 1 65535\n\x01\x02\x03\x04\x05\x06";
    CHECK(decode(&k, p6, sizeof p6 - 1, NULL) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "16-bit"));
    nc_free(&k);
}

static void put16_as(uint8_t *p, uint32_t v, bool be)
{
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
    p[be ? 1 : 0] = (uint8_t)v;
}

static void put32_as(uint8_t *p, uint32_t v, bool be)
{
    put16_as(p + (be ? 0 : 2), v >> 16, be);
    put16_as(p + (be ? 2 : 0), v & 0xFFFF, be);
}

/* A 2x2 8-bit TIFF in one strip: spp samples per pixel, photometric, compression. The
 * directory (nine SHORT fields) is at 8, BitsPerSample's list (spp > 2) at 122, the pixels
 * at 138 (returned). */
static size_t make_tiff(uint8_t *t, bool be, uint16_t spp, uint16_t photometric, uint16_t compression)
{
    const uint32_t fields[9][2] = {{256, 2}, {257, 2}, {258, 8}, {259, compression}, {262, photometric},
                                   {273, 138}, {277, spp}, {278, 2}, {279, 4u * spp}};
    memset(t, 0, 138);
    memcpy(t, be ? "MM\0*" : "II*\0", 4);
    put32_as(t + 4, 8, be);
    put16_as(t + 8, 9, be);
    for (int e = 0; e < 9; e++) {
        uint8_t *p = t + 10 + e * 12;
        bool bits = fields[e][0] == 258;
        put16_as(p, fields[e][0], be);
        put16_as(p + 2, 3, be); /* SHORT */
        put32_as(p + 4, bits ? spp : 1, be);
        if (bits && spp > 2) put32_as(p + 8, 122, be); /* more than 4 bytes: at an offset */
        else put16_as(p + 8, fields[e][1], be);
        if (bits && spp == 2) put16_as(p + 10, 8, be);
    }
    for (int s = 0; s < spp && spp > 2; s++) put16_as(t + 122 + 2 * s, 8, be);
    return 138;
}

static void test_tiff(void)
{
    uint8_t t[256];
    node_case k;
    /* little-endian gray, min-is-white */
    size_t at = make_tiff(t, false, 1, 0, 1);
    memcpy(t + at, (const uint8_t[]){0, 55, 200, 255}, 4);
    CHECK(decode(&k, t, (int64_t)at + 4, "Grayscale") == ONYX_OK && shape_is(&k, 2, 2, 1));
    CHECK(pixels_are(&k, (const uint8_t[]){255, 200, 55, 0}, 4));
    nc_free(&k);
    /* big-endian RGBA: the alpha sample is skipped */
    at = make_tiff(t, true, 4, 2, 1);
    memcpy(t + at, (const uint8_t[]){1, 2, 3, 9, 4, 5, 6, 9, 7, 8, 9, 9, 10, 11, 12, 9}, 16);
    CHECK(decode(&k, t, (int64_t)at + 16, NULL) == ONYX_OK && shape_is(&k, 2, 2, 3));
    CHECK(pixels_are(&k, (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 12));
    nc_free(&k);
    /* truncated strip: the header is fine, so run fails */
    CHECK(decode(&k, t, (int64_t)at + 10, NULL) == ONYX_E_ARG && nc_msg_has(&k, "truncated"));
    nc_free(&k);
    at = make_tiff(t, false, 1, 1, 5);
    CHECK(decode(&k, t, (int64_t)at + 4, NULL) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "compressed TIFF"));
    nc_free(&k);
}

/* ---- the op ------------------------------------------------------------------------------ */

static void test_decoder_op(void)
{
    node_case k;
    static const uint8_t webp[16] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};
    CHECK(decode(&k, webp, sizeof webp, NULL) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "WebP"));
    nc_free(&k);
    static const uint8_t noise[5] = {1, 2, 3, 4, 5};
    CHECK(decode(&k, noise, sizeof noise, "Grayscale") == ONYX_OK && shape_is(&k, 0, 0, 1));
    nc_free(&k);
    CHECK(decode(&k, noise, 0, NULL) == ONYX_OK && shape_is(&k, 0, 0, 3));
    nc_free(&k);
    CHECK(decode(&k, png_rgb, sizeof png_rgb, "RGBA") == ONYX_E_ARG && nc_msg_has(&k, "pixel_format 'RGBA'"));
    nc_free(&k);
    CHECK(decode(&k, NULL, sizeof png_rgb, NULL) == ONYX_E_UNSUPPORTED && k.c.need_value == 0);
    nc_free(&k);
    int64_t dims[2] = {1, 4};
    nc_init(&k, "", "ImageDecoder", 20, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_UINT8, 2, dims, noise);
    CHECK(nc_call(&k) == ONYX_E_SHAPE && nc_msg_has(&k, "1-D"));
    nc_free(&k);
}

int main(void)
{
    test_png();
    test_jpeg();
    test_bmp();
    test_pnm();
    test_tiff();
    test_decoder_op();
    return check_report("image");
}
