/*
 * Private to src/text: byte classes and the header matcher shared by the
 * sentence splitter and the section detector (docs/text.md).
 */
#ifndef MEDNER_TEXT_INTERNAL_H
#define MEDNER_TEXT_INTERNAL_H

#include <stddef.h>

#include "text/text.h"

/* ASCII classes only: bytes >= 0x80 (any UTF-8 sequence, valid or not) are
 * non-space, neither upper nor lower case, and not digits. U+00A0 and the
 * other Unicode spaces are therefore not whitespace (docs/text.md, Limits). */
static inline int medner__tx_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static inline int medner__tx_blank(unsigned char c) /* whitespace inside a line */
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}
static inline int medner__tx_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}
static inline int medner__tx_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}
static inline int medner__tx_alpha(unsigned char c)
{
    return medner__tx_upper(c) || medner__tx_lower(c);
}
static inline int medner__tx_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Headers are at most this many bytes (without the ':'); the bound keeps
 * every header test O(1), so both scans stay linear. */
#define MEDNER__HEADER_MAX 64

typedef struct medner__header {
    size_t name_begin, name_end; /* the name, without ':' and trailing blanks */
    size_t end;                  /* just past the ':' (name_end when alone on its line) */
    medner_section category;
} medner__header;

/* Is there a section header at text[a], where [a, b) runs to the trimmed end
 * of a's line? Any case followed by ':' (capitals for the abbreviations HPI,
 * PMH, ...), a name in capitals alone on its line when `line_start` says a
 * is the first non-blank byte of its line (exact names only), or an unknown
 * name in capitals (3+ letters) followed by ':' and not by a digit
 * (MEDNER_SECTION_OTHER, unless it starts with a known name). Returns 1 and
 * fills *h, else 0. Reads at most MEDNER__HEADER_MAX + 2 bytes past a, plus
 * one table lookup. */
int medner__text_header_at(const char *text, size_t a, size_t b, int line_start,
                           medner__header *h);

#endif
