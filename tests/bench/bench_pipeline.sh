#!/bin/sh
# make bench-pipeline: end-to-end NER throughput (documents/s, tokens/s) of medner's CLI (at each
# precision of BENCH_PRECISIONS, default "fp32 bf16 int8", fp32 always; a precision the CLI cannot
# load is skipped with a skip line) vs the Hugging Face token-classification pipeline (PyTorch) vs
# a tokenizers + ONNX Runtime pipeline (fp32, and int8: the quantize_dynamic model),
# in one run, on the same PubMed abstracts and the same model (.cache/models/minilm-ner-random:
# all-MiniLM-L6-v2 + a 5-label BIO head, from `make models`), aggregation "first", windows of 512
# tokens overlapping by 128; medner at 8 windows per forward call, HF and ORT at 1 and at 8 (each
# run every round, the faster compared: padding to the longest of 8 costs them more than the
# larger batch saves).
#
# Documents: the first DOCS (default 300) lines of ../shared/data/raw/pubmed_abstracts.txt when
# present, else of the byte-identical tests/data/corpus/pubmed_abstracts.txt.xz (BENCH_TEXT=FILE
# to use another one-document-per-line file). Thread counts BENCH_THREADS (default "1 2"); for
# each, one Python process (tests/reference/bench_pipeline_ref.py run) loads both Python tools
# and runs REPEATS (default 3) rounds of: medner (every precision), HF pipeline (batch 1, 8), ORT
# pipeline (batch 1, 8), ORT int8 pipeline (batch 1, 8), medner again (medner
# is spawned as a process; at 2 threads both --threads 1 --encoder-threads 2 and --threads 2
# --encoder-threads 1 are run each time, and the faster is reported). Medians. The details of each
# tool, the token count and the agreement checks are in bench_pipeline_ref.py's docstring.
#
# The ONNX model is exported once to .cache/onnx/minilm-ner-random.onnx by
# tests/reference/bench_encoder_ref.py export (which also checks it against PyTorch, 1e-4), and
# quantised once to .cache/onnx/minilm-ner-random.int8.onnx (loose check against fp32, printed).
# The report prints the CPU model and ISA flags, and the target (annotate >= 3x the HF
# pipeline at medner's best precision) as PASS/FAIL.
# The machines here are noisy: only the ratios of one run mean anything.
set -eu
repeats=${REPEATS:-3}
docs=${DOCS:-300}
threads_list=${BENCH_THREADS:-"1 2"}
precisions=${BENCH_PRECISIONS:-"fp32 bf16 int8"}
model=${MEDNER_MODELS_DIR:-.cache/models}/minilm-ner-random
onnx=.cache/onnx/minilm-ner-random.onnx
text=${BENCH_TEXT:-../shared/data/raw/pubmed_abstracts.txt}
ref=tests/reference/bench_pipeline_ref.py
medner=bin/medner

[ -f "$model/config.json" ] || { echo "bench-pipeline: $model missing (make models)" >&2; exit 1; }
[ -x "$medner" ] || { echo "bench-pipeline: $medner missing (make)" >&2; exit 1; }
if ! python3 -c "import torch, transformers, onnxruntime, onnx, tokenizers, numpy" 2>/dev/null; then
  echo "bench-pipeline: installing the reference (pip install -r tests/reference/requirements-bench.txt)"
  python3 -m pip install --quiet -r tests/reference/requirements-bench.txt
fi

tmp=$(mktemp -d /tmp/medner-bench-pipeline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f "$text" ]; then
  xz -dc tests/data/corpus/pubmed_abstracts.txt.xz > "$tmp/pubmed_abstracts.txt"
  text="$tmp/pubmed_abstracts.txt"
fi
results=$tmp/results.jsonl
: > "$results"

echo "bench-pipeline: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $text, first $docs documents;" \
     "threads $threads_list; $repeats rounds, medians"
echo "  $(python3 tests/reference/bench_encoder_ref.py cpu); medner precisions: fp32 $precisions"

python3 tests/reference/bench_encoder_ref.py export "$model" "$onnx" > "$tmp/export.json" 2>"$tmp/export.err" ||
  { cat "$tmp/export.err" "$tmp/export.json" >&2; exit 1; }
sed 's/^/  /' "$tmp/export.json"

for t in $threads_list; do
  python3 "$ref" run --text "$text" --docs "$docs" --model "$model" --onnx "$onnx" --medner "$medner" \
      --threads "$t" --repeats "$repeats" --tmp "$tmp" --peak build/bench/bench_kernels \
      --precisions "$precisions" >> "$results"
done

python3 "$ref" report "$results"
echo
echo "seconds: medner = the whole process (startup, model load, reading the JSON lines, output to"
echo "/dev/null); HF / ORT = the call on the list of texts (load excluded, shown above)."
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
