/* The public clinical-context API (src/pipeline/context_api.c, include/medner.h
 * "Clinical context"): sentences, sections and spans, section names, rules,
 * medner_context_apply over caller spans (validation, order, labels, old
 * entity struct sizes, allocation failures), and context in a pipeline
 * (ON/OFF/DEFAULT, the effective params, SIZE_MAX sentence when off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"

#include "common/common.h"

#define TINY "tests/data/models/tiny-bert-tc"

static void test_section_names(void **state)
{
    (void)state;
    assert_string_equal(medner_section_name(MEDNER_SECTION_NONE), "none");
    assert_string_equal(medner_section_name(MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS),
                        "history_of_present_illness");
    assert_string_equal(medner_section_name(MEDNER_SECTION_FAMILY_HISTORY), "family_history");
    assert_string_equal(medner_section_name(MEDNER_SECTION_ASSESSMENT_AND_PLAN),
                        "assessment_and_plan");
    assert_string_equal(medner_section_name(MEDNER_SECTION_OTHER), "other");
    assert_string_equal(medner_section_name((medner_section)15), "unknown");
    assert_string_equal(medner_section_name((medner_section)-1), "unknown");
}

static void test_spans(void **state)
{
    (void)state;
    medner_spans *s = (medner_spans *)1;
    assert_int_equal(medner_sentences_split(NULL, "a", 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_sentences_split(&s, NULL, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_sections_detect(&s, NULL, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_ptr_equal(s, (medner_spans *)1); /* untouched on failure */
    assert_int_equal(medner_sentences_split(&s, NULL, 0), MEDNER_OK);
    assert_int_equal(medner_spans_count(s), 0);
    medner_spans_free(s);
    assert_int_equal(medner_spans_count(NULL), 0);
    medner_spans_free(NULL);

    const char *t = "Patient denies chest pain.\n\nHe reports a cough.";
    assert_int_equal(medner_sentences_split(&s, t, strlen(t)), MEDNER_OK);
    assert_int_equal(medner_spans_count(s), 2);
    size_t b = 99, e = 99;
    int32_t cat = 99;
    assert_int_equal(medner_spans_get(s, 0, &b, &e, &cat), MEDNER_OK);
    assert_int_equal(b, 0);
    assert_int_equal(e, 26);
    assert_int_equal(cat, 0);
    assert_int_equal(medner_spans_get(s, 1, &b, NULL, NULL), MEDNER_OK);
    assert_int_equal(b, 28);
    assert_int_equal(medner_spans_get(s, 2, &b, &e, &cat), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_spans_get(NULL, 0, &b, &e, &cat), MEDNER_E_INVALID_ARGUMENT);
    medner_spans_free(s);

    const char *note = "FAMILY HISTORY:\nMother had breast cancer.\n";
    assert_int_equal(medner_sections_detect(&s, note, strlen(note)), MEDNER_OK);
    assert_true(medner_spans_count(s) >= 1);
    int found = 0;
    for (size_t i = 0; i < medner_spans_count(s); i++) {
        assert_int_equal(medner_spans_get(s, i, &b, &e, &cat), MEDNER_OK);
        if (cat == MEDNER_SECTION_FAMILY_HISTORY && b <= 16 && e >= 40)
            found = 1;
    }
    assert_true(found);
    medner_spans_free(s);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_rules_load(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner_context_rules_load(NULL, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_context_rules_load(&r, "/nonexistent/rules.yaml"), MEDNER_E_IO);
    assert_null(r);
    assert_non_null(strstr(medner_last_error(), "/nonexistent/rules.yaml"));
    assert_int_equal(medner_context_rules_load(&r, NULL), MEDNER_OK);
    assert_non_null(r);
    medner_context_rules_free(r);
    medner_context_rules_free(NULL);
    assert_int_equal(medner__live_allocations(), 0);
}

static void apply_fails(const medner_context_rules *r, const char *t, size_t len,
                        const size_t *b, const size_t *e, size_t n, int status, const char *msg)
{
    medner_entities *out = (medner_entities *)1;
    int rc = medner_context_apply(&out, r, t, len, b, e, NULL, n);
    if (rc != status || (msg && strstr(medner_last_error(), msg) == NULL))
        fail_msg("expected %d with '%s', got %d: %s", status, msg ? msg : "", rc,
                 medner_last_error());
    assert_ptr_equal(out, (medner_entities *)1);
}

static void test_apply_validation(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner_context_rules_load(&r, NULL), MEDNER_OK);
    const char *t = "caf\xC3\xA9 no fever"; /* é is 2 bytes at 3 */
    size_t len = strlen(t);
    size_t b[] = { 9, 0, 0 }, e[] = { 14, 5, 5 };
    medner_entities *out = NULL;
    assert_int_equal(medner_context_apply(NULL, r, t, len, b, e, NULL, 1),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_context_apply(&out, NULL, t, len, b, e, NULL, 1),
                     MEDNER_E_INVALID_ARGUMENT);
    apply_fails(r, NULL, 3, b, e, 0, MEDNER_E_INVALID_ARGUMENT, NULL);
    apply_fails(r, t, len, NULL, e, 1, MEDNER_E_INVALID_ARGUMENT, NULL);
    apply_fails(r, t, len, b, NULL, 1, MEDNER_E_INVALID_ARGUMENT, NULL);
    size_t b1[] = { 9, 5 }, e1[] = { 14, 5 };
    apply_fails(r, t, len, b1, e1, 2, MEDNER_E_INVALID_ARGUMENT, "span 1"); /* empty */
    size_t b2[] = { 9, 6 }, e2[] = { 14, 3 };
    apply_fails(r, t, len, b2, e2, 2, MEDNER_E_INVALID_ARGUMENT, "span 1"); /* begin > end */
    size_t b3[] = { 9, 10 }, e3[] = { 14, 15 };
    apply_fails(r, t, len, b3, e3, 2, MEDNER_E_INVALID_ARGUMENT, "span 1"); /* beyond */
    size_t b4[] = { 4, 9 }, e4[] = { 8, 14 };
    apply_fails(r, t, len, b4, e4, 2, MEDNER_E_INVALID_ARGUMENT, "span 0"); /* begins mid-é */
    size_t b5[] = { 9, 0 }, e5[] = { 14, 4 };
    apply_fails(r, t, len, b5, e5, 2, MEDNER_E_INVALID_ARGUMENT, "span 1"); /* ends mid-é */
    apply_fails(r, "ab\xFF no fever", 12, b, e, 1, MEDNER_E_INVALID_UTF8, "byte offset 2");
    /* a text without a sentence (only whitespace): no sentence index */
    size_t wb = 1, we = 2;
    assert_int_equal(medner_context_apply(&out, r, "    ", 4, &wb, &we, NULL, 1), MEDNER_OK);
    medner_entity w = MEDNER_ENTITY_INIT;
    assert_int_equal(medner_entities_get(out, 0, &w), MEDNER_OK);
    assert_true(w.sentence == SIZE_MAX && w.context == 0 && w.section == MEDNER_SECTION_NONE);
    medner_entities_free(out);
    /* n = 0: an empty result */
    assert_int_equal(medner_context_apply(&out, r, t, len, NULL, NULL, NULL, 0), MEDNER_OK);
    assert_int_equal(medner_entities_count(out), 0);
    medner_entities_free(out);
    medner_context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_apply_result(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner_context_rules_load(&r, NULL), MEDNER_OK);
    const char *t = "He reports a cough. Patient denies chest pain.";
    /* out of order, overlapping, a repeated span with two labels */
    size_t b[] = { 35, 13, 35, 41 }, e[] = { 45, 18, 45, 45 };
    char l0[] = "Problem", l1[] = "Symptom";
    const char *labels[] = { l0, l1, NULL, l0 };
    medner_entities *out = NULL;
    assert_int_equal(medner_context_apply(&out, r, t, strlen(t), b, e, labels, 4), MEDNER_OK);
    memset(l0, 'x', sizeof l0 - 1); /* labels are copied */
    assert_int_equal(medner_entities_count(out), 4);
    assert_int_equal(medner_entities_num_tokens(out), 0);
    medner_entity x = MEDNER_ENTITY_INIT;
    assert_int_equal(medner_entities_get(out, 0, &x), MEDNER_OK);
    assert_int_equal(x.begin, 13);
    assert_string_equal(x.label, "Symptom");
    assert_int_equal(x.context & MEDNER_CONTEXT_NEGATED, 0);
    assert_int_equal(x.sentence, 0);
    assert_int_equal(x.section, MEDNER_SECTION_NONE);
    assert_true(x.score == 0.0 && x.first_token == 0 && x.n_tokens == 0);
    /* ties keep the caller's order: index 0 (Problem), then 2 (no label) */
    assert_int_equal(medner_entities_get(out, 1, &x), MEDNER_OK);
    assert_int_equal(x.begin, 35);
    assert_string_equal(x.label, "Problem");
    assert_int_not_equal(x.context & MEDNER_CONTEXT_NEGATED, 0);
    assert_int_equal(x.sentence, 1);
    assert_int_equal(medner_entities_get(out, 2, &x), MEDNER_OK);
    assert_string_equal(x.label, "");
    assert_int_equal(medner_entities_get(out, 3, &x), MEDNER_OK);
    assert_int_equal(x.begin, 41);
    size_t cb = 0, ce = 0;
    assert_int_equal(medner_entities_span_codepoints(out, 3, &cb, &ce), MEDNER_OK);
    assert_int_equal(cb, 41);
    assert_int_equal(ce, 45);

    /* a caller built against 0.1 (56-byte medner_entity): nothing written past it */
    struct {
        medner_entity e;
        unsigned char guard[32];
    } old;
    memset(&old, 0xA5, sizeof old);
    old.e.struct_size = MEDNER__SIZE_V0_1_ENTITY;
    assert_int_equal(medner_entities_get(out, 1, &old.e), MEDNER_OK);
    assert_int_equal(old.e.begin, 35);
    const unsigned char *tail = (const unsigned char *)&old.e + MEDNER__SIZE_V0_1_ENTITY;
    for (size_t i = 0; i < sizeof old - MEDNER__SIZE_V0_1_ENTITY; i++)
        assert_int_equal(tail[i], 0xA5);
    medner_entities_free(out);
    medner_context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_apply_out_of_memory(void **state)
{
    (void)state;
    const char *t = "Patient denies chest pain. FAMILY HISTORY:\nMother had cancer.";
    size_t b[] = { 15, 55 }, e[] = { 25, 61 };
    const char *labels[] = { "Problem", "Problem" };
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    medner_context_rules *r = NULL;
    assert_int_equal(medner_context_rules_load(&r, NULL), MEDNER_OK);
    long ok = 0;
    for (long n = 1; n < 100000; n++) {
        f.count = 0;
        f.fail_at = n;
        medner_entities *out = NULL;
        int rc = medner_context_apply(&out, r, t, strlen(t), b, e, labels, 2);
        if (rc == MEDNER_OK) {
            assert_int_equal(medner_entities_count(out), 2);
            medner_entities_free(out);
            ok = n;
            break;
        }
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_null(out);
    }
    assert_true(ok > 1); /* some allocation was failed before it succeeded */
    f.fail_at = 0;
    medner_context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

static medner_pipeline *pipeline_with(medner_switch context, const char *rules, int *rc)
{
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.context = context;
    pp.context_rules = rules;
    medner_pipeline *p = NULL;
    *rc = medner_pipeline_create(&p, &pp);
    return p;
}

static void test_pipeline_context(void **state)
{
    (void)state;
    const char *t = "No fever. No cough. Denies pain. No rash today. Mother had cancer.";
    size_t len = strlen(t);
    int rc;
    for (int on = 0; on < 2; on++) {
        medner_pipeline *p = pipeline_with(on ? MEDNER_ON : MEDNER_OFF, NULL, &rc);
        assert_int_equal(rc, MEDNER_OK);
        medner_pipeline_params eff = MEDNER_PIPELINE_PARAMS_INIT;
        assert_int_equal(medner_pipeline_get_params(p, &eff), MEDNER_OK);
        assert_int_equal(eff.context, on ? MEDNER_ON : MEDNER_OFF);
        assert_null(eff.context_rules);
        medner_context *ctx = NULL;
        medner_entities *res = NULL;
        assert_int_equal(medner_pipeline_context_create(&ctx, p), MEDNER_OK);
        assert_int_equal(medner_pipeline_annotate(&res, p, ctx, &t, &len, 1), MEDNER_OK);
        size_t n = medner_entities_count(res), flagged = 0;
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            medner_entity x = MEDNER_ENTITY_INIT;
            assert_int_equal(medner_entities_get(res, i, &x), MEDNER_OK);
            if (!on) {
                assert_int_equal(x.context, 0);
                assert_int_equal(x.section, MEDNER_SECTION_NONE);
                assert_true(x.sentence == SIZE_MAX);
            } else {
                assert_true(x.sentence < 5);
                flagged += x.context != 0;
            }
        }
        if (on)
            assert_true(flagged > 0); /* "cough" after "No" is an entity of TINY */
        medner_entities_free(res);
        medner_context_free(ctx);
        medner_pipeline_free(p);
    }
    /* a rule file given with DEFAULT turns context on; a bad one fails creation */
    medner_pipeline *p = pipeline_with(MEDNER_DEFAULT, "/nonexistent/rules.yaml", &rc);
    assert_int_equal(rc, MEDNER_E_IO);
    assert_null(p);
    p = pipeline_with((medner_switch)3, NULL, &rc);
    assert_int_equal(rc, MEDNER_E_INVALID_ARGUMENT);
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.reserved2 = 1;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_INVALID_ARGUMENT);
    /* a 0.1 caller (64-byte params): context takes its default */
    pp.reserved2 = 0;
    pp.struct_size = MEDNER__SIZE_V0_1_PIPELINE_PARAMS;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_OK);
    medner_pipeline_params eff = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p, &eff), MEDNER_OK);
    assert_true(eff.context == MEDNER_ON || eff.context == MEDNER_OFF);
    medner_pipeline_free(p);
    assert_int_equal(medner__live_allocations(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section_names),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_rules_load),
        cmocka_unit_test(test_apply_validation),
        cmocka_unit_test(test_apply_result),
        cmocka_unit_test(test_apply_out_of_memory),
        cmocka_unit_test(test_pipeline_context),
    };
    return cmocka_run_group_tests_name("context_api", tests, NULL, NULL);
}
