/*
 * A caller of the last release: compiled against that release's header
 * (tests/abi/v0.1.0/medner.h, tag v0.1.0), run against the newly built
 * shared library (tests/abi/check-old-caller.sh, part of `make check-abi`).
 * It passes every versioned struct through the public API with the
 * struct_size its header gives (MEDNER_*_INIT): allocator, tokenizer params
 * (load, load_vocab) and their getter, encode params, windows, encoder params and info, decoder
 * params, pipeline params (create, load_config overrides) and their getter,
 * entities. Every struct a getter fills is followed by guard bytes that the
 * library must leave alone (it may only fill up to the caller's struct_size).
 *   old_caller MODEL_DIR CONFIG_YAML
 * Exit status 0 when every check passed; each failure is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medner.h"

static int failures;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "old-caller: line %d: %s failed (last error: %s)\n", __LINE__, \
                    #cond, medner_last_error());                                           \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

#define GUARD_BYTE 0xA5
#define GUARD_LEN 64

static int guard_intact(const unsigned char *g)
{
    for (size_t i = 0; i < GUARD_LEN; i++)
        if (g[i] != GUARD_BYTE)
            return 0;
    return 1;
}

/* medner's allocations, counted through the old allocator struct. */
static long live_blocks, total_blocks;

static void *count_alloc(void *u, size_t n)
{
    (void)u;
    live_blocks++;
    total_blocks++;
    return malloc(n);
}

static void *count_realloc(void *u, void *p, size_t n)
{
    (void)u;
    return realloc(p, n);
}

static void count_free(void *u, void *p)
{
    (void)u;
    live_blocks--;
    free(p);
}

static const char text0[] =
    "Patient admitted with fever and productive cough; started amoxicillin 500 mg. "
    "History of type 2 diabetes mellitus and BRCA1-associated breast cancer.";
static const char text1[] = "Hemoglobin A1c 7.2%, eGFR 45 mL/min, beta-blocker continued.";

static void tokenizer_and_encoder(const char *model_dir)
{
    medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
    tp.lowercase = MEDNER_ON;
    tp.max_input_chars_per_word = 50;
    medner_tokenizer *tok = NULL;
    CHECK(medner_tokenizer_load(&tok, model_dir, &tp) == MEDNER_OK);
    if (tok == NULL)
        return;

    /* the same options through medner_tokenizer_load_vocab */
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", model_dir);
    medner_tokenizer *tok2 = NULL;
    CHECK(medner_tokenizer_load_vocab(&tok2, vocab, &tp) == MEDNER_OK);
    CHECK(medner_tokenizer_vocab_size(tok2) == medner_tokenizer_vocab_size(tok));
    medner_tokenizer_free(tok2);

    struct { medner_tokenizer_params s; unsigned char guard[GUARD_LEN]; } gtp;
    memset(&gtp, GUARD_BYTE, sizeof gtp);
    gtp.s.struct_size = sizeof gtp.s;
    CHECK(medner_tokenizer_get_params(tok, &gtp.s) == MEDNER_OK);
    CHECK(gtp.s.struct_size == sizeof gtp.s);
    CHECK(gtp.s.lowercase == MEDNER_ON);
    CHECK(gtp.s.max_input_chars_per_word == 50);
    CHECK(gtp.s.unk_token != NULL && strcmp(gtp.s.unk_token, "[UNK]") == 0);
    CHECK(gtp.s.mask_token != NULL && strcmp(gtp.s.mask_token, "[MASK]") == 0);
    CHECK(guard_intact(gtp.guard));

    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.max_length = 16;
    ep.overlap = 4;
    medner_encoding *enc = NULL;
    CHECK(medner_tokenizer_encode(&enc, tok, text0, strlen(text0), &ep) == MEDNER_OK);
    size_t nw = medner_encoding_num_windows(enc);
    CHECK(nw > 1);
    struct { medner_window s; unsigned char guard[GUARD_LEN]; } gw;
    for (size_t i = 0; i < nw; i++) {
        memset(&gw, GUARD_BYTE, sizeof gw);
        gw.s.struct_size = sizeof gw.s;
        CHECK(medner_encoding_window(enc, i, &gw.s) == MEDNER_OK);
        CHECK(gw.s.struct_size == sizeof gw.s);
        CHECK(gw.s.length >= 3 && gw.s.length <= 16);
        CHECK(gw.s.ids != NULL && gw.s.offsets != NULL && gw.s.word_ids != NULL);
        CHECK(gw.s.first_token == i * (16 - 2 - 4));
        CHECK(guard_intact(gw.guard));
    }
    const char *texts[2] = { text0, text1 };
    size_t lens[2] = { strlen(text0), strlen(text1) };
    medner_encoding *batch[2] = { NULL, NULL };
    CHECK(medner_tokenizer_encode_batch(batch, tok, texts, lens, 2, &ep) == MEDNER_OK);
    CHECK(medner_encoding_num_tokens(batch[0]) == medner_encoding_num_tokens(enc));
    medner_encoding_free(batch[0]);
    medner_encoding_free(batch[1]);

    medner_encoder_params encp = MEDNER_ENCODER_PARAMS_INIT;
    encp.threads = 2;
    medner_encoder *encoder = NULL;
    CHECK(medner_encoder_load(&encoder, model_dir, &encp) == MEDNER_OK);
    if (encoder != NULL) {
        struct { medner_encoder_info s; unsigned char guard[GUARD_LEN]; } gi;
        memset(&gi, GUARD_BYTE, sizeof gi);
        gi.s.struct_size = sizeof gi.s;
        CHECK(medner_encoder_get_info(encoder, &gi.s) == MEDNER_OK);
        CHECK(gi.s.struct_size == sizeof gi.s);
        CHECK(gi.s.model_type != NULL && strcmp(gi.s.model_type, "bert") == 0);
        CHECK(gi.s.num_labels == 9);
        CHECK(gi.s.hidden_size > 0 && gi.s.layers > 0);
        CHECK(gi.s.layer_norm_eps > 0.0 && gi.s.layer_norm_eps < 1e-3);
        CHECK(guard_intact(gi.guard));

        medner_context *ctx = NULL;
        CHECK(medner_context_create(&ctx, encoder) == MEDNER_OK);
        medner_window w = MEDNER_WINDOW_INIT;
        CHECK(medner_encoding_window(enc, 0, &w) == MEDNER_OK);
        const int32_t *ids = w.ids;
        size_t len = w.length;
        CHECK(medner_encoder_run(ctx, &ids, NULL, &len, 1) == MEDNER_OK);
        CHECK(medner_context_logits(ctx, 0) != NULL);

        const char *labels[9];
        for (size_t i = 0; i < 9; i++)
            labels[i] = medner_encoder_label(encoder, i);
        medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
        dp.aggregation = MEDNER_AGGREGATION_SIMPLE;
        medner_decoder *dec = NULL;
        CHECK(medner_decoder_create(&dec, labels, 9, &dp) == MEDNER_OK);
        CHECK(medner_decoder_scheme(dec) == MEDNER_SCHEME_BIO);
        medner_decoder_free(dec);
        medner_context_free(ctx);
        medner_encoder_free(encoder);
    }
    medner_encoding_free(enc);
    medner_tokenizer_free(tok);
}

static void check_entities(medner_entities *const *res, const char *const *texts,
                           const size_t *lens, size_t n, size_t *total)
{
    struct { medner_entity s; unsigned char guard[GUARD_LEN]; } ge;
    for (size_t t = 0; t < n; t++) {
        CHECK(medner_entities_num_tokens(res[t]) > 0);
        for (size_t i = 0; i < medner_entities_count(res[t]); i++) {
            memset(&ge, GUARD_BYTE, sizeof ge);
            ge.s.struct_size = sizeof ge.s;
            CHECK(medner_entities_get(res[t], i, &ge.s) == MEDNER_OK);
            CHECK(ge.s.struct_size == sizeof ge.s);
            CHECK(ge.s.begin < ge.s.end && ge.s.end <= lens[t]);
            CHECK(ge.s.label != NULL && strcmp(ge.s.label, "Chemical") != 0);
            CHECK(ge.s.score > 0.0 && ge.s.score <= 1.0);
            CHECK(ge.s.n_tokens >= 1);
            CHECK(guard_intact(ge.guard));
            (void)texts;
            (*total)++;
        }
    }
}

static void pipeline(const char *model_dir, const char *config)
{
    static const char *const drop[] = { "O", "Chemical" };
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    dp.aggregation = MEDNER_AGGREGATION_SIMPLE;
    dp.ignore_labels = drop;
    dp.n_ignore_labels = 2;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = model_dir;
    pp.max_length = 32;
    pp.overlap = 8;
    pp.batch_size = 3;
    pp.decoder = &dp;
    medner_pipeline *p = NULL;
    CHECK(medner_pipeline_create(&p, &pp) == MEDNER_OK);
    if (p == NULL)
        return;

    struct { medner_pipeline_params s; unsigned char guard[GUARD_LEN]; } gp;
    memset(&gp, GUARD_BYTE, sizeof gp);
    gp.s.struct_size = sizeof gp.s;
    CHECK(medner_pipeline_get_params(p, &gp.s) == MEDNER_OK);
    CHECK(gp.s.struct_size == sizeof gp.s);
    CHECK(gp.s.max_length == 32 && gp.s.overlap == 8 && gp.s.batch_size == 3);
    CHECK(gp.s.merge == MEDNER_MERGE_CENTER && gp.s.first_window_only == MEDNER_OFF);
    CHECK(gp.s.model_dir != NULL && strcmp(gp.s.model_dir, model_dir) == 0);
    CHECK(gp.s.decoder != NULL && gp.s.decoder->aggregation == MEDNER_AGGREGATION_SIMPLE);
    CHECK(gp.s.decoder != NULL && gp.s.decoder->n_ignore_labels == 2);
    CHECK(guard_intact(gp.guard));

    medner_context *ctx = NULL;
    CHECK(medner_pipeline_context_create(&ctx, p) == MEDNER_OK);
    const char *texts[2] = { text0, text1 };
    size_t lens[2] = { strlen(text0), strlen(text1) };
    medner_entities *res[2] = { NULL, NULL };
    CHECK(medner_pipeline_annotate(res, p, ctx, texts, lens, 2) == MEDNER_OK);
    size_t total = 0;
    check_entities(res, texts, lens, 2, &total);
    CHECK(total > 0); /* the fixture's random head finds some */
    medner_entities_free(res[0]);
    medner_entities_free(res[1]);
    medner_context_free(ctx);
    medner_pipeline_free(p);

    /* a YAML config with old-header overrides */
    medner_pipeline_params over = MEDNER_PIPELINE_PARAMS_INIT;
    over.batch_size = 5;
    over.decoder = &dp;
    p = NULL;
    CHECK(medner_pipeline_load_config(&p, config, &over) == MEDNER_OK);
    if (p != NULL) {
        memset(&gp, GUARD_BYTE, sizeof gp);
        gp.s.struct_size = sizeof gp.s;
        CHECK(medner_pipeline_get_params(p, &gp.s) == MEDNER_OK);
        CHECK(gp.s.batch_size == 5 && gp.s.max_length == 24);
        CHECK(guard_intact(gp.guard));
        medner_pipeline_free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: old_caller MODEL_DIR CONFIG_YAML\n");
        return 2;
    }
    printf("old-caller: header %s, library %s; struct sizes: allocator %zu, tokenizer_params "
           "%zu, encode_params %zu, window %zu, encoder_params %zu, encoder_info %zu, "
           "decoder_params %zu, entity %zu, pipeline_params %zu\n",
           MEDNER_VERSION_STRING, medner_version(), sizeof(medner_allocator),
           sizeof(medner_tokenizer_params), sizeof(medner_encode_params), sizeof(medner_window),
           sizeof(medner_encoder_params), sizeof(medner_encoder_info),
           sizeof(medner_decoder_params), sizeof(medner_entity), sizeof(medner_pipeline_params));
    medner_allocator a = MEDNER_ALLOCATOR_INIT;
    a.alloc_fn = count_alloc;
    a.realloc_fn = count_realloc;
    a.free_fn = count_free;
    CHECK(medner_allocator_set(&a) == MEDNER_OK);

    tokenizer_and_encoder(argv[1]);
    pipeline(argv[1], argv[2]);

    CHECK(total_blocks > 0); /* medner allocated through the old-header allocator */
    CHECK(live_blocks == 0);
    CHECK(medner_allocator_set(NULL) == MEDNER_OK);
    if (failures)
        fprintf(stderr, "old-caller: %d check(s) failed\n", failures);
    else
        printf("old-caller: OK (%ld allocations through the caller's allocator)\n", total_blocks);
    return failures ? 1 : 0;
}
