/* conv_depthwise.c — depthwise 2-D convolution of one plane with AVX2+FMA (x86-64, when the
 * CPU has them) or NEON (AArch64): kernels 3 or 5 wide (any height), horizontal stride 1 or 2,
 * dilation 1, any padding. The portable path is the direct loop in conv.c, which serves every
 * other shape and every other CPU.
 *
 * Each output row runs in three parts: the columns whose taps reach into the left padding,
 * the interior (8 outputs per AVX2 vector, 4 per NEON vector, every tap inside the row, so no
 * bounds checks), and the columns reaching into the right padding. Rows of taps that fall
 * into the top or bottom padding are skipped. Every output starts at the bias and adds its
 * taps row by row, left to right, so the result does not depend on how the work is split
 * between threads. The interior's multiply-adds are fused, the edge columns' are not: as the
 * edges are narrower with NEON's 4 lanes than with AVX2's 8 or 16, the two differ in the last
 * bits of some outputs (within the conformance tolerance).
 *
 * With AVX2, a plane that fits a 64 KiB stack buffer once zero-bordered (all of MobileNet's
 * and EfficientNet's) is copied there instead and every output computed as a vector, four
 * at a time (dw_plane_padded): on the 14 x 14 and 7 x 7 maps of late layers most outputs
 * would otherwise be edge columns. Its edges are fused too. */
#include "conv.h"
#include "simd.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#define DW_NEON 1
#else
#define DW_NEON 0
#endif

bool ox_conv_dw_simd_handles(const ox_window *w)
{
    if (!(OX_SIMD_X86 || DW_NEON) || w->nd != 2) return false;
    const int64_t kw = w->kernel[1];
    return (kw == 3 || kw == 5) && w->kernel[0] >= 1 && w->kernel[0] <= 7 && w->dil[0] == 1 &&
           w->dil[1] == 1 && (w->stride[1] == 1 || w->stride[1] == 2) && w->stride[0] >= 1 &&
           (DW_NEON || ox_cpu_avx2());
}

#if OX_SIMD_X86 || DW_NEON
/* One output, taps clipped to the input (the columns next to the padding). */
static inline float dw_one(const ox_window *w, const float *x, const float *k, float bias, int64_t ky0,
                           int64_t ky1, int64_t iy_base, int64_t ox, int kw, int sw)
{
    const int64_t W = w->in[1];
    const int64_t ix0 = ox * sw - w->pad_begin[1];
    float acc = bias;
    for (int64_t ky = ky0; ky < ky1; ky++) {
        const float *xr = x + (iy_base + ky) * W;
        for (int kx = 0; kx < kw; kx++) {
            int64_t ix = ix0 + kx;
            if (ix >= 0 && ix < W) acc += k[ky * kw + kx] * xr[ix];
        }
    }
    return acc;
}
#endif

#if OX_SIMD_X86
#include <immintrin.h>

/* 8 floats x[p], x[p + 2], ..., x[p + 14] (reads x[p .. p + 15]). */
OX_TARGET_AVX2 static inline __m256 load_even(const float *x)
{
    __m256 a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8);
    __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* The plane, for a kernel width KW and horizontal stride SW known at compile time (the
 * callers below pass constants, and the always-inline body is specialised on them). */
OX_TARGET_AVX2 static inline __attribute__((always_inline)) void
dw_plane(const ox_window *w, const float *x, const float *k, float bias, float *y, const int KW, const int SW)
{
    const int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1];
    const int64_t KH = w->kernel[0], sh = w->stride[0], pt = w->pad_begin[0], pl = w->pad_begin[1];
    /* Interior: the first ox with ox*SW - pl >= 0, and the last ox whose 8 outputs read
     * (through full vector loads) only inside the row. */
    int64_t v0 = (pl + SW - 1) / SW;
    const int64_t reach = SW == 1 ? KW - 1 + 7 : KW - 1 + 15; /* from ox*SW - pl to the last element read */
    const int64_t last_start = W - 1 - reach + pl;            /* ox*SW <= last_start */
    const int64_t vlast = last_start < 0 ? -1 : last_start / SW;
    __m256 wv[7 * 5];
    for (int64_t i = 0; i < KH * KW; i++) wv[i] = _mm256_set1_ps(k[i]);
    const __m256 vbias = _mm256_set1_ps(bias);
    if (v0 > OW) v0 = OW;
    for (int64_t oy = 0; oy < OH; oy++) {
        float *yr = y + oy * OW;
        const int64_t iy_base = oy * sh - pt;
        int64_t ky0, ky1;
        ox_clip_range(iy_base, 1, KH, 0, H, &ky0, &ky1);
        int64_t ox = 0;
        for (; ox < v0; ox++) yr[ox] = dw_one(w, x, k, bias, ky0, ky1, iy_base, ox, KW, SW);
        /* 16 outputs at a time (each weight broadcast serves two vectors), then 8 */
        for (; ox + 16 <= OW && ox + 8 <= vlast; ox += 16) {
            __m256 acc0 = vbias, acc1 = vbias;
            for (int64_t ky = ky0; ky < ky1; ky++) {
                const float *xr = x + ((iy_base + ky) * W + ox * SW - pl); /* in bounds */
                for (int kx = 0; kx < KW; kx++) {
                    const __m256 wk = wv[ky * KW + kx];
                    acc0 = _mm256_fmadd_ps(wk, SW == 1 ? _mm256_loadu_ps(xr + kx) : load_even(xr + kx), acc0);
                    acc1 = _mm256_fmadd_ps(wk, SW == 1 ? _mm256_loadu_ps(xr + kx + 8) : load_even(xr + kx + 16), acc1);
                }
            }
            _mm256_storeu_ps(yr + ox, acc0);
            _mm256_storeu_ps(yr + ox + 8, acc1);
        }
        for (; ox + 8 <= OW && ox <= vlast; ox += 8) {
            __m256 acc = vbias;
            for (int64_t ky = ky0; ky < ky1; ky++) {
                const float *xr = x + ((iy_base + ky) * W + ox * SW - pl); /* in bounds */
                for (int kx = 0; kx < KW; kx++) {
                    __m256 xv = SW == 1 ? _mm256_loadu_ps(xr + kx) : load_even(xr + kx);
                    acc = _mm256_fmadd_ps(wv[ky * KW + kx], xv, acc);
                }
            }
            _mm256_storeu_ps(yr + ox, acc);
        }
        for (; ox < OW; ox++) yr[ox] = dw_one(w, x, k, bias, ky0, ky1, iy_base, ox, KW, SW);
    }
}

/* Small planes (the late stages of MobileNet and EfficientNet: 14x14, 7x7) would spend most
 * of their outputs in dw_one above, whose taps are clipped one by one. Instead the plane is
 * copied into a zero-bordered buffer on the stack (at most DW_PAD_FLOATS), every output is
 * then a vector one, tails stored through a mask. The taps run in the same order (bias, then
 * rows, then columns, fused); a tap on the border adds w * 0. */
#define DW_PAD_FLOATS 16384 /* 64 KiB: planes up to 112 x 112 (MobileNet's first) */

/* The padded buffer's rows and row length for kernel width KW, stride SW (0 rows: the plane
 * does not fit, or its padding is negative). */
static inline void dw_pad_geometry(const ox_window *w, int KW, int SW, int64_t *hp, int64_t *wp)
{
    const int64_t OH = w->out[0], OW = w->out[1];
    const int64_t owv = (OW + 7) / 8 * 8; /* outputs rounded up to whole vectors */
    const int64_t need = (owv - 8) * SW + KW + (SW == 1 ? 7 : 15); /* one past the last read */
    int64_t wpad = w->pad_begin[1] + w->in[1];
    if (wpad < need) wpad = need;
    *wp = wpad;
    *hp = (OH - 1) * w->stride[0] + w->kernel[0];
    if (w->pad_begin[0] < 0 || w->pad_begin[1] < 0 || OH <= 0 || OW <= 0 || *hp * wpad > DW_PAD_FLOATS)
        *hp = 0;
}

/* Stores the first n (1..8) lanes of v at y. */
OX_TARGET_AVX2 static inline void dw_store(float *y, __m256 v, int64_t n)
{
    if (n >= 8) {
        _mm256_storeu_ps(y, v);
        return;
    }
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(y, m, v);
}

/* The input vector of tap column kx at p (8 consecutive, or with SW 2 every other, floats). */
#define DW_LOAD(p, kx) (SW == 1 ? _mm256_loadu_ps((p) + (kx)) : load_even((p) + (kx)))

OX_TARGET_AVX2 static inline __attribute__((always_inline)) void
dw_plane_padded(const ox_window *w, const float *x, const float *k, float bias, float *y, const int KW, const int SW,
                int64_t hp, int64_t wp)
{
    const int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1];
    const int64_t KH = w->kernel[0], sh = w->stride[0], pt = w->pad_begin[0], pl = w->pad_begin[1];
    _Alignas(32) float buf[DW_PAD_FLOATS];
    const int64_t ncopy = W < wp - pl ? W : wp - pl; /* input columns some window reads */
    for (int64_t r = 0; r < hp; r++) {
        float *d = buf + r * wp;
        const int64_t iy = r - pt;
        if (iy < 0 || iy >= H) {
            for (int64_t i = 0; i < wp; i++) d[i] = 0.0f;
            continue;
        }
        for (int64_t i = 0; i < pl; i++) d[i] = 0.0f;
        for (int64_t i = 0; i < ncopy; i++) d[pl + i] = x[iy * W + i];
        for (int64_t i = pl + ncopy; i < wp; i++) d[i] = 0.0f;
    }
    __m256 wv[7 * 5];
    for (int64_t i = 0; i < KH * KW; i++) wv[i] = _mm256_set1_ps(k[i]);
    const __m256 vbias = _mm256_set1_ps(bias);
    /* The plane's output vectors (nvr per row, the last maybe partial), four at a time: four
     * independent chains of FMAs hide their latency. (oy, vx) walks them row by row. */
    const int64_t nvr = (OW + 7) / 8, nv = OH * nvr;
    int64_t v = 0, oy = 0, vx = 0;
    for (; v + 4 <= nv; v += 4) {
        const float *p[4];
        float *dst[4];
        int64_t cnt[4];
        for (int i = 0; i < 4; i++) {
            p[i] = buf + oy * sh * wp + vx * 8 * SW;
            dst[i] = y + oy * OW + vx * 8;
            cnt[i] = OW - vx * 8;
            if (++vx == nvr) vx = 0, oy++;
        }
        __m256 a0 = vbias, a1 = vbias, a2 = vbias, a3 = vbias;
        for (int64_t ky = 0; ky < KH; ky++) {
            const __m256 *wr = wv + ky * KW;
            const float *q0 = p[0] + ky * wp, *q1 = p[1] + ky * wp, *q2 = p[2] + ky * wp, *q3 = p[3] + ky * wp;
#define DW_TAP4(kx)                                              \
    if (KW > (kx)) {                                             \
        a0 = _mm256_fmadd_ps(wr[kx], DW_LOAD(q0, (kx)), a0);     \
        a1 = _mm256_fmadd_ps(wr[kx], DW_LOAD(q1, (kx)), a1);     \
        a2 = _mm256_fmadd_ps(wr[kx], DW_LOAD(q2, (kx)), a2);     \
        a3 = _mm256_fmadd_ps(wr[kx], DW_LOAD(q3, (kx)), a3);     \
    }
            DW_TAP4(0) DW_TAP4(1) DW_TAP4(2) DW_TAP4(3) DW_TAP4(4)
#undef DW_TAP4
        }
        dw_store(dst[0], a0, cnt[0]);
        dw_store(dst[1], a1, cnt[1]);
        dw_store(dst[2], a2, cnt[2]);
        dw_store(dst[3], a3, cnt[3]);
    }
    for (; v < nv; v++) {
        const float *p = buf + oy * sh * wp + vx * 8 * SW;
        __m256 a0 = vbias;
        for (int64_t ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) a0 = _mm256_fmadd_ps(wv[ky * KW + kx], DW_LOAD(p + ky * wp, kx), a0);
        dw_store(y + oy * OW + vx * 8, a0, OW - vx * 8);
        if (++vx == nvr) vx = 0, oy++;
    }
}

/* The padded kernel when the plane fits the buffer, else the clipping one. */
#define DW_PICK(KW, SW)                                                    \
    int64_t hp, wp;                                                        \
    dw_pad_geometry(w, KW, SW, &hp, &wp);                                  \
    if (hp > 0) dw_plane_padded(w, x, k, b, y, KW, SW, hp, wp);            \
    else dw_plane(w, x, k, b, y, KW, SW);

OX_TARGET_AVX2 static void dw_k3_s1(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    DW_PICK(3, 1)
}
OX_TARGET_AVX2 static void dw_k3_s2(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    DW_PICK(3, 2)
}
OX_TARGET_AVX2 static void dw_k5_s1(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    DW_PICK(5, 1)
}
OX_TARGET_AVX2 static void dw_k5_s2(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    DW_PICK(5, 2)
}

#elif DW_NEON
#include <arm_neon.h>

/* As the AVX2 plane above with 4-float vectors: 8 outputs at a time (each weight serves two
 * vectors), then 4. With stride 2, vld2q splits 8 input floats into the even ones (used)
 * and the odd ones. */
static inline __attribute__((always_inline)) void
dw_plane(const ox_window *w, const float *x, const float *k, float bias, float *y, const int KW, const int SW)
{
    const int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1];
    const int64_t KH = w->kernel[0], sh = w->stride[0], pt = w->pad_begin[0], pl = w->pad_begin[1];
    int64_t v0 = (pl + SW - 1) / SW;
    const int64_t reach = SW == 1 ? KW - 1 + 3 : KW - 1 + 7; /* from ox*SW - pl to the last element read */
    const int64_t last_start = W - 1 - reach + pl;           /* ox*SW <= last_start */
    const int64_t vlast = last_start < 0 ? -1 : last_start / SW;
    const float32x4_t vbias = vdupq_n_f32(bias);
    if (v0 > OW) v0 = OW;
    for (int64_t oy = 0; oy < OH; oy++) {
        float *yr = y + oy * OW;
        const int64_t iy_base = oy * sh - pt;
        int64_t ky0, ky1;
        ox_clip_range(iy_base, 1, KH, 0, H, &ky0, &ky1);
        int64_t ox = 0;
        for (; ox < v0; ox++) yr[ox] = dw_one(w, x, k, bias, ky0, ky1, iy_base, ox, KW, SW);
        for (; ox + 8 <= OW && ox + 4 <= vlast; ox += 8) {
            float32x4_t acc0 = vbias, acc1 = vbias;
            for (int64_t ky = ky0; ky < ky1; ky++) {
                const float *xr = x + ((iy_base + ky) * W + ox * SW - pl); /* in bounds */
                for (int kx = 0; kx < KW; kx++) {
                    const float wk = k[ky * KW + kx];
                    acc0 = vfmaq_n_f32(acc0, SW == 1 ? vld1q_f32(xr + kx) : vld2q_f32(xr + kx).val[0], wk);
                    acc1 = vfmaq_n_f32(acc1, SW == 1 ? vld1q_f32(xr + kx + 4) : vld2q_f32(xr + kx + 8).val[0], wk);
                }
            }
            vst1q_f32(yr + ox, acc0);
            vst1q_f32(yr + ox + 4, acc1);
        }
        for (; ox + 4 <= OW && ox <= vlast; ox += 4) {
            float32x4_t acc = vbias;
            for (int64_t ky = ky0; ky < ky1; ky++) {
                const float *xr = x + ((iy_base + ky) * W + ox * SW - pl); /* in bounds */
                for (int kx = 0; kx < KW; kx++)
                    acc = vfmaq_n_f32(acc, SW == 1 ? vld1q_f32(xr + kx) : vld2q_f32(xr + kx).val[0],
                                      k[ky * KW + kx]);
            }
            vst1q_f32(yr + ox, acc);
        }
        for (; ox < OW; ox++) yr[ox] = dw_one(w, x, k, bias, ky0, ky1, iy_base, ox, KW, SW);
    }
}

static void dw_k3_s1(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    dw_plane(w, x, k, b, y, 3, 1);
}
static void dw_k3_s2(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    dw_plane(w, x, k, b, y, 3, 2);
}
static void dw_k5_s1(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    dw_plane(w, x, k, b, y, 5, 1);
}
static void dw_k5_s2(const ox_window *w, const float *x, const float *k, float b, float *y)
{
    dw_plane(w, x, k, b, y, 5, 2);
}
#endif

void ox_conv_dw_plane_simd(const ox_window *w, const float *x, const float *k, float bias, float *y)
{
#if OX_SIMD_X86 || DW_NEON
    const bool s2 = w->stride[1] == 2;
    if (w->kernel[1] == 3) (s2 ? dw_k3_s2 : dw_k3_s1)(w, x, k, bias, y);
    else (s2 ? dw_k5_s2 : dw_k5_s1)(w, x, k, bias, y);
#else
    (void)w, (void)x, (void)k, (void)bias, (void)y;
#endif
}
