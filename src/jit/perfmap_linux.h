/*
 * perfmap_linux.h — name thunks for `perf` through /tmp/perf-<pid>.map.
 *
 * perf resolves addresses in anonymous executable memory with this text
 * file, one line per symbol: "<start hex> <size hex> <name>\n", e.g.
 * "7f3529fcf780 c py::bar:/run/t.py". perf reads it at report time, so the
 * file is never deleted here.
 *
 * Two ways to write it:
 *   - our own file (default): opened with O_WRONLY|O_CREAT|O_APPEND|
 *     O_NOFOLLOW|O_CLOEXEC, mode 0600, refused if it is not a regular file
 *     owned by us (a symlink or a stranger's file planted in /tmp); each
 *     line is one write() under a lock, so lines never interleave;
 *   - a writer function installed with perfmap_set_writer(), e.g. CPython's
 *     PyUnstable_WritePerfMapEntry (3.12+), so that several writers in one
 *     process (CPython's own trampolines, other extensions) share one file
 *     handle and one lock instead of corrupting each other's lines.
 *
 * Every entry is also remembered in memory. After fork() (pthread_atfork)
 * the child never writes through the inherited descriptor: it closes it
 * and, in own-file mode, immediately writes /tmp/perf-<childpid>.map
 * starting with a copy of every entry written so far, so perf resolves the
 * inherited thunks in the child too. With an installed writer the child
 * cannot call it from the fork handler (it may need the GIL); the copy is
 * replayed through it by perfmap_after_fork_child() — call it from
 * os.register_at_fork(after_in_child=...) — or by the child's first
 * perfmap_add(), whichever comes first.
 */
#ifndef ETW_PERFMAP_LINUX_H
#define ETW_PERFMAP_LINUX_H

#include <stddef.h>

/* Same signature as CPython's PyUnstable_WritePerfMapEntry: returns 0 on
 * success, anything else on failure. */
typedef int (*perfmap_writer_fn)(const void *code_addr, unsigned int code_size, const char *entry_name);

/*
 * Opens (creating if needed) /tmp/perf-<pid>.map for appending. Idempotent;
 * perfmap_add() calls it when needed. Returns 0, or -ELOOP (a symlink is at
 * the path), -EPERM (not a regular file, or owned by another user), or the
 * open() errno, negated. Thread-safe.
 */
int perfmap_open(void);

/*
 * Writes one entry: code [code, code + size), named `name` (control
 * characters become '?', names are cut at 1000 bytes). Remembers it for a
 * forked child. Uses the installed writer if any, else our own file.
 * Returns 0 or a negative errno (-EIO if the installed writer failed).
 * Thread-safe.
 */
int perfmap_add(const void *code, size_t size, const char *name);

/*
 * Installs a writer (NULL restores our own file). Entries already written
 * stay where they are. Thread-safe; typically called once at startup.
 */
void perfmap_set_writer(perfmap_writer_fn writer);

/*
 * In a forked child: writes the copy of the parent's entries if that is
 * still pending (always the case with an installed writer). A no-op
 * elsewhere. Returns 0 or a negative errno.
 */
int perfmap_after_fork_child(void);

/*
 * Closes our file (the file stays for perf) and forgets the remembered
 * entries. Later perfmap_add() calls reopen it.
 */
void perfmap_close(void);

/* Writes "/tmp/perf-<pid>.map" for the calling process into buf. Returns 0
 * or -ENAMETOOLONG. */
int perfmap_path(char *buf, size_t size);

#endif
