/*
 * text -- the structure of a clinical note, without a model: sentences and
 * sections (rules in docs/text.md; their use in docs/context.md). Depends on
 * common only; the context subsystem and the pipeline use it, and the public
 * medner_sentences_split() / medner_sections_detect() wrap it.
 *
 * Every offset is a UTF-8 byte offset into the caller's text, [begin, end).
 * The text is any bytes (the functions never fail on content: invalid UTF-8
 * is treated as non-space, non-letter bytes); time and memory are linear in
 * len. Functions are pure and thread-safe.
 */
#ifndef MEDNER_TEXT_H
#define MEDNER_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "medner.h"

typedef struct medner__span {
    size_t begin, end;
} medner__span;

/* Split text[0, len) into sentences, PyRuSH-like rules for clinical text:
 * headers in capitals ("HISTORY OF PRESENT ILLNESS:") are sentences of their
 * own, numbered ("1. CHF 2. MI") and bulleted lists give one sentence per
 * item, vitals ("BP 140/90, HR 88.") and decimals do not end sentences,
 * abbreviations (Dr., b.i.d., q.d., e.g., vs., ...) do not end sentences, a
 * sentence may continue over a single line break when the next line starts
 * in lower case, a blank line always ends one.
 * Sentences are in text order, non-overlapping, trimmed of surrounding
 * whitespace, non-empty; every non-whitespace byte is in exactly one.
 * *out is from medner__malloc (NULL when *n == 0); free with medner__free.
 * Errors: MEDNER_E_OUT_OF_MEMORY only. */
int medner__sentences_split(const char *text, size_t len, medner__span **out, size_t *n);

/* One section of a note: from its header to the next header (or the end). */
typedef struct medner__section {
    size_t begin, end;               /* the whole section, header included */
    size_t header_begin, header_end; /* the header text without its ':' (empty for the
                                        part before the first header) */
    medner_section category;         /* MEDNER_SECTION_NONE before the first header */
} medner__section;

/* Detect section headers (a line, or the start of a line up to ':', that
 * names a known section: HISTORY OF PRESENT ILLNESS / HPI, PAST MEDICAL
 * HISTORY / PMH, FAMILY HISTORY / FH, SOCIAL HISTORY / SH, MEDICATIONS,
 * ALLERGIES, REVIEW OF SYSTEMS / ROS, PHYSICAL EXAM(INATION) / PE,
 * ASSESSMENT AND PLAN / A/P, ... with common variants, any case when followed
 * by ':', capitals when alone on a line) and return the sections in text
 * order, covering [first byte, len) without gaps (the text before the first
 * header, if any non-space, is one section of category NONE).
 * *out from medner__malloc (NULL when *n == 0). Errors: MEDNER_E_OUT_OF_MEMORY. */
int medner__sections_detect(const char *text, size_t len, medner__section **out, size_t *n);

/* The context categories a section implies (MEDNER_CONTEXT_* bits):
 * FAMILY_HISTORY -> FAMILY, PAST_MEDICAL_HISTORY / PAST_SURGICAL_HISTORY ->
 * HISTORICAL, as medspaCy's section rules do; 0 for the others. */
uint32_t medner__section_implies(medner_section category);

#endif
