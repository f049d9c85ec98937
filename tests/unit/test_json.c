/* Unit tests for src/json: the strict reader (every type, escapes, numbers,
 * duplicate keys, every rejection rule with its line:column, depth limit,
 * allocation failures, arbitrary bytes) and the writer (string escaping
 * round-trip, shortest double formatting). */
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlocale.h"

#include "json/json.h"

/* Parse a copy of exactly `len` bytes in its own malloc block, so that ASan
 * catches any read past the end (the parser must not rely on a NUL). */
static int parse_n(medner__json_doc **doc, const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = medner__json_parse(doc, copy, len, "t.json");
    free(copy);
    return rc;
}

static int parse(medner__json_doc **doc, const char *text)
{
    return parse_n(doc, text, strlen(text));
}

/* Parse and return the root; the document goes to *doc (caller frees). */
static const medner__json *root_of(medner__json_doc **doc, const char *text)
{
    assert_int_equal(parse(doc, text), MEDNER_OK);
    const medner__json *r = medner__json_root(*doc);
    assert_non_null(r);
    return r;
}

/* Expect a failure with status `status` whose message starts with `prefix`. */
static void expect_error_n(const char *text, size_t len, int status, const char *prefix)
{
    medner__json_doc *doc = (medner__json_doc *)(uintptr_t)1; /* must stay untouched */
    int rc = parse_n(&doc, text, len);
    if (rc != status || strncmp(medner_last_error(), prefix, strlen(prefix)) != 0)
        fail_msg("input %zu bytes: got %d \"%s\", want %d \"%s...\"", len, rc,
                 medner_last_error(), status, prefix);
    assert_ptr_equal(doc, (medner__json_doc *)(uintptr_t)1);
    assert_int_equal(medner__live_allocations(), 0);
}

static void expect_error(const char *text, const char *prefix)
{
    expect_error_n(text, strlen(text), MEDNER_E_PARSE, prefix);
}

/* ---- valid documents ---------------------------------------------------- */

static void test_scalars(void **state)
{
    (void)state;
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc, " \t\r\n null \n");
    assert_int_equal(r->type, MEDNER__JSON_NULL);
    assert_int_equal(r->line, 2);
    assert_int_equal(r->column, 2);
    medner__json_free(doc);

    r = root_of(&doc, "true");
    assert_int_equal(r->type, MEDNER__JSON_BOOL);
    assert_true(r->boolean);
    medner__json_free(doc);
    r = root_of(&doc, "false");
    assert_int_equal(r->type, MEDNER__JSON_BOOL);
    assert_false(r->boolean);
    medner__json_free(doc);

    r = root_of(&doc, "\"hello\"");
    assert_int_equal(r->type, MEDNER__JSON_STRING);
    assert_int_equal(r->len, 5);
    assert_string_equal(r->str, "hello");
    assert_int_equal(r->count, 0); /* always valid: loops over items never run */
    assert_false(r->boolean);
    medner__json_free(doc);

    r = root_of(&doc, "\"\"");
    assert_int_equal(r->len, 0);
    assert_string_equal(r->str, "");
    medner__json_free(doc);

    r = root_of(&doc, "42");
    assert_int_equal(r->type, MEDNER__JSON_NUMBER);
    assert_true(r->is_integer);
    assert_int_equal(r->integer, 42);
    assert_true(r->number == 42.0);
    medner__json_free(doc);

    assert_null(medner__json_root(NULL));
    medner__json_free(NULL);
    assert_int_equal(medner__live_allocations(), 0);
}

typedef struct number_case {
    const char *text;
    bool is_integer;
    int64_t integer;
    double number;
} number_case;

static void test_numbers(void **state)
{
    (void)state;
    static const number_case cases[] = {
        { "0", true, 0, 0.0 },
        { "-1", true, -1, -1.0 },
        { "123456789", true, 123456789, 123456789.0 },
        { "9223372036854775807", true, INT64_MAX, 9223372036854775807.0 },
        { "-9223372036854775808", true, INT64_MIN, -9223372036854775808.0 },
        { "9007199254740993", true, 9007199254740993LL, 9007199254740992.0 },
        /* beyond int64: a double only */
        { "9223372036854775808", false, 0, 9223372036854775808.0 },
        { "-9223372036854775809", false, 0, -9223372036854775808.0 },
        { "18446744073709551616", false, 0, 18446744073709551616.0 },
        { "123456789012345678901234567890", false, 0, 1.2345678901234568e29 },
        { "1.5", false, 0, 1.5 },
        { "-0.25", false, 0, -0.25 },
        { "0.1", false, 0, 0.1 },
        { "1.0", false, 0, 1.0 },
        { "1e2", false, 0, 100.0 },
        { "1E+2", false, 0, 100.0 },
        { "-2.5e-3", false, 0, -0.0025 },
        { "0e10", false, 0, 0.0 },
        { "1e308", false, 0, 1e308 },
        { "1.7976931348623157e308", false, 0, 1.7976931348623157e308 },
        { "5e-324", false, 0, 5e-324 },
        { "1e-400", false, 0, 0.0 }, /* underflow to zero is fine */
        { "2.2250738585072011e-308", false, 0, 2.2250738585072011e-308 },
        /* long lexeme: converted from a heap copy */
        { "0.100000000000000000000000000000000000000000000000000000000000000000000000000001",
          false, 0, 0.1 },
        { "1000000000000000000000000000000000000000000000000000000000000000000000000000e-75",
          false, 0, 1.0 },
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(cases); i++) {
        medner__json_doc *doc;
        const medner__json *r = root_of(&doc, cases[i].text);
        assert_int_equal(r->type, MEDNER__JSON_NUMBER);
        if (r->is_integer != cases[i].is_integer || r->integer != cases[i].integer ||
            r->number != cases[i].number)
            fail_msg("%s: is_integer %d integer %lld number %.17g", cases[i].text,
                     r->is_integer, (long long)r->integer, r->number);
        medner__json_free(doc);
    }
    /* "-0" is the integer 0 and the double -0.0 */
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc, "-0");
    assert_true(r->is_integer);
    assert_int_equal(r->integer, 0);
    assert_true(r->number == 0.0 && signbit(r->number));
    medner__json_free(doc);
    r = root_of(&doc, "-0.0");
    assert_false(r->is_integer);
    assert_true(signbit(r->number));
    medner__json_free(doc);
}

static void test_strings_and_escapes(void **state)
{
    (void)state;
    medner__json_doc *doc;
    const medner__json *r =
        root_of(&doc, "\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0041\\u00e9\\u20AC\\uFFFF\"");
    assert_string_equal(r->str, "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac\xef\xbf\xbf");
    assert_int_equal(r->len, strlen(r->str));
    medner__json_free(doc);

    /* surrogate pairs, as json.dumps(ensure_ascii=True) writes emoji */
    r = root_of(&doc, "\"\\ud83d\\ude00 \\uD834\\uDD1E \\udbff\\udfff \\ud800\\udc00\"");
    assert_string_equal(r->str, "\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf \xf0\x90\x80\x80");
    medner__json_free(doc);

    /* \u0000: embedded NUL, len tells */
    r = root_of(&doc, "\"a\\u0000b\"");
    assert_int_equal(r->len, 3);
    assert_memory_equal(r->str, "a\0b", 4);
    medner__json_free(doc);

    /* raw UTF-8 of every length passes through, DEL (0x7F) is allowed raw */
    const char *raw = "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf \x7f\"";
    r = root_of(&doc, raw);
    assert_int_equal(r->len, strlen(raw) - 2);
    assert_memory_equal(r->str, raw + 1, r->len);
    medner__json_free(doc);
}

static void test_containers(void **state)
{
    (void)state;
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc,
                                    "{\n"
                                    "  \"a\": [1, \"two\", [], {}, null, true],\n"
                                    "  \"b\": {\"c\": {\"d\": [[[-3.5]]]}},\n"
                                    "  \"\": 0\n"
                                    "}");
    assert_int_equal(r->type, MEDNER__JSON_OBJECT);
    assert_int_equal(r->count, 3);
    assert_string_equal(r->keys[0], "a");
    assert_int_equal(r->key_lens[0], 1);
    assert_string_equal(r->keys[2], "");
    assert_int_equal(r->key_lens[2], 0);

    const medner__json *a = medner__json_get(r, "a");
    assert_ptr_equal(a, r->items[0]);
    assert_int_equal(a->type, MEDNER__JSON_ARRAY);
    assert_int_equal(a->count, 6);
    assert_int_equal(a->line, 2);
    assert_int_equal(a->column, 8);
    assert_int_equal(a->items[0]->integer, 1);
    assert_string_equal(a->items[1]->str, "two");
    assert_int_equal(a->items[1]->line, 2);
    assert_int_equal(a->items[1]->column, 12);
    assert_int_equal(a->items[2]->type, MEDNER__JSON_ARRAY);
    assert_int_equal(a->items[2]->count, 0);
    assert_int_equal(a->items[3]->type, MEDNER__JSON_OBJECT);
    assert_int_equal(a->items[3]->count, 0);
    assert_int_equal(a->items[4]->type, MEDNER__JSON_NULL);
    assert_true(a->items[5]->boolean);

    const medner__json *d = medner__json_get(medner__json_get(medner__json_get(r, "b"), "c"), "d");
    assert_non_null(d);
    assert_true(d->items[0]->items[0]->items[0]->number == -3.5);
    assert_int_equal(d->line, 3);

    assert_int_equal(medner__json_get(r, "")->integer, 0);
    assert_null(medner__json_get(r, "missing"));
    assert_null(medner__json_get(a, "a"));     /* not an object */
    assert_null(medner__json_get(NULL, "a"));
    assert_null(medner__json_get(r, NULL));
    medner__json_free(doc);

    /* whitespace everywhere it may appear */
    r = root_of(&doc, " [ 1 , { \"k\" : [ ] } ] ");
    assert_int_equal(r->count, 2);
    assert_int_equal(medner__json_get(r->items[1], "k")->type, MEDNER__JSON_ARRAY);
    medner__json_free(doc);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    medner__json_doc *doc;
    /* small object: linear scan, last wins */
    const medner__json *r = root_of(&doc, "{\"a\":1,\"b\":2,\"a\":3}");
    assert_int_equal(r->count, 3); /* iteration sees every member */
    assert_null(r->index_);
    assert_int_equal(medner__json_get(r, "a")->integer, 3);
    assert_int_equal(medner__json_get(r, "b")->integer, 2);
    medner__json_free(doc);

    /* big object: hash index, last wins too */
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_putc(&b, '{'), MEDNER_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(medner__buf_printf(&b, "\"k%d\":%d,", i % 20, i), MEDNER_OK);
    assert_int_equal(medner__buf_append_str(&b, "\"a\\u0000b\":-1,\"a\":-2}"), MEDNER_OK);
    r = root_of(&doc, b.data);
    assert_int_equal(r->count, 42);
    assert_non_null(r->index_);
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(medner__json_get(r, key)->integer, i + 20);
    }
    assert_int_equal(medner__json_get_n(r, "a\0b", 3)->integer, -1); /* key with a NUL */
    assert_int_equal(medner__json_get(r, "a")->integer, -2);
    assert_null(medner__json_get(r, "k20"));
    assert_null(medner__json_get_n(r, "a\0c", 3));
    medner__json_free(doc);
    medner__buf_free(&b);
}

static void test_big_object(void **state)
{
    (void)state;
    /* a tokenizer.json-like vocabulary of 30000 entries */
    enum { N = 30000 };
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_append_str(&b, "{\"model\":{\"vocab\":{"), MEDNER_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(medner__buf_printf(&b, "%s\"%s%d\": %d", i ? "," : "",
                                            i % 2 ? "##" : "w", i, i),
                         MEDNER_OK);
    assert_int_equal(medner__buf_append_str(&b, "}}}"), MEDNER_OK);
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc, b.data);
    const medner__json *vocab = medner__json_get(medner__json_get(r, "model"), "vocab");
    assert_non_null(vocab);
    assert_int_equal(vocab->count, N);
    for (size_t i = 0; i < vocab->count; i++) { /* iteration in document order */
        assert_int_equal(vocab->items[i]->integer, (int64_t)i);
        char key[32];
        snprintf(key, sizeof key, "%s%zu", i % 2 ? "##" : "w", i);
        assert_string_equal(vocab->keys[i], key);
        assert_ptr_equal(medner__json_get(vocab, key), vocab->items[i]);
    }
    assert_null(medner__json_get(vocab, "##0"));
    medner__json_free(doc);
    medner__buf_free(&b);
}

/* Lookups from several threads at once on an object whose index is not yet
 * built: one thread builds it, the others scan meanwhile; all must agree. */
typedef struct lookup_job {
    const medner__json *obj;
    int start, errors;
} lookup_job;

static void *lookup_thread(void *arg)
{
    lookup_job *job = arg;
    for (int k = 0; k < 2000; k++) {
        int i = (job->start + k * 7) % 1000;
        char key[32];
        snprintf(key, sizeof key, "key%d", i);
        const medner__json *v = medner__json_get(job->obj, key);
        if (v == NULL || v->integer != i)
            job->errors++;
        if (medner__json_get(job->obj, "absent") != NULL)
            job->errors++;
    }
    return NULL;
}

static void test_concurrent_lookups(void **state)
{
    (void)state;
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_putc(&b, '{'), MEDNER_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(medner__buf_printf(&b, "%s\"key%d\":%d", i ? "," : "", i, i), MEDNER_OK);
    assert_int_equal(medner__buf_putc(&b, '}'), MEDNER_OK);
    for (int round = 0; round < 20; round++) {
        medner__json_doc *doc;
        const medner__json *r = root_of(&doc, b.data);
        enum { T = 8 };
        pthread_t t[T];
        lookup_job jobs[T];
        for (int i = 0; i < T; i++) {
            jobs[i] = (lookup_job){ r, i * 131, 0 };
            assert_int_equal(pthread_create(&t[i], NULL, lookup_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < T; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(jobs[i].errors, 0);
        }
        medner__json_free(doc);
    }
    medner__buf_free(&b);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(medner__json_type_name(MEDNER__JSON_NULL), "null");
    assert_string_equal(medner__json_type_name(MEDNER__JSON_BOOL), "boolean");
    assert_string_equal(medner__json_type_name(MEDNER__JSON_NUMBER), "number");
    assert_string_equal(medner__json_type_name(MEDNER__JSON_STRING), "string");
    assert_string_equal(medner__json_type_name(MEDNER__JSON_ARRAY), "array");
    assert_string_equal(medner__json_type_name(MEDNER__JSON_OBJECT), "object");
    assert_string_equal(medner__json_type_name((medner__json_type)99), "unknown");
}

/* ---- rejections --------------------------------------------------------- */

static void test_error_messages(void **state)
{
    (void)state;
    expect_error("", "t.json:1:1: expected a value, found end of input");
    expect_error("  \n\t ", "t.json:2:3: expected a value, found end of input");
    expect_error("[1,\n 2,]", "t.json:2:4: expected a value, found ']'");
    expect_error("{\"a\": 1,\n\"b\": 2,\n}", "t.json:3:1: expected '\"' starting a key, found '}'");
    expect_error("{\"a\" 1}", "t.json:1:6: expected ':' after a key, found a digit");
    expect_error("{\"a\":1 \"b\":2}",
                 "t.json:1:8: expected ',' or '}' after an object member, found '\"'");
    expect_error("[1 2]", "t.json:1:4: expected ',' or ']' after an array element, found a digit");
    expect_error("{a:1}", "t.json:1:2: expected '\"' starting a key or '}', found a letter");
    expect_error("[1, 2", "t.json:1:6: expected ',' or ']' after an array element, found end of input");
    expect_error("\"abc", "t.json:1:5: expected '\"' closing the string, found end of input");
    expect_error("1 2", "t.json:1:3: expected end of input after the top-level value, found a digit");
    expect_error("{}x", "t.json:1:3: expected end of input after the top-level value, found a letter");
    expect_error("[]]", "t.json:1:3: expected end of input after the top-level value, found ']'");
    expect_error("tru", "t.json:1:4: expected 'true', found end of input");
    expect_error("[nul]", "t.json:1:5: expected 'null', found ']'");
    expect_error("True", "t.json:1:1: expected a value, found a letter");
    expect_error("\xef\xbb\xbf{}", "t.json:1:1: expected a value, found a UTF-8 byte order mark");
    expect_error("[\x01]", "t.json:1:2: expected a value, found control character 0x01");
    expect_error_n("[1]\0", 4, MEDNER_E_PARSE,
                   "t.json:1:4: expected end of input after the top-level value, found control "
                   "character 0x00");
    /* columns count bytes: the letter after a 2-byte character is at column 7 */
    expect_error("[\"\xc3\xa9\" x]",
                 "t.json:1:7: expected ',' or ']' after an array element, found a letter");
    /* a NULL source name */
    medner__json_doc *doc = NULL;
    assert_int_equal(medner__json_parse(&doc, "[", 1, NULL), MEDNER_E_PARSE);
    assert_string_equal(medner_last_error(), "<input>:1:2: expected a value, found end of input");
}

static void test_reject_syntax(void **state)
{
    (void)state;
    /* trailing commas */
    expect_error("[1,]", "t.json:1:4: expected a value, found ']'");
    expect_error("{\"a\":1,}", "t.json:1:8: expected '\"' starting a key, found '}'");
    expect_error("[,]", "t.json:1:2: expected a value, found ','");
    expect_error("[1,,2]", "t.json:1:4: expected a value, found ','");
    /* comments */
    expect_error("// c\n1", "t.json:1:1: expected a value, found '/'");
    expect_error("[1 /* c */]", "t.json:1:4: expected ',' or ']' after an array element, found '/'");
    expect_error("{\"a\":1} # c", "t.json:1:9: expected end of input after the top-level value, found '#'");
    /* single quotes */
    expect_error("['a']", "t.json:1:2: expected a value, found a single quote");
    expect_error("{'a':1}", "t.json:1:2: expected '\"' starting a key or '}', found a single quote");
    /* NaN and infinities */
    expect_error("NaN", "t.json:1:1: expected a value, found a letter");
    expect_error("[Infinity]", "t.json:1:2: expected a value, found a letter");
    expect_error("-Infinity", "t.json:1:2: expected a digit after '-', found a letter");
    expect_error("nan", "t.json:1:2: expected 'null', found a letter");
    /* other number forms */
    expect_error("01", "t.json:1:2: expected '.', 'e' or the end of the number after a leading 0, "
                       "found a digit (leading zeros are not allowed)");
    expect_error("-012", "t.json:1:3: expected '.', 'e' or the end of the number");
    expect_error("00", "t.json:1:2: expected '.', 'e' or the end of the number");
    expect_error("+1", "t.json:1:1: expected a value, found '+'");
    expect_error(".5", "t.json:1:1: expected a value, found '.'");
    expect_error("1.", "t.json:1:3: expected a digit after '.', found end of input");
    expect_error("1.e5", "t.json:1:3: expected a digit after '.', found a letter");
    expect_error("1e", "t.json:1:3: expected a digit in the exponent, found end of input");
    expect_error("1e+", "t.json:1:4: expected a digit in the exponent, found end of input");
    expect_error("[-]", "t.json:1:3: expected a digit after '-', found ']'");
    expect_error("0x1F", "t.json:1:2: expected end of input after the top-level value, found a letter");
    expect_error("1.5.3", "t.json:1:4: expected end of input after the top-level value, found '.'");
    expect_error("1e309", "t.json:1:1: expected a number within the range of a double, found one "
                          "that overflows");
    expect_error("[-1e99999]", "t.json:1:2: expected a number within the range of a double");
    /* unquoted or otherwise invalid values */
    expect_error("[undefined]", "t.json:1:2: expected a value, found a letter");
    expect_error("{\"a\":}", "t.json:1:6: expected a value, found '}'");
    expect_error("[1:2]", "t.json:1:3: expected ',' or ']' after an array element, found ':'");
    expect_error("\xc3\xa9", "t.json:1:1: expected a value, found a non-ASCII character");
    /* non-JSON whitespace */
    expect_error("[1,\v2]", "t.json:1:4: expected a value, found control character 0x0B");
    expect_error("\xc2\xa0" "1", "t.json:1:1: expected a value, found a non-ASCII character");
}

static void test_reject_strings(void **state)
{
    (void)state;
    /* unescaped control characters */
    expect_error("\"a\nb\"", "t.json:1:3: expected a string character or an escape, found "
                             "unescaped control character 0x0A");
    expect_error("[\"\t\"]", "t.json:1:3: expected a string character or an escape, found "
                             "unescaped control character 0x09");
    expect_error_n("\"a\0\"", 4, MEDNER_E_PARSE,
                   "t.json:1:3: expected a string character or an escape, found unescaped "
                   "control character 0x00");
    expect_error("\"\x1f\"", "t.json:1:2: expected a string character or an escape, found "
                             "unescaped control character 0x1F");
    /* invalid escapes */
    expect_error("\"\\x41\"", "t.json:1:3: expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or "
                              "\\uXXXX) after '\\', found a letter");
    expect_error("\"\\'\"", "t.json:1:3: expected an escape");
    expect_error("\"\\a\"", "t.json:1:3: expected an escape");
    expect_error("\"\\U0041\"", "t.json:1:3: expected an escape");
    expect_error("\"\\0\"", "t.json:1:3: expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or "
                            "\\uXXXX) after '\\', found a digit");
    expect_error("\"\\", "t.json:1:3: expected an escape");
    expect_error("\"\\u12\"", "t.json:1:6: expected 4 hex digits after '\\u', found a punctuation "
                              "character");
    expect_error("\"\\u12", "t.json:1:6: expected 4 hex digits after '\\u', found end of input");
    expect_error("\"\\uZZZZ\"", "t.json:1:4: expected 4 hex digits after '\\u', found a letter");
    expect_error("\"\\u-123\"", "t.json:1:4: expected 4 hex digits");
    /* surrogates */
    expect_error("\"\\ud83d\"", "t.json:1:8: expected a low surrogate escape (\\uDC00-\\uDFFF) after "
                                "a high one, found a punctuation character");
    expect_error("\"\\ud83d", "t.json:1:8: expected a low surrogate escape (\\uDC00-\\uDFFF) after a "
                              "high one, found end of input");
    expect_error("\"\\ud83dx\"", "t.json:1:8: expected a low surrogate escape");
    expect_error("\"\\ud83d\\n\"", "t.json:1:8: expected a low surrogate escape");
    expect_error("\"\\ud83d\\ud83d\"", "t.json:1:8: expected a low surrogate escape (\\uDC00-\\uDFFF) "
                                       "after a high one, found an escape that is not a low "
                                       "surrogate");
    expect_error("\"\\ud83d\\u0041\"", "t.json:1:8: expected a low surrogate escape");
    expect_error("\"\\ud83d\\uDG00\"", "t.json:1:11: expected 4 hex digits after '\\u'");
    expect_error("\"\\ude00\"", "t.json:1:2: expected a high surrogate escape (\\uD800-\\uDBFF) "
                                "before a low one, found a lone low surrogate escape");
    expect_error("\"\\ude00\\ud83d\"", "t.json:1:2: expected a high surrogate escape");
    /* invalid UTF-8 */
    expect_error("\"\x80\"", "t.json:1:2: expected valid UTF-8, found a UTF-8 continuation byte "
                             "without a lead byte");
    expect_error("\"\xc0\x80\"", "t.json:1:2: expected valid UTF-8, found an overlong UTF-8 encoding");
    expect_error("\"\xc1\xbf\"", "t.json:1:2: expected valid UTF-8, found an overlong UTF-8 encoding");
    expect_error("\"\xe0\x80\x80\"", "t.json:1:2: expected valid UTF-8, found an overlong UTF-8 encoding");
    expect_error("\"\xe0\x9f\xbf\"", "t.json:1:2: expected valid UTF-8, found an overlong UTF-8 encoding");
    expect_error("\"\xf0\x80\x80\x80\"", "t.json:1:2: expected valid UTF-8, found an overlong UTF-8 encoding");
    expect_error("\"\xf0\x8f\xbf\xbf\"", "t.json:1:2: expected valid UTF-8, found an overlong UTF-8 encoding");
    expect_error("\"\xed\xa0\x80\"", "t.json:1:2: expected valid UTF-8, found a UTF-16 surrogate "
                                     "encoded in UTF-8");
    expect_error("\"\xed\xbf\xbf\"", "t.json:1:2: expected valid UTF-8, found a UTF-16 surrogate");
    expect_error("\"\xf4\x90\x80\x80\"", "t.json:1:2: expected valid UTF-8, found a UTF-8 sequence "
                                         "above U+10FFFF");
    expect_error("\"\xf5\x80\x80\x80\"", "t.json:1:2: expected valid UTF-8, found a UTF-8 sequence "
                                         "above U+10FFFF");
    expect_error("\"\xf8\x88\x80\x80\x80\"", "t.json:1:2: expected valid UTF-8, found a byte that "
                                             "never occurs in UTF-8");
    expect_error("\"\xff\"", "t.json:1:2: expected valid UTF-8, found a byte that never occurs");
    expect_error("\"ab\xe2\x82\"", "t.json:1:4: expected valid UTF-8, found an incomplete UTF-8 "
                                   "sequence");
    expect_error("\"\xe2\x82", "t.json:1:2: expected valid UTF-8, found an incomplete UTF-8 sequence");
    expect_error("\"\xf0\x9f\x98", "t.json:1:2: expected valid UTF-8, found an incomplete");
    expect_error("\"\xc3\"", "t.json:1:2: expected valid UTF-8, found an incomplete");
    expect_error("\"\xc3" "A\"", "t.json:1:2: expected valid UTF-8, found an incomplete");
    /* invalid UTF-8 in a key, on line 2 */
    expect_error("{\n \"k\xc0\xaf\": 1}", "t.json:2:4: expected valid UTF-8, found an overlong");
}

static void test_messages_never_quote_input(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "{\"name\": \"SECRET\" SECRET}", "[\"SECRET\\qSECRET\"]", "{\"SECRET\": SECRET}",
        "\"SECRET\\ud800SECRET\"", "[\"SECRET\x01SECRET\"]", "SECRET", "[1, SECRET]",
        "\"SECRET\\uSECR\"", "{\"SECRET\" SECRET}", "\"SECRET",
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(inputs); i++) {
        medner__json_doc *doc = NULL;
        assert_int_equal(parse(&doc, inputs[i]), MEDNER_E_PARSE);
        const char *m = medner_last_error();
        if (strstr(m, "SEC") != NULL || strstr(m, "ECR") != NULL || strstr(m, "RET") != NULL ||
            strchr(m, 'S') != NULL)
            fail_msg("message quotes input: %s", m);
    }
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    medner__json_doc *doc = NULL;
    assert_int_equal(medner__json_parse(NULL, "1", 1, "x"), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__json_parse(&doc, NULL, 1, "x"), MEDNER_E_INVALID_ARGUMENT);
    assert_null(doc);
    /* NULL with length 0 is the empty input */
    assert_int_equal(medner__json_parse(&doc, NULL, 0, "x"), MEDNER_E_PARSE);
    assert_string_equal(medner_last_error(), "x:1:1: expected a value, found end of input");
    assert_int_equal(medner__json_parse_file(NULL, "x"), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__json_parse_file(&doc, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_null(doc);
}

static void test_depth_limit(void **state)
{
    (void)state;
    enum { D = MEDNER__JSON_MAX_DEPTH };
    char text[2 * (D + 1) + 1];
    /* exactly the limit: fine */
    memset(text, '[', D);
    memset(text + D, ']', D);
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc, (text[2 * D] = '\0', text));
    for (int i = 1; i < D; i++)
        r = r->items[0];
    assert_int_equal(r->type, MEDNER__JSON_ARRAY);
    assert_int_equal(r->count, 0);
    medner__json_free(doc);
    /* one more: MEDNER_E_LIMIT at the innermost bracket */
    memset(text, '[', D + 1);
    memset(text + D + 1, ']', D + 1);
    text[2 * (D + 1)] = '\0';
    expect_error_n(text, strlen(text), MEDNER_E_LIMIT,
                   "t.json:1:513: expected at most 512 nested arrays and objects, found more");
    /* objects count too, and an unclosed deep document fails the same way */
    medner__buf b = MEDNER__BUF_INIT;
    for (int i = 0; i < D; i++)
        assert_int_equal(medner__buf_append_str(&b, i % 2 ? "[" : "{\"k\":"), MEDNER_OK);
    assert_int_equal(medner__buf_append_str(&b, "{}"), MEDNER_OK);
    char *mixed = strdup(b.data);
    assert_non_null(mixed);
    medner__buf_free(&b); /* expect_error_n checks that nothing is allocated */
    expect_error_n(mixed, strlen(mixed), MEDNER_E_LIMIT, "t.json:1:");
    free(mixed);
    /* a very deep input is refused without deep recursion */
    size_t n = 1000000;
    char *deep = malloc(n);
    assert_non_null(deep);
    memset(deep, '[', n);
    expect_error_n(deep, n, MEDNER_E_LIMIT, "t.json:1:513: expected at most 512");
    free(deep);
}

/* ---- allocation failures ------------------------------------------------ */

typedef struct failing {
    long count, fail_at;
} failing;

static void *fail_alloc(void *u, size_t n)
{
    failing *f = u;
    if (++f->count == f->fail_at)
        return NULL;
    return malloc(n);
}
static void *fail_realloc(void *u, void *p, size_t n)
{
    failing *f = u;
    if (++f->count == f->fail_at)
        return NULL;
    return realloc(p, n);
}
static void fail_free(void *u, void *p)
{
    (void)u;
    free(p);
}

static void set_failing_allocator(failing *f, long fail_at)
{
    f->count = 0;
    f->fail_at = fail_at;
    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    a.alloc_fn = fail_alloc;
    a.realloc_fn = fail_realloc;
    a.free_fn = fail_free;
    a.user_data = f;
    assert_int_equal(medner_allocator_set(&a), MEDNER_OK);
}

static void test_every_allocation_failing(void **state)
{
    (void)state;
    /* Enough to need several arena blocks, a scratch stack that grows, a hash
     * index and a heap copy of a long number lexeme. */
    medner__buf text = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_append_str(&text, "{\"n\": 1.00000000000000000000000000000000"
                                                   "000000000000000000000000000000000000001,"
                                                   "\"s\": \"\\ud83d\\ude00\\u0000\","
                                                   "\"big\": {"),
                     MEDNER_OK);
    for (int i = 0; i < 300; i++)
        assert_int_equal(medner__buf_printf(&text, "%s\"key number %d\": [%d, \"v\"]", i ? "," : "",
                                            i, i),
                         MEDNER_OK);
    assert_int_equal(medner__buf_append_str(&text, "}}"), MEDNER_OK);
    char *copy = malloc(text.len);
    assert_non_null(copy);
    memcpy(copy, text.data, text.len);
    size_t len = text.len;
    medner__buf_free(&text);

    failing f;
    long n;
    for (n = 1;; n++) {
        set_failing_allocator(&f, n);
        medner__json_doc *doc = NULL;
        int rc = medner__json_parse(&doc, copy, len, "t.json");
        if (rc == MEDNER_OK) {
            const medner__json *r = medner__json_root(doc);
            assert_int_equal(medner__json_get(r, "big")->count, 300);
            assert_int_equal(medner__json_get(medner__json_get(r, "big"), "key number 7")
                                 ->items[0]->integer,
                             7);
            medner__json_free(doc);
            assert_int_equal(medner__live_allocations(), 0);
            assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
            break;
        }
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_null(doc);
        assert_non_null(strstr(medner_last_error(), "out of memory"));
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
    }
    assert_true(n > 5); /* the document did take several allocations */
    free(copy);

    /* parse_file: the read buffer too */
    char path[] = "/tmp/medner-json-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"a\": [1, 2, 3]}", 16), 16);
    close(fd);
    for (n = 1;; n++) {
        set_failing_allocator(&f, n);
        medner__json_doc *doc = NULL;
        int rc = medner__json_parse_file(&doc, path);
        medner__json_free(doc);
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
        if (rc == MEDNER_OK)
            break;
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
    }
    unlink(path);

    /* writer: a failed append leaves the buffer as it was */
    for (n = 1;; n++) {
        set_failing_allocator(&f, n);
        medner__buf b = MEDNER__BUF_INIT;
        int rc = MEDNER_OK;
        for (int i = 0; i < 50 && rc == MEDNER_OK; i++) {
            size_t before = b.len;
            rc = medner__buf_json_string(&b, "some text\n\"quoted\"\x01 more text", 29);
            if (rc == MEDNER_OK)
                rc = medner__buf_json_double(&b, 0.1 * i);
            if (rc == MEDNER_OK)
                rc = medner__buf_printf(&b, "%0300d", i);
            if (rc != MEDNER_OK) {
                assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
                assert_true(b.len >= before); /* whole earlier appends kept */
                if (b.data != NULL)
                    assert_int_equal(b.data[b.len], '\0');
            }
        }
        medner__buf_free(&b);
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
        if (rc == MEDNER_OK)
            break;
    }
}

/* ---- files -------------------------------------------------------------- */

static void test_parse_file(void **state)
{
    (void)state;
    char path[] = "/tmp/medner-json-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char body[] = "{\"vocab\": {\"[PAD]\": 0, \"[UNK]\": 100}}\n";
    assert_int_equal(write(fd, body, sizeof body - 1), (ssize_t)(sizeof body - 1));
    close(fd);
    medner__json_doc *doc = NULL;
    assert_int_equal(medner__json_parse_file(&doc, path), MEDNER_OK);
    const medner__json *v = medner__json_get(medner__json_root(doc), "vocab");
    assert_int_equal(medner__json_get(v, "[UNK]")->integer, 100);
    medner__json_free(doc);

    /* errors name the file */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\n  \"a\": 01\n}", 13), 13);
    close(fd);
    doc = NULL;
    assert_int_equal(medner__json_parse_file(&doc, path), MEDNER_E_PARSE);
    assert_null(doc);
    char want[128];
    snprintf(want, sizeof want, "%s:2:9: expected '.', 'e'", path);
    assert_memory_equal(medner_last_error(), want, strlen(want));
    unlink(path);

    assert_int_equal(medner__json_parse_file(&doc, "/nonexistent/dir/config.json"), MEDNER_E_IO);
    assert_string_equal(medner_last_error(),
                        "/nonexistent/dir/config.json: cannot open: No such file or directory");
    assert_int_equal(medner__json_parse_file(&doc, "/tmp"), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "/tmp"));
    assert_null(doc);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- arbitrary bytes ---------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_arbitrary_bytes(void **state)
{
    (void)state;
    const char seed[] = "{\"a\": [1, -2.5e+3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\xc3\xa9\"],"
                        " \"b\": {\"c\": {}}, \"d\": []}";
    size_t n = sizeof seed - 1;
    /* every prefix: parses or fails cleanly */
    for (size_t k = 0; k <= n; k++) {
        medner__json_doc *doc = NULL;
        int rc = parse_n(&doc, seed, k);
        assert_true(rc == MEDNER_OK || rc == MEDNER_E_PARSE);
        assert_true((rc == MEDNER_OK) == (k == n));
        medner__json_free(doc);
    }
    /* random mutations: no crash, no leak, no out-of-bounds read (ASan) */
    static const char alphabet[] = "{}[]:,\"\\/ubfnrt0123456789+-.eE \n\t\x01\x7f\x80\xbf\xc2\xe0"
                                   "\xed\xf0\xf4\xff" "tfnald";
    char buf[sizeof seed];
    int ok = 0;
    for (int iter = 0; iter < 50000; iter++) {
        memcpy(buf, seed, n);
        size_t len = n;
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits; e++) {
            size_t pos = (size_t)(rng() % len);
            switch (rng() % 3) {
            case 0: buf[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
            case 1: buf[pos] = (char)(rng() & 0xff); break;
            default: len = pos + 1; break; /* truncate */
            }
        }
        medner__json_doc *doc = NULL;
        int rc = parse_n(&doc, buf, len);
        assert_true(rc == MEDNER_OK || rc == MEDNER_E_PARSE);
        if (rc == MEDNER_OK) {
            ok++;
            assert_non_null(medner__json_root(doc));
        } else {
            assert_non_null(strstr(medner_last_error(), "t.json:"));
        }
        medner__json_free(doc);
    }
    assert_true(ok > 0);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- writer ------------------------------------------------------------- */

static void test_buf_basics(void **state)
{
    (void)state;
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_append(&b, "ab", 2), MEDNER_OK);
    assert_int_equal(medner__buf_putc(&b, 'c'), MEDNER_OK);
    assert_int_equal(medner__buf_append_str(&b, "de"), MEDNER_OK);
    assert_int_equal(medner__buf_append(&b, NULL, 0), MEDNER_OK);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "abcde");
    assert_int_equal(medner__buf_printf(&b, "-%d-%s", 42, "x"), MEDNER_OK);
    assert_string_equal(b.data, "abcde-42-x");
    /* longer than printf's stack buffer */
    assert_int_equal(medner__buf_printf(&b, "%1000d|", 7), MEDNER_OK);
    assert_int_equal(b.len, 10 + 1001);
    assert_int_equal(b.data[b.len - 2], '7');
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.cap > b.len);
    size_t cap = b.cap;
    medner__buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    medner__buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    medner__buf_reset(&b); /* on an empty buffer: fine */
    medner__buf_free(&b);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_writer_string_escaping(void **state)
{
    (void)state;
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_json_string(&b, "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f", 14), MEDNER_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"");
    medner__buf_reset(&b);
    assert_int_equal(medner__buf_json_string(&b, "x\0y", 3), MEDNER_OK);
    assert_string_equal(b.data, "\"x\\u0000y\"");
    medner__buf_reset(&b);
    assert_int_equal(medner__buf_json_string(&b, "", 0), MEDNER_OK);
    assert_string_equal(b.data, "\"\"");
    medner__buf_reset(&b);
    const char *utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_int_equal(medner__buf_json_string(&b, utf8, strlen(utf8)), MEDNER_OK);
    assert_int_equal(b.len, strlen(utf8) + 2); /* UTF-8 left as is */
    medner__buf_reset(&b);

    /* round trip: every byte below 0x80 and some UTF-8, through the reader */
    char all[128 + 16];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i;
    memcpy(all + 128, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xed\x9f\xbf", 16);
    assert_int_equal(medner__buf_putc(&b, '['), MEDNER_OK);
    assert_int_equal(medner__buf_json_string(&b, all, sizeof all), MEDNER_OK);
    assert_int_equal(medner__buf_putc(&b, ','), MEDNER_OK);
    assert_int_equal(medner__buf_json_string(&b, all + 1, 30), MEDNER_OK);
    assert_int_equal(medner__buf_putc(&b, ']'), MEDNER_OK);
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc, b.data);
    assert_int_equal(r->items[0]->len, sizeof all);
    assert_memory_equal(r->items[0]->str, all, sizeof all);
    assert_int_equal(r->items[1]->len, 30);
    assert_memory_equal(r->items[1]->str, all + 1, 30);
    medner__json_free(doc);
    medner__buf_free(&b);
}

static void expect_double(double v, const char *want)
{
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_json_double(&b, v), MEDNER_OK);
    if (strcmp(b.data, want) != 0)
        fail_msg("%.17g: got %s, want %s", v, b.data, want);
    medner__buf_free(&b);
}

static void test_writer_doubles(void **state)
{
    (void)state;
    expect_double(0.0, "0");
    expect_double(-0.0, "-0");
    expect_double(1.0, "1");
    expect_double(-2.5, "-2.5");
    expect_double(0.1, "0.1");
    expect_double(0.1 + 0.2, "0.30000000000000004");
    expect_double(1.0 / 3.0, "0.3333333333333333");
    expect_double(100.0, "100");
    expect_double(123456789.0, "123456789");
    expect_double(1500.0, "1500");
    expect_double(-2e5, "-200000");
    expect_double(1e15, "1000000000000000");
    expect_double(1.5e15, "1500000000000000");
    expect_double(1e16, "1e+16");
    expect_double(1.25e17, "1.25e+17");
    expect_double(1e21, "1e+21");
    expect_double(0.0001, "0.0001");
    expect_double(0.00001, "1e-05");
    expect_double(1e300, "1e+300");
    expect_double(5e-324, "5e-324");
    expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_double((double)0.1f, "0.10000000149011612");
    expect_double(NAN, "null");
    expect_double(INFINITY, "null");
    expect_double(-INFINITY, "null");

    /* random doubles round-trip exactly through the reader */
    medner__buf b = MEDNER__BUF_INIT;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = rng();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        if (i % 2)
            v = (double)(bits % 1000000) / 1000.0; /* "ordinary" values too */
        medner__buf_reset(&b);
        assert_int_equal(medner__buf_json_double(&b, v), MEDNER_OK);
        medner__json_doc *doc;
        const medner__json *r = root_of(&doc, b.data);
        if (!(r->number == v && signbit(r->number) == signbit(v)))
            fail_msg("%.17g written as %s read back as %.17g", v, b.data, r->number);
        medner__json_free(doc);
    }
    medner__buf_free(&b);
}

static void test_locale_independence(void **state)
{
    (void)state;
    char locdir[32];
    use_decimal_comma_locale(locdir);
    /* the reader still reads '.', and the writer still writes it */
    medner__json_doc *doc;
    const medner__json *r = root_of(&doc, "[1.5, -2.5e-1, 0.1, 12345678901234567890.5]");
    assert_true(r->items[0]->number == 1.5);
    assert_true(r->items[1]->number == -0.25);
    assert_true(r->items[2]->number == 0.1);
    assert_true(r->items[3]->number == 12345678901234567890.5);
    medner__json_free(doc);
    medner__buf b = MEDNER__BUF_INIT;
    assert_int_equal(medner__buf_json_double(&b, 0.5), MEDNER_OK);
    assert_int_equal(medner__buf_json_double(&b, -1e-7), MEDNER_OK);
    assert_string_equal(b.data, "0.5-1e-07");
    medner__buf_free(&b);
    /* and the thread's locale is restored afterwards */
    assert_string_equal(localeconv()->decimal_point, ",");
    restore_c_locale(locdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings_and_escapes),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_big_object),
        cmocka_unit_test(test_concurrent_lookups),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_reject_syntax),
        cmocka_unit_test(test_reject_strings),
        cmocka_unit_test(test_messages_never_quote_input),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_every_allocation_failing),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_arbitrary_bytes),
        cmocka_unit_test(test_buf_basics),
        cmocka_unit_test(test_writer_string_escaping),
        cmocka_unit_test(test_writer_doubles),
        cmocka_unit_test(test_locale_independence),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
