#!/bin/sh
# make bench-train-parity: recipe parity of `medner train` with transformers.Trainer (issue 18;
# docs/training.md, "Recipe parity"). Both sides start from the same Hugging Face directory
# (.cache/bench-train-parity/init: all-MiniLM-L6-v2 + a seeded head for the NCBI-disease labels, made
# once by tests/reference/bench_train_parity.py prepare), read NCBI-disease train in file order
# (medner --no-shuffle; HF: a SequentialSampler), dropout off, fp32, the same AdamW, schedule,
# weight decay groups, clipping, batch size and max length, PARITY_THREADS threads each (default 1).
#   default: PARITY_STEPS (50) optimizer steps on each side; the per-step training loss, learning
#            rate and gradient norm side by side; PASS when every |loss diff| <= PARITY_TOL (1e-3).
#   PARITY_FULL=1: also PARITY_EPOCHS (1) full epochs on each side, both written models scored on
#            NCBI-disease test by `bin/medner eval` (the same scorer: isolates the training) and the
#            HF model's own predictions by seqeval; PASS when the F1s differ by <= 0.3 points.
# Hyper-parameters: PARITY_BATCH (16), PARITY_LR (1e-4), PARITY_WARMUP (5 steps), weight decay 0.01,
# clipping 1.0, PARITY_MAXLEN (128), seed 13. Exit status 1 when a comparison fails.
# PARITY_ACCUM (1): gradient accumulation on both sides; above 1 the HF side takes the loss as the sum
# over the step's labelled tokens / their number (PARITY_HF_LOSS=token: medner's semantics and
# Trainer's intended num_items_in_batch one) because BertForTokenClassification drops
# num_items_in_batch (huggingface/transformers#47688); PARITY_HF_LOSS=model keeps the model's loss
# (Trainer as shipped).
set -eu
steps=${PARITY_STEPS:-50}
threads=${PARITY_THREADS:-1}
batch=${PARITY_BATCH:-16}
lr=${PARITY_LR:-1e-4}
warmup=${PARITY_WARMUP:-5}
maxlen=${PARITY_MAXLEN:-128}
tol=${PARITY_TOL:-1e-3}
epochs=${PARITY_EPOCHS:-1}
accum=${PARITY_ACCUM:-1}
hfloss=${PARITY_HF_LOSS:-model}
if [ "$accum" -gt 1 ]; then hfloss=${PARITY_HF_LOSS:-token}; fi
data=${PARITY_DATA:-../shared/data/ncbi-disease}
ref=tests/reference/bench_train_parity.py
out=.cache/bench-train-parity
init=$out/init
base=.cache/models/all-MiniLM-L6-v2

if ! python3 -c "import torch, transformers, seqeval" 2>/dev/null; then
    echo "bench-train-parity: needs python3 with torch, transformers and seqeval" >&2
    echo "  (python3 -m pip install -r tests/reference/requirements-train.txt seqeval==1.2.2)" >&2
    exit 1
fi
for f in "$base/model.safetensors" "$data/train.tsv" "$data/test.tsv"; do
    [ -f "$f" ] || { echo "bench-train-parity: $f is missing" >&2; exit 1; }
done
mkdir -p "$out"
[ -f "$init/model.safetensors" ] ||
    python3 "$ref" prepare "$base" "$data/train.tsv" "$init" 2>/dev/null

common="--batch-size $batch --grad-accum $accum --lr $lr --warmup-steps $warmup
        --weight-decay 0.01 --max-grad-norm 1 --max-length $maxlen --seed 13 --threads $threads
        --no-shuffle --dropout -1 --attention-dropout -1 --precision fp32 --quiet"
hfopts="--batch $batch --grad-accum $accum --loss $hfloss --lr $lr --warmup-steps $warmup
        --weight-decay 0.01 --max-grad-norm 1 --max-length $maxlen --seed 13 --threads $threads"
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== recipe parity: $steps steps, batch $batch x $accum, HF loss $hfloss, lr $lr," \
     "warm-up $warmup, max length $maxlen, $threads thread(s);" \
     "load average: $(load)"
rm -rf "$out/medner-steps" "$out/medner-steps.jsonl"
t0=$(date +%s)
# shellcheck disable=SC2086
bin/medner train --base "$init" --train "$data/train.tsv" --out "$out/medner-steps" \
    --epochs 1 --max-steps "$steps" --log-json "$out/medner-steps.jsonl" $common
t1=$(date +%s)
# shellcheck disable=SC2086
python3 "$ref" hf "$init" "$data/train.tsv" "$out/hf-steps.jsonl" --max-steps "$steps" \
    --out "$out/hf-steps" $hfopts 2>"$out/hf-steps.log" || { cat "$out/hf-steps.log" >&2; exit 1; }
t2=$(date +%s)
echo "medner $((t1 - t0)) s, HF Trainer $((t2 - t1)) s; load average: $(load)"
status=0
python3 "$ref" compare "$out/medner-steps.jsonl" "$out/hf-steps.jsonl" --tol "$tol" \
    --steps "$steps" || status=1

if [ "${PARITY_FULL:-0}" = 1 ]; then
    echo "== full mode: $epochs epoch(s) on each side, then NCBI-disease test"
    rm -rf "$out/medner-full" "$out/hf-full"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    bin/medner train --base "$init" --train "$data/train.tsv" --out "$out/medner-full" \
        --epochs "$epochs" --log-json "$out/medner-full.jsonl" $common
    t1=$(date +%s)
    # shellcheck disable=SC2086
    python3 "$ref" hf "$init" "$data/train.tsv" "$out/hf-full.jsonl" --epochs "$epochs" \
        --out "$out/hf-full" $hfopts 2>"$out/hf-full.log" || { cat "$out/hf-full.log" >&2; exit 1; }
    t2=$(date +%s)
    echo "medner $((t1 - t0)) s, HF Trainer $((t2 - t1)) s; load average: $(load)"
    echo "per-step loss over the whole run (information; the gate is the $steps-step mode above):"
    python3 "$ref" compare "$out/medner-full.jsonl" "$out/hf-full.jsonl" --tol "$tol" | tail -2 || :
    bin/medner eval --model "$out/medner-full" --data "$data/test.tsv" --threads "$threads" \
        --json > "$out/medner-full.eval.json"
    bin/medner eval --model "$out/hf-full" --data "$data/test.tsv" --threads "$threads" \
        --json > "$out/hf-full.eval.json"
    python3 "$ref" f1 "$out/medner-full.eval.json" "$out/hf-full.eval.json" --tol 0.3 || status=1
    printf 'HF model, its own predictions through seqeval: '
    python3 "$ref" seqeval "$out/hf-full" "$data/test.tsv" --max-length "$maxlen" \
        --threads "$threads" 2>/dev/null
fi
exit $status
