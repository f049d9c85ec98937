/*
 * libFuzzer target: the model loader on an arbitrary safetensors file.
 * The first input byte picks the config.json (bit 0: a tiny BERT or a tiny
 * DistilBERT token classifier; bit 1: head required or no architectures);
 * the rest is written to model.safetensors in a temporary model directory
 * and loaded. Besides "no crash, no leak, no sanitizer report", it checks:
 *   - the status is OK or one of PARSE / UNSUPPORTED / INVALID_MODEL / LIMIT;
 *   - on failure nothing stays allocated and the out-parameter is untouched;
 *   - on success every weight is readable in full (owned buffers under ASan;
 *     mapped ones must lie inside the mapping), the sizes match the config.
 * Built with clang -fsanitize=fuzzer by `make fuzz`; tests/fuzz/replay.c runs
 * the saved corpus without libFuzzer in `make test`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_files.h"
#include "model/model_internal.h" /* private to src/model: limits, mappings (a test may) */

/* hidden 4, 1 head, intermediate 4, vocab 4, 4 positions, 1 layer, 2 labels */
static const char *const configs[4] = {
    ("{\"architectures\": [\"BertForTokenClassification\"], \"model_type\": \"bert\", "
     "\"hidden_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 1, "
     "\"intermediate_size\": 4, \"max_position_embeddings\": 4, \"type_vocab_size\": 1, "
     "\"vocab_size\": 4, \"id2label\": {\"0\": \"O\", \"1\": \"B\"}}"),
    ("{\"architectures\": [\"DistilBertForTokenClassification\"], \"model_type\": \"distilbert\", "
     "\"dim\": 4, \"n_layers\": 1, \"n_heads\": 1, \"hidden_dim\": 4, "
     "\"max_position_embeddings\": 4, \"vocab_size\": 4, \"id2label\": {\"0\": \"O\", \"1\": \"B\"}}"),
    ("{\"model_type\": \"bert\", \"hidden_size\": 4, \"num_hidden_layers\": 1, "
     "\"num_attention_heads\": 1, \"intermediate_size\": 4, \"max_position_embeddings\": 4, "
     "\"type_vocab_size\": 1, \"vocab_size\": 4}"),
    ("{\"model_type\": \"distilbert\", \"dim\": 4, \"n_layers\": 1, \"n_heads\": 1, "
     "\"hidden_dim\": 4, \"max_position_embeddings\": 4, \"vocab_size\": 4}"),
};

static char dirs[4][64];

static void cleanup(void)
{
    for (int i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, "%.64s/model.safetensors", dirs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%.64s/config.json", dirs[i]);
        unlink(path);
        rmdir(dirs[i]);
    }
}

static void touch(const medner__model *m, const float *w, size_t n)
{
    fuzz_check(w != NULL);
    if (medner__model_is_mapped(m, w, 0))
        fuzz_check(medner__model_is_mapped(m, w, n * sizeof *w));
    volatile float sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += w[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dirs[0][0] == '\0') {
        for (int i = 0; i < 4; i++) {
            snprintf(dirs[i], sizeof dirs[i], "/tmp/medner-fuzz-st-XXXXXX");
            fuzz_check(mkdtemp(dirs[i]) != NULL);
            fuzz_write_file(dirs[i], "config.json", (const uint8_t *)configs[i],
                            strlen(configs[i]));
        }
        atexit(cleanup);
    }
    if (size == 0)
        return 0;
    const char *dir = dirs[data[0] & 3];
    fuzz_write_file(dir, "model.safetensors", data + 1, size - 1);
    medner__model *m = (medner__model *)0x1;
    int rc = medner__model_load(&m, dir);
    if (rc != MEDNER_OK) {
        fuzz_check(rc == MEDNER_E_PARSE || rc == MEDNER_E_UNSUPPORTED ||
              rc == MEDNER_E_INVALID_MODEL || rc == MEDNER_E_LIMIT);
        fuzz_check(m == (medner__model *)0x1);
        fuzz_check(medner__live_allocations() == 0);
        return 0;
    }
    const medner__config *c = &m->config;
    size_t h = c->hidden;
    fuzz_check(h == 4 && c->layers == 1 && c->vocab_size == 4 && c->max_positions == 4);
    fuzz_check(m->file_bytes == size - 1 && m->n_files == 1);
    touch(m, m->weights.word_emb, c->vocab_size * h);
    touch(m, m->weights.pos_emb, c->max_positions * h);
    if (c->arch == MEDNER__ARCH_BERT)
        touch(m, m->weights.type_emb, c->type_vocab_size * h);
    else
        fuzz_check(m->weights.type_emb == NULL);
    touch(m, m->weights.emb_ln_g, h);
    touch(m, m->weights.emb_ln_b, h);
    const medner__layer *l = &m->weights.layers[0];
    const float *vec[] = { l->q_b, l->k_b, l->v_b, l->o_b, l->ln1_g, l->ln1_b, l->ffn1_b,
                           l->ffn2_b, l->ln2_g, l->ln2_b };
    const float *mat[] = { l->q_w, l->k_w, l->v_w, l->o_w, l->ffn1_w, l->ffn2_w };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++)
        touch(m, vec[i], h);
    for (size_t i = 0; i < sizeof mat / sizeof mat[0]; i++)
        touch(m, mat[i], h * c->intermediate);
    if (c->num_labels > 0) {
        fuzz_check(c->head == MEDNER__HEAD_REQUIRED && c->num_labels == 2);
        touch(m, m->weights.cls_w, c->num_labels * h);
        touch(m, m->weights.cls_b, c->num_labels);
    } else {
        fuzz_check(c->head == MEDNER__HEAD_NONE && m->weights.cls_w == NULL);
    }
    fuzz_check(m->n_mapped + m->n_owned <= 5 + 16 + 2);
    medner__model_free(m);
    fuzz_check(medner__live_allocations() == 0);
    return 0;
}
