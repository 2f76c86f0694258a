/*
 * test_platform.h — what the C tests need from the operating system, the
 * same on POSIX and on Windows (test_platform_posix.c,
 * test_platform_windows.c; threads come from the core's thread.h):
 * sleeping, a private scratch directory, running the test's own program as
 * a child and killing it, the OS's own process and thread ids (read
 * directly, to check what the library records), file permissions and
 * symbolic links.
 */
#ifndef TLD_TEST_PLATFORM_H
#define TLD_TEST_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* 1 where processes fork (the tests of fork handlers build only there). */
/* 1 where a process may be limited to a file size (RLIMIT_FSIZE), which
 * is how the writer's disk-full handling is tested. */
#if defined(_WIN32)
#define TEST_HAVE_FORK 0
#define TEST_HAVE_RLIMIT_FSIZE 0
#else
#define TEST_HAVE_FORK 1
#define TEST_HAVE_RLIMIT_FSIZE 1
#endif

void test_sleep_ms(unsigned ms);

/* The OS's ids of the calling thread and process. */
uint32_t test_os_thread_id(void);
uint32_t test_os_process_id(void);

/* ---- scratch directory ------------------------------------------------------------ */

/* The directory tmpdir_create() made, with '/' or '\\' separators as the
 * platform writes them. */
extern char tmpdir[256];

/* Creates a fresh private directory <system temp>/<prefix>.<unique>;
 * returns 0, or -1 after printing why. */
int tmpdir_create(const char *prefix);

/* `name` inside the scratch directory, written to out. */
const char *tmp_path(char *out, size_t cap, const char *name);

/* Removes the directory and its files if the test passed (rc == 0), keeps
 * and names it otherwise; returns rc. */
int tmpdir_finish(int rc);

/* ---- child processes ----------------------------------------------------------------- */

/* Path of the running test program (for running it again as a child). */
const char *test_self_path(void);

/*
 * Starts `program` with the NULL-terminated `args` (not including the
 * program itself), its standard output to `stdout_path` when not NULL.
 * Returns 0 with *child set, or -1 after printing why.
 */
int test_spawn(const char *program, const char *const *args, const char *stdout_path, intptr_t *child);

/* Kills the child at once (SIGKILL, TerminateProcess): no handler runs. */
void test_kill(intptr_t child);

/* Waits for the child; returns its exit code, or -1 when it was killed. */
int test_wait(intptr_t child);

/* ---- files ------------------------------------------------------------------------------ */

/* 1 when only the file's owner may access it (mode 0600; a DACL with the
 * owner alone), 0 when others may, -1 when it cannot be told. */
int test_file_is_owner_only(const char *path);

/* Creates `path` as a symbolic link to `target`; 0, or -1 when the system
 * does not allow it here. */
int test_symlink(const char *target, const char *path);

/* A path that names a device anyone may open for writing ("/dev/null",
 * "NUL"). */
const char *test_device_path(void);

#endif
