/*
 * medner's SGEMM for y = alpha * (x . W^T) + b with W used in place (the
 * memory-mapped PyTorch [out, in] layout, never copied or packed).
 *
 * Register tile: MR rows of x (packed, transposed, into a [K][MR] panel in
 * the calling thread's scratch, zero-padded) times NR rows of W. Vectors run
 * along x's rows, so each step broadcasts one weight per W row and does
 * NR * MR/lanes fused multiply-adds; accumulators stay in registers for the
 * whole K and the tile is written out once (transposed back to row-major).
 * No K blocking: a W tile (NR rows) and the x panel stay in L2.
 *
 *   AVX-512F: MR = 32 (2 zmm), NR = 12 -> 24 accumulators
 *   AVX2+FMA: MR = 16 (2 ymm), NR = 6  -> 12 accumulators
 *   baseline: MR = 8 (2 x 4 floats), NR = 6, multiply then add (no FMA)
 *
 * Determinism: every y[m][n] is b[n] (or 0) followed by one fused
 * multiply-add per k in ascending k order, in fp32, then times alpha (when
 * alpha != 1). That sequence does not depend on M, on the row's position,
 * on the tile it falls in (partial tiles compute the same lanes, padding is
 * ignored) or on which thread computes which columns: a row's result is
 * bitwise independent of its batch and of the thread count, by construction.
 * It does depend on the instruction-set level (FMA vs multiply+add), which is
 * fixed per process.
 */
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define GX86 1
#  include <immintrin.h>
#  include "kernels/simd_x86.h"
#else
#  define GX86 0
#endif

#if defined(__GNUC__)
#  pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define MR_MAX 32
#define A5_NR 12

typedef medner__gemm_op gemm_args;

/* Pack rows [m0, m0+mr) of x, transposed, into panel[K][MR] (zero padding).
 * By blocks of 16 k: the block's row pieces (one cache line each) are
 * copied to a small buffer, then written out sequentially; rows of x whose
 * stride is a multiple of a large power of two would otherwise evict each
 * other from L1. */
#define PACK_KB 16
static void pack_panel(float *panel, const gemm_args *g, size_t m0, size_t mr, size_t MR)
{
    size_t K = g->K;
    float blk[MR_MAX][PACK_KB];
    memset(blk, 0, sizeof blk);
    for (size_t k0 = 0; k0 < K; k0 += PACK_KB) {
        size_t kb = K - k0 < PACK_KB ? K - k0 : PACK_KB;
        if (kb == PACK_KB) /* constant size: inlined vector moves, not a rep movs */
            for (size_t i = 0; i < mr; i++)
                memcpy(blk[i], g->x + (m0 + i) * g->ldx + k0, sizeof blk[i]);
        else
            for (size_t i = 0; i < mr; i++)
                memcpy(blk[i], g->x + (m0 + i) * g->ldx + k0, kb * sizeof(float));
        for (size_t kk = 0; kk < kb; kk++, panel += MR)
            for (size_t i = 0; i < MR; i++)
                panel[i] = blk[i][kk];
    }
}

/* Write a tile t[NR][MR] (column j = output n0 + j) to y rows m0.., columns
 * n0 .. n0+nr, scaled by alpha. */
static inline void store_tile(const gemm_args *g, const float *t, size_t MR, size_t m0, size_t mr,
                              size_t n0, size_t nr)
{
    if (g->ymode == MEDNER__GEMM_PANELS) { /* whole panel columns, padding rows included */
        float *yp = g->y + m0 / MR * g->ldy + n0 * MR;
        for (size_t j = 0; j < nr; j++)
            for (size_t i = 0; i < MR; i++)
                yp[j * MR + i] = g->alpha == 1.0f ? t[j * MR + i] : t[j * MR + i] * g->alpha;
        return;
    }
    if (g->ymode == MEDNER__GEMM_TRANSPOSED) {
        for (size_t j = 0; j < nr; j++) {
            float *yc = g->y + (n0 + j) * g->ldy + m0;
            for (size_t i = 0; i < mr; i++)
                yc[i] = g->alpha == 1.0f ? t[j * MR + i] : t[j * MR + i] * g->alpha;
        }
        return;
    }
    for (size_t i = 0; i < mr; i++) {
        float *yr = g->y + (m0 + i) * g->ldy + n0;
        if (g->alpha == 1.0f)
            for (size_t j = 0; j < nr; j++)
                yr[j] = t[j * MR + i];
        else
            for (size_t j = 0; j < nr; j++)
                yr[j] = t[j * MR + i] * g->alpha;
    }
}

/* The W rows of a tile: a partial tile repeats row n0 in its unused slots
 * (computed, never stored), so it runs the same code as a full one. */
static inline void tile_rows(const gemm_args *g, size_t n0, size_t nr, size_t NR,
                             const float **rows, float *bias)
{
    for (size_t j = 0; j < NR; j++) {
        size_t n = n0 + (j < nr ? j : 0);
        if (g->ws) {
            size_t s = n / g->n_each, r = n % g->n_each;
            rows[j] = g->ws[s] + r * g->ldw;
            bias[j] = g->bs[s] ? g->bs[s][r] : 0.0f;
        } else {
            rows[j] = g->w + n * g->ldw;
            bias[j] = g->b ? g->b[n] : 0.0f;
        }
    }
}

/* ---- AVX-512 ---------------------------------------------------------------- */
#if GX86
/* pack_panel for MR = 32 with 16 x 16 register transposes. */
__attribute__((target("avx512f"))) static void pack_avx512(float *panel, const gemm_args *g,
                                                           size_t m0, size_t mr, size_t MR)
{
    (void)MR; /* 32 */
    size_t K = g->K;
    for (size_t k0 = 0; k0 < K; k0 += 16) {
        size_t kb = K - k0 < 16 ? K - k0 : 16;
        __mmask16 mask = (__mmask16)((1u << kb) - 1u);
        for (size_t h = 0; h < 2; h++) {
            __m512 r[16];
            for (size_t i = 0; i < 16; i++) {
                size_t row = h * 16 + i;
                r[i] = row < mr ? _mm512_maskz_loadu_ps(mask, g->x + (m0 + row) * g->ldx + k0)
                                : _mm512_setzero_ps();
            }
            medner__transpose16_ps(r);
            for (size_t kk = 0; kk < kb; kk++)
                _mm512_store_ps(panel + (k0 + kk) * 32 + h * 16, r[kk]);
        }
    }
}

/* Rows [m0+h*16, ...) of a tile: acc[j] holds column j for 16 rows. */
__attribute__((target("avx512f"))) static inline void store16(const gemm_args *g, __m512 acc[16],
                                                              size_t row0, size_t rows,
                                                              size_t n0, size_t nr)
{
    __m512 al = _mm512_set1_ps(g->alpha);
    if (g->ymode == MEDNER__GEMM_TRANSPOSED) { /* acc[j]: 16 consecutive rows of column j */
        __mmask16 rmask = (__mmask16)((1u << rows) - 1u);
        for (size_t j = 0; j < nr; j++) {
            __m512 v = g->alpha == 1.0f ? acc[j] : _mm512_mul_ps(acc[j], al);
            _mm512_mask_storeu_ps(g->y + (n0 + j) * g->ldy + row0, rmask, v);
        }
        return;
    }
    medner__transpose16_ps(acc);
    __mmask16 mask = (__mmask16)((1u << nr) - 1u);
    for (size_t i = 0; i < rows; i++) {
        __m512 v = g->alpha == 1.0f ? acc[i] : _mm512_mul_ps(acc[i], al);
        _mm512_mask_storeu_ps(g->y + (row0 + i) * g->ldy + n0, mask, v);
    }
}

/* Copy W[r[j]][k0 .. k0+16) (zeros past K) to wb[j*16 ..]. */
__attribute__((target("avx512f"), always_inline)) static inline void
a5_copy_block(float *wb, const float *const *r, size_t k0, size_t K)
{
    size_t kb = K - k0 < 16 ? K - k0 : 16;
    __mmask16 mask = (__mmask16)((1u << kb) - 1u);
    for (size_t j = 0; j < 12; j++)
        _mm512_store_ps(wb + j * 16, _mm512_maskz_loadu_ps(mask, r[j] + k0));
}

/* Every 16 k, the 16 next weights of each of the 12 W rows are copied into a
 * small contiguous buffer and broadcast from there: W rows whose stride is a
 * multiple of 4 KiB (K = 1024, 3072, ...) all fall in one L1 set, and 12 of
 * them would evict each other on every broadcast. */
__attribute__((target("avx512f"))) static void tile_avx512(const gemm_args *g, const float *panel,
                                                           size_t m0, size_t mr, size_t n0,
                                                           size_t nr)
{
    const float *r[A5_NR];
    float bias[A5_NR];
    tile_rows(g, n0, nr, A5_NR, r, bias);
    /* two k-block buffers: the next block is copied while this one is used,
     * so the broadcasts never wait on the copy's stores or on its loads */
    float wb[2][A5_NR * 16] __attribute__((aligned(64)));
#define A5_DECL(j) __m512 c0_##j = _mm512_set1_ps(bias[j]), c1_##j = c0_##j;
    A5_DECL(0) A5_DECL(1) A5_DECL(2) A5_DECL(3) A5_DECL(4) A5_DECL(5)
    A5_DECL(6) A5_DECL(7) A5_DECL(8) A5_DECL(9) A5_DECL(10) A5_DECL(11)
    const float *p = panel;
    size_t K = g->K;
    a5_copy_block(wb[0], r, 0, K);
    for (size_t k0 = 0, blk = 0; k0 < K; k0 += 16, blk ^= 1) {
        size_t kb = K - k0 < 16 ? K - k0 : 16;
        if (k0 + 16 < K)
            a5_copy_block(wb[blk ^ 1], r, k0 + 16, K);
        const float *cur = wb[blk];
        for (size_t kk = 0; kk < kb; kk++, p += 32) {
            __m512 a0 = _mm512_load_ps(p), a1 = _mm512_load_ps(p + 16);
#define A5_STEP(j)                                                    \
            {                                                         \
                __m512 bw = _mm512_set1_ps(cur[(j) * 16 + kk]);       \
                c0_##j = _mm512_fmadd_ps(a0, bw, c0_##j);             \
                c1_##j = _mm512_fmadd_ps(a1, bw, c1_##j);             \
            }
            A5_STEP(0) A5_STEP(1) A5_STEP(2) A5_STEP(3) A5_STEP(4) A5_STEP(5)
            A5_STEP(6) A5_STEP(7) A5_STEP(8) A5_STEP(9) A5_STEP(10) A5_STEP(11)
        }
    }
    if (g->ymode == MEDNER__GEMM_PANELS) { /* column j of the panel: 32 floats, no transpose */
        float *yp = g->y + m0 / 32 * g->ldy + n0 * 32;
        __m512 al = _mm512_set1_ps(g->alpha);
        int one = g->alpha == 1.0f;
#define A5_PST(j)                                                                        \
        if ((j) < nr) {                                                                  \
            _mm512_storeu_ps(yp + (j) * 32, one ? c0_##j : _mm512_mul_ps(c0_##j, al));   \
            _mm512_storeu_ps(yp + (j) * 32 + 16, one ? c1_##j : _mm512_mul_ps(c1_##j, al)); \
        }
        A5_PST(0) A5_PST(1) A5_PST(2) A5_PST(3) A5_PST(4) A5_PST(5)
        A5_PST(6) A5_PST(7) A5_PST(8) A5_PST(9) A5_PST(10) A5_PST(11)
        return;
    }
    __m512 z = _mm512_setzero_ps();
    __m512 lo[16] = { c0_0, c0_1, c0_2, c0_3, c0_4, c0_5, c0_6, c0_7, c0_8, c0_9, c0_10, c0_11,
                      z, z, z, z };
    store16(g, lo, m0, mr < 16 ? mr : 16, n0, nr);
    if (mr > 16) {
        __m512 hi[16] = { c1_0, c1_1, c1_2, c1_3, c1_4, c1_5, c1_6, c1_7, c1_8, c1_9, c1_10,
                          c1_11, z, z, z, z };
        store16(g, hi, m0 + 16, mr - 16, n0, nr);
    }
}

/* dst[c][r] = src[r][c] by 16 x 16 blocks (masked at the edges). */
__attribute__((target("avx512f"))) static void transpose_avx512(float *dst, size_t ldd,
                                                                const float *src, size_t lds,
                                                                size_t rows, size_t cols)
{
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
        size_t rb = rows - r0 < 16 ? rows - r0 : 16;
        __mmask16 rmask = (__mmask16)((1u << rb) - 1u);
        for (size_t c0 = 0; c0 < cols; c0 += 16) {
            size_t cb = cols - c0 < 16 ? cols - c0 : 16;
            __mmask16 cmask = (__mmask16)((1u << cb) - 1u);
            __m512 v[16];
            for (size_t i = 0; i < 16; i++)
                v[i] = i < rb ? _mm512_maskz_loadu_ps(cmask, src + (r0 + i) * lds + c0)
                              : _mm512_setzero_ps();
            medner__transpose16_ps(v);
            for (size_t j = 0; j < cb; j++)
                _mm512_mask_storeu_ps(dst + (c0 + j) * ldd + r0, rmask, v[j]);
        }
    }
}

/* ---- AVX2 + FMA --------------------------------------------------------------- */
#define A2_NR 6
__attribute__((target("avx2,fma"))) static void tile_avx2(const gemm_args *g, const float *panel,
                                                          size_t m0, size_t mr, size_t n0,
                                                          size_t nr)
{
    const float *r[A2_NR];
    float bias[A2_NR];
    tile_rows(g, n0, nr, A2_NR, r, bias);
#define A2_DECL(j) __m256 c0_##j = _mm256_set1_ps(bias[j]), c1_##j = c0_##j;
    A2_DECL(0) A2_DECL(1) A2_DECL(2) A2_DECL(3) A2_DECL(4) A2_DECL(5)
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4], *r5 = r[5];
    const float *p = panel;
    for (size_t k = 0; k < g->K; k++, p += 16) {
        __m256 a0 = _mm256_load_ps(p), a1 = _mm256_load_ps(p + 8);
#define A2_STEP(j)                                                    \
        {                                                             \
            __m256 bw = _mm256_broadcast_ss(r##j + k);                \
            c0_##j = _mm256_fmadd_ps(a0, bw, c0_##j);                 \
            c1_##j = _mm256_fmadd_ps(a1, bw, c1_##j);                 \
        }
        A2_STEP(0) A2_STEP(1) A2_STEP(2) A2_STEP(3) A2_STEP(4) A2_STEP(5)
    }
    float t[A2_NR * 16] __attribute__((aligned(32)));
#define A2_ST(j) _mm256_store_ps(t + (j) * 16, c0_##j); _mm256_store_ps(t + (j) * 16 + 8, c1_##j);
    A2_ST(0) A2_ST(1) A2_ST(2) A2_ST(3) A2_ST(4) A2_ST(5)
    store_tile(g, t, 16, m0, mr, n0, nr);
}
#endif

/* ---- baseline (portable C; SSE2 on x86-64) ------------------------------------ */
#define B_NR 6
typedef float v4f __attribute__((vector_size(16)));

static void tile_base(const gemm_args *g, const float *panel, size_t m0, size_t mr, size_t n0,
                      size_t nr)
{
    const float *r[B_NR];
    float bias[B_NR];
    tile_rows(g, n0, nr, B_NR, r, bias);
    v4f c0[B_NR], c1[B_NR];
    for (size_t j = 0; j < B_NR; j++) {
        v4f s = { bias[j], bias[j], bias[j], bias[j] };
        c0[j] = c1[j] = s;
    }
    const float *p = panel;
    for (size_t k = 0; k < g->K; k++, p += 8) {
        v4f a0, a1;
        memcpy(&a0, p, sizeof a0);
        memcpy(&a1, p + 4, sizeof a1);
        for (size_t j = 0; j < B_NR; j++) {
            float s = r[j][k];
            v4f bw = { s, s, s, s };
            c0[j] = c0[j] + a0 * bw; /* no contraction: -std=c11 implies -ffp-contract=off */
            c1[j] = c1[j] + a1 * bw;
        }
    }
    float t[B_NR * 8];
    for (size_t j = 0; j < B_NR; j++) {
        memcpy(t + j * 8, &c0[j], sizeof c0[j]);
        memcpy(t + j * 8 + 4, &c1[j], sizeof c1[j]);
    }
    store_tile(g, t, 8, m0, mr, n0, nr);
}

/* ---- driver --------------------------------------------------------------------- */

static void transpose_base(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                           size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            dst[c * ldd + r] = src[r * lds + c];
}

void medner__transpose(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                       size_t cols)
{
    medner__kfns_get()->transpose(dst, ldd, src, lds, rows, cols);
}

size_t medner__gemm_tile_n(void)
{
    return medner__kfns_get()->nr;
}

size_t medner__gemm_tile_m(void)
{
    return medner__kfns_get()->mr;
}

/* Rows of x packed at a time: the panels of one chunk are reused by every W
 * tile, so each W tile is read from memory once per chunk. At most MC rows,
 * and no more than fit PACK_BYTES (the chunk must stay in L2 while the W
 * tiles stream past it). */
#define MC 128
#define PACK_BYTES (512 * 1024)

static size_t chunk_rows(size_t K, size_t MR)
{
    size_t rows = PACK_BYTES / (K * sizeof(float));
    rows -= rows % MR;
    return rows < MR ? MR : rows > MC ? MC : rows;
}

size_t medner__gemm_scratch(size_t K)
{
    return MC * (K ? K : 1);
}

/* Rows [m_from, m_to) of x into consecutive panels at `panels`. */
static void pack_rows(const medner__kfns *kf, float *panels, const gemm_args *g, size_t m_from,
                      size_t m_to)
{
    size_t MR = kf->mr;
    for (size_t m0 = m_from; m0 < m_to; m0 += MR) {
        size_t mr = m_to - m0 < MR ? m_to - m0 : MR;
        kf->pack(panels + (m0 - m_from) * g->K, g, m0, mr, MR);
    }
}

/* Where y[m][n] lives. */
static size_t yindex(const gemm_args *g, size_t m, size_t n, size_t MR)
{
    switch (g->ymode) {
    case MEDNER__GEMM_TRANSPOSED: return n * g->ldy + m;
    case MEDNER__GEMM_PANELS: return m / MR * g->ldy + n * MR + m % MR;
    default: return m * g->ldy + n;
    }
}

static void gemm_run(const gemm_args *g, size_t n0, size_t n1, float *scratch)
{
    size_t M = g->M, K = g->K;
    if (M == 0 || n1 <= n0)
        return;
    const medner__kfns *kf = medner__kfns_get(); /* once per product: MR, NR and the tile */
    if (K == 0) {
        for (size_t m = 0; m < M; m++)
            for (size_t n = n0; n < n1; n++) {
                const float *b = g->ws ? g->bs[n / g->n_each] : g->b;
                size_t bn = g->ws ? n % g->n_each : n;
                g->y[yindex(g, m, n, kf->mr)] = b ? b[bn] * g->alpha : 0.0f;
            }
        return;
    }
    medner__ktile_fn fn = kf->tile;
    size_t MR = kf->mr, NR = kf->nr;
    if (g->xp) { /* x already packed: every W tile over every panel */
        for (size_t n = n0; n < n1; n += NR) {
            size_t nr = n1 - n < NR ? n1 - n : NR;
            for (size_t m0 = 0; m0 < M; m0 += MR)
                fn(g, g->xp + m0 * K, m0, M - m0 < MR ? M - m0 : MR, n, nr);
        }
        return;
    }
    size_t mcr = chunk_rows(K, MR);
    for (size_t mc = 0; mc < M; mc += mcr) {
        size_t me = M - mc < mcr ? M : mc + mcr;
        pack_rows(kf, scratch, g, mc, me);
        for (size_t n = n0; n < n1; n += NR) {
            size_t nr = n1 - n < NR ? n1 - n : NR;
            for (size_t m0 = mc; m0 < me; m0 += MR)
                fn(g, scratch + (m0 - mc) * K, m0, me - m0 < MR ? me - m0 : MR, n, nr);
        }
    }
}

void medner__gemm(const medner__gemm_op *op, size_t n0, size_t n1, float *scratch)
{
    gemm_run(op, n0, n1, scratch);
}

void medner__gemm_cols(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                       size_t ldw, const float *b, float alpha, size_t M, size_t n0, size_t n1,
                       size_t K, float *scratch)
{
    gemm_args g = { .y = y, .ldy = ldy, .x = x, .ldx = ldx, .w = w, .ldw = ldw, .b = b,
                    .alpha = alpha, .M = M, .K = K };
    gemm_run(&g, n0, n1, scratch);
}

/* ---- pre-packed x ------------------------------------------------------------- */

size_t medner__gemm_packed_size(size_t M, size_t K)
{
    size_t MR = medner__kfns_get()->mr;
    return (M + MR - 1) / MR * MR * (K ? K : 1);
}

void medner__gemm_pack(float *panels, const float *x, size_t ldx, size_t M, size_t K)
{
    gemm_args g = { .x = x, .ldx = ldx, .alpha = 1.0f, .M = M, .K = K };
    pack_rows(medner__kfns_get(), panels, &g, 0, M);
}

#if GX86
/* medner__gemm_pack_t for MR = 32: two (masked) vector copies per k. */
__attribute__((target("avx512f"))) static void pack_t_avx512(float *panels, const float *xt,
                                                             size_t ldxt, size_t M, size_t K,
                                                             size_t MR)
{
    (void)MR; /* 32 */
    for (size_t m0 = 0; m0 < M; m0 += 32) {
        size_t mr = M - m0 < 32 ? M - m0 : 32;
        __mmask16 lo = (__mmask16)(mr >= 16 ? 0xffffu : (1u << mr) - 1u);
        __mmask16 hi = (__mmask16)(mr >= 32 ? 0xffffu : mr > 16 ? (1u << (mr - 16)) - 1u : 0u);
        float *p = panels + m0 * K;
        const float *src = xt + m0;
        for (size_t k = 0; k < K; k++, p += 32, src += ldxt) {
            _mm512_store_ps(p, _mm512_maskz_loadu_ps(lo, src));
            _mm512_store_ps(p + 16, _mm512_maskz_loadu_ps(hi, src + 16));
        }
    }
}
#endif

static void pack_t_base(float *panels, const float *xt, size_t ldxt, size_t M, size_t K,
                        size_t MR)
{
    for (size_t m0 = 0; m0 < M; m0 += MR) {
        size_t mr = M - m0 < MR ? M - m0 : MR;
        float *p = panels + m0 * K;
        for (size_t k = 0; k < K; k++, p += MR) {
            memcpy(p, xt + k * ldxt + m0, mr * sizeof *p);
            if (mr < MR)
                memset(p + mr, 0, (MR - mr) * sizeof *p);
        }
    }
}

void medner__gemm_pack_t(float *panels, const float *xt, size_t ldxt, size_t M, size_t K)
{
    const medner__kfns *kf = medner__kfns_get();
    kf->pack_t(panels, xt, ldxt, M, K, kf->mr);
}

/* ---- rows of one sequence between shared panels and its own panels ----------
 * Shared panels: row t, column c at shared[(t / MR) * ld + c * MR + t % MR];
 * the sequence's own panels: its row i (= shared row row0 + i) at
 * own[(i / MR) * C * MR + c * MR + i % MR]. Both are lane-shifted copies of
 * whole columns (the shift is row0 % MR). */
#if GX86
/* Lanes [i0, i0 + 16) of an own panel column are shared lanes o + i0 .. of
 * a panel column `a` and, past that panel's end, of the next panel's column
 * `b`: ma selects the lanes from a, mb those from b, both only among the
 * first `valid` (rows of the sequence), so the masked loads and stores touch
 * no other lane. */
static inline void shift_masks(size_t valid, size_t o, size_t i0, __mmask16 *ma, __mmask16 *mb)
{
    uint32_t in = valid > i0 ? (valid - i0 >= 16 ? 0xffffu : (1u << (valid - i0)) - 1u) : 0;
    uint32_t from_a = o + i0 >= 32 ? 0 : 32 - o - i0 >= 16 ? 0xffffu : (1u << (32 - o - i0)) - 1u;
    *ma = (__mmask16)(in & from_a);
    *mb = (__mmask16)(in & ~from_a);
}

__attribute__((target("avx512f"))) static void gather_avx512(float *own, const float *shared,
                                                             size_t ld, size_t C, size_t row0,
                                                             size_t n, size_t MR)
{
    (void)MR; /* 32 */
    size_t o = row0 % 32, P = (n + 31) / 32;
    const float *base = shared + row0 / 32 * ld;
    for (size_t p = 0; p < P; p++) {
        size_t valid = n - p * 32 < 32 ? n - p * 32 : 32;
        const float *a = base + p * ld, *b = a + ld;
        float *dst = own + p * C * 32;
        for (size_t h = 0; h < 2; h++) {
            size_t i0 = 16 * h;
            __mmask16 ma, mb;
            shift_masks(valid, o, i0, &ma, &mb);
            for (size_t c = 0; c < C; c++) {
                __m512 v = _mm512_maskz_loadu_ps(ma, a + c * 32 + o + i0);
                if (mb)
                    v = _mm512_mask_loadu_ps(v, mb, b + c * 32 + o + i0 - 32);
                _mm512_store_ps(dst + c * 32 + i0, v);
            }
        }
    }
}

__attribute__((target("avx512f"))) static void scatter_avx512(float *shared, size_t ld,
                                                              const float *own, size_t C,
                                                              size_t row0, size_t n, size_t MR)
{
    (void)MR; /* 32 */
    size_t o = row0 % 32, P = (n + 31) / 32;
    float *base = shared + row0 / 32 * ld;
    for (size_t p = 0; p < P; p++) {
        size_t valid = n - p * 32 < 32 ? n - p * 32 : 32;
        float *a = base + p * ld, *b = a + ld;
        const float *src = own + p * C * 32;
        for (size_t h = 0; h < 2; h++) {
            size_t i0 = 16 * h;
            __mmask16 ma, mb;
            shift_masks(valid, o, i0, &ma, &mb);
            if (!ma && !mb)
                continue;
            for (size_t c = 0; c < C; c++) {
                __m512 v = _mm512_load_ps(src + c * 32 + i0);
                if (ma)
                    _mm512_mask_storeu_ps(a + c * 32 + o + i0, ma, v);
                if (mb)
                    _mm512_mask_storeu_ps(b + c * 32 + o + i0 - 32, mb, v);
            }
        }
    }
}
#endif

static void gather_base(float *own, const float *shared, size_t ld, size_t C, size_t row0,
                        size_t n, size_t MR)
{
    size_t P = (n + MR - 1) / MR;
    for (size_t i = 0; i < P * MR; i++) {
        size_t t = row0 + i;
        float *dst = own + i / MR * C * MR + i % MR;
        const float *src = shared + t / MR * ld + t % MR;
        for (size_t c = 0; c < C; c++)
            dst[c * MR] = i < n ? src[c * MR] : 0.0f;
    }
}

static void scatter_base(float *shared, size_t ld, const float *own, size_t C, size_t row0,
                         size_t n, size_t MR)
{
    for (size_t i = 0; i < n; i++) {
        size_t t = row0 + i;
        float *dst = shared + t / MR * ld + t % MR;
        const float *src = own + i / MR * C * MR + i % MR;
        for (size_t c = 0; c < C; c++)
            dst[c * MR] = src[c * MR];
    }
}

void medner__panels_gather(float *own, const float *shared, size_t ld, size_t C, size_t row0,
                           size_t n)
{
    const medner__kfns *kf = medner__kfns_get();
    kf->gather(own, shared, ld, C, row0, n, kf->mr);
}

void medner__panels_scatter(float *shared, size_t ld, const float *own, size_t C, size_t row0,
                            size_t n)
{
    const medner__kfns *kf = medner__kfns_get();
    kf->scatter(shared, ld, own, C, row0, n, kf->mr);
}

void medner__gemm_packed(float *y, size_t ldy, int ymode, const float *panels, size_t M, size_t K,
                         const float *w, size_t ldw, const float *b, float alpha, size_t n0,
                         size_t n1)
{
    gemm_args g = { .y = y, .ldy = ldy, .ymode = ymode, .xp = panels, .w = w, .ldw = ldw, .b = b,
                    .alpha = alpha, .M = M, .K = K };
    gemm_run(&g, n0, n1, NULL); /* packed x needs no scratch */
}

/* ---- this file's part of the dispatch table ----------------------------------- */

void medner__gemm_kfns(medner__kfns *t)
{
    t->pack = pack_panel;
    t->pack_t = pack_t_base;
    t->transpose = transpose_base;
    t->gather = gather_base;
    t->scatter = scatter_base;
    switch (t->level) {
#if GX86
    case MEDNER__ISA_AVX512:
        t->mr = 32;
        t->nr = A5_NR;
        t->tile = tile_avx512;
        t->pack = pack_avx512;
        t->pack_t = pack_t_avx512;
        t->transpose = transpose_avx512;
        t->gather = gather_avx512;
        t->scatter = scatter_avx512;
        return;
    case MEDNER__ISA_AVX2:
        t->mr = 16;
        t->nr = A2_NR;
        t->tile = tile_avx2;
        return;
#endif
    default:
        t->mr = 8;
        t->nr = B_NR;
        t->tile = tile_base;
        return;
    }
}
