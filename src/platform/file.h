/*
 * file.h — the files the core writes (trace files), behind one interface:
 * file_posix.c and file_windows.c. Paths are UTF-8.
 *
 * Trace files are opened so that nothing planted at the path beforehand can
 * block, redirect, truncate or expose the trace: a symbolic link is refused
 * (O_NOFOLLOW), so are FIFOs, devices and directories (opened without
 * blocking, then checked), and so is a file owned by another user; the file
 * is truncated only after those checks and gets mode 0600.
 *
 * Functions return 0 or a negative code (-errno); `why`, when given, gets
 * a sentence naming the path and what was wrong.
 */
#ifndef TLD_PLATFORM_FILE_H
#define TLD_PLATFORM_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef intptr_t tld_file;
#define TLD_FILE_NONE ((tld_file)-1)

/* Creates `path`, or truncates it when it is a regular file of ours, for
 * writing; readable and writable by the owner only. */
int tld_file_create_private(tld_file *out, const char *path, char *why, size_t why_size);

/* Writes all `len` bytes at `offset` (retrying short writes). */
int tld_file_write_at(tld_file f, const void *buf, size_t len, uint64_t offset);

/* Cuts the file to `size` bytes. */
int tld_file_truncate(tld_file f, uint64_t size);

/* Closes the file; the first error met while closing is returned. */
int tld_file_close(tld_file f);

/* Closes the file without flushing anything on its behalf: for a forked
 * child dropping what it inherited (the parent still writes the file). */
void tld_file_abandon(tld_file f);

/* Identity of an open file or of a path, to tell whether two name one file. */
int tld_file_identity(tld_file f, uint64_t *dev, uint64_t *ino);
int tld_path_identity(const char *path, uint64_t *dev, uint64_t *ino);

#endif
