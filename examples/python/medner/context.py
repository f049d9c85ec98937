"""Clinical context without a model: ConText over spans found elsewhere
(dictionary matches, another NER), sentences and sections (docs/context.md)."""

from __future__ import annotations

import itertools
import os
from typing import Iterable, List, Optional, Tuple, Union
from ctypes import POINTER, byref, c_char_p, c_int32, c_size_t

from . import _capi
from ._errors import check
from ._handle import Handle, c_path
from .pipeline import Entity, _entity

lib = _capi.lib


class ContextRules(Handle):
    """A loaded ConText rule set: ContextRules() for the built-in rules, or
    ContextRules("rules.yaml") (medner_context_rules_load()).  Immutable:
    share it between threads.  Free it with close() or a `with` block."""

    _what = "rule set"

    def __init__(self, path: "Optional[Union[str, bytes, os.PathLike[str]]]" = None) -> None:
        self._handle = None
        self._lib = lib
        handle = POINTER(_capi.ContextRules)()
        check(lib.medner_context_rules_load(byref(handle),
                                            None if path is None else c_path("rules", path)))
        self._handle = handle

    def close(self) -> None:
        handle, self._handle = self.__dict__.get("_handle"), None
        if handle is not None:
            self._lib.medner_context_rules_free(handle)


def _byte_offsets(text):
    """data (UTF-8) and the byte offset of every code point of text (plus the end)."""
    data = text.encode("utf-8")
    offs = [0]
    offs.extend(itertools.accumulate(len(ch.encode("utf-8", "surrogatepass")) for ch in text))
    return data, offs


Span = Union[Tuple[int, int], Tuple[int, int, str], Entity]


def context(text: str, spans: Iterable[Span],
            rules: "Optional[Union[str, os.PathLike[str], ContextRules]]" = None) -> List[Entity]:
    """ConText flags, section and sentence of `spans` in `text`
    (medner_context_apply()).

    spans  an iterable of (start, end) or (start, end, label) tuples, or of
           Entity objects, with Python str indices (code points); they may
           overlap.
    rules  None (the built-in rules), a YAML rule file path, or a ContextRules.

    Returns one Entity per span, in the order given, with score 0.0 and the
    flags set (negated, uncertain, historical, hypothetical, family, section,
    sentence).  A span out of range or empty raises MednerError."""
    if not isinstance(text, str):
        raise TypeError(f"context: text must be str, got {type(text).__name__}")
    items: List[Tuple[int, int, Optional[str]]] = []
    for s in spans:
        if isinstance(s, Entity):
            items.append((s.start, s.end, s.label))
        else:
            t: tuple = tuple(s)
            if len(t) not in (2, 3):
                raise TypeError(f"context: a span is (start, end) or (start, end, label), "
                                f"got {t!r}")
            items.append((int(t[0]), int(t[1]), t[2] if len(t) == 3 else None))
    data, offs = _byte_offsets(text)
    n = len(items)
    begins, ends = (c_size_t * max(n, 1))(), (c_size_t * max(n, 1))()
    labels = (c_char_p * max(n, 1))()
    for i, (b, e, label) in enumerate(items):
        if not 0 <= b < e <= len(text):
            raise ValueError(f"context: span {i} [{b}, {e}) is empty or beyond the text "
                             f"({len(text)} characters)")
        begins[i], ends[i] = offs[b], offs[e]
        if label is not None:
            encoded = str(label).encode("utf-8")
            if b"\0" in encoded:
                raise ValueError(f"context: span {i}: embedded null byte in the label")
            labels[i] = encoded
    if isinstance(rules, ContextRules):
        r, own = rules, False
    else:
        r, own = ContextRules(rules), True
    out = POINTER(_capi.Entities)()
    try:
        check(lib.medner_context_apply(byref(out), r._get(), data, len(data), begins, ends,
                                       labels, n))
    finally:
        if own:
            r.close()
    try:
        # the result is sorted by (begin, end), ties in the given order
        order = sorted(range(n), key=lambda i: (begins[i], ends[i], i))
        result: list = [None] * n
        for k, i in enumerate(order):
            result[i] = _entity(out, k, text, ran=True)
        return result
    finally:
        lib.medner_entities_free(out)


def _spans(fn, text):
    data = text.encode("utf-8")
    spans = POINTER(_capi.Spans)()
    check(fn(byref(spans), data, len(data)))
    try:
        # byte offsets -> code points
        cp = {}
        k = 0
        for i, ch in enumerate(text):
            cp[k] = i
            k += len(ch.encode("utf-8", "surrogatepass"))
        cp[k] = len(text)
        b, e, c = c_size_t(), c_size_t(), c_int32()
        out = []
        for i in range(lib.medner_spans_count(spans)):
            check(lib.medner_span_get(byref(b), byref(e), byref(c), spans, i))
            out.append((cp[b.value], cp[e.value], c.value))
        return out
    finally:
        lib.medner_spans_free(spans)


def sentences(text: str) -> List[Tuple[int, int]]:
    """Sentences of a clinical text as (start, end) str indices (medner_sentences_split());
    their indices are those of Entity.sentence."""
    return [(b, e) for b, e, _ in _spans(lib.medner_sentences_split, text)]


def sections(text: str) -> List[Tuple[int, int, str]]:
    """Sections of a note as (start, end, name) with str indices and the section
    name, e.g. "family_history" (medner_sections_detect())."""
    return [(b, e, lib.medner_section_name(c).decode("ascii"))
            for b, e, c in _spans(lib.medner_sections_detect, text)]


