/* strings.c — ops on string tensors: StringNormalizer, StringConcat, StringSplit,
 * RegexFullMatch and TfIdfVectorizer.
 *
 * String tensors hold `char *` (NUL-terminated, UTF-8); a NULL element reads as "". New
 * strings are allocated from the run's string pool (c->strings), never from the heap.
 * Ops whose output shape depends on the strings (StringNormalizer drops stop words,
 * StringSplit pads to the longest split) read the input in infer via ox_need_value. */
#include <limits.h> /* RE_DUP_MAX, where regex.h does not define it */
#include <regex.h>
#include <string.h>

#include "op.h"

static const char *str_at(const onyx_tensor *t, int64_t i)
{
    const char *s = ((char *const *)t->data)[i];
    return s ? s : "";
}

static onyx_status expect_strings(ox_ctx *c, int i)
{
    static const onyx_dtype string_type[] = {ONYX_DTYPE_STRING, 0};
    return ox_expect_dtype(c, i, string_type);
}

/* Stores a copy of s[0..n) from the run's string pool as output element i. */
static onyx_status put_string(ox_ctx *c, onyx_tensor *out, int64_t i, const char *s, size_t n)
{
    if (!c->strings) return ox_fail(c, ONYX_E_INTERNAL, "no string pool for string output");
    char *copy = ox_pool_strndup(c->strings, s, n);
    if (!copy) return ox_fail(c, ONYX_E_NOMEM, "out of memory for output strings");
    ((char **)out->data)[i] = copy;
    return ONYX_OK;
}

/* ---- case mapping ---------------------------------------------------------------------- */

/* Simple case mapping of the scripts whose letters pair up one-to-one and keep their UTF-8
 * length: ASCII, Latin-1, Latin Extended-A, basic Greek and Cyrillic. Other code points are
 * left alone, so a mapped string has exactly the bytes of the original's length. */
static uint32_t cp_lower(uint32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
        (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F) return c + 0x50;
    if (c == 0x178) return 0xFF;
    /* Latin Extended-A pairs: upper even below U+0138 and from U+014A, upper odd between. */
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
    return c;
}

static uint32_t cp_upper(uint32_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7) ||
        (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) || (c >= 0x430 && c <= 0x44F))
        return c - 0x20;
    if (c >= 0x450 && c <= 0x45F) return c - 0x50;
    if (c == 0xFF) return 0x178;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c & ~1u;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
    return c;
}

/* Decodes the unit at s: an ASCII byte or a two-byte UTF-8 sequence (the only lengths the
 * mapping touches); anything else is one opaque byte. Sets *len and returns the value. */
static uint32_t next_unit(const unsigned char *s, size_t *len)
{
    if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *len = 2;
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    }
    *len = 1;
    return s[0];
}

/* Rewrites s in place with map applied; lengths are preserved (see cp_lower). */
static void map_case(char *s, uint32_t (*map)(uint32_t))
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t len;
        uint32_t c = next_unit(p, &len);
        if (len == 1 && c < 0x80) {
            p[0] = (unsigned char)map(c);
        } else if (len == 2) {
            uint32_t m = map(c);
            p[0] = (unsigned char)(0xC0 | (m >> 6));
            p[1] = (unsigned char)(0x80 | (m & 0x3F));
        }
        p += len;
    }
}

/* Equality ignoring case (both sides lowercased unit by unit). */
static bool equal_nocase(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        size_t lp, lq;
        uint32_t cp = next_unit(p, &lp), cq = next_unit(q, &lq);
        if (lp != lq || cp_lower(cp) != cp_lower(cq)) return false;
        p += lp;
        q += lq;
    }
    return *p == *q;
}

/* ---- StringNormalizer ------------------------------------------------------------------ */

typedef enum { CASE_NONE, CASE_LOWER, CASE_UPPER } case_action;

static onyx_status normalizer_case(ox_ctx *c, case_action *out)
{
    const char *a = ox_attr_string(c, "case_change_action", "NONE");
    if (!strcmp(a, "NONE")) *out = CASE_NONE;
    else if (!strcmp(a, "LOWER")) *out = CASE_LOWER;
    else if (!strcmp(a, "UPPER")) *out = CASE_UPPER;
    else return ox_fail(c, ONYX_E_ARG, "case_change_action '%s' is not LOWER, UPPER or NONE", a);
    return ONYX_OK;
}

/* True if element s is one of the stop words (compared per is_case_sensitive). */
static bool is_stopword(const ox_ctx *c, const char *s)
{
    const ox_attr *a = ox_node_attr(c->node, "stopwords");
    if (!a || a->type != OX_ATTR_STRINGS) return false;
    bool sensitive = ox_attr_int(c, "is_case_sensitive", 0) != 0;
    for (size_t k = 0; k < a->n; k++)
        if (sensitive ? !strcmp(s, a->strings[k]) : equal_nocase(s, a->strings[k])) return true;
    return false;
}

static onyx_status normalizer_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    case_action act;
    if (st || (st = expect_strings(c, 0)) || (st = normalizer_case(c, &act)) ||
        (st = ox_attr_expect(c, "stopwords", OX_ATTR_STRINGS)))
        return st;
    const onyx_tensor *x = c->in[0];
    if (!(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1)))
        return ox_fail(c, ONYX_E_SHAPE, "input must have shape [C] or [1, C], got rank %d%s",
                       x->rank, x->rank == 2 ? " with more than one row" : "");
    if ((st = ox_need_value(c, 0))) return st;
    int64_t n = ox_tensor_numel(x), kept = 0;
    for (int64_t i = 0; i < n; i++) kept += !is_stopword(c, str_at(x, i));
    /* When every element is dropped the output is one empty string. */
    int64_t dims[2] = {1, kept ? kept : 1};
    ox_set_shape(c->out[0], ONYX_DTYPE_STRING, x->rank, x->rank == 1 ? dims + 1 : dims);
    return ONYX_OK;
}

static onyx_status normalizer_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    case_action act;
    onyx_status st = normalizer_case(c, &act);
    if (st) return st;
    int64_t n = ox_tensor_numel(x), j = 0, cap = ox_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) {
        const char *s = str_at(x, i);
        if (is_stopword(c, s)) continue;
        if (j >= cap) return ox_fail(c, ONYX_E_INTERNAL, "input changed since planning");
        if ((st = put_string(c, y, j, s, strlen(s)))) return st;
        char *out = ((char **)y->data)[j++];
        if (act == CASE_LOWER) map_case(out, cp_lower);
        else if (act == CASE_UPPER) map_case(out, cp_upper);
    }
    if (j == 0 && cap == 1) return put_string(c, y, 0, "", 0);
    if (j != cap) return ox_fail(c, ONYX_E_INTERNAL, "input changed since planning");
    return ONYX_OK;
}

/* ---- StringConcat ---------------------------------------------------------------------- */

static onyx_status concat_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 2);
    if (st || (st = expect_strings(c, 0)) || (st = expect_strings(c, 1))) return st;
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    int rank;
    int64_t dims[ONYX_MAX_RANK];
    if ((st = ox_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims))) return st;
    ox_set_shape(c->out[0], ONYX_DTYPE_STRING, rank, dims);
    return ONYX_OK;
}

static onyx_status concat_run(ox_ctx *c)
{
    const onyx_tensor *a = c->in[0], *b = c->in[1];
    onyx_tensor *y = c->out[0];
    int64_t sa[ONYX_MAX_RANK], sb[ONYX_MAX_RANK], idx[ONYX_MAX_RANK] = {0};
    ox_broadcast_strides(a, y->rank, y->dims, sa);
    ox_broadcast_strides(b, y->rank, y->dims, sb);
    int64_t n = ox_tensor_numel(y), ia = 0, ib = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *p = str_at(a, ia), *q = str_at(b, ib);
        size_t lp = strlen(p), lq = strlen(q);
        onyx_status st = put_string(c, y, i, p, lp + lq);
        if (st) return st;
        memcpy(((char **)y->data)[i] + lp, q, lq + 1);
        /* advance the multi-index, keeping both input offsets in step */
        for (int k = y->rank - 1; k >= 0; k--) {
            ia += sa[k];
            ib += sb[k];
            if (++idx[k] < y->dims[k]) break;
            ia -= sa[k] * y->dims[k];
            ib -= sb[k] * y->dims[k];
            idx[k] = 0;
        }
    }
    return ONYX_OK;
}

/* ---- StringSplit ----------------------------------------------------------------------- */

/* Walks the pieces of one string as Python's str.split(delimiter, maxsplit) does: with a
 * delimiter every occurrence splits (empty pieces kept); without one runs of whitespace
 * split and leading/trailing whitespace is dropped. maxsplit < 0 means no limit. */
typedef struct splitter {
    const char *p, *delim;
    size_t dlen;
    int64_t splits_left;
    bool done;
} splitter;

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static void split_start(splitter *sp, const ox_ctx *c, const char *s)
{
    sp->p = s;
    sp->delim = ox_attr_string(c, "delimiter", "");
    sp->dlen = strlen(sp->delim);
    sp->splits_left = ox_attr_int(c, "maxsplit", -1);
    sp->done = false;
}

static bool split_next(splitter *sp, const char **tok, size_t *len)
{
    if (sp->done) return false;
    if (sp->dlen) {
        const char *hit = sp->splits_left != 0 ? strstr(sp->p, sp->delim) : NULL;
        *tok = sp->p;
        if (!hit) {
            *len = strlen(sp->p);
            sp->done = true;
            return true;
        }
        *len = (size_t)(hit - sp->p);
        sp->p = hit + sp->dlen;
        if (sp->splits_left > 0) sp->splits_left--;
        return true;
    }
    while (is_space(*sp->p)) sp->p++;
    if (!*sp->p) return (sp->done = true, false);
    *tok = sp->p;
    if (sp->splits_left == 0) { /* the rest, trailing whitespace included */
        *len = strlen(sp->p);
        sp->done = true;
        return true;
    }
    while (*sp->p && !is_space(*sp->p)) sp->p++;
    *len = (size_t)(sp->p - *tok);
    if (sp->splits_left > 0) sp->splits_left--;
    return true;
}

static int64_t split_count(const ox_ctx *c, const char *s)
{
    splitter sp;
    const char *tok;
    size_t len;
    int64_t n = 0;
    split_start(&sp, c, s);
    while (split_next(&sp, &tok, &len)) n++;
    return n;
}

static onyx_status split_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = expect_strings(c, 0)) || (st = ox_check_rank(c, c->in[0]->rank + 1))) return st;
    if ((st = ox_need_value(c, 0))) return st;
    const onyx_tensor *x = c->in[0];
    int64_t n = ox_tensor_numel(x), widest = 0, dims[ONYX_MAX_RANK];
    for (int64_t i = 0; i < n; i++) {
        int64_t k = split_count(c, str_at(x, i));
        if (k > widest) widest = k;
    }
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[x->rank] = widest;
    ox_set_shape(c->out[0], ONYX_DTYPE_STRING, x->rank + 1, dims);
    if (c->n_out > 1 && c->out[1]) ox_set_shape(c->out[1], ONYX_DTYPE_INT64, x->rank, x->dims);
    return ONYX_OK;
}

static onyx_status split_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    onyx_tensor *y = c->out[0];
    int64_t *counts = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    int64_t n = ox_tensor_numel(x), width = y->dims[y->rank - 1];
    for (int64_t i = 0; i < n; i++) {
        splitter sp;
        const char *tok;
        size_t len;
        int64_t k = 0;
        onyx_status st;
        split_start(&sp, c, str_at(x, i));
        for (; split_next(&sp, &tok, &len); k++) {
            if (k >= width) return ox_fail(c, ONYX_E_INTERNAL, "input changed since planning");
            if ((st = put_string(c, y, i * width + k, tok, len))) return st;
        }
        if (counts) counts[i] = k;
        for (int64_t pad = k; pad < width; pad++)
            if ((st = put_string(c, y, i * width + pad, "", 0))) return st;
    }
    return ONYX_OK;
}

/* ---- RegexFullMatch -------------------------------------------------------------------- */

/* The pattern (RE2 syntax) is translated to a POSIX extended regex anchored at both ends,
 * compiled with regcomp for the duration of one infer or run and freed before returning.
 * Translated: the Perl classes \d \w \s (and negations) outside and inside brackets,
 * escapes of punctuation and of \t \n \r \f \v, \A and \z, non-capturing and named groups,
 * lazy quantifiers (laziness does not change whether a full match exists), a leading (?i),
 * and `.` (which in RE2 excludes newline). \b and \B are passed on as glibc's extensions.
 * Matching is by bytes: `.` and classes see one byte of a multi-byte UTF-8 character.
 * Anything else RE2-specific (\p{..}, \Q..\E, other flags) is refused. As in RE2, a
 * repetition operator right after another (a**, a+*, a{2}*, a*??) and a ')' closing no
 * group are errors (the latter would otherwise close the anchoring group).
 *
 * Limits (fuzzing found each): glibc's regcomp copies a repeated expression once per count
 * of {n,m} and twice for '+', so nested repeats grow exponentially ((((a+)+)+)… doubles per
 * level), and its epsilon closures grow with the cube of the nesting of loops ((((a*)*)*)…).
 * The translation counts the atoms regcomp will make and how deeply repeats nest, and
 * refuses patterns beyond REGEX_ATOMS or REGEX_NEST (RE2, too, refuses programs beyond its
 * memory budget). regexec's time still grows with the subject's length times the square of
 * the atoms of a pattern of optional parts: glibc's matcher is not RE2's linear one. */
#define REGEX_MAX 4096   /* translated pattern size limit (a stack buffer) */
#define REGEX_ATOMS 4096 /* atoms once regcomp has copied the repeated expressions */
#define REGEX_NEST 16    /* repeats applied to repeats (nested loops) */
#define REGEX_DEPTH 1000 /* nested groups tracked while counting */
/* The largest count regcomp takes, where the C library's is below RE2's 1000 (musl and
 * wasi-libc: 255; glibc: 32767): larger ones are refused as unsupported */
#if defined(RE_DUP_MAX) && RE_DUP_MAX < 1000
#define RE_DUP_MAX_OR_RE2 RE_DUP_MAX
#else
#define RE_DUP_MAX_OR_RE2 1000
#endif

typedef struct rx_out {
    char buf[REGEX_MAX];
    size_t n;
    bool overflow;
    bool invalid; /* the reason rx_translate gives is an error in the pattern, not a limit */
} rx_out;

static void rx_puts(rx_out *o, const char *s)
{
    size_t len = strlen(s);
    if (o->n + len >= sizeof o->buf) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->n, s, len);
    o->n += len;
    o->buf[o->n] = 0;
}

static void rx_putc(rx_out *o, char ch)
{
    char s[2] = {ch, 0};
    rx_puts(o, s);
}

/* Character of a control escape (\t \n \r \f \v), or 0. */
static char control_escape(char e)
{
    switch (e) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    default: return 0;
    }
}

static bool is_punct(char ch)
{
    return ch && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", ch) != NULL;
}

/* Translates a bracket expression starting after '['; *pp is advanced past its ']'.
 * POSIX brackets have no escapes, so ']' '-' '^' met as escapes are moved to the positions
 * where they are literal (first, last, not first). */
static const char *rx_bracket(const char **pp, rx_out *o)
{
    const char *p = *pp;
    char body[REGEX_MAX];
    size_t nb = 0;
    bool neg = false, rbracket = false, lbracket = false, dash = false, caret = false;
    bool first = true;
    if (*p == '^') {
        neg = true;
        p++;
    }
    for (;; first = false) {
        char ch = *p;
        char lit = 0;
        const char *cls = NULL;
        if (!ch) return "unterminated [";
        if (ch == ']' && !first) break;
        if (nb + 16 >= sizeof body) return "pattern too long";
        if ((unsigned char)ch >= 0x80) return "non-ASCII characters in [] are not supported";
        if (ch == '[' && p[1] == ':') { /* [:alpha:] passes through */
            const char *end = strstr(p + 2, ":]");
            if (!end || p[2] == '^') return "unsupported [: :] class";
            size_t len = (size_t)(end + 2 - p);
            if (nb + len >= sizeof body) return "pattern too long";
            memcpy(body + nb, p, len);
            nb += len;
            p += len;
            continue;
        }
        if (ch == '\\') {
            char e = p[1];
            if (!e) return "unterminated [";
            p += 2;
            if (e == 'd') cls = "0-9";
            else if (e == 'w') cls = "[:alnum:]_";
            else if (e == 's') cls = "[:space:]";
            else if (e == 'D' || e == 'W' || e == 'S') return "negated classes inside [] are not supported";
            else if (control_escape(e)) lit = control_escape(e);
            else if (is_punct(e)) lit = e;
            else return "unsupported escape inside []";
        } else if (ch == '-' && (first || p[1] == ']')) {
            p++;
            dash = true; /* a leading or trailing '-' is literal */
            continue;
        } else {
            lit = ch; /* ranges a-z pass through as written */
            p++;
        }
        if (cls) {
            size_t len = strlen(cls);
            memcpy(body + nb, cls, len);
            nb += len;
        } else if (lit == ']') {
            rbracket = true;
        } else if (lit == '-' && ch == '\\') {
            dash = true;
        } else if (lit == '^' && (ch == '\\' || nb == 0)) {
            caret = true; /* never first, where it would negate */
        } else if (lit == '[') {
            lbracket = true; /* never before . = :, where it would open a POSIX term */
        } else {
            body[nb++] = lit;
        }
    }
    *pp = p + 1;
    body[nb] = 0;
    if (!nb && !rbracket && !lbracket && !dash && !caret) return "empty []";
    bool caret_alone = caret && !nb && !rbracket && !lbracket; /* would be first */
    if (caret_alone && !neg && !dash) {
        rx_puts(o, "\\^");
        return NULL;
    }
    rx_putc(o, '[');
    if (neg) rx_putc(o, '^');
    if (rbracket) rx_putc(o, ']');
    if (caret_alone && dash) { /* [-^]: a leading '-' is literal, the '^' after it too */
        rx_puts(o, "-^]");
        return NULL;
    }
    rx_puts(o, body);
    if (lbracket) rx_putc(o, '[');
    if (caret) rx_putc(o, '^');
    if (dash) rx_putc(o, '-');
    rx_putc(o, ']');
    return NULL;
}

/* Reads a repetition "n}", "n,}" or "n,m}" at p (just after '{'): returns the end (past
 * '}'), p itself if the text is no repetition, NULL if a count exceeds RE2's limit of 1000.
 * *copies bounds how many copies of the repeated expression regcomp makes (last count + 1). */
static const char *rx_repeat(const char *p, uint32_t *copies)
{
    const char *q = p;
    uint32_t last = 0;
    for (int part = 0; part < 2; part++) {
        long v = 0;
        const char *digits = q;
        while (*q >= '0' && *q <= '9' && v <= 1000) v = v * 10 + (*q++ - '0');
        if (v > 1000) return NULL;
        if (q == digits && part == 0) return p; /* the first count is required */
        if (q != digits) last = (uint32_t)v;
        if (*q == '}') {
            *copies = last + 1;
            return q + 1;
        }
        if (*q != ',' || part == 1) return p;
        q++;
    }
    return p;
}

/* What regcomp will make of the pattern, counted as it is translated: atoms (characters,
 * classes, anchors) with the copies repeats make, and how deeply repeats nest. Per open
 * group: its atoms so far, the last atom or group's (what a quantifier repeats; 0 after '('
 * or '|'), and the deepest nesting of repeats in it and in its last item. Sizes only grow,
 * so once the total is above REGEX_ATOMS it stays there. */
typedef struct rx_size {
    uint32_t total;
    int depth;
    struct {
        uint32_t sum, last;
        int nest, last_nest;
    } g[REGEX_DEPTH + 1];
} rx_size;

static void rx_size_atom(rx_size *z)
{
    z->g[z->depth].sum++;
    z->g[z->depth].last = 1;
    z->g[z->depth].last_nest = 0;
    z->total++;
}

/* The last atom or group repeated: copies >= 1 of it in all (at most 1001); false if
 * repeats now nest deeper than REGEX_NEST. */
static bool rx_size_repeat(rx_size *z, uint32_t copies)
{
    uint32_t more = z->g[z->depth].last * (copies - 1); /* last <= total <= REGEX_ATOMS: no overflow */
    z->g[z->depth].sum += more;
    z->g[z->depth].last += more;
    z->total += more;
    int nest = ++z->g[z->depth].last_nest;
    if (nest > z->g[z->depth].nest) z->g[z->depth].nest = nest;
    return nest <= REGEX_NEST;
}

static bool rx_size_open(rx_size *z)
{
    if (z->depth == REGEX_DEPTH) return false;
    z->depth++;
    z->g[z->depth].sum = z->g[z->depth].last = 0;
    z->g[z->depth].nest = z->g[z->depth].last_nest = 0;
    return true;
}

/* False for a ')' closing no group (it would close the anchoring group around the pattern). */
static bool rx_size_close(rx_size *z)
{
    if (z->depth == 0) return false;
    uint32_t sum = z->g[z->depth].sum;
    int nest = z->g[z->depth].nest;
    z->depth--;
    z->g[z->depth].sum += sum;
    z->g[z->depth].last = sum;
    z->g[z->depth].last_nest = nest;
    if (nest > z->g[z->depth].nest) z->g[z->depth].nest = nest;
    return true;
}

/* Translates an RE2 pattern into o (anchored); returns NULL or what is unsupported (or, with
 * o->invalid set, what is wrong with the pattern). */
static const char *rx_translate(const char *p, rx_out *o, int *cflags)
{
    o->n = 0;
    o->overflow = o->invalid = false;
    o->buf[0] = 0;
    *cflags = REG_EXTENDED | REG_NOSUB;
    if (!strncmp(p, "(?i)", 4)) {
        *cflags |= REG_ICASE;
        p += 4;
    }
    rx_puts(o, "^(");
    enum { NONE, REPEAT, LAZY } after = NONE; /* what the previous token was */
    bool over_dup = false; /* a count regcomp refuses: reported if nothing else is wrong */
    rx_size z;
    z.total = 0;
    z.depth = 0;
    z.g[0].sum = z.g[0].last = 0;
    z.g[0].nest = z.g[0].last_nest = 0;
    while (*p) {
        char ch = *p++;
        bool atom = true;
        uint32_t copies = 0; /* a repeat: the copies regcomp makes */
        const char *err = NULL;
        switch (ch) {
        case '\\': {
            char e = *p++;
            if (!e) return "trailing backslash";
            if (e == 'd') rx_puts(o, "[0-9]");
            else if (e == 'D') rx_puts(o, "[^0-9]");
            else if (e == 'w') rx_puts(o, "[[:alnum:]_]");
            else if (e == 'W') rx_puts(o, "[^[:alnum:]_]");
            else if (e == 's') rx_puts(o, "[[:space:]]");
            else if (e == 'S') rx_puts(o, "[^[:space:]]");
            else if (e == 'b' || e == 'B') rx_puts(o, e == 'b' ? "\\b" : "\\B");
            else if (e == 'A') rx_putc(o, '^');
            else if (e == 'z') rx_putc(o, '$');
            else if (control_escape(e)) rx_putc(o, control_escape(e));
            else if (e && strchr(".[]()*+?{}|^$\\", e)) {
                rx_putc(o, '\\');
                rx_putc(o, e);
            } else if (is_punct(e)) rx_putc(o, e);
            else return "unsupported escape";
            break;
        }
        case '[': err = rx_bracket(&p, o); break;
        case '.': rx_puts(o, "[^\n]"); break;
        case '(':
            if (*p == '?') {
                if (p[1] == ':') p += 2;
                else if (p[1] == 'P' && p[2] == '<') {
                    const char *end = strchr(p, '>');
                    if (!end) return "unterminated group name";
                    p = end + 1;
                } else return "unsupported (? group or flag";
            }
            if (!rx_size_open(&z)) return "groups nested too deeply";
            rx_putc(o, '(');
            atom = false;
            break;
        case ')':
            if (!rx_size_close(&z)) {
                o->invalid = true;
                return "unmatched )";
            }
            rx_putc(o, ch);
            atom = false;
            break;
        case '|':
            z.g[z.depth].last = 0;
            z.g[z.depth].last_nest = 0;
            rx_putc(o, ch);
            atom = false;
            break;
        case '*': case '+': case '?':
            atom = false;
            if (ch == '?' && after == REPEAT) { /* a '?' after a quantifier makes it lazy: drop it */
                after = LAZY;
                continue;
            }
            rx_putc(o, ch);
            copies = ch == '+' ? 2 : 1; /* regcomp: x+ is x x* */
            break;
        case '{': {
            const char *end = rx_repeat(p, &copies);
            if (end == p) { /* not a repetition: a literal '{', as in RE2 */
                copies = 0;
                rx_puts(o, "[{]");
                break;
            }
            if (!end) return "repeat count above 1000";
            over_dup |= copies - 1 > RE_DUP_MAX_OR_RE2;
            rx_putc(o, '{');
            for (; p < end; p++) rx_putc(o, *p);
            atom = false;
            break;
        }
        case '}': rx_puts(o, "[}]"); break;
        default: rx_putc(o, ch); break;
        }
        if (err) return err;
        if (copies && after != NONE) { /* RE2: "bad repetition operator" (a**, a+*, a{2}*, a*??) */
            o->invalid = true;
            return "repetition operator after another";
        }
        if (copies && !rx_size_repeat(&z, copies)) return "repeats nested too deeply";
        if (atom) rx_size_atom(&z);
        if (z.total > REGEX_ATOMS) return "pattern too large once its repeats are expanded";
        after = copies ? REPEAT : NONE;
    }
    if (over_dup) return "repeat count above the C library's RE_DUP_MAX";
    rx_puts(o, ")$");
    return o->overflow ? "pattern too long" : NULL;
}

/* Compiles the node's pattern into re (to be regfree'd by the caller on success). */
static onyx_status regex_compile(ox_ctx *c, regex_t *re)
{
    const char *pattern = ox_attr_string(c, "pattern", NULL);
    if (!pattern) return ox_fail(c, ONYX_E_ARG, "attribute 'pattern' is missing");
    rx_out o;
    int cflags;
    const char *why = rx_translate(pattern, &o, &cflags);
    if (why && o.invalid) return ox_fail(c, ONYX_E_ARG, "regex '%s' is invalid: %s", pattern, why);
    if (why) return ox_fail(c, ONYX_E_UNSUPPORTED, "regex '%s': %s", pattern, why);
    int rc = regcomp(re, o.buf, cflags);
    if (rc) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        return ox_fail(c, ONYX_E_ARG, "regex '%s' is invalid: %s", pattern, msg);
    }
    return ONYX_OK;
}

static onyx_status regex_infer(ox_ctx *c)
{
    onyx_status st = ox_need_io(c, 1);
    if (st || (st = expect_strings(c, 0))) return st;
    regex_t re;
    if ((st = regex_compile(c, &re))) return st;
    regfree(&re);
    ox_set_shape(c->out[0], ONYX_DTYPE_BOOL, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

static onyx_status regex_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    bool *y = c->out[0]->data;
    regex_t re;
    onyx_status st = regex_compile(c, &re);
    if (st) return st;
    int64_t n = ox_tensor_numel(x);
    for (int64_t i = 0; i < n && !st; i++) {
        int rc = regexec(&re, str_at(x, i), 0, NULL, 0);
        if (rc == 0 || rc == REG_NOMATCH) y[i] = rc == 0;
        else st = ox_fail(c, ONYX_E_LIMIT, "regex matching failed on element %lld", (long long)i);
    }
    regfree(&re);
    return st;
}

/* ---- TfIdfVectorizer ------------------------------------------------------------------- */

/* The n-gram pool: pool_int64s or pool_strings, cut by ngram_counts into one segment per
 * n-gram length (segment k holds (k+1)-grams back to back). N-grams are numbered across the
 * segments in order; ngram_indexes maps that number to an output column. */
typedef enum { TFIDF_TF, TFIDF_IDF, TFIDF_TFIDF } tfidf_mode;

typedef struct tfidf {
    tfidf_mode mode;
    int64_t min_n, max_n, max_skip;
    const int64_t *counts, *indexes, *pool_ints;
    const char *const *pool_strings;
    size_t n_counts, n_indexes, pool_len, n_weights;
    const float *weights;
    int64_t out_size;
} tfidf;

static onyx_status tfidf_params(ox_ctx *c, tfidf *t)
{
    const char *mode = ox_attr_string(c, "mode", "");
    if (!strcmp(mode, "TF")) t->mode = TFIDF_TF;
    else if (!strcmp(mode, "IDF")) t->mode = TFIDF_IDF;
    else if (!strcmp(mode, "TFIDF")) t->mode = TFIDF_TFIDF;
    else return ox_fail(c, ONYX_E_ARG, "mode '%s' is not TF, IDF or TFIDF", mode);
    t->min_n = ox_attr_int(c, "min_gram_length", 0);
    t->max_n = ox_attr_int(c, "max_gram_length", 0);
    t->max_skip = ox_attr_int(c, "max_skip_count", 0);
    if (t->min_n < 1 || t->max_n < t->min_n || t->max_n > INT32_MAX)
        return ox_fail(c, ONYX_E_ARG, "gram lengths [%lld, %lld] are not a range of n >= 1",
                       (long long)t->min_n, (long long)t->max_n);
    if (t->max_skip < 0 || t->max_skip > INT32_MAX)
        return ox_fail(c, ONYX_E_ARG, "max_skip_count %lld is out of range", (long long)t->max_skip);
    t->n_counts = ox_attr_ints(c, "ngram_counts", &t->counts);
    t->n_indexes = ox_attr_ints(c, "ngram_indexes", &t->indexes);
    t->n_weights = ox_attr_floats(c, "weights", &t->weights);
    const ox_attr *ps = ox_node_attr(c->node, "pool_strings");
    size_t n_ints = ox_attr_ints(c, "pool_int64s", &t->pool_ints);
    t->pool_strings = ps && ps->type == OX_ATTR_STRINGS ? ps->strings : NULL;
    if ((t->pool_strings != NULL) == (t->pool_ints != NULL))
        return ox_fail(c, ONYX_E_ARG, "exactly one of pool_int64s and pool_strings must be set");
    t->pool_len = t->pool_strings ? ps->n : n_ints;
    /* the segments must start in order inside the pool; count the n-grams they hold */
    int64_t grams = 0;
    for (size_t k = 0; k < t->n_counts; k++) {
        int64_t end = k + 1 < t->n_counts ? t->counts[k + 1] : (int64_t)t->pool_len;
        if (t->counts[k] < 0 || t->counts[k] > end || end > (int64_t)t->pool_len)
            return ox_fail(c, ONYX_E_ARG, "ngram_counts[%zu] = %lld is out of order or range", k,
                           (long long)t->counts[k]);
        grams += (end - t->counts[k]) / (int64_t)(k + 1);
    }
    if ((int64_t)t->n_indexes < grams)
        return ox_fail(c, ONYX_E_ARG, "ngram_indexes has %zu entries for %lld n-grams",
                       t->n_indexes, (long long)grams);
    t->out_size = 0;
    for (size_t k = 0; k < t->n_indexes; k++) {
        if (t->indexes[k] < 0 || t->indexes[k] >= INT32_MAX)
            return ox_fail(c, ONYX_E_ARG, "ngram_indexes[%zu] = %lld is out of range", k,
                           (long long)t->indexes[k]);
        if (t->indexes[k] + 1 > t->out_size) t->out_size = t->indexes[k] + 1;
    }
    if (t->n_weights && (int64_t)t->n_weights < t->out_size)
        return ox_fail(c, ONYX_E_ARG, "weights has %zu values for %lld outputs", t->n_weights,
                       (long long)t->out_size);
    return ONYX_OK;
}

/* Does pool item p equal input element i? */
static bool tfidf_item_eq(const tfidf *t, size_t p, const onyx_tensor *x, int64_t i)
{
    if (t->pool_strings) return !strcmp(t->pool_strings[p] ? t->pool_strings[p] : "", str_at(x, i));
    return t->pool_ints[p] == ox_read_int(x, i);
}

/* Output column of the n-gram x[at], x[at+step], … (n items), or -1 if it is not in the
 * pool. A repeated pool n-gram counts for its last copy. */
static int64_t tfidf_lookup(const tfidf *t, const onyx_tensor *x, int64_t at, int64_t step, int64_t n)
{
    if (n > (int64_t)t->n_counts) return -1;
    int64_t id = 0;
    for (int64_t k = 0; k + 1 < n; k++) {
        int64_t end = k + 1 < (int64_t)t->n_counts ? t->counts[k + 1] : (int64_t)t->pool_len;
        id += (end - t->counts[k]) / (k + 1);
    }
    int64_t start = t->counts[n - 1];
    int64_t end = n < (int64_t)t->n_counts ? t->counts[n] : (int64_t)t->pool_len;
    // NOLINTNEXTLINE(clang-analyzer-core.DivideZero): n >= min_gram_length >= 1
    for (int64_t g = (end - start) / n - 1; g >= 0; g--) {
        int64_t j = 0;
        while (j < n && tfidf_item_eq(t, (size_t)(start + g * n + j), x, at + j * step)) j++;
        if (j == n) return t->indexes[id + g];
    }
    return -1;
}

/* Counts the pool n-grams in one row of c items into freq (out_size floats). Every skip
 * distance from 1 to max_skip + 1 is tried; unigrams only once, as skips do not apply. */
static void tfidf_count_row(const tfidf *t, const onyx_tensor *x, int64_t row, int64_t cols,
                            float *freq)
{
    int64_t lo = t->min_n;
    for (int64_t step = 1; step <= t->max_skip + 1; step++) {
        for (int64_t s = 0; s < cols; s++) {
            if ((lo - 1) * step >= cols - s) break; /* no n-gram of length lo fits */
            for (int64_t n = lo; n <= t->max_n && (n - 1) * step < cols - s; n++) {
                int64_t col = tfidf_lookup(t, x, row * cols + s, step, n);
                if (col >= 0) freq[col] += 1.0f;
            }
        }
        if (lo == 1) {
            lo = 2;
            if (lo > t->max_n) break;
        }
    }
}

static onyx_status tfidf_infer(ox_ctx *c)
{
    static const onyx_dtype types[] = {ONYX_DTYPE_STRING, ONYX_DTYPE_INT32, ONYX_DTYPE_INT64, 0};
    onyx_status st = ox_need_io(c, 1);
    tfidf t;
    if (st || (st = ox_expect_dtype(c, 0, types)) || (st = tfidf_params(c, &t))) return st;
    const onyx_tensor *x = c->in[0];
    if ((x->dtype == ONYX_DTYPE_STRING) != (t.pool_strings != NULL))
        return ox_fail(c, ONYX_E_ARG, "input is %s but the pool holds %s",
                       onyx_dtype_name(x->dtype), t.pool_strings ? "strings" : "integers");
    if (x->rank > 2) return ox_fail(c, ONYX_E_SHAPE, "input must be [C] or [N, C], got rank %d", x->rank);
    int64_t dims[2] = {x->rank == 2 ? x->dims[0] : 1, t.out_size};
    if (x->rank == 2) ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 2, dims);
    else ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 1, dims + 1);
    return ONYX_OK;
}

static onyx_status tfidf_run(ox_ctx *c)
{
    const onyx_tensor *x = c->in[0];
    tfidf t;
    onyx_status st = tfidf_params(c, &t);
    if (st) return st;
    int64_t rows = x->rank == 2 ? x->dims[0] : 1;
    int64_t cols = x->rank == 0 ? 1 : x->dims[x->rank - 1];
    float *y = c->out[0]->data;
    for (int64_t r = 0; r < rows; r++) {
        float *freq = y + r * t.out_size;
        for (int64_t k = 0; k < t.out_size; k++) freq[k] = 0.0f;
        tfidf_count_row(&t, x, r, cols, freq);
        /* IDF keeps presence only; both weigh by the column's weight when weights are given */
        for (int64_t k = 0; k < t.out_size; k++) {
            if (t.mode == TFIDF_IDF) freq[k] = freq[k] > 0 ? (t.n_weights ? t.weights[k] : 1.0f) : 0.0f;
            else if (t.mode == TFIDF_TFIDF && t.n_weights) freq[k] *= t.weights[k];
        }
    }
    return ONYX_OK;
}

/* ---- registry -------------------------------------------------------------------------- */

const ox_op ox_ops_strings[] = {
    {"StringNormalizer", "", 10, 28, normalizer_infer, normalizer_run, 0},
    {"StringConcat", "", 20, 28, concat_infer, concat_run, 0},
    {"StringSplit", "", 20, 28, split_infer, split_run, 0},
    {"RegexFullMatch", "", 20, 28, regex_infer, regex_run, 0},
    {"TfIdfVectorizer", "", 9, 28, tfidf_infer, tfidf_run, 0},
};
const size_t ox_ops_strings_count = sizeof ox_ops_strings / sizeof ox_ops_strings[0];
