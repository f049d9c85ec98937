/*
 * Private to src/model: what model.c, config.c, safetensors.c and adapter.c
 * share and nothing else in the library uses. The rest of the library
 * includes model/model.h (and model/adapter.h); tests/build/check-layers.sh
 * fails when a file outside src/model includes this header (unit tests in
 * tests/ may, to check limits and mappings: test_model.c, test_adapter.c,
 * fuzz_safetensors.c).
 * Internal API (medner__ prefix, not exported from the shared library).
 */
#ifndef MEDNER_MODEL_INTERNAL_H
#define MEDNER_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Caps on config.json values (anything at or above is MEDNER_E_INVALID_MODEL). */
#define MEDNER__MODEL_MAX_DIM ((size_t)1 << 20)   /* hidden, intermediate, vocab, positions, labels */
#define MEDNER__MODEL_MAX_LAYERS 256               /* at most this many layers */
/* Largest safetensors header accepted (the safetensors library's own cap). */
#define MEDNER__ST_MAX_HEADER ((uint64_t)100000000)

/* 1 if the `bytes` bytes at p lie inside one of the model's read-only
 * mappings (a zero-copy weight), else 0. (adapter.c: a mapped weight is
 * copied before a LoRA delta is merged into it.) */
int medner__model_is_mapped(const medner__model *model, const void *p, size_t bytes);

/* Parse only config.json (model.c; adapter.c releases the labels it
 * replaces). *out is filled only on success; free its labels with
 * medner__config_release().
 * Errors as medner__model_load() (minus the safetensors ones). */
int medner__config_load(medner__config *out, const char *path);
void medner__config_release(medner__config *config);

/* Labels of a config.json's "id2label" (checked as for models: num_labels,
 * label2id), whatever its architecture (adapter.c: the labels of a head an
 * adapter brings). *labels NULL and *n 0 when the file has no id2label. Free
 * with medner__labels_free(). */
int medner__config_load_id2label(const char *path, char ***labels, size_t *n);

/* "F32", ... ("?" for values outside the enum), for error messages. */
const char *medner__dtype_name(medner__dtype dtype);

/* Unmap a mapping made by medner__st_open(). */
void medner__mapping_release(medner__mapping *m);

#endif /* MEDNER_MODEL_INTERNAL_H */
