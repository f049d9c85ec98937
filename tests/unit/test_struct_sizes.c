/* Versioned structs (docs/abi-policy.md, rule 6; src/common/struct_sizes.h):
 * every function taking a params struct accepts any struct_size from the
 * struct's first released size upward and refuses a smaller one; every
 * getter fills min(struct_size, sizeof) bytes and leaves the caller's
 * struct_size and the bytes beyond alone. The caller compiled against the
 * v0.1.0 header (tests/abi/old_caller.c, run by `make check-abi` and by the
 * ABI gate against a library whose structs grew) covers the other side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

#define TINY "tests/data/models/tiny-bert-tc"
#define GUARD 0xA5
#define NEWER 16 /* bytes a newer header appended, as far as this library knows */

static medner_pipeline *pipe_;
static medner_tokenizer *tok_;
static medner_encoding *enc_;
static medner_entities *ents_;

static int setup(void **state)
{
    (void)state;
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = TINY;
    pp.max_length = 16;
    pp.overlap = 4;
    pp.batch_size = 3;
    medner_context *c = NULL;
    static const char text[] = "History of type 2 diabetes mellitus and BRCA1-associated breast "
                               "cancer; started amoxicillin 500 mg.";
    const char *t = text;
    size_t len = sizeof text - 1;
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.max_length = 16;
    int ok = medner_pipeline_create(&pipe_, &pp) == MEDNER_OK &&
             medner_pipeline_context_create(&c, pipe_) == MEDNER_OK &&
             medner_pipeline_annotate(&ents_, pipe_, c, &t, &len, 1) == MEDNER_OK &&
             medner_entities_count(ents_) > 0 &&
             medner_tokenizer_load(&tok_, TINY, NULL) == MEDNER_OK &&
             medner_tokenizer_encode(&enc_, tok_, text, len, &ep) == MEDNER_OK;
    medner_context_free(c);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    medner_entities_free(ents_);
    medner_encoding_free(enc_);
    medner_tokenizer_free(tok_);
    medner_pipeline_free(pipe_);
    return 0;
}

/* A caller's buffer: the struct, then NEWER bytes only a newer header knows
 * about, then guard bytes nobody may touch. */
typedef struct buffer {
    unsigned char bytes[512];
} buffer;

/* Call `get` with struct_size `size` on a buffer filled with GUARD; the
 * bytes from `size` on must stay GUARD and struct_size must stay `size`. */
typedef int (*getter)(void *out);

static int get_tokenizer_params(void *out) { return medner_tokenizer_get_params(tok_, out); }
static int get_window(void *out) { return medner_encoding_window(enc_, 1, out); }
static int get_encoder_info(void *out)
{
    return medner_encoder_get_info(medner_pipeline_encoder(pipe_), out);
}
static int get_entity(void *out) { return medner_entities_get(ents_, 0, out); }
static int get_pipeline_params(void *out) { return medner_pipeline_get_params(pipe_, out); }

static int call_with_size(getter get, size_t size, buffer *b)
{
    memset(b->bytes, GUARD, sizeof b->bytes);
    memcpy(b->bytes, &size, sizeof size);
    return get(b->bytes);
}

static void check_getter(const char *name, getter get, size_t current, size_t released)
{
    buffer full, b;
    /* the library's own size: the reference result */
    assert_int_equal(call_with_size(get, current, &full), MEDNER_OK);
    /* sizes from the released one up to a newer header's: filled up to
     * min(struct_size, current), struct_size and the rest left alone */
    for (size_t size = released; size <= current + NEWER; size += sizeof(size_t)) {
        if (call_with_size(get, size, &b) != MEDNER_OK)
            fail_msg("%s: struct_size %zu refused: %s", name, size, medner_last_error());
        size_t got;
        memcpy(&got, b.bytes, sizeof got);
        if (got != size)
            fail_msg("%s: struct_size %zu rewritten to %zu", name, size, got);
        size_t filled = size < current ? size : current;
        if (memcmp(b.bytes + sizeof(size_t), full.bytes + sizeof(size_t),
                   filled - sizeof(size_t)) != 0)
            fail_msg("%s: struct_size %zu: the known fields differ", name, size);
        for (size_t i = filled; i < sizeof b.bytes; i++)
            if (b.bytes[i] != GUARD)
                fail_msg("%s: struct_size %zu: byte %zu beyond it was written", name, size, i);
    }
    /* below the first released size (or misaligned): refused, nothing written */
    size_t bad[] = { 0, sizeof(size_t), released - sizeof(size_t), released + 1 };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        if (call_with_size(get, bad[k], &b) != MEDNER_E_INVALID_ARGUMENT)
            fail_msg("%s: struct_size %zu accepted", name, bad[k]);
        for (size_t i = sizeof(size_t); i < sizeof b.bytes; i++)
            assert_int_equal(b.bytes[i], GUARD);
    }
}

static void test_getters(void **state)
{
    (void)state;
    check_getter("medner_tokenizer_get_params", get_tokenizer_params,
                 sizeof(medner_tokenizer_params), MEDNER__SIZE_V0_1_TOKENIZER_PARAMS);
    check_getter("medner_encoding_window", get_window, sizeof(medner_window),
                 MEDNER__SIZE_V0_1_WINDOW);
    check_getter("medner_encoder_get_info", get_encoder_info, sizeof(medner_encoder_info),
                 MEDNER__SIZE_V0_1_ENCODER_INFO);
    check_getter("medner_entities_get", get_entity, sizeof(medner_entity),
                 MEDNER__SIZE_V0_1_ENTITY);
    check_getter("medner_pipeline_get_params", get_pipeline_params,
                 sizeof(medner_pipeline_params), MEDNER__SIZE_V0_1_PIPELINE_PARAMS);
}

/* Params structs: the released size and a newer one with a zero tail are
 * accepted, one word less than the released size is refused. */
typedef struct params_buf {
    union {
        medner_tokenizer_params tp;
        medner_encode_params ep;
        medner_encoder_params encp;
        medner_decoder_params dp;
        medner_pipeline_params pp;
        medner_allocator a;
        unsigned char bytes[512];
    } u;
} params_buf;

static int try_params(int which, size_t size)
{
    params_buf b;
    memset(&b, 0, sizeof b);
    medner_tokenizer *t = NULL;
    medner_encoding *e = NULL;
    medner_encoder *enc = NULL;
    medner_decoder *d = NULL;
    medner_pipeline *p = NULL;
    static const char *const labels[] = { "O", "B-X", "I-X" };
    int rc;
    switch (which) {
    case 0:
        b.u.tp.struct_size = size;
        rc = medner_tokenizer_load(&t, TINY, &b.u.tp);
        break;
    case 1:
        b.u.ep.struct_size = size;
        b.u.ep.max_length = 8;
        rc = medner_tokenizer_encode(&e, tok_, "fever and cough", 15, &b.u.ep);
        if (rc == MEDNER_OK && medner_encoding_num_windows(e) < 2)
            rc = MEDNER_E_INTERNAL; /* max_length was not read */
        break;
    case 2:
        b.u.encp.struct_size = size;
        rc = medner_encoder_load(&enc, TINY, &b.u.encp);
        break;
    case 3:
        b.u.dp.struct_size = size;
        rc = medner_decoder_create(&d, labels, 3, &b.u.dp);
        break;
    case 4:
        b.u.pp.struct_size = size;
        b.u.pp.model_dir = TINY;
        b.u.pp.max_length = 16;
        rc = medner_pipeline_create(&p, &b.u.pp);
        break;
    default:
        b.u.a.struct_size = size;
        b.u.a.alloc_fn = NULL; /* all NULL: refused after the size check */
        rc = medner_allocator_set(&b.u.a);
        if (rc == MEDNER_E_INVALID_ARGUMENT && strstr(medner_last_error(), "struct_size"))
            return rc;
        return rc == MEDNER_E_INVALID_ARGUMENT ? MEDNER_OK : rc;
    }
    medner_tokenizer_free(t);
    medner_encoding_free(e);
    medner_encoder_free(enc);
    medner_decoder_free(d);
    medner_pipeline_free(p);
    return rc;
}

static void test_params(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t current, released;
    } s[] = {
        { "medner_tokenizer_params", sizeof(medner_tokenizer_params),
          MEDNER__SIZE_V0_1_TOKENIZER_PARAMS },
        { "medner_encode_params", sizeof(medner_encode_params), MEDNER__SIZE_V0_1_ENCODE_PARAMS },
        { "medner_encoder_params", sizeof(medner_encoder_params),
          MEDNER__SIZE_PRE_0_1_ENCODER_PARAMS },
        { "medner_decoder_params", sizeof(medner_decoder_params),
          MEDNER__SIZE_V0_1_DECODER_PARAMS },
        { "medner_pipeline_params", sizeof(medner_pipeline_params),
          MEDNER__SIZE_V0_1_PIPELINE_PARAMS },
        { "medner_allocator", sizeof(medner_allocator), MEDNER__SIZE_V0_1_ALLOCATOR },
    };
    for (int k = 0; k < 6; k++) {
        for (size_t size = s[k].released; size <= s[k].current + NEWER; size += sizeof(size_t))
            if (try_params(k, size) != MEDNER_OK)
                fail_msg("%s: struct_size %zu refused: %s", s[k].name, size, medner_last_error());
        if (try_params(k, s[k].released - sizeof(size_t)) != MEDNER_E_INVALID_ARGUMENT)
            fail_msg("%s: struct_size %zu accepted", s[k].name, s[k].released - sizeof(size_t));
    }
    /* the released sizes do not exceed the structs (they only grow) */
    assert_true(MEDNER__SIZE_V0_1_WINDOW <= sizeof(medner_window));
    assert_true(MEDNER__SIZE_V0_1_ENTITY <= sizeof(medner_entity));
    assert_true(MEDNER__SIZE_V0_1_ENCODER_INFO <= sizeof(medner_encoder_info));
    assert_true(MEDNER__SIZE_V0_1_ENCODER_PARAMS <= sizeof(medner_encoder_params));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests_name("struct_sizes", tests, setup, teardown);
}
