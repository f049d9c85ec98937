/*
 * The training forward and backward passes of a BERT-family token
 * classifier (train.h). Rows layout: the batch's sequences packed into T
 * rows (no padding computed), every dense layer one product over the T rows
 * (medner__linear: the forward pass's SGEMM, row-stable and thread-count
 * invariant), attention per (sequence, head). The forward keeps, per layer,
 * what the backward reads (docs/training.md lists it with its size):
 *   x_in [T,H], Q|K|V [T,3H], P [sum H L^2], context [T,H],
 *   LN1 xhat [T,H] + rstd [T], LN1 out [T,H], FFN pre-activation and
 *   activation [T,I] each, LN2 xhat [T,H] + rstd [T].
 * Post-LN blocks as in Hugging Face (and src/encoder/encoder.c):
 *   x = drop(LN(word[id] + pos[p] + type[t]))
 *   per layer: h = LN(x + drop(Wo . Attn(Wq x, Wk x, Wv x)));  x = LN(h + drop(W2 act(W1 h)))
 *   logits = Wc drop(x)
 * DistilBERT: no token types, no dropout after the attention projection.
 */
#include <math.h>
#include <string.h>

#include "kernels/bgemm.h"
#include "train/lora.h"
#include "train/train.h"

/* ---- parameters ------------------------------------------------------------------- */

int medner__tparams_create(medner__tparams **out, medner__model *m)
{
    if (out == NULL || m == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__tparams_create: NULL argument");
    if (m->weights.cls_w == NULL || m->config.num_labels == 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "training needs a token-classification head (classifier.weight); "
                            "this model has none");
    medner__tparams *t = medner__calloc(1, sizeof *t);
    if (t == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "training parameters: out of memory");
    t->config = m->config;
    t->n_slots = medner__model_n_slots(m);
    t->off = medner__calloc(t->n_slots, sizeof *t->off);
    t->numel = medner__calloc(t->n_slots, sizeof *t->numel);
    t->ndim = medner__calloc(t->n_slots, 1);
    t->w.layers = medner__calloc(m->config.layers, sizeof *t->w.layers);
    if (!t->off || !t->numel || !t->ndim || !t->w.layers)
        goto oom;
    size_t n = 0;
    for (size_t s = 0; s < t->n_slots; s++) {
        const float *src = *medner__model_slot_ptr(m, s);
        size_t dims[2] = { 1, 1 };
        t->ndim[s] = (unsigned char)medner__model_slot_shape(m, s, dims);
        t->off[s] = n;
        t->numel[s] = src ? dims[0] * (t->ndim[s] > 1 ? dims[1] : 1) : 0;
        n += (t->numel[s] + 15) / 16 * 16; /* every tensor 64-byte aligned in the buffer */
    }
    t->n = n;
    t->param = medner__calloc(n ? n : 1, sizeof(float));
    t->grad = medner__calloc(n ? n : 1, sizeof(float));
    if (!t->param || !t->grad)
        goto oom;
    /* the view: a model struct whose weights are t->w, so the model's own slot
     * table says where each pointer goes */
    medner__model view;
    memset(&view, 0, sizeof view);
    view.config = m->config;
    view.weights.layers = t->w.layers;
    for (size_t s = 0; s < t->n_slots; s++) {
        if (t->numel[s] == 0)
            continue;
        memcpy(t->param + t->off[s], *medner__model_slot_ptr(m, s), t->numel[s] * sizeof(float));
        *medner__model_slot_ptr(&view, s) = t->param + t->off[s];
    }
    t->w = view.weights;
    *out = t;
    return MEDNER_OK;
oom:
    medner__tparams_free(t);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "training parameters: out of memory");
}

void medner__tparams_free(medner__tparams *t)
{
    if (t == NULL)
        return;
    medner__free(t->off);
    medner__free(t->numel);
    medner__free(t->ndim);
    medner__free(t->w.layers);
    medner__free(t->param);
    medner__free(t->grad);
    medner__lora_free(t->lora);
    medner__free(t);
}

void medner__tparams_zero_grad(medner__tparams *t)
{
    memset(t->grad, 0, t->n * sizeof *t->grad);
}

float *medner__tparams_param(medner__tparams *t, size_t s)
{
    return s < t->n_slots && t->numel[s] ? t->param + t->off[s] : NULL;
}

float *medner__tparams_grad(medner__tparams *t, size_t s)
{
    return s < t->n_slots && t->numel[s] ? t->grad + t->off[s] : NULL;
}

/* ---- context ------------------------------------------------------------------------- */

typedef struct layer_acts {
    float *xin, *qkv, *probs, *ctx, *xhat1, *rstd1, *h1, *f1pre, *f1act, *xhat2, *rstd2;
    /* LoRA, per linear of the layer (NULL: not targeted): the dropped input
     * [T, in] (only with lora dropout on) and u = drop(x) A^T [T, r] */
    float *lx[MEDNER__LORA_WHICH], *lu[MEDNER__LORA_WHICH];
} layer_acts;

struct medner__trainer_ctx {
    size_t threads;
    int bf16;                 /* 1: the big products in bf16 (medner__bgemm), fp32 sums */
    medner__bgemm_ws bws;     /* their packing space */
    medner__par *par;
    float *arena;
    size_t cap;               /* floats in arena */
    int32_t *ints;            /* ids, types, positions, labels: 4 T */
    size_t cap_ints;
    size_t *seq;              /* starts, lens: 2 n */
    size_t cap_seq;
    layer_acts *acts;
    size_t cap_layers;
    /* the current batch's buffers, carved from arena */
    float *xhat0, *rstd0, *xout, *xcls, *logits, *dlogits, *ytmp;
    float *dx, *dh, *dtmp, *dI, *dqkv, *dctx, *work;
    float *lv, *ldu, *ldx; /* LoRA: [T, max(H, I)], [T, r], [T, max(H, I)] */
    float *lpk, *lut, *lprod; /* LoRA: packed panels of T x max(H, I), u^T [r, T], [max(H, I), r] */
};

int medner__train_ctx_create(medner__trainer_ctx **out, size_t threads)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__train_ctx_create: NULL argument");
    medner__trainer_ctx *c = medner__calloc(1, sizeof *c);
    if (c == NULL || medner__par_create(&c->par, threads ? threads : 1) != 0) {
        medner__free(c);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "training context: out of memory");
    }
    c->threads = threads ? threads : 1;
    *out = c;
    return MEDNER_OK;
}

medner__par *medner__train_ctx_par(medner__trainer_ctx *c) { return c ? c->par : NULL; }

void medner__train_ctx_free(medner__trainer_ctx *c)
{
    if (c == NULL)
        return;
    medner__par_free(c->par);
    medner__bgemm_ws_free(&c->bws);
    medner__free(c->arena);
    medner__free(c->ints);
    medner__free(c->seq);
    medner__free(c->acts);
    medner__free(c);
}

int medner__train_ctx_set_bf16(medner__trainer_ctx *c, int on)
{
    c->bf16 = on && medner__bgemm_best() != MEDNER__BGEMM_PORTABLE;
    return c->bf16;
}

int medner__train_ctx_bf16(const medner__trainer_ctx *c) { return c->bf16; }

/* The dense layers' products: fp32 (medner__linear) or bf16 (medner__bgemm).
 * y[M, N] (ldy) = x[M, K] (ldx) . W[N, K]^T + b. Returns 0, or -1 out of memory. */
static int dense(medner__trainer_ctx *c, float *y, size_t ldy, const float *x, size_t ldx,
                 const float *w, const float *b, size_t M, size_t N, size_t K)
{
    if (c->bf16)
        return medner__bgemm(c->par, &c->bws, y, ldy, 0, x, ldx, 0, w, K, 1, b, M, N, K);
    medner__linear(c->par, y, ldy, x, ldx, w, b, M, N, K, MEDNER__EPI_NONE);
    return 0;
}

/* medner__linear_backward (backward.h), with the dx and dW products in bf16
 * when the context says so: dx (+)= dy . W, dW += dy^T . x; db in fp32. */
static int dense_backward(medner__trainer_ctx *c, float *dx, size_t lddx, int dx_add, float *dw,
                          float *db, const float *dy, size_t lddy, const float *x, size_t ldx,
                          const float *w, size_t M, size_t N, size_t K, float *work)
{
    if (!c->bf16)
        return medner__linear_backward(c->par, dx, lddx, dx_add, dw, db, dy, lddy, x, ldx, w, M,
                                       N, K, work);
    int bad = 0;
    if (dx != NULL) /* op(A) = dy [M, N], op(B) = W [N, K] */
        bad |= medner__bgemm(c->par, &c->bws, dx, lddx, dx_add, dy, lddy, 0, w, K, 0, NULL, M, K,
                             N);
    if (dw != NULL) /* op(A) = dy^T [N, M], op(B) = x [M, K] */
        bad |= medner__bgemm(c->par, &c->bws, dw, K, 1, dy, lddy, 1, x, ldx, 0, NULL, N, K, M);
    if (db != NULL)
        bad |= medner__linear_backward(c->par, NULL, lddx, 0, NULL, db, dy, lddy, x, ldx, w, M, N,
                                       K, work);
    return bad;
}

static size_t lin_work(size_t T, size_t N, size_t K)
{
    return medner__linear_backward_work(T, N, K);
}

/* Carve the arena for T tokens; P floats of attention probabilities per layer. */
/* LoRA: floats kept per layer (inputs when dropped, u) and the widest in/out. */
static size_t lora_layer_floats(const struct medner__lora *lo, size_t l, size_t T, int drop_on)
{
    size_t f = 0;
    for (size_t k = 0; lo && k < MEDNER__LORA_WHICH; k++) {
        long i = lo->index[l * MEDNER__LORA_WHICH + k];
        if (i >= 0)
            f += T * lo->r + (drop_on ? T * lo->mods[i].in : 0);
    }
    return f;
}

/* The LoRA pack buffer: x [T, wide] packed (forward, du) and dv^T [out, T]
 * packed (dB), whose MR rounding is on the other dimension. */
static size_t lora_pack_size(size_t T, size_t wide)
{
    size_t a = medner__gemm_packed_size(T, wide), b = medner__gemm_packed_size(wide, T);
    return a > b ? a : b;
}

static int reserve(medner__trainer_ctx *c, const medner__config *cfg, size_t T, size_t P,
                   size_t n, const struct medner__lora *lo, int ldrop)
{
    size_t H = cfg->hidden, I = cfg->intermediate, C = cfg->num_labels, NL = cfg->layers;
    size_t per_layer = T * (H + 3 * H + H + H + 1 + H + I + I + H + 1) + P;
    size_t w = lin_work(T, C, H), wide = H > I ? H : I, r = lo ? lo->r : 0;
    size_t cand[6] = { lin_work(T, H, I), lin_work(T, I, H), lin_work(T, H, H),
                       lo ? lin_work(T, wide, r) : 0, lo ? lin_work(T, r, wide) : 0,
                       3 * H * H + T * H /* the stacked Q/K/V dx product */ };
    for (size_t i = 0; i < 6; i++)
        if (cand[i] > w)
            w = cand[i];
    size_t lora_floats =
        lo ? T * (wide + r + wide) + lora_pack_size(T, wide) + 16 + r * T + wide * r : 0;
    for (size_t l = 0; l < NL; l++)
        lora_floats += lora_layer_floats(lo, l, T, ldrop);
    size_t need = NL * per_layer + T * (H + 1 + H + H + C + C + H) + T * (H + H + H + I + 3 * H + H) + w +
                  lora_floats;
    if (need > c->cap) {
        float *a = medner__malloc(need * sizeof(float));
        if (a == NULL)
            return -1;
        medner__free(c->arena);
        c->arena = a;
        c->cap = need;
    }
    if (4 * T > c->cap_ints) {
        int32_t *p = medner__malloc(4 * T * sizeof *p);
        if (p == NULL)
            return -1;
        medner__free(c->ints);
        c->ints = p;
        c->cap_ints = 4 * T;
    }
    if (2 * n > c->cap_seq) {
        size_t *p = medner__malloc(2 * n * sizeof *p);
        if (p == NULL)
            return -1;
        medner__free(c->seq);
        c->seq = p;
        c->cap_seq = 2 * n;
    }
    if (NL > c->cap_layers) {
        layer_acts *p = medner__calloc(NL, sizeof *p);
        if (p == NULL)
            return -1;
        medner__free(c->acts);
        c->acts = p;
        c->cap_layers = NL;
    }
    float *a = c->arena;
#define TAKE(ptr, count) ((ptr) = a, a += (count))
    for (size_t l = 0; l < NL; l++) {
        layer_acts *la = &c->acts[l];
        TAKE(la->xin, T * H);
        TAKE(la->qkv, T * 3 * H);
        TAKE(la->probs, P);
        TAKE(la->ctx, T * H);
        TAKE(la->xhat1, T * H);
        TAKE(la->rstd1, T);
        TAKE(la->h1, T * H);
        TAKE(la->f1pre, T * I);
        TAKE(la->f1act, T * I);
        TAKE(la->xhat2, T * H);
        TAKE(la->rstd2, T);
        for (size_t k = 0; k < MEDNER__LORA_WHICH; k++) {
            long i = lo ? lo->index[l * MEDNER__LORA_WHICH + k] : -1;
            la->lx[k] = la->lu[k] = NULL;
            if (i < 0)
                continue;
            TAKE(la->lu[k], T * lo->r);
            if (ldrop)
                TAKE(la->lx[k], T * lo->mods[i].in);
        }
    }
    TAKE(c->xhat0, T * H);
    TAKE(c->rstd0, T);
    TAKE(c->xout, T * H);
    TAKE(c->xcls, T * H);
    TAKE(c->logits, T * C);
    TAKE(c->dlogits, T * C);
    TAKE(c->ytmp, T * H);
    TAKE(c->dx, T * H);
    TAKE(c->dh, T * H);
    TAKE(c->dtmp, T * H);
    TAKE(c->dI, T * I);
    TAKE(c->dqkv, T * 3 * H);
    TAKE(c->dctx, T * H);
    TAKE(c->work, w);
    c->lv = c->ldu = c->ldx = NULL;
    if (lo) {
        TAKE(c->lv, T * wide);
        TAKE(c->ldu, T * r);
        TAKE(c->ldx, T * wide);
        a += (16 - ((uintptr_t)a / sizeof(float)) % 16) % 16; /* panels 64-byte aligned */
        TAKE(c->lpk, lora_pack_size(T, wide));
        TAKE(c->lut, r * T);
        TAKE(c->lprod, wide * r);
    }
#undef TAKE
    return 0;
}

/* Dropout sites: the stream of (step, layer, site). */
enum { SITE_EMB, SITE_ATT, SITE_ATT_OUT, SITE_FFN_OUT, SITE_CLS };

static uint64_t stream_of(const medner__tdropout *d, size_t layer, int site)
{
    return (d->step << 16) | ((uint64_t)layer << 3) | (uint64_t)site;
}

static medner__epi epi_of(medner__act a)
{
    return a == MEDNER__ACT_GELU_TANH ? MEDNER__EPI_GELU_TANH
           : a == MEDNER__ACT_RELU    ? MEDNER__EPI_RELU
                                      : MEDNER__EPI_GELU;
}

static int check_batch(const medner__config *cfg, const medner__tbatch *b, size_t *T_out,
                       size_t *Lmax)
{
    if (b == NULL || b->ids == NULL || b->labels == NULL || b->lens == NULL || b->n_seqs == 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "training batch: ids, labels and lengths are required, n_seqs > 0");
    size_t T = 0, L = 0;
    size_t ntypes = cfg->arch == MEDNER__ARCH_BERT && cfg->type_vocab_size ? cfg->type_vocab_size
                                                                            : 1;
    for (size_t s = 0; s < b->n_seqs; s++) {
        if (b->lens[s] == 0 || b->lens[s] > cfg->max_positions)
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "training batch: sequence %zu has %zu tokens (expected 1 to the "
                                "model's %zu positions)", s, b->lens[s], cfg->max_positions);
        for (size_t k = 0; k < b->lens[s]; k++, T++) {
            int32_t id = b->ids[T], ty = b->type_ids ? b->type_ids[T] : 0, lab = b->labels[T];
            if (id < 0 || (size_t)id >= cfg->vocab_size)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "training batch: sequence %zu, token %zu: id %d outside the "
                                    "vocabulary [0, %zu)", s, k, id, cfg->vocab_size);
            if (ty < 0 || (size_t)ty >= ntypes)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "training batch: sequence %zu, token %zu: type id %d outside "
                                    "[0, %zu)", s, k, ty, ntypes);
            if (lab != MEDNER__IGNORE_INDEX && (lab < 0 || (size_t)lab >= cfg->num_labels))
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "training batch: sequence %zu, token %zu: label %d is neither "
                                    "in [0, %zu) nor the ignore index %d", s, k, lab,
                                    cfg->num_labels, MEDNER__IGNORE_INDEX);
        }
        if (b->lens[s] > L)
            L = b->lens[s];
    }
    *T_out = T;
    *Lmax = L;
    return MEDNER_OK;
}

/* The gradient of the tensor at p: NULL when p is not in t->param (a
 * frozen base weight of LoRA training). */
static float *grad_of(medner__tparams *t, const float *p)
{
    if (p == NULL || p < t->param || p >= t->param + t->n)
        return NULL;
    return t->grad + (p - t->param);
}
#define G(t, p) grad_of((t), (p))

/* ---- LoRA path of a targeted linear ------------------------------------------------
 * Forward: y[T, out] (row stride ldy) += (drop(x) A^T) B^T * scale, PEFT's
 * lora_B(lora_A(dropout(x))) * scaling: u = drop(x) A^T kept, v = u B^T,
 * y += v * scale. The mask: seed and stream of the step's dropout, the
 * stream's site field 8 + which (outside the base sites). */
typedef struct lora_site {
    const struct medner__lora *lo;
    const medner__lora_mod *md;
    const float *A, *B;
    float *dA, *dB;
    float p;
    uint64_t seed, stream;
} lora_site;

static int lora_at(lora_site *ls, medner__tparams *t, size_t l, size_t which,
                   const medner__tdropout *drop, int drop_on)
{
    const struct medner__lora *lo = t->lora;
    long i = lo ? lo->index[l * MEDNER__LORA_WHICH + which] : -1;
    if (i < 0)
        return 0;
    ls->lo = lo;
    ls->md = &lo->mods[i];
    ls->A = t->param + t->off[ls->md->a_slot];
    ls->B = t->param + t->off[ls->md->b_slot];
    ls->dA = t->grad + t->off[ls->md->a_slot];
    ls->dB = t->grad + t->off[ls->md->b_slot];
    ls->p = drop_on ? lo->dropout : 0.0f;
    ls->seed = drop->seed ^ 0x4c6f5241ULL;
    ls->stream = (drop->step << 16) | ((uint64_t)l << 4) | (8 + which);
    return 1;
}

/* y[M, N] = x[M, K] . w[N, K]^T for a narrow N (r): x packed into pk, then
 * the tiled product on the thread team (medner__linear would take its
 * single-threaded narrow kernel for N <= 64). Thread-count invariant. */
static void narrow_product(medner__par *par, float *y, const float *x, size_t ldx, const float *w,
                           size_t M, size_t N, size_t K, float *pk)
{
    medner__gemm_pack(pk, x, ldx, M, K);
    medner__linear_args la = { .y = y, .ldy = N, .x = pk, .x_panels = 1, .w = w, .M = M, .N = N,
                               .K = K };
    medner__linear_run(par, &la);
}

static void lora_forward(medner__par *par, const lora_site *ls, float *y, size_t ldy,
                         const float *x, float *lx, float *u, float *v, size_t T, float *pk)
{
    size_t in = ls->md->in, out = ls->md->out, r = ls->lo->r;
    const float *xd = x;
    if (ls->p > 0.0f) {
        medner__dropout(par, lx, x, T * in, ls->p, ls->seed, ls->stream, 0);
        xd = lx;
    }
    narrow_product(par, u, xd, in, ls->A, T, r, in, pk);
    medner__linear(par, v, out, u, r, ls->B, NULL, T, out, r, MEDNER__EPI_NONE);
    float sc = ls->lo->scale;
    for (size_t m = 0; m < T; m++)
        for (size_t n = 0; n < out; n++)
            y[m * ldy + n] += v[m * out + n] * sc;
}

/* Backward: dv = dy * scale; dB += dv^T u; du = dv B; dA += du^T drop(x);
 * dx += drop'(du A). Returns 0, or -1 out of memory. */
static int lora_backward(medner__par *par, const lora_site *ls, float *dx, size_t lddx,
                         const float *dy, size_t lddy, const float *x, const float *lx,
                         const float *u, float *dv, float *du, float *dxd, size_t T, float *work,
                         float *pk, float *ut, float *prod)
{
    size_t in = ls->md->in, out = ls->md->out, r = ls->lo->r;
    float sc = ls->lo->scale;
    for (size_t m = 0; m < T; m++)
        for (size_t n = 0; n < out; n++)
            dv[m * out + n] = dy[m * lddy + n] * sc;
    /* dB += dv^T u: dv^T packed straight from dv's rows, u^T [r, T] as W */
    medner__gemm_pack_t(pk, dv, out, out, T);
    medner__transpose(ut, T, u, r, T, r);
    medner__linear_args la = { .y = prod, .ldy = r, .x = pk, .x_panels = 1, .w = ut, .M = out,
                               .N = r, .K = T };
    medner__linear_run(par, &la);
    for (size_t i = 0; i < out * r; i++)
        ls->dB[i] += prod[i];
    /* du = dv B: weights B^T [r, out] */
    medner__transpose(prod, out, ls->B, r, out, r);
    narrow_product(par, du, dv, out, prod, T, r, out, pk);
    int bad = 0;
    if (dx == NULL) { /* dA only */
        bad |= medner__linear_backward(par, NULL, in, 0, ls->dA, NULL, du, r,
                                       ls->p > 0.0f ? lx : x, in, ls->A, T, r, in, work);
    } else if (ls->p > 0.0f) {
        bad |= medner__linear_backward(par, dxd, in, 0, ls->dA, NULL, du, r, lx, in, ls->A, T, r,
                                       in, work);
        medner__dropout(par, dxd, dxd, T * in, ls->p, ls->seed, ls->stream, 0);
        for (size_t m = 0; m < T; m++)
            for (size_t k = 0; k < in; k++)
                dx[m * lddx + k] += dxd[m * in + k];
    } else {
        bad |= medner__linear_backward(par, dx, lddx, 1, ls->dA, NULL, du, r, x, in, ls->A, T, r,
                                       in, work);
    }
    return bad;
}

int medner__train_step(medner__trainer_ctx *c, medner__tparams *t, const medner__tbatch *b,
                       const medner__tdropout *drop, int backward, float grad_scale,
                       double *loss_sum, size_t *count, const float **logits)
{
    if (c == NULL || t == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__train_step: NULL argument");
    const medner__config *cfg = &t->config;
    const medner__weights *w = &t->w;
    size_t T = 0, Lmax = 0, n = 0;
    int rc = check_batch(cfg, b, &T, &Lmax);
    if (rc != MEDNER_OK)
        return rc;
    n = b->n_seqs;
    medner__tdropout nodrop = { 0 };
    if (drop == NULL)
        drop = &nodrop;
    size_t H = cfg->hidden, I = cfg->intermediate, C = cfg->num_labels, NL = cfg->layers;
    size_t heads = cfg->heads, D = H / heads;
    float eps = cfg->ln_eps, scale = 1.0f / sqrtf((float)D);
    int bert = cfg->arch == MEDNER__ARCH_BERT;
    medner__epi act = epi_of(cfg->act);
    size_t P = medner__attention_probs_size(b->lens, n, heads);
    size_t kmax = T > 3 * H ? T : 3 * H;
    if (I > kmax)
        kmax = I;
    size_t scr = medner__linear_scratch(kmax), as = medner__attention_train_scratch(Lmax, D);
    /* LoRA dropout: on whenever the step has dropout on */
    int ldrop = t->lora && t->lora->dropout > 0.0f && drop != NULL &&
                (drop->hidden > 0.0f || drop->attention > 0.0f);
    if (reserve(c, cfg, T, P, n, t->lora, ldrop) != 0 || medner__par_reserve(c->par, as > scr ? as : scr) != 0)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "training step: out of memory for %zu tokens",
                            T);
    int32_t *ids = c->ints, *types = ids + T, *pos = types + T, *labels = pos + T;
    size_t *starts = c->seq, *lens = starts + n;
    for (size_t s = 0, r = 0; s < n; s++) {
        starts[s] = r;
        lens[s] = b->lens[s];
        for (size_t k = 0; k < b->lens[s]; k++, r++) {
            ids[r] = b->ids[r];
            types[r] = bert && b->type_ids ? b->type_ids[r] : 0;
            pos[r] = (int32_t)k;
            labels[r] = b->labels[r];
        }
    }
    medner__par *par = c->par;
    float ph = drop->hidden, pa = drop->attention;
    uint64_t seed = drop->seed;

    /* ---- forward ---- */
    int fbad = 0;
    float *x0 = NL ? c->acts[0].xin : c->xout;
    medner__embed(c->ytmp, ids, w->type_emb ? types : NULL, pos, T, w->word_emb, w->pos_emb,
                  w->type_emb, H);
    medner__layernorm_train_par(par, x0, c->xhat0, c->rstd0, c->ytmp, NULL, w->emb_ln_g, w->emb_ln_b, T,
                            H, eps);
    medner__dropout(par, x0, x0, T * H, ph, seed, stream_of(drop, 0, SITE_EMB), 0);
    for (size_t l = 0; l < NL; l++) {
        const medner__layer *L = &w->layers[l];
        layer_acts *a = &c->acts[l];
        float *xnext = l + 1 < NL ? c->acts[l + 1].xin : c->xout;
        if (c->bf16) {  /* Q, K, V: three bf16 products into the columns of qkv */
            const float *ws[3] = { L->q_w, L->k_w, L->v_w }, *bs[3] = { L->q_b, L->k_b, L->v_b };
            for (size_t k = 0; k < 3; k++)
                fbad |= dense(c, a->qkv + k * H, 3 * H, a->xin, H, ws[k], bs[k], T, H, H);
        } else {   /* Q | K | V in one product (x read once; bitwise three linears) */
            const float *ws[3] = { L->q_w, L->k_w, L->v_w }, *bs[3] = { L->q_b, L->k_b, L->v_b };
            medner__linear_args la = { .y = a->qkv, .ldy = 3 * H, .x = a->xin, .ldx = H,
                                       .ws = ws, .bs = bs, .count = 3, .M = T, .N = 3 * H,
                                       .K = H };
            medner__linear_run(par, &la);
        }
        lora_site ls;
        for (size_t k = 0; k < 3; k++)
            if (lora_at(&ls, t, l, MEDNER__LORA_Q + k, drop, ldrop))
                lora_forward(par, &ls, a->qkv + k * H, 3 * H, a->xin, a->lx[k], a->lu[k], c->lv,
                             T, c->lpk);
        medner__attention_train(par, a->ctx, a->probs, a->qkv, starts, lens, n, heads, D, scale,
                                pa, seed, stream_of(drop, l, SITE_ATT), c->bf16);
        fbad |= dense(c, c->ytmp, H, a->ctx, H, L->o_w, L->o_b, T, H, H);
        if (lora_at(&ls, t, l, MEDNER__LORA_O, drop, ldrop))
            lora_forward(par, &ls, c->ytmp, H, a->ctx, a->lx[MEDNER__LORA_O],
                         a->lu[MEDNER__LORA_O], c->lv, T, c->lpk);
        if (bert)
            medner__dropout(par, c->ytmp, c->ytmp, T * H, ph, seed,
                            stream_of(drop, l, SITE_ATT_OUT), 0);
        medner__layernorm_train_par(par, a->h1, a->xhat1, a->rstd1, c->ytmp, a->xin, L->ln1_g, L->ln1_b,
                                T, H, eps);
        fbad |= dense(c, a->f1pre, I, a->h1, H, L->ffn1_w, L->ffn1_b, T, I, H);
        if (lora_at(&ls, t, l, MEDNER__LORA_FFN1, drop, ldrop))
            lora_forward(par, &ls, a->f1pre, I, a->h1, a->lx[MEDNER__LORA_FFN1],
                         a->lu[MEDNER__LORA_FFN1], c->lv, T, c->lpk);
        memcpy(a->f1act, a->f1pre, T * I * sizeof(float));
        medner__activate_par(par, a->f1act, T * I, act);
        fbad |= dense(c, c->ytmp, H, a->f1act, I, L->ffn2_w, L->ffn2_b, T, H, I);
        if (lora_at(&ls, t, l, MEDNER__LORA_FFN2, drop, ldrop))
            lora_forward(par, &ls, c->ytmp, H, a->f1act, a->lx[MEDNER__LORA_FFN2],
                         a->lu[MEDNER__LORA_FFN2], c->lv, T, c->lpk);
        medner__dropout(par, c->ytmp, c->ytmp, T * H, ph, seed, stream_of(drop, l, SITE_FFN_OUT),
                        0);
        medner__layernorm_train_par(par, xnext, a->xhat2, a->rstd2, c->ytmp, a->h1, L->ln2_g, L->ln2_b, T,
                                H, eps);
    }
    medner__dropout(par, c->xcls, c->xout, T * H, ph, seed, stream_of(drop, NL, SITE_CLS), 0);
    medner__linear(par, c->logits, C, c->xcls, H, w->cls_w, w->cls_b, T, C, H, MEDNER__EPI_NONE);

    if (fbad)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "training step: out of memory for %zu tokens",
                            T);

    /* ---- loss ---- */
    size_t cnt = 0;
    double loss = medner__cross_entropy(NULL, c->logits, labels, T, C, MEDNER__IGNORE_INDEX, 0.0f,
                                        &cnt);
    if (loss_sum)
        *loss_sum = loss;
    if (count)
        *count = cnt;
    if (logits)
        *logits = c->logits;
    if (!backward)
        return MEDNER_OK;
    if (grad_scale == 0.0f)
        grad_scale = cnt ? 1.0f / (float)cnt : 0.0f;
    medner__cross_entropy(c->dlogits, c->logits, labels, T, C, MEDNER__IGNORE_INDEX, grad_scale,
                          &cnt);

    /* ---- backward ---- */
    float *gword = G(t, w->word_emb), *gpos = G(t, w->pos_emb),
          *gtype = w->type_emb ? G(t, w->type_emb) : NULL, *gln = G(t, w->emb_ln_g),
          *glnb = G(t, w->emb_ln_b);
    int emb_trains = gword || gpos || gtype || gln || glnb; /* not all frozen (LoRA) */
    float *work = c->work;
    int bad = 0;
    bad |= medner__linear_backward(par, c->dx, H, 0, G(t, w->cls_w), G(t, w->cls_b), c->dlogits,
                                   C, c->xcls, H, w->cls_w, T, C, H, work);
    medner__dropout(par, c->dx, c->dx, T * H, ph, seed, stream_of(drop, NL, SITE_CLS), 0);
    for (size_t l = NL; l-- > 0;) {
        const medner__layer *L = &w->layers[l];
        layer_acts *a = &c->acts[l];
        /* x_next = LN2(drop(W2 act(W1 h1)) + h1) */
        medner__layernorm_backward_par(par, c->dtmp, G(t, L->ln2_g), G(t, L->ln2_b), c->dx, a->xhat2,
                                   a->rstd2, L->ln2_g, T, H);
        memcpy(c->dh, c->dtmp, T * H * sizeof(float));
        medner__dropout(par, c->dtmp, c->dtmp, T * H, ph, seed, stream_of(drop, l, SITE_FFN_OUT),
                        0);
        bad |= dense_backward(c, c->dI, I, 0, G(t, L->ffn2_w), G(t, L->ffn2_b),
                              c->dtmp, H, a->f1act, I, L->ffn2_w, T, H, I, work);
        lora_site ls;
        if (lora_at(&ls, t, l, MEDNER__LORA_FFN2, drop, ldrop))
            bad |= lora_backward(par, &ls, c->dI, I, c->dtmp, H, a->f1act,
                                 a->lx[MEDNER__LORA_FFN2], a->lu[MEDNER__LORA_FFN2], c->lv,
                                 c->ldu, c->ldx, T, work, c->lpk, c->lut, c->lprod);
        medner__act_backward_par(par, c->dI, c->dI, a->f1pre, a->f1act, T * I, act);
        bad |= dense_backward(c, c->dh, H, 1, G(t, L->ffn1_w), G(t, L->ffn1_b), c->dI,
                              I, a->h1, H, L->ffn1_w, T, I, H, work);
        if (lora_at(&ls, t, l, MEDNER__LORA_FFN1, drop, ldrop))
            bad |= lora_backward(par, &ls, c->dh, H, c->dI, I, a->h1, a->lx[MEDNER__LORA_FFN1],
                                 a->lu[MEDNER__LORA_FFN1], c->lv, c->ldu, c->ldx, T, work, c->lpk, c->lut, c->lprod);
        /* h1 = LN1(drop(Wo ctx) + x_in) */
        medner__layernorm_backward_par(par, c->dtmp, G(t, L->ln1_g), G(t, L->ln1_b), c->dh, a->xhat1,
                                   a->rstd1, L->ln1_g, T, H);
        memcpy(c->dx, c->dtmp, T * H * sizeof(float));
        if (bert)
            medner__dropout(par, c->dtmp, c->dtmp, T * H, ph, seed,
                            stream_of(drop, l, SITE_ATT_OUT), 0);
        bad |= dense_backward(c, c->dctx, H, 0, G(t, L->o_w), G(t, L->o_b), c->dtmp,
                              H, a->ctx, H, L->o_w, T, H, H, work);
        if (lora_at(&ls, t, l, MEDNER__LORA_O, drop, ldrop))
            bad |= lora_backward(par, &ls, c->dctx, H, c->dtmp, H, a->ctx, a->lx[MEDNER__LORA_O],
                                 a->lu[MEDNER__LORA_O], c->lv, c->ldu, c->ldx, T, work, c->lpk, c->lut, c->lprod);
        medner__attention_backward(par, c->dqkv, c->dctx, a->qkv, a->probs, starts, lens, n,
                                   heads, D, scale, pa, seed, stream_of(drop, l, SITE_ATT), c->bf16);
        const float *qkv_w[3] = { L->q_w, L->k_w, L->v_w }, *qkv_b[3] = { L->q_b, L->k_b, L->v_b };
        /* the gradient of layer 0's input only when the embeddings train
         * (with LoRA they are frozen: its three dx products are skipped) */
        float *dxin = l > 0 || emb_trains ? c->dx : NULL;
        if (dxin != NULL && c->bf16) {
            /* dx += dQ Wq, += dK Wk, += dV Wv: three bf16 products */
            for (size_t i = 0; i < 3; i++)
                bad |= medner__bgemm(par, &c->bws, dxin, H, 1, c->dqkv + i * H, 3 * H, 0,
                                     qkv_w[i], H, 0, NULL, T, H, H);
        } else if (dxin != NULL) {
            /* dx += dQ Wq + dK Wk + dV Wv as ONE product over the 3H columns of
             * dqkv against [Wq; Wk; Wv] (transposed into work: [H, 3H]): one
             * FMA chain per element, one pass adding into dx */
            float *wt3 = work, *prod = work + 3 * H * H;
            for (size_t i = 0; i < 3; i++)
                medner__transpose(wt3 + i * H, 3 * H, qkv_w[i], H, H, H);
            if (medner__par_reserve(par, medner__linear_scratch(3 * H)) != 0) {
                bad = 1;
            } else {
                medner__linear(par, prod, H, c->dqkv, 3 * H, wt3, NULL, T, H, 3 * H,
                               MEDNER__EPI_NONE);
                for (size_t i = 0; i < T * H; i++)
                    dxin[i] += prod[i];
            }
        }
        for (size_t i = 0; i < 3; i++) {
            bad |= dense_backward(c, NULL, H, 1, G(t, qkv_w[i]), G(t, qkv_b[i]),
                                  c->dqkv + i * H, 3 * H, a->xin, H, qkv_w[i], T, H, H, work);
            if (lora_at(&ls, t, l, MEDNER__LORA_Q + i, drop, ldrop))
                bad |= lora_backward(par, &ls, dxin, H, c->dqkv + i * H, 3 * H, a->xin, a->lx[i],
                                     a->lu[i], c->lv, c->ldu, c->ldx, T, work, c->lpk, c->lut,
                                     c->lprod);
        }
    }
    if (emb_trains) {
        medner__dropout(par, c->dx, c->dx, T * H, ph, seed, stream_of(drop, 0, SITE_EMB), 0);
        medner__layernorm_backward_par(par, c->dtmp, gln, glnb, c->dx, c->xhat0, c->rstd0, w->emb_ln_g,
                                   T, H);
        medner__embed_backward(gword, gpos, gtype, c->dtmp, ids, w->type_emb ? types : NULL, pos,
                               T, H, cfg->pad_token_id);
    }
    if (bad)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "training step: out of memory for %zu tokens",
                            T);
    return MEDNER_OK;
}
