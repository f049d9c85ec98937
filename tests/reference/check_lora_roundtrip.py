#!/usr/bin/env python3
"""Round trip of a LoRA adapter trained and saved by medner, through peft and medner's CLI.

  python3 tests/reference/check_lora_roundtrip.py      (from the repository root, after
                                                       `make build/tests/test_lora bin/medner`)

1. build/tests/test_lora runs with MEDNER_LORA_OUT=<tmp>: its round-trip test trains a few LoRA steps
   on tests/data/models/tiny-bert-tc (r 4, alpha 8, lora_dropout 0.1, target_modules
   query/key/value/dense, modules_to_save classifier), saves the PEFT directory there with
   medner__tparams_save_peft, checks that medner's encoder loads it with the training forward's
   logits, and writes the batch and those logits (medner_logits.safetensors).
2. peft: PeftModel.from_pretrained(AutoModelForTokenClassification(base), <tmp>) loads the directory
   unchanged (adapter_config.json read by PeftConfig, every adapter tensor matched: a missing or
   unexpected key fails); its logits on the same sequences must equal medner's within 1e-4
   (relative or absolute).
3. bin/medner annotate --base <base> --adapter <tmp> runs on a sentence (exit status 0, JSONL out).
Exit status 0 when all hold. Needs torch, transformers, peft, safetensors (PyPI).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from peft import PeftConfig, PeftModel
from safetensors.numpy import load_file
from transformers import AutoModelForTokenClassification

BASE = "tests/data/models/tiny-bert-tc"


def main():
    out = tempfile.mkdtemp(prefix="medner-lora-rt-")
    env = dict(os.environ, MEDNER_LORA_OUT=out)
    r = subprocess.run(["build/tests/test_lora"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"test_lora failed:\n{r.stdout}\n{r.stderr}")
    print("files:", sorted(os.listdir(out)))
    cfg = PeftConfig.from_pretrained(out)
    print(f"PeftConfig: {cfg.peft_type} {cfg.task_type} r={cfg.r} alpha={cfg.lora_alpha} "
          f"dropout={cfg.lora_dropout} targets={sorted(cfg.target_modules)} "
          f"save={cfg.modules_to_save}")
    base = AutoModelForTokenClassification.from_pretrained(BASE, attn_implementation="eager")
    model = PeftModel.from_pretrained(base, out)
    model.eval()
    # every tensor of the file went somewhere: the loaded adapter equals the file
    st = load_file(os.path.join(out, "adapter_model.safetensors"))
    sd = {k.replace(".default", "").replace(".modules_to_save", ""): v
          for k, v in model.state_dict().items()}
    for k, v in st.items():
        if k not in sd or not np.array_equal(sd[k].numpy(), v):
            sys.exit(f"{k}: not loaded as saved")
    ref = load_file(os.path.join(out, "medner_logits.safetensors"))
    ids = ref["ids"].astype(np.int64)
    lens = ref["lens"].astype(np.int64)
    want = ref["logits"]
    worst, row = 0.0, 0
    with torch.no_grad():
        for L in lens:
            x = torch.from_numpy(ids[row:row + L])[None, :]
            got = model(input_ids=x, attention_mask=torch.ones_like(x),
                        token_type_ids=torch.zeros_like(x)).logits[0].numpy()
            w = want[row:row + L]
            tol = np.maximum(1e-4 * np.abs(w), 1e-4)
            worst = max(worst, float(np.max(np.abs(got - w) / tol)))
            row += L
    print(f"peft logits vs medner's: worst {worst:.3g} of the tolerance (1e-4)")
    if not worst <= 1.0:
        sys.exit("peft's logits differ from medner's")
    txt = os.path.join(out, "note.txt")
    with open(txt, "w") as f:
        f.write("The patient was given aspirin for chest pain.\n")
    r = subprocess.run(["bin/medner", "annotate", "--base", BASE, "--adapter", out,
                        "--format", "jsonl", txt], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bin/medner annotate --adapter failed ({r.returncode}): {r.stderr}")
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    print(f"bin/medner annotate --adapter: exit 0, {len(lines)} JSON line(s)")
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    os.rmdir(out)
    print("LoRA round trip: OK")


if __name__ == "__main__":
    main()
