"""Executor side of the medner Spark example (examples/spark/annotate_notes.py).

This module must be importable on the executors (the driver ships it with
SparkContext.addPyFile): the pipeline cache below lives in the module, so it
survives from one Arrow batch, and one task, to the next in the same Python
worker process (spark.python.worker.reuse=true, Spark's default).  A function
defined in the driver's __main__ would be pickled by value with every task
and its cache would start empty each time.

One medner.Pipeline is loaded per worker process and per distinct set of
options (model, base, adapter, config, pipeline options), on the first batch
that needs it, and reused for every later batch and task of that process.
"""

import inspect
import json
import os
import resource
import socket
import threading
import time

# Output: one row per entity.  Spark SQL types, as (name, type) pairs, so the
# driver builds the StructType (`end` is an SQL keyword: no DDL string).
ENTITY_COLUMNS = (
    ("id", "string"), ("label", "string"), ("start", "int"), ("end", "int"),
    ("text", "string"), ("score", "double"),
    ("negated", "boolean"), ("uncertain", "boolean"), ("historical", "boolean"),
    ("hypothetical", "boolean"), ("family", "boolean"),
    ("section", "string"), ("sentence", "int"),
)

_lock = threading.Lock()
_pipelines = {}          # options key -> medner.Pipeline
_stats = {"pid": os.getpid(), "host": socket.gethostname(), "loads": 0,
          "load_seconds": 0.0, "annotate_seconds": 0.0, "batches": 0,
          "notes": 0, "entities": 0, "tasks": []}


def options_key(opts):
    """The cache key: every option that changes what the pipeline computes."""
    return json.dumps(opts, sort_keys=True)


def _local_path(p):
    """A relative path is looked up in the worker's working directory, then
    in SparkFiles' root (where --archives / --files / addFile land, depending
    on the cluster manager)."""
    if p is None or os.path.isabs(p) or os.path.exists(p):
        return p
    try:
        from pyspark import SparkFiles
        cand = os.path.join(SparkFiles.getRootDirectory(), p)
        if os.path.exists(cand):
            return cand
    except Exception:             # outside Spark: leave the path to medner's error
        pass
    return p


def _construct(opts):
    import medner
    kwargs = dict(opts.get("options") or {})
    if isinstance(kwargs.get("context"), str) and kwargs["context"] not in ("default", "off"):
        kwargs["context"] = _local_path(kwargs["context"])
    model, base = _local_path(opts.get("model")), _local_path(opts.get("base"))
    if base is not None:
        # A base model for the adapter: medner.Pipeline(base=...) where the
        # package has it; otherwise `model` is the base of `adapter` (as the
        # CLI's --base is --model).
        if "base" in inspect.signature(medner.Pipeline.__init__).parameters:
            kwargs["base"] = base
        else:
            model = base
    return medner.Pipeline(model=model, adapter=_local_path(opts.get("adapter")),
                           config=_local_path(opts.get("config")), **kwargs)


def get_pipeline(opts):
    """The process's pipeline for these options, loaded on first use."""
    key = options_key(opts)
    pipe = _pipelines.get(key)
    if pipe is None:
        with _lock:
            pipe = _pipelines.get(key)
            if pipe is None:
                t0 = time.perf_counter()
                pipe = _construct(opts)
                _stats["load_seconds"] += time.perf_counter() - t0
                _stats["loads"] += 1
                _pipelines[key] = pipe
    return pipe


def _memory():
    """Resident set now and at its peak, peak address space (kB) of this
    worker process."""
    out = {"vm_rss_kb": 0, "vm_hwm_kb": 0, "vm_peak_kb": 0}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["vm_rss_kb"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    out["vm_hwm_kb"] = int(line.split()[1])
                elif line.startswith("VmPeak:"):      # address space (RLIMIT_AS)
                    out["vm_peak_kb"] = int(line.split()[1])
    except OSError:
        pass
    out["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def _write_stats(stats_dir):
    """This worker's counters, as stats_dir/worker-HOST-PID.json (replaced
    atomically after every batch; stats_dir must be visible to the reader:
    local mode, or a shared file system on a cluster)."""
    record = dict(_stats, **_memory())
    name = f"worker-{_stats['host']}-{_stats['pid']}.json"
    tmp = os.path.join(stats_dir, "." + name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, os.path.join(stats_dir, name))


def annotate_batches(batches, opts, stats_dir=None):
    """mapInPandas function: pandas DataFrames with columns `id`, `text` in,
    DataFrames of ENTITY_COLUMNS out (one row per entity; a note without
    entities gives no row)."""
    import pandas as pd
    from pyspark import TaskContext

    pipe = get_pipeline(opts)
    tc = TaskContext.get()
    if tc is not None:
        _stats["tasks"].append([tc.stageId(), tc.partitionId(), tc.attemptNumber()])
    names = [n for n, _ in ENTITY_COLUMNS]
    for pdf in batches:
        ids = pdf["id"].tolist()
        texts = [t if isinstance(t, str) else "" for t in pdf["text"].tolist()]
        t0 = time.perf_counter()
        results = pipe(texts)
        _stats["annotate_seconds"] += time.perf_counter() - t0
        cols = {n: [] for n in names}
        for note_id, ents in zip(ids, results):
            for e in ents:
                cols["id"].append(note_id)
                cols["label"].append(e.label)
                cols["start"].append(e.start)
                cols["end"].append(e.end)
                cols["text"].append(e.text)
                cols["score"].append(e.score)
                cols["negated"].append(e.negated)
                cols["uncertain"].append(e.uncertain)
                cols["historical"].append(e.historical)
                cols["hypothetical"].append(e.hypothetical)
                cols["family"].append(e.family)
                cols["section"].append(e.section)
                cols["sentence"].append(e.sentence)
        _stats["batches"] += 1
        _stats["notes"] += len(texts)
        _stats["entities"] += len(cols["id"])
        if stats_dir:
            _write_stats(stats_dir)
        out = pd.DataFrame(cols, columns=names)
        # nullable integers: `sentence` is None when context did not run
        out["sentence"] = out["sentence"].astype("Int32")
        out["start"] = out["start"].astype("int32")
        out["end"] = out["end"].astype("int32")
        yield out
