/*
 * The trainer (public API medner_trainer_*, include/medner.h "Training"):
 * data -> micro-batches -> medner__train_step -> medner__adamw_step, dev
 * evaluation each epoch (seqeval default mode, eval/eval.h), early
 * stopping, best model and resumable checkpoints. docs/training.md
 * ("Trainer") describes the loop, the files and the resume guarantee.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "common/struct_sizes.h"
#include "eval/eval.h"
#include "json/json.h"
#include "model/adapter.h"
#include "model/model.h"
#include "kernels/bgemm.h"
#include "train/data.h"
#include "train/lora.h"
#include "train/save.h"
#include "train/train.h"

/* First released sizes (EXPERIMENTAL API: the sizes of its first version);
 * appended fields never land in tail padding (common/struct_sizes.h). */
#define SIZE_V1_PARAMS MEDNER__END_OF(medner_train_params, types)
#define SIZE_V1_INFO MEDNER__END_OF(medner_train_info, unknown_tags)
MEDNER__NO_TAIL_PADDING(medner_train_params, reserved_precision);
MEDNER__NO_TAIL_PADDING(medner_train_info, unknown_tags);
MEDNER__NO_TAIL_PADDING(medner_train_progress, dev_f1);
#if defined(__LP64__) && SIZE_MAX == UINT64_MAX
_Static_assert(SIZE_V1_PARAMS == 184, "first size of medner_train_params");
_Static_assert(SIZE_V1_INFO == 104, "first size of medner_train_info");
#endif
#define STATE_FORMAT 1

struct medner_trainer {
    medner_train_params p;     /* defaults resolved; strings owned */
    medner__model *model;
    medner__model view;        /* the model with the training head */
    float *head_w, *head_b;    /* a new head, or NULL */
    char **labels;
    size_t n_labels;
    medner_tokenizer *tok;
    medner__tcorpus *train_c, *dev_c;
    medner__tdata *train, *dev;
    medner__tparams *tp;
    char *lora_names;          /* lora_targets and lora_modules_to_save, split in place */
    medner__adamw opt;
    int opt_ready;
    medner__trainer_ctx *ctx;
    float hidden_drop, att_drop;
    /* progress (saved in checkpoints) */
    uint32_t epoch;            /* current epoch */
    size_t batch;              /* next micro-batch of the epoch */
    uint64_t micro;            /* micro-batches done: the dropout counter */
    double best_f1;
    uint32_t best_epoch, bad_epochs;
    int has_best;
    double epoch_loss;         /* sum of token losses of the epoch so far */
    double epoch_count;
    /* derived */
    size_t n_batches, steps_per_epoch;
    uint64_t total_steps;
    size_t *order;
    int32_t *bids, *blabels;
    size_t *blens;
    atomic_int cancel;
    medner_train_stop stop;
    int resumed;
    size_t truncated;
    char *fingerprint;
};

/* ---- helpers ------------------------------------------------------------------------------ */

static char *dup_str(const char *s)
{
    return s ? medner__strndup(s, strlen(s)) : NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double config_number(const medner__json *root, const char *key, double dflt)
{
    const medner__json *v = medner__json_get(root, key);
    return v && v->type == MEDNER__JSON_NUMBER ? v->number : dflt;
}

/* Dropout rates and initializer_range of the base config.json. */
static int read_base_config(medner_trainer *t, double *init_range)
{
    char *path = medner__path_join(t->p.base_dir, "config.json");
    if (path == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "config.json: out of memory");
    medner__json_doc *doc = NULL;
    int rc = medner__json_parse_file(&doc, path);
    medner__free(path);
    if (rc != MEDNER_OK)
        return rc;
    const medner__json *root = medner__json_root(doc);
    int distil = t->model->config.arch == MEDNER__ARCH_DISTILBERT;
    double hd = config_number(root, distil ? "dropout" : "hidden_dropout_prob", 0.1);
    double ad = config_number(root, distil ? "attention_dropout" : "attention_probs_dropout_prob",
                              0.1);
    *init_range = config_number(root, "initializer_range", 0.02);
    medner__json_free(doc);
    t->hidden_drop = (float)(t->p.hidden_dropout < 0 ? 0 : t->p.hidden_dropout > 0 ? t->p.hidden_dropout : hd);
    t->att_drop = (float)(t->p.attention_dropout < 0 ? 0 : t->p.attention_dropout > 0 ? t->p.attention_dropout : ad);
    if (!(t->hidden_drop >= 0 && t->hidden_drop < 1) || !(t->att_drop >= 0 && t->att_drop < 1))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "dropout rates must be in [0, 1)");
    return MEDNER_OK;
}

/* N(0, sd) by Box-Muller over splitmix64 (the new head; docs/training.md). */
static float normal(uint64_t *st, double sd)
{
    double u1 = ((double)(medner__splitmix64(st) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(medner__splitmix64(st) >> 11) / 9007199254740992.0;
    return (float)(sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- LoRA (lora_r > 0) ----------------------------------------------------------------------- */

/* Split the comma-separated list `list` (in the writable copy at *cur,
 * advanced past it) into out[]: entries trimmed of spaces, none empty. */
static int split_names(char **cur, const char *list, const char *what, const char **out,
                       size_t *n)
{
    size_t len = strlen(list);
    char *s = *cur;
    memcpy(s, list, len + 1);
    *cur = s + len + 1;
    *n = 0;
    for (char *tok = s;;) {
        char *comma = strchr(tok, ',');
        if (comma != NULL)
            *comma = '\0';
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t tl = strlen(tok);
        while (tl > 0 && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
            tok[--tl] = '\0';
        if (tl == 0)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s \"%.200s\": an empty module name "
                                "(expected comma-separated names such as \"query,value\")", what,
                                list);
        if (*n == MEDNER__LORA_MAX_NAMES)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: more than %d names", what,
                                MEDNER__LORA_MAX_NAMES);
        out[(*n)++] = tok;
        if (comma == NULL)
            break;
        tok = comma + 1;
    }
    return MEDNER_OK;
}

static const char *const bert_targets[] = { "query", "key", "value", "dense" };
static const char *const distil_targets[] = { "q_lin", "k_lin", "v_lin",
                                               "out_lin", "lin1", "lin2" };

static int set_up_lora(medner_trainer *t)
{
    const medner_train_params *p = &t->p;
    medner__model *m = &t->view;
    int bert = m->config.arch == MEDNER__ARCH_BERT;
    const char *prefix = bert ? "bert." : "distilbert.";
    if (p->lora_r > m->config.hidden)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "lora_r %u is larger than the model's "
                            "hidden size %zu (a LoRA rank is at most the smaller dimension of the "
                            "Linears it adapts; typical: 4 to 64)", p->lora_r, m->config.hidden);
    medner__lora_config cfg;
    medner__lora_config_default(&cfg);
    cfg.r = p->lora_r;
    cfg.alpha = p->lora_alpha;
    cfg.dropout = (float)p->lora_dropout;
    cfg.seed = p->seed;
    cfg.base_model_name_or_path = p->base_dir;
    size_t need = (p->lora_targets ? strlen(p->lora_targets) + 1 : 0) +
                  (p->lora_modules_to_save ? strlen(p->lora_modules_to_save) + 1 : 0) + 1;
    t->lora_names = medner__malloc(need);
    if (t->lora_names == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "trainer: out of memory");
    char *cur = t->lora_names;
    int rc = MEDNER_OK;
    if (p->lora_targets != NULL)
        rc = split_names(&cur, p->lora_targets, "lora_targets", cfg.target_modules, &cfg.n_targets);
    else {
        cfg.n_targets = bert ? 4 : 6;
        for (size_t i = 0; i < cfg.n_targets; i++)
            cfg.target_modules[i] = bert ? bert_targets[i] : distil_targets[i];
    }
    if (rc == MEDNER_OK && p->lora_modules_to_save != NULL)
        rc = split_names(&cur, p->lora_modules_to_save, "lora_modules_to_save",
                         cfg.modules_to_save, &cfg.n_save);
    if (rc == MEDNER_OK)
        rc = medner__tparams_create_lora(&t->tp, m, &cfg);
    if (rc != MEDNER_OK)
        return rc;
    /* every name must match something (PEFT only requires one target to match;
     * a typo in one of several names would otherwise go unnoticed) */
    const struct medner__lora *l = t->tp->lora;
    char module[256];
    for (size_t i = 0; i < l->n_targets; i++) {
        int hit = 0;
        for (size_t k = 0; k < l->n_mods && !hit; k++) {
            medner__model_slot_module(m, l->mods[k].slot, prefix, module, sizeof module);
            hit = medner__peft_ends_with_module(module, strlen(module), l->targets[i]);
        }
        if (!hit)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "lora_targets: \"%s\" matches no Linear layer of this %s model "
                                "(its Linears: %s)", l->targets[i], m->config.model_type,
                                bert ? "query, key, value, dense (attention.output.dense, "
                                       "intermediate.dense, output.dense)"
                                     : "q_lin, k_lin, v_lin, out_lin, lin1, lin2");
    }
    for (size_t i = 0; i < l->n_save; i++) {
        int hit = 0;
        for (size_t s = 0; s < l->n_model_slots && !hit; s++) {
            if (t->tp->numel[s] == 0)
                continue;
            medner__model_slot_module(m, s, prefix, module, sizeof module);
            hit = medner__peft_has_module(module, strlen(module), l->save[i]);
        }
        if (!hit)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "lora_modules_to_save: \"%s\" matches no module of this %s model "
                                "(expected e.g. \"classifier\")", l->save[i], m->config.model_type);
    }
    return MEDNER_OK;
}

static int set_up_head(medner_trainer *t, double init_range)
{
    medner__model *m = t->model;
    t->view = *m;
    int same = m->weights.cls_w != NULL && m->config.num_labels == t->n_labels;
    for (size_t i = 0; same && i < t->n_labels; i++)
        same = strcmp(m->config.labels[i], t->labels[i]) == 0;
    t->view.config.num_labels = t->n_labels;
    t->view.config.labels = t->labels;
    t->view.config.head = MEDNER__HEAD_REQUIRED;
    if (!same) {
        size_t H = m->config.hidden;
        t->head_w = medner__malloc(t->n_labels * H * sizeof(float));
        t->head_b = medner__calloc(t->n_labels, sizeof(float));
        if (t->head_w == NULL || t->head_b == NULL)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "classifier: out of memory");
        uint64_t st = t->p.seed ^ 0x68656164ull; /* "head" */
        for (size_t i = 0; i < t->n_labels * H; i++)
            t->head_w[i] = normal(&st, init_range);
        t->view.weights.cls_w = t->head_w;
        t->view.weights.cls_b = t->head_b;
    }
    if (t->p.lora_r == 0)
        return medner__tparams_create(&t->tp, &t->view);
    return set_up_lora(t);
}

static int fingerprint(medner_trainer *t)
{
    medner__buf b = { 0 };
    int bad = medner__buf_printf(&b, "lr=%.17g warmup=%.17g/%llu wd=%.17g clip=%.17g drop=%.9g/%.9g "
                                 "seed=%llu epochs=%u bs=%u accum=%u maxlen=%u scheme=%d shuffle=%d "
                                 "max_steps=%llu train=%zu/%zu types=%s labels=",
                                 t->p.learning_rate, t->p.warmup_ratio,
                                 (unsigned long long)t->p.warmup_steps, t->p.weight_decay,
                                 t->p.max_grad_norm, (double)t->hidden_drop, (double)t->att_drop,
                                 (unsigned long long)t->p.seed, t->p.epochs, t->p.batch_size,
                                 t->p.grad_accum, t->p.max_length, (int)t->p.scheme,
                                 (int)t->p.shuffle, (unsigned long long)t->p.max_steps,
                                 t->train->n_seqs, t->train->n_tokens,
                                 t->p.types ? t->p.types : "*");
    for (size_t i = 0; i < t->n_labels && !bad; i++)
        bad = medner__buf_printf(&b, "%s%s", i ? "," : "", t->labels[i]);
    if (t->p.lora_r > 0 && !bad) /* full fine-tuning keeps its first fingerprint */
        bad = medner__buf_printf(&b, " lora=%u/%.9g/%.9g targets=%s save=%s", t->p.lora_r,
                                 (double)t->p.lora_alpha, t->p.lora_dropout,
                                 t->p.lora_targets ? t->p.lora_targets : "*",
                                 t->p.lora_modules_to_save ? t->p.lora_modules_to_save : "*");
    if (t->p.precision == MEDNER_PRECISION_BF16 && !bad) /* fp32 keeps its first fingerprint */
        bad = medner__buf_printf(&b, " precision=bf16");
    if (bad) {
        medner__buf_free(&b);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    }
    t->fingerprint = b.data;
    return MEDNER_OK;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

static int dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = medner__path_join(dir, e->d_name);
        if (p != NULL) {
            unlink(p);
            medner__free(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

static int write_optimizer(medner_trainer *t, const char *dir)
{
    medner__tparams *tp = t->tp;
    size_t ns = tp->n_slots, n = 0;
    char (*names)[352] = medner__calloc(2 * ns, sizeof *names);
    const char **np = medner__calloc(2 * ns, sizeof *np);
    size_t (*dims)[2] = medner__calloc(2 * ns, sizeof *dims);
    const size_t **sp = medner__calloc(2 * ns, sizeof *sp);
    unsigned char *nd = medner__calloc(2 * ns, 1);
    const float **dp = medner__calloc(2 * ns, sizeof *dp);
    char *path = medner__path_join(dir, "optimizer.safetensors");
    int rc = MEDNER_OK;
    if (!names || !np || !dims || !sp || !nd || !dp || !path) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "checkpoint: out of memory");
        goto done;
    }
    for (size_t s = 0; s < ns; s++) {
        if (tp->numel[s] == 0)
            continue;
        char hf[320];
        if (medner__lora_slot_name(tp, &t->view, s, hf, sizeof hf) != 0) {
            rc = medner__fail(MEDNER_E_INTERNAL, "checkpoint: no name for slot %zu", s);
            goto done;
        }
        for (int k = 0; k < 2; k++) {
            snprintf(names[n], sizeof names[n], "%s.%s", k ? "exp_avg_sq" : "exp_avg", hf);
            np[n] = names[n];
            dims[n][0] = tp->numel[s];
            sp[n] = dims[n];
            nd[n] = 1;
            dp[n] = (k ? t->opt.v : t->opt.m) + tp->off[s];
            n++;
        }
    }
    rc = medner__safetensors_write(path, n, np, sp, nd, dp);
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

static int write_state(medner_trainer *t, const char *dir)
{
    medner__buf b = { 0 };
    int bad = medner__buf_printf(&b, "{\n  \"format\": %d,\n  \"epoch\": %u,\n  \"batch\": %zu,\n"
                                 "  \"step\": %llu,\n  \"micro_step\": %llu,\n  \"best_epoch\": %u,\n"
                                 "  \"bad_epochs\": %u,\n  \"has_best\": %d,\n  \"best_f1\": ",
                                 STATE_FORMAT, t->epoch, t->batch,
                                 (unsigned long long)t->opt.step, (unsigned long long)t->micro,
                                 t->best_epoch, t->bad_epochs, t->has_best);
    bad = bad || medner__buf_json_double(&b, t->best_f1) ||
          medner__buf_append_str(&b, ",\n  \"epoch_loss\": ") ||
          medner__buf_json_double(&b, t->epoch_loss) ||
          medner__buf_append_str(&b, ",\n  \"epoch_count\": ") ||
          medner__buf_json_double(&b, t->epoch_count) ||
          medner__buf_append_str(&b, ",\n  \"params\": ") ||
          medner__buf_json_string(&b, t->fingerprint, strlen(t->fingerprint)) ||
          medner__buf_append_str(&b, "\n}\n");
    char *path = medner__path_join(dir, "trainer_state.json");
    int rc;
    if (bad || path == NULL)
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "checkpoint: out of memory");
    else
        rc = medner__write_file_atomic(path, b.data, b.len);
    medner__free(path);
    medner__buf_free(&b);
    return rc;
}

/* The weights trained: a Hugging Face model directory, or with LoRA a PEFT
 * adapter directory. */
static int save_model(medner_trainer *t, const char *dir)
{
    if (t->tp->lora != NULL)
        return medner__tparams_save_peft(t->tp, &t->view, t->p.base_dir, dir);
    return medner__tparams_save_hf(t->tp, &t->view, t->p.base_dir, dir);
}

/* checkpoint-last: written in checkpoint-last.tmp, then swapped in (the
 * previous one is kept as checkpoint-prev until the swap is done). */
static int save_checkpoint(medner_trainer *t)
{
    char *tmp = medner__path_join(t->p.out_dir, "checkpoint-last.tmp");
    char *last = medner__path_join(t->p.out_dir, "checkpoint-last");
    char *prev = medner__path_join(t->p.out_dir, "checkpoint-prev");
    int rc = MEDNER_OK;
    if (!tmp || !last || !prev) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "checkpoint: out of memory");
        goto done;
    }
    remove_dir(tmp);
    rc = save_model(t, tmp);
    if (rc == MEDNER_OK)
        rc = write_optimizer(t, tmp);
    if (rc == MEDNER_OK)
        rc = write_state(t, tmp);
    if (rc != MEDNER_OK)
        goto done;
    /* at every moment one complete checkpoint is checkpoint-last or, during the
     * swap, checkpoint-prev (resume reads last, else prev) */
    if (dir_exists(last)) {
        remove_dir(prev);
        if (rename(last, prev) != 0) {
            rc = medner__fail(MEDNER_E_IO, "%s: cannot rename to %s", last, prev);
            goto done;
        }
    }
    if (rename(tmp, last) != 0) {
        rc = medner__fail(MEDNER_E_IO, "%s: cannot rename to %s", tmp, last);
        goto done;
    }
    remove_dir(prev);
done:
    medner__free(tmp);
    medner__free(last);
    medner__free(prev);
    return rc;
}

static int load_tensors(medner_trainer *t, const char *path, int optimizer)
{
    medner__st_file f;
    int rc = medner__st_open(&f, path);
    if (rc != MEDNER_OK)
        return rc;
    medner__tparams *tp = t->tp;
    for (size_t s = 0; s < tp->n_slots && rc == MEDNER_OK; s++) {
        if (tp->numel[s] == 0)
            continue;
        char hf[320], name[352];
        if (medner__lora_slot_name(tp, &t->view, s, hf, sizeof hf) != 0) {
            rc = medner__fail(MEDNER_E_INTERNAL, "checkpoint: no name for slot %zu", s);
            break;
        }
        for (int k = 0; k < (optimizer ? 2 : 1) && rc == MEDNER_OK; k++) {
            if (optimizer)
                snprintf(name, sizeof name, "%s.%s", k ? "exp_avg_sq" : "exp_avg", hf);
            else
                snprintf(name, sizeof name, "%s", hf);
            const medner__st_tensor *x = medner__st_find(&f, name, strlen(name));
            if (x == NULL || x->dtype != MEDNER__DT_F32 || x->numel != tp->numel[s]) {
                rc = medner__fail(MEDNER_E_PARSE, "%s: tensor \"%s\" missing or of the wrong "
                                  "size (not a checkpoint of this training)", path, name);
                break;
            }
            float *dst = optimizer ? (k ? t->opt.v : t->opt.m) + tp->off[s] : tp->param + tp->off[s];
            medner__st_to_f32(dst, x);
        }
    }
    medner__st_close(&f, 0);
    return rc;
}

static int state_int(const medner__json *root, const char *key, const char *path, uint64_t *out)
{
    const medner__json *v = medner__json_get(root, key);
    if (v == NULL || v->type != MEDNER__JSON_NUMBER || !v->is_integer || v->integer < 0)
        return medner__fail(MEDNER_E_PARSE, "%s: \"%s\" missing or not a count", path, key);
    *out = (uint64_t)v->integer;
    return MEDNER_OK;
}

static int load_checkpoint(medner_trainer *t, const char *dir)
{
    char *path = medner__path_join(dir, "trainer_state.json");
    medner__json_doc *doc = NULL;
    int rc = path ? medner__json_parse_file(&doc, path)
                  : medner__fail(MEDNER_E_OUT_OF_MEMORY, "checkpoint: out of memory");
    if (rc != MEDNER_OK) {
        medner__free(path);
        return rc;
    }
    const medner__json *root = medner__json_root(doc), *v;
    uint64_t fmt = 0, ep = 0, batch = 0, step = 0, micro = 0, be = 0, bad = 0, hb = 0;
    rc = state_int(root, "format", path, &fmt);
    if (rc == MEDNER_OK && fmt != STATE_FORMAT)
        rc = medner__fail(MEDNER_E_PARSE, "%s: format %llu, expected %d", path,
                          (unsigned long long)fmt, STATE_FORMAT);
    if (rc == MEDNER_OK)
        rc = state_int(root, "epoch", path, &ep);
    if (rc == MEDNER_OK)
        rc = state_int(root, "batch", path, &batch);
    if (rc == MEDNER_OK)
        rc = state_int(root, "step", path, &step);
    if (rc == MEDNER_OK)
        rc = state_int(root, "micro_step", path, &micro);
    if (rc == MEDNER_OK)
        rc = state_int(root, "best_epoch", path, &be);
    if (rc == MEDNER_OK)
        rc = state_int(root, "bad_epochs", path, &bad);
    if (rc == MEDNER_OK)
        rc = state_int(root, "has_best", path, &hb);
    if (rc == MEDNER_OK) {
        v = medner__json_get(root, "params");
        if (v == NULL || v->type != MEDNER__JSON_STRING || strcmp(v->str, t->fingerprint) != 0)
            rc = medner__fail(MEDNER_E_INVALID_CONFIG,
                              "%s: the checkpoint was made with other training parameters or "
                              "data (checkpoint: %.300s; now: %.300s); start afresh without "
                              "--resume or use the same options", path,
                              v && v->type == MEDNER__JSON_STRING ? v->str : "?", t->fingerprint);
    }
    static const char *const dkeys[3] = { "best_f1", "epoch_loss", "epoch_count" };
    double dv[3] = { 0, 0, 0 };
    for (int k = 0; k < 3 && rc == MEDNER_OK; k++) {
        v = medner__json_get(root, dkeys[k]);
        if (v == NULL || v->type != MEDNER__JSON_NUMBER)
            rc = medner__fail(MEDNER_E_PARSE, "%s: \"%s\" missing or not a number", path, dkeys[k]);
        else
            dv[k] = v->number;
    }
    if (rc == MEDNER_OK && (ep > t->p.epochs || batch > t->n_batches))
        rc = medner__fail(MEDNER_E_PARSE, "%s: epoch/batch out of range", path);
    medner__json_free(doc);
    medner__free(path);
    if (rc != MEDNER_OK)
        return rc;
    const char *model_file = t->tp->lora ? "adapter_model.safetensors" : "model.safetensors";
    char *mp = medner__path_join(dir, model_file);
    char *op = medner__path_join(dir, "optimizer.safetensors");
    rc = mp && op ? load_tensors(t, mp, 0) : medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    if (rc == MEDNER_OK)
        rc = load_tensors(t, op, 1);
    medner__free(mp);
    medner__free(op);
    if (rc != MEDNER_OK)
        return rc;
    t->epoch = (uint32_t)ep;
    t->batch = (size_t)batch;
    t->opt.step = step;
    t->micro = micro;
    t->best_epoch = (uint32_t)be;
    t->bad_epochs = (uint32_t)bad;
    t->has_best = (int)hb;
    t->best_f1 = dv[0];
    t->epoch_loss = dv[1];
    t->epoch_count = dv[2];
    t->resumed = 1;
    return MEDNER_OK;
}

/* ---- creation ----------------------------------------------------------------------------------- */

void medner_trainer_free(medner_trainer *t)
{
    if (t == NULL)
        return;
    medner__free((char *)t->p.base_dir);
    medner__free((char *)t->p.train_path);
    medner__free((char *)t->p.dev_path);
    medner__free((char *)t->p.out_dir);
    medner__free((char *)t->p.types);
    medner__free((char *)t->p.lora_targets);
    medner__free((char *)t->p.lora_modules_to_save);
    medner__free(t->lora_names);
    medner__train_ctx_free(t->ctx);
    if (t->opt_ready)
        medner__adamw_release(&t->opt);
    medner__tparams_free(t->tp);
    medner__tdata_free(t->train);
    medner__tdata_free(t->dev);
    medner__tcorpus_free(t->train_c);
    medner__tcorpus_free(t->dev_c);
    medner_tokenizer_free(t->tok);
    medner__labels_free(t->labels, t->n_labels);
    medner__free(t->head_w);
    medner__free(t->head_b);
    medner__model_free(t->model);
    medner__free(t->order);
    medner__free(t->bids);
    medner__free(t->blabels);
    medner__free(t->blens);
    medner__free(t->fingerprint);
    medner__free(t);
}

static int resolve_params(medner_train_params *p)
{
    if (p->base_dir == NULL || p->train_path == NULL || p->out_dir == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_train_params: base_dir, train_path and out_dir are required");
    if (p->learning_rate == 0)
        p->learning_rate = 5e-5;
    if (p->max_grad_norm == 0)
        p->max_grad_norm = 1.0;
    if (p->seed == 0)
        p->seed = 42;
    if (p->epochs == 0)
        p->epochs = 3;
    if (p->batch_size == 0)
        p->batch_size = 8;
    if (p->grad_accum == 0)
        p->grad_accum = 1;
    if (p->threads == 0)
        p->threads = 1;
    if (p->scheme == MEDNER_SCHEME_AUTO)
        p->scheme = MEDNER_SCHEME_BIO;
    if (p->shuffle == MEDNER_DEFAULT)
        p->shuffle = MEDNER_ON;
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "learning_rate must be a positive number");
    if (!(p->warmup_ratio >= 0 && p->warmup_ratio <= 1))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "warmup_ratio must be in [0, 1]");
    if (!(p->weight_decay >= 0) || !isfinite(p->weight_decay))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "weight_decay must be >= 0");
    if (isnan(p->max_grad_norm) || isnan(p->hidden_dropout) || isnan(p->attention_dropout))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "NaN option");
    if (p->batch_size > MEDNER__MAX_BATCH_SIZE || p->threads > MEDNER__MAX_THREADS)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "batch_size at most %u, threads at most %u",
                            MEDNER__MAX_BATCH_SIZE, MEDNER__MAX_THREADS);
    if (p->scheme != MEDNER_SCHEME_BIO && p->scheme != MEDNER_SCHEME_BIOES)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "scheme: BIO or BIOES");
    if (p->max_length != 0 && p->max_length < 3)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "max_length %u: at least 3", p->max_length);
    if (p->lora_r == 0 && (p->lora_alpha != 0 || p->lora_dropout != 0 || p->lora_targets != NULL ||
                           p->lora_modules_to_save != NULL))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "lora_alpha, lora_dropout, lora_targets "
                            "and lora_modules_to_save need lora_r > 0 (LoRA training)");
    if (p->lora_r > 4096)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "lora_r %u: at most 4096 (and the model's "
                            "hidden size)", p->lora_r);
    if (p->lora_r > 0 && p->lora_alpha == 0)
        p->lora_alpha = 2.0f * (float)p->lora_r;
    if (!(p->lora_alpha >= 0) || !isfinite(p->lora_alpha) ||
        (p->lora_r > 0 && !(p->lora_alpha > 0)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "lora_alpha %g: must be a positive number "
                            "(scale = alpha / r; default 2 * r)", (double)p->lora_alpha);
    if (!(p->lora_dropout >= 0 && p->lora_dropout < 1))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "lora_dropout %g: must be in [0, 1)",
                            p->lora_dropout);
    if (p->precision != MEDNER_PRECISION_DEFAULT && p->precision != MEDNER_PRECISION_FP32 &&
        p->precision != MEDNER_PRECISION_BF16 && p->precision != MEDNER_PRECISION_AUTO)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "precision %d: training runs in FP32, BF16 "
                            "or AUTO (INT8 is inference only)", (int)p->precision);
    if (p->reserved_precision != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_train_params.reserved_precision "
                            "must be 0");
    {   /* resolved here: the fingerprint (checkpoints) records what runs */
        int native = medner__bgemm_best() != MEDNER__BGEMM_PORTABLE;
        if (p->precision == MEDNER_PRECISION_BF16 && !native)
            medner__log(MEDNER_LOG_WARN, "precision bf16: this CPU has neither AMX-BF16 nor "
                        "AVX512-BF16; training in fp32");
        p->precision = (p->precision == MEDNER_PRECISION_BF16 ||
                        p->precision == MEDNER_PRECISION_AUTO) && native
                           ? MEDNER_PRECISION_BF16
                           : MEDNER_PRECISION_FP32;
    }
    if ((unsigned)p->resume > MEDNER_OFF || (unsigned)p->shuffle > MEDNER_OFF ||
        (unsigned)p->unknown_labels_error > MEDNER_OFF)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_switch option out of range");
    return MEDNER_OK;
}

static int create(medner_trainer *t)
{
    medner_train_params *p = &t->p;
    int rc = medner__model_load(&t->model, p->base_dir);
    if (rc != MEDNER_OK)
        return rc;
    size_t positions = t->model->config.max_positions;
    if (p->max_length == 0)
        p->max_length = (uint32_t)(positions < 512 ? positions : 512);
    if (p->max_length > positions)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "max_length %u: the model has %zu positions",
                            p->max_length, positions);
    rc = medner_tokenizer_load(&t->tok, p->base_dir, NULL);
    if (rc != MEDNER_OK)
        return rc;
    medner__tscheme sch = p->scheme == MEDNER_SCHEME_BIOES ? MEDNER__TSCHEME_BIOES : MEDNER__TSCHEME_BIO;
    rc = medner__tcorpus_read(&t->train_c, p->train_path);
    if (rc == MEDNER_OK && t->train_c->n_sents == 0)
        rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: no sentences", p->train_path);
    if (rc == MEDNER_OK && p->types != NULL) {
        const char *miss = NULL;
        size_t ml = 0;
        rc = medner__tcorpus_keep_types(t->train_c, p->types, &miss, &ml);
        if (rc == MEDNER_OK && miss != NULL)
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "types: \"%.*s\" does not occur in %s",
                              (int)(ml < 100 ? ml : 100), miss, p->train_path);
    }
    if (rc == MEDNER_OK)
        rc = medner__tcorpus_convert(t->train_c, sch);
    if (rc == MEDNER_OK)
        rc = medner__tcorpus_labels(t->train_c, &t->labels, &t->n_labels);
    if (rc == MEDNER_OK && t->n_labels < 2)
        rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: %zu distinct tag(s); training needs at "
                          "least 2", p->train_path, t->n_labels);
    if (rc == MEDNER_OK)
        rc = medner__tdata_build(&t->train, t->train_c, t->tok, (const char *const *)t->labels,
                                 t->n_labels, p->max_length, 1);
    if (rc == MEDNER_OK && p->dev_path != NULL) {
        rc = medner__tcorpus_read(&t->dev_c, p->dev_path);
        if (rc == MEDNER_OK && p->types != NULL)
            rc = medner__tcorpus_keep_types(t->dev_c, p->types, NULL, NULL);
        if (rc == MEDNER_OK)
            rc = medner__tcorpus_convert(t->dev_c, sch);
        if (rc == MEDNER_OK)
            rc = medner__tdata_build(&t->dev, t->dev_c, t->tok, (const char *const *)t->labels,
                                     t->n_labels, p->max_length, p->unknown_labels_error == MEDNER_ON);
        if (rc == MEDNER_OK && t->dev->n_unknown > 0)
            medner__log(MEDNER_LOG_WARN, "%s: %zu word(s) tagged with labels absent from the "
                        "training data: %s", p->dev_path, t->dev->n_unknown, t->dev->unknown);
    }
    if (rc != MEDNER_OK)
        return rc;
    t->truncated = t->train->n_truncated + (t->dev ? t->dev->n_truncated : 0);
    double init_range = 0.02;
    rc = read_base_config(t, &init_range);
    if (rc == MEDNER_OK)
        rc = set_up_head(t, init_range);
    if (rc == MEDNER_OK)
        rc = medner__adamw_init(&t->opt, t->tp);
    if (rc != MEDNER_OK)
        return rc;
    t->opt_ready = 1;
    size_t n = t->train->n_seqs;
    t->n_batches = (n + p->batch_size - 1) / p->batch_size;
    t->steps_per_epoch = (t->n_batches + p->grad_accum - 1) / p->grad_accum;
    t->total_steps = (uint64_t)t->steps_per_epoch * p->epochs;
    if (p->max_steps && p->max_steps < t->total_steps)
        t->total_steps = p->max_steps;
    t->opt.lr = (float)p->learning_rate;
    t->opt.weight_decay = (float)p->weight_decay;
    t->opt.max_grad_norm = p->max_grad_norm < 0 ? 0.0f : (float)p->max_grad_norm;
    t->opt.total = t->total_steps;
    t->opt.warmup = p->warmup_steps ? p->warmup_steps
                                    : (uint64_t)ceil(p->warmup_ratio * (double)t->total_steps);
    size_t maxT = (size_t)p->batch_size * p->max_length;
    t->order = medner__malloc(n * sizeof *t->order);
    t->bids = medner__malloc(maxT * sizeof *t->bids);
    t->blabels = medner__malloc(maxT * sizeof *t->blabels);
    t->blens = medner__malloc(p->batch_size * sizeof *t->blens);
    if (!t->order || !t->bids || !t->blabels || !t->blens)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "trainer: out of memory");
    rc = medner__train_ctx_create(&t->ctx, p->threads);
    if (rc == MEDNER_OK)
        medner__train_ctx_set_bf16(t->ctx, p->precision == MEDNER_PRECISION_BF16);
    if (rc == MEDNER_OK)
        rc = fingerprint(t);
    if (rc == MEDNER_OK && p->resume == MEDNER_ON) {
        char *last = medner__path_join(p->out_dir, "checkpoint-last");
        char *prev = medner__path_join(p->out_dir, "checkpoint-prev");
        if (last == NULL || prev == NULL)
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "trainer: out of memory");
        else if (dir_exists(last))
            rc = load_checkpoint(t, last);
        else if (dir_exists(prev)) /* a crash during the swap */
            rc = load_checkpoint(t, prev);
        medner__free(last);
        medner__free(prev);
    }
    return rc;
}

int medner_trainer_create(medner_trainer **out, const medner_train_params *params)
{
    if (out == NULL || params == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_trainer_create: NULL argument");
    medner_trainer *t = medner__calloc(1, sizeof *t);
    if (t == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "trainer: out of memory");
    int rc = medner__params_copy(&t->p, sizeof t->p, params, SIZE_V1_PARAMS, "medner_train_params");
    if (rc == MEDNER_OK)
        rc = resolve_params(&t->p);
    if (rc != MEDNER_OK) {
        medner__free(t);
        return rc;
    }
    t->p.base_dir = dup_str(t->p.base_dir);
    t->p.train_path = dup_str(t->p.train_path);
    t->p.dev_path = dup_str(t->p.dev_path);
    t->p.out_dir = dup_str(t->p.out_dir);
    t->p.types = dup_str(t->p.types);
    const char *lt = t->p.lora_targets, *ls = t->p.lora_modules_to_save;
    t->p.lora_targets = dup_str(t->p.lora_targets);
    t->p.lora_modules_to_save = dup_str(t->p.lora_modules_to_save);
    if (!t->p.base_dir || !t->p.train_path || !t->p.out_dir ||
        (params->dev_path && !t->p.dev_path) || (params->types && !t->p.types) ||
        (t->p.lora_targets == NULL) != (lt == NULL) ||
        (t->p.lora_modules_to_save == NULL) != (ls == NULL))
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "trainer: out of memory");
    if (rc == MEDNER_OK)
        rc = create(t);
    if (rc != MEDNER_OK) {
        medner_trainer_free(t);
        return rc;
    }
    atomic_init(&t->cancel, 0);
    *out = t;
    return MEDNER_OK;
}

/* ---- running ------------------------------------------------------------------------------------ */

/* Micro-batch `k` of the epoch (order already drawn) into b. */
static void gather(medner_trainer *t, size_t k, medner__tbatch *b, size_t *tokens)
{
    const medner__tdata *d = t->train;
    size_t bs = t->p.batch_size, s0 = k * bs, s1 = s0 + bs < d->n_seqs ? s0 + bs : d->n_seqs;
    size_t T = 0;
    for (size_t i = s0; i < s1; i++) {
        size_t s = t->order[i], L = d->lens[s];
        memcpy(t->bids + T, d->ids + d->start[s], L * sizeof *t->bids);
        memcpy(t->blabels + T, d->labels + d->start[s], L * sizeof *t->blabels);
        t->blens[i - s0] = L;
        T += L;
    }
    b->ids = t->bids;
    b->type_ids = NULL;
    b->labels = t->blabels;
    b->lens = t->blens;
    b->n_seqs = s1 - s0;
    *tokens = T;
}

static size_t labelled_in(medner_trainer *t, size_t k)
{
    const medner__tdata *d = t->train;
    size_t bs = t->p.batch_size, s0 = k * bs, s1 = s0 + bs < d->n_seqs ? s0 + bs : d->n_seqs, n = 0;
    for (size_t i = s0; i < s1; i++) {
        size_t s = t->order[i];
        for (size_t r = d->start[s]; r < d->start[s + 1]; r++)
            n += d->labels[r] != MEDNER__TDATA_IGNORE;
    }
    return n;
}

static int evaluate(medner_trainer *t, double *loss, medner__eval_report **report)
{
    const medner__tdata *d = t->dev;
    medner__eval *ev = NULL;
    int rc = medner__eval_create(&ev);
    if (rc != MEDNER_OK)
        return rc;
    medner__tdropout off = { 0, 0, 0, 0 };
    const char **gold = medner__malloc(t->p.max_length * sizeof *gold);
    const char **pred = medner__malloc(t->p.max_length * sizeof *pred);
    if (gold == NULL || pred == NULL)
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "evaluation: out of memory");
    double loss_sum = 0;
    size_t count = 0, bs = t->p.batch_size;
    for (size_t s0 = 0; s0 < d->n_seqs && rc == MEDNER_OK; s0 += bs) {
        size_t s1 = s0 + bs < d->n_seqs ? s0 + bs : d->n_seqs;
        medner__tbatch b = { d->ids + d->start[s0], NULL, d->labels + d->start[s0], d->lens + s0,
                             s1 - s0 };
        double ls = 0;
        size_t cnt = 0;
        const float *logits = NULL;
        rc = medner__train_step(t->ctx, t->tp, &b, &off, 0, 0.0f, &ls, &cnt, &logits);
        if (rc != MEDNER_OK)
            break;
        loss_sum += ls;
        count += cnt;
        for (size_t s = s0; s < s1 && rc == MEDNER_OK; s++) {
            size_t n = 0;
            for (size_t r = d->start[s]; r < d->start[s + 1]; r++) {
                if (d->gold[r] == NULL)
                    continue;
                const float *row = logits + (r - d->start[s0]) * t->n_labels;
                size_t best = 0;
                for (size_t c = 1; c < t->n_labels; c++)
                    if (row[c] > row[best]) /* first maximum, as numpy.argmax */
                        best = c;
                gold[n] = d->gold[r];
                pred[n] = t->labels[best];
                n++;
            }
            rc = medner__eval_add_sentence(ev, gold, pred, n);
        }
    }
    if (rc == MEDNER_OK)
        rc = medner__eval_report_create(report, ev);
    *loss = count ? loss_sum / (double)count : 0.0;
    medner__free(gold);
    medner__free(pred);
    medner__eval_free(ev);
    return rc;
}

static int report(medner_trainer *t, const medner_train_progress *pr)
{
    if (t->p.callback != NULL && t->p.callback(pr, t->p.user_data) != 0)
        atomic_store(&t->cancel, 1);
    return MEDNER_OK;
}

static int save_best(medner_trainer *t)
{
    return save_model(t, t->p.out_dir);
}

int medner_trainer_run(medner_trainer *t)
{
    if (t == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_trainer_run: NULL trainer");
    atomic_store(&t->cancel, 0);
    t->stop = MEDNER_TRAIN_NOT_RUN;
    int rc = medner__mkdir_p(t->p.out_dir);
    if (rc != MEDNER_OK) {
        t->stop = MEDNER_TRAIN_FAILED;
        return rc;
    }
    double t0 = now_s(), tokens = 0, busy = 0; /* busy: seconds in training steps */
    medner__tdropout drop = { t->hidden_drop, t->att_drop, t->p.seed, 0 };
    size_t accum = t->p.grad_accum;
    while (t->epoch < t->p.epochs) {
        medner__tdata_order(t->order, t->train->n_seqs, t->p.seed, t->epoch,
                            t->p.shuffle == MEDNER_ON);
        int reached = 0;
        while (t->batch < t->n_batches && !reached) {
            size_t k1 = t->batch + accum < t->n_batches ? t->batch + accum : t->n_batches;
            size_t labelled = 0;
            for (size_t k = t->batch; k < k1; k++)
                labelled += labelled_in(t, k);
            float scale = labelled ? 1.0f / (float)labelled : 1.0f;
            double ts = now_s();
            medner__tparams_zero_grad(t->tp);
            double loss_sum = 0;
            for (size_t k = t->batch; k < k1; k++) {
                medner__tbatch b;
                size_t T, cnt = 0;
                double ls = 0;
                gather(t, k, &b, &T);
                drop.step = t->micro + (k - t->batch);
                rc = medner__train_step(t->ctx, t->tp, &b, &drop, 1, scale, &ls, &cnt, NULL);
                if (rc != MEDNER_OK) {
                    t->stop = MEDNER_TRAIN_FAILED;
                    return rc;
                }
                loss_sum += ls;
                tokens += (double)T;
            }
            double loss = labelled ? loss_sum / (double)labelled : 0.0;
            if (!isfinite(loss)) {
                t->stop = MEDNER_TRAIN_DIVERGED;
                return medner__fail(MEDNER_E_DIVERGED,
                                    "training diverged: the loss is %s at optimizer step %llu "
                                    "(epoch %u); no update was applied and the files in %s are "
                                    "those of the last good checkpoint; lower the learning rate "
                                    "(%g)", isnan(loss) ? "NaN" : "infinite",
                                    (unsigned long long)t->opt.step + 1, t->epoch + 1,
                                    t->p.out_dir, t->p.learning_rate);
            }
            double lr = t->opt.lr * medner__lr_linear_warmup(t->opt.step, t->opt.warmup, t->opt.total);
            double gn = medner__adamw_step_par(&t->opt, t->tp, medner__train_ctx_par(t->ctx));
            busy += now_s() - ts;
            t->micro += k1 - t->batch;
            t->batch = k1;
            t->epoch_loss += loss_sum;
            t->epoch_count += (double)labelled;
            double el = now_s() - t0;
            medner_train_progress pr;
            memset(&pr, 0, sizeof pr);
            pr.struct_size = sizeof pr;
            pr.event = MEDNER_TRAIN_STEP;
            pr.epoch = t->epoch;
            pr.epochs = t->p.epochs;
            pr.step = t->opt.step;
            pr.total_steps = t->total_steps;
            pr.loss = loss;
            pr.learning_rate = lr;
            pr.grad_norm = gn;
            pr.elapsed_s = el;
            pr.tokens_per_s = busy > 0 ? tokens / busy : 0;
            report(t, &pr);
            if (t->p.save_steps && t->opt.step % t->p.save_steps == 0 &&
                (rc = save_checkpoint(t)) != MEDNER_OK) {
                t->stop = MEDNER_TRAIN_FAILED;
                return rc;
            }
            reached = t->p.max_steps && t->opt.step >= t->p.max_steps;
            if (atomic_load(&t->cancel) && !reached) {
                t->stop = MEDNER_TRAIN_CANCELLED;
                rc = save_checkpoint(t);
                if (rc != MEDNER_OK)
                    return rc;
                return medner__fail(MEDNER_E_CANCELLED, "training cancelled at step %llu (epoch "
                                    "%u); resume from %s/checkpoint-last",
                                    (unsigned long long)t->opt.step, t->epoch + 1, t->p.out_dir);
            }
        }
        /* end of the epoch (or of the steps: max_steps ends the last epoch early) */
        medner_train_progress pr;
        memset(&pr, 0, sizeof pr);
        pr.struct_size = sizeof pr;
        pr.event = MEDNER_TRAIN_EPOCH;
        pr.epoch = t->epoch;
        pr.epochs = t->p.epochs;
        pr.step = t->opt.step;
        pr.total_steps = t->total_steps;
        pr.loss = t->epoch_count > 0 ? t->epoch_loss / t->epoch_count : 0;
        int stop_early = 0;
        if (t->dev != NULL) {
            medner__eval_report *rep = NULL;
            rc = evaluate(t, &pr.dev_loss, &rep);
            if (rc != MEDNER_OK) {
                t->stop = MEDNER_TRAIN_FAILED;
                return rc;
            }
            pr.has_dev = 1;
            pr.dev_precision = rep->micro.precision;
            pr.dev_recall = rep->micro.recall;
            pr.dev_f1 = rep->micro.f1;
            medner__eval_report_free(rep);
            if (!t->has_best || pr.dev_f1 > t->best_f1) {
                t->has_best = 1;
                t->best_f1 = pr.dev_f1;
                t->best_epoch = t->epoch + 1;
                t->bad_epochs = 0;
                pr.improved = 1;
            } else if (++t->bad_epochs >= t->p.patience && t->p.patience > 0) {
                stop_early = 1;
            }
        } else {
            pr.improved = 1;
            t->best_epoch = t->epoch + 1;
        }
        if (pr.improved && (rc = save_best(t)) != MEDNER_OK) {
            t->stop = MEDNER_TRAIN_FAILED;
            return rc;
        }
        t->epoch++;
        t->batch = 0;
        t->epoch_loss = 0;
        t->epoch_count = 0;
        double el = now_s() - t0;
        pr.elapsed_s = el;
        pr.tokens_per_s = busy > 0 ? tokens / busy : 0;
        if ((rc = save_checkpoint(t)) != MEDNER_OK) {
            t->stop = MEDNER_TRAIN_FAILED;
            return rc;
        }
        report(t, &pr);
        if (stop_early || reached) {
            t->stop = reached ? MEDNER_TRAIN_MAX_STEPS : MEDNER_TRAIN_EARLY_STOP;
            return MEDNER_OK;
        }
        if (atomic_load(&t->cancel) && t->epoch < t->p.epochs) {
            t->stop = MEDNER_TRAIN_CANCELLED;
            return medner__fail(MEDNER_E_CANCELLED, "training cancelled after epoch %u; resume "
                                "from %s/checkpoint-last", t->epoch, t->p.out_dir);
        }
    }
    t->stop = MEDNER_TRAIN_FINISHED;
    return MEDNER_OK;
}

void medner_trainer_cancel(medner_trainer *t)
{
    if (t != NULL)
        atomic_store(&t->cancel, 1);
}

int medner_train_info_get(medner_train_info *out, const medner_trainer *t)
{
    if (t == NULL || out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_train_info_get: NULL argument");
    medner_train_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.num_labels = t->n_labels;
    info.train_sequences = t->train->n_seqs;
    info.dev_sequences = t->dev ? t->dev->n_seqs : 0;
    info.train_tokens = t->train->n_tokens;
    info.truncated = t->truncated;
    info.unknown_dev_tags = t->dev ? t->dev->n_unknown : 0;
    info.total_steps = t->total_steps;
    info.step = t->opt.step;
    info.epoch = t->epoch;
    info.best_epoch = t->best_epoch;
    info.best_dev_f1 = t->best_f1;
    info.stop = t->stop;
    info.resumed = (uint32_t)t->resumed;
    info.unknown_tags = t->dev ? t->dev->unknown : NULL;
    return medner__struct_out(out, &info, sizeof info, SIZE_V1_INFO, "medner_train_info");
}

/* The first spelling (output last), deprecated in the header. */
int medner_trainer_get_info(const medner_trainer *t, medner_train_info *out)
{
    return medner_train_info_get(out, t);
}

const char *medner_trainer_label(const medner_trainer *t, size_t index)
{
    return t != NULL && index < t->n_labels ? t->labels[index] : NULL;
}
