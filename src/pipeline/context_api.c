/*
 * The public face of the text and context subsystems (docs/context.md):
 * sentences, sections, ConText rules, and ConText over spans a caller
 * found. Lives in the pipeline subsystem because its result is a
 * medner_entities (decoder/), which text/ and context/ sit before.
 */
#include <stdlib.h>
#include <string.h>

#include "context/context.h"
#include "decoder/decoder.h"
#include "text/text.h"

struct medner_spans {
    size_t n;
    size_t *bounds;    /* 2n: begin, end */
    int32_t *category; /* n */
};

static const char *const section_names[] = {
    "none",
    "chief_complaint",
    "history_of_present_illness",
    "past_medical_history",
    "past_surgical_history",
    "family_history",
    "social_history",
    "medications",
    "allergies",
    "review_of_systems",
    "physical_exam",
    "results",
    "assessment_and_plan",
    "hospital_course",
    "other",
};

const char *medner_section_name(medner_section section)
{
    unsigned v = (unsigned)section;
    return v < MEDNER_ARRAY_LEN(section_names) ? section_names[v] : "unknown";
}

void medner_spans_free(medner_spans *s)
{
    if (s == NULL)
        return;
    medner__free(s->bounds);
    medner__free(s->category);
    medner__free(s);
}

static medner_spans *spans_new(size_t n)
{
    medner_spans *s = medner__calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->bounds = medner__malloc(2 * (n ? n : 1) * sizeof *s->bounds);
    s->category = medner__calloc(n ? n : 1, sizeof *s->category);
    if (s->bounds == NULL || s->category == NULL) {
        medner_spans_free(s);
        return NULL;
    }
    s->n = n;
    return s;
}

static int check_text(const char *fn, void *out, const char *text, size_t len)
{
    if (out == NULL || (text == NULL && len > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: out is NULL, or text is NULL with "
                                                       "len %zu", fn, len);
    return MEDNER_OK;
}

static int oom(const char *fn)
{
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", fn);
}

int medner_sentences_split(medner_spans **out, const char *text, size_t len)
{
    int rc = check_text("medner_sentences_split", out, text, len);
    if (rc != MEDNER_OK)
        return rc;
    medner__span *sp = NULL;
    size_t n = 0;
    if (len > 0 && medner__sentences_split(text, len, &sp, &n) != MEDNER_OK)
        return oom("medner_sentences_split");
    medner_spans *s = spans_new(n);
    if (s == NULL) {
        medner__free(sp);
        return oom("medner_sentences_split");
    }
    for (size_t i = 0; i < n; i++) {
        s->bounds[2 * i] = sp[i].begin;
        s->bounds[2 * i + 1] = sp[i].end;
    }
    medner__free(sp);
    *out = s;
    return MEDNER_OK;
}

int medner_sections_detect(medner_spans **out, const char *text, size_t len)
{
    int rc = check_text("medner_sections_detect", out, text, len);
    if (rc != MEDNER_OK)
        return rc;
    medner__section *sec = NULL;
    size_t n = 0;
    if (len > 0 && medner__sections_detect(text, len, &sec, &n) != MEDNER_OK)
        return oom("medner_sections_detect");
    medner_spans *s = spans_new(n);
    if (s == NULL) {
        medner__free(sec);
        return oom("medner_sections_detect");
    }
    for (size_t i = 0; i < n; i++) {
        s->bounds[2 * i] = sec[i].begin;
        s->bounds[2 * i + 1] = sec[i].end;
        s->category[i] = (int32_t)sec[i].category;
    }
    medner__free(sec);
    *out = s;
    return MEDNER_OK;
}

size_t medner_spans_count(const medner_spans *s)
{
    return s ? s->n : 0;
}

int medner_spans_get(const medner_spans *s, size_t index, size_t *begin, size_t *end,
                     int32_t *category)
{
    if (s == NULL || index >= s->n)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_spans_get: NULL spans or index %zu out of range (%zu spans)",
                            index, s ? s->n : 0);
    if (begin)
        *begin = s->bounds[2 * index];
    if (end)
        *end = s->bounds[2 * index + 1];
    if (category)
        *category = s->category[index];
    return MEDNER_OK;
}

int medner_context_rules_load(medner_context_rules **out, const char *path)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_context_rules_load: out is NULL");
    return medner__context_rules_load(out, path);
}

void medner_context_rules_free(medner_context_rules *rules)
{
    medner__context_rules_free(rules);
}

static int is_continuation(const char *text, size_t len, size_t at)
{
    return at < len && ((unsigned char)text[at] & 0xC0) == 0x80;
}

/* Order of the result: by begin, then end, then the caller's index. */
typedef struct order {
    size_t begin, end, index;
} order;

static int cmp_order(const void *a, const void *b)
{
    const order *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int medner_context_apply(medner_entities **out, const medner_context_rules *rules,
                         const char *text, size_t len, const size_t *begins, const size_t *ends,
                         const char *const *labels, size_t n)
{
    static const char fn[] = "medner_context_apply";
    if (out == NULL || rules == NULL || (text == NULL && len > 0) ||
        (n > 0 && (begins == NULL || ends == NULL)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "%s: out, rules and (for n > 0) begins and ends are required; text "
                            "may be NULL only when len is 0", fn);
    size_t bad = 0;
    if (medner_utf8_check(&bad, text, len) != MEDNER_OK)
        return medner__fail(MEDNER_E_INVALID_UTF8, "%s: the text is not valid UTF-8 at byte "
                                                   "offset %zu", fn, bad);
    for (size_t i = 0; i < n; i++) {
        if (begins[i] >= ends[i] || ends[i] > len)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "%s: span %zu [%zu, %zu) is empty or beyond the text (%zu bytes)",
                                fn, i, begins[i], ends[i], len);
        if (is_continuation(text, len, begins[i]) || is_continuation(text, len, ends[i]))
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "%s: span %zu [%zu, %zu) is not on UTF-8 character boundaries",
                                fn, i, begins[i], ends[i]);
    }
    size_t alloc = n ? n : 1;
    medner__ctx_target *t = medner__calloc(alloc, sizeof *t);
    order *o = medner__malloc(alloc * sizeof *o);
    medner__ent *items = medner__calloc(alloc, sizeof *items);
    medner__ent_context *ctx = medner__malloc(alloc * sizeof *ctx);
    const char **names = medner__calloc(alloc, sizeof *names);
    int rc = MEDNER_OK;
    if (!t || !o || !items || !ctx || !names) {
        rc = oom(fn);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        t[i].begin = begins[i];
        t[i].end = ends[i];
        t[i].label = labels ? labels[i] : NULL;
        o[i] = (order){ begins[i], ends[i], i };
    }
    if ((rc = medner__context_apply(rules, text, len, t, n)) != MEDNER_OK)
        goto done;
    qsort(o, n, sizeof *o, cmp_order);
    for (size_t k = 0; k < n; k++) {
        const medner__ctx_target *x = &t[o[k].index];
        items[k] = (medner__ent){ x->begin, x->end, k, 0.0, 0, 0 };
        ctx[k] = (medner__ent_context){ x->flags, (int32_t)x->section, x->sentence };
        names[k] = x->label;
    }
    rc = medner__entities_create_named(out, items, n, names, n, ctx, text, len, 0);
done:
    medner__free(t);
    medner__free(o);
    medner__free(items);
    medner__free(ctx);
    medner__free(names);
    return rc;
}
