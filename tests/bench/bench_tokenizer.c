/*
 * Tokenizer throughput, single-threaded: load time of a vocabulary and
 * tokens/s over a file of one document per line (no truncation, [CLS]/[SEP]
 * added), median of R runs after a warm-up. Prints one JSON line; the
 * `make bench-tokenizer` target runs it beside Hugging Face tokenizers.
 *   bench_tokenizer VOCAB TEXTFILE [R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medner.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_tokenizer VOCAB TEXTFILE [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    if (repeats < 1)
        repeats = 1;
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size)
        return 1;
    fclose(f);
    size_t n_docs = 0;
    for (long i = 0; i < size; i++)
        n_docs += data[i] == '\n';
    const char **docs = malloc(n_docs * sizeof *docs);
    size_t *lens = malloc(n_docs * sizeof *lens);
    size_t k = 0, start = 0;
    for (size_t i = 0; i < (size_t)size && k < n_docs; i++)
        if (data[i] == '\n') {
            docs[k] = data + start;
            lens[k++] = i - start;
            start = i + 1;
        }

    double loads[21];
    medner_tokenizer *t = NULL;
    for (int r = 0; r < 21; r++) {
        double t0 = now();
        if (medner_tokenizer_load_vocab(&t, argv[1], NULL) != MEDNER_OK) {
            fprintf(stderr, "load: %s\n", medner_last_error());
            return 1;
        }
        loads[r] = now() - t0;
        if (r < 20)
            medner_tokenizer_free(t);
    }
    double *times = malloc((size_t)(repeats + 1) * sizeof *times);
    size_t tokens = 0;
    for (int r = 0; r <= repeats; r++) { /* run 0 is the warm-up */
        size_t count = 0;
        double t0 = now();
        for (size_t d = 0; d < n_docs; d++) {
            medner_encoding *e;
            if (medner_tokenizer_encode(&e, t, docs[d], lens[d], NULL) != MEDNER_OK) {
                fprintf(stderr, "encode: %s\n", medner_last_error());
                return 1;
            }
            medner_window w = MEDNER_WINDOW_INIT;
            medner_encoding_window(e, 0, &w);
            count += w.length;
            medner_encoding_free(e);
        }
        double dt = now() - t0;
        if (r > 0)
            times[r - 1] = dt;
        tokens = count;
    }
    double med = median(times, repeats);
    printf("{\"tool\":\"medner\",\"version\":\"%s\",\"tokens\":%zu,\"docs\":%zu,"
           "\"encode_median_s\":%.6f,\"encode_tokens_per_s\":%.0f,\"load_median_s\":%.6f}\n",
           medner_version(), tokens, n_docs, med, (double)tokens / med, median(loads, 21));
    medner_tokenizer_free(t);
    free(times);
    free(docs);
    free(lens);
    free(data);
    return 0;
}
