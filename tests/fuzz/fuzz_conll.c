/*
 * libFuzzer target: the CoNLL reader on arbitrary bytes, through a file (as
 * `medner eval` reads it) and from memory; both must agree. A read either
 * succeeds or fails with MEDNER_E_PARSE. A parsed file must satisfy every
 * documented invariant, and is then evaluated against itself (every entity
 * correct, every per-type score 1) and against its tags shifted by one
 * position, with both reports formatted. Nothing may stay allocated.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eval/eval.h"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static bool tag_ok(const char *t)
{
    if (t[0] == 'O' && t[1] == '\0')
        return true;
    return strchr("BIESLU", t[0]) != NULL && t[0] != '\0' && t[1] == '-' && t[2] != '\0';
}

static bool clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7F)
            return false;
    return true;
}

static void evaluate(const medner__conll *c, int shifted)
{
    medner__eval *ev = NULL;
    check(medner__eval_create(&ev) == MEDNER_OK);
    for (size_t s = 0; s < c->num_sentences; s++) {
        size_t b = c->sentence_start[s], n = c->sentence_start[s + 1] - b;
        const char *const *gold = c->tags + b;
        const char *const *pred = gold;
        if (shifted && n > 1)
            pred = gold + 1, n--;
        check(medner__eval_add_sentence(ev, gold, pred, n) == MEDNER_OK);
    }
    medner__eval_report *r = NULL;
    check(medner__eval_report_create(&r, ev) == MEDNER_OK);
    size_t gold = 0;
    for (size_t k = 0; k < r->num_types; k++) {
        const medner__eval_type *t = &r->types[k];
        check(t->correct <= t->gold && t->correct <= t->predicted);
        check(t->gold + t->predicted > 0);
        if (k > 0)
            check(strcmp(r->types[k - 1].name, t->name) < 0);
        if (!shifted)
            check(t->correct == t->gold && t->gold == t->predicted && t->scores.f1 == 1.0);
        gold += t->gold;
    }
    check(gold == r->gold && r->micro.support == gold);
    check(r->micro.f1 >= 0.0 && r->micro.f1 <= 1.0);
    medner__buf b = MEDNER__BUF_INIT;
    check(medner__eval_report_json(&b, r) == MEDNER_OK);
    check(medner__eval_report_text(&b, r, 4) == MEDNER_OK);
    medner__buf_free(&b);
    medner__eval_report_free(r);
    medner__eval_free(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/tmp/medner-fuzz-conll-%ld.tsv", (long)getpid());
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(data, 1, size, f) == size);
    check(fclose(f) == 0);

    medner__conll *c = NULL, *m = NULL;
    int rc = medner__conll_read(&c, path);
    unlink(path);
    int rm = medner__conll_parse(&m, (const char *)data, size, path);
    check(rc == rm);
    if (rc == MEDNER_OK) {
        check(c->num_tokens == m->num_tokens && c->num_sentences == m->num_sentences);
        check(c->sentence_start[0] == 0 && c->sentence_start[c->num_sentences] == c->num_tokens);
        for (size_t s = 0; s < c->num_sentences; s++) {
            check(c->sentence_start[s] < c->sentence_start[s + 1]);
            check(c->sentence_start[s] == m->sentence_start[s]);
        }
        for (size_t k = 0; k < c->num_tokens; k++) {
            check(c->tokens[k][0] != '\0' && clean(c->tokens[k]) && clean(c->tags[k]));
            check(tag_ok(c->tags[k]));
            check(k == 0 || c->lines[k] > c->lines[k - 1]);
            check(strcmp(c->tokens[k], m->tokens[k]) == 0 && strcmp(c->tags[k], m->tags[k]) == 0);
            check(c->lines[k] == m->lines[k]);
        }
        evaluate(c, 0);
        evaluate(c, 1);
    } else {
        check(rc == MEDNER_E_PARSE);
        check(c == NULL && m == NULL);
        check(strstr(medner_last_error(), path) == medner_last_error());
    }
    medner__conll_free(c);
    medner__conll_free(m);
    check(medner__live_allocations() == 0);
    return 0;
}
