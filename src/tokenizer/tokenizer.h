/*
 * Internal interface of the tokenizer subsystem: vocabulary, BERT
 * normalisation with an offset map, pre-tokenisation, WordPiece, windows.
 * Knows nothing of models; depends on common/ and utf8proc (and json/ for
 * reading tokenizer.json).
 */
#ifndef MEDNER_TOKENIZER_H
#define MEDNER_TOKENIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

#define MEDNER__N_SPECIAL 5
/* Smallest model_max_length: [CLS], one token, [SEP]. */
#define MEDNER__MIN_MAX_LENGTH 3u

/* Vocabulary: token strings in one arena, an open-addressing hash table from
 * string to id. */
typedef struct medner__vocab {
    char *arena;          /* all token strings, each NUL-terminated */
    size_t arena_len;
    uint32_t *offset;     /* per id: start of its string in arena (UINT32_MAX: no token) */
    uint32_t *length;     /* per id: byte length */
    size_t size;          /* number of ids (largest id + 1) */
    uint32_t *slots;      /* hash table: id + 1, 0 = empty */
    uint32_t *slot_hash;  /* full 32-bit hash of the slot's string */
    size_t mask;          /* table capacity - 1 */
    size_t max_len;       /* longest token in bytes */
} medner__vocab;

/* Build from (string, id) pairs; ids may be sparse. `what` names the source. */
int medner__vocab_init(medner__vocab *v, size_t n, const char *const *strs, const size_t *lens,
                       const int64_t *ids, const char *what);
void medner__vocab_release(medner__vocab *v);
int32_t medner__vocab_find(const medner__vocab *v, const char *s, size_t len);
/* Lookup of prefix + s (the "##" continuation) without building the string. */
int32_t medner__vocab_find2(const medner__vocab *v, const char *prefix, size_t plen,
                            const char *s, size_t len);
/* Parse a vocab.txt file's contents. */
int medner__vocab_from_txt(medner__vocab *v, const char *data, size_t len, const char *path);

struct medner_tokenizer {
    medner__vocab vocab;
    bool lowercase, strip_accents, chinese_chars, clean_text;
    uint32_t max_chars_per_word;
    uint32_t model_max_length;
    char *special[MEDNER__N_SPECIAL];   /* PAD UNK CLS SEP MASK strings */
    int32_t special_id[MEDNER__N_SPECIAL];
    /* tokens matched literally in the input before normalisation (Hugging
     * Face "added tokens" marked special), longest first */
    size_t n_added;
    char **added;
    size_t *added_len;
    int32_t *added_id;
    uint8_t added_first[256];           /* first bytes that can start one */
    char *prefix;                       /* continuing-subword prefix, "##" */
    size_t prefix_len;
    /* ASCII fast path, derived from the options at load */
    uint8_t ascii_class[128];           /* MEDNER__C_* */
    uint8_t ascii_norm[128];            /* the character after lower-casing */
};

enum { MEDNER__C_WORD = 0, MEDNER__C_SPACE = 1, MEDNER__C_PUNCT = 2, MEDNER__C_DROP = 3 };

/* Options gathered from files and params before the tokenizer is built. */
typedef struct medner__tok_options {
    int lowercase, strip_accents, chinese_chars, clean_text; /* -1 unknown, 0/1 */
    uint32_t max_chars_per_word, model_max_length;            /* 0 unknown */
    const char *special[MEDNER__N_SPECIAL];                   /* NULL unknown */
    const char *prefix;                                       /* NULL: "##" */
} medner__tok_options;

/* Finish a tokenizer whose vocabulary is set: apply options and defaults,
 * resolve special tokens. Frees nothing on failure (caller frees). */
int medner__tokenizer_finish(medner_tokenizer *t, const medner__tok_options *o,
                             const medner_tokenizer_params *p, const char *what);
void medner__tokenizer_destroy(medner_tokenizer *t);
/* Register a string matched literally in the input (before normalisation). */
int medner__tokenizer_add_literal(medner_tokenizer *t, const char *s, size_t len, int32_t id);

/* UTF-8 */
size_t medner__utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp);
int medner__utf8_check(const char *text, size_t len, size_t *bad_offset);

/* Character classes of the BERT normaliser / pre-tokeniser. */
bool medner__is_bert_whitespace(uint32_t c);
bool medner__is_bert_control(uint32_t c);
bool medner__is_bert_punctuation(uint32_t c);
bool medner__is_cjk(uint32_t c);
/* Normalise one code point: writes up to 8 code points to out (returns the
 * count; 0 = deleted). Whitespace comes back as ' '. */
size_t medner__normalize_char(const medner_tokenizer *t, uint32_t c, uint32_t out[8]);

#endif
