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
#include "model/model.h"

#define TINY "tests/data/models/tiny-bert-tc"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static char dir[512];

static void copy_file(const char *name)
{
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/%s", TINY, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *in = fopen(src, "rb");
    if (in == NULL) {
        fprintf(stderr, "fuzz_model_files: cannot read %s (run from the repository root)\n", src);
        exit(1);
    }
    FILE *out = fopen(dst, "wb");
    check(out != NULL);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        check(fwrite(buf, 1, n, out) == n);
    fclose(in);
    check(fclose(out) == 0);
}

static void setup(void)
{
    if (dir[0])
        return;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/medner-fuzz-model-%ld", base ? base : "/tmp", (long)getpid());
    mkdir(dir, 0700);
    copy_file("vocab.txt");
    copy_file("model.safetensors");
}

static const char *const files[] = { "config.json", "tokenizer.json", "tokenizer_config.json",
                                     "special_tokens_map.json" };

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(data, 1, size, f) == size);
    check(fclose(f) == 0);
}

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
        copy_file("config.json");
    write_file(files[which], data + 1, size - 1);
    int rc;
    if (which == 0) {
        medner_encoder *e = NULL;
        rc = medner_encoder_load(&e, dir, NULL);
        check((rc == MEDNER_OK) == (e != NULL));
        if (rc == MEDNER_OK) {
            medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
            check(medner_encoder_get_info(e, &info) == MEDNER_OK);
            check(info.layers > 0 && info.hidden_size > 0 && info.heads > 0);
            for (size_t k = 0; k < info.num_labels; k++)
                check(medner_encoder_label(e, k) != NULL);
            /* a forward pass over every position and the first type id */
            int32_t ids[4] = { 0, 1, 2, 3 };
            size_t n = info.max_positions < 4 ? info.max_positions : 4;
            const int32_t *seq[1] = { ids };
            medner_context *c = NULL;
            check(medner_context_create(&c, e) == MEDNER_OK);
            if (n > 0 && info.vocab_size > 3)
                check(medner_encoder_run(c, seq, NULL, &n, 1) == MEDNER_OK);
            medner_context_free(c);
        }
        medner_encoder_free(e);
    } else {
        medner_tokenizer *t = NULL;
        rc = medner_tokenizer_load(&t, dir, NULL);
        check((rc == MEDNER_OK) == (t != NULL));
        if (rc == MEDNER_OK) {
            const char *text = "Fever 38.5\xC2\xB0" "C, BRCA1 \xCE\xB2-blocker [UNK] [SEP]";
            medner_encoding *enc = NULL;
            check(medner_tokenizer_encode(&enc, t, text, strlen(text), NULL) == MEDNER_OK);
            check(medner_encoding_num_windows(enc) >= 1);
            medner_encoding_free(enc);
        }
        medner_tokenizer_free(t);
    }
    if (rc != MEDNER_OK) {
        check(rc == MEDNER_E_IO || rc == MEDNER_E_PARSE || rc == MEDNER_E_UNSUPPORTED ||
              rc == MEDNER_E_INVALID_MODEL || rc == MEDNER_E_LIMIT);
        const char *msg = medner_last_error();
        check(msg[0] != '\0');
        check(strstr(msg, files[which]) != NULL || strstr(msg, dir) != NULL);
    }
    check(medner__live_allocations() == live);
    return 0;
}
