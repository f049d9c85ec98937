/*
 * bf16 half of the reduced-precision products (kernels.h documents the
 * layouts): y = x . W^T + b with x and W rounded to bf16 and fp32
 * accumulation, on AVX512-BF16 vdpbf16ps or in the portable twin.
 *
 * Semantics of vdpbf16ps, verified with probe programs on AMD Zen 4 (the
 * CPU this was written on), which the portable twin (step()) repeats:
 *   per fp32 lane, with the dword pair (lo = k even, hi = k odd):
 *     acc = daz(acc)                       subnormal acc in -> signed 0
 *     acc = ftz(rne(acc + x_hi * w_hi))    the HIGH (odd k) product first
 *     acc = ftz(rne(acc + x_lo * w_lo))
 *   - each product is exact (not rounded, not flushed: a product below
 *     FLT_MIN still moves a normal acc, e.g. 0x00800001 + 2^-150 gives
 *     0x00800002 by ties-to-even, and 1.5*2^-126 - 2^-127 gives 2^-126);
 *   - each add rounds once to nearest even (2^24 + 1 + 1 gives 2^24, so the
 *     two products are not summed first);
 *   - the result of each add (the intermediate one too) is flushed to a
 *     signed zero when tiny AFTER rounding to 24 bits with an unbounded
 *     exponent: 2^-126 - 2^-151 gives 2^-126, 2^-126 - 1.5*2^-151 gives 0;
 *     0 + 2^-127 (hi) + 2^-126 (lo) gives 2^-126.
 *   - MXCSR plays no part.
 *   - NaN payloads: a NaN result is NaN in both, but which input NaN's
 *     payload comes out differs (Zen 4 prefers the lo product's NaN); the
 *     twin does not reproduce NaN payloads, only NaN-ness.
 * vcvtne2ps2bf16 (activations) on the same CPU: round to nearest even,
 * overflow to inf, NaN -> its top 16 bits with the quiet bit set, sign
 * kept; subnormal inputs -> zero of the same sign (0x007fffff -> 0x0000,
 * not 0x0080). to_bf16() does exactly this for weights and for the
 * portable path's activations.
 */
#include <float.h>
#include <string.h>

#include "common/common.h"
#include "kernels/dispatch.h"
#include "kernels/qgemm_internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && \
    (defined(__clang__) ? (__clang_major__ >= 9) : (__GNUC__ >= 10))
#define HAVE_BF16_KERNEL 1
#include <immintrin.h>
#else
#define HAVE_BF16_KERNEL 0
#endif

#define QNR MEDNER__QNR
/* Rows of x converted at a time (whole panels of every level's MR). */
#define CHUNK_ROWS 64

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)           /* NaN: keep top bits, quieten */
        return (uint16_t)((u >> 16) | 0x0040u);
    if ((u & 0x7f800000u) == 0)                    /* zero or subnormal: signed 0 */
        return (uint16_t)((u >> 16) & 0x8000u);
    u += 0x7fffu + ((u >> 16) & 1u);               /* nearest even; overflow -> inf */
    return (uint16_t)(u >> 16);
}

static inline double bf16_d(uint32_t h) { return (double)u2f(h << 16); }

/* One add of vdpbf16ps: rne(acc + p) to 24 bits, flushed to signed zero when
 * tiny after rounding. acc is fp32 (not subnormal), p the exact product of
 * two bf16 (16 significant bits; in double exactly). The double sum is exact
 * unless p lies far below acc's last bit, where its rounding cannot move the
 * fp32 result or the tininess decision. */
static inline float step(float acc, double p)
{
    double s = (double)acc + p;
    double a = s < 0 ? -s : s;
    if (!(a < 0x1p-126))
        return (float)s;                        /* normal, inf or NaN */
    if (a >= 0x1p-126 - 0x1p-151)               /* rounds up to the smallest normal */
        return s < 0 ? -FLT_MIN : FLT_MIN;
    return u2f(f2u((float)s) & 0x80000000u);   /* tiny after rounding: signed 0 */
}

static inline float daz(float f)
{
    return (f2u(f) & 0x7f800000u) == 0 ? u2f(f2u(f) & 0x80000000u) : f;
}

int medner__qweight_pack_bf16(medner__qweight *out, const float *const *ws, const float *const *bs,
                              size_t count, size_t n_each, size_t K)
{
    size_t N = count * n_each, kg = (K + 1) / 2, tiles = (N + QNR - 1) / QNR;
    size_t words = tiles * kg * QNR;
    void *raw = NULL;
    uint32_t *data = medner__malloc_aligned64((words ? words : 16) * sizeof *data, &raw);
    float *bias = medner__malloc((tiles ? tiles * QNR : 1) * sizeof *bias);
    if (data == NULL || bias == NULL) {
        medner__free(raw);
        medner__free(bias);
        return -1;
    }
    memset(data, 0, words * sizeof *data);
    for (size_t n = 0; n < tiles * QNR; n++) {
        bias[n] = 0.0f;
        if (n < N && bs != NULL && bs[n / n_each] != NULL)
            bias[n] = bs[n / n_each][n % n_each];
    }
    for (size_t n = 0; n < N; n++) {
        const float *row = ws[n / n_each] + (n % n_each) * K;
        uint32_t *d = data + (n / QNR) * kg * QNR + n % QNR;
        for (size_t g = 0; g < kg; g++) {
            uint32_t lo = to_bf16(row[2 * g]);
            uint32_t hi = 2 * g + 1 < K ? to_bf16(row[2 * g + 1]) : 0u;
            d[g * QNR] = lo | hi << 16;
        }
    }
    memset(out, 0, sizeof *out);
    out->prec = MEDNER__PREC_BF16;
    out->N = N;
    out->K = K;
    out->kg = kg;
    out->data = data;
    out->bias = bias;
    out->scale = NULL;
    out->comp = NULL;
    out->raw = raw;
    return 0;
}

size_t medner__qgemm_scratch_bf16(size_t K) { return CHUNK_ROWS * ((K + 1) / 2) + 16; }

/* ---- portable ---------------------------------------------------------------- */

/* fp32 panel (K x MR) -> bf16 pair panel [kg][MR] dwords. */
/* Rows past mv (the panel's rows past M, never written by the producer) are
 * not read: their lanes are 0. */
static void convert_panel(uint32_t *xb, const float *xp, size_t K, size_t MR, size_t mv)
{
    size_t kg = (K + 1) / 2;
    for (size_t g = 0; g < kg; g++) {
        const float *x0 = xp + 2 * g * MR, *x1 = x0 + MR;
        int odd = 2 * g + 1 < K;
        for (size_t m = 0; m < MR; m++)
            xb[g * MR + m] = m >= mv ? 0u
                             : (uint32_t)to_bf16(x0[m]) |
                                   (odd ? (uint32_t)to_bf16(x1[m]) << 16 : 0u);
    }
}

static void tile_portable(float *y, const uint32_t *xb, const uint32_t *wt, const float *b,
                          size_t kg, size_t MR, size_t nv)
{
    float acc[QNR * 32];
    for (size_t j = 0; j < QNR; j++)
        for (size_t m = 0; m < MR; m++)
            acc[j * MR + m] = daz(b[j]);
    for (size_t g = 0; g < kg; g++) {
        const uint32_t *xg = xb + g * MR, *wg = wt + g * QNR;
        for (size_t j = 0; j < nv; j++) {
            double wl = bf16_d(wg[j] & 0xffffu), wh = bf16_d(wg[j] >> 16);
            for (size_t m = 0; m < MR; m++) {
                float a = acc[j * MR + m];
                a = step(a, bf16_d(xg[m] >> 16) * wh);
                a = step(a, bf16_d(xg[m] & 0xffffu) * wl);
                acc[j * MR + m] = a;
            }
        }
    }
    for (size_t j = 0; j < nv; j++)
        memcpy(y + j * MR, acc + j * MR, MR * sizeof *y);
}

/* ---- AVX512-BF16 ------------------------------------------------------------- */

#if HAVE_BF16_KERNEL
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

BF16_TARGET static void convert_panel_a5(uint32_t *xb, const float *xp, size_t K, size_t mv)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    size_t kg = (K + 1) / 2;
    for (size_t g = 0; g < kg; g++) {
        const float *x0 = xp + 2 * g * 32, *x1 = x0 + 32;
        int odd = 2 * g + 1 < K;
        for (size_t h = 0; h < 2; h++) {
            size_t v = mv > 16 * h ? mv - 16 * h : 0;
            __mmask16 rows = (__mmask16)(v >= 16 ? 0xffffu : (1u << v) - 1u);
            __m512 lo = _mm512_maskz_loadu_ps(rows, x0 + 16 * h);
            __m512 hi = odd ? _mm512_maskz_loadu_ps(rows, x1 + 16 * h) : _mm512_setzero_ps();
            /* words 0..15: lo, 16..31: hi; interleave to (lo, hi) dwords */
            __m512i c = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            _mm512_store_si512((void *)(xb + g * 32 + 16 * h), _mm512_permutexvar_epi16(idx, c));
        }
    }
}

#define DP(j)                                                                      \
    do {                                                                           \
        __m512i w_ = _mm512_set1_epi32((int)wg[j]);                                \
        c##j##a = _mm512_dpbf16_ps(c##j##a, (__m512bh)xa, (__m512bh)w_);           \
        c##j##b = _mm512_dpbf16_ps(c##j##b, (__m512bh)xb2, (__m512bh)w_);          \
    } while (0)
#define INIT(j) __m512 c##j##a = _mm512_set1_ps(b[j]), c##j##b = c##j##a
#define STORE(j)                                                                   \
    do {                                                                           \
        if (j < nv) {                                                              \
            _mm512_storeu_ps(y + j * 32, c##j##a);                                  \
            _mm512_storeu_ps(y + j * 32 + 16, c##j##b);                             \
        }                                                                          \
    } while (0)

BF16_TARGET static void tile_a5(float *y, const uint32_t *xb, const uint32_t *wt, const float *b,
                                size_t kg, size_t nv)
{
    INIT(0); INIT(1); INIT(2); INIT(3); INIT(4); INIT(5);
    INIT(6); INIT(7); INIT(8); INIT(9); INIT(10); INIT(11);
    for (size_t g = 0; g < kg; g++) {
        const uint32_t *wg = wt + g * QNR;
        __m512i xa = _mm512_load_si512((const void *)(xb + g * 32));
        __m512i xb2 = _mm512_load_si512((const void *)(xb + g * 32 + 16));
        _mm_prefetch((const char *)(wg + 8 * QNR), _MM_HINT_T0);
        DP(0); DP(1); DP(2); DP(3); DP(4); DP(5);
        DP(6); DP(7); DP(8); DP(9); DP(10); DP(11);
    }
    STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5);
    STORE(6); STORE(7); STORE(8); STORE(9); STORE(10); STORE(11);
}
#endif

void medner__qgemm_bf16(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                        size_t n0, size_t n1, float *scratch, int native)
{
    size_t MR = medner__gemm_tile_m(), K = w->K, kg = w->kg;
    size_t panels = (M + MR - 1) / MR, cp = CHUNK_ROWS / MR;
    uint32_t *xb = (uint32_t *)(void *)scratch;
    const uint32_t *wdata = w->data;
#if HAVE_BF16_KERNEL
    native = native && MR == 32;
#else
    native = 0;
#endif
    if (kg == 0) {   /* K = 0: y = b */
        for (size_t p = 0; p < panels; p++)
            for (size_t n = n0; n < n1; n++)
                for (size_t m = 0; m < MR; m++)
                    y[p * ldy + n * MR + m] = w->bias[n];
        return;
    }
    for (size_t p0 = 0; p0 < panels; p0 += cp) {
        size_t pe = p0 + cp < panels ? p0 + cp : panels;
        for (size_t p = p0; p < pe; p++) {
            size_t mv = M - p * MR < MR ? M - p * MR : MR;
#if HAVE_BF16_KERNEL
            if (native) {
                convert_panel_a5(xb + (p - p0) * kg * MR, xp + p * K * MR, K, mv);
                continue;
            }
#endif
            convert_panel(xb + (p - p0) * kg * MR, xp + p * K * MR, K, MR, mv);
        }
        for (size_t n = n0; n < n1; n += QNR) {
            size_t nv = n1 - n < QNR ? n1 - n : QNR;
            const uint32_t *wt = wdata + n / QNR * kg * QNR;
            for (size_t p = p0; p < pe; p++) {
                float *yp = y + p * ldy + n * MR;
                const uint32_t *xq = xb + (p - p0) * kg * MR;
#if HAVE_BF16_KERNEL
                if (native) {
                    tile_a5(yp, xq, wt, w->bias + n, kg, nv);
                    continue;
                }
#endif
                tile_portable(yp, xq, wt, w->bias + n, kg, MR, nv);
            }
        }
    }
}

/* ---- this file's part of the dispatch table ----------------------------------- */

static void qgemm_native(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                         size_t n0, size_t n1, float *scratch)
{
    medner__qgemm_bf16(y, ldy, xp, M, w, n0, n1, scratch, 1);
}

static void qgemm_portable(float *y, size_t ldy, const float *xp, size_t M,
                           const medner__qweight *w, size_t n0, size_t n1, float *scratch)
{
    medner__qgemm_bf16(y, ldy, xp, M, w, n0, n1, scratch, 0);
}

void medner__qgemm_bf16_kfns(medner__kfns *t)
{
    int native = 0;
#if HAVE_BF16_KERNEL
    unsigned need = MEDNER__CPU_AVX512 | MEDNER__CPU_AVX512_BF16;
    native = t->level == MEDNER__ISA_AVX512 && (medner__cpu_features() & need) == need;
#endif
    t->qgemm_bf16_native = native;
    t->qgemm_bf16 = native ? qgemm_native : qgemm_portable;
}
