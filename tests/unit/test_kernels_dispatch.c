/* Unit tests for the kernels' one dispatch mechanism (src/kernels/simd.c,
 * dispatch.h): every kernel family is reached through the level's table, a
 * forced level (medner__kernels_set_isa) and a forced bf16 training kernel
 * (medner__bgemm_force) really change the code that runs, and each kernel's
 * output on fixed inputs is the same whichever way it is reached.
 *
 * With MEDNER_TEST_HASHES=1 in the environment it also prints one line
 * "HASH <kernel> <level> <fnv1a-64 of the output bits>" per kernel and
 * level: the evidence that a refactoring of the dispatch left every result
 * bitwise unchanged (compare the lines before and after). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "kernels/backward.h"
#include "kernels/bgemm.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "train/train.h"

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15u + 1; }

static float urand(float lo, float hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    double u = (double)(rng_state >> 11) * 0x1p-53;
    return (float)(lo + (hi - lo) * u);
}

static float *frand(size_t n, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = urand(lo, hi);
    return p;
}

/* 64-byte aligned, zeroed */
static float *falloc(size_t n, void **raw)
{
    float *p = medner__malloc_aligned64((n ? n : 1) * sizeof *p, raw);
    assert_non_null(p);
    memset(p, 0, (n ? n : 1) * sizeof *p);
    return p;
}

static uint64_t fnv(uint64_t h, const void *p, size_t bytes)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < bytes; i++)
        h = (h ^ c[i]) * 0x100000001b3u;
    return h;
}
#define FNV0 0xcbf29ce484222325u

static int print_hashes(void)
{
    const char *e = getenv("MEDNER_TEST_HASHES");
    return e != NULL && strcmp(e, "1") == 0;
}

static void report(const char *what, const char *level, uint64_t h)
{
    if (print_hashes())
        printf("HASH %-26s %-12s %016llx\n", what, level, (unsigned long long)h);
}

enum { M = 45, N = 77, K = 93, NS = 10 };

/* The fp32 kernels of the table (gemm.c, linear.c, pointwise.c) at the
 * current level; returns the hash of all their outputs. */
static uint64_t fp32_kernels(const char *lv)
{
    rng_seed(11);
    float *x = frand(M * K, -1, 1), *w = frand(N * K, -1, 1), *b = frand(N, -1, 1);
    void *r1, *r2, *r3;
    float *scr = falloc(medner__gemm_scratch(K), &r1);
    float *y = falloc(M * N, &r2);
    uint64_t all = FNV0, h;

    medner__gemm_cols(y, N, x, K, w, K, b, 1.0f, M, 0, N, K, scr);
    all = fnv(all, y, M * N * sizeof *y);
    report("gemm_cols", lv, fnv(FNV0, y, M * N * sizeof *y));

    float *pan = falloc(medner__gemm_packed_size(M, K), &r3);
    medner__gemm_pack(pan, x, K, M, K);
    h = fnv(FNV0, pan, medner__gemm_packed_size(M, K) * sizeof *pan);
    medner__gemm_pack_t(pan, x, M, M, K); /* x read as a [K, M] transposed one */
    h = fnv(h, pan, medner__gemm_packed_size(M, K) * sizeof *pan);
    report("gemm_pack+pack_t", lv, h);
    all ^= h;

    medner__free(r2);
    float *t = falloc(K * M, &r2);
    medner__transpose(t, M, x, K, M, K);
    h = fnv(FNV0, t, K * M * sizeof *t);
    report("transpose", lv, h);
    all ^= h;

    memset(t, 0, M * NS * sizeof *t);
    medner__linear(NULL, t, NS, x, K, w, b, M, NS, K, MEDNER__EPI_NONE);
    h = fnv(FNV0, t, M * NS * sizeof *t);
    report("linear_small", lv, h);
    all ^= h;

    float *p = frand(M * N, -6, 6), *res = frand(M * N, -1, 1), *g = frand(N, 0.5f, 1.5f);
    float *q = malloc(M * N * sizeof *q);
    assert_non_null(q);
    memcpy(q, p, M * N * sizeof *q);
    medner__gelu(q, M * N);
    h = fnv(FNV0, q, M * N * sizeof *q);
    memcpy(q, p, M * N * sizeof *q);
    medner__gelu_tanh(q, M * N);
    h = fnv(h, q, M * N * sizeof *q);
    memcpy(q, p, M * N * sizeof *q);
    medner__relu(q, M * N);
    h = fnv(h, q, M * N * sizeof *q);
    memcpy(q, p, M * N * sizeof *q);
    medner__softmax(q, M, N);
    h = fnv(h, q, M * N * sizeof *q);
    memcpy(q, p, M * N * sizeof *q);
    medner__add_layernorm(q, res, g, b, M, N, 1e-12f);
    h = fnv(h, q, M * N * sizeof *q);
    report("pointwise", lv, h);
    all ^= h;

    free(x), free(w), free(b), free(p), free(res), free(g), free(q);
    medner__free(r1), medner__free(r2), medner__free(r3);
    return all;
}

/* The reduced-precision products at the current level, native (as the
 * table says) and portable; returns the hash of the native outputs. */
static uint64_t qgemm_kernels(const char *lv, int prec)
{
    rng_seed(prec == MEDNER__PREC_BF16 ? 21 : 22);
    float *x = frand(M * K, -1, 1), *w = frand(N * K, -1, 1), *b = frand(N, -1, 1);
    const float *ws[1] = { w }, *bs[1] = { b };
    medner__qweight qw;
    assert_int_equal(medner__qweight_pack(&qw, prec, ws, bs, 1, N, K), 0);
    size_t MR = medner__gemm_tile_m(), panels = (M + MR - 1) / MR;
    void *r1, *r2, *r3, *r4;
    float *xp = falloc(medner__gemm_packed_size(M, K), &r1);
    medner__gemm_pack(xp, x, K, M, K);
    float *scr = falloc(medner__qgemm_scratch(prec, K), &r2);
    float *y = falloc(panels * MR * N, &r3), *yp = falloc(panels * MR * N, &r4);
    medner__qgemm(y, N * MR, xp, M, &qw, 0, N, scr);
    medner__qgemm_portable(yp, N * MR, xp, M, &qw, 0, N, scr);
    /* rows past M: not part of the result */
    for (size_t p = 0; p < panels; p++)
        for (size_t n = 0; n < N; n++)
            for (size_t m = 0; m < MR; m++)
                if (p * MR + m >= M)
                    y[p * N * MR + n * MR + m] = yp[p * N * MR + n * MR + m] = 0.0f;
    assert_memory_equal(y, yp, panels * MR * N * sizeof *y);
    char name[64];
    snprintf(name, sizeof name, "qgemm_%s(%s)", prec == MEDNER__PREC_BF16 ? "bf16" : "int8",
             medner__qgemm_kernels_name(prec));
    size_t tiles = (N + MEDNER__QNR - 1) / MEDNER__QNR;
    size_t wbytes = tiles * qw.kg * MEDNER__QNR * 4; /* bf16 pairs or int8 quads */
    uint64_t h = fnv(FNV0, qw.data, wbytes);
    h = fnv(h, qw.bias, tiles * MEDNER__QNR * sizeof(float));
    if (qw.scale)
        h = fnv(h, qw.scale, tiles * MEDNER__QNR * sizeof(float));
    if (qw.comp)
        h = fnv(h, qw.comp, tiles * MEDNER__QNR * sizeof(int32_t));
    report(prec == MEDNER__PREC_BF16 ? "qweight_pack_bf16" : "qweight_pack_int8", lv, h);
    uint64_t hy = fnv(FNV0, y, panels * MR * N * sizeof *y);
    report(name, lv, hy);
    medner__qweight_free(&qw);
    free(x), free(w), free(b);
    medner__free(r1), medner__free(r2), medner__free(r3), medner__free(r4);
    return hy ^ h;
}

/* The bf16 training product with the kernel in use, every operand layout,
 * with and without bias and accumulation. */
static uint64_t bgemm_kernels(medner__par *par, const char *what)
{
    rng_seed(31);
    float *a = frand(M * K, -1, 1), *bm = frand(K * N, -1, 1), *bias = frand(N, -1, 1);
    float *c0 = frand(M * N, -1, 1), *c = malloc(M * N * sizeof *c);
    assert_non_null(c);
    medner__bgemm_ws ws = { 0 };
    uint64_t h = FNV0;
    for (int at = 0; at < 2; at++)
        for (int bt = 0; bt < 2; bt++)
            for (int mode = 0; mode < 4; mode++) {
                int acc = mode & 1;
                const float *bb = mode & 2 ? bias : NULL;
                memcpy(c, c0, M * N * sizeof *c);
                assert_int_equal(medner__bgemm(par, &ws, c, N, acc, a, at ? M : K, at, bm,
                                               bt ? K : N, bt, bb, M, N, K),
                                 0);
                h = fnv(h, c, M * N * sizeof *c);
            }
    report("bgemm", what, h);
    medner__bgemm_ws_free(&ws);
    free(a), free(bm), free(bias), free(c0), free(c);
    return h;
}

/* The training kernels of backward.c with level variants. */
static uint64_t backward_kernels(medner__par *par, const char *lv)
{
    enum { n = 4099 };
    rng_seed(41);
    float *x = frand(n, -4, 4), *dy = frand(n, -1, 1), *y = malloc(n * sizeof *y);
    float *dx = malloc(n * sizeof *dx);
    assert_non_null(y);
    assert_non_null(dx);
    medner__dropout(par, dx, x, n, 0.3f, 1234, 7, 99);
    uint64_t h = fnv(FNV0, dx, n * sizeof *dx);
    report("dropout", lv, h);
    memcpy(y, x, n * sizeof *y);
    medner__gelu(y, n);
    medner__act_backward_par(par, dx, dy, x, y, n, MEDNER__EPI_GELU);
    uint64_t h2 = fnv(FNV0, dx, n * sizeof *dx);
    report("act_backward_gelu", lv, h2);
    /* the bias gradient's column sums (double, rows in order): bitwise the
     * plain loop at every level, 131 columns = 64 + 64 + 3 (masked lanes),
     * row stride wider than the columns, added to what db held */
    enum { M = 37, N = 131, LD = 140 };
    float *g = frand(M * LD, -1, 1), db[N], want[N];
    for (size_t c = 0; c < N; c++)
        db[c] = want[c] = 0.25f * (float)c;
    for (size_t c = 0; c < N; c++) {
        double sum = 0;
        for (size_t m = 0; m < M; m++)
            sum += g[m * LD + c];
        want[c] += (float)sum;
    }
    float *work = malloc(medner__linear_backward_work(M, N, 8) * sizeof *work);
    assert_non_null(work);
    assert_int_equal(medner__linear_backward(par, NULL, 0, 0, NULL, db, g, LD, NULL, 0, NULL, M,
                                             N, 8, work),
                     0);
    assert_memory_equal(db, want, sizeof db);
    free(g), free(work);
    free(x), free(dy), free(y), free(dx);
    return h ^ h2;
}

/* AdamW's update (src/train/optim.c: a vector loop at the AVX-512 level). */
static uint64_t adamw_kernel(const char *lv)
{
    enum { n = 1037 };
    rng_seed(51);
    float *p = frand(n, -1, 1), *g = frand(n, -1, 1), *m = frand(n, -0.1f, 0.1f);
    float *v = frand(n, 0, 0.01f);
    for (uint64_t step = 1; step <= 3; step++)
        medner__adamw_update(p, g, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step);
    uint64_t h = fnv(FNV0, p, n * sizeof *p);
    h = fnv(h, m, n * sizeof *m);
    h = fnv(h, v, n * sizeof *v);
    report("adamw_update", lv, h);
    free(p), free(g), free(m), free(v);
    return h;
}

/* Every level the CPU has: the table in use is that level's, and its
 * kernels run (hashes printed on request). */
static void test_levels(void **state)
{
    (void)state;
    medner__par *par = NULL;
    assert_int_equal(medner__par_create(&par, 2), 0);
    int top = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    static const size_t mr[] = { 8, 16, 32 };
    for (int l = MEDNER__ISA_BASE; l <= top; l++) {
        assert_int_equal(medner__kernels_set_isa(l), l);
        const medner__kfns *t = medner__kfns_get();
        assert_ptr_equal(t, medner__kfns_level(l));
        assert_int_equal(t->level, l);
        assert_int_equal(medner__gemm_tile_m(), mr[l]);
        fp32_kernels(t->name);
        qgemm_kernels(t->name, MEDNER__PREC_BF16);
        qgemm_kernels(t->name, MEDNER__PREC_INT8);
        backward_kernels(par, t->name);
        adamw_kernel(t->name);
        /* the bf16 training product does not follow the fp32 level */
        bgemm_kernels(par, t->name);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    medner__par_free(par);
}

/* The reduced-precision products take their instruction-set kernel exactly
 * at the AVX-512 level on a CPU with the instruction, else the portable
 * one, and the forced level decides. */
static void test_qgemm_follows_level(void **state)
{
    (void)state;
    unsigned f = medner__cpu_features();
    int top = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (int l = MEDNER__ISA_BASE; l <= top; l++) {
        medner__kernels_set_isa(l);
        int a5 = l == MEDNER__ISA_AVX512;
        int bf = a5 && (f & MEDNER__CPU_AVX512_BF16), i8 = a5 && (f & MEDNER__CPU_AVX512_VNNI);
        assert_int_equal(medner__qgemm_native(MEDNER__PREC_BF16), bf);
        assert_int_equal(medner__qgemm_native(MEDNER__PREC_INT8), i8);
        assert_string_equal(medner__qgemm_kernels_name(MEDNER__PREC_BF16),
                            bf ? "avx512_bf16" : "portable");
        assert_string_equal(medner__qgemm_kernels_name(MEDNER__PREC_INT8),
                            i8 ? "avx512_vnni" : "portable");
        assert_string_equal(medner__qgemm_kernels_name(MEDNER__PREC_FP32),
                            medner__kfns_level(l)->name);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* Each bf16 training kernel the CPU allows can be forced, runs, and gives
 * the results the hashes record; the best one is what runs unforced. */
static void test_bgemm_kernels(void **state)
{
    (void)state;
    medner__par *par = NULL;
    assert_int_equal(medner__par_create(&par, 2), 0);
    unsigned f = medner__cpu_features();
    int best = medner__bgemm_best();
    unsigned bf = MEDNER__CPU_AVX512 | MEDNER__CPU_AVX512_BF16;
    assert_true(best == MEDNER__BGEMM_PORTABLE || (f & bf) == bf);
    if (best == MEDNER__BGEMM_AMX)
        assert_true((f & (MEDNER__CPU_AMX_TILE | MEDNER__CPU_AMX_BF16)) ==
                    (MEDNER__CPU_AMX_TILE | MEDNER__CPU_AMX_BF16));
    /* one choice for the process: the same kernel in every level's table */
    for (int l = MEDNER__ISA_BASE; l <= MEDNER__ISA_AVX512; l++)
        assert_int_equal(medner__kfns_level(l)->bgemm, medner__kfns_level(MEDNER__ISA_BASE)->bgemm);
    for (int k = MEDNER__BGEMM_PORTABLE; k <= best; k++) {
        assert_int_equal(medner__bgemm_force(k), 0);
        assert_int_equal(medner__bgemm_kernel(), k);
        bgemm_kernels(par, medner__bgemm_kernel_name(k));
    }
    assert_int_equal(medner__bgemm_force(best + 1 > MEDNER__BGEMM_AMX ? 99 : best + 1), -1);
    medner__bgemm_force(-1);
    if (getenv("MEDNER_BF16_GEMM") == NULL)
        assert_int_equal(medner__bgemm_kernel(), best);
    medner__par_free(par);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_qgemm_follows_level),
        cmocka_unit_test(test_bgemm_kernels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
