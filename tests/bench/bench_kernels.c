/*
 * Kernel speed beside the reference twins, and a probe of OpenBLAS's
 * determinism. Single-threaded for the element-wise kernels; the linear and
 * attention timings use 1 and 2 threads (a medner__par), beside OpenBLAS's
 * cblas_sgemm with as many threads.
 *   bench_kernels            accuracy against the reference twins, then timings
 *                            (best of 15 runs; ns per element, GFLOP/s)
 *   bench_kernels probe      which plain cblas_sgemm calls are row-stable
 *   bench_kernels peak [T]   the FMA peak of T threads (default 1): a JSON line
 *                            {"tool": "peak", "fma_peak_gflops": ..., "threads": T,
 *                            "isa": ...}
 *                            (best of 7 runs of independent FMA chains held in
 *                            registers, at the widest vector the kernels use)
 *   bench_kernels qgemm [T]  the int8 product (medner__qgemm, panels in and out)
 *                            beside the fp32 one (medner__gemm_packed) on BERT-base
 *                            shapes, T threads (default 1) splitting by column tiles
 * Build: make build/bench/bench_kernels
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

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

#define REPEATS 15

/* Best (minimum) seconds of one call of `body` over REPEATS runs: the
 * machine may be shared, and the minimum is the least disturbed run. */
#define TIME_BEST(result, reps_inner, body)                              \
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
        (result) = t_[0];                                                  \
    } while (0)

/* Best time of `call` over REPEATS runs, each on a fresh copy of src in dst
 * (the copy is not timed). */
#define TIME_ON_COPY(result, dst, src, bytes, call)                        \
    do {                                                                   \
        double best_ = 1e30;                                               \
        for (int r_ = 0; r_ < REPEATS; r_++) {                             \
            memcpy((dst), (src), (bytes));                                 \
            double t0_ = now();                                            \
            call;                                                          \
            double t_ = now() - t0_;                                       \
            best_ = t_ < best_ ? t_ : best_;                               \
        }                                                                  \
        (result) = best_;                                                  \
    } while (0)

static void bench_pointwise(void)
{
    const size_t n = 64 * 1024; /* 256 KB: cache-resident, compute-bound */
    float *src = farray(n, -6.0f, 6.0f), *x = malloc(n * sizeof *x);
    if (!x)
        exit(1);
    struct { const char *name; void (*fn)(float *, size_t); void (*ref)(float *, size_t); } k[] = {
        { "gelu", medner__gelu, medner__gelu_ref },
        { "gelu_tanh", medner__gelu_tanh, medner__gelu_tanh_ref },
        { "relu", medner__relu, medner__relu_ref },
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        double t, tr;
        TIME_ON_COPY(t, x, src, n * sizeof *x, k[i].fn(x, n));
        TIME_ON_COPY(tr, x, src, n * sizeof *x, k[i].ref(x, n));
        printf("%-10s %7.3f ns/elem   ref %7.3f ns/elem   (x%.0f)\n", k[i].name,
               t * 1e9 / (double)n, tr * 1e9 / (double)n, tr / t);
    }
    free(src);
    free(x);
}

static void bench_rows(void)
{
    /* softmax: 256 x 256 attention scores; layernorm: 64 x 768 (cache-resident) */
    const size_t sr = 256, sc = 256, lr = 64, lc = 768;
    float *s_src = farray(sr * sc, -8.0f, 8.0f), *s = malloc(sr * sc * sizeof *s);
    float *l_src = farray(lr * lc, -3.0f, 3.0f), *l = malloc(lr * lc * sizeof *l);
    float *res = farray(lr * lc, -1.0f, 1.0f), *g = farray(lc, 0.5f, 1.5f), *b = farray(lc, -1, 1);
    if (!s || !l)
        exit(1);
    double t, tr;
    TIME_ON_COPY(t, s, s_src, sr * sc * sizeof *s, medner__softmax(s, sr, sc));
    TIME_ON_COPY(tr, s, s_src, sr * sc * sizeof *s, medner__softmax_ref(s, sr, sc));
    double ns = (double)(sr * sc);
    printf("%-10s %7.3f ns/elem   ref %7.3f ns/elem   (x%.0f)   [%zu x %zu]\n", "softmax",
           t * 1e9 / ns, tr * 1e9 / ns, tr / t, sr, sc);
    TIME_ON_COPY(t, l, l_src, lr * lc * sizeof *l,
                 medner__add_layernorm(l, res, g, b, lr, lc, 1e-12f));
    TIME_ON_COPY(tr, l, l_src, lr * lc * sizeof *l,
                 medner__add_layernorm_ref(l, res, g, b, lr, lc, 1e-12f));
    double nl = (double)(lr * lc);
    printf("%-10s %7.3f ns/elem   ref %7.3f ns/elem   (x%.0f)   [%zu x %zu, with residual]\n",
           "layernorm", t * 1e9 / nl, tr * 1e9 / nl, tr / t, lr, lc);
    free(s_src);
    free(s);
    free(l_src);
    free(l);
    free(res);
    free(g);
    free(b);
}

static medner__par *make_par(int threads, size_t floats)
{
    medner__par *p = NULL;
    if (medner__par_create(&p, (size_t)threads) != 0 || medner__par_reserve(p, floats) != 0)
        exit(1);
    return p;
}

static void bench_linear(int threads)
{
    const size_t shapes[][3] = { /* M, N, K */
        { 128, 768, 768 }, { 128, 3072, 768 }, { 128, 768, 3072 },
        { 1024, 768, 768 }, { 1024, 3072, 768 }, { 1024, 768, 3072 },
        { 64, 768, 768 }, { 2, 768, 768 }, { 512, 9, 768 }, { 512, 768, 1200 },
    };
    openblas_set_num_threads(threads);
    medner__par *par = make_par(threads, medner__linear_scratch(3072));
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = farray(M * K, -1, 1), *w = farray(N * K, -1, 1), *b = farray(N, -1, 1);
        float *y = malloc(M * N * sizeof *y);
        if (!y)
            exit(1);
        double flop = 2.0 * (double)M * (double)N * (double)K, t, tp;
        int inner = (int)(2e9 / flop) + 1;
        TIME_BEST(t, inner, medner__linear(par, y, N, x, K, w, b, M, N, K, MEDNER__EPI_NONE));
        /* plain sgemm (beta = 0, no bias) for comparison */
        TIME_BEST(tp, inner,
                    cblas_sgemm(RowMajor, NoTrans, Trans, (int)M, (int)N, (int)K, 1.0f, x, (int)K,
                                w, (int)K, 0.0f, y, (int)N));
        printf("linear     %zux%zux%zu, %d thread%s: %6.1f GFLOP/s (plain sgemm %6.1f)\n", M, N,
               K, threads, threads > 1 ? "s" : " ", flop / t * 1e-9, flop / tp * 1e-9);
        free(x);
        free(w);
        free(b);
        free(y);
    }
    medner__par_free(par);
}

/* [rows, C] rows as packed panels (medner__attention's layout). */
static float *panels_of(const float *x, size_t rows, size_t C)
{
    float *p = aligned_alloc(64, medner__gemm_packed_size(rows, C) * sizeof *p + 64);
    if (!p)
        exit(1);
    medner__gemm_pack(p, x, C, rows, C);
    return p;
}

static void bench_attention(int threads)
{
    const size_t Ls[] = { 64, 256, 512 }, H = 12, Ds[] = { 64, 32 };
    medner__par *par = make_par(threads, medner__attention_scratch(512, 64));
    for (size_t di = 0; di < sizeof Ds / sizeof *Ds; di++)
        for (size_t c = 0; c < sizeof Ls / sizeof *Ls; c++) {
            size_t L = Ls[c], D = Ds[di], ld = 3 * H * D, start = 0;
            float *qkv = farray(L * ld, -1, 1), *qkv_p = panels_of(qkv, L, ld);
            float *out = aligned_alloc(64, medner__gemm_packed_size(L, H * D) * sizeof *out + 64);
            if (!out)
                exit(1);
            double t, flop = 4.0 * (double)(L * L * H * D);
            int inner = (int)(1e9 / flop) + 1;
            TIME_BEST(t, inner, medner__attention(par, out, qkv_p, &start, &L, 1, H, D, 0.125f));
            printf("attention  L=%zu H=%zu D=%zu, %d thread%s: %8.3f ms (%5.1f GFLOP/s)\n", L, H,
                   D, threads, threads > 1 ? "s" : " ", t * 1e3, flop / t * 1e-9);
            free(qkv);
            free(qkv_p);
            free(out);
        }
    medner__par_free(par);
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
        medner__par *par = make_par(1, medner__linear_scratch(K));
        medner__linear(par, y, N, x, K, w, b, M, N, K, MEDNER__EPI_NONE);
        medner__par_free(par);
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

/* Max errors of softmax, layernorm and attention against the double
 * references on random data of BERT-like shapes. */
static void rows_accuracy(void)
{
    const size_t sr = 256, sc = 384, lr = 64, lc = 768;
    float *s = farray(sr * sc, -12, 12), *sref = malloc(sr * sc * sizeof *s);
    if (!sref)
        exit(1);
    memcpy(sref, s, sr * sc * sizeof *s);
    medner__softmax(s, sr, sc);
    medner__softmax_ref(sref, sr, sc);
    double ea = 0, er = 0;
    for (size_t i = 0; i < sr * sc; i++) {
        double e = fabs((double)s[i] - sref[i]);
        ea = e > ea ? e : ea;
        if (sref[i] > 0 && e / sref[i] > er)
            er = e / sref[i];
    }
    printf("softmax    %zux%zu, x in [-12,12]: max abs %.3g, max rel %.3g\n", sr, sc, ea, er);
    float *x = farray(lr * lc, -3, 3), *res = farray(lr * lc, -1, 1);
    float *g = farray(lc, 0.5f, 1.5f), *b = farray(lc, -1, 1), *xr = malloc(lr * lc * sizeof *x);
    if (!xr)
        exit(1);
    memcpy(xr, x, lr * lc * sizeof *x);
    medner__add_layernorm(x, res, g, b, lr, lc, 1e-12f);
    medner__add_layernorm_ref(xr, res, g, b, lr, lc, 1e-12f);
    ea = 0;
    size_t diff = 0;
    for (size_t i = 0; i < lr * lc; i++) {
        double e = fabs((double)x[i] - xr[i]);
        ea = e > ea ? e : ea;
        diff += x[i] != xr[i];
    }
    printf("layernorm  %zux%zu with residual: max abs %.3g, %zu of %zu outputs differ from the "
           "reference\n", lr, lc, ea, diff, lr * lc);
    const size_t L = 128, H = 12, D = 64, ld = 3 * H * D;
    float *qkv = farray(L * ld, -2, 2), *o = malloc(L * H * D * sizeof *o);
    float *orf = malloc(L * H * D * sizeof *o);
    if (!o || !orf)
        exit(1);
    medner__par *par = make_par(1, medner__attention_scratch(L, D));
    size_t start = 0, len = L;
    float *qkv_p = panels_of(qkv, L, ld);
    float *o_p = aligned_alloc(64, medner__gemm_packed_size(L, H * D) * sizeof *o_p + 64);
    if (!o_p)
        exit(1);
    medner__attention(par, o_p, qkv_p, &start, &len, 1, H, D, 0.125f);
    medner__unpack_panels(o, H * D, o_p, L, H * D);
    free(qkv_p);
    free(o_p);
    medner__par_free(par);
    medner__attention_ref(orf, H * D, qkv, qkv + H * D, qkv + 2 * H * D, ld, L, H, D, 0.125f);
    ea = 0;
    for (size_t i = 0; i < L * H * D; i++) {
        double e = fabs((double)o[i] - orf[i]);
        ea = e > ea ? e : ea;
    }
    printf("attention  L=%zu H=%zu D=%zu, q,k,v in [-2,2]: max abs %.3g\n", L, H, D, ea);
    free(s);
    free(sref);
    free(x);
    free(res);
    free(g);
    free(b);
    free(xr);
    free(qkv);
    free(o);
    free(orf);
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
            float *ref = malloc((size_t)big * N * sizeof *ref);
            float *y = malloc((size_t)big * N * sizeof *y);
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

/* ---- FMA peak -------------------------------------------------------------
 * Each thread runs PEAK_CHAINS independent multiply-add chains on vectors of
 * the widest width the kernels use (enough chains to cover the FMA latency
 * on every x86 core we know), nothing touches memory. */
#define PEAK_CHAINS 12
#define PEAK_ITERS 20000000L

#if defined(__x86_64__) || defined(__i386__)
#  include <immintrin.h>
/* FMA intrinsics (under -std=c11 the compiler does not contract a * b + c);
 * PEAK_CHAINS (12) accumulators named one by one so that they stay in
 * registers. */
#  define PEAK_LOOP(name, T, W, SET, FMA, FIRST)                            \
    static __attribute__((target(W), noinline)) float name(float a, float b) \
    {                                                                       \
        T va = SET(a), vb = SET(b);                                         \
        T c0 = SET(0), c1 = SET(1), c2 = SET(2), c3 = SET(3), c4 = SET(4);  \
        T c5 = SET(5), c6 = SET(6), c7 = SET(7), c8 = SET(8), c9 = SET(9);  \
        T c10 = SET(10), c11 = SET(11);                                     \
        for (long i = 0; i < PEAK_ITERS; i++) {                             \
            c0 = FMA(c0, va, vb);                                           \
            c1 = FMA(c1, va, vb);                                           \
            c2 = FMA(c2, va, vb);                                           \
            c3 = FMA(c3, va, vb);                                           \
            c4 = FMA(c4, va, vb);                                           \
            c5 = FMA(c5, va, vb);                                           \
            c6 = FMA(c6, va, vb);                                           \
            c7 = FMA(c7, va, vb);                                           \
            c8 = FMA(c8, va, vb);                                           \
            c9 = FMA(c9, va, vb);                                           \
            c10 = FMA(c10, va, vb);                                         \
            c11 = FMA(c11, va, vb);                                         \
            __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3),   \
                             "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7));        \
            __asm__ volatile("" : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11)); \
        }                                                                   \
        return FIRST(c0) + FIRST(c1) + FIRST(c2) + FIRST(c3) + FIRST(c4) +  \
               FIRST(c5) + FIRST(c6) + FIRST(c7) + FIRST(c8) + FIRST(c9) +  \
               FIRST(c10) + FIRST(c11);                                     \
    }
PEAK_LOOP(peak_v16, __m512, "avx512f", _mm512_set1_ps, _mm512_fmadd_ps,
          _mm512_cvtss_f32)
PEAK_LOOP(peak_v8, __m256, "avx2,fma", _mm256_set1_ps, _mm256_fmadd_ps, _mm256_cvtss_f32)
#endif

/* One thread's chains (medner__par_fn); arg: the vector width in floats. */
static void peak_part(void *arg, size_t tid, size_t nt, float *scratch)
{
    (void)tid;
    (void)nt;
    (void)scratch;
    const float a = 0.999999f, b = 1e-7f; /* stays finite and normal */
    volatile float sink = 0;
#if defined(__x86_64__) || defined(__i386__)
    sink = *(const int *)arg == 16 ? peak_v16(a, b) : peak_v8(a, b);
#endif
    (void)sink;
}

/* The threads are medner's own team (medner__par_run starts them together);
 * the rate is the total FLOPs over the wall time of the run. */
static int peak(int threads)
{
    int isa = medner__kernels_isa(), lanes = isa == MEDNER__ISA_AVX512 ? 16
                                             : isa == MEDNER__ISA_AVX2 ? 8 : 0;
    if (threads < 1 || threads > 64 || lanes == 0) {
        fprintf(stderr, "bench_kernels peak: needs 1-64 threads and an AVX2 or AVX-512 CPU\n");
        return 1;
    }
    medner__par *par = make_par(threads, 0);
    double best = 0, flop = 2.0 * lanes * PEAK_CHAINS * (double)PEAK_ITERS * threads;
    for (int r = 0; r < 7; r++) {
        double t0 = now();
        medner__par_run(par, peak_part, &lanes);
        double rate = flop / (now() - t0);
        best = rate > best ? rate : best;
    }
    medner__par_free(par);
    printf("{\"tool\": \"peak\", \"fma_peak_gflops\": %.1f, \"threads\": %d, \"isa\": \"%s\"}\n",
           best * 1e-9, threads, lanes == 16 ? "avx512" : "avx2");
    return 0;
}

/* ---- bench_kernels qgemm: the int8 product beside the fp32 one ---------------- */

typedef struct qgemm_job {
    int int8, portable;
    float *y;
    const float *xp;
    size_t M, N, K;
    const float *w;
    const medner__qweight *qw;
} qgemm_job;

/* medner__par_fn: this thread's share of the column tiles (12 columns). */
static void qgemm_part(void *arg, size_t tid, size_t nt, float *scratch)
{
    const qgemm_job *j = arg;
    size_t MR = medner__gemm_tile_m(), tiles = (j->N + 11) / 12;
    size_t n0 = tiles * tid / nt * 12, n1 = tiles * (tid + 1) / nt * 12;
    n1 = n1 > j->N ? j->N : n1;
    if (n1 <= n0)
        return;
    if (!j->int8)
        medner__gemm_packed(j->y, j->N * MR, MEDNER__GEMM_PANELS, j->xp, j->M, j->K, j->w, j->K,
                            NULL, 1.0f, n0, n1);
    else if (j->portable)
        medner__qgemm_portable(j->y, j->N * MR, j->xp, j->M, j->qw, n0, n1, scratch);
    else
        medner__qgemm(j->y, j->N * MR, j->xp, j->M, j->qw, n0, n1, scratch);
}

static int bench_qgemm(int threads)
{
    const size_t shapes[][3] = { /* M, N, K */
        { 128, 768, 768 }, { 128, 2304, 768 }, { 128, 3072, 768 }, { 128, 768, 3072 },
        { 512, 768, 768 }, { 512, 2304, 768 }, { 512, 3072, 768 }, { 512, 768, 3072 },
        { 4096, 768, 768 }, { 4096, 3072, 768 }, { 4096, 768, 3072 },
    };
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "bench_kernels qgemm: needs 1-64 threads\n");
        return 1;
    }
    medner__par *par = make_par(threads, medner__qgemm_scratch(MEDNER__PREC_INT8, 3072));
    printf("int8 product (%s kernel, %s), %d thread%s; GOP/s = 2 M N K / time\n",
           medner__qgemm_native(MEDNER__PREC_INT8) ? "VNNI" : "portable",
           medner__cpu_features_name(), threads, threads > 1 ? "s" : "");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = farray(M * K, -1, 1), *w = farray(N * K, -1, 1);
        float *xp = panels_of(x, M, K);
        float *y = aligned_alloc(64, medner__gemm_packed_size(M, N) * sizeof *y + 64);
        medner__qweight qw;
        const float *ws[1] = { w }, *bs[1] = { NULL };
        if (!y || medner__qweight_pack(&qw, MEDNER__PREC_INT8, ws, bs, 1, N, K) != 0)
            exit(1);
        double flop = 2.0 * (double)M * (double)N * (double)K, t[3];
        int inner = (int)(2e9 / flop) + 1;
        for (int v = 0; v < 3; v++) {
            qgemm_job j = { v > 0, v == 2, y, xp, M, N, K, w, &qw };
            TIME_BEST(t[v], v == 2 ? 1 : inner, medner__par_run(par, qgemm_part, &j));
        }
        printf("qgemm      %4zux%4zux%4zu: int8 %6.1f GOP/s   fp32 %6.1f GFLOP/s (x%.2f)   "
               "portable int8 %6.1f GOP/s\n",
               M, N, K, flop / t[1] * 1e-9, flop / t[0] * 1e-9, t[0] / t[1], flop / t[2] * 1e-9);
        medner__qweight_free(&qw);
        free(x);
        free(w);
        free(xp);
        free(y);
    }
    medner__par_free(par);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "qgemm") == 0)
        return bench_qgemm(argc > 2 ? atoi(argv[2]) : 1);
    if (argc > 1 && strcmp(argv[1], "peak") == 0)
        return peak(argc > 2 ? atoi(argv[2]) : 1);
    if (argc > 1 && strcmp(argv[1], "probe") == 0) {
        probe();
        return 0;
    }
    int saved = openblas_get_num_threads();
    printf("accuracy against the double references (ISA level %d):\n", medner__kernels_isa());
    linear_accuracy();
    rows_accuracy();
    for (int isa = medner__kernels_set_isa(MEDNER__ISA_AUTO); isa >= 0; isa--) {
        medner__kernels_set_isa(isa);
        printf("element-wise kernels, ISA level %d (0 base, 1 AVX2, 2 AVX-512), one thread:\n",
               isa);
        bench_pointwise();
        bench_rows();
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (int t = 1; t <= 2; t++)
        bench_linear(t);
    for (int t = 1; t <= 2; t++)
        bench_attention(t);
    openblas_set_num_threads(saved);
    return 0;
}
