"""segment= (medner_pipeline_params.segment, 0.4): "sentence" annotates each
sentence of a text on its own and puts the entities back into the whole text,
as `bin/medner annotate --segment sentence` does; "none" is the default and,
given, wins over a configuration file's `segment: sentence`."""

import ctypes

import pytest

import medner
from medner import _capi
from conftest import TEXTS, cli_annotate

# one sentence each (no inner full stop the splitter could cut at)
A = "Müller-Hinz syndrome suspected with café-au-lait macules and ibuprofène given."
B = "Fever 😀 39°C, cough 🤒 and dyspnoea; amoxicillin 👍 started, then 💊 azithromycin for " \
    "pneumonia."
C = "BRCA1 mutation carrier with breast cancer, tamoxifen 20 mg/day; Ødegaard’s hepatitis C."
JOINED = A + " " + B + " " + C
SMALL = dict(context=False, max_length=16, overlap=4)    # several windows per sentence


def spans(entities, shift=0):
    return [(e.label, e.start + shift, e.end + shift) for e in entities]


def cli_spans(doc):
    return [(w["label"], w["start_char"], w["end_char"]) for w in doc["entities"]]


def test_sentence_equals_the_cli_and_each_sentence_alone(model_dir):
    texts = [JOINED, A, B, C] + TEXTS
    with medner.Pipeline(model=str(model_dir), segment="sentence", **SMALL) as p:
        assert p.params["segment"] == "sentence"
        ours = p(texts)
    theirs = cli_annotate(model_dir, texts, "--segment", "sentence", "--context", "off",
                          "--max-length", "16", "--overlap", "4")
    assert [spans(e) for e in ours] == [cli_spans(d) for d in theirs]
    assert [[e.text for e in ents] for ents in ours] == \
        [[w["text"] for w in d["entities"]] for d in theirs]
    # the joined text: its sentences annotated alone, offsets shifted
    a, b, c = ours[1:4]
    assert a and b and c, "no entities to compare"
    want = spans(a) + spans(b, len(A) + 1) + spans(c, len(A) + len(B) + 2)
    assert spans(ours[0]) == want
    assert all(JOINED[e.start:e.end] == e.text for e in ours[0])
    # and not what the whole text gives (the option reaches the library)
    with medner.Pipeline(model=str(model_dir), **SMALL) as whole:
        assert whole.params["segment"] == "none"
        assert spans(whole(JOINED)) != want
        assert spans(whole(JOINED)) == cli_spans(cli_annotate(
            model_dir, [JOINED], "--context", "off", "--max-length", "16", "--overlap", "4")[0])


def test_bad_segment_values_raise(model_dir):
    with pytest.raises(ValueError, match="segment"):
        medner.Pipeline(model=str(model_dir), segment="paragraph")
    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(model=str(model_dir), segment=7)        # raw enum value
    assert ei.value.status == medner.Status.INVALID_ARGUMENT
    assert "segment" in medner.OPTIONS


def test_segment_params_round_trip(model_dir):
    for value in ("none", "sentence", "SENTENCE", 1, 0):
        with medner.Pipeline(model=str(model_dir), segment=value) as p:
            got = p.params
            want = "sentence" if value in ("sentence", "SENTENCE", 1) else "none"
            assert got["segment"] == want, value
            raw = _capi.PipelineParams()
            assert _capi.lib.medner_pipeline_params_get(ctypes.byref(raw), p._get()) == 0
            assert raw.explicit_fields & _capi.PIPELINE_EXPLICIT_SEGMENT
        with medner.Pipeline(model=str(model_dir), segment=got["segment"]) as again:
            assert again.params == got
    # not given: no explicit bit in what the binding passes
    params, _ = medner.pipeline._build_params(str(model_dir), None, {})
    assert params.segment == 0 and not params.explicit_fields & _capi.PIPELINE_EXPLICIT_SEGMENT
    params, _ = medner.pipeline._build_params(str(model_dir), None, {"segment": "none"})
    assert params.segment == 0 and params.explicit_fields & _capi.PIPELINE_EXPLICIT_SEGMENT


def test_segment_none_overrides_a_config(model_dir, tmp_path):
    cfg = tmp_path / "sent.yaml"
    cfg.write_text(f"model: {model_dir}\nmax_length: 16\noverlap: 4\ncontext: off\n"
                   "segment: sentence\n")
    with medner.Pipeline(model=str(model_dir), segment="sentence", **SMALL) as sent:
        by_sentence = sent(JOINED)
    with medner.Pipeline(model=str(model_dir), **SMALL) as whole:
        as_one = whole(JOINED)
    assert by_sentence != as_one
    with medner.Pipeline(config=cfg) as p:
        assert p.params["segment"] == "sentence"
        assert p(JOINED) == by_sentence
    with medner.Pipeline(config=cfg, batch_size=2) as p:        # other overrides keep it
        assert p.params["segment"] == "sentence"
        assert p(JOINED) == by_sentence
    with medner.Pipeline(config=cfg, segment="none") as p:      # the explicit bit: none wins
        assert p.params["segment"] == "none"
        assert p(JOINED) == as_one
