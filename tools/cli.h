/* cli.h — helpers shared by the commands of the onyx CLI (tools/cmd_*.c).
 *
 * The CLI uses only the public API (onyx.h). Everything it prints about an error goes to
 * stderr prefixed "onyx: "; commands return the process exit code. */
#ifndef ONYX_CLI_H
#define ONYX_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "onyx.h"

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_img2img(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* ---- messages and arguments (cli.c) ---------------------------------------------------- */

/* Prints "onyx: <message>" to stderr and returns CLI_EXIT_FAIL. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Prints "onyx: <message>" to stderr and returns CLI_EXIT_USAGE (for bad command lines). */
int cli_usage_error(const char *fmt, ...) CLI_PRINTF(1, 2);
#ifdef __clang_analyzer__
/* For static analysis only (make lint): the analyzer never steps into variadic functions, so
 * it would take these exit codes as unknown, possibly CLI_EXIT_OK. */
static inline int cli_lint_code(int code, int returned)
{
    (void)returned;
    return code;
}
#define cli_error(...) cli_lint_code(CLI_EXIT_FAIL, cli_error(__VA_ARGS__))
#define cli_usage_error(...) cli_lint_code(CLI_EXIT_USAGE, cli_usage_error(__VA_ARGS__))
#endif
/* Prints "onyx: note: <message>" to stderr. */
void cli_note(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Matches argv[*i] against `flag`, as "--flag VALUE" or "--flag=VALUE". Returns 0 if it is
 * another argument, 1 with *value set (advancing *i past a separate value), or -1 after
 * printing an error when the value is missing. */
int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value);
/* Parses a decimal int in [lo, hi] for `flag`; prints an error and returns false if not. */
bool cli_parse_int(const char *flag, const char *s, int lo, int hi, int *out);

/* Decides which file feeds each graph input of m from the --input arguments: NAME=PATH by
 * name, the others in graph order; an argument with '=' whose prefix names no input is a
 * plain path if such a file exists. paths has an entry per graph input, NULL until bound.
 * With all_required an input left unbound is an error; otherwise the caller fills it. */
int cli_bind_inputs(const onyx_model *m, const char **inputs, int n_inputs, bool all_required, const char **paths);
/* Reads a tensor from a .npy or .pb file (chosen by extension) with default limits;
 * release with onyx_tensor_free(t, NULL). */
onyx_status cli_read_tensor(const char *path, onyx_tensor *t, onyx_error *err);
/* Turns a value name into a file name: every character other than letters, digits, '.',
 * '_' and '-' becomes '_'. */
void cli_sanitize_name(const char *name, char *out, size_t cap);
/* "ai.onnx" for the default domain "", the domain itself otherwise. */
const char *cli_domain_name(const char *domain);
/* "[N,3,224,224]": known dims as numbers, symbolic ones by name, unknown ones as "?". */
void cli_format_info_dims(const onyx_value_info *vi, char *buf, size_t cap);
void cli_format_dims(int rank, const int64_t *dims, char *buf, size_t cap);

/* ---- tensor values (cli_values.c) ------------------------------------------------------ */

int64_t cli_numel(const onyx_tensor *t);
/* True for every floating dtype, whatever its width (float4 … float64). */
bool cli_dtype_is_float(onyx_dtype t);
/* Element i of a real numeric or bool tensor as a double (exact for every float format
 * onyx has; 64-bit integers beyond 2^53 round). */
double cli_value_at(const onyx_tensor *t, int64_t i);
/* Formats element i for people: floats as %.6g, integers exactly, complex as a+bj,
 * bools as true/false, strings quoted. */
void cli_format_value(const onyx_tensor *t, int64_t i, char *buf, size_t cap);
/* The dtype a .npy file can hold for t: t itself when numpy has it, float32 for the small
 * floats numpy lacks (bfloat16, float8*, float4), int8/uint8 for int4/int2/uint4/uint2,
 * ONYX_DTYPE_UNDEFINED for strings. */
onyx_dtype cli_numpy_dtype(onyx_dtype t);
/* Converts t to `to` (one of the widenings cli_numpy_dtype picks) into a new tensor
 * released with onyx_tensor_free(out, NULL). */
onyx_status cli_widen(const onyx_tensor *t, onyx_dtype to, onyx_tensor *out, onyx_error *err);

/* ---- comparing results (cli_compare.c) ------------------------------------------------- */

/* Compares like the ONNX backend test runner: same dtype and shape; floats within
 * atol + rtol*|expected| (NaN matches NaN, infinities must match exactly); integers, bools
 * and strings exactly. On mismatch returns false with the reason in `why`. `verbose` adds
 * how many values differ. */
bool cli_compare(const onyx_tensor *got, const onyx_tensor *want, double rtol, double atol, bool verbose,
                 char *why, size_t cap);

#endif
