/* Shared declarations of the medner CLI's subcommands. */
#ifndef MEDNER_CLI_H
#define MEDNER_CLI_H

#include <stdio.h>

#include "json/json.h"
#include "medner.h"

/* Each subcommand: argv[0] is the subcommand name; returns the exit status
 * (0 ok, 1 failure, 2 usage error). */
int medner_cli_tokenize(int argc, char **argv);
int medner_cli_info(int argc, char **argv);
int medner_cli_logits(int argc, char **argv);

int medner_cli_annotate(int argc, char **argv);
int medner_cli_eval(int argc, char **argv);
int medner_cli_context(int argc, char **argv);
int medner_cli_train(int argc, char **argv); /* train.c (EXPERIMENTAL) */

/* Pipeline flags shared by annotate and eval (options.c). */
typedef struct medner_cli_options {
    const char *config;
    medner_pipeline_params pipeline;
    medner_decoder_params decoder;
    int any_decoder;
    const char **ignore, **keep, **rename_from, **rename_to;
} medner_cli_options;

void medner_cli_options_init(medner_cli_options *o);
void medner_cli_options_free(medner_cli_options *o);
/* argv[*i] is a pipeline flag: consume it (and its value); 0 ok, 1 error,
 * -1 not a pipeline flag. */
int medner_cli_pipeline_option(const char *cmd, medner_cli_options *o, int argc, char **argv,
                               int *i);
/* Create the pipeline from --config/--model and the flags; 0 ok, 1 error, 2 usage. */
int medner_cli_pipeline_create(const char *cmd, medner_cli_options *o, medner_pipeline **out);
extern const char medner_cli_pipeline_help[];

/* Limits of the CLI (docs/security.md, "No lost document"). */
#define MEDNER_CLI_MAX_THREADS ((unsigned)MEDNER_MAX_THREADS)
/* A macro's value as a string literal (defaults in the help texts). */
#define MEDNER_STR_(x) #x
#define MEDNER_STR(x) MEDNER_STR_(x)
/* Largest document read: a FILE argument of annotate, or one input line of
 * stdin (annotate --max-document-size changes it for annotate). */
#define MEDNER_CLI_MAX_DOCUMENT ((size_t)256 << 20)

/* Input lines of stdin, each at most `max` bytes (jsonl.c). */
typedef struct medner_cli_reader {
    char *line;    /* the last line read, NUL-terminated, without its line break */
    size_t len;
    size_t cap;
    size_t lineno; /* 1-based number of the last line read */
    size_t max;    /* longest line accepted (0: MEDNER_CLI_MAX_DOCUMENT) */
    int skip;      /* the rest of an over-long line is still to be skipped */
    int err;       /* errno of a read error: the input cannot be read further */
} medner_cli_reader;

#define MEDNER_CLI_READER_INIT { NULL, 0, 0, 0, 0, 0, 0 }

enum {
    MEDNER_CLI_LINE = 1,       /* a line in r->line, r->len */
    MEDNER_CLI_EOF = 0,        /* end of input */
    MEDNER_CLI_TOO_LONG = -1,  /* line r->lineno is longer than r->max: an error for that
                                * line; the next call skips the rest of it first */
    MEDNER_CLI_NO_MEMORY = -2, /* line r->lineno could not be stored: likewise */
    MEDNER_CLI_READ_ERROR = -3 /* reading failed (r->err): no further line can be read */
};

/* Read the next line of `in`; blank lines are counted and returned too.
 * Memory stays bounded by r->max whatever the input (an endless line is
 * reported once, then discarded as it streams by). */
int medner_cli_read_line(medner_cli_reader *r, FILE *in);
/* The message of a medner_cli_read_line() failure (static or in buf, at
 * most 199 bytes). */
const char *medner_cli_read_error(const medner_cli_reader *r, int got, char *buf, size_t size);

/* Next non-blank line of `in` as JSON {"text": ...}: 1 and *rc = MEDNER_OK
 * with *doc parsed and *text its "text" string, or *rc a status (message in
 * medner_last_error(), *doc possibly set: free it), also for a line that
 * cannot be read (then r->lineno is its number); 0 at the end of input or
 * after a read error was returned. */
int medner_cli_next_text(medner_cli_reader *r, FILE *in, medner__json_doc **doc,
                         const medner__json **text, int *rc);
void medner_cli_reader_free(medner_cli_reader *r);
/* Report a failed input line on stderr and as {"line": N, "error": msg} in out. */
void medner_cli_error_line(medner__buf *out, const char *cmd, size_t lineno, const char *msg);

/* Append `len` bytes as a JSON string; bytes that are not valid UTF-8 (a
 * file name may hold any byte) become U+FFFD. */
int medner_cli_json_string_lossy(medner__buf *b, const char *s, size_t len);
/* Append a NUL-terminated name for a line-oriented text format (brat,
 * pretty): control characters (below 0x20, and 0x7F) as \xHH, a backslash
 * as \\, so a name cannot break a line or emit a terminal escape. */
int medner_cli_plain_name(medner__buf *b, const char *s);

/* Write to stdout; on failure report it once ("medner CMD: error writing the
 * output: ...") and return 1; afterwards every call returns 1. */
int medner_cli_write(const char *cmd, const void *data, size_t len);
/* Flush stdout; 0, or 1 after reporting a write error (once). */
int medner_cli_flush(const char *cmd);
/* Flush and close stdout; 0, or 1 after reporting a write error (once). */
int medner_cli_close_stdout(const char *cmd);

/* Print "medner CMD: " + medner_last_error() (or msg) to stderr. */
void medner_cli_error(const char *cmd, int status, const char *what);

/* Parse a non-negative integer option value; returns 0 on success. */
int medner_cli_uint(const char *cmd, const char *opt, const char *value, unsigned *out);

/* --precision VALUE (fp32, bf16, int8, auto) into *out; 1 with a message
 * on stderr for another value (options.c). */
int medner_cli_precision(const char *cmd, const char *v, medner_precision *out);

/* annotate --format html (html.c): one self-contained page, written as a
 * header, one part per document and a footer (entity-type legend with
 * counts, document list); every string from the input or the model is
 * escaped. Each function appends to b: MEDNER_OK or MEDNER_E_OUT_OF_MEMORY. */
typedef struct medner_cli_html_entity {
    size_t begin, end;           /* UTF-8 byte offsets into the text, [begin, end) */
    size_t begin_char, end_char; /* the same span in code points */
    const char *label;
    double score;
    uint32_t context;    /* medner_context_flag bits (0: none or not run) */
    const char *section; /* section name; NULL when context did not run */
    size_t sentence;     /* SIZE_MAX: none */
} medner_cli_html_entity;

typedef struct medner_cli_html medner_cli_html;

/* context: clinical context ran (the legend explains its marks); labels:
 * the model's n_labels labels (B-X, I-X, ... or types), which pick the
 * colours (NULL, 0: colours from a hash of each label). */
int medner_cli_html_create(medner_cli_html **out, int context, const char *const *labels,
                           size_t n_labels);
void medner_cli_html_free(medner_cli_html *h);
int medner_cli_html_header(medner_cli_html *h, medner__buf *b);
/* One document: id_json its id as JSON (a string or a number; NULL: none);
 * error non-NULL for a document not annotated (line: its input line, 0 to
 * leave it out). Entities in text order; one that overlaps an earlier one
 * (or lies outside the text) is listed below the text instead of being
 * highlighted in it. */
int medner_cli_html_document(medner_cli_html *h, medner__buf *b, const char *id_json,
                             const char *text, size_t len, const medner_cli_html_entity *ents,
                             size_t n, const char *error, size_t line);
int medner_cli_html_footer(medner_cli_html *h, medner__buf *b);

#endif
