/*
 * Training of BERT-family token classifiers (issue 18), phase 1: the
 * trainable parameters with their gradients, the training forward pass that
 * keeps the activations the backward pass needs, the backward pass through
 * the classifier, every layer and the embeddings, and AdamW with its
 * schedule, gradient clipping and accumulation. Internal (medner__): phase 2
 * puts the public trainer API and `medner train` on top.
 *
 * The only module that calls the backward kernels (kernels/backward.h).
 * Depends on common/, kernels/ and model/. docs/training.md gives the design
 * (activations kept, memory, threading, determinism, RNG).
 */
#ifndef MEDNER_TRAIN_H
#define MEDNER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "kernels/backward.h"
#include "model/model.h"

/* ---- parameters and gradients ---------------------------------------------------
 * A private, writable fp32 copy of every tensor of a loaded model (one flat
 * buffer), a gradient buffer of the same layout, and a medner__weights view
 * on the copy that the training forward reads. Tensors are indexed by the
 * model's weight slots (medner__model_slot() maps a safetensors name to its
 * slot), so a gradient has the name and shape of its weight. */
typedef struct medner__tparams {
    medner__config config;  /* a copy (labels borrowed from the model: keep it loaded) */
    size_t n_slots;
    size_t *off, *numel;    /* per slot: offset in param/grad, size (0: the model lacks it) */
    unsigned char *ndim;    /* per slot: 1 or 2 */
    float *param, *grad;    /* n floats each */
    size_t n;
    medner__weights w;      /* view on param */
    /* LoRA (train/lora.h: medner__tparams_create_lora): NULL for full
     * fine-tuning. Then only the LoRA pairs and modules_to_save are in
     * param / grad, and w reads the frozen weights from the model. */
    struct medner__lora *lora;
} medner__tparams;

/* Copy the weights of m (which must have a token-classification head).
 * Errors: MEDNER_E_INVALID_ARGUMENT (no head), MEDNER_E_OUT_OF_MEMORY. */
int medner__tparams_create(medner__tparams **out, medner__model *m);
void medner__tparams_free(medner__tparams *t);
/* Frees a LoRA description (lora.c; NULL is a no-op). */
void medner__lora_free(struct medner__lora *l);
void medner__tparams_zero_grad(medner__tparams *t);
/* Parameter / gradient of slot s (NULL when the model lacks it). */
float *medner__tparams_param(medner__tparams *t, size_t s);
float *medner__tparams_grad(medner__tparams *t, size_t s);

/* ---- one batch -------------------------------------------------------------------
 * n_seqs sequences packed one after the other (no padding: what a padding
 * mask computes): token i of sequence s at row starts[s] + i, starts the
 * running sum of lens. labels: a label index, or MEDNER__IGNORE_INDEX
 * (sub-tokens, special tokens), as PyTorch's CrossEntropyLoss. type_ids may
 * be NULL (all 0; ignored for DistilBERT). */
#define MEDNER__IGNORE_INDEX (-100)
typedef struct medner__tbatch {
    const int32_t *ids, *type_ids, *labels;
    const size_t *lens;
    size_t n_seqs;
} medner__tbatch;

/* Dropout of the training forward (HF sites: after the embeddings'
 * LayerNorm, on the attention probabilities, on the attention output
 * projection (BERT) and the FFN output before their residual LayerNorm, and
 * before the classifier). 0 = off (the gradient checks). The masks depend on
 * (seed, step, layer, site, element), never on the thread count. */
typedef struct medner__tdropout {
    float hidden, attention;
    uint64_t seed;
    uint64_t step; /* the micro-batch counter: a new mask per step */
} medner__tdropout;

/* ---- the training context ----------------------------------------------------------
 * The activations of one batch, the backward's buffers and the threads.
 * One thread uses a context at a time. */
typedef struct medner__trainer_ctx medner__trainer_ctx;
int medner__train_ctx_create(medner__trainer_ctx **out, size_t threads);
void medner__train_ctx_free(medner__trainer_ctx *c);
/* Mixed precision (docs/training.md): on = 1 runs the dense layers' products
 * (Q, K, V, attention output, FFN; forward, dx and dW) in bf16 with fp32
 * sums (kernels/bgemm.h: AMX-BF16 or AVX512-BF16); parameters, gradients,
 * AdamW, LayerNorm, softmax, activations, attention and the loss stay fp32.
 * On a CPU without a native bf16 kernel the context stays fp32. Returns the
 * setting in force (1 bf16, 0 fp32). */
int medner__train_ctx_set_bf16(medner__trainer_ctx *c, int on);
int medner__train_ctx_bf16(const medner__trainer_ctx *c);
/* The context's thread team (for medner__adamw_step_par); owned by c. */
medner__par *medner__train_ctx_par(medner__trainer_ctx *c);

/* Forward the batch, cross-entropy over its non-ignored tokens, and (when
 * backward) the gradient of (sum of token losses) * grad_scale ADDED to
 * t->grad. grad_scale 0 means 1 / (non-ignored tokens of this batch): the
 * mean loss's gradient; gradient accumulation over micro-batches passes
 * 1 / (non-ignored tokens of all of them) to each, so the sum equals the
 * whole batch's. *loss_sum (may be NULL): sum of the token losses; *count:
 * non-ignored tokens. logits (may be NULL): receives a pointer to the
 * batch's logits [T, num_labels] (valid until the next call).
 * Errors: MEDNER_E_INVALID_ARGUMENT (ids, type ids, labels out of range,
 * empty or too long sequences: sequence and token named; nothing touched),
 * MEDNER_E_OUT_OF_MEMORY (t->grad may then hold part of this batch's
 * gradient: zero it before the next accumulation). */
int medner__train_step(medner__trainer_ctx *c, medner__tparams *t, const medner__tbatch *b,
                       const medner__tdropout *drop, int backward, float grad_scale,
                       double *loss_sum, size_t *count, const float **logits);

/* ---- optimisation ---------------------------------------------------------------------
 * torch.optim.AdamW (decoupled weight decay, bias correction, amsgrad off):
 *   p *= 1 - lr wd   (only where decay[i])
 *   m = m + (1 - b1) (g - m);  v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * in fp32 in that order (t = step, from 1). */
void medner__adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                          float beta1, float beta2, float eps, float weight_decay, uint64_t step);

/* HF get_linear_schedule_with_warmup: the factor of the base learning rate
 * at optimizer step `step` (0-based): step / warmup during warm-up, then
 * linearly down to 0 at `total`. */
double medner__lr_linear_warmup(uint64_t step, uint64_t warmup, uint64_t total);

/* torch.nn.utils.clip_grad_norm_: the global 2-norm of g (in double) is
 * returned; when max_norm > 0, g *= min(1, max_norm / (norm + 1e-6)). */
double medner__clip_grad_norm(float *g, size_t n, float max_norm);
/* The same norm (bitwise), g untouched. */
double medner__grad_norm(const float *g, size_t n);

typedef struct medner__adamw {
    float lr, beta1, beta2, eps, weight_decay, max_grad_norm;
    uint64_t warmup, total; /* schedule, in optimizer steps (total 0: constant lr) */
    uint64_t step;          /* optimizer steps done */
    float *m, *v;           /* moments, t->n each */
    unsigned char *decay;   /* per slot: 1 = weight decay (2-D tensors), 0 = biases and
                               LayerNorm weights (HF Trainer's no-decay groups) */
    size_t n_slots;
} medner__adamw;

/* Defaults of HF TrainingArguments: lr 5e-5, betas (0.9, 0.999), eps 1e-8,
 * weight decay 0, clipping at norm 1, no warm-up, no schedule. Returns
 * MEDNER_OK, or MEDNER_E_OUT_OF_MEMORY with nothing left allocated. */
int medner__adamw_init(medner__adamw *o, const medner__tparams *t);
void medner__adamw_release(medner__adamw *o);
/* One optimizer step on t->grad (the accumulated micro-batches): clip,
 * AdamW at the scheduled lr, step++. Returns the gradient norm before
 * clipping. The clipping factor is applied to each gradient as AdamW reads
 * it (the same bits as clip_grad_norm_ scaling t->grad first): t->grad is
 * left as accumulated, not zeroed and not scaled. */
double medner__adamw_step(medner__adamw *o, medner__tparams *t);
/* The same on the threads of par (NULL: the caller's thread); the same bits
 * for every thread count. Cannot fail; par must not be running other work
 * (medner__par_run is not reentrant). */
double medner__adamw_step_par(medner__adamw *o, medner__tparams *t, medner__par *par);

#endif
