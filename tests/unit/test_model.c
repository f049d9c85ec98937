/* Model files: config.json, safetensors loading and validation, weight-name
 * mapping. Every fixture is written by the test itself (a tiny BERT and a
 * tiny DistilBERT); nothing outside tests/ is read. */
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

#include "model/model_internal.h" /* private to src/model: limits, mappings (a test may) */

/* ---- temporary model directories (tmpdir.h) -------------------------------- */

static void write_bytes(const char *name, const void *data, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *name, const char *text)
{
    write_bytes(name, text, strlen(text));
}

static void remove_file(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    unlink(p);
}

/* Number of mappings of files in tmpdir (-1 where /proc is missing): loading
 * must not leave a file mapped, which LeakSanitizer cannot see. */
static long count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    long n = 0;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, tmpdir) != NULL;
    fclose(f);
    return n;
}

/* ---- config.json --------------------------------------------------------- */

typedef const char *kv[2];

static const kv bert_cfg[] = {
    { "architectures", "[\"BertForTokenClassification\"]" },
    { "model_type", "\"bert\"" },
    { "hidden_size", "8" },
    { "num_hidden_layers", "2" },
    { "num_attention_heads", "2" },
    { "intermediate_size", "12" },
    { "hidden_act", "\"gelu\"" },
    { "layer_norm_eps", "1e-12" },
    { "max_position_embeddings", "16" },
    { "type_vocab_size", "2" },
    { "vocab_size", "20" },
    { "pad_token_id", "0" },
    { "position_embedding_type", "\"absolute\"" },
    { "id2label", "{\"0\": \"O\", \"1\": \"B-DRUG\", \"2\": \"I-DRUG\"}" },
    { "label2id", "{\"O\": 0, \"B-DRUG\": 1, \"I-DRUG\": 2}" },
};

static const kv distil_cfg[] = {
    { "architectures", "[\"DistilBertForTokenClassification\"]" },
    { "model_type", "\"distilbert\"" },
    { "dim", "8" },
    { "n_layers", "2" },
    { "n_heads", "2" },
    { "hidden_dim", "12" },
    { "activation", "\"gelu\"" },
    { "max_position_embeddings", "16" },
    { "vocab_size", "20" },
    { "sinusoidal_pos_embds", "false" },
    { "id2label", "{\"0\": \"O\", \"1\": \"B-DX\", \"2\": \"I-DX\"}" },
};

/* Write config.json from `base`, one key a line (key i on line i + 2), with
 * up to two overrides: a NULL value drops the key, an unknown key is added. */
static void write_config(const kv *base, size_t n, const char *k1, const char *v1,
                         const char *k2, const char *v2)
{
    char buf[4096];
    size_t len = 0;
    int first = 1, seen1 = 0, seen2 = 0;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "{");
    for (size_t i = 0; i < n + 2; i++) {
        const char *k, *v;
        if (i < n) {
            k = base[i][0];
            v = base[i][1];
            if (k1 && strcmp(k, k1) == 0) {
                v = v1;
                seen1 = 1;
            }
            if (k2 && strcmp(k, k2) == 0) {
                v = v2;
                seen2 = 1;
            }
        } else if (i == n && k1 && !seen1) {
            k = k1;
            v = v1;
        } else if (i == n + 1 && k2 && !seen2) {
            k = k2;
            v = v2;
        } else {
            continue;
        }
        if (v == NULL)
            continue;
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\n  \"%s\": %s", first ? "" : ",",
                                k, v);
        first = 0;
    }
    snprintf(buf + len, sizeof buf - len, "\n}\n");
    write_text("config.json", buf);
}

#define BERT_CONFIG(k1, v1, k2, v2) \
    write_config(bert_cfg, sizeof bert_cfg / sizeof bert_cfg[0], k1, v1, k2, v2)
#define DISTIL_CONFIG(k1, v1, k2, v2) \
    write_config(distil_cfg, sizeof distil_cfg / sizeof distil_cfg[0], k1, v1, k2, v2)

/* ---- safetensors writer -------------------------------------------------- */

typedef struct tensor {
    char name[160];
    char dtype[16];
    int ndim;
    long shape[4];
    int fixed;          /* keep begin/end as set (else laid out in order) */
    long begin, end;
    const void *raw;    /* bytes to store instead of generated values */
} tensor;

typedef struct spec {
    tensor t[96];
    int n;
    int pad;            /* pad the header with spaces to a multiple of 8 (like HF) */
    int extra_spaces;   /* then add this many: moves the data's alignment */
    const char *metadata;
} spec;

static size_t esize(const char *dtype)
{
    if (!strcmp(dtype, "F16") || !strcmp(dtype, "BF16") || !strcmp(dtype, "I16"))
        return 2;
    if (!strcmp(dtype, "I64") || !strcmp(dtype, "F64"))
        return 8;
    if (!strcmp(dtype, "U8") || !strcmp(dtype, "BOOL"))
        return 1;
    return 4;
}

static size_t numel(const tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i] < 0 ? 0 : (size_t)t->shape[i];
    return n;
}

static tensor *add(spec *s, const char *prefix, const char *name, const char *dtype, int ndim,
                   long d0, long d1)
{
    assert_true(s->n < 96);
    tensor *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s%s", prefix, name);
    snprintf(t->dtype, sizeof t->dtype, "%s", dtype);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    return t;
}

static tensor *find(spec *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0)
            return &s->t[i];
    fail_msg("no tensor %s in the spec", name);
    return NULL;
}

static void drop(spec *s, const char *name)
{
    tensor *t = find(s, name);
    memmove(t, t + 1, (size_t)(s->t + s->n - (t + 1)) * sizeof *t);
    s->n--;
}

static const char *const bert_layer[16][2] = {
    { "attention.self.query.weight", "HH" }, { "attention.self.query.bias", "H" },
    { "attention.self.key.weight", "HH" },   { "attention.self.key.bias", "H" },
    { "attention.self.value.weight", "HH" }, { "attention.self.value.bias", "H" },
    { "attention.output.dense.weight", "HH" }, { "attention.output.dense.bias", "H" },
    { "attention.output.LayerNorm.weight", "H" }, { "attention.output.LayerNorm.bias", "H" },
    { "intermediate.dense.weight", "IH" },   { "intermediate.dense.bias", "I" },
    { "output.dense.weight", "HI" },         { "output.dense.bias", "H" },
    { "output.LayerNorm.weight", "H" },      { "output.LayerNorm.bias", "H" },
};

static const char *const distil_layer[16][2] = {
    { "attention.q_lin.weight", "HH" },  { "attention.q_lin.bias", "H" },
    { "attention.k_lin.weight", "HH" },  { "attention.k_lin.bias", "H" },
    { "attention.v_lin.weight", "HH" },  { "attention.v_lin.bias", "H" },
    { "attention.out_lin.weight", "HH" }, { "attention.out_lin.bias", "H" },
    { "sa_layer_norm.weight", "H" },     { "sa_layer_norm.bias", "H" },
    { "ffn.lin1.weight", "IH" },         { "ffn.lin1.bias", "I" },
    { "ffn.lin2.weight", "HI" },         { "ffn.lin2.bias", "H" },
    { "output_layer_norm.weight", "H" }, { "output_layer_norm.bias", "H" },
};

static long dim_of(char c)
{
    return c == 'H' ? 8 : 12;
}

/* Tiny BERT: 2 layers, hidden 8, heads 2, intermediate 12, vocab 20,
 * positions 16, 2 token types, 3 labels (39 tensors, 1411 parameters). */
static void tiny_bert(spec *s, const char *prefix, const char *dtype, int head)
{
    memset(s, 0, sizeof *s);
    s->pad = 1;
    add(s, prefix, "embeddings.word_embeddings.weight", dtype, 2, 20, 8);
    add(s, prefix, "embeddings.position_embeddings.weight", dtype, 2, 16, 8);
    add(s, prefix, "embeddings.token_type_embeddings.weight", dtype, 2, 2, 8);
    add(s, prefix, "embeddings.LayerNorm.weight", dtype, 1, 8, 0);
    add(s, prefix, "embeddings.LayerNorm.bias", dtype, 1, 8, 0);
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 16; k++) {
            char name[128];
            snprintf(name, sizeof name, "encoder.layer.%d.%s", l, bert_layer[k][0]);
            const char *sh = bert_layer[k][1];
            add(s, prefix, name, dtype, (int)strlen(sh), dim_of(sh[0]), sh[1] ? dim_of(sh[1]) : 0);
        }
    if (head) {
        add(s, "", "classifier.weight", dtype, 2, 3, 8);
        add(s, "", "classifier.bias", dtype, 1, 3, 0);
    }
}

/* Tiny DistilBERT: same sizes, no token types (38 tensors, 1395 parameters). */
static void tiny_distil(spec *s, const char *prefix, const char *dtype, int head)
{
    memset(s, 0, sizeof *s);
    s->pad = 1;
    add(s, prefix, "embeddings.word_embeddings.weight", dtype, 2, 20, 8);
    add(s, prefix, "embeddings.position_embeddings.weight", dtype, 2, 16, 8);
    add(s, prefix, "embeddings.LayerNorm.weight", dtype, 1, 8, 0);
    add(s, prefix, "embeddings.LayerNorm.bias", dtype, 1, 8, 0);
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 16; k++) {
            char name[128];
            snprintf(name, sizeof name, "transformer.layer.%d.%s", l, distil_layer[k][0]);
            const char *sh = distil_layer[k][1];
            add(s, prefix, name, dtype, (int)strlen(sh), dim_of(sh[0]), sh[1] ? dim_of(sh[1]) : 0);
        }
    if (head) {
        add(s, "", "classifier.weight", dtype, 2, 3, 8);
        add(s, "", "classifier.bias", dtype, 1, 3, 0);
    }
}

static const char *canonical(const char *name)
{
    if (strncmp(name, "bert.", 5) == 0)
        return name + 5;
    if (strncmp(name, "distilbert.", 11) == 0)
        return name + 11;
    return name;
}

/* The value stored at element k of a tensor: a multiple of 1/16 in
 * [-30/16, 30/16], exact in F32, F16 and BF16; independent of the prefix. */
static float val(const char *name, size_t k)
{
    uint32_t h = 2166136261u;
    for (const char *p = canonical(name); *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (float)((int)((h + k * 7) % 61) - 30) / 16.0f;
}

static uint16_t exact_f16(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    if ((b & 0x7fffffffu) == 0)
        return (uint16_t)(b >> 16);
    uint32_t sign = b >> 31, e = (b >> 23) & 0xff, m = b & 0x7fffff;
    return (uint16_t)(sign << 15 | (e - 127 + 15) << 10 | m >> 13);
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void layout(spec *s)
{
    long cursor = 0;
    for (int i = 0; i < s->n; i++) {
        tensor *t = &s->t[i];
        if (!t->fixed) {
            t->begin = cursor;
            t->end = cursor + (long)(numel(t) * esize(t->dtype));
        }
        if (t->end > cursor)
            cursor = t->end;
    }
}

/* The whole file in a malloc'd buffer. */
static unsigned char *render(spec *s, size_t *len_out, size_t *header_len_out)
{
    layout(s);
    size_t cap = 64 + (size_t)s->n * 256, hl = 0;
    char *h = malloc(cap + 64);
    assert_non_null(h);
    hl += (size_t)snprintf(h + hl, cap - hl, "{\"__metadata__\":%s",
                           s->metadata ? s->metadata : "{\"format\":\"pt\"}");
    long data_len = 0;
    for (int i = 0; i < s->n; i++) {
        tensor *t = &s->t[i];
        hl += (size_t)snprintf(h + hl, cap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name,
                               t->dtype);
        for (int d = 0; d < t->ndim; d++)
            hl += (size_t)snprintf(h + hl, cap - hl, d ? ",%ld" : "%ld", t->shape[d]);
        hl += (size_t)snprintf(h + hl, cap - hl, "],\"data_offsets\":[%ld,%ld]}", t->begin,
                               t->end);
        if (t->end > data_len)
            data_len = t->end;
    }
    h[hl++] = '}';
    while (s->pad && (8 + hl) % 8 != 0)
        h[hl++] = ' ';
    for (int i = 0; i < s->extra_spaces; i++)
        h[hl++] = ' ';
    size_t len = 8 + hl + (size_t)data_len;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    put_le(buf, hl, 8);
    memcpy(buf + 8, h, hl);
    free(h);
    unsigned char *data = buf + 8 + hl;
    for (int i = 0; i < s->n; i++) {
        tensor *t = &s->t[i];
        size_t n = numel(t), es = esize(t->dtype);
        if (t->end - t->begin != (long)(n * es))
            continue; /* a deliberately inconsistent tensor: leave zeros */
        unsigned char *p = data + t->begin;
        if (t->raw) {
            memcpy(p, t->raw, n * es);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            float v = val(t->name, k);
            uint32_t bits;
            memcpy(&bits, &v, 4);
            if (!strcmp(t->dtype, "F32"))
                put_le(p + 4 * k, bits, 4);
            else if (!strcmp(t->dtype, "F16"))
                put_le(p + 2 * k, exact_f16(v), 2);
            else if (!strcmp(t->dtype, "BF16"))
                put_le(p + 2 * k, bits >> 16, 2);
            else
                put_le(p + es * k, k, es);
        }
    }
    *len_out = len;
    if (header_len_out)
        *header_len_out = hl;
    return buf;
}

static size_t write_st(const char *name, spec *s)
{
    size_t len;
    unsigned char *buf = render(s, &len, NULL);
    write_bytes(name, buf, len);
    free(buf);
    return len;
}

/* ---- checks -------------------------------------------------------------- */

static medner__model *load_ok(void)
{
    medner__model *m = NULL;
    int rc = medner__model_load(&m, tmpdir);
    if (rc != MEDNER_OK)
        fail_msg("load: %d %s", rc, medner_last_error());
    return m;
}

/* Load must fail with `status`, and the message must contain each of the
 * (up to three) strings given. */
static void load_fails(int status, const char *s1, const char *s2, const char *s3)
{
    medner__model *m = (medner__model *)0x1;
    int rc = medner__model_load(&m, tmpdir);
    const char *msg = medner_last_error();
    if (rc != status)
        fail_msg("expected status %d, got %d: %s", status, rc, msg);
    assert_ptr_equal(m, (medner__model *)0x1);
    const char *want[3] = { s1, s2, s3 };
    for (int i = 0; i < 3; i++)
        if (want[i] && strstr(msg, want[i]) == NULL)
            fail_msg("message lacks \"%s\": %s", want[i], msg);
    assert_int_equal(medner__live_allocations(), 0);
}

static void check_values(const float *w, const char *name, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (w[k] != val(name, k))
            fail_msg("%s[%zu] = %g, expected %g", name, k, (double)w[k], (double)val(name, k));
}

static void check_bert_weights(const medner__model *m)
{
    const medner__weights *w = &m->weights;
    check_values(w->word_emb, "embeddings.word_embeddings.weight", 160);
    check_values(w->pos_emb, "embeddings.position_embeddings.weight", 128);
    check_values(w->type_emb, "embeddings.token_type_embeddings.weight", 16);
    check_values(w->emb_ln_g, "embeddings.LayerNorm.weight", 8);
    check_values(w->layers[0].q_w, "encoder.layer.0.attention.self.query.weight", 64);
    check_values(w->layers[1].v_b, "encoder.layer.1.attention.self.value.bias", 8);
    check_values(w->layers[1].ffn1_w, "encoder.layer.1.intermediate.dense.weight", 96);
    check_values(w->layers[1].ffn2_w, "encoder.layer.1.output.dense.weight", 96);
    check_values(w->layers[1].ln2_b, "encoder.layer.1.output.LayerNorm.bias", 8);
    check_values(w->cls_w, "classifier.weight", 24);
    check_values(w->cls_b, "classifier.bias", 3);
}

static void check_all_weights_mapped(const medner__model *m, int mapped)
{
    const medner__weights *w = &m->weights;
    assert_int_equal(medner__model_is_mapped(m, w->word_emb, 160 * 4), mapped);
    assert_int_equal(medner__model_is_mapped(m, w->layers[1].ln2_b, 8 * 4), mapped);
    assert_int_equal(medner__model_is_mapped(m, w->cls_b, 3 * 4), mapped);
    assert_int_equal(m->n_mapped, mapped ? 39 : 0);
    assert_int_equal(m->n_owned, mapped ? 0 : 39);
}

/* ---- loading ------------------------------------------------------------- */

static void test_bert_f32_zero_copy(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    size_t bytes = write_st("model.safetensors", &s);
    medner__model *m = load_ok();
    const medner__config *c = &m->config;
    assert_int_equal(c->arch, MEDNER__ARCH_BERT);
    assert_string_equal(c->model_type, "bert");
    assert_string_equal(c->architecture, "BertForTokenClassification");
    assert_int_equal(c->head, MEDNER__HEAD_REQUIRED);
    assert_int_equal(c->act, MEDNER__ACT_GELU);
    assert_int_equal(c->layers, 2);
    assert_int_equal(c->hidden, 8);
    assert_int_equal(c->heads, 2);
    assert_int_equal(c->intermediate, 12);
    assert_int_equal(c->vocab_size, 20);
    assert_int_equal(c->max_positions, 16);
    assert_int_equal(c->type_vocab_size, 2);
    assert_true(c->ln_eps == 1e-12f);
    assert_int_equal(c->pad_token_id, 0);
    assert_int_equal(c->num_labels, 3);
    assert_string_equal(c->labels[0], "O");
    assert_string_equal(c->labels[2], "I-DRUG");
    assert_string_equal(m->dtype, "F32");
    assert_int_equal(m->n_params, 1411);
    assert_int_equal(m->file_bytes, bytes);
    assert_int_equal(m->n_files, 1);
    check_bert_weights(m);
    check_all_weights_mapped(m, 1);
    assert_int_equal(medner__model_is_mapped(m, m->weights.word_emb, bytes), 0);
    if (count_mappings() >= 0)
        assert_int_equal(count_mappings(), 1); /* the file, once */
    medner__model_free(m);
    if (count_mappings() >= 0)
        assert_int_equal(count_mappings(), 0);
    medner__model_free(NULL);
    assert_int_equal(medner__live_allocations(), 0);
    tmpdir_remove();
}

static void test_bert_unprefixed_old_names_ignored(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG("hidden_act", "\"gelu_new\"", "layer_norm_eps", "1e-5");
    spec s;
    tiny_bert(&s, "", "F32", 1);
    /* TF-era LayerNorm names, and tensors of other heads and buffers */
    snprintf(find(&s, "embeddings.LayerNorm.weight")->name, 160, "embeddings.LayerNorm.gamma");
    snprintf(find(&s, "encoder.layer.1.output.LayerNorm.bias")->name, 160,
             "encoder.layer.1.output.LayerNorm.beta");
    add(&s, "", "embeddings.position_ids", "I64", 2, 1, 16);
    add(&s, "", "pooler.dense.weight", "F32", 2, 8, 8);
    add(&s, "", "pooler.dense.bias", "F32", 1, 8, 0);
    add(&s, "", "cls.predictions.bias", "F32", 1, 20, 0);
    add(&s, "", "cls.predictions.transform.dense.weight", "BF16", 2, 8, 8);
    write_st("model.safetensors", &s);
    medner__model *m = load_ok();
    assert_int_equal(m->config.act, MEDNER__ACT_GELU_TANH);
    assert_string_equal(m->config.act_name, "gelu_new");
    assert_true(m->config.ln_eps == 1e-5f);
    assert_int_equal(m->n_params, 1411);
    assert_string_equal(m->dtype, "F32"); /* unused BF16 and I64 tensors do not count */
    const medner__weights *w = &m->weights;
    check_values(w->emb_ln_g, "embeddings.LayerNorm.gamma", 8);
    check_values(w->layers[1].ln2_b, "encoder.layer.1.output.LayerNorm.beta", 8);
    check_values(w->word_emb, "embeddings.word_embeddings.weight", 160);
    medner__model_free(m);
    tmpdir_remove();
}

static void test_distilbert(void **state)
{
    (void)state;
    const char *prefixes[2] = { "distilbert.", "" };
    for (int p = 0; p < 2; p++) {
        tmpdir_make("model");
        DISTIL_CONFIG(p ? "activation" : NULL, "\"relu\"", NULL, NULL);
        spec s;
        tiny_distil(&s, prefixes[p], "F32", 1);
        write_st("model.safetensors", &s);
        medner__model *m = load_ok();
        const medner__config *c = &m->config;
        assert_int_equal(c->arch, MEDNER__ARCH_DISTILBERT);
        assert_int_equal(c->act, p ? MEDNER__ACT_RELU : MEDNER__ACT_GELU);
        assert_int_equal(c->layers, 2);
        assert_int_equal(c->hidden, 8);
        assert_int_equal(c->heads, 2);
        assert_int_equal(c->intermediate, 12);
        assert_int_equal(c->type_vocab_size, 0);
        assert_true(c->ln_eps == 1e-12f);
        assert_int_equal(c->num_labels, 3);
        assert_string_equal(c->labels[1], "B-DX");
        assert_int_equal(m->n_params, 1395);
        assert_null(m->weights.type_emb);
        check_values(m->weights.layers[1].ffn2_w, "transformer.layer.1.ffn.lin2.weight", 96);
        check_values(m->weights.layers[0].ln1_g, "transformer.layer.0.sa_layer_norm.weight", 8);
        check_values(m->weights.cls_w, "classifier.weight", 24);
        assert_int_equal(m->n_mapped, 38);
        medner__model_free(m);
        tmpdir_remove();
    }
    /* DistilBertForSequenceClassification: its classifier is not a token head */
    tmpdir_make("model");
    DISTIL_CONFIG("architectures", "[\"DistilBertForSequenceClassification\"]", NULL, NULL);
    spec s;
    tiny_distil(&s, "distilbert.", "F32", 0);
    add(&s, "", "pre_classifier.weight", "F32", 2, 8, 8);
    add(&s, "", "pre_classifier.bias", "F32", 1, 8, 0);
    add(&s, "", "classifier.weight", "F32", 2, 2, 8);
    add(&s, "", "classifier.bias", "F32", 1, 2, 0);
    write_st("model.safetensors", &s);
    medner__model *m = load_ok();
    assert_int_equal(m->config.head, MEDNER__HEAD_NONE);
    assert_int_equal(m->config.num_labels, 0);
    assert_null(m->config.labels);
    assert_null(m->weights.cls_w);
    assert_int_equal(m->n_params, 1395 - 27);
    medner__model_free(m);
    /* DistilBertForMaskedLM heads are ignored too */
    DISTIL_CONFIG("architectures", "[\"DistilBertForMaskedLM\"]", NULL, NULL);
    tiny_distil(&s, "distilbert.", "F32", 0);
    add(&s, "", "vocab_transform.weight", "F32", 2, 8, 8);
    add(&s, "", "vocab_layer_norm.weight", "F32", 1, 8, 0);
    add(&s, "", "vocab_projector.bias", "F32", 1, 20, 0);
    write_st("model.safetensors", &s);
    m = load_ok();
    assert_null(m->weights.cls_w);
    medner__model_free(m);
    tmpdir_remove();
}

static void test_no_architectures(void **state)
{
    (void)state;
    tmpdir_make("model");
    /* model_type inferred from architectures */
    BERT_CONFIG("model_type", NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    write_st("model.safetensors", &s);
    medner__model *m = load_ok();
    assert_string_equal(m->config.model_type, "bert");
    medner__model_free(m);
    /* no architectures: the classifier is the head when saved ... */
    write_text("config.json", "{\"model_type\": \"bert\", \"hidden_size\": 8, "
               "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 12, "
               "\"max_position_embeddings\": 16, \"vocab_size\": 20, \"num_labels\": 3}");
    m = load_ok();
    assert_int_equal(m->config.head, MEDNER__HEAD_REQUIRED);
    assert_int_equal(m->config.num_labels, 3);
    assert_string_equal(m->config.labels[2], "LABEL_2");
    assert_int_equal(m->config.act, MEDNER__ACT_GELU); /* defaults */
    assert_int_equal(m->config.type_vocab_size, 2);
    assert_int_equal(m->config.pad_token_id, -1);
    medner__model_free(m);
    /* ... and absent otherwise */
    tiny_bert(&s, "bert.", "F32", 0);
    write_st("model.safetensors", &s);
    m = load_ok();
    assert_int_equal(m->config.head, MEDNER__HEAD_NONE);
    assert_int_equal(m->config.num_labels, 0);
    assert_null(m->config.labels);
    assert_null(m->weights.cls_w);
    assert_int_equal(m->n_params, 1411 - 27);
    medner__model_free(m);
    /* a BertModel checkpoint (e.g. a sentence encoder) has no head */
    BERT_CONFIG("architectures", "[\"BertModel\"]", NULL, NULL);
    m = load_ok();
    assert_int_equal(m->config.head, MEDNER__HEAD_NONE);
    medner__model_free(m);
    tmpdir_remove();
}

static float ref_f16(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (e == 0)
        v = ldexpf((float)man, -24);
    else if (e == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), e - 25);
    return sign ? -v : v;
}

static void test_f16_bf16_converted(void **state)
{
    (void)state;
    const char *dtypes[3] = { "F16", "BF16", "mixed" };
    for (int d = 0; d < 3; d++) {
        tmpdir_make("model");
        BERT_CONFIG(NULL, NULL, NULL, NULL);
        spec s;
        tiny_bert(&s, "bert.", d == 2 ? "F32" : dtypes[d], 1);
        if (d == 2) {
            snprintf(find(&s, "bert.embeddings.word_embeddings.weight")->dtype, 16, "F16");
            snprintf(find(&s, "classifier.bias")->dtype, 16, "BF16");
        }
        write_st("model.safetensors", &s);
        medner__model *m = load_ok();
        assert_string_equal(m->dtype, dtypes[d]);
        check_bert_weights(m);
        if (d < 2) {
            check_all_weights_mapped(m, 0);
            assert_int_equal(m->n_maps, 0); /* nothing points into the file */
        } else {
            assert_int_equal(m->n_mapped, 37);
            assert_int_equal(m->n_owned, 2);
            assert_false(medner__model_is_mapped(m, m->weights.word_emb, 4));
            assert_true(medner__model_is_mapped(m, m->weights.pos_emb, 4));
        }
        medner__model_free(m);
        tmpdir_remove();
    }
    /* every class of F16 value (zeros, subnormals, normals, infinities, NaN)
     * and of BF16 value converts exactly */
    uint16_t raw[160];
    static const uint16_t special[] = { 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff,
                                        0xfbff, 0x7c00, 0xfc00, 0x3c00, 0x3555, 0x7e00, 0xfe01 };
    for (size_t k = 0; k < 160; k++)
        raw[k] = k < MEDNER_ARRAY_LEN(special) ? special[k] : (uint16_t)(k * 409u);
    unsigned char bytes[320];
    for (size_t k = 0; k < 160; k++)
        put_le(bytes + 2 * k, raw[k], 2);
    for (int d = 0; d < 2; d++) {
        tmpdir_make("model");
        BERT_CONFIG(NULL, NULL, NULL, NULL);
        spec s;
        tiny_bert(&s, "bert.", "F32", 1);
        tensor *t = find(&s, "bert.embeddings.word_embeddings.weight");
        snprintf(t->dtype, 16, "%s", d ? "BF16" : "F16");
        t->raw = bytes;
        s.extra_spaces = 1; /* odd data start: the F16 source is misaligned */
        write_st("model.safetensors", &s);
        medner__model *m = load_ok();
        for (size_t k = 0; k < 160; k++) {
            float got = m->weights.word_emb[k], want;
            if (d) {
                uint32_t bits = (uint32_t)raw[k] << 16, gbits;
                memcpy(&gbits, &got, 4);
                assert_int_equal(gbits, bits);
                continue;
            }
            want = ref_f16(raw[k]);
            if (isnan(want))
                assert_true(isnan(got));
            else if (memcmp(&got, &want, 4) != 0)
                fail_msg("f16 %04x -> %a, expected %a", raw[k], (double)got, (double)want);
        }
        medner__model_free(m);
        tmpdir_remove();
    }
}

static void test_misaligned_f32_copied(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    s.extra_spaces = 2; /* the data starts 2 bytes off a 4-byte boundary */
    write_st("model.safetensors", &s);
    medner__model *m = load_ok();
    check_bert_weights(m);
    check_all_weights_mapped(m, 0);
    medner__model_free(m);
    /* a one-byte gap before the classifier misaligns only the tensors after it */
    s.extra_spaces = 0;
    tensor *w = find(&s, "classifier.weight"), *b = find(&s, "classifier.bias");
    layout(&s);
    w->fixed = b->fixed = 1;
    w->begin += 1;
    w->end += 1;
    b->begin += 1;
    b->end += 1;
    write_st("model.safetensors", &s);
    m = load_ok();
    check_bert_weights(m);
    assert_int_equal(m->n_mapped, 37);
    assert_false(medner__model_is_mapped(m, m->weights.cls_w, 4));
    medner__model_free(m);
    tmpdir_remove();
}

static void write_index(const spec *a, const char *fa, const spec *b, const char *fb,
                        const char *extra)
{
    char buf[16384];
    size_t len = (size_t)snprintf(buf, sizeof buf, "{\"metadata\": {\"total_size\": 5644},\n"
                                                   " \"weight_map\": {");
    const char *sep = "";
    for (int i = 0; i < a->n; i++, sep = ",\n  ")
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\"%s\": \"%s\"", sep,
                                a->t[i].name, fa);
    for (int i = 0; i < b->n; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, ",\n  \"%s\": \"%s\"", b->t[i].name,
                                fb);
    snprintf(buf + len, sizeof buf - len, "%s}}\n", extra ? extra : "");
    write_text("model.safetensors.index.json", buf);
}

static void split(const spec *all, spec *a, spec *b, int at)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    a->pad = b->pad = 1;
    for (int i = 0; i < all->n; i++) {
        spec *d = i < at ? a : b;
        d->t[d->n++] = all->t[i];
    }
}

static void test_sharded(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec all, a, b;
    tiny_bert(&all, "bert.", "F32", 1);
    split(&all, &a, &b, 20);
    size_t bytes = write_st("model-00001-of-00002.safetensors", &a);
    bytes += write_st("model-00002-of-00002.safetensors", &b);
    write_index(&a, "model-00001-of-00002.safetensors", &b, "model-00002-of-00002.safetensors",
                NULL);
    medner__model *m = load_ok();
    assert_int_equal(m->n_files, 2);
    assert_int_equal(m->n_maps, 2);
    assert_int_equal(m->file_bytes, bytes);
    check_bert_weights(m);
    check_all_weights_mapped(m, 1);
    medner__model_free(m);

    /* a shard path that leaves the directory */
    write_index(&a, "../model-00001-of-00002.safetensors", &b,
                "model-00002-of-00002.safetensors", NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors.index.json",
               "bert.embeddings.word_embeddings.weight", "'..'");
    write_index(&a, "sub/model-00001-of-00002.safetensors", &b,
                "model-00002-of-00002.safetensors", NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors.index.json", "'/'", NULL);
    /* listed in the index, absent from its shard */
    write_index(&a, "model-00001-of-00002.safetensors", &b, "model-00002-of-00002.safetensors",
                ",\n  \"bert.pooler.dense.bias\": \"model-00002-of-00002.safetensors\"");
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors.index.json", "bert.pooler.dense.bias",
               "does not hold it");
    /* in a shard, listed under the other one */
    write_index(&a, "model-00002-of-00002.safetensors", &b, "model-00002-of-00002.safetensors",
                ",\n  \"x\": \"model-00001-of-00002.safetensors\"");
    load_fails(MEDNER_E_INVALID_MODEL, "model-00001-of-00002.safetensors",
               "bert.embeddings.", NULL);
    /* a missing shard file */
    write_index(&a, "model-00001-of-00002.safetensors", &b, "model-00003-of-00002.safetensors",
                NULL);
    load_fails(MEDNER_E_IO, "model-00003-of-00002.safetensors", NULL, NULL);
    write_text("model.safetensors.index.json", "{\"weight_map\": []}");
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors.index.json", "weight_map", NULL);
    /* a model.safetensors next to an index wins (as in transformers) */
    write_st("model.safetensors", &all);
    m = load_ok();
    assert_int_equal(m->n_files, 1);
    medner__model_free(m);
    tmpdir_remove();
}

/* ---- errors -------------------------------------------------------------- */

static void test_config_errors(void **state)
{
    (void)state;
    tmpdir_make("model");
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    write_st("model.safetensors", &s);

    BERT_CONFIG("model_type", "\"roberta\"", NULL, NULL);
    load_fails(MEDNER_E_UNSUPPORTED, "config.json:3:", "\"roberta\"", NULL);
    BERT_CONFIG("model_type", "\"deberta-v2\"", NULL, NULL);
    load_fails(MEDNER_E_UNSUPPORTED, "config.json:3:", "deberta-v2", NULL);
    BERT_CONFIG("model_type", NULL, "architectures", "[\"RobertaForTokenClassification\"]");
    load_fails(MEDNER_E_UNSUPPORTED, "config.json:2:", "RobertaForTokenClassification", NULL);
    BERT_CONFIG("model_type", NULL, "architectures", NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json", "model_type", NULL);
    BERT_CONFIG("model_type", "7", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:3:", "model_type", NULL);
    BERT_CONFIG("hidden_act", "\"swish\"", NULL, NULL);
    load_fails(MEDNER_E_UNSUPPORTED, "config.json:8:", "hidden_act", "swish");
    BERT_CONFIG("hidden_act", "[\"gelu\"]", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:8:", "hidden_act", NULL);
    BERT_CONFIG("position_embedding_type", "\"relative_key\"", NULL, NULL);
    load_fails(MEDNER_E_UNSUPPORTED, "config.json:14:", "relative_key", NULL);
    BERT_CONFIG("num_attention_heads", "3", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:6:", "attention heads", NULL);
    BERT_CONFIG("num_hidden_layers", "257", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:5:", "num_hidden_layers", NULL);
    BERT_CONFIG("hidden_size", "0", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:4:", "hidden_size", NULL);
    BERT_CONFIG("vocab_size", "1048576", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:12:", "vocab_size", NULL);
    BERT_CONFIG("intermediate_size", "12.5", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:7:", "intermediate_size", NULL);
    BERT_CONFIG("layer_norm_eps", "-1", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:9:", "layer_norm_eps", NULL);
    BERT_CONFIG("is_decoder", "true", NULL, NULL);
    load_fails(MEDNER_E_UNSUPPORTED, "config.json", "is_decoder", NULL);
    /* a wrong type is refused at load, not read as false */
    BERT_CONFIG("is_decoder", "1", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:", "\"is_decoder\" must be true, false or null",
               "found number");
    BERT_CONFIG("is_decoder", "\"true\"", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:", "is_decoder", "found string");
    BERT_CONFIG("is_decoder", "[]", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:", "is_decoder", "found array");
    BERT_CONFIG("is_decoder", "false", NULL, NULL);
    medner__model_free(load_ok());
    BERT_CONFIG("is_decoder", "null", NULL, NULL);
    medner__model_free(load_ok());
    /* id2label must cover 0..n-1 exactly, and agree with num_labels / label2id */
    BERT_CONFIG("id2label", "{\"0\": \"O\", \"2\": \"B-DRUG\", \"3\": \"I-DRUG\"}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:15:", "id2label", NULL);
    BERT_CONFIG("id2label", "{\"0\": \"O\", \"1\": \"B-DRUG\", \"1\": \"I-DRUG\"}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:15:", "index 1 twice", NULL);
    BERT_CONFIG("id2label", "{\"0\": \"O\", \"01\": \"B-DRUG\", \"2\": \"I-DRUG\"}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:15:", "id2label", NULL);
    BERT_CONFIG("id2label", "{\"0\": \"O\", \"1\": 1, \"2\": \"I-DRUG\"}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:15:", "id2label", NULL);
    BERT_CONFIG("id2label", "{}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:15:", "id2label", NULL);
    BERT_CONFIG("id2label", "[\"O\"]", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:15:", "id2label", NULL);
    BERT_CONFIG("num_labels", "4", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:17:", "num_labels", NULL);
    BERT_CONFIG("label2id", "{\"O\": 0, \"B-DRUG\": 2, \"I-DRUG\": 1}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:16:", "label2id", NULL);
    BERT_CONFIG("label2id", "{\"O\": 0}", NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:16:", "label2id", NULL);
    /* labels against the classifier: 4 labels, 3 rows */
    BERT_CONFIG("id2label", "{\"0\": \"O\", \"1\": \"B\", \"2\": \"I\", \"3\": \"E\"}",
                "label2id", NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "classifier.weight", "[4, 8]");
    /* DistilBERT config fed BERT weights: every name is unexpected */
    DISTIL_CONFIG(NULL, NULL, NULL, NULL);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "unexpected tensor", "bert.");
    write_text("config.json", "{\"model_type\": \"bert\",}");
    load_fails(MEDNER_E_PARSE, "config.json:1:", NULL, NULL);
    write_text("config.json", "[]");
    load_fails(MEDNER_E_INVALID_MODEL, "config.json:1:1", NULL, NULL);
    remove_file("config.json");
    load_fails(MEDNER_E_IO, "config.json", NULL, NULL);

    /* the config alone */
    medner__config c;
    memset(&c, 0, sizeof c);
    DISTIL_CONFIG("dim", NULL, "hidden_size", "16"); /* attribute_map alias */
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", tmpdir);
    assert_int_equal(medner__config_load(&c, path), MEDNER_OK);
    assert_int_equal(c.hidden, 16);
    assert_int_equal(c.num_labels, 3);
    medner__config_release(&c);
    medner__config_release(NULL);
    assert_int_equal(medner__config_load(NULL, path), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__live_allocations(), 0);
    tmpdir_remove();
}

static void test_weight_errors(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;

    /* no weights at all; only PyTorch weights */
    load_fails(MEDNER_E_IO, tmpdir, "model.safetensors", NULL);
    write_text("pytorch_model.bin", "PK\x03\x04 not really a zip");
    load_fails(MEDNER_E_UNSUPPORTED, "pytorch_model.bin", "examples/tools/convert_to_safetensors.py",
               NULL);
    remove_file("pytorch_model.bin");

    /* shape against the config */
    tiny_bert(&s, "bert.", "F32", 1);
    find(&s, "bert.embeddings.word_embeddings.weight")->shape[0] = 21;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "bert.embeddings.word_embeddings.weight",
               "[21, 8]");
    tiny_bert(&s, "bert.", "F32", 1);
    find(&s, "bert.encoder.layer.1.output.dense.weight")->shape[0] = 12;
    find(&s, "bert.encoder.layer.1.output.dense.weight")->shape[1] = 8;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors",
               "bert.encoder.layer.1.output.dense.weight", "[8, 12]");
    tiny_bert(&s, "bert.", "F32", 1);
    find(&s, "bert.embeddings.LayerNorm.bias")->ndim = 2;
    find(&s, "bert.embeddings.LayerNorm.bias")->shape[1] = 1;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "bert.embeddings.LayerNorm.bias", NULL);

    /* missing and unexpected tensors */
    tiny_bert(&s, "bert.", "F32", 1);
    drop(&s, "bert.encoder.layer.1.output.dense.bias");
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "missing tensor",
               "encoder.layer.1.output.dense.bias");
    tiny_bert(&s, "bert.", "F32", 0);
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "missing tensor", "classifier.weight");
    tiny_bert(&s, "bert.", "F32", 1);
    add(&s, "bert.", "encoder.layer.2.output.dense.bias", "F32", 1, 8, 0);
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "unexpected tensor",
               "bert.encoder.layer.2.output.dense.bias");
    tiny_bert(&s, "bert.", "F32", 1);
    add(&s, "", "crf.transitions", "F32", 2, 3, 3);
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "unexpected tensor",
               "crf.transitions");
    tiny_bert(&s, "bert.", "F32", 1);
    add(&s, "", "embeddings.word_embeddings.weight", "F32", 2, 20, 8);
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "bert.embeddings.word_embeddings.weight",
               "same weight");

    /* dtypes */
    tiny_bert(&s, "bert.", "F32", 1);
    snprintf(find(&s, "bert.encoder.layer.0.attention.self.key.bias")->dtype, 16, "F33");
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_UNSUPPORTED, "model.safetensors",
               "bert.encoder.layer.0.attention.self.key.bias", "unknown dtype");
    tiny_bert(&s, "bert.", "F32", 1);
    snprintf(find(&s, "bert.encoder.layer.0.attention.self.key.bias")->dtype, 16, "I32");
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_UNSUPPORTED, "model.safetensors",
               "bert.encoder.layer.0.attention.self.key.bias", "I32");
    tiny_bert(&s, "bert.", "F32", 1);
    snprintf(find(&s, "classifier.bias")->dtype, 16, "F64");
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_UNSUPPORTED, "model.safetensors", "classifier.bias", "F64");

    /* offsets: outside the data, overlapping, size mismatch */
    tiny_bert(&s, "bert.", "F32", 1);
    layout(&s);
    tensor *t = find(&s, "classifier.bias");
    t->fixed = 1;
    t->begin += 4;
    t->end += 4000;
    size_t len;
    unsigned char *buf = render(&s, &len, NULL);
    write_bytes("model.safetensors", buf, len - 4000); /* the data ends before t->end */
    free(buf);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "classifier.bias", "not inside");
    tiny_bert(&s, "bert.", "F32", 1);
    layout(&s);
    tensor *q = find(&s, "bert.encoder.layer.0.attention.self.query.bias");
    t = find(&s, "bert.encoder.layer.0.attention.self.key.bias");
    t->fixed = 1;
    t->begin = q->begin + 4;
    t->end = t->begin + 32;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "overlap",
               "bert.encoder.layer.0.attention.self.key.bias");
    tiny_bert(&s, "bert.", "F32", 1);
    layout(&s);
    t = find(&s, "bert.embeddings.position_embeddings.weight");
    t->fixed = 1;
    t->end -= 4;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors",
               "bert.embeddings.position_embeddings.weight", "508 bytes");
    tiny_bert(&s, "bert.", "F32", 1);
    layout(&s);
    t = find(&s, "bert.embeddings.position_embeddings.weight");
    t->fixed = 1;
    t->begin = t->end + 1;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors",
               "bert.embeddings.position_embeddings.weight", "data_offsets");
    tiny_bert(&s, "bert.", "F32", 1);
    find(&s, "bert.embeddings.LayerNorm.weight")->shape[0] = -8;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_PARSE, "model.safetensors", "bert.embeddings.LayerNorm.weight", "shape");
    tiny_bert(&s, "bert.", "F32", 1);
    t = find(&s, "bert.embeddings.LayerNorm.weight");
    t->ndim = 4;
    t->shape[0] = t->shape[1] = t->shape[2] = t->shape[3] = 1L << 20;
    write_st("model.safetensors", &s);
    load_fails(MEDNER_E_INVALID_MODEL, "model.safetensors", "bert.embeddings.LayerNorm.weight",
               "overflows");
    tmpdir_remove();
}

static void write_raw(const char *header, uint64_t header_len, size_t data_len)
{
    size_t hl = strlen(header), len = 8 + hl + data_len;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    put_le(buf, header_len, 8);
    memcpy(buf + 8, header, hl);
    write_bytes("model.safetensors", buf, len);
    free(buf);
}

#define HDR(h, data_len) write_raw(h, strlen(h), data_len)

static void test_header_errors(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    const char *f = "model.safetensors";
    write_raw("{}", 1000, 0); /* header length beyond the file */
    load_fails(MEDNER_E_PARSE, f, "header length 1000", "past the end");
    write_raw("{}", UINT64_MAX, 0);
    load_fails(MEDNER_E_PARSE, f, "past the end", NULL);
    write_bytes("model.safetensors", "\x02\0\0\0", 4);
    load_fails(MEDNER_E_PARSE, f, "too short", NULL);
    write_bytes("model.safetensors", "", 0);
    load_fails(MEDNER_E_PARSE, f, "too short", NULL);
    /* a truncated header: the length covers only part of the JSON */
    write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 20, 40);
    load_fails(MEDNER_E_PARSE, f, "model.safetensors:1:", NULL);
    HDR("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4],}}", 4);
    load_fails(MEDNER_E_PARSE, f, "model.safetensors:1:", NULL);
    HDR("[1, 2]", 0);
    load_fails(MEDNER_E_PARSE, f, "JSON object", NULL);
    HDR("", 0);
    load_fails(MEDNER_E_PARSE, f, NULL, NULL);
    HDR("{\"__metadata__\": {\"format\": 1}}", 0);
    load_fails(MEDNER_E_PARSE, f, "__metadata__", NULL);
    HDR("{\"w\": {\"dtype\": 3, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4);
    load_fails(MEDNER_E_PARSE, f, "\"w\"", "dtype");
    HDR("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4);
    load_fails(MEDNER_E_PARSE, f, "\"w\"", "data_offsets");
    HDR("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4);
    load_fails(MEDNER_E_PARSE, f, "\"w\"", "data_offsets");
    HDR("{\"w\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}", 4);
    load_fails(MEDNER_E_PARSE, f, "\"w\"", "shape");
    HDR("{\"w\": [1]}", 4);
    load_fails(MEDNER_E_PARSE, f, "\"w\"", NULL);
    HDR("{\"w\": {\"dtype\": \"F4\", \"shape\": [3], \"data_offsets\": [0, 2]}}", 2);
    load_fails(MEDNER_E_INVALID_MODEL, f, "\"w\"", "whole bytes");
    HDR("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
              " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8);
    load_fails(MEDNER_E_INVALID_MODEL, f, "\"w\"", "twice");
    HDR("{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4);
    load_fails(MEDNER_E_PARSE, f, "empty", NULL);
    /* a header above the 100 MB cap (a sparse file) */
    char p[512];
    snprintf(p, sizeof p, "%s/model.safetensors", tmpdir);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    unsigned char len8[8];
    put_le(len8, MEDNER__ST_MAX_HEADER + 1, 8);
    assert_int_equal(fwrite(len8, 1, 8, fp), 8);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(truncate(p, (off_t)(MEDNER__ST_MAX_HEADER + 16)), 0);
    load_fails(MEDNER_E_LIMIT, f, "limit", NULL);
    /* a directory where the file should be */
    remove_file("model.safetensors");
    assert_int_equal(mkdir(p, 0700), 0);
    load_fails(MEDNER_E_IO, f, NULL, NULL);
    assert_int_equal(rmdir(p), 0);
    /* FIFOs where the files should be: refused by name, without waiting for
     * a writer (the alarm turns the old endless open() into a failure) */
    alarm(20);
    assert_int_equal(mkfifo(p, 0600), 0);
    load_fails(MEDNER_E_IO, f, "is a FIFO; expected a regular file", NULL);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/config.json", tmpdir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkfifo(p, 0600), 0);
    load_fails(MEDNER_E_IO, "config.json", "is a FIFO; expected a regular file", NULL);
    assert_int_equal(unlink(p), 0);
    alarm(0);
    /* arguments */
    medner__model *m = NULL;
    assert_int_equal(medner__model_load(NULL, tmpdir), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__model_load(&m, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__model_load(&m, "/nonexistent/medner"), MEDNER_E_IO);
    assert_null(m);
    assert_int_equal(medner__model_is_mapped(NULL, tmpdir, 1), 0);
    tmpdir_remove();
}

/* Tensor names at the 255-byte limit whose TF-era LayerNorm suffix is
 * renamed ("gamma" -> "weight" grows the name by a byte): once a stack
 * buffer overflow (seen under ASan). They are unexpected tensors. */
static void test_long_tensor_names(void **state)
{
    (void)state;
    tmpdir_make("model");
    const char *f = "model.safetensors";
    static const struct { int distil; const char *prefix, *tail; size_t len; } cases[] = {
        { 0, "bert.", "embeddings.LayerNorm.gamma", 255 },
        { 0, "", ".LayerNorm.gamma", 255 },
        { 0, "", ".LayerNorm.beta", 255 },
        { 0, "bert.", "encoder.layer.0.output.LayerNorm.gamma", 254 },
        { 0, "bert.", "embeddings.LayerNorm.gamma", 256 },
        { 1, "distilbert.", "transformer.layer.0.output_layer_norm.gamma", 255 },
        { 1, "", "embeddings.LayerNorm.gamma", 255 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].distil)
            DISTIL_CONFIG(NULL, NULL, NULL, NULL);
        else
            BERT_CONFIG(NULL, NULL, NULL, NULL);
        char name[300];
        size_t p = strlen(cases[i].prefix), t = strlen(cases[i].tail);
        memcpy(name, cases[i].prefix, p);
        memset(name + p, 'x', cases[i].len - t);
        memcpy(name + p + cases[i].len - t, cases[i].tail, t + 1);
        assert_int_equal(strlen(name), p + cases[i].len);
        char header[400];
        snprintf(header, sizeof header,
                 "{\"%s\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                 name);
        HDR(header, 4);
        load_fails(MEDNER_E_INVALID_MODEL, f, "unexpected tensor", NULL);
    }
    tmpdir_remove();
}

/* ---- robustness ---------------------------------------------------------- */

static const int allowed[] = { MEDNER_OK, MEDNER_E_PARSE, MEDNER_E_UNSUPPORTED,
                               MEDNER_E_INVALID_MODEL, MEDNER_E_LIMIT };

static int is_allowed(int rc)
{
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(allowed); i++)
        if (rc == allowed[i])
            return 1;
    return 0;
}

/* Load; on success touch every weight (ASan sees any read outside a buffer). */
static int try_load(void)
{
    medner__model *m = NULL;
    int rc = medner__model_load(&m, tmpdir);
    if (!is_allowed(rc))
        fail_msg("status %d: %s", rc, medner_last_error());
    if (rc == MEDNER_OK) {
        volatile float sum = 0;
        for (size_t k = 0; k < 160; k++)
            sum += m->weights.word_emb[k];
        for (size_t l = 0; l < m->config.layers; l++)
            for (size_t k = 0; k < 96; k++)
                sum += m->weights.layers[l].ffn2_w[k];
        (void)sum;
        medner__model_free(m);
    }
    assert_int_equal(medner__live_allocations(), 0);
    return rc;
}

static void test_every_truncation(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F16", 1);
    size_t len;
    unsigned char *buf = render(&s, &len, NULL);
    write_bytes("model.safetensors", buf, len);
    long maps = count_mappings();
    assert_int_equal(try_load(), MEDNER_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    for (size_t n = len; n-- > 0;) {
        assert_int_equal(truncate(path, (off_t)n), 0);
        if (try_load() == MEDNER_OK)
            fail_msg("a file truncated to %zu of %zu bytes loaded", n, len);
    }
    assert_int_equal(count_mappings(), maps);
    free(buf);
    tmpdir_remove();
}

static void test_random_byte_flips(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    add(&s, "", "embeddings.position_ids", "I64", 2, 1, 16);
    size_t len, hl;
    unsigned char *buf = render(&s, &len, &hl);
    unsigned char *copy = malloc(len);
    assert_non_null(copy);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int ok = 0;
    long maps = count_mappings();
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(copy, buf, len);
        int flips = 1 + iter % 3;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* mostly the length and the header, where parsing happens */
            size_t pos = (x >> 8) % 4 ? (size_t)((x >> 16) % (8 + hl)) : (size_t)((x >> 16) % len);
            copy[pos] ^= (unsigned char)(1u << ((x >> 40) % 8));
        }
        write_bytes("model.safetensors", copy, len);
        ok += try_load() == MEDNER_OK;
    }
    assert_true(ok > 0 && ok < 5000); /* some flips are harmless, most are not */
    assert_int_equal(count_mappings(), maps);
    free(copy);
    free(buf);
    tmpdir_remove();
}

/* Structural edits of the safetensors header, thousands of them: a number
 * (a shape, an offset, the header length) replaced by a nearby or extreme
 * value, or a dtype name by another. Each file loads or fails cleanly. */
static void test_random_header_edits(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    size_t len, hl;
    unsigned char *buf = render(&s, &len, &hl);
    static const char *const repl[] = { "0", "1", "2", "7", "15", "16", "17", "31", "4096",
                                        "18446744073709551615", "9223372036854775807", "-1",
                                        "1e3", "\"F16\"", "\"BF16\"", "\"I64\"", "\"F64\"",
                                        "\"F8_E4M3\"", "\"X\"", "[]", "[1,1,1,1,1,1,1,1,1]",
                                        "null" };
    unsigned char *out = malloc(len + 64);
    assert_non_null(out);
    uint64_t x = 0xD1B54A32D192ED03ULL;
    int ok = 0, edits = 0;
    long maps = count_mappings();
    /* the header's tokens: runs of digits and quoted upper-case values (dtypes) */
    size_t (*tok)[2] = malloc(hl * sizeof *tok), nt = 0;
    assert_non_null(tok);
    for (size_t i = 8; i < 8 + hl; i++) {
        if (buf[i] >= '0' && buf[i] <= '9') {
            size_t e = i;
            while (e < 8 + hl && buf[e] >= '0' && buf[e] <= '9')
                e++;
            tok[nt][0] = i;
            tok[nt++][1] = e;
            i = e;
        } else if (buf[i] == '"' && i + 1 < 8 + hl && buf[i + 1] >= 'A' && buf[i + 1] <= 'Z' &&
                   i > 8 && buf[i - 1] == ':') {
            size_t e = i + 1;
            while (e < 8 + hl && buf[e] != '"')
                e++;
            tok[nt][0] = i;
            tok[nt++][1] = e + 1;
            i = e;
        }
    }
    assert_true(nt > 50);
    for (int iter = 0; iter < 3000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t b = tok[(x >> 8) % nt][0], e = tok[(x >> 8) % nt][1];
        const char *r = repl[(x >> 32) % (sizeof repl / sizeof *repl)];
        size_t rl = strlen(r), nl = len - (e - b) + rl;
        memcpy(out, buf, b);
        memcpy(out + b, r, rl);
        memcpy(out + b + rl, buf + e, len - e);
        /* keep the length prefix consistent for header edits (it is itself
         * edited when the token is inside it: b < 8 cannot happen here) */
        uint64_t nh = (uint64_t)hl - (e - b) + rl;
        for (int k = 0; k < 8; k++)
            out[k] = (unsigned char)(nh >> (8 * k));
        write_bytes("model.safetensors", out, nl);
        ok += try_load() == MEDNER_OK;
        edits++;
    }
    assert_int_equal(edits, 3000);
    assert_true(ok < edits); /* most edits are refused */
    assert_int_equal(count_mappings(), maps);
    free(tok);
    free(out);
    free(buf);
    tmpdir_remove();
}

/* ---- allocation failures ------------------------------------------------- */

static void oom_loop(long min_allocs)
{
    failing f = { 0, 0 };
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(failing_install(&f), MEDNER_OK);
    medner__model *m = NULL;
    long n, maps = count_mappings();
    int rc;
    for (n = 1;; n++) {
        f.count = 0;
        f.fail_at = n;
        rc = medner__model_load(&m, tmpdir);
        if (rc == MEDNER_OK)
            break;
        if (rc != MEDNER_E_OUT_OF_MEMORY)
            fail_msg("allocation %ld failing gave %d: %s", n, rc, medner_last_error());
        assert_int_equal(medner__live_allocations(), 0);
        assert_int_equal(count_mappings(), maps);
    }
    assert_true(n > min_allocs);
    f.fail_at = 0;
    check_bert_weights(m);
    medner__model_free(m);
    assert_int_equal(count_mappings(), maps);
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    tmpdir_make("model");
    BERT_CONFIG(NULL, NULL, NULL, NULL);
    spec s;
    tiny_bert(&s, "bert.", "F32", 1);
    write_st("model.safetensors", &s);
    oom_loop(10);
    /* sharded, F16 (owned buffers) and BF16 */
    remove_file("model.safetensors");
    spec all, a, b;
    tiny_bert(&all, "bert.", "F16", 1);
    for (int i = 20; i < all.n; i++)
        snprintf(all.t[i].dtype, 16, "BF16");
    split(&all, &a, &b, 20);
    write_st("model-00001-of-00002.safetensors", &a);
    write_st("model-00002-of-00002.safetensors", &b);
    write_index(&a, "model-00001-of-00002.safetensors", &b, "model-00002-of-00002.safetensors",
                NULL);
    oom_loop(50);
    tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bert_f32_zero_copy),
        cmocka_unit_test(test_bert_unprefixed_old_names_ignored),
        cmocka_unit_test(test_distilbert),
        cmocka_unit_test(test_no_architectures),
        cmocka_unit_test(test_f16_bf16_converted),
        cmocka_unit_test(test_misaligned_f32_copied),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_weight_errors),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_long_tensor_names),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_byte_flips),
        cmocka_unit_test(test_random_header_edits),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
