#!/bin/sh
# medner annotate --format html: the page against the JSON lines of the same
# run (every entity with its exact text, label, offsets, score and context
# flags; legend counts; document list; the document text whole, newlines
# kept), escaping of notes, ids, file names, labels and error messages
# (an injected <script> and "><img onerror> are text), nothing to fetch or
# run, error/empty documents, a page that stays whole with --on-error fail
# and without documents, the same bytes on every run. Model: the committed
# tests/data/models/tiny-bert-tc (random weights: entities everywhere, with
# context flags); tests/html/check_page.py does the checks.
set -eu
m=bin/medner
tiny=tests/data/models/tiny-bert-tc
check=tests/html/check_page.py
fail() { echo "cli-html: FAIL: $*"; exit 1; }
tmp=$(mktemp -d /tmp/medner-cli-html.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

$m annotate --help | grep -q "html: *one self-contained HTML page" || fail "annotate --help lists no html"
$m annotate --help | grep -q -- "--format jsonl|brat|conll|pretty|html" || fail "--help: --format"
set +e
$m annotate --model $tiny --format htm </dev/null 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "pretty|html" "$tmp/err" || fail "bad --format: exit $rc, $(cat "$tmp/err")"

# --- stdin: an injection note, a bad line, an empty text, ids to escape ---
cat > "$tmp/in.jsonl" <<'JSON'
{"id":"note <1> & 'a'","text":"Patient denies chest pain. History of stroke.\n\nFAMILY HISTORY:\nMother had breast cancer.\n"}
{"id":2,"text":"<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=pwned>')</script> fever and \"><img src=x onerror=alert(1)> cough & rash"}
not json <b id="pwned">bold</b>
{"id":"empty","text":""}
{"id":"café","text":"Café patient, possible pneumonia.\tReturn if chest pain develops."}
JSON
# a label with < " ' & > (--rename), context on
annotate() { $m annotate --model $tiny --context default --rename "Species=<S&\"x'>" "$@"; }
for f in jsonl html; do
  set +e
  annotate --format $f < "$tmp/in.jsonl" > "$tmp/out.$f" 2> "$tmp/err.$f"; rc=$?
  set -e
  [ $rc -eq 1 ] || fail "--format $f with a bad line: exit $rc (1 expected)"
done
cmp -s "$tmp/err.jsonl" "$tmp/err.html" || fail "html and jsonl report the bad line differently"
grep -q '"label":"<S&\\"x'"'"'>"' "$tmp/out.jsonl" || fail "the renamed label is not in the JSON lines"
python3 $check "$tmp/out.html" "$tmp/out.jsonl" --input-jsonl "$tmp/in.jsonl" --injection ||
  fail "stdin page"
# raw bytes: no markup from the input survives, the escapes are there
grep -q '<script' "$tmp/out.html" && fail "'<script' in the page"
grep -q '<img' "$tmp/out.html" && fail "'<img' in the page"
grep -q "&lt;script&gt;document.title=&#39;pwned&#39;" "$tmp/out.html" || fail "escaped script text"
grep -q 'data-label="&lt;S&amp;&quot;x&#39;&gt;"' "$tmp/out.html" || fail "escaped label attribute"
grep -q 'note &lt;1&gt; &amp; &#39;a&#39;' "$tmp/out.html" || fail "escaped id"
grep -q "found a letter</p>" "$tmp/out.html" || fail "the error message of line 3"
grep -q 'white-space:pre-wrap' "$tmp/out.html" || fail "text block not pre-wrap"
tail -n 1 "$tmp/out.html" | grep -q '^</html>$' || fail "page not closed"
# deterministic: the same bytes again
annotate --format html < "$tmp/in.jsonl" 2>/dev/null | cmp -s - "$tmp/out.html" ||
  fail "a second run gives another page"

# --- files: a name with markup in it, a missing file ------------------------
printf 'Mother had breast cancer.\nNo fever.\r\nCough & rash <b>.\n' > "$tmp/<i>a&b.txt"
printf 'Denies chest pain.' > "$tmp/two.txt"
set +e
$m annotate --model $tiny --format jsonl "$tmp/<i>a&b.txt" "$tmp/two.txt" "$tmp/missing.txt" \
  > "$tmp/f.jsonl" 2>/dev/null
$m annotate --model $tiny --format html "$tmp/<i>a&b.txt" "$tmp/two.txt" "$tmp/missing.txt" \
  > "$tmp/f.html" 2>/dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "a missing file: exit $rc"
python3 $check "$tmp/f.html" "$tmp/f.jsonl" --files "$tmp/<i>a&b.txt" "$tmp/two.txt" \
  "$tmp/missing.txt" || fail "files page"
grep -q '&lt;i&gt;a&amp;b.txt' "$tmp/f.html" || fail "file name not escaped"
grep -q 'Not annotated: cannot open' "$tmp/f.html" || fail "missing file not shown"

# --- one document: no document list -----------------------------------------
$m annotate --model $tiny --format jsonl "$tmp/two.txt" > "$tmp/one.jsonl"
$m annotate --model $tiny --format html "$tmp/two.txt" > "$tmp/one.html"
python3 $check "$tmp/one.html" "$tmp/one.jsonl" --files "$tmp/two.txt" || fail "one-document page"
grep -q 'class="toc"' "$tmp/one.html" && fail "a document list for one document"
# the same label has the same colour on another page of the same model
colour() {
  grep -o 'data-label="Chemical" data-count="[0-9]*"><span class="sw" style="[^"]*"' "$1" |
    sed 's/data-count="[0-9]*"//'
}
c1=$(colour "$tmp/one.html"); c2=$(colour "$tmp/f.html")
[ -n "$c1" ] && [ "$c1" = "$c2" ] || fail "Chemical's colour: '$c1' vs '$c2'"

# --- aggregation none: token labels (B-X, I-X) -------------------------------
$m annotate --model $tiny --aggregation none --format jsonl < "$tmp/in.jsonl" > "$tmp/n.jsonl" 2>/dev/null || true
$m annotate --model $tiny --aggregation none --format html < "$tmp/in.jsonl" > "$tmp/n.html" 2>/dev/null || true
python3 $check "$tmp/n.html" "$tmp/n.jsonl" --input-jsonl "$tmp/in.jsonl" --injection ||
  fail "aggregation none page"

# --- no documents; --on-error fail stops but closes the page ----------------
$m annotate --model $tiny --format html < /dev/null > "$tmp/none.html"
grep -q 'No documents.' "$tmp/none.html" && tail -n 1 "$tmp/none.html" | grep -q '^</html>$' ||
  fail "page without documents"
grep -q 'class="toc"' "$tmp/none.html" && fail "a document list without documents"
set +e
$m annotate --model $tiny --format html --on-error fail < "$tmp/in.jsonl" > "$tmp/stop.html" 2>/dev/null
rc=$?
set -e
[ $rc -eq 1 ] || fail "--on-error fail: exit $rc"
[ "$(grep -c '<section class="doc' "$tmp/stop.html")" -eq 3 ] || fail "--on-error fail: 3 documents expected"
tail -n 1 "$tmp/stop.html" | grep -q '^</html>$' || fail "--on-error fail: page not closed"
echo "cli-html: ok"
