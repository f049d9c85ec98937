/* Allocation through the process-wide allocator hooks. Every block carries
 * a header of MEDNER__ALLOC_HEADER bytes in front of what the caller gets,
 * holding the size asked for, so that medner_memory_used() can count bytes
 * (the header keeps the hook's 16-byte alignment). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void *libc_alloc(void *u, size_t n) { (void)u; return malloc(n); }
static void *libc_realloc(void *u, void *p, size_t n) { (void)u; return realloc(p, n); }
static void libc_free(void *u, void *p) { (void)u; free(p); }

#define LIBC_ALLOCATOR                                                              \
    { .struct_size = sizeof(medner_allocator), .alloc_fn = libc_alloc,              \
      .realloc_fn = libc_realloc, .free_fn = libc_free, .user_data = NULL }

static medner_allocator current = LIBC_ALLOCATOR;
static atomic_long live_blocks;
static atomic_size_t bytes_used, bytes_high;

#define MEDNER__ALLOC_HEADER 16u

/* bytes_used += add - sub (add >= 0, sub <= bytes_used), then the high-water. */
static void count_bytes(size_t add, size_t sub)
{
    size_t now;
    if (add >= sub)
        now = atomic_fetch_add(&bytes_used, add - sub) + (add - sub);
    else
        now = atomic_fetch_sub(&bytes_used, sub - add) - (sub - add);
    size_t high = atomic_load(&bytes_high);
    while (now > high && !atomic_compare_exchange_weak(&bytes_high, &high, now))
        ;
}

size_t medner_memory_used(void)
{
    return atomic_load(&bytes_used);
}

size_t medner_memory_highwater(int reset)
{
    size_t high = atomic_load(&bytes_high);
    if (reset)
        atomic_store(&bytes_high, atomic_load(&bytes_used));
    return high;
}

long medner__live_allocations(void)
{
    return atomic_load(&live_blocks);
}

int medner_allocator_set(const medner_allocator *allocator)
{
    medner_allocator next = LIBC_ALLOCATOR;
    if (allocator != NULL) {
        medner_allocator tmp = { 0 };
        int rc = medner__params_copy(&tmp, sizeof tmp, allocator,
                                     MEDNER__SIZE_V0_1_ALLOCATOR, "medner_allocator");
        if (rc != MEDNER_OK)
            return rc;
        if (!tmp.alloc_fn || !tmp.realloc_fn || !tmp.free_fn)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_allocator_set: alloc_fn, realloc_fn and free_fn are all "
                                "required");
        next = tmp;
    }
    if (atomic_load(&live_blocks) != 0)
        return medner__fail(MEDNER_E_BUSY,
                            "medner_allocator_set: %ld blocks allocated by medner are still "
                            "alive; free every medner object first",
                            atomic_load(&live_blocks));
    current = next;
    return MEDNER_OK;
}

void *medner__malloc(size_t size)
{
    size = size ? size : 1;
    if (size > SIZE_MAX - MEDNER__ALLOC_HEADER)
        return NULL;
    unsigned char *raw = current.alloc_fn(current.user_data, size + MEDNER__ALLOC_HEADER);
    if (raw == NULL)
        return NULL;
    memcpy(raw, &size, sizeof size);
    atomic_fetch_add(&live_blocks, 1);
    count_bytes(size, 0);
    return raw + MEDNER__ALLOC_HEADER;
}

void *medner__malloc_aligned64(size_t size, void **raw)
{
    *raw = size <= SIZE_MAX - 64 ? medner__malloc(size + 64) : NULL;
    return *raw ? (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63) : NULL;
}

void *medner__calloc(size_t count, size_t size)
{
    size_t total;
    if (medner__mul_size(count, size, &total) != 0)
        return NULL;
    void *p = medner__malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *medner__realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return medner__malloc(size);
    size = size ? size : 1;
    if (size > SIZE_MAX - MEDNER__ALLOC_HEADER)
        return NULL;
    unsigned char *raw = (unsigned char *)ptr - MEDNER__ALLOC_HEADER;
    size_t old;
    memcpy(&old, raw, sizeof old);
    raw = current.realloc_fn(current.user_data, raw, size + MEDNER__ALLOC_HEADER);
    if (raw == NULL)
        return NULL; /* the old block stays valid, and counted */
    memcpy(raw, &size, sizeof size);
    count_bytes(size, old);
    return raw + MEDNER__ALLOC_HEADER;
}

void medner__free(void *ptr)
{
    if (ptr == NULL)
        return;
    unsigned char *raw = (unsigned char *)ptr - MEDNER__ALLOC_HEADER;
    size_t size;
    memcpy(&size, raw, sizeof size);
    atomic_fetch_sub(&live_blocks, 1);
    atomic_fetch_sub(&bytes_used, size);
    current.free_fn(current.user_data, raw);
}

char *medner__strndup(const char *s, size_t n)
{
    char *d = medner__malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
