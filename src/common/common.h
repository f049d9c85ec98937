/*
 * Internal helpers shared by every subsystem: status/error reporting,
 * allocation through the user's hooks, logging, params-struct handling.
 * Depends on libc only. Internal extern symbols use the `medner__` prefix so a
 * static link cannot collide with the host's symbols.
 */
#ifndef MEDNER_COMMON_H
#define MEDNER_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "medner.h"
#include "common/struct_sizes.h"

#if defined(__GNUC__)
#  define MEDNER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define MEDNER_PRINTF(a, b)
#endif

/* ---- errors ------------------------------------------------------------- */

/* Record a detail message for the calling thread and return `status`, so
 * failures read `return medner__fail(MEDNER_E_PARSE, "%s:%d: ...", ...);`.
 * Messages must never contain input text. */
int medner__fail(int status, const char *fmt, ...) MEDNER_PRINTF(2, 3);

/* ---- allocation --------------------------------------------------------- */

/* All return NULL on failure (or when the user's hook fails) and never
 * record an error themselves; callers report MEDNER_E_OUT_OF_MEMORY. */
void *medner__malloc(size_t size);
void *medner__calloc(size_t count, size_t size);
void *medner__realloc(void *ptr, size_t size);
void medner__free(void *ptr);
/* size bytes at a 64-byte boundary (SIMD loads that require it): *raw
 * receives the block to give medner__free (NULL when this returns NULL). */
void *medner__malloc_aligned64(size_t size, void **raw);
char *medner__strndup(const char *s, size_t n);
/* Number of medner__malloc'd blocks not yet freed (for leak checks in tests
 * and to refuse an allocator change while objects are alive). */
long medner__live_allocations(void);

/* Overflow-checked size arithmetic: return 0 and set *out, or -1 on overflow. */
static inline int medner__mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

/* ---- logging ------------------------------------------------------------ */

void medner__log(medner_log_level level, const char *fmt, ...) MEDNER_PRINTF(2, 3);

/* ---- params structs ----------------------------------------------------- */

/* Copy a caller's params struct into `dst` (already holding defaults from a
 * zeroed struct of the library's size), following copy_struct_from_user:
 * - src == NULL: keep dst as is (all defaults), return MEDNER_OK;
 * - src->struct_size < min_size (the size of the first published version) or
 *   not a multiple of the alignment: MEDNER_E_INVALID_ARGUMENT;
 * - a larger struct from a newer header: accepted only if the bytes we do not
 *   know are all zero (the caller asked for nothing we cannot do).
 * `what` names the struct in the error message. */
int medner__params_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                        const char *what);

/* ---- files ------------------------------------------------------------- */

/* Read a whole file into a NUL-terminated buffer from medner__malloc (the NUL
 * is not counted in *len). MEDNER_E_IO names the path and the OS error;
 * files above `max_len` bytes fail with MEDNER_E_LIMIT. */
int medner__read_file(const char *path, size_t max_len, char **data, size_t *len);
/* Open `path` for reading if it is a regular file (stat first, open with
 * O_NONBLOCK, fstat again): a FIFO, device, socket or directory is
 * MEDNER_E_IO naming what it is. On success *fd and *st describe the file. */
struct stat;
int medner__open_regular(const char *path, int *fd, struct stat *st);
/* 1 if something other than a directory exists at `path` (a FIFO or device
 * counts, so that the reader refuses it by name rather than treating the
 * file as absent), else 0. */
int medner__file_exists(const char *path);
/* dir + "/" + name in a medner__malloc'd string, or NULL when out of memory. */
char *medner__path_join(const char *dir, const char *name);

#define MEDNER_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Plausibility limits of thread and batch counts in params structs and
 * pipeline configs (docs/errors.md): above them a value is a mistake, not a
 * request. 4096 windows per encoder call is far past where batching stops
 * paying on a CPU, and keeps windows x positions x width (2^12 x 2^20 x
 * 2^20 floats) far from overflowing a size_t. */
#define MEDNER__MAX_THREADS ((unsigned)MEDNER_MAX_THREADS)
#define MEDNER__MAX_BATCH_SIZE ((unsigned)MEDNER_MAX_BATCH_SIZE)

#endif /* MEDNER_COMMON_H */
