/* cmd_img2img.c — `onyx img2img --model M --input in.png --output out.png [--tile T]
 * [--overlap O] [--threads N] [--opt N]`: image-to-image models (denoise, super-resolution,
 * segmentation masks).
 *
 * The model takes [1, C, H, W] float32 in [0, 1] (C = 1 gray or 3 RGB) and returns
 * [1, C', H*s, W*s] for an integer scale s >= 1 found from the first result; C' = 1 is
 * written as a grayscale PNG, 3 as RGB (4 RGBA), values clamped to [0, 1].
 *
 * Tiling keeps the model's memory bounded: T x T tiles overlapping by O pixels (default
 * T/8), the last tile of a row or column aligned to the image's edge. In the output every
 * tile is weighted by a ramp from each edge it shares with a neighbour (see ramp()): ~0 on
 * the outer O/4 + 1 pixels, where a convolution saw padding instead of the neighbouring
 * pixels, then rising linearly to 1 at O - O/4; the weighted tiles are summed and
 * normalised, a linear cross-fade across each overlap. Accumulators hold the whole output.
 * Without --tile the image goes through in one pass, unless the model's input size is fixed
 * and differs from the image's: then it is tiled with that size (tiles that stick out of a
 * small image are padded by repeating the edge). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vision.h"

#define MIN_WEIGHT 1e-4f

typedef struct img2img_args {
    vision_args v;
    const char *input, *output;
    int tile, overlap; /* 0: not given */
    bool overlap_given;
} img2img_args;

static int usage(void)
{
    return cli_usage_error("usage: onyx img2img --model M --input in.png --output out.png [--tile T] [--overlap O] "
                           "[--threads N] [--opt N]");
}

static int parse_args(int argc, char **argv, img2img_args *a)
{
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = vision_parse_flag(&a->v, argc, argv, &i)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--input", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->input = v;
        } else if ((r = cli_flag_value(argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->output = v;
        } else if ((r = cli_flag_value(argc, argv, &i, "--tile", &v)) != 0) {
            if (r < 0 || !cli_parse_int("--tile", v, 1, 65536, &a->tile)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--overlap", &v)) != 0) {
            if (r < 0 || !cli_parse_int("--overlap", v, 0, 65535, &a->overlap)) return CLI_EXIT_USAGE;
            a->overlap_given = true;
        } else {
            cli_error("img2img: unexpected argument '%s'", argv[i]);
            return usage();
        }
    }
    if (!a->v.model || !a->input || !a->output) return usage();
    return CLI_EXIT_OK;
}

/* Tiles along one axis of length len: size t (the model's fixed size, may exceed len),
 * of which `valid` cover the image, starting at start[k]. */
typedef struct axis {
    int len, t, valid, n;
    int *start;
} axis;

/* Starts 0, t-o, 2(t-o), ... and a last tile ending at the image's edge. */
static int plan_axis(axis *ax, int len, int t, int o)
{
    ax->len = len;
    ax->t = t;
    ax->valid = t < len ? t : len;
    ax->n = 1;
    if (len > t) {
        int stride = t - o;
        ax->n = 1 + (len - t + stride - 1) / stride;
    }
    ax->start = malloc((size_t)ax->n * sizeof *ax->start);
    if (!ax->start) return cli_error("out of memory");
    for (int k = 0; k < ax->n; k++) ax->start[k] = k + 1 < ax->n ? k * (t - o) : len - ax->valid;
    return CLI_EXIT_OK;
}

/* Weight of output position q (0 .. valid*s - 1) of the tile starting at `start`: per
 * edge shared with a neighbour, with d the distance in input pixels from that edge (0 on
 * the edge) and m = o/4, clamp((d - m) / (o - 2m), 0, 1) — 0 for the outermost m + 1
 * pixels, which a convolution computed from padding, then a linear cross-fade that two
 * neighbours overlapping by o complete to a constant sum. Never below MIN_WEIGHT, so every
 * pixel has some weight. */
static float ramp(const axis *ax, int start, int s, int o, int q)
{
    int m = o / 4, n = ax->valid * s;
    float w = 1;
    if (o <= 0) return w;
    if (start > 0) {
        int d = q / s;
        if (d < o - m) w *= d <= m ? 0 : (float)(d - m) / (float)(o - 2 * m);
    }
    if (start + ax->valid < ax->len) {
        int d = (n - 1 - q) / s;
        if (d < o - m) w *= d <= m ? 0 : (float)(d - m) / (float)(o - 2 * m);
    }
    return w > MIN_WEIGHT ? w : MIN_WEIGHT;
}

typedef struct job {
    onyx_session *s;
    const float *img; /* [C, H, W] */
    int c, h, w;
    axis ay, ax;
    int overlap;
    float *tile;      /* [C, ty.t, tx.t] */
    int out_c, scale; /* from the first tile */
    float *acc, *wsum;
} job;

static void fill_tile(job *j, int y0, int x0)
{
    int th = j->ay.t, tw = j->ax.t;
    for (int c = 0; c < j->c; c++)
        for (int y = 0; y < th; y++) {
            int sy = y0 + y < j->h ? y0 + y : j->h - 1; /* repeat the edge past the image */
            const float *src = j->img + ((size_t)c * (size_t)j->h + (size_t)sy) * (size_t)j->w;
            float *dst = j->tile + ((size_t)c * (size_t)th + (size_t)y) * (size_t)tw;
            for (int x = 0; x < tw; x++) dst[x] = src[x0 + x < j->w ? x0 + x : j->w - 1];
        }
}

/* Checks the first result's shape and allocates the accumulators; later results must match. */
static int check_output(job *j, const onyx_tensor *out)
{
    char dims[256];
    cli_format_dims(out->rank, out->dims, dims, sizeof dims);
    int th = j->ay.t, tw = j->ax.t;
    if (out->rank != 4 || out->dims[0] != 1 || out->dims[1] < 1 || out->dims[1] > 4 || out->dims[2] % th ||
        out->dims[3] % tw || out->dims[2] / th != out->dims[3] / tw || out->dims[2] / th < 1 ||
        !cli_dtype_is_float(out->dtype))
        return cli_error("img2img: for a [1,%d,%d,%d] input the model returned %s %s; expected float [1, C, %d*s, %d*s] "
                         "with C of 1-4 and an integer scale s",
                         j->c, th, tw, onyx_dtype_name(out->dtype), dims, th, tw);
    int64_t s = out->dims[2] / th;
    if (j->acc) {
        if (out->dims[1] != j->out_c || s != j->scale)
            return cli_error("img2img: tile results changed shape (now %s)", dims);
        return CLI_EXIT_OK;
    }
    if (s > 64) return cli_error("img2img: scale %lld is beyond what onyx supports (64)", (long long)s);
    j->out_c = (int)out->dims[1];
    j->scale = (int)s;
    uint64_t plane = (uint64_t)j->h * (uint64_t)s * (uint64_t)j->w * (uint64_t)s;
    if (plane > (uint64_t)1 << 31) return cli_error("img2img: the output would have %llu pixels; too many",
                                                    (unsigned long long)plane);
    j->acc = calloc((size_t)plane * (size_t)j->out_c, sizeof *j->acc);
    j->wsum = calloc((size_t)plane, sizeof *j->wsum);
    if (!j->acc || !j->wsum) return cli_error("out of memory for a %llu-pixel output", (unsigned long long)plane);
    return CLI_EXIT_OK;
}

static int run_tile(job *j, int y0, int x0)
{
    fill_tile(j, y0, x0);
    onyx_tensor in = {.dtype = ONYX_DTYPE_FLOAT, .rank = 4, .dims = {1, j->c, j->ay.t, j->ax.t}, .data = j->tile};
    onyx_tensor out;
    if (onyx_session_run(j->s, &in, 1, &out, 1) != ONYX_OK) return cli_error("%s", onyx_session_error(j->s));
    int rc = check_output(j, &out);
    if (rc) return rc;
    int s = j->scale, oh = j->ay.t * s, ow = j->ax.t * s;
    int vh = j->ay.valid * s, vw = j->ax.valid * s;
    size_t W = (size_t)j->w * (size_t)s, plane = (size_t)j->h * (size_t)s * W;
    const float *f = out.dtype == ONYX_DTYPE_FLOAT ? out.data : NULL;
    for (int y = 0; y < vh; y++) {
        float wy = ramp(&j->ay, y0, s, j->overlap, y);
        size_t row = ((size_t)y0 * (size_t)s + (size_t)y) * W + (size_t)x0 * (size_t)s;
        for (int x = 0; x < vw; x++) {
            float wt = wy * ramp(&j->ax, x0, s, j->overlap, x);
            j->wsum[row + (size_t)x] += wt;
            for (int c = 0; c < j->out_c; c++) {
                int64_t i = ((int64_t)c * oh + y) * ow + x;
                double v = f ? f[i] : cli_value_at(&out, i);
                j->acc[(size_t)c * plane + row + (size_t)x] += wt * (float)v;
            }
        }
    }
    return CLI_EXIT_OK;
}

static int write_result(const job *j, const char *path)
{
    img_image im = {.width = j->w * j->scale, .height = j->h * j->scale, .channels = j->out_c, .sample = IMG_F32};
    onyx_error err = {0};
    if (img_alloc(&im, &err) != ONYX_OK) return cli_error("%s", err.message);
    size_t plane = (size_t)im.width * (size_t)im.height;
    float *d = im.data;
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < j->out_c; c++) {
            float v = j->acc[(size_t)c * plane + p] / j->wsum[p];
            d[p * (size_t)j->out_c + (size_t)c] = v == v ? v : 0; /* NaN from the model: black */
        }
    int rc = CLI_EXIT_OK;
    if (img_write_png(path, &im, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    img_free(&im);
    return rc;
}

/* Tile size per axis and overlap, from --tile/--overlap and the model's fixed size. */
static int plan_tiles(const img2img_args *a, const vision_input *vi, job *j)
{
    int th = j->h, tw = j->w, o = 0;
    bool fixed = vi->height > 0 || vi->width > 0;
    if (a->tile) {
        if ((vi->height > 0 && vi->height != a->tile) || (vi->width > 0 && vi->width != a->tile))
            return cli_error("img2img: the model takes %dx%d inputs; --tile %d does not fit", vi->width, vi->height,
                             a->tile);
        th = tw = a->tile;
        o = a->overlap_given ? a->overlap : a->tile / 8;
    } else if (fixed) {
        if (vi->height > 0) th = vi->height;
        if (vi->width > 0) tw = vi->width;
        o = a->overlap_given ? a->overlap : (th < tw ? th : tw) / 8;
    } else if (a->overlap_given) {
        cli_note("--overlap has no effect without --tile: the image goes through in one pass");
    }
    /* an open axis never needs a tile larger than the image */
    if (vi->height <= 0 && th > j->h) th = j->h;
    if (vi->width <= 0 && tw > j->w) tw = j->w;
    if ((j->h > th || j->w > tw) && o >= (th < tw ? th : tw))
        return cli_error("img2img: --overlap %d must be smaller than the tile (%dx%d)", o, tw, th);
    j->overlap = o;
    int rc = plan_axis(&j->ay, j->h, th, o);
    if (!rc) rc = plan_axis(&j->ax, j->w, tw, o);
    if (!rc && j->ay.n * j->ax.n > 1)
        cli_note("%dx%d image in %d tiles of %dx%d, overlap %d", j->w, j->h, j->ay.n * j->ax.n, tw, th, o);
    return rc;
}

static int run_all(const img2img_args *a, const onyx_model *m, const vision_input *vi, job *j)
{
    img_image im = {0};
    onyx_tensor full = {0};
    onyx_error err = {0};
    int rc = vision_read_image(a->input, 0, &im);
    img_tensor_options to = {.dtype = ONYX_DTYPE_FLOAT, .layout = IMG_NCHW, .channels = vi->channels};
    if (!rc && img_to_tensor(&im, &to, &full, &err) != ONYX_OK) rc = cli_error("%s: %s", a->input, err.message);
    img_free(&im);
    if (!rc) {
        j->img = full.data;
        j->c = (int)full.dims[1];
        j->h = (int)full.dims[2];
        j->w = (int)full.dims[3];
        rc = plan_tiles(a, vi, j);
    }
    size_t tile_n = rc ? 0 : (size_t)j->c * (size_t)j->ay.t * (size_t)j->ax.t;
    if (!rc && (tile_n == 0 || !(j->tile = malloc(tile_n * sizeof *j->tile)))) rc = cli_error("out of memory");
    if (!rc && onyx_session_create(m, &a->v.so, &j->s, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    for (int ty = 0; !rc && ty < j->ay.n; ty++)
        for (int tx = 0; !rc && tx < j->ax.n; tx++) rc = run_tile(j, j->ay.start[ty], j->ax.start[tx]);
    if (!rc) rc = write_result(j, a->output);
    onyx_tensor_free(&full, NULL);
    return rc;
}

int cmd_img2img(int argc, char **argv)
{
    img2img_args a = {0};
    int rc = vision_args_init(&a.v, VISION_FLAG_MODEL, 0, argc);
    if (!rc) rc = parse_args(argc, argv, &a);
    onyx_model *m = NULL;
    vision_input vi;
    job j = {0};
    if (!rc) rc = vision_load_model(&a.v, "img2img", &m, &vi);
    if (!rc && (vi.dtype != ONYX_DTYPE_FLOAT || vi.layout != IMG_NCHW || vi.channels == 4))
        rc = cli_error("img2img: input '%s' must be float32 [1, C, H, W] with C = 1 or 3", vi.name);
    if (!rc) rc = run_all(&a, m, &vi, &j);
    onyx_session_free(j.s);
    free(j.tile);
    free(j.acc);
    free(j.wsum);
    free(j.ay.start);
    free(j.ax.start);
    onyx_model_free(m);
    vision_args_free(&a.v);
    return rc;
}
