#!/bin/sh
# make bench-encoder: medner (at each precision) vs PyTorch (transformers, fp32 and bf16 autocast) vs
# ONNX Runtime (fp32 and dynamic int8) vs OpenVINO (bf16 and fp32) on the same weights and the same
# input ids, plus the SGEMM-bound limit (OpenBLAS alone doing exactly the matrix products of the
# forward pass, measured by the C harness in the same process as medner).
#
# Shapes (BENCH_SHAPES, "model:seq:batch" words): BERT-base (bert-base-random: 12 x 768,
# token-classification head) at 1x128, 1x512, 8x128, and MiniLM-L6 (all-MiniLM-L6-v2: 6 x 384)
# at 1x128, 8x128; thread counts BENCH_THREADS (default "1 2"). For each shape and thread
# count, in this order: medner at each precision, medner-openblas, PyTorch fp32, PyTorch bf16,
# ONNX Runtime fp32, ONNX Runtime int8, OpenVINO bf16, OpenVINO fp32, then every medner row again
# (the median of medner's two medians is used, so a drift of the machine shows in the spread
# column). Each tool: median of REPEATS (default 10) timed runs after warm-ups. PyTorch's T-thread
# figure is the best of torch.set_num_threads(1..T); ONNX Runtime runs intra_op_num_threads = T,
# inter_op 1, sequential, ORT_ENABLE_ALL; OpenVINO INFERENCE_NUM_THREADS = T, PERFORMANCE_HINT
# LATENCY; medner runs T threads per forward pass (medner_encoder_params.threads).
#
# medner's rows: BENCH_PRECISIONS (default "fp32 bf16 int8"; fp32 is always run, first, as the
# existing tables and the ratios need it): the C harness with that precision argument
# (medner_encoder_params.precision; conversion of the weights happens in its load_s), and
# "medner-openblas": fp32 with MEDNER_GEMM=openblas. A precision the library cannot load (the
# bf16/int8 kernels missing, or the CPU lacking what they need) gives a "skipped" JSON line and a
# skip line in the report, and the run goes on; likewise OpenVINO when it cannot be imported.
#
# The ONNX models are exported once into .cache/onnx/NAME.onnx (torch.onnx.export, TorchScript
# exporter, opset 17, dynamic batch and sequence axes) and reused; every run checks first that
# ONNX Runtime's output equals PyTorch's within 1e-4. The int8 model .cache/onnx/NAME.int8.onnx
# (quantize_dynamic, QInt8, per channel) is made from it once (again when missing or older), and
# its max |diff| to the fp32 model is printed (loose bound, not fatal). OpenVINO reads NAME.onnx.
#
# All JSON lines are printed, then the tables (bench_encoder_ref.py report): the CPU model and ISA
# flags, the fp32 tables, then the precision tables (every tool, medner's ratios per precision,
# the issue's targets as PASS/FAIL, load time and peak RSS per precision). The machines here are
# noisy: only the ratios of one run mean anything.
set -eu
repeats=${REPEATS:-10}
shapes=${BENCH_SHAPES:-"bert:128:1 bert:512:1 bert:128:8 minilm:128:1 minilm:128:8"}
threads_list=${BENCH_THREADS:-"1 2"}
precisions="fp32 $(for p in ${BENCH_PRECISIONS:-fp32 bf16 int8}; do [ "$p" = fp32 ] || echo "$p"; done)"
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

# medner's rows of one shape: each precision, then fp32 with MEDNER_GEMM=openblas (the harness
# prints a "skipped" line for a precision it cannot load).
medner_rows() {
  for p in $precisions; do
    measure python3 "$ref" cwrap "$harness" "$1" "$2" "$3" "$4" "$repeats" "$p"
  done
  measure env MEDNER_GEMM=openblas python3 "$ref" cwrap "$harness" "$1" "$2" "$3" "$4" "$repeats" fp32
}

model_dir() {
  case $1 in
    bert) echo "$models/bert-base-random" ;;
    minilm) echo "$models/all-MiniLM-L6-v2" ;;
    distilbert) echo "$models/distilbert-random" ;;
    *) echo "bench-encoder: unknown model '$1' (bert, minilm, distilbert)" >&2; exit 2 ;;
  esac
}

if ! python3 -c "import torch, transformers, onnxruntime, onnx, openvino" 2>/dev/null; then
  echo "bench-encoder: installing the reference (pip install -r tests/reference/requirements-bench.txt)"
  python3 -m pip install --quiet -r tests/reference/requirements-bench.txt
fi

tmp=$(mktemp -d /tmp/medner-bench-encoder.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.jsonl
: > "$results"

echo "bench-encoder: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $repeats runs each, medians"
echo "  $(python3 "$ref" cpu)"
echo "  medner precisions: $(echo $precisions) + medner-openblas"

# Export (once) and check every model the shapes use.
for m in $(for s in $shapes; do echo "${s%%:*}"; done | sort -u); do
  d=$(model_dir "$m")
  [ -f "$d/config.json" ] || { echo "bench-encoder: $d missing (make models)" >&2; exit 1; }
  python3 "$ref" export "$d" "$onnx_dir/$(basename "$d").onnx" > "$tmp/export.json" 2>"$tmp/export.err" ||
    { cat "$tmp/export.err" "$tmp/export.json" >&2; exit 1; }
  cat "$tmp/export.json"
  cat "$tmp/export.json" >> "$results"  # the int8 check's max |diff| goes into the report
  grep 'bench: warning' "$tmp/export.err" >&2 || true
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
    medner_rows "$d" "$seq" "$batch" "$t"
    measure python3 "$ref" torch "$d" "$seq" "$batch" "$t" "$repeats"
    measure python3 "$ref" torch "$d" "$seq" "$batch" "$t" "$repeats" bf16
    measure python3 "$ref" ort "$onnx" "$d" "$seq" "$batch" "$t" "$repeats"
    measure python3 "$ref" ort "${onnx%.onnx}.int8.onnx" "$d" "$seq" "$batch" "$t" "$repeats"
    measure python3 "$ref" ov "$onnx" "$d" "$seq" "$batch" "$t" "$repeats" bf16
    measure python3 "$ref" ov "$onnx" "$d" "$seq" "$batch" "$t" "$repeats" fp32
    medner_rows "$d" "$seq" "$batch" "$t"
  done
done

peak
python3 "$ref" report "$results"
echo
echo "ratios: ORT/medner, torch/medner and the precision ratios >= 1.00 mean medner is faster; medner/SGEMM-bound is"
echo "medner's time over the time of its matrix products alone (1.00 = no overhead at all)."
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
