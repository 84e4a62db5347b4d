/* vectors.c — Cortex-M4 entry: the vector table and the reset handler.
 *
 * On reset an M-profile core loads SP from word 0 of the vector table (at address 0 here:
 * VTOR resets to 0) and jumps to word 1, so plain C works from the first instruction; the
 * reset handler only has to turn the FPU on before any float instruction runs (the image is
 * built for the hard-float ABI), then hands over to fw_start (crt.c). */
#include <stdint.h>

extern uint32_t __stack[]; /* top of the stack (sections.ld) */
void fw_start(void) __attribute__((noreturn));
void fw_fault(void) __attribute__((noreturn));

/* CPACR, the Coprocessor Access Control Register (ARMv7-M): bits 20-23 give full access to
 * CP10 and CP11, the floating-point unit. */
#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void fw_reset(void) __attribute__((noreturn));
void fw_reset(void)
{
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory"); /* the new access rights apply from here */
    fw_start();
}

typedef void (*handler)(void);
typedef struct vector_table {
    uint32_t *initial_sp;
    handler exceptions[15]; /* reset, NMI, HardFault, MemManage, BusFault, UsageFault, 4 reserved,
                             * SVCall, DebugMonitor, reserved, PendSV, SysTick */
} vector_table;

/* No interrupts are enabled: every exception other than reset is a fault that ends the run.
 * Section .fw_entry goes first in flash (sections.ld). */
__attribute__((section(".fw_entry"), used)) static const vector_table vectors = {
    __stack,
    {fw_reset, fw_fault, fw_fault, fw_fault, fw_fault, fw_fault, 0, 0, 0, 0, fw_fault, fw_fault, 0, fw_fault, fw_fault},
};
