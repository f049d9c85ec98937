/* UTF-8 validation, decoding and offset conversion (RFC 3629). */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

/* Length of the valid sequence starting at s[i] and its code point, or 0 if
 * the bytes there are not valid UTF-8. */
size_t medner__utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2)
        return 0; /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) {
        if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
        return 2;
    }
    if (c < 0xF0) {
        if (i + 2 >= len || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[i + 1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[i + 1] >= 0xA0)
            return 0; /* UTF-16 surrogate */
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
        return 3;
    }
    if (c < 0xF5) {
        if (i + 3 >= len || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
            (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[i + 1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && s[i + 1] >= 0x90)
            return 0; /* above U+10FFFF */
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
              ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
        return 4;
    }
    return 0;
}

int medner__utf8_check(const char *text, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        uint32_t cp;
        size_t n = medner__utf8_decode(s, len, i, &cp);
        if (n == 0) {
            if (bad_offset)
                *bad_offset = i;
            return MEDNER_E_INVALID_UTF8;
        }
        i += n;
    }
    return MEDNER_OK;
}

int medner_utf8_check(size_t *bad_offset, const char *text, size_t len)
{
    if (text == NULL && len > 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner_utf8_check: text is NULL");
    size_t bad = 0;
    if (medner__utf8_check(text, len, &bad) != MEDNER_OK) {
        if (bad_offset)
            *bad_offset = bad;
        return medner__fail(MEDNER_E_INVALID_UTF8, "invalid UTF-8 at byte offset %zu", bad);
    }
    return MEDNER_OK;
}

/* 0.1 spelling (outputs last), kept for the ABI: deprecated in the header. */
int medner_utf8_validate(const char *text, size_t len, size_t *bad_offset)
{
    return medner_utf8_check(bad_offset, text, len);
}

typedef struct offset_ref {
    size_t value;
    size_t index;
} offset_ref;

static int cmp_offset_ref(const void *a, const void *b)
{
    const offset_ref *x = a, *y = b;
    return (x->value > y->value) - (x->value < y->value);
}

static int convert_offsets(const char *what, const char *text, size_t len,
                           const size_t *byte_offsets, size_t n, size_t *out, int utf16)
{
    if ((text == NULL && len > 0) || (n > 0 && (byte_offsets == NULL || out == NULL)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: NULL argument", what);
    size_t bad;
    if (medner__utf8_check(text, len, &bad) != MEDNER_OK)
        return medner__fail(MEDNER_E_INVALID_UTF8, "%s: invalid UTF-8 at byte offset %zu", what,
                            bad);
    if (n == 0)
        return MEDNER_OK;
    offset_ref *refs = n <= SIZE_MAX / sizeof *refs ? medner__malloc(n * sizeof *refs) : NULL;
    size_t *res = refs ? medner__malloc(n * sizeof *res) : NULL;
    if (refs == NULL || res == NULL) {
        medner__free(refs);
        medner__free(res);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", what);
    }
    for (size_t k = 0; k < n; k++) {
        refs[k].value = byte_offsets[k];
        refs[k].index = k;
    }
    qsort(refs, n, sizeof *refs, cmp_offset_ref);
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0, units = 0;
    int rc = MEDNER_OK;
    for (size_t k = 0; k < n; k++) {
        size_t target = refs[k].value;
        if (target > len) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                              "%s: offset %zu is beyond the text length %zu", what, target, len);
            break;
        }
        while (pos < target) {
            unsigned c = s[pos];
            size_t step = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            units += (utf16 && step == 4) ? 2 : 1;
            pos += step;
        }
        if (pos != target) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                              "%s: offset %zu is inside a multi-byte character", what, target);
            break;
        }
        res[refs[k].index] = units;
    }
    if (rc == MEDNER_OK)
        memcpy(out, res, n * sizeof *res);
    medner__free(refs);
    medner__free(res);
    return rc;
}

int medner_utf8_codepoint_offsets(size_t *out, const char *text, size_t len,
                                  const size_t *byte_offsets, size_t n)
{
    return convert_offsets("medner_utf8_codepoint_offsets", text, len, byte_offsets, n, out, 0);
}

int medner_utf8_utf16_offsets(size_t *out, const char *text, size_t len,
                              const size_t *byte_offsets, size_t n)
{
    return convert_offsets("medner_utf8_utf16_offsets", text, len, byte_offsets, n, out, 1);
}

/* 0.1 spellings (outputs last), kept for the ABI: deprecated in the header. */
int medner_utf8_to_codepoint_offsets(const char *text, size_t len, const size_t *byte_offsets,
                                     size_t n, size_t *out)
{
    return medner_utf8_codepoint_offsets(out, text, len, byte_offsets, n);
}

int medner_utf8_to_utf16_offsets(const char *text, size_t len, const size_t *byte_offsets,
                                 size_t n, size_t *out)
{
    return medner_utf8_utf16_offsets(out, text, len, byte_offsets, n);
}
