/* test_img.c — the tools' image library (tools/img.h): every PNG and JPEG variant it reads,
 * PNG write/read round trips, EXIF orientations 1-8, corrupt and truncated files (a status
 * and a message, never a crash or a leak: the sanitizer build checks), and preprocessing
 * against references computed with PIL and numpy (tests/data/img/make_refs.py). Pixel
 * comparisons are on the 0..255 scale and allow at most 1 (1/255 after scaling). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/img.h"
#include "check.h"

#define DATA "tests/data/img/"

static char tmpdir[] = "/tmp/onyx_test_img_XXXXXX"; /* files written by the tests */

/* ---- helpers --------------------------------------------------------------------------- */

static bool load_npy(const char *name, onyx_tensor *t)
{
    char path[256];
    snprintf(path, sizeof path, DATA "%s.npy", name);
    onyx_error err;
    if (onyx_tensor_read_npy(path, NULL, t, &err) != ONYX_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, err.message);
        return false;
    }
    return true;
}

static size_t tensor_numel(const onyx_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
    return n;
}

static double tensor_at(const onyx_tensor *t, size_t i)
{
    switch (t->dtype) {
    case ONYX_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
    case ONYX_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
    case ONYX_DTYPE_FLOAT: return ((const float *)t->data)[i];
    default: return NAN;
    }
}

/* Sample i of an image on the 0..255 scale. */
static double image_at(const img_image *im, size_t i)
{
    return im->sample == IMG_U8 ? ((const uint8_t *)im->data)[i] : ((const float *)im->data)[i] * 255.0;
}

/* max |image - reference * ref_scale| over all samples, or 1e9 when the shapes differ. The
 * reference is (H, W) or (H, W, C), as numpy holds images. */
static double image_vs(const img_image *im, const onyx_tensor *ref, double ref_scale)
{
    int64_t c = ref->rank == 3 ? ref->dims[2] : 1;
    if ((ref->rank != 2 && ref->rank != 3) || ref->dims[0] != im->height || ref->dims[1] != im->width ||
        c != im->channels) {
        fprintf(stderr, "shape: image %dx%dx%d, reference rank %d (%lld, %lld, %lld)\n", im->height, im->width,
                im->channels, ref->rank, (long long)ref->dims[0], (long long)ref->dims[1], (long long)c);
        return 1e9;
    }
    double worst = 0.0;
    for (size_t i = 0, n = tensor_numel(ref); i < n; i++) {
        double d = fabs(image_at(im, i) - tensor_at(ref, i) * ref_scale);
        if (!(d <= worst)) worst = d; /* NaN counts as worst */
    }
    return worst;
}

/* Compares an image with the reference file `name`; prints the error when it is over tol. */
static bool image_matches(const img_image *im, const char *name, double ref_scale, double tol)
{
    onyx_tensor ref;
    if (!load_npy(name, &ref)) return false;
    double d = image_vs(im, &ref, ref_scale);
    onyx_tensor_free(&ref, NULL);
    if (!(d <= tol)) fprintf(stderr, "%s: max error %g (tolerance %g)\n", name, d, tol);
    return d <= tol;
}

static bool read_image(const char *file, const img_read_options *o, img_image *im)
{
    char path[256];
    snprintf(path, sizeof path, DATA "%s", file);
    onyx_error err;
    onyx_status st = img_read_file(path, o, im, &err);
    if (st) fprintf(stderr, "%s: %s\n", path, err.message);
    return st == ONYX_OK;
}

static uint8_t *slurp(const char *file, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, DATA "%s", file);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* ---- PNG variants ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    int channels, depth;
} png_cases[] = {
    {"png_gray1", 1, 1},          {"png_gray2", 1, 2},           {"png_gray4", 1, 4},
    {"png_gray8", 1, 8},          {"png_gray16", 1, 16},         {"png_gray8_trns", 2, 8},
    {"png_gray16_trns", 2, 16},   {"png_graya8", 2, 8},          {"png_graya16", 2, 16},
    {"png_rgb8", 3, 8},           {"png_rgb16", 3, 16},          {"png_rgb8_trns", 4, 8},
    {"png_rgba8", 4, 8},          {"png_rgba16", 4, 16},         {"png_palette1", 3, 1},
    {"png_palette2", 3, 2},       {"png_palette4", 3, 4},        {"png_palette8", 3, 8},
    {"png_palette8_trns", 4, 8},  {"png_rgb8_adam7", 3, 8},      {"png_gray4_adam7", 1, 4},
    {"png_rgba16_adam7", 4, 16},  {"png_palette2_adam7", 3, 2},
};

static void test_png_variants(void)
{
    for (size_t i = 0; i < sizeof png_cases / sizeof png_cases[0]; i++) {
        const char *name = png_cases[i].name;
        char file[64];
        snprintf(file, sizeof file, "%s.png", name);
        onyx_tensor ref;
        if (!load_npy(name, &ref)) {
            CHECK(0);
            continue;
        }
        bool is16 = ref.dtype == ONYX_DTYPE_UINT16;
        img_image im;
        /* 8-bit reading: 16-bit samples keep their high byte */
        if (read_image(file, NULL, &im)) {
            CHECK_MSG(im.channels == png_cases[i].channels && im.bit_depth == png_cases[i].depth &&
                          im.format == IMG_FORMAT_PNG && im.sample == IMG_U8 && im.orientation == 1,
                      "%s: %d channels, depth %d", name, im.channels, im.bit_depth);
            double worst = 0.0;
            if (image_vs(&im, &ref, 1.0) > 1e8) worst = 1e9;
            for (size_t k = 0, n = tensor_numel(&ref); worst < 1e8 && k < n; k++) {
                double want = is16 ? (double)((unsigned)tensor_at(&ref, k) >> 8) : tensor_at(&ref, k);
                worst = fmax(worst, fabs(image_at(&im, k) - want));
            }
            CHECK_MSG(worst == 0.0, "%s (8-bit): max error %g", name, worst);
            img_free(&im);
        } else {
            CHECK_MSG(0, "%s", name);
        }
        /* float reading keeps 16 bits */
        img_read_options fo = {.sample = IMG_F32};
        if (read_image(file, &fo, &im)) {
            double d = image_vs(&im, &ref, is16 ? 255.0 / 65535.0 : 1.0);
            CHECK_MSG(im.sample == IMG_F32 && d < 1e-3, "%s (float): max error %g", name, d);
            img_free(&im);
        } else {
            CHECK_MSG(0, "%s", name);
        }
        onyx_tensor_free(&ref, NULL);
    }
    /* channel conversion on reading: palette+tRNS → RGB drops alpha; gray → RGB replicates */
    img_read_options o3 = {.channels = 3}, o1 = {.channels = 1};
    img_image a, b;
    if (read_image("png_palette8_trns.png", &o3, &a) && read_image("png_palette8_trns.png", NULL, &b)) {
        bool same = a.channels == 3;
        for (size_t p = 0; same && p < (size_t)a.width * (size_t)a.height; p++)
            same = !memcmp((uint8_t *)a.data + p * 3, (uint8_t *)b.data + p * 4, 3);
        CHECK(same);
    }
    img_free(&a);
    img_free(&b);
    if (read_image("png_gray8.png", &o3, &a) && read_image("png_gray8.png", &o1, &b)) {
        bool same = a.channels == 3 && b.channels == 1;
        for (size_t p = 0; same && p < (size_t)a.width * (size_t)a.height; p++) {
            const uint8_t *px = (uint8_t *)a.data + p * 3;
            same = px[0] == ((uint8_t *)b.data)[p] && px[1] == px[0] && px[2] == px[0];
        }
        CHECK(same);
    }
    img_free(&a);
    img_free(&b);
}

/* ---- PNG round trips ------------------------------------------------------------------- */

static void test_png_roundtrip(void)
{
    for (int c = 1; c <= 4; c++) {
        img_image im = {.width = 19, .height = 7, .channels = c, .sample = IMG_U8};
        CHECK(img_alloc(&im, NULL) == ONYX_OK);
        if (!im.data) continue;
        uint32_t s = 12345u + (uint32_t)c;
        for (size_t i = 0; i < (size_t)19 * 7 * (size_t)c; i++) {
            s = s * 1103515245u + 12345u;
            ((uint8_t *)im.data)[i] = (uint8_t)(s >> 24);
        }
        void *buf = NULL;
        size_t len = 0;
        onyx_error err;
        CHECK(img_write_png_memory(&im, &buf, &len, &err) == ONYX_OK);
        CHECK(img_detect_format(buf, len) == IMG_FORMAT_PNG);
        img_image back;
        if (img_read_memory(buf, len, NULL, &back, &err) == ONYX_OK) {
            CHECK(back.width == 19 && back.height == 7 && back.channels == c && back.bit_depth == 8);
            CHECK(!memcmp(back.data, im.data, (size_t)19 * 7 * (size_t)c));
            img_free(&back);
        } else {
            CHECK_MSG(0, "%s", err.message);
        }
        free(buf);
        /* through a file, from a float image (rounded to 8 bits) */
        img_image f;
        CHECK(img_to_sample(&im, IMG_F32, &f, NULL) == ONYX_OK);
        char path[sizeof tmpdir + 16];
        snprintf(path, sizeof path, "%s/rt.png", tmpdir);
        {
            CHECK(img_write_png(path, &f, &err) == ONYX_OK);
            if (img_read_file(path, NULL, &back, &err) == ONYX_OK) {
                CHECK(back.channels == c && !memcmp(back.data, im.data, (size_t)19 * 7 * (size_t)c));
                img_free(&back);
            } else {
                CHECK_MSG(0, "%s", err.message);
            }
            unlink(path);
        }
        img_free(&f);
        img_free(&im);
    }
    onyx_error err;
    img_image bad = {.width = 0, .height = 3, .channels = 3};
    void *buf;
    size_t len;
    CHECK(img_write_png_memory(&bad, &buf, &len, &err) == ONYX_E_ARG && buf == NULL);
    img_image ok = {.width = 2, .height = 2, .channels = 3};
    if (img_alloc(&ok, NULL) == ONYX_OK) {
        CHECK(img_write_png("/nonexistent-dir/x.png", &ok, &err) == ONYX_E_IO && strstr(err.message, "nonexistent"));
        img_free(&ok);
    }
}

/* ---- JPEG ------------------------------------------------------------------------------ */

static void test_jpeg(void)
{
    static const char *names[] = {"jpeg_baseline", "jpeg_444", "jpeg_progressive", "jpeg_gray",
                                  "jpeg_gray_progressive", "jpeg_restart"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s.jpg", names[i]);
        img_image im;
        if (!read_image(file, NULL, &im)) {
            CHECK_MSG(0, "%s", file);
            continue;
        }
        CHECK(im.format == IMG_FORMAT_JPEG && im.bit_depth == 8 && im.channels == (strstr(file, "gray") ? 1 : 3));
        CHECK_MSG(image_matches(&im, names[i], 1.0, 1.0), "%s", file);
        img_free(&im);
    }
    onyx_error err;
    img_image im;
    CHECK(img_read_file(DATA "jpeg_cmyk.jpg", NULL, &im, &err) == ONYX_E_UNSUPPORTED && strstr(err.message, "CMYK") &&
          im.data == NULL);
    CHECK(img_read_file(DATA "jpeg_ycck.jpg", NULL, &im, &err) == ONYX_E_UNSUPPORTED && strstr(err.message, "YCCK"));
}

/* ---- EXIF orientation ------------------------------------------------------------------ */

static void test_exif(void)
{
    for (int v = 1; v <= 8; v++) {
        char file[80], name[64];
        for (int jpeg = 0; jpeg < 2; jpeg++) {
            snprintf(name, sizeof name, "exif_%s_%d", jpeg ? "jpeg" : "png", v);
            snprintf(file, sizeof file, "%s.%s", name, jpeg ? "jpg" : "png");
            img_image im;
            if (!read_image(file, NULL, &im)) {
                CHECK_MSG(0, "%s", file);
                continue;
            }
            CHECK_MSG(im.orientation == v, "%s: orientation %d", file, im.orientation);
            CHECK_MSG(image_matches(&im, name, 1.0, jpeg ? 1.0 : 0.0), "%s", file);
            int w = im.width, h = im.height;
            img_free(&im);
            img_read_options keep = {.ignore_orientation = 1};
            if (read_image(file, &keep, &im)) {
                CHECK(v >= 5 ? im.width == h && im.height == w : im.width == w && im.height == h);
                img_free(&im);
            }
        }
    }
}

/* ---- bad input ------------------------------------------------------------------------- */

/* Every truncation of a file must fail with ONYX_E_PARSE and a message. */
static void truncations(const char *file)
{
    size_t len;
    uint8_t *buf = slurp(file, &len);
    CHECK_MSG(buf != NULL, "%s", file);
    if (!buf) return;
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *part = malloc(n ? n : 1); /* exactly n bytes, so ASan sees any overread */
        if (!part) break;
        memcpy(part, buf, n);
        img_image im;
        onyx_error err = {0};
        onyx_status st = img_read_memory(part, n, NULL, &im, &err);
        if (st != ONYX_E_PARSE || !err.message[0] || im.data) {
            if (bad++ < 3) fprintf(stderr, "%s cut at %zu: status %d '%s'\n", file, n, (int)st, err.message);
            img_free(&im);
        }
        free(part);
    }
    CHECK_MSG(bad == 0, "%s: %d truncations not rejected", file, bad);
    free(buf);
}

/* Random byte changes: any status, but a successful read gives a sane image. */
static void corruptions(const char *file)
{
    size_t len;
    uint8_t *buf = slurp(file, &len);
    if (!buf) {
        CHECK_MSG(0, "%s", file);
        return;
    }
    uint32_t s = 99;
    int insane = 0, failed = 0;
    for (int round = 0; round < 300; round++) {
        uint8_t *copy = malloc(len);
        if (!copy) break;
        memcpy(copy, buf, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            s = s * 1664525u + 1013904223u;
            size_t at = 2 + (s >> 8) % (len - 2); /* keep the signature */
            copy[at] ^= (uint8_t)(1u << (s >> 29));
        }
        img_image im;
        onyx_error err = {0};
        onyx_status st = img_read_memory(copy, len, NULL, &im, &err);
        if (st == ONYX_OK) {
            if (!im.data || im.width <= 0 || im.height <= 0 || im.channels < 1 || im.channels > 4) insane++;
            img_free(&im);
        } else {
            failed++;
            if (!err.message[0] || im.data) insane++;
        }
        free(copy);
    }
    CHECK_MSG(insane == 0, "%s: %d bad results", file, insane);
    CHECK_MSG(failed > 0, "%s: no corruption detected", file);
    free(buf);
}

static void test_bad_input(void)
{
    truncations("png_rgb8.png");
    truncations("png_rgba16_adam7.png");
    truncations("png_palette8_trns.png");
    truncations("exif_png_6.png");
    truncations("jpeg_baseline.jpg");
    truncations("jpeg_progressive.jpg");
    truncations("jpeg_gray.jpg");
    truncations("exif_jpeg_6.jpg");
    corruptions("png_rgb8_adam7.png");
    corruptions("png_gray16.png");
    corruptions("jpeg_baseline.jpg");
    corruptions("jpeg_progressive.jpg");
    corruptions("jpeg_restart.jpg");

    onyx_error err;
    img_image im;
    static const uint8_t junk[] = "GIF89a not an image we read";
    CHECK(img_read_memory(junk, sizeof junk, NULL, &im, &err) == ONYX_E_PARSE && strstr(err.message, "PNG or JPEG"));
    CHECK(img_read_memory(NULL, 0, NULL, &im, &err) == ONYX_E_PARSE);
    CHECK(img_read_memory(NULL, 5, NULL, &im, &err) == ONYX_E_ARG);
    CHECK(img_read_memory(junk, sizeof junk, NULL, NULL, NULL) == ONYX_E_ARG);
    CHECK(img_read_file(DATA "no-such-file.png", NULL, &im, &err) == ONYX_E_IO && strstr(err.message, "no-such-file"));
    CHECK(img_read_file(DATA "make_refs.py", NULL, &im, &err) == ONYX_E_PARSE && strstr(err.message, "make_refs.py"));
    /* a PNG named .jpg is still a PNG: the magic decides */
    size_t plen;
    uint8_t *png = slurp("png_rgb8.png", &plen);
    char path[sizeof tmpdir + 16];
    snprintf(path, sizeof path, "%s/png.jpg", tmpdir);
    FILE *f = png ? fopen(path, "wb") : NULL;
    if (f) {
        bool written = fwrite(png, 1, plen, f) == plen;
        written = fclose(f) == 0 && written;
        CHECK(written && img_read_file(path, NULL, &im, &err) == ONYX_OK && im.format == IMG_FORMAT_PNG);
        img_free(&im);
        unlink(path);
    } else {
        CHECK(0);
    }
    free(png);
    img_read_options small = {.max_pixels = 100};
    CHECK(img_read_file(DATA "png_rgb8.png", &small, &im, &err) == ONYX_E_LIMIT);
    CHECK(img_read_file(DATA "jpeg_baseline.jpg", &small, &im, &err) == ONYX_E_LIMIT);
    img_read_options tiny = {.max_file_bytes = 100};
    CHECK(img_read_file(DATA "jpeg_baseline.jpg", &tiny, &im, &err) == ONYX_E_LIMIT);
    img_read_options badch = {.channels = 5};
    CHECK(img_read_file(DATA "png_rgb8.png", &badch, &im, &err) == ONYX_E_ARG);

    /* a PNG whose IDAT CRC is wrong */
    size_t len;
    uint8_t *buf = slurp("png_rgb8.png", &len);
    if (buf) {
        buf[len - 13] ^= 1; /* last byte of the IDAT chunk's CRC, before IEND */
        CHECK(img_read_memory(buf, len, NULL, &im, &err) == ONYX_E_PARSE && strstr(err.message, "PNG"));
        free(buf);
    }
}

/* ---- preprocessing --------------------------------------------------------------------- */

static void test_resize(void)
{
    img_image rgb, rgba, rgbf;
    img_read_options f32 = {.sample = IMG_F32};
    if (!read_image("rgb.png", NULL, &rgb) || !read_image("rgba.png", NULL, &rgba) ||
        !read_image("rgb.png", &f32, &rgbf)) {
        CHECK(0);
        return;
    }
    static const char *filters[] = {"nearest", "bilinear", "box", "bicubic"};
    static const img_filter fids[] = {IMG_FILTER_NEAREST, IMG_FILTER_BILINEAR, IMG_FILTER_BOX, IMG_FILTER_BICUBIC};
    static const struct { const char *name; int w, h; } sizes[] = {{"shrink", 16, 10}, {"grow", 53, 31}, {"mixed", 20, 40}};
    for (int f = 0; f < 4; f++) {
        for (int s = 0; s < 3; s++) {
            char name[64];
            snprintf(name, sizeof name, "resize_%s_%s", filters[f], sizes[s].name);
            img_image out;
            onyx_error err;
            if (img_resize(&rgb, sizes[s].w, sizes[s].h, fids[f], &out, &err) != ONYX_OK) {
                CHECK_MSG(0, "%s: %s", name, err.message);
                continue;
            }
            CHECK_MSG(image_matches(&out, name, 1.0, 1.0), "%s", name);
            img_free(&out);
        }
    }
    img_image out, gray;
    CHECK(img_resize(&rgba, 16, 10, IMG_FILTER_BILINEAR, &out, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "resize_rgba_bilinear_shrink", 1.0, 1.0));
    img_free(&out);
    CHECK(img_resize(&rgba, 53, 31, IMG_FILTER_BICUBIC, &out, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "resize_rgba_bicubic_grow", 1.0, 1.0));
    img_free(&out);
    CHECK(img_convert(&rgb, 1, &gray, NULL) == ONYX_OK);
    CHECK(image_matches(&gray, "gray_of_rgb", 1.0, 0.0));
    CHECK(img_resize(&gray, 16, 10, IMG_FILTER_BOX, &out, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "resize_gray_box_shrink", 1.0, 1.0));
    img_free(&out);
    img_free(&gray);
    /* float images: PIL mode "F", compared on the 0..255 scale */
    CHECK(img_resize(&rgbf, 16, 10, IMG_FILTER_BILINEAR, &out, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "resizef_bilinear_shrink", 255.0, 1e-3));
    img_free(&out);
    CHECK(img_resize(&rgbf, 41, 27, IMG_FILTER_BICUBIC, &out, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "resizef_bicubic_grow", 255.0, 1e-3));
    img_free(&out);
    /* torchvision Resize(20) */
    CHECK(img_resize_shorter(&rgb, 20, IMG_FILTER_BILINEAR, &out, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "resize_shorter20", 1.0, 1.0));
    static const struct { const char *name; int w, h; } crops[] = {{"crop_17x25", 25, 17}, {"crop_23x30", 30, 23},
                                                                     {"crop_26x40", 40, 26}};
    for (int i = 0; i < 3; i++) {
        img_image c;
        CHECK(img_center_crop(&out, crops[i].w, crops[i].h, &c, NULL) == ONYX_OK);
        CHECK_MSG(image_matches(&c, crops[i].name, 1.0, 0.0), "%s", crops[i].name);
        img_free(&c);
    }
    img_free(&out);
    /* letterbox and its geometry */
    static const float pad[4] = {114, 114, 114, 114};
    img_geom g;
    CHECK(img_letterbox(&rgb, 32, 32, IMG_FILTER_BILINEAR, pad, &out, &g, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "letterbox_32x32", 1.0, 1.0));
    CHECK(g.off_x == 0 && g.off_y == 6 && fabs(g.scale_x - 32.0 / 37) < 1e-12 && fabs(g.scale_y - 20.0 / 23) < 1e-12);
    double sx, sy;
    img_geom_to_source(&g, 32, 26, &sx, &sy); /* the scaled image's bottom-right corner */
    CHECK(fabs(sx - 37) < 1e-9 && fabs(sy - 23) < 1e-9);
    img_free(&out);
    CHECK(img_letterbox(&rgb, 40, 24, IMG_FILTER_BILINEAR, pad, &out, &g, NULL) == ONYX_OK);
    CHECK(image_matches(&out, "letterbox_40x24", 1.0, 1.0));
    img_free(&out);
    /* errors */
    onyx_error err;
    CHECK(img_resize(&rgb, 0, 5, IMG_FILTER_BILINEAR, &out, &err) == ONYX_E_ARG && out.data == NULL);
    CHECK(img_resize(&rgb, 5, 5, (img_filter)99, &out, &err) == ONYX_E_ARG);
    CHECK(img_resize(NULL, 5, 5, IMG_FILTER_BILINEAR, &out, &err) == ONYX_E_ARG);
    /* extreme ratios */
    CHECK(img_resize(&rgb, 1, 1, IMG_FILTER_BICUBIC, &out, NULL) == ONYX_OK);
    img_free(&out);
    CHECK(img_resize(&rgb, 500, 1, IMG_FILTER_BOX, &out, NULL) == ONYX_OK);
    img_free(&out);
    img_free(&rgb);
    img_free(&rgba);
    img_free(&rgbf);
}

static void test_orient(void)
{
    img_image im = {.width = 3, .height = 2, .channels = 1};
    if (img_alloc(&im, NULL)) {
        CHECK(0);
        return;
    }
    for (int i = 0; i < 6; i++) ((uint8_t *)im.data)[i] = (uint8_t)i; /* 0 1 2 / 3 4 5 */
    static const uint8_t want[9][6] = {
        {0}, {0, 1, 2, 3, 4, 5}, {2, 1, 0, 5, 4, 3}, {5, 4, 3, 2, 1, 0}, {3, 4, 5, 0, 1, 2},
        {0, 3, 1, 4, 2, 5}, {3, 0, 4, 1, 5, 2}, {5, 2, 4, 1, 3, 0}, {2, 5, 1, 4, 0, 3},
    };
    for (int v = 1; v <= 8; v++) {
        img_image o;
        CHECK(img_orient(&im, v, &o, NULL) == ONYX_OK);
        CHECK_MSG(o.data && !memcmp(o.data, want[v], 6) && o.width == (v >= 5 ? 2 : 3), "orientation %d", v);
        img_free(&o);
    }
    img_image o;
    CHECK(img_orient(&im, 9, &o, NULL) == ONYX_E_ARG);
    img_free(&im);
}

static double tensor_vs(const onyx_tensor *got, const char *name)
{
    onyx_tensor ref;
    if (!load_npy(name, &ref)) return 1e9;
    double worst = 0.0;
    if (ref.rank != got->rank || memcmp(ref.dims, got->dims, sizeof ref.dims[0] * (size_t)ref.rank)) {
        worst = 1e9;
    } else {
        for (size_t i = 0, n = tensor_numel(&ref); i < n; i++) {
            double d = fabs(tensor_at(got, i) - tensor_at(&ref, i));
            if (!(d <= worst)) worst = d;
        }
    }
    onyx_tensor_free(&ref, NULL);
    return worst;
}

static void test_tensors(void)
{
    img_image rgb;
    if (!read_image("rgb.png", NULL, &rgb)) {
        CHECK(0);
        return;
    }
    /* torchvision Resize(20), CenterCrop(16), ToTensor, Normalize(ImageNet) */
    img_preprocess_options p = {.width = 16, .height = 16, .fit = IMG_FIT_RESIZE_CROP, .resize_shorter = 20};
    img_tensor_options_imagenet(&p.tensor);
    onyx_tensor t;
    img_geom g;
    onyx_error err;
    if (img_preprocess(&rgb, &p, &t, &g, &err) == ONYX_OK) {
        double d = tensor_vs(&t, "classify_imagenet_16");
        CHECK_MSG(d * 0.225 <= 1.0 / 255, "classify: max error %g", d);
        CHECK(t.dtype == ONYX_DTYPE_FLOAT && t.rank == 4 && t.dims[1] == 3 && t.dims[2] == 16 && t.dims[3] == 16);
        /* resized to 32 x 20, cropped at (8, 2) */
        CHECK(fabs(g.scale_x - 32.0 / 37) < 1e-12 && g.off_x == -8 && g.off_y == -2);
        onyx_tensor_free(&t, NULL);
    } else {
        CHECK_MSG(0, "%s", err.message);
    }
    /* NHWC uint8 BGR holds the samples themselves, reordered */
    img_tensor_options o = {.dtype = ONYX_DTYPE_UINT8, .layout = IMG_NHWC, .order = IMG_BGR};
    if (img_to_tensor(&rgb, &o, &t, &err) == ONYX_OK) {
        CHECK(t.rank == 4 && t.dims[1] == 23 && t.dims[2] == 37 && t.dims[3] == 3);
        const uint8_t *s = rgb.data, *d = t.data;
        bool same = true;
        for (size_t i = 0; same && i < (size_t)37 * 23; i++)
            same = d[i * 3] == s[i * 3 + 2] && d[i * 3 + 1] == s[i * 3 + 1] && d[i * 3 + 2] == s[i * 3];
        CHECK(same);
        onyx_tensor_free(&t, NULL);
    } else {
        CHECK_MSG(0, "%s", err.message);
    }
    /* defaults: float NCHW value / 255; gray images give one channel */
    if (img_to_tensor(&rgb, NULL, &t, &err) == ONYX_OK) {
        CHECK(t.dims[1] == 3 && t.dims[2] == 23 && t.dims[3] == 37);
        const float *d = t.data;
        const uint8_t *s = rgb.data;
        CHECK(d[0] == s[0] / 255.0f && d[37 * 23] == s[1] / 255.0f && d[1] == s[3] / 255.0f);
        onyx_tensor_free(&t, NULL);
    }
    /* the inverse returns the pixels, whatever the normalisation */
    img_tensor_options inet;
    img_tensor_options_imagenet(&inet);
    inet.order = IMG_BGR;
    for (int layout = 0; layout < 2; layout++) {
        inet.layout = (img_layout)layout;
        img_image back;
        if (img_to_tensor(&rgb, &inet, &t, &err) == ONYX_OK) {
            CHECK(img_from_tensor(&t, 0, &inet, &back, &err) == ONYX_OK);
            CHECK(back.data && back.channels == 3 && back.width == 37 && !memcmp(back.data, rgb.data, (size_t)37 * 23 * 3));
            img_free(&back);
            CHECK(img_from_tensor(&t, 1, &inet, &back, &err) == ONYX_E_ARG);
            onyx_tensor_free(&t, NULL);
        }
    }
    /* stretch and letterbox through the pipeline; the geometry maps corners back */
    img_preprocess_options lb = {.width = 32, .height = 32, .fit = IMG_FIT_LETTERBOX, .pad = {114, 114, 114}};
    lb.tensor.dtype = ONYX_DTYPE_UINT8;
    lb.tensor.layout = IMG_NHWC;
    if (img_preprocess(&rgb, &lb, &t, &g, &err) == ONYX_OK) {
        onyx_tensor ref;
        if (load_npy("letterbox_32x32", &ref)) {
            bool close = true;
            for (size_t i = 0; i < tensor_numel(&ref); i++)
                close = close && fabs(tensor_at(&t, i) - tensor_at(&ref, i)) <= 1.0;
            CHECK(close);
            onyx_tensor_free(&ref, NULL);
        }
        CHECK(g.off_y == 6);
        onyx_tensor_free(&t, NULL);
    }
    img_preprocess_options st = {.width = 10, .height = 30, .fit = IMG_FIT_STRETCH};
    if (img_preprocess(&rgb, &st, &t, &g, &err) == ONYX_OK) {
        CHECK(t.dims[2] == 30 && t.dims[3] == 10 && g.scale_x == 10.0 / 37 && g.off_x == 0);
        onyx_tensor_free(&t, NULL);
    }
    CHECK(img_preprocess(&rgb, &(img_preprocess_options){.fit = IMG_FIT_STRETCH}, &t, NULL, &err) == ONYX_E_ARG);
    img_tensor_options bad = {.dtype = ONYX_DTYPE_INT64};
    CHECK(img_to_tensor(&rgb, &bad, &t, &err) == ONYX_E_UNSUPPORTED && t.data == NULL);
    img_free(&rgb);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_png_variants();
    test_png_roundtrip();
    test_jpeg();
    test_exif();
    test_bad_input();
    test_orient();
    test_resize();
    test_tensors();
    rmdir(tmpdir);
    return check_report("img");
}
