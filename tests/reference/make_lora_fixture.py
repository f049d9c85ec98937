#!/usr/bin/env python3
"""PEFT LoRA adapter fixtures and their golden outputs (reference: Hugging Face PEFT + transformers).

What it produces, under tests/data/adapters/ (relative to the repository root), for every NAME below:
  NAME/adapter_config.json, NAME/adapter_model.safetensors
      exactly what PeftModel.save_pretrained(dir) writes (safetensors), minus the README.md model-card
      template it also writes; NAME/config.json too where listed (the fine-tuned model's config, for its
      id2label), as `model.config.save_pretrained(adapter_dir)` after training does.
  NAME.jsonl, NAME.f32
      goldens in the format of tests/data/encoder/ (make_encoder_goldens.py's pack(); see
      tests/data/encoder/README.md): per text the ids, then in NAME.f32 the final hidden states
      [length, hidden] and (with a head) the logits [length, num_labels], computed by the PEFT model itself
      (LoRA *not* merged: PEFT's own forward, base + scale * B(A x)) in PyTorch fp32, eval, no_grad,
      eager attention, each text alone.

  NAME                      base (tests/data/models/)  what is special
  tiny-bert-tc-lora         tiny-bert-tc               r 4, lora_alpha 8 (scale 2), targets query/key/value/
                                                       dense, modules_to_save classifier (task TOKEN_CLS), F32
  tiny-bert-tc-lora-rslora  tiny-bert-tc               as above with use_rslora (scale 8/sqrt(4) = 4) and the
                                                       adapter tensors stored as BF16
  tiny-bert-model-lora-head tiny-bert-model            the base is a BertModel WITHOUT a classifier (names
                                                       without "bert."); trained as BertForTokenClassification
                                                       with 5 new labels, so the head comes only from
                                                       modules_to_save and the LoRA keys carry "bert."; the
                                                       adapter directory has config.json with id2label
  tiny-bert-model-lora      tiny-bert-model            plain BertModel + LoRA (no task type, no head): keys
                                                       "base_model.model.encoder..." without "bert.", and LoRA
                                                       on pooler.dense (matched by "dense"), which an encoder
                                                       does not run; goldens are hidden states only
  tiny-distilbert-tc-lora   tiny-distilbert-tc         DistilBERT: r 8, lora_alpha 4 (scale 0.5), targets
                                                       q_lin/k_lin/v_lin/out_lin/lin1/lin2 in layer 1 only
                                                       (layers_to_transform [1]), modules_to_save
                                                       classifier, adapter tensors stored as F16

PEFT initialises lora_B to zero (the adapter then changes nothing), so after get_peft_model() every lora_A
and lora_B is overwritten with seeded random values (A ~ N(0, 0.3), B ~ N(0, 0.3)) and the modules_to_save
copy of the classifier is moved away from the base classifier (+ N(0, 0.2)), so that every part of the
adapter changes the outputs far beyond the 1e-4 tolerance (the script prints by how much: d_vs_base = the
base model alone, d_vs_scale = LoRA applied with the other scale formula (alpha/r vs alpha/sqrt(r)),
d_vs_base_head = the adapter's LoRA with the base model's classifier).  For the BF16/F16 variants the
random values are rounded to that dtype first, so the goldens are the exact fp32 function of the stored
values.

Checks made on every run: the adapter is loaded back from disk into a fresh base with
PeftModel.from_pretrained() and gives the same outputs (max abs <= 1e-6); merge_and_unload() agrees within
1e-5; the written goldens are read back bit for bit; the key names, shapes and dtypes of the written
safetensors are printed.

Versions used: Python 3.11.7, torch 2.15.0 (CPU), transformers 5.24.0, peft 0.21.2, safetensors 0.8.0.

How to run (from anywhere; a few seconds):
  python3 -m pip install peft==0.21.2
  python3 tests/reference/make_lora_fixture.py [--verify]
--verify recomputes the goldens from the committed adapter files and compares, writing nothing.
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import BertForTokenClassification, BertModel, DistilBertForTokenClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_common import DATA, ROOT, encode, load_model_tokenizer  # noqa: E402
from make_encoder_goldens import pack, tiny_texts  # noqa: E402

ADAPTERS = os.path.join(DATA, "adapters")
TEXT_NAMES = ["patient-denies", "pubmed0-first-sentence", "adv-greek_letters_biomed", "adv-empty",
              "adv-mixed_clinical_sentence"]
HEAD_LABELS = ["O", "B-Drug", "I-Drug", "B-Dose", "I-Dose"]

VARIANTS = {
    "tiny-bert-tc-lora": dict(
        base="tiny-bert-tc", cls=BertForTokenClassification, seed=11, r=4, alpha=8, rslora=False,
        targets=["query", "key", "value", "dense"], task=TaskType.TOKEN_CLS, save=["classifier"],
        dtype=torch.float32),
    "tiny-bert-tc-lora-rslora": dict(
        base="tiny-bert-tc", cls=BertForTokenClassification, seed=12, r=4, alpha=8, rslora=True,
        targets=["query", "key", "value", "dense"], task=TaskType.TOKEN_CLS, save=["classifier"],
        dtype=torch.bfloat16),
    "tiny-bert-model-lora-head": dict(
        base="tiny-bert-model", cls=BertForTokenClassification, seed=13, r=4, alpha=8, rslora=False,
        targets=["query", "key", "value", "dense"], task=TaskType.TOKEN_CLS, save=["classifier"],
        dtype=torch.float32, labels=HEAD_LABELS),
    "tiny-bert-model-lora": dict(
        base="tiny-bert-model", cls=BertModel, seed=14, r=4, alpha=8, rslora=False,
        targets=["query", "key", "value", "dense"], task=None, save=None, dtype=torch.float32),
    "tiny-distilbert-tc-lora": dict(
        base="tiny-distilbert-tc", cls=DistilBertForTokenClassification, seed=15, r=8, alpha=4,
        rslora=False, targets=["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"],
        task=TaskType.TOKEN_CLS, save=["classifier"], dtype=torch.float16, layers=[1]),
}

RELOAD_TOL = 1e-6
MERGE_TOL = 1e-4  # PEFT merges in fp32; with scale 4 that alone moves outputs by ~2.5e-5
VERIFY_TOL = 1e-6


def base_rel(v):
    return os.path.join("tests", "data", "models", v["base"])


def load_base(v):
    """The model PEFT wraps, from the base directory (relative path: it is recorded in adapter_config.json
    as base_model_name_or_path)."""
    kw = dict(dtype=torch.float32, attn_implementation="eager")
    if "labels" in v:  # a new token-classification head on a base without one
        kw.update(num_labels=len(v["labels"]), id2label=dict(enumerate(v["labels"])),
                  label2id={l: i for i, l in enumerate(v["labels"])})
    return v["cls"].from_pretrained(base_rel(v), **kw)


def forward(model, v, ids):
    kw = dict(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    if not v["base"].startswith("tiny-distilbert"):
        kw["token_type_ids"] = torch.zeros(1, len(ids), dtype=torch.long)
    with torch.no_grad():
        if v["cls"] is BertModel:
            return model(**kw).last_hidden_state[0].numpy().copy(), None
        out = model(**kw, output_hidden_states=True)
        return out.hidden_states[-1][0].numpy().copy(), out.logits[0].numpy().copy()


def run_all(model, v, recs):
    model.eval()
    return [forward(model, v, r["ids"]) for r in recs]


def max_diff(a, b):
    d = 0.0
    for (h1, l1), (h2, l2) in zip(a, b):
        d = max(d, float(np.abs(h1 - h2).max()))
        if l1 is not None and l2 is not None and l1.shape == l2.shape:
            d = max(d, float(np.abs(l1 - l2).max()))
    return d


def build(name, v):
    torch.manual_seed(v["seed"])
    model = load_base(v)
    cfg = LoraConfig(task_type=v["task"], r=v["r"], lora_alpha=v["alpha"], use_rslora=v["rslora"],
                     target_modules=v["targets"], modules_to_save=v["save"], lora_dropout=0.0,
                     layers_to_transform=v.get("layers"))
    pm = get_peft_model(model, cfg)
    g = torch.Generator().manual_seed(v["seed"])
    with torch.no_grad():
        for n, p in sorted(pm.named_parameters()):
            if ".lora_A." in n or ".lora_B." in n:
                p.copy_((torch.randn(p.shape, generator=g) * 0.3).to(v["dtype"]).float())
            elif ".modules_to_save." in n:
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
                p.copy_(p.to(v["dtype"]).float())  # stored in that dtype: round now
    return pm.eval()


def write_adapter(name, v, pm):
    d = os.path.join(ADAPTERS, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    pm.save_pretrained(d, safe_serialization=True)
    readme = os.path.join(d, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    st = os.path.join(d, "adapter_model.safetensors")
    if v["dtype"] != torch.float32:
        tensors = load_file(st)
        with safe_open(st, "pt") as f:
            meta = f.metadata()
        # exact: every value was rounded to v["dtype"] before the goldens were computed
        conv = {k: t.to(v["dtype"]) for k, t in tensors.items()}
        assert all(torch.equal(conv[k].float(), tensors[k]) for k in tensors)
        save_file(conv, st, metadata=meta)
    if "labels" in v:
        pm.base_model.model.config.save_pretrained(d)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    with safe_open(st, "pt") as f:
        for k in sorted(f.keys()):
            sl = f.get_slice(k)
            print(f"  {k} {sl.get_dtype()} {sl.get_shape()}", file=sys.stderr)
    return d


def reload(v, d):
    base = load_base(v)
    return PeftModel.from_pretrained(base, d).eval()


def discrimination(name, v, pm, recs, outs):
    """How far the goldens are from what a wrong loader would compute."""
    res = {}
    base = load_base(v)
    base_outs = run_all(base, v, recs)
    # the base alone: hidden states (the LoRA part), and logits where the base has the head
    res["d_vs_base_hidden"] = max_diff([(h, None) for h, _ in outs], [(h, None) for h, _ in base_outs])
    if "labels" not in v:
        res["d_vs_base"] = max_diff(outs, base_outs)
    # the other scale formula: rescale every lora_B by s_wrong / s_right
    r, a = v["r"], v["alpha"]
    right = a / math.sqrt(r) if v["rslora"] else a / r
    wrong = a / r if v["rslora"] else a / math.sqrt(r)
    if wrong != right:
        alt = reload(v, os.path.join(ADAPTERS, name))
        with torch.no_grad():
            for n, p in alt.named_parameters():
                if ".lora_B." in n:
                    p.mul_(wrong / right)
        res["d_vs_scale"] = max_diff(outs, run_all(alt, v, recs))
    if v["save"] and "labels" not in v:
        alt = reload(v, os.path.join(ADAPTERS, name))
        with torch.no_grad():
            mts = alt.base_model.model.classifier
            for n, p in mts.modules_to_save["default"].named_parameters():
                p.copy_(dict(mts.original_module.named_parameters())[n])
        res["d_vs_base_head"] = max_diff(outs, run_all(alt, v, recs))
    return res


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # PEFT keeps target_modules in a set: fix string hashing so that the order written to
        # adapter_config.json (and so the file) is the same on every run
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verify", action="store_true", help="compare with the committed files, write nothing")
    ap.add_argument("--only", default="", help="comma-separated fixture names")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.chdir(ROOT)  # base_model_name_or_path is recorded relative to the repository root
    print(f"torch {torch.__version__} transformers {transformers.__version__} peft {peft.__version__}",
          file=sys.stderr)
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    os.makedirs(ADAPTERS, exist_ok=True)
    bad = 0
    for name in names:
        v = VARIANTS[name]
        tok = load_model_tokenizer(base_rel(v))
        texts = dict(tiny_texts(tok))
        recs = []
        for tn in TEXT_NAMES:
            ids, type_ids, _ = encode(tok, texts[tn])
            recs.append({"name": tn, "text": texts[tn], "ids": ids, "type_ids": type_ids, "length": len(ids)})
        if args.verify:
            pm = reload(v, os.path.join(ADAPTERS, name))
            outs = run_all(pm, v, recs)
            blob = np.fromfile(os.path.join(ADAPTERS, name + ".f32"), dtype="<f4")
            lines = [json.loads(l) for l in open(os.path.join(ADAPTERS, name + ".jsonl"), encoding="ascii")]
            d = 0.0
            for rec, (h, lg) in zip(lines, outs):
                L, H, C = rec["length"], rec["hidden_size"], rec["num_labels"]
                gh = blob[rec["hidden_offset"] // 4:rec["hidden_offset"] // 4 + L * H].reshape(L, H)
                d = max(d, float(np.abs(gh - h).max()))
                if C:
                    gl = blob[rec["logits_offset"] // 4:rec["logits_offset"] // 4 + L * C].reshape(L, C)
                    d = max(d, float(np.abs(gl - lg).max()))
            ok = d <= VERIFY_TOL
            bad += not ok
            print(f"{name}: max |recomputed - committed| = {d:.3g} {'ok' if ok else 'FAIL'}", file=sys.stderr)
            continue
        print(f"{name}:", file=sys.stderr)
        pm = build(name, v)
        outs = run_all(pm, v, recs)
        d = write_adapter(name, v, pm)
        # the files on disk are the adapter
        back = run_all(reload(v, d), v, recs)
        d_reload = max_diff(outs, back)
        assert d_reload <= RELOAD_TOL, (name, d_reload)
        merged = reload(v, d).merge_and_unload()
        d_merge = max_diff(outs, run_all(merged, v, recs))
        assert d_merge <= MERGE_TOL, (name, d_merge)
        stats = {"d_reload": d_reload, "d_merged": d_merge}
        stats.update(discrimination(name, v, pm, recs, outs))
        hs = [h for h, _ in outs]
        ls = [lg for _, lg in outs]
        H = hs[0].shape[1]
        C = 0 if ls[0] is None else ls[0].shape[1]
        text, blob = pack(recs, hs, ls, H, C)
        with open(os.path.join(ADAPTERS, name + ".jsonl"), "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        with open(os.path.join(ADAPTERS, name + ".f32"), "wb") as f:
            f.write(blob)
        back_blob = np.fromfile(os.path.join(ADAPTERS, name + ".f32"), dtype="<f4")
        assert back_blob.tobytes() == blob
        print(f"{name}: {len(recs)} texts, lengths {[r['length'] for r in recs]}, H={H} C={C}; "
              + ", ".join(f"{k} {val:.3g}" for k, val in stats.items()), file=sys.stderr)
    if bad:
        sys.exit(f"{bad} fixture(s) differ from the committed goldens")


if __name__ == "__main__":
    main()
