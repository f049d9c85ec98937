/* Small file helpers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

int medner__read_file(const char *path, size_t max_len, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return medner__fail(MEDNER_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return medner__fail(MEDNER_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_len) {
        fclose(f);
        return medner__fail(MEDNER_E_LIMIT, "%s: %lld bytes, more than the limit of %zu", path,
                            (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    char *buf = medner__malloc(n + 1);
    if (buf == NULL) {
        fclose(f);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory reading %zu bytes", path, n);
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
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
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
