/*
 * Typed values of the YAML pipeline configuration (config_values.c): the
 * reader half of the configuration, used by the schema in config.c.
 * Internal to the pipeline subsystem.
 */
#ifndef MEDNER_PIPELINE_CONFIG_VALUES_H
#define MEDNER_PIPELINE_CONFIG_VALUES_H

#include "common/common.h"
#include "yaml/yaml_reader.h"

/* Where values are read from: the event reader and the file's path (for
 * messages, and to resolve relative paths). */
typedef struct medner__cfg_values {
    medner__yaml_reader y;
    const char *path;
    size_t dir_len; /* bytes of path up to and including the last '/' */
} medner__cfg_values;

/* A schema error at mark `m`: "path:line:column: ..." */
#define medner__cfg_error(v, status, m, ...)                                                  \
    medner__yaml_error(&(v)->y, (status), (m).line, (m).column, __VA_ARGS__)

/* Next event, which must be a scalar (else a type error naming `subject`
 * and what was `expected`). The caller deletes the event. */
int medner__cfg_expect_scalar(medner__cfg_values *v, yaml_event_t *ev, const char *subject,
                              const char *expected);
/* A string scalar (quoted, block, or plain that is not null/bool/number),
 * copied with medner__malloc; joined to the file's directory when `is_path`
 * and relative. */
int medner__cfg_read_string(medner__cfg_values *v, const char *subject, const char *expected,
                            int is_path, char **out);
/* An integer scalar in [min, max] (decimal, 0o octal, 0x hex). */
int medner__cfg_read_uint(medner__cfg_values *v, const char *subject, uint32_t min, uint32_t max,
                          uint32_t *out);
/* true/false -> MEDNER_ON/MEDNER_OFF. */
int medner__cfg_read_bool(medner__cfg_values *v, const char *subject, medner_switch *out);
/* A number in [0, 1] (integer or float; NaN refused; -0 becomes 0). */
int medner__cfg_read_score(medner__cfg_values *v, const char *subject, double *out);
/* `arr` (capacity *cap, n used) with room for one more element: the same or
 * a moved block, or NULL when out of memory (then `arr` is still valid). */
void *medner__cfg_grow(void *arr, size_t *cap, size_t n, size_t elem);

#endif
