/*
 * Model files: config.json, safetensors (memory-mapped, validated), sharded
 * checkpoints, and the mapping from Hugging Face weight names to the tensors
 * of one BERT-family encoder. Knows nothing of how the forward pass runs.
 * Depends on common/, json/ and kernels/ (dtype conversion only).
 * docs/model-formats.md describes what is read and every rule checked.
 *
 * This is what the rest of the library (encoder/, train/) may use. What only
 * the files of src/model share (config.json caps, mapping release, the
 * config.json and id2label readers, dtype names) is in model/model_internal.h,
 * which tests/build/check-layers.sh lets nothing outside src/model include
 * (unit tests aside).
 */
#ifndef MEDNER_MODEL_H
#define MEDNER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "json/json.h"

typedef enum medner__arch {
    MEDNER__ARCH_BERT = 0,       /* BertModel, BertFor{TokenClassification,MaskedLM,SequenceClassification,...} */
    MEDNER__ARCH_DISTILBERT = 1  /* DistilBertModel, DistilBertFor... */
} medner__arch;

typedef enum medner__act {
    MEDNER__ACT_GELU = 0,        /* "gelu" (erf) */
    MEDNER__ACT_GELU_TANH = 1,   /* "gelu_new", "gelu_pytorch_tanh" */
    MEDNER__ACT_RELU = 2         /* "relu" */
} medner__act;

/* Whether the checkpoint has a token-classification head (`classifier`). */
typedef enum medner__head {
    MEDNER__HEAD_NONE = 0,       /* architectures[0] is not *ForTokenClassification:
                                    `classifier.*`, if present, belongs to another
                                    task (e.g. sequence classification) and is ignored */
    MEDNER__HEAD_REQUIRED = 1,   /* architectures[0] is *ForTokenClassification */
    MEDNER__HEAD_OPTIONAL = 2    /* no architectures: the head is used when the
                                    weights have `classifier.weight` */
} medner__head;

typedef struct medner__config {
    medner__arch arch;
    char model_type[32];         /* "bert", "distilbert" */
    char architecture[128];      /* architectures[0], e.g. "BertForTokenClassification" ("" if absent) */
    medner__head head;           /* from the architecture; after medner__model_load() only
                                    NONE (no head) or REQUIRED (head loaded) */
    medner__act act;
    char act_name[32];           /* as written in the config */
    size_t layers, hidden, heads, intermediate;
    size_t vocab_size, max_positions, type_vocab_size; /* type_vocab_size 0 for DistilBERT */
    float ln_eps;                /* BERT: layer_norm_eps (default 1e-12); DistilBERT: 1e-12 */
    size_t num_labels;           /* 0 when there is no token-classification head */
    char **labels;               /* num_labels strings from id2label ("LABEL_i" if absent); NULL if none */
    int pad_token_id;            /* -1 when null */
} medner__config;

/* Weights of one layer, fp32, row-major in PyTorch's layouts ([out,in] for
 * Linear weights). */
typedef struct medner__layer {
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;  /* [hidden,hidden], [hidden] */
    const float *o_w, *o_b;                          /* attention output */
    const float *ln1_g, *ln1_b;                      /* after attention (DistilBERT sa_layer_norm) */
    const float *ffn1_w, *ffn1_b;                    /* [intermediate,hidden] */
    const float *ffn2_w, *ffn2_b;                    /* [hidden,intermediate] */
    const float *ln2_g, *ln2_b;                      /* after FFN (DistilBERT output_layer_norm) */
} medner__layer;

typedef struct medner__weights {
    const float *word_emb;   /* [vocab_size, hidden] */
    const float *pos_emb;    /* [max_positions, hidden] */
    const float *type_emb;   /* [type_vocab_size, hidden], NULL for DistilBERT */
    const float *emb_ln_g, *emb_ln_b;
    medner__layer *layers;   /* config.layers entries */
    const float *cls_w;      /* [num_labels, hidden] or NULL (no head) */
    const float *cls_b;
} medner__weights;

/* A read-only mapping of a whole file (inside medner__st_file and the model's
 * own bookkeeping; only src/model maps and unmaps: model_internal.h). */
typedef struct medner__mapping {
    const unsigned char *base;
    size_t size;
} medner__mapping;

typedef struct medner__model medner__model;

/* What a PEFT LoRA adapter changed: defined in model/adapter.h, the layer
 * above this one (adapter.c loads a model through this header and edits its
 * weight slots; nothing here calls into adapter.c). */
struct medner__adapter;

struct medner__model {
    medner__config config;
    medner__weights weights;
    char dtype[8];            /* dtype of the stored weights: "F32", "F16", "BF16" or "mixed" */
    size_t n_params;          /* parameters used by the encoder + head */
    size_t file_bytes;        /* total size of the weight files */
    size_t n_files;           /* 1, or the number of shards */
    size_t n_mapped;          /* used tensors read in place from a mapping (zero copy) */
    /* private to src/model (read by tests only): mappings still referenced
     * by a weight, and owned (converted or copied) buffers */
    medner__mapping *maps;
    size_t n_maps;
    float **owned;
    size_t n_owned;
    /* NULL without an adapter; else set by medner__model_load_adapter() as one
     * allocation (strings included), released by medner__model_free() with
     * medner__free() */
    struct medner__adapter *adapter;
};

/* Load config.json and the weights of a model directory:
 * model.safetensors, or model.safetensors.index.json + shards. F32 tensors
 * are used in place from a read-only mapping when aligned; F16/BF16 are
 * converted once to owned fp32 buffers.
 * Errors (each message names the file and, where it applies, the tensor):
 *   MEDNER_E_INVALID_ARGUMENT out or dir NULL
 *   MEDNER_E_IO              directory or file missing/unreadable/unmappable
 *   MEDNER_E_PARSE           malformed JSON (file:line:col) or safetensors header
 *   MEDNER_E_LIMIT           safetensors header above MEDNER__ST_MAX_HEADER (model_internal.h)
 *   MEDNER_E_UNSUPPORTED     only pytorch_model.bin (names the conversion script),
 *                            model_type roberta/deberta/..., unknown hidden_act,
 *                            position_embedding_type other than "absolute",
 *                            a dtype name medner does not know, or a dtype
 *                            other than F32/F16/BF16 for a used tensor
 *   MEDNER_E_INVALID_MODEL   shapes against the config, missing or unexpected
 *                            tensors, offsets outside the file or overlapping,
 *                            config values out of range (file:line:col)
 *   MEDNER_E_OUT_OF_MEMORY
 * On failure *out is untouched and nothing stays allocated or mapped. */
int medner__model_load(medner__model **out, const char *dir);
/* NULL is a no-op. */
void medner__model_free(medner__model *model);

/* ---- weight slots (model.c; used by adapter.c and by LoRA training in
 * src/train) ---- */

#define MEDNER__SLOT_CLS_W 5 /* classifier.weight */
#define MEDNER__SLOT_CLS_B 6 /* classifier.bias */

/* Number of slots (globals + layers x per-layer tensors). */
size_t medner__model_n_slots(const medner__model *m);
/* Slot of a tensor name (model prefix optional): >= 0; -1 for a known tensor
 * medner does not use (pooler.*, cls.*, ...); -2 for a name that is not part
 * of this model. `classifier.*` always has its slot, even without a head. */
long medner__model_slot(const medner__model *m, const char *name, size_t len);
/* Where the weight pointer of slot s lives. */
const float **medner__model_slot_ptr(medner__model *m, size_t s);
/* Shape config.json implies for slot s (ndim 1 or 2; the classifier's rows
 * are config.num_labels). */
size_t medner__model_slot_shape(const medner__model *m, size_t s, size_t dims[2]);
/* 1 if slot s is the weight of an nn.Linear ([out, in]): query, key, value,
 * attention output, the two FFN layers, the classifier. */
int medner__model_slot_is_linear(size_t s);
/* Layer index of slot s, or SIZE_MAX for the embeddings and the head. */
size_t medner__model_slot_layer(size_t s);
/* Module path of slot s (its name without ".weight"/".bias"), with `prefix`
 * ("bert.", "distilbert." or "") before layer and embedding modules. */
void medner__model_slot_module(const medner__model *m, size_t s, const char *prefix, char *buf,
                               size_t size);
/* The weight w (a pointer held in model->weights) is no longer needed (the
 * encoder converted it): the pointer in model->weights becomes NULL and its storage is released -- a private copy is
 * freed, the resident pages of a mapped tensor are dropped (madvise
 * MADV_DONTNEED on the pages wholly inside it). Returns 0, or -1 when
 * madvise failed (the pointer is NULL all the same). */
int medner__model_drop_weight(medner__model *m, const float *w);
/* Unmap the mappings no weight points into any more. */
void medner__model_release_unused_maps(medner__model *m);

/* Free a label array (medner__config.labels, the trainer's label lists):
 * the n strings, then the array. NULL is a no-op. */
void medner__labels_free(char **labels, size_t n);

/* ---- safetensors files (model.c; the trainer reads and writes them too) -- */

typedef enum medner__dtype {
    MEDNER__DT_BOOL, MEDNER__DT_U8, MEDNER__DT_I8, MEDNER__DT_F8_E5M2, MEDNER__DT_F8_E4M3,
    MEDNER__DT_F8_E8M0, MEDNER__DT_I16, MEDNER__DT_U16, MEDNER__DT_F16, MEDNER__DT_BF16,
    MEDNER__DT_I32, MEDNER__DT_U32, MEDNER__DT_F32, MEDNER__DT_F64, MEDNER__DT_I64,
    MEDNER__DT_U64, MEDNER__DT_C64, MEDNER__DT_F4, MEDNER__DT_F6_E2M3, MEDNER__DT_F6_E3M2,
    MEDNER__DT_COUNT
} medner__dtype;

#define MEDNER__ST_MAX_DIMS 8

typedef struct medner__st_tensor {
    const char *name;        /* NUL-terminated (no embedded NUL), borrowed from the header */
    size_t name_len;
    medner__dtype dtype;
    size_t ndim;             /* may exceed MEDNER__ST_MAX_DIMS ... */
    size_t shape[MEDNER__ST_MAX_DIMS]; /* ... then only the first dims are kept */
    size_t numel;            /* product of all dims (1 for a scalar) */
    size_t begin, nbytes;    /* data_offsets[0] and end - begin, relative to the data */
    const unsigned char *data; /* inside the mapping; valid for nbytes */
} medner__st_tensor;

typedef struct medner__st_file {
    char *path;                  /* owned copy, for messages */
    medner__mapping map;         /* the whole file */
    medner__json_doc *header;    /* owns the tensor names */
    medner__st_tensor *tensors;  /* sorted by name, names unique */
    size_t n_tensors;
} medner__st_file;

/* Map and validate a safetensors file: header length, JSON, dtypes, shapes,
 * offsets inside the data, sizes, no overlap, unique names. *out is filled
 * only on success (release with medner__st_close()). */
int medner__st_open(medner__st_file *out, const char *path);
/* Binary search by name; NULL when absent. */
const medner__st_tensor *medner__st_find(const medner__st_file *f, const char *name,
                                         size_t len);
/* Free the header and the tensor table; unmap unless keep_map (then the
 * caller owns f->map). Safe on a zeroed struct. */
void medner__st_close(medner__st_file *f, int keep_map);
/* fp32 copy of a F32, F16 or BF16 tensor (the data may be misaligned; it is
 * little-endian). out holds t->numel floats. */
void medner__st_to_f32(float *out, const medner__st_tensor *t);

#endif
