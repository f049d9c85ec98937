/*
 * The BERT-family forward pass (BERT, DistilBERT, MiniLM): packed batches,
 * per-thread workspaces, token-classification head.
 *
 * Data layout: the n sequences of a run are packed into T = sum(lengths)
 * rows; every dense layer is one GEMM over the T rows (no padding is ever
 * computed) and attention runs per sequence on its own rows. Between the
 * products the activations stay in the GEMM's packed-panel layout (T rows
 * rounded up to whole panels; docs/kernels.md). Post-LN
 * residual blocks as in Hugging Face:
 *   x = LN(word[id] + pos[p] + type[t])
 *   per layer: x = LN(x + Wo . Attn(Wq x, Wk x, Wv x));  x = LN(x + W2 . act(W1 x))
 *   logits = Wc x
 * DistilBERT is the same computation without token types.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/encoder.h"
#include "kernels/kernels.h"

/* Converted weights of one layer at bf16/int8 (Q|K|V stacked, attention
 * output, FFN in, FFN out). */
enum { QW_QKV, QW_O, QW_F1, QW_F2, QW_PER_LAYER };

struct medner_encoder {
    medner__model *model;
    size_t threads; /* per forward pass (medner_encoder_params.threads, >= 1) */
    int prec;       /* MEDNER__PREC_* of the products */
    int blas;       /* fp32 products through OpenBLAS (MEDNER_GEMM) */
    medner__qweight *qw; /* layers x QW_PER_LAYER at bf16/int8, else NULL */
};

struct medner_context {
    const medner_encoder *enc;
    medner__par *par; /* the run's threads and their scratch; made on the first run */
    size_t cap_tokens, cap_len, cap_seqs;
    float *x, *tmp, *big, *xp, *logits;
    float *blas_rows; /* MEDNER_GEMM=openblas: unpacked x and y of a product */
    /* tmp, big and xp are these, 64-byte aligned (packed panels are read with
     * aligned loads) and with rows rounded up to whole panels */
    void *tmp_raw, *big_raw, *xp_raw;
    int32_t *ids, *types, *pos;
    size_t *start, *lens; /* per sequence: first packed row, length */
    size_t n_seqs;        /* of the last successful run; 0 = none */
};

const medner__model *medner__encoder_model(const medner_encoder *enc)
{
    return enc->model;
}

/* MEDNER_GEMM: "own", "openblas", or unset/"" (own on x86-64, where the own
 * kernel has vector levels; OpenBLAS elsewhere). */
static int gemm_choice(int *blas)
{
    const char *v = getenv("MEDNER_GEMM");
    const char *why = NULL;
    if (v == NULL || *v == '\0') {
#if defined(__x86_64__)
        *blas = 0;
#else
        *blas = medner__blas_open(&why) == 0; /* without OpenBLAS: the portable kernel */
#endif
        return MEDNER_OK;
    }
    if (strcmp(v, "own") == 0) {
        *blas = 0;
        return MEDNER_OK;
    }
    if (strcmp(v, "openblas") == 0) {
        if (medner__blas_open(&why) != 0)
            return medner__fail(MEDNER_E_UNSUPPORTED, "environment MEDNER_GEMM=openblas: %s", why);
        *blas = 1;
        return MEDNER_OK;
    }
    return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                        "environment MEDNER_GEMM: expected \"own\" or \"openblas\" (or unset)");
}

/* The precision the products run at. AUTO: int8 where the CPU has an int8
 * dot-product instruction, else bf16 where it has a bf16 one, else fp32
 * (docs/precision.md: the accuracy guard each meets). */
static int resolve_precision(medner_precision p, int *prec)
{
    switch (p) {
    case MEDNER_PRECISION_DEFAULT:
    case MEDNER_PRECISION_FP32: *prec = MEDNER__PREC_FP32; return MEDNER_OK;
    case MEDNER_PRECISION_BF16: *prec = MEDNER__PREC_BF16; return MEDNER_OK;
    case MEDNER_PRECISION_INT8: *prec = MEDNER__PREC_INT8; return MEDNER_OK;
    case MEDNER_PRECISION_AUTO:
        *prec = medner__qgemm_native(MEDNER__PREC_INT8)   ? MEDNER__PREC_INT8
                : medner__qgemm_native(MEDNER__PREC_BF16) ? MEDNER__PREC_BF16
                                                          : MEDNER__PREC_FP32;
        return MEDNER_OK;
    }
    return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                        "medner_encoder_params: precision %d is not a medner_precision value "
                        "(0 default, 1 fp32, 2 bf16, 3 int8, 4 auto)", (int)p);
}

static const char *prec_name(int prec)
{
    return prec == MEDNER__PREC_BF16 ? "bf16" : prec == MEDNER__PREC_INT8 ? "int8" : "fp32";
}

medner_precision medner__encoder_precision(const medner_encoder *e)
{
    return e->prec == MEDNER__PREC_BF16   ? MEDNER_PRECISION_BF16
           : e->prec == MEDNER__PREC_INT8 ? MEDNER_PRECISION_INT8
                                          : MEDNER_PRECISION_FP32;
}

static void free_qweights(medner_encoder *e)
{
    if (e->qw == NULL)
        return;
    for (size_t i = 0; i < e->model->config.layers * QW_PER_LAYER; i++)
        medner__qweight_free(&e->qw[i]);
    medner__free(e->qw);
    e->qw = NULL;
}

/* Convert every layer's linear weights to e->prec, then release their fp32
 * storage (docs/precision.md). */
static int convert_weights(medner_encoder *e, const char *dir)
{
    medner__model *m = e->model;
    const medner__config *c = &m->config;
    size_t H = c->hidden, I = c->intermediate;
    if (e->prec == MEDNER__PREC_INT8 && (H > MEDNER__QI8_MAX_K || I > MEDNER__QI8_MAX_K))
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s: precision int8 needs hidden and intermediate sizes of at most "
                            "%zu (the int32 sums), not %zu and %zu", dir, MEDNER__QI8_MAX_K, H, I);
    e->qw = medner__calloc(c->layers * QW_PER_LAYER, sizeof *e->qw);
    if (e->qw == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir);
    for (size_t l = 0; l < c->layers; l++) {
        medner__layer *L = &m->weights.layers[l];
        const float *qkv_w[3] = { L->q_w, L->k_w, L->v_w }, *qkv_b[3] = { L->q_b, L->k_b, L->v_b };
        const float *o_w[1] = { L->o_w }, *o_b[1] = { L->o_b };
        const float *f1_w[1] = { L->ffn1_w }, *f1_b[1] = { L->ffn1_b };
        const float *f2_w[1] = { L->ffn2_w }, *f2_b[1] = { L->ffn2_b };
        medner__qweight *q = &e->qw[l * QW_PER_LAYER];
        int rc = medner__qweight_pack(&q[QW_QKV], e->prec, qkv_w, qkv_b, 3, H, H);
        if (rc == 0)
            rc = medner__qweight_pack(&q[QW_O], e->prec, o_w, o_b, 1, H, H);
        if (rc == 0)
            rc = medner__qweight_pack(&q[QW_F1], e->prec, f1_w, f1_b, 1, I, H);
        if (rc == 0)
            rc = medner__qweight_pack(&q[QW_F2], e->prec, f2_w, f2_b, 1, H, I);
        if (rc != 0) {
            free_qweights(e);
            return rc == -1 ? medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir)
                            : medner__fail(MEDNER_E_UNSUPPORTED,
                                           "%s: precision %s is not available", dir,
                                           prec_name(e->prec));
        }
        const float *done[6] = { L->q_w, L->k_w, L->v_w, L->o_w, L->ffn1_w, L->ffn2_w };
        for (size_t i = 0; i < 6; i++)
            medner__model_drop_weight(m, done[i]); /* a failed madvise only costs memory */
    }
    medner__model_release_unused_maps(m);
    return MEDNER_OK;
}

int medner_encoder_load(medner_encoder **out, const char *dir, const medner_encoder_params *params)
{
    if (out == NULL || dir == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encoder_load: out and model_dir are required");
    medner_encoder_params p = MEDNER_ENCODER_PARAMS_INIT;
    /* callers built before adapters pass the struct without adapter_dir */
    int rc = medner__params_copy(&p, sizeof p, params, MEDNER__SIZE_PRE_0_1_ENCODER_PARAMS,
                                 "medner_encoder_params");
    if (rc != MEDNER_OK)
        return rc;
    if (p.reserved != 0 || p.reserved2 != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encoder_params: reserved and reserved2 must be 0");
    int prec = MEDNER__PREC_FP32, blas = 0;
    if ((rc = resolve_precision(p.precision, &prec)) != MEDNER_OK ||
        (rc = gemm_choice(&blas)) != MEDNER_OK)
        return rc;
    if (p.threads > MEDNER__MAX_THREADS)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encoder_params: threads %u is not plausible (at most %u)",
                            p.threads, MEDNER__MAX_THREADS);
    medner_encoder *e = medner__calloc(1, sizeof *e);
    if (e == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir);
    rc = medner__model_load_adapter(&e->model, dir, p.adapter_dir);
    if (rc != MEDNER_OK) {
        medner__free(e);
        return rc;
    }
    e->threads = p.threads ? p.threads : 1;
    e->prec = prec;
    e->blas = blas;
    if (prec != MEDNER__PREC_FP32 && (rc = convert_weights(e, dir)) != MEDNER_OK) {
        medner__model_free(e->model);
        medner__free(e);
        return rc;
    }
    *out = e;
    return MEDNER_OK;
}

void medner_encoder_free(medner_encoder *e)
{
    if (e == NULL)
        return;
    free_qweights(e);
    medner__model_free(e->model);
    medner__free(e);
}

int medner_encoder_get_info(const medner_encoder *e, medner_encoder_info *out)
{
    if (e == NULL || out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_encoder_get_info: NULL argument");
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT, *out_ = out;
    out = &info; /* filled whole, then copied up to the caller's struct_size */
    const medner__model *m = e->model;
    const medner__config *c = &m->config;
    out->model_type = c->model_type;
    out->architecture = c->architecture;
    out->activation = c->act_name;
    out->dtype = m->dtype;
    out->layers = c->layers;
    out->hidden_size = c->hidden;
    out->heads = c->heads;
    out->intermediate_size = c->intermediate;
    out->vocab_size = c->vocab_size;
    out->max_positions = c->max_positions;
    out->type_vocab_size = c->type_vocab_size;
    out->num_labels = m->weights.cls_w ? c->num_labels : 0;
    out->n_params = m->n_params;
    out->file_bytes = m->file_bytes;
    out->n_files = m->n_files;
    out->layer_norm_eps = (double)c->ln_eps;
    out->precision = prec_name(e->prec);
    out->kernels = e->prec == MEDNER__PREC_FP32 && e->blas ? "openblas"
                                                           : medner__qgemm_kernels_name(e->prec);
    return medner__struct_out(out_, &info, sizeof info, MEDNER__SIZE_V0_1_ENCODER_INFO,
                              "medner_encoder_get_info");
}

const char *medner_encoder_label(const medner_encoder *e, size_t index)
{
    if (e == NULL || e->model->weights.cls_w == NULL || index >= e->model->config.num_labels)
        return NULL;
    return e->model->config.labels[index];
}

/* ---- contexts ----------------------------------------------------------- */

static void release_workspace(medner_context *c)
{
    medner__free(c->x);
    medner__free(c->tmp_raw);
    medner__free(c->big_raw);
    medner__free(c->xp_raw);
    medner__free(c->logits);
    medner__free(c->blas_rows);
    c->blas_rows = NULL;
    medner__free(c->ids);
    medner__free(c->types);
    medner__free(c->pos);
    c->x = c->tmp = c->big = c->xp = c->logits = NULL;
    c->tmp_raw = c->big_raw = c->xp_raw = NULL;
    c->ids = c->types = c->pos = NULL;
    c->cap_tokens = c->cap_len = 0;
}

int medner_context_create(medner_context **out, const medner_encoder *e)
{
    if (out == NULL || e == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_context_create: NULL argument");
    medner_context *c = medner__calloc(1, sizeof *c);
    if (c == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner_context_create: out of memory");
    c->enc = e;
    *out = c;
    return MEDNER_OK;
}

void medner_context_free(medner_context *c)
{
    if (c == NULL)
        return;
    release_workspace(c);
    medner__par_free(c->par);
    medner__free(c->start);
    medner__free(c->lens);
    medner__free(c);
}

static float *alloc_floats(size_t rows, size_t cols)
{
    size_t n;
    if (medner__mul_size(rows, cols, &n) || medner__mul_size(n, sizeof(float), &n))
        return NULL;
    return medner__malloc(n);
}

/* rows x cols floats with rows rounded up to whole panels, 64-byte aligned;
 * *raw receives the pointer to free. */
static float *alloc_panels(void **raw, size_t rows, size_t cols)
{
    size_t r = (rows + MEDNER__GEMM_MR_MAX - 1) / MEDNER__GEMM_MR_MAX * MEDNER__GEMM_MR_MAX, n;
    *raw = NULL;
    if (r < rows || medner__mul_size(r, cols, &n) || medner__mul_size(n, sizeof(float), &n))
        return NULL;
    return medner__malloc_aligned64(n, raw);
}

/* Make room for T packed tokens, sequences up to L long, n sequences. */
static int reserve(medner_context *c, size_t T, size_t L, size_t n)
{
    const medner__config *cfg = &c->enc->model->config;
    if (n > c->cap_seqs) {
        size_t *s = medner__realloc(c->start, n * sizeof *s);
        if (s)
            c->start = s;
        size_t *l = medner__realloc(c->lens, n * sizeof *l);
        if (l)
            c->lens = l;
        if (!s || !l)
            return -1;
        c->cap_seqs = n;
    }
    if (T <= c->cap_tokens && L <= c->cap_len)
        return 0;
    release_workspace(c);
    size_t H = cfg->hidden, inter = cfg->intermediate;
    /* `big` holds the Q|K|V panels and the attention output panels (4H per
     * token) during attention and the FFN's intermediate panels (I per token)
     * afterwards. */
    size_t big_cols = 4 * H > inter ? 4 * H : inter;
    size_t C = cfg->num_labels ? cfg->num_labels : 1;
    c->x = alloc_floats(T, H);
    c->tmp = alloc_panels(&c->tmp_raw, T, H);
    c->big = alloc_panels(&c->big_raw, T, big_cols);
    c->xp = alloc_panels(&c->xp_raw, T, H);
    c->logits = alloc_floats(T, C);
    c->ids = medner__malloc(T * sizeof *c->ids);
    c->types = medner__malloc(T * sizeof *c->types);
    c->pos = medner__malloc(T * sizeof *c->pos);
    if (c->enc->blas && c->enc->prec == MEDNER__PREC_FP32)
        c->blas_rows = alloc_floats(T, H + big_cols > 2 * H + inter ? H + big_cols
                                                                    : 2 * H + inter);
    if (!c->x || !c->tmp || !c->big || !c->xp || !c->logits || !c->ids || !c->types ||
        !c->pos || (c->enc->blas && c->enc->prec == MEDNER__PREC_FP32 && !c->blas_rows)) {
        release_workspace(c);
        return -1;
    }
    c->cap_tokens = T;
    c->cap_len = L;
    return 0;
}

/* Threads (made on the first run) and per-thread scratch for sequences up to
 * L tokens. */
static int reserve_par(medner_context *c, size_t L)
{
    const medner__config *cfg = &c->enc->model->config;
    if (c->par == NULL && medner__par_create(&c->par, c->enc->threads) != 0)
        return -1;
    size_t kmax = cfg->hidden > cfg->intermediate ? cfg->hidden : cfg->intermediate;
    size_t need = medner__linear_scratch(kmax);
    if (c->enc->prec != MEDNER__PREC_FP32 && medner__qgemm_scratch(c->enc->prec, kmax) > need)
        need = medner__qgemm_scratch(c->enc->prec, kmax);
    size_t att = medner__attention_scratch(L, cfg->hidden / cfg->heads);
    return medner__par_reserve(c->par, att > need ? att : need);
}

static medner__epi kernel_act(medner__act act)
{
    switch (act) {
    case MEDNER__ACT_GELU: return MEDNER__EPI_GELU;
    case MEDNER__ACT_GELU_TANH: return MEDNER__EPI_GELU_TANH;
    case MEDNER__ACT_RELU: return MEDNER__EPI_RELU;
    }
    return MEDNER__EPI_GELU;
}

/* The layers, with every activation kept as packed panels (docs/kernels.md):
 * the hidden states (xp, tmp), Q|K|V, the attention output and the FFN
 * intermediate. Every product reads its x in place and writes whole panel
 * columns; attention gathers each sequence's rows from the Q|K|V panels (a
 * sequence starts anywhere in a panel) and scatters its output rows back. */
static void layers_panels(medner_context *c, size_t T, size_t n)
{
    const medner__config *cfg = &c->enc->model->config;
    const medner__weights *w = &c->enc->model->weights;
    size_t H = cfg->hidden, inter = cfg->intermediate, heads = cfg->heads, D = H / heads;
    float eps = cfg->ln_eps, scale = 1.0f / sqrtf((float)D);
    size_t MR = medner__gemm_tile_m(), rows = (T + MR - 1) / MR * MR;
    float *xp = c->xp, *tmp = c->tmp, *qkv = c->big, *att = c->big + rows * 3 * H, *ffn = c->big;
    medner__par *par = c->par;
    medner__epi act = kernel_act(cfg->act);
    medner__gemm_pack(xp, c->x, H, T, H);
    if (T % MR) { /* attention writes only the sequences' rows: zero the last panel's
                   * padding lanes once, so no product reads uninitialised memory */
        float *last = att + (T / MR) * H * MR;
        for (size_t col = 0; col < H; col++)
            memset(last + col * MR + T % MR, 0, (MR - T % MR) * sizeof(float));
    }
    const medner__qweight *qw = c->enc->qw;
    float *blas = c->blas_rows;
    for (size_t l = 0; l < cfg->layers; l++) {
        const medner__layer *L = &w->layers[l];
        const medner__qweight *q = qw ? &qw[l * QW_PER_LAYER] : NULL;
        const float *qkv_w[3] = { L->q_w, L->k_w, L->v_w }, *qkv_b[3] = { L->q_b, L->k_b, L->v_b };
        medner__linear_args a_qkv = { .y = qkv, .y_panels = 1, .x = xp, .x_panels = 1,
                                      .ws = qkv_w, .bs = qkv_b, .count = 3, .M = T, .N = 3 * H,
                                      .K = H, .qw = q ? &q[QW_QKV] : NULL, .blas_rows = blas };
        medner__linear_run(par, &a_qkv);
        medner__attention(par, att, qkv, c->start, c->lens, n, heads, D, scale);
        /* each product's LayerNorm runs in the same job, on each thread's rows
         * while they are in its cache */
        medner__linear_args a_o = { .y = tmp, .y_panels = 1, .x = att, .x_panels = 1, .w = L->o_w,
                                    .b = L->o_b, .M = T, .N = H, .K = H, .ln_residual = xp,
                                    .ln_gamma = L->ln1_g, .ln_beta = L->ln1_b, .ln_eps = eps,
                                    .qw = q ? &q[QW_O] : NULL, .blas_rows = blas };
        medner__linear_run(par, &a_o);
        medner__linear_args a_f1 = { .y = ffn, .y_panels = 1, .x = tmp, .x_panels = 1,
                                     .w = L->ffn1_w, .b = L->ffn1_b, .M = T, .N = inter, .K = H,
                                     .act = act, .qw = q ? &q[QW_F1] : NULL, .blas_rows = blas };
        medner__linear_run(par, &a_f1);
        medner__linear_args a_f2 = { .y = xp, .y_panels = 1, .x = ffn, .x_panels = 1,
                                     .w = L->ffn2_w, .b = L->ffn2_b, .M = T, .N = H, .K = inter,
                                     .ln_residual = tmp, .ln_gamma = L->ln2_g,
                                     .ln_beta = L->ln2_b, .ln_eps = eps,
                                     .qw = q ? &q[QW_F2] : NULL, .blas_rows = blas };
        medner__linear_run(par, &a_f2);
    }
    medner__unpack_panels(c->x, H, xp, T, H);
}

static void forward(medner_context *c, size_t T, size_t n)
{
    const medner__model *m = c->enc->model;
    const medner__config *cfg = &m->config;
    const medner__weights *w = &m->weights;
    size_t H = cfg->hidden;
    medner__embed(c->x, c->ids, w->type_emb ? c->types : NULL, c->pos, T, w->word_emb,
                  w->pos_emb, w->type_emb, H);
    medner__add_layernorm_par(c->par, c->x, NULL, w->emb_ln_g, w->emb_ln_b, T, H, cfg->ln_eps);
    layers_panels(c, T, n);
    if (w->cls_w)
        medner__linear(c->par, c->logits, cfg->num_labels, c->x, H, w->cls_w, w->cls_b, T,
                       cfg->num_labels, H, MEDNER__EPI_NONE);
}

int medner_encoder_run(medner_context *c, const int32_t *const *ids,
                       const int32_t *const *type_ids, const size_t *lengths, size_t n)
{
    if (c == NULL || ids == NULL || lengths == NULL || n == 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encoder_run: context, ids and lengths are required, n > 0");
    const medner__config *cfg = &c->enc->model->config;
    size_t T = 0, Lmax = 0;
    for (size_t s = 0; s < n; s++) {
        if (ids[s] == NULL || lengths[s] == 0)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_encoder_run: sequence %zu is empty or NULL", s);
        if (lengths[s] > cfg->max_positions)
            return medner__fail(MEDNER_E_LIMIT,
                                "medner_encoder_run: sequence %zu has %zu tokens, more than the "
                                "model's %zu positions", s, lengths[s], cfg->max_positions);
        for (size_t k = 0; k < lengths[s]; k++) {
            if (ids[s][k] < 0 || (size_t)ids[s][k] >= cfg->vocab_size)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner_encoder_run: sequence %zu, token %zu: id %d outside "
                                    "the vocabulary [0, %zu)", s, k, ids[s][k], cfg->vocab_size);
            int32_t t = type_ids && type_ids[s] ? type_ids[s][k] : 0;
            size_t ntypes = cfg->type_vocab_size ? cfg->type_vocab_size : 1;
            if (t < 0 || (size_t)t >= ntypes)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner_encoder_run: sequence %zu, token %zu: type id %d "
                                    "outside [0, %zu)", s, k, t, ntypes);
        }
        T += lengths[s];
        if (lengths[s] > Lmax)
            Lmax = lengths[s];
    }
    c->n_seqs = 0;
    if (reserve(c, T, Lmax, n) != 0 || reserve_par(c, Lmax) != 0)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY,
                            "medner_encoder_run: out of memory for %zu tokens", T);
    size_t r = 0;
    for (size_t s = 0; s < n; s++) {
        c->start[s] = r;
        c->lens[s] = lengths[s];
        for (size_t k = 0; k < lengths[s]; k++, r++) {
            c->ids[r] = ids[s][k];
            c->types[r] = type_ids && type_ids[s] ? type_ids[s][k] : 0;
            c->pos[r] = (int32_t)k;
        }
    }
    forward(c, T, n);
    c->n_seqs = n;
    return MEDNER_OK;
}

const float *medner_context_logits(const medner_context *c, size_t seq)
{
    if (c == NULL || seq >= c->n_seqs || c->enc->model->weights.cls_w == NULL)
        return NULL;
    return c->logits + c->start[seq] * c->enc->model->config.num_labels;
}

const float *medner_context_hidden(const medner_context *c, size_t seq)
{
    if (c == NULL || seq >= c->n_seqs)
        return NULL;
    return c->x + c->start[seq] * c->enc->model->config.hidden;
}

/* adapter_dir starts where the first version (threads, reserved) ended, so it
 * never lies in bytes an old caller left unset */
_Static_assert(offsetof(medner_encoder_params, adapter_dir) == MEDNER__SIZE_PRE_0_1_ENCODER_PARAMS,
               "medner_encoder_params must not end in padding");
