/*
 * libFuzzer target: the YAML pipeline configuration reader on arbitrary
 * bytes. The input is written to a temporary file (the reader takes a path),
 * loaded and released. A load either succeeds with a consistent result, or
 * fails with one of the documented statuses and a "PATH:" message; overrides
 * are merged on top of a loaded file; nothing may stay allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/config.h"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static char path[512];

static void write_input(const uint8_t *data, size_t size)
{
    if (path[0] == '\0') {
        /* a file per input: prefer memory-backed /dev/shm (10x faster than
         * a disk-backed /tmp here) */
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/medner-fuzz-config-%ld.yaml", dir ? dir : "/tmp",
                 (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(data, 1, size, f) == size);
    check(fclose(f) == 0);
}

static void check_list(const char *const *items, size_t n)
{
    check((items == NULL) == (n == 0));
    for (size_t i = 0; i < n; i++)
        check(items[i] != NULL && items[i][0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    medner__config_file cfg;
    memset(&cfg, 0x5A, sizeof cfg);
    int rc = medner__config_file_load(&cfg, path);
    unlink(path); /* libFuzzer may end the process without running atexit handlers */
    if (rc == MEDNER_OK) {
        const medner_pipeline_params *p = &cfg.params;
        const medner_decoder_params *d = &cfg.decoder;
        check(p->decoder == d);
        check(p->model_dir != NULL && p->model_dir[0] != '\0');
        check(p->max_length == 0 || p->max_length >= 3);
        check(p->batch_size != 0 || !(cfg.set & MEDNER__CONFIG_HAS_BATCH_SIZE));
        check(p->threads != 0 || !(cfg.set & MEDNER__CONFIG_HAS_THREADS));
        check((unsigned)p->merge <= MEDNER_MERGE_CENTER);
        check((unsigned)p->first_window_only <= MEDNER_OFF);
        check((unsigned)d->aggregation <= MEDNER_AGGREGATION_MAX);
        check((unsigned)d->decoding <= MEDNER_DECODING_CONSTRAINED);
        check((unsigned)d->scheme <= MEDNER_SCHEME_BIOES);
        check(d->min_score >= 0.0 && d->min_score <= 1.0);
        check_list(d->ignore_labels, d->n_ignore_labels);
        check_list(d->keep_labels, d->n_keep_labels);
        check_list(d->rename_from, d->n_renames);
        check_list(d->rename_to, d->n_renames);
        for (size_t i = 1; i < d->n_renames; i++)
            check(strcmp(d->rename_from[i], d->rename_from[0]) != 0);
        /* overrides on top of whatever the file said */
        static const char *const keep[] = { "X" };
        medner_decoder_params od = MEDNER_DECODER_PARAMS_INIT;
        od.keep_labels = keep;
        od.n_keep_labels = 1;
        medner_pipeline_params o = MEDNER_PIPELINE_PARAMS_INIT;
        o.threads = 3;
        o.decoder = &od;
        check(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o) == MEDNER_OK);
        check(cfg.params.threads == 3 && cfg.decoder.keep_labels == keep);
        medner__config_file_release(&cfg);
    } else {
        check(rc == MEDNER_E_PARSE || rc == MEDNER_E_INVALID_CONFIG || rc == MEDNER_E_LIMIT);
        check(strncmp(medner_last_error(), path, strlen(path)) == 0);
        /* untouched on failure */
        const unsigned char *b = (const unsigned char *)&cfg;
        for (size_t i = 0; i < sizeof cfg; i++)
            check(b[i] == 0x5A);
    }
    check(medner__live_allocations() == 0);
    return 0;
}
