/* cli.c — messages, argument parsing and small naming helpers for the onyx CLI. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void report(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int (cli_error)(const char *fmt, ...) /* (name): not cli.h's analyzer macro */
{
    va_list ap;
    va_start(ap, fmt);
    report("onyx: ", fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

int (cli_usage_error)(const char *fmt, ...) /* (name): as above */
{
    va_list ap;
    va_start(ap, fmt);
    report("onyx: ", fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("onyx: note: ", fmt, ap);
    va_end(ap);
}

int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != 0) return 0;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", flag);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

bool cli_parse_int(const char *flag, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("%s wants an integer from %d to %d, not '%s'", flag, lo, hi, s);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != suffix[i]) return false;
    return true;
}

onyx_status cli_read_tensor(const char *path, onyx_tensor *t, onyx_error *err)
{
    if (has_suffix(path, ".npy")) return onyx_tensor_read_npy(path, NULL, t, err);
    if (has_suffix(path, ".pb")) return onyx_tensor_read_pb(path, NULL, t, NULL, err);
    if (err) {
        err->status = ONYX_E_ARG;
        snprintf(err->message, sizeof err->message, "'%s': tensor files must end in .npy or .pb", path);
    }
    return ONYX_E_ARG;
}

void cli_sanitize_name(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0) return;
    for (; name[n] && n + 1 < cap; n++) {
        unsigned char c = (unsigned char)name[n];
        /* spelled out rather than isalnum(): locale must not widen what is allowed */
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
        out[n] = keep ? (char)c : '_';
    }
    out[n] = 0;
}

const char *cli_domain_name(const char *domain)
{
    return domain && *domain ? domain : "ai.onnx";
}

/* Appends text to buf[*n ..] without overflowing; output is truncated when full. */
static void append(char *buf, size_t cap, size_t *n, const char *text)
{
    int w = snprintf(buf + *n, cap - *n, "%s", text);
    if (w > 0) *n += (size_t)w < cap - *n ? (size_t)w : cap - *n - 1;
}

void cli_format_info_dims(const onyx_value_info *vi, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0) return;
    buf[0] = 0;
    if (vi->rank < 0) {
        append(buf, cap, &n, "[unknown rank]");
        return;
    }
    append(buf, cap, &n, "[");
    for (int i = 0; i < vi->rank && i < ONYX_MAX_RANK; i++) {
        char dim[32];
        if (vi->dims[i] >= 0) snprintf(dim, sizeof dim, "%lld", (long long)vi->dims[i]);
        else snprintf(dim, sizeof dim, "%s", "?");
        if (i) append(buf, cap, &n, ",");
        append(buf, cap, &n, vi->dims[i] < 0 && vi->dim_names[i] ? vi->dim_names[i] : dim);
    }
    append(buf, cap, &n, "]");
}

void cli_format_dims(int rank, const int64_t *dims, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0) return;
    buf[0] = 0;
    append(buf, cap, &n, "[");
    for (int i = 0; i < rank && i < ONYX_MAX_RANK; i++) {
        char dim[32];
        snprintf(dim, sizeof dim, i ? ",%lld" : "%lld", (long long)dims[i]);
        append(buf, cap, &n, dim);
    }
    append(buf, cap, &n, "]");
}

/* ---- binding --input arguments to graph inputs ------------------------------------------ */

static void list_input_names(const onyx_model *m, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < onyx_model_input_count(m) && n < cap; i++) {
        onyx_value_info vi;
        if (onyx_model_input_info(m, i, &vi) == ONYX_OK) {
            int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", vi.name);
            if (w > 0) n += (size_t)w;
        }
    }
}

static long input_index(const onyx_model *m, const char *name, size_t len)
{
    for (size_t i = 0; i < onyx_model_input_count(m); i++) {
        onyx_value_info vi;
        if (onyx_model_input_info(m, i, &vi) == ONYX_OK && strlen(vi.name) == len && memcmp(vi.name, name, len) == 0)
            return (long)i;
    }
    return -1;
}

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

int cli_bind_inputs(const onyx_model *m, const char **inputs, int n_inputs, bool all_required, const char **paths)
{
    size_t n = onyx_model_input_count(m);
    char names[1024];
    list_input_names(m, names, sizeof names);
    bool *positional = calloc((size_t)n_inputs + 1, sizeof *positional);
    if (!positional) return cli_error("out of memory");
    int rc = CLI_EXIT_OK;
    for (int k = 0; k < n_inputs && !rc; k++) {
        // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): parse_args set inputs[k]
        const char *arg = inputs[k], *eq = strchr(arg, '=');
        long idx = eq ? input_index(m, arg, (size_t)(eq - arg)) : -1;
        if (idx >= 0) {
            if (paths[idx]) rc = cli_error("input '%.*s' is bound twice", (int)(eq - arg), arg);
            paths[idx] = eq + 1;
        } else if (eq && !file_exists(arg)) {
            rc = cli_error("no graph input named '%.*s' (the inputs are: %s)", (int)(eq - arg), arg, names);
        } else {
            positional[k] = true;
        }
    }
    size_t next = 0;
    for (int k = 0; k < n_inputs && !rc; k++) {
        if (!positional[k]) continue;
        while (next < n && paths[next]) next++;
        if (next == n) {
            rc = cli_error("too many inputs: '%s' has nowhere to go (the model has %zu: %s)", inputs[k], n, names);
            break;
        }
        paths[next] = inputs[k];
    }
    free(positional);
    if (rc || !all_required) return rc;
    char missing[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof missing; i++) {
        onyx_value_info vi;
        if (paths[i] || onyx_model_input_info(m, i, &vi) != ONYX_OK) continue;
        int w = snprintf(missing + len, sizeof missing - len, "%s'%s'", len ? ", " : "", vi.name);
        if (w > 0) len += (size_t)w;
    }
    if (missing[0]) return cli_error("missing inputs: %s (bind them with --input NAME=PATH)", missing);
    return CLI_EXIT_OK;
}
