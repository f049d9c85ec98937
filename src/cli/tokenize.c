/* medner tokenize: JSON lines {"text": ...} in, one JSON line of tokens out. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "json/json.h"

static const char tokenize_usage[] =
    "usage: medner tokenize (--model DIR | --vocab FILE [--lowercase|--no-lowercase])\n"
    "                       [--max-length N [--overlap N]] [--no-special-tokens]\n"
    "\n"
    "Reads JSON lines {\"text\": \"...\"} on stdin and writes one JSON line per input:\n"
    "  {\"ids\": [...], \"tokens\": [...], \"offsets\": [[begin,end],...], \"type_ids\": [...],\n"
    "   \"attention_mask\": [...], \"special_tokens_mask\": [...], \"word_ids\": [...]}\n"
    "Offsets are UTF-8 byte offsets into the text; [CLS]/[SEP] have [0,0] and word id null.\n"
    "With --max-length, the top-level fields hold the first window and \"overflowing\"\n"
    "the following ones (Hugging Face's stride semantics: --overlap tokens shared).\n"
    "A line that cannot be tokenized gives {\"line\": N, \"error\": \"...\"} and exit status 1.\n";

static int write_window(medner__buf *b, const medner_tokenizer *t, const medner_window *w)
{
    int rc = medner__buf_append_str(b, "\"ids\":[");
    for (size_t k = 0; k < w->length && !rc; k++)
        rc = medner__buf_printf(b, "%s%d", k ? "," : "", w->ids[k]);
    rc = rc ? rc : medner__buf_append_str(b, "],\"tokens\":[");
    for (size_t k = 0; k < w->length && !rc; k++) {
        const char *s = medner_tokenizer_id_to_token(t, w->ids[k]);
        if (k)
            rc = medner__buf_putc(b, ',');
        rc = rc ? rc : medner__buf_json_string(b, s ? s : "", s ? strlen(s) : 0);
    }
    rc = rc ? rc : medner__buf_append_str(b, "],\"offsets\":[");
    for (size_t k = 0; k < w->length && !rc; k++)
        rc = medner__buf_printf(b, "%s[%zu,%zu]", k ? "," : "", w->offsets[2 * k],
                                w->offsets[2 * k + 1]);
    rc = rc ? rc : medner__buf_append_str(b, "],\"type_ids\":[");
    for (size_t k = 0; k < w->length && !rc; k++)
        rc = medner__buf_printf(b, "%s%d", k ? "," : "", w->type_ids[k]);
    rc = rc ? rc : medner__buf_append_str(b, "],\"attention_mask\":[");
    for (size_t k = 0; k < w->length && !rc; k++)
        rc = medner__buf_printf(b, "%s%d", k ? "," : "", w->attention_mask[k]);
    rc = rc ? rc : medner__buf_append_str(b, "],\"special_tokens_mask\":[");
    for (size_t k = 0; k < w->length && !rc; k++)
        rc = medner__buf_printf(b, "%s%d", k ? "," : "", w->special_mask[k]);
    rc = rc ? rc : medner__buf_append_str(b, "],\"word_ids\":[");
    for (size_t k = 0; k < w->length && !rc; k++) {
        if (w->word_ids[k] < 0)
            rc = medner__buf_printf(b, "%snull", k ? "," : "");
        else
            rc = medner__buf_printf(b, "%s%d", k ? "," : "", w->word_ids[k]);
    }
    return rc ? rc : medner__buf_putc(b, ']');
}

static int write_encoding(medner__buf *b, const medner_tokenizer *t, const medner_encoding *e)
{
    medner_window w = MEDNER_WINDOW_INIT;
    int rc = medner__buf_putc(b, '{');
    rc = rc ? rc : medner_encoding_window(e, 0, &w);
    rc = rc ? rc : write_window(b, t, &w);
    size_t n = medner_encoding_num_windows(e);
    if (n > 1) {
        rc = rc ? rc : medner__buf_append_str(b, ",\"overflowing\":[");
        for (size_t k = 1; k < n && !rc; k++) {
            rc = medner__buf_append_str(b, k > 1 ? ",{" : "{");
            rc = rc ? rc : medner_encoding_window(e, k, &w);
            rc = rc ? rc : write_window(b, t, &w);
            rc = rc ? rc : medner__buf_putc(b, '}');
        }
        rc = rc ? rc : medner__buf_putc(b, ']');
    }
    return rc ? rc : medner__buf_append_str(b, "}\n");
}

int medner_cli_tokenize(int argc, char **argv)
{
    const char *model = NULL, *vocab = NULL;
    medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(tokenize_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--model") && next) {
            model = next;
            i++;
        } else if (!strcmp(a, "--vocab") && next) {
            vocab = next;
            i++;
        } else if (!strcmp(a, "--lowercase")) {
            tp.lowercase = MEDNER_ON;
        } else if (!strcmp(a, "--no-lowercase")) {
            tp.lowercase = MEDNER_OFF;
        } else if (!strcmp(a, "--no-special-tokens")) {
            ep.special_tokens = MEDNER_OFF;
        } else if (!strcmp(a, "--max-length") && next) {
            if (medner_cli_uint("tokenize", a, next, &v))
                return 2;
            ep.max_length = v;
            i++;
        } else if (!strcmp(a, "--overlap") && next) {
            if (medner_cli_uint("tokenize", a, next, &v))
                return 2;
            ep.overlap = v;
            i++;
        } else {
            fprintf(stderr, "medner tokenize: unknown or incomplete option '%s'\n%s", a,
                    tokenize_usage);
            return 2;
        }
    }
    if ((model == NULL) == (vocab == NULL)) {
        fprintf(stderr, "medner tokenize: give exactly one of --model DIR or --vocab FILE\n%s",
                tokenize_usage);
        return 2;
    }
    medner_tokenizer *t = NULL;
    int rc = model ? medner_tokenizer_load(&t, model, &tp)
                   : medner_tokenizer_load_vocab(&t, vocab, &tp);
    if (rc != MEDNER_OK) {
        medner_cli_error("tokenize", rc, NULL);
        return 1;
    }
    /* Validate the window options once, before reading input. */
    medner_encoding *probe = NULL;
    rc = medner_tokenizer_encode(&probe, t, "", 0, &ep);
    medner_encoding_free(probe);
    if (rc != MEDNER_OK) {
        medner_cli_error("tokenize", rc, NULL);
        medner_tokenizer_free(t);
        return 2;
    }
    medner_cli_reader r = MEDNER_CLI_READER_INIT;
    medner__json_doc *doc;
    const medner__json *text;
    int status = 0;
    medner__buf out = MEDNER__BUF_INIT;
    while (medner_cli_next_text(&r, stdin, &doc, &text, &rc)) {
        medner_encoding *e = NULL;
        if (rc == MEDNER_OK)
            rc = medner_tokenizer_encode(&e, t, text->str, text->len, &ep);
        medner__buf_reset(&out);
        if (rc == MEDNER_OK)
            rc = write_encoding(&out, t, e);
        if (rc != MEDNER_OK) {
            medner_cli_error_line(&out, "tokenize", r.lineno, medner_last_error());
            status = 1;
        }
        medner_encoding_free(e);
        medner__json_free(doc);
        if (medner_cli_write("tokenize", out.data, out.len) != 0) {
            status = 1;
            break;
        }
    }
    medner_cli_reader_free(&r);
    medner__buf_free(&out);
    medner_tokenizer_free(t);
    return status; /* main() flushes stdout and reports a write error */
}
