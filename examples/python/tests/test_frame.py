"""medner._frame.to_frame (and Pipeline.to_frame where the pipeline has it):
one DataFrame row per entity, equal to the Pipeline's entities; dtypes, a
Series' index as doc ids, batching, empty input, a clear ImportError without
pandas."""

import subprocess
import sys

import pandas as pd
import pytest

import medner
from medner import _frame
from conftest import ROOT, TEXTS

BASE = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"
ADAPTER = ROOT / "examples" / "models" / "clinical"
COLUMNS = ["doc", "label", "start", "end", "text", "score", "negated", "uncertain",
           "historical", "hypothetical", "family", "section", "sentence"]
NOTES = ["Patient denies chest pain 😀. Possible pneumonia. History of asthma.", "",
         "FAMILY HISTORY:\nMother had breast cancer.\n\nPAST MEDICAL HISTORY:\nAsthma.\n\n"
         "PLAN: return if shortness of breath "
         "develops. HbA1c 8.2%, started metformin 500mg."]


@pytest.fixture(scope="module")
def demo():
    assert (BASE / "model.safetensors").is_file(), \
        f"{BASE} is missing: run `make models` (tests/reference/fetch_minilm.sh) first"
    with medner.Pipeline(model=str(BASE), adapter=str(ADAPTER)) as p:
        yield p


def frames(pipeline, texts, **kw):
    """to_frame, and the Pipeline method when the pipeline has one (the two must agree)."""
    out = [_frame.to_frame(pipeline, texts, **kw)]
    if hasattr(medner.Pipeline, "to_frame") and not kw:
        out.append(medner.Pipeline.to_frame(pipeline, texts))
    return out


def rows_of(pipeline, texts):
    return [dict(doc=i, **e.to_dict()) for i, ents in enumerate(pipeline(texts)) for e in ents]


def test_rows_equal_the_pipeline(demo, pipeline):
    for p, texts in ((demo, NOTES), (pipeline, TEXTS)):
        want = rows_of(p, texts)
        assert len(want) >= 10
        for df in frames(p, texts):
            assert list(df.columns) == COLUMNS
            got = df.astype(object).where(df.notna(), None).to_dict("records")
            assert got == want
            for r in got:
                assert texts[r["doc"]][r["start"]:r["end"]] == r["text"]
    # str offsets after characters outside the BMP
    df = _frame.to_frame(pipeline, TEXTS)
    astral = df[[any(ord(c) > 0xFFFF for c in TEXTS[d][:s]) for d, s in zip(df.doc, df.start)]]
    assert len(astral) >= 3


def test_context_columns(demo, model_dir):
    df = _frame.to_frame(demo, NOTES)
    for col in ("negated", "uncertain", "historical", "hypothetical", "family"):
        assert df[col].dtype == bool and df[col].any(), col
    assert "family_history" in set(df.section) and df.sentence.dtype == "Int64"
    assert df.sentence.notna().all() and (df.doc != 1).all()      # the empty note has none
    with medner.Pipeline(model=str(model_dir), context="off") as off:
        df = _frame.to_frame(off, NOTES)
    assert len(df) > 0 and df.section.isna().all() and df.sentence.isna().all()
    assert not df[["negated", "uncertain", "historical", "hypothetical", "family"]].any().any()


def test_dtypes_series_index_batching_and_empty(demo):
    df = _frame.to_frame(demo, NOTES)
    assert df.dtypes.astype(str).to_dict() == {
        "doc": "int64", "label": "object", "start": "int64", "end": "int64", "text": "object",
        "score": "float64", "negated": "bool", "uncertain": "bool", "historical": "bool",
        "hypothetical": "bool", "family": "bool", "section": "object", "sentence": "Int64"}
    # a Series: doc = its index labels, so the frame joins back onto the texts
    series = pd.Series(NOTES, index=["n1", "n2", "n3"])
    ds = _frame.to_frame(demo, series)
    assert list(ds.doc) == [series.index[d] for d in df.doc]
    assert ds.drop(columns="doc").equals(df.drop(columns="doc"))
    joined = ds.merge(series.rename("note"), left_on="doc", right_index=True)
    assert all(n[s:e] == t for n, s, e, t in zip(joined.note, joined.start, joined.end,
                                                 joined.text))
    # batch_size texts per pipeline call, same frame; a generator works too
    calls = []

    def spy(texts):
        calls.append(len(texts))
        return demo(texts)

    pd.testing.assert_frame_equal(_frame.to_frame(spy, iter(NOTES), batch_size=2), df)
    assert calls == [2, 1]
    # one str is one document
    pd.testing.assert_frame_equal(_frame.to_frame(demo, NOTES[0]),
                                  df[df.doc == 0].reset_index(drop=True))
    for empty in ([], [""], pd.Series([], dtype=object)):
        for e in frames(demo, empty):
            assert list(e.columns) == COLUMNS and len(e) == 0
            assert e.dtypes["start"] == "int64" and e.dtypes["sentence"] == "Int64"


def test_without_pandas_a_clear_import_error():
    code = ("import sys; sys.modules['pandas'] = None\n"
            "import medner\nfrom medner import _frame\n"
            "try:\n    _frame.to_frame(lambda texts: [[] for _ in texts], ['x'])\n"
            "except ImportError as e:\n    print(e)\nelse:\n    raise SystemExit('no error')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT / "build")
    assert r.returncode == 0, r.stderr
    assert "needs pandas" in r.stdout and "pip install pandas" in r.stdout
