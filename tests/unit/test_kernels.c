/* Unit tests for src/kernels: each optimised kernel against its reference
 * twin on odd shapes, the element-wise approximations against double
 * precision over dense sweeps, special values, exhaustive fp16/bf16
 * conversion, and the determinism promises (row results independent of the
 * row count, the position in the buffer, the thread count and the
 * instruction-set level). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15u + 1; }

static float urand(float lo, float hi) /* uniform in [lo, hi) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    double u = (double)(rng_state >> 11) * 0x1p-53;
    return (float)(lo + (hi - lo) * u);
}

static float *frand_array(size_t n, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = urand(lo, hi);
    return p;
}

static float *fcopy(const float *a, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    memcpy(p, a, n * sizeof *p);
    return p;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Distance of the float y from the real value e in units of the last place
 * of e (as a float). */
static double ulp_err(float y, double e)
{
    double ae = fabs(e);
    if (ae < FLT_MIN)
        return fabs((double)y - e) / 0x1p-149;
    int ex;
    frexp(ae, &ex); /* ae in [2^(ex-1), 2^ex) */
    return fabs((double)y - e) / ldexp(1.0, ex - 24);
}

static int isa_levels(int *levels)
{
    int n = 0, top = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (int l = MEDNER__ISA_BASE; l <= top; l++)
        levels[n++] = l;
    return n;
}

/* ---- threads ---------------------------------------------------------------- */

/* A medner__par with `threads` threads and room for `floats` scratch floats. */
static medner__par *par_new(size_t threads, size_t floats)
{
    medner__par *p = NULL;
    assert_int_equal(medner__par_create(&p, threads), 0);
    assert_non_null(p);
    assert_int_equal(medner__par_threads(p), threads ? threads : 1);
    assert_int_equal(medner__par_reserve(p, floats), 0);
    return p;
}

static void count_part(void *arg, size_t tid, size_t nt, float *scratch)
{
    size_t *hits = arg;
    assert_non_null(scratch);
    scratch[0] = (float)tid; /* each thread owns its scratch */
    hits[tid] += nt;
}

/* Every thread runs each dispatched function exactly once, many times over
 * (workers sleeping between runs and spinning between close ones). */
static void test_par_dispatch(void **state)
{
    (void)state;
    for (size_t nt = 1; nt <= 4; nt++) {
        medner__par *p = par_new(nt, 16);
        size_t hits[4] = { 0 };
        for (int r = 0; r < 2000; r++)
            medner__par_run(p, count_part, hits);
        for (size_t t = 0; t < 4; t++)
            assert_int_equal(hits[t], t < nt ? 2000 * nt : 0);
        medner__par_free(p);
    }
    medner__par_free(NULL);
    assert_int_equal(medner__par_threads(NULL), 1);
}

/* ---- linear --------------------------------------------------------------- */

static const medner__epi EPIS[] = { MEDNER__EPI_NONE, MEDNER__EPI_GELU, MEDNER__EPI_GELU_TANH,
                                    MEDNER__EPI_RELU };

static void apply_epi(medner__epi e, float *x, size_t n)
{
    switch (e) {
    case MEDNER__EPI_NONE: break;
    case MEDNER__EPI_GELU: medner__gelu(x, n); break;
    case MEDNER__EPI_GELU_TANH: medner__gelu_tanh(x, n); break;
    case MEDNER__EPI_RELU: medner__relu(x, n); break;
    }
}

/* medner__linear against the double reference; with an activation, bitwise
 * equal to the plain product followed by the activation kernel. */
static void check_linear(medner__par *par, size_t M, size_t N, size_t K, int bias, medner__epi e)
{
    size_t ldx = K + 3, ldy = N + 2;
    float *x = frand_array(M * ldx, -1.0f, 1.0f);
    float *w = frand_array(N * K, -1.0f, 1.0f);
    float *b = bias ? frand_array(N, -1.0f, 1.0f) : NULL;
    float *y = frand_array(M * ldy, 7.0f, 7.0f); /* sentinel in the stride gaps */
    float *r = fcopy(y, M * ldy), *ya = fcopy(y, M * ldy);
    medner__linear(par, y, ldy, x, ldx, w, b, M, N, K, MEDNER__EPI_NONE);
    medner__linear_ref(r, ldy, x, ldx, w, b, M, N, K);
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            double mag = b ? fabs(b[n]) : 0.0;
            for (size_t k = 0; k < K; k++)
                mag += fabs((double)x[m * ldx + k] * w[n * K + k]);
            double err = fabs((double)y[m * ldy + n] - r[m * ldy + n]) / (mag + 1e-30);
            if (err > 1e-5)
                fail_msg("linear M=%zu N=%zu K=%zu isa %d: y[%zu,%zu]=%.9g ref %.9g", M, N, K,
                         medner__kernels_isa(), m, n, (double)y[m * ldy + n],
                         (double)r[m * ldy + n]);
        }
        for (size_t n = N; n < ldy; n++)
            assert_true(y[m * ldy + n] == 7.0f);
    }
    if (e != MEDNER__EPI_NONE) {
        medner__linear(par, ya, ldy, x, ldx, w, b, M, N, K, e);
        for (size_t m = 0; m < M; m++) {
            apply_epi(e, y + m * ldy, N);
            assert_memory_equal(y + m * ldy, ya + m * ldy, N * sizeof *y);
            assert_true(ya[m * ldy + N] == 7.0f);
        }
    }
    free(x);
    free(w);
    free(b);
    free(y);
    free(r);
    free(ya);
}

static void test_linear_vs_ref(void **state)
{
    (void)state;
    rng_seed(1);
    const size_t Ms[] = { 1, 3, 17, 33, 128 }, Ns[] = { 1, 5, 64, 65, 769 };
    const size_t Ks[] = { 1, 3, 384, 768 };
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *p1 = par_new(1, medner__linear_scratch(1200));
    medner__par *p3 = par_new(3, medner__linear_scratch(1200));
    int i = 0;
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t a = 0; a < MEDNER_ARRAY_LEN(Ms); a++)
            for (size_t c = 0; c < MEDNER_ARRAY_LEN(Ns); c++)
                for (size_t d = 0; d < MEDNER_ARRAY_LEN(Ks); d++, i++)
                    check_linear(i % 3 ? p1 : p3, Ms[a], Ns[c], Ks[d], i % 2,
                                 EPIS[i % MEDNER_ARRAY_LEN(EPIS)]);
        check_linear(p3, 40, 100, 1200, 1, MEDNER__EPI_GELU);
        check_linear(p1, 2, 769, 513, 0, MEDNER__EPI_NONE);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    /* K = 0: y = b */
    float b[3] = { 1, 2, 3 }, y[6] = { 0 };
    medner__linear(p1, y, 3, NULL, 0, NULL, b, 2, 3, 0, MEDNER__EPI_NONE);
    assert_true(y[0] == 1 && y[4] == 2 && y[5] == 3);
    float yw[2 * 70];
    float bw[70];
    for (int n = 0; n < 70; n++)
        bw[n] = (float)n;
    medner__linear(p3, yw, 70, NULL, 0, NULL, bw, 2, 70, 0, MEDNER__EPI_NONE);
    assert_true(yw[69] == 69.0f && yw[70 + 65] == 65.0f);
    medner__par_free(p1);
    medner__par_free(p3);
}

/* The encoder packs the sequences of a batch into one product and promises
 * that a sequence gives bitwise the same result alone or in a batch, with any
 * number of threads: every row of medner__linear must not depend on M, on its
 * position, or on the thread count -- at every instruction-set level. */
static void test_linear_row_stable(void **state)
{
    (void)state;
    const size_t shapes[][2] = {
        { 768, 768 }, { 3072, 768 }, { 768, 3072 }, { 2304, 768 }, { 769, 1200 },
        { 65, 384 }, { 100, 1200 }, { 1201, 513 }, { 9, 768 }, { 64, 3 },
    };
    const size_t Ms[] = { 1, 7, 31, 33, 64, 300 }, offs[] = { 0, 5 };
    const size_t rows = 310;
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *pars[3];
    for (size_t t = 0; t < 3; t++)
        pars[t] = par_new(t + 1, medner__linear_scratch(3072));
    rng_seed(2);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t s = 0; s < MEDNER_ARRAY_LEN(shapes); s++) {
            size_t N = shapes[s][0], K = shapes[s][1];
            if (l + 1 < nl && N * K > 768 * 768)
                continue; /* the slow levels on the smaller shapes only */
            float *x = frand_array(rows * K, -1.0f, 1.0f), *w = frand_array(N * K, -0.1f, 0.1f);
            float *b = frand_array(N, -1.0f, 1.0f);
            float *ref = malloc(rows * N * sizeof *ref), *y = malloc(rows * N * sizeof *y);
            assert_non_null(ref);
            assert_non_null(y);
            medner__linear(pars[0], ref, N, x, K, w, b, rows, N, K, MEDNER__EPI_NONE);
            for (size_t t = 0; t < 3; t++)
                for (size_t a = 0; a < MEDNER_ARRAY_LEN(Ms); a++)
                    for (size_t o = 0; o < MEDNER_ARRAY_LEN(offs); o++) {
                        size_t M = Ms[a], off = offs[o];
                        medner__linear(pars[t], y, N, x + off * K, K, w, b, M, N, K,
                                       MEDNER__EPI_NONE);
                        for (size_t m = 0; m < M; m++)
                            if (memcmp(y + m * N, ref + (off + m) * N, N * sizeof *y) != 0)
                                fail_msg("linear N=%zu K=%zu isa %d: row %zu of M=%zu (offset "
                                         "%zu, %zu threads) differs from the same row in M=%zu",
                                         N, K, levels[l], m, M, off, t + 1, rows);
                    }
            free(x);
            free(w);
            free(b);
            free(ref);
            free(y);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (size_t t = 0; t < 3; t++)
        medner__par_free(pars[t]);
}

/* Stacked weights (Q, K, V in one product) give bitwise what one
 * medner__linear per matrix gives, with tiles that straddle two matrices,
 * at every instruction-set level and thread count. */
static void test_linear_stacked_same(void **state)
{
    (void)state;
    const size_t shapes[][3] = { /* M, n_each, K */
        { 1, 65, 5 }, { 40, 77, 33 }, { 130, 100, 64 }, { 300, 65, 17 }, { 64, 20, 0 },
        { 33, 100, 200 }, { 7, 50, 40 }, /* K = 0 and n_each <= 64: per-matrix path */
    };
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *pars[3];
    for (size_t t = 0; t < 3; t++)
        pars[t] = par_new(t + 1, medner__linear_scratch(200));
    rng_seed(11);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t s = 0; s < MEDNER_ARRAY_LEN(shapes); s++) {
            size_t M = shapes[s][0], n = shapes[s][1], K = shapes[s][2], ldy = 3 * n + 5;
            float *x = frand_array(M * (K + 1) + 1, -1.0f, 1.0f);
            float *w[3], *b[3];
            for (int i = 0; i < 3; i++) {
                w[i] = frand_array(n * K + 1, -0.5f, 0.5f);
                b[i] = i == 1 ? NULL : frand_array(n, -1.0f, 1.0f);
            }
            float *ref = malloc(M * ldy * sizeof *ref), *y = malloc(M * ldy * sizeof *y);
            assert_true(ref && y);
            for (int a = 0; a < 2; a++) {
                medner__epi act = a ? MEDNER__EPI_GELU : MEDNER__EPI_NONE;
                memset(ref, 0, M * ldy * sizeof *ref);
                for (int i = 0; i < 3; i++)
                    medner__linear(pars[0], ref + i * n, ldy, x, K + 1, w[i], b[i], M, n, K, act);
                for (size_t t = 0; t < 3; t++) {
                    memset(y, 0, M * ldy * sizeof *y);
                    const float *ws[3] = { w[0], w[1], w[2] }, *bs[3] = { b[0], b[1], b[2] };
                    medner__linear_args a = { .y = y, .ldy = ldy, .x = x, .ldx = K + 1, .ws = ws,
                                              .bs = bs, .count = 3, .M = M, .N = 3 * n, .K = K,
                                              .act = act };
                    medner__linear_run(pars[t], &a);
                    if (memcmp(y, ref, M * ldy * sizeof *y) != 0)
                        fail_msg("stacked linear M=%zu n=%zu K=%zu isa %d, %zu threads, act %d "
                                 "differs from three medner__linear calls",
                                 M, n, K, levels[l], t + 1, a);
                }
            }
            free(x);
            for (int i = 0; i < 3; i++) {
                free(w[i]);
                free(b[i]);
            }
            free(ref);
            free(y);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (size_t t = 0; t < 3; t++)
        medner__par_free(pars[t]);
}

/* The FFN's intermediate in the packed layout: medner__linear_run with
 * y_panels writes what medner__linear writes (as panels, padding rows aside)
 * and with x_panels, reading those panels, gives what medner__linear gives
 * from rows, at every instruction-set level and thread count. */
/* A LayerNorm fused into the product (ln_gamma) gives the same bits as the
 * product and then the LayerNorm, with panels (each thread normalises its
 * rows in the job; the column split of very few rows normalises after) and
 * with rows (contiguous or strided), at every level and 1-3 threads. */
static void test_linear_ln_fused_same(void **state)
{
    (void)state;
    const size_t shapes[][2] = { { 1, 40 }, { 31, 100 }, { 65, 70 }, { 300, 96 }, { 700, 64 } };
    const size_t K = 90;
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *pars[3];
    for (size_t t = 0; t < 3; t++)
        pars[t] = par_new(t + 1, medner__linear_scratch(K));
    rng_seed(14);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t s = 0; s < MEDNER_ARRAY_LEN(shapes); s++) {
            size_t M = shapes[s][0], N = shapes[s][1];
            size_t rows = (M + MEDNER__GEMM_MR_MAX - 1) / MEDNER__GEMM_MR_MAX * MEDNER__GEMM_MR_MAX;
            float *x = frand_array(M * K, -1.0f, 1.0f), *w = frand_array(N * K, -0.3f, 0.3f);
            float *b = frand_array(N, -1.0f, 1.0f), *g = frand_array(N, 0.5f, 1.5f);
            float *be = frand_array(N, -1.0f, 1.0f);
            size_t cap = rows * (N + 5);
            float *res = aligned_alloc(64, cap * sizeof *res);
            float *ref = aligned_alloc(64, cap * sizeof *ref);
            float *got = aligned_alloc(64, cap * sizeof *got);
            assert_true(res && ref && got);
            for (size_t i = 0; i < cap; i++)
                res[i] = (float)(i % 97) * 0.03f - 1.4f;
            for (size_t t = 0; t < 3; t++)
                for (int v = 0; v < 3; v++) { /* rows (ldy N, N + 5), panels */
                    int panels = v == 2;
                    size_t ldy = v == 1 ? N + 5 : N;
                    size_t bytes = (panels ? rows * N : M * ldy) * sizeof *ref;
                    memset(ref, 0, bytes);
                    memset(got, 0, bytes);
                    medner__linear_args a = { .y = ref, .ldy = ldy, .y_panels = panels, .x = x,
                                              .ldx = K, .w = w, .b = b, .M = M, .N = N, .K = K,
                                              .act = MEDNER__EPI_GELU };
                    medner__linear_run(pars[t], &a);
                    if (panels)
                        medner__add_layernorm_panels_par(pars[t], ref, res, g, be, M, N, 1e-5f);
                    else
                        for (size_t m = 0; m < M; m++)
                            medner__add_layernorm(ref + m * ldy, res + m * ldy, g, be, 1, N,
                                                  1e-5f);
                    a.y = got;
                    a.ln_residual = res;
                    a.ln_gamma = g;
                    a.ln_beta = be;
                    a.ln_eps = 1e-5f;
                    medner__linear_run(pars[t], &a);
                    if (memcmp(got, ref, bytes) != 0)
                        fail_msg("linear + LayerNorm M=%zu N=%zu %s ldy %zu isa %d, %zu threads: "
                                 "fused differs from product then LayerNorm",
                                 M, N, panels ? "panels" : "rows", ldy, levels[l], t + 1);
                }
            free(x);
            free(w);
            free(b);
            free(g);
            free(be);
            free(res);
            free(ref);
            free(got);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (size_t t = 0; t < 3; t++)
        medner__par_free(pars[t]);
}

static void test_linear_panels_same(void **state)
{
    (void)state;
    const size_t shapes[][3] = { /* M, N (hidden), I (intermediate) */
        { 1, 65, 70 }, { 31, 100, 77 }, { 33, 70, 130 }, { 300, 96, 200 }, { 130, 128, 512 },
    };
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *pars[3];
    for (size_t t = 0; t < 3; t++)
        pars[t] = par_new(t + 1, medner__linear_scratch(512));
    rng_seed(12);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        size_t MR = medner__gemm_tile_m();
        for (size_t s = 0; s < MEDNER_ARRAY_LEN(shapes); s++) {
            size_t M = shapes[s][0], N = shapes[s][1], I = shapes[s][2];
            size_t rows = (M + MEDNER__GEMM_MR_MAX - 1) / MEDNER__GEMM_MR_MAX * MEDNER__GEMM_MR_MAX;
            float *x = frand_array(M * N, -1.0f, 1.0f);
            float *w1 = frand_array(I * N, -0.2f, 0.2f), *b1 = frand_array(I, -1.0f, 1.0f);
            float *w2 = frand_array(N * I, -0.2f, 0.2f), *b2 = frand_array(N, -1.0f, 1.0f);
            float *h = malloc(M * I * sizeof *h), *ref = malloc(M * N * sizeof *ref);
            float *y = malloc(M * N * sizeof *y);
            float *hp = aligned_alloc(64, rows * I * sizeof *hp);
            float *yp = aligned_alloc(64, rows * N * sizeof *yp);
            assert_true(h && ref && y && hp && yp);
            medner__linear(pars[0], h, I, x, N, w1, b1, M, I, N, MEDNER__EPI_GELU);
            medner__linear(pars[0], ref, N, h, I, w2, b2, M, N, I, MEDNER__EPI_NONE);
            for (size_t t = 0; t < 3; t++) {
                memset(hp, 0xff, rows * I * sizeof *hp);
                medner__linear_args out = { .y = hp, .y_panels = 1, .x = x, .ldx = N, .w = w1,
                                            .b = b1, .M = M, .N = I, .K = N,
                                            .act = MEDNER__EPI_GELU };
                medner__linear_run(pars[t], &out);
                for (size_t m = 0; m < M; m++)
                    for (size_t i = 0; i < I; i++) {
                        float got = hp[m / MR * I * MR + i * MR + m % MR];
                        if (memcmp(&got, &h[m * I + i], sizeof got) != 0)
                            fail_msg("linear y_panels M=%zu N=%zu I=%zu isa %d, %zu threads: "
                                     "[%zu][%zu] = %.9g, medner__linear %.9g",
                                     M, N, I, levels[l], t + 1, m, i, got, h[m * I + i]);
                    }
                memset(y, 0xff, M * N * sizeof *y);
                medner__linear_args in = { .y = y, .ldy = N, .x = hp, .x_panels = 1, .w = w2,
                                           .b = b2, .M = M, .N = N, .K = I };
                medner__linear_run(pars[t], &in);
                if (memcmp(y, ref, M * N * sizeof *y) != 0)
                    fail_msg("linear x_panels M=%zu N=%zu I=%zu isa %d, %zu threads differs "
                             "from medner__linear",
                             M, N, I, levels[l], t + 1);
                /* panels in and out (FFN2 into the packed hidden states), then rows */
                memset(yp, 0xff, rows * N * sizeof *yp);
                medner__linear_args both = { .y = yp, .y_panels = 1, .x = hp, .x_panels = 1,
                                             .w = w2, .b = b2, .M = M, .N = N, .K = I };
                medner__linear_run(pars[t], &both);
                medner__unpack_panels(y, N, yp, M, N);
                if (memcmp(y, ref, M * N * sizeof *y) != 0)
                    fail_msg("linear panels in and out M=%zu N=%zu I=%zu isa %d, %zu threads "
                             "differs from medner__linear",
                             M, N, I, levels[l], t + 1);
                /* stacked weights from panels (Q, K, V from the packed hidden states) */
                const float *ws[3] = { w1, w1, w1 }, *bs[3] = { b1, NULL, b1 };
                float *q3 = malloc(M * 3 * I * sizeof *q3), *r3 = malloc(M * 3 * I * sizeof *r3);
                assert_true(q3 && r3);
                float *xpk = aligned_alloc(64, rows * N * sizeof *xpk);
                assert_non_null(xpk);
                medner__gemm_pack(xpk, x, N, M, N);
                medner__linear_args rows3 = { .y = r3, .ldy = 3 * I, .x = x, .ldx = N, .ws = ws,
                                              .bs = bs, .count = 3, .M = M, .N = 3 * I, .K = N };
                medner__linear_run(pars[0], &rows3);
                medner__linear_args st = { .y = q3, .ldy = 3 * I, .x = xpk, .x_panels = 1,
                                           .ws = ws, .bs = bs, .count = 3, .M = M, .N = 3 * I,
                                           .K = N };
                medner__linear_run(pars[t], &st);
                if (memcmp(q3, r3, M * 3 * I * sizeof *q3) != 0)
                    fail_msg("stacked linear from panels M=%zu N=%zu I=%zu isa %d, %zu threads "
                             "differs from rows",
                             M, N, I, levels[l], t + 1);
                free(q3);
                free(r3);
                free(xpk);
            }
            free(x);
            free(w1);
            free(b1);
            free(w2);
            free(b2);
            free(h);
            free(ref);
            free(y);
            free(hp);
            free(yp);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (size_t t = 0; t < 3; t++)
        medner__par_free(pars[t]);
}

/* LayerNorm on packed panels against the double reference on rows, with
 * and without residual, at every ISA level and thread count, and against
 * the row kernel (equal or within one fp32 rounding of the same double
 * computation). */
static void test_layernorm_panels(void **state)
{
    (void)state;
    const size_t shapes[][2] = { { 1, 768 }, { 31, 384 }, { 33, 65 }, { 130, 768 }, { 7, 1 } };
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *pars[3];
    for (size_t t = 0; t < 3; t++)
        pars[t] = par_new(t + 1, 16);
    rng_seed(13);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        size_t MR = medner__gemm_tile_m();
        for (size_t s = 0; s < MEDNER_ARRAY_LEN(shapes); s++) {
            size_t M = shapes[s][0], C = shapes[s][1];
            size_t prow = (M + MR - 1) / MR * MR;
            float *x = frand_array(M * C, -3.0f, 5.0f), *res = frand_array(M * C, -1.0f, 1.0f);
            float *g = frand_array(C, 0.5f, 1.5f), *b = frand_array(C, -0.5f, 0.5f);
            float *ref = malloc(M * C * sizeof *ref), *rows = malloc(M * C * sizeof *rows);
            float *out = malloc(M * C * sizeof *out);
            float *xp = aligned_alloc(64, (prow * C * sizeof *xp + 63) / 64 * 64);
            float *rp = aligned_alloc(64, (prow * C * sizeof *rp + 63) / 64 * 64);
            assert_true(ref && rows && out && xp && rp);
            for (int withres = 0; withres < 2; withres++) {
                memcpy(ref, x, M * C * sizeof *ref);
                medner__add_layernorm_ref(ref, withres ? res : NULL, g, b, M, C, 1e-12f);
                memcpy(rows, x, M * C * sizeof *rows);
                medner__add_layernorm(rows, withres ? res : NULL, g, b, M, C, 1e-12f);
                for (size_t t = 0; t < 3; t++) {
                    medner__gemm_pack(xp, x, C, M, C);
                    medner__gemm_pack(rp, res, C, M, C);
                    medner__add_layernorm_panels_par(pars[t], xp, withres ? rp : NULL, g, b, M, C,
                                                     1e-12f);
                    medner__unpack_panels(out, C, xp, M, C);
                    for (size_t i = 0; i < M * C; i++) {
                        double e = fabs((double)out[i] - ref[i]);
                        double d = fabs((double)out[i] - rows[i]);
                        double ulp = nextafterf(fabsf(rows[i]), INFINITY) - fabsf(rows[i]);
                        if (e > 1e-6 * (1.0 + fabs((double)ref[i])) || d > ulp)
                            fail_msg("layernorm_panels M=%zu C=%zu isa %d, %zu threads, residual "
                                     "%d: [%zu] = %.9g, reference %.9g, row kernel %.9g",
                                     M, C, levels[l], t + 1, withres, i, out[i], ref[i], rows[i]);
                    }
                }
            }
            free(x);
            free(res);
            free(g);
            free(b);
            free(ref);
            free(rows);
            free(out);
            free(xp);
            free(rp);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (size_t t = 0; t < 3; t++)
        medner__par_free(pars[t]);
}

/* The pre-packed product (x packed from rows or from its transpose; y stored
 * as rows or transposed) computes every element exactly as medner__gemm_cols,
 * at every instruction-set level; attention relies on it. */
static void test_gemm_packed_same(void **state)
{
    (void)state;
    const size_t shapes[][3] = { /* M, N, K */
        { 1, 1, 1 }, { 5, 13, 7 }, { 32, 12, 64 }, { 33, 25, 64 }, { 70, 48, 130 },
        { 129, 64, 512 }, { 64, 40, 17 }, { 3, 100, 0 },
    };
    int levels[4];
    int nl = isa_levels(levels);
    rng_seed(9);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t s = 0; s < MEDNER_ARRAY_LEN(shapes); s++) {
            size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            size_t ldx = K + 3, ldw = K + 1, kk = K ? K : 1;
            float *x = frand_array(M * ldx + 1, -1.0f, 1.0f), *w = frand_array(N * ldw + 1, -1.0f, 1.0f);
            float *b = frand_array(N, -1.0f, 1.0f);
            float *xt = malloc(kk * (M + 2) * sizeof *xt);
            float *ref = malloc(M * N * sizeof *ref), *y = malloc(M * N * sizeof *y);
            float *scratch = aligned_alloc(64, (medner__gemm_scratch(K) * sizeof(float) + 63) / 64 * 64);
            size_t psz = medner__gemm_packed_size(M, K);
            float *pa = aligned_alloc(64, (psz * sizeof(float) + 63) / 64 * 64);
            float *pb = aligned_alloc(64, (psz * sizeof(float) + 63) / 64 * 64);
            assert_true(xt && ref && y && scratch && pa && pb);
            for (size_t m = 0; m < M; m++)
                for (size_t k = 0; k < K; k++)
                    xt[k * (M + 2) + m] = x[m * ldx + k];
            for (int withb = 0; withb < 2; withb++) {
                float alpha = withb ? 1.0f : 0.125f;
                const float *bb = withb ? b : NULL;
                medner__gemm_cols(ref, N, x, ldx, w, ldw, bb, alpha, M, 0, N, K, scratch);
                medner__gemm_pack(pa, x, ldx, M, K);
                medner__gemm_pack_t(pb, xt, M + 2, M, K);
                size_t MR = medner__gemm_tile_m(), prow = (M + MR - 1) / MR * MR;
                float *yp = aligned_alloc(64, (prow * N * sizeof *yp + 63) / 64 * 64);
                assert_non_null(yp);
                medner__gemm_packed(yp, N * MR, MEDNER__GEMM_PANELS, pa, M, K, w, ldw, bb, alpha, 0,
                                    N);
                for (size_t m = 0; m < M; m++)
                    for (size_t n = 0; n < N; n++)
                        if (memcmp(&yp[m / MR * N * MR + n * MR + m % MR], &ref[m * N + n],
                                   sizeof *yp) != 0)
                            fail_msg("gemm_packed panels M=%zu N=%zu K=%zu isa %d: y[%zu][%zu]",
                                     M, N, K, levels[l], m, n);
                free(yp);
                for (int v = 0; v < 4; v++) {
                    int yt = v & 1;
                    size_t n0 = N / 3, n1 = N;
                    memset(y, 0xff, M * N * sizeof *y);
                    medner__gemm_packed(y, yt ? M : N, yt, v & 2 ? pb : pa, M, K, w, ldw, bb, alpha,
                                        0, n0);
                    medner__gemm_packed(y, yt ? M : N, yt, v & 2 ? pb : pa, M, K, w, ldw, bb, alpha,
                                        n0, n1);
                    for (size_t m = 0; m < M; m++)
                        for (size_t n = 0; n < N; n++) {
                            float got = yt ? y[n * M + m] : y[m * N + n];
                            if (memcmp(&got, &ref[m * N + n], sizeof got) != 0)
                                fail_msg("gemm_packed M=%zu N=%zu K=%zu isa %d variant %d: "
                                         "y[%zu][%zu] = %.9g, gemm_cols %.9g",
                                         M, N, K, levels[l], v, m, n, got, ref[m * N + n]);
                        }
                }
            }
            free(x);
            free(w);
            free(b);
            free(xt);
            free(ref);
            free(y);
            free(scratch);
            free(pa);
            free(pb);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* ---- attention -------------------------------------------------------------- */

/* Several sequences of different lengths packed in one buffer, against the
 * reference run on each sequence alone. */
/* Rows [0, rows) of a [rows, C] buffer as packed panels (64-byte aligned). */
static float *to_panels(const float *x, size_t rows, size_t C)
{
    float *p = aligned_alloc(64, medner__gemm_packed_size(rows, C) * sizeof *p + 64);
    assert_non_null(p);
    medner__gemm_pack(p, x, C, rows, C);
    return p;
}

static float panel_at(const float *p, size_t C, size_t row, size_t col)
{
    size_t MR = medner__gemm_tile_m();
    return p[row / MR * C * MR + col * MR + row % MR];
}

static void test_attention_vs_ref(void **state)
{
    (void)state;
    const size_t cases[][3] = { /* L, H, D */
        { 1, 2, 64 }, { 7, 2, 64 }, { 33, 3, 5 }, { 64, 12, 64 }, { 130, 2, 64 }, { 300, 2, 64 },
        { 45, 12, 32 },
    };
    const size_t n = MEDNER_ARRAY_LEN(cases);
    int levels[4];
    int nl = isa_levels(levels);
    rng_seed(3);
    medner__par *par = par_new(2, medner__attention_scratch(300, 64));
    size_t starts[3], lens[3];
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t c = 0; c < n; c++) {
            size_t L = cases[c][0], H = cases[c][1], D = cases[c][2];
            size_t ld = 3 * H * D, HD = H * D;
            /* the sequence at rows [4, 4 + L), after another one, before a third;
             * rows 3 and L + 4 belong to none */
            size_t rows = L + 9;
            float *qkv = frand_array(rows * ld, -2.0f, 2.0f), *qkv_p = to_panels(qkv, rows, ld);
            size_t out_n = medner__gemm_packed_size(rows, HD);
            float *out = aligned_alloc(64, out_n * sizeof *out + 64);
            float *ref = malloc(rows * HD * sizeof *ref);
            assert_true(out && ref);
            for (size_t i = 0; i < out_n; i++)
                out[i] = 5.0f;
            float scale = 1.0f / sqrtf((float)D);
            starts[0] = 0, lens[0] = 3, starts[1] = 4, lens[1] = L, starts[2] = L + 5, lens[2] = 4;
            medner__attention(par, out, qkv_p, starts, lens, 3, H, D, scale);
            for (size_t s = 0; s < 3; s++) {
                size_t r = starts[s];
                medner__attention_ref(ref + r * HD, HD, qkv + r * ld, qkv + r * ld + HD,
                                      qkv + r * ld + 2 * HD, ld, lens[s], H, D, scale);
            }
            size_t MR = medner__gemm_tile_m();
            for (size_t i = 0; i < (rows + MR - 1) / MR * MR; i++) {
                int in_seq = i < rows && i != 3 && i != L + 4;
                for (size_t j = 0; j < HD; j++) {
                    double got = panel_at(out, HD, i, j);
                    if (!in_seq) {
                        if (got != 5.0)
                            fail_msg("attention L=%zu isa %d: row %zu (no sequence) written",
                                     L, levels[l], i);
                        continue;
                    }
                    double err = fabs(got - ref[i * HD + j]);
                    if (err > 1e-5)
                        fail_msg("attention L=%zu H=%zu D=%zu isa %d: out[%zu,%zu]=%.9g ref %.9g",
                                 L, H, D, levels[l], i, j, got, (double)ref[i * HD + j]);
                }
            }
            free(qkv);
            free(qkv_p);
            free(out);
            free(ref);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    medner__par_free(par);
}

/* A sequence gives the same bits alone and at another row offset of a batch
 * buffer beside other sequences, with 1, 2 and 3 threads, at every level. */
static void test_attention_deterministic(void **state)
{
    (void)state;
    const size_t Ls[] = { 2, 7, 61, 130, 300, 400 };
    const size_t H = 2, D = 64, ld = 3 * H * D, HD = H * D, off = 37;
    int levels[4];
    int nl = isa_levels(levels);
    medner__par *pars[3];
    for (size_t t = 0; t < 3; t++)
        pars[t] = par_new(t + 1, medner__attention_scratch(400, D));
    rng_seed(4);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        for (size_t c = 0; c < MEDNER_ARRAY_LEN(Ls); c++) {
            size_t L = Ls[c], rows = L + off + 3;
            float *alone = frand_array(L * ld, -2.0f, 2.0f);
            float *batch = frand_array(rows * ld, -2.0f, 2.0f);
            memcpy(batch + off * ld, alone, L * ld * sizeof *alone);
            float *alone_p = to_panels(alone, L, ld), *batch_p = to_panels(batch, rows, ld);
            float *o1 = aligned_alloc(64, medner__gemm_packed_size(L, HD) * sizeof *o1 + 64);
            float *o2 = aligned_alloc(64, medner__gemm_packed_size(rows, HD) * sizeof *o2 + 64);
            float *r1 = malloc(L * HD * sizeof *r1), *r2 = malloc(rows * HD * sizeof *r2);
            assert_true(o1 && o2 && r1 && r2);
            size_t s1 = 0, l1 = L;
            medner__attention(pars[0], o1, alone_p, &s1, &l1, 1, H, D, 0.125f);
            medner__unpack_panels(r1, HD, o1, L, HD);
            size_t starts[3] = { 0, off, off + L }, lens[3] = { off, L, 3 };
            for (size_t t = 0; t < 3; t++) {
                medner__attention(pars[t], o2, batch_p, starts, lens, 3, H, D, 0.125f);
                medner__unpack_panels(r2, HD, o2, rows, HD);
                if (memcmp(r1, r2 + off * HD, L * HD * sizeof *r1) != 0)
                    fail_msg("attention L=%zu isa %d differs in a batch buffer with %zu threads",
                             L, levels[l], t + 1);
            }
            free(alone);
            free(batch);
            free(alone_p);
            free(batch_p);
            free(o1);
            free(o2);
            free(r1);
            free(r2);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (size_t t = 0; t < 3; t++)
        medner__par_free(pars[t]);
}

/* ---- LayerNorm -------------------------------------------------------------- */

static void check_layernorm_vs_ref(void)
{
    const size_t Rs[] = { 1, 3, 17 }, Cs[] = { 1, 5, 64, 768, 769 };
    const float offsets[] = { 0.0f, 100.0f, -1000.0f };
    const float epss[] = { 1e-12f, 1e-5f };
    rng_seed(5);
    for (size_t a = 0; a < MEDNER_ARRAY_LEN(Rs); a++)
        for (size_t c = 0; c < MEDNER_ARRAY_LEN(Cs); c++)
            for (int with_res = 0; with_res < 2; with_res++)
                for (size_t o = 0; o < MEDNER_ARRAY_LEN(offsets); o++) {
                    size_t rows = Rs[a], cols = Cs[c];
                    float eps = epss[(a + c) % 2];
                    float *x = frand_array(rows * cols, -3.0f, 3.0f);
                    for (size_t i = 0; i < rows * cols; i++)
                        x[i] += offsets[o];
                    float *res = with_res ? frand_array(rows * cols, -1.0f, 1.0f) : NULL;
                    float *g = frand_array(cols, 0.5f, 1.5f), *be = frand_array(cols, -0.5f, 0.5f);
                    float *r = fcopy(x, rows * cols);
                    medner__add_layernorm(x, res, g, be, rows, cols, eps);
                    medner__add_layernorm_ref(r, res, g, be, rows, cols, eps);
                    for (size_t i = 0; i < rows * cols; i++)
                        if (fabs((double)x[i] - r[i]) > 1e-5)
                            fail_msg("layernorm %zux%zu: [%zu] %.9g ref %.9g", rows, cols, i,
                                     (double)x[i], (double)r[i]);
                    /* a row normalised alone gives the same bits as in the batch */
                    if (rows > 1) {
                        float *one = fcopy(r, cols); /* any row content will do */
                        float *x2 = fcopy(r, rows * cols);
                        size_t last = rows - 1;
                        memcpy(one, x2 + last * cols, cols * sizeof *one);
                        medner__add_layernorm(x2, res, g, be, rows, cols, eps);
                        medner__add_layernorm(one, res ? res + last * cols : NULL, g, be, 1,
                                              cols, eps);
                        assert_memory_equal(one, x2 + last * cols, cols * sizeof *one);
                        free(one);
                        free(x2);
                    }
                    free(x);
                    free(res);
                    free(g);
                    free(be);
                    free(r);
                }
}

static void test_layernorm_vs_ref(void **state)
{
    (void)state;
    int levels[4];
    int nl = isa_levels(levels);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        check_layernorm_vs_ref();
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

static void test_layernorm_special(void **state)
{
    (void)state;
    enum { C = 37 };
    float x[C], res[C], g[C], be[C];
    for (int i = 0; i < C; i++) {
        x[i] = 5.25f;
        g[i] = 1.0f + (float)i;
        be[i] = (float)i * 0.25f - 3.0f;
    }
    /* a constant row has no variance: the output is beta exactly */
    medner__add_layernorm(x, NULL, g, be, 1, C, 1e-12f);
    assert_memory_equal(x, be, sizeof x);
    for (int i = 0; i < C; i++) {
        x[i] = 1e6f + (float)i;
        res[i] = -(float)i; /* x + res is constant (1e6) */
    }
    medner__add_layernorm(x, res, g, be, 1, C, 1e-12f);
    assert_memory_equal(x, be, sizeof x);
    /* cols = 1 */
    float one = 42.0f, g1 = 2.0f, b1 = 0.5f;
    medner__add_layernorm(&one, NULL, &g1, &b1, 1, 1, 1e-12f);
    assert_true(one == 0.5f);
    /* huge mean, small spread: shifted sums keep the variance right */
    float big[C], r2[C];
    for (int i = 0; i < C; i++)
        big[i] = r2[i] = 3e4f + (float)(i % 5) * 0.125f;
    medner__add_layernorm(big, NULL, g, be, 1, C, 1e-12f);
    medner__add_layernorm_ref(r2, NULL, g, be, 1, C, 1e-12f);
    for (int i = 0; i < C; i++)
        assert_true(fabs((double)big[i] - r2[i]) <= 1e-5 * fabs((double)g[i]) + 1e-6);
}

/* ---- GELU ----------------------------------------------------------------- */

static double gelu_exact(double x) { return 0.5 * x * erfc(-x * M_SQRT1_2); }

static double gelu_tanh_exact(double x)
{
    double u = sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    return x / (1.0 + exp(-2.0 * u));
}

/* Max absolute, relative (where |exact| >= FLT_MIN) and ulp errors of fn over
 * the sweep xs[n] against exact(). */
static void sweep_errors(void (*fn)(float *, size_t), double (*exact)(double), const float *xs,
                         size_t n, double *abs_err, double *rel_err, double *ulps)
{
    float *y = fcopy(xs, n);
    fn(y, n);
    *abs_err = *rel_err = *ulps = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = exact(xs[i]);
        double ae = fabs((double)y[i] - e);
        if (ae > *abs_err)
            *abs_err = ae;
        if (fabs(e) >= FLT_MIN && ae / fabs(e) > *rel_err)
            *rel_err = ae / fabs(e);
        double u = ulp_err(y[i], e);
        if (u > *ulps)
            *ulps = u;
    }
    free(y);
}

static float *dense_sweep(float lo, float hi, float step, size_t *n)
{
    size_t cnt = (size_t)((hi - lo) / step) + 1;
    float *xs = malloc(cnt * sizeof *xs);
    assert_non_null(xs);
    for (size_t i = 0; i < cnt; i++)
        xs[i] = lo + (float)i * step; /* exact: step is a power of two */
    *n = cnt;
    return xs;
}

static void check_gelu_accuracy(int level)
{
    size_t n;
    float *xs = dense_sweep(-10.0f, 10.0f, 0x1p-15f, &n); /* 655361 points */
    double ae, re, ul;
    sweep_errors(medner__gelu, gelu_exact, xs, n, &ae, &re, &ul);
    if (!(ae < 1e-6 && re < 1e-6 && ul <= 8.0))
        fail_msg("gelu (ISA %d) on [-10,10]: max abs %.3g rel %.3g ulp %.2f", level, ae, re, ul);
    free(xs);
    /* x >= -1: no erfc tail, tighter */
    xs = dense_sweep(-1.0f, 10.0f, 0x1p-15f, &n);
    sweep_errors(medner__gelu, gelu_exact, xs, n, &ae, &re, &ul);
    if (!(ul <= 3.0))
        fail_msg("gelu (ISA %d) on [-1,10]: max ulp %.2f", level, ul);
    free(xs);
    /* the tail down to where gelu underflows */
    xs = dense_sweep(-16.0f, -10.0f, 0x1p-12f, &n);
    sweep_errors(medner__gelu, gelu_exact, xs, n, &ae, &re, &ul);
    if (!(ae < 1e-27 && re < 2e-6))
        fail_msg("gelu (ISA %d) on [-16,-10]: max abs %.3g rel %.3g", level, ae, re);
    free(xs);
    /* every float around the switch between the two branches (|x| = 0.8) */
    float lo = 0.75f, hi = 0.85f;
    n = fbits(hi) - fbits(lo) + 1;
    xs = malloc(2 * n * sizeof *xs);
    assert_non_null(xs);
    for (size_t i = 0; i < n; i++) {
        xs[i] = bitsf(fbits(lo) + (uint32_t)i);
        xs[n + i] = -xs[i];
    }
    sweep_errors(medner__gelu, gelu_exact, xs, 2 * n, &ae, &re, &ul);
    if (!(ul <= 6.0))
        fail_msg("gelu (ISA %d) near the branch switch: max ulp %.2f", level, ul);
    free(xs);
}

static void test_gelu_accuracy(void **state)
{
    (void)state;
    int levels[4];
    int nl = isa_levels(levels);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        check_gelu_accuracy(levels[l]);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    /* the reference twin is accurate to rounding */
    size_t n;
    float *xs = dense_sweep(-10.0f, 10.0f, 0x1p-8f, &n);
    double ae, re, ul;
    sweep_errors(medner__gelu_ref, gelu_exact, xs, n, &ae, &re, &ul);
    assert_true(ul <= 0.5000001);
    free(xs);
}

static void test_gelu_special(void **state)
{
    (void)state;
    float v[] = { INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 1e-40f, -1e-40f, 1e4f, -1e4f,
                  FLT_MAX, -FLT_MAX, 14.9f, -14.9f, 30.0f, -30.0f, 5.0f, -5.0f };
    medner__gelu(v, MEDNER_ARRAY_LEN(v));
    assert_true(v[0] == INFINITY);
    assert_true(v[1] == 0.0f && signbit(v[1]));
    assert_true(isnan(v[2]));
    assert_true(v[3] == 0.0f && !signbit(v[3]));
    assert_true(v[4] == 0.0f && signbit(v[4]));
    assert_true(v[5] == 1e-40f * 0.5f); /* subnormal in, x/2 out */
    assert_true(v[6] == -1e-40f * 0.5f);
    assert_true(v[7] == 1e4f);
    assert_true(v[8] == 0.0f && signbit(v[8]));
    assert_true(v[9] == FLT_MAX);
    assert_true(v[10] == 0.0f && signbit(v[10]));
    assert_true(v[11] == 14.9f);
    assert_true(v[12] == 0.0f);
    assert_true(v[13] == 30.0f);
    assert_true(v[14] == 0.0f && signbit(v[14]));
    assert_true(fabs(v[15] - 4.99999857f) < 1e-6);
    /* gelu(-5) = -1.43325786e-6 (PyTorch's fp32 erf gives -1.19e-6) */
    assert_true(fabs(v[16] - (-1.43325786e-6)) < 1e-12);

    float t[] = { INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 1e4f, -1e4f, 20.0f, -25.0f };
    medner__gelu_tanh(t, MEDNER_ARRAY_LEN(t));
    assert_true(t[0] == INFINITY);
    assert_true(t[1] == 0.0f && signbit(t[1]));
    assert_true(isnan(t[2]));
    assert_true(t[3] == 0.0f && !signbit(t[3]));
    assert_true(t[4] == 0.0f && signbit(t[4]));
    assert_true(t[5] == 1e4f && t[7] == 20.0f);
    assert_true(t[6] == 0.0f && t[8] == 0.0f);

    float r[] = { -1.0f, 2.0f, -0.0f, NAN, -INFINITY, INFINITY };
    float rr[MEDNER_ARRAY_LEN(r)];
    memcpy(rr, r, sizeof r);
    medner__relu(r, MEDNER_ARRAY_LEN(r));
    medner__relu_ref(rr, MEDNER_ARRAY_LEN(rr));
    assert_true(r[0] == 0.0f && r[1] == 2.0f && r[2] == 0.0f && isnan(r[3]) && r[4] == 0.0f &&
                r[5] == INFINITY);
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(r); i++)
        assert_true(fbits(r[i]) == fbits(rr[i]));
}

static void test_gelu_tanh_accuracy(void **state)
{
    (void)state;
    size_t n;
    float *xs = dense_sweep(-10.0f, 10.0f, 0x1p-15f, &n);
    double ae, re, ul;
    int levels[4];
    int nl = isa_levels(levels);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        sweep_errors(medner__gelu_tanh, gelu_tanh_exact, xs, n, &ae, &re, &ul);
        if (!(ae < 1e-6 && re < 1e-6 && ul <= 4.0))
            fail_msg("gelu_tanh (ISA %d) on [-10,10]: max abs %.3g rel %.3g ulp %.2f", levels[l],
                     ae, re, ul);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    sweep_errors(medner__gelu_tanh_ref, gelu_tanh_exact, xs, n, &ae, &re, &ul);
    assert_true(ul <= 0.5000001);
    free(xs);
}

/* Elements are independent of their position and of the buffer length:
 * the same value anywhere in buffers of lengths 1..40 gives the same bits. */
static void check_pointwise_position_independent(void)
{
    void (*fns[])(float *, size_t) = { medner__gelu, medner__gelu_tanh, medner__relu };
    rng_seed(6);
    float vals[64];
    for (int i = 0; i < 64; i++)
        vals[i] = urand(-6.0f, 6.0f);
    for (size_t f = 0; f < MEDNER_ARRAY_LEN(fns); f++) {
        float want[64];
        for (int i = 0; i < 64; i++) {
            want[i] = vals[i];
            fns[f](&want[i], 1);
        }
        for (size_t len = 1; len <= 40; len++)
            for (size_t start = 0; start + len <= 64; start += 7) {
                float buf[64];
                memcpy(buf, vals + start, len * sizeof *buf);
                fns[f](buf, len);
                assert_memory_equal(buf, want + start, len * sizeof *buf);
            }
    }
}

static void test_pointwise_position_independent(void **state)
{
    (void)state;
    int levels[4];
    int nl = isa_levels(levels);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        check_pointwise_position_independent();
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* ---- softmax ----------------------------------------------------------------- */

static void check_softmax_vs_ref(void)
{
    const size_t Rs[] = { 1, 3, 17 }, Cs[] = { 1, 5, 16, 64, 128, 769 };
    rng_seed(7);
    double worst_abs = 0.0, worst_rel = 0.0;
    for (size_t a = 0; a < MEDNER_ARRAY_LEN(Rs); a++)
        for (size_t c = 0; c < MEDNER_ARRAY_LEN(Cs); c++) {
            size_t rows = Rs[a], cols = Cs[c];
            float *x = frand_array(rows * cols, -12.0f, 12.0f), *r = fcopy(x, rows * cols);
            medner__softmax(x, rows, cols);
            medner__softmax_ref(r, rows, cols);
            for (size_t i = 0; i < rows * cols; i++) {
                double ae = fabs((double)x[i] - r[i]);
                double re = r[i] > 0.0f ? ae / r[i] : 0.0;
                worst_abs = ae > worst_abs ? ae : worst_abs;
                worst_rel = re > worst_rel ? re : worst_rel;
            }
            if (rows > 1) { /* a row alone gives the same bits */
                float *one = fcopy(r, cols);
                float *again = frand_array(rows * cols, -12.0f, 12.0f);
                memcpy(one, again + cols, cols * sizeof *one);
                medner__softmax(again, rows, cols);
                medner__softmax(one, 1, cols);
                assert_memory_equal(one, again + cols, cols * sizeof *one);
                free(one);
                free(again);
            }
            free(x);
            free(r);
        }
    if (!(worst_abs < 1e-6 && worst_rel < 1e-6))
        fail_msg("softmax: max abs %.3g rel %.3g", worst_abs, worst_rel);
}

static void test_softmax_vs_ref(void **state)
{
    (void)state;
    int levels[4];
    int nl = isa_levels(levels);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        check_softmax_vs_ref();
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* The panel form: every lane of every panel equals the row form on that
 * lane's values within the same bounds, lanes are independent, at every
 * level. */
static void test_softmax_panels(void **state)
{
    (void)state;
    const size_t Ns[] = { 1, 3, 5, 64, 129, 300 };
    int levels[4];
    int nl = isa_levels(levels);
    rng_seed(8);
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        size_t MR = medner__gemm_tile_m(), P = 3;
        for (size_t c = 0; c < MEDNER_ARRAY_LEN(Ns); c++) {
            size_t n = Ns[c];
            float *x = frand_array(P * n * MR, -12.0f, 12.0f), *ref = malloc(n * sizeof *ref);
            assert_non_null(ref);
            if (n > 1)
                for (size_t k = 0; k < n; k++) /* lane 1 of panel 0: -inf and a huge value */
                    x[k * MR + 1] = k == 0 ? -INFINITY : k == 1 ? 3e38f : x[k * MR + 1];
            float *y = fcopy(x, P * n * MR);
            medner__softmax_panels(y, P, n);
            double worst = 0.0;
            for (size_t p = 0; p < P; p++)
                for (size_t lane = 0; lane < MR; lane++) {
                    for (size_t k = 0; k < n; k++)
                        ref[k] = x[p * n * MR + k * MR + lane];
                    medner__softmax_ref(ref, 1, n);
                    for (size_t k = 0; k < n; k++) {
                        double got = y[p * n * MR + k * MR + lane], e = fabs(got - ref[k]);
                        if (ref[k] > 0.0f)
                            e = e > e / ref[k] ? e : e / ref[k];
                        worst = e > worst ? e : worst;
                    }
                }
            if (!(worst < 1e-6))
                fail_msg("softmax_panels n=%zu isa %d: worst error %.3g", n, levels[l], worst);
            /* lanes are independent: change every other lane, lane 0 keeps its bits */
            float *z = fcopy(x, P * n * MR);
            for (size_t i = 0; i < P * n * MR; i++)
                if (i % MR != 0)
                    z[i] = -z[i] * 0.5f;
            medner__softmax_panels(z, P, n);
            for (size_t i = 0; i < P * n * MR; i += MR)
                if (memcmp(&z[i], &y[i], sizeof *z) != 0)
                    fail_msg("softmax_panels n=%zu isa %d: lane 0 depends on other lanes", n,
                             levels[l]);
            free(x);
            free(y);
            free(z);
            free(ref);
        }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

static void test_softmax_special(void **state)
{
    (void)state;
    float a[] = { -INFINITY, 0.0f, 1.0f, -INFINITY };
    medner__softmax(a, 1, 4);
    assert_true(a[0] == 0.0f && a[3] == 0.0f);
    assert_true(fabs(a[1] - 0.26894142f) < 1e-7 && fabs(a[2] - 0.73105858f) < 1e-7);
    /* huge values: the maximum is subtracted first */
    float b[] = { 1e30f, -1e30f, 0.0f, 3e38f, 3e38f };
    medner__softmax(b, 1, 5);
    assert_true(b[0] == 0.0f && b[1] == 0.0f && b[2] == 0.0f && b[3] == 0.5f && b[4] == 0.5f);
    float c[20];
    for (int i = 0; i < 20; i++)
        c[i] = 88.0f; /* exp would overflow without the shift */
    medner__softmax(c, 1, 20);
    for (int i = 0; i < 20; i++)
        assert_true(c[i] == 0.05f);
    float d = -3.0f; /* one column */
    medner__softmax(&d, 1, 1);
    assert_true(d == 1.0f);
    /* as PyTorch: an all -inf row, or +inf / NaN in a row, gives NaN */
    float e[] = { -INFINITY, -INFINITY, -INFINITY };
    medner__softmax(e, 1, 3);
    assert_true(isnan(e[0]) && isnan(e[1]) && isnan(e[2]));
    float f[] = { INFINITY, 0.0f, 1.0f };
    medner__softmax(f, 1, 3);
    assert_true(isnan(f[1]));
    float g[] = { NAN, 0.0f, 1.0f };
    medner__softmax(g, 1, 3);
    assert_true(isnan(g[1]));
    /* masked attention style: large negative (not -inf) values */
    float h[] = { 0.5f, -FLT_MAX, 0.5f, -FLT_MAX };
    medner__softmax(h, 1, 4);
    assert_true(h[0] == 0.5f && h[1] == 0.0f && h[2] == 0.5f && h[3] == 0.0f);
}

/* ---- instruction-set levels ---------------------------------------------------- */

/* Forcing a level caps it at what the CPU has; AUTO restores the best. The
 * narrow-output linear kernel sums exact products in double, so it gives the
 * same bits at every level (with or without FMA). */
static void test_isa_levels(void **state)
{
    (void)state;
    int best = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    assert_true(best >= MEDNER__ISA_BASE && best <= MEDNER__ISA_AVX512);
    assert_int_equal(medner__kernels_isa(), best);
    assert_int_equal(medner__kernels_set_isa(MEDNER__ISA_BASE), MEDNER__ISA_BASE);
    assert_int_equal(medner__kernels_set_isa(MEDNER__ISA_AVX512), best);
    assert_int_equal(medner__kernels_set_isa(99), best); /* out of range: AUTO */
    int levels[4];
    int nl = isa_levels(levels);
    enum { R = 5, N = 9, K = 133 };
    rng_seed(8);
    float *x = frand_array(R * K, -1.0f, 1.0f), *w = frand_array(N * K, -1.0f, 1.0f);
    float *b = frand_array(N, -1.0f, 1.0f), want[R * N], got[R * N];
    medner__par *par = par_new(1, medner__linear_scratch(K));
    for (int l = 0; l < nl; l++) {
        medner__kernels_set_isa(levels[l]);
        medner__linear(par, l ? got : want, N, x, K, w, b, R, N, K, MEDNER__EPI_NONE);
        if (l)
            assert_memory_equal(want, got, sizeof want);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    medner__par_free(par);
    free(x);
    free(w);
    free(b);
}

/* The dispatch table (dispatch.h) is chosen once: kernel calls go through the
 * cached table without choosing again, and each medner__kernels_set_isa
 * chooses exactly once. Each level's table reports its level, name, MR and
 * NR as the kernels do (medner__kernels_isa, medner__gemm_tile_m/_n) and has
 * every entry. */
static void test_dispatch_table(void **state)
{
    (void)state;
    static const size_t want_mr[] = { 8, 16, 32 }, want_nr[] = { 6, 6, 12 };
    static const char *const want_name[] = { "baseline", "avx2", "avx512" };
    int best = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    const medner__kfns *top = medner__kfns_get();
    unsigned c = medner__kfns_choices();
    assert_true(c >= 1);
    assert_ptr_equal(top, medner__kfns_level(best));
    float x[64];
    for (size_t i = 0; i < 64; i++)
        x[i] = (float)i / 16.0f - 2.0f;
    for (int rep = 0; rep < 3; rep++) {
        medner__gelu(x, 64);
        medner__softmax(x, 4, 16);
        assert_int_equal(medner__kernels_isa(), best);
        assert_int_equal(medner__gemm_tile_m(), top->mr);
        assert_ptr_equal(medner__kfns_get(), top);
    }
    assert_int_equal(medner__kfns_choices(), c);
    for (int l = MEDNER__ISA_BASE; l <= best; l++) {
        assert_int_equal(medner__kernels_set_isa(l), l);
        assert_int_equal(medner__kfns_choices(), c + (unsigned)(l - MEDNER__ISA_BASE + 1));
        const medner__kfns *t = medner__kfns_get();
        assert_ptr_equal(t, medner__kfns_level(l));
        assert_int_equal(t->level, l);
        assert_int_equal(medner__kernels_isa(), l);
        assert_string_equal(t->name, want_name[l]);
        assert_int_equal(t->mr, want_mr[l]);
        assert_int_equal(t->nr, want_nr[l]);
        assert_int_equal(medner__gemm_tile_m(), t->mr);
        assert_int_equal(medner__gemm_tile_n(), t->nr);
        assert_true(t->mr <= MEDNER__GEMM_MR_MAX);
        assert_non_null(t->tile);
        assert_non_null(t->pack);
        assert_non_null(t->pack_t);
        assert_non_null(t->transpose);
        assert_non_null(t->gather);
        assert_non_null(t->scatter);
        assert_non_null(t->small_linear);
        assert_non_null(t->gelu);
        assert_non_null(t->gelu_tanh);
        assert_non_null(t->relu);
        assert_non_null(t->softmax);
        assert_non_null(t->softmax_panels);
        assert_non_null(t->add_layernorm);
        assert_non_null(t->add_layernorm_panels);
        assert_non_null(t->qgemm_bf16);
        assert_non_null(t->qgemm_i8);
        assert_non_null(t->qpack_i8);
        assert_non_null(t->drop_range);
        assert_non_null(t->gelu_bwd);
        /* the reduced-precision instruction-set kernels only at AVX-512 */
        if (l != MEDNER__ISA_AVX512)
            assert_false(t->qgemm_bf16_native || t->qgemm_i8_native);
        medner__gelu(x, 64); /* no new choice */
        assert_int_equal(medner__kfns_choices(), c + (unsigned)(l - MEDNER__ISA_BASE + 1));
    }
    assert_int_equal(medner__kernels_set_isa(MEDNER__ISA_AUTO), best);
    assert_ptr_equal(medner__kfns_get(), top);
}

/* ---- embeddings and conversions ---------------------------------------------- */

static void test_embed(void **state)
{
    (void)state;
    enum { V = 11, P = 9, T = 2, D = 19, NTOK = 6 };
    rng_seed(9);
    float *word = frand_array(V * D, -1.0f, 1.0f), *pos = frand_array(P * D, -1.0f, 1.0f);
    float *type = frand_array(T * D, -1.0f, 1.0f);
    const int32_t ids[NTOK] = { 0, 10, 3, 3, 7, 1 }, tids[NTOK] = { 0, 1, 1, 0, 1, 0 };
    const int32_t posn[NTOK] = { 0, 1, 2, 8, 4, 5 };
    float out[NTOK * D];
    medner__embed(out, ids, tids, posn, NTOK, word, pos, type, D);
    for (int i = 0; i < NTOK; i++)
        for (int j = 0; j < D; j++) {
            float want = (word[ids[i] * D + j] + type[tids[i] * D + j]) + pos[posn[i] * D + j];
            assert_true(fbits(out[i * D + j]) == fbits(want));
        }
    medner__embed(out, ids, NULL, posn, NTOK, word, pos, type, D); /* type ids all 0 */
    for (int i = 0; i < NTOK; i++)
        for (int j = 0; j < D; j++) {
            float want = (word[ids[i] * D + j] + type[j]) + pos[posn[i] * D + j];
            assert_true(fbits(out[i * D + j]) == fbits(want));
        }
    medner__embed(out, ids, NULL, posn, NTOK, word, pos, NULL, D); /* DistilBERT */
    for (int i = 0; i < NTOK; i++)
        for (int j = 0; j < D; j++)
            assert_true(fbits(out[i * D + j]) ==
                        fbits(word[ids[i] * D + j] + pos[posn[i] * D + j]));
    free(word);
    free(pos);
    free(type);
}

static void test_f16_all_patterns(void **state)
{
    (void)state;
    uint16_t *in = malloc(65536 * sizeof *in);
    float *out = malloc(65536 * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (uint32_t i = 0; i < 65536; i++)
        in[i] = (uint16_t)i;
    medner__f16_to_f32(out, in, 65536);
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t e = (h >> 10) & 31, m = h & 1023;
        int neg = (h >> 15) != 0;
        float got = out[h];
        /* independent reference: the value computed in double */
        if (e == 31) {
            if (m == 0) {
                assert_true(isinf(got) && (signbit(got) != 0) == neg);
            } else { /* NaN with its payload */
                assert_true(isnan(got) && (signbit(got) != 0) == neg);
                assert_int_equal(fbits(got) & 0x7fffffu, m << 13);
            }
            continue;
        }
        double v = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp((double)m, -24);
        if (neg)
            v = -v;
        assert_true(fbits(got) == fbits((float)v));
#if defined(__FLT16_MANT_DIG__)
        /* and the compiler's own conversion */
        _Float16 hf;
        uint16_t hb = (uint16_t)h;
        memcpy(&hf, &hb, sizeof hf);
        assert_true(fbits(got) == fbits((float)hf));
#endif
    }
    free(in);
    free(out);
}

static void test_bf16_all_patterns(void **state)
{
    (void)state;
    uint16_t *in = malloc(65536 * sizeof *in);
    float *out = malloc(65536 * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (uint32_t i = 0; i < 65536; i++)
        in[i] = (uint16_t)i;
    medner__bf16_to_f32(out, in, 65536);
    for (uint32_t h = 0; h < 65536; h++) {
        assert_int_equal(fbits(out[h]), h << 16);
        uint32_t e = (h >> 7) & 255, m = h & 127;
        if (e == 255)
            continue;
        double v = e ? ldexp(128.0 + m, (int)e - 134) : ldexp((double)m, -133);
        if (h >> 15)
            v = -v;
        assert_true(out[h] == (float)v && (signbit(out[h]) != 0) == (int)(h >> 15));
    }
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_par_dispatch),
        cmocka_unit_test(test_linear_vs_ref),
        cmocka_unit_test(test_linear_row_stable),
        cmocka_unit_test(test_linear_stacked_same),
        cmocka_unit_test(test_gemm_packed_same),
        cmocka_unit_test(test_linear_panels_same),
        cmocka_unit_test(test_linear_ln_fused_same),
        cmocka_unit_test(test_layernorm_panels),
        cmocka_unit_test(test_attention_vs_ref),
        cmocka_unit_test(test_attention_deterministic),
        cmocka_unit_test(test_layernorm_vs_ref),
        cmocka_unit_test(test_layernorm_special),
        cmocka_unit_test(test_gelu_accuracy),
        cmocka_unit_test(test_gelu_special),
        cmocka_unit_test(test_gelu_tanh_accuracy),
        cmocka_unit_test(test_pointwise_position_independent),
        cmocka_unit_test(test_softmax_vs_ref),
        cmocka_unit_test(test_softmax_special),
        cmocka_unit_test(test_softmax_panels),
        cmocka_unit_test(test_isa_levels),
        cmocka_unit_test(test_dispatch_table),
        cmocka_unit_test(test_embed),
        cmocka_unit_test(test_f16_all_patterns),
        cmocka_unit_test(test_bf16_all_patterns),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
