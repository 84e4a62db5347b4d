/* test_ml.c — the ai.onnx.ml family: LabelEncoder (every opset's attribute forms, NaN keys,
 * repeated keys, defaults), Binarizer at integer edges, ArrayFeatureExtractor's shapes and
 * bad indices, TreeEnsemble's aggregates, post-transforms, missing values and malformed
 * trees, with statuses and messages naming the node. */
#include <math.h>

#include "check.h"
#include "node_case.h"

#define ML "ai.onnx.ml"

/* ---- LabelEncoder ---------------------------------------------------------------------- */

static void test_label_encoder(void)
{
    node_case k;
    /* float keys: NaN matches NaN; a repeated key maps by its last occurrence */
    static const float keys[] = {1.5f, NAN, 2.0f, 1.5f}, x[] = {1.5f, NAN, 3.0f, 2.0f};
    static const char *const vals[] = {"a", "nan", "b", "c"};
    int64_t n = 4;
    nc_init(&k, ML, "LabelEncoder", 2, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_FLOAT, 1, &n, x);
    nc_floats(&k, "keys_floats", 4, keys);
    nc_strs(&k, "values_strings", 4, vals);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_STRING);
    CHECK(!strcmp(nc_str_out(&k, 0, 0), "c") && !strcmp(nc_str_out(&k, 0, 1), "nan"));
    CHECK(!strcmp(nc_str_out(&k, 0, 2), "_Unused") && !strcmp(nc_str_out(&k, 0, 3), "b"));
    nc_free(&k);

    /* int64 keys to float values, default_float */
    static const int64_t ikeys[] = {7, -3}, ix[] = {-3, 0, 7};
    static const float fvals[] = {0.25f, 0.5f};
    n = 3;
    nc_init(&k, ML, "LabelEncoder", 2, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_INT64, 1, &n, ix);
    nc_ints(&k, "keys_int64s", 2, ikeys);
    nc_floats(&k, "values_floats", 2, fvals);
    nc_float(&k, "default_float", 9.0f);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_FLOAT);
    CHECK(!memcmp(k.out[0].data, ((float[]){0.5f, 9.0f, 0.25f}), 3 * sizeof(float)));
    nc_free(&k);

    /* opset 4 tensors: int32 keys to double values, with and without default_tensor */
    static const int32_t tkeys[] = {4, 5}, tx[] = {5, 6};
    static const double tvals[] = {0.5, 1.5}, tdef[] = {-2.0};
    n = 2;
    for (int with_default = 0; with_default < 2; with_default++) {
        nc_init(&k, ML, "LabelEncoder", 4, 1, 1);
        nc_in(&k, 0, ONYX_DTYPE_INT32, 1, &n, tx);
        nc_tensor(&k, "keys_tensor", ONYX_DTYPE_INT32, 2, tkeys);
        nc_tensor(&k, "values_tensor", ONYX_DTYPE_DOUBLE, 2, tvals);
        if (with_default) nc_tensor(&k, "default_tensor", ONYX_DTYPE_DOUBLE, 1, tdef);
        CHECK(nc_call(&k) == ONYX_OK && k.out[0].dtype == ONYX_DTYPE_DOUBLE);
        const double *y = k.out[0].data;
        CHECK(y && y[0] == 1.5 && y[1] == (with_default ? -2.0 : 0.0) && signbit(y[1]));
        nc_free(&k);
    }

    /* opset 1: strings to positions and back */
    static const char *const classes[] = {"x", "y"}, *const sx[] = {"y", "z"};
    static const int64_t px[] = {1, 2, -1};
    n = 2;
    nc_init(&k, ML, "LabelEncoder", 1, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &n, sx);
    nc_strs(&k, "classes_strings", 2, classes);
    nc_int(&k, "default_int64", 42);
    CHECK(nc_call(&k) == ONYX_OK && ((int64_t *)k.out[0].data)[0] == 1 && ((int64_t *)k.out[0].data)[1] == 42);
    nc_free(&k);
    n = 3;
    nc_init(&k, ML, "LabelEncoder", 1, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_INT64, 1, &n, px);
    nc_strs(&k, "classes_strings", 2, classes);
    nc_str(&k, "default_string", "?");
    CHECK(nc_call(&k) == ONYX_OK && !strcmp(nc_str_out(&k, 0, 0), "y") && !strcmp(nc_str_out(&k, 0, 1), "?") &&
          !strcmp(nc_str_out(&k, 0, 2), "?"));
    nc_free(&k);

    /* errors */
    nc_init(&k, ML, "LabelEncoder", 2, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_INT64, 1, &n, px);
    nc_ints(&k, "keys_int64s", 2, ikeys);
    nc_floats(&k, "values_floats", 1, fvals);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "2 keys but 1 values"));
    nc_strs(&k, "keys_strings", 2, classes);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "more than one keys_*"));
    nc_free(&k);
    nc_init(&k, ML, "LabelEncoder", 2, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_INT32, 1, &n, tx);
    nc_ints(&k, "keys_int64s", 2, ikeys);
    nc_floats(&k, "values_floats", 2, fvals);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "input is int32 but the keys are int64"));
    nc_free(&k);
    nc_init(&k, ML, "LabelEncoder", 2, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_INT32, 1, &n, tx);
    nc_tensor(&k, "keys_tensor", ONYX_DTYPE_INT32, 2, tkeys);
    nc_floats(&k, "values_floats", 2, fvals);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "from opset 4"));
    nc_free(&k);
}

/* ---- Binarizer, ArrayFeatureExtractor -------------------------------------------------- */

static void test_binarizer_afe(void)
{
    node_case k;
    static const int64_t big[] = {INT64_MAX, 1, 2, INT64_MIN};
    int64_t n = 4;
    nc_init(&k, ML, "Binarizer", 1, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_INT64, 1, &n, big);
    nc_float(&k, "threshold", 1.5f);
    CHECK(nc_call(&k) == ONYX_OK && !memcmp(k.out[0].data, ((int64_t[]){1, 0, 1, 0}), sizeof big));
    nc_free(&k);
    static const double dx[] = {NAN, 0.0, -0.0, 1e-300};
    nc_init(&k, ML, "Binarizer", 1, 1, 1);
    nc_in(&k, 0, ONYX_DTYPE_DOUBLE, 1, &n, dx);
    CHECK(nc_call(&k) == ONYX_OK && !memcmp(k.out[0].data, ((double[]){0, 0, 0, 1}), sizeof dx));
    nc_free(&k);

    static const char *const sx[] = {"a", "b", "c"};
    static const int64_t idx[] = {2, 0, 2}, bad[] = {3};
    int64_t dx3 = 3, di = 3, d1 = 1;
    nc_init(&k, ML, "ArrayFeatureExtractor", 1, 2, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &dx3, sx);
    nc_in(&k, 1, ONYX_DTYPE_INT64, 1, &di, idx);
    CHECK(nc_call(&k) == ONYX_OK && k.out[0].rank == 2 && k.out[0].dims[0] == 1 && k.out[0].dims[1] == 3);
    CHECK(!strcmp(nc_str_out(&k, 0, 0), "c") && !strcmp(nc_str_out(&k, 0, 1), "a"));
    nc_free(&k);
    nc_init(&k, ML, "ArrayFeatureExtractor", 1, 2, 1);
    nc_in(&k, 0, ONYX_DTYPE_STRING, 1, &dx3, sx);
    nc_in(&k, 1, ONYX_DTYPE_INT64, 1, &d1, bad);
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "index 3 is out of range"));
    nc_free(&k);
}

/* ---- TreeEnsemble ---------------------------------------------------------------------- */

/* Two trees over 2 features, 2 targets:
 *   tree 0: node 0: x0 <= 1 ? leaf 0 (t0, 1.0) : node 1;  node 1: x1 > 5 ? leaf 1 (t1, 2.0) : leaf 2 (t0, 4.0)
 *   tree 1: node 2: a one-leaf tree, leaf 3 (t1, 8.0) */
static const int64_t t_feature[] = {0, 1, 0}, t_true[] = {0, 1, 3}, t_false[] = {1, 2, 3},
                     t_true_leaf[] = {1, 1, 1}, t_false_leaf[] = {0, 1, 1}, t_target[] = {0, 1, 0, 1},
                     t_roots[] = {0, 2}, t_missing[] = {1, 0, 0};
static const uint8_t t_modes[] = {0, 3, 0};
static const float t_splits[] = {1, 5, 0}, t_weights[] = {1, 2, 4, 8};

static void tree_setup(node_case *k, const float *x, int64_t rows, int64_t aggregate, int64_t post)
{
    static int64_t dims[2];
    dims[0] = rows;
    dims[1] = 2;
    nc_init(k, ML, "TreeEnsemble", 5, 1, 1);
    nc_in(k, 0, ONYX_DTYPE_FLOAT, 2, dims, x);
    nc_ints(k, "nodes_featureids", 3, t_feature);
    nc_ints(k, "nodes_truenodeids", 3, t_true);
    nc_ints(k, "nodes_falsenodeids", 3, t_false);
    nc_ints(k, "nodes_trueleafs", 3, t_true_leaf);
    nc_ints(k, "nodes_falseleafs", 3, t_false_leaf);
    nc_ints(k, "nodes_missing_value_tracks_true", 3, t_missing);
    nc_tensor(k, "nodes_modes", ONYX_DTYPE_UINT8, 3, t_modes);
    nc_tensor(k, "nodes_splits", ONYX_DTYPE_FLOAT, 3, t_splits);
    nc_ints(k, "leaf_targetids", 4, t_target);
    nc_tensor(k, "leaf_weights", ONYX_DTYPE_FLOAT, 4, t_weights);
    nc_ints(k, "tree_roots", 2, t_roots);
    nc_int(k, "n_targets", 2);
    nc_int(k, "aggregate_function", aggregate);
    nc_int(k, "post_transform", post);
}

static bool near(float a, double b) { return fabs(a - b) <= 1e-6 * (1 + fabs(b)); }

static void test_tree_ensemble(void)
{
    /* rows reach leaves 0, 1, 2, and 0 again through a missing x0 */
    static const float x[] = {0.5f, 0, 3, 6, 3, 5, NAN, 0};
    node_case k;
    tree_setup(&k, x, 4, 1 /* SUM */, 0);
    CHECK_MSG(nc_call(&k) == ONYX_OK, "%s", k.msg);
    const float *y = k.out[0].data;
    CHECK(y && !memcmp(y, ((float[]){1, 8, 0, 10, 4, 8, 1, 8}), 8 * sizeof(float)));
    nc_free(&k);

    tree_setup(&k, x, 4, 0 /* AVERAGE */, 2 /* LOGISTIC */);
    CHECK(nc_call(&k) == ONYX_OK);
    y = k.out[0].data;
    CHECK(y && near(y[0], 1 / (1 + exp(-0.5))) && near(y[1], 1 / (1 + exp(-4.0))));
    nc_free(&k);

    tree_setup(&k, x, 4, 2 /* MIN */, 1 /* SOFTMAX */);
    CHECK(nc_call(&k) == ONYX_OK);
    y = k.out[0].data;
    /* target 0 of row 1 is reached by no leaf: it keeps float's largest value */
    CHECK(y && near(y[2], 1) && near(y[3], 0) && near(y[0] + y[1], 1) && near(y[0], 1 / (1 + exp(7.0))));
    nc_free(&k);

    tree_setup(&k, x, 4, 3 /* MAX */, 3 /* SOFTMAX_ZERO */);
    CHECK(nc_call(&k) == ONYX_OK);
    y = k.out[0].data;
    CHECK(y && near(y[0], 1 / (1 + exp(7.0))) && near(y[2], 0) && near(y[3], 1));
    nc_free(&k);

    /* PROBIT: sqrt(2) erfinv(2p - 1); p = 1 on target 0 of a row reaching leaf 0 */
    static const float wp[] = {0.975f, 0.5f, 0.025f, 1.0f};
    tree_setup(&k, x, 4, 1, 4 /* PROBIT */);
    k.consts[9].t.data = (void *)wp;
    CHECK(nc_call(&k) == ONYX_OK);
    y = k.out[0].data;
    CHECK(y && fabs(y[0] - 1.959964) < 1e-4 && isinf(y[1]) && y[1] > 0 && fabs(y[4] + 1.959964) < 1e-4 &&
          isinf(y[2]) && y[2] < 0);
    nc_free(&k);

    /* many rows on 4 threads: the same result as one thread, row by row */
    enum { ROWS = 5000 };
    static float many[ROWS * 2];
    for (int i = 0; i < ROWS * 2; i++) many[i] = (float)((i * 7919) % 13) - 2.0f;
    node_case one_thread, four;
    tree_setup(&one_thread, many, ROWS, 1, 1);
    tree_setup(&four, many, ROWS, 1, 1);
    four.c.threads = 4;
    CHECK(nc_call(&one_thread) == ONYX_OK && nc_call(&four) == ONYX_OK);
    CHECK(!memcmp(one_thread.out[0].data, four.out[0].data, ROWS * 2 * sizeof(float)));
    nc_free(&one_thread);
    nc_free(&four);

    /* malformed: a cycle (node 1's false branch back to node 0), a feature past X, a
     * branch past the leaves, a membership set count that does not match */
    static const int64_t cyc_false[] = {1, 0, 3}, cyc_false_leaf[] = {0, 0, 1};
    static const float cx[] = {3, 0};
    tree_setup(&k, cx, 1, 1, 0);
    k.attr[2].ints = (int64_t *)cyc_false;
    k.attr[4].ints = (int64_t *)cyc_false_leaf;
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "tree 0 has a cycle"));
    nc_free(&k);
    static const int64_t far_feature[] = {0, 2, 0}, far_leaf[] = {0, 9, 3};
    tree_setup(&k, x, 4, 1, 0);
    k.attr[0].ints = (int64_t *)far_feature;
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "feature 2 is out of range"));
    k.attr[0].ints = (int64_t *)t_feature;
    k.attr[1].ints = (int64_t *)far_leaf;
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "true branch 9 is not a leaf"));
    k.attr[1].ints = (int64_t *)t_true;
    static const uint8_t member_modes[] = {6, 3, 0};
    static const float members[] = {0.5f, 2, NAN, 7};
    k.consts[6].t.data = (void *)member_modes;
    nc_tensor(&k, "membership_values", ONYX_DTYPE_FLOAT, 4, members);
    CHECK(nc_call(&k) == ONYX_OK && ((float *)k.out[0].data)[0] == 1 && ((float *)k.out[0].data)[2] == 0);
    nc_free(&k);
    tree_setup(&k, x, 4, 1, 0);
    k.consts[6].t.data = (void *)member_modes;
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "1 BRANCH_MEMBER nodes but 0"));
    k.attr[13].i = 7;
    CHECK(nc_call(&k) == ONYX_E_ARG && nc_msg_has(&k, "post_transform 7"));
    nc_free(&k);
}

int main(void)
{
    test_label_encoder();
    test_binarizer_afe();
    test_tree_ensemble();
    return check_report("ml");
}
