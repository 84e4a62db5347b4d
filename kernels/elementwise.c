/* elementwise.c — element-wise arithmetic, activations and clipping (see elementwise.h).
 *
 * Every (op, dtype) loop is stamped out by a macro from four pieces: the storage type T, the
 * compute type CT, LOAD (T -> CT) and STORE (CT -> T). Native types load and store as is;
 * float16/bfloat16 convert through float32. Integer arithmetic goes through an unsigned type
 * W wide enough to avoid promotion to int, so overflow wraps instead of being undefined. */
#include <math.h>

#include "elementwise.h"
#include "internal.h"

/* Below this many elements a loop runs on one thread: forking costs more than it saves. */
#define PAR_MIN_ELEMS 32768

#define AS_IS(v) (v)

/* ---- binary ---------------------------------------------------------------------------- */

/* The four broadcast patterns of the inner run get their own loops so each is a plain,
 * vectorisable loop over contiguous memory. EXPR computes from CT x, y. */
#define BIN_KERNEL(name, T, CT, LOAD, STORE, EXPR)                                         \
    static void name(int64_t n, const void *pa, bool va, const void *pb, bool vb, void *po) \
    {                                                                                      \
        const T *a = pa, *b = pb;                                                          \
        T *o = po;                                                                         \
        if (va && vb) {                                                                    \
            for (int64_t i = 0; i < n; i++) {                                              \
                CT x = LOAD(a[i]), y = LOAD(b[i]);                                         \
                o[i] = STORE(EXPR);                                                        \
            }                                                                              \
        } else if (va) {                                                                   \
            const CT y = LOAD(b[0]);                                                       \
            for (int64_t i = 0; i < n; i++) {                                              \
                CT x = LOAD(a[i]);                                                         \
                o[i] = STORE(EXPR);                                                        \
            }                                                                              \
        } else if (vb) {                                                                   \
            const CT x = LOAD(a[0]);                                                       \
            for (int64_t i = 0; i < n; i++) {                                              \
                CT y = LOAD(b[i]);                                                         \
                o[i] = STORE(EXPR);                                                        \
            }                                                                              \
        } else {                                                                           \
            const CT x = LOAD(a[0]), y = LOAD(b[0]);                                       \
            const T r = STORE(EXPR);                                                       \
            for (int64_t i = 0; i < n; i++) o[i] = r;                                      \
        }                                                                                  \
    }

#define BIN_FLOAT(sfx, T, CT, LOAD, STORE)                   \
    BIN_KERNEL(add_##sfx, T, CT, LOAD, STORE, x + y)         \
    BIN_KERNEL(sub_##sfx, T, CT, LOAD, STORE, x - y)         \
    BIN_KERNEL(mul_##sfx, T, CT, LOAD, STORE, x * y)         \
    BIN_KERNEL(div_##sfx, T, CT, LOAD, STORE, x / y)

/* Signed division: x / 0 is 0 and x / -1 is the wrapped negation (INT_MIN / -1 would be
 * undefined in C). Unsigned division only needs the zero check. */
#define DIV_SIGNED(T, W) (y == 0 ? (T)0 : y == -1 ? (T)((W)0 - (W)x) : (T)(x / y))
#define DIV_UNSIGNED(T, W) (y == 0 ? (T)0 : (T)(x / y))

#define BIN_INT(sfx, T, W, DIV)                                          \
    BIN_KERNEL(add_##sfx, T, T, AS_IS, AS_IS, (T)((W)x + (W)y))          \
    BIN_KERNEL(sub_##sfx, T, T, AS_IS, AS_IS, (T)((W)x - (W)y))          \
    BIN_KERNEL(mul_##sfx, T, T, AS_IS, AS_IS, (T)((W)x * (W)y))          \
    BIN_KERNEL(div_##sfx, T, T, AS_IS, AS_IS, DIV(T, W))

BIN_FLOAT(f32, float, float, AS_IS, AS_IS)
BIN_FLOAT(f64, double, double, AS_IS, AS_IS)
BIN_FLOAT(f16, uint16_t, float, ox_f16_to_f32, ox_f32_to_f16)
BIN_FLOAT(bf16, uint16_t, float, ox_bf16_to_f32, ox_f32_to_bf16)
BIN_INT(i8, int8_t, unsigned, DIV_SIGNED)
BIN_INT(i16, int16_t, unsigned, DIV_SIGNED)
BIN_INT(i32, int32_t, uint32_t, DIV_SIGNED)
BIN_INT(i64, int64_t, uint64_t, DIV_SIGNED)
BIN_INT(u8, uint8_t, unsigned, DIV_UNSIGNED)
BIN_INT(u16, uint16_t, unsigned, DIV_UNSIGNED)
BIN_INT(u32, uint32_t, uint32_t, DIV_UNSIGNED)
BIN_INT(u64, uint64_t, uint64_t, DIV_UNSIGNED)

#define BIN_ROW(t, sfx) {t, {add_##sfx, sub_##sfx, mul_##sfx, div_##sfx}}

static const struct {
    onyx_dtype t;
    ox_binary_fn fn[4]; /* indexed by ox_binop */
} binary_table[] = {
    BIN_ROW(ONYX_DTYPE_FLOAT, f32),  BIN_ROW(ONYX_DTYPE_DOUBLE, f64),
    BIN_ROW(ONYX_DTYPE_FLOAT16, f16), BIN_ROW(ONYX_DTYPE_BFLOAT16, bf16),
    BIN_ROW(ONYX_DTYPE_INT8, i8),    BIN_ROW(ONYX_DTYPE_INT16, i16),
    BIN_ROW(ONYX_DTYPE_INT32, i32),  BIN_ROW(ONYX_DTYPE_INT64, i64),
    BIN_ROW(ONYX_DTYPE_UINT8, u8),   BIN_ROW(ONYX_DTYPE_UINT16, u16),
    BIN_ROW(ONYX_DTYPE_UINT32, u32), BIN_ROW(ONYX_DTYPE_UINT64, u64),
};

ox_binary_fn ox_binary_kernel(ox_binop op, onyx_dtype t)
{
    if ((unsigned)op > OX_BIN_DIV) return NULL;
    for (size_t i = 0; i < sizeof binary_table / sizeof binary_table[0]; i++)
        if (binary_table[i].t == t) return binary_table[i].fn[op];
    return NULL;
}

/* ---- splitting work -------------------------------------------------------------------- */

/* Cuts n elements into chunks for threads; returns the chunk count and sets *chunk. */
static int64_t plan_chunks(int64_t n, int threads, int64_t *chunk)
{
    if (threads <= 1 || n < PAR_MIN_ELEMS) {
        *chunk = n;
        return 1;
    }
    int64_t c = (n + threads - 1) / threads;
    c = (c + 63) / 64 * 64; /* keep chunk starts on cache lines for every element size */
    *chunk = c;
    return (n + c - 1) / c;
}

/* ---- broadcast driver ------------------------------------------------------------------ */

/* Up to three operands (Where's condition, X and Y) are read, each with its own element size
 * and strides, and one output is written contiguously. */
#define MAX_OPERANDS 3

/* The iteration space after dropping size-1 dims and merging dims that are contiguous for
 * every operand. The last dim is the inner run: its strides are 0 or 1. */
typedef struct bcast {
    int rank, n_in;
    int64_t dims[ONYX_MAX_RANK + 1];
    int64_t s[MAX_OPERANDS][ONYX_MAX_RANK + 1];
    const char *in[MAX_OPERANDS];
    size_t in_size[MAX_OPERANDS], out_size;
    ox_binary_fn fn2;  /* n_in == 2 */
    ox_ternary_fn fn3; /* n_in == 3 */
    char *out;
} bcast;

/* True if dim i (extent d, operand strides st[k][i]) steps exactly over the last kept dim
 * for every operand, so the two merge into one. */
static bool bcast_mergeable(const bcast *p, int r, const int64_t *const *st, int i, int64_t d)
{
    for (int k = 0; k < p->n_in; k++)
        if (p->s[k][r - 1] != st[k][i] * d) return false;
    return true;
}

static void bcast_coalesce(bcast *p, int rank, const int64_t *dims, const int64_t *const *st)
{
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        bool merge = r > 0 && bcast_mergeable(p, r, st, i, dims[i]);
        if (merge) p->dims[r - 1] *= dims[i];
        else p->dims[r++] = dims[i];
        for (int k = 0; k < p->n_in; k++) p->s[k][r - 1] = st[k][i];
    }
    bool inner_ok = r > 0;
    for (int k = 0; inner_ok && k < p->n_in; k++)
        inner_ok = p->s[k][r - 1] == 0 || p->s[k][r - 1] == 1;
    if (!inner_ok) {
        /* Scalar output, or strides the inner loops cannot take: runs of one element. */
        p->dims[r] = 1;
        for (int k = 0; k < p->n_in; k++) p->s[k][r] = 0;
        r++;
    }
    p->rank = r;
}

/* Computes output elements [lo, hi) in runs along the inner dim. */
static void bcast_range(const bcast *p, int64_t lo, int64_t hi)
{
    const int last = p->rank - 1;
    int64_t idx[ONYX_MAX_RANK + 1];
    int64_t rem = lo;
    for (int i = last; i >= 0; i--) {
        idx[i] = rem % p->dims[i];
        rem /= p->dims[i];
    }
    while (lo < hi) {
        const char *src[MAX_OPERANDS] = {NULL, NULL, NULL};
        bool vec[MAX_OPERANDS] = {false, false, false};
        for (int k = 0; k < p->n_in; k++) {
            int64_t off = 0;
            for (int i = 0; i <= last; i++) off += idx[i] * p->s[k][i];
            src[k] = p->in[k] + (size_t)off * p->in_size[k];
            vec[k] = p->s[k][last] != 0;
        }
        int64_t run = p->dims[last] - idx[last];
        if (run > hi - lo) run = hi - lo;
        char *dst = p->out + (size_t)lo * p->out_size;
        if (p->n_in == 3) p->fn3(run, src[0], vec[0], src[1], vec[1], src[2], vec[2], dst);
        else p->fn2(run, src[0], vec[0], src[1], vec[1], dst);
        lo += run;
        idx[last] += run;
        for (int i = last; i > 0 && idx[i] == p->dims[i]; i--) {
            idx[i] = 0;
            idx[i - 1]++;
        }
    }
}

/* Coalesces the iteration space of p (operands, sizes and kernel set) and runs it. */
static void bcast_run(bcast *p, int rank, const int64_t *dims, const int64_t *const *strides,
                      int threads)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (n <= 0) return;
    bcast_coalesce(p, rank, dims, strides);
    int64_t chunk, chunks = plan_chunks(n, threads, &chunk);
    if (chunks == 1) {
        bcast_range(p, 0, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        bcast_range(p, lo, hi);
    }
}

void ox_binary_apply(ox_binary_fn fn, size_t esize, int rank, const int64_t *dims,
                     const void *a, const int64_t *sa, const void *b, const int64_t *sb,
                     void *out, int threads)
{
    ox_binary_apply_mixed(fn, esize, esize, esize, rank, dims, a, sa, b, sb, out, threads);
}

void ox_binary_apply_mixed(ox_binary_fn fn, size_t a_size, size_t b_size, size_t out_size,
                           int rank, const int64_t *dims, const void *a, const int64_t *sa,
                           const void *b, const int64_t *sb, void *out, int threads)
{
    bcast p = {.n_in = 2, .in = {a, b}, .in_size = {a_size, b_size}, .out_size = out_size,
               .fn2 = fn, .out = out};
    const int64_t *strides[MAX_OPERANDS] = {sa, sb, NULL};
    bcast_run(&p, rank, dims, strides, threads);
}

void ox_ternary_apply(ox_ternary_fn fn, const size_t sizes[4], int rank, const int64_t *dims,
                      const void *const in[3], const int64_t *const strides[3], void *out,
                      int threads)
{
    bcast p = {.n_in = 3, .in = {in[0], in[1], in[2]},
               .in_size = {sizes[0], sizes[1], sizes[2]}, .out_size = sizes[3], .fn3 = fn,
               .out = out};
    bcast_run(&p, rank, dims, strides, threads);
}

/* ---- unary ----------------------------------------------------------------------------- */

#define UN_KERNEL(name, T, CT, LOAD, STORE, EXPR)            \
    static void name(int64_t n, const void *px, void *py)   \
    {                                                        \
        const T *xs = px;                                    \
        T *ys = py;                                          \
        for (int64_t i = 0; i < n; i++) {                    \
            CT x = LOAD(xs[i]);                              \
            ys[i] = STORE(EXPR);                             \
        }                                                    \
    }

/* Sigmoid without overflow: exp of a non-positive number only. NaN stays NaN. */
static inline float sigmoid_f(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline double sigmoid_d(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* Relu as x < 0 ? 0 : x keeps NaN (as numpy's maximum does). */
#define UN_FLOAT(sfx, T, CT, LOAD, STORE, SIGMOID, TANH)                \
    UN_KERNEL(relu_##sfx, T, CT, LOAD, STORE, x < 0 ? (CT)0 : x)      \
    UN_KERNEL(sigmoid_##sfx, T, CT, LOAD, STORE, SIGMOID(x))          \
    UN_KERNEL(tanh_##sfx, T, CT, LOAD, STORE, TANH(x))

UN_FLOAT(f32, float, float, AS_IS, AS_IS, sigmoid_f, tanhf)
UN_FLOAT(f64, double, double, AS_IS, AS_IS, sigmoid_d, tanh)
UN_FLOAT(f16, uint16_t, float, ox_f16_to_f32, ox_f32_to_f16, sigmoid_f, tanhf)
UN_FLOAT(bf16, uint16_t, float, ox_bf16_to_f32, ox_f32_to_bf16, sigmoid_f, tanhf)
UN_KERNEL(relu_i8, int8_t, int8_t, AS_IS, AS_IS, x < 0 ? 0 : x)
UN_KERNEL(relu_i16, int16_t, int16_t, AS_IS, AS_IS, x < 0 ? 0 : x)
UN_KERNEL(relu_i32, int32_t, int32_t, AS_IS, AS_IS, x < 0 ? 0 : x)
UN_KERNEL(relu_i64, int64_t, int64_t, AS_IS, AS_IS, x < 0 ? 0 : x)

#define UN_ROW(t, sfx) {t, {relu_##sfx, sigmoid_##sfx, tanh_##sfx}}
#define UN_ROW_RELU(t, sfx) {t, {relu_##sfx, NULL, NULL}}

static const struct {
    onyx_dtype t;
    ox_unary_fn fn[3]; /* indexed by ox_unop */
} unary_table[] = {
    UN_ROW(ONYX_DTYPE_FLOAT, f32),        UN_ROW(ONYX_DTYPE_DOUBLE, f64),
    UN_ROW(ONYX_DTYPE_FLOAT16, f16),      UN_ROW(ONYX_DTYPE_BFLOAT16, bf16),
    UN_ROW_RELU(ONYX_DTYPE_INT8, i8),     UN_ROW_RELU(ONYX_DTYPE_INT16, i16),
    UN_ROW_RELU(ONYX_DTYPE_INT32, i32),   UN_ROW_RELU(ONYX_DTYPE_INT64, i64),
};

ox_unary_fn ox_unary_kernel(ox_unop op, onyx_dtype t)
{
    if ((unsigned)op > OX_UN_TANH) return NULL;
    for (size_t i = 0; i < sizeof unary_table / sizeof unary_table[0]; i++)
        if (unary_table[i].t == t) return unary_table[i].fn[op];
    return NULL;
}

void ox_unary_apply(ox_unary_fn fn, size_t esize, int64_t n, const void *x, void *y,
                    int threads)
{
    if (n <= 0) return;
    int64_t chunk, chunks = plan_chunks(n, threads, &chunk);
    if (chunks == 1) {
        fn(n, x, y);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * chunk, len = lo + chunk < n ? chunk : n - lo;
        fn(len, (const char *)x + (size_t)lo * esize, (char *)y + (size_t)lo * esize);
    }
}

/* ---- clip ------------------------------------------------------------------------------ */

/* y = min(max(x, lo), hi), so lo > hi gives hi (as the ONNX spec says). Comparisons are in CT;
 * a clipped element takes the bound's stored bits, others keep their own. An absent bound is
 * the type's lowest/highest value (infinity for floats), which no element passes. */
#define CLIP_KERNEL(name, T, CT, LOAD, LOWEST, HIGHEST)                                      \
    static void name(int64_t n, const void *px, const void *plo, const void *phi, void *py) \
    {                                                                                        \
        const T *x = px;                                                                     \
        T *y = py;                                                                           \
        const T lo_raw = plo ? *(const T *)plo : 0, hi_raw = phi ? *(const T *)phi : 0;      \
        const CT lo = plo ? LOAD(lo_raw) : (LOWEST), hi = phi ? LOAD(hi_raw) : (HIGHEST);    \
        for (int64_t i = 0; i < n; i++) {                                                    \
            CT v = LOAD(x[i]);                                                               \
            T r = x[i];                                                                      \
            if (v < lo) {                                                                    \
                v = lo;                                                                      \
                r = lo_raw;                                                                  \
            }                                                                                \
            if (v > hi) r = hi_raw;                                                          \
            y[i] = r;                                                                        \
        }                                                                                    \
    }

typedef void (*clip_fn)(int64_t n, const void *x, const void *lo, const void *hi, void *y);

CLIP_KERNEL(clip_f32, float, float, AS_IS, -INFINITY, INFINITY)
CLIP_KERNEL(clip_f64, double, double, AS_IS, -INFINITY, INFINITY)
CLIP_KERNEL(clip_f16, uint16_t, float, ox_f16_to_f32, -INFINITY, INFINITY)
CLIP_KERNEL(clip_bf16, uint16_t, float, ox_bf16_to_f32, -INFINITY, INFINITY)
CLIP_KERNEL(clip_i8, int8_t, int8_t, AS_IS, INT8_MIN, INT8_MAX)
CLIP_KERNEL(clip_i16, int16_t, int16_t, AS_IS, INT16_MIN, INT16_MAX)
CLIP_KERNEL(clip_i32, int32_t, int32_t, AS_IS, INT32_MIN, INT32_MAX)
CLIP_KERNEL(clip_i64, int64_t, int64_t, AS_IS, INT64_MIN, INT64_MAX)
CLIP_KERNEL(clip_u8, uint8_t, uint8_t, AS_IS, 0, UINT8_MAX)
CLIP_KERNEL(clip_u16, uint16_t, uint16_t, AS_IS, 0, UINT16_MAX)
CLIP_KERNEL(clip_u32, uint32_t, uint32_t, AS_IS, 0, UINT32_MAX)
CLIP_KERNEL(clip_u64, uint64_t, uint64_t, AS_IS, 0, UINT64_MAX)

static clip_fn clip_kernel(onyx_dtype t)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: return clip_f32;
    case ONYX_DTYPE_DOUBLE: return clip_f64;
    case ONYX_DTYPE_FLOAT16: return clip_f16;
    case ONYX_DTYPE_BFLOAT16: return clip_bf16;
    case ONYX_DTYPE_INT8: return clip_i8;
    case ONYX_DTYPE_INT16: return clip_i16;
    case ONYX_DTYPE_INT32: return clip_i32;
    case ONYX_DTYPE_INT64: return clip_i64;
    case ONYX_DTYPE_UINT8: return clip_u8;
    case ONYX_DTYPE_UINT16: return clip_u16;
    case ONYX_DTYPE_UINT32: return clip_u32;
    case ONYX_DTYPE_UINT64: return clip_u64;
    default: return NULL;
    }
}

bool ox_clip_supported(onyx_dtype t) { return clip_kernel(t) != NULL; }

bool ox_clip(onyx_dtype t, int64_t n, const void *x, const void *lo, const void *hi, void *y,
             int threads)
{
    clip_fn fn = clip_kernel(t);
    if (!fn) return false;
    if (n <= 0) return true;
    const size_t esize = onyx_dtype_size(t);
    int64_t chunk, chunks = plan_chunks(n, threads, &chunk);
    if (chunks == 1) {
        fn(n, x, lo, hi, y);
        return true;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int64_t c = 0; c < chunks; c++) {
        int64_t off = c * chunk, len = off + chunk < n ? chunk : n - off;
        fn(len, (const char *)x + (size_t)off * esize, lo, hi, (char *)y + (size_t)off * esize);
    }
    return true;
}
