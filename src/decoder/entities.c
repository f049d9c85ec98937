/* The medner_entities result object. */
#include <stdlib.h>
#include <string.h>

#include "decoder/decoder.h"

struct medner_entities {
    size_t n;
    medner__ent *items;
    medner__ent_context *ctx; /* n: clinical context of each entity */
    size_t *cp;     /* 2n: code-point begin/end */
    size_t *u16;    /* 2n: UTF-16 begin/end */
    char **names;   /* copies of the decoder's output names */
    size_t n_names;
    size_t n_tokens;
};

size_t medner_entities_num_tokens(const medner_entities *e)
{
    return e ? e->n_tokens : 0;
}

void medner_entities_free(medner_entities *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n_names; i++)
        medner__free(e->names[i]);
    medner__free(e->names);
    medner__free(e->items);
    medner__free(e->ctx);
    medner__free(e->cp);
    medner__free(e->u16);
    medner__free(e);
}

size_t medner_entities_count(const medner_entities *e)
{
    return e ? e->n : 0;
}

int medner_entities_get(const medner_entities *e, size_t index, medner_entity *out)
{
    if (e == NULL || out == NULL || index >= e->n)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_entities_get: NULL argument or index out of range");
    medner_entity ent = MEDNER_ENTITY_INIT, *out_ = out;
    out = &ent; /* filled whole, then copied up to the caller's struct_size */
    const medner__ent *x = &e->items[index];
    out->begin = x->begin;
    out->end = x->end;
    out->label = e->names[x->label];
    out->score = x->score;
    out->first_token = x->first_token;
    out->n_tokens = x->n_tokens;
    out->context = e->ctx[index].flags;
    out->section = e->ctx[index].section;
    out->sentence = e->ctx[index].sentence;
    /* a 0.1 caller's struct ends at n_tokens: only that much is written */
    return medner__struct_out(out_, &ent, sizeof ent, MEDNER__SIZE_V0_1_ENTITY,
                              "medner_entities_get");
}

static int span(const medner_entities *e, size_t index, const size_t *table, size_t *begin,
                size_t *end)
{
    if (e == NULL || index >= e->n)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_entities_span: NULL argument or index out of range");
    if (begin)
        *begin = table[2 * index];
    if (end)
        *end = table[2 * index + 1];
    return MEDNER_OK;
}

int medner_entities_span_codepoints(const medner_entities *e, size_t index, size_t *begin,
                                    size_t *end)
{
    return span(e, index, e ? e->cp : NULL, begin, end);
}

int medner_entities_span_utf16(const medner_entities *e, size_t index, size_t *begin, size_t *end)
{
    return span(e, index, e ? e->u16 : NULL, begin, end);
}

static int cmp_ent(const void *a, const void *b)
{
    const medner__ent *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->first_token > y->first_token) - (x->first_token < y->first_token);
}

void medner__entities_item(const medner_entities *e, size_t i, size_t *begin, size_t *end,
                           const char **label)
{
    *begin = e->items[i].begin;
    *end = e->items[i].end;
    *label = e->names[e->items[i].label];
}

void medner__entities_set_context(medner_entities *e, size_t i, const medner__ent_context *c)
{
    e->ctx[i] = *c;
}

/* The object for items[0, n) (sorted unless keep_order), names copied. */
static int build(medner_entities **out, const medner__ent *items, size_t n,
                 const char *const *names, size_t nn, const medner__ent_context *ctx,
                 const char *text, size_t len, size_t n_tokens, bool keep_order)
{
    medner_entities *e = medner__calloc(1, sizeof *e);
    if (e == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "entities: out of memory");
    size_t alloc = n ? n : 1;
    e->items = medner__malloc(alloc * sizeof *e->items);
    e->ctx = medner__malloc(alloc * sizeof *e->ctx);
    e->cp = medner__malloc(2 * alloc * sizeof *e->cp);
    e->u16 = medner__malloc(2 * alloc * sizeof *e->u16);
    e->names = medner__calloc(nn ? nn : 1, sizeof *e->names);
    int rc = MEDNER_OK;
    if (!e->items || !e->ctx || !e->cp || !e->u16 || !e->names)
        goto oom;
    for (size_t i = 0; i < nn; i++) {
        const char *s = names[i] ? names[i] : "";
        if ((e->names[i] = medner__strndup(s, strlen(s))) == NULL)
            goto oom;
        e->n_names = i + 1;
    }
    if (n > 0)
        memcpy(e->items, items, n * sizeof *e->items);
    if (!keep_order)
        qsort(e->items, n, sizeof *e->items, cmp_ent);
    for (size_t i = 0; i < n; i++) {
        e->ctx[i] = ctx ? ctx[i] : (medner__ent_context){ 0, MEDNER_SECTION_NONE, SIZE_MAX };
        e->cp[2 * i] = e->items[i].begin;
        e->cp[2 * i + 1] = e->items[i].end;
    }
    memcpy(e->u16, e->cp, 2 * n * sizeof *e->cp);
    if ((rc = medner_utf8_codepoint_offsets(e->cp, text, len, e->cp, 2 * n)) != MEDNER_OK ||
        (rc = medner_utf8_utf16_offsets(e->u16, text, len, e->u16, 2 * n)) != MEDNER_OK) {
        medner_entities_free(e);
        return rc;
    }
    e->n = n;
    e->n_tokens = n_tokens;
    *out = e;
    return MEDNER_OK;
oom:
    medner_entities_free(e);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "entities: out of memory");
}

int medner__entities_create(medner_entities **out, const medner_decoder *d,
                            const medner__entlist *l, const char *text, size_t len,
                            size_t n_tokens, bool keep_order)
{
    size_t nn = medner__decoder_n_names(d);
    const char **names = medner__calloc(nn ? nn : 1, sizeof *names);
    if (names == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "entities: out of memory");
    for (size_t i = 0; i < nn; i++)
        names[i] = medner__decoder_name(d, i);
    int rc = build(out, l->items, l->n, names, nn, NULL, text, len, n_tokens, keep_order);
    medner__free(names);
    return rc;
}

int medner__entities_create_named(medner_entities **out, const medner__ent *items, size_t n,
                                  const char *const *names, size_t n_names,
                                  const medner__ent_context *ctx, const char *text, size_t len,
                                  size_t n_tokens)
{
    return build(out, items, n, names, n_names, ctx, text, len, n_tokens, true);
}
