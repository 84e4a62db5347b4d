/* test_npy.c — .npy files: round trips of every dtype and odd shapes, files written by
 * numpy itself (embedded below as bytes), and corrupt or hostile headers, which must fail
 * with a status and never crash or over-allocate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tmp_path.h"
#include "onyx.h"

/* ---- files written by numpy 2.3 (generated once with the venv's numpy) ------------------ */

/* np.save: np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 */
static const unsigned char np_f32_2x3[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0xc0, 0x3f,
    0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x20, 0x40,
};
/* np.save: np.array([1, -2, 300000], dtype='>i4') */
static const unsigned char np_i4_be[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3e, 0x69, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x04, 0x93, 0xe0,
};
/* np.save: np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)) */
static const unsigned char np_f8_fortran[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x54, 0x72, 0x75, 0x65,
    0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20, 0x33,
    0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x40,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x40,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x40,
};
/* format.write_array(version=(2, 0)): np.array([[1, 2], [65535, 256]], dtype='<u2') */
static const unsigned char np_u2_v2[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
    0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x75, 0x32, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
    0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32,
    0x2c, 0x20, 0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0x00, 0x02, 0x00, 0xff, 0xff, 0x00, 0x01,
};
/* format.write_array(version=(3, 0)): np.array(-7, dtype='i1') */
static const unsigned char np_i1_v3_scalar[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x03, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
    0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x69, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
    0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0xf9,
};
/* np.save: np.array([True, False, False, True]) */
static const unsigned char np_bool[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x62, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x34, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0x00, 0x00, 0x01,
};
/* np.save: np.array([1+2j, -3.5+0.25j], dtype='>c8') */
static const unsigned char np_c8_be[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3e, 0x63, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x3f, 0x80, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0xc0, 0x60, 0x00, 0x00, 0x3e, 0x80, 0x00, 0x00,
};
/* np.save: np.array([1.0, -2.5, 65504.0], dtype='<f2') */
static const unsigned char np_f2[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x32, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b,
};
/* np.save: np.zeros((0, 3), dtype='<f4') */
static const unsigned char np_empty[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x30, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
};

/* ---- temp files ------------------------------------------------------------------------- */

static char tmp_dir_path[256];
static char created[64][320];
static int n_created;

/* Full path of a file in the test's temp dir; remembered so main can remove it. */
static const char *tmp_path(const char *name)
{
    for (int i = 0; i < n_created; i++) {
        const char *slash = strrchr(created[i], '/');
        if (strcmp(slash + 1, name) == 0) return created[i];
    }
    if (n_created == 64) {
        fprintf(stderr, "test_npy: too many temp files\n");
        exit(1);
    }
    snprintf(created[n_created], sizeof created[0], "%s/%s", tmp_dir_path, name);
    return created[n_created++];
}

static const char *write_file(const char *name, const void *bytes, size_t n)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(bytes, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "test_npy: cannot write %s\n", path);
        exit(1);
    }
    return path;
}

/* A .npy file with the given header text (a newline is appended) and data bytes. */
static const char *write_npy(const char *name, int major, const char *dict, const void *data, size_t n)
{
    unsigned char buf[1024];
    size_t dlen = strlen(dict), hlen = dlen + 1, pre = major == 1 ? 10 : 12;
    if (pre + hlen + n > sizeof buf) {
        fprintf(stderr, "test_npy: test file too big\n");
        exit(1);
    }
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    if (major != 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dlen);
    buf[pre + dlen] = '\n';
    if (n) memcpy(buf + pre + hlen, data, n);
    return write_file(name, buf, pre + hlen + n);
}

static unsigned char *read_all(const char *path, size_t *n)
{
    static unsigned char buf[4096];
    FILE *f = fopen(path, "rb");
    *n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    return buf;
}

/* ---- round trips ---------------------------------------------------------------------- */

static const onyx_dtype numpy_dtypes[] = {
    ONYX_DTYPE_FLOAT,  ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_INT8,      ONYX_DTYPE_UINT8,
    ONYX_DTYPE_INT16,  ONYX_DTYPE_UINT16, ONYX_DTYPE_INT32,   ONYX_DTYPE_UINT32,    ONYX_DTYPE_INT64,
    ONYX_DTYPE_UINT64, ONYX_DTYPE_BOOL,   ONYX_DTYPE_COMPLEX64, ONYX_DTYPE_COMPLEX128,
};

static const struct {
    int rank;
    int64_t dims[ONYX_MAX_RANK];
} shapes[] = {
    {0, {0}},          {1, {5}},             {2, {0, 3}},
    {3, {2, 0, 3}},    {5, {2, 1, 3, 1, 2}}, {8, {1, 2, 1, 2, 1, 2, 1, 2}},
};

static void test_round_trips(void)
{
    unsigned char data[16 * 64];
    uint32_t seed = 12345;
    for (size_t d = 0; d < sizeof numpy_dtypes / sizeof numpy_dtypes[0]; d++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            onyx_tensor t = {numpy_dtypes[d], shapes[s].rank, {0}, data};
            memcpy(t.dims, shapes[s].dims, sizeof t.dims);
            size_t n = onyx_dtype_size(t.dtype);
            for (int i = 0; i < t.rank; i++) n *= (size_t)t.dims[i];
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                data[i] = (unsigned char)(seed >> 16);
                if (t.dtype == ONYX_DTYPE_BOOL) data[i] &= 1;
            }
            const char *path = tmp_path("round.npy");
            onyx_error err = {0};
            CHECK_MSG(onyx_tensor_write_npy(path, &t, &err) == ONYX_OK, "%s", err.message);
            /* numpy's alignment rule: the data starts at a multiple of 64 */
            size_t len;
            read_all(path, &len);
            CHECK(len >= n && (len - n) % 64 == 0);
            onyx_tensor back;
            onyx_status st = onyx_tensor_read_npy(path, NULL, &back, &err);
            CHECK_MSG(st == ONYX_OK, "%s rank %d: %s", onyx_dtype_name(t.dtype), t.rank, err.message);
            if (st) continue;
            CHECK(back.dtype == t.dtype && back.rank == t.rank);
            CHECK(memcmp(back.dims, t.dims, sizeof t.dims) == 0);
            CHECK(back.data != NULL && (n == 0 || memcmp(back.data, data, n) == 0));
            onyx_tensor_free(&back, NULL);
        }
    }
}

static void test_writer_rejects(void)
{
    static const onyx_dtype lacking[] = {
        ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_FLOAT8E5M2, ONYX_DTYPE_INT4,
        ONYX_DTYPE_UINT4,    ONYX_DTYPE_FLOAT4E2M1,   ONYX_DTYPE_STRING,
    };
    unsigned char data[64] = {0};
    const char *path = tmp_path("rejected.npy");
    for (size_t i = 0; i < sizeof lacking / sizeof lacking[0]; i++) {
        onyx_tensor t = {lacking[i], 1, {2}, data};
        onyx_error err = {0};
        remove(path);
        CHECK(onyx_tensor_write_npy(path, &t, &err) == ONYX_E_UNSUPPORTED);
        CHECK(err.status == ONYX_E_UNSUPPORTED && strstr(err.message, onyx_dtype_name(lacking[i])));
        FILE *f = fopen(path, "rb");
        CHECK(f == NULL); /* nothing half-written */
        if (f) fclose(f);
    }
    onyx_tensor bad = {ONYX_DTYPE_FLOAT, 1, {-1}, data};
    CHECK(onyx_tensor_write_npy(path, &bad, NULL) == ONYX_E_ARG);
    onyx_tensor no_data = {ONYX_DTYPE_FLOAT, 1, {2}, NULL};
    CHECK(onyx_tensor_write_npy(path, &no_data, NULL) == ONYX_E_ARG);
    onyx_tensor ok = {ONYX_DTYPE_FLOAT, 1, {2}, data};
    CHECK(onyx_tensor_write_npy(tmp_path("no-such-dir/x.npy"), &ok, NULL) == ONYX_E_IO);
}

/* ---- files numpy wrote ------------------------------------------------------------------ */

static onyx_status read_bytes(const char *name, const void *bytes, size_t n, onyx_tensor *t)
{
    onyx_error err = {0};
    onyx_status st = onyx_tensor_read_npy(write_file(name, bytes, n), NULL, t, &err);
    CHECK_MSG(st == ONYX_OK, "%s: %s", name, err.message);
    return st;
}

static void test_numpy_files(void)
{
    onyx_tensor t;
    if (!read_bytes("f32.npy", np_f32_2x3, sizeof np_f32_2x3, &t)) {
        const float *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_FLOAT && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
        CHECK(v[0] == 0.0f && v[1] == 0.5f && v[5] == 2.5f);
        /* our writer produces numpy's bytes exactly */
        const char *path = tmp_path("f32-again.npy");
        CHECK(onyx_tensor_write_npy(path, &t, NULL) == ONYX_OK);
        size_t n;
        const unsigned char *bytes = read_all(path, &n);
        CHECK(n == sizeof np_f32_2x3 && memcmp(bytes, np_f32_2x3, n) == 0);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("i4be.npy", np_i4_be, sizeof np_i4_be, &t)) {
        const int32_t *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_INT32 && t.rank == 1 && t.dims[0] == 3);
        CHECK(v[0] == 1 && v[1] == -2 && v[2] == 300000);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("f8f.npy", np_f8_fortran, sizeof np_f8_fortran, &t)) {
        const double *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_DOUBLE && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
        for (int i = 0; i < 6; i++) CHECK(v[i] == (double)i);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("u2v2.npy", np_u2_v2, sizeof np_u2_v2, &t)) {
        const uint16_t *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_UINT16 && t.rank == 2);
        CHECK(v[0] == 1 && v[1] == 2 && v[2] == 65535 && v[3] == 256);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("i1v3.npy", np_i1_v3_scalar, sizeof np_i1_v3_scalar, &t)) {
        CHECK(t.dtype == ONYX_DTYPE_INT8 && t.rank == 0 && *(const int8_t *)t.data == -7);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("bool.npy", np_bool, sizeof np_bool, &t)) {
        const unsigned char *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_BOOL && t.dims[0] == 4);
        CHECK(v[0] == 1 && v[1] == 0 && v[2] == 0 && v[3] == 1);
        const char *path = tmp_path("bool-again.npy");
        CHECK(onyx_tensor_write_npy(path, &t, NULL) == ONYX_OK);
        size_t n;
        const unsigned char *bytes = read_all(path, &n);
        CHECK(n == sizeof np_bool && memcmp(bytes, np_bool, n) == 0);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("c8be.npy", np_c8_be, sizeof np_c8_be, &t)) {
        const float *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_COMPLEX64 && t.dims[0] == 2);
        CHECK(v[0] == 1.0f && v[1] == 2.0f && v[2] == -3.5f && v[3] == 0.25f);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("f2.npy", np_f2, sizeof np_f2, &t)) {
        const uint16_t *v = t.data;
        CHECK(t.dtype == ONYX_DTYPE_FLOAT16 && t.dims[0] == 3);
        CHECK(v[0] == 0x3c00 && v[1] == 0xc100 && v[2] == 0x7bff);
        onyx_tensor_free(&t, NULL);
    }
    if (!read_bytes("empty.npy", np_empty, sizeof np_empty, &t)) {
        CHECK(t.dtype == ONYX_DTYPE_FLOAT && t.rank == 2 && t.dims[0] == 0 && t.dims[1] == 3);
        CHECK(t.data != NULL);
        onyx_tensor_free(&t, NULL);
    }
}

/* Headers numpy would accept but does not write itself. */
static void test_header_variants(void)
{
    static const char *const dicts[] = {
        "{'shape': (2,), 'fortran_order': False, 'descr': '<i2'}",
        "{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (2,),}",
        "{ 'descr' :'<i2' ,'fortran_order':False,'shape':( 2 , ) , }   ",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2L,)}",
        "{'descr': 'i2', 'fortran_order': False, 'shape': (2)}",
    };
    const int16_t data[2] = {-3, 4};
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        onyx_tensor t;
        onyx_error err = {0};
        onyx_status st = onyx_tensor_read_npy(write_npy("variant.npy", 1, dicts[i], data, sizeof data), NULL, &t, &err);
        CHECK_MSG(st == ONYX_OK, "%s: %s", dicts[i], err.message);
        if (st) continue;
        CHECK(t.dtype == ONYX_DTYPE_INT16 && t.rank == 1 && t.dims[0] == 2);
        CHECK(((int16_t *)t.data)[0] == -3 && ((int16_t *)t.data)[1] == 4);
        onyx_tensor_free(&t, NULL);
    }
    /* bools other than 0/1 are normalised: anything else would be UB when read as _Bool */
    const unsigned char bools[3] = {0, 2, 255};
    onyx_tensor t;
    if (onyx_tensor_read_npy(write_npy("bool2.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}",
                                       bools, 3), NULL, &t, NULL) == ONYX_OK) {
        const unsigned char *v = t.data;
        CHECK(v[0] == 0 && v[1] == 1 && v[2] == 1);
        onyx_tensor_free(&t, NULL);
    } else {
        CHECK(!"bool2.npy failed to read");
    }
    /* rank-3 Fortran order: element at C index i holds i */
    int16_t fdata[24];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) fdata[a + 2 * (b + 3 * c)] = (int16_t)((a * 3 + b) * 4 + c);
    if (onyx_tensor_read_npy(write_npy("f3.npy", 1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }",
                                       fdata, sizeof fdata), NULL, &t, NULL) == ONYX_OK) {
        int ok = 1;
        for (int i = 0; i < 24; i++) ok &= ((int16_t *)t.data)[i] == i;
        CHECK(ok);
        onyx_tensor_free(&t, NULL);
    } else {
        CHECK(!"f3.npy failed to read");
    }
}

/* ---- corrupt and hostile files -------------------------------------------------------- */

static void expect_fail(const char *path, const onyx_load_options *o, onyx_status want)
{
    onyx_tensor t = {ONYX_DTYPE_FLOAT, 1, {1}, (void *)&t};
    onyx_error err = {0};
    onyx_status st = onyx_tensor_read_npy(path, o, &t, &err);
    CHECK_MSG(st == want, "%s: got %s (%s), want %s", path, onyx_status_string(st), err.message,
              onyx_status_string(want));
    CHECK(err.status == st && strstr(err.message, path) != NULL); /* the message names the file */
    CHECK(t.data == NULL);
    if (st == ONYX_OK) onyx_tensor_free(&t, o);
}

static void test_corrupt(void)
{
    static const struct {
        const char *dict;
        onyx_status want;
    } bad[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", ONYX_E_LIMIT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ONYX_E_LIMIT},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4294967296, 4294967296), }", ONYX_E_LIMIT},
        {"{'fortran_order': False, 'shape': (1,), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'shape': (1,), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 1), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,) 'x': 1}", ONYX_E_PARSE},
        {"{'descr': '<f4", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': Fal", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", ONYX_E_PARSE},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", ONYX_E_PARSE},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing", ONYX_E_PARSE},
        {"['descr', '<f4']", ONYX_E_PARSE},
        {"", ONYX_E_PARSE},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", ONYX_E_PARSE},
        {"{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", ONYX_E_UNSUPPORTED},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", ONYX_E_UNSUPPORTED},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", ONYX_E_UNSUPPORTED},
        /* data shorter than the shape claims: 4 bytes present, 16 needed */
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", ONYX_E_PARSE},
    };
    const float one = 1.0f;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_fail(write_npy("bad.npy", 1, bad[i].dict, &one, sizeof one), NULL, bad[i].want);

    /* preamble problems */
    expect_fail(write_file("empty-file.npy", "", 0), NULL, ONYX_E_PARSE);
    expect_fail(write_file("short.npy", "\x93NUM", 4), NULL, ONYX_E_PARSE);
    expect_fail(write_file("magic.npy", "PK\x03\x04\x14\x00\x00\x00\x08\x00", 10), NULL, ONYX_E_PARSE);
    expect_fail(write_file("version.npy", "\x93NUMPY\x09\x00\x10\x00", 10), NULL, ONYX_E_UNSUPPORTED);
    expect_fail(write_file("nolen.npy", "\x93NUMPY\x02\x00\x10", 9), NULL, ONYX_E_PARSE);
    expect_fail(write_file("hugelen.npy", "\x93NUMPY\x02\x00\xff\xff\xff\xff{", 13), NULL, ONYX_E_PARSE);
    expect_fail(write_file("longlen.npy", "\x93NUMPY\x01\x00\xff\x7f{'descr'", 17), NULL, ONYX_E_PARSE);
    expect_fail(tmp_path("does-not-exist.npy"), NULL, ONYX_E_IO);

    /* every truncation of a valid file fails cleanly */
    for (size_t n = 0; n < sizeof np_f32_2x3; n++)
        expect_fail(write_file("cut.npy", np_f32_2x3, n), NULL, ONYX_E_PARSE);

    /* a configured limit below the file's size */
    onyx_load_options o;
    onyx_load_options_init(&o);
    o.max_tensor_bytes = 16;
    expect_fail(write_file("limit.npy", np_f32_2x3, sizeof np_f32_2x3), &o, ONYX_E_LIMIT);
}

/* Every single-byte corruption of a header: any status is fine, a crash or leak is not. */
static void test_byte_flips(void)
{
    unsigned char buf[sizeof np_i4_be];
    int ok = 0, failed = 0;
    for (size_t i = 0; i < 128; i++) {
        static const unsigned char values[] = {0x00, 0x20, 0x27, 0x28, 0x29, 0x2c, 0x39, 0x7b, 0x7d, 0xff};
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(buf, np_i4_be, sizeof buf);
            buf[i] = values[v];
            onyx_tensor t;
            if (onyx_tensor_read_npy(write_file("flip.npy", buf, sizeof buf), NULL, &t, NULL) == ONYX_OK) {
                ok++;
                onyx_tensor_free(&t, NULL);
            } else {
                failed++;
            }
        }
    }
    CHECK(ok > 0 && failed > 0);
}

/* ---- allocation failures -------------------------------------------------------------- */

typedef struct failing_alloc {
    int fail_at; /* index of the allocation that fails */
    int calls;
} failing_alloc;

static void *failing_alloc_fn(void *user, void *ptr, size_t osize, size_t nsize)
{
    failing_alloc *f = user;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (f->calls++ == f->fail_at) return NULL;
    return realloc(ptr, nsize);
}

static void test_alloc_failures(void)
{
    const char *path = write_file("alloc.npy", np_f8_fortran, sizeof np_f8_fortran);
    int fail_at = 0;
    for (;; fail_at++) {
        failing_alloc f = {fail_at, 0};
        onyx_load_options o;
        onyx_load_options_init(&o);
        o.alloc = failing_alloc_fn;
        o.alloc_user = &f;
        onyx_tensor t;
        onyx_status st = onyx_tensor_read_npy(path, &o, &t, NULL);
        if (st == ONYX_OK) {
            CHECK(((double *)t.data)[1] == 1.0);
            onyx_tensor_free(&t, &o);
            break;
        }
        CHECK(st == ONYX_E_NOMEM);
        if (fail_at > 100) break;
    }
    CHECK(fail_at >= 2 && fail_at <= 100); /* header, data and the transposed copy */
}

int main(void)
{
    if (!tmp_dir(tmp_dir_path, sizeof tmp_dir_path, "onyx-npy")) {
        fprintf(stderr, "test_npy: cannot create a temp dir\n");
        return 1;
    }
    test_round_trips();
    test_writer_rejects();
    test_numpy_files();
    test_header_variants();
    test_corrupt();
    test_byte_flips();
    test_alloc_failures();
    for (int i = 0; i < n_created; i++) remove(created[i]);
    rmdir(tmp_dir_path);
    return check_report("npy");
}
