/*
 * file_posix.c — file.h on POSIX systems.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int explain(char *why, size_t why_size, int err, const char *fmt, const char *path)
{
    if (why != NULL && why_size > 0)
        snprintf(why, why_size, fmt, path, strerror(err));
    return -err;
}

int tld_file_create_private(tld_file *out, const char *path, char *why, size_t why_size)
{
    *out = TLD_FILE_NONE;
    /* Not O_TRUNC yet: whatever is there is checked first. O_NONBLOCK keeps
     * a FIFO without a reader from blocking the open (it fails with ENXIO). */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            return explain(why, why_size, e, "cannot create trace file '%s': it is a symbolic link (%s); "
                                             "give the real path", path);
        if (e == ENXIO)
            return explain(why, why_size, e, "cannot create trace file '%s': it is a FIFO or socket (%s)", path);
        return explain(why, why_size, e, "cannot create trace file '%s': %s", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return explain(why, why_size, e, "cannot create trace file '%s': %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return explain(why, why_size, EINVAL, "cannot create trace file '%s': it exists and is not a regular "
                                              "file (%s)", path);
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        return explain(why, why_size, EPERM, "cannot create trace file '%s': it exists and belongs to another "
                                             "user (%s); remove it or choose another path", path);
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || ftruncate(fd, 0) != 0 ||
        ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0)) {
        int e = errno;
        close(fd);
        return explain(why, why_size, e, "cannot create trace file '%s': %s", path);
    }
    *out = fd;
    return 0;
}

int tld_file_write_at(tld_file f, const void *buf, size_t len, uint64_t offset)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite((int)f, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int tld_file_truncate(tld_file f, uint64_t size)
{
    return ftruncate((int)f, (off_t)size) == 0 ? 0 : -errno;
}

int tld_file_close(tld_file f)
{
    return close((int)f) == 0 ? 0 : -errno;
}

void tld_file_abandon(tld_file f)
{
    close((int)f);
}

int tld_file_identity(tld_file f, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    if (fstat((int)f, &st) != 0)
        return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

int tld_path_identity(const char *path, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}
