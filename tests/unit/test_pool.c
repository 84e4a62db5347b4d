/* test_pool.c — the 2-D float max pool fast path (no indices, no dilation) against the
 * general path, which the same call takes when indices are asked for: same bits for every
 * stride, padding, kernel and ceil-style output size, NaN and signed zeros included. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "pool.h"

static uint32_t rng = 12345u;
static float next_value(void)
{
    rng = rng * 1664525u + 1013904223u;
    switch (rng >> 28) { /* a few specials among ordinary values */
    case 0: return NAN;
    case 1: return -0.0f;
    case 2: return 0.0f;
    default: return (float)((int32_t)(rng >> 8) % 1000) / 100.0f;
    }
}

/* Output size as ONNX computes it, floor or ceil (the window must start inside input+pad). */
static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, int ceil_mode)
{
    int64_t span = in + pb + pe - k;
    if (span < 0) return 0;
    int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + pb) o--;
    return o;
}

int main(void)
{
    int cases = 0;
    for (int64_t k = 1; k <= 5; k++)
        for (int64_t s = 1; s <= 3; s++)
            for (int64_t pad = 0; pad < k && pad <= 2; pad++)
                for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++)
                    for (int64_t h = 1; h <= 9; h += 4)
                        for (int64_t wd = 1; wd <= 41; wd += 5) { /* to 41: the AVX2 path's vectors */
                            ox_window w = {.nd = 2};
                            const int64_t in[2] = {h, wd};
                            for (int d = 0; d < 2; d++) {
                                w.in[d] = in[d];
                                w.kernel[d] = d ? k : (k > 3 ? 3 : k);
                                w.stride[d] = d ? s : 1 + (s % 2);
                                w.dil[d] = 1;
                                w.pad_begin[d] = pad;
                                w.pad_end[d] = d ? pad : 0;
                                w.out[d] = out_size(in[d], w.kernel[d], w.stride[d], w.pad_begin[d],
                                                    w.pad_end[d], ceil_mode);
                            }
                            const int64_t planes = 3, n_in = planes * h * wd,
                                          n_out = planes * w.out[0] * w.out[1];
                            if (n_out == 0) continue;
                            enum { CAP = 2048 }; /* 3 planes of at most 9x41 in, 11x45 out */
                            float x[CAP], fast[CAP], ref[CAP];
                            int64_t idx[CAP];
                            if (n_in > CAP || n_out > CAP) return 2;
                            for (int64_t i = 0; i < n_in; i++) x[i] = next_value();
                            for (int threads = 1; threads <= 2; threads++) {
                                ox_maxpool_f32(&w, planes, x, fast, NULL, false, threads);
                                ox_maxpool_f32(&w, planes, x, ref, idx, false, threads);
                                CHECK_MSG(memcmp(fast, ref, (size_t)n_out * sizeof *ref) == 0,
                                          "k=%lld s=%lld pad=%lld ceil=%d in=%lldx%lld threads=%d",
                                          (long long)k, (long long)s, (long long)pad, ceil_mode,
                                          (long long)h, (long long)wd, threads);
                            }
                            cases++;
                        }
    CHECK(cases > 300);
    return check_report("test_pool");
}
