#!/usr/bin/env python3
"""Reference entities of Hugging Face's token-classification pipeline for medner's parity tests.

What it produces (tests/data/pipeline/, relative to the repository root; format in README.md there):
  golden-{strategy}-{stride0|stride128}.jsonl.xz  for strategy in none, simple, first, average, max
      (9 files: HF refuses stride with "none").  One JSON line per document, in this order: the 200
      MACCROBAT case reports (tests/data/corpus/maccrobat.txt.xz, file order), then every 8th PubMed
      abstract (lines 0, 8, 16, ... of tests/data/corpus/pubmed_abstracts.txt.xz):
        {"doc": "maccrobat/NAME" | "pubmed/LINE", "tokens": content tokens of the whole document
         (no [CLS]/[SEP], no truncation), "entities": [{"label", "score", "start", "end", "start_char",
         "end_char", "word"[, "index"]}, ...]}  entities in HF's order.
      stride0  = pipeline(text, aggregation_strategy=S): HF truncates to model_max_length (512 tokens
                 incl. [CLS]/[SEP]), so only the first window is annotated.
      stride128 = pipeline(text, aggregation_strategy=S, stride=128): windows of 512 tokens overlapping
                 by 128 tokens, padded to a common length, entities merged by HF's
                 aggregate_overlapping_entities.
  fullcontext-first.jsonl.xz  aggregation "first", no stride, for the PubMed abstracts with line % 8 == 4
      (lines 4, 12, 20, ...; none of them is in the goldens) whose whole text is 150..510 content tokens (one window: "full-context" references for medner's
      small-window merge-policy experiment).  Same line format.

Entity fields: label = HF's "entity" (none) or "entity_group"; score = HF's float32 score written as the
shortest repr of that float32 value converted to double (exact); start/end = UTF-8 byte offsets into the
document; start_char/end_char = HF's own code-point offsets; word = HF's "word"; index = HF's "index"
(token position in the window incl. [CLS] = 0; only for "none").

Model: .cache/models/minilm-ner-random (tests/reference/make_ner_model.py; its sha256 is checked against
tests/data/pipeline/models.sha256), loaded with AutoModelForTokenClassification.from_pretrained(dir,
dtype=torch.float32) and AutoTokenizer.from_pretrained(dir), pipeline("token-classification", device=-1).

Speed: the pipeline is called for every document and configuration as is; the model's forward is
memoised on its exact input tensors (input_ids, token_type_ids, attention_mask), so each distinct window
is computed once (the 9 configurations share their windows).  The memo is checked: at the end a sample of
documents (incl. the longest) is rerun through a pipeline with the plain model, all 9 configurations, and
must give identical output.  --no-memo turns the memo off.

How to run (from anywhere; 8-14 min wall, ~6 min CPU, on one core):
  python3 tests/reference/make_ner_model.py
  python3 tests/reference/make_pipeline_goldens.py            # [--threads N] [--verify] [--no-memo]
  --verify recomputes everything and compares with the committed files instead of writing them.
"""

import argparse
import json
import lzma
import os
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "data", "corpus")
PIPELINE = os.path.join(ROOT, "tests", "data", "pipeline")
MODEL_NAME = "minilm-ner-random"
MODEL_DIR = os.path.join(ROOT, ".cache", "models", MODEL_NAME)
SHA_FILE = os.path.join(PIPELINE, "models.sha256")

STRATEGIES = ["none", "simple", "first", "average", "max"]
STRIDE = 128
PUBMED_EVERY = 8
FULLCTX_EVERY, FULLCTX_FIRST = 8, 4   # lines 4, 12, 20, ...: disjoint from the golden abstracts
FULLCTX_MIN, FULLCTX_MAX = 150, 510
CONFIGS = [(s, st) for s in STRATEGIES for st in (0, STRIDE) if not (s == "none" and st)]


def golden_name(strategy, stride):
    return f"golden-{strategy}-stride{stride}.jsonl.xz"


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- corpus

def read_maccrobat():
    raw = lzma.decompress(open(os.path.join(CORPUS, "maccrobat.txt.xz"), "rb").read())
    docs, i = [], 0
    while i < len(raw):
        nl = raw.index(b"\n", i)
        tag, name, n = raw[i:nl].decode("ascii").split(" ")
        assert tag == "#doc", raw[i:nl]
        n = int(n)
        body = raw[nl + 1:nl + 1 + n]
        assert len(body) == n and raw[nl + 1 + n:nl + 2 + n] == b"\n", name
        docs.append((f"maccrobat/{name}", body.decode("utf-8")))
        i = nl + 2 + n
    assert len(docs) == 200, len(docs)
    return docs


def read_pubmed():
    raw = lzma.decompress(open(os.path.join(CORPUS, "pubmed_abstracts.txt.xz"), "rb").read())
    assert raw.endswith(b"\n")
    lines = [line.decode("utf-8") for line in raw[:-1].split(b"\n")]
    assert len(lines) == 3183, len(lines)
    return lines


def golden_docs():
    pub = read_pubmed()
    return read_maccrobat() + [(f"pubmed/{i}", pub[i]) for i in range(0, len(pub), PUBMED_EVERY)]


# ---------------------------------------------------------------------------------------------- running

class MemoForward:
    """Replaces model.forward; returns a clone of the logits computed the first time for the same inputs."""

    def __init__(self, model):
        self.forward = model.forward
        self.memo = {}
        self.calls = self.computed = 0

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, **kw):
        import torch
        assert not kw, sorted(kw)
        key = tuple((t.dtype, tuple(t.shape), t.numpy().tobytes()) if t is not None else None
                    for t in (input_ids, attention_mask, token_type_ids))
        self.calls += 1
        if key not in self.memo:
            out = self.forward(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            self.memo[key] = out.logits.detach().clone()
            self.computed += 1
        from transformers.modeling_outputs import TokenClassifierOutput
        return TokenClassifierOutput(logits=torch.clone(self.memo[key]))


def load(threads, memo):
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
    torch.set_num_threads(threads)
    model = AutoModelForTokenClassification.from_pretrained(MODEL_DIR, dtype=torch.float32)
    model.eval()
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    assert tok.is_fast and tok.model_max_length == 512, tok
    mf = None
    if memo:
        mf = MemoForward(model)
        model.forward = mf
    pipe = pipeline("token-classification", model=model, tokenizer=tok, device=-1)
    return pipe, tok, mf


class MergeStats:
    """Wraps pipe.aggregate_overlapping_entities (behaviour unchanged) to count what the merge does."""

    def __init__(self, pipe):
        self.orig = pipe.aggregate_overlapping_entities
        self.c = Counter()
        pipe.aggregate_overlapping_entities = self

    def __call__(self, entities):
        out = self.orig(entities)
        self.c["calls"] += 1
        self.c["in"] += len(entities)
        self.c["out"] += len(out)
        kept = {id(e) for e in out}
        ents = sorted(entities, key=lambda x: x["start"])
        for e in ents:
            if id(e) in kept:
                continue
            # the kept entity it lost against: the kept one whose span overlaps it
            k = [o for o in out if o["start"] < e["end"] and e["start"] < o["end"]]
            if not k:
                self.c["dropped_without_overlapping_survivor"] += 1
                continue
            o = k[0]
            if (o["start"], o["end"]) == (e["start"], e["end"]):
                same_label = o["entity_group"] == e["entity_group"]
                if o["score"] == e["score"]:
                    self.c["dropped_same_span_equal_score" + ("" if same_label else "_other_label")] += 1
                else:
                    self.c["dropped_same_span_" + ("lower" if e["score"] < o["score"] else "HIGHER") + "_score"
                           + ("" if same_label else "_other_label")] += 1
            elif o["start"] <= e["start"] and e["end"] <= o["end"]:
                self.c["dropped_inside_longer"] += 1
            else:
                self.c["dropped_partial_overlap"] += 1
        return out


def byte_index(text):
    """b[i] = UTF-8 byte offset of code point i (len(text)+1 entries)."""
    b = [0] * (len(text) + 1)
    n = 0
    for i, ch in enumerate(text):
        b[i] = n
        n += len(ch.encode("utf-8"))
    b[len(text)] = n
    return b


def convert(text, ents, strategy):
    import numpy as np
    b = byte_index(text)
    out = []
    for e in ents:
        keys = {"entity", "score", "index", "word", "start", "end"} if strategy == "none" else \
            {"entity_group", "score", "word", "start", "end"}
        assert set(e) == keys, (strategy, sorted(e))
        assert isinstance(e["score"], np.float32), type(e["score"])
        s, t = e["start"], e["end"]
        assert type(s) is int and type(t) is int and 0 <= s < t <= len(text), (s, t)
        r = {"label": e["entity"] if strategy == "none" else e["entity_group"],
             "score": float(e["score"]), "start": b[s], "end": b[t], "start_char": s, "end_char": t,
             "word": e["word"]}
        if strategy == "none":
            r["index"] = int(e["index"])
        out.append(r)
    return out


def annotate(pipe, text, strategy, stride):
    kw = {"aggregation_strategy": strategy}
    if stride:
        kw["stride"] = stride
    return convert(text, pipe(text, **kw), strategy)


def n_tokens(tok, text):
    return len(tok(text, add_special_tokens=False, truncation=False)["input_ids"])


def dumps(rec):
    return json.dumps(rec, ensure_ascii=True, separators=(",", ":"))


def write_xz(path, lines):
    data = "".join(l + "\n" for l in lines).encode("ascii")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9))
    os.replace(tmp, path)


def read_xz(path):
    return lzma.decompress(open(path, "rb").read()).decode("ascii").splitlines()


# ---------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--verify", action="store_true", help="recompute and compare, write nothing")
    ap.add_argument("--no-memo", action="store_true", help="run the model for every call")
    ap.add_argument("--limit", type=int, default=0, help="debug: only the first N golden documents")
    args = ap.parse_args()

    import numpy as np
    import tokenizers
    import torch
    import transformers

    t0 = time.time()
    want = {}
    for line in open(SHA_FILE, encoding="ascii"):
        if line.strip() and not line.startswith("#"):
            h, p = line.split()
            want[p] = h
    key = f"{MODEL_NAME}/model.safetensors"
    got = sha256_file(os.path.join(MODEL_DIR, "model.safetensors"))
    if got != want[key]:
        sys.exit(f"{MODEL_DIR}/model.safetensors has sha256 {got}, {SHA_FILE} says {want[key]}; "
                 f"run tests/reference/make_ner_model.py")

    pipe, tok, mf = load(args.threads, not args.no_memo)
    merge = MergeStats(pipe)
    docs = golden_docs()
    if args.limit:
        docs = docs[:args.limit]
    ntok = {name: n_tokens(tok, text) for name, text in docs}

    results = {}
    stats = {}
    for strategy, stride in CONFIGS:
        t1 = time.time()
        merge.c.clear()
        lines = []
        labels = Counter()
        for name, text in docs:
            ents = annotate(pipe, text, strategy, stride)
            labels.update(e["label"] for e in ents)
            lines.append(dumps({"doc": name, "tokens": ntok[name], "entities": ents}))
        results[(strategy, stride)] = lines
        stats[golden_name(strategy, stride)] = {
            "entities": sum(labels.values()), "labels": dict(sorted(labels.items())),
            "merge": dict(sorted(merge.c.items())), "seconds": round(time.time() - t1, 1)}
        print(f"{golden_name(strategy, stride)}: {sum(labels.values())} entities {dict(sorted(labels.items()))} "
              f"merge {dict(sorted(merge.c.items()))} ({time.time() - t1:.0f} s)", file=sys.stderr, flush=True)

    # full-context references (aggregation first, one window)
    pub = read_pubmed()
    fc_lines = []
    fc_labels = Counter()
    t1 = time.time()
    if not args.limit:
        for i in range(FULLCTX_FIRST, len(pub), FULLCTX_EVERY):
            n = n_tokens(tok, pub[i])
            if FULLCTX_MIN <= n <= FULLCTX_MAX:
                ents = annotate(pipe, pub[i], "first", 0)
                fc_labels.update(e["label"] for e in ents)
                fc_lines.append(dumps({"doc": f"pubmed/{i}", "tokens": n, "entities": ents}))
        print(f"fullcontext-first: {len(fc_lines)} docs, {sum(fc_labels.values())} entities "
              f"{dict(sorted(fc_labels.items()))} ({time.time() - t1:.0f} s)", file=sys.stderr, flush=True)

    # consistency: stride128 == stride0 for single-window documents; fullcontext == golden-first-stride0
    for strategy, stride in CONFIGS:
        if stride:
            for a, b, (name, _) in zip(results[(strategy, 0)], results[(strategy, stride)], docs):
                if ntok[name] <= 510:
                    assert a == b, (strategy, name)
    g_first = {json.loads(l)["doc"]: l for l in results[("first", 0)]}
    nsame = 0
    for l in fc_lines:
        d = json.loads(l)["doc"]
        if d in g_first:
            assert g_first[d] == l, d
            nsame += 1

    # check the memo: rerun a sample with the plain model, all configurations
    if mf is not None:
        t1 = time.time()
        plain, _, _ = load(args.threads, memo=False)
        by_len = sorted(range(len(docs)), key=lambda k: -ntok[docs[k][0]])
        sample = sorted(set(by_len[:3] + [k for k in range(len(docs)) if docs[k][0].startswith("pubmed")][:3]
                            + by_len[-1:]))
        for k in sample:
            name, text = docs[k]
            for strategy, stride in CONFIGS:
                rec = dumps({"doc": name, "tokens": ntok[name],
                             "entities": annotate(plain, text, strategy, stride)})
                assert rec == results[(strategy, stride)][k], ("memo differs", name, strategy, stride)
        print(f"memo check: {len(sample)} documents x {len(CONFIGS)} configurations identical without the memo "
              f"({time.time() - t1:.0f} s); forward calls {mf.calls}, computed {mf.computed}",
              file=sys.stderr, flush=True)

    outputs = {golden_name(s, st): results[(s, st)] for s, st in CONFIGS}
    if fc_lines:
        outputs["fullcontext-first.jsonl.xz"] = fc_lines
    if args.verify:
        bad = 0
        for fn, lines in outputs.items():
            old = read_xz(os.path.join(PIPELINE, fn))
            if old != lines:
                bad += 1
                diff = sum(1 for x, y in zip(old, lines) if x != y) + abs(len(old) - len(lines))
                print(f"DIFFERS: {fn} ({diff} lines)", file=sys.stderr)
            else:
                print(f"same: {fn}", file=sys.stderr)
        sys.exit(1 if bad else 0)
    if args.limit:
        print("--limit: nothing written", file=sys.stderr)
        return
    os.makedirs(PIPELINE, exist_ok=True)
    for fn, lines in outputs.items():
        path = os.path.join(PIPELINE, fn)
        write_xz(path, lines)
        assert read_xz(path) == lines, fn
        for l in read_xz(path):
            json.loads(l)
        print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(lines)} lines)", file=sys.stderr)
    summary = {"versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                            "numpy": np.__version__},
               "docs": len(docs), "docs_over_510_tokens": sum(1 for n, _ in docs if ntok[n] > 510),
               "fullcontext_docs": len(fc_lines), "fullcontext_entities": sum(fc_labels.values()),
               "fullcontext_also_in_golden_first_stride0": nsame,
               "configs": stats, "seconds": round(time.time() - t0)}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
