/*
 * AdamW, the linear warm-up/decay schedule and global-norm gradient
 * clipping, with PyTorch's and Hugging Face's semantics (train.h).
 */
#include <math.h>
#include <string.h>

#include "train/train.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/dispatch.h"

/* The kernels' level (src/kernels/simd.c's one CPU probe): AVX-512 implies
 * the CPU and the OS run AVX-512F. */
static int adamw_avx512_ok(void) { return medner__kfns_get()->level >= MEDNER__ISA_AVX512; }

/* The loop of medner__adamw_update 16 elements at a time: the same
 * operations in the same order, each rounded once (no fused multiply-add),
 * so bitwise the scalar result. Returns the elements done. */
__attribute__((target("avx512f"))) static size_t adamw_avx512(
    float *p, const float *g, float *m, float *v, size_t n, float beta2, float eps,
    float weight_decay, float step_size, float bc2_sqrt, float decay, float omb1, float omb2,
    float clip)
{
    const __m512 vclip = _mm512_set1_ps(clip);
    const __m512 vb2 = _mm512_set1_ps(beta2), veps = _mm512_set1_ps(eps),
                 vss = _mm512_set1_ps(-step_size), vbc = _mm512_set1_ps(bc2_sqrt),
                 vdec = _mm512_set1_ps(decay), vo1 = _mm512_set1_ps(omb1),
                 vo2 = _mm512_set1_ps(omb2);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 pp = _mm512_loadu_ps(p + i), gg = _mm512_loadu_ps(g + i),
               mm = _mm512_loadu_ps(m + i), vv = _mm512_loadu_ps(v + i);
        if (clip != 1.0f)
            gg = _mm512_mul_ps(gg, vclip);
        if (weight_decay != 0.0f)
            pp = _mm512_mul_ps(pp, vdec);
        mm = _mm512_add_ps(mm, _mm512_mul_ps(vo1, _mm512_sub_ps(gg, mm)));
        vv = _mm512_add_ps(_mm512_mul_ps(vv, vb2), _mm512_mul_ps(_mm512_mul_ps(vo2, gg), gg));
        __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), vbc), veps);
        pp = _mm512_add_ps(pp, _mm512_mul_ps(vss, _mm512_div_ps(mm, den)));
        _mm512_storeu_ps(m + i, mm);
        _mm512_storeu_ps(v + i, vv);
        _mm512_storeu_ps(p + i, pp);
    }
    return i;
}

/* medner__grad_norm's eight double partial sums, eight lanes of one
 * register: lane k sums elements i with i % 8 == k in ascending i, each
 * square exact in double and added once, so bitwise the scalar loop.
 * Returns the elements done (a multiple of 8); part[] receives the lanes. */
__attribute__((target("avx512f"))) static size_t norm_avx512(const float *g, size_t n,
                                                              double part[8])
{
    __m512d acc = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
        acc = _mm512_add_pd(acc, _mm512_mul_pd(x, x));
    }
    _mm512_storeu_pd(part, acc);
    return i;
}
#endif

/* The loop of medner__adamw_update on g * clip (clip 1: g itself). */
static void adamw_range(float *p, const float *g, float *m, float *v, size_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, uint64_t step,
                        float clip)
{
    /* torch.optim.adamw single-tensor path: the scalars in double (Python
     * floats), the tensor arithmetic in fp32 */
    double bc1 = 1.0 - pow((double)beta1, (double)step);
    double bc2 = 1.0 - pow((double)beta2, (double)step);
    float step_size = (float)((double)lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)lr * (double)weight_decay);
    float omb1 = (float)(1.0 - (double)beta1), omb2 = (float)(1.0 - (double)beta2);
    size_t i = 0;
#if defined(__x86_64__)
    if (adamw_avx512_ok())
        i = adamw_avx512(p, g, m, v, n, beta2, eps, weight_decay, step_size, bc2_sqrt, decay,
                         omb1, omb2, clip);
#endif
    for (; i < n; i++) {
        float gi = clip != 1.0f ? g[i] * clip : g[i];
        if (weight_decay != 0.0f)
            p[i] *= decay;
        m[i] += omb1 * (gi - m[i]);
        v[i] = v[i] * beta2 + omb2 * gi * gi;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] += -step_size * (m[i] / denom);
    }
}

void medner__adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                          float beta1, float beta2, float eps, float weight_decay, uint64_t step)
{
    adamw_range(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, step, 1.0f);
}

double medner__lr_linear_warmup(uint64_t step, uint64_t warmup, uint64_t total)
{
    if (step < warmup)
        return (double)step / (double)(warmup ? warmup : 1);
    if (total == 0)
        return 1.0;
    double left = (double)total - (double)step, span = (double)(total > warmup ? total - warmup : 1);
    return left > 0 ? left / span : 0.0;
}

double medner__grad_norm(const float *g, size_t n)
{
    /* eight partial sums in double (element i into sum i % 8), then added in
     * order: a fixed order, so the same norm on every run and thread count;
     * eight chains instead of one keep the adds from waiting on each other */
    double part[8] = { 0 };
    size_t i = 0;
#if defined(__x86_64__)
    if (adamw_avx512_ok())
        i = norm_avx512(g, n, part);
#endif
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            part[k] += (double)g[i + k] * g[i + k];
    for (; i < n; i++)
        part[i % 8] += (double)g[i] * g[i];
    double s = 0;
    for (size_t k = 0; k < 8; k++)
        s += part[k];
    return sqrt(s);
}

/* The factor clip_grad_norm_ multiplies the gradients by: 1 when it leaves
 * them alone. */
static float clip_coef(double norm, float max_norm)
{
    if (max_norm > 0.0f) {
        float coef = (float)max_norm / ((float)norm + 1e-6f);
        if (coef < 1.0f)
            return coef;
    }
    return 1.0f;
}

double medner__clip_grad_norm(float *g, size_t n, float max_norm)
{
    double norm = medner__grad_norm(g, n);
    float coef = clip_coef(norm, max_norm);
    if (coef != 1.0f)
        for (size_t i = 0; i < n; i++)
            g[i] *= coef;
    return norm;
}

int medner__adamw_init(medner__adamw *o, const medner__tparams *t)
{
    memset(o, 0, sizeof *o);
    o->lr = 5e-5f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->max_grad_norm = 1.0f;
    o->m = medner__calloc(t->n ? t->n : 1, sizeof(float));
    o->v = medner__calloc(t->n ? t->n : 1, sizeof(float));
    o->decay = medner__calloc(t->n_slots ? t->n_slots : 1, 1);
    if (!o->m || !o->v || !o->decay) {
        medner__adamw_release(o);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "AdamW state: out of memory");
    }
    o->n_slots = t->n_slots;
    for (size_t s = 0; s < t->n_slots; s++)
        o->decay[s] = t->ndim[s] == 2; /* HF: no decay for biases and LayerNorm weights */
    return MEDNER_OK;
}

void medner__adamw_release(medner__adamw *o)
{
    medner__free(o->m);
    medner__free(o->v);
    medner__free(o->decay);
    o->m = o->v = NULL;
    o->decay = NULL;
}

/* AdamW over the thread team: thread tid updates the elements
 * [n tid / nt, n (tid + 1) / nt) of the flat parameter vector, slot by slot
 * (elementwise arithmetic: the same bits for any split). */
typedef struct adamw_job {
    const medner__adamw *o;
    medner__tparams *t;
    float lr, clip;
} adamw_job;

static void adamw_fn(void *arg, size_t tid, size_t nt, float *scratch)
{
    (void)scratch;
    const adamw_job *j = arg;
    const medner__adamw *o = j->o;
    medner__tparams *t = j->t;
    size_t lo = t->n * tid / nt, hi = t->n * (tid + 1) / nt;
    for (size_t s = 0; s < t->n_slots && lo < hi; s++) {
        size_t a = t->off[s], b = a + t->numel[s];
        if (b <= lo || a >= hi)
            continue;
        if (a < lo)
            a = lo;
        if (b > hi)
            b = hi;
        adamw_range(t->param + a, t->grad + a, o->m + a, o->v + a, b - a, j->lr, o->beta1,
                    o->beta2, o->eps, o->decay[s] ? o->weight_decay : 0.0f, o->step, j->clip);
    }
}

double medner__adamw_step_par(medner__adamw *o, medner__tparams *t, medner__par *par)
{
    /* the padding between tensors holds zero gradients: it adds nothing to
     * the norm */
    double norm = medner__grad_norm(t->grad, t->n);
    float lr = (float)((double)o->lr *
                       (o->total || o->warmup ? medner__lr_linear_warmup(o->step, o->warmup,
                                                                         o->total)
                                              : 1.0));
    o->step++;
    /* clip_grad_norm_'s factor applied as each gradient is read: the same
     * product g * coef as scaling t->grad in place first, one pass fewer */
    adamw_job j = { .o = o, .t = t, .lr = lr, .clip = clip_coef(norm, o->max_grad_norm) };
    if (par != NULL && medner__par_threads(par) > 1)
        medner__par_run(par, adamw_fn, &j);
    else
        adamw_fn(&j, 0, 1, NULL);
    return norm;
}

double medner__adamw_step(medner__adamw *o, medner__tparams *t)
{
    return medner__adamw_step_par(o, t, NULL);
}
