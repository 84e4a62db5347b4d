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

/* Fills vi from m's graph input; prints why and returns CLI_EXIT_FAIL if there is no
 * usable image input (`cmd` names the command in the message). */
int vision_find_input(const onyx_model *m, const char *cmd, vision_input *vi);

/* For a flag taking one or more values ("--image a.png b.png", or repeated): when argv[*i]
 * is `flag`, appends its value and every following argument not starting with '-' to
 * list (room for argc entries), advancing *i. Returns 0, 1 or -1 as cli_flag_value. */
int vision_flag_values(int argc, char **argv, int *i, const char *flag, const char **list, int *n);

/* "0.485,0.456,0.406": exactly n comma-separated finite numbers. Prints an error and
 * returns false if not. */
bool vision_parse_floats(const char *flag, const char *s, int n, float *out);
/* A finite number in [lo, hi]. */
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
