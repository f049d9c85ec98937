/*
 * The int8 half of the reduced-precision products (kernels.h gives the
 * layouts and the numerics): weights quantised once per output channel,
 * activations per row on the fly, int32 sums of u8 x s8 products, one fp32
 * dequantisation per output.
 *
 * Work is done by chunks of whole x panels (chunk_rows(): at most 128 rows,
 * about 256 KiB of quantised x): the chunk is quantised into the scratch
 * ([kg][MR][4 bytes] per panel, a dword = 4 consecutive k of one row, plus
 * sx per row), then every W tile of [n0, n1) runs over all its panels, so a
 * W tile (kg * 48 bytes, contiguous) is read once per chunk and stays in
 * L1/L2 while the chunk's panels stream past it.
 *
 * AVX-512 VNNI kernel (MR = 32): 32 rows (2 zmm of int32 lanes = rows, the
 * output panel layout itself) x 12 columns = 24 accumulators; per k group
 * two loads of quantised x and, per column, vpdpbusd with the column's
 * weight dword broadcast. The portable twin computes the same integers
 * exactly (uint32 wraparound, no signed overflow) and the same fp32
 * dequantisation, so the two agree bitwise.
 *
 * Beyond kernels.h (cases it leaves open):
 *   - a weight row holding inf or NaN: sw = NaN, q = 0 (its column is NaN);
 *   - a row (of W or x) whose max |value| is so small that 127 / a
 *     overflows to inf (a < ~3.7e-37): treated as a row of zeros (scale 0,
 *     q 0 / u 128);
 *   - rows of an x panel past M are never read: they quantise as zeros.
 */
#include <math.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/qgemm_internal.h"

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define QX86 1
#  include <immintrin.h>
#else
#  define QX86 0
#endif

#if defined(__GNUC__)
#  pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define NR MEDNER__QNR
#define MR_MAX 32
#define CHUNK_MAX 128               /* rows of x quantised at a time, at most */
#define CHUNK_BYTES (256 * 1024)    /* and about this much quantised x */
#define SX_FLOATS CHUNK_MAX         /* scratch: sx[CHUNK_MAX], then the quantised x */

static uint32_t abs_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u & 0x7fffffffu;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Scale and reciprocal of a row from the bits of its max |value|: returns 1
 * and sets *scale (a / 127) and *inv (127 / a) for a usable row; 0 for a row
 * quantised as zeros, with *scale 0 (zeros, or too small) or NaN (inf/NaN). */
static int row_scale(uint32_t amax_bits, float *scale, float *inv)
{
    *inv = 0.0f;
    if (amax_bits >= 0x7f800000u) {
        *scale = NAN;
        return 0;
    }
    *scale = 0.0f;
    if (amax_bits == 0)
        return 0;
    float a = bits_float(amax_bits);
    float r = 127.0f / a;
    if (isinf(r))
        return 0;
    *scale = a / 127.0f;
    *inv = r;
    return 1;
}

/* rint(v) clamped to [-127, 127] (v finite). |v| <= 2^22 is rounded to the
 * nearest integer, ties to even, by adding and subtracting 1.5 * 2^23 (exact
 * in the default rounding mode, no contraction: -std=c11): what rintf gives,
 * without its libm call (the load-time cost of packing); larger |v| clamp. */
static int32_t quant(float v)
{
    if (!(v > -4194304.0f && v < 4194304.0f))
        return v < 0 ? -127 : 127;
    const float big = 12582912.0f; /* not reassociated: no -ffast-math */
    float r = (v + big) - big;
    int32_t q = (int32_t)r;
    return q < -127 ? -127 : q > 127 ? 127 : q;
}

/* ---- weights ---------------------------------------------------------------------- */

/* One weight row w[K] into column j of its tile (group stride NR * 4 bytes);
 * returns sum of q. amax_bits: the row's max |w| bits. Portable form. */
static int32_t pack_row_c(int8_t *tile, size_t j, const float *w, size_t K, float inv)
{
    int32_t sum = 0;
    for (size_t k = 0; k < K; k++) {
        int32_t q = quant(w[k] * inv);
        tile[(k / 4 * NR + j) * 4 + k % 4] = (int8_t)q;
        sum += q;
    }
    return sum;
}

static uint32_t row_amax_c(const float *w, size_t K)
{
    uint32_t amax = 0;
    for (size_t k = 0; k < K; k++) {
        uint32_t b = abs_bits(w[k]);
        amax = b > amax ? b : amax;
    }
    return amax;
}

#if QX86
/* The same with AVX-512 (load-time speed: ~85M weights for BERT-base): the
 * max of the |w| bit patterns as unsigned integers (exact, as row_amax_c),
 * and q = vcvtps2dq(w * inv) under the default round-to-nearest-even, which
 * is quant()'s rint for these |w * inv| <= 127 (inv = 127 / max|w|), then
 * clamped as quant() does; 16 k at a time, 4 dwords (4 k each) per tile
 * group. Bitwise the same bytes and sum as the portable form (the test packs
 * at every level). */
__attribute__((target("avx512f,avx512bw"))) static uint32_t row_amax_avx512(const float *w,
                                                                          size_t K)
{
    __m512i m = _mm512_setzero_si512(), abs = _mm512_set1_epi32(0x7fffffff);
    size_t k = 0;
    for (; k + 16 <= K; k += 16)
        m = _mm512_max_epu32(m, _mm512_and_si512(_mm512_loadu_si512(w + k), abs));
    uint32_t amax = _mm512_reduce_max_epu32(m);
    for (; k < K; k++) {
        uint32_t b = abs_bits(w[k]);
        amax = b > amax ? b : amax;
    }
    return amax;
}

__attribute__((target("avx512f,avx512bw"))) static int32_t pack_row_avx512(int8_t *tile, size_t j,
                                                                         const float *w,
                                                                         size_t K, float inv)
{
    __m512 vi = _mm512_set1_ps(inv);
    __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), acc = _mm512_setzero_si512();
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(w + k), vi));
        q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
        acc = _mm512_add_epi32(acc, q);
        uint32_t d[4];
        _mm_storeu_si128((__m128i *)d, _mm512_cvtepi32_epi8(q));
        for (size_t t = 0; t < 4; t++)
            memcpy(tile + ((k / 4 + t) * NR + j) * 4, &d[t], 4);
    }
    int32_t sum = _mm512_reduce_add_epi32(acc);
    for (; k < K; k++) {
        int32_t q = quant(w[k] * inv);
        tile[(k / 4 * NR + j) * 4 + k % 4] = (int8_t)q;
        sum += q;
    }
    return sum;
}
#endif

/* fast: the AVX-512 row packer (the table's choice at the AVX-512 level;
 * forced lower levels take the portable one: the tests compare the two) */
static int pack(medner__qweight *out, const float *const *ws, const float *const *bs,
                size_t count, size_t n_each, size_t K, int fast)
{
    if (K > MEDNER__QI8_MAX_K)
        return -2;
    size_t N, kg = (K + 3) / 4, tiles, npad, bytes;
    if (medner__mul_size(count, n_each, &N) != 0)
        return -1;
    tiles = (N + NR - 1) / NR;
    npad = tiles * NR;
    if (medner__mul_size(npad, kg, &bytes) != 0 || medner__mul_size(bytes, 4, &bytes) != 0)
        return -1;
    void *raw = NULL;
    int8_t *data = medner__malloc_aligned64(bytes ? bytes : 64, &raw);
    float *bias = medner__malloc((npad ? npad : 1) * sizeof *bias);
    float *scale = medner__malloc((npad ? npad : 1) * sizeof *scale);
    int32_t *comp = medner__malloc((npad ? npad : 1) * sizeof *comp);
    if (data == NULL || bias == NULL || scale == NULL || comp == NULL) {
        medner__free(raw);
        medner__free(bias);
        medner__free(scale);
        medner__free(comp);
        return -1;
    }
    memset(data, 0, bytes);
#if !QX86
    fast = 0;
#  define row_amax_avx512 row_amax_c
#  define pack_row_avx512 pack_row_c
#endif
    for (size_t n = 0; n < npad; n++) {
        bias[n] = 0.0f;
        scale[n] = 0.0f;
        comp[n] = 0;
        if (n >= N)
            continue;
        size_t i = n / n_each, r = n % n_each;
        const float *w = ws[i] + r * K;
        if (bs[i] != NULL)
            bias[n] = bs[i][r];
        uint32_t amax = fast ? row_amax_avx512(w, K) : row_amax_c(w, K);
        float inv;
        int live = row_scale(amax, &scale[n], &inv);
        if (!live)
            continue;
        int8_t *tile = data + n / NR * kg * NR * 4;
        size_t j = n % NR;
        int32_t sum = fast ? pack_row_avx512(tile, j, w, K, inv) : pack_row_c(tile, j, w, K, inv);
        comp[n] = sum * 128;
    }
    out->prec = MEDNER__PREC_INT8;
    out->N = N;
    out->K = K;
    out->kg = kg;
    out->data = data;
    out->bias = bias;
    out->scale = scale;
    out->comp = comp;
    out->raw = raw;
    return 0;
}

/* ---- activations ------------------------------------------------------------------ */

/* Rows of x quantised at a time: whole panels at every level (a multiple of
 * MR_MAX), at most CHUNK_MAX, about CHUNK_BYTES of quantised x. */
static size_t chunk_rows(size_t kg)
{
    size_t rows = kg ? CHUNK_BYTES / (kg * 4) : CHUNK_MAX;
    rows -= rows % MR_MAX;
    return rows < MR_MAX ? MR_MAX : rows > CHUNK_MAX ? CHUNK_MAX : rows;
}

size_t medner__qgemm_scratch_i8(size_t K)
{
    size_t kg = (K + 3) / 4;
    return SX_FLOATS + chunk_rows(kg) * (kg ? kg : 1);
}

/* Quantise one x panel (mr valid rows of MR, K columns) into q[kg][MR][4]
 * and sx[MR]. */
static void quant_panel(uint8_t *q, float *sx, const float *xp, size_t mr, size_t MR, size_t K)
{
    uint32_t amax[MR_MAX] = { 0 };
    float inv[MR_MAX];
    int live[MR_MAX];
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < mr; i++) {
            uint32_t b = abs_bits(xp[k * MR + i]);
            amax[i] = b > amax[i] ? b : amax[i];
        }
    for (size_t i = 0; i < MR; i++)
        live[i] = row_scale(amax[i], &sx[i], &inv[i]);
    size_t kg = (K + 3) / 4;
    for (size_t g = 0; g < kg; g++)
        for (size_t i = 0; i < MR; i++)
            for (size_t b = 0; b < 4; b++) {
                size_t k = 4 * g + b;
                int32_t u = 0;
                if (live[i] && k < K)
                    u = quant(xp[k * MR + i] * inv[i]);
                q[(g * MR + i) * 4 + b] = (uint8_t)(u + 128);
            }
}

#if QX86
#  define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* quant_panel for MR = 32 (same results). */
VNNI_TARGET static void quant_panel_avx512(uint8_t *q, float *sx, const float *xp, size_t mr,
                                           size_t K)
{
    __mmask16 m0 = (__mmask16)(mr >= 16 ? 0xffffu : (1u << mr) - 1u);
    __mmask16 m1 = (__mmask16)(mr >= 32 ? 0xffffu : mr > 16 ? (1u << (mr - 16)) - 1u : 0u);
    __m512i ab = _mm512_set1_epi32(0x7fffffff);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0;
    for (size_t k = 0; k < K; k++) {
        a0 = _mm512_max_epu32(a0, _mm512_and_si512(_mm512_maskz_loadu_epi32(m0, xp + k * 32), ab));
        a1 = _mm512_max_epu32(a1, _mm512_and_si512(_mm512_maskz_loadu_epi32(m1, xp + k * 32 + 16),
                                                   ab));
    }
    uint32_t amax[32];
    float inv[32];
    _mm512_storeu_si512(amax, a0);
    _mm512_storeu_si512(amax + 16, a1);
    unsigned l0 = 0, l1 = 0;
    for (unsigned i = 0; i < 32; i++)
        if (row_scale(amax[i], &sx[i], &inv[i])) {
            if (i < 16)
                l0 |= 1u << i;
            else
                l1 |= 1u << (i - 16);
        }
    __mmask16 v0 = (__mmask16)l0, v1 = (__mmask16)l1;
    __m512 i0 = _mm512_loadu_ps(inv), i1 = _mm512_loadu_ps(inv + 16);
    __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    __m512i off = _mm512_set1_epi32(128);
    size_t kg = (K + 3) / 4;
    for (size_t g = 0; g < kg; g++) {
        __m512i d0 = _mm512_setzero_si512(), d1 = d0;
        for (unsigned b = 0; b < 4; b++) {
            size_t k = 4 * g + b;
            __m512 x0 = _mm512_setzero_ps(), x1 = x0;
            if (k < K) {
                x0 = _mm512_maskz_loadu_ps(v0, xp + k * 32);
                x1 = _mm512_maskz_loadu_ps(v1, xp + k * 32 + 16);
            }
            __m512i u0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, i0));
            __m512i u1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, i1));
            u0 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(u0, lo), hi), off);
            u1 = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(u1, lo), hi), off);
            d0 = _mm512_or_si512(d0, _mm512_slli_epi32(u0, b * 8));
            d1 = _mm512_or_si512(d1, _mm512_slli_epi32(u1, b * 8));
        }
        _mm512_store_si512(q + g * 128, d0);
        _mm512_store_si512(q + g * 128 + 64, d1);
    }
}

/* One 32 x 12 tile: quantised panel q[kg][32][4], sx[32]; W tile wt
 * [kg][12][4]; bias/scale/comp of the tile's 12 columns; columns j < nr
 * stored to y + j * 32. */
VNNI_TARGET static inline int32_t load_dword(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v); /* the 4 int8 weights as one dword, without aliasing them */
    return v;
}

VNNI_TARGET static void tile_vnni(float *y, const uint8_t *q, const float *sx, const int8_t *wt,
                                  size_t kg, const float *bias, const float *scale,
                                  const int32_t *comp, size_t nr)
{
#  define V_DECL(j) __m512i c0_##j = _mm512_setzero_si512(), c1_##j = c0_##j;
    V_DECL(0) V_DECL(1) V_DECL(2) V_DECL(3) V_DECL(4) V_DECL(5)
    V_DECL(6) V_DECL(7) V_DECL(8) V_DECL(9) V_DECL(10) V_DECL(11)
#  define V_STEP(j, o)                                                    \
    {                                                                     \
        __m512i bw = _mm512_set1_epi32(load_dword(w + ((o) * NR + (j)) * 4));                \
        c0_##j = _mm512_dpbusd_epi32(c0_##j, a0, bw);                     \
        c1_##j = _mm512_dpbusd_epi32(c1_##j, a1, bw);                     \
    }
#  define V_GROUP(o)                                                                       \
    {                                                                                      \
        __m512i a0 = _mm512_load_si512(p + (o) * 128);                                     \
        __m512i a1 = _mm512_load_si512(p + (o) * 128 + 64);                               \
        V_STEP(0, o) V_STEP(1, o) V_STEP(2, o) V_STEP(3, o) V_STEP(4, o) V_STEP(5, o)      \
        V_STEP(6, o) V_STEP(7, o) V_STEP(8, o) V_STEP(9, o) V_STEP(10, o) V_STEP(11, o)    \
    }
    const uint8_t *p = q;
    const int8_t *w = wt;
    size_t g = 0;
    for (; g + 2 <= kg; g += 2, p += 256, w += 2 * NR * 4) {
        _mm_prefetch((const char *)(w + 16 * NR * 4), _MM_HINT_T0);
        V_GROUP(0)
        V_GROUP(1)
    }
    if (g < kg)
        V_GROUP(0)
    __m512 s0 = _mm512_loadu_ps(sx), s1 = _mm512_loadu_ps(sx + 16);
#  define V_OUT(j)                                                                         \
    if ((j) < nr) {                                                                        \
        __m512i cj = _mm512_set1_epi32(comp[j]);                                           \
        __m512 sw = _mm512_set1_ps(scale[j]), bj = _mm512_set1_ps(bias[j]);                \
        __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c0_##j, cj));                      \
        __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c1_##j, cj));                      \
        f0 = _mm512_mul_ps(f0, _mm512_mul_ps(s0, sw));                                     \
        f1 = _mm512_mul_ps(f1, _mm512_mul_ps(s1, sw));                                     \
        _mm512_storeu_ps(y + (j) * 32, _mm512_add_ps(f0, bj));                             \
        _mm512_storeu_ps(y + (j) * 32 + 16, _mm512_add_ps(f1, bj));                        \
    }
    V_OUT(0) V_OUT(1) V_OUT(2) V_OUT(3) V_OUT(4) V_OUT(5)
    V_OUT(6) V_OUT(7) V_OUT(8) V_OUT(9) V_OUT(10) V_OUT(11)
}
#endif

/* The portable twin of tile_vnni at any MR: the same integer sums (uint32
 * wraparound, exact since |sum| < 2^31) and the same fp32 operations. Per k
 * group the panel's bytes are first spread to 4 rows of MR uint32 (k-major,
 * lanes = rows), so that the column loops run over contiguous lanes with a
 * constant trip count (the compiler vectorises them at any level). */
static inline __attribute__((always_inline)) void
tile_portable_mr(float *y, const uint8_t *q, const float *sx, const int8_t *wt, size_t kg,
                 const float *bias, const float *scale, const int32_t *comp, size_t nr,
                 const size_t MR)
{
    uint32_t acc[NR][MR_MAX];
    int16_t xs[4][MR_MAX];
    memset(acc, 0, sizeof acc);
    for (size_t g = 0; g < kg; g++) {
        const uint8_t *xg = q + g * MR * 4;
        const int8_t *wg = wt + g * NR * 4;
        for (size_t i = 0; i < MR; i++)
            for (size_t b = 0; b < 4; b++)
                xs[b][i] = (int16_t)xg[i * 4 + b];
        for (size_t j = 0; j < nr; j++) {
            int16_t q0 = wg[j * 4], q1 = wg[j * 4 + 1], q2 = wg[j * 4 + 2], q3 = wg[j * 4 + 3];
            uint32_t *a = acc[j];
            for (size_t i = 0; i < MR; i++) { /* each product fits int16: 255 * 127 */
                int16_t p0 = (int16_t)(xs[0][i] * q0), p1 = (int16_t)(xs[1][i] * q1);
                int16_t p2 = (int16_t)(xs[2][i] * q2), p3 = (int16_t)(xs[3][i] * q3);
                a[i] += (uint32_t)((int32_t)p0 + p1 + p2 + p3);
            }
        }
    }
    for (size_t j = 0; j < nr; j++)
        for (size_t i = 0; i < MR; i++) {
            uint32_t du = acc[j][i] - (uint32_t)comp[j];
            int64_t d = du > 0x7fffffffu ? (int64_t)du - 0x100000000 : (int64_t)du;
            float f = (float)(int32_t)d;
            float s = sx[i] * scale[j];
            float v = f * s;
            y[j * MR + i] = v + bias[j];
        }
}

static void tile_portable(float *y, const uint8_t *q, const float *sx, const int8_t *wt, size_t kg,
                          const float *bias, const float *scale, const int32_t *comp, size_t nr,
                          size_t MR)
{
    if (MR == 8)
        tile_portable_mr(y, q, sx, wt, kg, bias, scale, comp, nr, 8);
    else if (MR == 16)
        tile_portable_mr(y, q, sx, wt, kg, bias, scale, comp, nr, 16);
    else
        tile_portable_mr(y, q, sx, wt, kg, bias, scale, comp, nr, 32);
}

void medner__qgemm_i8(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                      size_t n0, size_t n1, float *scratch, int native)
{
    if (M == 0 || n1 <= n0)
        return;
#if !QX86
    native = 0;
#endif
    size_t MR = native ? 32 : medner__gemm_tile_m();
    size_t K = w->K, kg = w->kg;
    size_t panels = (M + MR - 1) / MR;
    size_t cp = chunk_rows(kg) / MR;
    float *sx = scratch;
    uint8_t *xq = (uint8_t *)(scratch + SX_FLOATS);
    const int8_t *data = w->data;
    size_t tstride = kg * NR * 4;
    for (size_t pc = 0; pc < panels; pc += cp) {
        size_t pe = panels - pc < cp ? panels : pc + cp;
        for (size_t p = pc; p < pe; p++) {
            size_t mr = M - p * MR < MR ? M - p * MR : MR;
            uint8_t *qp = xq + (p - pc) * kg * MR * 4;
            float *sp = sx + (p - pc) * MR;
#if QX86
            if (native) {
                quant_panel_avx512(qp, sp, xp + p * K * MR, mr, K);
                continue;
            }
#endif
            quant_panel(qp, sp, xp + p * K * MR, mr, MR, K);
        }
        for (size_t n = n0; n < n1; n += NR) {
            size_t nr = n1 - n < NR ? n1 - n : NR;
            const int8_t *wt = data + n / NR * tstride;
            for (size_t p = pc; p < pe; p++) {
                const uint8_t *qp = xq + (p - pc) * kg * MR * 4;
                const float *sp = sx + (p - pc) * MR;
                float *yp = y + p * ldy + n * MR;
#if QX86
                if (native) {
                    tile_vnni(yp, qp, sp, wt, kg, w->bias + n,
                              w->scale + n, w->comp + n, nr);
                    continue;
                }
#endif
                tile_portable(yp, qp, sp, wt, kg, w->bias + n, w->scale + n, w->comp + n, nr,
                              MR);
            }
        }
    }
}

/* ---- this file's part of the dispatch table ----------------------------------- */

static int pack_portable(medner__qweight *out, const float *const *ws, const float *const *bs,
                         size_t count, size_t n_each, size_t K)
{
    return pack(out, ws, bs, count, n_each, K, 0);
}

static void qgemm_portable(float *y, size_t ldy, const float *xp, size_t M,
                           const medner__qweight *w, size_t n0, size_t n1, float *scratch)
{
    medner__qgemm_i8(y, ldy, xp, M, w, n0, n1, scratch, 0);
}

#if QX86
static int pack_avx512(medner__qweight *out, const float *const *ws, const float *const *bs,
                       size_t count, size_t n_each, size_t K)
{
    return pack(out, ws, bs, count, n_each, K, 1);
}

static void qgemm_native(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                         size_t n0, size_t n1, float *scratch)
{
    medner__qgemm_i8(y, ldy, xp, M, w, n0, n1, scratch, 1);
}
#endif

void medner__qgemm_i8_kfns(medner__kfns *t)
{
    t->qpack_i8 = pack_portable;
    t->qgemm_i8 = qgemm_portable;
    t->qgemm_i8_native = 0;
#if QX86
    if (t->level != MEDNER__ISA_AVX512)
        return;
    t->qpack_i8 = pack_avx512;
    if (medner__cpu_features() & MEDNER__CPU_AVX512_VNNI) {
        t->qgemm_i8 = qgemm_native;
        t->qgemm_i8_native = 1;
    }
#endif
}
