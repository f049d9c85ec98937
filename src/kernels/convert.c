/*
 * Embedding lookup and conversions of stored half-precision tensors to fp32.
 * Plain loops: embeddings are memory-bound and conversions run once at load.
 */
#include <string.h>

#include "kernels/kernels.h"

void medner__embed(float *out, const int32_t *ids, const int32_t *type_ids,
                   const int32_t *positions, size_t n, const float *word, const float *pos,
                   const float *type, size_t dim)
{
    for (size_t i = 0; i < n; i++) {
        float *o = out + i * dim;
        const float *w = word + (size_t)ids[i] * dim;
        const float *p = pos + (size_t)positions[i] * dim;
        if (type) {
            /* Hugging Face BertEmbeddings: (word + token_type) + position */
            const float *t = type + (size_t)(type_ids ? type_ids[i] : 0) * dim;
            for (size_t j = 0; j < dim; j++)
                o[j] = (w[j] + t[j]) + p[j];
        } else {
            for (size_t j = 0; j < dim; j++)
                o[j] = w[j] + p[j];
        }
    }
}

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE binary16 -> binary32, exact for every pattern: normal numbers rebias
 * the exponent; subnormals (m * 2^-24) are scaled exactly in fp32; inf and
 * NaN keep their payload (not quietened, as PyTorch's conversion). */
void medner__f16_to_f32(float *out, const uint16_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = in[i];
        uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
        uint32_t bits;
        if (exp == 0x1fu) {
            bits = sign | 0x7f800000u | (mant << 13);
        } else if (exp != 0) {
            bits = sign | ((exp + 112u) << 23) | (mant << 13);
        } else {
            /* 0 or subnormal: mant * 2^-24, exact in fp32 */
            float f = (float)mant * 0x1p-24f;
            uint32_t fb;
            memcpy(&fb, &f, sizeof fb);
            bits = sign | fb;
        }
        out[i] = bits_to_float(bits);
    }
}

void medner__bf16_to_f32(float *out, const uint16_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = bits_to_float((uint32_t)in[i] << 16);
}
