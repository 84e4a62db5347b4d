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
