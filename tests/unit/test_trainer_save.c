/*
 * Trainer, phase 2 (issue 18): the safetensors writer and Hugging Face model
 * directories (src/train/save.h).
 *  - a safetensors file written here is read back by medner's own reader
 *    (src/model/safetensors.c): names sorted, shapes, offsets, bytes;
 *    header length a multiple of 8; duplicate/empty names refused, and an
 *    existing file stays as it was after a failed write;
 *  - tparams -> HF directory -> medner__model_load: every tensor bitwise
 *    equal, labels and architecture as written, tokenizer files copied; a
 *    base without a head gets one (labels of the trainer).
 * The transformers side of the round trip: tests/reference/check_hf_roundtrip.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "medner.h"
#include "model/model.h"
#include "train/save.h"
#include "train/train.h"

#include "tmpdir.h"

static char *path_in(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void test_safetensors_roundtrip(void **state)
{
    (void)state;
    tmpdir_make("st");
    const float a[6] = { 1, 2, 3, 4, 5, -6.5f }, b[3] = { 0.25f, -1e-30f, 3e30f }, c[1] = { 7 };
    const size_t sa[2] = { 2, 3 }, sb[1] = { 3 };
    const char *names[3] = { "z.weight", "a.bias", "scalar" };
    const size_t *shapes[3] = { sa, sb, NULL };
    const unsigned char nd[3] = { 2, 1, 0 };
    const float *data[3] = { a, b, c };
    char *p = path_in("x.safetensors");
    assert_int_equal(medner__safetensors_write(p, 3, names, shapes, nd, data), MEDNER_OK);
    medner__st_file f;
    assert_int_equal(medner__st_open(&f, p), MEDNER_OK);
    assert_int_equal(f.n_tensors, 3);
    /* header length multiple of 8, data sorted by name: a.bias first */
    uint64_t hl = 0;
    memcpy(&hl, f.map.base, 8);
    assert_int_equal(hl % 8, 0);
    static const char head[] = "{\"__metadata__\":{\"format\":\"pt\"},\"a.bias\":";
    assert_memory_equal(f.map.base + 8, head, sizeof head - 1);
    const medner__st_tensor *t = medner__st_find(&f, "a.bias", 6);
    assert_non_null(t);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->ndim, 1);
    assert_memory_equal(t->data, b, sizeof b);
    t = medner__st_find(&f, "scalar", 6);
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->begin, 12);
    assert_memory_equal(t->data, c, sizeof c);
    t = medner__st_find(&f, "z.weight", 8);
    assert_non_null(t);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->begin, 16);
    assert_memory_equal(t->data, a, sizeof a);
    medner__st_close(&f, 0);

    /* a refused write leaves the existing file as it was, no temporary behind */
    const char *dup[3] = { "z.weight", "a.bias", "z.weight" };
    assert_int_equal(medner__safetensors_write(p, 3, dup, shapes, nd, data),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "appears twice"));
    const char *empty[1] = { "" };
    assert_int_equal(medner__safetensors_write(p, 1, empty, shapes, nd, data),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__st_open(&f, p), MEDNER_OK);
    assert_int_equal(f.n_tensors, 3);
    medner__st_close(&f, 0);
    /* an unwritable place: MEDNER_E_IO naming the path */
    assert_int_equal(medner__safetensors_write("/nonexistent-dir/x.safetensors", 3, names, shapes,
                                               nd, data),
                     MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "/nonexistent-dir/x.safetensors"));
    tmpdir_remove();
}

static void compare_models(medner__model *a, const medner__tparams *t)
{
    for (size_t s = 0; s < t->n_slots; s++) {
        const float *w = *medner__model_slot_ptr(a, s);
        if (t->numel[s] == 0) {
            assert_null(w);
            continue;
        }
        assert_non_null(w);
        assert_memory_equal(w, t->param + t->off[s], t->numel[s] * sizeof(float));
    }
}

static void test_save_hf(void **state)
{
    (void)state;
    tmpdir_make("hf");
    medner__model *m = NULL, *back = NULL;
    medner__tparams *t = NULL;
    assert_int_equal(medner__model_load(&m, "tests/data/models/tiny-bert-tc"), MEDNER_OK);
    assert_int_equal(medner__tparams_create(&t, m), MEDNER_OK);
    /* training changes the weights: make them differ from the base */
    for (size_t i = 0; i < t->n; i++)
        t->param[i] += 1e-3f * (float)(i % 7);
    char name[256];
    assert_int_equal(medner__slot_hf_name(m, 7, name, sizeof name), 0);
    assert_string_equal(name, "bert.encoder.layer.0.attention.self.query.weight");
    assert_int_equal(medner__slot_hf_name(m, MEDNER__SLOT_CLS_B, name, sizeof name), 0);
    assert_string_equal(name, "classifier.bias");
    assert_int_equal(medner__tparams_save_hf(t, m, "tests/data/models/tiny-bert-tc", tmpdir),
                     MEDNER_OK);
    assert_int_equal(medner__model_load(&back, tmpdir), MEDNER_OK);
    assert_int_equal(back->config.num_labels, m->config.num_labels);
    for (size_t i = 0; i < m->config.num_labels; i++)
        assert_string_equal(back->config.labels[i], m->config.labels[i]);
    assert_string_equal(back->config.architecture, "BertForTokenClassification");
    compare_models(back, t);
    assert_true(medner__file_exists(path_in("vocab.txt")));
    assert_true(medner__file_exists(path_in("tokenizer_config.json")));
    medner__model_free(back);
    medner__tparams_free(t);
    t = NULL;

    /* a base without a head: a view with a new head of 3 labels */
    medner__model *base = NULL;
    assert_int_equal(medner__model_load(&base, "tests/data/models/tiny-bert-model"), MEDNER_OK);
    assert_null(base->weights.cls_w);
    size_t H = base->config.hidden;
    float *cw = calloc(3 * H, sizeof(float)), cb[3] = { 0.5f, -0.5f, 0 };
    for (size_t i = 0; i < 3 * H; i++)
        cw[i] = (float)i / 100.0f;
    char *labels[3] = { "B-X", "I-X", "O" };
    medner__model view = *base;
    view.config.num_labels = 3;
    view.config.labels = labels;
    view.config.head = MEDNER__HEAD_REQUIRED;
    view.weights.cls_w = cw;
    view.weights.cls_b = cb;
    assert_int_equal(medner__tparams_create(&t, &view), MEDNER_OK);
    assert_int_equal(medner__tparams_save_hf(t, &view, "tests/data/models/tiny-bert-model", tmpdir),
                     MEDNER_OK);
    assert_int_equal(medner__model_load(&back, tmpdir), MEDNER_OK);
    assert_int_equal(back->config.num_labels, 3);
    assert_string_equal(back->config.labels[0], "B-X");
    assert_string_equal(back->config.labels[2], "O");
    compare_models(back, t);
    medner__model_free(back);
    medner__tparams_free(t);
    medner__model_free(base);
    medner__model_free(m);
    free(cw);
    /* a base directory without config.json: MEDNER_E_IO naming it */
    tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_roundtrip),
        cmocka_unit_test(test_save_hf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
