/* JSON-lines input shared by the CLI's subcommands. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int medner_cli_next_text(medner_cli_reader *r, FILE *in, medner__json_doc **doc,
                         const medner__json **text, int *rc)
{
    ssize_t n;
    *doc = NULL;
    *text = NULL;
    while ((n = getline(&r->line, &r->cap, in)) >= 0) {
        r->lineno++;
        size_t len = (size_t)n;
        while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue; /* blank lines separate nothing */
        char where[32];
        snprintf(where, sizeof where, "stdin line %zu", r->lineno);
        *rc = medner__json_parse(doc, r->line, len, where);
        if (*rc == MEDNER_OK) {
            *text = medner__json_get(medner__json_root(*doc), "text");
            if (*text == NULL || (*text)->type != MEDNER__JSON_STRING) {
                *text = NULL;
                *rc = medner__fail(MEDNER_E_PARSE,
                                   "%s: expected an object with a \"text\" string", where);
            }
        }
        return 1;
    }
    return 0;
}

void medner_cli_reader_free(medner_cli_reader *r)
{
    free(r->line);
    r->line = NULL;
    r->cap = 0;
}

void medner_cli_error_line(medner__buf *out, const char *cmd, size_t lineno, const char *msg)
{
    fprintf(stderr, "medner %s: line %zu: %s\n", cmd, lineno, msg);
    medner__buf_reset(out);
    medner__buf_printf(out, "{\"line\":%zu,\"error\":", lineno);
    medner__buf_json_string(out, msg, strlen(msg));
    medner__buf_append_str(out, "}\n");
}
