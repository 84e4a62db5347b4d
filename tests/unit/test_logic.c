/* test_logic.c — the logic family (And, Or, Xor, Not, Equal, Greater[OrEqual],
 * Less[OrEqual], Where): NaN and signed-zero comparisons, bool bytes other than 0/1, strings,
 * three-way broadcasting in Where (every element size, strings copied into the run's pool),
 * the legacy opset-1 broadcast, thread-count independence and the ops' error paths. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "op_harness.h"

static const int64_t d1[] = {1}, d2[] = {2}, d3[] = {3}, d4[] = {4};

static void test_compare(void)
{
    op_case k;
    const float a[] = {NAN, -0.0f, 1.0f, 2.0f}, b[] = {NAN, 0.0f, 2.0f, 1.0f};
    uint8_t o[4];
    oc_init(&k, "Equal", 2);
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, d4, a);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d4, b);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK && k.out.dtype == ONYX_DTYPE_BOOL);
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == 0 && o[3] == 0);
    k.node.op_type = "GreaterOrEqual";
    CHECK(oc_call(&k, 16, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == 0 && o[3] == 1);
    CHECK(oc_call(&k, 11, o, sizeof o) == ONYX_E_UNSUPPORTED); /* no GreaterOrEqual before 12 */
    k.node.op_type = "Less";
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 1 && o[3] == 0);
    /* ordering is not defined on bool, and dtypes must agree */
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 1, d4, a);
    oc_in(&k, 1, ONYX_DTYPE_BOOL, 1, d4, b);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_UNSUPPORTED && oc_msg_has(&k, "bool"));
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, d4, b);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_E_SHAPE && oc_msg_has(&k, "float32"));
    oc_free(&k);

    /* uint64 beyond int64 and bool bytes that are not 0/1 */
    const uint64_t ua[] = {UINT64_MAX, 1}, ub[] = {1, UINT64_MAX};
    oc_init(&k, "Greater", 2);
    oc_in(&k, 0, ONYX_DTYPE_UINT64, 1, d2, ua);
    oc_in(&k, 1, ONYX_DTYPE_UINT64, 1, d2, ub);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK && o[0] == 1 && o[1] == 0);
    const uint8_t ba[] = {2, 0}, bb[] = {1, 0};
    k.node.op_type = "Equal";
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 1, d2, ba);
    oc_in(&k, 1, ONYX_DTYPE_BOOL, 1, d2, bb);
    CHECK(oc_call(&k, 13, o, sizeof o) == ONYX_OK && o[0] == 1 && o[1] == 1);
    oc_free(&k);

    /* strings, broadcast */
    const char *sa[] = {"abc", "", "x"}, *sb[] = {"abc"};
    oc_init(&k, "Equal", 2);
    oc_in(&k, 0, ONYX_DTYPE_STRING, 1, d3, sa);
    oc_in(&k, 1, ONYX_DTYPE_STRING, 1, d1, sb);
    CHECK(oc_call(&k, 19, o, sizeof o) == ONYX_OK && o[0] == 1 && o[1] == 0 && o[2] == 0);
    oc_free(&k);

    /* opset 1: B placed on A's dims from `axis` */
    const int32_t ia[] = {1, 2, 3, 4, 5, 6}, ib[] = {2, 5};
    const int64_t d23[] = {2, 3};
    uint8_t o6[6];
    oc_init(&k, "Equal", 2);
    oc_in(&k, 0, ONYX_DTYPE_INT32, 2, d23, ia);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d2, ib);
    CHECK(oc_call(&k, 1, o6, sizeof o6) == ONYX_E_SHAPE && oc_msg_has(&k, "broadcast is 0"));
    oc_attr_int(&k, "broadcast", 1);
    oc_attr_int(&k, "axis", 0);
    CHECK(oc_call(&k, 1, o6, sizeof o6) == ONYX_OK);
    CHECK(o6[0] == 0 && o6[1] == 1 && o6[2] == 0 && o6[3] == 0 && o6[4] == 1 && o6[5] == 0);
    k.attr[1].i = 2;
    CHECK(oc_call(&k, 1, o6, sizeof o6) == ONYX_E_SHAPE && oc_msg_has(&k, "axis 2"));
    oc_free(&k);
}

static void test_logic_ops(void)
{
    op_case k;
    const uint8_t a[] = {0, 0, 7, 1}, b[] = {0, 1, 0, 3};
    uint8_t o[4];
    oc_init(&k, "Xor", 2);
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 1, d4, a);
    oc_in(&k, 1, ONYX_DTYPE_BOOL, 1, d4, b);
    CHECK(oc_call(&k, 7, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == 1 && o[3] == 0);
    k.node.op_type = "And";
    CHECK(oc_call(&k, 7, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 1);
    k.node.op_type = "Or";
    CHECK(oc_call(&k, 7, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == 1 && o[3] == 1);
    oc_in(&k, 1, ONYX_DTYPE_INT32, 1, d1, b);
    CHECK(oc_call(&k, 7, o, sizeof o) == ONYX_E_SHAPE && oc_msg_has(&k, "input 1 must be bool"));
    k.node.op_type = "Not";
    k.node.n_in = 1;
    CHECK(oc_call(&k, 1, o, sizeof o) == ONYX_OK);
    CHECK(o[0] == 1 && o[1] == 1 && o[2] == 0 && o[3] == 0);
    k.node.n_in = 2;
    CHECK(oc_call(&k, 1, o, sizeof o) == ONYX_E_ARG && oc_msg_has(&k, "expects 1 input"));
    oc_free(&k);
}

static void test_where(void)
{
    op_case k;
    /* cond [2,1], X [3], Y scalar -> [2,3], for every element size */
    const uint8_t cond[] = {1, 0};
    const int64_t d21[] = {2, 1};
    const double xd[] = {1, 2, 3}, yd = -1;
    double od[6];
    oc_init(&k, "Where", 3);
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 2, d21, cond);
    oc_in(&k, 1, ONYX_DTYPE_DOUBLE, 1, d3, xd);
    oc_in(&k, 2, ONYX_DTYPE_DOUBLE, 0, NULL, &yd);
    CHECK(oc_call(&k, 16, od, sizeof od) == ONYX_OK);
    CHECK(k.out.rank == 2 && k.out.dims[0] == 2 && k.out.dims[1] == 3);
    CHECK(od[0] == 1 && od[2] == 3 && od[3] == -1 && od[5] == -1);

    const double cx[] = {1, 2, 3, 4, 5, 6}, cy[] = {-1, -2}; /* complex128: 3 and 1 elements */
    double oc[12];
    oc_in(&k, 1, ONYX_DTYPE_COMPLEX128, 1, d3, cx);
    oc_in(&k, 2, ONYX_DTYPE_COMPLEX128, 0, NULL, cy);
    CHECK(oc_call(&k, 16, oc, sizeof oc) == ONYX_OK);
    CHECK(oc[4] == 5 && oc[5] == 6 && oc[6] == -1 && oc[7] == -2 && oc[11] == -2);

    const uint16_t hx[] = {1, 2, 3}, hy = 9;
    uint16_t oh[6];
    oc_in(&k, 1, ONYX_DTYPE_FLOAT16, 1, d3, hx);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT16, 0, NULL, &hy);
    CHECK(oc_call(&k, 16, oh, sizeof oh) == ONYX_OK && oh[1] == 2 && oh[4] == 9);

    /* strings: the output holds copies in the run's pool */
    const char *sx[] = {"a", "bb", "ccc"}, *sy[] = {"no"};
    char *os[6];
    oc_in(&k, 1, ONYX_DTYPE_STRING, 1, d3, sx);
    oc_in(&k, 2, ONYX_DTYPE_STRING, 0, NULL, sy);
    CHECK(oc_call(&k, 16, os, sizeof os) == ONYX_OK);
    CHECK(!strcmp(os[1], "bb") && os[1] != sx[1] && !strcmp(os[5], "no") && os[5] != sy[0]);

    /* errors: condition not bool, X/Y dtypes differ, shapes that do not broadcast */
    oc_in(&k, 2, ONYX_DTYPE_FLOAT16, 0, NULL, &hy);
    CHECK(oc_call(&k, 16, os, sizeof os) == ONYX_E_SHAPE && oc_msg_has(&k, "float16"));
    oc_in(&k, 1, ONYX_DTYPE_FLOAT16, 1, d2, hx);
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 1, d3, cond);
    CHECK(oc_call(&k, 16, os, sizeof os) == ONYX_E_SHAPE && oc_msg_has(&k, "broadcast"));
    oc_in(&k, 0, ONYX_DTYPE_UINT8, 1, d2, cond);
    CHECK(oc_call(&k, 16, os, sizeof os) == ONYX_E_SHAPE && oc_msg_has(&k, "must be bool"));
    k.in_p[2] = NULL;
    CHECK(oc_call(&k, 16, os, sizeof os) == ONYX_E_ARG && oc_msg_has(&k, "input 2"));
    oc_free(&k);
}

/* A big three-way Where and a broadcast Less give identical bytes on 1 and 4 threads. */
static void test_threads(void)
{
    enum { R = 200, C = 301 };
    uint8_t *cond = malloc(R), *o1 = malloc(R * C * 4), *o4 = malloc(R * C * 4);
    float *x = malloc(sizeof(float) * R * C), *y = malloc(sizeof(float) * C);
    if (!cond || !o1 || !o4 || !x || !y) {
        CHECK(0);
        goto done;
    }
    for (int i = 0; i < R; i++) cond[i] = (uint8_t)(i % 3 == 0);
    for (int i = 0; i < R * C; i++) x[i] = (float)(i % 1013);
    for (int j = 0; j < C; j++) y[j] = (float)(j * 3);
    const int64_t dc[] = {R, 1}, dx[] = {R, C}, dy[] = {C};
    op_case k;
    oc_init(&k, "Where", 3);
    oc_in(&k, 0, ONYX_DTYPE_BOOL, 2, dc, cond);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 2, dx, x);
    oc_in(&k, 2, ONYX_DTYPE_FLOAT, 1, dy, y);
    CHECK(oc_call(&k, 16, o1, R * C * 4) == ONYX_OK);
    k.threads = 4;
    CHECK(oc_call(&k, 16, o4, R * C * 4) == ONYX_OK);
    CHECK(memcmp(o1, o4, R * C * 4) == 0);
    float got;
    memcpy(&got, o1 + 4 * (C + 5), 4); /* row 1 takes Y */
    CHECK(got == 15.0f);
    k.node.op_type = "Less";
    k.node.n_in = 2;
    oc_in(&k, 0, ONYX_DTYPE_FLOAT, 2, dx, x);
    oc_in(&k, 1, ONYX_DTYPE_FLOAT, 1, dy, y);
    k.threads = 1;
    CHECK(oc_call(&k, 13, o1, R * C) == ONYX_OK);
    k.threads = 4;
    CHECK(oc_call(&k, 13, o4, R * C) == ONYX_OK);
    CHECK(memcmp(o1, o4, R * C) == 0);
    oc_free(&k);
done:
    free(cond);
    free(o1);
    free(o4);
    free(x);
    free(y);
}

int main(void)
{
    test_compare();
    test_logic_ops();
    test_where();
    test_threads();
    return check_report("logic");
}
