#!/usr/bin/env python3
"""Pack consecutive sentences of a CoNLL file into longer sequences (cross-sentence context).

A sentence-level CoNLL file (TOKEN<TAB>TAG, a blank line after each sentence) trains and scores a
model that sees one sentence at a time, while `medner annotate` reads whole documents (windows of up
to the model's max length). This script joins consecutive sentences, in file order, into sequences
of at most --budget WordPiece tokens (counted with the model's own tokenizer.json, the Hugging Face
`tokenizers` library), so that training and scoring see the neighbouring sentences too. A sentence
longer than the budget stays alone. Tags are unchanged (gold entities never cross a sentence).

Writes OUT (the packed CoNLL file) and OUT.map (one line per packed sequence: the token count of
each sentence in it, space-separated), which `eval_packed.py` uses to score the predictions per
original sentence, exactly as seqeval scores the unpacked file.

    python3 examples/models/pack_conll.py --tokenizer .cache/models/all-MiniLM-L6-v2/tokenizer.json \\
        --budget 200 ../shared/data/ncbi-disease/train.tsv .cache/packed/train.tsv
"""
import argparse
import sys


def read_conll(path):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    sents.append(cur)
                    cur = []
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                sys.exit(f"{path}:{n}: expected TOKEN<TAB>TAG, got {len(parts)} field(s)")
            cur.append((parts[0], parts[1]))
    if cur:
        sents.append(cur)
    return sents


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", required=True, help="the model's tokenizer.json")
    ap.add_argument("--budget", type=int, default=200,
                    help="WordPiece tokens per packed sequence, without [CLS]/[SEP] (default 200)")
    ap.add_argument("--doc-sizes", metavar="FILE",
                    help="sentences per document, one integer per line, in file order: a packed "
                         "sequence never crosses a document end (e.g. from doc_sizes_brat.py)")
    ap.add_argument("src")
    ap.add_argument("out")
    args = ap.parse_args()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    tok.no_padding()
    tok.no_truncation()  # tokenizer.json files may carry a max length; count every piece
    sents = read_conll(args.src)
    # word pieces of each sentence as the tokens joined by spaces (as medner eval's text)
    enc = tok.encode_batch([" ".join(t for t, _ in s) for s in sents], add_special_tokens=False)
    lens = [len(e.ids) for e in enc]
    ends = set()  # index of the first sentence of each document after the first
    if args.doc_sizes:
        sizes = []
        with open(args.doc_sizes, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    if not line.strip().isdigit():
                        sys.exit(f"{args.doc_sizes}:{n}: expected a number of sentences, "
                                 f"got {line.strip()!r}")
                    sizes.append(int(line))
        if sum(sizes) != len(sents) or min(sizes, default=1) < 1:
            sys.exit(f"{args.doc_sizes}: document sizes add up to {sum(sizes)} sentences "
                     f"(each >= 1), {args.src} has {len(sents)}")
        acc = 0
        for k in sizes[:-1]:
            acc += k
            ends.add(acc)
    groups, cur, cur_len = [], [], 0
    for i, n in enumerate(lens):
        if cur and (cur_len + n > args.budget or i in ends):
            groups.append(cur)
            cur, cur_len = [], 0
        cur.append(i)
        cur_len += n
    if cur:
        groups.append(cur)
    with open(args.out, "w", encoding="utf-8") as f, open(args.out + ".map", "w") as m:
        for g in groups:
            for i in g:
                for t, tag in sents[i]:
                    f.write(f"{t}\t{tag}\n")
            f.write("\n")
            m.write(" ".join(str(len(sents[i])) for i in g) + "\n")
    print(f"{args.src}: {len(sents)} sentences -> {len(groups)} sequences "
          f"(max {max(sum(lens[i] for i in g) for g in groups)} word pieces)", file=sys.stderr)


if __name__ == "__main__":
    main()
