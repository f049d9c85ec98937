/*
 * Limits benchmark: one call of medner_pipeline_annotate on a very long text
 * (default 100 MB of synthetic clinical sentences in paragraphs) and on
 * pathological texts (a single word, punctuation, CJK, emoji, newlines),
 * with a model directory (default: the tiny fixture model). Prints, per
 * text: bytes, tokens, entities, seconds, MB/s, the allocator high-water
 * mark of the call (medner's own allocations, through a counting
 * allocator hook) and the process's peak RSS. Then one call with many
 * texts (default 1000 of 10 KiB, and a tenth as many) and its working memory:
 * the high-water mark minus what the call leaves allocated (the results).
 *   bench_limits [MODEL_DIR [MEGABYTES [PATHOLOGICAL_MEGABYTES [MAX_LENGTH
 *                [N_TEXTS [TEXT_KIB]]]]]]
 * (0 megabytes or 0 texts skips that part.)
 * Build and run: make bench-limits (LIMITS_MB=100 PATHO_MB=10 MAX_LENGTH=128
 * MANY_TEXTS=1000 TEXT_KIB=10).
 * The tiny model's speed is not the point (its 512-token windows are
 * attention-bound); MAX_LENGTH shortens the windows to keep a 100 MB run to
 * minutes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "medner.h"
#include "../unit/countalloc.h"


static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static const char *const sentences[] = {
    "Patient admitted with fever 38.5\xC2\xB0" "C and productive cough. ",
    "Chest X-ray showed right lower lobe consolidation; started amoxicillin 500 mg t.i.d. ",
    "History of type 2 diabetes mellitus and BRCA1-associated breast cancer. ",
    "Hemoglobin A1c 7.2%, eGFR 45 mL/min/1.73 m\xC2\xB2, \xCE\xB2-blocker continued. ",
    "Denies chest pain, dyspnea or syncope; no evidence of deep vein thrombosis.\n",
    "\n",
};

static char *clinical(size_t bytes, size_t *len)
{
    char *t = malloc(bytes + 256);
    size_t n = 0, k = 0;
    if (t == NULL)
        return NULL;
    while (n < bytes) {
        const char *s = sentences[k++ % 6];
        size_t l = strlen(s);
        memcpy(t + n, s, l);
        n += l;
    }
    *len = n;
    return t;
}

static char *repeat(const char *unit, size_t bytes, size_t *len)
{
    size_t u = strlen(unit), reps = bytes / u;
    char *t = malloc(reps * u + 1);
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < reps; i++)
        memcpy(t + i * u, unit, u);
    *len = reps * u;
    return t;
}

static int run(const medner_pipeline *p, medner_context *c, const char *name, char *text,
               size_t len)
{
    if (text == NULL) {
        fprintf(stderr, "bench_limits: out of memory for %s\n", name);
        return 1;
    }
    size_t before = countalloc_in_use;
    countalloc_high = countalloc_in_use;
    double t0 = now();
    medner_entities *e = NULL;
    const char *tp = text;
    int rc = medner_pipeline_annotate(&e, p, c, &tp, &len, 1);
    double dt = now() - t0;
    if (rc != MEDNER_OK) {
        fprintf(stderr, "bench_limits: %s: %s\n", name, medner_last_error());
        free(text);
        return 1;
    }
    size_t result = countalloc_in_use - before;
    printf("%-12s %11zu bytes %10zu tokens %9zu entities %8.1f s %7.2f MB/s  "
           "high-water %7.1f MiB (result %6.1f MiB)  peak RSS %5ld MiB\n",
           name, len, medner_entities_num_tokens(e), medner_entities_count(e), dt,
           (double)len / dt / 1e6, (double)(countalloc_high - before) / 1048576.0,
           (double)result / 1048576.0, peak_rss_mib());
    fflush(stdout);
    medner_entities_free(e);
    free(text);
    return 0;
}

/* One call on n texts of `kib` KiB each (clinical sentences, cut at
 * character boundaries): working memory = high-water mark - results. */
static int run_many(const medner_pipeline *p, medner_context *c, size_t n, size_t kib)
{
    size_t size = kib * 1024, len = 0;
    char *all = clinical(n * size, &len);
    const char **texts = malloc(n * sizeof *texts);
    size_t *lens = malloc(n * sizeof *lens);
    medner_entities **out = malloc(n * sizeof *out);
    if (all == NULL || texts == NULL || lens == NULL || out == NULL) {
        fprintf(stderr, "bench_limits: out of memory for %zu texts\n", n);
        return 1;
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t end = pos + size;
        while (((unsigned char)all[end] & 0xC0) == 0x80)
            end--;
        texts[i] = all + pos;
        lens[i] = end - pos;
        pos = end;
    }
    size_t before = countalloc_in_use;
    countalloc_high = countalloc_in_use;
    double t0 = now();
    int rc = medner_pipeline_annotate(out, p, c, texts, lens, n);
    double dt = now() - t0;
    if (rc != MEDNER_OK) {
        fprintf(stderr, "bench_limits: %zu texts: %s\n", n, medner_last_error());
        return 1;
    }
    size_t results = countalloc_in_use - before, entities = 0, tokens = 0;
    for (size_t i = 0; i < n; i++) {
        entities += medner_entities_count(out[i]);
        tokens += medner_entities_num_tokens(out[i]);
        medner_entities_free(out[i]);
    }
    printf("%5zu texts of %2zu KiB %10zu tokens %9zu entities %8.1f s %7.2f MB/s  "
           "high-water %7.1f MiB (results %6.1f MiB, working %6.2f MiB)  peak RSS %5ld MiB\n",
           n, kib, tokens, entities, dt, (double)pos / dt / 1e6,
           (double)(countalloc_high - before) / 1048576.0, (double)results / 1048576.0,
           (double)(countalloc_high - before - results) / 1048576.0, peak_rss_mib());
    fflush(stdout);
    free(out);
    free(lens);
    free(texts);
    free(all);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/models/tiny-bert-tc";
    size_t mb = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    size_t pmb = argc > 3 ? strtoul(argv[3], NULL, 10) : 10;
    uint32_t max_length = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 0;
    size_t many = argc > 5 ? strtoul(argv[5], NULL, 10) : 1000;
    size_t kib = argc > 6 ? strtoul(argv[6], NULL, 10) : 10;
    countalloc_install();
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = dir;
    pp.max_length = max_length;
    pp.overlap = max_length ? max_length / 4 : 0;
    medner_pipeline *p = NULL;
    medner_context *c = NULL;
    if (medner_pipeline_create(&p, &pp) != MEDNER_OK ||
        medner_pipeline_context_create(&c, p) != MEDNER_OK) {
        fprintf(stderr, "bench_limits: %s\n", medner_last_error());
        return 1;
    }
    printf("model %s, windows of %u tokens (0: the model's), one call per text\n", dir,
           max_length);
    size_t len = 0;
    int bad = 0;
    char *t;
    if (mb > 0) {
        t = clinical(mb * 1000 * 1000, &len);
        bad |= run(p, c, "clinical", t, len);
    }
    static const struct {
        const char *name, *unit;
    } kinds[] = {
        { "one word", "a" },
        { "punctuation", "!?.,;:-()[]{}" },
        { "CJK", "\xE6\x82\xA3\xE8\x80\x85\xE5\x8F\x91\xE7\x83\xAD" },
        { "emoji", "\xF0\x9F\x98\xB7\xF0\x9F\xA4\x92" },
        { "newlines", "\n" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds && pmb > 0; k++) {
        t = repeat(kinds[k].unit, pmb * 1000 * 1000, &len);
        bad |= run(p, c, kinds[k].name, t, len);
    }
    if (many > 0 && kib > 0) {
        /* a tenth as many texts first (it also grows the context's workspace) */
        bad |= run_many(p, c, many / 10 ? many / 10 : 1, kib);
        bad |= run_many(p, c, many, kib);
    }
    medner_context_free(c);
    medner_pipeline_free(p);
    return bad;
}
