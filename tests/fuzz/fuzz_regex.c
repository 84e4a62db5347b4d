/* fuzz_regex.c — libFuzzer target: any bytes as a RegexFullMatch node's pattern and subjects.
 * The input up to its first NUL is the pattern (RE2 syntax, translated to POSIX and matched
 * by ops/strings.c); the rest, cut at every further NUL, is the string tensor matched (at
 * least one element, possibly ""), of at most MAX_SUBJECT_BYTES in all: glibc's regexec is
 * not linear (its time grows with the subject's length times the square of the pattern's
 * size), and long subjects would only make the fuzzer time out in libc. The op infers
 * (translates and compiles the pattern) and, when that succeeds, runs (compiles again,
 * matches each subject). Besides crashes, leaks and UB: a pattern infer accepts must
 * compile again in run. */
#include <stdlib.h>
#include <string.h>

#include "op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SUBJECTS 16
#define MAX_SUBJECT_BYTES 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a NUL-terminated copy: pattern, NUL, subject, NUL, subject ... */
    char *text = malloc(size + 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = 0;
    size_t pattern_len = strlen(text);
    if (size > pattern_len + 1 + MAX_SUBJECT_BYTES) {
        size = pattern_len + 1 + MAX_SUBJECT_BYTES;
        text[size] = 0;
    }
    const char *subjects[MAX_SUBJECTS];
    int64_t n = 0;
    for (size_t nul = pattern_len; nul < size && n < MAX_SUBJECTS; nul += strlen(text + nul + 1) + 1)
        subjects[n++] = text + nul + 1; /* text[nul] is the NUL before the subject */
    if (n == 0) subjects[n++] = "";

    int node_in[1] = {0}, node_out[1] = {1};
    ox_attr attr = {.name = "pattern", .type = OX_ATTR_STRING, .s = text, .s_len = pattern_len};
    ox_node node = {.name = "n", .op_type = "RegexFullMatch", .domain = "", .opset = 20, .n_in = 1, .n_out = 1,
                    .in = node_in, .out = node_out, .n_attr = 1, .attr = &attr};
    onyx_tensor x = {.dtype = ONYX_DTYPE_STRING, .rank = 1, .dims = {n}, .data = subjects};
    onyx_tensor y;
    memset(&y, 0, sizeof y);
    onyx_tensor *in[1] = {&x}, *out[1] = {&y};
    char msg[256];
    ox_ctx c = {.node = &node, .opset = 20, .n_in = 1, .n_out = 1, .in = in, .out = out, .threads = 1, .msg = msg,
                .msg_cap = sizeof msg, .need_value = -1};
    const ox_op *op = ox_op_find("", "RegexFullMatch", 20);
    if (!op) abort();
    if (op->infer(&c) == ONYX_OK) {
        if (y.dtype != ONYX_DTYPE_BOOL || y.rank != 1 || y.dims[0] != n) abort();
        bool matched[MAX_SUBJECTS];
        y.data = matched;
        onyx_status st = op->run(&c);
        if (st != ONYX_OK && st != ONYX_E_LIMIT) abort(); /* infer compiled it: so must run */
    }
    free(text);
    return 0;
}
