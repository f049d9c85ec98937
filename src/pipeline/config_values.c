/*
 * Typed values of the YAML pipeline configuration: the reader half of
 * src/pipeline/config.c (issue 19, item 7). Given the strict event reader
 * (src/yaml/yaml_reader.h), these read one scalar as a string, path,
 * unsigned integer, boolean or score, with the YAML 1.2 core schema's
 * number syntax (in the C locale) and file:line:column errors. What the keys
 * mean -- the schema -- is config.c's.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config_values.h"

/* ---- numbers ---------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Value of a MEDNER__YAML_INT scalar; *neg set for a negative non-zero value, *big when
 * the magnitude does not fit in 64 bits. */
static uint64_t int_value(const char *s, size_t len, int *neg, int *big)
{
    unsigned base = 10;
    size_t i = 0;
    *neg = 0;
    *big = 0;
    if (s[0] == '-' || s[0] == '+')
        *neg = s[i++] == '-';
    else if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        base = s[1] == 'o' ? 8 : 16;
        i = 2;
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        char c = s[i];
        unsigned d = is_digit(c) ? (unsigned)(c - '0')
                                 : (unsigned)((c | 0x20) - 'a') + 10u;
        if (v > (UINT64_MAX - d) / base) {
            *big = 1;
            v = UINT64_MAX;
            break;
        }
        v = v * base + d;
    }
    if (v == 0)
        *neg = 0;
    return v;
}

/* strtod follows LC_NUMERIC; numbers in the file always use '.', so convert
 * in the C locale whatever the host set. */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double float_value(const char *s, size_t len)
{
    if (len >= 4 && (memcmp(s + len - 4, ".inf", 4) == 0 || memcmp(s + len - 4, ".Inf", 4) == 0 ||
                     memcmp(s + len - 4, ".INF", 4) == 0))
        return s[0] == '-' ? -INFINITY : INFINITY;
    if (len >= 4 && s[len - 4] == '.' && (s[len - 3] | 0x20) == 'n')
        return NAN;
    pthread_once(&c_locale_once, c_locale_init);
    /* libyaml NUL-terminates scalar values; the syntax is already checked */
    return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

/* Next event, which must be a scalar (else a type error). */
int medner__cfg_expect_scalar(medner__cfg_values *r, yaml_event_t *ev, const char *subject,
                              const char *expected)
{
    int rc = medner__yaml_next(&r->y, ev);
    if (rc != MEDNER_OK)
        return rc;
    if (ev->type != YAML_SCALAR_EVENT)
        return medner__yaml_type_error(&r->y, ev, subject, expected);
    return MEDNER_OK;
}

/* A string scalar: quoted, block, or plain that is not null/bool/number.
 * Copied (joined to the file's directory when `is_path` and relative). */
int medner__cfg_read_string(medner__cfg_values *r, const char *subject, const char *expected,
                            int is_path, char **out)
{
    yaml_event_t ev;
    int rc = medner__cfg_expect_scalar(r, &ev, subject, expected);
    if (rc != MEDNER_OK)
        return rc;
    const char *s = (const char *)ev.data.scalar.value;
    size_t len = ev.data.scalar.length;
    if (medner__yaml_scalar_kind(&ev) != MEDNER__YAML_STR || len == 0)
        return medner__yaml_type_error(&r->y, &ev, subject, expected);
    if (memchr(s, '\0', len) != NULL) {
        yaml_mark_t m = ev.start_mark;
        yaml_event_delete(&ev);
        return medner__cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                                 "%s must not contain NUL characters",
                         subject);
    }
    size_t pre = is_path && s[0] != '/' ? r->dir_len : 0;
    char *copy = medner__malloc(pre + len + 1);
    if (copy != NULL) {
        memcpy(copy, r->path, pre);
        memcpy(copy + pre, s, len + 1);
    }
    yaml_event_delete(&ev);
    if (copy == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", r->path);
    *out = copy;
    return MEDNER_OK;
}

int medner__cfg_read_uint(medner__cfg_values *r, const char *subject, uint32_t min, uint32_t max,
                          uint32_t *out)
{
    char expected[64];
    snprintf(expected, sizeof expected, "an integer in [%u, %u]", min, max);
    yaml_event_t ev;
    int rc = medner__cfg_expect_scalar(r, &ev, subject, expected);
    if (rc != MEDNER_OK)
        return rc;
    if (medner__yaml_scalar_kind(&ev) != MEDNER__YAML_INT)
        return medner__yaml_type_error(&r->y, &ev, subject, expected);
    int neg, big;
    uint64_t v = int_value((const char *)ev.data.scalar.value, ev.data.scalar.length, &neg, &big);
    if (neg || big || v < min || v > max)
        return medner__yaml_type_error(&r->y, &ev, subject, expected);
    yaml_event_delete(&ev);
    *out = (uint32_t)v;
    return MEDNER_OK;
}

int medner__cfg_read_bool(medner__cfg_values *r, const char *subject, medner_switch *out)
{
    yaml_event_t ev;
    int rc = medner__cfg_expect_scalar(r, &ev, subject, "true or false");
    if (rc != MEDNER_OK)
        return rc;
    if (medner__yaml_scalar_kind(&ev) != MEDNER__YAML_BOOL)
        return medner__yaml_type_error(&r->y, &ev, subject, "true or false");
    *out = (ev.data.scalar.value[0] | 0x20) == 't' ? MEDNER_ON : MEDNER_OFF;
    yaml_event_delete(&ev);
    return MEDNER_OK;
}

int medner__cfg_read_score(medner__cfg_values *r, const char *subject, double *out)
{
    const char *expected = "a number in [0, 1]";
    yaml_event_t ev;
    int rc = medner__cfg_expect_scalar(r, &ev, subject, expected);
    if (rc != MEDNER_OK)
        return rc;
    medner__yaml_kind k = medner__yaml_scalar_kind(&ev);
    if (k != MEDNER__YAML_INT && k != MEDNER__YAML_FLOAT)
        return medner__yaml_type_error(&r->y, &ev, subject, expected);
    const char *s = (const char *)ev.data.scalar.value;
    size_t len = ev.data.scalar.length;
    double v;
    if (k == MEDNER__YAML_INT) {
        int neg, big;
        uint64_t u = int_value(s, len, &neg, &big);
        v = neg ? -1.0 : (double)u;
    } else {
        v = float_value(s, len);
    }
    if (!(v >= 0.0 && v <= 1.0)) /* also NaN */
        return medner__yaml_type_error(&r->y, &ev, subject, expected);
    yaml_event_delete(&ev);
    *out = v == 0.0 ? 0.0 : v; /* no -0 */
    return MEDNER_OK;
}

/* `arr` (capacity *cap, n used) with room for one more element: the same or
 * a moved block, or NULL when out of memory (then `arr` is still valid). */
void *medner__cfg_grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t want = *cap ? *cap * 2 : 8, bytes;
    if (medner__mul_size(want, elem, &bytes) != 0)
        return NULL;
    void *p = medner__realloc(arr, bytes);
    if (p != NULL)
        *cap = want;
    return p;
}
