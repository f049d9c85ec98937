/* Section headers of a clinical note: the header table, the matcher shared
 * with the sentence splitter, and medner__sections_detect (docs/text.md). */
#include <string.h>

#include "common/common.h"
#include "text/text_internal.h"

typedef struct header_name {
    const char *name; /* lower case, single spaces */
    size_t len;
    medner_section category;
    int abbrev;       /* 1: only in capitals (HPI, PMH, ...) */
} header_name;

/* Order does not matter: lookups are exact, and the prefix match takes the
 * longest name. */
#define H(name, category, abbrev) { name, sizeof name - 1, category, abbrev }
static const header_name NAMES[] = {
    H("cc", MEDNER_SECTION_CHIEF_COMPLAINT, 1),
    H("chief complaint", MEDNER_SECTION_CHIEF_COMPLAINT, 0),
    H("reason for visit", MEDNER_SECTION_CHIEF_COMPLAINT, 0),
    H("reason for admission", MEDNER_SECTION_CHIEF_COMPLAINT, 0),
    H("reason for consultation", MEDNER_SECTION_CHIEF_COMPLAINT, 0),
    H("reason for consult", MEDNER_SECTION_CHIEF_COMPLAINT, 0),
    H("hpi", MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS, 1),
    H("history of present illness", MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS, 0),
    H("history of the present illness", MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS, 0),
    H("present illness", MEDNER_SECTION_HISTORY_OF_PRESENT_ILLNESS, 0),
    H("pmh", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 1),
    H("pmhx", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 1),
    H("past medical history", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 0),
    H("past medical hx", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 0),
    H("medical history", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 0),
    H("past history", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 0),
    H("past medical and surgical history", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 0),
    H("past medical/surgical history", MEDNER_SECTION_PAST_MEDICAL_HISTORY, 0),
    H("psh", MEDNER_SECTION_PAST_SURGICAL_HISTORY, 1),
    H("past surgical history", MEDNER_SECTION_PAST_SURGICAL_HISTORY, 0),
    H("past surgical hx", MEDNER_SECTION_PAST_SURGICAL_HISTORY, 0),
    H("surgical history", MEDNER_SECTION_PAST_SURGICAL_HISTORY, 0),
    H("surgical hx", MEDNER_SECTION_PAST_SURGICAL_HISTORY, 0),
    H("fh", MEDNER_SECTION_FAMILY_HISTORY, 1),
    H("fhx", MEDNER_SECTION_FAMILY_HISTORY, 1),
    H("family history", MEDNER_SECTION_FAMILY_HISTORY, 0),
    H("family hx", MEDNER_SECTION_FAMILY_HISTORY, 0),
    H("sh", MEDNER_SECTION_SOCIAL_HISTORY, 1),
    H("shx", MEDNER_SECTION_SOCIAL_HISTORY, 1),
    H("social history", MEDNER_SECTION_SOCIAL_HISTORY, 0),
    H("social hx", MEDNER_SECTION_SOCIAL_HISTORY, 0),
    H("medications", MEDNER_SECTION_MEDICATIONS, 0),
    H("meds", MEDNER_SECTION_MEDICATIONS, 0),
    H("home medications", MEDNER_SECTION_MEDICATIONS, 0),
    H("home meds", MEDNER_SECTION_MEDICATIONS, 0),
    H("current medications", MEDNER_SECTION_MEDICATIONS, 0),
    H("current meds", MEDNER_SECTION_MEDICATIONS, 0),
    H("discharge medications", MEDNER_SECTION_MEDICATIONS, 0),
    H("discharge meds", MEDNER_SECTION_MEDICATIONS, 0),
    H("medications on admission", MEDNER_SECTION_MEDICATIONS, 0),
    H("admission medications", MEDNER_SECTION_MEDICATIONS, 0),
    H("outpatient medications", MEDNER_SECTION_MEDICATIONS, 0),
    H("allergies", MEDNER_SECTION_ALLERGIES, 0),
    H("allergy", MEDNER_SECTION_ALLERGIES, 0),
    H("drug allergies", MEDNER_SECTION_ALLERGIES, 0),
    H("ros", MEDNER_SECTION_REVIEW_OF_SYSTEMS, 1),
    H("review of systems", MEDNER_SECTION_REVIEW_OF_SYSTEMS, 0),
    H("pe", MEDNER_SECTION_PHYSICAL_EXAM, 1),
    H("physical exam", MEDNER_SECTION_PHYSICAL_EXAM, 0),
    H("physical examination", MEDNER_SECTION_PHYSICAL_EXAM, 0),
    H("exam", MEDNER_SECTION_PHYSICAL_EXAM, 0),
    H("examination", MEDNER_SECTION_PHYSICAL_EXAM, 0),
    H("vitals", MEDNER_SECTION_PHYSICAL_EXAM, 0),
    H("vital signs", MEDNER_SECTION_PHYSICAL_EXAM, 0),
    H("labs", MEDNER_SECTION_RESULTS, 0),
    H("lab results", MEDNER_SECTION_RESULTS, 0),
    H("laboratory", MEDNER_SECTION_RESULTS, 0),
    H("laboratory data", MEDNER_SECTION_RESULTS, 0),
    H("laboratory results", MEDNER_SECTION_RESULTS, 0),
    H("pertinent results", MEDNER_SECTION_RESULTS, 0),
    H("results", MEDNER_SECTION_RESULTS, 0),
    H("studies", MEDNER_SECTION_RESULTS, 0),
    H("imaging", MEDNER_SECTION_RESULTS, 0),
    H("a/p", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 1),
    H("a&p", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 1),
    H("assessment and plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("assessment & plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("assessment/plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("assessment", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("impression", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("impression and plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("impression & plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("impression/plan", MEDNER_SECTION_ASSESSMENT_AND_PLAN, 0),
    H("hospital course", MEDNER_SECTION_HOSPITAL_COURSE, 0),
    H("brief hospital course", MEDNER_SECTION_HOSPITAL_COURSE, 0),
};
#undef H

static int name_char(unsigned char c)
{
    return medner__tx_alpha(c) || c == ' ' || c == '\t' || c == '&' || c == '/' || c == '-' ||
           c == '(' || c == ')' || c == '\'';
}

int medner__text_header_at(const char *text, size_t a, size_t b, int line_start,
                           medner__header *h)
{
    const unsigned char *t = (const unsigned char *)text;
    if (a >= b || !medner__tx_alpha(t[a]))
        return 0;
    size_t lim = b - a > MEDNER__HEADER_MAX ? a + MEDNER__HEADER_MAX : b;
    size_t i = a;
    int lower = 0, upper = 0;
    for (; i < lim && t[i] != ':'; i++) {
        if (!name_char(t[i]))
            return 0;
        lower |= medner__tx_lower(t[i]);
        upper += medner__tx_upper(t[i]);
    }
    int colon;
    if (i < b && t[i] == ':')
        colon = 1;
    else if (i == b && line_start)
        colon = 0;
    else
        return 0;
    /* "TIME:10" or "http://" is not a header: ':' ends the line or a blank follows */
    if (colon && i + 1 < b && !medner__tx_blank(t[i + 1]))
        return 0;
    size_t name_end = i;
    while (name_end > a && medner__tx_blank(t[name_end - 1]))
        name_end--;

    /* lower case, blanks collapsed */
    char key[MEDNER__HEADER_MAX + 1];
    size_t k = 0;
    for (size_t j = a; j < name_end; j++) {
        unsigned char c = t[j];
        if (medner__tx_blank(c)) {
            if (k > 0 && key[k - 1] == ' ')
                continue;
            c = ' ';
        } else if (medner__tx_upper(c)) {
            c = (unsigned char)(c - 'A' + 'a');
        }
        key[k++] = (char)c;
    }
    key[k] = '\0';

    medner_section cat = MEDNER_SECTION_NONE;
    for (size_t j = 0; j < MEDNER_ARRAY_LEN(NAMES); j++)
        if (NAMES[j].len == k && memcmp(key, NAMES[j].name, k) == 0) {
            /* abbreviations, and any name alone on its line, only in capitals */
            if ((NAMES[j].abbrev || !colon) && lower)
                return 0;
            cat = NAMES[j].category;
            break;
        }
    if (cat == MEDNER_SECTION_NONE) {
        if (!colon || lower || upper < 3)
            return 0;
        /* "WBC: 12.1", "TEMP: 98.6" label a value, they do not open a section */
        size_t j = i + 1;
        for (size_t skip = 0; j < b && skip < 8 && medner__tx_blank(t[j]); skip++)
            j++;
        if (j < b && medner__tx_digit(t[j]))
            return 0;
        /* "PHYSICAL EXAMINATION ON ADMISSION:" files under its known prefix */
        size_t best = 0;
        cat = MEDNER_SECTION_OTHER;
        for (size_t e = 0; e < MEDNER_ARRAY_LEN(NAMES); e++) {
            size_t n = NAMES[e].len;
            if (n > best && n < k && memcmp(key, NAMES[e].name, n) == 0 &&
                (key[n] == ' ' || key[n] == '/' || key[n] == '&' || key[n] == '(' ||
                 key[n] == '-')) {
                best = n;
                cat = NAMES[e].category;
            }
        }
    }
    h->name_begin = a;
    h->name_end = name_end;
    h->end = colon ? i + 1 : name_end;
    h->category = cat;
    return 1;
}

uint32_t medner__section_implies(medner_section category)
{
    switch (category) {
    case MEDNER_SECTION_FAMILY_HISTORY:
        return MEDNER_CONTEXT_FAMILY;
    case MEDNER_SECTION_PAST_MEDICAL_HISTORY:
    case MEDNER_SECTION_PAST_SURGICAL_HISTORY:
        return MEDNER_CONTEXT_HISTORICAL;
    default:
        return 0;
    }
}

typedef struct sec_list {
    medner__section *v;
    size_t n, cap;
} sec_list;

static int push(sec_list *l, size_t begin, size_t hb, size_t he, medner_section cat)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8, bytes;
        if (medner__mul_size(cap, sizeof *l->v, &bytes) != 0)
            return -1;
        medner__section *v = medner__realloc(l->v, bytes);
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    medner__section *s = &l->v[l->n++];
    s->begin = begin;
    s->end = 0; /* set once the next section is known */
    s->header_begin = hb;
    s->header_end = he;
    s->category = cat;
    return 0;
}

int medner__sections_detect(const char *text, size_t len, medner__section **out, size_t *n)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t first = 0;
    while (first < len && medner__tx_space(t[first]))
        first++;
    if (first == len) {
        *out = NULL;
        *n = 0;
        return MEDNER_OK;
    }
    sec_list l = { NULL, 0, 0 };
    for (size_t pos = first; pos < len;) {
        size_t le = pos;
        while (le < len && t[le] != '\n' && t[le] != '\r')
            le++;
        size_t a = pos, b = le;
        while (a < b && medner__tx_blank(t[a]))
            a++;
        while (b > a && medner__tx_blank(t[b - 1]))
            b--;
        medner__header h;
        if (a < b && medner__text_header_at(text, a, b, 1, &h)) {
            if (l.n == 0 && a > first && push(&l, first, first, first, MEDNER_SECTION_NONE) != 0)
                goto oom;
            if (push(&l, a, h.name_begin, h.name_end, h.category) != 0)
                goto oom;
        }
        pos = le + 1;
    }
    if (l.n == 0 && push(&l, first, first, first, MEDNER_SECTION_NONE) != 0)
        goto oom;
    for (size_t i = 0; i + 1 < l.n; i++)
        l.v[i].end = l.v[i + 1].begin;
    l.v[l.n - 1].end = len;
    *out = l.v;
    *n = l.n;
    return MEDNER_OK;
oom:
    medner__free(l.v);
    return medner__fail(MEDNER_E_OUT_OF_MEMORY, "medner__sections_detect: out of memory");
}
