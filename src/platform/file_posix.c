/*
 * file_posix.c — file.h with open(2), pwrite(2) and fstat(2).
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int tld_file_create(tld_file_handle *out, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    *out = fd;
    return 0;
}

int tld_file_write_at(tld_file_handle f, const void *buf, size_t len, uint64_t off)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite((int)f, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int tld_file_close(tld_file_handle f)
{
    return close((int)f) == 0 ? 0 : -errno;
}

int tld_file_identity(tld_file_handle f, uint64_t *device, uint64_t *file)
{
    struct stat st;
    if (fstat((int)f, &st) != 0)
        return -errno;
    *device = (uint64_t)st.st_dev;
    *file = (uint64_t)st.st_ino;
    return 0;
}

int tld_file_identity_of_path(const char *path, uint64_t *device, uint64_t *file)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    *device = (uint64_t)st.st_dev;
    *file = (uint64_t)st.st_ino;
    return 0;
}
