/*
 * LoRA training parameters and the PEFT adapter directory (lora.h). The
 * forward and backward of the LoRA path sit in train.c with the rest of the
 * step; this file builds the trainable set and writes it out.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json/json.h"
#include "model/adapter.h"
#include "train/lora.h"
#include "train/save.h"

static const char *bert_default_targets[] = { "query", "value" };
static const char *distil_default_targets[] = { "q_lin", "v_lin" };

void medner__lora_config_default(medner__lora_config *c)
{
    memset(c, 0, sizeof *c);
    c->r = 8;
    c->alpha = 8.0f;
    c->dropout = 0.0f;
}

void medner__lora_free(struct medner__lora *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_targets; i++)
        medner__free(l->targets[i]);
    for (size_t i = 0; i < l->n_save; i++)
        medner__free(l->save[i]);
    medner__free(l->targets);
    medner__free(l->save);
    medner__free(l->mods);
    medner__free(l->index);
    medner__free(l->base_name);
    medner__free(l);
}

/* ---- PEFT's matching rules (medner__peft_*_module of src/model/adapter.c) ---- */

static int is_saved(const struct medner__lora *l, const char *module)
{
    for (size_t i = 0; i < l->n_save; i++)
        if (medner__peft_has_module(module, strlen(module), l->save[i]))
            return 1;
    return 0;
}

static int is_targeted(const struct medner__lora *l, const char *module)
{
    if (is_saved(l, module))
        return 0;
    for (size_t i = 0; i < l->n_targets; i++)
        if (medner__peft_ends_with_module(module, strlen(module), l->targets[i]))
            return 1;
    return 0;
}

static const char *model_prefix(const medner__model *m)
{
    return m->config.arch == MEDNER__ARCH_BERT ? "bert." : "distilbert.";
}

/* Which linear of its layer the weight of slot s is (-1: none). */
static int which_linear(medner__model *m, size_t s, size_t layer)
{
    const float *p = *medner__model_slot_ptr(m, s);
    const medner__layer *L = &m->weights.layers[layer];
    const float *ws[MEDNER__LORA_WHICH] = { L->q_w, L->k_w, L->v_w, L->o_w, L->ffn1_w, L->ffn2_w };
    for (int i = 0; i < MEDNER__LORA_WHICH; i++)
        if (p != NULL && p == ws[i])
            return i;
    return -1;
}

static char **copy_names(const char *const *names, size_t n, int *bad)
{
    char **out = medner__calloc(n ? n : 1, sizeof *out);
    if (out == NULL) {
        *bad = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if ((out[i] = medner__strndup(names[i], strlen(names[i]))) == NULL)
            *bad = 1;
    return out;
}

int medner__tparams_create_lora(medner__tparams **out, medner__model *m,
                                const medner__lora_config *cfg)
{
    if (out == NULL || m == NULL || cfg == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner__tparams_create_lora: NULL argument");
    if (m->weights.cls_w == NULL || m->config.num_labels == 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "LoRA training needs a token-classification head (classifier.weight); "
                            "this model has none");
    if (cfg->r == 0 || cfg->r > 4096)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "LoRA: r is %zu; expected 1 to 4096",
                            cfg->r);
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "LoRA: lora_dropout is %g; expected a number in [0, 1)",
                            (double)cfg->dropout);
    if (!isfinite(cfg->alpha))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "LoRA: lora_alpha is not finite");
    if (cfg->n_targets > MEDNER__LORA_MAX_NAMES || cfg->n_save > MEDNER__LORA_MAX_NAMES)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "LoRA: more than %d target_modules or modules_to_save",
                            MEDNER__LORA_MAX_NAMES);
    for (size_t i = 0; i < cfg->n_targets + cfg->n_save; i++) {
        const char *nm = i < cfg->n_targets ? cfg->target_modules[i]
                                            : cfg->modules_to_save[i - cfg->n_targets];
        if (nm == NULL || nm[0] == '\0' || strlen(nm) > 200)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "LoRA: %s entry %zu is empty or longer than 200 bytes",
                                i < cfg->n_targets ? "target_modules" : "modules_to_save",
                                i < cfg->n_targets ? i : i - cfg->n_targets);
    }
    int bert = m->config.arch == MEDNER__ARCH_BERT;
    static const char *const default_save[] = { "classifier" };
    const char *const *targets = cfg->n_targets ? cfg->target_modules
                                 : bert        ? bert_default_targets
                                               : distil_default_targets;
    size_t n_targets = cfg->n_targets ? cfg->n_targets : 2;
    const char *const *save = cfg->n_save ? cfg->modules_to_save : default_save;
    size_t n_save = cfg->n_save ? cfg->n_save : 1;

    medner__tparams *t = NULL;
    struct medner__lora *l = medner__calloc(1, sizeof *l);
    size_t NS = medner__model_n_slots(m), NL = m->config.layers;
    int bad = l == NULL;
    if (!bad) {
        l->r = cfg->r;
        l->alpha = cfg->alpha;
        l->dropout = cfg->dropout;
        l->scale = cfg->alpha / (float)cfg->r; /* PEFT: lora_alpha / r (Python float) */
        l->seed = cfg->seed;
        l->n_model_slots = NS;
        l->targets = copy_names(targets, n_targets, &bad);
        l->n_targets = l->targets ? n_targets : 0;
        l->save = copy_names(save, n_save, &bad);
        l->n_save = l->save ? n_save : 0;
        const char *bn = cfg->base_model_name_or_path ? cfg->base_model_name_or_path : "";
        l->base_name = medner__strndup(bn, strlen(bn));
        l->index = medner__malloc((NL ? NL : 1) * MEDNER__LORA_WHICH * sizeof *l->index);
        l->mods = medner__calloc(NL * MEDNER__LORA_WHICH + 1, sizeof *l->mods);
        bad = bad || !l->base_name || !l->index || !l->mods;
    }
    if (bad)
        goto oom;
    for (size_t i = 0; i < NL * MEDNER__LORA_WHICH; i++)
        l->index[i] = -1;
    /* which slots are saved, which Linears targeted */
    unsigned char *saved = medner__calloc(NS, 1);
    if (saved == NULL)
        goto oom;
    char module[256];
    for (size_t s = 0; s < NS; s++) {
        if (*medner__model_slot_ptr(m, s) == NULL)
            continue;
        medner__model_slot_module(m, s, model_prefix(m), module, sizeof module);
        saved[s] = (unsigned char)is_saved(l, module);
        if (!medner__model_slot_is_linear(s) || !is_targeted(l, module))
            continue;
        size_t layer = medner__model_slot_layer(s);
        int which = layer == SIZE_MAX ? -1 : which_linear(m, s, layer);
        if (which < 0) {
            medner__free(saved);
            medner__lora_free(l);
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "LoRA: target_modules matches \"%s\", which medner trains only "
                                "as a whole (add it to modules_to_save)", module);
        }
        size_t dims[2];
        medner__model_slot_shape(m, s, dims);
        medner__lora_mod *md = &l->mods[l->n_mods];
        md->slot = s;
        md->layer = layer;
        md->which = (size_t)which;
        md->out = dims[0];
        md->in = dims[1];
        md->a_slot = NS + 2 * l->n_mods;
        md->b_slot = md->a_slot + 1;
        l->index[layer * MEDNER__LORA_WHICH + (size_t)which] = (long)l->n_mods;
        l->n_mods++;
    }
    if (l->n_mods == 0) {
        medner__free(saved);
        medner__lora_free(l);
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "LoRA: target_modules matches no Linear layer of this %s model",
                            m->config.model_type);
    }
    /* the parameters */
    t = medner__calloc(1, sizeof *t);
    if (t == NULL) {
        medner__free(saved);
        goto oom;
    }
    t->config = m->config;
    t->n_slots = NS + 2 * l->n_mods;
    t->off = medner__calloc(t->n_slots, sizeof *t->off);
    t->numel = medner__calloc(t->n_slots, sizeof *t->numel);
    t->ndim = medner__calloc(t->n_slots, 1);
    t->w.layers = medner__calloc(NL ? NL : 1, sizeof *t->w.layers);
    if (!t->off || !t->numel || !t->ndim || !t->w.layers) {
        medner__free(saved);
        goto oom;
    }
    size_t n = 0;
    for (size_t s = 0; s < t->n_slots; s++) {
        size_t dims[2] = { 1, 1 };
        if (s < NS) {
            t->ndim[s] = (unsigned char)medner__model_slot_shape(m, s, dims);
            if (!saved[s])
                continue;
        } else {
            const medner__lora_mod *md = &l->mods[(s - NS) / 2];
            int is_a = (s - NS) % 2 == 0;
            t->ndim[s] = 2;
            dims[0] = is_a ? l->r : md->out;
            dims[1] = is_a ? md->in : l->r;
        }
        t->off[s] = n;
        t->numel[s] = dims[0] * (t->ndim[s] > 1 ? dims[1] : 1);
        n += (t->numel[s] + 15) / 16 * 16;
    }
    t->n = n;
    t->param = medner__calloc(n ? n : 1, sizeof(float));
    t->grad = medner__calloc(n ? n : 1, sizeof(float));
    if (!t->param || !t->grad) {
        medner__free(saved);
        goto oom;
    }
    /* the view: the model's weights, the saved slots pointing at their copies */
    medner__model view;
    memset(&view, 0, sizeof view);
    view.config = m->config;
    view.weights = m->weights;
    view.weights.layers = t->w.layers;
    for (size_t i = 0; i < NL; i++)
        t->w.layers[i] = m->weights.layers[i];
    for (size_t s = 0; s < NS; s++) {
        if (!saved[s] || t->numel[s] == 0)
            continue;
        memcpy(t->param + t->off[s], *medner__model_slot_ptr(m, s), t->numel[s] * sizeof(float));
        *medner__model_slot_ptr(&view, s) = t->param + t->off[s];
    }
    t->w = view.weights;
    medner__free(saved);
    /* A: uniform in [-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform_(a = sqrt(5)) bound),
     * from the counter RNG: stream = the module's index; B = 0 (calloc) */
    for (size_t i = 0; i < l->n_mods; i++) {
        const medner__lora_mod *md = &l->mods[i];
        float *A = t->param + t->off[md->a_slot];
        float bound = (float)(1.0 / sqrt((double)md->in));
        for (size_t k = 0; k < l->r * md->in; k++)
            A[k] = bound * (2.0f * medner__rng_uniform(l->seed, 0x4c6f5241ULL + i, k) - 1.0f);
    }
    t->lora = l;
    *out = t;
    return MEDNER_OK;
oom:
    if (t != NULL)
        medner__tparams_free(t); /* t->lora not yet set */
    medner__lora_free(l);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "LoRA training parameters: out of memory");
}

/* ---- the PEFT directory ----------------------------------------------------------- */

static int put_names(medner__buf *b, char *const *names, size_t n)
{
    int bad = medner__buf_append_str(b, "[");
    for (size_t i = 0; i < n && !bad; i++)
        bad = (i && medner__buf_append_str(b, ", ")) ||
              medner__buf_json_string(b, names[i], strlen(names[i]));
    return bad || medner__buf_append_str(b, "]");
}

/* A float as the shortest decimal that reads back to it (0.1f -> 0.1). */
static double short_float(float f)
{
    for (int digits = 1; digits <= 9; digits++) {
        double p = pow(10.0, digits), d = round((double)f * p) / p;
        if ((float)d == f)
            return d;
    }
    return (double)f;
}

static int write_adapter_config(const struct medner__lora *l, const char *dir)
{
    medner__buf b = MEDNER__BUF_INIT;
    int bad = medner__buf_append_str(&b, "{\n  \"base_model_name_or_path\": ") ||
              medner__buf_json_string(&b, l->base_name, strlen(l->base_name)) ||
              medner__buf_append_str(&b, ",\n  \"bias\": \"none\",\n  \"fan_in_fan_out\": false,\n"
                                         "  \"inference_mode\": true,\n  \"init_lora_weights\": true,\n"
                                         "  \"lora_alpha\": ") ||
              medner__buf_json_double(&b, short_float(l->alpha)) ||
              medner__buf_append_str(&b, ",\n  \"lora_dropout\": ") ||
              medner__buf_json_double(&b, short_float(l->dropout)) ||
              medner__buf_append_str(&b, ",\n  \"modules_to_save\": ") ||
              put_names(&b, l->save, l->n_save) ||
              medner__buf_append_str(&b, ",\n  \"peft_type\": \"LORA\",\n  \"r\": ") ||
              medner__buf_printf(&b, "%zu", l->r) ||
              medner__buf_append_str(&b, ",\n  \"revision\": null,\n  \"target_modules\": ") ||
              put_names(&b, l->targets, l->n_targets) ||
              medner__buf_append_str(&b, ",\n  \"task_type\": \"TOKEN_CLS\",\n"
                                         "  \"use_dora\": false,\n  \"use_rslora\": false\n}\n");
    char *path = medner__path_join(dir, "adapter_config.json");
    int rc = bad || path == NULL
                 ? medner__fail(MEDNER_E_OUT_OF_MEMORY, "adapter_config.json: out of memory")
                 : medner__write_file_atomic(path, b.data, b.len);
    medner__free(path);
    medner__buf_free(&b);
    return rc;
}

int medner__lora_slot_name(const medner__tparams *t, const medner__model *m, size_t s, char *buf,
                           size_t size)
{
    if (t == NULL || m == NULL || buf == NULL || s >= t->n_slots || t->numel[s] == 0)
        return -1;
    const struct medner__lora *l = t->lora;
    if (l == NULL) /* full fine-tuning: the Hugging Face name */
        return medner__slot_hf_name(m, s, buf, size);
    char inner[256];
    int w;
    if (s < l->n_model_slots) {
        if (medner__slot_hf_name(m, s, inner, sizeof inner) != 0)
            return -1;
        w = snprintf(buf, size, "base_model.model.%s", inner);
    } else {
        const medner__lora_mod *md = &l->mods[(s - l->n_model_slots) / 2];
        medner__model_slot_module(m, md->slot, model_prefix(m), inner, sizeof inner);
        w = snprintf(buf, size, "base_model.model.%s.lora_%c.weight", inner,
                     (s - l->n_model_slots) % 2 == 0 ? 'A' : 'B');
    }
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

int medner__tparams_save_peft(const medner__tparams *t, const medner__model *m,
                              const char *base_dir, const char *dir)
{
    if (t == NULL || m == NULL || base_dir == NULL || dir == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__tparams_save_peft: NULL argument");
    const struct medner__lora *l = t->lora;
    if (l == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "%s: these parameters are not LoRA ones (medner__tparams_create_lora); "
                            "save a full model with medner__tparams_save_hf", dir);
    if (strcmp(base_dir, dir) == 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "%s: the adapter directory must not be the base model's", dir);
    /* config.json (with t's id2label) and the tokenizer files: the full-model
     * writer with no tensor, whose empty model.safetensors is then removed */
    medner__tparams cfg_only = *t;
    cfg_only.n_slots = 0;
    int rc = medner__tparams_save_hf(&cfg_only, m, base_dir, dir);
    char *empty = medner__path_join(dir, "model.safetensors");
    if (empty == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir);
    if (rc == MEDNER_OK && unlink(empty) != 0)
        rc = medner__fail(MEDNER_E_IO, "%s: cannot remove the placeholder", empty);
    medner__free(empty);
    if (rc != MEDNER_OK)
        return rc;
    /* adapter_model.safetensors */
    size_t cap = t->n_slots;
    char(*names)[320] = medner__calloc(cap, sizeof *names);
    const char **np = medner__calloc(cap, sizeof *np);
    size_t(*dims)[2] = medner__calloc(cap, sizeof *dims);
    const size_t **sp = medner__calloc(cap, sizeof *sp);
    unsigned char *nd = medner__calloc(cap, 1);
    const float **dp = medner__calloc(cap, sizeof *dp);
    char *path = medner__path_join(dir, "adapter_model.safetensors");
    size_t n = 0;
    if (!names || !np || !dims || !sp || !nd || !dp || !path) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir);
        goto done;
    }
    for (size_t s = 0; s < t->n_slots; s++) {
        if (t->numel[s] == 0)
            continue;
        if (medner__lora_slot_name(t, m, s, names[n], sizeof names[n]) != 0) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: no PEFT name for slot %zu", dir, s);
            goto done;
        }
        if (s < l->n_model_slots) {
            nd[n] = t->ndim[s];
            medner__model_slot_shape(m, s, dims[n]);
            if (s == MEDNER__SLOT_CLS_W || s == MEDNER__SLOT_CLS_B)
                dims[n][0] = t->config.num_labels;
        } else {
            const medner__lora_mod *md = &l->mods[(s - l->n_model_slots) / 2];
            int is_a = (s - l->n_model_slots) % 2 == 0;
            nd[n] = 2;
            dims[n][0] = is_a ? l->r : md->out;
            dims[n][1] = is_a ? md->in : l->r;
        }
        np[n] = names[n];
        sp[n] = dims[n];
        dp[n] = t->param + t->off[s];
        n++;
    }
    rc = medner__safetensors_write(path, n, np, sp, nd, dp);
    if (rc == MEDNER_OK)
        rc = write_adapter_config(l, dir);
done:
    medner__free(names);
    medner__free(np);
    medner__free(dims);
    medner__free(sp);
    medner__free(nd);
    medner__free(dp);
    medner__free(path);
    return rc;
}
