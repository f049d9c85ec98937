"""Shared fixtures of the medner Python tests.

The tests run against whichever `medner` package is importable (`make
test-python` installs examples/python into build/venv-python and checks that
the installed copy is the one imported).  The library defaults to the
repository's lib/libmedner.so.0 (built by `make`) unless MEDNER_LIBRARY is set.
"""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
os.environ.setdefault("MEDNER_LIBRARY", str(ROOT / "lib" / "libmedner.so.0"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL = ROOT / ".cache" / "models" / "minilm-ner-random"
CLI = ROOT / "bin" / "medner"

# Synthetic notes (no patient data).  Each gives entities with the random-head
# parity fixture, several with non-ASCII characters before or inside them:
# é/ü/ø (2-byte UTF-8), CJK (3 bytes), emoji (4 bytes, outside the BMP),
# combining acute accents (decomposed é), typographic quotes and dashes.
TEXTS = [
    "Müller-Hinz syndrome suspected; Café-au-lait macules noted. Started naïve patient on "
    "ibuprofène.",
    "患者有糖尿病和高血压，服用二甲双胍。 Diabetes confirmed by HbA1c 8.2%.",
    "Fever 😀 39°C, cough 🤒 and dyspnoea; amoxicillin 👍 started, then 💊 azithromycin for "
    "pneumonia.",
    "Re\u0301sume\u0301: e\u0301tat fe\u0301brile, pneumonie; traitement par amoxicilline. "
    "Ångström ß.",
    "The patient’s leukemia relapsed — cytarabine + daunorubicin ➜ remission; “neutropenic "
    "fever”.",
    "BRCA1 mutation carrier with breast cancer, tamoxifen 20 mg/day; Ødegaard’s hepatitis C.",
    "",
]


@pytest.fixture(scope="session")
def model_dir():
    assert (MODEL / "model.safetensors").is_file(), \
        f"{MODEL} is missing: run `make models` first"
    return MODEL


@pytest.fixture(scope="session")
def pipeline(model_dir):
    import medner
    with medner.Pipeline(model=str(model_dir)) as p:
        yield p


def cli_annotate(model_dir, texts, *args):
    """`bin/medner annotate --model DIR --format jsonl` on `texts`: one dict per text."""
    assert CLI.is_file(), f"{CLI} is missing: run `make` first"
    stdin = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts))
    r = subprocess.run([str(CLI), "annotate", "--model", str(model_dir), "--format", "jsonl",
                        *args], input=stdin.encode("utf-8"), capture_output=True, check=True)
    lines = r.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(texts)
    return [json.loads(line) for line in lines]
