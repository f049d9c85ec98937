/*
 * Loading a tokenizer from a Hugging Face model directory: tokenizer.json
 * (vocabulary, normaliser, pre-tokeniser, post-processor, added tokens),
 * vocab.txt, tokenizer_config.json and special_tokens_map.json.
 *
 * Precedence, as in transformers' BertTokenizerFast: explicit params, then
 * tokenizer_config.json (which transformers applies on top of the
 * tokenizer.json normaliser), then special_tokens_map.json (special tokens),
 * then tokenizer.json, then the defaults.
 */
#include <string.h>
#include <sys/stat.h>

#include "json/json.h"
#include "tokenizer/tokenizer.h"

#define MAX_JSON_FILE ((size_t)256 << 20)

static int type_error(const char *path, const medner__json *v, const char *key,
                      const char *expected)
{
    return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: \"%s\" must be %s, found %s", path,
                        v->line, v->column, key, expected, medner__json_type_name(v->type));
}

/* Optional boolean member: leaves *out alone when absent or null. */
static int opt_bool(const char *path, const medner__json *obj, const char *key, int *out)
{
    const medner__json *v = medner__json_get(obj, key);
    if (v == NULL || v->type == MEDNER__JSON_NULL)
        return MEDNER_OK;
    if (v->type != MEDNER__JSON_BOOL)
        return type_error(path, v, key, "true, false or null");
    *out = v->boolean;
    return MEDNER_OK;
}

static int opt_uint(const char *path, const medner__json *obj, const char *key, uint32_t *out)
{
    const medner__json *v = medner__json_get(obj, key);
    if (v == NULL || v->type == MEDNER__JSON_NULL)
        return MEDNER_OK;
    if (v->type != MEDNER__JSON_NUMBER || v->number < 0)
        return type_error(path, v, key, "a non-negative number");
    /* transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit" */
    if (v->number < 4294967295.0)
        *out = (uint32_t)v->number;
    return MEDNER_OK;
}

/* A special token is a string or an AddedToken object {"content": ...}. */
static int opt_token(const char *path, const medner__json *obj, const char *key, const char **out)
{
    const medner__json *v = medner__json_get(obj, key);
    if (v == NULL || v->type == MEDNER__JSON_NULL)
        return MEDNER_OK;
    if (v->type == MEDNER__JSON_OBJECT)
        v = medner__json_get(v, "content");
    if (v == NULL || v->type != MEDNER__JSON_STRING || strlen(v->str) != v->len)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: \"%s\" must be a string or an object with a \"content\" string",
                            path, key);
    *out = v->str;
    return MEDNER_OK;
}

static const char *const special_keys[MEDNER__N_SPECIAL] = {
    "pad_token", "unk_token", "cls_token", "sep_token", "mask_token"
};

static int read_special_tokens(const char *path, const medner__json *root, medner__tok_options *o)
{
    int rc = MEDNER_OK;
    for (size_t k = 0; k < MEDNER__N_SPECIAL && rc == MEDNER_OK; k++)
        rc = opt_token(path, root, special_keys[k], &o->special[k]);
    return rc;
}

static int read_tokenizer_config(const char *path, const medner__json *root,
                                 medner__tok_options *o)
{
    int rc;
    if (root->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: expected a JSON object", path);
    if ((rc = opt_bool(path, root, "do_lower_case", &o->lowercase)) ||
        (rc = opt_bool(path, root, "strip_accents", &o->strip_accents)) ||
        (rc = opt_bool(path, root, "tokenize_chinese_chars", &o->chinese_chars)) ||
        (rc = opt_uint(path, root, "model_max_length", &o->model_max_length)))
        return rc;
    /* [CLS] and [SEP] take two positions; a smaller value would fail every
     * encode, so it is refused here (0 is not "unknown" when written) */
    const medner__json *v = medner__json_get(root, "model_max_length");
    if (v != NULL && v->type == MEDNER__JSON_NUMBER && v->number < MEDNER__MIN_MAX_LENGTH)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s:%zu:%zu: \"model_max_length\" is %g; it must leave room for "
                            "[CLS], [SEP] and a token (%u or more)", path, v->line, v->column,
                            v->number, MEDNER__MIN_MAX_LENGTH);
    return read_special_tokens(path, root, o);
}

static int type_is(const medner__json *v, const char *name)
{
    const medner__json *t = medner__json_get(v, "type");
    return t && t->type == MEDNER__JSON_STRING && strcmp(t->str, name) == 0;
}

static const char *type_of(const medner__json *v)
{
    const medner__json *t = medner__json_get(v, "type");
    return t && t->type == MEDNER__JSON_STRING ? t->str : "(no type)";
}

/* First [CLS]-like and last [SEP]-like tokens of a post-processor. */
static int read_post_processor(const char *path, const medner__json *pp, medner__tok_options *o)
{
    if (pp == NULL || pp->type == MEDNER__JSON_NULL)
        return MEDNER_OK;
    if (type_is(pp, "BertProcessing")) {
        const medner__json *cls = medner__json_get(pp, "cls");
        const medner__json *sep = medner__json_get(pp, "sep");
        if (cls && cls->type == MEDNER__JSON_ARRAY && cls->count == 2 &&
            cls->items[0]->type == MEDNER__JSON_STRING)
            o->special[2] = cls->items[0]->str;
        if (sep && sep->type == MEDNER__JSON_ARRAY && sep->count == 2 &&
            sep->items[0]->type == MEDNER__JSON_STRING)
            o->special[3] = sep->items[0]->str;
        return MEDNER_OK;
    }
    if (type_is(pp, "TemplateProcessing")) {
        /* single: [SpecialToken CLS, Sequence A, SpecialToken SEP] */
        const medner__json *single = medner__json_get(pp, "single");
        if (single && single->type == MEDNER__JSON_ARRAY && single->count == 3) {
            const medner__json *a = medner__json_get(single->items[0], "SpecialToken");
            const medner__json *b = medner__json_get(single->items[1], "Sequence");
            const medner__json *c = medner__json_get(single->items[2], "SpecialToken");
            const medner__json *ida = medner__json_get(a, "id");
            const medner__json *idc = medner__json_get(c, "id");
            if (b && ida && idc && ida->type == MEDNER__JSON_STRING &&
                idc->type == MEDNER__JSON_STRING) {
                o->special[2] = ida->str;
                o->special[3] = idc->str;
                return MEDNER_OK;
            }
        }
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s: post_processor TemplateProcessing must be "
                            "\"[CLS] $A [SEP]\" for a single sequence", path);
    }
    return medner__fail(MEDNER_E_UNSUPPORTED,
                        "%s: post_processor type \"%s\" is not supported (expected "
                        "BertProcessing or TemplateProcessing)", path, type_of(pp));
}

static int read_tokenizer_json(medner_tokenizer *t, const char *path, const medner__json *root,
                               medner__tok_options *o)
{
    if (root->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: expected a JSON object", path);
    const medner__json *model = medner__json_get(root, "model");
    if (model == NULL || model->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: no \"model\" object", path);
    const medner__json *mtype = medner__json_get(model, "type");
    if (mtype == NULL || mtype->type != MEDNER__JSON_STRING || strcmp(mtype->str, "WordPiece"))
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s: tokenizer model is \"%s\"; medner supports WordPiece only", path,
                            mtype && mtype->type == MEDNER__JSON_STRING ? mtype->str : "(none)");
    int rc;
    /* normaliser */
    const medner__json *norm = medner__json_get(root, "normalizer");
    if (norm == NULL || norm->type == MEDNER__JSON_NULL) {
        o->lowercase = o->strip_accents = o->chinese_chars = o->clean_text = 0;
    } else if (type_is(norm, "BertNormalizer")) {
        if ((rc = opt_bool(path, norm, "clean_text", &o->clean_text)) ||
            (rc = opt_bool(path, norm, "handle_chinese_chars", &o->chinese_chars)) ||
            (rc = opt_bool(path, norm, "strip_accents", &o->strip_accents)) ||
            (rc = opt_bool(path, norm, "lowercase", &o->lowercase)))
            return rc;
    } else {
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s: normalizer type \"%s\" is not supported (expected "
                            "BertNormalizer)", path, type_of(norm));
    }
    const medner__json *pre = medner__json_get(root, "pre_tokenizer");
    if (pre == NULL || !type_is(pre, "BertPreTokenizer"))
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s: pre_tokenizer type \"%s\" is not supported (expected "
                            "BertPreTokenizer)", path, pre ? type_of(pre) : "null");
    if ((rc = read_post_processor(path, medner__json_get(root, "post_processor"), o)))
        return rc;
    /* model */
    if ((rc = opt_token(path, model, "unk_token", &o->special[1])) ||
        (rc = opt_uint(path, model, "max_input_chars_per_word", &o->max_chars_per_word)))
        return rc;
    const medner__json *prefix = medner__json_get(model, "continuing_subword_prefix");
    if (prefix && prefix->type == MEDNER__JSON_STRING && strlen(prefix->str) == prefix->len)
        o->prefix = prefix->str;
    const medner__json *vocab = medner__json_get(model, "vocab");
    if (vocab == NULL || vocab->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: model has no \"vocab\" object", path);
    int64_t *ids = medner__malloc((vocab->count ? vocab->count : 1) * sizeof *ids);
    if (ids == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    for (size_t k = 0; k < vocab->count; k++) {
        const medner__json *v = vocab->items[k];
        if (v->type != MEDNER__JSON_NUMBER || !v->is_integer) {
            medner__free(ids);
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: vocabulary ids must be integers, found %s", path,
                                v->line, v->column, medner__json_type_name(v->type));
        }
        ids[k] = v->integer;
    }
    rc = medner__vocab_init(&t->vocab, vocab->count, vocab->keys, vocab->key_lens, ids, path);
    medner__free(ids);
    if (rc != MEDNER_OK)
        return rc;
    /* added tokens: matched literally in the raw text */
    const medner__json *added = medner__json_get(root, "added_tokens");
    for (size_t k = 0; added && added->type == MEDNER__JSON_ARRAY && k < added->count; k++) {
        const medner__json *a = added->items[k];
        const medner__json *content = medner__json_get(a, "content");
        const medner__json *id = medner__json_get(a, "id");
        if (content == NULL || content->type != MEDNER__JSON_STRING || id == NULL ||
            id->type != MEDNER__JSON_NUMBER || !id->is_integer || id->integer < 0 ||
            id->integer > INT32_MAX)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: added token needs a \"content\" string and an "
                                "\"id\" integer", path, a->line, a->column);
        int normalized = 0, lstrip = 0, rstrip = 0, single = 0;
        if ((rc = opt_bool(path, a, "normalized", &normalized)) ||
            (rc = opt_bool(path, a, "lstrip", &lstrip)) ||
            (rc = opt_bool(path, a, "rstrip", &rstrip)) ||
            (rc = opt_bool(path, a, "single_word", &single)))
            return rc;
        if (normalized || lstrip || rstrip || single)
            return medner__fail(MEDNER_E_UNSUPPORTED,
                                "%s:%zu:%zu: added token %lld uses normalized/lstrip/rstrip/"
                                "single_word, which medner does not support", path, a->line,
                                a->column, (long long)id->integer);
        /* Hugging Face gives an added token the id of its content in the
         * vocabulary (whatever the file says) or a new one past it: an id
         * that is not the vocabulary's own id for the content would be an
         * id the model may have no embedding for, or a different one from
         * Hugging Face's. */
        int32_t vid = medner__vocab_find(&t->vocab, content->str, content->len);
        if (vid < 0 || vid != id->integer)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: added token %lld: %s (vocabulary ids 0 to %zu; "
                                "added tokens that extend the vocabulary are not supported)",
                                path, id->line, id->column, (long long)id->integer,
                                (size_t)id->integer >= t->vocab.size
                                    ? "the id is outside the vocabulary"
                                    : vid < 0 ? "its content is not in the vocabulary"
                                              : "the vocabulary gives its content another id",
                                t->vocab.size - 1);
        if ((rc = medner__tokenizer_add_literal(t, content->str, content->len,
                                                (int32_t)id->integer)) != MEDNER_OK)
            return rc;
    }
    return MEDNER_OK;
}

/* Parse dir/name into *doc if the file exists; *doc stays NULL otherwise. */
static int parse_optional(const char *dir, const char *name, char **path, medner__json_doc **doc)
{
    *path = medner__path_join(dir, name);
    if (*path == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    if (!medner__file_exists(*path))
        return MEDNER_OK;
    return medner__json_parse_file(doc, *path);
}

int medner_tokenizer_load(medner_tokenizer **out, const char *dir,
                          const medner_tokenizer_params *params)
{
    if (out == NULL || dir == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_tokenizer_load: out and model_dir are required");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return medner__fail(MEDNER_E_IO, "%s: not a directory", dir);
    char *p_tok = NULL, *p_cfg = NULL, *p_map = NULL, *p_vocab = NULL;
    medner__json_doc *d_tok = NULL, *d_cfg = NULL, *d_map = NULL;
    medner__tok_options o = { -1, -1, -1, -1, 0, 0, { NULL }, NULL };
    medner_tokenizer *t = medner__calloc(1, sizeof *t);
    int rc = t ? MEDNER_OK : medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    if (rc == MEDNER_OK)
        rc = parse_optional(dir, "tokenizer.json", &p_tok, &d_tok);
    if (rc == MEDNER_OK)
        rc = parse_optional(dir, "tokenizer_config.json", &p_cfg, &d_cfg);
    if (rc == MEDNER_OK)
        rc = parse_optional(dir, "special_tokens_map.json", &p_map, &d_map);
    if (rc == MEDNER_OK && d_tok)
        rc = read_tokenizer_json(t, p_tok, medner__json_root(d_tok), &o);
    if (rc == MEDNER_OK && d_tok == NULL) {
        p_vocab = medner__path_join(dir, "vocab.txt");
        if (p_vocab == NULL) {
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
        } else if (!medner__file_exists(p_vocab)) {
            rc = medner__fail(MEDNER_E_IO, "%s: no tokenizer.json or vocab.txt", dir);
        } else {
            char *data = NULL;
            size_t len = 0;
            rc = medner__read_file(p_vocab, (size_t)1 << 30, &data, &len);
            if (rc == MEDNER_OK)
                rc = medner__vocab_from_txt(&t->vocab, data, len, p_vocab);
            medner__free(data);
        }
    }
    if (rc == MEDNER_OK && d_map) {
        if (medner__json_root(d_map)->type != MEDNER__JSON_OBJECT)
            rc = medner__fail(MEDNER_E_INVALID_MODEL, "%s: expected a JSON object", p_map);
        else
            rc = read_special_tokens(p_map, medner__json_root(d_map), &o);
    }
    if (rc == MEDNER_OK && d_cfg)
        rc = read_tokenizer_config(p_cfg, medner__json_root(d_cfg), &o);
    if (rc == MEDNER_OK && o.lowercase < 0 && (params == NULL || params->lowercase == 0))
        medner__log(MEDNER_LOG_WARN,
                    "%s: no file says whether to lower-case; lower-casing like Hugging Face "
                    "(wrong for cased checkpoints: add tokenizer_config.json or set "
                    "medner_tokenizer_params.lowercase)", dir);
    if (rc == MEDNER_OK)
        rc = medner__tokenizer_finish(t, &o, params, dir);
    medner__json_free(d_tok);
    medner__json_free(d_cfg);
    medner__json_free(d_map);
    medner__free(p_tok);
    medner__free(p_cfg);
    medner__free(p_map);
    medner__free(p_vocab);
    if (rc != MEDNER_OK) {
        medner__tokenizer_destroy(t);
        return rc;
    }
    *out = t;
    return MEDNER_OK;
}
