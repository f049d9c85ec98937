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
 *  - bitwise identical results with 1, 2 and 3 threads per kernel, and
 *    medner__bgemm_serial (one thread, caller's space) bitwise medner__bgemm;
 *  - the attention products in bf16: output and input gradient within 2 %
 *    of the fp32 kernel's, with and without dropout, bitwise at 1 and 3
 *    threads;
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

#include "kernels/backward.h"
#include "kernels/bgemm.h"
#include "kernels/kernels.h"
#include "medner.h"
#include "model/model.h"
#include "train/lora.h"
#include "train/train.h"

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

/* MEDNER_TEST_BREAK=1..7: deliberately broken inputs that each check must
 * catch (run by hand to prove the checks bite; see the functions). */
static int g_break;

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
    if (g_break == 2 && M * K > 0) /* deliberately: the reference sees A[0] 1 % off */
        A[0] = A[0] * 1.01f + 0.01f;
    if (g_break == 3 && threads == 3) /* deliberately: one bit of the result flipped */
        C[ldc * (M - 1) + N - 1] = nextafterf(C[ldc * (M - 1) + N - 1], INFINITY);
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

/* medner__bgemm_serial (one thread, caller's space) gives bitwise
 * medner__bgemm's result on every shape, transpose, bias and accumulation
 * case, for every kernel the CPU has. */
static void test_bgemm_serial(void **state)
{
    (void)state;
    int ks[3], nk = kernels_here(ks);
    medner__par *par;
    assert_int_equal(medner__par_create(&par, 2), 0);
    medner__bgemm_ws ws = { 0 };
    for (int i = 0; i < nk; i++) {
        assert_int_equal(medner__bgemm_force(ks[i]), 0);
        for (size_t si = 0; si < sizeof SHAPES / sizeof *SHAPES; si++)
            for (int v = 0; v < 16; v++) {
                const shape *sh = &SHAPES[si];
                size_t M = sh->M, N = sh->N, K = sh->K;
                int at = v & 1, bt = (v >> 1) & 1, acc = (v >> 2) & 1, wb = (v >> 3) & 1;
                size_t lda = (at ? M : K) + 3, ldb = (bt ? K : N) + 2, ldc = N + 1;
                float *a = fa((at ? K : M) * lda), *b = fa((bt ? N : K) * ldb), *bias = fa(N);
                float *c1 = fa(M * ldc), *c2 = fa(M * ldc);
                float *space = NULL;
                assert_int_equal(posix_memalign((void **)&space, 64,
                                                medner__bgemm_serial_floats(M, N, K) *
                                                    sizeof(float)),
                                 0);
                g_rng = 300 + si * 16 + (size_t)v;
                fill(a, (at ? K : M) * lda, 1);
                fill(b, (bt ? N : K) * ldb, 1);
                fill(bias, N, 1);
                fill(c1, M * ldc, 1);
                memcpy(c2, c1, M * ldc * sizeof *c1);
                assert_int_equal(medner__bgemm(par, &ws, c1, ldc, acc, a, lda, at, b, ldb, bt,
                                               wb ? bias : NULL, M, N, K),
                                 0);
                medner__bgemm_serial(space, c2, ldc, acc, a, lda, at, b, ldb, bt,
                                     wb ? bias : NULL, M, N, K);
                if (g_break == 6 && si == 4 && v == 5)
                    c2[0] += 1e-3f;
                assert_memory_equal(c1, c2, M * ldc * sizeof *c1);
                free(a), free(b), free(bias), free(c1), free(c2), free(space);
            }
    }
    medner__bgemm_force(-1);
    medner__bgemm_ws_free(&ws);
    medner__par_free(par);
}

static double rel_l2(const float *x, const float *ref, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        e += ((double)x[i] - ref[i]) * ((double)x[i] - ref[i]);
        r += (double)ref[i] * ref[i];
    }
    return sqrt(e / (r > 0 ? r : 1));
}

/* The attention products in bf16 (medner__attention_train/backward with
 * bf16 set): output and input gradient within 2 % relative L2 of the fp32
 * kernel's (bf16 operands carry 2^-9 relative rounding; measured 0.2-0.5 %),
 * with and without dropout on the probabilities, for every kernel the CPU
 * has; bitwise the same at 1 and 3 threads. Two sequences (37 and 70 rows:
 * partial tiles), 3 heads of 24. */
static void test_attention_bf16(void **state)
{
    (void)state;
    size_t H = 3, D = 24, HD = H * D, lens[2] = { 37, 70 }, starts[2] = { 0, 37 }, T = 107;
    float scale = 1.0f / sqrtf((float)D);
    float *qkv = fa(T * 3 * HD), *dout = fa(T * HD);
    g_rng = 4242;
    fill(qkv, T * 3 * HD, 1.5);
    fill(dout, T * HD, 1);
    size_t np = medner__attention_probs_size(lens, 2, H);
    int ks[3], nk = kernels_here(ks);
    medner__par *par1, *par3;
    assert_int_equal(medner__par_create(&par1, 1), 0);
    assert_int_equal(medner__par_create(&par3, 3), 0);
    size_t scr = medner__attention_train_scratch(70, D);
    assert_int_equal(medner__par_reserve(par1, scr), 0);
    assert_int_equal(medner__par_reserve(par3, scr), 0);
    for (int drop = 0; drop < 2; drop++) {
        float p = drop ? 0.1f : 0.0f;
        float *o32 = fa(T * HD), *d32 = fa(T * 3 * HD), *pr = fa(np);
        medner__attention_train(par1, o32, pr, qkv, starts, lens, 2, H, D, scale, p, 9, 5, 0);
        medner__attention_backward(par1, d32, dout, qkv, pr, starts, lens, 2, H, D, scale, p, 9,
                                   5, 0);
        for (int i = 0; i < nk; i++) {
            assert_int_equal(medner__bgemm_force(ks[i]), 0);
            float *o[2], *d[2];
            for (int r = 0; r < 2; r++) {
                medner__par *par = r ? par3 : par1;
                o[r] = fa(T * HD), d[r] = fa(T * 3 * HD);
                medner__attention_train(par, o[r], pr, qkv, starts, lens, 2, H, D, scale, p, 9, 5,
                                        1);
                medner__attention_backward(par, d[r], dout, qkv, pr, starts, lens, 2, H, D, scale,
                                           p, 9, 5, 1);
            }
            if (g_break == 7)
                d[0][17] *= 1.05f;
            double eo = rel_l2(o[0], o32, T * HD), ed = rel_l2(d[0], d32, T * 3 * HD);
            print_message("attention bf16 (%s, dropout %.1f): output rel. L2 %.4f, gradient "
                          "%.4f\n",
                          medner__bgemm_kernel_name(ks[i]), (double)p, eo, ed);
            assert_true(eo <= 0.02);
            assert_true(ed <= 0.02);
            assert_true(eo > 0.0); /* the bf16 path did run */
            assert_memory_equal(o[0], o[1], T * HD * sizeof(float));
            assert_memory_equal(d[0], d[1], T * 3 * HD * sizeof(float));
            free(o[0]), free(o[1]), free(d[0]), free(d[1]);
        }
        free(o32), free(d32), free(pr);
    }
    medner__bgemm_force(-1);
    medner__par_free(par1);
    medner__par_free(par3);
    free(qkv), free(dout);
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

/* ---- training --------------------------------------------------------------------- */

/* A batch of random ids / labels for the model's shape (3 sequences). */
typedef struct tbatch_buf {
    int32_t ids[96], labels[96];
    size_t lens[3];
    medner__tbatch b;
} tbatch_buf;

static void make_batch(tbatch_buf *bb, const medner__config *cfg)
{
    static const size_t lens[3] = { 31, 17, 40 };
    size_t T = 0;
    for (size_t s = 0; s < 3; s++) {
        bb->lens[s] = lens[s] < cfg->max_positions ? lens[s] : cfg->max_positions;
        for (size_t k = 0; k < bb->lens[s]; k++, T++) {
            bb->ids[T] = (int32_t)(urand() * (double)cfg->vocab_size);
            bb->labels[T] = k == 0 || urand() < 0.2 ? -100
                                                    : (int32_t)(urand() * (double)cfg->num_labels);
        }
    }
    bb->b = (medner__tbatch){ .ids = bb->ids, .labels = bb->labels, .lens = bb->lens,
                              .n_seqs = 3 };
}

/* the gradient of one batch (dropout off) with the given precision and threads */
static double grads_of(medner__tparams *tp, const medner__tbatch *b, int bf16, size_t threads)
{
    medner__trainer_ctx *c = NULL;
    assert_int_equal(medner__train_ctx_create(&c, threads), MEDNER_OK);
    assert_int_equal(medner__train_ctx_set_bf16(c, bf16), bf16);
    medner__tparams_zero_grad(tp);
    double loss = 0;
    size_t cnt = 0;
    assert_int_equal(medner__train_step(c, tp, b, NULL, 1, 0.0f, &loss, &cnt, NULL), MEDNER_OK);
    medner__train_ctx_free(c);
    return loss / (double)cnt;
}

/* Relative L2 error of every tensor's bf16 gradient against fp32: at most
 * TOL_TENSOR (tensors with a norm above 1e-3 of the largest), and of the
 * whole gradient at most TOL_ALL. bf16 keeps 8 significant bits (each
 * operand rounding within 2^-9 relative); measured on these three models:
 * 1.2-1.6 % for the whole gradient, at most 3.1 % for one tensor, loss
 * within 0.2 %. */
#define TOL_TENSOR 0.06
#define TOL_ALL 0.03

static void check_model_grads(const char *dir, int break_it, int lora)
{
    if (medner__bgemm_best() == MEDNER__BGEMM_PORTABLE) {
        print_message("no native bf16 on this CPU: training stays fp32 (checked)\n");
        return;
    }
    medner__model *m = NULL;
    if (medner__model_load(&m, dir) != MEDNER_OK)
        fail_msg("%s: %s", dir, medner_last_error());
    medner__tparams *tp = NULL;
    if (lora) { /* r 4 on query,key,value,dense: the frozen base products' dx in bf16 */
        medner__lora_config lc;
        medner__lora_config_default(&lc);
        lc.r = 4;
        lc.alpha = 8.0f;
        const char *tg[] = { "query", "key", "value", "dense" };
        for (size_t i = 0; i < 4; i++)
            lc.target_modules[i] = tg[i];
        lc.n_targets = 4;
        assert_int_equal(medner__tparams_create_lora(&tp, m, &lc), MEDNER_OK);
        /* B starts at 0 in PEFT: give it values so that A's gradient is not 0 */
        g_rng = 4321;
        fill(tp->param, tp->n, 0.05);
    } else {
        assert_int_equal(medner__tparams_create(&tp, m), MEDNER_OK);
    }
    tbatch_buf bb;
    g_rng = 1234;
    make_batch(&bb, &tp->config);
    float *g32 = fa(tp->n), *g16 = fa(tp->n), *g16b = fa(tp->n);
    double l32 = grads_of(tp, &bb.b, 0, 1);
    memcpy(g32, tp->grad, tp->n * sizeof *g32);
    if (break_it && lora) /* deliberately: the frozen base weights 5 % larger for bf16 */
        for (size_t l = 0; l < m->config.layers; l++)
            for (size_t i = 0; i < m->config.hidden * m->config.hidden; i++)
                ((float *)m->weights.layers[l].q_w)[i] *= 1.05f;
    if (break_it && !lora) /* deliberately wrong weights (all 5 % larger): the check must fail */
        for (size_t i = 0; i < tp->n; i++)
            tp->param[i] *= 1.05f;
    double l16 = grads_of(tp, &bb.b, 1, 1);
    memcpy(g16, tp->grad, tp->n * sizeof *g16);
    grads_of(tp, &bb.b, 1, 3);
    memcpy(g16b, tp->grad, tp->n * sizeof *g16b);
    assert_memory_equal(g16, g16b, tp->n * sizeof *g16); /* thread-count invariant */
    double e_all = 0, n_all = 0, gmax = 0, worst = 0;
    for (size_t s = 0; s < tp->n_slots; s++) {
        double nn = 0;
        for (size_t i = 0; i < tp->numel[s]; i++)
            nn += (double)g32[tp->off[s] + i] * g32[tp->off[s] + i];
        if (sqrt(nn) > gmax)
            gmax = sqrt(nn);
    }
    int bad = 0;
    for (size_t s = 0; s < tp->n_slots; s++) {
        double e = 0, nn = 0;
        for (size_t i = 0; i < tp->numel[s]; i++) {
            double d = (double)g16[tp->off[s] + i] - g32[tp->off[s] + i];
            e += d * d;
            nn += (double)g32[tp->off[s] + i] * g32[tp->off[s] + i];
        }
        e_all += e, n_all += nn;
        if (tp->numel[s] == 0 || sqrt(nn) < 1e-3 * gmax)
            continue;
        double rel = sqrt(e / nn);
        if (rel > worst)
            worst = rel;
        if (rel > TOL_TENSOR) {
            print_error("%s slot %zu: bf16 gradient off by %.4f relative (L2)\n", dir, s, rel);
            bad++;
        }
    }
    double rel_all = sqrt(e_all / n_all);
    print_message("%s%s: loss fp32 %.7f bf16 %.7f; gradient rel. L2 error %.5f (worst tensor %.5f)\n",
                  dir, lora ? " (LoRA)" : "", l32, l16, rel_all, worst);
    assert_true(fabs(l16 - l32) <= 0.01 * fabs(l32));
    assert_int_equal(bad, 0);
    assert_true(rel_all <= TOL_ALL);
    free(g32), free(g16), free(g16b);
    medner__tparams_free(tp);
    medner__model_free(m);
}

static void test_train_grads_bert(void **state)
{
    (void)state;
    check_model_grads("tests/data/train/bert", g_break == 1, 0);
}

static void test_train_grads_minilm(void **state)
{
    (void)state;
    check_model_grads("tests/data/train/minilm", 0, 0);
}

static void test_train_grads_distilbert(void **state)
{
    (void)state;
    check_model_grads("tests/data/train/distilbert", 0, 0);
}

static void test_train_grads_lora(void **state)
{
    (void)state;
    check_model_grads("tests/data/train/minilm", g_break == 5, 1);
}

/* 30 AdamW steps on one batch in bf16: the loss falls (memorising). */
static void test_train_loss_falls(void **state)
{
    (void)state;
    if (medner__bgemm_best() == MEDNER__BGEMM_PORTABLE)
        return;
    medner__model *m = NULL;
    if (medner__model_load(&m, "tests/data/train/minilm") != MEDNER_OK)
        fail_msg("%s", medner_last_error());
    medner__tparams *tp = NULL;
    assert_int_equal(medner__tparams_create(&tp, m), MEDNER_OK);
    tbatch_buf bb;
    g_rng = 99;
    make_batch(&bb, &tp->config);
    medner__trainer_ctx *c = NULL;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    assert_int_equal(medner__train_ctx_set_bf16(c, 1), 1);
    medner__adamw o;
    assert_int_equal(medner__adamw_init(&o, tp), MEDNER_OK);
    o.lr = g_break == 4 ? 0.0f : 1e-3f; /* 4: deliberately no learning */
    double first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        double loss = 0;
        size_t cnt = 0;
        medner__tparams_zero_grad(tp);
        assert_int_equal(medner__train_step(c, tp, &bb.b, NULL, 1, 0.0f, &loss, &cnt, NULL),
                         MEDNER_OK);
        if (step == 0)
            first = loss / (double)cnt;
        last = loss / (double)cnt;
        medner__adamw_step(&o, tp);
    }
    print_message("bf16 training: loss %.4f -> %.4f in 30 steps\n", first, last);
    assert_true(isfinite(last));
    assert_true(last < 0.5 * first);
    medner__adamw_release(&o);
    medner__train_ctx_free(c);
    medner__tparams_free(tp);
    medner__model_free(m);
}

int main(void)
{
    g_break = getenv("MEDNER_TEST_BREAK") ? atoi(getenv("MEDNER_TEST_BREAK")) : 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bgemm_force),
        cmocka_unit_test(test_bgemm_accuracy),
        cmocka_unit_test(test_bgemm_threads),
        cmocka_unit_test(test_bgemm_serial),
        cmocka_unit_test(test_attention_bf16),
        cmocka_unit_test(test_train_grads_bert),
        cmocka_unit_test(test_train_grads_minilm),
        cmocka_unit_test(test_train_grads_distilbert),
        cmocka_unit_test(test_train_grads_lora),
        cmocka_unit_test(test_train_loss_falls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
