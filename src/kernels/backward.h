/*
 * Backward kernels of training (issue 18, phase 1), beside the forward ones
 * of kernels.h: plain float arrays, row-major, shapes in the comments, no
 * knowledge of BERT. Every kernel has a plain reference twin `*_ref`
 * (double accumulation, naive loops) used by tests/unit/test_train.c, which
 * also checks each against finite differences. Only src/train/ calls them.
 *
 * Gradient semantics: outputs named d<input> are overwritten; gradients of
 * parameters (dw, db, dgamma, dbeta, embedding tables) are ACCUMULATED (+=),
 * so several backward passes (gradient accumulation) sum into one buffer.
 *
 * Determinism: every result depends only on the inputs, never on the thread
 * count (work is split so that each output element is computed by one
 * thread with a fixed order of operations; reductions over rows run in row
 * order on one thread). Dropout masks come from a counter-based hash of
 * (seed, stream, element index): the same mask whatever the threads.
 * docs/training.md gives the derivations and measured errors.
 */
#ifndef MEDNER_KERNELS_BACKWARD_H
#define MEDNER_KERNELS_BACKWARD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* ---- counter-based random numbers and dropout ------------------------------
 * medner__rng_u64: 64 random bits for (seed, stream, index): a splitmix64
 * finaliser over the seed and stream gives a key, a second one mixes the key
 * with the index (a stateless hash, so element i gets the same bits on any
 * thread and in any order). medner__rng_uniform: the top 24 bits as a float
 * in [0, 1), exact. */
uint64_t medner__rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
float medner__rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* 1 when element `index` is kept under drop probability p (uniform >= p). */
int medner__dropout_keep(float p, uint64_t seed, uint64_t stream, uint64_t index);
/* y[i] = keep(first + i) ? x[i] * (1 / (1 - p)) : 0 for i < n (inverted
 * dropout, PyTorch's scaling; the factor rounded to fp32 once). The same call
 * on the gradient is the backward. y may alias x. p == 0 copies; p >= 1 gives
 * zeros. Split over par's threads by chunks (par may be NULL). */
void medner__dropout(medner__par *par, float *y, const float *x, size_t n, float p, uint64_t seed,
                     uint64_t stream, uint64_t first);
void medner__dropout_ref(float *y, const float *x, size_t n, float p, uint64_t seed,
                         uint64_t stream, uint64_t first);

/* ---- linear ------------------------------------------------------------------
 * Backward of y[M,N] = x[M,K] . W[N,K]^T + b[N]:
 *   dx[M,K]  = dy . W            (overwritten, or added to dx when dx_add; dx may be NULL)
 *   dw[N,K] += dy^T . x
 *   db[N]   += sum over rows of dy (in double, row order; db may be NULL)
 * lddy, ldx, lddx: row strides in floats. The products run through
 * medner__linear (the forward SGEMM, row-stable and thread-count invariant)
 * on transposed copies held in `work` (medner__linear_backward_work(M, N, K)
 * floats); par's scratch is grown as needed. Returns 0, or -1 out of memory
 * (par's scratch). */
size_t medner__linear_backward_work(size_t M, size_t N, size_t K);
int medner__linear_backward(medner__par *par, float *dx, size_t lddx, int dx_add, float *dw,
                            float *db, const float *dy, size_t lddy, const float *x, size_t ldx,
                            const float *w, size_t M, size_t N, size_t K, float *work);
void medner__linear_backward_ref(float *dx, size_t lddx, int dx_add, float *dw, float *db,
                                 const float *dy, size_t lddy, const float *x, size_t ldx,
                                 const float *w, size_t M, size_t N, size_t K);

/* ---- LayerNorm -----------------------------------------------------------------
 * Training forward: y = LayerNorm(x + residual) * gamma + beta over each row
 * (residual may be NULL), the formula of medner__add_layernorm (v = x +
 * residual in fp32, mean and biased variance in double, y rounded once),
 * keeping xhat[rows,cols] = (v - mean) / sqrt(var + eps) and rstd[rows] =
 * 1 / sqrt(var + eps) for the backward. y may alias x. */
void medner__layernorm_train(float *y, float *xhat, float *rstd, const float *x,
                             const float *residual, const float *gamma, const float *beta,
                             size_t rows, size_t cols, float eps);
/* dv = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma (per row,
 * in double); dgamma += sum_rows dy * xhat; dbeta += sum_rows dy. dv is the
 * gradient of x and of the residual alike. dv may alias dy. */
void medner__layernorm_backward(float *dv, float *dgamma, float *dbeta, const float *dy,
                                const float *xhat, const float *rstd, const float *gamma,
                                size_t rows, size_t cols);
/* Twin from the input v itself (mean, variance recomputed, two passes). */
void medner__layernorm_backward_ref(float *dv, float *dgamma, float *dbeta, const float *dy,
                                    const float *v, const float *gamma, size_t rows, size_t cols,
                                    float eps);

/* ---- activations -------------------------------------------------------------
 * dx[i] = dy[i] * act'(x[i]) for the forward's pre-activation x:
 *   gelu (erf): Phi(x) + x phi(x); gelu_tanh: 0.5 (1 + t) + 0.5 x (1 - t^2)
 *   sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh(sqrt(2/pi) (x + 0.044715 x^3));
 *   relu: x > 0 (0 at 0, as PyTorch). MEDNER__EPI_NONE copies. dx may alias dy. */
void medner__act_backward(float *dx, const float *dy, const float *x, size_t n, medner__epi act);
void medner__act_backward_ref(float *dx, const float *dy, const float *x, size_t n,
                              medner__epi act);

/* ---- softmax -----------------------------------------------------------------
 * Rows of y = softmax(x): dx = y * (dy - sum(dy * y)) (the sum in double).
 * dx may alias dy. */
void medner__softmax_backward(float *dx, const float *dy, const float *y, size_t rows,
                              size_t cols);
void medner__softmax_backward_ref(float *dx, const float *dy, const float *y, size_t rows,
                                  size_t cols);

/* ---- attention -----------------------------------------------------------------
 * Multi-head scaled dot-product attention of n_seqs packed sequences in
 * rows (sequence s = rows [starts[s], starts[s] + lens[s]); a sequence's
 * padding is simply absent, which is what a padding mask computes):
 *   qkv[T, 3 H D]: Q | K | V, head h at columns h D .. of each;
 *   out[T, H D] = P' V per head, P = softmax(Q K^T * scale), P' = dropout(P)
 *   (drop_p, seed, stream; element index = the position in `probs`).
 * probs keeps P of every (sequence, head): medner__attention_probs_size()
 * floats, sequence s, head h at sum_{r<s} H L_r^2 + h L_s^2 (row-major
 * L_s x L_s). (sequence, head) pairs are spread over par's threads; scratch
 * medner__attention_train_scratch(Lmax, D) floats each. Every product runs
 * as a GEMM (medner__gemm / medner__gemm_packed: each element one FMA chain
 * in ascending k) on the thread that owns the pair, so results do not
 * depend on the thread count. bf16 != 0: the products (Q K^T, P' V and the
 * four of the backward) are bf16 products with fp32 sums
 * (medner__bgemm_serial, torch.autocast's matmul), softmax, dropout and the
 * softmax backward stay fp32; the same thread-count invariance. */
size_t medner__attention_probs_size(const size_t *lens, size_t n_seqs, size_t H);
size_t medner__attention_train_scratch(size_t L, size_t D);
void medner__attention_train(medner__par *par, float *out, float *probs, const float *qkv,
                             const size_t *starts, const size_t *lens, size_t n_seqs, size_t H,
                             size_t D, float scale, float drop_p, uint64_t seed, uint64_t stream,
                             int bf16);
/* dqkv[T, 3 H D] (overwritten on the sequences' rows) from dout[T, H D]. */
void medner__attention_backward(medner__par *par, float *dqkv, const float *dout,
                                const float *qkv, const float *probs, const size_t *starts,
                                const size_t *lens, size_t n_seqs, size_t H, size_t D, float scale,
                                float drop_p, uint64_t seed, uint64_t stream, int bf16);
/* Twin for ONE sequence of L rows without dropout: P recomputed in double
 * from q, k (row stride ld, head h at h D), dq, dk, dv overwritten (row
 * stride ldd). */
void medner__attention_backward_ref(float *dq, float *dk, float *dv, size_t ldd,
                                    const float *dout, size_t ldo, const float *q, const float *k,
                                    const float *v, size_t ld, size_t L, size_t H, size_t D,
                                    float scale);

/* ---- embeddings ----------------------------------------------------------------
 * Backward of medner__embed: rows of dout[n, dim] scatter-added into
 * dword[ids[i]], dpos[positions[i]] and dtype[type_ids[i]] (dtype NULL:
 * DistilBERT; type_ids NULL: all 0), tokens in order (deterministic).
 * Tokens whose id is pad_id add nothing to dword (nn.Embedding's
 * padding_idx, which Hugging Face sets to pad_token_id: that row never
 * learns); pad_id < 0: none. Their position and type rows still do. A NULL
 * table (frozen) gets nothing. */
void medner__embed_backward(float *dword, float *dpos, float *dtype, const float *dout,
                            const int32_t *ids, const int32_t *type_ids,
                            const int32_t *positions, size_t n, size_t dim, int32_t pad_id);
/* Twin: per table row, the sum over its tokens in double. rows_* = table sizes. */
void medner__embed_backward_ref(float *dword, float *dpos, float *dtype, const float *dout,
                                const int32_t *ids, const int32_t *type_ids,
                                const int32_t *positions, size_t n, size_t dim, int32_t pad_id,
                                size_t rows_word, size_t rows_pos, size_t rows_type);

/* ---- thread-team forms -----------------------------------------------------------
 * The kernels above split over par's threads (par may be NULL): whole rows
 * (LayerNorm), whole 64-column groups of the LayerNorm parameter sums (each
 * column still summed over all rows in row order), 64-element chunks of the
 * element-wise ones (chunk starts are multiples of 64 from x, so a
 * vectorised kernel sees the same lanes as on the whole array). Bitwise the
 * single-threaded results for any thread count. medner__activate_par: the
 * forward activation in place (medner__gelu, _gelu_tanh, _relu; NONE: nothing). */
void medner__layernorm_train_par(medner__par *par, float *y, float *xhat, float *rstd,
                                 const float *x, const float *residual, const float *gamma,
                                 const float *beta, size_t rows, size_t cols, float eps);
void medner__layernorm_backward_par(medner__par *par, float *dv, float *dgamma, float *dbeta,
                                    const float *dy, const float *xhat, const float *rstd,
                                    const float *gamma, size_t rows, size_t cols);
/* y: the forward's output act(x) (medner__gelu's), or NULL. With GELU (erf),
 * y and AVX-512, the vector form: Phi(x) = y / x (1/2 at 0) and phi(x) from
 * a polynomial e^x (about 1 ulp): no erf per element; dx within 1e-5
 * relative or 1e-7 absolute of the twin (tested). Otherwise
 * medner__act_backward on each chunk. Either way independent of threads. */
void medner__act_backward_par(medner__par *par, float *dx, const float *dy, const float *x,
                              const float *y, size_t n, medner__epi act);
void medner__activate_par(medner__par *par, float *x, size_t n, medner__epi act);

/* ---- token-classification cross-entropy -----------------------------------------
 * Over logits[T, C] and labels[T] (each in [0, C) or ignore_index): returns
 * the SUM over the non-ignored tokens of logsumexp(logits) - logits[label]
 * (in double) and their number in *count (mean = sum / count, PyTorch's
 * CrossEntropyLoss(ignore_index=-100)). dlogits (NULL: loss only) =
 * (softmax(logits) - onehot(label)) * grad_scale on those tokens, 0 on the
 * ignored ones; grad_scale 1 / count gives the mean's gradient. Labels must
 * have been checked by the caller. */
double medner__cross_entropy(float *dlogits, const float *logits, const int32_t *labels, size_t T,
                             size_t C, int32_t ignore_index, float grad_scale, size_t *count);
double medner__cross_entropy_ref(float *dlogits, const float *logits, const int32_t *labels,
                                 size_t T, size_t C, int32_t ignore_index, float grad_scale,
                                 size_t *count);

#endif
