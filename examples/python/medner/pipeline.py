"""medner.Pipeline: text in, entities out."""

from __future__ import annotations

import array
import concurrent.futures
import dataclasses
import itertools
import os
import re
import threading
from ctypes import POINTER, byref, c_char_p, c_float, c_int, c_int32, c_size_t, cast
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Literal,
                    Optional, Sequence, Union, overload)

from . import _capi
from ._errors import Cancelled, MednerError, Status, check, error
from ._handle import Handle, c_path
from .tokenizer import Encoding, _window

if TYPE_CHECKING:        # pragma: no cover
    import pandas

#: Path-like arguments (model, base, adapter, config, context rule files).
PathArg = Union[str, bytes, "os.PathLike[str]"]

lib = _capi.lib


@dataclasses.dataclass(frozen=True)
class Entity:
    """One entity.  `start`/`end` are Python str indices (code points) into
    the annotated text, so ``text[start:end] == entity.text``.

    Clinical context (docs/context.md), when it ran: `negated`, `uncertain`,
    `historical`, `hypothetical`, `family` (experiencer other than the
    patient), `section` (e.g. "family_history", "none" before any header)
    and `sentence` (0-based index).  When it did not run: the flags are
    False and `section` and `sentence` are None."""
    label: str
    start: int
    end: int
    score: float
    text: str
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    hypothetical: bool = False
    family: bool = False
    section: Optional[str] = None
    sentence: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict (label, start, end, score, text, the context
        flags, section, sentence), e.g. for json.dumps or a DataFrame row."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TextError:
    """The result, in place of a list of entities, of a text that could not be
    annotated when a batch call is made with ``errors="return"``.

    `index` is the text's position in the call (in `stream()`, in the whole
    iterable), `status` a `medner.Status` (or an int newer than this
    package), `message` what failed and where (`medner_last_error()`; never
    the input text)."""
    index: int
    status: Union[Status, int]
    message: str

    def to_dict(self) -> Dict[str, Any]:
        return {"index": self.index, "status": getattr(self.status, "name", self.status),
                "message": self.message}

    def exception(self) -> MednerError:
        """The MednerError that errors="raise" would have raised."""
        return MednerError(self.status, self.message)


@dataclasses.dataclass(frozen=True)
class Progress:
    """Where an annotate call stands (medner_progress), as a `progress`
    callback receives it: after each batch of windows and each segment of a
    long text.  Counts are of the call (with `threads` > 1: of the share of
    the worker thread that reports)."""
    texts_done: int      # texts whose entities are final
    n_texts: int         # texts of the call
    windows_done: int    # windows run through the encoder so far
    bytes_done: int      # UTF-8 bytes of the texts (or segments) whose windows have all run
    total_bytes: int     # UTF-8 bytes of all the texts of the call


#: progress(Progress) -> None; should_abort() -> bool (True stops the call).
ProgressCallback = Callable[[Progress], Any]
AbortCallback = Callable[[], Any]


class _Call:
    """The callbacks of one annotate call on one thread, and the first
    exception one of them raised (it never unwinds through C: the trampoline
    stores it and asks the library to stop; the call then raises it)."""
    __slots__ = ("progress", "should_abort", "error")

    def __init__(self, progress, should_abort):
        self.progress = progress
        self.should_abort = should_abort
        self.error = None


def _trampolines(tls):
    """The C progress and abort callbacks of one pipeline.  They find the
    current call's Python callbacks in `tls` (the pipeline's thread-local:
    medner calls them on the annotating thread) and hold no reference to the
    Pipeline itself, so the pipeline can still be freed by reference count."""

    def on_progress(p, _user):
        call = getattr(tls, "call", None)
        if call is None or call.progress is None or call.error is not None:
            return
        try:
            c = p.contents
            call.progress(Progress(c.texts_done, c.n_texts, c.windows_done, c.bytes_done,
                                   c.total_bytes))
        except BaseException as e:    # noqa: B036 -- stored, re-raised by the caller
            call.error = e

    def on_abort(_user):
        call = getattr(tls, "call", None)
        if call is None:
            return 0
        if call.error is not None:    # a progress callback raised: stop now
            return 1
        if call.should_abort is None:
            return 0
        try:
            return 1 if call.should_abort() else 0
        except BaseException as e:    # noqa: B036
            call.error = e
            return 1

    return _capi.ProgressFn(on_progress), _capi.AbortFn(on_abort)


#: What one text gives: its entities, or with errors="return" a TextError.
Result = Union[List[Entity], TextError]
Errors = Literal["raise", "return"]


def _check_errors(errors):
    if errors not in ("raise", "return"):
        raise ValueError(f"errors: expected \"raise\" or \"return\", got {errors!r}")


def _is_adapter_dir(d):
    """A PEFT adapter directory without a model of its own (as the CLI's
    hint checks it)."""
    try:
        d = os.fsdecode(d)
        has = lambda name: os.path.exists(os.path.join(d, name))  # noqa: E731
        return has("adapter_config.json") and (
            not has("config.json") or not any(has(n) for n in (
                "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")))
    except (TypeError, ValueError):
        return False


def _enum(name, value, table):
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            return table[value.lower()]
        except KeyError:
            raise ValueError(f"{name}: unknown value {value!r} (expected one of "
                             f"{', '.join(sorted(table))})") from None
    return int(value)     # the C enum value itself; the library validates it


def _switch(name, value):
    if value is None:
        return _capi.DEFAULT
    if isinstance(value, bool):
        return _capi.ON if value else _capi.OFF
    raise TypeError(f"{name}: expected True, False or None, got {value!r}")


def _uint(name, value):
    if value is None:
        return 0
    value = int(value)
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name}: {value} does not fit in 32 bits")
    return value


def _strings(name, values):
    # a lone string is a sequence of characters: keep_labels="Disease" would
    # silently keep the types "D", "i", "s", ...
    if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name}: expected a list of strings, got {type(values).__name__}")
    encoded = [os.fsencode(v) if isinstance(v, os.PathLike) else str(v).encode("utf-8")
               for v in values]
    if any(b"\0" in b for b in encoded):
        raise ValueError(f"{name}: embedded null byte in a label")
    return (c_char_p * max(len(encoded), 1))(*encoded), len(encoded)


_PIPELINE_OPTIONS = ("max_length", "overlap", "batch_size", "threads", "merge",
                     "first_window_only", "encoder_threads", "context", "precision",
                     "segment")
_DECODER_OPTIONS = ("aggregation", "decoding", "scheme", "min_score", "ignore_labels",
                    "keep_labels", "renames")
OPTIONS = _PIPELINE_OPTIONS + _DECODER_OPTIONS


def _build_params(model, adapter, options):
    """medner_pipeline_params (+ decoder params) from keyword options.
    Returns (params, keepalive); zero/None fields mean "default"."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"Pipeline: unknown option(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(OPTIONS)}")
    p = _capi.PipelineParams()
    keep = []
    if model is not None:
        p.model_dir = c_path("model", model)
    if adapter is not None:
        p.adapter_dir = c_path("adapter", adapter)
    for name in ("max_length", "overlap", "batch_size", "threads", "encoder_threads"):
        setattr(p, name, _uint(name, options.get(name)))
    if options.get("overlap") == 0:          # 0 means no overlap, not the default
        p.explicit_fields |= _capi.PIPELINE_EXPLICIT_OVERLAP
    p.merge = _enum("merge", options.get("merge"), _capi.MERGE)
    p.segment = _enum("segment", options.get("segment"), _capi.SEGMENT)
    if options.get("segment") is not None:   # "none" is a choice: it wins over a config's
        p.explicit_fields |= _capi.PIPELINE_EXPLICIT_SEGMENT
    p.precision = _enum("precision", options.get("precision"), _capi.PRECISION)
    p.first_window_only = _switch("first_window_only", options.get("first_window_only"))
    context = options.get("context")
    if context is None or isinstance(context, bool):
        p.context = _switch("context", context)
    elif isinstance(context, str) and context in ("default", "on", "off"):
        p.context = _capi.OFF if context == "off" else _capi.ON
    elif isinstance(context, (str, bytes, os.PathLike)):
        p.context = _capi.ON                 # a YAML rule file
        p.context_rules = c_path("context", context)
    else:
        raise TypeError(f"context: expected \"default\", \"off\", a rule file path, True, "
                        f"False or None, got {context!r}")
    if any(options.get(k) is not None for k in _DECODER_OPTIONS):
        d = _capi.DecoderParams()
        d.aggregation = _enum("aggregation", options.get("aggregation"), _capi.AGGREGATION)
        d.decoding = _enum("decoding", options.get("decoding"), _capi.DECODING)
        d.scheme = _enum("scheme", options.get("scheme"), _capi.SCHEME)
        d.min_score = float(options.get("min_score") or 0.0)
        if options.get("min_score") is not None:
            d.explicit_fields |= _capi.DECODER_EXPLICIT_MIN_SCORE
        if options.get("ignore_labels") is not None:
            arr, n = _strings("ignore_labels", options["ignore_labels"])
            d.ignore_labels, d.n_ignore_labels = arr, n
            d.explicit_fields |= _capi.DECODER_EXPLICIT_IGNORE_LABELS  # []: ignore nothing
            keep.append(arr)
        if options.get("keep_labels") is not None:
            arr, n = _strings("keep_labels", options["keep_labels"])
            d.keep_labels, d.n_keep_labels = arr, n
            keep.append(arr)
        if options.get("renames") is not None:
            if isinstance(options["renames"], (str, bytes, bytearray)):
                raise TypeError("renames: expected a dict {from: to}, got "
                                f"{type(options['renames']).__name__}")
            renames = dict(options["renames"])
            src, n = _strings("renames", list(renames.keys()))
            dst, _ = _strings("renames", list(renames.values()))
            d.rename_from, d.rename_to, d.n_renames = src, dst, n
            keep += [src, dst]
        p.decoder = POINTER(_capi.DecoderParams)(d)
        keep.append(d)
    return p, keep


class Pipeline(Handle):
    """A loaded NER pipeline (tokenizer, encoder weights, decoder, windowing).

    Pipeline(model="DIR", **options)            medner_pipeline_create()
    Pipeline(base="DIR", adapter="ADIR", ...)   a base model with a PEFT LoRA adapter merged
                                                at load (`base` is the same as `model`, as
                                                the CLI's --base; give one of the two)
    Pipeline(config="FILE.yaml", **options)     medner_pipeline_load_config(); `model` and
                                                every option given win over the file

    Options (None or 0 = the default, as a zero field of the C params struct):
      aggregation  "none" | "simple" | "first" (default) | "average" | "max"
      decoding     "argmax" (default) | "constrained"
      scheme       "auto" (default) | "io" | "bio" | "bioes"
      max_length, overlap, batch_size, encoder_threads (threads inside one forward pass)
      threads      Python worker threads used by one call on a list of texts (default 1)
      merge        "center" (default) | "hf"
      segment      "none" (default) | "sentence": annotate each sentence of a text on
                   its own (entities put back into the whole text), for models
                   trained one sentence at a time; given, it wins over config=
                   (segment="none" too; docs/config.md)
      precision    "fp32" (default) | "bf16" | "int8" | "auto": arithmetic of the
                   encoder's products (docs/precision.md)
      first_window_only  True | False
      min_score    float in [0, 1]
      ignore_labels, keep_labels  lists of strings; renames  {"from": "to"}
      context      "default" (on, built-in rules) | "off" | a YAML rule file path |
                   None (default: on when the model's labels look clinical); the
                   entities then carry negated, uncertain, historical, hypothetical,
                   family, section and sentence (docs/context.md)

    progress     a callable taking a medner.Progress, called after each batch of
                 windows (the default of every call; a call's own progress= wins)
    should_abort a callable taking nothing: return True to stop the call, which
                 then raises medner.Cancelled (the default of every call, as above)
    An exception raised inside either callback stops the call and is
    re-raised by it (it never unwinds through the C library).

    Calling the pipeline releases the GIL while medner works.  One Pipeline
    may be called from any number of threads at once: each call borrows a
    per-thread medner_context from a pool (created on demand, reused, freed
    with the pipeline), as the C API requires.

    Free it with close() or a `with` block; the garbage collector also frees
    it.  Errors raise medner.MednerError.
    """

    _what = "pipeline"

    def __init__(self, model: Optional[PathArg] = None, adapter: Optional[PathArg] = None,
                 config: Optional[PathArg] = None, *, base: Optional[PathArg] = None,
                 precision: Optional[str] = None,
                 progress: Optional[ProgressCallback] = None,
                 should_abort: Optional[AbortCallback] = None, **options: Any) -> None:
        self._handle = None
        self._lib = lib               # kept for __del__ at interpreter shutdown
        if base is not None:
            if model is not None:
                raise TypeError("Pipeline: give model= or base= (the same thing: the base "
                                "model of an adapter), not both")
            model = base
        if model is None and config is None:
            raise TypeError("Pipeline: model= or base= (a model directory) or config= "
                            "(a YAML file) is required")
        if precision is not None:
            options["precision"] = precision
        params, keep = _build_params(model, adapter, options)
        # The C callbacks are always installed (one Python check per batch of
        # windows when no callback is set): per-call callbacks need no
        # pipeline of their own.  They must outlive the pipeline: kept on self.
        self._tls = threading.local()
        self._progress, self._should_abort = progress, should_abort
        self._c_callbacks = _trampolines(self._tls)
        params.progress = cast(self._c_callbacks[0], _capi.c_void_p)
        params.abort_callback = cast(self._c_callbacks[1], _capi.c_void_p)
        handle = POINTER(_capi.Pipeline)()
        if config is None:
            rc = lib.medner_pipeline_create(byref(handle), byref(params))
        else:
            rc = lib.medner_pipeline_load_config(byref(handle), c_path("config", config),
                                                 byref(params))
        try:
            check(rc)
        except MednerError as e:
            if config is None and adapter is None and model is not None and \
                    _is_adapter_dir(model):
                raise MednerError(e.status, f"{e.message} ({os.fsdecode(model)} holds a PEFT "
                                  "adapter (adapter_config.json), not a model: give its base "
                                  "model too, as Pipeline(base=BASE_DIR, adapter=...))") from None
            raise
        del keep
        self._handle = handle
        self._lock = threading.Lock()
        self._pool: list = []         # idle contexts
        self._busy = 0                # contexts lent out
        eff = self._effective_params()
        self._threads = eff["threads"]
        self._context_on = eff["context"]
        raw = _capi.PipelineParams()
        check(lib.medner_pipeline_params_get(byref(raw), handle))
        self._windowing = (raw.max_length, raw.overlap, raw.batch_size)
        self._merge = raw.merge

    # ---- lifetime

    def close(self) -> None:
        """Free the contexts, then the pipeline.  Idempotent.  Raises
        RuntimeError while another thread is still annotating."""
        handle = self.__dict__.get("_handle")
        if handle is None:
            return
        with self._lock:
            if self._busy:
                raise RuntimeError("Pipeline.close(): another thread is still annotating")
            pool, self._pool = self._pool, []
            self._handle = None
        for ctx in pool:
            self._lib.medner_context_free(ctx)
        self._lib.medner_pipeline_free(handle)

    def _acquire(self):
        with self._lock:
            handle = self._get()
            self._busy += 1
            if self._pool:
                return self._pool.pop()
        ctx = POINTER(_capi.Context)()
        rc = lib.medner_pipeline_context_create(byref(ctx), handle)
        if rc != _capi.OK:
            try:
                check(rc)
            finally:
                with self._lock:
                    self._busy -= 1
        return ctx

    def _lend(self):
        """The live handle, counted as busy (close() refuses meanwhile) until
        _unlend(): for calls that need the pipeline but no context."""
        with self._lock:
            handle = self._get()
            self._busy += 1
        return handle

    def _unlend(self):
        with self._lock:
            self._busy -= 1

    def _release(self, ctx):
        with self._lock:
            self._pool.append(ctx)
            self._busy -= 1

    # ---- information

    def _effective_params(self):
        p = _capi.PipelineParams()
        check(lib.medner_pipeline_params_get(byref(p), self._get()))
        out = {name: getattr(p, name) for name in
               ("max_length", "overlap", "batch_size", "threads", "encoder_threads")}
        out["model"] = p.model_dir.decode("utf-8", "surrogateescape")
        out["merge"] = {v: k for k, v in _capi.MERGE.items()}.get(p.merge, p.merge)
        out["segment"] = {v: k for k, v in _capi.SEGMENT.items()}.get(p.segment, p.segment)
        out["precision"] = {v: k for k, v in _capi.PRECISION.items()}.get(p.precision,
                                                                          p.precision)
        out["first_window_only"] = p.first_window_only == _capi.ON
        out["context"] = p.context == _capi.ON
        out["context_rules"] = (p.context_rules.decode("utf-8", "surrogateescape")
                                if p.context_rules else None)
        if p.decoder:
            d = p.decoder.contents
            out["aggregation"] = {v: k for k, v in _capi.AGGREGATION.items()}.get(
                d.aggregation, "first" if d.aggregation == 0 else d.aggregation)
            out["decoding"] = {v: k for k, v in _capi.DECODING.items()}.get(
                d.decoding, "argmax" if d.decoding == 0 else d.decoding)
            out["min_score"] = d.min_score
        return out

    @property
    def params(self) -> Dict[str, Any]:
        """Effective options after the config file, the overrides and the
        defaults (medner_pipeline_params_get())."""
        return self._effective_params()

    @property
    def labels(self) -> List[str]:
        """The model's labels (config.json id2label), by class id."""
        enc = lib.medner_pipeline_encoder(self._get())
        info = _capi.EncoderInfo()
        check(lib.medner_encoder_info_get(byref(info), enc))
        return [lib.medner_encoder_label(enc, i).decode("utf-8") for i in range(info.num_labels)]

    # ---- decoding the logits of an encoder of one's own (0.3)

    @property
    def num_labels(self) -> int:
        """Labels of the pipeline's decoder: the width of each logits row
        decode() reads (medner_decoder_num_labels())."""
        handle = self._lend()
        try:
            return lib.medner_decoder_num_labels(lib.medner_pipeline_decoder(handle))
        finally:
            self._unlend()

    def _encode(self, handle, text):
        """medner_tokenizer_encode of `text` as the pipeline windows it:
        (encoding handle, UTF-8 bytes).  Free the encoding."""
        if not isinstance(text, str):
            raise TypeError(f"Pipeline: text must be str, got {type(text).__name__}")
        data = text.encode("utf-8")
        max_length, overlap, _ = self._windowing
        p = _capi.EncodeParams(max_length=max_length, overlap=overlap)
        enc = POINTER(_capi.Encoding)()
        check(lib.medner_tokenizer_encode(byref(enc), lib.medner_pipeline_tokenizer(handle),
                                          data, len(data), byref(p)))
        return enc, data

    def windows(self, text: str) -> List[Encoding]:
        """The windows the pipeline makes of `text` (its tokenizer, max_length
        and overlap, [CLS]/[SEP] included): the input of an encoder of your
        own, whose per-window logits decode() then turns into entities."""
        handle = self._lend()
        try:
            enc, data = self._encode(handle, text)
            try:
                tok = lib.medner_pipeline_tokenizer(handle)
                return [_window(tok, enc, i, data)
                        for i in range(lib.medner_encoding_num_windows(enc))]
            finally:
                lib.medner_encoding_free(enc)
        finally:
            self._unlend()

    def logits(self, text: str) -> List["array.array[float]"]:
        """The pipeline's own encoder on each window of `text`: one
        array('f') per window of window length x num_labels floats, row-major,
        [CLS]/[SEP] rows included (medner_context_logits()).  What an encoder
        of your own would give decode(); e.g. to compare with it."""
        ctx = self._acquire()
        try:
            enc, _ = self._encode(self._handle, text)
            try:
                n_labels = lib.medner_decoder_num_labels(lib.medner_pipeline_decoder(self._handle))
                n = lib.medner_encoding_num_windows(enc)
                result = []
                for first in range(0, n, max(self._windowing[2], 1)):   # batch_size windows
                    k = min(max(self._windowing[2], 1), n - first)
                    wins = [_capi.Window() for _ in range(k)]
                    for j, w in enumerate(wins):
                        check(lib.medner_window_get(byref(w), enc, first + j))
                    ids = (POINTER(c_int32) * k)(*[w.ids for w in wins])
                    lengths = (c_size_t * k)(*[w.length for w in wins])
                    check(lib.medner_encoder_run(ctx, ids, None, lengths, k))
                    for j, w in enumerate(wins):
                        rows = lib.medner_context_logits(ctx, j)
                        if not rows:
                            raise MednerError(Status.INTERNAL, "medner_context_logits: no logits")
                        result.append(array.array("f", rows[:w.length * n_labels]))
                return result
            finally:
                lib.medner_encoding_free(enc)
        finally:
            self._release(ctx)

    def decode(self, text: str, window_logits: Sequence[Any], *,
               merge: Optional[str] = None, partial: bool = False) -> List[Entity]:
        """Entities of `text` from logits computed elsewhere (your own ONNX
        Runtime, PyTorch or GPU encoder), decoded exactly as annotate() decodes
        its own encoder's (medner_decoder_decode(): same softmax, aggregation,
        scheme, filters, reconciliation of overlapping windows).

        window_logits: one entry per window of windows(text), in order; each
        is window length x num_labels numbers, [CLS]/[SEP] rows included, as
        a float32 buffer (numpy.float32 array, array('f'), memoryview: used
        without conversion), any other buffer of numbers (e.g. float64), or
        a flat or nested sequence of numbers.  numpy is not needed.
        merge: "center" | "hf" (default: the pipeline's).  partial=True
        accepts fewer entries than windows: only those windows are decoded,
        each on its own (as first_window_only).  Clinical context is not
        applied (section and sentence are None).  Raises ValueError for a
        wrong number of windows or values."""
        merge_value = self._merge if merge is None else _enum("merge", merge, _capi.MERGE)
        if isinstance(window_logits, (str, bytes)) or not hasattr(window_logits, "__len__"):
            raise TypeError("decode: window_logits must be a sequence with one entry per window")
        handle = self._lend()
        try:
            enc, data = self._encode(handle, text)
            try:
                n = lib.medner_encoding_num_windows(enc)
                given = len(window_logits)
                if given > n or (given < n and not partial) or given == 0 < n:
                    raise ValueError(
                        f"decode: the text has {n} window(s) (Pipeline.windows()); got logits "
                        f"of {given}" + ("" if given > n or partial else
                                         " (partial=True decodes only the first ones)"))
                decoder = lib.medner_pipeline_decoder(handle)
                n_labels = lib.medner_decoder_num_labels(decoder)
                arrays = []
                for i in range(given):
                    w = _capi.Window()
                    check(lib.medner_window_get(byref(w), enc, i))
                    arrays.append(_floats(f"window {i}", window_logits[i], w.length, n_labels))
                rows = (POINTER(c_float) * max(given, 1))(
                    *[cast(a, POINTER(c_float)) for a in arrays])
                out = POINTER(_capi.Entities)()
                check(lib.medner_decoder_decode(byref(out), decoder,
                                                lib.medner_pipeline_tokenizer(handle), enc,
                                                rows, given, merge_value, data, len(data)))
                try:
                    return _entities(out, text, False)
                finally:
                    lib.medner_entities_free(out)
            finally:
                lib.medner_encoding_free(enc)
        finally:
            self._unlend()

    # ---- annotation

    @overload
    def __call__(self, texts: str,  # type: ignore[overload-overlap]
                 *, errors: Errors = "raise") -> List[Entity]: ...

    @overload
    def __call__(self, texts: Iterable[str], *, errors: Errors = "raise") -> List[Result]: ...

    def __call__(self, texts, *, errors="raise", progress=None, should_abort=None):
        """Entities of one text (a list of Entity) or of a list of texts (a
        list of lists).  Windows of all texts of a call are batched together.

        errors="raise" (default): any failing text raises MednerError and the
        call returns nothing.  errors="return": a text that fails gets a
        TextError in its slot (found by annotating the texts of a failed
        batch one by one, as `medner annotate` does) and every other text its
        entities; a single str still raises.

        progress, should_abort: callbacks of this call (default: the
        pipeline's); should_abort returning True raises medner.Cancelled, and
        an exception raised by either is re-raised here.  Either way no
        result is returned and the pipeline stays usable."""
        _check_errors(errors)
        cbs = self._callbacks(progress, should_abort)
        if isinstance(texts, str):
            return self._annotate([texts], "raise", 0, cbs)[0]
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"Pipeline: texts must be str, got {type(t).__name__}")
        return self._run(texts, errors, 0, cbs)

    annotate = __call__

    def annotate_many(self, texts: Iterable[str], *, errors: Errors = "return",
                      progress: Optional[ProgressCallback] = None,
                      should_abort: Optional[AbortCallback] = None) -> List[Result]:
        """Results of a list of texts, in order; by default (errors="return")
        a text that fails gets a TextError in its slot instead of sinking the
        whole call.  The same as ``pipeline(texts, errors=...)``."""
        if isinstance(texts, str):
            raise TypeError("annotate_many: expected an iterable of str, got a single str")
        return self(texts, errors=errors, progress=progress, should_abort=should_abort)

    def annotate_each(self, texts: Iterable[str], *,
                      progress: Optional[ProgressCallback] = None,
                      should_abort: Optional[AbortCallback] = None) -> List[Result]:
        """Each text succeeds or fails on its own (medner_pipeline_annotate_each):
        one result per text, in order: its list of Entity, or a TextError
        (index, status, message) for a text that failed, e.g. one with a lone
        surrogate (not UTF-8: Status.INVALID_UTF8).  Nothing is raised for a
        failing text; a cancelled call (should_abort) raises medner.Cancelled
        and an exception of a callback is re-raised.  Results are those of
        annotating each text alone.  ``[r for r in results if isinstance(r,
        medner.TextError)]`` lists the failures; TextError.exception() gives
        the MednerError that annotating the text alone would raise.  The same
        as annotate_many(texts, errors="return")."""
        return self.annotate_many(texts, errors="return", progress=progress,
                                  should_abort=should_abort)

    def _callbacks(self, progress, should_abort):
        for name, f in (("progress", progress), ("should_abort", should_abort)):
            if f is not None and not callable(f):
                raise TypeError(f"{name}: expected a callable, got {type(f).__name__}")
        return (self._progress if progress is None else progress,
                self._should_abort if should_abort is None else should_abort)

    def stream(self, texts: Iterable[str], batch_size: int = 32, *,
               errors: Errors = "raise", progress: Optional[ProgressCallback] = None,
               should_abort: Optional[AbortCallback] = None) -> Iterator[Result]:
        """Lazily annotate an iterable (e.g. a generator over a large file):
        yields one result per text, in order, taking `batch_size` texts at a
        time from the iterable (one batched call each, split over `threads`
        workers), so memory stays bounded by one batch whatever the input's
        length.  errors: as for __call__; a TextError's index counts from the
        start of the iterable.  progress and should_abort apply to each
        batch's call (Progress counts are of the batch)."""
        _check_errors(errors)
        cbs = self._callbacks(progress, should_abort)
        if isinstance(texts, str):
            raise TypeError("stream: expected an iterable of str, got a single str")
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"stream: batch_size must be at least 1, got {batch_size}")
        it = iter(texts)
        base = 0
        while True:
            chunk = list(itertools.islice(it, batch_size))
            if not chunk:
                return
            for t in chunk:
                if not isinstance(t, str):
                    raise TypeError(f"Pipeline: texts must be str, got {type(t).__name__}")
            results = self._run(chunk, errors, base, cbs)
            base += len(chunk)
            del chunk
            yield from results

    def to_frame(self, texts: Iterable[str]) -> "pandas.DataFrame":
        """The entities of `texts` as a pandas DataFrame, one row per entity
        (medner._frame; needs pandas)."""
        from ._frame import to_frame
        return to_frame(self, texts)

    def _run(self, texts, errors, base, cbs=(None, None)):
        if self._threads <= 1 or len(texts) <= 1:
            return self._annotate(texts, errors, base, cbs)
        # Worker threads, each with its own context: contiguous shares keep
        # the batching of neighbouring texts and the output order.
        k = min(self._threads, len(texts))
        bounds = [len(texts) * i // k for i in range(k + 1)]
        with concurrent.futures.ThreadPoolExecutor(k) as ex:
            parts = list(ex.map(lambda i: self._annotate(texts[bounds[i]:bounds[i + 1]], errors,
                                                         base + bounds[i], cbs),
                                range(k)))
        return [ents for part in parts for ents in part]

    def _annotate(self, texts, errors="raise", base=0, cbs=(None, None)):
        n = len(texts)
        if n == 0:
            return []
        if errors == "raise":
            data = [t.encode("utf-8") for t in texts]
        else:
            # a lone surrogate is not UTF-8: let the library say where (its
            # INVALID_UTF8 error becomes this text's TextError)
            data = [t.encode("utf-8", "surrogatepass") for t in texts]
        call = _Call(*cbs)
        ctx = self._acquire()
        self._tls.call = call
        try:
            if errors == "raise":
                rc, out, msg = self._call(ctx, data, 0, n)
                if call.error is not None:
                    if rc == _capi.OK:
                        self._free(out, n)
                    raise call.error
                if rc != _capi.OK:
                    raise error(rc, msg)
                return self._convert(out, texts, 0, n)
            return self._annotate_each(ctx, call, texts, data, base)
        finally:
            self._tls.call = None
            self._release(ctx)

    def _annotate_each(self, ctx, call, texts, data, base):
        """medner_pipeline_annotate_each: a TextError in the slot of each text
        that failed, the entities of the others."""
        n = len(texts)
        bufs = (c_char_p * n)(*data)
        lens = (c_size_t * n)(*[len(b) for b in data])
        out = (POINTER(_capi.Entities) * n)()
        status = (c_int * n)()
        first = c_size_t(_capi.SIZE_MAX)
        rc = lib.medner_pipeline_annotate_each(out, status, byref(first), self._handle, ctx,
                                               bufs, lens, n)
        msg = lib.medner_last_error().decode("utf-8", "replace") \
            if rc != _capi.OK or first.value != _capi.SIZE_MAX else ""
        if rc != _capi.OK or call.error is not None:
            if rc == _capi.OK:
                self._free(out, n)
            if call.error is not None:
                raise call.error
            raise error(rc, msg)
        ran = True if self._context_on else None
        results = []
        try:
            for i in range(n):
                if status[i] == _capi.OK:
                    results.append(_entities(out[i], texts[i], ran))
                    continue
                # the library describes the first failure; the others are
                # described by annotating that text alone (no callbacks)
                m = msg if i == first.value else self._message(ctx, data[i], status[i])
                # "text I" of the message: its index in the whole input
                m = re.sub(r"^text \d+", f"text {base + i}", m)
                results.append(TextError(base + i, _status(status[i]), m))
        finally:
            self._free(out, n)
        return results

    def _message(self, ctx, data, rc):
        """medner_last_error() of annotating one failed text alone."""
        self._tls.call = None
        got, out, msg = self._call(ctx, [data], 0, 1)
        if got == _capi.OK:
            self._free(out, 1)
            return lib.medner_status_str(rc).decode("utf-8", "replace")
        return msg

    @staticmethod
    def _free(out, n):
        for i in range(n):
            if out[i]:
                lib.medner_entities_free(out[i])

    def _call(self, ctx, data, first, n):
        """medner_pipeline_annotate on data[first:first+n]: (rc, entities
        array, message); the message is read right after the call, on this
        thread, before any other medner call."""
        part = data[first:first + n]
        bufs = (c_char_p * n)(*part)
        lens = (c_size_t * n)(*[len(b) for b in part])
        out = (POINTER(_capi.Entities) * n)()
        rc = lib.medner_pipeline_annotate(out, self._handle, ctx, bufs, lens, n)
        msg = lib.medner_last_error().decode("utf-8", "replace") if rc != _capi.OK else ""
        return rc, out, msg

    def _convert(self, out, texts, first, n):
        ran = True if self._context_on else None
        try:
            return [_entities(out[i], texts[first + i], ran) for i in range(n)]
        finally:
            for i in range(n):
                lib.medner_entities_free(out[i])


def _flatten(values):
    for v in values:
        if isinstance(v, (str, bytes)):
            raise TypeError(f"expected numbers, got {type(v).__name__}")
        if hasattr(v, "__iter__"):
            yield from _flatten(v)
        else:
            yield float(v)


def _floats(what, obj, length, n_labels):
    """`obj` (a buffer or a nested sequence of numbers) as a ctypes float
    array of length x n_labels values."""
    want = length * n_labels
    try:
        mv = memoryview(obj)
    except TypeError:
        mv = None
    if mv is not None and mv.format in ("f", "<f", "=f") and mv.c_contiguous:
        if mv.nbytes != 4 * want:
            raise ValueError(f"decode: {what} has {length} tokens x {n_labels} labels = {want} "
                             f"logits; got {mv.nbytes // 4}")
        return (c_float * want).from_buffer_copy(mv)
    try:
        values = list(_flatten(mv.tolist() if mv is not None else obj))
    except TypeError as e:
        raise TypeError(f"decode: {what}: expected a buffer or sequence of numbers ({e})") \
            from None
    if len(values) != want:
        raise ValueError(f"decode: {what} has {length} tokens x {n_labels} labels = {want} "
                         f"logits; got {len(values)}")
    return (c_float * want)(*values)


def _status(rc):
    try:
        return Status(rc)
    except ValueError:
        return rc


def _entity(ents, i, text, ran=None):
    """Entity i of a medner_entities (with its context, when it ran: `ran`, or
    when None, a sentence index other than SIZE_MAX says so)."""
    e = _capi.EntityStruct()
    b, end = c_size_t(), c_size_t()
    check(lib.medner_entity_get(byref(e), ents, i))
    check(lib.medner_entity_span_codepoints(byref(b), byref(end), ents, i))
    flags = {name: bool(e.context & bit) for name, bit in _capi.CONTEXT_FLAGS.items()}
    has_sentence = e.sentence != _capi.SIZE_MAX
    ran = has_sentence if ran is None else ran
    return Entity(label=e.label.decode("utf-8"), start=b.value, end=end.value,
                  score=e.score, text=text[b.value:end.value],
                  section=lib.medner_section_name(e.section).decode("ascii") if ran else None,
                  sentence=e.sentence if has_sentence else None, **flags)


def _entities(ents, text, ran=None):
    return [_entity(ents, i, text, ran) for i in range(lib.medner_entities_count(ents))]
