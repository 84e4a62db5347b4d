/* rnn.c — the recurrent layer loops of RNN, GRU and LSTM (see rnn.h), stamped out for float
 * and double from rnn_impl.h. */
#include <math.h>
#include <stddef.h>

#include "gemm.h"
#include "rnn.h"

int ox_rnn_gates(ox_rnn_kind kind)
{
    switch (kind) {
    case OX_RNN_GRU: return 3;
    case OX_RNN_LSTM: return 4;
    case OX_RNN_SIMPLE: break;
    }
    return 1;
}

/* Elements of the float32 packed copies of one direction's R (see rnn_impl.h), plus slack
 * to align them to 64 bytes; -1 if the size overflows. */
static int64_t packed_r_elems(const ox_rnn_desc *d, int64_t gh)
{
    const size_t a = ox_sgemm_packed_b_bytes(d->hidden, gh), b = ox_sgemm_packed_b_bytes(d->hidden, d->hidden);
    if ((d->hidden && gh && !a) || (d->hidden && !b) || a > (size_t)INT64_MAX / 2 || b > (size_t)INT64_MAX / 2)
        return -1;
    return (int64_t)((a + b) / sizeof(float)) + 64;
}

/* ---- weights packed once ----------------------------------------------------------------
 * Layout: W^T [input, dirs*GH] for the input projection, then per direction R^T of the
 * first step GEMM's gates and (GRU with a late reset) R^T of gate h; each block starts on a
 * 64-byte boundary. */

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static bool gru_late(const ox_rnn_desc *d) { return d->kind == OX_RNN_GRU && !d->linear_before_reset; }

/* Bytes of each block; false if a size overflows. */
static bool packed_parts(const ox_rnn_desc *d, size_t *w, size_t *r, size_t *rh)
{
    const int64_t gh = ox_rnn_gates(d->kind) * d->hidden, n1 = gru_late(d) ? 2 * d->hidden : gh;
    *w = *r = *rh = 0;
    if (d->dirs > 0 && gh > INT64_MAX / d->dirs) return false;
    *w = round64(ox_sgemm_packed_b_bytes(d->input, d->dirs * gh));
    *r = round64(ox_sgemm_packed_b_bytes(d->hidden, n1));
    *rh = gru_late(d) ? round64(ox_sgemm_packed_b_bytes(d->hidden, d->hidden)) : 0;
    return *w && *r && (!gru_late(d) || *rh) && *w < SIZE_MAX / 4 && *r < SIZE_MAX / 8 && *rh < SIZE_MAX / 8;
}

size_t ox_rnn_packed_bytes(const ox_rnn_desc *d)
{
    size_t w, r, rh;
    if (d->input <= 0 || d->hidden <= 0 || !packed_parts(d, &w, &r, &rh)) return 0;
    return w + (size_t)d->dirs * (r + rh);
}

/* Where direction dir's packed R (and R_h) start in a block made by ox_rnn_pack. */
static void packed_r_at(const ox_rnn_desc *d, const void *packed, int dir, const void **r, const void **rh)
{
    size_t w, rb, rhb;
    packed_parts(d, &w, &rb, &rhb);
    const char *at = (const char *)packed + w + (size_t)dir * (rb + rhb);
    *r = at;
    *rh = at + rb;
}

void ox_rnn_pack(const ox_rnn_desc *d, const float *w, const float *r, void *dst)
{
    const int64_t H = d->hidden, gh = ox_rnn_gates(d->kind) * H, n1 = gru_late(d) ? 2 * H : gh;
    ox_sgemm_pack_b(true, d->input, d->dirs * gh, w, d->input, dst);
    for (int dir = 0; dir < d->dirs; dir++) {
        size_t wb, rb, rhb;
        packed_parts(d, &wb, &rb, &rhb);
        char *at = (char *)dst + wb + (size_t)dir * (rb + rhb);
        const float *rd = r + dir * gh * H;
        ox_sgemm_pack_b(true, H, n1, rd, H, at);
        if (gru_late(d)) ox_sgemm_pack_b(true, H, H, rd + 2 * H * H, H, at + rb);
    }
}

/* The work buffer: X·W^T [seq*batch, dirs*GH], gates [batch, GH], h, c and GRU's r (.) H
 * [batch, hidden] each, the summed biases [GH] and GRU's separate R_h bias [hidden], then
 * (float32) the prepacked recurrent weights. */
bool ox_rnn_work_elems(const ox_rnn_desc *d, int64_t *n)
{
    /* G * hidden is a dim of R, so it cannot overflow; the products below can. */
    const int64_t gh = ox_rnn_gates(d->kind) * d->hidden;
    const int64_t parts[][4] = {
        {d->seq, d->batch, d->dirs, gh},
        {d->batch, gh, 1, 1},
        {d->batch, d->hidden, 3, 1},
        {gh + d->hidden, 1, 1, 1},
        {packed_r_elems(d, gh), 1, 1, 1},
    };
    int64_t total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        int64_t p = 1;
        for (int k = 0; k < 4; k++) {
            if (parts[i][k] < 0) return false;
            if (parts[i][k] != 0 && p > INT64_MAX / parts[i][k]) return false;
            p *= parts[i][k];
        }
        if (p > INT64_MAX - total) return false;
        total += p;
    }
    *n = total;
    return true;
}

#define RNN_T float
#define RNN_PACKED_R 1 /* the recurrent GEMMs read R prepacked (ox_sgemm_packed) */
#define RNN_NAME(n) n##_f32
#define RNN_GEMM ox_sgemm
#define RNN_EXP expf
#define RNN_EXPM1 expm1f
#define RNN_LOG1P log1pf
#define RNN_TANH tanhf
#define RNN_FABS fabsf
#include "rnn_impl.h"
#undef RNN_T
#undef RNN_PACKED_R
#undef RNN_NAME
#undef RNN_GEMM
#undef RNN_EXP
#undef RNN_EXPM1
#undef RNN_LOG1P
#undef RNN_TANH
#undef RNN_FABS

#define RNN_T double
#define RNN_NAME(n) n##_f64
#define RNN_GEMM ox_dgemm
#define RNN_EXP exp
#define RNN_EXPM1 expm1
#define RNN_LOG1P log1p
#define RNN_TANH tanh
#define RNN_FABS fabs
#include "rnn_impl.h"
#undef RNN_T
#undef RNN_NAME
#undef RNN_GEMM
#undef RNN_EXP
#undef RNN_EXPM1
#undef RNN_LOG1P
#undef RNN_TANH
#undef RNN_FABS
