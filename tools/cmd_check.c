/* cmd_check.c — `onyx check DIR... [--opt N] [--threads N] [--determinism] [-v]`: runs ONNX backend test
 * folders (model.onnx, and test_data_set_N/ holding input_K.pb and output_K.pb) and compares
 * the outputs the way ONNX's backend test runner does. Each folder is checked in-process with its own
 * model and session, all freed before the next, so one failure cannot leak into another.
 *
 * Models with random ops (RandomNormal, RandomUniform, their *Like forms, Bernoulli,
 * Multinomial, Dropout in training mode) cannot reproduce the reference's values, which come
 * from numpy's generator. Their outputs are still compared in full first; when the values
 * differ, the test passes on matching dtypes and shapes (and, where the reference holds only
 * 0s and 1s — Bernoulli draws, dropout masks — on ours doing too), and the PASS line says so:
 * "PASS name (values not compared: random op)". */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define PATH_CAP 4096
#define WHY_CAP 1024

typedef enum { RESULT_PASS, RESULT_FAIL, RESULT_SKIP } check_result;

/* Ops whose outputs are random draws (ai.onnx). */
static const char *const random_ops[] = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                         "RandomUniformLike", "Bernoulli", "Multinomial"};

/* What in a model makes its values unreproducible. */
typedef struct randomness {
    bool random_op; /* one of random_ops */
    bool dropout;   /* a Dropout of opset 12+, which may run in training mode */
} randomness;

typedef struct check_opts {
    onyx_session_options so;
    bool verbose;
    bool determinism; /* also require bit-identical outputs at 1, 2 and 4 threads */
} check_opts;

/* A directory entry named <prefix><number><suffix>. */
typedef struct numbered {
    long k;
    char *name;
} numbered;

static int by_number(const void *pa, const void *pb)
{
    const numbered *a = pa, *b = pb;
    return (a->k > b->k) - (a->k < b->k);
}

static void free_numbered(numbered *items, size_t count)
{
    for (size_t i = 0; i < count; i++) free(items[i].name);
    free(items);
}

/* The entries of dir named prefix + decimal number + suffix, sorted by number (so input_10
 * comes after input_9). Returns ONYX_E_IO if dir cannot be read, ONYX_E_NOMEM. */
static onyx_status list_numbered(const char *dir, const char *prefix, const char *suffix, numbered **out,
                                 size_t *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return ONYX_E_IO;
    size_t cap = 0, plen = strlen(prefix), slen = strlen(suffix);
    onyx_status st = ONYX_OK;
    struct dirent *e;
    while (!st && (e = readdir(d)) != NULL) {
        const char *name = e->d_name, *p = name + plen;
        if (strncmp(name, prefix, plen) != 0) continue;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 9 || strcmp(p + digits, suffix) != 0) continue;
        if (*count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            numbered *grown = realloc(*out, ncap * sizeof *grown);
            if (!grown) {
                st = ONYX_E_NOMEM;
                break;
            }
            *out = grown;
            cap = ncap;
        }
        char *copy = malloc(plen + digits + slen + 1);
        if (!copy) {
            st = ONYX_E_NOMEM;
            break;
        }
        memcpy(copy, name, plen + digits + slen + 1);
        (*out)[(*count)++] = (numbered){strtol(p, NULL, 10), copy};
    }
    closedir(d);
    if (st) {
        free_numbered(*out, *count);
        *out = NULL;
        *count = 0;
        return st;
    }
    if (*count) qsort(*out, *count, sizeof **out, by_number);
    return ONYX_OK;
}

static bool join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_CAP, "%s/%s", dir, name);
    return n > 0 && n < PATH_CAP;
}

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* True if some graph input or output is a map or sparse tensor (not runnable through the API). */
static bool has_other_kinds(const onyx_model *m)
{
    for (size_t i = 0; i < onyx_model_input_count(m); i++) {
        onyx_value_info vi;
        if (onyx_model_input_info(m, i, &vi) == ONYX_OK && vi.kind == ONYX_VALUE_OTHER) return true;
    }
    for (size_t i = 0; i < onyx_model_output_count(m); i++) {
        onyx_value_info vi;
        if (onyx_model_output_info(m, i, &vi) == ONYX_OK && vi.kind == ONYX_VALUE_OTHER) return true;
    }
    return false;
}

/* True if every op the model at path lacks is a training op (the suite's optimizer tests):
 * those are skipped, not failed. */
static bool only_training_ops(const char *path)
{
    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.allow_unsupported = 1;
    onyx_model *m = NULL;
    onyx_error err;
    if (onyx_model_load_file(path, &lo, &m, &err) != ONYX_OK) return false;
    onyx_model_meta meta;
    onyx_model_get_meta(m, &meta);
    bool training = meta.unsupported_count > 0;
    for (size_t i = 0; i < meta.node_count && training; i++) {
        const char *op, *domain;
        int supported;
        if (onyx_model_node(m, i, &op, &domain, NULL, &supported) == ONYX_OK && !supported)
            training = strcmp(domain, "ai.onnx.preview.training") == 0;
    }
    onyx_model_free(m);
    return training;
}

/* The kind of graph input (or output) i, tensor when unknown. */
static onyx_value_kind value_kind(const onyx_model *m, bool output, size_t i)
{
    onyx_value_info vi;
    onyx_status st = output ? onyx_model_output_info(m, i, &vi) : onyx_model_input_info(m, i, &vi);
    return st == ONYX_OK ? vi.kind : ONYX_VALUE_TENSOR;
}

/* The random ops among the main graph's nodes (after function inlining, so expanded tests
 * count too; subgraphs are not visible through the API). */
static randomness model_randomness(const onyx_model *m)
{
    randomness r = {false, false};
    onyx_model_meta meta;
    onyx_model_get_meta(m, &meta);
    for (size_t i = 0; i < meta.node_count; i++) {
        const char *op, *domain;
        int64_t opset;
        if (onyx_model_node(m, i, &op, &domain, &opset, NULL) != ONYX_OK) continue;
        if (*domain && strcmp(domain, "ai.onnx") != 0) continue;
        for (size_t k = 0; k < sizeof random_ops / sizeof random_ops[0]; k++)
            r.random_op |= strcmp(op, random_ops[k]) == 0;
        r.dropout |= opset >= 12 && strcmp(op, "Dropout") == 0;
    }
    return r;
}

/* True if some input is a bool scalar holding true. Dropout's training_mode is not visible
 * through the API, so a Dropout counts as random when the data set feeds such a flag (as
 * the node tests do); a training_mode fixed inside the model is not seen. */
static bool feeds_true_flag(const onyx_value *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const onyx_tensor *t = &in[i].tensor;
        if (in[i].kind == ONYX_VALUE_TENSOR && t->dtype == ONYX_DTYPE_BOOL && cli_numel(t) == 1 &&
            *(const unsigned char *)t->data)
            return true;
    }
    return false;
}

/* True if t is a non-empty real or bool tensor of 0s and 1s only. */
static bool only_zeros_and_ones(const onyx_tensor *t)
{
    int64_t n = cli_numel(t);
    if (n == 0 || !t->data || t->dtype == ONYX_DTYPE_STRING || t->dtype == ONYX_DTYPE_COMPLEX64 ||
        t->dtype == ONYX_DTYPE_COMPLEX128)
        return false;
    for (int64_t i = 0; i < n; i++) {
        double v = cli_value_at(t, i);
        if (v != 0.0 && v != 1.0) return false;
    }
    return true;
}

/* A random output against the reference's: the same dtype and shape, and 0s and 1s only
 * where the reference has nothing else. */
static bool compare_random(const onyx_tensor *got, const onyx_tensor *want, char *why, size_t cap)
{
    char a[160], b[160];
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "dtype %s, expected %s", onyx_dtype_name(got->dtype), onyx_dtype_name(want->dtype));
        return false;
    }
    if (got->rank != want->rank || memcmp(got->dims, want->dims, (size_t)want->rank * sizeof want->dims[0]) != 0) {
        cli_format_dims(got->rank, got->dims, a, sizeof a);
        cli_format_dims(want->rank, want->dims, b, sizeof b);
        snprintf(why, cap, "shape %s, expected %s", a, b);
        return false;
    }
    if (!only_zeros_and_ones(want)) return true;
    int64_t n = cli_numel(got);
    for (int64_t i = 0; i < n; i++) {
        double v = cli_value_at(got, i);
        if (v == 0.0 || v == 1.0) continue;
        cli_format_value(got, i, a, sizeof a);
        snprintf(why, cap, "value %s at index %lld where the reference draws only 0 and 1", a, (long long)i);
        return false;
    }
    return true;
}

/* Reads the numbered .pb files of one kind ("input_" / "output_") from a data set, each as
 * the kind the model declares for that position (the files do not say). */
static check_result read_values(const onyx_model *m, const char *set_dir, const char *prefix, onyx_value **out,
                                size_t *count, char *why)
{
    numbered *files;
    *out = NULL;
    *count = 0;
    if (list_numbered(set_dir, prefix, ".pb", &files, count) != ONYX_OK) {
        snprintf(why, WHY_CAP, "cannot list %s", set_dir);
        return RESULT_FAIL;
    }
    *out = calloc(*count + 1, sizeof **out);
    if (!*out) {
        free_numbered(files, *count);
        snprintf(why, WHY_CAP, "out of memory");
        return RESULT_FAIL;
    }
    bool output = prefix[0] == 'o';
    check_result r = RESULT_PASS;
    for (size_t i = 0; i < *count && r == RESULT_PASS; i++) {
        char path[PATH_CAP];
        onyx_error err = {0};
        if (!join(path, set_dir, files[i].name)) {
            snprintf(why, WHY_CAP, "path too long");
            r = RESULT_FAIL;
        } else if (onyx_value_read_pb(path, NULL, value_kind(m, output, i), &(*out)[i], &err) != ONYX_OK) {
            snprintf(why, WHY_CAP, "%s: %s", files[i].name, err.message);
            r = RESULT_FAIL;
        }
    }
    free_numbered(files, *count);
    return r;
}

static void free_values(onyx_value *v, size_t count)
{
    for (size_t i = 0; v && i < count; i++) onyx_value_free(&v[i], NULL);
    free(v);
}

/* Compares one output of any kind: containers item by item. */
static bool compare_value(const onyx_value *got, const onyx_value *want, bool verbose, char *why, size_t cap)
{
    if (got->kind != want->kind) {
        snprintf(why, cap, "kind %d, expected %d", (int)got->kind, (int)want->kind);
        return false;
    }
    if (got->kind == ONYX_VALUE_OPTIONAL && got->has_value != want->has_value) {
        snprintf(why, cap, "optional %s, expected %s", got->has_value ? "has a value" : "is empty",
                 want->has_value ? "a value" : "empty");
        return false;
    }
    if (got->kind == ONYX_VALUE_OPTIONAL && !got->has_value) return true;
    bool seq = got->kind == ONYX_VALUE_SEQUENCE || (got->kind == ONYX_VALUE_OPTIONAL && want->elem_kind == ONYX_VALUE_SEQUENCE);
    if (!seq) return cli_compare(&got->tensor, &want->tensor, RTOL, ATOL, verbose, why, cap);
    if (got->n_items != want->n_items) {
        snprintf(why, cap, "sequence of %zu tensors, expected %zu", got->n_items, want->n_items);
        return false;
    }
    for (size_t k = 0; k < got->n_items; k++) {
        char item[WHY_CAP / 4];
        if (cli_compare(&got->items[k], &want->items[k], RTOL, ATOL, verbose, item, sizeof item)) continue;
        snprintf(why, cap, "item %zu: %s", k, item);
        return false;
    }
    return true;
}

/* Runs one test_data_set_* folder through the session and compares every output; sets
 * *unverified when a random output passed without its values matching. */
static check_result check_data_set(const onyx_model *m, onyx_session *s, const char *set_dir, bool verbose,
                                   randomness rnd, char *why, bool *unverified)
{
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    onyx_value *in = NULL, *want = NULL, *got = NULL;
    size_t in_files = 0, out_files = 0;
    check_result r = read_values(m, set_dir, "input_", &in, &in_files, why);
    if (r == RESULT_PASS) r = read_values(m, set_dir, "output_", &want, &out_files, why);
    if (r == RESULT_PASS && in_files != n_in) {
        snprintf(why, WHY_CAP, "%zu input files for %zu graph inputs", in_files, n_in);
        r = RESULT_FAIL;
    }
    if (r == RESULT_PASS && out_files != n_out) {
        snprintf(why, WHY_CAP, "%zu output files for %zu graph outputs", out_files, n_out);
        r = RESULT_FAIL;
    }
    if (r == RESULT_PASS && !(got = calloc(n_out + 1, sizeof *got))) {
        snprintf(why, WHY_CAP, "out of memory");
        r = RESULT_FAIL;
    }
    if (r == RESULT_PASS && onyx_session_run_values(s, in, n_in, got, n_out) != ONYX_OK) {
        snprintf(why, WHY_CAP, "%s", onyx_session_error(s));
        r = RESULT_FAIL;
    }
    bool random = r == RESULT_PASS && (rnd.random_op || (rnd.dropout && feeds_true_flag(in, n_in)));
    for (size_t i = 0; r == RESULT_PASS && i < n_out; i++) {
        char diff[WHY_CAP / 2];
        if (compare_value(&got[i], &want[i], verbose, diff, sizeof diff)) continue;
        if (random && got[i].kind == ONYX_VALUE_TENSOR && compare_random(&got[i].tensor, &want[i].tensor, diff, sizeof diff)) {
            *unverified = true;
            continue;
        }
        onyx_value_info vi;
        const char *name = onyx_model_output_info(m, i, &vi) == ONYX_OK ? vi.name : "?";
        snprintf(why, WHY_CAP, "output %zu '%.40s': %s", i, name, diff);
        r = RESULT_FAIL;
    }
    free(got); /* its data lives in the session */
    free_values(in, in_files);
    free_values(want, out_files);
    return r;
}

static bool same_tensor_bits(const onyx_tensor *a, const onyx_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) != 0)
        return false;
    int64_t n = cli_numel(a);
    if (a->dtype != ONYX_DTYPE_STRING) return n == 0 || memcmp(a->data, b->data, (size_t)n * onyx_dtype_size(a->dtype)) == 0;
    for (int64_t i = 0; i < n; i++)
        if (strcmp(((char *const *)a->data)[i], ((char *const *)b->data)[i]) != 0) return false;
    return true;
}

static bool same_value_bits(const onyx_value *a, const onyx_value *b)
{
    if (a->kind != b->kind || a->has_value != b->has_value || a->n_items != b->n_items) return false;
    for (size_t k = 0; k < a->n_items; k++)
        if (!same_tensor_bits(&a->items[k], &b->items[k])) return false;
    return a->n_items || (a->kind == ONYX_VALUE_OPTIONAL && !a->has_value) || same_tensor_bits(&a->tensor, &b->tensor);
}

/* Determinism: the data set's outputs at 1, 2 and 4 threads must be bit-identical. */
static check_result check_threads(const onyx_model *m, const check_opts *o, const char *set_dir, char *why)
{
    static const int counts[3] = {1, 2, 4};
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m), n_files = 0;
    onyx_value *in = NULL, *out[3] = {NULL, NULL, NULL};
    onyx_session *s[3] = {NULL, NULL, NULL};
    check_result r = read_values(m, set_dir, "input_", &in, &n_files, why);
    for (int k = 0; k < 3 && r == RESULT_PASS; k++) {
        onyx_session_options so = o->so;
        so.threads = counts[k];
        onyx_error err = {0};
        if (onyx_session_create(m, &so, &s[k], &err) != ONYX_OK || !(out[k] = calloc(n_out + 1, sizeof *out[k])) ||
            onyx_session_run_values(s[k], in, n_in, out[k], n_out) != ONYX_OK) {
            snprintf(why, WHY_CAP, "at %d threads: %s", counts[k], s[k] ? onyx_session_error(s[k]) : err.message);
            r = RESULT_FAIL;
        }
    }
    for (int k = 1; k < 3 && r == RESULT_PASS; k++)
        for (size_t i = 0; i < n_out && r == RESULT_PASS; i++)
            if (!same_value_bits(&out[0][i], &out[k][i])) {
                snprintf(why, WHY_CAP, "output %zu differs between 1 and %d threads", i, counts[k]);
                r = RESULT_FAIL;
            }
    for (int k = 0; k < 3; k++) {
        free(out[k]);
        onyx_session_free(s[k]);
    }
    free_values(in, n_files);
    return r;
}

/* Checks one backend test folder; the reason for a FAIL or SKIP goes to why. *unverified is
 * set when a pass did not compare some random output's values. */
static check_result check_dir(const char *dir, const check_opts *o, char *why, bool *unverified)
{
    char path[PATH_CAP];
    /* a packed model (onyx pack) stands in for model.onnx */
    if ((!join(path, dir, "model.onnx") || !file_exists(path)) && (!join(path, dir, "model.onyx") || !file_exists(path))) {
        snprintf(why, WHY_CAP, "no model.onnx or model.onyx");
        return RESULT_SKIP;
    }
    onyx_model *m = NULL;
    onyx_error err = {0};
    onyx_status st = onyx_model_load_file(path, NULL, &m, &err);
    if (st == ONYX_E_UNSUPPORTED && only_training_ops(path)) {
        snprintf(why, WHY_CAP, "training ops (domain ai.onnx.preview.training) are out of scope for inference");
        return RESULT_SKIP;
    }
    if (st) {
        snprintf(why, WHY_CAP, "%s", err.message);
        return RESULT_FAIL;
    }
    if (has_other_kinds(m)) {
        onyx_model_free(m);
        snprintf(why, WHY_CAP, "map and sparse-tensor graph inputs/outputs are not supported");
        return RESULT_SKIP;
    }
    numbered *sets = NULL;
    size_t n_sets = 0;
    check_result r = RESULT_PASS;
    if (list_numbered(dir, "test_data_set_", "", &sets, &n_sets) != ONYX_OK || n_sets == 0) {
        snprintf(why, WHY_CAP, "no test_data_set_* folders");
        r = RESULT_SKIP;
    }
    onyx_session *s = NULL;
    if (r == RESULT_PASS && onyx_session_create(m, &o->so, &s, &err) != ONYX_OK) {
        snprintf(why, WHY_CAP, "%s", err.message);
        r = RESULT_FAIL;
    }
    randomness rnd = model_randomness(m);
    for (size_t i = 0; r == RESULT_PASS && i < n_sets; i++) {
        char set_dir[PATH_CAP], reason[WHY_CAP];
        if (!join(set_dir, dir, sets[i].name)) {
            snprintf(why, WHY_CAP, "path too long");
            r = RESULT_FAIL;
        } else if ((r = check_data_set(m, s, set_dir, o->verbose, rnd, reason, unverified)) != RESULT_PASS ||
                   (o->determinism && (r = check_threads(m, o, set_dir, reason)) != RESULT_PASS)) {
            if (n_sets > 1) snprintf(why, WHY_CAP, "%s: %.900s", sets[i].name, reason);
            else snprintf(why, WHY_CAP, "%s", reason);
        }
    }
    onyx_session_free(s);
    free_numbered(sets, n_sets);
    onyx_model_free(m);
    return r;
}

/* The folder's last path component, without trailing slashes. */
static void test_name(const char *dir, char *buf, size_t cap)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/') start--;
    snprintf(buf, cap, "%.*s", (int)(end - start), dir + start);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cmd_check(int argc, char **argv)
{
    check_opts o;
    memset(&o, 0, sizeof o);
    onyx_session_options_init(&o.so);
    const char *value;
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    int n_dirs = 0;
    if (!dirs) return cli_error("out of memory");
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < argc && !rc; i++) {
        int r;
        if ((r = cli_flag_value(argc, argv, &i, "--opt", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--opt", value, 0, 2, &o.so.opt_level)) rc = CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--threads", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--threads", value, 0, 4096, &o.so.threads)) rc = CLI_EXIT_USAGE;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            o.verbose = true;
        } else if (strcmp(argv[i], "--determinism") == 0) {
            o.determinism = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            rc = cli_usage_error("check: unknown option '%s'", argv[i]);
        } else {
            dirs[n_dirs++] = argv[i];
        }
    }
    if (!rc && !n_dirs) rc = cli_usage_error("usage: onyx check DIR... [--opt N] [--threads N] [--determinism] [-v]");
    if (rc) {
        free(dirs);
        return rc;
    }

    long passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n_dirs; i++) {
        const char *dir = dirs[i];
        char name[256], why[WHY_CAP] = "";
        test_name(dir, name, sizeof name);
        double t0 = now_ms();
        bool unverified = false;
        check_result r = check_dir(dir, &o, why, &unverified);
        char took[32] = "";
        if (o.verbose) snprintf(took, sizeof took, " (%.1f ms)", now_ms() - t0);
        /* The name stays the line's second word, ended by a space or a colon (run.sh, the
         * ratchet and ops_table.py read it). */
        if (r == RESULT_PASS)
            printf("PASS %s%s%s\n", name, unverified ? " (values not compared: random op)" : "", took);
        else printf("%s %s: %s%s\n", r == RESULT_FAIL ? "FAIL" : "SKIP", name, why, took);
        fflush(stdout);
        passed += r == RESULT_PASS;
        failed += r == RESULT_FAIL;
        skipped += r == RESULT_SKIP;
    }
    printf("%ld passed, %ld failed, %ld skipped\n", passed, failed, skipped);
    free(dirs);
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
