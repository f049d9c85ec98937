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

/* Assign flags, section and sentence to targets[0, n) over text[0, len):
 * sentences and sections are computed here (medner__sentences_split,
 * medner__sections_detect); a section's implied categories are OR-ed in.
 * Targets may be in any order and may overlap each other. Returns
 * MEDNER_E_INVALID_ARGUMENT for a span with begin >= end or end > len
 * (naming its index, not its text), MEDNER_E_OUT_OF_MEMORY. Time linear in
 * len + n (+ trigger matches x targets in a sentence). Thread-safe. */
int medner__context_apply(const medner_context_rules *rules, const char *text, size_t len,
                          medner__ctx_target *targets, size_t n);

/* 1 when a model's entity types look clinical (problems, findings, drugs,
 * procedures, tests: e.g. Disease, Sign_symptom, Medication, Problem,
 * Diagnostic_procedure), 0 otherwise (genes, proteins, cell lines, ...):
 * decides whether a pipeline runs context by default. `labels` are the
 * model's labels with or without B-/I-/E-/S-/L-/U- prefixes. */
int medner__labels_look_clinical(const char *const *labels, size_t n);

#endif
