/*
 * medner__par: the threads of one execution context (the calling thread plus
 * workers it owns) and one scratch buffer per thread. Kernels split their
 * work into pieces whose results do not depend on which thread computes them,
 * so outputs are bitwise the same for any thread count.
 *
 * Dispatch: the caller publishes (fn, arg) and bumps a generation counter;
 * workers spin on it briefly (consecutive kernels of a forward pass follow
 * each other within microseconds) and then sleep on a condition variable, so
 * an idle context costs no CPU. Workers block every signal: the host's
 * signals go to the host's threads.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "kernels/kernels.h"

#define SPIN_ITERS 20000 /* ~ tens of microseconds of polling before sleeping */

struct medner__par {
    size_t n;                 /* threads, the caller included */
    size_t n_started;         /* workers actually running (n - 1 unless creation failed) */
    pthread_t *threads;
    float **scratch;          /* n aligned pointers into raw[] */
    void **raw;
    size_t scratch_floats;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    _Atomic unsigned gen;
    _Atomic size_t pending;
    int stop;
    medner__par_fn fn;
    void *arg;
};

struct worker_arg {
    medner__par *p;
    size_t tid;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *vp)
{
    medner__par *p = ((struct worker_arg *)vp)->p;
    size_t tid = ((struct worker_arg *)vp)->tid;
    medner__free(vp);
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int i = 0; g == seen && i < SPIN_ITERS; i++) {
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen && !p->stop)
                pthread_cond_wait(&p->cv_work, &p->mu);
            int stop = p->stop;
            pthread_mutex_unlock(&p->mu);
            if (stop && g == seen)
                return NULL;
        }
        seen = g;
        if (tid < p->n)
            p->fn(p->arg, tid, p->n, p->scratch[tid]);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void stop_workers(medner__par *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_started; i++)
        pthread_join(p->threads[i], NULL);
    p->n_started = 0;
}

int medner__par_create(medner__par **out, size_t threads)
{
    if (threads == 0)
        threads = 1;
    medner__par *p = medner__calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->threads = threads > 1 ? medner__calloc(threads - 1, sizeof *p->threads) : NULL;
    p->scratch = medner__calloc(threads, sizeof *p->scratch);
    p->raw = medner__calloc(threads, sizeof *p->raw);
    if ((threads > 1 && p->threads == NULL) || p->scratch == NULL || p->raw == NULL) {
        medner__free(p->threads);
        medner__free(p->scratch);
        medner__free(p->raw);
        medner__free(p);
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->gen, 0u);
    atomic_init(&p->pending, (size_t)0);
    /* Start the workers; if the system refuses some, run with fewer (results
     * are the same for any thread count, only slower). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    size_t started = 0;
    for (size_t i = 1; i < threads; i++) {
        struct worker_arg *wa = medner__malloc(sizeof *wa);
        if (wa == NULL)
            break;
        wa->p = p;
        wa->tid = i;
        if (pthread_create(&p->threads[started], NULL, worker_main, wa) != 0) {
            medner__free(wa);
            break;
        }
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    p->n_started = started;
    p->n = started + 1;
    *out = p;
    return 0;
}

void medner__par_free(medner__par *p)
{
    if (p == NULL)
        return;
    stop_workers(p);
    for (size_t i = 0; i < p->n; i++)
        medner__free(p->raw[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    medner__free(p->threads);
    medner__free(p->scratch);
    medner__free(p->raw);
    medner__free(p);
}

size_t medner__par_threads(const medner__par *p)
{
    return p ? p->n : 1;
}

int medner__par_reserve(medner__par *p, size_t floats)
{
    if (floats <= p->scratch_floats)
        return 0;
    size_t bytes;
    if (medner__mul_size(floats, sizeof(float), &bytes))
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        medner__free(p->raw[i]);
        p->raw[i] = NULL;
        p->scratch[i] = NULL;
    }
    p->scratch_floats = 0;
    for (size_t i = 0; i < p->n; i++) {
        p->scratch[i] = medner__malloc_aligned64(bytes, &p->raw[i]);
        if (p->scratch[i] == NULL)
            return -1;
    }
    p->scratch_floats = floats;
    return 0;
}

void medner__par_run(medner__par *p, medner__par_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1, p->scratch[0]);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1u, memory_order_release);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n, p->scratch[0]);
    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
        pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
