/* vision.h — what the image commands (classify, detect, img2img) share: finding a model's
 * image input and its layout, multi-value and numeric flags, reading images with a clear
 * message, and locating onyx's data files (labels). */
#ifndef ONYX_VISION_H
#define ONYX_VISION_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "img.h"

/* The image input of a model: its only graph input, a rank-4 float32 or uint8 tensor. */
typedef struct vision_input {
    const char *name;
    onyx_dtype dtype;   /* ONYX_DTYPE_FLOAT or ONYX_DTYPE_UINT8 */
    img_layout layout;  /* NCHW unless the last dim, not the second, holds 1, 3 or 4 */
    int channels;       /* 1, 3 or 4; 3 when the model leaves it open */
    int height, width;  /* -1 where the model leaves them open */
} vision_input;

/* ---- the flags the image commands share ------------------------------------------------ */

/* Which of the shared flags a command takes (vision_args.accepted). --threads N and --opt N
 * (the session options) are taken by every image command. */
enum {
    VISION_FLAG_MODEL = 1 << 0,      /* --model M */
    VISION_FLAG_IMAGES = 1 << 1,     /* --image I... (one or more, or repeated) */
    VISION_FLAG_LABELS = 1 << 2,     /* --labels FILE */
    VISION_FLAG_SIZE = 1 << 3,       /* --size S: the square input size when the model leaves it open */
    VISION_FLAG_NORMALISE = 1 << 4,  /* --mean V[,V,V] --std V[,V,V] */
    VISION_FLAG_FIT = 1 << 5,        /* --fit crop|stretch|none --filter bilinear|bicubic|area|nearest */
    VISION_FLAG_SAVE_INPUT = 1 << 6, /* --save-input DIR: each image's tensor as DIR/<stem>.npy */
};

typedef struct vision_args {
    unsigned accepted;      /* VISION_FLAG_* */
    const char *model, *labels, *save_input;
    const char **images;    /* room for argc entries */
    int n_images;
    int size;               /* the command's default until --size is given */
    bool size_given;
    float mean[3], std[3];  /* per R, G, B; a single value given applies to all three */
    img_fit fit;            /* IMG_FIT_RESIZE_CROP, IMG_FIT_STRETCH or IMG_FIT_NONE */
    img_filter filter;
    onyx_session_options so;
} vision_args;

/* Defaults (size, mean 0, std 1, crop, bilinear, default session options) and, with
 * VISION_FLAG_IMAGES, the image list. Returns CLI_EXIT_FAIL (after printing) when out of
 * memory. */
int vision_args_init(vision_args *a, unsigned accepted, int size, int argc);
/* Frees the image list. */
void vision_args_free(vision_args *a);

/* Parses argv[*i] if it is one of the shared flags a->accepted names (or --threads/--opt):
 * returns 1 (advancing *i past its values), 0 if it is another argument, or -1 after
 * printing why the value is wrong (exit with CLI_EXIT_USAGE). */
int vision_parse_flag(vision_args *a, int argc, char **argv, int *i);

/* Loads a->model and finds its image input (`cmd` names the command in messages). */
int vision_load_model(const vision_args *a, const char *cmd, onyx_model **m, vision_input *vi);

/* The input size to fit images to: the model's fixed H x W (an error if --size disagrees),
 * a square of the one fixed side, else --size (or the command's default) square. */
int vision_input_size(const vision_args *a, const vision_input *vi, const char *cmd, int *width, int *height);

/* With --save-input, writes the tensor made from `image` as DIR/<stem>.npy, creating DIR
 * if missing (images with the same file name in different folders overwrite each other). */
int vision_save_input(const vision_args *a, const char *image, const onyx_tensor *t);

/* Fills vi from m's graph input; prints why and returns CLI_EXIT_FAIL if there is no
 * usable image input (`cmd` names the command in the message). */
int vision_find_input(const onyx_model *m, const char *cmd, vision_input *vi);

/* ---- pieces ------------------------------------------------------------------------------ */

/* A finite number in [lo, hi]; prints an error and returns false if not. */
bool vision_parse_double(const char *flag, const char *s, double lo, double hi, double *out);

/* Reads an image (PNG or JPEG, EXIF orientation applied) with `channels` (0 as stored). */
int vision_read_image(const char *path, int channels, img_image *im);

/* Finds onyx's data file `name` (e.g. "imagenet_labels.txt"): in $ONYX_DATA, else next to
 * the executable in ../data, ../../data (build trees) or ../share/onyx (installed). Writes
 * the path and returns true if one exists. */
bool vision_find_data_file(const char *name, char *path, size_t cap);

/* Reads a labels file: one label per line (trailing CR/whitespace trimmed, empty lines
 * kept as empty labels). *labels is one allocation holding the pointers and the text:
 * free(*labels). */
int vision_read_labels(const char *path, char ***labels, size_t *n);

/* Creates dir if missing (one level). */
int vision_make_dir(const char *dir);

/* "dir/name.jpg" → "name" (into out). */
void vision_stem(const char *path, char *out, size_t cap);

#endif
