/*
 * file_windows.c — file.h on Windows.
 *
 * Paths arrive in UTF-8 (what the Python binding and the C API use) and
 * become UTF-16 for CreateFileW. The file gets a protected DACL with one
 * entry, full access for the user the process runs as, like mode 0600 on
 * POSIX (a new file at creation, an existing one before it is truncated).
 * The file is opened without following a final reparse point
 * (FILE_FLAG_OPEN_REPARSE_POINT); if what was opened is one (a symbolic
 * link or a junction), it is closed untouched and -ELOOP returned, like
 * O_NOFOLLOW. A directory or a device (NUL, a named pipe) is refused
 * (looked at before the path is opened for writing, and again after), so
 * is an existing file owned by someone else; only then is the file
 * truncated. Other processes may read the file while it is written, as on
 * POSIX.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <aclapi.h>

#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The errno nearest to a Windows error code. */
static int errno_of(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT:
    case ERROR_PRIVILEGE_NOT_HELD:
        return EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
        return EBUSY;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return ENOMEM;
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_PARAMETER:
    case ERROR_NO_UNICODE_TRANSLATION:
        return EINVAL;
    case ERROR_FILENAME_EXCED_RANGE:
        return ENAMETOOLONG;
    case ERROR_DIRECTORY:
        return ENOTDIR;
    case ERROR_TOO_MANY_OPEN_FILES:
        return EMFILE;
    default:
        return EIO;
    }
}

/* `path` in UTF-16, malloc'ed; NULL with *err set. */
static wchar_t *wide_path(const char *path, int *err)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0) {
        *err = -EINVAL; /* not UTF-8 */
        return NULL;
    }
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n);
    return w;
}

/* A security descriptor whose DACL grants the process's user everything
 * and nobody else anything (not inherited from the directory). */
typedef struct owner_only_sd {
    SECURITY_DESCRIPTOR sd;
    union {
        ACL acl;
        unsigned char bytes[sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE];
    } dacl;
} owner_only_sd;

static int build_owner_only_sd(owner_only_sd *o)
{
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return -errno_of(GetLastError());
    union {
        TOKEN_USER user;
        unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    BOOL ok = GetTokenInformation(token, TokenUser, &info, sizeof info, &len);
    DWORD err = GetLastError();
    CloseHandle(token);
    if (!ok)
        return -errno_of(err);
    PSID sid = info.user.User.Sid;
    if (!InitializeAcl(&o->dacl.acl, sizeof o->dacl, ACL_REVISION) ||
        !AddAccessAllowedAce(&o->dacl.acl, ACL_REVISION, FILE_ALL_ACCESS, sid) ||
        !InitializeSecurityDescriptor(&o->sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(&o->sd, TRUE, &o->dacl.acl, FALSE) ||
        !SetSecurityDescriptorControl(&o->sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
        return -errno_of(GetLastError());
    return 0;
}

static int explain(char *why, size_t why_size, int err, const char *fmt, const char *path)
{
    if (why != NULL && why_size > 0)
        snprintf(why, why_size, fmt, path, strerror(err));
    return -err;
}

/* 1 when the file's owner is the process's user or its default owner (an
 * elevated administrator's files belong to the Administrators group), 0
 * when someone else owns it, -errno when that cannot be read. */
static int owned_by_us(HANDLE h)
{
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD rc = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, &sd);
    if (rc != ERROR_SUCCESS)
        return -errno_of(rc);
    int result = -EACCES;
    HANDLE token;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        union {
            TOKEN_USER user;
            TOKEN_OWNER owner;
            unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
        } info;
        DWORD len;
        result = 0;
        if (GetTokenInformation(token, TokenUser, &info, sizeof info, &len) && EqualSid(owner, info.user.User.Sid))
            result = 1;
        else if (GetTokenInformation(token, TokenOwner, &info, sizeof info, &len) && EqualSid(owner, info.owner.Owner))
            result = 1;
        CloseHandle(token);
    }
    LocalFree(sd);
    return result;
}

/* What is already at the path, looked at without opening it for anything:
 * 0 (nothing, or a file), EISDIR, or EINVAL for a device (NUL, CON, a pipe). */
static int existing_kind(const wchar_t *wpath)
{
    HANDLE h = CreateFileW(wpath, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return 0; /* nothing there, or nothing we can tell: creating it decides */
    int kind = 0;
    BY_HANDLE_FILE_INFORMATION info;
    if (GetFileType(h) != FILE_TYPE_DISK)
        kind = EINVAL;
    else if (GetFileInformationByHandle(h, &info) && (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
        kind = EISDIR;
    CloseHandle(h);
    return kind;
}

int tld_file_create_private(tld_file *out, const char *path, char *why, size_t why_size)
{
    *out = TLD_FILE_NONE;
    int err = 0;
    wchar_t *wpath = wide_path(path, &err);
    if (wpath == NULL)
        return explain(why, why_size, -err, "cannot create trace file '%s': the path is not valid UTF-8 (%s)", path);
    int kind = existing_kind(wpath);
    if (kind != 0) {
        free(wpath);
        if (kind == EISDIR)
            return explain(why, why_size, EISDIR, "cannot create trace file '%s': %s", path);
        return explain(why, why_size, EINVAL, "cannot create trace file '%s': it exists and is not a regular "
                                              "file (%s)", path);
    }
    owner_only_sd sd;
    err = build_owner_only_sd(&sd);
    if (err != 0) {
        free(wpath);
        return explain(why, why_size, -err, "cannot create trace file '%s': no security descriptor (%s)", path);
    }
    SECURITY_ATTRIBUTES sa = {.nLength = sizeof sa, .lpSecurityDescriptor = &sd.sd, .bInheritHandle = FALSE};
    /* Not truncated yet: whatever is there is checked first. */
    HANDLE h = CreateFileW(wpath, GENERIC_WRITE | READ_CONTROL | WRITE_DAC, FILE_SHARE_READ, &sa, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    DWORD create_err = GetLastError();
    DWORD attrs = h == INVALID_HANDLE_VALUE ? GetFileAttributesW(wpath) : 0;
    free(wpath);
    if (h == INVALID_HANDLE_VALUE) {
        if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
            return explain(why, why_size, EISDIR, "cannot create trace file '%s': %s", path);
        return explain(why, why_size, errno_of(create_err), "cannot create trace file '%s': %s", path);
    }
    int existed = create_err == ERROR_ALREADY_EXISTS;
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info)) {
        err = explain(why, why_size, errno_of(GetLastError()), "cannot create trace file '%s': %s", path);
    } else if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        err = explain(why, why_size, ELOOP, "cannot create trace file '%s': it is a symbolic link or another "
                                            "reparse point (%s); give the real path", path);
    } else if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || GetFileType(h) != FILE_TYPE_DISK) {
        err = explain(why, why_size, EINVAL, "cannot create trace file '%s': it exists and is not a regular "
                                             "file (%s)", path);
    } else if (existed) {
        int ours = owned_by_us(h);
        if (ours < 0)
            err = explain(why, why_size, -ours, "cannot create trace file '%s': %s", path);
        else if (ours == 0)
            err = explain(why, why_size, EPERM, "cannot create trace file '%s': it exists and belongs to another "
                                                "user (%s); remove it or choose another path", path);
        else if (SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                 NULL, NULL, &sd.dacl.acl, NULL) != ERROR_SUCCESS)
            err = explain(why, why_size, EACCES, "cannot create trace file '%s': its access list cannot be set "
                                                 "to the owner alone (%s)", path);
    }
    if (err == 0) {
        FILE_END_OF_FILE_INFO eof = {.EndOfFile.QuadPart = 0};
        if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof eof))
            err = explain(why, why_size, errno_of(GetLastError()), "cannot create trace file '%s': %s", path);
    }
    if (err != 0) {
        CloseHandle(h);
        return err;
    }
    *out = (tld_file)h;
    return 0;
}

int tld_file_write_at(tld_file f, const void *buf, size_t len, uint64_t off)
{
    const unsigned char *p = buf;
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len;
        OVERLAPPED at = {0};
        at.Offset = (DWORD)off;
        at.OffsetHigh = (DWORD)(off >> 32);
        DWORD written = 0;
        if (!WriteFile((HANDLE)f, p, chunk, &written, &at))
            return -errno_of(GetLastError());
        if (written == 0)
            return -EIO;
        p += written;
        len -= written;
        off += written;
    }
    return 0;
}

int tld_file_truncate(tld_file f, uint64_t size)
{
    FILE_END_OF_FILE_INFO eof = {.EndOfFile.QuadPart = (LONGLONG)size};
    return SetFileInformationByHandle((HANDLE)f, FileEndOfFileInfo, &eof, sizeof eof) ? 0
                                                                                      : -errno_of(GetLastError());
}

int tld_file_close(tld_file f)
{
    return CloseHandle((HANDLE)f) ? 0 : -errno_of(GetLastError());
}

void tld_file_abandon(tld_file f)
{
    CloseHandle((HANDLE)f); /* no fork on Windows: closing is all there is */
}

static int identity_of_handle(HANDLE h, uint64_t *device, uint64_t *file)
{
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info))
        return -errno_of(GetLastError());
    *device = info.dwVolumeSerialNumber;
    *file = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
    return 0;
}

int tld_file_identity(tld_file f, uint64_t *device, uint64_t *file)
{
    return identity_of_handle((HANDLE)f, device, file);
}

int tld_path_identity(const char *path, uint64_t *device, uint64_t *file)
{
    int err = 0;
    wchar_t *wpath = wide_path(path, &err);
    if (wpath == NULL)
        return err;
    /* No access rights needed to read the identity; share everything so a
     * file being written stays writable. */
    HANDLE h = CreateFileW(wpath, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    DWORD open_err = GetLastError();
    free(wpath);
    if (h == INVALID_HANDLE_VALUE)
        return -errno_of(open_err);
    err = identity_of_handle(h, device, file);
    CloseHandle(h);
    return err;
}
