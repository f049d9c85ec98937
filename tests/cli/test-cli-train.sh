#!/bin/sh
# medner train (EXPERIMENTAL, docs/training.md): a run from a YAML recipe with
# command-line overrides writes a model directory medner loads, a JSON-lines
# log (one valid object per step and per epoch) and plain progress lines when
# stderr is not a terminal; bad options, recipe keys and data files are
# refused with the place named; Ctrl-C (SIGINT) stops with status 130 and a
# checkpoint that --resume continues from; --lora-r writes a PEFT adapter that
# annotate/eval --adapter load, and resumes bitwise after SIGKILL; with transformers installed, the
# model directory loads in AutoModelForTokenClassification with the same
# logits as medner (tests/reference/check_hf_roundtrip.py).
set -u
m=${MEDNER:-bin/medner}
base=tests/data/models/tiny-bert-model
td=tests/data/train-data
tmp=$(mktemp -d /tmp/medner-train.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "cli-train: FAIL: $*"; exit 1; }

cat > "$tmp/r.yaml" <<EOF2
# a recipe: keys are the long options
base: $base
train: $td/ncbi-train.tsv
dev: $td/ncbi-dev.tsv
epochs: 3
lr: 1.0e-3
batch_size: 4
max-length: 64
warmup-ratio: 0.1
seed: 5
EOF2
$m train --recipe "$tmp/r.yaml" --out "$tmp/out" --epochs 2 --log-json "$tmp/log.jsonl" \
  2> "$tmp/err" || fail "recipe run: exit $?: $(cat "$tmp/err")"
grep -q '^epoch 2/2: train loss' "$tmp/err" || fail "no epoch line (the command line's --epochs 2 wins): $(cat "$tmp/err")"
grep -q 'step 8/8 epoch 2/2 loss' "$tmp/err" || fail "no plain progress line: $(cat "$tmp/err")"
python3 - "$tmp/log.jsonl" <<'PY' || fail "JSON log"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if r["event"] == "step"]
epochs = [r for r in rows if r["event"] == "epoch"]
assert len(steps) == 8 and len(epochs) == 2, (len(steps), len(epochs))
assert all(k in steps[0] for k in ("loss", "lr", "grad_norm", "tokens_per_s"))
assert all(k in epochs[0] for k in ("dev_f1", "dev_precision", "dev_recall", "dev_loss"))
assert steps[0]["lr"] < steps[1]["lr"] or steps[0]["lr"] > 0  # warm-up then decay
PY
$m info "$tmp/out" > "$tmp/info" 2>&1 || fail "medner info on the trained model: $(cat "$tmp/info")"
grep -q 'B-Disease' "$tmp/info" || fail "labels not in medner info: $(cat "$tmp/info")"
[ -f "$tmp/out/checkpoint-last/optimizer.safetensors" ] || fail "no checkpoint-last"

# the dev scores of the loop = `medner eval` of the model it wrote (the best epoch); the run is
# chosen so that the best F1 is neither 0 nor 1 (dev = train, 14 epochs: epoch 12, F1 0.2857)
$m train --base $base --train $td/ncbi-train.tsv --dev $td/ncbi-train.tsv --out "$tmp/ev" --epochs 14 \
  --lr 3e-3 --batch-size 2 --log-json "$tmp/ev.jsonl" --quiet 2> "$tmp/err" || fail "eval run: $(cat "$tmp/err")"
$m eval --model "$tmp/ev" --data $td/ncbi-train.tsv --json > "$tmp/ev.json" || fail "medner eval of the trained model"
python3 - "$tmp/ev.jsonl" "$tmp/ev.json" <<'PY' || fail "the loop's dev scores differ from medner eval"
import json, sys
best = [json.loads(l) for l in open(sys.argv[1]) if '"best":true' in l][-1]
ev = json.load(open(sys.argv[2]))["micro"]
assert 0 < best["dev_f1"] < 1, best
for k in ("precision", "recall", "f1"):
    assert abs(best["dev_" + k] - ev[k]) < 1e-8, (k, best, ev)
PY

# the shipped recipes parse (their data and model replaced by the test's, 2 steps)
# (a recipe restricted to some entity types keeps the test data's one type, Disease)
for r in examples/recipes/*.yaml; do
  types=; grep -q '^types:' "$r" && types="--types Disease"
  $m train --recipe "$r" --base $base --train $td/ncbi-train.tsv --dev $td/ncbi-dev.tsv \
    --out "$tmp/recipe" --max-steps 2 --threads 1 --save-steps 0 --log-json "$tmp/r.jsonl" \
    $types --quiet 2> "$tmp/err" || fail "$r: exit $?: $(cat "$tmp/err")"
done

# brat input: a directory of .txt/.ann pairs (BIOES training)
mkdir -p "$tmp/brat"
printf 'Fever and cough.\nNo rash.\n' > "$tmp/brat/a.txt"
printf 'T1\tSign_symptom 0 5\tFever\nT2\tSign_symptom 10 15\tcough\nT3\tSign_symptom 20 24\trash\n' > "$tmp/brat/a.ann"
printf 'Severe headache today.\n' > "$tmp/brat/b.txt"
printf 'T1\tSign_symptom 0 15\tSevere headache\nT2\tDate 16 21\ttoday\n' > "$tmp/brat/b.ann"
$m train --base $base --train "$tmp/brat" --dev "$tmp/brat/b.ann" --out "$tmp/bo" --scheme bioes \
  --epochs 2 --batch-size 1 2> "$tmp/err" || fail "brat training: exit $?: $(cat "$tmp/err")"
grep -q '5 labels, 3 training sentences' "$tmp/err" || fail "brat labels/sentences: $(cat "$tmp/err")"
grep -q '"S-Date"' "$tmp/bo/config.json" || fail "no S-Date label in the brat-trained config"
# --types keeps some entity types (the others become O)
$m train --base $base --train "$tmp/brat" --out "$tmp/bt" --scheme bioes --types Sign_symptom \
  --epochs 1 2> "$tmp/err" || fail "--types: exit $?: $(cat "$tmp/err")"
grep -q '4 labels' "$tmp/err" || fail "--types Sign_symptom: $(cat "$tmp/err")"
grep -q 'Date' "$tmp/bt/config.json" && fail "--types Sign_symptom kept Date"

# refusals
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --precision fp16 2> "$tmp/err"
[ $? -eq 2 ] || fail "--precision fp16 accepted"
grep -q 'expects fp32, bf16 or auto' "$tmp/err" || fail "--precision message: $(cat "$tmp/err")"
# bf16 mixed precision (fp32 on a CPU without native bf16): from a recipe key, writes a model;
# its checkpoint does not resume as fp32 (the precision is in the fingerprint) unless the CPU
# has no native bf16 (both runs are then fp32)
printf 'precision: bf16\n' > "$tmp/bf.yaml"
$m train --recipe "$tmp/bf.yaml" --base $base --train $td/ncbi-train.tsv --out "$tmp/bf" --epochs 1 \
  --max-steps 2 --quiet 2> "$tmp/err" || fail "--precision bf16: exit $?: $(cat "$tmp/err")"
[ -f "$tmp/bf/config.json" ] || fail "--precision bf16 wrote no model"
if grep -q 'amx_bf16\|avx512_bf16' /proc/cpuinfo 2>/dev/null; then
  $m train --base $base --train $td/ncbi-train.tsv --out "$tmp/bf" --epochs 1 --max-steps 2 \
    --precision fp32 --resume --quiet 2> "$tmp/err" && fail "bf16 checkpoint resumed as fp32"
  grep -q 'precision=bf16; now' "$tmp/err" || fail "resume precision message: $(cat "$tmp/err")"
  $m train --base $base --train $td/ncbi-train.tsv --out "$tmp/bf" --epochs 1 --max-steps 2 \
    --precision auto --resume --quiet 2> "$tmp/err" || fail "bf16 resume as auto: $(cat "$tmp/err")"
fi
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --lr fast 2> "$tmp/err"
[ $? -eq 2 ] || fail "--lr fast accepted"
printf 'base: %s\nlearning_rate: 1\n' $base > "$tmp/bad.yaml"
$m train --recipe "$tmp/bad.yaml" --train $td/ncbi-train.tsv --out "$tmp/x" 2> "$tmp/err"
[ $? -eq 2 ] || fail "unknown recipe key accepted"
grep -q "bad.yaml:2:1: unknown recipe key 'learning_rate'" "$tmp/err" || fail "recipe key message: $(cat "$tmp/err")"
printf 'epochs: [1, 2]\n' > "$tmp/bad2.yaml"
$m train --recipe "$tmp/bad2.yaml" 2> "$tmp/err"
[ $? -eq 2 ] || fail "a list value in a recipe accepted"
grep -q "bad2.yaml:1:9: epochs must be a single value" "$tmp/err" || fail "recipe type message: $(cat "$tmp/err")"
printf 'a\tB-Disease\nb\tI-Disease\tx\n' > "$tmp/bad.tsv"
$m train --base $base --train "$tmp/bad.tsv" --out "$tmp/x" 2> "$tmp/err"
[ $? -eq 1 ] || fail "malformed training file accepted"
grep -q "bad.tsv:2:" "$tmp/err" || fail "no file:line for a malformed file: $(cat "$tmp/err")"
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --lr 1e30 --max-grad-norm -1 \
  --warmup-ratio 0 2> "$tmp/err"
[ $? -eq 1 ] || fail "lr 1e30 did not fail"
grep -q "training diverged" "$tmp/err" || fail "NaN message: $(cat "$tmp/err")"

# Ctrl-C: status 130, checkpoint, --resume continues from it
long="--base $base --train $td/ncbi-train.tsv --out $tmp/c --epochs 100000 --batch-size 1 --max-length 32 --quiet"
$m train $long 2> "$tmp/err" & pid=$!
sleep 1; kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc: $(cat "$tmp/err")"
grep -q 'checkpoint-last' "$tmp/err" || fail "SIGINT message: $(cat "$tmp/err")"
step=$(sed -n 's/.*"step": \([0-9]*\).*/\1/p' "$tmp/c/checkpoint-last/trainer_state.json")
[ "${step:-0}" -gt 0 ] || fail "no steps in the checkpoint"
$m train $long --resume --max-steps 1 2> "$tmp/err"
[ $? -eq 1 ] && grep -q 'other training parameters' "$tmp/err" || fail "resume with other options accepted: $(cat "$tmp/err")"
$m train $long --resume 2> "$tmp/err" & pid=$!
sleep 1; kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] || fail "resumed run: exit $rc: $(cat "$tmp/err")"
step2=$(sed -n 's/.*"step": \([0-9]*\).*/\1/p' "$tmp/c/checkpoint-last/trainer_state.json")
[ "$step2" -gt "$step" ] || fail "the resumed run did not go on from step $step ($step2)"

# a crash (SIGKILL) while checkpoints are written every step: --resume finds a complete one
crash="--base $base --train $td/ncbi-train.tsv --out $tmp/k --epochs 100000 --batch-size 1 --max-length 32 --save-steps 1"
$m train $crash 2> "$tmp/err" & pid=$!
sleep 1; kill -KILL $pid; wait $pid 2>/dev/null
$m train $crash --resume 2> "$tmp/err" & pid=$!
sleep 1; kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] || fail "resume after SIGKILL: exit $rc: $(cat "$tmp/err")"
grep -q 'optimizer steps (resumed)' "$tmp/err" || fail "resume after SIGKILL found no checkpoint: $(cat "$tmp/err")"

# LoRA (--lora-r): OUT is a PEFT adapter directory that annotate/eval load on the base; the
# loop's best dev scores = `medner eval --base --adapter` (dev = train, F1 neither 0 nor 1)
$m train --base $base --train $td/ncbi-train.tsv --dev $td/ncbi-train.tsv --out "$tmp/lo" --epochs 30 \
  --lr 1e-2 --batch-size 2 --lora-r 8 --dropout -1 --attention-dropout -1 \
  --log-json "$tmp/lo.jsonl" 2> "$tmp/err" || fail "LoRA run: exit $?: $(cat "$tmp/err")"
grep -q "is a LoRA adapter: medner annotate --base $base --adapter $tmp/lo" "$tmp/err" ||
  fail "no LoRA hint: $(cat "$tmp/err")"
[ -f "$tmp/lo/adapter_model.safetensors" ] && [ ! -f "$tmp/lo/model.safetensors" ] ||
  fail "LoRA output is not an adapter directory: $(ls "$tmp/lo")"
grep -q '"r": 8,' "$tmp/lo/adapter_config.json" && grep -q '"lora_alpha": 16,' "$tmp/lo/adapter_config.json" ||
  fail "adapter_config.json: $(cat "$tmp/lo/adapter_config.json")"
printf 'The patient has breast cancer and diabetes.\n' > "$tmp/note.txt"
$m annotate --base $base --adapter "$tmp/lo" --format jsonl "$tmp/note.txt" > "$tmp/ann" 2>&1 ||
  fail "annotate --adapter on the LoRA output: $(cat "$tmp/ann")"
grep -q '"entities":' "$tmp/ann" || fail "annotate --adapter output: $(cat "$tmp/ann")"
$m eval --base $base --adapter "$tmp/lo" --data $td/ncbi-train.tsv --json > "$tmp/lo.json" ||
  fail "medner eval --adapter of the LoRA output"
python3 - "$tmp/lo.jsonl" "$tmp/lo.json" <<'PY' || fail "the LoRA loop's dev scores differ from medner eval --adapter"
import json, sys
best = [json.loads(l) for l in open(sys.argv[1]) if '"best":true' in l][-1]
ev = json.load(open(sys.argv[2]))["micro"]
assert 0 < best["dev_f1"] < 1, best
for k in ("precision", "recall", "f1"):
    assert abs(best["dev_" + k] - ev[k]) < 1e-8, (k, best, ev)
PY
# LoRA from a recipe, bad LoRA options refused with the reason
printf 'lora-r: 2\nlora_alpha: 4\nlora-targets: query,value\nlora-modules-to-save: classifier\n' > "$tmp/lora.yaml"
$m train --recipe "$tmp/lora.yaml" --base $base --train $td/ncbi-train.tsv --out "$tmp/lr" --max-steps 2 \
  --quiet 2> "$tmp/err" || fail "LoRA recipe: exit $?: $(cat "$tmp/err")"
grep -q '"target_modules": \["query", "value"\]' "$tmp/lr/adapter_config.json" && grep -q '"r": 2,' "$tmp/lr/adapter_config.json" ||
  fail "LoRA recipe keys not applied: $(cat "$tmp/lr/adapter_config.json")"
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --lora-r 4 --lora-targets query,qeury 2> "$tmp/err"
[ $? -eq 1 ] && grep -q '"qeury" matches no Linear layer' "$tmp/err" || fail "--lora-targets typo: $(cat "$tmp/err")"
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --lora-r 4 --lora-alpha -2 2> "$tmp/err"
[ $? -eq 1 ] && grep -q 'lora_alpha -2: must be a positive number' "$tmp/err" || fail "--lora-alpha -2: $(cat "$tmp/err")"
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --lora-r 64 2> "$tmp/err"
[ $? -eq 1 ] && grep -q "larger than the model's hidden size" "$tmp/err" || fail "--lora-r 64: $(cat "$tmp/err")"
$m train --base $base --train $td/ncbi-train.tsv --out "$tmp/x" --lora-r x 2> "$tmp/err"
[ $? -eq 2 ] || fail "--lora-r x accepted"

# LoRA: a SIGKILL mid-run (checkpoint every step), then --resume: the same files as a run
# never interrupted
lora="--base $base --train $td/ncbi-train.tsv --dev $td/ncbi-dev.tsv --epochs 8 --batch-size 1 --max-length 32 --save-steps 1 --lora-r 4 --lora-dropout 0.1 --lr 5e-3 --seed 3"
$m train $lora --out "$tmp/la" --quiet 2> "$tmp/err" || fail "LoRA uninterrupted run: $(cat "$tmp/err")"
$m train $lora --out "$tmp/lb" --quiet 2> "$tmp/err" & pid=$!
i=0; step=0
while [ $i -lt 300 ]; do
  step=$(sed -n 's/.*"step": \([0-9]*\).*/\1/p' "$tmp/lb/checkpoint-last/trainer_state.json" 2>/dev/null)
  [ "${step:-0}" -ge 5 ] && break
  sleep 0.1; i=$((i + 1))
done
kill -KILL $pid; wait $pid 2>/dev/null
step=$(sed -n 's/.*"step": \([0-9]*\).*/\1/p' "$tmp/lb/checkpoint-last/trainer_state.json" 2>/dev/null)
[ "${step:-0}" -ge 5 ] && [ "$step" -lt 120 ] || fail "LoRA: the kill did not land mid-run (step ${step:-none} of 120)"
$m train $lora --out "$tmp/lb" --resume 2> "$tmp/err" || fail "LoRA resume: $(cat "$tmp/err")"
grep -q 'optimizer steps (resumed)' "$tmp/err" || fail "LoRA resume found no checkpoint: $(cat "$tmp/err")"
for f in adapter_model.safetensors adapter_config.json config.json checkpoint-last/adapter_model.safetensors \
         checkpoint-last/optimizer.safetensors checkpoint-last/trainer_state.json; do
  cmp -s "$tmp/la/$f" "$tmp/lb/$f" || fail "LoRA resume after SIGKILL at step $step: $f differs"
done

if python3 -c 'import transformers, torch' 2>/dev/null; then
  python3 tests/reference/check_hf_roundtrip.py "$tmp/out" "$m" > "$tmp/rt" 2>&1 ||
    fail "transformers round trip: $(cat "$tmp/rt")"
  echo "cli-train: transformers round trip: $(grep 'max |' "$tmp/rt")"
else
  echo "cli-train: transformers not installed: round trip skipped"
fi
echo "cli-train: OK"
