"""The batch/stream API, base + adapter, precision and `python -m medner annotate`,
each checked against the C CLI (bin/medner annotate) or against single-text calls."""

import io
import json
import os
import pathlib
import subprocess
import sys

import pytest

import medner
from conftest import CLI, ROOT, TEXTS, cli_annotate

BASE = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"
CLINICAL = ROOT / "examples" / "models" / "clinical"
NOTES = sorted((ROOT / "examples" / "notes").glob("*.txt"))
BAD = "Fever and cough \ud800 here"          # a lone surrogate: not encodable as UTF-8


@pytest.fixture(scope="module")
def demo():
    assert (BASE / "model.safetensors").is_file(), \
        f"{BASE} is missing: run `sh tests/reference/fetch_minilm.sh` (or make demo) first"
    with medner.Pipeline(base=str(BASE), adapter=str(CLINICAL)) as p:
        yield p


def cli_jsonl(args, stdin=None):
    r = subprocess.run([str(CLI), "annotate", *args], input=stdin, capture_output=True)
    return r.returncode, r.stdout, r.stderr


def py_jsonl(args, stdin=None, cwd=None):
    r = subprocess.run([sys.executable, "-m", "medner", "annotate", *args], input=stdin,
                       capture_output=True, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


def same_as_cli(got, want):
    """Entities equal to the CLI's JSON entities, field for field."""
    assert len(got) == len(want)
    for e, w in zip(got, want):
        assert (e.label, e.start, e.end, e.text) == (w["label"], w["start_char"], w["end_char"],
                                                     w["text"])
        assert e.score == pytest.approx(w["score"], rel=0, abs=1e-12)
        if "negated" in w:
            assert (e.negated, e.uncertain, e.historical, e.hypothetical, e.family, e.section,
                    e.sentence) == (w["negated"], w["uncertain"], w["historical"],
                                    w["hypothetical"], w["family"], w["section"], w["sentence"])


# ---------------------------------------------------------------------------- base + adapter


def test_base_and_adapter_equal_the_cli(demo):
    texts = [p.read_text(encoding="utf-8") for p in NOTES]
    rc, out, err = cli_jsonl(["--base", str(BASE), "--adapter", str(CLINICAL), "--format",
                              "jsonl", *map(str, NOTES)])
    assert rc == 0, err
    want = [json.loads(line)["entities"] for line in out.decode("utf-8").splitlines()]
    got = demo(texts)
    assert sum(map(len, got)) >= 50
    assert any(e.negated for ents in got for e in ents)     # context ran (clinical labels)
    for g, w in zip(got, want):
        same_as_cli(g, w)
    # `model` is the same as `base`
    with medner.Pipeline(model=str(BASE), adapter=str(CLINICAL)) as p:
        assert p(texts[0]) == got[0]


def test_base_and_model_conflict_and_adapter_as_model(model_dir):
    with pytest.raises(TypeError, match="not both"):
        medner.Pipeline(model=str(model_dir), base=str(model_dir))
    with pytest.raises(TypeError, match="base="):
        medner.Pipeline()
    with pytest.raises(medner.MednerError, match="give its base model too") as e:
        medner.Pipeline(model=str(CLINICAL))
    assert e.value.status != medner.Status.OK


# ---------------------------------------------------------------------------- precision


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_precision_reaches_the_library_and_equals_the_cli(model_dir, pipeline, precision):
    with medner.Pipeline(model=str(model_dir), precision=precision) as p:
        assert p.params["precision"] == precision
        got = p(TEXTS)
    want = cli_annotate(model_dir, TEXTS, "--precision", precision)
    for g, w in zip(got, want):
        same_as_cli(g, w["entities"])
    # and it is not fp32: some score differs from the default pipeline's
    fp32 = pipeline(TEXTS)
    assert [e.score for es in got for e in es] != [e.score for es in fp32 for e in es]


def test_precision_is_validated(model_dir):
    with pytest.raises(ValueError, match="precision"):
        medner.Pipeline(model=str(model_dir), precision="fp8")
    with medner.Pipeline(model=str(model_dir), precision="fp32") as p:
        assert p.params["precision"] == "fp32"


# ---------------------------------------------------------------------------- per-text errors


def test_errors_return_puts_a_text_error_in_the_failing_slot(pipeline):
    texts = [TEXTS[0], BAD, TEXTS[2], "", TEXTS[5]]
    got = pipeline.annotate_many(texts)                 # errors="return" by default
    assert len(got) == len(texts)
    err = got[1]
    assert isinstance(err, medner.TextError)
    assert err.index == 1 and err.status == medner.Status.INVALID_UTF8
    assert "byte offset 16" in err.message             # where, never the text
    assert "Fever" not in err.message
    assert err.to_dict() == {"index": 1, "status": "INVALID_UTF8", "message": err.message}
    assert isinstance(err.exception(), medner.MednerError)
    for i in (0, 2, 3, 4):
        assert got[i] == pipeline(texts[i]), i           # the others as if alone
    assert got[0] and got[2] and got[4]
    assert pipeline(texts, errors="return") == got


def test_errors_raise_keeps_the_all_or_nothing_behaviour(pipeline):
    with pytest.raises(UnicodeEncodeError):
        pipeline([TEXTS[0], BAD])
    with pytest.raises(UnicodeEncodeError):
        pipeline.annotate_many([TEXTS[0], BAD], errors="raise")
    with pytest.raises(ValueError, match="errors"):
        pipeline([TEXTS[0]], errors="ignore")
    with pytest.raises(TypeError):
        pipeline.annotate_many(TEXTS[0])                 # a lone str is not a batch
    # all good: the same either way
    assert pipeline.annotate_many(TEXTS) == pipeline(TEXTS)


def test_errors_return_with_worker_threads_keeps_indices(model_dir, pipeline):
    texts = [TEXTS[i % 6] for i in range(12)]
    texts[3] = texts[10] = BAD
    with medner.Pipeline(model=str(model_dir), threads=3) as p:
        got = p.annotate_many(texts)
    assert [r.index for r in got if isinstance(r, medner.TextError)] == [3, 10]
    for i, r in enumerate(got):
        if i not in (3, 10):
            assert r == pipeline(texts[i])


# ---------------------------------------------------------------------------- stream


def test_stream_is_lazy_ordered_and_equal_to_a_batch(pipeline):
    pulled = []

    def gen():
        for i in range(40):
            pulled.append(i)
            yield TEXTS[i % len(TEXTS)]

    it = pipeline.stream(gen(), batch_size=5)
    assert pulled == []                                  # nothing before the first next()
    first = next(it)
    assert len(pulled) == 5                              # one batch taken, not the input
    rest = list(it)
    assert len(pulled) == 40
    texts = [TEXTS[i % len(TEXTS)] for i in range(40)]
    assert [first] + rest == pipeline(texts)


def test_stream_errors_and_indices_count_from_the_start(pipeline):
    texts = [TEXTS[0], TEXTS[1], TEXTS[2], BAD, TEXTS[4], BAD, TEXTS[5]]
    got = list(pipeline.stream(iter(texts), batch_size=2, errors="return"))
    assert [(i, r.index) for i, r in enumerate(got)
            if isinstance(r, medner.TextError)] == [(3, 3), (5, 5)]
    with pytest.raises(UnicodeEncodeError):
        list(pipeline.stream(texts, batch_size=2))
    with pytest.raises(ValueError):
        list(pipeline.stream(texts, batch_size=0))
    with pytest.raises(TypeError):
        list(pipeline.stream([TEXTS[0], 3]))


def test_stream_memory_stays_bounded(pipeline):
    import tracemalloc
    text = "Patient with fever and cough, started amoxicillin. " * 2

    def peak(n):
        tracemalloc.start()
        for _ in pipeline.stream((text for _ in range(n)), batch_size=16):
            pass
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    small, large = peak(32), peak(320)
    # ten times the input, about the same peak (a list would grow tenfold)
    assert large < 2 * small + 200_000, (small, large)


# ---------------------------------------------------------------------------- Entity, typing


def test_entity_to_dict_and_typing_marker():
    e = medner.Entity("Disease", 1, 4, 0.5, "abc", negated=True, section="none", sentence=0)
    assert e.to_dict()["negated"] is True and e.to_dict()["sentence"] == 0
    pkg = pathlib.Path(medner.__file__).parent
    assert (pkg / "py.typed").is_file()
    import typing
    hints = typing.get_type_hints(medner.Pipeline.stream)
    assert "return" in hints and "texts" in hints


def test_to_frame_delegates_to_the_frame_module(pipeline, monkeypatch):
    import types
    fake = types.ModuleType("medner._frame")
    fake.to_frame = lambda p, texts: ("frame", p, list(texts))
    monkeypatch.setitem(sys.modules, "medner._frame", fake)
    assert pipeline.to_frame(iter(["a"])) == ("frame", pipeline, ["a"])


# ---------------------------------------------------------------------------- python -m medner


def test_main_annotate_jsonl_equals_the_cli_byte_for_byte(model_dir):
    stdin = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS))
    stdin += json.dumps({"id": "str-id", "text": "Fever 39°C and cough"}) + "\n\n"
    for extra in ([], ["--aggregation", "max", "--context", "default"],
                  ["--keep-label", "Disease", "--min-score", "0.1"]):
        args = ["--model", str(model_dir), "--format", "jsonl", *extra]
        want = cli_jsonl(args, stdin.encode())
        got = py_jsonl(args, stdin.encode())
        assert want[0] == got[0] == 0, (want[2], got[2])
        assert got[1] == want[1], extra
        assert len(got[1].splitlines()) == len(TEXTS) + 1


def test_main_annotate_files_demo_model_and_brat(demo):
    notes = [str(p.relative_to(ROOT)) for p in NOTES]
    for fmt in ("jsonl", "brat"):
        args = ["--base", str(BASE), "--adapter", str(CLINICAL), "--format", fmt, *notes]
        want = subprocess.run([str(CLI), "annotate", *args], capture_output=True, cwd=ROOT)
        got = py_jsonl(args, cwd=ROOT)
        assert want.returncode == got[0] == 0, got[2]
        assert got[1] == want.stdout, fmt
        assert b'"negated":true' in got[1] or b"Negated" in got[1]


def test_main_annotate_bad_documents_are_reported_and_skipped(model_dir):
    stdin = (json.dumps({"id": "a", "text": TEXTS[0]}) + "\n" +
             json.dumps({"text": 5}) + "\n" +
             json.dumps({"id": True, "text": "x"}) + "\n" +
             json.dumps({"id": "c", "text": TEXTS[2]}) + "\n").encode()
    args = ["--model", str(model_dir)]
    want = cli_jsonl(args, stdin)
    got = py_jsonl(args, stdin)
    assert got[0] == want[0] == 1
    assert got[1] == want[1]                             # same results, same error lines
    assert b"4 documents, 2 skipped" in got[2]
    # --on-error fail stops at the first bad document
    got = py_jsonl(args + ["--on-error", "fail"], stdin)
    assert got[0] == 1 and len(got[1].splitlines()) == 2


def test_main_usage_errors(model_dir):
    assert py_jsonl([])[0] == 2                          # no model
    assert py_jsonl(["--model", str(model_dir), "--base", str(model_dir)])[0] == 2
    assert py_jsonl(["--model", str(model_dir), "--format", "xml"])[0] == 2
    r = subprocess.run([sys.executable, "-m", "medner", "version"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and medner.version() in r.stdout


def test_main_annotate_in_process(model_dir):
    from medner.__main__ import annotate
    out = io.StringIO()
    stdin = io.BytesIO((json.dumps({"id": 1, "text": TEXTS[2]}) + "\n").encode())
    assert annotate(["--model", str(model_dir)], stdin=stdin, stdout=out,
                    stderr=io.StringIO()) == 0
    want = cli_annotate(model_dir, [TEXTS[2]])[0]["entities"]
    got = json.loads(out.getvalue())["entities"]
    assert got == want


@pytest.mark.parametrize("value, want", [
    # the expectations of tests/unit/test_json.c (test_writer_doubles), the C writer's
    (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (-2.5, "-2.5"), (0.1, "0.1"),
    (0.1 + 0.2, "0.30000000000000004"), (1.0 / 3.0, "0.3333333333333333"), (100.0, "100"),
    (123456789.0, "123456789"), (1500.0, "1500"), (-2e5, "-200000"), (1e15, "1000000000000000"),
    (1.5e15, "1500000000000000"), (1e16, "1e+16"), (1.25e17, "1.25e+17"), (1e21, "1e+21"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (1e300, "1e+300"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (0.10000000149011612,
                                                          "0.10000000149011612"),
    (float("nan"), "null"), (float("inf"), "null"), (float("-inf"), "null")])
def test_main_formats_numbers_as_the_c_writer(value, want):
    from medner.__main__ import _json_double
    assert _json_double(value) == want
