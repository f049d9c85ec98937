/*
 * libFuzzer target: the ConText rule-file reader (src/context/context.c) on
 * arbitrary bytes, through a file like a user's rules. A load either
 * succeeds, and the rules then run on a fixed clinical text (each target's
 * flags only the five category bits, sentence indices in range), or fails
 * with MEDNER_E_INVALID_CONFIG and a "PATH:" message, leaving *out alone;
 * nothing may stay allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "context/context.h"
#include "fuzz_files.h"

#define check fuzz_check

static char dir[512], path[600];

/* the fuzzer's bytes as a rule file in a memory-backed scratch directory */
static void write_input(const uint8_t *data, size_t size)
{
    fuzz_scratch_dir(dir, sizeof dir, "context");
    snprintf(path, sizeof path, "%s/rules.yaml", dir);
    fuzz_write_file(dir, "rules.yaml", data, size);
}

static const char text[] =
    "Patient denies chest pain but reports cough. Mother had breast cancer.\n"
    "No increase in pain; h/o MI s/p CABG. Return if fever develops. Possible pneumonia.";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    medner_context_rules *r = (medner_context_rules *)(uintptr_t)1;
    int rc = medner__context_rules_load(&r, path);
    unlink(path); /* libFuzzer may end the process without running atexit handlers */
    rmdir(dir);
    if (rc == MEDNER_OK) {
        check(r != NULL && r != (medner_context_rules *)(uintptr_t)1);
        size_t nl = (size_t)(strchr(text, '\n') - text);
        medner__span s[3] = { { 0, 20 }, { 21, nl }, { nl + 1, sizeof text - 1 } };
        static const char *const labels[] = { "Sign_symptom", "B-Disease", NULL };
        medner__ctx_target t[12];
        for (size_t i = 0; i < 12; i++) {
            size_t b = (i * 13) % (sizeof text - 2);
            t[i] = (medner__ctx_target){ b, b + 1 + i % 9 < sizeof text ? b + 1 + i % 9 : b + 1,
                                         labels[i % 3], 0, MEDNER_SECTION_NONE, 0 };
        }
        check(medner__context_apply_sentences(r, text, sizeof text - 1, s, 3, NULL, 0, t, 12) ==
              MEDNER_OK);
        for (size_t i = 0; i < 12; i++)
            check((t[i].flags & ~0x1Fu) == 0 && t[i].sentence < 3);
        medner__context_rules_free(r);
    } else {
        check(rc == MEDNER_E_INVALID_CONFIG);
        check(strncmp(medner_last_error(), path, strlen(path)) == 0 ||
              strncmp(medner_last_error(), "default_rules.yaml", 18) == 0);
        check(r == (medner_context_rules *)(uintptr_t)1);
    }
    check(medner__live_allocations() == 0);
    return 0;
}
