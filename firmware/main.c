/* main.c — the onyx firmware demo, the same source for every target (firmware/README.md):
 * classifies the bundled handwritten digit with the bundled digits model, both compiled into
 * the image as const arrays, with libonyx-core and every allocation in one static arena, and
 * prints the result over semihosting (the C library's stdout).
 *
 * Generated at build time (make firmware, into the build folder):
 *   model_data.c   onyx pack tools/demo/digits.onnx --c-array model_data.c --symbol model_data
 *   digit_input.c  firmware/npy2c.py tools/demo/digit_input.npy digit_input
 * and ONYX_FW_ARENA_BYTES, the arena `onyx pack` printed, comes as a -D define.
 *
 * Prints prob[i]=P (%.9g: the exact float), class=K, the arena used, and the result of the
 * same run in one byte less than that (which must fail cleanly with ONYX_E_NOMEM); returns 0
 * when everything went as it should. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "onyx.h"

#ifndef ONYX_FW_ARENA_BYTES
#error "build with -DONYX_FW_ARENA_BYTES=N, N the arena size `onyx pack` printed"
#endif

extern const uint8_t model_data[];
extern const size_t model_data_size, model_data_arena_bytes;
extern const float digit_input[];
extern const size_t digit_input_count;
extern const int digit_input_rank;
extern const int64_t digit_input_dims[];

size_t fw_stack_used(void); /* crt.c */

/* Everything onyx allocates: the model's graph tables, the session's plan, intermediate
 * tensors. The weights stay in flash (model_data), used in place. */
static uint8_t arena[ONYX_FW_ARENA_BYTES];
/* The input in RAM, as a sensor driver would leave it (the library only reads inputs, but
 * onyx_tensor.data is not const). */
static float input[64];

#define N_CLASSES 10

/* Loads the model, creates a session and runs it with an arena of `cap` bytes; the results
 * in probs. On failure returns the status and leaves the message in msg. */
static onyx_status classify(size_t cap, float *probs, size_t *peak, char *msg, size_t msg_cap)
{
    onyx_arena ar;
    onyx_arena_init(&ar, arena, cap);
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.alloc = onyx_arena_alloc; /* every allocation goes to the arena */
    lo.alloc_user = &ar;
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_error err = {0};
    onyx_status st = onyx_model_load_packed(model_data, model_data_size, &lo, &m, &err);
    if (!st) {
        onyx_session_options so;
        onyx_session_options_init(&so);
        so.opt_level = 0; /* onyx pack optimised the graph already */
        so.threads = 1;
        st = onyx_session_create(m, &so, &s, &err);
    }
    if (!st) {
        onyx_tensor in = {.dtype = ONYX_DTYPE_FLOAT, .rank = digit_input_rank, .data = input}, out;
        for (int d = 0; d < digit_input_rank; d++) in.dims[d] = digit_input_dims[d];
        st = onyx_session_run(s, &in, 1, &out, 1);
        if (st) snprintf(msg, msg_cap, "%s", onyx_session_error(s));
        else if (out.dtype != ONYX_DTYPE_FLOAT || out.rank != 2 || out.dims[1] != N_CLASSES) {
            snprintf(msg, msg_cap, "unexpected output shape");
            st = ONYX_E_SHAPE;
        } else {
            memcpy(probs, out.data, N_CLASSES * sizeof(float));
        }
    } else {
        snprintf(msg, msg_cap, "%s", err.message);
    }
    *peak = ar.peak;
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

int main(void)
{
    printf("onyx firmware demo: digits model (%u bytes packed), arena %u bytes\n", (unsigned)model_data_size,
           (unsigned)sizeof arena);
    if (model_data_arena_bytes != sizeof arena || digit_input_count != sizeof input / sizeof input[0]) {
        printf("error: built with another model or input than model_data.c / digit_input.c\n");
        return 1;
    }
    memcpy(input, digit_input, sizeof input);
    float probs[N_CLASSES];
    size_t peak = 0;
    char msg[512] = ""; /* onyx_error.message fits */
    onyx_status st = classify(sizeof arena, probs, &peak, msg, sizeof msg);
    if (st) {
        printf("error: %s: %s\n", onyx_status_string(st), msg);
        return 1;
    }
    int best = 0;
    for (int i = 0; i < N_CLASSES; i++) {
        printf("prob[%d]=%.9g\n", i, (double)probs[i]);
        if (probs[i] > probs[best]) best = i;
    }
    printf("class=%d\n", best);
    printf("arena used=%u of %u bytes\n", (unsigned)peak, (unsigned)sizeof arena);
    /* one byte less than what it used: a clean ONYX_E_NOMEM, not a crash */
    size_t peak2 = 0;
    st = classify(peak - 1, probs, &peak2, msg, sizeof msg);
    printf("smaller arena: %s: %s\n", onyx_status_string(st), msg);
    printf("stack used=%u bytes\n", (unsigned)fw_stack_used());
    return st == ONYX_E_NOMEM ? 0 : 1;
}
