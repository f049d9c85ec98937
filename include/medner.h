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
 *             with the matching `MEDNER_*_INIT` macro; zero in any field means
 *             "default"; NULL means "all defaults". Fields are only appended,
 *             so a program compiled against an older header keeps working.
 * Text        Input text is UTF-8 with an explicit byte length (no NUL
 *             terminator needed). Offsets are half-open byte ranges
 *             [begin, end) into the caller's original text.
 * Logging     medner never prints. Diagnostics go to an optional callback
 *             (silent by default) and never contain input text.
 *
 * This header is C99 and C++ compatible.
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

#if defined(_WIN32) && defined(MEDNER_BUILDING_DLL)
#  define MEDNER_API __declspec(dllexport)
#elif defined(_WIN32) && defined(MEDNER_SHARED)
#  define MEDNER_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define MEDNER_API __attribute__((visibility("default")))
#else
#  define MEDNER_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

/** Release version of this header. The ABI version is the SONAME
 *  (libmedner.so.0), which changes only on incompatible ABI changes. */
#define MEDNER_VERSION_MAJOR 0
#define MEDNER_VERSION_MINOR 1
#define MEDNER_VERSION_PATCH 0
/** "MAJOR.MINOR.PATCH" */
#define MEDNER_VERSION_STRING "0.1.0"
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
    MEDNER_E_INTERNAL = -11         /**< a bug in medner; please report it with medner_last_error() */
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
 * workspaces, results). Third-party libraries used internally (OpenBLAS,
 * libyaml, utf8proc) keep their own allocators; memory they allocate never
 * outlives the medner call that caused it, except OpenBLAS's thread buffers.
 *
 * All three functions are required. `alloc_fn` and `realloc_fn` return NULL
 * on failure (medner then fails cleanly with MEDNER_E_OUT_OF_MEMORY), which
 * makes the hook suitable for fault-injection tests. `free_fn` receives only
 * pointers returned by `alloc_fn`/`realloc_fn`, never NULL. Sizes are never 0.
 * The functions may be called from several threads at once.
 */
typedef struct medner_allocator {
    size_t struct_size; /**< sizeof(medner_allocator); set by MEDNER_ALLOCATOR_INIT */
    void *(*alloc_fn)(void *user_data, size_t size);
    void *(*realloc_fn)(void *user_data, void *ptr, size_t size);
    void (*free_fn)(void *user_data, void *ptr);
    void *user_data;    /**< passed to each function; not owned */
} medner_allocator;

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MEDNER_H */
