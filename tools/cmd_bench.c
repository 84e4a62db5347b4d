/* cmd_bench.c — `onyx bench MODEL [--input [NAME=]PATH]... [--threads N] [--runs N]
 * [--warmup N] [--opt N]`: times model load, session creation and repeated runs.
 *
 * Output (stdout), one fact per line, machine-readable key=value where it is a number:
 *     load_ms=…            parsing the file into a model
 *     session_ms=… …       onyx_session_create (graph optimisation, planning when shapes are fixed)
 *     input NAME: … (file PATH | generated)
 *     first_run_ms=…       the first warm-up run (plans when input shapes were symbolic)
 *     times_ms=a,b,…       every timed run, in order (bench/run.py pools them across batches)
 *     median_ms=X min_ms=Y runs=N     always the last line: the contract scripts rely on
 * Inputs not bound with --input are generated from the declared type: symbolic or unknown
 * dims become 1; integers and bools are 0; float32/float64/float16/bfloat16 are
 * deterministic pseudo-random values in [0,1) (the same on every run of the command); other
 * small-float formats are 0. Times come from CLOCK_MONOTONIC. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define BENCH_MAX_RUNS 1000000

typedef struct bench_args {
    const char *model;
    const char **inputs; /* the --input arguments, in command-line order */
    int n_inputs;
    int runs, warmup;
    onyx_session_options so;
} bench_args;

static const char BENCH_USAGE[] =
    "usage: onyx bench MODEL [--input [NAME=]PATH]... [--threads N] [--runs N] [--warmup N] [--opt N]";

static int parse_args(int argc, char **argv, bench_args *a)
{
    const char *value;
    a->inputs = calloc((size_t)argc + 1, sizeof *a->inputs);
    if (!a->inputs) return cli_error("out of memory");
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_flag_value(argc, argv, &i, "--input", &value)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            a->inputs[a->n_inputs++] = value;
        } else if ((r = cli_flag_value(argc, argv, &i, "--threads", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--threads", value, 0, 4096, &a->so.threads)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--runs", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--runs", value, 1, BENCH_MAX_RUNS, &a->runs)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--warmup", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--warmup", value, 0, BENCH_MAX_RUNS, &a->warmup)) return CLI_EXIT_USAGE;
        } else if ((r = cli_flag_value(argc, argv, &i, "--opt", &value)) != 0) {
            if (r < 0 || !cli_parse_int("--opt", value, 0, 2, &a->so.opt_level)) return CLI_EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("bench: unknown option '%s'\n%s", argv[i], BENCH_USAGE);
        } else if (a->model) {
            return cli_usage_error("bench: one model at a time ('%s' and '%s')", a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
    }
    if (!a->model) return cli_usage_error("%s", BENCH_USAGE);
    return CLI_EXIT_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* k * 2^-10 for k in [0, 1024) as IEEE half bits: exact, so no rounding code is needed. */
static uint16_t half_from_k(uint32_t k)
{
    if (k == 0) return 0;
    uint32_t e = 0;
    while ((k >> (e + 1)) != 0) e++;                            /* k = 2^e * 1.f, e in 0..9 */
    return (uint16_t)(((e + 5) << 10) | ((k - (1u << e)) << (10 - e))); /* 2^(e-10): bias 15 */
}

/* Fills a float tensor with values in [0,1) from a generator seeded by the input's index. */
static void fill_random(onyx_tensor *t, int64_t n, size_t index)
{
    uint64_t state = 0x6f6e7978ull + index; /* "onyx" */
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(&state);
        switch (t->dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)t->data)[i] = (float)(r >> 40) * 0x1p-24f; break;
        case ONYX_DTYPE_DOUBLE: ((double *)t->data)[i] = (double)(r >> 11) * 0x1p-53; break;
        case ONYX_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = half_from_k((uint32_t)(r >> 54)); break;
        case ONYX_DTYPE_BFLOAT16: { /* the top half of a float32 with 8 significant bits */
            float f = (float)(r >> 56) * 0x1p-8f;
            uint32_t bits;
            memcpy(&bits, &f, sizeof bits);
            ((uint16_t *)t->data)[i] = (uint16_t)(bits >> 16);
            break;
        }
        default: return; /* integers, bools and the small float formats stay 0 */
        }
    }
}

static int generate_input(const onyx_value_info *vi, size_t index, onyx_tensor *t)
{
    if (vi->rank < 0) return cli_error("input '%s' has no declared rank; pass it with --input", vi->name);
    if (vi->dtype == ONYX_DTYPE_UNDEFINED || vi->dtype == ONYX_DTYPE_STRING)
        return cli_error("input '%s' is %s; pass it with --input", vi->name, onyx_dtype_name(vi->dtype));
    memset(t, 0, sizeof *t);
    t->dtype = vi->dtype;
    t->rank = vi->rank;
    int64_t n = 1;
    for (int d = 0; d < vi->rank; d++) {
        t->dims[d] = vi->dims[d] >= 0 ? vi->dims[d] : 1; /* symbolic or unknown: 1 */
        n *= t->dims[d];
    }
    onyx_error err = {0};
    if (onyx_tensor_alloc(t, NULL, &err) != ONYX_OK) return cli_error("input '%s': %s", vi->name, err.message);
    fill_random(t, n, index);
    return CLI_EXIT_OK;
}

static int prepare_inputs(const onyx_model *m, const char **paths, onyx_tensor *in)
{
    for (size_t i = 0; i < onyx_model_input_count(m); i++) {
        onyx_value_info vi;
        onyx_error err = {0};
        char dims[256];
        if (onyx_model_input_info(m, i, &vi) != ONYX_OK) return cli_error("cannot describe input %zu", i);
        if (!vi.is_tensor) return cli_error("input '%s' is a sequence/optional/map; bench supports tensors only", vi.name);
        if (paths[i]) {
            if (cli_read_tensor(paths[i], &in[i], &err) != ONYX_OK)
                return cli_error("input '%s': %s", vi.name, err.message);
        } else {
            int rc = generate_input(&vi, i, &in[i]);
            if (rc) return rc;
        }
        cli_format_dims(in[i].rank, in[i].dims, dims, sizeof dims);
        printf("input %s: %s %s (%s%s)\n", vi.name, onyx_dtype_name(in[i].dtype), dims,
               paths[i] ? "file " : "generated", paths[i] ? paths[i] : "");
    }
    return CLI_EXIT_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Warm-up runs, then `runs` timed ones; prints every time and the summary line. */
static int time_runs(onyx_session *s, const bench_args *a, const onyx_tensor *in, size_t n_in, onyx_tensor *out,
                     size_t n_out)
{
    double *t = calloc((size_t)a->runs, sizeof *t);
    if (!t) return cli_error("out of memory");
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < a->warmup && !rc; i++) {
        double t0 = now_ms();
        if (onyx_session_run(s, in, n_in, out, n_out) != ONYX_OK) rc = cli_error("%s", onyx_session_error(s));
        if (i == 0 && !rc) printf("first_run_ms=%.3f\n", now_ms() - t0);
    }
    for (int i = 0; i < a->runs && !rc; i++) {
        double t0 = now_ms();
        if (onyx_session_run(s, in, n_in, out, n_out) != ONYX_OK) rc = cli_error("%s", onyx_session_error(s));
        t[i] = now_ms() - t0;
    }
    if (!rc) {
        printf("times_ms=");
        for (int i = 0; i < a->runs; i++) printf("%s%.3f", i ? "," : "", t[i]);
        printf("\n");
        qsort(t, (size_t)a->runs, sizeof *t, cmp_double);
        int h = a->runs / 2;
        double median = a->runs % 2 ? t[h] : (t[h - 1] + t[h]) / 2;
        printf("median_ms=%.3f min_ms=%.3f runs=%d\n", median, t[0], a->runs);
    }
    free(t);
    return rc;
}

static int bench_model(const onyx_model *m, const bench_args *a, const onyx_tensor *in)
{
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    onyx_tensor *out = calloc(n_out + 1, sizeof *out);
    if (!out) return cli_error("out of memory");
    onyx_session *s = NULL;
    onyx_error err = {0};
    double t0 = now_ms();
    int rc = CLI_EXIT_OK;
    if (onyx_session_create(m, &a->so, &s, &err) != ONYX_OK) {
        rc = cli_error("%s", err.message);
    } else {
        printf("session_ms=%.3f threads=%d opt=%d arena_bytes=%zu\n", now_ms() - t0, a->so.threads,
               a->so.opt_level, onyx_session_arena_bytes(s));
        fflush(stdout); /* the phases so far are visible even if a long run is cut short */
        rc = time_runs(s, a, in, n_in, out, n_out);
    }
    onyx_session_free(s);
    free(out);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a;
    memset(&a, 0, sizeof a);
    onyx_session_options_init(&a.so);
    a.runs = 10;
    a.warmup = 2;
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        free(a.inputs);
        return rc;
    }
    onyx_model *m = NULL;
    onyx_error err = {0};
    double t0 = now_ms();
    if (onyx_model_load_file(a.model, NULL, &m, &err) != ONYX_OK) {
        free(a.inputs);
        return cli_error("%s", err.message);
    }
    printf("model: %s\nload_ms=%.3f\n", a.model, now_ms() - t0);
    size_t n_in = onyx_model_input_count(m);
    const char **paths = calloc(n_in + 1, sizeof *paths);
    onyx_tensor *in = calloc(n_in + 1, sizeof *in);
    if (!paths || !in) rc = cli_error("out of memory");
    if (!rc) rc = cli_bind_inputs(m, a.inputs, a.n_inputs, false, paths);
    if (!rc) rc = prepare_inputs(m, paths, in);
    if (!rc) rc = bench_model(m, &a, in);
    for (size_t i = 0; in && i < n_in; i++) onyx_tensor_free(&in[i], NULL);
    free(in);
    free(paths);
    free(a.inputs);
    onyx_model_free(m);
    return rc;
}
