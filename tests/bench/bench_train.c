/*
 * make bench-train, medner's side: training steps of a token classifier
 * (forward with dropout 0.1, cross-entropy, backward, AdamW step) on a
 * batch of random ids, timed one by one; prints one JSON line with the
 * median step time, tokens/s and the process's peak RSS.
 *
 *   bench_train MODEL_DIR THREADS BATCH SEQ STEPS [full|lora] [fp32|bf16]
 *
 * The batch: BATCH sequences of SEQ tokens, ids drawn from a fixed seed in
 * [1000, vocab), label -100 on the first and last token (CLS, SEP) and a
 * random label elsewhere: the same shapes as tests/reference/bench_train_ref.py
 * (which draws its own ids: speed does not depend on the values). lora: r 8,
 * alpha 16, dropout 0.1 on query,key,value,dense, classifier saved.
 * bf16: the training context's mixed precision (medner__train_ctx_set_bf16:
 * the dense products on AMX-BF16 / AVX512-BF16); the row names the kernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kernels/bgemm.h"
#include "train/lora.h"
#include "train/train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void) /* this process's CPU time: robust to time-slicing on a shared machine */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL_DIR THREADS BATCH SEQ STEPS [full|lora] [fp32|bf16]\n",
                argv[0]);
        return 2;
    }
    size_t threads = (size_t)atol(argv[2]), B = (size_t)atol(argv[3]), L = (size_t)atol(argv[4]),
           steps = (size_t)atol(argv[5]);
    int lora = argc > 6 && strcmp(argv[6], "lora") == 0;
    int bf16 = argc > 7 && strcmp(argv[7], "bf16") == 0;
    medner__model *m;
    if (medner__model_load(&m, argv[1]) != MEDNER_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], medner_last_error());
        return 1;
    }
    medner__tparams *t;
    int rc;
    if (lora) {
        medner__lora_config lc;
        medner__lora_config_default(&lc);
        lc.r = 8;
        lc.alpha = 16.0f;
        lc.dropout = 0.1f;
        const char *tg[] = { "query", "key", "value", "dense" };
        for (size_t i = 0; i < 4; i++)
            lc.target_modules[i] = tg[i];
        lc.n_targets = 4;
        rc = medner__tparams_create_lora(&t, m, &lc);
    } else {
        rc = medner__tparams_create(&t, m);
    }
    if (rc != MEDNER_OK) {
        fprintf(stderr, "%s\n", medner_last_error());
        return 1;
    }
    size_t T = B * L, C = t->config.num_labels;
    int32_t *ids = malloc(T * sizeof *ids), *types = calloc(T, sizeof *types),
            *labels = malloc(T * sizeof *labels);
    size_t *lens = malloc(B * sizeof *lens);
    uint64_t r = 42;
    for (size_t i = 0; i < T; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        ids[i] = (int32_t)(1000 + (r >> 33) % (t->config.vocab_size - 1000));
        size_t k = i % L;
        labels[i] = k == 0 || k == L - 1 ? -100 : (int32_t)((r >> 20) % C);
    }
    for (size_t s = 0; s < B; s++)
        lens[s] = L;
    medner__tbatch b = { ids, types, labels, lens, B };
    medner__trainer_ctx *c;
    medner__adamw o;
    if (medner__train_ctx_create(&c, threads) != MEDNER_OK || medner__adamw_init(&o, t) != MEDNER_OK) {
        fprintf(stderr, "%s\n", medner_last_error());
        return 1;
    }
    o.lr = 1e-5f;
    if (bf16 && !medner__train_ctx_set_bf16(c, 1)) {
        fprintf(stderr, "bf16: this CPU has no native bf16 kernel\n");
        return 1;
    }
    double *dt = malloc((steps + 2) * sizeof *dt), *dc = malloc((steps + 2) * sizeof *dc),
           loss = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < steps + 2; i++) { /* 2 warm-up steps */
        medner__tdropout d = { 0.1f, 0.1f, 7, i };
        double t0 = now(), c0 = cpu_now();
        medner__tparams_zero_grad(t);
        if (medner__train_step(c, t, &b, &d, 1, 0.0f, &loss, &cnt, NULL) != MEDNER_OK) {
            fprintf(stderr, "%s\n", medner_last_error());
            return 1;
        }
        medner__adamw_step_par(&o, t, medner__train_ctx_par(c));
        dt[i] = now() - t0;
        dc[i] = cpu_now() - c0;
    }
    qsort(dt + 2, steps, sizeof *dt, cmp_d);
    qsort(dc + 2, steps, sizeof *dc, cmp_d);
    double med = dt[2 + steps / 2], cmed = dc[2 + steps / 2];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"tool\": \"medner\", \"precision\": \"%s\", \"kernel\": \"%s\", \"mode\": \"%s\", \"threads\": %zu, \"batch\": %zu, \"seq\": %zu, "
           "\"steps\": %zu, \"median_s\": %.6f, \"min_s\": %.6f, \"tokens_per_s\": %.1f, "
           "\"cpu_s\": %.6f, \"cpu_tokens_per_s\": %.1f, "
           "\"loss\": %.6f, \"trainable\": %zu, \"peak_rss_mb\": %.1f}\n",
           bf16 ? "bf16" : "fp32", bf16 ? medner__bgemm_kernel_name(medner__bgemm_kernel()) : "fp32",
           lora ? "lora" : "full", threads, B, L, steps, med, dt[2], (double)T / med, cmed,
           (double)T / cmed, loss / (double)(cnt ? cnt : 1), t->n, (double)ru.ru_maxrss / 1024.0);
    medner__adamw_release(&o);
    medner__train_ctx_free(c);
    medner__tparams_free(t);
    medner__model_free(m);
    free(ids), free(types), free(labels), free(lens), free(dt), free(dc);
    return 0;
}
