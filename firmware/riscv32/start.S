/* start.S — RISC-V (rv32, machine mode) entry for QEMU's virt board with -bios none: QEMU's
 * reset code jumps to the start of RAM (0x80000000), where sections.ld puts .fw_entry, with
 * hart 0 in machine mode, no stack and the FPU off. Sets gp, sp and the trap vector, turns
 * the FPU on, and hands over to fw_start (crt.c). */
    .option arch, +zicsr            /* csr instructions: extension Zicsr in the ISA spec gcc 12 follows */
    .section .fw_entry, "ax"
    .globl _start
_start:
    .option push
    .option norelax                 /* gp itself must not be relaxed against gp */
    la      gp, __global_pointer$   /* the linker relaxes accesses near gp to gp-relative */
    .option pop
    la      sp, __stack
    la      t0, trap
    csrw    mtvec, t0               /* traps (illegal instruction, bad address ...) end the run */
    li      t0, 0x2000
    csrs    mstatus, t0             /* mstatus.FS = Initial: F instructions stop trapping */
    csrwi   fcsr, 0                 /* round to nearest, no flags */
    j       fw_start

    .p2align 2                      /* mtvec in direct mode wants a 4-byte aligned address */
trap:
    j       fw_fault
