/*
 * libFuzzer target: the JSON files of a model directory that arrive with a
 * model -- config.json, tokenizer.json, tokenizer_config.json and
 * special_tokens_map.json -- on arbitrary bytes. The first byte picks the
 * file; the rest becomes that file in a scratch directory that otherwise
 * holds the tiny fixture model's valid files (vocab.txt, model.safetensors,
 * config.json). Then the tokenizer (for the tokenizer files) or the whole
 * model (for config.json) is loaded. A load either succeeds or fails with a
 * documented status and a message naming the file; nothing stays allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "fuzz_files.h"
#include "model/model.h"

#define TINY "tests/data/models/tiny-bert-tc"


static char dir[512];


static void setup(void)
{
    if (dir[0])
        return;
    fuzz_scratch_dir(dir, sizeof dir, "model");
    fuzz_copy_file(TINY, dir, "vocab.txt");
    fuzz_copy_file(TINY, dir, "model.safetensors");
}

static const char *const files[] = { "config.json", "tokenizer.json", "tokenizer_config.json",
                                     "special_tokens_map.json" };


static void remove_file(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    size_t which = data[0] % 4;
    long live = medner__live_allocations();
    for (size_t i = 0; i < 4; i++)
        remove_file(files[i]);
    if (which != 0)
        fuzz_copy_file(TINY, dir, "config.json");
    fuzz_write_file(dir, files[which], data + 1, size - 1);
    int rc;
    if (which == 0) {
        medner_encoder *e = NULL;
        rc = medner_encoder_load(&e, dir, NULL);
        fuzz_check((rc == MEDNER_OK) == (e != NULL));
        if (rc == MEDNER_OK) {
            medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
            fuzz_check(medner_encoder_get_info(e, &info) == MEDNER_OK);
            fuzz_check(info.layers > 0 && info.hidden_size > 0 && info.heads > 0);
            for (size_t k = 0; k < info.num_labels; k++)
                fuzz_check(medner_encoder_label(e, k) != NULL);
            /* a forward pass over every position and the first type id */
            int32_t ids[4] = { 0, 1, 2, 3 };
            size_t n = info.max_positions < 4 ? info.max_positions : 4;
            const int32_t *seq[1] = { ids };
            medner_context *c = NULL;
            fuzz_check(medner_context_create(&c, e) == MEDNER_OK);
            if (n > 0 && info.vocab_size > 3)
                fuzz_check(medner_encoder_run(c, seq, NULL, &n, 1) == MEDNER_OK);
            medner_context_free(c);
        }
        medner_encoder_free(e);
    } else {
        medner_tokenizer *t = NULL;
        rc = medner_tokenizer_load(&t, dir, NULL);
        fuzz_check((rc == MEDNER_OK) == (t != NULL));
        if (rc == MEDNER_OK) {
            const char *text = "Fever 38.5\xC2\xB0" "C, BRCA1 \xCE\xB2-blocker [UNK] [SEP]";
            medner_encoding *enc = NULL;
            fuzz_check(medner_tokenizer_encode(&enc, t, text, strlen(text), NULL) == MEDNER_OK);
            fuzz_check(medner_encoding_num_windows(enc) >= 1);
            /* every id names a vocabulary entry (an added token's id too) */
            medner_window w = MEDNER_WINDOW_INIT;
            fuzz_check(medner_encoding_window(enc, 0, &w) == MEDNER_OK);
            for (size_t k = 0; k < w.length; k++)
                fuzz_check(medner_tokenizer_id_to_token(t, w.ids[k]) != NULL);
            medner_encoding_free(enc);
            /* the tokenizer's own model_max_length is a usable window */
            medner_tokenizer_params tp = MEDNER_TOKENIZER_PARAMS_INIT;
            fuzz_check(medner_tokenizer_get_params(t, &tp) == MEDNER_OK);
            medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
            ep.max_length = tp.model_max_length;
            fuzz_check(medner_tokenizer_encode(&enc, t, text, strlen(text), &ep) == MEDNER_OK);
            medner_encoding_free(enc);
        }
        medner_tokenizer_free(t);
    }
    if (rc != MEDNER_OK) {
        fuzz_check(rc == MEDNER_E_IO || rc == MEDNER_E_PARSE || rc == MEDNER_E_UNSUPPORTED ||
              rc == MEDNER_E_INVALID_MODEL || rc == MEDNER_E_LIMIT);
        const char *msg = medner_last_error();
        fuzz_check(msg[0] != '\0');
        fuzz_check(strstr(msg, files[which]) != NULL || strstr(msg, dir) != NULL);
    }
    fuzz_check(medner__live_allocations() == live);
    return 0;
}
