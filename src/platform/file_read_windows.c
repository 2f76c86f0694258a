/*
 * file_read_windows.c — file_read.h with CreateFileW/ReadFile at an
 * offset (OVERLAPPED on a synchronous handle). Paths are UTF-8.
 */
#include "file_read.h"

#include <errno.h>
#include <stdlib.h>
#include <windows.h>

static int errno_from_win32(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION: return EACCES;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return ENOMEM;
    default: return EIO;
    }
}

int tld_read_file_open(tld_read_file *f, const char *path)
{
    f->handle = -1;
    f->size = 0;
    f->regular = 0;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0)
        return -EINVAL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w)
        return -ENOMEM;
    MultiByteToWideChar(CP_UTF8, 0, path, -1, w, n);
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return -errno_from_win32(GetLastError());
    f->handle = (intptr_t)h;
    if (GetFileType(h) == FILE_TYPE_DISK) {
        BY_HANDLE_FILE_INFORMATION info;
        if (GetFileInformationByHandle(h, &info) && !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
            f->regular = 1;
            f->size = ((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow;
        }
    }
    return 0;
}

int tld_read_file_at(const tld_read_file *f, void *buf, size_t len, uint64_t offset, size_t *got)
{
    size_t done = 0;
    while (done < len) {
        DWORD want = len - done > 0x40000000u ? 0x40000000u : (DWORD)(len - done);
        OVERLAPPED ov = {0};
        uint64_t at = offset + done;
        ov.Offset = (DWORD)at;
        ov.OffsetHigh = (DWORD)(at >> 32);
        DWORD n = 0;
        if (!ReadFile((HANDLE)f->handle, (char *)buf + done, want, &n, &ov)) {
            DWORD e = GetLastError();
            if (e == ERROR_HANDLE_EOF)
                break;
            *got = done;
            return -errno_from_win32(e);
        }
        if (n == 0)
            break;
        done += n;
    }
    *got = done;
    return 0;
}

void tld_read_file_close(tld_read_file *f)
{
    if (f->handle != -1)
        CloseHandle((HANDLE)f->handle);
    f->handle = -1;
}
