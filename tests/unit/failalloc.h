/* Test helper: an allocator hook that fails the Nth allocation (fault
 * injection through medner_allocator_set). */
#ifndef MEDNER_TEST_FAILALLOC_H
#define MEDNER_TEST_FAILALLOC_H

#include <stdlib.h>

#include "medner.h"

typedef struct failing {
    long count;   /* allocations seen since the last reset */
    long fail_at; /* the allocation that returns NULL (0: none) */
} failing;

static inline void *failing_alloc(void *u, size_t n)
{
    failing *f = u;
    return ++f->count == f->fail_at ? NULL : malloc(n);
}

static inline void *failing_realloc(void *u, void *p, size_t n)
{
    failing *f = u;
    return ++f->count == f->fail_at ? NULL : realloc(p, n);
}

static inline void failing_free(void *u, void *p)
{
    (void)u;
    free(p);
}

/* Install the failing allocator; medner must hold no memory (MEDNER_OK). */
static inline int failing_install(failing *f)
{
    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    a.alloc_fn = failing_alloc;
    a.realloc_fn = failing_realloc;
    a.free_fn = failing_free;
    a.user_data = f;
    return medner_allocator_set(&a);
}

#endif
