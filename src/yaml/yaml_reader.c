/*
 * The strict libyaml event reader (yaml_reader.h). The event API never
 * expands aliases and no tree is built, so memory stays proportional to the
 * file; anchors, aliases and tags are refused anyway: neither format has a
 * use for them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yaml/yaml_reader.h"

void medner__yaml_init(medner__yaml_reader *y, const medner__yaml_dialect *d, const char *name,
                       const char *text, size_t len)
{
    memset(y, 0, sizeof *y);
    y->d = d;
    y->name = name;
    y->text = (const unsigned char *)text;
    y->len = len;
    /* libyaml would skip a byte order mark only when detecting the encoding
     * itself, and would then also accept UTF-16; strip it here and force
     * UTF-8. Marks are the same either way (a BOM is not a column); byte
     * offsets are reported in the file. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        y->text += 3;
        y->len -= 3;
        y->bom = 3;
    }
}

int medner__yaml_error(const medner__yaml_reader *y, int status, size_t line, size_t column,
                       const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return medner__fail(status, "%s:%zu:%zu: %s", y->name, line + 1, column + 1, msg);
}

static int parser_oom(const medner__yaml_reader *y)
{
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory%s", y->name,
                        y->d->parser_oom);
}

/* libyaml's reader errors carry a byte offset but no line/column: count them
 * the way libyaml does (columns in characters). */
static yaml_mark_t mark_at_offset(const medner__yaml_reader *y, size_t offset)
{
    yaml_mark_t m = { offset, 0, 0 };
    for (size_t i = 0; i < offset && i < y->len; i++) {
        unsigned char c = y->text[i];
        if (c == '\n' || (c == '\r' && (i + 1 == y->len || y->text[i + 1] != '\n'))) {
            m.line++; /* LF, CR LF, or a lone CR */
            m.column = 0;
        } else if ((c & 0xC0) != 0x80) {
            m.column++;
        }
    }
    return m;
}

static int yaml_failure(const medner__yaml_reader *y)
{
    const yaml_parser_t *p = &y->yp;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    int status = y->d->syntax_status;
    if (p->error == YAML_MEMORY_ERROR)
        return parser_oom(y);
    if (p->error == YAML_READER_ERROR) {
        yaml_mark_t m = mark_at_offset(y, p->problem_offset);
        if (y->d->byte_offsets)
            return medner__yaml_error(y, status, m.line, m.column,
                                      "YAML syntax error: %s (byte offset %zu)", problem,
                                      p->problem_offset + y->bom);
        return medner__yaml_error(y, status, m.line, m.column, "YAML syntax error: %s", problem);
    }
    if (p->context)
        return medner__yaml_error(y, status, p->problem_mark.line, p->problem_mark.column,
                                  "YAML syntax error: %s (%s at %zu:%zu)", problem, p->context,
                                  p->context_mark.line + 1, p->context_mark.column + 1);
    return medner__yaml_error(y, status, p->problem_mark.line, p->problem_mark.column,
                              "YAML syntax error: %s", problem);
}

static int parser_start(medner__yaml_reader *y)
{
    if (!yaml_parser_initialize(&y->yp))
        return parser_oom(y);
    yaml_parser_set_input_string(&y->yp, y->text, y->len);
    yaml_parser_set_encoding(&y->yp, YAML_UTF8_ENCODING);
    return MEDNER_OK;
}

/* Pass 1: is it YAML, and not nested too deeply? */
static int check_syntax(medner__yaml_reader *y)
{
    int rc = parser_start(y);
    if (rc != MEDNER_OK)
        return rc;
    int depth = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&y->yp, &ev)) {
            rc = yaml_failure(y);
            break;
        }
        yaml_event_type_t type = ev.type;
        yaml_mark_t m = ev.start_mark;
        yaml_event_delete(&ev);
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > y->d->max_depth) {
                rc = medner__yaml_error(y, y->d->depth_status, m.line, m.column,
                                        "collections nested deeper than %d levels",
                                        y->d->max_depth);
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (type == YAML_STREAM_END_EVENT) {
            break;
        }
    }
    yaml_parser_delete(&y->yp);
    return rc;
}

int medner__yaml_open(medner__yaml_reader *y)
{
    int rc = check_syntax(y);
    if (rc == MEDNER_OK)
        rc = parser_start(y);
    return rc;
}

void medner__yaml_close(medner__yaml_reader *y)
{
    yaml_parser_delete(&y->yp);
}

int medner__yaml_next(medner__yaml_reader *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->yp, ev))
        return yaml_failure(y);
    const char *what = NULL;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        what = "aliases (*name)";
        break;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        break;
    }
    if (anchor)
        what = "anchors (&name)";
    else if (tag)
        what = "tags (!tag)";
    if (what) {
        yaml_mark_t m = ev->start_mark;
        yaml_event_delete(ev);
        return medner__yaml_error(y, y->d->invalid_status, m.line, m.column,
                                  "%s are not supported in %s", what, y->d->noun);
    }
    return MEDNER_OK;
}

/* ---- YAML 1.2 core schema resolution of plain scalars ------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int all_of(const char *s, size_t len, const char *set)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return 0;
    return 1;
}

static int is_one_of(const char *s, size_t len, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0)
            return 1;
    return 0;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE][-+]?[0-9]+ )? */
static int is_core_float(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < len && is_digit(s[i]))
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e = 0;
        while (i < len && is_digit(s[i]))
            i++, e++;
        if (e == 0)
            return 0;
    }
    return i == len;
}

medner__yaml_kind medner__yaml_classify_plain(const char *s, size_t len)
{
    static const char *const nulls[] = { "null", "Null", "NULL", "~" };
    static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE" };
    static const char *const specials[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                            "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN" };
    if (len == 0 || is_one_of(s, len, nulls, MEDNER_ARRAY_LEN(nulls)))
        return MEDNER__YAML_NULL;
    if (is_one_of(s, len, bools, MEDNER_ARRAY_LEN(bools)))
        return MEDNER__YAML_BOOL;
    size_t sign = (s[0] == '-' || s[0] == '+');
    if (all_of(s + sign, len - sign, "0123456789"))
        return MEDNER__YAML_INT;
    if (len > 2 && s[0] == '0' && s[1] == 'o' && all_of(s + 2, len - 2, "01234567"))
        return MEDNER__YAML_INT;
    if (len > 2 && s[0] == '0' && s[1] == 'x' &&
        all_of(s + 2, len - 2, "0123456789abcdefABCDEF"))
        return MEDNER__YAML_INT;
    if (is_core_float(s, len) || is_one_of(s, len, specials, MEDNER_ARRAY_LEN(specials)))
        return MEDNER__YAML_FLOAT;
    return MEDNER__YAML_STR;
}

medner__yaml_kind medner__yaml_scalar_kind(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return MEDNER__YAML_STR;
    return medner__yaml_classify_plain((const char *)ev->data.scalar.value,
                                       ev->data.scalar.length);
}

void medner__yaml_excerpt(char *dst, size_t cap, const unsigned char *s, size_t len)
{
    size_t n = 0, limit = cap - 4 < 40 ? cap - 4 : 40, i = 0;
    for (; i < len && n < limit; i++) {
        unsigned char c = s[i];
        if (c >= 0xC0) {
            /* copy whole multi-byte characters only (libyaml has validated
             * the UTF-8) */
            size_t clen = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (i + clen > len || n + clen > limit)
                break;
            memcpy(dst + n, s + i, clen);
            n += clen;
            i += clen - 1;
            continue;
        }
        dst[n++] = c < 0x20 || c >= 0x7F ? '?' : (char)c;
    }
    if (i < len) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

/* "found ..." part of a message. */
static void describe(const medner__yaml_reader *y, const yaml_event_t *ev, char *buf, size_t cap)
{
    char ex[48];
    switch (ev->type) {
    case YAML_SEQUENCE_START_EVENT:
        snprintf(buf, cap, "a list");
        return;
    case YAML_MAPPING_START_EVENT:
        snprintf(buf, cap, "a mapping");
        return;
    case YAML_SCALAR_EVENT:
        break;
    default:
        snprintf(buf, cap, "nothing");
        return;
    }
    medner__yaml_excerpt(ex, sizeof ex, ev->data.scalar.value, ev->data.scalar.length);
    if (y->d->describe_styles) {
        switch (ev->data.scalar.style) {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
            snprintf(buf, cap, "the quoted string \"%s\"", ex);
            return;
        case YAML_LITERAL_SCALAR_STYLE:
        case YAML_FOLDED_SCALAR_STYLE:
            snprintf(buf, cap, "a block string");
            return;
        default:
            break;
        }
    }
    switch (medner__yaml_scalar_kind(ev)) {
    case MEDNER__YAML_NULL:
        snprintf(buf, cap, "null");
        return;
    case MEDNER__YAML_STR:
        snprintf(buf, cap, "\"%s\"", ex);
        return;
    default:
        snprintf(buf, cap, "%s", ex);
        return;
    }
}

int medner__yaml_type_error(const medner__yaml_reader *y, yaml_event_t *ev, const char *subject,
                            const char *expected)
{
    char found[96];
    describe(y, ev, found, sizeof found);
    yaml_mark_t m = ev->start_mark;
    yaml_event_delete(ev);
    return medner__yaml_error(y, y->d->invalid_status, m.line, m.column,
                              "%s must be %s; found %s", subject, expected, found);
}

int medner__yaml_list_begin(medner__yaml_reader *y, const char *subject, const char *expected,
                            yaml_mark_t *start)
{
    yaml_event_t ev;
    int rc = medner__yaml_next(y, &ev);
    if (rc != MEDNER_OK)
        return rc;
    if (ev.type != YAML_SEQUENCE_START_EVENT)
        return medner__yaml_type_error(y, &ev, subject, expected);
    *start = ev.start_mark;
    yaml_event_delete(&ev);
    return MEDNER_OK;
}

int medner__yaml_list_item(medner__yaml_reader *y, yaml_event_t *ev)
{
    int rc = medner__yaml_next(y, ev);
    if (rc != MEDNER_OK)
        return rc;
    if (ev->type == YAML_SEQUENCE_END_EVENT) {
        yaml_event_delete(ev);
        return 0;
    }
    return 1;
}
