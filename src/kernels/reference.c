/*
 * Naive reference twins of the optimised kernels, for tests and benchmarks:
 * textbook loops, accumulation and transcendental functions in double, one
 * rounding to fp32 at the end. Not used by the forward pass.
 */
#include <math.h>

#include "common/common.h"
#include "kernels/kernels.h"

void medner__linear_ref(float *y, size_t ldy, const float *x, size_t ldx, const float *w,
                        const float *b, size_t M, size_t N, size_t K)
{
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double s = b ? b[n] : 0.0;
            for (size_t k = 0; k < K; k++)
                s += (double)x[m * ldx + k] * (double)w[n * K + k];
            y[m * ldy + n] = (float)s;
        }
}

void medner__add_layernorm_ref(float *x, const float *residual, const float *gamma,
                               const float *beta, size_t rows, size_t cols, float eps)
{
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * cols;
        if (residual)
            for (size_t j = 0; j < cols; j++)
                v[j] = v[j] + residual[r * cols + j]; /* fp32 add, as PyTorch */
        double mean = 0.0, var = 0.0;
        for (size_t j = 0; j < cols; j++)
            mean += v[j];
        mean /= (double)cols;
        for (size_t j = 0; j < cols; j++)
            var += ((double)v[j] - mean) * ((double)v[j] - mean);
        var /= (double)cols; /* biased */
        double rstd = 1.0 / sqrt(var + (double)eps);
        for (size_t j = 0; j < cols; j++)
            v[j] = (float)(((double)v[j] - mean) * rstd * gamma[j] + beta[j]);
    }
}

void medner__gelu_ref(float *x, size_t n)
{
    /* x/2 (1 + erf(x/sqrt2)) written with erfc, which keeps its relative
     * accuracy for x << 0 */
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        x[i] = (float)(0.5 * v * erfc(-v * M_SQRT1_2));
    }
}

void medner__gelu_tanh_ref(float *x, size_t n)
{
    /* x/2 (1 + tanh u) = x / (1 + exp(-2u)), the second form without the
     * cancellation of 1 + tanh u for x << 0 */
    const double c = sqrt(2.0 / M_PI);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double u = c * (v + 0.044715 * v * v * v);
        x[i] = (float)(v / (1.0 + exp(-2.0 * u)));
    }
}

void medner__relu_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] < 0.0f)
            x[i] = 0.0f;
}

void medner__softmax_ref(float *x, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * cols;
        float mx = -INFINITY;
        for (size_t j = 0; j < cols; j++)
            if (v[j] > mx)
                mx = v[j];
        double sum = 0.0;
        for (size_t j = 0; j < cols; j++)
            sum += exp((double)v[j] - mx);
        for (size_t j = 0; j < cols; j++)
            v[j] = (float)(exp((double)v[j] - mx) / sum);
    }
}

void medner__attention_ref(float *out, size_t ldo, const float *q, const float *k,
                           const float *v, size_t ld, size_t L, size_t H, size_t D, float scale)
{
    double *p = medner__malloc(L * sizeof *p); /* test-only code: no status to return */
    if (!p)
        return;
    for (size_t h = 0; h < H; h++)
        for (size_t i = 0; i < L; i++) {
            double mx = -INFINITY, sum = 0.0;
            for (size_t j = 0; j < L; j++) {
                double s = 0.0;
                for (size_t d = 0; d < D; d++)
                    s += (double)q[i * ld + h * D + d] * k[j * ld + h * D + d];
                p[j] = s * scale;
                if (p[j] > mx)
                    mx = p[j];
            }
            for (size_t j = 0; j < L; j++)
                sum += p[j] = exp(p[j] - mx);
            for (size_t d = 0; d < D; d++) {
                double o = 0.0;
                for (size_t j = 0; j < L; j++)
                    o += p[j] * v[j * ld + h * D + d];
                out[i * ldo + h * D + d] = (float)(o / sum);
            }
        }
    medner__free(p);
}
