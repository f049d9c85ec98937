"""medner.Tokenizer: ids, tokens and code-point offsets."""

import subprocess
import json

import pytest

import medner
from conftest import CLI, ROOT, TEXTS

VOCAB = ROOT / "tests" / "data" / "vocab" / "bert-base-uncased.vocab.txt"


def test_known_encoding():
    # the same string as tests/cli/test-cli.sh, whose byte offsets are
    # [0,5],[6,9],[10,12],[12,14],[14,15],[16,22]: here in code points
    with medner.Tokenizer(vocab=str(VOCAB)) as tok:
        enc = tok.encode("Fever \u2265 38\u00b0C [MASK]")
    assert enc.ids == [101, 9016, 1609, 4229, 7737, 2278, 103, 102]
    assert enc.tokens == ["[CLS]", "fever", "≥", "38", "##°", "##c", "[MASK]", "[SEP]"]
    assert enc.offsets == [(0, 0), (0, 5), (6, 7), (8, 10), (10, 11), (11, 12), (13, 19), (0, 0)]
    assert enc.word_ids == [None, 0, 1, 2, 2, 2, 3, None]
    assert enc.special_tokens_mask == [1, 0, 0, 0, 0, 0, 0, 1]
    assert enc.attention_mask == [1] * 8 and enc.type_ids == [0] * 8


def test_offsets_are_str_indices_and_match_the_cli(model_dir):
    with medner.Tokenizer(str(model_dir)) as tok:
        for text in TEXTS:
            enc = tok.encode(text)
            r = subprocess.run([str(CLI), "tokenize", "--model", str(model_dir)],
                               input=(json.dumps({"text": text}) + "\n").encode(),
                               capture_output=True, check=True)
            want = json.loads(r.stdout)
            assert enc.ids == want["ids"] and enc.tokens == want["tokens"]
            # CLI offsets are bytes; ours are code points of the same positions
            b = text.encode("utf-8")
            assert [(len(b[:s].decode()), len(b[:e].decode())) for s, e in want["offsets"]] \
                == enc.offsets
            for (s, e), token, special in zip(enc.offsets, enc.tokens, enc.special_tokens_mask):
                if not special and token != "[UNK]":
                    # lower-cased, accent-stripped word pieces come from text[s:e]
                    assert e > s and len(text[s:e]) >= 1


def test_windows(model_dir):
    text = " ".join(["Café 😀 fever"] * 20)
    with medner.Tokenizer(str(model_dir)) as tok:
        whole = tok.encode(text, add_special_tokens=False)
        wins = tok.encode_windows(text, 16, 4)
    assert len(wins) > 1
    assert all(len(w.ids) <= 16 and w.tokens[0] == "[CLS]" and w.tokens[-1] == "[SEP]"
               for w in wins)
    for w in wins:   # each window is a slice of the whole text's tokens, offsets included
        k = w.first_token
        assert w.ids[1:-1] == whole.ids[k:k + len(w.ids) - 2]
        assert w.offsets[1:-1] == whole.offsets[k:k + len(w.ids) - 2]
    assert wins[1].first_token == 14 - 4


def test_vocabulary_lookups(model_dir):
    with medner.Tokenizer(str(model_dir)) as tok:
        assert tok.vocab_size == 30522
        assert tok.token_to_id("[CLS]") == 101 and tok.id_to_token(101) == "[CLS]"
        assert tok.token_to_id("no-such-token-xyz") is None
        # out of range: MednerError, not None (issue 14.13); ctypes would wrap
        # 2**32 + 101 into [CLS] if the range were not checked before the call
        for bad in (10 ** 6, 30522, -1, 2 ** 32 + 101):
            with pytest.raises(medner.MednerError) as ei:
                tok.id_to_token(bad)
            assert ei.value.status == medner.Status.INVALID_ARGUMENT
            assert str(bad) in ei.value.message
        assert tok.id_to_token(30521) is not None
        with pytest.raises(TypeError):
            tok.id_to_token("101")


def test_path_with_nul_is_refused(model_dir, tmp_path):
    # ctypes would cut b"DIR\0junk" at the NUL and load DIR: a path naming
    # another file than the one given must raise ValueError (issue 14.13)
    with pytest.raises(ValueError, match="null"):
        medner.Tokenizer(str(model_dir) + "\0junk")
    with pytest.raises(ValueError, match="null"):
        medner.Tokenizer(vocab=str(VOCAB) + "\0junk")


def test_tokenizer_errors(tmp_path):
    with pytest.raises(medner.MednerError) as ei:
        medner.Tokenizer(str(tmp_path))
    assert ei.value.status == medner.Status.IO and str(tmp_path) in ei.value.message
    with pytest.raises(TypeError):
        medner.Tokenizer()
    with medner.Tokenizer(vocab=str(VOCAB)) as tok:
        with pytest.raises(medner.MednerError) as ei:
            tok.encode_windows("a b c", 10, 9)
        assert ei.value.status == medner.Status.INVALID_ARGUMENT


def test_close():
    tok = medner.Tokenizer(vocab=str(VOCAB))
    assert tok.encode("fever").tokens == ["[CLS]", "fever", "[SEP]"]
    tok.close()
    tok.close()                                 # idempotent
    with pytest.raises(ValueError, match="closed"):
        tok.encode("fever")


def test_options_report_what_runs(model_dir):
    # defaults from Hugging Face's BertTokenizer when nothing says otherwise
    with medner.Tokenizer(vocab=str(VOCAB)) as tok:
        o = tok.options
    assert isinstance(o, medner.TokenizerOptions)
    assert (o.lowercase, o.strip_accents, o.chinese_chars, o.clean_text) == (True, True, True, True)
    assert o.max_input_chars_per_word == 100 and o.model_max_length == 512
    assert (o.unk_token, o.cls_token, o.sep_token, o.pad_token, o.mask_token) == \
        ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]")
    # arguments win; strip_accents follows lowercase unless given
    with medner.Tokenizer(vocab=str(VOCAB), lowercase=False, max_input_chars_per_word=7,
                          model_max_length=64) as tok:
        o = tok.options
        assert (o.lowercase, o.strip_accents) == (False, False)
        assert o.max_input_chars_per_word == 7 and o.model_max_length == 64
        assert tok.encode("Fever").tokens[1] != "fever"      # and they are what runs
    with medner.Tokenizer(vocab=str(VOCAB), lowercase=True, strip_accents=False) as tok:
        assert (tok.options.lowercase, tok.options.strip_accents) == (True, False)
    with medner.Tokenizer(str(model_dir)) as tok:             # a model directory's files
        assert tok.options.model_max_length >= 3
