#!/bin/sh
# --segment on annotate (and eval's help), YAML segment: (docs/config.md):
# sentence mode annotates each sentence as a text of its own, so a text of
# two sentences gets the entities of each sentence annotated alone, shifted;
# none is the default; the flag overrides the file (none too); bad values
# are refused with exit 2 (flag) or an error naming the key (YAML).
set -u
m=${MEDNER:-bin/medner}
tiny=tests/data/models/tiny-bert-tc
tmp=$(mktemp -d /tmp/medner-segment.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "cli-segment: FAIL: $*"; exit 1; }

python3 - > "$tmp/in.jsonl" <<'PY'
import json
a = "Fever and cough since Monday; no chest pain."
b = "The patient denies nausea and reports ataxia-telangiectasia in the family."
for i, t in enumerate([a, b, a + " " + b, "HISTORY:\n" + a + "\n\n- " + b, ""]):
    print(json.dumps({"id": i, "text": t}))
PY
opts="--model $tiny --max-length 8 --overlap 2"
$m annotate $opts < "$tmp/in.jsonl" > "$tmp/default" 2> "$tmp/err" || fail "default: $(cat "$tmp/err")"
$m annotate $opts --segment none < "$tmp/in.jsonl" > "$tmp/none" 2> "$tmp/err" || fail "--segment none: $(cat "$tmp/err")"
cmp -s "$tmp/default" "$tmp/none" || fail "--segment none differs from the default"
$m annotate $opts --segment sentence < "$tmp/in.jsonl" > "$tmp/sent" 2> "$tmp/err" ||
  fail "--segment sentence: $(cat "$tmp/err")"
python3 - "$tmp/sent" <<'PY' || fail "--segment sentence: not the entities of each sentence alone"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
assert len(docs) == 5, len(docs)
def ents(d, shift=0):
    return [(e["start"] + shift, e["end"] + shift, e["label"]) for e in d["entities"]]
a, b = docs[0], docs[1]
la = len("Fever and cough since Monday; no chest pain.")
assert ents(a) and ents(b), "no entities to compare"
assert ents(docs[2]) == ents(a) + ents(b, la + 1), (ents(docs[2]), ents(a), ents(b, la + 1))
lh = len("HISTORY:\n")
got = [e for e in ents(docs[3]) if e[0] >= lh]
assert got[:len(ents(a))] == ents(a, lh), got
assert docs[4]["entities"] == []
PY
# YAML segment: the same as the flag; the flag overrides the file, none too
printf 'model: %s\nmax_length: 8\noverlap: 2\nsegment: sentence\n' "$PWD/$tiny" > "$tmp/sent.yaml"
$m annotate --config "$tmp/sent.yaml" < "$tmp/in.jsonl" > "$tmp/yaml" 2> "$tmp/err" ||
  fail "YAML segment: sentence: $(cat "$tmp/err")"
cmp -s "$tmp/yaml" "$tmp/sent" || fail "YAML segment: sentence differs from --segment sentence"
$m annotate --config "$tmp/sent.yaml" --segment none < "$tmp/in.jsonl" > "$tmp/over" 2> "$tmp/err" ||
  fail "--segment none over the file: $(cat "$tmp/err")"
cmp -s "$tmp/over" "$tmp/default" || fail "--segment none does not override the file's segment: sentence"
cmp -s "$tmp/sent" "$tmp/default" && fail "sentence and none give the same output on these texts"
# bad values
$m annotate $opts --segment paragraph < "$tmp/in.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "--segment paragraph: exit $rc, expected 2"
grep -q -- '--segment' "$tmp/err" || fail "--segment paragraph: the message does not name the flag"
printf 'model: %s\nsegment: paragraph\n' "$PWD/$tiny" > "$tmp/bad.yaml"
$m annotate --config "$tmp/bad.yaml" < "$tmp/in.jsonl" > /dev/null 2> "$tmp/err" && fail "YAML segment: paragraph accepted"
grep -q 'segment' "$tmp/err" || fail "YAML segment: paragraph: the message does not name the key: $(cat "$tmp/err")"
for c in annotate eval; do
  $m $c --help 2>&1 | grep -q -- '--segment none|sentence' || fail "$c --help does not list --segment"
done
echo "cli-segment: OK"
