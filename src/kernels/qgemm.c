/*
 * Reduced-precision products: dispatch by precision to qgemm_bf16.c and
 * qgemm_i8.c, through the level's dispatch table (dispatch.h) for the
 * instruction-set kernels (kernels.h documents layouts and numerics).
 */
#include "kernels/dispatch.h"
#include "kernels/qgemm_internal.h"

int medner__qweight_pack(medner__qweight *out, int prec, const float *const *ws,
                         const float *const *bs, size_t count, size_t n_each, size_t K)
{
    switch (prec) {
    case MEDNER__PREC_BF16: return medner__qweight_pack_bf16(out, ws, bs, count, n_each, K);
    case MEDNER__PREC_INT8:
        if (K > MEDNER__QI8_MAX_K)
            return -2;
        return medner__kfns_get()->qpack_i8(out, ws, bs, count, n_each, K);
    default: return -2;
    }
}

void medner__qweight_free(medner__qweight *w)
{
    if (w == NULL)
        return;
    medner__free(w->raw);
    medner__free(w->bias);
    medner__free(w->scale);
    medner__free(w->comp);
    w->raw = w->data = NULL;
    w->bias = w->scale = NULL;
    w->comp = NULL;
}

int medner__qgemm_native(int prec)
{
    const medner__kfns *t = medner__kfns_get();
    switch (prec) {
    case MEDNER__PREC_BF16: return t->qgemm_bf16_native;
    case MEDNER__PREC_INT8: return t->qgemm_i8_native;
    default: return 0;
    }
}

const char *medner__qgemm_kernels_name(int prec)
{
    if (prec != MEDNER__PREC_BF16 && prec != MEDNER__PREC_INT8)
        return medner__kfns_get()->name;
    if (!medner__qgemm_native(prec))
        return "portable";
    return prec == MEDNER__PREC_INT8 ? "avx512_vnni" : "avx512_bf16";
}

void medner__qgemm(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                   size_t n0, size_t n1, float *scratch)
{
    if (M == 0 || n1 <= n0)
        return;
    const medner__kfns *t = medner__kfns_get();
    if (w->prec == MEDNER__PREC_BF16)
        t->qgemm_bf16(y, ldy, xp, M, w, n0, n1, scratch);
    else if (w->prec == MEDNER__PREC_INT8)
        t->qgemm_i8(y, ldy, xp, M, w, n0, n1, scratch);
}

void medner__qgemm_portable(float *y, size_t ldy, const float *xp, size_t M,
                            const medner__qweight *w, size_t n0, size_t n1, float *scratch)
{
    if (M == 0 || n1 <= n0)
        return;
    if (w->prec == MEDNER__PREC_BF16)
        medner__qgemm_bf16(y, ldy, xp, M, w, n0, n1, scratch, 0);
    else if (w->prec == MEDNER__PREC_INT8)
        medner__qgemm_i8(y, ldy, xp, M, w, n0, n1, scratch, 0);
}

size_t medner__qgemm_scratch(int prec, size_t K)
{
    switch (prec) {
    case MEDNER__PREC_BF16: return medner__qgemm_scratch_bf16(K);
    case MEDNER__PREC_INT8: return medner__qgemm_scratch_i8(K);
    default: return 0;
    }
}
