#!/usr/bin/env python3
"""medner's clinical context vs medspaCy 1.3.1 on a small hand-written set of
clinical sentences (tests/data/context/sentences.jsonl, see the README there):
per category, accuracy over all targets and P/R/F1 of the positive flag.

    python3 tests/reference/context_sentences.py [--medner bin/medner] [--rules FILE]
        [--data tests/data/context/sentences.jsonl] [--json build/context/sentences.json]
        [--no-medspacy] [-v]

-v lists every target a system gets wrong (id, mention, category, gold).
Developer tool, not part of `make test`; deterministic. Needs medspacy==1.3.1
(tests/reference/requirements-context.txt) unless --no-medspacy.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import context_common as cc  # noqa: E402


def load(path):
    docs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            o = json.loads(line)
            spans, gold = [], []
            for e in o["entities"]:
                s, t = e["start_char"], e["end_char"]
                if o["text"][s:t] != e["mention"]:
                    raise SystemExit("%s:%d: %s: span %d-%d is %r, not %r"
                                     % (path, n, o["id"], s, t, o["text"][s:t], e["mention"]))
                spans.append((s, t, e["label"]))
                gold.append({c: bool(e[c]) for c in cc.CATEGORIES})
            docs.append({"id": o["id"], "text": o["text"], "spans": spans, "gold": gold})
    return docs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(here, "..", "data", "context", "sentences.jsonl"))
    ap.add_argument("--medner", default="bin/medner")
    ap.add_argument("--rules", default=None)
    ap.add_argument("--json", default="build/context/sentences.json")
    ap.add_argument("--no-medspacy", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    docs = load(args.data)
    preds = {}
    preds["medner"], _, _ = cc.medner_cli_run(args.medner, docs, rules=args.rules)
    if not args.no_medspacy:
        ms = cc.MedspacyRunner()
        preds["medspacy"] = [ms.run_doc(d) for d in docs]

    n = sum(len(d["spans"]) for d in docs)
    res = {"sentences": len(docs), "targets": n, "systems": {}}
    for name, pr in preds.items():
        r = {}
        for c in cc.CATEGORIES:
            g = [x[c] for d in docs for x in d["gold"]]
            p = [x[c] for doc in pr for x in doc]
            r[c] = cc.prf(g, p)
            r[c]["accuracy"] = sum(1 for a, b in zip(g, p) if a == b) / n
            r[c]["gold"] = sum(g)
        # all five flags right at once
        r["all_flags_right"] = sum(1 for d, doc in zip(docs, pr) for g, p in zip(d["gold"], doc)
                                   if all(g[c] == p[c] for c in cc.CATEGORIES)) / n
        res["systems"][name] = r

    print("## Hand-written clinical sentences: %d sentences, %d targets (%s)\n"
          % (len(docs), n, os.path.relpath(args.data)))
    print("| category | gold positives | " + " | ".join("%s acc | %s P | %s R | %s F1" % (s, s, s, s)
                                                       for s in preds) + " |")
    print("|---|---:|" + "---:|" * (4 * len(preds)))
    for c in cc.CATEGORIES:
        row = "| %s | %d |" % (c, res["systems"]["medner"][c]["gold"])
        for s in preds:
            x = res["systems"][s][c]
            row += " %s | %s | %s | **%s** |" % (cc.fmt(x["accuracy"]), cc.fmt(x["p"]), cc.fmt(x["r"]),
                                                 cc.fmt(x["f1"]))
        print(row)
    print("| all five right | |" + "".join(" %s | | | |" % cc.fmt(res["systems"][s]["all_flags_right"])
                                           for s in preds))
    if args.verbose:
        print()
        for s, pr in preds.items():
            for d, doc in zip(docs, pr):
                for (st, en, lab), g, p in zip(d["spans"], d["gold"], doc):
                    wrong = [c for c in cc.CATEGORIES if g[c] != p[c]]
                    if wrong:
                        print("%-8s %-10s %-22s %s  (gold: %s)  | %s" % (
                            s, d["id"], d["text"][st:en], ",".join(("+" if p[c] else "-") + c for c in wrong),
                            ",".join(c for c in cc.CATEGORIES if g[c]) or "affirmed",
                            d["text"].replace("\n", " / ")))
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
