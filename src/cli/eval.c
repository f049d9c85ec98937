/* medner eval: entity-level precision/recall/F1 on a CoNLL file, computed
 * exactly as seqeval (default mode) does (src/eval, docs/eval.md).
 *
 * The predicted entities are exactly the ones the pipeline returns for each
 * sentence's text (byte spans + labels), for every aggregation. To score them
 * with seqeval's tag-based algorithm without changing them, each sentence is
 * projected onto "pieces": the CoNLL tokens, split wherever a predicted entity
 * begins or ends inside a token. On pieces every predicted entity and every
 * gold entity is a run of whole pieces, so seqeval's entity match on the
 * piece tags is the exact (type, begin, end) match of the spans; with
 * word-aligned predictions pieces are the tokens themselves (docs/eval.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/common.h"
#include "eval/eval.h"
#include "json/json.h"

static const char eval_usage[] =
    "usage: medner eval (--config FILE | --model DIR | --base DIR --adapter DIR)\n"
    "                   --data FILE.tsv [options]\n"
    "\n"
    "Annotates every sentence of a CoNLL file (TOKEN<TAB>TAG lines, a blank line\n"
    "after each sentence; the tokens joined by single spaces are the text) and\n"
    "prints entity-level precision, recall and F1 per type and micro/macro/weighted\n"
    "averages, identical to seqeval's classification_report (default mode).\n"
    "The predicted entities are exactly those `medner annotate` returns, for every\n"
    "--aggregation; a prediction matches a gold entity when type, start and end\n"
    "are equal. A token that a predicted entity begins or ends inside is split\n"
    "there into pieces (counted on stderr and in the JSON, see docs/eval.md).\n"
    "\n"
    "options:\n"
    "  --data FILE.tsv        the CoNLL file (required)\n"
    "  --base DIR             base model directory (same as --model)\n"
    "  --adapter DIR          PEFT LoRA adapter applied to the base model\n"
    "  --json                 print the report as JSON\n"
    "  --digits N             digits of the table (default 4)\n"
    "  --predictions FILE     also write PIECE<TAB>GOLD<TAB>PREDICTED lines to FILE\n"
    "                         (it holds the text: created with mode 0600, an existing\n"
    "                         regular file is overwritten and set to 0600, a symbolic\n"
    "                         link or a non-regular file is refused)\n\n";

/* Open the predictions file (patient text) without following a symbolic link
 * at its last component; a new file gets mode 0600; an existing regular file
 * owned by us is set to 0600 before it is truncated; anything else is
 * refused. NULL with a message on stderr on failure. */
static FILE *open_predictions(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        if (errno == ELOOP)
            fprintf(stderr, "medner eval: --predictions %s: is a symbolic link; refusing to "
                            "write patient text through it\n", path);
        else
            fprintf(stderr, "medner eval: --predictions %s: cannot open: %s\n", path,
                    strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)
        why = "cannot restrict its permissions to 0600";
    else if (ftruncate(fd, 0) != 0)
        why = strerror(errno);
    else if (fcntl(fd, F_SETFL, 0) != 0) /* back to blocking writes */
        why = strerror(errno);
    FILE *f = why ? NULL : fdopen(fd, "w");
    if (f == NULL) {
        if (why == NULL)
            why = strerror(errno);
        fprintf(stderr, "medner eval: --predictions %s: %s\n", path, why);
        close(fd);
    }
    return f;
}

/* Counts of what the projection onto pieces had to split. */
typedef struct split_counts {
    size_t predicted;      /* predicted entities */
    size_t cutting;        /* predicted entities that begin or end inside a CoNLL token */
    size_t tokens_split;   /* CoNLL tokens split into 2 or more pieces */
} split_counts;

/* Prefix letter of the tag that piece k of K gets when its whole token (or
 * predicted unit) has prefix `p`: the piece tags give seqeval's scan the same
 * entities as the single tag did (docs/eval.md). */
static char piece_prefix(char p, size_t k, size_t K)
{
    switch (p) {
    case 'B':
        return k == 0 ? 'B' : 'I';
    case 'E':
        return k + 1 == K ? 'E' : 'I';
    case 'S':
        return K == 1 ? 'S' : k == 0 ? 'B' : k + 1 == K ? 'E' : 'I';
    default: /* I, O, and L/U (no seqeval rule: repeating them changes nothing) */
        return p;
    }
}

/* Append "O" or "P-TYPE" and its NUL to buf; *off gets its offset. */
static int put_tag(medner__buf *buf, size_t *off, char p, const char *type)
{
    *off = buf->len;
    int rc = p == 'O' ? medner__buf_append(buf, "O", 2)
                      : medner__buf_printf(buf, "%c-%s", p, type);
    if (rc == MEDNER_OK && p != 'O')
        rc = medner__buf_putc(buf, '\0');
    return rc;
}

/* A label as a tag: (prefix, type). Used for the per-token labels of
 * aggregation "none" ("B-Disease"); any other label L is I-L, as Hugging
 * Face's grouping reads it. */
static void label_tag(const char *label, int is_none, char *p, const char **type)
{
    if (!is_none) {
        *p = 'B';
        *type = label;
    } else if (strcmp(label, "O") == 0) {
        *p = 'O';
        *type = "";
    } else if (strchr("BIESLU", label[0]) && label[0] && label[1] == '-' && label[2]) {
        *p = label[0];
        *type = label + 2;
    } else {
        *p = 'I';
        *type = label;
    }
}

/* Score one sentence: tokens [a, z) of the file, its text (tokens joined by
 * spaces; token t at [tb[t], te[t])), the pipeline's entities for it. */
static int score_sentence(medner__eval *ev, FILE *pf, const medner__conll *conll, size_t a,
                          size_t z, const char *text, size_t text_len, const size_t *tb,
                          const size_t *te, const medner_entities *res, int is_none,
                          split_counts *sc)
{
    size_t ne = medner_entities_count(res), nw = z - a;
    size_t maxp = nw + 2 * ne + 1;
    medner_entity *ents = calloc(ne ? ne : 1, sizeof *ents);
    size_t *bnd = malloc((2 * ne + 1) * sizeof *bnd);
    size_t *pb = malloc(maxp * sizeof *pb), *pe = malloc(maxp * sizeof *pe);
    size_t *goff = malloc(maxp * sizeof *goff);
    size_t *poff = malloc(maxp * sizeof *poff);
    const char **gold = malloc(maxp * sizeof *gold), **pred = malloc(maxp * sizeof *pred);
    size_t *first_piece = malloc((ne ? ne : 1) * sizeof *first_piece);
    size_t *n_pieces = calloc(ne ? ne : 1, sizeof *n_pieces);
    medner__buf tags = MEDNER__BUF_INIT;
    int rc = MEDNER_OK;
    if (!ents || !bnd || !pb || !pe || !goff || !poff || !gold || !pred || !first_piece ||
        !n_pieces) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "eval: out of memory");
        goto done;
    }
    size_t sentence = nw ? conll->lines[a] : 0; /* its first line, for messages */
    /* the entities, in text order, must be disjoint non-empty spans inside the text */
    for (size_t i = 0; i < ne; i++) {
        medner_entity e = MEDNER_ENTITY_INIT;
        if ((rc = medner_entities_get(res, i, &e)) != MEDNER_OK)
            goto done;
        if (e.begin >= e.end || e.end > text_len || (i > 0 && e.begin < ents[i - 1].end)) {
            rc = medner__fail(MEDNER_E_INTERNAL,
                              "sentence at line %zu: predicted entities %zu [%zu, %zu) overlap "
                              "or are empty; eval cannot score them as tags", sentence, i,
                              e.begin, e.end);
            goto done;
        }
        ents[i] = e;
        bnd[2 * i] = e.begin;
        bnd[2 * i + 1] = e.end;
    }
    /* pieces: each token split at the entity boundaries strictly inside it */
    size_t np = 0, j = 0;
    for (size_t t = a; t < z; t++) {
        size_t start = np, from = tb[t];
        while (j < 2 * ne && bnd[j] <= tb[t])
            j++;
        for (; j < 2 * ne && bnd[j] < te[t]; j++) {
            if (bnd[j] == from)
                continue;
            pb[np] = from;
            pe[np++] = bnd[j];
            from = bnd[j];
        }
        pb[np] = from;
        pe[np++] = te[t];
        size_t K = np - start;
        if (K > 1)
            sc->tokens_split++;
        const char *g = conll->tags[t];
        for (size_t k = 0; k < K; k++)
            if ((rc = put_tag(&tags, &goff[start + k], piece_prefix(g[0], k, K),
                              g[0] == 'O' ? "" : g + 2)) != MEDNER_OK)
                goto done;
    }
    /* the pieces of each entity (a run of whole pieces, by construction) */
    size_t p = 0;
    for (size_t i = 0; i < ne; i++) {
        while (p < np && pe[p] <= ents[i].begin)
            p++;
        first_piece[i] = p;
        for (size_t q = p; q < np && pb[q] < ents[i].end; q++)
            n_pieces[i]++;
        if (n_pieces[i] == 0) {
            rc = medner__fail(MEDNER_E_INTERNAL,
                              "sentence at line %zu: predicted entity [%zu, %zu) covers no token",
                              sentence, ents[i].begin, ents[i].end);
            goto done;
        }
        int cuts = 0;
        for (size_t t = a; t < z; t++)
            cuts |= (tb[t] < ents[i].begin && ents[i].begin < te[t]) ||
                    (tb[t] < ents[i].end && ents[i].end < te[t]);
        sc->cutting += cuts != 0;
        sc->predicted++;
    }
    for (size_t q = 0; q < np; q++)
        poff[q] = SIZE_MAX;
    for (size_t i = 0; i < ne; i++) {
        char pfx;
        const char *type;
        label_tag(ents[i].label, is_none, &pfx, &type);
        for (size_t k = 0; k < n_pieces[i]; k++)
            if ((rc = put_tag(&tags, &poff[first_piece[i] + k],
                              piece_prefix(pfx, k, n_pieces[i]), type)) != MEDNER_OK)
                goto done;
    }
    for (size_t q = 0; q < np; q++)
        if (poff[q] == SIZE_MAX && (rc = put_tag(&tags, &poff[q], 'O', "")) != MEDNER_OK)
            goto done;
    for (size_t q = 0; q < np; q++) { /* tags.data no longer moves */
        gold[q] = tags.data + goff[q];
        pred[q] = tags.data + poff[q];
    }
    if ((rc = medner__eval_add_sentence(ev, gold, pred, np)) != MEDNER_OK)
        goto done;
    if (pf) {
        for (size_t q = 0; q < np; q++)
            fprintf(pf, "%.*s\t%s\t%s\n", (int)(pe[q] - pb[q]), text + pb[q], gold[q], pred[q]);
        fputc('\n', pf);
    }
done:
    medner__buf_free(&tags);
    free(ents);
    free(bnd);
    free(pb);
    free(pe);
    free(goff);
    free(poff);
    free(gold);
    free(pred);
    free(first_piece);
    free(n_pieces);
    return rc;
}

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
            return medner_cli_flush("eval");
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
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    int is_none = medner_pipeline_get_params(p, &pp) == MEDNER_OK && pp.decoder &&
                  pp.decoder->aggregation == MEDNER_AGGREGATION_NONE;
    medner_context *ctx = NULL;
    medner__eval *ev = NULL;
    size_t N = conll->num_tokens, S = conll->num_sentences;
    size_t *tb = malloc((N ? N : 1) * sizeof *tb), *te = malloc((N ? N : 1) * sizeof *te);
    split_counts sc = { 0, 0, 0 };
    rc = tb && te ? medner_pipeline_context_create(&ctx, p)
                  : medner__fail(MEDNER_E_OUT_OF_MEMORY, "eval: out of memory");
    if (rc == MEDNER_OK)
        rc = medner__eval_create(&ev);
    FILE *pf = NULL;
    if (rc == MEDNER_OK && pred_path && (pf = open_predictions(pred_path)) == NULL)
        status = 1;
    enum { CHUNK = 64 };
    for (size_t s0 = 0; rc == MEDNER_OK && !status && s0 < S; s0 += CHUNK) {
        size_t ns = S - s0 < CHUNK ? S - s0 : CHUNK;
        medner__buf texts[CHUNK];
        const char *tx[CHUNK];
        size_t lens[CHUNK];
        for (size_t k = 0; k < ns; k++) {
            medner__buf b = MEDNER__BUF_INIT;
            for (size_t t = conll->sentence_start[s0 + k];
                 rc == MEDNER_OK && t < conll->sentence_start[s0 + k + 1]; t++) {
                if (b.len)
                    rc = medner__buf_putc(&b, ' ');
                tb[t] = b.len;
                if (rc == MEDNER_OK)
                    rc = medner__buf_append_str(&b, conll->tokens[t]);
                te[t] = b.len;
            }
            texts[k] = b;
            tx[k] = b.data ? b.data : "";
            lens[k] = b.len;
        }
        medner_entities *res[CHUNK] = { NULL };
        if (rc == MEDNER_OK)
            rc = medner_pipeline_annotate(res, p, ctx, tx, lens, ns);
        for (size_t k = 0; rc == MEDNER_OK && k < ns; k++) {
            size_t a = conll->sentence_start[s0 + k], z = conll->sentence_start[s0 + k + 1];
            rc = score_sentence(ev, pf, conll, a, z, tx[k], lens[k], tb, te, res[k], is_none,
                                &sc);
        }
        for (size_t k = 0; k < ns; k++) {
            medner_entities_free(res[k]);
            medner__buf_free(&texts[k]);
        }
    }
    if (rc == MEDNER_OK && !status && pf) {
        int bad = ferror(pf) || fflush(pf) != 0 || fsync(fileno(pf)) != 0;
        int err = errno;
        if (fclose(pf) != 0 && !bad) {
            bad = 1;
            err = errno;
        }
        pf = NULL;
        if (bad) {
            fprintf(stderr, "medner eval: --predictions %s: write failed: %s\n", pred_path,
                    strerror(err));
            status = 1;
        }
    }
    if (rc == MEDNER_OK && !status) {
        medner__eval_report *rep = NULL;
        medner__buf out = MEDNER__BUF_INIT;
        rc = medner__eval_report_create(&rep, ev);
        if (rc == MEDNER_OK)
            rc = json ? medner__eval_report_json(&out, rep)
                      : medner__eval_report_text(&out, rep, (int)digits);
        if (rc == MEDNER_OK && json && out.len && out.data[out.len - 1] == '}') {
            out.len--; /* one more member: what the projection onto pieces split */
            rc = medner__buf_printf(&out, ",\"split\":{\"predicted\":%zu,"
                                          "\"predicted_cutting_a_token\":%zu,"
                                          "\"tokens_split\":%zu}}\n",
                                    sc.predicted, sc.cutting, sc.tokens_split);
        }
        if (rc == MEDNER_OK) {
            if (medner_cli_write("eval", out.data, out.len) != 0 || medner_cli_flush("eval") != 0)
                status = 1;
        }
        medner__buf_free(&out);
        medner__eval_report_free(rep);
        if (rc == MEDNER_OK && sc.cutting)
            fprintf(stderr,
                    "medner eval: %zu of %zu predicted entities begin or end inside a token "
                    "of %s; %zu tokens were split there into pieces to score them exactly "
                    "(docs/eval.md)\n", sc.cutting, sc.predicted, data, sc.tokens_split);
    }
    if (rc != MEDNER_OK) {
        medner_cli_error("eval", rc, NULL);
        status = 1;
    }
    if (pf)
        fclose(pf);
    free(tb);
    free(te);
    medner__eval_free(ev);
    medner_context_free(ctx);
    medner_pipeline_free(p);
    medner__conll_free(conll);
    return status;
}
