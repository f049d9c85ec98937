/*
 * The kernels' dispatch table (private to src/kernels). One medner__kfns per
 * instruction-set level holds that level's tile sizes and the entry points of
 * every kernel that has per-level variants. Each kernel file fills its own
 * fields of a level's table (medner__gemm_kfns, medner__linear_kfns,
 * medner__pointwise_kfns, next to the kernels they point to); simd.c builds
 * the three tables once, chooses one from the CPU (medner__cpu_features)
 * once per process, and again only when a test forces a level
 * (medner__kernels_set_isa). A kernel entry point resolves the table once
 * per call with medner__kfns_get() (one atomic load of a pointer) and keeps
 * what it needs (MR, NR, the tile function) in locals for its loops.
 */
#ifndef MEDNER_KERNELS_DISPATCH_H
#define MEDNER_KERNELS_DISPATCH_H

#include <stdatomic.h>
#include <stddef.h>

#include "kernels/kernels.h"

/* gemm.c: one MR x NR register tile of y from a packed x panel (K x MR). */
typedef void (*medner__ktile_fn)(const medner__gemm_op *g, const float *panel, size_t m0,
                                 size_t mr, size_t n0, size_t nr);

typedef struct medner__kfns {
    int level;        /* MEDNER__ISA_BASE, _AVX2 or _AVX512 */
    const char *name; /* "baseline", "avx2", "avx512" */
    size_t mr, nr;    /* register tile of the fp32 product: rows of x (the panel height), W rows */

    /* gemm.c (the fp32 product and the panel layout; MR is passed to the
     * functions that are shared between levels, the AVX-512 ones ignore it) */
    medner__ktile_fn tile;
    /* rows [m0, m0 + mr) of g->x, transposed, into one zero-padded panel */
    void (*pack)(float *panel, const medner__gemm_op *g, size_t m0, size_t mr, size_t MR);
    void (*pack_t)(float *panels, const float *xt, size_t ldxt, size_t M, size_t K, size_t MR);
    void (*transpose)(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                      size_t cols);
    void (*gather)(float *own, const float *shared, size_t ld, size_t C, size_t row0, size_t n,
                   size_t MR);
    void (*scatter)(float *shared, size_t ld, const float *own, size_t C, size_t row0, size_t n,
                    size_t MR);

    /* linear.c: y[M,N] = x . W^T + b summed in double, N <= 64 */
    void (*small_linear)(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                         const float *b, size_t M, size_t N, size_t K);

    /* pointwise.c */
    void (*gelu)(float *x, size_t n);
    void (*gelu_tanh)(float *x, size_t n);
    void (*relu)(float *x, size_t n);
    void (*softmax)(float *x, size_t rows, size_t cols);
    void (*softmax_panels)(float *s, size_t panels, size_t n, size_t MR);
    void (*add_layernorm)(float *x, const float *res, const float *gamma, const float *beta,
                          size_t rows, size_t cols, float eps);
    void (*add_layernorm_panels)(float *x, const float *res, const float *gamma,
                                 const float *beta, size_t panels, size_t MR, size_t cols,
                                 float eps);

    /* Later: the reduced-precision products (qgemm_bf16.c, qgemm_i8.c) can
     * add their per-level kernels here (e.g. a bf16 and an int8 tile
     * function and a `native` flag per precision), filled by a
     * medner__qgemm_kfns(t) called from simd.c's build_tables; qgemm.c would
     * then call through the table instead of medner__qgemm_native(). */
} medner__kfns;

/* The table in use (never NULL). Chosen at the first call from the CPU and
 * the forced level, then cached; medner__kernels_set_isa re-chooses it. */
extern _Atomic(const medner__kfns *) medner__kfns_current;
/* The slow path: builds the tables and chooses, once per process. */
const medner__kfns *medner__kfns_choose(void);
static inline const medner__kfns *medner__kfns_get(void)
{
    /* acquire: the same plain load as relaxed on x86-64; it orders the reads
     * of the table after the store that published it */
    const medner__kfns *t = atomic_load_explicit(&medner__kfns_current, memory_order_acquire);
    return t ? t : medner__kfns_choose();
}
/* The table of a level (MEDNER__ISA_BASE .. _AVX512), chosen or not (tests). */
const medner__kfns *medner__kfns_level(int level);
/* How many times a table has been chosen in this process (tests: once, plus
 * once per medner__kernels_set_isa). */
unsigned medner__kfns_choices(void);

/* Each file's part of a level's table (t->level is set). */
void medner__gemm_kfns(medner__kfns *t);
void medner__linear_kfns(medner__kfns *t);
void medner__pointwise_kfns(medner__kfns *t);

#endif
