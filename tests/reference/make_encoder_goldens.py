#!/usr/bin/env python3
"""Reference (golden) encoder outputs of Hugging Face transformers (PyTorch, fp32, eval) for medner.

What it produces, under tests/data/encoder/ (relative to the repository root), for every model NAME:
  NAME.jsonl  one JSON line per text, in order:
      {"name", "text", "ids", "type_ids", "length", "hidden_size", "num_labels", "hidden_offset",
       "logits_offset"}
      ids/type_ids: the model's own tokenizer (HF fast BERT tokenizer from NAME's vocab.txt and
      tokenizer_config.json), add_special_tokens=True, NO truncation (long texts were cut beforehand so
      that they tokenise to exactly the wanted length); length = len(ids); num_labels = 0 for a model
      without head; offsets are BYTE offsets into NAME.f32; logits_offset = -1 without head.
  NAME.f32    raw little-endian float32: per text, the final hidden states [length, hidden_size]
      (row-major), then (heads only) the logits [length, num_labels].
      "Final hidden states" = the output of the last encoder layer: BertModel's last_hidden_state, for
      *ForTokenClassification the last element of output_hidden_states (= the base model's
      last_hidden_state, checked), i.e. before the classifier; logits = classifier(final hidden states).
The formats and the text lists are described in tests/data/encoder/README.md.

Models:
  default: the tiny committed fixtures tests/data/models/NAME (make_encoder_fixtures.py), 12 texts each
  --big:   also .cache/models/{all-MiniLM-L6-v2, bert-base-random, distilbert-random}
           (fetch_minilm.sh, make_random_models.py), 3 texts each (about 8, 40 and 130 tokens)
  --only NAME[,NAME...]: restrict to these models

How each model is run: transformers' class from config.json "architectures" (BertForTokenClassification,
BertModel, DistilBertForTokenClassification), from_pretrained(dir, dtype=torch.float32,
attn_implementation="eager"), .eval(), torch.no_grad(); inputs input_ids, attention_mask (all ones),
token_type_ids (BERT only; DistilBERT takes none).  float16/bfloat16 checkpoints are upcast to float32 on
load (transformers 5.x would keep their dtype by default: dtype="auto").  Each text is run alone
(no padding; these are the goldens) and again as one right-padded batch of all texts; the batch must
agree with the single runs within BATCH_TOL on real tokens, and the "sdpa" attention implementation
(transformers' default) within SDPA_TOL.  The written files are read back and compared bit for bit.
--verify recomputes everything and compares with the committed files (tolerance VERIFY_TOL) without
writing.

Versions used: Python 3.11.7, torch 2.15.0 (CPU), transformers 5.24.0, tokenizers 0.23.3.

How to run (from anywhere; tiny: seconds; --big: about a minute):
  python3 tests/reference/make_encoder_fixtures.py       # only when the fixtures must change
  sh tests/reference/fetch_minilm.sh && python3 tests/reference/make_random_models.py   # for --big
  python3 tests/reference/make_encoder_goldens.py [--big] [--only NAME,...] [--verify]
"""

import argparse
import json
import os
import sys

import numpy as np
import tokenizers
import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_common import (BIG_MODELS, CACHE_MODELS, ENCODER, MODELS, TINY_FIXTURES,  # noqa: E402
                            crosscheck_tokenizer, cut_at_tokens, encode, first_sentence, load_model_tokenizer,
                            read_adversarial, read_pubmed)

BATCH_TOL = 1e-5
SDPA_TOL = 1e-5
VERIFY_TOL = 1e-5

ADVERSARIAL = [  # (case name in tests/data/tokenizer/adversarial.jsonl, why)
    "greek_letters_biomed",          # non-ASCII (α β γ are in the tiny vocabulary)
    "literal_special_in_long_text",  # literal [MASK] [UNK] [SEP] [CLS] inside the text
    "empty",                         # -> [CLS] [SEP] only
    "word_101_in_sentence",          # a 101-character word -> [UNK]
    "mixed_clinical_sentence",       # symbols, non-ASCII, [UNK]s
]
PATIENT = "Patient denies chest pain."


# ---------------------------------------------------------------------------------------------
# texts

def find_cut(tok, docs, n_tokens, start, used):
    for i in range(start, len(docs)):
        if i in used:
            continue
        t = cut_at_tokens(tok, docs[i], n_tokens)
        if t is not None:
            used.add(i)
            return i, t
    raise AssertionError(f"no document cuts to {n_tokens} tokens")


def tiny_texts(tok):
    docs = read_pubmed()
    adv = read_adversarial()
    texts = [(f"pubmed{i}-first-sentence", first_sentence(docs[i])) for i in range(3)]
    used = {0, 1, 2}
    for _ in range(2):
        i, t = find_cut(tok, docs, 300, 3, used)
        texts.append((f"pubmed{i}-cut300", t))
    i, t = find_cut(tok, docs, 510, 3, used)
    texts.append((f"pubmed{i}-cut510", t))
    texts += [(f"adv-{n}", adv[n]) for n in ADVERSARIAL]
    texts.append(("patient-denies", PATIENT))
    assert len(texts) == 12
    return texts


def big_texts(tok):
    docs = read_pubmed()
    used = set()
    i40, t40 = find_cut(tok, docs, 40, 0, used)
    i130, t130 = find_cut(tok, docs, 130, i40 + 1, used)
    return [("patient-denies-fever", "Patient denies chest pain or fever."),
            (f"pubmed{i40}-cut40", t40), (f"pubmed{i130}-cut130", t130)]


# ---------------------------------------------------------------------------------------------
# model

def model_dir(name):
    return os.path.join(CACHE_MODELS if name in BIG_MODELS else MODELS, name)


def load_model(d, attn):
    cfg = json.load(open(os.path.join(d, "config.json"), encoding="utf-8"))
    arch = cfg["architectures"][0]
    assert arch in ("BertForTokenClassification", "BertModel", "DistilBertForTokenClassification"), arch
    cls = getattr(transformers, arch)
    model, info = cls.from_pretrained(d, dtype=torch.float32, attn_implementation=attn, output_loading_info=True)
    # MiniLM's 2021 checkpoint carries a buffer "embeddings.position_ids" that transformers 5.x drops
    unexpected = [k for k in info["unexpected_keys"] if not k.endswith("embeddings.position_ids")]
    assert not info["missing_keys"] and not unexpected and not info["mismatched_keys"], (d, info)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    return model.eval(), arch


def forward(model, arch, ids, type_ids, mask):
    ids = torch.tensor(ids, dtype=torch.long)
    mask = torch.tensor(mask, dtype=torch.long)
    kw = dict(input_ids=ids, attention_mask=mask)
    if not arch.startswith("DistilBert"):
        kw["token_type_ids"] = torch.tensor(type_ids, dtype=torch.long)
    with torch.no_grad():
        if arch == "BertModel":
            return model(**kw).last_hidden_state, None
        out = model(**kw, output_hidden_states=True)
        hidden = out.hidden_states[-1]
        base = model.bert if arch.startswith("Bert") else model.distilbert
        h2 = base(**kw).last_hidden_state
        assert torch.equal(hidden, h2), "hidden_states[-1] != base model last_hidden_state"
        assert torch.allclose(out.logits, model.classifier(hidden), rtol=0, atol=1e-6)
        return hidden, out.logits


def run_model(name, texts_fn, show_discrimination=True):
    d = model_dir(name)
    if not os.path.isdir(d):
        sys.exit(f"{d} missing: run tests/reference/fetch_minilm.sh (all-MiniLM-L6-v2) or "
                 f"tests/reference/make_random_models.py (bert-base-random, distilbert-random) first")
    tok = load_model_tokenizer(d)
    ref = crosscheck_tokenizer(d)
    auto = transformers.AutoTokenizer.from_pretrained(d)
    texts = texts_fn(tok)
    model, arch = load_model(d, "eager")
    sdpa, _ = load_model(d, "sdpa")
    stats = {"batch": 0.0, "sdpa": 0.0}
    recs, hs, ls = [], [], []
    for tname, text in texts:
        ids, type_ids, _ = encode(tok, text)
        e = ref.encode(text)
        assert e.ids == ids and e.type_ids == type_ids, (name, tname)
        assert auto(text)["input_ids"] == ids, (name, tname)
        assert len(ids) <= 512
        h, lg = forward(model, arch, [ids], [type_ids], [[1] * len(ids)])
        h2, lg2 = forward(sdpa, arch, [ids], [type_ids], [[1] * len(ids)])
        stats["sdpa"] = max(stats["sdpa"], (h - h2).abs().max().item(),
                            0.0 if lg is None else (lg - lg2).abs().max().item())
        recs.append({"name": tname, "text": text, "ids": ids, "type_ids": type_ids, "length": len(ids)})
        hs.append(h[0].numpy())
        ls.append(None if lg is None else lg[0].numpy())
    assert stats["sdpa"] <= SDPA_TOL, (name, stats)
    # one right-padded batch of all texts
    n = max(r["length"] for r in recs)
    pad = tok.convert_tokens_to_ids("[PAD]")
    bids = [r["ids"] + [pad] * (n - r["length"]) for r in recs]
    btt = [r["type_ids"] + [0] * (n - r["length"]) for r in recs]
    bmask = [[1] * r["length"] + [0] * (n - r["length"]) for r in recs]
    bh, bl = forward(model, arch, bids, btt, bmask)
    for j, r in enumerate(recs):
        L = r["length"]
        dh = np.abs(bh[j, :L].numpy() - hs[j]).max()
        dl = 0.0 if bl is None else np.abs(bl[j, :L].numpy() - ls[j]).max()
        stats["batch"] = max(stats["batch"], float(dh), float(dl))
    assert stats["batch"] <= BATCH_TOL, (name, stats)
    H = hs[0].shape[1]
    C = 0 if ls[0] is None else ls[0].shape[1]
    if show_discrimination:
        stats.update(discrimination(name, d, arch, recs, hs, ls))
    return recs, hs, ls, H, C, stats


def discrimination(name, d, arch, recs, hs, ls):
    """How far each variant fixture is from what a loader that ignores its peculiarity would compute."""
    cls = getattr(transformers, arch)
    alt = {
        "tiny-bert-tc-gelu-new": ("d_vs_gelu", dict(hidden_act="gelu")),
        "tiny-bert-tc-relu": ("d_vs_gelu", dict(hidden_act="gelu")),
        "tiny-bert-tc-eps": ("d_vs_eps1e-12", dict(layer_norm_eps=1e-12)),
        "tiny-bert-tc": ("d_vs_gelu_new", dict(hidden_act="gelu_new")),
    }.get(name)
    out = {}
    if alt is not None:
        m = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager", **alt[1]).eval()
        out[alt[0]] = max(max(float((forward(m, arch, [r["ids"]], [r["type_ids"]], [[1] * r["length"]])[k][0]
                                     .numpy() - v).__abs__().max()) for k, v in ((0, h), (1, lg)))
                          for r, h, lg in zip(recs, hs, ls))
    if name in ("tiny-bert-tc-f16", "tiny-bert-tc-bf16"):
        m, _ = load_model(os.path.join(MODELS, "tiny-bert-tc"), "eager")
        out["d_vs_fp32_weights"] = max(
            max(float(np.abs(forward(m, arch, [r["ids"]], [r["type_ids"]], [[1] * r["length"]])[k][0].numpy()
                             - v).max()) for k, v in ((0, h), (1, lg)))
            for r, h, lg in zip(recs, hs, ls))
    return out


# ---------------------------------------------------------------------------------------------
# files

def pack(recs, hs, ls, H, C):
    blob = bytearray()
    lines = []
    for r, h, lg in zip(recs, hs, ls):
        assert h.shape == (r["length"], H) and h.dtype == np.float32
        rec = dict(r, hidden_size=H, num_labels=C, hidden_offset=len(blob), logits_offset=-1)
        blob += h.astype("<f4").tobytes(order="C")
        if C:
            assert lg.shape == (r["length"], C) and lg.dtype == np.float32
            rec["logits_offset"] = len(blob)
            blob += lg.astype("<f4").tobytes(order="C")
        lines.append(json.dumps(rec, ensure_ascii=True, separators=(",", ":")))
    return "".join(l + "\n" for l in lines), bytes(blob)


def read_golden(name):
    recs = [json.loads(l) for l in open(os.path.join(ENCODER, name + ".jsonl"), encoding="ascii")]
    blob = np.fromfile(os.path.join(ENCODER, name + ".f32"), dtype="<f4")
    out = []
    for r in recs:
        L, H, C = r["length"], r["hidden_size"], r["num_labels"]
        assert len(r["ids"]) == len(r["type_ids"]) == L
        h = blob[r["hidden_offset"] // 4: r["hidden_offset"] // 4 + L * H].reshape(L, H)
        lg = None
        if C:
            lg = blob[r["logits_offset"] // 4: r["logits_offset"] // 4 + L * C].reshape(L, C)
        else:
            assert r["logits_offset"] == -1
        out.append((r, h, lg))
    end = max(r["hidden_offset"] + 4 * r["length"] * r["hidden_size"] for r in recs)
    end = max([end] + [r["logits_offset"] + 4 * r["length"] * r["num_labels"] for r in recs if r["num_labels"]])
    assert end == blob.nbytes, (name, end, blob.nbytes)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--big", action="store_true", help="also the big models under .cache/models")
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--verify", action="store_true", help="compare with the committed files, write nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    names = list(TINY_FIXTURES) + (list(BIG_MODELS) if args.big else [])
    if args.only:
        names = [n for n in args.only.split(",") if n]
        assert all(n in TINY_FIXTURES + BIG_MODELS for n in names), names
    tiny_vocab = open(os.path.join(MODELS, "tiny-bert-tc", "vocab.txt"), "rb").read()
    os.makedirs(ENCODER, exist_ok=True)
    print(f"torch {torch.__version__} transformers {transformers.__version__} tokenizers {tokenizers.__version__}",
          file=sys.stderr)
    bad = 0
    for name in names:
        big = name in BIG_MODELS
        if not big:
            assert open(os.path.join(MODELS, name, "vocab.txt"), "rb").read() == tiny_vocab, name
        recs, hs, ls, H, C, stats = run_model(name, big_texts if big else tiny_texts)
        if args.verify:
            gold = read_golden(name)
            assert [g[0]["ids"] for g in gold] == [r["ids"] for r in recs], name
            assert [g[0]["text"] for g in gold] == [r["text"] for r in recs], name
            d = max(max(float(np.abs(gh - h).max()), 0.0 if lg is None else float(np.abs(gl - lg).max()))
                    for (_, gh, gl), h, lg in zip(gold, hs, ls))
            ok = d <= VERIFY_TOL
            bad += not ok
            print(f"{name}: max |recomputed - committed| = {d:.3g} {'ok' if ok else 'FAIL'}", file=sys.stderr)
            continue
        text, blob = pack(recs, hs, ls, H, C)
        with open(os.path.join(ENCODER, name + ".jsonl"), "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        with open(os.path.join(ENCODER, name + ".f32"), "wb") as f:
            f.write(blob)
        # read back and compare bit for bit
        for (g, gh, gl), r, h, lg in zip(read_golden(name), recs, hs, ls):
            assert g["ids"] == r["ids"] and g["text"] == r["text"]
            assert np.array_equal(gh, h) and (lg is None or np.array_equal(gl, lg))
        lens = [r["length"] for r in recs]
        print(f"{name}: {len(recs)} texts, lengths {lens}, H={H} C={C}, f32 {len(blob)} bytes; "
              + ", ".join(f"{k} {v:.3g}" for k, v in stats.items()), file=sys.stderr)
    if bad:
        sys.exit(f"{bad} model(s) differ from the committed goldens")


if __name__ == "__main__":
    main()
