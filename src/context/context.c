/*
 * ConText (Harkema et al. 2009) over entity spans, with medspaCy's
 * semantics where the paper leaves a choice (docs/context.md):
 *   - text and phrases are cut into the same words (runs of letters/digits,
 *     single punctuation marks; ASCII case folded), so "h/o" and "Denies"
 *     match token-wise;
 *   - in each sentence all phrase matches are found, then overlapping
 *     matches are pruned longest first (a pseudo-trigger covering a trigger
 *     cancels it); pseudo matches then vanish;
 *   - a trigger's scope runs from its edge to the sentence edge, or
 *     max_scope words, and stops at the first `terminate` match, trigger of
 *     a category in the rule's terminated_by, or trigger of the same
 *     category and label filter in the way;
 *   - a target overlapping the scope is modified unless it also overlaps
 *     the trigger itself or the rule's label filter excludes it.
 * Rule files are YAML read with libyaml's event API in two passes by the
 * strict reader shared with src/pipeline/config.c (src/yaml/yaml_reader.h):
 * a syntax pass, then the schema. Every reader error
 * is MEDNER_E_INVALID_CONFIG ("NAME:LINE:COLUMN: ...") and never quotes
 * more than 40 bytes of the file (rule files are not patient text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "context/context.h"
#include "yaml/yaml_reader.h"

/* ---- categories ---------------------------------------------------------- */

enum { C_NEGATED, C_UNCERTAIN, C_HISTORICAL, C_HYPOTHETICAL, C_FAMILY, C_PSEUDO, C_TERMINATE,
       C_COUNT };
#define N_MODIFIERS 5 /* categories below C_PSEUDO modify targets */

static const char *const category_names[C_COUNT] = { "negated",      "uncertain", "historical",
                                                     "hypothetical", "family",    "pseudo",
                                                     "terminate" };
static const uint32_t category_flags[N_MODIFIERS] = {
    MEDNER_CONTEXT_NEGATED, MEDNER_CONTEXT_UNCERTAIN, MEDNER_CONTEXT_HISTORICAL,
    MEDNER_CONTEXT_HYPOTHETICAL, MEDNER_CONTEXT_FAMILY
};

enum { D_NONE, D_FORWARD, D_BACKWARD, D_BIDIRECTIONAL };
static const char *const direction_names[] = { "", "forward", "backward", "bidirectional" };

/* ---- the compiled rules -------------------------------------------------- */

typedef struct sref {
    size_t off, len; /* bytes of rules->pool */
} sref;

typedef struct ctx_rule {
    uint8_t category, direction;
    uint8_t exclude;           /* the labels are excluded (exclude_labels) */
    uint32_t max_scope;        /* words; 0: to the sentence edge */
    uint32_t terminated_by;    /* bit c: a trigger of category c ends this rule's scopes */
    size_t labels, n_labels;   /* rules->labels[labels, +n_labels), lower case */
    size_t group;              /* rules with the same category and label filter share it */
} ctx_rule;

typedef struct ctx_phrase {
    size_t rule;
    size_t words, n_words; /* rules->words[words, +n_words), lower case */
    int dropped;           /* a default phrase the user's file redefines */
} ctx_phrase;

/* First words: open addressing, each bucket a run of rules->by_first. */
typedef struct bucket {
    uint64_t hash;
    sref word;
    size_t from, n; /* by_first[from, +n): phrases starting with `word` */
} bucket;

struct medner_context_rules {
    char *pool;
    size_t pool_len, pool_cap;
    sref *words;
    size_t n_words, words_cap;
    sref *labels;
    size_t n_labels, labels_cap;
    ctx_rule *rules;
    size_t n_rules, rules_cap;
    ctx_phrase *phrases;
    size_t n_phrases, phrases_cap;
    size_t *by_first;
    bucket *table;
    size_t table_mask; /* capacity - 1 (a power of two) */
    size_t n_groups;
};

/* ---- words --------------------------------------------------------------- */

enum { CH_SPACE, CH_WORD, CH_PUNCT };

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* Class of the character at s[i] (i < end) and its length in bytes. ASCII
 * controls and spaces, U+00A0, U+2000..U+200B, U+2028/2029, U+202F and
 * U+3000 are spaces; other U+2000..U+206F (dashes, quotes, bullets) and
 * ASCII non-alphanumerics are punctuation; every other byte (letters of any
 * script, invalid UTF-8) is part of a word. */
static int char_class(const unsigned char *s, size_t end, size_t i, size_t *clen)
{
    unsigned char c = s[i];
    *clen = 1;
    if (c < 0x80) {
        if (c <= 0x20 || c == 0x7F)
            return CH_SPACE;
        return is_alnum(c) ? CH_WORD : CH_PUNCT;
    }
    if (c == 0xC2 && i + 1 < end && s[i + 1] == 0xA0) {
        *clen = 2;
        return CH_SPACE;
    }
    if (c == 0xE2 && i + 2 < end && (s[i + 1] == 0x80 || s[i + 1] == 0x81) &&
        (s[i + 2] & 0xC0) == 0x80) {
        unsigned char b = s[i + 2];
        *clen = 3;
        if (s[i + 1] == 0x80 && (b <= 0x8B || b == 0xA8 || b == 0xA9 || b == 0xAF))
            return CH_SPACE;
        return CH_PUNCT;
    }
    if (c == 0xE3 && i + 2 < end && s[i + 1] == 0x80 && s[i + 2] == 0x80) {
        *clen = 3;
        return CH_SPACE;
    }
    return CH_WORD;
}

typedef struct word_span {
    size_t begin, end;
} word_span;

/* The next word of s[*pos, end): 1 and *w, or 0 at the end. */
static int next_word(const unsigned char *s, size_t end, size_t *pos, word_span *w)
{
    size_t i = *pos, clen;
    int cls = CH_SPACE;
    while (i < end && (cls = char_class(s, end, i, &clen)) == CH_SPACE)
        i += clen;
    if (i >= end) {
        *pos = end;
        return 0;
    }
    w->begin = i;
    i += clen;
    if (cls == CH_WORD)
        while (i < end && char_class(s, end, i, &clen) == CH_WORD)
            i += clen;
    w->end = i;
    *pos = i;
    return 1;
}

static uint64_t hash_lower(const unsigned char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= lower(s[i]);
        h *= 1099511628211ull;
    }
    return h;
}

/* s (any case) equals the lower-case t? */
static int equal_lower(const unsigned char *s, size_t len, const char *t, size_t tlen)
{
    if (len != tlen)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (lower(s[i]) != (unsigned char)t[i])
            return 0;
    return 1;
}

/* ---- growing arrays ------------------------------------------------------ */

/* Room for `more` elements past n in *arr (capacity *cap): 0, or -1 when out
 * of memory (then *arr is unchanged and still valid). */
static int reserve(void **arr, size_t *cap, size_t n, size_t more, size_t elem)
{
    if (more <= *cap - n)
        return 0;
    size_t want = *cap ? *cap : 16, bytes;
    while (want - n < more) {
        if (want > SIZE_MAX / 2)
            return -1;
        want *= 2;
    }
    if (medner__mul_size(want, elem, &bytes) != 0)
        return -1;
    void *p = medner__realloc(*arr, bytes);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = want;
    return 0;
}

/* Copy s[0, len) in lower case into the pool: 0 and *out, or -1. */
static int pool_add(medner_context_rules *r, const unsigned char *s, size_t len, sref *out)
{
    if (reserve((void **)&r->pool, &r->pool_cap, r->pool_len, len + 1, 1) != 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        r->pool[r->pool_len + i] = (char)lower(s[i]);
    r->pool[r->pool_len + len] = '\0';
    out->off = r->pool_len;
    out->len = len;
    r->pool_len += len + 1;
    return 0;
}

void medner__context_rules_free(medner_context_rules *r)
{
    if (r == NULL)
        return;
    medner__free(r->pool);
    medner__free(r->words);
    medner__free(r->labels);
    medner__free(r->rules);
    medner__free(r->phrases);
    medner__free(r->by_first);
    medner__free(r->table);
    medner__free(r);
}

/* ---- the reader ---------------------------------------------------------- */

typedef struct mark {
    size_t line, column; /* 0-based, as libyaml's */
} mark;

typedef struct reader {
    medner__yaml_reader y;
    const char *name;
    medner_context_rules *out;
    int builtin;          /* reading the built-in rules: no `extends` */
    int extends;          /* `extends: default` seen */
    size_t first_phrase;  /* this file's phrases are out->phrases[first_phrase, ...) */
    mark *marks;          /* where each of this file's phrases is */
    size_t marks_cap;
} reader;

static const medner__yaml_dialect rules_yaml = {
    .noun = "a rule file",
    .max_depth = MEDNER__CONTEXT_MAX_DEPTH,
    .syntax_status = MEDNER_E_INVALID_CONFIG,
    .depth_status = MEDNER_E_INVALID_CONFIG,
    .invalid_status = MEDNER_E_INVALID_CONFIG,
    .parser_oom = "",
    .byte_offsets = 0,
    .describe_styles = 0,
};

#define rerror(r, line, column, ...)                                                           \
    medner__yaml_error(&(r)->y, MEDNER_E_INVALID_CONFIG, (line), (column), __VA_ARGS__)

static int error_at(const reader *r, yaml_mark_t m, const char *fmt, ...) MEDNER_PRINTF(3, 4);

static int error_at(const reader *r, yaml_mark_t m, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rerror(r, m.line, m.column, "%s", msg);
}

static int oom(const reader *r)
{
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", r->name);
}

/* A string scalar event (already read): not null/bool/number unless quoted,
 * non-empty, no NUL, at most MEDNER__CONTEXT_MAX_PHRASE_BYTES. Does not
 * delete ev on success. */
static int check_string(const reader *r, yaml_event_t *ev, const char *subject,
                        const char *expected)
{
    if (ev->type != YAML_SCALAR_EVENT || medner__yaml_scalar_kind(ev) != MEDNER__YAML_STR ||
        ev->data.scalar.length == 0)
        return medner__yaml_type_error(&r->y, ev, subject, expected);
    yaml_mark_t m = ev->start_mark;
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL) {
        yaml_event_delete(ev);
        return rerror(r, m.line, m.column, "%s must not contain NUL characters", subject);
    }
    if (ev->data.scalar.length > MEDNER__CONTEXT_MAX_PHRASE_BYTES) {
        size_t len = ev->data.scalar.length;
        yaml_event_delete(ev);
        return rerror(r, m.line, m.column, "%s has %zu bytes, more than the limit of %u",
                      subject, len, MEDNER__CONTEXT_MAX_PHRASE_BYTES);
    }
    return MEDNER_OK;
}

/* Index of the word ev names in names[0, n), or -1. */
static int word_index(const yaml_event_t *ev, const char *const *names, int n)
{
    if (ev->type != YAML_SCALAR_EVENT || medner__yaml_scalar_kind(ev) != MEDNER__YAML_STR)
        return -1;
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == ev->data.scalar.length &&
            memcmp(names[i], ev->data.scalar.value, ev->data.scalar.length) == 0)
            return i;
    return -1;
}

/* ---- one rule ------------------------------------------------------------ */

enum rule_key { R_PHRASES, R_CATEGORY, R_DIRECTION, R_MAX_SCOPE, R_LABELS, R_EXCLUDE,
                R_TERMINATED_BY, R_COUNT };
static const char *const rule_keys[R_COUNT] = { "phrases", "category", "direction", "max_scope",
                                                "labels", "exclude_labels", "terminated_by" };
#define RULE_KEY_LIST \
    "phrases, category, direction, max_scope, labels, exclude_labels, terminated_by"
#define CATEGORY_LIST "negated, uncertain, historical, hypothetical, family, pseudo or terminate"
#define MODIFIER_LIST "negated, uncertain, historical, hypothetical or family"
#define DIRECTION_LIST "forward, backward or bidirectional"

static int read_phrases(reader *r, size_t rule)
{
    medner_context_rules *o = r->out;
    yaml_event_t ev;
    yaml_mark_t start;
    int rc = medner__yaml_list_begin(&r->y, "\"phrases\"", "a list of phrases", &start);
    if (rc != MEDNER_OK)
        return rc;
    size_t n = 0;
    for (;; n++) {
        if ((rc = medner__yaml_list_item(&r->y, &ev)) <= 0)
            break;
        if ((rc = check_string(r, &ev, "a phrase",
                               "a non-empty string (quote words like null, true or numbers)")) !=
            MEDNER_OK)
            return rc;
        yaml_mark_t m = ev.start_mark;
        if (o->n_phrases - r->first_phrase >= MEDNER__CONTEXT_MAX_PHRASES) {
            yaml_event_delete(&ev);
            return rerror(r, m.line, m.column, "more than %u phrases in one file",
                          MEDNER__CONTEXT_MAX_PHRASES);
        }
        const unsigned char *s = ev.data.scalar.value;
        size_t len = ev.data.scalar.length, pos = 0, nw = 0, words_at = o->n_words;
        word_span w;
        while (next_word(s, len, &pos, &w)) {
            if (++nw > MEDNER__CONTEXT_MAX_PHRASE_WORDS) {
                o->n_words = words_at;
                yaml_event_delete(&ev);
                return rerror(r, m.line, m.column, "a phrase has more than %u words",
                              MEDNER__CONTEXT_MAX_PHRASE_WORDS);
            }
            sref word;
            if (reserve((void **)&o->words, &o->words_cap, o->n_words, 1, sizeof *o->words) != 0 ||
                pool_add(o, s + w.begin, w.end - w.begin, &word) != 0) {
                yaml_event_delete(&ev);
                return oom(r);
            }
            o->words[o->n_words++] = word;
        }
        yaml_event_delete(&ev);
        if (nw == 0)
            return rerror(r, m.line, m.column,
                          "a phrase must have at least one word or punctuation mark; found "
                          "only spaces");
        size_t k = o->n_phrases - r->first_phrase;
        if (reserve((void **)&o->phrases, &o->phrases_cap, o->n_phrases, 1, sizeof *o->phrases) !=
                0 ||
            reserve((void **)&r->marks, &r->marks_cap, k, 1, sizeof *r->marks) != 0)
            return oom(r);
        o->phrases[o->n_phrases++] = (ctx_phrase){ rule, words_at, nw, 0 };
        r->marks[k] = (mark){ m.line, m.column };
    }
    if (rc < 0)
        return rc;
    if (n == 0)
        return rerror(r, start.line, start.column, "\"phrases\" must not be empty");
    return MEDNER_OK;
}

static int read_labels(reader *r, const char *subject, ctx_rule *rule)
{
    medner_context_rules *o = r->out;
    yaml_event_t ev;
    yaml_mark_t start;
    int rc = medner__yaml_list_begin(&r->y, subject, "a list of entity labels", &start);
    if (rc != MEDNER_OK)
        return rc;
    rule->labels = o->n_labels;
    rule->n_labels = 0;
    while ((rc = medner__yaml_list_item(&r->y, &ev)) > 0) {
        if ((rc = check_string(r, &ev, "a label", "an entity label (a non-empty string)")) !=
            MEDNER_OK)
            return rc;
        if (rule->n_labels >= MEDNER__CONTEXT_MAX_LABELS) {
            yaml_mark_t m = ev.start_mark;
            yaml_event_delete(&ev);
            return rerror(r, m.line, m.column, "%s has more than %u labels", subject,
                          MEDNER__CONTEXT_MAX_LABELS);
        }
        sref label;
        if (reserve((void **)&o->labels, &o->labels_cap, o->n_labels, 1, sizeof *o->labels) != 0 ||
            pool_add(o, ev.data.scalar.value, ev.data.scalar.length, &label) != 0) {
            yaml_event_delete(&ev);
            return oom(r);
        }
        yaml_event_delete(&ev);
        o->labels[o->n_labels++] = label;
        rule->n_labels++;
    }
    if (rc < 0)
        return rc;
    if (rule->n_labels == 0)
        return rerror(r, start.line, start.column,
                      "%s must not be empty (leave it out for every label)", subject);
    return MEDNER_OK;
}

static int read_terminated_by(reader *r, ctx_rule *rule)
{
    yaml_event_t ev;
    yaml_mark_t start;
    int rc = medner__yaml_list_begin(&r->y, "\"terminated_by\"",
                                     "a list of categories (" MODIFIER_LIST ")", &start);
    if (rc != MEDNER_OK)
        return rc;
    int n = 0;
    for (; (rc = medner__yaml_list_item(&r->y, &ev)) > 0; n++) {
        int c = word_index(&ev, category_names, N_MODIFIERS);
        if (c < 0)
            return medner__yaml_type_error(&r->y, &ev, "an item of \"terminated_by\"",
                              "one of " MODIFIER_LIST " (a terminate phrase always ends a scope)");
        yaml_event_delete(&ev);
        rule->terminated_by |= 1u << c;
    }
    if (rc < 0)
        return rc;
    if (n == 0)
        return rerror(r, start.line, start.column,
                      "\"terminated_by\" must not be empty (leave it out)");
    return MEDNER_OK;
}

static int read_max_scope(reader *r, ctx_rule *rule)
{
    char expected[64];
    snprintf(expected, sizeof expected, "a number of words in [1, %u]", MEDNER__CONTEXT_MAX_SCOPE);
    yaml_event_t ev;
    int rc = medner__yaml_next(&r->y, &ev);
    if (rc != MEDNER_OK)
        return rc;
    if (ev.type != YAML_SCALAR_EVENT || ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return medner__yaml_type_error(&r->y, &ev, "\"max_scope\"", expected);
    const char *s = (const char *)ev.data.scalar.value;
    size_t len = ev.data.scalar.length, v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > MEDNER__CONTEXT_MAX_SCOPE)
            return medner__yaml_type_error(&r->y, &ev, "\"max_scope\"", expected);
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (len == 0 || v < 1 || v > MEDNER__CONTEXT_MAX_SCOPE)
        return medner__yaml_type_error(&r->y, &ev, "\"max_scope\"", expected);
    yaml_event_delete(&ev);
    rule->max_scope = (uint32_t)v;
    return MEDNER_OK;
}

/* A rule: the mapping whose start (at `start`) has just been read. */
static int read_rule_body(reader *r, yaml_mark_t start)
{
    medner_context_rules *o = r->out;
    yaml_event_t ev;
    int rc;
    if (o->n_rules >= MEDNER__CONTEXT_MAX_RULES)
        return rerror(r, start.line, start.column, "more than %u rules",
                      MEDNER__CONTEXT_MAX_RULES);
    if (reserve((void **)&o->rules, &o->rules_cap, o->n_rules, 1, sizeof *o->rules) != 0)
        return oom(r);
    size_t index = o->n_rules;
    ctx_rule rule;
    memset(&rule, 0, sizeof rule);
    yaml_mark_t seen[R_COUNT];
    int have[R_COUNT] = { 0 };
    for (;;) {
        if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_SCALAR_EVENT)
            return medner__yaml_type_error(&r->y, &ev, "a key of a rule", "a string");
        int k = word_index(&ev, rule_keys, R_COUNT);
        yaml_mark_t m = ev.start_mark;
        char ex[48];
        medner__yaml_excerpt(ex, sizeof ex, ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        if (k < 0)
            return error_at(r, m, "unknown key \"%s\" in a rule (expected one of %s)", ex,
                            RULE_KEY_LIST);
        if (have[k]) {
            char first[32];
            snprintf(first, sizeof first, "%zu:%zu", seen[k].line + 1, seen[k].column + 1);
            return error_at(r, m, "duplicate key \"%s\" in a rule (first at %s)", ex, first);
        }
        if ((k == R_LABELS && have[R_EXCLUDE]) || (k == R_EXCLUDE && have[R_LABELS]))
            return error_at(r, m, "\"%s\" and \"%s\" in one rule: give one of them", ex,
                            k == R_LABELS ? "exclude_labels" : "labels");
        have[k] = 1;
        seen[k] = m;
        switch (k) {
        case R_PHRASES:
            rc = read_phrases(r, index);
            break;
        case R_CATEGORY:
        case R_DIRECTION: {
            if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
                return rc;
            int v = k == R_CATEGORY ? word_index(&ev, category_names, C_COUNT)
                                    : word_index(&ev, direction_names + 1, 3) + 1;
            if (k == R_CATEGORY ? v < 0 : v <= 0)
                return medner__yaml_type_error(
                    &r->y, &ev, k == R_CATEGORY ? "\"category\"" : "\"direction\"",
                    k == R_CATEGORY ? "one of " CATEGORY_LIST : "one of " DIRECTION_LIST);
            yaml_event_delete(&ev);
            if (k == R_CATEGORY)
                rule.category = (uint8_t)v;
            else
                rule.direction = (uint8_t)v;
            break;
        }
        case R_MAX_SCOPE:
            rc = read_max_scope(r, &rule);
            break;
        case R_LABELS:
        case R_EXCLUDE:
            rc = read_labels(r, k == R_LABELS ? "\"labels\"" : "\"exclude_labels\"", &rule);
            rule.exclude = k == R_EXCLUDE;
            break;
        default:
            rc = read_terminated_by(r, &rule);
            break;
        }
        if (rc != MEDNER_OK)
            return rc;
    }
    if (!have[R_PHRASES])
        return rerror(r, start.line, start.column, "a rule without \"phrases\"");
    if (!have[R_CATEGORY])
        return rerror(r, start.line, start.column, "a rule without \"category\" (%s)",
                      CATEGORY_LIST);
    const char *cat = category_names[rule.category];
    if (rule.category < N_MODIFIERS) {
        if (!have[R_DIRECTION])
            return rerror(r, start.line, start.column,
                          "a rule of category %s without \"direction\" (%s)", cat,
                          DIRECTION_LIST);
    } else {
        /* pseudo-triggers and terminations have no scope of their own */
        for (int k = R_DIRECTION; k < R_COUNT; k++)
            if (have[k])
                return error_at(r, seen[k],
                                "\"%s\" does not apply to a rule of category %s (it has no "
                                "scope; only phrases and category)",
                                rule_keys[k], cat);
    }
    o->rules[o->n_rules++] = rule;
    return MEDNER_OK;
}

/* ---- the file ------------------------------------------------------------ */

static int read_top(reader *r, yaml_mark_t start)
{
    static const char *const top_keys[] = { "extends", "rules" };
    yaml_mark_t seen[2];
    int have[2] = { 0, 0 };
    yaml_event_t ev;
    int rc;
    for (;;) {
        if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_SCALAR_EVENT)
            return medner__yaml_type_error(&r->y, &ev, "a key", "a string");
        int k = word_index(&ev, top_keys, 2);
        yaml_mark_t m = ev.start_mark;
        char ex[48];
        medner__yaml_excerpt(ex, sizeof ex, ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        if (k < 0)
            return error_at(r, m, "unknown key \"%s\" (expected %s)", ex, "extends or rules");
        if (have[k]) {
            char first[32];
            snprintf(first, sizeof first, "%zu:%zu", seen[k].line + 1, seen[k].column + 1);
            return error_at(r, m, "duplicate key \"%s\" (first at %s)", ex, first);
        }
        have[k] = 1;
        seen[k] = m;
        if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
            return rc;
        if (k == 0) {
            static const char *const dflt[] = { "default" };
            if (word_index(&ev, dflt, 1) != 0)
                return medner__yaml_type_error(&r->y, &ev, "\"extends\"",
                                               "default (the built-in rules)");
            if (r->builtin) {
                yaml_event_delete(&ev);
                return rerror(r, m.line, m.column, "the built-in rules cannot extend themselves");
            }
            yaml_event_delete(&ev);
            r->extends = 1;
            continue;
        }
        if (ev.type != YAML_SEQUENCE_START_EVENT)
            return medner__yaml_type_error(&r->y, &ev, "\"rules\"", "a list of rules");
        yaml_event_delete(&ev);
        /* each rule starts with its mapping */
        yaml_event_t peek;
        while ((rc = medner__yaml_list_item(&r->y, &peek)) > 0) {
            if (peek.type != YAML_MAPPING_START_EVENT)
                return medner__yaml_type_error(&r->y, &peek, "a rule",
                                               "a mapping with phrases, category, ...");
            yaml_mark_t rm = peek.start_mark;
            yaml_event_delete(&peek);
            if ((rc = read_rule_body(r, rm)) != MEDNER_OK)
                return rc;
        }
        if (rc < 0)
            return rc;
    }
    if (!have[1])
        return rerror(r, start.line, start.column,
                      "missing \"rules\" (a list of rules; docs/context.md)");
    return MEDNER_OK;
}

static int read_document(reader *r)
{
    yaml_event_t ev;
    int rc = medner__yaml_next(&r->y, &ev); /* STREAM-START */
    if (rc != MEDNER_OK)
        return rc;
    yaml_event_delete(&ev);
    if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
        return rc;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return rerror(r, 0, 0, "empty rule file (expected a mapping with \"rules\")");
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
        return rc;
    if (ev.type != YAML_MAPPING_START_EVENT)
        return medner__yaml_type_error(&r->y, &ev, "the top level",
                                       "a mapping with \"rules\" (and \"extends\")");
    yaml_mark_t m = ev.start_mark;
    yaml_event_delete(&ev);
    if ((rc = read_top(r, m)) != MEDNER_OK)
        return rc;
    if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK) /* DOCUMENT-END */
        return rc;
    yaml_event_delete(&ev);
    if ((rc = medner__yaml_next(&r->y, &ev)) != MEDNER_OK)
        return rc;
    m = ev.start_mark;
    int more = ev.type == YAML_DOCUMENT_START_EVENT;
    yaml_event_delete(&ev);
    if (more)
        return rerror(r, m.line, m.column, "a second YAML document (a rule file is one document)");
    return MEDNER_OK;
}

/* ---- duplicates and the first-word table --------------------------------- */

typedef struct phrase_key {
    const medner_context_rules *o;
    size_t index;
} phrase_key;

static int compare_words(const medner_context_rules *o, size_t a, size_t b)
{
    const ctx_phrase *x = &o->phrases[a], *y = &o->phrases[b];
    for (size_t i = 0; i < x->n_words && i < y->n_words; i++) {
        const sref *u = &o->words[x->words + i], *v = &o->words[y->words + i];
        size_t n = u->len < v->len ? u->len : v->len;
        int c = memcmp(o->pool + u->off, o->pool + v->off, n);
        if (c == 0)
            c = (u->len > v->len) - (u->len < v->len);
        if (c != 0)
            return c;
    }
    return (x->n_words > y->n_words) - (x->n_words < y->n_words);
}

static int key_cmp(const void *a, const void *b)
{
    const phrase_key *x = a, *y = b;
    int c = compare_words(x->o, x->index, y->index);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Phrases [from, to) sorted by words then index (NULL when out of memory). */
static phrase_key *sorted_keys(const medner_context_rules *o, size_t from, size_t to)
{
    size_t bytes;
    if (medner__mul_size(to - from + 1, sizeof(phrase_key), &bytes) != 0)
        return NULL;
    phrase_key *k = medner__malloc(bytes);
    if (k == NULL)
        return NULL;
    for (size_t i = from; i < to; i++)
        k[i - from] = (phrase_key){ o, i };
    qsort(k, to - from, sizeof *k, key_cmp);
    return k;
}

/* A phrase given twice in this file: the earliest second occurrence. */
static int check_duplicates(reader *r)
{
    medner_context_rules *o = r->out;
    size_t from = r->first_phrase, to = o->n_phrases;
    if (to - from < 2)
        return MEDNER_OK;
    phrase_key *k = sorted_keys(o, from, to);
    if (k == NULL)
        return oom(r);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1, g = 0; i < to - from; i++) {
        if (compare_words(o, k[i].index, k[i - 1].index) != 0) {
            g = i;
            continue;
        }
        if (k[i].index < dup) {
            dup = k[i].index;
            first = k[g].index;
        }
    }
    medner__free(k);
    if (dup == SIZE_MAX)
        return MEDNER_OK;
    const mark *d = &r->marks[dup - from], *f = &r->marks[first - from];
    return rerror(r, d->line, d->column, "duplicate phrase (first at %zu:%zu)", f->line + 1,
                  f->column + 1);
}

/* After `extends: default`: a default phrase that the user's file (phrases
 * [0, n_user)) also has is dropped, so the user's rule decides. */
static int drop_redefined(medner_context_rules *o, size_t n_user)
{
    phrase_key *k = sorted_keys(o, 0, o->n_phrases);
    if (k == NULL)
        return -1;
    for (size_t i = 0; i < o->n_phrases;) {
        size_t j = i + 1;
        while (j < o->n_phrases && compare_words(o, k[j].index, k[i].index) == 0)
            j++;
        if (k[i].index < n_user) /* a group is ordered by index: users first */
            for (size_t g = i + 1; g < j; g++)
                if (k[g].index >= n_user)
                    o->phrases[k[g].index].dropped = 1;
        i = j;
    }
    medner__free(k);
    return 0;
}

static int first_word_cmp(const void *a, const void *b)
{
    const phrase_key *x = a, *y = b;
    const sref *u = &x->o->words[x->o->phrases[x->index].words];
    const sref *v = &y->o->words[y->o->phrases[y->index].words];
    size_t n = u->len < v->len ? u->len : v->len;
    int c = memcmp(x->o->pool + u->off, x->o->pool + v->off, n);
    if (c == 0)
        c = (u->len > v->len) - (u->len < v->len);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int same_first_word(const medner_context_rules *o, size_t a, size_t b)
{
    const sref *u = &o->words[o->phrases[a].words], *v = &o->words[o->phrases[b].words];
    return u->len == v->len && memcmp(o->pool + u->off, o->pool + v->off, u->len) == 0;
}

static int same_filter(const medner_context_rules *o, const ctx_rule *a, const ctx_rule *b)
{
    if (a->category != b->category || a->exclude != b->exclude || a->n_labels != b->n_labels)
        return 0;
    for (size_t i = 0; i < a->n_labels; i++) {
        const sref *x = &o->labels[a->labels + i], *y = &o->labels[b->labels + i];
        if (x->len != y->len || memcmp(o->pool + x->off, o->pool + y->off, x->len) != 0)
            return 0;
    }
    return 1;
}

/* Groups of rules whose triggers end each other's scopes (medspaCy: the
 * same category and the same label lists). At most MAX_RULES^2 / 2 cheap
 * comparisons, once per load. */
static void assign_groups(medner_context_rules *o)
{
    o->n_groups = 0;
    for (size_t i = 0; i < o->n_rules; i++) {
        size_t j = 0;
        while (j < i && !same_filter(o, &o->rules[j], &o->rules[i]))
            j++;
        o->rules[i].group = j < i ? o->rules[j].group : o->n_groups++;
    }
}

/* Build by_first and the hash table of first words. */
static int build_table(medner_context_rules *o)
{
    size_t live = 0, distinct = 0;
    for (size_t i = 0; i < o->n_phrases; i++)
        live += !o->phrases[i].dropped;
    phrase_key *k = medner__malloc((live + 1) * sizeof *k);
    if (k == NULL)
        return -1;
    for (size_t i = 0, j = 0; i < o->n_phrases; i++)
        if (!o->phrases[i].dropped)
            k[j++] = (phrase_key){ o, i };
    qsort(k, live, sizeof *k, first_word_cmp);
    for (size_t i = 0; i < live; i++)
        distinct += i == 0 || !same_first_word(o, k[i].index, k[i - 1].index);
    size_t cap = 16;
    while (cap < 2 * distinct + 1)
        cap *= 2;
    o->by_first = medner__malloc((live + 1) * sizeof *o->by_first);
    o->table = medner__calloc(cap, sizeof *o->table);
    if (o->by_first == NULL || o->table == NULL) {
        medner__free(k);
        return -1;
    }
    o->table_mask = cap - 1;
    for (size_t i = 0; i < live;) {
        size_t j = i + 1;
        while (j < live && same_first_word(o, k[j].index, k[i].index))
            j++;
        for (size_t g = i; g < j; g++)
            o->by_first[g] = k[g].index;
        const sref *w = &o->words[o->phrases[k[i].index].words];
        uint64_t h = hash_lower((const unsigned char *)o->pool + w->off, w->len);
        size_t slot = (size_t)h & o->table_mask;
        while (o->table[slot].n != 0)
            slot = (slot + 1) & o->table_mask;
        o->table[slot] = (bucket){ h, *w, i, j - i };
        i = j;
    }
    medner__free(k);
    return 0;
}

/* ---- loading ------------------------------------------------------------- */

static const unsigned char default_rules_text[] = {
#include "context/default_rules.inc"
    0x00
};

const char *medner__context_default_rules(size_t *len)
{
    if (len != NULL)
        *len = sizeof default_rules_text - 1;
    return (const char *)default_rules_text;
}

#define BUILTIN_NAME "default_rules.yaml (built in)"

/* Read one rule file into o (appending). */
static int read_into(medner_context_rules *o, const char *yaml, size_t len, const char *name,
                     int builtin, int *extends)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.out = o;
    r.builtin = builtin;
    r.first_phrase = o->n_phrases;
    medner__yaml_init(&r.y, &rules_yaml, name, yaml, len);
    int rc = medner__yaml_open(&r.y);
    if (rc == MEDNER_OK) {
        rc = read_document(&r);
        medner__yaml_close(&r.y);
    }
    if (rc == MEDNER_OK)
        rc = check_duplicates(&r);
    medner__free(r.marks);
    *extends = r.extends;
    return rc;
}

static int parse(medner_context_rules **out, const char *yaml, size_t len, const char *name,
                 int builtin)
{
    medner_context_rules *o = medner__calloc(1, sizeof *o);
    if (o == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", name);
    int extends = 0;
    int rc = read_into(o, yaml, len, name, builtin, &extends);
    if (rc == MEDNER_OK && extends) {
        size_t n_user = o->n_phrases, dlen;
        const char *dflt = medner__context_default_rules(&dlen);
        int ignored;
        rc = read_into(o, dflt, dlen, BUILTIN_NAME, 1, &ignored);
        if (rc == MEDNER_OK && drop_redefined(o, n_user) != 0)
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    if (rc == MEDNER_OK)
        assign_groups(o);
    if (rc == MEDNER_OK && build_table(o) != 0)
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", name);
    if (rc != MEDNER_OK) {
        medner__context_rules_free(o);
        return rc;
    }
    *out = o;
    return MEDNER_OK;
}

int medner__context_rules_parse(medner_context_rules **out, const char *yaml, size_t len,
                                const char *name)
{
    if (out == NULL || (yaml == NULL && len > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner__context_rules_parse: out and yaml are required");
    if (len > MEDNER__CONTEXT_MAX_FILE)
        return medner__fail(MEDNER_E_INVALID_CONFIG, "%s: %zu bytes, more than the limit of %zu",
                            name ? name : "rules", len, MEDNER__CONTEXT_MAX_FILE);
    return parse(out, yaml ? yaml : "", len, name ? name : "rules", 0);
}

int medner__context_rules_load(medner_context_rules **out, const char *path)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__context_rules_load: out is NULL");
    if (path == NULL) {
        size_t len;
        const char *text = medner__context_default_rules(&len);
        return parse(out, text, len, BUILTIN_NAME, 1);
    }
    char *text = NULL;
    size_t len = 0;
    int rc = medner__read_file(path, MEDNER__CONTEXT_MAX_FILE, &text, &len);
    if (rc == MEDNER_E_LIMIT) {
        /* the contract: a rule file is MEDNER_E_IO or MEDNER_E_INVALID_CONFIG */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", medner_last_error());
        return medner__fail(MEDNER_E_INVALID_CONFIG, "%s", msg);
    }
    if (rc != MEDNER_OK)
        return rc;
    rc = parse(out, text, len, path, 0);
    medner__free(text);
    return rc;
}

/* ---- applying the rules -------------------------------------------------- */

typedef struct tgt {
    size_t begin, end, index;
    const unsigned char *label;
    size_t label_len;
    uint32_t flags;
    medner_section section;
    size_t sentence;
} tgt;

typedef struct match {
    size_t start, end; /* words [start, end) of the sentence */
    size_t phrase;
} match;

typedef struct scope {
    size_t rule, begin, end; /* bytes */
    size_t tb, te;           /* its trigger, bytes */
} scope;

typedef struct scratch {
    word_span *words;
    size_t words_cap;
    match *matches;
    size_t matches_cap;
    uint8_t *taken;
    size_t taken_cap;
    size_t *lists; /* kept matches of each category, in text order */
    size_t lists_cap;
    scope *scopes; /* the sentence's scopes, merged per rule before use */
    size_t scopes_cap;
    scope *triggers; /* the sentence's triggers by rule, then position */
    size_t triggers_cap;
    size_t *same;    /* next/previous kept match of the same group (SIZE_MAX: none) */
    size_t same_cap;
    size_t *last;    /* [n_groups]: SIZE_MAX between sentences */
} scratch;

static int tgt_cmp(const void *a, const void *b)
{
    const tgt *x = a, *y = b;
    if (x->begin != y->begin)
        return (x->begin > y->begin) - (x->begin < y->begin);
    if (x->end != y->end)
        return (x->end > y->end) - (x->end < y->end);
    return (x->index > y->index) - (x->index < y->index);
}

static int longest_first(const void *a, const void *b)
{
    const match *x = a, *y = b;
    size_t lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly)
        return (lx < ly) - (lx > ly);
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->phrase > y->phrase) - (x->phrase < y->phrase);
}

static int by_start(const void *a, const void *b)
{
    const match *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static int by_rule_begin(const void *a, const void *b)
{
    const scope *x = a, *y = b;
    if (x->rule != y->rule)
        return (x->rule > y->rule) - (x->rule < y->rule);
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static int label_ok(const medner_context_rules *o, const ctx_rule *rule, const tgt *t)
{
    if (rule->n_labels == 0)
        return 1;
    int found = 0;
    for (size_t i = 0; t->label != NULL && i < rule->n_labels && !found; i++) {
        const sref *l = &o->labels[rule->labels + i];
        found = equal_lower(t->label, t->label_len, o->pool + l->off, l->len);
    }
    return rule->exclude ? !found : found;
}

/* The sorted targets' ends in a max-tree (tree[size + i] = t[i].end, each
 * inner node the max of its children), so that the targets overlapping a
 * scope are found in O((found + 1) log n) however long the targets are. */
typedef struct ends_tree {
    size_t *max;
    size_t size; /* leaves: a power of two >= n */
} ends_tree;

/* One merged scope of one rule being applied. */
typedef struct applying {
    const medner_context_rules *o;
    const ctx_rule *rule;
    tgt *t;
    const ends_tree *tr;
    const scope *merged;   /* the scopes merged into this one */
    size_t n_merged;
    const scope *triggers; /* the rule's triggers in this sentence, in text order */
    size_t n_triggers;
} applying;

/* medspaCy: a target overlapping a trigger is not modified by that trigger
 * (but may be by another trigger of the rule). */
static int modified(const applying *a, const tgt *x)
{
    size_t lo = 0, hi = a->n_triggers; /* first trigger ending after x begins */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->triggers[mid].te <= x->begin)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == a->n_triggers || a->triggers[lo].tb >= x->end)
        return 1; /* overlaps no trigger of the rule: the merged scope decides */
    for (size_t k = 0; k < a->n_merged; k++) {
        const scope *s = &a->merged[k];
        if (s->begin < x->end && s->end > x->begin && !(s->tb < x->end && s->te > x->begin))
            return 1;
    }
    return 0;
}

/* The targets among the node's range with index < hi and end > sb. */
static void report(const applying *a, size_t node, size_t node_lo, size_t width, size_t hi,
                   size_t sb)
{
    if (node_lo >= hi || a->tr->max[node] <= sb)
        return;
    if (width == 1) {
        tgt *x = &a->t[node_lo];
        if (label_ok(a->o, a->rule, x) && modified(a, x))
            x->flags |= category_flags[a->rule->category];
        return;
    }
    report(a, 2 * node, node_lo, width / 2, hi, sb);
    report(a, 2 * node + 1, node_lo + width / 2, width / 2, hi, sb);
}

/* OR the rule's flag into the targets overlapping bytes [sb, se): those
 * beginning before se and ending after sb. */
static void modify(const applying *a, size_t n, size_t sb, size_t se)
{
    size_t lo = 0, hi = n; /* first target beginning at or after se */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->t[mid].begin < se)
            lo = mid + 1;
        else
            hi = mid;
    }
    report(a, 1, 0, a->tr->size, lo, sb);
}

/* The words of the sentence matched against the first-word table. */
static int find_matches(const medner_context_rules *o, const unsigned char *s, scratch *sc,
                        size_t nw, size_t *n_matches)
{
    size_t nm = 0;
    for (size_t i = 0; i < nw; i++) {
        const word_span *w = &sc->words[i];
        uint64_t h = hash_lower(s + w->begin, w->end - w->begin);
        const bucket *b = NULL;
        for (size_t slot = (size_t)h & o->table_mask; o->table[slot].n != 0;
             slot = (slot + 1) & o->table_mask)
            if (o->table[slot].hash == h &&
                equal_lower(s + w->begin, w->end - w->begin, o->pool + o->table[slot].word.off,
                            o->table[slot].word.len)) {
                b = &o->table[slot];
                break;
            }
        for (size_t k = 0; b != NULL && k < b->n; k++) {
            size_t p = o->by_first[b->from + k];
            const ctx_phrase *ph = &o->phrases[p];
            if (ph->n_words > nw - i)
                continue;
            size_t j = 1;
            while (j < ph->n_words) {
                const word_span *x = &sc->words[i + j];
                const sref *y = &o->words[ph->words + j];
                if (!equal_lower(s + x->begin, x->end - x->begin, o->pool + y->off, y->len))
                    break;
                j++;
            }
            if (j < ph->n_words)
                continue;
            if (reserve((void **)&sc->matches, &sc->matches_cap, nm, 1, sizeof *sc->matches) != 0)
                return -1;
            sc->matches[nm++] = (match){ i, i + ph->n_words, p };
        }
    }
    *n_matches = nm;
    return 0;
}

/* One sentence text[sb, se). */
static int run_sentence(const medner_context_rules *o, const unsigned char *text, size_t sb,
                        size_t se, scratch *sc, tgt *t, size_t n, const ends_tree *tr)
{
    size_t nw = 0, pos = sb;
    word_span w;
    while (next_word(text, se, &pos, &w)) {
        if (reserve((void **)&sc->words, &sc->words_cap, nw, 1, sizeof *sc->words) != 0)
            return -1;
        sc->words[nw++] = w;
    }
    size_t nm;
    if (find_matches(o, text, sc, nw, &nm) != 0)
        return -1;
    if (nm == 0)
        return 0;
    /* longest match first; a match overlapping a kept one is dropped */
    if (reserve((void **)&sc->taken, &sc->taken_cap, 0, nw, 1) != 0 ||
        reserve((void **)&sc->lists, &sc->lists_cap, 0, nm, sizeof *sc->lists) != 0 ||
        reserve((void **)&sc->scopes, &sc->scopes_cap, 0, 2 * nm, sizeof *sc->scopes) != 0 ||
        reserve((void **)&sc->triggers, &sc->triggers_cap, 0, nm, sizeof *sc->triggers) != 0 ||
        reserve((void **)&sc->same, &sc->same_cap, 0, 2 * nm, sizeof *sc->same) != 0)
        return -1;
    size_t ns = 0, nt = 0;
    memset(sc->taken, 0, nw);
    qsort(sc->matches, nm, sizeof *sc->matches, longest_first);
    size_t kept = 0;
    for (size_t i = 0; i < nm; i++) {
        match m = sc->matches[i];
        size_t j = m.start;
        while (j < m.end && !sc->taken[j])
            j++;
        if (j < m.end)
            continue;
        memset(sc->taken + m.start, 1, m.end - m.start);
        if (o->rules[o->phrases[m.phrase].rule].category != C_PSEUDO)
            sc->matches[kept++] = m; /* a pseudo-trigger has done its work: blocking */
    }
    qsort(sc->matches, kept, sizeof *sc->matches, by_start);
    /* the kept matches of each category, in text order */
    size_t count[C_COUNT] = { 0 }, at[C_COUNT], next[C_COUNT], prev[C_COUNT];
    for (size_t i = 0; i < kept; i++)
        count[o->rules[o->phrases[sc->matches[i].phrase].rule].category]++;
    for (size_t c = 0, sum = 0; c < C_COUNT; c++) {
        at[c] = sum;
        next[c] = prev[c] = 0;
        sum += count[c];
    }
    size_t fill[C_COUNT];
    memcpy(fill, at, sizeof fill);
    for (size_t i = 0; i < kept; i++)
        sc->lists[fill[o->rules[o->phrases[sc->matches[i].phrase].rule].category]++] = i;
    /* the next (same[2i]) and previous (same[2i+1]) match of each match's
     * group: medspaCy ends a scope at a trigger of the same category and
     * label filter ("no evidence of CHF, no pneumonia") */
    size_t *same = sc->same, *last = sc->last;
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < kept; k++) {
            size_t i = pass == 0 ? kept - 1 - k : k;
            size_t g = o->rules[o->phrases[sc->matches[i].phrase].rule].group;
            same[2 * i + pass] = last[g];
            last[g] = i;
        }
        for (size_t i = 0; i < kept; i++)
            last[o->rules[o->phrases[sc->matches[i].phrase].rule].group] = SIZE_MAX;
    }

    for (size_t i = 0; i < kept; i++) {
        const match *m = &sc->matches[i];
        const ctx_rule *rule = &o->rules[o->phrases[m->phrase].rule];
        if (rule->category >= N_MODIFIERS)
            continue;
        uint32_t ends = rule->terminated_by | 1u << C_TERMINATE;
        size_t tb = sc->words[m->start].begin, te = sc->words[m->end - 1].end;
        sc->triggers[nt++] = (scope){ o->phrases[m->phrase].rule, tb, te, tb, te };
        if (rule->direction != D_BACKWARD) {
            size_t hi = nw;
            if (rule->max_scope && nw - m->end > rule->max_scope)
                hi = m->end + rule->max_scope;
            if (same[2 * i] != SIZE_MAX && sc->matches[same[2 * i]].start < hi)
                hi = sc->matches[same[2 * i]].start;
            for (size_t c = 0; c < C_COUNT; c++) {
                if (!(ends >> c & 1))
                    continue;
                while (next[c] < count[c] && sc->matches[sc->lists[at[c] + next[c]]].start < m->end)
                    next[c]++;
                if (next[c] < count[c]) {
                    size_t s = sc->matches[sc->lists[at[c] + next[c]]].start;
                    hi = s < hi ? s : hi;
                }
            }
            if (m->end < hi)
                sc->scopes[ns++] = (scope){ o->phrases[m->phrase].rule, sc->words[m->end].begin,
                                            sc->words[hi - 1].end, tb, te };
        }
        if (rule->direction != D_FORWARD) {
            size_t lo = rule->max_scope && m->start > rule->max_scope ? m->start - rule->max_scope
                                                                     : 0;
            if (same[2 * i + 1] != SIZE_MAX && sc->matches[same[2 * i + 1]].end > lo)
                lo = sc->matches[same[2 * i + 1]].end;
            for (size_t c = 0; c < C_COUNT; c++) {
                if (!(ends >> c & 1))
                    continue;
                while (prev[c] < count[c] &&
                       sc->matches[sc->lists[at[c] + prev[c]]].end <= m->start)
                    prev[c]++;
                if (prev[c] > 0) {
                    size_t e = sc->matches[sc->lists[at[c] + prev[c] - 1]].end;
                    lo = e > lo ? e : lo;
                }
            }
            if (lo < m->start)
                sc->scopes[ns++] = (scope){ o->phrases[m->phrase].rule, sc->words[lo].begin,
                                            sc->words[m->start - 1].end, tb, te };
        }
    }
    /* One rule's overlapping scopes ("no fever, no chills, no ...") merged
     * first, so each target is visited once per rule, not once per trigger. */
    qsort(sc->scopes, ns, sizeof *sc->scopes, by_rule_begin);
    qsort(sc->triggers, nt, sizeof *sc->triggers, by_rule_begin);
    for (size_t i = 0, r0 = 0, r1 = 0; i < ns;) {
        size_t first = i;
        scope u = sc->scopes[i++];
        while (i < ns && sc->scopes[i].rule == u.rule && sc->scopes[i].begin <= u.end) {
            u.end = sc->scopes[i].end > u.end ? sc->scopes[i].end : u.end;
            i++;
        }
        if (r1 == r0 || sc->triggers[r0].rule != u.rule) { /* the next rule's triggers */
            r0 = r1;
            while (sc->triggers[r0].rule < u.rule) /* a rule with a scope has a trigger */
                r0++;
            r1 = r0;
            while (r1 < nt && sc->triggers[r1].rule == u.rule)
                r1++;
        }
        applying a = { o, &o->rules[u.rule], t, tr, sc->scopes + first, i - first,
                       sc->triggers + r0, r1 - r0 };
        modify(&a, n, u.begin, u.end);
    }
    return 0;
}

static int bad_spans(const char *what, size_t i)
{
    return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                        "context: %s %zu is out of range or out of order", what, i);
}

int medner__context_apply_sentences(const medner_context_rules *rules, const char *text,
                                    size_t len, const medner__span *sentences, size_t n_sent,
                                    const medner__section *sections, size_t n_sec,
                                    medner__ctx_target *targets, size_t n)
{
    if (rules == NULL || (text == NULL && len > 0) || (sentences == NULL && n_sent > 0) ||
        (sections == NULL && n_sec > 0) || (targets == NULL && n > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "context: rules, and text, sentences, sections and targets when "
                            "their counts are not 0, are required");
    for (size_t i = 0; i < n; i++)
        if (targets[i].begin >= targets[i].end || targets[i].end > len)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "context: span %zu is empty or ends past the text (%zu bytes)",
                                i, len);
    for (size_t i = 0; i < n_sent; i++)
        if (sentences[i].begin >= sentences[i].end || sentences[i].end > len ||
            (i > 0 && sentences[i].begin < sentences[i - 1].end))
            return bad_spans("sentence", i);
    for (size_t i = 0; i < n_sec; i++)
        if (sections[i].begin > sections[i].end || sections[i].end > len ||
            (i > 0 && sections[i].begin < sections[i - 1].end))
            return bad_spans("section", i);
    if (n == 0)
        return MEDNER_OK;
    tgt *t = medner__malloc(n <= SIZE_MAX / sizeof *t ? n * sizeof *t : SIZE_MAX);
    if (t == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "context: out of memory for %zu spans", n);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *label = (const unsigned char *)targets[i].label;
        size_t label_len = label ? strlen((const char *)label) : 0;
        if (label_len > 2 && label[1] == '-' && strchr("BIESLUbieslu", label[0]) != NULL) {
            label += 2; /* B-Disease -> Disease */
            label_len -= 2;
        }
        t[i] = (tgt){ .begin = targets[i].begin, .end = targets[i].end, .index = i,
                      .label = label, .label_len = label_len, .flags = 0,
                      .section = MEDNER_SECTION_NONE, .sentence = n_sent ? 0 : SIZE_MAX };
    }
    qsort(t, n, sizeof *t, tgt_cmp);
    ends_tree tr = { NULL, 1 };
    while (tr.size < n)
        tr.size *= 2;
    tr.max = tr.size <= SIZE_MAX / 2 / sizeof *tr.max ? medner__calloc(2 * tr.size, sizeof *tr.max)
                                                     : NULL;
    if (tr.max == NULL) {
        medner__free(t);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "context: out of memory for %zu spans", n);
    }
    for (size_t i = 0; i < n; i++)
        tr.max[tr.size + i] = t[i].end;
    for (size_t k = tr.size; k-- > 1;)
        tr.max[k] = tr.max[2 * k] > tr.max[2 * k + 1] ? tr.max[2 * k] : tr.max[2 * k + 1];
    scratch sc;
    memset(&sc, 0, sizeof sc);
    int rc = MEDNER_OK;
    sc.last = medner__malloc((rules->n_groups + 1) * sizeof *sc.last);
    if (sc.last == NULL)
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "context: out of memory for %zu spans", n);
    for (size_t g = 0; sc.last != NULL && g < rules->n_groups; g++)
        sc.last[g] = SIZE_MAX;
    for (size_t s = 0; s < n_sent && rc == MEDNER_OK; s++)
        if (run_sentence(rules, (const unsigned char *)text, sentences[s].begin, sentences[s].end,
                         &sc, t, n, &tr) != 0)
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "context: out of memory in sentence %zu",
                              s);
    medner__free(tr.max);
    medner__free(sc.words);
    medner__free(sc.matches);
    medner__free(sc.taken);
    medner__free(sc.lists);
    medner__free(sc.scopes);
    medner__free(sc.triggers);
    medner__free(sc.same);
    medner__free(sc.last);
    if (rc != MEDNER_OK) {
        medner__free(t);
        return rc;
    }
    /* sentence and section of each target: sweeps in begin order */
    for (size_t i = 0, s = 0, c = 0; i < n; i++) {
        while (s + 1 < n_sent && sentences[s + 1].begin <= t[i].begin)
            s++;
        while (c < n_sec && sections[c].end <= t[i].begin)
            c++;
        if (n_sent)
            t[i].sentence = s;
        if (c < n_sec && sections[c].begin <= t[i].begin)
            t[i].section = sections[c].category;
    }
    for (size_t i = 0; i < n; i++) {
        medner__ctx_target *d = &targets[t[i].index];
        d->flags = t[i].flags;
        d->section = t[i].section;
        d->sentence = t[i].sentence;
    }
    medner__free(t);
    return MEDNER_OK;
}

/* ---- clinical label sets -------------------------------------------------- */

int medner__labels_look_clinical(const char *const *labels, size_t n)
{
    /* substrings of entity types that name clinical concepts (MACCROBAT,
     * i2b2 2010, n2c2 2018, NCBI disease, BC5CDR chemicals/diseases) */
    static const char *const clinical[] = {
        "disease", "disorder", "symptom", "sign", "problem", "finding", "diagnos", "medication",
        "drug", "dosage", "procedure", "treatment", "therapy", "test", "lab_value", "condition",
        "syndrome", "injury", "clinical", "chemical", "history", "severity", "outcome"
    };
    for (size_t i = 0; labels != NULL && i < n; i++) {
        const char *l = labels[i];
        if (l == NULL)
            continue;
        size_t len = strlen(l);
        if (len > 2 && l[1] == '-' && strchr("BIESLUbieslu", l[0]) != NULL) {
            l += 2;
            len -= 2;
        }
        for (size_t k = 0; k < MEDNER_ARRAY_LEN(clinical); k++) {
            size_t kl = strlen(clinical[k]);
            for (size_t j = 0; j + kl <= len; j++)
                if (equal_lower((const unsigned char *)l + j, kl, clinical[k], kl))
                    return 1;
        }
    }
    return 0;
}
