/*
 * Text -> tokens: literal special tokens, BERT normalisation and
 * pre-tokenisation fused in one pass over the input (each normalised
 * character remembers the input bytes it came from), WordPiece per word, then
 * windows with [CLS]/[SEP]. Memory is proportional to the number of tokens;
 * a word longer than max_input_chars_per_word is not buffered (it becomes one
 * [UNK] whatever its length).
 */
#include <string.h>

#include "tokenizer/tokenizer.h"

/* Whole-text token stream, before windows and special tokens. */
typedef struct stream {
    int32_t *ids;
    int32_t *words;
    size_t *begin, *end;
    size_t n, cap;
    /* current word: normalised UTF-8 bytes and, per character, its byte
     * position and the input range it came from */
    char *wbytes;
    size_t wlen, wbytes_cap;
    size_t *wpos, *wb, *we;
    size_t wchars, wcap;
    size_t w_first_b, w_last_e; /* span of the current word in the input */
    int32_t next_word;
    int oom;
} stream;

static void stream_free(stream *s)
{
    medner__free(s->ids);
    medner__free(s->words);
    medner__free(s->begin);
    medner__free(s->end);
    medner__free(s->wbytes);
    medner__free(s->wpos);
    medner__free(s->wb);
    medner__free(s->we);
}

/* Resize *p to n elements of `elem` bytes; -1 on overflow or no memory. */
static int grow(void **p, size_t elem, size_t n)
{
    size_t bytes;
    if (medner__mul_size(n, elem, &bytes) != 0)
        return -1;
    void *q = medner__realloc(*p, bytes);
    if (q == NULL)
        return -1;
    *p = q;
    return 0;
}

static int push_token(stream *s, int32_t id, int32_t word, size_t b, size_t e)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        if (grow((void **)&s->ids, sizeof *s->ids, nc) ||
            grow((void **)&s->words, sizeof *s->words, nc) ||
            grow((void **)&s->begin, sizeof *s->begin, nc) ||
            grow((void **)&s->end, sizeof *s->end, nc)) {
            s->oom = 1;
            return -1;
        }
        s->cap = nc;
    }
    s->ids[s->n] = id;
    s->words[s->n] = word;
    s->begin[s->n] = b;
    s->end[s->n] = e;
    s->n++;
    return 0;
}

/* Append one normalised character (code point `c`, from input [b, e)) to the
 * current word. Past max_chars the characters are only counted. */
static void word_add(stream *s, const medner_tokenizer *t, uint32_t c, size_t b, size_t e)
{
    if (s->wchars == 0)
        s->w_first_b = b;
    s->w_last_e = e;
    if (s->wchars++ >= t->max_chars_per_word)
        return;
    if (s->wchars > s->wcap) {
        size_t nc = s->wcap ? s->wcap * 2 : 64;
        if (grow((void **)&s->wpos, sizeof *s->wpos, nc + 1) ||
            grow((void **)&s->wb, sizeof *s->wb, nc) ||
            grow((void **)&s->we, sizeof *s->we, nc)) {
            s->oom = 1;
            return;
        }
        s->wcap = nc;
    }
    if (s->wlen + 4 > s->wbytes_cap) {
        size_t nc = s->wbytes_cap ? s->wbytes_cap * 2 : 256;
        if (grow((void **)&s->wbytes, 1, nc)) {
            s->oom = 1;
            return;
        }
        s->wbytes_cap = nc;
    }
    size_t k = s->wchars - 1;
    s->wpos[k] = s->wlen;
    s->wb[k] = b;
    s->we[k] = e;
    char *o = s->wbytes + s->wlen;
    if (c < 0x80) {
        o[0] = (char)c;
        s->wlen += 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        s->wlen += 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        s->wlen += 3;
    } else {
        o[0] = (char)(0xF0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (char)(0x80 | (c & 0x3F));
        s->wlen += 4;
    }
    s->wpos[k + 1] = s->wlen;
}

/* WordPiece on the current word (greedy longest match first). */
static void word_flush(stream *s, const medner_tokenizer *t)
{
    if (s->wchars == 0 || s->oom)
        goto reset;
    int32_t word = s->next_word++;
    int32_t unk = t->special_id[1];
    if (s->wchars > t->max_chars_per_word) {
        push_token(s, unk, word, s->w_first_b, s->w_last_e);
        goto reset;
    }
    size_t n = s->wchars, mark = s->n, start = 0;
    const medner__vocab *v = &t->vocab;
    while (start < n) {
        if (start > 0 && t->prefix_len > v->max_len)
            break;
        /* A candidate longer (in bytes, with the prefix) than the longest
         * vocabulary entry cannot match, so the longest one tried ends at
         * the last character within that budget: Hugging Face's greedy
         * result, at a cost bounded by the vocabulary, not the word. The
         * end is found scanning forward from start (a scan back from the
         * word's end made a long word with a large
         * max_input_chars_per_word quadratic). */
        size_t budget = v->max_len - (start > 0 ? t->prefix_len : 0);
        size_t end = start;
        while (end < n && s->wpos[end + 1] - s->wpos[start] <= budget)
            end++;
        int32_t id = -1;
        for (; end > start; end--) {
            const char *sub = s->wbytes + s->wpos[start];
            size_t sublen = s->wpos[end] - s->wpos[start];
            id = start == 0 ? medner__vocab_find(v, sub, sublen)
                            : medner__vocab_find2(v, t->prefix, t->prefix_len, sub, sublen);
            if (id >= 0)
                break;
        }
        if (id < 0)
            break;
        if (push_token(s, id, word, s->wb[start], s->we[end - 1]))
            goto reset;
        start = end;
    }
    if (start < n) { /* some position matched nothing: the whole word is [UNK] */
        s->n = mark;
        push_token(s, unk, word, s->w_first_b, s->w_last_e);
    }
reset:
    s->wchars = 0;
    s->wlen = 0;
}

/* Longest literal special token starting at text[i], or -1. */
static ptrdiff_t match_added(const medner_tokenizer *t, const char *text, size_t len, size_t i,
                             size_t *mlen)
{
    for (size_t k = 0; k < t->n_added; k++) { /* sorted longest first */
        size_t l = t->added_len[k];
        if (l <= len - i && memcmp(text + i, t->added[k], l) == 0) {
            *mlen = l;
            return (ptrdiff_t)k;
        }
    }
    return -1;
}

static void tokenize_stream(stream *s, const medner_tokenizer *t, const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0;
    while (i < len && !s->oom) {
        unsigned char byte = u[i];
        if (t->added_first[byte]) {
            size_t mlen;
            ptrdiff_t k = match_added(t, text, len, i, &mlen);
            if (k >= 0) {
                word_flush(s, t);
                push_token(s, t->added_id[k], s->next_word++, i, i + mlen);
                i += mlen;
                continue;
            }
        }
        if (byte < 0x80) {
            switch (t->ascii_class[byte]) {
            case MEDNER__C_WORD:
                word_add(s, t, t->ascii_norm[byte], i, i + 1);
                break;
            case MEDNER__C_SPACE:
                word_flush(s, t);
                break;
            case MEDNER__C_PUNCT:
                word_flush(s, t);
                word_add(s, t, byte, i, i + 1);
                word_flush(s, t);
                break;
            default: /* deleted by clean_text */
                break;
            }
            i++;
            continue;
        }
        uint32_t c;
        size_t step = medner__utf8_decode(u, len, i, &c); /* validated by the caller */
        size_t b = i, e = i + step;
        i = e;
        if (t->chinese_chars && medner__is_cjk(c) &&
            !(t->clean_text && medner__is_bert_control(c))) {
            uint32_t out[8];
            size_t m = medner__normalize_char(t, c, out);
            word_flush(s, t);
            for (size_t k = 0; k < m; k++)
                word_add(s, t, out[k], b, e);
            word_flush(s, t);
            continue;
        }
        uint32_t out[8];
        size_t m = medner__normalize_char(t, c, out);
        for (size_t k = 0; k < m; k++) {
            uint32_t o = out[k];
            if (medner__is_bert_whitespace(o)) {
                word_flush(s, t);
            } else if (medner__is_bert_punctuation(o)) {
                word_flush(s, t);
                word_add(s, t, o, b, e);
                word_flush(s, t);
            } else {
                word_add(s, t, o, b, e);
            }
        }
    }
    word_flush(s, t);
}

/* ---- encodings ---------------------------------------------------------- */

typedef struct window_desc {
    size_t start, length, first_token;
} window_desc;

struct medner_encoding {
    size_t n_windows;
    window_desc *windows;
    size_t num_tokens;
    int32_t *ids, *type_ids, *word_ids;
    uint8_t *attention, *special;
    size_t *offsets;
};

void medner_encoding_free(medner_encoding *e)
{
    if (e == NULL)
        return;
    medner__free(e->windows);
    medner__free(e->ids);
    medner__free(e->type_ids);
    medner__free(e->word_ids);
    medner__free(e->attention);
    medner__free(e->special);
    medner__free(e->offsets);
    medner__free(e);
}

size_t medner_encoding_num_windows(const medner_encoding *e)
{
    return e ? e->n_windows : 0;
}

size_t medner_encoding_num_tokens(const medner_encoding *e)
{
    return e ? e->num_tokens : 0;
}

int medner_encoding_window(const medner_encoding *e, size_t index, medner_window *out)
{
    if (e == NULL || out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_encoding_window: NULL argument");
    if (index >= e->n_windows)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encoding_window: window %zu of %zu", index, e->n_windows);
    medner_window win = MEDNER_WINDOW_INIT, *out_ = out;
    out = &win; /* filled whole, then copied up to the caller's struct_size */
    const window_desc *w = &e->windows[index];
    out->length = w->length;
    out->ids = e->ids + w->start;
    out->type_ids = e->type_ids + w->start;
    out->attention_mask = e->attention + w->start;
    out->special_mask = e->special + w->start;
    out->word_ids = e->word_ids + w->start;
    out->offsets = e->offsets + 2 * w->start;
    out->first_token = w->first_token;
    return medner__struct_out(out_, &win, sizeof win, MEDNER__SIZE_V0_1_WINDOW,
                              "medner_encoding_window");
}

static int build_encoding(medner_encoding **out, const medner_tokenizer *t, const stream *s,
                          const medner_encode_params *p)
{
    int specials = p->special_tokens != MEDNER_OFF;
    size_t n_sp = specials ? 2 : 0;
    size_t n = s->n;
    size_t budget = n; /* tokens per window, without the special tokens */
    if (p->max_length != 0)
        budget = p->max_length - n_sp;
    size_t step = budget - p->overlap;
    size_t n_windows = 1;
    if (n > budget)
        n_windows = 1 + (n - budget + step - 1) / step;
    medner_encoding *e = medner__calloc(1, sizeof *e);
    size_t total = 0;
    if (e == NULL)
        goto oom;
    e->windows = medner__calloc(n_windows, sizeof *e->windows);
    if (e->windows == NULL)
        goto oom;
    for (size_t w = 0; w < n_windows; w++) {
        size_t first = w * step;
        size_t last = first + budget < n ? first + budget : n;
        e->windows[w].start = total;
        e->windows[w].first_token = first;
        e->windows[w].length = (last - first) + n_sp;
        total += e->windows[w].length;
    }
    size_t alloc = total ? total : 1;
    e->ids = medner__malloc(alloc * sizeof *e->ids);
    e->type_ids = medner__calloc(alloc, sizeof *e->type_ids);
    e->word_ids = medner__malloc(alloc * sizeof *e->word_ids);
    e->attention = medner__malloc(alloc);
    e->special = medner__calloc(alloc, 1);
    e->offsets = alloc <= SIZE_MAX / (2 * sizeof(size_t))
                     ? medner__malloc(2 * alloc * sizeof *e->offsets) : NULL;
    if (!e->ids || !e->type_ids || !e->word_ids || !e->attention || !e->special || !e->offsets)
        goto oom;
    memset(e->attention, 1, alloc);
    e->n_windows = n_windows;
    e->num_tokens = n;
    for (size_t w = 0; w < n_windows; w++) {
        size_t pos = e->windows[w].start;
        size_t first = e->windows[w].first_token;
        size_t count = e->windows[w].length - n_sp;
        if (specials) {
            e->ids[pos] = t->special_id[2];
            e->word_ids[pos] = -1;
            e->special[pos] = 1;
            e->offsets[2 * pos] = e->offsets[2 * pos + 1] = 0;
            pos++;
        }
        if (count > 0) { /* an empty text has no token arrays at all */
            memcpy(e->ids + pos, s->ids + first, count * sizeof *e->ids);
            memcpy(e->word_ids + pos, s->words + first, count * sizeof *e->word_ids);
        }
        for (size_t k = 0; k < count; k++) {
            e->offsets[2 * (pos + k)] = s->begin[first + k];
            e->offsets[2 * (pos + k) + 1] = s->end[first + k];
        }
        pos += count;
        if (specials) {
            e->ids[pos] = t->special_id[3];
            e->word_ids[pos] = -1;
            e->special[pos] = 1;
            e->offsets[2 * pos] = e->offsets[2 * pos + 1] = 0;
        }
    }
    *out = e;
    return MEDNER_OK;
oom:
    medner_encoding_free(e);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner_tokenizer_encode: out of memory");
}

static int check_encode_args(const medner_tokenizer *t, medner_encode_params *p,
                             const medner_encode_params *params)
{
    if (t == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_tokenizer_encode: tokenizer is NULL");
    medner_encode_params defaults = MEDNER_ENCODE_PARAMS_INIT;
    *p = defaults;
    int rc = medner__params_copy(p, sizeof *p, params, MEDNER__SIZE_V0_1_ENCODE_PARAMS,
                                 "medner_encode_params");
    if (rc != MEDNER_OK)
        return rc;
    if (p->reserved != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_encode_params: reserved must be 0");
    if ((unsigned)p->special_tokens > MEDNER_OFF)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encode_params: special_tokens must be a medner_switch");
    uint32_t n_sp = p->special_tokens == MEDNER_OFF ? 0 : 2;
    if (p->max_length != 0 && p->max_length <= n_sp)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encode_params: max_length %u leaves no room for text tokens "
                            "(need > %u)", p->max_length, n_sp);
    if (p->max_length == 0 && p->overlap != 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encode_params: overlap needs max_length");
    if (p->max_length != 0 && p->overlap >= p->max_length - n_sp)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_encode_params: overlap %u must be less than max_length %u "
                            "minus %u special tokens", p->overlap, p->max_length, n_sp);
    return MEDNER_OK;
}

#define MEDNER_MAX_TEXT ((size_t)1 << 40)

static int encode_one(medner_encoding **out, const medner_tokenizer *t, const char *text,
                      size_t len, const medner_encode_params *p, size_t index, int batch)
{
    if (text == NULL && len > 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_tokenizer_encode: text is NULL");
    if (len > MEDNER_MAX_TEXT)
        return medner__fail(MEDNER_E_LIMIT, "medner_tokenizer_encode: text of %zu bytes is above "
                            "the 2^40-byte limit", len);
    size_t bad;
    if (medner__utf8_check(text, len, &bad) != MEDNER_OK) {
        if (batch)
            return medner__fail(MEDNER_E_INVALID_UTF8, "text %zu: invalid UTF-8 at byte offset %zu",
                                index, bad);
        return medner__fail(MEDNER_E_INVALID_UTF8, "invalid UTF-8 at byte offset %zu", bad);
    }
    stream s;
    memset(&s, 0, sizeof s);
    tokenize_stream(&s, t, text ? text : "", len);
    int rc;
    if (s.oom)
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner_tokenizer_encode: out of memory");
    else
        rc = build_encoding(out, t, &s, p);
    stream_free(&s);
    return rc;
}

int medner_tokenizer_encode(medner_encoding **out, const medner_tokenizer *t, const char *text,
                            size_t len, const medner_encode_params *params)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_tokenizer_encode: out is NULL");
    medner_encode_params p;
    int rc = check_encode_args(t, &p, params);
    if (rc != MEDNER_OK)
        return rc;
    return encode_one(out, t, text, len, &p, 0, 0);
}

int medner_tokenizer_encode_batch(medner_encoding **out, const medner_tokenizer *t,
                                  const char *const *texts, const size_t *lens, size_t n,
                                  const medner_encode_params *params)
{
    if (n > 0 && (out == NULL || texts == NULL || lens == NULL))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_tokenizer_encode_batch: NULL array with n > 0");
    medner_encode_params p;
    int rc = check_encode_args(t, &p, params);
    if (rc != MEDNER_OK)
        return rc;
    medner_encoding **tmp = medner__calloc(n ? n : 1, sizeof *tmp);
    if (tmp == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner_tokenizer_encode_batch: out of memory");
    for (size_t k = 0; k < n && rc == MEDNER_OK; k++)
        rc = encode_one(&tmp[k], t, texts[k], lens[k], &p, k, 1);
    if (rc == MEDNER_OK && n > 0)
        memcpy(out, tmp, n * sizeof *tmp);
    else
        for (size_t k = 0; k < n; k++)
            medner_encoding_free(tmp[k]);
    medner__free(tmp);
    return rc;
}

/* Public structs grow only by appending; none may end in padding:
 * src/common/struct_sizes.h, docs/abi-policy.md. */
