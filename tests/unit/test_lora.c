/*
 * LoRA training (src/train/lora.c and the LoRA path of train.c):
 *  - gradients of every lora_A, lora_B and the classifier (modules_to_save)
 *    against PyTorch + peft autograd on one batch (tests/data/train/NAME/
 *    lora_grads.safetensors from tests/reference/make_lora_goldens.py), for
 *    BERT, DistilBERT and MiniLM shapes, within the phase-1 tolerance (1e-4
 *    relative or 1e-6 absolute), bitwise the same with 1 and 3 threads;
 *  - the trainable set: only LoRA pairs + modules_to_save, base frozen and
 *    untouched by training, the decay mask, PEFT's module matching;
 *  - the LoRA path with lora_dropout against finite differences;
 *  - 30 LoRA steps (AdamW, dropout on) lower the loss of a batch;
 *  - the round trip: medner__tparams_save_peft's directory loads in medner
 *    (the encoder with adapter_dir) with the training forward's logits;
 *    MEDNER_LORA_OUT=DIR keeps the directory there, with the batch and
 *    medner's logits (medner_logits.safetensors) for
 *    tests/reference/check_lora_roundtrip.py (peft's side);
 *  - bad configurations get clear errors.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "medner.h"
#include "model/model.h"
#include "train/lora.h"
#include "train/save.h"
#include "train/train.h"

#define DATA "tests/data/train"

static const medner__st_tensor *find(const medner__st_file *f, const char *name)
{
    return medner__st_find(f, name, strlen(name));
}

typedef struct lfix {
    medner__model *model;
    medner__tparams *tp;
    medner__st_file g;
    int32_t ids[256], types[256], labels[256];
    size_t lens[8], n_seqs, T;
    double loss;
} lfix;

static void lora_cfg(medner__lora_config *c, const char *name, size_t r, float alpha, float drop)
{
    medner__lora_config_default(c);
    c->r = r;
    c->alpha = alpha;
    c->dropout = drop;
    static const char *bert_t[] = { "query", "key", "value", "dense" };
    static const char *distil_t[] = { "q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2" };
    int distil = strcmp(name, "distilbert") == 0;
    c->n_targets = distil ? 6 : 4;
    for (size_t i = 0; i < c->n_targets; i++)
        c->target_modules[i] = distil ? distil_t[i] : bert_t[i];
    c->modules_to_save[0] = "classifier";
    c->n_save = 1;
    c->seed = 11;
}

/* The model, its LoRA parameters and the batch of grads.safetensors. */
static void load(lfix *fx, const char *name, size_t r, float alpha, float drop)
{
    memset(fx, 0, sizeof *fx);
    char dir[256], path[320];
    snprintf(dir, sizeof dir, DATA "/%s", name);
    if (medner__model_load(&fx->model, dir) != MEDNER_OK)
        fail_msg("%s: %s", dir, medner_last_error());
    medner__lora_config c;
    lora_cfg(&c, name, r, alpha, drop);
    if (medner__tparams_create_lora(&fx->tp, fx->model, &c) != MEDNER_OK)
        fail_msg("%s: %s", dir, medner_last_error());
    medner__st_file b;
    snprintf(path, sizeof path, "%s/grads.safetensors", dir);
    assert_int_equal(medner__st_open(&b, path), MEDNER_OK);
    const medner__st_tensor *ids = find(&b, "input_ids"), *ty = find(&b, "token_type_ids"),
                            *mask = find(&b, "attention_mask"), *lab = find(&b, "labels");
    assert_non_null(ids);
    size_t B = ids->shape[0], Lp = ids->shape[1];
    const int32_t *pi = (const int32_t *)ids->data, *pt = (const int32_t *)ty->data,
                  *pm = (const int32_t *)mask->data, *pl = (const int32_t *)lab->data;
    for (size_t s = 0; s < B; s++) {
        size_t L = 0;
        for (size_t k = 0; k < Lp; k++)
            if (pm[s * Lp + k]) {
                fx->ids[fx->T] = pi[s * Lp + k];
                fx->types[fx->T] = pt[s * Lp + k];
                fx->labels[fx->T] = pl[s * Lp + k];
                fx->T++;
                L++;
            }
        fx->lens[s] = L;
    }
    fx->n_seqs = B;
    medner__st_close(&b, 0);
}

static void unload(lfix *fx)
{
    medner__tparams_free(fx->tp);
    medner__model_free(fx->model);
    if (fx->g.path)
        medner__st_close(&fx->g, 0);
}

static medner__tbatch batch(const lfix *fx)
{
    medner__tbatch b = { fx->ids, fx->types, fx->labels, fx->lens, fx->n_seqs };
    return b;
}

/* |got - want| <= rel |want| or <= abs: the worst ratio to the tolerance. */
static double worst(const float *got, const float *want, size_t n, double rel, double abs_tol)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double tol = fmax(rel * fabs((double)want[i]), abs_tol);
        double r = d / tol;
        if (!(r <= w))
            w = isnan(r) ? INFINITY : r;
    }
    return w;
}

static void check_lora_gradients(const char *name)
{
    lfix fx;
    load(&fx, name, 4, 12.0f, 0.0f);
    char path[320], nm[400], key[420];
    snprintf(path, sizeof path, DATA "/%s/lora_grads.safetensors", name);
    if (medner__st_open(&fx.g, path) != MEDNER_OK)
        fail_msg("%s: %s", path, medner_last_error());
    medner__tparams *t = fx.tp;
    /* A and B from the goldens (B non-zero so that dA is checked too) */
    size_t n_trainable = 0, n_golden = 0;
    for (size_t s = 0; s < t->n_slots; s++) {
        if (t->numel[s] == 0)
            continue;
        n_trainable++;
        assert_int_equal(medner__lora_slot_name(t, fx.model, s, nm, sizeof nm), 0);
        if (s < t->lora->n_model_slots)
            continue;
        snprintf(key, sizeof key, "init.%s", nm);
        const medner__st_tensor *it = find(&fx.g, key);
        if (it == NULL)
            fail_msg("%s: no %s", path, key);
        assert_int_equal(it->numel, t->numel[s]);
        medner__st_to_f32(medner__tparams_param(t, s), it);
    }
    for (size_t i = 0; i < fx.g.n_tensors; i++)
        n_golden += strncmp(fx.g.tensors[i].name, "grad.", 5) == 0;
    assert_int_equal(n_trainable, n_golden); /* every trainable tensor, no other */
    medner__tbatch b = batch(&fx);
    medner__trainer_ctx *c1, *c3;
    assert_int_equal(medner__train_ctx_create(&c1, 1), MEDNER_OK);
    assert_int_equal(medner__train_ctx_create(&c3, 3), MEDNER_OK);
    double loss = 0, loss3 = 0;
    size_t cnt = 0;
    medner__tparams_zero_grad(t);
    if (medner__train_step(c1, t, &b, NULL, 1, 0.0f, &loss, &cnt, NULL) != MEDNER_OK)
        fail_msg("%s: %s", name, medner_last_error());
    double want_loss;
    memcpy(&want_loss, find(&fx.g, "loss")->data, sizeof want_loss);
    double mean = loss / (double)cnt;
    if (!(fabs(mean - want_loss) <= 1e-6 * fabs(want_loss)))
        fail_msg("%s: LoRA loss %.9g, PyTorch + peft %.9g", name, mean, want_loss);
    double w = 0;
    for (size_t s = 0; s < t->n_slots; s++) {
        if (t->numel[s] == 0)
            continue;
        medner__lora_slot_name(t, fx.model, s, nm, sizeof nm);
        snprintf(key, sizeof key, "grad.%s", nm);
        const medner__st_tensor *gt = find(&fx.g, key);
        if (gt == NULL)
            fail_msg("%s: no golden %s", path, key);
        assert_int_equal(gt->numel, t->numel[s]);
        float *want = malloc(gt->numel * sizeof *want);
        medner__st_to_f32(want, gt);
        double ws = worst(medner__tparams_grad(t, s), want, gt->numel, 1e-4, 1e-6);
        if (ws > 1.0 || getenv("MEDNER_TEST_VERBOSE"))
            print_error("%s: %.3g times the tolerance\n", key, ws);
        if (ws > w)
            w = ws;
        free(want);
    }
    print_message("%s: LoRA loss %.9g (peft %.9g), %zu gradients, worst %.3g of the tolerance "
                  "(1e-4 rel or 1e-6 abs)\n", name, mean, want_loss, n_trainable, w);
    if (!(w <= 1.0))
        fail_msg("%s: LoRA gradients off by %.3g times the tolerance", name, w);
    float *g1 = malloc(t->n * sizeof *g1);
    memcpy(g1, t->grad, t->n * sizeof *g1);
    medner__tparams_zero_grad(t);
    assert_int_equal(medner__train_step(c3, t, &b, NULL, 1, 0.0f, &loss3, &cnt, NULL), MEDNER_OK);
    assert_true(loss3 == loss);
    assert_memory_equal(g1, t->grad, t->n * sizeof *g1);
    free(g1);
    medner__train_ctx_free(c1);
    medner__train_ctx_free(c3);
    unload(&fx);
}

static void test_lora_gradients(void **state)
{
    (void)state;
    check_lora_gradients("bert");
    check_lora_gradients("distilbert");
    check_lora_gradients("minilm");
}

/* Only the LoRA pairs and the classifier are trainable; the base model's
 * weights are read in place and never written. */
static void test_lora_trainable_set(void **state)
{
    (void)state;
    lfix fx;
    load(&fx, "bert", 4, 8.0f, 0.0f);
    medner__tparams *t = fx.tp;
    const medner__config *cfg = &fx.model->config;
    size_t H = cfg->hidden, I = cfg->intermediate, r = 4, want = 0;
    /* per layer: q, k, v, attention.output.dense, intermediate.dense, output.dense */
    want = cfg->layers * (4 * (r * H + H * r) + (r * H + I * r) + (r * I + H * r));
    size_t lora = 0, saved = 0;
    for (size_t s = 0; s < t->n_slots; s++) {
        if (s < t->lora->n_model_slots) {
            if (t->numel[s]) {
                assert_true(s == MEDNER__SLOT_CLS_W || s == MEDNER__SLOT_CLS_B);
                saved++;
            } else {
                assert_null(medner__tparams_param(t, s));
            }
        } else {
            assert_int_equal(t->ndim[s], 2);
            lora += t->numel[s];
        }
    }
    assert_int_equal(saved, 2);
    char nm[300];
    assert_int_equal(medner__lora_slot_name(t, fx.model, MEDNER__SLOT_CLS_W, nm, sizeof nm), 0);
    assert_string_equal(nm, "base_model.model.classifier.weight");
    assert_int_equal(medner__lora_slot_name(t, fx.model, t->lora->mods[0].b_slot, nm, sizeof nm),
                     0);
    assert_string_equal(nm, "base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight");
    assert_int_equal(medner__lora_slot_name(t, fx.model, 7, nm, sizeof nm), -1); /* frozen */
    {   /* full fine-tuning: the HF name */
        medner__tparams *full;
        assert_int_equal(medner__tparams_create(&full, fx.model), MEDNER_OK);
        assert_int_equal(medner__lora_slot_name(full, fx.model, MEDNER__SLOT_CLS_B, nm, sizeof nm),
                         0);
        assert_string_equal(nm, "classifier.bias");
        medner__tparams_free(full);
    }
    assert_int_equal(lora, want);
    assert_int_equal(t->lora->n_mods, 6 * cfg->layers);
    assert_true(t->lora->scale == 2.0f);
    /* B starts at 0, A in [-1/sqrt(in), 1/sqrt(in)) and not constant */
    const medner__lora_mod *md = &t->lora->mods[0];
    const float *A = medner__tparams_param(t, md->a_slot), *B = medner__tparams_param(t, md->b_slot);
    float bound = 1.0f / sqrtf((float)md->in), lo = 1, hi = -1;
    for (size_t i = 0; i < r * md->in; i++) {
        assert_true(A[i] >= -bound && A[i] < bound);
        lo = fminf(lo, A[i]), hi = fmaxf(hi, A[i]);
    }
    assert_true(hi - lo > bound);
    for (size_t i = 0; i < md->out * r; i++)
        assert_true(B[i] == 0.0f);
    /* AdamW's decay mask: lora_A/B and classifier.weight decay, the bias not */
    medner__adamw o;
    assert_int_equal(medner__adamw_init(&o, t), MEDNER_OK);
    assert_int_equal(o.decay[MEDNER__SLOT_CLS_W], 1);
    assert_int_equal(o.decay[MEDNER__SLOT_CLS_B], 0);
    assert_int_equal(o.decay[md->a_slot], 1);
    assert_int_equal(o.decay[md->b_slot], 1);
    /* a few steps change only t->param, never the model's weights */
    const float *qw = fx.model->weights.layers[0].q_w;
    float q0 = qw[0], q1 = qw[H * H - 1];
    assert_true(t->w.layers[0].q_w == qw); /* read in place */
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    medner__tbatch b = batch(&fx);
    o.lr = 1e-2f;
    o.weight_decay = 0.01f;
    for (uint64_t k = 0; k < 3; k++) {
        medner__tdropout d = { 0.1f, 0.1f, 5, k };
        medner__tparams_zero_grad(t);
        assert_int_equal(medner__train_step(c, t, &b, &d, 1, 0.0f, NULL, NULL, NULL), MEDNER_OK);
        medner__adamw_step(&o, t);
    }
    assert_true(qw[0] == q0 && qw[H * H - 1] == q1);
    int moved = 0;
    for (size_t i = 0; i < md->out * r; i++)
        moved |= B[i] != 0.0f;
    assert_true(moved);
    medner__adamw_release(&o);
    medner__train_ctx_free(c);
    unload(&fx);
}

/* PEFT's matching: "dense" targets the three dense layers of a BERT layer
 * (not the classifier); default targets are query and value; a target that
 * matches nothing, r 0 or a bad dropout are refused. */
static void test_lora_config(void **state)
{
    (void)state;
    medner__model *m;
    assert_int_equal(medner__model_load(&m, DATA "/bert"), MEDNER_OK);
    medner__lora_config c;
    medner__tparams *t = NULL;
    medner__lora_config_default(&c);
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_OK);
    assert_int_equal(t->lora->n_mods, 2 * m->config.layers); /* query, value */
    for (size_t i = 0; i < t->lora->n_mods; i++)
        assert_true(t->lora->mods[i].which == MEDNER__LORA_Q ||
                    t->lora->mods[i].which == MEDNER__LORA_V);
    medner__tparams_free(t);
    c.target_modules[0] = "dense";
    c.n_targets = 1;
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_OK);
    assert_int_equal(t->lora->n_mods, 3 * m->config.layers);
    medner__tparams_free(t);
    c.target_modules[0] = "attention.self.query"; /* a longer suffix */
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_OK);
    assert_int_equal(t->lora->n_mods, m->config.layers);
    medner__tparams_free(t);
    c.target_modules[0] = "ery"; /* not a whole component */
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "matches no Linear"));
    c.target_modules[0] = "query";
    c.r = 0;
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_E_INVALID_ARGUMENT);
    c.r = 4;
    c.dropout = 1.0f;
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "lora_dropout"));
    c.dropout = 0.0f;
    t = NULL;
    c.target_modules[0] = "classifier";
    c.modules_to_save[0] = "pooler"; /* the classifier not saved, and targeted */
    c.n_save = 1;
    assert_int_equal(medner__tparams_create_lora(&t, m, &c), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "modules_to_save"));
    assert_null(t);
    medner__model_free(m);
}

/* The loss of the LoRA model (dropout on, lora dropout 0.3) as a function
 * of one parameter: central differences against the backward's gradient,
 * for elements of lora_A, lora_B and the classifier. */
static void test_lora_dropout_fd(void **state)
{
    (void)state;
    lfix fx;
    load(&fx, "bert", 4, 8.0f, 0.3f);
    medner__tparams *t = fx.tp;
    /* B random, so that dA is not 0 */
    for (size_t s = t->lora->n_model_slots; s < t->n_slots; s++) {
        float *p = medner__tparams_param(t, s);
        for (size_t i = 0; i < t->numel[s]; i++)
            p[i] = 0.1f * (2.0f * medner__rng_uniform(99, s, i) - 1.0f);
    }
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    medner__tbatch b = batch(&fx);
    medner__tdropout d = { 0.2f, 0.1f, 77, 3 };
    double loss;
    size_t cnt;
    medner__tparams_zero_grad(t);
    assert_int_equal(medner__train_step(c, t, &b, &d, 1, 0.0f, &loss, &cnt, NULL), MEDNER_OK);
    float *g = malloc(t->n * sizeof *g);
    memcpy(g, t->grad, t->n * sizeof *g);
    size_t checked = 0;
    double worst_rel = 0;
    for (size_t s = 0; s < t->n_slots; s++) {
        if (t->numel[s] == 0)
            continue;
        float *p = medner__tparams_param(t, s);
        const float *gs = g + t->off[s];
        for (size_t k = 0; k < 3; k++) {
            size_t i = (k * 7919 + s * 31) % t->numel[s];
            if (fabsf(gs[i]) < 1e-3f)
                continue;
            float keep = p[i], h = 1e-2f * fmaxf(1.0f, fabsf(keep));
            double lp, lm;
            p[i] = keep + h;
            medner__train_step(c, t, &b, &d, 0, 0.0f, &lp, &cnt, NULL);
            p[i] = keep - h;
            medner__train_step(c, t, &b, &d, 0, 0.0f, &lm, &cnt, NULL);
            p[i] = keep;
            double fd = (lp - lm) / (2.0 * (double)h) / (double)cnt;
            double rel = fabs(fd - gs[i]) / fmax(fabs(fd), 1e-3);
            if (rel > worst_rel)
                worst_rel = rel;
            checked++;
        }
    }
    print_message("LoRA with dropout: %zu gradient elements against finite differences, worst "
                  "relative difference %.3g\n", checked, worst_rel);
    assert_true(checked >= 20);
    assert_true(worst_rel < 2e-2);
    free(g);
    medner__train_ctx_free(c);
    unload(&fx);
}

/* 30 LoRA steps with AdamW, dropout on, lower the loss of the batch. */
static void test_lora_lowers_loss(void **state)
{
    (void)state;
    lfix fx;
    load(&fx, "minilm", 8, 16.0f, 0.1f);
    medner__tparams *t = fx.tp;
    medner__trainer_ctx *c;
    medner__adamw o;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    assert_int_equal(medner__adamw_init(&o, t), MEDNER_OK);
    o.lr = 5e-3f;
    o.warmup = 3;
    o.total = 30;
    medner__tbatch b = batch(&fx);
    double first = 0, last = 0, eval0 = 0, eval1 = 0, l;
    size_t cnt = 0;
    assert_int_equal(medner__train_step(c, t, &b, NULL, 0, 0.0f, &eval0, &cnt, NULL), MEDNER_OK);
    for (uint64_t k = 0; k < 30; k++) {
        medner__tdropout d = { 0.1f, 0.1f, 3, k };
        medner__tparams_zero_grad(t);
        assert_int_equal(medner__train_step(c, t, &b, &d, 1, 0.0f, &l, &cnt, NULL), MEDNER_OK);
        medner__adamw_step(&o, t);
        if (k == 0)
            first = l / (double)cnt;
        last = l / (double)cnt;
    }
    assert_int_equal(medner__train_step(c, t, &b, NULL, 0, 0.0f, &eval1, &cnt, NULL), MEDNER_OK);
    eval0 /= (double)cnt;
    eval1 /= (double)cnt;
    print_message("30 LoRA steps: training loss %.4f -> %.4f, eval loss %.4f -> %.4f\n", first,
                  last, eval0, eval1);
    assert_true(eval1 < 0.5 * eval0);
    assert_true(last < first);
    medner__adamw_release(&o);
    medner__train_ctx_free(c);
    unload(&fx);
}

/* Save the adapter of a few LoRA steps on tiny-bert-tc, load it with the
 * encoder (adapter_dir): the logits equal the training forward's. */
static void test_lora_save_roundtrip(void **state)
{
    (void)state;
    const char *base = "tests/data/models/tiny-bert-tc";
    medner__model *m;
    assert_int_equal(medner__model_load(&m, base), MEDNER_OK);
    medner__lora_config cfg;
    lora_cfg(&cfg, "bert", 4, 8.0f, 0.1f);
    cfg.base_model_name_or_path = base;
    medner__tparams *t;
    assert_int_equal(medner__tparams_create_lora(&t, m, &cfg), MEDNER_OK);
    size_t C = t->config.num_labels, V = t->config.vocab_size;
    int32_t ids[40], types[40] = { 0 }, labels[40];
    size_t lens[2] = { 17, 23 }, T = 40;
    for (size_t i = 0; i < T; i++) {
        ids[i] = (int32_t)(5 + (i * 37) % (V - 5));
        labels[i] = (int32_t)((i * 5) % C);
    }
    ids[0] = ids[17] = 2; /* [CLS]-like starts, unlabelled */
    labels[0] = labels[17] = MEDNER__IGNORE_INDEX;
    medner__tbatch b = { ids, types, labels, lens, 2 };
    medner__trainer_ctx *c;
    medner__adamw o;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    assert_int_equal(medner__adamw_init(&o, t), MEDNER_OK);
    o.lr = 1e-2f;
    for (uint64_t k = 0; k < 5; k++) {
        medner__tdropout d = { 0.1f, 0.1f, 9, k };
        medner__tparams_zero_grad(t);
        assert_int_equal(medner__train_step(c, t, &b, &d, 1, 0.0f, NULL, NULL, NULL), MEDNER_OK);
        medner__adamw_step(&o, t);
    }
    const float *logits;
    assert_int_equal(medner__train_step(c, t, &b, NULL, 0, 0.0f, NULL, NULL, &logits), MEDNER_OK);
    const char *keep = getenv("MEDNER_LORA_OUT");
    char dir[256];
    if (keep)
        snprintf(dir, sizeof dir, "%s", keep);
    else
        snprintf(dir, sizeof dir, "/tmp/medner-test-lora-%ld", (long)getpid());
    if (medner__tparams_save_peft(t, m, base, dir) != MEDNER_OK)
        fail_msg("save_peft: %s", medner_last_error());
    /* not the base directory; not full parameters */
    assert_int_equal(medner__tparams_save_peft(t, m, base, base), MEDNER_E_INVALID_ARGUMENT);
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = dir;
    medner_encoder *e;
    if (medner_encoder_load(&e, base, &ep) != MEDNER_OK)
        fail_msg("medner loading %s: %s", dir, medner_last_error());
    medner_context *ec;
    assert_int_equal(medner_context_create(&ec, e), MEDNER_OK);
    const int32_t *pi[2] = { ids, ids + 17 }, *pt[2] = { types, types + 17 };
    assert_int_equal(medner_encoder_run(ec, pi, pt, lens, 2), MEDNER_OK);
    double w = 0;
    for (size_t s = 0, r = 0; s < 2; r += lens[s++]) {
        const float *got = medner_context_logits(ec, s);
        w = fmax(w, worst(got, logits + r * C, lens[s] * C, 1e-4, 1e-5));
    }
    print_message("adapter saved and loaded by medner: logits within %.3g of the tolerance\n", w);
    assert_true(w <= 1.0);
    if (keep) { /* the batch and medner's logits for check_lora_roundtrip.py */
        char path[400];
        snprintf(path, sizeof path, "%s/medner_logits.safetensors", dir);
        float fids[40], flens[2] = { 17, 23 };
        for (size_t i = 0; i < T; i++)
            fids[i] = (float)ids[i];
        size_t sh_ids[1] = { T }, sh_l[1] = { 2 }, sh_lg[2] = { T, C };
        const char *names[3] = { "ids", "lens", "logits" };
        const size_t *shapes[3] = { sh_ids, sh_l, sh_lg };
        unsigned char nd[3] = { 1, 1, 2 };
        const float *data[3] = { fids, flens, logits };
        assert_int_equal(medner__safetensors_write(path, 3, names, shapes, nd, data), MEDNER_OK);
    } else {
        static const char *files[] = { "adapter_model.safetensors", "adapter_config.json",
                                       "config.json", "vocab.txt", "tokenizer_config.json" };
        char path[400];
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    medner_context_free(ec);
    medner_encoder_free(e);
    medner__adamw_release(&o);
    medner__train_ctx_free(c);
    medner__tparams_free(t);
    medner__model_free(m);
}

/* ---- allocation failures ------------------------------------------------------------- */

typedef struct failing {
    long count, fail_at;
} failing;

static void *fail_alloc(void *u, size_t n)
{
    failing *f = u;
    return ++f->count == f->fail_at ? NULL : malloc(n);
}

static void *fail_realloc(void *u, void *p, size_t n)
{
    failing *f = u;
    return ++f->count == f->fail_at ? NULL : realloc(p, n);
}

static void fail_free(void *u, void *p)
{
    (void)u;
    free(p);
}

/* load, LoRA parameters, a step with lora dropout, AdamW, save: the status */
static int lora_sequence(const medner__tbatch *b, const char *dir)
{
    medner__model *m = NULL;
    medner__tparams *t = NULL;
    medner__trainer_ctx *c = NULL;
    medner__adamw o;
    memset(&o, 0, sizeof o);
    medner__lora_config cfg;
    lora_cfg(&cfg, "bert", 4, 8.0f, 0.1f);
    int rc = medner__model_load(&m, DATA "/bert");
    if (rc == MEDNER_OK)
        rc = medner__tparams_create_lora(&t, m, &cfg);
    if (rc == MEDNER_OK)
        rc = medner__train_ctx_create(&c, 2);
    medner__tdropout d = { 0.1f, 0.1f, 1, 0 };
    if (rc == MEDNER_OK)
        rc = medner__train_step(c, t, b, &d, 1, 0.0f, NULL, NULL, NULL);
    if (rc == MEDNER_OK && (rc = medner__adamw_init(&o, t)) == MEDNER_OK) {
        medner__adamw_step(&o, t);
        medner__adamw_release(&o);
    }
    if (rc == MEDNER_OK)
        rc = medner__tparams_save_peft(t, m, DATA "/bert", dir);
    medner__train_ctx_free(c);
    medner__tparams_free(t);
    medner__model_free(m);
    return rc;
}

static void test_lora_allocation_failures(void **state)
{
    (void)state;
    lfix fx;
    load(&fx, "bert", 4, 8.0f, 0.1f);
    size_t T = fx.T, n = fx.n_seqs, lens[8];
    int32_t *ids = malloc(T * sizeof *ids), *labels = malloc(T * sizeof *labels),
            *types = malloc(T * sizeof *types);
    memcpy(ids, fx.ids, T * sizeof *ids);
    memcpy(labels, fx.labels, T * sizeof *labels);
    memcpy(types, fx.types, T * sizeof *types);
    memcpy(lens, fx.lens, sizeof lens);
    unload(&fx);
    medner__tbatch b = { ids, types, labels, lens, n };
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/medner-test-lora-alloc-%ld", (long)getpid());
    failing f;
    long k;
    for (k = 1;; k++) {
        f.count = 0;
        f.fail_at = k;
        medner_allocator a = MEDNER_ALLOCATOR_INIT;
        a.alloc_fn = fail_alloc;
        a.realloc_fn = fail_realloc;
        a.free_fn = fail_free;
        a.user_data = &f;
        assert_int_equal(medner_allocator_set(&a), MEDNER_OK);
        int rc = lora_sequence(&b, dir);
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
        if (rc == MEDNER_OK && f.count < k)
            break;
        if (rc == MEDNER_OK)
            continue; /* absorbed: a worker thread not started */
        if (rc != MEDNER_E_OUT_OF_MEMORY)
            fail_msg("allocation %ld failing: status %d (%s)", k, rc, medner_last_error());
    }
    assert_true(k > 10);
    print_message("LoRA: each of %ld allocations failing in turn: out of memory (or absorbed), "
                  "nothing leaked\n", k - 1);
    static const char *files[] = { "adapter_model.safetensors", "adapter_config.json",
                                   "config.json", "vocab.txt", "tokenizer_config.json" };
    char path[300];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    free(ids), free(labels), free(types);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lora_gradients),     cmocka_unit_test(test_lora_trainable_set),
        cmocka_unit_test(test_lora_config),        cmocka_unit_test(test_lora_dropout_fd),
        cmocka_unit_test(test_lora_lowers_loss),   cmocka_unit_test(test_lora_save_roundtrip),
        cmocka_unit_test(test_lora_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
