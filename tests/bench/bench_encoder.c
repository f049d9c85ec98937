/*
 * Encoder latency for one shape: N sequences of L tokens through a model
 * directory, with T threads per forward pass (medner_encoder_params.threads);
 * median of R runs after a warm-up.
 * Also measures, in the same process, the SGEMM-bound limit: the time
 * OpenBLAS takes for exactly the matrix products of this forward pass
 * (same shapes, same order, no other work) with T OpenBLAS threads, and
 * reports the model FLOPs.
 *   bench_encoder MODEL_DIR L N THREADS [REPEATS [PRECISION]]
 * PRECISION: fp32 (default), bf16, int8 or auto (medner_encoder_params
 * .precision); the JSON line carries the precision and kernels in use
 * (medner_encoder_info.precision / .kernels) and "gemm", the value of the
 * environment variable MEDNER_GEMM ("own" when unset). When the encoder
 * cannot be loaded at that precision (e.g. "precision ... is not
 * available"), the harness prints a JSON line with "skipped" (the error)
 * and exits 0, so that the bench goes on with the other rows.
 * Prints one JSON line. `make bench-encoder` runs it beside PyTorch and
 * ONNX Runtime (tests/bench/bench_encoder.sh).
 */
#include <cblas.h>
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

static void gemm(float *y, const float *x, const float *w, size_t M, size_t N, size_t K)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, x, (int)K,
                w, (int)K, 0.0f, y, (int)N);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_encoder MODEL_DIR SEQ_LEN BATCH THREADS [REPEATS [PRECISION]]\n");
        return 2;
    }
    const char *prec_name = argc > 6 ? argv[6] : "fp32";
    medner_precision prec;
    if (strcmp(prec_name, "fp32") == 0)
        prec = MEDNER_PRECISION_FP32;
    else if (strcmp(prec_name, "bf16") == 0)
        prec = MEDNER_PRECISION_BF16;
    else if (strcmp(prec_name, "int8") == 0)
        prec = MEDNER_PRECISION_INT8;
    else if (strcmp(prec_name, "auto") == 0)
        prec = MEDNER_PRECISION_AUTO;
    else {
        fprintf(stderr, "bench_encoder: unknown precision '%s' (fp32, bf16, int8, auto)\n", prec_name);
        return 2;
    }
    const char *gemm_env = getenv("MEDNER_GEMM");
    const char *dir = argv[1];
    size_t L = strtoul(argv[2], NULL, 10), B = strtoul(argv[3], NULL, 10);
    int threads = atoi(argv[4]), repeats = argc > 5 ? atoi(argv[5]) : 10;
    openblas_set_num_threads(threads); /* for the SGEMM-bound reference */
    medner_encoder *e = NULL;
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.threads = (uint32_t)threads;
    ep.precision = prec;
    double t0 = now();
    if (medner_encoder_load(&e, dir, &ep) != MEDNER_OK) {
        /* A precision this build or CPU does not run: a skip line, not a failure. */
        const char *err = medner_last_error();
        printf("{\"tool\":\"medner\",\"model\":\"%s\",\"seq\":%zu,\"batch\":%zu,\"threads\":%d,"
               "\"requested\":\"%s\",\"gemm\":\"%s\",\"skipped\":\"",
               dir, L, B, threads, prec_name, gemm_env ? gemm_env : "own");
        for (const char *q = err ? err : "load failed"; *q; q++) {
            if (*q == '"' || *q == '\\')
                putchar('\\');
            putchar((unsigned char)*q < 0x20 ? ' ' : *q);
        }
        printf("\"}\n");
        return 0;
    }
    double load_s = now() - t0;
    medner_encoder_info in = MEDNER_ENCODER_INFO_INIT;
    medner_encoder_get_info(e, &in);
    medner_context *c = NULL;
    medner_context_create(&c, e);
    int32_t **ids = malloc(B * sizeof *ids);
    size_t *lens = malloc(B * sizeof *lens);
    unsigned seed = 7;
    for (size_t b = 0; b < B; b++) {
        ids[b] = malloc(L * sizeof **ids);
        for (size_t k = 0; k < L; k++)
            ids[b][k] = (int32_t)(1000 + rand_r(&seed) % 20000) % (int32_t)in.vocab_size;
        ids[b][0] = 101 % (int32_t)in.vocab_size;
        lens[b] = L;
    }
    double *times = malloc((size_t)(repeats + 1) * sizeof *times);
    for (int r = 0; r <= repeats; r++) {
        double s = now();
        if (medner_encoder_run(c, (const int32_t *const *)ids, NULL, lens, B) != MEDNER_OK) {
            fprintf(stderr, "run: %s\n", medner_last_error());
            return 1;
        }
        times[r] = now() - s;
    }
    double med = median(times + 1, repeats);

    /* SGEMM-bound limit: the same products on scratch buffers. */
    size_t H = in.hidden_size, F = in.intermediate_size, T = L * B, D = H / in.heads;
    size_t C = in.num_labels;
    float *x = calloc(T * (F > 4 * H ? F : 4 * H), sizeof(float));
    float *y = calloc(T * (F > 4 * H ? F : 4 * H), sizeof(float));
    float *w = calloc((F > H ? F : H) * H, sizeof(float));
    float *s = calloc(L * L, sizeof(float));
    double flops = 0;
    for (size_t l = 0; l < in.layers; l++) {
        flops += 2.0 * T * H * H * 4 + 2.0 * T * H * F * 2 + 2.0 * 2 * B * in.heads * L * L * D;
    }
    flops += 2.0 * T * H * C;
    double *gt = malloc((size_t)(repeats + 1) * sizeof *gt);
    for (int r = 0; r <= repeats; r++) {
        double st = now();
        for (size_t l = 0; l < in.layers; l++) {
            for (int q = 0; q < 3; q++)
                gemm(y, x, w, T, H, H);
            for (size_t b = 0; b < B; b++)
                for (size_t h = 0; h < in.heads; h++) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)L, (int)L, (int)D,
                                1.0f, x, (int)(4 * H), x, (int)(4 * H), 0.0f, s, (int)L);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)L, (int)D, (int)L,
                                1.0f, s, (int)L, x, (int)(4 * H), 0.0f, y, (int)(4 * H));
                }
            gemm(y, x, w, T, H, H);
            gemm(y, x, w, T, F, H);
            gemm(y, x, w, T, H, F);
        }
        if (C)
            gemm(y, x, w, T, C, H);
        gt[r] = now() - st;
    }
    double gmed = median(gt + 1, repeats);
    printf("{\"tool\":\"medner\",\"model\":\"%s\",\"seq\":%zu,\"batch\":%zu,\"threads\":%d,"
           "\"latency_median_s\":%.6f,\"tokens_per_s\":%.1f,\"sgemm_bound_s\":%.6f,"
           "\"gflop\":%.3f,\"sgemm_gflops\":%.1f,\"load_s\":%.6f,\"repeats\":%d,"
           "\"requested\":\"%s\",\"precision\":\"%s\",\"kernels\":\"%s\",\"gemm\":\"%s\"}\n",
           dir, L, B, threads, med, (double)T / med, gmed, flops / 1e9, flops / gmed / 1e9, load_s,
           repeats, prec_name, in.precision ? in.precision : "?", in.kernels ? in.kernels : "?",
           gemm_env ? gemm_env : "own");
    for (size_t b = 0; b < B; b++)
        free(ids[b]);
    free(ids);
    free(lens);
    free(times);
    free(gt);
    free(x);
    free(y);
    free(w);
    free(s);
    medner_context_free(c);
    medner_encoder_free(e);
    return 0;
}
