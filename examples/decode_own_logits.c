/*
 * Decoding logits of your own encoder: medner tokenizes the text into
 * windows, YOUR encoder (ONNX Runtime, PyTorch, a GPU server...) computes
 * each window's per-token logits, and medner_decoder_decode() turns them
 * into entities exactly as medner_pipeline_annotate() would.
 *
 * Here medner's own encoder stands in for "your encoder" (run_my_encoder),
 * so the program can check itself: it prints the entities and compares
 * them with the pipeline's on the same text ("same as the pipeline: yes").
 *
 *   cc decode_own_logits.c $(pkg-config --cflags --libs medner) -o decode_own_logits
 *   ./decode_own_logits MODEL_DIR "Patient with type 2 diabetes, on metformin."
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <medner.h>

/* Stand-in for your own encoder: logits of every window, one malloc'd
 * array per window (window length x n_labels floats, [CLS]/[SEP] rows
 * included). */
static int run_my_encoder(const medner_encoder *encoder, const medner_encoding *enc,
                          size_t n_labels, float **logits)
{
    medner_context *ctx = NULL;
    int rc = medner_context_create(&ctx, encoder);
    for (size_t w = 0; rc == MEDNER_OK && w < medner_encoding_num_windows(enc); w++) {
        medner_window win = MEDNER_WINDOW_INIT;
        medner_encoding_window(enc, w, &win);
        rc = medner_encoder_run(ctx, &win.ids, NULL, &win.length, 1);
        if (rc == MEDNER_OK) {
            logits[w] = malloc(win.length * n_labels * sizeof(float));
            if (logits[w] == NULL)
                rc = MEDNER_E_OUT_OF_MEMORY;
            else
                memcpy(logits[w], medner_context_logits(ctx, 0),
                       win.length * n_labels * sizeof(float));
        }
    }
    medner_context_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT\n", argv[0]);
        return 2;
    }
    const char *text = argv[2];
    size_t len = strlen(text);
    /* a pipeline only to get a matching tokenizer, decoder and windowing
     * (an integrator may create these with medner_tokenizer_load() and
     * medner_decoder_create() from the model's labels instead) */
    medner_pipeline_params params = MEDNER_PIPELINE_PARAMS_INIT;
    params.model_dir = argv[1];
    params.context = MEDNER_OFF; /* decode gives no clinical context */
    medner_pipeline *pipeline = NULL;
    medner_encoding *enc = NULL;
    medner_entities *mine = NULL, *theirs = NULL;
    medner_context *ctx = NULL;
    float **logits = NULL;
    size_t n_windows = 0;
    int rc = medner_pipeline_create(&pipeline, &params);
    medner_pipeline_params eff = MEDNER_PIPELINE_PARAMS_INIT;
    if (rc == MEDNER_OK)
        rc = medner_pipeline_get_params(pipeline, &eff);
    const medner_decoder *decoder = medner_pipeline_decoder(pipeline);
    size_t n_labels = medner_decoder_num_labels(decoder);
    if (rc == MEDNER_OK) { /* windows as the pipeline makes them */
        medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
        ep.max_length = eff.max_length;
        ep.overlap = eff.overlap;
        rc = medner_tokenizer_encode(&enc, medner_pipeline_tokenizer(pipeline), text, len, &ep);
    }
    if (rc == MEDNER_OK) {
        n_windows = medner_encoding_num_windows(enc);
        logits = calloc(n_windows, sizeof *logits);
        rc = logits ? run_my_encoder(medner_pipeline_encoder(pipeline), enc, n_labels, logits)
                    : MEDNER_E_OUT_OF_MEMORY;
    }
    if (rc == MEDNER_OK)
        rc = medner_decoder_decode(&mine, decoder, medner_pipeline_tokenizer(pipeline), enc,
                                   (const float *const *)logits, n_windows, eff.merge, text, len);
    if (rc == MEDNER_OK)
        rc = medner_pipeline_context_create(&ctx, pipeline);
    if (rc == MEDNER_OK)
        rc = medner_pipeline_annotate(&theirs, pipeline, ctx, &text, &len, 1);
    int same = rc == MEDNER_OK && medner_entities_count(mine) == medner_entities_count(theirs);
    for (size_t i = 0; rc == MEDNER_OK && i < medner_entities_count(mine); i++) {
        medner_entity a = MEDNER_ENTITY_INIT, b = MEDNER_ENTITY_INIT;
        medner_entities_get(mine, i, &a);
        printf("%zu\t%zu\t%s\t%.4f\t%.*s\n", a.begin, a.end, a.label, a.score,
               (int)(a.end - a.begin), text + a.begin);
        if (i < medner_entities_count(theirs) && medner_entities_get(theirs, i, &b) == MEDNER_OK)
            same &= a.begin == b.begin && a.end == b.end && strcmp(a.label, b.label) == 0 &&
                    a.score == b.score;
    }
    if (rc == MEDNER_OK)
        printf("same as the pipeline: %s\n", same ? "yes" : "no");
    else
        fprintf(stderr, "medner: %s: %s\n", medner_status_str(rc), medner_last_error());
    for (size_t w = 0; logits && w < n_windows; w++)
        free(logits[w]);
    free(logits);
    medner_entities_free(mine);
    medner_entities_free(theirs);
    medner_context_free(ctx);
    medner_encoding_free(enc);
    medner_pipeline_free(pipeline);
    return rc == MEDNER_OK && same ? 0 : 1;
}
