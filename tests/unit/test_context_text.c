/* medner__context_apply (src/context/apply_text.c): ConText over the
 * sentences and sections of src/text, with the section implications OR-ed
 * in (FAMILY HISTORY -> family, PAST MEDICAL HISTORY -> historical). The
 * rule behaviours themselves are tested in test_context.c. */
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
#include "context/context.h"

static medner__ctx_target at(const char *text, const char *target)
{
    const char *p = strstr(text, target);
    assert_non_null(p);
    return (medner__ctx_target){ (size_t)(p - text), (size_t)(p - text) + strlen(target), NULL,
                                 0xDEAD, MEDNER_SECTION_OTHER, 99 };
}

static void test_note(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_load(&r, NULL), MEDNER_OK);
    const char *text = "HISTORY OF PRESENT ILLNESS:\n"
                       "Patient denies chest pain. She reports cough.\n"
                       "\n"
                       "PAST MEDICAL HISTORY:\n"
                       "Asthma.\n"
                       "\n"
                       "FAMILY HISTORY:\n"
                       "Diabetes.\n";
    medner__ctx_target t[4] = { at(text, "chest pain"), at(text, "cough"), at(text, "Asthma"),
                                at(text, "Diabetes") };
    assert_int_equal(medner__context_apply(r, text, strlen(text), t, 4), MEDNER_OK);
    assert_int_equal(t[0].flags, MEDNER_CONTEXT_NEGATED);
    assert_int_equal(t[0].section, MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS);
    assert_int_equal(t[1].flags, 0);
    assert_int_equal(t[1].section, MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS);
    assert_true(t[1].sentence == t[0].sentence + 1);
    assert_int_equal(t[2].section, MEDNER_SECTION_PAST_MEDICAL_HISTORY);
    assert_int_equal(t[2].flags, MEDNER_CONTEXT_HISTORICAL);
    assert_int_equal(t[3].section, MEDNER_SECTION_FAMILY_HISTORY);
    assert_int_equal(t[3].flags, MEDNER_CONTEXT_FAMILY);
    assert_true(t[3].sentence > t[2].sentence && t[2].sentence > t[1].sentence);
    /* errors name the span, never the text */
    t[1].end = strlen(text) + 1;
    assert_int_equal(medner__context_apply(r, text, strlen(text), t, 4),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_null(strstr(medner_last_error(), "cough"));
    assert_int_equal(medner__context_apply(NULL, text, strlen(text), t, 4),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__context_apply(r, "", 0, NULL, 0), MEDNER_OK);
    medner__context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_load(&r, NULL), MEDNER_OK);
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_E_BUSY); /* rules are alive */
    medner__context_rules_free(r);
    assert_int_equal(failing_install(&f), MEDNER_OK);
    const char *text = "FAMILY HISTORY:\nMother had breast cancer. No diabetes.\n";
    long n;
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        r = NULL;
        int rc = medner__context_rules_load(&r, NULL);
        medner__ctx_target t[2] = { at(text, "breast cancer"), at(text, "diabetes") };
        if (rc == MEDNER_OK) {
            rc = medner__context_apply(r, text, strlen(text), t, 2);
            medner__context_rules_free(r);
        }
        if (rc == MEDNER_OK) {
            assert_int_equal(t[0].flags, MEDNER_CONTEXT_FAMILY);
            assert_int_equal(t[1].flags, MEDNER_CONTEXT_FAMILY | MEDNER_CONTEXT_NEGATED);
            break;
        }
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_int_equal(t[0].flags, 0xDEAD);
        assert_int_equal(medner__live_allocations(), 0);
    }
    f.fail_at = 0;
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_note),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
