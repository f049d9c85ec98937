"""medner.Pipeline: same entities as the C CLI, str offsets, options, config, lifetimes."""

import subprocess
import sys
import textwrap

import pytest

import medner
from conftest import CLI, ROOT, TEXTS, cli_annotate


def test_version():
    # the loaded C library against the package's own copy of the header's
    # version (tests/build/check-version.sh checks that copy)
    assert medner.version() == medner.__version__
    major, minor, patch = (int(x) for x in medner.__version__.split("."))
    assert medner.version_number() == major * 10000 + minor * 100 + patch


def test_entities_equal_the_cli(pipeline, model_dir):
    ours = pipeline(TEXTS)
    theirs = cli_annotate(model_dir, TEXTS)
    total = 0
    for text, got, want in zip(TEXTS, ours, theirs):
        want = want["entities"]
        assert len(got) == len(want), text
        for e, w in zip(got, want):
            # the CLI's start_char/end_char are code points; start/end are bytes
            assert (e.label, e.start, e.end, e.text) == (w["label"], w["start_char"],
                                                         w["end_char"], w["text"])
            assert len(text[:e.start].encode("utf-8")) == w["start"]
            assert len(text[:e.end].encode("utf-8")) == w["end"]
            assert e.score == pytest.approx(w["score"], rel=0, abs=1e-12)
            total += 1
    assert total >= 15          # the fixture texts do produce entities


def test_str_offsets_on_non_ascii_text(pipeline):
    checked = 0
    for text in TEXTS:
        for e in pipeline(text):
            assert text[e.start:e.end] == e.text
            if any(ord(c) > 127 for c in text[:e.end]):
                # byte and code-point offsets differ here: the test would catch bytes
                assert len(text[:e.end].encode("utf-8")) != e.end
                checked += 1
    assert checked >= 8


def test_single_text_and_list(pipeline):
    one = pipeline(TEXTS[2])
    assert isinstance(one, list) and all(isinstance(e, medner.Entity) for e in one)
    assert pipeline([TEXTS[2]]) == [one]
    assert pipeline([]) == []
    assert pipeline("") == []
    assert pipeline.annotate(TEXTS[2]) == one
    d = one[0].to_dict()
    assert set(d) == {"label", "start", "end", "score", "text", "negated", "uncertain",
                      "historical", "hypothetical", "family", "section", "sentence"}


def test_labels_and_params(pipeline, model_dir):
    assert pipeline.labels == ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]
    p = pipeline.params
    assert p["max_length"] == 512 and p["overlap"] == 128 and p["batch_size"] == 8
    assert p["merge"] == "center" and p["first_window_only"] is False
    assert p["model"] == str(model_dir)


def test_precision_reaches_the_encoder(model_dir):
    with medner.Pipeline(model=str(model_dir), precision="int8") as p:
        assert p.params["precision"] == "int8"
    with medner.Pipeline(model=str(model_dir)) as p:
        assert p.params["precision"] == "fp32"
    with medner.Pipeline(model=str(model_dir), precision="auto") as p:
        assert p.params["precision"] in ("fp32", "bf16", "int8")   # the one that runs
    with pytest.raises(ValueError):
        medner.Pipeline(model=str(model_dir), precision="fp16")


def test_options_reach_the_c_params(model_dir):
    with medner.Pipeline(model=str(model_dir), aggregation="simple", decoding="constrained",
                         max_length=64, overlap=16, batch_size=3, merge="hf",
                         first_window_only=True, encoder_threads=2, min_score=0.25) as p:
        got = p.params
    assert (got["aggregation"], got["decoding"], got["max_length"], got["overlap"],
            got["batch_size"], got["merge"], got["first_window_only"], got["encoder_threads"],
            got["min_score"]) == ("simple", "constrained", 64, 16, 3, "hf", True, 2, 0.25)


@pytest.mark.parametrize("opts,cli", [
    (dict(aggregation="simple"), ["--aggregation", "simple"]),
    (dict(aggregation="max", decoding="constrained"),
     ["--aggregation", "max", "--decoding", "constrained"]),
    (dict(max_length=16, overlap=4, merge="hf"),
     ["--max-length", "16", "--overlap", "4", "--merge", "hf"]),
    (dict(min_score=0.6, renames={"Disease": "Problem"}, keep_labels=["Problem"]),
     ["--min-score", "0.6", "--rename", "Disease=Problem", "--keep-label", "Problem"]),
    (dict(ignore_labels=["O", "Chemical"], batch_size=1, encoder_threads=2),
     ["--ignore-label", "O", "--ignore-label", "Chemical", "--batch-size", "1",
      "--encoder-threads", "2"]),
    (dict(precision="int8", batch_size=2), ["--precision", "int8", "--batch-size", "2"]),
    (dict(precision="bf16"), ["--precision", "bf16"]),
])
def test_options_equal_the_cli_flags(model_dir, opts, cli):
    with medner.Pipeline(model=str(model_dir), **opts) as p:
        ours = p(TEXTS)
    theirs = cli_annotate(model_dir, TEXTS, *cli)
    flat_ours = [(e.label, e.start, e.end) for ents in ours for e in ents]
    flat_theirs = [(w["label"], w["start_char"], w["end_char"])
                   for r in theirs for w in r["entities"]]
    assert flat_ours == flat_theirs
    assert flat_ours        # every configuration still finds something


def test_python_worker_threads_give_the_same_results(model_dir, pipeline):
    texts = TEXTS * 3
    with medner.Pipeline(model=str(model_dir), threads=2) as p:
        assert p.params["threads"] == 2
        assert p(texts) == pipeline(texts)


def test_config_file_and_overrides(model_dir, tmp_path):
    cfg = tmp_path / "ner.yaml"
    cfg.write_text(f"model: {model_dir}\naggregation: simple\nbatch_size: 4\nlabels:\n"
                   f"  rename:\n    Disease: Problem\n")
    with medner.Pipeline(config=str(cfg)) as p:
        assert (p.params["aggregation"], p.params["batch_size"]) == ("simple", 4)
        labels = {e.label for ents in p(TEXTS) for e in ents}
        assert "Problem" in labels and "Disease" not in labels
    with medner.Pipeline(config=cfg, aggregation="max", batch_size=2) as p:
        assert (p.params["aggregation"], p.params["batch_size"]) == ("max", 2)


def test_bad_model_dir_raises_the_c_message(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(model=str(missing))
    err = ei.value
    assert err.status == medner.Status.IO
    assert str(missing) in err.message
    # the CLI reports medner_last_error() of the same failure
    r = subprocess.run([str(CLI), "annotate", "--model", str(missing)], input=b"",
                       capture_output=True)
    assert r.returncode != 0
    assert err.message in r.stderr.decode()
    assert str(err).startswith("input/output error: ")


def test_bad_option_raises_the_c_message(model_dir):
    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(model=str(model_dir), encoder_threads=5000)
    assert ei.value.status == medner.Status.INVALID_ARGUMENT
    assert "5000" in ei.value.message
    r = subprocess.run([str(CLI), "annotate", "--model", str(model_dir),
                        "--encoder-threads", "5000"], input=b"", capture_output=True)
    assert ei.value.message in r.stderr.decode()

    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(model=str(model_dir), max_length=64, overlap=62)
    assert ei.value.status == medner.Status.INVALID_ARGUMENT
    assert "overlap 62" in ei.value.message

    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(model=str(model_dir), aggregation=9)      # raw enum value
    assert ei.value.status == medner.Status.INVALID_ARGUMENT

    # adapter= reaches medner_pipeline_params.adapter_dir: a missing directory is an I/O error
    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(model=str(model_dir), adapter="/some/lora-adapter")
    assert ei.value.status == medner.Status.IO
    assert "/some/lora-adapter" in ei.value.message


def test_bad_config_raises_with_position(model_dir, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"model: {model_dir}\nagregation: first\n")
    with pytest.raises(medner.MednerError) as ei:
        medner.Pipeline(config=str(cfg))
    assert ei.value.status == medner.Status.INVALID_CONFIG
    assert f"{cfg}:2:" in ei.value.message and "agregation" in ei.value.message


def test_python_side_argument_errors(model_dir):
    with pytest.raises(TypeError, match="unknown option"):
        medner.Pipeline(model=str(model_dir), aggregation_strategy="first")
    with pytest.raises(ValueError, match="aggregation"):
        medner.Pipeline(model=str(model_dir), aggregation="mean")
    with pytest.raises(TypeError):
        medner.Pipeline()
    with medner.Pipeline(model=str(model_dir)) as p:
        with pytest.raises(TypeError):
            p([b"bytes are not text"])
        with pytest.raises(UnicodeEncodeError):
            p("lone surrogate \ud800")


def test_nul_in_a_path_is_refused(model_dir, tmp_path):
    # issue 14.13: ctypes would cut "DIR\0junk" at the NUL and load DIR
    with pytest.raises(ValueError, match="null"):
        medner.Pipeline(model=str(model_dir) + "\0junk")
    with pytest.raises(ValueError, match="null"):
        medner.Pipeline(model=str(model_dir), adapter=str(tmp_path) + "\0x")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"model: {model_dir}\n")
    with pytest.raises(ValueError, match="null"):
        medner.Pipeline(config=str(cfg) + "\0junk")
    with pytest.raises(ValueError, match="null"):
        medner.Pipeline(model=str(model_dir), keep_labels=["Dis\0ease"])


def test_a_string_where_a_list_of_labels_is_expected(model_dir):
    # issue 14.13: keep_labels="Disease" would keep the types "D", "i", "s", ...
    for opt in ("keep_labels", "ignore_labels"):
        for bad in ("Disease", b"Disease", 5):
            with pytest.raises(TypeError, match=opt):
                medner.Pipeline(model=str(model_dir), **{opt: bad})
    with pytest.raises(TypeError, match="renames"):
        medner.Pipeline(model=str(model_dir), renames="Disease")
    # lists, tuples and sets still work
    with medner.Pipeline(model=str(model_dir), keep_labels=("Disease",),
                         ignore_labels={"O"}) as p:
        p("fever")


def test_error_is_per_thread_and_keeps_status_text():
    e = medner.MednerError(-1, "detail")
    assert e.status is medner.Status.INVALID_ARGUMENT and str(e) == "invalid argument: detail"
    assert medner.MednerError(-99, "x").status == -99          # newer code: kept as int


def test_close_and_context_manager(model_dir):
    p = medner.Pipeline(model=str(model_dir))
    assert p(TEXTS[0])
    p.close()
    p.close()                                   # idempotent
    with pytest.raises(ValueError, match="closed"):
        p(TEXTS[0])
    with medner.Pipeline(model=str(model_dir)) as p2:
        pass
    with pytest.raises(ValueError):
        p2.labels


LEAK_CHECK = textwrap.dedent("""
    import gc, sys, medner
    from medner import _capi
    model = sys.argv[1]
    def live():   # medner_allocator_set() is refused (BUSY) while any medner memory is alive
        rc = _capi.lib.medner_allocator_set(None)
        assert rc in (0, _capi.E_BUSY), rc
        return rc == _capi.E_BUSY
    assert not live()
    p = medner.Pipeline(model=model)
    assert p(["Fever 😀 and cough; amoxicillin.", "x"])
    assert live()                               # control: the check sees live objects
    p.close()
    assert not live(), "Pipeline.close() left memory"
    p = medner.Pipeline(model=model, threads=2)
    p(["a b c"] * 4)
    del p; gc.collect()
    assert not live(), "Pipeline.__del__ left memory"
    with medner.Tokenizer(model) as t:
        t.encode("Café 😀"); t.encode_windows("a " * 50, 16, 4)
    assert not live(), "Tokenizer left memory"
    try:
        medner.Pipeline(model=model + "/nope")
    except medner.MednerError:
        pass
    assert not live(), "a failed load left memory"
    print("no leaks")
""")


def test_every_c_object_is_freed(model_dir):
    r = subprocess.run([sys.executable, "-c", LEAK_CHECK, str(model_dir)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "no leaks"


def test_log_handler_is_silent_by_default_and_routes_warnings(model_dir, tmp_path):
    # a model directory with only vocab.txt: the tokenizer warns that no file
    # says whether to lower-case
    d = tmp_path / "vocab-only"
    d.mkdir()
    (d / "vocab.txt").write_bytes((model_dir / "vocab.txt").read_bytes())
    got = []
    medner.set_log_handler(lambda level, msg: got.append((level, msg)))
    try:
        medner.Tokenizer(str(d)).close()
    finally:
        medner.set_log_handler(None)
    assert len(got) == 1 and got[0][0] == medner.LOG_WARN and "lower-case" in got[0][1]
    medner.Tokenizer(str(d)).close()
    assert len(got) == 1                        # silenced again


def test_library_lookup_order(tmp_path, model_dir):
    import shutil
    pkg = tmp_path / "site" / "medner"
    # the package without the library a wheel bundles (medner/_lib/)
    shutil.copytree(pathlib_of(medner), pkg, ignore=shutil.ignore_patterns("_lib"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "site")}
    code = "import medner, medner._capi as c; print(c.LIBRARY_FOUND_BY, medner.version())"
    # 1. MEDNER_LIBRARY wins and is never silently replaced by another copy
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**env, "MEDNER_LIBRARY": "/nonexistent/libmedner.so.0",
                            "LD_LIBRARY_PATH": str(ROOT / "lib")})
    assert r.returncode != 0 and "MEDNER_LIBRARY=/nonexistent/libmedner.so.0" in r.stderr
    # 2. the source tree's lib/ when run from examples/python
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**env, "PYTHONPATH": str(ROOT / "examples" / "python")})
    assert r.stdout.split() == ["source", "tree", medner.__version__], r.stderr
    # 3. ctypes.util.find_library("medner"), here through LD_LIBRARY_PATH
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**env, "LD_LIBRARY_PATH": str(ROOT / "lib")})
    assert r.stdout.split() == ["find_library", medner.__version__], r.stderr
    # 4. a wheel's bundled copy (medner/_lib/) wins over the source tree's and
    #    find_library, but not over MEDNER_LIBRARY
    (pkg / "_lib").mkdir()
    shutil.copy(ROOT / "lib" / "libmedner.so.0", pkg / "_lib" / "libmedner.so.0")
    code2 = "import medner, medner._capi as c; print(c.LIBRARY_FOUND_BY, medner.library_path())"
    r = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True,
                       env={**env, "LD_LIBRARY_PATH": str(ROOT / "lib")})
    assert r.stdout.split() == ["bundled", str(pkg.resolve() / "_lib" / "libmedner.so.0")], \
        r.stderr
    r = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True,
                       env={**env, "MEDNER_LIBRARY": str(ROOT / "lib" / "libmedner.so.0")})
    assert r.stdout.split() == ["MEDNER_LIBRARY", str(ROOT / "lib" / "libmedner.so.0")], r.stderr


def pathlib_of(module):
    import pathlib
    return pathlib.Path(module.__file__).parent
