/* Tokenizer behaviour and error paths (parity with Hugging Face is in
 * test_tokenizer_parity.c). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "failalloc.h"

#include "tokenizer/tokenizer.h"

#define UNCASED "tests/data/vocab/bert-base-uncased.vocab.txt"
#define CASED "tests/data/vocab/bert-base-cased.vocab.txt"

static medner_tokenizer *uncased;

static int setup(void **state)
{
    (void)state;
    return medner_tokenizer_load_vocab(&uncased, UNCASED, NULL) == MEDNER_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    medner_tokenizer_free(uncased);
    return 0;
}

static medner_encoding *enc(const medner_tokenizer *t, const char *s, size_t len,
                            const medner_encode_params *p)
{
    medner_encoding *e = NULL;
    int rc = medner_tokenizer_encode(&e, t, s, len, p);
    if (rc != MEDNER_OK)
        fail_msg("encode: %s", medner_last_error());
    return e;
}

static void test_vocab_accessors(void **state)
{
    (void)state;
    assert_int_equal(medner_tokenizer_vocab_size(uncased), 30522);
    assert_int_equal(medner_tokenizer_special_id(uncased, MEDNER_TOKEN_PAD), 0);
    assert_int_equal(medner_tokenizer_special_id(uncased, MEDNER_TOKEN_UNK), 100);
    assert_int_equal(medner_tokenizer_special_id(uncased, MEDNER_TOKEN_CLS), 101);
    assert_int_equal(medner_tokenizer_special_id(uncased, MEDNER_TOKEN_SEP), 102);
    assert_int_equal(medner_tokenizer_special_id(uncased, MEDNER_TOKEN_MASK), 103);
    assert_int_equal(medner_tokenizer_special_id(uncased, (medner_special_token)9), -1);
    assert_string_equal(medner_tokenizer_id_to_token(uncased, 101), "[CLS]");
    assert_null(medner_tokenizer_id_to_token(uncased, 30522));
    assert_null(medner_tokenizer_id_to_token(uncased, -1));
    assert_int_equal(medner_tokenizer_token_to_id(uncased, "[SEP]", 5), 102);
    assert_int_equal(medner_tokenizer_token_to_id(uncased, "[SEP]x", 5), 102);
    assert_int_equal(medner_tokenizer_token_to_id(uncased, "no-such-token", 13), -1);
    assert_int_equal(medner_tokenizer_vocab_size(NULL), 0);
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    assert_int_equal(medner_tokenizer_get_params(uncased, &p), MEDNER_OK);
    assert_int_equal(p.lowercase, MEDNER_ON);
    assert_int_equal(p.strip_accents, MEDNER_ON);
    assert_int_equal(p.max_input_chars_per_word, 100);
    assert_int_equal(p.model_max_length, 512);
    assert_string_equal(p.unk_token, "[UNK]");
}

static void test_encoding_shape(void **state)
{
    (void)state;
    const char *s = "Fever 38°C.";
    medner_encoding *e = enc(uncased, s, strlen(s), NULL);
    assert_int_equal(medner_encoding_num_windows(e), 1);
    medner_window w = MEDNER_WINDOW_INIT;
    assert_int_equal(medner_encoding_window(e, 0, &w), MEDNER_OK);
    assert_int_equal(w.length, medner_encoding_num_tokens(e) + 2);
    assert_int_equal(w.ids[0], 101);
    assert_int_equal(w.ids[w.length - 1], 102);
    assert_int_equal(w.special_mask[0], 1);
    assert_int_equal(w.word_ids[0], -1);
    for (size_t k = 1; k + 1 < w.length; k++) {
        assert_int_equal(w.attention_mask[k], 1);
        assert_int_equal(w.type_ids[k], 0);
        assert_int_equal(w.special_mask[k], 0);
        assert_true(w.offsets[2 * k] < w.offsets[2 * k + 1]);
        assert_true(w.offsets[2 * k + 1] <= strlen(s));
    }
    /* the first token is "fever", spanning the original "Fever" */
    assert_int_equal(w.offsets[2], 0);
    assert_int_equal(w.offsets[3], 5);
    assert_string_equal(medner_tokenizer_id_to_token(uncased, w.ids[1]), "fever");
    /* window index out of range, too-small struct */
    assert_int_equal(medner_encoding_window(e, 1, &w), MEDNER_E_INVALID_ARGUMENT);
    medner_window small = MEDNER_WINDOW_INIT;
    small.struct_size = 8;
    assert_int_equal(medner_encoding_window(e, 0, &small), MEDNER_E_INVALID_ARGUMENT);
    medner_encoding_free(e);
    medner_encoding_free(NULL);
}

static void test_empty_and_whitespace(void **state)
{
    (void)state;
    const char *cases[] = { "", "   ", "\n\t\r", "\xE2\x80\x8B" /* ZWSP */ };
    for (size_t i = 0; i < 4; i++) {
        medner_encoding *e = enc(uncased, cases[i], strlen(cases[i]), NULL);
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(e, 0, &w);
        assert_int_equal(w.length, 2);
        assert_int_equal(medner_encoding_num_tokens(e), 0);
        medner_encoding_free(e);
    }
    medner_encoding *e = enc(uncased, NULL, 0, NULL);
    medner_encoding_free(e);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    struct { const char *s; size_t len, bad; } cases[] = {
        { "ok \xFF", 4, 3 },                 /* invalid byte */
        { "ab\xC3", 3, 2 },                  /* truncated sequence */
        { "\xC0\x80", 2, 0 },                /* overlong NUL */
        { "x\xED\xA0\x80", 4, 1 },           /* UTF-16 surrogate */
        { "xy\xF4\x90\x80\x80", 6, 2 },      /* above U+10FFFF */
        { "\xE0\x80\xAF", 3, 0 },            /* overlong */
        { "abc\x80", 4, 3 },                 /* stray continuation */
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(cases); i++) {
        medner_encoding *e = (medner_encoding *)0x1;
        assert_int_equal(medner_tokenizer_encode(&e, uncased, cases[i].s, cases[i].len, NULL),
                         MEDNER_E_INVALID_UTF8);
        assert_ptr_equal(e, (medner_encoding *)0x1); /* untouched on failure */
        char want[64];
        snprintf(want, sizeof want, "byte offset %zu", cases[i].bad);
        assert_non_null(strstr(medner_last_error(), want));
        size_t bad = 99;
        assert_int_equal(medner_utf8_check(&bad, cases[i].s, cases[i].len), MEDNER_E_INVALID_UTF8);
        assert_int_equal(bad, cases[i].bad);
        assert_non_null(strstr(medner_last_error(), want));
    }
    size_t untouched = 99;
    assert_int_equal(medner_utf8_check(&untouched, "\xF0\x9F\x98\x80", 4), MEDNER_OK);
    assert_int_equal(untouched, 99);
    assert_int_equal(medner_utf8_check(NULL, "\xF0\x9F\x98\x80", 4), MEDNER_OK);
    assert_int_equal(medner_utf8_check(NULL, "\xF0\x9F\x98", 3), MEDNER_E_INVALID_UTF8);
    assert_int_equal(medner_utf8_check(NULL, NULL, 0), MEDNER_OK);
    assert_int_equal(medner_utf8_check(&untouched, NULL, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "medner_utf8_check: text is NULL"));
}

static void test_nul_bytes(void **state)
{
    (void)state;
    /* U+0000 is valid UTF-8 and deleted by clean_text: "ab\0cd" is one word */
    const char s[] = "ab\0cd ef";
    medner_encoding *e = enc(uncased, s, sizeof s - 1, NULL);
    medner_encoding *e2 = enc(uncased, "abcd ef", 7, NULL);
    medner_window w = MEDNER_WINDOW_INIT, w2 = MEDNER_WINDOW_INIT;
    medner_encoding_window(e, 0, &w);
    medner_encoding_window(e2, 0, &w2);
    assert_int_equal(w.length, w2.length);
    assert_memory_equal(w.ids, w2.ids, w.length * sizeof *w.ids);
    assert_int_equal(w.offsets[2 * (w.length - 2) + 1], sizeof s - 1); /* "ef" ends at 8 */
    medner_encoding_free(e);
    medner_encoding_free(e2);
}

static void test_random_bytes_never_crash(void **state)
{
    (void)state;
    unsigned seed = 12345;
    unsigned char buf[512];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rand_r(&seed);
        medner_encoding *e = NULL;
        int rc = medner_tokenizer_encode(&e, uncased, (const char *)buf, len, NULL);
        assert_true(rc == MEDNER_OK || rc == MEDNER_E_INVALID_UTF8);
        assert_true((rc == MEDNER_OK) == (medner_utf8_check(NULL, (const char *)buf, len) == MEDNER_OK));
        medner_encoding_free(e);
    }
}

static void test_windows(void **state)
{
    (void)state;
    /* 20 single-token words */
    const char *s = "a b c d e f g h i j k l m n o p q r s t";
    medner_encode_params p = MEDNER_ENCODE_PARAMS_INIT;
    p.max_length = 8; /* 6 text tokens per window */
    p.overlap = 2;    /* step 4: windows start at 0, 4, 8, 12, 16(last: 16..20) -> but 12..18 < 20 */
    medner_encoding *e = enc(uncased, s, strlen(s), &p);
    assert_int_equal(medner_encoding_num_tokens(e), 20);
    assert_int_equal(medner_encoding_num_windows(e), 5);
    size_t starts[] = { 0, 4, 8, 12, 16 }, lens[] = { 8, 8, 8, 8, 6 };
    for (size_t k = 0; k < 5; k++) {
        medner_window w = MEDNER_WINDOW_INIT;
        assert_int_equal(medner_encoding_window(e, k, &w), MEDNER_OK);
        assert_int_equal(w.first_token, starts[k]);
        assert_int_equal(w.length, lens[k]);
        assert_int_equal(w.ids[0], 101);
        assert_int_equal(w.ids[w.length - 1], 102);
        /* first text token of window k is the letter number starts[k] */
        assert_int_equal(w.offsets[2], 2 * starts[k]);
        assert_int_equal(w.word_ids[1], (int)starts[k]);
    }
    medner_encoding_free(e);
    /* no special tokens */
    p.special_tokens = MEDNER_OFF;
    p.max_length = 5;
    p.overlap = 0;
    e = enc(uncased, s, strlen(s), &p);
    assert_int_equal(medner_encoding_num_windows(e), 4);
    medner_window w = MEDNER_WINDOW_INIT;
    medner_encoding_window(e, 0, &w);
    assert_int_equal(w.length, 5);
    assert_int_equal(w.special_mask[0], 0);
    medner_encoding_free(e);
}

static void test_encode_params_errors(void **state)
{
    (void)state;
    medner_encoding *e = NULL;
    medner_encode_params p = MEDNER_ENCODE_PARAMS_INIT;
    p.max_length = 2; /* no room besides [CLS] [SEP] */
    assert_int_equal(medner_tokenizer_encode(&e, uncased, "a", 1, &p), MEDNER_E_INVALID_ARGUMENT);
    p.max_length = 10;
    p.overlap = 8;
    assert_int_equal(medner_tokenizer_encode(&e, uncased, "a", 1, &p), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "overlap"));
    p.max_length = 0;
    p.overlap = 1;
    assert_int_equal(medner_tokenizer_encode(&e, uncased, "a", 1, &p), MEDNER_E_INVALID_ARGUMENT);
    p.overlap = 0;
    p.special_tokens = (medner_switch)7;
    assert_int_equal(medner_tokenizer_encode(&e, uncased, "a", 1, &p), MEDNER_E_INVALID_ARGUMENT);
    p.special_tokens = MEDNER_DEFAULT;
    p.reserved = 1;
    assert_int_equal(medner_tokenizer_encode(&e, uncased, "a", 1, &p), MEDNER_E_INVALID_ARGUMENT);
    p.reserved = 0;
    p.struct_size = 3;
    assert_int_equal(medner_tokenizer_encode(&e, uncased, "a", 1, &p), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_tokenizer_encode(NULL, uncased, "a", 1, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_tokenizer_encode(&e, NULL, "a", 1, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_tokenizer_encode(&e, uncased, NULL, 1, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_null(e);
}

static void test_encode_batch(void **state)
{
    (void)state;
    const char *texts[3] = { "fever", "cough and fever", "" };
    size_t lens[3] = { 5, 15, 0 };
    medner_encoding *out[3] = { NULL, NULL, NULL };
    assert_int_equal(medner_tokenizer_encode_batch(out, uncased, texts, lens, 3, NULL), MEDNER_OK);
    for (int i = 0; i < 3; i++) {
        medner_encoding *single = enc(uncased, texts[i], lens[i], NULL);
        medner_window a = MEDNER_WINDOW_INIT, b = MEDNER_WINDOW_INIT;
        medner_encoding_window(out[i], 0, &a);
        medner_encoding_window(single, 0, &b);
        assert_int_equal(a.length, b.length);
        assert_memory_equal(a.ids, b.ids, a.length * sizeof *a.ids);
        assert_memory_equal(a.offsets, b.offsets, 2 * a.length * sizeof *a.offsets);
        medner_encoding_free(single);
        medner_encoding_free(out[i]);
    }
    /* all or nothing: text 1 is invalid */
    const char *bad[3] = { "fever", "x\xFF", "y" };
    size_t bad_lens[3] = { 5, 2, 1 };
    medner_encoding *none[3] = { NULL, NULL, NULL };
    assert_int_equal(medner_tokenizer_encode_batch(none, uncased, bad, bad_lens, 3, NULL),
                     MEDNER_E_INVALID_UTF8);
    assert_non_null(strstr(medner_last_error(), "text 1"));
    assert_null(none[0]);
    assert_int_equal(medner_tokenizer_encode_batch(NULL, uncased, texts, lens, 3, NULL),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_tokenizer_encode_batch(NULL, uncased, NULL, NULL, 0, NULL), MEDNER_OK);
}

static void test_offset_converters(void **state)
{
    (void)state;
    /* "µg ≥5 😀x": µ 2 bytes, ≥ 3 bytes, 😀 4 bytes (2 UTF-16 units) */
    const char *s = "\xC2\xB5g \xE2\x89\xA5" "5 \xF0\x9F\x98\x80x";
    size_t len = strlen(s);
    size_t bytes[] = { len, 0, 3, 4, 7, 9, 13 };
    size_t cp[7], u16[7];
    assert_int_equal(medner_utf8_codepoint_offsets(cp, s, len, bytes, 7), MEDNER_OK);
    assert_int_equal(medner_utf8_utf16_offsets(u16, s, len, bytes, 7), MEDNER_OK);
    size_t want_cp[] = { 8, 0, 2, 3, 4, 6, 7 }, want_u16[] = { 9, 0, 2, 3, 4, 6, 8 };
    assert_memory_equal(cp, want_cp, sizeof cp);
    assert_memory_equal(u16, want_u16, sizeof u16);
    /* in place */
    size_t inplace[] = { 13, 3 };
    assert_int_equal(medner_utf8_codepoint_offsets(inplace, s, len, inplace, 2), MEDNER_OK);
    assert_int_equal(inplace[0], 7);
    assert_int_equal(inplace[1], 2);
    /* inside a character, beyond the end, invalid text */
    size_t mid[] = { 1 }, past[] = { len + 1 }, out[1] = { 42 };
    assert_int_equal(medner_utf8_codepoint_offsets(out, s, len, mid, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(out[0], 42);
    assert_int_equal(medner_utf8_utf16_offsets(out, s, len, past, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_utf8_utf16_offsets(out, "\xFF", 1, mid, 1), MEDNER_E_INVALID_UTF8);
    assert_int_equal(medner_utf8_utf16_offsets(out, s, len, NULL, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_utf8_utf16_offsets(NULL, s, len, NULL, 0), MEDNER_OK);
    /* the message names the function, the problem and the offset */
    assert_int_equal(medner_utf8_codepoint_offsets(out, s, len, mid, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "medner_utf8_codepoint_offsets: offset 1 is inside"));
    assert_int_equal(medner_utf8_codepoint_offsets(out, NULL, 3, bytes, 0), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_utf8_codepoint_offsets(out, NULL, 0, NULL, 0), MEDNER_OK);
}

/* The 0.1 spellings (outputs last, deprecated in 0.4) give what the 0.4 ones
 * give, errors included: they are thin wrappers of them. */
static void test_utf8_old_spellings(void **state)
{
    (void)state;
    const char *s = "\xC2\xB5g \xE2\x89\xA5" "5 \xF0\x9F\x98\x80x";
    size_t len = strlen(s);
    size_t bytes[] = { len, 0, 3, 4, 7, 9, 13 };
    size_t a[7], b[7];
    assert_int_equal(medner_utf8_to_codepoint_offsets(s, len, bytes, 7, a), MEDNER_OK);
    assert_int_equal(medner_utf8_codepoint_offsets(b, s, len, bytes, 7), MEDNER_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(medner_utf8_to_utf16_offsets(s, len, bytes, 7, a), MEDNER_OK);
    assert_int_equal(medner_utf8_utf16_offsets(b, s, len, bytes, 7), MEDNER_OK);
    assert_memory_equal(a, b, sizeof a);
    size_t mid[] = { 1 };
    assert_int_equal(medner_utf8_to_codepoint_offsets(s, len, mid, 1, a), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_utf8_to_utf16_offsets("\xFF", 1, mid, 1, a), MEDNER_E_INVALID_UTF8);
    assert_int_equal(medner_utf8_to_utf16_offsets(s, len, NULL, 1, a), MEDNER_E_INVALID_ARGUMENT);
    size_t bad = 99;
    assert_int_equal(medner_utf8_validate("ab\xC0\x80", 4, &bad), MEDNER_E_INVALID_UTF8);
    assert_int_equal(bad, 2);
    assert_int_equal(medner_utf8_validate(NULL, 1, &bad), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_utf8_validate(s, len, NULL), MEDNER_OK);
}

static void test_cased_vs_uncased(void **state)
{
    (void)state;
    medner_tokenizer *cased = NULL;
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    p.lowercase = MEDNER_OFF;
    assert_int_equal(medner_tokenizer_load_vocab(&cased, CASED, &p), MEDNER_OK);
    medner_encoding *e = enc(cased, "BRCA1", 5, NULL);
    medner_window w = MEDNER_WINDOW_INIT;
    medner_encoding_window(e, 0, &w);
    /* the cased vocabulary keeps the capitals */
    assert_string_equal(medner_tokenizer_id_to_token(cased, w.ids[1]), "BR");
    medner_encoding_free(e);
    medner_tokenizer_params got = MEDNER_TOKENIZER_PARAMS_INIT;
    medner_tokenizer_get_params(cased, &got);
    assert_int_equal(got.lowercase, MEDNER_OFF);
    assert_int_equal(got.strip_accents, MEDNER_OFF); /* follows lowercase */
    medner_tokenizer_free(cased);
    /* a bad switch value */
    p.lowercase = (medner_switch)5;
    assert_int_equal(medner_tokenizer_load_vocab(&cased, CASED, &p), MEDNER_E_INVALID_ARGUMENT);
}

static void test_max_chars_per_word(void **state)
{
    (void)state;
    char word[102];
    memset(word, 'a', sizeof word);
    for (size_t n = 100; n <= 101; n++) {
        medner_encoding *e = enc(uncased, word, n, NULL);
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(e, 0, &w);
        if (n == 101) { /* longer than max_input_chars_per_word: one [UNK] */
            assert_int_equal(w.length, 3);
            assert_int_equal(w.ids[1], 100);
            assert_int_equal(w.offsets[3], 101);
        } else {
            assert_true(w.length > 3);
        }
        medner_encoding_free(e);
    }
    /* a 1 MB word stays one [UNK] without buffering it */
    size_t big = 1 << 20;
    char *huge = malloc(big);
    memset(huge, 'x', big);
    medner_encoding *e = enc(uncased, huge, big, NULL);
    assert_int_equal(medner_encoding_num_tokens(e), 1);
    medner_encoding_free(e);
    free(huge);
}

/* ---- loading from directories ------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void make_dir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/medner-tok-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static const char small_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nfever\nFever\n##s\n.\n";

typedef struct warn_count {
    int n;
} warn_count;

static void count_warn(medner_log_level level, const char *msg, void *user)
{
    (void)msg;
    if (level == MEDNER_LOG_WARN)
        ((warn_count *)user)->n++;
}

static void test_load_dir_vocab_and_config(void **state)
{
    (void)state;
    make_dir();
    write_file("vocab.txt", small_vocab);
    medner_tokenizer *t = NULL;
    /* no config: Hugging Face lower-cases; we do too and warn */
    warn_count wc = { 0 };
    medner_log_set_callback(count_warn, MEDNER_LOG_WARN, &wc);
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_OK);
    medner_log_set_callback(NULL, MEDNER_LOG_WARN, NULL);
    assert_int_equal(wc.n, 1);
    medner_encoding *e = enc(t, "Fevers.", 7, NULL);
    medner_window w = MEDNER_WINDOW_INIT;
    medner_encoding_window(e, 0, &w);
    int32_t want_lower[] = { 2, 5, 7, 8, 3 };
    assert_int_equal(w.length, 5);
    assert_memory_equal(w.ids, want_lower, sizeof want_lower);
    medner_encoding_free(e);
    medner_tokenizer_free(t);
    /* tokenizer_config.json says cased */
    write_file("tokenizer_config.json",
               "{\"do_lower_case\": false, \"model_max_length\": 1000000000000000019884624838656,"
               " \"unk_token\": {\"content\": \"[UNK]\"}}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_OK);
    e = enc(t, "Fevers.", 7, NULL);
    medner_encoding_window(e, 0, &w);
    int32_t want_cased[] = { 2, 6, 7, 8, 3 };
    assert_memory_equal(w.ids, want_cased, sizeof want_cased);
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    medner_tokenizer_get_params(t, &p);
    assert_int_equal(p.model_max_length, 512); /* 1e30 means "no limit": default kept */
    medner_encoding_free(e);
    medner_tokenizer_free(t);
    /* explicit params override the files */
    medner_tokenizer_params over = MEDNER_TOKENIZER_PARAMS_INIT;
    over.lowercase = MEDNER_ON;
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, &over), MEDNER_OK);
    medner_tokenizer_get_params(t, &p);
    assert_int_equal(p.lowercase, MEDNER_ON);
    medner_tokenizer_free(t);
    /* wrong type in the config: file, line, column */
    write_file("tokenizer_config.json", "{\n  \"do_lower_case\": \"yes\"\n}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_INVALID_MODEL);
    assert_non_null(strstr(medner_last_error(), "tokenizer_config.json:2:"));
    /* malformed JSON */
    write_file("tokenizer_config.json", "{\"do_lower_case\": false,}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_PARSE);
    assert_non_null(strstr(medner_last_error(), "tokenizer_config.json:1:"));
    remove_dir();
}

static void test_load_dir_errors(void **state)
{
    (void)state;
    medner_tokenizer *t = NULL;
    assert_int_equal(medner_tokenizer_load(&t, "/nonexistent/dir", NULL), MEDNER_E_IO);
    assert_int_equal(medner_tokenizer_load(NULL, "/tmp", NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_tokenizer_load_vocab(&t, "/nonexistent/vocab.txt", NULL), MEDNER_E_IO);
    make_dir();
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_IO); /* empty dir */
    assert_non_null(strstr(medner_last_error(), "no tokenizer.json or vocab.txt"));
    /* vocabulary without [UNK] */
    write_file("vocab.txt", "[CLS]\n[SEP]\nfever\n");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_INVALID_MODEL);
    assert_non_null(strstr(medner_last_error(), "unk"));
    /* invalid UTF-8 in vocab.txt */
    write_file("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n\xFF\n");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_PARSE);
    /* a BPE tokenizer.json saved by Hugging Face is refused, naming the model */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp tests/data/tokenizer/bpe.tokenizer.json %s/tokenizer.json", tmpdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_UNSUPPORTED);
    assert_non_null(strstr(medner_last_error(), "\"BPE\""));
    write_file("tokenizer.json", "{\"model\": {\"type\": \"Unigram\"}}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_UNSUPPORTED);
    assert_non_null(strstr(medner_last_error(), "Unigram"));
    write_file("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}},"
                                 " \"normalizer\": {\"type\": \"NFKC\"}}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_UNSUPPORTED);
    assert_non_null(strstr(medner_last_error(), "NFKC"));
    write_file("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}},"
                                 " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_INVALID_MODEL);
    write_file("tokenizer.json", "[1, 2");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_PARSE);
    assert_null(t);
    /* a FIFO is refused by name, not waited on, and not skipped as absent
     * (here vocab.txt would have been used instead) */
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/tokenizer.json", tmpdir);
    assert_int_equal(unlink(fifo), 0);
    write_file("vocab.txt", small_vocab);
    alarm(20);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "tokenizer.json: is a FIFO; expected a regular file"));
    assert_int_equal(medner_tokenizer_load_vocab(&t, fifo, NULL), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "is a FIFO"));
    assert_null(t);
    alarm(0);
    remove_dir();
}

/* ---- WordPiece cost and the greedy reference ----------------------------- */

/* Hugging Face's WordPiece on one ASCII word, written out plainly: every
 * candidate from the longest down, however long, looked up by a scan of the
 * vocabulary (the last line of a repeated entry wins, as in vocab.txt). */
static void reference_wordpiece(const char *const *vocab, size_t n_vocab, int32_t unk,
                                const char *word, size_t n, int32_t *out, size_t *n_out)
{
    size_t start = 0, k = 0;
    char cand[300];
    while (start < n) {
        int32_t id = -1;
        size_t end;
        for (end = n; end > start && id < 0; end--) {
            size_t p = start > 0 ? 2 : 0;
            memcpy(cand, "##", p);
            memcpy(cand + p, word + start, end - start);
            cand[p + end - start] = '\0';
            for (size_t v = 0; v < n_vocab; v++)
                if (strcmp(vocab[v], cand) == 0)
                    id = (int32_t)v;
        }
        if (id < 0) {
            out[0] = unk;
            *n_out = 1;
            return;
        }
        out[k++] = id;
        start = end + 1;
    }
    *n_out = k;
}

static double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_wordpiece_long_words(void **state)
{
    (void)state;
    make_dir();
    /* specials, then random pieces over "abc" (1-6 letters, half of them
     * continuations); the single letters make every word tokenizable */
    enum { N_VOCAB = 64 };
    char entries[N_VOCAB][16];
    const char *vocab[N_VOCAB];
    static const char *const fixed[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                         "a", "b", "c", "##a", "##b", "##c" };
    size_t nf = sizeof fixed / sizeof fixed[0];
    srand(14);
    char text[N_VOCAB * 16 + 1] = "";
    for (size_t v = 0; v < N_VOCAB; v++) {
        if (v < nf) {
            snprintf(entries[v], sizeof entries[v], "%s", fixed[v]);
        } else {
            int cont = rand() % 2, len = 1 + rand() % 6;
            size_t k = 0;
            if (cont) {
                entries[v][k++] = '#';
                entries[v][k++] = '#';
            }
            for (int i = 0; i < len; i++)
                entries[v][k++] = (char)('a' + rand() % 3);
            entries[v][k] = '\0';
        }
        vocab[v] = entries[v];
        strcat(text, entries[v]);
        strcat(text, "\n");
    }
    write_file("vocab.txt", text);
    char path[128];
    snprintf(path, sizeof path, "%s/vocab.txt", tmpdir);
    medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
    tp.max_input_chars_per_word = 1u << 30;
    medner_tokenizer *t = NULL;
    assert_int_equal(medner_tokenizer_load_vocab(&t, path, &tp), MEDNER_OK);
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.special_tokens = MEDNER_OFF;

    /* the same ids as the plain algorithm on random words, some with a
     * letter ("d") that nothing matches: the whole word is [UNK] */
    char word[200];
    int32_t want[200];
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = 1 + (size_t)(rand() % 120);
        for (size_t i = 0; i < n; i++)
            word[i] = (char)('a' + rand() % (trial % 10 == 0 ? 4 : 3));
        size_t nw = 0;
        reference_wordpiece(vocab, N_VOCAB, 1, word, n, want, &nw);
        medner_encoding *e = enc(t, word, n, &ep);
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(e, 0, &w);
        if (w.length != nw || memcmp(w.ids, want, nw * sizeof *want) != 0)
            fail_msg("word \"%.*s\": %zu tokens, the reference %zu", (int)n, word, w.length, nw);
        medner_encoding_free(e);
    }

    /* words of 32K to 512K characters, every one within the limit: the
     * cost is linear (the old scan back from the word's end took 26 s for
     * 512K). The bound is generous on purpose: 1 s of this thread's CPU
     * time, against milliseconds measured. The last word ends in a letter
     * nothing matches, so it is scanned to the end and then one [UNK]. */
    size_t big = (size_t)512 << 10;
    char *huge = malloc(big);
    assert_non_null(huge);
    for (size_t i = 0; i < big; i++)
        huge[i] = (char)('a' + rand() % 3);
    for (size_t n = (size_t)32 << 10; n <= big; n *= 2) {
        if (n == big)
            huge[n - 1] = 'd';
        double t0 = thread_seconds();
        medner_encoding *e = enc(t, huge, n, &ep);
        double dt = thread_seconds() - t0;
        size_t nt = medner_encoding_num_tokens(e);
        if (n == big)
            assert_int_equal(nt, 1);
        else
            assert_true(nt >= n / 6 && nt <= n);
        medner_encoding_free(e);
        if (dt > 1.0)
            fail_msg("a word of %zu characters took %.2f s of CPU time", n, dt);
    }
    free(huge);
    medner_tokenizer_free(t);
    remove_dir();
}

/* Values that would fail at the first call (or give ids the model may not
 * have) are refused when the files are loaded. */
static void write_tokenizer_json(const char *added)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"version\": \"1.0\",\n"
             " \"added_tokens\": [%s],\n"
             " \"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true},\n"
             " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},\n"
             " \"post_processor\": null,\n"
             " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\",\n"
             "  \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3,"
             " \"[MASK]\": 4, \"fever\": 5, \"[ENT]\": 6}}}\n", added);
    write_file("tokenizer.json", text);
}

#define ADDED(content, id)                                                              \
    "{\"id\": " #id ", \"content\": \"" content "\", \"single_word\": false, "          \
    "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"

static void load_refused(int status, const char *s1, const char *s2)
{
    medner_tokenizer *t = (medner_tokenizer *)0x1;
    long live = medner__live_allocations();
    int rc = medner_tokenizer_load(&t, tmpdir, NULL);
    if (rc != status)
        fail_msg("expected %d, got %d: %s", status, rc, medner_last_error());
    assert_ptr_equal(t, (medner_tokenizer *)0x1);
    if (strstr(medner_last_error(), s1) == NULL || (s2 && strstr(medner_last_error(), s2) == NULL))
        fail_msg("message lacks \"%s\" / \"%s\": %s", s1, s2 ? s2 : "", medner_last_error());
    assert_int_equal(medner__live_allocations(), live);
}

static void test_load_validates(void **state)
{
    (void)state;
    make_dir();
    medner_tokenizer *t = NULL;
    /* added tokens: the id must be the vocabulary's id for the content */
    write_tokenizer_json(ADDED("[PAD]", 0) ", " ADDED("[ENT]", 6));
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_OK);
    medner_encoding *e = enc(t, "fever[ENT]fever", 15, NULL);
    medner_window w = MEDNER_WINDOW_INIT;
    medner_encoding_window(e, 0, &w);
    int32_t want[] = { 2, 5, 6, 5, 3 };
    assert_int_equal(w.length, 5);
    assert_memory_equal(w.ids, want, sizeof want);
    medner_encoding_free(e);
    medner_tokenizer_free(t);
    write_tokenizer_json(ADDED("[PAD]", 0) ", " ADDED("[NEW]", 99));
    load_refused(MEDNER_E_INVALID_MODEL, "tokenizer.json:2:", "added token 99: the id is outside");
    write_tokenizer_json(ADDED("[NEW]", 7));
    load_refused(MEDNER_E_INVALID_MODEL, "tokenizer.json:2:", "added token 7: the id is outside");
    write_tokenizer_json(ADDED("[NEW]", 5));
    load_refused(MEDNER_E_INVALID_MODEL, "added token 5", "content is not in the vocabulary");
    write_tokenizer_json(ADDED("[ENT]", 5));
    load_refused(MEDNER_E_INVALID_MODEL, "added token 5", "another id");
    remove_dir();

    /* model_max_length must leave room for [CLS], [SEP] and a token */
    make_dir();
    write_file("vocab.txt", small_vocab);
    static const char *const bad[] = { "0", "1", "2", "2.5" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cfg[128];
        snprintf(cfg, sizeof cfg, "{\"do_lower_case\": true,\n \"model_max_length\": %s}", bad[i]);
        write_file("tokenizer_config.json", cfg);
        load_refused(MEDNER_E_INVALID_MODEL, "tokenizer_config.json:2:", "model_max_length");
    }
    write_file("tokenizer_config.json", "{\"do_lower_case\": true, \"model_max_length\": 3}");
    assert_int_equal(medner_tokenizer_load(&t, tmpdir, NULL), MEDNER_OK);
    medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
    assert_int_equal(medner_tokenizer_get_params(t, &tp), MEDNER_OK);
    assert_int_equal(tp.model_max_length, 3);
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.max_length = tp.model_max_length;
    e = enc(t, "fever fever", 11, &ep);
    assert_int_equal(medner_encoding_num_windows(e), 2);
    medner_encoding_free(e);
    medner_tokenizer_free(t);
    /* the same through the params */
    remove_dir();
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    p.model_max_length = 2;
    t = (medner_tokenizer *)0x1;
    assert_int_equal(medner_tokenizer_load_vocab(&t, UNCASED, &p), MEDNER_E_INVALID_ARGUMENT);
    assert_ptr_equal(t, (medner_tokenizer *)0x1);
    assert_non_null(strstr(medner_last_error(), "model_max_length 2"));
    p.model_max_length = 3;
    assert_int_equal(medner_tokenizer_load_vocab(&t, UNCASED, &p), MEDNER_OK);
    medner_tokenizer_free(t);
}

/* ---- allocation failures ------------------------------------------------ */

static void test_out_of_memory(void **state)
{
    (void)state;
    /* Fail the 1st, 2nd, ... allocation of loading and of encoding until the
     * call succeeds; each failure must be MEDNER_E_OUT_OF_MEMORY and leave
     * nothing allocated. */
    medner_tokenizer_free(uncased);
    uncased = NULL;
    assert_int_equal(medner__live_allocations(), 0);
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    make_dir();
    write_file("vocab.txt", small_vocab);
    write_file("tokenizer_config.json", "{\"do_lower_case\": false}");
    medner_tokenizer *t = NULL;
    int rc;
    long n;
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        rc = medner_tokenizer_load(&t, tmpdir, NULL);
        if (rc == MEDNER_OK)
            break;
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_int_equal(medner__live_allocations(), 0);
    }
    assert_true(n > 5);
    const char *text = "Fevers. Fever [MASK] fever, \xE2\x89\xA5 39 C";
    medner_encode_params p = MEDNER_ENCODE_PARAMS_INIT;
    p.max_length = 4;
    p.overlap = 1;
    long before = medner__live_allocations();
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        medner_encoding *e = NULL;
        rc = medner_tokenizer_encode(&e, t, text, strlen(text), &p);
        if (rc == MEDNER_OK) {
            medner_encoding_free(e);
            break;
        }
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_null(e);
        assert_int_equal(medner__live_allocations(), before);
    }
    assert_true(n > 3);
    f.fail_at = 0;
    medner_tokenizer_free(t);
    remove_dir();
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
    assert_int_equal(medner_tokenizer_load_vocab(&uncased, UNCASED, NULL), MEDNER_OK);
}

/* ---- threads ------------------------------------------------------------ */

typedef struct job {
    const medner_tokenizer *t;
    const char *text;
    size_t len;
    uint64_t digest;
} job;

static uint64_t digest(const medner_encoding *e)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < medner_encoding_num_windows(e); k++) {
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(e, k, &w);
        for (size_t i = 0; i < w.length; i++) {
            h = (h ^ (uint64_t)w.ids[i]) * 1099511628211ULL;
            h = (h ^ w.offsets[2 * i]) * 1099511628211ULL;
        }
    }
    return h;
}

static void *worker(void *arg)
{
    job *j = arg;
    medner_encode_params p = MEDNER_ENCODE_PARAMS_INIT;
    p.max_length = 64;
    p.overlap = 16;
    for (int r = 0; r < 50; r++) {
        medner_encoding *e = NULL;
        if (medner_tokenizer_encode(&e, j->t, j->text, j->len, &p) != MEDNER_OK)
            return NULL;
        uint64_t d = digest(e);
        medner_encoding_free(e);
        if (r > 0 && d != j->digest)
            return NULL;
        j->digest = d;
    }
    return arg;
}

static void test_threads_share_one_tokenizer(void **state)
{
    (void)state;
    static const char *texts[4] = {
        "Patient with fever 38.5\xC2\xB0" "C and cough; started amoxicillin 500 mg t.i.d.",
        "BRCA1 mutation carriers: \xCE\xB2-thalassemia \xE2\x80\x93 no.",
        "\xE5\x92\xB3\xE5\x97\xBD and \xED\x95\x9C\xEA\xB5\xAD \xF0\x9F\x98\x80 [MASK] [SEP]",
        "Hemoglobin A1c 7.2% (\xE2\x89\xA5 6.5%), eGFR 45 mL/min/1.73 m\xC2\xB2",
    };
    pthread_t th[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){ uncased, texts[i], strlen(texts[i]), 0 };
        assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_non_null(ret);
        /* same as a serial run */
        job serial = { uncased, texts[i], strlen(texts[i]), 0 };
        assert_non_null(worker(&serial));
        assert_true(serial.digest == jobs[i].digest);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_accessors),
        cmocka_unit_test(test_encoding_shape),
        cmocka_unit_test(test_empty_and_whitespace),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_random_bytes_never_crash),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_encode_params_errors),
        cmocka_unit_test(test_encode_batch),
        cmocka_unit_test(test_offset_converters),
        cmocka_unit_test(test_utf8_old_spellings),
        cmocka_unit_test(test_cased_vs_uncased),
        cmocka_unit_test(test_max_chars_per_word),
        cmocka_unit_test(test_wordpiece_long_words),
        cmocka_unit_test(test_load_dir_vocab_and_config),
        cmocka_unit_test(test_load_dir_errors),
        cmocka_unit_test(test_load_validates),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_threads_share_one_tokenizer),
    };
    return cmocka_run_group_tests_name("tokenizer", tests, setup, teardown);
}
