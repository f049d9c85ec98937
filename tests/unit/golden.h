/* Test helper: the encoder golden files written by the Hugging Face
 * reference scripts (format: tests/data/encoder/README.md): DIR/NAME.jsonl,
 * one JSON object per text (ids, type_ids, text, length, hidden_size,
 * num_labels, hidden_offset, logits_offset), and DIR/NAME.f32, the hidden
 * states and logits those offsets point into. Used by test_encoder.c and
 * test_adapter.c. Include after <cmocka.h>. */
#ifndef MEDNER_TEST_GOLDEN_H
#define MEDNER_TEST_GOLDEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "medner.h"

typedef struct golden_text {
    int32_t *ids, *types;
    size_t len, hidden, labels;
    const float *h, *logits; /* into the .f32 blob; logits NULL without a head */
    char *text;
    size_t text_len;
} golden_text;

typedef struct golden {
    golden_text *t;
    size_t n;
    float *blob;
} golden;

/* The whole file, NUL-terminated; fails the test if it cannot be read. */
static inline void *golden_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* Read DIR/NAME.jsonl and DIR/NAME.f32 (at least one text). */
static inline void load_golden(golden *g, const char *dir, const char *name)
{
    char path[512];
    size_t len, blob_len, cap = 0;
    snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    g->blob = golden_read_all(path, &blob_len);
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
    char *jl = golden_read_all(path, &len);
    g->n = 0;
    g->t = NULL;
    for (char *line = jl; line < jl + len;) {
        char *nl = memchr(line, '\n', (size_t)(jl + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(jl + len - line);
        if (ll > 0) {
            medner__json_doc *d;
            assert_int_equal(medner__json_parse(&d, line, ll, path), MEDNER_OK);
            const medner__json *r = medner__json_root(d);
            if (g->n == cap) {
                cap = cap ? 2 * cap : 16;
                g->t = realloc(g->t, cap * sizeof *g->t);
                assert_non_null(g->t);
            }
            golden_text *t = &g->t[g->n++];
            const medner__json *ids = medner__json_get(r, "ids");
            const medner__json *types = medner__json_get(r, "type_ids");
            const medner__json *text = medner__json_get(r, "text");
            const medner__json *length = medner__json_get(r, "length");
            t->len = ids->count;
            if (length)
                assert_int_equal(t->len, (size_t)length->integer);
            t->ids = malloc(t->len * sizeof *t->ids);
            t->types = malloc(t->len * sizeof *t->types);
            for (size_t k = 0; k < t->len; k++) {
                t->ids[k] = (int32_t)ids->items[k]->integer;
                t->types[k] = types && types->type == MEDNER__JSON_ARRAY && types->count == t->len
                                  ? (int32_t)types->items[k]->integer : 0;
            }
            t->text = malloc(text->len + 1);
            memcpy(t->text, text->str, text->len + 1);
            t->text_len = text->len;
            t->hidden = (size_t)medner__json_get(r, "hidden_size")->integer;
            t->labels = (size_t)medner__json_get(r, "num_labels")->integer;
            int64_t ho = medner__json_get(r, "hidden_offset")->integer;
            int64_t lo = medner__json_get(r, "logits_offset")->integer;
            assert_true(ho >= 0 && (size_t)ho + t->len * t->hidden * 4 <= blob_len);
            t->h = (const float *)((const char *)g->blob + ho);
            if (lo >= 0)
                assert_true((size_t)lo + t->len * t->labels * 4 <= blob_len);
            t->logits = lo >= 0 ? (const float *)((const char *)g->blob + lo) : NULL;
            medner__json_free(d);
        }
        line += ll + 1;
    }
    free(jl);
    assert_true(g->n > 0);
}

static inline void free_golden(golden *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->t[i].ids);
        free(g->t[i].types);
        free(g->t[i].text);
    }
    free(g->t);
    free(g->blob);
}

/* The tokenizer gives the ids the reference ran the model on (first window
 * of the golden text). */
static inline void golden_check_ids(const medner_tokenizer *tok, const golden_text *t)
{
    medner_encoding *enc = NULL;
    assert_int_equal(medner_tokenizer_encode(&enc, tok, t->text, t->text_len, NULL), MEDNER_OK);
    medner_window w = MEDNER_WINDOW_INIT;
    assert_int_equal(medner_encoding_window(enc, 0, &w), MEDNER_OK);
    assert_int_equal(w.length, t->len);
    assert_memory_equal(w.ids, t->ids, t->len * sizeof *t->ids);
    medner_encoding_free(enc);
}

/* Largest |a[i] - b[i]|; NaN if any difference is NaN. */
static inline double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) /* NaN propagates */
            m = d;
    }
    return m;
}

#endif
