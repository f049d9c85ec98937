#!/usr/bin/env python3
"""Token-classification models for medner's pipeline parity tests (weights NOT committed).

What it produces (relative to the repository root; .cache/ is git-ignored):
  .cache/models/minilm-ner-random/        BertForTokenClassification, 5 labels
        O, B-Disease, I-Disease, B-Chemical, I-Chemical           (HF pipeline goldens: tests/data/pipeline/)
  .cache/models/minilm-ner-random-bioes/  BertForTokenClassification, 9 labels
        O, B-Disease, I-Disease, E-Disease, S-Disease, B-Chemical, I-Chemical, E-Chemical, S-Chemical
        (for medner's constrained-decoding tests; no HF goldens: HF's pipeline does not know E-/S-)
  tests/data/pipeline/models.sha256  (sha256sum format, paths relative to .cache/models/) the sha256 of both
        model.safetensors; when the file exists the script VERIFIES against it (use --update-sha to rewrite).

Both models are the real sentence-transformers/all-MiniLM-L6-v2 encoder (.cache/models/all-MiniLM-L6-v2,
fetched by tests/reference/fetch_minilm.sh; its model.safetensors must have sha256 SRC_SHA256) with a random
token-classification head:
  - encoder tensors copied unchanged (float32), renamed "X" -> "bert.X"; dropped: the I64 buffer
    `embeddings.position_ids` and the pooler (`pooler.dense.*`; BertForTokenClassification has no pooler);
  - `classifier.weight` [C, 384] and `classifier.bias` [C] from one numpy.random.PCG64(SEED) bit stream
    (only random_raw(), whose output numpy's stability policy covers): first C*384 outputs for the weight
    (C order), then C outputs for the bias, each output r mapped to
        k = r >> (64 - B)  (B-bit integer),  value = (k - 2^(B-1)) * (a / 2^(B-1))    uniform on [-a, a)
    weight: B=24, a=2^-1;  bias: B=16, a=2^-3, and the bias of label 0 ("O") gets + O_BIAS (= 4.0).
    Every value is an exact float32 (checked), so the bytes do not depend on numpy's float formatting or
    rounding; the file is bit-identical across numpy/safetensors versions (written with
    safetensors.numpy.save_file, metadata {"format": "pt"}).
  - config.json = the source config.json (transformers 4.8.2 style, kept as is) minus "_name_or_path", with
    "architectures": ["BertForTokenClassification"], "id2label" (string keys) and "label2id".
  - tokenizer files copied byte for byte: vocab.txt, tokenizer.json, tokenizer_config.json,
    special_tokens_map.json.  NOTE: the source tokenizer.json carries "truncation": {"max_length": 128} and
    "padding": {"Fixed": 128} (sentence-transformers' settings); transformers' tokenizer __call__ overrides
    both (truncation=True -> model_max_length 512 from tokenizer_config.json; no padding unless asked).
    medner must likewise not apply tokenizer.json's truncation/padding blocks.

Why these numbers: MiniLM's final hidden states have norm ~4.6 and per-dimension std ~0.28, so a
uniform[-1/2, 1/2) head gives logits of std ~1.3; the O bias of 4.0 then leaves 15% of the tokens of the
golden PubMed abstracts and 6% of the MACCROBAT case reports' non-O (9-label BIOES model: 12% and 12%), with
winning probabilities spread from ~0.23 to 1.0 (median 0.65 among non-O tokens), and a random head makes
plenty of B/I mixtures, I- after O, B- after B-, type switches and sub-words disagreeing with their word's
first piece (what a parity test wants).
The numbers are in tests/data/pipeline/README.md.

Only numpy and safetensors are needed to write the models.  --check (default when torch and transformers
import) loads each written directory with AutoModelForTokenClassification.from_pretrained (no missing,
unexpected or mismatched keys; values equal to the file; tensor names/shapes equal to the state_dict of a
freshly built model of the same config), checks the encoder output equals the source BertModel's
last_hidden_state and the logits equal classifier(hidden), and loads the tokenizer with AutoTokenizer.

How to run (from anywhere; a few seconds, ~180 MB under .cache/models):
  sh tests/reference/fetch_minilm.sh                # if .cache/models/all-MiniLM-L6-v2 is missing
  python3 tests/reference/make_ner_model.py         # [--force] [--update-sha] [--no-check]
then  python3 tests/reference/make_pipeline_goldens.py
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CACHE_MODELS = os.path.join(ROOT, ".cache", "models")
PIPELINE = os.path.join(ROOT, "tests", "data", "pipeline")
SHA_FILE = os.path.join(PIPELINE, "models.sha256")

SRC = os.path.join(CACHE_MODELS, "all-MiniLM-L6-v2")
SRC_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # see fetch_minilm.sh
TOKENIZER_FILES = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

HIDDEN = 384
WEIGHT_A = 2.0 ** -1      # classifier.weight uniform on [-WEIGHT_A, WEIGHT_A), 24-bit grid
WEIGHT_BITS = 24
BIAS_A = 2.0 ** -3        # classifier.bias uniform on [-BIAS_A, BIAS_A), 16-bit grid
BIAS_BITS = 16
O_BIAS = 4.0              # added to the bias of label 0 ("O")

BIO_LABELS = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]
BIOES_LABELS = ["O"] + [f"{p}-{x}" for x in ("Disease", "Chemical") for p in "BIES"]

MODELS = {
    # name: (labels, seed)
    "minilm-ner-random": (BIO_LABELS, 20250201),
    "minilm-ner-random-bioes": (BIOES_LABELS, 20250202),
}


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def uniform(bitgen, n, a, bits):
    """n values uniform on [-a, a) from n consecutive random_raw() outputs; exact for a = 2^e."""
    k = (bitgen.random_raw(n) >> np.uint64(64 - bits)).astype(np.int64) - (1 << (bits - 1))
    return k.astype(np.float64) * (a / (1 << (bits - 1)))


def exact_f32(v, what):
    f = v.astype(np.float32)
    assert np.array_equal(f.astype(np.float64), v), what  # no rounding anywhere
    return f


def make_head(labels, seed):
    c = len(labels)
    bitgen = np.random.PCG64(seed)
    w = exact_f32(uniform(bitgen, c * HIDDEN, WEIGHT_A, WEIGHT_BITS), "classifier.weight").reshape(c, HIDDEN)
    b = uniform(bitgen, c, BIAS_A, BIAS_BITS)
    assert labels[0] == "O"
    b[0] += O_BIAS
    return w, exact_f32(b, "classifier.bias")


def source_tensors():
    path = os.path.join(SRC, "model.safetensors")
    if not os.path.exists(path):
        sys.exit(f"{path} missing: run  sh tests/reference/fetch_minilm.sh  (or make models) first")
    got = sha256_file(path)
    if got != SRC_SHA256:
        sys.exit(f"ERROR: {path} has sha256 {got}, expected {SRC_SHA256} (fetch_minilm.sh)")
    src = load_file(path)
    out = {}
    for k, v in src.items():
        if k == "embeddings.position_ids" or k.startswith("pooler."):
            continue
        assert v.dtype == np.float32, (k, v.dtype)
        out["bert." + k] = v
    assert len(out) == 101, len(out)  # 5 embedding tensors + 6 layers x 16
    return out


def model_config(labels):
    cfg = json.load(open(os.path.join(SRC, "config.json"), encoding="utf-8"))
    cfg.pop("_name_or_path", None)
    cfg["architectures"] = ["BertForTokenClassification"]
    cfg["id2label"] = {str(i): l for i, l in enumerate(labels)}
    cfg["label2id"] = {l: i for i, l in enumerate(labels)}
    assert cfg["hidden_size"] == HIDDEN and cfg["model_type"] == "bert", cfg
    return cfg


def write_model(name, encoder):
    labels, seed = MODELS[name]
    d = os.path.join(CACHE_MODELS, name)
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    w, b = make_head(labels, seed)
    tensors = dict(encoder)
    tensors["classifier.weight"] = w
    tensors["classifier.bias"] = b
    save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(tmp, "model.safetensors"), 0o644)  # safetensors 0.8 creates it 0600
    with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(model_config(labels), f, indent=2, sort_keys=True)
        f.write("\n")
    for fn in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(SRC, fn), os.path.join(tmp, fn))
    shutil.rmtree(d, ignore_errors=True)
    os.replace(tmp, d)
    return d


def check_with_transformers(name, d):
    import torch
    import transformers
    from safetensors import safe_open
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer, BertModel
    torch.set_num_threads(1)
    labels, _ = MODELS[name]
    config = AutoConfig.from_pretrained(d)
    assert [config.id2label[i] for i in range(len(labels))] == labels, config.id2label
    assert config.label2id == {l: i for i, l in enumerate(labels)}, config.label2id
    with torch.device("meta"):
        meta = transformers.BertForTokenClassification(config)
    want = {k: tuple(v.shape) for k, v in meta.state_dict().items()}
    with safe_open(os.path.join(d, "model.safetensors"), "np") as sf:
        got = {k: tuple(sf.get_slice(k).get_shape()) for k in sf.keys()}
        assert sf.metadata() == {"format": "pt"}, sf.metadata()
    assert got == want, (name, set(got) ^ set(want))
    model, info = AutoModelForTokenClassification.from_pretrained(d, dtype=torch.float32,
                                                                  output_loading_info=True)
    assert type(model).__name__ == "BertForTokenClassification", type(model)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), (name, info)
    model.eval()
    sd = model.state_dict()
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as sf:
        for k in sf.keys():
            assert sd[k].dtype == torch.float32 and torch.equal(sd[k], sf.get_tensor(k)), (name, k)
    tok = AutoTokenizer.from_pretrained(d)
    assert tok.is_fast and tok.model_max_length == 512 and tok.unk_token_id == 100, tok
    base = BertModel.from_pretrained(SRC, dtype=torch.float32).eval()
    text = "Patient denies chest pain; cisplatin-induced nephrotoxicity and Huntington's disease."
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
        ref = base(**enc).last_hidden_state
    assert torch.equal(out.hidden_states[-1], ref), "encoder differs from the source BertModel"
    assert torch.allclose(out.logits, model.classifier(ref), atol=0, rtol=0), "logits != classifier(hidden)"
    print(f"{name}: checked against transformers {transformers.__version__} / torch {torch.__version__} "
          f"({len(got)} tensors, no missing/unexpected/mismatched keys; encoder == all-MiniLM-L6-v2 BertModel)",
          file=sys.stderr)


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
    args = ap.parse_args()

    expected = read_sha_file()
    have_file = bool(expected) and not args.update_sha
    got = {}
    encoder = None
    for name in MODELS:
        key = f"{name}/model.safetensors"
        path = os.path.join(CACHE_MODELS, key)
        complete = all(os.path.exists(os.path.join(CACHE_MODELS, name, f))
                       for f in ["config.json"] + TOKENIZER_FILES)
        if (not args.force and have_file and complete and os.path.exists(path) and key in expected
                and sha256_file(path) == expected[key]):
            print(f"{name}: present, sha256 ok", file=sys.stderr)
            got[key] = expected[key]
        else:
            if encoder is None:
                encoder = source_tensors()
            d = write_model(name, encoder)
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
        os.makedirs(PIPELINE, exist_ok=True)
        with open(SHA_FILE, "w", encoding="ascii", newline="\n") as f:
            f.write("# sha256 of the model.safetensors written by tests/reference/make_ner_model.py "
                    "(paths relative to .cache/models/)\n")
            for k in sorted(got):
                f.write(f"{got[k]}  {k}\n")
        print(f"wrote {SHA_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
