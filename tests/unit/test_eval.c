/* Unit tests for src/eval: the strict CoNLL reader (accepted variants, every
 * rejection with its line number, messages that never quote the text), the
 * seqeval-compatible metrics (hand-checked cases, then parity with seqeval
 * 1.2.2 on tests/data/eval/goldens.json: counts exact, every double bitwise,
 * the classification_report text byte for byte), the JSON and text
 * formatters, locale independence, and allocation failures. */
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "eval/eval.h"
#include "json/json.h"

#define DATA "tests/data/eval/"

/* ---- helpers ------------------------------------------------------------ */

static medner__conll *parse_ok(const char *text)
{
    medner__conll *c = NULL;
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = medner__conll_parse(&c, copy, len, "t.tsv");
    free(copy);
    if (rc != MEDNER_OK)
        fail_msg("parse failed: %s", medner_last_error());
    return c;
}

/* Expect MEDNER_E_PARSE with exactly this message. */
static void parse_fails(const char *text, size_t len, const char *message)
{
    medner__conll *c = (medner__conll *)(uintptr_t)1;
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = medner__conll_parse(&c, copy, len, "t.tsv");
    free(copy);
    if (rc != MEDNER_E_PARSE || strcmp(medner_last_error(), message) != 0)
        fail_msg("got %d \"%s\", want \"%s\"", rc, medner_last_error(), message);
    assert_ptr_equal(c, (medner__conll *)(uintptr_t)1);
    /* the token text never appears in a message */
    assert_null(strstr(medner_last_error(), "SECRET"));
    assert_int_equal(medner__live_allocations(), 0);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static medner__eval_report *report_of(const char *const *gold, const char *const *pred,
                                      const size_t *lens, size_t nsent)
{
    medner__eval *ev = NULL;
    assert_int_equal(medner__eval_create(&ev), MEDNER_OK);
    for (size_t s = 0, k = 0; s < nsent; k += lens[s], s++)
        assert_int_equal(medner__eval_add_sentence(ev, gold + k, pred + k, lens[s]), MEDNER_OK);
    medner__eval_report *r = NULL;
    assert_int_equal(medner__eval_report_create(&r, ev), MEDNER_OK);
    medner__eval_free(ev);
    return r;
}

/* ---- CoNLL reader ------------------------------------------------------- */

static void test_conll_basic(void **state)
{
    (void)state;
    medner__conll *c = parse_ok("Fever\tB-Sign\nand\tO\n\nchills\tB-Sign\nx\tI-Sign\n\n");
    assert_int_equal(c->num_sentences, 2);
    assert_int_equal(c->num_tokens, 4);
    assert_int_equal(c->sentence_start[0], 0);
    assert_int_equal(c->sentence_start[1], 2);
    assert_int_equal(c->sentence_start[2], 4);
    assert_string_equal(c->tokens[0], "Fever");
    assert_string_equal(c->tags[0], "B-Sign");
    assert_string_equal(c->tokens[3], "x");
    assert_string_equal(c->tags[3], "I-Sign");
    assert_int_equal(c->lines[0], 1);
    assert_int_equal(c->lines[1], 2);
    assert_int_equal(c->lines[2], 4);
    assert_int_equal(c->lines[3], 5);
    medner__conll_free(c);
    medner__conll_free(NULL);
}

static void test_conll_accepted_variants(void **state)
{
    (void)state;
    /* the same two sentences, written in every accepted way */
    static const char *const variants[] = {
        "a\tB-X\nb\tI-X\n\nc\tO\n\n",       /* canonical */
        "a\tB-X\nb\tI-X\n\nc\tO\n",         /* no blank line at the end */
        "a\tB-X\nb\tI-X\n\nc\tO",           /* no newline at the end */
        "a\tB-X\r\nb\tI-X\r\n\r\nc\tO\r\n\r\n", /* CRLF */
        "\n\na\tB-X\nb\tI-X\n\n\n\nc\tO\n\n\n", /* runs of blank lines */
    };
    for (size_t v = 0; v < MEDNER_ARRAY_LEN(variants); v++) {
        medner__conll *c = parse_ok(variants[v]);
        assert_int_equal(c->num_sentences, 2);
        assert_int_equal(c->num_tokens, 3);
        assert_int_equal(c->sentence_start[1], 2);
        assert_string_equal(c->tokens[2], "c");
        assert_string_equal(c->tags[1], "I-X");
        assert_string_equal(c->tags[2], "O");
        medner__conll_free(c);
    }
    /* empty input and blank lines only: no sentences */
    static const char *const empty[] = { "", "\n", "\n\n\r\n" };
    for (size_t v = 0; v < MEDNER_ARRAY_LEN(empty); v++) {
        medner__conll *c = parse_ok(empty[v]);
        assert_int_equal(c->num_sentences, 0);
        assert_int_equal(c->num_tokens, 0);
        assert_int_equal(c->sentence_start[0], 0);
        medner__conll_free(c);
    }
    medner__conll *c = NULL;
    assert_int_equal(medner__conll_parse(&c, NULL, 0, NULL), MEDNER_OK);
    assert_int_equal(c->num_sentences, 0);
    medner__conll_free(c);
    /* BIOES and BILOU tags, types with '-' and non-ASCII, UTF-8 tokens */
    c = parse_ok("\xC3\xA9t\xC3\xA9\tS-X\na\tE-Y-z\nb\tL-\xE6\x97\xA5\nc\tU-_\n\xF0\x9F\x98\x80\tO\n");
    assert_int_equal(c->num_tokens, 5);
    assert_string_equal(c->tokens[0], "\xC3\xA9t\xC3\xA9");
    assert_string_equal(c->tags[1], "E-Y-z");
    assert_string_equal(c->tags[2], "L-\xE6\x97\xA5");
    assert_string_equal(c->tokens[4], "\xF0\x9F\x98\x80");
    medner__conll_free(c);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_conll_errors(void **state)
{
    (void)state;
#define FAILS(text, msg) parse_fails(text, sizeof(text) - 1, msg)
    FAILS("a\tO\nSECRET\tB-X\textra\n",
          "t.tsv:2: expected TOKEN<TAB>TAG, found 3 columns");
    FAILS("a\tO\n\nb\tO\nSECRET\n", "t.tsv:4: expected TOKEN<TAB>TAG, found 1 column");
    FAILS("SECRET O\n", "t.tsv:1: expected TOKEN<TAB>TAG, found 1 column "
                        "(columns must be separated by a TAB)");
    FAILS("SECRET\t\tO\n", "t.tsv:1: expected TOKEN<TAB>TAG, found 3 columns");
    FAILS("a\tO\n\tO\n", "t.tsv:2: expected TOKEN<TAB>TAG, found an empty token");
    FAILS("a\tO\nSECRET\t\n", "t.tsv:2: expected TOKEN<TAB>TAG, found an empty tag");
    FAILS("a\tO\n\t\n", "t.tsv:2: expected TOKEN<TAB>TAG or an empty line, found only spaces and tabs");
    FAILS("a\tO\n \n", "t.tsv:2: expected TOKEN<TAB>TAG or an empty line, found only spaces and tabs");
    FAILS("a\tO\n\n \t \r\n", "t.tsv:3: expected TOKEN<TAB>TAG or an empty line, found only spaces and tabs");
    FAILS("a\tO\n\tSECRET\n", "t.tsv:2: expected TOKEN<TAB>TAG, found an empty token");
    FAILS("SE CRET\tO\n", "t.tsv:1:3: expected TOKEN<TAB>TAG, found a space in the token");
    FAILS("SECRET\tB-X \n", "t.tsv:1:11: expected TOKEN<TAB>TAG, found a space in the tag");
    FAILS("a\tO\nSEC\x0bRET\tO\n",
          "t.tsv:2:4: expected TOKEN<TAB>TAG, found control character 0x0B");
    FAILS("SECRET\tO\r\r\n", "t.tsv:1:9: expected TOKEN<TAB>TAG, found control character 0x0D");
    FAILS("SEC\rRET\tO\n", "t.tsv:1:4: expected TOKEN<TAB>TAG, found control character 0x0D");
    FAILS("a\tO\n\nSECRET\x7f\tO\n",
          "t.tsv:3:7: expected TOKEN<TAB>TAG, found control character 0x7F");
    parse_fails("SE\0CRET\tO\n", 10,
                "t.tsv:1:3: expected TOKEN<TAB>TAG, found control character 0x00");
    /* invalid UTF-8, with the column of the first bad byte */
    FAILS("a\tO\nSECRET\xff\tO\n",
          "t.tsv:2:7: expected valid UTF-8, found a byte that never occurs in UTF-8");
    FAILS("SE\xc3(\tO\n", "t.tsv:1:3: expected valid UTF-8, found an incomplete UTF-8 sequence");
    FAILS("SE\xc0\x80\tO\n", "t.tsv:1:3: expected valid UTF-8, found an overlong UTF-8 encoding");
    FAILS("SE\xe0\x80\xaf\tO\n", "t.tsv:1:3: expected valid UTF-8, found an overlong UTF-8 encoding");
    FAILS("S\xed\xa0\x80\tO\n",
          "t.tsv:1:2: expected valid UTF-8, found a UTF-16 surrogate encoded in UTF-8");
    FAILS("S\xf4\x90\x80\x80\tO\n",
          "t.tsv:1:2: expected valid UTF-8, found a UTF-8 sequence above U+10FFFF");
    FAILS("S\x80\tO\n",
          "t.tsv:1:2: expected valid UTF-8, found a UTF-8 continuation byte without a lead byte");
    FAILS("SECRET\tO\nab\xe2\x82",
          "t.tsv:2:3: expected valid UTF-8, found an incomplete UTF-8 sequence");
    FAILS("\xEF\xBB\xBF" "SECRET\tO\n",
          "t.tsv:1:1: expected TOKEN<TAB>TAG, found a UTF-8 byte order mark "
          "(save the file as UTF-8 without BOM)");
    /* tags */
    const char *want_tag = "t.tsv:3: expected a tag O, B-TYPE, I-TYPE, E-TYPE, S-TYPE, L-TYPE or "
                           "U-TYPE, found ";
    static const struct { const char *tag, *why; } bad_tags[] = {
        { "o", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
        { "SECRET", "a tag whose prefix letter is not followed by '-'" },
        { "Disease-B", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
        { "B_SECRET", "a tag whose prefix letter is not followed by '-'" },
        { "B", "a prefix without '-TYPE'" },
        { "B-", "a prefix with an empty type" },
        { "OO", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
        { "O-X", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
        { "b-X", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
        { "\xC3\x89-X", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
        { "-DOCSTART-", "a tag that is neither O nor starts with B-, I-, E-, S-, L- or U-" },
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(bad_tags); i++) {
        char text[128], msg[256];
        int n = snprintf(text, sizeof text, "a\tO\n\nSECRET\t%s\n", bad_tags[i].tag);
        snprintf(msg, sizeof msg, "%s%s", want_tag, bad_tags[i].why);
        parse_fails(text, (size_t)n, msg);
    }
#undef FAILS
}

static void test_conll_files(void **state)
{
    (void)state;
    char path[] = "/tmp/medner-conll-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "a\tB-X\n\nb\tO\nc\tI-X\n\n", 18);
    medner__conll *c = NULL;
    assert_int_equal(medner__conll_read(&c, path), MEDNER_OK);
    assert_int_equal(c->num_sentences, 2);
    assert_int_equal(c->lines[2], 4);
    medner__conll_free(c);
    /* errors name the path */
    write_file(path, "a\tO\nb\tO\tO\n", 10);
    c = (medner__conll *)(uintptr_t)1;
    assert_int_equal(medner__conll_read(&c, path), MEDNER_E_PARSE);
    char want[128];
    snprintf(want, sizeof want, "%s:2: expected TOKEN<TAB>TAG, found 3 columns", path);
    assert_string_equal(medner_last_error(), want);
    assert_ptr_equal(c, (medner__conll *)(uintptr_t)1);
    unlink(path);
    assert_int_equal(medner__conll_read(&c, path), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), path));
    assert_int_equal(medner__conll_read(&c, "tests/data/eval"), MEDNER_E_IO);
    /* bad arguments */
    assert_int_equal(medner__conll_read(NULL, DATA "bc2gm-dev.gold.tsv"), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__conll_read(&c, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__conll_parse(NULL, "", 0, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__conll_parse(&c, NULL, 1, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_ptr_equal(c, (medner__conll *)(uintptr_t)1);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_conll_real_files(void **state)
{
    (void)state;
    /* sentence and token counts of the copies (checked by the generator too,
     * through the goldens) and the line numbers of the last token */
    static const struct { const char *file; size_t sentences, tokens, last_line; } files[] = {
        { DATA "ncbi-disease-test.gold.tsv", 450, 11803, 11803 + 449 },
        { DATA "bc2gm-dev.gold.tsv", 300, 8572, 8572 + 299 },
        { DATA "jnlpba-dev.gold.tsv", 300, 8398, 8398 + 299 },
        { DATA "maccrobat-test.gold.tsv", 250, 6033, 6033 + 249 },
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(files); i++) {
        medner__conll *c = NULL;
        if (medner__conll_read(&c, files[i].file) != MEDNER_OK)
            fail_msg("%s", medner_last_error());
        assert_int_equal(c->num_sentences, files[i].sentences);
        assert_int_equal(c->num_tokens, files[i].tokens);
        assert_int_equal(c->lines[c->num_tokens - 1], files[i].last_line);
        assert_int_equal(c->sentence_start[c->num_sentences], c->num_tokens);
        for (size_t s = 0; s < c->num_sentences; s++)
            assert_true(c->sentence_start[s] < c->sentence_start[s + 1]);
        medner__conll_free(c);
    }
}

/* ---- metrics: hand-checked cases ----------------------------------------- */

static void test_eval_seqeval_docstring(void **state)
{
    (void)state;
    /* seqeval's f1_score docstring: micro 0.6666666666666666, macro 0.75 */
    const char *gold[] = { "O", "O", "B-MISC", "I-MISC", "B-MISC", "O", "O", "B-PER", "I-PER", "O" };
    const char *pred[] = { "O", "O", "B-MISC", "I-MISC", "B-MISC", "I-MISC", "O", "B-PER", "I-PER", "O" };
    const size_t lens[] = { 7, 3 };
    medner__eval_report *r = report_of(gold, pred, lens, 2);
    assert_int_equal(r->num_types, 2);
    assert_string_equal(r->types[0].name, "MISC");
    assert_string_equal(r->types[1].name, "PER");
    assert_int_equal(r->types[0].gold, 2);
    assert_int_equal(r->types[0].predicted, 2);
    assert_int_equal(r->types[0].correct, 1);
    assert_true(r->types[0].scores.f1 == 0.5);
    assert_true(r->types[1].scores.f1 == 1.0);
    assert_true(r->micro.f1 == 2.0 / 3.0);
    assert_true(r->macro.f1 == 0.75);
    assert_true(r->weighted.f1 == 2.0 / 3.0);
    assert_int_equal(r->micro.support, 3);
    assert_int_equal(r->gold, 3);
    assert_int_equal(r->predicted, 3);
    assert_int_equal(r->correct, 2);
    assert_int_equal(r->num_sentences, 2);
    assert_int_equal(r->num_tokens, 10);
    medner__eval_report_free(r);
    medner__eval_report_free(NULL);
}

static void test_eval_sentence_boundaries(void **state)
{
    (void)state;
    /* seqeval appends "O" to each sentence: B-X I-X | I-X is two entities
     * (the second starts with I- after that O) ... */
    const char *g1[] = { "B-X", "I-X", "I-X" };
    const size_t split[] = { 2, 1 }, joined[] = { 3 };
    medner__eval_report *r = report_of(g1, g1, split, 2);
    assert_int_equal(r->gold, 2);
    medner__eval_report_free(r);
    r = report_of(g1, g1, joined, 1);
    assert_int_equal(r->gold, 1);
    medner__eval_report_free(r);
    /* ... and an entity seqeval does not end at that "O" (type "_", whose
     * tag letter has no rule) is never emitted: L | L has none ... */
    const char *g2[] = { "L", "L" };
    const size_t two[] = { 1, 1 };
    r = report_of(g2, g2, two, 2);
    assert_int_equal(r->num_types, 0);
    medner__eval_report_free(r);
    /* ... while a stale begin_offset makes an entity across sentences:
     * get_entities([['B'], ['X', 'B-A']]) = [('_', 0, 0), ('_', 0, 2), ('A', 3, 3)] */
    const char *g3[] = { "B", "X", "B-A" };
    const char *p3[] = { "B", "O", "B-A" };
    const size_t s3[] = { 1, 2 };
    r = report_of(g3, p3, s3, 2);
    assert_int_equal(r->num_types, 2);
    assert_string_equal(r->types[0].name, "A");
    assert_string_equal(r->types[1].name, "_");
    assert_int_equal(r->types[1].gold, 2);
    assert_int_equal(r->types[1].predicted, 1);
    assert_int_equal(r->types[1].correct, 1);
    medner__eval_report_free(r);
    /* empty sentences change nothing */
    medner__eval *ev = NULL;
    assert_int_equal(medner__eval_create(&ev), MEDNER_OK);
    assert_int_equal(medner__eval_add_sentence(ev, NULL, NULL, 0), MEDNER_OK);
    assert_int_equal(medner__eval_add_sentence(ev, g1, g1, 2), MEDNER_OK);
    assert_int_equal(medner__eval_add_sentence(ev, NULL, NULL, 0), MEDNER_OK);
    assert_int_equal(medner__eval_report_create(&r, ev), MEDNER_OK);
    assert_int_equal(r->gold, 1);
    assert_int_equal(r->num_sentences, 3);
    medner__eval_report_free(r);
    medner__eval_free(ev);
}

static void test_eval_no_entities(void **state)
{
    (void)state;
    /* nothing added, or only O: no types; macro NaN as numpy's mean of
     * nothing, the rest 0; seqeval's text report raises here, ours has the
     * averages only */
    for (int k = 0; k < 2; k++) {
        medner__eval *ev = NULL;
        assert_int_equal(medner__eval_create(&ev), MEDNER_OK);
        const char *o[] = { "O", "O" };
        if (k)
            assert_int_equal(medner__eval_add_sentence(ev, o, o, 2), MEDNER_OK);
        medner__eval_report *r = NULL;
        assert_int_equal(medner__eval_report_create(&r, ev), MEDNER_OK);
        assert_int_equal(r->num_types, 0);
        assert_null(r->types);
        assert_true(r->micro.precision == 0.0 && r->micro.f1 == 0.0);
        assert_true(isnan(r->macro.precision) && isnan(r->macro.recall) && isnan(r->macro.f1));
        assert_true(r->weighted.precision == 0.0 && r->weighted.f1 == 0.0);
        medner__buf b = MEDNER__BUF_INIT;
        assert_int_equal(medner__eval_report_text(&b, r, 4), MEDNER_OK);
        assert_string_equal(b.data,
                            "              precision    recall  f1-score   support\n"
                            "\n"
                            "\n"
                            "   micro avg     0.0000    0.0000    0.0000         0\n"
                            "   macro avg        nan       nan       nan         0\n"
                            "weighted avg     0.0000    0.0000    0.0000         0\n");
        medner__buf_reset(&b);
        assert_int_equal(medner__eval_report_json(&b, r), MEDNER_OK);
        assert_string_equal(b.data,
                            "{\"per_type\":{},"
                            "\"micro\":{\"precision\":0,\"recall\":0,\"f1\":0,\"support\":0,"
                            "\"predicted\":0,\"correct\":0},"
                            "\"macro\":{\"precision\":null,\"recall\":null,\"f1\":null,\"support\":0},"
                            "\"weighted\":{\"precision\":0,\"recall\":0,\"f1\":0,\"support\":0}}");
        medner__buf_free(&b);
        medner__eval_report_free(r);
        medner__eval_free(ev);
    }
}

static void test_eval_formats(void **state)
{
    (void)state;
    const char *gold[] = { "B-Disease", "I-Disease", "O", "B-\xC3\x84rger", "O", "B-Gene" };
    const char *pred[] = { "B-Disease", "I-Disease", "O", "B-Gene", "O", "B-Gene" };
    const size_t lens[] = { 6 };
    medner__eval_report *r = report_of(gold, pred, lens, 1);
    assert_int_equal(r->num_types, 3);
    /* code-point order: "Disease" < "Gene" < "Ärger" */
    assert_string_equal(r->types[2].name, "\xC3\x84rger");
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_append_str(&b, "keep:"), MEDNER_OK);
    assert_int_equal(medner__eval_report_json(&b, r), MEDNER_OK);
    assert_string_equal(
        b.data,
        "keep:{\"per_type\":{"
        "\"Disease\":{\"precision\":1,\"recall\":1,\"f1\":1,\"support\":1,\"predicted\":1,\"correct\":1},"
        "\"Gene\":{\"precision\":0.5,\"recall\":1,\"f1\":0.6666666666666666,\"support\":1,"
        "\"predicted\":2,\"correct\":1},"
        "\"\xC3\x84rger\":{\"precision\":0,\"recall\":0,\"f1\":0,\"support\":1,\"predicted\":0,\"correct\":0}},"
        "\"micro\":{\"precision\":0.6666666666666666,\"recall\":0.6666666666666666,"
        "\"f1\":0.6666666666666666,\"support\":3,\"predicted\":3,\"correct\":2},"
        "\"macro\":{\"precision\":0.5,\"recall\":0.6666666666666666,\"f1\":0.5555555555555555,\"support\":3},"
        "\"weighted\":{\"precision\":0.5,\"recall\":0.6666666666666666,\"f1\":0.5555555555555555,"
        "\"support\":3}}");
    medner__buf_reset(&b);
    assert_int_equal(medner__eval_report_text(&b, r, 2), MEDNER_OK);
    assert_string_equal(b.data,
                        "              precision    recall  f1-score   support\n"
                        "\n"
                        "     Disease       1.00      1.00      1.00         1\n"
                        "        Gene       0.50      1.00      0.67         1\n"
                        "       \xC3\x84rger       0.00      0.00      0.00         1\n"
                        "\n"
                        "   micro avg       0.67      0.67      0.67         3\n"
                        "   macro avg       0.50      0.67      0.56         3\n"
                        "weighted avg       0.50      0.67      0.56         3\n");
    /* digits wider than the names widen the first column (seqeval: max(..., digits)) */
    medner__buf_reset(&b);
    assert_int_equal(medner__eval_report_text(&b, r, 13), MEDNER_OK);
    assert_string_equal(
        b.data,
        "               precision    recall  f1-score   support\n\n"
        "      Disease  1.0000000000000 1.0000000000000 1.0000000000000         1\n"
        "         Gene  0.5000000000000 1.0000000000000 0.6666666666667         1\n"
        "        \xC3\x84rger  0.0000000000000 0.0000000000000 0.0000000000000         1\n\n"
        "    micro avg  0.6666666666667 0.6666666666667 0.6666666666667         3\n"
        "    macro avg  0.5000000000000 0.6666666666667 0.5555555555556         3\n"
        " weighted avg  0.5000000000000 0.6666666666667 0.5555555555556         3\n");
    /* digits=0 rounds half to even, as Python: 0.5 -> "0" */
    medner__buf_reset(&b);
    assert_int_equal(medner__eval_report_text(&b, r, 0), MEDNER_OK);
    assert_string_equal(b.data,
                        "              precision    recall  f1-score   support\n\n"
                        "     Disease          1         1         1         1\n"
                        "        Gene          0         1         1         1\n"
                        "       \xC3\x84rger          0         0         0         1\n\n"
                        "   micro avg          1         1         1         3\n"
                        "   macro avg          0         1         1         3\n"
                        "weighted avg          0         1         1         3\n");
    /* bad arguments leave the buffer alone */
    medner__buf_reset(&b);
    assert_int_equal(medner__eval_report_text(&b, r, -1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_report_text(&b, r, 18), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_report_text(NULL, r, 4), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_report_text(&b, NULL, 4), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_report_json(NULL, r), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_report_json(&b, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);
    medner__buf_free(&b);
    medner__eval_report_free(r);
}

static void test_eval_bad_arguments(void **state)
{
    (void)state;
    medner__eval *ev = NULL;
    assert_int_equal(medner__eval_create(NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_create(&ev), MEDNER_OK);
    const char *ok[] = { "B-X", "I-X" };
    const char *empty[] = { "B-X", "" };
    const char *null[] = { NULL, "O" };
    assert_int_equal(medner__eval_add_sentence(NULL, ok, ok, 2), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_add_sentence(ev, NULL, ok, 2), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_add_sentence(ev, ok, NULL, 2), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_add_sentence(ev, ok, empty, 2), MEDNER_E_INVALID_ARGUMENT);
    assert_string_equal(medner_last_error(), "medner__eval_add_sentence: predicted tag 1 is empty");
    assert_int_equal(medner__eval_add_sentence(ev, null, ok, 2), MEDNER_E_INVALID_ARGUMENT);
    assert_string_equal(medner_last_error(), "medner__eval_add_sentence: gold tag 0 is NULL");
    /* nothing was counted */
    medner__eval_report *r = (medner__eval_report *)(uintptr_t)1;
    assert_int_equal(medner__eval_report_create(NULL, ev), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__eval_report_create(&r, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_ptr_equal(r, (medner__eval_report *)(uintptr_t)1);
    assert_int_equal(medner__eval_report_create(&r, ev), MEDNER_OK);
    assert_int_equal(r->num_types, 0);
    assert_int_equal(r->num_sentences, 0);
    medner__eval_report_free(r);
    medner__eval_free(ev);
    medner__eval_free(NULL);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- parity with seqeval ------------------------------------------------- */

static void expect_double(double got, const medner__json *want, const char *cname,
                          const char *what)
{
    if (want == NULL)
        fail_msg("%s: %s missing from the golden", cname, what);
    if (want->type == MEDNER__JSON_NULL) {
        if (!isnan(got))
            fail_msg("%s: %s = %.17g, seqeval NaN", cname, what, got);
        return;
    }
    assert_int_equal(want->type, MEDNER__JSON_NUMBER);
    if (memcmp(&got, &want->number, sizeof got) != 0)
        fail_msg("%s: %s = %.17g (%a), seqeval %.17g (%a)", cname, what, got, got, want->number,
                 want->number);
}

static size_t json_size(const medner__json *obj, const char *key)
{
    const medner__json *v = medner__json_get(obj, key);
    assert_non_null(v);
    assert_true(v->type == MEDNER__JSON_NUMBER && v->is_integer && v->integer >= 0);
    return (size_t)v->integer;
}

static void expect_scores(const medner__eval_scores *s, const medner__json *want,
                          const char *cname, const char *row)
{
    char what[160];
    assert_non_null(want);
    snprintf(what, sizeof what, "%s precision", row);
    expect_double(s->precision, medner__json_get(want, "precision"), cname, what);
    snprintf(what, sizeof what, "%s recall", row);
    expect_double(s->recall, medner__json_get(want, "recall"), cname, what);
    snprintf(what, sizeof what, "%s f1", row);
    expect_double(s->f1, medner__json_get(want, "f1"), cname, what);
    if (s->support != json_size(want, "support"))
        fail_msg("%s: %s support %zu, seqeval %zu", cname, row, s->support,
                 json_size(want, "support"));
}

/* Our JSON output, parsed back, holds the report's doubles exactly. */
static void check_json_output(const medner__eval_report *r, const char *cname)
{
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__eval_report_json(&b, r), MEDNER_OK);
    medner__json_doc *doc = NULL;
    if (medner__json_parse(&doc, b.data, b.len, "report") != MEDNER_OK)
        fail_msg("%s: our JSON does not parse: %s", cname, medner_last_error());
    const medner__json *root = medner__json_root(doc);
    const medner__json *per = medner__json_get(root, "per_type");
    assert_non_null(per);
    assert_int_equal(per->count, r->num_types);
    for (size_t k = 0; k < r->num_types; k++) {
        assert_string_equal(per->keys[k], r->types[k].name);
        expect_scores(&r->types[k].scores, per->items[k], cname, "json per_type");
        assert_int_equal(json_size(per->items[k], "predicted"), r->types[k].predicted);
        assert_int_equal(json_size(per->items[k], "correct"), r->types[k].correct);
    }
    expect_scores(&r->micro, medner__json_get(root, "micro"), cname, "json micro");
    expect_scores(&r->macro, medner__json_get(root, "macro"), cname, "json macro");
    expect_scores(&r->weighted, medner__json_get(root, "weighted"), cname, "json weighted");
    medner__json_free(doc);
    medner__buf_free(&b);
}

static void check_case(const medner__json *c, size_t *checked_texts)
{
    const medner__json *name = medner__json_get(c, "name");
    assert_non_null(name);
    const char *cname = name->str;
    const medner__json *exp = medner__json_get(c, "expected");
    assert_non_null(exp);

    medner__eval *ev = NULL;
    assert_int_equal(medner__eval_create(&ev), MEDNER_OK);
    const medner__json *conll_name = medner__json_get(c, "gold_conll");
    if (conll_name != NULL) {
        /* real data: gold from the CoNLL copy, predictions = gold + changes */
        char path[256];
        snprintf(path, sizeof path, DATA "%s", conll_name->str);
        medner__conll *conll = NULL;
        if (medner__conll_read(&conll, path) != MEDNER_OK)
            fail_msg("%s", medner_last_error());
        assert_int_equal(conll->num_sentences, json_size(c, "sentences"));
        assert_int_equal(conll->num_tokens, json_size(c, "tokens"));
        const char **pred = malloc(conll->num_tokens * sizeof *pred);
        assert_non_null(pred);
        memcpy(pred, conll->tags, conll->num_tokens * sizeof *pred);
        const medner__json *changes = medner__json_get(c, "pred_changes");
        assert_non_null(changes);
        for (size_t k = 0; k < changes->count; k++) {
            const medner__json *ch = changes->items[k];
            size_t at = (size_t)ch->items[0]->integer;
            assert_true(at < conll->num_tokens);
            pred[at] = ch->items[1]->str;
        }
        for (size_t s = 0; s < conll->num_sentences; s++) {
            size_t b = conll->sentence_start[s], e = conll->sentence_start[s + 1];
            assert_int_equal(medner__eval_add_sentence(ev, conll->tags + b, pred + b, e - b),
                             MEDNER_OK);
        }
        free(pred);
        medner__conll_free(conll);
    } else {
        const medner__json *gold = medner__json_get(c, "gold"), *pred = medner__json_get(c, "pred");
        assert_non_null(gold);
        assert_non_null(pred);
        assert_int_equal(gold->count, pred->count);
        for (size_t s = 0; s < gold->count; s++) {
            const medner__json *gs = gold->items[s], *ps = pred->items[s];
            assert_int_equal(gs->count, ps->count);
            const char *g[64], *p[64];
            assert_true(gs->count <= 64);
            for (size_t k = 0; k < gs->count; k++) {
                g[k] = gs->items[k]->str;
                p[k] = ps->items[k]->str;
            }
            assert_int_equal(medner__eval_add_sentence(ev, g, p, gs->count), MEDNER_OK);
        }
    }
    medner__eval_report *r = NULL;
    assert_int_equal(medner__eval_report_create(&r, ev), MEDNER_OK);

    const medner__json *per = medner__json_get(exp, "per_type");
    assert_non_null(per);
    if (r->num_types != per->count)
        fail_msg("%s: %zu types, seqeval %zu", cname, r->num_types, per->count);
    size_t gold_total = 0;
    for (size_t k = 0; k < r->num_types; k++) {
        const medner__eval_type *t = &r->types[k];
        const medner__json *w = per->items[k];
        const medner__json *wname = medner__json_get(w, "name");
        if (strcmp(t->name, wname->str) != 0)
            fail_msg("%s: type %zu is %s, seqeval %s", cname, k, t->name, wname->str);
        if (t->gold != json_size(w, "gold") || t->predicted != json_size(w, "predicted") ||
            t->correct != json_size(w, "correct"))
            fail_msg("%s: %s counts gold/pred/correct %zu/%zu/%zu, seqeval %zu/%zu/%zu", cname,
                     t->name, t->gold, t->predicted, t->correct, json_size(w, "gold"),
                     json_size(w, "predicted"), json_size(w, "correct"));
        expect_scores(&t->scores, w, cname, t->name);
        gold_total += t->gold;
    }
    assert_int_equal(r->gold, gold_total);
    expect_scores(&r->micro, medner__json_get(exp, "micro"), cname, "micro avg");
    expect_scores(&r->macro, medner__json_get(exp, "macro"), cname, "macro avg");
    expect_scores(&r->weighted, medner__json_get(exp, "weighted"), cname, "weighted avg");
    expect_double(r->micro.f1, medner__json_get(exp, "f1_micro"), cname, "f1_score(micro)");
    expect_double(r->macro.f1, medner__json_get(exp, "f1_macro"), cname, "f1_score(macro)");

    static const struct { const char *key; int digits; } texts[] = { { "text4", 4 }, { "text2", 2 } };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(texts); i++) {
        const medner__json *want = medner__json_get(exp, texts[i].key);
        if (want == NULL || want->type == MEDNER__JSON_NULL)
            continue;
        medner__buf b = MEDNER__BUF_INIT;
        assert_int_equal(medner__eval_report_text(&b, r, texts[i].digits), MEDNER_OK);
        if (b.len != want->len || memcmp(b.data, want->str, b.len) != 0)
            fail_msg("%s: %s differs:\n--- medner\n%s--- seqeval\n%s", cname, texts[i].key,
                     b.data, want->str);
        medner__buf_free(&b);
        (*checked_texts)++;
    }
    check_json_output(r, cname);
    medner__eval_report_free(r);
    medner__eval_free(ev);
}

static void test_eval_seqeval_parity(void **state)
{
    (void)state;
    medner__json_doc *doc = NULL;
    if (medner__json_parse_file(&doc, DATA "goldens.json") != MEDNER_OK)
        fail_msg("%s", medner_last_error());
    const medner__json *cases = medner__json_get(medner__json_root(doc), "cases");
    assert_non_null(cases);
    assert_true(cases->count >= 150);
    size_t real = 0, texts = 0;
    for (size_t i = 0; i < cases->count; i++) {
        check_case(cases->items[i], &texts);
        real += medner__json_get(cases->items[i], "gold_conll") != NULL;
    }
    assert_int_equal(real, 9);
    assert_true(texts > cases->count);
    print_message("seqeval parity: %zu cases (%zu on real data), %zu report texts\n",
                  cases->count, real, texts);
    medner__json_free(doc);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- locale ------------------------------------------------------------- */

static void test_eval_locale_independence(void **state)
{
    (void)state;
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8" };
    const char *got = NULL;
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(names) && got == NULL; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    char locdir[] = "/tmp/medner-locale-XXXXXX";
    int made = 0;
    if (got == NULL) {
        assert_non_null(mkdtemp(locdir));
        char cmd[256];
        snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>/dev/null", locdir);
        if (system(cmd) != 0)
            fail_msg("cannot build a de_DE locale with localedef (install Debian's `locales`)");
        setenv("LOCPATH", locdir, 1);
        got = setlocale(LC_NUMERIC, "de_DE.UTF-8");
        made = 1;
    }
    assert_non_null(got);
    assert_string_equal(localeconv()->decimal_point, ",");
    const char *gold[] = { "B-X", "O", "B-X" }, *pred[] = { "B-X", "O", "O" };
    const size_t lens[] = { 3 };
    medner__eval_report *r = report_of(gold, pred, lens, 1);
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__eval_report_text(&b, r, 4), MEDNER_OK);
    assert_non_null(strstr(b.data, "           X     1.0000    0.5000    0.6667         2\n"));
    assert_null(strchr(b.data, ','));
    medner__buf_free(&b);
    medner__eval_report_free(r);
    assert_string_equal(localeconv()->decimal_point, ","); /* restored */
    setlocale(LC_NUMERIC, "C");
    if (made) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", locdir);
        assert_int_equal(system(cmd), 0);
        unsetenv("LOCPATH");
    }
}

/* ---- allocation failures ------------------------------------------------- */

typedef struct counting {
    long allocs, fail_at, failed;
} counting;

static void *count_alloc(void *u, size_t n)
{
    counting *c = u;
    if (++c->allocs == c->fail_at) {
        c->failed++;
        return NULL;
    }
    return malloc(n);
}

static void *count_realloc(void *u, void *p, size_t n)
{
    counting *c = u;
    if (++c->allocs == c->fail_at) {
        c->failed++;
        return NULL;
    }
    return realloc(p, n);
}

static void count_free(void *u, void *p)
{
    (void)u;
    free(p);
}

/* Read a real file, evaluate it against predictions with new types, make
 * the report and both texts. A failing medner__eval_add_sentence or
 * formatter must leave things as they were: the call is retried (the
 * allocator fails only once), and the final output must equal the reference.
 * Any other failure ends the run, which must then have freed everything. */
static int oom_scenario(counting *cnt, medner__buf *out)
{
    medner__conll *c = NULL;
    int rc = medner__conll_read(&c, DATA "maccrobat-test.gold.tsv");
    if (rc != MEDNER_OK)
        return rc;
    medner__eval *ev = NULL;
    if ((rc = medner__eval_create(&ev)) != MEDNER_OK) {
        medner__conll_free(c);
        return rc;
    }
    static const char *const extra[] = { "B-New1", "I-New1", "B-New2", "S-New3", "I-New4" };
    const char **pred = malloc(c->num_tokens * sizeof *pred);
    assert_non_null(pred);
    for (size_t k = 0; k < c->num_tokens; k++)
        pred[k] = k % 11 == 3 ? extra[k % 5] : c->tags[k];
    for (size_t s = 0; s < c->num_sentences && s < 60; s++) {
        size_t b = c->sentence_start[s], e = c->sentence_start[s + 1];
        rc = medner__eval_add_sentence(ev, c->tags + b, pred + b, e - b);
        if (rc != MEDNER_OK) {
            assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
            assert_int_equal(cnt->failed, 1);
            rc = medner__eval_add_sentence(ev, c->tags + b, pred + b, e - b);
            assert_int_equal(rc, MEDNER_OK);
        }
    }
    free(pred);
    medner__eval_report *r = NULL;
    rc = medner__eval_report_create(&r, ev);
    medner__eval_free(ev);
    medner__conll_free(c);
    if (rc != MEDNER_OK)
        return rc;
    for (int f = 0; f < 2; f++) {
        size_t len = out->len;
        rc = f ? medner__eval_report_text(out, r, 4) : medner__eval_report_json(out, r);
        if (rc != MEDNER_OK) {
            assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
            assert_int_equal(out->len, len);
            rc = f ? medner__eval_report_text(out, r, 4) : medner__eval_report_json(out, r);
            assert_int_equal(rc, MEDNER_OK);
        }
    }
    medner__eval_report_free(r);
    return MEDNER_OK;
}

static void test_eval_allocation_failures(void **state)
{
    (void)state;
    assert_int_equal(medner__live_allocations(), 0);
    counting cnt = { 0, 0, 0 };
    medner__buf reference = MEDNER__BUF_INIT;
    assert_int_equal(oom_scenario(&cnt, &reference), MEDNER_OK);
    assert_true(reference.len > 1000);
    char *want = strdup(reference.data);
    medner__buf_free(&reference);

    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    a.alloc_fn = count_alloc;
    a.realloc_fn = count_realloc;
    a.free_fn = count_free;
    a.user_data = &cnt;
    assert_int_equal(medner_allocator_set(&a), MEDNER_OK);
    long runs = 0;
    for (long fail_at = 1;; fail_at++) {
        cnt.allocs = 0;
        cnt.failed = 0;
        cnt.fail_at = fail_at;
        medner__buf out = MEDNER__BUF_INIT;
        int rc = oom_scenario(&cnt, &out);
        if (rc == MEDNER_OK) {
            if (strcmp(out.data, want) != 0)
                fail_msg("failing allocation %ld changed the result", fail_at);
        } else {
            if (rc != MEDNER_E_OUT_OF_MEMORY)
                fail_msg("failing allocation %ld: status %d (%s)", fail_at, rc, medner_last_error());
            assert_int_equal(cnt.failed, 1);
        }
        medner__buf_free(&out);
        if (medner__live_allocations() != 0)
            fail_msg("failing allocation %ld leaked %ld blocks", fail_at, medner__live_allocations());
        runs++;
        if (cnt.failed == 0)
            break; /* every allocation of the scenario has failed once */
    }
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
    assert_true(runs > 10);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conll_basic),
        cmocka_unit_test(test_conll_accepted_variants),
        cmocka_unit_test(test_conll_errors),
        cmocka_unit_test(test_conll_files),
        cmocka_unit_test(test_conll_real_files),
        cmocka_unit_test(test_eval_seqeval_docstring),
        cmocka_unit_test(test_eval_sentence_boundaries),
        cmocka_unit_test(test_eval_no_entities),
        cmocka_unit_test(test_eval_formats),
        cmocka_unit_test(test_eval_bad_arguments),
        cmocka_unit_test(test_eval_seqeval_parity),
        cmocka_unit_test(test_eval_locale_independence),
        cmocka_unit_test(test_eval_allocation_failures),
    };
    return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
