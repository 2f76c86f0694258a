/*
 * jitdump_linux.h — describe thunks to `perf` in DWARF mode through a
 * jitdump file, /tmp/jit-<pid>.dump (or in a folder of the caller's choice).
 *
 * Python built without frame pointers leaves perf's frame-pointer walk
 * lost, so full mixed stacks need `perf record -k 1 --call-graph dwarf`.
 * Its DWARF unwinder needs call-frame information for every thunk; the
 * perf map has none. A jitdump file carries both, and
 * `perf inject --jit -i perf.data -o perf.jit.data` turns each code-load
 * record into a small ELF file (jitted-<pid>-<index>.so: the code, a symbol,
 * and the .eh_frame/.eh_frame_hdr of the preceding unwinding record) mapped
 * where the thunk lives:
 *
 *   header | UNWINDING_INFO(thunk 0) | CODE_LOAD(thunk 0) | UNWINDING_INFO(thunk 1) | ...
 *
 * perf finds the file only because the process maps it executable: one
 * page, PROT_READ|PROT_EXEC, kept mapped while enabled. Timestamps are
 * CLOCK_MONOTONIC, hence `perf record -k 1`.
 *
 * Off by default: nothing is created until jitdump_enable(). The file is
 * opened with O_NOFOLLOW|O_CLOEXEC, mode 0600, refused unless it is a
 * regular file owned by us, then truncated. Records are written whole (one
 * writev) under a lock. After fork() (pthread_atfork) the child never
 * writes through the inherited descriptor: if enabled it starts its own
 * /tmp/jit-<childpid>.dump, repeating the records of every thunk written so
 * far with its own pid.
 */
#ifndef ETW_JITDUMP_LINUX_H
#define ETW_JITDUMP_LINUX_H

#include <stddef.h>

/*
 * Creates /tmp/jit-<pid>.dump, writes the header and maps its first page
 * executable. Idempotent. Returns 0 or a negative errno (-ELOOP: symlink at
 * the path; -EPERM: not our regular file; mmap's errno if the marker
 * mapping is refused). On failure nothing stays open.
 */
int jitdump_enable(void);

/* Non-zero while enabled. */
int jitdump_enabled(void);

/*
 * Writes an unwinding-info record and a code-load record for the thunk at
 * [code, code + size), named `name` (cut at 1000 bytes). Precondition: the
 * range is a thunk from thunk_arena_create() (begin, end - begin): its
 * unwind rules are the thunk template's, and its bytes are read from
 * memory. Returns 0 (also when not enabled: nothing to do), or a negative
 * errno. Thread-safe.
 */
int jitdump_add(const void *code, size_t size, const char *name);

/*
 * Writes a close record, unmaps the marker page and closes the file (which
 * stays for perf inject). Thunks added later are not recorded until the
 * next jitdump_enable(), which starts the file over.
 */
void jitdump_disable(void);

/* Writes "<dir>/jit-<pid>.dump" for the calling process into buf. Returns 0
 * or -ENAMETOOLONG. */
int jitdump_path(char *buf, size_t size);

/*
 * Where the next jitdump_enable() creates the file: an absolute folder
 * (default /tmp). perf inject writes its jitted-<pid>-<n>.so files beside
 * it, so a folder of the capture's own keeps them out of /tmp. Returns 0,
 * -EINVAL (not absolute), -ENAMETOOLONG, or -EBUSY while a file is open.
 */
int jitdump_set_directory(const char *dir);

#endif
