/* Unit tests for the bf16 reduced-precision product (src/kernels/qgemm_bf16.c):
 * the AVX512-BF16 kernel against its portable twin bitwise on odd shapes and
 * special values; the portable twin at every level against an independent
 * reference of the documented numerics and against double precision within
 * the bf16 rounding bound; determinism (row results independent of M, the
 * row's position and the column split); the fp32 -> bf16 conversion over a
 * dense sweep. NaN results are compared as NaN-ness only (the twin does not
 * reproduce the hardware's choice of NaN payload; qgemm_bf16.c). */
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

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15u + 1; }
static uint64_t rnext(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float urand(float lo, float hi)
{
    double u = (double)(rnext() >> 11) * 0x1p-53;
    return (float)(lo + (hi - lo) * u);
}
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* ---- independent reference of kernels.h's bf16 numerics -------------------- */

/* fp32 -> bf16 as a float: nearest even (via double arithmetic), NaN quiet
 * with its top bits, subnormal -> signed zero, overflow -> inf. */
static float ref_bf16(float f)
{
    if (isnan(f))
        return u2f((f2u(f) & 0xffff0000u) | 0x00400000u);
    if (fabsf(f) < FLT_MIN)
        return copysignf(0.0f, f);
    if (isinf(f))
        return f;
    int e;
    (void)frexp((double)f, &e);                 /* f = m 2^e, 0.5 <= |m| < 1 */
    double q = rint(ldexp((double)f, 8 - e));   /* 8 significant bits, ties even */
    double r = ldexp(q, e - 8);
    if (fabs(r) > 0x1.fep127)
        return copysignf(INFINITY, f);
    return (float)r;
}

/* rne(acc + p) to 24 bits, unbounded exponent; tiny after rounding -> signed
 * zero. Computed in long double (64-bit significand) then rounded with
 * frexp/rint. */
static float ref_add(float acc, float p_a, float p_b)
{
    long double s = (long double)acc + (long double)p_a * (long double)p_b;
    if (isnan(s) || isinf(s))
        return (float)s;
    if (s == 0)
        return (float)s;
    int e;
    (void)frexpl(s, &e);
    long double r = ldexpl(rintl(ldexpl(s, 24 - e)), e - 24);
    if (fabsl(r) < (long double)FLT_MIN)
        return s < 0 ? -0.0f : 0.0f;
    return (float)r;   /* overflow -> inf */
}

static float ref_daz(float f) { return fabsf(f) < FLT_MIN ? copysignf(0.0f, f) : f; }

/* y[m][n] per the documented order: acc = b; per pair, hi product then lo. */
static float ref_dot(const float *x, const float *w, size_t K, float b)
{
    float acc = ref_daz(b);
    for (size_t k = 0; k < K; k += 2) {
        float xh = k + 1 < K ? ref_bf16(x[k + 1]) : 0.0f, wh = k + 1 < K ? ref_bf16(w[k + 1]) : 0.0f;
        acc = ref_add(acc, xh, wh);
        acc = ref_add(acc, ref_bf16(x[k]), ref_bf16(w[k]));
    }
    return acc;
}

static int same(float a, float b) { return (isnan(a) && isnan(b)) || f2u(a) == f2u(b); }

/* ---- harness ---------------------------------------------------------------- */

typedef struct {
    size_t count, n_each, N, K;
    float *w[3], *b[3];
    medner__qweight q;
} wset;

static float special(void)
{
    static const float v[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 0x1p-126f, -0x1p-127f, 3e38f, -3e38f,
                              1.0f, -1.0f, 0x1p-70f, 0x1.8p-64f, 65504.0f, 1.00390625f};
    uint64_t r = rnext();
    if (r % 997 == 0)
        return NAN;
    if (r % 991 == 0)
        return INFINITY;
    if (r % 983 == 0)
        return -INFINITY;
    return v[(r >> 20) % (sizeof v / sizeof *v)];
}

static float value(int specials)
{
    if (specials && rnext() % 6 == 0)
        return special();
    if (specials && rnext() % 9 == 0)
        return urand(-1, 1) * 0x1p20f;   /* large: cancellation and order effects */
    return urand(-1, 1);
}

static void wset_make(wset *s, size_t count, size_t n_each, size_t K, int specials)
{
    memset(s, 0, sizeof *s);
    s->count = count, s->n_each = n_each, s->N = count * n_each, s->K = K;
    for (size_t i = 0; i < count; i++) {
        s->w[i] = malloc((n_each * K + 1) * sizeof(float));
        assert_non_null(s->w[i]);
        for (size_t j = 0; j < n_each * K; j++)
            s->w[i][j] = value(specials);
        if (i != 1) {   /* the middle one has no bias */
            s->b[i] = malloc((n_each + 1) * sizeof(float));
            assert_non_null(s->b[i]);
            for (size_t j = 0; j < n_each; j++)
                s->b[i][j] = specials && j % 5 == 0 ? special() : urand(-1, 1);
        }
    }
    assert_int_equal(medner__qweight_pack(&s->q, MEDNER__PREC_BF16, (const float *const *)s->w,
                                          (const float *const *)s->b, count, n_each, K),
                     0);
}

static void wset_free(wset *s)
{
    medner__qweight_free(&s->q);
    for (size_t i = 0; i < 3; i++)
        free(s->w[i]), free(s->b[i]);
}

static const float *wrow(const wset *s, size_t n) { return s->w[n / s->n_each] + (n % s->n_each) * s->K; }
static float wbias(const wset *s, size_t n)
{
    const float *b = s->b[n / s->n_each];
    return b ? b[n % s->n_each] : 0.0f;
}

/* Run columns [n0, n1) for x[M][K] (rows); y returned row-major [M][N] (only
 * [n0, n1) filled; the rest NAN). */
static float *run(const wset *s, const float *x, size_t M, size_t n0, size_t n1, int native)
{
    size_t MR = medner__gemm_tile_m(), K = s->K, N = s->N, panels = (M + MR - 1) / MR;
    void *rx, *ry, *rs;
    float *xp = medner__malloc_aligned64((medner__gemm_packed_size(M, K) + 1) * sizeof(float), &rx);
    float *yp = medner__malloc_aligned64((panels * N * MR + 1) * sizeof(float), &ry);
    float *scr = medner__malloc_aligned64((medner__qgemm_scratch(MEDNER__PREC_BF16, K) + 1) * sizeof(float), &rs);
    float *y = malloc((M * N + 1) * sizeof(float));
    assert_true(xp && yp && scr && y);
    medner__gemm_pack(xp, x, K, M, K);
    for (size_t i = 0; i < panels * N * MR; i++)
        yp[i] = NAN;
    if (native)
        medner__qgemm(yp, N * MR, xp, M, &s->q, n0, n1, scr);
    else
        medner__qgemm_portable(yp, N * MR, xp, M, &s->q, n0, n1, scr);
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++)
            y[m * N + n] = yp[m / MR * N * MR + n * MR + m % MR];
    medner__free(rx), medner__free(ry), medner__free(rs);
    return y;
}

static float *xmake(size_t M, size_t K, int specials)
{
    float *x = malloc((M * K + 1) * sizeof(float));
    assert_non_null(x);
    for (size_t i = 0; i < M * K; i++)
        x[i] = value(specials);
    return x;
}

static const size_t Ms[] = {1, 31, 32, 33, 100};
static const size_t Ks[] = {1, 2, 3, 64, 768, 771};
static const size_t Ns[] = {1, 11, 12, 13, 50};

/* ---- (1) AVX512-BF16 kernel vs portable twin, bitwise ------------------------ */

static void test_native_vs_portable(void **state)
{
    (void)state;
    medner__kernels_set_isa(MEDNER__ISA_AVX512);
    if (!medner__qgemm_native(MEDNER__PREC_BF16)) {
        printf("    skipped: no AVX512-BF16 at the AVX-512 level on this CPU (%s)\n",
               medner__cpu_features_name());
        medner__kernels_set_isa(MEDNER__ISA_AUTO);
        skip();
    }
    rng_seed(1);
    size_t checked = 0, nans = 0;
    for (int sp = 0; sp < 2; sp++)
        for (size_t ik = 0; ik < sizeof Ks / sizeof *Ks; ik++)
            for (size_t in = 0; in < sizeof Ns / sizeof *Ns; in++)
                for (size_t cnt = 1; cnt <= 3; cnt += 2) {
                    wset s;
                    size_t M = Ms[(ik + in + cnt) % 5], K = Ks[ik];
                    wset_make(&s, cnt, Ns[in], K, sp);
                    float *x = xmake(M, K, sp);
                    float *a = run(&s, x, M, 0, s.N, 1), *b = run(&s, x, M, 0, s.N, 0);
                    for (size_t i = 0; i < M * s.N; i++) {
                        if (!same(a[i], b[i]))
                            fail_msg("M %zu K %zu N %zu: [%zu][%zu] native %a (%08x) portable %a (%08x)",
                                     M, K, s.N, i / s.N, i % s.N, (double)a[i], f2u(a[i]),
                                     (double)b[i], f2u(b[i]));
                        nans += isnan(a[i]) != 0;
                        checked++;
                    }
                    free(a), free(b), free(x);
                    wset_free(&s);
                }
    /* every M at one shape, too */
    for (size_t im = 0; im < 5; im++) {
        wset s;
        wset_make(&s, 3, 13, 771, 0);
        float *x = xmake(Ms[im], 771, 0);
        float *a = run(&s, x, Ms[im], 0, s.N, 1), *b = run(&s, x, Ms[im], 0, s.N, 0);
        for (size_t i = 0; i < Ms[im] * s.N; i++)
            assert_true(same(a[i], b[i]));
        free(a), free(b), free(x);
        wset_free(&s);
    }
    /* adversarial single dot products: order, cancellation, flushing */
    static const float adv[][5] = {
        /* bias, x0, w0, x1, w1: hi (x1 w1) is added first */
        {1.0f, 0x1p24f, 1.0f, -0x1p24f, 1.0f},
        {1.0f, -0x1p24f, 1.0f, 0x1p24f, 1.0f},
        {0x1p24f, 1.0f, 1.0f, 1.0f, 1.0f},
        {0x1.000002p-126f, 0x1p-75f, 0x1p-75f, 0.0f, 0.0f},
        {0x1p-126f, -0x1.8p-75f, 0x1p-76f, 0.0f, 0.0f},
        {0x1p-126f, -0x1p-75f, 0x1p-76f, 0.0f, 0.0f},
        {0.0f, 0x1p-126f, 1.0f, 0x1p-127f, 1.0f},
        {0x1p-127f, 0.0f, 0.0f, 0.0f, 0.0f},
        {-0.0f, -0.0f, 0.0f, -0.0f, 0.0f},
        {1.0f, 0x1p100f, 0x1p100f, -0x1p100f, 0x1p100f},
    };
    for (size_t t = 0; t < sizeof adv / sizeof *adv; t++) {
        float w[2] = {adv[t][2], adv[t][4]}, x[2] = {adv[t][1], adv[t][3]}, b = adv[t][0];
        const float *wp = w, *bp = &b;
        medner__qweight q;
        assert_int_equal(medner__qweight_pack(&q, MEDNER__PREC_BF16, &wp, &bp, 1, 1, 2), 0);
        wset s = {.count = 1, .n_each = 1, .N = 1, .K = 2, .q = q};
        float *a = run(&s, x, 1, 0, 1, 1), *p = run(&s, x, 1, 0, 1, 0);
        float r = ref_dot(x, w, 2, b);
        if (!same(a[0], p[0]) || !same(a[0], r))
            fail_msg("adversarial %zu: native %a portable %a reference %a", t, (double)a[0],
                     (double)p[0], (double)r);
        free(a), free(p);
        medner__qweight_free(&q);
    }
    printf("    %zu outputs bitwise equal (%zu NaN)\n", checked, nans);
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* ---- (2) portable twin at every level vs references --------------------------- */

static void test_portable_vs_reference(void **state)
{
    (void)state;
    static const int isas[] = {MEDNER__ISA_BASE, MEDNER__ISA_AVX2, MEDNER__ISA_AVX512};
    for (size_t il = 0; il < 3; il++) {
        if (medner__kernels_set_isa(isas[il]) != isas[il])
            continue;
        rng_seed(2 + il);
        for (int sp = 0; sp < 2; sp++)
            for (size_t ik = 0; ik < sizeof Ks / sizeof *Ks; ik++)
                for (size_t in = 0; in < sizeof Ns / sizeof *Ns; in += 2) {
                    wset s;
                    size_t M = Ms[(ik * 3 + in + il) % 5], K = Ks[ik];
                    wset_make(&s, 3, Ns[in], K, sp);
                    float *x = xmake(M, K, sp);
                    float *y = run(&s, x, M, 0, s.N, 0);
                    for (size_t m = 0; m < M; m++)
                        for (size_t n = 0; n < s.N; n++) {
                            const float *xr = x + m * K, *wr = wrow(&s, n);
                            float r = ref_dot(xr, wr, K, wbias(&s, n)), v = y[m * s.N + n];
                            if (!same(r, v))
                                fail_msg("isa %d M %zu K %zu N %zu [%zu][%zu]: %a vs reference %a",
                                         isas[il], M, K, s.N, m, n, (double)v, (double)r);
                            if (sp)
                                continue;
                            double d = wbias(&s, n), mag = fabs(d);
                            for (size_t k = 0; k < K; k++)
                                d += (double)xr[k] * wr[k], mag += fabs((double)xr[k] * wr[k]);
                            double bound = mag * (2 * 0x1p-8 + 0x1p-16 + (double)(K + 2) * 0x1p-24) + 1e-37;
                            if (fabs(v - d) > bound)
                                fail_msg("isa %d K %zu: %g vs double %g (bound %g)", isas[il], K,
                                         (double)v, d, bound);
                        }
                    free(y), free(x);
                    wset_free(&s);
                }
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* ---- (3) determinism ------------------------------------------------------- */

static void determinism_at(int isa, int native, int specials)
{
    medner__kernels_set_isa(isa);
    if (native && !medner__qgemm_native(MEDNER__PREC_BF16))
        return;
    rng_seed(7);
    size_t K = 771, M = 100;
    wset s;
    wset_make(&s, 3, 25, K, specials);   /* N = 75: 6 whole tiles + 3 */
    float *x = xmake(M, K, specials);
    float *full = run(&s, x, M, 0, s.N, native);
    /* column split on tile boundaries */
    float *a = run(&s, x, M, 0, 24, native), *b = run(&s, x, M, 24, 60, native),
          *c = run(&s, x, M, 60, s.N, native);
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < s.N; n++) {
            float v = n < 24 ? a[m * s.N + n] : n < 60 ? b[m * s.N + n] : c[m * s.N + n];
            assert_true(same(v, full[m * s.N + n]));
        }
    /* a row alone and at other positions in other M */
    static const size_t rows[] = {0, 31, 33, 99};
    static const size_t pos[][2] = {{1, 0}, {5, 4}, {40, 33}, {64, 63}};
    for (size_t r = 0; r < 4; r++)
        for (size_t t = 0; t < 4; t++) {
            size_t M2 = pos[t][0], at = pos[t][1];
            float *x2 = xmake(M2, K, 0);
            memcpy(x2 + at * K, x + rows[r] * K, K * sizeof(float));
            float *y2 = run(&s, x2, M2, 0, s.N, native);
            for (size_t n = 0; n < s.N; n++)
                assert_true(same(y2[at * s.N + n], full[rows[r] * s.N + n]));
            free(y2), free(x2);
        }
    free(a), free(b), free(c), free(full), free(x);
    wset_free(&s);
}

static void test_determinism(void **state)
{
    (void)state;
    for (int sp = 0; sp < 2; sp++) {
        determinism_at(MEDNER__ISA_BASE, 0, sp);
        determinism_at(MEDNER__ISA_AVX2, 0, sp);
        determinism_at(MEDNER__ISA_AVX512, 0, sp);
        determinism_at(MEDNER__ISA_AVX512, 1, sp);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* ---- (4) fp32 -> bf16 conversion --------------------------------------------- */

/* Every 16-bit high half with a set of low halves (ties, boundaries) plus
 * random values: the weight conversion (the packed words) against ref_bf16,
 * and the activation conversion (K = 1 products with w = 1, native and
 * portable) against the reference. */
static void test_conversion(void **state)
{
    (void)state;
    static const uint32_t lows[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff, 0x4000, 0xc000};
    size_t L = sizeof lows / sizeof *lows, R = 1u << 20, n = 65536 * L + R;
    float *v = malloc(n * sizeof(float));
    assert_non_null(v);
    for (size_t h = 0; h < 65536; h++)
        for (size_t l = 0; l < L; l++)
            v[h * L + l] = u2f((uint32_t)h << 16 | lows[l]);
    rng_seed(11);
    for (size_t i = 0; i < R; i++)
        v[65536 * L + i] = u2f((uint32_t)rnext());
    /* weights: one row of K = n; the packed words are the bf16 values */
    const float *wp = v;
    medner__qweight q;
    assert_int_equal(medner__qweight_pack(&q, MEDNER__PREC_BF16, &wp, NULL, 1, 1, n), 0);
    const uint32_t *d = q.data;
    for (size_t i = 0; i < n; i++) {
        uint32_t word = d[(i / 2) * MEDNER__QNR];
        uint32_t h = i % 2 ? word >> 16 : word & 0xffffu;
        if (h << 16 != f2u(ref_bf16(v[i])))
            fail_msg("weight %08x -> %04x, reference %08x", f2u(v[i]), h, f2u(ref_bf16(v[i])));
    }
    medner__qweight_free(&q);
    /* activations: y = 0 + 0 * 0 + bf16(x) * 1 */
    float one = 1.0f, zero = 0.0f;
    const float *op = &one, *zp = &zero;
    assert_int_equal(medner__qweight_pack(&q, MEDNER__PREC_BF16, &op, &zp, 1, 1, 1), 0);
    wset s = {.count = 1, .n_each = 1, .N = 1, .K = 1, .q = q};
    for (int native = 0; native < 2; native++) {
        medner__kernels_set_isa(MEDNER__ISA_AVX512);
        if (native && !medner__qgemm_native(MEDNER__PREC_BF16))
            break;
        float *y = run(&s, v, n, 0, 1, native);
        for (size_t i = 0; i < n; i++) {
            float r = ref_dot(v + i, &one, 1, 0.0f);
            if (!same(y[i], r))
                fail_msg("activation (native %d) %08x -> %08x, reference %08x", native, f2u(v[i]),
                         f2u(y[i]), f2u(r));
        }
        free(y);
    }
    medner__qweight_free(&q);
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_vs_portable),
        cmocka_unit_test(test_portable_vs_reference),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_conversion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
