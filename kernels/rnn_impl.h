/* rnn_impl.h — the body of kernels/rnn.c for one compute type (private to kernels/).
 *
 * Included once per type with RNN_T (the type), RNN_NAME(n) (a name with the type's suffix),
 * RNN_GEMM (ox_sgemm / ox_dgemm) and the math functions RNN_EXP, RNN_EXPM1, RNN_LOG1P,
 * RNN_TANH and RNN_FABS of that type defined; with RNN_PACKED_R (float) the recurrent
 * weights are packed once per direction and every step multiplies by the packed copy, so
 * the step's GEMM (a few rows times all of R) does not re-pack R^T each time. See rnn.h for
 * the layouts. */

/* x[i] = act(x[i]) for i < n. The switch sits outside the loops so each is a plain loop. */
static void RNN_NAME(activate)(const ox_rnn_act *a, RNN_T *x, int64_t n)
{
    const RNN_T al = (RNN_T)a->alpha, be = (RNN_T)a->beta;
    switch (a->fn) {
    case OX_RACT_RELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? 0 : x[i];
        break;
    case OX_RACT_TANH:
        for (int64_t i = 0; i < n; i++) x[i] = RNN_TANH(x[i]);
        break;
    case OX_RACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) x[i] = 1 / (1 + RNN_EXP(-x[i]));
        break;
    case OX_RACT_AFFINE:
        for (int64_t i = 0; i < n; i++) x[i] = al * x[i] + be;
        break;
    case OX_RACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? al * x[i] : x[i];
        break;
    case OX_RACT_THRESHOLDED_RELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] >= al ? x[i] : 0;
        break;
    case OX_RACT_SCALED_TANH:
        for (int64_t i = 0; i < n; i++) x[i] = al * RNN_TANH(be * x[i]);
        break;
    case OX_RACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) {
            const RNN_T v = al * x[i] + be;
            x[i] = v < 0 ? 0 : v > 1 ? 1 : v; /* NaN stays NaN */
        }
        break;
    case OX_RACT_ELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? al * RNN_EXPM1(x[i]) : x[i];
        break;
    case OX_RACT_SOFTSIGN:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1 + RNN_FABS(x[i]));
        break;
    case OX_RACT_SOFTPLUS:
        /* log(1 + e^x) without overflowing e^x for large x. */
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] > 0 ? x[i] + RNN_LOG1P(RNN_EXP(-x[i])) : RNN_LOG1P(RNN_EXP(x[i]));
        break;
    }
}

/* Clips v to [-k, k] when clipping is on; NaN passes through. */
static inline RNN_T RNN_NAME(clip)(const ox_rnn_desc *d, RNN_T v)
{
    if (!d->clip) return v;
    const RNN_T k = (RNN_T)d->clip_at;
    return v < -k ? -k : v > k ? k : v;
}

/* g[j] = clip(xw[j] + g[j] + bias[j]): a gate's pre-activation, g holding the recurrent
 * product H·R^T. */
static void RNN_NAME(pre_activate)(const ox_rnn_desc *d, RNN_T *g, const RNN_T *xw,
                                   const RNN_T *bias, int64_t n)
{
    for (int64_t j = 0; j < n; j++) g[j] = RNN_NAME(clip)(d, xw[j] + g[j] + bias[j]);
}

/* Everything one direction's run works on. */
typedef struct RNN_NAME(rnn_run) {
    const ox_rnn_desc *d;
    const ox_rnn_io *io;
    int dir;
    bool backward;
    int64_t H, GH; /* hidden size, gates * hidden */
    const RNN_T *xw; /* X·W^T of every (time, batch) row, all directions: [rows, dirs*GH] */
    const RNN_T *r;  /* this direction's R: [GH, H] */
    const RNN_T *p;  /* this direction's peepholes [3H] (i, o, f), or NULL */
    const ox_rnn_act *act;
    RNN_T *gates;    /* [batch, GH]: recurrent products, then gate values */
    RNN_T *h, *c;    /* [batch, H]: hidden and cell state */
    RNN_T *rh;       /* [batch, H]: GRU's r (.) H */
    RNN_T *bias;     /* [GH]: Wb + Rb (GRU with linear_before_reset: Wb only for gate h) */
    RNN_T *rbh;      /* [H]: GRU's Rb of gate h (linear_before_reset) */
#ifdef RNN_PACKED_R
    const void *packed_r;  /* R^T of the first step GEMM's gates, packed (64-byte aligned) */
    const void *packed_rh; /* GRU with a late reset: R^T of gate h, packed */
#endif
} RNN_NAME(rnn_run);

/* gates[:, gate0 : gate0+n] = a · R[gate0 : gate0+n]^T for the batch rows (a is [batch, H]);
 * which selects the packed copy of those rows. */
static void RNN_NAME(recurrent_gemm)(const RNN_NAME(rnn_run) *u, const RNN_T *a, int64_t gate0,
                                     int64_t n, RNN_T *out)
{
    const ox_rnn_desc *d = u->d;
#ifdef RNN_PACKED_R
    ox_sgemm_packed(false, d->batch, n, u->H, 1, a, u->H, gate0 ? u->packed_rh : u->packed_r, 0,
                    out, u->GH, d->threads);
#else
    RNN_GEMM(false, true, d->batch, n, u->H, 1, a, u->H, u->r + gate0 * u->H, u->H, 0, out, u->GH,
             d->threads);
#endif
}

/* Length of batch b's sequence. */
static inline int64_t RNN_NAME(seq_len)(const ox_rnn_desc *d, const ox_rnn_io *io, int64_t b)
{
    return io->lens ? io->lens[b] : d->seq;
}

/* Offset of batch b's row in h0/c0/yh/yc for direction dir. */
static inline int64_t RNN_NAME(state_at)(const ox_rnn_desc *d, int dir, int64_t b)
{
    return (d->batch_major ? b * d->dirs + dir : dir * d->batch + b) * d->hidden;
}

/* X·W^T of (time t, batch b) for the run's direction. */
static inline const RNN_T *RNN_NAME(xw_at)(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b)
{
    const ox_rnn_desc *d = u->d;
    const int64_t row = d->batch_major ? b * d->seq + t : t * d->batch + b;
    return u->xw + (row * d->dirs + u->dir) * u->GH;
}

/* Stores batch b's new hidden state as Y at time t. */
static void RNN_NAME(emit_y)(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b)
{
    const ox_rnn_desc *d = u->d;
    if (!u->io->y) return;
    const int64_t at = d->batch_major ? ((b * d->seq + t) * d->dirs + u->dir) * d->hidden
                                      : ((t * d->dirs + u->dir) * d->batch + b) * d->hidden;
    RNN_T *y = (RNN_T *)u->io->y + at;
    const RNN_T *h = u->h + b * d->hidden;
    for (int64_t j = 0; j < d->hidden; j++) y[j] = h[j];
}

/* RNN: Ht = f(Xt·W^T + Ht-1·R^T + Wb + Rb). */
static void RNN_NAME(simple_cell)(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b)
{
    const int64_t H = u->H;
    RNN_T *g = u->gates + b * u->GH, *h = u->h + b * H;
    RNN_NAME(pre_activate)(u->d, g, RNN_NAME(xw_at)(u, t, b), u->bias, H);
    RNN_NAME(activate)(&u->act[0], g, H);
    for (int64_t j = 0; j < H; j++) h[j] = g[j];
}

/* LSTM, gates in order i, o, f, c:
 *   i = f(.. + Pi (.) Ct-1), f = f(.. + Pf (.) Ct-1) (or 1 - i with input_forget), c~ = g(..)
 *   Ct = f (.) Ct-1 + i (.) c~,  o = f(.. + Po (.) Ct),  Ht = o (.) h(Ct)
 * Clipping applies to the gates' pre-activations, not to Ct. */
static void RNN_NAME(lstm_cell)(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b)
{
    const ox_rnn_desc *d = u->d;
    const int64_t H = u->H;
    const RNN_T *xw = RNN_NAME(xw_at)(u, t, b);
    RNN_T *gi = u->gates + b * u->GH, *go = gi + H, *gf = go + H, *gc = gf + H;
    RNN_T *h = u->h + b * H, *c = u->c + b * H;
    const RNN_T *p = u->p;
    for (int64_t j = 0; j < H; j++) {
        const RNN_T pi = p ? p[j] * c[j] : 0, pf = p ? p[2 * H + j] * c[j] : 0;
        gi[j] = RNN_NAME(clip)(d, xw[j] + gi[j] + u->bias[j] + pi);
        gf[j] = RNN_NAME(clip)(d, xw[2 * H + j] + gf[j] + u->bias[2 * H + j] + pf);
        gc[j] = RNN_NAME(clip)(d, xw[3 * H + j] + gc[j] + u->bias[3 * H + j]);
    }
    RNN_NAME(activate)(&u->act[0], gi, H);
    if (d->input_forget) {
        for (int64_t j = 0; j < H; j++) gf[j] = 1 - gi[j];
    } else {
        RNN_NAME(activate)(&u->act[0], gf, H);
    }
    RNN_NAME(activate)(&u->act[1], gc, H);
    for (int64_t j = 0; j < H; j++) {
        c[j] = gf[j] * c[j] + gi[j] * gc[j];
        const RNN_T po = p ? p[H + j] * c[j] : 0;
        go[j] = RNN_NAME(clip)(d, xw[H + j] + go[j] + u->bias[H + j] + po);
        gc[j] = c[j]; /* c~ is spent: reuse its row for h(Ct) */
    }
    RNN_NAME(activate)(&u->act[0], go, H);
    RNN_NAME(activate)(&u->act[2], gc, H);
    for (int64_t j = 0; j < H; j++) h[j] = go[j] * gc[j];
}

/* GRU, first half: the update and reset gates z, r (gates z, r, h), and r (.) Ht-1 for the
 * hidden gate's recurrent product when that comes after the reset. */
static void RNN_NAME(gru_gates)(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b)
{
    const int64_t H = u->H;
    RNN_T *g = u->gates + b * u->GH;
    RNN_NAME(pre_activate)(u->d, g, RNN_NAME(xw_at)(u, t, b), u->bias, 2 * H);
    RNN_NAME(activate)(&u->act[0], g, 2 * H);
    if (!u->d->linear_before_reset) {
        const RNN_T *r = g + H, *h = u->h + b * H;
        RNN_T *rh = u->rh + b * H;
        for (int64_t j = 0; j < H; j++) rh[j] = r[j] * h[j];
    }
}

/* GRU, second half, with the hidden gate's recurrent product in gates[2H..3H):
 *   h~ = g(Xt·Wh^T + (r (.) Ht-1)·Rh^T + Rbh + Wbh)      (linear_before_reset 0)
 *   h~ = g(Xt·Wh^T + r (.) (Ht-1·Rh^T + Rbh) + Wbh)      (linear_before_reset 1)
 *   Ht = (1 - z) (.) h~ + z (.) Ht-1 */
static void RNN_NAME(gru_update)(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b)
{
    const ox_rnn_desc *d = u->d;
    const int64_t H = u->H;
    const RNN_T *xh = RNN_NAME(xw_at)(u, t, b) + 2 * H, *bh = u->bias + 2 * H;
    RNN_T *z = u->gates + b * u->GH, *r = z + H, *gh = r + H, *h = u->h + b * H;
    for (int64_t j = 0; j < H; j++) {
        const RNN_T rec = d->linear_before_reset ? r[j] * (gh[j] + u->rbh[j]) : gh[j];
        gh[j] = RNN_NAME(clip)(d, xh[j] + rec + bh[j]);
    }
    RNN_NAME(activate)(&u->act[1], gh, H);
    for (int64_t j = 0; j < H; j++) h[j] = (1 - z[j]) * gh[j] + z[j] * h[j];
}

typedef void (*RNN_NAME(cell_fn))(const RNN_NAME(rnn_run) *u, int64_t t, int64_t b);

/* Applies cell to every batch row still inside its sequence at step s, then (if emit)
 * stores the new hidden states as Y. Serial on purpose: this is a small fraction of a step's
 * work next to the recurrent GEMM, and a parallel region per step, between GEMMs that run on
 * OpenBLAS's own threads, costs more than it saves (its idle threads spin against BLAS). */
static void RNN_NAME(for_active_rows)(const RNN_NAME(rnn_run) *u, int64_t s,
                                      RNN_NAME(cell_fn) cell, bool emit)
{
    const ox_rnn_desc *d = u->d;
    for (int64_t b = 0; b < d->batch; b++) {
        const int64_t len = RNN_NAME(seq_len)(d, u->io, b);
        if (s >= len) continue; /* finished rows keep their state */
        const int64_t t = u->backward ? len - 1 - s : s;
        cell(u, t, b);
        if (emit) RNN_NAME(emit_y)(u, t, b);
    }
}

/* One time step of every sequence: the recurrent GEMM(s), then the cells. */
static void RNN_NAME(step)(const RNN_NAME(rnn_run) *u, int64_t s)
{
    const ox_rnn_desc *d = u->d;
    const int64_t H = u->H, GH = u->GH;
    const bool gru_late_reset = d->kind == OX_RNN_GRU && !d->linear_before_reset;
    /* gates = Ht-1 · R^T; with a late reset only z and r now, h after r is known. */
    RNN_NAME(recurrent_gemm)(u, u->h, 0, gru_late_reset ? 2 * H : GH, u->gates);
    switch (d->kind) {
    case OX_RNN_SIMPLE:
        RNN_NAME(for_active_rows)(u, s, RNN_NAME(simple_cell), true);
        break;
    case OX_RNN_LSTM:
        RNN_NAME(for_active_rows)(u, s, RNN_NAME(lstm_cell), true);
        break;
    case OX_RNN_GRU:
        RNN_NAME(for_active_rows)(u, s, RNN_NAME(gru_gates), false);
        if (gru_late_reset)
            RNN_NAME(recurrent_gemm)(u, u->rh, 2 * H, H, u->gates + 2 * H);
        RNN_NAME(for_active_rows)(u, s, RNN_NAME(gru_update), true);
        break;
    }
}

/* Sums the W and R biases of direction dir (GRU with linear_before_reset keeps R's hidden
 * gate bias apart: it goes inside the reset product). */
static void RNN_NAME(load_bias)(RNN_NAME(rnn_run) *u)
{
    const ox_rnn_desc *d = u->d;
    const int64_t GH = u->GH, H = u->H;
    const bool split_h = d->kind == OX_RNN_GRU && d->linear_before_reset;
    const RNN_T *wb = u->io->b ? (const RNN_T *)u->io->b + u->dir * 2 * GH : NULL;
    for (int64_t j = 0; j < GH; j++) {
        const bool apart = split_h && j >= 2 * H;
        u->bias[j] = wb ? wb[j] + (apart ? 0 : wb[GH + j]) : 0;
        if (apart) u->rbh[j - 2 * H] = wb ? wb[GH + j] : 0;
    }
}

/* Copies the initial state of direction dir (or zeros) into st [batch, H]. */
static void RNN_NAME(load_state)(const ox_rnn_desc *d, int dir, const void *init, RNN_T *st)
{
    const int64_t H = d->hidden;
    for (int64_t b = 0; b < d->batch; b++) {
        const RNN_T *src = init ? (const RNN_T *)init + RNN_NAME(state_at)(d, dir, b) : NULL;
        for (int64_t j = 0; j < H; j++) st[b * H + j] = src ? src[j] : 0;
    }
}

/* Writes the final state st into out (Y_h / Y_c): each row's state after its last step,
 * zero for an empty sequence. */
static void RNN_NAME(store_state)(const ox_rnn_desc *d, const ox_rnn_io *io, int dir,
                                  const RNN_T *st, void *out)
{
    if (!out) return;
    const int64_t H = d->hidden;
    for (int64_t b = 0; b < d->batch; b++) {
        RNN_T *dst = (RNN_T *)out + RNN_NAME(state_at)(d, dir, b);
        const bool empty = RNN_NAME(seq_len)(d, io, b) == 0;
        for (int64_t j = 0; j < H; j++) dst[j] = empty ? 0 : st[b * H + j];
    }
}

static void RNN_NAME(run_direction)(RNN_NAME(rnn_run) *u)
{
    const ox_rnn_desc *d = u->d;
    const ox_rnn_io *io = u->io;
    RNN_NAME(load_bias)(u);
    RNN_NAME(load_state)(d, u->dir, io->h0, u->h);
    if (d->kind == OX_RNN_LSTM) RNN_NAME(load_state)(d, u->dir, io->c0, u->c);
    /* GRU's r (.) H rows feed a GEMM even for rows that never start (empty sequences). */
    if (d->kind == OX_RNN_GRU)
        for (int64_t i = 0; i < d->batch * u->H; i++) u->rh[i] = 0;
    int64_t steps = 0;
    for (int64_t b = 0; b < d->batch; b++) {
        const int64_t len = RNN_NAME(seq_len)(d, io, b);
        if (len > steps) steps = len;
    }
    for (int64_t s = 0; s < steps; s++) RNN_NAME(step)(u, s);
    RNN_NAME(store_state)(d, io, u->dir, u->h, io->yh);
    if (d->kind == OX_RNN_LSTM) RNN_NAME(store_state)(d, io, u->dir, u->c, io->yc);
}

void RNN_NAME(ox_rnn)(const ox_rnn_desc *d, const ox_rnn_io *io, RNN_T *work)
{
    const int64_t S = d->seq, B = d->batch, I = d->input, H = d->hidden;
    const int64_t GH = ox_rnn_gates(d->kind) * H, DGH = d->dirs * GH;
    /* Y is zero past each sequence's end; valid steps overwrite their rows. */
    if (io->y)
        for (int64_t i = 0, n = S * d->dirs * B * H; i < n; i++) ((RNN_T *)io->y)[i] = 0;
    if (B == 0 || H == 0) return; /* every output is empty */

    RNN_T *xw = work, *gates = xw + S * B * DGH, *h = gates + B * GH, *c = h + B * H;
    RNN_T *rh = c + B * H, *bias = rh + B * H, *rbh = bias + GH;
#ifdef RNN_PACKED_R
    if (I > 0 && io->packed)
        ox_sgemm_packed(false, S * B, DGH, I, 1, io->x, I, io->packed, 0, xw, DGH, d->threads);
    else
#endif
    if (I > 0)
        RNN_GEMM(false, true, S * B, DGH, I, 1, io->x, I, io->w, I, 0, xw, DGH, d->threads);
    else
        for (int64_t i = 0; i < S * B * DGH; i++) xw[i] = 0;

    for (int dir = 0; dir < d->dirs; dir++) {
        RNN_NAME(rnn_run) u = {
            .d = d, .io = io, .dir = dir, .backward = dir == 1 || d->reverse, .H = H, .GH = GH,
            .xw = xw, .r = (const RNN_T *)io->r + dir * GH * H,
            .p = io->p ? (const RNN_T *)io->p + dir * 3 * H : NULL, .act = d->act[dir],
            .gates = gates, .h = h, .c = c, .rh = rh, .bias = bias, .rbh = rbh};
#ifdef RNN_PACKED_R
        /* work is 64-byte aligned (scratch), so a multiple of 16 floats keeps the alignment */
        const int64_t at = (rbh + H - work + 15) / 16 * 16;
        const bool late = d->kind == OX_RNN_GRU && !d->linear_before_reset;
        const int64_t n1 = late ? 2 * H : GH;
        const size_t first = (ox_sgemm_packed_b_bytes(H, n1) + 63) / 64 * 64;
        if (io->packed) { /* packed once at plan time */
            packed_r_at(d, io->packed, dir, &u.packed_r, &u.packed_rh);
        } else {
            void *own = work + at, *own_h = (char *)own + first;
            ox_sgemm_pack_b(true, H, n1, u.r, H, own);
            if (late) ox_sgemm_pack_b(true, H, H, u.r + 2 * H * H, H, own_h);
            u.packed_r = own;
            u.packed_rh = own_h;
        }
#endif
        RNN_NAME(run_direction)(&u);
    }
}
