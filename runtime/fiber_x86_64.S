/* pollnotify job context switch, x86-64 System V.
 * pn_fiber_switch(void **save_sp, void *to_sp): pushes the callee-saved registers on the current
 * stack, stores the stack pointer in *save_sp, loads to_sp and pops the same frame from it. A new
 * fiber's frame is laid out by fiber_init so that the final jump lands in pn_fiber_trampoline
 * with r12 = argument, r13 = entry.
 *
 * Two choices for speed, both measured (docs/runtime.md):
 * - it leaves through pop + indirect jmp, not ret: a ret here always mispredicts (the return
 *   stack buffer holds the other context's addresses), while the indirect branch predictor learns
 *   the two targets; this took a pause+resume round trip from 50 to 31 ns.
 * - the MXCSR and x87 control words (rounding mode, exception masks) are shared by the jobs of a
 *   thread and not switched, unless built with PN_FIBER_PRESERVE_FP_CONTROL: stmxcsr alone cost
 *   most of the remaining switch time. A job that changes them must restore them before pausing. */
        .text
        .globl  pn_fiber_switch
        .hidden pn_fiber_switch
        .type   pn_fiber_switch, @function
        .p2align 4
pn_fiber_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
#if defined(PN_FIBER_PRESERVE_FP_CONTROL)
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
#endif
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
#if defined(PN_FIBER_PRESERVE_FP_CONTROL)
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
#endif
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
        jmp     *%rcx
        .cfi_endproc
        .size   pn_fiber_switch, .-pn_fiber_switch

        .globl  pn_fiber_trampoline
        .hidden pn_fiber_trampoline
        .type   pn_fiber_trampoline, @function
        .p2align 4
pn_fiber_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        movq    %r12, %rdi
        callq   *%r13
        ud2                     /* entry functions never return */
        .cfi_endproc
        .size   pn_fiber_trampoline, .-pn_fiber_trampoline

        .section .note.GNU-stack,"",@progbits
