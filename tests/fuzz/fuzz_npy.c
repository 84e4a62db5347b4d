/* fuzz_npy.c — libFuzzer target: any bytes as a .npy file. */
#include "fuzz_tensor_file.h"
#include "onyx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    if (fd < 0) return 0;
    onyx_load_options o;
    onyx_load_options_init(&o);
    o.max_tensor_bytes = 16 << 20;
    onyx_tensor t;
    onyx_error err;
    if (onyx_tensor_read_npy(path, &o, &t, &err) == ONYX_OK) onyx_tensor_free(&t, &o);
    close(fd);
    return 0;
}
