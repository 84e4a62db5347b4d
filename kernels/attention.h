/* attention.h — the loops of the transformer ops: scaled dot-product attention (Attention),
 * rotary position embedding (RotaryEmbedding) and the SwiGLU gate.
 *
 * Attention and RotaryEmbedding on float16 and bfloat16 compute in float32 or double but
 * round every intermediate to their dtype where the spec's function body (and the ONNX
 * reference) computes in that dtype, so results match it to the last bit in nearly every
 * case: those formats are too coarse for one final rounding to stay within the tests'
 * tolerance. */
#ifndef ONYX_KERNELS_ATTENTION_H
#define ONYX_KERNELS_ATTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

/* A [batch, head, row, column] view of a tensor whose columns are contiguous: element
 * (b, h, r, c) sits at b * sb + h * sh + r * sr + c. data is NULL for an absent tensor. */
typedef struct ox_attn_view {
    onyx_dtype dtype;
    void *data;
    int64_t sb, sh, sr;
} ox_attn_view;

/* One scaled dot-product attention: for each batch b and query head h (served by key/value
 * head h / (q_heads / kv_heads)), the keys and values are past rows 0..past_len-1 followed by
 * the new rows. q, k, past_k and y share one dtype (float, float16 or bfloat16: T1); v and
 * past_v share another (T2). */
typedef struct ox_attention {
    int64_t batch, q_heads, kv_heads, q_len, past_len, new_len, head_size, v_head_size;
    ox_attn_view q, k, v, past_k, past_v;
    ox_attn_view y;
    /* Optional attn_mask, broadcast to [batch, q_heads, q_len, mask_len] (strides 0 where it
     * broadcasts): bool selects keys, any other dtype is added to the scores. Keys from
     * mask_len on are masked out (the mask may be shorter than past_len + new_len). */
    bool has_mask;
    ox_attn_view mask;
    int64_t mask_len;
    bool causal;                         /* key j is seen by query i iff j <= i + offset */
    int64_t left_window, right_window;   /* sliding window around i + offset; -1: unbounded */
    const int64_t *nonpad;               /* keys valid per batch (external cache), or NULL */
    float qk_scale;    /* sqrt(scale), already rounded to T1, multiplied into Q and K */
    float softcap;     /* > 0: scores become softcap * tanh(scores / softcap) */
    onyx_dtype softmax_type; /* float, double, float16 or bfloat16 */
    /* Optional qk_matmul_output [batch, q_heads, q_len, keys] in T1: the scores after the
     * matmul (mode 0), after softcap (1), after adding the bias (2) or after softmax (3). */
    ox_attn_view scores;
    int scores_mode;
} ox_attention;

/* Scratch bytes one worker needs; ox_attention_run takes `workers` such blocks. */
size_t ox_attention_worker_bytes(const ox_attention *a);
/* Computes y (and scores). Each (batch, query head) pair is computed whole by one worker,
 * so results do not depend on the number of workers or threads. */
void ox_attention_run(const ox_attention *a, void *scratch, int64_t workers, int threads);
/* dst, dense [batch, heads, past_len + new_len, cols] of element size es, receives the past
 * rows then the new ones (present_key / present_value). */
void ox_attention_concat(void *dst, const ox_attn_view *past, const ox_attn_view *cur,
                         int64_t batch, int64_t heads, int64_t past_len, int64_t new_len,
                         int64_t cols, size_t es);

/* Rotary embedding of x into y (same layout). Row (b, h, s) of head_size values at
 * b * sb + h * sh + s * ss; its first rot_dim values are rotated as rot_dim / 2 pairs, either
 * (k, k + rot_dim / 2) or, interleaved, (2k, 2k + 1), by the angle whose cosine and sine are
 * at cache row position_ids[b * pos_sb + s * pos_ss] (rows of rot_dim / 2 values), or without
 * position ids at cache offset b * cache_sb + s * cache_ss. The caller has checked every
 * position id against the cache. dtype: float, float16 or bfloat16. */
typedef struct ox_rotary {
    onyx_dtype dtype;
    int64_t batch, heads, seq, head_size, rot_dim;
    int64_t sb, sh, ss;
    bool interleaved;
    const int64_t *position_ids;
    int64_t pos_sb, pos_ss, cache_sb, cache_ss;
} ox_rotary;
void ox_rotary_run(const ox_rotary *r, const void *x, const void *cos_cache, const void *sin_cache,
                   void *y, int threads);

/* y = a * sigmoid(alpha * a) * b over n elements of dtype t (float, double, float16,
 * bfloat16), computed in double and rounded once. */
void ox_swiglu(onyx_dtype t, int64_t n, const void *a, const void *b, void *y, double alpha,
               int threads);

#endif
