/* fuzz_packed.c — libFuzzer target: any bytes as a packed onyx model (docs/PACKED_FORMAT.md).
 * Load (tight limits) from a 64-byte aligned copy, the zero-copy path a firmware uses, and,
 * when that succeeds, from a misaligned one (weights copied); plan and run once on
 * zero-filled inputs when every input has a small fixed shape. Must never crash, hang,
 * leak or read out of bounds, whatever the bytes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
