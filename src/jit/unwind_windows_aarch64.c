/*
 * unwind_windows_aarch64.c — the ARM64 unwind data of the Windows thunk
 * (thunk_template_aarch64_windows.c), see unwind_windows.h.
 *
 * The thunk's frame is the canonical one ARM64 "packed unwind data"
 * describes without any .xdata: the RUNTIME_FUNCTION's second word holds
 *   bits  0-1   Flag = 1           packed unwind data
 *   bits  2-12  FunctionLength = 5 instructions (in units of 4 bytes)
 *   bits 13-15  RegF = 0           no d8-d15 saved
 *   bits 16-19  RegI = 0           no x19-x28 saved
 *   bit  20     H = 0              no argument registers homed
 *   bits 21-22  CR = 3             frame record: stp x29,lr,[sp,#-FrameSize]!; mov x29,sp
 *   bits 23-31  FrameSize = 1      16 bytes, in units of 16
 * and the epilogue (ldp x29,lr,[sp],#16; ret) mirrors it. Nothing is
 * shared between thunks.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "unwind_windows.h"

#include <string.h>

_Static_assert(sizeof(RUNTIME_FUNCTION) == 8, "the RUNTIME_FUNCTION this file fills");

#define PACKED_FLAG 1u
#define FUNCTION_WORDS 5u
#define CR_FRAME_RECORD 3u
#define FRAME_SIZE_16 1u

size_t unwind_windows_shared_size(void)
{
    return 0;
}

void unwind_windows_shared_write(uint8_t *out)
{
    (void)out;
}

void unwind_windows_function(void *runtime_function, uint32_t begin, uint32_t code_size, uint32_t shared)
{
    (void)shared;
    uint32_t packed = PACKED_FLAG | ((code_size / 4u) << 2) | (CR_FRAME_RECORD << 21) | (FRAME_SIZE_16 << 23);
    /* RUNTIME_FUNCTION on ARM64: BeginAddress, then the packed word. */
    uint32_t words[2] = {begin, packed};
    memcpy(runtime_function, words, sizeof words);
}

size_t unwind_windows_function_size(void)
{
    return 8;
}
