/* detect_post.h — post-processing of YOLO-style detector outputs: layout detection, decode,
 * class-wise non-maximum suppression, and mapping boxes back to the source image.
 *
 * Two layouts, told apart by the output's shape (the anchor count N is the larger dim):
 *   YOLOv5  [1, N, 5+C]: cx, cy, w, h, objectness, C class scores; score = obj * cls
 *   YOLOv8  [1, 4+C, N]: cx, cy, w, h, C class scores (no objectness); score = cls
 * (YOLO11 shares v8's head.) Each anchor proposes its best class only (the first on ties);
 * anchors whose box or score is not finite are dropped. Boxes are in the model's input
 * pixels. Used by `onyx detect`; pure computation, no I/O. */
#ifndef ONYX_DETECT_POST_H
#define ONYX_DETECT_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

typedef enum det_layout { DET_YOLOV5 = 0, DET_YOLOV8 } det_layout;

/* How to read one output tensor. */
typedef struct det_format {
    det_layout layout;
    int64_t anchors; /* N */
    int64_t classes; /* C */
} det_format;

/* A detection: box centre and size (pixels), score, class. */
typedef struct det_box {
    double cx, cy, w, h;
    double score;
    int64_t class_id;
} det_box;

typedef struct det_options {
    double score_threshold; /* keep anchors whose score is above this */
    double iou_threshold;   /* suppress a box overlapping a better one of its class by more */
    int64_t max_det;        /* keep at most this many, best first */
} det_options;

/* Recognises the layout from t's shape ([1, A, B] or [A, B]). False, with the reason in
 * `why`, for shapes neither layout fits (or where it cannot tell: A == B). */
bool det_guess_format(const onyx_tensor *t, det_format *fmt, char *why, size_t cap);

/* Decodes t (any real dtype) and runs class-wise NMS: candidates in score order (ties by
 * anchor index), each kept unless it overlaps a kept box of its class with IoU above the
 * threshold, at most max_det kept. *out (malloc'd, free()) receives them best first, *n_out
 * their count (*out may be NULL when there are none). ONYX_E_NOMEM on allocation failure. */
onyx_status det_decode_nms(const onyx_tensor *t, const det_format *fmt, const det_options *o, det_box **out,
                           size_t *n_out);

/* Maps a box from tensor pixels to source-image pixels: x_src = (x - off_x) / scale_x (and
 * y likewise), corners clipped to [0, src_w] x [0, src_h]. */
void det_box_to_source(det_box *b, double scale_x, double scale_y, double off_x, double off_y, int src_w,
                       int src_h);

#endif
