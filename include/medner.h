/*
 * medner.h -- the one public header of medner, an embeddable C library that
 * finds medical entities in clinical and biomedical text with BERT-family
 * encoders.
 *
 * Copyright 2026 the medner authors. Licensed under the Apache License 2.0.
 *
 * Conventions used throughout this header
 * ---------------------------------------
 * Naming      Everything public is prefixed `medner_` / `MEDNER_`. Functions
 *             are `medner_<noun>_<verb>`.
 * Status      Fallible functions return `int`: MEDNER_OK (0) on success or a
 *             negative `medner_status` value. On failure, out-parameters are
 *             left untouched, nothing is leaked, and medner_last_error()
 *             holds a detail message for the calling thread.
 * Ownership   An object returned through a `**out` parameter belongs to the
 *             caller and is released with the matching `medner_*_free`
 *             (which accepts NULL). A pointer returned directly by a function
 *             is borrowed: it stays valid as long as its parent object (or,
 *             for static strings, forever) and must not be freed.
 * Threads     Loaded objects (tokenizer, encoder, decoder) are immutable after
 *             loading and may be used from any number of threads at once.
 *             Mutable per-call state (medner_context and result objects) is
 *             owned by one thread at a time. Global settings (allocator, log
 *             callback) are process-wide; see each setter.
 * Params      Options that will grow are passed as a pointer to a params
 *             struct whose first field is `size_t struct_size`. Initialise it
 *             with the matching `MEDNER_*_INIT` macro (or, through an FFI,
 *             its `medner_*_params_default()` function); zero in any field
 *             means "default" (MEDNER_DEFAULT_* name the values), unless the
 *             struct's `explicit_fields` bit for that field says the zero is
 *             meant; NULL means "all defaults". Fields are only appended,
 *             so a program compiled against an older header keeps working.
 * Out-params  Since 0.3 the getters that fill a caller's struct put it first
 *             (`medner_<struct>_get(out, owner, ...)`); the 0.1 spellings stay.
 * Text        Input text is UTF-8 with an explicit byte length (no NUL
 *             terminator needed). Offsets are half-open byte ranges
 *             [begin, end) into the caller's original text.
 * Logging     medner never prints. Diagnostics go to an optional callback
 *             (silent by default) and never contain input text.
 *
 * This header is C99 and C++ compatible.
 */
/**
 * @file medner.h
 * @brief The public C API of medner: tokenizer, encoder, entity decoder and
 *        pipeline, with status codes, params structs and offset converters.
 *
 * One header, C99 and C++ compatible; link with `-lmedner` (pkg-config
 * module `medner`). The conventions every declaration follows (naming,
 * status codes and medner_last_error(), ownership, threads, params structs,
 * text and offsets, logging) are summarised at the top of this file and
 * explained with examples in the embedding guide, docs/embedding.md.
 */
#ifndef MEDNER_H
#define MEDNER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Export macro                                                             */
/* ------------------------------------------------------------------------ */

/**
 * @def MEDNER_API
 * Marks the functions the library exports: default visibility with GCC and
 * Clang (the library is built with -fvisibility=hidden), dllexport/dllimport
 * on Windows (define MEDNER_BUILDING_DLL when building, MEDNER_SHARED when
 * using the DLL).
 */
#if defined(_WIN32) && defined(MEDNER_BUILDING_DLL)
#  define MEDNER_API __declspec(dllexport)
#elif defined(_WIN32) && defined(MEDNER_SHARED)
#  define MEDNER_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define MEDNER_API __attribute__((visibility("default")))
#else
#  define MEDNER_API
#endif

/**
 * @def MEDNER_DEPRECATED
 * Marks a function kept for compatibility whose newer spelling should be
 * used (each says which). Silent by default; define MEDNER_WARN_DEPRECATED
 * before including this header to get compiler warnings at the call sites.
 */
#if defined(MEDNER_WARN_DEPRECATED) && defined(__GNUC__)
#  define MEDNER_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#  define MEDNER_DEPRECATED(msg)
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

/** Release version of this header, written only here (the Makefile, medner.pc
 *  and the documentation read it; tests/build/check-version.sh checks the
 *  packaging copies). MAJOR.MINOR is the newest numbered symbol version node
 *  (medner_0.4 in src/medner.map). The ABI version is the SONAME
 *  (libmedner.so.0), which changes only on incompatible ABI changes. */
#define MEDNER_VERSION_MAJOR 0
/** Minor release number of this header (see MEDNER_VERSION_MAJOR). */
#define MEDNER_VERSION_MINOR 4
/** Patch release number of this header (see MEDNER_VERSION_MAJOR). */
#define MEDNER_VERSION_PATCH 0
/** "MAJOR.MINOR.PATCH" */
#define MEDNER_VERSION_STRING "0.4.0"
/** MAJOR*10000 + MINOR*100 + PATCH, comparable with medner_version_number(). */
#define MEDNER_VERSION_NUMBER \
    (MEDNER_VERSION_MAJOR * 10000 + MEDNER_VERSION_MINOR * 100 + MEDNER_VERSION_PATCH)

/**
 * Version of the library actually loaded at run time, as "MAJOR.MINOR.PATCH".
 *
 * @return a static NUL-terminated string; never NULL; must not be freed.
 * Thread-safety: safe from any thread. Errors: none.
 */
MEDNER_API const char *medner_version(void);

/**
 * Version of the library loaded at run time as MEDNER_VERSION_NUMBER would
 * spell it. Compare with MEDNER_VERSION_NUMBER to detect a header/library
 * mismatch.
 *
 * Thread-safety: safe from any thread. Errors: none.
 */
MEDNER_API int medner_version_number(void);

/* ------------------------------------------------------------------------ */
/* Status codes and error details                                           */
/* ------------------------------------------------------------------------ */

/**
 * Status codes. The numeric values are part of the ABI and never change;
 * new codes are only appended (with new, more negative values). Callers
 * should treat any unknown negative value as a failure.
 * docs/errors.md says when each one happens.
 */
typedef enum medner_status {
    MEDNER_OK = 0,                  /**< success */
    MEDNER_E_INVALID_ARGUMENT = -1, /**< NULL where an object is required, bad struct_size, out-of-range option */
    MEDNER_E_OUT_OF_MEMORY = -2,    /**< an allocation failed */
    MEDNER_E_IO = -3,               /**< a file could not be opened, read, or mapped */
    MEDNER_E_PARSE = -4,            /**< malformed JSON, YAML, vocabulary, safetensors or CoNLL input */
    MEDNER_E_INVALID_UTF8 = -5,     /**< input text is not valid UTF-8 (byte offset in medner_last_error()) */
    MEDNER_E_UNSUPPORTED = -6,      /**< well-formed but not supported (architecture, tokenizer model, dtype, file format) */
    MEDNER_E_INVALID_MODEL = -7,    /**< model files inconsistent: shapes, missing or unexpected tensors, bad offsets */
    MEDNER_E_INVALID_CONFIG = -8,   /**< configuration has an unknown key, a wrong type, or an invalid value */
    MEDNER_E_LIMIT = -9,            /**< input exceeds a documented size limit */
    MEDNER_E_BUSY = -10,            /**< operation not allowed now (e.g. changing the allocator while objects are alive) */
    MEDNER_E_INTERNAL = -11,        /**< a bug in medner; please report it with medner_last_error() */
    MEDNER_E_CANCELLED = -12,       /**< stopped on request (medner_trainer_cancel(), a callback) */
    MEDNER_E_DIVERGED = -13         /**< training produced a NaN or infinite loss */
} medner_status;

/**
 * Short, static English description of a status code, e.g.
 * "invalid argument". Unknown values give "unknown status".
 *
 * @param status  a value returned by a medner function.
 * @return a static NUL-terminated string; never NULL; must not be freed.
 * Thread-safety: safe from any thread. Errors: none.
 */
MEDNER_API const char *medner_status_str(int status);

/**
 * Detail message of the most recent failure of a medner function on the
 * calling thread: what failed, where (file, line:column or byte offset) and
 * what was expected. Never contains input text. Successful calls do not clear
 * it; "" when no call on this thread has failed yet.
 *
 * @return a NUL-terminated string owned by medner, valid until the next
 *         medner call on the same thread; never NULL; must not be freed.
 * Thread-safety: thread-local; each thread sees its own failures.
 * Errors: none.
 */
MEDNER_API const char *medner_last_error(void);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

/** Severity of a log message. Values are part of the ABI. */
typedef enum medner_log_level {
    MEDNER_LOG_ERROR = 0,
    MEDNER_LOG_WARN = 1,
    MEDNER_LOG_INFO = 2,
    MEDNER_LOG_DEBUG = 3
} medner_log_level;

/**
 * Log callback. `message` is a NUL-terminated string valid only during the
 * call; it never contains input text (patient data). The callback may be
 * invoked from any thread that calls into medner, possibly concurrently, so it
 * must be thread-safe. It must not call medner_log_set_callback().
 */
typedef void (*medner_log_fn)(medner_log_level level, const char *message,
                              void *user_data);

/**
 * Install a process-wide log callback. medner is silent by default.
 *
 * @param fn         callback, or NULL to silence logging again.
 * @param max_level  messages with a level above this (less severe) are not
 *                   delivered; e.g. MEDNER_LOG_WARN delivers ERROR and WARN.
 * @param user_data  passed unchanged to every call of `fn`; not owned.
 * @return MEDNER_OK, or MEDNER_E_INVALID_ARGUMENT if max_level is not a
 *         medner_log_level value.
 * Thread-safety: may be called from any thread; a message being delivered
 * concurrently goes either to the old or to the new callback, never to a mix
 * of the old callback with the new user_data.
 */
MEDNER_API int medner_log_set_callback(medner_log_fn fn, medner_log_level max_level,
                                       void *user_data);

/* ------------------------------------------------------------------------ */
/* Allocator hooks                                                          */
/* ------------------------------------------------------------------------ */

/**
 * Custom allocator for every allocation medner itself makes (objects,
 * workspaces, per-thread scratch, results). Third-party libraries used
 * internally (libyaml, utf8proc) and the C library's thread stacks keep their
 * own allocators; memory they allocate never outlives the medner call that
 * caused it, except the stacks of a context's worker threads (freed with the
 * context).
 *
 * All three functions are required. `alloc_fn` and `realloc_fn` return NULL
 * on failure (medner then fails cleanly with MEDNER_E_OUT_OF_MEMORY), which
 * makes the hook suitable for fault-injection tests. `free_fn` receives only
 * pointers returned by `alloc_fn`/`realloc_fn`, never NULL. Sizes are never 0
 * (since 0.3 each request is 16 bytes more than the block medner uses: the
 * header that medner_memory_used() counts with).
 * The functions may be called from several threads at once.
 */
typedef struct medner_allocator {
    size_t struct_size; /**< sizeof(medner_allocator); set by MEDNER_ALLOCATOR_INIT */
    void *(*alloc_fn)(void *user_data, size_t size); /**< allocate `size` bytes; NULL on failure */
    void *(*realloc_fn)(void *user_data, void *ptr, size_t size); /**< resize a block; NULL on failure (the block stays valid) */
    void (*free_fn)(void *user_data, void *ptr); /**< free a block from alloc_fn/realloc_fn */
    void *user_data;    /**< passed to each function; not owned */
} medner_allocator;

/** Initialiser of a medner_allocator: struct_size set, every hook NULL (fill in all three before use). */
#define MEDNER_ALLOCATOR_INIT { sizeof(medner_allocator), NULL, NULL, NULL, NULL }

/**
 * Replace medner's allocator process-wide.
 *
 * @param allocator  the hooks to use (copied; the struct need not outlive the
 *                   call), or NULL to restore the C library's malloc/free.
 * @return MEDNER_OK;
 *         MEDNER_E_INVALID_ARGUMENT if struct_size is too small or not
 *         compatible, or a function pointer is NULL;
 *         MEDNER_E_BUSY if memory allocated by medner is still alive (every
 *         medner object must be freed before the allocator changes, so that
 *         each block is freed by the allocator that made it).
 * Thread-safety: call it before any other thread uses medner (typically at
 * start-up); it must not race with other medner calls.
 */
MEDNER_API int medner_allocator_set(const medner_allocator *allocator);

/**
 * Bytes of memory medner holds now through its allocator (medner_allocator
 * or malloc), as sqlite3_memory_used(): the sizes medner asked for (each
 * block also costs a 16-byte header the library adds, not counted here).
 * Not counted: model weights memory-mapped from their files (shared with
 * the page cache), memory of libyaml and utf8proc inside a call, thread
 * stacks. Process-wide, all threads together. (0.3)
 * Thread-safety: safe from any thread (an atomic counter). Errors: none.
 */
MEDNER_API size_t medner_memory_used(void);

/**
 * Highest value medner_memory_used() has had since the process started or
 * since the last reset, as sqlite3_memory_highwater(). (0.3)
 * @param reset  non-zero: after reading, restart the high-water mark from the
 *               current medner_memory_used().
 * @return the high-water mark in bytes (before the reset).
 * Thread-safety: safe from any thread. Errors: none.
 */
MEDNER_API size_t medner_memory_highwater(int reset);

/* ------------------------------------------------------------------------ */
/* Options shared by several params structs                                 */
/* ------------------------------------------------------------------------ */

/** Tri-state switch for params structs: zero keeps the default (usually what
 *  the model files say), so "off" needs its own non-zero value. */
typedef enum medner_switch {
    MEDNER_DEFAULT = 0, /**< use the model files' setting, else the documented default */
    MEDNER_ON = 1,      /**< force on */
    MEDNER_OFF = 2      /**< force off */
} medner_switch;

/**
 * @name Defaults and limits
 * The values a zero field of a params struct stands for, and the limits the
 * library enforces, in one place: the library, the YAML schema
 * (docs/config.md), the CLI's help and the bindings use these names instead
 * of repeating the numbers. (Added in 0.3; the values are those of 0.1.)
 * @{
 */
#define MEDNER_DEFAULT_OVERLAP 128      /**< medner_pipeline_params.overlap (capped below max_length - 2) */
#define MEDNER_DEFAULT_BATCH_SIZE 8     /**< medner_pipeline_params.batch_size */
#define MEDNER_DEFAULT_THREADS 1        /**< medner_pipeline_params.threads, encoder_threads,
                                              medner_encoder_params.threads */
#define MEDNER_DEFAULT_MIN_SCORE 0.0     /**< medner_decoder_params.min_score */
#define MEDNER_DEFAULT_MODEL_MAX_LENGTH 512 /**< medner_tokenizer_params.model_max_length */
#define MEDNER_DEFAULT_MAX_INPUT_CHARS_PER_WORD 100 /**< medner_tokenizer_params.max_input_chars_per_word */
#define MEDNER_DEFAULT_IGNORE_LABEL "O"  /**< the one label medner_decoder_params.ignore_labels
                                              ignores by default */
#define MEDNER_MAX_BATCH_SIZE 4096      /**< largest medner_pipeline_params.batch_size */
#define MEDNER_MAX_THREADS 256          /**< largest thread count of any params struct */
/** @} */

/** Clinical context of an entity (ConText, docs/context.md): bits of
 *  medner_entity.context. An entity without any bit is an affirmed finding
 *  about the patient, current and real. */
typedef enum medner_context_flag {
    MEDNER_CONTEXT_NEGATED = 1 << 0,      /**< "denies chest pain", "no fever" */
    MEDNER_CONTEXT_UNCERTAIN = 1 << 1,    /**< possible: "possible pneumonia", "r/o MI" */
    MEDNER_CONTEXT_HISTORICAL = 1 << 2,   /**< "history of stroke", "s/p appendectomy" */
    MEDNER_CONTEXT_HYPOTHETICAL = 1 << 3, /**< "return if chest pain develops" */
    MEDNER_CONTEXT_FAMILY = 1 << 4        /**< experiencer other than the patient: "mother had breast cancer" */
} medner_context_flag;

/** Section of a clinical note an entity is in (docs/context.md, *Sections*).
 *  Values are stable; new ones may be appended. */
typedef enum medner_section {
    MEDNER_SECTION_NONE = 0,                   /**< before any header, or not computed */
    MEDNER_SECTION_CHIEF_COMPLAINT = 1,        /**< CC, CHIEF COMPLAINT, REASON FOR VISIT */
    MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS = 2, /**< HPI, HISTORY OF PRESENT ILLNESS */
    MEDNER_SECTION_PAST_MEDICAL_HISTORY = 3,   /**< PMH, PAST MEDICAL HISTORY (implies HISTORICAL) */
    MEDNER_SECTION_PAST_SURGICAL_HISTORY = 4,  /**< PSH, PAST SURGICAL HISTORY (implies HISTORICAL) */
    MEDNER_SECTION_FAMILY_HISTORY = 5,         /**< FH, FAMILY HISTORY (implies FAMILY) */
    MEDNER_SECTION_SOCIAL_HISTORY = 6,         /**< SH, SOCIAL HISTORY */
    MEDNER_SECTION_MEDICATIONS = 7,            /**< MEDICATIONS, MEDS, HOME MEDICATIONS */
    MEDNER_SECTION_ALLERGIES = 8,              /**< ALLERGIES */
    MEDNER_SECTION_REVIEW_OF_SYSTEMS = 9,      /**< ROS, REVIEW OF SYSTEMS */
    MEDNER_SECTION_PHYSICAL_EXAM = 10,         /**< PE, PHYSICAL EXAM(INATION), EXAM, VITALS */
    MEDNER_SECTION_RESULTS = 11,               /**< LABS, RESULTS, STUDIES, IMAGING */
    MEDNER_SECTION_ASSESSMENT_AND_PLAN = 12,   /**< A/P, ASSESSMENT AND PLAN, ASSESSMENT, PLAN, IMPRESSION */
    MEDNER_SECTION_HOSPITAL_COURSE = 13,       /**< HOSPITAL COURSE */
    MEDNER_SECTION_OTHER = 14                  /**< a header of no category above */
} medner_section;

/** Name of a section category ("none", "chief_complaint",
 *  "history_of_present_illness", "past_medical_history", ...,
 *  "other"): lower-case snake case of the enum name; "unknown" for a value
 *  outside the enum. Static string. Thread-safety: safe from any thread. */
MEDNER_API const char *medner_section_name(medner_section section);

/* ------------------------------------------------------------------------ */
/* Opaque handles                                                           */
/* ------------------------------------------------------------------------ */

/**
 * WordPiece tokenizer (vocabulary, normalisation options, special tokens).
 * Ownership: created by a load function, freed by medner_tokenizer_free().
 * Thread-safety: immutable after loading; any number of threads may use one
 * tokenizer at the same time.
 */
typedef struct medner_tokenizer medner_tokenizer;

/**
 * Transformer encoder: a loaded BERT-family checkpoint (configuration and
 * weights, F32 weights memory-mapped read-only so processes share them).
 * Ownership: created by a load function, freed by its free function, which
 * must run after every medner_context created from it has been freed.
 * Thread-safety: immutable after loading; any number of threads may run it at
 * once, each through its own medner_context.
 */
typedef struct medner_encoder medner_encoder;

/**
 * Per-thread execution context of an encoder: activation workspace (allocated
 * once, grown to the longest input seen, then reused) and scratch buffers.
 * Ownership: created for one encoder, freed by its free function.
 * Thread-safety: NOT thread-safe; use one context per thread (a context may
 * move between threads if calls never overlap).
 */
typedef struct medner_context medner_context;

/**
 * Entity decoder: label set, tagging scheme (IO/BIO/BIOES), aggregation and
 * decoding options; turns per-token logits into character spans.
 * Ownership: created by a create function, freed by its free function.
 * Thread-safety: immutable after creation; safe from any number of threads.
 */
typedef struct medner_decoder medner_decoder;

/* ------------------------------------------------------------------------ */
/* Tokenizer                                                                */
/* ------------------------------------------------------------------------ */

/**
 * Tokenizer options. Every field left zero takes the value found in the model
 * files (tokenizer.json, tokenizer_config.json, special_tokens_map.json) or,
 * failing that, the default of Hugging Face's BertTokenizerFast given here.
 * A non-zero field overrides the files.
 */
typedef struct medner_tokenizer_params {
    size_t struct_size;              /**< sizeof(medner_tokenizer_params) */
    medner_switch lowercase;         /**< do_lower_case / lowercase; default ON */
    medner_switch strip_accents;     /**< default: same as lowercase */
    medner_switch chinese_chars;     /**< tokenize_chinese_chars / handle_chinese_chars; default ON */
    medner_switch clean_text;        /**< default ON */
    uint32_t max_input_chars_per_word; /**< default 100 */
    uint32_t model_max_length;       /**< default 512 (capped by the files' value when given there) */
    const char *unk_token;           /**< default "[UNK]" (string copied at load) */
    const char *cls_token;           /**< default "[CLS]" */
    const char *sep_token;           /**< default "[SEP]" */
    const char *pad_token;           /**< default "[PAD]" */
    const char *mask_token;          /**< default "[MASK]" */
} medner_tokenizer_params;

/** Initialiser of a medner_tokenizer_params: struct_size set, every option at its default. */
#define MEDNER_TOKENIZER_PARAMS_INIT \
    { sizeof(medner_tokenizer_params), MEDNER_DEFAULT, MEDNER_DEFAULT, MEDNER_DEFAULT, \
      MEDNER_DEFAULT, 0, 0, NULL, NULL, NULL, NULL, NULL }

/**
 * Load a WordPiece tokenizer from a Hugging Face model directory.
 *
 * Reads whichever exist of `tokenizer.json` (vocabulary and options; preferred),
 * `vocab.txt`, `tokenizer_config.json` and `special_tokens_map.json`. A
 * `tokenizer.json` whose model is not WordPiece is refused. When no file says
 * whether to lower-case, a warning goes to the log callback (Hugging Face
 * silently lower-cases such cased checkpoints) and the default applies.
 *
 * @param[out] out        receives the tokenizer; owned by the caller, free it
 *                        with medner_tokenizer_free(). Untouched on failure.
 * @param      model_dir  path of the directory (NUL-terminated).
 * @param      params     overrides, or NULL for "as the files say".
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL out/model_dir, bad params);
 *         MEDNER_E_IO (no vocabulary file, unreadable file); MEDNER_E_PARSE
 *         (malformed JSON or vocab, with file:line:column);
 *         MEDNER_E_UNSUPPORTED (BPE/Unigram/other tokenizer model, other
 *         normalizer/pre-tokenizer types, with what was found);
 *         MEDNER_E_INVALID_MODEL (special token missing from the vocabulary,
 *         duplicate vocabulary entries with different ids);
 *         MEDNER_E_OUT_OF_MEMORY.
 * Thread-safety: safe to call from several threads at once.
 */
MEDNER_API int medner_tokenizer_load(medner_tokenizer **out, const char *model_dir,
                                     const medner_tokenizer_params *params);

/**
 * Load a WordPiece tokenizer from a `vocab.txt` file (one token per line, the
 * line number is the id) with explicit options; nothing else is read, so the
 * defaults of medner_tokenizer_params apply to every zero field.
 *
 * @param[out] out         receives the tokenizer (free with medner_tokenizer_free()).
 * @param      vocab_path  path of the vocabulary file.
 * @param      params      options, or NULL for the defaults (lower-casing on).
 * @return as medner_tokenizer_load().
 * Thread-safety: safe to call from several threads at once.
 */
MEDNER_API int medner_tokenizer_load_vocab(medner_tokenizer **out, const char *vocab_path,
                                           const medner_tokenizer_params *params);

/**
 * Free a tokenizer. NULL is a no-op. Every encoding made with it stays valid
 * (encodings own their data).
 * Thread-safety: no other thread may be using the tokenizer.
 */
MEDNER_API void medner_tokenizer_free(medner_tokenizer *tokenizer);

/** Number of entries in the vocabulary (largest id + 1).
 *  Thread-safety: safe from any thread. Errors: none (0 for NULL). */
MEDNER_API size_t medner_tokenizer_vocab_size(const medner_tokenizer *tokenizer);

/**
 * The string of a vocabulary id, e.g. "##itis".
 * @return a NUL-terminated string borrowed from the tokenizer (valid until it
 *         is freed), or NULL if id is out of range or tokenizer is NULL.
 * Thread-safety: safe from any thread.
 */
MEDNER_API const char *medner_tokenizer_id_to_token(const medner_tokenizer *tokenizer,
                                                    int32_t id);

/**
 * The id of a vocabulary string (exact bytes, no normalisation).
 * @param tokenizer  a loaded tokenizer.
 * @param token      bytes of the token; `len` bytes are read (no NUL needed).
 * @param len        number of bytes of `token`.
 * @return the id, or -1 if absent or an argument is NULL.
 * Thread-safety: safe from any thread.
 */
MEDNER_API int32_t medner_tokenizer_token_to_id(const medner_tokenizer *tokenizer,
                                                const char *token, size_t len);

/** Special tokens, for medner_tokenizer_special_id(). */
typedef enum medner_special_token {
    MEDNER_TOKEN_PAD = 0,
    MEDNER_TOKEN_UNK = 1,
    MEDNER_TOKEN_CLS = 2,
    MEDNER_TOKEN_SEP = 3,
    MEDNER_TOKEN_MASK = 4
} medner_special_token;

/** Id of a special token, or -1 for an unknown `which` or a NULL tokenizer.
 *  Thread-safety: safe from any thread. */
MEDNER_API int32_t medner_tokenizer_special_id(const medner_tokenizer *tokenizer,
                                               medner_special_token which);

/**
 * Effective options of a loaded tokenizer (after the files and the overrides):
 * fills `out` up to out->struct_size (set it with
 * MEDNER_TOKENIZER_PARAMS_INIT first); switches come back as MEDNER_ON or
 * MEDNER_OFF; token strings are borrowed from the tokenizer.
 * @return MEDNER_OK or MEDNER_E_INVALID_ARGUMENT.
 * Thread-safety: safe from any thread.
 */
MEDNER_DEPRECATED("use medner_tokenizer_params_get()")
MEDNER_API int medner_tokenizer_get_params(const medner_tokenizer *tokenizer,
                                           medner_tokenizer_params *out);

/** Options of one encode call. */
typedef struct medner_encode_params {
    size_t struct_size;      /**< sizeof(medner_encode_params) */
    /** Longest window in tokens, [CLS] and [SEP] included. 0: one window
     *  holding the whole text, however long (no truncation). Must be at least
     *  3 (with special tokens) when set. */
    uint32_t max_length;
    /** Tokens shared by consecutive windows (Hugging Face `stride`); must be
     *  less than max_length minus the special tokens. Default 0. */
    uint32_t overlap;
    /** Add [CLS] ... [SEP] (default ON). */
    medner_switch special_tokens;
    /** Must be zero (keeps the struct free of tail padding, so a field added
     *  later never lands in bytes an older caller left uninitialised). */
    uint32_t reserved;
} medner_encode_params;

/** Initialiser of a medner_encode_params: struct_size set, every option at its default. */
#define MEDNER_ENCODE_PARAMS_INIT { sizeof(medner_encode_params), 0, 0, MEDNER_DEFAULT, 0 }

/**
 * Result of tokenizing one text: one or more windows of tokens. Owned by the
 * caller (free with medner_encoding_free()); independent of the tokenizer.
 * Thread-safety: read-only after creation; safe to read from any thread.
 */
typedef struct medner_encoding medner_encoding;

/**
 * One window of an encoding. Arrays have `length` elements and are borrowed
 * from the encoding (valid until medner_encoding_free()).
 */
typedef struct medner_window {
    size_t struct_size;            /**< set by the caller: sizeof(medner_window) */
    size_t length;                 /**< tokens, special tokens included */
    const int32_t *ids;            /**< vocabulary ids */
    const int32_t *type_ids;       /**< token-type (segment) ids: 0 */
    const uint8_t *attention_mask; /**< 1 for every token (windows are not padded) */
    const uint8_t *special_mask;   /**< 1 for [CLS]/[SEP] added here, else 0 */
    const int32_t *word_ids;       /**< index of the pre-tokenised word in the
                                        whole text, -1 for added special tokens */
    const size_t *offsets;         /**< 2*length values: [begin, end) UTF-8 byte
                                        offsets into the original text; added
                                        special tokens have (0, 0) */
    size_t first_token;            /**< index of this window's first non-special
                                        token in the whole-text token sequence */
} medner_window;

/** Initialiser of a medner_window: struct_size set, ready for medner_encoding_window(). */
#define MEDNER_WINDOW_INIT { sizeof(medner_window), 0, NULL, NULL, NULL, NULL, NULL, NULL, 0 }

/**
 * Tokenize one UTF-8 text exactly as Hugging Face's fast BERT tokenizer does
 * (BertNormalizer, BertPreTokenizer, WordPiece, BertProcessing), with offsets
 * into `text` as given (before any normalisation).
 *
 * Invalid UTF-8 is an error (no replacement): the message gives the byte
 * offset of the first bad sequence. NUL bytes are valid U+0000 characters
 * (removed by clean_text like Hugging Face). Special tokens written literally
 * in the text ("[CLS]", "[MASK]", ...) become those tokens.
 *
 * @param[out] out       receives the encoding (free with medner_encoding_free()).
 * @param      tokenizer a loaded tokenizer.
 * @param      text      UTF-8 bytes; may be NULL only when len is 0.
 * @param      len       length in bytes.
 * @param      params    window options, or NULL for one window, specials on.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT; MEDNER_E_INVALID_UTF8;
 *         MEDNER_E_LIMIT (len above 2^40 bytes); MEDNER_E_OUT_OF_MEMORY.
 * Thread-safety: any number of threads may encode with one tokenizer at once.
 */
MEDNER_API int medner_tokenizer_encode(medner_encoding **out, const medner_tokenizer *tokenizer,
                                       const char *text, size_t len,
                                       const medner_encode_params *params);

/**
 * Tokenize `n` texts. On success `out[i]` receives the encoding of texts[i]
 * (free each with medner_encoding_free()). All or nothing: on failure no
 * encoding is returned and the message names the failing text's index.
 * @param out        array of n pointers, filled by the call.
 * @param tokenizer  a loaded tokenizer.
 * @param texts      n UTF-8 texts; an entry may be NULL only when its length is 0.
 * @param lens       byte lengths of the texts.
 * @param n          number of texts.
 * @param params     window options for every text, or NULL (as medner_tokenizer_encode()).
 * @return as medner_tokenizer_encode().
 * Thread-safety: as medner_tokenizer_encode().
 */
MEDNER_API int medner_tokenizer_encode_batch(medner_encoding **out,
                                             const medner_tokenizer *tokenizer,
                                             const char *const *texts, const size_t *lens,
                                             size_t n, const medner_encode_params *params);

/** Free an encoding. NULL is a no-op. Thread-safety: no other thread may be reading the encoding. */
MEDNER_API void medner_encoding_free(medner_encoding *encoding);

/** Number of windows (at least 1, even for empty text). 0 for NULL. Thread-safety: safe from any thread. */
MEDNER_API size_t medner_encoding_num_windows(const medner_encoding *encoding);

/** Number of tokens of the whole text without special tokens and without
 *  repeating the overlaps. 0 for NULL. Thread-safety: safe from any thread. */
MEDNER_API size_t medner_encoding_num_tokens(const medner_encoding *encoding);

/**
 * Describe window `index`: fills `out` up to out->struct_size (initialise it
 * with MEDNER_WINDOW_INIT). Pointers are borrowed from the encoding.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL, index out of range,
 *         struct_size too small).
 * Thread-safety: safe from any thread.
 */
MEDNER_DEPRECATED("use medner_window_get()")
MEDNER_API int medner_encoding_window(const medner_encoding *encoding, size_t index,
                                      medner_window *out);

/* ------------------------------------------------------------------------ */
/* Transformer encoder                                                      */
/* ------------------------------------------------------------------------ */

/** Arithmetic of the encoder's matrix products (medner_encoder_params.precision,
 *  YAML `precision:`, `--precision`). Embeddings, LayerNorm, softmax, GELU,
 *  attention and the classifier always run in fp32; see docs/precision.md. */
typedef enum medner_precision {
    MEDNER_PRECISION_DEFAULT = 0, /**< FP32 */
    MEDNER_PRECISION_FP32 = 1,    /**< fp32 products (own kernel; OpenBLAS with MEDNER_GEMM=openblas) */
    MEDNER_PRECISION_BF16 = 2,    /**< weights rounded to bfloat16 once at load, activations on the
                                       fly, fp32 accumulation (AVX512-BF16 where the CPU has it, an
                                       exact portable twin elsewhere) */
    MEDNER_PRECISION_INT8 = 3,    /**< weights quantised per output channel (symmetric int8) at
                                       load, activations per row on the fly (uint8 with zero point
                                       128), int32 accumulation (AVX512-VNNI where the CPU has it,
                                       an exact portable twin elsewhere) */
    MEDNER_PRECISION_AUTO = 4     /**< the fastest precision this CPU runs natively whose
                                       accuracy guard holds (docs/precision.md) */
} medner_precision;

/** Options of medner_encoder_load(). */
typedef struct medner_encoder_params {
    size_t struct_size;     /**< sizeof(medner_encoder_params) */
    /** Threads of one forward pass: the calling thread plus threads - 1
     *  workers that each medner_context starts on its first run and stops
     *  when freed (idle workers sleep). 0 (default) means 1: no threads are
     *  started. At most 256. Results are bitwise the same for any value.
     *  Nothing process-wide is changed. See docs/threading.md. */
    uint32_t threads;
    uint32_t reserved;      /**< must be zero */
    /** PEFT LoRA adapter directory to merge into the model at load time, or
     *  NULL (default) for none. Read: `adapter_config.json` (peft_type
     *  "LORA", r, lora_alpha, use_rslora, target_modules as a list of module
     *  names, modules_to_save, ...) and `adapter_model.safetensors` (F32,
     *  F16 or BF16). Each base weight with a lora_A/lora_B pair becomes a
     *  private fp32 copy W + scale * B.A (scale = lora_alpha / r, or
     *  lora_alpha / sqrt(r) with use_rslora); modules_to_save tensors (e.g.
     *  the classifier) replace the base tensor and may give a base without a
     *  head one, labelled by the adapter directory's config.json id2label,
     *  else the base's, else LABEL_i. Every other weight stays memory-mapped
     *  and shared. Adds to the errors of medner_encoder_load():
     *  MEDNER_E_IO (no adapter_config.json / adapter_model.safetensors),
     *  MEDNER_E_PARSE, MEDNER_E_UNSUPPORTED (another PEFT method, a regular
     *  expression in target_modules, DoRA, trained biases, rank/alpha
     *  patterns, ...), MEDNER_E_INVALID_MODEL (a missing, unexpected or
     *  misshaped tensor: the message names file and tensor). The tokenizer
     *  is not part of the adapter. See docs/model-formats.md. */
    const char *adapter_dir;
    /* appended in 0.2 */
    /** Arithmetic of the matrix products; DEFAULT is FP32. BF16 and INT8
     *  convert the linear layers' weights once at load into private copies
     *  (the fp32 pages of those weights are then released), so load takes
     *  longer and memory does not grow. Results stay bitwise the same for
     *  any thread count and batch composition at each precision on a given
     *  CPU; they differ between precisions (docs/precision.md gives the
     *  measured logits error and F1). medner_encoder_get_info() tells which
     *  precision and kernels run. The environment variable MEDNER_GEMM
     *  (read here) picks the fp32 products' library: "own" (default on
     *  x86-64) or "openblas" (opened at run time; MEDNER_E_UNSUPPORTED when
     *  libopenblas.so.0 is missing); another value is
     *  MEDNER_E_INVALID_ARGUMENT. Errors added: MEDNER_E_INVALID_ARGUMENT (a
     *  value outside medner_precision, reserved2 not 0),
     *  MEDNER_E_UNSUPPORTED (int8 with hidden or intermediate size above
     *  65536). */
    medner_precision precision;
    uint32_t reserved2;     /**< must be zero */
} medner_encoder_params;

/** Initialiser of a medner_encoder_params: struct_size set, every option at its default. */
#define MEDNER_ENCODER_PARAMS_INIT \
    { sizeof(medner_encoder_params), 0, 0, NULL, MEDNER_PRECISION_DEFAULT, 0 }

/**
 * Load a BERT-family checkpoint from a Hugging Face model directory:
 * `config.json` plus `model.safetensors` (or `model.safetensors.index.json`
 * and its shards). Architectures: BertModel, BertForTokenClassification (and
 * the encoder of other Bert* checkpoints, their heads ignored), DistilBertModel,
 * DistilBertForTokenClassification; weight names with or without the
 * `bert.`/`distilbert.` prefix; tensors in F32 (memory-mapped read-only and
 * used in place, so processes share one copy), F16 or BF16 (converted to fp32
 * once). Nothing is downloaded; no Python is involved. With
 * params->adapter_dir, a PEFT LoRA adapter is merged in at load time.
 *
 * @param[out] out        receives the encoder; free with medner_encoder_free().
 * @param      model_dir  the directory (the base model, with an adapter).
 * @param      params     options, or NULL for the defaults.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT; MEDNER_E_IO (missing or
 *         unreadable files); MEDNER_E_PARSE (malformed JSON or safetensors
 *         header: file and position); MEDNER_E_UNSUPPORTED (only
 *         pytorch_model.bin -- the message names the conversion script
 *         examples/tools/convert_to_safetensors.py --, RoBERTa, DeBERTa and
 *         other model types, unknown activations or dtypes);
 *         MEDNER_E_INVALID_MODEL (shapes against the config, missing or
 *         unexpected tensors, offsets outside the file or overlapping: the
 *         message names file and tensor); MEDNER_E_OUT_OF_MEMORY.
 * Thread-safety: safe to call from several threads at once.
 */
MEDNER_API int medner_encoder_load(medner_encoder **out, const char *model_dir,
                                   const medner_encoder_params *params);

/**
 * Free an encoder and unmap its weights. NULL is a no-op. Every context made
 * for it must have been freed first.
 * Thread-safety: no other thread may be using the encoder.
 */
MEDNER_API void medner_encoder_free(medner_encoder *encoder);

/** Description of a loaded encoder (see medner_encoder_get_info()). Strings
 *  are borrowed from the encoder. */
typedef struct medner_encoder_info {
    size_t struct_size;        /**< set by the caller: sizeof(medner_encoder_info) */
    const char *model_type;    /**< "bert" or "distilbert" */
    const char *architecture;  /**< config.json architectures[0], or "" */
    const char *activation;    /**< hidden_act as written in config.json */
    const char *dtype;         /**< stored weights: "F32", "F16", "BF16" or "mixed" */
    size_t layers;             /**< transformer layers */
    size_t hidden_size;        /**< width of the hidden states */
    size_t heads;              /**< attention heads per layer */
    size_t intermediate_size;  /**< width of the feed-forward layer */
    size_t vocab_size;         /**< rows of the word-embedding table */
    size_t max_positions;      /**< longest sequence, special tokens included */
    size_t type_vocab_size;    /**< 0 for DistilBERT */
    size_t num_labels;         /**< 0 without a token-classification head */
    size_t n_params;           /**< parameters used by the encoder and its head */
    size_t file_bytes;         /**< size of the weight files */
    size_t n_files;            /**< weight files (shards) */
    double layer_norm_eps;     /**< LayerNorm epsilon from config.json */
    /* appended in 0.2 */
    const char *precision;     /**< precision in use: "fp32", "bf16" or "int8" (AUTO resolved) */
    const char *kernels;       /**< the products' kernels, e.g. "avx512_vnni", "avx512_bf16",
                                    "portable" (bf16/int8 without the instruction), "avx512",
                                    "avx2", "baseline" (fp32 own kernel) or "openblas" */
} medner_encoder_info;

/** Initialiser of a medner_encoder_info: struct_size set, ready for medner_encoder_get_info(). */
#define MEDNER_ENCODER_INFO_INIT \
    { sizeof(medner_encoder_info), NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, \
      NULL, NULL }

/**
 * Describe an encoder: fills `out` up to out->struct_size (initialise it with
 * MEDNER_ENCODER_INFO_INIT).
 * @return MEDNER_OK or MEDNER_E_INVALID_ARGUMENT.
 * Thread-safety: safe from any thread.
 */
MEDNER_DEPRECATED("use medner_encoder_info_get()")
MEDNER_API int medner_encoder_get_info(const medner_encoder *encoder, medner_encoder_info *out);

/**
 * Name of label `index` (config.json id2label), e.g. "B-Disease".
 * @return a string borrowed from the encoder, or NULL when index >= num_labels.
 * Thread-safety: safe from any thread.
 */
MEDNER_API const char *medner_encoder_label(const medner_encoder *encoder, size_t index);

/**
 * Create an execution context for `encoder`: the workspace of one thread.
 * Memory is allocated lazily by the first run, grown to the largest batch
 * seen, and reused.
 * @param[out] out      receives the context; free with medner_context_free().
 * @param      encoder  the encoder the context runs; it must outlive the context.
 * @return MEDNER_OK, MEDNER_E_INVALID_ARGUMENT or MEDNER_E_OUT_OF_MEMORY.
 * Thread-safety: safe to call from any thread; the context then belongs to
 * one thread at a time.
 */
MEDNER_API int medner_context_create(medner_context **out, const medner_encoder *encoder);

/** Free a context. NULL is a no-op. Thread-safety: the context must not be in use. */
MEDNER_API void medner_context_free(medner_context *context);

/**
 * Run the encoder (and the token-classification head, when the checkpoint
 * has one) on `n` sequences of token ids at once. Sequences may have any
 * lengths: no padding is computed (their tokens are packed together for the
 * dense layers; attention runs per sequence). A sequence's results are bitwise
 * identical whatever else is in the batch and whatever the thread count.
 *
 * @param context   the calling thread's context.
 * @param ids       n arrays of token ids (usually [CLS] ... [SEP] from the tokenizer).
 * @param type_ids  n arrays of token-type ids, or NULL (all 0); an entry may be NULL.
 * @param lengths   n lengths, each in [1, max_positions].
 * @param n         number of sequences (n > 0).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL arrays, an id outside
 *         the vocabulary or a type id outside type_vocab_size: the message
 *         gives the sequence and position); MEDNER_E_LIMIT (a sequence longer
 *         than max_positions); MEDNER_E_OUT_OF_MEMORY (the previous results
 *         are then gone, the context stays usable).
 * Thread-safety: one call per context at a time; any number of contexts of one
 * encoder may run concurrently.
 */
MEDNER_API int medner_encoder_run(medner_context *context, const int32_t *const *ids,
                                  const int32_t *const *type_ids, const size_t *lengths,
                                  size_t n);

/**
 * Logits of sequence `seq` of the last successful run: lengths[seq] rows of
 * num_labels floats (row-major). Borrowed from the context until its next run
 * or free. NULL when the encoder has no head, seq is out of range, or there
 * was no successful run. Thread-safety: read by the context's thread (or after it). */
MEDNER_API const float *medner_context_logits(const medner_context *context, size_t seq);

/**
 * Final hidden states (output of the last layer) of sequence `seq` of the
 * last successful run: lengths[seq] rows of hidden_size floats. Borrowed as
 * medner_context_logits(). NULL when seq is out of range or there was no run. Thread-safety: as medner_context_logits(). */
MEDNER_API const float *medner_context_hidden(const medner_context *context, size_t seq);

/* ------------------------------------------------------------------------ */
/* Entity decoder                                                           */
/* ------------------------------------------------------------------------ */

/** How token predictions become word and entity predictions. The values of
 *  NONE..MAX follow Hugging Face's TokenClassificationPipeline exactly. */
typedef enum medner_aggregation {
    MEDNER_AGGREGATION_DEFAULT = 0, /**< FIRST */
    MEDNER_AGGREGATION_NONE = 1,    /**< one entity per token (label = argmax), no grouping */
    MEDNER_AGGREGATION_SIMPLE = 2,  /**< group tokens, no word logic */
    MEDNER_AGGREGATION_FIRST = 3,   /**< a word takes its first token's label */
    MEDNER_AGGREGATION_AVERAGE = 4, /**< a word takes the argmax of its tokens' mean probabilities */
    MEDNER_AGGREGATION_MAX = 5      /**< a word takes the label of its most confident token */
} medner_aggregation;

/** How labels are chosen from the (aggregated) probabilities. */
typedef enum medner_decoding {
    MEDNER_DECODING_DEFAULT = 0,    /**< ARGMAX */
    MEDNER_DECODING_ARGMAX = 1,     /**< per position, like Hugging Face */
    MEDNER_DECODING_CONSTRAINED = 2 /**< Viterbi over log-probabilities allowing only valid tag
                                         transitions of the scheme (no I-X after O or B-Y) */
} medner_decoding;

/** Tagging scheme of the label set. */
typedef enum medner_scheme {
    MEDNER_SCHEME_AUTO = 0,  /**< detected from the label names */
    MEDNER_SCHEME_IO = 1,    /**< X (or I-X) and O */
    MEDNER_SCHEME_BIO = 2,   /**< B-X, I-X, O (IOB2) */
    MEDNER_SCHEME_BIOES = 3  /**< B-X, I-X, E-X, S-X, O (also BILOU: L- = E-, U- = S-) */
} medner_scheme;

/** Options of medner_decoder_create(). Arrays are copied. */
typedef struct medner_decoder_params {
    size_t struct_size;              /**< sizeof(medner_decoder_params) */
    medner_aggregation aggregation;  /**< default MEDNER_AGGREGATION_FIRST */
    medner_decoding decoding;        /**< default MEDNER_DECODING_ARGMAX */
    medner_scheme scheme;            /**< default MEDNER_SCHEME_AUTO */
    uint32_t reserved;               /**< must be zero */
    double min_score;                /**< entities scoring below are dropped (default
                                          MEDNER_DEFAULT_MIN_SCORE, 0) */
    /** Entity types (or, for NONE, labels) left out; default
     *  {MEDNER_DEFAULT_IGNORE_LABEL} ({"O"}); no label at all with
     *  MEDNER_DECODER_EXPLICIT_IGNORE_LABELS and n_ignore_labels 0. */
    const char *const *ignore_labels;
    size_t n_ignore_labels;          /**< entries in ignore_labels (0: the default, unless
                                          MEDNER_DECODER_EXPLICIT_IGNORE_LABELS) */
    /** When not empty: keep only entities of these types (after renaming). */
    const char *const *keep_labels;
    size_t n_keep_labels;            /**< entries in keep_labels (0: keep all) */
    /** Renames of entity types, e.g. {"Disease_disorder"} -> {"Problem"}. */
    const char *const *rename_from;
    const char *const *rename_to;    /**< new names, one per rename_from entry */
    size_t n_renames;                /**< entries in rename_from and rename_to */
    /* appended in 0.3 */
    /** MEDNER_DECODER_EXPLICIT_* bits: the fields named are taken as written
     *  even when zero (0: zero means "default", as before). */
    uint32_t explicit_fields;
    uint32_t reserved2;              /**< must be zero */
} medner_decoder_params;

/** medner_decoder_params.explicit_fields: n_ignore_labels is taken as
 *  written, so 0 ignores no label (every label, "O" included, can become an
 *  entity: Hugging Face's ignore_labels=[]). */
#define MEDNER_DECODER_EXPLICIT_IGNORE_LABELS 0x1u
/** medner_decoder_params.explicit_fields: min_score is taken as written.
 *  It changes nothing in medner_decoder_create() (the default is 0 anyway);
 *  it lets min_score 0 win over a configuration file's value in the
 *  overrides of medner_pipeline_load_config(). */
#define MEDNER_DECODER_EXPLICIT_MIN_SCORE 0x2u

/** Initialiser of a medner_decoder_params: struct_size set, every option at its default. */
#define MEDNER_DECODER_PARAMS_INIT \
    { sizeof(medner_decoder_params), MEDNER_AGGREGATION_DEFAULT, MEDNER_DECODING_DEFAULT, \
      MEDNER_SCHEME_AUTO, 0, MEDNER_DEFAULT_MIN_SCORE, NULL, 0, NULL, 0, NULL, NULL, 0, 0, 0 }

/**
 * Create an entity decoder for a label set (index = class id, e.g. the
 * encoder's id2label via medner_encoder_label()).
 * @param[out] out    receives the decoder; free with medner_decoder_free().
 * @param labels      n_labels NUL-terminated label names (copied).
 * @param n_labels    number of labels.
 * @param params      options or NULL.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULLs, no labels, bad params,
 *         an explicit scheme the labels do not follow, duplicate labels);
 *         MEDNER_E_OUT_OF_MEMORY.
 * Thread-safety: the decoder is immutable; use it from any number of threads.
 */
MEDNER_API int medner_decoder_create(medner_decoder **out, const char *const *labels,
                                     size_t n_labels, const medner_decoder_params *params);

/** Free a decoder. NULL is a no-op. Thread-safety: no other thread may be using the decoder. */
MEDNER_API void medner_decoder_free(medner_decoder *decoder);

/** The scheme in use (detected or given). MEDNER_SCHEME_AUTO for NULL. Thread-safety: safe from any thread. */
MEDNER_API medner_scheme medner_decoder_scheme(const medner_decoder *decoder);

/* ------------------------------------------------------------------------ */
/* Entities                                                                 */
/* ------------------------------------------------------------------------ */

/** The entities found in one text. Owned by the caller; free with
 *  medner_entities_free(). Read-only: safe to read from any thread. */
typedef struct medner_entities medner_entities;

/** One entity. Filled by medner_entities_get() up to struct_size. */
typedef struct medner_entity {
    size_t struct_size;   /**< set by the caller: sizeof(medner_entity) */
    size_t begin;         /**< UTF-8 byte offset of the first character, in the original text */
    size_t end;           /**< byte offset one past the last character */
    const char *label;    /**< entity type (renamed), or the token label for NONE; borrowed
                               from the entities object */
    double score;         /**< mean probability of its tokens/words, as Hugging Face computes it */
    size_t first_token;   /**< index of its first token in the whole-text token sequence */
    size_t n_tokens;      /**< number of tokens it spans */
    /* appended in 0.2 (a caller built against 0.1 gets the fields above only) */
    uint32_t context;     /**< medner_context_flag bits; 0 when context was not run */
    int32_t section;      /**< medner_section the entity begins in; NONE when context was not run */
    size_t sentence;      /**< index of the sentence it begins in, as medner_sentences_split()
                               numbers the same text (a span in the whitespace between two
                               sentences: the one before, or 0); SIZE_MAX when context was
                               not run, or when the text has no sentence (whitespace only) */
} medner_entity;

/** Initialiser of a medner_entity: struct_size set, ready for medner_entities_get(). */
#define MEDNER_ENTITY_INIT { sizeof(medner_entity), 0, 0, NULL, 0.0, 0, 0, 0, 0, 0 }

/** Number of entities (0 for NULL). Thread-safety: safe from any thread. */
MEDNER_API size_t medner_entities_count(const medner_entities *entities);

/**
 * Entity `index`, in text order (by begin, then end).
 * @return MEDNER_OK or MEDNER_E_INVALID_ARGUMENT (NULL, index out of range,
 *         struct_size too small). Thread-safety: safe from any thread. */
MEDNER_DEPRECATED("use medner_entity_get()")
MEDNER_API int medner_entities_get(const medner_entities *entities, size_t index,
                                   medner_entity *out);

/**
 * Span of entity `index` in code points (Python str indices) and in UTF-16
 * code units (Java/C#/JavaScript string indices) of the original text.
 * Any out pointer may be NULL.
 * @return MEDNER_OK or MEDNER_E_INVALID_ARGUMENT. Thread-safety: safe from any thread. */
MEDNER_DEPRECATED("use medner_entity_span_codepoints()")
MEDNER_API int medner_entities_span_codepoints(const medner_entities *entities, size_t index,
                                               size_t *begin, size_t *end);
/** As medner_entities_span_codepoints(), in UTF-16 code units of the original
 *  text (Java, C#, JavaScript string indices: characters above U+FFFF count 2).
 *  @return MEDNER_OK or MEDNER_E_INVALID_ARGUMENT. Thread-safety: safe from any thread. */
MEDNER_DEPRECATED("use medner_entity_span_utf16()")
MEDNER_API int medner_entities_span_utf16(const medner_entities *entities, size_t index,
                                          size_t *begin, size_t *end);

/** Number of WordPiece tokens of the text the entities were found in
 *  (special tokens and window overlaps not counted); 0 for NULL. Thread-safety: safe from any thread. */
MEDNER_API size_t medner_entities_num_tokens(const medner_entities *entities);

/** Free entities. NULL is a no-op. Thread-safety: no other thread may be reading the entities. */
MEDNER_API void medner_entities_free(medner_entities *entities);

/* ------------------------------------------------------------------------ */
/* Clinical context: sentences, sections, ConText (docs/context.md)         */
/* ------------------------------------------------------------------------ */

/** Sentences or sections of a text, as [begin, end) UTF-8 byte offsets.
 *  Owned by the caller; free with medner_spans_free(). Read-only: safe to
 *  read from any thread. */
typedef struct medner_spans medner_spans;

/**
 * Split a clinical text into sentences (headers in capitals, numbered and
 * bulleted lists, vitals, abbreviations, decimals and line-broken sentences
 * handled; docs/context.md). Sentences are in text order, trimmed, never
 * empty; the indices are those of medner_entity.sentence for the same text.
 * @param[out] out  new spans (category 0), free with medner_spans_free()
 * @param text      any bytes (need not be valid UTF-8), not NUL-terminated; may be NULL if len is 0
 * @param len       its length in bytes
 * @return MEDNER_OK, MEDNER_E_INVALID_ARGUMENT (out NULL, text NULL with len > 0),
 *         MEDNER_E_OUT_OF_MEMORY. Thread-safety: safe from any thread.
 */
MEDNER_API int medner_sentences_split(medner_spans **out, const char *text, size_t len);

/**
 * Find the sections of a clinical note (HISTORY OF PRESENT ILLNESS, PMH,
 * FAMILY HISTORY, A/P, ...): spans from each header to the next, covering
 * the text; a span's category is its medner_section (NONE before the
 * first header).
 * @param[out] out  new spans, free with medner_spans_free()
 * @param text      any bytes, as for medner_sentences_split()
 * @param len       its length in bytes
 * @return as medner_sentences_split(). Thread-safety: safe from any thread.
 */
MEDNER_API int medner_sections_detect(medner_spans **out, const char *text, size_t len);

/** Number of spans (0 for NULL). Thread-safety: safe from any thread. */
MEDNER_API size_t medner_spans_count(const medner_spans *spans);

/**
 * Span `index`. Any out pointer may be NULL.
 * @param spans          from medner_sentences_split() or medner_sections_detect()
 * @param index          0 to medner_spans_count() - 1
 * @param[out] begin     UTF-8 byte offset of its first byte
 * @param[out] end       byte offset one past its last byte
 * @param[out] category  medner_section for sections, 0 for sentences
 * @return MEDNER_OK or MEDNER_E_INVALID_ARGUMENT (NULL spans, index out of range).
 * Thread-safety: safe from any thread. */
MEDNER_DEPRECATED("use medner_span_get()")
MEDNER_API int medner_spans_get(const medner_spans *spans, size_t index, size_t *begin,
                                size_t *end, int32_t *category);

/** Free spans. NULL is a no-op. Thread-safety: no other thread may be reading the spans. */
MEDNER_API void medner_spans_free(medner_spans *spans);

/** A ConText rule set (trigger phrases, pseudo-triggers, terminations, with
 *  direction, scope and label filters). Immutable once loaded: share it
 *  between threads; free with medner_context_rules_free(). */
typedef struct medner_context_rules medner_context_rules;

/**
 * Load ConText rules from a YAML file (docs/context.md, *Writing rules*), or
 * the built-in default rule set when path is NULL. A file with
 * `extends: default` adds to the defaults; otherwise it replaces them.
 * @param[out] out  new rules, free with medner_context_rules_free()
 * @param path      YAML rule file, or NULL for the built-in rules
 * @return MEDNER_OK, MEDNER_E_INVALID_ARGUMENT (out NULL), MEDNER_E_IO,
 *         MEDNER_E_INVALID_CONFIG (message: file:line:column and what was
 *         expected), MEDNER_E_OUT_OF_MEMORY. Thread-safety: safe from any thread.
 */
MEDNER_API int medner_context_rules_load(medner_context_rules **out, const char *path);

/** Free rules. NULL is a no-op. Thread-safety: no other thread may be using them. */
MEDNER_API void medner_context_rules_free(medner_context_rules *rules);

/**
 * Apply ConText to spans the caller found (dictionary matches, another NER):
 * the result lists the spans in text order (by begin, then end; equal spans
 * in the order given) with their
 * context flags, section and sentence (score 0, first_token and n_tokens 0,
 * labels copied: medner_entity.label is "" for a NULL label). Spans may
 * overlap; the same span may be given twice. Sentences and sections are
 * computed once per call (time linear in len + n).
 * @param[out] out   new entities, free with medner_entities_free(); untouched on failure
 * @param rules      from medner_context_rules_load()
 * @param text       the text the offsets refer to (UTF-8); may be NULL if len is 0
 * @param len        its length in bytes
 * @param begins     n UTF-8 byte offsets, begins[i] < ends[i], on character boundaries
 * @param ends       n UTF-8 byte offsets, ends[i] <= len, on character boundaries
 * @param labels     n entity types (NULL, or NULL entries: no label; rules with a label filter then do not apply)
 * @param n          number of spans (0: an empty result)
 * @return MEDNER_OK, MEDNER_E_INVALID_ARGUMENT (NULL where required, a span
 *         out of range, empty or not on a character boundary: the message
 *         names its index), MEDNER_E_INVALID_UTF8, MEDNER_E_OUT_OF_MEMORY.
 *         The text is never logged. Thread-safety: safe from any thread.
 */
MEDNER_API int medner_context_apply(medner_entities **out, const medner_context_rules *rules,
                                    const char *text, size_t len, const size_t *begins,
                                    const size_t *ends, const char *const *labels, size_t n);

/* ------------------------------------------------------------------------ */
/* Pipeline: text in, entities out                                          */
/* ------------------------------------------------------------------------ */

/** How entities found in overlapping windows are reconciled. */
typedef enum medner_merge {
    MEDNER_MERGE_DEFAULT = 0, /**< CENTER */
    MEDNER_MERGE_HF = 1,      /**< Hugging Face: decode each window, then keep the longer of
                                   overlapping entities (ties: higher score) */
    MEDNER_MERGE_CENTER = 2   /**< each token takes the prediction of the window in which it is
                                   farthest from an edge; the whole text is decoded once */
} medner_merge;

/** How a pipeline cuts each text before annotating it (appended in 0.4). */
typedef enum medner_segment {
    MEDNER_SEGMENT_NONE = 0,    /**< the whole text is tokenized and windowed as one (default;
                                     the behaviour before 0.4) */
    MEDNER_SEGMENT_SENTENCE = 1 /**< each sentence of medner_sentences_split() (and any run of
                                     non-blank bytes between sentences the splitter leaves
                                     out) is tokenized, windowed and decoded as a text of its
                                     own; the entities are put back into the whole text:
                                     offsets in the whole text, first_token counted over the
                                     whole text (medner_entities_num_tokens(): the sum over
                                     the sentences), clinical context run once over the whole
                                     text. first_window_only then keeps each
                                     sentence's first window. For models trained one
                                     sentence at a time (CoNLL); docs/config.md */
} medner_segment;

/** Where a medner_pipeline_annotate() call stands (valid during the
 *  callback only). New members are only appended; check struct_size. */
typedef struct medner_progress {
    size_t struct_size;   /**< sizeof(medner_progress) of the library */
    size_t texts_done;    /**< texts of the call whose entities are final */
    size_t n_texts;       /**< texts of the call */
    size_t windows_done;  /**< windows run through the encoder so far in this call */
    size_t bytes_done;    /**< bytes of the texts (or segments) whose windows have all run */
    size_t total_bytes;   /**< sum of the call's text lengths */
} medner_progress;

/**
 * Progress callback of a pipeline (medner_pipeline_params.progress): called
 * on the annotating thread after each batch of windows has run and after
 * each segment of a long text. The pipeline is shared, so when several
 * threads annotate with it at once the callback runs on each of them,
 * concurrently: it must be thread-safe. It must not call into the same
 * pipeline and context. Its return value is ignored (stop with
 * abort_callback).
 */
typedef void (*medner_progress_fn)(const medner_progress *progress, void *user_data);

/**
 * Abort callback of a pipeline (medner_pipeline_params.abort_callback), as
 * llama.h's ggml_abort_callback: return non-zero to stop the call. Asked
 * before each batch of windows and each segment of a long text, on the
 * annotating thread (thread-safety: as medner_progress_fn). A stopped
 * medner_pipeline_annotate() returns MEDNER_E_CANCELLED, returns no result
 * and holds no memory; the context stays usable.
 */
typedef int (*medner_abort_fn)(void *user_data);

/**
 * A ready-to-run NER pipeline: tokenizer, encoder, decoder and windowing.
 * Immutable after creation; any number of threads may annotate with it, each
 * through its own medner_context (medner_pipeline_context_create()).
 */
typedef struct medner_pipeline medner_pipeline;

/** Options of medner_pipeline_create(). Zero fields take the defaults
 *  (MEDNER_DEFAULT_*), except those named in explicit_fields. */
typedef struct medner_pipeline_params {
    size_t struct_size;                    /**< sizeof(medner_pipeline_params) */
    const char *model_dir;                 /**< Hugging Face model directory (required) */
    const char *adapter_dir;               /**< PEFT LoRA adapter directory merged into the
                                                model at load (medner_encoder_params.adapter_dir),
                                                or NULL; the tokenizer comes from model_dir */
    uint32_t max_length;                   /**< tokens per window incl. [CLS]/[SEP]; default: the
                                                model's positions and the tokenizer's model_max_length */
    uint32_t overlap;                      /**< tokens shared by consecutive windows; default
                                                MEDNER_DEFAULT_OVERLAP (128, capped below
                                                max_length - 2); 0 with
                                                MEDNER_PIPELINE_EXPLICIT_OVERLAP: none */
    uint32_t batch_size;                   /**< windows per encoder call; default
                                                MEDNER_DEFAULT_BATCH_SIZE (8), at most
                                                MEDNER_MAX_BATCH_SIZE (4096) */
    uint32_t threads;                      /**< worker threads the CLI and examples use (the
                                                library itself runs none of them); default 1,
                                                at most MEDNER_MAX_THREADS (256). Deprecated
                                                since 0.3: an application setting, not a
                                                pipeline option; still accepted and reported,
                                                never used by the library */
    medner_merge merge;                    /**< reconciliation of overlapping windows; default CENTER */
    medner_switch first_window_only;       /**< ON: only the first window, like Hugging Face's
                                                pipeline without `stride` (the rest of a long
                                                text is ignored); default OFF */
    uint32_t encoder_threads;              /**< threads of each forward pass, as
                                                medner_encoder_params.threads; default 1,
                                                at most 256 */
    uint32_t reserved;                     /**< must be zero */
    const medner_decoder_params *decoder;  /**< decoder options, or NULL */
    /* appended in 0.2 */
    medner_switch context;                 /**< ConText flags on the entities: DEFAULT = on when
                                                the model's labels look clinical (docs/context.md),
                                                ON, OFF */
    uint32_t reserved2;                    /**< must be zero */
    const char *context_rules;             /**< YAML rule file (copied; loaded once, at creation),
                                                or NULL for the built-in rules; a file given
                                                with context DEFAULT turns context on */
    medner_precision precision;            /**< the encoder's products
                                                (medner_encoder_params.precision); default FP32;
                                                medner_pipeline_get_params() reports the one
                                                that runs (FP32, BF16 or INT8) */
    uint32_t reserved3;                    /**< must be zero */
    /* appended in 0.3 */
    uint32_t explicit_fields;              /**< MEDNER_PIPELINE_EXPLICIT_* bits: the fields
                                                named are taken as written even when zero;
                                                medner_pipeline_get_params() sets
                                                MEDNER_PIPELINE_EXPLICIT_OVERLAP (and, since
                                                0.4, MEDNER_PIPELINE_EXPLICIT_SEGMENT), so
                                                its output can be passed back */
    medner_segment segment;                /**< appended in 0.4 in the place of the 0.3
                                                `reserved4` (same offset and size; 0, which
                                                0.3 callers pass, is NONE): how each text is
                                                cut before annotating it, MEDNER_SEGMENT_NONE
                                                (default) or MEDNER_SEGMENT_SENTENCE; another
                                                value: MEDNER_E_INVALID_ARGUMENT */
    medner_progress_fn progress;           /**< called after each batch of windows and each
                                                segment of a long text, or NULL; see
                                                medner_progress_fn */
    medner_abort_fn abort_callback;        /**< asked before each batch and segment whether
                                                to stop (the call then fails with
                                                MEDNER_E_CANCELLED), or NULL */
    void *callback_user_data;              /**< passed to progress and abort_callback; not owned */
    const medner_tokenizer_params *tokenizer; /**< tokenizer options passed to
                                                medner_tokenizer_load() (copied at creation),
                                                or NULL: as the model files say;
                                                medner_pipeline_get_params() points it at the
                                                effective options (borrowed from the pipeline) */
} medner_pipeline_params;

/** medner_pipeline_params.explicit_fields: overlap is taken as written, so 0
 *  means windows that share no token (without the bit, 0 means
 *  MEDNER_DEFAULT_OVERLAP). */
#define MEDNER_PIPELINE_EXPLICIT_OVERLAP 0x1u
/** medner_pipeline_params.explicit_fields (0.4): segment is taken as written,
 *  so an override (medner_pipeline_load_config()) of MEDNER_SEGMENT_NONE
 *  replaces a configuration's `segment: sentence`; set by
 *  medner_pipeline_get_params(). */
#define MEDNER_PIPELINE_EXPLICIT_SEGMENT 0x2u

/** Initialiser of a medner_pipeline_params: struct_size set, every option at its default. */
#define MEDNER_PIPELINE_PARAMS_INIT \
    { sizeof(medner_pipeline_params), NULL, NULL, 0, 0, 0, 0, MEDNER_MERGE_DEFAULT, \
      MEDNER_DEFAULT, 0, 0, NULL, MEDNER_DEFAULT, 0, NULL, MEDNER_PRECISION_DEFAULT, 0, \
      0, MEDNER_SEGMENT_NONE, NULL, NULL, NULL, NULL }

/**
 * Create a pipeline from a model directory with a token-classification head.
 * @param[out] out     receives the pipeline; free with medner_pipeline_free().
 * @param      params  options; model_dir is required (the strings are copied).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (missing model_dir, bad
 *         options, a model without a classification head); the errors of
 *         medner_tokenizer_load(), medner_encoder_load(),
 *         medner_decoder_create() and, when context runs,
 *         medner_context_rules_load().
 * Thread-safety: safe to call from any thread.
 */
MEDNER_API int medner_pipeline_create(medner_pipeline **out, const medner_pipeline_params *params);

/**
 * Create a pipeline from a YAML configuration file (docs/config.md). Fields
 * of `overrides` that are non-zero win over the file (the CLI passes its
 * flags this way); since 0.3 a zero field wins too when its explicit_fields
 * bit is set (overlap; min_score and ignore_labels of overrides->decoder).
 * @return as medner_pipeline_create(), plus MEDNER_E_IO (unreadable file),
 *         MEDNER_E_PARSE (YAML syntax: file:line:column) and
 *         MEDNER_E_INVALID_CONFIG (unknown key, wrong type or bad value:
 *         file:line:column). Thread-safety: safe to call from any thread. */
MEDNER_API int medner_pipeline_load_config(medner_pipeline **out, const char *config_path,
                                           const medner_pipeline_params *overrides);

/** Free a pipeline. NULL is a no-op; its contexts must be freed first. Thread-safety: no other thread may be using the pipeline. */
MEDNER_API void medner_pipeline_free(medner_pipeline *pipeline);

/** Effective options (after the file, overrides and defaults): fills `out`
 *  up to out->struct_size; strings and the decoder pointer are borrowed.
 *  `context` is the effective choice (MEDNER_ON or MEDNER_OFF, never
 *  DEFAULT). Returns MEDNER_OK or MEDNER_E_INVALID_ARGUMENT. Thread-safety: safe from any thread. */
MEDNER_DEPRECATED("use medner_pipeline_params_get()")
MEDNER_API int medner_pipeline_get_params(const medner_pipeline *pipeline,
                                          medner_pipeline_params *out);

/** The encoder inside a pipeline (borrowed), e.g. for medner_encoder_get_info(). NULL for a NULL pipeline. Thread-safety: safe from any thread. */
MEDNER_API const medner_encoder *medner_pipeline_encoder(const medner_pipeline *pipeline);

/** The tokenizer inside a pipeline (borrowed: valid until the pipeline is
 *  freed), e.g. to encode a text the same way before medner_decoder_decode().
 *  NULL for a NULL pipeline. Thread-safety: safe from any thread. (0.3) */
MEDNER_API const medner_tokenizer *medner_pipeline_tokenizer(const medner_pipeline *pipeline);

/** The entity decoder inside a pipeline (borrowed, as above), with the
 *  pipeline's decoder options. NULL for a NULL pipeline. Thread-safety: safe
 *  from any thread. (0.3) */
MEDNER_API const medner_decoder *medner_pipeline_decoder(const medner_pipeline *pipeline);

/** Create a per-thread context for a pipeline (free with medner_context_free()
 *  before the pipeline), as medner_context_create() does for its encoder.
 *  @return MEDNER_OK, MEDNER_E_INVALID_ARGUMENT or MEDNER_E_OUT_OF_MEMORY.
 *  Thread-safety: safe to call from any thread; the context then belongs to
 *  one thread at a time. */
MEDNER_API int medner_pipeline_context_create(medner_context **out,
                                              const medner_pipeline *pipeline);

/**
 * Find the entities of `n` texts. Windows of all texts are batched together
 * (batch_size windows per encoder call); texts of any length are handled
 * window by window.
 * @param[out] out   n result pointers (free each with medner_entities_free()).
 * @param pipeline   the pipeline, shared by any number of threads.
 * @param context    the calling thread's context (from medner_pipeline_context_create()).
 * @param texts      n UTF-8 texts (not modified; offsets in the results refer
 *                   to them); an entry may be NULL only when its length is 0.
 * @param lens       n byte lengths.
 * @param n          number of texts.
 * When the pipeline's context is on (medner_pipeline_get_params()), each
 * text's entities carry their context flags, section and sentence,
 * computed once over the whole text after its entities are final.
 * The pipeline's progress callback is called after each batch of windows
 * and each segment; its abort callback is asked before each (0.3).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT; MEDNER_E_INVALID_UTF8 (the
 *         message gives the text index and byte offset); MEDNER_E_LIMIT;
 *         MEDNER_E_OUT_OF_MEMORY; MEDNER_E_CANCELLED (the abort callback
 *         returned non-zero). All or nothing: on failure no result is
 *         returned and no memory is held.
 * Thread-safety: any number of threads at once, one context each.
 */
MEDNER_API int medner_pipeline_annotate(medner_entities **out, const medner_pipeline *pipeline,
                                        medner_context *context, const char *const *texts,
                                        const size_t *lens, size_t n);

/**
 * Find the entities of `n` texts, each text succeeding or failing on its
 * own (0.3). The all-or-nothing medner_pipeline_annotate() stays.
 * Texts that are NULL with a length or not valid UTF-8 are found first; the
 * others run batched together as in medner_pipeline_annotate(); if that
 * batch fails (memory, a limit), they are run again one by one so that each
 * gets its own status (a text's entities do not depend on the other texts
 * of a call).
 * @param[out] out           n result pointers: out[i] is the entities of
 *                           texts[i] when status[i] is MEDNER_OK (free each
 *                           with medner_entities_free()), else NULL.
 * @param[out] status        n statuses: MEDNER_OK or the failure of texts[i]
 *                           (MEDNER_E_INVALID_ARGUMENT for a NULL text with a
 *                           length, MEDNER_E_INVALID_UTF8, MEDNER_E_LIMIT,
 *                           MEDNER_E_OUT_OF_MEMORY).
 * @param[out] first_failed  the lowest i whose status is not MEDNER_OK, or
 *                           SIZE_MAX when every text succeeded;
 *                           medner_last_error() then describes that text's
 *                           failure ("text I: ...").
 * @param pipeline, context, texts, lens, n  as medner_pipeline_annotate().
 * @return MEDNER_OK when out, status and first_failed are filled (even if
 *         some texts failed: read status); MEDNER_E_INVALID_ARGUMENT (a NULL
 *         array or object: nothing is written); MEDNER_E_CANCELLED (the
 *         abort callback stopped the call: every out[i] is NULL, status and
 *         first_failed are not meaningful, no memory is held).
 * Thread-safety: as medner_pipeline_annotate().
 */
MEDNER_API int medner_pipeline_annotate_each(medner_entities **out, int *status,
                                             size_t *first_failed,
                                             const medner_pipeline *pipeline,
                                             medner_context *context, const char *const *texts,
                                             const size_t *lens, size_t n);

/* ------------------------------------------------------------------------ */
/* Out-parameters first: the 0.3 spellings of the getters                   */
/* ------------------------------------------------------------------------ */

/**
 * @name Getters, out-parameters first (0.3)
 * One vocabulary for the functions that fill a caller's struct: the
 * out-parameters come first (as in libgit2), and the function is named
 * after the struct it fills: `medner_<struct>_get(out, owner, ...)`, the
 * twin of `medner_<struct>_default(out, size)`. A function that returns a
 * number or a borrowed pointer stays `medner_<object>_<thing>(object)`.
 * Each behaves exactly as the 0.1 function it replaces (named in each
 * line), which stays exported and is marked MEDNER_DEPRECATED: same
 * struct_size rules, errors (MEDNER_OK or MEDNER_E_INVALID_ARGUMENT) and
 * thread-safety (safe from any thread; strings and arrays are borrowed from
 * the owner).
 * @{
 */
/** As medner_tokenizer_get_params(): the tokenizer's effective options. */
MEDNER_API int medner_tokenizer_params_get(medner_tokenizer_params *out,
                                           const medner_tokenizer *tokenizer);
/** As medner_encoding_window(): window `index` of an encoding. */
MEDNER_API int medner_window_get(medner_window *out, const medner_encoding *encoding,
                                 size_t index);
/** As medner_encoder_get_info(): the description of an encoder. */
MEDNER_API int medner_encoder_info_get(medner_encoder_info *out, const medner_encoder *encoder);
/** As medner_entities_get(): entity `index`. */
MEDNER_API int medner_entity_get(medner_entity *out, const medner_entities *entities,
                                 size_t index);
/** As medner_entities_span_codepoints(): entity `index` in code points (either out may be NULL). */
MEDNER_API int medner_entity_span_codepoints(size_t *begin, size_t *end,
                                             const medner_entities *entities, size_t index);
/** As medner_entities_span_utf16(): entity `index` in UTF-16 code units (either out may be NULL). */
MEDNER_API int medner_entity_span_utf16(size_t *begin, size_t *end,
                                        const medner_entities *entities, size_t index);
/** As medner_spans_get(): span `index` (any out may be NULL). */
MEDNER_API int medner_span_get(size_t *begin, size_t *end, int32_t *category,
                               const medner_spans *spans, size_t index);
/** As medner_pipeline_get_params(): the pipeline's effective options. */
MEDNER_API int medner_pipeline_params_get(medner_pipeline_params *out,
                                          const medner_pipeline *pipeline);
/** @} */

/* ------------------------------------------------------------------------ */
/* Decoding logits from an encoder of one's own (0.3)                       */
/* ------------------------------------------------------------------------ */

/** Number of labels of a decoder: the width of each logits row it reads
 *  (0 for NULL). Thread-safety: safe from any thread. (0.3) */
MEDNER_API size_t medner_decoder_num_labels(const medner_decoder *decoder);

/**
 * Turn per-token logits computed elsewhere (your own ONNX Runtime, PyTorch
 * or GPU encoder) into entities, exactly as medner_pipeline_annotate() does
 * with the logits of its own encoder: the same softmax, aggregation,
 * scheme, filters, and the same reconciliation of overlapping windows.
 * Clinical context is not applied (call medner_context_apply() on the
 * result's spans). docs/embedding.md and examples/decode_own_logits.c show
 * the whole loop.
 *
 * @param[out] out            receives the entities (free with medner_entities_free());
 *                            untouched on failure.
 * @param decoder             label set and options (medner_decoder_create(),
 *                            or medner_pipeline_decoder()).
 * @param tokenizer           the tokenizer that made `encoding` (its vocabulary
 *                            gives Hugging Face's word-start rule).
 * @param encoding            medner_tokenizer_encode() of `text`, with special
 *                            tokens (each window [CLS] ... [SEP]).
 * @param window_logits       one array per window, in order: window w's
 *                            length rows of medner_decoder_num_labels() floats,
 *                            row-major, [CLS] and [SEP] rows included (what
 *                            medner_context_logits() returns for that window).
 * @param n_windows           medner_encoding_num_windows(encoding) to decode
 *                            the whole text; fewer: only the first n_windows
 *                            windows, each decoded on its own (1: like
 *                            first_window_only).
 * @param merge               reconciliation of overlapping windows
 *                            (MEDNER_MERGE_DEFAULT: CENTER), as in the pipeline.
 * @param text, len           the text that was encoded (offsets refer to it).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULLs, n_windows out of range,
 *         a window without [CLS]/[SEP], an id outside the tokenizer's
 *         vocabulary or an offset beyond len: the message names window and
 *         token); MEDNER_E_INVALID_UTF8; MEDNER_E_OUT_OF_MEMORY.
 * Thread-safety: any number of threads at once (decoder, tokenizer and
 * encoding are only read).
 */
MEDNER_API int medner_decoder_decode(medner_entities **out, const medner_decoder *decoder,
                                     const medner_tokenizer *tokenizer,
                                     const medner_encoding *encoding,
                                     const float *const *window_logits, size_t n_windows,
                                     medner_merge merge, const char *text, size_t len);

/* ------------------------------------------------------------------------ */
/* Default params for callers that cannot use the _INIT macros (0.3)        */
/* ------------------------------------------------------------------------ */

/**
 * @name Params defaults
 * Fill a params struct exactly as its `MEDNER_*_INIT` macro does, for
 * callers that cannot expand C macros (ctypes, Java FFM, C#, Rust bindgen).
 * `struct_size` is the caller's sizeof of the struct: that many bytes are
 * written (members this library does not know, from a newer header, are
 * zeroed, which is their default) and out->struct_size is set to it.
 * @param[out] out          the struct to fill.
 * @param      struct_size  the caller's sizeof; at least the struct's 0.1
 *                          size and a multiple of sizeof(size_t).
 * @return MEDNER_OK, or MEDNER_E_INVALID_ARGUMENT (out NULL, bad
 *         struct_size; nothing is written).
 * Thread-safety: safe from any thread.
 * @{
 */
/** Fill `*out` as MEDNER_TOKENIZER_PARAMS_INIT does (see "Params defaults" above for out, struct_size,
 *  return values and thread-safety). */
MEDNER_API int medner_tokenizer_params_default(medner_tokenizer_params *out, size_t struct_size);
/** Fill `*out` as MEDNER_ENCODE_PARAMS_INIT does (see "Params defaults" above for out, struct_size,
 *  return values and thread-safety). */
MEDNER_API int medner_encode_params_default(medner_encode_params *out, size_t struct_size);
/** Fill `*out` as MEDNER_ENCODER_PARAMS_INIT does (see "Params defaults" above for out, struct_size,
 *  return values and thread-safety). */
MEDNER_API int medner_encoder_params_default(medner_encoder_params *out, size_t struct_size);
/** Fill `*out` as MEDNER_DECODER_PARAMS_INIT does (see "Params defaults" above for out, struct_size,
 *  return values and thread-safety). */
MEDNER_API int medner_decoder_params_default(medner_decoder_params *out, size_t struct_size);
/** Fill `*out` as MEDNER_PIPELINE_PARAMS_INIT does (see "Params defaults" above for out, struct_size,
 *  return values and thread-safety). */
MEDNER_API int medner_pipeline_params_default(medner_pipeline_params *out, size_t struct_size);
/** @} */

/* ------------------------------------------------------------------------ */
/* Offset conversion                                                        */
/* ------------------------------------------------------------------------ */

/**
 * Convert UTF-8 byte offsets into `text` to code-point offsets (Python string
 * indices); medner_utf8_utf16_offsets() gives UTF-16 code-unit offsets (Java,
 * C#, JavaScript string indices). (0.4: the out-parameter-first spellings of
 * medner_utf8_to_codepoint_offsets() and medner_utf8_to_utf16_offsets().)
 *
 * @param[out] out      n converted offsets (caller-allocated, n elements); may
 *                      alias byte_offsets. Untouched on failure.
 * @param text          UTF-8 text the offsets refer to (validated); may be
 *                      NULL only when len is 0. Only read, never kept.
 * @param len           its length in bytes.
 * @param byte_offsets  n offsets, each in [0, len] and on a character boundary,
 *                      in any order.
 * @param n             number of offsets (0: only `text` is validated).
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL pointers with n > 0, an
 *         offset beyond len or inside a character: the message names the
 *         offset); MEDNER_E_INVALID_UTF8 (the message names the byte offset
 *         of the first invalid sequence); MEDNER_E_OUT_OF_MEMORY.
 * Complexity: O(len + n log n). Thread-safety: safe from any thread.
 */
MEDNER_API int medner_utf8_codepoint_offsets(size_t *out, const char *text, size_t len,
                                             const size_t *byte_offsets, size_t n);

/** As medner_utf8_codepoint_offsets() (same parameters, errors and
 *  thread-safety), counting UTF-16 code units: characters above U+FFFF
 *  count 2. (0.4) */
MEDNER_API int medner_utf8_utf16_offsets(size_t *out, const char *text, size_t len,
                                         const size_t *byte_offsets, size_t n);

/**
 * Check that `text` is valid UTF-8 (RFC 3629: no overlong forms, surrogates or
 * values above U+10FFFF). (0.4: the out-parameter-first spelling of
 * medner_utf8_validate().)
 * @param[out] bad_offset  if not NULL and the text is invalid, receives the
 *                         byte offset of the first invalid sequence; untouched
 *                         otherwise.
 * @param      text        the bytes to check; may be NULL only when len is 0.
 * @param      len         number of bytes.
 * @return MEDNER_OK or MEDNER_E_INVALID_UTF8 (also MEDNER_E_INVALID_ARGUMENT
 *         for text NULL with len > 0).
 * Thread-safety: safe from any thread.
 */
MEDNER_API int medner_utf8_check(size_t *bad_offset, const char *text, size_t len);

/** As medner_utf8_codepoint_offsets(out, text, len, byte_offsets, n) (0.1
 *  spelling, outputs last; kept: same behaviour, messages name the 0.4 one). */
MEDNER_DEPRECATED("use medner_utf8_codepoint_offsets()")
MEDNER_API int medner_utf8_to_codepoint_offsets(const char *text, size_t len,
                                                const size_t *byte_offsets, size_t n,
                                                size_t *out);

/** As medner_utf8_utf16_offsets(out, text, len, byte_offsets, n) (0.1
 *  spelling, outputs last; kept: same behaviour, messages name the 0.4 one). */
MEDNER_DEPRECATED("use medner_utf8_utf16_offsets()")
MEDNER_API int medner_utf8_to_utf16_offsets(const char *text, size_t len,
                                            const size_t *byte_offsets, size_t n,
                                            size_t *out);

/** As medner_utf8_check(bad_offset, text, len) (0.1 spelling, outputs last;
 *  kept: same behaviour, messages name the 0.4 one). */
MEDNER_DEPRECATED("use medner_utf8_check()")
MEDNER_API int medner_utf8_validate(const char *text, size_t len, size_t *bad_offset);

/* ------------------------------------------------------------------------ */
/**
 * @name Training (EXPERIMENTAL)
 *
 * Full fine-tuning of a BERT-family token classifier from CoNLL or brat
 * files, or LoRA training of a PEFT adapter on it (lora_r), in fp32, on the
 * CPU (docs/training.md). EXPERIMENTAL: these
 * functions live in their own symbol version node (medner_experimental) and
 * may still change in a later release; everything above is stable.
 *
 * A trainer is created from a params struct (the data are read, tokenised
 * and checked at creation), then run to the end with medner_trainer_run().
 * It writes into params.out_dir:
 *  - the model (a Hugging Face directory: config.json with id2label,
 *    model.safetensors, tokenizer files) with the best dev F1 so far (the
 *    last epoch's weights without a dev set), which medner and
 *    transformers' AutoModelForTokenClassification load; with lora_r a PEFT
 *    adapter directory instead (adapter_config.json, adapter_model.safetensors,
 *    config.json with the labels), loaded with the base (--adapter, peft);
 *  - checkpoint-last/: the weights, AdamW moments and trainer state
 *    (epoch, batch position, step, RNG counter) written at the end of each
 *    epoch, every save_steps optimizer steps, and on cancellation; with
 *    resume ON a new trainer continues from it and reaches bitwise the same
 *    weights as a run that was never interrupted (same params and threads).
 * Determinism: same params, data and threads -> bitwise-identical files.
 * Thread-safety: one thread runs a trainer; medner_trainer_cancel() may be
 * called from any thread or a signal handler.
 * @{
 */

/** Kind of progress report. */
typedef enum medner_train_event {
    MEDNER_TRAIN_STEP = 0,  /**< after an optimizer step */
    MEDNER_TRAIN_EPOCH = 1  /**< after an epoch (and its dev evaluation) */
} medner_train_event;

/** What a progress callback receives (valid during the call only). New
 *  members are only appended; check struct_size before reading one that
 *  came later. */
typedef struct medner_train_progress {
    size_t struct_size;        /**< sizeof(medner_train_progress) of the library */
    medner_train_event event;  /**< STEP or EPOCH */
    uint32_t epoch;            /**< 0-based epoch the report belongs to */
    uint32_t epochs;           /**< epochs planned */
    uint32_t reserved;         /**< zero */
    uint64_t step;             /**< optimizer steps done (from 1 at the first report) */
    uint64_t total_steps;      /**< optimizer steps planned */
    double loss;               /**< STEP: mean token loss of this step; EPOCH: of the epoch */
    double learning_rate;      /**< STEP: the rate this step used */
    double grad_norm;          /**< STEP: global gradient norm before clipping */
    double tokens_per_s;       /**< training tokens (special tokens included) per second of
                                    training steps in this run (forward, backward and AdamW;
                                    dev evaluation and checkpoint writes excluded) */
    double elapsed_s;          /**< seconds since medner_trainer_run() started */
    int has_dev;               /**< EPOCH: 1 when the dev scores below are set */
    int improved;              /**< EPOCH: 1 when the dev F1 is a new best (model written) */
    double dev_loss;           /**< EPOCH: mean token loss on dev (labels of the train set) */
    double dev_precision;      /**< EPOCH: entity-level micro precision (seqeval's default mode) */
    double dev_recall;         /**< EPOCH: entity-level micro recall */
    double dev_f1;             /**< EPOCH: entity-level micro F1 (what selects the best model) */
} medner_train_progress;

/** Progress callback: called on the training thread. Return 0 to go on, any
 *  other value to stop as medner_trainer_cancel() does. */
typedef int (*medner_train_callback)(const medner_train_progress *progress, void *user_data);

/** Training options. Zero in a field means its default. Strings are copied
 *  at creation. */
typedef struct medner_train_params {
    size_t struct_size;        /**< sizeof(medner_train_params) */
    const char *base_dir;      /**< required: the model to start from (a Hugging Face
                                    directory; with or without a token head: a head whose
                                    labels are not the training labels is replaced by a new
                                    one, N(0, initializer_range) weights, zero bias) */
    const char *train_path;    /**< required: CoNLL file, brat .ann file, or brat directory */
    const char *dev_path;      /**< optional (NULL): evaluated after each epoch */
    const char *out_dir;       /**< required: created if missing */
    double learning_rate;      /**< peak rate; default 5e-5 */
    double warmup_ratio;       /**< fraction of the steps of linear warm-up; default 0 */
    double weight_decay;       /**< AdamW decoupled decay of 2-D weights; default 0 */
    double max_grad_norm;      /**< clipping; default 1.0; negative: no clipping */
    double hidden_dropout;     /**< default: the config's hidden_dropout_prob (DistilBERT:
                                    dropout); negative: off */
    double attention_dropout;  /**< default: the config's attention_probs_dropout_prob
                                    (DistilBERT: attention_dropout); negative: off */
    uint64_t seed;             /**< data order, dropout and new head; default 42 */
    uint64_t warmup_steps;     /**< if non-zero, overrides warmup_ratio */
    uint64_t max_steps;        /**< stop after this many optimizer steps; default: no limit */
    uint64_t save_steps;       /**< also write checkpoint-last every N steps; default: only
                                    at epoch ends and on cancellation */
    uint32_t epochs;           /**< default 3 */
    uint32_t batch_size;       /**< sequences per micro-batch; default 8, at most 4096 */
    uint32_t grad_accum;       /**< micro-batches per optimizer step; default 1 */
    uint32_t threads;          /**< default 1, at most 256 */
    uint32_t max_length;       /**< tokens per sequence incl. [CLS]/[SEP] (longer sentences are
                                    truncated, as HF truncation=True); default: 512 capped
                                    at the model's positions; at least 3 */
    uint32_t patience;         /**< early stopping: epochs without a better dev F1; default
                                    0 = never stop early */
    medner_scheme scheme;      /**< tags trained: MEDNER_SCHEME_BIO (default, also for AUTO)
                                    or MEDNER_SCHEME_BIOES (files are converted) */
    medner_switch resume;      /**< ON: continue from out_dir/checkpoint-last if present
                                    (it must come from the same params); default OFF: start
                                    afresh (an existing checkpoint is overwritten) */
    medner_switch unknown_labels_error; /**< ON: a dev tag absent from the train labels is an
                                    error (file:line); default OFF: it is reported (info,
                                    log warning) and scored as a gold entity no prediction
                                    can match */
    medner_switch shuffle;     /**< data order shuffled each epoch (default ON) */
    medner_train_callback callback; /**< progress, or NULL */
    void *user_data;           /**< passed to the callback */
    const char *types;         /**< NULL: every entity type of the data; else a
                                    comma-separated list of the types to keep ("Disease",
                                    "Sign_symptom,Medication"): tags of other types become O in
                                    the training and dev data (a type absent from the training
                                    data is an error) */
    /* appended after the first version (LoRA through the trainer) */
    uint32_t lora_r;           /**< LoRA rank: 0 (default) = full fine-tuning; N >= 1 trains
                                    only a PEFT LoRA adapter of rank N (at most the model's
                                    hidden size) on the frozen base,
                                    plus the modules_to_save, and out_dir is a PEFT adapter
                                    directory (medner --base BASE --adapter OUT, peft) */
    float lora_alpha;          /**< LoRA scale numerator (scale = alpha / r); default 2 * r
                                    (the shipped adapters' ratio); must be > 0 */
    double lora_dropout;       /**< dropout on the LoRA input path, in [0, 1); default 0
                                    (PEFT's); only applied while dropout is on */
    const char *lora_targets;  /**< NULL: "query,key,value,dense" (BERT, the shipped adapters)
                                    or "q_lin,k_lin,v_lin,out_lin,lin1,lin2" (DistilBERT); else a
                                    comma-separated PEFT target_modules list: a Linear is
                                    adapted when its module name is an entry or ends with
                                    "." + entry; an entry matching no Linear is an error */
    const char *lora_modules_to_save; /**< NULL: "classifier"; else comma-separated module
                                    names trained in full and saved in the adapter (PEFT
                                    modules_to_save) */
    /* appended after LoRA: mixed precision */
    medner_precision precision; /**< arithmetic of the dense layers' products in training
                                    (Q, K, V, attention output, FFN; forward, dx, dW):
                                    DEFAULT / FP32: fp32; BF16: operands rounded to bfloat16,
                                    fp32 sums (AMX-BF16 where the CPU and OS allow it, else
                                    AVX512-BF16; a CPU with neither trains in fp32 and logs a
                                    warning); weights, gradients, AdamW, LayerNorm, softmax,
                                    activations, attention and the loss stay fp32. AUTO: BF16
                                    where the CPU has AMX-BF16 or AVX512-BF16, else FP32. INT8
                                    is refused. Stored in checkpoints: resume needs the same
                                    (resolved) precision. docs/training.md */
    uint32_t reserved_precision; /**< zero */
} medner_train_params;

/** Initialiser of a medner_train_params: struct_size set, every option at its default. */
#define MEDNER_TRAIN_PARAMS_INIT \
    { sizeof(medner_train_params), NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
      0, 0, 0, 0, 0, 0, MEDNER_SCHEME_AUTO, MEDNER_DEFAULT, MEDNER_DEFAULT, MEDNER_DEFAULT, \
      NULL, NULL, NULL, 0, 0.0f, 0.0, NULL, NULL, MEDNER_PRECISION_DEFAULT, 0 }

/** Why medner_trainer_run() returned. */
typedef enum medner_train_stop {
    MEDNER_TRAIN_NOT_RUN = 0,    /**< run not called yet, or still running */
    MEDNER_TRAIN_FINISHED = 1,   /**< all epochs done */
    MEDNER_TRAIN_EARLY_STOP = 2, /**< patience exhausted */
    MEDNER_TRAIN_MAX_STEPS = 3,  /**< max_steps reached */
    MEDNER_TRAIN_CANCELLED = 4,  /**< medner_trainer_cancel() or a callback */
    MEDNER_TRAIN_DIVERGED = 5,   /**< NaN or infinite loss */
    MEDNER_TRAIN_FAILED = 6      /**< another error (medner_last_error()) */
} medner_train_stop;

/** What a trainer knows about its data and its run. */
typedef struct medner_train_info {
    size_t struct_size;        /**< set by the caller: sizeof(medner_train_info) */
    size_t num_labels;         /**< labels of the model (sorted train tags) */
    size_t train_sequences;    /**< sentences of the training data */
    size_t dev_sequences;      /**< sentences of the dev data (0 without) */
    size_t train_tokens;       /**< tokens of the train sequences, [CLS]/[SEP] included */
    size_t truncated;          /**< train + dev sentences cut at max_length */
    size_t unknown_dev_tags;   /**< dev words whose tag is not a train label */
    uint64_t total_steps;      /**< optimizer steps planned */
    uint64_t step;             /**< optimizer steps done */
    uint32_t epoch;            /**< epochs done */
    uint32_t best_epoch;       /**< 1-based epoch of the best dev F1 (0: none yet) */
    double best_dev_f1;        /**< best dev F1 so far (0 without dev) */
    medner_train_stop stop;    /**< why the last run returned */
    uint32_t resumed;          /**< 1 when the trainer continued from a checkpoint */
    const char *unknown_tags;  /**< ", "-separated dev tags absent from train, or NULL;
                                    borrowed from the trainer */
} medner_train_info;

/** Initialiser of a medner_train_info. */
#define MEDNER_TRAIN_INFO_INIT \
    { sizeof(medner_train_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, MEDNER_TRAIN_NOT_RUN, 0, NULL }

/** Opaque trainer. */
typedef struct medner_trainer medner_trainer;

/**
 * Create a trainer: load the base model and tokenizer, read and tokenise the
 * data, build the label set, set up AdamW; with resume ON, load
 * out_dir/checkpoint-last when it exists. Nothing is written yet.
 * @param[out] out     receives the trainer (free with medner_trainer_free()).
 * @param      params  options; base_dir, train_path and out_dir are required.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (missing path, bad option or
 *         struct_size, an unknown dev tag with unknown_labels_error ON:
 *         "FILE:LINE: label ..."); MEDNER_E_UNSUPPORTED (a model medner
 *         cannot train); MEDNER_E_IO; MEDNER_E_PARSE (malformed CoNLL/brat:
 *         "FILE:LINE: ..."; a bad checkpoint); MEDNER_E_INVALID_MODEL;
 *         MEDNER_E_INVALID_CONFIG (a checkpoint made with other params or
 *         labels); MEDNER_E_OUT_OF_MEMORY. On failure *out is untouched.
 * Thread-safety: safe to call from any thread.
 */
MEDNER_API int medner_trainer_create(medner_trainer **out, const medner_train_params *params);

/**
 * Train until the last epoch, early stopping, max_steps, cancellation or a
 * NaN loss. May be called again after a cancellation to go on.
 * @return MEDNER_OK (finished, early stop, max_steps); MEDNER_E_CANCELLED
 *         (checkpoint-last written at the last completed step: resume from
 *         it); MEDNER_E_DIVERGED (a NaN or infinite loss at step N: no
 *         update was applied, the files written before stay as they were);
 *         MEDNER_E_IO (writing out_dir); MEDNER_E_INVALID_ARGUMENT;
 *         MEDNER_E_OUT_OF_MEMORY. medner_trainer_get_info() says why it stopped.
 * Thread-safety: one thread at a time per trainer.
 */
MEDNER_API int medner_trainer_run(medner_trainer *trainer);

/** Ask a running trainer to stop after the current optimizer step. Only an
 *  atomic store: safe from any thread and from a signal handler. NULL is a
 *  no-op. */
MEDNER_API void medner_trainer_cancel(medner_trainer *trainer);

/**
 * Describe the trainer: fills `out` up to out->struct_size (initialise it
 * with MEDNER_TRAIN_INFO_INIT; the getter vocabulary of
 * medner_encoder_info_get(), out-parameter first).
 * @param[out] out      the struct to fill; strings in it are borrowed from
 *                      the trainer (valid until medner_trainer_free()).
 * @param      trainer  the trainer.
 * @return MEDNER_OK; MEDNER_E_INVALID_ARGUMENT (NULL, struct_size too small
 *         or misaligned; nothing is written).
 * Thread-safety: not while medner_trainer_run() runs on another thread
 * (call it from the callback instead).
 */
MEDNER_API int medner_train_info_get(medner_train_info *out, const medner_trainer *trainer);

/** As medner_train_info_get(out, trainer) (the first spelling, output last;
 *  kept for now, may go in a later release like any experimental function). */
MEDNER_DEPRECATED("use medner_train_info_get()")
MEDNER_API int medner_trainer_get_info(const medner_trainer *trainer, medner_train_info *out);

/** Label `index` of the model being trained (borrowed), or NULL when out of
 *  range. Thread-safety: safe from any thread. */
MEDNER_API const char *medner_trainer_label(const medner_trainer *trainer, size_t index);

/** Free a trainer (not while it runs). NULL is a no-op. */
MEDNER_API void medner_trainer_free(medner_trainer *trainer);

/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MEDNER_H */
