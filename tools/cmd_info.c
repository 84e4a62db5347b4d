/* cmd_info.c — `onyx info MODEL [--opt N]`: what a model declares, what it is made of, how
 * much memory onyx plans for it, and which of its ops onyx does not implement. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One row of the op table: nodes of one (domain, op type). */
typedef struct op_row {
    const char *op_type, *domain;
    size_t count;
} op_row;

/* One op onyx lacks, listed once per (op type, domain, opset). */
typedef struct missing_op {
    const char *op_type, *domain;
    int64_t opset;
} missing_op;

static int by_count_then_name(const void *pa, const void *pb)
{
    const op_row *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    int c = strcmp(a->op_type, b->op_type);
    return c ? c : strcmp(a->domain, b->domain);
}

static void print_values(const onyx_model *m, bool inputs)
{
    size_t n = inputs ? onyx_model_input_count(m) : onyx_model_output_count(m);
    printf("%s:\n", inputs ? "inputs" : "outputs");
    for (size_t i = 0; i < n; i++) {
        onyx_value_info vi;
        onyx_status st = inputs ? onyx_model_input_info(m, i, &vi) : onyx_model_output_info(m, i, &vi);
        if (st) continue;
        if (!vi.is_tensor) {
            printf("  %s: sequence/map/optional (not a tensor)\n", vi.name);
            continue;
        }
        char dims[512];
        cli_format_info_dims(&vi, dims, sizeof dims);
        printf("  %s: %s %s\n", vi.name, onyx_dtype_name(vi.dtype), dims);
    }
}

static void print_header(const onyx_model *m, const char *path)
{
    onyx_model_meta meta;
    onyx_model_get_meta(m, &meta);
    printf("model: %s\n", path);
    printf("ir_version: %lld\n", (long long)meta.ir_version);
    bool has_version = meta.producer_version && *meta.producer_version;
    printf("producer: %s%s%s\n", meta.producer_name && *meta.producer_name ? meta.producer_name : "(unknown)",
           has_version ? " " : "", has_version ? meta.producer_version : "");
    if (meta.domain && *meta.domain) printf("domain: %s\n", meta.domain);
    if (meta.model_version) printf("model_version: %lld\n", (long long)meta.model_version);
    printf("opsets:");
    for (size_t i = 0; i < meta.opset_count; i++) {
        const char *domain;
        int64_t version;
        if (onyx_model_opset(m, i, &domain, &version) == ONYX_OK)
            printf("%s %s %lld", i ? "," : "", cli_domain_name(domain), (long long)version);
    }
    printf("\n");
    print_values(m, true);
    print_values(m, false);
}

/* Node counts per (domain, op type) of m's main graph, most frequent first; NULL when out of
 * memory. With missing_out, also the ops onyx lacks (once per op type, domain and opset). */
static op_row *count_ops(const onyx_model *m, size_t *n_rows, missing_op **missing_out, size_t *n_missing_out)
{
    onyx_model_meta meta;
    onyx_model_get_meta(m, &meta);
    size_t n = meta.node_count, rows = 0, n_missing = 0;
    op_row *row = calloc(n ? n : 1, sizeof *row);
    missing_op *missing = calloc(n ? n : 1, sizeof *missing);
    if (!row || !missing) {
        free(row);
        free(missing);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *op_type, *domain;
        int64_t opset;
        int supported;
        if (onyx_model_node(m, i, &op_type, &domain, &opset, &supported)) continue;
        domain = cli_domain_name(domain);
        size_t r = 0;
        while (r < rows && (strcmp(row[r].op_type, op_type) || strcmp(row[r].domain, domain))) r++;
        if (r == rows) row[rows++] = (op_row){op_type, domain, 0};
        row[r].count++;
        if (supported) continue;
        size_t k = 0;
        while (k < n_missing && (strcmp(missing[k].op_type, op_type) || strcmp(missing[k].domain, domain) ||
                                 missing[k].opset != opset))
            k++;
        if (k == n_missing) missing[n_missing++] = (missing_op){op_type, domain, opset};
    }
    qsort(row, rows, sizeof *row, by_count_then_name);
    *n_rows = rows;
    if (missing_out) {
        *missing_out = missing;
        *n_missing_out = n_missing;
    } else {
        free(missing);
    }
    return row;
}

static void print_op(const op_row *r)
{
    if (strcmp(r->domain, "ai.onnx") == 0) printf("  %s: ", r->op_type);
    else printf("  %s (%s): ", r->op_type, r->domain);
}

static size_t count_of(const op_row *rows, size_t n, const op_row *r)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].op_type, r->op_type) && !strcmp(rows[i].domain, r->domain)) return rows[i].count;
    return 0;
}

/* Optimises m in place at `level` and prints what changed: node counts per op type before
 * -> after (the op types whose count changed) and how often each pass fired. Strings of the
 * rows before stay valid: the model keeps its old graph's strings. */
static int print_optimised(onyx_model *m, int level, const op_row *before, size_t n_before)
{
    onyx_model_meta meta_before, meta_after;
    onyx_model_get_meta(m, &meta_before);
    onyx_error err = {0};
    if (onyx_model_optimize(m, level, &err) != ONYX_OK) return cli_error("optimising: %s", err.message);
    onyx_model_get_meta(m, &meta_after);
    size_t n_after;
    op_row *after = count_ops(m, &n_after, NULL, NULL);
    if (!after) return cli_error("out of memory");
    printf("optimised (--opt %d): %zu nodes -> %zu", level, meta_before.node_count, meta_after.node_count);
    if (meta_after.session_node_count)
        printf(" (%zu in a session, with the session-only fusions)", meta_after.session_node_count);
    printf("\n");
    for (size_t i = 0; i < n_before; i++) {
        size_t now = count_of(after, n_after, &before[i]);
        if (now == before[i].count) continue;
        print_op(&before[i]);
        printf("%zu -> %zu\n", before[i].count, now);
    }
    for (size_t i = 0; i < n_after; i++) {
        if (count_of(before, n_before, &after[i])) continue;
        print_op(&after[i]);
        printf("0 -> %zu\n", after[i].count);
    }
    /* the written graph's passes, then those only sessions apply (their nodes are not ONNX) */
    for (int scope = 0; scope < 2; scope++) {
        printf(scope ? "session-only passes:" : "passes:");
        const char *name;
        int64_t count;
        int session_only, n = 0;
        for (size_t i = 0; onyx_model_opt_pass(m, i, &name, &count) == ONYX_OK; i++)
            if (onyx_model_opt_pass_scope(m, i, &session_only) == ONYX_OK && session_only == scope)
                printf("%s %s %lld", n++ ? "," : "", name, (long long)count);
        printf("\n");
    }
    free(after);
    return CLI_EXIT_OK;
}

/* Runs the model once on zero inputs (unknown dims taken as 1) so the planner produces a
 * concrete arena, and prints its size or why there is none. */
static void print_arena(const onyx_model *m, const onyx_session_options *so)
{
    char why[600] = "";
    size_t n_in = onyx_model_input_count(m), n_out = onyx_model_output_count(m);
    onyx_tensor *in = calloc(n_in ? n_in : 1, sizeof *in);
    onyx_tensor *out = calloc(n_out ? n_out : 1, sizeof *out);
    onyx_session *s = NULL;
    onyx_error err = {0};
    bool guessed = false;
    if (!in || !out) snprintf(why, sizeof why, "out of memory");
    for (size_t i = 0; in && !why[0] && i < n_in; i++) {
        onyx_value_info vi;
        if (onyx_model_input_info(m, i, &vi) != ONYX_OK) {
            snprintf(why, sizeof why, "cannot describe input %zu", i);
            break;
        }
        if (!vi.is_tensor || vi.rank < 0) {
            snprintf(why, sizeof why, "input '%.200s' %s", vi.name, vi.is_tensor ? "has unknown rank" : "is not a tensor");
            break;
        }
        in[i].dtype = vi.dtype;
        in[i].rank = vi.rank;
        for (int d = 0; d < vi.rank; d++) {
            in[i].dims[d] = vi.dims[d] < 0 ? 1 : vi.dims[d];
            guessed |= vi.dims[d] < 0;
        }
        if (onyx_tensor_alloc(&in[i], NULL, &err) != ONYX_OK) {
            snprintf(why, sizeof why, "input '%s': %s", vi.name, err.message);
            break;
        }
        if (vi.dtype == ONYX_DTYPE_STRING) { /* zeroed char pointers: make them empty strings */
            static char empty[] = "";
            int64_t count = cli_numel(&in[i]);
            for (int64_t k = 0; k < count; k++) ((char **)in[i].data)[k] = empty;
        }
    }
    if (!why[0] && onyx_session_create(m, so, &s, &err) != ONYX_OK) snprintf(why, sizeof why, "%s", err.message);
    if (!why[0] && onyx_session_run(s, in, n_in, out, n_out) != ONYX_OK)
        snprintf(why, sizeof why, "%s", onyx_session_error(s));
    if (why[0]) printf("arena: not planned (%s)\n", why);
    else printf("arena: %zu bytes%s\n", onyx_session_arena_bytes(s), guessed ? " (unknown dims taken as 1)" : "");
    onyx_session_free(s);
    for (size_t i = 0; in && i < n_in; i++) onyx_tensor_free(&in[i], NULL);
    free(in);
    free(out);
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL, *value;
    bool opt_given = false;
    onyx_session_options so;
    onyx_session_options_init(&so);
    for (int i = 0; i < argc; i++) {
        int r = cli_flag_value(argc, argv, &i, "--opt", &value);
        if (r < 0 || (r > 0 && !cli_parse_int("--opt", value, 0, 2, &so.opt_level))) return CLI_EXIT_USAGE;
        if (r > 0) {
            opt_given = true;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("info: unknown option '%s'", argv[i]);
        if (path) return cli_usage_error("info: one model at a time ('%s' and '%s')", path, argv[i]);
        path = argv[i];
    }
    if (!path) return cli_usage_error("usage: onyx info MODEL [--opt N]");

    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.allow_unsupported = 1; /* to list every missing op at once instead of the first */
    onyx_model *m = NULL;
    onyx_error err = {0};
    if (onyx_model_load_file(path, &lo, &m, &err) != ONYX_OK) return cli_error("%s", err.message);

    print_header(m, path);
    missing_op *missing = NULL;
    size_t n_rows = 0, n_missing = 0;
    op_row *rows = count_ops(m, &n_rows, &missing, &n_missing);
    if (!rows) {
        onyx_model_free(m);
        return cli_error("out of memory");
    }
    onyx_model_meta meta;
    onyx_model_get_meta(m, &meta);
    printf("nodes: %zu\n", meta.node_count);
    for (size_t r = 0; r < n_rows; r++) {
        print_op(&rows[r]);
        printf("%zu\n", rows[r].count);
    }
    printf("parameters: %lld (%lld bytes)\n", (long long)meta.param_count, (long long)meta.param_bytes);
    int rc = CLI_EXIT_OK;
    if (opt_given && so.opt_level > 0) rc = print_optimised(m, so.opt_level, rows, n_rows);
    if (rc == CLI_EXIT_OK) {
        if (n_missing == 0) print_arena(m, &so);
        else printf("arena: not planned (the model has unsupported ops)\n");
        for (size_t k = 0; k < n_missing; k++)
            printf("unsupported: %s (domain '%s', opset %lld)\n", missing[k].op_type, missing[k].domain,
                   (long long)missing[k].opset);
        if (n_missing) rc = CLI_EXIT_FAIL;
    }
    free(rows);
    free(missing);
    onyx_model_free(m);
    return rc;
}
