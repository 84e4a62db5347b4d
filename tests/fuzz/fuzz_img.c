/* fuzz_img.c — libFuzzer target: any bytes as an image for the tools' reader (tools/img.h:
 * PNG through libpng, JPEG through libjpeg, EXIF orientation).
 *
 * Each input is read as 8-bit and as float samples, with a pixel limit so the fuzzer spends
 * neither memory nor time on the huge (valid) images a short header can ask for. A decoded
 * image then goes through the rest of the library — a resize, a letterbox, a tensor and
 * back, a PNG written and read again — so their invariants are checked on odd shapes too:
 * the round trip must give back the same pixels. */
#include <stdlib.h>
#include <string.h>

#include "../../tools/img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIXELS (1 << 18)

static void exercise(const img_image *im)
{
    img_image small, boxed, back;
    if (img_resize(im, 7, 5, IMG_FILTER_BICUBIC, &small, NULL) == ONYX_OK) img_free(&small);
    static const float pad[4] = {114, 114, 114, 255};
    if (img_letterbox(im, 9, 4, IMG_FILTER_BOX, pad, &boxed, NULL, NULL) == ONYX_OK) img_free(&boxed);
    if (im->sample != IMG_U8 || im->channels == 2) return;
    img_tensor_options o = {.dtype = ONYX_DTYPE_UINT8, .layout = IMG_NHWC, .order = IMG_BGR,
                            .channels = im->channels};
    onyx_tensor t;
    if (img_to_tensor(im, &o, &t, NULL) == ONYX_OK) {
        if (img_from_tensor(&t, 0, &o, &back, NULL) == ONYX_OK) {
            if (memcmp(back.data, im->data, (size_t)im->width * (size_t)im->height * (size_t)im->channels)) abort();
            img_free(&back);
        }
        onyx_tensor_free(&t, NULL);
    }
    void *png;
    size_t len;
    if (img_write_png_memory(im, &png, &len, NULL) == ONYX_OK) {
        if (img_read_memory(png, len, NULL, &back, NULL) != ONYX_OK) abort();
        if (back.width != im->width || back.height != im->height || back.channels != im->channels ||
            memcmp(back.data, im->data, (size_t)im->width * (size_t)im->height * (size_t)im->channels))
            abort();
        img_free(&back);
        free(png);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    img_read_options o = {.max_pixels = MAX_PIXELS};
    img_image im;
    onyx_error err = {0};
    if (img_read_memory(data, size, &o, &im, &err) == ONYX_OK) {
        exercise(&im);
        img_free(&im);
    } else if (!err.message[0] || im.data) {
        abort(); /* a failure always says why and leaves no image */
    }
    o.sample = IMG_F32;
    o.channels = 3;
    if (img_read_memory(data, size, &o, &im, &err) == ONYX_OK) {
        exercise(&im);
        img_free(&im);
    }
    return 0;
}
