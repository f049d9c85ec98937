#!/usr/bin/env python3
"""Full-size random encoders for medner's big-tier encoder tests (weights NOT committed).

What it produces (relative to the repository root; .cache/ is git-ignored):
  .cache/models/bert-base-random/   BertForTokenClassification: 12 layers, hidden 768, 12 heads,
      intermediate 3072, gelu, vocab 30522 (tests/data/vocab/bert-base-uncased.vocab.txt), type_vocab 2,
      max_position_embeddings 512, layer_norm_eps 1e-12, 9 NER labels (O, B-/I- Disease Chemical Gene Species)
  .cache/models/distilbert-random/  DistilBertForTokenClassification: 6 layers, dim 768, 12 heads,
      hidden_dim 3072, gelu, same vocabulary and labels
  each with config.json, model.safetensors (float32), vocab.txt, tokenizer_config.json (do_lower_case true)
  tests/data/encoder/big-models.sha256  (sha256sum format) the sha256 of each model.safetensors; when the
      file exists the script VERIFIES against it instead (use --update-sha to rewrite it).

The writing path needs only numpy and safetensors (safetensors.numpy.save_file, metadata {"format": "pt"}),
no torch, and is bit-reproducible across numpy versions: one numpy.random.PCG64(SEED) bit stream per model
(numpy's BitGenerator streams are covered by its stability policy; only random_raw() is used), tensors
filled in the order listed by bert_spec()/distilbert_spec() (= transformers' state_dict order), each in
C order, from consecutive 64-bit outputs r:
    k = r >> (64 - B)  (B-bit integer), value = (k - 2^(B-1)) * (a / 2^(B-1))     -> uniform on [-a, a)
with a a power of two, so every value is an exact float32 (no rounding anywhere):
    embeddings (word, position, token type)  B=24, a = 2^-3
    Linear weights [out, in]                  B=24, a = g * sqrt(3 / in)  (g = 1: LeCun-uniform, unit variance)
        attention query, key (q_lin, k_lin)         g = 2    a = 2^-3
        attention value, output (v_lin, out_lin)    g = 1/2  a = 2^-5
        FFN in (intermediate.dense, ffn.lin1)       g = 1    a = 2^-4
        FFN out (output.dense, ffn.lin2; in 3072)   g = 1/2  a = 2^-6
        classifier                                  g = 1    a = 2^-4
    Linear biases                             B=24, a = 2^-6
    LayerNorm weight                          B=22, 1 + value with a = 2^-2  (so in [0.75, 1.25), exact)
    LayerNorm bias                            B=24, a = 2^-6
(the gains keep a 12-layer random encoder from collapsing all tokens onto one vector, see WEIGHT_GAIN)
config.json is written from a fixed dict (the keys transformers 5.24 writes); tensor names are exactly
those of save_pretrained.  --check (default when torch and transformers import) verifies that by saving a
model of the same config with transformers (save_pretrained) and comparing names, shapes and dtypes, and
loads the written directory with from_pretrained (no missing/unexpected keys, values equal).

How to run (from anywhere; ~1 minute, ~700 MB under .cache/models):
  python3 tests/reference/make_random_models.py            # [--force] [--update-sha] [--no-check]
then  python3 tests/reference/make_encoder_goldens.py --big
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_common import (CACHE_MODELS, ENCODER, ID2LABEL, LABEL2ID, UNCASED_VOCAB,  # noqa: E402
                            UNCASED_VOCAB_SHA256, sha256_file, tokenizer_config_json)

SHA_FILE = os.path.join(ENCODER, "big-models.sha256")
SEEDS = {"bert-base-random": 20250101, "distilbert-random": 20250102}

V, P, T, H, I, C = 30522, 512, 2, 768, 3072, len(ID2LABEL)

# Value ranges (see the docstring).  A plain LeCun-uniform init everywhere makes a 12-layer post-LN
# encoder collapse: every token's final hidden state ends up nearly the same (mean cosine 0.999 between
# tokens), which would hide token-specific bugs.  Sharper attention (query/key x2), a weaker attention
# value path and FFN output (x1/2) and small biases keep tokens apart (mean cosine ~0.5, like
# all-MiniLM-L6-v2's ~0.3-0.45), with attention scores of standard deviation ~4.
WEIGHT_GAIN = {"wqk": 2.0, "wvo": 0.5, "w1": 1.0, "w2": 0.5, "wc": 1.0}  # x sqrt(3 / in_features)
SCALE = {"emb": 2.0 ** -3, "b": 2.0 ** -6, "ln_b": 2.0 ** -6}
LN_WEIGHT_A = 2.0 ** -2

BERT_CONFIG = {
    "architectures": ["BertForTokenClassification"],
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout": None,
    "dtype": "float32",
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": H,
    "id2label": ID2LABEL,
    "initializer_range": 0.02,
    "intermediate_size": I,
    "label2id": LABEL2ID,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": P,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "transformers_version": "5.24.0",
    "type_vocab_size": T,
    "vocab_size": V,
}

DISTILBERT_CONFIG = {
    "activation": "gelu",
    "architectures": ["DistilBertForTokenClassification"],
    "attention_dropout": 0.1,
    "dim": H,
    "dropout": 0.1,
    "dtype": "float32",
    "hidden_dim": I,
    "id2label": ID2LABEL,
    "initializer_range": 0.02,
    "label2id": LABEL2ID,
    "max_position_embeddings": P,
    "model_type": "distilbert",
    "n_heads": 12,
    "n_layers": 6,
    "pad_token_id": 0,
    "qa_dropout": 0.1,
    "seq_classif_dropout": 0.2,
    "sinusoidal_pos_embds": False,
    "transformers_version": "5.24.0",
    "vocab_size": V,
}


# ---------------------------------------------------------------------------------------------
# tensor lists: (name, shape, kind); kind in emb, w, b, ln_w, ln_b

def _lin(prefix, out_f, in_f, kind):
    return [(prefix + ".weight", (out_f, in_f), kind), (prefix + ".bias", (out_f,), "b")]


def _ln(prefix, n):
    return [(prefix + ".weight", (n,), "ln_w"), (prefix + ".bias", (n,), "ln_b")]


def bert_spec():
    s = [("bert.embeddings.word_embeddings.weight", (V, H), "emb"),
         ("bert.embeddings.position_embeddings.weight", (P, H), "emb"),
         ("bert.embeddings.token_type_embeddings.weight", (T, H), "emb")]
    s += _ln("bert.embeddings.LayerNorm", H)
    for i in range(BERT_CONFIG["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        s += _lin(p + "attention.self.query", H, H, "wqk") + _lin(p + "attention.self.key", H, H, "wqk")
        s += _lin(p + "attention.self.value", H, H, "wvo") + _lin(p + "attention.output.dense", H, H, "wvo")
        s += _ln(p + "attention.output.LayerNorm", H)
        s += _lin(p + "intermediate.dense", I, H, "w1") + _lin(p + "output.dense", H, I, "w2")
        s += _ln(p + "output.LayerNorm", H)
    s += _lin("classifier", C, H, "wc")
    return s


def distilbert_spec():
    s = [("distilbert.embeddings.word_embeddings.weight", (V, H), "emb"),
         ("distilbert.embeddings.position_embeddings.weight", (P, H), "emb")]
    s += _ln("distilbert.embeddings.LayerNorm", H)
    for i in range(DISTILBERT_CONFIG["n_layers"]):
        p = f"distilbert.transformer.layer.{i}."
        s += _lin(p + "attention.q_lin", H, H, "wqk") + _lin(p + "attention.k_lin", H, H, "wqk")
        s += _lin(p + "attention.v_lin", H, H, "wvo") + _lin(p + "attention.out_lin", H, H, "wvo")
        s += _ln(p + "sa_layer_norm", H)
        s += _lin(p + "ffn.lin1", I, H, "w1") + _lin(p + "ffn.lin2", H, I, "w2")
        s += _ln(p + "output_layer_norm", H)
    s += _lin("classifier", C, H, "wc")
    return s


MODELS = {
    # name: (config, spec, tokenizer class)
    "bert-base-random": (BERT_CONFIG, bert_spec, "BertTokenizer"),
    "distilbert-random": (DISTILBERT_CONFIG, distilbert_spec, "DistilBertTokenizer"),
}


# ---------------------------------------------------------------------------------------------
# deterministic values

def uniform(bitgen, n, a, bits=24):
    """n values uniform on [-a, a) from n consecutive random_raw() outputs; exact for a = 2^e."""
    k = (bitgen.random_raw(n) >> np.uint64(64 - bits)).astype(np.int64) - (1 << (bits - 1))
    return k.astype(np.float64) * (a / (1 << (bits - 1)))


def pow2(x):
    e = int(round(np.log2(x)))
    assert 2.0 ** e == x, x
    return x


def make_tensors(name):
    cfg, spec, _ = MODELS[name]
    bitgen = np.random.PCG64(SEEDS[name])
    out = {}
    for tname, shape, kind in spec():
        n = int(np.prod(shape))
        if kind in WEIGHT_GAIN:
            v = uniform(bitgen, n, pow2(WEIGHT_GAIN[kind] * float(np.sqrt(3.0 / shape[1]))))
        elif kind == "ln_w":
            v = 1.0 + uniform(bitgen, n, LN_WEIGHT_A, bits=22)
        else:
            v = uniform(bitgen, n, SCALE[kind])
        f = v.astype(np.float32)
        assert np.array_equal(f.astype(np.float64), v), tname  # exact
        out[tname] = f.reshape(shape)
    return out


def write_model(name):
    cfg, _, tok_class = MODELS[name]
    d = os.path.join(CACHE_MODELS, name)
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    tensors = make_tensors(name)
    save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    shutil.copyfile(UNCASED_VOCAB, os.path.join(tmp, "vocab.txt"))
    with open(os.path.join(tmp, "tokenizer_config.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(tokenizer_config_json(True, tok_class), f, indent=2)
        f.write("\n")
    shutil.rmtree(d, ignore_errors=True)
    os.replace(tmp, d)
    return d


# ---------------------------------------------------------------------------------------------
# checks against transformers (torch only here)

def check_with_transformers(name, d):
    import torch
    import transformers
    from safetensors import safe_open
    cfg_dict, spec, _ = MODELS[name]
    cls = getattr(transformers, cfg_dict["architectures"][0])
    config = transformers.AutoConfig.from_pretrained(d)
    # 1) the names/shapes/dtypes save_pretrained writes for this config
    with torch.device("meta"):
        meta_model = cls(config)
    sd_shapes = {k: tuple(v.shape) for k, v in meta_model.state_dict().items()}
    assert list(sd_shapes) == [n for n, _, _ in spec()], (name, "state_dict order/names differ")
    assert sd_shapes == {n: s for n, s, _ in spec()}, name
    with tempfile.TemporaryDirectory() as td:
        torch.manual_seed(0)
        cls(config).save_pretrained(td)
        ref = {}
        for f in sorted(os.listdir(td)):
            if f.endswith(".safetensors"):
                with safe_open(os.path.join(td, f), "np") as sf:
                    for k in sf.keys():
                        sl = sf.get_slice(k)
                        ref[k] = (tuple(sl.get_shape()), sl.get_dtype())
        saved_cfg = json.load(open(os.path.join(td, "config.json")))
    with safe_open(os.path.join(d, "model.safetensors"), "np") as sf:
        got = {k: (tuple(sf.get_slice(k).get_shape()), sf.get_slice(k).get_dtype()) for k in sf.keys()}
        assert sf.metadata() == {"format": "pt"}, sf.metadata()
    assert got == ref, (name, set(got) ^ set(ref))
    # 2) config.json: every key we write has the value save_pretrained writes
    for k, v in cfg_dict.items():
        if k != "transformers_version":
            assert saved_cfg.get(k) == v, (name, k, saved_cfg.get(k), v)
    # 3) from_pretrained: no missing / unexpected keys, values equal
    model, info = cls.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), (name, info)
    sd = model.state_dict()
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as sf:
        for k in sf.keys():
            assert torch.equal(sd[k], sf.get_tensor(k)), (name, k)
    print(f"{name}: checked against transformers {transformers.__version__} / torch {torch.__version__} "
          f"({len(got)} tensors)", file=sys.stderr)


# ---------------------------------------------------------------------------------------------

def read_sha_file():
    out = {}
    if os.path.exists(SHA_FILE):
        for line in open(SHA_FILE, encoding="ascii"):
            if line.strip() and not line.startswith("#"):
                h, p = line.split()
                out[p] = h
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="regenerate even when the files verify")
    ap.add_argument("--update-sha", action="store_true", help=f"rewrite {os.path.relpath(SHA_FILE)}")
    ap.add_argument("--no-check", action="store_true", help="skip the check against transformers (torch)")
    ap.add_argument("--only", choices=sorted(MODELS), action="append", help="only this model (repeatable)")
    args = ap.parse_args()

    assert sha256_file(UNCASED_VOCAB) == UNCASED_VOCAB_SHA256, UNCASED_VOCAB
    expected = read_sha_file()
    have_file = bool(expected) and not args.update_sha
    got = {}
    for name in args.only or MODELS:
        key = f"{name}/model.safetensors"
        path = os.path.join(CACHE_MODELS, key)
        if (not args.force and have_file and os.path.exists(path) and key in expected
                and os.path.exists(os.path.join(CACHE_MODELS, name, "config.json"))
                and sha256_file(path) == expected[key]):
            print(f"{name}: present, sha256 ok", file=sys.stderr)
            got[key] = expected[key]
        else:
            d = write_model(name)
            got[key] = sha256_file(path)
            print(f"{name}: wrote {d} (model.safetensors {os.path.getsize(path)} bytes, sha256 {got[key]})",
                  file=sys.stderr)
        if have_file:
            if key not in expected:
                sys.exit(f"{key} missing from {SHA_FILE}; rerun with --update-sha")
            if got[key] != expected[key]:
                sys.exit(f"ERROR: {path} has sha256 {got[key]}, {SHA_FILE} says {expected[key]}.\n"
                         f"The generator is meant to be bit-reproducible; investigate (numpy {np.__version__}) "
                         f"before using --update-sha.")
        if not args.no_check:
            try:
                import torch  # noqa: F401
                import transformers  # noqa: F401
            except ImportError:
                print(f"{name}: torch/transformers not importable, check skipped", file=sys.stderr)
            else:
                check_with_transformers(name, os.path.join(CACHE_MODELS, name))
    if not have_file:
        merged = {**expected, **got}  # keeps entries of models not processed (--only)
        os.makedirs(ENCODER, exist_ok=True)
        with open(SHA_FILE, "w", encoding="ascii", newline="\n") as f:
            f.write("# sha256 of the model.safetensors written by tests/reference/make_random_models.py "
                    "(paths relative to .cache/models/)\n")
            for k in sorted(merged):
                f.write(f"{merged[k]}  {k}\n")
        print(f"wrote {SHA_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
