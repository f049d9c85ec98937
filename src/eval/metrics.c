/*
 * Entity-level metrics identical to seqeval 1.2.2's default mode; see eval.h
 * and docs/eval.md for the rules reproduced here.
 *
 * seqeval flattens the sentences into one sequence with an "O" after each
 * sentence and one more "O" at the end, runs get_entities() over it for the
 * gold and the predicted tags separately, and counts the (type, start, end)
 * triples the two have in common. get_entities() emits at most one entity
 * per position, at the position after the entity's last token, so the gold
 * and the predicted sequence can be walked in lockstep: an entity is correct
 * when both emit one at the same position with the same type and start.
 * The state between positions is three values per sequence, so nothing is
 * stored per token.
 *
 * Floating point: every score is computed with the same operations, in the
 * same order, as seqeval/numpy, so the doubles are bitwise-equal. The
 * averages use numpy's pairwise summation. No expression may be contracted
 * into a fused multiply-add (GCC does not in ISO C mode; clang is told).
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

/* ---- entity types: interned strings ------------------------------------- */

typedef struct type_entry {
    char *name;
    size_t len;
    uint64_t hash;
    size_t gold, predicted, correct;
} type_entry;

/* The state of get_entities() between two positions of one sequence. */
typedef struct chunker {
    char prev_tag;   /* first character of the previous tag ('\0': non-ASCII) */
    size_t prev_type; /* type index of the previous tag; NO_TYPE at the start */
    size_t begin;    /* begin_offset: where the current entity started */
} chunker;

#define NO_TYPE SIZE_MAX /* seqeval's initial prev_type '' (no tag has that type) */

struct medner__eval {
    type_entry *types;
    size_t num_types, cap_types;
    size_t *index;   /* open addressing: type index + 1, 0 = empty */
    size_t index_cap; /* power of two, > 2 * num_types */
    size_t underscore; /* the type "_" of "O" (and of every tag with no type) */
    chunker gold, pred;
    size_t pos;      /* position in the flattened sequence */
    size_t num_sentences, num_tokens;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

/* Index of the type, or NO_TYPE. */
static size_t find_type(const medner__eval *ev, const char *s, size_t n, uint64_t h)
{
    size_t mask = ev->index_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        size_t slot = ev->index[i];
        if (slot == 0)
            return NO_TYPE;
        const type_entry *t = &ev->types[slot - 1];
        if (t->hash == h && t->len == n && memcmp(t->name, s, n) == 0)
            return slot - 1;
    }
}

static int grow_index(medner__eval *ev)
{
    size_t cap = ev->index_cap * 2;
    size_t *index = medner__calloc(cap, sizeof *index);
    if (index == NULL)
        return MEDNER_E_OUT_OF_MEMORY;
    for (size_t k = 0; k < ev->num_types; k++) {
        size_t i = (size_t)ev->types[k].hash & (cap - 1);
        while (index[i] != 0)
            i = (i + 1) & (cap - 1);
        index[i] = k + 1;
    }
    medner__free(ev->index);
    ev->index = index;
    ev->index_cap = cap;
    return MEDNER_OK;
}

/* Index of the type, added if new; NO_TYPE when out of memory. */
static size_t intern_type(medner__eval *ev, const char *s, size_t n)
{
    uint64_t h = hash_bytes(s, n);
    size_t found = find_type(ev, s, n, h);
    if (found != NO_TYPE)
        return found;
    if (ev->num_types == ev->cap_types) {
        size_t cap = ev->cap_types ? ev->cap_types * 2 : 16;
        type_entry *types = medner__realloc(ev->types, cap * sizeof *types);
        if (types == NULL)
            return NO_TYPE;
        ev->types = types;
        ev->cap_types = cap;
    }
    if (2 * (ev->num_types + 1) >= ev->index_cap && grow_index(ev) != MEDNER_OK)
        return NO_TYPE;
    char *name = medner__strndup(s, n);
    if (name == NULL)
        return NO_TYPE;
    type_entry *t = &ev->types[ev->num_types];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->len = n;
    t->hash = h;
    size_t i = (size_t)h & (ev->index_cap - 1);
    while (ev->index[i] != 0)
        i = (i + 1) & (ev->index_cap - 1);
    ev->index[i] = ++ev->num_types;
    return ev->num_types - 1;
}

/* ---- seqeval's get_entities() ------------------------------------------- */

/*
 * Split a tag as seqeval does with suffix=False:
 *     tag = chunk[0]
 *     type_ = chunk[1:].split('-', maxsplit=1)[-1] or '_'
 * chunk[0] is the first code point: a non-ASCII one is never any of the
 * letters the rules test, so it becomes '\0' here.
 */
static void split_tag(const char *s, char *tag, const char **type, size_t *type_len)
{
    unsigned char c = (unsigned char)s[0];
    size_t first = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    size_t k = 1;
    while (k < first && s[k] != '\0')
        k++;
    *tag = c < 0x80 ? (char)c : '\0';
    const char *rest = s + k;
    const char *dash = strchr(rest, '-');
    const char *t = dash ? dash + 1 : rest;
    if (*t == '\0') {
        *type = "_";
        *type_len = 1;
    } else {
        *type = t;
        *type_len = strlen(t);
    }
}

/* seqeval's end_of_chunk(prev_tag, tag, prev_type, type_) */
static bool end_of_chunk(char prev_tag, char tag, size_t prev_type, size_t type)
{
    if (prev_tag == 'E' || prev_tag == 'S')
        return true;
    if ((prev_tag == 'B' || prev_tag == 'I') && (tag == 'B' || tag == 'S' || tag == 'O'))
        return true;
    return prev_tag != 'O' && prev_tag != '.' && prev_type != type;
}

/* seqeval's start_of_chunk(prev_tag, tag, prev_type, type_) */
static bool start_of_chunk(char prev_tag, char tag, size_t prev_type, size_t type)
{
    if (tag == 'B' || tag == 'S')
        return true;
    if ((prev_tag == 'E' || prev_tag == 'S' || prev_tag == 'O') && (tag == 'E' || tag == 'I'))
        return true;
    return tag != 'O' && tag != '.' && prev_type != type;
}

/* One iteration of get_entities()'s loop at position `pos`. Returns true
 * when it emits the entity (*type, *begin, pos - 1). */
static bool chunker_step(chunker *c, char tag, size_t type, size_t pos, size_t *etype,
                         size_t *ebegin)
{
    bool emit = end_of_chunk(c->prev_tag, tag, c->prev_type, type);
    if (emit) {
        *etype = c->prev_type;
        *ebegin = c->begin;
    }
    if (start_of_chunk(c->prev_tag, tag, c->prev_type, type))
        c->begin = pos;
    c->prev_tag = tag;
    c->prev_type = type;
    return emit;
}

/* Advance both sequences by one position and count what they emit. */
static void step(medner__eval *ev, char gtag, size_t gtype, char ptag, size_t ptype)
{
    size_t gt = 0, gb = 0, pt = 0, pb = 0;
    bool g = chunker_step(&ev->gold, gtag, gtype, ev->pos, &gt, &gb);
    bool p = chunker_step(&ev->pred, ptag, ptype, ev->pos, &pt, &pb);
    if (g)
        ev->types[gt].gold++;
    if (p)
        ev->types[pt].predicted++;
    if (g && p && gt == pt && gb == pb)
        ev->types[gt].correct++;
    ev->pos++;
}

/* ---- the evaluator ------------------------------------------------------ */

int medner__eval_create(medner__eval **out)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__eval_create: out is NULL");
    medner__eval *ev = medner__calloc(1, sizeof *ev);
    if (ev == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory creating an evaluator");
    ev->index_cap = 16;
    ev->index = medner__calloc(ev->index_cap, sizeof *ev->index);
    if (ev->index == NULL || (ev->underscore = intern_type(ev, "_", 1)) == NO_TYPE) {
        medner__eval_free(ev);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory creating an evaluator");
    }
    /* get_entities() starts with prev_tag 'O', prev_type '', begin_offset 0 */
    ev->gold.prev_tag = ev->pred.prev_tag = 'O';
    ev->gold.prev_type = ev->pred.prev_type = NO_TYPE;
    *out = ev;
    return MEDNER_OK;
}

void medner__eval_free(medner__eval *ev)
{
    if (ev == NULL)
        return;
    for (size_t k = 0; k < ev->num_types; k++)
        medner__free(ev->types[k].name);
    medner__free(ev->types);
    medner__free(ev->index);
    medner__free(ev);
}

/* Tag letter and type index of a tag already interned (or "O"). */
static void lookup_tag(const medner__eval *ev, const char *s, char *tag, size_t *type)
{
    if (s[0] == 'O' && s[1] == '\0') {
        *tag = 'O';
        *type = ev->underscore;
        return;
    }
    const char *t;
    size_t n;
    split_tag(s, tag, &t, &n);
    *type = find_type(ev, t, n, hash_bytes(t, n));
}

int medner__eval_add_sentence(medner__eval *ev, const char *const *gold,
                              const char *const *pred, size_t n)
{
    if (ev == NULL || (n > 0 && (gold == NULL || pred == NULL)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__eval_add_sentence: %s is NULL",
                            ev == NULL ? "ev" : gold == NULL ? "gold" : "pred");
    for (size_t k = 0; k < n; k++) {
        for (int which = 0; which < 2; which++) {
            const char *s = which ? pred[k] : gold[k];
            if (s == NULL || s[0] == '\0')
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "medner__eval_add_sentence: %s tag %zu is %s",
                                    which ? "predicted" : "gold", k, s ? "empty" : "NULL");
        }
    }
    /* Intern every type first, so that running out of memory leaves the
     * counts untouched (a type without entities is never reported). */
    for (size_t k = 0; k < 2 * n; k++) {
        const char *s = k < n ? gold[k] : pred[k - n];
        if (s[0] == 'O' && s[1] == '\0')
            continue;
        char tag;
        const char *t;
        size_t len;
        split_tag(s, &tag, &t, &len);
        if (intern_type(ev, t, len) == NO_TYPE)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory adding entity types");
    }
    for (size_t k = 0; k < n; k++) {
        char gtag, ptag;
        size_t gtype, ptype;
        lookup_tag(ev, gold[k], &gtag, &gtype);
        lookup_tag(ev, pred[k], &ptag, &ptype);
        step(ev, gtag, gtype, ptag, ptype);
    }
    /* seqeval appends 'O' to every sentence when it flattens them */
    step(ev, 'O', ev->underscore, 'O', ev->underscore);
    ev->num_sentences++;
    ev->num_tokens += n;
    return MEDNER_OK;
}

/* ---- scores ------------------------------------------------------------- */

/* numpy's pairwise summation (pairwise_sum_DOUBLE in
 * numpy/_core/src/umath/loops_utils.h.src), which np.sum and np.mean use on
 * a contiguous float64 array. */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    } else if (n <= 128) {
        double r[8];
        size_t i;
        for (size_t j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (size_t j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    } else {
        size_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
    }
}

/* np.add.reduce starts from the identity 0.0 and adds the pairwise sum. */
static double np_sum(const double *a, size_t n)
{
    double zero = 0.0;
    return zero + pairwise_sum(a, n);
}

/* sklearn-style _prf_divide with zero_division="warn": 0 where den == 0. */
static double prf_divide(size_t num, size_t den)
{
    if (den == 0)
        return 0.0;
    return (double)num / (double)den;
}

/* seqeval: denom = beta2 * precision + recall (beta2 = 1.0; 0 -> 1);
 *          f = (1 + beta2) * precision * recall / denom */
static double f_score(double precision, double recall)
{
    double denom = 1.0 * precision + recall;
    if (denom == 0.)
        denom = 1;
    double two_p = 2.0 * precision;
    double num = two_p * recall;
    return num / denom;
}

static int cmp_type_ptr(const void *a, const void *b)
{
    const type_entry *x = *(const type_entry *const *)a, *y = *(const type_entry *const *)b;
    /* Python's str order is code-point order, which is UTF-8 byte order */
    return strcmp(x->name, y->name);
}

void medner__eval_report_free(medner__eval_report *report)
{
    if (report == NULL)
        return;
    medner__free(report->types); /* names live in the same block */
    medner__free(report);
}

int medner__eval_report_create(medner__eval_report **out, const medner__eval *ev)
{
    if (out == NULL || ev == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__eval_report_create: %s is NULL",
                            out == NULL ? "out" : "ev");
    size_t n = 0, names = 0;
    for (size_t k = 0; k < ev->num_types; k++) {
        const type_entry *t = &ev->types[k];
        if (t->gold + t->predicted > 0) {
            n++;
            names += t->len + 1;
        }
    }
    /* one block: the type rows, then their names; scratch for sorting and sums */
    size_t rows = n * sizeof(medner__eval_type);
    medner__eval_report *r = medner__calloc(1, sizeof *r);
    void *block = medner__malloc(rows + names + 1);
    const type_entry **sorted = medner__calloc(n + 1, sizeof *sorted);
    double *scratch = medner__calloc(3 * n + 1, sizeof *scratch);
    if (r == NULL || block == NULL || sorted == NULL || scratch == NULL) {
        medner__free(r);
        medner__free(block);
        medner__free(sorted);
        medner__free(scratch);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "out of memory making an evaluation report");
    }
    n = 0;
    for (size_t k = 0; k < ev->num_types; k++)
        if (ev->types[k].gold + ev->types[k].predicted > 0)
            sorted[n++] = &ev->types[k];
    qsort(sorted, n, sizeof *sorted, cmp_type_ptr);

    medner__eval_type *types = block;
    char *name = (char *)block + rows;
    double *p = scratch, *rc = scratch + n, *f = scratch + 2 * n;
    for (size_t k = 0; k < n; k++) {
        const type_entry *t = sorted[k];
        medner__eval_type *row = &types[k];
        memcpy(name, t->name, t->len + 1);
        row->name = name;
        name += t->len + 1;
        row->gold = t->gold;
        row->predicted = t->predicted;
        row->correct = t->correct;
        row->scores.precision = p[k] = prf_divide(t->correct, t->predicted);
        row->scores.recall = rc[k] = prf_divide(t->correct, t->gold);
        row->scores.f1 = f[k] = f_score(p[k], rc[k]);
        row->scores.support = t->gold;
        r->gold += t->gold;
        r->predicted += t->predicted;
        r->correct += t->correct;
    }
    r->num_types = n;
    r->types = types;

    /* micro: the scores of the summed counts (np.average of one value is
     * that value: (0.0 + x) / 1) */
    r->micro.precision = prf_divide(r->correct, r->predicted);
    r->micro.recall = prf_divide(r->correct, r->gold);
    r->micro.f1 = f_score(r->micro.precision, r->micro.recall);
    r->micro.support = r->gold;

    /* macro: np.mean of the per-type scores (NaN for no types) */
    if (n == 0) {
        r->macro.precision = r->macro.recall = r->macro.f1 = NAN;
    } else {
        r->macro.precision = np_sum(p, n) / (double)n;
        r->macro.recall = np_sum(rc, n) / (double)n;
        r->macro.f1 = np_sum(f, n) / (double)n;
    }
    r->macro.support = r->gold;

    /* weighted: np.average(x, weights=support) = np.sum(x * w) / np.sum(w),
     * or all 0 when the weights sum to 0 (zero_division="warn") */
    r->weighted.support = r->gold;
    if (r->gold > 0) {
        double *w = scratch; /* reuse: p, rc, f are consumed one at a time */
        double scl = (double)r->gold; /* a sum of integers below 2^53 is exact */
        double out3[3];
        for (int m = 0; m < 3; m++) {
            for (size_t k = 0; k < n; k++) {
                const medner__eval_scores *s = &types[k].scores;
                double x = m == 0 ? s->precision : m == 1 ? s->recall : s->f1;
                w[k] = x * (double)types[k].gold;
            }
            out3[m] = np_sum(w, n) / scl;
        }
        r->weighted.precision = out3[0];
        r->weighted.recall = out3[1];
        r->weighted.f1 = out3[2];
    }
    r->num_sentences = ev->num_sentences;
    r->num_tokens = ev->num_tokens;
    if (n == 0) {
        medner__free(block);
        r->types = NULL;
    }
    medner__free(sorted);
    medner__free(scratch);
    *out = r;
    return MEDNER_OK;
}
