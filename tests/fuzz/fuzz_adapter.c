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
#include "fuzz_files.h"

#define BASE "tests/data/models/tiny-bert-tc"
#define ADAPTER "tests/data/adapters/tiny-bert-tc-lora"


static char dir[512];



int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0')
        fuzz_scratch_dir(dir, sizeof dir, "adapter");
    if (size == 0)
        return 0;
    int config = (data[0] & 1) == 0;
    if (config) {
        fuzz_copy_file(ADAPTER, dir, "adapter_model.safetensors");
        fuzz_write_file(dir, "adapter_config.json", data + 1, size - 1);
    } else {
        fuzz_copy_file(ADAPTER, dir, "adapter_config.json");
        fuzz_write_file(dir, "adapter_model.safetensors", data + 1, size - 1);
    }
    long live = medner__live_allocations();
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = dir;
    medner_encoder *e = NULL;
    int rc = medner_encoder_load(&e, BASE, &ep);
    fuzz_check((rc == MEDNER_OK) == (e != NULL));
    if (rc == MEDNER_OK) {
        medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
        fuzz_check(medner_encoder_get_info(e, &info) == MEDNER_OK);
        int32_t ids[3] = { 2, 5, 3 };
        const int32_t *seq[1] = { ids };
        size_t n = 3;
        medner_context *c = NULL;
        fuzz_check(medner_context_create(&c, e) == MEDNER_OK);
        fuzz_check(medner_encoder_run(c, seq, NULL, &n, 1) == MEDNER_OK);
        medner_context_free(c);
        medner_encoder_free(e);
    } else {
        fuzz_check(rc == MEDNER_E_IO || rc == MEDNER_E_PARSE || rc == MEDNER_E_UNSUPPORTED ||
              rc == MEDNER_E_INVALID_MODEL || rc == MEDNER_E_LIMIT);
        fuzz_check(strstr(medner_last_error(), dir) != NULL);
    }
    fuzz_check(medner__live_allocations() == live);
    return 0;
}
