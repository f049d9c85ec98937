#!/usr/bin/env python3
"""Exhaustive check: every Unicode code point (surrogates excluded) through
Hugging Face's BERT tokenizer and through `bin/medner tokenize`, as the text
"x{c}y {c}", for the uncased and the cased vocabulary; prints the code points
whose ids or byte offsets differ (expected: none).

Run from the repository root after `make`:
    python3 tests/reference/scan_codepoints.py
Takes about a minute per vocabulary. Not part of `make test` (needs
tokenizers from PyPI); its result is recorded in docs/tokenizer.md.
"""
import json
import os
import subprocess
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
from tokenizers import BertWordPieceTokenizer  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def scan(vocab, lower):
    tok = BertWordPieceTokenizer(vocab, lowercase=lower)
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"x{chr(c)}y {chr(c)}" for c in cps]
    ref = []
    for t, e in zip(texts, tok.encode_batch(texts)):
        pre = [0]
        for ch in t:
            pre.append(pre[-1] + len(ch.encode()))
        ref.append([(i, pre[b], pre[x]) for i, (b, x) in zip(e.ids, e.offsets)])
    args = [os.path.join(ROOT, "bin", "medner"), "tokenize", "--vocab", vocab,
            "--lowercase" if lower else "--no-lowercase"]
    inp = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    out = subprocess.run(args, input=inp, capture_output=True, check=True).stdout.decode()
    diff = []
    for c, line, r in zip(cps, out.splitlines(), ref):
        d = json.loads(line)
        ours = [(i, b, x) for i, (b, x) in zip(d["ids"], d["offsets"])]
        if ours != r:
            diff.append(c)
    return len(cps), diff


def main():
    bad = 0
    for name, lower in (("bert-base-uncased", True), ("bert-base-cased", False)):
        vocab = os.path.join(ROOT, "tests", "data", "vocab", f"{name}.vocab.txt")
        n, diff = scan(vocab, lower)
        print(f"{name}: {n} code points, {len(diff)} differ"
              + (": " + " ".join(f"U+{c:04X}" for c in diff[:50]) if diff else ""))
        bad += len(diff)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
