#!/usr/bin/env python3
"""Choose an adapter's decoding on dev, then score it on test, with `bin/medner eval`; write eval.json.

For a shipped adapter trained with `medner train` (examples/recipes/*-adapter.yaml), or with
--model DIR instead of --adapter for a fully fine-tuned model directory:

    python3 examples/models/eval_adapter.py --adapter examples/models/disease \\
        --data-dir ../shared/data/ncbi-disease --train-log .cache/train/disease-adapter.train.jsonl \\
        [--cross NAME=FILE.tsv ...] --out examples/models/disease/eval.json

1. dev: every decoding (argmax, constrained) x aggregation (first, max, average) is scored on
   DATA_DIR/dev.tsv; the pair with the best dev micro F1 is chosen (ties: the earlier pair in that
   order, i.e. the simpler one). Test data are not looked at for the choice.
2. test: DATA_DIR/test.tsv scored once with the chosen pair and once with medner's defaults
   (argmax, first), for comparison; --cross files (other corpora, e.g. made with retype_conll.py)
   likewise.
3. eval.json: the reports of `medner eval --json`, the dev grid, the choice, the per-epoch dev F1 of
   the training log (`medner train --log-json`), and the command lines.

Standard library only; run from the repository root after `make` and
`sh tests/reference/fetch_minilm.sh`.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

PAIRS = [(d, a) for d in ("argmax", "constrained") for a in ("first", "max", "average")]


def medner_eval(args, data, decoding, aggregation, keep=()):
    model = ["--model", args.model] if args.model else ["--base", args.base, "--adapter", args.adapter]
    cmd = [args.medner, "eval", *model, "--data", data,
           "--decoding", decoding, "--aggregation", aggregation, "--threads", str(args.threads), "--json"]
    for k in keep:
        cmd += ["--keep-label", k]
    t0 = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"eval_adapter: {' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    rep = json.loads(res.stdout)
    return {"command": " ".join(cmd), "seconds": round(time.time() - t0, 1), "report": rep}


def micro(r):
    m = r["report"]["micro"]
    return {k: round(m[k], 4) for k in ("precision", "recall", "f1")} | {"support": m["support"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--adapter", help="PEFT adapter directory (on --base)")
    who.add_argument("--model", help="a full model directory (e.g. a `medner train` output without --lora-r)")
    ap.add_argument("--base", default=".cache/models/all-MiniLM-L6-v2")
    ap.add_argument("--data-dir", required=True, help="folder with dev.tsv and test.tsv")
    ap.add_argument("--train-log", help="JSON lines of `medner train --log-json`")
    ap.add_argument("--recipe", help="the recipe file, recorded in eval.json")
    ap.add_argument("--cross", action="append", default=[], metavar="NAME=FILE",
                    help="another corpus to score with the chosen decoding (repeatable)")
    ap.add_argument("--keep-label", action="append", default=[],
                    help="score only these types (passed to medner eval; repeatable)")
    ap.add_argument("--medner", default="bin/medner")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    dev = os.path.join(args.data_dir, "dev.tsv")
    test = os.path.join(args.data_dir, "test.tsv")
    grid = []
    for dec, agg in PAIRS:
        r = medner_eval(args, dev, dec, agg, args.keep_label)
        grid.append({"decoding": dec, "aggregation": agg} | micro(r))
        print(f"dev  {dec:11s} {agg:7s} F1 {grid[-1]['f1']:.4f}", file=sys.stderr)
    best = max(range(len(grid)), key=lambda i: (grid[i]["f1"], -i))
    dec, agg = grid[best]["decoding"], grid[best]["aggregation"]
    print(f"chosen on dev: decoding {dec}, aggregation {agg}", file=sys.stderr)

    out = {
        "adapter": args.adapter,
        "model": args.model,
        "base": None if args.model else args.base,
        "predictions_by": "medner (bin/medner eval: seqeval default mode, entity level)",
        "recipe": args.recipe,
        "chosen_on_dev": {"decoding": dec, "aggregation": agg},
        "dev_grid": grid,
        "test": medner_eval(args, test, dec, agg, args.keep_label),
        "test_defaults": medner_eval(args, test, "argmax", "first", args.keep_label),
        "cross": {},
        "machine": platform.machine(),
    }
    for c in args.cross:
        name, sep, path = c.partition("=")
        if not sep:
            sys.exit(f"eval_adapter: --cross {c!r}: expected NAME=FILE")
        out["cross"][name] = {"chosen": medner_eval(args, path, dec, agg),
                              "defaults": medner_eval(args, path, "argmax", "first")}
    if args.train_log:
        hist = []
        with open(args.train_log, encoding="utf-8") as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") == "epoch":
                    hist.append({k: ev.get(k) for k in ("epoch", "step", "loss", "dev_loss", "dev_precision",
                                                         "dev_recall", "dev_f1", "best", "elapsed_s")})
        out["dev_history"] = hist
    for k in ("test", "test_defaults"):
        print(f"test {k:13s} {micro(out[k])}", file=sys.stderr)
    for name, c in out["cross"].items():
        print(f"cross {name}: chosen {micro(c['chosen'])}, defaults {micro(c['defaults'])}", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
