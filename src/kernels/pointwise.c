/*
 * Row-wise and element-wise kernels: GELU (erf and tanh forms), ReLU,
 * softmax, fused residual add + LayerNorm.
 *
 * Each is written once with GCC/Clang vector extensions and built three times
 * (the dispatch table of the process's level, dispatch.h, picks one): x86-64
 * baseline (4 floats per vector), AVX2+FMA (8) and AVX-512F (16). The AVX builds let the compiler fuse a*b+c
 * into FMA and schedule the long polynomial chains of several vectors
 * together; results of different levels may differ in the last bit (all meet
 * the same accuracy bounds, tested per level). Within one process the level
 * is fixed, so results are deterministic.
 *
 * The last, partial vector of a buffer or row goes through the same code on
 * a padded copy: an element's result never depends on its position or on the
 * other elements. docs/kernels.md derives the approximations and gives their
 * measured errors.
 */
#ifndef MEDNER_POINTWISE_LEVEL
/* First pass: this part; then the part after #else once per level, by
 * including this file again with VL, NAME and TARGET set. Each level uses its
 * native vector width: GCC lowers comparisons of wider-than-native vectors
 * element by element. */
#include <math.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

/* The helpers are static and always inlined, so the warning that wide
 * vector arguments have no stable ABI without AVX-512 is moot. */
#if defined(__clang__)
#  pragma clang diagnostic ignored "-Wunknown-warning-option"
#endif
#if defined(__GNUC__)
#  pragma GCC diagnostic ignored "-Wpsabi"
#endif
#define VI static inline __attribute__((always_inline))
#define MEDNER_POINTWISE_LEVEL 1

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define KX86 1
#  include <immintrin.h>
#  if defined(__clang__)
#    define OPT_FAST
#  else
#    define OPT_FAST \
         __attribute__((optimize("fp-contract=fast", "schedule-insns", "sched-pressure")))
#  endif
#  define TARGET_AVX2 __attribute__((target("avx2,fma"))) OPT_FAST
#  define TARGET_AVX512 __attribute__((target("avx512f"))) OPT_FAST
#else
#  define KX86 0
#endif

/* ---- one build per instruction-set level ------------------------------------ */

#if KX86
#  define VL 16
#  define NAME(f) f##_avx512
#  define TARGET TARGET_AVX512
#  include "pointwise.c"
#  undef VL
#  undef NAME
#  undef TARGET
#  define VL 8
#  define NAME(f) f##_avx2
#  define TARGET TARGET_AVX2
#  include "pointwise.c"
#  undef VL
#  undef NAME
#  undef TARGET
#endif
#define VL 4
#define NAME(f) f##_base
#define TARGET
#include "pointwise.c"
#undef VL
#undef NAME
#undef TARGET

/* This file's part of the dispatch table. */
#define KFNS(lv)                                      \
    do {                                              \
        t->gelu = gelu_##lv;                          \
        t->gelu_tanh = gelu_tanh_##lv;                \
        t->relu = relu_##lv;                          \
        t->softmax = softmax_##lv;                    \
        t->softmax_panels = softmax_panels_##lv;      \
        t->add_layernorm = layernorm_##lv;            \
        t->add_layernorm_panels = ln_panels_##lv;     \
    } while (0)

void medner__pointwise_kfns(medner__kfns *t)
{
    switch (t->level) {
#if KX86
    case MEDNER__ISA_AVX512: KFNS(avx512); return;
    case MEDNER__ISA_AVX2: KFNS(avx2); return;
#endif
    default: KFNS(base); return;
    }
}
#undef KFNS

void medner__gelu(float *x, size_t n) { medner__kfns_get()->gelu(x, n); }
void medner__gelu_tanh(float *x, size_t n) { medner__kfns_get()->gelu_tanh(x, n); }
void medner__relu(float *x, size_t n) { medner__kfns_get()->relu(x, n); }

void medner__softmax(float *x, size_t rows, size_t cols)
{
    if (cols == 0)
        return;
    medner__kfns_get()->softmax(x, rows, cols);
}

void medner__softmax_panels(float *s, size_t panels, size_t n)
{
    if (n == 0)
        return;
    const medner__kfns *kf = medner__kfns_get();
    kf->softmax_panels(s, panels, n, kf->mr);
}

void medner__add_layernorm(float *x, const float *residual, const float *gamma,
                           const float *beta, size_t rows, size_t cols, float eps)
{
    if (cols == 0)
        return;
    medner__kfns_get()->add_layernorm(x, residual, gamma, beta, rows, cols, eps);
}

void medner__add_layernorm_panels(float *x, const float *residual, const float *gamma,
                                  const float *beta, size_t panels, size_t cols, float eps)
{
    if (cols == 0)
        return;
    const medner__kfns *kf = medner__kfns_get();
    kf->add_layernorm_panels(x, residual, gamma, beta, panels, kf->mr, cols, eps);
}

#else /* MEDNER_POINTWISE_LEVEL: the kernels for one level, VL floats per vector */

/* The helpers carry the level's target too, so that they may use its
 * intrinsics (an always-inline callee must not need more than its caller). */
#undef VI
#define VI static inline __attribute__((always_inline)) TARGET

#define vf NAME(vf)
#define vi NAME(vi)
#define vu NAME(vu)
#define vh NAME(vh)
#define vd NAME(vd)
#define vl NAME(vl)
#define vload NAME(vload)
#define vstore NAME(vstore)
#define vset NAME(vset)
#define vsetd NAME(vsetd)
#define vsel NAME(vsel)
#define vmaxf NAME(vmaxf)
#define vminf NAME(vminf)
#define vseld NAME(vseld)
#define vabs NAME(vabs)
#define vlo NAME(vlo)
#define vhi NAME(vhi)
#define vjoin NAME(vjoin)
#define hsumd NAME(hsumd)
#define vload_part NAME(vload_part)
#define vstore_part NAME(vstore_part)
#define vhmax NAME(vhmax)
#define vexp2part NAME(vexp2part)
#define vexp NAME(vexp)
#define vgelu NAME(vgelu)
#define vgelu_tanh NAME(vgelu_tanh)
#define vrelu NAME(vrelu)
#define gelu_body NAME(gelu_body)
#define gelu_tanh_body NAME(gelu_tanh_body)
#define relu_body NAME(relu_body)
#define softmax_exp NAME(softmax_exp)
#define softmax_expv NAME(softmax_expv)
#define softmax_panels_body NAME(softmax_panels_body)
#define softmax_row NAME(softmax_row)
#define softmax_body NAME(softmax_body)
#define ln_row NAME(ln_row)
#define layernorm_body NAME(layernorm_body)
#define ln_panels_body NAME(ln_panels_body)

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));
typedef uint32_t vu __attribute__((vector_size(VL * 4)));
typedef float vh __attribute__((vector_size(VL * 2))); /* half a vf */
typedef double vd __attribute__((vector_size(VL * 4))); /* VL/2 doubles */
typedef int64_t vl __attribute__((vector_size(VL * 4)));

VI vf vload(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
VI void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
VI vf vset(float a)
{
    vf v;
    for (int i = 0; i < VL; i++)
        v[i] = a;
    return v;
}
VI vd vsetd(double a)
{
    vd v;
    for (int i = 0; i < VL / 2; i++)
        v[i] = a;
    return v;
}
/* m ? a : b, lane-wise; m comes from a vector comparison (all ones / zeros). */
VI vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
/* a > b ? a : b and a < b ? a : b, lane-wise (b where unordered, so a NaN in
 * b goes through): exactly x86's MAXPS / MINPS, one instruction there
 * instead of a compare and a two-instruction select. */
#if KX86 && VL == 16
VI vf vmaxf(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
VI vf vminf(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
#elif KX86 && VL == 8
VI vf vmaxf(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
VI vf vminf(vf a, vf b) { return (vf)_mm256_min_ps((__m256)a, (__m256)b); }
#elif KX86 && VL == 4 && defined(__SSE__)
VI vf vmaxf(vf a, vf b) { return (vf)_mm_max_ps((__m128)a, (__m128)b); }
VI vf vminf(vf a, vf b) { return (vf)_mm_min_ps((__m128)a, (__m128)b); }
#else
VI vf vmaxf(vf a, vf b) { return vsel(a > b, a, b); }
VI vf vminf(vf a, vf b) { return vsel(a < b, a, b); }
#endif
VI vd vseld(vl m, vd a, vd b) { return (vd)(((vl)a & m) | ((vl)b & ~m)); }
VI vf vabs(vf x) { return (vf)((vu)x & 0x7fffffffu); }
/* Halves of a vector converted to double, and back. __builtin_shufflevector
 * keeps the halves in registers; going through memory would stall on store
 * forwarding. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#  if VL == 16
#    define LO_IDX 0, 1, 2, 3, 4, 5, 6, 7
#    define HI_IDX 8, 9, 10, 11, 12, 13, 14, 15
#  elif VL == 8
#    define LO_IDX 0, 1, 2, 3
#    define HI_IDX 4, 5, 6, 7
#  else
#    define LO_IDX 0, 1
#    define HI_IDX 2, 3
#  endif
VI vd vlo(vf v) { return __builtin_convertvector(__builtin_shufflevector(v, v, LO_IDX), vd); }
VI vd vhi(vf v) { return __builtin_convertvector(__builtin_shufflevector(v, v, HI_IDX), vd); }
VI vf vjoin(vd lo, vd hi)
{
    vh a = __builtin_convertvector(lo, vh), b = __builtin_convertvector(hi, vh);
    return __builtin_shufflevector(a, b, LO_IDX, HI_IDX);
}
#  undef LO_IDX
#  undef HI_IDX
#else
VI vd vlo(vf v)
{
    vh h;
    memcpy(&h, &v, sizeof h);
    return __builtin_convertvector(h, vd);
}
VI vd vhi(vf v)
{
    vh h;
    memcpy(&h, (const char *)&v + sizeof h, sizeof h);
    return __builtin_convertvector(h, vd);
}
VI vf vjoin(vd lo, vd hi)
{
    vh a = __builtin_convertvector(lo, vh), b = __builtin_convertvector(hi, vh);
    vf v;
    memcpy(&v, &a, sizeof a);
    memcpy((char *)&v + sizeof a, &b, sizeof b);
    return v;
}
#endif
/* Fixed-order horizontal sum, so a row's result depends on its length only. */
VI double hsumd(vd a)
{
    double s[VL / 2];
    memcpy(s, &a, sizeof s);
    for (int w = VL / 4; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            s[i] = s[i] + s[i + w];
    return s[0];
}

/* The first `rest` (< VL) floats at p, the other lanes `fill`; and the
 * first `rest` lanes of v stored at p. Masked loads and stores on AVX-512:
 * nothing past p + rest is touched. */
#if KX86 && VL == 16
VI vf vload_part(const float *p, size_t rest, float fill)
{
    return (vf)_mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << rest) - 1u), p);
}
VI void vstore_part(float *p, vf v, size_t rest)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << rest) - 1u), (__m512)v);
}
VI float vhmax(vf v) { return _mm512_reduce_max_ps((__m512)v); }
#else
VI vf vload_part(const float *p, size_t rest, float fill)
{
    float b[VL];
    for (size_t l = 0; l < VL; l++)
        b[l] = l < rest ? p[l] : fill;
    return vload(b);
}
VI void vstore_part(float *p, vf v, size_t rest)
{
    float b[VL];
    vstore(b, v);
    memcpy(p, b, rest * sizeof *p);
}
VI float vhmax(vf v)
{
    float mx = v[0];
    for (int l = 1; l < VL; l++)
        mx = v[l] > mx ? v[l] : mx;
    return mx;
}
#endif

/* exp(hi + lo), where lo carries bits that hi + lo would lose in fp32 (or is
 * 0); about 1 ulp. Cody-Waite reduction r = hi + lo - n ln2 with
 * ln2 = C1 + C2 (n*C1 exact), e^r = 1 + r + r^2 Q(r) (minimax, relative
 * error 3.3e-9 on |r| <= 0.3486), then 2^n applied in two halves so that
 * results in the subnormal range round once. hi is clamped to [-111, 89.5]:
 * below, the result is 0 (also for -inf); above, +inf. NaN propagates. */
VI vf vexp2part(vf hi, vf lo)
{
    const float C1 = 0x1.63p-1f, C2 = -0x1.bd0106p-13f; /* 0.693359375, ln2 - C1 */
    hi = vmaxf(vset(-111.0f), hi); /* NaN stays NaN */
    hi = vminf(vset(89.5f), hi);
    vf t = (hi + lo) * 0x1.715476p+0f + 0x1.8p23f; /* round(x/ln2) + 1.5*2^23 */
    vf nf = t - 0x1.8p23f;
    vi n = (vi)t - 0x4b400000; /* minus the bits of 1.5*2^23 */
    vf r = ((hi - nf * C1) + lo) - nf * C2;
    vf q = vset(0x1.6a5abcp-10f);
    q = q * r + 0x1.123ca4p-7f;
    q = q * r + 0x1.5558aap-5f;
    q = q * r + 0x1.55548ep-3f;
    q = q * r + 0x1.fffffcp-2f;
    vf p = 1.0f + (r + (r * r) * q);
#if KX86 && VL == 16
    /* vscalefps: p 2^nf rounded once, subnormals included: the same bits as
     * the two exact-then-rounding steps below, in one instruction */
    (void)n;
    return (vf)_mm512_scalef_ps((__m512)p, (__m512)nf);
#else
    vi n1 = n >> 1, n2 = n - n1;
    vf s1 = (vf)((vu)(n1 + 127) << 23), s2 = (vf)((vu)(n2 + 127) << 23);
    return (p * s1) * s2;
#endif
}

VI vf vexp(vf x) { return vexp2part(x, vset(0.0f)); }

/* ---- GELU (erf) ----------------------------------------------------------
 * gelu(x) = x Phi(x), Phi(x) = (1 + erf(x/sqrt2))/2 = erfc(-x/sqrt2)/2, a = |x|.
 *  a <= 0.8: Phi = 1/2 + x S(x^2), S minimax (relative 2.8e-8);
 *  a >  0.8: erfc(a/sqrt2) = w exp(-a^2/2 + g(w)), w = K/(K + a), K = 2 sqrt2
 *            (as fp32), g a degree-9 minimax polynomial (abs. 1.7e-9 for
 *            a <= 14.85); a^2 is split exactly as ah^2 + al (a + ah), ah = a
 *            with 12 bits, so the large exponent -ah^2/2 is exact.
 * For x < 0, Phi comes from erfc directly (no 1 + erf cancellation): the
 * result keeps its relative accuracy down to the underflow near x = -14.1. */
#define GELU_XMAX 14.85f /* beyond: gelu is x (x > 0) or -0 (x < 0) */

VI vf vgelu(vf x)
{
    vf a = vabs(x);
    vf s = x * x;
    vf S = vset(0x1.c9e0b0p-14f);
    S = S * s - 0x1.37ebccp-10f;
    S = S * s + 0x1.46e56ap-7f;
    S = S * s - 0x1.1058aep-4f;
    S = S * s + 0x1.988454p-2f;
    vf phi_small = 0.5f + x * S;

    vf ac = vminf(vset(GELU_XMAX), a);
    vf w = 0x1.6a09e6p+1f / (0x1.6a09e6p+1f + ac);
    vf g = vset(0x1.01fc20p-2f);
    g = g * w - 0x1.2fa3dep+0f;
    g = g * w + 0x1.17d50cp+1f;
    g = g * w - 0x1.e1766ep+0f;
    g = g * w + 0x1.87cf94p-1f;
    g = g * w - 0x1.8b2500p-2f;
    g = g * w + 0x1.2f064ep-3f;
    g = g * w + 0x1.770472p-2f;
    g = g * w + 0x1.002c8ep+0f;
    g = g * w - 0x1.43fa1ap+0f;
    vf ah = (vf)((vu)ac & 0xfffff000u), al = ac - ah;
    vf hi = -0.5f * (ah * ah);
    vf lo = g - 0.5f * (al * (ac + ah));
    /* Phi(-a) = erfc(a/sqrt2)/2 = (w/2) E; for x < 0 multiply x in before E
     * so that a tiny result is rounded once, not twice through a subnormal */
    vf hw = 0.5f * w, E = vexp2part(hi, lo);
    vf y_large = vsel(x < 0.0f, (x * hw) * E, x * (1.0f - hw * E));

    vf y = vsel(a <= 0.8f, x * phi_small, y_large);
    return vsel(x < -GELU_XMAX, vset(-0.0f), y); /* -inf gives -0, not NaN */
}

/* ---- GELU (tanh form) ----------------------------------------------------
 * x/2 (1 + tanh u) = x sigmoid(2u) = x / (1 + exp(-2u)) (= x E / (1 + E) with
 * E = exp(2u) where exp(-2u) would overflow), u = sqrt(2/pi) (x + 0.044715 x^3):
 * no cancellation for x < 0. 2u is computed in double and passed to exp as
 * hi + lo, since exp magnifies the rounding error of its argument. */
VI vf vgelu_tanh(vf x)
{
    const double k1 = -2.0 * 0.7978845608028654, k3 = k1 * 0.044715;
    vd xl = vlo(x), xh = vhi(x);
    vd al = xl * (k1 + k3 * (xl * xl)), ah = xh * (k1 + k3 * (xh * xh));
    al = vseld(al < -120.0, vsetd(-120.0), al);
    al = vseld(al > 120.0, vsetd(120.0), al);
    ah = vseld(ah < -120.0, vsetd(-120.0), ah);
    ah = vseld(ah > 120.0, vsetd(120.0), ah);
    vf hi = vjoin(al, ah);
    vf lo = vjoin(al - vlo(hi), ah - vhi(hi));
    /* exp(-2u) would overflow for x < -10: there use x E / (1 + E), E = exp(2u) */
    vi neg = hi > 80.0f;
    vf E = vexp2part(vsel(neg, -hi, hi), vsel(neg, -lo, lo));
    vf y = vsel(neg, x * E, x) / (1.0f + E);
    return vsel(x < -20.0f, vset(-0.0f), y); /* -inf gives -0, not NaN */
}

VI vf vrelu(vf x) { return vmaxf(vset(0.0f), x); } /* NaN stays NaN, -0 stays -0 */

/* Apply F to n floats in place: full vectors (two per step, for the
 * scheduler), then the tail on a padded copy. */
#define MAP_BODY(F)                                                     \
    size_t i = 0;                                                       \
    for (; i + 2 * VL <= n; i += 2 * VL) {                              \
        vf a0 = F(vload(x + i)), a1 = F(vload(x + i + VL));             \
        vstore(x + i, a0);                                              \
        vstore(x + i + VL, a1);                                         \
    }                                                                   \
    for (; i + VL <= n; i += VL)                                        \
        vstore(x + i, F(vload(x + i)));                                 \
    if (i < n) {                                                        \
        float buf[VL] = { 0 };                                          \
        memcpy(buf, x + i, (n - i) * sizeof *x);                        \
        vstore(buf, F(vload(buf)));                                     \
        memcpy(x + i, buf, (n - i) * sizeof *x);                        \
    }

VI void gelu_body(float *x, size_t n) { MAP_BODY(vgelu) }
VI void gelu_tanh_body(float *x, size_t n) { MAP_BODY(vgelu_tanh) }
VI void relu_body(float *x, size_t n) { MAP_BODY(vrelu) }

/* ---- softmax --------------------------------------------------------------
 * e = exp(x - max), with x - max carried exactly as d + err (TwoSum) so that
 * small probabilities keep their relative accuracy; sum of e in double;
 * x = e * (1/sum). */
VI vf softmax_expv(vf v, vf mx)
{
    vf d = v - mx;
    vf bp = d - v, ap = d - bp;
    vf err = (v - ap) + (-mx - bp);
    err = vsel(d > -111.0f, err, vset(0.0f)); /* exp underflows anyway; no inf - inf */
    return vexp2part(d, err);
}

VI vf softmax_exp(vf v, float mx) { return softmax_expv(v, vset(mx)); }

VI void softmax_row(float *x, size_t n)
{
    const float ninf = -__builtin_inff();
    /* four running maxima: the compare-and-select chains run side by side */
    vf m0 = vset(ninf), m1 = m0, m2 = m0, m3 = m0;
    size_t j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
        vf a = vload(x + j), b = vload(x + j + VL), c = vload(x + j + 2 * VL);
        vf d = vload(x + j + 3 * VL);
        m0 = vmaxf(a, m0);
        m1 = vmaxf(b, m1);
        m2 = vmaxf(c, m2);
        m3 = vmaxf(d, m3);
    }
    for (; j + VL <= n; j += VL) {
        vf v = vload(x + j);
        m0 = vmaxf(v, m0);
    }
    m0 = vmaxf(m1, m0);
    m2 = vmaxf(m3, m2);
    vf m = vmaxf(m2, m0);
    float tail[VL];
    size_t rest = n - j;
    vstore(tail, vload_part(x + j, rest, ninf));
    if (rest) {
        vf v = vload(tail);
        m = vmaxf(v, m);
    }
    /* no lane is NaN (vmaxf keeps the running maximum), so the order of the
     * reduction does not matter */
    float mx = vhmax(m);

    /* the sum in double: four vectors of e are added in fp32 (each partial sum
     * within 2 roundings of exact, all terms positive), then widened */
    vd s0 = vsetd(0.0), s1 = vsetd(0.0);
    for (j = 0; j + 4 * VL <= n; j += 4 * VL) {
        vf e0 = softmax_exp(vload(x + j), mx), e1 = softmax_exp(vload(x + j + VL), mx);
        vf e2 = softmax_exp(vload(x + j + 2 * VL), mx), e3 = softmax_exp(vload(x + j + 3 * VL), mx);
        vstore(x + j, e0);
        vstore(x + j + VL, e1);
        vstore(x + j + 2 * VL, e2);
        vstore(x + j + 3 * VL, e3);
        vf e = (e0 + e1) + (e2 + e3);
        s0 += vlo(e);
        s1 += vhi(e);
    }
    for (; j + VL <= n; j += VL) {
        vf e = softmax_exp(vload(x + j), mx);
        vstore(x + j, e);
        s0 += vlo(e);
        s1 += vhi(e);
    }
    if (rest) {
        vf e = softmax_exp(vload(tail), mx); /* padding: exp(-inf) = 0 */
        vstore(tail, e);
        s0 += vlo(e);
        s1 += vhi(e);
    }
    float inv = (float)(1.0 / hsumd(s0 + s1));
    for (j = 0; j + VL <= n; j += VL)
        vstore(x + j, vload(x + j) * inv);
    if (rest)
        vstore_part(x + j, vload(tail) * inv, rest);
}

VI void softmax_body(float *x, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        softmax_row(x + r * cols, cols);
}

/* Softmax over n keys for every lane of each panel [n][MR] (MR = 2 VL):
 * lane-wise, the row form's formula; the keys' e are added four at a time
 * in fp32 and then in double, per lane. */
VI void softmax_panels_body(float *s, size_t panels, size_t n, size_t MR)
{
    const float ninf = -__builtin_inff();
    for (size_t p = 0; p < panels; p++)
        for (size_t g = 0; g < MR; g += 2 * VL) {
            float *x = s + p * n * MR + g;
            vf ma = vset(ninf), mb = ma, mc = ma, md = ma;
            size_t k = 0;
            for (; k + 2 <= n; k += 2) {
                ma = vmaxf(vload(x + k * MR), ma);
                mb = vmaxf(vload(x + k * MR + VL), mb);
                mc = vmaxf(vload(x + (k + 1) * MR), mc);
                md = vmaxf(vload(x + (k + 1) * MR + VL), md);
            }
            if (k < n) {
                ma = vmaxf(vload(x + k * MR), ma);
                mb = vmaxf(vload(x + k * MR + VL), mb);
            }
            ma = vmaxf(mc, ma); /* exact: the order does not matter */
            mb = vmaxf(md, mb);
            vd sa0 = vsetd(0.0), sa1 = sa0, sb0 = sa0, sb1 = sa0;
            for (k = 0; k + 4 <= n; k += 4) {
                vf a0 = softmax_expv(vload(x + k * MR), ma);
                vf a1 = softmax_expv(vload(x + (k + 1) * MR), ma);
                vf a2 = softmax_expv(vload(x + (k + 2) * MR), ma);
                vf a3 = softmax_expv(vload(x + (k + 3) * MR), ma);
                vf b0 = softmax_expv(vload(x + k * MR + VL), mb);
                vf b1 = softmax_expv(vload(x + (k + 1) * MR + VL), mb);
                vf b2 = softmax_expv(vload(x + (k + 2) * MR + VL), mb);
                vf b3 = softmax_expv(vload(x + (k + 3) * MR + VL), mb);
                vstore(x + k * MR, a0);
                vstore(x + (k + 1) * MR, a1);
                vstore(x + (k + 2) * MR, a2);
                vstore(x + (k + 3) * MR, a3);
                vstore(x + k * MR + VL, b0);
                vstore(x + (k + 1) * MR + VL, b1);
                vstore(x + (k + 2) * MR + VL, b2);
                vstore(x + (k + 3) * MR + VL, b3);
                vf ea = (a0 + a1) + (a2 + a3), eb = (b0 + b1) + (b2 + b3);
                sa0 += vlo(ea);
                sa1 += vhi(ea);
                sb0 += vlo(eb);
                sb1 += vhi(eb);
            }
            for (; k < n; k++) {
                vf a = softmax_expv(vload(x + k * MR), ma);
                vf b = softmax_expv(vload(x + k * MR + VL), mb);
                vstore(x + k * MR, a);
                vstore(x + k * MR + VL, b);
                sa0 += vlo(a);
                sa1 += vhi(a);
                sb0 += vlo(b);
                sb1 += vhi(b);
            }
            /* 1/sum rounded to fp32, as the row form */
            vf ia = vjoin(1.0 / sa0, 1.0 / sa1), ib = vjoin(1.0 / sb0, 1.0 / sb1);
            for (k = 0; k < n; k++) {
                vstore(x + k * MR, vload(x + k * MR) * ia);
                vstore(x + k * MR + VL, vload(x + k * MR + VL) * ib);
            }
        }
}

/* ---- residual add + LayerNorm ----------------------------------------------
 * Pass 1: v = x + residual (fp32, stored back), and the sums of (v - s) and
 * (v - s)^2 in double with s = v[0] (shifted data: no cancellation when the
 * mean is large against the spread). Pass 2: y = (v - mean) rstd gamma + beta
 * in double, rounded once. */
VI void ln_row(float *x, const float *res, const float *gamma, const float *beta, size_t n,
               float eps)
{
    float shift = res ? x[0] + res[0] : x[0];
    vd sh = vsetd((double)shift);
    vd s0 = vsetd(0.0), s1 = vsetd(0.0), q0 = vsetd(0.0), q1 = vsetd(0.0);
    size_t j = 0;
    for (; j + VL <= n; j += VL) {
        vf v = vload(x + j);
        if (res) {
            v += vload(res + j);
            vstore(x + j, v);
        }
        vd a = vlo(v) - sh, b = vhi(v) - sh;
        s0 += a;
        s1 += b;
        q0 += a * a;
        q1 += b * b;
    }
    size_t rest = n - j;
    float tail[VL];
    for (size_t l = 0; l < VL; l++)
        tail[l] = l < rest ? (res ? x[j + l] + res[j + l] : x[j + l]) : shift;
    if (rest) {
        vf v = vload(tail);
        vd a = vlo(v) - sh, b = vhi(v) - sh;
        s0 += a;
        s1 += b;
        q0 += a * a;
        q1 += b * b;
    }
    double dn = (double)n;
    double m = hsumd(s0 + s1) / dn;
    double var = hsumd(q0 + q1) / dn - m * m;
    if (!(var > 0.0))
        var = 0.0;
    double mean = (double)shift + m;
    double rstd = 1.0 / sqrt(var + (double)eps);
    vd mv = vsetd(mean), rv = vsetd(rstd);
    for (j = 0; j + VL <= n; j += VL) {
        vf v = vload(x + j), g = vload(gamma + j), b = vload(beta + j);
        vd lo = (vlo(v) - mv) * rv * vlo(g) + vlo(b);
        vd hi = (vhi(v) - mv) * rv * vhi(g) + vhi(b);
        vstore(x + j, vjoin(lo, hi));
    }
    if (rest) {
        float gt[VL] = { 0 }, bt[VL] = { 0 };
        memcpy(gt, gamma + j, rest * sizeof *gt);
        memcpy(bt, beta + j, rest * sizeof *bt);
        vf v = vload(tail), g = vload(gt), b = vload(bt);
        vd lo = (vlo(v) - mv) * rv * vlo(g) + vlo(b);
        vd hi = (vhi(v) - mv) * rv * vhi(g) + vhi(b);
        vstore(tail, vjoin(lo, hi));
        memcpy(x + j, tail, rest * sizeof *x);
    }
}

VI void layernorm_body(float *x, const float *res, const float *gamma, const float *beta,
                       size_t rows, size_t cols, float eps)
{
    for (size_t r = 0; r < rows; r++)
        ln_row(x + r * cols, res ? res + r * cols : NULL, gamma, beta, cols, eps);
}

/* The same LayerNorm on rows stored as packed panels ([cols][MR] floats per
 * panel of MR rows, MEDNER__GEMM_PANELS): each vector lane is one row, so
 * pass 1 sums a row's (v - s) and (v - s)^2 in double column by column
 * (in order), pass 2 writes ((v - mean) rstd gamma + beta) in double,
 * rounded once. Every lane of every panel is normalised (rows past the
 * matrix included; they never reach a real row). */
VI void ln_panels_body(float *x, const float *res, const float *gamma, const float *beta,
                       size_t panels, size_t MR, size_t n, float eps)
{
    double dn = (double)n;
    for (size_t p = 0; p < panels; p++)
        for (size_t g0 = 0; g0 + VL <= MR; g0 += VL) {
            float *xp = x + p * n * MR + g0;
            const float *rp = res ? res + p * n * MR + g0 : NULL;
            vf v0 = vload(xp);
            if (rp)
                v0 += vload(rp);
            vd shl = vlo(v0), shh = vhi(v0);
            vd s0 = vsetd(0.0), s1 = vsetd(0.0), q0 = vsetd(0.0), q1 = vsetd(0.0);
            for (size_t c = 0; c < n; c++) {
                vf v = vload(xp + c * MR);
                if (rp) {
                    v += vload(rp + c * MR);
                    vstore(xp + c * MR, v);
                }
                vd a = vlo(v) - shl, b = vhi(v) - shh;
                s0 += a;
                s1 += b;
                q0 += a * a;
                q1 += b * b;
            }
            vd ml = s0 / dn, mh = s1 / dn;
            vd varl = q0 / dn - ml * ml, varh = q1 / dn - mh * mh;
            vd meanl = shl + ml, meanh = shh + mh, rl, rh;
            for (int i = 0; i < VL / 2; i++) {
                double a = varl[i] > 0.0 ? varl[i] : 0.0, b = varh[i] > 0.0 ? varh[i] : 0.0;
                rl[i] = 1.0 / sqrt(a + (double)eps);
                rh[i] = 1.0 / sqrt(b + (double)eps);
            }
            for (size_t c = 0; c < n; c++) {
                vf v = vload(xp + c * MR);
                vd g = vsetd((double)gamma[c]), b = vsetd((double)beta[c]);
                vd lo = (vlo(v) - meanl) * rl * g + b;
                vd hi = (vhi(v) - meanh) * rh * g + b;
                vstore(xp + c * MR, vjoin(lo, hi));
            }
        }
}

/* Entry points of this level. */
TARGET static void NAME(gelu)(float *x, size_t n) { gelu_body(x, n); }
TARGET static void NAME(gelu_tanh)(float *x, size_t n) { gelu_tanh_body(x, n); }
TARGET static void NAME(relu)(float *x, size_t n) { relu_body(x, n); }
TARGET static void NAME(softmax)(float *x, size_t rows, size_t cols)
{
    softmax_body(x, rows, cols);
}
TARGET static void NAME(softmax_panels)(float *s, size_t panels, size_t n, size_t MR)
{
    softmax_panels_body(s, panels, n, MR);
}
TARGET static void NAME(layernorm)(float *x, const float *res, const float *gamma,
                                   const float *beta, size_t rows, size_t cols, float eps)
{
    layernorm_body(x, res, gamma, beta, rows, cols, eps);
}
TARGET static void NAME(ln_panels)(float *x, const float *res, const float *gamma,
                                   const float *beta, size_t panels, size_t MR, size_t cols,
                                   float eps)
{
    ln_panels_body(x, res, gamma, beta, panels, MR, cols, eps);
}

#undef vf
#undef vi
#undef vu
#undef vh
#undef vd
#undef vl
#undef vload
#undef vstore
#undef vset
#undef vsetd
#undef vsel
#undef vmaxf
#undef vminf
#undef vseld
#undef vabs
#undef vlo
#undef vhi
#undef vjoin
#undef hsumd
#undef vload_part
#undef vstore_part
#undef vhmax
#undef vexp2part
#undef vexp
#undef vgelu
#undef vgelu_tanh
#undef vrelu
#undef gelu_body
#undef gelu_tanh_body
#undef relu_body
#undef softmax_exp
#undef softmax_expv
#undef softmax_panels_body
#undef softmax_row
#undef softmax_body
#undef ln_row
#undef layernorm_body
#undef ln_panels_body
#undef MAP_BODY
#undef GELU_XMAX

#endif /* MEDNER_POINTWISE_LEVEL */
