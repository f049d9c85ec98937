/*
 * medner__context_apply: sentences and sections from src/text, the ConText
 * core (context.c) over them, then the section implications OR-ed in. Kept
 * apart from context.c so that the core and its tests do not need the text
 * subsystem's code.
 */
#include "common/common.h"
#include "context/context.h"

int medner__context_apply(const medner_context_rules *rules, const char *text, size_t len,
                          medner__ctx_target *targets, size_t n)
{
    if (rules == NULL || (text == NULL && len > 0) || (targets == NULL && n > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "context: rules, and text and targets when their counts are not 0, "
                            "are required");
    medner__span *sentences = NULL;
    medner__section *sections = NULL;
    size_t n_sent = 0, n_sec = 0;
    int rc = medner__sentences_split(text, len, &sentences, &n_sent);
    if (rc == MEDNER_OK)
        rc = medner__sections_detect(text, len, &sections, &n_sec);
    if (rc == MEDNER_OK)
        rc = medner__context_apply_sentences(rules, text, len, sentences, n_sent, sections,
                                             n_sec, targets, n);
    medner__free(sentences);
    medner__free(sections);
    if (rc != MEDNER_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        targets[i].flags |= medner__section_implies(targets[i].section);
    return MEDNER_OK;
}
