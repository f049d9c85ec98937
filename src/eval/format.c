/*
 * The evaluation report as JSON and as seqeval's classification_report text
 * table; see eval.h.
 *
 * seqeval's StringReporter formats each row with
 *     '{:>{width}s} ' + ' {:>9.{digits}f}' * 3 + ' {:>9}'
 * and the header with '{:>{width}s} ' + ' {:>9}' * 4, where width is
 * max(longest type name, len('weighted avg'), digits); Python counts the
 * name in code points. Rows are joined with '\n' after the header and a
 * blank line, with a blank row after the types and after the averages.
 * Python's '.{d}f' and glibc's "%.*f" both round the exact binary value
 * correctly (ties to even), so printf in the C locale gives the same digits.
 */
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "eval/eval.h"

/* printf("%f") uses LC_NUMERIC's decimal point; format in the C locale,
 * switched for the calling thread only (as json.c does). glibc returns a
 * static object for newlocale(LC_ALL_MASK, "C"). */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Undo a partial append so a failing call leaves the buffer as it was. */
static int restore(medner__buf *buf, size_t len, int rc)
{
    if (buf->data != NULL) {
        buf->len = len;
        buf->data[len] = '\0';
    }
    return rc;
}

static int json_scores(medner__buf *b, const medner__eval_scores *s, const size_t *predicted,
                       const size_t *correct)
{
    int rc = medner__buf_append_str(b, "{\"precision\":");
    rc = rc ? rc : medner__buf_json_double(b, s->precision);
    rc = rc ? rc : medner__buf_append_str(b, ",\"recall\":");
    rc = rc ? rc : medner__buf_json_double(b, s->recall);
    rc = rc ? rc : medner__buf_append_str(b, ",\"f1\":");
    rc = rc ? rc : medner__buf_json_double(b, s->f1);
    rc = rc ? rc : medner__buf_printf(b, ",\"support\":%zu", s->support);
    if (predicted != NULL)
        rc = rc ? rc : medner__buf_printf(b, ",\"predicted\":%zu,\"correct\":%zu", *predicted,
                                          *correct);
    return rc ? rc : medner__buf_putc(b, '}');
}

int medner__eval_report_json(medner__buf *buf, const medner__eval_report *r)
{
    if (buf == NULL || r == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__eval_report_json: %s is NULL",
                            buf == NULL ? "buf" : "report");
    size_t len0 = buf->len;
    int rc = medner__buf_append_str(buf, "{\"per_type\":{");
    for (size_t k = 0; k < r->num_types && !rc; k++) {
        const medner__eval_type *t = &r->types[k];
        if (k)
            rc = medner__buf_putc(buf, ',');
        rc = rc ? rc : medner__buf_json_string(buf, t->name, strlen(t->name));
        rc = rc ? rc : medner__buf_putc(buf, ':');
        rc = rc ? rc : json_scores(buf, &t->scores, &t->predicted, &t->correct);
    }
    rc = rc ? rc : medner__buf_append_str(buf, "},\"micro\":");
    rc = rc ? rc : json_scores(buf, &r->micro, &r->predicted, &r->correct);
    rc = rc ? rc : medner__buf_append_str(buf, ",\"macro\":");
    rc = rc ? rc : json_scores(buf, &r->macro, NULL, NULL);
    rc = rc ? rc : medner__buf_append_str(buf, ",\"weighted\":");
    rc = rc ? rc : json_scores(buf, &r->weighted, NULL, NULL);
    rc = rc ? rc : medner__buf_putc(buf, '}');
    if (rc != MEDNER_OK)
        return restore(buf, len0, medner__fail(rc, "out of memory writing an evaluation report"));
    return MEDNER_OK;
}

/* Code points in a UTF-8 string (what Python's len() counts). */
static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int pad(medner__buf *b, size_t n)
{
    int rc = medner__buf_reserve(b, n);
    for (size_t k = 0; k < n && !rc; k++)
        rc = medner__buf_putc(b, ' ');
    return rc;
}

/* One row: '{:>{width}s} ' + ' {:>9.{digits}f}' * 3 + ' {:>9}' */
static int text_row(medner__buf *b, size_t width, int digits, const char *name,
                    const medner__eval_scores *s)
{
    size_t cp = code_points(name);
    int rc = pad(b, width > cp ? width - cp : 0);
    rc = rc ? rc : medner__buf_append_str(b, name);
    rc = rc ? rc : medner__buf_putc(b, ' ');
    rc = rc ? rc : medner__buf_printf(b, " %9.*f %9.*f %9.*f %9zu", digits, s->precision, digits,
                                      s->recall, digits, s->f1, s->support);
    return rc;
}

int medner__eval_report_text(medner__buf *buf, const medner__eval_report *r, int digits)
{
    if (buf == NULL || r == NULL || digits < 0 || digits > 17)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__eval_report_text: %s",
                            buf == NULL ? "buf is NULL"
                            : r == NULL ? "report is NULL"
                                        : "digits must be between 0 and 17");
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale == (locale_t)0)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY,
                            "out of memory (creating the C locale for numbers)");
    size_t width = 12; /* len('weighted avg') */
    for (size_t k = 0; k < r->num_types; k++) {
        size_t cp = code_points(r->types[k].name);
        if (cp > width)
            width = cp;
    }
    if ((size_t)digits > width)
        width = (size_t)digits;

    size_t len0 = buf->len;
    locale_t saved = uselocale(c_locale);
    int rc = pad(buf, width);
    rc = rc ? rc : medner__buf_printf(buf, "  %9s %9s %9s %9s\n\n", "precision", "recall",
                                      "f1-score", "support");
    for (size_t k = 0; k < r->num_types && !rc; k++) {
        rc = text_row(buf, width, digits, r->types[k].name, &r->types[k].scores);
        rc = rc ? rc : medner__buf_putc(buf, '\n');
    }
    rc = rc ? rc : medner__buf_putc(buf, '\n');
    rc = rc ? rc : text_row(buf, width, digits, "micro avg", &r->micro);
    rc = rc ? rc : medner__buf_putc(buf, '\n');
    rc = rc ? rc : text_row(buf, width, digits, "macro avg", &r->macro);
    rc = rc ? rc : medner__buf_putc(buf, '\n');
    rc = rc ? rc : text_row(buf, width, digits, "weighted avg", &r->weighted);
    rc = rc ? rc : medner__buf_putc(buf, '\n');
    uselocale(saved);
    if (rc != MEDNER_OK)
        return restore(buf, len0, medner__fail(rc, "out of memory writing an evaluation report"));
    return MEDNER_OK;
}
