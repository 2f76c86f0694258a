/*
 * file_read.h — reading a file by offset, for the .etl reader's streaming
 * walk: open read-only, learn its size and whether it is a regular file,
 * read any range (pread semantics: no shared file position), close.
 *
 * Platform implementations: file_read_posix.c, file_read_windows.c. (The
 * files the core writes go through file.h; reading has its own small
 * interface because the reader needs neither their checks nor locking.)
 */
#ifndef TLD_FILE_READ_H
#define TLD_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tld_read_file {
    intptr_t handle;    /* a descriptor or a HANDLE; -1 when closed */
    uint64_t size;      /* bytes, when regular */
    int regular;        /* 1 for a regular file, 0 for a device, pipe, directory, ... */
} tld_read_file;

/* Opens `path` (UTF-8 on Windows) for reading. Returns 0 or -errno; on
 * failure f->handle is -1. Non-regular files open too (regular = 0): the
 * caller decides what to do with them. */
int tld_read_file_open(tld_read_file *f, const char *path);

/* Reads up to `len` bytes at `offset` into buf; *got = bytes read (fewer
 * only at the end of the file). Returns 0 or -errno. Retries interrupted
 * and partial reads. */
int tld_read_file_at(const tld_read_file *f, void *buf, size_t len, uint64_t offset, size_t *got);

/* Closes the file (safe on a closed one). */
void tld_read_file_close(tld_read_file *f);

#endif
