/* Placeholder until the i8 kernels land: packing reports "unsupported". */
#include "kernels/qgemm_internal.h"

int medner__qweight_pack_i8(medner__qweight *out, const float *const *ws, const float *const *bs,
                            size_t count, size_t n_each, size_t K)
{
    (void)out; (void)ws; (void)bs; (void)count; (void)n_each; (void)K;
    return -2;
}
void medner__qgemm_i8(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                      size_t n0, size_t n1, float *scratch, int native)
{
    (void)y; (void)ldy; (void)xp; (void)M; (void)w; (void)n0; (void)n1; (void)scratch; (void)native;
}
size_t medner__qgemm_scratch_i8(size_t K) { (void)K; return 0; }
int medner__qgemm_native_i8(void) { return 0; }
