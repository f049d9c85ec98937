"""Shared helpers of make_encoder_fixtures.py, make_encoder_goldens.py and make_random_models.py.

Nothing here needs torch (make_random_models.py imports the constants without it); the tokenizer helpers
import transformers / tokenizers lazily.
"""

import hashlib
import json
import lzma
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
MODELS = os.path.join(DATA, "models")          # committed tiny fixtures
ENCODER = os.path.join(DATA, "encoder")        # committed goldens
CACHE_MODELS = os.path.join(ROOT, ".cache", "models")  # big models, git-ignored

UNCASED_VOCAB = os.path.join(DATA, "vocab", "bert-base-uncased.vocab.txt")
UNCASED_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"

# NER label set of every fixture with a token-classification head (BIO over 4 entity types).
LABELS = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical", "B-Gene", "I-Gene", "B-Species", "I-Species"]
ID2LABEL = {str(i): l for i, l in enumerate(LABELS)}
LABEL2ID = {l: i for i, l in enumerate(LABELS)}

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

TINY_FIXTURES = [
    "tiny-bert-tc", "tiny-bert-tc-gelu-new", "tiny-bert-tc-relu", "tiny-bert-tc-eps",
    "tiny-bert-tc-f16", "tiny-bert-tc-bf16", "tiny-bert-tc-sharded", "tiny-bert-model", "tiny-distilbert-tc",
]
BIG_MODELS = ["all-MiniLM-L6-v2", "bert-base-random", "distilbert-random"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_pubmed():
    raw = lzma.decompress(open(os.path.join(DATA, "corpus", "pubmed_abstracts.txt.xz"), "rb").read())
    assert raw.endswith(b"\n")
    docs = [line.decode("utf-8") for line in raw[:-1].split(b"\n")]  # LF only, see make_tokenizer_goldens.py
    assert len(docs) == 3183, len(docs)
    return docs


def read_adversarial():
    with open(os.path.join(DATA, "tokenizer", "adversarial.jsonl"), encoding="utf-8") as f:
        return {c["name"]: c["text"] for c in map(json.loads, f)}


def tokenizer_config_json(do_lower_case=True, tokenizer_class="BertTokenizer"):
    """tokenizer_config.json written next to vocab.txt in every model directory made here."""
    return {
        "tokenizer_class": tokenizer_class,
        "do_lower_case": do_lower_case,
        "do_basic_tokenize": True,
        "never_split": None,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]",
        "model_max_length": 512,
    }


def load_model_tokenizer(model_dir):
    """HF fast BERT tokenizer built from model_dir/vocab.txt + tokenizer_config.json (do_lower_case).

    transformers 5.x: BertTokenizerFast(vocab_file=...) silently ignores the file (5-entry vocabulary), so
    the vocabulary is passed as a dict via vocab=load_vocab(path); the result is checked against the file
    and against an independently built tokenizers.BertWordPieceTokenizer (see check_tokenizer).
    """
    from transformers import BertTokenizerFast
    from transformers.models.bert.tokenization_bert import load_vocab
    vocab_path = os.path.join(model_dir, "vocab.txt")
    cfg = json.load(open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8"))
    lower = bool(cfg.get("do_lower_case", True))
    assert cfg.get("strip_accents") is None and cfg.get("tokenize_chinese_chars", True) is True, cfg
    vocab = load_vocab(vocab_path)
    lines = open(vocab_path, "rb").read().decode("utf-8").split("\n")
    assert lines[-1] == "" and len(vocab) == len(lines) - 1, (vocab_path, len(vocab))
    tok = BertTokenizerFast(vocab=vocab, do_lower_case=lower)
    assert tok.backend_tokenizer.get_vocab_size() == len(vocab), tok.backend_tokenizer.get_vocab_size()
    for t in SPECIALS:
        assert tok.convert_tokens_to_ids(t) == vocab[t], (t, tok.convert_tokens_to_ids(t), vocab[t])
    bcfg = json.loads(tok.backend_tokenizer.to_str())
    assert bcfg["normalizer"] == {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                  "strip_accents": None, "lowercase": lower}, bcfg["normalizer"]
    assert bcfg["model"]["max_input_chars_per_word"] == 100
    assert bcfg["post_processor"]["special_tokens"]["[CLS]"]["ids"] == [vocab["[CLS]"]]
    assert bcfg["post_processor"]["special_tokens"]["[SEP]"]["ids"] == [vocab["[SEP]"]]
    return tok


def crosscheck_tokenizer(model_dir, lower=True):
    from tokenizers import BertWordPieceTokenizer
    ref = BertWordPieceTokenizer(os.path.join(model_dir, "vocab.txt"), lowercase=lower, clean_text=True,
                                 handle_chinese_chars=True, strip_accents=None)
    ref.no_truncation()
    return ref


def encode(tok, text):
    """ids, type_ids and code-point offsets of one text: add_special_tokens=True, no truncation."""
    be = tok(text, add_special_tokens=True, truncation=False, return_offsets_mapping=True,
             return_token_type_ids=True)
    return list(be["input_ids"]), list(be["token_type_ids"]), [tuple(o) for o in be["offset_mapping"]]


def cut_at_tokens(tok, doc, n_tokens):
    """Longest prefix of doc that tokenises to exactly n_tokens tokens (incl. [CLS]/[SEP]) and ends at a
    word boundary, or None.  The prefix ends at the end of content token n_tokens-2, which must not be
    followed by a '##' continuation; the result is re-tokenised without truncation and checked."""
    ids, _, offs = encode(tok, doc)
    k = n_tokens - 2  # content tokens wanted
    if len(ids) - 2 <= k:
        return None
    nxt = tok.convert_ids_to_tokens(ids[1 + k])
    if nxt.startswith("##"):
        return None
    text = doc[:offs[k][1]]  # offs[k] = content token k-1 (offs[0] is [CLS])
    ids2, _, _ = encode(tok, text)
    if ids2 != ids[:1 + k] + [ids[-1]]:
        return None
    return text


def first_sentence(doc):
    i = doc.index(". ")
    return doc[:i + 1]
