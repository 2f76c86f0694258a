/*
 * file_read_posix.c — file_read.h with open/fstat/pread.
 */
#include "file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int tld_read_file_open(tld_read_file *f, const char *path)
{
    f->handle = -1;
    f->size = 0;
    f->regular = 0;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    f->handle = fd;
    f->regular = S_ISREG(st.st_mode) ? 1 : 0;
    f->size = f->regular && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

int tld_read_file_at(const tld_read_file *f, void *buf, size_t len, uint64_t offset, size_t *got)
{
    size_t done = 0;
    while (done < len) {
        if (offset + done > (uint64_t)INT64_MAX)
            break;
        ssize_t n = pread((int)f->handle, (char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *got = done;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

void tld_read_file_close(tld_read_file *f)
{
    if (f->handle >= 0)
        close((int)f->handle);
    f->handle = -1;
}
