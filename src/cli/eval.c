/* medner eval: entity-level precision/recall/F1 on a CoNLL file, computed
 * exactly as seqeval (default mode) does (src/eval, docs/eval.md). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "eval/eval.h"
#include "json/json.h"

static const char eval_usage[] =
    "usage: medner eval (--config FILE | --model DIR) --data FILE.tsv [options]\n"
    "\n"
    "Annotates every sentence of a CoNLL file (TOKEN<TAB>TAG lines, a blank line\n"
    "after each sentence; the tokens joined by single spaces are the text) and\n"
    "prints entity-level precision, recall and F1 per type and micro/macro/weighted\n"
    "averages, identical to seqeval's classification_report (default mode).\n"
    "A token is tagged B-X/I-X when a predicted entity of type X overlaps it.\n"
    "\n"
    "options:\n"
    "  --data FILE.tsv        the CoNLL file (required)\n"
    "  --json                 print the report as JSON\n"
    "  --digits N             digits of the table (default 4)\n"
    "  --predictions FILE     also write TOKEN<TAB>GOLD<TAB>PREDICTED lines to FILE\n\n";

int medner_cli_eval(int argc, char **argv)
{
    medner_cli_options o;
    medner_cli_options_init(&o);
    const char *data = NULL, *pred_path = NULL;
    int json = 0;
    unsigned digits = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = medner_cli_pipeline_option("eval", &o, argc, argv, &i);
        if (r == 1) {
            medner_cli_options_free(&o);
            return 2;
        }
        if (r == 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s%s", eval_usage, medner_cli_pipeline_help);
            medner_cli_options_free(&o);
            return 0;
        } else if (!strcmp(a, "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(a, "--predictions") && i + 1 < argc) {
            pred_path = argv[++i];
        } else if (!strcmp(a, "--digits") && i + 1 < argc) {
            if (medner_cli_uint("eval", a, argv[++i], &digits) || digits > 10) {
                medner_cli_options_free(&o);
                return 2;
            }
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "medner eval: unknown option '%s'\n%s", a, eval_usage);
            medner_cli_options_free(&o);
            return 2;
        }
    }
    if (data == NULL) {
        fprintf(stderr, "medner eval: --data FILE.tsv is required\n%s", eval_usage);
        medner_cli_options_free(&o);
        return 2;
    }
    medner__conll *conll = NULL;
    int rc = medner__conll_read(&conll, data);
    if (rc != MEDNER_OK) {
        medner_cli_error("eval", rc, NULL);
        medner_cli_options_free(&o);
        return 1;
    }
    medner_pipeline *p = NULL;
    int status = medner_cli_pipeline_create("eval", &o, &p);
    medner_cli_options_free(&o);
    if (status) {
        medner__conll_free(conll);
        return status;
    }
    medner_context *ctx = NULL;
    medner__eval *ev = NULL;
    size_t N = conll->num_tokens, S = conll->num_sentences;
    char **pred = calloc(N ? N : 1, sizeof *pred);
    size_t *tb = malloc((N ? N : 1) * sizeof *tb), *te = malloc((N ? N : 1) * sizeof *te);
    rc = medner_pipeline_context_create(&ctx, p);
    if (rc == MEDNER_OK)
        rc = medner__eval_create(&ev);
    FILE *pf = NULL;
    if (rc == MEDNER_OK && pred_path && (pf = fopen(pred_path, "w")) == NULL) {
        fprintf(stderr, "medner eval: cannot write %s\n", pred_path);
        status = 1;
    }
    const size_t chunk = 64;
    for (size_t s0 = 0; rc == MEDNER_OK && !status && pred && tb && te && s0 < S; s0 += chunk) {
        size_t ns = S - s0 < chunk ? S - s0 : chunk;
        medner__buf texts[64];
        const char *tx[64];
        size_t lens[64];
        for (size_t k = 0; k < ns; k++) {
            medner__buf b = MEDNER__BUF_INIT;
            for (size_t t = conll->sentence_start[s0 + k]; t < conll->sentence_start[s0 + k + 1]; t++) {
                if (b.len)
                    medner__buf_putc(&b, ' ');
                tb[t] = b.len;
                medner__buf_append_str(&b, conll->tokens[t]);
                te[t] = b.len;
            }
            texts[k] = b;
            tx[k] = b.data ? b.data : "";
            lens[k] = b.len;
        }
        medner_entities *res[64];
        rc = medner_pipeline_annotate(res, p, ctx, tx, lens, ns);
        for (size_t k = 0; rc == MEDNER_OK && k < ns; k++) {
            size_t a = conll->sentence_start[s0 + k], z = conll->sentence_start[s0 + k + 1];
            for (size_t t = a; t < z; t++)
                pred[t] = strdup("O");
            for (size_t i = 0; i < medner_entities_count(res[k]); i++) {
                medner_entity e = MEDNER_ENTITY_INIT;
                medner_entities_get(res[k], i, &e);
                int first = 1;
                for (size_t t = a; t < z; t++) {
                    if (te[t] <= e.begin || tb[t] >= e.end)
                        continue;
                    if (strcmp(pred[t], "O") == 0) { /* a token keeps its first entity */
                        size_t l = strlen(e.label) + 3;
                        char *tag = malloc(l);
                        snprintf(tag, l, "%s-%s", first ? "B" : "I", e.label);
                        free(pred[t]);
                        pred[t] = tag;
                    }
                    first = 0;
                }
            }
            rc = medner__eval_add_sentence(ev, conll->tags + a, (const char *const *)pred + a,
                                           z - a);
            if (pf)
                for (size_t t = a; t < z; t++)
                    fprintf(pf, "%s\t%s\t%s\n", conll->tokens[t], conll->tags[t], pred[t]);
            if (pf)
                fputc('\n', pf);
            medner_entities_free(res[k]);
        }
        for (size_t k = 0; k < ns; k++)
            medner__buf_free(&texts[k]);
    }
    if (rc == MEDNER_OK && !status) {
        medner__eval_report *rep = NULL;
        medner__buf out = MEDNER__BUF_INIT;
        rc = medner__eval_report_create(&rep, ev);
        if (rc == MEDNER_OK)
            rc = json ? medner__eval_report_json(&out, rep)
                      : medner__eval_report_text(&out, rep, (int)digits);
        if (rc == MEDNER_OK) {
            fwrite(out.data, 1, out.len, stdout);
            if (json)
                putchar('\n');
        }
        medner__buf_free(&out);
        medner__eval_report_free(rep);
    }
    if (rc != MEDNER_OK) {
        medner_cli_error("eval", rc, NULL);
        status = 1;
    }
    if (pf)
        fclose(pf);
    for (size_t t = 0; pred && t < N; t++)
        free(pred[t]);
    free(pred);
    free(tb);
    free(te);
    medner__eval_free(ev);
    medner_context_free(ctx);
    medner_pipeline_free(p);
    medner__conll_free(conll);
    return status;
}
