/* tmp_path.h — temporary files and folders for the unit tests, made with calls WASI has too
 * (wasi-libc has no mkstemp, mkdtemp or getpid): a name from the time in nanoseconds, an
 * address and a counter, created exclusively (fopen "wx", mkdir), and another name tried on a clash,
 * so concurrent test programs never share one. The folder is $TMPDIR, else /tmp. */
#ifndef ONYX_TMP_PATH_H
#define ONYX_TMP_PATH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

/* Writes "$TMPDIR/<tag>-<12 hex digits>" to path; false if it does not fit. */
static inline bool tmp_path_name(char *path, size_t cap, const char *tag, unsigned attempt)
{
    static unsigned counter;
    const char *base = getenv("TMPDIR");
    struct timespec ts = {0, 0};
    (void)timespec_get(&ts, TIME_UTC); /* C11; nanoseconds tell programs started together apart */
    uint64_t h = (uint64_t)ts.tv_sec * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_nsec ^
                 (uint64_t)(uintptr_t)&h << 16 ^ (uint64_t)(++counter + attempt) << 40;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 32;
    int n = snprintf(path, cap, "%s/%s-%012llx", base && *base ? base : "/tmp", tag,
                     (unsigned long long)(h & 0xFFFFFFFFFFFFu));
    return n > 0 && (size_t)n < cap;
}

/* Creates an empty file of a new name (path receives it); false if none could be made. */
static inline bool tmp_file(char *path, size_t cap, const char *tag)
{
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        if (!tmp_path_name(path, cap, tag, attempt)) return false;
        FILE *f = fopen(path, "wx"); /* C11: fails if the file exists */
        if (f) return fclose(f) == 0;
    }
    return false;
}

/* Creates a folder of a new name, mode 0700 (path receives it); false if none could be made. */
static inline bool tmp_dir(char *path, size_t cap, const char *tag)
{
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        if (!tmp_path_name(path, cap, tag, attempt)) return false;
        if (mkdir(path, 0700) == 0) return true;
        if (errno != EEXIST) return false;
    }
    return false;
}

#endif
