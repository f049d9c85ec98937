#!/usr/bin/env python3
"""Driver of `make bench-pipeline`: end-to-end NER throughput of medner (the CLI, at each precision),
Hugging Face's token-classification pipeline (PyTorch) and a tokenizers + ONNX Runtime pipeline (fp32
and int8), on the same documents, interleaved in one process per thread count.

Usage (tests/bench/bench_pipeline.sh calls these):
  bench_pipeline_ref.py run --text FILE --docs N --model DIR --onnx FILE --medner BIN
                            --threads T --repeats R --tmp DIR [--peak BIN]
                            [--precisions "fp32 bf16 int8"] >> RESULTS.jsonl
      FILE: one document per line; the first N lines are the documents. Prints one JSON line with
      every timing, the load times, the time breakdowns and the agreement checks; progress goes to
      stderr.
  bench_pipeline_ref.py report RESULTS.jsonl
      The table and the ratios (one JSON line per thread count in RESULTS.jsonl).

The three tools, all with the model of DIR (a BertForTokenClassification directory), aggregation
"first", windows of 512 tokens (incl. [CLS]/[SEP]) overlapping by 128. Windows per forward call:
medner 8 (its default; it computes no padding, and 1 window per call is slower for it); HF and ORT
are run with 1 and with 8 windows per call in every round and their faster batch size is the one
compared (8 pads each window to the longest of the 8, 1.55x the FLOPs on these abstracts, and is
the slower one for both on this machine):
  medner  `BIN annotate --model DIR --aggregation first --max-length 512 --overlap 128 --merge hf
          --batch-size 8 --threads t --encoder-threads b < docs.jsonl > /dev/null`. The whole process is
          timed (spawn to exit: startup, model load, JSON-lines parsing, output). At T threads every
          (t, b) with t * b = T is run ((1,1) at 1 thread; (1,2) and (2,1) at 2) and the faster is
          reported. "load" = the same command on empty input (startup + model load + pipeline
          creation), median of 5.
          Precisions: the command with --precision P for every P of --precisions (default "fp32";
          bench_pipeline.sh passes BENCH_PRECISIONS, default "fp32 bf16 int8", fp32 always first);
          each P is run with every (t, b) variant. A P the CLI cannot load (its first run on empty
          input exits non-zero, e.g. "precision bf16 is not available") is skipped: its reason is
          recorded ("medner_skipped") and printed as a skip line by the report.
  hf      transformers.pipeline("token-classification", model=AutoModelForTokenClassification
          .from_pretrained(DIR, dtype=torch.float32), tokenizer=AutoTokenizer.from_pretrained(DIR),
          aggregation_strategy="first", stride=128, device=-1), torch.set_num_threads(T),
          set_num_interop_threads(1); timed: pipe(texts, batch_size=B) (the whole list in one call).
          Its model.forward is wrapped with a timer (two perf_counter calls per batch) to split the
          time into forward vs the rest.
  ort     the tokenizer of DIR (transformers' fast tokenizer, i.e. HF tokenizers) called on the whole
          list with truncation=True, max_length=512, stride=128, return_overflowing_tokens,
          return_offsets_mapping, return_special_tokens_mask; the windows, in document order, go B at
          a time (padded to the longest of the B) through one ONNX Runtime session (ORT_ENABLE_ALL,
          intra_op_num_threads T, inter_op 1, sequential; the model exported once by
          bench_encoder_ref.py export); then numpy softmax and a reimplementation of
          TokenClassificationPipeline.postprocess for "first" (gather pre-entities, word aggregation,
          entity grouping, "O" filtered, aggregate_overlapping_entities across a document's windows),
          vectorised with numpy per window. Timed: the whole call (tokenize + ORT + postprocess, each
          also accumulated separately).
  ort8    the same pipeline with the int8 model (ONNX.int8.onnx next to ONNX: quantize_dynamic,
          QInt8, per channel, made by bench_encoder_ref.py export), at the same batch sizes.
Tokenization in the Python tools is single-threaded (TOKENIZERS_PARALLELISM=false, set before the
import; the HF pipeline sets it anyway), so a tool's T threads are its intra-op threads.

Interleaving: after untimed warm-ups, REPEATS rounds of
    medner (every precision x t x b variant), hf, ort, ort8, medner (every variant) again
so a drift of the machine hits every tool; medians are taken (medner: over its 2 x REPEATS runs of a
variant; the medians of its first and second runs are recorded as well, to show the drift).

Work counted: "tokens" = content WordPiece tokens of the whole documents (fast tokenizer, no
[CLS]/[SEP], no truncation, overlaps not counted twice) -- the same number for every tool.

Work in FLOPs (multiply-adds of the matrix products counted twice; the element-wise kernels are
left out): per window of L tokens, layers x (2 L (4 d^2 + 2 d f) + 4 L^2 d) + 2 L d labels (d the
hidden size, f the FFN width). "medner" = the windows as they are (medner computes no padding);
for HF and ORT at batch size B: batches of B windows in document order, each window padded to the
longest of its batch (B = 1: no padding). With --peak BIN (build/bench/bench_kernels), BIN peak T measures the FMA peak
of T threads before the first and after the last round (the higher is used): the time any fp32
implementation needs for medner's FLOPs at that peak is the floor behind the report's "FMA-peak
bound" line, i.e. the largest ratio to the HF pipeline that fp32 arithmetic allows on this machine.

Agreement (entities compared per document as sorted (label, start, end) lists, character offsets,
scores within 1e-4): medner (`--format jsonl`, run once per thread count with the (T, 1) variant,
before the timed runs) vs hf on all N documents; ort vs hf on the first 20 documents (the check the
benchmark requires) and on all N; ort8 vs hf and medner at every other precision vs hf on all N
(informational: bf16/int8 are not expected to match the fp32 scores to 1e-4).
"""

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BATCH = 8            # medner's windows per call
REF_BATCHES = (1, 8)  # HF's and ORT's, each run every round; the faster is compared
MAX_LENGTH = 512
STRIDE = 128
SCORE_TOL = 1e-4


def log(msg):
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_docs(path, n):
    docs = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            if len(docs) == n:
                break
            docs.append(line.rstrip("\n").rstrip("\r"))
    if len(docs) < n:
        sys.exit(f"bench-pipeline: {path} has only {len(docs)} documents, {n} asked")
    return docs


# ---- medner ----------------------------------------------------------------------------------


def medner_cmd(binary, model, t, b, fmt=None, prec="fp32"):
    cmd = [binary, "annotate", "--model", model, "--aggregation", "first", "--max-length",
           str(MAX_LENGTH), "--overlap", str(STRIDE), "--merge", "hf", "--batch-size", str(BATCH),
           "--threads", str(t), "--encoder-threads", str(b), "--precision", prec]
    if fmt:
        cmd += ["--format", fmt]
    return cmd


def run_process(cmd, stdin_path, stdout_path=os.devnull):
    """Wall seconds from spawn to exit, and CPU seconds (user + sys) of the process."""
    with open(stdin_path, "rb") as fin, open(stdout_path, "wb") as fout:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"bench-pipeline: {' '.join(cmd)} exited with {rc}: {err.decode(errors='replace')}")
    return wall, ru.ru_utime + ru.ru_stime


def medner_entities(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            out.append([(e["label"], e["start_char"], e["end_char"], e["score"]) for e in rec["entities"]])
    return out


# ---- HF pipeline -----------------------------------------------------------------------------


class TimedForward:
    """Replaces model.forward (same behaviour) and adds up the seconds spent in it."""

    def __init__(self, model):
        self.forward = model.forward
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *a, **kw):
        t0 = time.perf_counter()
        out = self.forward(*a, **kw)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


def load_hf(model_dir):
    import torch
    import transformers
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    t0 = time.perf_counter()
    model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(model_dir)
    pipe = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="first",
                    stride=STRIDE, device=-1)
    load_s = time.perf_counter() - t0
    assert tok.is_fast and tok.model_max_length == MAX_LENGTH, tok
    timer = TimedForward(model)
    model.forward = timer
    return pipe, tok, timer, load_s


def hf_entities(result):
    return [[(e["entity_group"], int(e["start"]), int(e["end"]), float(e["score"])) for e in doc]
            for doc in result]


# ---- tokenizers + ONNX Runtime ---------------------------------------------------------------


class OrtPipeline:
    """tokenizers + ONNX Runtime + a numpy reimplementation of TokenClassificationPipeline's
    postprocess for aggregation "first" (transformers 5.x, pipelines/token_classification.py)."""

    def __init__(self, model_dir, onnx_path, threads):
        import numpy as np
        from transformers import AutoTokenizer

        from bench_encoder_ref import ort_session, read_config

        t0 = time.perf_counter()
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.sess = ort_session(onnx_path, threads)
        self.load_s = time.perf_counter() - t0
        self.inputs = [i.name for i in self.sess.get_inputs()]
        cfg = read_config(model_dir)
        self.labels = [cfg["id2label"][str(i)] for i in range(len(cfg["id2label"]))]
        # TokenClassificationPipeline.get_tag: "B-X" -> (B, X), "I-X" -> (I, X), else (I, label).
        tags = []
        for lab in self.labels:
            if lab.startswith("B-") or lab.startswith("I-"):
                tags.append((lab[0], lab[2:]))
            else:
                tags.append(("I", lab))
        names = sorted({t for _, t in tags})
        self.tag_id = np.array([names.index(t) for _, t in tags])
        self.is_b = np.array([bi == "B" for bi, _ in tags])
        # group_sub_entities: entity_group = first word's label.split("-", 1)[-1]; "O" is dropped.
        self.group_label = [lab.split("-", 1)[-1] for lab in self.labels]
        self.keep = np.array([g != "O" for g in self.group_label])
        # gather_pre_entities: is_subword = len(token string) != len(text[start:end]), except [UNK].
        vocab = self.tok.convert_ids_to_tokens(list(range(len(self.tok))))
        self.tok_len = np.array([len(t) for t in vocab])
        self.unk = self.tok.unk_token_id
        self.pad = self.tok.pad_token_id
        self.np = np
        self.t_tok = self.t_ort = self.t_post = 0.0
        self.windows = self.batches = 0
        self.batch = BATCH

    def window_entities(self, scores, ids, offs, special):
        """Entities (label, start, end, score) of one window; scores [n, C] float32."""
        np = self.np
        content = np.flatnonzero(~special)
        if content.size == 0:
            return []
        starts, ends = offs[content, 0], offs[content, 1]
        cid = ids[content]
        sub = (self.tok_len[cid] != (ends - starts)) & (cid != self.unk)
        sub[0] = False  # aggregate_words: the first pre-entity always opens a word
        wfirst = np.flatnonzero(~sub)  # positions (in content) of each word's first token
        wlast = np.append(wfirst[1:] - 1, content.size - 1)
        sc = scores[content[wfirst]]
        lab = sc.argmax(axis=1)
        wscore = sc[np.arange(lab.size), lab]
        wstart, wend = starts[wfirst], ends[wlast]
        # group_entities: a new group unless same tag as the previous word and not a B- label
        tag = self.tag_id[lab]
        new = np.ones(lab.size, dtype=bool)
        new[1:] = (tag[1:] != tag[:-1]) | self.is_b[lab[1:]]
        gfirst = np.flatnonzero(new)
        glast = np.append(gfirst[1:] - 1, lab.size - 1)
        gsum = np.add.reduceat(wscore, gfirst)
        gscore = gsum / (glast - gfirst + 1)
        glab = lab[gfirst]
        keep = np.flatnonzero(self.keep[glab])
        gl = self.group_label
        return [(gl[glab[k]], int(wstart[gfirst[k]]), int(wend[glast[k]]), float(gscore[k])) for k in keep]

    @staticmethod
    def merge_overlapping(ents):
        """TokenClassificationPipeline.aggregate_overlapping_entities."""
        if not ents:
            return ents
        ents = sorted(ents, key=lambda e: e[1])
        out = []
        prev = ents[0]
        for e in ents:
            if prev[1] <= e[1] < prev[2]:
                cur_len, prev_len = e[2] - e[1], prev[2] - prev[1]
                if cur_len > prev_len or (cur_len == prev_len and e[3] > prev[3]):
                    prev = e
            else:
                out.append(prev)
                prev = e
        out.append(prev)
        return out

    def __call__(self, texts):
        np = self.np
        t0 = time.perf_counter()
        enc = self.tok(texts, truncation=True, max_length=MAX_LENGTH, stride=STRIDE,
                       return_overflowing_tokens=True, return_offsets_mapping=True,
                       return_special_tokens_mask=True)
        t1 = time.perf_counter()
        self.t_tok += t1 - t0
        all_ids = enc["input_ids"]
        all_offs = enc["offset_mapping"]
        all_spec = enc["special_tokens_mask"]
        doc_of = enc["overflow_to_sample_mapping"]
        per_doc = [[] for _ in texts]
        n_win = [0] * len(texts)
        nw = len(all_ids)
        for b0 in range(0, nw, self.batch):
            t2 = time.perf_counter()
            rows = range(b0, min(b0 + self.batch, nw))
            L = max(len(all_ids[w]) for w in rows)
            ids = np.full((len(rows), L), self.pad, dtype=np.int64)
            mask = np.zeros((len(rows), L), dtype=np.int64)
            for r, w in enumerate(rows):
                n = len(all_ids[w])
                ids[r, :n] = all_ids[w]
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            logits = self.sess.run(None, feed)[0]
            t3 = time.perf_counter()
            self.t_ort += t3 - t2
            m = logits.max(axis=-1, keepdims=True)
            e = np.exp(logits - m)
            scores = e / e.sum(axis=-1, keepdims=True)
            for r, w in enumerate(rows):
                n = len(all_ids[w])
                d = doc_of[w]
                per_doc[d].extend(self.window_entities(
                    scores[r, :n], ids[r, :n], np.asarray(all_offs[w], dtype=np.int64),
                    np.asarray(all_spec[w], dtype=bool)))
                n_win[d] += 1
            self.t_post += time.perf_counter() - t3
            self.batches += 1
        t4 = time.perf_counter()
        out = [self.merge_overlapping(ents) if n_win[d] > 1 else ents for d, ents in enumerate(per_doc)]
        self.t_post += time.perf_counter() - t4
        self.windows += nw
        return out


# ---- comparison ------------------------------------------------------------------------------


def compare(a, b):
    """Documents whose entity lists agree: same sorted (label, start, end), scores within 1e-4."""
    same = 0
    worst = 0.0
    first_bad = None
    for d, (x, y) in enumerate(zip(a, b)):
        xs, ys = sorted(x), sorted(y)
        ok = len(xs) == len(ys) and all(p[:3] == q[:3] for p, q in zip(xs, ys))
        if ok:
            diff = max((abs(p[3] - q[3]) for p, q in zip(xs, ys)), default=0.0)
            worst = max(worst, diff)
            ok = diff <= SCORE_TOL
        if ok:
            same += 1
        elif first_bad is None:
            sx, sy = set(p[:3] for p in xs), set(q[:3] for q in ys)
            first_bad = {"doc": d, "only_first": sorted(sx - sy)[:3], "only_second": sorted(sy - sx)[:3]}
    return {"docs": len(a), "docs_equal": same, "entities": sum(len(x) for x in a),
            "entities_other": sum(len(y) for y in b), "max_score_diff": worst, "first_difference": first_bad}


# ---- run -------------------------------------------------------------------------------------


def cmd_run(a):
    import numpy as np  # noqa: F401
    import torch

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    texts = read_docs(a.text, a.docs)
    jsonl = os.path.join(a.tmp, "docs.jsonl")
    with open(jsonl, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": i, "text": t}) + "\n")
    empty = os.path.join(a.tmp, "empty.jsonl")
    open(empty, "w").close()

    tb = [(t, a.threads // t) for t in range(1, a.threads + 1) if a.threads % t == 0]
    tb = [(1, a.threads)] + [v for v in tb if v != (1, a.threads)]
    precs = ["fp32"] + [p for p in dict.fromkeys(a.precisions.split()) if p != "fp32"]
    skipped = {}
    for p in precs[1:]:  # a precision the CLI cannot load: a skip, not a failure
        with open(empty, "rb") as fin:
            pr = subprocess.run(medner_cmd(a.medner, a.model, 1, 1, prec=p), stdin=fin,
                                capture_output=True)
        if pr.returncode != 0:
            skipped[p] = pr.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
            skipped[p] = skipped[p][0]
            log(f"skip medner --precision {p}: {skipped[p]}")
    precs = [p for p in precs if p not in skipped]
    variants = [(p, t, b) for p in precs for t, b in tb]

    log(f"{a.threads} thread(s): loading")
    pipe, tok, timer, hf_load = load_hf(a.model)
    ortp = OrtPipeline(a.model, a.onnx, a.threads)
    from bench_encoder_ref import int8_path
    ortq = OrtPipeline(a.model, int8_path(a.onnx), a.threads)
    tokens = sum(len(x) for x in tok(texts, add_special_tokens=False, truncation=False)["input_ids"])
    lengths = [len(w) for w in tok(texts, truncation=True, max_length=MAX_LENGTH, stride=STRIDE,
                                   return_overflowing_tokens=True)["input_ids"]]
    windows = len(lengths)
    cfg = os.path.join(a.model, "config.json")
    flops = window_flops(cfg, lengths)
    flops_by_batch = {bs: window_flops(cfg, [max(lengths[i:i + bs]) for i in range(0, windows, bs)
                                             for _ in lengths[i:i + bs]]) for bs in REF_BATCHES}
    peaks = [measure_peak(a.peak, a.threads)] if a.peak else []
    med_load = {p: statistics.median(run_process(medner_cmd(a.medner, a.model, *tb[0], prec=p), empty)[0]
                                     for _ in range(5)) for p in precs}

    # medner's entities once per precision (jsonl), also its warm-up; the (T, 1) variant.
    agree_variant = (a.threads, 1)
    prec_ents = {}
    for p in precs:
        out_path = os.path.join(a.tmp, f"medner-{a.threads}-{p}.jsonl")
        run_process(medner_cmd(a.medner, a.model, *agree_variant, fmt="jsonl", prec=p), jsonl, out_path)
        prec_ents[p] = medner_entities(out_path)
        if len(prec_ents[p]) != len(texts):
            sys.exit(f"bench-pipeline: medner wrote {len(prec_ents[p])} results for {len(texts)} documents")
    med_ents = prec_ents["fp32"]

    log("warm-ups (hf, ort: 8 documents each, every batch size)")
    for bs in REF_BATCHES:
        pipe(texts[:8], batch_size=bs)
        ortp.batch = bs
        ortp(texts[:8])
        ortq.batch = bs
        ortq(texts[:8])

    times = {f"{tool}{bs}": [] for tool in ("hf", "ort", "ort8") for bs in REF_BATCHES}
    med = {v: {"first": [], "second": [], "cpu": []} for v in variants}
    hf_forward = {bs: [] for bs in REF_BATCHES}
    hf_calls = {}
    ort_parts = {bs: [] for bs in REF_BATCHES}
    ort8_parts = {bs: [] for bs in REF_BATCHES}
    ort_batches = {}
    hf_res = {}
    ort_res = {}
    ort8_res = {}

    def medner_round(which):
        for v in variants:
            w, cpu = run_process(medner_cmd(a.medner, a.model, v[1], v[2], prec=v[0]), jsonl)
            med[v][which].append(w)
            med[v]["cpu"].append(cpu)
            log(f"medner --precision {v[0]} --threads {v[1]} --encoder-threads {v[2]}: {w:.2f} s "
                f"(cpu {cpu:.2f} s)")

    for r in range(a.repeats):
        log(f"round {r + 1}/{a.repeats}")
        medner_round("first")
        for bs in REF_BATCHES:
            timer.seconds, timer.calls = 0.0, 0
            t0 = time.perf_counter()
            res = pipe(texts, batch_size=bs)
            times[f"hf{bs}"].append(time.perf_counter() - t0)
            hf_forward[bs].append(timer.seconds)
            hf_calls[bs] = timer.calls
            hf_res[bs] = res
            log(f"hf pipeline, batch {bs}: {times[f'hf{bs}'][-1]:.2f} s (forward {timer.seconds:.2f} s, "
                f"{timer.calls} calls)")
        for bs in REF_BATCHES:
            ortp.batch = bs
            ortp.t_tok = ortp.t_ort = ortp.t_post = 0.0
            ortp.batches = ortp.windows = 0
            t0 = time.perf_counter()
            res = ortp(texts)
            times[f"ort{bs}"].append(time.perf_counter() - t0)
            ort_parts[bs].append((ortp.t_tok, ortp.t_ort, ortp.t_post))
            ort_batches[bs] = ortp.batches
            ort_res[bs] = res
            log(f"ort pipeline, batch {bs}: {times[f'ort{bs}'][-1]:.2f} s (tokenize {ortp.t_tok:.2f}, "
                f"ort {ortp.t_ort:.2f}, post {ortp.t_post:.2f})")
        for bs in REF_BATCHES:
            ortq.batch = bs
            ortq.t_tok = ortq.t_ort = ortq.t_post = 0.0
            ortq.batches = ortq.windows = 0
            t0 = time.perf_counter()
            res = ortq(texts)
            times[f"ort8{bs}"].append(time.perf_counter() - t0)
            ort8_parts[bs].append((ortq.t_tok, ortq.t_ort, ortq.t_post))
            ort8_res[bs] = res
            log(f"ort int8 pipeline, batch {bs}: {times[f'ort8{bs}'][-1]:.2f} s (tokenize {ortq.t_tok:.2f}, "
                f"ort {ortq.t_ort:.2f}, post {ortq.t_post:.2f})")
        medner_round("second")
    if a.peak:
        peaks.append(measure_peak(a.peak, a.threads))

    hf_e = hf_entities(hf_res[REF_BATCHES[0]])
    for bs in REF_BATCHES[1:]:  # the batch sizes must not change HF's entities
        c = compare(hf_entities(hf_res[bs]), hf_e)
        if c["docs_equal"] != c["docs"]:
            sys.exit(f"bench-pipeline: HF's entities differ between batch sizes: {json.dumps(c)}")
    rec = {
        "threads": a.threads, "docs": len(texts), "tokens": tokens, "windows": windows,
        "flops": flops, "flops_by_batch": flops_by_batch, "fma_peak_gflops": peaks,
        "repeats": a.repeats, "text": a.text, "model": a.model,
        "ref_batches": list(REF_BATCHES),
        "hf_s": {bs: times[f"hf{bs}"] for bs in REF_BATCHES},
        "ort_s": {bs: times[f"ort{bs}"] for bs in REF_BATCHES},
        "ort8_s": {bs: times[f"ort8{bs}"] for bs in REF_BATCHES},
        "ort8_parts_s": ort8_parts, "precisions": precs, "medner_skipped": skipped,
        "hf_forward_s": hf_forward, "hf_forward_calls": hf_calls,
        "ort_parts_s": ort_parts, "ort_batches": ort_batches,
        "medner": {f"{p}:{t}x{b}": {"first_s": med[(p, t, b)]["first"], "second_s": med[(p, t, b)]["second"],
                                    "cpu_s": med[(p, t, b)]["cpu"]} for p, t, b in variants},
        "load_s": {"medner": med_load["fp32"], "medner_by_precision": med_load, "hf": hf_load,
                   "ort": ortp.load_s, "ort8": ortq.load_s},
        "agree_medner_hf": dict(compare(med_ents, hf_e), variant=f"{agree_variant[0]}x{agree_variant[1]}"),
        "agree_ort_hf_20": compare(ort_res[REF_BATCHES[0]][:20], hf_e[:20]),
        "agree_ort_hf_all": {bs: compare(ort_res[bs], hf_e) for bs in REF_BATCHES},
        "agree_ort8_hf_all": {bs: compare(ort8_res[bs], hf_e) for bs in REF_BATCHES},
        "agree_medner_prec_hf": {p: compare(prec_ents[p], hf_e) for p in precs if p != "fp32"},
        "versions": versions(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(rec), flush=True)


def window_flops(config_path, lengths):
    """FLOPs of the matrix products of a forward pass over windows of these lengths."""
    with open(config_path, encoding="utf-8") as f:
        c = json.load(f)
    layers = c.get("num_hidden_layers", c.get("n_layers"))
    d = c.get("hidden_size", c.get("dim"))
    ff = c.get("intermediate_size", c.get("hidden_dim"))
    labels = len(c.get("id2label", {})) or 2
    return sum(layers * (2 * L * (4 * d * d + 2 * d * ff) + 4 * L * L * d) + 2 * L * d * labels
               for L in lengths)


def measure_peak(binary, threads):
    out = subprocess.run([binary, "peak", str(threads)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["fma_peak_gflops"]


def versions():
    import numpy
    import onnxruntime
    import tokenizers
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "onnxruntime": onnxruntime.__version__,
            "numpy": numpy.__version__, "python": sys.version.split()[0]}


# ---- report ----------------------------------------------------------------------------------


def cmd_report(path):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    if not recs:
        sys.exit("bench-pipeline: no results")
    r0 = recs[0]
    from bench_encoder_ref import cpu_header

    print()
    print(cpu_header())
    print(f"{r0['docs']} documents, {r0['tokens']:,} content tokens ({r0['tokens'] / r0['docs']:.0f} per "
          f"document), {r0['windows']} windows of <= {MAX_LENGTH} tokens (overlap {STRIDE}); "
          f"{r0['repeats']} rounds, medians; HF and ORT at {' and '.join(map(str, r0['ref_batches']))} "
          f"windows per call, medner at {BATCH}")
    print()
    print("('medner vs it': the other row's seconds / medner's best fp32 variant's; (best): the fastest")
    print("medner row of any precision; (best fp32): the best fp32 variant when another precision is faster)")
    fmt = "{:<68} {:>3} {:>9} {:>8} {:>10} {:>13} {:>9}"
    print(fmt.format("tool", "thr", "seconds", "docs/s", "tokens/s", "medner vs it", "cpu/wall"))
    summary = []
    for r in recs:
        T, docs, tokens = r["threads"], r["docs"], r["tokens"]
        mv = {}
        for v, m in r["medner"].items():
            runs = m["first_s"] + m["second_s"]
            mv[v] = (statistics.median(runs), statistics.median(m["first_s"]), statistics.median(m["second_s"]),
                     statistics.median(m["cpu_s"]) / statistics.median(runs))
        best = min((v for v in mv if v.startswith("fp32:")), key=lambda v: mv[v][0])
        ms = mv[best][0]
        best_any = min(mv, key=lambda v: mv[v][0])
        tools = [tool for tool in ("hf", "ort", "ort8") if f"{tool}_s" in r]
        ref = {tool: {bs: statistics.median(r[f"{tool}_s"][bs]) for bs in r[f"{tool}_s"]} for tool in tools}
        ref_best = {tool: min(ref[tool], key=lambda bs: ref[tool][bs]) for tool in ref}
        rows = []
        for v in sorted(mv, key=lambda v: mv[v][0]):
            p, tv = v.split(":")
            t, b = tv.split("x")
            tag = ""
            if len(mv) > 1 and v == best_any:
                tag = " (best)"  # the fastest of any precision (also the best fp32 when fp32)
            elif len(mv) > 1 and v == best:
                tag = " (best fp32)"
            rows.append((f"medner --precision {p} --threads {t} --encoder-threads {b}{tag}", mv[v][0], mv[v][3]))
        for tool, name in (("hf", "HF pipeline (PyTorch)"), ("ort", "tokenizers + ONNX Runtime"),
                           ("ort8", "tokenizers + ONNX Runtime int8")):
            if tool not in ref:
                continue
            for bs in sorted(ref[tool], key=int):
                tag = " (best)" if bs == ref_best[tool] else ""
                rows.append((f"{name}, batch {bs}{tag}", ref[tool][bs], None))
        for name, sec, cw in rows:
            print(fmt.format(name, T, f"{sec:.2f}", f"{docs / sec:.1f}", f"{tokens / sec:,.0f}", f"{sec / ms:.2f}x",
                             f"{cw:.2f}" if cw is not None else "-"))
        spread = {v: mv[v][2] / mv[v][1] - 1 for v in mv}
        hf, ort = ref["hf"][ref_best["hf"]], ref["ort"][ref_best["ort"]]
        summary.append((T, best, ms, hf, ort, spread, r, ref_best, ref, best_any, mv[best_any][0]))
        print()
    print("Ratios (medner = its best fp32 variant, HF and ORT = their best batch size; > 1: medner is faster):")
    for T, best, ms, hf, ort, spread, r, ref_best, ref, best_any, ma in summary:
        t, b = best.split(":")[1].split("x")
        goal = "  (targets: >= 3x HF, >= 1.3x ORT)" if T == 2 else ""
        print(f"  {T} thread(s): medner (--threads {t} --encoder-threads {b}) is {hf / ms:.2f}x the HF pipeline "
              f"(batch {ref_best['hf']}), {ort / ms:.2f}x the ORT pipeline (batch {ref_best['ort']}){goal}")
        others = [f"{tool.upper()} batch {bs} {ref[tool][bs] / ms:.2f}x" for tool in ref
                  for bs in sorted(ref[tool], key=int) if bs != ref_best[tool]]
        print(f"               (against the other batch sizes: {', '.join(others)})")
        if T == 2:
            ok = hf / ms >= 3 and ort / ms >= 1.3
            print(f"               targets {'MET' if ok else 'NOT met'} in this run "
                  f"(HF {'met' if hf / ms >= 3 else 'not met'}, ORT {'met' if ort / ms >= 1.3 else 'not met'})")
        print("               medner drift (median of its second runs / first runs - 1): " +
              ", ".join(f"{v} {d * 100:+.1f} %" for v, d in spread.items()))
        p, tv = best_any.split(":")
        t, b = tv.split("x")
        q = f", {ref['ort8'][ref_best['ort8']] / ma:.2f}x the ORT int8 pipeline" if "ort8" in ref else ""
        print(f"               best precision: medner --precision {p} (--threads {t} --encoder-threads {b}) is "
              f"{hf / ma:.2f}x the HF pipeline, {ort / ma:.2f}x the ORT pipeline{q}")
        print(f"               target annotate >= 3x the HF pipeline at the best precision"
              f"{' (the target is set at 2 threads)' if T != 2 else ''}: "
              f"{'PASS' if hf / ma >= 3 else 'FAIL'} ({hf / ma:.2f}x)")
        for sp, why in r.get("medner_skipped", {}).items():
            print(f"               skip medner --precision {sp}: {why}")
    print()
    print("Work and the FMA-peak bound (FLOPs of the matrix products; see the docstring):")
    for T, best, ms, hf, ort, spread, r, ref_best, ref, best_any, ma in summary:
        gf = r["flops"] * 1e-9
        work = {bs: f * 1e-9 for bs, f in r["flops_by_batch"].items()}
        print(f"  {T} thread(s): medner computes {gf:,.0f} GFLOP (no padding); HF and ORT " +
              ", ".join(f"{work[bs]:,.0f} at batch {bs} (x{work[bs] / gf:.2f})" for bs in sorted(work, key=int)) +
              " (each window padded to the longest of its batch)")
        print(f"  {'':{len(str(T))}}             achieved: medner {gf / ms:.0f} GFLOP/s, " +
              ", ".join(f"{tool.upper()} batch {bs} {work[bs] / ref[tool][bs]:.0f}"
                        for tool in ref for bs in sorted(ref[tool], key=int)))
        if r.get("fma_peak_gflops"):
            pk = max(r["fma_peak_gflops"])
            floor = gf / pk
            print(f"  {'':{len(str(T))}}             FMA peak of {T} thread(s) measured in this run {pk:.0f} GFLOP/s "
                  f"(runs: {', '.join(f'{p:.0f}' for p in r['fma_peak_gflops'])}); medner at "
                  f"{gf / ms / pk * 100:.0f} % of it")
            print(f"  {'':{len(str(T))}}             FMA-peak bound: medner's FLOPs take >= {floor:.2f} s in fp32 at "
                  f"that peak, i.e. at most {hf / floor:.2f}x the HF pipeline and {ort / floor:.2f}x the ORT "
                  f"pipeline (best batch sizes) in this run")
    print()
    print("Where the time goes (medians):")
    for r in recs:
        T = r["threads"]
        for bs in sorted(r["hf_s"], key=int):
            hf = statistics.median(r["hf_s"][bs])
            fw = statistics.median(r["hf_forward_s"][bs])
            print(f"  {T} thread(s): HF pipeline, batch {bs}: forward {fw:.2f} s of {hf:.2f} s ({fw / hf * 100:.0f} %, "
                  f"{r['hf_forward_calls'][bs]} calls; the rest: tokenize, pad/collate, postprocess)")
        for tool, label in (("ort", "ORT"), ("ort8", "ORT int8")):
            if f"{tool}_s" not in r:
                continue
            for bs in sorted(r[f"{tool}_s"], key=int):
                parts = [statistics.median(p[i] for p in r[f"{tool}_parts_s"][bs]) for i in range(3)]
                ort = statistics.median(r[f"{tool}_s"][bs])
                print(f"  {T} thread(s): {label} pipeline, batch {bs}: tokenize {parts[0]:.2f} s, ORT run "
                      f"{parts[1]:.2f} s ({parts[1] / ort * 100:.0f} %, {r['ort_batches'][bs]} calls), "
                      f"postprocess {parts[2]:.2f} s, of {ort:.2f} s")
    print()
    print("Load (not in the Python tools' seconds above; in medner's):")
    for r in recs:
        ld = r["load_s"]
        print(f"  {r['threads']} thread(s): medner process on empty input {ld['medner'] * 1e3:.1f} ms; "
              f"HF from_pretrained + tokenizer + pipeline {ld['hf'] * 1e3:.0f} ms; "
              f"ORT tokenizer + InferenceSession {ld['ort'] * 1e3:.0f} ms" +
              (f" (int8 {ld['ort8'] * 1e3:.0f} ms)" if "ort8" in ld else ""))
        if "medner_by_precision" in ld:
            print(f"  {'':{len(str(r['threads']))}}            medner on empty input per precision: " +
                  ", ".join(f"{p} {x * 1e3:.1f} ms" for p, x in ld["medner_by_precision"].items()))
    print()
    print("Agreement with the HF pipeline (label/start/end equal, |score diff| <= 1e-4; HF's own entities are")
    print("checked equal across its batch sizes before the record is written):")
    for r in recs:
        checks = [("agree_ort_hf_20", r["agree_ort_hf_20"],
                   f"ORT pipeline, batch {r['ref_batches'][0]}, first {r['agree_ort_hf_20']['docs']} documents")]
        for bs in sorted(r["agree_ort_hf_all"], key=int):
            checks.append(("", r["agree_ort_hf_all"][bs], f"ORT pipeline, batch {bs}, all {r['docs']} documents"))
        checks.append(("", r["agree_medner_hf"], f"medner fp32 {r['agree_medner_hf'].get('variant', '')}, "
                                                 f"all {r['docs']} documents"))
        for bs in sorted(r.get("agree_ort8_hf_all", {}), key=int):
            checks.append(("", r["agree_ort8_hf_all"][bs],
                           f"ORT int8 pipeline, batch {bs}, all {r['docs']} documents (informational)"))
        for p, c in r.get("agree_medner_prec_hf", {}).items():
            checks.append(("", c, f"medner {p}, all {r['docs']} documents (informational)"))
        for _, c, name in checks:
            verdict = "EQUAL" if c["docs_equal"] == c["docs"] else "DIFFER"
            print(f"  {r['threads']} thread(s): {name}: {c['docs_equal']}/{c['docs']} documents equal "
                  f"({c['entities']} vs HF {c['entities_other']} entities, max score diff "
                  f"{c['max_score_diff']:.1e}) {verdict}")
            if c["first_difference"]:
                print(f"      first difference: {json.dumps(c['first_difference'])}")
    v = r0["versions"]
    print()
    print("versions: " + ", ".join(f"{k} {x}" for k, x in v.items()))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "report" and len(sys.argv) == 3:
        cmd_report(sys.argv[2])
        return
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        sys.exit(__doc__)
    ap = argparse.ArgumentParser(prog="bench_pipeline_ref.py run")
    ap.add_argument("--text", required=True)
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--medner", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--repeats", type=int, required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--peak", help="build/bench/bench_kernels, to measure the FMA peak")
    ap.add_argument("--precisions", default="fp32", help='medner --precision values, e.g. "fp32 bf16 int8"')
    cmd_run(ap.parse_args(sys.argv[2:]))


if __name__ == "__main__":
    main()
