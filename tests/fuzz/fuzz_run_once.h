/* fuzz_run_once.h — what the model fuzz targets do with a model that loaded: plan it and run
 * once on zero-filled inputs when every input is a non-string tensor of known rank (symbolic
 * dims as 1) and at most MAX_INPUT_BYTES. */
#ifndef ONYX_FUZZ_RUN_ONCE_H
#define ONYX_FUZZ_RUN_ONCE_H

#include <stdbool.h>
#include <stdlib.h>

#include "onyx.h"

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

#endif
