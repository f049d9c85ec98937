"""`medner train` output loads unchanged in transformers (issue 18, docs/training.md).

Trains the tiny test BERT for two epochs on the NCBI-disease slice of
tests/data/train-data with `bin/medner train`, then runs
tests/reference/check_hf_roundtrip.py with this interpreter:
AutoModelForTokenClassification.from_pretrained(out) has every tensor of
model.safetensors bitwise, no parameter missing, the labels of config.json,
and logits within 1e-4 of `medner logits`. transformers and torch are
required (as test_hf_parity.py): never skipped.
"""

import subprocess
import sys

from conftest import CLI, ROOT


def test_trained_model_loads_in_transformers(tmp_path):
    out = tmp_path / "model"
    td = ROOT / "tests" / "data" / "train-data"
    subprocess.run([str(CLI), "train", "--base", str(ROOT / "tests/data/models/tiny-bert-model"),
                    "--train", str(td / "ncbi-train.tsv"), "--dev", str(td / "ncbi-dev.tsv"),
                    "--out", str(out), "--epochs", "2", "--lr", "1e-3", "--batch-size", "4",
                    "--quiet"], check=True)
    r = subprocess.run([sys.executable, str(ROOT / "tests/reference/check_hf_roundtrip.py"),
                        str(out), str(CLI)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "max |medner logits - transformers logits|" in r.stdout
