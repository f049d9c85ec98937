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
 * the row's position in the buffer and the thread count. Results are per
 * instruction-set level (FMA or not), which is fixed per process.
 * Depends on common/ and pthreads; OpenBLAS's cblas_sgemm is opened at run
 * time for MEDNER_GEMM=openblas and off x86-64 (blas.c).
 */
#ifndef MEDNER_KERNELS_H
#define MEDNER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ---- threads: medner__par ---------------------------------------------------
 * The threads of one execution context: the calling thread plus workers it
 * owns, and one scratch buffer (64-byte aligned floats) per thread. Kernels
 * that take a medner__par split their work so that every output element is
 * computed by the same instructions whatever the thread count (par.c). */
typedef struct medner__par medner__par;
/* fn runs once on each of the nt threads (tid 0 is the caller) with that
 * thread's scratch buffer. */
typedef void (*medner__par_fn)(void *arg, size_t tid, size_t nt, float *scratch);
/* threads >= 1 (0 means 1). When the system refuses to start some workers,
 * the par runs with fewer (same results). Returns 0, or -1 out of memory. */
int medner__par_create(medner__par **out, size_t threads);
void medner__par_free(medner__par *par);
size_t medner__par_threads(const medner__par *par);
/* Make each thread's scratch hold at least `floats` floats (contents lost
 * when it grows). Returns 0, or -1 out of memory (scratch then empty). */
int medner__par_reserve(medner__par *par, size_t floats);
/* Run fn on every thread and wait for all. Not reentrant; one caller at a time. */
void medner__par_run(medner__par *par, medner__par_fn fn, void *arg);

/* ---- matrix products -------------------------------------------------------- */

/* Columns [n0, n1) of y[M, N] = alpha * (x[M,K] . W[N,K]^T) + b[N] (b may be
 * NULL; alpha multiplies after the bias is added, use it without bias).
 * ldx, ldw, ldy: row strides in floats. scratch: medner__gemm_scratch(K)
 * floats, 64-byte aligned. Each y[m][n] is b[n] then one fused
 * multiply-add per k in ascending order (multiply and add on the baseline
 * ISA), so it depends only on row m of x and row n of W (gemm.c). */
void medner__gemm_cols(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                       size_t ldw, const float *b, float alpha, size_t M, size_t n0, size_t n1,
                       size_t K, float *scratch);
size_t medner__gemm_scratch(size_t K);
/* Layouts of a product's output y[M][N]:
 *   MEDNER__GEMM_ROWS        y[m * ldy + n]
 *   MEDNER__GEMM_TRANSPOSED  y[n * ldy + m]
 *   MEDNER__GEMM_PANELS      y[(m / MR) * ldy + n * MR + m % MR], MR =
 *                            medner__gemm_tile_m(): the packed-x layout itself
 *                            (ldy = N * MR makes y the panels of the next product
 *                            with K = N). Whole panels are written, rows past M
 *                            included (ceil(M / MR) * MR rows of storage). */
enum { MEDNER__GEMM_ROWS = 0, MEDNER__GEMM_TRANSPOSED = 1, MEDNER__GEMM_PANELS = 2 };
/* The largest MR of any instruction-set level (for sizing panel buffers). */
#define MEDNER__GEMM_MR_MAX 32

/* The general product, every combination of the above: y (any layout) =
 * alpha * (x . W^T) + b for columns [n0, n1), x as rows (x, ldx) or as
 * packed panels (xp != NULL, panel stride K * MR), W one matrix (w, b, ldw)
 * or up to three stacked along N (ws != NULL: rows [i n_each, (i+1) n_each)
 * are ws[i] with bias bs[i], which may be NULL; a tile may straddle two).
 * Zero-initialise and set what applies. scratch: medner__gemm_scratch(K)
 * floats when x is given as rows. Every element is computed with exactly the
 * instructions of medner__gemm_cols. */
typedef struct medner__gemm_op {
    float *y;
    size_t ldy;
    int ymode;
    const float *x;
    size_t ldx;
    const float *xp;
    const float *w;
    size_t ldw;
    const float *b;
    const float *const *ws, *const *bs;
    size_t n_each;
    float alpha;
    size_t M, K;
} medner__gemm_op;
void medner__gemm(const medner__gemm_op *op, size_t n0, size_t n1, float *scratch);

/* The same product with x packed beforehand, for an x reused against many
 * W (attention: a head's keys against every block of queries) or produced
 * packed (MEDNER__GEMM_PANELS with ldy = K * MR).
 * medner__gemm_pack packs x[M,K] (row stride ldx); medner__gemm_pack_t packs
 * x given transposed, xt[K,M] (x[m][k] = xt[k * ldxt + m]); both into
 * medner__gemm_packed_size(M, K) floats, 64-byte aligned (panel p of MR rows
 * at panels + p * MR * K). medner__gemm_packed computes columns [n0, n1) of
 * alpha * (x . W^T) + b into y laid out as ymode says; every element is
 * computed exactly as by medner__gemm_cols. */
size_t medner__gemm_packed_size(size_t M, size_t K);
void medner__gemm_pack(float *panels, const float *x, size_t ldx, size_t M, size_t K);
void medner__gemm_pack_t(float *panels, const float *xt, size_t ldxt, size_t M, size_t K);
void medner__gemm_packed(float *y, size_t ldy, int ymode, const float *panels, size_t M, size_t K,
                         const float *w, size_t ldw, const float *b, float alpha, size_t n0,
                         size_t n1);
/* Rows [row0, row0 + n) of C columns between shared panels (row t, column c
 * at shared[(t / MR) * ld + c * MR + t % MR], ld >= C * MR) and a sequence's
 * own panels (its row i at own[(i / MR) * C * MR + c * MR + i % MR], 64-byte
 * aligned, ceil(n / MR) panels). gather fills own's lanes past n with 0;
 * scatter writes only the n rows' lanes of shared (other rows' lanes in the
 * same panels are not touched, so threads may scatter disjoint rows of one
 * panel at once). Exact copies. */
void medner__panels_gather(float *own, const float *shared, size_t ld, size_t C, size_t row0,
                           size_t n);
void medner__panels_scatter(float *shared, size_t ld, const float *own, size_t C, size_t row0,
                            size_t n);
/* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (exact copy). */
void medner__transpose(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                       size_t cols);
/* Output columns / rows per register tile at the current ISA level (thread
 * splits are made of whole tiles). */
size_t medner__gemm_tile_n(void);
size_t medner__gemm_tile_m(void);

/* The same product through OpenBLAS's cblas_sgemm (blas.c; MEDNER_GEMM=openblas):
 * y panels (stride N * MR) = x . W^T + b for rows [0, M), x as panels (stride
 * K * MR), W stacked as in medner__gemm_op (count matrices of n_each rows,
 * biases bs[i] may be NULL). rows: M * (K + N) floats of scratch (the
 * unpacked x and y). Not batch- or thread-invariant (blas.c). */
/* Open OpenBLAS (dlopen of libopenblas.so.0, once per process; blas.c says
 * why it is not linked). Returns 0, or -1 with *why set (static string).
 * medner__gemm_blas_panels may be called only after it returned 0. */
int medner__blas_open(const char **why);
void medner__gemm_blas_panels(float *y, const float *xp, size_t M, size_t K,
                              const float *const *ws, const float *const *bs, size_t count,
                              size_t n_each, float *rows);

/* Activation applied to a linear layer's output. */
typedef enum medner__epi {
    MEDNER__EPI_NONE = 0,
    MEDNER__EPI_GELU,      /* erf */
    MEDNER__EPI_GELU_TANH, /* gelu_new / gelu_pytorch_tanh */
    MEDNER__EPI_RELU
} medner__epi;

/* y[M,N] = act(x[M,K] . W[N,K]^T + b[N])   (PyTorch nn.Linear layout: W is
 * [out,in], used in place). ldx/ldy: row strides of x and y in floats
 * (>= K, >= N). b may be NULL; y must not alias x or W. par's scratch must
 * hold medner__linear_scratch(K) floats per thread. N <= 64 (classifier
 * heads): own kernel summing in double, on the calling thread. Row-stable:
 * each row bitwise independent of M, of its position and of the thread
 * count. */
void medner__linear(medner__par *par, float *y, size_t ldy, const float *x, size_t ldx,
                    const float *w, const float *b, size_t M, size_t N, size_t K,
                    medner__epi act);
/* The general form of medner__linear.
 * ws != NULL: count linear layers on the same x at once (Q, K and V): y
 *   columns [i n_each, (i+1) n_each) = act(x . ws[i]^T + bs[i]), N = count *
 *   n_each, each ws[i] [n_each, K] with row stride K (w, b unused): x read
 *   once, one dispatch instead of count; bitwise the same as count calls.
 * x_panels: x given as MEDNER__GEMM_PANELS with panel stride K * MR (ldx
 *   unused); y_panels: y written so, stride N * MR (ldy unused): one layer's
 *   panel output is the next one's panel input, with no packing and no
 *   transposes in between. Panel buffers hold ceil(M / MR) * MR rows,
 *   64-byte aligned.
 * With rows in and out, n_each (or N) <= 64 uses the narrow kernel (as
 * medner__linear); with panels the tiled product always, whose every element
 * equals medner__linear's tiled result bitwise (row-stable, thread-count
 * independent).
 * ln_gamma != NULL: then y = LayerNorm(y + ln_residual) * ln_gamma + ln_beta
 *   (medner__add_layernorm(_panels) with ln_eps; ln_residual in y's layout
 *   and stride, may be NULL; ln_beta required), bitwise the same as calling
 *   it after the product. With y_panels and a split by rows (every split but
 *   the column split of very few rows), each thread normalises its rows as
 *   soon as they are complete, while they are still in its cache. */
typedef struct medner__linear_args {
    float *y;
    size_t ldy;
    int y_panels;
    const float *x;
    size_t ldx;
    int x_panels;
    const float *w, *b;
    const float *const *ws, *const *bs;
    size_t count;
    size_t M, N, K;
    medner__epi act;
    const float *ln_residual, *ln_gamma, *ln_beta;
    float ln_eps;
    /* qw != NULL: the product in reduced precision with these converted
     *   weights (w, b, ws, bs unused; x_panels and y_panels required); whole
     *   tiles of MEDNER__QNR columns per thread in a column split. */
    const struct medner__qweight *qw;
    /* blas_rows != NULL (and qw NULL, panels in and out): the fp32 product
     *   through OpenBLAS on the calling thread (medner__gemm_blas_panels),
     *   with M * (K + N) floats of scratch here. */
    float *blas_rows;
} medner__linear_args;
void medner__linear_run(medner__par *par, const medner__linear_args *a);
size_t medner__linear_scratch(size_t K);
/* Double-accumulating reference (no activation). */
void medner__linear_ref(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                        const float *b, size_t M, size_t N, size_t K);

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
/* medner__softmax of every lane of `panels` packed panels of n columns
 * (s[p * n * MR + j * MR + lane], MR = medner__gemm_tile_m()): lane-wise the
 * same formula and bounds; the sum over a lane's n values runs in another
 * order than the row form's, so results may differ from it in the last bit.
 * Lanes are independent (a lane's result depends on its own n values). */
void medner__softmax_panels(float *s, size_t panels, size_t n);

/* Multi-head scaled dot-product attention for n_seqs packed sequences
 * (no padding: every key of a sequence is visible to its queries), on packed
 * panels (MEDNER__GEMM_PANELS at the current level's MR):
 *   qkv: ceil(T / MR) panels of 3 H D columns, Q | K | V (head h at columns
 *        h D .. of each), panel stride 3 H D MR: the stacked Q/K/V product's
 *        y_panels output;
 *   out: the same rows, H D columns (head h at h D ..), panel stride H D MR:
 *        the next product's x_panels input;
 *   sequence s = rows [starts[s], starts[s] + lens[s]); sequences may start
 *   anywhere in a panel. Only the sequences' rows of out are written.
 * out_h = softmax(q_h k_h^T * scale) v_h, scale = 1/sqrt(D) usually.
 * (sequence, head) pairs are spread over par's threads; each needs
 * medner__attention_scratch(L, D) floats of scratch for the longest L. The
 * result depends on the sequence only (not on the other sequences, where its
 * rows sit, or the thread count). */
void medner__attention(medner__par *par, float *out, const float *qkv, const size_t *starts,
                       const size_t *lens, size_t n_seqs, size_t H, size_t D, float scale);
size_t medner__attention_scratch(size_t L, size_t D);
/* Reference for ONE sequence of L tokens (rows 0..L-1), double accumulation. */
void medner__attention_ref(float *out, size_t ldo, const float *q, const float *k,
                           const float *v, size_t ld, size_t L, size_t H, size_t D, float scale);

/* medner__add_layernorm on `panels` packed panels (MEDNER__GEMM_PANELS with
 * ldy = cols * MR; residual, if any, in the same layout): every lane of
 * every panel. Same formula and double accumulation as the row form, whose
 * results it matches to the last bit or within one fp32 rounding (the
 * double sums run in another order); row-stable. */
void medner__add_layernorm_panels(float *x, const float *residual, const float *gamma,
                                  const float *beta, size_t panels, size_t cols, float eps);
/* medner__add_layernorm_panels for the ceil(rows / MR) panels of `rows` rows,
 * split across par's threads by panels (same results). */
void medner__add_layernorm_panels_par(medner__par *par, float *x, const float *residual,
                                      const float *gamma, const float *beta, size_t rows,
                                      size_t cols, float eps);
/* Rows from packed panels: dst[m * ldd + c] = panel element (m, c), m < M,
 * c < C (panel stride C * MR). */
void medner__unpack_panels(float *dst, size_t ldd, const float *panels, size_t M, size_t C);

/* medner__add_layernorm over rows split across par's threads (same results). */
void medner__add_layernorm_par(medner__par *par, float *x, const float *residual,
                               const float *gamma, const float *beta, size_t rows, size_t cols,
                               float eps);

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

/* ---- reduced-precision products: bf16 and int8 (qgemm*.c) --------------------
 * y = x . W^T + b for the encoder's linear layers at a load-time precision.
 * W is converted once (medner__qweight_pack) into tiles of MEDNER__QNR output
 * columns; x, given as fp32 packed panels (MEDNER__GEMM_PANELS at the current
 * level's MR), is converted on the fly, row by row; y is written as fp32
 * panels. Everything after the product (bias, activation, LayerNorm,
 * softmax, attention, the classifier) stays fp32.
 *
 * bf16 (AVX512-BF16 vdpbf16ps where the CPU has it):
 *   x and W rounded to bf16 (round to nearest even, overflow to inf; NaN
 *   stays NaN, its top 16 bits with the quiet bit set; subnormal inputs
 *   become 0 of the same sign, as vcvtne2ps2bf16 does). acc = b[n] (a
 *   subnormal b counts as 0 of its sign); then for each pair of k (2j,
 *   2j+1), in ascending j: acc += x[2j+1] w[2j+1], then acc += x[2j] w[2j]
 *   (the odd, high-half product FIRST), each product exact (neither rounded
 *   nor flushed), each add rounded once to nearest even in fp32 and its
 *   result flushed to 0 of its sign when tiny after rounding (|result
 *   rounded to 24 bits, unbounded exponent| < FLT_MIN); y = acc. This is
 *   vdpbf16ps as measured on AMD Zen 4 (qgemm_bf16.c lists the probes);
 *   the portable twin repeats it bitwise except for which NaN payload a NaN
 *   result carries.
 * int8 (AVX512-VNNI vpdpbusd where the CPU has it), the scheme of ONNX
 *   Runtime's quantize_dynamic with symmetric per-row activation scales:
 *   weights per output channel: a = max_k |W[n][k]|, sw[n] = a / 127,
 *     q = rint(W[n][k] * (127 / a)) clamped to [-127, 127] (row of zeros:
 *     sw 0, q 0);
 *   activations per row m (over its K values): a = max |x[m][k]|,
 *     sx[m] = a / 127, u = rint(x * (127 / a)) clamped to [-127, 127], plus
 *     128 (an unsigned byte); a row of zeros: sx 0, u 128; a row holding
 *     inf or NaN: sx NaN (its outputs are NaN);
 *   acc = sum_k u[m][k] q[n][k] in int32 (exact: K <= MEDNER__QI8_MAX_K);
 *   y = (float)(acc - comp[n]) * (sx[m] * sw[n]) + b[n], comp[n] = 128 *
 *   sum_k q[n][k], each operation rounded to fp32 (no FMA).
 * Every y[m][n] depends only on row m of x and row n of W: bitwise the same
 * whatever M, the row's position, the thread count and the column split
 * (whole tiles). The SIMD kernels and their portable twins
 * (medner__qgemm_portable) give bitwise equal results (bf16: NaN payloads
 * aside); the portable twin runs
 * where the CPU lacks the instruction. */
enum { MEDNER__PREC_FP32 = 0, MEDNER__PREC_BF16 = 1, MEDNER__PREC_INT8 = 2 };
#define MEDNER__QNR 12                    /* output columns per weight tile */
#define MEDNER__QI8_MAX_K ((size_t)65536) /* int8: largest K whose sums fit int32 */

typedef struct medner__qweight {
    int prec;       /* MEDNER__PREC_BF16 or MEDNER__PREC_INT8 */
    size_t N, K;    /* W is [N, K] */
    size_t kg;      /* k groups: ceil(K / 2) (bf16) or ceil(K / 4) (int8) */
    /* ceil(N / QNR) tiles, 64-byte aligned; tile t at data + t * kg * QNR * 4
     * bytes; in a tile, group g, column j (0 <= j < QNR) is the 4 bytes at
     * (g * QNR + j) * 4: the group's values of W row t * QNR + j (bf16: two
     * uint16, k = 2g in the low half; int8: four int8, byte i is k = 4g + i).
     * Zero past N and past K. */
    void *data;
    float *bias;    /* ceil(N / QNR) * QNR floats: b (0 where absent or past N) */
    float *scale;   /* int8: sw[n], same length; NULL for bf16 */
    int32_t *comp;  /* int8: 128 * sum_k q[n][k], same length; NULL for bf16 */
    void *raw;      /* the allocation behind data (freed by medner__qweight_free) */
} medner__qweight;

/* Convert W for the product: rows [i n_each, (i + 1) n_each) of the packed
 * matrix are ws[i] ([n_each, K], row stride K) with bias bs[i] (NULL: none),
 * i < count (count 1 for a plain layer, 3 for Q|K|V stacked). N = count *
 * n_each. Returns 0; -1 out of memory; -2 prec unknown, or int8 with K >
 * MEDNER__QI8_MAX_K. *out is filled only on success. */
int medner__qweight_pack(medner__qweight *out, int prec, const float *const *ws,
                         const float *const *bs, size_t count, size_t n_each, size_t K);
/* Free what medner__qweight_pack allocated (a zeroed struct is a no-op). */
void medner__qweight_free(medner__qweight *w);
/* Columns [n0, n1) of y = x . W^T + b for rows [0, M): x as fp32 panels
 * (panel stride K * MR, rows past M ignored), y as fp32 panels (panel stride
 * ldy floats; whole panel columns written, rows past M included). n0 is a
 * multiple of MEDNER__QNR; n1 one too, or N. scratch: medner__qgemm_scratch(prec, K)
 * floats, 64-byte aligned. Uses the CPU's instruction when it has it and the
 * level is AVX-512, else medner__qgemm_portable. */
void medner__qgemm(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                   size_t n0, size_t n1, float *scratch);
/* The portable twin (plain C, any level's MR): bitwise equal results. */
void medner__qgemm_portable(float *y, size_t ldy, const float *xp, size_t M,
                            const medner__qweight *w, size_t n0, size_t n1, float *scratch);
size_t medner__qgemm_scratch(int prec, size_t K);
/* 1 if medner__qgemm runs an instruction-set kernel for prec now, else 0. */
int medner__qgemm_native(int prec);
/* Name of the kernels the products of prec run on now: the dispatch
 * table's level name for fp32 ("avx512", "avx2", "baseline"), else
 * "avx512_bf16" / "avx512_vnni", or "portable" without the instruction
 * (static strings). */
const char *medner__qgemm_kernels_name(int prec);

/* CPU features (cpuid + the OS's xgetbv state; 0 off x86). */
enum {
    MEDNER__CPU_AVX2 = 1 << 0,        /* AVX2 + FMA */
    MEDNER__CPU_AVX512 = 1 << 1,      /* AVX-512 F, BW, VL, DQ */
    MEDNER__CPU_AVX512_VNNI = 1 << 2,
    MEDNER__CPU_AVX512_BF16 = 1 << 3,
    MEDNER__CPU_AVX_VNNI = 1 << 4,
    MEDNER__CPU_AMX_TILE = 1 << 5,
    MEDNER__CPU_AMX_BF16 = 1 << 6,
    MEDNER__CPU_AMX_INT8 = 1 << 7,
    MEDNER__CPU_AVX512_FP16 = 1 << 8
};
unsigned medner__cpu_features(void);
/* "avx512f avx512_vnni ..." for messages and benchmarks (static string). */
const char *medner__cpu_features_name(void);

/* Instruction-set level of the vectorised kernels (the SGEMM, gelu,
 * gelu_tanh, relu, softmax, add_layernorm, linear with N <= 64, the bf16
 * and int8 products, the backward kernels with variants; the bf16 training
 * product's kernel is a choice of its own, bgemm.h). They are built for
 * each level and reached through one dispatch table per level, chosen once
 * per process from medner__cpu_features() (simd.c, dispatch.h;
 * docs/kernels.md). The AVX builds fuse
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
