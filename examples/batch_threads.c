/*
 * A multi-threaded batch annotator: one pipeline (tokenizer, weights,
 * decoder) loaded once and shared by N worker threads, each with its own
 * context. Reads one document per line from stdin, prints
 * "LINE<TAB>LABEL<TAB>BEGIN<TAB>END<TAB>SCORE" per entity, in input order.
 *
 *   cc batch_threads.c $(pkg-config --cflags --libs medner) -lpthread -o batch_threads
 *   OPENBLAS_NUM_THREADS=1 ./batch_threads MODEL_DIR 2 < notes.txt
 *
 * With N medner threads keep OpenBLAS at 1 thread (docs/threading.md).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <medner.h>

typedef struct job {
    const medner_pipeline *pipeline;
    char **lines;
    size_t *lens;
    medner_entities **results;
    size_t first, count; /* this worker's share of the lines */
    int rc;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    medner_context *context = NULL;
    j->rc = medner_pipeline_context_create(&context, j->pipeline);
    /* 8 documents per call: their windows are batched together */
    for (size_t i = 0; j->rc == MEDNER_OK && i < j->count; i += 8) {
        size_t n = j->count - i < 8 ? j->count - i : 8;
        j->rc = medner_pipeline_annotate(j->results + j->first + i, j->pipeline, context,
                                         (const char *const *)j->lines + j->first + i,
                                         j->lens + j->first + i, n);
        if (j->rc != MEDNER_OK)
            fprintf(stderr, "worker: %s\n", medner_last_error());
    }
    medner_context_free(context);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR THREADS < documents\n", argv[0]);
        return 2;
    }
    size_t threads = (size_t)atoi(argv[2]);
    if (threads < 1 || threads > 64)
        threads = 1;
    size_t n = 0, cap = 1024;
    char **lines = malloc(cap * sizeof *lines);
    size_t *lens = malloc(cap * sizeof *lens);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    while (lines && lens && (got = getline(&line, &lcap, stdin)) >= 0) {
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            lens = realloc(lens, cap * sizeof *lens);
        }
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n')
            len--;
        lines[n] = strndup(line, len);
        lens[n++] = len;
    }
    free(line);
    medner_pipeline_params params = MEDNER_PIPELINE_PARAMS_INIT;
    params.model_dir = argv[1];
    medner_pipeline *pipeline = NULL;
    int rc = medner_pipeline_create(&pipeline, &params);
    if (rc != MEDNER_OK) {
        fprintf(stderr, "medner: %s\n", medner_last_error());
        return 1;
    }
    medner_entities **results = calloc(n ? n : 1, sizeof *results);
    pthread_t *th = malloc(threads * sizeof *th);
    job *jobs = malloc(threads * sizeof *jobs);
    size_t per = (n + threads - 1) / threads;
    for (size_t t = 0; t < threads; t++) {
        size_t first = t * per < n ? t * per : n;
        size_t count = n - first < per ? n - first : per;
        jobs[t] = (job){ pipeline, lines, lens, results, first, count, MEDNER_OK };
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    int status = 0;
    for (size_t t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        status |= jobs[t].rc != MEDNER_OK;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < medner_entities_count(results[i]); k++) {
            medner_entity e = MEDNER_ENTITY_INIT;
            medner_entities_get(results[i], k, &e);
            printf("%zu\t%s\t%zu\t%zu\t%.4f\n", i + 1, e.label, e.begin, e.end, e.score);
        }
        medner_entities_free(results[i]);
        free(lines[i]);
    }
    free(results);
    free(th);
    free(jobs);
    free(lines);
    free(lens);
    medner_pipeline_free(pipeline);
    return status;
}
