/*
 * YAML pipeline configuration (docs/config.md), read with libyaml's event
 * API in two passes over the file's bytes (the shared strict reader,
 * src/yaml/yaml_reader.h):
 *   1. syntax: every event, so a file that is not YAML is MEDNER_E_PARSE
 *      whatever else is wrong with it, and nesting is capped;
 *   2. schema: a recursive descent over the events that stops at the first
 *      problem in document order (MEDNER_E_INVALID_CONFIG).
 * The event API never expands aliases and no tree is built, so memory stays
 * proportional to the file (capped at 1 MiB). Anchors and aliases are
 * refused anyway: a configuration has no use for them.
 *
 * Scalars are resolved with the YAML 1.2 core schema: plain `true`/`false`
 * are booleans, plain numbers are numbers, plain `null`/`~`/empty is null,
 * and a quoted scalar is always a string.
 *
 * This file is the schema (keys, enumeration words, label lists, what each
 * key sets, overrides); reading one typed scalar (string, path, integer,
 * boolean, score, number syntax) is config_values.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/config_values.h"

/* ---- enumerations ------------------------------------------------------- */

typedef struct word {
    const char *word;
    int value;
} word;

typedef struct enum_def {
    const char *key;
    const word *words;
    size_t n;
    const char *list; /* for messages */
    int default_is;   /* the value 0 stands for */
} enum_def;

static const word aggregation_words[] = {
    { "none", MEDNER_AGGREGATION_NONE },       { "simple", MEDNER_AGGREGATION_SIMPLE },
    { "first", MEDNER_AGGREGATION_FIRST },     { "average", MEDNER_AGGREGATION_AVERAGE },
    { "max", MEDNER_AGGREGATION_MAX },
};
static const word decoding_words[] = {
    { "argmax", MEDNER_DECODING_ARGMAX }, { "constrained", MEDNER_DECODING_CONSTRAINED },
};
static const word scheme_words[] = {
    { "auto", MEDNER_SCHEME_AUTO }, { "io", MEDNER_SCHEME_IO },
    { "bio", MEDNER_SCHEME_BIO },   { "bioes", MEDNER_SCHEME_BIOES },
};
static const word merge_words[] = {
    { "center", MEDNER_MERGE_CENTER }, { "hf", MEDNER_MERGE_HF },
};
static const word segment_words[] = {
    { "none", MEDNER_SEGMENT_NONE }, { "sentence", MEDNER_SEGMENT_SENTENCE },
};
static const word precision_words[] = {
    { "fp32", MEDNER_PRECISION_FP32 }, { "bf16", MEDNER_PRECISION_BF16 },
    { "int8", MEDNER_PRECISION_INT8 }, { "auto", MEDNER_PRECISION_AUTO },
};

static const enum_def enums[] = {
    { "aggregation", aggregation_words, MEDNER_ARRAY_LEN(aggregation_words),
      "none|simple|first|average|max", MEDNER_AGGREGATION_FIRST },
    { "decoding", decoding_words, MEDNER_ARRAY_LEN(decoding_words), "argmax|constrained",
      MEDNER_DECODING_ARGMAX },
    { "scheme", scheme_words, MEDNER_ARRAY_LEN(scheme_words), "auto|io|bio|bioes",
      MEDNER_SCHEME_AUTO },
    { "merge", merge_words, MEDNER_ARRAY_LEN(merge_words), "center|hf", MEDNER_MERGE_CENTER },
    { "precision", precision_words, MEDNER_ARRAY_LEN(precision_words), "fp32|bf16|int8|auto",
      MEDNER_PRECISION_FP32 },
    { "segment", segment_words, MEDNER_ARRAY_LEN(segment_words), "none|sentence",
      MEDNER_SEGMENT_NONE },
};

static const enum_def *find_enum(const char *key)
{
    for (size_t i = 0; key && i < MEDNER_ARRAY_LEN(enums); i++)
        if (strcmp(enums[i].key, key) == 0)
            return &enums[i];
    return NULL;
}

static int lookup_word(const enum_def *e, const char *w, size_t len, int *out)
{
    for (size_t i = 0; i < e->n; i++)
        if (strlen(e->words[i].word) == len && memcmp(e->words[i].word, w, len) == 0) {
            *out = e->words[i].value;
            return 1;
        }
    return 0;
}

int medner__config_enum_value(const char *key, const char *w, int *out)
{
    const enum_def *e = find_enum(key);
    if (e == NULL || w == NULL || out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__config_enum_value: bad arguments");
    if (lookup_word(e, w, strlen(w), out))
        return MEDNER_OK;
    char found[48];
    medner__yaml_excerpt(found, sizeof found, (const unsigned char *)w, strlen(w));
    return medner__fail(MEDNER_E_INVALID_CONFIG, "\"%s\" must be one of %s; found \"%s\"", key,
                        e->list, found);
}

const char *medner__config_enum_name(const char *key, int value)
{
    const enum_def *e = find_enum(key);
    if (e == NULL)
        return NULL;
    if (value == 0)
        value = e->default_is;
    for (size_t i = 0; i < e->n; i++)
        if (e->words[i].value == value)
            return e->words[i].word;
    return NULL;
}

/* ---- the reader --------------------------------------------------------- */

typedef struct reader {
    medner__cfg_values v;      /* the event reader and the path (config_values.h) */
    medner__config_file *cfg;
    size_t cap_ignore, cap_keep;
    yaml_mark_t *rename_marks; /* where each rename key is, for duplicate reports */
} reader;

static const medner__yaml_dialect config_yaml = {
    .noun = "a configuration",
    .max_depth = MEDNER__CONFIG_MAX_DEPTH,
    .syntax_status = MEDNER_E_PARSE,
    .depth_status = MEDNER_E_LIMIT,
    .invalid_status = MEDNER_E_INVALID_CONFIG,
    .parser_oom = " in the YAML parser",
    .byte_offsets = 1,
    .describe_styles = 1,
};

#define cfg_error(r, status, m, ...) medner__cfg_error(&(r)->v, status, m, __VA_ARGS__)

static int read_enum(reader *r, const char *key, int *out)
{
    const enum_def *e = find_enum(key);
    char subject[32], expected[80];
    snprintf(subject, sizeof subject, "\"%s\"", key);
    snprintf(expected, sizeof expected, "one of %s", e->list);
    yaml_event_t ev;
    int rc = medner__cfg_expect_scalar(&r->v, &ev, subject, expected);
    if (rc != MEDNER_OK)
        return rc;
    if (medner__yaml_scalar_kind(&ev) != MEDNER__YAML_STR ||
        !lookup_word(e, (const char *)ev.data.scalar.value, ev.data.scalar.length, out))
        return medner__yaml_type_error(&r->v.y, &ev, subject, expected);
    yaml_event_delete(&ev);
    return MEDNER_OK;
}

static int oom(const reader *r)
{
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", r->v.path);
}

#define LABEL_NAME "a label name (a non-empty string)"

/* labels.ignore / labels.keep: a list of label names. */
static int read_label_list(reader *r, const char *key, char ***items, size_t *n, size_t *cap)
{
    char subject[48], item[64];
    snprintf(subject, sizeof subject, "\"labels.%s\"", key);
    snprintf(item, sizeof item, "an item of \"labels.%s\"", key);
    yaml_event_t ev;
    yaml_mark_t start;
    int rc = medner__yaml_list_begin(&r->v.y, subject, "a list of label names", &start);
    if (rc != MEDNER_OK)
        return rc;
    while ((rc = medner__yaml_list_item(&r->v.y, &ev)) > 0) {
        if (ev.type != YAML_SCALAR_EVENT)
            return medner__yaml_type_error(&r->v.y, &ev, item, LABEL_NAME);
        if (medner__yaml_scalar_kind(&ev) != MEDNER__YAML_STR || ev.data.scalar.length == 0)
            return medner__yaml_type_error(&r->v.y, &ev, item, LABEL_NAME);
        if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length) != NULL) {
            yaml_mark_t m = ev.start_mark;
            yaml_event_delete(&ev);
            return cfg_error(r, MEDNER_E_INVALID_CONFIG, m, "%s must not contain NUL characters",
                             item);
        }
        char *s = medner__strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        char **grown = s ? medner__cfg_grow(*items, cap, *n, sizeof **items) : NULL;
        if (grown == NULL) {
            medner__free(s);
            return oom(r);
        }
        *items = grown;
        (*items)[(*n)++] = s;
    }
    if (rc < 0)
        return rc;
    (void)start;
    if (strcmp(key, "ignore") == 0) /* [] ignores no label, O included */
        r->cfg->decoder.explicit_fields |= MEDNER_DECODER_EXPLICIT_IGNORE_LABELS;
    return MEDNER_OK;
}

/* One label name scalar (a rename key or value), copied. */
static int read_label(reader *r, yaml_event_t *ev, const char *subject, char **out)
{
    if (ev->type != YAML_SCALAR_EVENT || medner__yaml_scalar_kind(ev) != MEDNER__YAML_STR ||
        ev->data.scalar.length == 0)
        return medner__yaml_type_error(&r->v.y, ev, subject, LABEL_NAME);
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL) {
        yaml_mark_t m = ev->start_mark;
        yaml_event_delete(ev);
        return cfg_error(r, MEDNER_E_INVALID_CONFIG, m, "%s must not contain NUL characters",
                         subject);
    }
    *out = medner__strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    yaml_event_delete(ev);
    return *out ? MEDNER_OK : oom(r);
}

typedef struct keyed {
    const char *s;
    size_t index;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Duplicate rename keys: report the earliest second occurrence. */
static int check_rename_duplicates(reader *r)
{
    medner__config_file *c = r->cfg;
    if (c->n_renames < 2)
        return MEDNER_OK;
    size_t bytes;
    if (medner__mul_size(c->n_renames, sizeof(keyed), &bytes) != 0)
        return oom(r);
    keyed *k = medner__malloc(bytes);
    if (k == NULL)
        return oom(r);
    for (size_t i = 0; i < c->n_renames; i++)
        k[i] = (keyed){ c->rename_from[i], i };
    qsort(k, c->n_renames, sizeof *k, keyed_cmp);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < c->n_renames; i++)
        if (strcmp(k[i].s, k[i - 1].s) == 0 && k[i].index < dup) {
            dup = k[i].index;
            /* the group's first occurrence */
            size_t j = i - 1;
            while (j > 0 && strcmp(k[j - 1].s, k[i].s) == 0)
                j--;
            first = k[j].index;
        }
    medner__free(k);
    if (dup == SIZE_MAX)
        return MEDNER_OK;
    char ex[48];
    medner__yaml_excerpt(ex, sizeof ex, (const unsigned char *)c->rename_from[dup],
                         strlen(c->rename_from[dup]));
    return cfg_error(r, MEDNER_E_INVALID_CONFIG, r->rename_marks[dup],
                     "duplicate key \"%s\" in \"labels.rename\" (first at %zu:%zu)", ex,
                     r->rename_marks[first].line + 1, r->rename_marks[first].column + 1);
}

/* labels.rename: a mapping FROM: TO. */
static int read_renames(reader *r)
{
    medner__config_file *c = r->cfg;
    yaml_event_t ev;
    int rc = medner__yaml_next(&r->v.y, &ev);
    if (rc != MEDNER_OK)
        return rc;
    if (ev.type != YAML_MAPPING_START_EVENT)
        return medner__yaml_type_error(&r->v.y, &ev, "\"labels.rename\"",
                                       "a mapping of label names (FROM: TO)");
    yaml_event_delete(&ev);
    size_t cap_from = 0, cap_to = 0, cap_marks = 0;
    for (;;) {
        if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_mark_t key_mark = ev.start_mark;
        char **from_arr =
            medner__cfg_grow(c->rename_from, &cap_from, c->n_renames, sizeof *from_arr);
        if (from_arr)
            c->rename_from = from_arr;
        char **to_arr = from_arr ? medner__cfg_grow(c->rename_to, &cap_to, c->n_renames,
                                                    sizeof *to_arr)
                                 : NULL;
        if (to_arr)
            c->rename_to = to_arr;
        yaml_mark_t *marks =
            to_arr ? medner__cfg_grow(r->rename_marks, &cap_marks, c->n_renames, sizeof *marks)
                   : NULL;
        if (marks == NULL) {
            yaml_event_delete(&ev);
            return oom(r);
        }
        r->rename_marks = marks;
        char *from = NULL, *to = NULL;
        if ((rc = read_label(r, &ev, "a key of \"labels.rename\"", &from)) != MEDNER_OK)
            return rc;
        char subject[96], ex[48];
        medner__yaml_excerpt(ex, sizeof ex, (const unsigned char *)from, strlen(from));
        snprintf(subject, sizeof subject, "the new name of \"%s\" in \"labels.rename\"", ex);
        if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK ||
            (rc = read_label(r, &ev, subject, &to)) != MEDNER_OK) {
            medner__free(from);
            return rc;
        }
        c->rename_from[c->n_renames] = from;
        c->rename_to[c->n_renames] = to;
        r->rename_marks[c->n_renames] = key_mark;
        c->n_renames++;
    }
    return check_rename_duplicates(r);
}

static const char *const label_keys[] = { "ignore", "keep", "rename" };

static int read_labels(reader *r)
{
    medner__config_file *c = r->cfg;
    yaml_event_t ev;
    int rc = medner__yaml_next(&r->v.y, &ev);
    if (rc != MEDNER_OK)
        return rc;
    if (ev.type != YAML_MAPPING_START_EVENT)
        return medner__yaml_type_error(&r->v.y, &ev, "\"labels\"",
                                       "a mapping with the keys ignore, keep, rename");
    yaml_event_delete(&ev);
    yaml_mark_t seen[3];
    int have[3] = { 0, 0, 0 };
    for (;;) {
        if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return MEDNER_OK;
        }
        if (ev.type != YAML_SCALAR_EVENT)
            return medner__yaml_type_error(&r->v.y, &ev, "a key of \"labels\"", "a string");
        size_t k = 0;
        while (k < 3 && !(strlen(label_keys[k]) == ev.data.scalar.length &&
                          memcmp(label_keys[k], ev.data.scalar.value, ev.data.scalar.length) == 0))
            k++;
        yaml_mark_t m = ev.start_mark;
        char ex[48];
        medner__yaml_excerpt(ex, sizeof ex, ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        if (k == 3)
            return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                             "unknown key \"%s\" in \"labels\" (expected ignore, keep or rename)",
                             ex);
        if (have[k])
            return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                             "duplicate key \"%s\" in \"labels\" (first at %zu:%zu)", ex,
                             seen[k].line + 1, seen[k].column + 1);
        have[k] = 1;
        seen[k] = m;
        if (k == 0) {
            rc = read_label_list(r, "ignore", &c->ignore, &c->n_ignore, &r->cap_ignore);
            c->set |= MEDNER__CONFIG_HAS_IGNORE;
        } else if (k == 1) {
            rc = read_label_list(r, "keep", &c->keep, &c->n_keep, &r->cap_keep);
            c->set |= MEDNER__CONFIG_HAS_KEEP;
        } else {
            rc = read_renames(r);
            c->set |= MEDNER__CONFIG_HAS_RENAME;
        }
        if (rc != MEDNER_OK)
            return rc;
    }
}

/* ---- top level ----------------------------------------------------------- */

enum top_key {
    T_MODEL, T_BASE, T_ADAPTER, T_AGGREGATION, T_DECODING, T_SCHEME, T_MAX_LENGTH, T_OVERLAP,
    T_BATCH_SIZE, T_THREADS, T_BLAS_THREADS, T_MERGE, T_FIRST_WINDOW_ONLY, T_MIN_SCORE, T_LABELS,
    T_CONTEXT, T_PRECISION, T_SEGMENT, T_COUNT
};

static const char *const top_keys[T_COUNT] = {
    "model", "base", "adapter", "aggregation", "decoding", "scheme", "max_length", "overlap",
    "batch_size", "threads", "encoder_threads", "merge", "first_window_only", "min_score", "labels",
    "context", "precision", "segment"
};

#define TOP_KEY_LIST                                                                          \
    "model, base, adapter, aggregation, decoding, scheme, max_length, overlap, batch_size, " \
    "threads, encoder_threads, merge, first_window_only, min_score, labels, context, precision, " \
    "segment"

/* context: default | on | off | a rule file (relative to the file's directory). */
static int read_context(reader *r)
{
    static const char expected[] = "default, on, off or a rule file (a non-empty string)";
    medner__config_file *c = r->cfg;
    char *s = NULL;
    int rc = medner__cfg_read_string(&r->v, "\"context\"", expected, 0, &s);
    if (rc != MEDNER_OK)
        return rc;
    c->set |= MEDNER__CONFIG_HAS_CONTEXT;
    if (strcmp(s, "default") == 0 || strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
        c->params.context = strcmp(s, "off") == 0 ? MEDNER_OFF : MEDNER_ON;
        medner__free(s);
        return MEDNER_OK;
    }
    size_t pre = s[0] != '/' ? r->v.dir_len : 0, len = strlen(s);
    char *path = medner__malloc(pre + len + 1);
    if (path == NULL) {
        medner__free(s);
        return oom(r);
    }
    memcpy(path, r->v.path, pre);
    memcpy(path + pre, s, len + 1);
    medner__free(s);
    c->params.context = MEDNER_ON;
    c->context_rules = path;
    return MEDNER_OK;
}

static int read_value(reader *r, int k)
{
    medner__config_file *c = r->cfg;
    medner_pipeline_params *p = &c->params;
    medner_decoder_params *d = &c->decoder;
    char subject[40];
    snprintf(subject, sizeof subject, "\"%s\"", top_keys[k]);
    int v = 0, rc;
    switch (k) {
    case T_MODEL:
    case T_BASE:
        c->set |= MEDNER__CONFIG_HAS_MODEL;
        return medner__cfg_read_string(&r->v, subject, "a directory (a non-empty string)", 1,
                                       &c->model_dir);
    case T_ADAPTER:
        c->set |= MEDNER__CONFIG_HAS_ADAPTER;
        return medner__cfg_read_string(&r->v, subject, "a directory (a non-empty string)", 1,
                                       &c->adapter_dir);
    case T_AGGREGATION:
        c->set |= MEDNER__CONFIG_HAS_AGGREGATION;
        rc = read_enum(r, top_keys[k], &v);
        d->aggregation = (medner_aggregation)v;
        return rc;
    case T_DECODING:
        c->set |= MEDNER__CONFIG_HAS_DECODING;
        rc = read_enum(r, top_keys[k], &v);
        d->decoding = (medner_decoding)v;
        return rc;
    case T_SCHEME:
        c->set |= MEDNER__CONFIG_HAS_SCHEME;
        rc = read_enum(r, top_keys[k], &v);
        d->scheme = (medner_scheme)v;
        return rc;
    case T_SEGMENT:
        c->set |= MEDNER__CONFIG_HAS_SEGMENT;
        p->explicit_fields |= MEDNER_PIPELINE_EXPLICIT_SEGMENT; /* segment: none wins too */
        rc = read_enum(r, top_keys[k], &v);
        p->segment = (medner_segment)v;
        return rc;
    case T_MERGE:
        c->set |= MEDNER__CONFIG_HAS_MERGE;
        rc = read_enum(r, top_keys[k], &v);
        p->merge = (medner_merge)v;
        return rc;
    case T_MAX_LENGTH:
        c->set |= MEDNER__CONFIG_HAS_MAX_LENGTH;
        return medner__cfg_read_uint(&r->v, subject, 3, UINT32_MAX, &p->max_length);
    case T_OVERLAP:
        c->set |= MEDNER__CONFIG_HAS_OVERLAP;
        p->explicit_fields |= MEDNER_PIPELINE_EXPLICIT_OVERLAP; /* overlap: 0 means none */
        return medner__cfg_read_uint(&r->v, subject, 0, UINT32_MAX, &p->overlap);
    case T_BATCH_SIZE:
        c->set |= MEDNER__CONFIG_HAS_BATCH_SIZE;
        return medner__cfg_read_uint(&r->v, subject, 1, MEDNER__MAX_BATCH_SIZE, &p->batch_size);
    case T_THREADS:
        c->set |= MEDNER__CONFIG_HAS_THREADS;
        return medner__cfg_read_uint(&r->v, subject, 1, MEDNER__MAX_THREADS, &p->threads);
    case T_BLAS_THREADS:
        c->set |= MEDNER__CONFIG_HAS_BLAS_THREADS;
        return medner__cfg_read_uint(&r->v, subject, 0, MEDNER__MAX_THREADS, &p->encoder_threads);
    case T_FIRST_WINDOW_ONLY:
        c->set |= MEDNER__CONFIG_HAS_FIRST_WINDOW_ONLY;
        return medner__cfg_read_bool(&r->v, subject, &p->first_window_only);
    case T_MIN_SCORE:
        c->set |= MEDNER__CONFIG_HAS_MIN_SCORE;
        d->explicit_fields |= MEDNER_DECODER_EXPLICIT_MIN_SCORE;
        return medner__cfg_read_score(&r->v, subject, &d->min_score);
    case T_CONTEXT:
        return read_context(r);
    case T_PRECISION:
        c->set |= MEDNER__CONFIG_HAS_PRECISION;
        rc = read_enum(r, top_keys[k], &v);
        p->precision = (medner_precision)v;
        return rc;
    default:
        return read_labels(r);
    }
}

static int read_top_mapping(reader *r, yaml_mark_t start)
{
    yaml_mark_t seen[T_COUNT];
    int have[T_COUNT] = { 0 };
    yaml_event_t ev;
    int rc;
    for (;;) {
        if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_SCALAR_EVENT)
            return medner__yaml_type_error(&r->v.y, &ev, "a key", "a string");
        int k = 0;
        while (k < T_COUNT && !(strlen(top_keys[k]) == ev.data.scalar.length &&
                                memcmp(top_keys[k], ev.data.scalar.value,
                                       ev.data.scalar.length) == 0))
            k++;
        yaml_mark_t m = ev.start_mark;
        char ex[48];
        medner__yaml_excerpt(ex, sizeof ex, ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        if (k == T_COUNT)
            return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                             "unknown key \"%s\" (expected one of " TOP_KEY_LIST ")", ex);
        if (have[k])
            return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                             "duplicate key \"%s\" (first at %zu:%zu)", ex, seen[k].line + 1,
                             seen[k].column + 1);
        int other = k == T_MODEL ? T_BASE : k == T_BASE ? T_MODEL : -1;
        if (other >= 0 && have[other])
            return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                             "\"%s\" and \"%s\" (at %zu:%zu) both name the model directory; "
                             "give one of them", top_keys[k], top_keys[other],
                             seen[other].line + 1, seen[other].column + 1);
        have[k] = 1;
        seen[k] = m;
        if ((rc = read_value(r, k)) != MEDNER_OK)
            return rc;
    }
    if (have[T_BASE] && !have[T_ADAPTER])
        return cfg_error(r, MEDNER_E_INVALID_CONFIG, seen[T_BASE],
                         "\"base\" is the base model of an adapter: add \"adapter\", or use "
                         "\"model\"");
    if (!have[T_MODEL] && !have[T_BASE])
        return cfg_error(r, MEDNER_E_INVALID_CONFIG, start,
                         "missing \"model\" (the model directory; or \"base\" with \"adapter\")");
    return MEDNER_OK;
}

/* Pass 2: the schema. */
static int read_config(reader *r)
{
    yaml_event_t ev;
    yaml_mark_t m;
    int rc = medner__yaml_next(&r->v.y, &ev); /* STREAM-START */
    if (rc != MEDNER_OK)
        return rc;
    yaml_event_delete(&ev);
    if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK)
        return rc;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        m = (yaml_mark_t){ 0, 0, 0 };
        return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                         "empty configuration (expected a mapping with at least \"model\")");
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK)
        return rc;
    if (ev.type == YAML_SCALAR_EVENT && medner__yaml_scalar_kind(&ev) == MEDNER__YAML_NULL) {
        m = ev.start_mark;
        yaml_event_delete(&ev);
        return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                         "empty configuration (expected a mapping with at least \"model\")");
    }
    if (ev.type != YAML_MAPPING_START_EVENT)
        return medner__yaml_type_error(&r->v.y, &ev, "the top level", "a mapping of keys to values");
    m = ev.start_mark;
    yaml_event_delete(&ev);
    if ((rc = read_top_mapping(r, m)) != MEDNER_OK)
        return rc;
    if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK) /* DOCUMENT-END */
        return rc;
    yaml_event_delete(&ev);
    if ((rc = medner__yaml_next(&r->v.y, &ev)) != MEDNER_OK)
        return rc;
    m = ev.start_mark;
    int more = ev.type == YAML_DOCUMENT_START_EVENT;
    yaml_event_delete(&ev);
    if (more)
        return cfg_error(r, MEDNER_E_INVALID_CONFIG, m,
                         "a second YAML document (a configuration is one document)");
    return MEDNER_OK;
}

int medner__config_file_load(medner__config_file *out, const char *path)
{
    if (out == NULL || path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner__config_file_load: out and path are required");
    char *text = NULL;
    size_t len = 0;
    int rc = medner__read_file(path, MEDNER__CONFIG_MAX_FILE, &text, &len);
    if (rc != MEDNER_OK)
        return rc;
    medner__config_file cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.params.struct_size = sizeof cfg.params;
    cfg.decoder.struct_size = sizeof cfg.decoder;
    reader r;
    memset(&r, 0, sizeof r);
    r.v.path = path;
    r.cfg = &cfg;
    medner__yaml_init(&r.v.y, &config_yaml, path, text, len);
    const char *slash = strrchr(path, '/');
    r.v.dir_len = slash ? (size_t)(slash - path) + 1 : 0;

    rc = medner__yaml_open(&r.v.y);
    if (rc == MEDNER_OK) {
        rc = read_config(&r);
        medner__yaml_close(&r.v.y);
    }
    medner__free(r.rename_marks);
    medner__free(text);
    if (rc != MEDNER_OK) {
        medner__config_file_release(&cfg);
        return rc;
    }
    cfg.params.model_dir = cfg.model_dir;
    cfg.params.adapter_dir = cfg.adapter_dir;
    cfg.params.context_rules = cfg.context_rules;
    /* (arrays are allocated only for a first element: NULL when empty) */
    cfg.decoder.ignore_labels = (const char *const *)cfg.ignore;
    cfg.decoder.n_ignore_labels = cfg.n_ignore;
    cfg.decoder.keep_labels = (const char *const *)cfg.keep;
    cfg.decoder.n_keep_labels = cfg.n_keep;
    cfg.decoder.rename_from = (const char *const *)cfg.rename_from;
    cfg.decoder.rename_to = (const char *const *)cfg.rename_to;
    cfg.decoder.n_renames = cfg.n_renames;
    *out = cfg;
    out->params.decoder = &out->decoder;
    return MEDNER_OK;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        medner__free(items[i]);
    medner__free(items);
}

void medner__config_file_release(medner__config_file *cfg)
{
    if (cfg == NULL)
        return;
    medner__free(cfg->model_dir);
    medner__free(cfg->adapter_dir);
    medner__free(cfg->context_rules);
    free_list(cfg->ignore, cfg->n_ignore);
    free_list(cfg->keep, cfg->n_keep);
    free_list(cfg->rename_from, cfg->n_renames);
    free_list(cfg->rename_to, cfg->n_renames);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- overrides ----------------------------------------------------------- */

int medner__config_apply_overrides(medner_pipeline_params *dst,
                                   medner_decoder_params *dst_decoder,
                                   const medner_pipeline_params *overrides)
{
    if (dst == NULL || dst_decoder == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner__config_apply_overrides: dst and dst_decoder are required");
    medner_pipeline_params o;
    medner_decoder_params od;
    memset(&o, 0, sizeof o);
    memset(&od, 0, sizeof od);
    o.struct_size = sizeof o;
    od.struct_size = sizeof od;
    int rc = medner__params_copy(&o, sizeof o, overrides, MEDNER__SIZE_V0_1_PIPELINE_PARAMS,
                                 "medner_pipeline_params");
    if (rc != MEDNER_OK)
        return rc;
    if (o.decoder != NULL &&
        (rc = medner__params_copy(&od, sizeof od, o.decoder, MEDNER__SIZE_V0_1_DECODER_PARAMS,
                                  "medner_decoder_params")) != MEDNER_OK)
        return rc;
    if (o.reserved != 0 || o.reserved2 != 0 || o.reserved3 != 0 || od.reserved != 0 ||
        od.reserved2 != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "overrides: the reserved fields must be zero");
    if ((od.n_ignore_labels && !od.ignore_labels) || (od.n_keep_labels && !od.keep_labels) ||
        (od.n_renames && (!od.rename_from || !od.rename_to)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "overrides: a label list is NULL but its count is not 0");

    if (o.model_dir) dst->model_dir = o.model_dir;
    if (o.adapter_dir) dst->adapter_dir = o.adapter_dir;
    if (o.max_length) dst->max_length = o.max_length;
    if (o.overlap || (o.explicit_fields & MEDNER_PIPELINE_EXPLICIT_OVERLAP)) {
        dst->overlap = o.overlap;
        dst->explicit_fields |= o.explicit_fields & MEDNER_PIPELINE_EXPLICIT_OVERLAP;
    }
    if (o.progress) dst->progress = o.progress;
    if (o.abort_callback) dst->abort_callback = o.abort_callback;
    if (o.callback_user_data) dst->callback_user_data = o.callback_user_data;
    if (o.tokenizer) dst->tokenizer = o.tokenizer;
    if (o.batch_size) dst->batch_size = o.batch_size;
    if (o.threads) dst->threads = o.threads;
    if (o.merge) dst->merge = o.merge;
    if (o.first_window_only) dst->first_window_only = o.first_window_only;
    if (o.encoder_threads) dst->encoder_threads = o.encoder_threads;
    if (o.context) dst->context = o.context;
    if (o.context_rules) dst->context_rules = o.context_rules;
    if (o.precision) dst->precision = o.precision;
    if (o.segment || (o.explicit_fields & MEDNER_PIPELINE_EXPLICIT_SEGMENT)) {
        dst->segment = o.segment;
        dst->explicit_fields |= MEDNER_PIPELINE_EXPLICIT_SEGMENT;
    }

    if (od.aggregation) dst_decoder->aggregation = od.aggregation;
    if (od.decoding) dst_decoder->decoding = od.decoding;
    if (od.scheme) dst_decoder->scheme = od.scheme;
    if (od.min_score != 0.0 || (od.explicit_fields & MEDNER_DECODER_EXPLICIT_MIN_SCORE))
        dst_decoder->min_score = od.min_score;
    if (od.ignore_labels || od.n_ignore_labels ||
        (od.explicit_fields & MEDNER_DECODER_EXPLICIT_IGNORE_LABELS)) {
        dst_decoder->ignore_labels = od.ignore_labels;
        dst_decoder->n_ignore_labels = od.n_ignore_labels;
    }
    dst_decoder->explicit_fields |= od.explicit_fields;
    if (od.keep_labels || od.n_keep_labels) {
        dst_decoder->keep_labels = od.keep_labels;
        dst_decoder->n_keep_labels = od.n_keep_labels;
    }
    if (od.rename_from || od.rename_to || od.n_renames) {
        dst_decoder->rename_from = od.rename_from;
        dst_decoder->rename_to = od.rename_to;
        dst_decoder->n_renames = od.n_renames;
    }
    dst->decoder = dst_decoder;
    return MEDNER_OK;
}
