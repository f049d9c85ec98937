/* medner context: ConText flags, section and sentence for entity spans found
 * elsewhere (JSON lines in, the same lines with the context added out). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/context_line.h"

static const char context_usage[] =
    "usage: medner context [--rules FILE] [--on-error skip|fail] < in.jsonl > out.jsonl\n"
    "\n"
    "Reads JSON lines {\"id\": ..., \"text\": \"...\", \"entities\": [{\"start_char\": c,\n"
    "\"end_char\": d, \"label\": \"...\", ...}]} on stdin (code-point offsets; \"start\"/\"end\"\n"
    "in UTF-8 bytes are accepted too) and writes each line back with, per entity,\n"
    "\"negated\", \"uncertain\", \"historical\", \"hypothetical\", \"family\" (booleans),\n"
    "\"section\" (e.g. \"family_history\", \"none\") and \"sentence\" (0-based index; null\n"
    "in a text without a sentence) added;\n"
    "every other member is kept unchanged. Spans may overlap (docs/context.md).\n"
    "\n"
    "options:\n"
    "  --rules FILE               ConText rules (YAML, docs/context.md); default: built-in\n"
    "  --on-error skip|fail       a bad line (not JSON, a span out of range or not on a\n"
    "                             character boundary, ...): report it (stderr and an\n"
    "                             {\"id\": ..., \"line\": N, \"error\": ...} record) and go on\n"
    "                             (default), or stop there\n"
    "A bad line makes the exit status 1; with skip, the run ends with\n"
    "'N documents, M skipped' on stderr.\n";

int medner_cli_context(int argc, char **argv)
{
    const char *rules_path = NULL;
    int fail_fast = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", context_usage);
            return 0;
        } else if (!strcmp(a, "--rules") && i + 1 < argc) {
            rules_path = argv[++i];
        } else if (!strcmp(a, "--on-error") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "skip") && strcmp(v, "fail")) {
                fprintf(stderr, "medner context: --on-error skip|fail\n");
                return 2;
            }
            fail_fast = !strcmp(v, "fail");
        } else {
            fprintf(stderr, "medner context: unknown option or argument '%s'\n%s", a,
                    context_usage);
            return 2;
        }
    }
    medner_context_rules *rules = NULL;
    int rc = medner_context_rules_load(&rules, rules_path);
    if (rc != MEDNER_OK) {
        medner_cli_error("context", rc, NULL);
        return 1;
    }
    medner_cli_reader r = MEDNER_CLI_READER_INIT;
    medner__buf out = MEDNER__BUF_INIT;
    size_t docs = 0, skipped = 0;
    int status = 0, fatal = 0;
    for (;;) {
        int got = medner_cli_read_line(&r, stdin);
        if (got == MEDNER_CLI_EOF || (got == MEDNER_CLI_READ_ERROR && r.err == -1))
            break;
        if (got == MEDNER_CLI_LINE && r.len == 0)
            continue; /* blank lines separate nothing */
        medner__buf_reset(&out);
        docs++;
        int bad;
        if (got != MEDNER_CLI_LINE) {
            char msg[200];
            medner_cli_error_line(&out, "context", r.lineno,
                                  medner_cli_read_error(&r, got, msg, sizeof msg));
            bad = 1;
            if (got == MEDNER_CLI_READ_ERROR)
                r.err = -1; /* no further input */
        } else {
            rc = medner_cli_context_line(&out, rules, r.line, r.len, r.lineno);
            bad = rc != MEDNER_OK;
            if (bad)
                fprintf(stderr, "medner context: line %zu: %s\n", r.lineno, medner_last_error());
            if (bad && out.len == 0) { /* not even the error record fitted */
                fprintf(stderr, "medner context: line %zu: out of memory writing its result\n",
                        r.lineno);
                fatal = 1;
            }
        }
        if (bad) {
            status = 1;
            skipped++;
        }
        if (!fatal && medner_cli_write("context", out.data, out.len) != 0)
            fatal = 1;
        if (fatal || (bad && fail_fast))
            break;
    }
    if (skipped && !fail_fast && !fatal)
        fprintf(stderr, "%zu documents, %zu skipped\n", docs, skipped);
    medner__buf_free(&out);
    medner_cli_reader_free(&r);
    medner_context_rules_free(rules);
    return fatal ? 1 : status;
}
