/*
 * Text -> windows -> batched encoder -> decoder -> merged entities.
 *
 * Each text is tokenized once into windows of max_length tokens sharing
 * `overlap` tokens (Hugging Face's stride). Windows of all texts of a call
 * are run through the encoder batch_size at a time. Then, per text:
 *   MERGE_HF:     every window is decoded on its own and overlapping
 *                 entities are resolved like Hugging Face (longer wins);
 *   MERGE_CENTER: every token keeps the logits of the window in which it is
 *                 farthest from an edge, and the whole text is decoded once,
 *                 so no entity is cut or doubled at a window seam.
 * Memory: per text O(tokens x labels), for the texts with a window in the
 * batch being run only (a text is tokenized when its first window is queued
 * and released when its last has run); per batch the encoder's workspace.
 * A text longer than MEDNER__SEGMENT_BYTES is cut into segments (at a blank
 * line, else a line break, else a space, else a character boundary) that
 * are annotated one after the other, so the working memory of one call is
 * bounded by one segment whatever the text's length (docs/security.md).
 * With segment SENTENCE, each text (each segment of a long one) is cut
 * into pieces -- its sentences (src/text's splitter) and any non-blank run
 * between them -- that go through the same batched machinery as texts of
 * their own; a text's entities are its pieces' put back (offsets and token
 * indices shifted) before its result is made (piece_feed, annotate_pieces).
 * When clinical context runs (docs/context.md), it runs once per text on
 * its final entities, over the whole text (also for a segmented one), so
 * sentence indices and offsets are those of the whole text.
 */
#include <stdio.h>
#include <string.h>

#include "context/context.h"
#include "decoder/decoder.h"
#include "encoder/encoder.h"
#include "pipeline/config.h"

/* Texts longer than this are annotated in segments of at most this size
 * (docs/security.md: the working memory of a call is bounded by one). */
#ifndef MEDNER__SEGMENT_BYTES
#  define MEDNER__SEGMENT_BYTES ((size_t)256 << 10)
#endif

struct medner_pipeline {
    medner_pipeline_params params; /* effective; strings below */
    medner_decoder_params dparams; /* as given (arrays owned below) */
    char *model_dir, *adapter_dir;
    char **strings;                /* owned copies of the decoder's label lists */
    size_t n_strings;
    const char **lists;            /* ignore | keep | rename_from | rename_to */
    medner_tokenizer *tok;
    medner_encoder *enc;
    medner_decoder *dec;
    size_t n_labels;
    uint32_t *token_cplen;         /* code points of each vocabulary string */
    int32_t unk_id;
    char *context_rules;           /* copy of params.context_rules */
    medner_tokenizer_params tparams; /* effective tokenizer options (strings: the tokenizer's) */
    medner_context_rules *rules;   /* loaded when context runs, else NULL */
};

void medner_pipeline_free(medner_pipeline *p)
{
    if (p == NULL)
        return;
    medner_decoder_free(p->dec);
    medner_encoder_free(p->enc);
    medner_tokenizer_free(p->tok);
    for (size_t i = 0; i < p->n_strings; i++)
        medner__free(p->strings[i]);
    medner__free(p->strings);
    medner__free(p->lists);
    medner__free(p->model_dir);
    medner__free(p->adapter_dir);
    medner__free(p->token_cplen);
    medner__context_rules_free(p->rules);
    medner__free(p->context_rules);
    medner__free(p);
}

static char *dup_str(const char *s)
{
    return s ? medner__strndup(s, strlen(s)) : NULL;
}

/* Copy the decoder's label lists so the pipeline does not borrow them. */
static int copy_decoder_params(medner_pipeline *p, const medner_decoder_params *src)
{
    medner_decoder_params d = MEDNER_DECODER_PARAMS_INIT;
    int rc = medner__params_copy(&d, sizeof d, src, MEDNER__SIZE_V0_1_DECODER_PARAMS,
                                 "medner_decoder_params");
    if (rc != MEDNER_OK)
        return rc;
    size_t total = d.n_ignore_labels + d.n_keep_labels + 2 * d.n_renames;
    p->lists = medner__calloc(total ? total : 1, sizeof *p->lists);
    p->strings = medner__calloc(total ? total : 1, sizeof *p->strings);
    if (!p->lists || !p->strings)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
    const char *const *srcs[4] = { d.ignore_labels, d.keep_labels, d.rename_from, d.rename_to };
    size_t counts[4] = { d.n_ignore_labels, d.n_keep_labels, d.n_renames, d.n_renames };
    size_t k = 0;
    for (int l = 0; l < 4; l++) {
        if (counts[l] && srcs[l] == NULL)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_decoder_params: a label list is NULL but its count is not 0");
        for (size_t i = 0; i < counts[l]; i++) {
            if (srcs[l][i] == NULL)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner_decoder_params: NULL label in a list");
            if ((p->strings[k] = dup_str(srcs[l][i])) == NULL)
                return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
            p->lists[k] = p->strings[k];
            p->n_strings = ++k;
        }
    }
    d.ignore_labels = p->lists;
    d.keep_labels = p->lists + counts[0];
    d.rename_from = p->lists + counts[0] + counts[1];
    d.rename_to = p->lists + counts[0] + counts[1] + counts[2];
    p->dparams = d;
    return MEDNER_OK;
}

/* Does `name` name an entity type (the part after "B-"/"I-"/...) or a label
 * of the model, or (keep) a type's new name? */
static int names_label(const char *name, const char *const *labels, size_t n,
                       const medner_decoder_params *d, int after_rename)
{
    for (size_t i = 0; i < n; i++) {
        const char *dash = strchr(labels[i], '-');
        const char *type = dash ? dash + 1 : labels[i];
        if (strcmp(name, labels[i]) == 0 || strcmp(name, type) == 0)
            return 1;
        for (size_t r = 0; after_rename && r < d->n_renames; r++)
            if (strcmp(name, d->rename_to[r]) == 0 &&
                (strcmp(d->rename_from[r], type) == 0 || strcmp(d->rename_from[r], labels[i]) == 0))
                return 1;
    }
    return 0;
}

/* An ignore_labels/keep_labels entry that names nothing of the model is
 * almost certainly a typo that would silently keep or drop everything:
 * refuse it, listing the model's labels ("O" may always be ignored). */
static int check_label_lists(const char *const *labels, size_t n, const medner_decoder_params *d)
{
    const char *bad = NULL, *list = NULL;
    for (size_t i = 0; i < d->n_ignore_labels && !bad; i++)
        if (strcmp(d->ignore_labels[i], "O") != 0 &&
            !names_label(d->ignore_labels[i], labels, n, d, 0))
            bad = d->ignore_labels[i], list = "ignore_labels";
    for (size_t i = 0; i < d->n_keep_labels && !bad; i++)
        if (!names_label(d->keep_labels[i], labels, n, d, 1))
            bad = d->keep_labels[i], list = "keep_labels";
    if (bad == NULL)
        return MEDNER_OK;
    char names[400];
    size_t used = 0;
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) { /* "A, B, ..." cut to fit (the message is cut anyway) */
        size_t k = strlen(labels[i]);
        if (used + k + 3 >= sizeof names)
            break;
        if (i)
            memcpy(names + used, ", ", 2), used += 2;
        memcpy(names + used, labels[i], k + 1);
        used += k;
    }
    return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                        "medner_decoder_params: %s: '%s' is no entity type or label of the model; "
                        "its labels: %s", list, bad, names);
}

static uint32_t count_codepoints(const char *s, size_t len)
{
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* With an adapter, the tokenizer is the base model's; an adapter directory
 * that carries one (as a Trainer saves it) is used when the base has none. */
static int tokenizer_dir(const char *model_dir, const char *adapter_dir, const char **out)
{
    static const char *const files[] = { "tokenizer.json", "vocab.txt" };
    int in_base = 0, in_adapter = 0;
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(files); i++) {
        char *b = medner__path_join(model_dir, files[i]);
        char *a = medner__path_join(adapter_dir, files[i]);
        if (b == NULL || a == NULL) {
            medner__free(b);
            medner__free(a);
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        }
        in_base |= medner__file_exists(b);
        in_adapter |= medner__file_exists(a);
        medner__free(b);
        medner__free(a);
    }
    *out = !in_base && in_adapter ? adapter_dir : model_dir;
    return MEDNER_OK;
}

int medner_pipeline_create(medner_pipeline **out, const medner_pipeline_params *params)
{
    if (out == NULL || params == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_create: out and params are required");
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    int rc = medner__params_copy(&pp, sizeof pp, params, MEDNER__SIZE_V0_1_PIPELINE_PARAMS,
                                 "medner_pipeline_params");
    if (rc != MEDNER_OK)
        return rc;
    if (pp.model_dir == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_pipeline_params: model_dir is required");
    if (pp.reserved != 0 || (unsigned)pp.merge > MEDNER_MERGE_CENTER ||
        (unsigned)pp.first_window_only > MEDNER_OFF || (pp.max_length && pp.max_length < 3) ||
        (unsigned)pp.context > MEDNER_OFF || pp.reserved2 != 0 ||
        (unsigned)pp.precision > MEDNER_PRECISION_AUTO || pp.reserved3 != 0 ||
        (pp.explicit_fields &
         ~(MEDNER_PIPELINE_EXPLICIT_OVERLAP | MEDNER_PIPELINE_EXPLICIT_SEGMENT)) != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_params: merge, first_window_only, context and "
                            "precision must be enum values, max_length >= 3 when set, "
                            "explicit_fields known MEDNER_PIPELINE_EXPLICIT_* bits, reserved, "
                            "reserved2 and reserved3 0");
    if ((unsigned)pp.segment > MEDNER_SEGMENT_SENTENCE)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_params: segment %u: expected MEDNER_SEGMENT_NONE (0) "
                            "or MEDNER_SEGMENT_SENTENCE (1)", (unsigned)pp.segment);
    if (pp.batch_size > MEDNER__MAX_BATCH_SIZE || pp.threads > MEDNER__MAX_THREADS ||
        pp.encoder_threads > MEDNER__MAX_THREADS)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_params: batch_size %u, threads %u, encoder_threads "
                            "%u: expected at most %u, %u and %u (0: the default)", pp.batch_size,
                            pp.threads, pp.encoder_threads, MEDNER__MAX_BATCH_SIZE,
                            MEDNER__MAX_THREADS, MEDNER__MAX_THREADS);
    medner_pipeline *p = medner__calloc(1, sizeof *p);
    if (p == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
    if ((rc = copy_decoder_params(p, pp.decoder)) != MEDNER_OK)
        goto fail;
    p->model_dir = dup_str(pp.model_dir);
    p->adapter_dir = dup_str(pp.adapter_dir);
    p->context_rules = dup_str(pp.context_rules);
    if (p->model_dir == NULL || (pp.adapter_dir != NULL && p->adapter_dir == NULL) ||
        (pp.context_rules != NULL && p->context_rules == NULL)) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        goto fail;
    }
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.threads = pp.encoder_threads;
    ep.adapter_dir = pp.adapter_dir;
    ep.precision = pp.precision;
    const char *tok_dir = pp.model_dir;
    if (pp.adapter_dir != NULL && (rc = tokenizer_dir(pp.model_dir, pp.adapter_dir, &tok_dir)))
        goto fail;
    if ((rc = medner_tokenizer_load(&p->tok, tok_dir, pp.tokenizer)) != MEDNER_OK ||
        (rc = medner_encoder_load(&p->enc, pp.model_dir, &ep)) != MEDNER_OK)
        goto fail;
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    medner_encoder_get_info(p->enc, &info);
    if (info.num_labels == 0) {
        rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                          "%s: the model has no token-classification head (architecture '%s')",
                          pp.model_dir, info.architecture);
        goto fail;
    }
    size_t vs = medner_tokenizer_vocab_size(p->tok);
    if (vs > info.vocab_size) {
        rc = medner__fail(MEDNER_E_INVALID_MODEL,
                          "%s: the tokenizer has %zu tokens but the model only %zu embeddings",
                          pp.model_dir, vs, info.vocab_size);
        goto fail;
    }
    const char **labels = medner__calloc(info.num_labels, sizeof *labels);
    if (labels == NULL) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < info.num_labels; i++)
        labels[i] = medner_encoder_label(p->enc, i);
    rc = check_label_lists(labels, info.num_labels, &p->dparams);
    if (rc == MEDNER_OK)
        rc = medner_decoder_create(&p->dec, labels, info.num_labels, &p->dparams);
    /* context: ON, a rule file, or (DEFAULT) the model's labels look clinical */
    int context = pp.context == MEDNER_ON ||
                  (pp.context == MEDNER_DEFAULT &&
                   (pp.context_rules != NULL ||
                    medner__labels_look_clinical(labels, info.num_labels)));
    medner__free(labels);
    if (rc != MEDNER_OK)
        goto fail;
    /* loaded once here; a bad rule file fails the creation, not every call */
    if (context && (rc = medner__context_rules_load(&p->rules, p->context_rules)) != MEDNER_OK)
        goto fail;
    pp.context = context ? MEDNER_ON : MEDNER_OFF;
    pp.context_rules = p->context_rules;
    p->n_labels = info.num_labels;
    p->token_cplen = medner__calloc(vs ? vs : 1, sizeof *p->token_cplen);
    if (p->token_cplen == NULL) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < vs; i++) {
        const char *s = medner_tokenizer_id_to_token(p->tok, (int32_t)i);
        p->token_cplen[i] = s ? count_codepoints(s, strlen(s)) : 0;
    }
    p->unk_id = medner_tokenizer_special_id(p->tok, MEDNER_TOKEN_UNK);
    /* effective options */
    medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
    medner_tokenizer_get_params(p->tok, &tp);
    p->tparams = tp;
    pp.tokenizer = &p->tparams;
    uint32_t limit = (uint32_t)(info.max_positions < tp.model_max_length ? info.max_positions
                                                                          : tp.model_max_length);
    if (pp.max_length == 0)
        pp.max_length = limit;
    if (pp.max_length > info.max_positions) {
        rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                          "medner_pipeline_params: max_length %u is above the model's %zu "
                          "positions", pp.max_length, info.max_positions);
        goto fail;
    }
    int explicit_overlap = (pp.explicit_fields & MEDNER_PIPELINE_EXPLICIT_OVERLAP) != 0;
    if (pp.overlap == 0 && !explicit_overlap)
        pp.overlap = MEDNER_DEFAULT_OVERLAP;
    if (pp.overlap >= pp.max_length - 2)
        pp.overlap = pp.max_length > 3 ? (pp.max_length - 2) / 2 : 0;
    if ((params->overlap != 0 || explicit_overlap) && params->overlap != pp.overlap) {
        rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                          "medner_pipeline_params: overlap %u must be less than max_length %u "
                          "minus 2", params->overlap, pp.max_length);
        goto fail;
    }
    if (pp.batch_size == 0)
        pp.batch_size = MEDNER_DEFAULT_BATCH_SIZE;
    if (pp.threads == 0)
        pp.threads = MEDNER_DEFAULT_THREADS;
    /* the effective values, 0 too */
    pp.explicit_fields |= MEDNER_PIPELINE_EXPLICIT_OVERLAP | MEDNER_PIPELINE_EXPLICIT_SEGMENT;
    if (pp.merge == MEDNER_MERGE_DEFAULT)
        pp.merge = MEDNER_MERGE_CENTER;
    if (pp.first_window_only == MEDNER_DEFAULT)
        pp.first_window_only = MEDNER_OFF;
    pp.precision = medner__encoder_precision(p->enc); /* AUTO and DEFAULT resolved */
    pp.model_dir = p->model_dir;
    pp.adapter_dir = p->adapter_dir;
    pp.decoder = &p->dparams;
    p->params = pp;
    *out = p;
    return MEDNER_OK;
fail:
    medner_pipeline_free(p);
    return rc;
}

int medner_pipeline_get_params(const medner_pipeline *p, medner_pipeline_params *out)
{
    if (p == NULL || out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_pipeline_get_params: NULL argument");
    return medner__struct_out(out, &p->params, sizeof p->params,
                              MEDNER__SIZE_V0_1_PIPELINE_PARAMS, "medner_pipeline_get_params");
}

const medner_encoder *medner_pipeline_encoder(const medner_pipeline *p)
{
    return p ? p->enc : NULL;
}

int medner_pipeline_context_create(medner_context **out, const medner_pipeline *p)
{
    if (p == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_pipeline_context_create: NULL pipeline");
    return medner_context_create(out, p->enc);
}

/* ---- annotation --------------------------------------------------------- */

/* Per text state during one call. */
typedef struct doc_state {
    medner_encoding *enc;
    size_t n_windows;
    size_t n_tokens;
    /* MERGE_CENTER: whole-text logits and token data */
    float *logits;
    size_t *best;         /* distance to the nearest window edge of the kept logits;
                             SIZE_MAX: none yet */
    size_t *begin, *end, *token;
    uint8_t *subword;
    /* MERGE_HF: entities of all windows */
    medner__entlist ents;
} doc_state;

typedef struct job {
    size_t doc, window;
} job;

static void doc_release(doc_state *d)
{
    medner_encoding_free(d->enc);
    medner__free(d->logits);
    medner__free(d->best);
    medner__free(d->begin);
    medner__free(d->end);
    medner__free(d->token);
    medner__free(d->subword);
    medner__entlist_release(&d->ents);
}

/* Hugging Face's is_subword: the token string's length differs from the
 * length of the text it covers (code points); [UNK] never is. */
static uint8_t is_subword(const medner_pipeline *p, int32_t id, const char *text, size_t b,
                          size_t e)
{
    if (id == p->unk_id)
        return 0;
    uint32_t cplen;
    if (p->token_cplen != NULL) {
        cplen = p->token_cplen[id];
    } else { /* medner_decoder_decode(): no table, the string's length */
        const char *t = medner_tokenizer_id_to_token(p->tok, id);
        cplen = t ? count_codepoints(t, strlen(t)) : 0;
    }
    return cplen != count_codepoints(text + b, e - b);
}

/* Decode one window on its own (MERGE_HF / first window only). */
static int decode_window(const medner_pipeline *p, doc_state *d, const medner_window *w,
                         const float *logits, const char *text)
{
    size_t n = w->length >= 2 ? w->length - 2 : 0; /* without [CLS] and [SEP] */
    size_t *begin = medner__malloc((n ? n : 1) * 3 * sizeof(size_t));
    uint8_t *sub = medner__malloc(n ? n : 1);
    if (begin == NULL || sub == NULL) {
        medner__free(begin);
        medner__free(sub);
        return MEDNER_E_OUT_OF_MEMORY;
    }
    size_t *end = begin + n, *token = begin + 2 * n;
    for (size_t k = 0; k < n; k++) {
        begin[k] = w->offsets[2 * (k + 1)];
        end[k] = w->offsets[2 * (k + 1) + 1];
        token[k] = w->first_token + k;
        sub[k] = is_subword(p, w->ids[k + 1], text, begin[k], end[k]);
    }
    medner__dec_input in = { logits + p->n_labels, begin, end, sub, token, n };
    int rc = medner__decode(p->dec, &in, &d->ents);
    medner__free(begin);
    medner__free(sub);
    return rc;
}

/* Keep, per token, the logits of the window where it is farthest from an edge. */
static void keep_centered(const medner_pipeline *p, doc_state *d, const medner_window *w,
                          const float *logits, const char *text)
{
    size_t n = w->length - 2, C = p->n_labels;
    for (size_t k = 0; k < n; k++) {
        size_t t = w->first_token + k;
        size_t dist = k < n - 1 - k ? k : n - 1 - k;
        if (d->best[t] != SIZE_MAX && d->best[t] >= dist)
            continue; /* ties keep the earlier window */
        d->best[t] = dist;
        memcpy(d->logits + t * C, logits + (k + 1) * C, C * sizeof(float));
        d->begin[t] = w->offsets[2 * (k + 1)];
        d->end[t] = w->offsets[2 * (k + 1) + 1];
        d->token[t] = t;
        d->subword[t] = is_subword(p, w->ids[k + 1], text, d->begin[t], d->end[t]);
    }
}

static int alloc_centered(const medner_pipeline *p, doc_state *d, size_t index);

static int prepare_doc(const medner_pipeline *p, doc_state *d, const char *text, size_t len,
                       size_t index)
{
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.max_length = p->params.max_length;
    ep.overlap = p->params.overlap;
    int rc = medner_tokenizer_encode(&d->enc, p->tok, text, len, &ep);
    if (rc == MEDNER_E_INVALID_UTF8)
        return medner__fail(rc, "text %zu: %s", index, medner_last_error());
    if (rc != MEDNER_OK)
        return rc;
    d->n_windows = p->params.first_window_only == MEDNER_ON ? 1 : medner_encoding_num_windows(d->enc);
    d->n_tokens = medner_encoding_num_tokens(d->enc);
    return alloc_centered(p, d, index);
}

/* MERGE_CENTER over every window: the whole-text buffers. */
static int alloc_centered(const medner_pipeline *p, doc_state *d, size_t index)
{
    if (p->params.merge == MEDNER_MERGE_CENTER && p->params.first_window_only != MEDNER_ON) {
        size_t n = d->n_tokens ? d->n_tokens : 1, bytes;
        if (medner__mul_size(n, p->n_labels * sizeof(float), &bytes) != 0)
            return medner__fail(MEDNER_E_LIMIT, "text %zu: too many tokens", index);
        d->logits = medner__malloc(bytes);
        d->best = medner__malloc(n * sizeof *d->best);
        d->begin = medner__malloc(n * sizeof *d->begin);
        d->end = medner__malloc(n * sizeof *d->end);
        d->token = medner__malloc(n * sizeof *d->token);
        d->subword = medner__malloc(n);
        if (!d->logits || !d->best || !d->begin || !d->end || !d->token || !d->subword)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        memset(d->best, 0xFF, n * sizeof *d->best);
    }
    return MEDNER_OK;
}

/* Complete a document's entity list: decode the kept logits (centre) or
 * resolve the windows' overlaps (Hugging Face). */
static int finish_ents(const medner_pipeline *p, doc_state *d)
{
    int rc = MEDNER_OK;
    bool centered = p->params.merge == MEDNER_MERGE_CENTER && p->params.first_window_only != MEDNER_ON;
    if (centered) {
        medner__dec_input in = { d->logits, d->begin, d->end, d->subword, d->token, d->n_tokens };
        rc = medner__decode(p->dec, &in, &d->ents);
    } else if (d->n_windows > 1) {
        rc = medner__merge_overlapping(&d->ents);
    }
    return rc == MEDNER_OK ? rc : medner__fail(rc, "pipeline: out of memory");
}

/* One annotate call: where it stands (for the progress callback) and the
 * index of its first text in the caller's array (for messages). */
typedef struct call_state {
    medner_progress pr;
    size_t base;
} call_state;

/* Ask the abort callback (before each batch and segment). */
static int check_abort(const medner_pipeline *p)
{
    if (p->params.abort_callback != NULL && p->params.abort_callback(p->params.callback_user_data))
        return medner__fail(MEDNER_E_CANCELLED, "annotate: stopped by the abort callback");
    return MEDNER_OK;
}

static void report(const medner_pipeline *p, const call_state *cs)
{
    if (p->params.progress != NULL)
        p->params.progress(&cs->pr, p->params.callback_user_data);
}

/* A prepared document during a call: its state, its text, the next of its
 * windows to queue and the number of its windows already run. */
typedef struct slot {
    doc_state d;
    const char *text;    /* the piece (the whole text with segment NONE) */
    size_t len;
    size_t index;        /* of its text in the feed's texts */
    size_t off;          /* byte offset of the piece in its text */
    bool first, last;    /* the first / last piece of its text */
    size_t next, done;
} slot;

/* Buffers for one batch of windows. */
typedef struct batch_bufs {
    job *jobs;            /* job.doc: index into the slots */
    const int32_t **ids;
    size_t *wl;
} batch_bufs;

/* Queue the next window of slot `k` as job `nb` of the batch. */
static void queue_window(slot *slots, size_t k, const batch_bufs *bb, size_t nb)
{
    medner_window w = MEDNER_WINDOW_INIT;
    medner_encoding_window(slots[k].d.enc, slots[k].next, &w);
    bb->jobs[nb] = (job){ k, slots[k].next };
    bb->ids[nb] = w.ids;
    bb->wl[nb] = w.length;
    slots[k].next++;
}

/* Run the nb queued windows through the encoder and hand each window's
 * logits to its document. */
static int run_batch(const medner_pipeline *p, medner_context *ctx, slot *slots,
                     const batch_bufs *bb, size_t nb, call_state *cs)
{
    int rc = check_abort(p);
    if (rc != MEDNER_OK)
        return rc;
    rc = medner_encoder_run(ctx, bb->ids, NULL, bb->wl, nb);
    if (rc == MEDNER_OK)
        cs->pr.windows_done += nb;
    for (size_t b = 0; b < nb && rc == MEDNER_OK; b++) {
        slot *x = &slots[bb->jobs[b].doc];
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(x->d.enc, bb->jobs[b].window, &w);
        const float *lg = medner_context_logits(ctx, b);
        if (x->d.logits)
            keep_centered(p, &x->d, &w, lg, x->text);
        else if ((rc = decode_window(p, &x->d, &w, lg, x->text)) != MEDNER_OK)
            rc = medner__fail(rc, "pipeline: out of memory");
        x->done++;
    }
    return rc;
}

/* Run every window of the prepared slots[0, n) batch_size at a time, in
 * order, and complete each document's entity list. */
static int run_docs(const medner_pipeline *p, medner_context *ctx, slot *slots, size_t n,
                    const batch_bufs *bb, call_state *cs)
{
    size_t B = p->params.batch_size, k = 0;
    int rc = MEDNER_OK;
    while (rc == MEDNER_OK) {
        size_t nb = 0;
        while (nb < B && k < n) {
            if (slots[k].next >= slots[k].d.n_windows)
                k++;
            else
                queue_window(slots, k, bb, nb++);
        }
        if (nb == 0)
            break;
        rc = run_batch(p, ctx, slots, bb, nb, cs);
    }
    for (size_t i = 0; i < n && rc == MEDNER_OK; i++)
        rc = finish_ents(p, &slots[i].d);
    return rc;
}

/* Clinical context of a text's final entities (when it runs): once, over
 * the whole text (sentences and sections are computed once per text). */
static int apply_context(const medner_pipeline *p, medner_entities *e, const char *text,
                         size_t len)
{
    size_t n = medner_entities_count(e);
    if (p->rules == NULL || n == 0)
        return MEDNER_OK;
    medner__ctx_target *t = medner__calloc(n, sizeof *t);
    if (t == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
    for (size_t i = 0; i < n; i++)
        medner__entities_item(e, i, &t[i].begin, &t[i].end, &t[i].label);
    int rc = medner__context_apply(p->rules, text, len, t, n);
    for (size_t i = 0; i < n && rc == MEDNER_OK; i++) {
        medner__ent_context c = { t[i].flags, (int32_t)t[i].section, t[i].sentence };
        medner__entities_set_context(e, i, &c);
    }
    medner__free(t);
    return rc;
}

/* ---- pieces ------------------------------------------------------------ */

/* What is tokenized, windowed and decoded as one text: with segment NONE
 * each text of the feed up to MEDNER__SEGMENT_BYTES (longer ones are left
 * to annotate_segmented); with SENTENCE each sentence of such a text
 * (medner__sentences_split) and each run of non-blank bytes the splitter
 * leaves between, before or after its sentences (docs/text.md says there is
 * none -- every non-space byte is in a sentence -- but no text is left
 * unannotated should that change), or the whole text when it has neither
 * (blank). A
 * text is split when its first piece is needed: the working memory is one
 * text's pieces plus the entities of the text being put back together. */
typedef struct piece_feed {
    const char *const *texts;
    const size_t *lens;
    size_t n, next_text;
    size_t base;             /* number of texts[0] in messages */
    bool sentence;
    medner__span *spans;     /* SENTENCE: pieces of texts[cur] */
    size_t n_spans, next_span, cur;
    medner__entlist acc;     /* SENTENCE: entities of the pieces of texts[cur] done so far, */
    size_t acc_tokens;       /* in the text's offsets and token indices; their tokens */
} piece_feed;

static void feed_release(piece_feed *f)
{
    medner__free(f->spans);
    medner__entlist_release(&f->acc);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Append text[b, e) trimmed, unless it is blank. */
static void push_gap(const char *text, size_t b, size_t e, medner__span *out, size_t *n)
{
    while (b < e && is_blank(text[b]))
        b++;
    while (e > b && is_blank(text[e - 1]))
        e--;
    if (b < e)
        out[(*n)++] = (medner__span){ b, e };
}

/* The pieces of text[0, len) in SENTENCE mode, in text order (never none). */
static int text_pieces(const char *text, size_t len, medner__span **out, size_t *n)
{
    medner__span *sent = NULL;
    size_t ns = 0, k = 0, pos = 0;
    if (medner__sentences_split(text, len, &sent, &ns) != MEDNER_OK)
        return MEDNER_E_OUT_OF_MEMORY;
    medner__span *pc = medner__malloc((2 * ns + 1) * sizeof *pc);
    if (pc == NULL) {
        medner__free(sent);
        return MEDNER_E_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < ns; i++) {
        if (sent[i].begin > pos)
            push_gap(text, pos, sent[i].begin, pc, &k);
        if (sent[i].begin >= pos && sent[i].end > sent[i].begin) {
            pc[k++] = sent[i];
            pos = sent[i].end;
        }
    }
    push_gap(text, pos, len, pc, &k);
    if (k == 0) /* blank: annotated whole, as with NONE */
        pc[k++] = (medner__span){ 0, len };
    medner__free(sent);
    *out = pc;
    *n = k;
    return MEDNER_OK;
}

/* Describe the feed's next piece in *x (its doc_state untouched); *got
 * false when every piece has been handed out. */
static int feed_next(piece_feed *f, slot *x, bool *got)
{
    *got = false;
    if (!f->sentence || f->next_span == f->n_spans) {
        while (f->next_text < f->n && f->lens[f->next_text] > MEDNER__SEGMENT_BYTES)
            f->next_text++;
        if (f->next_text == f->n)
            return MEDNER_OK;
        f->cur = f->next_text++;
    }
    const char *text = f->texts[f->cur] ? f->texts[f->cur] : "";
    size_t len = f->lens[f->cur];
    if (!f->sentence) {
        *x = (slot){ .text = text, .len = len, .index = f->cur, .first = true, .last = true };
        *got = true;
        return MEDNER_OK;
    }
    if (f->next_span == f->n_spans) { /* a new text: split it */
        size_t bad = 0;
        medner__free(f->spans);
        f->spans = NULL;
        f->n_spans = f->next_span = 0;
        if (medner_utf8_check(&bad, text, len) != MEDNER_OK) /* as the tokenizer says it */
            return medner__fail(MEDNER_E_INVALID_UTF8, "text %zu: invalid UTF-8 at byte offset %zu",
                                f->base + f->cur, bad);
        if (text_pieces(text, len, &f->spans, &f->n_spans) != MEDNER_OK)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
    }
    medner__span sp = f->spans[f->next_span++];
    *x = (slot){ .text = text + sp.begin, .len = sp.end - sp.begin, .index = f->cur,
                 .off = sp.begin, .first = f->next_span == 1, .last = f->next_span == f->n_spans };
    *got = true;
    return MEDNER_OK;
}

/* Where the entities of a whole text go once all its pieces are done:
 * res != NULL: res[index], a new result of texts[index] with clinical
 * context applied (a text of the call); else appended to *all shifted by
 * off bytes and *tokens tokens (a segment of a long text). */
typedef struct text_sink {
    medner_entities **res;
    const char *const *texts;
    const size_t *lens;
    medner__entlist *all;
    size_t off, *tokens;
} text_sink;

static int shift_into(medner__entlist *dst, const medner__entlist *src, size_t off,
                      size_t tokens)
{
    for (size_t k = 0; k < src->n; k++) {
        medner__ent e = src->items[k];
        e.begin += off;
        e.end += off;
        e.first_token += tokens;
        if (medner__entlist_push(dst, &e) != MEDNER_OK)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
    }
    return MEDNER_OK;
}

static int deliver(const medner_pipeline *p, const text_sink *sk, size_t index,
                   const medner__entlist *ents, size_t n_tokens, call_state *cs)
{
    if (sk->res == NULL) {
        int rc = shift_into(sk->all, ents, sk->off, *sk->tokens);
        *sk->tokens += n_tokens;
        return rc;
    }
    const char *text = sk->texts[index] ? sk->texts[index] : "";
    bool none = medner__decoder_aggregation(p->dec) == MEDNER_AGGREGATION_NONE;
    int rc = medner__entities_create(&sk->res[index], p->dec, ents, text, sk->lens[index],
                                     n_tokens, none);
    if (rc == MEDNER_OK)
        rc = apply_context(p, sk->res[index], text, sk->lens[index]);
    if (rc == MEDNER_OK) {
        cs->pr.texts_done++;
        cs->pr.bytes_done += sk->lens[index];
    }
    return rc;
}

/* A piece whose windows have all run: complete its entities and hand them,
 * once its text's last piece is done, to the sink. */
static int piece_done(const medner_pipeline *p, piece_feed *f, slot *x, const text_sink *sk,
                      call_state *cs)
{
    int rc = finish_ents(p, &x->d);
    if (rc != MEDNER_OK)
        return rc;
    if (x->first && x->last && x->off == 0) /* the whole text: its entities as they are */
        return deliver(p, sk, x->index, &x->d.ents, x->d.n_tokens, cs);
    if ((rc = shift_into(&f->acc, &x->d.ents, x->off, f->acc_tokens)) != MEDNER_OK)
        return rc;
    f->acc_tokens += x->d.n_tokens;
    if (!x->last)
        return MEDNER_OK;
    rc = deliver(p, sk, x->index, &f->acc, f->acc_tokens, cs);
    f->acc.n = 0;
    f->acc_tokens = 0;
    return rc;
}

/* Annotate the feed's pieces, their windows batched across pieces in order
 * (batch_size at a time, as if all were queued at once), each text's
 * entities going to `sk` when its last piece is done. A piece is tokenized
 * when its first window is queued and released as soon as its last window
 * has run and its entities are handed on, so at most batch_size + 1 pieces
 * are prepared at a time (each contributes at least one window to the batch
 * being filled, plus the one carried over from the previous batch): the
 * working memory is bounded by a batch, not by the number of texts
 * (docs/security.md). `slots` has room for batch_size + 1. */
static int annotate_pieces(const medner_pipeline *p, medner_context *ctx, piece_feed *f,
                           const text_sink *sk, slot *slots, const batch_bufs *bb,
                           call_state *cs)
{
    size_t B = p->params.batch_size, cap = B + 1, n_slots = 0;
    int rc = MEDNER_OK;
    for (;;) {
        /* fill a batch, preparing pieces as their windows are needed */
        size_t nb = 0, k = 0;
        while (nb < B) {
            if (k == n_slots) {
                bool got = false;
                if (n_slots == cap)
                    break;
                slot *x = &slots[n_slots];
                if ((rc = feed_next(f, x, &got)) != MEDNER_OK)
                    goto done;
                if (!got)
                    break;
                n_slots++;
                if ((rc = prepare_doc(p, &x->d, x->text, x->len, f->base + x->index)) !=
                    MEDNER_OK)
                    goto done;
            }
            if (slots[k].next >= slots[k].d.n_windows)
                k++;
            else
                queue_window(slots, k, bb, nb++);
        }
        if (nb > 0 && (rc = run_batch(p, ctx, slots, bb, nb, cs)) != MEDNER_OK)
            goto done;
        /* windows are queued in piece order, so the finished pieces are a prefix */
        size_t done_n = 0;
        for (; done_n < n_slots && slots[done_n].done == slots[done_n].d.n_windows; done_n++) {
            if ((rc = piece_done(p, f, &slots[done_n], sk, cs)) != MEDNER_OK)
                goto done;
            doc_release(&slots[done_n].d);
            memset(&slots[done_n].d, 0, sizeof slots[done_n].d);
        }
        memmove(slots, slots + done_n, (n_slots - done_n) * sizeof *slots);
        n_slots -= done_n;
        if (nb > 0 || done_n > 0)
            report(p, cs);
        if (nb == 0 && done_n == 0)
            break; /* nothing queued, nothing finished: every piece is done */
    }
done:
    for (size_t k = 0; k < n_slots; k++)
        doc_release(&slots[k].d);
    return rc;
}

/* Where to end the segment of text[pos, len) that starts at pos: at most
 * SEGMENT_BYTES on, after the last blank line, else line break, else
 * space or tab in the last quarter of the segment, else at a character
 * boundary. */
static size_t segment_end(const char *text, size_t pos, size_t len)
{
    if (len - pos <= MEDNER__SEGMENT_BYTES)
        return len;
    size_t lim = pos + MEDNER__SEGMENT_BYTES, floor = lim - MEDNER__SEGMENT_BYTES / 4;
    for (size_t i = lim; i > floor; i--)
        if (text[i - 1] == '\n' && text[i - 2] == '\n')
            return i;
    for (size_t i = lim; i > floor; i--)
        if (text[i - 1] == '\n')
            return i;
    for (size_t i = lim; i > floor; i--)
        if (text[i - 1] == ' ' || text[i - 1] == '\t')
            return i;
    size_t i = lim;
    while (i > pos + 1 && ((unsigned char)text[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* A text longer than MEDNER__SEGMENT_BYTES: annotated segment by segment
 * (each tokenized, windowed and decoded on its own, then released), so the
 * working memory is bounded by one segment whatever the text's length. */
static int annotate_segmented(medner_entities **out, const medner_pipeline *p,
                              medner_context *ctx, const char *text, size_t len, size_t index,
                              slot *slots, const batch_bufs *bb, call_state *cs)
{
    medner__entlist all = { NULL, 0, 0 };
    size_t pos = 0, tokens = 0;
    int rc = MEDNER_OK;
    while (pos < len && rc == MEDNER_OK) {
        size_t end = segment_end(text, pos, len);
        if ((rc = check_abort(p)) != MEDNER_OK)
            break;
        if (p->params.segment == MEDNER_SEGMENT_SENTENCE) {
            /* the segment's pieces, batched, appended to `all` */
            const char *seg = text + pos;
            size_t seg_len = end - pos;
            piece_feed f = { .texts = &seg, .lens = &seg_len, .n = 1,
                             .base = cs->base + index, .sentence = true };
            text_sink sk = { .all = &all, .off = pos, .tokens = &tokens };
            rc = annotate_pieces(p, ctx, &f, &sk, slots, bb, cs);
            feed_release(&f);
            if (rc == MEDNER_E_INVALID_UTF8) /* its byte offset is relative to the segment */
                rc = medner__fail(rc, "%s (in the segment that starts at byte %zu)",
                                  medner_last_error(), pos);
            if (rc == MEDNER_OK) {
                cs->pr.bytes_done += end - pos;
                report(p, cs);
            }
            pos = end;
            continue;
        }
        slot sl;
        memset(&sl, 0, sizeof sl);
        doc_state *dp = &sl.d;
        sl.text = text + pos;
        sl.index = index;
        rc = prepare_doc(p, dp, sl.text, end - pos, cs->base + index);
        if (rc == MEDNER_E_INVALID_UTF8) /* its byte offset is relative to the segment */
            rc = medner__fail(rc, "%s (in the segment that starts at byte %zu)",
                              medner_last_error(), pos);
        /* first_window_only: only the first segment is run; the others are
         * only tokenized, so that the result counts the text's tokens */
        if (rc == MEDNER_OK && (pos == 0 || p->params.first_window_only != MEDNER_ON))
            rc = run_docs(p, ctx, &sl, 1, bb, cs);
        for (size_t k = 0; k < dp->ents.n && rc == MEDNER_OK; k++) {
            medner__ent e = dp->ents.items[k];
            e.begin += pos;
            e.end += pos;
            e.first_token += tokens;
            if (medner__entlist_push(&all, &e) != MEDNER_OK)
                rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        }
        tokens += dp->n_tokens;
        doc_release(dp);
        if (rc == MEDNER_OK) {
            cs->pr.bytes_done += end - pos;
            report(p, cs);
        }
        pos = end;
    }
    if (rc == MEDNER_OK)
        rc = medner__entities_create(out, p->dec, &all, text, len, tokens,
                                     medner__decoder_aggregation(p->dec) == MEDNER_AGGREGATION_NONE);
    if (rc == MEDNER_OK)
        rc = apply_context(p, *out, text, len); /* on failure the caller frees *out */
    if (rc == MEDNER_OK) {
        cs->pr.texts_done++;
        report(p, cs);
    }
    medner__entlist_release(&all);
    return rc;
}

/* All or nothing over texts[0, n) (arguments checked by the caller); texts
 * are numbered from `base` in messages. */
static int annotate_all(medner_entities **out, const medner_pipeline *p, medner_context *ctx,
                        const char *const *texts, const size_t *lens, size_t n, size_t base)
{
    call_state cs;
    memset(&cs, 0, sizeof cs);
    cs.pr.struct_size = sizeof cs.pr;
    cs.pr.n_texts = n;
    cs.base = base;
    for (size_t i = 0; i < n; i++)
        cs.pr.total_bytes += lens[i];
    medner_entities **res = medner__calloc(n, sizeof *res);
    size_t B = p->params.batch_size;
    slot *slots = medner__malloc((B + 1) * sizeof *slots);
    batch_bufs bb = { medner__malloc(B * sizeof *bb.jobs), medner__malloc(B * sizeof *bb.ids),
                      medner__malloc(B * sizeof *bb.wl) };
    int rc = MEDNER_OK;
    if (!res || !slots || !bb.jobs || !bb.ids || !bb.wl) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        goto done;
    }
    /* texts up to MEDNER__SEGMENT_BYTES: windows batched across texts */
    piece_feed f = { .texts = texts, .lens = lens, .n = n, .base = base,
                     .sentence = p->params.segment == MEDNER_SEGMENT_SENTENCE };
    text_sink sk = { .res = res, .texts = texts, .lens = lens };
    rc = annotate_pieces(p, ctx, &f, &sk, slots, &bb, &cs);
    feed_release(&f);
    /* longer texts: one at a time, segment by segment */
    for (size_t i = 0; i < n && rc == MEDNER_OK; i++)
        if (lens[i] > MEDNER__SEGMENT_BYTES)
            rc = annotate_segmented(&res[i], p, ctx, texts[i], lens[i], i, slots, &bb, &cs);
    if (rc == MEDNER_OK)
        memcpy(out, res, n * sizeof *res);
    else
        for (size_t i = 0; i < n; i++)
            medner_entities_free(res[i]);
done:
    medner__free(res);
    medner__free(slots);
    medner__free(bb.jobs);
    medner__free(bb.ids);
    medner__free(bb.wl);
    return rc;
}

int medner_pipeline_annotate(medner_entities **out, const medner_pipeline *p, medner_context *ctx,
                             const char *const *texts, const size_t *lens, size_t n)
{
    if (out == NULL || p == NULL || ctx == NULL || (n > 0 && (texts == NULL || lens == NULL)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_annotate: NULL argument");
    if (n == 0)
        return MEDNER_OK;
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL && lens[i] > 0)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT, "text %zu is NULL", i);
    return annotate_all(out, p, ctx, texts, lens, n, 0);
}

int medner_pipeline_annotate_each(medner_entities **out, int *status, size_t *first_failed,
                                  const medner_pipeline *p, medner_context *ctx,
                                  const char *const *texts, const size_t *lens, size_t n)
{
    if (out == NULL || status == NULL || first_failed == NULL || p == NULL || ctx == NULL ||
        (n > 0 && (texts == NULL || lens == NULL)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_annotate_each: NULL argument");
    char first_msg[256] = "";
    size_t first = SIZE_MAX, n_ok = 0;
    /* texts that fail on their own (NULL, invalid UTF-8) are found first */
    for (size_t i = 0; i < n; i++) {
        size_t bad = 0;
        out[i] = NULL;
        if (texts[i] == NULL && lens[i] > 0)
            status[i] = medner__fail(MEDNER_E_INVALID_ARGUMENT, "text %zu is NULL", i);
        else if (medner_utf8_check(&bad, texts[i], lens[i]) != MEDNER_OK)
            status[i] = medner__fail(MEDNER_E_INVALID_UTF8,
                                     "text %zu: invalid UTF-8 at byte offset %zu", i, bad);
        else
            status[i] = MEDNER_OK, n_ok++;
        if (status[i] != MEDNER_OK && first == SIZE_MAX) {
            first = i;
            snprintf(first_msg, sizeof first_msg, "%s", medner_last_error());
        }
    }
    /* the others in one batched call; if it fails (memory, a limit), text by
     * text, so that each gets its own status (results do not depend on the
     * batch: test_batching_does_not_change_results) */
    int rc = MEDNER_OK;
    if (n_ok > 0) {
        const char **t = medner__malloc(n_ok * sizeof *t);
        size_t *l = medner__malloc(n_ok * sizeof *l);
        medner_entities **r = medner__malloc(n_ok * sizeof *r);
        if (t == NULL || l == NULL || r == NULL) {
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "pipeline: out of memory");
        } else {
            for (size_t i = 0, k = 0; i < n; i++)
                if (status[i] == MEDNER_OK)
                    t[k] = texts[i], l[k++] = lens[i];
            rc = annotate_all(r, p, ctx, t, l, n_ok, 0);
            for (size_t i = 0, k = 0; rc == MEDNER_OK && i < n; i++)
                if (status[i] == MEDNER_OK)
                    out[i] = r[k++];
        }
        medner__free(t);
        medner__free(l);
        medner__free(r);
    }
    if (rc == MEDNER_E_CANCELLED)
        return rc; /* the whole call stopped: nothing is returned */
    if (rc != MEDNER_OK) {
        for (size_t i = 0; i < n; i++) {
            if (status[i] != MEDNER_OK)
                continue;
            status[i] = annotate_all(&out[i], p, ctx, &texts[i], &lens[i], 1, i);
            if (status[i] == MEDNER_E_CANCELLED) {
                for (size_t j = 0; j <= i; j++) {
                    medner_entities_free(out[j]);
                    out[j] = NULL;
                }
                return MEDNER_E_CANCELLED;
            }
            if (status[i] != MEDNER_OK && i < first) {
                first = i;
                snprintf(first_msg, sizeof first_msg, "%s", medner_last_error());
            }
        }
    }
    *first_failed = first;
    if (first != SIZE_MAX) /* the detail of the first failed text */
        medner__fail(status[first], "%s", first_msg);
    return MEDNER_OK;
}

/* ---- decoding an integrator's logits ----------------------------------- */

int medner_decoder_decode(medner_entities **out, const medner_decoder *decoder,
                          const medner_tokenizer *tokenizer, const medner_encoding *encoding,
                          const float *const *window_logits, size_t n_windows, medner_merge merge,
                          const char *text, size_t len)
{
    if (out == NULL || decoder == NULL || tokenizer == NULL || encoding == NULL ||
        window_logits == NULL || (text == NULL && len > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_decoder_decode: NULL argument");
    size_t total = medner_encoding_num_windows(encoding);
    if (n_windows == 0 || n_windows > total || (unsigned)merge > MEDNER_MERGE_CENTER)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_decoder_decode: n_windows %zu: expected 1 to %zu (the "
                            "encoding's windows); merge must be a medner_merge value",
                            n_windows, total);
    size_t bad = 0;
    if (medner_utf8_check(&bad, text, len) != MEDNER_OK)
        return medner__fail(MEDNER_E_INVALID_UTF8,
                            "medner_decoder_decode: invalid UTF-8 at byte offset %zu", bad);
    if (text == NULL)
        text = "";
    size_t vocab = medner_tokenizer_vocab_size(tokenizer);
    /* the encoding must be of this text and tokenizer, with [CLS]/[SEP] */
    for (size_t w = 0; w < n_windows; w++) {
        medner_window win = MEDNER_WINDOW_INIT;
        medner_encoding_window(encoding, w, &win);
        if (window_logits[w] == NULL)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_decoder_decode: window_logits[%zu] is NULL", w);
        if (win.length < 2 || !win.special_mask[0] || !win.special_mask[win.length - 1])
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_decoder_decode: window %zu does not start with [CLS] "
                                "and end with [SEP] (encode with special tokens on)", w);
        for (size_t k = 0; k < win.length; k++) {
            if (win.ids[k] < 0 || (size_t)win.ids[k] >= vocab)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner_decoder_decode: window %zu token %zu: id %d is not "
                                    "in the tokenizer's vocabulary of %zu (another tokenizer?)",
                                    w, k, (int)win.ids[k], vocab);
            if (win.offsets[2 * k + 1] > len || win.offsets[2 * k] > win.offsets[2 * k + 1])
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner_decoder_decode: window %zu token %zu: offsets "
                                    "[%zu, %zu) are not inside the text of %zu bytes (another "
                                    "text?)", w, k, win.offsets[2 * k], win.offsets[2 * k + 1],
                                    len);
        }
    }
    /* the pipeline's own decoding, on a pipeline that has only a decoder */
    medner_pipeline tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.dec = (medner_decoder *)decoder;
    tmp.tok = (medner_tokenizer *)tokenizer;
    tmp.n_labels = medner__decoder_n_labels(decoder);
    tmp.unk_id = medner_tokenizer_special_id(tokenizer, MEDNER_TOKEN_UNK);
    tmp.params.merge = merge == MEDNER_MERGE_DEFAULT ? MEDNER_MERGE_CENTER : merge;
    tmp.params.first_window_only = n_windows < total ? MEDNER_ON : MEDNER_OFF;
    doc_state d;
    memset(&d, 0, sizeof d);
    d.enc = (medner_encoding *)encoding; /* borrowed: not freed below */
    d.n_windows = n_windows;
    d.n_tokens = medner_encoding_num_tokens(encoding);
    int rc = alloc_centered(&tmp, &d, 0);
    for (size_t w = 0; w < n_windows && rc == MEDNER_OK; w++) {
        medner_window win = MEDNER_WINDOW_INIT;
        medner_encoding_window(encoding, w, &win);
        if (d.logits)
            keep_centered(&tmp, &d, &win, window_logits[w], text);
        else if ((rc = decode_window(&tmp, &d, &win, window_logits[w], text)) != MEDNER_OK)
            rc = medner__fail(rc, "medner_decoder_decode: out of memory");
    }
    if (rc == MEDNER_OK)
        rc = finish_ents(&tmp, &d);
    if (rc == MEDNER_OK)
        rc = medner__entities_create(out, decoder, &d.ents, text, len, d.n_tokens,
                                     medner__decoder_aggregation(decoder) ==
                                         MEDNER_AGGREGATION_NONE);
    d.enc = NULL;
    doc_release(&d);
    return rc;
}

size_t medner_decoder_num_labels(const medner_decoder *decoder)
{
    return decoder ? medner__decoder_n_labels(decoder) : 0;
}

const medner_tokenizer *medner_pipeline_tokenizer(const medner_pipeline *p)
{
    return p ? p->tok : NULL;
}

const medner_decoder *medner_pipeline_decoder(const medner_pipeline *p)
{
    return p ? p->dec : NULL;
}

int medner_pipeline_load_config(medner_pipeline **out, const char *config_path,
                                const medner_pipeline_params *overrides)
{
    if (out == NULL || config_path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_pipeline_load_config: out and config_path are required");
    medner__config_file cfg;
    int rc = medner__config_file_load(&cfg, config_path);
    if (rc != MEDNER_OK)
        return rc;
    rc = medner__config_apply_overrides(&cfg.params, &cfg.decoder, overrides);
    if (rc == MEDNER_OK)
        rc = medner_pipeline_create(out, &cfg.params);
    medner__config_file_release(&cfg);
    return rc;
}
