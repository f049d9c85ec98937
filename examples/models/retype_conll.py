#!/usr/bin/env python3
"""Rename entity types of a CoNLL file (TOKEN<TAB>TAG, BIO/BIOES) and turn every other type into O.

Used to score a model on a corpus annotated with other type names, e.g. the disease adapter
(type `Disease`, trained on NCBI-disease) on MACCROBAT2020's `Disease_disorder` mentions:

    python3 examples/models/retype_conll.py --map Disease_disorder=Disease \\
        ../shared/data/maccrobat/test.tsv > .cache/maccrobat-as-disease.tsv
    bin/medner eval --base .cache/models/all-MiniLM-L6-v2 --adapter examples/models/disease \\
        --data .cache/maccrobat-as-disease.tsv

Several input files are concatenated. Standard library only.
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", action="append", required=True, metavar="OLD=NEW",
                    help="keep type OLD under the name NEW (repeatable); other types become O")
    ap.add_argument("files", nargs="+", help="CoNLL files (TOKEN<TAB>TAG, blank line between sentences)")
    args = ap.parse_args()
    mapping = {}
    for m in args.map:
        old, sep, new = m.partition("=")
        if not sep or not old or not new:
            ap.error(f"--map {m!r}: expected OLD=NEW")
        mapping[old] = new
    out = sys.stdout
    open_sentence = False          # a token line written since the last blank line
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip():
                    if open_sentence:
                        out.write("\n")
                    open_sentence = False
                    continue
                parts = line.split("\t")
                if len(parts) != 2:
                    sys.exit(f"{path}:{lineno}: expected TOKEN<TAB>TAG, got {len(parts)} fields")
                tok, tag = parts
                if tag != "O":
                    prefix, sep, typ = tag.partition("-")
                    if not sep or prefix not in ("B", "I", "E", "S"):
                        sys.exit(f"{path}:{lineno}: tag {tag!r} is not O or B-/I-/E-/S-TYPE")
                    tag = f"{prefix}-{mapping[typ]}" if typ in mapping else "O"
                out.write(f"{tok}\t{tag}\n")
                open_sentence = True
        if open_sentence:                # a file without a final blank line
            out.write("\n")
            open_sentence = False


if __name__ == "__main__":
    main()
