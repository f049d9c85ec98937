#!/usr/bin/env python3
"""Write tests/data/tokenizer/adversarial.jsonl: hand-made tokenizer hazard cases.

Each line is one JSON object {"name": ..., "text": ...} (json.dumps, ensure_ascii=True, so the
file itself is pure ASCII and every code point is visible as an escape).  Every text is short and
mixes one hazard with ordinary clinical words.  All non-ASCII characters below are written as
Python escapes on purpose: editors and terminals silently normalise look-alike characters
(U+2126 OHM SIGN vs U+03A9, U+212B ANGSTROM SIGN vs U+00C5, ...).

The golden outputs for these texts are made by make_tokenizer_goldens.py (same folder).

Run from anywhere:  python3 tests/reference/make_adversarial.py
Needs only the Python standard library.  Output is deterministic.

Unicode-version notes (the Hugging Face normaliser deletes "Other" characters, which includes
*unassigned* code points (Cn) as seen by the Unicode tables compiled into `tokenizers`):
  U+0378       unassigned in every Unicode version so far (Greek block gap)
  U+1FFFF      noncharacter (Cn forever)
  U+FFFF       noncharacter (Cn forever)
  U+FDD0       noncharacter (Cn forever)
  U+9FFF       CJK URO, assigned in Unicode 14.0 (2021)
  U+9FFC       CJK URO, assigned in Unicode 13.0 (2020)
  U+9FEF       CJK URO, assigned in Unicode 11.0 (2018)
  U+9FD5       CJK URO, assigned in Unicode 8.0 (2015)
  U+1FA7A      STETHOSCOPE emoji, Unicode 12.0 (2019)
  U+1FAC0      ANATOMICAL HEART emoji, Unicode 13.0 (2020)
  U+1FAE0      MELTING FACE emoji, Unicode 14.0 (2021)
  U+1FAE8      SHAKING FACE emoji, Unicode 15.0 (2022)
  U+2B820      CJK Ext E first char, Unicode 8.0; NOT in BERT's "Chinese" ranges (BERT uses 2B920)
  U+2CEB0      CJK Ext F first char, Unicode 10.0; not in BERT's ranges
  U+30000      CJK Ext G first char, Unicode 13.0; not in BERT's ranges
  U+31350      CJK Ext H first char, Unicode 15.0; not in BERT's ranges
  U+2EBF0      CJK Ext I first char, Unicode 15.1; not in BERT's ranges
  U+1C90       GEORGIAN MTAVRULI CAPITAL LETTER AN, Unicode 11.0 (lower-cases to U+10D0)
  U+13A0       CHEROKEE LETTER A: lower-case mapping to U+AB70 since Unicode 8.0
  U+104B0      OSAGE CAPITAL LETTER A, Unicode 9.0 (lower-cases to U+104D8)
  U+180E       MONGOLIAN VOWEL SEPARATOR: Zs (White_Space) before Unicode 6.3, Cf after
  U+FA6E       unassigned hole inside the CJK compatibility block F900-FAFF
  U+2FA1E      unassigned hole at the end of the CJK compatibility supplement 2F800-2FA1F
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "tokenizer", "adversarial.jsonl")

CASES = []


def case(name, text):
    CASES.append((name, text))


# ---- combining marks, accents, normalisation forms ------------------------------------------
case("combining_acute_decomposed", "caf\u0065\u0301 patient with fever")
case("precomposed_e_acute", "caf\u00e9 patient with fever")
case("combining_vs_precomposed_same_line", "r\u00e9sum\u00e9 vs re\u0301sume\u0301 of the patient")
case("accents_eponyms", "Sj\u00f6gren syndrome, M\u00e9ni\u00e8re disease and Guillain\u2013Barr\u00e9")
case("accents_upper", "\u00c9CHOGRAPHIE \u00c0 L'H\u00d4PITAL normale")
case("multiple_combining_marks", "a\u0301\u0302\u0323 lesion on the arm")
case("combining_mark_text_start", "\u0301fever and cough")
case("combining_mark_after_space", "fever \u0301 cough")
case("combining_mark_after_punct", "fever.\u0301 cough")
case("combining_mark_after_digit", "dose 5\u0301 mg")
case("combining_grapheme_joiner", "co\u034fugh and fever")
case("vietnamese_stacked", "Nguy\u1ec5n Th\u1ecb b\u1ec7nh vi\u1ec7n")
case("spanish_enye", "ni\u00f1o con neumon\u00eda aguda")
case("cyrillic_short_i", "\u0431\u043e\u043b\u044c\u043d\u043e\u0439 \u0441 \u043b\u0438\u0445\u043e\u0440\u0430\u0434\u043a\u043e\u0439 fever")
case("cyrillic_glued_latin", "abc\u0430\u0431\u0432 tachycardia")
case("enclosing_keycap_mark_alone", "press \u20e3 button")
case("e_acute_repeated_decomposed_60", "e\u0301" * 60)
case("e_acute_repeated_precomposed_101", "\u00e9" * 101)

# ---- compatibility / canonical look-alikes --------------------------------------------------
case("micro_sign_B5", "10 \u00b5g of drug")
case("greek_mu_3BC", "10 \u03bcg of drug")
case("micro_vs_mu_glued", "\u00b5mol and \u03bcmol per litre")
case("ohm_sign_2126", "resistance 50 \u2126 measured")
case("greek_omega_3A9", "resistance 50 \u03a9 measured")
case("angstrom_sign_212B", "resolution 3.5 \u212b crystal")
case("a_ring_C5", "resolution 3.5 \u00c5 crystal")
case("kelvin_sign_212A", "temperature 310 \u212a body")
case("roman_numeral_two_2161", "type \u2161 diabetes, grade \u2162")
case("ligatures_fi_fl", "\ufb01brosis and \ufb02uid retention")
case("ligature_ffi", "su\ufb03cient o\ufb00ice")
case("fullwidth_letters_digits", "\uff21\uff22\uff23\uff11\uff12\uff13\uff0c patient")
case("fullwidth_lab_value", "\uff23\uff32\uff30\u3000\uff11\uff12\uff4d\uff47\uff0f\uff2c elevated")
case("halfwidth_katakana", "\uff76\uff99\uff83 record")
case("superscripts_subscripts", "x\u00b2 and 10\u2079/L and H\u2082O")
case("circled_numbers", "step \u2460 then \u2461")
case("math_alphanumerics", "\U0001d400\U0001d401 bold and \U0001d7d8 digit")
case("titlecase_digraph_dz", "\u01c5 and \u01c4 and \u01c6 letters")

# ---- Greek ----------------------------------------------------------------------------------
case("greek_letters_biomed", "\u03b1-synuclein, \u03b2-blocker and \u03b3-globulin")
case("greek_upper_sigma_word", "\u03a3\u0391\u03a3 patient")
case("greek_final_sigma_lower", "\u03c3\u03af\u03b3\u03bc\u03b1 \u03c2 \u03bf\u03b4\u03cd\u03c3\u03c3\u03b5\u03b9\u03b1\u03c2")
case("greek_upper_tonos", "\u0386\u03a3\u0398\u039c\u0391 and \u0391\u03a3\u0398\u039c\u0391\u03a3")
case("greek_dialytika_tonos", "\u0390 and \u03b0 letters")
case("greek_word_final_upper_sigma", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 journey")

# ---- CJK and other East Asian ---------------------------------------------------------------
case("cjk_uro_mixed", "\u60a3\u8005 fever \u53d1\u70ed 38\u2103")
case("cjk_uro_boundaries", "\u4e00 \u9fa5 \u9fcc \u9fd5 \u9fef \u9ffc \u9fff end")
case("cjk_glued_to_latin", "abc\u4e2d\u6587def")
case("cjk_ext_a", "\u3400\u4db5\u4dbf ext A")
case("cjk_ext_b", "\U00020000\U0002a6df ext B")
case("cjk_ext_c", "\U0002a700\U0002b739 ext C")
case("cjk_ext_d", "\U0002b740\U0002b81d ext D")
case("cjk_ext_e_gap_2B820", "\U0002b820\U0002b91f\U0002b920 ext E")
case("cjk_ext_f", "\U0002ceb0\U0002ebe0 ext F")
case("cjk_ext_g_h_i", "\U00030000 ext G \U00031350 ext H \U0002ebf0 ext I")
case("cjk_compat_F900", "\uf900\ufa0e\ufad9 compat")
case("cjk_compat_unassigned_FA6E", "x\ufa6ey compat hole")
case("cjk_compat_supplement_2F800", "\U0002f800\U0002fa1d compat sup \U0002fa1e")
case("cjk_radicals_and_ideographic_zero", "\u2e80 \u2f00 \u3007 radicals")
case("cjk_punctuation", "\u300c\u60a3\u8005\u300d\u3002\u3001\u30fb\u301c end")
case("cjk_with_combining_mark", "\u4e2d\u0301\u6587 text")
case("cjk_ideographic_variation_selector", "\u845b\U000e0100 city")
case("hiragana", "\u304b\u3093\u3058\u3083 patient")
case("hiragana_dakuten_precomposed", "\u304c\u3093 cancer")
case("hiragana_dakuten_decomposed", "\u304b\u3099\u3093 cancer")
case("katakana", "\u30ab\u30eb\u30c6 chart")
case("katakana_dakuten", "\u30ac\u30fc\u30bc gauze")
case("hangul_syllables", "\ud658\uc790 \ubc1c\uc5f4 fever")
case("hangul_syllable_with_final", "\uac01\ud55c\uad6d\uc5b4 text")
case("hangul_conjoining_jamo", "\u1112\u1161\u11ab jamo")
case("hangul_compat_jamo", "\u314e\u314f\u3134 compat")

# ---- other scripts --------------------------------------------------------------------------
case("arabic_text_digits", "\u0645\u0631\u064a\u0636 \u0663\u0668 fever")
case("arabic_harakat", "\u0645\u064e\u0631\u0650\u064a\u0636 patient")
case("persian_digits", "\u06f3\u06f8 degrees")
case("hebrew_text", "\u05d7\u05d5\u05dc\u05d4 patient")
case("hebrew_niqqud", "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd patient")
case("devanagari", "\u0930\u094b\u0917\u0940 \u0938\u094d\u0935\u093e\u0938\u094d\u0925\u094d\u092f \u0969\u096e")
case("thai", "\u0e1c\u0e39\u0e49\u0e1b\u0e48\u0e27\u0e22 \u0e53\u0e58 fever")
case("georgian_mtavruli_1C90", "\u1c90\u1c91 and \u10d0\u10d1 letters")
case("cherokee_13A0", "\u13a0\u13a1 and \uab70 letters")
case("osage_104B0", "\U000104b0\U000104b1 letters")
case("turkish_dotted_capital_I", "\u0130stanbul hastanesi")
case("turkish_upper_words", "D\u0130YABET and I\u011eDIR and \u0131s\u0131")
case("dotted_I_repeated_60", "\u0130" * 60)
case("sharp_s", "Stra\u00dfe and Gro\u00df")
case("capital_sharp_s_1E9E", "STRA\u1e9eE and GRO\u1e9e")

# ---- emoji ----------------------------------------------------------------------------------
case("emoji_basic", "patient \U0001f637 with fever \U0001f912")
case("emoji_medical_old", "\U0001f48a pill and \U0001f489 syringe")
case("emoji_by_unicode_version", "\U0001fa7a v12 \U0001fac0 v13 \U0001fae0 v14 \U0001fae8 v15")
case("emoji_glued_to_word", "fever\U0001f637cough")
case("emoji_zwj_health_worker", "doctor \U0001f468\u200d\u2695\ufe0f on call")
case("emoji_zwj_skin_tone", "nurse \U0001f469\U0001f3fd\u200d\u2695\ufe0f on call")
case("emoji_zwj_family", "family \U0001f468\u200d\U0001f469\u200d\U0001f467 visit")
case("emoji_skin_tone_modifier_alone", "hand \U0001f44d\U0001f3ff ok \U0001f3fb")
case("emoji_flags", "from \U0001f1fa\U0001f1f8 and \U0001f1ef\U0001f1f5")
case("emoji_tag_flag_england", "from \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f now")
case("emoji_keycaps", "room 1\ufe0f\u20e3 and #\ufe0f\u20e3")
case("variation_selectors", "\u2764\ufe0f and \u2764\ufe0e heart")
case("variation_selector_on_letter", "a\ufe0fb fever")

# ---- invisible / format characters ----------------------------------------------------------
case("soft_hyphen", "hemo\u00adglobin level")
case("zwsp", "zero\u200bwidth space")
case("zwj_between_letters", "a\u200db fever")
case("zwnj_between_letters", "a\u200cb fever")
case("bom_start", "\ufeffpatient admitted")
case("bom_middle", "patient\ufeffadmitted today")
case("word_joiner", "word\u2060joiner test")
case("lrm_rlm", "left\u200emark right\u200fmark")
case("bidi_embeddings", "a\u202ab\u202cc \u2066iso\u2069 test")
case("arabic_letter_mark", "x\u061cy test")
case("mongolian_vowel_separator_180E", "a\u180eb test")
case("invisible_only_zwsp", "\u200b")
case("invisible_only_bom", "\ufeff")

# ---- spaces and line breaks -----------------------------------------------------------------
case("nbsp", "5\u00a0mg daily")
case("narrow_nbsp_202F", "5\u202fmg daily")
case("thin_hair_spaces", "5\u2009mg and 10\u200ag")
case("en_em_spaces", "fever\u2002cough\u2003rash")
case("four_per_em_space_2005", "blood\u2005pressure")
case("ideographic_space", "fever\u3000cough")
case("ogham_space_and_mmsp", "a\u1680b\u205fc")
case("line_para_separators", "line one\u2028line two\u2029para")
case("nel_0085", "next\u0085line here")
case("vt_ff", "vertical\u000btab form\u000cfeed")
case("tab_cr_lf_crlf", "a\tb\rc\nd\r\ne")
case("file_group_unit_separators", "a\u001cb\u001dc\u001ed\u001fe")
case("leading_trailing_spaces", "   fever   ")
case("repeated_spaces", "fever      cough")
case("whitespace_only_spaces", "   ")
case("whitespace_only_nl_tab", "\n\t")
case("whitespace_only_unicode", "\u00a0\u2009\u3000\u2028")
case("empty", "")

# ---- control characters and special code points ---------------------------------------------
case("control_0001", "fe\u0001ver")
case("control_0007", "bell\u0007 ring")
case("control_001F", "unit\u001fsep")
case("control_007F", "del\u007fete")
case("c1_controls_0080_009F", "a\u0080b\u0081c\u008dd\u009fe")
case("nul", "fe\u0000ver and \u0000")
case("replacement_char_FFFD", "fe\ufffdver \ufffd")
case("object_replacement_FFFC", "fe\ufffcver")
case("private_use_E000", "a\ue000b and \ue000")
case("private_use_plane15", "a\U000f0000b")
case("noncharacter_FFFF", "a\uffffb and \uffff")
case("noncharacter_FDD0", "a\ufdd0b")
case("unassigned_0378", "a\u0378b and \u0378 alone")
case("noncharacter_1FFFF", "a\U0001ffffb and \U0001ffff alone")

# ---- symbols, units, math -------------------------------------------------------------------
case("geq_dose", "\u22655mg daily")
case("temperature_degree", "38\u00b0C fever and 100.4\u00b0F")
case("celsius_sign_2103", "38\u2103 fever")
case("plus_minus_times", "5 \u00b1 2 and 3\u00d710^9/L")
case("fractions_superscript", "\u00bd tablet, 10\u00b2 cells")
case("trademarks_currency", "Tylenol\u00ae and Advil\u2122 cost \u20ac5 or \u00a34 or $3 or \u00a5200")
case("math_symbols", "\u2211 \u222b \u221a \u221e \u2264 \u2260 \u2248 \u2192 \u21d2 \u2200 \u2202 \u2206")
case("unicode_minus_2212", "Na\u2212 and K\u2212 ions, \u22125 dB")
case("per_mille_numero", "5\u2030 and \u2116 12")
case("prime_marks", "5\u2032 end and 3\u2033 end")
case("dagger_section_pilcrow", "\u2020died \u2021 \u00a7 \u00b6 \u2030")

# ---- punctuation ----------------------------------------------------------------------------
case("ascii_punctuation_all", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
case("ascii_punct_glued", "a!b\"c#d$e%f&g'h(i)j*k+l,m-n.o/p:q;r<s=t>u?v@w[x\\y]z^a_b`c{d|e}f~g")
case("unicode_punctuation", "wait\u2026 \u00abquote\u00bb \u2018single\u2019 \u201cdouble\u201d a\u2013b a\u2014b a\u2010b a\u2011b a\u00b7b")
case("inverted_and_angle_quotes", "\u00bfqu\u00e9? \u00a1s\u00ed! \u2039a\u203a \u3008b\u3009")
case("apostrophes", "patient's Crohn\u2019s don't")
case("only_punctuation", "...!!!???")
case("only_punct_dashes", "--")
case("only_parentheses", "()")

# ---- special-token strings in the text ------------------------------------------------------
case("literal_cls_alone", "[CLS]")
case("literal_sep_between_words", "fever [SEP] cough")
case("literal_mask_glued", "abc[MASK]def")
case("literal_unk_pad", "[UNK] and [PAD] tokens")
case("literal_cls_lowercase", "[cls] fever [sep] cough [mask]")
case("literal_mask_mixed_case", "[Mask] fever")
case("literal_sep_double_brackets", "[[SEP]]")
case("literal_cls_sep_adjacent", "[CLS][SEP]")
case("literal_mask_possessive", "the [MASK]'s dose")
case("literal_mask_spaced", "[ MASK ] and [MASK")
case("literal_unused_token", "[unused1] and [unused99]")
case("literal_cls_with_combining", "[CLS]\u0301 fever")
case("literal_sep_after_cjk", "\u4e2d[SEP]\u6587 text")
case("literal_mask_between_hashes", "##[MASK]## end")
case("literal_sep_with_nbsp", "fever\u00a0[SEP]\u00a0cough")
case("literal_cls_fullwidth_brackets", "\uff3bCLS\uff3d fever")
case("literal_mask_with_zwsp_inside", "[MA\u200bSK] fever")
case("literal_mask_with_combining_inside", "[MA\u0301SK] fever")
case("literal_special_in_long_text", "The patient [MASK] was admitted with [UNK] fever; [SEP] follow-up [CLS] in 2 weeks.")

# ---- long words, numbers --------------------------------------------------------------------
case("word_100_plain", "x" * 100)
case("word_101_plain", "x" * 101)
case("word_100_known_subwords", "hemoglobin" * 10)
case("word_101_known_subwords", "hemoglobin" * 10 + "s")
case("word_200_plain", "a" * 200)
case("word_100_in_sentence", "fever " + "ab" * 50 + " cough")
case("word_101_in_sentence", "fever " + "ab" * 50 + "a cough")
case("word_100_plus_zwsp", "x" * 50 + "\u200b" + "x" * 50)
case("word_101_plus_soft_hyphen", "x" * 50 + "\u00ad" + "x" * 51)
case("e_acute_precomposed_60", "\u00e9" * 60)
case("greek_alpha_100", "\u03b1" * 100)
case("greek_alpha_101", "\u03b1" * 101)
case("long_number", "12345678901234567890123456789012345678901234567890")
case("long_decimal", "pi is 3.14159265358979323846264338327950288419716939937510 exactly")
case("numbers_with_commas", "1,000,000 cells and 0.005 mg")

# ---- clinical / technical strings -----------------------------------------------------------
case("url", "see https://www.ncbi.nlm.nih.gov/pubmed/?term=BRCA1&sort=date#top now")
case("email", "contact dr.smith@hospital.org today")
case("dosage_slashes", "5mg/kg/day for 7 days")
case("latin_abbrev", "q.i.d. and b.i.d. p.o.")
case("hba1c", "HbA1c 7.2% and BP 120/80 mmHg")
case("gene_names", "IL-6, COVID-19, SARS-CoV-2, BRCA1/2, p53-/-")
case("karyotype", "t(9;22)(q34;q11) and 46,XX")
case("immunophenotype", "CD4+CD25+ T cells, Na+/K+-ATPase, 1,25(OH)2D3")
case("cased_acronyms", "COVID McDonald iPhone mRNA")

# ---- single characters ----------------------------------------------------------------------
case("single_a", "a")
case("single_A", "A")
case("single_period", ".")
case("single_e_acute", "\u00e9")
case("single_cjk", "\u4e2d")
case("single_emoji", "\U0001f637")
case("single_bracket", "[")
case("single_hash", "#")

# ---- '##' and WordPiece failures ------------------------------------------------------------
case("hash_prefix_word", "##itis and ##ing")
case("hash_inside_word", "a##b pneumon##ia")
case("hash_only", "## ### ####")
case("wordpiece_fail_end", "tachycardia\u2624 noted")
case("wordpiece_fail_middle", "hyper\u0167tension noted")
case("wordpiece_fail_start", "\u01c2click sound")
case("wordpiece_fail_emoji_glued", "fever\U0001fa7a")

# ---- a longer mixed sentence (several windows with multi-byte offsets) ------------------------
case("mixed_clinical_sentence",
     "Pt. (\u2640, 67 y) w/ T2DM \u2014 HbA1c 8.1%, eGFR <30 mL/min/1.73 m\u00b2 \u2014 received "
     "metformin 500\u2009mg b.i.d.; \u03b2-blocker held; T\u00a038.5\u00b0C, SpO\u2082 92%; "
     "Sj\u00f6gren\u2019s? \u2192 anti-SSA/Ro(+) [MASK] \U0001f637 \u60a3\u8005 re\u0301sume\u0301\u200b.")

NAMES = [n for n, _ in CASES]
assert len(NAMES) == len(set(NAMES)), "duplicate case names"


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        for name, text in CASES:
            f.write(json.dumps({"name": name, "text": text}, ensure_ascii=True) + "\n")
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
