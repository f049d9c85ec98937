#!/bin/sh
# make bench-encoder: medner vs PyTorch (transformers, fp32) vs ONNX Runtime on the same weights
# and the same input ids, plus the SGEMM-bound limit (OpenBLAS alone doing exactly the matrix
# products of the forward pass, measured by the C harness in the same process as medner).
#
# Shapes (BENCH_SHAPES, "model:seq:batch" words): BERT-base (bert-base-random: 12 x 768,
# token-classification head) at 1x128, 1x512, 8x128, and MiniLM-L6 (all-MiniLM-L6-v2: 6 x 384)
# at 1x128, 8x128; thread counts BENCH_THREADS (default "1 2"). For each shape and thread
# count, in this order: medner, PyTorch, ONNX Runtime, medner again (the median of medner's
# two medians is used, so a drift of the machine shows in the spread column). Each tool:
# median of REPEATS (default 10) timed runs after warm-ups. PyTorch's T-thread figure is the
# best of torch.set_num_threads(1..T); ONNX Runtime runs intra_op_num_threads = T, inter_op 1,
# sequential, ORT_ENABLE_ALL; medner runs T threads per forward pass (medner_encoder_params.threads).
#
# The ONNX models are exported once into .cache/onnx/NAME.onnx (torch.onnx.export, TorchScript
# exporter, opset 17, dynamic batch and sequence axes) and reused; every run checks first that
# ONNX Runtime's output equals PyTorch's within 1e-4.
#
# All JSON lines are printed, then the tables (bench_encoder_ref.py report). The machines
# here are noisy: only the ratios of one run mean anything.
set -eu
repeats=${REPEATS:-10}
shapes=${BENCH_SHAPES:-"bert:128:1 bert:512:1 bert:128:8 minilm:128:1 minilm:128:8"}
threads_list=${BENCH_THREADS:-"1 2"}
models=${MEDNER_MODELS_DIR:-.cache/models}
onnx_dir=.cache/onnx
ref=tests/reference/bench_encoder_ref.py
harness=build/bench/bench_encoder
peak_harness=build/bench/bench_kernels

# One measurement: its JSON line is printed and appended to the results (no pipe, so that a
# failing tool stops the script under set -e).
measure() {
  "$@" > "$tmp/one.json"
  cat "$tmp/one.json"
  cat "$tmp/one.json" >> "$results"
}

model_dir() {
  case $1 in
    bert) echo "$models/bert-base-random" ;;
    minilm) echo "$models/all-MiniLM-L6-v2" ;;
    distilbert) echo "$models/distilbert-random" ;;
    *) echo "bench-encoder: unknown model '$1' (bert, minilm, distilbert)" >&2; exit 2 ;;
  esac
}

if ! python3 -c "import torch, transformers, onnxruntime, onnx" 2>/dev/null; then
  echo "bench-encoder: installing the reference (pip install -r tests/reference/requirements-bench.txt)"
  python3 -m pip install --quiet -r tests/reference/requirements-bench.txt
fi

tmp=$(mktemp -d /tmp/medner-bench-encoder.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.jsonl
: > "$results"

echo "bench-encoder: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $repeats runs each, medians"
grep -m1 'model name' /proc/cpuinfo | sed 's/^/  /'

# Export (once) and check every model the shapes use.
for m in $(for s in $shapes; do echo "${s%%:*}"; done | sort -u); do
  d=$(model_dir "$m")
  [ -f "$d/config.json" ] || { echo "bench-encoder: $d missing (make models)" >&2; exit 1; }
  python3 "$ref" export "$d" "$onnx_dir/$(basename "$d").onnx" 2>"$tmp/export.err" ||
    { cat "$tmp/export.err" >&2; exit 1; }
done

# The FMA peak of each thread count (tests/bench/bench_kernels.c peak), before and after the
# shapes: the report's FMA-peak bound (the fastest any fp32 code doing these FLOPs can be).
peak() {
  for t in $threads_list; do measure "$peak_harness" peak "$t"; done
}
peak

for s in $shapes; do
  m=${s%%:*}; rest=${s#*:}; seq=${rest%%:*}; batch=${rest#*:}
  d=$(model_dir "$m"); onnx=$onnx_dir/$(basename "$d").onnx
  for t in $threads_list; do
    echo "== $(basename "$d") batch $batch x seq $seq, $t thread(s)" >&2
    measure python3 "$ref" cwrap "$harness" "$d" "$seq" "$batch" "$t" "$repeats"
    measure python3 "$ref" torch "$d" "$seq" "$batch" "$t" "$repeats"
    measure python3 "$ref" ort "$onnx" "$d" "$seq" "$batch" "$t" "$repeats"
    measure python3 "$ref" cwrap "$harness" "$d" "$seq" "$batch" "$t" "$repeats"
  done
done

peak
python3 "$ref" report "$results"
echo
echo "ratios: ORT/medner and torch/medner >= 1.00 mean medner is faster; medner/SGEMM-bound is"
echo "medner's time over the time of its matrix products alone (1.00 = no overhead at all)."
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
