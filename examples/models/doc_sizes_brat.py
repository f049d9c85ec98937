#!/usr/bin/env python3
"""Sentences per document of a brat corpus split, for `pack_conll.py --doc-sizes`.

../shared/data/maccrobat's CoNLL files hold the documents of each split in numeric ID order, one
sentence per non-empty line of each `.txt` (its README, "Conversion" and "Split"). This prints, for
one split, the number of non-empty lines of each document in that order, one per line.

    python3 examples/models/doc_sizes_brat.py ../shared/data/maccrobat train > .cache/packed/mac-train.docs
"""
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: doc_sizes_brat.py CORPUS_DIR SPLIT   (CORPUS_DIR has split_ids.tsv and brat/)")
    root, split = sys.argv[1], sys.argv[2]
    ids = []
    with open(os.path.join(root, "split_ids.tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                sys.exit(f"{root}/split_ids.tsv:{n}: expected DOC_ID<TAB>SPLIT")
            if parts[1] == split:
                ids.append(parts[0])
    if not ids:
        sys.exit(f"{root}/split_ids.tsv: no document in split {split!r}")
    ids.sort(key=lambda d: int(d) if d.isdigit() else d)
    for d in ids:
        with open(os.path.join(root, "brat", d + ".txt"), encoding="utf-8") as f:
            print(sum(1 for line in f if line.strip()))


if __name__ == "__main__":
    main()
