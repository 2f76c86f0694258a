/*
 * unwind_windows.h — the unwind data Windows needs to walk through a thunk
 * (RtlVirtualUnwind, RtlCaptureStackBackTrace, ETW's stack walks), for the
 * architecture being built: one RUNTIME_FUNCTION per thunk, pointing at
 * unwind data every thunk shares.
 *
 * RUNTIME_FUNCTION addresses are relative to the function table's range
 * base (thunk_arena_windows.c registers each arena as one growable table
 * whose range covers its code and, after it, the shared unwind data).
 *
 * Implementations: unwind_windows_x86_64.c (an UNWIND_INFO: push rbp,
 * set frame pointer rbp, 32 bytes of shadow space), unwind_windows_aarch64.c
 * (packed unwind data in the RUNTIME_FUNCTION itself: the frame record
 * x29/x30 pushed, x29 set, no shared bytes).
 */
#ifndef ETW_UNWIND_WINDOWS_H
#define ETW_UNWIND_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of unwind data shared by every thunk of an arena (0 when the
 * RUNTIME_FUNCTION holds it all). */
size_t unwind_windows_shared_size(void);

/* Writes the shared unwind data into out[0 .. unwind_windows_shared_size()). */
void unwind_windows_shared_write(uint8_t *out);

/*
 * Fills `runtime_function` (a RUNTIME_FUNCTION, 12 bytes on x64, 8 on
 * arm64) for the thunk at range offset `begin` whose code is `code_size`
 * bytes, given the range offset of the shared unwind data.
 */
void unwind_windows_function(void *runtime_function, uint32_t begin, uint32_t code_size, uint32_t shared);

/* sizeof(RUNTIME_FUNCTION) of this architecture. */
size_t unwind_windows_function_size(void);

#endif
