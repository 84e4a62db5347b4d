/* simd.h — what the SIMD kernels need to pick an instruction set at run time.
 *
 * The library is built for the baseline of the target (no -march), so the few kernels that
 * profit from wider vectors are compiled for AVX2+FMA with a per-function target attribute
 * and chosen at run time when the CPU has them. Each has a portable C twin that runs
 * everywhere else. The choice depends only on the CPU, never on the thread count, so results
 * stay bit-identical whatever the threads. */
#ifndef ONYX_KERNELS_SIMD_H
#define ONYX_KERNELS_SIMD_H

#include <stdbool.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define OX_SIMD_X86 1
#define OX_TARGET_AVX2 __attribute__((target("avx2,fma")))
/* True when the CPU (and the OS, which __builtin_cpu_supports checks through XSAVE) runs
 * AVX2 and FMA instructions. */
static inline bool ox_cpu_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define OX_SIMD_X86 0
static inline bool ox_cpu_avx2(void) { return false; }
#endif

#endif
