/* Input lines, JSON-lines documents and output helpers shared by the CLI's
 * subcommands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/utf8_seq.h"

int medner_cli_read_line(medner_cli_reader *r, FILE *in)
{
    size_t max = r->max ? r->max : MEDNER_CLI_MAX_DOCUMENT;
    int c;
    if (r->err)
        return MEDNER_CLI_READ_ERROR;
    if (r->skip) { /* the rest of an over-long line: discard it as it streams by */
        while ((c = getc_unlocked(in)) != EOF && c != '\n')
            ;
        r->skip = 0;
        if (c == EOF && ferror(in)) {
            r->err = errno ? errno : EIO;
            return MEDNER_CLI_READ_ERROR;
        }
    }
    r->len = 0;
    errno = 0;
    c = getc_unlocked(in);
    if (c == EOF) {
        if (ferror(in)) {
            r->err = errno ? errno : EIO;
            r->lineno++;
            return MEDNER_CLI_READ_ERROR;
        }
        return MEDNER_CLI_EOF;
    }
    r->lineno++;
    for (; c != EOF && c != '\n'; c = getc_unlocked(in)) {
        if (r->len >= max) {
            r->skip = 1;
            return MEDNER_CLI_TOO_LONG;
        }
        if (r->len + 1 >= r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap <= r->len + 1)
                cap *= 2;
            if (cap > max + 1)
                cap = max + 1;
            char *l = realloc(r->line, cap);
            if (l == NULL) {
                r->skip = 1;
                return MEDNER_CLI_NO_MEMORY;
            }
            r->line = l;
            r->cap = cap;
        }
        r->line[r->len++] = (char)c;
    }
    if (c == EOF && ferror(in)) {
        r->err = errno ? errno : EIO;
        return MEDNER_CLI_READ_ERROR;
    }
    if (r->line == NULL) { /* an empty line */
        if ((r->line = malloc(1)) == NULL)
            return MEDNER_CLI_NO_MEMORY;
        r->cap = 1;
    }
    if (r->len > 0 && r->line[r->len - 1] == '\r')
        r->len--;
    r->line[r->len] = '\0';
    return MEDNER_CLI_LINE;
}

const char *medner_cli_read_error(const medner_cli_reader *r, int got, char *buf, size_t size)
{
    size_t max = r->max ? r->max : MEDNER_CLI_MAX_DOCUMENT;
    if (got == MEDNER_CLI_TOO_LONG)
        snprintf(buf, size, "the line is longer than the limit of %zu bytes; skipped", max);
    else if (got == MEDNER_CLI_NO_MEMORY)
        snprintf(buf, size, "out of memory reading the line; skipped");
    else
        snprintf(buf, size, "cannot read stdin: %s; no further input is read", strerror(r->err));
    return buf;
}

int medner_cli_next_text(medner_cli_reader *r, FILE *in, medner__json_doc **doc,
                         const medner__json **text, int *rc)
{
    *doc = NULL;
    *text = NULL;
    for (;;) {
        int got = medner_cli_read_line(r, in);
        if (got == MEDNER_CLI_EOF)
            return 0;
        if (got == MEDNER_CLI_READ_ERROR && r->err == -1)
            return 0; /* reported already */
        if (got != MEDNER_CLI_LINE) {
            char msg[200];
            *rc = medner__fail(got == MEDNER_CLI_TOO_LONG    ? MEDNER_E_LIMIT
                               : got == MEDNER_CLI_NO_MEMORY ? MEDNER_E_OUT_OF_MEMORY
                                                             : MEDNER_E_IO,
                               "%s", medner_cli_read_error(r, got, msg, sizeof msg));
            if (got == MEDNER_CLI_READ_ERROR)
                r->err = -1;
            return 1;
        }
        if (r->len == 0)
            continue; /* blank lines separate nothing */
        char where[32];
        snprintf(where, sizeof where, "stdin line %zu", r->lineno);
        *rc = medner__json_parse(doc, r->line, r->len, where);
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
}

void medner_cli_reader_free(medner_cli_reader *r)
{
    free(r->line);
    r->line = NULL;
    r->cap = 0;
    r->len = 0;
}

void medner_cli_error_line(medner__buf *out, const char *cmd, size_t lineno, const char *msg)
{
    fprintf(stderr, "medner %s: line %zu: %s\n", cmd, lineno, msg);
    medner__buf_reset(out);
    int rc = medner__buf_printf(out, "{\"line\":%zu,\"error\":", lineno);
    rc = rc ? rc : medner__buf_json_string(out, msg, strlen(msg));
    rc = rc ? rc : medner__buf_append_str(out, "}\n");
    if (rc != MEDNER_OK) { /* no memory for the message: a record without it */
        medner__buf_reset(out);
        char small[80];
        int n = snprintf(small, sizeof small, "{\"line\":%zu,\"error\":\"out of memory\"}\n",
                         lineno);
        if (medner__buf_append(out, small, (size_t)n) != MEDNER_OK) {
            out->len = 0; /* the caller writes nothing; stderr has the error */
        }
    }
}

int medner_cli_json_string_lossy(medner__buf *b, const char *s, size_t len)
{
    medner__buf clean = MEDNER__BUF_INIT;
    const unsigned char *u = (const unsigned char *)s;
    int rc = MEDNER_OK;
    for (size_t i = 0; i < len && rc == MEDNER_OK;) {
        size_t k = utf8_seq(u + i, len - i);
        if (k == 0) {
            rc = medner__buf_append(&clean, "\xEF\xBF\xBD", 3); /* U+FFFD */
            i++;
        } else {
            rc = medner__buf_append(&clean, s + i, k);
            i += k;
        }
    }
    rc = rc ? rc : medner__buf_json_string(b, clean.data ? clean.data : "", clean.len);
    medner__buf_free(&clean);
    return rc;
}

int medner_cli_plain_name(medner__buf *b, const char *s)
{
    int rc = MEDNER_OK;
    for (; *s && rc == MEDNER_OK; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7F)
            rc = medner__buf_printf(b, "\\x%02X", c);
        else if (c == '\\')
            rc = medner__buf_append(b, "\\\\", 2);
        else
            rc = medner__buf_putc(b, (char)c);
    }
    return rc;
}

static int output_failed;

static int report_write_error(const char *cmd, int err)
{
    if (!output_failed)
        fprintf(stderr, "medner %s: error writing the output: %s\n", cmd,
                err ? strerror(err) : "unknown error");
    output_failed = 1;
    return 1;
}

int medner_cli_write(const char *cmd, const void *data, size_t len)
{
    if (output_failed)
        return 1;
    errno = 0;
    if (len > 0 && fwrite(data, 1, len, stdout) != len)
        return report_write_error(cmd, errno);
    return 0;
}

int medner_cli_flush(const char *cmd)
{
    if (output_failed)
        return 1;
    errno = 0;
    return fflush(stdout) != 0 ? report_write_error(cmd, errno) : 0;
}

int medner_cli_close_stdout(const char *cmd)
{
    static int closed;
    if (closed)
        return output_failed;
    closed = 1;
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    return bad || output_failed ? report_write_error(cmd, err) : 0;
}
