/* Small file helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

static int not_regular(const char *path, mode_t mode)
{
    return medner__fail(MEDNER_E_IO, "%s: is %s; expected a regular file", path, file_kind(mode));
}

int medner__open_regular(const char *path, int *fd_out, struct stat *st_out)
{
    /* A FIFO opened for reading waits for a writer, forever if none comes,
     * and a device may never end: refuse anything but a regular file before
     * opening it, then open without blocking and check again on the open
     * descriptor, in case the path was replaced in between. */
    struct stat st;
    if (stat(path, &st) != 0)
        return medner__fail(MEDNER_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return not_regular(path, st.st_mode);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return medner__fail(MEDNER_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return medner__fail(MEDNER_E_IO, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return not_regular(path, st.st_mode);
    }
    *fd_out = fd;
    *st_out = st;
    return MEDNER_OK;
}

int medner__read_file(const char *path, size_t max_len, char **data, size_t *len)
{
    int fd;
    struct stat st;
    int rc = medner__open_regular(path, &fd, &st);
    if (rc != MEDNER_OK)
        return rc;
    if ((uint64_t)st.st_size > (uint64_t)max_len) {
        close(fd);
        return medner__fail(MEDNER_E_LIMIT, "%s: %lld bytes, more than the limit of %zu", path,
                            (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    char *buf = medner__malloc(n + 1);
    if (buf == NULL) {
        close(fd);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory reading %zu bytes", path, n);
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int err = errno;
        close(fd);
        medner__free(buf);
        return medner__fail(MEDNER_E_IO, "%s: cannot open: %s", path, strerror(err));
    }
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (got != n || err) {
        medner__free(buf);
        return medner__fail(MEDNER_E_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return MEDNER_OK;
}

int medner__file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

char *medner__path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = medner__malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a > 0 && dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}
