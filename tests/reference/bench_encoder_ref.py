#!/usr/bin/env python3
"""Reference side of `make bench-encoder`: PyTorch (transformers; fp32 and bf16 autocast), ONNX
Runtime (fp32 and dynamic int8) and OpenVINO (bf16 and fp32 inference-precision hints) latency for one
shape, the one-time ONNX export and int8 quantisation, the peak-RSS wrapper of the C harness, and the
final tables.

Usage (tests/bench/bench_encoder.sh calls these; each prints one JSON line unless noted):
  bench_encoder_ref.py export MODEL_DIR OUT.onnx
      Export MODEL_DIR to OUT.onnx unless OUT.onnx exists and is newer than the weights, then check
      once that ONNX Runtime's output equals PyTorch's (max |diff| <= 1e-4, two shapes) -- always,
      also when the file was reused. Exits 1 when the check fails.
      Then the int8 model OUT.int8.onnx (OUT without ".onnx", plus ".int8.onnx"), made unless it
      exists and is newer than OUT: onnxruntime.quantization.quantize_dynamic(OUT, weight_type=QInt8,
      per_channel=True) (weights int8 per output channel, activations quantised per call, uint8).
      Its output is compared with OUT's (ONNX Runtime, same two shapes): the max |diff| is printed
      with a loose bound (5 % of the fp32 output's range, max - min); exceeding it prints a warning
      in the JSON line ("ok": false) and on stderr, but does not fail (int8 is not bit-compatible).
  bench_encoder_ref.py torch MODEL_DIR SEQ BATCH THREADS REPEATS [bf16]
      PyTorch, model.eval(), torch.inference_mode(). Tries torch.set_num_threads(n) for every
      n in 1..THREADS (inter-op threads 1) and reports the best median ("best_threads").
      fp32 by default (tool "torch"); with bf16 (tool "torch-bf16") every forward call runs under
      torch.autocast("cpu", dtype=torch.bfloat16) (the weights stay fp32; autocast casts the
      linear layers' operands to bf16 per call, softmax/LayerNorm stay fp32).
  bench_encoder_ref.py ort ONNX MODEL_DIR SEQ BATCH THREADS REPEATS
      ONNX Runtime CPU: ORT_ENABLE_ALL, intra_op_num_threads = THREADS, inter_op 1, sequential.
      Tool "ort" (fp32), or "ort-int8" when ONNX ends in ".int8.onnx" (the quantize_dynamic model).
  bench_encoder_ref.py ov ONNX MODEL_DIR SEQ BATCH THREADS REPEATS bf16|fp32
      OpenVINO (PyPI openvino), tool "ov-bf16" / "ov-fp32": Core().read_model(ONNX) (the same fp32
      export; dynamic batch/sequence axes), compile_model(model, "CPU", {INFERENCE_PRECISION_HINT:
      bf16 | f32, INFERENCE_NUM_THREADS: THREADS, PERFORMANCE_HINT: LATENCY}); one infer request,
      one synchronous infer() per measurement. "ran_precision" is the compiled model's
      INFERENCE_PRECISION_HINT as OpenVINO reports it: on a CPU without native bf16 the bf16 hint
      falls back to f32, and that shows there. When openvino cannot be imported or the model not
      compiled, prints a JSON line with "skipped" (the reason) and exits 0.
  bench_encoder_ref.py cwrap CMD ARGS...
      Run the C harness, add its peak RSS ("max_rss_kb", from wait4) to the JSON line it prints
      (also to a "skipped" line: the harness could not load the encoder at that precision).
  bench_encoder_ref.py cpu
      Print the CPU model and its ISA flags that matter here (header of every report).
  bench_encoder_ref.py report RESULTS.jsonl
      Print the tables (see tests/bench/bench_encoder.sh and cmd_report).

Inputs: the same ids as tests/bench/bench_encoder.c, generated with the C library's own rand_r
(seed 7, id = (1000 + rand_r() % 20000) % vocab, first id of each sequence 101), token types 0,
attention mask all ones, no padding. Timing: WARMUP (env BENCH_WARMUP, default 2) untimed runs,
then REPEATS timed ones, median (time.perf_counter around the forward call only).

Model class: the config's architecture -- BertForTokenClassification (logits, like medner's with a
classifier) or the bare encoder (last hidden state; the pooler is not built, as medner has none).
Attention: the "eager" implementation for the ONNX export (the pattern the legacy exporter traces
reliably); PyTorch is timed with transformers' default (sdpa), the faster of the two on CPU.
"""

import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))


def read_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


def make_ids(seq, batch, vocab):
    """The C harness's ids, bit for bit: same libc rand_r, same seed, same order."""
    libc = ctypes.CDLL(None)
    libc.rand_r.argtypes = [ctypes.POINTER(ctypes.c_uint)]
    libc.rand_r.restype = ctypes.c_int
    seed = ctypes.c_uint(7)
    rows = []
    for _ in range(batch):
        row = [(1000 + libc.rand_r(ctypes.byref(seed)) % 20000) % vocab for _ in range(seq)]
        row[0] = 101 % vocab
        rows.append(row)
    return rows


ISA_FLAGS = ("avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "avx_vnni")


def cpu_info():
    """CPU model name and which of ISA_FLAGS /proc/cpuinfo lists: {"model": str, "flags": {f: bool}}."""
    model, flags = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "?":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"model": model, "flags": {f: f in flags for f in ISA_FLAGS}}


def cpu_header():
    c = cpu_info()
    return (f"CPU: {c['model']}; ISA: " +
            " ".join(f"{f}{'+' if v else '-'}" for f, v in c["flags"].items()) + " (+ present, - absent)")


def int8_path(onnx_path):
    return (onnx_path[:-5] if onnx_path.endswith(".onnx") else onnx_path) + ".int8.onnx"


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def is_token_classifier(cfg):
    return any(a.endswith("ForTokenClassification") for a in cfg.get("architectures") or [])


def load_torch(model_dir, attn=None):
    import torch  # noqa: F401
    import transformers
    from transformers import AutoModel, AutoModelForTokenClassification

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    cfg = read_config(model_dir)
    kw = {"attn_implementation": attn} if attn else {}
    t0 = time.perf_counter()
    if is_token_classifier(cfg):
        model = AutoModelForTokenClassification.from_pretrained(model_dir, **kw)
    else:
        try:
            model = AutoModel.from_pretrained(model_dir, add_pooling_layer=False, **kw)
        except TypeError:  # an encoder without a pooler (DistilBERT)
            model = AutoModel.from_pretrained(model_dir, **kw)
    model.eval()
    load_s = time.perf_counter() - t0
    return model, load_s, cfg


class Wrapped:
    """forward(input_ids, attention_mask[, token_type_ids]) -> one tensor (logits or hidden)."""

    def __new__(cls, model, cfg):
        import torch

        with_types = cfg.get("type_vocab_size", 0) > 0 and cfg.get("model_type") != "distilbert"

        class W(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids=None):
                kw = {"input_ids": input_ids, "attention_mask": attention_mask}
                if token_type_ids is not None:
                    kw["token_type_ids"] = token_type_ids
                out = self.m(**kw)
                return out.logits if hasattr(out, "logits") else out.last_hidden_state

        w = W(model).eval()
        w.with_types = with_types
        return w


def feeds(ids, with_types):
    import numpy as np

    a = np.asarray(ids, dtype=np.int64)
    d = {"input_ids": a, "attention_mask": np.ones_like(a)}
    if with_types:
        d["token_type_ids"] = np.zeros_like(a)
    return d


def time_calls(fn, repeats):
    for _ in range(WARMUP):
        fn()
    t = []
    for _ in range(repeats):
        s = time.perf_counter()
        fn()
        t.append(time.perf_counter() - s)
    return statistics.median(t), t


# ---- export ---------------------------------------------------------------------------------


def ort_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def cmd_export(model_dir, out):
    import numpy as np
    import torch

    weights = [os.path.join(model_dir, f) for f in os.listdir(model_dir)
               if f.endswith(".safetensors") or f == "config.json"]
    fresh = os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(w) for w in weights)
    model, _, cfg = load_torch(model_dir, attn="eager")
    w = Wrapped(model, cfg)
    exported = False
    export_s = 0.0
    if not fresh:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        d = feeds(make_ids(16, 2, cfg["vocab_size"]), w.with_types)
        names = list(d)
        args = tuple(torch.from_numpy(d[k]) for k in names)
        axes = {k: {0: "batch", 1: "sequence"} for k in names + ["output"]}
        tmp = out + ".tmp"
        t0 = time.perf_counter()
        kw = {"dynamo": False} if _has_dynamo_arg(torch) else {}
        torch.onnx.export(w, args, tmp, input_names=names, output_names=["output"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, **kw)
        export_s = time.perf_counter() - t0
        os.replace(tmp, out)
        exported = True
    # The check, every time: two shapes other than the export's, against PyTorch (eager).
    sess = ort_session(out, 1)
    worst = 0.0
    for seq, batch in ((128, 1), (40, 3)):
        d = feeds(make_ids(seq, batch, cfg["vocab_size"]), w.with_types)
        with torch.inference_mode():
            ref = w(*(torch.from_numpy(d[k]) for k in d)).numpy()
        got = sess.run(None, d)[0]
        if got.shape != ref.shape:
            sys.exit(f"export check: {out}: shape {got.shape} != PyTorch's {ref.shape}")
        worst = max(worst, float(np.abs(got - ref).max()))
    ok = worst <= 1e-4
    print(json.dumps({"tool": "onnx-export", "model": model_dir, "onnx": out, "exported": exported,
                      "export_s": round(export_s, 3), "max_abs_diff_vs_torch": worst, "ok": ok,
                      "torch": torch.__version__, "opset": 17, "exporter": "torchscript (dynamo=False)"}))
    if not ok:
        sys.exit(f"export check: {out}: ONNX Runtime differs from PyTorch by {worst:.3g} > 1e-4")
    quantize_int8(out, cfg, w.with_types)


def quantize_int8(out, cfg, with_types):
    """OUT.int8.onnx by quantize_dynamic (cached; remade when missing or older than OUT), and the
    loose check of its output against the fp32 model's (printed, never fatal)."""
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    q = int8_path(out)
    made, q_s = False, 0.0
    if not (os.path.exists(q) and os.path.getmtime(q) >= os.path.getmtime(out)):
        tmp = q[:-5] + ".tmp.onnx"
        t0 = time.perf_counter()
        quantize_dynamic(out, tmp, weight_type=QuantType.QInt8, per_channel=True)
        q_s = time.perf_counter() - t0
        os.replace(tmp, q)
        made = True
    s32, s8 = ort_session(out, 1), ort_session(q, 1)
    worst, bound = 0.0, 0.0
    for seq, batch in ((128, 1), (40, 3)):
        d = feeds(make_ids(seq, batch, cfg["vocab_size"]), with_types)
        ref = s32.run(None, d)[0]
        got = s8.run(None, d)[0]
        worst = max(worst, float(np.abs(got - ref).max()))
        bound = max(bound, 0.05 * float(ref.max() - ref.min()))
    ok = worst <= bound
    print(json.dumps({"tool": "onnx-int8", "onnx": q, "quantized": made, "quantize_s": round(q_s, 3),
                      "max_abs_diff_vs_fp32": worst, "loose_bound": bound, "ok": ok,
                      "method": "quantize_dynamic QInt8 per_channel", "onnxruntime": ort.__version__}))
    if not ok:
        print(f"bench: warning: {q} differs from the fp32 model by {worst:.3g} > {bound:.3g} "
              "(5 % of the output range); timed anyway", file=sys.stderr)


def _has_dynamo_arg(torch):
    import inspect

    return "dynamo" in inspect.signature(torch.onnx.export).parameters


# ---- timing ---------------------------------------------------------------------------------


def cmd_torch(model_dir, seq, batch, threads, repeats, dtype="fp32"):
    t0 = time.perf_counter()
    import torch
    import transformers

    import_s = time.perf_counter() - t0
    torch.set_num_interop_threads(1)
    model, load_s, cfg = load_torch(model_dir)
    # A second load in the same process: no lazy imports, files in the page cache.
    del model
    model, load2_s, _ = load_torch(model_dir)
    w = Wrapped(model, cfg)
    d = feeds(make_ids(seq, batch, cfg["vocab_size"]), w.with_types)
    args = tuple(torch.from_numpy(d[k]) for k in d)

    if dtype == "bf16":
        def run():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                w(*args)
    else:
        def run():
            with torch.inference_mode():
                w(*args)

    per = {}
    for n in range(threads, 0, -1):
        torch.set_num_threads(n)
        per[n], _ = time_calls(run, repeats)
    best = min(per, key=per.get)
    med = per[best]
    print(json.dumps({"tool": "torch-bf16" if dtype == "bf16" else "torch", "model": model_dir,
                      "seq": seq, "batch": batch, "threads": threads, "best_threads": best,
                      "per_threads_s": {str(k): round(v, 6) for k, v in per.items()},
                      "latency_median_s": round(med, 6), "tokens_per_s": round(seq * batch / med, 1),
                      "load_s": round(load_s, 6), "load_again_s": round(load2_s, 6),
                      "import_s": round(import_s, 3), "attn": model.config._attn_implementation, "max_rss_kb": peak_rss_kb(),
                      "repeats": repeats, "torch": torch.__version__,
                      "transformers": transformers.__version__}))


def cmd_ort(onnx_path, model_dir, seq, batch, threads, repeats):
    import onnxruntime as ort

    cfg = read_config(model_dir)
    t0 = time.perf_counter()
    sess = ort_session(onnx_path, threads)
    load_s = time.perf_counter() - t0
    names = {i.name for i in sess.get_inputs()}
    d = feeds(make_ids(seq, batch, cfg["vocab_size"]), "token_type_ids" in names)
    med, _ = time_calls(lambda: sess.run(None, d), repeats)
    tool = "ort-int8" if onnx_path.endswith(".int8.onnx") else "ort"
    print(json.dumps({"tool": tool, "model": model_dir, "onnx": onnx_path, "seq": seq,
                      "batch": batch, "threads": threads, "latency_median_s": round(med, 6),
                      "tokens_per_s": round(seq * batch / med, 1), "load_s": round(load_s, 6),
                      "max_rss_kb": peak_rss_kb(), "repeats": repeats,
                      "onnxruntime": ort.__version__}))


def cmd_ov(onnx_path, model_dir, seq, batch, threads, repeats, prec):
    tool = f"ov-{prec}"
    base = {"tool": tool, "model": model_dir, "onnx": onnx_path, "seq": seq, "batch": batch,
            "threads": threads, "requested": prec}
    try:
        import openvino as ov
    except ImportError as e:
        print(json.dumps(dict(base, skipped=f"openvino not importable ({e}); pip install openvino")))
        return
    cfg = read_config(model_dir)
    hint = {"bf16": "bf16", "fp32": "f32"}[prec]
    try:
        t0 = time.perf_counter()
        core = ov.Core()
        model = core.read_model(onnx_path)
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint,
                                                     "INFERENCE_NUM_THREADS": threads,
                                                     "PERFORMANCE_HINT": "LATENCY"})
        load_s = time.perf_counter() - t0
        ran = compiled.get_property("INFERENCE_PRECISION_HINT")
        ran = ran.get_type_name() if hasattr(ran, "get_type_name") else str(ran)
    except Exception as e:  # noqa: BLE001 -- any failure of OpenVINO is a skip, not a crash
        print(json.dumps(dict(base, skipped=f"OpenVINO could not compile the model: {e}"[:300])))
        return
    names = {i.get_any_name() for i in compiled.inputs}
    d = feeds(make_ids(seq, batch, cfg["vocab_size"]), "token_type_ids" in names)
    req = compiled.create_infer_request()
    med, _ = time_calls(lambda: req.infer(d), repeats)
    print(json.dumps(dict(base, latency_median_s=round(med, 6), tokens_per_s=round(seq * batch / med, 1),
                          load_s=round(load_s, 6), ran_precision=ran,
                          ran_threads=int(compiled.get_property("INFERENCE_NUM_THREADS")),
                          max_rss_kb=peak_rss_kb(), repeats=repeats, openvino=ov.__version__)))


def cmd_cwrap(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed with status {p.returncode}")
    rec = json.loads(out.decode().strip().splitlines()[-1])
    rec["max_rss_kb"] = ru.ru_maxrss
    print(json.dumps(rec))


# ---- report ---------------------------------------------------------------------------------


def model_bytes(model_dir):
    return sum(os.path.getsize(os.path.join(model_dir, f)) for f in os.listdir(model_dir)
               if f.endswith(".safetensors"))


def medner_activation_bytes(cfg, seq, batch):
    """medner's context workspace (encoder.c reserve()) + the harness's SGEMM-bound scratch."""
    H = cfg.get("hidden_size", cfg.get("dim"))
    inter = cfg.get("intermediate_size", cfg.get("hidden_dim"))
    C = len(cfg.get("id2label", {})) if is_token_classifier(cfg) else 1
    T, L = seq * batch, seq
    Tp = (T + 31) // 32 * 32  # the packed-panel buffers hold whole panels
    ws = T * H + 2 * Tp * H + Tp * max(4 * H, inter) + T * C  # x, tmp + xp, big, logits
    F = max(inter, 4 * H)
    harness = 2 * T * F + max(inter, H) * H + L * L
    return 4 * ws + 3 * 4 * T, 4 * harness


# Column order of the precision tables; medner's columns are named by column_of().
COLUMNS = ("medner-fp32", "medner-bf16", "medner-int8", "medner-auto", "medner-openblas", "torch",
           "torch-bf16", "ort", "ort-int8", "ov-bf16", "ov-fp32")


def column_of(r):
    """The report's column of a record: medner's by requested precision ("medner-fp32", ...; with
    MEDNER_GEMM=openblas "medner-openblas"), the others by their tool name."""
    if r["tool"] != "medner":
        return r["tool"]
    if r.get("gemm") == "openblas":
        return "medner-openblas"
    return "medner-" + r.get("requested", "fp32")


def cmd_report(path):
    allrecs = [json.loads(line) for line in open(path) if line.strip()]
    skipped = [r for r in allrecs if "skipped" in r]
    allrecs = [r for r in allrecs if "skipped" not in r]
    # The existing tables: medner = medner fp32 with its own kernel (the precision tables below
    # have the other rows).
    recs = [r for r in allrecs if r["tool"] not in ("peak", "onnx-export", "onnx-int8") and
            (r["tool"] != "medner" or column_of(r) == "medner-fp32")]
    print()
    print(cpu_header())
    keys = []
    for r in recs:
        k = (r["model"], r["seq"], r["batch"], r["threads"])
        if k not in keys:
            keys.append(k)
    name = {}
    for k in keys:
        name[k[0]] = os.path.basename(k[0].rstrip("/"))
    rows = []
    for k in keys:
        sel = [r for r in recs if (r["model"], r["seq"], r["batch"], r["threads"]) == k]
        med = [r for r in sel if r["tool"] == "medner"]  # medner fp32, own kernels (recs)
        tor = [r for r in sel if r["tool"] == "torch"]
        ort_ = [r for r in sel if r["tool"] == "ort"]
        if not med:
            continue
        m = statistics.median(r["latency_median_s"] for r in med)
        g = statistics.median(r["sgemm_bound_s"] for r in med)
        t = tor[0]["latency_median_s"] if tor else None
        o = ort_[0]["latency_median_s"] if ort_ else None
        rows.append({"key": k, "m": m, "t": t, "o": o, "g": g, "gflop": med[0]["gflop"],
                     "tb": tor[0]["best_threads"] if tor else None,
                     "spread": max(r["latency_median_s"] for r in med) / min(r["latency_median_s"] for r in med),
                     "rss": max(r["max_rss_kb"] for r in med)})

    def ms(x):
        return "-" if x is None else f"{x * 1e3:.1f}"

    def tps(x, tokens):
        return "-" if x is None else f"{tokens / x:,.0f}"

    def ratio(a, b):
        return "-" if a is None or b is None else f"{a / b:.2f}"

    print()
    print("Latency, median ms (torch: best of set_num_threads(1..THREADS), used count in brackets)")
    hdr = ("model", "shape", "thr", "medner", "torch", "ORT", "SGEMM-bound",
           "ORT/medner", "torch/medner", "medner/SGEMM", "medner 2-run spread")
    fmt = "{:<18} {:>8} {:>3} {:>8} {:>11} {:>8} {:>11} {:>10} {:>12} {:>12} {:>19}"
    print(fmt.format(*hdr))
    for r in rows:
        model, seq, batch, thr = r["key"]
        print(fmt.format(name[model], f"{batch}x{seq}", thr, ms(r["m"]),
                         f"{ms(r['t'])} [{r['tb']}]" if r["t"] else "-", ms(r["o"]), ms(r["g"]),
                         ratio(r["o"], r["m"]), ratio(r["t"], r["m"]), ratio(r["m"], r["g"]),
                         f"{(r['spread'] - 1) * 100:.1f} %"))
    print()
    print("Throughput, tokens/s; GFLOP per forward pass; GFLOP/s achieved")
    fmt2 = "{:<18} {:>8} {:>3} {:>9} {:>9} {:>9} {:>11} {:>7} {:>13} {:>12}"
    print(fmt2.format("model", "shape", "thr", "medner", "torch", "ORT", "SGEMM-bound", "GFLOP",
                      "medner GF/s", "SGEMM GF/s"))
    for r in rows:
        model, seq, batch, thr = r["key"]
        T = seq * batch
        print(fmt2.format(name[model], f"{batch}x{seq}", thr, tps(r["m"], T), tps(r["t"], T),
                          tps(r["o"], T), tps(r["g"], T), f"{r['gflop']:.2f}",
                          f"{r['gflop'] / r['m']:.1f}", f"{r['gflop'] / r['g']:.1f}"))

    peaks = {}
    for r in allrecs:
        if r["tool"] == "peak":
            peaks.setdefault(r["threads"], []).append(r["fma_peak_gflops"])
    if peaks:
        print()
        print("FMA-peak bound: the FMA peak of T threads (bench_kernels peak, before and after the shapes;")
        print("the higher is used) and the time the forward pass's FLOPs take at that peak, the floor for")
        print("any fp32 code on this machine; 'x1.5 torch needs': the share of that peak a pass must")
        print("sustain to run in torch's time / 1.5 (over 100 % = impossible in fp32 here)")
        fmt4 = "  {:<18} {:>8} {:>3} {:>10} {:>10} {:>9} {:>14} {:>20}"
        print(fmt4.format("model", "shape", "thr", "peak GF/s", "bound ms", "medner ms", "medner % peak",
                          "x1.5 torch needs"))
        for r in rows:
            model, seq, batch, thr = r["key"]
            if thr not in peaks:
                continue
            pk = max(peaks[thr])
            floor = r["gflop"] / pk
            need = f"{floor / (r['t'] / 1.5) * 100:.0f} % of peak" if r["t"] else "-"
            print(fmt4.format(name[model], f"{batch}x{seq}", thr, f"{pk:.0f}", f"{floor * 1e3:.1f}",
                              f"{r['m'] * 1e3:.1f}", f"{floor / r['m'] * 100:.0f} %", need))
        print("  peak runs: " + "; ".join(f"{t} thread(s) " + ", ".join(f"{p:.0f}" for p in v)
                                          for t, v in sorted(peaks.items())))

    print()
    print("Model load, median over the runs: medner_encoder_load (C harness load_s; F32 weights")
    print("are memory-mapped and used in place, their pages come in during the first, untimed")
    print("forward pass) vs transformers from_pretrained (first call in a fresh process after")
    print("`import torch, transformers`; again in the same process) vs ONNX Runtime session creation")
    for model in dict.fromkeys(k[0] for k in keys):
        ml = statistics.median(r["load_s"] for r in recs if r["tool"] == "medner" and r["model"] == model)
        tor = [r for r in recs if r["tool"] == "torch" and r["model"] == model]
        ol = [r["load_s"] for r in recs if r["tool"] == "ort" and r["model"] == model]
        print(f"  {name[model]}: medner {ml * 1e3:.2f} ms")
        if tor:
            t1 = statistics.median(r["load_s"] for r in tor)
            t2 = statistics.median(r["load_again_s"] for r in tor)
            ti = statistics.median(r["import_s"] for r in tor)
            print(f"  {'':{len(name[model])}}  from_pretrained {t1 * 1e3:.0f} ms first ({t1 / ml:,.0f}x),"
                  f" {t2 * 1e3:.0f} ms again ({t2 / ml:,.0f}x); import torch+transformers {ti:.2f} s")
        if ol:
            print(f"  {'':{len(name[model])}}  ORT InferenceSession {statistics.median(ol) * 1e3:.0f} ms")

    print()
    print("Peak RSS of the C harness process (wait4 ru_maxrss) vs weights + activations, MiB.")
    print("weights: the safetensors file(s); used: the same less the word-embedding rows no input id")
    print("touches (mapped, never paged in); activations: medner's context workspace; harness: the")
    print("SGEMM-bound scratch buffers of the C harness. Python processes' peak RSS for context.")
    fmt3 = "  {:<18} {:>6} {:>3} {:>8} {:>8} {:>8} {:>6} {:>8} {:>12} {:>10} {:>7} {:>6}"
    print(fmt3.format("model", "shape", "thr", "RSS", "weights", "used", "activ.", "harness",
                      "used+act+har", "RSS-that", "torch", "ORT"))
    mib = 1024 * 1024
    for r in rows:
        model, seq, batch, thr = r["key"]
        cfg = read_config(model)
        wb = model_bytes(model)
        H = cfg.get("hidden_size", cfg.get("dim"))
        distinct = len({i for row in make_ids(seq, batch, cfg["vocab_size"]) for i in row})
        used = wb - 4 * H * cfg["vocab_size"] + 4 * H * distinct
        act, har = medner_activation_bytes(cfg, seq, batch)
        tr = [x["max_rss_kb"] for x in recs if x["tool"] == "torch" and
              (x["model"], x["seq"], x["batch"], x["threads"]) == r["key"]]
        orr = [x["max_rss_kb"] for x in recs if x["tool"] == "ort" and
               (x["model"], x["seq"], x["batch"], x["threads"]) == r["key"]]
        tot = (used + act + har) / mib
        print(fmt3.format(name[model], f"{batch}x{seq}", thr, f"{r['rss'] / 1024:.1f}",
                          f"{wb / mib:.1f}", f"{used / mib:.1f}", f"{act / mib:.1f}",
                          f"{har / mib:.1f}", f"{tot:.1f}", f"{r['rss'] / 1024 - tot:+.1f}",
                          f"{max(tr) / 1024:.0f}" if tr else "-",
                          f"{max(orr) / 1024:.0f}" if orr else "-"))

    report_precisions(allrecs, skipped)


def report_precisions(allrecs, skipped):
    """The precision tables: every tool x precision per shape, medner's ratios, the issue's targets,
    medner's load time and peak RSS per precision, OpenVINO's precision actually run, the skips."""
    cpu = cpu_info()
    amx = cpu["flags"]["amx_bf16"]
    recs = [r for r in allrecs if r["tool"] not in ("peak", "onnx-export", "onnx-int8")]
    keys = list(dict.fromkeys((r["model"], r["seq"], r["batch"], r["threads"]) for r in recs))
    lat = {}  # (key, column) -> median seconds (medner: the median of its runs, first and last)
    for k in keys:
        for c in COLUMNS:
            v = [r["latency_median_s"] for r in recs
                 if (r["model"], r["seq"], r["batch"], r["threads"]) == k and column_of(r) == c]
            if v:
                lat[(k, c)] = statistics.median(v)
    cols = [c for c in COLUMNS if any((k, c) in lat for k in keys)]

    def name(k):
        return f"{os.path.basename(k[0].rstrip('/'))} {k[2]}x{k[1]} {k[3]}t"

    print()
    print("Precisions, median ms per forward pass (medner-P: medner_encoder_params.precision = P, own")
    print("kernels; medner-openblas: fp32 with MEDNER_GEMM=openblas; torch-bf16: torch.autocast bf16;")
    print("ort-int8: quantize_dynamic QInt8 per-channel; ov-P: OpenVINO, INFERENCE_PRECISION_HINT P;")
    print("'-': not measured or skipped, see the skip lines below)")
    w = max([len(name(k)) for k in keys] + [5])
    print(f"  {'shape':<{w}} " + " ".join(f"{c:>15}" for c in cols))
    for k in keys:
        print(f"  {name(k):<{w}} " + " ".join(
            f"{lat[(k, c)] * 1e3:>15.1f}" if (k, c) in lat else f"{'-':>15}" for c in cols))

    meds = [c for c in cols if c.startswith("medner-")]
    refs = (("ort", "ORT fp32"), ("ort-int8", "ORT int8"), ("ov-bf16", "OV bf16"),
            ("medner-fp32", "medner fp32"))
    print()
    print("Ratios: the other tool's time / medner's at that precision (> 1.00: medner is faster);")
    print("precision/kernels: what medner_encoder_get_info reported")
    fmt = "  {:<" + str(w) + "} {:<16} {:<22} {:>9} {:>9} {:>9} {:>12}"
    print(fmt.format("shape", "medner", "precision/kernels", *(n for _, n in refs)))
    for k in keys:
        for c in meds:
            if (k, c) not in lat:
                continue
            r0 = next(r for r in recs if column_of(r) == c and
                      (r["model"], r["seq"], r["batch"], r["threads"]) == k)
            cells = [f"{lat[(k, o)] / lat[(k, c)]:.2f}" if (k, o) in lat else "-" for o, _ in refs]
            print(fmt.format(name(k), c, f"{r0.get('precision', '?')}/{r0.get('kernels', '?')}", *cells))

    print()
    print(f"Targets (CPU {'with' if amx else 'without'} AMX; per shape and thread count):")

    def target(label, k, fast, slow, factor, applies=True, why=""):
        if not applies:
            state = f"n/a ({why})"
        elif (k, fast) not in lat or (k, slow) not in lat:
            missing = [c for c in (fast, slow) if (k, c) not in lat]
            state = f"SKIP ({', '.join(missing)} not measured)"
        else:
            ratio = lat[(k, slow)] / lat[(k, fast)]
            state = f"{'PASS' if ratio >= factor else 'FAIL'} ({ratio:.2f}x)"
        print(f"  {name(k):<{w}}  {label:<44} {state}")

    for k in keys:
        target("medner bf16 >= 1.8x medner fp32 (no AMX)", k, "medner-bf16", "medner-fp32", 1.8,
               not amx, "AMX CPU: the target is bf16 >= OpenVINO bf16")
        target("medner int8 >= ORT int8", k, "medner-int8", "ort-int8", 1.0)
        target("medner fp32 >= ORT fp32", k, "medner-fp32", "ort", 1.0)
        target("medner bf16 >= OpenVINO bf16 (AMX CPUs)", k, "medner-bf16", "ov-bf16", 1.0,
               amx, "no amx_bf16 on this CPU")

    print()
    print("medner per precision: load (medner_encoder_load, C harness load_s, median over shapes and")
    print("runs; bf16/int8 convert the weights here) and peak RSS of the harness process (max, MiB)")
    for model in dict.fromkeys(k[0] for k in keys):
        for c in meds:
            sel = [r for r in recs if r["model"] == model and column_of(r) == c]
            if not sel:
                continue
            ld = statistics.median(r["load_s"] for r in sel)
            rss = max(r.get("max_rss_kb", 0) for r in sel) / 1024
            print(f"  {os.path.basename(model.rstrip('/')):<18} {c:<16} {sel[0].get('precision', '?')}/"
                  f"{sel[0].get('kernels', '?'):<12} load {ld * 1e3:9.2f} ms   peak RSS {rss:7.1f} MiB")

    ov = [r for r in recs if r["tool"].startswith("ov-")]
    if ov:
        print()
        print("OpenVINO: precision requested -> INFERENCE_PRECISION_HINT of the compiled model (what ran)")
        for c in dict.fromkeys(r["tool"] for r in ov):
            ran = sorted({r.get("ran_precision", "?") for r in ov if r["tool"] == c})
            print(f"  {c}: requested {c[3:]}, ran {', '.join(ran)}"
                  f"{'  (fell back: no native bf16)' if c == 'ov-bf16' and 'bf16' not in ran else ''}")
    q = [r for r in allrecs if r["tool"] == "onnx-int8"]
    if q:
        print()
        print("ONNX Runtime int8 (quantize_dynamic) vs the fp32 export, same inputs:")
    for r in q:
        print(f"  ORT int8 {os.path.basename(r['onnx'])}: max |diff| vs fp32 {r['max_abs_diff_vs_fp32']:.3g} "
              f"(loose bound {r['loose_bound']:.3g}: {'within' if r['ok'] else 'EXCEEDED, timed anyway'})")
    if skipped:
        print()
        print("Skipped (the tool could not run at that precision; its cells are '-'):")
        for (c, why) in dict.fromkeys((column_of(r), r["skipped"]) for r in skipped):
            print(f"  skip {c}: {why}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, a = argv[1], argv[2:]
    if cmd == "export" and len(a) == 2:
        cmd_export(a[0], a[1])
    elif cmd == "torch" and len(a) in (5, 6) and (len(a) == 5 or a[5] in ("fp32", "bf16")):
        cmd_torch(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5] if len(a) == 6 else "fp32")
    elif cmd == "ort" and len(a) == 6:
        cmd_ort(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    elif cmd == "ov" and len(a) == 7 and a[6] in ("bf16", "fp32"):
        cmd_ov(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), a[6])
    elif cmd == "cpu" and not a:
        print(cpu_header())
    elif cmd == "cwrap" and a:
        cmd_cwrap(a)
    elif cmd == "report" and len(a) == 1:
        cmd_report(a[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
