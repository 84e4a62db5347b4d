/* test_packed.c — the packed model format (docs/PACKED_FORMAT.md) and the arena allocator:
 * pack -> load -> run equals the .onnx run bit for bit (in place from read-only memory, from a
 * misaligned copy, through load_memory); hostile packed bytes (bad magic and version,
 * truncation, sections out of bounds or overlapping, misaligned or overlapping tensors, huge
 * counts, every byte flipped) give clear errors and never crash; onyx_arena and runs in a
 * fixed arena fail cleanly when it is too small. */
#include <stdlib.h>
#include <string.h>
#ifndef __wasi__
#include <sys/mman.h>
#endif

#include "check.h"
#include "model.h"
#include "onyx.h"

#define MODEL "tools/demo/digits.onnx"
#define INPUT "tools/demo/digit_input.npy"

static onyx_tensor input;
static float want[10];

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)get64((const uint8_t[8]){p[0], p[1], p[2], p[3]}); }

/* Runs m on the digit; 0 on success with the 10 outputs in out. */
static onyx_status run_model(const onyx_model *m, float *out, const onyx_session_options *so)
{
    onyx_session *s = NULL;
    onyx_error err;
    onyx_status st = onyx_session_create(m, so, &s, &err);
    onyx_tensor o = {0};
    if (!st) st = onyx_session_run(s, &input, 1, &o, 1);
    if (!st && out) memcpy(out, o.data, sizeof want);
    onyx_session_free(s);
    return st;
}

/* Loads the packed model with every allocation in an arena of n bytes and runs it (out may
 * be NULL); *peak gets the arena's high-water mark. */
static onyx_status run_in_arena(const void *packed, size_t size, uint8_t *arena, size_t n,
                                const onyx_session_options *so, float *out, size_t *peak)
{
    onyx_arena ar;
    onyx_arena_init(&ar, arena, n);
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.alloc = onyx_arena_alloc;
    lo.alloc_user = &ar;
    onyx_model *m = NULL;
    onyx_error err;
    onyx_status st = onyx_model_load_packed(packed, size, &lo, &m, &err);
    if (!st) st = run_model(m, out, so);
    onyx_model_free(m);
    *peak = ar.peak;
    return st;
}

/* Loads packed bytes; the status, with the message in err. */
static onyx_status load(const void *b, size_t n, onyx_error *err)
{
    onyx_model *m = NULL;
    onyx_status st = onyx_model_load_packed(b, n, NULL, &m, err);
    if (!st) {
        float out[10];
        run_model(m, out, NULL); /* whatever the bytes made of it: must not crash */
    }
    onyx_model_free(m);
    return st;
}

static bool weights_inside(const onyx_model *m, const uint8_t *b, size_t n)
{
    const ox_graph *g = m->graph;
    int inside = 0, total = 0;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].init && g->values[v].init->nbytes) {
            const uint8_t *d = g->values[v].init->t.data;
            total++;
            for (size_t k = 0; k < n; k += 64) inside += d == b + k; /* == only: < across objects is undefined */
        }
    return total > 0 && inside == total;
}

static void test_round_trip(const uint8_t *packed, size_t size)
{
    /* in place from read-only pages: weights are used where they are and never written */
    size_t pages = (size + 4095) & ~(size_t)4095;
    uint8_t *ro = aligned_alloc(4096, pages);
    CHECK(ro != NULL);
    if (!ro) return;
    memcpy(ro, packed, size);
#ifndef __wasi__ /* WebAssembly has no page protection: the memcmp below is the check there */
    CHECK(mprotect(ro, pages, PROT_READ) == 0);
#endif
    onyx_model *m = NULL;
    onyx_error err;
    CHECK_MSG(onyx_model_load_packed(ro, size, NULL, &m, &err) == ONYX_OK, "%s", err.message);
    if (m) {
        float got[10];
        CHECK(run_model(m, got, NULL) == ONYX_OK);
        CHECK(memcmp(got, want, sizeof want) == 0);
        CHECK(weights_inside(m, ro, size));
        CHECK(onyx_model_input_count(m) == 1 && onyx_model_output_count(m) == 1);
        onyx_value_info vi;
        onyx_model_input_info(m, 0, &vi);
        CHECK(vi.rank == 4 && vi.dims[0] == -1 && vi.dim_names[0] && !strcmp(vi.dim_names[0], "N") && vi.dims[3] == 8);
        CHECK(onyx_model_packed_arena_bytes(m) == 12345);
        onyx_op_use ops[16];
        size_t n = onyx_model_ops_used(m, ops, 16);
        CHECK(n == 6);
        bool conv_nn = false;
        for (size_t i = 0; i < n && i < 16; i++) conv_nn |= !strcmp(ops[i].op_type, "Conv") && ops[i].family && !strcmp(ops[i].family, "nn");
        CHECK(conv_nn);
        onyx_model_free(m);
    }
#ifndef __wasi__
    mprotect(ro, pages, PROT_READ | PROT_WRITE);
#endif
    CHECK(memcmp(ro, packed, size) == 0);
    free(ro);

    /* misaligned: the weights are copied, results the same */
    uint8_t *shifted = malloc(size + 1);
    memcpy(shifted + 1, packed, size);
    m = NULL;
    CHECK(onyx_model_load_packed(shifted + 1, size, NULL, &m, &err) == ONYX_OK);
    if (m) {
        float got[10];
        CHECK(run_model(m, got, NULL) == ONYX_OK && memcmp(got, want, sizeof want) == 0);
        CHECK(!weights_inside(m, shifted + 1, size));
        onyx_model_free(m);
    }
    /* load_memory keeps its own copy: the caller's bytes can go at once */
    m = NULL;
    CHECK(onyx_model_load_memory(shifted + 1, size, NULL, &m, &err) == ONYX_OK);
    memset(shifted, 0, size + 1);
    free(shifted);
    if (m) {
        float got[10];
        CHECK(run_model(m, got, NULL) == ONYX_OK && memcmp(got, want, sizeof want) == 0);
        onyx_model_free(m);
    }
}

/* Offset of the main graph's value count in the graph stream. */
static size_t value_count_offset(const uint8_t *b)
{
    size_t p = get64(b + 24);
    for (int i = 0; i < 3; i++) p += 4 + get32(b + p) + 1; /* producer name, version, domain */
    p += 16;                                                /* IR and model version */
    uint32_t n_opsets = get32(b + p);
    p += 4;
    for (uint32_t i = 0; i < n_opsets; i++) p += 4 + get32(b + p) + 1 + 8;
    p += 4 + get32(b + p) + 1; /* graph name */
    return p;
}

static void expect(const uint8_t *packed, size_t size, void (*edit)(uint8_t *), onyx_status want_st, const char *phrase)
{
    uint8_t *b = aligned_alloc(64, (size + 63) & ~(size_t)63);
    memcpy(b, packed, size);
    edit(b);
    onyx_error err = {0};
    onyx_status st = load(b, size, &err);
    CHECK_MSG(st == want_st && strstr(err.message, phrase), "status %d, message '%s', wanted '%s'", st, err.message, phrase);
    free(b);
}

static void bad_magic(uint8_t *b) { b[1] = 'X'; }
static void bad_version(uint8_t *b) { b[8] = 2; }
static void graph_outside(uint8_t *b) { put64(b + 24, get64(b + 16) + 8); }
static void data_misaligned(uint8_t *b) { put64(b + 56, get64(b + 56) + 8); }
static void table_on_data(uint8_t *b) { put64(b + 40, get64(b + 56)); }
static void huge_tensor_count(uint8_t *b) { put64(b + 48, (uint64_t)1 << 60); }
static void tensor_misaligned(uint8_t *b) { put64(b + get64(b + 40) + 72, 8); }
static void tensor_overlap(uint8_t *b) { put64(b + get64(b + 40) + 88 + 72, get64(b + get64(b + 40) + 72)); }
static void tensor_past_end(uint8_t *b) { put64(b + get64(b + 40) + 80, get64(b + 64) + 64); }
static void huge_value_count(uint8_t *b)
{
    size_t p = value_count_offset(b);
    b[p] = 0xff, b[p + 1] = 0xff, b[p + 2] = 0xff, b[p + 3] = 0x0f;
}
static void nonzero_reserved(uint8_t *b) { b[90] = 1; }

static void test_hostile(const uint8_t *packed, size_t size)
{
    expect(packed, size, bad_magic, ONYX_E_PARSE, "bad magic");
    expect(packed, size, bad_version, ONYX_E_UNSUPPORTED, "format version 2");
    expect(packed, size, graph_outside, ONYX_E_PARSE, "graph section");
    expect(packed, size, data_misaligned, ONYX_E_PARSE, "data section");
    expect(packed, size, table_on_data, ONYX_E_PARSE, "overlap");
    expect(packed, size, huge_tensor_count, ONYX_E_PARSE, "tensor table");
    expect(packed, size, tensor_misaligned, ONYX_E_PARSE, "not a multiple of 64");
    expect(packed, size, tensor_overlap, ONYX_E_PARSE, "overlaps the previous tensor");
    expect(packed, size, tensor_past_end, ONYX_E_PARSE, "outside the data section");
    expect(packed, size, huge_value_count, ONYX_E_PARSE, "more than the graph section can hold");
    expect(packed, size, nonzero_reserved, ONYX_E_PARSE, "reserved");

    /* every truncation, as a short buffer and as a file whose header claims the short size */
    uint8_t *b = aligned_alloc(64, (size + 63) & ~(size_t)63);
    int refused = 0, refused_claim = 0, truncated_msg = 0, cuts = 0;
    for (size_t n = 0; n < size; n += n < 200 ? 1 : 13) {
        onyx_error err = {0};
        memcpy(b, packed, size);
        refused += load(b, n, &err) != ONYX_OK;
        truncated_msg += n >= 8 && strstr(err.message, "truncated") != NULL;
        if (n >= 96) put64(b + 16, n);
        refused_claim += load(b, n, &err) != ONYX_OK;
        cuts++;
    }
    CHECK(refused == cuts && refused_claim == cuts);
    CHECK(truncated_msg > 0);
    /* every byte of the header, graph stream and tensor table flipped: loads or says why,
     * and what loads also plans and runs (or fails) without crashing */
    size_t data_off = (size_t)get64(packed + 56);
    int flipped_ok = 0, flips = 0;
    for (size_t i = 0; i < data_off; i++) {
        memcpy(b, packed, size);
        b[i] ^= 0xff;
        onyx_error err = {0};
        onyx_status st = load(b, size, &err);
        flipped_ok += st == ONYX_OK;
        flips++;
        if (st) CHECK_MSG(err.message[0] != 0, "flip at %zu: status %d without a message", i, st);
    }
    printf("packed: %d of %d single-byte flips still load\n", flipped_ok, flips);
    free(b);
}

static void test_arena(const uint8_t *packed, size_t size)
{
    _Alignas(16) static uint8_t buf[256];
    onyx_arena a;
    onyx_arena_init(&a, buf, sizeof buf);
    void *p = onyx_arena_alloc(&a, NULL, 0, 10), *q = onyx_arena_alloc(&a, NULL, 0, 20);
    CHECK(p == buf && q == buf + 16 && a.used == 36 && a.peak == 36);
    CHECK(onyx_arena_alloc(&a, q, 20, 40) == q && a.used == 56); /* the top block grows in place */
    CHECK(onyx_arena_alloc(&a, q, 40, 0) == NULL && a.used == 16); /* and goes back */
    CHECK(onyx_arena_alloc(&a, p, 10, 0) == NULL && a.used == 0);
    CHECK(onyx_arena_alloc(&a, NULL, 0, 300) == NULL && a.used == 0); /* too big: NULL, nothing used */
    p = onyx_arena_alloc(&a, NULL, 0, 8);
    q = onyx_arena_alloc(&a, NULL, 0, 8);
    CHECK(p == buf && q == buf + 16);
    memcpy(p, "12345678", 8);
    void *r = onyx_arena_alloc(&a, p, 8, 16); /* not the top: moved, contents kept */
    CHECK(r == buf + 32 && !memcmp(r, "12345678", 8) && a.peak == 56);
    onyx_arena_init(&a, buf + 1, sizeof buf - 1); /* misaligned buffer: blocks still aligned */
    CHECK(((uintptr_t)onyx_arena_alloc(&a, NULL, 0, 4) & 15) == 0);

    /* the digits model in a fixed arena: find what it needs, then every smaller arena fails
     * with a clean status (every allocation failure path of load, plan and run) */
    size_t cap = 1 << 22, need = 0, peak = 0;
    uint8_t *arena = malloc(cap);
    onyx_session_options so;
    onyx_session_options_init(&so);
    so.opt_level = 0;
    so.threads = 1;
    float got[10];
    CHECK(run_in_arena(packed, size, arena, cap, &so, got, &need) == ONYX_OK && !memcmp(got, want, sizeof want));
    CHECK(run_in_arena(packed, size, arena, need - 1, &so, got, &peak) == ONYX_E_NOMEM);
    /* weights_in_place (how the core library always runs, and what onyx pack measures): the
     * Gemms read their weights where they are instead of prepacked copies in the arena, so the
     * run needs less for the same results */
    onyx_session_options wi = so;
    wi.weights_in_place = 1;
    CHECK(run_in_arena(packed, size, arena, cap, &wi, got, &peak) == ONYX_OK && !memcmp(got, want, sizeof want));
    CHECK_MSG(peak < need, "in place %zu bytes, prepacked %zu", peak, need);
    int clean = 0, tries = 0;
    for (size_t n = 0; n < need; n += 97, tries++)
        clean += run_in_arena(packed, size, arena, n, &so, NULL, &peak) == ONYX_E_NOMEM;
    CHECK_MSG(clean == tries, "%d of %d short arenas failed with ONYX_E_NOMEM", clean, tries);
    free(arena);
}

int main(void)
{
    onyx_model *m = NULL;
    onyx_error err;
    if (onyx_tensor_read_npy(INPUT, NULL, &input, &err) != ONYX_OK || onyx_model_load_file(MODEL, NULL, &m, &err) != ONYX_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    CHECK(run_model(m, want, NULL) == ONYX_OK);
    size_t size = 0;
    CHECK(onyx_model_optimize(m, 2, &err) == ONYX_OK);
    CHECK(onyx_model_pack(m, 12345, NULL, 0, &size, &err) == ONYX_OK && size > 18152);
    uint8_t *packed = aligned_alloc(64, (size + 63) & ~(size_t)63);
    CHECK(onyx_model_pack(m, 12345, packed, size - 1, &size, &err) == ONYX_E_LIMIT);
    CHECK(onyx_model_pack(m, 12345, packed, size, &size, &err) == ONYX_OK);
    onyx_model_free(m);
    test_round_trip(packed, size);
    test_hostile(packed, size);
    test_arena(packed, size);
    free(packed);
    onyx_tensor_free(&input, NULL);
    return check_report("packed");
}
