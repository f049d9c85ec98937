/*
 * libFuzzer target: the whole pipeline (tokenizer -> windows -> encoder ->
 * decoder -> merge) on arbitrary bytes, with the tiny fixture model
 * (tests/data/models/tiny-bert-tc). The first byte picks one of 8 pipelines
 * (aggregation, decoding, merge, window length and overlap, encoder
 * threads); the rest is the text, which may be invalid UTF-8.
 * Invariants: MEDNER_OK or MEDNER_E_INVALID_UTF8 (for invalid input only);
 * entities sorted, non-empty, inside the text, on character boundaries,
 * scores in (0, 1], labels non-empty; the code-point and UTF-16 spans agree
 * with the byte spans (counted here independently); running the same text
 * again gives bitwise the same entities; nothing stays allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define TINY "tests/data/models/tiny-bert-tc"
#define N_PIPES 8

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static medner_pipeline *pipes[N_PIPES];

static void setup(void)
{
    if (pipes[0])
        return;
    static const medner_aggregation aggs[4] = { MEDNER_AGGREGATION_NONE,
                                                MEDNER_AGGREGATION_SIMPLE,
                                                MEDNER_AGGREGATION_FIRST,
                                                MEDNER_AGGREGATION_MAX };
    for (int i = 0; i < N_PIPES; i++) {
        medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
        dp.aggregation = aggs[i % 4];
        dp.decoding = i & 1 ? MEDNER_DECODING_CONSTRAINED : MEDNER_DECODING_ARGMAX;
        medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
        pp.model_dir = TINY;
        pp.decoder = &dp;
        pp.merge = i & 2 ? MEDNER_MERGE_HF : MEDNER_MERGE_CENTER;
        pp.max_length = i & 4 ? 8 : 24;
        pp.overlap = i & 4 ? 3 : 6;
        pp.batch_size = (uint32_t)(1 + i % 3);
        pp.encoder_threads = i == 5 ? 2 : 1;
        if (medner_pipeline_create(&pipes[i], &pp) != MEDNER_OK) {
            fprintf(stderr, "fuzz_pipeline: %s (run from the repository root)\n",
                    medner_last_error());
            exit(1);
        }
    }
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n)
            return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* Code points and UTF-16 units in s[0, n) (valid UTF-8). */
static void count_units(const unsigned char *s, size_t n, size_t *cps, size_t *u16)
{
    *cps = *u16 = 0;
    for (size_t i = 0; i < n; i++) {
        if ((s[i] & 0xC0) == 0x80)
            continue;
        (*cps)++;
        *u16 += s[i] >= 0xF0 ? 2 : 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    int which = data[0] % N_PIPES;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    long live = medner__live_allocations();
    medner_context *ctx = NULL; /* a fresh one per input, so that leaks show */
    check(medner_pipeline_context_create(&ctx, pipes[which]) == MEDNER_OK);
    medner_entities *e = NULL;
    int rc = medner_pipeline_annotate(&e, pipes[which], ctx, &text, &len, 1);
    int ok = valid_utf8((const unsigned char *)text, len);
    if (!ok) {
        check(rc == MEDNER_E_INVALID_UTF8 && e == NULL);
        check(medner_last_error()[0] != '\0');
        medner_context_free(ctx);
        check(medner__live_allocations() == live);
        return 0;
    }
    check(rc == MEDNER_OK && e != NULL);
    size_t n = medner_entities_count(e), prev_b = 0, prev_e = 0;
    for (size_t i = 0; i < n; i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        check(medner_entities_get(e, i, &x) == MEDNER_OK);
        check(x.begin < x.end && x.end <= len);
        check((text[x.begin] & 0xC0) != 0x80);
        check(x.end == len || (text[x.end] & 0xC0) != 0x80);
        check(x.score > 0.0 && x.score <= 1.0);
        check(x.label != NULL && x.label[0] != '\0');
        check(x.n_tokens > 0);
        check(x.begin > prev_b || (x.begin == prev_b && x.end >= prev_e) || i == 0);
        prev_b = x.begin;
        prev_e = x.end;
        size_t cb, ce, ub, ue, c0, u0, c1, u1;
        check(medner_entities_span_codepoints(e, i, &cb, &ce) == MEDNER_OK);
        check(medner_entities_span_utf16(e, i, &ub, &ue) == MEDNER_OK);
        count_units((const unsigned char *)text, x.begin, &c0, &u0);
        count_units((const unsigned char *)text, x.end, &c1, &u1);
        check(cb == c0 && ce == c1 && ub == u0 && ue == u1);
    }
    check(medner_entities_get(e, n, &(medner_entity)MEDNER_ENTITY_INIT) ==
          MEDNER_E_INVALID_ARGUMENT);
    /* deterministic: the same text again, bitwise the same entities */
    medner_entities *again = NULL;
    check(medner_pipeline_annotate(&again, pipes[which], ctx, &text, &len, 1) ==
          MEDNER_OK);
    check(medner_entities_count(again) == n);
    for (size_t i = 0; i < n; i++) {
        medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
        medner_entities_get(e, i, &x);
        medner_entities_get(again, i, &y);
        check(x.begin == y.begin && x.end == y.end && x.score == y.score &&
              strcmp(x.label, y.label) == 0);
    }
    medner_entities_free(again);
    medner_entities_free(e);
    medner_context_free(ctx);
    check(medner__live_allocations() == live);
    return 0;
}
