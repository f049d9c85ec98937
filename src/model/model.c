/*
 * medner__model_load(): config.json + safetensors weights (one file or
 * shards) -> the fp32 weight pointers of one BERT or DistilBERT encoder.
 *
 * Each tensor name is mapped to a slot (global or layer i, suffix k); every
 * slot must be filled exactly once with the shape the config implies. F32
 * tensors are then used in place from the read-only mapping when aligned
 * (zero copy, shared by every process that maps the file); the others are
 * converted once into owned fp32 buffers. Mappings no weight points into are
 * released at the end of loading.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "model/model_internal.h"

#define CONVERT_SCRIPT "examples/tools/convert_to_safetensors.py"

/* ---- names -------------------------------------------------------------- */

enum { G_WORD, G_POS, G_TYPE, G_LN_G, G_LN_B, G_CLS_W, G_CLS_B, G_COUNT };
enum {
    L_Q_W, L_Q_B, L_K_W, L_K_B, L_V_W, L_V_B, L_O_W, L_O_B, L_LN1_G, L_LN1_B,
    L_F1_W, L_F1_B, L_F2_W, L_F2_B, L_LN2_G, L_LN2_B, L_COUNT
};

static const char *const global_names[G_COUNT] = {
    "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias", "classifier.weight", "classifier.bias",
};

static const char *const bert_layer_names[L_COUNT] = {
    "attention.self.query.weight", "attention.self.query.bias",
    "attention.self.key.weight", "attention.self.key.bias",
    "attention.self.value.weight", "attention.self.value.bias",
    "attention.output.dense.weight", "attention.output.dense.bias",
    "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
    "intermediate.dense.weight", "intermediate.dense.bias",
    "output.dense.weight", "output.dense.bias",
    "output.LayerNorm.weight", "output.LayerNorm.bias",
};

static const char *const distil_layer_names[L_COUNT] = {
    "attention.q_lin.weight", "attention.q_lin.bias",
    "attention.k_lin.weight", "attention.k_lin.bias",
    "attention.v_lin.weight", "attention.v_lin.bias",
    "attention.out_lin.weight", "attention.out_lin.bias",
    "sa_layer_norm.weight", "sa_layer_norm.bias",
    "ffn.lin1.weight", "ffn.lin1.bias",
    "ffn.lin2.weight", "ffn.lin2.bias",
    "output_layer_norm.weight", "output_layer_norm.bias",
};

/* Known tensors of other heads and buffers, after the model prefix. */
static const char *const ignored_prefixes[] = {
    "pooler.", "cls.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector.",
    "pre_classifier.", "qa_outputs.",
};
static const char *const ignored_names[] = {
    "embeddings.position_ids", "embeddings.token_type_ids",
};

#define NAME_MAX_LEN 255

typedef struct slot {
    const medner__st_tensor *t;
    const medner__st_file *file;
} slot;

typedef struct loader {
    const medner__config *c;
    const char *weights_name; /* model.safetensors or the index, for messages */
    medner__st_file *files;
    size_t n_files;
    slot *slots;              /* G_COUNT + layers * L_COUNT */
    size_t n_slots;
} loader;

static int has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

_Static_assert(G_CLS_W == MEDNER__SLOT_CLS_W && G_CLS_B == MEDNER__SLOT_CLS_B,
               "classifier slots as in model.h");

/* TF-era checkpoints call LayerNorm parameters gamma and beta: rename the
 * NUL-terminated name buf[0, *len) in place, with explicit lengths ("weight"
 * is one byte longer than "gamma"; a 255-byte name ending in
 * "LayerNorm.gamma" once overflowed a buffer sized for the name alone).
 * Returns -1 when the renamed name would not fit in `size` bytes. */
static int tf_layer_norm_rename(char *buf, size_t *len, size_t size)
{
    static const char *const marks[] = { "LayerNorm.", "layer_norm." };
    static const struct { const char *from, *to; } renames[] = {
        { "gamma", "weight" }, { "beta", "bias" },
    };
    size_t l = *len;
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(marks); i++) {
        size_t m = strlen(marks[i]);
        for (size_t r = 0; r < MEDNER_ARRAY_LEN(renames); r++) {
            size_t f = strlen(renames[r].from), n = strlen(renames[r].to);
            if (l < m + f || memcmp(buf + l - m - f, marks[i], m) != 0 ||
                memcmp(buf + l - f, renames[r].from, f) != 0)
                continue;
            if (l - f + n >= size)
                return -1;
            memcpy(buf + l - f, renames[r].to, n + 1);
            *len = l - f + n;
            return 0;
        }
    }
    return 0;
}

/* Slot of a tensor name: >= 0, or -1 for a known but unused tensor, or -2
 * for an unexpected one. With any_head, `classifier.*` always has its slot
 * (an adapter may bring a head the base lacks). */
static long slot_of(const medner__config *c, const char *name, size_t len, int any_head)
{
    /* room for the name, one byte of growth ("gamma" -> "weight") and the NUL */
    char buf[NAME_MAX_LEN + 2];
    const char *model_prefix = c->arch == MEDNER__ARCH_BERT ? "bert." : "distilbert.";
    if (has_prefix(name, len, model_prefix)) {
        name += strlen(model_prefix);
        len -= strlen(model_prefix);
    }
    if (len > NAME_MAX_LEN)
        return -2;
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (tf_layer_norm_rename(buf, &len, sizeof buf) != 0)
        return -2;
    const char *layer_prefix =
        c->arch == MEDNER__ARCH_BERT ? "encoder.layer." : "transformer.layer.";
    if (has_prefix(buf, len, layer_prefix)) {
        const char *p = buf + strlen(layer_prefix);
        size_t idx = 0, digits = 0;
        while (p[digits] >= '0' && p[digits] <= '9' && digits < 4)
            idx = idx * 10 + (size_t)(p[digits++] - '0');
        if (digits == 0 || p[digits] != '.' || (digits > 1 && p[0] == '0') || idx >= c->layers)
            return -2;
        const char *const *names =
            c->arch == MEDNER__ARCH_BERT ? bert_layer_names : distil_layer_names;
        for (size_t k = 0; k < L_COUNT; k++)
            if (strcmp(p + digits + 1, names[k]) == 0)
                return (long)(G_COUNT + idx * L_COUNT + k);
        return -2;
    }
    for (size_t g = 0; g < G_COUNT; g++) {
        if (strcmp(buf, global_names[g]) != 0)
            continue;
        if (g == G_TYPE && c->arch != MEDNER__ARCH_BERT)
            return -2;
        if ((g == G_CLS_W || g == G_CLS_B) && c->head == MEDNER__HEAD_NONE && !any_head)
            return -1; /* the head of another task (e.g. sequence classification) */
        return (long)g;
    }
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(ignored_prefixes); i++)
        if (has_prefix(buf, len, ignored_prefixes[i]))
            return -1;
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(ignored_names); i++)
        if (strcmp(buf, ignored_names[i]) == 0)
            return -1;
    return -2;
}

static void slot_name(const loader *ld, size_t s, char *buf, size_t size)
{
    const char *prefix = s < G_CLS_W ? (ld->c->arch == MEDNER__ARCH_BERT ? "bert." : "distilbert.")
                                     : "";
    if (s < G_COUNT) {
        snprintf(buf, size, "%s%s", prefix, global_names[s]);
        return;
    }
    prefix = ld->c->arch == MEDNER__ARCH_BERT ? "bert.encoder.layer." : "distilbert.transformer.layer.";
    const char *const *names =
        ld->c->arch == MEDNER__ARCH_BERT ? bert_layer_names : distil_layer_names;
    snprintf(buf, size, "%s%zu.%s", prefix, (s - G_COUNT) / L_COUNT,
             names[(s - G_COUNT) % L_COUNT]);
}

/* Expected shape of slot s: ndim 1 or 2. */
static size_t expected_shape(const medner__config *c, size_t s, size_t dims[2])
{
    size_t h = c->hidden, in = c->intermediate;
    switch (s) {
    case G_WORD: dims[0] = c->vocab_size; dims[1] = h; return 2;
    case G_POS: dims[0] = c->max_positions; dims[1] = h; return 2;
    case G_TYPE: dims[0] = c->type_vocab_size; dims[1] = h; return 2;
    case G_LN_G: case G_LN_B: dims[0] = h; return 1;
    case G_CLS_W: dims[0] = c->num_labels; dims[1] = h; return 2;
    case G_CLS_B: dims[0] = c->num_labels; return 1;
    default: break;
    }
    switch ((s - G_COUNT) % L_COUNT) {
    case L_Q_W: case L_K_W: case L_V_W: case L_O_W: dims[0] = h; dims[1] = h; return 2;
    case L_F1_W: dims[0] = in; dims[1] = h; return 2;
    case L_F1_B: dims[0] = in; return 1;
    case L_F2_W: dims[0] = h; dims[1] = in; return 2;
    default: dims[0] = h; return 1;
    }
}

static int required(const medner__config *c, size_t s)
{
    if (s == G_TYPE)
        return c->arch == MEDNER__ARCH_BERT;
    if (s == G_CLS_W || s == G_CLS_B)
        return c->head == MEDNER__HEAD_REQUIRED;
    return 1;
}

static void shape_str(char *buf, size_t size, const size_t *dims, size_t ndim)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < ndim && i < MEDNER__ST_MAX_DIMS && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, i ? ", %zu" : "%zu", dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, ndim > MEDNER__ST_MAX_DIMS ? ", ...]" : "]");
}

static int assign(loader *ld)
{
    for (size_t f = 0; f < ld->n_files; f++) {
        const medner__st_file *file = &ld->files[f];
        for (size_t i = 0; i < file->n_tensors; i++) {
            const medner__st_tensor *t = &file->tensors[i];
            long s = slot_of(ld->c, t->name, t->name_len, 0);
            if (s == -1)
                continue;
            if (s < 0)
                return medner__fail(MEDNER_E_INVALID_MODEL,
                                    "%s: unexpected tensor \"%.200s\" (not part of a %zu-layer "
                                    "%s model; see docs/model-formats.md)", file->path, t->name,
                                    ld->c->layers, ld->c->model_type);
            slot *sl = &ld->slots[s];
            if (sl->t != NULL)
                return medner__fail(MEDNER_E_INVALID_MODEL,
                                    "%s: tensors \"%.150s\" and \"%.150s\" are the same weight",
                                    file->path, sl->t->name, t->name);
            sl->t = t;
            sl->file = file;
        }
    }
    /* A model without architectures has a token head only if it was saved. */
    if (ld->c->head == MEDNER__HEAD_OPTIONAL && ld->slots[G_CLS_W].t == NULL &&
        ld->slots[G_CLS_B].t == NULL)
        return 1;
    return 0;
}

static int check_slots(loader *ld)
{
    for (size_t s = 0; s < ld->n_slots; s++) {
        const slot *sl = &ld->slots[s];
        char name[256];
        if (sl->t == NULL) {
            if (!required(ld->c, s))
                continue;
            slot_name(ld, s, name, sizeof name);
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s: missing tensor \"%s\"%s", ld->weights_name, name,
                                s < G_CLS_W || s >= G_COUNT ? " (the model prefix is optional)"
                                                            : "");
        }
        size_t dims[2];
        size_t nd = expected_shape(ld->c, s, dims);
        if (sl->t->ndim != nd || sl->t->shape[0] != dims[0] || (nd == 2 && sl->t->shape[1] != dims[1])) {
            char want[64], got[96];
            shape_str(want, sizeof want, dims, nd);
            shape_str(got, sizeof got, sl->t->shape, sl->t->ndim);
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s: tensor \"%.200s\" has shape %s; config.json implies %s",
                                sl->file->path, sl->t->name, got, want);
        }
        medner__dtype dt = sl->t->dtype;
        if (dt != MEDNER__DT_F32 && dt != MEDNER__DT_F16 && dt != MEDNER__DT_BF16)
            return medner__fail(MEDNER_E_UNSUPPORTED,
                                "%s: tensor \"%.200s\" is %s; medner reads F32, F16 and BF16 "
                                "weights", sl->file->path, sl->t->name, medner__dtype_name(dt));
    }
    return MEDNER_OK;
}

/* ---- materialising ------------------------------------------------------- */

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* fp32 copy of a tensor; the source may be misaligned, and is little-endian. */
void medner__st_to_f32(float *out, const medner__st_tensor *t)
{
    const unsigned char *p = t->data;
    size_t n = t->numel;
    if (t->dtype == MEDNER__DT_F32) {
        if (little_endian()) {
            memcpy(out, p, n * 4);
        } else {
            for (size_t i = 0; i < n; i++) {
                uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
                memcpy(&out[i], &u, 4);
            }
        }
        return;
    }
    uint16_t tmp[1024];
    for (size_t i = 0; i < n; i += MEDNER_ARRAY_LEN(tmp)) {
        size_t k = n - i < MEDNER_ARRAY_LEN(tmp) ? n - i : MEDNER_ARRAY_LEN(tmp);
        for (size_t j = 0; j < k; j++)
            tmp[j] = (uint16_t)(p[2 * (i + j)] | p[2 * (i + j) + 1] << 8);
        if (t->dtype == MEDNER__DT_F16)
            medner__f16_to_f32(out + i, tmp, k);
        else
            medner__bf16_to_f32(out + i, tmp, k);
    }
}

static const float **weight_ptr(medner__model *m, size_t s)
{
    medner__weights *w = &m->weights;
    switch (s) {
    case G_WORD: return &w->word_emb;
    case G_POS: return &w->pos_emb;
    case G_TYPE: return &w->type_emb;
    case G_LN_G: return &w->emb_ln_g;
    case G_LN_B: return &w->emb_ln_b;
    case G_CLS_W: return &w->cls_w;
    case G_CLS_B: return &w->cls_b;
    default: break;
    }
    medner__layer *l = &w->layers[(s - G_COUNT) / L_COUNT];
    const float **p[L_COUNT] = {
        &l->q_w, &l->q_b, &l->k_w, &l->k_b, &l->v_w, &l->v_b, &l->o_w, &l->o_b,
        &l->ln1_g, &l->ln1_b, &l->ffn1_w, &l->ffn1_b, &l->ffn2_w, &l->ffn2_b,
        &l->ln2_g, &l->ln2_b,
    };
    return p[(s - G_COUNT) % L_COUNT];
}

/* ---- slots, for adapter.c ---------------------------------------------------- */

size_t medner__model_n_slots(const medner__model *m)
{
    return G_COUNT + m->config.layers * L_COUNT;
}

long medner__model_slot(const medner__model *m, const char *name, size_t len)
{
    return slot_of(&m->config, name, len, 1);
}

const float **medner__model_slot_ptr(medner__model *m, size_t s)
{
    return weight_ptr(m, s);
}

size_t medner__model_slot_shape(const medner__model *m, size_t s, size_t dims[2])
{
    return expected_shape(&m->config, s, dims);
}

int medner__model_slot_is_linear(size_t s)
{
    if (s < G_COUNT)
        return s == G_CLS_W;
    size_t k = (s - G_COUNT) % L_COUNT;
    return k == L_Q_W || k == L_K_W || k == L_V_W || k == L_O_W || k == L_F1_W || k == L_F2_W;
}

size_t medner__model_slot_layer(size_t s)
{
    return s < G_COUNT ? SIZE_MAX : (s - G_COUNT) / L_COUNT;
}

void medner__model_slot_module(const medner__model *m, size_t s, const char *prefix, char *buf,
                               size_t size)
{
    const medner__config *c = &m->config;
    if (s < G_COUNT) {
        /* "embeddings.LayerNorm.weight" -> "embeddings.LayerNorm" */
        const char *name = global_names[s];
        const char *dot = strrchr(name, '.');
        snprintf(buf, size, "%s%.*s", s == G_CLS_W || s == G_CLS_B ? "" : prefix,
                 (int)(dot - name), name);
        return;
    }
    const char *const *names = c->arch == MEDNER__ARCH_BERT ? bert_layer_names : distil_layer_names;
    const char *name = names[(s - G_COUNT) % L_COUNT];
    const char *dot = strrchr(name, '.');
    snprintf(buf, size, "%s%s%zu.%.*s", prefix,
             c->arch == MEDNER__ARCH_BERT ? "encoder.layer." : "transformer.layer.",
             (s - G_COUNT) / L_COUNT, (int)(dot - name), name);
}

void medner__model_release_unused_maps(medner__model *m)
{
    size_t n_slots = medner__model_n_slots(m), kept = 0;
    for (size_t i = 0; i < m->n_maps; i++) {
        uintptr_t b = (uintptr_t)m->maps[i].base;
        int used = 0;
        for (size_t s = 0; s < n_slots && !used; s++) {
            uintptr_t p = (uintptr_t)*weight_ptr(m, s);
            used = p != 0 && p >= b && p - b < m->maps[i].size;
        }
        if (used)
            m->maps[kept++] = m->maps[i];
        else
            medner__mapping_release(&m->maps[i]);
    }
    m->n_maps = kept;
}

int medner__model_drop_weight(medner__model *m, const float *w)
{
    size_t n_slots = medner__model_n_slots(m), s = 0;
    while (s < n_slots && (w == NULL || *weight_ptr(m, s) != w))
        s++;
    if (s == n_slots)
        return 0;
    const float **wp = weight_ptr(m, s);
    size_t dims[2] = { 1, 1 }, nd = medner__model_slot_shape(m, s, dims);
    size_t bytes = dims[0] * (nd > 1 ? dims[1] : 1) * sizeof(float);
    *wp = NULL;
    for (size_t t = 0; t < n_slots; t++)
        if (*weight_ptr(m, t) == w)
            return 0; /* another weight shares the storage: kept */
    for (size_t i = 0; i < m->n_owned; i++)
        if (m->owned[i] == w) { /* a private fp32 copy: freed */
            medner__free(m->owned[i]);
            m->owned[i] = m->owned[--m->n_owned];
            return 0;
        }
    for (size_t i = 0; i < m->n_maps; i++) {
        uintptr_t b = (uintptr_t)m->maps[i].base, p = (uintptr_t)w;
        if (p < b || p - b >= m->maps[i].size)
            continue;
        /* the whole pages inside the tensor: their resident copies dropped
         * (a read would fault them in again from the file) */
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t lo = (p + page - 1) / page * page, hi = (p + bytes) / page * page;
        if (hi > lo && madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0)
            return -1;
        return 0;
    }
    return 0;
}

static int materialise(medner__model *m, loader *ld)
{
    size_t *uses = medner__calloc(ld->n_files, sizeof *uses);
    m->owned = medner__calloc(ld->n_slots, sizeof *m->owned);
    m->maps = medner__calloc(ld->n_files, sizeof *m->maps);
    if (uses == NULL || m->owned == NULL || m->maps == NULL) {
        medner__free(uses);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", ld->weights_name);
    }
    int le = little_endian(), f32 = 0, f16 = 0, bf16 = 0;
    for (size_t s = 0; s < ld->n_slots; s++) {
        const slot *sl = &ld->slots[s];
        if (sl->t == NULL)
            continue;
        const medner__st_tensor *t = sl->t;
        m->n_params += t->numel;
        f32 |= t->dtype == MEDNER__DT_F32;
        f16 |= t->dtype == MEDNER__DT_F16;
        bf16 |= t->dtype == MEDNER__DT_BF16;
        if (t->dtype == MEDNER__DT_F32 && le && (uintptr_t)t->data % sizeof(float) == 0) {
            *weight_ptr(m, s) = (const float *)(const void *)t->data;
            uses[sl->file - ld->files]++;
            m->n_mapped++;
            continue;
        }
        float *buf = medner__calloc(t->numel, sizeof *buf);
        if (buf == NULL) {
            medner__free(uses);
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory for tensor "
                                "\"%.200s\"", sl->file->path, t->name);
        }
        medner__st_to_f32(buf, t);
        m->owned[m->n_owned++] = buf;
        *weight_ptr(m, s) = buf;
    }
    /* keep only the mappings a weight points into */
    for (size_t f = 0; f < ld->n_files; f++) {
        if (uses[f] == 0)
            continue;
        m->maps[m->n_maps++] = ld->files[f].map;
        ld->files[f].map.base = NULL;
        ld->files[f].map.size = 0;
    }
    medner__free(uses);
    snprintf(m->dtype, sizeof m->dtype, "%s",
             f32 + f16 + bf16 > 1 ? "mixed" : f16 ? "F16" : bf16 ? "BF16" : "F32");
    return MEDNER_OK;
}

/* ---- weight files -------------------------------------------------------- */

static int shard_name_ok(const char *s, size_t len)
{
    return len > 0 && strlen(s) == len && strchr(s, '/') == NULL && strchr(s, '\\') == NULL &&
           strstr(s, "..") == NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* model.safetensors.index.json: open each shard once; every tensor of a shard
 * must be listed in weight_map under that shard, and every listed tensor
 * must be in its shard. */
static int open_shards(loader *ld, const char *dir, const char *index_path,
                       medner__json_doc **index_doc)
{
    int rc = medner__json_parse_file(index_doc, index_path);
    if (rc != MEDNER_OK)
        return rc;
    const medner__json *root = medner__json_root(*index_doc);
    const medner__json *map = medner__json_get(root, "weight_map");
    if (map == NULL || map->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: expected an object with a "
                            "\"weight_map\" object", index_path, root->line, root->column);
    if (map->count == 0)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s:%zu:%zu: \"weight_map\" is empty",
                            index_path, map->line, map->column);
    const char **names = medner__malloc(map->count * sizeof *names);
    if (names == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", index_path);
    for (size_t i = 0; i < map->count; i++) {
        const medner__json *v = map->items[i];
        if (v->type != MEDNER__JSON_STRING || !shard_name_ok(v->str, v->len)) {
            medner__free(names);
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: tensor \"%.200s\": the shard must be a file name in "
                                "the model directory (no '/' or '..')", index_path, v->line,
                                v->column, map->keys[i]);
        }
        names[i] = v->str;
    }
    qsort(names, map->count, sizeof *names, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < map->count; i++)
        if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
            names[n++] = names[i];
    ld->files = medner__calloc(n, sizeof *ld->files);
    if (ld->files == NULL) {
        medner__free(names);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", index_path);
    }
    for (size_t i = 0; i < n && rc == MEDNER_OK; i++) {
        char *path = medner__path_join(dir, names[i]);
        if (path == NULL) {
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", index_path);
            break;
        }
        rc = medner__st_open(&ld->files[i], path);
        medner__free(path);
        if (rc == MEDNER_OK)
            ld->n_files = i + 1;
    }
    medner__free(names);
    if (rc != MEDNER_OK)
        return rc;
    for (size_t f = 0; f < ld->n_files; f++) {
        const medner__st_file *file = &ld->files[f];
        const char *base = file->path + strlen(dir) + (dir[strlen(dir) - 1] != '/');
        for (size_t i = 0; i < file->n_tensors; i++) {
            const medner__st_tensor *t = &file->tensors[i];
            const medner__json *v = medner__json_get_n(map, t->name, t->name_len);
            if (v == NULL || strcmp(v->str, base) != 0)
                return medner__fail(MEDNER_E_INVALID_MODEL,
                                    "%s: tensor \"%.200s\" is in shard %s but %s lists it %s%s",
                                    file->path, t->name, base, index_path,
                                    v ? "under " : "nowhere", v ? v->str : "");
        }
    }
    for (size_t i = 0; i < map->count; i++) {
        int found = 0;
        for (size_t f = 0; f < ld->n_files && !found; f++) {
            const char *path = ld->files[f].path;
            const char *base = path + strlen(dir) + (dir[strlen(dir) - 1] != '/');
            found = strcmp(base, map->items[i]->str) == 0 &&
                    medner__st_find(&ld->files[f], map->keys[i], map->key_lens[i]) != NULL;
        }
        if (!found)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: tensor \"%.200s\" is listed under %s but that "
                                "shard does not hold it", index_path, map->items[i]->line,
                                map->items[i]->column, map->keys[i], map->items[i]->str);
    }
    return MEDNER_OK;
}

static int exists_in(const char *dir, const char *name, int *out)
{
    char *p = medner__path_join(dir, name);
    if (p == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    *out = medner__file_exists(p);
    medner__free(p);
    return MEDNER_OK;
}

/* ---- load / free --------------------------------------------------------- */

void medner__model_free(medner__model *m)
{
    if (m == NULL)
        return;
    medner__config_release(&m->config);
    medner__free(m->adapter); /* one block (model/adapter.h) */
    medner__free(m->weights.layers);
    for (size_t i = 0; i < m->n_owned; i++)
        medner__free(m->owned[i]);
    medner__free(m->owned);
    for (size_t i = 0; i < m->n_maps; i++)
        medner__mapping_release(&m->maps[i]);
    medner__free(m->maps);
    medner__free(m);
}

int medner__model_is_mapped(const medner__model *m, const void *p, size_t bytes)
{
    if (m == NULL || p == NULL)
        return 0;
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < m->n_maps; i++) {
        uintptr_t b = (uintptr_t)m->maps[i].base;
        if (a >= b && a - b <= m->maps[i].size && bytes <= m->maps[i].size - (a - b))
            return 1;
    }
    return 0;
}

static int load_weights(medner__model *m, loader *ld, const char *dir)
{
    int have_single = 0, have_index = 0, have_bin = 0, have_bin_index = 0;
    int rc;
    if ((rc = exists_in(dir, "model.safetensors", &have_single)) ||
        (rc = exists_in(dir, "model.safetensors.index.json", &have_index)) ||
        (rc = exists_in(dir, "pytorch_model.bin", &have_bin)) ||
        (rc = exists_in(dir, "pytorch_model.bin.index.json", &have_bin_index)))
        return rc;
    if (!have_single && !have_index) {
        if (have_bin || have_bin_index)
            return medner__fail(MEDNER_E_UNSUPPORTED,
                                "%s: only %s, a PyTorch pickle medner does not read; convert it "
                                "with `python3 %s %s` (writes model.safetensors)", dir,
                                have_bin ? "pytorch_model.bin" : "pytorch_model.bin.index.json",
                                CONVERT_SCRIPT, dir);
        return medner__fail(MEDNER_E_IO, "%s: no model.safetensors or "
                            "model.safetensors.index.json", dir);
    }
    char *wpath = medner__path_join(dir, have_single ? "model.safetensors"
                                                     : "model.safetensors.index.json");
    if (wpath == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    ld->weights_name = wpath;
    medner__json_doc *index_doc = NULL;
    if (have_single) {
        ld->files = medner__calloc(1, sizeof *ld->files);
        if (ld->files == NULL)
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
        else if ((rc = medner__st_open(&ld->files[0], wpath)) == MEDNER_OK)
            ld->n_files = 1;
    } else {
        rc = open_shards(ld, dir, wpath, &index_doc);
    }
    medner__json_free(index_doc);
    if (rc != MEDNER_OK)
        return rc;
    for (size_t f = 0; f < ld->n_files; f++)
        m->file_bytes += ld->files[f].map.size;
    m->n_files = ld->n_files;
    ld->n_slots = G_COUNT + m->config.layers * L_COUNT;
    ld->slots = medner__calloc(ld->n_slots, sizeof *ld->slots);
    m->weights.layers = medner__calloc(m->config.layers, sizeof *m->weights.layers);
    if (ld->slots == NULL || m->weights.layers == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    rc = assign(ld);
    if (rc < 0)
        return rc;
    if (rc == 1) { /* no architectures and no classifier: an encoder without a head */
        medner__config_release(&m->config);
        m->config.head = MEDNER__HEAD_NONE;
    } else if (m->config.head == MEDNER__HEAD_OPTIONAL) {
        m->config.head = MEDNER__HEAD_REQUIRED;
    }
    if ((rc = check_slots(ld)) != MEDNER_OK)
        return rc;
    return materialise(m, ld);
}

int medner__model_load(medner__model **out, const char *dir)
{
    if (out == NULL || dir == NULL || dir[0] == '\0')
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__model_load: out and dir are "
                            "required");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return medner__fail(MEDNER_E_IO, "%s: not a directory", dir);
    medner__model *m = medner__calloc(1, sizeof *m);
    if (m == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    loader ld;
    memset(&ld, 0, sizeof ld);
    ld.c = &m->config;
    char *cpath = medner__path_join(dir, "config.json");
    int rc = cpath ? MEDNER_OK : medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory");
    if (rc == MEDNER_OK && !medner__file_exists(cpath))
        rc = medner__fail(MEDNER_E_IO, "%s: no config.json", dir);
    if (rc == MEDNER_OK)
        rc = medner__config_load(&m->config, cpath);
    medner__free(cpath);
    if (rc == MEDNER_OK)
        rc = load_weights(m, &ld, dir);
    for (size_t f = 0; f < ld.n_files; f++)
        medner__st_close(&ld.files[f], 0); /* unmaps what materialise() did not keep */
    medner__free(ld.files);
    medner__free(ld.slots);
    medner__free((char *)ld.weights_name);
    if (rc != MEDNER_OK) {
        medner__model_free(m);
        return rc;
    }
    *out = m;
    return MEDNER_OK;
}
