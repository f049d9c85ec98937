#!/usr/bin/env python3
"""Context overhead of `medner annotate` (part (b) of `make bench-context`):
the same documents annotated with `--context off` and `--context default`,
alternating (off, default, off, default, ...), ROUNDS runs of each; medians of
the wall time and of the CPU time (user + sys of the child process, less
sensitive to the other processes of a shared machine), overhead in % of the
off run. A run on an empty input (model loading, process start) is also
timed, so the overhead is given on the whole run and on the annotation part
(total minus start-up). Minima are reported too (on a shared machine the
least disturbed run is the best estimate of the cost).

Because the difference of two whole runs is within the noise of a shared
machine, the cost is also measured directly: the entities of the
`--context off` output are given to `medner context` (the same ConText over
the same spans and texts, sentences and sections included), ROUNDS runs, and
its CPU time less its start-up (an empty input) is divided by the CPU time
of the annotation part of `--context off` ("direct estimate").

    python3 tests/bench/context_overhead.py --medner bin/medner --base DIR --adapter DIR
        [--repeat 20] [--rounds 5] [--threads 1] NOTE.txt...

Documents: the given text files, each repeated --repeat times (JSON lines on
stdin). Standard library only.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, stdin_path):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(stdin_path, "rb") as fin:
        p = subprocess.run(cmd, stdin=fin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")[-1500:]))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medner", default="bin/medner")
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", default=None)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    ap.add_argument("notes", nargs="+")
    a = ap.parse_args()

    texts = []
    for p in sorted(a.notes):
        with open(p, encoding="utf-8") as f:
            texts.append(f.read())
    tmp = tempfile.mkdtemp(prefix="medner-bench-context.")
    docs_path = os.path.join(tmp, "docs.jsonl")
    empty_path = os.path.join(tmp, "empty.jsonl")
    with open(docs_path, "w", encoding="utf-8") as f:
        for k in range(a.repeat):
            for i, t in enumerate(texts):
                f.write(json.dumps({"id": "%d-%d" % (k, i), "text": t}) + "\n")
    open(empty_path, "w").close()
    n_docs = a.repeat * len(texts)
    base = [a.medner, "annotate", "--base", a.base] + (["--adapter", a.adapter] if a.adapter else []) + \
        ["--threads", str(a.threads)]
    cmds = {"off": base + ["--context", "off"], "default": base + ["--context", "default"]}

    # warm-up (page cache, model files) and a check that context adds the flags
    _, _, out_off = run(cmds["off"], docs_path)
    _, _, out_on = run(cmds["default"], docs_path)
    first_on = json.loads(out_on.splitlines()[0])
    ents_on = sum(len(json.loads(l)["entities"]) for l in out_on.splitlines())
    ents_off = sum(len(json.loads(l)["entities"]) for l in out_off.splitlines())
    has_flags = bool(first_on["entities"]) and "negated" in first_on["entities"][0]
    flagged = sum(1 for l in out_on.splitlines() for e in json.loads(l)["entities"]
                  if any(e.get(c) for c in ("negated", "uncertain", "historical", "hypothetical", "family")))

    # input of `medner context`: the texts with the entities annotate found
    ctx_path = os.path.join(tmp, "ctx.jsonl")
    with open(docs_path, encoding="utf-8") as fd, open(ctx_path, "w", encoding="utf-8") as fc:
        for line_in, line_out in zip(fd, out_off.decode("utf-8").splitlines()):
            d, o = json.loads(line_in), json.loads(line_out)
            fc.write(json.dumps({"id": d["id"], "text": d["text"], "entities": [
                {"start_char": e["start_char"], "end_char": e["end_char"], "label": e["label"]}
                for e in o["entities"]]}) + "\n")
    ctx_cmd = [a.medner, "context"]

    t = {"off": [], "default": [], "startup_off": [], "startup_default": [], "context": [],
         "startup_context": []}
    c = {k: [] for k in t}
    for r in range(a.rounds):
        order = ("off", "default") if r % 2 == 0 else ("default", "off")
        for k in order:
            w, u, _ = run(cmds[k], docs_path)
            t[k].append(w)
            c[k].append(u)
        for k in order:
            w, u, _ = run(cmds[k], empty_path)
            t["startup_" + k].append(w)
            c["startup_" + k].append(u)
        for k, path in (("context", ctx_path), ("startup_context", empty_path)):
            w, u, _ = run(ctx_cmd, path)
            t[k].append(w)
            c[k].append(u)
    med = {k: statistics.median(v) for k, v in t.items()}
    medc = {k: statistics.median(v) for k, v in c.items()}
    minc = {k: min(v) for k, v in c.items()}

    def pct(x, y):
        return 100.0 * (x - y) / y if y > 0 else float("nan")

    res = {
        "documents": n_docs, "rounds": a.rounds, "threads": a.threads,
        "entities_off": ents_off, "entities_default": ents_on, "entities_flagged": flagged,
        "context_fields_present": has_flags,
        "wall_s": med, "cpu_s": medc,
        "overhead_wall_pct": pct(med["default"], med["off"]),
        "overhead_cpu_pct": pct(medc["default"], medc["off"]),
        "overhead_cpu_net_pct": pct(medc["default"] - medc["startup_default"], medc["off"] - medc["startup_off"]),
        "overhead_wall_net_pct": pct(med["default"] - med["startup_default"], med["off"] - med["startup_off"]),
        "overhead_cpu_min_net_pct": pct(minc["default"] - minc["startup_default"],
                                        minc["off"] - minc["startup_off"]),
        "context_cpu_s": medc["context"] - medc["startup_context"],
        "direct_overhead_pct": 100.0 * max(0.0, medc["context"] - medc["startup_context"]) /
                               (medc["off"] - medc["startup_off"]),
        "cpu_min_s": minc,
        "runs_wall_s": t, "runs_cpu_s": c,
    }
    print("annotate, %d documents (%d notes x %d), --threads %d, %d alternating rounds, medians:"
          % (n_docs, len(texts), a.repeat, a.threads, a.rounds))
    print("| run | wall s | CPU s (user+sys) | start-up wall s | start-up CPU s |")
    print("|---|---:|---:|---:|---:|")
    for k in ("off", "default"):
        print("| --context %s | %.3f | %.3f | %.3f | %.3f |" % (k, med[k], medc[k], med["startup_" + k],
                                                               medc["startup_" + k]))
    print("context overhead: CPU %+.2f %% (annotation part, start-up subtracted: %+.2f %%); "
          "wall %+.2f %% (net %+.2f %%); target < 2 %%"
          % (res["overhead_cpu_pct"], res["overhead_cpu_net_pct"], res["overhead_wall_pct"],
             res["overhead_wall_net_pct"]))
    print("minima: CPU annotation part %+.2f %%" % res["overhead_cpu_min_net_pct"])
    print("direct estimate: `medner context` on the same %d entities takes %.4f s CPU (start-up "
          "subtracted) = %.2f %% of the annotation part of --context off (%.3f s CPU)"
          % (ents_off, res["context_cpu_s"], res["direct_overhead_pct"], medc["off"] - medc["startup_off"]))
    print("entities: %d (off), %d (default), %d with a context flag; context fields in the output: %s"
          % (ents_off, ents_on, flagged, "yes" if has_flags else "NO"))
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
    for p in (docs_path, empty_path, ctx_path):
        os.unlink(p)
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
