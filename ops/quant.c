/* quant.c — linear quantization and the integer ops built on it:
 *   QuantizeLinear, DequantizeLinear  per tensor, per axis or blocked, to and from every
 *                                     integer (2 to 32 bits) and 8/4-bit float type;
 *   DynamicQuantizeLinear             float -> uint8 with computed scale and zero point;
 *   MatMulInteger, ConvInteger        exact int32 results;
 *   QLinearMatMul, QLinearConv        exact int32 accumulation, then requantization.
 * The integer kernels are in kernels/qgemm.c, the 8- and 4-bit float codecs in
 * kernels/smallfloat.c (shared with Cast).
 *
 * Arithmetic follows the ONNX reference implementation where the spec leaves it open:
 * QuantizeLinear divides in the precision of the scale (or of the `precision` attribute) and
 * rounds half to even; DequantizeLinear multiplies in float32 and rounds once to the output
 * type; the QLinear ops form the multiplier x_scale * w_scale / y_scale in the scales' type and
 * apply it to the int32 accumulator in double. A NaN that would have to become an integer
 * becomes the zero point (the reference leaves it undefined). */
#include <math.h>
#include <string.h>

#include "conv_attrs.h"
#include "qgemm.h"
#include "smallfloat.h"

/* Elements converted per step of the element-wise loops (on the stack, per thread). */
#define QCHUNK 256

static const onyx_dtype q8_types[] = {ONYX_DTYPE_INT8, ONYX_DTYPE_UINT8, ONYX_DTYPE_UNDEFINED};
static const onyx_dtype scale_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16,
                                         ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};

/* ---- element access -------------------------------------------------------------------- */

/* dst[k] = element start + k*step of p (dtype t) as double, for k < n; step 0 repeats one
 * element. Covers every type these ops read: integers up to 32 bits, float32/16, bfloat16
 * and the 8- and 4-bit floats. */
static void load_run(onyx_dtype t, const void *p, int64_t start, int64_t step, int64_t n,
                     double *dst)
{
#define LOAD(T, CONV)                                                                         \
    do {                                                                                      \
        const T *s_ = (const T *)p + start;                                                   \
        for (int64_t k = 0; k < n; k++) dst[k] = (double)CONV(s_[k * step]);                  \
    } while (0)
#define AS_IS(v) (v)
    switch (t) {
    case ONYX_DTYPE_FLOAT: LOAD(float, AS_IS); break;
    case ONYX_DTYPE_FLOAT16: LOAD(uint16_t, ox_f16_to_f32); break;
    case ONYX_DTYPE_BFLOAT16: LOAD(uint16_t, ox_bf16_to_f32); break;
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2: LOAD(int8_t, AS_IS); break;
    case ONYX_DTYPE_UINT8: case ONYX_DTYPE_UINT4: case ONYX_DTYPE_UINT2:
        LOAD(uint8_t, AS_IS);
        break;
    case ONYX_DTYPE_INT16: LOAD(int16_t, AS_IS); break;
    case ONYX_DTYPE_UINT16: LOAD(uint16_t, AS_IS); break;
    case ONYX_DTYPE_INT32: LOAD(int32_t, AS_IS); break;
    case ONYX_DTYPE_FLOAT8E4M3FN: LOAD(uint8_t, ox_f8e4m3fn_to_f32); break;
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: LOAD(uint8_t, ox_f8e4m3fnuz_to_f32); break;
    case ONYX_DTYPE_FLOAT8E5M2: LOAD(uint8_t, ox_f8e5m2_to_f32); break;
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: LOAD(uint8_t, ox_f8e5m2fnuz_to_f32); break;
    case ONYX_DTYPE_FLOAT4E2M1: LOAD(uint8_t, ox_f4e2m1_to_f32); break;
    case ONYX_DTYPE_FLOAT8E8M0: LOAD(uint8_t, ox_f8e8m0_to_f32); break;
    default:
        for (int64_t k = 0; k < n; k++) dst[k] = 0.0;
        break;
    }
#undef AS_IS
#undef LOAD
}

static double load1(const onyx_tensor *t, int64_t i)
{
    double v;
    load_run(t->dtype, t->data, i, 0, 1, &v);
    return v;
}

/* v rounded to float, nearest even, overflowing to ±inf (a plain cast of a double beyond
 * float's range is undefined behaviour in C). */
static float f64_to_f32(double v)
{
    if (fabs(v) >= 0x1.ffffffp127) return v > 0 ? INFINITY : -INFINITY;
    return (float)v;
}

/* f rounded to the precision of float, float16 or bfloat16 (kept in a float). */
static float round_to(onyx_dtype prec, float f)
{
    switch (prec) {
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(ox_f32_to_f16(f));
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(ox_f32_to_bf16(f));
    default: return f;
    }
}

/* Smallest and largest value of an integer quantized type; false for the float types. */
static bool int_range(onyx_dtype t, int32_t *lo, int32_t *hi)
{
    switch (t) {
    case ONYX_DTYPE_UINT8: *lo = 0; *hi = 255; return true;
    case ONYX_DTYPE_INT8: *lo = -128; *hi = 127; return true;
    case ONYX_DTYPE_UINT16: *lo = 0; *hi = 65535; return true;
    case ONYX_DTYPE_INT16: *lo = -32768; *hi = 32767; return true;
    case ONYX_DTYPE_UINT4: *lo = 0; *hi = 15; return true;
    case ONYX_DTYPE_INT4: *lo = -8; *hi = 7; return true;
    case ONYX_DTYPE_UINT2: *lo = 0; *hi = 3; return true;
    case ONYX_DTYPE_INT2: *lo = -2; *hi = 1; return true;
    default: return false;
    }
}

static bool is_small_float(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT8E4M3FN: case ONYX_DTYPE_FLOAT8E4M3FNUZ: case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: case ONYX_DTYPE_FLOAT4E2M1:
        return true;
    default:
        return false;
    }
}

/* Encodes v into an 8- or 4-bit float type. */
static uint8_t encode_small(onyx_dtype t, double v, bool saturate)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT8E4M3FN: return ox_f64_to_f8e4m3fn(v, saturate);
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: return ox_f64_to_f8e4m3fnuz(v, saturate);
    case ONYX_DTYPE_FLOAT8E5M2: return ox_f64_to_f8e5m2(v, saturate);
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return ox_f64_to_f8e5m2fnuz(v, saturate);
    default: return ox_f64_to_f4e2m1(v);
    }
}

/* round_half_even(v) + zp saturated to [lo, hi]; a NaN v gives zp (saturated). */
static int32_t quantize_int(double v, double zp, int32_t lo, int32_t hi)
{
    double r = isnan(v) ? zp : nearbyint(v) + zp; /* default rounding: nearest, ties even */
    if (!(r >= lo)) return lo; /* (also a NaN zp: never convert NaN to an integer) */
    if (r > hi) return hi;
    return (int32_t)r;
}

static bool same_shape(const onyx_tensor *a, const onyx_tensor *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

static int64_t dims_product(const int64_t *dims, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= dims[i];
    return n;
}

/* p advanced by off bytes; p itself when off is 0 (p may then be NULL: an empty tensor). */
static const void *at_offset(const void *p, int64_t off)
{
    return off ? (const char *)p + off : p;
}

/* ---- QuantizeLinear / DequantizeLinear: granularity ------------------------------------ */

/* x viewed as [outer, axis_len, inner]; element (o, a, i) uses scale and zero point number
 * o*s_outer + (a/block)*s_axis + i*s_inner. Per tensor all strides are 0; per axis only
 * s_axis is 1; blocked, the parameters have x's shape with the axis divided by block. */
typedef struct qlayout {
    int64_t outer, axis_len, inner, block;
    int64_t s_outer, s_axis, s_inner;
} qlayout;

static onyx_status check_zero_point_shape(ox_ctx *c, const onyx_tensor *s, const onyx_tensor *zp)
{
    const int64_t ns = ox_tensor_numel(s);
    /* A one-element scale and zero point are per tensor whatever their ranks ([] and [1]). */
    if (!zp || (ox_tensor_numel(zp) == ns && (ns == 1 || same_shape(s, zp)))) return ONYX_OK;
    char a[96], b[96];
    return ox_fail(c, ONYX_E_SHAPE, "zero point shape %s differs from scale shape %s",
                   ox_shape_str(a, sizeof a, zp->rank, zp->dims),
                   ox_shape_str(b, sizeof b, s->rank, s->dims));
}

/* The blocked layout: s has x's shape except along axis, where it has ceil(D / block). */
static onyx_status blocked_layout(ox_ctx *c, const onyx_tensor *x, const onyx_tensor *s, int axis,
                                  int64_t block, qlayout *L)
{
    char a[96], b[96];
    bool ok = s->rank == x->rank;
    for (int d = 0; ok && d < x->rank; d++)
        ok = d == axis ? s->dims[d] == (x->dims[d] + block - 1) / block : s->dims[d] == x->dims[d];
    if (!ok)
        return ox_fail(c, ONYX_E_SHAPE,
                       "blocked quantization of %s along axis %d with block_size %lld needs a "
                       "scale of that shape with the axis divided by the block, got %s",
                       ox_shape_str(a, sizeof a, x->rank, x->dims), axis, (long long)block,
                       ox_shape_str(b, sizeof b, s->rank, s->dims));
    L->block = block;
    L->s_inner = 1;
    L->s_axis = L->inner;
    L->s_outer = s->dims[axis] * L->inner;
    return ONYX_OK;
}

/* Reads axis and block_size and checks the scale (input 1) and zero point (input 2) against
 * x (input 0). */
static onyx_status qlayout_of(ox_ctx *c, qlayout *L)
{
    const onyx_tensor *x = c->in[0], *s = c->in[1], *zp = ox_opt_in(c, 2);
    onyx_status st = check_zero_point_shape(c, s, zp);
    if (st || (st = ox_attr_expect(c, "axis", OX_ATTR_INT)) ||
        (st = ox_attr_expect(c, "block_size", OX_ATTR_INT)))
        return st;
    const int64_t block = c->opset >= 21 ? ox_attr_int(c, "block_size", 0) : 0;
    if (block < 0)
        return ox_fail(c, ONYX_E_ARG, "block_size %lld is negative", (long long)block);
    memset(L, 0, sizeof *L);
    L->block = 1;
    if (ox_tensor_numel(s) == 1) { /* per tensor */
        L->outer = L->axis_len = 1;
        L->inner = ox_tensor_numel(x);
        return ONYX_OK;
    }
    if (c->opset < 13)
        return ox_fail(c, ONYX_E_SHAPE, "the scale must be a scalar before opset 13");
    int axis;
    if ((st = ox_norm_axis(c, ox_attr_int(c, "axis", 1), x->rank, "axis", &axis))) return st;
    L->outer = dims_product(x->dims, 0, axis);
    L->axis_len = x->dims[axis];
    L->inner = dims_product(x->dims, axis + 1, x->rank);
    if (block > 0) return blocked_layout(c, x, s, axis, block, L);
    if (s->rank != 1 || s->dims[0] != x->dims[axis]) {
        char a[96], b[96];
        return ox_fail(c, ONYX_E_SHAPE,
                       "per-axis quantization of %s along axis %d needs a scale of shape "
                       "[%lld], got %s",
                       ox_shape_str(a, sizeof a, x->rank, x->dims), axis,
                       (long long)x->dims[axis], ox_shape_str(b, sizeof b, s->rank, s->dims));
    }
    L->s_axis = 1;
    return ONYX_OK;
}

/* ---- QuantizeLinear / DequantizeLinear: the element-wise loop -------------------------- */

typedef struct qargs {
    qlayout L;
    bool quantize;    /* QuantizeLinear, else DequantizeLinear */
    onyx_dtype out;   /* y's dtype */
    onyx_dtype prec;  /* QuantizeLinear: precision of x / scale */
    bool saturate;    /* QuantizeLinear to float8: clamp out-of-range values */
} qargs;

/* y[at + k] = saturate(round(x[k] / s[k]) + zp[k]) for k < n. */
static void quantize_chunk(const qargs *q, const double *x, const double *s, const double *zp,
                           int64_t n, void *y, int64_t at)
{
    int32_t lo, hi;
    const bool integer = int_range(q->out, &lo, &hi);
    for (int64_t k = 0; k < n; k++) {
        /* Loaded values come from float/16-bit float/int32 types: within float's range. */
        const float xs = round_to(q->prec, (float)x[k]), ss = round_to(q->prec, (float)s[k]);
        const double v = round_to(q->prec, xs / ss);
        if (!integer) {
            /* The zero point of float types is normally 0; adding +0 would turn -0 into +0. */
            ((uint8_t *)y)[at + k] = encode_small(q->out, zp[k] != 0 ? v + zp[k] : v, q->saturate);
            continue;
        }
        const int32_t r = quantize_int(v, zp[k], lo, hi);
        switch (q->out) {
        case ONYX_DTYPE_INT16: ((int16_t *)y)[at + k] = (int16_t)r; break;
        case ONYX_DTYPE_UINT16: ((uint16_t *)y)[at + k] = (uint16_t)r; break;
        case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT4: case ONYX_DTYPE_INT2:
            ((int8_t *)y)[at + k] = (int8_t)r;
            break;
        default: ((uint8_t *)y)[at + k] = (uint8_t)r; break;
        }
    }
}

/* y[at + k] = (x[k] - zp[k]) * s[k] for k < n, in float32 (then rounded to y's type), as the
 * reference does: the difference is exact but for int32 beyond 2^24, and the product of two
 * floats is exact in double, so it rounds once. */
static void dequantize_chunk(const qargs *q, const double *x, const double *s, const double *zp,
                             int64_t n, void *y, int64_t at)
{
    for (int64_t k = 0; k < n; k++) {
        const float v = f64_to_f32((double)(float)(x[k] - zp[k]) * s[k]);
        switch (q->out) {
        case ONYX_DTYPE_FLOAT16: ((uint16_t *)y)[at + k] = ox_f32_to_f16(v); break;
        case ONYX_DTYPE_BFLOAT16: ((uint16_t *)y)[at + k] = ox_f32_to_bf16(v); break;
        default: ((float *)y)[at + k] = v; break;
        }
    }
}

/* Runs the (de)quantization over x in chunks of one row's inner elements; chunks are
 * independent, so threads split them. */
static void qlinear_map(ox_ctx *c, const qargs *q)
{
    const onyx_tensor *x = c->in[0], *s = c->in[1], *zp = ox_opt_in(c, 2);
    void *y = c->out[0]->data;
    const qlayout *L = &q->L;
    const int64_t per_row = (L->inner + QCHUNK - 1) / QCHUNK;
    const int64_t tasks = L->outer * L->axis_len * per_row;
    const int threads = c->threads;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && tasks > 1)
#endif
    for (int64_t t = 0; t < tasks; t++) {
        double xv[QCHUNK], sv[QCHUNK], zv[QCHUNK];
        const int64_t row = t / per_row, i0 = t % per_row * QCHUNK;
        const int64_t n = L->inner - i0 < QCHUNK ? L->inner - i0 : QCHUNK;
        const int64_t o = row / L->axis_len, a = row % L->axis_len;
        const int64_t p = o * L->s_outer + a / L->block * L->s_axis + i0 * L->s_inner;
        const int64_t at = row * L->inner + i0;
        load_run(x->dtype, x->data, at, 1, n, xv);
        load_run(s->dtype, s->data, p, L->s_inner, n, sv);
        if (zp)
            load_run(zp->dtype, zp->data, p, L->s_inner, n, zv);
        else
            for (int64_t k = 0; k < n; k++) zv[k] = 0.0;
        if (q->quantize)
            quantize_chunk(q, xv, sv, zv, n, y, at);
        else
            dequantize_chunk(q, xv, sv, zv, n, y, at);
    }
}

/* Reads a dtype-valued int attribute (0 when absent) available from opset `since`. */
static onyx_status dtype_attr(ox_ctx *c, const char *name, int since, onyx_dtype *out)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_INT);
    if (st) return st;
    const int64_t v = c->opset >= since ? ox_attr_int(c, name, 0) : 0;
    if (v < 0 || v >= ONYX_DTYPE_COUNT_)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "attribute '%s' is the unknown dtype %lld", name,
                       (long long)v);
    *out = (onyx_dtype)v;
    return ONYX_OK;
}

/* ---- QuantizeLinear -------------------------------------------------------------------- */

static const onyx_dtype quantize_x_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16,
                                              ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_INT32,
                                              ONYX_DTYPE_UNDEFINED};
static const onyx_dtype quantize_scale_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16,
                                                  ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_INT32,
                                                  ONYX_DTYPE_FLOAT8E8M0, ONYX_DTYPE_UNDEFINED};

/* The output type: y_zero_point's, else output_dtype (opset 21+), else uint8. */
static onyx_status quantize_out_type(ox_ctx *c, onyx_dtype *out)
{
    const onyx_tensor *zp = ox_opt_in(c, 2);
    onyx_dtype attr;
    onyx_status st = dtype_attr(c, "output_dtype", 21, &attr);
    if (st) return st;
    if (zp && attr && attr != zp->dtype)
        return ox_fail(c, ONYX_E_ARG, "output_dtype %s differs from the zero point's %s",
                       onyx_dtype_name(attr), onyx_dtype_name(zp->dtype));
    *out = zp ? zp->dtype : attr ? attr : ONYX_DTYPE_UINT8;
    int32_t lo, hi;
    if (!int_range(*out, &lo, &hi) && !is_small_float(*out))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "cannot quantize to %s", onyx_dtype_name(*out));
    return ONYX_OK;
}

/* The division's precision: the `precision` attribute (opset 23+), else the scale's type;
 * float32 for int32 and float8e8m0 scales, whose own type cannot hold a quotient. */
static onyx_status quantize_precision(ox_ctx *c, onyx_dtype *prec)
{
    onyx_dtype attr;
    onyx_status st = dtype_attr(c, "precision", 23, &attr);
    if (st) return st;
    const onyx_dtype t = attr ? attr : c->in[1]->dtype;
    if (t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16) {
        *prec = t;
    } else if (!attr || t == ONYX_DTYPE_FLOAT) {
        *prec = ONYX_DTYPE_FLOAT;
    } else {
        return ox_fail(c, ONYX_E_UNSUPPORTED, "precision %s is not supported",
                       onyx_dtype_name(t));
    }
    return ONYX_OK;
}

static onyx_status quantize_setup(ox_ctx *c, qargs *q)
{
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = ox_expect_dtype(c, 0, quantize_x_types)) ||
        (st = ox_expect_dtype(c, 1, quantize_scale_types)) ||
        (st = quantize_out_type(c, &q->out)) || (st = quantize_precision(c, &q->prec)) ||
        (st = ox_attr_expect(c, "saturate", OX_ATTR_INT)))
        return st;
    q->quantize = true;
    q->saturate = c->opset < 19 || ox_attr_int(c, "saturate", 1) != 0;
    return qlayout_of(c, &q->L);
}

static onyx_status quantize_infer(ox_ctx *c)
{
    qargs q;
    onyx_status st = quantize_setup(c, &q);
    if (st) return st;
    ox_set_shape(c->out[0], q.out, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

static onyx_status qlinear_run(ox_ctx *c, onyx_status (*setup)(ox_ctx *, qargs *))
{
    qargs q;
    onyx_status st = setup(c, &q);
    if (st) return st;
    qlinear_map(c, &q);
    return ONYX_OK;
}

static onyx_status quantize_run(ox_ctx *c) { return qlinear_run(c, quantize_setup); }

/* ---- DequantizeLinear ------------------------------------------------------------------ */

static const onyx_dtype dequantize_x_types[] = {
    ONYX_DTYPE_INT8,          ONYX_DTYPE_UINT8,          ONYX_DTYPE_INT16,
    ONYX_DTYPE_UINT16,        ONYX_DTYPE_INT32,          ONYX_DTYPE_INT4,
    ONYX_DTYPE_UINT4,         ONYX_DTYPE_INT2,           ONYX_DTYPE_UINT2,
    ONYX_DTYPE_FLOAT8E4M3FN,  ONYX_DTYPE_FLOAT8E4M3FNUZ, ONYX_DTYPE_FLOAT8E5M2,
    ONYX_DTYPE_FLOAT8E5M2FNUZ, ONYX_DTYPE_FLOAT4E2M1,    ONYX_DTYPE_UNDEFINED};
static const onyx_dtype dequantize_scale_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16,
                                                    ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_FLOAT8E8M0,
                                                    ONYX_DTYPE_UNDEFINED};

static onyx_status dequantize_setup(ox_ctx *c, qargs *q)
{
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = ox_expect_dtype(c, 0, dequantize_x_types)) ||
        (st = ox_expect_dtype(c, 1, dequantize_scale_types)))
        return st;
    const onyx_tensor *x = c->in[0], *zp = ox_opt_in(c, 2);
    if (zp && zp->dtype != x->dtype)
        return ox_fail(c, ONYX_E_ARG, "zero point has dtype %s, x has %s",
                       onyx_dtype_name(zp->dtype), onyx_dtype_name(x->dtype));
    onyx_dtype attr;
    if ((st = dtype_attr(c, "output_dtype", 23, &attr))) return st;
    /* Before opset 19 the scale (hence y) is float32; since, y has the scale's type unless
     * output_dtype (opset 23+) says otherwise. */
    memset(q, 0, sizeof *q);
    q->out = attr ? attr : c->in[1]->dtype;
    if (q->out != ONYX_DTYPE_FLOAT && q->out != ONYX_DTYPE_FLOAT16 &&
        q->out != ONYX_DTYPE_BFLOAT16)
        return ox_fail(c, ONYX_E_ARG, "cannot dequantize to %s%s", onyx_dtype_name(q->out),
                       attr ? "" : " (the scale's type; set output_dtype)");
    return qlayout_of(c, &q->L);
}

static onyx_status dequantize_infer(ox_ctx *c)
{
    qargs q;
    onyx_status st = dequantize_setup(c, &q);
    if (st) return st;
    ox_set_shape(c->out[0], q.out, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

static onyx_status dequantize_run(ox_ctx *c) { return qlinear_run(c, dequantize_setup); }

/* ---- DynamicQuantizeLinear ------------------------------------------------------------- */

static onyx_status dynq_infer(ox_ctx *c)
{
    static const onyx_dtype f32[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_UNDEFINED};
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = ox_expect_dtype(c, 0, f32))) return st;
    ox_set_shape(c->out[0], ONYX_DTYPE_UINT8, c->in[0]->rank, c->in[0]->dims);
    if (c->n_out > 1 && c->out[1]) ox_set_shape(c->out[1], ONYX_DTYPE_FLOAT, 0, NULL);
    if (c->n_out > 2 && c->out[2]) ox_set_shape(c->out[2], ONYX_DTYPE_UINT8, 0, NULL);
    return ONYX_OK;
}

/* uint8 quantization of float x with the range [min(0, min x), max(0, max x)] mapped onto
 * [0, 255], in float32 arithmetic as the spec's formulas. NaNs do not count towards the
 * range (and quantize to the zero point). */
static onyx_status dynq_run(ox_ctx *c)
{
    const float *x = c->in[0]->data;
    const int64_t n = ox_tensor_numel(c->in[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    const float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    float zpf = 0.0f - lo / scale;
    zpf = !(zpf >= 0.0f) ? 0.0f : zpf > 255.0f ? 255.0f : zpf; /* NaN (x holds ±inf): 0 */
    const float zp = nearbyintf(zpf);
    uint8_t *y = c->out[0]->data;
    for (int64_t i = 0; i < n; i++) y[i] = (uint8_t)quantize_int(x[i] / scale, zp, 0, 255);
    if (c->n_out > 1 && c->out[1]) *(float *)c->out[1]->data = scale;
    if (c->n_out > 2 && c->out[2]) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
    return ONYX_OK;
}

/* ---- MatMulInteger / QLinearMatMul ------------------------------------------------------ */

/* A quantization parameter of a matrix operand, per row of A or per column of B: one value,
 * a vector shared by every matrix of the stack, or one vector per matrix (shape [..., M, 1]
 * for A, [..., 1, N] for B). */
typedef struct qmm_param {
    const onyx_tensor *t; /* NULL: absent */
    bool vector;
    onyx_tensor batch;    /* the batch dims the vectors vary over (rank 0: shared) */
} qmm_param;

/* Input i as the parameter of operand x (rows: of A, len M; else of B, len N). */
static onyx_status qmm_param_of(ox_ctx *c, int i, const onyx_tensor *x, bool rows, int64_t len,
                                qmm_param *p)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    memset(p, 0, sizeof *p);
    p->t = t;
    if (!t || ox_tensor_numel(t) == 1) return ONYX_OK;
    p->vector = true;
    if (t->rank == 1 && t->dims[0] == len) return ONYX_OK;
    const int r = x->rank;
    bool ok = r >= 2 && t->rank == r && t->dims[r - 2] == (rows ? len : 1) &&
              t->dims[r - 1] == (rows ? 1 : len);
    for (int d = 0; ok && d < r - 2; d++) ok = t->dims[d] == 1 || t->dims[d] == x->dims[d];
    if (!ok) {
        char a[96];
        return ox_fail(c, ONYX_E_SHAPE,
                       "input %d has shape %s: expected one value, [%lld], or [..., %s] per %s",
                       i, ox_shape_str(a, sizeof a, t->rank, t->dims), (long long)len,
                       rows ? "M, 1" : "1, N", rows ? "row" : "column");
    }
    p->batch.rank = r - 2;
    ox_copy_bytes(p->batch.dims, t->dims, sizeof(int64_t) * (size_t)(r - 2));
    return ONYX_OK;
}

/* Everything MatMulInteger and QLinearMatMul compute from. */
typedef struct qmm_args {
    ox_matmul_shape m;
    const onyx_tensor *a, *b;
    qmm_param za, zb;            /* zero points */
    qmm_param sa, sb;            /* QLinearMatMul: scales */
    const onyx_tensor *ys, *yz;  /* QLinearMatMul: output scale and zero point, else NULL */
} qmm_args;

/* Scratch: A and B widened to int16 and, when requantizing, the int32 products and one row
 * of multipliers. */
static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static size_t qmm_scratch(const qmm_args *q)
{
    const ox_matmul_shape *m = &q->m;
    size_t n = align64((size_t)(m->M * m->K) * sizeof(int16_t)) +
               align64((size_t)(m->K * m->N) * sizeof(int16_t));
    if (q->ys) n += align64((size_t)(m->M * m->N) * sizeof(int32_t)) + (size_t)m->N * sizeof(float);
    return n;
}

static onyx_status check_type_of(ox_ctx *c, int i, onyx_dtype want, const char *of)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    if (!t || t->dtype == want) return ONYX_OK;
    return ox_fail(c, ONYX_E_ARG, "input %d has dtype %s, expected %s (the type of %s)", i,
                   onyx_dtype_name(t->dtype), onyx_dtype_name(want), of);
}

/* Input i must hold exactly one value (a per-tensor parameter). */
static onyx_status check_one(ox_ctx *c, int i)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    if (!t || ox_tensor_numel(t) == 1) return ONYX_OK;
    char a[96];
    return ox_fail(c, ONYX_E_SHAPE, "input %d must hold one value, got shape %s", i,
                   ox_shape_str(a, sizeof a, t->rank, t->dims));
}

/* Checks inputs a (ia), its zero point (iza), b (ib) and its zero point (izb). */
static onyx_status qmm_operands(ox_ctx *c, int ia, int iza, int ib, int izb, qmm_args *q)
{
    onyx_status st;
    if ((st = ox_expect_dtype(c, ia, q8_types)) || (st = ox_expect_dtype(c, ib, q8_types)))
        return st;
    q->a = c->in[ia];
    q->b = c->in[ib];
    if ((st = check_type_of(c, iza, q->a->dtype, "A")) ||
        (st = check_type_of(c, izb, q->b->dtype, "B")) ||
        (st = ox_matmul_shape_of(c, q->a, q->b, &q->m)))
        return st;
    if ((st = qmm_param_of(c, iza, q->a, true, q->m.M, &q->za))) return st;
    return qmm_param_of(c, izb, q->b, false, q->m.N, &q->zb);
}

static onyx_status matmulint_setup(ox_ctx *c, qmm_args *q)
{
    memset(q, 0, sizeof *q);
    onyx_status st = ox_need_io(c, 2);
    return st ? st : qmm_operands(c, 0, 2, 1, 3, q);
}

/* QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
 * Each scale has its zero point's shape; y's are single values. */
static onyx_status qlinmm_setup(ox_ctx *c, qmm_args *q)
{
    memset(q, 0, sizeof *q);
    onyx_status st = ox_need_io(c, 8);
    if (st || (st = qmm_operands(c, 0, 2, 3, 5, q))) return st;
    if (!is_small_float(c->in[7]->dtype) && (st = ox_expect_dtype(c, 7, q8_types))) return st;
    if (is_small_float(c->in[7]->dtype) || is_small_float(c->in[2]->dtype))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "float8 QLinearMatMul is not supported");
    if ((st = ox_expect_dtype(c, 1, scale_types))) return st;
    for (int i = 4; i <= 6; i += 2)
        if ((st = check_type_of(c, i, c->in[1]->dtype, "a_scale"))) return st;
    if ((st = check_zero_point_shape(c, c->in[1], c->in[2])) ||
        (st = check_zero_point_shape(c, c->in[4], c->in[5])) || (st = check_one(c, 6)) ||
        (st = check_one(c, 7)) || (st = qmm_param_of(c, 1, q->a, true, q->m.M, &q->sa)) ||
        (st = qmm_param_of(c, 4, q->b, false, q->m.N, &q->sb)))
        return st;
    q->ys = c->in[6];
    q->yz = c->in[7];
    return ONYX_OK;
}

static onyx_status qmm_infer(ox_ctx *c, onyx_status (*setup)(ox_ctx *, qmm_args *))
{
    qmm_args q;
    onyx_status st = setup(c, &q);
    if (st) return st;
    ox_set_shape(c->out[0], q.yz ? q.yz->dtype : ONYX_DTYPE_INT32, q.m.rank, q.m.dims);
    c->scratch_bytes = qmm_scratch(&q);
    return ONYX_OK;
}

static onyx_status matmulint_infer(ox_ctx *c) { return qmm_infer(c, matmulint_setup); }
static onyx_status qlinmm_infer(ox_ctx *c) { return qmm_infer(c, qlinmm_setup); }

/* Offset of the matrix (or parameter vector) that output matrix t reads, given the
 * operand's broadcast strides over the output batch dims. */
static int64_t batch_offset(const ox_matmul_shape *m, const int64_t *strides, int64_t t)
{
    int64_t off = 0;
    for (int i = m->nb - 1; i >= 0; i--) {
        off += t % m->batch[i] * strides[i];
        t /= m->batch[i];
    }
    return off;
}

/* The parameter's value for row/column j of output matrix t. */
static double qmm_param_at(const ox_matmul_shape *m, const qmm_param *p,
                           const int64_t *strides, int64_t len, int64_t t, int64_t j)
{
    return p->vector ? load1(p->t, batch_offset(m, strides, t) * len + j) : load1(p->t, 0);
}

/* Zero point of output matrix t's operand as ox_q8 wants it (rows: of A). */
static void qmm_zero_point(const ox_matmul_shape *m, const qmm_param *p,
                           const int64_t *strides, int64_t len, bool rows, int64_t t, ox_q8 *out)
{
    out->zp = NULL;
    out->zp_rs = out->zp_cs = 0;
    if (!p->t) return;
    out->zp = at_offset(p->t->data, p->vector ? batch_offset(m, strides, t) * len : 0);
    if (p->vector) *(rows ? &out->zp_rs : &out->zp_cs) = 1;
}

/* y rows of output matrix t = requantized acc rows: multiplier a_scale[row] * b_scale[col] /
 * y_scale, formed in the scales' type. */
static void qmm_requant(const qmm_args *q, const int64_t *ssa, const int64_t *ssb, int64_t t,
                        const int32_t *acc, float *mult, void *y)
{
    const ox_matmul_shape *m = &q->m;
    const onyx_dtype prec = q->ys->dtype;
    const float ys = (float)load1(q->ys, 0);
    const int32_t yz = (int32_t)load1(q->yz, 0);
    const bool ysigned = q->yz->dtype == ONYX_DTYPE_INT8;
    for (int64_t i = 0; i < m->M; i++) {
        const float as = (float)qmm_param_at(m, &q->sa, ssa, m->M, t, i);
        for (int64_t j = 0; j < m->N; j++) {
            const float bs = (float)qmm_param_at(m, &q->sb, ssb, m->N, t, j);
            mult[j] = round_to(prec, round_to(prec, as * bs) / ys);
        }
        ox_q8_requant(acc + i * m->N, m->N, mult, 1, yz, ysigned,
                      (int8_t *)y + (t * m->M + i) * m->N);
    }
}

/* Scratch memory at byte offset off; NULL when no scratch was needed (every part empty). */
static void *scratch_at(const ox_ctx *c, size_t off)
{
    return c->scratch ? (char *)c->scratch + off : NULL;
}

static onyx_status qmm_run(ox_ctx *c, onyx_status (*setup)(ox_ctx *, qmm_args *))
{
    qmm_args q;
    onyx_status st = setup(c, &q);
    if (st) return st;
    const ox_matmul_shape *m = &q.m;
    const int64_t M = m->M, N = m->N, K = m->K;
    int64_t count = 1;
    for (int i = 0; i < m->nb; i++) count *= m->batch[i];
    if (count == 0 || M == 0 || N == 0) return ONYX_OK;
    if ((st = ox_check_scratch(c, qmm_scratch(&q)))) return st;
    int64_t sa[ONYX_MAX_RANK], sb[ONYX_MAX_RANK], sza[ONYX_MAX_RANK], szb[ONYX_MAX_RANK];
    int64_t ssa[ONYX_MAX_RANK], ssb[ONYX_MAX_RANK];
    ox_broadcast_strides(&m->abatch, m->nb, m->batch, sa);
    ox_broadcast_strides(&m->bbatch, m->nb, m->batch, sb);
    ox_broadcast_strides(&q.za.batch, m->nb, m->batch, sza);
    ox_broadcast_strides(&q.zb.batch, m->nb, m->batch, szb);
    ox_broadcast_strides(&q.sa.batch, m->nb, m->batch, ssa);
    ox_broadcast_strides(&q.sb.batch, m->nb, m->batch, ssb);
    const size_t bw_at = align64((size_t)(M * K) * sizeof(int16_t));
    const size_t acc_at = bw_at + align64((size_t)(K * N) * sizeof(int16_t));
    const size_t mult_at = acc_at + align64((size_t)(M * N) * sizeof(int32_t));
    int16_t *aw = scratch_at(c, 0), *bw = scratch_at(c, bw_at);
    int32_t *acc = scratch_at(c, acc_at);
    float *mult = scratch_at(c, mult_at);
    for (int64_t t = 0; t < count; t++) {
        ox_q8 A = {at_offset(q.a->data, batch_offset(m, sa, t) * M * K),
                   q.a->dtype == ONYX_DTYPE_INT8, K, NULL, 0, 0};
        ox_q8 B = {at_offset(q.b->data, batch_offset(m, sb, t) * K * N),
                   q.b->dtype == ONYX_DTYPE_INT8, N, NULL, 0, 0};
        qmm_zero_point(m, &q.za, sza, M, true, t, &A);
        qmm_zero_point(m, &q.zb, szb, N, false, t, &B);
        ox_q8_widen(&A, M, K, aw);
        ox_q8_widen(&B, K, N, bw);
        int32_t *y = q.ys ? acc : (int32_t *)c->out[0]->data + t * M * N;
        ox_qgemm_s16(M, N, K, aw, bw, y, N, c->threads);
        if (q.ys) qmm_requant(&q, ssa, ssb, t, acc, mult, c->out[0]->data);
    }
    return ONYX_OK;
}

static onyx_status matmulint_run(ox_ctx *c) { return qmm_run(c, matmulint_setup); }
static onyx_status qlinmm_run(ox_ctx *c) { return qmm_run(c, qlinmm_setup); }

/* ---- ConvInteger / QLinearConv ---------------------------------------------------------- */

/* Input i must be a scalar or hold one value per output channel; sets *step for indexing. */
static onyx_status per_channel(ox_ctx *c, int i, int64_t m, int64_t *step)
{
    const onyx_tensor *t = ox_opt_in(c, i);
    *step = 0;
    if (!t || ox_tensor_numel(t) == 1) return ONYX_OK;
    if (t->rank == 1 && t->dims[0] == m) {
        *step = 1;
        return ONYX_OK;
    }
    char a[96];
    return ox_fail(c, ONYX_E_SHAPE, "input %d has shape %s: expected one value or [%lld]", i,
                   ox_shape_str(a, sizeof a, t->rank, t->dims), (long long)m);
}

/* ConvInteger: x, w, x_zero_point, w_zero_point. QLinearConv: x, x_scale, x_zero_point, w,
 * w_scale, w_zero_point, y_scale, y_zero_point, B. Fills q but its data pointers. */
static onyx_status qconv_setup(ox_ctx *c, bool qlinear, ox_qconv *q, int64_t *ws_step)
{
    const int iw = qlinear ? 3 : 1, iwz = qlinear ? 5 : 3;
    onyx_status st = ox_need_io(c, qlinear ? 8 : 2);
    if (st || (st = ox_expect_dtype(c, 0, q8_types)) || (st = ox_expect_dtype(c, iw, q8_types)))
        return st;
    const onyx_tensor *x = c->in[0], *w = c->in[iw];
    memset(q, 0, sizeof *q);
    if ((st = check_type_of(c, 2, x->dtype, "x")) || (st = check_type_of(c, iwz, w->dtype, "w")) ||
        (st = check_one(c, 2)) || (st = ox_check_spatial_rank(c, x, "x")) ||
        (st = ox_conv_shape_of(c, x, w, "x", "w", &q->shape)) ||
        (st = per_channel(c, iwz, q->shape.out_channels, &q->w_zp_step)))
        return st;
    q->x_signed = x->dtype == ONYX_DTYPE_INT8;
    q->w_signed = w->dtype == ONYX_DTYPE_INT8;
    if (!qlinear) return ONYX_OK;
    const onyx_tensor *b = ox_opt_in(c, 8);
    if ((st = ox_expect_dtype(c, 7, q8_types)) || (st = ox_expect_dtype(c, 1, scale_types)) ||
        (st = check_type_of(c, 4, c->in[1]->dtype, "x_scale")) ||
        (st = check_type_of(c, 6, c->in[1]->dtype, "x_scale")) || (st = check_one(c, 1)) ||
        (st = check_one(c, 6)) || (st = check_one(c, 7)) ||
        (st = per_channel(c, 4, q->shape.out_channels, ws_step)))
        return st;
    if (b && (b->dtype != ONYX_DTYPE_INT32 || b->rank != 1 || b->dims[0] != q->shape.out_channels))
        return ox_fail(c, ONYX_E_SHAPE, "B must be int32 of shape [%lld]",
                       (long long)q->shape.out_channels);
    q->y_signed = c->in[7]->dtype == ONYX_DTYPE_INT8;
    return ONYX_OK;
}

/* Scratch: QLinearConv's multipliers (one per output channel), then the kernel's. */
static size_t qconv_scratch(const ox_qconv *q, bool qlinear)
{
    const size_t mult = qlinear ? align64((size_t)q->shape.out_channels * sizeof(float)) : 0;
    return mult + ox_qconv_scratch(&q->shape, qlinear);
}

static onyx_status qconv_infer(ox_ctx *c, bool qlinear)
{
    ox_qconv q;
    int64_t ws_step = 0;
    onyx_status st = qconv_setup(c, qlinear, &q, &ws_step);
    if (st) return st;
    ox_set_window_output(c->out[0], qlinear ? c->in[7]->dtype : ONYX_DTYPE_INT32,
                         q.shape.batch, q.shape.out_channels, &q.shape.win);
    c->scratch_bytes = qconv_scratch(&q, qlinear);
    return ONYX_OK;
}

static onyx_status qconv_run(ox_ctx *c, bool qlinear)
{
    ox_qconv q;
    int64_t ws_step = 0;
    onyx_status st = qconv_setup(c, qlinear, &q, &ws_step);
    if (st || (st = ox_check_scratch(c, qconv_scratch(&q, qlinear)))) return st;
    const onyx_tensor *xz = ox_opt_in(c, 2), *wz = ox_opt_in(c, qlinear ? 5 : 3);
    q.x = c->in[0]->data;
    q.x_zp = xz ? (int32_t)load1(xz, 0) : 0;
    q.w = c->in[qlinear ? 3 : 1]->data;
    q.w_zp = wz ? wz->data : NULL;
    q.y = c->out[0]->data;
    void *kernel_scratch = c->scratch;
    if (qlinear) {
        /* multiplier[m] = x_scale * w_scale[m] / y_scale in the scales' type */
        const onyx_dtype prec = c->in[1]->dtype;
        const float xs = (float)load1(c->in[1], 0), ys = (float)load1(c->in[6], 0);
        float *mult = c->scratch;
        for (int64_t m = 0; m < q.shape.out_channels; m++)
            mult[m] = round_to(prec, round_to(prec, xs * (float)load1(c->in[4], m * ws_step)) / ys);
        const onyx_tensor *b = ox_opt_in(c, 8);
        q.bias = b ? b->data : NULL;
        q.mult = mult;
        q.mult_step = 1;
        q.y_zp = (int32_t)load1(c->in[7], 0);
        kernel_scratch = (char *)c->scratch +
                         align64((size_t)q.shape.out_channels * sizeof(float));
    }
    ox_qconv_run(&q, kernel_scratch, c->threads);
    return ONYX_OK;
}

static onyx_status convint_infer(ox_ctx *c) { return qconv_infer(c, false); }
static onyx_status convint_run(ox_ctx *c) { return qconv_run(c, false); }
static onyx_status qlinconv_infer(ox_ctx *c) { return qconv_infer(c, true); }
static onyx_status qlinconv_run(ox_ctx *c) { return qconv_run(c, true); }

/* ---- registry ---------------------------------------------------------------------------- */

const ox_op ox_ops_quant[] = {
    {"QuantizeLinear", "", 10, 28, quantize_infer, quantize_run, 0},
    {"DequantizeLinear", "", 10, 28, dequantize_infer, dequantize_run, 0},
    {"DynamicQuantizeLinear", "", 11, 28, dynq_infer, dynq_run, 0},
    {"MatMulInteger", "", 10, 28, matmulint_infer, matmulint_run, 0},
    {"ConvInteger", "", 10, 28, convint_infer, convint_run, 0},
    {"QLinearMatMul", "", 10, 28, qlinmm_infer, qlinmm_run, 0},
    {"QLinearConv", "", 10, 28, qlinconv_infer, qlinconv_run, 0},
};
const size_t ox_ops_quant_count = sizeof ox_ops_quant / sizeof ox_ops_quant[0];
