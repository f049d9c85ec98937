"""spaCy (and medspaCy) pipeline component "medner".

    import spacy
    import medner.spacy            # registers the factory (also found through the
                                   # spacy_factories entry point once medner is installed)
    nlp = spacy.blank("en")
    nlp.add_pipe("medner", config={"base": "path/to/all-MiniLM-L6-v2",
                                   "adapter": "path/to/clinical"})
    doc = nlp("Patient denies chest pain. History of asthma.")
    for ent in doc.ents:
        print(ent.text, ent.label_, ent._.is_negated, ent._.section_category,
              ent._.medner_score)

One medner Pipeline is loaded per component, when the component is created,
and reused for every doc; `nlp.pipe(texts, batch_size=N)` annotates N docs
per medner call (their windows are batched together).

Each medner entity becomes a Span of `doc.spans[spans_key]` (default
"medner"; every entity, overlaps allowed) and, where it does not overlap
another one, of `doc.ents`.  medner's offsets are code points, as spaCy's
character offsets; an entity whose ends are not token boundaries of the
spaCy tokenizer is aligned with `doc.char_span(..., alignment_mode=...)`:
"expand" (default: the tokens it touches), "contract" (the tokens inside
it) or "strict" (left out).  The exact offsets stay in
`span._.medner_start_char` / `span._.medner_end_char`.  Entities that align
to the same tokens are merged (the highest score is kept: spaCy keys span
extensions by character offsets, so two spans with the same offsets cannot
carry different attributes).  Overlapping spans go to `doc.ents` longest
first (`spacy.util.filter_spans`).  With `overwrite_ents=False` (default)
the entities already in `doc.ents` are kept and medner's overlapping ones
are left out of `doc.ents`; with True medner's replace them (the rule of
spaCy's EntityRuler).

Span extensions (medspaCy's names, so that medspaCy components such as
its postprocessor, DocConsumer and visualizer read them):
  is_negated, is_uncertain, is_historical, is_hypothetical, is_family
      (bool: medner's clinical context, docs/context.md; False when it did
      not run)
  section_category  medner's section ("family_history", "none" before any
      header, None when context did not run); when medspaCy's Sectionizer
      ran on the doc, its category (as medspaCy's own getter returns)
  medner_score, medner_section, medner_sentence, medner_start_char,
  medner_end_char
They are registered when this module is imported; extensions medspaCy has
already registered (importing medspacy does) are reused, not replaced,
except medspaCy's read-only `section_category` getter, which becomes one
that falls back to medner's section when no medspaCy Sectionizer ran.

This module imports spaCy; `import medner` does not.
"""

from typing import Dict, List, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans, minibatch, raise_error

from .pipeline import Pipeline

__all__ = ["MednerComponent", "CONTEXT_EXTENSIONS", "register_extensions"]

# medner Entity field -> medspaCy ConText attribute name
CONTEXT_EXTENSIONS = {
    "negated": "is_negated",
    "uncertain": "is_uncertain",
    "historical": "is_historical",
    "hypothetical": "is_hypothetical",
    "family": "is_family",
}
_MEDNER_EXTENSIONS = {
    "medner_score": None,
    "medner_section": None,
    "medner_sentence": None,
    "medner_start_char": None,
    "medner_end_char": None,
}
ALIGNMENT_MODES = ("expand", "contract", "strict")


def _section_category(span):
    """Span._.section_category: medspaCy's Sectionizer result when it ran
    (it sets Token._.section to a medspacy Section), else medner's section."""
    if len(span) and Token.has_extension("section"):
        section = span[0]._.section
        if section is not None:
            return getattr(section, "category", None)
    return span._.medner_section


def _writable(name):
    default, method, getter, setter = Span.get_extension(name)
    return method is None and (getter is None or setter is not None)


def register_extensions():
    """Register the Span extensions this component sets (idempotent; called
    when the module is imported).  Raises ValueError when one of the names
    is already registered as something that cannot be set (a method, or a
    getter without setter) other than medspaCy's `section_category`."""
    for name, default in [(n, False) for n in CONTEXT_EXTENSIONS.values()] + \
            list(_MEDNER_EXTENSIONS.items()):
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)
        elif not _writable(name):
            raise ValueError(f"medner.spacy: Span._.{name} is already registered and "
                             f"cannot be set (a getter or method); medner needs to set it")
    if not Span.has_extension("section_category"):
        Span.set_extension("section_category", getter=_section_category)
    else:
        default, method, getter, setter = Span.get_extension("section_category")
        if getter is not _section_category and not _writable("section_category"):
            # medspaCy's `lambda x: x[0]._.section_category`: ours returns the same
            # when its Sectionizer ran, and medner's section otherwise
            Span.set_extension("section_category", getter=_section_category, force=True)


register_extensions()


def _check_alignment(mode):
    if mode not in ALIGNMENT_MODES:
        raise ValueError(f"medner: alignment_mode: unknown value {mode!r} (expected one of "
                         f"{', '.join(ALIGNMENT_MODES)})")
    return mode


class MednerComponent:
    """The "medner" component: a medner Pipeline over `doc.text`.

    `model`/`base` (the same: a Hugging Face model directory, the base model of
    `adapter`), `adapter`, `config` (a YAML pipeline config) and `**options`
    (medner.OPTIONS: aggregation, precision, context, min_score, ...) are
    medner.Pipeline's.  `spans_key`: the doc.spans group that receives every
    entity (None: none); `overwrite_ents`, `alignment_mode`: see the module."""

    def __init__(self, nlp: Optional[Language] = None, name: str = "medner", *,
                 model=None, base=None, adapter=None, config=None,
                 overwrite_ents: bool = False, spans_key: Optional[str] = "medner",
                 alignment_mode: str = "expand", **options):
        self.name = name
        self.overwrite_ents = bool(overwrite_ents)
        self.spans_key = spans_key
        self.alignment_mode = _check_alignment(alignment_mode)
        if base is not None:
            if model is not None and str(model) != str(base):
                raise ValueError("medner: give model or base (the same thing), not two "
                                 f"different directories ({model!r}, {base!r})")
            model = base
        options = {k: v for k, v in options.items() if v is not None}
        register_extensions()           # in case something replaced them since the import
        self.pipeline = Pipeline(model=model, adapter=adapter, config=config, **options)
        self._error_handler = raise_error

    # ---- spaCy's component protocol

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.pipeline(doc.text))
        return doc

    def pipe(self, stream, *, batch_size: int = 128):
        """Annotate the docs of `stream`, `batch_size` docs per medner call.
        A failing batch is retried doc by doc; a doc that fails alone goes to
        the error handler (nlp.set_error_handler(); default: raise) and, when
        that returns, is left out of the output, as spaCy's own components do."""
        for batch in minibatch(stream, size=max(int(batch_size), 1)):
            docs = list(batch)
            try:
                results = self.pipeline([doc.text for doc in docs])
            except Exception:
                results = [None] * len(docs)
            for doc, ents in zip(docs, results):
                try:
                    if ents is None:
                        ents = self.pipeline(doc.text)
                    if isinstance(ents, BaseException):   # a per-text error result
                        raise ents
                    self.set_annotations(doc, ents)
                except Exception as e:
                    self._error_handler(self.name, self, [doc], e)
                    continue
                yield doc

    def set_error_handler(self, error_handler):
        self._error_handler = error_handler

    def get_error_handler(self):
        return self._error_handler

    def close(self):
        """Free the medner pipeline now (else the garbage collector does)."""
        self.pipeline.close()

    # ---- entities -> spans

    def make_spans(self, doc: Doc, entities) -> List[Span]:
        """Spans of `doc` for medner entities, with their extensions set, in
        text order; entities aligning to the same tokens merged (highest score)."""
        by_extent = {}
        for e in entities:
            span = doc.char_span(e.start, e.end, label=e.label,
                                 alignment_mode=self.alignment_mode)
            if span is None or len(span) == 0:
                continue
            key = (span.start_char, span.end_char)
            if key in by_extent and by_extent[key][1].score >= e.score:
                continue
            by_extent[key] = (span, e)
        plain_section = _writable("section_category")     # a user-registered attribute
        spans = []
        for key in sorted(by_extent):
            span, e = by_extent[key]
            for field, attr in CONTEXT_EXTENSIONS.items():
                span._.set(attr, bool(getattr(e, field)))
            span._.medner_score = float(e.score)
            span._.medner_section = e.section
            span._.medner_sentence = e.sentence
            span._.medner_start_char = e.start
            span._.medner_end_char = e.end
            if plain_section:
                span._.section_category = e.section
            spans.append(span)
        return spans

    def set_annotations(self, doc: Doc, entities) -> None:
        spans = self.make_spans(doc, entities)
        if self.spans_key is not None:
            doc.spans[self.spans_key] = spans
        mine = filter_spans(spans)
        existing = list(doc.ents)
        if self.overwrite_ents:
            taken = {i for s in mine for i in range(s.start, s.end)}
            existing = [s for s in existing if not taken.intersection(range(s.start, s.end))]
        else:
            taken = {i for s in existing for i in range(s.start, s.end)}
            mine = [s for s in mine if not taken.intersection(range(s.start, s.end))]
        doc.ents = sorted(existing + mine, key=lambda s: s.start)


_ASSIGNS = ["doc.ents", "token.ent_iob", "token.ent_type", "doc.spans"] + \
    [f"span._.{a}" for a in list(CONTEXT_EXTENSIONS.values()) + ["section_category"] +
     list(_MEDNER_EXTENSIONS)]


@Language.factory(
    "medner",
    assigns=_ASSIGNS,
    default_config={
        "model": None, "base": None, "adapter": None, "config": None, "precision": None,
        "overwrite_ents": False, "spans_key": "medner", "alignment_mode": "expand",
        "aggregation": None, "decoding": None, "scheme": None, "max_length": None,
        "overlap": None, "batch_size": None, "threads": None, "encoder_threads": None,
        "merge": None, "segment": None, "first_window_only": None, "min_score": None,
        "ignore_labels": None, "keep_labels": None, "renames": None, "context": None,
    },
)
def make_medner(nlp: Language, name: str, model: Optional[str], base: Optional[str],
                adapter: Optional[str], config: Optional[str], precision: Optional[str],
                overwrite_ents: bool, spans_key: Optional[str], alignment_mode: str,
                aggregation: Optional[str], decoding: Optional[str], scheme: Optional[str],
                max_length: Optional[int], overlap: Optional[int], batch_size: Optional[int],
                threads: Optional[int], encoder_threads: Optional[int], merge: Optional[str],
                segment: Optional[str], first_window_only: Optional[bool],
                min_score: Optional[float],
                ignore_labels: Optional[List[str]], keep_labels: Optional[List[str]],
                renames: Optional[Dict[str, str]], context: Optional[Union[bool, str]]):
    return MednerComponent(
        nlp, name, model=model, base=base, adapter=adapter, config=config,
        overwrite_ents=overwrite_ents, spans_key=spans_key, alignment_mode=alignment_mode,
        precision=precision, aggregation=aggregation, decoding=decoding, scheme=scheme,
        max_length=max_length, overlap=overlap, batch_size=batch_size, threads=threads,
        encoder_threads=encoder_threads, merge=merge, segment=segment,
        first_window_only=first_window_only, min_score=min_score, ignore_labels=ignore_labels, keep_labels=keep_labels,
        renames=renames, context=context)
