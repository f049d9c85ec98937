/* medner annotate: documents in, entities out (JSON lines, brat or CoNLL). */
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
    "\n"
    "options:\n"
    "  --format jsonl|brat|conll|pretty  output format\n"
    "  --on-error skip|fail       a bad input line: report it (stderr and an {\"line\": N,\n"
    "                             \"error\": ...} result) and go on (default), or stop\n"
    "  --progress                 documents/s, tokens/s and ETA on stderr (default: when\n"
    "                             stderr is a terminal)\n"
    "A skipped line makes the exit status 1.\n\n";

typedef struct doc {
    char *id_json;      /* the id, already as JSON */
    char *text;         /* NULL for an input error */
    size_t len;
    char *error;        /* input error message */
    size_t line;
    medner_entities *ents;
    int rc;
} doc;

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
            if (d->rc != MEDNER_OK) {
                const char *msg = medner_last_error();
                d->error = strdup(msg);
            }
        }
    }
    return NULL;
}

static int write_jsonl(medner__buf *b, const doc *d)
{
    int rc = medner__buf_append_str(b, "{\"id\":");
    rc = rc ? rc : medner__buf_append_str(b, d->id_json);
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
        rc = rc ? rc : medner__buf_putc(b, '}');
    }
    return rc ? rc : medner__buf_append_str(b, "]}\n");
}

static int write_brat(medner__buf *b, const doc *d, const char *id_plain)
{
    int rc = medner__buf_printf(b, "# doc %s\n", id_plain);
    if (d->error)
        return rc ? rc : medner__buf_printf(b, "# error (line %zu): %s\n", d->line, d->error);
    for (size_t i = 0; i < medner_entities_count(d->ents) && !rc; i++) {
        medner_entity e = MEDNER_ENTITY_INIT;
        size_t cb = 0, ce = 0;
        medner_entities_get(d->ents, i, &e);
        medner_entities_span_codepoints(d->ents, i, &cb, &ce);
        rc = medner__buf_printf(b, "T%zu\t%s %zu %zu\t", i + 1, e.label, cb, ce);
        /* brat keeps one annotation per line: newlines in the span become spaces */
        for (size_t k = e.begin; k < e.end && !rc; k++)
            rc = medner__buf_putc(b, d->text[k] == '\n' || d->text[k] == '\r' ? ' ' : d->text[k]);
        rc = rc ? rc : medner__buf_putc(b, '\n');
    }
    return rc;
}

/* The text with its entities marked: ANSI colours (one per label, chosen
 * by a hash of the label) or [text|Label]; entities never overlap in a
 * result, nested ones are not produced. */
static int write_pretty(medner__buf *b, const doc *d, const char *id_plain, int colour)
{
    static const int palette[] = { 31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96 };
    int rc = colour ? medner__buf_printf(b, "\033[1m== %s\033[0m\n", id_plain)
                    : medner__buf_printf(b, "== %s\n", id_plain);
    if (d->error)
        return rc ? rc : medner__buf_printf(b, "(error, line %zu: %s)\n\n", d->line, d->error);
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
        if (colour)
            rc = rc ? rc : medner__buf_printf(b, "\033[1;%dm", palette[h % 12]);
        else
            rc = rc ? rc : medner__buf_putc(b, '[');
        rc = rc ? rc : medner__buf_append(b, d->text + e.begin, e.end - e.begin);
        if (colour)
            rc = rc ? rc : medner__buf_printf(b, "\033[0;%dm\xE2\x80\xB9%s\xE2\x80\xBA\033[0m",
                                              palette[h % 12], e.label);
        else
            rc = rc ? rc : medner__buf_printf(b, "|%s]", e.label);
        pos = e.end;
    }
    rc = rc ? rc : medner__buf_append(b, d->text + pos, d->len - pos);
    return rc ? rc : medner__buf_append_str(b, d->len && d->text[d->len - 1] == '\n' ? "\n" : "\n\n");
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int write_conll(medner__buf *b, const doc *d)
{
    int rc = MEDNER_OK;
    if (d->error)
        return medner__buf_printf(b, "# error (line %zu): %s\n\n", d->line, d->error);
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
        rc = rc ? rc : medner__buf_printf(b, "\t%s%s\n", tag, label);
    }
    return rc ? rc : medner__buf_putc(b, '\n');
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read the next document: a JSON line from stdin, or the next file. 1 = got
 * one, 0 = end of input. */
static int next_doc(doc *d, FILE *in, char **files, int n_files, int *file_i, size_t *lineno,
                    size_t *consumed)
{
    memset(d, 0, sizeof *d);
    if (files) {
        if (*file_i >= n_files)
            return 0;
        const char *path = files[(*file_i)++];
        medner__buf id = MEDNER__BUF_INIT;
        medner__buf_json_string(&id, path, strlen(path));
        d->id_json = id.data;
        FILE *f = fopen(path, "rb");
        d->line = (size_t)*file_i;
        if (f == NULL) {
            d->error = strdup("cannot open the file");
            return 1;
        }
        medner__buf t = MEDNER__BUF_INIT;
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            medner__buf_append(&t, chunk, got);
        fclose(f);
        d->text = t.data ? t.data : strdup("");
        d->len = t.len;
        *consumed += t.len;
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        (*lineno)++;
        *consumed += (size_t)n;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        d->line = *lineno;
        char where[48];
        snprintf(where, sizeof where, "stdin line %zu", *lineno);
        medner__json_doc *j = NULL;
        const medner__json *text = NULL, *id = NULL;
        if (medner__json_parse(&j, line, len, where) == MEDNER_OK) {
            text = medner__json_get(medner__json_root(j), "text");
            id = medner__json_get(medner__json_root(j), "id");
        }
        medner__buf idb = MEDNER__BUF_INIT;
        if (id && id->type == MEDNER__JSON_STRING)
            medner__buf_json_string(&idb, id->str, id->len);
        else if (id && id->type == MEDNER__JSON_NUMBER && id->is_integer)
            medner__buf_printf(&idb, "%lld", (long long)id->integer);
        else
            medner__buf_printf(&idb, "%zu", *lineno);
        d->id_json = idb.data;
        if (j == NULL)
            d->error = strdup(medner_last_error());
        else if (text == NULL || text->type != MEDNER__JSON_STRING)
            d->error = strdup("expected an object with a \"text\" string");
        else if (id && !(id->type == MEDNER__JSON_STRING ||
                         (id->type == MEDNER__JSON_NUMBER && id->is_integer)))
            d->error = strdup("\"id\" must be a string or an integer");
        if (d->error == NULL) {
            d->text = malloc(text->len + 1);
            memcpy(d->text, text->str, text->len + 1);
            d->len = text->len;
        }
        medner__json_free(j);
        free(line);
        return 1;
    }
    free(line);
    return 0;
}

int medner_cli_annotate(int argc, char **argv)
{
    medner_cli_options o;
    medner_cli_options_init(&o);
    const char *format = "jsonl";
    int fail_fast = 0, progress = isatty(STDERR_FILENO), status = 0;
    int colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    char **files = NULL;
    int n_files = 0;
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
                strcmp(format, "pretty")) {
                fprintf(stderr, "medner annotate: --format jsonl|brat|conll|pretty\n");
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
        } else if (!strcmp(a, "--progress")) {
            progress = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "medner annotate: unknown option '%s'\n%s", a, annotate_usage);
            medner_cli_options_free(&o);
            return 2;
        } else {
            /* a file: argv is ours to reorder, so collect files at the front */
            if (files == NULL)
                files = argv + 1;
            files[n_files++] = argv[i];
        }
    }
    medner_pipeline *p = NULL;
    int rc = medner_cli_pipeline_create("annotate", &o, &p);
    medner_cli_options_free(&o);
    if (rc)
        return rc;
    medner_pipeline_params eff = MEDNER_PIPELINE_PARAMS_INIT;
    medner_pipeline_get_params(p, &eff);
    size_t threads = eff.threads ? eff.threads : 1;
    size_t batch = eff.batch_size < 64 ? eff.batch_size : 64;
    size_t chunk = threads * batch * 4;
    worker *ws = calloc(threads, sizeof *ws);
    doc *docs = calloc(chunk, sizeof *docs);
    for (size_t t = 0; t < threads && ws && docs; t++) {
        ws[t].p = p;
        ws[t].batch = batch;
        if (medner_pipeline_context_create(&ws[t].ctx, p) != MEDNER_OK) {
            medner_cli_error("annotate", MEDNER_E_OUT_OF_MEMORY, NULL);
            status = 1;
        }
    }
    size_t total_bytes = 0, consumed = 0, done_docs = 0, done_tokens = 0, lineno = 0;
    struct stat st;
    if (files) {
        for (int f = 0; f < n_files; f++)
            if (stat(files[f], &st) == 0)
                total_bytes += (size_t)st.st_size;
    } else if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
        total_bytes = (size_t)st.st_size;
    }
    int file_i = 0, eof = 0;
    double t0 = now();
    medner__buf out = MEDNER__BUF_INIT;
    while (!eof && status == 0 && ws && docs) {
        size_t n = 0;
        while (n < chunk && next_doc(&docs[n], stdin, files, n_files, &file_i, &lineno, &consumed))
            n++;
        if (n < chunk)
            eof = 1;
        if (n == 0)
            break;
        pthread_t th[256];
        size_t per = (n + threads - 1) / threads, started = 0;
        for (size_t t = 0; t < threads && t < 256; t++) {
            size_t a = t * per;
            ws[t].docs = docs + a;
            ws[t].n = a < n ? (n - a < per ? n - a : per) : 0;
            if (threads == 1)
                run_worker(&ws[t]);
            else if (pthread_create(&th[t], NULL, run_worker, &ws[t]) == 0)
                started = t + 1;
            else
                run_worker(&ws[t]);
        }
        for (size_t t = 0; t < started; t++)
            pthread_join(th[t], NULL);
        for (size_t i = 0; i < n; i++) {
            doc *d = &docs[i];
            medner__buf_reset(&out);
            if (d->error) {
                fprintf(stderr, "medner annotate: %s %zu: %s\n", files ? "file" : "line", d->line,
                        d->error);
                status = 1;
            }
            if (!strcmp(format, "jsonl"))
                write_jsonl(&out, d);
            else if (!strcmp(format, "brat"))
                write_brat(&out, d, files && d->line ? files[d->line - 1] : d->id_json);
            else if (!strcmp(format, "pretty"))
                write_pretty(&out, d, files && d->line ? files[d->line - 1] : d->id_json,
                             colour);
            else
                write_conll(&out, d);
            fwrite(out.data, 1, out.len, stdout);
            done_docs++;
            done_tokens += medner_entities_num_tokens(d->ents);
            medner_entities_free(d->ents);
            free(d->text);
            free(d->id_json);
            int had_error = d->error != NULL;
            free(d->error);
            memset(d, 0, sizeof *d);
            if (had_error && fail_fast) {
                eof = 1;
                for (size_t j = i + 1; j < n; j++) {
                    medner_entities_free(docs[j].ents);
                    free(docs[j].text);
                    free(docs[j].id_json);
                    free(docs[j].error);
                }
                break;
            }
        }
        if (progress) {
            double dt = now() - t0;
            double eta = total_bytes && consumed ? dt * ((double)total_bytes / (double)consumed - 1) : -1;
            fprintf(stderr, "\r[medner] %zu documents, %.1f docs/s, %.0f tokens/s", done_docs,
                    (double)done_docs / dt, (double)done_tokens / dt);
            if (eta >= 0)
                fprintf(stderr, ", ETA %.0f s   ", eta);
            fflush(stderr);
        }
    }
    if (progress)
        fprintf(stderr, "\n");
    medner__buf_free(&out);
    for (size_t t = 0; ws && t < threads; t++)
        medner_context_free(ws[t].ctx);
    free(ws);
    free(docs);
    medner_pipeline_free(p);
    if (fflush(stdout) != 0)
        return 1;
    return status;
}
