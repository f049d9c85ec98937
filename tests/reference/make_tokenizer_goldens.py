#!/usr/bin/env python3
"""Reference (golden) outputs of Hugging Face's fast BERT tokenizer for medner's tokenizer tests.

What it produces (all under tests/data/, relative to the repository root), for V in uncased, cased:
  tokenizer/golden-V-adversarial.jsonl  one JSON line per case of tokenizer/adversarial.jsonl:
      {"name", "ids", "offsets", "type_ids", "special_mask", "word_ids", "windows"}
      offsets are UTF-8 BYTE offsets [begin, end) into the case's text; special tokens added by the
      post-processor have [0, 0]; word_ids uses -1 for None; special_mask is HF's
      return_special_tokens_mask output; "windows" is every window (ids + byte offsets) of the same call
      with max_length=16, stride=4, truncation=True, return_overflowing_tokens=True.
  tokenizer/golden-V-pubmed.tsv, tokenizer/golden-V-maccrobat.tsv  one line per document:
      index<TAB>n_tokens<TAB>digest<TAB>n_windows<TAB>window_digest
      digest = FNV-1a 64 (basis 0xcbf29ce484222325, prime 0x100000001b3) over the ASCII string
      "".join(f"{id}:{begin}:{end}," for each token) with byte offsets, 16 lower-case hex digits;
      window_digest: the same over all windows of the call with max_length=128, stride=32,
      truncation=True, return_overflowing_tokens=True, each window's tokens followed by "|".
  tokenizer/golden-normalizer.tsv  (not per variant) every code point normalised on its own by the cased
      and the uncased BertNormalizer, run-length compressed; pins the Unicode tables HF really uses.
  It also (re)creates tests/data/vocab/*.vocab.txt from the shared data folder when they are missing.
  The formats are described in tests/data/tokenizer/README.md.

Inputs:
  tests/data/vocab/bert-base-{uncased,cased}.vocab.txt  (copies of $MEDNER_SHARED_DATA/vocab/*; the
      sha256 sums from the shared README are checked)
  tests/data/corpus/pubmed_abstracts.txt.xz  one document per line; document i = line i+1 without "\n"
  tests/data/corpus/maccrobat.txt.xz  "#doc <name> <byte_length>\n" + raw bytes + "\n" per document
  tests/data/tokenizer/adversarial.jsonl  (written by make_adversarial.py)
  MEDNER_SHARED_DATA (env) defaults to ../shared/data relative to the repository root; it is only
  needed to restore the vocab copies, or with --rebuild-corpus to remake the two .xz files.

Reference tokenizer: transformers.BertTokenizerFast with do_lower_case=True ("uncased") or False
("cased"), strip_accents=None, tokenize_chinese_chars=True (defaults); called with
add_special_tokens=True and no truncation.  NOTE for transformers 5.x: BertTokenizerFast is an alias of
the tokenizers-backed BertTokenizer whose __init__ takes `vocab=` (path or dict); a `vocab_file=`
keyword is SILENTLY IGNORED and yields a 5-entry vocabulary ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4).
This script therefore passes vocab=load_vocab(path) (transformers' own vocab.txt reader) and asserts
the vocabulary size and the special-token ids.  It also cross-checks every adversarial case and the
first documents of each corpus against tokenizers.BertWordPieceTokenizer built from the same file.

Versions used to produce the committed files: Python 3.11.7, tokenizers 0.23.3, transformers 5.24.0
(see requirements.txt next to this file).  The versions actually used are written into the .tsv
headers; a different tokenizers version may change the goldens (Unicode tables!).

How to run (from anywhere; takes about a minute):
  python3 -m pip install -r tests/reference/requirements.txt
  python3 tests/reference/make_adversarial.py        # only if the case list changed
  python3 tests/reference/make_tokenizer_goldens.py  # [--rebuild-corpus] [--show NAME,NAME,...]
"""

import argparse
import hashlib
import io
import json
import lzma
import os
import shutil
import sys

import tokenizers
import transformers
from tokenizers import BertWordPieceTokenizer, normalizers
from transformers import BertTokenizerFast
from transformers.models.bert.tokenization_bert import load_vocab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
SHARED = os.environ.get("MEDNER_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))

VARIANTS = {
    # name: (vocab file, do_lower_case, expected lines, expected sha256)
    "uncased": ("bert-base-uncased.vocab.txt", True, 30522,
                "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
    "cased": ("bert-base-cased.vocab.txt", False, 28996,
              "eeaa9875b23b04b4c54ef759d03db9d1ba1554838f8fb26c5d96fa551df93d02"),
}
SPECIAL_IDS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}

ADV_WINDOW = dict(max_length=16, stride=4)
CORPUS_WINDOW = dict(max_length=128, stride=32)

FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = 0xFFFFFFFFFFFFFFFF


# ---------------------------------------------------------------------------------------------
# digests

def fnv1a64(data: bytes, h: int = FNV_BASIS) -> int:
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def token_string(ids, offsets) -> str:
    return "".join(f"{i}:{b}:{e}," for i, (b, e) in zip(ids, offsets))


def digest(ids, offsets) -> str:
    return "%016x" % fnv1a64(token_string(ids, offsets).encode("ascii"))


def windows_digest(windows) -> str:
    s = "".join(token_string(w["ids"], w["offsets"]) + "|" for w in windows)
    return "%016x" % fnv1a64(s.encode("ascii"))


def self_check_fnv():
    # Published FNV-1a 64 test vectors (Fowler/Noll/Vo reference test suite).
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8


# ---------------------------------------------------------------------------------------------
# offsets: the Python binding reports code-point offsets; medner uses UTF-8 byte offsets

def byte_prefix(text: str):
    """pre[i] = number of UTF-8 bytes in text[:i]."""
    if text.isascii():
        return range(len(text) + 1)
    pre = [0] * (len(text) + 1)
    n = 0
    for i, ch in enumerate(text):
        c = ord(ch)
        n += 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4
        pre[i + 1] = n
    return pre


def to_bytes(offsets, pre):
    return [[pre[b], pre[e]] for (b, e) in offsets]


# ---------------------------------------------------------------------------------------------
# data

def ensure_vocab_copies():
    os.makedirs(os.path.join(DATA, "vocab"), exist_ok=True)
    for name, (fname, _, nlines, sha) in VARIANTS.items():
        dst = os.path.join(DATA, "vocab", fname)
        src = os.path.join(SHARED, "vocab", fname)
        if not os.path.exists(dst):
            print(f"copying {src} -> {dst}", file=sys.stderr)
            shutil.copyfile(src, dst)
        raw = open(dst, "rb").read()
        assert hashlib.sha256(raw).hexdigest() == sha, f"{dst}: sha256 mismatch"
        assert raw.count(b"\n") == nlines and raw.endswith(b"\n"), dst
        if os.path.exists(src):
            assert open(src, "rb").read() == raw, f"{dst} differs from {src}"


def rebuild_corpus():
    """Remake tests/data/corpus/*.xz from the shared data folder (xz preset 9, CRC64)."""
    import glob
    os.makedirs(os.path.join(DATA, "corpus"), exist_ok=True)
    raw = open(os.path.join(SHARED, "raw", "pubmed_abstracts.txt"), "rb").read()
    with open(os.path.join(DATA, "corpus", "pubmed_abstracts.txt.xz"), "wb") as f:
        f.write(lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9))
    out = io.BytesIO()
    for p in sorted(glob.glob(os.path.join(SHARED, "maccrobat", "brat", "*.txt"))):
        b = open(p, "rb").read()
        out.write(b"#doc %s %d\n" % (os.path.basename(p).encode("ascii"), len(b)))
        out.write(b)
        out.write(b"\n")
    with open(os.path.join(DATA, "corpus", "maccrobat.txt.xz"), "wb") as f:
        f.write(lzma.compress(out.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9))


def read_pubmed():
    raw = lzma.decompress(open(os.path.join(DATA, "corpus", "pubmed_abstracts.txt.xz"), "rb").read())
    assert raw.endswith(b"\n")
    # split on LF only (str.splitlines would also split on U+0085, U+2028, ...)
    return [line.decode("utf-8") for line in raw[:-1].split(b"\n")]


def read_maccrobat():
    raw = lzma.decompress(open(os.path.join(DATA, "corpus", "maccrobat.txt.xz"), "rb").read())
    docs, pos = [], 0
    while pos < len(raw):
        nl = raw.index(b"\n", pos)
        tag, name, length = raw[pos:nl].split(b" ")
        assert tag == b"#doc", raw[pos:nl]
        length = int(length)
        body = raw[nl + 1: nl + 1 + length]
        assert len(body) == length and raw[nl + 1 + length: nl + 2 + length] == b"\n"
        docs.append((name.decode("ascii"), body.decode("utf-8")))
        pos = nl + 2 + length
    return docs


def read_adversarial():
    cases = []
    with open(os.path.join(DATA, "tokenizer", "adversarial.jsonl"), encoding="utf-8") as f:
        for line in f:
            cases.append(json.loads(line))
    return cases


# ---------------------------------------------------------------------------------------------
# tokenizer

def make_tokenizer(variant):
    fname, lower, nlines, _ = VARIANTS[variant]
    path = os.path.join(DATA, "vocab", fname)
    tok = BertTokenizerFast(vocab=load_vocab(path), do_lower_case=lower)
    # the checks that BertTokenizerFast(vocab_file=...) would fail in transformers 5.x
    assert tok.backend_tokenizer.get_vocab_size() == nlines, tok.backend_tokenizer.get_vocab_size()
    for t, i in SPECIAL_IDS.items():
        assert tok.convert_tokens_to_ids(t) == i, (t, tok.convert_tokens_to_ids(t))
    cfg = json.loads(tok.backend_tokenizer.to_str())
    assert cfg["normalizer"] == {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                 "strip_accents": None, "lowercase": lower}, cfg["normalizer"]
    assert cfg["pre_tokenizer"] == {"type": "BertPreTokenizer"}, cfg["pre_tokenizer"]
    m = cfg["model"]
    assert (m["type"], m["unk_token"], m["continuing_subword_prefix"], m["max_input_chars_per_word"]) == \
        ("WordPiece", "[UNK]", "##", 100), m
    assert cfg["post_processor"]["special_tokens"]["[CLS]"]["ids"] == [101]
    assert cfg["post_processor"]["special_tokens"]["[SEP]"]["ids"] == [102]
    added = {a["content"]: (a["id"], a["special"], a["normalized"], a["single_word"], a["lstrip"], a["rstrip"])
             for a in cfg["added_tokens"]}
    assert added == {t: (i, True, False, False, False, False) for t, i in SPECIAL_IDS.items()}, added
    return tok


def make_crosscheck_tokenizer(variant):
    """An independently built tokenizers-only pipeline with the same settings."""
    fname, lower, _, _ = VARIANTS[variant]
    return BertWordPieceTokenizer(os.path.join(DATA, "vocab", fname), lowercase=lower, clean_text=True,
                                  handle_chinese_chars=True, strip_accents=None)


def encode_full(tok, text):
    be = tok(text, add_special_tokens=True, truncation=False, return_offsets_mapping=True,
             return_special_tokens_mask=True, return_token_type_ids=True)
    enc = be.encodings[0]
    assert list(be["input_ids"]) == enc.ids and list(be["special_tokens_mask"]) == enc.special_tokens_mask
    return {
        "ids": list(be["input_ids"]),
        "offsets": [tuple(o) for o in be["offset_mapping"]],
        "type_ids": list(be["token_type_ids"]),
        "special_mask": list(be["special_tokens_mask"]),
        "word_ids": [-1 if w is None else w for w in be.word_ids()],
    }


def encode_windows(tok, text, max_length, stride):
    be = tok(text, add_special_tokens=True, max_length=max_length, stride=stride, truncation=True,
             return_overflowing_tokens=True, return_offsets_mapping=True)
    assert all(s == 0 for s in be["overflow_to_sample_mapping"])
    return [{"ids": list(ids), "offsets": [tuple(o) for o in offs]}
            for ids, offs in zip(be["input_ids"], be["offset_mapping"])]


def crosscheck(tok, ref, text, full):
    ref.no_truncation()
    e = ref.encode(text)
    assert e.ids == full["ids"] and [tuple(o) for o in e.offsets] == full["offsets"], text
    assert e.special_tokens_mask == full["special_mask"] and e.type_ids == full["type_ids"], text
    assert [-1 if w is None else w for w in e.word_ids] == full["word_ids"], text


# ---------------------------------------------------------------------------------------------
# outputs

def write_adversarial(variant, tok, ref, cases, show):
    path = os.path.join(DATA, "tokenizer", f"golden-{variant}-adversarial.jsonl")
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for c in cases:
            text = c["text"]
            pre = byte_prefix(text)
            full = encode_full(tok, text)
            crosscheck(tok, ref, text, full)
            wins = encode_windows(tok, text, **ADV_WINDOW)
            rec = {
                "name": c["name"],
                "ids": full["ids"],
                "offsets": to_bytes(full["offsets"], pre),
                "type_ids": full["type_ids"],
                "special_mask": full["special_mask"],
                "word_ids": full["word_ids"],
                "windows": [{"ids": w["ids"], "offsets": to_bytes(w["offsets"], pre)} for w in wins],
            }
            sanity(text, rec)
            f.write(json.dumps(rec, ensure_ascii=True, separators=(",", ":")) + "\n")
            if c["name"] in show:
                toks = tok.convert_ids_to_tokens(full["ids"])
                bt = text.encode("utf-8")
                pieces = [f"{t}@{b}:{e}={bt[b:e].decode('utf-8', 'backslashreplace')!r}"
                          for t, (b, e) in zip(toks, rec["offsets"])]
                print(f"[{variant}] {c['name']}: {text!r}\n    " + " ".join(pieces), file=sys.stderr)
    return path


def sanity(text, rec):
    n = len(text.encode("utf-8"))
    assert len(rec["ids"]) == len(rec["offsets"]) == len(rec["type_ids"]) == len(rec["special_mask"]) \
        == len(rec["word_ids"])
    assert rec["ids"][0] == 101 and rec["ids"][-1] == 102 and rec["offsets"][0] == [0, 0]
    assert rec["offsets"][-1] == [0, 0]
    for b, e in rec["offsets"]:
        assert 0 <= b <= e <= n
    for w in rec["windows"]:
        assert len(w["ids"]) <= ADV_WINDOW["max_length"] and w["ids"][0] == 101 and w["ids"][-1] == 102


def write_corpus(variant, tok, ref, name, docs, header):
    path = os.path.join(DATA, "tokenizer", f"golden-{variant}-{name}.tsv")
    lines = [header]
    for idx, text in enumerate(docs):
        pre = byte_prefix(text)
        full = encode_full(tok, text)
        if idx < 20:
            crosscheck(tok, ref, text, full)
        offs = to_bytes(full["offsets"], pre)
        wins = encode_windows(tok, text, **CORPUS_WINDOW)
        wins = [{"ids": w["ids"], "offsets": to_bytes(w["offsets"], pre)} for w in wins]
        # every window is a contiguous slice of the full encoding's content tokens
        content = list(zip(full["ids"][1:-1], map(tuple, offs[1:-1])))
        for w in wins:
            wc = list(zip(w["ids"][1:-1], map(tuple, w["offsets"][1:-1])))
            assert not wc or any(content[k:k + len(wc)] == wc for k in range(len(content))), (name, idx)
        lines.append(f"{idx}\t{len(full['ids'])}\t{digest(full['ids'], offs)}\t{len(wins)}\t{windows_digest(wins)}")
        if idx == 0:
            self_check_digest(full["ids"], offs, text, tok)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    return path


def self_check_digest(ids, offs, text, tok):
    """Re-derive a document digest from an explicit token list through a separate code path."""
    # 1) fixed example: [CLS] hello [SEP] with byte offsets, digest hard-coded
    assert token_string([101, 7592, 102], [[0, 0], [0, 5], [0, 0]]) == "101:0:0,7592:0:5,102:0:0,"
    assert digest([101, 7592, 102], [[0, 0], [0, 5], [0, 0]]) == "%016x" % fnv1a64(b"101:0:0,7592:0:5,102:0:0,")
    assert digest([101, 7592, 102], [[0, 0], [0, 5], [0, 0]]) == "319bdf5f1a24ebf0"
    assert windows_digest([{"ids": [101, 102], "offsets": [[0, 0], [0, 0]]}] * 2) == \
        "%016x" % fnv1a64(b"101:0:0,102:0:0,|101:0:0,102:0:0,|")
    # 2) this document: explicit token list from the backend, bytes built by hand, FNV folded separately
    backend = tok.backend_tokenizer
    backend.no_truncation()  # transformers leaves the last call's truncation settings on the backend
    enc = backend.encode(text, add_special_tokens=True)
    toks = [(i, len(text[:b].encode()), len(text[:e].encode())) for i, (b, e) in zip(enc.ids, enc.offsets)]
    assert [t[0] for t in toks] == ids and [[t[1], t[2]] for t in toks] == offs
    h = FNV_BASIS
    for i, b, e in toks:
        for piece in (str(i), ":", str(b), ":", str(e), ","):
            for ch in piece.encode("ascii"):
                h ^= ch
                h = (h * FNV_PRIME) % (1 << 64)
    assert "%016x" % h == digest(ids, offs)


def hangul_nfd(cp):
    s = cp - 0xAC00
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return out


def write_normalizer_table(header):
    """Per-code-point output of both normalizers (see tests/data/tokenizer/README.md)."""
    norms = {v: normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                           lowercase=VARIANTS[v][1]) for v in ("cased", "uncased")}

    def classify(cp, out):
        c = chr(cp)
        if out == c:
            return "="
        if out == "":
            return "-"
        if out == " ":
            return "sp"
        if out == " " + c + " ":
            return "pad"
        if 0xAC00 <= cp <= 0xD7A3 and [ord(x) for x in out] == hangul_nfd(cp):
            return "hangul"
        return " ".join("%04X" % ord(x) for x in out)

    symbolic = {"=", "-", "sp", "pad", "hangul"}
    rows = []  # [first, last, cased, uncased]
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        key = tuple(classify(cp, norms[v].normalize_str(chr(cp))) for v in ("cased", "uncased"))
        if key == ("=", "="):
            continue
        if rows and rows[-1][1] == cp - 1 and tuple(rows[-1][2:]) == key and set(key) <= symbolic:
            rows[-1][1] = cp
        else:
            rows.append([cp, cp, *key])
    path = os.path.join(DATA, "tokenizer", "golden-normalizer.tsv")
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(header + "\n")
        f.write("# first\tlast\tcased\tuncased  (see README.md; code points not listed map to themselves)\n")
        for a, b, c, u in rows:
            f.write("%04X\t%04X\t%s\t%s\n" % (a, b, c, u))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rebuild-corpus", action="store_true",
                    help="remake tests/data/corpus/*.xz from $MEDNER_SHARED_DATA first")
    ap.add_argument("--show", default="literal_cls_alone,literal_mask_glued,turkish_dotted_capital_I,"
                    "unassigned_0378,noncharacter_1FFFF,greek_upper_sigma_word,combining_acute_decomposed",
                    help="comma-separated adversarial case names to print decoded (stderr)")
    args = ap.parse_args()

    self_check_fnv()
    ensure_vocab_copies()
    if args.rebuild_corpus:
        rebuild_corpus()
    header = (f"# generated by tests/reference/make_tokenizer_goldens.py with tokenizers {tokenizers.__version__} "
              f"transformers {transformers.__version__}")
    cases = read_adversarial()
    pubmed = read_pubmed()
    assert len(pubmed) == 3183, len(pubmed)
    macc = read_maccrobat()
    assert len(macc) == 200, len(macc)
    show = set(s for s in args.show.split(",") if s)
    print(write_normalizer_table(header), file=sys.stderr)
    for variant in VARIANTS:
        tok = make_tokenizer(variant)
        ref = make_crosscheck_tokenizer(variant)
        print(write_adversarial(variant, tok, ref, cases, show), file=sys.stderr)
        print(write_corpus(variant, tok, ref, "pubmed", pubmed, header), file=sys.stderr)
        print(write_corpus(variant, tok, ref, "maccrobat", [t for _, t in macc], header), file=sys.stderr)


if __name__ == "__main__":
    main()
