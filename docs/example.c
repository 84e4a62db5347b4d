/* example.c — the onyx C API end to end: load a model, run it on a .npy input, print the
 * first output's argmax. Built and run by `make test`:  example MODEL.onnx INPUT.npy */
#include <stdio.h>

#include "onyx.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.onnx INPUT.npy\n", argv[0]);
        return 2;
    }
    onyx_error err = {0};
    onyx_model *model = NULL;
    onyx_session *session = NULL;
    onyx_tensor input = {0}, output;
    int rc = 1;

    if (onyx_model_load_file(argv[1], NULL, &model, &err) ||
        onyx_session_create(model, NULL, &session, &err) ||
        onyx_tensor_read_npy(argv[2], NULL, &input, &err)) {
        fprintf(stderr, "example: %s: %s\n", onyx_status_string(err.status), err.message);
        goto done;
    }
    if (onyx_session_run(session, &input, 1, &output, 1)) {
        fprintf(stderr, "example: %s\n", onyx_session_error(session));
        goto done;
    }
    if (output.dtype == ONYX_DTYPE_FLOAT) {
        const float *p = output.data;
        int64_t n = output.dims[output.rank - 1], best = 0;
        for (int64_t i = 1; i < n; i++)
            if (p[i] > p[best]) best = i;
        printf("class %lld (score %.4f), arena %zu bytes\n", (long long)best, p[best],
               onyx_session_arena_bytes(session));
        rc = 0;
    }
done:
    onyx_tensor_free(&input, NULL);
    onyx_session_free(session);
    onyx_model_free(model);
    return rc;
}
