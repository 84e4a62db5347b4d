/* test_fmt.c — runtime/fmt.c, the core library's snprintf: integers, strings, characters and
 * pointers exactly as the C library formats them (every flag, width, precision and length
 * modifier onyx uses and more); floats for values whose digits are exact; truncation and the
 * returned length as snprintf's. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

int ox_snprintf(char *buf, size_t cap, const char *fmt, ...);

#define SAME(...)                                                                                        \
    do {                                                                                                 \
        char a_[256], b_[256];                                                                           \
        int na_ = ox_snprintf(a_, sizeof a_, __VA_ARGS__), nb_ = snprintf(b_, sizeof b_, __VA_ARGS__);   \
        CHECK_MSG(na_ == nb_ && !strcmp(a_, b_), "%s: got '%s' (%d), libc '%s' (%d)", #__VA_ARGS__, a_, na_, b_, nb_); \
    } while (0)

int main(void)
{
    SAME("plain text");
    SAME("%d %i %d %d", 0, -1, (int)INT32_MAX, (int)INT32_MIN);
    SAME("%lld %llu %lld", (long long)INT64_MIN, (unsigned long long)UINT64_MAX, 1234567890123LL);
    SAME("%zu %u %ld %hd %hhu", (size_t)42, 4000000000u, -5L, (short)-7, (unsigned char)200);
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%8.3d] [%-8.3d]", 42, 42, -42, 42, 42, 7, -7, 7);
    SAME("%x %X %#x %o %#o %08x", 0xbeefu, 0xbeefu, 255u, 8u, 8u, 0x1234u);
    SAME("[%s] [%10s] [%-10s] [%.3s] [%.*s] [%*d]", "abc", "abc", "abc", "abcdef", 2, "xyz", 6, 9);
    SAME("%c%c %% %.0d|", 'o', 'k', 0);
    SAME("node '%s' (%s): input %d '%s' has shape %s", "conv1", "Conv", 1, "w", "[1,3,224,224]");
    SAME("%g %g %g %g %g %g", 0.0, 1.0, 0.5, -2.25, 100.0, 1e-3);
    SAME("%g %g %g %G", 1e20, 1.5e-7, 123456.0, 1e-10);
    SAME("%f %.2f %.0f %e %.3e %E", 1.5, 2.25, 3.0, 1.0, 0.5, 1024.0);
    SAME("%.1f %8.3f %-8.2f| %+.1e", 0.25, 3.125, -1.5, 6.0);
    SAME("%g %g %f", 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0 < 1 ? 2.0 : 2.0);
    char small[6];
    CHECK(ox_snprintf(small, sizeof small, "%s", "truncated") == 9 && !strcmp(small, "trunc"));
    CHECK(ox_snprintf(NULL, 0, "%d", 12345) == 5);
    return check_report("fmt");
}
