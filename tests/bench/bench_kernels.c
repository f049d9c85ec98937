/*
 * Kernel speed beside the reference twins, and a probe of OpenBLAS's
 * determinism. Single-threaded for the element-wise kernels; the linear and
 * attention timings use OpenBLAS with 1 and 2 threads.
 *   bench_kernels            timings (median of R runs, ns per element / GFLOP/s)
 *   bench_kernels probe      which plain cblas_sgemm calls are row-stable
 * Build: make build/bench/bench_kernels
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/kernels/kernels.h"

/* From OpenBLAS's cblas.h, declared here because the bench build has no
 * OpenBLAS include path. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

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

static uint64_t rng = 88172645463325252u;
static float urand(float lo, float hi)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (hi - lo) * (float)((double)(rng >> 11) * 0x1p-53);
}

static float *farray(size_t n, float lo, float hi)
{
    float *p = malloc(n * sizeof *p);
    if (!p)
        exit(1);
    for (size_t i = 0; i < n; i++)
        p[i] = urand(lo, hi);
    return p;
}

#define REPEATS 7

/* Median seconds of one call of `body` (which restores its input first). */
#define TIME_MEDIAN(result, reps_inner, body)                              \
    do {                                                                   \
        double t_[REPEATS];                                                \
        for (int r_ = 0; r_ < REPEATS; r_++) {                             \
            double t0_ = now();                                            \
            for (int i_ = 0; i_ < (reps_inner); i_++) {                    \
                body;                                                      \
            }                                                              \
            t_[r_] = (now() - t0_) / (reps_inner);                         \
        }                                                                  \
        qsort(t_, REPEATS, sizeof *t_, cmp_double);                        \
        (result) = t_[REPEATS / 2];                                        \
    } while (0)

static void bench_pointwise(void)
{
    const size_t n = 512 * 3072; /* one FFN activation of 512 tokens */
    float *src = farray(n, -6.0f, 6.0f), *x = malloc(n * sizeof *x);
    if (!x)
        exit(1);
    struct { const char *name; void (*fn)(float *, size_t); void (*ref)(float *, size_t); } k[] = {
        { "gelu", medner__gelu, medner__gelu_ref },
        { "gelu_tanh", medner__gelu_tanh, medner__gelu_tanh_ref },
        { "relu", medner__relu, medner__relu_ref },
    };
    double copy;
    TIME_MEDIAN(copy, 5, memcpy(x, src, n * sizeof *x));
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        double t, tr;
        TIME_MEDIAN(t, 5, memcpy(x, src, n * sizeof *x); k[i].fn(x, n));
        TIME_MEDIAN(tr, 1, memcpy(x, src, n * sizeof *x); k[i].ref(x, n));
        printf("%-10s %7.3f ns/elem   ref %7.3f ns/elem   (x%.0f)\n", k[i].name,
               (t - copy) * 1e9 / (double)n, (tr - copy) * 1e9 / (double)n, (tr - copy) / (t - copy));
    }
    free(src);
    free(x);
}

static void bench_rows(void)
{
    /* softmax: 12 heads x 256 x 256 attention scores; layernorm: 512 x 768 */
    const size_t sr = 12 * 256, sc = 256, lr = 512, lc = 768;
    float *s_src = farray(sr * sc, -8.0f, 8.0f), *s = malloc(sr * sc * sizeof *s);
    float *l_src = farray(lr * lc, -3.0f, 3.0f), *l = malloc(lr * lc * sizeof *l);
    float *res = farray(lr * lc, -1.0f, 1.0f), *g = farray(lc, 0.5f, 1.5f), *b = farray(lc, -1, 1);
    if (!s || !l)
        exit(1);
    double t, tr, c1, c2;
    TIME_MEDIAN(c1, 5, memcpy(s, s_src, sr * sc * sizeof *s));
    TIME_MEDIAN(t, 5, memcpy(s, s_src, sr * sc * sizeof *s); medner__softmax(s, sr, sc));
    TIME_MEDIAN(tr, 1, memcpy(s, s_src, sr * sc * sizeof *s); medner__softmax_ref(s, sr, sc));
    double ns = (double)(sr * sc);
    printf("%-10s %7.3f ns/elem   ref %7.3f ns/elem   (x%.0f)   [%zu x %zu]\n", "softmax",
           (t - c1) * 1e9 / ns, (tr - c1) * 1e9 / ns, (tr - c1) / (t - c1), sr, sc);
    TIME_MEDIAN(c2, 5, memcpy(l, l_src, lr * lc * sizeof *l));
    TIME_MEDIAN(t, 5, memcpy(l, l_src, lr * lc * sizeof *l);
                medner__add_layernorm(l, res, g, b, lr, lc, 1e-12f));
    TIME_MEDIAN(tr, 2, memcpy(l, l_src, lr * lc * sizeof *l);
                medner__add_layernorm_ref(l, res, g, b, lr, lc, 1e-12f));
    double nl = (double)(lr * lc);
    printf("%-10s %7.3f ns/elem   ref %7.3f ns/elem   (x%.0f)   [%zu x %zu, with residual]\n",
           "layernorm", (t - c2) * 1e9 / nl, (tr - c2) * 1e9 / nl, (tr - c2) / (t - c2), lr, lc);
    free(s_src);
    free(s);
    free(l_src);
    free(l);
    free(res);
    free(g);
    free(b);
}

static void bench_linear(int threads)
{
    const size_t shapes[][3] = { /* M, N, K */
        { 512, 768, 768 }, { 512, 3072, 768 }, { 512, 768, 3072 }, { 512, 2304, 768 },
        { 64, 768, 768 }, { 2, 768, 768 }, { 512, 9, 768 }, { 512, 768, 1200 },
    };
    openblas_set_num_threads(threads);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = farray(M * K, -1, 1), *w = farray(N * K, -1, 1), *b = farray(N, -1, 1);
        float *y = malloc(M * N * sizeof *y);
        if (!y)
            exit(1);
        double flop = 2.0 * (double)M * (double)N * (double)K, t, tp;
        int inner = (int)(2e9 / flop) + 1;
        TIME_MEDIAN(t, inner, medner__linear(y, N, x, K, w, b, M, N, K));
        /* plain sgemm (beta = 0, no bias) for comparison */
        TIME_MEDIAN(tp, inner,
                    cblas_sgemm(RowMajor, NoTrans, Trans, (int)M, (int)N, (int)K, 1.0f, x, (int)K,
                                w, (int)K, 0.0f, y, (int)N));
        printf("linear     %zux%zux%zu, %d thread%s: %6.1f GFLOP/s (plain sgemm %6.1f)\n", M, N,
               K, threads, threads > 1 ? "s" : " ", flop / t * 1e-9, flop / tp * 1e-9);
        free(x);
        free(w);
        free(b);
        free(y);
    }
}

static void bench_attention(int threads)
{
    const size_t Ls[] = { 64, 256, 512 }, H = 12, D = 64, ld = 3 * H * D;
    openblas_set_num_threads(threads);
    for (size_t c = 0; c < sizeof Ls / sizeof *Ls; c++) {
        size_t L = Ls[c];
        float *qkv = farray(L * ld, -1, 1), *out = malloc(L * H * D * sizeof *out);
        float *scratch = malloc(L * L * sizeof *scratch);
        if (!out || !scratch)
            exit(1);
        double t, flop = 4.0 * (double)(L * L * H * D);
        int inner = (int)(1e9 / flop) + 1;
        TIME_MEDIAN(t, inner,
                    medner__attention(out, H * D, qkv, qkv + H * D, qkv + 2 * H * D, ld, L, H, D,
                                      0.125f, scratch));
        printf("attention  L=%zu H=%zu D=%zu, %d thread%s: %8.3f ms (%5.1f GFLOP/s)\n", L, H, D,
               threads, threads > 1 ? "s" : " ", t * 1e3, flop / t * 1e-9);
        free(qkv);
        free(out);
        free(scratch);
    }
}

/* Accuracy of medner__linear against its double reference, relative to
 * sum |x w| + |b|, on BERT shapes. */
static void linear_accuracy(void)
{
    const size_t shapes[][3] = { { 64, 768, 768 }, { 64, 3072, 768 }, { 64, 768, 3072 },
                                 { 64, 9, 768 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = farray(M * K, -1, 1), *w = farray(N * K, -0.1f, 0.1f), *b = farray(N, -1, 1);
        float *y = malloc(M * N * sizeof *y), *r = malloc(M * N * sizeof *r);
        if (!y || !r)
            exit(1);
        medner__linear(y, N, x, K, w, b, M, N, K);
        medner__linear_ref(r, N, x, K, w, b, M, N, K);
        double worst = 0.0, worst_abs = 0.0;
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) {
                double mag = fabs(b[n]);
                for (size_t k = 0; k < K; k++)
                    mag += fabs((double)x[m * K + k] * w[n * K + k]);
                double e = fabs((double)y[m * N + n] - r[m * N + n]);
                worst = e / mag > worst ? e / mag : worst;
                worst_abs = e > worst_abs ? e : worst_abs;
            }
        printf("linear     %zux%zux%zu: max |y - ref| %.3g, relative to sum|xw|+|b| %.3g\n", M,
               N, K, worst_abs, worst);
        free(x);
        free(w);
        free(b);
        free(y);
        free(r);
    }
}

/* Plain cblas_sgemm (RowMajor, x . W^T): is each row bitwise the same when
 * computed within M rows as within 512 rows, and with 1 or 2 threads? */
static void probe(void)
{
    printf("OpenBLAS: %s (core %s)\n", openblas_get_config(), openblas_get_corename());
    const int Ns[] = { 9, 64, 65, 768, 769, 2304, 3072 }, Ks[] = { 64, 384, 768, 1200, 3072 };
    const int Ms[] = { 1, 2, 3, 4, 5, 7, 8, 16, 17, 18, 19, 64, 300 };
    const int big = 512;
    int saved = openblas_get_num_threads();
    for (size_t a = 0; a < sizeof Ns / sizeof *Ns; a++)
        for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
            int N = Ns[a], K = Ks[c];
            float *x = farray((size_t)big * K, -1, 1), *w = farray((size_t)N * K, -1, 1);
            float *ref = malloc((size_t)big * N * sizeof *ref), *y = malloc((size_t)big * N * sizeof *y);
            if (!ref || !y)
                exit(1);
            openblas_set_num_threads(1);
            cblas_sgemm(RowMajor, NoTrans, Trans, big, N, K, 1, x, K, w, K, 0, ref, N);
            char line[256];
            int len = snprintf(line, sizeof line, "N=%-4d K=%-4d unstable at:", N, K), bad = 0;
            for (int nt = 1; nt <= 2; nt++) {
                openblas_set_num_threads(nt);
                for (size_t m = 0; m < sizeof Ms / sizeof *Ms; m++) {
                    int M = Ms[m];
                    cblas_sgemm(RowMajor, NoTrans, Trans, M, N, K, 1, x, K, w, K, 0, y, N);
                    if (memcmp(y, ref, (size_t)M * N * sizeof *y) != 0 && len < 230) {
                        len += snprintf(line + len, sizeof line - (size_t)len, " M=%d/%dt", M, nt);
                        bad = 1;
                    }
                }
            }
            printf("%s%s\n", line, bad ? "" : " none");
            free(x);
            free(w);
            free(ref);
            free(y);
        }
    openblas_set_num_threads(saved);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "probe") == 0) {
        probe();
        return 0;
    }
    int saved = openblas_get_num_threads();
    printf("element-wise kernels, ISA level %d (0 base, 1 AVX2, 2 AVX-512), one thread:\n",
           medner__kernels_isa());
    bench_pointwise();
    bench_rows();
    linear_accuracy();
    for (int t = 1; t <= 2; t++)
        bench_linear(t);
    for (int t = 1; t <= 2; t++)
        bench_attention(t);
    openblas_set_num_threads(saved);
    return 0;
}
