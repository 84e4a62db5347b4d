/* convert.h — element type conversion, shared by Cast (shape.c) and CastLike (movement.c).
 *
 * Every numeric dtype onyx stores converts to every other (complex excepted), including the
 * 8- and 4-bit floats, and numbers convert to and from strings. */
#ifndef ONYX_OPS_CONVERT_H
#define ONYX_OPS_CONVERT_H

#include "op.h"
#include "smallfloat.h"

typedef struct ox_cast_opts {
    bool saturate;        /* float8 targets: clamp out-of-range values (default) */
    ox_e8m0_round round;  /* float8e8m0 targets: rounding to a power of two */
} ox_cast_opts;

/* Reads the `saturate` (opset 19+) and `round_mode` (opset 24+) attributes. */
onyx_status ox_cast_opts_read(ox_ctx *c, ox_cast_opts *o);
/* ONYX_E_UNSUPPORTED unless onyx converts `from` to `to`. */
onyx_status ox_cast_check(ox_ctx *c, onyx_dtype from, onyx_dtype to);
/* Converts every element of x into y (same element count; y->dtype is the target). String
 * results are allocated in c->strings; a string that is not a number fails with
 * ONYX_E_ARG. */
onyx_status ox_cast_tensor(ox_ctx *c, const onyx_tensor *x, onyx_tensor *y, const ox_cast_opts *o);

#endif
