/* image.c — ImageDecoder: an encoded image (a 1-D uint8 tensor holding a PNG, JPEG, BMP,
 * PNM, TIFF, WebP or JPEG 2000 file) to [H, W, C] uint8 pixels, C = 3 for RGB / BGR and 1
 * for Grayscale.
 *
 * The output shape is the image's, so infer reads the header (ox_need_value); run decodes
 * (ops/image_codec.c). As the spec asks, data that cannot be decoded (no image, a corrupt
 * header) gives an empty [0, 0, C] tensor; formats recognised but not supported here
 * (animated WebP, compressed TIFF …) are an error, so that they are not mistaken for bad data. */
#include <string.h>

#include "image_codec.h"
#include "op.h"

typedef enum { PIX_RGB, PIX_BGR, PIX_GRAY } pixel_format;

static onyx_status decoder_format(ox_ctx *c, pixel_format *pf)
{
    const char *s = ox_attr_string(c, "pixel_format", "RGB");
    if (!strcmp(s, "RGB")) *pf = PIX_RGB;
    else if (!strcmp(s, "BGR")) *pf = PIX_BGR;
    else if (!strcmp(s, "Grayscale")) *pf = PIX_GRAY;
    else return ox_fail(c, ONYX_E_ARG, "pixel_format '%s' is not RGB, BGR or Grayscale", s);
    return ONYX_OK;
}

static onyx_status decoder_infer(ox_ctx *c)
{
    static const onyx_dtype bytes_type[] = {ONYX_DTYPE_UINT8, 0};
    onyx_status st = ox_need_io(c, 1);
    pixel_format pf;
    if (st || (st = ox_expect_dtype(c, 0, bytes_type)) || (st = decoder_format(c, &pf))) return st;
    const onyx_tensor *x = c->in[0];
    if (x->rank != 1) return ox_fail(c, ONYX_E_SHAPE, "the encoded stream must be 1-D, got rank %d", x->rank);
    int64_t dims[3] = {0, 0, pf == PIX_GRAY ? 1 : 3};
    if (x->dims[0] > 0) {
        if ((st = ox_need_value(c, 0))) return st;
        char why[160];
        st = ox_image_size(x->data, (size_t)x->dims[0], &dims[0], &dims[1], why, sizeof why);
        if (st == ONYX_E_ARG) dims[0] = dims[1] = 0; /* undecodable: empty, per the spec */
        else if (st) return ox_fail(c, st, "%s", why);
    }
    /* Grayscale is computed from the RGB pixels, decoded into scratch first. */
    int64_t rgb_dims[3] = {dims[0], dims[1], 3};
    size_t rgb_bytes;
    if (!ox_shape_bytes(ONYX_DTYPE_UINT8, 3, rgb_dims, &rgb_bytes))
        return ox_fail(c, ONYX_E_SHAPE, "image of %lld x %lld is too large", (long long)dims[1], (long long)dims[0]);
    if (pf == PIX_GRAY) c->scratch_bytes = rgb_bytes;
    ox_set_shape(c->out[0], ONYX_DTYPE_UINT8, 3, dims);
    return ONYX_OK;
}

static onyx_status decoder_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    pixel_format pf;
    onyx_status st = decoder_format(c, &pf);
    if (st) return st;
    int64_t h = y->dims[0], w = y->dims[1], n = h * w;
    if (n == 0) return ONYX_OK;
    if (pf == PIX_GRAY && c->scratch_bytes < (size_t)n * 3)
        return ox_fail(c, ONYX_E_INTERNAL, "scratch for the RGB pixels is missing");
    uint8_t *rgb = pf == PIX_GRAY ? c->scratch : y->data;
    char why[160];
    if ((st = ox_image_decode(x->data, (size_t)x->dims[0], h, w, rgb, why, sizeof why)))
        return ox_fail(c, st, "%s", why);
    uint8_t *out = y->data;
    if (pf == PIX_BGR) {
        for (int64_t i = 0; i < n; i++) {
            uint8_t r = rgb[3 * i];
            rgb[3 * i] = rgb[3 * i + 2];
            rgb[3 * i + 2] = r;
        }
    } else if (pf == PIX_GRAY) {
        /* ITU-R 601 luma in 16-bit fixed point, rounded: Pillow's RGB to L conversion */
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *p = rgb + 3 * i;
            out[i] = (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
        }
    }
    return ONYX_OK;
}

const ox_op ox_ops_image[] = {
    {"ImageDecoder", "", 20, 28, decoder_infer, decoder_run, 0},
};
const size_t ox_ops_image_count = sizeof ox_ops_image / sizeof ox_ops_image[0];
