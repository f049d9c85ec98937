/* Unit tests for the int8 reduced-precision product (src/kernels/qgemm_i8.c):
 * the AVX-512 VNNI kernel against its portable twin (bitwise), the portable
 * twin at every level against a reference computed here from kernels.h's
 * formulas (bitwise) and against double precision (within the quantisation
 * bound), row and column-split determinism, the int32 limit K =
 * MEDNER__QI8_MAX_K and the refusal of larger K. */
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
#include "kernels/kernels.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15u + 1; }

static float urand(float lo, float hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    double u = (double)(rng_state >> 11) * 0x1p-53;
    return (float)(lo + (hi - lo) * u);
}

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    assert_non_null(p);
    return p;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A test problem: x[M][K] rows, count stacked W [n_each][K] with biases. */
typedef struct prob {
    size_t M, K, count, n_each, N;
    float *x;
    float *w[3], *b[3];
} prob;

/* Rows of x: random with a varying magnitude per row; special rows: zeros
 * (row 1), NaN (row 2 % M when M > 2), +inf (row 5 when M > 5). */
static void prob_make(prob *p, size_t M, size_t K, size_t count, size_t n_each, int special)
{
    memset(p, 0, sizeof *p);
    p->M = M;
    p->K = K;
    p->count = count;
    p->n_each = n_each;
    p->N = count * n_each;
    p->x = xalloc((M * K + 1) * sizeof(float));
    for (size_t m = 0; m < M; m++) {
        float mag = urand(0.01f, 8.0f);
        for (size_t k = 0; k < K; k++)
            p->x[m * K + k] = urand(-mag, mag);
    }
    if (special && K > 0) {
        if (M > 1)
            memset(p->x + K, 0, K * sizeof(float));
        if (M > 2)
            p->x[2 * K + K / 2] = NAN;
        if (M > 5)
            p->x[5 * K] = INFINITY;
    }
    for (size_t i = 0; i < count; i++) {
        p->w[i] = xalloc((n_each * K + 1) * sizeof(float));
        for (size_t n = 0; n < n_each; n++) {
            float mag = urand(0.01f, 1.0f);
            for (size_t k = 0; k < K; k++)
                p->w[i][n * K + k] = urand(-mag, mag);
        }
        if (special && n_each > 3) /* a row of zeros in W */
            memset(p->w[i] + 3 * K, 0, K * sizeof(float));
        if (i != 1) { /* bs[1] stays NULL */
            p->b[i] = xalloc((n_each + 1) * sizeof(float));
            for (size_t n = 0; n < n_each; n++)
                p->b[i][n] = urand(-1.0f, 1.0f);
        }
    }
}

static void prob_free(prob *p)
{
    free(p->x);
    for (size_t i = 0; i < p->count; i++) {
        free(p->w[i]);
        free(p->b[i]);
    }
}

static void pack_w(medner__qweight *qw, const prob *p)
{
    const float *ws[3] = { p->w[0], p->w[1], p->w[2] };
    const float *bs[3] = { p->b[0], p->b[1], p->b[2] };
    assert_int_equal(medner__qweight_pack(qw, MEDNER__PREC_INT8, ws, bs, p->count, p->n_each, p->K), 0);
    assert_int_equal(qw->prec, MEDNER__PREC_INT8);
    assert_int_equal(qw->N, p->N);
}

/* x packed at the current level; y (panels, ldy = N * MR) filled with a
 * pattern, then columns [n0, n1) computed natively or by the portable twin. */
static int poison_padding; /* fill the panel lanes past M with NaN */

static float *run_product(const prob *p, const medner__qweight *qw, size_t n0, size_t n1,
                          int portable, float *y)
{
    size_t MR = medner__gemm_tile_m();
    float *xp = xalloc(medner__gemm_packed_size(p->M, p->K) * sizeof(float));
    medner__gemm_pack(xp, p->x, p->K, p->M, p->K);
    if (poison_padding)
        for (size_t m = p->M; m % MR != 0; m++)
            for (size_t k = 0; k < p->K; k++)
                xp[m / MR * p->K * MR + k * MR + m % MR] = NAN;
    float *scratch = xalloc(medner__qgemm_scratch(MEDNER__PREC_INT8, p->K) * sizeof(float));
    if (portable)
        medner__qgemm_portable(y, p->N * MR, xp, p->M, qw, n0, n1, scratch);
    else
        medner__qgemm(y, p->N * MR, xp, p->M, qw, n0, n1, scratch);
    free(scratch);
    free(xp);
    return y;
}

static size_t ysize(const prob *p)
{
    size_t MR = medner__gemm_tile_m();
    return (p->M + MR - 1) / MR * MR * (p->N ? p->N : 1);
}

static float yat(const float *y, const prob *p, size_t m, size_t n)
{
    size_t MR = medner__gemm_tile_m();
    return y[m / MR * p->N * MR + n * MR + m % MR];
}

/* ---- the reference, straight from kernels.h -------------------------------- */

typedef struct qrow {
    float scale;
    int32_t *q; /* K values: signed (W) or u - 128 (x) */
    int nan;
} qrow;

static void quant_row(qrow *r, const float *v, size_t K)
{
    float a = 0.0f;
    r->nan = 0;
    for (size_t k = 0; k < K; k++) {
        if (!isfinite(v[k]))
            r->nan = 1;
        else if (fabsf(v[k]) > a)
            a = fabsf(v[k]);
    }
    r->q = calloc(K + 1, sizeof *r->q);
    assert_non_null(r->q);
    if (r->nan) {
        r->scale = NAN;
        return;
    }
    if (a == 0.0f) {
        r->scale = 0.0f;
        return;
    }
    r->scale = a / 127.0f;
    float inv = 127.0f / a;
    for (size_t k = 0; k < K; k++) {
        float t = rintf(v[k] * inv);
        t = t < -127.0f ? -127.0f : t > 127.0f ? 127.0f : t;
        r->q[k] = (int32_t)t;
    }
}

/* y[m][n] by the formula; also the double product and the error bound. */
static float ref_value(const qrow *xr, const qrow *wr, float b, const float *x, const float *w,
                       size_t K, double *exact, double *bound)
{
    int64_t acc = 0, comp = 0;
    for (size_t k = 0; k < K; k++) {
        acc += (int64_t)(xr->q[k] + 128) * wr->q[k];
        comp += 128 * (int64_t)wr->q[k];
    }
    float f = (float)(int32_t)(acc - comp);
    float s = xr->scale * wr->scale;
    float y = f * s;
    y = y + b;
    double e = b, mag = fabs((double)b), bd = 0.0;
    for (size_t k = 0; k < K; k++) {
        e += (double)x[k] * w[k];
        mag += fabs((double)x[k] * w[k]);
        /* |x - u sx| <= sx/2 (1 + 2^-22), likewise for w */
        bd += fabs((double)x[k]) * wr->scale * 0.5 + fabs((double)w[k]) * xr->scale * 0.5 +
              (double)xr->scale * wr->scale * 0.25;
    }
    *exact = e;
    *bound = bd * 1.001 + 1e-6 * mag + 1e-30;
    return y;
}

/* Compare columns [n0, n1) of y with the reference: bitwise, and within the
 * bound of the double product. */
static void check_ref(const prob *p, const float *y, size_t n0, size_t n1)
{
    qrow *xr = calloc(p->M + 1, sizeof *xr), *wr = calloc(p->N + 1, sizeof *wr);
    assert_non_null(xr);
    assert_non_null(wr);
    for (size_t m = 0; m < p->M; m++)
        quant_row(&xr[m], p->x + m * p->K, p->K);
    for (size_t n = 0; n < p->N; n++)
        quant_row(&wr[n], p->w[n / p->n_each] + n % p->n_each * p->K, p->K);
    for (size_t m = 0; m < p->M; m++)
        for (size_t n = n0; n < n1; n++) {
            const float *bb = p->b[n / p->n_each];
            float b = bb ? bb[n % p->n_each] : 0.0f;
            double exact, bound;
            const float *wrow = p->w[n / p->n_each] + n % p->n_each * p->K;
            float r = ref_value(&xr[m], &wr[n], b, p->x + m * p->K, wrow, p->K, &exact, &bound);
            float v = yat(y, p, m, n);
            if (isnan(r)) {
                if (!isnan(v))
                    fail_msg("M %zu K %zu N %zu: y[%zu][%zu] = %g, expected NaN", p->M, p->K,
                             p->N, m, n, (double)v);
                continue;
            }
            if (fbits(v) != fbits(r))
                fail_msg("M %zu K %zu N %zu: y[%zu][%zu] = %a, reference %a", p->M, p->K, p->N, m,
                         n, (double)v, (double)r);
            if (fabs((double)v - exact) > bound)
                fail_msg("M %zu K %zu N %zu: y[%zu][%zu] = %g, exact %g, bound %g", p->M, p->K,
                         p->N, m, n, (double)v, exact, bound);
        }
    for (size_t m = 0; m < p->M; m++)
        free(xr[m].q);
    for (size_t n = 0; n < p->N; n++)
        free(wr[n].q);
    free(xr);
    free(wr);
}

static const size_t Ms[] = { 1, 31, 32, 33, 100 };
static const size_t Ks[] = { 1, 3, 4, 5, 64, 768, 770 };
static const size_t Ns[] = { 1, 11, 12, 13, 50 }; /* n_each, count 3 */

/* ---- tests ----------------------------------------------------------------- */

/* (1) the VNNI kernel against the portable twin, bitwise, whole panels. */
static void test_native_vs_portable(void **state)
{
    (void)state;
    if (medner__kernels_set_isa(MEDNER__ISA_AVX512) != MEDNER__ISA_AVX512 ||
        !medner__qgemm_native(MEDNER__PREC_INT8)) {
        medner__kernels_set_isa(MEDNER__ISA_AUTO);
        printf("    (skipped: no AVX-512 VNNI on this CPU)\n");
        skip();
    }
    rng_seed(1);
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
            for (size_t c = 0; c < sizeof Ns / sizeof *Ns; c++) {
                prob p;
                prob_make(&p, Ms[a], Ks[b], 3, Ns[c], 1);
                medner__qweight qw;
                pack_w(&qw, &p);
                size_t ys = ysize(&p);
                float *y1 = xalloc(ys * sizeof(float)), *y2 = xalloc(ys * sizeof(float));
                memset(y1, 0x55, ys * sizeof(float));
                memset(y2, 0x55, ys * sizeof(float));
                run_product(&p, &qw, 0, p.N, 0, y1);
                run_product(&p, &qw, 0, p.N, 1, y2);
                if (memcmp(y1, y2, ys * sizeof(float)) != 0)
                    fail_msg("M %zu K %zu N %zu: native and portable differ", p.M, p.K, p.N);
                check_ref(&p, y1, 0, p.N);
                free(y1);
                free(y2);
                medner__qweight_free(&qw);
                prob_free(&p);
            }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* (2) the portable twin at every level (MR 8, 16, 32) against the reference. */
static void test_portable_vs_ref(void **state)
{
    (void)state;
    static const int levels[] = { MEDNER__ISA_BASE, MEDNER__ISA_AVX2, MEDNER__ISA_AVX512 };
    for (size_t l = 0; l < 3; l++) {
        if (medner__kernels_set_isa(levels[l]) != levels[l]) {
            printf("    (level %d not supported here)\n", levels[l]);
            continue;
        }
        rng_seed(2 + l);
        for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
            for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
                for (size_t c = 0; c < sizeof Ns / sizeof *Ns; c += 2) {
                    prob p;
                    prob_make(&p, Ms[a], Ks[b], 3, Ns[c], 1);
                    medner__qweight qw;
                    pack_w(&qw, &p);
                    float *y = xalloc(ysize(&p) * sizeof(float));
                    run_product(&p, &qw, 0, p.N, 1, y);
                    check_ref(&p, y, 0, p.N);
                    free(y);
                    medner__qweight_free(&qw);
                    prob_free(&p);
                }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* (3) a row's results do not depend on M, on its position, nor on the
 * column split; at the AVX-512 level (native) and the baseline (portable). */
static void determinism_at_level(int level)
{
    if (medner__kernels_set_isa(level) != level)
        return;
    rng_seed(7);
    prob p;
    prob_make(&p, 100, 770, 3, 50, 1);
    medner__qweight qw;
    pack_w(&qw, &p);
    float *y = xalloc(ysize(&p) * sizeof(float));
    run_product(&p, &qw, 0, p.N, 0, y);
    /* column split on tile boundaries */
    float *ys = xalloc(ysize(&p) * sizeof(float));
    run_product(&p, &qw, 0, 24, 0, ys);
    run_product(&p, &qw, 24, 36, 0, ys);
    run_product(&p, &qw, 36, p.N, 0, ys);
    for (size_t m = 0; m < p.M; m++)
        for (size_t n = 0; n < p.N; n++)
            assert_int_equal(fbits(yat(y, &p, m, n)), fbits(yat(ys, &p, m, n)));
    free(ys);
    /* rows moved into other batches: row r at position pos among M2 rows */
    static const size_t rows[] = { 0, 2, 5, 31, 32, 77, 99 };
    static const size_t pos[] = { 0, 1, 17, 31, 32, 63, 64 };
    static const size_t M2s[] = { 1, 40, 70 };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        for (size_t j = 0; j < sizeof M2s / sizeof *M2s; j++) {
            size_t M2 = M2s[j], at = pos[(i + j) % 7] % M2;
            prob q = p;
            q.M = M2;
            q.x = xalloc(M2 * p.K * sizeof(float));
            for (size_t m = 0; m < M2; m++)
                for (size_t k = 0; k < p.K; k++)
                    q.x[m * p.K + k] = urand(-3.0f, 3.0f);
            memcpy(q.x + at * p.K, p.x + rows[i] * p.K, p.K * sizeof(float));
            float *y2 = xalloc(ysize(&q) * sizeof(float));
            poison_padding = 1; /* rows past M are never read */
            run_product(&q, &qw, 0, q.N, 0, y2);
            poison_padding = 0;
            for (size_t n = 0; n < p.N; n++)
                assert_int_equal(fbits(yat(y, &p, rows[i], n)), fbits(yat(y2, &q, at, n)));
            free(y2);
            free(q.x);
        }
    free(y);
    medner__qweight_free(&qw);
    prob_free(&p);
}

static void test_determinism(void **state)
{
    (void)state;
    determinism_at_level(MEDNER__ISA_AVX512);
    determinism_at_level(MEDNER__ISA_AVX2);
    determinism_at_level(MEDNER__ISA_BASE);
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* (4) K = MEDNER__QI8_MAX_K: the extreme sums still fit int32 (native and
 * portable agree with the reference); K + 1 is refused with -2. */
static void test_max_k(void **state)
{
    (void)state;
    size_t K = MEDNER__QI8_MAX_K;
    prob p;
    memset(&p, 0, sizeof p);
    p.M = 3;
    p.K = K;
    p.count = 1;
    p.n_each = 2;
    p.N = 2;
    p.x = xalloc(3 * K * sizeof(float));
    p.w[0] = xalloc(2 * K * sizeof(float));
    for (size_t k = 0; k < K; k++) {
        p.x[k] = 2.0f;       /* u = 255 */
        p.x[K + k] = -2.0f;  /* u = 1 */
        p.x[2 * K + k] = (k & 1) ? 2.0f : -2.0f;
        p.w[0][k] = -0.5f;   /* q = -127 */
        p.w[0][K + k] = 0.5f;
    }
    medner__qweight qw;
    pack_w(&qw, &p);
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    float *y1 = xalloc(ysize(&p) * sizeof(float)), *y2 = xalloc(ysize(&p) * sizeof(float));
    run_product(&p, &qw, 0, 2, 0, y1);
    run_product(&p, &qw, 0, 2, 1, y2);
    assert_memory_equal(y1, y2, ysize(&p) * sizeof(float));
    check_ref(&p, y1, 0, 2);
    assert_true(fabsf(yat(y1, &p, 0, 0) + 65536.0f) < 0.5f);
    free(y1);
    free(y2);
    medner__qweight_free(&qw);
    prob_free(&p);

    float one = 1.0f;
    const float *ws[1] = { &one }, *bs[1] = { NULL };
    medner__qweight z;
    memset(&z, 0, sizeof z);
    assert_int_equal(medner__qweight_pack(&z, MEDNER__PREC_INT8, ws, bs, 1, 1, K + 1), -2);
    assert_null(z.data);
}

/* Cases kernels.h leaves open (qgemm_i8.c's header): a row whose max |value|
 * is too small for 127 / a (inf) quantises as zeros; a W row with inf or NaN
 * gives a NaN column; other rows and columns are unaffected. */
static void test_special_rows(void **state)
{
    (void)state;
    rng_seed(11);
    prob p;
    prob_make(&p, 4, 20, 1, 13, 0);
    for (size_t k = 0; k < p.K; k++) {
        p.x[k] = 1e-38f * (k & 1 ? 1.0f : -1.0f); /* row 0: 127 / 1e-38 overflows */
        p.w[0][2 * p.K + k] = 2e-38f;            /* W row 2 likewise */
    }
    p.w[0][5 * p.K + 3] = INFINITY; /* W row 5 */
    p.w[0][7 * p.K + 9] = NAN;      /* W row 7 */
    medner__qweight qw;
    pack_w(&qw, &p);
    assert_true(qw.scale[2] == 0.0f && qw.comp[2] == 0);
    assert_true(isnan(qw.scale[5]) && isnan(qw.scale[7]));
    float *y1 = xalloc(ysize(&p) * sizeof(float)), *y2 = xalloc(ysize(&p) * sizeof(float));
    run_product(&p, &qw, 0, p.N, 0, y1);
    run_product(&p, &qw, 0, p.N, 1, y2);
    assert_memory_equal(y1, y2, ysize(&p) * sizeof(float));
    for (size_t m = 0; m < p.M; m++)
        for (size_t n = 0; n < p.N; n++) {
            float v = yat(y1, &p, m, n);
            if (n == 5 || n == 7)
                assert_true(isnan(v));
            else if (m == 0 || n == 2)
                assert_int_equal(fbits(v), fbits(p.b[0][n]));
            else
                assert_true(isfinite(v) && v != p.b[0][n]);
        }
    free(y1);
    free(y2);
    medner__qweight_free(&qw);
    prob_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_vs_portable),
        cmocka_unit_test(test_portable_vs_ref),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_max_k),
        cmocka_unit_test(test_special_rows),
    };
    return cmocka_run_group_tests_name("qgemm_i8", tests, NULL, NULL);
}
