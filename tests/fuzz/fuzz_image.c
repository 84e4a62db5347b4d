/* fuzz_image.c — libFuzzer target: any bytes as the encoded image of an ImageDecoder node
 * (PNG through libpng, JPEG through libjpeg, BMP, PNM and TIFF by hand; ops/image_codec.c).
 *
 * The header is probed (ox_image_size); images of at most MAX_PIXELS pixels are then decoded
 * by the op itself (infer probes again and sets the shape, run decodes) once per pixel
 * format, into buffers this target allocates. Larger images stop after the probe, so the
 * fuzzer spends neither memory nor time on the huge (valid) buffers a 30-byte header can
 * ask for. Besides crashes, leaks and UB, the three decodes check each other: their
 * buffers start out holding different bytes, so a pixel the decoder leaves unwritten shows
 * up as RGB and BGR disagreeing, or Grayscale not being the luma of RGB. */
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"
#include "op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIXELS (1 << 20)

/* One ImageDecoder node with the given pixel_format; decoded pixels in *pixels (malloc'd,
 * *pixels NULL when infer fails or the image is empty), prefilled with fill before run. */
static onyx_status decode(const uint8_t *data, size_t size, const char *format, uint8_t fill, uint8_t **pixels,
                          int64_t dims[3])
{
    int node_in[1] = {0}, node_out[1] = {1};
    ox_attr attr = {.name = "pixel_format", .type = OX_ATTR_STRING, .s = format, .s_len = strlen(format)};
    ox_node node = {.name = "n", .op_type = "ImageDecoder", .domain = "", .opset = 20, .n_in = 1, .n_out = 1,
                    .in = node_in, .out = node_out, .n_attr = 1, .attr = &attr};
    onyx_tensor x = {.dtype = ONYX_DTYPE_UINT8, .rank = 1, .dims = {(int64_t)size}, .data = (void *)(uintptr_t)data};
    onyx_tensor y;
    memset(&y, 0, sizeof y);
    onyx_tensor *in[1] = {&x}, *out[1] = {&y};
    char msg[256];
    ox_ctx c = {.node = &node, .opset = 20, .n_in = 1, .n_out = 1, .in = in, .out = out, .threads = 1, .msg = msg,
                .msg_cap = sizeof msg, .need_value = -1};
    *pixels = NULL;
    const ox_op *op = ox_op_find("", "ImageDecoder", 20);
    if (!op) abort();
    onyx_status st = op->infer(&c);
    if (st) return st;
    if (y.dtype != ONYX_DTYPE_UINT8 || y.rank != 3 || y.dims[0] < 0 || y.dims[1] < 0 ||
        y.dims[2] != (strcmp(format, "Grayscale") ? 3 : 1) || (y.dims[0] == 0) != (y.dims[1] == 0))
        abort(); /* infer's shape is [H, W, C], both H and W zero for undecodable data */
    memcpy(dims, y.dims, 3 * sizeof *dims);
    size_t n = (size_t)(y.dims[0] * y.dims[1]);
    if (n == 0 || n > MAX_PIXELS) return ONYX_OK;
    if (c.scratch_bytes && c.scratch_bytes != n * 3) abort(); /* Grayscale's RGB scratch */
    y.data = *pixels = malloc(n * (size_t)y.dims[2]);
    void *scratch = c.scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    if (!y.data || (c.scratch_bytes && !scratch)) abort();
    memset(y.data, fill, n * (size_t)y.dims[2]);
    if (scratch) memset(scratch, fill, c.scratch_bytes);
    st = op->run(&c);
    free(scratch);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t h, w;
    char why[160];
    if (ox_image_size(data, size, &h, &w, why, sizeof why) == ONYX_OK && h * w > MAX_PIXELS) return 0;

    uint8_t *rgb, *bgr, *gray;
    int64_t d_rgb[3] = {0}, d_bgr[3] = {0}, d_gray[3] = {0};
    onyx_status st_rgb = decode(data, size, "RGB", 0x00, &rgb, d_rgb);
    onyx_status st_bgr = decode(data, size, "BGR", 0xFF, &bgr, d_bgr);
    onyx_status st_gray = decode(data, size, "Grayscale", 0x5A, &gray, d_gray);
    /* the same bytes decode the same way whatever the pixel format */
    if (st_rgb != st_bgr || st_rgb != st_gray || d_rgb[0] != d_bgr[0] || d_rgb[1] != d_bgr[1] ||
        d_rgb[0] != d_gray[0] || d_rgb[1] != d_gray[1])
        abort();
    size_t n = (size_t)(d_rgb[0] * d_rgb[1]);
    if (st_rgb == ONYX_OK && rgb) {
        if (!bgr || !gray) abort(); /* the same status and size: all three were decoded */
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = rgb + 3 * i, *q = bgr + 3 * i;
            if (p[0] != q[2] || p[1] != q[1] || p[2] != q[0] ||
                gray[i] != (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16))
                abort();
        }
    }
    free(rgb);
    free(bgr);
    free(gray);
    return 0;
}
