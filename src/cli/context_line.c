/*
 * One input line of `medner context` to its output line (docs/context.md,
 * README): {"id", "text", "entities": [{"start_char", "end_char", "label",
 * ...}]} in, the same object out with "negated", "uncertain",
 * "historical", "hypothetical", "family", "section" and "sentence" added to
 * each entity. Every other member (top level and entity) is copied byte for
 * byte from the input. Kept apart from the subcommand (context.c) so the
 * fuzz target tests/fuzz/fuzz_context_input.c links it alone: it uses only
 * the public API and the JSON reader/writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/context_line.h"

/* Byte offset of a node's first byte in the input (the reader reports
 * lines and byte columns; a JSON line has one line, fuzz input may not). */
static size_t node_offset(const char *s, size_t len, const medner__json *v)
{
    size_t off = 0;
    for (size_t line = 1; line < v->line && off < len; off++)
        if (s[off] == '\n')
            line++;
    return off + v->column - 1;
}

/* One past the last byte of the (valid, already parsed) JSON value at s[i]. */
static size_t value_end(const char *s, size_t len, size_t i)
{
    size_t depth = 0;
    int in_string = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"') {
                in_string = 0;
                if (depth == 0)
                    return i + 1;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i; /* the end of a scalar right before its container's end */
            if (--depth == 0)
                return i + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            return i;
        }
    }
    return len;
}

static int append_raw(medner__buf *b, const char *s, size_t len, const medner__json *v)
{
    size_t at = node_offset(s, len, v);
    if (at >= len)
        return medner__fail(MEDNER_E_INTERNAL, "context: a JSON value outside its line");
    /* byte for byte, except line breaks between tokens (a JSON line of
     * stdin has none; other input might): the output stays one line */
    size_t end = value_end(s, len, at), from = at;
    int in_string = 0, rc = MEDNER_OK;
    for (size_t i = at; i < end && rc == MEDNER_OK; i++) {
        if (in_string && s[i] == '\\')
            i++;
        else if (s[i] == '"')
            in_string = !in_string;
        else if (!in_string && (s[i] == '\n' || s[i] == '\r')) {
            rc = medner__buf_append(b, s + from, i - from);
            from = i + 1;
        }
    }
    return rc ? rc : medner__buf_append(b, s + from, end - from);
}

static const char *const added[] = { "negated", "uncertain", "historical", "hypothetical",
                                     "family", "section", "sentence" };

static int is_added(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof added / sizeof *added; i++)
        if (strlen(added[i]) == len && memcmp(added[i], key, len) == 0)
            return 1;
    return 0;
}

/* A member that must be a non-negative integer, or absent (*has = 0). */
static int offset_member(const medner__json *e, const char *key, size_t i, size_t *out, int *has)
{
    const medner__json *v = medner__json_get(e, key);
    *has = v != NULL;
    if (v == NULL)
        return MEDNER_OK;
    if (v->type != MEDNER__JSON_NUMBER || !v->is_integer || v->integer < 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "entity %zu: \"%s\" must be a non-negative integer", i, key);
    *out = (size_t)v->integer;
    return MEDNER_OK;
}

typedef struct parsed {
    const medner__json *entities;
    size_t n;
    size_t *begins, *ends; /* bytes */
    const char **labels;
    size_t *order;         /* input index of result k */
    size_t *rank;          /* result index of input entity i */
} parsed;

static void parsed_free(parsed *p)
{
    free(p->begins);
    free(p->ends);
    free(p->labels);
    free(p->order);
    free(p->rank);
}

/* Code-point offset -> byte offset: cps sorted walk is not needed; a table
 * of the byte offset of every code point (plus the end) is linear. */
static size_t *codepoint_table(const char *text, size_t len, size_t *n_cp)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)text[i] & 0xC0) != 0x80;
    size_t *t = malloc((n + 1) * sizeof *t);
    if (t == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            t[k++] = i;
    t[k] = len;
    *n_cp = n;
    return t;
}

static int read_entities(parsed *p, const medner__json *text)
{
    size_t n = p->n, alloc = n ? n : 1, n_cp = 0, *cp = NULL;
    p->begins = malloc(alloc * sizeof *p->begins);
    p->ends = malloc(alloc * sizeof *p->ends);
    p->labels = calloc(alloc, sizeof *p->labels);
    p->order = malloc(alloc * sizeof *p->order);
    p->rank = malloc(alloc * sizeof *p->rank);
    if (!p->begins || !p->ends || !p->labels || !p->order || !p->rank)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    int rc = MEDNER_OK;
    for (size_t i = 0; i < n && rc == MEDNER_OK; i++) {
        const medner__json *e = p->entities->items[i];
        if (e->type != MEDNER__JSON_OBJECT) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "entity %zu: expected an object", i);
            break;
        }
        size_t b = 0, en = 0, cb = 0, ce = 0;
        int hb, he, hcb, hce;
        if ((rc = offset_member(e, "start", i, &b, &hb)) != MEDNER_OK ||
            (rc = offset_member(e, "end", i, &en, &he)) != MEDNER_OK ||
            (rc = offset_member(e, "start_char", i, &cb, &hcb)) != MEDNER_OK ||
            (rc = offset_member(e, "end_char", i, &ce, &hce)) != MEDNER_OK)
            break;
        if (hb != he || hcb != hce || (!hb && !hcb)) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                              "entity %zu: expected \"start_char\" and \"end_char\" (code "
                              "points) or \"start\" and \"end\" (UTF-8 bytes)", i);
            break;
        }
        if (hcb) {
            if (cp == NULL && (cp = codepoint_table(text->str, text->len, &n_cp)) == NULL) {
                rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
                break;
            }
            if (cb >= ce || ce > n_cp) {
                rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                  "entity %zu: [start_char %zu, end_char %zu) is empty or "
                                  "beyond the text (%zu code points)", i, cb, ce, n_cp);
                break;
            }
            if (hb && (cp[cb] != b || cp[ce] != en)) {
                rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                  "entity %zu: \"start\"/\"end\" (bytes) and \"start_char\"/"
                                  "\"end_char\" (code points) disagree", i);
                break;
            }
            b = cp[cb];
            en = cp[ce];
        }
        p->begins[i] = b;
        p->ends[i] = en;
        const medner__json *l = medner__json_get(e, "label");
        if (l != NULL && l->type != MEDNER__JSON_STRING)
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                              "entity %zu: \"label\" must be a string", i);
        else if (l != NULL && memchr(l->str, '\0', l->len) != NULL)
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                              "entity %zu: \"label\" must not contain NUL characters", i);
        else
            p->labels[i] = l ? l->str : NULL;
    }
    free(cp);
    return rc;
}

/* medner_context_apply() returns the spans by (begin, end), ties in the
 * input order: the same sort gives the input index of each result. */
static int cmp_index(const void *a, const void *b, void *arg)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const parsed *p = arg;
    if (p->begins[x] != p->begins[y])
        return p->begins[x] < p->begins[y] ? -1 : 1;
    if (p->ends[x] != p->ends[y])
        return p->ends[x] < p->ends[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int write_entity(medner__buf *b, const char *line, size_t len, const medner__json *e,
                        const medner_entity *r)
{
    int rc = medner__buf_putc(b, '{');
    int first = 1;
    for (size_t m = 0; m < e->count && rc == MEDNER_OK; m++) {
        if (is_added(e->keys[m], e->key_lens[m]))
            continue; /* replaced below (re-running on its own output) */
        rc = first ? MEDNER_OK : medner__buf_putc(b, ',');
        first = 0;
        rc = rc ? rc : medner__buf_json_string(b, e->keys[m], e->key_lens[m]);
        rc = rc ? rc : medner__buf_putc(b, ':');
        rc = rc ? rc : append_raw(b, line, len, e->items[m]);
    }
    static const uint32_t bits[] = { MEDNER_CONTEXT_NEGATED, MEDNER_CONTEXT_UNCERTAIN,
                                     MEDNER_CONTEXT_HISTORICAL, MEDNER_CONTEXT_HYPOTHETICAL,
                                     MEDNER_CONTEXT_FAMILY };
    for (size_t k = 0; k < 5 && rc == MEDNER_OK; k++)
        rc = medner__buf_printf(b, "%s\"%s\":%s", first && k == 0 ? "" : ",", added[k],
                                (r->context & bits[k]) ? "true" : "false");
    rc = rc ? rc : medner__buf_append_str(b, ",\"section\":");
    const char *sec = medner_section_name((medner_section)r->section);
    rc = rc ? rc : medner__buf_json_string(b, sec, strlen(sec));
    /* SIZE_MAX: the text has no sentence (only whitespace) */
    if (r->sentence == SIZE_MAX)
        rc = rc ? rc : medner__buf_append_str(b, ",\"sentence\":null}");
    else
        rc = rc ? rc : medner__buf_printf(b, ",\"sentence\":%zu}", r->sentence);
    return rc;
}

static int write_result(medner__buf *b, const char *line, size_t len, const medner__json *root,
                        const parsed *p, const medner_entities *ents)
{
    int rc = medner__buf_putc(b, '{');
    for (size_t m = 0; m < root->count && rc == MEDNER_OK; m++) {
        rc = m ? medner__buf_putc(b, ',') : MEDNER_OK;
        rc = rc ? rc : medner__buf_json_string(b, root->keys[m], root->key_lens[m]);
        rc = rc ? rc : medner__buf_putc(b, ':');
        if (rc != MEDNER_OK)
            break;
        if (root->items[m] != p->entities) {
            rc = append_raw(b, line, len, root->items[m]);
            continue;
        }
        rc = medner__buf_putc(b, '[');
        for (size_t i = 0; i < p->n && rc == MEDNER_OK; i++) {
            /* the result of input entity i */
            medner_entity r = MEDNER_ENTITY_INIT;
            medner_entities_get(ents, p->rank[i], &r);
            rc = i ? medner__buf_putc(b, ',') : MEDNER_OK;
            rc = rc ? rc : write_entity(b, line, len, p->entities->items[i], &r);
        }
        rc = rc ? rc : medner__buf_putc(b, ']');
    }
    return rc ? rc : medner__buf_append_str(b, "}\n");
}

int medner_cli_context_line(medner__buf *out, const medner_context_rules *rules,
                            const char *line, size_t len, size_t lineno)
{
    char where[48];
    snprintf(where, sizeof where, "stdin line %zu", lineno);
    medner__json_doc *doc = NULL;
    parsed p;
    memset(&p, 0, sizeof p);
    medner_entities *ents = NULL;
    const medner__json *root = NULL, *text = NULL, *id = NULL;
    size_t start = out->len;
    int rc = medner__json_parse(&doc, line, len, where);
    if (rc == MEDNER_OK) {
        root = medner__json_root(doc);
        text = medner__json_get(root, "text");
        id = medner__json_get(root, "id");
        p.entities = medner__json_get(root, "entities");
        if (root->type != MEDNER__JSON_OBJECT || text == NULL ||
            text->type != MEDNER__JSON_STRING || p.entities == NULL ||
            p.entities->type != MEDNER__JSON_ARRAY)
            rc = medner__fail(MEDNER_E_PARSE, "expected an object with a \"text\" string and "
                                              "an \"entities\" array");
        else if (id && !(id->type == MEDNER__JSON_STRING ||
                         (id->type == MEDNER__JSON_NUMBER && id->is_integer)))
            rc = medner__fail(MEDNER_E_PARSE, "\"id\" must be a string or an integer");
    }
    if (rc == MEDNER_OK) {
        /* a duplicate "entities" key: the last one is read, and written */
        p.n = p.entities->count;
        rc = read_entities(&p, text);
    }
    if (rc == MEDNER_OK)
        rc = medner_context_apply(&ents, rules, text->str, text->len, p.begins, p.ends,
                                  p.labels, p.n);
    if (rc == MEDNER_OK) {
        for (size_t i = 0; i < p.n; i++)
            p.order[i] = i;
        qsort_r(p.order, p.n, sizeof *p.order, cmp_index, &p);
        for (size_t k = 0; k < p.n; k++)
            p.rank[p.order[k]] = k;
        rc = write_result(out, line, len, root, &p, ents);
    }
    if (rc != MEDNER_OK) {
        /* the error record, with the line's id when it has a usable one */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", medner_last_error());
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        int wrc = medner__buf_append_str(out, "{\"id\":");
        if (id && (id->type == MEDNER__JSON_STRING ||
                   (id->type == MEDNER__JSON_NUMBER && id->is_integer)))
            wrc = wrc ? wrc : append_raw(out, line, len, id);
        else
            wrc = wrc ? wrc : medner__buf_printf(out, "%zu", lineno);
        wrc = wrc ? wrc : medner__buf_printf(out, ",\"line\":%zu,\"error\":", lineno);
        wrc = wrc ? wrc : medner__buf_json_string(out, msg, strlen(msg));
        wrc = wrc ? wrc : medner__buf_append_str(out, "}\n");
        if (wrc != MEDNER_OK) {
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
        }
        medner__fail(rc, "%s", msg); /* the caller reports it too */
    }
    medner_entities_free(ents);
    parsed_free(&p);
    medner__json_free(doc);
    return rc;
}
