/*
 * Sizes of the versioned public structs (docs/abi-policy.md, rule 6).
 *
 * MEDNER__SIZE_V0_1_<STRUCT> is the size of the struct as released in medner
 * 0.1.0 (tag v0.1.0, header kept in tests/abi/v0.1.0/medner.h, ABI in
 * tests/abi/libmedner.abi): the smallest struct_size the library accepts from
 * a caller. It is computed from the last field of that release, so it does
 * not move when fields are appended, and pinned to its value on 64-bit Linux
 * (LP64) below. A struct_size below it is refused; anything from it upward is
 * accepted (params: missing fields take their defaults, unknown trailing
 * bytes must be zero; getters fill min(struct_size, sizeof) bytes and leave
 * the rest of the caller's struct alone).
 *
 * MEDNER__NO_TAIL_PADDING(struct, last field) guards the newest layout: a
 * struct must end with its last field, so that a field appended later never
 * lands in tail padding that an older caller left uninitialised. Whoever
 * appends a field names it here (and leaves the V0_1 line alone).
 */
#ifndef MEDNER_STRUCT_SIZES_H
#define MEDNER_STRUCT_SIZES_H

#include <stddef.h>
#include <stdint.h>

#include "medner.h"

#define MEDNER__END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

#define MEDNER__SIZE_V0_1_ALLOCATOR        MEDNER__END_OF(medner_allocator, user_data)
#define MEDNER__SIZE_V0_1_TOKENIZER_PARAMS MEDNER__END_OF(medner_tokenizer_params, mask_token)
#define MEDNER__SIZE_V0_1_ENCODE_PARAMS    MEDNER__END_OF(medner_encode_params, reserved)
#define MEDNER__SIZE_V0_1_WINDOW           MEDNER__END_OF(medner_window, first_token)
#define MEDNER__SIZE_V0_1_ENCODER_PARAMS   MEDNER__END_OF(medner_encoder_params, adapter_dir)
#define MEDNER__SIZE_V0_1_ENCODER_INFO     MEDNER__END_OF(medner_encoder_info, layer_norm_eps)
#define MEDNER__SIZE_V0_1_DECODER_PARAMS   MEDNER__END_OF(medner_decoder_params, n_renames)
#define MEDNER__SIZE_V0_1_ENTITY           MEDNER__END_OF(medner_entity, n_tokens)
#define MEDNER__SIZE_V0_1_PIPELINE_PARAMS  MEDNER__END_OF(medner_pipeline_params, decoder)

/* medner_encoder_params without adapter_dir (threads and reserved only):
 * accepted since before 0.1.0 (adapters came later in the same release
 * cycle); kept so that nothing once accepted is refused. */
#define MEDNER__SIZE_PRE_0_1_ENCODER_PARAMS MEDNER__END_OF(medner_encoder_params, reserved)

#if defined(__LP64__) && SIZE_MAX == UINT64_MAX
_Static_assert(MEDNER__SIZE_V0_1_ALLOCATOR == 40, "released size of medner_allocator");
_Static_assert(MEDNER__SIZE_V0_1_TOKENIZER_PARAMS == 72, "released size of medner_tokenizer_params");
_Static_assert(MEDNER__SIZE_V0_1_ENCODE_PARAMS == 24, "released size of medner_encode_params");
_Static_assert(MEDNER__SIZE_V0_1_WINDOW == 72, "released size of medner_window");
_Static_assert(MEDNER__SIZE_V0_1_ENCODER_PARAMS == 24, "released size of medner_encoder_params");
_Static_assert(MEDNER__SIZE_V0_1_ENCODER_INFO == 136, "released size of medner_encoder_info");
_Static_assert(MEDNER__SIZE_V0_1_DECODER_PARAMS == 88, "released size of medner_decoder_params");
_Static_assert(MEDNER__SIZE_V0_1_ENTITY == 56, "released size of medner_entity");
_Static_assert(MEDNER__SIZE_V0_1_PIPELINE_PARAMS == 64, "released size of medner_pipeline_params");
_Static_assert(MEDNER__SIZE_PRE_0_1_ENCODER_PARAMS == 16, "pre-0.1 size of medner_encoder_params");
#endif

#define MEDNER__NO_TAIL_PADDING(type, last)                                               \
    _Static_assert(sizeof(type) == MEDNER__END_OF(type, last), #type " must end with " #last \
                   " (no tail padding; name the newest last field here)")

MEDNER__NO_TAIL_PADDING(medner_allocator, user_data);
MEDNER__NO_TAIL_PADDING(medner_tokenizer_params, mask_token);
MEDNER__NO_TAIL_PADDING(medner_encode_params, reserved);
MEDNER__NO_TAIL_PADDING(medner_window, first_token);
MEDNER__NO_TAIL_PADDING(medner_encoder_params, reserved2);
MEDNER__NO_TAIL_PADDING(medner_encoder_info, kernels);
MEDNER__NO_TAIL_PADDING(medner_decoder_params, reserved2);
MEDNER__NO_TAIL_PADDING(medner_entity, sentence);
MEDNER__NO_TAIL_PADDING(medner_pipeline_params, tokenizer);

/* Fill a caller's output struct `out` (whose first field is its struct_size)
 * from `full`, a complete struct of this library's version of `full_size`
 * bytes: bytes [sizeof(size_t), min(out->struct_size, full_size)) are copied;
 * out->struct_size and every byte beyond are left alone. Fails with
 * MEDNER_E_INVALID_ARGUMENT (naming `what`) when out->struct_size is below
 * min_size (the struct's first released size) or not a multiple of
 * sizeof(size_t). */
int medner__struct_out(void *out, const void *full, size_t full_size, size_t min_size,
                       const char *what);

#endif
