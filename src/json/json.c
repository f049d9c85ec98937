/*
 * Strict JSON (RFC 8259) reader and a small writer; see json.h and
 * docs/json.md.
 *
 * The reader is a recursive-descent parser over a byte range [start, end): it
 * never reads outside it and never assumes a NUL terminator. Nodes, decoded
 * strings and child arrays are bump-allocated from an arena of a few big
 * blocks. Children of an open container collect on one shared scratch stack
 * and are copied into the arena when the container closes, so child arrays
 * have exactly the right size.
 *
 * Strings take two passes: the first validates (control characters, escapes,
 * surrogate pairs, UTF-8) and computes the decoded length, the second copies
 * (one memcpy when there is no escape) or decodes trusting the first.
 */
#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

/* ---- C locale for number conversions ------------------------------------ */

/* strtod and printf("%g") use the decimal point of LC_NUMERIC. We switch the
 * calling thread (only) to the C locale with POSIX uselocale() around each
 * conversion. glibc returns a static object for newlocale(LC_ALL_MASK, "C"),
 * so nothing is allocated; elsewhere the object lives until exit. */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t get_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale;
}

/* ---- arena -------------------------------------------------------------- */

typedef struct arena_block {
    struct arena_block *next;
} arena_block;

/* Block payloads start at this alignment; nodes and arrays need
 * _Alignof(medner__json) at most, strings none. */
#define ARENA_HEADER \
    ((sizeof(arena_block) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t))
#define NODE_ALIGN _Alignof(medner__json)
#define ARENA_MIN_BLOCK ((size_t)4096)
#define ARENA_MAX_BLOCK ((size_t)64 << 20) /* growth stops doubling here */

struct medner__json_doc {
    arena_block *blocks;
    medner__json *root;
};

/* ---- parser state ------------------------------------------------------- */

typedef struct scratch_entry {
    medner__json *node;
    const char *key;
    size_t key_len;
} scratch_entry;

typedef struct parser {
    const unsigned char *start, *p, *end;
    const char *source;
    size_t line;                     /* line of p (1-based) */
    const unsigned char *line_start; /* first byte of that line */
    /* arena */
    arena_block *blocks;
    unsigned char *cur; /* next free byte of the newest block */
    size_t avail;       /* bytes left there */
    size_t next_block;  /* size of the next block */
    /* children of the open containers */
    scratch_entry *stack;
    size_t top, cap;
} parser;

/* Objects with at least this many members get a hash index. */
#define INDEX_MIN 16

/* n bytes aligned to `align` (a power of two, at most max_align_t's). */
static void *arena_alloc(parser *ps, size_t n, size_t align)
{
    size_t pad = (size_t)(-(uintptr_t)ps->cur) & (align - 1);
    if (ps->avail < pad || ps->avail - pad < n) {
        size_t size = ps->next_block > n ? ps->next_block : n;
        if (size > SIZE_MAX - ARENA_HEADER)
            return NULL;
        arena_block *b = medner__malloc(ARENA_HEADER + size);
        if (b == NULL)
            return NULL;
        b->next = ps->blocks;
        ps->blocks = b;
        ps->cur = (unsigned char *)b + ARENA_HEADER;
        ps->avail = size;
        pad = 0;
        if (ps->next_block < ARENA_MAX_BLOCK)
            ps->next_block *= 2;
    }
    void *r = ps->cur + pad;
    ps->cur += pad + n;
    ps->avail -= pad + n;
    return r;
}

static void free_blocks(arena_block *b)
{
    while (b != NULL) {
        arena_block *next = b->next;
        medner__free(b);
        b = next;
    }
}

/* ---- error messages ----------------------------------------------------- */

static size_t column_of(const parser *ps, const unsigned char *at)
{
    return (size_t)(at - ps->line_start) + 1;
}

static int fail_at(const parser *ps, const unsigned char *at, const char *expected,
                   const char *found)
{
    return medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: expected %s, found %s", ps->source,
                        ps->line, column_of(ps, at), expected, found);
}

static int out_of_memory(const parser *ps)
{
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory while parsing JSON",
                        ps->source);
}

/* Describe the byte at `at` without quoting input text: structural and other
 * ASCII punctuation by itself, letters, digits and non-ASCII bytes by class,
 * control characters by value. Inside strings (in_string), punctuation is
 * text too and is described by class. */
static const char *describe(const parser *ps, const unsigned char *at, bool in_string,
                            char *buf, size_t size)
{
    if (at >= ps->end)
        return "end of input";
    unsigned char c = *at;
    if (c < 0x20 || c == 0x7f) {
        snprintf(buf, size, "control character 0x%02X", (unsigned)c);
        return buf;
    }
    if (c >= 0x80) {
        if (at == ps->start && ps->end - at >= 3 && at[1] == 0xbb && at[2] == 0xbf && c == 0xef)
            return "a UTF-8 byte order mark";
        return "a non-ASCII character";
    }
    if (c >= '0' && c <= '9')
        return "a digit";
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return "a letter";
    if (c == ' ')
        return "a space";
    if (c == '\'')
        return "a single quote";
    if (in_string)
        return "a punctuation character";
    snprintf(buf, size, "'%c'", (char)c);
    return buf;
}

static int fail_found(const parser *ps, const unsigned char *at, const char *expected,
                      bool in_string)
{
    char buf[40];
    return fail_at(ps, at, expected, describe(ps, at, in_string, buf, sizeof buf));
}

/* ---- lexing helpers ----------------------------------------------------- */

static void skip_ws(parser *ps)
{
    const unsigned char *p = ps->p, *end = ps->end;
    while (p < end) {
        unsigned char c = *p;
        if (c == ' ' || c == '\t' || c == '\r') {
            p++;
        } else if (c == '\n') {
            p++;
            ps->line++;
            ps->line_start = p;
        } else {
            break;
        }
    }
    ps->p = p;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Four hex digits at p (bounded by end). Returns NULL and *cp, or the
 * position of the first byte that is not a hex digit (possibly end). */
static const unsigned char *hex4(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++, p++) {
        int h = p < end ? hex_value(*p) : -1;
        if (h < 0)
            return p;
        v = v << 4 | (uint32_t)h;
    }
    *cp = v;
    return NULL;
}

/* Length of the well-formed UTF-8 sequence at p (whose lead byte is >= 0x80),
 * or 0 with *why describing the problem (Unicode Table 3-7). */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end, const char **why)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0xc0) {
        *why = "a UTF-8 continuation byte without a lead byte";
        return 0;
    }
    if (c < 0xc2) {
        *why = "an overlong UTF-8 encoding";
        return 0;
    }
    if (c < 0xe0) {
        n = 2;
    } else if (c < 0xf0) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c < 0xf5) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else if (c < 0xf8) {
        *why = "a UTF-8 sequence above U+10FFFF";
        return 0;
    } else {
        *why = "a byte that never occurs in UTF-8";
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (p + i >= end) {
            *why = "an incomplete UTF-8 sequence";
            return 0;
        }
        unsigned char b = p[i];
        if (b < 0x80 || b > 0xbf) {
            *why = "an incomplete UTF-8 sequence";
            return 0;
        }
        if (i == 1 && b < lo) {
            *why = "an overlong UTF-8 encoding";
            return 0;
        }
        if (i == 1 && b > hi) {
            *why = c == 0xed ? "a UTF-16 surrogate encoded in UTF-8"
                             : "a UTF-8 sequence above U+10FFFF";
            return 0;
        }
    }
    return n;
}

static size_t utf8_encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Bytes that need no attention inside a string: 0x20..0x7F except '"', '\\'. */
static const unsigned char plain_byte[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20..0x2F: '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50..0x5F: '\\' */
    R16(1), R16(1),
#undef R16
};

#define ESCAPES_EXPECTED "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) after '\\'"
#define HEX_EXPECTED "4 hex digits after '\\u'"

/* Parse the string whose opening quote is at ps->p; on success the decoded
 * bytes (NUL-terminated) are in the arena and ps->p is past the closing quote. */
static int parse_string(parser *ps, const char **out, size_t *out_len)
{
    const unsigned char *s = ps->p + 1, *q = s, *end = ps->end;
    size_t shrink = 0; /* raw bytes minus decoded bytes */
    bool escaped = false;
    for (;;) {
        while (q < end && plain_byte[*q])
            q++;
        if (q >= end)
            return fail_at(ps, q, "'\"' closing the string", "end of input");
        unsigned char c = *q;
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = true;
            if (end - q < 2)
                return fail_at(ps, q + 1, ESCAPES_EXPECTED, "end of input");
            switch (q[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                shrink += 1;
                q += 2;
                continue;
            case 'u':
                break;
            default:
                return fail_found(ps, q + 1, ESCAPES_EXPECTED, true);
            }
            uint32_t cp, lo;
            const unsigned char *bad = hex4(q + 2, end, &cp);
            if (bad != NULL)
                return fail_found(ps, bad, HEX_EXPECTED, true);
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail_at(ps, q, "a high surrogate escape (\\uD800-\\uDBFF) before a low one",
                               "a lone low surrogate escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                const unsigned char *r = q + 6;
                static const char want[] = "a low surrogate escape (\\uDC00-\\uDFFF) after a high one";
                if (end - r < 2 || r[0] != '\\' || r[1] != 'u')
                    return fail_found(ps, r, want, true);
                bad = hex4(r + 2, end, &lo);
                if (bad != NULL)
                    return fail_found(ps, bad, HEX_EXPECTED, true);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(ps, r, want, "an escape that is not a low surrogate");
                shrink += 12 - 4;
                q += 12;
            } else {
                unsigned char tmp[4];
                shrink += 6 - utf8_encode(cp, tmp);
                q += 6;
            }
        } else if (c < 0x20) {
            char buf[40];
            snprintf(buf, sizeof buf, "unescaped control character 0x%02X", (unsigned)c);
            return fail_at(ps, q, "a string character or an escape", buf);
        } else {
            const char *why = NULL;
            size_t n = utf8_sequence(q, end, &why);
            if (n == 0)
                return fail_at(ps, q, "valid UTF-8", why);
            q += n;
        }
    }
    size_t raw = (size_t)(q - s), len = raw - shrink;
    if (len == SIZE_MAX)
        return out_of_memory(ps);
    unsigned char *o = arena_alloc(ps, len + 1, 1);
    if (o == NULL)
        return out_of_memory(ps);
    if (!escaped) {
        if (raw > 0)
            memcpy(o, s, raw);
    } else {
        /* Trusted second pass: the first validated every escape. */
        unsigned char *w = o;
        const unsigned char *r = s;
        while (r < q) {
            if (*r != '\\') {
                *w++ = *r++;
                continue;
            }
            unsigned char e = r[1];
            r += 2;
            switch (e) {
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            case 'u': {
                uint32_t cp = 0, lo = 0;
                (void)hex4(r, q, &cp);
                r += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    (void)hex4(r + 2, q, &lo);
                    r += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                w += utf8_encode(cp, w);
                break;
            }
            default: *w++ = e; break; /* '"', '\\', '/' */
            }
        }
    }
    o[len] = '\0';
    ps->p = q + 1;
    *out = (const char *)o;
    *out_len = len;
    return MEDNER_OK;
}

static int parse_number(parser *ps, medner__json *node)
{
    const unsigned char *s = ps->p, *q = s, *end = ps->end;
    bool negative = false, integral = true;
    if (*q == '-') {
        negative = true;
        q++;
    }
    if (q >= end || !is_digit(*q))
        return fail_found(ps, q, "a digit after '-'", false);
    const unsigned char *digits = q;
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q))
            return fail_at(ps, q, "'.', 'e' or the end of the number after a leading 0",
                           "a digit (leading zeros are not allowed)");
    } else {
        while (q < end && is_digit(*q))
            q++;
    }
    const unsigned char *digits_end = q;
    if (q < end && *q == '.') {
        integral = false;
        q++;
        if (q >= end || !is_digit(*q))
            return fail_found(ps, q, "a digit after '.'", false);
        while (q < end && is_digit(*q))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        integral = false;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q))
            return fail_found(ps, q, "a digit in the exponent", false);
        while (q < end && is_digit(*q))
            q++;
    }
    node->type = MEDNER__JSON_NUMBER;

    /* Integers of up to 19 digits (no leading zeros) fit uint64_t exactly. */
    if (integral && digits_end - digits <= 19) {
        uint64_t v = 0;
        for (const unsigned char *d = digits; d < digits_end; d++)
            v = v * 10 + (uint64_t)(*d - '0');
        uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        if (v <= limit) {
            node->is_integer = true;
            if (negative)
                node->integer = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
            else
                node->integer = (int64_t)v;
            /* int64 -> double rounds correctly; keep the sign of "-0" */
            node->number = negative && v == 0 ? -0.0 : (double)node->integer;
            ps->p = q;
            return MEDNER_OK;
        }
    }

    /* Everything else: strtod on a NUL-terminated copy of the validated
     * lexeme, in the C locale. */
    locale_t c_loc = get_c_locale();
    if (c_loc == (locale_t)0)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY,
                            "%s: out of memory (creating the C locale for numbers)", ps->source);
    size_t n = (size_t)(q - s);
    char small[64], *copy = small;
    if (n >= sizeof small) {
        if (n == SIZE_MAX || (copy = medner__malloc(n + 1)) == NULL)
            return out_of_memory(ps);
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    char *stop = NULL;
    locale_t saved = uselocale(c_loc);
    double v = strtod(copy, &stop);
    uselocale(saved);
    bool whole = stop == copy + n;
    if (copy != small)
        medner__free(copy);
    if (!whole)
        return medner__fail(MEDNER_E_INTERNAL, "%s:%zu:%zu: strtod stopped inside a valid number",
                            ps->source, ps->line, column_of(ps, s));
    if (isinf(v))
        return fail_at(ps, s, "a number within the range of a double", "one that overflows");
    node->number = v;
    ps->p = q;
    return MEDNER_OK;
}

static int push_child(parser *ps, medner__json *node, const char *key, size_t key_len)
{
    if (ps->top == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64, bytes;
        if (cap < ps->cap || medner__mul_size(cap, sizeof *ps->stack, &bytes) != 0)
            return out_of_memory(ps);
        scratch_entry *grown = medner__realloc(ps->stack, bytes);
        if (grown == NULL)
            return out_of_memory(ps);
        ps->stack = grown;
        ps->cap = cap;
    }
    ps->stack[ps->top++] = (scratch_entry){ node, key, key_len };
    return MEDNER_OK;
}

/* Word-at-a-time multiplicative hash; keys are short (a vocabulary entry is
 * a few bytes), so this costs about one multiplication per key. */
static uint64_t hash_key(const char *key, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15u;
    uint64_t h = len * k, w;
    for (; len >= 8; key += 8, len -= 8) {
        memcpy(&w, key, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    if (len > 0) {
        w = 0;
        memcpy(&w, key, len);
        h = (h ^ w) * k;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9u;
    return h ^ (h >> 32);
}

static bool key_equals(const medner__json *obj, size_t i, const char *key, size_t len)
{
    return obj->key_lens[i] == len && memcmp(obj->keys[i], key, len) == 0;
}

/* Hash index of a big object: open addressing, slots hold member index + 1
 * (0 = empty); for duplicate keys the slot keeps the last member. Parsing
 * only reserves the memory (untouched pages cost nothing); the first lookup
 * fills it. Objects of 2^30 members or more (inputs above 4 GiB) go without
 * (linear lookups). */
struct medner__json_index {
    size_t mask;
    uint32_t slots[];
};

enum { INDEX_EMPTY = 0, INDEX_BUILDING = 1, INDEX_READY = 2 };

static size_t index_slots(size_t count)
{
    size_t n = 32;
    while (n < count * 2)
        n *= 2;
    return n;
}

static int reserve_index(parser *ps, medner__json *obj)
{
    if (obj->count >= (size_t)1 << 30 || obj->count > SIZE_MAX / 16)
        return MEDNER_OK;
    size_t bytes = sizeof(struct medner__json_index) + index_slots(obj->count) * sizeof(uint32_t);
    obj->index_ = arena_alloc(ps, bytes, NODE_ALIGN);
    return obj->index_ != NULL ? MEDNER_OK : out_of_memory(ps);
}

static void fill_index(medner__json *obj)
{
    struct medner__json_index *index = obj->index_;
    size_t nslots = index_slots(obj->count);
    memset(index->slots, 0, nslots * sizeof(uint32_t));
    size_t mask = index->mask = nslots - 1;
    for (size_t i = 0; i < obj->count; i++) {
        size_t h = (size_t)hash_key(obj->keys[i], obj->key_lens[i]) & mask;
        uint32_t slot;
        while ((slot = index->slots[h]) != 0 &&
               !key_equals(obj, slot - 1, obj->keys[i], obj->key_lens[i]))
            h = (h + 1) & mask;
        index->slots[h] = (uint32_t)(i + 1);
    }
}

/* Move the children collected since `base` into the arena. */
static int close_container(parser *ps, medner__json *node, size_t base)
{
    size_t count = ps->top - base, bytes;
    node->count = count;
    if (count == 0)
        return MEDNER_OK;
    const scratch_entry *e = ps->stack + base;
    if (medner__mul_size(count, sizeof(medner__json *), &bytes) != 0 ||
        (node->items = arena_alloc(ps, bytes, NODE_ALIGN)) == NULL)
        return out_of_memory(ps);
    for (size_t i = 0; i < count; i++)
        node->items[i] = e[i].node;
    if (node->type == MEDNER__JSON_OBJECT) {
        if (medner__mul_size(count, sizeof(const char *), &bytes) != 0 ||
            (node->keys = arena_alloc(ps, bytes, NODE_ALIGN)) == NULL)
            return out_of_memory(ps);
        if (medner__mul_size(count, sizeof(size_t), &bytes) != 0 ||
            (node->key_lens = arena_alloc(ps, bytes, NODE_ALIGN)) == NULL)
            return out_of_memory(ps);
        for (size_t i = 0; i < count; i++) {
            node->keys[i] = e[i].key;
            node->key_lens[i] = e[i].key_len;
        }
        if (count >= INDEX_MIN) {
            int rc = reserve_index(ps, node);
            if (rc != MEDNER_OK)
                return rc;
        }
    }
    ps->top = base;
    return MEDNER_OK;
}

static int parse_value(parser *ps, unsigned depth, medner__json **out);

static int parse_array(parser *ps, medner__json *node, unsigned depth)
{
    size_t base = ps->top;
    ps->p++; /* '[' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return MEDNER_OK;
    }
    for (;;) {
        medner__json *child;
        int rc = parse_value(ps, depth + 1, &child);
        if (rc == MEDNER_OK)
            rc = push_child(ps, child, NULL, 0);
        if (rc != MEDNER_OK)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        }
        return fail_found(ps, ps->p, "',' or ']' after an array element", false);
    }
    return close_container(ps, node, base);
}

static int parse_object(parser *ps, medner__json *node, unsigned depth)
{
    size_t base = ps->top;
    ps->p++; /* '{' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return MEDNER_OK;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"')
            return fail_found(ps, ps->p, ps->top == base ? "'\"' starting a key or '}'"
                                                         : "'\"' starting a key",
                              false);
        const char *key;
        size_t key_len;
        int rc = parse_string(ps, &key, &key_len);
        if (rc != MEDNER_OK)
            return rc;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return fail_found(ps, ps->p, "':' after a key", false);
        ps->p++;
        medner__json *child;
        rc = parse_value(ps, depth + 1, &child);
        if (rc == MEDNER_OK)
            rc = push_child(ps, child, key, key_len);
        if (rc != MEDNER_OK)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        return fail_found(ps, ps->p, "',' or '}' after an object member", false);
    }
    return close_container(ps, node, base);
}

static int parse_literal(parser *ps, const char *word, size_t n)
{
    const unsigned char *p = ps->p;
    for (size_t i = 0; i < n; i++) {
        if (p + i >= ps->end || p[i] != (unsigned char)word[i]) {
            char expected[16];
            snprintf(expected, sizeof expected, "'%s'", word);
            return fail_found(ps, p + i, expected, false);
        }
    }
    ps->p = p + n;
    return MEDNER_OK;
}

/* `depth` counts the containers enclosing this value. */
static int parse_value(parser *ps, unsigned depth, medner__json **out)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_at(ps, ps->p, "a value", "end of input");
    const unsigned char *at = ps->p;
    unsigned char c = *at;
    medner__json *node = arena_alloc(ps, sizeof *node, NODE_ALIGN);
    if (node == NULL)
        return out_of_memory(ps);
    memset(node, 0, sizeof *node);
    atomic_init(&node->index_state_, INDEX_EMPTY);
    node->type = MEDNER__JSON_NULL;
    node->line = ps->line;
    node->column = column_of(ps, at);
    int rc;
    switch (c) {
    case '{':
    case '[':
        if (depth >= MEDNER__JSON_MAX_DEPTH)
            return medner__fail(MEDNER_E_LIMIT,
                                "%s:%zu:%zu: expected at most %d nested arrays and objects, "
                                "found more",
                                ps->source, ps->line, column_of(ps, at), MEDNER__JSON_MAX_DEPTH);
        if (c == '{') {
            node->type = MEDNER__JSON_OBJECT;
            rc = parse_object(ps, node, depth);
        } else {
            node->type = MEDNER__JSON_ARRAY;
            rc = parse_array(ps, node, depth);
        }
        break;
    case '"':
        node->type = MEDNER__JSON_STRING;
        rc = parse_string(ps, &node->str, &node->len);
        break;
    case 't':
        node->type = MEDNER__JSON_BOOL;
        node->boolean = true;
        rc = parse_literal(ps, "true", 4);
        break;
    case 'f':
        node->type = MEDNER__JSON_BOOL;
        rc = parse_literal(ps, "false", 5);
        break;
    case 'n':
        rc = parse_literal(ps, "null", 4);
        break;
    default:
        if (c == '-' || is_digit(c))
            rc = parse_number(ps, node);
        else
            rc = fail_found(ps, at, "a value", false);
        break;
    }
    if (rc == MEDNER_OK)
        *out = node;
    return rc;
}

int medner__json_parse(medner__json_doc **out, const char *text, size_t len,
                       const char *source_name)
{
    if (out == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__json_parse: out is NULL");
    if (text == NULL && len > 0)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner__json_parse: text is NULL but len is %zu", len);
    if (text == NULL)
        text = "";
    parser ps = { 0 };
    ps.start = ps.p = ps.line_start = (const unsigned char *)text;
    ps.end = ps.start + len;
    ps.source = source_name ? source_name : "<input>";
    ps.line = 1;
    /* First block about the size of the input: small documents take one
     * block, big ones a handful as blocks double. */
    ps.next_block = len < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK
                    : len > ARENA_MAX_BLOCK ? ARENA_MAX_BLOCK : len;

    medner__json_doc *doc = medner__malloc(sizeof *doc);
    if (doc == NULL)
        return out_of_memory(&ps);
    medner__json *root = NULL;
    int rc = parse_value(&ps, 0, &root);
    if (rc == MEDNER_OK) {
        skip_ws(&ps);
        if (ps.p < ps.end)
            rc = fail_found(&ps, ps.p, "end of input after the top-level value", false);
    }
    medner__free(ps.stack);
    if (rc != MEDNER_OK) {
        free_blocks(ps.blocks);
        medner__free(doc);
        return rc;
    }
    doc->blocks = ps.blocks;
    doc->root = root;
    *out = doc;
    return MEDNER_OK;
}

const medner__json *medner__json_root(const medner__json_doc *doc)
{
    return doc ? doc->root : NULL;
}

void medner__json_free(medner__json_doc *doc)
{
    if (doc == NULL)
        return;
    free_blocks(doc->blocks);
    medner__free(doc);
}

const medner__json *medner__json_get_n(const medner__json *obj, const char *key, size_t key_len)
{
    if (obj == NULL || obj->type != MEDNER__JSON_OBJECT || (key == NULL && key_len > 0))
        return NULL;
    if (key == NULL)
        key = "";
    if (obj->index_ != NULL) {
        /* Nodes are allocated mutable in the arena; only the index changes. */
        medner__json *o = (medner__json *)obj;
        unsigned char state = atomic_load_explicit(&o->index_state_, memory_order_acquire);
        if (state == INDEX_EMPTY) {
            unsigned char expected = INDEX_EMPTY;
            if (atomic_compare_exchange_strong(&o->index_state_, &expected, INDEX_BUILDING)) {
                fill_index(o);
                atomic_store_explicit(&o->index_state_, INDEX_READY, memory_order_release);
                state = INDEX_READY;
            }
        }
        if (state == INDEX_READY) {
            const struct medner__json_index *index = obj->index_;
            size_t h = (size_t)hash_key(key, key_len) & index->mask;
            for (uint32_t slot; (slot = index->slots[h]) != 0; h = (h + 1) & index->mask)
                if (key_equals(obj, slot - 1, key, key_len))
                    return obj->items[slot - 1];
            return NULL;
        }
        /* another thread is building the index: scan meanwhile */
    }
    for (size_t i = obj->count; i-- > 0;)
        if (key_equals(obj, i, key, key_len))
            return obj->items[i];
    return NULL;
}

const medner__json *medner__json_get(const medner__json *obj, const char *key)
{
    if (key == NULL)
        return NULL;
    return medner__json_get_n(obj, key, strlen(key));
}

const char *medner__json_type_name(medner__json_type type)
{
    switch (type) {
    case MEDNER__JSON_NULL: return "null";
    case MEDNER__JSON_BOOL: return "boolean";
    case MEDNER__JSON_NUMBER: return "number";
    case MEDNER__JSON_STRING: return "string";
    case MEDNER__JSON_ARRAY: return "array";
    case MEDNER__JSON_OBJECT: return "object";
    default: return "unknown";
    }
}

/* ---- files -------------------------------------------------------------- */

int medner__json_parse_file(medner__json_doc **out, const char *path)
{
    if (out == NULL || path == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner__json_parse_file: out and path must not be NULL");
    char *data = NULL;
    size_t len = 0;
    int rc = medner__read_file(path, SIZE_MAX - 1, &data, &len);
    if (rc != MEDNER_OK)
        return rc;
    rc = medner__json_parse(out, data, len, path);
    medner__free(data);
    return rc;
}

/* ---- writer ------------------------------------------------------------- */

int medner__buf_reserve(medner__buf *buf, size_t extra)
{
    if (buf->len > SIZE_MAX - 1 || extra > SIZE_MAX - 1 - buf->len)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "output buffer: size overflows");
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return MEDNER_OK;
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *grown = medner__realloc(buf->data, cap);
    if (grown == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY,
                            "out of memory growing an output buffer to %zu bytes", cap);
    buf->data = grown;
    buf->cap = cap;
    return MEDNER_OK;
}

int medner__buf_append(medner__buf *buf, const void *bytes, size_t n)
{
    int rc = medner__buf_reserve(buf, n);
    if (rc != MEDNER_OK)
        return rc;
    if (n > 0)
        memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return MEDNER_OK;
}

int medner__buf_append_str(medner__buf *buf, const char *s)
{
    return medner__buf_append(buf, s, strlen(s));
}

int medner__buf_putc(medner__buf *buf, char c)
{
    return medner__buf_append(buf, &c, 1);
}

int medner__buf_printf(medner__buf *buf, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return medner__fail(MEDNER_E_INTERNAL, "medner__buf_printf: bad format");
    if ((size_t)n < sizeof small)
        return medner__buf_append(buf, small, (size_t)n);
    int rc = medner__buf_reserve(buf, (size_t)n);
    if (rc != MEDNER_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return MEDNER_OK;
}

int medner__buf_json_string(medner__buf *buf, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t out = 2; /* the quotes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        size_t add = 1;
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            add = 2;
        else if (c < 0x20)
            add = 6;
        if (out > SIZE_MAX - add)
            return medner__fail(MEDNER_E_OUT_OF_MEMORY, "output buffer: size overflows");
        out += add;
    }
    int rc = medner__buf_reserve(buf, out);
    if (rc != MEDNER_OK)
        return rc;
    char *w = buf->data + buf->len;
    *w++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *w++ = (char)c;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b'; break;
        case '\f': *w++ = 'f'; break;
        case '\n': *w++ = 'n'; break;
        case '\r': *w++ = 'r'; break;
        case '\t': *w++ = 't'; break;
        default:
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
            break;
        }
    }
    *w++ = '"';
    buf->len += out;
    buf->data[buf->len] = '\0';
    return MEDNER_OK;
}

int medner__buf_json_double(medner__buf *buf, double value)
{
    if (!isfinite(value))
        return medner__buf_append(buf, "null", 4);
    locale_t c_loc = get_c_locale();
    if (c_loc == (locale_t)0)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY,
                            "out of memory (creating the C locale for numbers)");
    char text[40];
    int n = 0, precision;
    locale_t saved = uselocale(c_loc);
    for (precision = 1; precision < 17; precision++) {
        n = snprintf(text, sizeof text, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    if (precision == 17)
        n = snprintf(text, sizeof text, "%.17g", value); /* always round-trips */
    /* %g switches to an exponent when the precision is below the exponent:
     * write integers below 1e16 in full ("100", not "1e+02"). */
    const char *e = strchr(text, 'e');
    if (e != NULL && e[1] == '+') {
        int exponent = atoi(e + 2);
        if (exponent >= precision && exponent < 16) {
            char fixed[40];
            int m = snprintf(fixed, sizeof fixed, "%.*g", exponent + 1, value);
            if (m > 0 && (size_t)m < sizeof fixed && strtod(fixed, NULL) == value) {
                memcpy(text, fixed, (size_t)m + 1);
                n = m;
            }
        }
    }
    uselocale(saved);
    if (n <= 0 || (size_t)n >= sizeof text)
        return medner__fail(MEDNER_E_INTERNAL, "medner__buf_json_double: formatting failed");
    return medner__buf_append(buf, text, (size_t)n);
}

void medner__buf_reset(medner__buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

void medner__buf_free(medner__buf *buf)
{
    medner__free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}
