/*
 * Training data (data.h): CoNLL and brat readers, BIO/BIOES, labels,
 * label_all_tokens=False alignment, seeded order.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <utf8proc.h>

#include "eval/eval.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"

#define MAX_FILE ((size_t)1 << 30)

/* ---- corpus building ------------------------------------------------------------------ */

typedef struct builder {
    medner__tcorpus *c;
    size_t cap_w, cap_s, cap_f;
} builder;

static int oom(const char *what)
{
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", what);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    void *q = medner__realloc(*p, n * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int add_word(builder *b, const char *w, size_t wl, const char *t, size_t tl, size_t line)
{
    medner__tcorpus *c = b->c;
    size_t cap = b->cap_w;
    size_t cw = cap, ct = cap, cl = cap;
    if (grow((void **)&c->words, &cw, c->n_words + 1, sizeof *c->words) ||
        grow((void **)&c->tags, &ct, c->n_words + 1, sizeof *c->tags) ||
        grow((void **)&c->lines, &cl, c->n_words + 1, sizeof *c->lines))
        return oom(c->path);
    b->cap_w = cw;
    char *ws = medner__strndup(w, wl), *ts = medner__strndup(t, tl);
    if (ws == NULL || ts == NULL) {
        medner__free(ws);
        medner__free(ts);
        return oom(c->path);
    }
    c->words[c->n_words] = ws;
    c->tags[c->n_words] = ts;
    c->lines[c->n_words] = line;
    c->n_words++;
    return MEDNER_OK;
}

/* Close the sentence begun at sent_start[n_sents] (nothing if empty). */
static int end_sentence(builder *b, const char *file)
{
    medner__tcorpus *c = b->c;
    if (c->n_words == c->sent_start[c->n_sents])
        return MEDNER_OK;
    size_t cs = b->cap_s, cf = b->cap_f;
    if (grow((void **)&c->sent_start, &cs, c->n_sents + 2, sizeof *c->sent_start))
        return oom(c->path);
    if (file != NULL || c->files != NULL) {
        if (grow((void **)&c->files, &cf, c->n_sents + 2, sizeof *c->files))
            return oom(c->path);
        c->files[c->n_sents] = (char *)file; /* owned: freed once by medner__tcorpus_free() */
        b->cap_f = cf;
    }
    b->cap_s = cs;
    c->n_sents++;
    c->sent_start[c->n_sents] = c->n_words;
    return MEDNER_OK;
}

void medner__tcorpus_free(medner__tcorpus *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_words; i++) {
        medner__free(c->words[i]);
        medner__free(c->tags[i]);
    }
    medner__free(c->words);
    medner__free(c->tags);
    medner__free(c->lines);
    medner__free(c->sent_start);
    /* files: the strings are kept in the path list at the end of the array */
    if (c->files != NULL && c->n_sents > 0) {
        char *last = NULL;
        for (size_t s = 0; s < c->n_sents; s++)
            if (c->files[s] != last) {
                last = c->files[s];
                medner__free(last);
            }
    }
    medner__free(c->files);
    medner__free(c->path);
    medner__free(c);
}

static int new_corpus(builder *b, const char *path)
{
    medner__tcorpus *c = medner__calloc(1, sizeof *c);
    if (c == NULL)
        return oom(path);
    c->path = medner__strndup(path, strlen(path));
    b->cap_s = 256;
    c->sent_start = medner__calloc(b->cap_s, sizeof *c->sent_start);
    b->c = c;
    b->cap_w = 0;
    b->cap_f = 0;
    if (c->path == NULL || c->sent_start == NULL) {
        medner__tcorpus_free(c);
        return oom(path);
    }
    return MEDNER_OK;
}

/* ---- CoNLL ---------------------------------------------------------------------------------- */

static int read_conll(builder *b, const char *path)
{
    medner__conll *f = NULL;
    int rc = medner__conll_read(&f, path);
    if (rc != MEDNER_OK)
        return rc;
    for (size_t s = 0; s < f->num_sentences && rc == MEDNER_OK; s++) {
        size_t i0 = f->sentence_start[s], i1 = f->sentence_start[s + 1];
        if (strcmp(f->tokens[i0], "-DOCSTART-") == 0) {
            b->c->n_skipped_docstart++;
            continue;
        }
        for (size_t i = i0; i < i1 && rc == MEDNER_OK; i++)
            rc = add_word(b, f->tokens[i], strlen(f->tokens[i]), f->tags[i], strlen(f->tags[i]),
                          f->lines[i]);
        if (rc == MEDNER_OK)
            rc = end_sentence(b, NULL);
    }
    medner__conll_free(f);
    return rc;
}

/* ---- brat ----------------------------------------------------------------------------------- */

typedef struct span {
    size_t begin, end; /* code points */
    char *type;
    size_t line;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t lx = x->end - x->begin, ly = y->end - y->begin;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int parse_size(const char **p, const char *end, size_t *out)
{
    const char *s = *p;
    size_t v = 0, n = 0;
    while (s < end && *s >= '0' && *s <= '9' && n < 18) {
        v = v * 10 + (size_t)(*s - '0');
        s++;
        n++;
    }
    if (n == 0)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* The T lines of an .ann file; other lines (E, R, A, N, #, M) are ignored. */
static int read_ann(const char *path, size_t n_cps, span **out, size_t *n_out, size_t *n_discont)
{
    char *text = NULL;
    size_t len = 0;
    int rc = medner__read_file(path, MAX_FILE, &text, &len);
    if (rc != MEDNER_OK)
        return rc;
    span *sp = NULL;
    size_t n = 0, cap = 0, line = 0;
    for (const char *p = text; p < text + len && rc == MEDNER_OK;) {
        const char *e = memchr(p, '\n', (size_t)(text + len - p));
        if (e == NULL)
            e = text + len;
        line++;
        const char *q = p, *le = e;
        if (le > q && le[-1] == '\r')
            le--;
        p = e + 1;
        if (q == le || *q != 'T')
            continue;
        const char *tab = memchr(q, '\t', (size_t)(le - q));
        if (tab == NULL) {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: expected Tn<TAB>Type start end<TAB>text",
                              path, line);
            break;
        }
        const char *t0 = tab + 1, *t1 = t0;
        while (t1 < le && *t1 != ' ' && *t1 != '\t')
            t1++;
        if (t1 == t0 || t1 >= le || *t1 != ' ') {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: expected an entity type and offsets after "
                              "the annotation id", path, line);
            break;
        }
        /* The type becomes a label (config.json, tags): no NUL or other control
         * byte (a NUL would cut it to nothing), valid UTF-8. */
        size_t bad_at = 0;
        for (const char *c = t0; c < t1 && bad_at == 0; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                bad_at = (size_t)(c - t0) + 1;
        if (bad_at != 0 || medner__utf8_check(t0, (size_t)(t1 - t0), &bad_at) != 0) {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: the entity type has a control byte or "
                              "invalid UTF-8 (expected a printable name)", path, line);
            break;
        }
        const char *o = t1 + 1;
        size_t b0, e0;
        if (parse_size(&o, le, &b0) || o >= le || *o != ' ' || (o++, parse_size(&o, le, &e0))) {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: expected \"start end\" character offsets",
                              path, line);
            break;
        }
        if (o < le && *o == ';') {
            (*n_discont)++;
            continue;
        }
        if (o < le && *o != '\t') {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: expected a TAB after the offsets", path, line);
            break;
        }
        if (b0 >= e0 || e0 > n_cps) {
            rc = medner__fail(MEDNER_E_PARSE, "%s:%zu: span [%zu, %zu) is empty or outside the "
                              "text (%zu characters)", path, line, b0, e0, n_cps);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            span *g = medner__realloc(sp, nc * sizeof *g);
            if (g == NULL) {
                rc = oom(path);
                break;
            }
            sp = g;
            cap = nc;
        }
        sp[n].begin = b0;
        sp[n].end = e0;
        sp[n].line = line;
        sp[n].type = medner__strndup(t0, (size_t)(t1 - t0));
        if (sp[n].type == NULL) {
            rc = oom(path);
            break;
        }
        n++;
    }
    medner__free(text);
    if (rc != MEDNER_OK) {
        for (size_t i = 0; i < n; i++)
            medner__free(sp[i].type);
        medner__free(sp);
        return rc;
    }
    *out = sp;
    *n_out = n;
    return MEDNER_OK;
}

/* A word by itself: punctuation (BERT's rule: Unicode P* and ASCII
 * punctuation), symbols (Unicode S*: degree sign, registered sign, minus
 * sign, ...) and CJK characters, as ../shared/data/maccrobat made its CoNLL
 * files (docs/training.md: the brat reader reproduces them byte for byte). */
static int is_single(uint32_t c)
{
    if (medner__is_bert_punctuation(c) || medner__is_cjk(c))
        return 1;
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_SM || k == UTF8PROC_CATEGORY_SC || k == UTF8PROC_CATEGORY_SK ||
           k == UTF8PROC_CATEGORY_SO;
}

static int is_separator(uint32_t c)
{
    return medner__is_bert_whitespace(c) || medner__is_bert_control(c) || c == 0x200B ||
           c == 0xFEFF || c == 0x2060;
}

static int read_brat_doc(builder *b, const char *ann_path)
{
    size_t al = strlen(ann_path);
    char *txt_path = medner__malloc(al + 1);
    if (txt_path == NULL)
        return oom(ann_path);
    memcpy(txt_path, ann_path, al - 4);
    memcpy(txt_path + al - 4, ".txt", 5);
    char *text = NULL;
    size_t len = 0;
    int rc = medner__read_file(txt_path, MAX_FILE, &text, &len);
    if (rc != MEDNER_OK) {
        medner__free(txt_path);
        return rc;
    }
    size_t bad;
    if (medner__utf8_check(text, len, &bad) != 0) {
        rc = medner__fail(MEDNER_E_INVALID_UTF8, "%s: invalid UTF-8 at byte offset %zu", txt_path,
                          bad);
        medner__free(text);
        medner__free(txt_path);
        return rc;
    }
    /* code point index of every byte start */
    size_t n_cps = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += medner__utf8_decode((const unsigned char *)text, len, i, &cp);
        n_cps++;
    }
    span *sp = NULL;
    size_t n_sp = 0;
    rc = read_ann(ann_path, n_cps, &sp, &n_sp, &b->c->n_brat_discontinuous);
    unsigned char *taken = NULL;
    size_t *ent = NULL; /* per code point: 1 + chosen span index, 0 = none */
    if (rc == MEDNER_OK) {
        if (n_sp > 1)
            qsort(sp, n_sp, sizeof *sp, span_cmp);
        taken = medner__calloc(n_cps + 1, 1);
        ent = medner__calloc(n_cps + 1, sizeof *ent);
        if (taken == NULL || ent == NULL)
            rc = oom(ann_path);
    }
    for (size_t k = 0; k < n_sp && rc == MEDNER_OK; k++) {
        int overlap = 0;
        for (size_t i = sp[k].begin; i < sp[k].end && !overlap; i++)
            overlap = taken[i];
        if (overlap) {
            b->c->n_brat_overlapping++;
            continue;
        }
        for (size_t i = sp[k].begin; i < sp[k].end; i++) {
            taken[i] = 1;
            ent[i] = k + 1;
        }
    }
    /* words of each line */
    size_t cpi = 0, line = 1, prev_ent = 0;
    size_t wb = 0, wcp = 0, wstart_cp = 0;
    int in_word = 0;
    char tag[256];
    for (size_t i = 0; i <= len && rc == MEDNER_OK;) {
        uint32_t cp = '\n';
        size_t step = 1;
        if (i < len)
            step = medner__utf8_decode((const unsigned char *)text, len, i, &cp);
        int sep = i == len || cp == '\n' || is_separator(cp);
        int punct = !sep && is_single(cp);
        if (in_word && (sep || punct)) {
            /* the word [wb, i) covering code points [wstart_cp, cpi) */
            size_t e = 0;
            for (size_t c2 = wstart_cp; c2 < cpi && e == 0; c2++)
                e = ent[c2];
            if (e == 0)
                snprintf(tag, sizeof tag, "O");
            else
                snprintf(tag, sizeof tag, "%s-%.200s", e == prev_ent ? "I" : "B", sp[e - 1].type);
            prev_ent = e;
            rc = add_word(b, text + wb, i - wb, tag, strlen(tag), line);
            in_word = 0;
            if (rc != MEDNER_OK)
                break;
        }
        (void)wcp;
        if (i == len || cp == '\n') {
            rc = end_sentence(b, txt_path);
            prev_ent = 0;
            line++;
        } else if (punct) {
            size_t e = ent[cpi];
            if (e == 0)
                snprintf(tag, sizeof tag, "O");
            else
                snprintf(tag, sizeof tag, "%s-%.200s", e == prev_ent ? "I" : "B", sp[e - 1].type);
            prev_ent = e;
            rc = add_word(b, text + i, step, tag, strlen(tag), line);
        } else if (!sep && !in_word) {
            in_word = 1;
            wb = i;
            wstart_cp = cpi;
        }
        i += step;
        cpi++;
        if (i > len)
            break;
    }
    for (size_t k = 0; k < n_sp; k++)
        medner__free(sp[k].type);
    medner__free(sp);
    medner__free(taken);
    medner__free(ent);
    medner__free(text);
    /* txt_path is now owned by the sentences that name it (freed with the corpus), or
     * freed here when the document had no sentence */
    if (b->c->files == NULL || b->c->n_sents == 0 || b->c->files[b->c->n_sents - 1] != txt_path)
        medner__free(txt_path);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_brat_dir(builder *b, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return medner__fail(MEDNER_E_IO, "%s: cannot open the directory", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = MEDNER_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && rc == MEDNER_OK) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".ann") != 0)
            continue;
        if (grow((void **)&names, &cap, n + 1, sizeof *names) ||
            (names[n] = medner__path_join(dir, e->d_name)) == NULL)
            rc = oom(dir);
        else
            n++;
    }
    closedir(d);
    if (rc == MEDNER_OK && n == 0)
        rc = medner__fail(MEDNER_E_IO, "%s: no brat .ann files in the directory", dir);
    if (rc == MEDNER_OK)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n && rc == MEDNER_OK; i++)
        rc = read_brat_doc(b, names[i]);
    for (size_t i = 0; i < n; i++)
        medner__free(names[i]);
    medner__free(names);
    return rc;
}

int medner__tcorpus_read(medner__tcorpus **out, const char *path)
{
    if (out == NULL || path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__tcorpus_read: NULL argument");
    builder b;
    int rc = new_corpus(&b, path);
    if (rc != MEDNER_OK)
        return rc;
    struct stat st;
    size_t l = strlen(path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = read_brat_dir(&b, path);
    else if (l > 4 && strcmp(path + l - 4, ".ann") == 0)
        rc = read_brat_doc(&b, path);
    else
        rc = read_conll(&b, path);
    if (rc != MEDNER_OK) {
        medner__tcorpus_free(b.c);
        return rc;
    }
    *out = b.c;
    return MEDNER_OK;
}

/* ---- schemes --------------------------------------------------------------------------------- */

static char prefix_of(const char *tag)
{
    if (strcmp(tag, "O") == 0 || tag[0] == '\0' || tag[1] != '-')
        return 'O';
    char p = tag[0];
    return p == 'L' ? 'E' : p == 'U' ? 'S' : p;
}

int medner__tcorpus_convert(medner__tcorpus *c, medner__tscheme scheme)
{
    /* new prefixes computed from the original tags first, then written */
    char *np = medner__malloc(c->n_words ? c->n_words : 1);
    if (np == NULL)
        return oom(c->path);
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t i0 = c->sent_start[s], i1 = c->sent_start[s + 1];
        for (size_t i = i0; i < i1; i++) {
            char p = prefix_of(c->tags[i]);
            np[i] = 0;
            if (p == 'O')
                continue;
            const char *type = c->tags[i] + 2;
            /* does this tag continue an entity of the same type (the previous tag
             * is B or I of that type: E and S end theirs)? */
            int cont = 0;
            if ((p == 'I' || p == 'E') && i > i0) {
                char q = prefix_of(c->tags[i - 1]);
                cont = (q == 'B' || q == 'I') && strcmp(c->tags[i - 1] + 2, type) == 0;
            }
            /* is it continued? */
            int next = 0;
            if (p != 'E' && p != 'S' && i + 1 < i1) {
                char q = prefix_of(c->tags[i + 1]);
                next = (q == 'I' || q == 'E') && strcmp(c->tags[i + 1] + 2, type) == 0;
            }
            if (scheme == MEDNER__TSCHEME_BIO)
                np[i] = cont ? 'I' : 'B';
            else
                np[i] = cont ? (next ? 'I' : 'E') : (next ? 'B' : 'S');
        }
    }
    for (size_t i = 0; i < c->n_words; i++)
        if (np[i])
            c->tags[i][0] = np[i];
    medner__free(np);
    return MEDNER_OK;
}

/* Is the type of tag (after "P-") one of the names in the list? */
static int type_listed(const char *types, const char *type, size_t tl)
{
    for (const char *p = types; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *q = p;
        while (*q && *q != ',')
            q++;
        const char *e = q;
        while (e > p && e[-1] == ' ')
            e--;
        if ((size_t)(e - p) == tl && memcmp(p, type, tl) == 0)
            return 1;
        p = q;
    }
    return 0;
}

int medner__tcorpus_keep_types(medner__tcorpus *c, const char *types, const char **missing,
                               size_t *missing_len)
{
    int any = 0;
    for (const char *p = types; *p; p++)
        any |= *p != ',' && *p != ' ';
    if (!any)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "types: an empty list");
    for (size_t i = 0; i < c->n_words; i++) {
        char *t = c->tags[i];
        if (prefix_of(t) == 'O' && strcmp(t, "O") == 0)
            continue;
        if (!type_listed(types, t + 2, strlen(t + 2)))
            memcpy(t, "O", 2);
    }
    if (missing != NULL) {
        *missing = NULL;
        for (const char *p = types; *p && *missing == NULL;) {
            while (*p == ' ' || *p == ',')
                p++;
            const char *q = p;
            while (*q && *q != ',')
                q++;
            const char *e = q;
            while (e > p && e[-1] == ' ')
                e--;
            int found = e == p;
            for (size_t i = 0; i < c->n_words && !found; i++)
                found = strcmp(c->tags[i], "O") != 0 && strlen(c->tags[i] + 2) == (size_t)(e - p) &&
                        memcmp(c->tags[i] + 2, p, (size_t)(e - p)) == 0;
            if (!found) {
                *missing = p;
                *missing_len = (size_t)(e - p);
            }
            p = q;
        }
    }
    return MEDNER_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int medner__tcorpus_labels(const medner__tcorpus *c, char ***labels, size_t *n)
{
    const char **all = medner__malloc((c->n_words ? c->n_words : 1) * sizeof *all);
    if (all == NULL)
        return oom(c->path);
    for (size_t i = 0; i < c->n_words; i++)
        all[i] = c->tags[i];
    qsort(all, c->n_words, sizeof *all, str_cmp);
    size_t k = 0;
    for (size_t i = 0; i < c->n_words; i++)
        if (k == 0 || strcmp(all[k - 1], all[i]) != 0)
            all[k++] = all[i];
    char **out = medner__calloc(k ? k : 1, sizeof *out);
    int rc = out ? MEDNER_OK : oom(c->path);
    for (size_t i = 0; i < k && rc == MEDNER_OK; i++)
        if ((out[i] = medner__strndup(all[i], strlen(all[i]))) == NULL)
            rc = oom(c->path);
    medner__free(all);
    if (rc != MEDNER_OK) {
        medner__labels_free(out, k);
        return rc;
    }
    *labels = out;
    *n = k;
    return MEDNER_OK;
}

/* ---- tokenisation ---------------------------------------------------------------------------- */

void medner__tdata_free(medner__tdata *d)
{
    if (d == NULL)
        return;
    medner__free(d->start);
    medner__free(d->lens);
    medner__free(d->ids);
    medner__free(d->labels);
    medner__free(d->gold);
    medner__free(d->unknown);
    medner__free(d);
}

static long find_label(const char *const *labels, size_t n, const char *tag)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(labels[mid], tag);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* the labels of a model need not be sorted */
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i], tag) == 0)
            return (long)i;
    return -1;
}

static int note_unknown(medner__tdata *d, const char *tag)
{
    d->n_unknown++;
    size_t tl = strlen(tag);
    if (d->unknown != NULL) {
        /* already listed? */
        for (const char *p = d->unknown; (p = strstr(p, tag)) != NULL; p += tl)
            if ((p == d->unknown || p[-1] == ' ') && (p[tl] == ',' || p[tl] == '\0'))
                return MEDNER_OK;
    }
    size_t ol = d->unknown ? strlen(d->unknown) : 0;
    if (ol > 4000)
        return MEDNER_OK; /* enough to tell */
    char *u = medner__realloc(d->unknown, ol + tl + 3);
    if (u == NULL)
        return oom("labels");
    if (ol)
        memcpy(u + ol, ", ", 2), ol += 2;
    memcpy(u + ol, tag, tl + 1);
    d->unknown = u;
    return MEDNER_OK;
}

int medner__tdata_build(medner__tdata **out, const medner__tcorpus *c, const medner_tokenizer *tok,
                        const char *const *labels, size_t n_labels, size_t max_length,
                        int unknown_is_error)
{
    if (out == NULL || c == NULL || tok == NULL || (labels == NULL && n_labels > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__tdata_build: NULL argument");
    if (max_length < 3)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "max_length %zu: must be at least 3 ([CLS], one token, [SEP])",
                            max_length);
    medner__tdata *d = medner__calloc(1, sizeof *d);
    if (d == NULL)
        return oom(c->path);
    size_t cap = 0, cap_t = 0, cap_l = 0, cap_g = 0;
    int rc = MEDNER_OK;
    d->start = medner__calloc(c->n_sents + 1, sizeof *d->start);
    d->lens = medner__calloc(c->n_sents ? c->n_sents : 1, sizeof *d->lens);
    medner__buf line = { 0 };
    size_t *wstart = NULL, cap_ws = 0;
    if (d->start == NULL || d->lens == NULL)
        rc = oom(c->path);
    int32_t cls = medner_tokenizer_special_id(tok, MEDNER_TOKEN_CLS);
    int32_t sep = medner_tokenizer_special_id(tok, MEDNER_TOKEN_SEP);
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    ep.special_tokens = MEDNER_OFF;
    for (size_t s = 0; s < c->n_sents && rc == MEDNER_OK; s++) {
        size_t i0 = c->sent_start[s], i1 = c->sent_start[s + 1], nw = i1 - i0;
        /* the words joined by spaces: each is pre-tokenised on its own (is_split_into_words) */
        medner__buf_reset(&line);
        if (grow((void **)&wstart, &cap_ws, nw + 1, sizeof *wstart)) {
            rc = oom(c->path);
            break;
        }
        for (size_t i = i0; i < i1 && rc == MEDNER_OK; i++) {
            wstart[i - i0] = line.len;
            if (medner__buf_append_str(&line, c->words[i]) || medner__buf_putc(&line, ' '))
                rc = oom(c->path);
        }
        if (rc != MEDNER_OK)
            break;
        wstart[nw] = line.len;
        medner_encoding *enc = NULL;
        rc = medner_tokenizer_encode(&enc, tok, line.data, line.len, &ep);
        if (rc != MEDNER_OK) {
            rc = medner__fail(rc, "%s:%zu: %s", c->files ? c->files[s] : c->path, c->lines[i0],
                              medner_last_error());
            break;
        }
        medner_window w = MEDNER_WINDOW_INIT;
        medner_encoding_window(enc, 0, &w);
        size_t keep = w.length, room = max_length - 2;
        if (keep > room) {
            keep = room;
            d->n_truncated++;
        }
        size_t T = d->n_tokens, L = keep + 2;
        size_t c1 = cap, c2 = cap;
        if (grow((void **)&d->ids, &c1, T + L, sizeof *d->ids) ||
            grow((void **)&d->labels, &c2, T + L, sizeof *d->labels) ||
            grow((void **)&d->gold, &cap_g, T + L, sizeof *d->gold)) {
            medner_encoding_free(enc);
            rc = oom(c->path);
            break;
        }
        cap = c1;
        (void)cap_t;
        (void)cap_l;
        d->ids[T] = cls;
        d->labels[T] = MEDNER__TDATA_IGNORE;
        d->gold[T] = NULL;
        size_t word = 0, seen = 0; /* words whose first piece was kept */
        for (size_t k = 0; k < keep; k++) {
            size_t r = T + 1 + k, b = w.offsets[2 * k];
            d->ids[r] = w.ids[k];
            d->labels[r] = MEDNER__TDATA_IGNORE;
            d->gold[r] = NULL;
            int first = 0;
            while (word < nw && b >= wstart[word + 1]) {
                word++;
                first = 1;
            }
            if (k == 0 || first) {
                /* the first piece of word `word` (earlier words without pieces are dropped) */
                const char *tag = c->tags[i0 + word];
                long li = find_label(labels, n_labels, tag);
                if (li < 0) {
                    if (unknown_is_error) {
                        rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                          "%s:%zu: label \"%.100s\" is not in the training labels",
                                          c->files ? c->files[s] : c->path, c->lines[i0 + word],
                                          tag);
                        break;
                    }
                    rc = note_unknown(d, tag);
                    if (rc != MEDNER_OK)
                        break;
                } else {
                    d->labels[r] = (int32_t)li;
                    d->n_labelled++;
                }
                d->gold[r] = tag;
                seen++;
            }
        }
        (void)room;
        medner_encoding_free(enc);
        if (rc != MEDNER_OK)
            break;
        d->n_words_dropped += nw - seen;
        d->ids[T + L - 1] = sep;
        d->labels[T + L - 1] = MEDNER__TDATA_IGNORE;
        d->gold[T + L - 1] = NULL;
        d->n_tokens += L;
        d->lens[d->n_seqs] = L;
        d->n_seqs++;
        d->start[d->n_seqs] = d->n_tokens;
    }
    medner__buf_free(&line);
    medner__free(wstart);
    if (rc != MEDNER_OK) {
        medner__tdata_free(d);
        return rc;
    }
    *out = d;
    return MEDNER_OK;
}

/* ---- order ---------------------------------------------------------------------------------- */

uint64_t medner__splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void medner__tdata_order(size_t *order, size_t n, uint64_t seed, uint64_t epoch, int shuffle)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (!shuffle || n < 2)
        return;
    uint64_t st = seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15ull);
    for (size_t i = n - 1; i > 0; i--) {
        /* unbiased draw in [0, i] by rejection */
        uint64_t bound = (uint64_t)i + 1, lim = UINT64_MAX - UINT64_MAX % bound, r;
        do
            r = medner__splitmix64(&st);
        while (r >= lim);
        size_t j = (size_t)(r % bound);
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}
