#!/bin/sh
# make bench-context: speed of medner's clinical context (ConText), in one run:
#  (a) the context step alone on MACCROBAT2020 (200 case reports, ~12,900 event-trigger spans):
#      `medner context` (one process, start-up included) and medner_context_apply in-process
#      (ctypes) vs medspaCy 1.3.1 (tokenizer + PyRuSH + ConText, in-process) on the same spans,
#      documents/s and the ratio (tests/reference/context_maccrobat.py --speed-only; the accuracy
#      tables: run that script without --speed-only, docs/context-results.md);
#  (b) the overhead of context in `medner annotate` (MiniLM + the clinical adapter):
#      --context off vs --context default on the demo notes (examples/notes/*.txt) repeated
#      NOTES_REPEAT times (default 20), ROUNDS (default 5) alternating runs, medians, in % (target
#      < 2 %) (tests/bench/context_overhead.py).
# The CPU model and SIMD flags come first. medspaCy lives in the virtual environment
# .cache/venv-context (made here on first use from tests/reference/requirements-context.txt;
# medspaCy pins numpy<2, the other reference tools use numpy 2). MACCROBAT: $MACCROBAT, else
# ../shared/data/maccrobat, else /work/shared/data/maccrobat. The machines here are shared and
# noisy: only the ratios of one run mean anything.
set -eu
medner=bin/medner
venv=.cache/venv-context
models=${MEDNER_MODELS_DIR:-.cache/models}
base=$models/all-MiniLM-L6-v2
adapter=examples/models/clinical
repeats=${REPEATS:-3}
data=${MACCROBAT:-}
if [ -z "$data" ]; then
  for d in ../shared/data/maccrobat /work/shared/data/maccrobat; do
    [ -f "$d/split_ids.tsv" ] && { data=$d; break; }
  done
fi

[ -x "$medner" ] || { echo "bench-context: $medner missing (make)" >&2; exit 1; }
"$medner" context --help >/dev/null 2>&1 ||
  { echo "bench-context: $medner has no 'context' command (clinical context not built in)" >&2; exit 1; }
if ! "$venv/bin/python" -c "import medspacy" 2>/dev/null; then
  echo "bench-context: making $venv (pip install -r tests/reference/requirements-context.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r tests/reference/requirements-context.txt
fi

echo "bench-context: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*:[[:space:]]*/  CPU: /'
grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
  grep -E '^(sse4_2|avx|avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx_tile)$' |
  tr '\n' ' ' | sed 's/^/  SIMD flags: /; s/ $/\n/'
echo

echo "(a) context step, MACCROBAT ($data)"
if [ -n "$data" ]; then
  "$venv/bin/python" tests/reference/context_maccrobat.py --speed-only --data "$data" --medner "$medner" \
      --lib lib/libmedner.so.0 --repeats "$repeats" --json build/context/bench_maccrobat.json
else
  echo "  skipped: MACCROBAT not found (set MACCROBAT=DIR)"
fi
echo

echo "(b) context overhead in annotate"
if [ -f "$base/config.json" ]; then
  python3 tests/bench/context_overhead.py --medner "$medner" --base "$base" --adapter "$adapter" \
      --repeat "${NOTES_REPEAT:-20}" --rounds "${ROUNDS:-5}" --json build/context/bench_overhead.json \
      examples/notes/*.txt
else
  echo "  skipped: $base missing (sh tests/reference/fetch_minilm.sh, or make models)"
fi
