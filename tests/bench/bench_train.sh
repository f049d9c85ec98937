#!/bin/sh
# make bench-train: training steps of medner vs PyTorch (transformers, eager attention) on the same
# model shapes, side by side in one run: all-MiniLM-L6-v2 and the BERT-base-shaped
# bert-base-random, each with a 9-label token-classification head (made once by
# tests/reference/bench_train_ref.py prepare into .cache/bench-train/), batch BENCH_BATCH x
# BENCH_SEQ (default 8 x 128, no padding), thread counts BENCH_THREADS (default "1 2"), modes
# BENCH_MODES (default "full lora": full fine-tuning, and LoRA r 8 alpha 16 on
# query,key,value,dense). A step = forward with dropout 0.1, cross-entropy, backward, gradient
# clipping at 1, AdamW. Each tool: the median of STEPS (default 5) timed steps after 2 warm-ups,
# in its own process (peak RSS per process); order per shape: medner, PyTorch, medner again (the
# report takes the median of medner's rows, so a drift of the machine shows). The machines here are
# shared and noisy: only the ratios of one run mean anything. BENCH_PRECISIONS (default "fp32 bf16"):
# bf16 rows are medner's mixed precision (--precision bf16: the dense products on AMX-BF16 or
# AVX512-BF16, skipped on a CPU with neither) beside PyTorch under torch.autocast("cpu",
# dtype=torch.bfloat16); the report prints each ratio against PyTorch at the same precision and
# against PyTorch fp32, the CPU model and flags, and the load average seen during the runs.
set -eu
steps=${STEPS:-5}
batch=${BENCH_BATCH:-8}
seq=${BENCH_SEQ:-128}
threads_list=${BENCH_THREADS:-"1 2"}
modes=${BENCH_MODES:-"full lora"}
models_list=${BENCH_MODELS:-"minilm bert"}
precs=${BENCH_PRECISIONS:-"fp32 bf16"}
ref=tests/reference/bench_train_ref.py
out=.cache/bench-train
mkdir -p "$out"
results=$out/results.jsonl
: > "$results"
src_of() { case $1 in minilm) echo .cache/models/all-MiniLM-L6-v2;; bert) echo .cache/models/bert-base-random;; esac; }
run() { # name, command...: one JSON line, tagged with the model and the 1-min load average
  name=$1; shift
  load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
  "$@" | sed "s/^{/{\"model\": \"$name\", \"load\": $load, /" | tee -a "$results"
}
for m in $models_list; do
  [ -f "$out/$m/model.safetensors" ] || python3 "$ref" prepare "$(src_of $m)" "$out/$m"
  for mode in $modes; do
    for t in $threads_list; do
      for p in $precs; do
        run "$m" build/bench/bench_train "$out/$m" "$t" "$batch" "$seq" "$steps" "$mode" "$p"
        run "$m" python3 "$ref" torch "$out/$m" "$t" "$batch" "$seq" "$steps" "$mode" "$p"
        run "$m" build/bench/bench_train "$out/$m" "$t" "$batch" "$seq" "$steps" "$mode" "$p"
      done
    done
  done
done
python3 "$ref" report "$results"
