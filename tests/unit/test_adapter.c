/*
 * PEFT LoRA adapters (src/model/adapter.c) against the reference.
 *
 * The goldens tests/data/adapters/NAME.{jsonl,f32} come from Hugging Face
 * PEFT itself: tests/reference/make_lora_fixture.py builds each adapter with
 * peft.get_peft_model() on a committed tiny base (tests/data/models/), gives
 * lora_A, lora_B and the modules_to_save classifier random values, saves it
 * with save_pretrained() (tests/data/adapters/NAME/) and writes the final
 * hidden states and logits of the PEFT model (LoRA not merged; PyTorch fp32,
 * eval). Nothing here is hand-written: rerun the script to change them.
 *
 * Checked: medner's base + merged adapter is within 1e-4 (max abs) of PEFT on
 * every hidden state and logit; untouched weights are still read from the
 * base mapping and merged/replaced ones are private copies; every malformed
 * adapter is refused with the file and tensor named; an allocation failure
 * at any point while loading base + adapter leaks nothing.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "failalloc.h"
#include "golden.h"

#include "encoder/encoder.h"
#include "json/json.h"
#include "model/adapter.h"
#include "model/model_internal.h" /* private to src/model: limits, mappings (a test may) */

#define TOL 1e-4
#define MODELS "tests/data/models/"
#define ADAPTERS "tests/data/adapters/"

/* ---- files --------------------------------------------------------------- */


static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}


static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* Copy a committed adapter directory into tmpdir (made fresh). */
static void copy_adapter(const char *name)
{
    tmpdir_make("adapter");
    static const char *const files[] = { "adapter_config.json", "adapter_model.safetensors",
                                         "config.json" }; /* config.json where present */
    for (size_t i = 0; i < 3; i++) {
        char src[512], dst[512];
        snprintf(src, sizeof src, ADAPTERS "%s/%s", name, files[i]);
        if (access(src, F_OK) != 0)
            continue;
        size_t len;
        void *data = golden_read_all(src, &len);
        tmp_path(dst, sizeof dst, files[i]);
        write_file(dst, data, len);
        free(data);
    }
}

/* Replace `from` by `to` in tmpdir/adapter_config.json (from must occur). */
static void edit_config(const char *from, const char *to)
{
    char p[512];
    tmp_path(p, sizeof p, "adapter_config.json");
    size_t len;
    char *s = golden_read_all(p, &len);
    char *at = strstr(s, from);
    if (at == NULL)
        fail_msg("adapter_config.json has no %s", from);
    size_t a = (size_t)(at - s), fl = strlen(from), tl = strlen(to);
    char *out = malloc(len - fl + tl + 1);
    memcpy(out, s, a);
    memcpy(out + a, to, tl);
    memcpy(out + a + tl, at + fl, len - a - fl);
    write_file(p, out, len - fl + tl);
    free(out);
    free(s);
}

/* ---- rewriting adapter_model.safetensors ---------------------------------- */

typedef struct st_entry {
    char name[256];
    const char *dtype;
    size_t ndim, shape[2];
    const void *data;
    size_t nbytes;
} st_entry;

typedef struct st_copy {
    medner__st_file src; /* the committed file, mapped */
    st_entry e[64];
    size_t n;
} st_copy;

static void st_load(st_copy *c, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, ADAPTERS "%s/adapter_model.safetensors", name);
    assert_int_equal(medner__st_open(&c->src, p), MEDNER_OK);
    c->n = c->src.n_tensors;
    for (size_t i = 0; i < c->n; i++) {
        const medner__st_tensor *t = &c->src.tensors[i];
        st_entry *e = &c->e[i];
        snprintf(e->name, sizeof e->name, "%s", t->name);
        e->dtype = medner__dtype_name(t->dtype);
        e->ndim = t->ndim;
        e->shape[0] = t->shape[0];
        e->shape[1] = t->ndim > 1 ? t->shape[1] : 0;
        e->data = t->data;
        e->nbytes = t->nbytes;
    }
}

static st_entry *st_get(st_copy *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0)
            return &c->e[i];
    fail_msg("no tensor %s", name);
    return NULL;
}

static void st_drop(st_copy *c, const char *name)
{
    st_entry *e = st_get(c, name);
    *e = c->e[--c->n];
}

/* Write the entries as tmpdir/adapter_model.safetensors (header padded to 8
 * like the safetensors library) and unmap the source. */
static void st_write(st_copy *c)
{
    char *hdr = malloc(65536);
    size_t k = (size_t)sprintf(hdr, "{\"__metadata__\":{\"format\":\"pt\"}");
    size_t off = 0;
    for (size_t i = 0; i < c->n; i++) {
        st_entry *e = &c->e[i];
        k += (size_t)sprintf(hdr + k, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%zu", e->name, e->dtype,
                             e->shape[0]);
        if (e->ndim == 2)
            k += (size_t)sprintf(hdr + k, ",%zu", e->shape[1]);
        k += (size_t)sprintf(hdr + k, "],\"data_offsets\":[%zu,%zu]}", off, off + e->nbytes);
        off += e->nbytes;
    }
    hdr[k++] = '}';
    while ((k + 8) % 8 != 0)
        hdr[k++] = ' ';
    unsigned char *out = malloc(8 + k + off);
    uint64_t hl = k;
    for (int b = 0; b < 8; b++)
        out[b] = (unsigned char)(hl >> (8 * b));
    memcpy(out + 8, hdr, k);
    size_t pos = 8 + k;
    for (size_t i = 0; i < c->n; i++) {
        memcpy(out + pos, c->e[i].data, c->e[i].nbytes);
        pos += c->e[i].nbytes;
    }
    char p[512];
    tmp_path(p, sizeof p, "adapter_model.safetensors");
    write_file(p, out, pos);
    free(out);
    free(hdr);
    medner__st_close(&c->src, 0);
}

/* ---- parity with PEFT ---------------------------------------------------- */

static medner_encoder *load_encoder(const char *base, const char *adapter, uint32_t threads)
{
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = adapter;
    ep.threads = threads;
    medner_encoder *e = NULL;
    if (medner_encoder_load(&e, base, &ep) != MEDNER_OK)
        fail_msg("%s + %s: %s", base, adapter, medner_last_error());
    return e;
}

/* Every golden text through base + adapter, alone and (2 threads) as one
 * batch: within TOL of PEFT, and the batch bitwise equal to the single runs.
 * Returns the worst difference. */
static double check_parity(const char *base, const char *name, const char *const *labels,
                           size_t n_labels)
{
    char adapter[256];
    snprintf(adapter, sizeof adapter, ADAPTERS "%s", name);
    golden g;
    load_golden(&g, "tests/data/adapters", name);
    medner_encoder *e = load_encoder(base, adapter, 1);
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    assert_int_equal(info.num_labels, n_labels);
    for (size_t k = 0; k < n_labels; k++)
        assert_string_equal(medner_encoder_label(e, k), labels[k]);
    assert_null(medner_encoder_label(e, n_labels));
    medner_tokenizer *tok = NULL;
    assert_int_equal(medner_tokenizer_load(&tok, base, NULL), MEDNER_OK);
    medner_context *c = NULL;
    assert_int_equal(medner_context_create(&c, e), MEDNER_OK);
    double worst_h = 0, worst_l = 0;
    const int32_t *ids[16], *types[16];
    size_t lens[16];
    float *single[16];
    for (size_t i = 0; i < g.n; i++) {
        golden_text *t = &g.t[i];
        assert_int_equal(t->hidden, info.hidden_size);
        assert_int_equal(t->labels, info.num_labels);
        golden_check_ids(tok, t); /* the base directory's tokenizer: PEFT's ids */
        ids[i] = t->ids;
        types[i] = t->types;
        lens[i] = t->len;
        assert_int_equal(medner_encoder_run(c, &ids[i], &types[i], &lens[i], 1), MEDNER_OK);
        double dh = max_abs_diff(medner_context_hidden(c, 0), t->h, t->len * t->hidden);
        double dl = t->logits ? max_abs_diff(medner_context_logits(c, 0), t->logits,
                                             t->len * t->labels)
                              : 0;
        if (!(dh <= TOL && dl <= TOL))
            fail_msg("%s text %zu (%zu tokens): max |dhidden| %.3g, max |dlogits| %.3g > %g", name,
                     i, t->len, dh, dl, TOL);
        worst_h = dh > worst_h ? dh : worst_h;
        worst_l = dl > worst_l ? dl : worst_l;
        size_t n = t->len * t->hidden;
        single[i] = malloc(n * sizeof(float));
        memcpy(single[i], medner_context_hidden(c, 0), n * sizeof(float));
    }
    medner_encoder *e2 = load_encoder(base, adapter, 2);
    medner_context *c2 = NULL;
    assert_int_equal(medner_context_create(&c2, e2), MEDNER_OK);
    assert_int_equal(medner_encoder_run(c2, ids, types, lens, g.n), MEDNER_OK);
    for (size_t i = 0; i < g.n; i++) {
        assert_memory_equal(medner_context_hidden(c2, i), single[i],
                            g.t[i].len * g.t[i].hidden * sizeof(float));
        free(single[i]);
    }
    printf("    %s on %s: %zu texts, max |dhidden| %.3g, max |dlogits| %.3g (tolerance %g)\n",
           name, base, g.n, worst_h, worst_l, TOL);
    medner_context_free(c2);
    medner_encoder_free(e2);
    medner_context_free(c);
    medner_tokenizer_free(tok);
    medner_encoder_free(e);
    free_golden(&g);
    return worst_h > worst_l ? worst_h : worst_l;
}

static const char *const ner_labels[] = { "O", "B-Disease", "I-Disease", "B-Chemical",
                                          "I-Chemical", "B-Gene", "I-Gene", "B-Species",
                                          "I-Species" };
static const char *const head_labels[] = { "O", "B-Drug", "I-Drug", "B-Dose", "I-Dose" };

static void test_parity_bert_tc(void **state)
{
    (void)state;
    check_parity(MODELS "tiny-bert-tc", "tiny-bert-tc-lora", ner_labels, 9);
}

static void test_parity_rslora_bf16(void **state)
{
    (void)state;
    check_parity(MODELS "tiny-bert-tc", "tiny-bert-tc-lora-rslora", ner_labels, 9);
}

static void test_parity_new_head(void **state)
{
    (void)state; /* BertModel base without classifier: the head comes from the adapter */
    check_parity(MODELS "tiny-bert-model", "tiny-bert-model-lora-head", head_labels, 5);
}

static void test_parity_bert_model(void **state)
{
    (void)state; /* no head; prefixless keys; LoRA on pooler.dense skipped */
    check_parity(MODELS "tiny-bert-model", "tiny-bert-model-lora", NULL, 0);
}

static void test_parity_distilbert(void **state)
{
    (void)state; /* F16 adapter, layers_to_transform [1] */
    check_parity(MODELS "tiny-distilbert-tc", "tiny-distilbert-tc-lora", ner_labels, 9);
}

/* ---- zero copy ------------------------------------------------------------ */

static int mapped(const medner__model *m, const float *p, size_t n)
{
    return medner__model_is_mapped(m, p, n * sizeof(float));
}

static void check_layer(const medner__model *m, size_t l, int merged)
{
    const medner__config *c = &m->config;
    const medner__layer *L = &m->weights.layers[l];
    size_t H = c->hidden, I = c->intermediate;
    const float *w[6] = { L->q_w, L->k_w, L->v_w, L->o_w, L->ffn1_w, L->ffn2_w };
    size_t n[6] = { H * H, H * H, H * H, H * H, I * H, H * I };
    for (int k = 0; k < 6; k++)
        assert_int_equal(mapped(m, w[k], n[k]), !merged);
    /* biases and LayerNorms are never touched by LoRA */
    const float *b[10] = { L->q_b, L->k_b, L->v_b, L->o_b, L->ln1_g, L->ln1_b, L->ffn2_b,
                           L->ln2_g, L->ln2_b, L->ffn1_b };
    for (int k = 0; k < 10; k++)
        assert_true(mapped(m, b[k], k == 9 ? I : H));
}

static void check_embeddings_mapped(const medner__model *m)
{
    const medner__config *c = &m->config;
    assert_true(mapped(m, m->weights.word_emb, c->vocab_size * c->hidden));
    assert_true(mapped(m, m->weights.pos_emb, c->max_positions * c->hidden));
    assert_true(mapped(m, m->weights.emb_ln_g, c->hidden));
    assert_true(mapped(m, m->weights.emb_ln_b, c->hidden));
}

static void test_zero_copy(void **state)
{
    (void)state;
    medner__model *base = NULL, *m = NULL;
    assert_int_equal(medner__model_load(&base, MODELS "tiny-bert-tc"), MEDNER_OK);
    assert_int_equal(medner__model_load_adapter(&m, MODELS "tiny-bert-tc",
                                                ADAPTERS "tiny-bert-tc-lora"),
                     MEDNER_OK);
    assert_null(base->adapter);
    assert_non_null(m->adapter);
    assert_int_equal(m->adapter->r, 4);
    assert_true(m->adapter->alpha == 8.0 && m->adapter->scale == 2.0 && !m->adapter->rslora);
    assert_int_equal(m->adapter->n_merged, 12); /* q k v o ffn1 ffn2, 2 layers */
    assert_int_equal(m->adapter->n_replaced, 2); /* classifier.weight and .bias */
    assert_int_equal(m->adapter->n_skipped, 0);
    assert_string_equal(m->adapter->modules_to_save, "classifier, score");
    assert_string_equal(m->adapter->base_model, "tests/data/models/tiny-bert-tc");
    assert_int_equal(m->n_mapped, base->n_mapped - 14);
    assert_int_equal(m->n_maps, 1);
    assert_true(mapped(m, m->weights.type_emb, 2 * m->config.hidden));
    check_embeddings_mapped(m);
    for (size_t l = 0; l < m->config.layers; l++)
        check_layer(m, l, 1);
    assert_false(mapped(m, m->weights.cls_w, 9 * 32));
    assert_false(mapped(m, m->weights.cls_b, 9));
    /* the merged weights differ from the base, the others are the same bytes */
    assert_true(memcmp(m->weights.layers[0].q_w, base->weights.layers[0].q_w, 32 * 32 * 4) != 0);
    assert_memory_equal(m->weights.layers[1].ln2_g, base->weights.layers[1].ln2_g, 32 * 4);
    assert_int_equal(m->n_params, base->n_params);
    medner__model_free(m);

    /* DistilBERT with layers_to_transform [1]: layer 0 untouched */
    medner__model_free(base);
    assert_int_equal(medner__model_load_adapter(&m, MODELS "tiny-distilbert-tc",
                                                ADAPTERS "tiny-distilbert-tc-lora"),
                     MEDNER_OK);
    assert_int_equal(m->adapter->n_merged, 6);
    check_embeddings_mapped(m);
    check_layer(m, 0, 0);
    check_layer(m, 1, 1);
    medner__model_free(m);

    /* BertModel: the adapter brings a 5-label head */
    assert_int_equal(medner__model_load_adapter(&m, MODELS "tiny-bert-model",
                                                ADAPTERS "tiny-bert-model-lora-head"),
                     MEDNER_OK);
    assert_int_equal(m->config.head, MEDNER__HEAD_REQUIRED);
    assert_int_equal(m->config.num_labels, 5);
    assert_non_null(m->weights.cls_w);
    assert_false(mapped(m, m->weights.cls_w, 5 * 32));
    check_embeddings_mapped(m);
    medner__model_free(m);

    /* an F16 base is already private: LoRA merges in place, nothing more is owned */
    assert_int_equal(medner__model_load(&base, MODELS "tiny-bert-tc-f16"), MEDNER_OK);
    assert_int_equal(medner__model_load_adapter(&m, MODELS "tiny-bert-tc-f16",
                                                ADAPTERS "tiny-bert-tc-lora"),
                     MEDNER_OK);
    assert_int_equal(m->n_owned, base->n_owned);
    assert_int_equal(m->n_maps, 0);
    assert_true(memcmp(m->weights.layers[1].ffn2_w, base->weights.layers[1].ffn2_w,
                       32 * 37 * 4) != 0);
    medner__model_free(m);
    medner__model_free(base);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- labels ----------------------------------------------------------------- */

static void test_labels(void **state)
{
    (void)state;
    /* no config.json beside the adapter, base without id2label: LABEL_i */
    copy_adapter("tiny-bert-model-lora-head");
    char p[512];
    tmp_path(p, sizeof p, "config.json");
    assert_int_equal(unlink(p), 0);
    medner_encoder *e = load_encoder(MODELS "tiny-bert-model", tmpdir, 1);
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    assert_int_equal(info.num_labels, 5);
    assert_string_equal(medner_encoder_label(e, 0), "LABEL_0");
    assert_string_equal(medner_encoder_label(e, 4), "LABEL_4");
    medner_encoder_free(e);
    /* id2label beside the adapter must match the classifier's rows */
    const char *three = "{\"id2label\": {\"0\": \"O\", \"1\": \"B-X\", \"2\": \"I-X\"}}";
    write_file(p, three, strlen(three));
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = tmpdir;
    assert_int_equal(medner_encoder_load(&e, MODELS "tiny-bert-model", &ep),
                     MEDNER_E_INVALID_MODEL);
    assert_non_null(strstr(medner_last_error(), "config.json: id2label has 3 labels"));
    assert_non_null(strstr(medner_last_error(), "5 rows"));
    /* ... and relabels a base head that the adapter does not replace */
    tmpdir_remove();
    copy_adapter("tiny-bert-tc-lora");
    tmp_path(p, sizeof p, "config.json");
    write_file(p, three, strlen(three));
    assert_int_equal(medner_encoder_load(&e, MODELS "tiny-bert-tc", &ep), MEDNER_E_INVALID_MODEL);
    assert_non_null(strstr(medner_last_error(), "9 rows"));
    /* a base head relabelled by the adapter's config.json */
    const char *nine = "{\"id2label\": {\"0\": \"O\", \"1\": \"a\", \"2\": \"b\", \"3\": \"c\", "
                       "\"4\": \"d\", \"5\": \"e\", \"6\": \"f\", \"7\": \"g\", \"8\": \"h\"}}";
    write_file(p, nine, strlen(nine));
    e = load_encoder(MODELS "tiny-bert-tc", tmpdir, 1);
    assert_string_equal(medner_encoder_label(e, 8), "h");
    medner_encoder_free(e);
    tmpdir_remove();
}

/* ---- errors ------------------------------------------------------------------ */

/* Load base + tmpdir: expect status and both needles (if any) in the message. */
static void expect_error(const char *base, int status, const char *n1, const char *n2)
{
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = tmpdir;
    medner_encoder *e = NULL;
    int rc = medner_encoder_load(&e, base, &ep);
    if (rc != status || (n1 && !strstr(medner_last_error(), n1)) ||
        (n2 && !strstr(medner_last_error(), n2)))
        fail_msg("expected %d with \"%s\" / \"%s\", got %d: %s", status, n1 ? n1 : "",
                 n2 ? n2 : "", rc, rc == MEDNER_OK ? "" : medner_last_error());
    if (status == MEDNER_OK)
        assert_non_null(e);
    else
        assert_null(e);
    medner_encoder_free(e);
}

#define TC MODELS "tiny-bert-tc"
#define Q0 "base_model.model.bert.encoder.layer.0.attention.self.query"

static void config_error(const char *from, const char *to, int status, const char *n1,
                         const char *n2)
{
    copy_adapter("tiny-bert-tc-lora");
    edit_config(from, to);
    expect_error(TC, status, n1, n2);
    tmpdir_remove();
}

static void test_config_errors(void **state)
{
    (void)state;
    /* missing files */
    copy_adapter("tiny-bert-tc-lora");
    char p[512];
    tmp_path(p, sizeof p, "adapter_config.json");
    assert_int_equal(unlink(p), 0);
    expect_error(TC, MEDNER_E_IO, "no adapter_config.json", tmpdir);
    tmpdir_remove();
    copy_adapter("tiny-bert-tc-lora");
    tmp_path(p, sizeof p, "adapter_model.safetensors");
    assert_int_equal(unlink(p), 0);
    expect_error(TC, MEDNER_E_IO, "no adapter_model.safetensors", NULL);
    tmp_path(p, sizeof p, "adapter_model.bin");
    write_file(p, "x", 1);
    expect_error(TC, MEDNER_E_UNSUPPORTED, "adapter_model.bin", "safetensors");
    tmpdir_remove();
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = "/nonexistent/adapter";
    medner_encoder *e = NULL;
    assert_int_equal(medner_encoder_load(&e, TC, &ep), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "/nonexistent/adapter"));
    ep.adapter_dir = "";
    assert_int_equal(medner_encoder_load(&e, TC, &ep), MEDNER_E_INVALID_ARGUMENT);
    /* the base still fails as without an adapter */
    ep.adapter_dir = ADAPTERS "tiny-bert-tc-lora";
    assert_int_equal(medner_encoder_load(&e, "/nonexistent/base", &ep), MEDNER_E_IO);

    /* adapter_config.json (line:column of the offending value) */
    config_error("\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"", MEDNER_E_UNSUPPORTED,
                 "adapter_config.json:", "peft_type \"IA3\" is not supported");
    config_error("\"peft_type\": \"LORA\",", "", MEDNER_E_INVALID_MODEL, "adapter_config.json",
                 "missing \"peft_type\"");
    config_error("\"r\": 4,", "\"r\": 4,,", MEDNER_E_PARSE, "adapter_config.json:", NULL);
    config_error("\"r\": 4", "\"r\": 0", MEDNER_E_INVALID_MODEL, "adapter_config.json:",
                 "\"r\" is 0");
    config_error("\"r\": 4", "\"r\": \"4\"", MEDNER_E_INVALID_MODEL, "\"r\" must be an integer",
                 NULL);
    config_error("\"lora_alpha\": 8", "\"lora_alpha\": null, \"x\": 1", MEDNER_OK, NULL, NULL);
    config_error("\"lora_alpha\": 8", "\"lora_alpha\": \"8\"", MEDNER_E_INVALID_MODEL,
                 "\"lora_alpha\" must be a number", NULL);
    config_error("\"target_modules\": [", "\"target_modules\": \".*(query|key)\", \"t\": [",
                 MEDNER_E_UNSUPPORTED, "adapter_config.json:", "regular expression");
    config_error("\"target_modules\": [", "\"target_modules\": [], \"t\": [",
                 MEDNER_E_INVALID_MODEL, "\"target_modules\" is empty", NULL);
    config_error("\"use_dora\": false", "\"use_dora\": true", MEDNER_E_UNSUPPORTED, "DoRA", NULL);
    config_error("\"bias\": \"none\"", "\"bias\": \"all\"", MEDNER_E_UNSUPPORTED, "\"bias\"",
                 NULL);
    config_error("\"fan_in_fan_out\": false", "\"fan_in_fan_out\": true", MEDNER_E_UNSUPPORTED,
                 "fan_in_fan_out", NULL);
    config_error("\"rank_pattern\": {}", "\"rank_pattern\": {\"query\": 8}",
                 MEDNER_E_UNSUPPORTED, "rank_pattern", NULL);
    config_error("\"alpha_pattern\": {}", "\"alpha_pattern\": {\"query\": 8}",
                 MEDNER_E_UNSUPPORTED, "alpha_pattern", NULL);
    config_error("\"lora_bias\": false", "\"lora_bias\": true", MEDNER_E_UNSUPPORTED,
                 "lora_bias", NULL);
    config_error("\"layers_pattern\": null", "\"layers_pattern\": \"blocks\"",
                 MEDNER_OK, NULL, NULL); /* ignored without layers_to_transform, as in PEFT */
    config_error("\"layers_to_transform\": null",
                 "\"layers_to_transform\": [1], \"layers_pattern\": [\"blocks\"], \"q\": null",
                 MEDNER_E_UNSUPPORTED, "layers_pattern", NULL);
    /* only layer 1 targeted: the layer-0 tensors are unexpected */
    config_error("\"layers_to_transform\": null", "\"layers_to_transform\": 1",
                 MEDNER_E_INVALID_MODEL, "layer.0.", "is not one that");
    /* dense no longer targeted: its tensors are unexpected */
    config_error("\"dense\"", "\"query\"", MEDNER_E_INVALID_MODEL,
                 "attention.output.dense.lora_A", "is not one that");
    /* excluded modules likewise */
    config_error("\"exclude_modules\": null", "\"exclude_modules\": [\"key\"]",
                 MEDNER_E_INVALID_MODEL, "self.key.lora_A.weight", "is not one that");
    /* r disagrees with the tensors */
    config_error("\"r\": 4", "\"r\": 8", MEDNER_E_INVALID_MODEL, "adapter_model.safetensors",
                 "has shape [4, 32]; expected [r, in] (r = 8");
    /* the classifier not in modules_to_save: its tensors are unexpected */
    config_error("\"modules_to_save\": [", "\"modules_to_save\": null, \"m\": [",
                 MEDNER_E_INVALID_MODEL, "base_model.model.classifier.",
                 "neither a LoRA tensor");
    /* use_rslora changes the scale */
    copy_adapter("tiny-bert-tc-lora");
    edit_config("\"use_rslora\": false", "\"use_rslora\": true");
    medner__model *m = NULL;
    assert_int_equal(medner__model_load_adapter(&m, TC, tmpdir), MEDNER_OK);
    assert_true(m->adapter->rslora && m->adapter->scale == 4.0);
    medner__model_free(m);
    tmpdir_remove();
}

static void test_tensor_errors(void **state)
{
    (void)state;
    st_copy c;
    /* a lora_A without its lora_B */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_drop(&c, Q0 ".lora_B.weight");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, Q0 ".lora_A.weight\" has no partner",
                 Q0 ".lora_B.weight");
    tmpdir_remove();
    /* a targeted module without tensors */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_drop(&c, Q0 ".lora_A.weight");
    st_drop(&c, Q0 ".lora_B.weight");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "missing tensor \"" Q0 ".lora_A.weight\"",
                 "targets");
    tmpdir_remove();
    /* lora_B of the wrong shape: query's [32, 4] as intermediate.dense's [37, 4] */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_entry *b = st_get(&c, "base_model.model.bert.encoder.layer.1.intermediate.dense.lora_B.weight");
    *b = *st_get(&c, Q0 ".lora_B.weight");
    snprintf(b->name, sizeof b->name,
             "base_model.model.bert.encoder.layer.1.intermediate.dense.lora_B.weight");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "layer.1.intermediate.dense.lora_B.weight\" has "
                 "shape [32, 4]; expected [37, 4]", "adapter_model.safetensors");
    tmpdir_remove();
    /* a module the base does not have (layer 7 of a 2-layer model) */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    snprintf(st_get(&c, Q0 ".lora_A.weight")->name, 256,
             "base_model.model.bert.encoder.layer.7.attention.self.query.lora_A.weight");
    snprintf(st_get(&c, Q0 ".lora_B.weight")->name, 256,
             "base_model.model.bert.encoder.layer.7.attention.self.query.lora_B.weight");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "layer.7.attention.self.query.lora_A.weight",
                 "names no Linear layer of the base model");
    tmpdir_remove();
    /* a name outside PEFT's base_model.model. */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    snprintf(st_get(&c, Q0 ".lora_A.weight")->name, 256,
             "bert.encoder.layer.0.attention.self.query.lora_A.weight");
    snprintf(st_get(&c, Q0 ".lora_B.weight")->name, 256,
             "bert.encoder.layer.0.attention.self.query.lora_B.weight");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "unexpected tensor \"bert.encoder.layer.0", NULL);
    tmpdir_remove();
    /* a base tensor that is not in modules_to_save */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_entry *x = &c.e[c.n++];
    *x = *st_get(&c, "base_model.model.classifier.weight");
    snprintf(x->name, sizeof x->name, "base_model.model.bert.embeddings.LayerNorm.weight");
    x->ndim = 1;
    x->shape[0] = 32;
    x->nbytes = 128;
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "bert.embeddings.LayerNorm.weight",
                 "neither a LoRA tensor");
    tmpdir_remove();
    /* a name that is no tensor at all */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    snprintf(st_get(&c, "base_model.model.classifier.bias")->name, 256,
             "base_model.model.crf.transitions");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "base_model.model.crf.transitions",
                 "names no tensor of the base model");
    tmpdir_remove();
    /* the classifier weight without its bias */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_drop(&c, "base_model.model.classifier.bias");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "missing tensor \"base_model.model.classifier.bias\"",
                 NULL);
    tmpdir_remove();
    /* DoRA's magnitude vector */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    x = &c.e[c.n++];
    *x = *st_get(&c, "base_model.model.classifier.weight");
    snprintf(x->name, sizeof x->name, Q0 ".lora_magnitude_vector");
    x->ndim = 1;
    x->shape[0] = 32;
    x->nbytes = 128;
    st_write(&c);
    expect_error(TC, MEDNER_E_UNSUPPORTED, Q0 ".lora_magnitude_vector", "lora_A and lora_B");
    tmpdir_remove();
    /* an integer tensor */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_get(&c, Q0 ".lora_A.weight")->dtype = "I32";
    st_write(&c);
    expect_error(TC, MEDNER_E_UNSUPPORTED, Q0 ".lora_A.weight\" is I32", NULL);
    tmpdir_remove();
    /* with and without the bert. prefix in one adapter */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    snprintf(st_get(&c, Q0 ".lora_A.weight")->name, 256,
             "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight");
    snprintf(st_get(&c, Q0 ".lora_B.weight")->name, 256,
             "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight");
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "both with and without the \"bert.\" prefix", NULL);
    tmpdir_remove();
    /* the adapter's classifier on a base of another width */
    copy_adapter("tiny-bert-tc-lora");
    st_load(&c, "tiny-bert-tc-lora");
    st_entry *w = st_get(&c, "base_model.model.classifier.weight");
    w->shape[0] = 18;
    w->shape[1] = 16;
    st_write(&c);
    expect_error(TC, MEDNER_E_INVALID_MODEL, "classifier.weight\" has shape [18, 16]", NULL);
    tmpdir_remove();
    /* a LoRA on the classifier of a base that has none */
    copy_adapter("tiny-bert-model-lora");
    st_load(&c, "tiny-bert-model-lora");
    snprintf(st_get(&c, "base_model.model.pooler.dense.lora_A.weight")->name, 256,
             "base_model.model.classifier.lora_A.weight");
    snprintf(st_get(&c, "base_model.model.pooler.dense.lora_B.weight")->name, 256,
             "base_model.model.classifier.lora_B.weight");
    st_write(&c);
    edit_config("\"dense\"", "\"dense\", \"classifier\"");
    expect_error(MODELS "tiny-bert-model", MEDNER_E_INVALID_MODEL, "classifier.lora_A.weight",
                 "has no token-classification head");
    tmpdir_remove();
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- allocation failures ---------------------------------------------------- */

static long count_mappings(const char *what)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    long n = 0;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

static void oom_loop(const char *base, const char *adapter, long min_allocs)
{
    failing f = { 0, 0 };
    assert_int_equal(medner__live_allocations(), 0);
    long maps = count_mappings("tests/data/");
    assert_int_equal(failing_install(&f), MEDNER_OK);
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.adapter_dir = adapter;
    medner_encoder *e = NULL;
    long n;
    int rc;
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        rc = medner_encoder_load(&e, base, &ep);
        if (rc == MEDNER_OK)
            break;
        if (rc != MEDNER_E_OUT_OF_MEMORY)
            fail_msg("allocation %ld failing gave %d: %s", n, rc, medner_last_error());
        assert_null(e);
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(count_mappings("tests/data/"), maps);
    }
    f.fail_at = 0;
    assert_true(n > min_allocs);
    assert_non_null(medner__encoder_model(e)->adapter);
    medner_encoder_free(e);
    assert_int_equal(count_mappings("tests/data/"), maps);
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    oom_loop(TC, ADAPTERS "tiny-bert-tc-lora", 50);
    oom_loop(MODELS "tiny-bert-model", ADAPTERS "tiny-bert-model-lora-head", 50);
    oom_loop(MODELS "tiny-distilbert-tc", ADAPTERS "tiny-distilbert-tc-lora", 30);
}

/* ---- params and pipeline ---------------------------------------------------- */

static void test_params_and_pipeline(void **state)
{
    (void)state;
    /* a caller of the first version (no adapter_dir) still loads */
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.struct_size = offsetof(medner_encoder_params, adapter_dir);
    ep.adapter_dir = "never read";
    medner_encoder *e = NULL;
    assert_int_equal(medner_encoder_load(&e, TC, &ep), MEDNER_OK);
    assert_null(medner__encoder_model(e)->adapter);
    medner_encoder_free(e);
    ep.struct_size = sizeof(size_t);
    assert_int_equal(medner_encoder_load(&e, TC, &ep), MEDNER_E_INVALID_ARGUMENT);

    /* the pipeline merges the adapter; its tokenizer is the base's */
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    pp.model_dir = MODELS "tiny-bert-model";
    pp.adapter_dir = ADAPTERS "tiny-bert-model-lora-head";
    medner_pipeline *p = NULL;
    if (medner_pipeline_create(&p, &pp) != MEDNER_OK)
        fail_msg("pipeline: %s", medner_last_error());
    medner_pipeline_params got = MEDNER_PIPELINE_PARAMS_INIT;
    assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
    assert_string_equal(got.adapter_dir, ADAPTERS "tiny-bert-model-lora-head");
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    assert_int_equal(medner_encoder_get_info(medner_pipeline_encoder(p), &info), MEDNER_OK);
    assert_int_equal(info.num_labels, 5);
    medner_context *c = NULL;
    assert_int_equal(medner_pipeline_context_create(&c, p), MEDNER_OK);
    const char *text = "Started amoxicillin 500 mg t.i.d. for the fever.";
    size_t len = strlen(text);
    medner_entities *out = NULL;
    assert_int_equal(medner_pipeline_annotate(&out, p, c, &text, &len, 1), MEDNER_OK);
    for (size_t i = 0; i < medner_entities_count(out); i++) {
        medner_entity ent = MEDNER_ENTITY_INIT;
        assert_int_equal(medner_entities_get(out, i, &ent), MEDNER_OK);
        assert_true(strcmp(ent.label, "Drug") == 0 || strcmp(ent.label, "Dose") == 0);
    }
    medner_entities_free(out);
    medner_context_free(c);
    medner_pipeline_free(p);
    pp.adapter_dir = "/nonexistent";
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_IO);

    /* a base without tokenizer files: the adapter directory's are used */
    char base[64];
    snprintf(base, sizeof base, "/tmp/medner-adapter-base-XXXXXX");
    assert_non_null(mkdtemp(base));
    static const char *const base_files[] = { "config.json", "model.safetensors" };
    for (int i = 0; i < 2; i++) {
        char src[512], dst[512];
        size_t len;
        snprintf(src, sizeof src, TC "/%s", base_files[i]);
        snprintf(dst, sizeof dst, "%s/%s", base, base_files[i]);
        void *data = golden_read_all(src, &len);
        write_file(dst, data, len);
        free(data);
    }
    copy_adapter("tiny-bert-tc-lora");
    pp.model_dir = base;
    pp.adapter_dir = tmpdir;
    assert_int_equal(medner_pipeline_create(&p, &pp), MEDNER_E_IO); /* no tokenizer anywhere */
    static const char *const tok_files[] = { "vocab.txt", "tokenizer_config.json" };
    for (int i = 0; i < 2; i++) {
        char src[512], dst[512];
        size_t len;
        snprintf(src, sizeof src, TC "/%s", tok_files[i]);
        tmp_path(dst, sizeof dst, tok_files[i]);
        void *data = golden_read_all(src, &len);
        write_file(dst, data, len);
        free(data);
    }
    if (medner_pipeline_create(&p, &pp) != MEDNER_OK)
        fail_msg("pipeline: %s", medner_last_error());
    medner_pipeline_free(p);
    tmpdir_remove();
    for (int i = 0; i < 2; i++) {
        char dst[512];
        snprintf(dst, sizeof dst, "%s/%s", base, base_files[i]);
        assert_int_equal(unlink(dst), 0);
    }
    assert_int_equal(rmdir(base), 0);
    assert_int_equal(medner__live_allocations(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_bert_tc),
        cmocka_unit_test(test_parity_rslora_bf16),
        cmocka_unit_test(test_parity_new_head),
        cmocka_unit_test(test_parity_bert_model),
        cmocka_unit_test(test_parity_distilbert),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_tensor_errors),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_params_and_pipeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
