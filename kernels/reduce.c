/* reduce.c — reductions and the kernels built on them (see reduce.h).
 *
 * The loops walk a tensor in runs of contiguous elements: a run is widened into a small
 * stack buffer in the compute domain (double or uint64), combined there, and narrowed back
 * when stored. Two run shapes cover every layout:
 *   fold:    the innermost dim is reduced, so a run holds consecutive inputs of ONE output;
 *   columns: the innermost dim is kept, so a run holds one input for each of up to RUN
 *            neighbouring outputs, and the reduced positions are visited one after another.
 * Either way each output combines its inputs in an order fixed by the shape alone (index
 * order, except that a folded run is summed in four interleaved partial sums), so results
 * do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "reduce.h"

/* Elements per widened run (the buffers live on the stack). */
#define RUN 256
/* Below this many input elements a kernel runs on one thread: forking costs more. */
#define PAR_MIN_ELEMS 32768

/* Signed values compare as unsigned once their sign bit is flipped. */
#define SIGN_BIT ((uint64_t)1 << 63)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* exp at the precision the result is stored in: float types need only expf. */
static double exp_as(bool dbl, double v) { return dbl ? exp(v) : (double)expf((float)v); }

/* ---- domains ----------------------------------------------------------------------------- */

bool ox_red_is_floating(onyx_dtype t)
{
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BFLOAT16;
}

bool ox_red_is_integral(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_INT8: case ONYX_DTYPE_UINT8: case ONYX_DTYPE_INT16: case ONYX_DTYPE_UINT16:
    case ONYX_DTYPE_INT32: case ONYX_DTYPE_UINT32: case ONYX_DTYPE_INT64: case ONYX_DTYPE_UINT64:
    case ONYX_DTYPE_BOOL:
        return true;
    default:
        return false;
    }
}

static bool is_signed_int(onyx_dtype t)
{
    return t == ONYX_DTYPE_INT8 || t == ONYX_DTYPE_INT16 || t == ONYX_DTYPE_INT32 ||
           t == ONYX_DTYPE_INT64;
}

static int int_bits(onyx_dtype t) { return (int)onyx_dtype_size(t) * 8; }

static uint64_t low_mask(int bits) { return bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1; }

/* The low `bits` bits of v read as a signed number, sign-extended to 64 bits. */
static uint64_t sign_extend(uint64_t v, int bits)
{
    uint64_t mask = low_mask(bits), sign = (uint64_t)1 << (bits - 1);
    v &= mask;
    return (v & sign) ? v | ~mask : v;
}

void ox_widen_f64(onyx_dtype t, const void *src, int64_t n, double *dst)
{
    if (t == ONYX_DTYPE_FLOAT) {
        const float *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i];
    } else if (t == ONYX_DTYPE_DOUBLE) {
        const double *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i];
    } else if (t == ONYX_DTYPE_FLOAT16) {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = ox_f16_to_f32(s[i]);
    } else {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = ox_bf16_to_f32(s[i]);
    }
}

void ox_narrow_f64(onyx_dtype t, const double *src, int64_t n, void *dst)
{
    if (t == ONYX_DTYPE_FLOAT) {
        float *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = (float)src[i];
    } else if (t == ONYX_DTYPE_DOUBLE) {
        double *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = src[i];
    } else if (t == ONYX_DTYPE_FLOAT16) {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = ox_f32_to_f16((float)src[i]);
    } else {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = ox_f32_to_bf16((float)src[i]);
    }
}

#define WIDEN_INT(T)                                                         \
    do {                                                                     \
        const T *s = src;                                                    \
        for (int64_t i = 0; i < n; i++) dst[i] = (uint64_t)(int64_t)s[i];    \
    } while (0)

void ox_widen_u64(onyx_dtype t, const void *src, int64_t n, uint64_t *dst)
{
    switch (t) {
    case ONYX_DTYPE_INT8: WIDEN_INT(int8_t); break;
    case ONYX_DTYPE_INT16: WIDEN_INT(int16_t); break;
    case ONYX_DTYPE_INT32: WIDEN_INT(int32_t); break;
    case ONYX_DTYPE_INT64: WIDEN_INT(int64_t); break;
    case ONYX_DTYPE_UINT16: WIDEN_INT(uint16_t); break;
    case ONYX_DTYPE_UINT32: WIDEN_INT(uint32_t); break;
    case ONYX_DTYPE_UINT64: {
        const uint64_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i];
        break;
    }
    default: WIDEN_INT(uint8_t); break; /* UINT8, BOOL */
    }
}

#define NARROW_INT(T)                                                        \
    do {                                                                     \
        T *d = dst;                                                          \
        for (int64_t i = 0; i < n; i++) d[i] = (T)src[i];                    \
    } while (0)

void ox_narrow_u64(onyx_dtype t, const uint64_t *src, int64_t n, void *dst)
{
    /* Signed tensors are written through their unsigned counterpart: the low bits are the
     * two's complement result, and the conversion is defined. */
    switch (onyx_dtype_size(t)) {
    case 8: NARROW_INT(uint64_t); break;
    case 4: NARROW_INT(uint32_t); break;
    case 2: NARROW_INT(uint16_t); break;
    default:
        if (t == ONYX_DTYPE_BOOL) {
            uint8_t *d = dst;
            for (int64_t i = 0; i < n; i++) d[i] = src[i] != 0;
        } else {
            NARROW_INT(uint8_t);
        }
        break;
    }
}

/* ---- runs over an [n, inner] block of w columns ------------------------------------------ */

/* The n x w block (row stride `inner` elements) is read as runs of contiguous elements: when
 * inner == 1 (so w == 1) as chunks of the one column (fold), else one row at a time. */
typedef struct block {
    int64_t n, inner, w;
    bool fold;
    int64_t runs;
} block;

static block block_make(int64_t n, int64_t inner, int64_t w)
{
    block b = {n, inner, w, inner == 1, 0};
    b.runs = b.fold ? (n + RUN - 1) / RUN : n;
    return b;
}

/* Run r: element offset in the block, length, and the row of its first element. */
static void block_run(const block *b, int64_t r, int64_t *pos, int64_t *len)
{
    if (b->fold) {
        *pos = r * RUN;
        *len = min64(RUN, b->n - *pos);
    } else {
        *pos = r * b->inner;
        *len = b->w;
    }
}

/* ---- Reduce* ----------------------------------------------------------------------------- */

typedef enum combine {
    C_ADD,
    C_ADD_ABS,
    C_ADD_SQUARE,
    C_MUL,
    C_MAX,
    C_MIN,
    C_MAX_FINITE, /* LogSumExp, first pass: the max over finite values */
    C_ADD_EXP     /* LogSumExp, second pass: the sum of exp(v - shift) */
} combine;

static combine combine_of(ox_redop op)
{
    switch (op) {
    case OX_RED_PROD: return C_MUL;
    case OX_RED_MAX: return C_MAX;
    case OX_RED_MIN: return C_MIN;
    case OX_RED_L1: return C_ADD_ABS;
    case OX_RED_L2: case OX_RED_SUM_SQUARE: return C_ADD_SQUARE;
    case OX_RED_LOG_SUM_EXP: return C_ADD_EXP;
    default: return C_ADD; /* Sum, Mean, LogSum */
    }
}

bool ox_reduce_supported(ox_redop op, onyx_dtype t)
{
    if (ox_red_is_floating(t)) return true;
    if (t == ONYX_DTYPE_BOOL) return op == OX_RED_MAX || op == OX_RED_MIN;
    return ox_red_is_integral(t) && op != OX_RED_LOG_SUM && op != OX_RED_LOG_SUM_EXP;
}

/* acc = EXPR(a, x) over a run v[0..n): folded into acc[0], or column i into acc[i]. */
#define RUN_LOOP(T, EXPR)                                                    \
    do {                                                                     \
        if (fold) {                                                          \
            T a = acc[0];                                                    \
            for (int64_t i = 0; i < n; i++) {                                \
                T x = v[i];                                                  \
                a = (EXPR);                                                  \
            }                                                                \
            acc[0] = a;                                                      \
        } else {                                                             \
            for (int64_t i = 0; i < n; i++) {                                \
                T a = acc[i], x = v[i];                                      \
                acc[i] = (EXPR);                                             \
            }                                                                \
        }                                                                    \
    } while (0)

/* Folding a run into one sum: four partial sums break the chain of dependent adds (the
 * order is still fixed by the shape alone). */
#define FOLD_SUM(EXPR)                                                       \
    do {                                                                     \
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                               \
        int64_t i = 0;                                                       \
        for (; i + 4 <= n; i += 4) {                                         \
            double x0 = v[i], x1 = v[i + 1], x2 = v[i + 2], x3 = v[i + 3];   \
            s0 += EXPR(x0);                                                  \
            s1 += EXPR(x1);                                                  \
            s2 += EXPR(x2);                                                  \
            s3 += EXPR(x3);                                                  \
        }                                                                    \
        for (; i < n; i++) s0 += EXPR(v[i]);                                 \
        acc[0] += (s0 + s1) + (s2 + s3);                                     \
    } while (0)

#define AS_IS(x) (x)
#define SQUARE(x) ((x) * (x))

/* Folding a run into a max (GT) or min (LT): NaN is tracked apart so the loop has no branch. */
#define FOLD_EXTREME(CMP)                                                    \
    do {                                                                     \
        double m = acc[0];                                                   \
        bool has_nan = m != m;                                                 \
        for (int64_t i = 0; i < n; i++) {                                    \
            m = v[i] CMP m ? v[i] : m;                                       \
            has_nan |= v[i] != v[i];                                           \
        }                                                                    \
        acc[0] = has_nan ? NAN : m;                                            \
    } while (0)

static void combine_f64(combine k, bool fold, const double *v, int64_t n, double *acc,
                        const double *shift)
{
    if (fold) {
        switch (k) {
        case C_ADD: FOLD_SUM(AS_IS); return;
        case C_ADD_ABS: FOLD_SUM(fabs); return;
        case C_ADD_SQUARE: FOLD_SUM(SQUARE); return;
        case C_MAX: FOLD_EXTREME(>); return;
        case C_MIN: FOLD_EXTREME(<); return;
        default: break;
        }
    }
    switch (k) {
    case C_ADD: RUN_LOOP(double, a + x); break;
    case C_ADD_ABS: RUN_LOOP(double, a + fabs(x)); break;
    case C_ADD_SQUARE: RUN_LOOP(double, a + x * x); break;
    case C_MUL: RUN_LOOP(double, a * x); break;
    case C_MAX: RUN_LOOP(double, (x > a || x != x) ? x : a); break;
    case C_MIN: RUN_LOOP(double, (x < a || x != x) ? x : a); break;
    case C_MAX_FINITE: RUN_LOOP(double, (isfinite(x) && x > a) ? x : a); break;
    case C_ADD_EXP: RUN_LOOP(double, a + exp(x - shift[fold ? 0 : i])); break;
    }
}

/* flip is SIGN_BIT for signed types (so comparisons and |x| see the sign), else 0. */
static void combine_u64(combine k, bool fold, uint64_t flip, const uint64_t *v, int64_t n,
                        uint64_t *acc)
{
    switch (k) {
    case C_ADD: RUN_LOOP(uint64_t, a + x); break;
    case C_ADD_ABS: RUN_LOOP(uint64_t, a + ((x & flip) ? 0 - x : x)); break;
    case C_ADD_SQUARE: RUN_LOOP(uint64_t, a + x * x); break;
    case C_MUL: RUN_LOOP(uint64_t, a * x); break;
    case C_MAX: RUN_LOOP(uint64_t, (x ^ flip) > (a ^ flip) ? x : a); break;
    case C_MIN: RUN_LOOP(uint64_t, (x ^ flip) < (a ^ flip) ? x : a); break;
    default: break; /* the LogSumExp passes take floating types only */
    }
}

static double init_f64(combine k)
{
    switch (k) {
    case C_MUL: return 1;
    case C_MAX: case C_MAX_FINITE: return -INFINITY;
    case C_MIN: return INFINITY;
    default: return 0;
    }
}

static uint64_t init_u64(combine k, onyx_dtype t)
{
    const int bits = int_bits(t);
    const bool s = is_signed_int(t);
    switch (k) {
    case C_MUL: return 1;
    case C_MAX: /* the lowest value: INT_MIN, 0, false */
        return s ? sign_extend((uint64_t)1 << (bits - 1), bits) : 0;
    case C_MIN: /* the highest value: INT_MAX, UINT_MAX, true */
        if (t == ONYX_DTYPE_BOOL) return 1;
        return s ? ((uint64_t)1 << (bits - 1)) - 1 : low_mask(bits);
    default: return 0;
    }
}

static double finish_f64(ox_redop op, double acc, double shift, int64_t count)
{
    switch (op) {
    case OX_RED_MEAN: return acc / (double)count; /* NaN for an empty set */
    case OX_RED_L2: return sqrt(acc);
    case OX_RED_LOG_SUM: return log(acc);
    case OX_RED_LOG_SUM_EXP: return log(acc) + shift;
    default: return acc;
    }
}

static uint64_t finish_u64(ox_redop op, onyx_dtype t, uint64_t acc, int64_t count)
{
    if (op != OX_RED_MEAN && op != OX_RED_L2) return acc;
    /* The accumulated value wraps at the element width: read it at that width. */
    const int bits = int_bits(t);
    const bool s = is_signed_int(t);
    uint64_t v = s ? sign_extend(acc, bits) : acc & low_mask(bits);
    bool neg = s && (v & SIGN_BIT);
    uint64_t mag = neg ? 0 - v : v;
    if (op == OX_RED_MEAN) {
        if (count == 0) return 0;
        uint64_t q = mag / (uint64_t)count; /* truncates toward zero, as numpy's mean */
        return neg ? 0 - q : q;
    }
    double r = sqrt(neg ? -(double)mag : (double)mag);
    return r >= 0 ? (uint64_t)r : 0; /* r < 2^32; the root of a negative sum is NaN -> 0 */
}

/* The input seen as outer kept dims, reduced dims and one innermost contiguous group. */
typedef struct red_job {
    ox_redop op;
    combine k;
    onyx_dtype t;
    size_t es;
    bool floating;
    uint64_t flip;
    const char *x;
    char *y;
    int nk, nr;
    int64_t kdim[ONYX_MAX_RANK], kstr[ONYX_MAX_RANK]; /* kept groups, outermost first */
    int64_t rdim[ONYX_MAX_RANK], rstr[ONYX_MAX_RANK]; /* reduced groups but a folded run */
    int64_t rcount;                                   /* product of rdim */
    int64_t run;                                      /* size of the innermost group */
    bool fold;                                        /* the innermost group is reduced */
    int64_t blocks;                                   /* column blocks per kept position */
    int64_t count;                                    /* inputs per output */
} red_job;

/* One pass over the inputs of w outputs (columns) or one output (fold) starting at base. */
static void red_pass(const red_job *jb, int64_t base, int64_t w, combine k, void *acc,
                     const double *shift)
{
    union {
        double f[RUN];
        uint64_t u[RUN];
    } buf;
    int64_t idx[ONYX_MAX_RANK] = {0}, off = base;
    for (int64_t r = 0; r < jb->rcount; r++) {
        int64_t chunks = jb->fold ? (jb->run + RUN - 1) / RUN : 1;
        for (int64_t c = 0; c < chunks; c++) {
            int64_t pos = off + c * RUN, n = jb->fold ? min64(RUN, jb->run - c * RUN) : w;
            const char *src = jb->x + (size_t)pos * jb->es;
            if (jb->floating) {
                ox_widen_f64(jb->t, src, n, buf.f);
                combine_f64(k, jb->fold, buf.f, n, acc, shift);
            } else {
                ox_widen_u64(jb->t, src, n, buf.u);
                combine_u64(k, jb->fold, jb->flip, buf.u, n, acc);
            }
        }
        for (int d = jb->nr - 1; d >= 0; d--) { /* next reduced position, odometer order */
            off += jb->rstr[d];
            if (++idx[d] < jb->rdim[d]) break;
            off -= jb->rstr[d] * jb->rdim[d];
            idx[d] = 0;
        }
    }
}

static void red_task(const red_job *jb, int64_t task)
{
    const int64_t o = task / jb->blocks, j0 = (task % jb->blocks) * RUN;
    const int64_t w = jb->fold ? 1 : min64(RUN, jb->run - j0);
    int64_t base = jb->fold ? 0 : j0, rem = o;
    for (int d = jb->nk - 1; d >= 0; d--) {
        base += (rem % jb->kdim[d]) * jb->kstr[d];
        rem /= jb->kdim[d];
    }
    char *y = jb->y + (size_t)(jb->fold ? o : o * jb->run + j0) * jb->es;
    if (jb->floating) {
        const bool lse = jb->op == OX_RED_LOG_SUM_EXP;
        double acc[RUN], shift[RUN];
        const double *sh = lse ? shift : NULL;
        if (lse) {
            /* exp(v - max) cannot overflow; infinities are left out of the max so that
             * inf - inf never makes a NaN (an infinite input still gives inf or -inf). */
            for (int64_t j = 0; j < w; j++) acc[j] = init_f64(C_MAX_FINITE);
            red_pass(jb, base, w, C_MAX_FINITE, acc, NULL);
            for (int64_t j = 0; j < w; j++) shift[j] = isfinite(acc[j]) ? acc[j] : 0;
        }
        for (int64_t j = 0; j < w; j++) acc[j] = init_f64(jb->k);
        red_pass(jb, base, w, jb->k, acc, sh);
        for (int64_t j = 0; j < w; j++)
            acc[j] = finish_f64(jb->op, acc[j], lse ? shift[j] : 0, jb->count);
        ox_narrow_f64(jb->t, acc, w, y);
    } else {
        uint64_t acc[RUN];
        for (int64_t j = 0; j < w; j++) acc[j] = init_u64(jb->k, jb->t);
        red_pass(jb, base, w, jb->k, acc, NULL);
        for (int64_t j = 0; j < w; j++) acc[j] = finish_u64(jb->op, jb->t, acc[j], jb->count);
        ox_narrow_u64(jb->t, acc, w, y);
    }
}

/* Every one of n outputs is the result for an empty set. */
static void red_fill_empty(const red_job *jb, int64_t n)
{
    double f[RUN];
    uint64_t u[RUN];
    for (int j = 0; j < RUN; j++) {
        f[j] = finish_f64(jb->op, init_f64(jb->k), 0, 0);
        u[j] = finish_u64(jb->op, jb->t, init_u64(jb->k, jb->t), 0);
    }
    for (int64_t i = 0; i < n; i += RUN) {
        char *y = jb->y + (size_t)i * jb->es;
        if (jb->floating) ox_narrow_f64(jb->t, f, min64(RUN, n - i), y);
        else ox_narrow_u64(jb->t, u, min64(RUN, n - i), y);
    }
}

void ox_reduce(ox_redop op, onyx_dtype t, int rank, const int64_t *dims, const bool *reduced,
               const void *x, void *y, int threads)
{
    red_job jb;
    memset(&jb, 0, sizeof jb);
    jb.op = op;
    jb.k = combine_of(op);
    jb.t = t;
    jb.es = onyx_dtype_size(t);
    jb.floating = ox_red_is_floating(t);
    jb.flip = is_signed_int(t) ? SIGN_BIT : 0;
    jb.x = x;
    jb.y = y;
    int64_t n_out = 1, count = 1;
    for (int k = 0; k < rank; k++) {
        if (reduced[k]) count *= dims[k];
        else n_out *= dims[k];
    }
    jb.count = count;
    if (n_out == 0) return;
    if (count == 0) {
        red_fill_empty(&jb, n_out);
        return;
    }
    /* Group the dims, innermost first: size-1 dims are dropped and neighbours of the same
     * kind merged (dense strides make a merged group one strided dim). */
    int64_t gd[ONYX_MAX_RANK], gs[ONYX_MAX_RANK], stride = 1;
    bool gr[ONYX_MAX_RANK];
    int m = 0;
    for (int k = rank - 1; k >= 0; k--) {
        if (dims[k] != 1) {
            if (m > 0 && gr[m - 1] == reduced[k]) {
                gd[m - 1] *= dims[k];
            } else {
                gd[m] = dims[k];
                gs[m] = stride;
                gr[m] = reduced[k];
                m++;
            }
        }
        stride *= dims[k];
    }
    jb.fold = m == 0 || gr[0];
    jb.run = m == 0 ? 1 : gd[0];
    jb.rcount = 1;
    int64_t outer = 1;
    for (int g = m - 1; g >= 1; g--) {
        if (gr[g]) {
            jb.rdim[jb.nr] = gd[g];
            jb.rstr[jb.nr++] = gs[g];
            jb.rcount *= gd[g];
        } else {
            jb.kdim[jb.nk] = gd[g];
            jb.kstr[jb.nk++] = gs[g];
            outer *= gd[g];
        }
    }
    jb.blocks = jb.fold ? 1 : (jb.run + RUN - 1) / RUN;
    const int64_t tasks = outer * jb.blocks;
    const bool par = threads > 1 && tasks > 1 && n_out * count >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t i = 0; i < tasks; i++) red_task(&jb, i);
}

/* ---- ArgMax, ArgMin, Hardmax ------------------------------------------------------------- */

/* idx[j] = the row of the max (is_max) or min of column j of the n x w block at x (row
 * stride inner): the first such row, or the last with `last`. A min is the max of -v (floats)
 * or of the complemented key (integers). NaN beats every number: the first (last) NaN wins. */
static void arg_block(onyx_dtype t, bool is_max, bool last, const char *x, int64_t n,
                      int64_t inner, int64_t w, int64_t *idx)
{
    const size_t es = onyx_dtype_size(t);
    const bool floating = ox_red_is_floating(t);
    const uint64_t flip = is_signed_int(t) ? SIGN_BIT : 0, invert = is_max ? 0 : UINT64_MAX;
    const block b = block_make(n, inner, w);
    double bf[RUN], vf[RUN];
    uint64_t bu[RUN], vu[RUN];
    int64_t nan_at[RUN];
    for (int64_t j = 0; j < w; j++) idx[j] = nan_at[j] = -1;
    for (int64_t r = 0; r < b.runs; r++) {
        int64_t pos, len;
        block_run(&b, r, &pos, &len);
        if (floating) {
            ox_widen_f64(t, x + (size_t)pos * es, len, vf);
            for (int64_t i = 0; i < len; i++) {
                const int64_t j = b.fold ? 0 : i, row = b.fold ? pos + i : r;
                const double v = is_max ? vf[i] : -vf[i];
                if (v != v) {
                    if (last || nan_at[j] < 0) nan_at[j] = row;
                } else if (idx[j] < 0 || v > bf[j] || (last && v == bf[j])) {
                    bf[j] = v;
                    idx[j] = row;
                }
            }
        } else {
            ox_widen_u64(t, x + (size_t)pos * es, len, vu);
            for (int64_t i = 0; i < len; i++) {
                const int64_t j = b.fold ? 0 : i, row = b.fold ? pos + i : r;
                const uint64_t v = (vu[i] ^ flip) ^ invert;
                if (idx[j] < 0 || v > bu[j] || (last && v == bu[j])) {
                    bu[j] = v;
                    idx[j] = row;
                }
            }
        }
    }
    for (int64_t j = 0; j < w; j++)
        if (nan_at[j] >= 0) idx[j] = nan_at[j];
}

void ox_arg_reduce(onyx_dtype t, bool is_max, bool select_last, int64_t outer, int64_t n,
                   int64_t inner, const void *x, int64_t *y, int threads)
{
    const size_t es = onyx_dtype_size(t);
    const int64_t blocks = (inner + RUN - 1) / RUN, tasks = outer * blocks;
    const bool par = threads > 1 && tasks > 1 && outer * n * inner >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t o = task / blocks, j0 = (task % blocks) * RUN;
        const int64_t w = min64(RUN, inner - j0);
        arg_block(t, is_max, select_last, (const char *)x + (size_t)(o * n * inner + j0) * es, n,
                  inner, w, y + o * inner + j0);
    }
}

void ox_hardmax(onyx_dtype t, int64_t outer, int64_t n, int64_t inner, const void *x, void *y,
                int threads)
{
    const size_t es = onyx_dtype_size(t);
    const int64_t blocks = (inner + RUN - 1) / RUN, tasks = outer * blocks;
    const bool par = threads > 1 && tasks > 1 && outer * n * inner >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t o = task / blocks, j0 = (task % blocks) * RUN;
        const int64_t w = min64(RUN, inner - j0);
        const size_t off = (size_t)(o * n * inner + j0) * es;
        int64_t idx[RUN];
        double zero[RUN], one = 1;
        arg_block(t, true, false, (const char *)x + off, n, inner, w, idx);
        for (int j = 0; j < RUN; j++) zero[j] = 0;
        char *yb = (char *)y + off;
        const block b = block_make(n, inner, w);
        for (int64_t r = 0; r < b.runs; r++) {
            int64_t pos, len;
            block_run(&b, r, &pos, &len);
            ox_narrow_f64(t, zero, len, yb + (size_t)pos * es);
        }
        for (int64_t j = 0; j < w; j++)
            ox_narrow_f64(t, &one, 1, yb + (size_t)(idx[j] * inner + j) * es);
    }
}

/* ---- LogSoftmax -------------------------------------------------------------------------- */

static void log_softmax_block(onyx_dtype t, const char *x, char *y, int64_t n, int64_t inner,
                              int64_t w)
{
    const size_t es = onyx_dtype_size(t);
    const bool dbl = t == ONYX_DTYPE_DOUBLE;
    const block b = block_make(n, inner, w);
    double mx[RUN], lse[RUN], v[RUN];
    for (int64_t j = 0; j < w; j++) {
        mx[j] = -INFINITY;
        lse[j] = 0;
    }
    for (int64_t r = 0; r < b.runs; r++) {
        int64_t pos, len;
        block_run(&b, r, &pos, &len);
        ox_widen_f64(t, x + (size_t)pos * es, len, v);
        for (int64_t i = 0; i < len; i++) {
            int64_t j = b.fold ? 0 : i;
            if (v[i] > mx[j] || v[i] != v[i]) mx[j] = v[i];
        }
    }
    for (int64_t r = 0; r < b.runs; r++) {
        int64_t pos, len;
        block_run(&b, r, &pos, &len);
        ox_widen_f64(t, x + (size_t)pos * es, len, v);
        for (int64_t i = 0; i < len; i++) {
            int64_t j = b.fold ? 0 : i;
            lse[j] += exp_as(dbl, v[i] - mx[j]);
        }
    }
    for (int64_t j = 0; j < w; j++) lse[j] = log(lse[j]);
    /* (x - max) - log(sum): subtracting the max first keeps large inputs exact. */
    for (int64_t r = 0; r < b.runs; r++) {
        int64_t pos, len;
        block_run(&b, r, &pos, &len);
        ox_widen_f64(t, x + (size_t)pos * es, len, v);
        for (int64_t i = 0; i < len; i++) {
            int64_t j = b.fold ? 0 : i;
            v[i] = (v[i] - mx[j]) - lse[j];
        }
        ox_narrow_f64(t, v, len, y + (size_t)pos * es);
    }
}

void ox_log_softmax(onyx_dtype t, int64_t outer, int64_t n, int64_t inner, const void *x, void *y,
                    int threads)
{
    const size_t es = onyx_dtype_size(t);
    const int64_t blocks = (inner + RUN - 1) / RUN, tasks = outer * blocks;
    const bool par = threads > 1 && tasks > 1 && outer * n * inner >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t o = task / blocks, j0 = (task % blocks) * RUN;
        const size_t off = (size_t)(o * n * inner + j0) * es;
        log_softmax_block(t, (const char *)x + off, (char *)y + off, n, inner,
                          min64(RUN, inner - j0));
    }
}

/* ---- CumSum, CumProd ---------------------------------------------------------------------- */

/* Running sums (or products) down the block's columns, visiting rows backwards with
 * `reverse`; exclusive scans store the total before combining the element. */
#define SCAN_BLOCK(name, T, WIDEN, NARROW)                                                 \
    static void name(onyx_dtype t, bool product, bool exclusive, bool reverse,            \
                     const char *x, char *y, int64_t n, int64_t inner, int64_t w)         \
    {                                                                                     \
        const size_t es = onyx_dtype_size(t);                                             \
        const block b = block_make(n, inner, w);                                          \
        T acc[RUN], v[RUN];                                                               \
        for (int64_t j = 0; j < w; j++) acc[j] = product ? 1 : 0;                         \
        for (int64_t rr = 0; rr < b.runs; rr++) {                                         \
            int64_t r = reverse ? b.runs - 1 - rr : rr, pos, len;                         \
            block_run(&b, r, &pos, &len);                                                 \
            WIDEN(t, x + (size_t)pos * es, len, v);                                       \
            for (int64_t ii = 0; ii < len; ii++) {                                        \
                int64_t i = (reverse && b.fold) ? len - 1 - ii : ii, j = b.fold ? 0 : i;  \
                T e = v[i];                                                               \
                if (exclusive) v[i] = acc[j];                                             \
                acc[j] = product ? acc[j] * e : acc[j] + e;                               \
                if (!exclusive) v[i] = acc[j];                                            \
            }                                                                             \
            NARROW(t, v, len, y + (size_t)pos * es);                                      \
        }                                                                                 \
    }

SCAN_BLOCK(scan_f64, double, ox_widen_f64, ox_narrow_f64)
SCAN_BLOCK(scan_u64, uint64_t, ox_widen_u64, ox_narrow_u64)

/* CumSum and CumProd: one driver, the combining step picked by `product`. */
static void scan(bool product, onyx_dtype t, bool exclusive, bool reverse, int64_t outer,
                 int64_t n, int64_t inner, const void *x, void *y, int threads)
{
    const size_t es = onyx_dtype_size(t);
    const bool floating = ox_red_is_floating(t);
    const int64_t blocks = (inner + RUN - 1) / RUN, tasks = outer * blocks;
    const bool par = threads > 1 && tasks > 1 && outer * n * inner >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t o = task / blocks, j0 = (task % blocks) * RUN;
        const int64_t w = min64(RUN, inner - j0);
        const size_t off = (size_t)(o * n * inner + j0) * es;
        const char *xs = (const char *)x + off;
        char *ys = (char *)y + off;
        if (floating)
            scan_f64(t, product, exclusive, reverse, xs, ys, n, inner, w);
        else
            scan_u64(t, product, exclusive, reverse, xs, ys, n, inner, w);
    }
}

void ox_cumsum(onyx_dtype t, bool exclusive, bool reverse, int64_t outer, int64_t n,
               int64_t inner, const void *x, void *y, int threads)
{
    scan(false, t, exclusive, reverse, outer, n, inner, x, y, threads);
}

void ox_cumprod(onyx_dtype t, bool exclusive, bool reverse, int64_t outer, int64_t n,
                int64_t inner, const void *x, void *y, int threads)
{
    scan(true, t, exclusive, reverse, outer, n, inner, x, y, threads);
}

/* ---- TopK -------------------------------------------------------------------------------- */

/* A key whose unsigned order is the value order: -0 equals 0 and NaN is above +inf. */
static uint64_t order_key_f64(double v)
{
    if (v != v) return UINT64_MAX;
    if (v == 0) v = 0; /* -0 -> +0 */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (bits & SIGN_BIT) ? ~bits : bits | SIGN_BIT;
}

/* Element a ranks below element b: a smaller key, or an equal key and a larger index. */
static bool ranks_below(const uint64_t *key, uint64_t a, uint64_t b)
{
    // cppcheck-suppress arrayIndexThenCheck ; a > b orders indices, it is no bounds check
    return key[a] < key[b] || (key[a] == key[b] && a > b);
}

/* Heap of element indices with the lowest-ranked at the root. */
static void heap_down(uint64_t *h, int64_t n, int64_t i, const uint64_t *key)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_below(key, h[l], h[m])) m = l;
        if (r < n && ranks_below(key, h[r], h[m])) m = r;
        if (m == i) return;
        uint64_t tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void heap_up(uint64_t *h, int64_t i, const uint64_t *key)
{
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!ranks_below(key, h[i], h[p])) return;
        uint64_t tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

int64_t ox_topk_scratch(int64_t n, int64_t k) { return n + k; }

/* One slice: n elements at x with stride inner; results at stride inner too. */
static void topk_slice(onyx_dtype t, bool largest, const char *x, int64_t n, int64_t inner,
                       int64_t k, char *values, int64_t *indices, uint64_t *key, uint64_t *heap)
{
    const size_t es = onyx_dtype_size(t);
    const bool floating = ox_red_is_floating(t);
    const uint64_t flip = is_signed_int(t) ? SIGN_BIT : 0, invert = largest ? 0 : UINT64_MAX;
    for (int64_t i = 0; i < n; i++) {
        const char *e = x + (size_t)(i * inner) * es;
        if (floating) {
            double v;
            ox_widen_f64(t, e, 1, &v);
            key[i] = order_key_f64(v) ^ invert;
        } else {
            uint64_t v;
            ox_widen_u64(t, e, 1, &v);
            key[i] = (v ^ flip) ^ invert;
        }
    }
    /* Keep the best k seen so far; the root is the one to drop next. */
    for (int64_t i = 0; i < n; i++) {
        if (i < k) {
            heap[i] = (uint64_t)i;
            heap_up(heap, i, key);
        } else if (ranks_below(key, heap[0], (uint64_t)i)) {
            heap[0] = (uint64_t)i;
            heap_down(heap, k, 0, key);
        }
    }
    /* Heap sort: moving each root to the end leaves the best first. */
    for (int64_t e = k - 1; e > 0; e--) {
        uint64_t tmp = heap[0];
        heap[0] = heap[e];
        heap[e] = tmp;
        heap_down(heap, e, 0, key);
    }
    for (int64_t r = 0; r < k; r++) {
        int64_t i = (int64_t)heap[r];
        indices[r * inner] = i;
        memcpy(values + (size_t)(r * inner) * es, x + (size_t)(i * inner) * es, es);
    }
}

void ox_topk(onyx_dtype t, bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k,
             const void *x, void *values, int64_t *indices, uint64_t *scratch, int threads)
{
    const size_t es = onyx_dtype_size(t);
    const int64_t slices = outer * inner, per = ox_topk_scratch(n, k);
    if (slices == 0 || k == 0) return;
    /* Slices are split into one contiguous range per thread, each with its own scratch. */
    int nt = threads > 1 && outer * n * inner >= PAR_MIN_ELEMS ? threads : 1;
    if (nt > slices) nt = (int)slices;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int p = 0; p < nt; p++) {
        uint64_t *key = scratch + (size_t)p * (size_t)per, *heap = key + n;
        for (int64_t s = slices * p / nt; s < slices * (p + 1) / nt; s++) {
            const int64_t o = s / inner, j = s % inner;
            topk_slice(t, largest, (const char *)x + (size_t)(o * n * inner + j) * es, n, inner,
                       k, (char *)values + (size_t)(o * k * inner + j) * es,
                       indices + o * k * inner + j, key, heap);
        }
    }
}

/* ---- Det --------------------------------------------------------------------------------- */

/* Determinant of the m x m matrix a (destroyed), by LU decomposition with partial pivoting. */
static double det_lu(double *a, int64_t m)
{
    double det = 1;
    for (int64_t c = 0; c < m; c++) {
        int64_t p = c;
        double best = fabs(a[c * m + c]);
        for (int64_t r = c + 1; r < m; r++)
            if (fabs(a[r * m + c]) > best) {
                best = fabs(a[r * m + c]);
                p = r;
            }
        if (best == 0) return 0; /* singular (a NaN pivot carries on and gives NaN) */
        if (p != c) {
            for (int64_t j = c; j < m; j++) {
                double tmp = a[c * m + j];
                a[c * m + j] = a[p * m + j];
                a[p * m + j] = tmp;
            }
            det = -det;
        }
        const double piv = a[c * m + c];
        det *= piv;
        for (int64_t r = c + 1; r < m; r++) {
            const double f = a[r * m + c] / piv;
            for (int64_t j = c + 1; j < m; j++) a[r * m + j] -= f * a[c * m + j];
        }
    }
    return det;
}

void ox_det(onyx_dtype t, int64_t batch, int64_t m, const void *x, void *y, double *scratch,
            int threads)
{
    const size_t es = onyx_dtype_size(t);
    if (batch == 0) return;
    int nt = threads > 1 && batch * m * m * m >= PAR_MIN_ELEMS ? threads : 1;
    if (nt > batch) nt = (int)batch;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int p = 0; p < nt; p++) {
        double *a = scratch + (size_t)p * (size_t)(m * m);
        for (int64_t b = batch * p / nt; b < batch * (p + 1) / nt; b++) {
            ox_widen_f64(t, (const char *)x + (size_t)(b * m * m) * es, m * m, a);
            double d = det_lu(a, m);
            ox_narrow_f64(t, &d, 1, (char *)y + (size_t)b * es);
        }
    }
}

/* ---- Einsum ------------------------------------------------------------------------------ */

/* Output element o: its offset in every operand from the output labels, then the sum over
 * the summed labels in odometer order, the last one as the inner loop. */
#define EINSUM_ONE(name, T)                                                                  \
    static T name(const ox_einsum_plan *p, const T *const *ops, int64_t o)                  \
    {                                                                                        \
        int64_t off[OX_EINSUM_MAX_OPS] = {0}, idx[OX_EINSUM_MAX_LABELS] = {0};               \
        for (int l = p->n_out - 1; l >= 0; l--) {                                            \
            const int64_t i = o % p->dim[l];                                                 \
            o /= p->dim[l];                                                                  \
            for (int k = 0; k < p->n_ops; k++) off[k] += i * p->stride[k][l];                \
        }                                                                                    \
        if (p->n_sum == 0) {                                                                 \
            T prod = 1;                                                                      \
            for (int k = 0; k < p->n_ops; k++) prod *= ops[k][off[k]];                       \
            return prod;                                                                     \
        }                                                                                    \
        const int last = p->n_out + p->n_sum - 1;                                            \
        const int64_t inner = p->dim[last];                                                  \
        int64_t outer = 1;                                                                   \
        for (int l = p->n_out; l < last; l++) outer *= p->dim[l];                            \
        T acc = 0;                                                                           \
        for (int64_t s = 0; s < outer; s++) {                                                \
            if (p->n_ops == 2) {                                                             \
                const T *a = ops[0] + off[0], *b = ops[1] + off[1];                          \
                const int64_t sa = p->stride[0][last], sb = p->stride[1][last];              \
                for (int64_t i = 0; i < inner; i++) acc += a[i * sa] * b[i * sb];            \
            } else {                                                                         \
                for (int64_t i = 0; i < inner; i++) {                                        \
                    T prod = 1;                                                              \
                    for (int k = 0; k < p->n_ops; k++)                                       \
                        prod *= ops[k][off[k] + i * p->stride[k][last]];                     \
                    acc += prod;                                                             \
                }                                                                            \
            }                                                                                \
            for (int l = last - 1; l >= p->n_out; l--) {                                     \
                for (int k = 0; k < p->n_ops; k++) off[k] += p->stride[k][l];                \
                if (++idx[l] < p->dim[l]) break;                                             \
                for (int k = 0; k < p->n_ops; k++) off[k] -= p->stride[k][l] * p->dim[l];    \
                idx[l] = 0;                                                                  \
            }                                                                                \
        }                                                                                    \
        return acc;                                                                          \
    }

EINSUM_ONE(einsum_one_f64, double)
EINSUM_ONE(einsum_one_u64, uint64_t)

/* Output elements and the work per element, for the threading decision. */
static int64_t einsum_size(const ox_einsum_plan *p, int64_t *work)
{
    int64_t n = 1, per = p->n_ops;
    for (int l = 0; l < p->n_out; l++) n *= p->dim[l];
    for (int l = p->n_out; l < p->n_out + p->n_sum; l++) per *= p->dim[l];
    *work = n * per;
    return n;
}

void ox_einsum_f64(const ox_einsum_plan *p, const double *const *ops, double *out, int threads)
{
    int64_t work, n = einsum_size(p, &work);
    const bool par = threads > 1 && n > 1 && work >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t o = 0; o < n; o++) out[o] = einsum_one_f64(p, ops, o);
}

void ox_einsum_u64(const ox_einsum_plan *p, const uint64_t *const *ops, uint64_t *out,
                   int threads)
{
    int64_t work, n = einsum_size(p, &work);
    const bool par = threads > 1 && n > 1 && work >= PAR_MIN_ELEMS;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
#endif
    for (int64_t o = 0; o < n; o++) out[o] = einsum_one_u64(p, ops, o);
}
