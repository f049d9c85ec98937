"""make bench-train, the PyTorch side and the report (tests/bench/bench_train.sh).

  bench_train_ref.py prepare SRC DST      SRC's encoder + a 9-label token-classification head
                                          (seeded), saved as a Hugging Face model directory
  bench_train_ref.py torch DIR THREADS BATCH SEQ STEPS [full|lora]
                                          one JSON line: PyTorch training steps, same shapes as
                                          build/bench/bench_train (forward with dropout 0.1,
                                          cross-entropy, backward, AdamW step), median step time
  bench_train_ref.py report RESULTS.jsonl the table: tokens/s of both, ratio, peak RSS
"""
import json
import platform
import resource
import statistics
import sys
import time

LABELS = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical", "B-Gene", "I-Gene",
          "B-Species", "I-Species"]


def prepare(src, dst):
    import torch
    from transformers import AutoModelForTokenClassification
    torch.manual_seed(0)
    m = AutoModelForTokenClassification.from_pretrained(
        src, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={l: i for i, l in enumerate(LABELS)})
    m.save_pretrained(dst, safe_serialization=True)
    import shutil, os
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), dst)


def bench_torch(d, threads, batch, seq, steps, mode, precision="fp32"):
    import torch
    from transformers import AutoModelForTokenClassification
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = AutoModelForTokenClassification.from_pretrained(d, attn_implementation="eager")
    if mode == "lora":
        from peft import LoraConfig, get_peft_model
        m = get_peft_model(m, LoraConfig(task_type="TOKEN_CLS", r=8, lora_alpha=16,
                                         lora_dropout=0.1,
                                         target_modules=["query", "key", "value", "dense"]))
    m.train()
    V = m.config.vocab_size
    g = torch.Generator().manual_seed(42)
    ids = torch.randint(1000, V, (batch, seq), generator=g)
    labels = torch.randint(0, m.config.num_labels, (batch, seq), generator=g)
    labels[:, 0] = -100
    labels[:, -1] = -100
    mask = torch.ones_like(ids)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-5,
                            weight_decay=0.0)
    dts, cps = [], []
    for i in range(steps + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        if precision == "bf16":  # mixed precision: fp32 weights, bf16 matmuls
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = m(input_ids=ids, attention_mask=mask, labels=labels)
        else:
            out = m(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        dts.append(time.perf_counter() - t0)
        cps.append(time.process_time() - c0)
    med = statistics.median(dts[2:])
    cmed = statistics.median(cps[2:])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"tool": "torch", "torch": torch.__version__, "precision": precision,
                      "mode": mode,
                      "threads": threads, "batch": batch, "seq": seq, "steps": steps,
                      "median_s": round(med, 6), "min_s": round(min(dts[2:]), 6),
                      "tokens_per_s": round(batch * seq / med, 1),
                      "cpu_s": round(cmed, 6),
                      "cpu_tokens_per_s": round(batch * seq / cmed, 1),
                      "loss": round(float(out.loss), 6), "peak_rss_mb": round(rss, 1)}))


def cpu_line():
    model, flags = platform.processor(), ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                fl = line.split(":", 1)[1].split()
                flags = " ".join(f for f in fl if f.startswith(("avx", "fma", "amx")))
                break
    except OSError:
        pass
    return model, flags


def report(path):
    rows = [json.loads(l) for l in open(path) if l.startswith("{")]
    for r in rows:
        r.setdefault("precision", "fp32")
    model, flags = cpu_line()
    print(f"CPU: {model}\nISA flags: {flags}")
    loads = [r["load"] for r in rows if "load" in r]
    if loads:
        print(f"load average (1 min) during the runs: {min(loads):.2f} .. {max(loads):.2f}")
    kern = sorted({r["kernel"] for r in rows if r["tool"] == "medner" and "kernel" in r})
    if kern:
        print("medner kernels: " + ", ".join(kern))
    print("median of the timed steps; ratio = medner tokens/s / PyTorch tokens/s at the same "
          "precision, vs fp32 = / PyTorch fp32 (target >= 1.5); RSS = each process's peak")
    print(f"{'model':<10} {'mode':<5} {'thr':>3} {'prec':<5} {'medner tok/s':>13} "
          f"{'torch tok/s':>12} {'ratio':>6} {'vs fp32':>7} {'medner MB':>10} {'torch MB':>9}")
    keys = []
    for r in rows:
        k = (r["model"], r["mode"], r["threads"], r["precision"])
        if k not in keys:
            keys.append(k)

    def med(k, tool, field="tokens_per_s"):
        sel = [r for r in rows if (r["model"], r["mode"], r["threads"], r["precision"]) == k
               and r["tool"] == tool and field in r]
        if not sel:
            return None, None
        return (statistics.median(r[field] for r in sel),
                max(r["peak_rss_mb"] for r in sel))

    for k in keys:
        a, ra = med(k, "medner")
        b, rb = med(k, "torch")
        f, _ = med(k[:3] + ("fp32",), "torch")
        if a is None or b is None:
            continue
        vs = f"{a / f:>7.2f}" if f else f"{'-':>7}"
        print(f"{k[0]:<10} {k[1]:<5} {k[2]:>3} {k[3]:<5} {a:>13.0f} {b:>12.0f} {a / b:>6.2f} "
              f"{vs} {ra:>10.0f} {rb:>9.0f}")
    # the same per second of process CPU time (1 thread: robust to time-slicing by other jobs
    # on a shared machine, not to cache contention; with N threads it sums their CPU time)
    print("per CPU second (process CPU time of a step):")
    print(f"{'model':<10} {'mode':<5} {'thr':>3} {'prec':<5} {'medner tok/cpu-s':>17} "
          f"{'torch tok/cpu-s':>16} {'ratio':>6} {'vs fp32':>7}")
    for k in keys:
        a, _ = med(k, "medner", "cpu_tokens_per_s")
        b, _ = med(k, "torch", "cpu_tokens_per_s")
        f, _ = med(k[:3] + ("fp32",), "torch", "cpu_tokens_per_s")
        if a is None or b is None:
            continue
        vs = f"{a / f:>7.2f}" if f else f"{'-':>7}"
        print(f"{k[0]:<10} {k[1]:<5} {k[2]:>3} {k[3]:<5} {a:>17.0f} {b:>16.0f} {a / b:>6.2f} {vs}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif cmd == "torch":
        a = sys.argv[2:]
        bench_torch(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]),
                    a[5] if len(a) > 5 else "full", a[6] if len(a) > 6 else "fp32")
    elif cmd == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
