/* image_codec_extra.c — WebP (libwebp) and JPEG 2000 (OpenJPEG) decoding for ImageDecoder
 * (see image_codec.h; dispatched from image_codec.c).
 *
 * As for the other formats, the output is 8-bit RGB as the reference (Pillow) gives it:
 * alpha is dropped, gray is expanded. Both libraries report errors through return values
 * (OpenJPEG also through message callbacks, which are set here so that it never prints);
 * their state lives and dies within one call. Pillow's decoders are matched as follows:
 *
 * WebP: libwebp's default decoding (fancy chroma upsampling), which gave Pillow's pixels
 * byte for byte on lossy and lossless files, with and without alpha (Debian's libwebp 1.2.4
 * against Pillow 13's 1.6.0). Animated WebP is not supported (ONYX_E_UNSUPPORTED).
 *
 * JPEG 2000: JP2 files and raw codestreams, decoded whole by opj_decode (which also applies
 * a JP2 palette and channel definitions). Samples become bytes as Pillow's unpackers make
 * them: precisions below 8 bits are shifted up (not scaled), higher ones rounded to 8 bits
 * (Pillow wraps 255.5 and above to 0; this clamps to 255), signed samples are offset
 * by half their range. Colour spaces: gray for one or two components (gray, alpha), sRGB
 * for three or four (alpha dropped) unless the file says sYCC, which is converted to RGB
 * as Pillow's fixed-point YCbCr tables do it (the same results for all 2^24 inputs); CMYK
 * and e-YCC are not supported. Components subsampled relative to the image (which Pillow
 * refuses) are replicated. */
#include <stdio.h>
#include <string.h>

#include <openjpeg.h>
#include <webp/decode.h>

#include "image_codec.h"

/* ---- WebP (libwebp) ---------------------------------------------------------------------- */

static const char *webp_reason(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "the bitstream is corrupt";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "a feature of the bitstream is not supported";
    case VP8_STATUS_SUSPENDED: return "decoding was suspended";
    case VP8_STATUS_USER_ABORT: return "decoding was aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "the data is truncated";
    default: return "unknown error";
    }
}

static onyx_status webp_fail(VP8StatusCode s, char *why, size_t cap)
{
    onyx_status st = s == VP8_STATUS_OUT_OF_MEMORY ? ONYX_E_NOMEM
                     : s == VP8_STATUS_UNSUPPORTED_FEATURE ? ONYX_E_UNSUPPORTED
                                                           : ONYX_E_ARG;
    return ox_errf(why, cap, st, "WebP: %s", webp_reason(s));
}

onyx_status ox_webp_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    WebPBitstreamFeatures f;
    VP8StatusCode s = WebPGetFeatures(d, n, &f);
    if (s != VP8_STATUS_OK) return webp_fail(s, why, cap);
    if (f.has_animation) return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "animated WebP images are not supported");
    *h = f.height;
    *w = f.width;
    return ONYX_OK;
}

onyx_status ox_webp_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return ox_errf(why, cap, ONYX_E_INTERNAL, "WebP: the library's version does not match its header");
    /* straight into the output: rows of w RGB triples (WebP sizes are at most 16383) */
    cfg.output.colorspace = MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = rgb;
    cfg.output.u.RGBA.stride = (int)(w * 3);
    cfg.output.u.RGBA.size = (size_t)(h * w * 3);
    VP8StatusCode s = WebPDecode(d, n, &cfg);
    WebPFreeDecBuffer(&cfg.output); /* nothing to free for external memory, but say so */
    if (s != VP8_STATUS_OK) return webp_fail(s, why, cap);
    if ((int64_t)cfg.output.width != w || (int64_t)cfg.output.height != h)
        return ox_errf(why, cap, ONYX_E_ARG, "WebP: size differs from the header read before");
    return ONYX_OK;
}

/* ---- JPEG 2000 (OpenJPEG) ---------------------------------------------------------------- */

typedef struct jp2_job {
    const uint8_t *data;
    size_t size, pos;
    opj_stream_t *stream;
    opj_codec_t *codec;
    opj_image_t *image;
    char msg[160]; /* the first error OpenJPEG reported */
} jp2_job;

static OPJ_SIZE_T jp2_read(void *out, OPJ_SIZE_T n, void *user)
{
    jp2_job *j = user;
    size_t left = j->size - j->pos;
    if (left == 0) return (OPJ_SIZE_T)-1; /* the end of the stream */
    if (n > left) n = left;
    memcpy(out, j->data + j->pos, n);
    j->pos += n;
    return n;
}

static OPJ_BOOL jp2_seek(OPJ_OFF_T to, void *user)
{
    jp2_job *j = user;
    if (to < 0 || (uint64_t)to > j->size) return OPJ_FALSE;
    j->pos = (size_t)to;
    return OPJ_TRUE;
}

static OPJ_OFF_T jp2_skip(OPJ_OFF_T n, void *user)
{
    jp2_job *j = user;
    if (n < 0) { /* backwards: never asked of an input stream, but be exact */
        uint64_t back = (uint64_t)(-(n + 1)) + 1;
        if (back > j->pos) return (OPJ_OFF_T)-1;
        j->pos -= (size_t)back;
        return n;
    }
    if ((uint64_t)n > j->size - j->pos) {
        j->pos = j->size;
        return (OPJ_OFF_T)-1;
    }
    j->pos += (size_t)n;
    return n;
}

static void jp2_on_error(const char *msg, void *user)
{
    jp2_job *j = user;
    if (j->msg[0]) return;
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    size_t len = strlen(j->msg);
    while (len && (j->msg[len - 1] == '\n' || j->msg[len - 1] == ' ')) j->msg[--len] = 0;
}

static void jp2_quiet(const char *msg, void *user)
{
    (void)msg; /* warnings and information: the library never prints */
    (void)user;
}

static void jp2_close(jp2_job *j)
{
    if (j->image) opj_image_destroy(j->image);
    if (j->codec) opj_destroy_codec(j->codec);
    if (j->stream) opj_stream_destroy(j->stream);
    j->image = NULL;
    j->codec = NULL;
    j->stream = NULL;
}

/* Reads the header into j->image, and with decode the pixels too; false with j->msg set
 * (the caller closes the job either way). */
static bool jp2_run(jp2_job *j, bool decode)
{
    /* a raw codestream starts with SOC SIZ; anything else here is a JP2 file */
    OPJ_CODEC_FORMAT format = j->data[0] == 0xFF ? OPJ_CODEC_J2K : OPJ_CODEC_JP2;
    size_t chunk = j->size < OPJ_J2K_STREAM_CHUNK_SIZE ? j->size : OPJ_J2K_STREAM_CHUNK_SIZE;
    opj_dparameters_t params;
    if (!(j->stream = opj_stream_create(chunk, OPJ_TRUE)) || !(j->codec = opj_create_decompress(format))) {
        snprintf(j->msg, sizeof j->msg, "out of memory");
        return false;
    }
    opj_stream_set_read_function(j->stream, jp2_read);
    opj_stream_set_skip_function(j->stream, jp2_skip);
    opj_stream_set_seek_function(j->stream, jp2_seek);
    opj_stream_set_user_data(j->stream, j, NULL);
    opj_stream_set_user_data_length(j->stream, j->size);
    opj_set_error_handler(j->codec, jp2_on_error, j);
    opj_set_warning_handler(j->codec, jp2_quiet, j);
    opj_set_info_handler(j->codec, jp2_quiet, j);
    opj_set_default_decoder_parameters(&params);
    /* no worker threads, whatever OPJ_NUM_THREADS says: the caller owns the threading (this
     * fails, harmlessly, in an OpenJPEG built without threads) */
    (void)opj_codec_set_threads(j->codec, 0);
    if (!opj_setup_decoder(j->codec, &params) || !opj_read_header(j->stream, j->codec, &j->image) ||
        (decode && (!opj_decode(j->codec, j->stream, j->image) || !opj_end_decompress(j->codec, j->stream)))) {
        if (!j->msg[0]) snprintf(j->msg, sizeof j->msg, "the data cannot be decoded");
        return false;
    }
    return true;
}

/* The checks that header and decoded image share: components, precision, colour space. */
static onyx_status jp2_check(const opj_image_t *im, char *why, size_t cap)
{
    if (im->numcomps < 1 || im->numcomps > 4)
        return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "JPEG 2000 images of %u components are not supported",
                       im->numcomps);
    if (im->color_space == OPJ_CLRSPC_CMYK || im->color_space == OPJ_CLRSPC_EYCC)
        return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "JPEG 2000 images in %s are not supported",
                       im->color_space == OPJ_CLRSPC_CMYK ? "CMYK" : "e-YCC");
    for (OPJ_UINT32 c = 0; c < im->numcomps; c++)
        if (im->comps[c].prec < 1 || im->comps[c].prec > 31 || im->comps[c].dx < 1 || im->comps[c].dy < 1)
            return ox_errf(why, cap, ONYX_E_UNSUPPORTED, "JPEG 2000 component %u (%u bits) is not supported", c,
                           im->comps[c].prec);
    if (im->x1 <= im->x0 || im->y1 <= im->y0) return ox_errf(why, cap, ONYX_E_ARG, "JPEG 2000 size is invalid");
    return ONYX_OK;
}

onyx_status ox_jp2_size(const uint8_t *d, size_t n, int64_t *h, int64_t *w, char *why, size_t cap)
{
    jp2_job j;
    memset(&j, 0, sizeof j);
    j.data = d;
    j.size = n;
    onyx_status st = ONYX_OK;
    if (!jp2_run(&j, false)) st = ox_errf(why, cap, ONYX_E_ARG, "JPEG 2000: %s", j.msg);
    else if (!(st = jp2_check(j.image, why, cap))) {
        *h = (int64_t)j.image->y1 - j.image->y0;
        *w = (int64_t)j.image->x1 - j.image->x0;
    }
    jp2_close(&j);
    return st;
}

/* One component, as Pillow's unpackers turn its samples into bytes. */
typedef struct jp2_plane {
    const OPJ_INT32 *data;
    int64_t w, h, dx, dy, x0, y0; /* x0, y0: the component's origin on its own grid */
    int64_t offset;               /* added to signed samples */
    int shift;                    /* > 0: left shift; < 0: rounded right shift */
} jp2_plane;

static jp2_plane jp2_plane_of(const opj_image_comp_t *c)
{
    int prec = (int)c->prec;
    return (jp2_plane){c->data, c->w, c->h, c->dx, c->dy, c->x0, c->y0,
                       c->sgnd ? (int64_t)1 << (prec - 1) : 0, 8 - prec};
}

/* The byte at image coordinates (x, y): the component sample covering it. */
static uint8_t jp2_byte(const jp2_plane *p, int64_t x, int64_t y)
{
    int64_t sx = x / p->dx - p->x0, sy = y / p->dy - p->y0;
    sx = sx < 0 ? 0 : sx >= p->w ? p->w - 1 : sx;
    sy = sy < 0 ? 0 : sy >= p->h ? p->h - 1 : sy;
    int64_t v = (int64_t)p->data[sy * p->w + sx] + p->offset;
    if (v < 0) return 0;
    v = p->shift >= 0 ? v << p->shift : (v + ((int64_t)1 << (-p->shift - 1))) >> -p->shift;
    return (uint8_t)(v > 255 ? 255 : v);
}

/* Pillow's YCbCr to RGB: each term k * (c - 128) in 6-bit fixed point, truncated after
 * adding one half, then shifted down (flooring). */
static int ycc_term(double k, int c)
{
    int t = (int)(k * 64.0 * (c - 128) + 0.5);
    return t >= 0 ? t / 64 : -((-t + 63) / 64);
}

static int ycc_term2(double k1, int c1, double k2, int c2)
{
    int t = (int)(k1 * 64.0 * (c1 - 128) + 0.5) + (int)(k2 * 64.0 * (c2 - 128) + 0.5);
    return t >= 0 ? t / 64 : -((-t + 63) / 64);
}

static uint8_t clamp_byte(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

onyx_status ox_jp2_decode(const uint8_t *d, size_t n, int64_t h, int64_t w, uint8_t *rgb, char *why, size_t cap)
{
    jp2_job j;
    memset(&j, 0, sizeof j);
    j.data = d;
    j.size = n;
    onyx_status st = ONYX_OK;
    if (!jp2_run(&j, true)) {
        st = ox_errf(why, cap, ONYX_E_ARG, "JPEG 2000: %s", j.msg);
    } else if (!(st = jp2_check(j.image, why, cap))) { /* a palette may have added components */
        const opj_image_t *im = j.image;
        if ((int64_t)im->y1 - im->y0 != h || (int64_t)im->x1 - im->x0 != w)
            st = ox_errf(why, cap, ONYX_E_ARG, "JPEG 2000: size differs from the header read before");
        for (OPJ_UINT32 c = 0; !st && c < im->numcomps; c++)
            if (!im->comps[c].data || !im->comps[c].w || !im->comps[c].h)
                st = ox_errf(why, cap, ONYX_E_ARG, "JPEG 2000: component %u was not decoded", c);
    }
    if (!st) {
        const opj_image_t *im = j.image;
        bool gray = im->numcomps <= 2 || im->color_space == OPJ_CLRSPC_GRAY;
        bool ycc = !gray && im->color_space == OPJ_CLRSPC_SYCC;
        jp2_plane p[3];
        for (int c = 0; c < 3; c++) p[c] = jp2_plane_of(&im->comps[gray ? 0 : c]);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t ix = (int64_t)im->x0 + x, iy = (int64_t)im->y0 + y;
                uint8_t *out = rgb + (size_t)(y * w + x) * 3;
                uint8_t v0 = jp2_byte(&p[0], ix, iy);
                if (gray) {
                    out[0] = out[1] = out[2] = v0;
                    continue;
                }
                uint8_t v1 = jp2_byte(&p[1], ix, iy), v2 = jp2_byte(&p[2], ix, iy);
                if (ycc) {
                    out[0] = clamp_byte(v0 + ycc_term(1.402, v2));
                    out[1] = clamp_byte(v0 + ycc_term2(-0.34414, v1, -0.71414, v2));
                    out[2] = clamp_byte(v0 + ycc_term(1.772, v1));
                } else {
                    out[0] = v0;
                    out[1] = v1;
                    out[2] = v2;
                }
            }
    }
    jp2_close(&j);
    return st;
}
