/* Entity decoder: schemes, Hugging Face grouping rules on hand-made logits,
 * constrained decoding, the overlap merge, entity objects, errors. Parity
 * with Hugging Face's pipeline on a real model is in test_pipeline.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"

#include "decoder/decoder.h"

static const char *const BIO[] = { "O", "B-Dis", "I-Dis", "B-Chem", "I-Chem" };

/* logits that make label `l` win with probability ~p for each position */
static void one_hot(float *logits, const int *labels, size_t n, size_t c, float margin)
{
    for (size_t t = 0; t < n; t++)
        for (size_t k = 0; k < c; k++)
            logits[t * c + k] = (int)k == labels[t] ? margin : 0.0f;
}

typedef struct run {
    medner__entlist l;
    size_t begin[32], end[32], token[32];
    uint8_t sub[32];
} run;

/* Words of one token each at offsets 0,2,4,...; sub[] marks subwords. */
static void decode(const medner_decoder *d, const float *logits, size_t n, const uint8_t *sub,
                   run *r)
{
    memset(r, 0, sizeof *r);
    for (size_t t = 0; t < n; t++) {
        r->begin[t] = 2 * t;
        r->end[t] = 2 * t + 1;
        r->token[t] = t;
        r->sub[t] = sub ? sub[t] : 0;
    }
    medner__dec_input in = { logits, r->begin, r->end, r->sub, r->token, n };
    assert_int_equal(medner__decode(d, &in, &r->l), MEDNER_OK);
}

static medner_decoder *make(const char *const *labels, size_t n, medner_aggregation agg,
                            medner_decoding dec)
{
    medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
    p.aggregation = agg;
    p.decoding = dec;
    medner_decoder *d = NULL;
    assert_int_equal(medner_decoder_create(&d, labels, n, &p), MEDNER_OK);
    return d;
}

static void test_scheme_detection(void **state)
{
    (void)state;
    medner_decoder *d = make(BIO, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    assert_int_equal(medner_decoder_scheme(d), MEDNER_SCHEME_BIO);
    medner_decoder_free(d);
    const char *bioes[] = { "O", "B-X", "I-X", "E-X", "S-X" };
    d = make(bioes, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    assert_int_equal(medner_decoder_scheme(d), MEDNER_SCHEME_BIOES);
    medner_decoder_free(d);
    const char *bilou[] = { "O", "B-X", "I-X", "L-X", "U-X" };
    d = make(bilou, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    assert_int_equal(medner_decoder_scheme(d), MEDNER_SCHEME_BIOES);
    medner_decoder_free(d);
    const char *io[] = { "O", "Disease", "Drug" };
    d = make(io, 3, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    assert_int_equal(medner_decoder_scheme(d), MEDNER_SCHEME_IO);
    medner_decoder_free(d);
    assert_int_equal(medner_decoder_scheme(NULL), MEDNER_SCHEME_AUTO);
}

static void expect(const medner_decoder *d, const run *r, size_t i, const char *label,
                   size_t begin, size_t end)
{
    assert_true(i < r->l.n);
    assert_string_equal(medner__decoder_name(d, r->l.items[i].label), label);
    assert_int_equal(r->l.items[i].begin, begin);
    assert_int_equal(r->l.items[i].end, end);
}

static void test_hf_grouping(void **state)
{
    (void)state;
    medner_decoder *d = make(BIO, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    float lg[10 * 5];
    run r;
    /* B-Dis I-Dis O I-Dis I-Dis B-Dis B-Dis I-Chem B-Chem I-Dis */
    int labels[10] = { 1, 2, 0, 2, 2, 1, 1, 4, 3, 2 };
    one_hot(lg, labels, 10, 5, 5.0f);
    decode(d, lg, 10, NULL, &r);
    /* Hugging Face: [0,3) Dis; I after O starts [6,9) Dis; B B -> two; I-Chem,
     * then B-Chem starts anew; I-Dis after Chem starts Dis */
    assert_int_equal(r.l.n, 7);
    expect(d, &r, 0, "Dis", 0, 3);
    expect(d, &r, 1, "Dis", 6, 9);
    expect(d, &r, 2, "Dis", 10, 11);
    expect(d, &r, 3, "Dis", 12, 13);
    expect(d, &r, 4, "Chem", 14, 15);
    expect(d, &r, 5, "Chem", 16, 17);
    expect(d, &r, 6, "Dis", 18, 19);
    /* group score = mean of member probabilities */
    double p = exp(5.0) / (exp(5.0) + 4.0);
    assert_true(fabs(r.l.items[0].score - p) < 1e-6);
    medner__entlist_release(&r.l);
    medner_decoder_free(d);
}

static void test_word_aggregation(void **state)
{
    (void)state;
    /* one word of three tokens: B-Dis(0.6) | O(0.9) | I-Chem(0.95) */
    float lg[3 * 5] = { 0 };
    lg[0 * 5 + 1] = 2.0f;                 /* first token: B-Dis */
    lg[1 * 5 + 0] = 4.0f;                 /* second: O */
    lg[2 * 5 + 4] = 6.0f;                 /* third: I-Chem, most confident */
    uint8_t sub[3] = { 0, 1, 1 };
    run r;
    medner_decoder *first = make(BIO, 5, MEDNER_AGGREGATION_FIRST, MEDNER_DECODING_ARGMAX);
    decode(first, lg, 3, sub, &r);
    assert_int_equal(r.l.n, 1);
    expect(first, &r, 0, "Dis", 0, 5); /* the word spans all three tokens */
    assert_int_equal(r.l.items[0].n_tokens, 3);
    medner__entlist_release(&r.l);
    medner_decoder *max = make(BIO, 5, MEDNER_AGGREGATION_MAX, MEDNER_DECODING_ARGMAX);
    decode(max, lg, 3, sub, &r);
    assert_int_equal(r.l.n, 1);
    expect(max, &r, 0, "Chem", 0, 5);
    medner__entlist_release(&r.l);
    medner_decoder *avg = make(BIO, 5, MEDNER_AGGREGATION_AVERAGE, MEDNER_DECODING_ARGMAX);
    decode(avg, lg, 3, sub, &r);
    /* mean probabilities: I-Chem wins (0.95+...)/3 over O and B-Dis */
    assert_int_equal(r.l.n, 1);
    expect(avg, &r, 0, "Chem", 0, 5);
    medner__entlist_release(&r.l);
    medner_decoder *none = make(BIO, 5, MEDNER_AGGREGATION_NONE, MEDNER_DECODING_ARGMAX);
    decode(none, lg, 3, sub, &r);
    assert_int_equal(r.l.n, 2); /* the O token is ignored */
    expect(none, &r, 0, "B-Dis", 0, 1);
    expect(none, &r, 1, "I-Chem", 4, 5);
    medner__entlist_release(&r.l);
    medner_decoder_free(first);
    medner_decoder_free(max);
    medner_decoder_free(avg);
    medner_decoder_free(none);
}

/* With constrained decoding no output has an invalid transition. */
static void test_constrained_bio_is_valid(void **state)
{
    (void)state;
    medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
    p.aggregation = MEDNER_AGGREGATION_NONE;
    p.decoding = MEDNER_DECODING_CONSTRAINED;
    const char *nothing[] = { "-" };
    p.ignore_labels = nothing; /* keep O tokens in the output to see the path */
    p.n_ignore_labels = 1;
    medner_decoder *d = NULL;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_OK);
    unsigned seed = 1;
    float lg[20 * 5];
    for (int round = 0; round < 500; round++) {
        for (size_t i = 0; i < 20 * 5; i++)
            lg[i] = (float)(rand_r(&seed) % 1000) / 100.0f;
        run r;
        decode(d, lg, 20, NULL, &r);
        assert_int_equal(r.l.n, 20);
        const char *prev = "O";
        for (size_t t = 0; t < 20; t++) {
            const char *cur = medner__decoder_name(d, r.l.items[t].label);
            if (cur[0] == 'I')
                assert_true((prev[0] == 'B' || prev[0] == 'I') && !strcmp(prev + 1, cur + 1));
            prev = cur;
        }
        medner__entlist_release(&r.l);
    }
    medner_decoder_free(d);
}

static void test_constrained_fixes_o_then_i(void **state)
{
    (void)state;
    /* argmax: O I-Dis I-Dis with B-Dis a close second on token 1 */
    float lg[3 * 5] = { 0 };
    lg[0 * 5 + 0] = 5.0f;
    lg[1 * 5 + 2] = 3.0f;
    lg[1 * 5 + 1] = 2.9f;
    lg[2 * 5 + 2] = 3.0f;
    run r;
    medner_decoder *c = make(BIO, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_CONSTRAINED);
    decode(c, lg, 3, NULL, &r);
    assert_int_equal(r.l.n, 1);
    expect(c, &r, 0, "Dis", 2, 5); /* B-Dis I-Dis */
    medner__entlist_release(&r.l);
    medner_decoder_free(c);
}

static void test_bioes(void **state)
{
    (void)state;
    const char *labels[] = { "O", "B-X", "I-X", "E-X", "S-X" };
    /* B I E S S O E(stray) */
    int seq[7] = { 1, 2, 3, 4, 4, 0, 3 };
    float lg[7 * 5];
    one_hot(lg, seq, 7, 5, 5.0f);
    run r;
    medner_decoder *d = make(labels, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    decode(d, lg, 7, NULL, &r);
    assert_int_equal(r.l.n, 4);
    expect(d, &r, 0, "X", 0, 5);   /* B I E */
    expect(d, &r, 1, "X", 6, 7);   /* S */
    expect(d, &r, 2, "X", 8, 9);   /* S */
    expect(d, &r, 3, "X", 12, 13); /* a stray E starts its own entity (lenient) */
    medner__entlist_release(&r.l);
    medner_decoder_free(d);
    /* constrained: a path never ends inside an entity nor has a stray E */
    medner_decoder *c = make(labels, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_CONSTRAINED);
    int seq2[3] = { 0, 1, 2 }; /* O B I: must close the entity */
    one_hot(lg, seq2, 3, 5, 1.0f);
    decode(c, lg, 3, NULL, &r);
    for (size_t i = 0; i < r.l.n; i++)
        assert_true(r.l.items[i].end <= 5);
    medner__entlist_release(&r.l);
    medner_decoder_free(c);
}

static void test_filters_and_renames(void **state)
{
    (void)state;
    int seq[4] = { 1, 0, 3, 0 };
    float lg[4 * 5];
    one_hot(lg, seq, 4, 5, 1.0f);
    medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
    p.aggregation = MEDNER_AGGREGATION_SIMPLE;
    const char *from[] = { "Dis" }, *to[] = { "Problem" }, *keep[] = { "Problem" };
    p.rename_from = from;
    p.rename_to = to;
    p.n_renames = 1;
    p.keep_labels = keep;
    p.n_keep_labels = 1;
    medner_decoder *d = NULL;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_OK);
    run r;
    decode(d, lg, 4, NULL, &r);
    assert_int_equal(r.l.n, 1);
    expect(d, &r, 0, "Problem", 0, 1);
    medner__entlist_release(&r.l);
    medner_decoder_free(d);
    /* min_score drops unsure entities (p ~ 0.4 here) */
    p.n_keep_labels = 0;
    p.n_renames = 0;
    p.min_score = 0.5;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_OK);
    decode(d, lg, 4, NULL, &r);
    assert_int_equal(r.l.n, 0);
    medner__entlist_release(&r.l);
    medner_decoder_free(d);
}

/* Issue 19 item 4: n_ignore_labels 0 with MEDNER_DECODER_EXPLICIT_IGNORE_LABELS
 * ignores nothing ("O" runs become entities), without the bit it is {"O"}. */
static void test_ignore_no_label(void **state)
{
    (void)state;
    int seq[4] = { 1, 0, 0, 3 };
    float lg[4 * 5];
    one_hot(lg, seq, 4, 5, 4.0f);
    size_t counts[2];
    for (int bit = 0; bit < 2; bit++) {
        medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
        p.aggregation = MEDNER_AGGREGATION_SIMPLE;
        p.explicit_fields = bit ? MEDNER_DECODER_EXPLICIT_IGNORE_LABELS : 0;
        medner_decoder *d = NULL;
        assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_OK);
        run r;
        decode(d, lg, 4, NULL, &r);
        counts[bit] = r.l.n;
        if (bit) { /* Dis, O (two tokens), Chem */
            assert_int_equal(r.l.n, 3);
            expect(d, &r, 0, "Dis", 0, 1);
            expect(d, &r, 1, "O", 2, 5);
            expect(d, &r, 2, "Chem", 6, 7);
        }
        medner__entlist_release(&r.l);
        medner_decoder_free(d);
    }
    assert_int_equal(counts[0], 2);
    medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
    p.explicit_fields = 0x100;
    medner_decoder *d = NULL;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_E_INVALID_ARGUMENT);
    p.explicit_fields = 0;
    p.reserved2 = 1;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_E_INVALID_ARGUMENT);
}

static void test_merge_overlapping(void **state)
{
    (void)state;
    /* window 1: [0,5) [10,12); window 2: [3,9) longer, [10,12) higher score, [20,22) */
    medner__ent items[] = {
        { 0, 5, 0, 0.9, 0, 1 },  { 10, 12, 0, 0.5, 4, 1 },
        { 3, 9, 0, 0.8, 2, 2 },  { 10, 12, 0, 0.7, 4, 1 }, { 20, 22, 0, 0.6, 8, 1 },
    };
    medner__entlist l = { 0 };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(medner__entlist_push(&l, &items[i]), MEDNER_OK);
    assert_int_equal(medner__merge_overlapping(&l), MEDNER_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].begin, 3);   /* longer span wins */
    assert_true(l.items[1].score == 0.7);    /* tie on length: higher score */
    assert_int_equal(l.items[2].begin, 20);
    medner__entlist_release(&l);
}

static void test_entities_object(void **state)
{
    (void)state;
    const char *text = "\xCE\xB2-thal \xF0\x9F\x98\x80 ok"; /* β-thal 😀 ok */
    medner_decoder *d = make(BIO, 5, MEDNER_AGGREGATION_SIMPLE, MEDNER_DECODING_ARGMAX);
    medner__entlist l = { 0 };
    medner__ent a = { 13, 15, 0, 0.5, 3, 1 }, b = { 0, 7, 0, 0.9, 0, 3 };
    a.label = b.label = 0;
    medner__entlist_push(&l, &a);
    medner__entlist_push(&l, &b);
    medner_entities *e = NULL;
    assert_int_equal(medner__entities_create(&e, d, &l, text, strlen(text), 6, false), MEDNER_OK);
    medner__entlist_release(&l);
    medner_decoder_free(d); /* entities own their label strings */
    assert_int_equal(medner_entities_count(e), 2);
    assert_int_equal(medner_entities_num_tokens(e), 6);
    medner_entity x = MEDNER_ENTITY_INIT;
    assert_int_equal(medner_entities_get(e, 0, &x), MEDNER_OK); /* sorted by begin */
    assert_int_equal(x.begin, 0);
    assert_int_equal(x.end, 7);
    size_t cb, ce, ub, ue;
    assert_int_equal(medner_entities_span_codepoints(e, 1, &cb, &ce), MEDNER_OK);
    assert_int_equal(medner_entities_span_utf16(e, 1, &ub, &ue), MEDNER_OK);
    assert_int_equal(cb, 9);  /* "ok" after β - t h a l space 😀 space */
    assert_int_equal(ce, 11);
    assert_int_equal(ub, 10); /* the emoji is two UTF-16 units */
    assert_int_equal(ue, 12);
    assert_int_equal(medner_entities_get(e, 2, &x), MEDNER_E_INVALID_ARGUMENT);
    x.struct_size = 8;
    assert_int_equal(medner_entities_get(e, 0, &x), MEDNER_E_INVALID_ARGUMENT);
    medner_entities_free(e);
    medner_entities_free(NULL);
}

static void test_create_errors(void **state)
{
    (void)state;
    medner_decoder *d = NULL;
    assert_int_equal(medner_decoder_create(&d, NULL, 3, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_decoder_create(&d, BIO, 0, NULL), MEDNER_E_INVALID_ARGUMENT);
    const char *dup[] = { "O", "B-X", "O" };
    assert_int_equal(medner_decoder_create(&d, dup, 3, NULL), MEDNER_E_INVALID_ARGUMENT);
    const char *bioes[] = { "O", "B-X", "E-X" };
    medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
    p.scheme = MEDNER_SCHEME_BIO;
    assert_int_equal(medner_decoder_create(&d, bioes, 3, &p), MEDNER_E_INVALID_ARGUMENT);
    p.scheme = MEDNER_SCHEME_AUTO;
    p.min_score = 2;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_E_INVALID_ARGUMENT);
    p.min_score = 0;
    p.aggregation = (medner_aggregation)9;
    assert_int_equal(medner_decoder_create(&d, BIO, 5, &p), MEDNER_E_INVALID_ARGUMENT);
    assert_null(d);
}


static void test_out_of_memory(void **state)
{
    (void)state;
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    int seq[6] = { 1, 2, 0, 3, 4, 0 };
    float lg[6 * 5];
    one_hot(lg, seq, 6, 5, 3.0f);
    for (long n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
        p.decoding = MEDNER_DECODING_CONSTRAINED;
        medner_decoder *d = NULL;
        int rc = medner_decoder_create(&d, BIO, 5, &p);
        medner_entities *e = NULL;
        if (rc == MEDNER_OK) {
            run r;
            memset(&r, 0, sizeof r);
            size_t b[6], x[6], t[6];
            uint8_t sub[6] = { 0 };
            for (size_t i = 0; i < 6; i++) {
                b[i] = i;
                x[i] = i + 1;
                t[i] = i;
            }
            medner__dec_input in = { lg, b, x, sub, t, 6 };
            rc = medner__decode(d, &in, &r.l);
            if (rc == MEDNER_OK)
                rc = medner__entities_create(&e, d, &r.l, "abcdefg", 7, 6, false);
            medner__entlist_release(&r.l);
        }
        medner_entities_free(e);
        medner_decoder_free(d);
        assert_int_equal(medner__live_allocations(), 0);
        if (rc == MEDNER_OK)
            break;
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
    }
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme_detection),
        cmocka_unit_test(test_hf_grouping),
        cmocka_unit_test(test_word_aggregation),
        cmocka_unit_test(test_constrained_bio_is_valid),
        cmocka_unit_test(test_constrained_fixes_o_then_i),
        cmocka_unit_test(test_bioes),
        cmocka_unit_test(test_filters_and_renames),
        cmocka_unit_test(test_ignore_no_label),
        cmocka_unit_test(test_merge_overlapping),
        cmocka_unit_test(test_entities_object),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("decoder", tests, NULL, NULL);
}
