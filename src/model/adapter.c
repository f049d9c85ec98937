/*
 * PEFT LoRA adapters: adapter_config.json + adapter_model.safetensors, merged
 * into the base model at load time (docs/model-formats.md, "LoRA adapters").
 *
 * Every tensor of the adapter file is first mapped to a slot of the base and
 * checked (pairs, rank, shapes, dtypes, target_modules, modules_to_save);
 * only then is anything changed: modules_to_save tensors replace the base
 * tensor, and each weight with a LoRA pair becomes a private fp32 copy
 * W + scale * (B . A). B . A is summed in double, k = 0 .. r-1 in order, and
 * the sum rounded once, so the result does not depend on the machine or the
 * thread count. Weights the adapter does not touch stay in the base mapping.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model/adapter.h"
#include "model/model_internal.h"

#define KEY_PREFIX "base_model.model."
#define NAME_MAX_LEN 255

typedef struct lora_config {
    const char *path;              /* adapter_config.json, for messages */
    medner__json_doc *doc;         /* owns every string below */
    size_t r;
    double alpha;
    int rslora;
    const char *base_model;        /* base_model_name_or_path or NULL */
    const char **targets;          /* target_modules */
    size_t n_targets;
    const char **exclude;          /* exclude_modules */
    size_t n_exclude;
    const char **save;             /* modules_to_save */
    size_t n_save;
    size_t *layers;                /* layers_to_transform, or NULL (every layer) */
    size_t n_layers;
} lora_config;

/* What the adapter file holds for one slot of the base. */
typedef struct lora_slot {
    const medner__st_tensor *a, *b; /* lora_A [r, in], lora_B [out, r] */
    const medner__st_tensor *save;  /* modules_to_save replacement */
} lora_slot;

static void lora_config_release(lora_config *lc)
{
    medner__json_free(lc->doc);
    medner__free(lc->targets);
    medner__free(lc->exclude);
    medner__free(lc->save);
    medner__free(lc->layers);
    memset(lc, 0, sizeof *lc);
}

/* ---- adapter_config.json ------------------------------------------------- */

static const medner__json *member(const medner__json *root, const char *key)
{
    const medner__json *v = medner__json_get(root, key);
    return v && v->type != MEDNER__JSON_NULL ? v : NULL;
}

static int bad_type(const char *path, const medner__json *v, const char *key, const char *expected)
{
    return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: \"%s\" must be %s, found %s", path,
                        v->line, v->column, key, expected, medner__json_type_name(v->type));
}

static int is_string(const medner__json *v)
{
    return v->type == MEDNER__JSON_STRING && strlen(v->str) == v->len;
}

/* null, false, "", [] or {}: the feature is off. */
static int is_off(const medner__json *v)
{
    return v == NULL || (v->type == MEDNER__JSON_BOOL && !v->boolean) ||
           (v->type == MEDNER__JSON_STRING && v->len == 0) ||
           ((v->type == MEDNER__JSON_ARRAY || v->type == MEDNER__JSON_OBJECT) && v->count == 0);
}

static int get_bool(const lora_config *lc, const medner__json *root, const char *key, int *out)
{
    const medner__json *v = member(root, key);
    if (v == NULL)
        return MEDNER_OK;
    if (v->type != MEDNER__JSON_BOOL)
        return bad_type(lc->path, v, key, "true or false");
    *out = v->boolean;
    return MEDNER_OK;
}

/* A list of module names (borrowed from the document); a string is a regular
 * expression in PEFT, which medner does not evaluate. */
static int get_names(lora_config *lc, const medner__json *root, const char *key, int required,
                     const char ***out, size_t *n)
{
    const medner__json *v = member(root, key);
    *out = NULL;
    *n = 0;
    if (v == NULL)
        return MEDNER_OK;
    if (v->type == MEDNER__JSON_STRING)
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: \"%s\" is a string, which PEFT reads as a regular "
                            "expression (or \"all-linear\"); medner does not evaluate regular "
                            "expressions: list the module names instead (e.g. [\"query\", "
                            "\"value\"])", lc->path, v->line, v->column, key);
    if (v->type != MEDNER__JSON_ARRAY)
        return bad_type(lc->path, v, key, "a list of module names");
    if (v->count == 0) {
        if (required)
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: \"%s\" is empty", lc->path,
                                v->line, v->column, key);
        return MEDNER_OK;
    }
    const char **names = medner__calloc(v->count, sizeof *names);
    if (names == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", lc->path);
    for (size_t i = 0; i < v->count; i++) {
        const medner__json *e = v->items[i];
        if (!is_string(e) || e->len == 0 || e->len > NAME_MAX_LEN) {
            medner__free(names);
            return bad_type(lc->path, e, key, "a list of non-empty module names");
        }
        names[i] = e->str;
    }
    *out = names;
    *n = v->count;
    return MEDNER_OK;
}

/* Options that change what a LoRA layer computes; medner implements none of
 * them, so each must be off (null, false or empty). Options that only matter
 * for training or initialisation (init_lora_weights, loftq_config,
 * eva_config, lora_dropout, ...) are ignored, as are unknown keys. */
static const char *const off_keys[][2] = {
    { "use_dora", "DoRA (use_dora)" },
    { "lora_bias", "a bias on lora_B (lora_bias)" },
    { "rank_pattern", "per-module ranks (rank_pattern)" },
    { "alpha_pattern", "per-module alphas (alpha_pattern)" },
    { "layer_replication", "layer replication (layer_replication)" },
    { "target_parameters", "LoRA on parameters (target_parameters)" },
    { "trainable_token_indices", "trainable tokens (trainable_token_indices)" },
    { "alora_invocation_tokens", "activated LoRA (alora_invocation_tokens)" },
    { "use_qalora", "QALoRA (use_qalora)" },
    { "use_bdlora", "block-diagonal LoRA (use_bdlora)" },
    { "arrow_config", "Arrow routing (arrow_config)" },
    { "kasa_config", "KaSA (kasa_config)" },
    { "monteclora_config", "MonteCLoRA (monteclora_config)" },
};

static int read_layers(lora_config *lc, const medner__json *root)
{
    const medner__json *v = member(root, "layers_to_transform");
    if (v == NULL || (v->type == MEDNER__JSON_ARRAY && v->count == 0))
        return MEDNER_OK;
    size_t n = v->type == MEDNER__JSON_ARRAY ? v->count : 1;
    const medner__json *const *items = v->type == MEDNER__JSON_ARRAY
                                           ? (const medner__json *const *)v->items
                                           : (const medner__json *const *)&v;
    for (size_t i = 0; i < n; i++)
        if (items[i]->type != MEDNER__JSON_NUMBER || !items[i]->is_integer || items[i]->integer < 0)
            return bad_type(lc->path, items[i], "layers_to_transform",
                            "a layer index or a list of layer indices");
    /* PEFT finds the index after `layers_pattern`; in BERT and DistilBERT the
     * layers are the ModuleList "layer" (or any, when the pattern is empty). */
    const medner__json *pat = member(root, "layers_pattern");
    if (pat != NULL && !is_off(pat)) {
        const medner__json *p1 = pat->type == MEDNER__JSON_ARRAY && pat->count == 1 ? pat->items[0]
                                                                                  : pat;
        if (!is_string(p1) || strcmp(p1->str, "layer") != 0)
            return medner__fail(MEDNER_E_UNSUPPORTED,
                                "%s:%zu:%zu: \"layers_pattern\" must be null or \"layer\" (the "
                                "layers of BERT and DistilBERT)", lc->path, pat->line,
                                pat->column);
    }
    lc->layers = medner__calloc(n, sizeof *lc->layers);
    if (lc->layers == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", lc->path);
    for (size_t i = 0; i < n; i++)
        lc->layers[i] = items[i]->integer < MEDNER__MODEL_MAX_LAYERS ? (size_t)items[i]->integer
                                                                      : MEDNER__MODEL_MAX_LAYERS;
    lc->n_layers = n;
    return MEDNER_OK;
}

/* PEFT's default target_modules when the config has none
 * (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
static const char *bert_default_targets[] = { "query", "value" };
static const char *distil_default_targets[] = { "q_lin", "v_lin" };

static int read_lora_config(lora_config *lc, const medner__model *m)
{
    int rc = medner__json_parse_file(&lc->doc, lc->path);
    if (rc != MEDNER_OK)
        return rc;
    const char *path = lc->path;
    const medner__json *root = medner__json_root(lc->doc);
    if (root->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: expected a JSON object, found %s",
                            path, root->line, root->column, medner__json_type_name(root->type));
    const medner__json *v = member(root, "peft_type");
    if (v == NULL)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: missing \"peft_type\" (expected \"LORA\")",
                            path);
    if (!is_string(v))
        return bad_type(path, v, "peft_type", "a string");
    if (strcmp(v->str, "LORA") != 0)
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: peft_type \"%.40s\" is not supported; medner reads LoRA "
                            "adapters (\"LORA\")", path, v->line, v->column, v->str);
    /* r and lora_alpha default as in PEFT's LoraConfig */
    lc->r = 8;
    lc->alpha = 8;
    if ((v = member(root, "r")) != NULL) {
        if (v->type != MEDNER__JSON_NUMBER || !v->is_integer)
            return bad_type(path, v, "r", "an integer");
        if (v->integer < 1 || (uint64_t)v->integer >= MEDNER__MODEL_MAX_DIM)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: \"r\" is %lld; expected an integer from 1 to %zu",
                                path, v->line, v->column, (long long)v->integer,
                                MEDNER__MODEL_MAX_DIM - 1);
        lc->r = (size_t)v->integer;
    }
    if ((v = member(root, "lora_alpha")) != NULL) {
        if (v->type != MEDNER__JSON_NUMBER || !isfinite(v->number))
            return bad_type(path, v, "lora_alpha", "a number");
        lc->alpha = v->number;
    }
    if ((rc = get_bool(lc, root, "use_rslora", &lc->rslora)) != MEDNER_OK)
        return rc;
    int fifo = 0;
    if ((rc = get_bool(lc, root, "fan_in_fan_out", &fifo)) != MEDNER_OK)
        return rc;
    if (fifo) {
        v = member(root, "fan_in_fan_out");
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: \"fan_in_fan_out\": true (weights stored [in, out], as "
                            "GPT-2's Conv1D) is not supported; BERT's Linear layers are [out, in]",
                            path, v->line, v->column);
    }
    if ((v = member(root, "bias")) != NULL) {
        if (!is_string(v))
            return bad_type(path, v, "bias", "a string");
        if (strcmp(v->str, "none") != 0)
            return medner__fail(MEDNER_E_UNSUPPORTED,
                                "%s:%zu:%zu: \"bias\": \"%.20s\" (trained base biases) is not "
                                "supported; medner reads adapters with \"bias\": \"none\"", path,
                                v->line, v->column, v->str);
    }
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(off_keys); i++) {
        v = member(root, off_keys[i][0]);
        if (!is_off(v))
            return medner__fail(MEDNER_E_UNSUPPORTED, "%s:%zu:%zu: %s is not supported", path,
                                v->line, v->column, off_keys[i][1]);
    }
    if ((v = member(root, "base_model_name_or_path")) != NULL) {
        if (!is_string(v))
            return bad_type(path, v, "base_model_name_or_path", "a string");
        lc->base_model = v->str;
    }
    if ((rc = get_names(lc, root, "target_modules", 1, &lc->targets, &lc->n_targets)) ||
        (rc = get_names(lc, root, "exclude_modules", 0, &lc->exclude, &lc->n_exclude)) ||
        (rc = get_names(lc, root, "modules_to_save", 0, &lc->save, &lc->n_save)) ||
        (rc = read_layers(lc, root)))
        return rc;
    if (lc->targets == NULL) {
        int bert = m->config.arch == MEDNER__ARCH_BERT;
        const char **d = bert ? bert_default_targets : distil_default_targets;
        lc->targets = medner__calloc(2, sizeof *lc->targets);
        if (lc->targets == NULL)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        lc->targets[0] = d[0];
        lc->targets[1] = d[1];
        lc->n_targets = 2;
    }
    return MEDNER_OK;
}

/* ---- module matching (PEFT's rules for plain names) ----------------------- */

/* key == name, or key ends with "." + name (target_modules, exclude_modules). */
int medner__peft_ends_with_module(const char *key, size_t klen, const char *name)
{
    size_t n = strlen(name);
    if (klen == n)
        return memcmp(key, name, n) == 0;
    return klen > n && key[klen - n - 1] == '.' && memcmp(key + klen - n, name, n) == 0;
}

/* `name` is a whole run of components of key: key is, starts with, ends with
 * or contains it between dots (modules_to_save, and everything below it). */
int medner__peft_has_module(const char *key, size_t klen, const char *name)
{
    size_t n = strlen(name);
    for (size_t p = 0; p + n <= klen; p++)
        if ((p == 0 || key[p - 1] == '.') && memcmp(key + p, name, n) == 0 &&
            (p + n == klen || key[p + n] == '.'))
            return 1;
    return 0;
}

static int saved(const lora_config *lc, const char *module, size_t len)
{
    for (size_t i = 0; i < lc->n_save; i++)
        if (medner__peft_has_module(module, len, lc->save[i]))
            return 1;
    return 0;
}

/* Whether PEFT puts a LoRA layer on `module` (layer: its index, SIZE_MAX
 * outside the encoder layers). */
static int targeted(const lora_config *lc, const char *module, size_t len, size_t layer)
{
    for (size_t i = 0; i < lc->n_exclude; i++)
        if (medner__peft_ends_with_module(module, len, lc->exclude[i]))
            return 0;
    if (saved(lc, module, len))
        return 0;
    int hit = 0;
    for (size_t i = 0; i < lc->n_targets && !hit; i++)
        hit = medner__peft_ends_with_module(module, len, lc->targets[i]);
    if (!hit || lc->layers == NULL)
        return hit;
    for (size_t i = 0; i < lc->n_layers; i++)
        if (lc->layers[i] == layer)
            return 1;
    return 0;
}

/* ---- the adapter file ---------------------------------------------------- */

typedef struct apply_state {
    medner__model *m;
    const char *dir;            /* base directory */
    const char *adapter_dir;
    lora_config lc;
    medner__st_file file;       /* adapter_model.safetensors */
    lora_slot *slots;
    size_t n_slots;
    size_t n_pairs, n_skipped;
    int prefix_seen;            /* -1 none yet, 0 without, 1 with the model prefix */
} apply_state;

static int has_suffix(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static void shape_str(char *buf, size_t size, const medner__st_tensor *t)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < t->ndim && i < MEDNER__ST_MAX_DIMS && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, i ? ", %zu" : "%zu", t->shape[i]);
    if (k < size)
        snprintf(buf + k, size - k, t->ndim > MEDNER__ST_MAX_DIMS ? ", ...]" : "]");
}

static int check_dtype(const apply_state *st, const medner__st_tensor *t)
{
    if (t->dtype == MEDNER__DT_F32 || t->dtype == MEDNER__DT_F16 || t->dtype == MEDNER__DT_BF16)
        return MEDNER_OK;
    return medner__fail(MEDNER_E_UNSUPPORTED, "%s: tensor \"%.200s\" is %s; medner reads F32, F16 "
                        "and BF16 adapter tensors", st->file.path, t->name,
                        medner__dtype_name(t->dtype));
}

static int check_shape2(const apply_state *st, const medner__st_tensor *t, size_t d0, size_t d1,
                        const char *why)
{
    if (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1)
        return MEDNER_OK;
    char got[96];
    shape_str(got, sizeof got, t);
    return medner__fail(MEDNER_E_INVALID_MODEL, "%s: tensor \"%.200s\" has shape %s; expected "
                        "[%zu, %zu] (%s)", st->file.path, t->name, got, d0, d1, why);
}

/* The other half of a LoRA pair: same name with lora_A <-> lora_B. */
static const medner__st_tensor *partner(const apply_state *st, const medner__st_tensor *t,
                                        char *name, size_t size)
{
    snprintf(name, size, "%s", t->name);
    char *p = name + t->name_len - strlen("A.weight");
    *p = *p == 'A' ? 'B' : 'A';
    return medner__st_find(&st->file, name, t->name_len);
}

static int lora_tensor(apply_state *st, const medner__st_tensor *t, const char *module,
                       size_t mlen, int is_a)
{
    medner__model *m = st->m;
    char wname[NAME_MAX_LEN + 8];
    long s = -2;
    if (mlen <= NAME_MAX_LEN) {
        memcpy(wname, module, mlen);
        memcpy(wname + mlen, ".weight", sizeof ".weight");
        s = medner__model_slot(m, wname, mlen + strlen(".weight"));
    }
    if (s == -2 || (s >= 0 && !medner__model_slot_is_linear((size_t)s)))
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensor \"%.200s\" names no Linear layer of the base model %s (a "
                            "%zu-layer %s)", st->file.path, t->name, st->dir, m->config.layers,
                            m->config.model_type);
    size_t layer = s >= 0 ? medner__model_slot_layer((size_t)s) : SIZE_MAX;
    if (!targeted(&st->lc, module, mlen, layer))
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensor \"%.200s\": module \"%.*s\" is not one that %s targets "
                            "(target_modules, exclude_modules, modules_to_save, "
                            "layers_to_transform)", st->file.path, t->name,
                            (int)(mlen > 200 ? 200 : mlen), module, st->lc.path);
    char other[NAME_MAX_LEN + 64] = "";
    const medner__st_tensor *o = t->name_len < sizeof other ? partner(st, t, other, sizeof other)
                                                            : NULL;
    if (o == NULL)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: tensor \"%.200s\" has no partner \"%.200s\"",
                            st->file.path, t->name, other);
    int rc = check_dtype(st, t);
    if (rc != MEDNER_OK)
        return rc;
    size_t r = st->lc.r;
    /* lora_A is [r, in], lora_B [out, r]; in and out are checked against the
     * base weight below (unused modules only for the rank) */
    if (t->ndim != 2 || t->shape[is_a ? 0 : 1] != r) {
        char got[96];
        shape_str(got, sizeof got, t);
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensor \"%.200s\" has shape %s; expected %s (r = %zu in %s)",
                            st->file.path, t->name, got, is_a ? "[r, in]" : "[out, r]", r,
                            st->lc.path);
    }
    if (s == -1) { /* a module medner does not run (pooler.dense, ...) */
        if (is_a) {
            st->n_skipped++;
            st->n_pairs++;
        }
        return MEDNER_OK;
    }
    if ((size_t)s != MEDNER__SLOT_CLS_W) { /* the classifier never has the model prefix */
        const char *mp = m->config.arch == MEDNER__ARCH_BERT ? "bert." : "distilbert.";
        int with = strncmp(module, mp, strlen(mp)) == 0;
        if (st->prefix_seen >= 0 && st->prefix_seen != with)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s: tensor \"%.200s\": module names both with and without the "
                                "\"%s\" prefix in one adapter", st->file.path, t->name, mp);
        st->prefix_seen = with;
    }
    lora_slot *sl = &st->slots[s];
    const medner__st_tensor **dst = is_a ? &sl->a : &sl->b;
    if (*dst != NULL)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensors \"%.150s\" and \"%.150s\" are the same weight",
                            st->file.path, (*dst)->name, t->name);
    *dst = t;
    if (is_a)
        st->n_pairs++;
    return MEDNER_OK;
}

static int saved_tensor(apply_state *st, const medner__st_tensor *t, const char *rest, size_t len)
{
    const char *dot = strrchr(rest, '.');
    size_t mlen = dot ? (size_t)(dot - rest) : 0;
    long s = len <= NAME_MAX_LEN ? medner__model_slot(st->m, rest, len) : -2;
    if (s == -2)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensor \"%.200s\" names no tensor of the base model %s (a "
                            "%zu-layer %s)", st->file.path, t->name, st->dir,
                            st->m->config.layers, st->m->config.model_type);
    if (dot == NULL || !saved(&st->lc, rest, mlen))
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensor \"%.200s\" is neither a LoRA tensor (lora_A/lora_B) nor "
                            "part of a module in modules_to_save of %s", st->file.path, t->name,
                            st->lc.path);
    int rc = check_dtype(st, t);
    if (rc != MEDNER_OK || s == -1)
        return rc;
    lora_slot *sl = &st->slots[s];
    if (sl->save != NULL)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s: tensors \"%.150s\" and \"%.150s\" are the same weight",
                            st->file.path, sl->save->name, t->name);
    sl->save = t;
    return MEDNER_OK;
}

static int classify_tensors(apply_state *st)
{
    const size_t plen = strlen(KEY_PREFIX);
    for (size_t i = 0; i < st->file.n_tensors; i++) {
        const medner__st_tensor *t = &st->file.tensors[i];
        if (t->name_len <= plen || memcmp(t->name, KEY_PREFIX, plen) != 0)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s: unexpected tensor \"%.200s\" (PEFT names adapter tensors "
                                "\"" KEY_PREFIX "<module>.lora_A.weight\", ...)",
                                st->file.path, t->name);
        const char *rest = t->name + plen;
        size_t len = t->name_len - plen;
        int rc;
        if (has_suffix(rest, len, ".lora_A.weight") || has_suffix(rest, len, ".lora_B.weight"))
            rc = lora_tensor(st, t, rest, len - strlen(".lora_A.weight"),
                             rest[len - strlen("A.weight")] == 'A');
        else if (strstr(rest, "lora_") != NULL)
            rc = medner__fail(MEDNER_E_UNSUPPORTED,
                              "%s: tensor \"%.200s\": medner reads lora_A and lora_B weights "
                              "only (no DoRA magnitudes, LoRA biases or embedding LoRA)",
                              st->file.path, t->name);
        else
            rc = saved_tensor(st, t, rest, len);
        if (rc != MEDNER_OK)
            return rc;
    }
    if (st->n_pairs == 0)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: no LoRA tensors (lora_A/lora_B)",
                            st->file.path);
    return MEDNER_OK;
}

/* Shapes against the base; every targeted module medner runs has its pair. */
static int check_slots(apply_state *st)
{
    medner__model *m = st->m;
    const lora_slot *cw = &st->slots[MEDNER__SLOT_CLS_W], *cb = &st->slots[MEDNER__SLOT_CLS_B];
    size_t hidden = m->config.hidden;
    size_t rows = m->config.num_labels;
    if (cw->save != NULL || cb->save != NULL) {
        const medner__st_tensor *w = cw->save, *b = cb->save;
        if (w == NULL || b == NULL)
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s: missing tensor \"" KEY_PREFIX
                                "classifier.%s\" (modules_to_save has the other)",
                                st->file.path, w == NULL ? "weight" : "bias");
        rows = w->ndim == 2 ? w->shape[0] : 0;
        if (rows == 0 || rows >= MEDNER__MODEL_MAX_DIM) {
            char got[96];
            shape_str(got, sizeof got, w);
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s: tensor \"%.200s\" has shape %s; "
                                "expected [num_labels, %zu]", st->file.path, w->name, got,
                                hidden);
        }
        int rc = check_shape2(st, w, rows, hidden, "the classifier: [num_labels, hidden]");
        if (rc != MEDNER_OK)
            return rc;
        if (b->ndim != 1 || b->shape[0] != rows) {
            char got[96];
            shape_str(got, sizeof got, b);
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s: tensor \"%.200s\" has shape %s; "
                                "expected [%zu] (the classifier weight has %zu rows)",
                                st->file.path, b->name, got, rows, rows);
        }
    }
    const char *mp = st->prefix_seen == 1
                         ? (m->config.arch == MEDNER__ARCH_BERT ? "bert." : "distilbert.")
                         : "";
    for (size_t s = 0; s < st->n_slots; s++) {
        const lora_slot *sl = &st->slots[s];
        int head = s == MEDNER__SLOT_CLS_W || s == MEDNER__SLOT_CLS_B;
        if (sl->save != NULL && !head) {
            size_t dims[2];
            size_t nd = medner__model_slot_shape(m, s, dims);
            const medner__st_tensor *t = sl->save;
            if (t->ndim != nd || t->shape[0] != dims[0] || (nd == 2 && t->shape[1] != dims[1])) {
                char got[96], want[64];
                shape_str(got, sizeof got, t);
                if (nd == 2)
                    snprintf(want, sizeof want, "[%zu, %zu]", dims[0], dims[1]);
                else
                    snprintf(want, sizeof want, "[%zu]", dims[0]);
                return medner__fail(MEDNER_E_INVALID_MODEL,
                                    "%s: tensor \"%.200s\" has shape %s; the base tensor is %s",
                                    st->file.path, t->name, got, want);
            }
        }
        if (!medner__model_slot_is_linear(s))
            continue;
        int has_weight = *medner__model_slot_ptr(m, s) != NULL || sl->save != NULL;
        if (sl->a == NULL) {
            char module[NAME_MAX_LEN + 1];
            medner__model_slot_module(m, s, mp, module, sizeof module);
            if (has_weight &&
                targeted(&st->lc, module, strlen(module), medner__model_slot_layer(s)))
                return medner__fail(MEDNER_E_INVALID_MODEL,
                                    "%s: missing tensor \"" KEY_PREFIX "%s.lora_A.weight\" (%s "
                                    "targets module \"%s\")", st->file.path, module, st->lc.path,
                                    module);
            continue;
        }
        if (!has_weight)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s: tensor \"%.200s\": the base model %s has no token-"
                                "classification head (and modules_to_save brings none)",
                                st->file.path, sl->a->name, st->dir);
        size_t dims[2];
        medner__model_slot_shape(m, s, dims);
        if (s == MEDNER__SLOT_CLS_W)
            dims[0] = rows;
        int rc;
        if ((rc = check_shape2(st, sl->a, st->lc.r, dims[1], "[r, in] of the base weight")) ||
            (rc = check_shape2(st, sl->b, dims[0], st->lc.r, "[out, r] of the base weight")))
            return rc;
    }
    return MEDNER_OK;
}

/* ---- changing the model -------------------------------------------------- */

static long find_owned(const medner__model *m, const float *p)
{
    for (size_t i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p)
            return (long)i;
    return -1;
}

/* Put buf (numel floats) into slot s, keeping m->owned and the counters right. */
static int set_slot(apply_state *st, size_t s, float *buf)
{
    medner__model *m = st->m;
    const float **pp = medner__model_slot_ptr(m, s);
    if (*pp != NULL) {
        long i = find_owned(m, *pp);
        if (i >= 0) {
            medner__free(m->owned[i]);
            m->owned[i] = buf;
            *pp = buf;
            return MEDNER_OK;
        }
        if (medner__model_is_mapped(m, *pp, sizeof(float)))
            m->n_mapped--;
    }
    /* each slot holds at most one owned buffer, and materialise() sized
     * m->owned for every slot */
    if (m->n_owned >= st->n_slots) {
        medner__free(buf);
        return medner__fail(MEDNER_E_INTERNAL, "%s: more owned tensors than slots", st->file.path);
    }
    m->owned[m->n_owned++] = buf;
    *pp = buf;
    return MEDNER_OK;
}

static int replace(apply_state *st, size_t s)
{
    medner__model *m = st->m;
    const medner__st_tensor *t = st->slots[s].save;
    float *buf = medner__calloc(t->numel, sizeof *buf);
    if (buf == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory for tensor \"%.200s\"",
                            st->file.path, t->name);
    medner__st_to_f32(buf, t);
    size_t dims[2], old = 0;
    if (*medner__model_slot_ptr(m, s) != NULL) {
        size_t nd = medner__model_slot_shape(m, s, dims);
        old = nd == 2 ? dims[0] * dims[1] : dims[0];
    }
    int rc = set_slot(st, s, buf);
    if (rc != MEDNER_OK)
        return rc;
    m->n_params = m->n_params - old + t->numel;
    m->adapter->n_replaced++;
    return MEDNER_OK;
}

/* w[out, in] += scale * b[out, r] . a[r, in]; per row, the r products of each
 * element are summed in double in order k = 0 .. r-1 and rounded once. */
static void merge_rows(float *w, const float *a, const float *b, size_t out, size_t in, size_t r,
                       double scale, double *acc)
{
    for (size_t i = 0; i < out; i++) {
        for (size_t j = 0; j < in; j++)
            acc[j] = 0.0;
        for (size_t k = 0; k < r; k++) {
            double bk = (double)b[i * r + k];
            const float *ak = a + k * in;
            for (size_t j = 0; j < in; j++)
                acc[j] += bk * (double)ak[j];
        }
        float *wi = w + i * in;
        for (size_t j = 0; j < in; j++)
            wi[j] = (float)((double)wi[j] + scale * acc[j]);
    }
}

static int merge(apply_state *st, size_t s)
{
    medner__model *m = st->m;
    const lora_slot *sl = &st->slots[s];
    size_t r = st->lc.r, out = sl->b->shape[0], in = sl->a->shape[1];
    float *w = NULL;
    const float **pp = medner__model_slot_ptr(m, s);
    long own = find_owned(m, *pp);
    if (own >= 0) {
        w = m->owned[own]; /* converted (F16/BF16) or replaced: already private */
    } else {
        w = medner__calloc(out * in, sizeof *w);
        if (w == NULL)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory for tensor "
                                "\"%.200s\"", st->file.path, sl->a->name);
        memcpy(w, *pp, out * in * sizeof *w);
        int rc = set_slot(st, s, w);
        if (rc != MEDNER_OK)
            return rc;
    }
    float *a = medner__calloc(r * in, sizeof *a);
    float *b = medner__calloc(out * r, sizeof *b);
    double *acc = medner__calloc(in, sizeof *acc);
    int rc = MEDNER_OK;
    if (a == NULL || b == NULL || acc == NULL) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory for tensor \"%.200s\"",
                          st->file.path, sl->a->name);
    } else {
        medner__st_to_f32(a, sl->a);
        medner__st_to_f32(b, sl->b);
        merge_rows(w, a, b, out, in, r, m->adapter->scale, acc);
        m->adapter->n_merged++;
    }
    medner__free(a);
    medner__free(b);
    medner__free(acc);
    return rc;
}

/* "a, b, c" without repeats (PEFT writes modules_to_save ["classifier",
 * "classifier", "score"] for token classification). */
static char *join_names(const char *const *names, size_t n)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(names[i]) + 2;
    char *s = medner__malloc(total);
    if (s == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(names[i], names[j]) == 0;
        if (!seen)
            k += (size_t)snprintf(s + k, total - k, "%s%s", k ? ", " : "", names[i]);
    }
    s[k] = '\0';
    return s;
}

/* The record is one allocation, its strings after the struct, so that
 * medner__model_free() releases it with medner__free() without calling into
 * this file (the adapter is the layer above the model). */
static int record_adapter(apply_state *st)
{
    char *targets = join_names(st->lc.targets, st->lc.n_targets);
    char *save = join_names(st->lc.save, st->lc.n_save);
    const char *base = st->lc.base_model;
    size_t ld = strlen(st->adapter_dir) + 1, lb = base ? strlen(base) + 1 : 0;
    size_t lt = targets ? strlen(targets) + 1 : 0, ls = save ? strlen(save) + 1 : 0;
    medner__adapter *a =
        targets && save ? medner__calloc(1, sizeof *a + ld + lb + lt + ls) : NULL;
    if (a == NULL) {
        medner__free(targets);
        medner__free(save);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", st->adapter_dir);
    }
    char *p = (char *)(a + 1);
    a->dir = memcpy(p, st->adapter_dir, ld);
    p += ld;
    if (base != NULL) {
        a->base_model = memcpy(p, base, lb);
        p += lb;
    }
    a->targets = memcpy(p, targets, lt);
    p += lt;
    a->modules_to_save = memcpy(p, save, ls);
    medner__free(targets);
    medner__free(save);
    st->m->adapter = a;
    a->r = st->lc.r;
    a->alpha = st->lc.alpha;
    a->rslora = st->lc.rslora;
    a->scale = st->lc.rslora ? st->lc.alpha / sqrt((double)st->lc.r)
                             : st->lc.alpha / (double)st->lc.r;
    a->n_skipped = st->n_skipped;
    return MEDNER_OK;
}

/* Labels of the head after the adapter: the adapter directory's config.json
 * id2label, else (when the adapter brings the classifier) the base
 * config.json id2label, else LABEL_i; their number must be the classifier's
 * rows. */
static int relabel(apply_state *st)
{
    medner__model *m = st->m;
    int replaced = st->slots[MEDNER__SLOT_CLS_W].save != NULL;
    if (m->weights.cls_w == NULL)
        return MEDNER_OK; /* no head: labels are kept only with one */
    char **labels = NULL;
    size_t n = 0;
    const char *from = NULL;
    char *apath = medner__path_join(st->adapter_dir, "config.json");
    char *bpath = medner__path_join(st->dir, "config.json");
    int rc = apath && bpath ? MEDNER_OK : medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    if (rc == MEDNER_OK && medner__file_exists(apath)) {
        rc = medner__config_load_id2label(apath, &labels, &n);
        from = apath;
    }
    if (rc == MEDNER_OK && labels == NULL && replaced) {
        rc = medner__config_load_id2label(bpath, &labels, &n);
        from = bpath;
    }
    size_t rows = replaced ? st->slots[MEDNER__SLOT_CLS_W].save->shape[0] : m->config.num_labels;
    if (rc == MEDNER_OK && labels == NULL && replaced) { /* transformers' default names */
        labels = medner__calloc(rows, sizeof *labels);
        n = labels ? rows : 0;
        int oom = labels == NULL;
        for (size_t i = 0; i < n && !oom; i++) {
            char tmp[32];
            int len = snprintf(tmp, sizeof tmp, "LABEL_%zu", i);
            oom = (labels[i] = medner__strndup(tmp, (size_t)len)) == NULL;
        }
        if (oom)
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", st->adapter_dir);
        from = st->adapter_dir;
    }
    if (rc == MEDNER_OK && labels != NULL && n != rows)
        rc = medner__fail(MEDNER_E_INVALID_MODEL,
                          "%s: id2label has %zu labels but the classifier%s has %zu rows", from, n,
                          replaced ? " in the adapter" : " of the base", rows);
    if (rc == MEDNER_OK && labels != NULL) {
        medner__config_release(&m->config);
        m->config.labels = labels;
        m->config.num_labels = n;
        m->config.head = MEDNER__HEAD_REQUIRED;
        labels = NULL;
    }
    medner__labels_free(labels, n);
    medner__free(apath);
    medner__free(bpath);
    return rc;
}

static int apply(apply_state *st)
{
    medner__model *m = st->m;
    int rc;
    char *path = medner__path_join(st->adapter_dir, "adapter_config.json");
    if (path == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    st->lc.path = path;
    if (!medner__file_exists(path))
        rc = medner__fail(MEDNER_E_IO, "%s: no adapter_config.json (not a PEFT adapter "
                          "directory)", st->adapter_dir);
    else
        rc = read_lora_config(&st->lc, m);
    if (rc != MEDNER_OK)
        return rc;
    char *wpath = medner__path_join(st->adapter_dir, "adapter_model.safetensors");
    if (wpath == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    if (!medner__file_exists(wpath)) {
        char *bin = medner__path_join(st->adapter_dir, "adapter_model.bin");
        int have_bin = bin != NULL && medner__file_exists(bin);
        medner__free(bin);
        rc = have_bin ? medner__fail(MEDNER_E_UNSUPPORTED,
                                     "%s: only adapter_model.bin, a PyTorch pickle medner does "
                                     "not read; save the adapter with safetensors "
                                     "(PeftModel.save_pretrained(dir, safe_serialization=True))",
                                     st->adapter_dir)
                      : medner__fail(MEDNER_E_IO, "%s: no adapter_model.safetensors",
                                     st->adapter_dir);
    } else {
        rc = medner__st_open(&st->file, wpath);
    }
    medner__free(wpath);
    if (rc != MEDNER_OK)
        return rc;
    st->n_slots = medner__model_n_slots(m);
    st->slots = medner__calloc(st->n_slots, sizeof *st->slots);
    if (st->slots == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", st->file.path);
    st->prefix_seen = -1;
    if ((rc = classify_tensors(st)) != MEDNER_OK || (rc = check_slots(st)) != MEDNER_OK ||
        (rc = record_adapter(st)) != MEDNER_OK)
        return rc;
    /* everything checked: change the model */
    for (size_t s = 0; s < st->n_slots; s++)
        if (st->slots[s].save != NULL && (rc = replace(st, s)) != MEDNER_OK)
            return rc;
    for (size_t s = 0; s < st->n_slots; s++)
        if (st->slots[s].a != NULL && (rc = merge(st, s)) != MEDNER_OK)
            return rc;
    if ((rc = relabel(st)) != MEDNER_OK)
        return rc;
    medner__model_release_unused_maps(m);
    return MEDNER_OK;
}

int medner__model_load_adapter(medner__model **out, const char *dir, const char *adapter_dir)
{
    if (adapter_dir == NULL)
        return medner__model_load(out, dir);
    if (out == NULL || dir == NULL || adapter_dir[0] == '\0')
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__model_load_adapter: out and dir "
                            "are required, and the adapter directory must not be empty");
    struct stat sb;
    if (stat(adapter_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return medner__fail(MEDNER_E_IO, "%s: not a directory (the adapter)", adapter_dir);
    medner__model *m = NULL;
    int rc = medner__model_load(&m, dir);
    if (rc != MEDNER_OK)
        return rc;
    apply_state st;
    memset(&st, 0, sizeof st);
    st.m = m;
    st.dir = dir;
    st.adapter_dir = adapter_dir;
    rc = apply(&st);
    medner__free((char *)st.lc.path);
    lora_config_release(&st.lc);
    medner__st_close(&st.file, 0);
    medner__free(st.slots);
    if (rc != MEDNER_OK) {
        medner__model_free(m);
        return rc;
    }
    *out = m;
    return MEDNER_OK;
}
