/*
 * YAML pipeline configuration (docs/config.md): reading a file into
 * medner_pipeline_params + medner_decoder_params, and merging the caller's
 * overrides (the CLI's flags) on top. Internal to the pipeline subsystem and
 * the CLI; nothing here is exported.
 */
#ifndef MEDNER_PIPELINE_CONFIG_H
#define MEDNER_PIPELINE_CONFIG_H

#include "common/common.h"

/* Largest configuration file read (bytes); above it: MEDNER_E_LIMIT. */
#define MEDNER__CONFIG_MAX_FILE ((size_t)1 << 20)
/* Deepest nesting of YAML collections accepted by the syntax pass; deeper:
 * MEDNER_E_LIMIT. (A valid configuration never nests deeper than 3.) */
#define MEDNER__CONFIG_MAX_DEPTH 32

/* Bits of medner__config_file.set: which keys the file gave (an explicit
 * zero that the params structs can express is also in their
 * explicit_fields). */
enum {
    MEDNER__CONFIG_HAS_MODEL = 1u << 0,       /* `model` or `base` */
    MEDNER__CONFIG_HAS_ADAPTER = 1u << 1,
    MEDNER__CONFIG_HAS_AGGREGATION = 1u << 2,
    MEDNER__CONFIG_HAS_DECODING = 1u << 3,
    MEDNER__CONFIG_HAS_SCHEME = 1u << 4,
    MEDNER__CONFIG_HAS_MAX_LENGTH = 1u << 5,
    MEDNER__CONFIG_HAS_OVERLAP = 1u << 6,
    MEDNER__CONFIG_HAS_BATCH_SIZE = 1u << 7,
    MEDNER__CONFIG_HAS_THREADS = 1u << 8,
    MEDNER__CONFIG_HAS_BLAS_THREADS = 1u << 9,
    MEDNER__CONFIG_HAS_MERGE = 1u << 10,
    MEDNER__CONFIG_HAS_FIRST_WINDOW_ONLY = 1u << 11,
    MEDNER__CONFIG_HAS_MIN_SCORE = 1u << 12,
    MEDNER__CONFIG_HAS_IGNORE = 1u << 13,
    MEDNER__CONFIG_HAS_KEEP = 1u << 14,
    MEDNER__CONFIG_HAS_RENAME = 1u << 15,
    MEDNER__CONFIG_HAS_CONTEXT = 1u << 16,
    MEDNER__CONFIG_HAS_PRECISION = 1u << 17,
    MEDNER__CONFIG_HAS_SEGMENT = 1u << 18
};

/*
 * A loaded configuration file. `params` and `decoder` are ready to pass to
 * medner_pipeline_create(): params.decoder points at this struct's own
 * `decoder` (so do not copy the struct by value and keep using the copy's
 * params.decoder), and every string and array they point to is owned by this
 * struct until medner__config_file_release().
 *
 * Conventions the file maps onto:
 * - a key absent from the file leaves its field zero (the default);
 * - `first_window_only: true/false` gives MEDNER_ON/MEDNER_OFF;
 * - label arrays are NULL when empty; `labels: {ignore: []}` sets
 *   MEDNER_DECODER_EXPLICIT_IGNORE_LABELS (ignore no label), `overlap` sets
 *   MEDNER_PIPELINE_EXPLICIT_OVERLAP (so `overlap: 0` means none) and
 *   `min_score` MEDNER_DECODER_EXPLICIT_MIN_SCORE;
 * - relative `model`/`base`/`adapter` paths are already joined to the
 *   directory of the file;
 * - `context: default | on` gives MEDNER_ON with the built-in rules,
 *   `off` MEDNER_OFF, any other string is a rule file (MEDNER_ON, path
 *   joined like the others, in params.context_rules); absent: DEFAULT.
 */
typedef struct medner__config_file {
    medner_pipeline_params params;
    medner_decoder_params decoder;
    uint32_t set;               /* MEDNER__CONFIG_HAS_* bits */
    /* owned storage (medner__malloc) that params/decoder point into */
    char *model_dir;
    char *adapter_dir;
    char *context_rules;
    char **ignore;
    size_t n_ignore;
    char **keep;
    size_t n_keep;
    char **rename_from;
    char **rename_to;
    size_t n_renames;
} medner__config_file;

/*
 * Read and validate the YAML file at `path` into *out.
 *
 * @param[out] out  filled on success only (untouched on failure); release
 *                  with medner__config_file_release().
 * @return MEDNER_OK;
 *         MEDNER_E_INVALID_ARGUMENT (NULL out or path);
 *         MEDNER_E_IO (cannot open/read; not a regular file);
 *         MEDNER_E_LIMIT (file above 1 MiB, nesting deeper than
 *         MEDNER__CONFIG_MAX_DEPTH);
 *         MEDNER_E_PARSE (YAML syntax; "PATH:LINE:COLUMN: YAML syntax error: ...");
 *         MEDNER_E_INVALID_CONFIG (empty file, top level not a mapping,
 *         unknown or duplicate key, wrong type, out-of-range value, unknown
 *         word, anchor/alias/tag, several documents, missing model;
 *         "PATH:LINE:COLUMN: ...");
 *         MEDNER_E_OUT_OF_MEMORY.
 * Lines and columns are 1-based; columns count characters.
 * Thread-safety: safe from any thread (no shared state).
 */
int medner__config_file_load(medner__config_file *out, const char *path);

/* Free what a successful load allocated and zero *cfg. NULL is a no-op;
 * releasing a zeroed struct is a no-op. */
void medner__config_file_release(medner__config_file *cfg);

/*
 * Merge `overrides` into dst / dst_decoder: each non-zero field of
 * *overrides (other than struct_size and decoder) replaces dst's, and, when
 * overrides->decoder is not NULL, each non-zero field of it replaces
 * *dst_decoder's. Label arrays go together with their counts: a non-NULL
 * pointer or a non-zero count replaces the pair (the three rename fields
 * replace as one). Pointers are copied, not the data: they stay borrowed
 * from the caller. Afterwards dst->decoder == dst_decoder.
 *
 * @param dst          in/out: the file's params (e.g. &cfg->params).
 * @param dst_decoder  in/out: the file's decoder options (e.g. &cfg->decoder).
 * @param overrides    the caller's params, or NULL (then only dst->decoder is set).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL dst/dst_decoder, a bad
 *         struct_size in overrides or overrides->decoder, non-zero reserved
 *         fields, a NULL array with a non-zero count). On failure dst and
 *         dst_decoder are untouched.
 * A zero field overrides only with its explicit_fields bit (0 otherwise
 * means "default"): MEDNER_PIPELINE_EXPLICIT_OVERLAP,
 * MEDNER_DECODER_EXPLICIT_MIN_SCORE (a file's `min_score: 0.5` lowered to
 * 0), MEDNER_DECODER_EXPLICIT_IGNORE_LABELS (ignore no label). The
 * callbacks and the tokenizer options override when non-NULL.
 */
int medner__config_apply_overrides(medner_pipeline_params *dst,
                                   medner_decoder_params *dst_decoder,
                                   const medner_pipeline_params *overrides);

/*
 * The words of the configuration's enumerations, shared with the CLI flags.
 * `key` is one of "aggregation", "decoding", "scheme", "merge".
 * medner__config_enum_value: MEDNER_OK and *out = the enum value for `word`
 * (exact, lower case), or MEDNER_E_INVALID_CONFIG with a message listing the
 * accepted words (no file position). medner__config_enum_name: the word of
 * a value (a default value gives the word of what it stands for), or NULL.
 */
int medner__config_enum_value(const char *key, const char *word, int *out);
const char *medner__config_enum_name(const char *key, int value);

#endif
