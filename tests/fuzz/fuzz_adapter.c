/*
 * libFuzzer target: PEFT LoRA adapters. The first byte picks what the rest
 * becomes: even -> adapter_config.json (beside the valid
 * adapter_model.safetensors of tests/data/adapters/tiny-bert-tc-lora), odd ->
 * adapter_model.safetensors (beside that adapter's valid config). The
 * adapter is loaded on the tiny base tests/data/models/tiny-bert-tc. A load
 * either succeeds -- and then a forward pass runs -- or fails with a
 * documented status and a message naming the adapter directory or file;
 * nothing stays allocated or mapped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

#define BASE "tests/data/models/tiny-bert-tc"
#define ADAPTER "tests/data/adapters/tiny-bert-tc-lora"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static char dir[512];

static void copy_file(const char *name)
{
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/%s", ADAPTER, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *in = fopen(src, "rb");
    if (in == NULL) {
        fprintf(stderr, "fuzz_adapter: cannot read %s (run from the repository root)\n", src);
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

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(data, 1, size, f) == size);
    check(fclose(f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0') {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/medner-fuzz-adapter-%ld", base ? base : "/tmp",
                 (long)getpid());
        mkdir(dir, 0700);
    }
    if (size == 0)
        return 0;
    int config = (data[0] & 1) == 0;
    if (config) {
        copy_file("adapter_model.safetensors");
        write_file("adapter_config.json", data + 1, size - 1);
    } else {
        copy_file("adapter_config.json");
        write_file("adapter_model.safetensors", data + 1, size - 1);
    }
    long live = medner__live_allocations();
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = dir;
    medner_encoder *e = NULL;
    int rc = medner_encoder_load(&e, BASE, &ep);
    check((rc == MEDNER_OK) == (e != NULL));
    if (rc == MEDNER_OK) {
        medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
        check(medner_encoder_get_info(e, &info) == MEDNER_OK);
        int32_t ids[3] = { 2, 5, 3 };
        const int32_t *seq[1] = { ids };
        size_t n = 3;
        medner_context *c = NULL;
        check(medner_context_create(&c, e) == MEDNER_OK);
        check(medner_encoder_run(c, seq, NULL, &n, 1) == MEDNER_OK);
        medner_context_free(c);
        medner_encoder_free(e);
    } else {
        check(rc == MEDNER_E_IO || rc == MEDNER_E_PARSE || rc == MEDNER_E_UNSUPPORTED ||
              rc == MEDNER_E_INVALID_MODEL || rc == MEDNER_E_LIMIT);
        check(strstr(medner_last_error(), dir) != NULL);
    }
    check(medner__live_allocations() == live);
    return 0;
}
