/* medner logits DIR: per-token logits (and hidden states) for checking
 * against PyTorch. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "json/json.h"

static const char logits_usage[] =
    "usage: medner logits DIR [--adapter DIR] [--hidden] [--no-logits]\n"
    "                         [--precision fp32|bf16|int8|auto]\n"
    "\n"
    "Reads JSON lines {\"text\": \"...\"} on stdin, tokenizes each text with DIR's\n"
    "tokenizer ([CLS] ... [SEP], no truncation: a text longer than the model's\n"
    "positions is an error line) and writes one JSON line per input:\n"
    "  {\"ids\": [...], \"tokens\": [...], \"offsets\": [[b,e],...], \"logits\": [[...],...]}\n"
    "--hidden adds \"hidden\" (final hidden states, one row per token).\n"
    "--adapter: a PEFT LoRA adapter merged into DIR at load (its head, if any, gives the\n"
    "logits; the tokenizer stays DIR's).\n"
    "--precision: arithmetic of the encoder's products (default fp32; docs/precision.md).\n"
    "A line that fails gives {\"line\": N, \"error\": \"...\"} and exit status 1.\n";

static int write_matrix(medner__buf *b, const char *name, const float *m, size_t rows,
                        size_t cols)
{
    int rc = medner__buf_printf(b, ",\"%s\":[", name);
    for (size_t r = 0; r < rows && !rc; r++) {
        rc = medner__buf_append_str(b, r ? ",[" : "[");
        for (size_t k = 0; k < cols && !rc; k++) {
            if (k)
                rc = medner__buf_putc(b, ',');
            rc = rc ? rc : medner__buf_json_double(b, (double)m[r * cols + k]);
        }
        rc = rc ? rc : medner__buf_putc(b, ']');
    }
    return rc ? rc : medner__buf_putc(b, ']');
}

int medner_cli_logits(int argc, char **argv)
{
    const char *dir = NULL;
    int hidden = 0, logits = 1;
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(logits_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--hidden")) {
            hidden = 1;
        } else if (!strcmp(argv[i], "--no-logits")) {
            logits = 0;
        } else if (!strcmp(argv[i], "--adapter")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "medner logits: --adapter needs a directory\n");
                return 2;
            }
            ep.adapter_dir = argv[++i];
        } else if (!strcmp(argv[i], "--precision")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "medner logits: --precision needs fp32, bf16, int8 or auto\n");
                return 2;
            }
            if (medner_cli_precision("logits", argv[++i], &ep.precision))
                return 2;
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            fprintf(stderr, "medner logits: unexpected argument '%s'\n%s", argv[i], logits_usage);
            return 2;
        }
    }
    if (dir == NULL) {
        fputs(logits_usage, stderr);
        return 2;
    }
    medner_encoder *e = NULL;
    medner_tokenizer *t = NULL;
    medner_context *c = NULL;
    int rc = medner_encoder_load(&e, dir, &ep);
    if (rc == MEDNER_OK)
        rc = medner_tokenizer_load(&t, dir, NULL);
    if (rc == MEDNER_OK)
        rc = medner_context_create(&c, e);
    if (rc != MEDNER_OK) {
        medner_cli_error("logits", rc, NULL);
        medner_context_free(c);
        medner_tokenizer_free(t);
        medner_encoder_free(e);
        return 1;
    }
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    medner_encoder_get_info(e, &info);
    medner_cli_reader r = MEDNER_CLI_READER_INIT;
    medner__json_doc *doc;
    const medner__json *text;
    int status = 0;
    medner__buf out = MEDNER__BUF_INIT;
    while (medner_cli_next_text(&r, stdin, &doc, &text, &rc)) {
        medner_encoding *enc = NULL;
        if (rc == MEDNER_OK)
            rc = medner_tokenizer_encode(&enc, t, text->str, text->len, NULL);
        medner_window w = MEDNER_WINDOW_INIT;
        if (rc == MEDNER_OK)
            rc = medner_encoding_window(enc, 0, &w);
        if (rc == MEDNER_OK) {
            const int32_t *ids = w.ids;
            rc = medner_encoder_run(c, &ids, NULL, &w.length, 1);
        }
        medner__buf_reset(&out);
        if (rc == MEDNER_OK) {
            int wr = medner__buf_append_str(&out, "{\"ids\":[");
            for (size_t k = 0; k < w.length && !wr; k++)
                wr = medner__buf_printf(&out, "%s%d", k ? "," : "", w.ids[k]);
            wr = wr ? wr : medner__buf_append_str(&out, "],\"tokens\":[");
            for (size_t k = 0; k < w.length && !wr; k++) {
                const char *s = medner_tokenizer_id_to_token(t, w.ids[k]);
                wr = k ? medner__buf_putc(&out, ',') : 0;
                wr = wr ? wr : medner__buf_json_string(&out, s ? s : "", s ? strlen(s) : 0);
            }
            wr = wr ? wr : medner__buf_append_str(&out, "],\"offsets\":[");
            for (size_t k = 0; k < w.length && !wr; k++)
                wr = medner__buf_printf(&out, "%s[%zu,%zu]", k ? "," : "", w.offsets[2 * k],
                                        w.offsets[2 * k + 1]);
            wr = wr ? wr : medner__buf_putc(&out, ']');
            const float *lg = medner_context_logits(c, 0);
            if (!wr && logits && lg)
                wr = write_matrix(&out, "logits", lg, w.length, info.num_labels);
            if (!wr && hidden)
                wr = write_matrix(&out, "hidden", medner_context_hidden(c, 0), w.length,
                                  info.hidden_size);
            wr = wr ? wr : medner__buf_append_str(&out, "}\n");
            rc = wr;
        }
        if (rc != MEDNER_OK) {
            medner_cli_error_line(&out, "logits", r.lineno, medner_last_error());
            status = 1;
        }
        int wfail = medner_cli_write("logits", out.data, out.len);
        medner_encoding_free(enc);
        medner__json_free(doc);
        if (wfail) {
            status = 1;
            break;
        }
    }
    medner_cli_reader_free(&r);
    medner__buf_free(&out);
    medner_context_free(c);
    medner_tokenizer_free(t);
    medner_encoder_free(e);
    return status;
}
