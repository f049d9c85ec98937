#ifndef MEDNER_MODEL_ADAPTER_H
#define MEDNER_MODEL_ADAPTER_H

/*
 * PEFT LoRA adapters (docs/model-formats.md, *LoRA adapters*): loading a base
 * model with an adapter merged in, the record of what it changed, and PEFT's
 * module-name rules (shared with LoRA training in src/train).
 *
 * Layering: the adapter is one layer above the model. adapter.c uses
 * model/model.h (medner__model_load() and the weight slots); model.c neither
 * includes this header nor calls anything defined in adapter.c.
 * Internal API (medner__ prefix, not exported from the shared library).
 */
#include <stddef.h>

#include "model/model.h"

/* PEFT's module-name rules for plain names, shared by the adapter loader and
 * LoRA training (src/train) so both read adapter_config.json alike.
 * target_modules / exclude_modules: key (klen bytes) == name or ends with
 * "." + name. modules_to_save: name is a whole run of dot-separated
 * components of key. Pure functions, any thread. */
int medner__peft_ends_with_module(const char *key, size_t klen, const char *name);
int medner__peft_has_module(const char *key, size_t klen, const char *name);

/* What a PEFT LoRA adapter changed (medner__model_load_adapter()). One
 * allocation: the strings live after the struct, so medner__model_free()
 * releases it with medner__free() and model.c never calls into adapter.c. */
typedef struct medner__adapter {
    char *dir;               /* the adapter directory as given */
    char *base_model;        /* base_model_name_or_path, or NULL (recorded, not checked:
                                usually a hub name) */
    size_t r;                /* rank */
    double alpha;            /* lora_alpha */
    double scale;            /* alpha / r, or alpha / sqrt(r) with use_rslora */
    int rslora;              /* use_rslora */
    char *targets;           /* target_modules, ", "-separated */
    char *modules_to_save;   /* modules_to_save, ", "-separated ("" if none) */
    size_t n_merged;         /* base weights with scale * B.A merged in */
    size_t n_replaced;       /* base tensors replaced by modules_to_save tensors */
    size_t n_skipped;        /* LoRA pairs on modules medner does not run (e.g. pooler.dense) */
} medner__adapter;

/* medner__model_load(dir), then merge the PEFT LoRA adapter in adapter_dir
 * (adapter_config.json + adapter_model.safetensors; NULL: no adapter, same as
 * medner__model_load()). Each weight with a LoRA pair becomes a private fp32
 * copy W + scale * B.A (computed in double); modules_to_save tensors (e.g.
 * `classifier`) replace the base tensor, and may give a base without a head
 * one. Every other tensor stays as the base loaded it (mapped, zero copy).
 * Labels of a head the adapter brings or relabels: the adapter directory's
 * config.json id2label, else the base config.json id2label, else LABEL_i.
 * docs/model-formats.md lists every rule. Errors: those of
 * medner__model_load(), plus for the adapter
 *   MEDNER_E_IO              adapter_dir, adapter_config.json or
 *                            adapter_model.safetensors missing or unreadable
 *   MEDNER_E_PARSE           malformed JSON (file:line:col) or safetensors header
 *   MEDNER_E_UNSUPPORTED     peft_type other than LORA, target_modules as a
 *                            regular expression, use_dora, bias other than
 *                            "none", fan_in_fan_out, rank/alpha patterns,
 *                            other LoRA variants, only adapter_model.bin
 *   MEDNER_E_INVALID_MODEL   bad config values (file:line:col); a LoRA tensor
 *                            without its pair, of the wrong shape, naming no
 *                            module of the base or one outside target_modules;
 *                            a targeted module without tensors; labels that do
 *                            not match the classifier (file and tensor named)
 * On failure *out is untouched and nothing stays allocated or mapped. */
int medner__model_load_adapter(medner__model **out, const char *dir, const char *adapter_dir);

#endif /* MEDNER_MODEL_ADAPTER_H */
