/* Unit tests for src/common: version, status strings, thread-local errors,
 * logging, allocator hooks, params-struct copying. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* ---- files: only regular files are read ---------------------------------- */

/* A FIFO with no writer: the old reader blocked in open() forever. The alarm
 * turns such a hang into a failed test (SIGALRM ends the process). */
static void test_read_file_refuses_non_regular(void **state)
{
    (void)state;
    char dir[64] = "/tmp/medner-common-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[128], reg[128];
    snprintf(fifo, sizeof fifo, "%s/config.json", dir);
    snprintf(reg, sizeof reg, "%s/plain.txt", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(reg, "wb");
    assert_non_null(f);
    fputs("abc", f);
    fclose(f);
    alarm(20);
    char *data = (char *)0x1;
    size_t len = 7;
    static const struct { const char *path, *kind; } cases[] = {
        { NULL, "is a FIFO; expected a regular file" },
        { "/tmp", "is a directory; expected a regular file" },
        { "/dev/null", "is a character device; expected a regular file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = cases[i].path ? cases[i].path : fifo;
        assert_int_equal(medner__read_file(path, 100, &data, &len), MEDNER_E_IO);
        assert_ptr_equal(data, (char *)0x1);
        assert_int_equal(len, 7);
        assert_non_null(strstr(medner_last_error(), path));
        if (strstr(medner_last_error(), cases[i].kind) == NULL)
            fail_msg("%s: %s", path, medner_last_error());
        int fd = -1;
        struct stat st;
        assert_int_equal(medner__open_regular(path, &fd, &st), MEDNER_E_IO);
        assert_int_equal(fd, -1);
    }
    alarm(0);
    /* a FIFO is "there" (so a loader names it rather than skipping it); a
     * directory is not */
    assert_int_equal(medner__file_exists(fifo), 1);
    assert_int_equal(medner__file_exists(dir), 0);
    assert_int_equal(medner__file_exists(reg), 1);
    /* regular files still read, with the size limit and missing files as before */
    assert_int_equal(medner__read_file(reg, 100, &data, &len), MEDNER_OK);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    medner__free(data);
    assert_int_equal(medner__read_file(reg, 2, &data, &len), MEDNER_E_LIMIT);
    snprintf(reg + strlen(dir), sizeof reg - strlen(dir), "/missing");
    assert_int_equal(medner__read_file(reg, 100, &data, &len), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "cannot open"));
    assert_int_equal(unlink(fifo), 0);
    snprintf(reg, sizeof reg, "%s/plain.txt", dir);
    assert_int_equal(unlink(reg), 0);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_version(void **state)
{
    (void)state;
    /* Independent sources: the numeric macros, and the Makefile's VERSION
     * (the library file name libmedner.so.$(VERSION); passed as
     * -DMEDNER_MAKE_VERSION by TEST_CFLAGS). */
    char from_macros[32];
    snprintf(from_macros, sizeof from_macros, "%d.%d.%d", MEDNER_VERSION_MAJOR,
             MEDNER_VERSION_MINOR, MEDNER_VERSION_PATCH);
    assert_string_equal(medner_version(), from_macros);
    assert_string_equal(MEDNER_VERSION_STRING, from_macros);
    assert_int_equal(medner_version_number(), MEDNER_VERSION_MAJOR * 10000 +
                                                  MEDNER_VERSION_MINOR * 100 +
                                                  MEDNER_VERSION_PATCH);
    assert_string_equal(MEDNER_MAKE_VERSION, medner_version()); /* -D by the Makefile */
}

static void test_status_values_are_fixed(void **state)
{
    (void)state;
    /* These numbers are ABI: changing one breaks every compiled caller. */
    assert_int_equal(MEDNER_OK, 0);
    assert_int_equal(MEDNER_E_INVALID_ARGUMENT, -1);
    assert_int_equal(MEDNER_E_OUT_OF_MEMORY, -2);
    assert_int_equal(MEDNER_E_IO, -3);
    assert_int_equal(MEDNER_E_PARSE, -4);
    assert_int_equal(MEDNER_E_INVALID_UTF8, -5);
    assert_int_equal(MEDNER_E_UNSUPPORTED, -6);
    assert_int_equal(MEDNER_E_INVALID_MODEL, -7);
    assert_int_equal(MEDNER_E_INVALID_CONFIG, -8);
    assert_int_equal(MEDNER_E_LIMIT, -9);
    assert_int_equal(MEDNER_E_BUSY, -10);
    assert_int_equal(MEDNER_E_INTERNAL, -11);
}

static void test_status_str(void **state)
{
    (void)state;
    assert_string_equal(medner_status_str(MEDNER_OK), "ok");
    assert_string_equal(medner_status_str(MEDNER_E_INVALID_UTF8), "invalid UTF-8");
    assert_string_equal(medner_status_str(1), "unknown status");
    assert_string_equal(medner_status_str(-12345), "unknown status");
    /* every defined code has its own text */
    for (int a = MEDNER_E_INTERNAL; a <= MEDNER_OK; a++)
        for (int b = a + 1; b <= MEDNER_OK; b++)
            assert_string_not_equal(medner_status_str(a), medner_status_str(b));
}

static void *set_error_in_thread(void *arg)
{
    (void)arg;
    assert_string_equal(medner_last_error(), ""); /* fresh thread: no error */
    medner__fail(MEDNER_E_IO, "thread-local message %d", 2);
    assert_string_equal(medner_last_error(), "thread-local message 2");
    return NULL;
}

static void test_last_error_is_thread_local(void **state)
{
    (void)state;
    assert_int_equal(medner__fail(MEDNER_E_PARSE, "%s:%d:%d: expected %s", "f.json", 3, 7, "':'"),
                     MEDNER_E_PARSE);
    assert_string_equal(medner_last_error(), "f.json:3:7: expected ':'");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, set_error_in_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_string_equal(medner_last_error(), "f.json:3:7: expected ':'");
}

static void test_last_error_truncates_long_messages(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    medner__fail(MEDNER_E_INTERNAL, "%s", big);
    size_t n = strlen(medner_last_error());
    assert_true(n > 100 && n < sizeof big);
}

typedef struct log_capture {
    int calls;
    medner_log_level level;
    char msg[256];
} log_capture;

static void capture_log(medner_log_level level, const char *message, void *user)
{
    log_capture *c = user;
    c->calls++;
    c->level = level;
    snprintf(c->msg, sizeof c->msg, "%s", message);
}

static void test_log_callback(void **state)
{
    (void)state;
    log_capture c = { 0 };
    medner__log(MEDNER_LOG_ERROR, "nobody listens"); /* silent default: no crash, no output */
    assert_int_equal(medner_log_set_callback(capture_log, MEDNER_LOG_WARN, &c), MEDNER_OK);
    medner__log(MEDNER_LOG_WARN, "warn %d", 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, MEDNER_LOG_WARN);
    assert_string_equal(c.msg, "warn 1");
    medner__log(MEDNER_LOG_DEBUG, "filtered");
    assert_int_equal(c.calls, 1);
    assert_int_equal(medner_log_set_callback(capture_log, (medner_log_level)7, &c),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_log_set_callback(NULL, MEDNER_LOG_DEBUG, NULL), MEDNER_OK);
    medner__log(MEDNER_LOG_ERROR, "silent again");
    assert_int_equal(c.calls, 1);
}

/* Counting allocator that fails the Nth allocation (fault injection). */
typedef struct counting {
    long allocs, frees, fail_at;
} counting;

static void *count_alloc(void *u, size_t n)
{
    counting *c = u;
    if (++c->allocs == c->fail_at)
        return NULL;
    return malloc(n);
}
static void *count_realloc(void *u, void *p, size_t n)
{
    counting *c = u;
    if (++c->allocs == c->fail_at)
        return NULL;
    return realloc(p, n);
}
static void count_free(void *u, void *p)
{
    ((counting *)u)->frees++;
    free(p);
}

static void test_allocator_hooks(void **state)
{
    (void)state;
    counting c = { 0, 0, 3 };
    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    a.alloc_fn = count_alloc;
    a.realloc_fn = count_realloc;
    a.free_fn = count_free;
    a.user_data = &c;
    assert_int_equal(medner_allocator_set(&a), MEDNER_OK);
    void *p1 = medner__malloc(10);
    char *p2 = medner__strndup("abc", 3);
    void *p3 = medner__malloc(10); /* third allocation fails */
    assert_non_null(p1);
    assert_string_equal(p2, "abc");
    assert_null(p3);
    assert_int_equal(medner__live_allocations(), 2);
    /* cannot switch allocators while blocks are alive */
    assert_int_equal(medner_allocator_set(NULL), MEDNER_E_BUSY);
    assert_non_null(strstr(medner_last_error(), "still alive"));
    medner__free(p1);
    medner__free(p2);
    medner__free(NULL);
    assert_int_equal(c.frees, 2);
    assert_int_equal(medner__live_allocations(), 0);
    assert_null(medner__calloc(SIZE_MAX / 2, 4)); /* overflow, not a wrap-around */
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

static void test_allocator_rejects_bad_structs(void **state)
{
    (void)state;
    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    assert_int_equal(medner_allocator_set(&a), MEDNER_E_INVALID_ARGUMENT); /* no functions */
    a.alloc_fn = count_alloc;
    a.realloc_fn = count_realloc;
    a.free_fn = count_free;
    a.struct_size = 8; /* older than the first published version */
    assert_int_equal(medner_allocator_set(&a), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "struct_size"));
}

/* v2 appends after v1's end; v1 has no tail padding, so no v2 field can sit
 * where an old caller left uninitialised padding bytes. */
typedef struct demo_params_v1 {
    size_t struct_size;
    int a;
    int unused;
} demo_params_v1;
typedef struct demo_params_v2 {
    size_t struct_size;
    int a;
    int unused;
    int b;
    double c;
} demo_params_v2;

/* medner__malloc_aligned64: 64-byte aligned, the whole size usable, one
 * block to free; an impossible size fails cleanly. */
static void test_malloc_aligned64(void **state)
{
    (void)state;
    long live = medner__live_allocations();
    for (size_t size = 1; size < 300; size += 37) {
        void *raw = NULL;
        unsigned char *p = medner__malloc_aligned64(size, &raw);
        assert_non_null(p);
        assert_non_null(raw);
        assert_int_equal((uintptr_t)p % 64, 0);
        assert_true(p >= (unsigned char *)raw && p < (unsigned char *)raw + 64);
        memset(p, 0xab, size);
        medner__free(raw);
    }
    void *raw = (void *)1;
    assert_null(medner__malloc_aligned64(SIZE_MAX - 10, &raw));
    assert_null(raw);
    assert_int_equal(medner__live_allocations(), live);
}

static void test_params_copy(void **state)
{
    (void)state;
    demo_params_v2 dst = { 0 };
    /* NULL: defaults untouched */
    dst.b = 5;
    assert_int_equal(medner__params_copy(&dst, sizeof dst, NULL, sizeof(demo_params_v1), "p"),
                     MEDNER_OK);
    assert_int_equal(dst.b, 5);
    /* an older, smaller struct: known fields copied, the rest keep defaults */
    demo_params_v1 old = { sizeof old, 7, 0 };
    memset(&dst, 0, sizeof dst);
    assert_int_equal(medner__params_copy(&dst, sizeof dst, &old, sizeof old, "p"), MEDNER_OK);
    assert_int_equal(dst.a, 7);
    assert_int_equal(dst.b, 0);
    assert_int_equal(dst.struct_size, sizeof dst);
    /* a newer, larger struct with zero tail: fine */
    struct { demo_params_v2 v2; double extra; } newer = { { sizeof newer, 1, 0, 2, 3.0 }, 0.0 };
    memset(&dst, 0, sizeof dst);
    assert_int_equal(medner__params_copy(&dst, sizeof dst, &newer, sizeof old, "p"), MEDNER_OK);
    assert_int_equal(dst.b, 2);
    /* ... but a non-zero unknown field is refused */
    newer.extra = 1.0;
    assert_int_equal(medner__params_copy(&dst, sizeof dst, &newer, sizeof old, "p"),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "newer medner"));
    /* garbage sizes */
    old.struct_size = 0;
    assert_int_equal(medner__params_copy(&dst, sizeof dst, &old, sizeof old, "p"),
                     MEDNER_E_INVALID_ARGUMENT);
    old.struct_size = sizeof old + 1;
    assert_int_equal(medner__params_copy(&dst, sizeof dst, &old, sizeof old, "p"),
                     MEDNER_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file_refuses_non_regular),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_status_values_are_fixed),
        cmocka_unit_test(test_status_str),
        cmocka_unit_test(test_last_error_is_thread_local),
        cmocka_unit_test(test_last_error_truncates_long_messages),
        cmocka_unit_test(test_log_callback),
        cmocka_unit_test(test_allocator_hooks),
        cmocka_unit_test(test_allocator_rejects_bad_structs),
        cmocka_unit_test(test_malloc_aligned64),
        cmocka_unit_test(test_params_copy),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
