/*
 * test_platform_windows.c — test_platform.h on Windows (and under Wine):
 * Sleep, a directory under GetTempPath, CreateProcess/TerminateProcess,
 * the file's DACL, CreateSymbolicLink.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <aclapi.h>

#include "test_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The exit code test_kill() gives a child, which test_wait() reports as -1. */
#define KILLED_EXIT_CODE 0xDEADu

char tmpdir[256];

void test_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

uint32_t test_os_thread_id(void)
{
    return (uint32_t)GetCurrentThreadId();
}

uint32_t test_os_process_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}

int tmpdir_create(const char *prefix)
{
    char base[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof base, base);
    if (n == 0 || n > sizeof base) {
        fprintf(stderr, "GetTempPath failed (%lu)\n", GetLastError());
        return -1;
    }
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        snprintf(tmpdir, sizeof tmpdir, "%s%s.%lu.%u", base, prefix, GetCurrentProcessId(), attempt);
        if (CreateDirectoryA(tmpdir, NULL))
            return 0;
        if (GetLastError() != ERROR_ALREADY_EXISTS)
            break;
    }
    fprintf(stderr, "CreateDirectory %s failed (%lu)\n", tmpdir, GetLastError());
    return -1;
}

const char *tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s\\%s", tmpdir, name);
    return out;
}

int tmpdir_finish(int rc)
{
    if (rc != 0) {
        fprintf(stderr, "files kept in %s\n", tmpdir);
        return rc;
    }
    char pattern[600];
    snprintf(pattern, sizeof pattern, "%s\\*", tmpdir);
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
                continue;
            char path[900];
            snprintf(path, sizeof path, "%s\\%s", tmpdir, fd.cFileName);
            if (!DeleteFileA(path))
                fprintf(stderr, "could not remove %s (%lu)\n", path, GetLastError());
        } while (FindNextFileA(h, &fd));
        FindClose(h);
    }
    if (!RemoveDirectoryA(tmpdir))
        fprintf(stderr, "could not remove %s (%lu)\n", tmpdir, GetLastError());
    return rc;
}

const char *test_self_path(void)
{
    static char path[MAX_PATH + 1];
    DWORD n = GetModuleFileNameA(NULL, path, sizeof path);
    if (n == 0 || n >= sizeof path)
        return "";
    return path;
}

int test_spawn(const char *program, const char *const *args, const char *stdout_path, intptr_t *child)
{
    char cmdline[4096];
    size_t used = (size_t)snprintf(cmdline, sizeof cmdline, "\"%s\"", program);
    for (size_t i = 0; args[i] != NULL && used < sizeof cmdline; i++)
        used += (size_t)snprintf(cmdline + used, sizeof cmdline - used, " \"%s\"", args[i]);
    if (used >= sizeof cmdline) {
        fprintf(stderr, "command line too long\n");
        return -1;
    }
    STARTUPINFOA si = {.cb = sizeof si};
    HANDLE out = INVALID_HANDLE_VALUE;
    if (stdout_path != NULL) {
        SECURITY_ATTRIBUTES sa = {.nLength = sizeof sa, .bInheritHandle = TRUE};
        out = CreateFileA(stdout_path, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (out == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "cannot create %s (%lu)\n", stdout_path, GetLastError());
            return -1;
        }
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdOutput = out;
        si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
        si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    }
    PROCESS_INFORMATION pi;
    BOOL ok = CreateProcessA(program, cmdline, NULL, NULL, stdout_path != NULL, 0, NULL, NULL, &si, &pi);
    DWORD err = GetLastError();
    if (out != INVALID_HANDLE_VALUE)
        CloseHandle(out);
    if (!ok) {
        fprintf(stderr, "CreateProcess %s failed (%lu)\n", program, err);
        return -1;
    }
    CloseHandle(pi.hThread);
    *child = (intptr_t)pi.hProcess;
    return 0;
}

void test_kill(intptr_t child)
{
    TerminateProcess((HANDLE)child, KILLED_EXIT_CODE);
}

int test_wait(intptr_t child)
{
    DWORD code = 1;
    WaitForSingleObject((HANDLE)child, INFINITE);
    GetExitCodeProcess((HANDLE)child, &code);
    CloseHandle((HANDLE)child);
    return code == KILLED_EXIT_CODE ? -1 : (int)code;
}

/* Wine keeps no security descriptors of its own for files (it derives one
 * from the Unix mode) and its CreateSymbolicLink creates nothing: what
 * the two functions below look at cannot be told there. */
static int running_under_wine(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

int test_file_is_owner_only(const char *path)
{
    if (running_under_wine())
        return -1;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (GetNamedSecurityInfoA(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd) !=
        ERROR_SUCCESS)
        return -1;
    HANDLE token;
    int result = -1;
    if (dacl != NULL && OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        union {
            TOKEN_USER user;
            unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
        } info;
        DWORD len;
        if (GetTokenInformation(token, TokenUser, &info, sizeof info, &len)) {
            ACCESS_ALLOWED_ACE *ace;
            result = dacl->AceCount == 1 && GetAce(dacl, 0, (void **)&ace) &&
                     ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
                     EqualSid((PSID)&ace->SidStart, info.user.User.Sid);
        }
        CloseHandle(token);
    } else if (dacl == NULL) {
        result = 0; /* no DACL: everyone may access it */
    }
    LocalFree(sd);
    return result;
}

const char *test_device_path(void)
{
    return "NUL";
}

int test_symlink(const char *target, const char *path)
{
    /* Creating one needs a privilege (or developer mode) on Windows. */
    if (!CreateSymbolicLinkA(path, target, SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE) &&
        !CreateSymbolicLinkA(path, target, 0))
        return -1;
    DWORD attrs = GetFileAttributesA(path);
    return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) ? 0 : -1;
}
