/*
 * Instruction-set selection for the vectorised kernels (pointwise.c,
 * linear.c). Each such kernel is written once with GCC/Clang vector
 * extensions and compiled three times: x86-64 baseline (SSE2), AVX2+FMA and
 * AVX-512F; the best level the CPU supports runs. The level is fixed for the
 * life of the process (unless a test forces one), so results are
 * deterministic; tests/unit/test_kernels.c checks every level's accuracy.
 */
#include <stdatomic.h>

#include "kernels/kernels.h"

static _Atomic int forced_isa = MEDNER__ISA_AUTO;

static int cpu_isa(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    /* libgcc/compiler-rt fill the CPU model in a constructor; reading it is
     * a load and a bit test. */
    if (__builtin_cpu_supports("avx512f"))
        return MEDNER__ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return MEDNER__ISA_AVX2;
#endif
    return MEDNER__ISA_BASE;
}

int medner__kernels_isa(void)
{
    int cpu = cpu_isa();
    int f = atomic_load_explicit(&forced_isa, memory_order_relaxed);
    return f != MEDNER__ISA_AUTO && f < cpu ? f : cpu;
}

int medner__kernels_set_isa(int isa)
{
    if (isa < MEDNER__ISA_AUTO || isa > MEDNER__ISA_AVX512)
        isa = MEDNER__ISA_AUTO;
    atomic_store_explicit(&forced_isa, isa, memory_order_relaxed);
    return medner__kernels_isa();
}
