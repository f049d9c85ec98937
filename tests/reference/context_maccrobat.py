#!/usr/bin/env python3
"""Accuracy and speed of medner's clinical context (ConText) against
MACCROBAT2020's negation/uncertainty annotations, side by side with medspaCy
1.3.1's ConText on the same spans.

    python3 tests/reference/context_maccrobat.py [--medner bin/medner] [--lib lib/libmedner.so.0]
        [--rules FILE] [--data DIR] [--json build/context/maccrobat.json]
        [--repeats 3] [--errors FILE --errors-split train] [--no-medspacy]

Developer / benchmark tool (not part of `make test`); needs medspacy==1.3.1
(tests/reference/requirements-context.txt). Deterministic: documents in
sorted order, no sampling.

The evaluation set (decisions; docs/context-results.md repeats them)
--------------------------------------------------------------------
* Documents: the 200 brat pairs of DATA/brat; the split of each from
  DATA/split_ids.tsv (160 train / 20 dev / 20 test, by sorted id). All three
  splits are reported; test is the one to quote; train is the one rules may be
  developed on (--errors lists its misses).
* Targets: the trigger span (a T line) of every event (E line) whose type is
  one of TYPES below: the clinically relevant findings, problems, tests,
  treatments, drugs, values and events. Left out: Date, Duration, Time
  (temporal), Coreference ("it", "this lesion": anaphors), Outcome and
  Other_event (rare and not assertions about a finding). A trigger shared by
  several events is one target (its attributes OR-ed). MACCROBAT annotates
  negation only on events, so plain T lines (e.g. Biological_structure) are not
  targets.
* Discontinuous T spans ("a b;c d"): the outer span (first start to last
  end) is used; they are few (counted in the output).
* Gold: MACCROBAT's attribute is `POLARITY <event> VALUE` with VALUE in NEG,
  UNCERTAIN, MAYBE_POS, MAYBE_NEG, POS (inspected with grep '^A'; TREND
  INC/DEC/STAY is the other attribute and is ignored).
    negated   = POLARITY NEG
    uncertain = POLARITY UNCERTAIN, MAYBE_POS or MAYBE_NEG
  MAYBE_NEG ("did not reveal any distinct myocardial pathology", "rule out a
  compressive lesion") is a hedged negation; it is counted as uncertain, not
  negated (22 in the corpus, so either choice moves the scores little).
  MACCROBAT has no historical / hypothetical / family annotation on events:
  for those three only the agreement of the two systems is reported.
* Label given to both systems: the MACCROBAT event type (Sign_symptom, ...).

Systems
-------
* medner: `medner context [--rules FILE]`, JSON lines on stdin (one document a
  line, code-point offsets), flags read from its output. Timed as one process
  over all 200 documents, process start and JSON I/O included. When the
  library (--lib) has medner_context_apply, also in-process through ctypes
  (medner_context_rules_load once, medner_context_apply per document; the
  byte offsets are prepared before timing).
* medspaCy 1.3.1: blank English + medspaCy tokenizer + PyRuSH sentences +
  medspacy_context with its default rules; the gold spans in a span group
  (doc.char_span(..., alignment_mode="expand")), since nested event triggers
  overlap and doc.ents cannot overlap. Timed per document: tokenizer +
  PyRuSH + spans + ConText ("full", the same work as medner's), and ConText
  alone ("context"). PyRuSH's per-token DEBUG logging (loguru) is disabled.

Speed: documents/s over the 200 documents, median of --repeats runs; the
ratio is medner / medspaCy full.
"""

import argparse
import collections
import glob
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import context_common as cc  # noqa: E402

TYPES = ("Sign_symptom", "Disease_disorder", "Diagnostic_procedure", "Therapeutic_procedure",
         "Medication", "Lab_value", "Clinical_event", "Activity")
NEG_VALUES = {"NEG"}
UNC_VALUES = {"UNCERTAIN", "MAYBE_POS", "MAYBE_NEG"}
SPLITS = ("train", "dev", "test")


def load_corpus(data):
    splits = {}
    with open(os.path.join(data, "split_ids.tsv"), encoding="utf-8") as f:
        for line in f:
            p = line.strip().split("\t")
            if len(p) == 2 and p[1] in SPLITS:
                splits[p[0]] = p[1]
    docs, stats = [], collections.Counter()
    for ann in sorted(glob.glob(os.path.join(data, "brat", "*.ann"))):
        doc_id = os.path.basename(ann)[:-4]
        with open(ann[:-4] + ".txt", encoding="utf-8", newline="") as f:
            text = f.read()
        T, E, A = {}, {}, []
        with open(ann, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("T"):
                    tid, info, ttext = (line.split("\t") + [""])[:3]
                    typ, rest = info.split(" ", 1)
                    frags = [tuple(int(x) for x in fr.split()) for fr in rest.split(";")]
                    T[tid] = (typ, frags[0][0], frags[-1][1], len(frags) > 1, ttext)
                elif line.startswith("E"):
                    eid, info = line.split("\t")[:2]
                    typ, trig = info.split()[0].split(":")
                    E[eid] = (typ, trig)
                elif line.startswith("A"):
                    A.append(line.split("\t")[1].split())
        attrs = collections.defaultdict(set)
        for a in A:
            if a[0] == "POLARITY" and len(a) >= 3:
                attrs[a[1]].add(a[2])
        targets = {}
        for eid, (typ, trig) in sorted(E.items(), key=lambda kv: int(kv[0][1:])):
            if typ not in TYPES:
                continue
            ttyp, s, e, disc, ttext = T[trig]
            if not disc and text[s:e] != ttext:
                stats["text_mismatch"] += 1
            t = targets.setdefault(trig, {"span": (s, e, typ), "values": set(), "disc": disc})
            t["values"] |= attrs.get(eid, set())
        spans, gold = [], []
        for trig, t in sorted(targets.items(), key=lambda kv: (kv[1]["span"][0], kv[1]["span"][1], kv[0])):
            spans.append(t["span"])
            gold.append({"negated": bool(t["values"] & NEG_VALUES),
                         "uncertain": bool(t["values"] & UNC_VALUES)})
            stats["discontinuous"] += t["disc"]
        docs.append({"id": doc_id, "split": splits.get(doc_id, "?"), "text": text,
                     "spans": spans, "gold": gold})
    return docs, stats


def scores(docs, pred_by_sys):
    """Per split (and 'all'): gold counts, P/R/F1 per system for negated and
    uncertain, agreement per category between the first two systems."""
    out = {}
    names = list(pred_by_sys)
    for split in SPLITS + ("all",):
        sel = [i for i, d in enumerate(docs) if split == "all" or d["split"] == split]
        gold = {c: [g[c] for i in sel for g in docs[i]["gold"]] for c in ("negated", "uncertain")}
        r = {"documents": len(sel), "targets": len(gold["negated"]),
             "gold_negated": sum(gold["negated"]), "gold_uncertain": sum(gold["uncertain"]),
             "systems": {}, "agreement": {}}
        flat = {}
        for name in names:
            flat[name] = {c: [f[c] for i in sel for f in pred_by_sys[name][i]] for c in cc.CATEGORIES}
            r["systems"][name] = {c: cc.prf(gold[c], flat[name][c]) for c in ("negated", "uncertain")}
            r["systems"][name]["positives"] = {c: sum(flat[name][c]) for c in cc.CATEGORIES}
        if len(names) >= 2:
            a, b = names[0], names[1]
            r["agreement"] = {c: cc.agreement(flat[a][c], flat[b][c]) for c in cc.CATEGORIES}
        out[split] = r
    return out


def markdown(res, speed, meta):
    names = meta["systems"]
    L = []
    L.append("## MACCROBAT2020: negation and uncertainty (event triggers)\n")
    L.append("Targets: event triggers of types %s; gold negated = POLARITY NEG, uncertain = "
             "UNCERTAIN/MAYBE_POS/MAYBE_NEG. medner rules: %s.\n"
             % (", ".join(TYPES), meta["rules"] or "built-in defaults"))
    L.append("| split | docs | targets | gold neg | gold unc | system | neg P | neg R | neg F1 | unc P | unc R | unc F1 |")
    L.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for split in SPLITS + ("all",):
        r = res[split]
        for name in names:
            s = r["systems"][name]
            n, u = s["negated"], s["uncertain"]
            L.append("| %s | %d | %d | %d | %d | %s | %s | %s | **%s** | %s | %s | **%s** |"
                     % (split, r["documents"], r["targets"], r["gold_negated"], r["gold_uncertain"],
                        name, cc.fmt(n["p"]), cc.fmt(n["r"]), cc.fmt(n["f1"]),
                        cc.fmt(u["p"]), cc.fmt(u["r"]), cc.fmt(u["f1"])))
    if len(names) >= 2:
        L.append("\nAgreement of %s and %s per category (test split; all splits in the JSON): "
                 "%% of targets with the same flag, Cohen's kappa, positives of each.\n"
                 % (names[0], names[1]))
        L.append("| split | category | agreement | kappa | %s positives | %s positives |" % (names[0], names[1]))
        L.append("|---|---|---:|---:|---:|---:|")
        for split in ("test", "all"):
            for c in cc.CATEGORIES:
                a = res[split]["agreement"][c]
                L.append("| %s | %s | %s %% | %s | %d | %d |" % (split, c, cc.fmt(100 * a["agree"], 2),
                                                               cc.fmt(a["kappa"]), a["pos_a"], a["pos_b"]))
    if speed:
        L.append("\n## Speed of the context step (%d documents, %d targets, median of %d runs)\n"
                 % (speed["documents"], speed["targets"], speed["repeats"]))
        L.append("| system | what is timed | seconds | documents/s |")
        L.append("|---|---|---:|---:|")
        for row in speed["rows"]:
            L.append("| %s | %s | %.3f | %.1f |" % (row["system"], row["what"], row["seconds"],
                                                    row["docs_per_s"]))
        for k, v in speed.get("ratios", {}).items():
            L.append("\n%s: **%.1fx**" % (k, v))
        L.append("\nCPU: %s" % meta.get("cpu", "?"))
    return "\n".join(L) + "\n"


def default_data():
    for d in (os.environ.get("MACCROBAT"), "../shared/data/maccrobat", "/work/shared/data/maccrobat"):
        if d and os.path.exists(os.path.join(d, "split_ids.tsv")):
            return d
    return "../shared/data/maccrobat"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data(),
                    help="MACCROBAT folder (default: $MACCROBAT, ../shared/data/maccrobat, "
                         "/work/shared/data/maccrobat)")
    ap.add_argument("--medner", default="bin/medner")
    ap.add_argument("--lib", default="lib/libmedner.so.0",
                    help="library for the in-process timing ('' to skip)")
    ap.add_argument("--python-pkg", default="examples/python",
                    help="folder of the medner Python package (its context() helper is timed too)")
    ap.add_argument("--rules", default=None, help="ConText rule file for medner (default: built-in)")
    ap.add_argument("--json", default="build/context/maccrobat.json")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each system (median)")
    ap.add_argument("--no-medspacy", action="store_true", help="medner only (rule development)")
    ap.add_argument("--speed-only", action="store_true", help="print the speed table only")
    ap.add_argument("--errors", default=None, help="write medner's misses (JSON lines) to FILE")
    ap.add_argument("--errors-split", default="train")
    args = ap.parse_args()

    docs, stats = load_corpus(args.data)
    n_targets = sum(len(d["spans"]) for d in docs)
    print("MACCROBAT: %d documents (%s), %d targets, %d discontinuous (outer span), "
          "%d trigger texts differing from the .txt" % (
              len(docs), ", ".join("%s %d" % (s, sum(d["split"] == s for d in docs)) for s in SPLITS),
              n_targets, stats["discontinuous"], stats["text_mismatch"]), file=sys.stderr)

    preds, rows, meta = {}, [], {"systems": [], "rules": args.rules, "cpu": cpu_model()}
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    jsonl = os.path.splitext(args.json)[0] + ".input.jsonl"

    # medner, CLI (what the accuracy is read from)
    times, flags = [], None
    for k in range(max(1, args.repeats)):
        f, wall, _ = cc.medner_cli_run(args.medner, docs, rules=args.rules,
                                       input_path=jsonl if k == 0 else None)
        flags = flags or f
        times.append(wall)
    preds["medner"] = flags
    meta["systems"].append("medner")
    rows.append({"system": "medner", "what": "`medner context` process over all documents "
                 "(process start, rule loading, JSON in/out included)", "seconds": statistics.median(times)})

    # medner in-process (ctypes), when the library has the API
    if args.lib and os.path.exists(args.lib):
        try:
            mp = cc.MednerInProcess(args.lib, args.rules)
        except (OSError, RuntimeError) as e:
            print("in-process medner skipped: %s" % e, file=sys.stderr)
            mp = None
        if mp:
            prep = [mp.prepare(d) for d in docs]
            times = []
            for k in range(max(1, args.repeats)):
                t0 = time.perf_counter()
                res = [mp.apply(p) for p in prep]
                times.append(time.perf_counter() - t0)
            mp.close()
            diff = sum(1 for a, b in zip(res, preds["medner"]) for x, y in zip(a, b) if x != y)
            if diff:
                print("WARNING: in-process medner differs from the CLI on %d targets" % diff, file=sys.stderr)
            rows.append({"system": "medner", "what": "medner_context_apply in-process (ctypes), "
                         "rules loaded once", "seconds": statistics.median(times)})

    # medner in-process through the Python package's helper (examples/python:
    # medner.context(text, spans, rules)), when it is there: offsets converted per call
    helper = None
    if args.lib and os.path.exists(args.lib) and os.path.isdir(args.python_pkg):
        sys.path.insert(0, args.python_pkg)
        os.environ.setdefault("MEDNER_LIBRARY", os.path.abspath(args.lib))
        try:
            import medner as medner_py
            helper = getattr(medner_py, "context", None)
            helper_rules = medner_py.ContextRules(args.rules) if helper else None
        except (ImportError, OSError, AttributeError) as e:
            print("Python helper skipped: %s" % e, file=sys.stderr)
            helper = None
    if helper:
        times = []
        for k in range(max(1, args.repeats)):
            t0 = time.perf_counter()
            res = [helper(d["text"], d["spans"], rules=helper_rules) for d in docs]
            times.append(time.perf_counter() - t0)
        diff = sum(1 for r, ref in zip(res, preds["medner"]) for e, f in zip(r, ref)
                   if any(bool(getattr(e, c)) != f[c] for c in cc.CATEGORIES))
        if diff:
            print("WARNING: the Python helper differs from the CLI on %d targets" % diff, file=sys.stderr)
        rows.append({"system": "medner", "what": "Python package helper medner.context(text, spans, "
                     "rules) per document (examples/python, ctypes)", "seconds": statistics.median(times)})

    if not args.no_medspacy:
        ms = cc.MedspacyRunner()
        tf, tc, res = [], [], None
        for k in range(max(1, args.repeats)):
            timing = {}
            r = [ms.run_doc(d, timing) for d in docs]
            res = res or r
            tf.append(timing["full"])
            tc.append(timing["context"])
            if k == 0 and timing.get("unaligned"):
                print("medspaCy: %d spans expand to no token (all flags False)" % timing["unaligned"],
                      file=sys.stderr)
        preds["medspacy"] = res
        meta["systems"].append("medspacy")
        meta["medspacy_version"] = ms.version
        rows.append({"system": "medspaCy %s" % ms.version, "what": "tokenizer + PyRuSH + spans + "
                     "ConText per document (in-process)", "seconds": statistics.median(tf)})
        rows.append({"system": "medspaCy %s" % ms.version, "what": "ConText alone (docs already "
                     "tokenized and split)", "seconds": statistics.median(tc)})

    for row in rows:
        row["docs_per_s"] = len(docs) / row["seconds"] if row["seconds"] > 0 else float("inf")
    speed = {"documents": len(docs), "targets": n_targets, "repeats": max(1, args.repeats), "rows": rows,
             "ratios": {}}
    if not args.no_medspacy:
        ms_full = [r for r in rows if r["system"].startswith("medspaCy")][0]["docs_per_s"]
        for r in rows:
            if r["system"] == "medner":
                label = r["what"].split(" (")[0].split(" per ")[0].replace("`", "")
                speed["ratios"]["%s / medspaCy full" % label] = r["docs_per_s"] / ms_full

    res = scores(docs, preds)
    out = {"data": args.data, "types": TYPES, "gold_negated": sorted(NEG_VALUES),
           "gold_uncertain": sorted(UNC_VALUES), "stats": dict(stats), "meta": meta,
           "scores": res, "speed": speed}
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    if args.speed_only:
        md = markdown(res, speed, meta)
        print(md[md.index("## Speed"):])
    else:
        print(markdown(res, speed, meta))
    print("(JSON: %s; medner input: %s)" % (args.json, jsonl), file=sys.stderr)

    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            for i, d in enumerate(docs):
                if d["split"] != args.errors_split:
                    continue
                for j, (s, e, lab) in enumerate(d["spans"]):
                    g = d["gold"][j]
                    p = preds["medner"][i][j]
                    m = preds.get("medspacy", [None] * len(docs))[i]
                    for c in ("negated", "uncertain"):
                        if g[c] != p[c]:
                            ls = d["text"].rfind("\n", 0, s) + 1
                            le = d["text"].find("\n", e)
                            f.write(json.dumps({"doc": d["id"], "cat": c, "kind": "FN" if g[c] else "FP",
                                                "span": d["text"][s:e], "label": lab,
                                                "medspacy": m[j][c] if m else None,
                                                "sentence": d["text"][ls:le if le >= 0 else None]},
                                               ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
