/*
 * bf16 products with fp32 sums for mixed-precision training (bgemm.h).
 *
 * Packed layout (uint16 bf16, shared by the three kernels):
 *   A: tiles [mb][kb], each 16 rows x 32 k (row r: k = 32 kb .. 32 kb + 31),
 *      M padded to a multiple of 32 rows, K to 32 (zeros);
 *   B: tiles [nb][kb], each 16 rows of k pairs x 16 columns x 2 (the
 *      VNNI / AMX "B" layout: row p, column c holds B[32 kb + 2p][n], then
 *      B[32 kb + 2p + 1][n], n = 16 nb + c), N padded to 32.
 * The product runs over blocks of 32 x 32 outputs (2 x 2 tiles); each block
 * is computed by one thread, its k loop in order, so an element's bits do
 * not depend on which thread or which block position computes it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "kernels/bgemm.h"
#include "kernels/dispatch.h"

/* AMX with GCC 11 or later (the compiler this was built and tested with);
 * clang builds use AVX512-BF16 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && (__GNUC__ >= 11)
#define HAVE_AMX 1
#else
#define HAVE_AMX 0
#endif
#if defined(__x86_64__) && defined(__GNUC__) && \
    (defined(__clang__) ? (__clang_major__ >= 9) : (__GNUC__ >= 10))
#define HAVE_BF16 1
#include <immintrin.h>

#include "kernels/simd_x86.h"
#else
#define HAVE_BF16 0
#endif

#define TILE 512 /* uint16 per packed tile: 16 x 32 */

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bf2f(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* vcvtne2ps2bf16's rounding (qgemm_bf16.c's to_bf16) */
static inline uint16_t to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* ---- kernel choice (through the dispatch table) ------------------------------- */

/* The best kernel the CPU and the OS's XCR0 allow (not asking for the tile
 * permission). */
static int best_by_features(void)
{
    unsigned f = medner__cpu_features();
    unsigned bf = MEDNER__CPU_AVX512 | MEDNER__CPU_AVX512_BF16;
    if (!HAVE_BF16 || (f & bf) != bf)
        return MEDNER__BGEMM_PORTABLE;
    unsigned amx = MEDNER__CPU_AMX_TILE | MEDNER__CPU_AMX_BF16;
    if (HAVE_AMX && (f & amx) == amx)
        return MEDNER__BGEMM_AMX;
    return MEDNER__BGEMM_AVX512;
}

/* AMX only with the process's tile permission, else AVX512-BF16. */
static int permitted(int kernel)
{
    return kernel == MEDNER__BGEMM_AMX && !medner__cpu_amx_permit() ? MEDNER__BGEMM_AVX512
                                                                     : kernel;
}

int medner__bgemm_best(void) { return permitted(best_by_features()); }

static _Atomic int forced = -1;

/* MEDNER_BF16_GEMM=amx|avx512|portable: a cap (-1: none). */
static int env_cap(void)
{
    const char *e = getenv("MEDNER_BF16_GEMM");
    if (e != NULL && strcmp(e, "amx") == 0)
        return MEDNER__BGEMM_AMX;
    if (e != NULL && strcmp(e, "avx512") == 0)
        return MEDNER__BGEMM_AVX512;
    if (e != NULL && strcmp(e, "portable") == 0)
        return MEDNER__BGEMM_PORTABLE;
    return -1;
}

/* This file's part of the dispatch table: the same kernel at every level. */
void medner__bgemm_kfns(medner__kfns *t)
{
    int b = best_by_features(), cap = env_cap();
    t->bgemm = cap >= 0 && cap < b ? cap : b;
}

int medner__bgemm_kernel(void)
{
    int f = atomic_load_explicit(&forced, memory_order_relaxed);
    if (f >= 0)
        return f;
    return permitted(medner__kfns_get()->bgemm);
}

int medner__bgemm_force(int kernel)
{
    if (kernel < 0) {
        atomic_store(&forced, -1);
        return 0;
    }
    if (kernel > MEDNER__BGEMM_AMX || kernel > medner__bgemm_best())
        return -1;
    atomic_store(&forced, kernel);
    return 0;
}

const char *medner__bgemm_kernel_name(int kernel)
{
    return kernel == MEDNER__BGEMM_AMX ? "amx-bf16" : kernel == MEDNER__BGEMM_AVX512 ? "avx512-bf16"
                                                                                     : "portable";
}

void medner__bgemm_ws_free(medner__bgemm_ws *ws)
{
    if (ws == NULL)
        return;
    medner__free(ws->raw);
    memset(ws, 0, sizeof *ws);
}

/* ---- packing --------------------------------------------------------------------- */

typedef struct job {
    float *C;
    size_t ldc;
    int accumulate;
    const float *A, *B, *bias;
    size_t lda, ldb;
    int a_trans, b_trans, kernel;
    size_t M, N, K, MB, NB, KB; /* tiles: M / 16, N / 16 (padded to even), K / 32 */
    uint16_t *ap, *bp;
} job;

static inline float a_at(const job *j, size_t m, size_t k)
{
    return j->a_trans ? j->A[k * j->lda + m] : j->A[m * j->lda + k];
}

static inline float b_at(const job *j, size_t k, size_t n)
{
    return j->b_trans ? j->B[n * j->ldb + k] : j->B[k * j->ldb + n];
}

static void pack_a_portable(const job *j, size_t mb)
{
    for (size_t kb = 0; kb < j->KB; kb++) {
        uint16_t *t = j->ap + (mb * j->KB + kb) * TILE;
        for (size_t r = 0; r < 16; r++)
            for (size_t c = 0; c < 32; c++) {
                size_t m = mb * 16 + r, k = kb * 32 + c;
                t[r * 32 + c] = m < j->M && k < j->K ? to_bf16(a_at(j, m, k)) : 0;
            }
    }
}

static void pack_b_portable(const job *j, size_t nb)
{
    for (size_t kb = 0; kb < j->KB; kb++) {
        uint16_t *t = j->bp + (nb * j->KB + kb) * TILE;
        for (size_t p = 0; p < 16; p++)
            for (size_t c = 0; c < 16; c++)
                for (size_t i = 0; i < 2; i++) {
                    size_t k = kb * 32 + 2 * p + i, n = nb * 16 + c;
                    t[p * 32 + c * 2 + i] = n < j->N && k < j->K ? to_bf16(b_at(j, k, n)) : 0;
                }
    }
}

#if HAVE_BF16
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

static inline __mmask16 mask16(size_t valid)
{
    return (__mmask16)(valid >= 16 ? 0xffffu : (1u << valid) - 1u);
}

/* 32 consecutive floats (valid of them) -> 32 bf16 in order */
BF16_TARGET static inline __m512i cvt32(const float *p, size_t valid)
{
    __m512 lo = _mm512_maskz_loadu_ps(mask16(valid), p);
    __m512 hi = _mm512_maskz_loadu_ps(mask16(valid > 16 ? valid - 16 : 0), p + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* two rows of 16 floats (lo: even k, hi: odd k) -> 16 dwords (lo, hi) */
BF16_TARGET static inline __m512i cvt_pairs(__m512 lo, __m512 hi)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512i c = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
    return _mm512_permutexvar_epi16(idx, c);
}

/* Rows k and k + 1 (zero past K) of a row-major fp32 matrix, 16 columns from
 * col0 (masked by m), as one row of bf16 pairs (the tile's dword layout). */
BF16_TARGET static inline __m512i pair_rows(const float *src, size_t ld, size_t k, size_t K,
                                            size_t col0, __mmask16 m)
{
    __m512 lo = k < K ? _mm512_maskz_loadu_ps(m, src + k * ld + col0) : _mm512_setzero_ps();
    __m512 hi = k + 1 < K ? _mm512_maskz_loadu_ps(m, src + (k + 1) * ld + col0)
                          : _mm512_setzero_ps();
    return cvt_pairs(lo, hi);
}

BF16_TARGET static void pack_a_avx512(const job *j, size_t mb)
{
    size_t m0 = mb * 16, mv = m0 < j->M ? (j->M - m0 < 16 ? j->M - m0 : 16) : 0;
    for (size_t kb = 0; kb < j->KB; kb++) {
        uint16_t *t = j->ap + (mb * j->KB + kb) * TILE;
        size_t k0 = kb * 32, kv = j->K - k0 < 32 ? j->K - k0 : 32;
        if (!j->a_trans) {
            for (size_t r = 0; r < 16; r++) {
                __m512i v = r < mv ? cvt32(j->A + (m0 + r) * j->lda + k0, kv)
                                   : _mm512_setzero_si512();
                _mm512_store_si512((void *)(t + r * 32), v);
            }
        } else {
            /* A^T rows are k: pairs of k rows -> one dword column of the tile */
            __mmask16 mm = mask16(mv);
            __m512i v[16];
            for (size_t p = 0; p < 16; p++)
                v[p] = pair_rows(j->A, j->lda, k0 + 2 * p, j->K, m0, mm);
            medner__transpose16_epi32(v);
            for (size_t r = 0; r < 16; r++)
                _mm512_store_si512((void *)(t + r * 32), v[r]);
        }
    }
}

BF16_TARGET static void pack_b_avx512(const job *j, size_t nb)
{
    size_t n0 = nb * 16, nv = n0 < j->N ? (j->N - n0 < 16 ? j->N - n0 : 16) : 0;
    for (size_t kb = 0; kb < j->KB; kb++) {
        uint16_t *t = j->bp + (nb * j->KB + kb) * TILE;
        size_t k0 = kb * 32, kv = j->K - k0 < 32 ? j->K - k0 : 32;
        if (!j->b_trans) {
            __mmask16 nm = mask16(nv);
            for (size_t p = 0; p < 16; p++)
                _mm512_store_si512((void *)(t + p * 32),
                                   pair_rows(j->B, j->ldb, k0 + 2 * p, j->K, n0, nm));
        } else {
            /* B^T row n: 32 consecutive k = 16 pairs -> column c of the tile */
            __m512i v[16];
            for (size_t c = 0; c < 16; c++)
                v[c] = c < nv ? cvt32(j->B + (n0 + c) * j->ldb + k0, kv) : _mm512_setzero_si512();
            medner__transpose16_epi32(v);
            for (size_t p = 0; p < 16; p++)
                _mm512_store_si512((void *)(t + p * 32), v[p]);
        }
    }
}
#endif

static void pack_fn(void *arg, size_t tid, size_t nt, float *scratch)
{
    (void)scratch;
    const job *j = arg;
    for (size_t u = tid; u < j->MB + j->NB; u += nt) {
#if HAVE_BF16
        if (j->kernel != MEDNER__BGEMM_PORTABLE) {
            if (u < j->MB)
                pack_a_avx512(j, u);
            else
                pack_b_avx512(j, u - j->MB);
            continue;
        }
#endif
        if (u < j->MB)
            pack_a_portable(j, u);
        else
            pack_b_portable(j, u - j->MB);
    }
}

/* ---- kernels: one 32 x 32 block into out[4][16][16] (tile order 00 01 10 11) ---- */

static void block_portable(const job *j, size_t mb2, size_t nb2, float *out)
{
    for (size_t ti = 0; ti < 4; ti++) {
        const uint16_t *a = j->ap + (2 * mb2 + ti / 2) * j->KB * TILE;
        const uint16_t *b = j->bp + (2 * nb2 + ti % 2) * j->KB * TILE;
        float *o = out + ti * 256;
        for (size_t r = 0; r < 16; r++)
            for (size_t c = 0; c < 16; c++) {
                float s = 0.0f;
                for (size_t kb = 0; kb < j->KB; kb++) {
                    const uint16_t *at = a + kb * TILE + r * 32, *bt = b + kb * TILE + c * 2;
                    for (size_t p = 0; p < 16; p++) {
                        s += bf2f(at[2 * p]) * bf2f(bt[p * 32]);
                        s += bf2f(at[2 * p + 1]) * bf2f(bt[p * 32 + 1]);
                    }
                }
                o[r * 16 + c] = s;
            }
    }
}

#if HAVE_BF16
/* 16 rows x 32 columns (two B tiles) per pass, 8 rows at a time: 16 accumulators */
BF16_TARGET static void block_avx512(const job *j, size_t mb2, size_t nb2, float *out)
{
    const uint16_t *b0 = j->bp + (2 * nb2) * j->KB * TILE, *b1 = b0 + j->KB * TILE;
    for (size_t h = 0; h < 4; h++) { /* rows 8 h .. 8 h + 7 of the block */
        const uint16_t *a = j->ap + (2 * mb2 + h / 2) * j->KB * TILE + (h % 2) * 8 * 32;
        __m512 c0[8], c1[8];
#pragma GCC unroll 8
        for (size_t r = 0; r < 8; r++)
            c0[r] = c1[r] = _mm512_setzero_ps();
        for (size_t kb = 0; kb < j->KB; kb++) {
            const uint32_t *at = (const uint32_t *)(const void *)(a + kb * TILE);
            const uint16_t *bt0 = b0 + kb * TILE, *bt1 = b1 + kb * TILE;
            for (size_t p = 0; p < 16; p++) {
                __m512bh w0 = (__m512bh)_mm512_load_si512((const void *)(bt0 + p * 32));
                __m512bh w1 = (__m512bh)_mm512_load_si512((const void *)(bt1 + p * 32));
#pragma GCC unroll 8
                for (size_t r = 0; r < 8; r++) {
                    __m512bh x = (__m512bh)_mm512_set1_epi32((int)at[r * 16 + p]);
                    c0[r] = _mm512_dpbf16_ps(c0[r], x, w0);
                    c1[r] = _mm512_dpbf16_ps(c1[r], x, w1);
                }
            }
        }
        float *o0 = out + (h / 2) * 512 + (h % 2) * 8 * 16, *o1 = o0 + 256;
#pragma GCC unroll 8
        for (size_t r = 0; r < 8; r++) {
            _mm512_storeu_ps(o0 + r * 16, c0[r]);
            _mm512_storeu_ps(o1 + r * 16, c1[r]);
        }
    }
}
#endif

#if HAVE_AMX
#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f")))

/* Palette 1, tiles 0..7 each 16 rows x 64 bytes. A constant in memory: GCC 12
 * dropped the stores of a stack-built config before ldtilecfg (it does not
 * see the instruction read them). */
static const unsigned char amx_cfg[64] __attribute__((aligned(64))) = {
    [0] = 1,
    [16] = 64, [18] = 64, [20] = 64, [22] = 64, [24] = 64, [26] = 64, [28] = 64, [30] = 64,
    [48] = 16, [49] = 16, [50] = 16, [51] = 16, [52] = 16, [53] = 16, [54] = 16, [55] = 16,
};

AMX_TARGET static void amx_config(void) { _tile_loadconfig(amx_cfg); }

AMX_TARGET static void amx_release(void) { _tile_release(); }

/* Tile ti of a block: rows m0, columns n0, and whether all 16 x 16 are in C. */
static inline int tile_full(const job *j, size_t mb2, size_t nb2, size_t ti, size_t *m0,
                            size_t *n0)
{
    *m0 = (2 * mb2 + ti / 2) * 16;
    *n0 = (2 * nb2 + ti % 2) * 16;
    return *m0 + 16 <= j->M && *n0 + 16 <= j->N;
}

/* The starting value of an edge tile's accumulator in buf (16 x 16): C
 * (accumulate) or the bias rows or 0, zeros outside C. */
static void edge_init(const job *j, size_t m0, size_t n0, float *buf)
{
    memset(buf, 0, 256 * sizeof *buf);
    for (size_t r = 0; r < 16 && m0 + r < j->M; r++)
        for (size_t q = 0; q < 16 && n0 + q < j->N; q++)
            buf[r * 16 + q] = j->accumulate ? j->C[(m0 + r) * j->ldc + n0 + q]
                              : j->bias     ? j->bias[n0 + q]
                                            : 0.0f;
}

static void edge_store(const job *j, size_t m0, size_t n0, const float *buf)
{
    for (size_t r = 0; r < 16 && m0 + r < j->M; r++)
        for (size_t q = 0; q < 16 && n0 + q < j->N; q++)
            j->C[(m0 + r) * j->ldc + n0 + q] = buf[r * 16 + q];
}

/* The accumulators start from C (accumulate) or the bias (or 0) and are
 * stored straight into C: full tiles with tileloadd / tilestored at C's
 * stride, edge tiles through out. Every element: init, then the k pairs in
 * order (the same arithmetic for full and edge tiles). */
#define AMX_INIT(t)                                                                           \
    do {                                                                                      \
        size_t m0_, n0_;                                                                      \
        if (tile_full(j, mb2, nb2, t, &m0_, &n0_)) {                                          \
            if (j->accumulate)                                                                \
                _tile_loadd(t, j->C + m0_ * j->ldc + n0_, (long)(j->ldc * sizeof(float)));     \
            else if (j->bias)                                                                 \
                _tile_loadd(t, j->bias + n0_, 0);                                             \
            else                                                                              \
                _tile_zero(t);                                                                \
        } else {                                                                              \
            edge_init(j, m0_, n0_, out + (t) * 256);                                          \
            _tile_loadd(t, out + (t) * 256, 64);                                              \
        }                                                                                     \
    } while (0)
#define AMX_STORE(t)                                                                          \
    do {                                                                                      \
        size_t m0_, n0_;                                                                      \
        if (tile_full(j, mb2, nb2, t, &m0_, &n0_)) {                                          \
            _tile_stored(t, j->C + m0_ * j->ldc + n0_, (long)(j->ldc * sizeof(float)));        \
        } else {                                                                              \
            _tile_stored(t, out + (t) * 256, 64);                                             \
            edge_store(j, m0_, n0_, out + (t) * 256);                                         \
        }                                                                                     \
    } while (0)

AMX_TARGET static void block_amx(const job *j, size_t mb2, size_t nb2, float *out)
{
    const uint16_t *a0 = j->ap + (2 * mb2) * j->KB * TILE, *a1 = a0 + j->KB * TILE;
    const uint16_t *b0 = j->bp + (2 * nb2) * j->KB * TILE, *b1 = b0 + j->KB * TILE;
    AMX_INIT(0);
    AMX_INIT(1);
    AMX_INIT(2);
    AMX_INIT(3);
    for (size_t kb = 0; kb < j->KB; kb++) {
        _tile_loadd(4, a0 + kb * TILE, 64);
        _tile_loadd(6, b0 + kb * TILE, 64);
        _tile_loadd(5, a1 + kb * TILE, 64);
        _tile_loadd(7, b1 + kb * TILE, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    AMX_STORE(0);
    AMX_STORE(1);
    AMX_STORE(2);
    AMX_STORE(3);
}
#endif

static void write_block(const job *j, size_t mb2, size_t nb2, const float *out)
{
    for (size_t ti = 0; ti < 4; ti++) {
        size_t m0 = (2 * mb2 + ti / 2) * 16, n0 = (2 * nb2 + ti % 2) * 16;
        if (m0 >= j->M || n0 >= j->N)
            continue;
        size_t mv = j->M - m0 < 16 ? j->M - m0 : 16, nv = j->N - n0 < 16 ? j->N - n0 : 16;
        const float *o = out + ti * 256;
        for (size_t r = 0; r < mv; r++) {
            float *c = j->C + (m0 + r) * j->ldc + n0;
            const float *s = o + r * 16;
            if (j->accumulate && j->bias)
                for (size_t q = 0; q < nv; q++)
                    c[q] += s[q] + j->bias[n0 + q];
            else if (j->accumulate)
                for (size_t q = 0; q < nv; q++)
                    c[q] += s[q];
            else if (j->bias)
                for (size_t q = 0; q < nv; q++)
                    c[q] = s[q] + j->bias[n0 + q];
            else
                memcpy(c, s, nv * sizeof *c);
        }
    }
}

#if HAVE_BF16
/* write_block with masked 16-lane rows (same arithmetic: s + bias, then C +) */
BF16_TARGET static void write_block_avx512(const job *j, size_t mb2, size_t nb2, const float *out)
{
    for (size_t ti = 0; ti < 4; ti++) {
        size_t m0 = (2 * mb2 + ti / 2) * 16, n0 = (2 * nb2 + ti % 2) * 16;
        if (m0 >= j->M || n0 >= j->N)
            continue;
        size_t mv = j->M - m0 < 16 ? j->M - m0 : 16, nv = j->N - n0 < 16 ? j->N - n0 : 16;
        __mmask16 k = mask16(nv);
        __m512 b = j->bias ? _mm512_maskz_loadu_ps(k, j->bias + n0) : _mm512_setzero_ps();
        const float *o = out + ti * 256;
        for (size_t r = 0; r < mv; r++) {
            float *c = j->C + (m0 + r) * j->ldc + n0;
            __m512 v = _mm512_load_ps(o + r * 16);
            if (j->bias)
                v = _mm512_add_ps(v, b);
            if (j->accumulate)
                v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, c), v);
            _mm512_mask_storeu_ps(c, k, v);
        }
    }
}
#endif

static void gemm_fn(void *arg, size_t tid, size_t nt, float *scratch)
{
    const job *j = arg;
    size_t bm = j->MB / 2, bn = j->NB / 2, total = bm * bn;
    size_t lo = total * tid / nt, hi = total * (tid + 1) / nt;
    if (lo >= hi)
        return;
    float *out = scratch; /* 1024 floats, 64-byte aligned */
#if HAVE_AMX
    if (j->kernel == MEDNER__BGEMM_AMX)
        amx_config();
#endif
    /* n blocks outer: one B panel stays in cache while the A panels stream */
    for (size_t b = lo; b < hi; b++) {
        size_t nb2 = b / bm, mb2 = b % bm;
#if HAVE_AMX
        if (j->kernel == MEDNER__BGEMM_AMX) {
            block_amx(j, mb2, nb2, out); /* writes C itself */
            continue;
        }
#endif
#if HAVE_BF16
        if (j->kernel == MEDNER__BGEMM_AVX512) {
            block_avx512(j, mb2, nb2, out);
            write_block_avx512(j, mb2, nb2, out);
            continue;
        }
#endif
        block_portable(j, mb2, nb2, out);
        write_block(j, mb2, nb2, out);
    }
#if HAVE_AMX
    if (j->kernel == MEDNER__BGEMM_AMX)
        amx_release();
#endif
}

/* Tiles of a product: M and N in pairs of 16-row tiles (32-blocks), K in
 * 32s (K = 0: one zero tile, C = bias). */
static void tiles_of(job *j)
{
    j->MB = (j->M + 31) / 32 * 2;
    j->NB = (j->N + 31) / 32 * 2;
    j->KB = j->K ? (j->K + 31) / 32 : 1;
}

/* uint16 elements of the packed A and B tiles */
static size_t packed_u16(const job *j) { return (j->MB + j->NB) * j->KB * TILE; }

/* The job of one product; its packing space (j->ap, j->bp) is the caller's. */
static job job_of(float *C, size_t ldc, int accumulate, const float *A, size_t lda, int a_trans,
                  const float *B, size_t ldb, int b_trans, const float *bias, size_t M, size_t N,
                  size_t K)
{
    job j = { .C = C, .ldc = ldc, .accumulate = accumulate, .A = A, .B = B, .bias = bias,
              .lda = lda, .ldb = ldb, .a_trans = a_trans, .b_trans = b_trans,
              .kernel = medner__bgemm_kernel(), .M = M, .N = N, .K = K };
    tiles_of(&j);
    return j;
}

/* AMX starts its accumulators from C or from the bias, not both: with both,
 * the bias is added afterwards (returned; j->bias cleared). */
static const float *split_bias(job *j)
{
    if (j->kernel == MEDNER__BGEMM_AMX && j->accumulate && j->bias) {
        const float *b = j->bias;
        j->bias = NULL;
        return b;
    }
    return NULL;
}

static void add_bias(float *C, size_t ldc, const float *bias, size_t M, size_t N)
{
    if (bias)
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++)
                C[m * ldc + n] += bias[n];
}

int medner__bgemm(medner__par *par, medner__bgemm_ws *ws, float *C, size_t ldc, int accumulate,
                  const float *A, size_t lda, int a_trans, const float *B, size_t ldb,
                  int b_trans, const float *bias, size_t M, size_t N, size_t K)
{
    if (M == 0 || N == 0)
        return 0;
    job j = job_of(C, ldc, accumulate, A, lda, a_trans, B, ldb, b_trans, bias, M, N, K);
    size_t need = packed_u16(&j);
    if (need > ws->cap) {
        void *raw = NULL;
        uint16_t *buf = medner__malloc_aligned64(need * sizeof *buf, &raw);
        if (buf == NULL)
            return -1;
        medner__free(ws->raw);
        ws->raw = raw;
        ws->buf = buf;
        ws->cap = need;
    }
    j.ap = ws->buf;
    j.bp = ws->buf + j.MB * j.KB * TILE;
    if (medner__par_reserve(par, 1024) != 0)
        return -1;
    const float *late_bias = split_bias(&j);
    medner__par_run(par, pack_fn, &j);
    medner__par_run(par, gemm_fn, &j);
    add_bias(C, ldc, late_bias, M, N);
    return 0;
}

size_t medner__bgemm_serial_floats(size_t M, size_t N, size_t K)
{
    job j = { .M = M, .N = N, .K = K };
    tiles_of(&j);
    return 1024 + packed_u16(&j) / 2; /* the output block, then the tiles (2 per float) */
}

void medner__bgemm_serial(float *space, float *C, size_t ldc, int accumulate, const float *A,
                          size_t lda, int a_trans, const float *B, size_t ldb, int b_trans,
                          const float *bias, size_t M, size_t N, size_t K)
{
    if (M == 0 || N == 0)
        return;
    job j = job_of(C, ldc, accumulate, A, lda, a_trans, B, ldb, b_trans, bias, M, N, K);
    j.ap = (uint16_t *)(void *)(space + 1024); /* 64-byte aligned: 4096 bytes on */
    j.bp = j.ap + j.MB * j.KB * TILE;
    const float *late_bias = split_bias(&j);
    pack_fn(&j, 0, 1, NULL);
    gemm_fn(&j, 0, 1, space);
    add_bias(C, ldc, late_bias, M, N);
}
