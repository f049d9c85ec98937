"""medner.Pipeline: text in, entities out."""

import concurrent.futures
import dataclasses
import os
import threading
from ctypes import POINTER, byref, c_char_p, c_size_t

from . import _capi
from ._errors import check
from ._handle import Handle, c_path

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
    section: str = None
    sentence: int = None

    def to_dict(self):
        return dataclasses.asdict(self)


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
        if options.get("ignore_labels") is not None:
            arr, n = _strings("ignore_labels", options["ignore_labels"])
            d.ignore_labels, d.n_ignore_labels = arr, n
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

    def __init__(self, model=None, adapter=None, config=None, **options):
        self._handle = None
        self._lib = lib               # kept for __del__ at interpreter shutdown
        if model is None and config is None:
            raise TypeError("Pipeline: model= (a model directory) or config= (a YAML file) "
                            "is required")
        params, keep = _build_params(model, adapter, options)
        handle = POINTER(_capi.Pipeline)()
        if config is None:
            rc = lib.medner_pipeline_create(byref(handle), byref(params))
        else:
            rc = lib.medner_pipeline_load_config(byref(handle), c_path("config", config),
                                                 byref(params))
        check(rc)
        del keep
        self._handle = handle
        self._lock = threading.Lock()
        self._pool = []               # idle contexts
        self._busy = 0                # contexts lent out
        eff = self._effective_params()
        self._threads = eff["threads"]

    # ---- lifetime

    def close(self):
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
    def params(self):
        """Effective options after the config file, the overrides and the
        defaults (medner_pipeline_get_params())."""
        return self._effective_params()

    @property
    def labels(self):
        """The model's labels (config.json id2label), by class id."""
        enc = lib.medner_pipeline_encoder(self._get())
        info = _capi.EncoderInfo()
        check(lib.medner_encoder_get_info(enc, byref(info)))
        return [lib.medner_encoder_label(enc, i).decode("utf-8") for i in range(info.num_labels)]

    # ---- annotation

    def __call__(self, texts):
        """Entities of one text (a list of Entity) or of a list of texts (a
        list of lists).  Windows of all texts of a call are batched together."""
        if isinstance(texts, str):
            return self._annotate([texts])[0]
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"Pipeline: texts must be str, got {type(t).__name__}")
        if self._threads <= 1 or len(texts) <= 1:
            return self._annotate(texts)
        # Worker threads, each with its own context: contiguous shares keep
        # the batching of neighbouring texts and the output order.
        k = min(self._threads, len(texts))
        bounds = [len(texts) * i // k for i in range(k + 1)]
        with concurrent.futures.ThreadPoolExecutor(k) as ex:
            parts = list(ex.map(lambda i: self._annotate(texts[bounds[i]:bounds[i + 1]]),
                                range(k)))
        return [ents for part in parts for ents in part]

    annotate = __call__

    def _annotate(self, texts):
        n = len(texts)
        if n == 0:
            return []
        data = [t.encode("utf-8") for t in texts]
        bufs = (c_char_p * n)(*data)
        lens = (c_size_t * n)(*[len(b) for b in data])
        out = (POINTER(_capi.Entities) * n)()
        ctx = self._acquire()
        try:
            rc = lib.medner_pipeline_annotate(out, self._handle, ctx, bufs, lens, n)
            check(rc)           # same thread, before any other medner call
        finally:
            self._release(ctx)
        try:
            return [_entities(out[i], texts[i]) for i in range(n)]
        finally:
            for i in range(n):
                lib.medner_entities_free(out[i])


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


def _entities(ents, text):
    return [_entity(ents, i, text) for i in range(lib.medner_entities_count(ents))]
