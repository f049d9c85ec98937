#!/bin/sh
# make bench-tokenizer: medner vs Hugging Face tokenizers (Rust, via its
# Python package), single-threaded, same text, same vocabulary, same run.
# Text: ../shared/data/raw/pubmed_abstracts.txt when present, else the
# byte-identical copy in tests/data/corpus. Prints both JSON lines and the
# ratios (medians of REPEATS runs each; machines here are noisy, so only the
# ratios of one run mean anything).
set -eu
repeats=${REPEATS:-5}
text=${BENCH_TEXT:-../shared/data/raw/pubmed_abstracts.txt}
tmp=$(mktemp -d /tmp/medner-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f "$text" ]; then
  xz -dc tests/data/corpus/pubmed_abstracts.txt.xz > "$tmp/pubmed_abstracts.txt"
  text="$tmp/pubmed_abstracts.txt"
fi
if ! python3 -c "import tokenizers, transformers" 2>/dev/null; then
  echo "bench-tokenizer: installing the reference (pip install -r tests/reference/requirements.txt)"
  python3 -m pip install --quiet -r tests/reference/requirements.txt
fi
vocab=tests/data/vocab/bert-base-uncased.vocab.txt
echo "text: $text ($(wc -l < "$text") documents, $(wc -c < "$text") bytes); $repeats runs each, medians"
# medner before and after the reference, so a drift of the machine shows.
build/bench/bench_tokenizer "$vocab" "$text" "$repeats" > "$tmp/medner1.json"
python3 tests/reference/bench_tokenizer_hf.py "$text" "$repeats" > "$tmp/hf.json"
build/bench/bench_tokenizer "$vocab" "$text" "$repeats" > "$tmp/medner2.json"
cat "$tmp/medner1.json" "$tmp/hf.json" "$tmp/medner2.json"
python3 - "$tmp/medner1.json" "$tmp/hf.json" "$tmp/medner2.json" <<'PY'
import json, statistics, sys
m1, hf, m2 = (json.load(open(p)) for p in sys.argv[1:])
assert m1["tokens"] == hf["tokens"] == m2["tokens"], "token counts differ: not the same work"
ours = statistics.median([m1["encode_tokens_per_s"], m2["encode_tokens_per_s"]])
load = statistics.median([m1["load_median_s"], m2["load_median_s"]])
print()
print(f"tokens per run:                  {m1['tokens']:,} ({m1['docs']} documents)")
print(f"medner encode:                   {ours:,.0f} tokens/s")
print(f"HF tokenizers encode_batch:      {hf['encode_batch_tokens_per_s']:,.0f} tokens/s  -> medner is {ours / hf['encode_batch_tokens_per_s']:.2f}x")
print(f"HF tokenizers encode (loop):     {hf['encode_tokens_per_s']:,.0f} tokens/s  -> medner is {ours / hf['encode_tokens_per_s']:.2f}x")
print(f"vocab load: medner {load * 1e3:.2f} ms, HF {hf['load_median_s'] * 1e3:.2f} ms -> {hf['load_median_s'] / load:.1f}x")
PY
