/* rnn.h — the recurrent loops behind the RNN, GRU and LSTM ops.
 *
 * One call runs a whole layer: every direction over every time step. The input projection
 * X·W^T of all time steps (and both directions) is one GEMM up front; each step then needs
 * only the recurrent product H·R^T (one GEMM over the batch) and the gate arithmetic.
 *
 * Tensors are dense, in the compute type (float for float/float16/bfloat16, double for
 * double), shaped as the ONNX ops define them:
 *   x   [seq, batch, input]  (batch_major: [batch, seq, input])
 *   w   [dirs, G*hidden, input]      r [dirs, G*hidden, hidden]
 *   b   [dirs, 2*G*hidden]  (W biases then R biases; NULL: zero)
 *   p   [dirs, 3*hidden]    (LSTM peepholes i, o, f; NULL: zero)
 *   h0, c0, yh, yc  [dirs, batch, hidden]  (batch_major: [batch, dirs, hidden])
 *   y   [seq, dirs, batch, hidden]         (batch_major: [batch, seq, dirs, hidden])
 * with G gates: 1 (RNN), 3 (GRU: z, r, h) or 4 (LSTM: i, o, f, c).
 *
 * Per-batch sequence lengths (lens) end each sequence early: a reverse direction starts at
 * the sequence's own last step, outputs past the length are zero, and yh/yc hold the state
 * after the last valid step (zero for an empty sequence, as onnxruntime does).
 *
 * Threads are used by the GEMMs only (which are deterministic), so results do not depend on
 * the thread count. Nothing is allocated: the caller passes a work buffer of
 * ox_rnn_work_elems elements. */
#ifndef ONYX_KERNELS_RNN_H
#define ONYX_KERNELS_RNN_H

#include <stdbool.h>
#include <stdint.h>

typedef enum ox_rnn_kind { OX_RNN_SIMPLE, OX_RNN_GRU, OX_RNN_LSTM } ox_rnn_kind;

/* The activation functions the recurrent ops accept (see the ONNX RNN spec). */
typedef enum ox_rnn_act_fn {
    OX_RACT_RELU,
    OX_RACT_TANH,
    OX_RACT_SIGMOID,
    OX_RACT_AFFINE,           /* alpha*x + beta */
    OX_RACT_LEAKY_RELU,       /* x >= 0 ? x : alpha*x */
    OX_RACT_THRESHOLDED_RELU, /* x >= alpha ? x : 0 */
    OX_RACT_SCALED_TANH,      /* alpha*tanh(beta*x) */
    OX_RACT_HARD_SIGMOID,     /* min(max(alpha*x + beta, 0), 1) */
    OX_RACT_ELU,              /* x >= 0 ? x : alpha*(e^x - 1) */
    OX_RACT_SOFTSIGN,         /* x/(1 + |x|) */
    OX_RACT_SOFTPLUS          /* log(1 + e^x) */
} ox_rnn_act_fn;

typedef struct ox_rnn_act {
    ox_rnn_act_fn fn;
    float alpha, beta;
} ox_rnn_act;

/* Activations per direction, in the order the op lists them: RNN f; GRU f (z, r), g (h);
 * LSTM f (i, o, f), g (cell input), h (output). */
#define OX_RNN_MAX_ACTS 3

typedef struct ox_rnn_desc {
    ox_rnn_kind kind;
    int64_t seq, batch, input, hidden;
    int dirs;                 /* 1, or 2 for bidirectional (direction 1 runs backwards) */
    bool reverse;             /* with dirs == 1: the direction runs backwards */
    bool batch_major;         /* layout 1 */
    bool linear_before_reset; /* GRU: apply R_h before multiplying by the reset gate */
    bool input_forget;        /* LSTM: the forget gate is 1 - the input gate */
    bool clip;                /* clip gate pre-activations to [-clip_at, clip_at] */
    float clip_at;
    ox_rnn_act act[2][OX_RNN_MAX_ACTS];
    int threads;
} ox_rnn_desc;

/* Inputs and outputs, in the compute type. b, p, h0, c0 and lens may be NULL; so may any
 * output not wanted. lens values must lie in [0, seq] (the op checks them). */
typedef struct ox_rnn_io {
    const void *x, *w, *r, *b, *p, *h0, *c0;
    const int32_t *lens;
    void *y, *yh, *yc;
    const void *packed; /* float32 only, may be NULL: W and R as ox_rnn_pack left them */
} ox_rnn_io;

/* Gates per cell: 1, 3 or 4. */
int ox_rnn_gates(ox_rnn_kind kind);
/* Elements of the work buffer a call needs; false if the count overflows int64. */
bool ox_rnn_work_elems(const ox_rnn_desc *d, int64_t *n);

/* Constant float32 weights packed once (at plan time) instead of on every call: bytes for
 * ox_rnn_pack (0 if the size overflows), then the packing of W and R into dst (64-byte
 * aligned). The packed product gives the bits the call would have given packing itself. */
size_t ox_rnn_packed_bytes(const ox_rnn_desc *d);
void ox_rnn_pack(const ox_rnn_desc *d, const float *w, const float *r, void *dst);

void ox_rnn_f32(const ox_rnn_desc *d, const ox_rnn_io *io, float *work);
void ox_rnn_f64(const ox_rnn_desc *d, const ox_rnn_io *io, double *work);

#endif
