/*
 * Instruction-set selection for every kernel with variants (gemm.c,
 * linear.c, pointwise.c, qgemm_bf16.c, qgemm_i8.c, bgemm.c, backward.c): one
 * dispatch table per level (dispatch.h), built once; the best level the CPU
 * supports is chosen at the first kernel call and cached. The one CPU probe
 * is here too (medner__cpu_features: cpuid and the OS's xgetbv state, for
 * every feature any kernel needs; medner__cpu_amx_permit: the AMX tile
 * permission). The level is fixed for the life of the process (unless a
 * test forces one), so results are deterministic; tests/unit/test_kernels.c
 * checks every level's accuracy, test_kernels_dispatch.c the dispatch.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#  include <sys/syscall.h>
#  include <unistd.h>
#endif

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

static _Atomic int forced_isa = MEDNER__ISA_AUTO;
static _Atomic unsigned choices = 0;

static medner__kfns tables[MEDNER__ISA_AVX512 + 1];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
_Atomic(const medner__kfns *) medner__kfns_current; /* NULL (static storage) */

/* The best level the CPU (and the OS) supports. */
static int cpu_isa(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    unsigned f = medner__cpu_features();
    if (f & MEDNER__CPU_AVX512)
        return MEDNER__ISA_AVX512;
    if (f & MEDNER__CPU_AVX2)
        return MEDNER__ISA_AVX2;
#endif
    return MEDNER__ISA_BASE;
}

/* Table of the CPU's level, or of the forced level when lower; published. */
static const medner__kfns *choose(void)
{
    int cpu = cpu_isa();
    int f = atomic_load_explicit(&forced_isa, memory_order_relaxed);
    const medner__kfns *t = &tables[f != MEDNER__ISA_AUTO && f < cpu ? f : cpu];
    atomic_store_explicit(&medner__kfns_current, t, memory_order_release);
    atomic_fetch_add_explicit(&choices, 1u, memory_order_relaxed);
    return t;
}

/* Once per process: the three tables, then the first choice. */
static void init_once(void)
{
    static const char *const names[] = { "baseline", "avx2", "avx512" };
    for (int l = MEDNER__ISA_BASE; l <= MEDNER__ISA_AVX512; l++) {
        medner__kfns *t = &tables[l];
        memset(t, 0, sizeof *t);
        t->level = l;
        t->name = names[l];
        medner__gemm_kfns(t);
        medner__linear_kfns(t);
        medner__pointwise_kfns(t);
        medner__qgemm_bf16_kfns(t);
        medner__qgemm_i8_kfns(t);
        medner__bgemm_kfns(t);
        medner__backward_kfns(t);
    }
    choose();
}

const medner__kfns *medner__kfns_level(int level)
{
    pthread_once(&tables_once, init_once);
    if (level < MEDNER__ISA_BASE)
        level = MEDNER__ISA_BASE;
    return &tables[level > MEDNER__ISA_AVX512 ? MEDNER__ISA_AVX512 : level];
}

/* medner__kfns_get's first call (any thread): waits for init_once. */
const medner__kfns *medner__kfns_choose(void)
{
    pthread_once(&tables_once, init_once);
    return atomic_load_explicit(&medner__kfns_current, memory_order_acquire);
}

unsigned medner__kfns_choices(void)
{
    return atomic_load_explicit(&choices, memory_order_relaxed);
}

int medner__kernels_isa(void)
{
    return medner__kfns_get()->level;
}

int medner__kernels_set_isa(int isa)
{
    if (isa < MEDNER__ISA_AUTO || isa > MEDNER__ISA_AVX512)
        isa = MEDNER__ISA_AUTO;
    atomic_store_explicit(&forced_isa, isa, memory_order_relaxed);
    pthread_once(&tables_once, init_once);
    return choose()->level;
}

/* ---- CPU features ----------------------------------------------------------- */

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned detect_features(void)
{
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1;
    if (!osxsave)
        return 0;
    uint64_t xcr0 = xgetbv0();
    int ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
    int tile_os = (xcr0 & 0x60000) == 0x60000;
    unsigned max = (unsigned)__get_cpuid_max(0, NULL);
    if (max < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned b7 = b, c7 = c, d7 = d;
    __cpuid_count(7, 1, a, b, c, d);
    unsigned a71 = a;
    if (ymm_os && ((b7 >> 5) & 1) && fma)
        f |= MEDNER__CPU_AVX2;
    if (ymm_os && ((a71 >> 4) & 1))
        f |= MEDNER__CPU_AVX_VNNI;
    /* F (16), DQ (17), BW (30), VL (31) */
    if (zmm_os && (b7 & 0xc0030000u) == 0xc0030000u) {
        f |= MEDNER__CPU_AVX512;
        if ((c7 >> 11) & 1)
            f |= MEDNER__CPU_AVX512_VNNI;
        if ((a71 >> 5) & 1)
            f |= MEDNER__CPU_AVX512_BF16;
        if ((d7 >> 23) & 1)
            f |= MEDNER__CPU_AVX512_FP16;
    }
    if (tile_os && ((d7 >> 24) & 1)) {
        f |= MEDNER__CPU_AMX_TILE;
        if ((d7 >> 22) & 1)
            f |= MEDNER__CPU_AMX_BF16;
        if ((d7 >> 25) & 1)
            f |= MEDNER__CPU_AMX_INT8;
    }
    return f;
}
#else
static unsigned detect_features(void) { return 0; }
#endif

static _Atomic unsigned features_cache = 0x80000000u; /* not yet detected */

unsigned medner__cpu_features(void)
{
    unsigned f = atomic_load_explicit(&features_cache, memory_order_relaxed);
    if (f & 0x80000000u) {
        f = detect_features();
        atomic_store_explicit(&features_cache, f, memory_order_relaxed);
    }
    return f;
}

int medner__cpu_amx_permit(void)
{
#if defined(__x86_64__) && defined(__linux__) && defined(SYS_arch_prctl)
    static _Atomic int perm = 0; /* 0 not asked, 1 granted, 2 refused */
    int s = atomic_load_explicit(&perm, memory_order_acquire);
    if (s == 0) {
        /* ARCH_REQ_XCOMP_PERM (0x1023), XFEATURE_XTILEDATA (18): process-wide,
         * idempotent, so two threads racing here both get the same answer */
        long r = syscall(SYS_arch_prctl, 0x1023, 18);
        s = r == 0 ? 1 : 2;
        atomic_store_explicit(&perm, s, memory_order_release);
    }
    return s == 1;
#else
    return 0;
#endif
}

const char *medner__cpu_features_name(void)
{
    static const char *const names[] = { "avx2", "avx512", "avx512_vnni", "avx512_bf16",
                                         "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
                                         "avx512_fp16" };
    static _Thread_local char buf[128];
    unsigned f = medner__cpu_features();
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (!(f & (1u << i)))
            continue;
        size_t len = strlen(names[i]);
        if (n + len + 2 > sizeof buf)
            break;
        if (n)
            buf[n++] = ' ';
        memcpy(buf + n, names[i], len + 1);
        n += len;
    }
    return n ? buf : "baseline";
}
