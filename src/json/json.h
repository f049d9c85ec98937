/*
 * Strict JSON (RFC 8259) reader and a small JSON writer (docs/json.md).
 *
 * Reader: medner__json_parse() turns a complete document into a read-only
 * tree of medner__json nodes owned by a medner__json_doc (one arena: a few big
 * blocks, freed at once by medner__json_free()). Anything that is not JSON is
 * refused with MEDNER_E_PARSE and "SOURCE:LINE:COL: expected X, found Y"
 * (1-based; the column counts bytes); the message never quotes the input.
 *
 * Writer: medner__buf, a growable byte buffer with JSON string and number
 * output, for JSON-lines output without building a tree.
 *
 * Depends on common/ and libc only. Thread-safety: a parsed document is
 * immutable and may be read from any number of threads; a medner__buf belongs
 * to one thread at a time.
 */
#ifndef MEDNER_JSON_H
#define MEDNER_JSON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Deepest nesting of arrays and objects accepted; deeper is MEDNER_E_LIMIT. */
#define MEDNER__JSON_MAX_DEPTH 512

typedef enum medner__json_type {
    MEDNER__JSON_NULL,
    MEDNER__JSON_BOOL,
    MEDNER__JSON_NUMBER,
    MEDNER__JSON_STRING,
    MEDNER__JSON_ARRAY,
    MEDNER__JSON_OBJECT
} medner__json_type;

/*
 * One value of a parsed document. Read the fields directly, after checking
 * `type`: to keep a 30k-entry vocabulary small (64 bytes a node), the
 * payloads of the different types share memory, so a field of another type
 * holds garbage. Always valid: type, line, column, count (0 for all but
 * arrays and objects) and boolean (false unless a true BOOL). Nodes (and all
 * strings and arrays they point to) live as long as their medner__json_doc.
 *
 * Iterating an object (e.g. a 30k-entry vocabulary) is a plain loop:
 *     for (size_t i = 0; i < obj->count; i++)
 *         use(obj->keys[i], obj->key_lens[i], obj->items[i]);
 * which visits every member in document order, duplicates included.
 */
typedef struct medner__json medner__json;
struct medner__json {
    medner__json_type type;
    bool boolean;        /* BOOL: the value (false for every other type) */
    bool is_integer;     /* NUMBER: the lexeme has no fraction or exponent and
                            fits int64_t; then `integer` holds it exactly */
    _Atomic unsigned char index_state_; /* private: see medner__json_get_n() */
    size_t line;         /* 1-based line of the node's first byte */
    size_t column;       /* 1-based column of that byte, counted in bytes */
    size_t count;        /* ARRAY: elements; OBJECT: members (duplicates
                            included); 0 for every other type */
    union {
        struct {                   /* ARRAY, OBJECT */
            medner__json **items;  /* ARRAY: elements; OBJECT: values; document
                                      order; NULL when count is 0 */
            const char **keys;     /* OBJECT: decoded keys (NUL-terminated, may
                                      hold NULs); NULL for arrays */
            size_t *key_lens;      /* OBJECT: byte length of each key */
            /* private: memory for the hash index of a big object (else NULL) */
            struct medner__json_index *index_;
        };
        struct {                   /* NUMBER */
            int64_t integer;       /* exact value when is_integer, else 0 */
            double number;         /* nearest double (always set; "-0" gives -0.0) */
        };
        struct {                   /* STRING */
            const char *str;       /* decoded UTF-8, NUL-terminated; may contain
                                      embedded NULs (from \u0000): use len */
            size_t len;            /* bytes in str, terminator excluded */
        };
    };
};

/* A parsed document: owns every node. */
typedef struct medner__json_doc medner__json_doc;

/*
 * Parse `len` bytes of `text` (no NUL terminator needed; text may be NULL
 * when len is 0) as one strict JSON document. `source_name` names the input
 * in error messages (a file name; NULL gives "<input>").
 *
 * @return MEDNER_OK and *out (free with medner__json_free());
 *         MEDNER_E_INVALID_ARGUMENT (out NULL, text NULL with len > 0);
 *         MEDNER_E_PARSE ("SOURCE:LINE:COL: expected X, found Y");
 *         MEDNER_E_LIMIT (nesting deeper than MEDNER__JSON_MAX_DEPTH);
 *         MEDNER_E_OUT_OF_MEMORY. On failure *out is untouched and nothing
 *         is leaked.
 */
int medner__json_parse(medner__json_doc **out, const char *text, size_t len,
                       const char *source_name);

/* Read the whole file at `path` and parse it (the path is the source name).
 * @return as medner__json_parse(), plus MEDNER_E_IO ("PATH: cannot open: "
 *         strerror) when the file cannot be opened or read. */
int medner__json_parse_file(medner__json_doc **out, const char *path);

/* The top-level value (never NULL for a parsed document; NULL for NULL). */
const medner__json *medner__json_root(const medner__json_doc *doc);

/* Free a document and every node in it. NULL is a no-op. */
void medner__json_free(medner__json_doc *doc);

/*
 * Value of member `key` (NUL-terminated) of an object, or NULL when `obj` is
 * NULL or not an object or has no such member. With duplicate keys the last
 * one wins (as in Python's json). Objects of 16 members or more get a hash
 * index on their first lookup (O(members) once, then O(1); parsing does not
 * pay for it, so iterating a vocabulary costs nothing extra); smaller ones
 * are scanned backwards. Safe from any number of threads at once: the index
 * is built by one of them, the others scan meanwhile.
 */
const medner__json *medner__json_get(const medner__json *obj, const char *key);

/* As medner__json_get() with a key of `key_len` bytes (may contain NULs). */
const medner__json *medner__json_get_n(const medner__json *obj, const char *key,
                                       size_t key_len);

/* "null", "boolean", "number", "string", "array", "object" (for messages such
 * as "expected a string, found an array"); "unknown" for other values. */
const char *medner__json_type_name(medner__json_type type);

/* ---- writer ------------------------------------------------------------- */

/*
 * Growable byte buffer. Start from MEDNER__BUF_INIT (or all zero). After any
 * successful append, data[len] is '\0' (data is NULL while nothing was ever
 * appended). Every function returns MEDNER_OK or MEDNER_E_OUT_OF_MEMORY; on
 * failure the buffer is unchanged.
 */
typedef struct medner__buf {
    char *data;
    size_t len;
    size_t cap; /* bytes allocated at data (room for the terminator included) */
} medner__buf;

#define MEDNER__BUF_INIT { NULL, 0, 0 }

/* Make room for `extra` more bytes (plus the terminator). */
int medner__buf_reserve(medner__buf *buf, size_t extra);
int medner__buf_append(medner__buf *buf, const void *bytes, size_t n);
int medner__buf_append_str(medner__buf *buf, const char *s); /* NUL-terminated s */
int medner__buf_putc(medner__buf *buf, char c);
/* printf-style append. Floating-point conversions follow the current locale;
 * write JSON numbers with medner__buf_json_double() instead. */
int medner__buf_printf(medner__buf *buf, const char *fmt, ...) MEDNER_PRINTF(2, 3);
/* Append `len` bytes of UTF-8 (validated by the caller; bytes >= 0x80 are
 * copied unchanged) as a quoted JSON string: escapes '"', '\\' and every
 * control character below 0x20 (\b \f \n \r \t, else \u00XX). */
int medner__buf_json_string(medner__buf *buf, const char *s, size_t len);
/* Append the shortest "%.{1..17}g" form of `value` that reads back to the same
 * double, always with '.' as decimal point (any locale); integers below 1e16
 * in full ("100", not "1e+02"); NaN and infinities (not representable in
 * JSON) as null. */
int medner__buf_json_double(medner__buf *buf, double value);
/* Forget the contents, keep the memory. */
void medner__buf_reset(medner__buf *buf);
/* Free the memory; the buffer is MEDNER__BUF_INIT again. */
void medner__buf_free(medner__buf *buf);

#endif /* MEDNER_JSON_H */
