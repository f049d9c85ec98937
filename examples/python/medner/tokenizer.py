"""medner.Tokenizer: Hugging Face-identical WordPiece with code-point offsets."""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional, Tuple, Union
import operator
import threading
from ctypes import POINTER, byref, c_size_t

from . import _capi
from ._errors import MednerError, Status, check
from ._handle import Handle, c_path

lib = _capi.lib


@dataclasses.dataclass(frozen=True)
class Encoding:
    """One window of tokens.  `offsets` are (begin, end) Python str indices
    (code points) into the encoded text, (0, 0) for added special tokens, as
    Hugging Face's return_offsets_mapping gives them."""
    ids: List[int]
    tokens: List[str]
    offsets: List[Tuple[int, int]]
    type_ids: List[int]
    attention_mask: List[int]
    special_tokens_mask: List[int]
    word_ids: List[Optional[int]]          # None for added special tokens
    first_token: int        # index of the first non-special token in the whole text


@dataclasses.dataclass(frozen=True)
class TokenizerOptions:
    """The options a loaded tokenizer runs with (medner_tokenizer_params_get()):
    what the arguments said, else the files, else Hugging Face's defaults."""
    lowercase: bool
    strip_accents: bool
    chinese_chars: bool
    clean_text: bool
    max_input_chars_per_word: int
    model_max_length: int
    unk_token: str
    cls_token: str
    sep_token: str
    pad_token: str
    mask_token: str


def _switch(name, value):
    if value is None:
        return _capi.DEFAULT
    if isinstance(value, bool):
        return _capi.ON if value else _capi.OFF
    raise TypeError(f"{name}: expected True, False or None, got {value!r}")


class Tokenizer(Handle):
    """A loaded WordPiece tokenizer.

    Tokenizer("MODEL_DIR")   tokenizer.json / vocab.txt + tokenizer_config.json ...
    Tokenizer(vocab="vocab.txt", lowercase=False)

    Options (None = what the files say, else Hugging Face's default):
    lowercase, strip_accents, chinese_chars, clean_text (bool),
    max_input_chars_per_word, model_max_length (int).

    Immutable and safe to use from any number of threads at once; encode()
    releases the GIL.  Free it with close() or a `with` block.
    """

    _what = "tokenizer"

    def __init__(self, model_dir: "Optional[Union[str, os.PathLike[str]]]" = None, *,
                 vocab: "Optional[Union[str, os.PathLike[str]]]" = None,
                 lowercase: Optional[bool] = None, strip_accents: Optional[bool] = None,
                 chinese_chars: Optional[bool] = None, clean_text: Optional[bool] = None,
                 max_input_chars_per_word: Optional[int] = None,
                 model_max_length: Optional[int] = None) -> None:
        self._handle = None
        self._lib = lib
        if (model_dir is None) == (vocab is None):
            raise TypeError("Tokenizer: give exactly one of model_dir and vocab=")
        p = _capi.TokenizerParams()
        p.lowercase = _switch("lowercase", lowercase)
        p.strip_accents = _switch("strip_accents", strip_accents)
        p.chinese_chars = _switch("chinese_chars", chinese_chars)
        p.clean_text = _switch("clean_text", clean_text)
        p.max_input_chars_per_word = int(max_input_chars_per_word or 0)
        p.model_max_length = int(model_max_length or 0)
        handle = POINTER(_capi.Tokenizer)()
        if model_dir is not None:
            rc = lib.medner_tokenizer_load(byref(handle), c_path("model_dir", model_dir), byref(p))
        else:
            rc = lib.medner_tokenizer_load_vocab(byref(handle), c_path("vocab", vocab), byref(p))
        check(rc)
        self._handle = handle
        self._lock = threading.Lock()
        self._busy = 0

    def close(self) -> None:
        """Free the tokenizer.  Idempotent.  Raises RuntimeError while another
        thread is still encoding with it."""
        handle = self.__dict__.get("_handle")
        if handle is None:
            return
        with self._lock:
            if self._busy:
                raise RuntimeError("Tokenizer.close(): another thread is still encoding")
            self._handle = None
        self._lib.medner_tokenizer_free(handle)

    @property
    def options(self) -> TokenizerOptions:
        """The effective options (medner_tokenizer_params_get())."""
        p = _capi.TokenizerParams()
        check(lib.medner_tokenizer_params_get(byref(p), self._get()))

        def on(name):
            v = getattr(p, name)
            if v not in (_capi.ON, _capi.OFF):
                raise MednerError(Status.INTERNAL, f"tokenizer option {name}: unresolved value {v}")
            return v == _capi.ON

        def text(name):
            v = getattr(p, name)
            return v.decode("utf-8") if v is not None else ""
        return TokenizerOptions(on("lowercase"), on("strip_accents"), on("chinese_chars"),
                                on("clean_text"), int(p.max_input_chars_per_word),
                                int(p.model_max_length), text("unk_token"), text("cls_token"),
                                text("sep_token"), text("pad_token"), text("mask_token"))

    @property
    def vocab_size(self) -> int:
        return lib.medner_tokenizer_vocab_size(self._get())

    def id_to_token(self, token_id: int) -> str:
        """The string of a vocabulary id.  Raises MednerError (INVALID_ARGUMENT)
        for an id outside [0, vocab_size), TypeError for a non-integer."""
        token_id = operator.index(token_id)
        handle = self._get()
        n = lib.medner_tokenizer_vocab_size(handle)
        # checked here: ctypes would wrap an id above 2**31 into range
        s = lib.medner_tokenizer_id_to_token(handle, token_id) if 0 <= token_id < n else None
        if s is None:
            raise MednerError(Status.INVALID_ARGUMENT,
                              f"id_to_token: id {token_id} is outside the vocabulary [0, {n})")
        return s.decode("utf-8")

    def token_to_id(self, token: str) -> Optional[int]:
        b = token.encode("utf-8")
        i = lib.medner_tokenizer_token_to_id(self._get(), b, len(b))
        return None if i < 0 else i

    def encode(self, text: str, *, add_special_tokens: bool = True) -> Encoding:
        """The whole text as one window (no truncation)."""
        return self._encode(text, 0, 0, add_special_tokens)[0]

    def encode_windows(self, text: str, max_length: int, overlap: int = 0, *,
                       add_special_tokens: bool = True) -> List[Encoding]:
        """Windows of at most max_length tokens ([CLS]/[SEP] included) sharing
        `overlap` tokens, like Hugging Face's stride."""
        if max_length <= 0:
            raise ValueError("max_length must be positive")
        return self._encode(text, max_length, overlap, add_special_tokens)

    def _encode(self, text, max_length, overlap, specials):
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer: text must be str, got {type(text).__name__}")
        data = text.encode("utf-8")
        p = _capi.EncodeParams(max_length=max_length, overlap=overlap,
                               special_tokens=_capi.ON if specials else _capi.OFF)
        with self._lock:            # close() waits for no one: it refuses while busy
            handle = self._get()
            self._busy += 1
        try:
            enc = POINTER(_capi.Encoding)()
            check(lib.medner_tokenizer_encode(byref(enc), handle, data, len(data), byref(p)))
            try:
                return [self._window(handle, enc, i, data)
                        for i in range(lib.medner_encoding_num_windows(enc))]
            finally:
                lib.medner_encoding_free(enc)
        finally:
            with self._lock:
                self._busy -= 1

    def _window(self, handle, enc, index, data):
        return _window(handle, enc, index, data)


def _window(handle, enc, index, data):
    """Window `index` of a medner_encoding of UTF-8 `data` as an Encoding
    (also used by Pipeline.windows())."""
    w = _capi.Window()
    check(lib.medner_window_get(byref(w), enc, index))
    n = w.length
    ids = w.ids[:n]
    # byte offsets -> code points in one call (the [CLS]/[SEP] (0, 0) stay 0)
    offs = (c_size_t * (2 * n))(*w.offsets[:2 * n])
    if n:
        check(lib.medner_utf8_codepoint_offsets(offs, data, len(data), offs, 2 * n))
    return Encoding(
        ids=ids,
        tokens=[lib.medner_tokenizer_id_to_token(handle, i).decode("utf-8") for i in ids],
        offsets=[(offs[2 * k], offs[2 * k + 1]) for k in range(n)],
        type_ids=w.type_ids[:n],
        attention_mask=w.attention_mask[:n],
        special_tokens_mask=w.special_mask[:n],
        word_ids=[None if x < 0 else x for x in w.word_ids[:n]],
        first_token=w.first_token)
