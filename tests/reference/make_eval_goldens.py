#!/usr/bin/env python3
"""Generate tests/data/eval/: seqeval parity goldens for src/eval (docs/eval.md).

Writes
  tests/data/eval/<corpus>.gold.tsv  the first sentences of a real dev/test file
                                     (CoNLL, byte-identical lines), read by the C
                                     test through medner__conll_read();
  tests/data/eval/goldens.json       the cases: gold and predicted tags, and
                                     everything seqeval 1.2.2 says about them.

Cases:
  (a) real gold tags with predictions made by a seeded perturbation of the gold
      (drop, shift, extend, shrink, retype, split entities; B- turned into I-;
      spurious B-/I- after O), stored as a list of changes [token_index, tag]
      applied to the gold tags;
  (b) random tag sequences, valid and invalid BIO, BIOES and BILOU, and the odd
      tags seqeval's parser has special cases for ('.', 'O-X', no '-', '_',
      non-ASCII first characters), as explicit lists of lists; plus cases with
      more than 8 and 128 types (numpy's pairwise summation) and with no entity
      at all (macro averages NaN, stored as null).

Every score is stored as a JSON number with Python's repr (shortest round-trip),
so the C test can compare doubles bitwise. "text4"/"text2" are
classification_report(digits=4 / 2) strings, null where seqeval raises (no
entity type at all).

Usage: python3 tests/reference/make_eval_goldens.py [--data DIR]
  DIR defaults to $MEDNER_SHARED_DATA or ../shared/data (relative to the
  repository root). Requires seqeval==1.2.2 (made with numpy 2.4.6,
  scikit-learn 1.9.1, Python 3.11): pip install seqeval==1.2.2.
"""
import argparse
import importlib.metadata
import json
import math
import os
import random
import sys
import warnings

from seqeval.metrics import (classification_report, f1_score, precision_score,
                             recall_score)
from seqeval.metrics.sequence_labeling import get_entities

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "eval")

# (name, corpus, split, sentences kept, perturbation variants)
REAL = [
    ("ncbi-disease-test", "ncbi-disease", "test", 450, [("mild", 11), ("heavy", 12), ("identical", 0)]),
    ("bc2gm-dev", "bc2gm", "dev", 300, [("mild", 21), ("heavy", 22)]),
    ("jnlpba-dev", "jnlpba", "dev", 300, [("mild", 31), ("heavy", 32)]),
    ("maccrobat-test", "maccrobat", "test", 250, [("mild", 41), ("heavy", 42)]),
]


def read_conll(path, max_sentences):
    """First max_sentences sentences: (raw text of those lines, list of tag lists)."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    kept, sents, cur = [], [], []
    for line in lines:
        if len(sents) == max_sentences:
            break
        kept.append(line)
        if line == "\n":
            sents.append(cur)
            cur = []
            continue
        tok, tag = line.rstrip("\n").split("\t")
        cur.append(tag)
    assert not cur and len(sents) == max_sentences, path
    return "".join(kept), sents


def bio_entities(tags):
    """(type, start, end) of a valid BIO sequence (end inclusive)."""
    out, start = [], None
    for i, t in enumerate(tags + ["O"]):
        if start is not None and not t.startswith("I-"):
            out.append((tags[start][2:], start, i - 1))
            start = None
        if t.startswith("B-"):
            start = i
    return out


def perturb(sents, types, rng, heavy):
    """Predicted tags: a perturbed copy of the gold; returns the flat changes."""
    scale = 3 if heavy else 1
    changes = []
    base = 0
    for gold in sents:
        pred = list(gold)
        for typ, s, e in bio_entities(gold):
            r = rng.random()
            p = 0.03 * scale
            if r < p:  # drop
                for i in range(s, e + 1):
                    pred[i] = "O"
            elif r < 2 * p:  # retype
                other = rng.choice([t for t in types if t != typ] or [typ])
                pred[s] = "B-" + other
                for i in range(s + 1, e + 1):
                    pred[i] = "I-" + other
            elif r < 3 * p and e > s:  # shrink at the end
                pred[e] = "O"
            elif r < 4 * p and e + 1 < len(gold) and gold[e + 1] == "O":  # extend right
                pred[e + 1] = "I-" + typ
            elif r < 5 * p and s > 0 and gold[s - 1] == "O":  # extend left
                pred[s - 1] = "B-" + typ
                pred[s] = "I-" + typ
            elif r < 6 * p:  # starts with I- (conlleval still sees an entity)
                pred[s] = "I-" + typ
            elif r < 7 * p and e > s:  # split in two
                pred[rng.randint(s + 1, e)] = "B-" + typ
            elif r < 7.5 * p and e > s:  # type change inside the entity
                pred[e] = "I-" + rng.choice(types)
        for i in range(len(gold)):
            if gold[i] == "O" and pred[i] == "O" and rng.random() < 0.004 * scale:
                pred[i] = rng.choice(["B-", "I-"]) + rng.choice(types)
        for i in range(len(gold)):
            if pred[i] != gold[i]:
                changes.append([base + i, pred[i]])
        base += len(gold)
    return changes


def apply_changes(sents, changes):
    flat = [t for s in sents for t in s]
    for i, tag in changes:
        flat[i] = tag
    out, k = [], 0
    for s in sents:
        out.append(flat[k:k + len(s)])
        k += len(s)
    return out


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def expected(y_true, y_pred, text2=True):
    """Everything seqeval says about one case (text2: also digits=2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = classification_report(y_true, y_pred, digits=4, output_dict=True)
        texts = {}
        for digits in (4, 2) if text2 else (4,):
            try:
                texts[digits] = classification_report(y_true, y_pred, digits=digits)
            except ValueError:  # max() of no type names
                texts[digits] = None
        scores = {}
        for avg in ("micro", "macro", "weighted"):
            scores["precision_" + avg] = num(precision_score(y_true, y_pred, average=avg))
            scores["recall_" + avg] = num(recall_score(y_true, y_pred, average=avg))
            scores["f1_" + avg] = num(f1_score(y_true, y_pred, average=avg))
    # counts, as seqeval's extract_tp_actual_correct makes them
    true_e, pred_e = {}, {}
    for t, s, e in get_entities(y_true):
        true_e.setdefault(t, set()).add((s, e))
    for t, s, e in get_entities(y_pred):
        pred_e.setdefault(t, set()).add((s, e))
    names = sorted(set(true_e) | set(pred_e))
    per_type = []
    for name in names:
        row = d[name]
        per_type.append({
            "name": name,
            "gold": len(true_e.get(name, ())),
            "predicted": len(pred_e.get(name, ())),
            "correct": len(true_e.get(name, set()) & pred_e.get(name, set())),
            "precision": num(row["precision"]), "recall": num(row["recall"]),
            "f1": num(row["f1-score"]), "support": int(row["support"]),
        })
        assert per_type[-1]["support"] == per_type[-1]["gold"]
    avgs = {}
    for avg in ("micro", "macro", "weighted"):
        row = d[avg + " avg"]
        avgs[avg] = {"precision": num(row["precision"]), "recall": num(row["recall"]),
                     "f1": num(row["f1-score"]), "support": int(row["support"])}
        # the *_score functions agree with the report, bit for bit
        for k in ("precision", "recall", "f1"):
            a, b = avgs[avg][k], scores[k + "_" + avg]
            assert (a is None and b is None) or (a is not None and b is not None and
                                                 a.hex() == b.hex()), (avg, k, a, b)
    out = {"per_type": per_type, **avgs,
           "f1_micro": scores["f1_micro"], "f1_macro": scores["f1_macro"], "text4": texts[4]}
    if text2:
        out["text2"] = texts[2]
    return out


# odd tags: every branch of seqeval's tag parser and chunk rules
ODD = ["B", "I", "E", "S", "I-", "B-", ".", ".-A", "O-A", "X-A", "BA", "B_A", "-", "B-A-x",
       "I-A-x", "B-_", "I-_", "B-é", "I-é", "Ö-A", "ÉA", "B-日本", "I-日本", "L-A", "U-A", "L-B",
       "U-B", "E-_", "S-_", "o", "b-A", "I-A-", "B--"]


def random_case(rng, kind):
    if kind == "bio":
        alphabet = ["O"] * 6 + ["B-A", "I-A", "B-B", "I-B", "B-C", "I-C"]
    elif kind == "bioes":
        alphabet = ["O"] * 4 + [p + t for p in ("B-", "I-", "E-", "S-") for t in ("A", "B")]
    elif kind == "bilou":
        alphabet = ["O"] * 4 + [p + t for p in ("B-", "I-", "L-", "U-") for t in ("A", "B")]
    else:
        alphabet = ["O"] * 4 + ["B-A", "I-A", "B-B", "I-B", "E-A", "S-B"] + ODD
    y_true, y_pred = [], []
    for _ in range(rng.randint(1, 6)):  # seqeval refuses zero sentences
        n = rng.randint(0, 12)
        g = [rng.choice(alphabet) for _ in range(n)]
        # predictions: mostly the gold with noise, sometimes independent
        if rng.random() < 0.3:
            p = [rng.choice(alphabet) for _ in range(n)]
        else:
            p = [t if rng.random() < 0.7 else rng.choice(alphabet) for t in g]
        y_true.append(g)
        y_pred.append(p)
    return y_true, y_pred


def many_types_case(rng, ntypes, sentences):
    types = ["T%03d" % k for k in range(ntypes)]
    y_true, y_pred = [], []
    for _ in range(sentences):
        n = rng.randint(1, 20)
        g, p = [], []
        for _ in range(n):
            r = rng.random()
            g.append("O" if r < 0.4 else rng.choice(["B-", "I-"]) + rng.choice(types))
        for t in g:
            p.append(t if rng.random() < 0.6 else
                     ("O" if rng.random() < 0.3 else rng.choice(["B-", "I-"]) + rng.choice(types)))
        y_true.append(g)
        y_pred.append(p)
    return y_true, y_pred


def main():
    warnings.simplefilter("ignore")  # "X seems not to be NE tag", zero division
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("MEDNER_SHARED_DATA",
                                                     os.path.join(ROOT, "..", "shared", "data")))
    args = ap.parse_args()
    version = importlib.metadata.version("seqeval")
    if version != "1.2.2":
        sys.exit("seqeval 1.2.2 is required, found %s" % version)
    os.makedirs(OUT, exist_ok=True)
    cases = []

    for name, corpus, split, keep, variants in REAL:
        text, sents = read_conll(os.path.join(args.data, corpus, split + ".tsv"), keep)
        fname = name + ".gold.tsv"
        with open(os.path.join(OUT, fname), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        types = sorted({t[2:] for s in sents for t in s if t != "O"})
        for variant, seed in variants:
            rng = random.Random(seed)
            changes = [] if variant == "identical" else perturb(sents, types, rng, variant == "heavy")
            y_pred = apply_changes(sents, changes)
            cases.append({"name": "%s-%s" % (name, variant), "gold_conll": fname,
                          "sentences": len(sents), "tokens": sum(map(len, sents)),
                          "pred_changes": changes, "expected": expected(sents, y_pred)})
            print("%-28s %4d sentences %6d tokens %5d changes" %
                  (cases[-1]["name"], len(sents), cases[-1]["tokens"], len(changes)))

    rng = random.Random(2026)
    hand = [
        ("empty-sentences", [[], []], [[], []]),
        ("all-O", [["O", "O"], ["O"]], [["O", "O"], ["O"]]),
        ("gold-only", [["B-A", "I-A", "O"]], [["O", "O", "O"]]),
        ("pred-only", [["O", "O", "O"]], [["B-A", "I-A", "O"]]),
        ("readme-example", [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
         [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]),
        ("I-after-O", [["O", "I-A", "I-A", "O"]], [["O", "B-A", "I-A", "O"]]),
        ("type-change-ends", [["B-A", "I-B", "I-B"]], [["B-A", "B-B", "I-B"]]),
        ("L-spans-sentences", [["B-A", "L-A"], ["L-A", "O"]], [["B-A", "L-A"], ["O", "O"]]),
        ("dot-swallows", [["B-A", ".", "O", "B-A"]], [["B-A", "O", "O", "B-A"]]),
        ("dot-stale-begin", [["B-A", ".-A", "I-A", "O"]], [["B-A", "I-A", "I-A", "O"]]),
        ("underscore-type", [["B", "I", "O", "I-_"]], [["B-_", "I-_", "O", "B"]]),
        ("suffix-dash", [["B-A-x", "I-B-x", "BA", "IA"]], [["B-A-x", "I-A-x", "B-A", "I-A"]]),
        ("unicode-types", [["B-é", "I-é", "O", "B-日本"]], [["Ö-é", "I-é", "O", "B-日本"]]),
        ("stale-begin-across-sentences", [["B"], ["X", "B-A"]], [["B"], ["O", "B-A"]]),
        ("L-never-ends", [["L"], ["L"], ["B-A"]], [["L"], ["O"], ["B-A"]]),
        ("first-token-oddities", [["L"], ["U-_"], ["X"]], [["O"], ["S"], ["E"]]),
    ]
    for name, y_true, y_pred in hand:
        cases.append({"name": name, "gold": y_true, "pred": y_pred,
                      "expected": expected(y_true, y_pred)})
    kinds = ["bio", "bioes", "bilou", "odd"]
    for k in range(160):
        kind = kinds[k % 4]
        y_true, y_pred = random_case(rng, kind)
        cases.append({"name": "random-%s-%03d" % (kind, k), "gold": y_true, "pred": y_pred,
                      "expected": expected(y_true, y_pred, text2=False)})
    for ntypes, sentences in ((9, 30), (20, 40), (140, 120), (270, 200)):
        y_true, y_pred = many_types_case(rng, ntypes, sentences)
        cases.append({"name": "many-types-%d" % ntypes, "gold": y_true, "pred": y_pred,
                      "expected": expected(y_true, y_pred, text2=False)})

    doc = {"generator": "tests/reference/make_eval_goldens.py",
           "seqeval": "1.2.2", "cases": cases}
    with open(os.path.join(OUT, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("%d cases -> %s" % (len(cases), os.path.relpath(os.path.join(OUT, "goldens.json"), ROOT)))


if __name__ == "__main__":
    sys.exit(main())
