/*
 * unwind_linux.h — make the thunks of an arena unwindable by in-process
 * unwinders on Linux (libgcc's _Unwind_*, hence glibc backtrace(), C++
 * exceptions and the session stack capture; gdb reads the same registry).
 *
 * An arena's slots all hold the same code at a fixed stride, so its whole
 * .eh_frame can be written when the arena is created: one CIE, then one FDE
 * per slot (used or not: an FDE for code nobody runs is never consulted),
 * then the 4-byte zero terminator. It is registered once with
 * __register_frame and never changes or goes away, like the arena.
 */
#ifndef ETW_UNWIND_LINUX_H
#define ETW_UNWIND_LINUX_H

#include <stddef.h>
#include <stdint.h>

/* Bytes unwind_arena_build() writes for an arena of `slots` thunks. */
size_t unwind_arena_table_size(size_t slots);

/*
 * Writes the .eh_frame for an arena whose slot i starts at code + i*stride
 * into table[0 .. unwind_arena_table_size(slots)). `table` is where the
 * bytes will stay (FDE addresses are relative to it) and must lie within
 * 2 GiB of the code: put it in the same mapping.
 * Returns 0, or -EOVERFLOW if an offset does not fit (nothing is usable).
 */
int unwind_arena_build(uint8_t *table, uintptr_t code, size_t slots, size_t stride);

/*
 * Hands a table built by unwind_arena_build() to the in-process unwinder.
 * Precondition: the table stays mapped, readable and unchanged for the rest
 * of the process (libgcc reads it lazily, on the first unwind that needs
 * it). Thread-safe (libgcc locks). Returns 0; it cannot fail, libgcc
 * reports nothing.
 */
int unwind_arena_register(const uint8_t *table);

#endif
