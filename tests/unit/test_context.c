/* ConText (src/context/context.c, docs/context.md): each rule behaviour on
 * small rule files, the built-in rules on clinical sentences, rule-file
 * errors with their file:line:column, allocation failures. Sentences are
 * given (one per line) to medner__context_apply_sentences, so this test
 * needs nothing of src/text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "failalloc.h"
#include "tmpdir.h"

#include "common/common.h"
#include "context/context.h"

#define NEG MEDNER_CONTEXT_NEGATED
#define UNC MEDNER_CONTEXT_UNCERTAIN
#define HIS MEDNER_CONTEXT_HISTORICAL
#define HYP MEDNER_CONTEXT_HYPOTHETICAL
#define FAM MEDNER_CONTEXT_FAMILY

/* ---- helpers ------------------------------------------------------------- */

static medner_context_rules *rules_from(const char *yaml)
{
    medner_context_rules *r = NULL;
    int rc = medner__context_rules_parse(&r, yaml, strlen(yaml), "r.yaml");
    if (rc != MEDNER_OK)
        fail_msg("parse: %s", medner_last_error());
    return r;
}

/* One sentence per non-empty line (trimmed). */
static size_t split_lines(const char *text, medner__span *out, size_t cap)
{
    size_t n = 0, len = strlen(text), i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        size_t b = i, f = e;
        while (b < f && text[b] == ' ')
            b++;
        while (f > b && text[f - 1] == ' ')
            f--;
        if (b < f) {
            assert_true(n < cap);
            out[n++] = (medner__span){ b, f };
        }
        i = e + 1;
    }
    return n;
}

/* Flags of the targets named by substrings (the k-th target is the first
 * occurrence of targets[k] at or after the previous target's begin). */
static void apply_labels(const medner_context_rules *r, const char *text,
                         const char *const *targets, const char *const *labels, size_t n,
                         uint32_t *flags)
{
    medner__span sent[64];
    size_t ns = split_lines(text, sent, 64);
    medner__ctx_target t[16];
    assert_true(n <= 16);
    const char *from = text;
    for (size_t k = 0; k < n; k++) {
        const char *p = strstr(from, targets[k]);
        if (p == NULL)
            fail_msg("target \"%s\" not in \"%s\"", targets[k], text);
        t[k] = (medner__ctx_target){ (size_t)(p - text), (size_t)(p - text) + strlen(targets[k]),
                                     labels ? labels[k] : NULL, 0xDEAD, MEDNER_SECTION_OTHER, 77 };
        from = p;
    }
    int rc = medner__context_apply_sentences(r, text, strlen(text), sent, ns, NULL, 0, t, n);
    if (rc != MEDNER_OK)
        fail_msg("apply: %s", medner_last_error());
    for (size_t k = 0; k < n; k++) {
        flags[k] = t[k].flags;
        assert_int_equal(t[k].section, MEDNER_SECTION_NONE);
    }
}

static uint32_t flags1(const medner_context_rules *r, const char *text, const char *target)
{
    uint32_t f;
    apply_labels(r, text, &target, NULL, 1, &f);
    return f;
}

static uint32_t flags1_label(const medner_context_rules *r, const char *text, const char *target,
                             const char *label)
{
    uint32_t f;
    apply_labels(r, text, &target, &label, 1, &f);
    return f;
}

static void expect(const medner_context_rules *r, const char *text, const char *target,
                   uint32_t want)
{
    uint32_t got = flags1(r, text, target);
    if (got != want)
        fail_msg("\"%s\" / \"%s\": flags %#x, expected %#x", text, target, got, want);
}

/* ---- rule behaviours ----------------------------------------------------- */

static void test_directions(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - phrases: [no, denies]\n"
                                         "    category: negated\n"
                                         "    direction: forward\n"
                                         "  - phrases: [ruled out]\n"
                                         "    category: negated\n"
                                         "    direction: backward\n"
                                         "  - phrases: [versus]\n"
                                         "    category: uncertain\n"
                                         "    direction: bidirectional\n");
    expect(r, "no fever", "fever", NEG);
    expect(r, "fever no", "fever", 0);
    expect(r, "Patient DENIES chest pain today.", "chest pain", NEG);
    expect(r, "MI was ruled out.", "MI", NEG);
    expect(r, "ruled out MI", "MI", 0);
    expect(r, "pneumonia versus bronchitis", "pneumonia", UNC);
    expect(r, "pneumonia versus bronchitis", "bronchitis", UNC);
    expect(r, "cough", "cough", 0);
    medner__context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_words_and_case(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - phrases: [h/o, \"negative  FOR\"]\n"
                                         "    category: historical\n"
                                         "    direction: forward\n");
    expect(r, "h/o stroke", "stroke", HIS);
    expect(r, "H / O stroke", "stroke", HIS);
    expect(r, "Negative for stroke", "stroke", HIS);
    expect(r, "ho stroke", "stroke", 0);        /* h/o is three words */
    expect(r, "h/oo stroke", "stroke", 0);      /* word boundaries */
    expect(r, "h/o\xC2\xA0stroke", "stroke", HIS); /* no-break space */
    medner__context_rules_free(r);
}

static void test_pseudo_and_termination(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - {phrases: [no], category: negated, direction: forward}\n"
                                         "  - {phrases: [resolved], category: negated, direction: backward}\n"
                                         "  - {phrases: [no increase, gram negative], category: pseudo}\n"
                                         "  - {phrases: [but, aside from], category: terminate}\n");
    expect(r, "No increase in pain.", "pain", 0);
    expect(r, "no fever but cough", "fever", NEG);
    expect(r, "no fever but cough", "cough", 0);
    expect(r, "no fever aside from cough", "cough", 0);
    expect(r, "cough but rash resolved", "rash", NEG);
    expect(r, "cough but rash resolved", "cough", 0);
    /* a pseudo-trigger blocks only what it covers */
    expect(r, "no increase in pain, no fever", "fever", NEG);
    medner__context_rules_free(r);
}

static void test_scope_limits(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - {phrases: [no], category: negated, direction: forward,"
                                         " max_scope: 2}\n"
                                         "  - {phrases: [ago], category: historical, direction: backward,"
                                         " max_scope: 1}\n"
                                         "  - {phrases: [denies], category: negated, direction: forward}\n");
    expect(r, "no fever or chills", "fever", NEG);
    expect(r, "no fever or chills", "or", NEG);
    expect(r, "no fever or chills", "chills", 0); /* third word */
    expect(r, "stroke ago", "stroke", HIS);
    expect(r, "stroke years ago", "stroke", 0);
    /* to the sentence edge, never past it */
    expect(r, "denies a b c d e f g h i j k l m n o p fever", "fever", NEG);
    expect(r, "denies pain\ncough", "cough", 0);
    expect(r, "cough\ndenies pain", "pain", NEG);
    /* a target overlapping the edge of the scope is modified */
    uint32_t f;
    const char *t = "chills today";
    apply_labels(r, "no fever chills today", &t, NULL, 1, &f);
    assert_int_equal(f, NEG);
    medner__context_rules_free(r);
}

static void test_labels(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - phrases: [no]\n"
                                         "    category: negated\n"
                                         "    direction: forward\n"
                                         "    labels: [Sign_symptom, problem]\n"
                                         "  - phrases: [history of]\n"
                                         "    category: historical\n"
                                         "    direction: forward\n"
                                         "    exclude_labels: [Medication]\n");
    assert_int_equal(flags1_label(r, "no fever", "fever", "Sign_symptom"), NEG);
    assert_int_equal(flags1_label(r, "no fever", "fever", "B-SIGN_SYMPTOM"), NEG);
    assert_int_equal(flags1_label(r, "no fever", "fever", "i-Problem"), NEG);
    assert_int_equal(flags1_label(r, "no fever", "fever", "Test"), 0);
    assert_int_equal(flags1_label(r, "no fever", "fever", NULL), 0);
    assert_int_equal(flags1_label(r, "no fever", "fever", "Sign"), 0);
    assert_int_equal(flags1_label(r, "history of aspirin", "aspirin", "Medication"), 0);
    assert_int_equal(flags1_label(r, "history of aspirin", "aspirin", "B-medication"), 0);
    assert_int_equal(flags1_label(r, "history of stroke", "stroke", "Disease"), HIS);
    assert_int_equal(flags1_label(r, "history of stroke", "stroke", NULL), HIS);
    medner__context_rules_free(r);
}

static void test_terminated_by(void **state)
{
    (void)state;
    const char *base = "rules:\n"
                       "  - {phrases: [no], category: negated, direction: forward}\n"
                       "  - {phrases: [possible], category: uncertain, direction: backward}\n"
                       "  - phrases: [history of]\n"
                       "    category: historical\n"
                       "    direction: bidirectional\n";
    char yaml[512];
    medner_context_rules *plain = rules_from(base);
    snprintf(yaml, sizeof yaml, "%s    terminated_by: [negated, uncertain]\n", base);
    medner_context_rules *term = rules_from(yaml);
    expect(plain, "history of asthma, no fever", "fever", NEG | HIS);
    expect(term, "history of asthma, no fever", "fever", NEG);
    expect(term, "history of asthma, no fever", "asthma", HIS);
    /* backward too: the scope starts after the terminating trigger */
    expect(plain, "stroke possible, seizure history of", "stroke", UNC | HIS);
    expect(term, "stroke possible, seizure history of", "stroke", UNC);
    expect(term, "stroke possible, seizure history of", "seizure", HIS);
    /* a trigger of the same category and label filter ends a scope
     * (medspaCy): "no"'s scope stops at "denies", whose own reaches 1 word */
    medner_context_rules *same = rules_from(
        "rules:\n"
        "  - {phrases: [no], category: negated, direction: forward}\n"
        "  - {phrases: [denies], category: negated, direction: forward, max_scope: 1}\n"
        "  - {phrases: [nope], category: negated, direction: forward, max_scope: 1,"
        " labels: [X]}\n");
    expect(same, "no a denies b c fever", "fever", 0);
    expect(same, "no a denies b c fever", "b", NEG);
    expect(same, "no a nope b c fever", "fever", NEG); /* another label filter */
    medner__context_rules_free(same);
    /* the first scope ends at the second trigger, whose scope covers copd */
    expect(term, "history of asthma history of copd", "copd", HIS);
    medner__context_rules_free(plain);
    medner__context_rules_free(term);
}

static void test_overlapping_triggers(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - {phrases: [no], category: negated, direction: forward}\n"
                                         "  - {phrases: [no evidence of], category: uncertain,"
                                         " direction: forward}\n"
                                         "  - {phrases: [a b], category: family, direction: forward}\n"
                                         "  - {phrases: [b c], category: historical, direction: forward}\n");
    expect(r, "no evidence of pneumonia", "pneumonia", UNC);
    expect(r, "no pneumonia", "pneumonia", NEG);
    /* same length: the earlier match wins */
    expect(r, "a b c x", "x", FAM);
    expect(r, "a b c x", "c", FAM);
    medner__context_rules_free(r);
}

static void test_targets_and_triggers(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - {phrases: [no fever], category: negated,"
                                         " direction: bidirectional}\n");
    /* inside the trigger: not modified by it */
    expect(r, "cough no fever rash", "fever", 0);
    expect(r, "cough no fever rash", "no fever", 0);
    expect(r, "cough no fever rash", "rash", NEG);
    expect(r, "cough no fever rash", "cough", NEG);
    /* overlapping the trigger and its scope: not modified by that trigger
     * (medspaCy), but by another one of the rule */
    expect(r, "cough no fever rash", "fever rash", 0);
    expect(r, "cough no fever rash", "cough no", 0);
    expect(r, "no fever rash no fever", "rash no", NEG);
    /* the second trigger's backward scope ends at the first (same rule) */
    expect(r, "no fever x y no fever", "fever x", NEG);
    expect(r, "no fever x y no fever", "fever x y no", 0);
    medner__context_rules_free(r);
}

/* Targets in any order, overlapping each other; sections and sentences. */
static void test_order_sections_sentences(void **state)
{
    (void)state;
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - {phrases: [no], category: negated, direction: forward}\n");
    const char *text = "PMH: asthma.\n\nROS: no fever or chills. Cough.";
    size_t len = strlen(text);
    const char *ros = strstr(text, "ROS");
    medner__span sent[3] = { { 0, 12 }, { (size_t)(ros - text), (size_t)(ros - text) + 24 },
                             { len - 6, len } };
    medner__section sec[2] = {
        { 0, (size_t)(ros - text), 0, 3, MEDNER_SECTION_PAST_MEDICAL_HISTORY },
        { (size_t)(ros - text), len, (size_t)(ros - text), (size_t)(ros - text) + 3,
          MEDNER_SECTION_REVIEW_OF_SYSTEMS }
    };
    size_t fever = (size_t)(strstr(text, "fever") - text), chills = fever + 9;
    size_t cough = len - 6;
    medner__ctx_target t[5] = {
        { cough, cough + 5, NULL, 9, MEDNER_SECTION_NONE, 9 },
        { chills, chills + 6, "X", 9, MEDNER_SECTION_NONE, 9 },
        { fever, chills + 6, NULL, 9, MEDNER_SECTION_NONE, 9 },
        { 5, 11, NULL, 9, MEDNER_SECTION_NONE, 9 },
        { fever, fever + 5, NULL, 9, MEDNER_SECTION_NONE, 9 },
    };
    assert_int_equal(medner__context_apply_sentences(r, text, len, sent, 3, sec, 2, t, 5),
                     MEDNER_OK);
    assert_int_equal(t[0].flags, 0);
    assert_int_equal(t[0].sentence, 2);
    assert_int_equal(t[0].section, MEDNER_SECTION_REVIEW_OF_SYSTEMS);
    assert_int_equal(t[1].flags, NEG);
    assert_int_equal(t[1].sentence, 1);
    assert_int_equal(t[2].flags, NEG);
    assert_int_equal(t[3].flags, 0); /* implications are added by medner__context_apply */
    assert_int_equal(t[3].section, MEDNER_SECTION_PAST_MEDICAL_HISTORY);
    assert_int_equal(t[3].sentence, 0);
    assert_int_equal(t[4].flags, NEG);
    assert_int_equal(t[4].section, MEDNER_SECTION_REVIEW_OF_SYSTEMS);
    /* a target from "fever" to the end overlaps the scope in sentence 1
     * (but not its trigger) */
    medner__ctx_target whole = { fever, len, NULL, 0, MEDNER_SECTION_NONE, 0 };
    assert_int_equal(medner__context_apply_sentences(r, text, len, sent, 3, sec, 2, &whole, 1),
                     MEDNER_OK);
    assert_int_equal(whole.flags, NEG);
    assert_int_equal(whole.sentence, 1);
    whole.begin = 0; /* over the trigger too: not modified by it (medspaCy) */
    assert_int_equal(medner__context_apply_sentences(r, text, len, sent, 3, sec, 2, &whole, 1),
                     MEDNER_OK);
    assert_int_equal(whole.flags, 0);
    whole.begin = len - 5; /* "ough." after the scope: not negated */
    assert_int_equal(medner__context_apply_sentences(r, text, len, sent, 3, sec, 2, &whole, 1),
                     MEDNER_OK);
    assert_int_equal(whole.flags, 0);
    /* no sentences: nothing matched, sentence SIZE_MAX */
    assert_int_equal(medner__context_apply_sentences(r, text, len, NULL, 0, NULL, 0, t, 5),
                     MEDNER_OK);
    assert_int_equal(t[1].flags, 0);
    assert_int_equal(t[1].sentence, SIZE_MAX);
    assert_int_equal(t[1].section, MEDNER_SECTION_NONE);
    /* n == 0 with NULL targets */
    assert_int_equal(medner__context_apply_sentences(r, text, len, sent, 3, sec, 2, NULL, 0),
                     MEDNER_OK);
    medner__context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_apply_errors(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_load(&r, NULL), MEDNER_OK);
    const char *text = "no fever";
    medner__span s = { 0, 8 };
    medner__ctx_target t[2] = { { 3, 8, NULL, 5, MEDNER_SECTION_OTHER, 5 },
                                { 4, 4, NULL, 5, MEDNER_SECTION_OTHER, 5 } };
    assert_int_equal(medner__context_apply_sentences(r, text, 8, &s, 1, NULL, 0, t, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_string_equal(medner_last_error(),
                        "context: span 1 is empty or ends past the text (8 bytes)");
    assert_int_equal(t[0].flags, 5); /* untouched */
    t[1].end = 9;
    assert_int_equal(medner__context_apply_sentences(r, text, 8, &s, 1, NULL, 0, t, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_null(strstr(medner_last_error(), "fever")); /* never the text */
    t[1].end = 8;
    medner__span bad[2] = { { 0, 5 }, { 3, 8 } };
    assert_int_equal(medner__context_apply_sentences(r, text, 8, bad, 2, NULL, 0, t, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_string_equal(medner_last_error(), "context: sentence 1 is out of range or out of order");
    medner__section sec = { 0, 9, 0, 0, MEDNER_SECTION_OTHER };
    assert_int_equal(medner__context_apply_sentences(r, text, 8, &s, 1, &sec, 1, t, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__context_apply_sentences(NULL, text, 8, &s, 1, NULL, 0, t, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__context_apply_sentences(r, NULL, 8, &s, 1, NULL, 0, t, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__context_apply_sentences(r, text, 8, &s, 1, NULL, 0, NULL, 2),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(t[0].flags, 5);
    assert_int_equal(medner__context_apply_sentences(r, text, 8, &s, 1, NULL, 0, t, 2), MEDNER_OK);
    assert_int_equal(t[0].flags, NEG);
    assert_int_equal(t[1].flags, NEG);
    medner__context_rules_free(r);
    medner__context_rules_free(NULL);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- the built-in rules -------------------------------------------------- */

typedef struct clinical {
    const char *text, *target;
    uint32_t flags;
} clinical;

static const clinical sentences[] = {
    { "Patient denies chest pain.", "chest pain", NEG },
    { "Mother had breast cancer.", "breast cancer", FAM },
    { "No increase in pain.", "pain", 0 },
    { "History of MI.", "MI", HIS },
    { "Return if fever develops.", "fever", HYP },
    { "Possible pneumonia.", "pneumonia", UNC },
    { "No fever but has cough.", "cough", 0 },
    { "No fever but has cough.", "fever", NEG },
    { "No fever, chills, or night sweats.", "night sweats", NEG },
    { "She is without shortness of breath.", "shortness of breath", NEG },
    { "CT negative for pulmonary embolism.", "pulmonary embolism", NEG },
    { "No evidence of metastatic disease.", "metastatic disease", NEG },
    { "Myocardial infarction was ruled out.", "Myocardial infarction", NEG },
    { "Her rash has resolved.", "rash", NEG },
    { "Bowel sounds absent.", "Bowel sounds", NEG },
    { "He is now pain-free.", "pain", NEG },
    { "Blood cultures were negative.", "Blood cultures", NEG },
    { "Pneumonia unlikely.", "Pneumonia", NEG },
    { "Gram negative rods in the urine.", "rods", 0 },
    { "No change in the lesion.", "lesion", 0 },
    { "Rule out pulmonary embolism.", "pulmonary embolism", UNC },
    { "CXR r/o pneumonia.", "pneumonia", UNC },
    { "Concern for sepsis.", "sepsis", UNC },
    { "Appendicitis cannot be excluded.", "Appendicitis", UNC },
    { "Pneumonia versus atelectasis.", "atelectasis", UNC },
    { "Pneumonia versus atelectasis.", "Pneumonia", UNC },
    { "Findings suspicious for malignancy.", "malignancy", UNC },
    { "Likely viral gastroenteritis.", "viral gastroenteritis", UNC },
    { "Patient has a h/o diabetes.", "diabetes", HIS },
    { "Status post appendectomy.", "appendectomy", HIS },
    { "S/p CABG in 2010.", "CABG", HIS },
    { "Prior stroke with no residual deficits.", "stroke", HIS },
    { "Prior stroke with no residual deficits.", "residual deficits", NEG },
    { "She had a stroke 5 years ago.", "stroke", HIS },
    { "Call if chest pain recurs.", "chest pain", HYP },
    { "Tylenol as needed for headache.", "headache", HYP },
    { "Ibuprofen prn pain.", "pain", HYP },
    { "Albuterol inhaler as needed.", "Albuterol inhaler", 0 },
    { "Lisinopril 10 mg daily, albuterol as needed.", "10 mg daily", 0 },
    { "A 3-day history of fever and productive cough.", "productive cough", 0 },
    { "Two days history of vomiting.", "vomiting", 0 },
    { "A long history of asthma.", "asthma", HIS },
    { "Family history of colon cancer.", "colon cancer", FAM },
    { "Colon cancer in his father.", "Colon cancer", FAM },
    { "Her sister has lupus.", "lupus", FAM },
    { "Paternal grandmother with Alzheimer disease.", "Alzheimer disease", FAM },
    { "Mother had breast cancer, patient denies chest pain.", "chest pain", NEG },
    { "No history of asthma.", "asthma", NEG },
    { "Denies fever, chills.", "chills", NEG },
    { "Patient presents with chest pain.", "chest pain", 0 },
    { "The patient reports chest pain radiating to the left arm.", "chest pain", 0 },
    { "Denies headache; reports nausea.", "nausea", 0 },
    { "Fever prior to admission.", "Fever", 0 },
    { "Patient was admitted for pneumonia.", "pneumonia", 0 },
    { "Diabetes mellitus type 2, well controlled.", "Diabetes mellitus", 0 },
    { "Free T4 was low.", "T4", 0 },
    { "Not only fever but also cough.", "fever", 0 },
    { "No acute distress.", "acute distress", NEG },
    { "Patient denies any nausea or vomiting.", "vomiting", NEG },
    { "He no longer has chest pain.", "chest pain", NEG },
    { "Allergies: none.", "Allergies", NEG },
    { "Seizures are not evident.", "Seizures", NEG },
    { "No fever because of the antipyretics.", "antipyretics", 0 },
};

static void test_default_rules(void **state)
{
    (void)state;
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_load(&r, NULL), MEDNER_OK);
    int failures = 0;
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(sentences); i++) {
        uint32_t got = flags1(r, sentences[i].text, sentences[i].target);
        if (got != sentences[i].flags) {
            print_error("\"%s\" / \"%s\": flags %#x, expected %#x\n", sentences[i].text,
                        sentences[i].target, got, sentences[i].flags);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
    medner__context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

/* The file in the source tree is the text compiled into the library. */
static void test_default_rules_embedded(void **state)
{
    (void)state;
    char *file = NULL;
    size_t len = 0, elen = 0;
    assert_int_equal(medner__read_file("src/context/default_rules.yaml", 1 << 20, &file, &len),
                     MEDNER_OK);
    const char *embedded = medner__context_default_rules(&elen);
    assert_int_equal(elen, len);
    assert_memory_equal(embedded, file, len);
    assert_int_equal(embedded[elen], '\0');
    /* and it is a complete rule file */
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_parse(&r, file, len, "default_rules.yaml"), MEDNER_OK);
    expect(r, "denies cough", "cough", NEG);
    medner__context_rules_free(r);
    medner__free(file);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_extends(void **state)
{
    (void)state;
    /* "no" redefined: the user's rule decides; the other defaults remain */
    medner_context_rules *r = rules_from("rules:\n"
                                         "  - {phrases: [No], category: uncertain, direction: forward}\n"
                                         "  - {phrases: [zz top], category: family, direction: forward}\n"
                                         "extends: default\n");
    expect(r, "no fever", "fever", UNC);
    expect(r, "denies fever", "fever", NEG);
    expect(r, "zz top fever", "fever", FAM);
    expect(r, "Mother had breast cancer.", "breast cancer", FAM);
    medner__context_rules_free(r);
    /* without extends: only the file's rules */
    r = rules_from("rules:\n  - {phrases: [zz], category: family, direction: forward}\n");
    expect(r, "denies fever", "fever", 0);
    expect(r, "zz fever", "fever", FAM);
    medner__context_rules_free(r);
    /* an empty rule set is valid and modifies nothing */
    r = rules_from("rules: []\n");
    expect(r, "no fever", "fever", 0);
    medner__context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- rule-file errors ---------------------------------------------------- */

typedef struct bad_file {
    const char *yaml, *message;
} bad_file;

static const bad_file bad_files[] = {
    { "", "r.yaml:1:1: empty rule file (expected a mapping with \"rules\")" },
    { "- a\n", "r.yaml:1:1: the top level must be a mapping with \"rules\" (and \"extends\"); "
               "found a list" },
    { "extends: default\n", "r.yaml:1:1: missing \"rules\" (a list of rules; docs/context.md)" },
    { "rule: []\n", "r.yaml:1:1: unknown key \"rule\" (expected extends or rules)" },
    { "rules: []\nrules: []\n", "r.yaml:2:1: duplicate key \"rules\" (first at 1:1)" },
    { "extends: defaults\nrules: []\n",
      "r.yaml:1:10: \"extends\" must be default (the built-in rules); found \"defaults\"" },
    { "rules: {}\n", "r.yaml:1:8: \"rules\" must be a list of rules; found a mapping" },
    { "rules:\n  - no\n",
      "r.yaml:2:5: a rule must be a mapping with phrases, category, ...; found \"no\"" },
    { "rules:\n  - phrase: [no]\n",
      "r.yaml:2:5: unknown key \"phrase\" in a rule (expected one of phrases, category, "
      "direction, max_scope, labels, exclude_labels, terminated_by)" },
    { "rules:\n  - phrases: [no]\n    category: negatd\n    direction: forward\n",
      "r.yaml:3:15: \"category\" must be one of negated, uncertain, historical, hypothetical, "
      "family, pseudo or terminate; found \"negatd\"" },
    { "rules:\n  - phrases: [no]\n    category: negated\n    direction: forwards\n",
      "r.yaml:4:16: \"direction\" must be one of forward, backward or bidirectional; found "
      "\"forwards\"" },
    { "rules:\n  - phrases: []\n    category: negated\n",
      "r.yaml:2:14: \"phrases\" must not be empty" },
    { "rules:\n  - phrases: no\n", "r.yaml:2:14: \"phrases\" must be a list of phrases; found \"no\"" },
    { "rules:\n  - phrases: [\"  \"]\n",
      "r.yaml:2:15: a phrase must have at least one word or punctuation mark; found only spaces" },
    { "rules:\n  - phrases: [\"\"]\n",
      "r.yaml:2:15: a phrase must be a non-empty string (quote words like null, true or "
      "numbers); found \"\"" },
    { "rules:\n  - phrases: [true]\n",
      "r.yaml:2:15: a phrase must be a non-empty string (quote words like null, true or "
      "numbers); found true" },
    { "rules:\n  - phrases: [[a]]\n",
      "r.yaml:2:15: a phrase must be a non-empty string (quote words like null, true or "
      "numbers); found a list" },
    { "rules:\n  - {phrases: [no, denies], category: negated, direction: forward}\n"
      "  - {phrases: [\"Denies\"], category: uncertain, direction: forward}\n",
      "r.yaml:3:16: duplicate phrase (first at 2:20)" },
    { "rules:\n  - {phrases: [h/o, H / O], category: historical, direction: forward}\n",
      "r.yaml:2:21: duplicate phrase (first at 2:16)" },
    { "rules:\n  - {phrases: [no], category: pseudo, direction: forward}\n",
      "r.yaml:2:39: \"direction\" does not apply to a rule of category pseudo (it has no scope; "
      "only phrases and category)" },
    { "rules:\n  - {phrases: [but], category: terminate, labels: [X]}\n",
      "r.yaml:2:43: \"labels\" does not apply to a rule of category terminate (it has no scope; "
      "only phrases and category)" },
    { "rules:\n  - {phrases: [no], category: negated}\n",
      "r.yaml:2:5: a rule of category negated without \"direction\" (forward, backward or "
      "bidirectional)" },
    { "rules:\n  - {phrases: [no], direction: forward}\n",
      "r.yaml:2:5: a rule without \"category\" (negated, uncertain, historical, hypothetical, "
      "family, pseudo or terminate)" },
    { "rules:\n  - {category: negated, direction: forward}\n",
      "r.yaml:2:5: a rule without \"phrases\"" },
    { "rules:\n  - {phrases: [no], category: negated, category: negated}\n",
      "r.yaml:2:40: duplicate key \"category\" in a rule (first at 2:21)" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, max_scope: 0}\n",
      "r.yaml:2:71: \"max_scope\" must be a number of words in [1, 10000]; found 0" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, max_scope: 10001}\n",
      "r.yaml:2:71: \"max_scope\" must be a number of words in [1, 10000]; found 10001" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, max_scope: \"3\"}\n",
      "r.yaml:2:71: \"max_scope\" must be a number of words in [1, 10000]; found \"3\"" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, max_scope: -1}\n",
      "r.yaml:2:71: \"max_scope\" must be a number of words in [1, 10000]; found -1" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, labels: [A],"
      " exclude_labels: [B]}\n",
      "r.yaml:2:73: \"exclude_labels\" and \"labels\" in one rule: give one of them" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, labels: []}\n",
      "r.yaml:2:68: \"labels\" must not be empty (leave it out for every label)" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, labels: [1]}\n",
      "r.yaml:2:69: a label must be an entity label (a non-empty string); found 1" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward,"
      " terminated_by: [pseudo]}\n",
      "r.yaml:2:76: an item of \"terminated_by\" must be one of negated, uncertain, historical, "
      "hypothetical or family (a terminate phrase always ends a scope); found \"pseudo\"" },
    { "rules:\n  - {phrases: [no], category: negated, direction: forward, terminated_by: []}\n",
      "r.yaml:2:75: \"terminated_by\" must not be empty (leave it out)" },
    { "rules: &a []\n", "r.yaml:1:8: anchors (&name) are not supported in a rule file" },
    { "rules: !!seq []\n", "r.yaml:1:8: tags (!tag) are not supported in a rule file" },
    { "rules: [\n", "r.yaml:2:1: YAML syntax error: did not find expected node content "
                   "(while parsing a flow node at 2:1)" },
    { "rules: []\n---\nrules: []\n",
      "r.yaml:2:1: a second YAML document (a rule file is one document)" },
};

static void test_rule_file_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(bad_files); i++) {
        medner_context_rules *r = (medner_context_rules *)(uintptr_t)1;
        int rc = medner__context_rules_parse(&r, bad_files[i].yaml, strlen(bad_files[i].yaml),
                                             "r.yaml");
        if (rc != MEDNER_E_INVALID_CONFIG || strcmp(medner_last_error(), bad_files[i].message))
            fail_msg("file %zu: rc %d, message\n  %s\nexpected\n  %s", i, rc, medner_last_error(),
                     bad_files[i].message);
        assert_ptr_equal(r, (medner_context_rules *)(uintptr_t)1); /* untouched */
        assert_int_equal(medner__live_allocations(), 0);
    }
    /* limits */
    char long_word[258], phrase[600];
    memset(long_word, 'a', 257);
    long_word[257] = '\0';
    snprintf(phrase, sizeof phrase, "rules:\n  - {phrases: [%s]}\n", long_word);
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_parse(&r, phrase, strlen(phrase), "r.yaml"),
                     MEDNER_E_INVALID_CONFIG);
    assert_string_equal(medner_last_error(),
                        "r.yaml:2:16: a phrase has 257 bytes, more than the limit of 256");
    char words[200] = "rules:\n  - {phrases: [\"";
    for (int i = 0; i < 33; i++)
        strcat(words, "a ");
    strcat(words, "\"]}\n");
    assert_int_equal(medner__context_rules_parse(&r, words, strlen(words), "r.yaml"),
                     MEDNER_E_INVALID_CONFIG);
    assert_string_equal(medner_last_error(), "r.yaml:2:16: a phrase has more than 32 words");
    assert_int_equal(medner__context_rules_parse(NULL, "", 0, "r.yaml"),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__context_rules_parse(&r, NULL, 3, "r.yaml"),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__context_rules_load(NULL, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_rule_file_io(void **state)
{
    (void)state;
    tmpdir_make("context");
    char path[160];
    medner_context_rules *r = NULL;
    /* a directory, a device, a missing file */
    assert_int_equal(medner__context_rules_load(&r, tmpdir), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "directory"));
    assert_int_equal(medner__context_rules_load(&r, "/dev/null"), MEDNER_E_IO);
    snprintf(path, sizeof path, "%s/none.yaml", tmpdir);
    assert_int_equal(medner__context_rules_load(&r, path), MEDNER_E_IO);
    /* a file: the message names it */
    snprintf(path, sizeof path, "%s/rules.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("\xEF\xBB\xBFrules:\n  - {phrases: [no], category: negatd}\n", f);
    fclose(f);
    assert_int_equal(medner__context_rules_load(&r, path), MEDNER_E_INVALID_CONFIG);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2:31: \"category\" must be one of negated, uncertain, historical, "
             "hypothetical, family, pseudo or terminate; found \"negatd\"",
             path);
    assert_string_equal(medner_last_error(), want);
    f = fopen(path, "w");
    fputs("extends: default\nrules:\n  - {phrases: [zz], category: family, direction: forward}\n",
          f);
    fclose(f);
    assert_int_equal(medner__context_rules_load(&r, path), MEDNER_OK);
    expect(r, "zz x", "x", FAM);
    expect(r, "no x", "x", NEG);
    medner__context_rules_free(r);
    /* above the size limit */
    f = fopen(path, "w");
    fputs("rules: []\n", f);
    for (size_t i = 0; i < MEDNER__CONTEXT_MAX_FILE / 10; i++)
        fputs("#########\n", f);
    fclose(f);
    assert_int_equal(medner__context_rules_load(&r, path), MEDNER_E_INVALID_CONFIG);
    assert_non_null(strstr(medner_last_error(), "more than the limit"));
    tmpdir_remove();
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_labels_look_clinical(void **state)
{
    (void)state;
    static const char *const maccrobat[] = { "O", "B-Sign_symptom", "I-Sign_symptom",
                                             "B-Diagnostic_procedure" };
    static const char *const i2b2[] = { "O", "B-problem", "B-test", "B-treatment" };
    static const char *const bio[] = { "O", "B-Gene", "I-Gene", "B-Protein", "B-Cell_line" };
    static const char *const ncbi[] = { "O", "B-Disease", "I-Disease" };
    static const char *const drugs[] = { "Medication" };
    assert_int_equal(medner__labels_look_clinical(maccrobat, 4), 1);
    assert_int_equal(medner__labels_look_clinical(i2b2, 4), 1);
    assert_int_equal(medner__labels_look_clinical(ncbi, 3), 1);
    assert_int_equal(medner__labels_look_clinical(drugs, 1), 1);
    assert_int_equal(medner__labels_look_clinical(bio, 5), 0);
    assert_int_equal(medner__labels_look_clinical(NULL, 0), 0);
}

/* ---- allocation failures ------------------------------------------------- */

static void test_out_of_memory(void **state)
{
    (void)state;
    assert_int_equal(medner__live_allocations(), 0);
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    const char *user = "extends: default\n"
                       "rules:\n"
                       "  - {phrases: [no, zz, yy, xx], category: uncertain, direction: forward,"
                       " labels: [A, B, C]}\n";
    for (int which = 0; which < 2; which++) {
        medner_context_rules *r;
        long n;
        for (n = 1;; n++) {
            f.count = 0;
            f.fail_at = n;
            r = (medner_context_rules *)(uintptr_t)1;
            int rc = which == 0 ? medner__context_rules_load(&r, NULL)
                                : medner__context_rules_parse(&r, user, strlen(user), "u.yaml");
            if (rc == MEDNER_OK)
                break;
            assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
            assert_ptr_equal(r, (medner_context_rules *)(uintptr_t)1);
            assert_int_equal(medner__live_allocations(), 0);
        }
        f.fail_at = 0;
        assert_true(n > 8);
        medner__context_rules_free(r);
        assert_int_equal(medner__live_allocations(), 0);
    }
    /* applying */
    medner_context_rules *r = NULL;
    assert_int_equal(medner__context_rules_load(&r, NULL), MEDNER_OK);
    const char *text = "No fever or chills. Mother had breast cancer; denies chest pain.";
    medner__span s[2] = { { 0, 19 }, { 20, strlen(text) } };
    long n;
    for (n = 1;; n++) {
        medner__ctx_target t[2] = { { 3, 8, NULL, 7, MEDNER_SECTION_OTHER, 7 },
                                    { 31, 44, NULL, 7, MEDNER_SECTION_OTHER, 7 } };
        f.count = 0;
        f.fail_at = n;
        int rc = medner__context_apply_sentences(r, text, strlen(text), s, 2, NULL, 0, t, 2);
        if (rc == MEDNER_OK) {
            assert_int_equal(t[0].flags, NEG);
            assert_int_equal(t[1].flags, FAM);
            break;
        }
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_int_equal(t[0].flags, 7);
        assert_int_equal(t[1].sentence, 7);
    }
    f.fail_at = 0;
    assert_true(n > 3);
    medner__context_rules_free(r);
    assert_int_equal(medner__live_allocations(), 0);
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directions),
        cmocka_unit_test(test_words_and_case),
        cmocka_unit_test(test_pseudo_and_termination),
        cmocka_unit_test(test_scope_limits),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_terminated_by),
        cmocka_unit_test(test_overlapping_triggers),
        cmocka_unit_test(test_targets_and_triggers),
        cmocka_unit_test(test_order_sections_sentences),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_default_rules),
        cmocka_unit_test(test_default_rules_embedded),
        cmocka_unit_test(test_extends),
        cmocka_unit_test(test_rule_file_errors),
        cmocka_unit_test(test_rule_file_io),
        cmocka_unit_test(test_labels_look_clinical),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
