/* fuzz_packed.c — libFuzzer target: any bytes as a packed onyx model (docs/PACKED_FORMAT.md).
 * Load (tight limits) from a 64-byte aligned copy, the zero-copy path a firmware uses, and,
 * when that succeeds, from a misaligned one (weights copied); plan and run once on
 * zero-filled inputs when every input has a small fixed shape. Must never crash, hang,
 * leak or read out of bounds, whatever the bytes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "onyx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_BYTES (1 << 20)

static void run_once(const onyx_model *m)
{
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.threads = 1;
    onyx_session *s = NULL;
    onyx_error err;
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    onyx_tensor *in = calloc(n_in + 1, sizeof *in), *out = calloc(n_out + 1, sizeof *out);
    bool runnable = in && out && onyx_session_create(m, &so, &s, &err) == ONYX_OK;
    for (size_t i = 0; runnable && i < n_in; i++) {
        onyx_value_info info;
        onyx_model_input_info(m, i, &info);
        size_t bytes = onyx_dtype_size(info.dtype);
        runnable = info.is_tensor && info.rank >= 0 && bytes > 0 && info.dtype != ONYX_DTYPE_STRING;
        in[i].dtype = info.dtype;
        in[i].rank = info.rank;
        for (int d = 0; runnable && d < info.rank; d++) {
            in[i].dims[d] = info.dims[d] < 0 ? 1 : info.dims[d];
            runnable = in[i].dims[d] <= MAX_INPUT_BYTES && (bytes *= (size_t)(in[i].dims[d] ? in[i].dims[d] : 1)) <= MAX_INPUT_BYTES;
        }
        if (runnable) runnable = (in[i].data = calloc(1, bytes)) != NULL;
    }
    if (runnable) onyx_session_run(s, in, n_in, out, n_out);
    for (size_t i = 0; in && i < n_in; i++) free(in[i].data);
    free(in);
    free(out);
    onyx_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.max_tensor_bytes = 16 << 20;
    lo.max_total_bytes = 64 << 20;
    lo.max_nodes = 4096;
    lo.max_graph_depth = 16;
    /* exactly `size` bytes (rounded up for aligned_alloc), so ASan sees any read past them */
    size_t cap = (size + 64) & ~(size_t)63;
    uint8_t *aligned = aligned_alloc(64, cap), *shifted = malloc(size + 1);
    if (!aligned || !shifted) {
        free(aligned);
        free(shifted);
        return 0;
    }
    if (size) memcpy(aligned, data, size);
    onyx_model *m = NULL;
    onyx_error err;
    if (onyx_model_load_packed(aligned, size, &lo, &m, &err) == ONYX_OK) {
        run_once(m);
        onyx_model_free(m);
        if (size) memcpy(shifted + 1, data, size);
        if (onyx_model_load_packed(shifted + 1, size, &lo, &m, &err) == ONYX_OK) onyx_model_free(m);
    }
    free(aligned);
    free(shifted);
    return 0;
}
