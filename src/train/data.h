/*
 * Training data (issue 18): CoNLL TSV and brat standoff readers, BIO/BIOES
 * conversion, the label set, tokenisation with Hugging Face's
 * `label_all_tokens=False` alignment, and seeded batching. Internal
 * (medner__). Depends on common/, eval/ (the CoNLL reader), tokenizer/ and
 * train.h. docs/training.md ("Data") has the rules.
 */
#ifndef MEDNER_TRAIN_DATA_H
#define MEDNER_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "medner.h"

/* ---- words -------------------------------------------------------------------------
 * Sentences of (word, tag), read from a file; every string owned. */
typedef struct medner__tcorpus {
    char *path;               /* for messages */
    size_t n_sents, n_words;
    size_t *sent_start;       /* n_sents + 1 */
    char **words, **tags;     /* n_words each */
    size_t *lines;            /* line of each word in its file (CoNLL; brat: line of the .txt) */
    char **files;             /* brat: the .txt of each sentence (n_sents); CoNLL: NULL */
    size_t n_skipped_docstart;
    size_t n_brat_discontinuous, n_brat_overlapping; /* brat annotations not representable */
} medner__tcorpus;

/* Read path: a CoNLL file (TOKEN<TAB>TAG lines, blank line between
 * sentences: eval/eval.h's strict reader; a sentence starting with the token
 * -DOCSTART- is skipped), a brat .ann file (its .txt next to it), or a
 * directory of brat pairs (every NAME.ann with NAME.txt, in name order).
 * brat: sentences are the non-empty lines of the .txt; words are BERT
 * pre-tokenisation pieces (split at whitespace, every punctuation character
 * a word); T annotations (character offsets in code points) give BIO tags:
 * a word overlapping a span is inside it; spans chosen longest first
 * (ties: earlier start), an overlapping one is dropped, a discontinuous
 * one skipped (both counted).
 * Errors: MEDNER_E_IO, MEDNER_E_PARSE ("FILE:LINE: ..."), MEDNER_E_LIMIT,
 * MEDNER_E_INVALID_UTF8 (brat .txt: file and byte offset), MEDNER_E_OUT_OF_MEMORY. */
int medner__tcorpus_read(medner__tcorpus **out, const char *path);
void medner__tcorpus_free(medner__tcorpus *c);

typedef enum medner__tscheme { MEDNER__TSCHEME_BIO = 0, MEDNER__TSCHEME_BIOES = 1 } medner__tscheme;

/* Rewrite the tags in BIO or BIOES, sentence by sentence: an entity is B-X
 * or S-X, or an I-X/E-X/L-X not continuing an X entity, followed by
 * I-/E-/L-X continuations (U- = S-). BIO: B-X I-X...; BIOES: S-X alone,
 * else B-X I-X... E-X. Errors: MEDNER_E_OUT_OF_MEMORY. */
int medner__tcorpus_convert(medner__tcorpus *c, medner__tscheme scheme);

/* Keep only the entity types in the comma-separated list `types` (spaces
 * around names ignored): every other tag becomes O. *missing (may be NULL): the
 * first listed type that does not (NULL if all do; it points into `types`,
 * *missing_len its length).
 * Errors: MEDNER_E_INVALID_ARGUMENT (an empty list or name). */
int medner__tcorpus_keep_types(medner__tcorpus *c, const char *types, const char **missing,
                               size_t *missing_len);

/* The label set of a training corpus: its distinct tags sorted by byte
 * order (HF run_ner's sorted(set(labels))). Free with medner__labels_free(). */
int medner__tcorpus_labels(const medner__tcorpus *c, char ***labels, size_t *n);

/* ---- tokenised sequences ---------------------------------------------------------- */
#define MEDNER__TDATA_IGNORE (-100) /* = MEDNER__IGNORE_INDEX of train.h */
typedef struct medner__tdata {
    size_t n_seqs, n_tokens;
    size_t *start;            /* n_seqs + 1: sequence s is tokens [start[s], start[s+1]) */
    size_t *lens;             /* n_seqs */
    int32_t *ids;             /* [CLS] pieces [SEP] */
    int32_t *labels;          /* label index at a word's first piece, else -100 */
    const char **gold;        /* per token: the word's tag (owned by the corpus) at its
                                 first piece, NULL elsewhere; set also for tags not in
                                 the label set (then labels is -100): what evaluation scores */
    size_t n_labelled;        /* tokens with a label index */
    size_t n_truncated;       /* sequences cut at max_length */
    size_t n_words_dropped;   /* words cut off or without any piece */
    size_t n_unknown;         /* words whose tag is not in the label set */
    char *unknown;            /* their distinct tags, ", "-separated (NULL if none) */
} medner__tdata;

/* Tokenise every sentence of c as HF's tokenizer(words,
 * is_split_into_words=True, truncation=True, max_length=max_length): each
 * word tokenised on its own, [CLS] + pieces + [SEP], cut to max_length
 * tokens; the first piece of a word gets its tag's index in labels[0, n),
 * the other pieces and [CLS]/[SEP] get -100. A tag missing from the labels:
 * error (MEDNER_E_INVALID_ARGUMENT naming file:line and the tag) when
 * unknown_is_error, else counted in n_unknown/unknown.
 * Errors: also MEDNER_E_INVALID_UTF8, MEDNER_E_OUT_OF_MEMORY. */
int medner__tdata_build(medner__tdata **out, const medner__tcorpus *c, const medner_tokenizer *tok,
                        const char *const *labels, size_t n_labels, size_t max_length,
                        int unknown_is_error);
void medner__tdata_free(medner__tdata *d);

/* ---- order -------------------------------------------------------------------------
 * The sequence order of epoch `epoch` (0-based): a Fisher-Yates shuffle of
 * 0..n-1 driven by splitmix64 seeded with seed ^ (epoch * golden ratio
 * constant) (docs/training.md), or the identity when shuffle is 0. */
void medner__tdata_order(size_t *order, size_t n, uint64_t seed, uint64_t epoch, int shuffle);
uint64_t medner__splitmix64(uint64_t *state);

#endif
