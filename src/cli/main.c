/*
 * medner -- command-line front end. Uses only the public API (medner.h), so it
 * doubles as the flagship example program. Subcommands are a table; each
 * returns a process exit status (0 ok, 1 failure, 2 usage error).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const command commands[] = {
    { "annotate", "find entities in documents (JSON lines or text files)", medner_cli_annotate },
    { "context", "negation, uncertainty, history, ... of given entity spans (JSON lines)",
      medner_cli_context },
    { "eval", "entity-level P/R/F1 on a CoNLL file (identical to seqeval)", medner_cli_eval },
    { "info", "describe a Hugging Face model directory", medner_cli_info },
    { "logits", "per-token logits of JSON lines (check against PyTorch)", medner_cli_logits },
    { "train", "fine-tune a token classifier on CoNLL or brat data (experimental)",
      medner_cli_train },
    { "tokenize", "WordPiece-tokenize JSON lines (ids, tokens, byte offsets)", medner_cli_tokenize },
    { "version", "print the library version", cmd_version },
    { "help", "show this help", cmd_help },
};

void medner_cli_error(const char *cmd, int status, const char *what)
{
    fprintf(stderr, "medner %s: %s: %s\n", cmd, medner_status_str(status),
            what ? what : medner_last_error());
}

int medner_cli_uint(const char *cmd, const char *opt, const char *value, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (errno || end == value || *end || value[0] == '-' || v > 0xFFFFFFFFul) {
        fprintf(stderr, "medner %s: %s expects a non-negative integer\n", cmd, opt);
        return 1;
    }
    *out = (unsigned)v;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: medner <command> [options]\n"
            "\n"
            "Find medical entities in clinical and biomedical text with BERT-family encoders.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "options:\n"
            "  -h, --help     show this help\n"
            "  -V, --version  print the library version\n"
            "\n"
            "Run 'medner <command> --help' for a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: medner version\n\nPrint the version of libmedner in use.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "medner version: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("medner %s (library %s, header %s)\n", medner_version(), medner_version(),
           MEDNER_VERSION_STRING);
    if (medner_version_number() != MEDNER_VERSION_NUMBER) {
        fprintf(stderr, "medner: warning: library version differs from header version\n");
        return 1;
    }
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        return cmd_help(argc - 1, argv + 1) | medner_cli_close_stdout("help");
    if (!strcmp(name, "--version") || !strcmp(name, "-V"))
        return cmd_version(1, argv + 1) | medner_cli_close_stdout("version");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name)) {
            int rc = commands[i].run(argc - 1, argv + 1);
            /* every command: output that could not be written is a failure */
            if (medner_cli_close_stdout(name) != 0 && rc != 2)
                rc = 1;
            return rc;
        }
    fprintf(stderr, "medner: unknown command '%s' (see 'medner --help')\n", name);
    return 2;
}
