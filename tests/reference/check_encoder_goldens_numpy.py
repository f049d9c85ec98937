#!/usr/bin/env python3
"""Independent check of tests/data/encoder/*: recompute every golden from the model files with numpy only.

No torch, no transformers: the safetensors files are parsed by hand (8-byte little-endian header length,
JSON header, raw data; F32/F16/BF16/I64; sharded checkpoints via model.safetensors.index.json), tensor names
are matched with or without the "bert." / "distilbert." prefix, extra tensors (classifier heads,
"embeddings.position_ids", pooler) are ignored when not needed, and the forward pass is written out in
float64 from the textbook definitions:
  BERT:       x = LN(word[ids] + pos[0..L-1] + type[type_ids])
              per layer: a = softmax((x Wq^T + bq)(x Wk^T + bk)^T / sqrt(d_head)) (x Wv^T + bv)  per head
                         x = LN(x + a Wo^T + bo);  x = LN(x + act(x W1^T + b1) W2^T + b2)
  DistilBERT: the same without token types (sa_layer_norm, output_layer_norm; eps 1e-12)
  act: gelu = x/2 (1 + erf(x/sqrt 2)), gelu_new = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), relu
  logits = x Wc^T + bc.
This is what medner's C implementation must do; the goldens must agree within TOL (1e-4, the project's
tolerance; observed differences are ~1e-6, float32 rounding of the transformers run).

How to run (from anywhere; tiny fixtures: seconds; big models: about a minute, only those present):
  python3 tests/reference/check_encoder_goldens_numpy.py [NAME ...]
"""

import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_common import BIG_MODELS, CACHE_MODELS, ENCODER, MODELS, TINY_FIXTURES  # noqa: E402

TOL = 1e-4


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = raw[base + b: base + e]
        shape = info["shape"]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(buf, "<f4")
        elif dt == "F16":
            a = np.frombuffer(buf, "<f2").astype(np.float32)  # exact
        elif dt == "BF16":
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)  # exact
        elif dt == "I64":
            a = np.frombuffer(buf, "<i8")
        else:
            raise ValueError(f"{path}: {name}: dtype {dt}")
        out[name] = a.reshape(shape)
    return out


def read_checkpoint(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for f in files:
        part = read_safetensors(os.path.join(d, f))
        assert not set(part) & set(out)
        out.update(part)
    return out


def getter(tensors, prefix):
    def g(name):
        for k in (prefix + name, name):
            if k in tensors:
                return tensors[k].astype(np.float64)
        raise KeyError(name)
    return g


ERF = np.vectorize(math.erf)


def act_fn(name):
    if name == "gelu":
        return lambda x: 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "relu":
        return lambda x: np.maximum(x, 0.0)
    raise ValueError(name)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def attention(x, g, names, heads):
    q, k, v, o = names
    L, H = x.shape
    dh = H // heads

    def proj(n):
        return (x @ g(n + ".weight").T + g(n + ".bias")).reshape(L, heads, dh).transpose(1, 0, 2)
    Q, K, V = proj(q), proj(k), proj(v)
    s = Q @ K.transpose(0, 2, 1) / math.sqrt(dh)
    s = np.exp(s - s.max(-1, keepdims=True))
    p = s / s.sum(-1, keepdims=True)
    ctx = (p @ V).transpose(1, 0, 2).reshape(L, H)
    return ctx @ g(o + ".weight").T + g(o + ".bias")


def forward(d, ids, type_ids):
    cfg = json.load(open(os.path.join(d, "config.json")))
    t = read_checkpoint(d)
    ids = np.asarray(ids)
    L = len(ids)
    head = "classifier.weight" in t
    if cfg["model_type"] == "bert":
        g = getter(t, "bert.")
        eps = cfg["layer_norm_eps"]
        act = act_fn(cfg["hidden_act"])
        x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:L] \
            + g("embeddings.token_type_embeddings.weight")[np.asarray(type_ids)]
        x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            a = attention(x, g, [p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
                                 p + "attention.output.dense"], cfg["num_attention_heads"])
            x = layer_norm(x + a, g(p + "attention.output.LayerNorm.weight"),
                           g(p + "attention.output.LayerNorm.bias"), eps)
            f = act(x @ g(p + "intermediate.dense.weight").T + g(p + "intermediate.dense.bias"))
            f = f @ g(p + "output.dense.weight").T + g(p + "output.dense.bias")
            x = layer_norm(x + f, g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"), eps)
    elif cfg["model_type"] == "distilbert":
        assert not cfg.get("sinusoidal_pos_embds")
        g = getter(t, "distilbert.")
        eps = 1e-12
        act = act_fn(cfg["activation"])
        x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:L]
        x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
        for i in range(cfg["n_layers"]):
            p = f"transformer.layer.{i}."
            a = attention(x, g, [p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin",
                                 p + "attention.out_lin"], cfg["n_heads"])
            x = layer_norm(x + a, g(p + "sa_layer_norm.weight"), g(p + "sa_layer_norm.bias"), eps)
            f = act(x @ g(p + "ffn.lin1.weight").T + g(p + "ffn.lin1.bias"))
            f = f @ g(p + "ffn.lin2.weight").T + g(p + "ffn.lin2.bias")
            x = layer_norm(x + f, g(p + "output_layer_norm.weight"), g(p + "output_layer_norm.bias"), eps)
    else:
        raise ValueError(cfg["model_type"])
    logits = x @ t["classifier.weight"].astype(np.float64).T + t["classifier.bias"] if head else None
    return x, logits


def main():
    names = sys.argv[1:] or TINY_FIXTURES + [n for n in BIG_MODELS if os.path.isdir(os.path.join(CACHE_MODELS, n))]
    worst = 0.0
    for name in names:
        d = os.path.join(CACHE_MODELS if name in BIG_MODELS else MODELS, name)
        recs = [json.loads(l) for l in open(os.path.join(ENCODER, name + ".jsonl"), encoding="ascii")]
        blob = np.fromfile(os.path.join(ENCODER, name + ".f32"), dtype="<f4")
        m = 0.0
        for r in recs:
            L, H, C = r["length"], r["hidden_size"], r["num_labels"]
            h, lg = forward(d, r["ids"], r["type_ids"])
            gh = blob[r["hidden_offset"] // 4:][:L * H].reshape(L, H)
            m = max(m, float(np.abs(h - gh).max()))
            assert (lg is None) == (C == 0), name
            if C:
                gl = blob[r["logits_offset"] // 4:][:L * C].reshape(L, C)
                m = max(m, float(np.abs(lg - gl).max()))
        worst = max(worst, m)
        print(f"{name}: max |numpy float64 - golden| = {m:.3g} {'ok' if m <= TOL else 'FAIL'}", file=sys.stderr)
    if worst > TOL:
        sys.exit(f"worst difference {worst:.3g} > {TOL}")


if __name__ == "__main__":
    main()
