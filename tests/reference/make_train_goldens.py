#!/usr/bin/env python3
"""Training goldens from PyTorch autograd for medner's backward pass and AdamW (tests/unit/test_train.c).

What it produces, under tests/data/train/ (relative to the repository root), for NAME in
bert, distilbert, minilm (tiny shapes, deterministic random weights):
  NAME/config.json, NAME/model.safetensors   the model, written by transformers' save_pretrained
      (BertForTokenClassification / DistilBertForTokenClassification, float32, 5 labels)
  NAME/grads.safetensors   one batch and what autograd gives on it:
      input_ids, token_type_ids, attention_mask, labels   I32 [B, Lpad]: 3 right-padded sequences;
          labels -100 on [CLS], [SEP], some sub-tokens and all padding
      loss           F64 [1]: CrossEntropyLoss(ignore_index=-100), mean over the labelled tokens
      grad.<tensor>  F32: d loss / d <tensor> for EVERY parameter, <tensor> the safetensors name
  bert/grads_gelu_new.safetensors   the same as grads.safetensors for the bert model's weights run with
      hidden_act "gelu_new" (the tanh approximation; config.json says gelu, the test switches the activation)
  NAME/adamw.safetensors  (bert only) STEPS optimizer steps on that same batch with torch.optim.AdamW
      (decoupled weight decay on 2-D tensors only, as HF Trainer's groups), get_linear_schedule_with_warmup
      and clip_grad_norm_, each step = forward, backward, clip, step, scheduler.step(), zero_grad:
      hparams        F64 [9]: lr, beta1, beta2, eps, weight_decay, max_grad_norm, warmup, total, steps
      losses         F64 [STEPS]: the loss before each step
      norms          F64 [STEPS]: the gradient norm clip_grad_norm_ returned at each step
      param.<tensor> F32: every parameter after the last step
      fixed.hparams, fixed.norms, fixed.param.<tensor>: the optimizer alone: the same STEPS steps from
          the same weights but with the gradient held at grad.<tensor> of grads.safetensors every step (no
          forward/backward), max_grad_norm FIXED_MAX_NORM (no clipping; the run above clips every step):
          AdamW's arithmetic, bias correction, weight-decay groups and schedule without the fp32
          gradient noise that Adam's division by sqrt(v) amplifies on near-zero gradients

How each model is run: fp32, model.eval() (dropout off; BERT has no other train/eval difference),
attn_implementation="eager", inputs input_ids, attention_mask, token_type_ids (BERT only), labels.
The same gradients are also computed in float64 (a double copy of the model) and the script prints how
far fp32 autograd is from them: that is the noise floor any fp32 implementation sits in.

Versions used: Python 3.11.7, torch 2.15.0, transformers 5.24.0, safetensors 0.8.0, numpy 2.4.6
(tests/reference/requirements-train.txt).

How to run (from anywhere; a few seconds):
  python3 tests/reference/make_train_goldens.py            # writes tests/data/train/
  python3 tests/reference/make_train_goldens.py --verify   # recomputes, compares, writes nothing
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file, save_file
from transformers import (BertConfig, BertForTokenClassification, DistilBertConfig,
                          DistilBertForTokenClassification, get_linear_schedule_with_warmup)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "data", "train")

LABELS = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]
VOCAB, POSITIONS = 48, 24

# name: (class, config kwargs, seed)
MODELS = {
    "bert": ("bert", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                          hidden_act="gelu", type_vocab_size=2), 1801),
    # MiniLM's shape (all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads of 32, intermediate 1536):
    # more, narrower heads and more layers than the BERT fixture, scaled down
    "minilm": ("bert", dict(hidden_size=24, num_hidden_layers=3, num_attention_heads=6, intermediate_size=96,
                            hidden_act="gelu", type_vocab_size=2), 1802),
    "distilbert": ("distilbert", dict(dim=32, n_layers=2, n_heads=4, hidden_dim=64, activation="gelu",
                                      sinusoidal_pos_embds=False), 1803),
}

# AdamW scenario (bert): HF TrainingArguments-like values, lr large enough that every step moves
# the weights visibly; warm-up of 1 step (the first step runs at lr 0, as in HF), then linear decay.
ADAMW = dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, max_grad_norm=1.0,
             warmup=1, total=5, steps=4)

FIXED_MAX_NORM = 20.0

LENGTHS = [9, 14, 6]


def make_config(kind, kw):
    common = dict(vocab_size=VOCAB, max_position_embeddings=POSITIONS, pad_token_id=0,
                  id2label={i: l for i, l in enumerate(LABELS)}, label2id={l: i for i, l in enumerate(LABELS)},
                  architectures=["BertForTokenClassification" if kind == "bert"
                                 else "DistilBertForTokenClassification"])
    if kind == "bert":
        return BertConfig(layer_norm_eps=1e-12, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                          **common, **kw)
    return DistilBertConfig(dropout=0.1, attention_dropout=0.1, **common, **kw)


def make_model(name, act=None):
    kind, kw, seed = MODELS[name]
    if act is not None:
        kw = dict(kw, hidden_act=act)
    cfg = make_config(kind, kw)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    cls = BertForTokenClassification if kind == "bert" else DistilBertForTokenClassification
    model = cls(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # weights with some spread (HF's init, std 0.02 and LayerNorm 1/0, would make attention uniform
        # and the LayerNorm/bias gradients degenerate)
        for pname, p in model.named_parameters():
            if p.ndim == 1 and ("LayerNorm" in pname or "layer_norm" in pname) and pname.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in pname:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p.shape[1] ** 0.5))
    return model, kind


def make_batch(kind, seed):
    rng = np.random.default_rng(seed)
    B, Lp = len(LENGTHS), max(LENGTHS)
    ids = np.zeros((B, Lp), np.int32)
    types = np.zeros((B, Lp), np.int32)
    mask = np.zeros((B, Lp), np.int32)
    labels = np.full((B, Lp), -100, np.int32)
    for b, L in enumerate(LENGTHS):
        ids[b, :L] = rng.integers(5, VOCAB, L)
        ids[b, 0], ids[b, L - 1] = 2, 3  # [CLS] ... [SEP]
        mask[b, :L] = 1
        if kind == "bert" and b == 1:
            types[b, L // 2:L] = 1  # a sentence pair: token type 1 on the second half
        lab = rng.integers(0, len(LABELS), L)
        sub = rng.random(L) < 0.25  # "sub-tokens": -100 as label_all_tokens=False does
        lab[sub] = -100
        lab[0] = lab[L - 1] = -100
        labels[b, :L] = lab
    # the padding id 0 is also used as a real token in one sequence (its embedding row then gets a
    # gradient only from the real token, none from the padding)
    ids[0, 3] = 0
    return dict(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels)


def run(model, kind, batch, dtype=torch.float32):
    kw = dict(input_ids=torch.from_numpy(batch["input_ids"]).long(),
              attention_mask=torch.from_numpy(batch["attention_mask"]).long(),
              labels=torch.from_numpy(batch["labels"]).long())
    if kind == "bert":
        kw["token_type_ids"] = torch.from_numpy(batch["token_type_ids"]).long()
    out = model(**kw)
    return out.loss


def grads_of(name, act=None):
    model, kind = make_model(name)
    if act is not None:
        model, kind = make_model(name, act)
    batch = make_batch(kind, MODELS[name][2])
    model.eval()
    model.zero_grad()
    loss = run(model, kind, batch)
    loss.backward()
    grads = {n: p.grad.detach().numpy().astype(np.float32).copy() for n, p in model.named_parameters()}
    sd = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    # the float64 cross-check (noise floor of fp32)
    m64, _ = make_model(name, act)
    m64 = m64.double().eval()
    m64.zero_grad()
    loss64 = run(m64, kind, batch)
    loss64.backward()
    worst = 0.0
    for n, p in m64.named_parameters():
        g64 = p.grad.detach().numpy()
        err = np.abs(grads[n].astype(np.float64) - g64) / (1e-6 / 1e-4 + np.abs(g64))
        worst = max(worst, float(err.max()))
    print(f"{name}: loss fp32 {loss.item():.9g}, fp64 {loss64.item():.12g}; fp32 autograd vs fp64: "
          f"max |d| / (1e-2 + |g64|) = {worst:.3g}")
    return model, kind, batch, float(loss.item()), grads, sd


def adamw_run(name, fixed_grads=None):
    model, kind = make_model(name)
    batch = make_batch(kind, MODELS[name][2])
    model.eval()
    a = dict(ADAMW)
    if fixed_grads is not None:
        a["max_grad_norm"] = FIXED_MAX_NORM
    decay = [p for n, p in model.named_parameters() if p.ndim == 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim != 2]
    # HF Trainer's groups: biases and LayerNorm weights without decay; here every 1-D tensor is one of
    # those and every 2-D one is not (checked)
    for n, p in model.named_parameters():
        assert (p.ndim == 1) == (n.endswith(".bias") or "LayerNorm" in n or "layer_norm" in n), n
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"], foreach=False)
    sched = get_linear_schedule_with_warmup(opt, a["warmup"], a["total"])
    losses, norms = [], []
    for _ in range(a["steps"]):
        opt.zero_grad()
        if fixed_grads is None:
            loss = run(model, kind, batch)
            loss.backward()
        else:
            with torch.no_grad():
                loss = run(model, kind, batch)
            for n, p in model.named_parameters():
                p.grad = torch.from_numpy(fixed_grads[n].copy())
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), a["max_grad_norm"])))
        losses.append(float(loss.item()))
        opt.step()
        sched.step()
    print(f"{name} AdamW{' (fixed gradients)' if fixed_grads is not None else ''}: losses {losses}, "
          f"norms {norms}")
    params = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    hp = np.array([a["lr"], a["beta1"], a["beta2"], a["eps"], a["weight_decay"], a["max_grad_norm"],
                   a["warmup"], a["total"], a["steps"]], np.float64)
    return hp, np.array(losses, np.float64), np.array(norms, np.float64), params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verify", action="store_true", help="recompute and compare, write nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    bad = 0
    for name in MODELS:
        model, kind, batch, loss, grads, sd = grads_of(name)
        tensors = {k: v for k, v in batch.items()}
        tensors["loss"] = np.array([loss], np.float64)
        for n, g in grads.items():
            tensors["grad." + n] = g
        files = {"grads.safetensors": tensors}
        if name == "bert":
            _, _, _, loss_t, grads_t, sd_t = grads_of(name, "gelu_new")
            assert all(np.array_equal(sd_t[k], sd[k]) for k in sd)  # the same weights
            t3 = dict(batch)
            t3["loss"] = np.array([loss_t], np.float64)
            for n, g in grads_t.items():
                t3["grad." + n] = g
            files["grads_gelu_new.safetensors"] = t3
            hp, losses, norms, params = adamw_run(name)
            t2 = {"hparams": hp, "losses": losses, "norms": norms}
            for n, p in params.items():
                t2["param." + n] = p
            hp, _, norms, params = adamw_run(name, fixed_grads=grads)
            t2["fixed.hparams"], t2["fixed.norms"] = hp, norms
            for n, p in params.items():
                t2["fixed.param." + n] = p
            files["adamw.safetensors"] = t2
        d = os.path.join(OUT, name)
        if args.verify:
            for fn, t in files.items():
                old = load_file(os.path.join(d, fn))
                assert set(old) == set(t), (name, fn, set(old) ^ set(t))
                for k in t:
                    diff = float(np.max(np.abs(old[k].astype(np.float64) - t[k].astype(np.float64)))) \
                        if t[k].size else 0.0
                    if diff > 1e-6:
                        print(f"MISMATCH {name}/{fn} {k}: {diff}")
                        bad += 1
            continue
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)
        for fn, t in files.items():
            save_file(t, os.path.join(tmp, fn), metadata={"format": "pt"})
        for fn in os.listdir(tmp):
            os.chmod(os.path.join(tmp, fn), 0o644)
        # the saved weights are the ones the gradients were taken at
        saved = load_file(os.path.join(tmp, "model.safetensors"))
        assert set(saved) == set(sd), (name, set(saved) ^ set(sd))
        for k in sd:
            assert np.array_equal(saved[k], sd[k]), (name, k)
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
        print(f"wrote {os.path.relpath(d, ROOT)}: {sorted(os.listdir(d))}")
    if args.verify:
        print("verify:", "OK" if bad == 0 else f"{bad} mismatches")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
