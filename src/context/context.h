/*
 * context -- the ConText algorithm (Harkema et al., J Biomed Inform 2009)
 * over entity spans of a text: negated, uncertain, historical, hypothetical
 * and family (experiencer other than the patient), from trigger phrases in
 * YAML rule files (libyaml), scoped by sentence (src/text) and by a maximum
 * number of words. docs/context.md describes the algorithm and the rules.
 *
 * Depends on common and text. The public medner_context_rules handle is the
 * struct defined in context.c; rules are immutable once loaded and shared by
 * any number of threads.
 */
#ifndef MEDNER_CONTEXT_H
#define MEDNER_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "medner.h"
#include "text/text.h"

/* Limits of a rule file (docs/context.md, *Limits*). Above the first four:
 * MEDNER_E_INVALID_CONFIG naming the place; a file above the size limit:
 * MEDNER_E_INVALID_CONFIG too (the message names the size). */
#define MEDNER__CONTEXT_MAX_FILE ((size_t)1 << 20)   /* bytes of a rule file */
#define MEDNER__CONTEXT_MAX_RULES 4096u               /* rules in one file */
#define MEDNER__CONTEXT_MAX_PHRASES 65536u            /* phrases in one file */
#define MEDNER__CONTEXT_MAX_PHRASE_BYTES 256u         /* bytes of one phrase or label */
#define MEDNER__CONTEXT_MAX_PHRASE_WORDS 32u          /* words of one phrase */
#define MEDNER__CONTEXT_MAX_LABELS 256u               /* labels of one rule */
#define MEDNER__CONTEXT_MAX_SCOPE 10000u              /* largest max_scope (words) */
#define MEDNER__CONTEXT_MAX_DEPTH 32                  /* YAML nesting (a valid file nests 4) */

/* Load rules: path == NULL gives the built-in default rule set (compiled
 * into the library from src/context/default_rules.yaml). A user file may
 * say `extends: default` to add to the defaults, else it replaces them.
 * Errors: MEDNER_E_IO (file), MEDNER_E_INVALID_CONFIG with file:line:column
 * and what was expected, MEDNER_E_OUT_OF_MEMORY. Never logs text. */
int medner__context_rules_load(medner_context_rules **out, const char *path);
/* The same from memory; `name` names the source in messages. */
int medner__context_rules_parse(medner_context_rules **out, const char *yaml, size_t len,
                                const char *name);
void medner__context_rules_free(medner_context_rules *rules);

/* One target span given to medner__context_apply. */
typedef struct medner__ctx_target {
    size_t begin, end;    /* in: UTF-8 byte offsets, begin < end <= len */
    const char *label;    /* in: entity type (NULL: matches only rules without a label filter) */
    uint32_t flags;       /* out: MEDNER_CONTEXT_* bits */
    medner_section section; /* out: category of the section the span begins in */
    size_t sentence;      /* out: index of the sentence the span begins in */
} medner__ctx_target;

/* The built-in rule file (src/context/default_rules.yaml as compiled into
 * the library): *len bytes, NUL-terminated. */
const char *medner__context_default_rules(size_t *len);

/* Assign flags, section and sentence to targets[0, n) over text[0, len):
 * sentences and sections are computed here (medner__sentences_split,
 * medner__sections_detect); a section's implied categories are OR-ed in.
 * Targets may be in any order and may overlap each other. Returns
 * MEDNER_E_INVALID_ARGUMENT for a span with begin >= end or end > len
 * (naming its index, not its text), MEDNER_E_OUT_OF_MEMORY. Time linear in
 * len + n (+ trigger matches x targets in a sentence). Thread-safe. */
int medner__context_apply(const medner_context_rules *rules, const char *text, size_t len,
                          medner__ctx_target *targets, size_t n);

/* The core of medner__context_apply with the sentences and sections given
 * (both in text order, non-overlapping, within [0, len); sentences
 * non-empty; n_sec may be 0): trigger matching and scopes never cross a
 * sentence edge; text outside every sentence is not read. Each target gets
 * the flags of the triggers whose scope it overlaps, `section` = category
 * of the section containing its begin (NONE if none), `sentence` = index of
 * the last sentence beginning at or before its begin (0 when it begins
 * before the first; SIZE_MAX when n_sent == 0). The section implications
 * (medner__section_implies) are NOT added here: medner__context_apply adds
 * them, so this core depends on nothing of src/text but its types.
 * Errors: MEDNER_E_INVALID_ARGUMENT (NULL rules, NULL arrays with a
 * non-zero count, a bad target span naming its index, sentences or sections
 * out of order or out of range), MEDNER_E_OUT_OF_MEMORY; targets are
 * untouched on failure. Thread-safe. */
int medner__context_apply_sentences(const medner_context_rules *rules, const char *text,
                                    size_t len, const medner__span *sentences, size_t n_sent,
                                    const medner__section *sections, size_t n_sec,
                                    medner__ctx_target *targets, size_t n);

/* 1 when a model's entity types look clinical (problems, findings, drugs,
 * procedures, tests: e.g. Disease, Sign_symptom, Medication, Problem,
 * Diagnostic_procedure), 0 otherwise (genes, proteins, cell lines, ...):
 * decides whether a pipeline runs context by default. `labels` are the
 * model's labels with or without B-/I-/E-/S-/L-/U- prefixes. */
int medner__labels_look_clinical(const char *const *labels, size_t n);

#endif
