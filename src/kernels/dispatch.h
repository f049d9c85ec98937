/*
 * The kernels' dispatch table (private to src/kernels): the one mechanism by
 * which every kernel with instruction-set variants is chosen. One
 * medner__kfns per instruction-set level holds that level's tile sizes, the
 * entry points of every kernel that has per-level variants and the flags of
 * the choices made inside a level. Each kernel file fills its own fields of
 * a level's table (medner__gemm_kfns, medner__linear_kfns,
 * medner__pointwise_kfns, medner__qgemm_bf16_kfns, medner__qgemm_i8_kfns,
 * medner__bgemm_kfns, medner__backward_kfns, next to the kernels they point
 * to) from the one CPU probe (medner__cpu_features; the AMX tile permission
 * through medner__cpu_amx_permit); simd.c builds the three tables once,
 * chooses one from the CPU once per process, and again only when a test
 * forces a level (medner__kernels_set_isa). No other file asks the CPU. A
 * kernel entry point resolves the table once per call with
 * medner__kfns_get() (one atomic load of a pointer) and keeps what it needs
 * (MR, NR, the tile function) in locals for its loops.
 */
#ifndef MEDNER_KERNELS_DISPATCH_H
#define MEDNER_KERNELS_DISPATCH_H

#include <stdatomic.h>
#include <stddef.h>

#include "kernels/kernels.h"

/* gemm.c: one MR x NR register tile of y from a packed x panel (K x MR). */
typedef void (*medner__ktile_fn)(const medner__gemm_op *g, const float *panel, size_t m0,
                                 size_t mr, size_t n0, size_t nr);

/* qgemm_bf16.c, qgemm_i8.c: y = x . W^T + b in reduced precision (kernels.h). */
typedef void (*medner__qgemm_fn)(float *y, size_t ldy, const float *xp, size_t M,
                                 const medner__qweight *w, size_t n0, size_t n1, float *scratch);
struct medner__drop_job; /* backward.c */

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

    /* qgemm_bf16.c, qgemm_i8.c: the reduced-precision products (kernels.h,
     * medner__qgemm) at this level: the instruction-set kernel (native 1:
     * AVX512-BF16 vdpbf16ps, AVX512-VNNI vpdpbusd) at the AVX-512 level on a
     * CPU with the instruction, else the portable twin (native 0) */
    medner__qgemm_fn qgemm_bf16, qgemm_i8;
    int qgemm_bf16_native, qgemm_i8_native;
    /* qgemm_i8.c: the int8 weight packer (bitwise the same bytes either way) */
    int (*qpack_i8)(medner__qweight *out, const float *const *ws, const float *const *bs,
                    size_t count, size_t n_each, size_t K);

    /* bgemm.c: the bf16 training product's kernel (MEDNER__BGEMM_*), the
     * best the CPU and the OS's XCR0 allow, capped by MEDNER_BF16_GEMM (read
     * when the tables are built). A choice inside the level, made once; the
     * same in every level's table: the training products do not follow the
     * fp32 level. MEDNER__BGEMM_AMX still needs the process's tile
     * permission (medner__cpu_amx_permit, asked at the first AMX product);
     * AVX512-BF16 runs when it is refused. medner__bgemm_force overrides. */
    int bgemm;

    /* backward.c: inverted dropout of elements [i0, i1) of a job, and the
     * GELU (erf) backward's vector part (returns the elements it did, a
     * prefix; 0 at the levels without one) */
    void (*drop_range)(const struct medner__drop_job *j, size_t i0, size_t i1);
    size_t (*gelu_bwd)(float *dx, const float *dy, const float *x, const float *y, size_t n);
    /* s[n] += dy[m * lddy + n] for m = 0 .. M-1 in order, n < nn <= 64, in
     * double (the bias gradient's column sums; the same bits at every level) */
    void (*col_sums)(double *s, const float *dy, size_t lddy, size_t M, size_t nn);
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
void medner__qgemm_bf16_kfns(medner__kfns *t);
void medner__qgemm_i8_kfns(medner__kfns *t);
void medner__bgemm_kfns(medner__kfns *t);
void medner__backward_kfns(medner__kfns *t);

/* simd.c: AMX tile data for this process: asks Linux once (arch_prctl
 * ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA; process-wide, idempotent) and
 * caches the answer. 1 granted, 0 refused or not x86-64 Linux with GCC 11+.
 * Asked only when an AMX kernel is about to run (the permission enlarges
 * the process's signal frames), never by the CPU probe itself. */
int medner__cpu_amx_permit(void);

#endif
