/*
 * unwind_windows_x86_64.c — the x64 unwind data of the Windows thunk
 * (thunk_template_x86_64_windows.c), see unwind_windows.h.
 *
 * UNWIND_INFO (the Windows SDK does not publish the structure; the layout
 * is documented under "x64 exception handling"):
 *   byte 0  Version 1 (bits 0-2), Flags 0 (bits 3-7)
 *   byte 1  SizeOfProlog = 8
 *   byte 2  CountOfCodes = 3 (the array is padded to an even count)
 *   byte 3  FrameRegister = 5 (rbp, bits 0-3), FrameOffset = 0 (bits 4-7)
 *   codes, highest prolog offset first, each {offset, UnwindOp | OpInfo << 4}:
 *     {8, UWOP_ALLOC_SMALL, 3}   sub rsp,0x20: (3 + 1) * 8 bytes
 *     {4, UWOP_SET_FPREG, 0}     mov rbp,rsp
 *     {1, UWOP_PUSH_NONVOL, 5}   push rbp
 *     {0, 0}                     padding
 * The epilogue (mov rsp,rbp; pop rbp; ret) is the standard form the
 * unwinder recognizes: from inside it, it simulates the rest of it.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "unwind_windows.h"

#include <string.h>

_Static_assert(sizeof(RUNTIME_FUNCTION) == 12, "the RUNTIME_FUNCTION this file fills");

#define UWOP_PUSH_NONVOL 0
#define UWOP_ALLOC_SMALL 2
#define UWOP_SET_FPREG 3
#define REG_RBP 5

static const uint8_t unwind_info[] = {
    1,                                   /* Version 1, Flags 0 */
    8,                                   /* SizeOfProlog */
    3,                                   /* CountOfCodes */
    REG_RBP,                             /* FrameRegister rbp, FrameOffset 0 */
    8, UWOP_ALLOC_SMALL | (3 << 4),
    4, UWOP_SET_FPREG,
    1, UWOP_PUSH_NONVOL | (REG_RBP << 4),
    0, 0,
};

size_t unwind_windows_shared_size(void)
{
    return sizeof unwind_info;
}

void unwind_windows_shared_write(uint8_t *out)
{
    memcpy(out, unwind_info, sizeof unwind_info);
}

void unwind_windows_function(void *runtime_function, uint32_t begin, uint32_t code_size, uint32_t shared)
{
    /* RUNTIME_FUNCTION: BeginAddress, EndAddress, UnwindData (UNWIND_INFO offset). */
    uint32_t words[3] = {begin, begin + code_size, shared};
    memcpy(runtime_function, words, sizeof words);
}

size_t unwind_windows_function_size(void)
{
    return 12;
}
