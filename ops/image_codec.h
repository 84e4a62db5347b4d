/* image_codec.h — decoding encoded images (PNG, JPEG, BMP, PNM, TIFF, WebP, JPEG 2000) into
 * 8-bit RGB, for the ImageDecoder op. PNG, JPEG, WebP and JPEG 2000 go through libpng,
 * libjpeg, libwebp and OpenJPEG, whose state lives and dies within one call; BMP, PNM and
 * uncompressed TIFF are read directly. Nothing is allocated here beyond what those
 * libraries allocate and free inside the call. */
#ifndef ONYX_IMAGE_CODEC_H
#define ONYX_IMAGE_CODEC_H

#include "internal.h"

/* Reads the image's height and width from its header. Fails with ONYX_E_UNSUPPORTED for
 * a format recognised but not decodable here (animated WebP, compressed TIFF …), with
 * ONYX_E_ARG for data that is no image or a corrupt one; why says what, in words. */
onyx_status ox_image_size(const uint8_t *data, size_t size, int64_t *height, int64_t *width,
                          char *why, size_t cap);

/* Decodes the image into rgb (height * width * 3 bytes, rows top to bottom, R G B), after
 * checking the header still gives height x width. Same statuses as ox_image_size. */
onyx_status ox_image_decode(const uint8_t *data, size_t size, int64_t height, int64_t width,
                            uint8_t *rgb, char *why, size_t cap);

/* The codecs of image_codec_extra.c, with the same contracts, for data whose signature says
 * WebP (RIFF....WEBP) or JPEG 2000 (a JP2 signature box or a raw codestream). */
onyx_status ox_webp_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap);
onyx_status ox_webp_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap);
onyx_status ox_jp2_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap);
onyx_status ox_jp2_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap);

#endif
