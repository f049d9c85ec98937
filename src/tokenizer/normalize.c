/*
 * Character classes and per-character normalisation of Hugging Face's
 * BertNormalizer and BertPreTokenizer (see docs/tokenizer.md). Unicode data
 * comes from utf8proc; ASCII goes through a small table on the hot path.
 */
#include <utf8proc.h>

#include "tokenizer/tokenizer.h"

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
    /* General category "Other" (Cc, Cf, Cn, Co, Cs) except \t \n \r. */
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    if (c < 0x80)
        return c < 0x20 || c == 0x7F;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
           cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_CO ||
           cat == UTF8PROC_CATEGORY_CS;
}

bool medner__is_bert_punctuation(uint32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
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
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
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
    if (t->strip_accents && c >= 0x80) {
        int boundclass = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)c, (utf8proc_int32_t *)tmp,
                                                     8, UTF8PROC_DECOMPOSE, &boundclass);
        if (k < 1 || k > 8) {
            tmp[0] = c;
            k = 1;
        }
        n = 0;
        for (utf8proc_ssize_t i = 0; i < k; i++)
            if (utf8proc_category((utf8proc_int32_t)tmp[i]) != UTF8PROC_CATEGORY_MN)
                tmp[n++] = tmp[i];
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
