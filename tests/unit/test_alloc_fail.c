/* test_alloc_fail.c — allocation-failure injection (SQLite's discipline): load, plan and run
 * several models — the bundled digits CNN, and node-suite models with control flow,
 * sequences and recurrence — with an allocator that fails the N-th request, for every N up
 * to the number of requests a clean cycle makes. Each attempt must fail with ONYX_E_NOMEM,
 * leave no block outstanding, and a following cycle with a working allocator must give the
 * same outputs. */
#include <stdbool.h>
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

#define MAX_IO 8

typedef struct model_case {
    const char *path;
    onyx_value in[MAX_IO];
    size_t n_in;
    double checksum; /* of a clean cycle's first output */
} model_case;

static double checksum(const onyx_value *v)
{
    const onyx_tensor *t = v->kind == ONYX_VALUE_SEQUENCE && v->n_items ? &v->items[0] : &v->tensor;
    // cppcheck-suppress uninitStructMember ; *v was filled by a successful run (cycle())
    if (!t->data || (t->dtype != ONYX_DTYPE_FLOAT && t->dtype != ONYX_DTYPE_INT64)) return 0;
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= t->dims[d];
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += t->dtype == ONYX_DTYPE_FLOAT ? ((const float *)t->data)[i] : (double)((const int64_t *)t->data)[i];
    return s + (double)v->n_items;
}

/* One load + plan + run cycle; returns the first failing status and the output checksum. */
static onyx_status cycle(counting *c, const model_case *mc, double *sum)
{
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.alloc = counting_alloc;
    lo.alloc_user = c;
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_error err;
    onyx_value out[MAX_IO];
    onyx_status st = onyx_model_load_file(mc->path, &lo, &m, &err);
    if (!st) st = onyx_session_create(m, NULL, &s, &err);
    if (!st) st = onyx_session_run_values(s, mc->in, mc->n_in, out, 1);
    if (!st) *sum = checksum(&out[0]);
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

/* Reads a node-suite test's first data set inputs (returns false if the suite is absent). */
static bool load_case(model_case *mc, const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/model.onnx", dir);
    mc->path = path;
    onyx_model *m = NULL;
    onyx_error err;
    if (onyx_model_load_file(path, NULL, &m, &err) != ONYX_OK) return false;
    mc->n_in = onyx_model_input_count(m);
    bool ok = mc->n_in <= MAX_IO;
    for (size_t i = 0; ok && i < mc->n_in; i++) {
        onyx_value_info info;
        char file[512];
        onyx_model_input_info(m, i, &info);
        snprintf(file, sizeof file, "%s/test_data_set_0/input_%zu.pb", dir, i);
        ok = onyx_value_read_pb(file, NULL, info.kind, &mc->in[i], &err) == ONYX_OK;
    }
    onyx_model_free(m);
    return ok;
}

static void walk(model_case *mc)
{
    counting clean = {0};
    double want = 0, got = 0;
    CHECK_MSG(cycle(&clean, mc, &want) == ONYX_OK, "%s", mc->path);
    CHECK(clean.live == 0 && clean.bytes == 0);
    long wrong_status = 0, leaks = 0, wrong_answer = 0;
    for (long n = 1; n <= clean.calls; n++) {
        counting c = {0, n, 0, 0};
        if (cycle(&c, mc, &got) != ONYX_E_NOMEM) wrong_status++;
        if (c.live || c.bytes) leaks++;
        counting again = {0};
        if (cycle(&again, mc, &got) != ONYX_OK || got != want) wrong_answer++;
    }
    CHECK_MSG(wrong_status == 0, "%s: %ld of %ld injected failures did not give ONYX_E_NOMEM", mc->path, wrong_status, clean.calls);
    CHECK_MSG(leaks == 0, "%s: %ld of %ld injected failures leaked", mc->path, leaks, clean.calls);
    CHECK_MSG(wrong_answer == 0, "%s: %ld recoveries gave other results", mc->path, wrong_answer);
    CHECK(clean.calls > 20); /* the walk really covered load, plan and run */
    for (size_t i = 0; i < mc->n_in; i++) onyx_value_free(&mc->in[i], NULL);
}

int main(void)
{
    onyx_error err;
    model_case digits = {.path = "tools/demo/digits.onnx", .n_in = 1};
    digits.in[0].kind = ONYX_VALUE_TENSOR;
    CHECK(onyx_tensor_read_npy("tools/demo/digit_input.npy", NULL, &digits.in[0].tensor, &err) == ONYX_OK);
    walk(&digits);

    /* control flow, sequences, optionals, recurrence and a dynamic shape, from the node suite */
    static const char *const tests[] = {"test_if_seq", "test_loop11", "test_loop13_seq", "test_scan9_sum",
                                        "test_sequence_map_add_2_sequences", "test_optional_get_element_sequence",
                                        "test_lstm_with_peepholes", "test_nonzero_example"};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        char dir[256], path[512];
        model_case mc;
        memset(&mc, 0, sizeof mc);
        snprintf(dir, sizeof dir, ".cache/node-tests/%s", tests[i]);
        bool ok = load_case(&mc, dir, path, sizeof path);
        CHECK_MSG(ok, "%s: the node suite must be materialised (make node-tests)", dir);
        if (ok) walk(&mc);
    }
    return check_report("alloc_fail");
}
