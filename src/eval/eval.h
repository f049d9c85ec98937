/*
 * Evaluation of NER tagging against a gold standard (docs/eval.md):
 *
 * - a strict reader for the CoNLL files of the test data (TOKEN<TAB>TAG, one
 *   blank line after each sentence);
 * - entity-level precision, recall and F1 identical, to the last bit of every
 *   double, to seqeval 1.2.2 in its default (conlleval-compatible) mode:
 *   seqeval.metrics.classification_report / precision_score / recall_score /
 *   f1_score with average None, "micro", "macro" and "weighted";
 * - the report as JSON or as the text table of seqeval's classification_report.
 *
 * Depends on common/ and json/ only. Internal API (medner__ prefix, not
 * exported from the shared library; the CLI links the static library).
 * Thread-safety: a medner__conll and a medner__eval_report are immutable and
 * may be read from any number of threads; a medner__eval belongs to one
 * thread at a time. All functions set medner_last_error() on failure and
 * leave out-parameters and the evaluator untouched.
 */
#ifndef MEDNER_EVAL_H
#define MEDNER_EVAL_H

#include <stddef.h>

#include "common/common.h"
#include "json/json.h"

/* ---- CoNLL reader ------------------------------------------------------- */

/* Largest file medner__conll_read() accepts (MEDNER_E_LIMIT above). */
#define MEDNER__CONLL_MAX_BYTES ((size_t)1 << 30)

/*
 * A parsed CoNLL file: sentences of (token, tag) pairs. Sentence s holds the
 * tokens [sentence_start[s], sentence_start[s + 1]), so the tags of one
 * sentence are `tags + sentence_start[s]`, ready for
 * medner__eval_add_sentence(). Every string is NUL-terminated, non-empty,
 * valid UTF-8 without ASCII whitespace or control characters, and lives in
 * one buffer owned by the object. Read the fields directly; never modify
 * them.
 */
typedef struct medner__conll {
    size_t num_sentences;
    size_t num_tokens;
    const size_t *sentence_start; /* num_sentences + 1 entries; [0] = 0 */
    const char *const *tokens;    /* num_tokens tokens (column 1) */
    const char *const *tags;      /* num_tokens tags (column 2): O or P-TYPE */
    const size_t *lines;          /* 1-based line number of each token */
    char *text_;                  /* private: the owned copy of the file */
} medner__conll;

/*
 * Read a CoNLL file: one `TOKEN<TAB>TAG` line per token, an empty line after
 * each sentence. Strict (docs/eval.md has the full rules):
 * - a line has exactly two TAB-separated, non-empty columns, without ASCII
 *   spaces or control characters;
 * - a tag is `O` or `P-TYPE` with P one of B I E S L U (BIO/IOB2, BIOES and
 *   BILOU files) and a non-empty TYPE;
 * - the file is UTF-8 without a byte order mark;
 * accepted: CRLF line endings (a '\r' right before each '\n' is dropped), a
 * missing newline at the end, a missing blank line after the last sentence,
 * several blank lines in a row (no empty sentences are made). An empty file
 * has 0 sentences.
 *
 * @param[out] out  the parsed file (free with medner__conll_free()).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL out or path);
 *         MEDNER_E_IO (cannot open or read); MEDNER_E_LIMIT (above
 *         MEDNER__CONLL_MAX_BYTES); MEDNER_E_PARSE, with the message
 *         "PATH:LINE: expected TOKEN<TAB>TAG, found 3 columns" (or
 *         "PATH:LINE:COL: ..." for a byte-level problem such as invalid
 *         UTF-8); messages never quote the file's text;
 *         MEDNER_E_OUT_OF_MEMORY.
 */
int medner__conll_read(medner__conll **out, const char *path);

/* As medner__conll_read() on `len` bytes of memory (copied; `data` may be
 * NULL when len is 0). `source_name` names the input in messages (NULL gives
 * "<input>"). */
int medner__conll_parse(medner__conll **out, const char *data, size_t len,
                        const char *source_name);

/* Free a parsed file; NULL is a no-op. */
void medner__conll_free(medner__conll *conll);

/* ---- entity-level metrics (seqeval default mode) ------------------------ */

/*
 * Accumulates gold and predicted tag sequences, sentence by sentence, and
 * counts entities as seqeval's get_entities() finds them in the
 * concatenation of all sentences with an "O" after each one (seqeval
 * flattens a list of sentences this way). That "O" ends every B-/I-/E-/S-
 * entity; with odd tags seqeval's scan can lose an entity or carry a stale
 * start across sentences, which is reproduced (docs/eval.md).
 * Memory: O(number of distinct entity types), independent of the data size.
 */
typedef struct medner__eval medner__eval;

/* @return MEDNER_OK and *out (free with medner__eval_free());
 *         MEDNER_E_INVALID_ARGUMENT; MEDNER_E_OUT_OF_MEMORY. */
int medner__eval_create(medner__eval **out);

/* NULL is a no-op. */
void medner__eval_free(medner__eval *ev);

/*
 * Add one sentence of `n` gold and `n` predicted tags (any non-empty
 * NUL-terminated strings, read as seqeval reads them: the first character is
 * the prefix, the type is what follows the first '-' after it, "_" if
 * nothing; no validation, as in seqeval). The strings are not kept.
 * n == 0 is allowed (it changes nothing, as in seqeval).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (ev NULL, gold/pred NULL with
 *         n > 0, a NULL or empty tag: the message gives its index);
 *         MEDNER_E_OUT_OF_MEMORY. On failure the evaluator is unchanged.
 */
int medner__eval_add_sentence(medner__eval *ev, const char *const *gold,
                              const char *const *pred, size_t n);

/* Scores of one row of the report. */
typedef struct medner__eval_scores {
    double precision;
    double recall;
    double f1;
    size_t support; /* number of gold entities */
} medner__eval_scores;

/* One entity type: its counts and scores. */
typedef struct medner__eval_type {
    const char *name;      /* NUL-terminated, owned by the report */
    size_t gold;           /* gold entities of this type (= scores.support) */
    size_t predicted;      /* predicted entities of this type */
    size_t correct;        /* predicted entities with the same type, start and end as a gold one */
    medner__eval_scores scores;
} medner__eval_type;

/*
 * The result: every type that has at least one gold or predicted entity,
 * sorted by name in code-point order (as Python's sorted()), and the micro,
 * macro and weighted averages. Every double is bitwise-equal to the one
 * seqeval returns. Undefined ratios (0/0) are 0, as seqeval with its default
 * zero_division="warn" (without the warning); macro averages are NaN when
 * there are no types at all (numpy's mean of nothing); weighted averages are
 * 0 when there are no gold entities.
 */
typedef struct medner__eval_report {
    size_t num_types;
    medner__eval_type *types;
    size_t gold, predicted, correct; /* totals over all types */
    medner__eval_scores micro, macro, weighted;
    size_t num_sentences, num_tokens; /* what was added */
} medner__eval_report;

/* Compute the report of everything added so far (the evaluator may keep
 * accumulating afterwards).
 * @return MEDNER_OK and *out (free with medner__eval_report_free());
 *         MEDNER_E_INVALID_ARGUMENT; MEDNER_E_OUT_OF_MEMORY. */
int medner__eval_report_create(medner__eval_report **out, const medner__eval *ev);

/* NULL is a no-op. */
void medner__eval_report_free(medner__eval_report *report);

/*
 * Append the report as one JSON object (no newline):
 *   {"per_type": {"Disease": {"precision": P, "recall": R, "f1": F, "support": N,
 *                             "predicted": N, "correct": N}, ...},
 *    "micro": {"precision": ..., "recall": ..., "f1": ..., "support": N,
 *              "predicted": N, "correct": N},
 *    "macro": {"precision": ..., "recall": ..., "f1": ..., "support": N},
 *    "weighted": {...same keys as macro...}}
 * Doubles are written with the fewest digits that read back to the same
 * value (medner__buf_json_double); NaN as null.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT; MEDNER_E_OUT_OF_MEMORY
 *         (the buffer then holds what it held before).
 */
int medner__eval_report_json(medner__buf *buf, const medner__eval_report *report);

/*
 * Append the text table of seqeval's classification_report(digits=DIGITS),
 * byte for byte (the rows right-aligned to the longest type name counted in
 * code points, at least 12 = "weighted avg"; scores with `digits` decimals,
 * independent of the locale; ends with "\n"). With no types at all (where
 * seqeval raises ValueError) the table has only the three average rows.
 * @param digits  0 to 17 (classification_report's default is 2; medner eval uses 4).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT; MEDNER_E_OUT_OF_MEMORY
 *         (the buffer then holds what it held before).
 */
int medner__eval_report_text(medner__buf *buf, const medner__eval_report *report, int digits);

#endif /* MEDNER_EVAL_H */
