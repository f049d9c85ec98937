/*
 * Internal interface of the entity decoder: label set and tagging scheme,
 * Hugging Face's TokenClassificationPipeline post-processing (softmax,
 * word aggregation, grouping), constrained (Viterbi) decoding, and the
 * entity result object. Knows nothing of tokenizers or models; depends on
 * common/ only.
 */
#ifndef MEDNER_DECODER_H
#define MEDNER_DECODER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* One position (token) handed to the decoder. */
typedef struct medner__dec_input {
    const float *logits;      /* [n, n_labels] */
    const size_t *begin;      /* byte offsets of each token in the text */
    const size_t *end;
    const uint8_t *is_subword; /* Hugging Face's rule, computed by the caller */
    const size_t *token;      /* index of each token in the whole-text sequence */
    size_t n;
} medner__dec_input;

/* A decoded entity before it becomes part of a medner_entities object. */
typedef struct medner__ent {
    size_t begin, end;
    size_t label;            /* index into the decoder's output names */
    double score;
    size_t first_token, n_tokens;
} medner__ent;

typedef struct medner__entlist {
    medner__ent *items;
    size_t n, cap;
} medner__entlist;

int medner__entlist_push(medner__entlist *l, const medner__ent *e);
void medner__entlist_release(medner__entlist *l);

/* Softmax of each row in fp32 as numpy computes it (max subtracted). */
void medner__dec_softmax(float *probs, const float *logits, size_t n, size_t c);

/* Decode positions into entities appended to `out` (already filtered by
 * ignore/keep/min_score, renamed). MEDNER_OK or MEDNER_E_OUT_OF_MEMORY. */
int medner__decode(const medner_decoder *d, const medner__dec_input *in, medner__entlist *out);

/* Hugging Face's merge of entities from overlapping windows (sort by start,
 * keep the longer, ties: higher score), in place. MEDNER_OK or
 * MEDNER_E_OUT_OF_MEMORY (list unchanged). */
int medner__merge_overlapping(medner__entlist *l);

size_t medner__decoder_n_labels(const medner_decoder *d);
medner_aggregation medner__decoder_aggregation(const medner_decoder *d);
/* Output name `i` (entity types after renaming, then full labels). */
const char *medner__decoder_name(const medner_decoder *d, size_t i);
size_t medner__decoder_n_names(const medner_decoder *d);

/* Build a result object from decoded entities of `text` (copies names,
 * computes code-point and UTF-16 spans). Sorts by (begin, end) unless
 * `keep_order`. Every entity starts without context (flags 0, section
 * NONE, sentence SIZE_MAX): see medner__entities_set_context(). */
int medner__entities_create(medner_entities **out, const medner_decoder *d,
                            const medner__entlist *l, const char *text, size_t len,
                            size_t n_tokens, bool keep_order);

/* Clinical context of one entity (medner_entity.context/section/sentence). */
typedef struct medner__ent_context {
    uint32_t flags;   /* MEDNER_CONTEXT_* bits */
    int32_t section;  /* medner_section */
    size_t sentence;  /* SIZE_MAX: context not run */
} medner__ent_context;

/* Build a result object from n entities whose labels are names[items[i].label]
 * (n_names names, copied), in the given order (the caller sorts), with
 * their context (ctx NULL: none). Errors as medner__entities_create(). */
int medner__entities_create_named(medner_entities **out, const medner__ent *items, size_t n,
                                  const char *const *names, size_t n_names,
                                  const medner__ent_context *ctx, const char *text, size_t len,
                                  size_t n_tokens);

/* Span and label (borrowed) of entity i < count, without copying a struct. */
void medner__entities_item(const medner_entities *e, size_t i, size_t *begin, size_t *end,
                           const char **label);
/* Set the context of entity i < count (the object is still the builder's). */
void medner__entities_set_context(medner_entities *e, size_t i, const medner__ent_context *c);

#endif
