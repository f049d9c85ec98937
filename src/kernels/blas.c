/*
 * The fp32 products through OpenBLAS (MEDNER_GEMM=openblas, and the default
 * off x86-64, where medner's own kernel has no vectorised level): the
 * encoder's packed panels are unpacked to rows, cblas_sgemm computes
 * y = x . W^T + b with W used in place (row-major [N, K]: CblasTrans), and the
 * rows are packed back into panels for the rest of the forward pass.
 *
 * Determinism contract: OpenBLAS picks its kernels and its thread split from
 * the matrix sizes and its own thread count (OPENBLAS_NUM_THREADS), so a
 * row's result may change in the last bits with the number of rows in the
 * batch and with that thread count; for the same input batch and the same
 * settings it is repeatable. medner's own kernel (MEDNER_GEMM=own, the
 * default on x86-64) is bitwise independent of both (docs/precision.md).
 */
#include <dlfcn.h>
#include <string.h>
#include <stdatomic.h>

#include "kernels/kernels.h"

/* OpenBLAS is opened at run time, the first time an encoder asks for it:
 * linked in, its constructor starts a thread pool (and allocates its
 * buffers) in every process that loads medner, used or not -- and under a
 * tight address-space limit its threads spin for ever on a failed malloc and
 * the process hangs at exit. cblas_sgemm's C interface, as libopenblas.so.0
 * exports it (LP64: 32-bit int dimensions; CBLAS enum values). */
typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
#define OPENBLAS_SONAME "libopenblas.so.0"

static _Atomic(sgemm_fn) sgemm_ptr; /* NULL: static storage (an explicit NULL is not a constant for clang) */

int medner__blas_open(const char **why)
{
    if (atomic_load_explicit(&sgemm_ptr, memory_order_acquire) != NULL)
        return 0;
    void *h = dlopen(OPENBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        *why = OPENBLAS_SONAME " could not be opened (install Debian's libopenblas0)";
        return -1;
    }
    sgemm_fn f;
    void *sym = dlsym(h, "cblas_sgemm");
    if (sym == NULL) {
        *why = OPENBLAS_SONAME " has no cblas_sgemm";
        return -1; /* the handle stays open: dlclose of a thread-starting library is unsafe */
    }
    memcpy(&f, &sym, sizeof f);
    atomic_store_explicit(&sgemm_ptr, f, memory_order_release);
    return 0;
}

void medner__gemm_blas_panels(float *y, const float *xp, size_t M, size_t K,
                              const float *const *ws, const float *const *bs, size_t count,
                              size_t n_each, float *rows)
{
    size_t N = count * n_each;
    if (M == 0 || N == 0)
        return;
    float *xr = rows, *yr = rows + M * K;
    medner__unpack_panels(xr, K, xp, M, K);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < count; i++)
            for (size_t n = 0; n < n_each; n++)
                yr[m * N + i * n_each + n] = bs[i] ? bs[i][n] : 0.0f;
    sgemm_fn sgemm = atomic_load_explicit(&sgemm_ptr, memory_order_acquire);
    for (size_t i = 0; i < count; i++)
        sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)M, (int)n_each, (int)K, 1.0f, xr,
              (int)K, ws[i], (int)K, 1.0f, yr + i * n_each, (int)N);
    /* rows -> panels of N columns (the packed-x layout with K = N) */
    medner__gemm_pack(y, yr, N, M, N);
}
