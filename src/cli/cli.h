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

/* JSON-lines input {"text": ...} (jsonl.c). */
typedef struct medner_cli_reader {
    char *line;
    size_t cap;
    size_t lineno; /* 1-based number of the last line read */
} medner_cli_reader;

/* Next non-blank line of `in`: 1 and *rc = MEDNER_OK with *doc parsed and
 * *text its "text" string, or *rc a status (message in medner_last_error(),
 * *doc possibly set: free it); 0 at the end of input. */
int medner_cli_next_text(medner_cli_reader *r, FILE *in, medner__json_doc **doc,
                         const medner__json **text, int *rc);
void medner_cli_reader_free(medner_cli_reader *r);
/* Report a failed input line on stderr and as {"line": N, "error": msg} in out. */
void medner_cli_error_line(medner__buf *out, const char *cmd, size_t lineno, const char *msg);

/* Print "medner CMD: " + medner_last_error() (or msg) to stderr. */
void medner_cli_error(const char *cmd, int status, const char *what);

/* Parse a non-negative integer option value; returns 0 on success. */
int medner_cli_uint(const char *cmd, const char *opt, const char *value, unsigned *out);

#endif
