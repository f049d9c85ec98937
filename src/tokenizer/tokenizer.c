/* Tokenizer objects: options, special tokens, loading from vocab.txt, accessors.
 * Loading from a model directory (tokenizer.json and configs) is in load.c. */
#include <string.h>

#include "tokenizer/tokenizer.h"

static const char *const default_special[MEDNER__N_SPECIAL] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
};

void medner__tokenizer_destroy(medner_tokenizer *t)
{
    if (t == NULL)
        return;
    medner__vocab_release(&t->vocab);
    for (size_t k = 0; k < MEDNER__N_SPECIAL; k++)
        medner__free(t->special[k]);
    for (size_t k = 0; k < t->n_added; k++)
        medner__free(t->added[k]);
    medner__free(t->added);
    medner__free(t->added_len);
    medner__free(t->added_id);
    medner__free(t->prefix);
    medner__free(t);
}

void medner_tokenizer_free(medner_tokenizer *t)
{
    medner__tokenizer_destroy(t);
}

static int resolve_switch(medner_switch param, int from_files, int fallback, const char *name,
                          int *out)
{
    switch (param) {
    case MEDNER_ON: *out = 1; return MEDNER_OK;
    case MEDNER_OFF: *out = 0; return MEDNER_OK;
    case MEDNER_DEFAULT: *out = from_files >= 0 ? from_files : fallback; return MEDNER_OK;
    default:
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_tokenizer_params: %s is %d, not a medner_switch", name,
                            (int)param);
    }
}

/* Sort indices of added tokens longest first (leftmost-longest matching). */
static void sort_added(medner_tokenizer *t)
{
    for (size_t i = 1; i < t->n_added; i++) { /* insertion sort: a handful of tokens */
        char *s = t->added[i];
        size_t l = t->added_len[i];
        int32_t id = t->added_id[i];
        size_t j = i;
        while (j > 0 && t->added_len[j - 1] < l) {
            t->added[j] = t->added[j - 1];
            t->added_len[j] = t->added_len[j - 1];
            t->added_id[j] = t->added_id[j - 1];
            j--;
        }
        t->added[j] = s;
        t->added_len[j] = l;
        t->added_id[j] = id;
    }
}

int medner__tokenizer_add_literal(medner_tokenizer *t, const char *s, size_t len, int32_t id)
{
    if (len == 0)
        return MEDNER_OK;
    for (size_t k = 0; k < t->n_added; k++)
        if (t->added_len[k] == len && memcmp(t->added[k], s, len) == 0) {
            t->added_id[k] = id;
            return MEDNER_OK;
        }
    size_t n = t->n_added + 1;
    char **a = medner__realloc(t->added, n * sizeof *a);
    if (a)
        t->added = a;
    size_t *l = medner__realloc(t->added_len, n * sizeof *l);
    if (l)
        t->added_len = l;
    int32_t *i = medner__realloc(t->added_id, n * sizeof *i);
    if (i)
        t->added_id = i;
    char *copy = medner__strndup(s, len);
    if (!a || !l || !i || !copy) {
        medner__free(copy);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "tokenizer: out of memory");
    }
    t->added[t->n_added] = copy;
    t->added_len[t->n_added] = len;
    t->added_id[t->n_added] = id;
    t->n_added = n;
    t->added_first[(unsigned char)s[0]] = 1;
    return MEDNER_OK;
}

int medner__tokenizer_finish(medner_tokenizer *t, const medner__tok_options *o,
                             const medner_tokenizer_params *params, const char *what)
{
    medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
    int rc = medner__params_copy(&p, sizeof p, params, MEDNER__SIZE_V0_1_TOKENIZER_PARAMS,
                                 "medner_tokenizer_params");
    if (rc != MEDNER_OK)
        return rc;
    int lower = 1, strip = 1, cjk = 1, clean = 1;
    if ((rc = resolve_switch(p.lowercase, o->lowercase, 1, "lowercase", &lower)) ||
        (rc = resolve_switch(p.strip_accents, o->strip_accents, lower, "strip_accents", &strip)) ||
        (rc = resolve_switch(p.chinese_chars, o->chinese_chars, 1, "chinese_chars", &cjk)) ||
        (rc = resolve_switch(p.clean_text, o->clean_text, 1, "clean_text", &clean)))
        return rc;
    t->lowercase = lower;
    t->strip_accents = strip;
    t->chinese_chars = cjk;
    t->clean_text = clean;
    t->max_chars_per_word = p.max_input_chars_per_word ? p.max_input_chars_per_word
                            : o->max_chars_per_word ? o->max_chars_per_word : MEDNER_DEFAULT_MAX_INPUT_CHARS_PER_WORD;
    if (p.model_max_length != 0 && p.model_max_length < MEDNER__MIN_MAX_LENGTH)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_tokenizer_params: model_max_length %u leaves no room for "
                            "[CLS], [SEP] and a token (0 for the default, or %u or more)",
                            p.model_max_length, MEDNER__MIN_MAX_LENGTH);
    t->model_max_length = p.model_max_length ? p.model_max_length
                          : o->model_max_length ? o->model_max_length : MEDNER_DEFAULT_MODEL_MAX_LENGTH;
    const char *prefix = o->prefix ? o->prefix : "##";
    t->prefix = medner__strndup(prefix, strlen(prefix));
    if (t->prefix == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", what);
    t->prefix_len = strlen(prefix);

    const char *given[MEDNER__N_SPECIAL] = { p.pad_token, p.unk_token, p.cls_token, p.sep_token,
                                              p.mask_token };
    static const char *const names[MEDNER__N_SPECIAL] = { "pad", "unk", "cls", "sep", "mask" };
    for (size_t k = 0; k < MEDNER__N_SPECIAL; k++) {
        const char *s = given[k] ? given[k] : o->special[k] ? o->special[k] : default_special[k];
        t->special[k] = medner__strndup(s, strlen(s));
        if (t->special[k] == NULL)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", what);
        t->special_id[k] = medner__vocab_find(&t->vocab, s, strlen(s));
        /* [UNK], [CLS] and [SEP] are needed to encode anything. */
        if (t->special_id[k] < 0 && (k == 1 || k == 2 || k == 3))
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s: the %s token (%zu bytes) is not in the vocabulary", what,
                                names[k], strlen(s));
        if (t->special_id[k] >= 0 &&
            (rc = medner__tokenizer_add_literal(t, s, strlen(s), t->special_id[k])) != MEDNER_OK)
            return rc;
    }
    sort_added(t);

    for (uint32_t c = 0; c < 128; c++) {
        uint8_t cls = MEDNER__C_WORD;
        if (clean && (c == 0 || medner__is_bert_control(c)))
            cls = MEDNER__C_DROP;
        else if (medner__is_bert_whitespace(c))
            cls = MEDNER__C_SPACE;
        else if (medner__is_bert_punctuation(c))
            cls = MEDNER__C_PUNCT;
        t->ascii_class[c] = cls;
        t->ascii_norm[c] = (uint8_t)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return MEDNER_OK;
}

int medner_tokenizer_load_vocab(medner_tokenizer **out, const char *vocab_path,
                                const medner_tokenizer_params *params)
{
    if (out == NULL || vocab_path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_tokenizer_load_vocab: out and vocab_path are required");
    char *data;
    size_t len;
    int rc = medner__read_file(vocab_path, (size_t)1 << 30, &data, &len);
    if (rc != MEDNER_OK)
        return rc;
    medner_tokenizer *t = medner__calloc(1, sizeof *t);
    if (t == NULL) {
        medner__free(data);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", vocab_path);
    }
    rc = medner__vocab_from_txt(&t->vocab, data, len, vocab_path);
    medner__free(data);
    if (rc == MEDNER_OK) {
        medner__tok_options o = { -1, -1, -1, -1, 0, 0, { NULL }, NULL };
        rc = medner__tokenizer_finish(t, &o, params, vocab_path);
    }
    if (rc != MEDNER_OK) {
        medner__tokenizer_destroy(t);
        return rc;
    }
    *out = t;
    return MEDNER_OK;
}

size_t medner_tokenizer_vocab_size(const medner_tokenizer *t)
{
    return t ? t->vocab.size : 0;
}

const char *medner_tokenizer_id_to_token(const medner_tokenizer *t, int32_t id)
{
    if (t == NULL || id < 0 || (size_t)id >= t->vocab.size || t->vocab.offset[id] == UINT32_MAX)
        return NULL;
    return t->vocab.arena + t->vocab.offset[id];
}

int32_t medner_tokenizer_token_to_id(const medner_tokenizer *t, const char *token, size_t len)
{
    if (t == NULL || (token == NULL && len > 0))
        return -1;
    return medner__vocab_find(&t->vocab, token ? token : "", len);
}

int32_t medner_tokenizer_special_id(const medner_tokenizer *t, medner_special_token which)
{
    if (t == NULL || (unsigned)which >= MEDNER__N_SPECIAL)
        return -1;
    return t->special_id[which];
}

int medner_tokenizer_get_params(const medner_tokenizer *t, medner_tokenizer_params *out)
{
    if (t == NULL || out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_tokenizer_get_params: NULL argument");
    medner_tokenizer_params params = MEDNER_TOKENIZER_PARAMS_INIT, *out_ = out;
    out = &params; /* filled whole, then copied up to the caller's struct_size */
    out->lowercase = t->lowercase ? MEDNER_ON : MEDNER_OFF;
    out->strip_accents = t->strip_accents ? MEDNER_ON : MEDNER_OFF;
    out->chinese_chars = t->chinese_chars ? MEDNER_ON : MEDNER_OFF;
    out->clean_text = t->clean_text ? MEDNER_ON : MEDNER_OFF;
    out->max_input_chars_per_word = t->max_chars_per_word;
    out->model_max_length = t->model_max_length;
    out->pad_token = t->special[0];
    out->unk_token = t->special[1];
    out->cls_token = t->special[2];
    out->sep_token = t->special[3];
    out->mask_token = t->special[4];
    return medner__struct_out(out_, &params, sizeof params, MEDNER__SIZE_V0_1_TOKENIZER_PARAMS,
                              "medner_tokenizer_get_params");
}
