/*
 * Strict CoNLL reader (TOKEN<TAB>TAG lines, a blank line after each
 * sentence); see eval.h and docs/eval.md.
 *
 * The whole file is read into one buffer and split in place: each TAB and
 * line end becomes a NUL, so tokens and tags are pointers into it. One pass
 * checks and records every line; the arrays are sized from the number of
 * line feeds, an upper bound on the number of tokens, so nothing grows.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eval/eval.h"

/* Length of the well-formed UTF-8 sequence at p[0] (a byte >= 0x80) that
 * ends before `end`, or 0 with a description of the problem. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end, const char **why)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0xC2) {
        *why = c < 0xC0 ? "a UTF-8 continuation byte without a lead byte"
                        : "an overlong UTF-8 encoding";
        return 0;
    } else if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c < 0xF5) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *why = "a byte that never occurs in UTF-8";
        return 0;
    }
    if ((size_t)(end - p) < n) {
        *why = "an incomplete UTF-8 sequence";
        return 0;
    }
    if (p[1] < lo || p[1] > hi) {
        if (p[1] < 0x80 || p[1] > 0xBF)
            *why = "an incomplete UTF-8 sequence";
        else if (c == 0xED)
            *why = "a UTF-16 surrogate encoded in UTF-8";
        else if (c == 0xF4)
            *why = "a UTF-8 sequence above U+10FFFF";
        else
            *why = "an overlong UTF-8 encoding";
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if (p[k] < 0x80 || p[k] > 0xBF) {
            *why = "an incomplete UTF-8 sequence";
            return 0;
        }
    }
    return n;
}

/* Why a tag is not O / B- I- E- S- L- U- followed by a type, or NULL. The
 * message describes the tag without quoting it. */
static const char *tag_problem(const char *tag)
{
    if (tag[0] == 'O' && tag[1] == '\0')
        return NULL;
    if (strchr("BIESLU", tag[0]) == NULL)
        return "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-";
    if (tag[1] != '-')
        return tag[1] == '\0' ? "a prefix without '-TYPE'"
                              : "a tag whose prefix letter is not followed by '-'";
    if (tag[2] == '\0')
        return "a prefix with an empty type";
    return NULL;
}

typedef struct parser {
    const char *source;
    size_t line;
} parser;

/* Check the bytes of one line (without its line end): valid UTF-8, no
 * control character but TAB, no space. Returns MEDNER_OK or the failure. */
static int check_line_bytes(const parser *ps, const unsigned char *p, const unsigned char *end,
                            size_t *tabs, const unsigned char **first_tab, bool *has_space)
{
    const unsigned char *start = p;
    *tabs = 0;
    *first_tab = NULL;
    *has_space = false;
    while (p < end) {
        unsigned c = *p;
        if (c >= 0x80) {
            const char *why = NULL;
            size_t n = utf8_sequence(p, end, &why);
            if (n == 0)
                return medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: expected valid UTF-8, found %s",
                                    ps->source, ps->line, (size_t)(p - start) + 1, why);
            p += n;
            continue;
        }
        if (c == '\t') {
            if ((*tabs)++ == 0)
                *first_tab = p;
        } else if (c == ' ') {
            *has_space = true;
        } else if (c < 0x20 || c == 0x7F) {
            return medner__fail(MEDNER_E_PARSE,
                                "%s:%zu:%zu: expected TOKEN<TAB>TAG, found control character 0x%02X",
                                ps->source, ps->line, (size_t)(p - start) + 1, c);
        }
        p++;
    }
    return MEDNER_OK;
}

/* Parse `text` (len bytes, text[len] == '\0', owned by the caller and split
 * in place) into *out, which takes ownership of `text` on success. */
static int parse_owned(medner__conll **out, char *text, size_t len, const char *source)
{
    parser ps = { source, 0 };
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        return medner__fail(MEDNER_E_PARSE,
                            "%s:1:1: expected TOKEN<TAB>TAG, found a UTF-8 byte order mark "
                            "(save the file as UTF-8 without BOM)",
                            source);
    size_t max_lines = 1;
    for (const char *q = text; (q = memchr(q, '\n', len - (size_t)(q - text))) != NULL; q++)
        max_lines++;

    /* one block: lines, sentence_start (size_t; max_lines + 1 of the latter),
     * then tokens and tags (pointers) */
    size_t bytes;
    if (medner__mul_size(max_lines, 2 * sizeof(size_t) + 2 * sizeof(char *), &bytes) != 0 ||
        bytes > SIZE_MAX - sizeof(size_t))
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory (%zu lines)", source,
                            max_lines);
    medner__conll *c = medner__calloc(1, sizeof *c);
    void *block = medner__malloc(bytes + sizeof(size_t));
    if (c == NULL || block == NULL) {
        medner__free(c);
        medner__free(block);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory (%zu lines)", source,
                            max_lines);
    }
    size_t *lines = block;
    size_t *starts = lines + max_lines;
    const char **tokens = (const char **)(void *)(starts + max_lines + 1);
    const char **tags = tokens + max_lines;

    size_t ntok = 0, nsent = 0, sent_begin = 0;
    starts[0] = 0;
    char *p = text, *end = text + len;
    int rc = MEDNER_OK;
    while (p < end) {
        ps.line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        if (eol > p && eol[-1] == '\r')
            eol--;
        *eol = '\0';
        if (eol == p) { /* blank line: ends the sentence, if any */
            if (ntok > sent_begin) {
                starts[++nsent] = ntok;
                sent_begin = ntok;
            }
            p = next;
            continue;
        }
        size_t tabs;
        const unsigned char *tab;
        bool has_space;
        rc = check_line_bytes(&ps, (const unsigned char *)p, (const unsigned char *)eol, &tabs,
                              &tab, &has_space);
        if (rc != MEDNER_OK)
            break;
        if (strspn(p, " \t") == (size_t)(eol - p)) {
            rc = medner__fail(MEDNER_E_PARSE,
                              "%s:%zu: expected TOKEN<TAB>TAG or an empty line, found only spaces "
                              "and tabs",
                              source, ps.line);
            break;
        }
        if (tabs != 1) {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: expected TOKEN<TAB>TAG, found %zu column%s%s",
                              source, ps.line, tabs + 1, tabs ? "s" : "",
                              tabs == 0 && has_space ? " (columns must be separated by a TAB)" : "");
            break;
        }
        char *tag = (char *)tab + 1;
        if ((char *)tab == p || tag == eol) {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: expected TOKEN<TAB>TAG, found an empty %s",
                              source, ps.line, (char *)tab == p ? "token" : "tag");
            break;
        }
        if (has_space) {
            const char *sp = memchr(p, ' ', (size_t)(eol - p));
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: expected TOKEN<TAB>TAG, found a space in the %s",
                              source, ps.line, (size_t)(sp - p) + 1,
                              sp < (const char *)tab ? "token" : "tag");
            break;
        }
        *(char *)tab = '\0';
        const char *why = tag_problem(tag);
        if (why != NULL) {
            rc = medner__fail(MEDNER_E_PARSE,
                              "%s:%zu: expected a tag O, B-TYPE, I-TYPE, E-TYPE, S-TYPE, L-TYPE or "
                              "U-TYPE, found %s",
                              source, ps.line, why);
            break;
        }
        tokens[ntok] = p;
        tags[ntok] = tag;
        lines[ntok] = ps.line;
        ntok++;
        p = next;
    }
    if (rc != MEDNER_OK) {
        medner__free(block);
        medner__free(c);
        return rc;
    }
    if (ntok > sent_begin) /* no blank line after the last sentence */
        starts[++nsent] = ntok;
    c->num_sentences = nsent;
    c->num_tokens = ntok;
    c->sentence_start = starts;
    c->tokens = tokens;
    c->tags = tags;
    c->lines = lines;
    c->text_ = text;
    *out = c;
    return MEDNER_OK;
}

int medner__conll_parse(medner__conll **out, const char *data, size_t len,
                        const char *source_name)
{
    const char *source = source_name ? source_name : "<input>";
    if (out == NULL || (data == NULL && len > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__conll_parse: %s is NULL",
                            out == NULL ? "out" : "data");
    if (len > MEDNER__CONLL_MAX_BYTES)
        return medner__fail(MEDNER_E_LIMIT, "%s: %zu bytes, more than the limit of %zu", source,
                            len, MEDNER__CONLL_MAX_BYTES);
    char *text = medner__malloc(len + 1);
    if (text == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory copying %zu bytes", source,
                            len);
    if (len > 0)
        memcpy(text, data, len);
    text[len] = '\0';
    int rc = parse_owned(out, text, len, source);
    if (rc != MEDNER_OK)
        medner__free(text);
    return rc;
}

int medner__conll_read(medner__conll **out, const char *path)
{
    if (out == NULL || path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__conll_read: %s is NULL",
                            out == NULL ? "out" : "path");
    char *text;
    size_t len;
    int rc = medner__read_file(path, MEDNER__CONLL_MAX_BYTES, &text, &len);
    if (rc != MEDNER_OK)
        return rc;
    rc = parse_owned(out, text, len, path);
    if (rc != MEDNER_OK)
        medner__free(text);
    return rc;
}

void medner__conll_free(medner__conll *conll)
{
    if (conll == NULL)
        return;
    medner__free(conll->text_);
    medner__free((void *)conll->lines); /* the block holding every array */
    medner__free(conll);
}
