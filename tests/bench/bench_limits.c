/*
 * Limits benchmark: one call of medner_pipeline_annotate on a very long text
 * (default 100 MB of synthetic clinical sentences in paragraphs) and on
 * pathological texts (a single word, punctuation, CJK, emoji, newlines),
 * with a model directory (default: the tiny fixture model). Prints, per
 * text: bytes, tokens, entities, seconds, MB/s, the allocator high-water
 * mark of the call (medner's own allocations, through a counting
 * allocator hook) and the process's peak RSS.
 *   bench_limits [MODEL_DIR [MEGABYTES [PATHOLOGICAL_MEGABYTES [MAX_LENGTH]]]]
 * Build and run: make bench-limits (LIMITS_MB=100 PATHO_MB=10 MAX_LENGTH=128).
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

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/models/tiny-bert-tc";
    size_t mb = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    size_t pmb = argc > 3 ? strtoul(argv[3], NULL, 10) : 10;
    uint32_t max_length = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 0;
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
    char *t = clinical(mb * 1000 * 1000, &len);
    bad |= run(p, c, "clinical", t, len);
    static const struct {
        const char *name, *unit;
    } kinds[] = {
        { "one word", "a" },
        { "punctuation", "!?.,;:-()[]{}" },
        { "CJK", "\xE6\x82\xA3\xE8\x80\x85\xE5\x8F\x91\xE7\x83\xAD" },
        { "emoji", "\xF0\x9F\x98\xB7\xF0\x9F\xA4\x92" },
        { "newlines", "\n" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        t = repeat(kinds[k].unit, pmb * 1000 * 1000, &len);
        bad |= run(p, c, kinds[k].name, t, len);
    }
    medner_context_free(c);
    medner_pipeline_free(p);
    return bad;
}
