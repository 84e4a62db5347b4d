/* fuzz_model.c — libFuzzer target: any bytes as an ONNX model. Load (tight limits), plan,
 * and run once on zero-filled inputs when every input has a small fixed shape. Must never
 * crash, hang, leak or read out of bounds, whatever the bytes. */
#include <stdint.h>

#include "fuzz_run_once.h"
#include "onyx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

    run_once(m);
    onyx_model_free(m);
    return 0;
}
