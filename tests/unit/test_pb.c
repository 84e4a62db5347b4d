/* test_pb.c — TensorProto (.pb) files: round trips for every storage onyx writes (raw data,
 * packed int4, strings), and corrupt files refused with a clear status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tmp_path.h"
#include "onyx.h"

static void roundtrip(const char *path, const onyx_tensor *t, const char *name)
{
    onyx_error err;
    onyx_tensor back;
    const char *back_name = NULL;
    CHECK(onyx_tensor_write_pb(path, t, name, &err) == ONYX_OK);
    CHECK_MSG(onyx_tensor_read_pb(path, NULL, &back, &back_name, &err) == ONYX_OK, "%s", err.message);
    CHECK(back.dtype == t->dtype && back.rank == t->rank);
    for (int i = 0; i < t->rank; i++) CHECK(back.dims[i] == t->dims[i]);
    CHECK(back_name && !strcmp(back_name, name));
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dims[i];
    if (t->dtype == ONYX_DTYPE_STRING) {
        for (int64_t i = 0; i < n; i++) CHECK(!strcmp(((char **)back.data)[i], ((char *const *)t->data)[i]));
    } else {
        CHECK(n == 0 || !memcmp(back.data, t->data, (size_t)n * onyx_dtype_size(t->dtype)));
    }
    onyx_tensor_free(&back, NULL);
}

int main(void)
{
    char path[512];
    CHECK(tmp_file(path, sizeof path, "onyx_test_pb"));

    float f[6] = {1.5f, -2, 0, 3.25f, -0.0f, 1e30f};
    onyx_tensor tf = {ONYX_DTYPE_FLOAT, 2, {2, 3}, f};
    roundtrip(path, &tf, "weights");

    int8_t i4[5] = {-8, 7, 0, -1, 3}; /* odd count: the last byte is half used */
    onyx_tensor t4 = {ONYX_DTYPE_INT4, 1, {5}, i4};
    roundtrip(path, &t4, "int4");

    uint8_t b[3] = {1, 0, 1};
    onyx_tensor tb = {ONYX_DTYPE_BOOL, 1, {3}, b};
    roundtrip(path, &tb, "mask");

    char *s[3] = {"", "hello", "wörld"};
    onyx_tensor ts = {ONYX_DTYPE_STRING, 2, {3, 1}, s};
    roundtrip(path, &ts, "strings");

    double scalar = 2.5;
    onyx_tensor t0 = {ONYX_DTYPE_DOUBLE, 0, {0}, &scalar};
    roundtrip(path, &t0, "scalar");

    onyx_tensor empty = {ONYX_DTYPE_INT64, 2, {0, 4}, NULL};
    roundtrip(path, &empty, "");

    /* corrupt and truncated files */
    onyx_error err;
    onyx_tensor out;
    FILE *fp = fopen(path, "wb");
    fwrite("\x0a\xff\xff\xff\xff\x0f", 1, 6, fp); /* dims: a length prefix far past the end */
    fclose(fp);
    CHECK(onyx_tensor_read_pb(path, NULL, &out, NULL, &err) == ONYX_E_PARSE && strstr(err.message, path));
    CHECK(onyx_tensor_read_pb("/nonexistent/x.pb", NULL, &out, NULL, &err) == ONYX_E_IO);
    /* hand-made protos: dims (field 1), data_type float (field 2), empty raw_data (field 9).
     * 2^20 x 2^20 floats is over the default 4 GiB tensor limit: refused before allocating. */
    unsigned char huge[] = {0x08, 0x80, 0x80, 0x40, 0x08, 0x80, 0x80, 0x40, 0x10, 0x01, 0x4a, 0x00};
    fp = fopen(path, "wb");
    fwrite(huge, 1, sizeof huge, fp);
    fclose(fp);
    CHECK(onyx_tensor_read_pb(path, NULL, &out, NULL, &err) == ONYX_E_LIMIT);
    /* 1000 x 1000 floats claimed, no data present */
    unsigned char short_data[] = {0x08, 0xe8, 0x07, 0x08, 0xe8, 0x07, 0x10, 0x01, 0x4a, 0x00};
    fp = fopen(path, "wb");
    fwrite(short_data, 1, sizeof short_data, fp);
    fclose(fp);
    CHECK(onyx_tensor_read_pb(path, NULL, &out, NULL, &err) == ONYX_E_PARSE && strstr(err.message, "raw_data"));
    remove(path);
    return check_report("pb");
}
