#!/usr/bin/env python3
"""LoRA training goldens from PyTorch + peft autograd (tests/unit/test_lora.c).

For NAME in bert, distilbert, minilm (the tiny models of tests/data/train/, made by
make_train_goldens.py), on the batch of NAME/grads.safetensors (input_ids, token_type_ids,
attention_mask, labels), writes NAME/lora_grads.safetensors:
  hparams                 F64 [3]: r, lora_alpha, lora_dropout (0: the gradient check is deterministic)
  loss                    F64 [1]: mean cross-entropy over the labelled tokens
  init.<name>             F32: lora_A / lora_B before the step: A uniform within PEFT's bound
                          1/sqrt(in), B NOT zero (PEFT's init) but uniform in +-0.2, so that every
                          gradient is non-zero and checked
  grad.<name>             F32: d loss / d <name> for every trainable tensor: every lora_A, lora_B and
                          the classifier (modules_to_save)
The reference is autograd in float64 (model, LoRA tensors and inputs' embeddings in double, the fp32
initial values converted exactly), rounded to fp32; the script prints how far fp32 autograd is from it
(0.26 of the 1e-4 tolerance at worst when made). medner's fp32 gradients are held to the tolerance
against the float64 reference. With B = +-0.5 instead, fp32 autograd itself was up to 6 times the
tolerance from float64 on layer 0 (noise amplified through the layers), hence the smaller init.
<name> is the name PEFT saves the tensor under in adapter_model.safetensors
("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight",
"base_model.model.classifier.weight": peft's get_peft_model_state_dict naming), which is what
medner__tparams_save_peft writes.

LoraConfig: task_type TOKEN_CLS, r 4, lora_alpha 12 (scale 3), lora_dropout 0, target_modules
query/key/value/dense (BERT, MiniLM) or q_lin/k_lin/v_lin/out_lin/lin1/lin2 (DistilBERT),
modules_to_save [classifier]. Model run in fp32, eval mode (dropout off), eager attention.

Versions: torch 2.15.0, transformers 5.24.0, peft 0.21.2, safetensors 0.8.0.

  python3 tests/reference/make_lora_goldens.py            # writes tests/data/train/NAME/lora_grads.safetensors
  python3 tests/reference/make_lora_goldens.py --verify   # recomputes and compares, writes nothing
"""
import argparse
import os
import sys

import numpy as np
import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
from safetensors.numpy import load_file, save_file
from transformers import AutoModelForTokenClassification

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "train"))
R, ALPHA = 4, 12.0
TARGETS = {"bert": ["query", "key", "value", "dense"],
           "minilm": ["query", "key", "value", "dense"],
           "distilbert": ["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"]}


def saved_name(param_name):
    """PEFT's saved name of a trainable parameter (as get_peft_model_state_dict writes it)."""
    n = param_name.replace(".modules_to_save.default", "")
    return n.replace(".lora_A.default", ".lora_A").replace(".lora_B.default", ".lora_B")


def worst_ratio(got, want, rel=1e-4, abs_tol=1e-6):
    tol = np.maximum(rel * np.abs(want), abs_tol)
    return float(np.max(np.abs(got.astype(np.float64) - want) / tol))


def goldens(name):
    """The goldens in float64 (the model and the LoRA tensors in double: the exact gradient to
    fp32's noise), and how far fp32 autograd is from them (printed)."""
    r64 = run(name, torch.float64)
    r32 = run(name, torch.float32)
    w = max(worst_ratio(r32[k], r64[k]) for k in r64 if k.startswith("grad."))
    print(f"{name}: loss {r64['loss'][0]:.9g} (fp32 {r32['loss'][0]:.9g}); fp32 autograd's worst "
          f"gradient is {w:.3g} of the tolerance (1e-4 rel or 1e-6 abs) from float64")
    return {k: (v if k in ("hparams", "loss") else v.astype(np.float32)) for k, v in r64.items()}


def run(name, dtype):
    d = os.path.join(DATA, name)
    torch.manual_seed(0)
    base = AutoModelForTokenClassification.from_pretrained(d, attn_implementation="eager",
                                                           dtype=torch.float32)
    cfg = LoraConfig(task_type="TOKEN_CLS", r=R, lora_alpha=ALPHA, lora_dropout=0.0,
                     target_modules=TARGETS[name], modules_to_save=["classifier"])
    m = get_peft_model(base, cfg)
    g = torch.Generator().manual_seed(1234)
    init = {}
    with torch.no_grad():
        for pn, p in m.named_parameters():
            if "lora_A" in pn or "lora_B" in pn:
                # A: PEFT's init bound 1/sqrt(in); B: +-0.2 (not PEFT's 0, so that dA is checked)
                bound = 1 / np.sqrt(p.shape[1]) if "lora_A" in pn else 0.2
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * bound)
                init["init." + saved_name(pn)] = p.detach().numpy().copy()
    m = m.to(dtype)
    m.eval()
    saved = set(get_peft_model_state_dict(m).keys())
    b = load_file(os.path.join(d, "grads.safetensors"))
    kw = {k: torch.from_numpy(b[k].astype(np.int64))
          for k in ("input_ids", "attention_mask", "labels")}
    if name != "distilbert":
        kw["token_type_ids"] = torch.from_numpy(b["token_type_ids"].astype(np.int64))
    out = m(**kw)
    out.loss.backward()
    res = {"hparams": np.array([R, ALPHA, 0.0], dtype=np.float64),
           "loss": np.array([out.loss.item()], dtype=np.float64)}
    res.update(init)
    n = 0
    for pn, p in m.named_parameters():
        if not p.requires_grad:
            continue
        sn = saved_name(pn)
        if sn not in saved:
            sys.exit(f"{pn}: saved as {sn}?, not in {sorted(saved)[:4]}...")
        res["grad." + sn] = p.grad.detach().numpy().copy()
        n += 1
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--verify", action="store_true")
    a = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    bad = 0
    for name in ("bert", "distilbert", "minilm"):
        res = goldens(name)
        path = os.path.join(DATA, name, "lora_grads.safetensors")
        if a.verify:
            old = load_file(path)
            for k, v in res.items():
                if k not in old or not np.allclose(old[k], v, rtol=1e-6, atol=1e-9):
                    print(f"{path}: {k} differs")
                    bad = 1
        else:
            save_file(res, path, metadata={"format": "pt"})
    sys.exit(bad)


if __name__ == "__main__":
    main()
