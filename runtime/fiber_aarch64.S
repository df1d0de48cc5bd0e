/* pollnotify job context switch, AArch64 AAPCS64.
 * pn_fiber_switch(void **save_sp, void *to_sp): saves x19-x30 and d8-d15 (the callee-saved set)
 * in a 160-byte frame, stores sp in *save_sp, loads to_sp and restores the same frame. A new
 * fiber's frame is laid out by fiber_init so that ret (x30) lands in pn_fiber_trampoline with
 * x19 = argument, x20 = entry. */
        .text
        .globl  pn_fiber_switch
        .hidden pn_fiber_switch
        .type   pn_fiber_switch, %function
        .p2align 4
pn_fiber_switch:
        sub     sp, sp, #160
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #160
        ret
        .size   pn_fiber_switch, .-pn_fiber_switch

        .globl  pn_fiber_trampoline
        .hidden pn_fiber_trampoline
        .type   pn_fiber_trampoline, %function
        .p2align 4
pn_fiber_trampoline:
        mov     x0, x19
        blr     x20
        brk     #0              /* entry functions never return */
        .size   pn_fiber_trampoline, .-pn_fiber_trampoline

        .section .note.GNU-stack,"",%progbits
