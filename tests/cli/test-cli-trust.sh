#!/bin/sh
# "No lost document" (docs/security.md): every input of `medner annotate` gives
# its result or an error record, never a silently wrong or missing one; write
# failures and bad names are reported. MEDNER=path runs another binary (to
# check these tests against an old build); TRUST_KEEP_GOING=1 reports every
# failure instead of stopping at the first.
set -u
m=${MEDNER:-bin/medner}
tiny=tests/data/models/tiny-bert-tc
nfail=0
fail() {
  echo "cli-trust: FAIL: $*"
  nfail=$((nfail + 1))
  [ "${TRUST_KEEP_GOING:-0}" = 1 ] || exit 1
}
tmp=$(mktemp -d /tmp/medner-trust.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# valid JSON lines, one per line (python3 is a test dependency already)
jsonl_ok() { python3 -c 'import json,sys
for l in open(sys.argv[1], encoding="utf-8", errors="strict"): json.loads(l)' "$1" 2>/dev/null; }
count() { grep -c "$1" "$2" || true; }

# --- 1. --threads: 1..256, refused outside; YAML threads above 256 refused ---
echo '{"text": "Fever."}' > "$tmp/one"
for n in 0 257 100000; do
  $m annotate --model $tiny --threads $n < "$tmp/one" > "$tmp/out" 2> "$tmp/err"; rc=$?
  [ $rc -eq 2 ] || fail "--threads $n: exit $rc, expected 2"
  grep -q "256" "$tmp/err" || fail "--threads $n: the message names no limit: $(cat "$tmp/err")"
  [ -s "$tmp/out" ] && fail "--threads $n: output although refused"
done
i=1; while [ $i -le 600 ]; do
  printf '{"id":%d,"text":"Fever and cough in patient %d, BRCA1 carrier."}\n' $i $i; i=$((i + 1))
done > "$tmp/many"
$m annotate --model $tiny < "$tmp/many" > "$tmp/ref" || fail "600 documents on 1 thread"
[ "$(wc -l < "$tmp/ref")" -eq 600 ] || fail "600 documents: $(wc -l < "$tmp/ref") results"
$m annotate --model $tiny --threads 256 --batch-size 1 < "$tmp/many" > "$tmp/out" ||
  fail "--threads 256: exit status"
cmp -s "$tmp/ref" "$tmp/out" || fail "--threads 256 differs from 1 thread"
printf 'model: %s\nthreads: 300\nbatch_size: 1\n' "$PWD/$tiny" > "$tmp/t300.yaml"
$m annotate --config "$tmp/t300.yaml" < "$tmp/many" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -ne 0 ] || fail "YAML threads: 300 accepted (exit 0)"
grep -q "256" "$tmp/err" || fail "YAML threads: 300: the message names no limit"

# --- 2. plain-text FILEs: unreadable inputs are errors, never empty or cut texts ---
printf 'Fever and cough in a BRCA1 carrier.\n' > "$tmp/good.txt"
mkdir "$tmp/adir"
truncate -s 600M "$tmp/sparse600"
mkfifo "$tmp/fifo"
cat "$tmp/good.txt" > "$tmp/fifo" &
writer=$!
$m annotate --model $tiny "$tmp/good.txt" "$tmp/adir" "$tmp/sparse600" /dev/zero "$tmp/fifo" \
    "$tmp/good.txt" > "$tmp/out" 2> "$tmp/err"; rc=$?
kill $writer 2>/dev/null # still blocked if the FIFO was never opened
wait $writer 2>/dev/null
[ $rc -eq 1 ] || fail "bad FILEs: exit $rc, expected 1"
[ "$(wc -l < "$tmp/out")" -eq 6 ] || fail "bad FILEs: $(wc -l < "$tmp/out") results of 6"
jsonl_ok "$tmp/out" || fail "bad FILEs: output is not JSON lines"
good=$(sed -n 1p "$tmp/out" | sed 's/^{"id":"[^"]*",//')
sed -n 2p "$tmp/out" | grep -q '"line":2,"error":"cannot read: Is a directory"' || fail "directory: $(sed -n 2p "$tmp/out")"
grep -q "adir: cannot read: Is a directory" "$tmp/err" || fail "directory: stderr names the file and the OS error"
sed -n 3p "$tmp/out" | grep -q '"line":3,"error":"629145600 bytes, above the limit of 268435456' || fail "600 MiB file: $(sed -n 3p "$tmp/out" | cut -c1-200)"
sed -n 4p "$tmp/out" | grep -q '"line":4,"error":"larger than the limit of 268435456 bytes' || fail "/dev/zero: $(sed -n 4p "$tmp/out" | cut -c1-200)"
grep -q "/dev/zero: larger than the limit" "$tmp/err" || fail "/dev/zero: stderr"
[ "$(sed -n 5p "$tmp/out" | sed 's/^{"id":"[^"]*",//')" = "$good" ] || fail "FIFO: not annotated like the file"
[ "$(sed -n 6p "$tmp/out" | sed 's/^{"id":"[^"]*",//')" = "$good" ] || fail "the file after the bad ones"
grep -q "^6 documents, 3 skipped$" "$tmp/err" || fail "bad FILEs: summary"
# --max-document-size: a file above it is refused, one at it is read
printf '0123456789' > "$tmp/ten.txt"
$m annotate --model $tiny --max-document-size 9 "$tmp/ten.txt" > "$tmp/out" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q '"error":"10 bytes, above the limit of 9 bytes' "$tmp/out" || fail "--max-document-size 9"
$m annotate --model $tiny --max-document-size 10 "$tmp/ten.txt" > "$tmp/out" 2>/dev/null || fail "--max-document-size 10"
$m annotate --model $tiny --max-document-size 1K /dev/zero > "$tmp/out" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q '"error":"larger than the limit of 1024 bytes' "$tmp/out" || fail "--max-document-size 1K, /dev/zero"
for bad in 0 -1 1X 99999999999999999999G; do
  $m annotate --model $tiny --max-document-size "$bad" < /dev/null 2>/dev/null
  [ $? -eq 2 ] || fail "--max-document-size $bad accepted"
done

# Smallest address-space limit (KiB) under which the tiny model annotates a line.
vmin=""
for v in 100000 150000 200000 300000 400000 600000 800000 1600000 3200000; do
  if (ulimit -v $v; $m annotate --model $tiny < "$tmp/one" > /dev/null 2>&1); then vmin=$v; break; fi
done
[ -n "$vmin" ] || fail "no ulimit -v found under which annotate runs"
vmin=${vmin:-800000}
vlim=$((vmin + 65536))
# --- 1. threads that cannot be started (no address space for 256 stacks of
# 8 MiB): their documents still run; under memory pressure a document may
# fail, but every output line is its reference result or an error record
(ulimit -v $((vmin + 300000)); $m annotate --model $tiny --threads 256 --batch-size 1 < "$tmp/many" > "$tmp/out" 2>/dev/null)
[ "$(wc -l < "$tmp/out")" -eq 600 ] || fail "ulimit -v, 256 threads: $(wc -l < "$tmp/out") results of 600"
paste -d '\n' "$tmp/ref" "$tmp/out" | awk 'NR % 2 { r = $0; next } $0 != r && $0 !~ /"error":/ { bad++ } END { exit bad > 0 }' ||
  fail "ulimit -v, 256 threads: a result that is neither right nor an error"
# --- 2 and 5. a 200 MiB file that does not fit in memory: an error, not a cut text ---
truncate -s 200M "$tmp/sparse200"
(ulimit -v $vlim; $m annotate --model $tiny --threads 1 "$tmp/good.txt" "$tmp/sparse200" "$tmp/good.txt" > "$tmp/out" 2> "$tmp/err"); rc=$?
[ $rc -eq 1 ] || fail "200 MiB file under ulimit -v $vlim: exit $rc, expected 1"
sed -n 2p "$tmp/out" | grep -q '"line":2,"error":"out of memory reading it' || fail "200 MiB file: $(sed -n 2p "$tmp/out" | cut -c1-200)"
grep -q "sparse200: out of memory" "$tmp/err" || fail "200 MiB file: stderr names the file"
[ "$(sed -n 3p "$tmp/out" | sed 's/^{"id":"[^"]*",//')" = "$good" ] || fail "the file after the 200 MiB one"

# --- 3 and 5. stdin: an over-long or unstorable line is an error line; later lines go on ---
{ echo '{"id":"a","text":"Fever."}'; printf '{"id":"big","text":"'; head -c 5000 /dev/zero | tr '\0' a
  printf '"}\n'; echo '{"id":"c","text":"Fever."}'; } > "$tmp/long"
$m annotate --model $tiny --max-document-size 4K < "$tmp/long" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "over-long line: exit $rc"
[ "$(wc -l < "$tmp/out")" -eq 3 ] || fail "over-long line: $(wc -l < "$tmp/out") results of 3"
sed -n 2p "$tmp/out" | grep -q '"line":2,"error":"the line is longer than the limit of 4096 bytes' || fail "over-long line: $(sed -n 2p "$tmp/out")"
sed -n 3p "$tmp/out" | grep -q '^{"id":"c","entities":' || fail "the line after an over-long one"
grep -q "line 2: the line is longer" "$tmp/err" || fail "over-long line: stderr"
{ echo '{"id":"a","text":"Fever."}'; printf '{"id":"big","text":"'; head -c 200M /dev/zero | tr '\0' a
  printf '"}\n'; echo '{"id":"c","text":"Fever."}'; } > "$tmp/huge"
(ulimit -v $vlim; $m annotate --model $tiny --threads 1 < "$tmp/huge" > "$tmp/out" 2> "$tmp/err"); rc=$?
rm -f "$tmp/huge"
[ $rc -eq 1 ] || fail "200 MiB line under ulimit -v $vlim: exit $rc"
[ "$(wc -l < "$tmp/out")" -eq 3 ] || fail "200 MiB line: $(wc -l < "$tmp/out") results of 3"
sed -n 2p "$tmp/out" | grep -q '"line":2,"error":"out of memory' || fail "200 MiB line: $(sed -n 2p "$tmp/out" | cut -c1-200)"
sed -n 3p "$tmp/out" | grep -q '^{"id":"c","entities":' || fail "the line after the 200 MiB one"
# an endless line (/dev/zero): reported at once (the rest is discarded as it streams)
timeout 10 $m annotate --model $tiny --max-document-size 1M < /dev/zero > "$tmp/out" 2>/dev/null
grep -q '"line":1,"error":"the line is longer than the limit of 1048576 bytes' "$tmp/out" || fail "stdin /dev/zero: no error record"
# a read error on stdin (a directory): reported, exit 1
$m annotate --model $tiny < "$tmp/adir" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q '"error":"cannot read stdin: Is a directory' "$tmp/out" || fail "stdin read error: exit $rc, $(cat "$tmp/out")"
$m tokenize --model $tiny < "$tmp/adir" > "$tmp/out" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && grep -q '"error":"cannot read stdin: Is a directory' "$tmp/out" || fail "tokenize: stdin read error: exit $rc"

# --- 4. --on-error skip skips one document, not the rest of its chunk ---
i=1; while [ $i -le 42 ]; do
  printf 'Fever and cough in patient %d, a BRCA1 carrier.\n' $i > "$tmp/f$(printf %02d $i).txt"; i=$((i + 1))
done
printf 'caf\351 fever\n' > "$tmp/f05.txt" # Latin-1, not UTF-8
$m annotate --model $tiny "$tmp"/f*.txt > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "42 files, one Latin-1: exit $rc"
[ "$(count '"entities":' "$tmp/out")" -eq 41 ] || fail "42 files, one Latin-1: $(count '"entities":' "$tmp/out") results, expected 41"
[ "$(count '"error":' "$tmp/out")" -eq 1 ] || fail "42 files, one Latin-1: $(count '"error":' "$tmp/out") error records"
[ "$(tail -n 1 "$tmp/err")" = "42 documents, 1 skipped" ] || fail "summary: '$(tail -n 1 "$tmp/err")'"
grep -q "f05.txt: .*invalid UTF-8" "$tmp/err" || fail "the Latin-1 file is named on stderr"
$m annotate --model $tiny --threads 2 --batch-size 3 "$tmp"/f*.txt > "$tmp/out2" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out2" || fail "42 files: 2 threads differ from 1"
# stdin: a bad line in the first chunk, 99 good lines after it
{ echo 'not json'; head -n 99 "$tmp/many"; } > "$tmp/in"
$m annotate --model $tiny < "$tmp/in" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && [ "$(count '"entities":' "$tmp/out")" -eq 99 ] || fail "stdin: a bad line stops the run (exit $rc)"
[ "$(tail -n 1 "$tmp/err")" = "100 documents, 1 skipped" ] || fail "stdin summary: '$(tail -n 1 "$tmp/err")'"
# nothing skipped: exit 0 and no summary
$m annotate --model $tiny "$tmp/good.txt" > /dev/null 2> "$tmp/err" || fail "one good file: exit status"
[ -s "$tmp/err" ] && fail "one good file: stderr not empty: $(cat "$tmp/err")"
# --on-error fail stops at the bad document
$m annotate --model $tiny --on-error fail "$tmp"/f*.txt > "$tmp/out" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$tmp/out")" -eq 5 ] || fail "--on-error fail: exit $rc, $(wc -l < "$tmp/out") lines"

# --- 12. write failures, file names, labels, label lists, help, adapters ---
if [ -w /dev/full ]; then
  for c in "annotate --model $tiny" "tokenize --model $tiny" "logits $tiny"; do
    $m $c < "$tmp/one" > /dev/full 2> "$tmp/err"; rc=$?
    [ $rc -eq 1 ] && grep -q "error writing the output: No space left on device" "$tmp/err" ||
      fail "$c > /dev/full: exit $rc, $(cat "$tmp/err")"
  done
  $m annotate --model $tiny < "$tmp/many" > /dev/full 2> "$tmp/err"; rc=$?
  [ $rc -eq 1 ] && [ "$(count "error writing" "$tmp/err")" -eq 1 ] || fail "600 documents > /dev/full: exit $rc"
  for c in "info $tiny" "eval --model $tiny --data tests/data/eval/ncbi-disease-test.gold.tsv" "version" "annotate --help"; do
    $m $c > /dev/full 2> "$tmp/err"; rc=$?
    [ $rc -eq 1 ] && grep -q "error writing the output" "$tmp/err" || fail "$c > /dev/full: exit $rc"
  done
fi
# a file name that is not UTF-8: still valid JSON (U+FFFD in the id)
bad_name="$tmp/$(printf 'note\377\n1')"
cp "$tmp/good.txt" "$bad_name"
$m annotate --model $tiny "$bad_name" > "$tmp/out" || fail "non-UTF-8 file name: exit status"
jsonl_ok "$tmp/out" || fail "non-UTF-8 file name: output is not valid JSON"
grep -q 'note\xef\xbf\xbd\\n1' "$tmp/out" 2>/dev/null || python3 -c 'import json,sys
d=json.loads(open(sys.argv[1],encoding="utf-8").readline()); sys.exit(not d["id"].endswith("note\ufffd\n1"))' "$tmp/out" ||
  fail "non-UTF-8 file name: id $(head -c 200 "$tmp/out")"
# labels with control characters: escaped in brat, pretty and CoNLL output
cp -r $tiny "$tmp/ctl"
python3 - "$tmp/ctl/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["id2label"] = {k: (v if v == "O" else v[:2] + "X\t\u001b[31m\n" + v[2:]) for k, v in c["id2label"].items()}
c["label2id"] = {v: int(k) for k, v in c["id2label"].items()}
json.dump(c, open(p, "w"))
EOF
printf 'Fever and cough in a BRCA1 carrier with diabetes and asthma.\n' > "$tmp/ctl.txt"
$m annotate --model "$tmp/ctl" --aggregation simple "$tmp/ctl.txt" > "$tmp/out" || fail "control labels: jsonl"
n=$(count '"label":' "$tmp/out")
[ "$(grep -o '"start":' "$tmp/out" | wc -l)" -gt 0 ] || fail "control labels: no entity to check"
for f in brat pretty conll; do
  $m annotate --model "$tmp/ctl" --aggregation simple --format $f "$tmp/ctl.txt" > "$tmp/$f" || fail "control labels: $f"
  python3 -c 'import sys
b = open(sys.argv[1], "rb").read()
sys.exit(b"\x1b" in b)' "$tmp/$f" || fail "control labels: an escape character in $f output"
done
grep -q 'X\\x09\\x1B\[31m\\x0A' "$tmp/brat" || fail "control labels: brat label not escaped: $(head -n 3 "$tmp/brat")"
awk -F '\t' '/^T[0-9]/ && NF != 3 { bad = 1 } END { exit bad }' "$tmp/brat" || fail "control labels: brat lines broken"
$m info "$tmp/ctl" > "$tmp/info" || fail "control labels: info"
grep -q 'labels: *9: O B-X\\x09\\x1B\[31m\\x0ADisease I-X' "$tmp/info" || fail "control labels: info: $(grep labels "$tmp/info")"
# --keep-label / --ignore-label naming no label of the model
for opt in --keep-label --ignore-label; do
  $m annotate --model $tiny $opt Diseas < "$tmp/one" > "$tmp/out" 2> "$tmp/err"; rc=$?
  [ $rc -eq 1 ] || fail "$opt Diseas: exit $rc"
  grep -q "Diseas.*B-Disease, I-Disease" "$tmp/err" || fail "$opt Diseas: labels not listed: $(cat "$tmp/err")"
done
$m annotate --model $tiny --keep-label Disease --ignore-label Gene --ignore-label O < "$tmp/one" > /dev/null ||
  fail "--keep-label Disease rejected"
$m annotate --model $tiny --rename Gene=G --keep-label G < "$tmp/one" > /dev/null || fail "--keep-label of a renamed type rejected"
# help lists --base and --adapter
for c in annotate eval; do
  $m $c --help > "$tmp/out" 2>&1
  grep -q -- "--base DIR" "$tmp/out" && grep -q -- "--adapter DIR" "$tmp/out" || fail "$c --help: no --base/--adapter"
done
# an adapter directory given as --model
$m annotate --model tests/data/adapters/tiny-bert-tc-lora < "$tmp/one" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--base BASE_DIR --adapter tests/data/adapters/tiny-bert-tc-lora" "$tmp/err" ||
  fail "adapter as --model: exit $rc, $(cat "$tmp/err")"

[ $nfail -eq 0 ] || { echo "cli-trust: $nfail failures"; exit 1; }
echo "cli-trust: OK"
