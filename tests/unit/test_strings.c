/* test_strings.c — the strings family: StringNormalizer's case mapping beyond ASCII and
 * stop words, StringSplit's Python-style splitting, StringConcat broadcasting, the RE2 to
 * POSIX translation of RegexFullMatch, TfIdfVectorizer's weighting modes, and error paths
 * (statuses and messages naming the node). */
#include <limits.h>
#include <regex.h>

#include "check.h"
#include "node_case.h"

static const int64_t one = 1;

/* ---- StringNormalizer ------------------------------------------------------------------ */

static void test_normalizer(void)
{
    static const char *const x[] = {"Été", "ÀÉÎ ΑΒΓ Привет Ÿ Ł", "monday", "MONDAY", "x"};
    static const char *const stops[] = {"été", "Monday"};
    int64_t n = 5;
    node_case k;

    nc_init(&k, "", "StringNormalizer", 10, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &n, x);
    nc_str(&k, "case_change_action", "LOWER");
    nc_strs(&k, "stopwords", 2, stops); /* case-insensitive by default */
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].rank == 1 && k.out[0].dims[0] == 2);
    CHECK(!strcmp(nc_str_out(&k, 0, 0), "àéî αβγ привет ÿ ł"));
    CHECK(!strcmp(nc_str_out(&k, 0, 1), "x"));
    nc_free(&k);

    int64_t dims[2] = {1, 5};
    nc_init(&k, "", "StringNormalizer", 10, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 2, dims, x);
    nc_str(&k, "case_change_action", "UPPER");
    nc_int(&k, "is_case_sensitive", 1);
    nc_strs(&k, "stopwords", 2, stops);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].rank == 2 && k.out[0].dims[1] == 5); /* none match */
    CHECK(!strcmp(nc_str_out(&k, 0, 0), "ÉTÉ") && !strcmp(nc_str_out(&k, 0, 2), "MONDAY"));
    nc_free(&k);

    /* every element dropped: one empty string */
    nc_init(&k, "", "StringNormalizer", 10, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &one, x + 2);
    nc_strs(&k, "stopwords", 2, stops);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].dims[0] == 1 && !strcmp(nc_str_out(&k, 0, 0), ""));
    nc_free(&k);

    nc_init(&k, "", "StringNormalizer", 10, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &n, x);
    nc_str(&k, "case_change_action", "TITLE");
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "TITLE"));
    nc_free(&k);

    int64_t two_rows[2] = {2, 2};
    nc_init(&k, "", "StringNormalizer", 10, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 2, two_rows, x);
    CHECK(nc_call(&k) == ONYX_E_SHAPE && nc_msg_has(&k, "[C] or [1, C]"));
    nc_free(&k);

    /* the output size depends on the strings: their value is needed at plan time */
    nc_init(&k, "", "StringNormalizer", 10, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &n, NULL);
    CHECK(nc_call(&k) == ONYX_E_UNSUPPORTED && k.c.need_value == 0);
    nc_free(&k);
}

/* ---- StringSplit, StringConcat --------------------------------------------------------- */

/* Splits one string; checks the pieces (NULL-terminated list) and the count output. */
static void check_split(const char *s, const char *delim, int64_t maxsplit, const char *const *want)
{
    node_case k;
    nc_init(&k, "", "StringSplit", 20, 1, 2);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &one, &s);
    if (delim) nc_str(&k, "delimiter", delim);
    if (maxsplit >= 0) nc_int(&k, "maxsplit", maxsplit);
    int64_t n = 0;
    while (want[n]) n++;
    CHECK_MSG(nc_call(&k) == ONYX_OK && k.out[0].dims[1] == n, "'%s': %s", s, k.msg);
    if (k.out[0].data && k.out[0].dims[1] == n) {
        CHECK(((int64_t *)k.out[1].data)[0] == n);
        for (int64_t i = 0; i < n; i++)
            CHECK_MSG(!strcmp(nc_str_out(&k, 0, i), want[i]), "'%s' piece %lld: '%s'", s, (long long)i,
                      nc_str_out(&k, 0, i));
    }
    nc_free(&k);
}

static void test_split_concat(void)
{
    check_split("a--b----c", "--", -1, (const char *[]){"a", "b", "", "c", NULL});
    check_split("a-b-c", "-", 1, (const char *[]){"a", "b-c", NULL});
    check_split("a-b-", "-", 0, (const char *[]){"a-b-", NULL});
    check_split("", "-", -1, (const char *[]){"", NULL});
    check_split("", NULL, -1, (const char *[]){NULL});
    check_split(" \t ", "", -1, (const char *[]){NULL});
    check_split("  a b  c  ", NULL, 1, (const char *[]){"a", "b  c  ", NULL});
    check_split("a  ", NULL, 1, (const char *[]){"a", NULL});
    check_split(" a\nb\t", NULL, -1, (const char *[]){"a", "b", NULL});

    /* rows of different widths are padded with "" */
    static const char *const x[] = {"a b c", "d"};
    int64_t n = 2;
    node_case k;
    nc_init(&k, "", "StringSplit", 20, 1, 2);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &n, x);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].dims[0] == 2 && k.out[0].dims[1] == 3);
    CHECK(!strcmp(nc_str_out(&k, 0, 3), "d") && !strcmp(nc_str_out(&k, 0, 5), ""));
    CHECK(((int64_t *)k.out[1].data)[1] == 1);
    nc_free(&k);

    static const char *const a[] = {"x", "y"}, *const b[] = {"1", "2", "3"};
    int64_t da[2] = {2, 1}, db = 3;
    nc_init(&k, "", "StringConcat", 20, 2, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 2, da, a);
    nc_in(&k, 1, ONYX_DTYPE_STRING, 1, &db, b);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].rank == 2 && k.out[0].dims[1] == 3);
    CHECK(!strcmp(nc_str_out(&k, 0, 0), "x1") && !strcmp(nc_str_out(&k, 0, 5), "y3"));
    nc_free(&k);

    static const float f = 1;
    nc_init(&k, "", "StringConcat", 20, 2, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 2, da, a);
    nc_in(&k, 1, ONYX_DTYPE_FLOAT, 0, NULL, &f);
    CHECK(nc_call(&k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "float"));
    nc_free(&k);
}

/* ---- RegexFullMatch -------------------------------------------------------------------- */

/* Matches each of the strings (NULL-terminated) against pattern; want is a 0/1 string. */
static void check_regex(const char *pattern, const char *const *x, const char *want)
{
    int64_t n = (int64_t)strlen(want);
    node_case k;
    nc_init(&k, "", "RegexFullMatch", 20, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &n, x);
    nc_str(&k, "pattern", pattern);
    onyx_status st = nc_call(&k);
    CHECK_MSG(st == ONYX_OK, "/%s/: %s", pattern, k.msg);
    for (int64_t i = 0; !st && i < n; i++)
        CHECK_MSG(((bool *)k.out[0].data)[i] == (want[i] == '1'), "/%s/ on '%s'", pattern, x[i]);
    nc_free(&k);
}

static onyx_status regex_status(const char *pattern, node_case *k)
{
    static const char *const x[] = {"a"};
    nc_init(k, "", "RegexFullMatch", 20, 1, 1);
    nc_in(k, 0, ONYX_DTYPE_STRING, 1, &one, x);
    nc_str(k, "pattern", pattern);
    return nc_call(k);
}

static void test_regex(void)
{
    check_regex("\\d+", (const char *[]){"123", "12a", ""}, "100");
    check_regex("abc", (const char *[]){"abc", "abcd", "xabc"}, "100"); /* whole string only */
    check_regex("a.c", (const char *[]){"abc", "a\nc"}, "10");         /* . excludes newline */
    check_regex("[\\w.\\-]+@x\\.com", (const char *[]){"a-b.c@x.com", "a b@x.com"}, "10");
    check_regex("(?i)ab(?:c|d)", (const char *[]){"ABD", "abe"}, "10");
    check_regex("a+?b*?c??", (const char *[]){"aab", "aaac", "b"}, "110");
    check_regex("[]a]+", (const char *[]){"]a]", "b"}, "10");
    check_regex("[\\^x]", (const char *[]){"^", "x", "y"}, "110");
    check_regex("[\\^]", (const char *[]){"^", "a"}, "10");
    check_regex("[-^]+", (const char *[]){"-^", "a"}, "10");
    check_regex("[^\\d\\s]", (const char *[]){"a", "1", " "}, "100");
    check_regex("\\W\\S\\D", (const char *[]){"!xa", "axa", "! 1"}, "100");
    check_regex("x{2,3}y{2,}z{1}", (const char *[]){"xxyyz", "xxxxyyz", "xxyz"}, "100");
    check_regex("a{,2}}", (const char *[]){"a{,2}}", "aa"}, "10"); /* not a repetition: literal */
    check_regex("a\\tb", (const char *[]){"a\tb", "atb"}, "10");
    check_regex("www\\.\\w+\\.\\bcom\\b", (const char *[]){"www.a.com", "www.a.comx"}, "10");
    check_regex("(?P<word>[[:alpha:]]+)\\z", (const char *[]){"abc", "ab1"}, "10");

    node_case k;
    CHECK(regex_status("\\p{Greek}", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "unsupported escape"));
    nc_free(&k);
    CHECK(regex_status("(?s).", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "(?"));
    nc_free(&k);
    CHECK(regex_status("[\\W]", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "negated"));
    nc_free(&k);
    CHECK(regex_status("a{1001}", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "above 1000"));
    nc_free(&k);
    CHECK(regex_status("(ab", &k) == ONYX_E_ARG && nc_msg_has(&k, "invalid"));
    nc_free(&k);
    CHECK(regex_status("[ab", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "unterminated"));
    nc_free(&k);
    CHECK(regex_status("[a\\", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "unterminated"));
    nc_free(&k);
    CHECK(regex_status("a\\", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "trailing backslash"));
    nc_free(&k);
    /* a ')' closing no group would close the anchoring group around the pattern (fuzz) */
    CHECK(regex_status("a)|(b", &k) == ONYX_E_ARG && nc_msg_has(&k, "unmatched )"));
    nc_free(&k);
    /* as in RE2, a repetition operator may not follow another (a** took regcomp seconds) */
    static const char *const stacked[] = {"a**", "a+*", "a{2}*", "a*??", "a?+"};
    for (int i = 0; i < 5; i++) {
        CHECK_MSG(regex_status(stacked[i], &k) == ONYX_E_ARG && nc_msg_has(&k, "repetition operator after"),
                  "%s", stacked[i]);
        nc_free(&k);
    }
    /* limits on what regcomp makes of repeats (fuzz): copies beyond 4096 atoms (nested '+'
     * doubles per level), loops nested more than 16 deep */
    CHECK(regex_status("(((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+", &k) == ONYX_E_UNSUPPORTED &&
          nc_msg_has(&k, "too large"));
    nc_free(&k);
    CHECK(regex_status("(a{1000}){10}", &k) == ONYX_E_UNSUPPORTED && nc_msg_has(&k, "too large"));
    nc_free(&k);
    CHECK(regex_status("(((((((((((((((((a*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*", &k) == ONYX_E_UNSUPPORTED &&
          nc_msg_has(&k, "nested too deeply"));
    nc_free(&k);
    CHECK(regex_status("(((((((((((((((a*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*", &k) == ONYX_OK);
    nc_free(&k);
#if defined(RE_DUP_MAX) && RE_DUP_MAX < 1000 /* musl, wasi-libc: regcomp takes counts to 255 */
    CHECK(regex_status("((((((((((a+)+)+)+)+)+)+)+)+)+)|(ab){1000}|x{1000}", &k) == ONYX_E_UNSUPPORTED &&
          nc_msg_has(&k, "RE_DUP_MAX"));
#else
    CHECK(regex_status("((((((((((a+)+)+)+)+)+)+)+)+)+)|(ab){1000}|x{1000}", &k) == ONYX_OK);
#endif
    nc_free(&k);
    nc_init(&k, "", "RegexFullMatch", 20, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &one, (const char *[]){"a"});
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "pattern"));
    nc_free(&k);
}

/* ---- TfIdfVectorizer ------------------------------------------------------------------- */

static void test_tfidf(void)
{
    /* pool: unigrams "a" "b", bigram "a b"; outputs permuted by ngram_indexes */
    static const char *const pool[] = {"a", "b", "a", "b"};
    static const int64_t counts[] = {0, 2}, indexes[] = {2, 0, 1};
    static const float weights[] = {0.5f, 2.0f, 4.0f};
    static const char *const x[] = {"a", "b", "a", "b", "c", "a"};
    int64_t dims[2] = {2, 3};
    static const float tf[6] = {1, 1, 2, 1, 0, 1}; /* rows "a b a", "b c a" */
    const float idf[6] = {0.5f, 2.0f, 4.0f, 0.5f, 0.0f, 4.0f};
    const float tfidf[6] = {0.5f, 2.0f, 8.0f, 0.5f, 0.0f, 4.0f};
    const char *modes[3] = {"TF", "IDF", "TFIDF"};
    const float *want[3] = {tf, idf, tfidf};
    for (int m = 0; m < 3; m++) {
        node_case k;
        nc_init(&k, "", "TfIdfVectorizer", 9, 1, 1);
        nc_in(&k, 0, ONYX_DTYPE_STRING, 2, dims, x);
        nc_str(&k, "mode", modes[m]);
        nc_int(&k, "min_gram_length", 1);
        nc_int(&k, "max_gram_length", 2);
        nc_int(&k, "max_skip_count", 0);
        nc_strs(&k, "pool_strings", 4, pool);
        nc_ints(&k, "ngram_counts", 2, counts);
        nc_ints(&k, "ngram_indexes", 3, indexes);
        if (m) nc_floats(&k, "weights", 3, weights);
        CHECK_MSG(nc_call(&k) == ONYX_OK, "%s", k.msg);
        CHECK_MSG(k.out[0].data && !memcmp(k.out[0].data, want[m], sizeof tf), "mode %s", modes[m]);
        nc_free(&k);
    }

    /* errors: no pool, a pool of the wrong kind, too few indexes, bad gram lengths */
    static const int64_t ints[] = {1, 2};
    node_case k;
    nc_init(&k, "", "TfIdfVectorizer", 9, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 2, dims, x);
    nc_str(&k, "mode", "TF");
    nc_int(&k, "min_gram_length", 1);
    nc_int(&k, "max_gram_length", 1);
    nc_ints(&k, "ngram_counts", 1, counts);
    nc_ints(&k, "ngram_indexes", 2, indexes);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "exactly one"));
    nc_ints(&k, "pool_int64s", 2, ints);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "integers"));
    k.node.n_attr--;
    nc_strs(&k, "pool_strings", 4, pool);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "ngram_indexes has 2 entries for 4"));
    k.attr[1].i = 0;
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "gram lengths"));
    nc_free(&k);
}

int main(void)
{
    test_normalizer();
    test_split_concat();
    test_regex();
    test_tfidf();
    return check_report("strings");
}
