#!/bin/sh
# CLI behaviour: exit codes, help, and `medner tokenize` output shape and
# content (the ids/offsets themselves are checked against Hugging Face by the
# tokenizer parity tests; here: the CLI passes them through faithfully).
set -eu
m=bin/medner
v=tests/data/vocab/bert-base-uncased.vocab.txt
fail() { echo "cli: FAIL: $*"; exit 1; }
tmp=$(mktemp -d /tmp/medner-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

$m --help | grep -q "tokenize" || fail "--help lists no tokenize"
# the release version is written once, in include/medner.h
ver=$(sed -n 's/^#define MEDNER_VERSION_STRING "\(.*\)"/\1/p' include/medner.h)
$m version | grep -q "^medner $ver " || fail "version: $($m version | head -n 1), want medner $ver"
set +e
$m nosuch 2>/dev/null; [ $? -eq 2 ] || fail "unknown command must exit 2"
$m tokenize < /dev/null 2>/dev/null; [ $? -eq 2 ] || fail "tokenize without --model/--vocab must exit 2"
$m tokenize --vocab $v --max-length 10 --overlap 9 < /dev/null 2>/dev/null; [ $? -eq 2 ] || fail "bad overlap must exit 2"
$m tokenize --vocab /nonexistent < /dev/null 2>"$tmp/err"; [ $? -eq 1 ] || fail "missing vocab must exit 1"
grep -q "/nonexistent" "$tmp/err" || fail "error names the file"
set -e

# The exact encode() shape: ids, tokens, offsets with [CLS]/[SEP] as [0,0].
printf '%s\n' '{"text": "Fever \u2265 38\u00b0C [MASK]"}' | $m tokenize --vocab $v > "$tmp/out"
want='{"ids":[101,9016,1609,4229,7737,2278,103,102],"tokens":["[CLS]","fever","≥","38","##°","##c","[MASK]","[SEP]"],"offsets":[[0,0],[0,5],[6,9],[10,12],[12,14],[14,15],[16,22],[0,0]]'
case "$(cat "$tmp/out")" in
  "$want"*) ;;
  *) fail "unexpected output: $(cat "$tmp/out")" ;;
esac
grep -q '"word_ids":\[null,0,1,2,2,2,3,null\]' "$tmp/out" || fail "word_ids"

# One output line per input line; bad lines report their line number, exit 1.
printf '%s\n' '{"text": "a"}' 'not json' '{"text": 5}' '{"text": "ok"}' > "$tmp/in"
set +e
$m tokenize --vocab $v < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "bad input lines must give exit status 1 (got $rc)"
[ "$(wc -l < "$tmp/out")" -eq 4 ] || fail "expected 4 output lines"
sed -n 2p "$tmp/out" | grep -q '"line":2,"error"' || fail "line 2 error"
sed -n 3p "$tmp/out" | grep -q '"line":3,"error"' || fail "line 3 error"
grep -q "line 2" "$tmp/err" || fail "stderr names line 2"

# Windows: --max-length/--overlap give "overflowing" windows of at most N tokens.
printf '%s\n' '{"text": "a b c d e f g h i j"}' | $m tokenize --vocab $v --max-length 6 --overlap 1 > "$tmp/out"
grep -q '"overflowing":\[{"ids":\[101,' "$tmp/out" || fail "overflowing windows"
# Invalid UTF-8 inside the JSON string is impossible; invalid JSON escapes are errors.
printf '%s\n' '{"text": "\ud800"}' | { $m tokenize --vocab $v > /dev/null 2>&1 && fail "lone surrogate accepted"; } || true
# medner info / logits on a committed fixture
$m info tests/data/models/tiny-bert-tc > "$tmp/info"
grep -q "BertForTokenClassification" "$tmp/info" || fail "info: architecture"
grep -q "labels: *9: O B-Disease" "$tmp/info" || fail "info: labels"
grep -q "layers: *2" "$tmp/info" || fail "info: layers"
# a base without a head plus a PEFT LoRA adapter that brings one
$m info tests/data/models/tiny-bert-model --adapter tests/data/adapters/tiny-bert-model-lora-head > "$tmp/info"
grep -q "labels: *5: O B-Drug I-Drug B-Dose I-Dose" "$tmp/info" || fail "info --adapter: labels"
grep -q "lora: *r 4, alpha 8, scale 2" "$tmp/info" || fail "info --adapter: r/alpha"
grep -q "merged: *12 weights" "$tmp/info" || fail "info --adapter: merged count"
set +e
$m info /nonexistent 2>/dev/null; [ $? -eq 1 ] || fail "info on a missing dir must exit 1"
$m info tests/data/models/tiny-bert-tc --adapter /nonexistent 2>/dev/null; [ $? -eq 1 ] || fail "info with a missing adapter must exit 1"
$m info tests/data/models/tiny-bert-tc extra 2>/dev/null; [ $? -eq 2 ] || fail "info with two dirs must exit 2"
set -e
printf '%s\n' '{"text": "Started amoxicillin 500 mg."}' | \
    $m annotate --base tests/data/models/tiny-bert-model --adapter tests/data/adapters/tiny-bert-model-lora-head > "$tmp/out" || fail "annotate --adapter"
grep -q '"entities":' "$tmp/out" || fail "annotate --adapter output"
printf '%s\n' '{"text": "Patient denies chest pain."}' | $m logits tests/data/models/tiny-bert-tc --hidden > "$tmp/out"
python_free_check=$(grep -c '"logits":\[\[' "$tmp/out")
[ "$python_free_check" -eq 1 ] || fail "logits output"
grep -q '"hidden":\[\[' "$tmp/out" || fail "logits --hidden"
# medner annotate: JSON lines in, one result per document, in order
tiny=tests/data/models/tiny-bert-tc
printf '%s\n' '{"id": "a", "text": "Fever \u2265 38.5\u00b0C, cough."}' 'not json' \
  '{"id": 7, "text": "BRCA1 carriers."}' > "$tmp/docs"
set +e
$m annotate --model $tiny < "$tmp/docs" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "annotate: a bad line must give exit status 1 (got $rc)"
[ "$(wc -l < "$tmp/out")" -eq 3 ] || fail "annotate: one result per input line"
sed -n 1p "$tmp/out" | grep -q '^{"id":"a","entities":\[' || fail "annotate: jsonl shape"
sed -n 2p "$tmp/out" | grep -q '"line":2,"error"' || fail "annotate: error line"
sed -n 3p "$tmp/out" | grep -q '^{"id":7,' || fail "annotate: integer id"
grep -q "line 2" "$tmp/err" || fail "annotate: stderr names the line"
set +e
$m annotate --model $tiny --on-error fail < "$tmp/docs" > "$tmp/out" 2>/dev/null
rc=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l < "$tmp/out")" -eq 2 ] || fail "annotate --on-error fail stops at the bad line"
# every entity's text is the slice [start,end) of the input, in bytes and in characters
printf '%s\n' '{"id": "u", "text": "\u03b2-thalassemia and \u00b5g doses \ud83d\ude00 in IgA nephropathy."}' |
  $m annotate --model $tiny --aggregation simple > "$tmp/out"
grep -q '"start_char":' "$tmp/out" || fail "annotate: start_char"
# the C examples and the CLI agree
printf 'Fever and cough in a BRCA1 carrier.\n' > "$tmp/note.txt"
$m annotate --model $tiny "$tmp/note.txt" --format brat > "$tmp/brat"
grep -q "^# doc " "$tmp/brat" || fail "annotate --format brat"
n_brat=$(grep -c "^T[0-9]" "$tmp/brat" || true)
n_ex=$(bin/examples/annotate_one $tiny "$(cat "$tmp/note.txt")" | wc -l)
[ "$n_brat" -eq "$n_ex" ] || fail "annotate_one ($n_ex) and medner annotate ($n_brat) differ"
printf 'Fever and cough.\nBRCA1 carriers.\nNo findings.\n' > "$tmp/lines"
bin/examples/batch_threads $tiny 2 < "$tmp/lines" > "$tmp/b2"
bin/examples/batch_threads $tiny 1 < "$tmp/lines" > "$tmp/b1"
cmp -s "$tmp/b1" "$tmp/b2" || fail "batch_threads: 1 and 2 threads differ"
$m annotate --model $tiny --format conll "$tmp/note.txt" | grep -q "^Fever	" || fail "annotate --format conll"
# pretty: the text with [span|Label] marks (no colours when stdout is not a terminal); removing
# the marks gives the text back, and there are as many marks as brat lines
$m annotate --model $tiny --format pretty "$tmp/note.txt" > "$tmp/pretty"
head -n 1 "$tmp/pretty" | grep -q "^== $tmp/note.txt" || fail "annotate --format pretty: header"
sed -n 2p "$tmp/pretty" | sed -e 's/|[A-Za-z_-]*\]//g' -e 's/\[//g' > "$tmp/plain"
cmp -s "$tmp/plain" "$tmp/note.txt" || fail "annotate --format pretty: text changed"
n_pretty=$(sed -n 2p "$tmp/pretty" | grep -o '|[A-Za-z_-]*\]' | wc -l)
[ "$n_pretty" -eq "$n_brat" ] || fail "annotate --format pretty: $n_pretty marks, $n_brat entities"
# a YAML config and an unknown key
$m annotate --config examples/configs/ncbi-disease.yaml < /dev/null || fail "annotate --config"
printf 'model: x\nmax_lenght: 3\n' > "$tmp/bad.yaml"
set +e
$m annotate --config "$tmp/bad.yaml" < /dev/null 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "bad.yaml:2:1: unknown key" "$tmp/err" || fail "config error with file:line:column"
# medner eval on a CoNLL file
$m eval --model $tiny --data tests/data/eval/ncbi-disease-test.gold.tsv > "$tmp/eval"
grep -q "micro avg" "$tmp/eval" || fail "eval table"
$m eval --model $tiny --data tests/data/eval/ncbi-disease-test.gold.tsv --json | grep -q '"micro":' || fail "eval --json"
echo "cli: OK"
