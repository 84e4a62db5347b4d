/* detect_post.c — YOLO output decode, class-wise NMS, letterbox undo (detect_post.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detect_post.h"

bool det_guess_format(const onyx_tensor *t, det_format *fmt, char *why, size_t cap)
{
    int64_t a, b;
    if (t->rank == 3 && t->dims[0] == 1) {
        a = t->dims[1];
        b = t->dims[2];
    } else if (t->rank == 2) {
        a = t->dims[0];
        b = t->dims[1];
    } else {
        char dims[128];
        cli_format_dims(t->rank, t->dims, dims, sizeof dims);
        snprintf(why, cap, "output shape %s is neither [1, N, 5+C] (YOLOv5) nor [1, 4+C, N] (YOLOv8)", dims);
        return false;
    }
    if (t->dtype == ONYX_DTYPE_STRING || t->dtype == ONYX_DTYPE_COMPLEX64 || t->dtype == ONYX_DTYPE_COMPLEX128) {
        snprintf(why, cap, "output holds %s, not real numbers", onyx_dtype_name(t->dtype));
        return false;
    }
    if (a == b) {
        snprintf(why, cap, "cannot tell boxes from attributes in a [%lld, %lld] output", (long long)a, (long long)b);
        return false;
    }
    if (b > a) { /* [4+C, N] */
        fmt->layout = DET_YOLOV8;
        fmt->anchors = b;
        fmt->classes = a - 4;
    } else { /* [N, 5+C] */
        fmt->layout = DET_YOLOV5;
        fmt->anchors = a;
        fmt->classes = b - 5;
    }
    if (fmt->classes < 1) {
        snprintf(why, cap, "a %s output needs at least one class score per box (shape [%lld, %lld])",
                 fmt->layout == DET_YOLOV8 ? "YOLOv8 [4+C, N]" : "YOLOv5 [N, 5+C]", (long long)a, (long long)b);
        return false;
    }
    return true;
}

/* Attribute k (0 = cx ... ) of anchor i. */
static double attr(const onyx_tensor *t, const det_format *f, int64_t i, int64_t k)
{
    int64_t idx = f->layout == DET_YOLOV8 ? k * f->anchors + i : i * (f->classes + 5) + k;
    if (t->dtype == ONYX_DTYPE_FLOAT) return ((const float *)t->data)[idx];
    return cli_value_at(t, idx);
}

typedef struct candidate {
    det_box box;
    int64_t anchor;
} candidate;

/* Best score first; equal scores in anchor order, so the result never depends on qsort. */
static int by_score(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->box.score != b->box.score) return a->box.score > b->box.score ? -1 : 1;
    return (a->anchor > b->anchor) - (a->anchor < b->anchor);
}

static double iou(const det_box *a, const det_box *b)
{
    double ax1 = a->cx - a->w / 2, ax2 = a->cx + a->w / 2, ay1 = a->cy - a->h / 2, ay2 = a->cy + a->h / 2;
    double bx1 = b->cx - b->w / 2, bx2 = b->cx + b->w / 2, by1 = b->cy - b->h / 2, by2 = b->cy + b->h / 2;
    double iw = (ax2 < bx2 ? ax2 : bx2) - (ax1 > bx1 ? ax1 : bx1);
    double ih = (ay2 < by2 ? ay2 : by2) - (ay1 > by1 ? ay1 : by1);
    if (!(iw > 0) || !(ih > 0)) return 0;
    double area_a = (a->w > 0 ? a->w : 0) * (a->h > 0 ? a->h : 0);
    double area_b = (b->w > 0 ? b->w : 0) * (b->h > 0 ? b->h : 0);
    double uni = area_a + area_b - iw * ih;
    return uni > 0 ? iw * ih / uni : 0;
}

onyx_status det_decode_nms(const onyx_tensor *t, const det_format *fmt, const det_options *o, det_box **out,
                           size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    int64_t first_class = fmt->layout == DET_YOLOV8 ? 4 : 5;
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) { /* count the candidates, then fill them in */
        candidate *c = NULL;
        if (pass == 1) {
            if (n == 0) return ONYX_OK;
            if (n > SIZE_MAX / sizeof *c) return ONYX_E_NOMEM;
            c = malloc(n * sizeof *c);
            if (!c) return ONYX_E_NOMEM;
            n = 0;
        }
        for (int64_t i = 0; i < fmt->anchors; i++) {
            int64_t best = 0;
            double best_v = attr(t, fmt, i, first_class);
            for (int64_t k = 1; k < fmt->classes; k++) {
                double v = attr(t, fmt, i, first_class + k);
                if (v > best_v) {
                    best = k;
                    best_v = v;
                }
            }
            double score = fmt->layout == DET_YOLOV5 ? attr(t, fmt, i, 4) * best_v : best_v;
            if (!(score > o->score_threshold)) continue;
            det_box b = {.cx = attr(t, fmt, i, 0), .cy = attr(t, fmt, i, 1), .w = attr(t, fmt, i, 2),
                         .h = attr(t, fmt, i, 3), .score = score, .class_id = best};
            if (!isfinite(b.cx) || !isfinite(b.cy) || !isfinite(b.w) || !isfinite(b.h) || !isfinite(score)) continue;
            if (c) c[n] = (candidate){.box = b, .anchor = i};
            n++;
        }
        if (!c) continue;
        if (n == 0) { /* cannot happen: the same count twice */
            free(c);
            return ONYX_OK;
        }
        qsort(c, n, sizeof *c, by_score);
        size_t cap = o->max_det > 0 && (uint64_t)o->max_det < n ? (size_t)o->max_det : n;
        det_box *kept = malloc(cap * sizeof *kept);
        if (!kept) {
            free(c);
            return ONYX_E_NOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < n && k < cap; i++) {
            bool keep = true;
            for (size_t j = 0; j < k && keep; j++)
                if (kept[j].class_id == c[i].box.class_id && iou(&kept[j], &c[i].box) > o->iou_threshold) keep = false;
            if (keep) kept[k++] = c[i].box;
        }
        free(c);
        *out = kept;
        *n_out = k;
    }
    return ONYX_OK;
}

static double clip(double v, double hi)
{
    return v < 0 ? 0 : v > hi ? hi : v;
}

void det_box_to_source(det_box *b, double scale_x, double scale_y, double off_x, double off_y, int src_w,
                       int src_h)
{
    double x1 = clip((b->cx - b->w / 2 - off_x) / scale_x, src_w);
    double x2 = clip((b->cx + b->w / 2 - off_x) / scale_x, src_w);
    double y1 = clip((b->cy - b->h / 2 - off_y) / scale_y, src_h);
    double y2 = clip((b->cy + b->h / 2 - off_y) / scale_y, src_h);
    b->cx = (x1 + x2) / 2;
    b->cy = (y1 + y2) / 2;
    b->w = x2 - x1;
    b->h = y2 - y1;
}
