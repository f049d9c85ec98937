#!/usr/bin/env python3
"""Single-threaded throughput of Hugging Face's fast BERT tokenizer (the baseline for medner's).

Usage:
  python3 tests/reference/bench_tokenizer_hf.py FILE [REPEATS]
    FILE     UTF-8 text, one document per line ("\\n"-separated; a final newline is not a document).
             A name ending in .xz is decompressed first, e.g. tests/data/corpus/pubmed_abstracts.txt.xz
    REPEATS  timed repetitions of each measurement (default 5), after one untimed warm-up

Tokenizer: the uncased BertTokenizerFast built from tests/data/vocab/bert-base-uncased.vocab.txt
(do_lower_case=True, other options default), as in make_tokenizer_goldens.py.  Its Rust backend is
called directly with add_special_tokens=True and no truncation/padding:
  (a) backend_tokenizer.encode_batch(lines)
  (b) for line in lines: backend_tokenizer.encode(line)
and the vocab load (constructing the tokenizer from the vocab file) is timed as well.

Prints one JSON line:
  {"tool":"hf-tokenizers","version":...,"tokens":N,"docs":D,"encode_batch_median_s":...,
   "encode_median_s":...,"encode_batch_tokens_per_s":...,"encode_tokens_per_s":...,
   "load_median_s":..., ...}
tokens counts every token of every document including [CLS] and [SEP].  Extra keys record the
environment and the single-thread check (see below).

Single thread: RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false are put into the environment
BEFORE `tokenizers` is imported (the Rust side reads them when it first decides whether to use its
rayon pool; setting them later has no effect).  With TOKENIZERS_PARALLELISM=false, encode_batch runs
a serial iterator on the calling thread.  The script verifies this instead of trusting it:
  - "threads_before" / "threads_after": OS threads of this process (/proc/self/task) just before the
    first encode_batch and after all timed runs.  They must be equal: a rayon pool, once used, adds
    its worker threads (with TOKENIZERS_PARALLELISM=true on a 2-core machine: 2 -> 4).  The baseline
    is not 1 because importing transformers starts a helper thread of its own;
  - "cpu_over_wall_batch": process CPU time / wall time during the encode_batch runs; ~1.0 means one
    core was busy, a multi-threaded run would show a ratio well above 1.
"""

import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import json  # noqa: E402
import lzma  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import BertTokenizerFast  # noqa: E402
from transformers.models.bert.tokenization_bert import load_vocab  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "data", "vocab", "bert-base-uncased.vocab.txt")


def load_tokenizer():
    # NB: transformers 5.x ignores a `vocab_file=` keyword here; `vocab=` is the working spelling.
    return BertTokenizerFast(vocab=load_vocab(VOCAB), do_lower_case=True)


def read_docs(path):
    raw = open(path, "rb").read()
    if path.endswith(".xz"):
        raw = lzma.decompress(raw)
    text = raw.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) == 3 else 5
    assert repeats >= 1
    lines = read_docs(path)

    # vocab load
    load_tokenizer()  # warm-up (imports, page cache)
    load_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tok = load_tokenizer()
        load_times.append(time.perf_counter() - t0)
    assert tok.backend_tokenizer.get_vocab_size() == 30522, "vocab not loaded"
    backend = tok.backend_tokenizer
    assert backend.truncation is None and backend.padding is None

    # (a) encode_batch
    threads_before = threads()
    encs = backend.encode_batch(lines, add_special_tokens=True)  # warm-up
    n_tokens = sum(len(e.ids) for e in encs)
    del encs
    batch_times = []
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        encs = backend.encode_batch(lines, add_special_tokens=True)
        batch_times.append(time.perf_counter() - t0)
        del encs
    cpu_over_wall_batch = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

    # (b) one call per document
    n_loop = 0
    for line in lines:  # warm-up
        n_loop += len(backend.encode(line, add_special_tokens=True).ids)
    assert n_loop == n_tokens, (n_loop, n_tokens)
    loop_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for line in lines:
            backend.encode(line, add_special_tokens=True)
        loop_times.append(time.perf_counter() - t0)

    threads_after = threads()
    if threads_after != threads_before:
        print(f"warning: thread count grew {threads_before} -> {threads_after}: not single-threaded?",
              file=sys.stderr)
    b = statistics.median(batch_times)
    e = statistics.median(loop_times)
    print(json.dumps({
        "tool": "hf-tokenizers",
        "version": tokenizers.__version__,
        "transformers_version": transformers.__version__,
        "python": platform.python_version(),
        "input": os.path.basename(path),
        "input_bytes": sum(len(x.encode("utf-8")) for x in lines),
        "tokens": n_tokens,
        "docs": len(lines),
        "repeats": repeats,
        "encode_batch_median_s": round(b, 6),
        "encode_median_s": round(e, 6),
        "encode_batch_tokens_per_s": round(n_tokens / b, 1),
        "encode_tokens_per_s": round(n_tokens / e, 1),
        "load_median_s": round(statistics.median(load_times), 6),
        "threads_before": threads_before,
        "threads_after": threads_after,
        "cpu_over_wall_batch": round(cpu_over_wall_batch, 3),
    }))


if __name__ == "__main__":
    main()
