/*
 * file.h — the trace files sessions write: created for the owner only,
 * never through a symbolic link, written at explicit offsets by several
 * threads, and identified (device, file number) so a second session cannot
 * truncate the file of a running one.
 *
 * Implementations: file_posix.c (open O_NOFOLLOW 0600, pwrite, fstat),
 * file_windows.c (CreateFileW of the UTF-8 path turned into UTF-16, a
 * security descriptor that grants the owner alone, reparse points refused,
 * WriteFile with an offset, the volume serial number and file index).
 *
 * Errors are negative errno values (-ENOENT, -EACCES, -ENOSPC, -ELOOP for a
 * path that is a symbolic link ...); Windows' error codes are mapped to
 * the nearest errno, so strerror() describes them.
 */
#ifndef TLD_FILE_H
#define TLD_FILE_H

#include <stddef.h>
#include <stdint.h>

/* A file descriptor (POSIX) or a HANDLE (Windows). */
typedef intptr_t tld_file_handle;
#define TLD_FILE_NONE ((tld_file_handle)-1)

/* Creates `path` (UTF-8) or truncates it if it exists, for writing, with
 * access for the owner only when it is created. Refuses a final path
 * component that is a symbolic link (or reparse point). */
int tld_file_create(tld_file_handle *out, const char *path);

/* Writes all `len` bytes at offset `off`. Thread-safe for disjoint ranges. */
int tld_file_write_at(tld_file_handle f, const void *buf, size_t len, uint64_t off);

/* Closes the file; reports a write error the system deferred until now. */
int tld_file_close(tld_file_handle f);

/* Two numbers that together name the file (not the path): device and
 * inode, or volume serial number and file index. */
int tld_file_identity(tld_file_handle f, uint64_t *device, uint64_t *file);
int tld_file_identity_of_path(const char *path, uint64_t *device, uint64_t *file);

#endif
