/* json.h — a small streaming JSON writer for the CLI's machine-readable output.
 *
 * Calls nest as the document does (begin/end object/array, key before each member's value);
 * the writer adds commas, quotes and escapes strings (UTF-8 passes through, control
 * characters become \uXXXX), and with `pretty` indents two spaces per level. Numbers that
 * JSON cannot hold (NaN, infinities) are written as null. Misuse (a value without a key in
 * an object, unbalanced ends, nesting deeper than JSON_MAX_DEPTH) and write errors are
 * remembered: json_finish reports them. */
#ifndef ONYX_JSON_H
#define ONYX_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    FILE *f;
    bool pretty;
    bool failed;                    /* misuse or a write error */
    int depth;
    bool in_object[JSON_MAX_DEPTH]; /* per open container: object (true) or array */
    int count[JSON_MAX_DEPTH];      /* members written so far */
    bool have_key;                  /* a key was written and waits for its value */
} json_writer;

void json_init(json_writer *w, FILE *f, bool pretty);
void json_begin_object(json_writer *w);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w);
void json_end_array(json_writer *w);
void json_key(json_writer *w, const char *key);
void json_string(json_writer *w, const char *s); /* NULL writes null */
void json_int(json_writer *w, int64_t v);
/* %.9g: enough digits to round-trip a float; integral values keep a ".0"-free form. */
void json_number(json_writer *w, double v);
void json_bool(json_writer *w, bool v);
void json_null(json_writer *w);
/* Ends the document (a newline after the top-level value). False if anything went wrong:
 * misuse, an unclosed container, or a write error on the stream. */
bool json_finish(json_writer *w);

#endif
