/* Test helper: one scratch directory at a time (/tmp/medner-TAG-XXXXXX) for
 * tests that write model or adapter files; removed with its files (no
 * subdirectories). Include after <cmocka.h>. */
#ifndef MEDNER_TEST_TMPDIR_H
#define MEDNER_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static inline void tmpdir_make(const char *tag)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/medner-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(tmpdir));
}

static inline void tmpdir_remove(void)
{
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        assert_int_equal(unlink(p), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(tmpdir), 0);
}

#endif
