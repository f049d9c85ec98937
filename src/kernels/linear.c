/*
 * Matrix products: nn.Linear (medner__linear) and multi-head attention
 * (medner__attention), on medner's own SGEMM (gemm.c), split across the
 * threads of a medner__par. Work is divided so that every output element is
 * computed by exactly the same instructions whatever the thread count:
 * linear layers by blocks of output columns (whole tiles), attention by
 * (sequence, head) pairs.
 *
 * Why not OpenBLAS: it packs (copies) the weight matrix on every call, which
 * cost ~23% of the SGEMM time of a 128-token BERT-base pass, and its
 * summation order changes with the row count and thread count, which forced
 * batch padding and K chunking to keep results batch-invariant. The own
 * kernel reads the memory-mapped weights in place and is batch- and
 * thread-invariant by construction (docs/kernels.md).
 */
#include <stdatomic.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

#define LINEAR_SMALL_N 64  /* own double-accumulating kernel at or below this many outputs */

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

/* This file's part of the dispatch table. */
void medner__linear_kfns(medner__kfns *t)
{
    switch (t->level) {
#if KX86
    case MEDNER__ISA_AVX512: t->small_linear = small_avx512; return;
    case MEDNER__ISA_AVX2: t->small_linear = small_avx2; return;
#endif
    default: t->small_linear = small_base; return;
    }
}

/* ---- public kernels ---------------------------------------------------------- */

size_t medner__linear_scratch(size_t K)
{
    return medner__gemm_scratch(K);
}

typedef struct linear_job {
    medner__linear_args a;
    _Atomic size_t next; /* dynamic split: the first row panel not yet taken */
} linear_job;

static void apply_act(medner__epi act, float *x, size_t n)
{
    switch (act) {
    case MEDNER__EPI_NONE: break;
    case MEDNER__EPI_GELU: medner__gelu(x, n); break;
    case MEDNER__EPI_GELU_TANH: medner__gelu_tanh(x, n); break;
    case MEDNER__EPI_RELU: medner__relu(x, n); break;
    }
}

/* Whether the LayerNorm after the product runs inside the blocks (panel
 * output; linear_block checks that a block holds whole rows). */
static int ln_in_blocks(const medner__linear_args *a) { return a->ln_gamma && a->y_panels; }

/* Rows [m0, m1) x columns [n0, n1) of the product, then the activation, then
 * (whole rows only) the LayerNorm. m0 is a multiple of MR. */
static void linear_block(const medner__linear_args *a, size_t m0, size_t m1, size_t n0, size_t n1,
                         float *scratch)
{
    if (m1 <= m0 || n1 <= n0)
        return;
    size_t MR = medner__gemm_tile_m(), M = m1 - m0;
    if (a->qw) {
        float *y = a->y + m0 * a->N;
        medner__qgemm(y, a->N * MR, a->x + m0 * a->K, M, a->qw, n0, n1, scratch);
        if (a->act != MEDNER__EPI_NONE)
            for (size_t p = 0; p < (M + MR - 1) / MR; p++)
                apply_act(a->act, y + p * a->N * MR + n0 * MR, (n1 - n0) * MR);
        if (ln_in_blocks(a) && n0 == 0 && n1 == a->N)
            medner__add_layernorm_panels(y, a->ln_residual ? a->ln_residual + m0 * a->N : NULL,
                                         a->ln_gamma, a->ln_beta, (M + MR - 1) / MR, a->N,
                                         a->ln_eps);
        return;
    }
    medner__gemm_op op = { .ymode = a->y_panels ? MEDNER__GEMM_PANELS : MEDNER__GEMM_ROWS,
                           .w = a->w, .ldw = a->K, .b = a->b, .ws = a->ws, .bs = a->bs,
                           .n_each = a->ws ? a->N / a->count : 0, .alpha = 1.0f, .M = M,
                           .K = a->K };
    op.y = a->y_panels ? a->y + m0 * a->N : a->y + m0 * a->ldy;
    op.ldy = a->y_panels ? a->N * MR : a->ldy;
    if (a->x_panels)
        op.xp = a->x + m0 * a->K;
    else {
        op.x = a->x + m0 * a->ldx;
        op.ldx = a->ldx;
    }
    medner__gemm(&op, n0, n1, scratch);
    if (a->act != MEDNER__EPI_NONE) {
        if (a->y_panels) /* each panel's columns [n0, n1) are contiguous */
            for (size_t p = 0; p < (M + MR - 1) / MR; p++)
                apply_act(a->act, op.y + p * op.ldy + n0 * MR, (n1 - n0) * MR);
        else
            for (size_t m = 0; m < M; m++)
                apply_act(a->act, op.y + m * op.ldy + n0, n1 - n0);
    }
    if (ln_in_blocks(a) && n0 == 0 && n1 == a->N) /* whole rows (m0 is a panel start) */
        medner__add_layernorm_panels(op.y, a->ln_residual ? a->ln_residual + m0 * a->N : NULL,
                                     a->ln_gamma, a->ln_beta, (M + MR - 1) / MR, a->N,
                                     a->ln_eps);
}

/* Thread tid of nt. Many rows: units of whole row panels taken in turn from
 * a shared counter, so a thread whose core is slowed down (shared machines)
 * takes fewer; each thread packs only the rows it takes and reads all of W;
 * units shrink towards the end (guided scheduling), so that no thread waits
 * for another's last large unit.
 * A few panels: a fixed range of row panels each; fewer still: a range of
 * whole column tiles each. Every element is computed by the same
 * instructions whichever thread takes it. */
#define LINEAR_UNITS_PER_THREAD 4
static void linear_part(void *arg, size_t tid, size_t nt, float *scratch)
{
    linear_job *j = arg;
    const medner__linear_args *a = &j->a;
    size_t MR = medner__gemm_tile_m(), NR = a->qw ? MEDNER__QNR : medner__gemm_tile_n();
    size_t panels = (a->M + MR - 1) / MR;
    if (nt > 1 && panels >= LINEAR_UNITS_PER_THREAD * nt) {
        /* guided: a unit is a share of the panels left, at most `most` (W is
         * read once per unit) and at least one, so the last units are small
         * and the threads finish together */
        size_t most = panels / (LINEAR_UNITS_PER_THREAD * nt);
        most = most > 4 ? 4 : most;
        size_t cur = atomic_load_explicit(&j->next, memory_order_relaxed), take;
        for (;;) {
            do {
                if (cur >= panels)
                    return;
                take = (panels - cur) / (2 * nt);
                take = take > most ? most : take < 1 ? 1 : take;
            } while (!atomic_compare_exchange_weak_explicit(&j->next, &cur, cur + take,
                                                            memory_order_relaxed,
                                                            memory_order_relaxed));
            size_t m0 = cur * MR, m1 = (cur + take) * MR;
            linear_block(a, m0, m1 < a->M ? m1 : a->M, 0, a->N, scratch);
            cur = atomic_load_explicit(&j->next, memory_order_relaxed);
        }
    }
    if (panels >= 2 * nt) {
        size_t m0 = panels * tid / nt * MR, m1 = panels * (tid + 1) / nt * MR;
        linear_block(a, m0, m1 < a->M ? m1 : a->M, 0, a->N, scratch);
    } else {
        size_t blocks = (a->N + NR - 1) / NR;
        size_t n0 = blocks * tid / nt * NR, n1 = blocks * (tid + 1) / nt * NR;
        linear_block(a, 0, a->M, n0, n1 < a->N ? n1 : a->N, scratch);
    }
}

/* The LayerNorm of ln_gamma after the whole product (rows out, or a column
 * split). */
static void post_layernorm(medner__par *par, const medner__linear_args *a)
{
    if (a->y_panels)
        medner__add_layernorm_panels_par(par, a->y, a->ln_residual, a->ln_gamma, a->ln_beta,
                                         a->M, a->N, a->ln_eps);
    else if (a->ldy == a->N)
        medner__add_layernorm_par(par, a->y, a->ln_residual, a->ln_gamma, a->ln_beta, a->M,
                                  a->N, a->ln_eps);
    else
        for (size_t m = 0; m < a->M; m++)
            medner__add_layernorm(a->y + m * a->ldy, a->ln_residual ? a->ln_residual + m * a->ldy
                                                                   : NULL,
                                  a->ln_gamma, a->ln_beta, 1, a->N, a->ln_eps);
}

void medner__linear_run(medner__par *par, const medner__linear_args *a)
{
    if (a->M == 0 || a->N == 0)
        return;
    size_t count = a->ws ? a->count : 1, n = a->N / count;
    if (a->blas_rows && !a->qw && a->x_panels && a->y_panels && a->K > 0) {
        const float *w1[1] = { a->w }, *b1[1] = { a->b };
        medner__gemm_blas_panels(a->y, a->x, a->M, a->K, a->ws ? a->ws : w1, a->ws ? a->bs : b1,
                                 count, n, a->blas_rows);
        if (a->act != MEDNER__EPI_NONE) {
            size_t MR = medner__gemm_tile_m();
            apply_act(a->act, a->y, (a->M + MR - 1) / MR * MR * a->N);
        }
        if (a->ln_gamma)
            post_layernorm(par, a);
        return;
    }
    if (!a->qw && !a->x_panels && !a->y_panels && n <= LINEAR_SMALL_N && a->K > 0) {
        /* the narrow kernel, one matrix at a time, on the calling thread */
        const medner__kfns *kf = medner__kfns_get();
        for (size_t i = 0; i < count; i++) {
            const float *w = a->ws ? a->ws[i] : a->w, *b = a->ws ? a->bs[i] : a->b;
            kf->small_linear(a->y + i * n, a->ldy, a->x, a->ldx, w, b, a->M, n, a->K);
            for (size_t m = 0; m < a->M; m++)
                apply_act(a->act, a->y + m * a->ldy + i * n, n);
        }
        if (a->ln_gamma)
            post_layernorm(par, a);
        return;
    }
    linear_job j = { *a, 0 };
    atomic_init(&j.next, (size_t)0);
    size_t MR = medner__gemm_tile_m(), nt = medner__par_threads(par);
    size_t panels = (a->M + MR - 1) / MR;
    int col_split = nt > 1 && panels < 2 * nt; /* linear_part splits columns: no whole rows */
    if (col_split)
        j.a.ln_gamma = NULL;
    medner__par_run(par, linear_part, &j);
    if (a->ln_gamma && (col_split || !a->y_panels))
        post_layernorm(par, a);
}

void medner__linear(medner__par *par, float *y, size_t ldy, const float *x, size_t ldx,
                    const float *w, const float *b, size_t M, size_t N, size_t K,
                    medner__epi act)
{
    medner__linear_args a = { .y = y, .ldy = ldy, .x = x, .ldx = ldx, .w = w, .b = b,
                              .M = M, .N = N, .K = K, .act = act };
    medner__linear_run(par, &a);
}

/* ---- attention ------------------------------------------------------------------ */

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

/* Queries per block: a block's scores (ATT_ROWS x L floats, 128 KiB at
 * L = 512) stay in L2 between the product that writes them, the softmax and
 * the product that reads them; a whole L x L score matrix (1 MiB at 512)
 * would not. A multiple of every level's panel height (32, 16, 8). */
#define ATT_ROWS 64
#define MR_MAX MEDNER__GEMM_MR_MAX

/* One (sequence, head)'s buffers, each 64-byte aligned: the keys as rows
 * (W of the scores), v transposed (W of the output; a row per dimension),
 * the queries as the sequence's own panels (x of the scores), a block's
 * scores and its output, both as panels. Keys and v^T keep the lanes of the
 * shared panels they come from: key i is row o + i (o = the sequence's
 * first row % MR), so they are copied by whole panel columns. */
typedef struct att_bufs {
    float *kr, *vt, *qp, *s, *op;
    size_t ldv;
} att_bufs;

static size_t att_span(size_t L) { return ALIGN16(L + 2 * MR_MAX); } /* >= the panels' rows */

static att_bufs att_layout(float *scratch, size_t L, size_t D)
{
    att_bufs b;
    size_t span = att_span(L);
    b.kr = scratch;
    b.vt = b.kr + span * D;
    b.ldv = span;
    b.qp = b.vt + D * span;
    b.s = b.qp + span * D;
    b.op = b.s + ALIGN16(ATT_ROWS * L);
    return b;
}

size_t medner__attention_scratch(size_t L, size_t D)
{
    return 3 * att_span(L) * D + ALIGN16(ATT_ROWS * L) + ALIGN16(ATT_ROWS * D);
}

#define ATT_ORDER_MAX 256
typedef struct attention_job {
    float *out;
    const float *qkv;
    const size_t *starts, *lens;
    size_t n_seqs, H, D;
    float scale;
    _Atomic size_t next; /* next (sequence, head) pair to take */
    size_t order[ATT_ORDER_MAX]; /* the sequences longest first (n_seqs <= ATT_ORDER_MAX) */
} attention_job;

/* One head of one sequence: out_h = softmax(scale q_h k_h^T) v_h, by blocks
 * of ATT_ROWS queries, every operand in the layout the product reads in
 * place: scores S = q k^T with the queries as packed x and the keys as W
 * rows, written as panels (a query per lane); the softmax runs down the
 * panels' lanes; out = S v with S as packed x and v^T as W rows, written as
 * panels and scattered into the shared output panels. Each score is
 * scale * (one FMA per d in order), each output one FMA per key in order:
 * a query's result does not depend on the block, the panel lane or the
 * thread it falls in. */
static void attention_head(const attention_job *j, size_t s, size_t h, float *scratch)
{
    size_t L = j->lens[s], D = j->D, r = j->starts[s], HD = j->H * D;
    if (L == 0)
        return;
    size_t MR = medner__gemm_tile_m(), o = r % MR, g0 = r / MR, g1 = (r + L - 1) / MR;
    size_t ldq = 3 * HD * MR, ldo = HD * MR;
    att_bufs b = att_layout(scratch, L, D);
    const float *q = j->qkv + h * D * MR, *k = q + HD * MR, *v = k + HD * MR;
    for (size_t g = g0; g <= g1; g++) {
        /* keys: panel columns [D][MR] -> rows [MR][D]; v: columns copied as they are */
        medner__transpose(b.kr + (g - g0) * MR * D, D, k + g * ldq, MR, D, MR);
        for (size_t d = 0; d < D; d++)
            memcpy(b.vt + d * b.ldv + (g - g0) * MR, v + g * ldq + d * MR, MR * sizeof(float));
    }
    medner__panels_gather(b.qp, q, ldq, D, r, L);
    const float *kr = b.kr + o * D, *vt = b.vt + o;
    for (size_t i0 = 0; i0 < L; i0 += ATT_ROWS) {
        size_t n = L - i0 < ATT_ROWS ? L - i0 : ATT_ROWS;
        medner__gemm_packed(b.s, L * MR, MEDNER__GEMM_PANELS, b.qp + i0 * D, n, D, kr, D, NULL,
                            j->scale, 0, L);
        medner__softmax_panels(b.s, (n + MR - 1) / MR, L);
        medner__gemm_packed(b.op, D * MR, MEDNER__GEMM_PANELS, b.s, n, L, vt, b.ldv, NULL, 1.0f,
                            0, D);
        medner__panels_scatter(j->out + h * D * MR, ldo, b.op, D, r + i0, n);
    }
}

/* (sequence, head) pairs taken in turn from a shared counter: a slowed-down
 * core takes fewer. */
static void attention_part(void *arg, size_t tid, size_t nt, float *scratch)
{
    (void)tid;
    (void)nt;
    attention_job *j = arg;
    size_t items = j->n_seqs * j->H;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (i >= items)
            return;
        size_t q = i / j->H;
        attention_head(j, j->n_seqs <= ATT_ORDER_MAX ? j->order[q] : q, i % j->H, scratch);
    }
}

void medner__attention(medner__par *par, float *out, const float *qkv, const size_t *starts,
                       const size_t *lens, size_t n_seqs, size_t H, size_t D, float scale)
{
    if (n_seqs == 0 || H == 0 || D == 0)
        return;
    attention_job j = { out, qkv, starts, lens, n_seqs, H, D, scale, 0, { 0 } };
    atomic_init(&j.next, (size_t)0);
    /* longest sequences first (a stable insertion sort): the pairs taken last
     * are the short ones, so the threads finish close together */
    for (size_t s = 0; s < n_seqs && n_seqs <= ATT_ORDER_MAX; s++) {
        size_t p = s;
        for (; p > 0 && lens[j.order[p - 1]] < lens[s]; p--)
            j.order[p] = j.order[p - 1];
        j.order[p] = s;
    }
    medner__par_run(par, attention_part, &j);
}

/* ---- row-parallel LayerNorm (rows or packed panels) ---------------------------- */

typedef struct ln_job {
    float *x;
    const float *residual, *gamma, *beta;
    size_t units, stride, cols; /* rows (stride cols) or panels (stride cols * MR) */
    float eps;
    int panels;
} ln_job;

static void ln_part(void *arg, size_t tid, size_t nt, float *scratch)
{
    (void)scratch;
    const ln_job *j = arg;
    size_t u0 = j->units * tid / nt, u1 = j->units * (tid + 1) / nt;
    if (u1 <= u0)
        return;
    float *x = j->x + u0 * j->stride;
    const float *r = j->residual ? j->residual + u0 * j->stride : NULL;
    if (j->panels)
        medner__add_layernorm_panels(x, r, j->gamma, j->beta, u1 - u0, j->cols, j->eps);
    else
        medner__add_layernorm(x, r, j->gamma, j->beta, u1 - u0, j->cols, j->eps);
}

void medner__add_layernorm_par(medner__par *par, float *x, const float *residual,
                               const float *gamma, const float *beta, size_t rows, size_t cols,
                               float eps)
{
    if (rows < 64 || medner__par_threads(par) == 1) {
        medner__add_layernorm(x, residual, gamma, beta, rows, cols, eps);
        return;
    }
    ln_job j = { x, residual, gamma, beta, rows, cols, cols, eps, 0 };
    medner__par_run(par, ln_part, &j);
}

void medner__add_layernorm_panels_par(medner__par *par, float *x, const float *residual,
                                      const float *gamma, const float *beta, size_t rows,
                                      size_t cols, float eps)
{
    size_t MR = medner__gemm_tile_m(), panels = (rows + MR - 1) / MR;
    if (panels < 2 || medner__par_threads(par) == 1) {
        medner__add_layernorm_panels(x, residual, gamma, beta, panels, cols, eps);
        return;
    }
    ln_job j = { x, residual, gamma, beta, panels, cols * MR, cols, eps, 1 };
    medner__par_run(par, ln_part, &j);
}

void medner__unpack_panels(float *dst, size_t ldd, const float *panels, size_t M, size_t C)
{
    size_t MR = medner__gemm_tile_m();
    for (size_t m0 = 0; m0 < M; m0 += MR) /* panel [C][MR] -> rows [MR][C] */
        medner__transpose(dst + m0 * ldd, ldd, panels + m0 * C, MR, C,
                          M - m0 < MR ? M - m0 : MR);
}
