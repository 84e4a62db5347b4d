/* vision.c — helpers shared by the image commands (vision.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vision.h"

static int dim_int(int64_t d)
{
    return d > 0 && d <= 1000000 ? (int)d : -1;
}

static bool is_channels(int64_t d)
{
    return d == 1 || d == 3 || d == 4;
}

int vision_find_input(const onyx_model *m, const char *cmd, vision_input *vi)
{
    size_t n = onyx_model_input_count(m);
    if (n != 1) return cli_error("%s: the model has %zu inputs; an image model takes exactly one", cmd, n);
    onyx_value_info info;
    if (onyx_model_input_info(m, 0, &info) != ONYX_OK) return cli_error("%s: cannot describe the model's input", cmd);
    char dims[256];
    cli_format_info_dims(&info, dims, sizeof dims);
    if (!info.is_tensor || info.rank != 4)
        return cli_error("%s: input '%s' is %s; an image input is a rank-4 tensor [N,C,H,W] or [N,H,W,C]", cmd,
                         info.name, dims);
    if (info.dtype != ONYX_DTYPE_FLOAT && info.dtype != ONYX_DTYPE_UINT8)
        return cli_error("%s: input '%s' is %s; image inputs must be float32 or uint8", cmd, info.name,
                         onyx_dtype_name(info.dtype));
    if (info.dims[0] > 1)
        return cli_error("%s: input '%s' %s wants a batch of %lld; images are fed one at a time", cmd, info.name, dims,
                         (long long)info.dims[0]);
    *vi = (vision_input){.name = info.name, .dtype = info.dtype, .layout = IMG_NCHW, .channels = 3};
    int c_dim = 1;
    if (!is_channels(info.dims[1]) && is_channels(info.dims[3])) {
        vi->layout = IMG_NHWC;
        c_dim = 3;
    }
    if (info.dims[c_dim] >= 0) {
        if (!is_channels(info.dims[c_dim]))
            return cli_error("%s: input '%s' %s has %lld channels; images have 1, 3 or 4", cmd, info.name, dims,
                             (long long)info.dims[c_dim]);
        vi->channels = (int)info.dims[c_dim];
    }
    int h_dim = vi->layout == IMG_NCHW ? 2 : 1;
    vi->height = dim_int(info.dims[h_dim]);
    vi->width = dim_int(info.dims[h_dim + 1]);
    return CLI_EXIT_OK;
}

/* For a flag taking one or more values ("--image a.png b.png", or repeated): when argv[*i]
 * is `flag`, appends its value and every following argument not starting with '-' to
 * list (room for argc entries), advancing *i. Returns 0, 1 or -1 as cli_flag_value. */
static int flag_values(int argc, char **argv, int *i, const char *flag, const char **list, int *n)
{
    const char *value;
    int r = cli_flag_value(argc, argv, i, flag, &value);
    if (r <= 0) return r;
    list[(*n)++] = value;
    while (*i + 1 < argc && argv[*i + 1][0] != '-') list[(*n)++] = argv[++*i];
    return 1;
}

/* "0.485,0.456,0.406" (one per channel) or "0.5" (the same for all three): finite numbers,
 * positive ones when `positive`. Prints an error and returns false if not. */
static bool parse_channel_values(const char *flag, const char *s, bool positive, float out[3])
{
    const char *p = s;
    int n = 0;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (n == 3 || end == p || errno || !isfinite(v) || fabs(v) > 1e30 || (*end != ',' && *end != 0)) {
            cli_error("%s wants one number or three comma-separated ones (R,G,B), not '%s'", flag, s);
            return false;
        }
        if (positive && !(v > 0)) {
            cli_error("%s values must be positive, not '%s'", flag, s);
            return false;
        }
        out[n++] = (float)v;
        if (*end == 0) break;
        p = end + 1;
    }
    if (n == 2) {
        cli_error("%s wants one number or three comma-separated ones (R,G,B), not '%s'", flag, s);
        return false;
    }
    if (n == 1) out[1] = out[2] = out[0];
    return true;
}

bool vision_parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi)) {
        cli_error("%s wants a number from %g to %g, not '%s'", flag, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

/* ---- the shared flags ------------------------------------------------------------------- */

int vision_args_init(vision_args *a, unsigned accepted, int size, int argc)
{
    *a = (vision_args){.accepted = accepted, .size = size, .std = {1, 1, 1}, .fit = IMG_FIT_RESIZE_CROP,
                       .filter = IMG_FILTER_BILINEAR};
    onyx_session_options_init(&a->so);
    if (!(accepted & VISION_FLAG_IMAGES)) return CLI_EXIT_OK;
    a->images = calloc((size_t)argc + 1, sizeof *a->images);
    return a->images ? CLI_EXIT_OK : cli_error("out of memory");
}

void vision_args_free(vision_args *a)
{
    free(a->images);
    a->images = NULL;
}

typedef struct named {
    const char *name;
    int value;
} named;

static const named FITS[] = {{"crop", IMG_FIT_RESIZE_CROP}, {"stretch", IMG_FIT_STRETCH}, {"none", IMG_FIT_NONE}};
static const named FILTERS[] = {{"bilinear", IMG_FILTER_BILINEAR},
                                {"bicubic", IMG_FILTER_BICUBIC},
                                {"area", IMG_FILTER_BOX},
                                {"nearest", IMG_FILTER_NEAREST}};

static bool parse_named(const char *flag, const char *s, const named *list, size_t n, int *out)
{
    char names[128] = "";
    for (size_t k = 0; k < n; k++) {
        if (strcmp(s, list[k].name) == 0) {
            *out = list[k].value;
            return true;
        }
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s", k ? ", " : "", list[k].name);
    }
    cli_error("%s wants one of %s, not '%s'", flag, names, s);
    return false;
}

/* One "--flag VALUE" the command accepts (`bit`): 1 with *v set, 0, or -1 (missing value). */
static int accepted_flag(const vision_args *a, unsigned bit, int argc, char **argv, int *i, const char *flag,
                         const char **v)
{
    return a->accepted & bit ? cli_flag_value(argc, argv, i, flag, v) : 0;
}

int vision_parse_flag(vision_args *a, int argc, char **argv, int *i)
{
    const char *v;
    int r, k;
    if ((r = accepted_flag(a, VISION_FLAG_MODEL, argc, argv, i, "--model", &v)) != 0) {
        if (r > 0) a->model = v;
    } else if (a->accepted & VISION_FLAG_IMAGES &&
               (r = flag_values(argc, argv, i, "--image", a->images, &a->n_images)) != 0) {
        /* appended to a->images */
    } else if ((r = accepted_flag(a, VISION_FLAG_LABELS, argc, argv, i, "--labels", &v)) != 0) {
        if (r > 0) a->labels = v;
    } else if ((r = accepted_flag(a, VISION_FLAG_SIZE, argc, argv, i, "--size", &v)) != 0) {
        if (r > 0 && !cli_parse_int("--size", v, 1, 16384, &a->size)) r = -1;
        a->size_given = true;
    } else if ((r = accepted_flag(a, VISION_FLAG_NORMALISE, argc, argv, i, "--mean", &v)) != 0) {
        if (r > 0 && !parse_channel_values("--mean", v, false, a->mean)) r = -1;
    } else if ((r = accepted_flag(a, VISION_FLAG_NORMALISE, argc, argv, i, "--std", &v)) != 0) {
        if (r > 0 && !parse_channel_values("--std", v, true, a->std)) r = -1;
    } else if ((r = accepted_flag(a, VISION_FLAG_FIT, argc, argv, i, "--fit", &v)) != 0) {
        if (r > 0 && !parse_named("--fit", v, FITS, sizeof FITS / sizeof FITS[0], &k)) r = -1;
        if (r > 0) a->fit = (img_fit)k;
    } else if ((r = accepted_flag(a, VISION_FLAG_FIT, argc, argv, i, "--filter", &v)) != 0) {
        if (r > 0 && !parse_named("--filter", v, FILTERS, sizeof FILTERS / sizeof FILTERS[0], &k)) r = -1;
        if (r > 0) a->filter = (img_filter)k;
    } else if ((r = accepted_flag(a, VISION_FLAG_SAVE_INPUT, argc, argv, i, "--save-input", &v)) != 0) {
        if (r > 0) a->save_input = v;
    } else if ((r = cli_flag_value(argc, argv, i, "--threads", &v)) != 0) {
        if (r > 0 && !cli_parse_int("--threads", v, 0, 4096, &a->so.threads)) r = -1;
    } else if ((r = cli_flag_value(argc, argv, i, "--opt", &v)) != 0) {
        if (r > 0 && !cli_parse_int("--opt", v, 0, 2, &a->so.opt_level)) r = -1;
    }
    return r;
}

int vision_load_model(const vision_args *a, const char *cmd, onyx_model **m, vision_input *vi)
{
    onyx_error err = {0};
    *m = NULL;
    if (onyx_model_load_file(a->model, NULL, m, &err) != ONYX_OK) return cli_error("%s", err.message);
    return vision_find_input(*m, cmd, vi);
}

int vision_input_size(const vision_args *a, const vision_input *vi, const char *cmd, int *width, int *height)
{
    int h = vi->height, w = vi->width;
    if (h > 0 && w > 0) {
        if (a->size_given && (a->size != h || a->size != w))
            return cli_error("%s: the model takes %dx%d images; --size %d does not fit", cmd, w, h, a->size);
    } else if (h > 0 || w > 0) {
        h = w = h > 0 ? h : w; /* one side fixed: a square of it */
    } else {
        h = w = a->size;
    }
    *width = w;
    *height = h;
    return CLI_EXIT_OK;
}

int vision_save_input(const vision_args *a, const char *image, const onyx_tensor *t)
{
    if (!a->save_input) return CLI_EXIT_OK;
    int rc = vision_make_dir(a->save_input);
    char stem[1024], path[4096];
    vision_stem(image, stem, sizeof stem);
    int w = snprintf(path, sizeof path, "%s/%s.npy", a->save_input, stem);
    if (!rc && (w < 0 || (size_t)w >= sizeof path)) rc = cli_error("output path for '%s' is too long", image);
    onyx_error err = {0};
    if (!rc && onyx_tensor_write_npy(path, t, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    return rc;
}

/* ---- pieces ------------------------------------------------------------------------------ */

int vision_read_image(const char *path, int channels, img_image *im)
{
    img_read_options o = {.channels = channels};
    onyx_error err = {0};
    if (img_read_file(path, &o, im, &err) != ONYX_OK) return cli_error("%s", err.message);
    return CLI_EXIT_OK;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool vision_find_data_file(const char *name, char *path, size_t cap)
{
    const char *env = getenv("ONYX_DATA");
    if (env && *env) {
        int w = snprintf(path, cap, "%s/%s", env, name);
        if (w > 0 && (size_t)w < cap && is_file(path)) return true;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1); /* Linux; elsewhere: env only */
    if (len <= 0) return false;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return false;
    *slash = 0;
    static const char *const rel[] = {"../data", "../../data", "../share/onyx"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int w = snprintf(path, cap, "%s/%s/%s", exe, rel[i], name);
        if (w > 0 && (size_t)w < cap && is_file(path)) return true;
    }
    return false;
}

#define MAX_LABELS_BYTES (64 << 20)

int vision_read_labels(const char *path, char ***labels, size_t *n)
{
    *labels = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("cannot open labels file '%s'", path);
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = CLI_EXIT_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > MAX_LABELS_BYTES) {
                rc = cli_error("labels file '%s' is larger than %d bytes", path, MAX_LABELS_BYTES);
                break;
            }
            char *t = realloc(text, ncap);
            if (!t) {
                rc = cli_error("out of memory");
                break;
            }
            text = t;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (!rc && ferror(f)) rc = cli_error("cannot read labels file '%s'", path);
    fclose(f);
    if (rc || !text) {
        free(text);
        return rc ? rc : cli_error("out of memory");
    }
    text[len] = 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (len > 0 && text[len - 1] != '\n') lines++;
    /* one block: the pointers, then the text */
    size_t head = (lines + 1) * sizeof(char *);
    char **out = malloc(head + len + 1);
    if (!out) {
        free(text);
        return cli_error("out of memory");
    }
    char *body = (char *)out + head;
    memcpy(body, text, len + 1);
    free(text);
    size_t k = 0;
    for (char *p = body; k < lines;) {
        char *nl = strchr(p, '\n');
        char *e = nl ? nl : p + strlen(p);
        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
        *e = 0;
        out[k++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    out[k] = NULL;
    *labels = out;
    *n = k;
    return CLI_EXIT_OK;
}

int vision_make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? CLI_EXIT_OK : cli_error("'%s' is not a directory", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return cli_error("cannot create directory '%s'", dir);
    return CLI_EXIT_OK;
}

void vision_stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    if (cap == 0) return;
    if (n >= cap) n = cap - 1;
    memcpy(out, base, n);
    out[n] = 0;
}
