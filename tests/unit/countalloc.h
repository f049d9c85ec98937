/* Test/bench helper: an allocator hook that counts the bytes medner holds
 * and their high-water mark (installed with countalloc_install()). */
#ifndef MEDNER_TEST_COUNTALLOC_H
#define MEDNER_TEST_COUNTALLOC_H

#include <stdlib.h>

#include "medner.h"

static size_t countalloc_in_use, countalloc_high;

static inline void *countalloc_alloc(void *u, size_t n)
{
    (void)u;
    size_t *p = malloc(n + 16);
    if (p == NULL)
        return NULL;
    p[0] = n;
    countalloc_in_use += n;
    if (countalloc_in_use > countalloc_high)
        countalloc_high = countalloc_in_use;
    return p + 2;
}

static inline void *countalloc_realloc(void *u, void *q, size_t n)
{
    (void)u;
    size_t *p = (size_t *)q - 2, old = p[0];
    size_t *r = realloc(p, n + 16);
    if (r == NULL)
        return NULL;
    r[0] = n;
    countalloc_in_use = countalloc_in_use - old + n;
    if (countalloc_in_use > countalloc_high)
        countalloc_high = countalloc_in_use;
    return r + 2;
}

static inline void countalloc_free(void *u, void *q)
{
    (void)u;
    size_t *p = (size_t *)q - 2;
    countalloc_in_use -= p[0];
    free(p);
}

/* Install the counting allocator; medner must hold no memory (MEDNER_OK). */
static inline int countalloc_install(void)
{
    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    a.alloc_fn = countalloc_alloc;
    a.realloc_fn = countalloc_realloc;
    a.free_fn = countalloc_free;
    return medner_allocator_set(&a);
}

#endif
