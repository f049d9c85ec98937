/* medner info DIR [--adapter ADIR]: what a model directory (and adapter) holds. */
#include <string.h>

#include "cli/cli.h"
#include "encoder/encoder.h" /* the adapter summary is not part of the public API */

static const char info_usage[] =
    "usage: medner info DIR [--adapter ADIR]   (DIR may also be given as --base DIR)\n"
    "\n"
    "Describe the Hugging Face model directory DIR: architecture, layers, hidden size,\n"
    "heads, vocabulary, labels, dtype, parameter count and file sizes. Loads the\n"
    "weights (memory-mapped) and the tokenizer, so it also validates them.\n"
    "With --adapter, merges the PEFT LoRA adapter ADIR into DIR (the base model) and\n"
    "shows it too: rank, alpha, scale, target modules, tensors merged and replaced.\n";

int medner_cli_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(info_usage, stdout);
        return 0;
    }
    /* DIR (or --base DIR), optionally --adapter ADIR, in any order */
    const char *dir = NULL, *adapter = NULL;
    int usage = 0;
    for (int i = 1; i < argc && !usage; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "--adapter") || !strcmp(argv[i], "--base")) {
            if (i + 1 < argc)
                slot = argv[i][2] == 'a' ? &adapter : &dir;
            i++;
        } else if (argv[i][0] != '-') {
            slot = &dir;
        }
        usage = slot == NULL || *slot != NULL;
        if (!usage)
            *slot = argv[i];
    }
    if (usage || dir == NULL) {
        fputs(info_usage, stderr);
        return 2;
    }
    medner_encoder *e = NULL;
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = adapter;
    int rc = medner_encoder_load(&e, dir, &ep);
    if (rc != MEDNER_OK) {
        medner_cli_error("info", rc, NULL);
        return 1;
    }
    medner_encoder_info in = MEDNER_ENCODER_INFO_INIT;
    medner_encoder_get_info(e, &in);
    printf("model:          %s\n", dir);
    printf("architecture:   %s (model_type %s)\n", in.architecture[0] ? in.architecture : "-",
           in.model_type);
    printf("layers:         %zu\n", in.layers);
    printf("hidden size:    %zu (%zu heads of %zu)\n", in.hidden_size, in.heads,
           in.hidden_size / in.heads);
    printf("intermediate:   %zu (%s)\n", in.intermediate_size, in.activation);
    printf("positions:      %zu\n", in.max_positions);
    printf("token types:    %zu\n", in.type_vocab_size);
    printf("layer norm eps: %g\n", in.layer_norm_eps);
    printf("vocabulary:     %zu\n", in.vocab_size);
    printf("parameters:     %zu (%.1f M)\n", in.n_params, (double)in.n_params / 1e6);
    printf("weights:        %s, %zu file%s, %zu bytes (%.1f MiB)\n", in.dtype, in.n_files,
           in.n_files == 1 ? "" : "s", in.file_bytes, (double)in.file_bytes / 1048576.0);
    if (in.num_labels == 0) {
        printf("labels:         none (no token-classification head)\n");
    } else {
        /* a label is any string of config.json: control characters escaped */
        medner__buf b = MEDNER__BUF_INIT;
        int brc = MEDNER_OK;
        for (size_t k = 0; k < in.num_labels && brc == MEDNER_OK; k++) {
            brc = medner__buf_putc(&b, ' ');
            brc = brc ? brc : medner_cli_plain_name(&b, medner_encoder_label(e, k));
        }
        if (brc != MEDNER_OK) {
            medner__buf_free(&b);
            medner_encoder_free(e);
            medner_cli_error("info", brc, NULL);
            return 1;
        }
        printf("labels:         %zu:%s\n", in.num_labels, b.data ? b.data : "");
        medner__buf_free(&b);
    }
    const medner__adapter *a = medner__encoder_model(e)->adapter;
    if (a != NULL) {
        printf("adapter:        %s (PEFT LoRA, base %s)\n", a->dir,
               a->base_model ? a->base_model : "-");
        printf("lora:           r %zu, alpha %g, scale %g%s\n", a->r, a->alpha, a->scale,
               a->rslora ? " (rsLoRA: alpha/sqrt(r))" : " (alpha/r)");
        printf("targets:        %s\n", a->targets);
        printf("modules_to_save: %s\n", a->modules_to_save[0] ? a->modules_to_save : "-");
        printf("merged:         %zu weight%s (private fp32 copies), %zu tensor%s replaced",
               a->n_merged, a->n_merged == 1 ? "" : "s", a->n_replaced,
               a->n_replaced == 1 ? "" : "s");
        if (a->n_skipped)
            printf(", %zu LoRA pair%s on unused modules skipped", a->n_skipped,
                   a->n_skipped == 1 ? "" : "s");
        printf("\n");
    }
    medner_tokenizer *t = NULL;
    rc = medner_tokenizer_load(&t, dir, NULL);
    if (rc == MEDNER_OK) {
        medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
        medner_tokenizer_get_params(t, &tp);
        printf("tokenizer:      WordPiece, %zu tokens, %s, max length %u\n",
               medner_tokenizer_vocab_size(t),
               tp.lowercase == MEDNER_ON ? "lower-cased" : "cased", tp.model_max_length);
        if (medner_tokenizer_vocab_size(t) > in.vocab_size)
            printf("warning:        the tokenizer has more tokens than the model's vocabulary\n");
        medner_tokenizer_free(t);
    } else {
        printf("tokenizer:      none usable (%s)\n", medner_last_error());
    }
    medner_encoder_free(e);
    return 0;
}
