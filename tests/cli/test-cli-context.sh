#!/bin/sh
# Clinical context in the CLI: `medner context` (JSON lines with spans in,
# the same lines with flags, section and sentence out; error records and
# the skip/fail policy) and `medner annotate --context` (jsonl members,
# brat attributes, pretty marks, the same flags as `medner context` gives
# for the same spans; nothing added with --context off).
set -eu
m=bin/medner
tiny=tests/data/models/tiny-bert-tc
fail() { echo "cli-context: FAIL: $*"; exit 1; }
tmp=$(mktemp -d /tmp/medner-cli-context.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

$m --help | grep -q "context" || fail "--help lists no context"
$m context --help | grep -q -- "--rules" || fail "context --help"
set +e
$m context --nosuch </dev/null 2>/dev/null; [ $? -eq 2 ] || fail "unknown option must exit 2"
$m context --on-error maybe </dev/null 2>/dev/null; [ $? -eq 2 ] || fail "bad --on-error must exit 2"
$m context --rules /nonexistent/rules.yaml </dev/null 2>"$tmp/err"; [ $? -eq 1 ] || fail "missing rules must exit 1"
grep -q "/nonexistent/rules.yaml" "$tmp/err" || fail "the error names the rule file"
set -e

# Flags from the built-in rules: a negation, a family history section, a
# hypothetical, a history; code points (é counts 1) and bytes both accepted.
cat > "$tmp/in.jsonl" <<'JSON'
{"id":"n1","text":"Patient denies chest pain. Reports cough.","entities":[{"start_char":15,"end_char":25,"label":"Problem","keep":{"a":[1,"]"]}},{"start_char":35,"end_char":40,"label":"Problem"}],"after":1.50}
{"id":2,"text":"FAMILY HISTORY:\nMother had breast cancer.","entities":[{"start":27,"end":40,"label":"Problem"}]}
{"id":3,"text":"Café visit. Return if chest pain develops.","entities":[{"start_char":22,"end_char":32,"label":"Problem"}]}
{"id":4,"text":"History of stroke.","entities":[{"start_char":11,"end_char":17,"label":"Problem"},{"start_char":0,"end_char":17,"label":"Problem"}]}
JSON
$m context < "$tmp/in.jsonl" > "$tmp/out.jsonl"
[ "$(wc -l < "$tmp/out.jsonl")" -eq 4 ] || fail "4 lines expected"
python3 - "$tmp/out.jsonl" <<'PY' || fail "flags of medner context"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
e = rows[0]["entities"]
assert e[0]["negated"] is True and e[0]["family"] is False, e[0]
assert e[1]["negated"] is False, e[1]                   # another sentence
assert e[0]["sentence"] == 0 and e[1]["sentence"] == 1, e
assert e[0]["keep"] == {"a": [1, "]"]} and e[0]["label"] == "Problem"
assert rows[0]["after"] == 1.5 and rows[0]["id"] == "n1"
f = rows[1]["entities"][0]
assert f["family"] is True and f["section"] == "family_history", f
h = rows[2]["entities"][0]
assert h["hypothetical"] is True and h["negated"] is False, h
for x in rows[3]["entities"]:                            # overlapping spans are allowed
    assert set(x) >= {"negated", "uncertain", "historical", "hypothetical", "family",
                      "section", "sentence"}, x
assert rows[3]["entities"][0]["historical"] is True, rows[3]
PY
# members are copied byte for byte (1.50 stays 1.50), and a second run
# replaces the added members instead of doubling them
grep -q '"keep":{"a":\[1,"\]"\]}' "$tmp/out.jsonl" || fail "entity members not kept"
grep -q '"after":1.50}' "$tmp/out.jsonl" || fail "top-level members not kept"
$m context < "$tmp/out.jsonl" > "$tmp/out2.jsonl"
cmp -s "$tmp/out.jsonl" "$tmp/out2.jsonl" || fail "a second run changes the lines"

# Bad lines: error records with the line number, the others still done
cat > "$tmp/bad.jsonl" <<'JSON'
{"id":"ok","text":"no fever","entities":[{"start_char":3,"end_char":8}]}
{"id":"range","text":"no fever","entities":[{"start_char":3,"end_char":99}]}
not json

{"id":"mid","text":"é fever","entities":[{"start":1,"end":3}]}
{"id":"both","text":"é fever","entities":[{"start":3,"end":8,"start_char":2,"end_char":6}]}
{"id":"empty","text":"no fever","entities":[{"start_char":3,"end_char":3}]}
{"id":"nolabel","text":"no fever","entities":[{"start_char":3,"end_char":8,"label":7}]}
{"text":"no entities member"}
{"id":"last","text":"no fever","entities":[]}
JSON
set +e
$m context < "$tmp/bad.jsonl" > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad lines must exit 1 (got $rc)"
[ "$(wc -l < "$tmp/bad.out")" -eq 9 ] || fail "one output line per non-blank input line"
grep -q '^{"id":"range","line":2,"error":"entity 0: \[start_char 3, end_char 99) is empty or beyond' "$tmp/bad.out" || fail "out-of-range record"
grep -q '^{"id":3,"line":3,"error":' "$tmp/bad.out" || fail "a line that is not JSON gets its line number as id"
grep -q '"id":"mid","line":5,"error":".*span 0.*character boundaries' "$tmp/bad.out" || fail "boundary record"
grep -q '"id":"both","line":6,"error":".*disagree' "$tmp/bad.out" || fail "start/start_char disagreement"
grep -q '"id":"empty","line":7,"error":' "$tmp/bad.out" || fail "empty span"
grep -q '"id":"nolabel","line":8,"error":".*label' "$tmp/bad.out" || fail "non-string label"
grep -q '"line":9,"error":".*entities' "$tmp/bad.out" || fail "missing entities"
grep -q '^{"id":"last","text":"no fever","entities":\[\]}$' "$tmp/bad.out" || fail "a good line after bad ones"
grep -q '"id":"ok","text":"no fever","entities":\[{"start_char":3,"end_char":8,"negated":true' "$tmp/bad.out" || fail "good first line"
grep -q '^medner context: line 2: ' "$tmp/bad.err" || fail "stderr names the line"
tail -n 1 "$tmp/bad.err" | grep -qx "9 documents, 7 skipped" || fail "summary: $(tail -n 1 "$tmp/bad.err")"
set +e
$m context --on-error fail < "$tmp/bad.jsonl" > "$tmp/fail.out" 2>/dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "--on-error fail must exit 1"
[ "$(wc -l < "$tmp/fail.out")" -eq 2 ] || fail "--on-error fail stops at the first bad line"

# a span in a text without a sentence (only whitespace): sentence null
printf '%s\n' '{"text":"     ","entities":[{"start":1,"end":2}]}' | $m context > "$tmp/ws.out"
grep -q '"section":"none","sentence":null}' "$tmp/ws.out" || fail "no sentence: $(cat "$tmp/ws.out")"

# A rule file replaces the defaults: with no rules, nothing is negated
printf 'extends: default\n' > "$tmp/ext.yaml"
printf '%s\n' '{"text":"no fever","entities":[{"start_char":3,"end_char":8}]}' > "$tmp/one.jsonl"
if $m context --rules "$tmp/ext.yaml" < "$tmp/one.jsonl" > "$tmp/ext.out" 2>"$tmp/ext.err"; then
  grep -q '"negated":true' "$tmp/ext.out" || fail "extends: default keeps the default negation"
fi

# annotate: --context off adds nothing; --context default adds the members,
# and they equal what `medner context` gives for the same spans.
text='No fever. No cough. Denies pain. No rash today. Mother had cancer. History of asthma. Return if fever develops. No chills.'
printf '{"id":"d","text":"%s"}\n' "$text" > "$tmp/doc.jsonl"
$m annotate --model $tiny --context off < "$tmp/doc.jsonl" > "$tmp/off.jsonl"
grep -q '"negated"' "$tmp/off.jsonl" && fail "--context off must add nothing"
grep -q '"sentence"' "$tmp/off.jsonl" && fail "--context off must add no sentence"
$m annotate --model $tiny --context default < "$tmp/doc.jsonl" > "$tmp/on.jsonl"
python3 - "$tmp/on.jsonl" "$tmp/off.jsonl" "$text" > "$tmp/spans.jsonl" <<'PY' || fail "annotate --context members"
import json, sys
on = json.loads(open(sys.argv[1]).read()); off = json.loads(open(sys.argv[2]).read())
assert len(on["entities"]) == len(off["entities"]) > 0, (on, off)
for a, b in zip(on["entities"], off["entities"]):
    for k in b:
        assert a[k] == b[k], (k, a, b)                  # the rest is unchanged
    assert isinstance(a["negated"], bool) and isinstance(a["family"], bool)
    assert isinstance(a["section"], str) and isinstance(a["sentence"], int)
ents = [{"start": e["start"], "end": e["end"], "label": e["label"]} for e in on["entities"]]
print(json.dumps({"id": "d", "text": sys.argv[3], "entities": ents}))
PY
$m context < "$tmp/spans.jsonl" > "$tmp/ctx.jsonl"
python3 - "$tmp/on.jsonl" "$tmp/ctx.jsonl" <<'PY' || fail "annotate and medner context disagree"
import json, sys
on = json.loads(open(sys.argv[1]).read())["entities"]
cx = json.loads(open(sys.argv[2]).read())["entities"]
keys = ["negated", "uncertain", "historical", "hypothetical", "family", "section", "sentence"]
for a, b in zip(on, cx):
    assert [a[k] for k in keys] == [b[k] for k in keys], (a, b)
PY
# brat: one attribute line per flag set; pretty: one mark per flag set
$m annotate --model $tiny --context default --format brat < "$tmp/doc.jsonl" > "$tmp/on.ann"
n_flags=$(python3 -c '
import json, sys
e = json.loads(open(sys.argv[1]).read())["entities"]
print(sum(x[k] for x in e for k in ("negated", "uncertain", "historical", "hypothetical", "family")))' "$tmp/on.jsonl")
[ "$(grep -c '^A[0-9]*	\(Negated\|Uncertain\|Historical\|Hypothetical\|Family\) T[0-9]*$' "$tmp/on.ann" || true)" -eq "$n_flags" ] ||
  fail "brat attribute lines ($n_flags flags): $(cat "$tmp/on.ann")"
n_neg=$(python3 -c '
import json, sys
print(sum(x["negated"] for x in json.loads(open(sys.argv[1]).read())["entities"]))' "$tmp/on.jsonl")
# ("cough" after "No" is an entity of the tiny model: the checks below see a flag)
[ "$n_neg" -ge 1 ] || fail "no negated entity in $(cat "$tmp/on.jsonl")"
$m annotate --model $tiny --context default --format pretty < "$tmp/doc.jsonl" > "$tmp/on.txt"
[ "$(grep -o '!neg' "$tmp/on.txt" | wc -l)" -eq "$n_neg" ] || fail "pretty !neg marks ($n_neg negated)"
$m annotate --model $tiny --context off --format brat < "$tmp/doc.jsonl" | grep -q '^A' && fail "brat attributes without context"

# the YAML key, relative to the file, and the flag overriding it
printf 'model: %s\ncontext: off\n' "$PWD/$tiny" > "$tmp/c.yaml"
$m annotate --config "$tmp/c.yaml" < "$tmp/doc.jsonl" | grep -q '"negated"' && fail "context: off in the YAML"
$m annotate --config "$tmp/c.yaml" --context default < "$tmp/doc.jsonl" | grep -q '"negated"' ||
  fail "--context default overrides the YAML"
printf 'model: %s\ncontext: missing-rules.yaml\n' "$PWD/$tiny" > "$tmp/c2.yaml"
set +e
$m annotate --config "$tmp/c2.yaml" < "$tmp/doc.jsonl" > /dev/null 2> "$tmp/c2.err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "a missing rule file fails the pipeline"
grep -q "$tmp/missing-rules.yaml" "$tmp/c2.err" || fail "the rule file is relative to the YAML: $(cat "$tmp/c2.err")"
echo "cli-context: OK"
