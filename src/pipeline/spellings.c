/* The 0.3 spellings of the struct getters (issue 19 item 5): out-parameters
 * first, named after the struct they fill (medner_<struct>_get, the twin of
 * medner_<struct>_default). Each calls the 0.1 function it replaces, which
 * stays exported and documented as deprecated. */
#include "common/common.h"

int medner_tokenizer_params_get(medner_tokenizer_params *out, const medner_tokenizer *tokenizer)
{
    return medner_tokenizer_get_params(tokenizer, out);
}

int medner_window_get(medner_window *out, const medner_encoding *encoding, size_t index)
{
    return medner_encoding_window(encoding, index, out);
}

int medner_encoder_info_get(medner_encoder_info *out, const medner_encoder *encoder)
{
    return medner_encoder_get_info(encoder, out);
}

int medner_entity_get(medner_entity *out, const medner_entities *entities, size_t index)
{
    return medner_entities_get(entities, index, out);
}

int medner_entity_span_codepoints(size_t *begin, size_t *end, const medner_entities *entities,
                                  size_t index)
{
    return medner_entities_span_codepoints(entities, index, begin, end);
}

int medner_entity_span_utf16(size_t *begin, size_t *end, const medner_entities *entities,
                             size_t index)
{
    return medner_entities_span_utf16(entities, index, begin, end);
}

int medner_span_get(size_t *begin, size_t *end, int32_t *category, const medner_spans *spans,
                    size_t index)
{
    return medner_spans_get(spans, index, begin, end, category);
}

int medner_pipeline_params_get(medner_pipeline_params *out, const medner_pipeline *pipeline)
{
    return medner_pipeline_get_params(pipeline, out);
}
