#!/bin/sh
# make bench-precision: the accuracy guard of the reduced precisions (docs/precision.md).
#
# 1. Entity F1 of the two shipped adapters (examples/models/disease on NCBI-disease test,
#    examples/models/clinical on MACCROBAT test; base all-MiniLM-L6-v2 from `make models`) with
#    `medner eval` at --precision fp32, bf16 and int8: micro P/R/F1 and the F1 change against
#    fp32 (the guard: a loss of at most 0.1 point for bf16 and 0.5 point for int8; PASS/FAIL).
# 2. Logits error against fp32: `medner logits` on the first LOGIT_SENTENCES (default 300)
#    sentences of each test set (tokens joined by spaces), at each precision: max and mean
#    |logit - fp32 logit| and the share of tokens whose argmax label is unchanged.
# The CPU model and ISA flags are printed first; the kernels each precision ran are in the
# docs (docs/precision.md). Data: ../shared/data/CORPUS/test.tsv
# (override with DATA_DIR).
set -eu
data=${DATA_DIR:-../shared/data}
base=${MEDNER_MODELS_DIR:-.cache/models}/all-MiniLM-L6-v2
n_logit=${LOGIT_SENTENCES:-300}
medner=bin/medner
[ -f "$base/config.json" ] || { echo "bench-precision: $base missing (make models)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/medner-precision.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "bench-precision: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs"
echo "  ISA: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_int8|avx512_fp16)$' | tr '\n' ' ')"
echo
printf '%-9s %-13s %-6s %8s %8s %8s %9s %s\n' adapter corpus prec P R F1 "dF1(pt)" guard
for pair in disease:ncbi-disease clinical:maccrobat; do
  ad=${pair%%:*}; corpus=${pair#*:}
  tsv=$data/$corpus/test.tsv
  [ -f "$tsv" ] || { echo "bench-precision: $tsv missing" >&2; exit 1; }
  f1_fp32=
  for prec in fp32 bf16 int8; do
    "$medner" eval --base "$base" --adapter "examples/models/$ad" --data "$tsv" --json \
      --precision $prec --encoder-threads "$(nproc)" > "$tmp/$ad.$prec.json" 2> "$tmp/err" ||
      { cat "$tmp/err" >&2; exit 1; }
    python3 - "$tmp/$ad.$prec.json" "$ad" "$corpus" "$prec" "$tmp/$ad.fp32.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["micro"]
ref = json.load(open(sys.argv[5]))["micro"]
prec = sys.argv[4]
loss = (ref["f1"] - d["f1"]) * 100
bound = {"fp32": 0.0, "bf16": 0.1, "int8": 0.5}[prec]
guard = "-" if prec == "fp32" else ("PASS" if loss <= bound else "FAIL") + f" (loss <= {bound})"
print(f"{sys.argv[2]:<9} {sys.argv[3]:<13} {prec:<6} {d['precision']:8.4f} {d['recall']:8.4f} "
      f"{d['f1']:8.4f} {-loss:+9.2f} {guard}")
PY
  done
done

echo
echo "Logits against fp32: \`medner logits BASE --adapter ADAPTER\` on the first $n_logit sentences"
echo "of each test set (tokens joined by spaces): |logit - fp32 logit| and the share of tokens"
echo "whose argmax label is the fp32 one."
for pair in disease:ncbi-disease clinical:maccrobat; do
  ad=${pair%%:*}; corpus=${pair#*:}
  python3 - "$data/$corpus/test.tsv" "$n_logit" > "$tmp/texts.jsonl" <<'PY'
import json, sys
sents, cur = [], []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        if cur: sents.append(" ".join(cur)); cur = []
        continue
    cur.append(line.split("\t")[0])
if cur: sents.append(" ".join(cur))
for s in sents[: int(sys.argv[2])]:
    print(json.dumps({"text": s}))
PY
  for prec in fp32 bf16 int8; do
    "$medner" logits "$base" --adapter "examples/models/$ad" --precision $prec \
      < "$tmp/texts.jsonl" > "$tmp/$ad.$prec.logits" ||
      { echo "bench-precision: medner logits failed" >&2; exit 1; }
  done
  python3 - "$tmp/$ad.fp32.logits" "$tmp/$ad.bf16.logits" "$tmp/$ad.int8.logits" "$ad" <<'PY'
import json, sys
def rows(path):
    for line in open(path):
        yield json.loads(line)["logits"]
ref = list(rows(sys.argv[1]))
for path, prec in ((sys.argv[2], "bf16"), (sys.argv[3], "int8")):
    mx = tot = n = same = toks = 0
    for a, b in zip(ref, rows(path)):
        for ra, rb in zip(a, b):
            toks += 1
            same += max(range(len(ra)), key=ra.__getitem__) == max(range(len(rb)), key=rb.__getitem__)
            for x, y in zip(ra, rb):
                d = abs(x - y); mx = max(mx, d); tot += d; n += 1
    print(f"  {sys.argv[4]:<9} {prec:<5} max|d| {mx:7.4f}  mean|d| {tot / n:7.5f}  argmax same "
          f"{same}/{toks} ({100.0 * same / toks:.2f} %)")
PY
done
