/*
 * Per-precision halves of the reduced-precision products (private to
 * src/kernels): qgemm.c dispatches to qgemm_bf16.c and qgemm_i8.c. Each pack
 * function fills the whole medner__qweight (kernels.h gives the layout and
 * the numerics) or leaves *out untouched on failure; each product takes
 * `native` (1: the instruction-set kernel, which the caller has checked the
 * CPU and the level support; 0: the portable twin). Which one runs is the
 * dispatch table's choice (dispatch.h: qgemm_bf16, qgemm_i8 and their
 * native flags, filled by each file's medner__qgemm_*_kfns).
 */
#ifndef MEDNER_QGEMM_INTERNAL_H
#define MEDNER_QGEMM_INTERNAL_H

#include "kernels/kernels.h"

int medner__qweight_pack_bf16(medner__qweight *out, const float *const *ws,
                              const float *const *bs, size_t count, size_t n_each, size_t K);
void medner__qgemm_bf16(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                        size_t n0, size_t n1, float *scratch, int native);
void medner__qgemm_i8(float *y, size_t ldy, const float *xp, size_t M, const medner__qweight *w,
                      size_t n0, size_t n1, float *scratch, int native);
size_t medner__qgemm_scratch_bf16(size_t K);
size_t medner__qgemm_scratch_i8(size_t K);

#endif
