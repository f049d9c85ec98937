/* Limits (tiny fixture model tests/data/models/tiny-bert-tc).
 *
 * Built with src/pipeline/pipeline.c recompiled with a 4 KiB segment size
 * (-DMEDNER__SEGMENT_BYTES=4096, see the Makefile), so that texts above
 * 4 KiB take the segmented path that, in the library, starts at 256 KiB:
 *  - a long text is annotated exactly as its segments would be one by one
 *    (offsets and token indices shifted), and the working memory of the call
 *    stays bounded by a segment, not by the text (allocator high-water mark);
 *  - a single 10 MB "word" (no space) and pathological inputs (all
 *    punctuation, all CJK, all emoji, only newlines) complete, and their
 *    time grows linearly with their length (4x the text < 8x the CPU time,
 *    best of 5; a generous bound, quadratic behaviour would give 16x). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "medner.h"
#include "../unit/countalloc.h"

#define TINY "tests/data/models/tiny-bert-tc"
#define SEG 4096

/* Bytes in use and their high-water mark: tests/unit/countalloc.h. */


static medner_pipeline *pipe_;
static medner_context *ctx_;

static int setup(void **state)
{
    (void)state;
    if (countalloc_install() != MEDNER_OK)
        return -1;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 32;
    pp.overlap = 8;
    if (medner_pipeline_create(&pipe_, &pp) != MEDNER_OK)
        return -1;
    return medner_pipeline_context_create(&ctx_, pipe_) == MEDNER_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    medner_context_free(ctx_);
    medner_pipeline_free(pipe_);
    return medner_allocator_set(NULL) == MEDNER_OK ? 0 : -1;
}

static medner_entities *annotate(const char *text, size_t len)
{
    medner_entities *e = NULL;
    if (medner_pipeline_annotate(&e, pipe_, ctx_, &text, &len, 1) != MEDNER_OK)
        fail_msg("annotate (%zu bytes): %s", len, medner_last_error());
    return e;
}

static const char *const sentences[] = {
    "Patient admitted with fever 38.5\xC2\xB0" "C and productive cough. ",
    "Chest X-ray showed right lower lobe consolidation; started amoxicillin 500 mg. ",
    "History of type 2 diabetes mellitus and BRCA1-associated breast cancer. ",
    "Hemoglobin A1c 7.2%, eGFR 45 mL/min/1.73 m\xC2\xB2, \xCE\xB2-blocker continued. ",
};

/* Paragraphs of exactly `plen` bytes (sentences, then spaces), each followed
 * by "\n\n". With plen + 2 between 3/4 SEG and SEG, every segment is one
 * paragraph and its blank line. */
static char *paragraphs(size_t count, size_t plen, size_t *len)
{
    char *t = malloc(count * (plen + 2) + 1);
    assert_non_null(t);
    size_t n = 0, k = 0;
    for (size_t p = 0; p < count; p++) {
        size_t start = n;
        for (;;) {
            const char *s = sentences[k % 4];
            size_t l = strlen(s);
            if (n - start + l > plen)
                break;
            memcpy(t + n, s, l);
            n += l;
            k++;
        }
        while (n - start < plen)
            t[n++] = ' ';
        t[n++] = '\n';
        t[n++] = '\n';
    }
    t[n] = 0;
    *len = n;
    return t;
}

static void test_segments_equal_separate_runs(void **state)
{
    (void)state;
    const size_t P = 12, plen = 3500;
    size_t len;
    char *text = paragraphs(P, plen, &len);
    medner_entities *whole = annotate(text, len);
    /* expected: every paragraph (with its blank line) on its own */
    size_t k = 0, tokens = 0;
    for (size_t p = 0; p < P; p++) {
        size_t off = p * (plen + 2);
        medner_entities *one = annotate(text + off, plen + 2);
        for (size_t i = 0; i < medner_entities_count(one); i++, k++) {
            medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
            assert_int_equal(medner_entities_get(one, i, &x), MEDNER_OK);
            if (medner_entities_get(whole, k, &y) != MEDNER_OK)
                fail_msg("paragraph %zu: entity %zu missing from the whole text", p, i);
            assert_int_equal(y.begin, x.begin + off);
            assert_int_equal(y.end, x.end + off);
            assert_string_equal(y.label, x.label);
            assert_true(y.score == x.score);
            assert_int_equal(y.first_token, x.first_token + tokens);
            assert_int_equal(y.n_tokens, x.n_tokens);
        }
        tokens += medner_entities_num_tokens(one);
        medner_entities_free(one);
    }
    assert_int_equal(medner_entities_count(whole), k);
    assert_int_equal(medner_entities_num_tokens(whole), tokens);
    assert_true(k > P); /* the model finds something in every paragraph */
    /* code-point and UTF-16 spans are relative to the whole text */
    medner_entity last = MEDNER_ENTITY_INIT;
    assert_int_equal(medner_entities_get(whole, k - 1, &last), MEDNER_OK);
    size_t cb, ce, cps = 0;
    for (size_t i = 0; i < last.begin; i++)
        cps += ((unsigned char)text[i] & 0xC0) != 0x80;
    assert_int_equal(medner_entities_span_codepoints(whole, k - 1, &cb, &ce), MEDNER_OK);
    assert_int_equal(cb, cps);
    medner_entities_free(whole);
    free(text);
}

/* Clinical context on a segmented text runs once over the whole text: the
 * flags, sections and sentence indices equal medner_context_apply() over
 * the whole text with the same spans (sentences numbered from its start,
 * not from each segment's). */
static void test_context_whole_text(void **state)
{
    (void)state;
    medner_pipeline_params eff = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(pipe_, &eff), MEDNER_OK);
    assert_int_equal(eff.context, MEDNER_ON); /* TINY's labels (Disease, ...) look clinical */
    size_t len;
    char *text = paragraphs(6, 3500, &len);
    medner_entities *whole = annotate(text, len);
    size_t n = medner_entities_count(whole);
    assert_true(n > 6);
    size_t *b = malloc(n * sizeof *b), *e = malloc(n * sizeof *e);
    const char **labels = malloc(n * sizeof *labels);
    assert_true(b && e && labels);
    for (size_t i = 0; i < n; i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(whole, i, &x), MEDNER_OK);
        b[i] = x.begin;
        e[i] = x.end;
        labels[i] = x.label;
    }
    medner_context_rules *rules = NULL;
    medner_entities *ref = NULL;
    assert_int_equal(medner_context_rules_load(&rules, NULL), MEDNER_OK);
    assert_int_equal(medner_context_apply(&ref, rules, text, len, b, e, labels, n), MEDNER_OK);
    size_t flagged = 0;
    for (size_t i = 0; i < n; i++) {
        medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(whole, i, &x), MEDNER_OK);
        assert_int_equal(medner_entities_get(ref, i, &y), MEDNER_OK);
        assert_int_equal(x.begin, y.begin);
        assert_int_equal(x.context, y.context);
        assert_int_equal(x.section, y.section);
        assert_int_equal(x.sentence, y.sentence);
        flagged += x.context != 0;
    }
    assert_true(flagged > 0); /* "History of ..." in every paragraph */
    /* the last entity's sentence index counts the sentences of all segments */
    medner_spans *first = NULL;
    assert_int_equal(medner_sentences_split(&first, text, 3502), MEDNER_OK);
    medner_entity last = MEDNER_ENTITY_INIT;
    assert_int_equal(medner_entities_get(whole, n - 1, &last), MEDNER_OK);
    assert_true(last.sentence >= 5 * medner_spans_count(first));
    medner_spans_free(first);
    medner_entities_free(ref);
    medner_context_rules_free(rules);
    medner_entities_free(whole);
    free(b);
    free(e);
    free(labels);
    free(text);
}

/* The high-water mark of one call does not grow with the text beyond what
 * the result itself needs (the entities, collected across segments and then
 * copied into the result object: at most ~3x the result's size). Without
 * segments it would grow ~150 bytes per byte of text. */
static void test_memory_bounded(void **state)
{
    (void)state;
    size_t peaks[2], lens[2], results[2];
    const size_t counts[2] = { 8, 64 };
    for (int r = 0; r < 2; r++) {
        char *text = paragraphs(counts[r], 3500, &lens[r]);
        size_t before = countalloc_in_use;
        countalloc_high = countalloc_in_use;
        medner_entities *e = annotate(text, lens[r]);
        results[r] = countalloc_in_use - before; /* the entities object itself */
        peaks[r] = countalloc_high - before - results[r];
        medner_entities_free(e);
        free(text);
    }
    print_message("working memory: %zu bytes for %zu bytes of text (result %zu), %zu for %zu "
                  "(result %zu)\n", peaks[0], lens[0], results[0], peaks[1], lens[1], results[1]);
    /* 8x the text: the working memory may grow by the result's copies only */
    if (peaks[1] > peaks[0] + 3 * results[1])
        fail_msg("working memory grew from %zu to %zu bytes with the text", peaks[0], peaks[1]);
    assert_true(peaks[1] < lens[1] * 20); /* far below the unsegmented ~150 bytes per byte */
}

/* The working memory of one call with many texts is that of a batch: a text
 * is tokenized when its first window is queued and released once its last
 * window has run and its result is made, so at most batch_size + 1 texts are
 * held at a time. Measured as the allocator's high-water mark of the call
 * minus what stays allocated after it (the results), for 48 and 384 texts of
 * ~3.5 KiB (below the 4 KiB segments of this build: every text takes the
 * batched path), both merges. The only allocation that may grow with the
 * number of texts is the call's array of result pointers (8 bytes a text);
 * the rest must stay within 1/8 of the small call's (allocation sizes of
 * the same texts do not change, so equal is expected). Before the texts were
 * streamed, every text of the call was tokenized and given its whole-text
 * logits before any window ran: ~8x the working memory for 8x the texts. */
static void test_memory_many_texts(void **state)
{
    (void)state;
    enum { SMALL = 48, BIG = 384 };
    size_t len;
    char *all = paragraphs(BIG, 3500, &len);
    const char **texts = malloc(BIG * sizeof *texts);
    size_t *lens = malloc(BIG * sizeof *lens);
    medner_entities **out = malloc(BIG * sizeof *out);
    assert_true(texts && lens && out);
    for (size_t i = 0; i < BIG; i++) {
        texts[i] = all + i * 3502;
        lens[i] = 3502;
    }
    for (int merge = MEDNER_MERGE_HF; merge <= MEDNER_MERGE_CENTER; merge++) {
        medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
        pp.model_dir = TINY;
        pp.max_length = 32;
        pp.overlap = 8;
        pp.merge = (medner_merge)merge;
        medner_pipeline *p = NULL;
        medner_context *c = NULL;
        assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
        assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
        size_t work[2], kept[2], entities[2] = { 0, 0 };
        const size_t counts[3] = { SMALL, SMALL, BIG }; /* the first grows the workspace */
        for (int r = 0; r < 3; r++) {
            size_t before = countalloc_in_use;
            countalloc_high = countalloc_in_use;
            if (medner_pipeline_annotate(out, p, c, texts, lens, counts[r]) != MEDNER_OK)
                fail_msg("annotate: %s", medner_last_error());
            if (r > 0) {
                kept[r - 1] = countalloc_in_use - before;
                work[r - 1] = countalloc_high - countalloc_in_use;
            }
            for (size_t i = 0; i < counts[r]; i++) {
                if (r > 0)
                    entities[r - 1] += medner_entities_count(out[i]);
                medner_entities_free(out[i]);
            }
        }
        print_message("merge %s: working memory %zu bytes for %d texts (results %zu), %zu for %d "
                      "(results %zu)\n", merge == MEDNER_MERGE_HF ? "HF" : "centre", work[0],
                      SMALL, kept[0], work[1], BIG, kept[1]);
        assert_true(entities[1] > entities[0] && kept[1] > kept[0]);
        size_t bound = work[0] + work[0] / 8 + (BIG - SMALL) * sizeof(void *);
        if (work[1] > bound)
            fail_msg("merge %d: working memory grew from %zu to %zu bytes with 8x the texts "
                     "(bound %zu)", merge, work[0], work[1], bound);
        medner_context_free(c);
        medner_pipeline_free(p);
    }
    free(out);
    free(lens);
    free(texts);
    free(all);
}

/* CPU time of this thread (the pipeline runs on the calling thread here):
 * unlike wall time, hardly affected by other jobs on a shared machine. */
static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* `n` bytes made of `unit` repeated (unit is whole UTF-8 characters). */
static char *repeat(const char *unit, size_t n, size_t *len)
{
    size_t u = strlen(unit), reps = n / u;
    char *t = malloc(reps * u + 1);
    assert_non_null(t);
    for (size_t i = 0; i < reps; i++)
        memcpy(t + i * u, unit, u);
    t[reps * u] = 0;
    *len = reps * u;
    return t;
}

static double time_annotate(const char *unit, size_t n, size_t *entities)
{
    size_t len;
    char *t = repeat(unit, n, &len);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = seconds();
        medner_entities *e = annotate(t, len);
        double dt = seconds() - t0;
        *entities = medner_entities_count(e);
        medner_entities_free(e);
        if (dt < best)
            best = dt;
    }
    free(t);
    return best;
}

static void test_pathological_linear(void **state)
{
    (void)state;
    static const struct {
        const char *name, *unit;
    } kinds[] = {
        { "punctuation", "!?.,;:-()[]{}'\"/\\" },
        { "CJK", "\xE6\x82\xA3\xE8\x80\x85\xE5\x8F\x91\xE7\x83\xAD" },
        { "emoji", "\xF0\x9F\x98\xB7\xF0\x9F\xA4\x92\xF0\x9F\x92\x8A" },
        { "newlines", "\n" },
        { "one word", "x" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        size_t e1, e4;
        double t1 = time_annotate(kinds[k].unit, 16 * 1024, &e1);
        double t4 = time_annotate(kinds[k].unit, 64 * 1024, &e4);
        print_message("%-11s 16 KiB %.4f s, 64 KiB %.4f s (x%.1f), %.2f MB/s\n", kinds[k].name, t1,
                      t4, t4 / t1, 64.0 * 1024 / t4 / 1e6);
        if (t4 > 8 * t1 + 0.01)
            fail_msg("%s: 4x the text took %.1fx the time", kinds[k].name, t4 / t1);
    }
}

/* A 10 MB "word" without a space: segmented at character boundaries, each
 * piece one [UNK] (longer than 100 characters), no entity crosses it. */
static void test_ten_megabyte_word(void **state)
{
    (void)state;
    size_t len;
    char *t = repeat("a", 10 * 1000 * 1000, &len);
    medner_entities *e = annotate(t, len);
    assert_true(medner_entities_num_tokens(e) >= 1);
    for (size_t i = 0; i < medner_entities_count(e); i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(e, i, &x), MEDNER_OK);
        assert_true(x.begin < x.end && x.end <= len);
    }
    medner_entities_free(e);
    free(t);
}

/* Invalid UTF-8 in a later segment: the error names the text's segment and
 * the call returns no result. */
static void test_invalid_utf8_in_a_segment(void **state)
{
    (void)state;
    size_t len;
    char *text = paragraphs(3, 3500, &len);
    text[2 * 3502 + 10] = (char)0xFF;
    medner_entities *e = NULL;
    const char *t = text;
    assert_int_equal(medner_pipeline_annotate(&e, pipe_, ctx_, &t, &len, 1),
                     MEDNER_E_INVALID_UTF8);
    assert_null(e);
    if (strstr(medner_last_error(), "segment that starts at byte 7004") == NULL)
        fail_msg("message: %s", medner_last_error());
    assert_non_null(strstr(medner_last_error(), "text 0"));
    free(text);
}

/* first_window_only on a multi-segment text: entities only from the first
 * window, tokens counted over the whole text (as without segments). */
static void test_first_window_only_segmented(void **state)
{
    (void)state;
    size_t len;
    char *text = paragraphs(4, 3500, &len);
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 32;
    pp.first_window_only = MEDNER_ON;
    medner_pipeline *p = NULL;
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    medner_entities *e = NULL, *first = NULL;
    const char *t = text;
    assert_int_equal(medner_pipeline_annotate(&e, p, c, &t, &len, 1), MEDNER_OK);
    size_t one = 3502;
    assert_int_equal(medner_pipeline_annotate(&first, p, c, &t, &one, 1), MEDNER_OK);
    assert_int_equal(medner_entities_count(e), medner_entities_count(first));
    medner_tokenizer *tok = NULL;
    medner_encoding *enc = NULL;
    assert_int_equal(medner_tokenizer_load(&tok, TINY, NULL), MEDNER_OK);
    assert_int_equal(medner_tokenizer_encode(&enc, tok, text, len, NULL), MEDNER_OK);
    assert_int_equal(medner_entities_num_tokens(e), medner_encoding_num_tokens(enc));
    medner_encoding_free(enc);
    medner_tokenizer_free(tok);
    for (size_t i = 0; i < medner_entities_count(e); i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(e, i, &x), MEDNER_OK);
        assert_true(x.end <= one);
    }
    medner_entities_free(e);
    medner_entities_free(first);
    medner_context_free(c);
    medner_pipeline_free(p);
    free(text);
}


/* segment: sentence on segmented texts: a text of paragraphs (one a
 * segment) gives the entities of each paragraph annotated alone in
 * sentence mode, shifted; the working memory stays flat when the text grows
 * 8x (the sentences of one segment at a time). */
static void test_sentence_mode_segmented(void **state)
{
    (void)state;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 32;
    pp.overlap = 8;
    pp.segment = MEDNER_SEGMENT_SENTENCE;
    medner_pipeline *sp = NULL;
    medner_context *sc = NULL;
    assert_int_equal(medner_pipeline_create(&sp, &pp), MEDNER_OK);
    assert_int_equal(medner_pipeline_context_create(&sc, sp), MEDNER_OK);
    const size_t P = 6, plen = 3500;
    size_t len;
    char *text = paragraphs(P, plen, &len);
    const char *t = text;
    medner_entities *whole = NULL;
    assert_int_equal(medner_pipeline_annotate(&whole, sp, sc, &t, &len, 1), MEDNER_OK);
    size_t k = 0, tokens = 0;
    for (size_t p = 0; p < P; p++) {
        size_t off = p * (plen + 2), l = plen + 2;
        const char *pt = text + off;
        medner_entities *one = NULL;
        assert_int_equal(medner_pipeline_annotate(&one, sp, sc, &pt, &l, 1), MEDNER_OK);
        for (size_t i = 0; i < medner_entities_count(one); i++, k++) {
            medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
            assert_int_equal(medner_entities_get(one, i, &x), MEDNER_OK);
            assert_int_equal(medner_entities_get(whole, k, &y), MEDNER_OK);
            assert_int_equal(y.begin, x.begin + off);
            assert_int_equal(y.end, x.end + off);
            assert_true(y.score == x.score);
            assert_int_equal(y.first_token, x.first_token + tokens);
        }
        tokens += medner_entities_num_tokens(one);
        medner_entities_free(one);
    }
    assert_int_equal(medner_entities_count(whole), k);
    assert_int_equal(medner_entities_num_tokens(whole), tokens);
    assert_true(k > P);
    medner_entities_free(whole);
    free(text);
    size_t peaks[2], lens[2], results[2];
    const size_t counts[2] = { 8, 64 };
    for (int r = 0; r < 2; r++) {
        text = paragraphs(counts[r], 3500, &lens[r]);
        size_t before = countalloc_in_use;
        countalloc_high = countalloc_in_use;
        medner_entities *e = NULL;
        t = text;
        assert_int_equal(medner_pipeline_annotate(&e, sp, sc, &t, &lens[r], 1), MEDNER_OK);
        results[r] = countalloc_in_use - before;
        peaks[r] = countalloc_high - before - results[r];
        medner_entities_free(e);
        free(text);
    }
    print_message("sentence mode: working memory %zu bytes for %zu bytes of text (result %zu), "
                  "%zu for %zu (result %zu)\n", peaks[0], lens[0], results[0], peaks[1], lens[1],
                  results[1]);
    if (peaks[1] > peaks[0] + 3 * results[1])
        fail_msg("working memory grew from %zu to %zu bytes with the text", peaks[0], peaks[1]);
    medner_context_free(sc);
    medner_pipeline_free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_equal_separate_runs),
        cmocka_unit_test(test_context_whole_text),
        cmocka_unit_test(test_memory_bounded),
        cmocka_unit_test(test_memory_many_texts),
        cmocka_unit_test(test_pathological_linear),
        cmocka_unit_test(test_ten_megabyte_word),
        cmocka_unit_test(test_invalid_utf8_in_a_segment),
        cmocka_unit_test(test_first_window_only_segmented),
        cmocka_unit_test(test_sentence_mode_segmented),
    };
    return cmocka_run_group_tests_name("limits", tests, setup, teardown);
}
