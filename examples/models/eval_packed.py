#!/usr/bin/env python3
"""Score a model on a packed CoNLL file (pack_conll.py) per ORIGINAL sentence, as seqeval does.

Runs `bin/medner eval ... --data PACKED --predictions TMP`, cuts the piece-level predictions back
into the original sentences with PACKED.map (a predicted entity that runs over a sentence end is cut
there, as it would be had the sentence been annotated alone), and prints seqeval's micro
precision/recall/F1 (default mode) over those sentences, with medner's own report of the packed
file beside it. Extra arguments go to `medner eval` (model, decoding, aggregation, ...).

    python3 examples/models/eval_packed.py --data .cache/packed/ncbi-test.tsv -- \\
        --model .cache/train/ncbi-packed --decoding constrained --aggregation average
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="packed CoNLL file; PACKED.map next to it")
    ap.add_argument("--medner", default="bin/medner")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("eval_args", nargs="*", help="after --: options of medner eval")
    args = ap.parse_args()
    from seqeval.metrics import f1_score, precision_score, recall_score

    with open(args.data + ".map") as f:
        groups = [[int(x) for x in line.split()] for line in f if line.strip()]
    with open(args.data, encoding="utf-8") as f:
        tokens = []  # per packed sequence: its tokens
        cur = []
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    tokens.append(cur)
                    cur = []
            else:
                cur.append(line.split("\t")[0])
        if cur:
            tokens.append(cur)
    if len(tokens) != len(groups) or any(len(t) != sum(g) for t, g in zip(tokens, groups)):
        sys.exit(f"eval_packed: {args.data} does not match {args.data}.map")

    fd, pred_path = tempfile.mkstemp(prefix="medner-packed-")
    os.close(fd)
    try:
        cmd = [args.medner, "eval", "--data", args.data, "--predictions", pred_path, "--json"] + args.eval_args
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"eval_packed: {' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
        packed_report = json.loads(res.stdout)
        seqs, cur = [], []
        with open(pred_path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    if cur:
                        seqs.append(cur)
                        cur = []
                else:
                    cur.append(line.split("\t"))
            if cur:
                seqs.append(cur)
    finally:
        os.unlink(pred_path)
    if len(seqs) != len(groups):
        sys.exit(f"eval_packed: {len(seqs)} predicted sequences for {len(groups)} packed ones")

    gold, pred = [], []
    for pieces, toks, g in zip(seqs, tokens, groups):
        # pieces of token k concatenate to token k; sentence j has g[j] tokens
        p = 0
        for n in g:
            sg, sp = [], []
            for _ in range(n):
                want, got = toks.pop(0), ""
                while got != want:
                    if p >= len(pieces) or len(got) >= len(want):
                        sys.exit("eval_packed: predictions do not follow the tokens of the data")
                    got += pieces[p][0]
                    sg.append(pieces[p][1])
                    sp.append(pieces[p][2])
                    p += 1
            gold.append(sg)
            pred.append(sp)
        if p != len(pieces):
            sys.exit("eval_packed: predictions do not follow the tokens of the data")
    out = {
        "sentences": len(gold),
        "precision": precision_score(gold, pred),
        "recall": recall_score(gold, pred),
        "f1": f1_score(gold, pred),
        "packed_micro_f1": packed_report["micro"]["f1"],
        "command": " ".join(cmd),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['sentences']} sentences: P {out['precision']:.4f} R {out['recall']:.4f} "
              f"F1 {out['f1']:.4f} (packed sequences: F1 {out['packed_micro_f1']:.4f})")


if __name__ == "__main__":
    main()
