/* Test helpers: the committed corpora (tests/data/corpus, xz-compressed). */
#ifndef MEDNER_TEST_CORPUS_H
#define MEDNER_TEST_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct corpus_doc {
    const char *name; /* maccrobat: the file name; pubmed: NULL */
    const char *text;
    size_t len;
} corpus_doc;

/* Whole output of `xz -dc PATH` (NULL on failure). */
static inline char *corpus_read_xz(const char *path, size_t *len)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xz -dc '%s'", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return NULL;
    size_t cap = 1 << 20, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, p)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    if (pclose(p) != 0 || buf == NULL) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* One document per line (pubmed_abstracts.txt). */
static inline size_t corpus_split_lines(char *data, size_t len, corpus_doc **out)
{
    size_t n = 0, cap = 4096, start = 0;
    corpus_doc *d = malloc(cap * sizeof *d);
    for (size_t i = 0; d && i < len; i++)
        if (data[i] == '\n') {
            if (n == cap)
                d = realloc(d, (cap *= 2) * sizeof *d);
            d[n].name = NULL;
            d[n].text = data + start;
            d[n++].len = i - start;
            start = i + 1;
        }
    *out = d;
    return n;
}

/* "#doc NAME BYTES\n" + BYTES raw bytes + "\n", repeated (maccrobat.txt);
 * the name is NUL-terminated in place. Returns SIZE_MAX on a format error. */
static inline size_t corpus_split_docs(char *data, size_t len, corpus_doc **out)
{
    size_t n = 0, cap = 256, i = 0;
    corpus_doc *d = malloc(cap * sizeof *d);
    while (d && i < len) {
        if (strncmp(data + i, "#doc ", 5) != 0)
            return SIZE_MAX;
        char *nl = memchr(data + i, '\n', len - i);
        if (nl == NULL)
            return SIZE_MAX;
        char *sp = memrchr(data + i, ' ', (size_t)(nl - (data + i)));
        size_t bytes = strtoul(sp + 1, NULL, 10);
        *sp = 0;
        if (n == cap)
            d = realloc(d, (cap *= 2) * sizeof *d);
        d[n].name = data + i + 5;
        i = (size_t)(nl - data) + 1;
        if (i + bytes > len)
            return SIZE_MAX;
        d[n].text = data + i;
        d[n++].len = bytes;
        i += bytes + 1;
    }
    *out = d;
    return n;
}

#endif
