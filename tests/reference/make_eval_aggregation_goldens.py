#!/usr/bin/env python3
"""Goldens of `medner eval --aggregation A` (issue 14.11), scored by seqeval 1.2.2.

For each CoNLL file and aggregation (none, simple, first, average, max) this script
1. asks `bin/medner annotate --model tests/data/models/tiny-bert-tc --aggregation A` for the
   entities of every sentence (the sentence's tokens joined by single spaces: the text
   `medner eval` annotates), i.e. exactly the entities the pipeline returns;
2. projects them, independently of medner's C code, onto "pieces" (the CoNLL tokens split at
   every predicted entity boundary that falls strictly inside a token; docs/eval.md) and gives
   seqeval the piece tags: predicted entities B-TYPE I-TYPE ... (aggregation none: the token's
   own label, a label without a B-/I-/E-/S-/L-/U- prefix read as I-LABEL as Hugging Face does),
   gold tags projected so that seqeval's scan sees the same gold entities;
3. checks that seqeval's correct count equals the exact (type, start, end) match of the byte
   spans (gold spans from seqeval's get_entities on the token tags), which is what eval promises;
4. writes seqeval's classification_report(digits=4) and (digits=10) and the counts.

The C side (tests/cli/test-eval-aggregation.sh, run by `make test`) compares `medner eval`'s
output with these files byte for byte; no Python at test time.

Also writes tests/data/eval/tiny-first.gold.tsv: the first 120 sentences of the NCBI excerpt
with the tags of tiny-bert-tc's own `first` predictions (word-aligned by construction of the
BERT pre-tokenizer on these tokens), so that `first` scores 1.0 there while `simple`/`none`,
whose entities often begin or end inside a word, do not: a gold file on which a scorer that
widens cut entities to whole words (the old eval) gives visibly wrong numbers.

Run from the repository root after `make`:  python3 tests/reference/make_eval_aggregation_goldens.py
Needs seqeval==1.2.2 (pip).
"""
import json
import os
import subprocess
import sys

from seqeval.metrics import classification_report
from seqeval.metrics.sequence_labeling import get_entities
import seqeval

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "tests/data/models/tiny-bert-tc"
OUT = os.path.join(ROOT, "tests/data/eval/aggregation")
AGGS = ["none", "simple", "first", "average", "max"]


def read_conll(path):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    sents.append(cur)
                    cur = []
                continue
            tok, tag = line.split("\t")
            cur.append((tok, tag))
    if cur:
        sents.append(cur)
    return sents


def annotate(sents, agg):
    lines = "".join(json.dumps({"text": " ".join(t for t, _ in s)}) + "\n" for s in sents)
    out = subprocess.run([os.path.join(ROOT, "bin/medner"), "annotate", "--model", MODEL,
                          "--aggregation", agg], input=lines.encode(), cwd=ROOT,
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    res = [json.loads(l)["entities"] for l in out.splitlines()]
    assert len(res) == len(sents)
    return res


def word_spans(sent):
    spans, pos = [], 0
    for tok, _ in sent:
        n = len(tok.encode("utf-8"))
        spans.append((pos, pos + n))
        pos += n + 1
    return spans


def piece_prefix(p, k, K):
    if p == "B":
        return "B" if k == 0 else "I"
    if p == "E":
        return "E" if k == K - 1 else "I"
    if p == "S":
        return "S" if K == 1 else "B" if k == 0 else "E" if k == K - 1 else "I"
    return p


def tag(p, typ):
    return "O" if p == "O" else p + "-" + typ


def label_tag(label, is_none):
    if not is_none:
        return "B", label
    if label == "O":
        return "O", ""
    if len(label) > 2 and label[0] in "BIESLU" and label[1] == "-":
        return label[0], label[2:]
    return "I", label


def project(sent, ents, is_none):
    """Piece tags (gold, pred) of one sentence, and stats."""
    spans = word_spans(sent)
    bounds = sorted({x for e in ents for x in (e["start"], e["end"])})
    pieces, gold = [], []
    split = 0
    for (tok, g), (b, e) in zip(sent, spans):
        cuts = [x for x in bounds if b < x < e]
        edges = [b] + cuts + [e]
        K = len(edges) - 1
        split += K > 1
        for k in range(K):
            pieces.append((edges[k], edges[k + 1]))
            gold.append(tag(piece_prefix(g[0], k, K), g[2:]) if g != "O" else "O")
    pred = ["O"] * len(pieces)
    cutting = 0
    prev_end = 0
    for e in ents:
        assert e["start"] < e["end"] and e["start"] >= prev_end, "overlapping entities"
        prev_end = e["end"]
        idx = [i for i, (pb, pe) in enumerate(pieces) if e["start"] <= pb and pe <= e["end"]]
        assert idx and idx == list(range(idx[0], idx[-1] + 1))
        p, typ = label_tag(e["label"], is_none)
        for k, i in enumerate(idx):
            pred[i] = tag(piece_prefix(p, k, len(idx)), typ)
        cutting += any(b < e["start"] < en or b < e["end"] < en for b, en in spans)
    return pieces, gold, pred, split, cutting


def main():
    print("seqeval", seqeval.__version__ if hasattr(seqeval, "__version__") else "1.2.2")
    os.makedirs(OUT, exist_ok=True)
    ncbi = read_conll(os.path.join(ROOT, "tests/data/eval/ncbi-disease-test.gold.tsv"))
    # the self-labelled file: gold = the tiny model's own `first` entities on whole tokens
    sub = ncbi[:120]
    first = annotate(sub, "first")
    with open(os.path.join(ROOT, "tests/data/eval/tiny-first.gold.tsv"), "w", encoding="utf-8",
              newline="\n") as f:
        for sent, ents in zip(sub, first):
            spans = word_spans(sent)
            tags = ["O"] * len(sent)
            for e in ents:
                ws = [i for i, (b, en) in enumerate(spans) if b < e["end"] and e["start"] < en]
                assert spans[ws[0]][0] == e["start"] and spans[ws[-1]][1] == e["end"], \
                    "a `first` entity is not aligned with the tokens"
                for k, i in enumerate(ws):
                    tags[i] = ("B-" if k == 0 else "I-") + e["label"]
            for (tok, _), t in zip(sent, tags):
                f.write(f"{tok}\t{t}\n")
            f.write("\n")
    datasets = {"ncbi": "tests/data/eval/ncbi-disease-test.gold.tsv",
                "tiny-first": "tests/data/eval/tiny-first.gold.tsv"}
    for name, path in datasets.items():
        sents = read_conll(os.path.join(ROOT, path))
        for agg in AGGS:
            res = annotate(sents, agg)
            G, P = [], []
            n_pred = n_cut = n_split = 0
            span_gold, span_pred = set(), set()
            for si, (sent, ents) in enumerate(zip(sents, res)):
                pieces, gold, pred, split, cutting = project(sent, ents, agg == "none")
                G.append(gold)
                P.append(pred)
                n_pred += len(ents)
                n_cut += cutting
                n_split += split
                spans = word_spans(sent)
                for typ, a, z in get_entities([t for _, t in sent]):
                    span_gold.add((si, typ, spans[a][0], spans[z][1]))
                if agg != "none":
                    for e in ents:
                        span_pred.add((si, e["label"], e["start"], e["end"]))
            rep = classification_report(G, P, output_dict=True, zero_division=0)
            gold_ents = get_entities(G)
            pred_ents = get_entities(P)
            correct = len(set(gold_ents) & set(pred_ents))
            assert len(gold_ents) == len(span_gold)
            if agg != "none":
                # seqeval on pieces == exact span match of what annotate returned
                assert len(pred_ents) == len(span_pred) == n_pred
                assert correct == len(span_gold & span_pred), (correct, len(span_gold & span_pred))
            base = os.path.join(OUT, f"{name}-{agg}")
            for d in (4, 10):
                with open(f"{base}.digits{d}.txt", "w", encoding="utf-8", newline="\n") as f:
                    f.write(classification_report(G, P, digits=d, zero_division=0))
            with open(f"{base}.counts", "w", encoding="utf-8", newline="\n") as f:
                f.write(f"support {len(gold_ents)}\npredicted {len(pred_ents)}\n"
                        f"correct {correct}\nentities {n_pred}\ncutting {n_cut}\n"
                        f"tokens_split {n_split}\n")
            print(f"{name} {agg}: f1 {rep['micro avg']['f1-score']:.4f} support {len(gold_ents)} "
                  f"predicted {len(pred_ents)} correct {correct} cutting {n_cut}/{n_pred}")


if __name__ == "__main__":
    sys.exit(main())
