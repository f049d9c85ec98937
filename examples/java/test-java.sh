#!/bin/sh
# `make test-java`: build examples/java/Medner.java (FFM API, JDK 17 incubator),
# annotate examples/java/note.txt (non-BMP characters: emoji, mathematical
# letters) and check that the printed entities equal `medner annotate`'s with
# its offsets converted to UTF-16, and that Java's String.substring gives the
# entity text. Ends with "java: N passed, M failed".
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MODEL=${MEDNER_TEST_MODEL:-.cache/models/minilm-ner-random}
NOTE=examples/java/note.txt
OUT=build/java
mkdir -p "$OUT"
rm -f "$OUT"/*.class
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  ok   $1"; }
bad() { failed=$((failed + 1)); echo "  FAIL $1"; }

# The example is written for JDK 17's incubator API (jdk.incubator.foreign),
# which later JDKs replaced: use a JDK 17 when one is installed.
JDK=
for d in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/java-17-openjdk-*; do
    if [ -x "$d/bin/javac" ] && "$d/bin/java" -version 2>&1 | grep -q 'version "17'; then
        JDK=$d/bin/; break
    fi
done
[ -n "$JDK" ] || echo "test-java: no JDK 17 found under /usr/lib/jvm; using $(command -v javac)"
JAVA_FLAGS="--add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED -Dmedner.library=$ROOT/lib/libmedner.so.0"
"$JDK"javac --release 17 --add-modules jdk.incubator.foreign -Xlint:all,-options -d "$OUT" \
    examples/java/Medner.java 2>&1 | grep -v -e 'incubating module' -e '^1 warning$' || true
[ -f "$OUT/Medner.class" ] || { echo "java: javac failed"; echo "java: 0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC2086
java_run() { "$JDK"java $JAVA_FLAGS -cp "$OUT" Medner "$@" 2>"$OUT/stderr"; }

# 1. struct layouts: the Java MemoryLayouts against sizeof/offsetof in C
cat > "$OUT/layouts.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include <medner.h>
#define F(s, f) printf(#s " " #f " %zu\n", offsetof(s, f))
int main(void)
{
    printf("medner_pipeline_params sizeof %zu\n", sizeof(medner_pipeline_params));
    F(medner_pipeline_params, struct_size); F(medner_pipeline_params, model_dir);
    F(medner_pipeline_params, adapter_dir); F(medner_pipeline_params, max_length);
    F(medner_pipeline_params, overlap); F(medner_pipeline_params, batch_size);
    F(medner_pipeline_params, threads); F(medner_pipeline_params, merge);
    F(medner_pipeline_params, first_window_only); F(medner_pipeline_params, encoder_threads);
    F(medner_pipeline_params, reserved); F(medner_pipeline_params, decoder);
    F(medner_pipeline_params, context); F(medner_pipeline_params, reserved2);
    F(medner_pipeline_params, context_rules); F(medner_pipeline_params, precision);
    F(medner_pipeline_params, reserved3);
    printf("medner_entity sizeof %zu\n", sizeof(medner_entity));
    F(medner_entity, struct_size); F(medner_entity, begin); F(medner_entity, end);
    F(medner_entity, label); F(medner_entity, score); F(medner_entity, first_token);
    F(medner_entity, n_tokens); F(medner_entity, context); F(medner_entity, section);
    F(medner_entity, sentence);
    return 0;
}
C
cc -std=c99 -Wall -Werror -Iinclude "$OUT/layouts.c" -o "$OUT/layouts"
"$OUT/layouts" > "$OUT/layouts.c.txt"
if java_run --layouts > "$OUT/layouts.java.txt" && cmp -s "$OUT/layouts.c.txt" "$OUT/layouts.java.txt"; then
    ok "MemoryLayouts equal sizeof/offsetof of medner_pipeline_params and medner_entity"
else
    bad "layouts differ:"; diff "$OUT/layouts.c.txt" "$OUT/layouts.java.txt" || true
fi

# 2. entities equal the CLI's, offsets in UTF-16 code units
if java_run "$MODEL" "$NOTE" > "$OUT/java.tsv"; then
    ok "java Medner annotates the note"
else
    bad "java Medner failed: $(cat "$OUT/stderr")"
fi
python3 -c 'import json, sys; print(json.dumps({"id": "note", "text": open(sys.argv[1], encoding="utf-8").read()}))' \
    "$NOTE" | bin/medner annotate --model "$MODEL" --format jsonl > "$OUT/cli.jsonl"
if python3 - "$NOTE" "$OUT/cli.jsonl" "$OUT/java.tsv" <<'PY'
import json, sys
note = open(sys.argv[1], encoding="utf-8").read()
cli = json.loads(open(sys.argv[2], encoding="utf-8").read())["entities"]
java = [line.split("\t") for line in open(sys.argv[3], encoding="utf-8").read().splitlines()]
u16 = lambda cp: len(note[:cp].encode("utf-16-le")) // 2
fails = []
if len(cli) < 3:
    fails.append(f"the note gives only {len(cli)} entities")
if len(java) != len(cli):
    fails.append(f"{len(java)} entities from Java, {len(cli)} from the CLI")
differ = 0
for c, j in zip(cli, java):
    want = (u16(c["start_char"]), u16(c["end_char"]), c["label"], c["text"])
    got = (int(j[0]), int(j[1]), j[2], j[4])
    if got != want:
        fails.append(f"Java {got} != CLI {want}")
    if abs(float(j[3]) - c["score"]) > 1e-12:
        fails.append(f"score {j[3]} != {c['score']}")
    # clinical context: the same flags, section and sentence as the CLI (or none)
    names = ["negated", "uncertain", "historical", "hypothetical", "family"]
    if "sentence" in c:
        want_ctx = (",".join(n for n in names if c[n]) or "none", c["section"], c["sentence"])
    else:
        want_ctx = ("-", "-", -1)
    if (j[5], j[6], int(j[7])) != want_ctx:
        fails.append(f"context {j[5:8]} != CLI {want_ctx}")
    # substring by UTF-16 units must give the CLI's text (String.substring semantics)
    units = note.encode("utf-16-le")
    if units[2 * got[0]:2 * got[1]].decode("utf-16-le", "replace") != c["text"]:
        fails.append(f"UTF-16 [{got[0]}, {got[1]}) is not {c['text']!r}")
    differ += (got[0], got[1]) != (c["start_char"], c["end_char"])
if differ < 2:
    fails.append(f"only {differ} entities have UTF-16 offsets that differ from code points: "
                 "the note does not exercise surrogate pairs")
for f in fails:
    print("   ", f)
print(f"    {len(cli)} entities, {differ} after non-BMP characters (UTF-16 != code points)")
sys.exit(1 if fails else 0)
PY
then
    ok "entities, UTF-16 offsets, scores and substrings equal medner annotate's"
else
    bad "entities differ from medner annotate's"
fi

# 3. errors carry medner_last_error()
set +e
java_run /nonexistent/model "$NOTE" > /dev/null; rc=$?
set -e
bin/medner annotate --model /nonexistent/model < /dev/null 2> "$OUT/cli.err" || true
msg="/nonexistent/model: not a directory"
if [ $rc -eq 1 ] && grep -q "input/output error: $msg" "$OUT/stderr" && grep -q "$msg" "$OUT/cli.err"; then
    ok "a bad model directory raises MednerException with the C message"
else
    bad "error path (exit $rc): $(cat "$OUT/stderr")"
fi

echo "java: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
