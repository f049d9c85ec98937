/*
 * Matrix products: nn.Linear (medner__linear) and one sequence's multi-head
 * attention (medner__attention), on OpenBLAS's cblas_sgemm.
 *
 * OpenBLAS picks different code paths, with different summation orders,
 * depending on the shape and the thread count, so the same row can come out
 * differently in the last bits. docs/kernels.md ("Determinism") has the
 * measurements; the rules applied here are:
 *  - K is cut into chunks of GEMM_KC (one sgemm each, beta = 1 after the
 *    first) whenever OpenBLAS would otherwise split K itself in a way that
 *    differs between its threaded and unthreaded drivers (K > 320 and
 *    K % 32 not in {0, 31} in 0.3.21). Our chunks are multiples of 32 and
 *    below its K block, so its split never happens.
 *  - No NN call with alpha = 1, beta = 0: that is the "sgemm direct" kernel,
 *    whose use depends on the thread count.
 *  - Linear layers with few outputs (N <= LINEAR_SMALL_N, classifier heads)
 *    use our own kernel, rows computed independently in double. For wider
 *    ones OpenBLAS's small-matrix kernel (taken when M*N <= 1200) is kept
 *    out by the caller, who passes at least medner__linear_min_rows(N) rows.
 */
#include <cblas.h>
#include <string.h>

#include "kernels/kernels.h"

#define GEMM_KC 256        /* K chunk: multiple of 32, below OpenBLAS's K block */
#define LINEAR_SMALL_N 64  /* own kernel at or below this many outputs */
#define OB_SMALL_MN 1200   /* OpenBLAS SkylakeX small-matrix TN kernel: M*N <= 1200 */

size_t medner__linear_min_rows(size_t N)
{
    if (N <= LINEAR_SMALL_N)
        return 1;
    size_t p = OB_SMALL_MN / N + 1;
    return p < 2 ? 2 : p;
}

/* C[M,N] = alpha A[M,K] op(B) + beta C, with op(B) = B^T (B is [N,K]) or B
 * (B is [K,N]); K cut into chunks when OpenBLAS's own K split would depend
 * on the thread count. */
static void sgemm_det(CBLAS_TRANSPOSE tb, size_t M, size_t N, size_t K, float alpha,
                      const float *A, size_t lda, const float *B, size_t ldb, float beta,
                      float *C, size_t ldc)
{
    size_t kc = K > GEMM_KC && K % 32 != 0 ? GEMM_KC : K;
    for (size_t k0 = 0; k0 < K; k0 += kc) {
        size_t n = K - k0 < kc ? K - k0 : kc;
        const float *Bk = tb == CblasTrans ? B + k0 : B + k0 * ldb;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, (blasint)M, (blasint)N, (blasint)n, alpha,
                    A + k0, (blasint)lda, Bk, (blasint)ldb, k0 ? 1.0f : beta, C,
                    (blasint)ldc);
    }
}

/* ---- own kernel for narrow outputs ---------------------------------------- */

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define KX86 1
#else
#  define KX86 0
#endif

typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
/* The vector helpers are static and always inlined, so the warning that
 * 64-byte vector arguments have no stable ABI without AVX-512 is moot. */
#if defined(__clang__)
#  pragma clang diagnostic ignored "-Wunknown-warning-option"
#endif
#if defined(__GNUC__)
#  pragma GCC diagnostic ignored "-Wpsabi"
#endif
#define VI static inline __attribute__((always_inline))

VI v16f vload(const float *p)
{
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
VI v8d vlo(v16f v)
{
    return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), v8d);
}
VI v8d vhi(v16f v)
{
    return __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15),
                                   v8d);
}
#else
VI v8d vlo(v16f v)
{
    v8f h;
    memcpy(&h, &v, sizeof h);
    return __builtin_convertvector(h, v8d);
}
VI v8d vhi(v16f v)
{
    v8f h;
    memcpy(&h, (const char *)&v + sizeof h, sizeof h);
    return __builtin_convertvector(h, v8d);
}
#endif

VI float finish(v8d a0, v8d a1, const float *b, size_t n)
{
    v8d a = a0 + a1;
    double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    return (float)((b ? (double)b[n] : 0.0) + s);
}

/* y[m,n] = b[n] + sum_k x[m,k] w[n,k]: float products are exact in double
 * and summed in double in a fixed order (16 lanes, then a fixed tree), the
 * same for every (m, n) whatever the grouping below. Four outputs share each
 * converted slice of x. */
VI void small_body(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                   const float *b, size_t M, size_t N, size_t K)
{
    size_t k16 = K & ~(size_t)15, rest = K - k16;
    for (size_t m = 0; m < M; m++) {
        const float *xr = x + m * ldx;
        float xt[16] = { 0 };
        memcpy(xt, xr + k16, rest * sizeof *xt);
        size_t n = 0;
        for (; n + 4 <= N; n += 4) {
            const float *w0 = w + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
            v8d a00 = { 0 }, a01 = { 0 }, a10 = { 0 }, a11 = { 0 };
            v8d a20 = { 0 }, a21 = { 0 }, a30 = { 0 }, a31 = { 0 };
            for (size_t k = 0; k <= k16; k += 16) {
                v16f xv, v0, v1, v2, v3;
                if (k < k16) {
                    xv = vload(xr + k);
                    v0 = vload(w0 + k);
                    v1 = vload(w1 + k);
                    v2 = vload(w2 + k);
                    v3 = vload(w3 + k);
                } else if (rest) {
                    float t[4][16] = { { 0 } };
                    memcpy(t[0], w0 + k, rest * sizeof(float));
                    memcpy(t[1], w1 + k, rest * sizeof(float));
                    memcpy(t[2], w2 + k, rest * sizeof(float));
                    memcpy(t[3], w3 + k, rest * sizeof(float));
                    xv = vload(xt);
                    v0 = vload(t[0]);
                    v1 = vload(t[1]);
                    v2 = vload(t[2]);
                    v3 = vload(t[3]);
                } else {
                    break;
                }
                v8d xl = vlo(xv), xh = vhi(xv);
                a00 += xl * vlo(v0);
                a01 += xh * vhi(v0);
                a10 += xl * vlo(v1);
                a11 += xh * vhi(v1);
                a20 += xl * vlo(v2);
                a21 += xh * vhi(v2);
                a30 += xl * vlo(v3);
                a31 += xh * vhi(v3);
            }
            y[m * ldy + n] = finish(a00, a01, b, n);
            y[m * ldy + n + 1] = finish(a10, a11, b, n + 1);
            y[m * ldy + n + 2] = finish(a20, a21, b, n + 2);
            y[m * ldy + n + 3] = finish(a30, a31, b, n + 3);
        }
        for (; n < N; n++) {
            const float *wr = w + n * K;
            v8d a0 = { 0 }, a1 = { 0 };
            for (size_t k = 0; k < k16; k += 16) {
                v16f xv = vload(xr + k), wv = vload(wr + k);
                a0 += vlo(xv) * vlo(wv);
                a1 += vhi(xv) * vhi(wv);
            }
            if (rest) {
                float wt[16] = { 0 };
                memcpy(wt, wr + k16, rest * sizeof *wt);
                v16f xv = vload(xt), wv = vload(wt);
                a0 += vlo(xv) * vlo(wv);
                a1 += vhi(xv) * vhi(wv);
            }
            y[m * ldy + n] = finish(a0, a1, b, n);
        }
    }
}

#define SMALL_PARAMS                                                                  \
    (float *y, size_t ldy, const float *x, size_t ldx, const float *w, const float *b, \
     size_t M, size_t N, size_t K)
#define SMALL_ARGS (y, ldy, x, ldx, w, b, M, N, K)

static void small_base SMALL_PARAMS { small_body SMALL_ARGS; }
#if KX86
__attribute__((target("avx2"))) static void small_avx2 SMALL_PARAMS { small_body SMALL_ARGS; }
__attribute__((target("avx512f"))) static void small_avx512 SMALL_PARAMS { small_body SMALL_ARGS; }
#endif

static void linear_small SMALL_PARAMS
{
#if KX86
    switch (medner__kernels_isa()) {
    case MEDNER__ISA_AVX512: small_avx512 SMALL_ARGS; return;
    case MEDNER__ISA_AVX2: small_avx2 SMALL_ARGS; return;
    default: break;
    }
#endif
    small_base SMALL_ARGS;
}

/* ---- public kernels ---------------------------------------------------------- */

void medner__linear(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                    const float *b, size_t M, size_t N, size_t K)
{
    if (M == 0 || N == 0)
        return;
    if (K == 0) { /* empty sum: y = b */
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++)
                y[m * ldy + n] = b ? b[n] : 0.0f;
        return;
    }
    if (N <= LINEAR_SMALL_N) {
        linear_small(y, ldy, x, ldx, w, b, M, N, K);
        return;
    }
    /* Bias first, then beta = 1: saves a pass over y (docs/kernels.md). */
    float beta = 0.0f;
    if (b) {
        for (size_t m = 0; m < M; m++)
            memcpy(y + m * ldy, b, N * sizeof *y);
        beta = 1.0f;
    }
    sgemm_det(CblasTrans, M, N, K, 1.0f, x, ldx, w, K, beta, y, ldy);
}

void medner__attention(float *out, size_t ldo, const float *q, const float *k, const float *v,
                       size_t ld, size_t L, size_t H, size_t D, float scale, float *scratch)
{
    if (L == 0 || D == 0)
        return;
    for (size_t h = 0; h < H; h++) {
        /* S = scale q_h k_h^T (TN inside OpenBLAS; never the direct kernel) */
        sgemm_det(CblasTrans, L, L, D, scale, q + h * D, ld, k + h * D, ld, 0.0f, scratch, L);
        medner__softmax(scratch, L, L);
        /* out_h = S v_h, accumulated into zeros with beta = 1 (see top) */
        float *o = out + h * D;
        for (size_t i = 0; i < L; i++)
            memset(o + i * ldo, 0, D * sizeof *o);
        sgemm_det(CblasNoTrans, L, D, L, 1.0f, scratch, L, v + h * D, ld, 1.0f, o, ldo);
    }
}
