/*
 * config.json of a BERT or DistilBERT checkpoint (docs/model-formats.md).
 * Missing keys take the defaults of transformers' BertConfig/DistilBertConfig,
 * as from_pretrained() does; present keys are type- and range-checked, and
 * every error gives file:line:col of the offending value.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

static int bad_type(const char *path, const medner__json *v, const char *key,
                    const char *expected)
{
    return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: \"%s\" must be %s, found %s", path,
                        v->line, v->column, key, expected, medner__json_type_name(v->type));
}

static const medner__json *member(const medner__json *root, const char *key)
{
    const medner__json *v = medner__json_get(root, key);
    return v && v->type != MEDNER__JSON_NULL ? v : NULL;
}

/* Integer member in [lo, hi]; absent or null keeps *out. */
static int get_size(const char *path, const medner__json *root, const char *key, size_t lo,
                    size_t hi, size_t *out)
{
    const medner__json *v = member(root, key);
    if (v == NULL)
        return MEDNER_OK;
    if (v->type != MEDNER__JSON_NUMBER || !v->is_integer)
        return bad_type(path, v, key, "an integer");
    if (v->integer < 0 || (uint64_t)v->integer < lo || (uint64_t)v->integer > hi)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s:%zu:%zu: \"%s\" is %lld; expected an integer from %zu to %zu",
                            path, v->line, v->column, key, (long long)v->integer, lo, hi);
    *out = (size_t)v->integer;
    return MEDNER_OK;
}

/* First of several alias keys that is present (DistilBERT's attribute_map). */
static const char *alias(const medner__json *root, const char *key, const char *other)
{
    return member(root, key) == NULL && member(root, other) != NULL ? other : key;
}

static int get_string(const char *path, const medner__json *root, const char *key,
                      const medner__json **out)
{
    const medner__json *v = member(root, key);
    *out = NULL;
    if (v == NULL)
        return MEDNER_OK;
    if (v->type != MEDNER__JSON_STRING || strlen(v->str) != v->len)
        return bad_type(path, v, key, "a string");
    *out = v;
    return MEDNER_OK;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int read_activation(const char *path, const medner__json *root, const char *key,
                           medner__config *c)
{
    const medner__json *v;
    int rc = get_string(path, root, key, &v);
    if (rc != MEDNER_OK)
        return rc;
    const char *name = v ? v->str : "gelu";
    if (strcmp(name, "gelu") == 0)
        c->act = MEDNER__ACT_GELU;
    else if (strcmp(name, "gelu_new") == 0 || strcmp(name, "gelu_pytorch_tanh") == 0)
        c->act = MEDNER__ACT_GELU_TANH;
    else if (strcmp(name, "relu") == 0)
        c->act = MEDNER__ACT_RELU;
    else
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: \"%s\" is \"%.40s\"; medner supports \"gelu\", "
                            "\"gelu_new\", \"gelu_pytorch_tanh\" and \"relu\"",
                            path, v->line, v->column, key, name);
    snprintf(c->act_name, sizeof c->act_name, "%s", name);
    return MEDNER_OK;
}

/* "0", "17": a decimal index without sign or leading zeros, below n. */
static int parse_index(const char *s, size_t len, size_t n, size_t *out)
{
    if (len == 0 || len > 9 || (len > 1 && s[0] == '0'))
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (v >= n)
        return -1;
    *out = v;
    return 0;
}

static void free_labels(char **labels, size_t n)
{
    if (labels == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        medner__free(labels[i]);
    medner__free(labels);
}

/* id2label, num_labels, label2id -> c->labels / c->num_labels. */
static int read_labels(const char *path, const medner__json *root, medner__config *c)
{
    const medner__json *id2label = member(root, "id2label");
    const medner__json *num = member(root, "num_labels");
    const medner__json *label2id = member(root, "label2id");
    size_t n = 2; /* transformers' default */
    if (num != NULL) {
        int rc = get_size(path, root, "num_labels", 1, MEDNER__MODEL_MAX_DIM - 1, &n);
        if (rc != MEDNER_OK)
            return rc;
    }
    if (id2label != NULL) {
        if (id2label->type != MEDNER__JSON_OBJECT)
            return bad_type(path, id2label, "id2label", "an object");
        if (id2label->count == 0 || id2label->count >= MEDNER__MODEL_MAX_DIM)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: \"id2label\" has %zu entries; expected 1 to %zu",
                                path, id2label->line, id2label->column, id2label->count,
                                MEDNER__MODEL_MAX_DIM - 1);
        if (num != NULL && n != id2label->count)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: \"num_labels\" is %zu but \"id2label\" has %zu "
                                "entries", path, num->line, num->column, n, id2label->count);
        n = id2label->count;
    }
    char **labels = medner__calloc(n, sizeof *labels);
    if (labels == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    int rc = MEDNER_OK;
    if (id2label != NULL) {
        for (size_t i = 0; i < n && rc == MEDNER_OK; i++) {
            const medner__json *v = id2label->items[i];
            size_t idx;
            if (parse_index(id2label->keys[i], id2label->key_lens[i], n, &idx) != 0)
                rc = medner__fail(MEDNER_E_INVALID_MODEL,
                                  "%s:%zu:%zu: \"id2label\" keys must be the indices \"0\" to "
                                  "\"%zu\", each once; found \"%.20s\"",
                                  path, v->line, v->column, n - 1, id2label->keys[i]);
            else if (labels[idx] != NULL)
                rc = medner__fail(MEDNER_E_INVALID_MODEL,
                                  "%s:%zu:%zu: \"id2label\" has index %zu twice", path, v->line,
                                  v->column, idx);
            else if (v->type != MEDNER__JSON_STRING || strlen(v->str) != v->len)
                rc = bad_type(path, v, "id2label", "an object of strings");
            else if ((labels[idx] = medner__strndup(v->str, v->len)) == NULL)
                rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        }
    } else {
        for (size_t i = 0; i < n && rc == MEDNER_OK; i++) {
            char tmp[32];
            int len = snprintf(tmp, sizeof tmp, "LABEL_%zu", i);
            if ((labels[i] = medner__strndup(tmp, (size_t)len)) == NULL)
                rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        }
    }
    if (rc == MEDNER_OK && label2id != NULL) {
        if (label2id->type != MEDNER__JSON_OBJECT) {
            rc = bad_type(path, label2id, "label2id", "an object");
        } else if (label2id->count != n) {
            rc = medner__fail(MEDNER_E_INVALID_MODEL,
                              "%s:%zu:%zu: \"label2id\" has %zu entries but there are %zu "
                              "labels", path, label2id->line, label2id->column, label2id->count,
                              n);
        } else {
            for (size_t i = 0; i < n && rc == MEDNER_OK; i++) {
                const medner__json *v = label2id->items[i];
                if (v->type != MEDNER__JSON_NUMBER || !v->is_integer || v->integer < 0 ||
                    (uint64_t)v->integer >= n ||
                    strlen(labels[v->integer]) != label2id->key_lens[i] ||
                    memcmp(labels[v->integer], label2id->keys[i], label2id->key_lens[i]) != 0)
                    rc = medner__fail(MEDNER_E_INVALID_MODEL,
                                      "%s:%zu:%zu: \"label2id\" disagrees with \"id2label\" "
                                      "(each label must map to its own index)",
                                      path, v->line, v->column);
            }
        }
    }
    if (rc != MEDNER_OK) {
        free_labels(labels, n);
        return rc;
    }
    c->labels = labels;
    c->num_labels = n;
    return MEDNER_OK;
}

static const char *const unsupported_types[] = {
    "roberta", "xlm-roberta", "camembert", "deberta", "deberta-v2", "electra", "albert",
    "longformer", "mpnet", "ernie", "xlnet", "megatron-bert", "mobilebert", "convbert",
    "funnel", "layoutlm", "luke", "bigbird", "big_bird", "nystromformer", "modernbert",
};

static int read_model_type(const char *path, const medner__json *root, medner__config *c)
{
    const medner__json *mt, *arch = member(root, "architectures");
    int rc = get_string(path, root, "model_type", &mt);
    if (rc != MEDNER_OK)
        return rc;
    if (arch != NULL) {
        if (arch->type != MEDNER__JSON_ARRAY)
            return bad_type(path, arch, "architectures", "an array of strings");
        if (arch->count > 0) {
            const medner__json *a0 = arch->items[0];
            if (a0->type != MEDNER__JSON_STRING || strlen(a0->str) != a0->len)
                return bad_type(path, a0, "architectures", "an array of strings");
            if (a0->len >= sizeof c->architecture)
                return medner__fail(MEDNER_E_INVALID_MODEL,
                                    "%s:%zu:%zu: architectures[0] is longer than %zu bytes", path,
                                    a0->line, a0->column, sizeof c->architecture - 1);
            memcpy(c->architecture, a0->str, a0->len + 1);
        }
    }
    const char *type;
    if (mt != NULL) {
        type = mt->str;
    } else if (c->architecture[0] != '\0') {
        /* as AutoConfig does for configs written before model_type existed */
        if (starts_with(c->architecture, "DistilBert"))
            type = "distilbert";
        else if (starts_with(c->architecture, "Bert"))
            type = "bert";
        else
            return medner__fail(MEDNER_E_UNSUPPORTED,
                                "%s:%zu:%zu: no \"model_type\", and architecture \"%.64s\" is "
                                "not a BERT or DistilBERT class; medner runs \"bert\" and "
                                "\"distilbert\" models",
                                path, arch->items[0]->line, arch->items[0]->column,
                                c->architecture);
    } else {
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: neither \"model_type\" nor \"architectures\" says which "
                            "architecture this is (expected \"model_type\": \"bert\" or "
                            "\"distilbert\")", path);
    }
    if (strcmp(type, "bert") == 0) {
        c->arch = MEDNER__ARCH_BERT;
    } else if (strcmp(type, "distilbert") == 0) {
        c->arch = MEDNER__ARCH_DISTILBERT;
    } else {
        const char *known = "";
        for (size_t i = 0; i < MEDNER_ARRAY_LEN(unsupported_types); i++)
            if (strcmp(type, unsupported_types[i]) == 0)
                known = " (a BERT relative with a different layout or tokenizer)";
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: model_type \"%.40s\" is not supported%s; medner runs "
                            "\"bert\" and \"distilbert\" models",
                            path, mt->line, mt->column, type, known);
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", type);
    if (c->architecture[0] == '\0')
        c->head = MEDNER__HEAD_OPTIONAL;
    else if (ends_with(c->architecture, "ForTokenClassification"))
        c->head = MEDNER__HEAD_REQUIRED;
    else
        c->head = MEDNER__HEAD_NONE;
    return MEDNER_OK;
}

static int read_bert(const char *path, const medner__json *root, medner__config *c)
{
    const size_t cap = MEDNER__MODEL_MAX_DIM - 1;
    int rc;
    c->vocab_size = 30522;
    c->hidden = 768;
    c->layers = 12;
    c->heads = 12;
    c->intermediate = 3072;
    c->max_positions = 512;
    c->type_vocab_size = 2;
    c->ln_eps = 1e-12f;
    if ((rc = get_size(path, root, "vocab_size", 1, cap, &c->vocab_size)) ||
        (rc = get_size(path, root, "hidden_size", 1, cap, &c->hidden)) ||
        (rc = get_size(path, root, "num_hidden_layers", 1, MEDNER__MODEL_MAX_LAYERS, &c->layers)) ||
        (rc = get_size(path, root, "num_attention_heads", 1, cap, &c->heads)) ||
        (rc = get_size(path, root, "intermediate_size", 1, cap, &c->intermediate)) ||
        (rc = get_size(path, root, "max_position_embeddings", 1, cap, &c->max_positions)) ||
        (rc = get_size(path, root, "type_vocab_size", 1, cap, &c->type_vocab_size)) ||
        (rc = read_activation(path, root, "hidden_act", c)))
        return rc;
    const medner__json *v = member(root, "layer_norm_eps");
    if (v != NULL) {
        if (v->type != MEDNER__JSON_NUMBER)
            return bad_type(path, v, "layer_norm_eps", "a number");
        if (!(v->number >= 0 && v->number < 1))
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: \"layer_norm_eps\" is %g; expected a number from 0 "
                                "to 1", path, v->line, v->column, v->number);
        c->ln_eps = (float)v->number;
    }
    if ((rc = get_string(path, root, "position_embedding_type", &v)) != MEDNER_OK)
        return rc;
    if (v != NULL && strcmp(v->str, "absolute") != 0)
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: position_embedding_type \"%.40s\" is not supported "
                            "(medner supports \"absolute\")", path, v->line, v->column, v->str);
    v = member(root, "is_decoder");
    if (v != NULL && v->type != MEDNER__JSON_BOOL)
        return bad_type(path, v, "is_decoder", "true, false or null");
    if (v != NULL && v->boolean)
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: \"is_decoder\": true (causal attention) is not "
                            "supported", path, v->line, v->column);
    return MEDNER_OK;
}

static int read_distilbert(const char *path, const medner__json *root, medner__config *c)
{
    const size_t cap = MEDNER__MODEL_MAX_DIM - 1;
    int rc;
    c->vocab_size = 30522;
    c->hidden = 768;
    c->layers = 6;
    c->heads = 12;
    c->intermediate = 3072;
    c->max_positions = 512;
    c->type_vocab_size = 0;
    c->ln_eps = 1e-12f; /* hard-coded in DistilBERT's modeling code */
    if ((rc = get_size(path, root, "vocab_size", 1, cap, &c->vocab_size)) ||
        (rc = get_size(path, root, alias(root, "dim", "hidden_size"), 1, cap, &c->hidden)) ||
        (rc = get_size(path, root, alias(root, "n_layers", "num_hidden_layers"), 1,
                       MEDNER__MODEL_MAX_LAYERS, &c->layers)) ||
        (rc = get_size(path, root, alias(root, "n_heads", "num_attention_heads"), 1, cap,
                       &c->heads)) ||
        (rc = get_size(path, root, "hidden_dim", 1, cap, &c->intermediate)) ||
        (rc = get_size(path, root, "max_position_embeddings", 1, cap, &c->max_positions)) ||
        (rc = read_activation(path, root, "activation", c)))
        return rc;
    const medner__json *v = member(root, "sinusoidal_pos_embds");
    if (v != NULL && v->type != MEDNER__JSON_BOOL)
        return bad_type(path, v, "sinusoidal_pos_embds", "true or false");
    /* sinusoidal embeddings are stored in the checkpoint like learned ones */
    return MEDNER_OK;
}

static int read_config(const char *path, const medner__json *root, medner__config *c)
{
    if (root->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: expected a JSON object, found %s",
                            path, root->line, root->column, medner__json_type_name(root->type));
    int rc = read_model_type(path, root, c);
    if (rc == MEDNER_OK)
        rc = c->arch == MEDNER__ARCH_BERT ? read_bert(path, root, c)
                                          : read_distilbert(path, root, c);
    if (rc != MEDNER_OK)
        return rc;
    const char *heads_key = c->arch == MEDNER__ARCH_BERT
                                ? "num_attention_heads"
                                : alias(root, "n_heads", "num_attention_heads");
    if (c->hidden % c->heads != 0) {
        const medner__json *v = member(root, heads_key);
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s:%zu:%zu: the hidden size %zu is not a multiple of the %zu "
                            "attention heads", path, v ? v->line : 1, v ? v->column : 1,
                            c->hidden, c->heads);
    }
    const medner__json *pad = member(root, "pad_token_id");
    c->pad_token_id = -1;
    if (pad != NULL) {
        if (pad->type != MEDNER__JSON_NUMBER || !pad->is_integer || pad->integer < -1 ||
            pad->integer > INT_MAX)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: \"pad_token_id\" must be a non-negative integer or "
                                "null", path, pad->line, pad->column);
        c->pad_token_id = (int)pad->integer;
    }
    /* id2label is checked even when there is no token head (a malformed
     * label map is a broken config either way) but kept only with one. */
    if ((rc = read_labels(path, root, c)) != MEDNER_OK)
        return rc;
    if (c->head == MEDNER__HEAD_NONE) {
        free_labels(c->labels, c->num_labels);
        c->labels = NULL;
        c->num_labels = 0;
    }
    return MEDNER_OK;
}

int medner__config_load(medner__config *out, const char *path)
{
    if (out == NULL || path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__config_load: NULL argument");
    medner__json_doc *doc = NULL;
    int rc = medner__json_parse_file(&doc, path);
    if (rc != MEDNER_OK)
        return rc;
    medner__config c;
    memset(&c, 0, sizeof c);
    rc = read_config(path, medner__json_root(doc), &c);
    medner__json_free(doc);
    if (rc != MEDNER_OK) {
        free_labels(c.labels, c.num_labels);
        return rc;
    }
    *out = c;
    return MEDNER_OK;
}

void medner__config_release(medner__config *config)
{
    if (config == NULL)
        return;
    free_labels(config->labels, config->num_labels);
    config->labels = NULL;
    config->num_labels = 0;
}

void medner__labels_free(char **labels, size_t n)
{
    free_labels(labels, n);
}

int medner__config_load_id2label(const char *path, char ***labels, size_t *n)
{
    if (path == NULL || labels == NULL || n == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__config_load_id2label: NULL argument");
    medner__json_doc *doc = NULL;
    int rc = medner__json_parse_file(&doc, path);
    if (rc != MEDNER_OK)
        return rc;
    const medner__json *root = medner__json_root(doc);
    medner__config c;
    memset(&c, 0, sizeof c);
    if (root->type != MEDNER__JSON_OBJECT)
        rc = medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: expected a JSON object, found %s",
                          path, root->line, root->column, medner__json_type_name(root->type));
    else if (member(root, "id2label") != NULL)
        rc = read_labels(path, root, &c);
    medner__json_free(doc);
    if (rc != MEDNER_OK)
        return rc;
    *labels = c.labels;
    *n = c.num_labels;
    return MEDNER_OK;
}
