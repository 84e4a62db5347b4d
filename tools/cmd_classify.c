/* cmd_classify.c — `onyx classify --model M --image I... [--labels FILE] [--top K] [--size S]
 * [--mean V[,V,V]] [--std V[,V,V]] [--fit crop|stretch|none] [--filter F] [--save-input DIR]
 * [--threads N] [--opt N]`: image classification, one JSON line per image:
 *   {"image": PATH, "top_k": [{"label": NAME|null, "class_id": K, "confidence": P}, ...]}
 * Preprocessing as torchvision's ImageNet evaluation by default: resize the shorter side to
 * S*256/224 (bilinear, antialiased), center-crop S x S (or the model's fixed H x W), scale
 * to [0, 1], normalise with the mean/std (ImageNet's by default; a model with one channel
 * gets the average of the three). --fit stretch resizes to S x S ignoring the aspect ratio,
 * --fit none feeds the image as it is. Confidences are the model's outputs when they
 * already form a distribution (all in [0, 1], summing to 1 within 1e-3), else their
 * softmax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vision.h"

#define LABELS_FILE "imagenet_labels.txt"
#define DEFAULT_SIZE 224

typedef struct classify_args {
    vision_args v;
    int top;
} classify_args;

static int usage(void)
{
    return cli_usage_error("usage: onyx classify --model M --image I... [--labels FILE] [--top K] [--size S] "
                           "[--mean V[,V,V]] [--std V[,V,V]] [--fit crop|stretch|none] "
                           "[--filter bilinear|bicubic|area|nearest] [--save-input DIR] [--threads N] [--opt N]");
}

static int parse_args(int argc, char **argv, classify_args *a)
{
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = vision_parse_flag(&a->v, argc, argv, &i)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--top", &v)) != 0) {
            if (r < 0 || !cli_parse_int("--top", v, 1, 1000000, &a->top)) return CLI_EXIT_USAGE;
        } else {
            cli_error("classify: unexpected argument '%s'", argv[i]);
            return usage();
        }
    }
    if (!a->v.model || a->v.n_images == 0) return usage();
    return CLI_EXIT_OK;
}

/* The labels to print: --labels, else the ImageNet names when the model has 1000 classes
 * and the file is installed. *labels stays NULL when there are none (class ids only). */
static int load_labels(const classify_args *a, size_t classes, char ***labels, size_t *n)
{
    char path[4096];
    *labels = NULL;
    *n = 0;
    if (a->v.labels) {
        int rc = vision_read_labels(a->v.labels, labels, n);
        if (!rc && *n != classes)
            cli_note("'%s' has %zu labels for %zu classes; classes without one print a null label", a->v.labels, *n,
                     classes);
        return rc;
    }
    if (classes != 1000) return CLI_EXIT_OK;
    if (!vision_find_data_file(LABELS_FILE, path, sizeof path)) {
        cli_note("no %s found (set ONYX_DATA to its folder, or pass --labels); printing class ids", LABELS_FILE);
        return CLI_EXIT_OK;
    }
    return vision_read_labels(path, labels, n);
}

/* The model's scores as confidences: kept if they already form a distribution, else softmax. */
static int confidences(const onyx_tensor *t, double **out, size_t *classes)
{
    int64_t n = cli_numel(t);
    int big = 0;
    for (int i = 0; i < t->rank; i++) big += t->dims[i] > 1;
    if (n < 1 || big > 1 || !cli_dtype_is_float(t->dtype)) {
        char dims[256];
        cli_format_dims(t->rank, t->dims, dims, sizeof dims);
        return cli_error("classify: output is %s %s; expected class scores [1, K] (or [K])", onyx_dtype_name(t->dtype),
                         dims);
    }
    double *p = malloc((size_t)n * sizeof *p);
    if (!p) return cli_error("out of memory");
    bool probabilities = true;
    double sum = 0, max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        p[i] = cli_value_at(t, i);
        if (!(p[i] >= 0 && p[i] <= 1)) probabilities = false;
        sum += p[i];
        if (p[i] > max) max = p[i];
    }
    if (!probabilities || fabs(sum - 1) > 1e-3) {
        if (!isfinite(max)) {
            free(p);
            return cli_error("classify: the model's scores are not finite");
        }
        double z = 0;
        for (int64_t i = 0; i < n; i++) z += p[i] = exp(p[i] - max);
        for (int64_t i = 0; i < n; i++) p[i] /= z;
    }
    *out = p;
    *classes = (size_t)n;
    return CLI_EXIT_OK;
}

typedef struct ranked {
    double p;
    size_t id;
} ranked;

static int by_confidence(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->p != b->p) return a->p > b->p ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int print_top(const classify_args *a, const char *image, const double *p, size_t classes, char **labels,
                     size_t n_labels)
{
    ranked *r = classes ? malloc(classes * sizeof *r) : NULL;
    if (!r) return cli_error("out of memory");
    for (size_t i = 0; i < classes; i++) r[i] = (ranked){p[i], i};
    qsort(r, classes, sizeof *r, by_confidence);
    size_t k = (size_t)a->top < classes ? (size_t)a->top : classes;
    json_writer w;
    json_init(&w, stdout, false);
    json_begin_object(&w);
    json_key(&w, "image");
    json_string(&w, image);
    json_key(&w, "top_k");
    json_begin_array(&w);
    for (size_t i = 0; i < k; i++) {
        json_begin_object(&w);
        json_key(&w, "label");
        json_string(&w, r[i].id < n_labels ? labels[r[i].id] : NULL);
        json_key(&w, "class_id");
        json_int(&w, (int64_t)r[i].id);
        json_key(&w, "confidence");
        json_number(&w, r[i].p);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_object(&w);
    free(r);
    return json_finish(&w) ? CLI_EXIT_OK : cli_error("cannot write the result");
}

/* The input size (the model's fixed H x W, else --size) and the preprocessing for it. */
static int plan_preprocess(const classify_args *a, const vision_input *vi, img_preprocess_options *pp)
{
    int w, h;
    int rc = vision_input_size(&a->v, vi, "classify", &w, &h);
    if (rc) return rc;
    memset(pp, 0, sizeof *pp);
    pp->width = w;
    pp->height = h;
    pp->fit = a->v.fit;
    pp->filter = a->v.filter;
    int shorter = h < w ? h : w;
    pp->resize_shorter = (int)((long)shorter * 256 / 224);
    if (pp->resize_shorter < 1) pp->resize_shorter = 1;
    pp->tensor.dtype = vi->dtype;
    pp->tensor.layout = vi->layout;
    pp->tensor.channels = vi->channels;
    for (int c = 0; c < 3; c++) {
        pp->tensor.mean[c] = a->v.mean[c];
        pp->tensor.std[c] = a->v.std[c];
    }
    if (vi->channels == 1) { /* gray: the channels' average */
        pp->tensor.mean[0] = (a->v.mean[0] + a->v.mean[1] + a->v.mean[2]) / 3;
        pp->tensor.std[0] = (a->v.std[0] + a->v.std[1] + a->v.std[2]) / 3;
    }
    return CLI_EXIT_OK;
}

static int classify_image(const classify_args *a, onyx_session *s, const img_preprocess_options *pp,
                          const char *image, char ***labels, size_t *n_labels, bool *labels_loaded)
{
    img_image im = {0};
    onyx_tensor in = {0}, out = {0};
    onyx_error err = {0};
    double *p = NULL;
    size_t classes = 0;
    int rc = vision_read_image(image, 0, &im);
    if (!rc && img_preprocess(&im, pp, &in, NULL, &err) != ONYX_OK) rc = cli_error("%s: %s", image, err.message);
    img_free(&im);
    if (!rc) rc = vision_save_input(&a->v, image, &in);
    if (!rc && onyx_session_run(s, &in, 1, &out, 1) != ONYX_OK) rc = cli_error("%s: %s", image, onyx_session_error(s));
    if (!rc) rc = confidences(&out, &p, &classes);
    if (!rc && !*labels_loaded) {
        rc = load_labels(a, classes, labels, n_labels);
        *labels_loaded = true;
    }
    if (!rc) rc = print_top(a, image, p, classes, *labels, *n_labels);
    free(p);
    onyx_tensor_free(&in, NULL);
    return rc;
}

int cmd_classify(int argc, char **argv)
{
    classify_args a = {.top = 5};
    int rc = vision_args_init(&a.v,
                              VISION_FLAG_MODEL | VISION_FLAG_IMAGES | VISION_FLAG_LABELS | VISION_FLAG_SIZE |
                                  VISION_FLAG_NORMALISE | VISION_FLAG_FIT | VISION_FLAG_SAVE_INPUT,
                              DEFAULT_SIZE, argc);
    if (rc) return rc;
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(a.v.mean, imagenet_mean, sizeof a.v.mean);
    memcpy(a.v.std, imagenet_std, sizeof a.v.std);
    rc = parse_args(argc, argv, &a);
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_error err = {0};
    vision_input vi;
    img_preprocess_options pp;
    if (!rc) rc = vision_load_model(&a.v, "classify", &m, &vi);
    if (!rc) rc = plan_preprocess(&a, &vi, &pp);
    if (!rc && onyx_session_create(m, &a.v.so, &s, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    char **labels = NULL;
    size_t n_labels = 0;
    bool labels_loaded = false;
    for (int i = 0; !rc && i < a.v.n_images; i++)
        rc = classify_image(&a, s, &pp, a.v.images[i], &labels, &n_labels, &labels_loaded);
    free(labels);
    onyx_session_free(s);
    onyx_model_free(m);
    vision_args_free(&a.v);
    return rc;
}
