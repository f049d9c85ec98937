/* medner_*_params_default(): each params struct filled as its _INIT macro
 * fills it, for callers that cannot use the macros (FFI: ctypes, Java FFM,
 * C#). They fill the caller's struct_size bytes, so a caller built against
 * an older or newer header gets the defaults of the members it has. */
#include <string.h>

#include "common.h"

static int fill(void *out, size_t struct_size, const void *init, size_t init_size,
                size_t min_size, const char *what)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: out is NULL", what);
    if (struct_size < min_size || struct_size % sizeof(size_t) != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "%s: struct_size %zu is not a valid size (%zu to %zu in this "
                            "version, or larger from a newer header)",
                            what, struct_size, min_size, init_size);
    memset(out, 0, struct_size); /* members from a newer header: zero = their default */
    memcpy(out, init, struct_size < init_size ? struct_size : init_size);
    memcpy(out, &struct_size, sizeof struct_size);
    return MEDNER_OK;
}

#define DEFINE_DEFAULT(fn, type, INIT, MIN)                                               \
    int fn(type *out, size_t struct_size)                                                 \
    {                                                                                     \
        const type init = INIT;                                                           \
        return fill(out, struct_size, &init, sizeof init, MIN, #fn);                      \
    }

DEFINE_DEFAULT(medner_tokenizer_params_default, medner_tokenizer_params,
               MEDNER_TOKENIZER_PARAMS_INIT, MEDNER__SIZE_V0_1_TOKENIZER_PARAMS)
DEFINE_DEFAULT(medner_encode_params_default, medner_encode_params, MEDNER_ENCODE_PARAMS_INIT,
               MEDNER__SIZE_V0_1_ENCODE_PARAMS)
DEFINE_DEFAULT(medner_encoder_params_default, medner_encoder_params,
               MEDNER_ENCODER_PARAMS_INIT, MEDNER__SIZE_V0_1_ENCODER_PARAMS)
DEFINE_DEFAULT(medner_decoder_params_default, medner_decoder_params,
               MEDNER_DECODER_PARAMS_INIT, MEDNER__SIZE_V0_1_DECODER_PARAMS)
DEFINE_DEFAULT(medner_pipeline_params_default, medner_pipeline_params,
               MEDNER_PIPELINE_PARAMS_INIT, MEDNER__SIZE_V0_1_PIPELINE_PARAMS)
