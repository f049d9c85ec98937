/*
 * Compute kernels of the forward pass. Plain float arrays, row-major, with
 * shapes in the comments; no knowledge of BERT (llm.c style). Each optimised
 * kernel has a naive reference twin `*_ref` (double accumulation, reference.c)
 * used by tests/unit/test_kernels.c. Later, backward kernels sit beside the
 * forward ones. docs/kernels.md gives the derivations, measured errors and
 * speeds.
 *
 * Numerics follow PyTorch fp32: exact erf GELU, LayerNorm with biased
 * variance and the caller's epsilon, softmax with the row maximum subtracted.
 * No -ffast-math.
 *
 * Determinism: every kernel gives, for a given input row (a sequence, for
 * attention), bitwise the same output whatever the other rows, the row count,
 * the row's position in the buffer and the OpenBLAS thread count (1 or
 * more). The one condition is medner__linear's minimum row count, below.
 * Results are per machine: OpenBLAS picks its kernels by CPU, and the
 * vectorised element-wise kernels by instruction set (fixed per process).
 * Dimensions must be below 2^31 (cblas takes int).
 * Depends on common/ and OpenBLAS only.
 */
#ifndef MEDNER_KERNELS_H
#define MEDNER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* y[M,N] = x[M,K] . W[N,K]^T + b[N]   (PyTorch nn.Linear layout: W is [out,in])
 * ldx/ldy: row strides of x and y in floats (>= K, >= N). b may be NULL.
 * Uses cblas_sgemm (N > 64) or an own kernel summing in double (N <= 64,
 * classifier heads); y must not alias x or W.
 * Row-stable (each row bitwise independent of M and of the thread count)
 * only when M >= medner__linear_min_rows(N): below that OpenBLAS may use its
 * small-matrix kernel, whose summation order differs. Callers that need
 * stability pad the batch with rows (of zeros) up to that count. */
void medner__linear(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                    const float *b, size_t M, size_t N, size_t K);
void medner__linear_ref(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                        const float *b, size_t M, size_t N, size_t K);
/* Smallest M for which medner__linear is row-stable with N outputs: 1 for
 * N <= 64, else max(2, 1200/N + 1) (2 for N = 768, 19 for N = 65). */
size_t medner__linear_min_rows(size_t N);

/* x[rows,cols] = LayerNorm(x + residual) * gamma + beta, in place; residual may
 * be NULL (plain LayerNorm); gamma and beta are required. v = x + residual in
 * fp32 (as PyTorch), mean and biased variance of v accumulated in double,
 * then ((v - mean) / sqrt(var + eps)) * gamma + beta in double, rounded once.
 * A constant row gives beta exactly. */
void medner__add_layernorm(float *x, const float *residual, const float *gamma,
                           const float *beta, size_t rows, size_t cols, float eps);
void medner__add_layernorm_ref(float *x, const float *residual, const float *gamma,
                               const float *beta, size_t rows, size_t cols, float eps);

/* Activations, in place over n values. gelu: x/2 (1 + erf(x/sqrt 2));
 * gelu_tanh: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (HF gelu_new,
 * gelu_pytorch_tanh); relu: max(x, 0) (NaN stays NaN).
 * Measured over every float in [-16, 16] against the exact function:
 * gelu within 6.2 ulp (relative 4e-7, absolute 3.9e-7), gelu_tanh within
 * 2.4 ulp (relative 1.7e-7) above x = -10; both keep their relative
 * accuracy for x < 0 (docs/kernels.md). At -inf they give -0 and at +inf
 * +inf (PyTorch gives NaN for both). */
void medner__gelu(float *x, size_t n);
void medner__gelu_ref(float *x, size_t n);
void medner__gelu_tanh(float *x, size_t n);
void medner__gelu_tanh_ref(float *x, size_t n);
void medner__relu(float *x, size_t n);
void medner__relu_ref(float *x, size_t n);

/* Softmax over each row of x[rows,cols], in place: e = exp(x - max) (x - max
 * carried exactly into exp, so small probabilities keep their relative
 * accuracy), sum of e in double, x = e * (1/sum) (the reciprocal rounded to
 * fp32, as PyTorch).
 * -inf entries give 0; a row that is all -inf or holds +inf or NaN gives NaN
 * (as PyTorch). */
void medner__softmax(float *x, size_t rows, size_t cols);
void medner__softmax_ref(float *x, size_t rows, size_t cols);

/* Multi-head scaled dot-product attention for ONE sequence of L tokens
 * (no padding: every key is visible).
 *   q, k, v: [L, ld] with head h in columns [h*D, (h+1)*D)   (ld >= H*D)
 *   out:     [L, ldo], head h written to columns [h*D, (h+1)*D)
 *   scratch: at least L*L floats
 * out_h = softmax(q_h k_h^T * scale) v_h, scale = 1/sqrt(D), as two sgemm
 * calls and medner__softmax per head. The result depends on the sequence
 * only (not on where its rows sit in a batch buffer, nor on the thread
 * count). */
void medner__attention(float *out, size_t ldo, const float *q, const float *k, const float *v,
                       size_t ld, size_t L, size_t H, size_t D, float scale, float *scratch);
void medner__attention_ref(float *out, size_t ldo, const float *q, const float *k,
                           const float *v, size_t ld, size_t L, size_t H, size_t D, float scale);

/* out[n, dim] = (word[ids[i]] + type[type_ids[i]]) + pos[positions[i]], the
 * order of Hugging Face's BertEmbeddings; without `type` (DistilBERT)
 * word[ids[i]] + pos[positions[i]]. type_ids may be NULL (all 0). Ids must
 * have been range-checked by the caller. */
void medner__embed(float *out, const int32_t *ids, const int32_t *type_ids,
                   const int32_t *positions, size_t n, const float *word, const float *pos,
                   const float *type, size_t dim);

/* Conversions of stored tensors to fp32 (n values), exact for every bit
 * pattern: IEEE half including subnormals, infinities and NaN (payload kept),
 * and bfloat16 (the top 16 bits of an fp32). */
void medner__f16_to_f32(float *out, const uint16_t *in, size_t n);
void medner__bf16_to_f32(float *out, const uint16_t *in, size_t n);

/* Instruction-set level of the vectorised kernels (gelu, gelu_tanh, relu,
 * softmax, add_layernorm, linear with N <= 64). They are written once with
 * vector extensions and built for each level (simd.c). The AVX builds fuse
 * multiply-adds, so their last bits may differ from the baseline build's;
 * the level is fixed for the process, so results stay deterministic, and
 * the tests check every level's accuracy. */
enum {
    MEDNER__ISA_AUTO = -1,  /* best level the CPU supports (default) */
    MEDNER__ISA_BASE = 0,   /* x86-64 baseline (SSE2), or plain C elsewhere */
    MEDNER__ISA_AVX2 = 1,
    MEDNER__ISA_AVX512 = 2  /* AVX-512F */
};
/* Level in use now. */
int medner__kernels_isa(void);
/* Force a level (capped at what the CPU supports) or MEDNER__ISA_AUTO;
 * returns the level now in use. Process-wide; for tests and benchmarks. */
int medner__kernels_set_isa(int isa);

#endif
