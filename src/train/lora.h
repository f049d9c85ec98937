/*
 * LoRA training (issue 18): the trainable parameters of a PEFT LoRA adapter
 * on a frozen base model, and the PEFT adapter directory they are saved as.
 *
 * medner__tparams_create_lora gives a medner__tparams (train.h) whose
 * param / grad / n cover only the TRAINABLE tensors: lora_A [r, in] and
 * lora_B [out, r] of every targeted Linear, and the modules_to_save tensors
 * (the classifier). medner__train_step and medner__adamw_* use it unchanged:
 *   - slots 0 .. medner__model_n_slots(m) - 1 are the model's; a frozen base
 *     tensor has numel 0 there (medner__tparams_param() gives NULL), a
 *     modules_to_save tensor its trainable copy;
 *   - slots after them hold the LoRA pairs (A then B per module), ndim 2, so
 *     AdamW's decay mask (2-D tensors decay) is HF Trainer's for a PEFT model
 *     (lora_A / lora_B and classifier.weight decay; classifier.bias does not);
 *   - t->w reads the frozen weights in place from the model (keep it loaded
 *     and unchanged while t lives) and the modules_to_save from t->param.
 * The forward of a targeted Linear is PEFT's:
 *   y = x W^T + b + (dropout(x) A^T) B^T * scale,   scale = alpha / r
 * (lora_dropout on the LoRA input path only, a mask per module and step from
 * the counter RNG of backward.h, on whenever the step has dropout on: a
 * medner__tdropout with hidden or attention > 0). The backward gives dA, dB
 * and dX through both paths; frozen base weights get no gradient (their dW
 * products are skipped).
 *
 * Module matching mirrors src/model/adapter.c (PEFT's rules for plain
 * names): a Linear is targeted when its module name (PEFT's, e.g.
 * "bert.encoder.layer.0.attention.self.query") equals a target_modules
 * entry or ends with "." + it, and no modules_to_save entry is one of its
 * dot-separated components; a tensor is saved when a modules_to_save entry
 * is a whole run of components of its module name.
 *
 * Init: B = 0 (PEFT); A uniform in [-1/sqrt(in), 1/sqrt(in)), the bound of
 * PEFT's kaiming_uniform_(a=sqrt(5)), drawn from the counter RNG keyed by
 * (seed, module): deterministic and thread-independent, but not PEFT's
 * torch.Generator stream (parity of the init with PEFT is not attempted).
 */
#ifndef MEDNER_TRAIN_LORA_H
#define MEDNER_TRAIN_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "train/train.h"

#define MEDNER__LORA_MAX_NAMES 16

typedef struct medner__lora_config {
    size_t r;      /* rank >= 1 (PEFT default 8) */
    float alpha;   /* lora_alpha (PEFT default 8); scale = alpha / r */
    float dropout; /* lora_dropout in [0, 1) (PEFT default 0) */
    /* target_modules; n_targets 0: PEFT's default for the architecture
     * (query, value / q_lin, v_lin) */
    const char *target_modules[MEDNER__LORA_MAX_NAMES];
    size_t n_targets;
    /* modules_to_save; n_save 0: { "classifier" } */
    const char *modules_to_save[MEDNER__LORA_MAX_NAMES];
    size_t n_save;
    uint64_t seed;                       /* init of lora_A */
    const char *base_model_name_or_path; /* for adapter_config.json; NULL: "" */
} medner__lora_config;

/* PEFT's LoraConfig defaults (r 8, alpha 8, dropout 0, default targets,
 * modules_to_save classifier as TOKEN_CLS adds it), seed 0. */
void medner__lora_config_default(medner__lora_config *c);

/* One targeted Linear. */
typedef struct medner__lora_mod {
    size_t slot;         /* the base weight's model slot */
    size_t layer, which; /* which: MEDNER__LORA_Q .. MEDNER__LORA_FFN2 */
    size_t in, out;
    size_t a_slot, b_slot; /* slots of lora_A [r, in], lora_B [out, r] in the tparams */
} medner__lora_mod;

enum { MEDNER__LORA_Q, MEDNER__LORA_K, MEDNER__LORA_V, MEDNER__LORA_O, MEDNER__LORA_FFN1,
       MEDNER__LORA_FFN2, MEDNER__LORA_WHICH };

struct medner__lora {
    size_t r;
    float alpha, dropout, scale;
    uint64_t seed;
    size_t n_model_slots;
    medner__lora_mod *mods;
    size_t n_mods;
    long *index; /* [layer * MEDNER__LORA_WHICH + which]: index in mods, or -1 */
    char **targets, **save; /* owned copies of the config's names */
    size_t n_targets, n_save;
    char *base_name;
};

/* The trainable LoRA parameters of model m (which must have a
 * token-classification head) under cfg. Errors: MEDNER_E_INVALID_ARGUMENT
 * (no head, r 0, dropout outside [0, 1), alpha not finite, no Linear
 * matched by target_modules, a target_modules entry naming the classifier
 * without it being saved, too many names), MEDNER_E_OUT_OF_MEMORY. */
int medner__tparams_create_lora(medner__tparams **out, medner__model *m,
                                const medner__lora_config *cfg);

/* A name for trainable slot s of t, into buf: with LoRA the name PEFT saves
 * it under (see below; unique per slot, so usable for checkpoints of the
 * optimizer state too), for full fine-tuning medner__slot_hf_name's.
 * Returns 0, or -1 (s frozen or out of range, buf too small). */
int medner__lora_slot_name(const medner__tparams *t, const medner__model *m, size_t s, char *buf,
                           size_t size);

/* Write the PEFT adapter directory `dir` (created if missing):
 *   adapter_model.safetensors  base_model.model.<module>.lora_A.weight /
 *                              lora_B.weight per targeted Linear, and
 *                              base_model.model.<saved tensor> (e.g.
 *                              base_model.model.classifier.weight): the
 *                              names PEFT 0.x saves (modules_to_save
 *                              without "modules_to_save.default");
 *   adapter_config.json        peft_type LORA, task_type TOKEN_CLS, r,
 *                              lora_alpha, lora_dropout, target_modules,
 *                              modules_to_save, base_model_name_or_path,
 *                              bias "none", fan_in_fan_out false,
 *                              use_rslora false, inference_mode true;
 *   config.json                the base's config.json with t's id2label
 *                              (medner__tparams_save_hf's writer);
 *   tokenizer files            copied from base_dir when present.
 * Loads unchanged in medner (--adapter) and in peft (PeftModel.
 * from_pretrained). Errors: MEDNER_E_INVALID_ARGUMENT (t not from
 * medner__tparams_create_lora), MEDNER_E_IO, MEDNER_E_PARSE,
 * MEDNER_E_OUT_OF_MEMORY. */
int medner__tparams_save_peft(const medner__tparams *t, const medner__model *m,
                              const char *base_dir, const char *dir);

#endif
