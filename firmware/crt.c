/* crt.c — the C start-up both targets share (what a C library's crt0 does, spelled out). The
 * target's entry (cortex-m4/vectors.c, riscv32/start.S) sets up the stack and the FPU, then
 * calls fw_start, which
 *   1. copies initialised data (.data and the thread-local template .tdata) from flash to RAM,
 *   2. zeroes .bss and .tbss,
 *   3. points the thread pointer at that TLS block: picolibc keeps errno thread-local,
 *   4. fills the unused stack with a pattern, so fw_stack_used can tell how deep it went,
 *   5. runs main and exits with its status (over semihosting: QEMU exits with it).
 * The symbols come from sections.ld. */
#include <picolibc.h> /* defines PICOLIBC_TLS, which picotls.h wants */
#include <picotls.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern uint8_t __data_start[], __data_end[], __data_load[], __bss_start[], __bss_end[], __tls_base[];
extern uint8_t __stack_limit[], __stack[];

void fw_start(void) __attribute__((noreturn));
void fw_fault(void) __attribute__((noreturn));
size_t fw_stack_used(void);
int main(void);

#define STACK_PAINT 0x5Au

/* Addresses as integers: the linker's symbols delimit regions, not C objects. */
static size_t span(const uint8_t *from, const uint8_t *to) { return (size_t)((uintptr_t)to - (uintptr_t)from); }

void fw_start(void)
{
    memcpy(__data_start, __data_load, span(__data_start, __data_end));
    memset(__bss_start, 0, span(__bss_start, __bss_end));
    _set_tls(__tls_base);
    /* paint from the bottom of the stack up to a little below this frame */
    volatile uint8_t here = 0;
    uintptr_t top = (uintptr_t)&here - 256;
    for (uintptr_t p = (uintptr_t)__stack_limit; p < top; p++) *(volatile uint8_t *)p = STACK_PAINT;
    exit(main());
}

/* Bytes of stack ever used: from the top down to the lowest byte that lost the paint. */
size_t fw_stack_used(void)
{
    uintptr_t p = (uintptr_t)__stack_limit;
    while (p < (uintptr_t)__stack && *(const volatile uint8_t *)p == STACK_PAINT) p++;
    return (size_t)((uintptr_t)__stack - p);
}

/* A fault (Arm HardFault and the other exceptions, a RISC-V trap): end the run with status
 * 128 rather than hang, so a test sees it at once. */
void fw_fault(void) { _exit(128); }
