/* Pipeline behaviour on the tiny fixture model (fast tier): long documents
 * in windows, both merge policies, batching across documents, threads,
 * errors, allocation failures. Parity with Hugging Face's pipeline on a real
 * model is in tests/models/test_pipeline.c (make test-models). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "countalloc.h"
#include "failalloc.h"

#include "common/common.h"

#define TINY "tests/data/models/tiny-bert-tc"

static medner_pipeline *make(medner_merge merge, uint32_t max_length, uint32_t overlap,
                             medner_aggregation agg)
{
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    dp.aggregation = agg;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.merge = merge;
    pp.max_length = max_length;
    pp.overlap = overlap;
    pp.decoder = &dp;
    medner_pipeline *p = NULL;
    if (medner_pipeline_create(&p, &pp) != MEDNER_OK)
        fail_msg("pipeline: %s", medner_last_error());
    return p;
}

static medner_entities *annotate(const medner_pipeline *p, const char *text, size_t len)
{
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    medner_entities *e = NULL;
    if (medner_pipeline_annotate(&e, p, c, &text, &len, 1) != MEDNER_OK)
        fail_msg("annotate: %s", medner_last_error());
    medner_context_free(c);
    return e;
}

/* A "discharge summary" of `pages` pages of clinical-looking sentences. */
static char *long_text(size_t pages, size_t *len)
{
    static const char *const sentences[] = {
        "Patient admitted with fever 38.5\xC2\xB0" "C and productive cough. ",
        "Chest X-ray showed right lower lobe consolidation; started amoxicillin 500 mg t.i.d. ",
        "History of type 2 diabetes mellitus and BRCA1-associated breast cancer. ",
        "Hemoglobin A1c 7.2%, eGFR 45 mL/min/1.73 m\xC2\xB2, \xCE\xB2-blocker continued. ",
    };
    size_t cap = pages * 3000 + 1, n = 0, k = 0;
    char *t = malloc(cap);
    while (n < pages * 2900) {
        const char *s = sentences[k++ % 4];
        size_t l = strlen(s);
        memcpy(t + n, s, l);
        n += l;
    }
    t[n] = 0;
    *len = n;
    return t;
}

static void check_spans(const medner_entities *e, const char *text, size_t len, int disjoint)
{
    size_t prev_end = 0;
    for (size_t i = 0; i < medner_entities_count(e); i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(e, i, &x), MEDNER_OK);
        assert_true(x.begin < x.end && x.end <= len);
        assert_true((text[x.begin] & 0xC0) != 0x80); /* on a character boundary */
        assert_true(x.score > 0 && x.score <= 1);
        if (disjoint)
            assert_true(x.begin >= prev_end);
        prev_end = x.end;
    }
}

static void test_long_document_both_merges(void **state)
{
    (void)state;
    size_t len;
    char *text = long_text(100, &len); /* ~290 KB, ~70,000 tokens */
    medner_pipeline *center = make(MEDNER_MERGE_CENTER, 128, 32, MEDNER_AGGREGATION_FIRST);
    medner_pipeline *hf = make(MEDNER_MERGE_HF, 128, 32, MEDNER_AGGREGATION_FIRST);
    medner_entities *a = annotate(center, text, len), *b = annotate(hf, text, len);
    assert_true(medner_entities_num_tokens(a) > 50000);
    assert_true(medner_entities_count(a) > 100);
    check_spans(a, text, len, 1);
    check_spans(b, text, len, 1);
    /* the last entity lies near the end: the whole text was annotated */
    medner_entity last = MEDNER_ENTITY_INIT;
    medner_entities_get(a, medner_entities_count(a) - 1, &last);
    assert_true(last.end > len - 1000);
    medner_entities_free(a);
    medner_entities_free(b);
    medner_pipeline_free(center);
    medner_pipeline_free(hf);
    free(text);
}

static void test_first_window_only(void **state)
{
    (void)state;
    size_t len;
    char *text = long_text(3, &len);
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 64;
    pp.first_window_only = MEDNER_ON;
    pp.decoder = &dp;
    medner_pipeline *p = NULL;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    medner_entities *e = annotate(p, text, len);
    /* the same text with every window: entities past the first window exist,
     * so the check below can see one that should not be there */
    pp.first_window_only = MEDNER_OFF;
    medner_pipeline *all = NULL;
    assert_int_equal(medner_pipeline_create(&all, &pp), MEDNER_OK);
    medner_entities *everything = annotate(all, text, len);
    size_t beyond = 0;
    for (size_t i = 0; i < medner_entities_count(everything); i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(everything, i, &x), MEDNER_OK);
        beyond += x.first_token + x.n_tokens > 62;
    }
    assert_true(beyond > 0);
    /* the first window has entities, and only those */
    assert_true(medner_entities_count(e) > 0);
    for (size_t i = 0; i < medner_entities_count(e); i++) {
        medner_entity x = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(e, i, &x), MEDNER_OK);
        assert_true(x.first_token + x.n_tokens <= 62); /* within the first window */
    }
    /* the whole text was still tokenized (the count covers every token) */
    assert_int_equal(medner_entities_num_tokens(e), medner_entities_num_tokens(everything));
    medner_entities_free(everything);
    medner_pipeline_free(all);
    medner_entities_free(e);
    medner_pipeline_free(p);
    free(text);
}

/* A document's entities do not depend on the other documents of its call. */
static void test_batching_does_not_change_results(void **state)
{
    (void)state;
    medner_pipeline *p = make(MEDNER_MERGE_CENTER, 48, 16, MEDNER_AGGREGATION_AVERAGE);
    size_t l0;
    char *big = long_text(1, &l0);
    const char *texts[4] = { "Fever and cough.", big, "", "BRCA1 carriers with \xCE\xB2-thalassemia." };
    size_t lens[4] = { strlen(texts[0]), l0, 0, strlen(texts[3]) };
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    medner_entities *all[4];
    assert_int_equal(medner_pipeline_annotate(all, p, c, texts, lens, 4), MEDNER_OK);
    for (int i = 0; i < 4; i++) {
        medner_entities *one = NULL;
        assert_int_equal(medner_pipeline_annotate(&one, p, c, &texts[i], &lens[i], 1), MEDNER_OK);
        assert_int_equal(medner_entities_count(one), medner_entities_count(all[i]));
        for (size_t k = 0; k < medner_entities_count(one); k++) {
            medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
            medner_entities_get(one, k, &x);
            medner_entities_get(all[i], k, &y);
            assert_int_equal(x.begin, y.begin);
            assert_int_equal(x.end, y.end);
            assert_string_equal(x.label, y.label);
            assert_true(x.score == y.score); /* bitwise */
        }
        medner_entities_free(one);
        medner_entities_free(all[i]);
    }
    assert_int_equal(medner_entities_count(NULL), 0);
    medner_context_free(c);
    medner_pipeline_free(p);
    free(big);
}

typedef struct tjob {
    const medner_pipeline *p;
    const char *text;
    size_t len;
    size_t count;
    double score_sum;
    int runs; /* successful annotate calls */
} tjob;

/* Annotate the job's text 5 times; NULL unless every call succeeded. */
static void *tworker(void *arg)
{
    tjob *j = arg;
    medner_context *c = NULL;
    if (medner_pipeline_context_create(&c, j->p) != MEDNER_OK)
        return NULL;
    for (int r = 0; r < 5; r++) {
        medner_entities *e = NULL;
        if (medner_pipeline_annotate(&e, j->p, c, &j->text, &j->len, 1) != MEDNER_OK)
            break;
        j->runs++;
        double s = 0;
        for (size_t k = 0; k < medner_entities_count(e); k++) {
            medner_entity x = MEDNER_ENTITY_INIT;
            medner_entities_get(e, k, &x);
            s += x.score;
        }
        j->count = medner_entities_count(e);
        j->score_sum = s;
        medner_entities_free(e);
    }
    medner_context_free(c);
    return j->runs == 5 ? arg : NULL;
}

static void test_threads_share_a_pipeline(void **state)
{
    (void)state;
    medner_pipeline *p = make(MEDNER_MERGE_CENTER, 64, 16, MEDNER_AGGREGATION_FIRST);
    size_t len;
    char *text = long_text(1, &len);
    tjob serial = { p, text, len, 0, 0, 0 };
    assert_non_null(tworker(&serial));
    assert_true(serial.count > 0 && serial.score_sum > 0); /* something to compare */
    pthread_t th[4];
    tjob jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (tjob){ p, text, len, 0, 0, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, tworker, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_non_null(ret);
        assert_int_equal(jobs[i].runs, 5);
        assert_int_equal(jobs[i].count, serial.count);
        assert_true(jobs[i].score_sum == serial.score_sum);
    }
    medner_pipeline_free(p);
    free(text);
}

static void test_errors(void **state)
{
    (void)state;
    medner_pipeline *p = NULL;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT); /* no model */
    pp.model_dir = "tests/data/models/tiny-bert-model"; /* no head */
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "no token-classification head"));
    pp.model_dir = TINY;
    pp.max_length = 100000;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    pp.max_length = 32;
    pp.overlap = 40;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    pp.overlap = 0;
    pp.adapter_dir = "/nonexistent"; /* adapters: tests/unit/test_adapter.c */
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_IO);
    pp.adapter_dir = NULL;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    const char *texts[2] = { "ok", "bad \xFF utf-8" };
    size_t lens[2] = { 2, 12 };
    medner_entities *out[2] = { NULL, NULL };
    assert_int_equal(medner_pipeline_annotate(out, p, c, texts, lens, 2), MEDNER_E_INVALID_UTF8);
    assert_non_null(strstr(medner_last_error(), "text 1"));
    assert_null(out[0]);
    assert_int_equal(medner_pipeline_annotate(out, p, NULL, texts, lens, 1),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_pipeline_annotate(out, p, c, texts, lens, 0), MEDNER_OK);
    medner_pipeline_params got = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.max_length, 32);
    assert_int_equal(got.batch_size, 8);
    assert_int_equal(got.merge, MEDNER_MERGE_CENTER);
    assert_non_null(medner_pipeline_encoder(p));
    medner_context_free(c);
    medner_pipeline_free(p);
    medner_pipeline_free(NULL);
}

/* Issue 19 item 4: overlap 0 and "ignore no label" are expressible, the
 * named defaults are the ones applied, *_default() fills as _INIT does. */
static void test_explicit_zero_and_defaults(void **state)
{
    (void)state;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 300;
    medner_pipeline *p = NULL;
    medner_pipeline_params got = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.overlap, MEDNER_DEFAULT_OVERLAP); /* 0 without the bit */
    assert_int_equal(got.batch_size, MEDNER_DEFAULT_BATCH_SIZE);
    assert_int_equal(got.threads, MEDNER_DEFAULT_THREADS);
    medner_pipeline_free(p);
    pp.explicit_fields = MEDNER_PIPELINE_EXPLICIT_OVERLAP;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.overlap, 0);
    assert_true(got.explicit_fields & MEDNER_PIPELINE_EXPLICIT_OVERLAP);
    /* the getter's output round-trips (its strings are borrowed from p) */
    medner_pipeline *p2 = NULL;
    if (medner_pipeline_create(&p2, &got) != MEDNER_OK)
        fail_msg("%s", medner_last_error());
    medner_pipeline_params again = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p2, &again), MEDNER_OK);
    assert_int_equal(again.overlap, 0);
    medner_pipeline_free(p2);
    medner_pipeline_free(p);
    pp.explicit_fields = 0x80; /* an unknown bit */
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    pp.explicit_fields = 0;

    /* ignore no label: tests/unit/test_decoder.c (test_ignore_no_label) */
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    pp.decoder = &dp;
    dp.explicit_fields = 0x40; /* an unknown bit */
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);

    /* *_default() == _INIT, for the caller's size */
    medner_pipeline_params a = MEDNER_PIPELINE_PARAMS_INIT, b;
    memset(&b, 0xA5, sizeof b);
    assert_int_equal(medner_pipeline_params_default(&b, sizeof b), MEDNER_OK);
    assert_memory_equal(&a, &b, sizeof a);
    medner_decoder_params da = MEDNER_DECODER_PARAMS_INIT, db;
    memset(&db, 0xA5, sizeof db);
    assert_int_equal(medner_decoder_params_default(&db, sizeof db), MEDNER_OK);
    assert_memory_equal(&da, &db, sizeof da);
    medner_tokenizer_params ta = MEDNER_TOKENIZER_PARAMS_INIT, tb;
    assert_int_equal(medner_tokenizer_params_default(&tb, sizeof tb), MEDNER_OK);
    assert_memory_equal(&ta, &tb, sizeof ta);
    medner_encode_params ea = MEDNER_ENCODE_PARAMS_INIT, eb;
    assert_int_equal(medner_encode_params_default(&eb, sizeof eb), MEDNER_OK);
    assert_memory_equal(&ea, &eb, sizeof ea);
    medner_encoder_params ca = MEDNER_ENCODER_PARAMS_INIT, cb;
    assert_int_equal(medner_encoder_params_default(&cb, sizeof cb), MEDNER_OK);
    assert_memory_equal(&ca, &cb, sizeof ca);
    /* an older caller's size: only that many bytes are written */
    unsigned char old[128];
    memset(old, 0xA5, sizeof old);
    assert_int_equal(medner_pipeline_params_default((medner_pipeline_params *)(void *)old, 64),
                     MEDNER_OK);
    size_t sz;
    memcpy(&sz, old, sizeof sz);
    assert_int_equal(sz, 64);
    assert_int_equal(old[64], 0xA5);
    /* a newer caller's size: the tail is zeroed */
    struct { medner_pipeline_params p; uint64_t future; } newer;
    memset(&newer, 0xA5, sizeof newer);
    assert_int_equal(medner_pipeline_params_default(&newer.p, sizeof newer), MEDNER_OK);
    assert_int_equal(newer.future, 0);
    assert_int_equal(newer.p.struct_size, sizeof newer);
    assert_int_equal(medner_pipeline_params_default(&b, 60), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_pipeline_params_default(&b, 56), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_pipeline_params_default(NULL, sizeof b), MEDNER_E_INVALID_ARGUMENT);
}

/* An allocator that fails allocations number a and b (0: none). */
static struct { long count, a, b; } two_fail;

static void *two_fail_alloc(void *u, size_t n)
{
    (void)u;
    long k = ++two_fail.count;
    return k == two_fail.a || k == two_fail.b ? NULL : malloc(n);
}

static void *two_fail_realloc(void *u, void *q, size_t n)
{
    (void)u;
    long k = ++two_fail.count;
    return k == two_fail.a || k == two_fail.b ? NULL : realloc(q, n);
}

static int two_fail_install(void)
{
    medner_allocator al = MEDNER_ALLOCATOR_INIT;
    al.alloc_fn = two_fail_alloc;
    al.realloc_fn = two_fail_realloc;
    al.free_fn = failing_free;
    return medner_allocator_set(&al);
}

/* Issue 19 item 5: the pipeline passes tokenizer options through. */
static void test_tokenizer_options(void **state)
{
    (void)state;
    medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
    tp.lowercase = MEDNER_OFF;
    tp.model_max_length = 40;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.tokenizer = &tp;
    medner_pipeline *p = NULL;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    medner_pipeline_params got = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.max_length, 40); /* the default follows model_max_length */
    assert_non_null(got.tokenizer);
    assert_int_equal(got.tokenizer->lowercase, MEDNER_OFF);
    medner_tokenizer_params eff = MEDNER_TOKENIZER_PARAMS_INIT;
    assert_int_equal(medner_tokenizer_get_params(medner_pipeline_tokenizer(p), &eff), MEDNER_OK);
    assert_int_equal(eff.lowercase, MEDNER_OFF);
    assert_int_equal(eff.model_max_length, 40);
    medner_pipeline_free(p);
    pp.tokenizer = NULL; /* as the files say */
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.tokenizer->lowercase, MEDNER_ON);
    assert_true(got.max_length > 40);
    medner_pipeline_free(p);
    tp.lowercase = (medner_switch)7; /* a bad option fails the creation */
    pp.tokenizer = &tp;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
}

/* Issue 19 item 5: the out-first spellings fill what the 0.1 getters fill. */
static void test_new_spellings(void **state)
{
    (void)state;
    medner_pipeline *p = make(MEDNER_MERGE_CENTER, 32, 8, MEDNER_AGGREGATION_FIRST);
    const char *text = "Fever and cough in a BRCA1 carrier; \xCE\xB2-thalassemia.";
    size_t len = strlen(text);
    medner_entities *e = annotate(p, text, len);
    assert_true(medner_entities_count(e) > 0);
    for (size_t i = 0; i < medner_entities_count(e); i++) {
        medner_entity a = MEDNER_ENTITY_INIT, b = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(e, i, &a), MEDNER_OK);
        assert_int_equal(medner_entity_get(&b, e, i), MEDNER_OK);
        assert_memory_equal(&a, &b, sizeof a);
        size_t b0, e0, b1, e1;
        assert_int_equal(medner_entities_span_codepoints(e, i, &b0, &e0), MEDNER_OK);
        assert_int_equal(medner_entity_span_codepoints(&b1, &e1, e, i), MEDNER_OK);
        assert_true(b0 == b1 && e0 == e1);
        assert_int_equal(medner_entities_span_utf16(e, i, &b0, &e0), MEDNER_OK);
        assert_int_equal(medner_entity_span_utf16(&b1, &e1, e, i), MEDNER_OK);
        assert_true(b0 == b1 && e0 == e1);
    }
    medner_entity x = MEDNER_ENTITY_INIT;
    assert_int_equal(medner_entity_get(&x, e, medner_entities_count(e)), MEDNER_E_INVALID_ARGUMENT);
    medner_pipeline_params pa = MEDNER_PIPELINE_PARAMS_INIT, pb = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p, &pa), MEDNER_OK);
    assert_int_equal(medner_pipeline_params_get(&pb, p), MEDNER_OK);
    assert_memory_equal(&pa, &pb, sizeof pa);
    medner_encoder_info ia = MEDNER_ENCODER_INFO_INIT, ib = MEDNER_ENCODER_INFO_INIT;
    assert_int_equal(medner_encoder_get_info(medner_pipeline_encoder(p), &ia), MEDNER_OK);
    assert_int_equal(medner_encoder_info_get(&ib, medner_pipeline_encoder(p)), MEDNER_OK);
    assert_memory_equal(&ia, &ib, sizeof ia);
    medner_tokenizer_params ta = MEDNER_TOKENIZER_PARAMS_INIT, tb = MEDNER_TOKENIZER_PARAMS_INIT;
    assert_int_equal(medner_tokenizer_get_params(medner_pipeline_tokenizer(p), &ta), MEDNER_OK);
    assert_int_equal(medner_tokenizer_params_get(&tb, medner_pipeline_tokenizer(p)), MEDNER_OK);
    assert_memory_equal(&ta, &tb, sizeof ta);
    medner_encoding *enc = NULL;
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.max_length = 8;
    assert_int_equal(medner_tokenizer_encode(&enc, medner_pipeline_tokenizer(p), text, len, &ep),
                     MEDNER_OK);
    assert_true(medner_encoding_num_windows(enc) > 1);
    medner_window wa = MEDNER_WINDOW_INIT, wb = MEDNER_WINDOW_INIT;
    assert_int_equal(medner_encoding_window(enc, 1, &wa), MEDNER_OK);
    assert_int_equal(medner_window_get(&wb, enc, 1), MEDNER_OK);
    assert_memory_equal(&wa, &wb, sizeof wa);
    medner_spans *sp = NULL;
    assert_int_equal(medner_sentences_split(&sp, "One. Two.", 9), MEDNER_OK);
    size_t sb0, se0, sb1, se1;
    int32_t c0, c1;
    assert_int_equal(medner_spans_get(sp, 1, &sb0, &se0, &c0), MEDNER_OK);
    assert_int_equal(medner_span_get(&sb1, &se1, &c1, sp, 1), MEDNER_OK);
    assert_true(sb0 == sb1 && se0 == se1 && c0 == c1 && sb1 == 5);
    medner_spans_free(sp);
    medner_encoding_free(enc);
    medner_entities_free(e);
    medner_pipeline_free(p);
}

/* Issue 19 item 3: one status per text, the failing index in a field. */
static void test_annotate_each(void **state)
{
    (void)state;
    medner_pipeline *p = make(MEDNER_MERGE_CENTER, 16, 4, MEDNER_AGGREGATION_FIRST);
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    const char *texts[5] = { "Fever and cough in a BRCA1 carrier.", "bad \xFF utf-8", NULL,
                             "", "Chest X-ray showed right lower lobe consolidation." };
    size_t lens[5] = { strlen(texts[0]), 12, 3, 0, strlen(texts[4]) };
    medner_entities *out[5];
    int st[5];
    size_t first = 0;
    assert_int_equal(medner_pipeline_annotate_each(out, st, &first, p, c, texts, lens, 5),
                     MEDNER_OK);
    assert_int_equal(st[0], MEDNER_OK);
    assert_int_equal(st[1], MEDNER_E_INVALID_UTF8);
    assert_int_equal(st[2], MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(st[3], MEDNER_OK);
    assert_int_equal(st[4], MEDNER_OK);
    assert_int_equal(first, 1);
    assert_non_null(strstr(medner_last_error(), "text 1"));
    assert_null(out[1]);
    assert_null(out[2]);
    /* the good texts: the same entities as the all-or-nothing call */
    for (int i = 0; i < 5; i += i == 0 ? 3 : 1) {
        medner_entities *one = NULL;
        assert_int_equal(medner_pipeline_annotate(&one, p, c, &texts[i], &lens[i], 1), MEDNER_OK);
        assert_non_null(out[i]);
        assert_int_equal(medner_entities_count(one), medner_entities_count(out[i]));
        for (size_t k = 0; k < medner_entities_count(one); k++) {
            medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
            medner_entities_get(one, k, &x);
            medner_entities_get(out[i], k, &y);
            assert_int_equal(x.begin, y.begin);
            assert_int_equal(x.end, y.end);
            assert_true(x.score == y.score);
        }
        medner_entities_free(one);
        medner_entities_free(out[i]);
    }
    /* all good: first_failed is SIZE_MAX */
    assert_int_equal(medner_pipeline_annotate_each(out, st, &first, p, c, texts, lens, 1),
                     MEDNER_OK);
    assert_int_equal(first, SIZE_MAX);
    assert_int_equal(st[0], MEDNER_OK);
    medner_entities_free(out[0]);
    assert_int_equal(medner_pipeline_annotate_each(out, NULL, &first, p, c, texts, lens, 1),
                     MEDNER_E_INVALID_ARGUMENT);
    medner_context_free(c);
    medner_pipeline_free(p);

    /* allocation failures: the batched call fails at allocation a, the
     * texts are rerun one by one and the rerun fails at allocation b: each
     * text gets its own status, nothing leaks */
    int saw_partial = 0;
    for (long a = 1; a < 400 && !saw_partial; a++) {
        for (long d = 1; d < 200 && !saw_partial; d += 7) {
            two_fail.count = 0;
            two_fail.a = two_fail.b = 0;
            assert_int_equal(two_fail_install(), MEDNER_OK);
            p = make(MEDNER_MERGE_CENTER, 16, 4, MEDNER_AGGREGATION_FIRST);
            assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
            const char *good[3] = { texts[0], texts[4], texts[0] };
            size_t glens[3] = { lens[0], lens[4], lens[0] };
            two_fail.count = 0;
            two_fail.a = a;
            two_fail.b = a + d;
            int rc = medner_pipeline_annotate_each(out, st, &first, p, c, good, glens, 3);
            two_fail.a = two_fail.b = 0;
            if (rc == MEDNER_OK) {
                int oks = 0;
                size_t lowest = SIZE_MAX;
                for (int i = 0; i < 3; i++) {
                    assert_true(st[i] == MEDNER_OK || st[i] == MEDNER_E_OUT_OF_MEMORY);
                    assert_true((st[i] == MEDNER_OK) == (out[i] != NULL));
                    oks += st[i] == MEDNER_OK;
                    if (st[i] != MEDNER_OK && lowest == SIZE_MAX)
                        lowest = (size_t)i;
                    medner_entities_free(out[i]);
                }
                assert_int_equal(first, lowest);
                saw_partial |= oks > 0 && oks < 3;
            } else {
                assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
            }
            medner_context_free(c);
            medner_pipeline_free(p);
            assert_int_equal(medner__live_allocations(), 0);
            assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
        }
    }
    assert_true(saw_partial); /* some texts succeeded while another failed */
}

typedef struct cb_state {
    long asks, abort_at;    /* abort on the abort_at-th question (0: never) */
    long reports;
    medner_progress last;
    int monotonic;
} cb_state;

static int abort_cb(void *u)
{
    cb_state *s = u;
    return ++s->asks == s->abort_at;
}

static void progress_cb(const medner_progress *pr, void *u)
{
    cb_state *s = u;
    if (pr->windows_done < s->last.windows_done || pr->texts_done < s->last.texts_done ||
        pr->bytes_done < s->last.bytes_done || pr->texts_done > pr->n_texts ||
        pr->bytes_done > pr->total_bytes || pr->struct_size != sizeof *pr)
        s->monotonic = 0;
    s->last = *pr;
    s->reports++;
}

/* Issue 19 item 2: progress and abort callbacks, between batches and
 * segments; an abort is MEDNER_E_CANCELLED and leaks nothing. */
static void test_progress_and_abort(void **state)
{
    (void)state;
    cb_state cs;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 32;
    pp.overlap = 8;
    pp.batch_size = 4;
    pp.progress = progress_cb;
    pp.abort_callback = abort_cb;
    pp.callback_user_data = &cs;
    medner_pipeline *p = NULL;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    size_t l0, l1;
    char *mid = long_text(1, &l0);   /* ~2,900 bytes: some batches */
    char *big = long_text(100, &l1); /* ~290 KB: two segments */
    const char *texts[3] = { mid, "Fever.", big };
    size_t lens[3] = { l0, 6, l1 };

    /* a full run: reports go forward and end at the totals */
    memset(&cs, 0, sizeof cs);
    cs.monotonic = 1;
    medner_entities *out[3] = { NULL, NULL, NULL };
    assert_int_equal(medner_pipeline_annotate(out, p, c, texts, lens, 3), MEDNER_OK);
    assert_true(cs.monotonic);
    assert_true(cs.reports > 10);
    assert_int_equal(cs.last.texts_done, 3);
    assert_int_equal(cs.last.n_texts, 3);
    assert_int_equal(cs.last.bytes_done, l0 + 6 + l1);
    assert_int_equal(cs.last.total_bytes, l0 + 6 + l1);
    assert_true(cs.last.windows_done > 1000);
    long total_asks = cs.asks;
    assert_true(total_asks >= cs.reports - 3); /* asked before each batch and segment */
    for (int i = 0; i < 3; i++)
        medner_entities_free(out[i]);
    long live = medner__live_allocations();

    /* abort at every question of the short texts, then a few in the long one */
    long at[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, total_asks / 2, total_asks - 1,
                  total_asks };
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        memset(&cs, 0, sizeof cs);
        cs.monotonic = 1;
        cs.abort_at = at[k];
        medner_entities *keep = (medner_entities *)&cs; /* must stay untouched */
        out[0] = out[1] = out[2] = keep;
        assert_int_equal(medner_pipeline_annotate(out, p, c, texts, lens, 3), MEDNER_E_CANCELLED);
        assert_non_null(strstr(medner_last_error(), "abort callback"));
        assert_ptr_equal(out[0], keep);
        assert_ptr_equal(out[2], keep);
        assert_int_equal(cs.asks, at[k]); /* not asked again after saying stop */
        assert_int_equal(medner__live_allocations(), live);
        /* the per-text call is cancelled as a whole too */
        int st[3];
        size_t first;
        cs.asks = 0;
        assert_int_equal(medner_pipeline_annotate_each(out, st, &first, p, c, texts, lens, 3),
                         MEDNER_E_CANCELLED);
        assert_null(out[0]);
        assert_null(out[2]);
        assert_int_equal(medner__live_allocations(), live);
    }
    /* the context still works after an abort */
    memset(&cs, 0, sizeof cs);
    cs.monotonic = 1;
    assert_int_equal(medner_pipeline_annotate(out, p, c, texts, lens, 2), MEDNER_OK);
    medner_entities_free(out[0]);
    medner_entities_free(out[1]);
    medner_context_free(c);
    medner_pipeline_free(p);
    free(mid);
    free(big);
}

/* Issue 19 item 2: medner_memory_used()/highwater() against an allocator
 * hook that counts the bytes itself (each block: the size medner uses plus
 * the 16-byte header). */
static void test_memory_statistics(void **state)
{
    (void)state;
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_memory_used(), 0);
    assert_int_equal(countalloc_install(), MEDNER_OK);
    countalloc_high = 0;
    medner_memory_highwater(1);
    assert_int_equal(medner_memory_highwater(0), 0);
    medner_pipeline *p = make(MEDNER_MERGE_CENTER, 32, 8, MEDNER_AGGREGATION_FIRST);
    size_t loaded = medner_memory_used();
    assert_true(loaded > 1000);
    assert_int_equal(loaded + 16 * (size_t)medner__live_allocations(), countalloc_in_use);
    size_t len;
    char *text = long_text(2, &len);
    medner_entities *e = annotate(p, text, len);
    size_t with_result = medner_memory_used();
    assert_true(with_result > loaded); /* the entities object */
    assert_int_equal(with_result + 16 * (size_t)medner__live_allocations(), countalloc_in_use);
    size_t high = medner_memory_highwater(0);
    assert_true(high > with_result); /* the call's working memory came and went */
    assert_true(high <= countalloc_high);
    assert_true(high + 16 * 64 > countalloc_high - 16 * 4096); /* near the hook's peak */
    assert_int_equal(medner_memory_highwater(1), high); /* reset ... */
    assert_int_equal(medner_memory_highwater(0), with_result); /* ... to the current */
    medner_entities_free(e);
    medner_pipeline_free(p);
    assert_int_equal(medner_memory_used(), 0);
    assert_int_equal(countalloc_in_use, 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
    free(text);
}

static void same_entities(const medner_entities *a, const medner_entities *b)
{
    assert_int_equal(medner_entities_count(a), medner_entities_count(b));
    assert_int_equal(medner_entities_num_tokens(a), medner_entities_num_tokens(b));
    for (size_t k = 0; k < medner_entities_count(a); k++) {
        medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(a, k, &x), MEDNER_OK);
        assert_int_equal(medner_entities_get(b, k, &y), MEDNER_OK);
        assert_int_equal(x.begin, y.begin);
        assert_int_equal(x.end, y.end);
        assert_string_equal(x.label, y.label);
        assert_true(x.score == y.score); /* bitwise */
        assert_int_equal(x.first_token, y.first_token);
        assert_int_equal(x.n_tokens, y.n_tokens);
    }
}

/* Issue 19 item 1: medner_decoder_decode() on the logits of the pipeline's
 * own encoder, run window by window outside the pipeline, gives the
 * pipeline's entities (both merges, several aggregations, first window). */
static void test_decode_own_logits(void **state)
{
    (void)state;
    size_t len;
    char *text = long_text(1, &len);
    static const medner_merge merges[] = { MEDNER_MERGE_CENTER, MEDNER_MERGE_HF };
    static const medner_aggregation aggs[] = { MEDNER_AGGREGATION_FIRST, MEDNER_AGGREGATION_NONE,
                                               MEDNER_AGGREGATION_AVERAGE,
                                               MEDNER_AGGREGATION_SIMPLE };
    for (int fwo = 0; fwo < 2; fwo++)
    for (size_t m = 0; m < 2; m++)
    for (size_t g = 0; g < 4; g++) {
        medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
        dp.aggregation = aggs[g];
        medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
        pp.model_dir = TINY;
        pp.merge = merges[m];
        pp.max_length = 32;
        pp.overlap = 10;
        pp.batch_size = 3;
        pp.first_window_only = fwo ? MEDNER_ON : MEDNER_OFF;
        pp.context = MEDNER_OFF;
        pp.decoder = &dp;
        medner_pipeline *p = NULL;
        assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
        medner_entities *want = annotate(p, text, len);
        assert_true(medner_entities_count(want) > 0);

        medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
        ep.max_length = 32;
        ep.overlap = 10;
        medner_encoding *enc = NULL;
        assert_int_equal(medner_tokenizer_encode(&enc, medner_pipeline_tokenizer(p), text, len,
                                                 &ep), MEDNER_OK);
        size_t nw = medner_encoding_num_windows(enc);
        assert_true(nw > 5);
        const int32_t **ids = calloc(nw, sizeof *ids);
        size_t *lens = calloc(nw, sizeof *lens);
        const float **lg = calloc(nw, sizeof *lg);
        for (size_t w = 0; w < nw; w++) {
            medner_window win = MEDNER_WINDOW_INIT;
            assert_int_equal(medner_encoding_window(enc, w, &win), MEDNER_OK);
            ids[w] = win.ids;
            lens[w] = win.length;
        }
        medner_context *c = NULL;
        assert_int_equal(medner_context_create(&c, medner_pipeline_encoder(p)), MEDNER_OK);
        assert_int_equal(medner_encoder_run(c, ids, NULL, lens, nw), MEDNER_OK); /* one batch */
        for (size_t w = 0; w < nw; w++)
            lg[w] = medner_context_logits(c, w);
        medner_entities *got = NULL;
        assert_int_equal(medner_decoder_decode(&got, medner_pipeline_decoder(p),
                                               medner_pipeline_tokenizer(p), enc, lg,
                                               fwo ? 1 : nw, merges[m], text, len), MEDNER_OK);
        same_entities(got, want);
        medner_entities_free(got);

        if (fwo == 0 && m == 0 && g == 0) { /* errors */
            medner_entities *none = (medner_entities *)lg;
            assert_int_equal(medner_decoder_num_labels(medner_pipeline_decoder(p)), 9);
            assert_int_equal(medner_decoder_decode(&none, medner_pipeline_decoder(p),
                                                   medner_pipeline_tokenizer(p), enc, lg, nw + 1,
                                                   merges[m], text, len),
                             MEDNER_E_INVALID_ARGUMENT);
            assert_int_equal(medner_decoder_decode(&none, medner_pipeline_decoder(p),
                                                   medner_pipeline_tokenizer(p), enc, lg, nw,
                                                   merges[m], text, 100), /* another text */
                             MEDNER_E_INVALID_ARGUMENT);
            assert_non_null(strstr(medner_last_error(), "not inside the text"));
            const float *saved = lg[2];
            lg[2] = NULL;
            assert_int_equal(medner_decoder_decode(&none, medner_pipeline_decoder(p),
                                                   medner_pipeline_tokenizer(p), enc, lg, nw,
                                                   merges[m], text, len),
                             MEDNER_E_INVALID_ARGUMENT);
            lg[2] = saved;
            assert_int_equal(medner_decoder_decode(&none, NULL, medner_pipeline_tokenizer(p), enc,
                                                   lg, nw, merges[m], text, len),
                             MEDNER_E_INVALID_ARGUMENT);
            medner_encoding *bare = NULL; /* no [CLS]/[SEP] */
            ep.special_tokens = MEDNER_OFF;
            assert_int_equal(medner_tokenizer_encode(&bare, medner_pipeline_tokenizer(p), text,
                                                     len, &ep), MEDNER_OK);
            assert_int_equal(medner_decoder_decode(&none, medner_pipeline_decoder(p),
                                                   medner_pipeline_tokenizer(p), bare, lg, 1,
                                                   merges[m], text, len),
                             MEDNER_E_INVALID_ARGUMENT);
            assert_ptr_equal(none, (medner_entities *)lg); /* untouched */
            medner_encoding_free(bare);
        }
        medner_context_free(c);
        free(ids);
        free(lens);
        free(lg);
        medner_encoding_free(enc);
        medner_entities_free(want);
        medner_pipeline_free(p);
    }
    assert_int_equal(medner__live_allocations(), 0);
    free(text);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    const char *text = "Fever and cough in a BRCA1 carrier; \xCE\xB2-thalassemia.";
    size_t len = strlen(text);
    long n;
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
        dp.decoding = MEDNER_DECODING_CONSTRAINED;
        medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
        pp.model_dir = TINY;
        pp.max_length = 8;
        pp.overlap = 2;
        pp.decoder = &dp;
        medner_pipeline *p = NULL;
        medner_context *c = NULL;
        medner_entities *e = NULL;
        int rc = medner_pipeline_create(&p, &pp);
        if (rc == MEDNER_OK)
            rc = medner_pipeline_context_create(&c, p);
        if (rc == MEDNER_OK)
            rc = medner_pipeline_annotate(&e, p, c, &text, &len, 1);
        medner_entities_free(e);
        medner_context_free(c);
        medner_pipeline_free(p);
        assert_int_equal(medner__live_allocations(), 0);
        if (rc == MEDNER_OK)
            break;
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
    }
    assert_true(n > 20);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}


/* ---- segment: sentence ---------------------------------------------------- */

static medner_pipeline *make_seg(medner_merge merge, medner_aggregation agg,
                                 medner_segment segment)
{
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    dp.aggregation = agg;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.merge = merge;
    pp.max_length = 16;
    pp.overlap = 4;
    pp.batch_size = 3;
    pp.segment = segment;
    pp.decoder = &dp;
    medner_pipeline *p = NULL;
    if (medner_pipeline_create(&p, &pp) != MEDNER_OK)
        fail_msg("pipeline: %s", medner_last_error());
    return p;
}

/* A note with a header line, a numbered and a bulleted list, several
 * sentences and one long sentence that spans several windows of 16. */
static const char seg_note[] =
    "HISTORY OF PRESENT ILLNESS:\n"
    "Patient admitted with fever 38.5 C and productive cough. He denies chest pain.\n"
    "PAST MEDICAL HISTORY: 1. CHF 2. MI 3. BRCA1-associated breast cancer\n"
    "- aspirin 81 mg\n- metformin 500 mg b.i.d.\n\n"
    "Chest X-ray showed right lower lobe consolidation and a small effusion, and the "
    "hemoglobin A1c was 7.2% with an eGFR of 45 mL/min while the beta-blocker was "
    "continued at the same dose and the patient remained afebrile overnight without "
    "any further episodes of productive cough or dyspnea on exertion.  \n";

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The expected result of SENTENCE mode, built by hand: each sentence of
 * medner_sentences_split() annotated as a text of its own by `plain` (NONE),
 * offsets and token indices shifted into the whole text. */
static void check_as_sentences(const medner_pipeline *plain, const medner_entities *got,
                               const char *text, size_t len, size_t min_sentences)
{
    medner_spans *sp = NULL;
    assert_int_equal(medner_sentences_split(&sp, text, len), MEDNER_OK);
    size_t ns = medner_spans_count(sp), tokens = 0, k = 0, covered = 0;
    assert_true(ns >= min_sentences);
    for (size_t i = 0; i < ns; i++) {
        size_t b = 0, e = 0;
        assert_int_equal(medner_span_get(&b, &e, NULL, sp, i), MEDNER_OK);
        for (; covered < b; covered++) /* the splitter left nothing non-blank out */
            assert_true(blank(text[covered]));
        covered = e;
        medner_entities *one = annotate(plain, text + b, e - b);
        for (size_t j = 0; j < medner_entities_count(one); j++, k++) {
            medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
            assert_int_equal(medner_entities_get(one, j, &x), MEDNER_OK);
            assert_true(k < medner_entities_count(got));
            assert_int_equal(medner_entities_get(got, k, &y), MEDNER_OK);
            assert_int_equal(x.begin + b, y.begin);
            assert_int_equal(x.end + b, y.end);
            assert_string_equal(x.label, y.label);
            assert_true(x.score == y.score); /* bitwise */
            assert_int_equal(x.first_token + tokens, y.first_token);
            assert_int_equal(x.n_tokens, y.n_tokens);
        }
        tokens += medner_entities_num_tokens(one);
        medner_entities_free(one);
    }
    for (; covered < len; covered++)
        assert_true(blank(text[covered]));
    assert_int_equal(k, medner_entities_count(got));
    assert_int_equal(tokens, medner_entities_num_tokens(got));
    medner_spans_free(sp);
}

static void test_segment_sentence(void **state)
{
    (void)state;
    const char *text = seg_note;
    size_t len = strlen(text);
    static const medner_merge merges[] = { MEDNER_MERGE_CENTER, MEDNER_MERGE_HF };
    static const medner_aggregation aggs[] = { MEDNER_AGGREGATION_FIRST,
                                               MEDNER_AGGREGATION_NONE };
    for (size_t m = 0; m < 2; m++) {
        for (size_t a = 0; a < 2; a++) {
            medner_pipeline *plain = make_seg(merges[m], aggs[a], MEDNER_SEGMENT_NONE);
            medner_pipeline *sent = make_seg(merges[m], aggs[a], MEDNER_SEGMENT_SENTENCE);
            medner_entities *whole = annotate(plain, text, len);
            medner_entities *got = annotate(sent, text, len);
            assert_true(medner_entities_count(got) > 3); /* something to compare */
            check_spans(got, text, len, aggs[a] != MEDNER_AGGREGATION_NONE);
            check_as_sentences(plain, got, text, len, 8);
            /* one sentence after leading blanks: its one piece starts past
             * byte 0, so its entities are shifted too */
            static const char lead[] = " \n  Patient admitted with fever and productive cough "
                                       "after a BRCA1-associated breast cancer.  \n";
            medner_entities *one = annotate(sent, lead, strlen(lead));
            assert_true(medner_entities_count(one) > 0);
            check_spans(one, lead, strlen(lead), aggs[a] != MEDNER_AGGREGATION_NONE);
            check_as_sentences(plain, one, lead, strlen(lead), 1);
            medner_entities_free(one);
            /* the whole text has as many tokens either way (cut at blanks) */
            assert_int_equal(medner_entities_num_tokens(whole), medner_entities_num_tokens(got));
            /* several texts in one call (windows batched across their
             * sentences), an empty and a blank one among them: as one by one */
            const char *texts[4] = { text, "", " \n ", text + 28 };
            size_t lens[4] = { len, 0, 3, len - 28 };
            medner_entities *res[4] = { NULL, NULL, NULL, NULL };
            medner_context *c = NULL;
            assert_int_equal(medner_pipeline_context_create(&c, sent), MEDNER_OK);
            assert_int_equal(medner_pipeline_annotate(res, sent, c, texts, lens, 4), MEDNER_OK);
            for (size_t i = 0; i < 4; i++) {
                medner_entities *one = annotate(sent, texts[i], lens[i]);
                same_entities(one, res[i]);
                medner_entities_free(one);
            }
            assert_int_equal(medner_entities_count(res[1]), 0);
            assert_int_equal(medner_entities_count(res[2]), 0);
            /* annotate_each: the same, a bad text on its own */
            const char *each[3] = { text, "bad \xFF utf-8", text + 28 };
            size_t each_len[3] = { len, 12, len - 28 };
            medner_entities *out[3];
            int st[3];
            size_t first = 0;
            assert_int_equal(medner_pipeline_annotate_each(out, st, &first, sent, c, each,
                                                           each_len, 3), MEDNER_OK);
            assert_int_equal(st[0], MEDNER_OK);
            assert_int_equal(st[1], MEDNER_E_INVALID_UTF8);
            assert_int_equal(st[2], MEDNER_OK);
            assert_int_equal(first, 1);
            same_entities(out[0], res[0]);
            same_entities(out[2], res[3]);
            medner_entities_free(out[0]);
            medner_entities_free(out[2]);
            /* invalid UTF-8 in a text of the all-or-nothing call */
            medner_entities *bad = NULL;
            assert_int_equal(medner_pipeline_annotate(&bad, sent, c, &each[1], &each_len[1], 1),
                             MEDNER_E_INVALID_UTF8);
            assert_non_null(strstr(medner_last_error(), "byte offset 4"));
            assert_null(bad);
            for (size_t i = 0; i < 4; i++)
                medner_entities_free(res[i]);
            medner_context_free(c);
            medner_entities_free(whole);
            medner_entities_free(got);
            medner_pipeline_free(plain);
            medner_pipeline_free(sent);
        }
    }
}

static void test_segment_params(void **state)
{
    (void)state;
    medner_pipeline *p = make_seg(MEDNER_MERGE_HF, MEDNER_AGGREGATION_FIRST,
                                  MEDNER_SEGMENT_SENTENCE);
    medner_pipeline_params got = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.segment, MEDNER_SEGMENT_SENTENCE);
    assert_true(got.explicit_fields & MEDNER_PIPELINE_EXPLICIT_SEGMENT);
    /* passed back, it makes the same pipeline */
    medner_pipeline *q = NULL;
    assert_int_equal(medner_pipeline_create(&q, &got), MEDNER_OK);
    medner_pipeline_params again = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(q, &again), MEDNER_OK);
    assert_int_equal(again.segment, MEDNER_SEGMENT_SENTENCE);
    medner_pipeline_free(q);
    medner_pipeline_free(p);
    /* the default is NONE */
    p = make(MEDNER_MERGE_CENTER, 16, 4, MEDNER_AGGREGATION_FIRST);
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_int_equal(got.segment, MEDNER_SEGMENT_NONE);
    medner_pipeline_free(p);
    /* any other value is refused, naming the field */
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.segment = (medner_segment)2;
    p = NULL;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    assert_null(p);
    assert_non_null(strstr(medner_last_error(), "segment 2"));
    pp.segment = (medner_segment)-1;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    assert_null(p);
    /* an unknown explicit_fields bit still is */
    pp.segment = MEDNER_SEGMENT_NONE;
    pp.explicit_fields = 0x4u;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    assert_null(p);
}

/* A text above MEDNER__SEGMENT_BYTES in SENTENCE mode: annotated to its end. */
static void test_segment_sentence_long(void **state)
{
    (void)state;
    size_t len;
    char *text = long_text(100, &len); /* ~290 KB: two segments */
    medner_pipeline *p = make(MEDNER_MERGE_CENTER, 128, 32, MEDNER_AGGREGATION_FIRST);
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 128;
    pp.overlap = 32;
    pp.batch_size = 16;
    pp.decoder = &dp;
    pp.segment = MEDNER_SEGMENT_SENTENCE;
    medner_pipeline *s = NULL;
    assert_int_equal(medner_pipeline_create(&s, &pp), MEDNER_OK);
    medner_entities *a = annotate(p, text, len), *b = annotate(s, text, len);
    assert_int_equal(medner_entities_num_tokens(a), medner_entities_num_tokens(b));
    assert_true(medner_entities_count(b) > 100);
    check_spans(b, text, len, 1);
    medner_entity last = MEDNER_ENTITY_INIT;
    medner_entities_get(b, medner_entities_count(b) - 1, &last);
    assert_true(last.end > len - 1000);
    assert_true(last.first_token > medner_entities_num_tokens(b) - 1000);
    /* the first sentence's entities: those of annotating it alone */
    const char *dot = strstr(text, ". ");
    size_t first_len = (size_t)(dot - text) + 1;
    medner_entities *one = annotate(p, text, first_len);
    for (size_t k = 0; k < medner_entities_count(one); k++) {
        medner_entity x = MEDNER_ENTITY_INIT, y = MEDNER_ENTITY_INIT;
        medner_entities_get(one, k, &x);
        medner_entities_get(b, k, &y);
        assert_int_equal(x.begin, y.begin);
        assert_int_equal(x.end, y.end);
        assert_true(x.score == y.score);
    }
    medner_entities_free(one);
    medner_entities_free(a);
    medner_entities_free(b);
    medner_pipeline_free(p);
    medner_pipeline_free(s);
    free(text);
}

static void test_segment_out_of_memory(void **state)
{
    (void)state;
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    const char *texts[2] = { seg_note, "Fever. Cough." };
    size_t lens[2] = { strlen(seg_note), 13 };
    long n;
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
        pp.model_dir = TINY;
        pp.max_length = 8;
        pp.overlap = 2;
        pp.batch_size = 2;
        pp.merge = n % 2 ? MEDNER_MERGE_HF : MEDNER_MERGE_CENTER;
        pp.segment = MEDNER_SEGMENT_SENTENCE;
        medner_pipeline *p = NULL;
        medner_context *c = NULL;
        medner_entities *e[2] = { NULL, NULL };
        int rc = medner_pipeline_create(&p, &pp);
        if (rc == MEDNER_OK)
            rc = medner_pipeline_context_create(&c, p);
        if (rc == MEDNER_OK)
            rc = medner_pipeline_annotate(e, p, c, texts, lens, 2);
        if (rc == MEDNER_OK)
            assert_true(medner_entities_count(e[0]) > 0);
        medner_entities_free(e[0]);
        medner_entities_free(e[1]);
        medner_context_free(c);
        medner_pipeline_free(p);
        assert_int_equal(medner__live_allocations(), 0);
        if (rc == MEDNER_OK)
            break;
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
    }
    assert_true(n > 20);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_document_both_merges),
        cmocka_unit_test(test_first_window_only),
        cmocka_unit_test(test_batching_does_not_change_results),
        cmocka_unit_test(test_threads_share_a_pipeline),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_explicit_zero_and_defaults),
        cmocka_unit_test(test_tokenizer_options),
        cmocka_unit_test(test_new_spellings),
        cmocka_unit_test(test_annotate_each),
        cmocka_unit_test(test_progress_and_abort),
        cmocka_unit_test(test_memory_statistics),
        cmocka_unit_test(test_decode_own_logits),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_segment_sentence),
        cmocka_unit_test(test_segment_params),
        cmocka_unit_test(test_segment_sentence_long),
        cmocka_unit_test(test_segment_out_of_memory),
    };
    return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
