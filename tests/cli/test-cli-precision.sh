#!/bin/sh
# --precision on annotate, eval and logits, YAML precision:, MEDNER_GEMM
# (docs/precision.md): each precision runs end to end and gives the same
# documents with entities; a bf16/int8 run is the same whatever --threads,
# --encoder-threads and --batch-size (per-row quantisation: batch-invariant);
# bad values are refused with exit 2 (flags) or an error naming the key (YAML,
# MEDNER_GEMM).
set -u
m=${MEDNER:-bin/medner}
tiny=tests/data/models/tiny-bert-tc
tmp=$(mktemp -d /tmp/medner-precision.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "cli-precision: FAIL: $*"; exit 1; }

python3 - > "$tmp/in.jsonl" <<'PY'
import json
texts = ["Fever and cough since Monday; no chest pain.",
         "The patient denies nausea. Family history of breast cancer.",
         "Ataxia-telangiectasia is a recessive disorder " * 12,
         "x"]
for i in range(24):
    print(json.dumps({"id": i, "text": texts[i % len(texts)] + " " * (i % 3)}))
PY
for p in fp32 bf16 int8 auto; do
  $m annotate --model $tiny --precision $p < "$tmp/in.jsonl" > "$tmp/$p.a" 2> "$tmp/err" ||
    fail "--precision $p: exit $?: $(cat "$tmp/err")"
  [ "$(wc -l < "$tmp/$p.a")" -eq 24 ] || fail "--precision $p: $(wc -l < "$tmp/$p.a") results of 24"
  grep -q '"error"' "$tmp/$p.a" && fail "--precision $p: an error record"
  for opts in "--threads 2 --batch-size 1" "--encoder-threads 3 --batch-size 5"; do
    $m annotate --model $tiny --precision $p $opts < "$tmp/in.jsonl" > "$tmp/$p.b" 2> "$tmp/err" ||
      fail "--precision $p $opts: exit $?"
    cmp -s "$tmp/$p.a" "$tmp/$p.b" || fail "--precision $p $opts differs from the default run"
  done
done
# logits: every precision gives finite logits of the same shape as fp32, within 0.25 of them
for p in bf16 int8; do
  $m logits $tiny --precision $p < "$tmp/in.jsonl" > "$tmp/$p.l" || fail "logits --precision $p"
done
$m logits $tiny --precision fp32 < "$tmp/in.jsonl" > "$tmp/fp32.l" || fail "logits --precision fp32"
python3 - "$tmp/fp32.l" "$tmp/bf16.l" "$tmp/int8.l" <<'PY' || fail "logits at bf16/int8 not within 0.25 of fp32"
import json, math, sys
ref = [json.loads(l)["logits"] for l in open(sys.argv[1])]
for path, bound in ((sys.argv[2], 0.1), (sys.argv[3], 0.25)):
    got = [json.loads(l)["logits"] for l in open(path)]
    assert len(got) == len(ref)
    worst = max(abs(a - b) for r, g in zip(ref, got) for ra, rb in zip(r, g) for a, b in zip(ra, rb))
    print(f"cli-precision: {path.rsplit('.', 1)[0].rsplit('/', 1)[1]} logits max |d| vs fp32 {worst:.4f} (bound {bound})")
    assert math.isfinite(worst) and worst <= bound
PY
# YAML precision: the same as the flag
printf 'model: %s\nprecision: int8\n' "$PWD/$tiny" > "$tmp/int8.yaml"
$m annotate --config "$tmp/int8.yaml" < "$tmp/in.jsonl" > "$tmp/yaml.a" || fail "YAML precision: int8"
cmp -s "$tmp/yaml.a" "$tmp/int8.a" || fail "YAML precision: int8 differs from --precision int8"
# refused values
$m annotate --model $tiny --precision fp16 < "$tmp/in.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "--precision fp16: exit $rc, expected 2"
$m logits $tiny --precision 4 < "$tmp/in.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "logits --precision 4: exit $rc, expected 2"
printf 'model: %s\nprecision: half\n' "$PWD/$tiny" > "$tmp/bad.yaml"
$m annotate --config "$tmp/bad.yaml" < "$tmp/in.jsonl" > /dev/null 2> "$tmp/err" && fail "YAML precision: half accepted"
grep -q 'precision' "$tmp/err" || fail "YAML precision: half: the message does not name the key: $(cat "$tmp/err")"
MEDNER_GEMM=fast $m annotate --model $tiny < "$tmp/in.jsonl" > /dev/null 2> "$tmp/err" && fail "MEDNER_GEMM=fast accepted"
grep -q 'MEDNER_GEMM' "$tmp/err" || fail "MEDNER_GEMM=fast: the message does not name it: $(cat "$tmp/err")"
# MEDNER_GEMM=openblas: the same entities as the own kernel on these texts
MEDNER_GEMM=openblas $m annotate --model $tiny < "$tmp/in.jsonl" > "$tmp/blas.a" 2> "$tmp/err" ||
  fail "MEDNER_GEMM=openblas: $(cat "$tmp/err")"
python3 - "$tmp/fp32.a" "$tmp/blas.a" <<'PY' || fail "MEDNER_GEMM=openblas: different entities than the own kernel"
import json, sys
a = [[(e["start"], e["end"], e["label"]) for e in json.loads(l)["entities"]] for l in open(sys.argv[1])]
b = [[(e["start"], e["end"], e["label"]) for e in json.loads(l)["entities"]] for l in open(sys.argv[2])]
assert a == b
PY
echo "cli-precision: OK"
