/* json.c — the streaming JSON writer (json.h). */
#include <inttypes.h>
#include <math.h>

#include "json.h"

void json_init(json_writer *w, FILE *f, bool pretty)
{
    *w = (json_writer){.f = f, .pretty = pretty};
}

static void newline_indent(json_writer *w)
{
    if (!w->pretty) return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
}

/* Everything before a value: the comma and indentation inside arrays; inside objects the
 * key has done that already. Returns false (and marks the writer failed) on misuse. */
static bool before_value(json_writer *w)
{
    if (w->failed) return false;
    if (w->depth == 0) {
        if (w->count[0]++ > 0) w->failed = true; /* one top-level value per document */
        return !w->failed;
    }
    int d = w->depth - 1;
    if (w->in_object[d]) {
        if (!w->have_key) {
            w->failed = true;
            return false;
        }
        w->have_key = false;
        return true;
    }
    if (w->count[w->depth]++ > 0) fputc(',', w->f);
    newline_indent(w);
    return true;
}

static void begin(json_writer *w, bool object)
{
    if (!before_value(w)) return;
    if (w->depth + 1 >= JSON_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    fputc(object ? '{' : '[', w->f);
    w->in_object[w->depth] = object;
    w->depth++;
    w->count[w->depth] = 0;
}

static void end(json_writer *w, bool object)
{
    if (w->failed) return;
    if (w->depth == 0 || w->in_object[w->depth - 1] != object || w->have_key) {
        w->failed = true;
        return;
    }
    bool empty = w->count[w->depth] == 0;
    w->depth--;
    if (!empty) newline_indent(w);
    fputc(object ? '}' : ']', w->f);
}

void json_begin_object(json_writer *w) { begin(w, true); }
void json_end_object(json_writer *w) { end(w, true); }
void json_begin_array(json_writer *w) { begin(w, false); }
void json_end_array(json_writer *w) { end(w, false); }

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", (unsigned)*p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_key(json_writer *w, const char *key)
{
    if (w->failed) return;
    if (w->depth == 0 || !w->in_object[w->depth - 1] || w->have_key || !key) {
        w->failed = true;
        return;
    }
    if (w->count[w->depth]++ > 0) fputc(',', w->f);
    newline_indent(w);
    put_string(w->f, key);
    fputs(w->pretty ? ": " : ":", w->f);
    w->have_key = true;
}

void json_string(json_writer *w, const char *s)
{
    if (!before_value(w)) return;
    if (s) put_string(w->f, s);
    else fputs("null", w->f);
}

void json_int(json_writer *w, int64_t v)
{
    if (before_value(w)) fprintf(w->f, "%" PRId64, v);
}

void json_number(json_writer *w, double v)
{
    if (!before_value(w)) return;
    if (!isfinite(v)) fputs("null", w->f);
    else fprintf(w->f, "%.9g", v == 0 ? 0.0 : v); /* no "-0" */
}

void json_bool(json_writer *w, bool v)
{
    if (before_value(w)) fputs(v ? "true" : "false", w->f);
}

void json_null(json_writer *w)
{
    if (before_value(w)) fputs("null", w->f);
}

bool json_finish(json_writer *w)
{
    if (w->depth != 0 || w->have_key || w->count[0] != 1) w->failed = true;
    if (!w->failed) fputc('\n', w->f);
    return !w->failed && !ferror(w->f);
}
