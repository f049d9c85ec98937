"""medner.Pipeline: text in, entities out."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import os
import threading
from ctypes import POINTER, byref, c_char_p, c_size_t
from typing import (TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Literal, Optional,
                    Union, overload)

from . import _capi
from ._errors import MednerError, Status, check
from ._handle import Handle, c_path

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
                     "first_window_only", "encoder_threads", "context", "precision")
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
      precision    "fp32" (default) | "bf16" | "int8" | "auto": arithmetic of the
                   encoder's products (docs/precision.md)
      first_window_only  True | False
      min_score    float in [0, 1]
      ignore_labels, keep_labels  lists of strings; renames  {"from": "to"}
      context      "default" (on, built-in rules) | "off" | a YAML rule file path |
                   None (default: on when the model's labels look clinical); the
                   entities then carry negated, uncertain, historical, hypothetical,
                   family, section and sentence (docs/context.md)

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
                 precision: Optional[str] = None, **options: Any) -> None:
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

    def _release(self, ctx):
        with self._lock:
            self._pool.append(ctx)
            self._busy -= 1

    # ---- information

    def _effective_params(self):
        p = _capi.PipelineParams()
        check(lib.medner_pipeline_get_params(self._get(), byref(p)))
        out = {name: getattr(p, name) for name in
               ("max_length", "overlap", "batch_size", "threads", "encoder_threads")}
        out["model"] = p.model_dir.decode("utf-8", "surrogateescape")
        out["merge"] = {v: k for k, v in _capi.MERGE.items()}.get(p.merge, p.merge)
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
        defaults (medner_pipeline_get_params())."""
        return self._effective_params()

    @property
    def labels(self) -> List[str]:
        """The model's labels (config.json id2label), by class id."""
        enc = lib.medner_pipeline_encoder(self._get())
        info = _capi.EncoderInfo()
        check(lib.medner_encoder_get_info(enc, byref(info)))
        return [lib.medner_encoder_label(enc, i).decode("utf-8") for i in range(info.num_labels)]

    # ---- annotation

    @overload
    def __call__(self, texts: str,  # type: ignore[overload-overlap]
                 *, errors: Errors = "raise") -> List[Entity]: ...

    @overload
    def __call__(self, texts: Iterable[str], *, errors: Errors = "raise") -> List[Result]: ...

    def __call__(self, texts, *, errors="raise"):
        """Entities of one text (a list of Entity) or of a list of texts (a
        list of lists).  Windows of all texts of a call are batched together.

        errors="raise" (default): any failing text raises MednerError and the
        call returns nothing.  errors="return": a text that fails gets a
        TextError in its slot (found by annotating the texts of a failed
        batch one by one, as `medner annotate` does) and every other text its
        entities; a single str still raises."""
        _check_errors(errors)
        if isinstance(texts, str):
            return self._annotate([texts], "raise")[0]
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"Pipeline: texts must be str, got {type(t).__name__}")
        return self._run(texts, errors, 0)

    annotate = __call__

    def annotate_many(self, texts: Iterable[str], *,
                      errors: Errors = "return") -> List[Result]:
        """Results of a list of texts, in order; by default (errors="return")
        a text that fails gets a TextError in its slot instead of sinking the
        whole call.  The same as ``pipeline(texts, errors=...)``."""
        if isinstance(texts, str):
            raise TypeError("annotate_many: expected an iterable of str, got a single str")
        return self(texts, errors=errors)

    def stream(self, texts: Iterable[str], batch_size: int = 32, *,
               errors: Errors = "raise") -> Iterator[Result]:
        """Lazily annotate an iterable (e.g. a generator over a large file):
        yields one result per text, in order, taking `batch_size` texts at a
        time from the iterable (one batched call each, split over `threads`
        workers), so memory stays bounded by one batch whatever the input's
        length.  errors: as for __call__; a TextError's index counts from the
        start of the iterable."""
        _check_errors(errors)
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
            results = self._run(chunk, errors, base)
            base += len(chunk)
            del chunk
            yield from results

    def to_frame(self, texts: Iterable[str]) -> "pandas.DataFrame":
        """The entities of `texts` as a pandas DataFrame, one row per entity
        (medner._frame; needs pandas)."""
        from ._frame import to_frame
        return to_frame(self, texts)

    def _run(self, texts, errors, base):
        if self._threads <= 1 or len(texts) <= 1:
            return self._annotate(texts, errors, base)
        # Worker threads, each with its own context: contiguous shares keep
        # the batching of neighbouring texts and the output order.
        k = min(self._threads, len(texts))
        bounds = [len(texts) * i // k for i in range(k + 1)]
        with concurrent.futures.ThreadPoolExecutor(k) as ex:
            parts = list(ex.map(lambda i: self._annotate(texts[bounds[i]:bounds[i + 1]], errors,
                                                         base + bounds[i]),
                                range(k)))
        return [ents for part in parts for ents in part]

    def _annotate(self, texts, errors="raise", base=0):
        n = len(texts)
        if n == 0:
            return []
        if errors == "raise":
            data = [t.encode("utf-8") for t in texts]
        else:
            # a lone surrogate is not UTF-8: let the library say where (its
            # INVALID_UTF8 error becomes this text's TextError)
            data = [t.encode("utf-8", "surrogatepass") for t in texts]
        ctx = self._acquire()
        try:
            rc, out, msg = self._call(ctx, data, 0, n)
            if rc == _capi.OK:
                return self._convert(out, texts, 0, n)
            if errors == "raise" or n == 1:
                if errors == "raise":
                    raise MednerError(rc, msg)
                return [TextError(base, _status(rc), msg)]
            # one bad text must not sink its neighbours: retry one by one
            results = []
            for i in range(n):
                rc, out, msg = self._call(ctx, data, i, 1)
                if rc == _capi.OK:
                    results += self._convert(out, texts, i, 1)
                else:
                    results.append(TextError(base + i, _status(rc), msg))
            return results
        finally:
            self._release(ctx)

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
    check(lib.medner_entities_get(ents, i, byref(e)))
    check(lib.medner_entities_span_codepoints(ents, i, byref(b), byref(end)))
    flags = {name: bool(e.context & bit) for name, bit in _capi.CONTEXT_FLAGS.items()}
    has_sentence = e.sentence != _capi.SIZE_MAX
    ran = has_sentence if ran is None else ran
    return Entity(label=e.label.decode("utf-8"), start=b.value, end=end.value,
                  score=e.score, text=text[b.value:end.value],
                  section=lib.medner_section_name(e.section).decode("ascii") if ran else None,
                  sentence=e.sentence if has_sentence else None, **flags)


def _entities(ents, text, ran=None):
    return [_entity(ents, i, text, ran) for i in range(lib.medner_entities_count(ents))]
