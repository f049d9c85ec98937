#!/usr/bin/env python3
"""Check that a model directory written by medner (medner train / medner__tparams_save_hf)
loads unchanged in transformers (AutoModelForTokenClassification): every tensor of
model.safetensors becomes the model's parameter bitwise, no parameter is missing, the
labels of config.json are the model's, and (with MEDNER_BIN) transformers' logits equal
`medner logits` on the same sentence.

usage: check_hf_roundtrip.py MODEL_DIR [MEDNER_BIN]
With MEDNER_BIN, also runs `MEDNER_BIN logits` on a sentence and compares the logits
with transformers' (max abs diff <= 1e-4). Exit 0 on success."""
import json, subprocess, sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification, AutoTokenizer


def main():
    d = sys.argv[1]
    model = AutoModelForTokenClassification.from_pretrained(d)
    model.eval()
    sd = load_file(d + "/model.safetensors")
    msd = model.state_dict()
    for k, v in sd.items():
        assert k in msd, f"{k} not a parameter of {type(model).__name__}"
        assert torch.equal(msd[k], v), f"{k} differs after loading"
    missing = [k for k in msd if k not in sd and "position_ids" not in k]
    assert not missing, f"parameters not in the file: {missing}"
    cfg = json.load(open(d + "/config.json"))
    assert model.config.num_labels == len(cfg["id2label"])
    tok = AutoTokenizer.from_pretrained(d)
    text = "The patient had breast cancer and type 2 diabetes ."
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits[0]
    print(f"loaded {type(model).__name__}: {len(sd)} tensors, {model.config.num_labels} labels")
    if len(sys.argv) > 2:
        line = json.dumps({"text": text}) + "\n"
        out = subprocess.run([sys.argv[2], "logits", d], input=line.encode(),
                             capture_output=True, check=True).stdout
        got = json.loads(out.decode().splitlines()[0])
        assert got["ids"] == enc["input_ids"][0].tolist(), "token ids differ"
        ml = torch.tensor(got["logits"])
        diff = (ml - logits).abs().max().item()
        print(f"max |medner logits - transformers logits| = {diff:.3g}")
        assert diff <= 1e-4, "logits differ"
    return 0


if __name__ == "__main__":
    sys.exit(main())
