/* cmd_detect.c — `onyx detect --model M --image I... --output predictions.json
 * [--score-threshold 0.01] [--iou 0.45] [--max-det 300] [--size 640] [--draw DIR]
 * [--labels FILE] [--threads N] [--opt N]`: object detection with YOLOv5- or YOLOv8/11-style models.
 *
 * Each image is letterboxed to the model's input size (S x S when the model leaves it open;
 * bilinear, padding 114/255, values scaled to [0, 1]), the first output is decoded and
 * reduced by class-wise NMS (detect_post.h), and the boxes are mapped back to the image's
 * pixels. predictions.json follows docs/predictions.schema.json:
 *   {"predictions": [{"image": PATH, "detections": [{"class_id", "score",
 *     "bbox": {"cx", "cy", "w", "h"}}]}],
 *    "meta": {"schema_version": "v1", "model", "image_size", "score_threshold"}}
 * --draw DIR writes DIR/<image name>.png with the boxes and their labels (class names from
 * --labels, one per line, else class ids). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_post.h"
#include "draw.h"
#include "json.h"
#include "vision.h"

#define DEFAULT_SIZE 640
#define PAD_VALUE 114.0f

typedef struct detect_args {
    vision_args v;
    const char *output, *draw_dir;
    int max_det;
    double score_threshold, iou;
} detect_args;

typedef struct image_result {
    det_box *boxes;
    size_t n;
} image_result;

static int usage(void)
{
    return cli_usage_error("usage: onyx detect --model M --image I... --output predictions.json "
                           "[--score-threshold 0.01] [--iou 0.45] [--max-det 300] [--size 640] [--draw DIR] "
                           "[--labels FILE] [--threads N] [--opt N]");
}

static int parse_args(int argc, char **argv, detect_args *a)
{
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = vision_parse_flag(&a->v, argc, argv, &i)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->output = v;
        } else if ((r = cli_flag_value(argc, argv, &i, "--score-threshold", &v)) != 0) {
            if (r < 0 || !vision_parse_double("--score-threshold", v, 0, 1, &a->score_threshold)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--iou", &v)) != 0) {
            if (r < 0 || !vision_parse_double("--iou", v, 0, 1, &a->iou)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--max-det", &v)) != 0) {
            if (r < 0 || !cli_parse_int("--max-det", v, 1, 1000000, &a->max_det)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--draw", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->draw_dir = v;
        } else {
            cli_error("detect: unexpected argument '%s'", argv[i]);
            return usage();
        }
    }
    if (!a->v.model || a->v.n_images == 0 || !a->output) return usage();
    return CLI_EXIT_OK;
}

/* ---- drawing ------------------------------------------------------------------------- */

static const uint8_t PALETTE[][3] = {
    {255, 56, 56},  {255, 157, 151}, {255, 112, 31}, {255, 178, 29}, {207, 210, 49}, {72, 249, 10},
    {146, 204, 23}, {61, 219, 134},  {26, 147, 52},  {0, 212, 187},  {44, 153, 168}, {0, 194, 255},
    {52, 69, 147},  {100, 115, 255}, {0, 24, 236},   {132, 56, 255}, {82, 0, 133},   {203, 56, 255},
    {255, 149, 200}, {255, 55, 199},
};

static int draw_image(const detect_args *a, const char *path, const img_image *im, const image_result *r,
                      char **labels, size_t n_labels)
{
    char stem[1024], out[4096];
    vision_stem(path, stem, sizeof stem);
    int w = snprintf(out, sizeof out, "%s/%s.png", a->draw_dir, stem);
    if (w < 0 || (size_t)w >= sizeof out) return cli_error("output path for '%s' is too long", path);
    img_image rgb = {0};
    onyx_error err = {0};
    if (img_convert(im, 3, &rgb, &err) != ONYX_OK) return cli_error("%s: %s", path, err.message);
    if (rgb.sample != IMG_U8) {
        img_image u8 = {0};
        onyx_status st = img_to_sample(&rgb, IMG_U8, &u8, &err);
        img_free(&rgb);
        if (st != ONYX_OK) return cli_error("%s: %s", path, err.message);
        rgb = u8;
    }
    int side = rgb.width < rgb.height ? rgb.width : rgb.height;
    int thick = 1 + side / 320, scale = 1 + side / 480;
    /* worst first, so the best boxes end up on top */
    for (size_t k = r->n; k-- > 0;) {
        const det_box *b = &r->boxes[k];
        const uint8_t *color = PALETTE[(size_t)b->class_id % (sizeof PALETTE / sizeof PALETTE[0])];
        int x1 = (int)floor(b->cx - b->w / 2), y1 = (int)floor(b->cy - b->h / 2);
        int x2 = (int)ceil(b->cx + b->w / 2) - 1, y2 = (int)ceil(b->cy + b->h / 2) - 1;
        draw_rect(&rgb, x1, y1, x2, y2, thick, color);
        char text[160];
        if ((size_t)b->class_id < n_labels && labels[b->class_id][0])
            snprintf(text, sizeof text, "%.120s %.2f", labels[b->class_id], b->score);
        else
            snprintf(text, sizeof text, "%lld %.2f", (long long)b->class_id, b->score);
        int tw = draw_text_width(text, scale) + 2 * scale, th = (DRAW_GLYPH_H + 2) * scale;
        int ty = y1 - th >= 0 ? y1 - th : y1;
        bool dark = color[0] * 299 + color[1] * 587 + color[2] * 114 < 128000;
        static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
        draw_fill(&rgb, x1, ty, x1 + tw - 1, ty + th - 1, color);
        draw_text(&rgb, x1 + scale, ty + scale, text, scale, dark ? white : black);
    }
    int rc = CLI_EXIT_OK;
    if (img_write_png(out, &rgb, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    img_free(&rgb);
    return rc;
}

/* Drawn images are named after the input's file name: says which inputs would overwrite
 * each other's drawing. */
static void note_same_names(const detect_args *a)
{
    char si[1024], sj[1024];
    for (int i = 0; i < a->v.n_images; i++) {
        vision_stem(a->v.images[i], si, sizeof si);
        for (int j = 0; j < i; j++) {
            vision_stem(a->v.images[j], sj, sizeof sj);
            if (strcmp(si, sj) == 0) {
                cli_note("'%s' and '%s' are both drawn to %s/%s.png (the later one stays)", a->v.images[j],
                         a->v.images[i], a->draw_dir, si);
                break;
            }
        }
    }
}

/* ---- predictions.json ---------------------------------------------------------------- */

static int write_predictions(const detect_args *a, const image_result *res, int width, int height)
{
    FILE *f = fopen(a->output, "w");
    if (!f) return cli_error("cannot create '%s'", a->output);
    json_writer w;
    json_init(&w, f, true);
    json_begin_object(&w);
    json_key(&w, "predictions");
    json_begin_array(&w);
    for (int i = 0; i < a->v.n_images; i++) {
        json_begin_object(&w);
        json_key(&w, "image");
        json_string(&w, a->v.images[i]);
        json_key(&w, "detections");
        json_begin_array(&w);
        for (size_t k = 0; k < res[i].n; k++) {
            const det_box *b = &res[i].boxes[k];
            json_begin_object(&w);
            json_key(&w, "class_id");
            json_int(&w, b->class_id);
            json_key(&w, "score");
            json_number(&w, b->score);
            json_key(&w, "bbox");
            json_begin_object(&w);
            json_key(&w, "cx");
            json_number(&w, b->cx);
            json_key(&w, "cy");
            json_number(&w, b->cy);
            json_key(&w, "w");
            json_number(&w, b->w);
            json_key(&w, "h");
            json_number(&w, b->h);
            json_end_object(&w);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_key(&w, "meta");
    json_begin_object(&w);
    json_key(&w, "schema_version");
    json_string(&w, "v1");
    json_key(&w, "model");
    json_string(&w, a->v.model);
    json_key(&w, "image_size"); /* the letterbox size: S, or [height, width] when not square */
    if (width == height) {
        json_int(&w, width);
    } else {
        json_begin_array(&w);
        json_int(&w, height);
        json_int(&w, width);
        json_end_array(&w);
    }
    json_key(&w, "score_threshold");
    json_number(&w, a->score_threshold);
    json_end_object(&w);
    json_end_object(&w);
    bool ok = json_finish(&w);
    if (fclose(f) != 0) ok = false;
    return ok ? CLI_EXIT_OK : cli_error("cannot write '%s'", a->output);
}

/* ---- the run ------------------------------------------------------------------------- */

static int detect_image(const detect_args *a, onyx_session *s, const img_preprocess_options *pp, const char *path,
                        image_result *r, char **labels, size_t n_labels, bool *told_format)
{
    img_image im = {0};
    onyx_tensor in = {0}, out = {0};
    onyx_error err = {0};
    img_geom geom;
    det_format fmt;
    char why[256];
    int rc = vision_read_image(path, 0, &im);
    if (!rc && img_preprocess(&im, pp, &in, &geom, &err) != ONYX_OK) rc = cli_error("%s: %s", path, err.message);
    if (!rc && onyx_session_run(s, &in, 1, &out, 1) != ONYX_OK) rc = cli_error("%s: %s", path, onyx_session_error(s));
    if (!rc && !det_guess_format(&out, &fmt, why, sizeof why)) rc = cli_error("detect: %s", why);
    if (!rc && !*told_format) {
        cli_note("%s output: %lld boxes, %lld classes", fmt.layout == DET_YOLOV8 ? "YOLOv8" : "YOLOv5",
                 (long long)fmt.anchors, (long long)fmt.classes);
        *told_format = true;
    }
    det_options o = {.score_threshold = a->score_threshold, .iou_threshold = a->iou, .max_det = a->max_det};
    if (!rc && det_decode_nms(&out, &fmt, &o, &r->boxes, &r->n) != ONYX_OK) rc = cli_error("out of memory");
    for (size_t k = 0; !rc && k < r->n; k++)
        det_box_to_source(&r->boxes[k], geom.scale_x, geom.scale_y, geom.off_x, geom.off_y, im.width, im.height);
    if (!rc && a->draw_dir) rc = draw_image(a, path, &im, r, labels, n_labels);
    onyx_tensor_free(&in, NULL);
    img_free(&im);
    return rc;
}

/* The letterbox size: the model's fixed input size, else --size (default 640) square. */
static int plan_preprocess(const detect_args *a, const vision_input *vi, img_preprocess_options *pp)
{
    int w, h;
    int rc = vision_input_size(&a->v, vi, "detect", &w, &h);
    if (rc) return rc;
    memset(pp, 0, sizeof *pp);
    pp->width = w;
    pp->height = h;
    pp->fit = IMG_FIT_LETTERBOX;
    pp->filter = IMG_FILTER_BILINEAR;
    for (int c = 0; c < 4; c++) pp->pad[c] = PAD_VALUE;
    pp->tensor.dtype = vi->dtype;
    pp->tensor.layout = vi->layout;
    pp->tensor.channels = vi->channels;
    return CLI_EXIT_OK;
}

int cmd_detect(int argc, char **argv)
{
    detect_args a = {.max_det = 300, .score_threshold = 0.01, .iou = 0.45};
    int rc = vision_args_init(&a.v, VISION_FLAG_MODEL | VISION_FLAG_IMAGES | VISION_FLAG_LABELS | VISION_FLAG_SIZE,
                              DEFAULT_SIZE, argc);
    if (rc) return rc;
    rc = parse_args(argc, argv, &a);
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_error err = {0};
    vision_input vi;
    img_preprocess_options pp = {0};
    image_result *res = NULL;
    char **labels = NULL;
    size_t n_labels = 0;
    if (!rc && a.v.labels) rc = vision_read_labels(a.v.labels, &labels, &n_labels);
    if (!rc && a.draw_dir) rc = vision_make_dir(a.draw_dir);
    if (!rc && a.draw_dir) note_same_names(&a);
    if (!rc) rc = vision_load_model(&a.v, "detect", &m, &vi);
    if (!rc) rc = plan_preprocess(&a, &vi, &pp);
    if (!rc && onyx_session_create(m, &a.v.so, &s, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    if (!rc && !(res = calloc((size_t)a.v.n_images, sizeof *res))) rc = cli_error("out of memory");
    bool told = false;
    for (int i = 0; !rc && i < a.v.n_images; i++)
        rc = detect_image(&a, s, &pp, a.v.images[i], &res[i], labels, n_labels, &told);
    if (!rc) rc = write_predictions(&a, res, pp.width, pp.height);
    for (int i = 0; res && i < a.v.n_images; i++) free(res[i].boxes);
    free(res);
    free(labels);
    onyx_session_free(s);
    onyx_model_free(m);
    vision_args_free(&a.v);
    return rc;
}
