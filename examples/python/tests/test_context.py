"""Clinical context from Python: Pipeline(context=...), the Entity flags
(equal to `medner annotate`'s), medner.context() over given spans,
sentences() and sections(), ContextRules, errors."""

import pytest

import medner

from conftest import cli_annotate

NOTE = ("CHIEF COMPLAINT: cough.\n\nPatient denies chest pain. No fever.\n\n"
        "FAMILY HISTORY:\nMother had breast cancer.\n\n"
        "PLAN: return if shortness of breath develops. History of asthma.\n")
FLAGS = ("negated", "uncertain", "historical", "hypothetical", "family")


def span(text, phrase, label="Problem"):
    i = text.index(phrase)
    return (i, i + len(phrase), label)


def test_context_over_given_spans():
    spans = [span(NOTE, "chest pain"), span(NOTE, "fever"), span(NOTE, "breast cancer"),
             span(NOTE, "shortness of breath"), span(NOTE, "asthma"), span(NOTE, "cough", None)]
    got = medner.context(NOTE, spans)
    assert [(e.start, e.end) for e in got] == [(s[0], s[1]) for s in spans]   # order kept
    by = {e.text: e for e in got}
    assert by["chest pain"].negated and by["fever"].negated
    assert not by["cough"].negated and by["cough"].label == ""
    assert by["breast cancer"].family and by["breast cancer"].section == "family_history"
    assert by["shortness of breath"].hypothetical
    assert by["asthma"].historical
    assert by["chest pain"].sentence != by["breast cancer"].sentence
    assert all(e.score == 0.0 and NOTE[e.start:e.end] == e.text for e in got)


def test_sentences_and_sections():
    sents = medner.sentences(NOTE)
    assert len(sents) >= 5
    assert all(NOTE[b:e].strip() == NOTE[b:e] and e > b for b, e in sents)
    secs = medner.sections(NOTE)
    names = [n for _, _, n in secs]
    assert "family_history" in names and "chief_complaint" in names
    b, e, _ = next(s for s in secs if s[2] == "family_history")
    assert "Mother had breast cancer." in NOTE[b:e]
    # offsets are str indices, also after non-ASCII characters
    t = "Café ☕ visit. Patient denies pain."
    (e1,) = medner.context(t, [span(t, "pain")])
    assert e1.negated and t[e1.start:e1.end] == "pain" and e1.sentence == 1


def test_entities_and_rules_objects(tmp_path):
    with medner.ContextRules() as rules:
        a = medner.context(NOTE, [span(NOTE, "fever")], rules=rules)
        b = medner.context(NOTE, [span(NOTE, "fever")], rules=rules)
    assert a == b and a[0].negated
    again = medner.context(NOTE, a)                     # Entity objects as spans
    assert again == a
    with pytest.raises(medner.MednerError) as err:
        medner.ContextRules(tmp_path / "missing.yaml")
    assert err.value.status == medner.Status.IO
    with pytest.raises(medner.MednerError):
        medner.context(NOTE, [(0, 5)], rules=str(tmp_path / "missing.yaml"))


def test_bad_spans():
    with pytest.raises(ValueError):
        medner.context("no fever", [(3, 99)])
    with pytest.raises(ValueError):
        medner.context("no fever", [(3, 3)])
    with pytest.raises(TypeError):
        medner.context("no fever", [(3,)])
    assert medner.context("no fever", []) == []


def test_pipeline_context_matches_the_cli(model_dir):
    with medner.Pipeline(model=str(model_dir), context="default") as p:
        assert p.params["context"] is True and p.params["context_rules"] is None
        ents = p(NOTE)
    cli = cli_annotate(model_dir, [NOTE], "--context", "default")[0]["entities"]
    assert len(ents) == len(cli) > 0
    for e, c in zip(ents, cli):
        assert (e.start, e.end, e.label) == (c["start_char"], c["end_char"], c["label"])
        assert [getattr(e, f) for f in FLAGS] == [c[f] for f in FLAGS]
        assert (e.section, e.sentence) == (c["section"], c["sentence"])
    # the same spans through medner.context give the same flags
    assert medner.context(NOTE, ents) == [
        medner.Entity(e.label, e.start, e.end, 0.0, e.text, *[getattr(e, f) for f in FLAGS],
                      e.section, e.sentence) for e in ents]


def test_pipeline_context_off_and_rule_file(model_dir, tmp_path):
    with medner.Pipeline(model=str(model_dir), context="off") as p:
        assert p.params["context"] is False
        ents = p(NOTE)
    assert ents and all(e.section is None and e.sentence is None and
                        not any(getattr(e, f) for f in FLAGS) for e in ents)
    assert "negated" not in cli_annotate(model_dir, [NOTE], "--context", "off")[0]["entities"][0]
    with pytest.raises(medner.MednerError):
        medner.Pipeline(model=str(model_dir), context=tmp_path / "missing.yaml")
    with pytest.raises(TypeError):
        medner.Pipeline(model=str(model_dir), context=3)
