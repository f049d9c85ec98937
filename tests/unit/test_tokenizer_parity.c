/*
 * Tokenizer tests. Parity goldens come from Hugging Face (tokenizers /
 * transformers BertTokenizerFast) through tests/reference/make_tokenizer_goldens.py;
 * nothing here is hand-written expected output except the error-path checks.
 *   - every document of tests/data/corpus (all PubMed abstracts of
 *     ../shared/data/raw, all MACCROBAT case reports) for the uncased and the
 *     cased vocabulary: ids and byte offsets of every token (FNV-1a digest per
 *     document), whole text and 128-token windows with 32 overlap;
 *   - the adversarial set: every field of every token compared one by one,
 *     with the differences documented in docs/tokenizer.md listed in
 *     tests/data/tokenizer/known-differences.txt (a new or vanished
 *     difference fails).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "corpus.h"
#include "json/json.h"
#include "tokenizer/tokenizer.h"

#define DATA "tests/data/"
static const char *vocab_path[2] = { DATA "vocab/bert-base-uncased.vocab.txt",
                                     DATA "vocab/bert-base-cased.vocab.txt" };
static const char *vocab_name[2] = { "uncased", "cased" };

static medner_tokenizer *load(int cased)
{
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    p.lowercase = cased ? MEDNER_OFF : MEDNER_ON;
    medner_tokenizer *t = NULL;
    int rc = medner_tokenizer_load_vocab(&t, vocab_path[cased], &p);
    if (rc != MEDNER_OK)
        fail_msg("load %s: %s", vocab_path[cased], medner_last_error());
    return t;
}

/* ---- corpus parity ------------------------------------------------------ */

static uint64_t fnv_str(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t digest_window(uint64_t h, const medner_window *w)
{
    char buf[96];
    for (size_t k = 0; k < w->length; k++) {
        snprintf(buf, sizeof buf, "%d:%zu:%zu,", w->ids[k], w->offsets[2 * k],
                 w->offsets[2 * k + 1]);
        h = fnv_str(h, buf);
    }
    return h;
}

static void check_corpus(const char *corpus, int cased)
{
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof path, DATA "corpus/%s", strcmp(corpus, "pubmed") == 0
                                                      ? "pubmed_abstracts.txt.xz"
                                                      : "maccrobat.txt.xz");
    char *data = corpus_read_xz(path, &len);
    assert_non_null(data);
    corpus_doc *docs = NULL;
    size_t n = strcmp(corpus, "pubmed") == 0 ? corpus_split_lines(data, len, &docs)
                                             : corpus_split_docs(data, len, &docs);
    assert_true(n != SIZE_MAX);
    snprintf(path, sizeof path, DATA "tokenizer/golden-%s-%s.tsv", vocab_name[cased], corpus);
    FILE *g = fopen(path, "r");
    assert_non_null(g);
    medner_tokenizer *t = load(cased);
    medner_encode_params wp = MEDNER_ENCODE_PARAMS_INIT;
    wp.max_length = 128;
    wp.overlap = 32;
    char line[256];
    size_t checked = 0, bad = 0, tokens = 0;
    while (fgets(line, sizeof line, g)) {
        if (line[0] == '#')
            continue;
        size_t idx, n_tok, n_win;
        char dig[32], wdig[32];
        assert_int_equal(sscanf(line, "%zu\t%zu\t%31s\t%zu\t%31s", &idx, &n_tok, dig, &n_win, wdig),
                         5);
        assert_true(idx < n);
        medner_encoding *e;
        assert_int_equal(medner_tokenizer_encode(&e, t, docs[idx].text, docs[idx].len, NULL),
                         MEDNER_OK);
        medner_window w = MEDNER_WINDOW_INIT;
        assert_int_equal(medner_encoding_window(e, 0, &w), MEDNER_OK);
        char mine[32];
        snprintf(mine, sizeof mine, "%016llx",
                 (unsigned long long)digest_window(0xcbf29ce484222325ULL, &w));
        int ok = w.length == n_tok && strcmp(mine, dig) == 0;
        tokens += w.length;
        medner_encoding_free(e);
        assert_int_equal(medner_tokenizer_encode(&e, t, docs[idx].text, docs[idx].len, &wp),
                         MEDNER_OK);
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t k = 0; k < medner_encoding_num_windows(e); k++) {
            assert_int_equal(medner_encoding_window(e, k, &w), MEDNER_OK);
            h = fnv_str(digest_window(h, &w), "|");
        }
        snprintf(mine, sizeof mine, "%016llx", (unsigned long long)h);
        ok = ok && medner_encoding_num_windows(e) == n_win && strcmp(mine, wdig) == 0;
        medner_encoding_free(e);
        if (!ok && bad++ < 5)
            print_error("%s/%s: document %zu differs from Hugging Face\n", corpus,
                        vocab_name[cased], idx);
        checked++;
    }
    fclose(g);
    print_message("%s/%s: %zu documents, %zu tokens, %zu differ\n", corpus, vocab_name[cased],
                  checked, tokens, bad);
    assert_true(checked == n);
    assert_int_equal(bad, 0);
    medner_tokenizer_free(t);
    free(docs);
    free(data);
}

static void test_pubmed_uncased(void **s) { (void)s; check_corpus("pubmed", 0); }
static void test_pubmed_cased(void **s) { (void)s; check_corpus("pubmed", 1); }
static void test_maccrobat_uncased(void **s) { (void)s; check_corpus("maccrobat", 0); }
static void test_maccrobat_cased(void **s) { (void)s; check_corpus("maccrobat", 1); }

/* ---- adversarial parity ------------------------------------------------- */

static medner__json_doc *parse_line(const char *line, size_t len)
{
    medner__json_doc *d = NULL;
    if (medner__json_parse(&d, line, len, "golden") != MEDNER_OK)
        fail_msg("golden line: %s", medner_last_error());
    return d;
}

/* Compare one window against a golden object holding arrays named like ours. */
static int same_ints(const medner__json *arr, const int32_t *v, size_t n)
{
    if (arr == NULL || arr->type != MEDNER__JSON_ARRAY || arr->count != n)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (arr->items[k]->integer != v[k])
            return 0;
    return 1;
}

static int same_bytes(const medner__json *arr, const uint8_t *v, size_t n)
{
    if (arr == NULL || arr->type != MEDNER__JSON_ARRAY || arr->count != n)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (arr->items[k]->integer != v[k])
            return 0;
    return 1;
}

static int same_offsets(const medner__json *arr, const size_t *v, size_t n)
{
    if (arr == NULL || arr->type != MEDNER__JSON_ARRAY || arr->count != n)
        return 0;
    for (size_t k = 0; k < n; k++) {
        const medner__json *p = arr->items[k];
        if (p->count != 2 || (size_t)p->items[0]->integer != v[2 * k] ||
            (size_t)p->items[1]->integer != v[2 * k + 1])
            return 0;
    }
    return 1;
}

static int known_difference(const char *vocab, const char *name)
{
    FILE *f = fopen(DATA "tokenizer/known-differences.txt", "r");
    if (f == NULL)
        return 0;
    char line[512], want[300];
    snprintf(want, sizeof want, "%s\t%s", vocab, name);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = line[0] != '#' && strncmp(line, want, strlen(want)) == 0 &&
                (line[strlen(want)] == '\t' || line[strlen(want)] == '\n');
    fclose(f);
    return found;
}

static size_t count_known(const char *vocab)
{
    FILE *f = fopen(DATA "tokenizer/known-differences.txt", "r");
    if (f == NULL)
        return 0;
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        n += line[0] != '#' && strncmp(line, vocab, strlen(vocab)) == 0 &&
             line[strlen(vocab)] == '\t';
    fclose(f);
    return n;
}

static void check_adversarial(int cased, medner_tokenizer *t)
{
    char path[256];
    snprintf(path, sizeof path, DATA "tokenizer/golden-%s-adversarial.jsonl", vocab_name[cased]);
    FILE *gf = fopen(path, "r");
    FILE *inf = fopen(DATA "tokenizer/adversarial.jsonl", "r");
    assert_non_null(gf);
    assert_non_null(inf);
    medner_encode_params wp = MEDNER_ENCODE_PARAMS_INIT;
    wp.max_length = 16;
    wp.overlap = 4;
    char *gl = NULL, *il = NULL;
    size_t gcap = 0, icap = 0, cases = 0, differ = 0, unexpected = 0;
    ssize_t gn, in;
    while ((gn = getline(&gl, &gcap, gf)) > 0 && (in = getline(&il, &icap, inf)) > 0) {
        medner__json_doc *gd = parse_line(gl, (size_t)gn), *id = parse_line(il, (size_t)in);
        const medner__json *g = medner__json_root(gd), *input = medner__json_root(id);
        const medner__json *name = medner__json_get(g, "name");
        assert_string_equal(name->str, medner__json_get(input, "name")->str);
        const medner__json *text = medner__json_get(input, "text");
        medner_encoding *e;
        assert_int_equal(medner_tokenizer_encode(&e, t, text->str, text->len, NULL), MEDNER_OK);
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(e, 0, &w);
        int ok = same_ints(medner__json_get(g, "ids"), w.ids, w.length) &&
                 same_offsets(medner__json_get(g, "offsets"), w.offsets, w.length) &&
                 same_ints(medner__json_get(g, "type_ids"), w.type_ids, w.length) &&
                 same_bytes(medner__json_get(g, "special_mask"), w.special_mask, w.length) &&
                 same_ints(medner__json_get(g, "word_ids"), w.word_ids, w.length);
        medner_encoding_free(e);
        assert_int_equal(medner_tokenizer_encode(&e, t, text->str, text->len, &wp), MEDNER_OK);
        const medner__json *wins = medner__json_get(g, "windows");
        ok = ok && wins->count == medner_encoding_num_windows(e);
        for (size_t k = 0; ok && k < wins->count; k++) {
            medner_encoding_window(e, k, &w);
            ok = same_ints(medner__json_get(wins->items[k], "ids"), w.ids, w.length) &&
                 same_offsets(medner__json_get(wins->items[k], "offsets"), w.offsets, w.length);
        }
        medner_encoding_free(e);
        int known = known_difference(vocab_name[cased], name->str);
        if (!ok) {
            differ++;
            if (!known) {
                unexpected++;
                print_error("%s: adversarial case '%s' differs from Hugging Face and is not in "
                            "known-differences.txt\n", vocab_name[cased], name->str);
            }
        } else if (known) {
            unexpected++;
            print_error("%s: '%s' is listed as a known difference but now matches: remove it\n",
                        vocab_name[cased], name->str);
        }
        cases++;
        medner__json_free(gd);
        medner__json_free(id);
    }
    print_message("adversarial/%s: %zu cases, %zu documented differences\n", vocab_name[cased],
                  cases, differ);
    assert_true(cases > 100);
    assert_int_equal(unexpected, 0);
    assert_int_equal(differ, count_known(vocab_name[cased]));
    free(gl);
    free(il);
    fclose(gf);
    fclose(inf);
}

static void test_adversarial_uncased(void **s)
{
    (void)s;
    medner_tokenizer *t = load(0);
    check_adversarial(0, t);
    medner_tokenizer_free(t);
}

static void test_adversarial_cased(void **s)
{
    (void)s;
    medner_tokenizer *t = load(1);
    check_adversarial(1, t);
    medner_tokenizer_free(t);
}

/* The same parity through a model directory holding only the tokenizer.json
 * that Hugging Face itself saved (tests/reference/make_tokenizer_json.py):
 * options, vocabulary and special tokens all come from that file. */
static void check_tokenizer_json(int cased)
{
    char dir[] = "/tmp/medner-tokjson-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xz -dc " DATA "tokenizer/hf-%s.tokenizer.json.xz > %s/tokenizer.json",
             vocab_name[cased], dir);
    assert_int_equal(system(cmd), 0);
    medner_tokenizer *t = NULL;
    assert_int_equal(medner_tokenizer_load(&t, dir, NULL), MEDNER_OK);
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    assert_int_equal(medner_tokenizer_get_params(t, &p), MEDNER_OK);
    assert_int_equal(p.lowercase, cased ? MEDNER_OFF : MEDNER_ON);
    check_adversarial(cased, t);
    medner_tokenizer_free(t);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_tokenizer_json_uncased(void **s) { (void)s; check_tokenizer_json(0); }
static void test_tokenizer_json_cased(void **s) { (void)s; check_tokenizer_json(1); }

/* Every code point normalised on its own, against Hugging Face's
 * BertNormalizer (tests/data/tokenizer/golden-normalizer.tsv). */
static int normalized_matches(const medner_tokenizer *t, uint32_t c, const char *want)
{
    uint32_t out[10];
    size_t n = medner__normalize_char(t, c, out);
    int deleted = n == 0;
    if (!deleted && t->chinese_chars && medner__is_cjk(c)) {
        if (n == 1 && out[0] == c)
            return strcmp(want, "pad") == 0;
        /* padded, then changed by NFD (compatibility ideographs): " x " */
        for (size_t k = n; k > 0; k--)
            out[k] = out[k - 1];
        out[0] = out[n + 1] = ' ';
        n += 2;
    }
    if (strcmp(want, "=") == 0)
        return n == 1 && out[0] == c;
    if (strcmp(want, "-") == 0)
        return deleted;
    if (strcmp(want, "sp") == 0)
        return n == 1 && out[0] == ' ';
    if (strcmp(want, "pad") == 0)
        return 0;
    if (strcmp(want, "hangul") == 0) { /* L V [T] conjoining jamo */
        if (n < 2 || n > 3)
            return 0;
        for (size_t k = 0; k < n; k++)
            if (out[k] < 0x1100 || out[k] > 0x11FF)
                return 0;
        return 1;
    }
    /* explicit list of hex code points */
    size_t k = 0;
    const char *p = want;
    while (*p) {
        char *end;
        unsigned long v = strtoul(p, &end, 16);
        if (end == p || k >= n || out[k] != v)
            return 0;
        k++;
        p = end;
        while (*p == ' ')
            p++;
    }
    return k == n;
}

typedef struct norm_range {
    uint32_t first, last;
    char rule[2][48]; /* cased, uncased */
} norm_range;

static void test_normalizer_every_code_point(void **state)
{
    (void)state;
    medner_tokenizer *t[2] = { load(1), load(0) }; /* the file's columns: cased, uncased */
    FILE *f = fopen(DATA "tokenizer/golden-normalizer.tsv", "r");
    assert_non_null(f);
    size_t n = 0, cap = 4096;
    norm_range *r = malloc(cap * sizeof *r);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\n")] = 0;
        char *first = strtok(line, "\t"), *last = strtok(NULL, "\t");
        char *cased = strtok(NULL, "\t"), *uncased_rule = strtok(NULL, "\t");
        assert_non_null(uncased_rule);
        if (n == cap)
            r = realloc(r, (cap *= 2) * sizeof *r);
        r[n].first = (uint32_t)strtoul(first, NULL, 16);
        r[n].last = (uint32_t)strtoul(last, NULL, 16);
        snprintf(r[n].rule[0], sizeof r[n].rule[0], "%s", cased);
        snprintf(r[n].rule[1], sizeof r[n].rule[1], "%s", uncased_rule);
        assert_true(n == 0 || r[n].first > r[n - 1].last); /* sorted, disjoint */
        n++;
    }
    fclose(f);
    size_t checked = 0, bad = 0, k = 0;
    for (uint32_t c = 0; c < 0x110000; c++) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        while (k < n && r[k].last < c)
            k++;
        int listed = k < n && r[k].first <= c;
        for (int v = 0; v < 2; v++) {
            const char *want = listed ? r[k].rule[v] : "=";
            if (!normalized_matches(t[v], c, want) && bad++ < 10)
                print_error("U+%04X (%s): Hugging Face gives '%s'\n", c,
                            v ? "uncased" : "cased", want);
        }
        checked++;
    }
    print_message("normalizer: %zu code points x 2 variants, %zu differ\n", checked, bad);
    assert_int_equal(checked, 0x110000 - 0x800);
    assert_int_equal(bad, 0);
    free(r);
    medner_tokenizer_free(t[0]);
    medner_tokenizer_free(t[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pubmed_uncased),
        cmocka_unit_test(test_pubmed_cased),
        cmocka_unit_test(test_maccrobat_uncased),
        cmocka_unit_test(test_maccrobat_cased),
        cmocka_unit_test(test_adversarial_uncased),
        cmocka_unit_test(test_adversarial_cased),
        cmocka_unit_test(test_tokenizer_json_uncased),
        cmocka_unit_test(test_tokenizer_json_cased),
        cmocka_unit_test(test_normalizer_every_code_point),
    };
    return cmocka_run_group_tests_name("tokenizer-parity", tests, NULL, NULL);
}
