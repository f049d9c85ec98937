/* Shared declarations of the medner CLI's subcommands. */
#ifndef MEDNER_CLI_H
#define MEDNER_CLI_H

#include <stdio.h>

#include "medner.h"

/* Each subcommand: argv[0] is the subcommand name; returns the exit status
 * (0 ok, 1 failure, 2 usage error). */
int medner_cli_tokenize(int argc, char **argv);
int medner_cli_info(int argc, char **argv);
int medner_cli_logits(int argc, char **argv);

/* Print "medner CMD: " + medner_last_error() (or msg) to stderr. */
void medner_cli_error(const char *cmd, int status, const char *what);

/* Parse a non-negative integer option value; returns 0 on success. */
int medner_cli_uint(const char *cmd, const char *opt, const char *value, unsigned *out);

#endif
