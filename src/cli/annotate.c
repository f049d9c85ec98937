/* medner annotate: documents in, entities out (JSON lines, brat, CoNLL, pretty
 * text or an HTML page). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "json/json.h"

static const char annotate_usage[] =
    "usage: medner annotate (--config FILE | --model DIR) [options] [FILE...]\n"
    "\n"
    "Reads JSON lines {\"id\": ..., \"text\": \"...\"} on stdin (or plain-text FILEs, one\n"
    "document each, id = the path) and writes one result per document:\n"
    "  jsonl (default): {\"id\": ..., \"entities\": [{\"start\": b, \"end\": e, \"start_char\": c,\n"
    "                   \"end_char\": d, \"label\": \"...\", \"score\": s, \"text\": \"...\"}]}\n"
    "                   start/end: UTF-8 byte offsets; start_char/end_char: code points\n"
    "  brat:            '# doc ID' then T lines 'T1<TAB>Label START END<TAB>text' (code points)\n"
    "  conll:           whitespace-separated words 'WORD<TAB>B-X|I-X|O', blank line per document\n"
    "  pretty:          the text with its entities highlighted (colours on a terminal,\n"
    "                   [text|Label] otherwise), for reading; a line per document id\n"
    "  html:            one self-contained HTML page (no script, nothing fetched):\n"
    "                   the texts with their entities highlighted, a colour per\n"
    "                   label, a legend with counts, a list of the documents;\n"
    "                   hovering an entity shows label, score, offsets, context\n"
    "When clinical context runs (--context, below), each jsonl entity also has\n"
    "\"negated\", \"uncertain\", \"historical\", \"hypothetical\", \"family\" (booleans),\n"
    "\"section\" (e.g. \"family_history\") and \"sentence\" (0-based index); brat gets\n"
    "attribute lines 'A1<TAB>Negated T1' (Negated, Uncertain, Historical, Hypothetical,\n"
    "Family); pretty marks the label: '!neg' negated (struck through in colour), '?'\n"
    "uncertain, 'hist' historical, 'hyp' hypothetical, 'fam' family, e.g.\n"
    "[chest pain|Problem !neg]; html strikes negated entities through and outlines\n"
    "or underlines the others (its legend says how). Without context the output is\n"
    "as before.\n"
    "\n"
    "options:\n"
    "  --format jsonl|brat|conll|pretty|html  output format\n"
    "  --on-error skip|fail       a bad input line or file: report it (stderr and an\n"
    "                             {\"line\": N, \"error\": ...} result) and go on with\n"
    "                             every other document (default), or stop there\n"
    "  --max-document-size N[K|M|G]  largest FILE, or line of stdin, read (default 256M);\n"
    "                             a larger one is a bad input (reported, not read)\n"
    "  --progress                 documents/s, tokens/s and ETA on stderr (default: when\n"
    "                             stderr is a terminal)\n"
    "A bad input makes the exit status 1; with skip, the run ends with\n"
    "'N documents, M skipped' on stderr.\n\n";

typedef struct doc {
    char *id_json;      /* the id, already as JSON (NULL: no memory for it, written as null) */
    char *text;         /* NULL for an input error */
    size_t len;
    char *error;        /* input or annotation error message */
    size_t line;
    medner_entities *ents;
    int rc;
} doc;

/* The error of a document when there is no memory for its message. */
static char no_memory[] = "out of memory";

static void set_error(doc *d, const char *msg)
{
    if (d->error != NULL && d->error != no_memory)
        free(d->error);
    d->error = strdup(msg);
    if (d->error == NULL)
        d->error = no_memory;
}

static void doc_free(doc *d)
{
    medner_entities_free(d->ents);
    free(d->text);
    medner__free(d->id_json); /* a medner__buf's data */
    if (d->error != no_memory)
        free(d->error);
    memset(d, 0, sizeof *d);
}

typedef struct worker {
    const medner_pipeline *p;
    medner_context *ctx;
    doc *docs;
    size_t n;
    size_t batch;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    for (size_t i = 0; i < w->n; i += w->batch) {
        size_t m = w->n - i < w->batch ? w->n - i : w->batch;
        const char *texts[64];
        size_t lens[64], idx[64], k = 0;
        for (size_t j = 0; j < m; j++) {
            doc *d = &w->docs[i + j];
            if (d->text == NULL)
                continue;
            texts[k] = d->text;
            lens[k] = d->len;
            idx[k++] = i + j;
        }
        if (k == 0)
            continue;
        medner_entities *res[64];
        int rc = medner_pipeline_annotate(res, w->p, w->ctx, texts, lens, k);
        if (rc == MEDNER_OK) {
            for (size_t j = 0; j < k; j++)
                w->docs[idx[j]].ents = res[j];
            continue;
        }
        /* one bad document must not sink its neighbours: retry one by one */
        for (size_t j = 0; j < k; j++) {
            doc *d = &w->docs[idx[j]];
            d->rc = medner_pipeline_annotate(&d->ents, w->p, w->ctx, &texts[j], &lens[j], 1);
            if (d->rc != MEDNER_OK)
                set_error(d, medner_last_error());
        }
    }
    return NULL;
}

/* Context flags: jsonl member, brat attribute, pretty mark. */
static const struct {
    uint32_t bit;
    const char *json, *brat, *mark;
} flags[] = {
    { MEDNER_CONTEXT_NEGATED, "negated", "Negated", "!neg" },
    { MEDNER_CONTEXT_UNCERTAIN, "uncertain", "Uncertain", "?" },
    { MEDNER_CONTEXT_HISTORICAL, "historical", "Historical", "hist" },
    { MEDNER_CONTEXT_HYPOTHETICAL, "hypothetical", "Hypothetical", "hyp" },
    { MEDNER_CONTEXT_FAMILY, "family", "Family", "fam" },
};
#define N_FLAGS (sizeof flags / sizeof *flags)

static int write_jsonl(medner__buf *b, const doc *d, int context)
{
    int rc = medner__buf_append_str(b, "{\"id\":");
    rc = rc ? rc : medner__buf_append_str(b, d->id_json ? d->id_json : "null");
    if (d->error) {
        rc = rc ? rc : medner__buf_printf(b, ",\"line\":%zu,\"error\":", d->line);
        rc = rc ? rc : medner__buf_json_string(b, d->error, strlen(d->error));
        return rc ? rc : medner__buf_append_str(b, "}\n");
    }
    rc = rc ? rc : medner__buf_append_str(b, ",\"entities\":[");
    for (size_t i = 0; i < medner_entities_count(d->ents) && !rc; i++) {
        medner_entity e = MEDNER_ENTITY_INIT;
        size_t cb = 0, ce = 0;
        medner_entities_get(d->ents, i, &e);
        medner_entities_span_codepoints(d->ents, i, &cb, &ce);
        rc = medner__buf_printf(b, "%s{\"start\":%zu,\"end\":%zu,\"start_char\":%zu,\"end_char\":%zu,"
                                   "\"label\":", i ? "," : "", e.begin, e.end, cb, ce);
        rc = rc ? rc : medner__buf_json_string(b, e.label, strlen(e.label));
        rc = rc ? rc : medner__buf_append_str(b, ",\"score\":");
        rc = rc ? rc : medner__buf_json_double(b, e.score);
        rc = rc ? rc : medner__buf_append_str(b, ",\"text\":");
        rc = rc ? rc : medner__buf_json_string(b, d->text + e.begin, e.end - e.begin);
        for (size_t f = 0; context && f < N_FLAGS && !rc; f++)
            rc = medner__buf_printf(b, ",\"%s\":%s", flags[f].json,
                                    (e.context & flags[f].bit) ? "true" : "false");
        if (context) {
            const char *sec = medner_section_name((medner_section)e.section);
            rc = rc ? rc : medner__buf_append_str(b, ",\"section\":");
            rc = rc ? rc : medner__buf_json_string(b, sec, strlen(sec));
            if (e.sentence == SIZE_MAX) /* a text without a sentence */
                rc = rc ? rc : medner__buf_append_str(b, ",\"sentence\":null");
            else
                rc = rc ? rc : medner__buf_printf(b, ",\"sentence\":%zu", e.sentence);
        }
        rc = rc ? rc : medner__buf_putc(b, '}');
    }
    return rc ? rc : medner__buf_append_str(b, "]}\n");
}

static int write_brat(medner__buf *b, const doc *d, const char *id_plain)
{
    size_t n_attr = 0;
    int rc = medner__buf_append_str(b, "# doc ");
    rc = rc ? rc : medner_cli_plain_name(b, id_plain);
    rc = rc ? rc : medner__buf_putc(b, '\n');
    if (d->error) {
        rc = rc ? rc : medner__buf_printf(b, "# error (line %zu): ", d->line);
        rc = rc ? rc : medner_cli_plain_name(b, d->error);
        return rc ? rc : medner__buf_putc(b, '\n');
    }
    for (size_t i = 0; i < medner_entities_count(d->ents) && !rc; i++) {
        medner_entity e = MEDNER_ENTITY_INIT;
        size_t cb = 0, ce = 0;
        medner_entities_get(d->ents, i, &e);
        medner_entities_span_codepoints(d->ents, i, &cb, &ce);
        /* a label is the model's (config.json), any string: escaped */
        rc = medner__buf_printf(b, "T%zu\t", i + 1);
        rc = rc ? rc : medner_cli_plain_name(b, e.label);
        rc = rc ? rc : medner__buf_printf(b, " %zu %zu\t", cb, ce);
        /* brat keeps one annotation per line: newlines in the span become spaces */
        for (size_t k = e.begin; k < e.end && !rc; k++)
            rc = medner__buf_putc(b, d->text[k] == '\n' || d->text[k] == '\r' ? ' ' : d->text[k]);
        rc = rc ? rc : medner__buf_putc(b, '\n');
        /* brat attributes: one line per flag set on the entity */
        for (size_t f = 0; f < N_FLAGS && !rc; f++)
            if (e.context & flags[f].bit)
                rc = medner__buf_printf(b, "A%zu\t%s T%zu\n", ++n_attr, flags[f].brat, i + 1);
    }
    return rc;
}

/* The text with its entities marked: ANSI colours (one per label, chosen
 * by a hash of the label) or [text|Label]; entities never overlap in a
 * result, nested ones are not produced. */
static int write_pretty(medner__buf *b, const doc *d, const char *id_plain, int colour)
{
    static const int palette[] = { 31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96 };
    int rc = medner__buf_append_str(b, colour ? "\033[1m== " : "== ");
    rc = rc ? rc : medner_cli_plain_name(b, id_plain);
    rc = rc ? rc : medner__buf_append_str(b, colour ? "\033[0m\n" : "\n");
    if (d->error) {
        rc = rc ? rc : medner__buf_printf(b, "(error, line %zu: ", d->line);
        rc = rc ? rc : medner_cli_plain_name(b, d->error);
        return rc ? rc : medner__buf_append_str(b, ")\n\n");
    }
    size_t pos = 0;
    for (size_t i = 0; i < medner_entities_count(d->ents) && !rc; i++) {
        medner_entity e = MEDNER_ENTITY_INIT;
        medner_entities_get(d->ents, i, &e);
        if (e.begin < pos)
            continue;
        rc = medner__buf_append(b, d->text + pos, e.begin - pos);
        unsigned h = 5381;
        for (const char *c = e.label; *c; c++)
            h = h * 33u + (unsigned char)*c;
        int neg = (e.context & MEDNER_CONTEXT_NEGATED) != 0;
        if (colour) /* a negated entity is struck through */
            rc = rc ? rc : medner__buf_printf(b, "\033[1;%s%dm", neg ? "9;" : "", palette[h % 12]);
        else
            rc = rc ? rc : medner__buf_putc(b, '[');
        rc = rc ? rc : medner__buf_append(b, d->text + e.begin, e.end - e.begin);
        if (colour)
            rc = rc ? rc : medner__buf_printf(b, "\033[0;%dm\xE2\x80\xB9", palette[h % 12]);
        else
            rc = rc ? rc : medner__buf_putc(b, '|');
        rc = rc ? rc : medner_cli_plain_name(b, e.label);
        for (size_t f = 0, first = 1; f < N_FLAGS && !rc; f++)
            if (e.context & flags[f].bit) {
                rc = medner__buf_printf(b, "%s%s", first ? " " : ",", flags[f].mark);
                first = 0;
            }
        rc = rc ? rc : medner__buf_append_str(b, colour ? "\xE2\x80\xBA\033[0m" : "]");
        pos = e.end;
    }
    rc = rc ? rc : medner__buf_append(b, d->text + pos, d->len - pos);
    return rc ? rc : medner__buf_append_str(b, d->len && d->text[d->len - 1] == '\n' ? "\n" : "\n\n");
}

/* The document as a part of the HTML page (html.c); *ents: scratch array
 * of *cap entities, grown as needed (one document's worth of memory). */
static int write_html(medner_cli_html *h, medner__buf *b, const doc *d, size_t line,
                      int context, medner_cli_html_entity **ents, size_t *cap)
{
    size_t n = d->error ? 0 : medner_entities_count(d->ents);
    if (n > *cap) {
        medner_cli_html_entity *g = realloc(*ents, n * sizeof *g);
        if (g == NULL)
            return MEDNER_E_OUT_OF_MEMORY;
        *ents = g;
        *cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        medner_entity e = MEDNER_ENTITY_INIT;
        medner_cli_html_entity *x = &(*ents)[i];
        medner_entities_get(d->ents, i, &e);
        medner_entities_span_codepoints(d->ents, i, &x->begin_char, &x->end_char);
        x->begin = e.begin;
        x->end = e.end;
        x->label = e.label;
        x->score = e.score;
        x->context = e.context;
        x->section = context ? medner_section_name((medner_section)e.section) : NULL;
        x->sentence = e.sentence;
    }
    return medner_cli_html_document(h, b, d->id_json, d->text, d->len, *ents, n, d->error, line);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int write_conll(medner__buf *b, const doc *d)
{
    int rc = MEDNER_OK;
    if (d->error) {
        rc = medner__buf_printf(b, "# error (line %zu): ", d->line);
        rc = rc ? rc : medner_cli_plain_name(b, d->error);
        return rc ? rc : medner__buf_append_str(b, "\n\n");
    }
    size_t n = medner_entities_count(d->ents), k = 0, i = 0;
    size_t last_entity = (size_t)-1;
    while (i < d->len && !rc) {
        while (i < d->len && is_space(d->text[i]))
            i++;
        if (i >= d->len)
            break;
        size_t s = i;
        while (i < d->len && !is_space(d->text[i]))
            i++;
        medner_entity e = MEDNER_ENTITY_INIT;
        while (k < n && (medner_entities_get(d->ents, k, &e), e.end <= s))
            k++;
        const char *tag = "O", *label = "";
        if (k < n && e.begin < i) { /* the word overlaps entity k */
            tag = k == last_entity ? "I-" : "B-";
            label = e.label;
            last_entity = k;
        }
        rc = medner__buf_append(b, d->text + s, i - s);
        rc = rc ? rc : medner__buf_printf(b, "\t%s", tag);
        rc = rc ? rc : medner_cli_plain_name(b, label);
        rc = rc ? rc : medner__buf_putc(b, '\n');
    }
    return rc ? rc : medner__buf_putc(b, '\n');
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read a plain-text FILE argument whole, at most `max` bytes: 0 with *text
 * (NUL-terminated) and *len, or 1 with the reason in msg. A FIFO or a
 * process substitution is read to its end like a file. */
static int read_file(const char *path, size_t max, char **text, size_t *len, char *msg,
                     size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, size, "cannot open: %s", strerror(errno));
        return 1;
    }
    struct stat st;
    char *buf = NULL;
    size_t n = 0, cap;
    if (fstat(fd, &st) != 0) {
        snprintf(msg, size, "cannot stat: %s", strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(msg, size, "cannot read: %s", strerror(EISDIR));
        goto fail;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
        snprintf(msg, size, "%jd bytes, above the limit of %zu bytes (--max-document-size)",
                 (intmax_t)st.st_size, max);
        goto fail;
    }
    /* room for max + 1 bytes, to see that a file is too large, and the NUL */
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 65536;
    if (cap > max + 2)
        cap = max + 2;
    if ((buf = malloc(cap)) == NULL) {
        snprintf(msg, size, "out of memory reading it (%zu bytes)", cap);
        goto fail;
    }
    for (;;) {
        if (cap - n < 2) {
            size_t ncap = cap > (max + 2) / 2 ? max + 2 : 2 * cap;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                snprintf(msg, size, "out of memory reading it (%zu bytes)", ncap);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(msg, size, "cannot read: %s (after %zu bytes)", strerror(errno), n);
            goto fail;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > max) {
            snprintf(msg, size, "larger than the limit of %zu bytes (--max-document-size)", max);
            goto fail;
        }
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(msg, size, "cannot read: %s", strerror(errno));
        goto fail;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return 1;
}

typedef struct input {
    FILE *in;
    char **files;
    int n_files, file_i;
    size_t max;          /* --max-document-size */
    medner_cli_reader r; /* stdin */
    size_t consumed;     /* bytes read so far (progress) */
} input;

enum { DOC_NONE = 0, DOC_READ = 1, DOC_READ_FLUSH = 2 };

/* Read the next document: a JSON line from stdin, or the next file.
 * DOC_READ: got one (maybe with its error); DOC_READ_FLUSH: got one, and the
 * documents read so far should be written before reading on (an over-long
 * line, whose rest may take long to skip, or a read error); DOC_NONE: end of
 * input. */
static int next_doc(doc *d, input *in)
{
    memset(d, 0, sizeof *d);
    if (in->files) {
        if (in->file_i >= in->n_files)
            return DOC_NONE;
        const char *path = in->files[in->file_i++];
        d->line = (size_t)in->file_i;
        medner__buf id = MEDNER__BUF_INIT;
        /* a file name may hold any byte: the id stays valid JSON */
        if (medner_cli_json_string_lossy(&id, path, strlen(path)) != MEDNER_OK) {
            medner__buf_free(&id);
            set_error(d, "out of memory");
            return DOC_READ;
        }
        d->id_json = id.data;
        char msg[300];
        if (read_file(path, in->max, &d->text, &d->len, msg, sizeof msg) != 0) {
            set_error(d, msg);
            return DOC_READ;
        }
        in->consumed += d->len;
        return DOC_READ;
    }
    int got;
    while ((got = medner_cli_read_line(&in->r, in->in)) == MEDNER_CLI_LINE && in->r.len == 0)
        in->consumed++; /* blank lines separate nothing */
    if (got == MEDNER_CLI_EOF)
        return DOC_NONE;
    size_t lineno = in->r.lineno;
    d->line = lineno;
    medner__buf idb = MEDNER__BUF_INIT;
    if (got != MEDNER_CLI_LINE) {
        char msg[200];
        if (got == MEDNER_CLI_READ_ERROR && in->r.err == -1)
            return DOC_NONE; /* reported already */
        set_error(d, medner_cli_read_error(&in->r, got, msg, sizeof msg));
        if (medner__buf_printf(&idb, "%zu", lineno) == MEDNER_OK)
            d->id_json = idb.data;
        else
            medner__buf_free(&idb);
        if (got == MEDNER_CLI_READ_ERROR)
            in->r.err = -1; /* the next call ends the input */
        return DOC_READ_FLUSH;
    }
    in->consumed += in->r.len + 1;
    const char *line = in->r.line;
    size_t len = in->r.len;
    char where[48];
    snprintf(where, sizeof where, "stdin line %zu", lineno);
    medner__json_doc *j = NULL;
    const medner__json *text = NULL, *id = NULL;
    int prc = medner__json_parse(&j, line, len, where);
    if (prc == MEDNER_OK) {
        text = medner__json_get(medner__json_root(j), "text");
        id = medner__json_get(medner__json_root(j), "id");
    }
    int irc;
    if (id && id->type == MEDNER__JSON_STRING)
        irc = medner__buf_json_string(&idb, id->str, id->len);
    else if (id && id->type == MEDNER__JSON_NUMBER && id->is_integer)
        irc = medner__buf_printf(&idb, "%lld", (long long)id->integer);
    else
        irc = medner__buf_printf(&idb, "%zu", lineno);
    if (irc == MEDNER_OK)
        d->id_json = idb.data;
    else
        medner__buf_free(&idb);
    if (prc != MEDNER_OK)
        set_error(d, medner_last_error());
    else if (irc != MEDNER_OK)
        set_error(d, "out of memory");
    else if (text == NULL || text->type != MEDNER__JSON_STRING)
        set_error(d, "expected an object with a \"text\" string");
    else if (id && !(id->type == MEDNER__JSON_STRING ||
                     (id->type == MEDNER__JSON_NUMBER && id->is_integer)))
        set_error(d, "\"id\" must be a string or an integer");
    else if ((d->text = malloc(text->len + 1)) == NULL)
        set_error(d, "out of memory copying the text");
    else {
        memcpy(d->text, text->str, text->len + 1);
        d->len = text->len;
    }
    medner__json_free(j);
    return DOC_READ;
}

/* Parse --max-document-size: N, NK, NM or NG (binary units), at least 1. */
static int parse_size(const char *v, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (errno || end == v || *end || v[0] == '-' || n == 0 ||
        n > ((unsigned long long)SIZE_MAX / 4) >> shift)
        return 1;
    *out = (size_t)(n << shift);
    return 0;
}

int medner_cli_annotate(int argc, char **argv)
{
    medner_cli_options o;
    medner_cli_options_init(&o);
    const char *format = "jsonl";
    int fail_fast = 0, progress = isatty(STDERR_FILENO), status = 0, fatal = 0;
    int colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    input in = { stdin, NULL, 0, 0, MEDNER_CLI_MAX_DOCUMENT, MEDNER_CLI_READER_INIT, 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = medner_cli_pipeline_option("annotate", &o, argc, argv, &i);
        if (r == 1) {
            medner_cli_options_free(&o);
            return 2;
        }
        if (r == 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s%s", annotate_usage, medner_cli_pipeline_help);
            medner_cli_options_free(&o);
            return 0;
        } else if (!strcmp(a, "--format") && i + 1 < argc) {
            format = argv[++i];
            if (strcmp(format, "jsonl") && strcmp(format, "brat") && strcmp(format, "conll") &&
                strcmp(format, "pretty") && strcmp(format, "html")) {
                fprintf(stderr, "medner annotate: --format jsonl|brat|conll|pretty|html\n");
                medner_cli_options_free(&o);
                return 2;
            }
        } else if (!strcmp(a, "--on-error") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "skip") && strcmp(v, "fail")) {
                fprintf(stderr, "medner annotate: --on-error skip|fail\n");
                medner_cli_options_free(&o);
                return 2;
            }
            fail_fast = !strcmp(v, "fail");
        } else if (!strcmp(a, "--max-document-size") && i + 1 < argc) {
            if (parse_size(argv[++i], &in.max)) {
                fprintf(stderr, "medner annotate: --max-document-size expects N, NK, NM or NG "
                                "(N >= 1)\n");
                medner_cli_options_free(&o);
                return 2;
            }
        } else if (!strcmp(a, "--progress")) {
            progress = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "medner annotate: unknown option '%s'\n%s", a, annotate_usage);
            medner_cli_options_free(&o);
            return 2;
        } else {
            /* a file: argv is ours to reorder, so collect files at the front */
            if (in.files == NULL)
                in.files = argv + 1;
            in.files[in.n_files++] = argv[i];
        }
    }
    in.r.max = in.max;
    medner_pipeline *p = NULL;
    int rc = medner_cli_pipeline_create("annotate", &o, &p);
    medner_cli_options_free(&o);
    if (rc)
        return rc;
    medner_pipeline_params eff = MEDNER_PIPELINE_PARAMS_INIT;
    medner_pipeline_get_params(p, &eff);
    size_t threads = eff.threads ? eff.threads : 1;
    if (threads > MEDNER_CLI_MAX_THREADS) { /* e.g. threads: in a YAML config */
        fprintf(stderr, "medner annotate: threads: %zu is above the limit of %u worker threads\n",
                threads, MEDNER_CLI_MAX_THREADS);
        medner_pipeline_free(p);
        return 1;
    }
    size_t batch = eff.batch_size < 64 ? eff.batch_size : 64;
    if (batch == 0)
        batch = 1;
    size_t chunk = threads * batch * 4;
    worker *ws = calloc(threads, sizeof *ws);
    pthread_t *th = calloc(threads, sizeof *th);
    doc *docs = calloc(chunk, sizeof *docs);
    if (ws == NULL || th == NULL || docs == NULL) {
        fprintf(stderr, "medner annotate: out of memory (%zu workers, %zu documents at a time)\n",
                threads, chunk);
        fatal = 1;
    }
    for (size_t t = 0; t < threads && !fatal; t++) {
        ws[t].p = p;
        ws[t].batch = batch;
        if ((rc = medner_pipeline_context_create(&ws[t].ctx, p)) != MEDNER_OK) {
            medner_cli_error("annotate", rc, NULL);
            fatal = 1;
        }
    }
    size_t total_bytes = 0, done_docs = 0, done_tokens = 0, skipped = 0;
    struct stat st;
    if (in.files) {
        for (int f = 0; f < in.n_files; f++)
            if (stat(in.files[f], &st) == 0 && S_ISREG(st.st_mode))
                total_bytes += (size_t)st.st_size;
    } else if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
        total_bytes = (size_t)st.st_size;
    }
    int eof = 0, stop = 0;
    double t0 = now();
    medner__buf out = MEDNER__BUF_INIT;
    /* html: the page's header now, its footer after the last document */
    medner_cli_html *html = NULL;
    medner_cli_html_entity *html_ents = NULL;
    size_t html_cap = 0;
    if (!fatal && !strcmp(format, "html")) {
        /* the model's labels pick the colours */
        const medner_encoder *enc = medner_pipeline_encoder(p);
        medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
        const char **labels = NULL;
        size_t n_labels = 0;
        if (enc && medner_encoder_get_info(enc, &info) == MEDNER_OK && info.num_labels &&
            (labels = calloc(info.num_labels, sizeof *labels)) != NULL)
            for (n_labels = 0; n_labels < info.num_labels; n_labels++)
                labels[n_labels] = medner_encoder_label(enc, n_labels);
        rc = medner_cli_html_create(&html, eff.context == MEDNER_ON, labels, n_labels);
        free(labels);
        if (rc != MEDNER_OK ||
            medner_cli_html_header(html, &out) != MEDNER_OK) {
            fprintf(stderr, "medner annotate: out of memory starting the HTML page\n");
            fatal = 1;
        } else if (medner_cli_write("annotate", out.data, out.len) != 0) {
            fatal = 1;
        }
    }
    while (!eof && !stop && !fatal) {
        size_t n = 0;
        int got = DOC_READ;
        while (n < chunk && got == DOC_READ && (got = next_doc(&docs[n], &in)) != DOC_NONE)
            n++;
        if (got == DOC_NONE)
            eof = 1;
        if (n == 0)
            break;
        size_t per = (n + threads - 1) / threads;
        for (size_t t = 0; t < threads; t++) {
            size_t a = t * per;
            ws[t].docs = docs + (a < n ? a : n);
            ws[t].n = a < n ? (n - a < per ? n - a : per) : 0;
        }
        /* a thread that cannot be started: its share runs on this thread,
         * after the others are started, so no document is left out */
        int *ran = calloc(threads, sizeof *ran);
        for (size_t t = 1; t < threads && ran; t++) {
            if (ws[t].n == 0)
                continue;
            ran[t] = pthread_create(&th[t], NULL, run_worker, &ws[t]) == 0;
        }
        for (size_t t = 0; t < threads; t++)
            if (t == 0 || !ran || !ran[t])
                run_worker(&ws[t]);
        for (size_t t = 1; t < threads && ran; t++)
            if (ran[t])
                pthread_join(th[t], NULL);
        free(ran);
        for (size_t i = 0; i < n; i++) {
            doc *d = &docs[i];
            medner__buf_reset(&out);
            if (d->error) {
                if (in.files)
                    fprintf(stderr, "medner annotate: %s: %s\n", in.files[d->line - 1], d->error);
                else
                    fprintf(stderr, "medner annotate: line %zu: %s\n", d->line, d->error);
                status = 1;
                skipped++;
            }
            const char *id_plain = in.files ? in.files[d->line - 1]
                                            : d->id_json ? d->id_json : "null";
            int wrc;
            if (!strcmp(format, "jsonl"))
                wrc = write_jsonl(&out, d, eff.context == MEDNER_ON);
            else if (!strcmp(format, "brat"))
                wrc = write_brat(&out, d, id_plain);
            else if (!strcmp(format, "pretty"))
                wrc = write_pretty(&out, d, id_plain, colour);
            else if (html)
                wrc = write_html(html, &out, d, in.files ? 0 : d->line,
                                 eff.context == MEDNER_ON, &html_ents, &html_cap);
            else
                wrc = write_conll(&out, d);
            if (wrc != MEDNER_OK) {
                fprintf(stderr, "medner annotate: %s %zu: out of memory writing its result\n",
                        in.files ? "file" : "line", d->line);
                fatal = 1;
            } else if (medner_cli_write("annotate", out.data, out.len) != 0) {
                fatal = 1;
            }
            done_docs++;
            done_tokens += medner_entities_num_tokens(d->ents);
            int had_error = d->error != NULL;
            doc_free(d);
            if (fatal || (had_error && fail_fast)) {
                stop = 1;
                for (size_t j = i + 1; j < n; j++)
                    doc_free(&docs[j]);
                break;
            }
        }
        /* results leave as each chunk is done (a stream stays a stream) */
        if (!fatal && medner_cli_flush("annotate") != 0)
            fatal = 1;
        if (progress) {
            double dt = now() - t0;
            double eta = total_bytes && in.consumed
                             ? dt * ((double)total_bytes / (double)in.consumed - 1) : -1;
            fprintf(stderr, "\r[medner] %zu documents, %.1f docs/s, %.0f tokens/s", done_docs,
                    (double)done_docs / dt, (double)done_tokens / dt);
            if (eta >= 0)
                fprintf(stderr, ", ETA %.0f s   ", eta);
            fflush(stderr);
        }
    }
    if (progress)
        fprintf(stderr, "\n");
    if (html && !fatal) { /* also after --on-error fail stopped: the page stays whole */
        medner__buf_reset(&out);
        if (medner_cli_html_footer(html, &out) != MEDNER_OK) {
            fprintf(stderr, "medner annotate: out of memory ending the HTML page\n");
            fatal = 1;
        } else if (medner_cli_write("annotate", out.data, out.len) != 0) {
            fatal = 1;
        }
    }
    medner_cli_html_free(html);
    free(html_ents);
    if (skipped && !fail_fast && !fatal)
        fprintf(stderr, "%zu documents, %zu skipped\n", done_docs, skipped);
    medner__buf_free(&out);
    medner_cli_reader_free(&in.r);
    for (size_t t = 0; ws && t < threads; t++)
        medner_context_free(ws[t].ctx);
    free(ws);
    free(th);
    free(docs);
    medner_pipeline_free(p);
    return fatal ? 1 : status; /* main() flushes stdout and reports a write error */
}
