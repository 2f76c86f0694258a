/*
 * test_platform_posix.c — test_platform.h on Linux (and other POSIX
 * systems): nanosleep, mkdtemp, posix_spawn, kill, stat, symlink.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test_platform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char tmpdir[256];

void test_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

uint32_t test_os_thread_id(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

uint32_t test_os_process_id(void)
{
    return (uint32_t)getpid();
}

int tmpdir_create(const char *prefix)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%s.XXXXXX", prefix);
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

const char *tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
    return out;
}

int tmpdir_finish(int rc)
{
    if (rc == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "files kept in %s\n", tmpdir);
    }
    return rc;
}

const char *test_self_path(void)
{
    return "/proc/self/exe";
}

int test_spawn(const char *program, const char *const *args, const char *stdout_path, intptr_t *child)
{
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)program;
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdout_path != NULL)
        posix_spawn_file_actions_addopen(&fa, 1, stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, program, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", program, strerror(rc));
        return -1;
    }
    *child = pid;
    return 0;
}

void test_kill(intptr_t child)
{
    kill((pid_t)child, SIGKILL);
}

int test_wait(intptr_t child)
{
    int status = 0;
    while (waitpid((pid_t)child, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int test_file_is_owner_only(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    return (sb.st_mode & 0777) == 0600;
}

int test_symlink(const char *target, const char *path)
{
    return symlink(target, path) == 0 ? 0 : -1;
}

const char *test_device_path(void)
{
    return "/dev/null";
}
