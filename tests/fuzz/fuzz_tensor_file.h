/* fuzz_tensor_file.h — the tensor readers take paths, so fuzz inputs go through an in-memory
 * file (memfd) named by /proc/self/fd/N: no disk traffic. */
#ifndef ONYX_FUZZ_TENSOR_FILE_H
#define ONYX_FUZZ_TENSOR_FILE_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to a fresh memfd and puts its path in path; returns the fd or -1. */
static int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t cap)
{
    int fd = memfd_create("onyx-fuzz", 0);
    if (fd < 0) return -1;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
