#!/usr/bin/env python3
"""Generate src/tokenizer/hf_unicode.h: the code points where Hugging Face's
BERT normaliser / pre-tokeniser classifies a character differently from the
Unicode tables of utf8proc that medner uses.

Why: `tokenizers` decides "control" (deleted by clean_text), "punctuation"
(isolated by BertPreTokenizer) and "nonspacing mark" (dropped by
strip_accents) with the tables of the Rust crate `unicode_categories`, which
are older than utf8proc's (Unicode 15 on Debian 12). Characters assigned or
re-categorised since then are treated differently. To be byte-identical with
Hugging Face we apply Hugging Face's class for exactly those code points.

How: for every code point c (surrogates excluded) the class Hugging Face
gives is *observed* through the real tokenizers package (normalise and
pre-tokenise "x{c}y"), the class utf8proc gives is computed through
libutf8proc (ctypes), and every disagreement becomes a table entry.

Run from the repository root:  python3 tests/reference/make_unicode_compat.py
Needs: pip install tokenizers (see requirements.txt), Debian libutf8proc2.
"""
import ctypes
import ctypes.util
import os
import sys

import tokenizers
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

LETTER, DELETE, PUNCT, MARK, SPACE = "LETTER", "DELETE", "PUNCT", "MARK", "SPACE"


def is_cjk(c):
    return (0x4E00 <= c <= 0x9FFF or 0x3400 <= c <= 0x4DBF or 0x20000 <= c <= 0x2A6DF
            or 0x2A700 <= c <= 0x2B73F or 0x2B740 <= c <= 0x2B81F or 0x2B920 <= c <= 0x2CEAF
            or 0xF900 <= c <= 0xFAFF or 0x2F800 <= c <= 0x2FA1F)


def hf_class(c, keep, strip, pre):
    ch = chr(c)
    n = keep.normalize_str(f"x{ch}y")
    if n == "xy":
        return DELETE
    if n == "x y":
        return SPACE
    words = [w for w, _ in pre.pre_tokenize_str(n)]
    if words == ["x", ch, "y"]:
        return PUNCT
    if strip.normalize_str(f"x{ch}y") == "xy":
        return MARK
    return LETTER


def main():
    lib = ctypes.CDLL(ctypes.util.find_library("utf8proc") or "libutf8proc.so.2")
    lib.utf8proc_category.restype = ctypes.c_int
    lib.utf8proc_category.argtypes = [ctypes.c_int32]
    lib.utf8proc_version.restype = ctypes.c_char_p
    lib.utf8proc_unicode_version.restype = ctypes.c_char_p
    # utf8proc_category_t values (utf8proc.h)
    CN, LU, LL, LT, LM, LO, MN, MC, ME, ND, NL, NO, PC, PD, PS, PE, PI, PF, PO, SM, SC, SK, SO, \
        ZS, ZL, ZP, CC, CF, CS, CO = range(30)

    def ours(c):
        if c < 0x80:
            return None  # ASCII: identical by construction, not tabled
        cat = lib.utf8proc_category(c)
        if cat in (CC, CF, CS, CO):  # clean_text deletes before mapping whitespace
            return DELETE
        if cat in (ZS, ZL, ZP):
            return SPACE
        if cat in (PC, PD, PS, PE, PI, PF, PO):
            return PUNCT
        if cat == MN:
            return MARK
        return LETTER

    lib.utf8proc_tolower.restype = ctypes.c_int32
    lib.utf8proc_tolower.argtypes = [ctypes.c_int32]
    lower = BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False,
                           lowercase=True)

    def lower_diff(c):
        # Hugging Face's lowercase (Rust char::to_lowercase, a newer Unicode) where it
        # differs from medner's (utf8proc simple mapping, plus U+0130 handled in C).
        if c == 0x130:
            return None
        hf = lower.normalize_str(chr(c))
        mine = chr(lib.utf8proc_tolower(c))
        if hf == mine:
            return None
        if len(hf) != 1:
            raise SystemExit(f"U+{c:04X}: multi-character lowercase {hf!r} needs code")
        return ord(hf)

    import unicodedata
    from tokenizers.normalizers import NFD
    nfd = NFD()

    def nfd_keep(c):
        # 1 where Hugging Face's NFD (older tables) leaves c alone but Unicode's
        # current NFD (Python's unicodedata, like utf8proc) decomposes it.
        ch = chr(c)
        ours_nfd = unicodedata.normalize("NFD", ch)
        hf = nfd.normalize_str(ch)
        if hf == ours_nfd:
            return 0
        if hf == ch:
            return 1
        raise SystemExit(f"U+{c:04X}: NFD differs in a way that needs code: {hf!r} vs {ours_nfd!r}")

    keep = BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                          lowercase=False)
    strip = BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=True,
                           lowercase=False)
    pre = BertPreTokenizer()
    entries = []
    for c in range(0x80, 0x110000):
        if 0xD800 <= c <= 0xDFFF or is_cjk(c):
            continue
        h = hf_class(c, keep, strip, pre)
        o = ours(c)
        lo = lower_diff(c)
        nk = nfd_keep(c)
        if h != o or lo is not None or nk:
            entries.append((c, h, o, lo, nk))
    out = os.path.join(os.path.dirname(__file__), "..", "..", "src", "tokenizer", "hf_unicode.h")
    with open(out, "w") as f:
        f.write("/* Generated by tests/reference/make_unicode_compat.py -- do not edit.\n")
        f.write(f" * tokenizers {tokenizers.__version__}; utf8proc "
                f"{lib.utf8proc_version().decode()} (Unicode {lib.utf8proc_unicode_version().decode()}).\n")
        f.write(" * Code points whose class in Hugging Face's BERT normaliser/pre-tokeniser\n"
                " * differs from the class medner derives from utf8proc, or whose lowercase\n"
                " * differs; sorted by code point. Each entry: code point, Hugging Face's\n"
                " * class, Hugging Face's lowercase (0: as utf8proc), 1 if Hugging Face's\n"
                " * NFD does not decompose it. */\n")
        f.write("static const struct medner__hf_cp {\n    uint32_t cp;\n    uint8_t cls;\n"
                "    uint8_t nfd_keep;\n    uint32_t lower;\n} medner__hf_unicode[] = {\n")
        for c, h, o, lo, nk in entries:
            f.write(f"    {{ 0x{c:04X}, MEDNER__HF_{h}, {nk}, 0x{lo or 0:04X} }}, /* utf8proc: {o} */\n")
        f.write("};\n")
    print(f"{len(entries)} entries written to {os.path.normpath(out)}")


if __name__ == "__main__":
    sys.exit(main())
