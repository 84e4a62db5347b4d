/* core_run.c — what a firmware does, on the host: links only libonyx-core.a (and libm), loads a
 * packed model in place from a 64-byte aligned buffer, and runs it with every allocation in
 * a fixed arena of exactly the size `onyx pack` printed. The program reads its files with
 * stdio; the library never does.
 * usage: core_run MODEL.onyx INPUT.npy ARENA_BYTES
 * prints the output values, "class=K" (argmax) and "peak=P" (the arena bytes used); then runs
 * again in P - 1 bytes, which must fail cleanly (ONYX_E_NOMEM, no crash), and prints
 * "smaller arena: <status>: <message>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onyx.h"

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = n > 0 ? aligned_alloc(64, ((size_t)n + 63) & ~(size_t)63) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Loads, creates a session and runs once in an arena of `cap` bytes. */
static onyx_status run(const unsigned char *model, size_t len, float *input, size_t cap, float *result, size_t *n_result,
                       size_t *peak, char *msg, size_t msgcap)
{
    unsigned char *arena = malloc(cap ? cap : 1);
    onyx_arena ar;
    onyx_arena_init(&ar, arena, cap);
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.alloc = onyx_arena_alloc;
    lo.alloc_user = &ar;
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.opt_level = 0;
    so.threads = 1;
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_error err = {0};
    onyx_status st = onyx_model_load_packed(model, len, &lo, &m, &err);
    if (!st) st = onyx_session_create(m, &so, &s, &err);
    if (!st) {
        onyx_value_info vi;
        onyx_model_input_info(m, 0, &vi);
        onyx_tensor in = {.dtype = ONYX_DTYPE_FLOAT, .rank = vi.rank, .data = input}, out;
        for (int d = 0; d < vi.rank; d++) in.dims[d] = vi.dims[d] < 0 ? 1 : vi.dims[d];
        st = onyx_session_run(s, &in, 1, &out, 1);
        if (st) snprintf(msg, msgcap, "%s", onyx_session_error(s));
        else {
            size_t n = 1;
            for (int d = 0; d < out.rank; d++) n *= (size_t)out.dims[d];
            *n_result = n;
            memcpy(result, out.data, n * sizeof(float));
        }
    } else {
        snprintf(msg, msgcap, "%s", err.message);
    }
    *peak = ar.peak;
    onyx_session_free(s);
    onyx_model_free(m);
    free(arena);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: core_run MODEL.onyx INPUT.npy ARENA_BYTES\n");
        return 2;
    }
    size_t len, npy_len, cap = (size_t)strtoull(argv[3], NULL, 10);
    unsigned char *model = read_all(argv[1], &len), *npy = read_all(argv[2], &npy_len);
    if (!model || !npy || npy_len < 10) {
        fprintf(stderr, "cannot read the model or the input\n");
        return 1;
    }
    size_t hdr = 10 + (size_t)(npy[8] | npy[9] << 8); /* .npy 1.0: float32 data after the header */
    float input[4096], result[4096];
    size_t n_in = (npy_len - hdr) / sizeof(float), n_out = 0, peak;
    if (n_in > 4096) return 1;
    memcpy(input, npy + hdr, n_in * sizeof(float));
    char msg[600] = "";
    if (run(model, len, input, cap, result, &n_out, &peak, msg, sizeof msg) != ONYX_OK) {
        printf("failed: %s\n", msg);
        return 1;
    }
    size_t best = 0;
    for (size_t i = 0; i < n_out; i++) {
        printf("%.9g\n", result[i]);
        if (result[i] > result[best]) best = i;
    }
    printf("class=%zu\npeak=%zu\n", best, peak);
    size_t need = peak, peak2;
    onyx_status st = run(model, len, input, need - 1, result, &n_out, &peak2, msg, sizeof msg);
    printf("smaller arena: %s: %s\n", onyx_status_string(st), msg);
    free(model);
    free(npy);
    return 0;
}
