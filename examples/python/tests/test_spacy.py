"""The spaCy component "medner" (medner/spacy.py): doc.ents and doc.spans equal
to `medner annotate` on the demo model (base all-MiniLM-L6-v2 + the clinical
adapter), medspaCy's context extensions, alignment to spaCy tokens, non-BMP
offsets, nlp.pipe batching, overwrite_ents, displaCy and medspaCy components
over the result, the factory entry point and nlp.to_disk/spacy.load."""

import html
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import spacy
from spacy import displacy

import medner
import medner.spacy as mspacy
from conftest import ROOT, cli_annotate

BASE = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"
ADAPTER = ROOT / "examples" / "models" / "clinical"
FLAGS = {"negated": "is_negated", "uncertain": "is_uncertain", "historical": "is_historical",
         "hypothetical": "is_hypothetical", "family": "is_family"}
NOTE = ("CHIEF COMPLAINT: cough.\n\nPatient denies chest pain. No fever 😀 or nausea.\n\n"
        "FAMILY HISTORY:\nMother had breast cancer.\n\n"
        "PLAN: return if shortness of breath develops. History of asthma. HbA1c 8.2%, started "
        "metformin 500mg.\n")
# Synthetic notes (no patient data): every context flag, sections, emoji (outside the
# BMP) and CJK before entities, entities inside spaCy tokens (in the demo notes), an empty doc.
TEXTS = [
    NOTE,
    "HPI: 54 yo woman 😀 with possible pneumonia. Denies chest pain or fever 🤒. Mother had "
    "breast cancer. History of asthma. Return if shortness of breath develops. HbA1c 8.2%, "
    "started metformin 500mg. 患者有糖尿病 diabetes.",
    "Fever 😀 39°C, cough 🤒 and dyspnoea; amoxicillin 👍 started, then 💊 azithromycin for "
    "pneumonia.",
    "",
] + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples" / "notes").glob("0*.txt"))]


@pytest.fixture(scope="module")
def demo():
    assert (BASE / "model.safetensors").is_file(), \
        f"{BASE} is missing: run `make models` (tests/reference/fetch_minilm.sh) first"
    return {"base": str(BASE), "adapter": str(ADAPTER)}


@pytest.fixture(scope="module")
def nlp(demo):
    nlp = spacy.blank("en")
    nlp.add_pipe("medner", config=demo)
    return nlp


@pytest.fixture(scope="module")
def cli(demo):
    return [r["entities"] for r in cli_annotate(BASE, TEXTS, "--adapter", str(ADAPTER))]


def span_key(s):
    return (s.start_char, s.end_char, s.label_)


def span_attrs(s):
    return (span_key(s), tuple(s._.get(a) for a in FLAGS.values()), s._.section_category,
            s._.medner_score, s._.medner_section, s._.medner_sentence, s._.medner_start_char,
            s._.medner_end_char)


def test_import_medner_needs_neither_spacy_nor_pandas():
    code = ("import sys, medner; bad = {'spacy', 'pandas', 'medspacy'} & set(sys.modules); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT / "build")


def test_entities_equal_the_cli(nlp, cli):
    """Every entity of `medner annotate` is a span of doc.spans["medner"] with its
    offsets, label, score and context; doc.ents holds every one that neither
    overlaps another one nor misses spaCy's token boundaries."""
    exact = unaligned = after_astral = 0
    flags_seen = set()
    for text, want in zip(TEXTS, cli):
        doc = nlp(text)
        assert doc.text == text
        group = list(doc.spans["medner"])
        ents = {span_key(s): s for s in doc.ents}
        by_extent = {(s.start_char, s.end_char): s for s in group}
        assert len(by_extent) == len(group)                  # merged, one span per extent
        assert set(ents) <= {span_key(s) for s in group}     # doc.ents come from the group
        covering = []                                        # the span of each CLI entity
        for w in want:
            b, e = w["start_char"], w["end_char"]
            assert text[b:e] == w["text"]
            aligned = doc.char_span(b, e) is not None
            if aligned and (b, e) in by_extent and by_extent[(b, e)].label_ == w["label"]:
                s = by_extent[(b, e)]
                exact += 1
                after_astral += any(ord(c) > 0xFFFF for c in text[:b])
            else:
                # not on token boundaries, or merged with an entity on the same tokens
                # (the highest score kept): a span of the group covers it
                s = next(s for s in group if s.start_char <= b and e <= s.end_char
                         and s._.medner_score >= w["score"])
                unaligned += not aligned
                covering.append(s)
                continue
            covering.append(s)
            assert s.text == w["text"]
            assert (s._.medner_start_char, s._.medner_end_char) == (b, e)
            assert s._.medner_score == pytest.approx(w["score"], rel=0, abs=1e-6)
            for field, attr in FLAGS.items():
                assert s._.get(attr) is w[field], (w, attr)
                if w[field]:
                    flags_seen.add(attr)
            assert s._.section_category == w["section"] == s._.medner_section
            assert s._.medner_sentence == w["sentence"]
        # in doc.ents: each exact span that overlaps no other span of the group
        for s in group:
            others = [o for o in group if o is not s and o.start < s.end and s.start < o.end]
            if not others:
                assert span_key(s) in ents, s
        assert len(group) == len({(s.start_char, s.end_char) for s in covering})
    assert exact >= 60 and unaligned >= 1 and after_astral >= 5
    assert flags_seen == set(FLAGS.values())                  # every flag is True somewhere


def test_equal_to_the_pipeline_directly(nlp, demo):
    with medner.Pipeline(model=demo["base"], adapter=demo["adapter"]) as p:
        for text, ents in zip(TEXTS, p(TEXTS)):
            doc = nlp(text)
            got = {(s._.medner_start_char, s._.medner_end_char, s.label_) for s in
                   doc.spans["medner"]}
            aligned = [(e.start, e.end, e.label) for e in ents
                       if doc.char_span(e.start, e.end) is not None]
            assert set(aligned) <= got


def test_pipe_batches_and_equals_per_doc(nlp):
    comp = nlp.get_pipe("medner")
    real = comp.pipeline
    calls = []

    def spy(texts):
        calls.append(len(texts) if isinstance(texts, list) else "str")
        return real(texts)

    single = [nlp(t) for t in TEXTS]
    comp.pipeline = spy
    try:
        docs = list(nlp.pipe(TEXTS, batch_size=4))
    finally:
        comp.pipeline = real
    n = len(TEXTS)
    assert calls == [min(4, n - i) for i in range(0, n, 4)]  # one list call per batch
    assert [[span_attrs(s) for s in d.spans["medner"]] for d in docs] == \
        [[span_attrs(s) for s in d.spans["medner"]] for d in single]
    assert [[span_key(s) for s in d.ents] for d in docs] == \
        [[span_key(s) for s in d.ents] for d in single]
    assert sum(len(d.ents) for d in docs) >= 60
    # worker processes (fork): the extensions come back with the docs' user_data
    forked = list(nlp.pipe(TEXTS[:4], n_process=2, batch_size=2))
    assert [[span_attrs(s) for s in d.ents] for d in forked] == \
        [[span_attrs(s) for s in d.ents] for d in single[:4]]


def test_error_handler(nlp):
    """A batch that fails is retried doc by doc; the doc that fails alone goes to
    the error handler (default: raise) and is left out, the others come out."""
    comp = nlp.get_pipe("medner")
    real = comp.pipeline
    bad = "BAD cough"

    def failing(texts):
        if bad in ([texts] if isinstance(texts, str) else texts):
            raise RuntimeError("medner failed on this text")
        return real(texts)

    comp.pipeline = failing
    seen = []
    try:
        with pytest.raises(RuntimeError, match="failed on this text"):
            list(nlp.pipe([TEXTS[0], bad]))
        nlp.set_error_handler(lambda name, proc, docs, e: seen.append((name, docs[0].text, e)))
        docs = list(nlp.pipe([TEXTS[0], bad, TEXTS[2]], batch_size=8))
    finally:
        nlp.set_error_handler(spacy.util.raise_error)
        comp.pipeline = real
    assert [d.text for d in docs] == [TEXTS[0], TEXTS[2]]
    assert len(seen) == 1 and seen[0][:2] == ("medner", bad)
    assert isinstance(seen[0][2], RuntimeError)
    assert [span_key(s) for s in docs[1].ents] == [span_key(s) for s in nlp(TEXTS[2]).ents]
    assert len(docs[0].ents) > 5


def test_alignment_modes(demo):
    # the first text with an entity boundary inside a spaCy token (which texts have one
    # depends on the adapter's predictions; the demo notes have several, e.g. "1.1 mg/dL")
    with medner.Pipeline(model=demo["base"], adapter=demo["adapter"]) as p:
        inside = [t for t in TEXTS if any(not spacy.blank("en")(t).char_span(e.start, e.end)
                                          for e in p(t))]
    assert inside, "no text with an entity inside a spaCy token"
    text = inside[0]
    spans, docs = {}, []
    for mode in ("expand", "contract", "strict"):
        nlp = spacy.blank("en")
        nlp.add_pipe("medner", config={**demo, "alignment_mode": mode})
        docs.append(nlp(text))
        spans[mode] = list(docs[-1].spans["medner"])
    with medner.Pipeline(model=demo["base"], adapter=demo["adapter"]) as p:
        ents = p(text)
    doc = spacy.blank("en")(text)
    aligned = [(e.start, e.end, e.label) for e in ents if doc.char_span(e.start, e.end)]
    assert len(aligned) < len(ents)                     # the note has entities inside tokens
    assert [(s.start_char, s.end_char, s.label_) for s in spans["strict"]] == aligned
    for s in spans["contract"]:
        assert s.start_char >= s._.medner_start_char and s.end_char <= s._.medner_end_char
    for s in spans["expand"]:
        assert s.start_char <= s._.medner_start_char and s.end_char >= s._.medner_end_char
    assert len(spans["expand"]) > len(spans["strict"])
    with pytest.raises(ValueError, match="alignment_mode"):
        spacy.blank("en").add_pipe("medner", config={**demo, "alignment_mode": "nearest"})


def test_overwrite_ents_and_spans_key(demo):
    text = "Patient denies chest pain. No fever."
    for overwrite in (False, True):
        nlp = spacy.blank("en")
        ruler = nlp.add_pipe("entity_ruler")
        ruler.add_patterns([{"label": "PROBLEM", "pattern": "chest pain"}])
        nlp.add_pipe("medner", config={**demo, "overwrite_ents": overwrite,
                                       "spans_key": "ner"})
        doc = nlp(text)
        mine = {span_key(s) for s in doc.spans["ner"]}
        assert {(s.text, s.label_) for s in doc.spans["ner"]} >= {
            ("chest", "Biological_structure"), ("pain", "Sign_symptom"), ("fever", "Sign_symptom")}
        ents = {span_key(s) for s in doc.ents}
        problem = (text.index("chest pain"), text.index("chest pain") + 10, "PROBLEM")
        if overwrite:
            assert problem not in ents and ents == mine
        else:
            assert problem in ents and ents == {problem} | {k for k in mine if k[0] > problem[1]}
    nlp = spacy.blank("en")
    nlp.add_pipe("medner", config={**demo, "spans_key": None})
    doc = nlp(text)
    assert not doc.spans and len(doc.ents) >= 3 and doc.ents[0]._.is_negated


MARK = re.compile(r"<mark[^>]*>\s*(.*?)\s*<span[^>]*>\s*(.*?)\s*</span>\s*</mark>", re.S)


def test_displacy_renders_every_entity(nlp):
    for text in TEXTS[:3]:
        doc = nlp(text)
        out = displacy.render(doc, style="ent")
        group = list(doc.spans["medner"])
        alone = [s for s in group if not any(o is not s and o.start < s.end and s.start < o.end
                                             for o in group)]
        assert len(doc.ents) >= len(alone) > 0
        assert [(html.unescape(t), lab) for t, lab in MARK.findall(out)] == \
            [(s.text, s.label_) for s in doc.ents]
        # the span group, overlaps included, through displaCy's span style
        out = displacy.render(doc, style="span", options={"spans_key": "medner"})
        for s in group:
            assert s.label_ in out


def test_merge_and_overlap_rules(nlp):
    """Entities on the same tokens merge (highest score); overlapping ones all
    stay in doc.spans and go to doc.ents longest first."""
    comp = nlp.get_pipe("medner")
    text = "HbA1c 8.2% and chest pain 😀 today."
    E = medner.Entity

    def ent(label, phrase, score, start=None, **flags):
        b = text.index(phrase) if start is None else start
        return E(label, b, b + len(phrase), score, phrase, **flags)

    doc = nlp.make_doc(text)
    comp.set_annotations(doc, [ent("A", "8", 0.5), ent("B", ".2", 0.9, start=7, negated=True),
                               ent("C", "chest", 0.8), ent("D", "chest pain", 0.7,
                                                           family=True, section="plan"),
                               ent("F", "today", 0.6, historical=True, sentence=3)])
    got = [(s.text, s.label_, s._.medner_score, s._.medner_start_char, s._.is_negated)
           for s in doc.spans["medner"]]
    assert got == [("8.2", "B", 0.9, 7, True), ("chest", "C", 0.8, 15, False),
                   ("chest pain", "D", 0.7, 15, False), ("today", "F", 0.6, 28, False)]
    assert [(s.text, s.label_) for s in doc.ents] == [("8.2", "B"), ("chest pain", "D"),
                                                      ("today", "F")]
    d, f = doc.ents[1], doc.ents[2]
    assert d._.is_family and d._.section_category == "plan" and not d._.is_historical
    assert f._.is_historical and f._.medner_sentence == 3 and f._.section_category is None
    assert text[f.start_char:f.end_char] == "today"      # after the emoji: code points


def test_medspacy_components_read_our_spans(demo):
    import medspacy
    from medspacy.postprocess import (PostprocessingPattern, PostprocessingRule,
                                      postprocessing_functions as ppf)
    from medspacy.visualization import visualize_ent

    nlp = spacy.blank("en")
    nlp.add_pipe("medner", config=demo)
    nlp.add_pipe("medspacy_doc_consumer")
    doc = nlp(TEXTS[1])
    data = doc._.data["ents"]
    assert data["text"] == [s.text for s in doc.ents]
    for attr in FLAGS.values():
        assert data[attr] == [s._.get(attr) for s in doc.ents]
    assert data["section_category"] == [s._.medner_section for s in doc.ents]
    assert any(data["is_negated"]) and any(data["is_family"]) and any(data["is_uncertain"])
    frame = doc._.to_dataframe()
    assert list(frame["is_negated"]) == data["is_negated"]

    # medspaCy's postprocessor: drop negated entities
    nlp.add_pipe("medspacy_postprocessor", before="medspacy_doc_consumer")
    nlp.get_pipe("medspacy_postprocessor").add([PostprocessingRule(
        patterns=[PostprocessingPattern(ppf.is_negated)], action=ppf.remove_ent)])
    doc2 = nlp(TEXTS[1])
    assert [span_key(s) for s in doc2.ents] == \
        [span_key(s) for s in doc.ents if not s._.is_negated]
    assert len(doc2.ents) < len(doc.ents)

    out = visualize_ent(doc, jupyter=False)
    for s in doc.ents:
        assert s.label_.upper() in out and html.escape(s.text) in out
    assert medspacy.__version__


SUBPROCESS = """
import json, sys, spacy
{imports}
nlp = spacy.blank("en")
nlp.add_pipe("medner", config={{"base": sys.argv[1], "adapter": sys.argv[2]}})

def ents():
    doc = nlp(sys.argv[3])
    return [[s.start_char, s.end_char, s.label_, s._.is_negated, s._.is_family,
             s._.section_category] for s in doc.ents]

out = [ents()]
{extra}
print(json.dumps(out))
"""


def run_script(demo, text, imports="", extra=""):
    code = textwrap.dedent(SUBPROCESS).format(imports=imports, extra=extra)
    r = subprocess.run([sys.executable, "-c", code, demo["base"], demo["adapter"], text],
                       capture_output=True, text=True, cwd=ROOT / "build",
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_extensions_with_medspacy_imported_before_or_after(nlp, demo):
    """medspaCy registers is_negated ... and a read-only section_category getter
    when imported: either import order gives medner's values, and medspaCy's
    Sectionizer, when it runs, still decides section_category."""
    text = TEXTS[0]
    want = [[s.start_char, s.end_char, s.label_, s._.is_negated, s._.is_family,
             s._.section_category] for s in nlp(text).ents]
    assert any(w[3] for w in want) and any(w[4] for w in want)
    assert {w[5] for w in want} >= {"chief_complaint", "family_history"}
    # the factory comes from the spacy_factories entry point: medner.spacy not imported
    assert run_script(demo, text) == [want]
    assert run_script(demo, text, imports="import medspacy\nimport medner.spacy") == [want]
    plain, sectionized = run_script(
        demo, text, imports="import medner.spacy\nimport medspacy",
        extra='nlp.add_pipe("medspacy_sectionizer", first=True)\nout.append(ents())')
    assert plain == want
    assert [w[:5] for w in sectionized] == [w[:5] for w in want]
    assert [w[5] for w in sectionized] != [w[5] for w in want]   # medspaCy's categories
    assert "family_history" in {w[5] for w in sectionized}


def test_to_disk_and_spacy_load(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    code = ("import json, sys, spacy; nlp = spacy.load(sys.argv[1]); "
            "print(json.dumps([[[s.start_char, s.end_char, s.label_] for s in nlp(t).ents] "
            "for t in json.loads(sys.argv[2])]))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "pipeline"),
                        json.dumps(TEXTS[:3])], capture_output=True, text=True,
                       cwd=ROOT / "build")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [[list(span_key(s)) for s in nlp(t).ents] for t in TEXTS[:3]]


def test_config_errors(demo, tmp_path):
    nlp = spacy.blank("en")
    with pytest.raises(medner.MednerError):
        nlp.add_pipe("medner", config={"model": str(tmp_path / "missing")})
    with pytest.raises(ValueError, match="not two"):
        nlp.add_pipe("medner", config={**demo, "model": str(tmp_path)})
    with pytest.raises(Exception, match="nonsense"):            # spaCy's config validation
        nlp.add_pipe("medner", config={**demo, "nonsense": 1})
    with pytest.raises(ValueError, match="aggregation"):
        nlp.add_pipe("medner", config={**demo, "aggregation": "median"})
    nlp.add_pipe("medner", config={**demo, "keep_labels": ["Medication"], "min_score": 0.5,
                                   "context": "off", "precision": "fp32"})
    doc = nlp(TEXTS[1])
    assert doc.ents and {s.label_ for s in doc.ents} == {"Medication"}
    assert all(s._.medner_score >= 0.5 and s._.section_category is None and
               not s._.is_negated for s in doc.ents)
    assert "medner" in nlp.pipe_names and nlp.get_pipe("medner").pipeline.params["context"] \
        is False


def test_register_extensions_refuses_a_read_only_name():
    from spacy.tokens import Span
    saved = Span.get_extension("is_negated")
    Span.set_extension("is_negated", getter=lambda s: True, force=True)
    try:
        with pytest.raises(ValueError, match="is_negated"):
            mspacy.register_extensions()
    finally:
        Span.set_extension("is_negated", **{k: v for k, v in zip(
            ("default", "method", "getter", "setter"), saved) if v is not None}, force=True)
    mspacy.register_extensions()


def test_a_plain_section_category_attribute_is_set(nlp):
    """A section_category registered as a plain attribute (not a getter) gets
    medner's section written into it."""
    from spacy.tokens import Span
    saved = Span.get_extension("section_category")
    Span.set_extension("section_category", default="unset", force=True)
    try:
        doc = nlp(TEXTS[0])
        got = [s._.section_category for s in doc.ents]
        assert got == [s._.medner_section for s in doc.ents] and "family_history" in got
    finally:
        Span.set_extension("section_category", **{k: v for k, v in zip(
            ("default", "method", "getter", "setter"), saved) if v is not None}, force=True)
    assert Span.get_extension("section_category")[2] is mspacy._section_category
