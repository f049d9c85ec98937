/*
 * libFuzzer target: the training-data readers (src/train/data.h) on
 * arbitrary bytes. The input is split at its first NUL byte into a brat
 * document (.txt before, .ann after) and read as brat; the whole input is
 * also read as a CoNLL file. A read either succeeds or fails with
 * MEDNER_E_PARSE / MEDNER_E_INVALID_UTF8 (never crashes); a corpus read
 * satisfies its invariants (sentences non-empty, tags O or P-TYPE), is
 * converted to BIOES and back, and tokenised with the tiny test tokenizer
 * (every label index in range, -100 on [CLS]/[SEP], lengths within
 * max_length). Nothing may stay allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_files.h"
#include "medner.h"
#include "model/model.h"
#include "train/data.h"

static medner_tokenizer *tok;
static char dir[256];

static void check_corpus(medner__tcorpus *c)
{
    fuzz_check(c->sent_start[0] == 0 && c->sent_start[c->n_sents] == c->n_words);
    for (size_t s = 0; s < c->n_sents; s++)
        fuzz_check(c->sent_start[s + 1] > c->sent_start[s]);
    for (size_t i = 0; i < c->n_words; i++) {
        const char *t = c->tags[i];
        fuzz_check(c->words[i][0] != '\0');
        fuzz_check(strcmp(t, "O") == 0 || (t[0] && t[1] == '-' && t[2]));
    }
    fuzz_check(medner__tcorpus_convert(c, MEDNER__TSCHEME_BIOES) == MEDNER_OK);
    fuzz_check(medner__tcorpus_convert(c, MEDNER__TSCHEME_BIO) == MEDNER_OK);
    char **labels = NULL;
    size_t n = 0;
    fuzz_check(medner__tcorpus_labels(c, &labels, &n) == MEDNER_OK);
    medner__tdata *d = NULL;
    int rc = medner__tdata_build(&d, c, tok, (const char *const *)labels, n, 16, 1);
    fuzz_check(rc == MEDNER_OK || rc == MEDNER_E_INVALID_UTF8);
    if (rc == MEDNER_OK) {
        fuzz_check(d->n_seqs == c->n_sents);
        for (size_t s = 0; s < d->n_seqs; s++) {
            size_t b = d->start[s], L = d->lens[s];
            fuzz_check(L >= 2 && L <= 16 && d->start[s + 1] == b + L);
            fuzz_check(d->labels[b] == -100 && d->labels[b + L - 1] == -100);
            for (size_t r = b; r < b + L; r++)
                fuzz_check(d->labels[r] == -100 || (d->labels[r] >= 0 && (size_t)d->labels[r] < n));
        }
        medner__tdata_free(d);
    }
    medner__labels_free(labels, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tok == NULL) {
        fuzz_check(medner_tokenizer_load(&tok, "tests/data/models/tiny-bert-tc", NULL) == MEDNER_OK);
        fuzz_scratch_dir(dir, sizeof dir, "train-data");
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t tl = nul ? (size_t)(nul - data) : size;
    fuzz_write_file(dir, "d.txt", data, tl);
    fuzz_write_file(dir, "d.ann", nul ? nul + 1 : data, nul ? size - tl - 1 : 0);
    fuzz_write_file(dir, "c.tsv", data, size);
    long live = medner__live_allocations();
    char path[300];
    static const char *const names[] = { "d.ann", "c.tsv" };
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        medner__tcorpus *c = NULL;
        int rc = medner__tcorpus_read(&c, path);
        fuzz_check(rc == MEDNER_OK || rc == MEDNER_E_PARSE || rc == MEDNER_E_INVALID_UTF8);
        if (rc == MEDNER_OK) {
            check_corpus(c);
            medner__tcorpus_free(c);
        }
    }
    fuzz_check(medner__live_allocations() == live);
    return 0;
}
