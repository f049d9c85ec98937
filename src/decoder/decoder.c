/*
 * Label sets, tagging schemes and the decoder object.
 *
 * Hugging Face semantics reproduced here (transformers'
 * TokenClassificationPipeline, see docs/decoder.md):
 *   get_tag(label): "B-X" -> (B, X); "I-X" -> (I, X); anything else L -> (I, L)
 *   an entity group's name: its first member's label after the first '-'
 *   ("B-Disease" -> "Disease", "O" -> "O")
 * Our additions: BIOES/BILOU understood, constrained (Viterbi) decoding,
 * keep filters, renames, a minimum score.
 */
#include <math.h>
#include <string.h>

#include "decoder/decoder.h"

typedef struct label_info {
    char kind;          /* 'B' 'I' 'E' 'S' 'O' or 'P' (plain label, IO style) */
    size_t type;        /* index into types (the label's entity type) */
    char hf_bi;         /* Hugging Face's get_tag: 'B' or 'I' */
    size_t hf_tag;      /* index into hf_tags */
    size_t group_name;  /* output name of a group starting with this label */
    size_t full_name;   /* output name of this label (NONE) */
} label_info;

struct medner_decoder {
    size_t n_labels;
    char **labels;
    label_info *info;
    char **names;            /* output names (renamed) */
    bool *name_dropped;      /* ignored or not kept */
    size_t n_names;
    size_t n_hf_tags;
    char **hf_tags;
    medner_scheme scheme;
    medner_aggregation aggregation;
    medner_decoding decoding;
    double min_score;
    bool *allowed;           /* [n_labels + 1][n_labels]: row n_labels = start */
    bool *final_ok;          /* may a sequence end in this label */
};

size_t medner__decoder_n_labels(const medner_decoder *d) { return d->n_labels; }
medner_aggregation medner__decoder_aggregation(const medner_decoder *d) { return d->aggregation; }
const char *medner__decoder_name(const medner_decoder *d, size_t i) { return d->names[i]; }
size_t medner__decoder_n_names(const medner_decoder *d) { return d->n_names; }

medner_scheme medner_decoder_scheme(const medner_decoder *d)
{
    return d ? d->scheme : MEDNER_SCHEME_AUTO;
}

void medner_decoder_free(medner_decoder *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_labels; i++)
        medner__free(d->labels ? d->labels[i] : NULL);
    for (size_t i = 0; i < d->n_names; i++)
        medner__free(d->names[i]);
    for (size_t i = 0; i < d->n_hf_tags; i++)
        medner__free(d->hf_tags[i]);
    medner__free(d->labels);
    medner__free(d->info);
    medner__free(d->names);
    medner__free(d->name_dropped);
    medner__free(d->hf_tags);
    medner__free(d->allowed);
    medner__free(d->final_ok);
    medner__free(d);
}

/* Index of `s` in the string table, appending a copy when absent; SIZE_MAX
 * when out of memory. The table has room for `cap` entries. */
static size_t intern(char **table, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen(table[i]) == len && memcmp(table[i], s, len) == 0)
            return i;
    char *copy = medner__strndup(s, len);
    if (copy == NULL)
        return SIZE_MAX;
    table[*n] = copy;
    return (*n)++;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static const char *renamed(const char *s, const medner_decoder_params *p)
{
    for (size_t i = 0; i < p->n_renames; i++)
        if (strcmp(s, p->rename_from[i]) == 0)
            return p->rename_to[i];
    return s;
}

/* Prefix kind of a label for our own scheme handling. */
static char kind_of(const char *l, medner_scheme scheme, const char **type)
{
    if (strcmp(l, "O") == 0) {
        *type = l;
        return 'O';
    }
    if (strlen(l) > 2 && l[1] == '-') {
        char k = l[0];
        if (k == 'L')
            k = 'E';
        if (k == 'U')
            k = 'S';
        if (k == 'B' || k == 'I' || ((k == 'E' || k == 'S') && scheme == MEDNER_SCHEME_BIOES)) {
            *type = l + 2;
            return k;
        }
    }
    *type = l;
    return 'P';
}

static medner_scheme detect_scheme(char **labels, size_t n)
{
    bool b = false, es = false;
    for (size_t i = 0; i < n; i++) {
        const char *l = labels[i];
        if (strlen(l) > 2 && l[1] == '-') {
            if (l[0] == 'B')
                b = true;
            if (l[0] == 'E' || l[0] == 'S' || l[0] == 'L' || l[0] == 'U')
                es = true;
        }
    }
    return es ? MEDNER_SCHEME_BIOES : b ? MEDNER_SCHEME_BIO : MEDNER_SCHEME_IO;
}

static void build_transitions(medner_decoder *d)
{
    size_t n = d->n_labels;
    for (size_t from = 0; from <= n; from++) {
        for (size_t to = 0; to < n; to++) {
            const label_info *t = &d->info[to];
            bool ok = true;
            if (from == n) { /* start of a sequence */
                ok = !(t->kind == 'I' || t->kind == 'E');
                if (d->scheme == MEDNER_SCHEME_IO)
                    ok = true;
            } else {
                const label_info *f = &d->info[from];
                bool open = f->kind == 'B' || f->kind == 'I'; /* an entity continues */
                switch (d->scheme) {
                case MEDNER_SCHEME_BIO:
                    if (t->kind == 'I')
                        ok = open && f->type == t->type;
                    break;
                case MEDNER_SCHEME_BIOES:
                    if (t->kind == 'I' || t->kind == 'E')
                        ok = open && f->type == t->type;
                    else
                        ok = !open; /* B-/I- must be followed by I- or E- of its type */
                    break;
                default:
                    break;
                }
            }
            d->allowed[from * n + to] = ok;
        }
    }
    for (size_t i = 0; i < n; i++)
        d->final_ok[i] = !(d->scheme == MEDNER_SCHEME_BIOES &&
                           (d->info[i].kind == 'B' || d->info[i].kind == 'I'));
}

int medner_decoder_create(medner_decoder **out, const char *const *labels, size_t n_labels,
                          const medner_decoder_params *params)
{
    if (out == NULL || labels == NULL || n_labels == 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_decoder_create: out and at least one label are required");
    if (n_labels > 65536)
        return medner__fail(MEDNER_E_LIMIT, "medner_decoder_create: %zu labels", n_labels);
    medner_decoder_params p = MEDNER_DECODER_PARAMS_INIT;
    int rc = medner__params_copy(&p, sizeof p, params, MEDNER__SIZE_V0_1_DECODER_PARAMS,
                                 "medner_decoder_params");
    if (rc != MEDNER_OK)
        return rc;
    if (p.reserved != 0 || p.reserved2 != 0 ||
        (p.explicit_fields & ~(MEDNER_DECODER_EXPLICIT_IGNORE_LABELS |
                               MEDNER_DECODER_EXPLICIT_MIN_SCORE)) != 0 ||
        (unsigned)p.aggregation > MEDNER_AGGREGATION_MAX ||
        (unsigned)p.decoding > MEDNER_DECODING_CONSTRAINED ||
        (unsigned)p.scheme > MEDNER_SCHEME_BIOES || !(p.min_score >= 0.0 && p.min_score <= 1.0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_decoder_params: aggregation, decoding, scheme must be enum "
                            "values, min_score in [0, 1], explicit_fields known MEDNER_DECODER_EXPLICIT_* "
                            "bits, reserved and reserved2 0");
    if ((p.n_ignore_labels && !p.ignore_labels) || (p.n_keep_labels && !p.keep_labels) ||
        (p.n_renames && (!p.rename_from || !p.rename_to)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_decoder_params: a label list is NULL but its count is not 0");
    for (size_t i = 0; i < p.n_renames; i++)
        if (!p.rename_from[i] || !p.rename_to[i])
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_decoder_params: rename %zu has a NULL name", i);
    for (size_t i = 0; i < n_labels; i++) {
        if (labels[i] == NULL || labels[i][0] == '\0')
            return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                "medner_decoder_create: label %zu is NULL or empty", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner_decoder_create: labels %zu and %zu are the same", j, i);
    }
    medner_decoder *d = medner__calloc(1, sizeof *d);
    if (d == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner_decoder_create: out of memory");
    d->n_labels = n_labels;
    d->labels = medner__calloc(n_labels, sizeof *d->labels);
    d->info = medner__calloc(n_labels, sizeof *d->info);
    d->names = medner__calloc(2 * n_labels, sizeof *d->names);
    d->name_dropped = medner__calloc(2 * n_labels, sizeof *d->name_dropped);
    d->hf_tags = medner__calloc(n_labels, sizeof *d->hf_tags);
    d->allowed = medner__calloc((n_labels + 1) * n_labels, sizeof *d->allowed);
    d->final_ok = medner__calloc(n_labels, sizeof *d->final_ok);
    char **types = medner__calloc(n_labels, sizeof *types);
    size_t n_types = 0;
    if (!d->labels || !d->info || !d->names || !d->name_dropped || !d->hf_tags || !d->allowed ||
        !d->final_ok || !types)
        goto oom;
    for (size_t i = 0; i < n_labels; i++)
        if ((d->labels[i] = medner__strndup(labels[i], strlen(labels[i]))) == NULL)
            goto oom;
    medner_scheme detected = detect_scheme(d->labels, n_labels);
    d->scheme = p.scheme == MEDNER_SCHEME_AUTO ? detected : p.scheme;
    if (d->scheme == MEDNER_SCHEME_BIO && detected == MEDNER_SCHEME_BIOES) {
        medner__free(types);
        medner_decoder_free(d);
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_decoder_create: scheme BIO given, but the labels have E-/S- "
                            "(BIOES) prefixes");
    }
    d->aggregation = p.aggregation == MEDNER_AGGREGATION_DEFAULT ? MEDNER_AGGREGATION_FIRST
                                                                 : p.aggregation;
    d->decoding = p.decoding == MEDNER_DECODING_DEFAULT ? MEDNER_DECODING_ARGMAX : p.decoding;
    d->min_score = p.min_score;
    for (size_t i = 0; i < n_labels; i++) {
        const char *l = d->labels[i];
        label_info *li = &d->info[i];
        const char *type;
        li->kind = kind_of(l, d->scheme, &type);
        if ((li->type = intern(types, &n_types, type, strlen(type))) == SIZE_MAX)
            goto oom;
        /* Hugging Face's view */
        bool b = strncmp(l, "B-", 2) == 0, in = strncmp(l, "I-", 2) == 0;
        li->hf_bi = b ? 'B' : 'I';
        const char *tag = b || in ? l + 2 : l;
        if ((li->hf_tag = intern(d->hf_tags, &d->n_hf_tags, tag, strlen(tag))) == SIZE_MAX)
            goto oom;
        const char *dash = strchr(l, '-');
        const char *group = dash ? dash + 1 : l;
        const char *gname = renamed(group, &p), *fname = renamed(l, &p);
        if ((li->group_name = intern(d->names, &d->n_names, gname, strlen(gname))) == SIZE_MAX ||
            (li->full_name = intern(d->names, &d->n_names, fname, strlen(fname))) == SIZE_MAX)
            goto oom;
        /* ignore: on the names before renaming (Hugging Face's ignore_labels);
         * keep: after renaming */
        const char *const dflt[] = { MEDNER_DEFAULT_IGNORE_LABEL };
        bool given = p.n_ignore_labels || (p.explicit_fields & MEDNER_DECODER_EXPLICIT_IGNORE_LABELS);
        const char *const *ign = given ? p.ignore_labels : dflt;
        size_t n_ign = given ? p.n_ignore_labels : 1;
        if (in_list(group, ign, n_ign) || (p.n_keep_labels && !in_list(gname, p.keep_labels,
                                                                        p.n_keep_labels)))
            d->name_dropped[li->group_name] = true;
        if (in_list(l, ign, n_ign) || (p.n_keep_labels && !in_list(gname, p.keep_labels,
                                                                    p.n_keep_labels)))
            d->name_dropped[li->full_name] = true;
    }
    build_transitions(d);
    for (size_t i = 0; i < n_types; i++)
        medner__free(types[i]);
    medner__free(types);
    *out = d;
    return MEDNER_OK;
oom:
    for (size_t i = 0; i < n_types; i++)
        medner__free(types[i]);
    medner__free(types);
    medner_decoder_free(d);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner_decoder_create: out of memory");
}

/* ---- decoding ----------------------------------------------------------- */

void medner__dec_softmax(float *probs, const float *logits, size_t n, size_t c)
{
    for (size_t r = 0; r < n; r++) {
        const float *x = logits + r * c;
        float *p = probs + r * c;
        float m = x[0];
        for (size_t k = 1; k < c; k++)
            if (x[k] > m)
                m = x[k];
        float sum = 0.0f;
        for (size_t k = 0; k < c; k++) {
            p[k] = expf(x[k] - m);
            sum += p[k];
        }
        for (size_t k = 0; k < c; k++)
            p[k] /= sum;
    }
}

static size_t argmax(const float *v, size_t c)
{
    size_t best = 0;
    for (size_t k = 1; k < c; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* A unit is a token (NONE, SIMPLE) or a word (FIRST, AVERAGE, MAX). */
typedef struct unit {
    const float *probs; /* probability vector deciding the label */
    size_t label;
    double score;
    size_t begin, end, first_token, n_tokens;
} unit;

int medner__entlist_push(medner__entlist *l, const medner__ent *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        medner__ent *items = medner__realloc(l->items, cap * sizeof *items);
        if (items == NULL)
            return MEDNER_E_OUT_OF_MEMORY;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = *e;
    return MEDNER_OK;
}

void medner__entlist_release(medner__entlist *l)
{
    medner__free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

/* Viterbi over log-probabilities with the scheme's allowed transitions. */
static int viterbi(const medner_decoder *d, unit *u, size_t n)
{
    size_t c = d->n_labels;
    double *score = medner__malloc((n ? n : 1) * c * sizeof *score);
    size_t *back = medner__malloc((n ? n : 1) * c * sizeof *back);
    if (score == NULL || back == NULL) {
        medner__free(score);
        medner__free(back);
        return MEDNER_E_OUT_OF_MEMORY;
    }
    const double NEG = -1e300;
    for (size_t t = 0; t < n; t++) {
        for (size_t j = 0; j < c; j++) {
            double p = (double)u[t].probs[j];
            double emit = p > 0 ? log(p) : -1e30; /* allowed but impossible: still finite */
            double best = NEG;
            size_t arg = 0;
            if (t == 0) {
                if (d->allowed[c * c + j])
                    best = 0;
            } else {
                for (size_t i = 0; i < c; i++)
                    if (d->allowed[i * c + j] && score[(t - 1) * c + i] > best) {
                        best = score[(t - 1) * c + i];
                        arg = i;
                    }
            }
            score[t * c + j] = best <= NEG ? NEG : best + emit;
            back[t * c + j] = arg;
        }
    }
    if (n > 0) {
        size_t last = SIZE_MAX;
        double best = NEG;
        for (size_t j = 0; j < c; j++)
            if (d->final_ok[j] && score[(n - 1) * c + j] > best) {
                best = score[(n - 1) * c + j];
                last = j;
            }
        if (last == SIZE_MAX) /* no valid path at all (odd label sets): fall back */
            last = argmax(u[n - 1].probs, c);
        for (size_t t = n; t-- > 0;) {
            u[t].label = last;
            u[t].score = (double)u[t].probs[last];
            last = back[t * c + last];
        }
    }
    medner__free(score);
    medner__free(back);
    return MEDNER_OK;
}

static int emit(const medner_decoder *d, medner__entlist *out, size_t name, double score,
                size_t begin, size_t end, size_t first_token, size_t n_tokens)
{
    if (d->name_dropped[name] || score < d->min_score)
        return MEDNER_OK;
    medner__ent e = { begin, end, name, score, first_token, n_tokens };
    return medner__entlist_push(out, &e);
}

/* Hugging Face's group_entities over units; BIOES-aware grouping for BIOES. */
static int group(const medner_decoder *d, const unit *u, size_t n, medner__entlist *out)
{
    size_t start = 0;
    int rc = MEDNER_OK;
    for (size_t k = 0; k <= n && rc == MEDNER_OK; k++) {
        bool split = k == n;
        if (!split && k > start) {
            const label_info *cur = &d->info[u[k].label], *prev = &d->info[u[k - 1].label];
            if (d->scheme == MEDNER_SCHEME_BIOES) {
                bool cont = (cur->kind == 'I' || cur->kind == 'E') && cur->type == prev->type &&
                            (prev->kind == 'B' || prev->kind == 'I');
                bool both_o = cur->kind == 'O' && prev->kind == 'O';
                bool same_plain = cur->kind == 'P' && prev->kind == 'P' && cur->type == prev->type;
                split = !(cont || both_o || same_plain);
            } else {
                split = !(cur->hf_tag == prev->hf_tag && cur->hf_bi != 'B');
            }
        }
        if (split && k > start) {
            double sum = 0;
            for (size_t i = start; i < k; i++)
                sum += u[i].score;
            size_t tokens = u[k - 1].first_token + u[k - 1].n_tokens - u[start].first_token;
            rc = emit(d, out, d->info[u[start].label].group_name, sum / (double)(k - start),
                      u[start].begin, u[k - 1].end, u[start].first_token, tokens);
            start = k;
        }
    }
    return rc;
}

int medner__decode(const medner_decoder *d, const medner__dec_input *in, medner__entlist *out)
{
    size_t c = d->n_labels, n = in->n;
    if (n == 0)
        return MEDNER_OK;
    float *probs = NULL, *avg = NULL;
    unit *u = NULL;
    size_t bytes;
    if (medner__mul_size(n, c * sizeof(float), &bytes) == 0) {
        probs = medner__malloc(bytes);
        avg = medner__malloc(bytes);
    }
    u = medner__malloc(n * sizeof *u);
    int rc = MEDNER_E_OUT_OF_MEMORY;
    if (!probs || !avg || !u)
        goto done;
    medner__dec_softmax(probs, in->logits, n, c);
    size_t nu = 0;
    medner_aggregation agg = d->aggregation;
    if (agg == MEDNER_AGGREGATION_NONE || agg == MEDNER_AGGREGATION_SIMPLE) {
        for (size_t t = 0; t < n; t++) {
            u[nu++] = (unit){ probs + t * c, 0, 0, in->begin[t], in->end[t], in->token[t], 1 };
        }
    } else {
        size_t t = 0;
        while (t < n) {
            size_t w_end = t + 1;
            while (w_end < n && in->is_subword[w_end])
                w_end++;
            const float *vec = probs + t * c;
            if (agg == MEDNER_AGGREGATION_MAX) {
                float best = -1.0f;
                for (size_t k = t; k < w_end; k++) {
                    const float *pk = probs + k * c;
                    float m = pk[argmax(pk, c)];
                    if (m > best) {
                        best = m;
                        vec = pk;
                    }
                }
            } else if (agg == MEDNER_AGGREGATION_AVERAGE) {
                float *a = avg + nu * c;
                for (size_t j = 0; j < c; j++) {
                    float s = 0.0f;
                    for (size_t k = t; k < w_end; k++)
                        s += probs[k * c + j];
                    a[j] = s / (float)(w_end - t);
                }
                vec = a;
            }
            u[nu++] = (unit){ vec, 0, 0, in->begin[t], in->end[w_end - 1], in->token[t],
                              in->token[w_end - 1] - in->token[t] + 1 };
            t = w_end;
        }
    }
    if (d->decoding == MEDNER_DECODING_CONSTRAINED) {
        if ((rc = viterbi(d, u, nu)) != MEDNER_OK)
            goto done;
    } else {
        for (size_t k = 0; k < nu; k++) {
            u[k].label = argmax(u[k].probs, c);
            u[k].score = (double)u[k].probs[u[k].label];
        }
    }
    rc = MEDNER_OK;
    if (agg == MEDNER_AGGREGATION_NONE) {
        for (size_t k = 0; k < nu && rc == MEDNER_OK; k++)
            rc = emit(d, out, d->info[u[k].label].full_name, u[k].score, u[k].begin, u[k].end,
                      u[k].first_token, 1);
    } else {
        rc = group(d, u, nu, out);
    }
done:
    medner__free(probs);
    medner__free(avg);
    medner__free(u);
    return rc;
}

/* Stable sort by begin (Python's sorted() is stable: among equal starts,
 * earlier windows stay first), then Hugging Face's
 * aggregate_overlapping_entities. */
static void merge_sort(medner__ent *a, medner__ent *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[j].begin < a[i].begin ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

int medner__merge_overlapping(medner__entlist *l)
{
    if (l->n == 0)
        return MEDNER_OK;
    medner__ent *tmp = medner__malloc(l->n * sizeof *tmp);
    if (tmp == NULL)
        return MEDNER_E_OUT_OF_MEMORY;
    merge_sort(l->items, tmp, l->n);
    medner__free(tmp);
    size_t w = 0;
    medner__ent prev = l->items[0];
    for (size_t i = 0; i < l->n; i++) {
        medner__ent cur = l->items[i];
        if (prev.begin <= cur.begin && cur.begin < prev.end) {
            size_t cl = cur.end - cur.begin, pl = prev.end - prev.begin;
            if (cl > pl || (cl == pl && cur.score > prev.score))
                prev = cur;
        } else {
            l->items[w++] = prev;
            prev = cur;
        }
    }
    l->items[w++] = prev;
    l->n = w;
    return MEDNER_OK;
}
