#!/usr/bin/env python3
"""`make test-spark` (run by test-spark.sh in its venv): the same N notes
through the CLI and through examples/spark/annotate_notes.py in Spark local
mode; every entity must be identical, each Python worker must have loaded
the pipeline exactly once; prints throughput and worker memory, then
"spark: N passed, M failed" (exit status 1 when M > 0).

  python check_spark.py --root REPO --out DIR [--notes 10000] [--master local[2]]
"""

import argparse
import glob
import json
import os
import re
import resource
import subprocess
import sys
import time

FLAGS = ("negated", "uncertain", "historical", "hypothetical", "family")
FIELDS = ("label", "start", "end", "text", "score") + FLAGS + ("section", "sentence")

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {what}")
    else:
        failed += 1
        print(f"  FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok


def run(cmd, **kw):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, **kw)
    return proc, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--notes", type=int, default=10000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--arrow-batch", type=int, default=256)
    ap.add_argument("--cli-threads", type=int, default=2)
    a = ap.parse_args()
    root, out = os.path.abspath(a.root), os.path.abspath(a.out)
    base = os.path.join(root, ".cache/models/all-MiniLM-L6-v2")
    adapter = os.path.join(root, "examples/models/clinical")
    os.makedirs(out, exist_ok=True)
    notes_path = os.path.join(out, "notes.jsonl")
    cli_path = os.path.join(out, "cli.jsonl")
    spark_out = os.path.join(out, "entities.parquet")
    stats_dir = os.path.join(out, "stats")
    for p in glob.glob(os.path.join(stats_dir, "*.json")):
        os.remove(p)

    # ---- the corpus (deterministic, generated here: no committed data)
    sys.path.insert(0, os.path.join(root, "examples/spark"))
    import make_notes
    notes = list(make_notes.notes(a.notes, os.path.join(root, "examples/notes")))
    with open(notes_path, "w", encoding="utf-8") as f:
        for rec in notes:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    text_of = {r["id"]: r["text"] for r in notes}
    print(f"test-spark: {len(notes)} notes ({sum(len(t) for t in text_of.values())} "
          f"characters, {len(text_of)} distinct ids, "
          f"{len(set(text_of.values()))} distinct texts)")

    # ---- the CLI
    cli = [os.path.join(root, "bin/medner"), "annotate", "--base", base, "--adapter", adapter,
           "--format", "jsonl", "--threads", str(a.cli_threads)]
    with open(notes_path, "rb") as fin, open(cli_path, "wb") as fout:
        proc, cli_s = run(cli, stdin=fin, stdout=fout)
    cli_rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    check(proc.returncode == 0, "CLI annotate exits 0", f"status {proc.returncode}")
    cli_docs = {}
    with open(cli_path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            cli_docs[rec.get("id")] = rec.get("entities")
    check(set(cli_docs) == set(text_of) and None not in cli_docs.values(),
          "CLI: one result per note, no errors",
          f"{len(cli_docs)} results for {len(text_of)} notes")

    # ---- Spark
    cmd = [sys.executable, os.path.join(root, "examples/spark/annotate_notes.py"),
           "--master", a.master, "--base", base, "--adapter", adapter,
           "--input", notes_path, "--output", spark_out, "--partitions", str(a.partitions),
           "--arrow-batch", str(a.arrow_batch), "--stats-dir", stats_dir]
    log = os.path.join(out, "spark.log")
    with open(log, "w") as ferr:
        proc, spark_wall = run(cmd, stdout=subprocess.PIPE, stderr=ferr, text=True)
    sys.stdout.write(proc.stdout)
    if not check(proc.returncode == 0, "annotate_notes.py exits 0",
                 f"status {proc.returncode}; the end of {log}:"):
        with open(log) as f:
            sys.stdout.write("".join(f.readlines()[-40:]))
    m = re.search(r"in ([0-9.]+) s \(", proc.stdout)
    spark_job_s = float(m.group(1)) if m else float("nan")

    import pyarrow.parquet as pq
    try:
        rows = pq.read_table(spark_out).to_pylist()
    except Exception as e:          # no output: every comparison below fails
        print(f"test-spark: cannot read {spark_out}: {e}")
        rows = []
    spark_docs = {}
    for r in rows:
        spark_docs.setdefault(r["id"], []).append(r)

    # ---- identical entities
    cli_nonempty = {k: v for k, v in cli_docs.items() if v}
    n_cli = sum(len(v) for v in cli_docs.values())
    check(set(spark_docs) == set(cli_nonempty),
          "same notes have entities in Spark and the CLI",
          f"{len(spark_docs)} vs {len(cli_nonempty)} notes")
    check(len(rows) == n_cli, "same number of entities", f"Spark {len(rows)}, CLI {n_cli}")
    diffs = {}
    examples = []
    compared = 0
    for doc_id, cli_ents in cli_nonempty.items():
        key = lambda e: (e["start"], e["end"], e["label"])   # noqa: E731
        mine = sorted(spark_docs.get(doc_id, []), key=key)
        # CLI offsets: start/end are UTF-8 bytes, start_char/end_char code points
        theirs = sorted(({**e, "start": e["start_char"], "end": e["end_char"]}
                         for e in cli_ents), key=key)
        for s, c in zip(mine, theirs):
            compared += 1
            for f in FIELDS:
                if s[f] != c.get(f):
                    diffs[f] = diffs.get(f, 0) + 1
                    if len(examples) < 5:
                        examples.append(f"{doc_id} {f}: spark {s[f]!r} cli {c.get(f)!r}")
        if len(mine) != len(theirs):
            diffs["count"] = diffs.get("count", 0) + 1
    check(compared == n_cli and not diffs,
          f"every entity identical (label, code-point offsets, text, score exactly, "
          f"{', '.join(FLAGS)}, section, sentence; {compared} compared)",
          f"differences per field {diffs}; e.g. " + "; ".join(examples))

    bad = [r for r in rows if text_of.get(r["id"], "")[r["start"]:r["end"]] != r["text"]]
    check(rows and not bad, "Spark offsets index the Python str: text[start:end] == entity text",
          f"{len(bad)} entities, e.g. {bad[:1]}")
    shifted = sum(1 for v in cli_nonempty.values() for e in v if e["start"] != e["start_char"])
    check(shifted > 0, f"the corpus exercises byte vs code-point offsets ({shifted} CLI "
          "entities with start != start_char)")
    counts = {f: sum(1 for r in rows if r[f]) for f in FLAGS}
    check(all(counts.values()), f"clinical context ran in Spark (entities per flag: {counts})")

    # ---- one pipeline per Python worker, reused across batches and tasks
    stats = []
    for p in sorted(glob.glob(os.path.join(stats_dir, "worker-*.json"))):
        with open(p) as f:
            stats.append(json.load(f))
    slots = int(re.match(r"local\[(\d+)\]", a.master).group(1)) if \
        re.match(r"local\[(\d+)\]", a.master) else None
    loads = {s["pid"]: s["loads"] for s in stats}
    print(f"test-spark: Python workers (pid: loads, tasks, batches, notes, peak RSS MiB): " +
          ", ".join(f"{s['pid']}: {s['loads']}, {len(s['tasks'])}, {s['batches']}, "
                    f"{s['notes']}, {s['vm_hwm_kb'] / 1024:.0f}" for s in stats))
    check(stats and all(v == 1 for v in loads.values()),
          "each Python worker process loaded the pipeline exactly once", f"loads per pid {loads}")
    check(sum(s["notes"] for s in stats) == len(notes)
          and sum(s["entities"] for s in stats) == len(rows),
          "the workers' counters account for every note and entity",
          f"{sum(s['notes'] for s in stats)} notes, {sum(s['entities'] for s in stats)} entities")
    n_tasks = sum(len(s["tasks"]) for s in stats)
    n_batches = sum(s["batches"] for s in stats)
    check(slots is None or len(stats) <= slots,
          f"at most one worker process per task slot ({len(stats)} workers, {slots} slots)")
    check(n_tasks > len(stats) and n_batches > len(stats),
          f"workers reused across tasks and batches ({n_tasks} tasks, {n_batches} batches, "
          f"{len(stats)} workers)")

    # ---- numbers
    n = len(notes)
    hwm = max((s["vm_hwm_kb"] for s in stats), default=0) / 1024
    load_s = max((s["load_seconds"] for s in stats), default=0)
    print(f"test-spark: CLI   (--threads {a.cli_threads}): {cli_s:.1f} s, {n / cli_s:.1f} notes/s, "
          f"{n_cli / cli_s:.1f} entities/s, peak RSS {cli_rss_kb / 1024:.0f} MiB")
    print(f"test-spark: Spark ({a.master}, {a.partitions} partitions, Arrow batch "
          f"{a.arrow_batch}): job {spark_job_s:.1f} s, {n / spark_job_s:.1f} notes/s, "
          f"{len(rows) / spark_job_s:.1f} entities/s; {spark_wall:.1f} s with JVM start-up")
    busy = sum(s["annotate_seconds"] for s in stats)
    vpeak = max((s.get("vm_peak_kb", 0) for s in stats), default=0) / 1024
    print(f"test-spark: peak RSS per Python worker {hwm:.0f} MiB (max VmHWM of "
          f"{len(stats)}; peak address space {vpeak:.0f} MiB), pipeline load {load_s:.2f} s; {busy:.1f} s inside the pipeline "
          f"calls over all workers ({n / busy if busy else 0:.1f} notes/s per worker)")
    print(f"spark: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
