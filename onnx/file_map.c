/* file_map.c — a model file's bytes, mapped read-only where the platform can (POSIX, not
 * WASI), else read into memory.
 *
 * Mapping saves the read copy, and because mapped pages come from the page cache the loader
 * can give back the pages of each initializer once converted (ox_file_bytes_done), so a large
 * model never needs the file and its constants resident at once. */
#define _DEFAULT_SOURCE /* madvise(MADV_DONTNEED): posix_madvise's DONTNEED is a no-op on glibc */
#include <stdint.h>

#include "onnx_io.h"

#if defined(__unix__) && !defined(__wasi__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define OX_HAVE_MMAP 1
#endif

onyx_status ox_file_bytes_open(const char *path, const ox_allocator *a, int64_t max_bytes, ox_file_bytes *out,
                               char *err, size_t errcap)
{
    out->data = NULL;
    out->len = 0;
    out->mapped = false;
#ifdef OX_HAVE_MMAP
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if (max_bytes > 0 && (int64_t)st.st_size > max_bytes) {
            close(fd);
            return ox_errf(err, errcap, ONYX_E_LIMIT, "'%s' is %lld bytes, over the limit of %lld", path,
                           (long long)st.st_size, (long long)max_bytes);
        }
        if ((uint64_t)st.st_size <= SIZE_MAX) {
            void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) {
                close(fd);
                out->data = p;
                out->len = (size_t)st.st_size;
                out->mapped = true;
                return ONYX_OK;
            }
        }
    }
    if (fd >= 0) close(fd);
#endif
    /* empty files, pipes, platforms without mmap: read it (ox_read_file reports errors) */
    return ox_read_file(path, a, max_bytes, &out->data, &out->len, err, errcap);
}

void ox_file_bytes_done(const ox_file_bytes *f, ox_slice s)
{
#ifdef OX_HAVE_MMAP
    if (!f->mapped || !s.len) return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return;
    uintptr_t lo = ((uintptr_t)s.p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t hi = ((uintptr_t)s.p + s.len) & ~((uintptr_t)page - 1);
    /* whole pages inside the slice only: neighbours may still be read. Advice, so a refusal
     * costs memory, not correctness; the pages re-read from the file if touched again. */
    if (hi > lo) (void)madvise((void *)lo, (size_t)(hi - lo), MADV_DONTNEED);
#else
    (void)f;
    (void)s;
#endif
}

void ox_file_bytes_close(ox_file_bytes *f, const ox_allocator *a)
{
    if (!f->data) return;
#ifdef OX_HAVE_MMAP
    if (f->mapped) {
        munmap(f->data, f->len);
        f->data = NULL;
        return;
    }
#endif
    ox_free(a, f->data, f->len + 1);
    f->data = NULL;
}
