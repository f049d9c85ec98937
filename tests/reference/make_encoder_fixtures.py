#!/usr/bin/env python3
"""Tiny committed encoder fixtures for medner's encoder tests (reference: Hugging Face transformers).

What it produces, under tests/data/models/NAME/ (relative to the repository root), for each NAME below:
  config.json, model.safetensors (or model-0000k-of-0000n.safetensors + model.safetensors.index.json),
  vocab.txt, tokenizer_config.json ({"do_lower_case": true, ...}).
All fixtures share one reduced uncased WordPiece vocabulary (VOCAB_SIZE entries; see build_vocab) and the
shape: max_position_embeddings 512, 4 heads, hidden 32, intermediate 37 (odd on purpose), 2 layers.

  tiny-bert-tc            BertForTokenClassification, 9 NER labels, type_vocab_size 2, hidden_act gelu, seed 1
  tiny-bert-tc-gelu-new   the same weights (seed 1), hidden_act gelu_new (tanh approximation)
  tiny-bert-tc-relu       the same weights (seed 1), hidden_act relu
  tiny-bert-tc-eps        seed 1 but embedding tables drawn with std EPS_EMB_STD (small) and layer_norm_eps
                          1e-5, so the embedding LayerNorm's eps changes the outputs far beyond 1e-4
  tiny-bert-tc-f16        tiny-bert-tc's weights rounded to float16 and saved as float16
  tiny-bert-tc-bf16       tiny-bert-tc's weights rounded to bfloat16 and saved as bfloat16
  tiny-bert-tc-sharded    tiny-bert-tc's weights saved with max_shard_size SHARD_SIZE (>= 3 shards + index)
  tiny-bert-model         BertModel (no head, with pooler), seed 3; tensor names have NO "bert." prefix
                          (this is how BertModel saves, like sentence-transformers/all-MiniLM-L6-v2), so it
                          is also the "prefixless" fixture
  tiny-distilbert-tc      DistilBertForTokenClassification (dim 32, 2 layers, 4 heads, hidden_dim 37, gelu,
                          9 labels), seed 4

Weights: torch.manual_seed(seed), model built from its config, then every nn.Linear weight and bias ~
N(0, 0.2), every nn.Embedding ~ N(0, 0.2), every nn.LayerNorm weight ~ 1 + N(0, 0.2) and bias ~ N(0, 0.2),
in named_modules() order (transformers' own init gives near-zero activations that test little).

Vocabulary (build_vocab): [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0-4), then every single lower-case ASCII
letter, digit and ASCII punctuation character and a few non-ASCII symbols (EXTRA_CHARS), each followed by
its "##" form, then the most frequent tokens of the bert-base-uncased tokenisation of all documents of
tests/data/corpus/pubmed_abstracts.txt.xz (count descending, ties by token string) up to VOCAB_SIZE lines.
Every ASCII word therefore tokenises without [UNK].

The fixtures are the source of truth: the goldens (make_encoder_goldens.py) are computed from the
committed files, not from this script.  Another torch version may draw different random numbers;
rerunning this script then changes the fixtures and the goldens must be remade too.

Versions used: Python 3.11.7, torch 2.x (CPU), transformers 5.24.0, tokenizers 0.23.3, safetensors 0.8.0.

How to run (from anywhere; a few seconds), then remake the goldens:
  python3 tests/reference/make_encoder_fixtures.py
  python3 tests/reference/make_encoder_goldens.py
"""

import argparse
import collections
import json
import os
import shutil
import string
import sys

import torch
import transformers
from transformers import (BertConfig, BertForTokenClassification, BertModel, DistilBertConfig,
                          DistilBertForTokenClassification)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_common import (ID2LABEL, LABEL2ID, MODELS, SPECIALS, TINY_FIXTURES, UNCASED_VOCAB,  # noqa: E402
                            UNCASED_VOCAB_SHA256, load_model_tokenizer, read_pubmed, sha256_file,
                            tokenizer_config_json)

VOCAB_SIZE = 768
EXTRA_CHARS = "\u03b1\u03b2\u03b3\u03b4\u03ba\u00b5\u00b0"  # α β γ δ κ µ(micro sign) °
STD = 0.2
EPS_EMB_STD = 0.003   # embedding std of tiny-bert-tc-eps: LayerNorm input variance ~3e-5, comparable to 1e-5
SHARD_SIZE = "40KB"

SHAPE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             max_position_embeddings=512)


# ---------------------------------------------------------------------------------------------
# vocabulary

def build_vocab():
    from transformers import BertTokenizerFast
    from transformers.models.bert.tokenization_bert import load_vocab
    assert sha256_file(UNCASED_VOCAB) == UNCASED_VOCAB_SHA256, UNCASED_VOCAB
    big = BertTokenizerFast(vocab=load_vocab(UNCASED_VOCAB), do_lower_case=True)
    assert big.backend_tokenizer.get_vocab_size() == 30522
    counts = collections.Counter()
    for enc in big(read_pubmed(), add_special_tokens=False).encodings:
        counts.update(enc.tokens)
    chars = string.ascii_lowercase + string.digits + string.punctuation + EXTRA_CHARS
    vocab = list(SPECIALS)
    for c in chars:
        vocab += [c, "##" + c]
    have = set(vocab)
    for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) == VOCAB_SIZE:
            break
        if t not in have:
            vocab.append(t)
            have.add(t)
    assert len(vocab) == VOCAB_SIZE and len(set(vocab)) == VOCAB_SIZE
    assert all(t and not any(ch.isspace() for ch in t) for t in vocab)
    return vocab


def write_tokenizer_files(d, vocab, tokenizer_class):
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in vocab))
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(tokenizer_config_json(True, tokenizer_class), f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# models

def init_weights(model, emb_std=STD):
    with torch.no_grad():
        for _, m in model.named_modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.normal_(0.0, STD)
                if m.bias is not None:
                    m.bias.normal_(0.0, STD)
            elif isinstance(m, torch.nn.Embedding):
                m.weight.normal_(0.0, emb_std)
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.normal_(0.0, STD).add_(1.0)
                m.bias.normal_(0.0, STD)
    return model


def bert_tc(seed, vocab_size, hidden_act="gelu", layer_norm_eps=1e-12, emb_std=STD):
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, type_vocab_size=2, hidden_act=hidden_act, layer_norm_eps=layer_norm_eps,
                     pad_token_id=0, num_labels=len(ID2LABEL), id2label=ID2LABEL, label2id=LABEL2ID, **SHAPE)
    return init_weights(BertForTokenClassification(cfg), emb_std=emb_std).eval()


def bert_model(seed, vocab_size):
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, type_vocab_size=2, hidden_act="gelu", pad_token_id=0, **SHAPE)
    return init_weights(BertModel(cfg, add_pooling_layer=True)).eval()


def distilbert_tc(seed, vocab_size):
    torch.manual_seed(seed)
    cfg = DistilBertConfig(vocab_size=vocab_size, max_position_embeddings=512, sinusoidal_pos_embds=False,
                           n_layers=2, n_heads=4, dim=32, hidden_dim=37, activation="gelu", pad_token_id=0,
                           num_labels=len(ID2LABEL), id2label=ID2LABEL, label2id=LABEL2ID)
    return init_weights(DistilBertForTokenClassification(cfg)).eval()


def make_all(vocab):
    v = len(vocab)
    tc = bert_tc(1, v)
    tc_sd = {k: t.clone() for k, t in tc.state_dict().items()}

    def same_weights(**kw):
        m = bert_tc(1, v, **kw)
        m.load_state_dict(tc_sd)
        return m

    def rounded(dtype):
        m = bert_tc(1, v)
        m.load_state_dict(tc_sd)
        return m.to(dtype)

    return {
        # name: (model, save kwargs, tokenizer_class)
        "tiny-bert-tc": (tc, {}, "BertTokenizer"),
        "tiny-bert-tc-gelu-new": (same_weights(hidden_act="gelu_new"), {}, "BertTokenizer"),
        "tiny-bert-tc-relu": (same_weights(hidden_act="relu"), {}, "BertTokenizer"),
        "tiny-bert-tc-eps": (bert_tc(1, v, layer_norm_eps=1e-5, emb_std=EPS_EMB_STD), {}, "BertTokenizer"),
        "tiny-bert-tc-f16": (rounded(torch.float16), {}, "BertTokenizer"),
        "tiny-bert-tc-bf16": (rounded(torch.bfloat16), {}, "BertTokenizer"),
        "tiny-bert-tc-sharded": (same_weights(), {"max_shard_size": SHARD_SIZE}, "BertTokenizer"),
        "tiny-bert-model": (bert_model(3, v), {}, "BertTokenizer"),
        "tiny-distilbert-tc": (distilbert_tc(4, v), {}, "DistilBertTokenizer"),
    }


def save(name, model, save_kw, tok_class, vocab):
    d = os.path.join(MODELS, name)
    if os.path.isdir(d):
        shutil.rmtree(d)  # no stale shards
    os.makedirs(d)
    model.save_pretrained(d, safe_serialization=True, **save_kw)
    write_tokenizer_files(d, vocab, tok_class)
    return d


def verify(name, d, model):
    """Reload with from_pretrained in float32 and compare with the in-memory weights (upcast)."""
    cls = type(model)
    # transformers 5.x defaults to dtype="auto" (keeps float16/bfloat16): ask for float32 explicitly
    re, info = cls.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), (name, info)
    sd_ref = model.state_dict()
    sd = re.state_dict()
    assert sd.keys() == sd_ref.keys(), name
    for k in sd:
        assert sd[k].dtype == torch.float32, (name, k, sd[k].dtype)
        assert torch.equal(sd[k], sd_ref[k].float()), (name, k)
    from safetensors import safe_open
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    names = []
    for f in files:
        with safe_open(os.path.join(d, f), "pt") as sf:
            names += list(sf.keys())
            dts = {str(sf.get_slice(k).get_dtype()) for k in sf.keys()}
    if name == "tiny-bert-tc-sharded":
        assert len(files) >= 3 and os.path.exists(os.path.join(d, "model.safetensors.index.json")), files
    else:
        assert files == ["model.safetensors"], files
    assert sorted(names) == sorted(sd_ref.keys()), name
    tok = load_model_tokenizer(d)
    assert tok.backend_tokenizer.get_vocab_size() == VOCAB_SIZE
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    return files, names, dts, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.parse_args()
    torch.set_num_threads(1)
    vocab = build_vocab()
    models = make_all(vocab)
    assert list(models) == TINY_FIXTURES
    total = 0
    for name, (model, save_kw, tok_class) in models.items():
        d = save(name, model, save_kw, tok_class, vocab)
        files, names, dts, size = verify(name, d, model)
        total += size
        print(f"{name}: {len(files)} file(s), {len(names)} tensors, dtypes {sorted(dts)}, {size} bytes; "
              f"first names {sorted(names)[:3]}", file=sys.stderr)
    print(f"total {total} bytes (torch {torch.__version__}, transformers {transformers.__version__})",
          file=sys.stderr)
    assert total < 2_000_000, total


if __name__ == "__main__":
    main()
