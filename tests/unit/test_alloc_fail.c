/* test_alloc_fail.c — allocation-failure injection (SQLite's discipline): load, plan and run
 * the bundled digits model with an allocator that fails the N-th request, for every N up to
 * the number of requests a clean run makes. Each attempt must fail with ONYX_E_NOMEM (or
 * succeed when N is past the last request), leave no block outstanding, and a following run
 * with a working allocator must give the same answer. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onyx.h"

typedef struct counting {
    long calls;      /* allocation requests so far */
    long fail_at;    /* fail this request (1-based); 0: never */
    long live;       /* blocks outstanding */
    long long bytes; /* bytes outstanding */
} counting;

static void *counting_alloc(void *user, void *ptr, size_t osize, size_t nsize)
{
    counting *c = user;
    if (nsize == 0) {
        if (ptr) {
            c->live--;
            c->bytes -= (long long)osize;
            free(ptr);
        }
        return NULL;
    }
    if (++c->calls == c->fail_at) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) {
        if (!ptr) c->live++;
        c->bytes += (long long)nsize - (long long)(ptr ? osize : 0);
    }
    return p;
}

/* One full cycle; returns the status of the first failing step and the predicted class. */
static onyx_status cycle(counting *c, const onyx_tensor *input, int *cls)
{
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.alloc = counting_alloc;
    lo.alloc_user = c;
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_error err;
    onyx_status st = onyx_model_load_file("tools/demo/digits.onnx", &lo, &m, &err);
    if (!st) st = onyx_session_create(m, NULL, &s, &err);
    onyx_tensor out;
    if (!st) st = onyx_session_run(s, input, 1, &out, 1);
    if (!st) {
        const float *p = out.data;
        *cls = 0;
        for (int i = 1; i < 10; i++)
            if (p[i] > p[*cls]) *cls = i;
    }
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

int main(void)
{
    onyx_tensor input;
    onyx_error err;
    CHECK(onyx_tensor_read_npy("tools/demo/digit_input.npy", NULL, &input, &err) == ONYX_OK);

    counting clean = {0};
    int want = -1;
    CHECK(cycle(&clean, &input, &want) == ONYX_OK);
    CHECK(clean.live == 0 && clean.bytes == 0);
    CHECK(want == 5);

    long wrong_status = 0, leaks = 0, wrong_answer = 0;
    for (long n = 1; n <= clean.calls; n++) {
        counting c = {0, n, 0, 0};
        int cls = -1;
        onyx_status st = cycle(&c, &input, &cls);
        if (st != ONYX_E_NOMEM) wrong_status++;
        if (c.live || c.bytes) leaks++;
        counting again = {0};
        cls = -1;
        if (cycle(&again, &input, &cls) != ONYX_OK || cls != want) wrong_answer++;
    }
    CHECK_MSG(wrong_status == 0, "%ld of %ld injected failures did not give ONYX_E_NOMEM", wrong_status, clean.calls);
    CHECK_MSG(leaks == 0, "%ld of %ld injected failures leaked", leaks, clean.calls);
    CHECK(wrong_answer == 0);
    CHECK(clean.calls > 20); /* the walk really covered the load, plan and run */
    onyx_tensor_free(&input, NULL);
    return check_report("alloc_fail");
}
