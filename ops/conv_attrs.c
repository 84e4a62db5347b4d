/* conv_attrs.c — attributes and window geometry of the windowed ops (see conv_attrs.h). */
#include <string.h>

#include "conv_attrs.h"

/* ---- attribute readers ----------------------------------------------------------------- */

onyx_status ox_get_auto_pad(ox_ctx *c, ox_auto_pad *out)
{
    onyx_status st = ox_attr_expect(c, "auto_pad", OX_ATTR_STRING);
    if (st) return st;
    const char *s = ox_attr_string(c, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET") || !*s) *out = OX_AUTO_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = OX_AUTO_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = OX_AUTO_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = OX_AUTO_PAD_VALID;
    else return ox_fail(c, ONYX_E_ARG, "unknown auto_pad '%s'", s);
    return ONYX_OK;
}

onyx_status ox_get_win_ints(ox_ctx *c, const char *name, int n, int64_t def, int64_t min,
                            int64_t *v)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INTS);
    if (st) return st;
    const int64_t *a;
    size_t na = ox_attr_ints(c, name, &a);
    if (na == 0) {
        for (int i = 0; i < n; i++) v[i] = def;
        return ONYX_OK;
    }
    if (na != (size_t)n)
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' has %zu values, expected %d", name, na, n);
    for (int i = 0; i < n; i++) {
        if (a[i] < min || a[i] > OX_WIN_ATTR_MAX)
            return ox_fail(c, ONYX_E_ARG, "attribute '%s' value %lld out of range [%lld, %d]",
                           name, (long long)a[i], (long long)min, (int)OX_WIN_ATTR_MAX);
        v[i] = a[i];
    }
    return ONYX_OK;
}

onyx_status ox_get_win_int(ox_ctx *c, const char *name, int64_t def, int64_t min,
                           int64_t *out)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INT);
    if (st) return st;
    *out = ox_attr_int(c, name, def);
    if (*out < min || *out > OX_WIN_ATTR_MAX)
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' value %lld out of range [%lld, %d]", name,
                       (long long)*out, (long long)min, (int)OX_WIN_ATTR_MAX);
    return ONYX_OK;
}

onyx_status ox_get_flag(ox_ctx *c, const char *name, bool *out)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INT);
    if (st) return st;
    int64_t v = ox_attr_int(c, name, 0);
    if (v != 0 && v != 1)
        return ox_fail(c, ONYX_E_ARG, "attribute '%s' must be 0 or 1, got %lld", name,
                       (long long)v);
    *out = v != 0;
    return ONYX_OK;
}

/* ---- shapes and kernels ---------------------------------------------------------------- */

onyx_status ox_check_spatial_rank(ox_ctx *c, const onyx_tensor *x, const char *name)
{
    if (x->rank >= 3 && x->rank <= 2 + OX_WIN_MAX_DIMS) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE, "%s has rank %d, expected [N, C, D1 ...] with 1 to %d "
                   "spatial dims", name, x->rank, OX_WIN_MAX_DIMS);
}

onyx_status ox_pool_kernel(ox_ctx *c, int nd, int64_t *kernel, bool *ceil_mode)
{
    onyx_status st;
    if (!ox_attr_has(c, "kernel_shape"))
        return ox_fail(c, ONYX_E_ARG, "attribute 'kernel_shape' is required");
    if ((st = ox_get_win_ints(c, "kernel_shape", nd, 1, 1, kernel))) return st;
    return ox_get_flag(c, "ceil_mode", ceil_mode);
}

onyx_status ox_conv_kernel(ox_ctx *c, const onyx_tensor *w, const char *wname, int64_t *kernel)
{
    const int nd = w->rank - 2;
    for (int d = 0; d < nd; d++) {
        kernel[d] = w->dims[2 + d];
        if (kernel[d] < 1 || kernel[d] > OX_WIN_ATTR_MAX)
            return ox_fail(c, ONYX_E_SHAPE, "%s kernel dim %d is %lld", wname, d,
                           (long long)kernel[d]);
    }
    onyx_status st = ox_attr_expect(c, "kernel_shape", OX_ATTR_INTS);
    if (st) return st;
    const int64_t *ks;
    size_t nks = ox_attr_ints(c, "kernel_shape", &ks);
    if (nks && (nks != (size_t)nd || memcmp(ks, kernel, (size_t)nd * sizeof *ks)))
        return ox_fail(c, ONYX_E_SHAPE, "kernel_shape does not match %s's spatial dims", wname);
    return ONYX_OK;
}

onyx_status ox_conv_groups(ox_ctx *c, const onyx_tensor *x, const onyx_tensor *w,
                           int64_t group, const char *xname, const char *wname)
{
    const int64_t ch = x->dims[1], m = w->dims[0];
    if (ch % group == 0 && w->dims[1] == ch / group && m % group == 0) return ONYX_OK;
    return ox_fail(c, ONYX_E_SHAPE,
                   "%s has %lld channels and %s is [%lld, %lld, ...]: with group %lld, %s "
                   "needs C/group input channels and a multiple of group output channels",
                   xname, (long long)ch, wname, (long long)m, (long long)w->dims[1],
                   (long long)group, wname);
}

/* ---- the window ------------------------------------------------------------------------ */

/* Output size of spatial dim d with explicit pads (already in w). */
static onyx_status explicit_dim(ox_ctx *c, int d, bool ceil_mode, ox_window *w)
{
    const int64_t effk = (w->kernel[d] - 1) * w->dil[d] + 1, s = w->stride[d];
    const int64_t span = w->in[d] + w->pad_begin[d] + w->pad_end[d] - effk;
    if (span < 0)
        return ox_fail(c, ONYX_E_SHAPE,
                       "window of %lld along spatial dim %d exceeds the padded input (%lld)",
                       (long long)effk, d, (long long)span + effk);
    int64_t out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (out - 1) * s >= w->in[d] + w->pad_begin[d]) out--;
    w->out[d] = out;
    return ONYX_OK;
}

/* Output size and padding of spatial dim d under auto_pad SAME_* or VALID. */
static onyx_status auto_dim(ox_ctx *c, int d, ox_auto_pad mode, ox_window *w)
{
    const int64_t effk = (w->kernel[d] - 1) * w->dil[d] + 1, s = w->stride[d], in = w->in[d];
    if (mode == OX_AUTO_PAD_VALID) {
        if (in < effk)
            return ox_fail(c, ONYX_E_SHAPE,
                           "window of %lld along spatial dim %d exceeds the input (%lld)",
                           (long long)effk, d, (long long)in);
        w->pad_begin[d] = w->pad_end[d] = 0;
        w->out[d] = (in - effk) / s + 1;
        return ONYX_OK;
    }
    int64_t out = (in + s - 1) / s;
    int64_t total = out > 0 ? (out - 1) * s + effk - in : 0;
    if (total < 0) total = 0;
    w->pad_begin[d] = mode == OX_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
    w->pad_end[d] = total - w->pad_begin[d];
    w->out[d] = out;
    return ONYX_OK;
}

onyx_status ox_make_window(ox_ctx *c, const onyx_tensor *x, const int64_t *kernel,
                           bool ceil_mode, ox_window *w)
{
    const int nd = x->rank - 2;
    int64_t pads[2 * OX_WIN_MAX_DIMS];
    ox_auto_pad mode = OX_AUTO_PAD_NOTSET;
    onyx_status st;
    memset(w, 0, sizeof *w);
    w->nd = nd;
    if ((st = ox_get_win_ints(c, "strides", nd, 1, 1, w->stride)) ||
        (st = ox_get_win_ints(c, "dilations", nd, 1, 1, w->dil)) ||
        (st = ox_get_win_ints(c, "pads", 2 * nd, 0, 0, pads)) || (st = ox_get_auto_pad(c, &mode)))
        return st;
    for (int d = 0; d < nd; d++) {
        w->in[d] = x->dims[2 + d];
        w->kernel[d] = kernel[d];
        if (mode == OX_AUTO_PAD_NOTSET) {
            w->pad_begin[d] = pads[d];
            w->pad_end[d] = pads[nd + d];
            st = explicit_dim(c, d, ceil_mode, w);
        } else {
            st = auto_dim(c, d, mode, w);
        }
        if (st) return st;
    }
    return ONYX_OK;
}

onyx_status ox_conv_shape_of(ox_ctx *c, const onyx_tensor *x, const onyx_tensor *w,
                             const char *xname, const char *wname, ox_conv_shape *s)
{
    onyx_status st;
    if (w->rank != x->rank)
        return ox_fail(c, ONYX_E_SHAPE, "%s has rank %d, %s has rank %d", wname, w->rank, xname,
                       x->rank);
    if ((st = ox_attr_expect(c, "group", OX_ATTR_INT))) return st;
    const int64_t group = ox_attr_int(c, "group", 1);
    if (group < 1 || group > OX_WIN_ATTR_MAX)
        return ox_fail(c, ONYX_E_ARG, "group %lld out of range", (long long)group);
    int64_t kernel[OX_WIN_MAX_DIMS];
    if ((st = ox_conv_groups(c, x, w, group, xname, wname)) ||
        (st = ox_conv_kernel(c, w, wname, kernel)) ||
        (st = ox_make_window(c, x, kernel, false, &s->win)))
        return st;
    s->batch = x->dims[0];
    s->in_channels = x->dims[1];
    s->out_channels = w->dims[0];
    s->group = group;
    return ONYX_OK;
}

onyx_status ox_set_global_pool_output(ox_ctx *c, const onyx_tensor *x, onyx_tensor *y)
{
    if (x->rank < 2)
        return ox_fail(c, ONYX_E_SHAPE, "input has rank %d, expected [N, C, ...]", x->rank);
    int64_t dims[ONYX_MAX_RANK];
    for (int d = 0; d < x->rank; d++) dims[d] = d < 2 ? x->dims[d] : 1;
    ox_set_shape(y, x->dtype, x->rank, dims);
    return ONYX_OK;
}

void ox_set_window_output(onyx_tensor *y, onyx_dtype t, int64_t n, int64_t ch,
                          const ox_window *w)
{
    int64_t dims[ONYX_MAX_RANK];
    dims[0] = n;
    dims[1] = ch;
    for (int d = 0; d < w->nd; d++) dims[2 + d] = w->out[d];
    ox_set_shape(y, t, w->nd + 2, dims);
}
