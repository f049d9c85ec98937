#!/usr/bin/env python3
"""Deterministic test corpus for `make test-spark`: N distinct notes as JSON
lines {"id": "note-00000", "text": "..."}, built from examples/notes/*.txt
with an index-dependent header, extra sentence and follow-up line.  Some
extras hold non-ASCII characters (accents, a dash, the degree sign, an emoji
outside the BMP), so UTF-8 byte offsets and code-point offsets differ after
them.

  python3 make_notes.py N NOTES_DIR > notes.jsonl
"""

import glob
import json
import os
import sys

EXTRAS = (
    "Patient denies nausea and vomiting.",
    "Temperature 38.4 °C this morning; no rash.",
    "Café-au-lait spots noted on the trunk — likely incidental.",
    "Mother reports the patient felt better 😀 after rest.",
    "History of smoking, quit ten years ago.",
    "Possible viral infection; will recheck in clinic.",
    "No known drug allergies.",
    "Naïve to insulin; started metformin 500 mg twice daily.",
)
MONTHS = ("Jan", "Feb", "Mär", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Déc")


def notes(n, notes_dir):
    bases = []
    for path in sorted(glob.glob(os.path.join(notes_dir, "*.txt"))):
        with open(path, encoding="utf-8") as f:
            bases.append(f.read().strip())
    if not bases:
        raise SystemExit(f"make_notes: no *.txt in {notes_dir}")
    for i in range(n):
        header = f"Visit {i} ({i % 28 + 1} {MONTHS[i % 12]} 20{10 + i % 15}):"
        body = bases[i % len(bases)]
        extra = EXTRAS[(i // len(bases)) % len(EXTRAS)]
        follow = f"Follow-up in {i % 13 + 1} weeks."
        # vary the order too: the extra sentence before or after the body
        text = (f"{header} {extra}\n{body}\n{follow}" if i % 3 == 0
                else f"{header}\n{body}\n{extra} {follow}")
        yield {"id": f"note-{i:05d}", "text": text}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    out = sys.stdout
    for rec in notes(int(sys.argv[1]), sys.argv[2]):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
