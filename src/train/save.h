/*
 * Writing trained weights (issue 18): a safetensors writer (F32 tensors),
 * and a Hugging Face token-classification model directory made from
 * training parameters (model.safetensors + config.json + tokenizer files)
 * that medner and transformers' AutoModelForTokenClassification load.
 * Internal (medner__). Depends on common/, json/, model/ and train.h.
 *
 * Every file is written atomically: into a temporary file in the same
 * directory (NAME.tmp.XXXXXX), fsync'ed, then renamed over NAME, and the
 * directory fsync'ed; a crash leaves either the old file or the new one,
 * never a torn one (a stray NAME.tmp.* at worst).
 */
#ifndef MEDNER_TRAIN_SAVE_H
#define MEDNER_TRAIN_SAVE_H

#include <stddef.h>

#include "common/common.h"
#include "model/model.h"
#include "train/train.h"

/* Write n F32 tensors to a safetensors file at path, as the safetensors
 * library writes them: an 8-byte little-endian header length, the JSON
 * header {"__metadata__":{"format":"pt"}, NAME: {"dtype":"F32","shape":[..],
 * "data_offsets":[begin,end]}, ...} with the tensors sorted by name (byte
 * order, as Rust's sort of the names: all tensors are F32, so the safetensors
 * library's order by (dtype, name) is the name order), padded with spaces to
 * a multiple of 8 bytes, then the data of each tensor in that order,
 * little-endian, contiguous. shapes[i] has ndims[i] dims (0 = a scalar, at
 * most MEDNER__ST_MAX_DIMS); data[i] holds their product floats (may be NULL
 * when that product is 0).
 * Errors: MEDNER_E_INVALID_ARGUMENT (NULL arguments, empty or duplicate
 * names, names with control characters, too many dims: the tensor named),
 * MEDNER_E_IO (create/write/fsync/rename failed: path and errno text; the
 * temporary file is removed and an existing file at path stays as it was),
 * MEDNER_E_OUT_OF_MEMORY. */
int medner__safetensors_write(const char *path, size_t n, const char *const *names,
                              const size_t *const *shapes, const unsigned char *ndims,
                              const float *const *data);

/* Write `len` bytes to path atomically (temporary file, fsync, rename,
 * fsync of the directory). Errors: MEDNER_E_IO (path named),
 * MEDNER_E_INVALID_ARGUMENT. */
int medner__write_file_atomic(const char *path, const void *bytes, size_t len);

/* Create directory dir (and its missing parents), mode 0777 & ~umask.
 * An existing directory is fine. Errors: MEDNER_E_IO. */
int medner__mkdir_p(const char *dir);

/* The Hugging Face name of slot s of model m ("bert.encoder.layer.0.
 * attention.self.query.weight", "classifier.bias", ...: the names
 * BertForTokenClassification / DistilBertForTokenClassification save).
 * Returns 0, or -1 when buf is too small. */
int medner__slot_hf_name(const medner__model *m, size_t s, char *buf, size_t size);

/* Write a Hugging Face token-classification model directory `dir` (created
 * if missing; files in it replaced atomically one by one):
 *   model.safetensors  every tensor of t under its HF name (slots the model
 *                      lacks are skipped);
 *   config.json        base_dir/config.json with architectures
 *                      [Bert|DistilBert]ForTokenClassification, num_labels,
 *                      id2label and label2id of t's labels (t->config.labels,
 *                      num_labels of them), every other key kept as in the
 *                      base (in its order);
 *   vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json
 *                      copied from base_dir when present there.
 * base_dir may equal dir (then the tokenizer files are kept).
 * Errors: MEDNER_E_INVALID_ARGUMENT, MEDNER_E_IO (file named), MEDNER_E_PARSE
 * (base config.json: file:line:col), MEDNER_E_OUT_OF_MEMORY. */
int medner__tparams_save_hf(const medner__tparams *t, const medner__model *m,
                            const char *base_dir, const char *dir);

#endif
