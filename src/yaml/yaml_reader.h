/*
 * The strict libyaml event reader shared by the YAML pipeline configuration
 * (src/pipeline/config.c) and ConText rule files (src/context/context.c):
 *   pass 1 reads every event, so a file that is not YAML fails whatever else
 *   is wrong with it, and caps the nesting depth;
 *   pass 2 hands the caller one event at a time, refusing aliases, anchors
 *   and tags.
 * Errors are "NAME:LINE:COLUMN: ..." (1-based). What differs between the two
 * formats (statuses, the noun in messages, limits) is in a dialect.
 * Internal: not part of the public API.
 */
#ifndef MEDNER_YAML_YAML_READER_H
#define MEDNER_YAML_YAML_READER_H

#include <stddef.h>

#include <yaml.h>

#include "common/common.h"

/* What a format makes of the shared reader. */
typedef struct medner__yaml_dialect {
    const char *noun;        /* "a configuration": "aliases (*name) are not supported in ..." */
    int max_depth;           /* collections nested deeper than this are refused */
    int syntax_status;       /* libyaml failures */
    int depth_status;        /* nesting deeper than max_depth */
    int invalid_status;      /* aliases, anchors, tags, type errors */
    const char *parser_oom;  /* after "NAME: out of memory" when libyaml runs out */
    int byte_offsets;        /* encoding errors also say "(byte offset N)" */
    int describe_styles;     /* describe quoted and block scalars as such */
} medner__yaml_dialect;

typedef struct medner__yaml_reader {
    yaml_parser_t yp;
    const medner__yaml_dialect *d;
    const char *name;           /* the file's name in messages */
    const unsigned char *text;  /* past any byte order mark */
    size_t len;
    size_t bom;                 /* bytes of a UTF-8 byte order mark skipped */
} medner__yaml_reader;

/* YAML 1.2 core schema resolution of a scalar; quoted and block scalars are
 * always K_STR. */
typedef enum medner__yaml_kind {
    MEDNER__YAML_NULL,
    MEDNER__YAML_BOOL,
    MEDNER__YAML_INT,
    MEDNER__YAML_FLOAT,
    MEDNER__YAML_STR
} medner__yaml_kind;

/* Set up y over text[0, len) (a UTF-8 byte order mark is skipped: the format
 * is UTF-8 only). Nothing is allocated. */
void medner__yaml_init(medner__yaml_reader *y, const medner__yaml_dialect *d, const char *name,
                       const char *text, size_t len);

/* Pass 1 over the whole text, then start pass 2: MEDNER_OK (then call
 * medner__yaml_close) or the error status (nothing to close). */
int medner__yaml_open(medner__yaml_reader *y);
void medner__yaml_close(medner__yaml_reader *y);

/* Next event of pass 2 (the caller deletes it); aliases, anchors and tags are
 * refused (the event is then deleted). */
int medner__yaml_next(medner__yaml_reader *y, yaml_event_t *ev);

/* Kind of a scalar event, or of a plain scalar's text. */
medner__yaml_kind medner__yaml_scalar_kind(const yaml_event_t *ev);
medner__yaml_kind medner__yaml_classify_plain(const char *s, size_t len);

/* At most 40 bytes of s for a message, cut on a character boundary, control
 * characters as '?', "..." when cut; dst holds cap >= 8 bytes. */
void medner__yaml_excerpt(char *dst, size_t cap, const unsigned char *s, size_t len);

/* "NAME:LINE:COLUMN: message" with `status` (line and column 0-based, as
 * libyaml's marks). */
int medner__yaml_error(const medner__yaml_reader *y, int status, size_t line, size_t column,
                       const char *fmt, ...) MEDNER_PRINTF(5, 6);

/* "<subject> must be <expected>; found <what ev is>" at ev with the
 * dialect's invalid_status; deletes ev. */
int medner__yaml_type_error(const medner__yaml_reader *y, yaml_event_t *ev, const char *subject,
                            const char *expected);

/* A list of items: medner__yaml_list_begin reads the next event, which must
 * start a list (else the type error "<subject> must be <expected>"), and
 * gives its mark (for "must not be empty" messages); medner__yaml_list_item
 * then gives each item: 1 with *ev (the caller deletes it), 0 at the end of
 * the list, or a negative status. */
int medner__yaml_list_begin(medner__yaml_reader *y, const char *subject, const char *expected,
                            yaml_mark_t *start);
int medner__yaml_list_item(medner__yaml_reader *y, yaml_event_t *ev);

#endif
