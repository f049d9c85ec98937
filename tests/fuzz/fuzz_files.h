/* Helpers of the fuzz targets that build a scratch model or adapter
 * directory: a memory-backed scratch directory, copying fixture files into
 * it, writing the fuzzer's bytes as one of its files. */
#ifndef MEDNER_FUZZ_FILES_H
#define MEDNER_FUZZ_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void fuzz_check(int cond)
{
    if (!cond)
        __builtin_trap();
}

/* dir <- a fresh directory "medner-fuzz-TAG-PID" under /dev/shm (10x faster
 * than a disk-backed /tmp here), else $TMPDIR, else /tmp. */
static inline void fuzz_scratch_dir(char *dir, size_t size, const char *tag)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(dir, size, "%s/medner-fuzz-%s-%ld", base ? base : "/tmp", tag, (long)getpid());
    mkdir(dir, 0700);
}

/* Copy from_dir/name to to_dir/name; exits with a message when the fixture
 * is missing (targets run from the repository root). */
static inline void fuzz_copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/%s", from_dir, name);
    snprintf(dst, sizeof dst, "%s/%s", to_dir, name);
    FILE *in = fopen(src, "rb");
    if (in == NULL) {
        fprintf(stderr, "fuzz: cannot read %s (run from the repository root)\n", src);
        exit(1);
    }
    FILE *out = fopen(dst, "wb");
    fuzz_check(out != NULL);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fuzz_check(fwrite(buf, 1, n, out) == n);
    fclose(in);
    fuzz_check(fclose(out) == 0);
}

/* to_dir/name <- data[0, size). */
static inline void fuzz_write_file(const char *to_dir, const char *name, const uint8_t *data,
                                   size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", to_dir, name);
    FILE *f = fopen(path, "wb");
    fuzz_check(f != NULL);
    fuzz_check(fwrite(data, 1, size, f) == size);
    fuzz_check(fclose(f) == 0);
}

#endif
