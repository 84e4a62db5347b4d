/* cmd_check.c — `onyx check DIR... [--opt N] [--threads N] [-v]`: runs ONNX backend test
 * folders (model.onnx, and test_data_set_N/ holding input_K.pb and output_K.pb) and compares
 * the outputs the way ONNX's backend test runner does. Each folder is checked in-process with its own
 * model and session, all freed before the next, so one failure cannot leak into another. */
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

typedef struct check_opts {
    onyx_session_options so;
    bool verbose;
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

/* True if some graph input or output is a sequence, map or optional. */
static bool has_non_tensor_values(const onyx_model *m)
{
    for (size_t i = 0; i < onyx_model_input_count(m); i++) {
        onyx_value_info vi;
        if (onyx_model_input_info(m, i, &vi) == ONYX_OK && !vi.is_tensor) return true;
    }
    for (size_t i = 0; i < onyx_model_output_count(m); i++) {
        onyx_value_info vi;
        if (onyx_model_output_info(m, i, &vi) == ONYX_OK && !vi.is_tensor) return true;
    }
    return false;
}

/* Reads the numbered .pb files of one kind ("input_" / "output_") from a data set. */
static check_result read_tensors(const char *set_dir, const char *prefix, onyx_tensor **out, size_t *count,
                                 char *why)
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
    check_result r = RESULT_PASS;
    for (size_t i = 0; i < *count && r == RESULT_PASS; i++) {
        char path[PATH_CAP];
        onyx_error err = {0};
        if (!join(path, set_dir, files[i].name)) {
            snprintf(why, WHY_CAP, "path too long");
            r = RESULT_FAIL;
        } else if (onyx_tensor_read_pb(path, NULL, &(*out)[i], NULL, &err) != ONYX_OK) {
            snprintf(why, WHY_CAP, "%s: %s", files[i].name, err.message);
            r = RESULT_FAIL;
        }
    }
    free_numbered(files, *count);
    return r;
}

static void free_tensors(onyx_tensor *t, size_t count)
{
    for (size_t i = 0; t && i < count; i++) onyx_tensor_free(&t[i], NULL);
    free(t);
}

/* Runs one test_data_set_* folder through the session and compares every output. */
static check_result check_data_set(const onyx_model *m, onyx_session *s, const char *set_dir, bool verbose,
                                   char *why)
{
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    onyx_tensor *in = NULL, *want = NULL, *got = NULL;
    size_t in_files = 0, out_files = 0;
    check_result r = read_tensors(set_dir, "input_", &in, &in_files, why);
    if (r == RESULT_PASS) r = read_tensors(set_dir, "output_", &want, &out_files, why);
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
    if (r == RESULT_PASS && onyx_session_run(s, in, n_in, got, n_out) != ONYX_OK) {
        snprintf(why, WHY_CAP, "%s", onyx_session_error(s));
        r = RESULT_FAIL;
    }
    for (size_t i = 0; r == RESULT_PASS && i < n_out; i++) {
        char diff[WHY_CAP / 2];
        if (cli_compare(&got[i], &want[i], RTOL, ATOL, verbose, diff, sizeof diff)) continue;
        onyx_value_info vi;
        const char *name = onyx_model_output_info(m, i, &vi) == ONYX_OK ? vi.name : "?";
        snprintf(why, WHY_CAP, "output %zu '%.40s': %s", i, name, diff);
        r = RESULT_FAIL;
    }
    free(got); /* its data lives in the session */
    free_tensors(in, in_files);
    free_tensors(want, out_files);
    return r;
}

/* Checks one backend test folder; the reason for a FAIL or SKIP goes to why. */
static check_result check_dir(const char *dir, const check_opts *o, char *why)
{
    char path[PATH_CAP];
    if (!join(path, dir, "model.onnx") || !file_exists(path)) {
        snprintf(why, WHY_CAP, "no model.onnx");
        return RESULT_SKIP;
    }
    onyx_model *m = NULL;
    onyx_error err = {0};
    onyx_status st = onyx_model_load_file(path, NULL, &m, &err);
    if (st == ONYX_E_UNSUPPORTED) {
        /* Tell "uses sequences" (a skip) from "lacks an op" (a failure): load again
         * accepting missing ops just to look at the declared types. */
        onyx_load_options lo;
        onyx_load_options_init(&lo);
        lo.allow_unsupported = 1;
        onyx_model *probe = NULL;
        onyx_error ignored = {0};
        bool containers = onyx_model_load_file(path, &lo, &probe, &ignored) == ONYX_OK && has_non_tensor_values(probe);
        onyx_model_free(probe);
        if (containers) {
            snprintf(why, WHY_CAP, "sequence/optional types are not supported yet");
            return RESULT_SKIP;
        }
    }
    if (st) {
        snprintf(why, WHY_CAP, "%s", err.message);
        return RESULT_FAIL;
    }
    if (has_non_tensor_values(m)) {
        onyx_model_free(m);
        snprintf(why, WHY_CAP, "sequence/optional types are not supported yet");
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
    for (size_t i = 0; r == RESULT_PASS && i < n_sets; i++) {
        char set_dir[PATH_CAP], reason[WHY_CAP];
        if (!join(set_dir, dir, sets[i].name)) {
            snprintf(why, WHY_CAP, "path too long");
            r = RESULT_FAIL;
        } else if ((r = check_data_set(m, s, set_dir, o->verbose, reason)) != RESULT_PASS) {
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
        } else if (argv[i][0] == '-' && argv[i][1]) {
            rc = cli_usage_error("check: unknown option '%s'", argv[i]);
        } else {
            dirs[n_dirs++] = argv[i];
        }
    }
    if (!rc && !n_dirs) rc = cli_usage_error("usage: onyx check DIR... [--opt N] [--threads N] [-v]");
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
        check_result r = check_dir(dir, &o, why);
        char took[32] = "";
        if (o.verbose) snprintf(took, sizeof took, " (%.1f ms)", now_ms() - t0);
        if (r == RESULT_PASS) printf("PASS %s%s\n", name, took);
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
