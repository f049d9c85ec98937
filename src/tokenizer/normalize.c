/*
 * Character classes and per-character normalisation of Hugging Face's
 * BertNormalizer and BertPreTokenizer (see docs/tokenizer.md). Unicode data
 * comes from utf8proc; ASCII goes through a small table on the hot path.
 */
#include <utf8proc.h>

#include "tokenizer/tokenizer.h"

enum { MEDNER__HF_LETTER, MEDNER__HF_DELETE, MEDNER__HF_PUNCT, MEDNER__HF_MARK, MEDNER__HF_SPACE };
#include "tokenizer/hf_unicode.h"

/* The entry of a non-ASCII code point where Hugging Face's Unicode tables
 * (older for classes, newer for lowercase) disagree with utf8proc's, or NULL
 * (see tests/reference/make_unicode_compat.py). */
static const struct medner__hf_cp *hf_entry(uint32_t c)
{
    size_t lo = 0, hi = MEDNER_ARRAY_LEN(medner__hf_unicode);
    if (c < medner__hf_unicode[0].cp)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (medner__hf_unicode[mid].cp < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < MEDNER_ARRAY_LEN(medner__hf_unicode) && medner__hf_unicode[lo].cp == c
               ? &medner__hf_unicode[lo] : NULL;
}

/* Hugging Face's class of c where it differs from utf8proc's, or -1. */
static int hf_override(uint32_t c)
{
    const struct medner__hf_cp *e = hf_entry(c);
    return e ? e->cls : -1;
}

static bool is_nonspacing_mark(uint32_t c)
{
    int o = hf_override(c);
    if (o >= 0)
        return o == MEDNER__HF_MARK;
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN;
}

bool medner__is_bert_whitespace(uint32_t c)
{
    /* Rust char::is_whitespace (the White_Space property): the Z* separators
     * plus the C0/C1 controls 9-13 and 0x85. */
    if (c == ' ' || (c >= 9 && c <= 13) || c == 0x85)
        return true;
    if (c < 0x80)
        return false;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

bool medner__is_bert_control(uint32_t c)
{
    /* Categories Cc, Cf, Co and Cs, except \t \n \r. Unassigned code points
     * (Cn) are kept, as Hugging Face keeps them (verified on U+0378, U+FFFF,
     * U+1FFFF, U+FA6E): so the Unicode version of the tables does not decide
     * whether a character is deleted. */
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    if (c < 0x80)
        return c < 0x20 || c == 0x7F;
    int o = hf_override(c);
    if (o >= 0)
        return o == MEDNER__HF_DELETE;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
           cat == UTF8PROC_CATEGORY_CO ||
           cat == UTF8PROC_CATEGORY_CS;
}

bool medner__is_bert_punctuation(uint32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    int o = hf_override(c);
    if (o >= 0)
        return o == MEDNER__HF_PUNCT;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_PC || cat == UTF8PROC_CATEGORY_PD ||
           cat == UTF8PROC_CATEGORY_PS || cat == UTF8PROC_CATEGORY_PE ||
           cat == UTF8PROC_CATEGORY_PI || cat == UTF8PROC_CATEGORY_PF ||
           cat == UTF8PROC_CATEGORY_PO;
}

bool medner__is_cjk(uint32_t c)
{
    /* The blocks BertNormalizer pads with spaces (not Hiragana, Katakana or
     * Hangul). */
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static size_t lower_into(uint32_t c, uint32_t *out)
{
    /* Full lowercase mapping without context. utf8proc gives the simple
     * mapping; the only unconditional one-to-many lowercase mapping in
     * SpecialCasing.txt is U+0130 -> U+0069 U+0307. */
    if (c == 0x130) {
        out[0] = 0x69;
        out[1] = 0x307;
        return 2;
    }
    const struct medner__hf_cp *e = c >= 0x80 ? hf_entry(c) : NULL;
    out[0] = e && e->lower ? e->lower : (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    return 1;
}

size_t medner__normalize_char(const medner_tokenizer *t, uint32_t c, uint32_t out[8])
{
    if (t->clean_text) {
        if (c == 0 || c == 0xFFFD || medner__is_bert_control(c))
            return 0;
        if (medner__is_bert_whitespace(c)) {
            out[0] = ' ';
            return 1;
        }
    }
    /* CJK padding happens in the pre-tokeniser's terms: the caller treats a
     * CJK ideograph as a word of its own (see encode.c). */
    uint32_t tmp[8];
    size_t n = 1;
    tmp[0] = c;
    const struct medner__hf_cp *e = c >= 0x80 ? hf_entry(c) : NULL;
    if (t->strip_accents && c >= 0x80 && !(e && e->nfd_keep)) {
        int boundclass = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)c, (utf8proc_int32_t *)tmp,
                                                     8, UTF8PROC_DECOMPOSE, &boundclass);
        if (k < 1 || k > 8) {
            tmp[0] = c;
            k = 1;
        }
        n = 0;
        for (utf8proc_ssize_t i = 0; i < k; i++)
            if (!is_nonspacing_mark(tmp[i]))
                tmp[n++] = tmp[i];
    } else if (t->strip_accents && e && is_nonspacing_mark(c)) {
        n = 0;
    }
    if (!t->lowercase) {
        for (size_t i = 0; i < n; i++)
            out[i] = tmp[i];
        return n;
    }
    size_t m = 0;
    for (size_t i = 0; i < n && m + 2 <= 8; i++)
        m += lower_into(tmp[i], out + m);
    return m;
}
