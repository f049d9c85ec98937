/*
 * Register-level helpers shared by the x86 kernels (private to src/kernels;
 * include only where immintrin.h is available: GCC or clang on x86).
 * Static inline, each with the target attribute of the least instruction
 * set it needs, so it inlines into any kernel built for that set or more.
 */
#ifndef MEDNER_KERNELS_SIMD_X86_H
#define MEDNER_KERNELS_SIMD_X86_H

#include <immintrin.h>

/* In-register transpose of 16 rows of 16 floats: r[i] lane j -> r[j] lane i. */
__attribute__((target("avx512f"), always_inline)) static inline void
medner__transpose16_ps(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + q]: rows 4g..4g+3 of column 4L+q in 128-bit lane L */
    __m512 u[16];
    for (int g4 = 0; g4 < 4; g4++) {
        __m512d a = _mm512_castps_pd(t[4 * g4]), b = _mm512_castps_pd(t[4 * g4 + 2]);
        __m512d c = _mm512_castps_pd(t[4 * g4 + 1]), d = _mm512_castps_pd(t[4 * g4 + 3]);
        u[4 * g4] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        u[4 * g4 + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        u[4 * g4 + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        u[4 * g4 + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int q = 0; q < 4; q++) {
        __m512 a = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
        __m512 b = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xDD);
        __m512 c = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
        __m512 d = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xDD);
        r[q] = _mm512_shuffle_f32x4(a, c, 0x88);
        r[4 + q] = _mm512_shuffle_f32x4(b, d, 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(a, c, 0xDD);
        r[12 + q] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
}

/* The same for 16 x 16 dwords of any kind (bgemm.c: bf16 pairs): pure data
 * movement, so the bits of every element are kept. */
__attribute__((target("avx512f"), always_inline)) static inline void
medner__transpose16_epi32(__m512i r[16])
{
    __m512 f[16];
    for (int i = 0; i < 16; i++)
        f[i] = _mm512_castsi512_ps(r[i]);
    medner__transpose16_ps(f);
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_castps_si512(f[i]);
}

#endif
