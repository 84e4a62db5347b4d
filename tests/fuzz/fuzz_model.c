/* fuzz_model.c — libFuzzer target: any bytes as an ONNX model. Load (tight limits), plan,
 * and run once on zero-filled inputs when every input has a small fixed shape. Must never
 * crash, hang, leak or read out of bounds, whatever the bytes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "onyx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_BYTES (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.max_tensor_bytes = 16 << 20;
    lo.max_total_bytes = 64 << 20;
    lo.max_nodes = 4096;
    lo.max_graph_depth = 16;
    onyx_model *m = NULL;
    onyx_error err;
    if (onyx_model_load_memory(data, size, &lo, &m, &err) != ONYX_OK) return 0;

    onyx_session_options so;
    onyx_session_options_init(&so);
    so.threads = 1;
    onyx_session *s = NULL;
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
    onyx_model_free(m);
    return 0;
}
