/* cmd_run.c — `onyx run MODEL [--input [NAME=]PATH]... [--output-dir DIR] [--threads N]
 * [--opt N] [--classify]`: runs a model once on tensors from .npy/.pb files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define PREVIEW_VALUES 10

typedef struct run_args {
    const char *model;
    const char **inputs; /* the --input arguments, in command-line order */
    int n_inputs;
    const char *output_dir;
    bool classify;
    onyx_session_options so;
} run_args;

static int parse_args(int argc, char **argv, run_args *a)
{
    const char *value;
    a->inputs = calloc((size_t)argc + 1, sizeof *a->inputs);
    if (!a->inputs) return cli_error("out of memory");
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_flag_value(argc, argv, &i, "--input", &value)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->inputs[a->n_inputs++] = value;
        } else if ((r = cli_flag_value(argc, argv, &i, "--output-dir", &value)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->output_dir = value;
        } else if ((r = cli_flag_value(argc, argv, &i, "--threads", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--threads", value, 0, 4096, &a->so.threads)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--opt", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--opt", value, 0, 2, &a->so.opt_level)) return CLI_EXIT_USAGE;
        } else if (strcmp(argv[i], "--classify") == 0) {
            a->classify = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("run: unknown option '%s'", argv[i]);
        } else if (a->model) {
            return cli_usage_error("run: one model at a time ('%s' and '%s'); inputs go after --input",
                                   a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
    }
    if (!a->model)
        return cli_usage_error("usage: onyx run MODEL [--input [NAME=]PATH]... [--output-dir DIR] "
                               "[--threads N] [--opt N] [--classify]");
    return CLI_EXIT_OK;
}

static int read_inputs(const onyx_model *m, const char **paths, onyx_tensor *in)
{
    for (size_t i = 0; i < onyx_model_input_count(m); i++) {
        onyx_value_info vi;
        onyx_error err = {0};
        if (onyx_model_input_info(m, i, &vi) != ONYX_OK) return cli_error("cannot describe input %zu", i);
        if (!vi.is_tensor) return cli_error("input '%s' is a sequence/optional/map; only tensors are supported", vi.name);
        if (cli_read_tensor(paths[i], &in[i], &err) != ONYX_OK) return cli_error("input '%s': %s", vi.name, err.message);
        if (vi.dtype != ONYX_DTYPE_UNDEFINED && in[i].dtype != vi.dtype)
            return cli_error("input '%s' is %s but '%s' holds %s", vi.name, onyx_dtype_name(vi.dtype), paths[i],
                             onyx_dtype_name(in[i].dtype));
    }
    return CLI_EXIT_OK;
}

static void print_output(const char *name, const onyx_tensor *t)
{
    char dims[256], v[192];
    cli_format_dims(t->rank, t->dims, dims, sizeof dims);
    printf("%s: %s %s:", name, onyx_dtype_name(t->dtype), dims);
    int64_t n = cli_numel(t);
    for (int64_t i = 0; i < n && i < PREVIEW_VALUES; i++) {
        cli_format_value(t, i, v, sizeof v);
        printf(" %s", v);
    }
    if (n > PREVIEW_VALUES) printf(" ... (%lld values)", (long long)n);
    printf("\n");
}

static void print_class(const onyx_tensor *t)
{
    bool vector = (t->rank == 1 && t->dims[0] > 0) || (t->rank == 2 && t->dims[0] == 1 && t->dims[1] > 0);
    if (!vector || t->dtype == ONYX_DTYPE_STRING || t->dtype == ONYX_DTYPE_COMPLEX64 ||
        t->dtype == ONYX_DTYPE_COMPLEX128)
        return;
    int64_t n = cli_numel(t), best = 0;
    double best_v = cli_value_at(t, 0);
    for (int64_t i = 1; i < n; i++) {
        double v = cli_value_at(t, i);
        if (v > best_v || (best_v != best_v && v == v)) { /* NaN never wins */
            best = i;
            best_v = v;
        }
    }
    printf("class=%lld score=%.6g\n", (long long)best, best_v);
}

static int make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? CLI_EXIT_OK : cli_error("'%s' is not a directory", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return cli_error("cannot create directory '%s'", dir);
    return CLI_EXIT_OK;
}

/* Writes one output to path, widened first if numpy lacks its dtype. */
static int write_output(const char *path, const char *name, const onyx_tensor *t)
{
    onyx_dtype want = cli_numpy_dtype(t->dtype);
    onyx_error err = {0};
    if (want == ONYX_DTYPE_UNDEFINED)
        return cli_error("output '%s' is %s, which .npy output does not support", name, onyx_dtype_name(t->dtype));
    if (want == t->dtype) {
        if (onyx_tensor_write_npy(path, t, &err) != ONYX_OK) return cli_error("%s", err.message);
        return CLI_EXIT_OK;
    }
    onyx_tensor wide;
    if (cli_widen(t, want, &wide, &err) != ONYX_OK) return cli_error("output '%s': %s", name, err.message);
    cli_note("output '%s' is %s, which numpy lacks; written as %s", name, onyx_dtype_name(t->dtype),
             onyx_dtype_name(want));
    int rc = CLI_EXIT_OK;
    if (onyx_tensor_write_npy(path, &wide, &err) != ONYX_OK) rc = cli_error("%s", err.message);
    onyx_tensor_free(&wide, NULL);
    return rc;
}

/* Writes every output as DIR/<sanitised name>.npy. */
static int write_outputs(const onyx_model *m, const onyx_tensor *out, size_t n_out, const char *dir)
{
    int rc = make_dir(dir);
    if (rc) return rc;
    char(*files)[256] = calloc(n_out ? n_out : 1, sizeof *files);
    if (!files) return cli_error("out of memory");
    for (size_t i = 0; i < n_out && !rc; i++) {
        onyx_value_info vi;
        if (onyx_model_output_info(m, i, &vi) != ONYX_OK) {
            rc = cli_error("cannot describe output %zu", i);
            break;
        }
        cli_sanitize_name(vi.name, files[i], sizeof files[i]);
        for (size_t j = 0; j < i && !rc; j++)
            if (strcmp(files[i], files[j]) == 0)
                rc = cli_error("outputs %zu and %zu ('%s') both map to file '%s.npy'", j, i, vi.name, files[i]);
        if (rc) break;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.npy", dir, files[i]);
        rc = write_output(path, vi.name, &out[i]);
        if (!rc) printf("wrote %s\n", path);
    }
    free(files);
    return rc;
}

static int run_model(const onyx_model *m, const run_args *a, onyx_tensor *in, onyx_tensor *out)
{
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    onyx_session *s = NULL;
    onyx_error err = {0};
    if (onyx_session_create(m, &a->so, &s, &err) != ONYX_OK) return cli_error("%s", err.message);
    int rc = CLI_EXIT_OK;
    if (onyx_session_run(s, in, n_in, out, n_out) != ONYX_OK) rc = cli_error("%s", onyx_session_error(s));
    if (!rc && a->output_dir) rc = write_outputs(m, out, n_out, a->output_dir);
    for (size_t i = 0; !rc && !a->output_dir && i < n_out; i++) {
        onyx_value_info vi;
        print_output(onyx_model_output_info(m, i, &vi) == ONYX_OK ? vi.name : "?", &out[i]);
    }
    for (size_t i = 0; !rc && a->classify && i < n_out; i++) print_class(&out[i]);
    onyx_session_free(s); /* outputs point into the session: done with them only now */
    return rc;
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    onyx_session_options_init(&a.so);
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        free(a.inputs);
        return rc;
    }
    onyx_model *m = NULL;
    onyx_error err = {0};
    if (onyx_model_load_file(a.model, NULL, &m, &err) != ONYX_OK) {
        free(a.inputs);
        return cli_error("%s", err.message);
    }
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    const char **paths = calloc(n_in + 1, sizeof *paths);
    onyx_tensor *in = calloc(n_in + 1, sizeof *in), *out = calloc(n_out + 1, sizeof *out);
    if (!paths || !in || !out) rc = cli_error("out of memory");
    if (!rc) rc = cli_bind_inputs(m, a.inputs, a.n_inputs, true, paths);
    if (!rc) rc = read_inputs(m, paths, in);
    if (!rc) rc = run_model(m, &a, in, out);
    for (size_t i = 0; in && i < n_in; i++) onyx_tensor_free(&in[i], NULL);
    free(in);
    free(out);
    free(paths);
    free(a.inputs);
    onyx_model_free(m);
    return rc;
}
