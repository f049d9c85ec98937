/* Sentence splitter for clinical text, after the behaviour of medspaCy's
 * PyRuSH rules (our own rules and code; docs/text.md lists them).
 *
 * One pass over the lines of the text. Each line is scanned once ahead
 * (letter cases) and once token by token (a token is a run of non-space
 * bytes). A "cut" at a position ends the pending segment there; segments are
 * trimmed and the empty ones dropped, so the sentences partition the
 * non-space bytes whatever the rules decide. Every test looks at a bounded
 * number of bytes around a token, so the time is linear in len. */
#include <string.h>

#include "common/common.h"
#include "text/text_internal.h"

/* How the previous token ended, as far as the next one is concerned. */
enum ending {
    END_NONE,   /* no punctuation: a new line starting in lower case continues */
    END_FORCE,  /* a header or a line in capitals: the next token starts a sentence */
    END_STOP,   /* '.', '?' or '!' that ends a sentence */
    END_ABBREV, /* '.' of an abbreviation that may end one ("b.i.d.", "etc.") */
    END_TITLE,  /* '.' that never ends one ("Dr.", "e.g.", "vs.", "No. 5") */
    END_JOIN    /* ',' ';' '(' '/' '&' '+' '-': the sentence goes on */
};

typedef struct splitter {
    const unsigned char *t;
    medner__span *v;
    size_t n, cap;
    size_t seg; /* start of the pending segment */
} splitter;

/* End the pending segment at `at` (trimmed, dropped if empty). */
static int cut(splitter *s, size_t at)
{
    size_t b = s->seg, e = at;
    if (at <= s->seg)
        return 0;
    s->seg = at;
    while (b < e && medner__tx_space(s->t[b]))
        b++;
    while (e > b && medner__tx_space(s->t[e - 1]))
        e--;
    if (b == e)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16, bytes;
        if (medner__mul_size(cap, sizeof *s->v, &bytes) != 0)
            return -1;
        medner__span *v = medner__realloc(s->v, bytes);
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].begin = b;
    s->v[s->n].end = e;
    s->n++;
    return 0;
}

/* Abbreviations whose '.' never ends a sentence: a name or a number follows. */
static const char *const TITLES[] = {
    "dr", "drs", "mr", "mrs", "ms", "messrs", "prof", "st", "vs", "v", "e.g", "eg", "i.e", "ie",
    "approx", "appr", "cf", "fig", "figs", "ref", "vol", "incl", "esp", "nos",
};

/* Abbreviations that may end a sentence: the '.' ends one only before a
 * clearly new sentence ("... p.o. q.d. Follow up in 2 weeks"). Dotted letter
 * groups ("b.i.d.", "y.o.", "a.m.") are recognised by shape as well. */
static const char *const ABBREVS[] = {
    "etc", "al", "pt", "pts", "yo", "yrs", "yr", "mo", "mos", "wk", "wks", "hr", "hrs", "min",
    "mins", "sec", "secs", "mg", "mcg", "ml", "kg", "g", "gm", "cm", "mm", "dl", "lb", "lbs", "oz",
    "temp", "resp", "sat", "wt", "ht", "avg", "max", "bid", "tid", "qid", "qd", "qod", "qhs",
    "prn", "po", "pr", "iv", "im", "sq", "hx", "dx", "tx", "rx", "sx", "fx", "lt", "rt", "bilat",
    "inc", "co", "corp", "ltd", "dept", "univ", "jr", "sr", "am", "pm", "h/o", "s/p", "c/o",
    "w/o", "r/o", "var", "ver", "sp", "spp", "subsp", "ssp", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec",
};

/* Words a sentence does not end on: a line ending with one ("Seen by")
 * goes on over the line break even when the next line is capitalised
 * ("Dr. Patel"). */
static const char *const JOINERS[] = {
    "a", "an", "the", "of", "by", "with", "and", "or", "to", "in", "on", "at", "for", "from",
    "was", "were", "is", "are", "his", "her", "their", "as", "but", "than", "that", "which",
    "who", "into", "per", "via", "without", "after", "before", "under",
};

static int in_list(const char *const *list, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], w) == 0)
            return 1;
    return 0;
}

/* "b.i.d", "y.o", "q.4h", "U.S": groups of 1-3 letters or digits joined by
 * single dots, starting with a letter, at least one dot. */
static int dotted(const char *w)
{
    if (!medner__tx_alpha((unsigned char)w[0]))
        return 0;
    size_t group = 0, dots = 0;
    for (const char *p = w; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.') {
            if (group == 0)
                return 0;
            dots++;
            group = 0;
        } else if (medner__tx_alpha(c) || medner__tx_digit(c)) {
            if (++group > 3)
                return 0;
        } else {
            return 0;
        }
    }
    return dots > 0 && group > 0;
}

static int opener(unsigned char c)
{
    return c == '(' || c == '[' || c == '{' || c == '"' || c == '\'';
}

/* Length of a closing bracket or quote ending at t[k-1] (0 if none):
 * ) ] } " ' and U+2019, U+201D. */
static size_t closer_before(const unsigned char *t, size_t lo, size_t k)
{
    if (k <= lo)
        return 0;
    unsigned char c = t[k - 1];
    if (c == ')' || c == ']' || c == '}' || c == '"' || c == '\'')
        return 1;
    if (k - lo >= 3 && t[k - 3] == 0xE2 && t[k - 2] == 0x80 && (c == 0x99 || c == 0x9D))
        return 3;
    return 0;
}

static size_t token_end(const unsigned char *t, size_t i, size_t b)
{
    while (i < b && !medner__tx_space(t[i]))
        i++;
    return i;
}

/* A token made only of closers (") after fever."), kept with the sentence before. */
static int only_closers(const unsigned char *t, size_t i, size_t te)
{
    size_t k = te, c;
    while ((c = closer_before(t, i, k)) > 0)
        k -= c;
    return k == i;
}

/* Does a sentence clearly start at t[j]? A capitalised word ("She",
 * "Follow") or the words "A" and "I"; not "M" in "45 y.o. M", not "CHF". */
static int clearly_new(const unsigned char *t, size_t j, size_t b)
{
    if (j < b && (t[j] == 'A' || t[j] == 'I') && (j + 1 == b || medner__tx_space(t[j + 1])))
        return 1;
    return j + 1 < b && medner__tx_upper(t[j]) && medner__tx_lower(t[j + 1]);
}

static int is_bullet(const unsigned char *t, size_t i, size_t b)
{
    return i + 3 <= b && t[i] == 0xE2 && t[i + 1] == 0x80 && t[i + 2] == 0xA2; /* U+2022 */
}

/* A list marker at t[i]: "- ", "* ", "+ ", "• ", "1. ", "1) ", "(1) ", "a) ",
 * "#1", "# ". Returns the index past the marker (0 when none) and sets *num to
 * the item number (0 for bullets). */
static size_t list_marker(const unsigned char *t, size_t i, size_t b, unsigned *num)
{
    *num = 0;
    if (i >= b)
        return 0;
    unsigned char c = t[i];
    if ((c == '-' || c == '*' || c == '+') && i + 1 < b && medner__tx_blank(t[i + 1]))
        return i + 1;
    if (is_bullet(t, i, b))
        return i + 3;
    if (c == 0xC2 && i + 2 < b && t[i + 1] == 0xB7 && medner__tx_blank(t[i + 2])) /* U+00B7 */
        return i + 2;
    if (c == '#') {
        size_t j = i + 1;
        unsigned v = 0;
        while (j < b && j < i + 4 && medner__tx_digit(t[j]))
            v = v * 10 + (unsigned)(t[j++] - '0');
        if (j == i + 1 && !(j < b && medner__tx_blank(t[j])))
            return 0;
        if (j < b && (t[j] == '.' || t[j] == ')' || t[j] == ':'))
            j++;
        *num = v;
        return j;
    }
    size_t j = i + (c == '(');
    size_t d = j;
    unsigned v = 0;
    while (d < b && d < j + 3 && medner__tx_digit(t[d]))
        v = v * 10 + (unsigned)(t[d++] - '0');
    if (d > j) {
        if (d < b && (t[d] == ')' || (t[d] == '.' && c != '(')) &&
            (d + 1 == b || medner__tx_blank(t[d + 1]))) {
            *num = v;
            return d + 1;
        }
        return 0;
    }
    if (c != '(' && medner__tx_lower(c) && i + 2 < b && t[i + 1] == ')' &&
        medner__tx_blank(t[i + 2]))
        return i + 2;
    return 0;
}

/* An inline item "2." / "2)" numbered `want`, alone in its token [i, te). */
static int inline_item(const unsigned char *t, size_t i, size_t te, unsigned want)
{
    unsigned v = 0;
    size_t d = i;
    while (d < te && d < i + 3 && medner__tx_digit(t[d]))
        v = v * 10 + (unsigned)(t[d++] - '0');
    return d > i && d + 1 == te && (t[d] == '.' || t[d] == ')') && v == want;
}

/* How the token [i, te) ends; j is the start of the next token on the line (or b). */
static enum ending token_ending(const unsigned char *t, size_t i, size_t te, size_t j, size_t b)
{
    size_t k = te, c;
    int bracket = 0;
    while ((c = closer_before(t, i, k)) > 0) {
        bracket |= t[k - 1] == ')' || t[k - 1] == ']';
        k -= c;
    }
    if (k == i)
        return END_NONE;
    unsigned char last = t[k - 1];
    if (last == ',' || last == ';' || last == '(' || last == '/' || last == '&' || last == '+' ||
        last == '-')
        return END_JOIN;
    if (medner__tx_lower(last) && k - i < 12) {
        char word[12];
        size_t w = i;
        while (w < k && opener(t[w]))
            w++;
        for (size_t x = w; x < k; x++)
            word[x - w] = (char)t[x];
        word[k - w] = '\0';
        return in_list(JOINERS, MEDNER_ARRAY_LEN(JOINERS), word) ? END_JOIN : END_NONE;
    }
    if (last != '.' && last != '?' && last != '!')
        return END_NONE;
    size_t p = k;
    int question = 0;
    while (p > i && (t[p - 1] == '.' || t[p - 1] == '?' || t[p - 1] == '!'))
        question |= t[--p] != '.';
    if (question)
        return END_STOP;
    /* "(Jinan, China.) plus ...": a '.' closing a parenthesis inside a sentence */
    if (bracket && j < b && medner__tx_lower(t[j]))
        return END_NONE;
    if (k - p >= 2) /* "..." */
        return END_ABBREV;
    size_t w = i;
    while (w < p && opener(t[w]))
        w++;
    char word[24];
    if (p - w == 0 || p - w >= sizeof word)
        return END_STOP;
    for (size_t x = w; x < p; x++)
        word[x - w] = (char)(medner__tx_upper(t[x]) ? t[x] - 'A' + 'a' : t[x]);
    word[p - w] = '\0';
    if (strcmp(word, "no") == 0) /* "No. 5", not "Fever? No." */
        return j < b && medner__tx_digit(t[j]) ? END_TITLE : END_STOP;
    if (in_list(TITLES, MEDNER_ARRAY_LEN(TITLES), word))
        return END_TITLE;
    /* an initial or a genus: "J. Smith", "S. aureus" */
    if (in_list(ABBREVS, MEDNER_ARRAY_LEN(ABBREVS), word) || dotted(word) ||
        (p - w == 1 && medner__tx_upper(t[w])))
        return END_ABBREV;
    return END_STOP;
}

int medner__sentences_split(const char *text, size_t len, medner__span **out, size_t *n)
{
    splitter s = { (const unsigned char *)text, NULL, 0, 0, 0 };
    const unsigned char *t = s.t;
    enum ending pend = END_FORCE;
    size_t breaks = 0; /* line breaks since the last line with content */
    size_t pos = 0;
    while (pos < len) {
        /* a line ends at '\n', or at a '\r' not followed by '\n' */
        size_t le = pos;
        while (le < len && t[le] != '\n' && !(t[le] == '\r' && (le + 1 == len || t[le + 1] != '\n')))
            le++;
        size_t a = pos, b = le;
        pos = le + 1;
        while (a < b && medner__tx_space(t[a]))
            a++;
        while (b > a && medner__tx_space(t[b - 1]))
            b--;
        if (a == b) {
            breaks += le < len;
            continue;
        }
        size_t gap = breaks; /* 2 or more: a blank line before this one */
        breaks = le < len;

        int lower = 0, upper = 0;
        for (size_t i = a; i < b; i++) {
            lower |= medner__tx_lower(t[i]);
            upper += medner__tx_upper(t[i]) && upper < 2;
        }
        medner__header h;
        int header = medner__text_header_at(text, a, b, 1, &h);
        unsigned num = 0;
        size_t marker = header ? 0 : list_marker(t, a, b, &num);
        int brk;
        if (header || marker || gap >= 2)
            brk = 1;
        else if (pend == END_NONE)
            brk = !(medner__tx_lower(t[a]) || t[a] == ',' || t[a] == ';' || t[a] == ')' ||
                    t[a] == '%');
        else if (pend == END_ABBREV)
            brk = clearly_new(t, a, b);
        else
            brk = pend == END_FORCE || pend == END_STOP;
        if (brk && cut(&s, a) != 0)
            goto oom;

        unsigned list = num;
        size_t i = a;
        int start = brk; /* at the start of a sentence */
        int want = 0;    /* cut before the next token */
        pend = END_NONE;
        if (header) {
            if (cut(&s, h.end) != 0)
                goto oom;
            i = h.end;
            pend = END_FORCE;
        } else if (marker) {
            i = marker;
            start = 0;
        }
        for (;;) {
            while (i < b && medner__tx_space(t[i]))
                i++;
            if (i >= b)
                break;
            size_t te = token_end(t, i, b);
            if (want) {
                if (only_closers(t, i, te)) {
                    i = te;
                    continue;
                }
                if (cut(&s, i) != 0)
                    goto oom;
                want = 0;
                start = 1;
            }
            if (start) {
                /* "No fever. PLAN: ...": a header right after a sentence end */
                if (i > a && medner__text_header_at(text, i, b, 0, &h)) {
                    if (cut(&s, h.end) != 0)
                        goto oom;
                    i = h.end;
                    pend = END_FORCE;
                    continue;
                }
                size_t m = list_marker(t, i, b, &num);
                start = 0;
                if (m) {
                    list = num;
                    i = m;
                    pend = END_NONE;
                    continue;
                }
            } else if (list > 0 && inline_item(t, i, te, list + 1)) {
                /* "1. CHF 2. MI": the next item starts a sentence */
                if (cut(&s, i) != 0)
                    goto oom;
                list++;
                i = te;
                pend = END_NONE;
                continue;
            } else if (is_bullet(t, i, te)) {
                if (cut(&s, i) != 0)
                    goto oom;
            }
            size_t j = te;
            while (j < b && medner__tx_space(t[j]))
                j++;
            pend = token_ending(t, i, te, j, b);
            if (pend == END_STOP || (pend == END_ABBREV && j < b && clearly_new(t, j, b)))
                want = 1;
            i = te;
        }
        if (want)
            pend = END_STOP;
        else if (pend == END_NONE && !lower && upper >= 2)
            pend = END_FORCE; /* "PAST MEDICAL HISTORY" alone: a heading */
    }
    if (cut(&s, len) != 0)
        goto oom;
    *out = s.v;
    *n = s.n;
    return MEDNER_OK;
oom:
    medner__free(s.v);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner__sentences_split: out of memory");
}
