#!/bin/sh
# `medner eval` equals seqeval on the same predictions (big tier): annotate
# the NCBI-disease and MACCROBAT test sets with the MiniLM NER model, write
# the predictions, and let seqeval (PyPI) score the very same tag sequences;
# the table and the JSON must be identical to the last digit.
set -eu
models=${MEDNER_MODELS_DIR:-.cache/models}
tmp=$(mktemp -d /tmp/medner-eval.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 -c "import seqeval" 2>/dev/null || python3 -m pip install --quiet "seqeval==1.2.2"
for data in tests/data/eval/ncbi-disease-test.gold.tsv tests/data/eval/maccrobat-test.gold.tsv; do
  [ -f "$data" ] || { echo "eval-seqeval: missing $data"; exit 1; }
  bin/medner eval --model "$models/minilm-ner-random" --data "$data" \
      --predictions "$tmp/pred.tsv" > "$tmp/medner.txt"
  bin/medner eval --model "$models/minilm-ner-random" --data "$data" --json > "$tmp/medner.json"
  printf "eval-seqeval: %s: " "$data"
  python3 - "$tmp/pred.tsv" "$tmp/medner.txt" "$tmp/medner.json" <<'PY'
import json, sys
from seqeval.metrics import classification_report
gold, pred, g, p = [], [], [], []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        if g:
            gold.append(g); pred.append(p); g, p = [], []
        continue
    _, a, b = line.split("\t")
    g.append(a); p.append(b)
if g:
    gold.append(g); pred.append(p)
want = classification_report(gold, pred, digits=4, zero_division=0)
got = open(sys.argv[2], encoding="utf-8").read()
if got.rstrip("\n") != want.rstrip("\n"):
    print("eval-seqeval: table differs\n--- medner\n" + got + "\n--- seqeval\n" + want)
    sys.exit(1)
rep = classification_report(gold, pred, output_dict=True, zero_division=0)
mine = json.load(open(sys.argv[3]))
for k in ("micro", "macro", "weighted"):
    for m in ("precision", "recall", "f1"):
        a, b = mine[k][m], float(rep[k + " avg"][m if m != "f1" else "f1-score"])
        if a != b:
            print(f"eval-seqeval: {k} {m}: medner {a!r} seqeval {b!r}")
            sys.exit(1)
print(f"{len(gold)} sentences, identical to seqeval")
PY
done
