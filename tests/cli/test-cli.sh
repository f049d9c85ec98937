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
$m version | grep -q "^medner 0.1.0" || fail "version"
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
set +e
$m info /nonexistent 2>/dev/null; [ $? -eq 1 ] || fail "info on a missing dir must exit 1"
set -e
printf '%s\n' '{"text": "Patient denies chest pain."}' | $m logits tests/data/models/tiny-bert-tc --hidden > "$tmp/out"
python_free_check=$(grep -c '"logits":\[\[' "$tmp/out")
[ "$python_free_check" -eq 1 ] || fail "logits output"
grep -q '"hidden":\[\[' "$tmp/out" || fail "logits --hidden"
echo "cli: OK"
