/*
 * Training, phase 1 (issue 18): backward kernels, the model backward pass
 * and AdamW, against PyTorch autograd.
 *
 * Goldens: tests/data/train/{bert,minilm,distilbert}/ written by
 * tests/reference/make_train_goldens.py (tiny BERT, MiniLM- and
 * DistilBERT-shaped token classifiers, one padded batch with -100 labels;
 * README.md there). Checks:
 *  - every backward kernel against its plain reference twin (fast vs ref)
 *    and against central finite differences of an independent
 *    double-precision forward written here;
 *  - loss within 1e-6 relative and EVERY parameter's gradient within 1e-4
 *    relative or 1e-6 absolute of autograd, for the three shapes; the same
 *    gradients bitwise with 1 and 3 threads;
 *  - 4 AdamW steps (warm-up, linear decay, clipping, no-decay mask) against
 *    torch.optim.AdamW: losses, gradient norms and every parameter after;
 *  - dropout masks bitwise identical across thread counts and reruns, in the
 *    kernel and through the whole model;
 *  - gradient accumulation of two half-batches equals the full batch;
 *  - bad batches get an error naming the sequence and token.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/backward.h"
#include "medner.h"
#include "model/model.h"
#include "train/train.h"

#define DATA "tests/data/train"

/* ---- helpers ---------------------------------------------------------------------- */

static uint64_t g_rng = 0x1234567;

static double urand(void) /* [0, 1) */
{
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_rng >> 11) * 0x1p-53;
}

static void fill(float *x, size_t n, double a)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2 * urand() - 1) * a);
}

static float *fa(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

/* max over i of |a - b| / (abs + rel |b|): <= 1 passes */
static double worst(const float *a, const float *b, size_t n, double rel, double abs_tol)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (abs_tol + rel * fabs((double)b[i]));
        if (!(d <= w))
            w = isnan(d) ? INFINITY : d;
    }
    return w;
}

#define CHECK_CLOSE(a, b, n, rel, abs_tol, what)                                              \
    do {                                                                                      \
        double w_ = worst((a), (b), (n), (rel), (abs_tol));                                   \
        if (!(w_ <= 1.0))                                                                     \
            fail_msg("%s: %.3g times the tolerance (rel %g, abs %g)", (what), w_, (rel),      \
                     (double)(abs_tol));                                                      \
    } while (0)

/* ---- independent double forwards for the finite differences ----------------------------- */

/* f = sum r . y of each op; the gradient of f with respect to an input is what
 * the backward kernels compute with dy = r. */

static double f_linear(const double *x, const double *w, const double *b, const float *r,
                       size_t M, size_t N, size_t K)
{
    double f = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double y = b[n];
            for (size_t k = 0; k < K; k++)
                y += x[m * K + k] * w[n * K + k];
            f += r[m * N + n] * y;
        }
    return f;
}

static double f_layernorm(const double *x, const double *res, const double *g, const double *b,
                          const float *r, size_t rows, size_t cols, double eps)
{
    double f = 0;
    for (size_t i = 0; i < rows; i++) {
        double mean = 0, var = 0;
        for (size_t c = 0; c < cols; c++)
            mean += x[i * cols + c] + res[i * cols + c];
        mean /= (double)cols;
        for (size_t c = 0; c < cols; c++) {
            double d = x[i * cols + c] + res[i * cols + c] - mean;
            var += d * d;
        }
        var /= (double)cols;
        for (size_t c = 0; c < cols; c++)
            f += r[i * cols + c] *
                 ((x[i * cols + c] + res[i * cols + c] - mean) / sqrt(var + eps) * g[c] + b[c]);
    }
    return f;
}

static double act_d(double x, medner__epi act)
{
    switch (act) {
    case MEDNER__EPI_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case MEDNER__EPI_GELU_TANH:
        return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case MEDNER__EPI_RELU: return x > 0 ? x : 0;
    default: return x;
    }
}

static double f_softmax(const double *x, const float *r, size_t rows, size_t cols)
{
    double f = 0;
    for (size_t i = 0; i < rows; i++) {
        double s = 0;
        for (size_t c = 0; c < cols; c++)
            s += exp(x[i * cols + c]);
        for (size_t c = 0; c < cols; c++)
            f += r[i * cols + c] * exp(x[i * cols + c]) / s;
    }
    return f;
}

/* one sequence, qkv [L, 3HD] */
static double f_attention(const double *qkv, const float *r, size_t L, size_t H, size_t D,
                          double scale)
{
    size_t ld = 3 * H * D;
    double f = 0;
    for (size_t h = 0; h < H; h++)
        for (size_t i = 0; i < L; i++) {
            double p[64], mx = -INFINITY, s = 0;
            for (size_t t = 0; t < L; t++) {
                double a = 0;
                for (size_t d = 0; d < D; d++)
                    a += qkv[i * ld + h * D + d] * qkv[t * ld + H * D + h * D + d];
                p[t] = a * scale;
                if (p[t] > mx)
                    mx = p[t];
            }
            for (size_t t = 0; t < L; t++)
                s += (p[t] = exp(p[t] - mx));
            for (size_t d = 0; d < D; d++) {
                double o = 0;
                for (size_t t = 0; t < L; t++)
                    o += p[t] / s * qkv[t * ld + 2 * H * D + h * D + d];
                f += r[i * H * D + h * D + d] * o;
            }
        }
    return f;
}

static double f_ce(const double *x, const int32_t *labels, size_t T, size_t C)
{
    double f = 0;
    for (size_t t = 0; t < T; t++) {
        if (labels[t] == -100)
            continue;
        double s = 0;
        for (size_t c = 0; c < C; c++)
            s += exp(x[t * C + c]);
        f += log(s) - x[t * C + labels[t]];
    }
    return f;
}

static double *to_d(const float *x, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* central difference of fn at every element of v (in place, restored) */
#define FD_H 1e-6
#define FD_GRAD(out, v, n, expr)                                                              \
    do {                                                                                      \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                 \
            double keep_ = (v)[i_];                                                           \
            (v)[i_] = keep_ + FD_H;                                                           \
            double fp_ = (expr);                                                              \
            (v)[i_] = keep_ - FD_H;                                                           \
            double fm_ = (expr);                                                              \
            (v)[i_] = keep_;                                                                  \
            (out)[i_] = (float)((fp_ - fm_) / (2 * FD_H));                                    \
        }                                                                                     \
    } while (0)

/* ---- kernels ----------------------------------------------------------------------- */

static void test_linear(void **state)
{
    (void)state;
    /* N 5 (narrow products), N 70, K 67 and N 66, K 97 (the tiled SGEMM, dW as x^T . dy
     * with a transposed add over 32 x 32 blocks that do not divide N or K) */
    const size_t shapes[3][3] = { { 7, 5, 9 }, { 37, 70, 67 }, { 41, 66, 97 } };
    medner__par *par;
    assert_int_equal(medner__par_create(&par, 2), 0);
    for (size_t s = 0; s < 3; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = fa(M * K), *w = fa(N * K), *dy = fa(M * N), *b = fa(N);
        fill(x, M * K, 1);
        fill(w, N * K, 0.5);
        fill(dy, M * N, 1);
        fill(b, N, 0.1);
        float *dx = fa(M * K), *dw = fa(N * K), *db = fa(N);
        float *dx_r = fa(M * K), *dw_r = fa(N * K), *db_r = fa(N);
        float *work = fa(medner__linear_backward_work(M, N, K));
        fill(dw, N * K, 0.1); /* accumulate into existing gradients */
        memcpy(dw_r, dw, N * K * sizeof *dw);
        assert_int_equal(medner__linear_backward(par, dx, K, 0, dw, db, dy, N, x, K, w, M, N, K,
                                                 work), 0);
        medner__linear_backward_ref(dx_r, K, 0, dw_r, db_r, dy, N, x, K, w, M, N, K);
        CHECK_CLOSE(dx, dx_r, M * K, 1e-5, 1e-6, "linear dx fast vs ref");
        CHECK_CLOSE(dw, dw_r, N * K, 1e-5, 1e-6, "linear dw fast vs ref");
        CHECK_CLOSE(db, db_r, N, 1e-6, 1e-7, "linear db fast vs ref");
        /* dx_add: dx + dy . W */
        float *dx2 = fa(M * K);
        memcpy(dx2, dx, M * K * sizeof *dx);
        assert_int_equal(medner__linear_backward(par, dx2, K, 1, NULL, NULL, dy, N, x, K, w, M, N,
                                                 K, work), 0);
        for (size_t i = 0; i < M * K; i++)
            dx_r[i] = 2 * dx[i];
        CHECK_CLOSE(dx2, dx_r, M * K, 1e-6, 1e-7, "linear dx_add");
        /* finite differences (small shape only) */
        if (s == 0) {
            double *xd = to_d(x, M * K), *wd = to_d(w, N * K), *bd = to_d(b, N);
            float *fd = fa(M * K + N * K);
            FD_GRAD(fd, xd, M * K, f_linear(xd, wd, bd, dy, M, N, K));
            CHECK_CLOSE(dx, fd, M * K, 1e-4, 1e-6, "linear dx vs finite differences");
            memset(dw_r, 0, N * K * sizeof *dw_r);
            memset(db_r, 0, N * sizeof *db_r);
            medner__linear_backward_ref(NULL, K, 0, dw_r, db_r, dy, N, x, K, w, M, N, K);
            FD_GRAD(fd, wd, N * K, f_linear(xd, wd, bd, dy, M, N, K));
            CHECK_CLOSE(dw_r, fd, N * K, 1e-4, 1e-6, "linear dw vs finite differences");
            FD_GRAD(fd, bd, N, f_linear(xd, wd, bd, dy, M, N, K));
            CHECK_CLOSE(db_r, fd, N, 1e-4, 1e-6, "linear db vs finite differences");
            free(xd), free(wd), free(bd), free(fd);
        }
        free(x), free(w), free(dy), free(b), free(dx), free(dw), free(db), free(dx_r), free(dw_r);
        free(db_r), free(work), free(dx2);
    }
    medner__par_free(par);
}

static void test_layernorm(void **state)
{
    (void)state;
    size_t R = 6, C = 19;
    float eps = 1e-5f;
    float *x = fa(R * C), *res = fa(R * C), *g = fa(C), *b = fa(C), *dy = fa(R * C);
    fill(x, R * C, 2);
    fill(res, R * C, 1);
    fill(g, C, 0.5);
    for (size_t c = 0; c < C; c++)
        g[c] += 1.0f;
    fill(b, C, 0.3);
    fill(dy, R * C, 1);
    float *y = fa(R * C), *xhat = fa(R * C), *rstd = fa(R), *y_ref = fa(R * C);
    medner__layernorm_train(y, xhat, rstd, x, res, g, b, R, C, eps);
    memcpy(y_ref, x, R * C * sizeof *x);
    medner__add_layernorm_ref(y_ref, res, g, b, R, C, eps);
    CHECK_CLOSE(y, y_ref, R * C, 1e-6, 1e-7, "layernorm train forward vs forward ref");
    float *dv = fa(R * C), *dg = fa(C), *db = fa(C), *dv_r = fa(R * C), *dg_r = fa(C),
          *db_r = fa(C), *v = fa(R * C);
    for (size_t i = 0; i < R * C; i++)
        v[i] = x[i] + res[i];
    medner__layernorm_backward(dv, dg, db, dy, xhat, rstd, g, R, C);
    medner__layernorm_backward_ref(dv_r, dg_r, db_r, dy, v, g, R, C, eps);
    CHECK_CLOSE(dv, dv_r, R * C, 1e-5, 1e-6, "layernorm dx fast vs ref");
    CHECK_CLOSE(dg, dg_r, C, 1e-5, 1e-6, "layernorm dgamma fast vs ref");
    CHECK_CLOSE(db, db_r, C, 1e-6, 1e-7, "layernorm dbeta fast vs ref");
    double *xd = to_d(x, R * C), *rd = to_d(res, R * C), *gd = to_d(g, C), *bd = to_d(b, C);
    float *fd = fa(R * C);
    FD_GRAD(fd, xd, R * C, f_layernorm(xd, rd, gd, bd, dy, R, C, eps));
    CHECK_CLOSE(dv, fd, R * C, 1e-4, 1e-6, "layernorm dx vs finite differences");
    FD_GRAD(fd, rd, R * C, f_layernorm(xd, rd, gd, bd, dy, R, C, eps));
    CHECK_CLOSE(dv, fd, R * C, 1e-4, 1e-6, "layernorm d residual vs finite differences");
    FD_GRAD(fd, gd, C, f_layernorm(xd, rd, gd, bd, dy, R, C, eps));
    CHECK_CLOSE(dg, fd, C, 1e-4, 1e-6, "layernorm dgamma vs finite differences");
    FD_GRAD(fd, bd, C, f_layernorm(xd, rd, gd, bd, dy, R, C, eps));
    CHECK_CLOSE(db, fd, C, 1e-4, 1e-6, "layernorm dbeta vs finite differences");
    /* in place (dv aliasing dy) gives the same */
    float *dy2 = fa(R * C), *dg2 = fa(C), *db2 = fa(C);
    memcpy(dy2, dy, R * C * sizeof *dy);
    medner__layernorm_backward(dy2, dg2, db2, dy2, xhat, rstd, g, R, C);
    assert_memory_equal(dy2, dv, R * C * sizeof *dv);
    assert_memory_equal(dg2, dg, C * sizeof *dg);
    free(x), free(res), free(g), free(b), free(dy), free(y), free(xhat), free(rstd), free(y_ref);
    free(dv), free(dg), free(db), free(dv_r), free(dg_r), free(db_r), free(v), free(xd), free(rd);
    free(gd), free(bd), free(fd), free(dy2), free(dg2), free(db2);
}

static void test_activations(void **state)
{
    (void)state;
    const medner__epi acts[3] = { MEDNER__EPI_GELU, MEDNER__EPI_GELU_TANH, MEDNER__EPI_RELU };
    const char *names[3] = { "gelu", "gelu_tanh", "relu" };
    size_t n = 401;
    float *x = fa(n), *dy = fa(n), *dx = fa(n), *dx_r = fa(n), *fd = fa(n);
    for (size_t i = 0; i < n; i++)
        x[i] = -6.0f + 12.0f * (float)i / (float)(n - 1) + 0.0137f; /* avoids relu's kink at 0 */
    fill(dy, n, 1);
    for (size_t a = 0; a < 3; a++) {
        char what[64];
        medner__act_backward(dx, dy, x, n, acts[a]);
        medner__act_backward_ref(dx_r, dy, x, n, acts[a]);
        snprintf(what, sizeof what, "%s backward fast vs ref", names[a]);
        CHECK_CLOSE(dx, dx_r, n, 1e-5, 1e-6, what);
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            fd[i] = (float)(dy[i] * (act_d(v + FD_H, acts[a]) - act_d(v - FD_H, acts[a])) /
                            (2 * FD_H));
        }
        snprintf(what, sizeof what, "%s backward vs finite differences", names[a]);
        CHECK_CLOSE(dx, fd, n, 1e-4, 1e-6, what);
        /* the thread-team form from the forward's output (GELU: Phi = y / x, vector e^x) */
        float *y = fa(n);
        memcpy(y, x, n * sizeof *y);
        if (acts[a] == MEDNER__EPI_GELU)
            medner__gelu(y, n);
        else if (acts[a] == MEDNER__EPI_GELU_TANH)
            medner__gelu_tanh(y, n);
        else
            medner__relu(y, n);
        medner__act_backward_par(NULL, dx, dy, x, y, n, acts[a]);
        snprintf(what, sizeof what, "%s backward from the output vs ref", names[a]);
        CHECK_CLOSE(dx, dx_r, n, 1e-5, acts[a] == MEDNER__EPI_GELU ? 1e-7 : 1e-6, what);
        free(y);
    }
    /* x = 0 exactly, and far out: Phi = 1/2, no NaN */
    float z[32], zy[32], zd[32], zg[32], zr[32];
    for (size_t i = 0; i < 32; i++) {
        z[i] = i == 3 ? 0.0f : -20.0f + 40.0f * (float)i / 31.0f;
        zg[i] = 1.0f;
    }
    memcpy(zy, z, sizeof z);
    medner__gelu(zy, 32);
    medner__act_backward_par(NULL, zd, zg, z, zy, 32, MEDNER__EPI_GELU);
    medner__act_backward_ref(zr, zg, z, 32, MEDNER__EPI_GELU);
    CHECK_CLOSE(zd, zr, 32, 1e-5, 1e-7, "gelu backward from the output at 0 and +-20");
    free(x), free(dy), free(dx), free(dx_r), free(fd);
}

static void test_softmax(void **state)
{
    (void)state;
    size_t R = 5, C = 13;
    float *x = fa(R * C), *y = fa(R * C), *dy = fa(R * C), *dx = fa(R * C), *dx_r = fa(R * C),
          *fd = fa(R * C);
    fill(x, R * C, 3);
    fill(dy, R * C, 1);
    memcpy(y, x, R * C * sizeof *x);
    medner__softmax(y, R, C);
    medner__softmax_backward(dx, dy, y, R, C);
    medner__softmax_backward_ref(dx_r, dy, y, R, C);
    CHECK_CLOSE(dx, dx_r, R * C, 1e-5, 1e-7, "softmax backward fast vs ref");
    double *xd = to_d(x, R * C);
    FD_GRAD(fd, xd, R * C, f_softmax(xd, dy, R, C));
    CHECK_CLOSE(dx, fd, R * C, 1e-4, 1e-6, "softmax backward vs finite differences");
    free(x), free(y), free(dy), free(dx), free(dx_r), free(fd), free(xd);
}

static void test_attention(void **state)
{
    (void)state;
    /* two sequences packed (lengths 5 and 7), 3 heads of 4 */
    size_t H = 3, D = 4, HD = H * D, lens[2] = { 5, 7 }, starts[2] = { 0, 5 }, T = 12;
    float scale = 0.5f;
    float *qkv = fa(T * 3 * HD), *out = fa(T * HD), *dout = fa(T * HD), *dqkv = fa(T * 3 * HD);
    fill(qkv, T * 3 * HD, 1.5);
    fill(dout, T * HD, 1);
    float *probs = fa(medner__attention_probs_size(lens, 2, H));
    medner__par *par;
    assert_int_equal(medner__par_create(&par, 2), 0);
    assert_int_equal(medner__par_reserve(par, medner__attention_train_scratch(7, 4)), 0);
    medner__attention_train(par, out, probs, qkv, starts, lens, 2, H, D, scale, 0.0f, 0, 0, 0);
    medner__attention_backward(par, dqkv, dout, qkv, probs, starts, lens, 2, H, D, scale, 0.0f, 0,
                               0, 0);
    for (size_t s = 0; s < 2; s++) {
        size_t L = lens[s], r0 = starts[s];
        const float *q = qkv + r0 * 3 * HD;
        /* forward against the inference reference */
        float *o_r = fa(L * HD);
        medner__attention_ref(o_r, HD, q, q + HD, q + 2 * HD, 3 * HD, L, H, D, scale);
        CHECK_CLOSE(out + r0 * HD, o_r, L * HD, 1e-5, 1e-6, "attention train forward vs ref");
        /* backward against the twin */
        float *d_r = fa(L * 3 * HD);
        medner__attention_backward_ref(d_r, d_r + HD, d_r + 2 * HD, 3 * HD, dout + r0 * HD, HD, q,
                                       q + HD, q + 2 * HD, 3 * HD, L, H, D, scale);
        CHECK_CLOSE(dqkv + r0 * 3 * HD, d_r, L * 3 * HD, 1e-5, 1e-6,
                    "attention backward fast vs ref");
        /* and against finite differences of the double forward */
        double *qd = to_d(q, L * 3 * HD);
        float *fd = fa(L * 3 * HD);
        FD_GRAD(fd, qd, L * 3 * HD, f_attention(qd, dout + r0 * HD, L, H, D, scale));
        CHECK_CLOSE(dqkv + r0 * 3 * HD, fd, L * 3 * HD, 1e-4, 1e-6,
                    "attention backward vs finite differences");
        free(o_r), free(d_r), free(qd), free(fd);
    }
    /* dropout on the probabilities: the output is P' V with the kernel's mask */
    float *out_d = fa(T * HD);
    medner__attention_train(par, out_d, probs, qkv, starts, lens, 2, H, D, scale, 0.25f, 7, 3, 0);
    size_t L = lens[1], po = H * lens[0] * lens[0];
    for (size_t h = 0; h < H; h++)
        for (size_t i = 0; i < L; i++)
            for (size_t d = 0; d < D; d++) {
                double o = 0;
                for (size_t t = 0; t < L; t++) {
                    size_t idx = po + h * L * L + i * L + t;
                    if (medner__dropout_keep(0.25f, 7, 3, idx))
                        o += probs[idx] / 0.75 * qkv[(5 + t) * 3 * HD + 2 * HD + h * D + d];
                }
                float got = out_d[(5 + i) * HD + h * D + d];
                assert_true(fabs(got - o) <= 1e-5 * (1 + fabs(o)));
            }
    medner__par_free(par);
    free(qkv), free(out), free(dout), free(dqkv), free(probs), free(out_d);
}

static void test_embeddings(void **state)
{
    (void)state;
    size_t n = 9, dim = 6, V = 11, P = 10, TY = 2;
    int32_t ids[9] = { 3, 0, 3, 10, 5, 5, 5, 1, 3 }, pos[9] = { 0, 1, 2, 3, 4, 0, 1, 2, 3 },
            types[9] = { 0, 0, 1, 1, 0, 1, 1, 0, 0 };
    float *dout = fa(n * dim);
    fill(dout, n * dim, 1);
    float *w = fa(V * dim), *p = fa(P * dim), *t = fa(TY * dim);
    float *w_r = fa(V * dim), *p_r = fa(P * dim), *t_r = fa(TY * dim);
    medner__embed_backward(w, p, t, dout, ids, types, pos, n, dim, 0);
    medner__embed_backward_ref(w_r, p_r, t_r, dout, ids, types, pos, n, dim, 0, V, P, TY);
    CHECK_CLOSE(w, w_r, V * dim, 1e-6, 1e-7, "embedding word gradient fast vs ref");
    CHECK_CLOSE(p, p_r, P * dim, 1e-6, 1e-7, "embedding position gradient fast vs ref");
    CHECK_CLOSE(t, t_r, TY * dim, 1e-6, 1e-7, "embedding type gradient fast vs ref");
    /* the forward is a sum of rows: the gradient of sum r . embed is r scattered
     * (finite differences of a linear map are exact: checked on the rows
     * touched once and untouched) */
    for (size_t c = 0; c < dim; c++) {
        assert_true(w[10 * dim + c] == dout[3 * dim + c]);
        assert_true(w[2 * dim + c] == 0.0f);
        assert_true(w[0 * dim + c] == 0.0f); /* the padding id's row: no gradient */
        assert_true(p[1 * dim + c] != 0.0f); /* but its position's row has one */
    }
    free(dout), free(w), free(p), free(t), free(w_r), free(p_r), free(t_r);
}

static void test_cross_entropy(void **state)
{
    (void)state;
    size_t T = 8, C = 5;
    int32_t labels[8] = { -100, 2, 0, -100, 4, 4, 1, -100 };
    float *x = fa(T * C), *g = fa(T * C), *g_r = fa(T * C), *fd = fa(T * C);
    fill(x, T * C, 4);
    size_t cnt = 0, cnt_r = 0;
    double l = medner__cross_entropy(g, x, labels, T, C, -100, 0.5f, &cnt);
    double l_r = medner__cross_entropy_ref(g_r, x, labels, T, C, -100, 0.5f, &cnt_r);
    assert_int_equal(cnt, 5);
    assert_int_equal(cnt_r, 5);
    assert_true(fabs(l - l_r) <= 1e-12 * fabs(l_r));
    CHECK_CLOSE(g, g_r, T * C, 1e-6, 1e-8, "cross-entropy gradient fast vs ref");
    double *xd = to_d(x, T * C);
    assert_true(fabs(f_ce(xd, labels, T, C) - l) <= 1e-12 * fabs(l));
    FD_GRAD(fd, xd, T * C, 0.5 * f_ce(xd, labels, T, C)); /* grad_scale 0.5 */
    CHECK_CLOSE(g, fd, T * C, 1e-4, 1e-6, "cross-entropy gradient vs finite differences");
    for (size_t c = 0; c < C; c++) /* ignored tokens: no gradient */
        assert_true(g[c] == 0.0f && g[3 * C + c] == 0.0f && g[7 * C + c] == 0.0f);
    free(x), free(g), free(g_r), free(fd), free(xd);
}

static void test_dropout_kernel(void **state)
{
    (void)state;
    size_t n = 100003;
    float p = 0.1f;
    float *x = fa(n), *y1 = fa(n), *y2 = fa(n), *y3 = fa(n), *yr = fa(n);
    fill(x, n, 1);
    for (size_t i = 0; i < n; i++)
        if (x[i] == 0.0f)
            x[i] = 0.5f;
    medner__par *par1, *par3;
    assert_int_equal(medner__par_create(&par1, 1), 0);
    assert_int_equal(medner__par_create(&par3, 3), 0);
    medner__dropout(par1, y1, x, n, p, 42, 5, 1000);
    medner__dropout(par3, y3, x, n, p, 42, 5, 1000);
    medner__dropout(NULL, y2, x, n, p, 42, 5, 1000);
    medner__dropout_ref(yr, x, n, p, 42, 5, 1000);
    assert_memory_equal(y1, y3, n * sizeof *y1); /* threads */
    assert_memory_equal(y1, y2, n * sizeof *y1);
    assert_memory_equal(y1, yr, n * sizeof *y1); /* twin */
    medner__dropout(par3, y2, x, n, p, 42, 5, 1000);
    assert_memory_equal(y1, y2, n * sizeof *y1); /* rerun */
    size_t kept = 0, same = 0;
    for (size_t i = 0; i < n; i++) {
        kept += y1[i] != 0.0f;
        if (y1[i] != 0.0f)
            assert_true(y1[i] == x[i] * (1.0f / 0.9f));
    }
    assert_true(fabs((double)kept / (double)n - 0.9) < 0.005);
    /* neighbouring elements independent: both dropped about p^2 of the time */
    size_t both = 0;
    for (size_t i = 0; i + 1 < n; i++)
        both += y1[i] == 0.0f && y1[i + 1] == 0.0f;
    assert_true(fabs((double)both / (double)n - 0.01) < 0.003);
    /* a subrange starting at `first` sees the same mask (index = first + i) */
    medner__dropout(par1, y2, x + 500, 1000, p, 42, 5, 1500);
    assert_memory_equal(y2, y1 + 500, 1000 * sizeof *y2);
    /* another stream or seed: another mask */
    medner__dropout(par1, y2, x, n, p, 42, 6, 1000);
    for (size_t i = 0; i < n; i++)
        same += (y1[i] == 0.0f) == (y2[i] == 0.0f);
    assert_true(same < n - n / 20);
    medner__dropout(par1, y2, x, n, p, 43, 5, 1000);
    same = 0;
    for (size_t i = 0; i < n; i++)
        same += (y1[i] == 0.0f) == (y2[i] == 0.0f);
    assert_true(same < n - n / 20);
    medner__par_free(par1);
    medner__par_free(par3);
    free(x), free(y1), free(y2), free(y3), free(yr);
}

static void test_schedule_and_clip(void **state)
{
    (void)state;
    /* HF get_linear_schedule_with_warmup(warmup 2, total 6): 0, 1/2, 1, 3/4, 1/2, 1/4, 0, 0 */
    const double want[8] = { 0, 0.5, 1, 0.75, 0.5, 0.25, 0, 0 };
    for (uint64_t s = 0; s < 8; s++)
        assert_true(fabs(medner__lr_linear_warmup(s, 2, 6) - want[s]) < 1e-15);
    float g[2] = { 3, 4 };
    double norm = medner__clip_grad_norm(g, 2, 1.0f);
    assert_true(fabs(norm - 5) < 1e-12);
    assert_true(fabs(g[0] - 0.6) < 1e-6 && fabs(g[1] - 0.8) < 1e-6);
    float h[2] = { 0.3f, 0.4f };
    medner__clip_grad_norm(h, 2, 1.0f); /* below the bound: unchanged */
    assert_true(h[0] == 0.3f && h[1] == 0.4f);
}

/* ---- model goldens ---------------------------------------------------------------------- */

typedef struct fixture {
    medner__model *model;
    medner__tparams *tp;
    medner__st_file grads;
    int32_t *ids, *types, *labels; /* packed, padding removed */
    size_t lens[8], n_seqs, T;
    double loss;
} fixture;

static const medner__st_tensor *need(const medner__st_file *f, const char *name)
{
    const medner__st_tensor *t = medner__st_find(f, name, strlen(name));
    if (t == NULL)
        fail_msg("%s: no tensor %s", f->path, name);
    return t;
}

static void load_fixture_file(fixture *fx, const char *name, const char *grads_file)
{
    memset(fx, 0, sizeof *fx);
    char dir[256], path[300];
    snprintf(dir, sizeof dir, DATA "/%s", name);
    if (medner__model_load(&fx->model, dir) != MEDNER_OK)
        fail_msg("%s: %s", dir, medner_last_error());
    assert_int_equal(medner__tparams_create(&fx->tp, fx->model), MEDNER_OK);
    snprintf(path, sizeof path, "%s/%s", dir, grads_file);
    if (medner__st_open(&fx->grads, path) != MEDNER_OK)
        fail_msg("%s: %s", path, medner_last_error());
    const medner__st_tensor *ids = need(&fx->grads, "input_ids"),
                            *types = need(&fx->grads, "token_type_ids"),
                            *mask = need(&fx->grads, "attention_mask"),
                            *labels = need(&fx->grads, "labels"), *loss = need(&fx->grads, "loss");
    assert_int_equal(ids->dtype, MEDNER__DT_I32);
    assert_int_equal(loss->dtype, MEDNER__DT_F64);
    size_t B = ids->shape[0], Lp = ids->shape[1];
    assert_true(B <= 8);
    int32_t *buf = malloc(4 * B * Lp * sizeof *buf);
    assert_non_null(buf);
    memcpy(buf, ids->data, B * Lp * 4);
    memcpy(buf + B * Lp, types->data, B * Lp * 4);
    memcpy(buf + 2 * B * Lp, mask->data, B * Lp * 4);
    memcpy(buf + 3 * B * Lp, labels->data, B * Lp * 4);
    memcpy(&fx->loss, loss->data, sizeof fx->loss);
    fx->ids = malloc(B * Lp * sizeof(int32_t));
    fx->types = malloc(B * Lp * sizeof(int32_t));
    fx->labels = malloc(B * Lp * sizeof(int32_t));
    fx->n_seqs = B;
    for (size_t b = 0; b < B; b++) {
        size_t L = 0;
        for (size_t k = 0; k < Lp; k++)
            if (buf[2 * B * Lp + b * Lp + k]) { /* right padding: the mask's ones come first */
                assert_int_equal(k, L);
                fx->ids[fx->T] = buf[b * Lp + k];
                fx->types[fx->T] = buf[B * Lp + b * Lp + k];
                fx->labels[fx->T] = buf[3 * B * Lp + b * Lp + k];
                fx->T++;
                L++;
            } else {
                assert_int_equal(buf[3 * B * Lp + b * Lp + k], -100); /* padding is unlabelled */
            }
        fx->lens[b] = L;
    }
    free(buf);
}

static void load_fixture(fixture *fx, const char *name)
{
    load_fixture_file(fx, name, "grads.safetensors");
}

static void free_fixture(fixture *fx)
{
    medner__tparams_free(fx->tp);
    medner__model_free(fx->model);
    medner__st_close(&fx->grads, 0);
    free(fx->ids), free(fx->types), free(fx->labels);
}

static medner__tbatch batch_of(const fixture *fx)
{
    medner__tbatch b = { fx->ids, fx->types, fx->labels, fx->lens, fx->n_seqs };
    return b;
}

/* Every golden gradient against t->grad; returns the worst tolerance ratio
 * and the number of tensors compared. */
/* The attention key bias adds q . b_k to every score of a query's row,
 * which softmax cancels: its exact gradient is 0, and what fp32 autograd
 * and medner compute for it is rounding noise (|g| ~ 1e-9, inside the 1e-6
 * absolute tolerance). AdamW divides by sqrt(v), so on those tensors it
 * moves by about lr * sign(noise) in both: they are held to a bound of
 * that size (key_bias_bound > 0) instead of the tight tolerance. */
static int is_key_bias(const char *name)
{
    return strstr(name, "attention.self.key.bias") || strstr(name, "attention.k_lin.bias");
}

static double compare_tensors(fixture *fx, const char *prefix, const medner__st_file *f,
                              const float *flat_base, size_t *n_cmp, double rel, double abs_tol,
                              double key_bias_bound)
{
    double w = 0;
    size_t cmp = 0, plen = strlen(prefix);
    unsigned char *seen = calloc(fx->tp->n_slots, 1);
    for (size_t i = 0; i < f->n_tensors; i++) {
        const medner__st_tensor *t = &f->tensors[i];
        if (strncmp(t->name, prefix, plen) != 0)
            continue;
        long s = medner__model_slot(fx->model, t->name + plen, t->name_len - plen);
        if (s < 0)
            fail_msg("%s: %s is no parameter of the model", f->path, t->name);
        assert_int_equal(t->numel, fx->tp->numel[s]);
        float *want = fa(t->numel);
        medner__st_to_f32(want, t);
        const float *got = flat_base + fx->tp->off[s];
        double ws = key_bias_bound > 0 && is_key_bias(t->name)
                        ? worst(got, want, t->numel, 0, key_bias_bound)
                        : worst(got, want, t->numel, rel, abs_tol);
        if (ws > 1.0 || getenv("MEDNER_TEST_VERBOSE"))
            print_error("%s: %.3g times the tolerance\n", t->name, ws);
        if (ws > w)
            w = ws;
        seen[s] = 1;
        cmp++;
        free(want);
    }
    for (size_t s = 0; s < fx->tp->n_slots; s++) /* every parameter has its golden */
        if (fx->tp->numel[s] && !seen[s])
            fail_msg("%s: parameter slot %zu has no golden", f->path, s);
    free(seen);
    *n_cmp = cmp;
    return w;
}

static double compare_grads(fixture *fx, const char *prefix, const medner__st_file *f,
                            const float *flat_base, size_t *n_cmp)
{
    return compare_tensors(fx, prefix, f, flat_base, n_cmp, 1e-4, 1e-6, 0);
}

/* act >= 0: run the model with that activation instead of its config's
 * (the gelu_new goldens are the bert weights run with hidden_act gelu_new). */
static void check_gradients(const char *name, const char *grads_file, int act)
{
    fixture fx;
    load_fixture_file(&fx, name, grads_file);
    if (act >= 0)
        fx.tp->config.act = (medner__act)act;
    medner__tbatch b = batch_of(&fx);
    medner__trainer_ctx *c1, *c3;
    assert_int_equal(medner__train_ctx_create(&c1, 1), MEDNER_OK);
    assert_int_equal(medner__train_ctx_create(&c3, 3), MEDNER_OK);
    double loss = 0;
    size_t cnt = 0, n_cmp = 0;
    medner__tparams_zero_grad(fx.tp);
    if (medner__train_step(c1, fx.tp, &b, NULL, 1, 0.0f, &loss, &cnt, NULL) != MEDNER_OK)
        fail_msg("%s: %s", name, medner_last_error());
    double mean = loss / (double)cnt;
    if (!(fabs(mean - fx.loss) <= 1e-6 * fabs(fx.loss)))
        fail_msg("%s: loss %.9g, PyTorch %.9g", name, mean, fx.loss);
    double w = compare_grads(&fx, "grad.", &fx.grads, fx.tp->grad, &n_cmp);
    print_message("%s: loss %.9g (PyTorch %.9g), %zu gradients, worst %.3g of the tolerance "
                  "(1e-4 rel or 1e-6 abs)\n", name, mean, fx.loss, n_cmp, w);
    if (!(w <= 1.0))
        fail_msg("%s: gradients off by %.3g times the tolerance", name, w);
    /* bitwise the same with 3 threads */
    float *g1 = malloc(fx.tp->n * sizeof(float));
    memcpy(g1, fx.tp->grad, fx.tp->n * sizeof(float));
    medner__tparams_zero_grad(fx.tp);
    double loss3 = 0;
    assert_int_equal(medner__train_step(c3, fx.tp, &b, NULL, 1, 0.0f, &loss3, &cnt, NULL),
                     MEDNER_OK);
    assert_true(loss3 == loss);
    assert_memory_equal(g1, fx.tp->grad, fx.tp->n * sizeof(float));
    free(g1);
    medner__train_ctx_free(c1);
    medner__train_ctx_free(c3);
    free_fixture(&fx);
}

/* At every instruction-set level the CPU has (the products' last bits
 * differ between levels; each must meet the tolerance). */
static void check_gradients_all_isa(const char *name, const char *grads_file, int act)
{
    for (int isa = medner__kernels_set_isa(MEDNER__ISA_AUTO); isa >= MEDNER__ISA_BASE; isa--) {
        medner__kernels_set_isa(isa);
        print_message("ISA level %d, %s: ", isa, grads_file);
        check_gradients(name, grads_file, act);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

static void test_gradients_bert(void **state)
{
    (void)state;
    check_gradients_all_isa("bert", "grads.safetensors", -1);
    check_gradients_all_isa("bert", "grads_gelu_new.safetensors", MEDNER__ACT_GELU_TANH);
}

static void test_gradients_minilm(void **state)
{
    (void)state;
    check_gradients_all_isa("minilm", "grads.safetensors", -1);
}

static void test_gradients_distilbert(void **state)
{
    (void)state;
    check_gradients_all_isa("distilbert", "grads.safetensors", -1);
}

static void test_adamw(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "bert");
    medner__st_file f;
    if (medner__st_open(&f, DATA "/bert/adamw.safetensors") != MEDNER_OK)
        fail_msg("%s", medner_last_error());
    double hp[9], losses[16], norms[16];
    memcpy(hp, need(&f, "hparams")->data, sizeof hp);
    size_t steps = (size_t)hp[8];
    assert_true(steps <= 16);
    memcpy(losses, need(&f, "losses")->data, steps * sizeof(double));
    memcpy(norms, need(&f, "norms")->data, steps * sizeof(double));
    medner__adamw o;
    assert_int_equal(medner__adamw_init(&o, fx.tp), MEDNER_OK);
    o.lr = (float)hp[0];
    o.beta1 = (float)hp[1];
    o.beta2 = (float)hp[2];
    o.eps = (float)hp[3];
    o.weight_decay = (float)hp[4];
    o.max_grad_norm = (float)hp[5];
    o.warmup = (uint64_t)hp[6];
    o.total = (uint64_t)hp[7];
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    medner__tbatch b = batch_of(&fx);
    for (size_t s = 0; s < steps; s++) {
        double loss;
        size_t cnt;
        medner__tparams_zero_grad(fx.tp);
        assert_int_equal(medner__train_step(c, fx.tp, &b, NULL, 1, 0.0f, &loss, &cnt, NULL),
                         MEDNER_OK);
        double norm = medner__adamw_step(&o, fx.tp);
        print_message("AdamW step %zu: loss %.9g (PyTorch %.9g), norm %.9g (PyTorch %.9g)\n", s,
                      loss / (double)cnt, losses[s], norm, norms[s]);
        assert_true(fabs(loss / (double)cnt - losses[s]) <= 1e-5 * fabs(losses[s]));
        assert_true(fabs(norm - norms[s]) <= 1e-5 * fabs(norms[s]));
    }
    size_t n_cmp;
    /* weights after the steps: within 1e-4 relative plus 1e-6 + lr / 20
     * absolute. Adam divides each gradient element by its own running RMS, so
     * an element whose gradient is small against its fp32 rounding noise
     * (both here and in PyTorch) moves by a few percent of lr differently:
     * measured 2.3% of lr at most (a word-embedding element). The optimizer's
     * arithmetic itself is held far tighter by test_adamw_fixed. */
    double w = compare_tensors(&fx, "param.", &f, fx.tp->param, &n_cmp, 1e-4, 1e-6 + hp[0] / 20,
                               2.0 * hp[0] * (double)steps);
    print_message("AdamW: %zu parameters after %zu steps, worst %.3g of the tolerance\n", n_cmp,
                  steps, w);
    if (!(w <= 1.0))
        fail_msg("AdamW parameters off by %.3g times the tolerance", w);
    medner__adamw_release(&o);
    medner__train_ctx_free(c);
    medner__st_close(&f, 0);
    free_fixture(&fx);
}

/* The optimizer alone: the gradient held at the golden one every step (as
 * the script's fixed-gradient run), no clipping (max norm 20 > 12.9). */
/* The vectorised AdamW loop (AVX-512, when the CPU has it) gives bitwise
 * the scalar loop of the baseline level, decay on and off, odd lengths. */
static void test_adamw_isa(void **state)
{
    (void)state;
    size_t n = 1000 + 7;
    float *p[2], *g = fa(n), *m[2], *v[2];
    fill(g, n, 1e-2);
    for (int k = 0; k < 2; k++) {
        p[k] = fa(n), m[k] = fa(n), v[k] = fa(n);
        g_rng = 99;
        fill(p[k], n, 1);
        fill(m[k], n, 1e-3);
        for (size_t i = 0; i < n; i++)
            v[k][i] = 1e-5f * (float)(1 + i % 7);
    }
    int top = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    for (uint64_t step = 1; step <= 3; step++)
        for (int k = 0; k < 2; k++) {
            medner__kernels_set_isa(k == 0 ? top : MEDNER__ISA_BASE);
            medner__adamw_update(p[k], g, m[k], v[k], n, 1e-3f, 0.9f, 0.999f, 1e-8f,
                                 step == 2 ? 0.0f : 0.01f, step);
        }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    assert_memory_equal(p[0], p[1], n * sizeof(float));
    assert_memory_equal(m[0], m[1], n * sizeof(float));
    assert_memory_equal(v[0], v[1], n * sizeof(float));
    for (int k = 0; k < 2; k++)
        free(p[k]), free(m[k]), free(v[k]);
    free(g);
}

/* medner__adamw_step_par (the trainer's step: the clipping factor applied
 * inside the AdamW pass, the pass split over threads) gives bitwise what
 * clip_grad_norm_ scaling the gradients in place and then the per-tensor
 * update give, at 1, 2 and 3 threads, with clipping active (norm 12.9 > 1)
 * and not (max norm 100), and leaves the gradients untouched. The norm
 * (AVX-512 lanes when the CPU has them) equals the baseline loop's. */
static void test_adamw_step_par(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "bert");
    medner__tparams *t = fx.tp;
    size_t n = t->n;
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 1), MEDNER_OK);
    medner__tbatch b = batch_of(&fx);
    medner__tparams_zero_grad(t);
    assert_int_equal(medner__train_step(c, t, &b, NULL, 1, 0.0f, NULL, NULL, NULL), MEDNER_OK);
    float *p0 = fa(n), *g0 = fa(n), *pr = fa(n), *gr = fa(n);
    memcpy(p0, t->param, n * sizeof(float));
    memcpy(g0, t->grad, n * sizeof(float));
    int top = medner__kernels_set_isa(MEDNER__ISA_AUTO);
    medner__kernels_set_isa(MEDNER__ISA_BASE);
    double norm_base = medner__grad_norm(g0, n);
    medner__kernels_set_isa(top);
    double norm_top = medner__grad_norm(g0, n);
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
    assert_memory_equal(&norm_base, &norm_top, sizeof(double));
    for (int clipping = 0; clipping < 2; clipping++) {
        float max_norm = clipping ? 1.0f : 100.0f;
        /* the reference: clip in place, then AdamW tensor by tensor, 2 steps */
        medner__adamw ro;
        assert_int_equal(medner__adamw_init(&ro, t), MEDNER_OK);
        memcpy(pr, p0, n * sizeof(float));
        for (uint64_t step = 1; step <= 2; step++) {
            memcpy(gr, g0, n * sizeof(float));
            double nr = medner__clip_grad_norm(gr, n, max_norm);
            assert_memory_equal(&nr, &norm_base, sizeof(double));
            if (clipping)
                assert_true(nr > (double)max_norm); /* the factor is < 1: clipping acts */
            for (size_t s = 0; s < t->n_slots; s++)
                if (t->numel[s])
                    medner__adamw_update(pr + t->off[s], gr + t->off[s], ro.m + t->off[s],
                                         ro.v + t->off[s], t->numel[s], 1e-3f, 0.9f, 0.999f,
                                         1e-8f, ro.decay[s] ? 0.01f : 0.0f, step);
        }
        for (size_t threads = 1; threads <= 3; threads++) {
            medner__par *par;
            assert_int_equal(medner__par_create(&par, threads), 0);
            medner__adamw o;
            assert_int_equal(medner__adamw_init(&o, t), MEDNER_OK);
            o.lr = 1e-3f;
            o.weight_decay = 0.01f;
            o.max_grad_norm = max_norm;
            memcpy(t->param, p0, n * sizeof(float));
            for (int step = 0; step < 2; step++) {
                double nn = medner__adamw_step_par(&o, t, par);
                assert_memory_equal(&nn, &norm_base, sizeof(double));
            }
            assert_memory_equal(t->grad, g0, n * sizeof(float)); /* not scaled */
            assert_memory_equal(t->param, pr, n * sizeof(float));
            assert_memory_equal(o.m, ro.m, n * sizeof(float));
            assert_memory_equal(o.v, ro.v, n * sizeof(float));
            medner__adamw_release(&o);
            medner__par_free(par);
        }
        medner__adamw_release(&ro);
    }
    memcpy(t->param, p0, n * sizeof(float));
    free(p0), free(g0), free(pr), free(gr);
    medner__train_ctx_free(c);
    free_fixture(&fx);
}

static void test_adamw_fixed(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "bert");
    medner__st_file f;
    if (medner__st_open(&f, DATA "/bert/adamw.safetensors") != MEDNER_OK)
        fail_msg("%s", medner_last_error());
    double hp[9], norms[16];
    memcpy(hp, need(&f, "fixed.hparams")->data, sizeof hp);
    size_t steps = (size_t)hp[8];
    assert_true(steps <= 16);
    memcpy(norms, need(&f, "fixed.norms")->data, steps * sizeof(double));
    medner__adamw o;
    assert_int_equal(medner__adamw_init(&o, fx.tp), MEDNER_OK);
    o.lr = (float)hp[0];
    o.beta1 = (float)hp[1];
    o.beta2 = (float)hp[2];
    o.eps = (float)hp[3];
    o.weight_decay = (float)hp[4];
    o.max_grad_norm = (float)hp[5];
    o.warmup = (uint64_t)hp[6];
    o.total = (uint64_t)hp[7];
    for (size_t s = 0; s < steps; s++) {
        medner__tparams_zero_grad(fx.tp);
        for (size_t i = 0; i < fx.grads.n_tensors; i++) {
            const medner__st_tensor *t = &fx.grads.tensors[i];
            if (strncmp(t->name, "grad.", 5) != 0)
                continue;
            long slot = medner__model_slot(fx.model, t->name + 5, t->name_len - 5);
            assert_true(slot >= 0);
            medner__st_to_f32(medner__tparams_grad(fx.tp, (size_t)slot), t);
        }
        double norm = medner__adamw_step(&o, fx.tp);
        assert_true(fabs(norm - norms[s]) <= 1e-6 * norms[s]);
    }
    size_t n_cmp;
    double w = compare_tensors(&fx, "fixed.param.", &f, fx.tp->param, &n_cmp, 1e-6, 1e-7, 0);
    print_message("AdamW with fixed gradients: %zu parameters after %zu steps, worst %.3g of "
                  "1e-6 relative + 1e-7 absolute\n", n_cmp, steps, w);
    if (!(w <= 1.0))
        fail_msg("AdamW (fixed gradients) parameters off by %.3g times the tolerance", w);
    medner__adamw_release(&o);
    medner__st_close(&f, 0);
    free_fixture(&fx);
}

static void test_dropout_model(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "bert");
    medner__tbatch b = batch_of(&fx);
    medner__tdropout d = { .hidden = 0.1f, .attention = 0.1f, .seed = 1234, .step = 7 };
    medner__trainer_ctx *c1, *c3;
    assert_int_equal(medner__train_ctx_create(&c1, 1), MEDNER_OK);
    assert_int_equal(medner__train_ctx_create(&c3, 3), MEDNER_OK);
    size_t n = fx.tp->n, cnt;
    float *g[4];
    double loss[4];
    medner__trainer_ctx *ctx[4] = { c1, c3, c1, c1 };
    for (int r = 0; r < 4; r++) {
        if (r == 3)
            d.seed = 1235;
        medner__tparams_zero_grad(fx.tp);
        assert_int_equal(medner__train_step(ctx[r], fx.tp, &b, &d, 1, 0.0f, &loss[r], &cnt, NULL),
                         MEDNER_OK);
        g[r] = malloc(n * sizeof(float));
        memcpy(g[r], fx.tp->grad, n * sizeof(float));
    }
    assert_true(loss[0] == loss[1] && loss[0] == loss[2]);
    assert_memory_equal(g[0], g[1], n * sizeof(float)); /* 1 vs 3 threads */
    assert_memory_equal(g[0], g[2], n * sizeof(float)); /* rerun */
    assert_true(loss[3] != loss[0]);                     /* another seed, another mask */
    /* dropout is on: the loss differs from the eval-mode one */
    assert_true(fabs(loss[0] / (double)cnt - fx.loss) > 1e-4);
    for (int r = 0; r < 4; r++)
        free(g[r]);
    medner__train_ctx_free(c1);
    medner__train_ctx_free(c3);
    free_fixture(&fx);
}

/* With dropout on there is no autograd golden (PyTorch's masks differ), so
 * the gradient is checked against central finite differences of the loss,
 * whose masks are fixed by (seed, step): on every tensor, its largest
 * gradient element and two others among the larger ones. fp32 forward:
 * the differences are good to about a percent. */
static void check_dropout_fd(const char *name)
{
    fixture fx;
    load_fixture(&fx, name);
    medner__tbatch b = batch_of(&fx);
    medner__tdropout d = { .hidden = 0.3f, .attention = 0.3f, .seed = 99, .step = 3 };
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    double loss;
    size_t cnt, checked = 0, skipped = 0, tensors = 0;
    medner__tparams_zero_grad(fx.tp);
    assert_int_equal(medner__train_step(c, fx.tp, &b, &d, 1, 0.0f, &loss, &cnt, NULL), MEDNER_OK);
    double worst_rel = 0;
    for (size_t s = 0; s < fx.tp->n_slots; s++) {
        size_t n = fx.tp->numel[s];
        if (n == 0)
            continue;
        float *p = medner__tparams_param(fx.tp, s), *g = medner__tparams_grad(fx.tp, s);
        size_t imax = 0;
        tensors++;
        for (size_t i = 1; i < n; i++)
            if (fabsf(g[i]) > fabsf(g[imax]))
                imax = i;
        if (fabsf(g[imax]) < 1e-3f) { /* the key biases (exact gradient 0): FD noise ~3e-6 */
            skipped++;
            continue;
        }
        size_t pick[3] = { imax, SIZE_MAX, SIZE_MAX }, k = 1;
        for (size_t i = (imax * 7 + 3) % n, tries = 0; k < 3 && tries < n; i = (i + 13) % n, tries++)
            if (i != imax && i != pick[1] && fabsf(g[i]) > 0.3f * fabsf(g[imax]))
                pick[k++] = i;
        for (size_t q = 0; q < k; q++) {
            size_t i = pick[q];
            float keep = p[i], h = 1e-2f;
            double lp, lm;
            p[i] = keep + h;
            assert_int_equal(medner__train_step(c, fx.tp, &b, &d, 0, 0.0f, &lp, &cnt, NULL),
                             MEDNER_OK);
            p[i] = keep - h;
            assert_int_equal(medner__train_step(c, fx.tp, &b, &d, 0, 0.0f, &lm, &cnt, NULL),
                             MEDNER_OK);
            p[i] = keep;
            double fd = (lp - lm) / (double)(2 * h) / (double)cnt;
            double rel = fabs(fd - g[i]) / (fabs(g[i]) + 1e-4);
            if (rel > worst_rel)
                worst_rel = rel;
            if (rel > 0.01)
                fail_msg("%s, slot %zu, element %zu: gradient %.6g, finite differences %.6g", name,
                         s, i, (double)g[i], fd);
            checked++;
        }
    }
    print_message("%s with dropout 0.3: %zu gradient elements of %zu tensors against finite "
                  "differences (%zu tensors with |g| < 1e-3 skipped), worst relative difference "
                  "%.3g\n", name, checked, tensors - skipped, skipped, worst_rel);
    assert_true(skipped <= fx.tp->config.layers); /* only the key biases */
    medner__train_ctx_free(c);
    free_fixture(&fx);
}

static void test_dropout_gradients(void **state)
{
    (void)state;
    check_dropout_fd("bert");
    check_dropout_fd("distilbert");
}

static void test_accumulation(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "distilbert");
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 2), MEDNER_OK);
    size_t n = fx.tp->n, cnt, cnt1, cnt2;
    double loss, l1, l2;
    medner__tbatch full = batch_of(&fx);
    medner__tparams_zero_grad(fx.tp);
    assert_int_equal(medner__train_step(c, fx.tp, &full, NULL, 1, 0.0f, &loss, &cnt, NULL),
                     MEDNER_OK);
    float *g = malloc(n * sizeof(float));
    memcpy(g, fx.tp->grad, n * sizeof(float));
    /* micro-batch 1: sequence 0; micro-batch 2: sequences 1 and 2; both scaled
     * by 1 / (labelled tokens of the whole batch) */
    medner__tbatch h1 = { fx.ids, fx.types, fx.labels, fx.lens, 1 };
    medner__tbatch h2 = { fx.ids + fx.lens[0], fx.types + fx.lens[0], fx.labels + fx.lens[0],
                          fx.lens + 1, fx.n_seqs - 1 };
    medner__tparams_zero_grad(fx.tp);
    assert_int_equal(medner__train_step(c, fx.tp, &h1, NULL, 0, 0.0f, &l1, &cnt1, NULL),
                     MEDNER_OK);
    assert_int_equal(medner__train_step(c, fx.tp, &h2, NULL, 0, 0.0f, &l2, &cnt2, NULL),
                     MEDNER_OK);
    assert_int_equal(cnt1 + cnt2, cnt);
    float scale = 1.0f / (float)cnt;
    assert_int_equal(medner__train_step(c, fx.tp, &h1, NULL, 1, scale, NULL, NULL, NULL),
                     MEDNER_OK);
    assert_int_equal(medner__train_step(c, fx.tp, &h2, NULL, 1, scale, NULL, NULL, NULL),
                     MEDNER_OK);
    assert_true(fabs(l1 + l2 - loss) <= 1e-12 * fabs(loss));
    CHECK_CLOSE(fx.tp->grad, g, n, 1e-5, 1e-8, "two accumulated half-batches vs the full batch");
    /* and the golden still holds for the accumulated gradient */
    size_t n_cmp;
    double w = compare_grads(&fx, "grad.", &fx.grads, fx.tp->grad, &n_cmp);
    assert_true(w <= 1.0);
    free(g);
    medner__train_ctx_free(c);
    free_fixture(&fx);
}

/* The training forward (dropout off) gives the inference encoder's logits:
 * what training optimises is what medner runs. */
static void check_forward_matches_encoder(const char *name)
{
    fixture fx;
    load_fixture(&fx, name);
    medner__tbatch b = batch_of(&fx);
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 1), MEDNER_OK);
    const float *logits = NULL;
    assert_int_equal(medner__train_step(c, fx.tp, &b, NULL, 0, 0.0f, NULL, NULL, &logits),
                     MEDNER_OK);
    char dir[256];
    snprintf(dir, sizeof dir, DATA "/%s", name);
    medner_encoder *e;
    assert_int_equal(medner_encoder_load(&e, dir, NULL), MEDNER_OK);
    medner_context *ec;
    assert_int_equal(medner_context_create(&ec, e), MEDNER_OK);
    const int32_t *ids[8], *types[8];
    for (size_t s = 0, r = 0; s < fx.n_seqs; r += fx.lens[s++]) {
        ids[s] = fx.ids + r;
        types[s] = fx.types + r;
    }
    assert_int_equal(medner_encoder_run(ec, ids, types, fx.lens, fx.n_seqs), MEDNER_OK);
    size_t C = fx.tp->config.num_labels;
    for (size_t s = 0, r = 0; s < fx.n_seqs; r += fx.lens[s++])
        CHECK_CLOSE(logits + r * C, medner_context_logits(ec, s), fx.lens[s] * C, 1e-5, 1e-5,
                    "training forward logits vs the encoder's");
    medner_context_free(ec);
    medner_encoder_free(e);
    medner__train_ctx_free(c);
    free_fixture(&fx);
}

static void test_forward_matches_encoder(void **state)
{
    (void)state;
    check_forward_matches_encoder("bert");
    check_forward_matches_encoder("minilm");
    check_forward_matches_encoder("distilbert");
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "bert");
    medner__trainer_ctx *c;
    assert_int_equal(medner__train_ctx_create(&c, 1), MEDNER_OK);
    medner__tbatch b = batch_of(&fx);
    int32_t keep = fx.labels[4];
    fx.labels[4] = 5; /* 5 labels: 0..4 */
    assert_int_equal(medner__train_step(c, fx.tp, &b, NULL, 1, 0.0f, NULL, NULL, NULL),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "sequence 0, token 4: label 5"));
    fx.labels[4] = keep;
    keep = fx.ids[fx.lens[0] + 2];
    fx.ids[fx.lens[0] + 2] = 48;
    assert_int_equal(medner__train_step(c, fx.tp, &b, NULL, 1, 0.0f, NULL, NULL, NULL),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "sequence 1, token 2: id 48"));
    fx.ids[fx.lens[0] + 2] = keep;
    size_t lens[3] = { 25, 1, 1 };
    medner__tbatch b2 = { fx.ids, NULL, fx.labels, lens, 3 };
    assert_int_equal(medner__train_step(c, fx.tp, &b2, NULL, 1, 0.0f, NULL, NULL, NULL),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "sequence 0 has 25 tokens"));
    /* a model without a head cannot be trained (yet) */
    medner__model *m;
    assert_int_equal(medner__model_load(&m, "tests/data/models/tiny-bert-model"), MEDNER_OK);
    medner__tparams *tp = NULL;
    assert_int_equal(medner__tparams_create(&tp, m), MEDNER_E_INVALID_ARGUMENT);
    assert_null(tp);
    medner__model_free(m);
    medner__train_ctx_free(c);
    free_fixture(&fx);
}

/* ---- allocation failures: every allocation of the whole sequence fails in turn ---- */

typedef struct failing {
    long count, fail_at;
} failing;

static void *fail_alloc(void *u, size_t n)
{
    failing *f = u;
    return ++f->count == f->fail_at ? NULL : malloc(n);
}

static void *fail_realloc(void *u, void *p, size_t n)
{
    failing *f = u;
    return ++f->count == f->fail_at ? NULL : realloc(p, n);
}

static void fail_free(void *u, void *p)
{
    (void)u;
    free(p);
}

/* load, copy the weights, a context with 2 threads, one step, AdamW: 0 or the
 * first failing status (every one must be MEDNER_E_OUT_OF_MEMORY) */
static int train_sequence(const medner__tbatch *b)
{
    medner__model *m = NULL;
    medner__tparams *tp = NULL;
    medner__trainer_ctx *c = NULL;
    medner__adamw o;
    memset(&o, 0, sizeof o);
    int rc = medner__model_load(&m, DATA "/distilbert");
    if (rc == MEDNER_OK)
        rc = medner__tparams_create(&tp, m);
    if (rc == MEDNER_OK)
        rc = medner__train_ctx_create(&c, 2);
    if (rc == MEDNER_OK)
        rc = medner__train_step(c, tp, b, NULL, 1, 0.0f, NULL, NULL, NULL);
    if (rc == MEDNER_OK && (rc = medner__adamw_init(&o, tp)) == MEDNER_OK) {
        medner__adamw_step(&o, tp);
        medner__adamw_release(&o); /* only after a successful init: a failed one frees itself */
    }
    medner__train_ctx_free(c);
    medner__tparams_free(tp);
    medner__model_free(m);
    return rc;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    fixture fx;
    load_fixture(&fx, "distilbert");
    /* the batch in the test's own memory: the fixture is freed before the
     * allocator changes (it may change only with no medner block alive) */
    size_t T = fx.T, n = fx.n_seqs, lens[8];
    int32_t *ids = malloc(T * sizeof *ids), *labels = malloc(T * sizeof *labels);
    memcpy(ids, fx.ids, T * sizeof *ids);
    memcpy(labels, fx.labels, T * sizeof *labels);
    memcpy(lens, fx.lens, sizeof lens);
    free_fixture(&fx);
    medner__tbatch b = { ids, NULL, labels, lens, n };
    failing f;
    long k;
    for (k = 1;; k++) {
        f.count = 0;
        f.fail_at = k;
        medner_allocator a = MEDNER_ALLOCATOR_INIT;
        a.alloc_fn = fail_alloc;
        a.realloc_fn = fail_realloc;
        a.free_fn = fail_free;
        a.user_data = &f;
        assert_int_equal(medner_allocator_set(&a), MEDNER_OK);
        int rc = train_sequence(&b);
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
        if (rc == MEDNER_OK && f.count < k)
            break; /* the whole sequence ran without reaching allocation k */
        if (rc == MEDNER_OK)
            continue; /* a failure the code absorbs: a worker thread not started (par.c) */
        if (rc != MEDNER_E_OUT_OF_MEMORY)
            fail_msg("allocation %ld failing: status %d (%s)", k, rc, medner_last_error());
    }
    assert_true(k > 10);
    print_message("each of %ld allocations failing in turn: out of memory (or absorbed), nothing "
                  "leaked\n",
                  k - 1);
    free(ids), free(labels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_embeddings),
        cmocka_unit_test(test_cross_entropy),
        cmocka_unit_test(test_dropout_kernel),
        cmocka_unit_test(test_schedule_and_clip),
        cmocka_unit_test(test_gradients_bert),
        cmocka_unit_test(test_gradients_minilm),
        cmocka_unit_test(test_gradients_distilbert),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_adamw_fixed), cmocka_unit_test(test_adamw_isa),
        cmocka_unit_test(test_adamw_step_par),
        cmocka_unit_test(test_dropout_model),
        cmocka_unit_test(test_dropout_gradients),
        cmocka_unit_test(test_accumulation),
        cmocka_unit_test(test_forward_matches_encoder),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
