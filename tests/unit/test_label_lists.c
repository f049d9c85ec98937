/* medner_pipeline_create refuses an ignore_labels/keep_labels entry that
 * names no entity type or label of the model (a typo would otherwise keep
 * nothing, or drop nothing, silently), and its message lists the labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "medner.h"

#define TINY "tests/data/models/tiny-bert-tc" /* O, B-/I- Disease Chemical Gene Species */

static int create(const char *const *ignore, size_t n_ignore, const char *const *keep,
                  size_t n_keep, const char *const *from, const char *const *to, size_t n_ren)
{
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    dp.ignore_labels = ignore;
    dp.n_ignore_labels = n_ignore;
    dp.keep_labels = keep;
    dp.n_keep_labels = n_keep;
    dp.rename_from = from;
    dp.rename_to = to;
    dp.n_renames = n_ren;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.decoder = &dp;
    medner_pipeline *p = NULL;
    int rc = medner_pipeline_create(&p, &pp);
    assert_true(rc == MEDNER_OK ? p != NULL : p == NULL);
    medner_pipeline_free(p);
    return rc;
}

static void test_unknown_names_refused(void **state)
{
    (void)state;
    const char *const typo[] = { "Diseas" };
    assert_int_equal(create(NULL, 0, typo, 1, NULL, NULL, 0), MEDNER_E_INVALID_ARGUMENT);
    const char *msg = medner_last_error();
    assert_non_null(strstr(msg, "keep_labels: 'Diseas'"));
    assert_non_null(strstr(msg, "O, B-Disease, I-Disease, B-Chemical"));
    assert_non_null(strstr(msg, "I-Species"));
    assert_int_equal(create(typo, 1, NULL, 0, NULL, NULL, 0), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "ignore_labels: 'Diseas'"));
    /* a keep entry naming the type before its rename is no longer a name */
    const char *const from[] = { "Gene" }, *const to[] = { "Protein" };
    const char *const gene[] = { "Gene" };
    assert_int_equal(create(NULL, 0, gene, 1, from, to, 1), MEDNER_OK); /* Gene is still a type */
    const char *const prot[] = { "Protein" };
    assert_int_equal(create(NULL, 0, prot, 1, NULL, NULL, 0), MEDNER_E_INVALID_ARGUMENT);
}

static void test_known_names_accepted(void **state)
{
    (void)state;
    const char *const ign[] = { "O", "Gene", "B-Species" };
    const char *const keep[] = { "Disease", "Protein" };
    const char *const from[] = { "Gene" }, *const to[] = { "Protein" };
    assert_int_equal(create(ign, 3, keep, 2, from, to, 1), MEDNER_OK);
    const char *const o[] = { "O" };
    assert_int_equal(create(o, 1, NULL, 0, NULL, NULL, 0), MEDNER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_names_refused),
        cmocka_unit_test(test_known_names_accepted),
    };
    return cmocka_run_group_tests_name("label_lists", tests, NULL, NULL);
}
