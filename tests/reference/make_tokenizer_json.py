#!/usr/bin/env python3
"""Write Hugging Face tokenizer.json fixtures for the directory-loading tests.

  tests/data/tokenizer/hf-uncased.tokenizer.json.xz  BertWordPieceTokenizer over
      tests/data/vocab/bert-base-uncased.vocab.txt, lowercase=True, saved by
      the real `tokenizers` package (BertNormalizer, BertPreTokenizer,
      WordPiece, BertProcessing, the five special added tokens).
  tests/data/tokenizer/hf-cased.tokenizer.json.xz    the same, cased vocabulary,
      lowercase=False.
  tests/data/tokenizer/bpe.tokenizer.json            a tiny byte-level BPE model
      (must be refused with MEDNER_E_UNSUPPORTED).

Run from the repository root: python3 tests/reference/make_tokenizer_json.py
"""
import lzma
import os

from tokenizers import BertWordPieceTokenizer, Tokenizer, models, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def main():
    for name, lower in (("uncased", True), ("cased", False)):
        tok = BertWordPieceTokenizer(os.path.join(DATA, "vocab", f"bert-base-{name}.vocab.txt"),
                                     lowercase=lower)
        js = tok.to_str(pretty=True).encode()
        with open(os.path.join(DATA, "tokenizer", f"hf-{name}.tokenizer.json.xz"), "wb") as f:
            f.write(lzma.compress(js, preset=9))
    bpe = Tokenizer(models.BPE(vocab={"a": 0, "b": 1, "ab": 2, "<unk>": 3},
                               merges=[("a", "b")], unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel()
    with open(os.path.join(DATA, "tokenizer", "bpe.tokenizer.json"), "w") as f:
        f.write(bpe.to_str(pretty=True))


if __name__ == "__main__":
    main()
