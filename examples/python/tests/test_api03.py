"""The 0.3 C API through the Python package: annotate_each (per-text status),
progress / should_abort callbacks (Cancelled, exceptions raised inside a
callback), decode() of logits computed outside the pipeline, num_labels,
memory statistics and the params structs filled by medner_*_params_default()."""

import array
import ctypes
import gc
import threading

import pytest

import medner
from medner import _capi
from conftest import TEXTS

BAD = "Fever and cough \ud800 here"          # a lone surrogate: not encodable as UTF-8
LONG = " ".join(TEXTS[:6]) * 6               # several windows with max_length=64


def fields(entities):
    return [(e.label, e.start, e.end, e.text, e.score) for e in entities]


@pytest.fixture(scope="module")
def plain(model_dir):
    """No clinical context (decode() gives none), small windows: LONG has several."""
    with medner.Pipeline(model=str(model_dir), context=False, max_length=64,
                         overlap=16) as p:
        yield p


# ---------------------------------------------------------------------------- annotate_each


def test_annotate_each_gives_each_text_its_own_status(pipeline):
    texts = [TEXTS[0], BAD, TEXTS[2], "", BAD + " again", TEXTS[5]]
    got = pipeline.annotate_each(texts)
    assert len(got) == len(texts)
    bad = [r for r in got if isinstance(r, medner.TextError)]
    assert [(r.index, r.status) for r in bad] == [(1, medner.Status.INVALID_UTF8),
                                                  (4, medner.Status.INVALID_UTF8)]
    # the first failure is described by the library, the others too; each
    # message names its text's index and byte offset, never the text
    assert bad[0].message == "text 1: invalid UTF-8 at byte offset 16"
    assert bad[1].message == "text 4: invalid UTF-8 at byte offset 16"
    assert all("Fever" not in r.message for r in bad)
    for i in (0, 2, 3, 5):
        assert got[i] == pipeline(texts[i]), i           # as if annotated alone
    assert got[0] and got[2] and got[5] and got[3] == []
    # all good: as the all-or-nothing call
    assert pipeline.annotate_each(TEXTS) == pipeline(TEXTS)
    assert pipeline.annotate_each([]) == []
    with pytest.raises(TypeError):
        pipeline.annotate_each(TEXTS[0])


def test_annotate_each_only_bad_texts(pipeline):
    got = pipeline.annotate_each([BAD])
    assert len(got) == 1 and got[0].index == 0 and got[0].status == medner.Status.INVALID_UTF8
    assert isinstance(got[0].exception(), medner.MednerError)


# ---------------------------------------------------------------------------- callbacks


def test_progress_reports_the_call(plain):
    seen = []
    ents = plain([LONG, TEXTS[1]], progress=seen.append)
    assert ents == plain([LONG, TEXTS[1]])
    assert seen and all(isinstance(p, medner.Progress) for p in seen)
    total = len(LONG.encode()) + len(TEXTS[1].encode())
    assert all(p.n_texts == 2 and p.total_bytes == total for p in seen)
    assert [p.windows_done for p in seen] == sorted(p.windows_done for p in seen)
    assert seen[-1].windows_done >= len(plain.windows(LONG)) + 1
    assert seen[-1].bytes_done == total


def test_should_abort_cancels_and_the_pipeline_stays_usable(plain):
    want = plain([LONG, TEXTS[0]])
    asked = []

    def stop_on_second():
        asked.append(1)
        return len(asked) >= 2

    with pytest.raises(medner.Cancelled) as ei:
        plain([LONG, TEXTS[0]], should_abort=stop_on_second)
    assert isinstance(ei.value, medner.MednerError)
    assert ei.value.status == medner.Status.CANCELLED and len(asked) == 2
    assert plain([LONG, TEXTS[0]]) == want                 # usable after
    with pytest.raises(medner.Cancelled):                  # errors="return" too
        plain.annotate_each([LONG, BAD], should_abort=lambda: True)
    assert plain.annotate_each([LONG, TEXTS[0]]) == want
    assert plain([LONG, TEXTS[0]], should_abort=lambda: False) == want


def test_exception_in_a_callback_surfaces_to_the_caller(plain):
    class Boom(Exception):
        pass

    def progress(p):
        raise Boom(f"at {p.windows_done} windows")

    def abort():
        raise Boom("from should_abort")

    with pytest.raises(Boom, match="windows"):
        plain(LONG, progress=progress)
    with pytest.raises(Boom, match="should_abort"):
        plain(LONG, should_abort=abort)
    with pytest.raises(Boom, match="should_abort"):
        plain.annotate_each([TEXTS[0], BAD], should_abort=abort)
    with pytest.raises(KeyboardInterrupt):                  # BaseException too
        plain(LONG, should_abort=lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert plain(LONG)                                      # still usable
    with pytest.raises(TypeError, match="callable"):
        plain(LONG, progress=3)


def test_pipeline_level_callbacks_and_per_call_override(model_dir):
    calls = []
    with medner.Pipeline(model=str(model_dir), context=False, max_length=64,
                         progress=lambda p: calls.append(p.windows_done),
                         should_abort=lambda: len(calls) >= 1) as p:
        with pytest.raises(medner.Cancelled):
            p(LONG)                                          # the pipeline's callbacks
        assert calls
        n = len(calls)
        assert p(LONG, should_abort=lambda: False)           # overridden for one call
        assert len(calls) > n                                # progress still the pipeline's


def test_callbacks_with_worker_threads(model_dir):
    texts = [LONG, TEXTS[0], TEXTS[1], LONG]
    names = set()
    with medner.Pipeline(model=str(model_dir), context=False, max_length=64,
                         threads=2) as p:
        want = p(texts)
        got = p(texts, progress=lambda _: names.add(threading.current_thread().name))
        # called on the worker threads (which of the 2 runs which share is the pool's choice)
        assert got == want and names and threading.current_thread().name not in names
        with pytest.raises(medner.Cancelled):
            p(texts, should_abort=lambda: True)
        assert p(texts) == want


def test_callback_objects_live_with_the_pipeline(model_dir):
    p = medner.Pipeline(model=str(model_dir), context=False)
    gc.collect()                    # only the Pipeline holds the ctypes callbacks
    seen = []
    assert p(TEXTS[0], progress=seen.append) and seen
    p.close()


# ---------------------------------------------------------------------------- decode


def test_decode_of_own_logits_equals_the_pipeline(plain):
    windows = plain.windows(LONG)
    assert len(windows) > 2                          # overlapping windows are merged
    logits = plain.logits(LONG)
    assert [len(a) for a in logits] == [len(w.ids) * plain.num_labels for w in windows]
    want = plain(LONG)
    assert len(want) >= 10
    assert fields(plain.decode(LONG, logits)) == fields(want)
    # any buffer or sequence of numbers: array('d'), nested lists, memoryview
    as_double = [array.array("d", a) for a in logits]
    assert fields(plain.decode(LONG, as_double)) == fields(want)
    nested = [[list(a[r * plain.num_labels:(r + 1) * plain.num_labels])
               for r in range(len(a) // plain.num_labels)] for a in logits]
    assert fields(plain.decode(LONG, nested)) == fields(want)
    assert fields(plain.decode(LONG, [memoryview(a) for a in logits])) == fields(want)
    for text in TEXTS:
        assert fields(plain.decode(text, plain.logits(text))) == fields(plain(text)), text


def test_decode_with_numpy_when_present(plain):
    np = pytest.importorskip("numpy")
    logits = [np.asarray(a, dtype=np.float32).reshape(-1, plain.num_labels)
              for a in plain.logits(LONG)]
    assert fields(plain.decode(LONG, logits)) == fields(plain(LONG))
    assert fields(plain.decode(LONG, [x.astype(np.float64) for x in logits])) == \
        fields(plain(LONG))


def test_decode_uses_the_logits_it_is_given(plain):
    logits = plain.logits(TEXTS[2])
    flipped = [array.array("f", [-x for x in a]) for a in logits]
    assert fields(plain.decode(TEXTS[2], flipped)) != fields(plain(TEXTS[2]))


def test_decode_merge_and_partial(model_dir, plain):
    logits = plain.logits(LONG)
    with medner.Pipeline(model=str(model_dir), context=False, max_length=64, overlap=16,
                         merge="hf") as hf:
        assert fields(plain.decode(LONG, logits, merge="hf")) == fields(hf(LONG))
    with medner.Pipeline(model=str(model_dir), context=False, max_length=64, overlap=16,
                         first_window_only=True) as first:
        assert fields(plain.decode(LONG, logits[:1], partial=True)) == fields(first(LONG))


def test_decode_errors(plain):
    logits = plain.logits(LONG)
    with pytest.raises(ValueError, match="window"):
        plain.decode(LONG, logits[:-1])                     # a window missing
    with pytest.raises(ValueError, match="window"):
        plain.decode(LONG, logits + logits[:1])             # one too many
    with pytest.raises(ValueError, match="window 1 has"):
        plain.decode(LONG, [logits[0], logits[1][:-1]] + logits[2:])
    with pytest.raises(TypeError):
        plain.decode(LONG, [["x"]] * len(logits))
    with pytest.raises(TypeError):
        plain.decode(LONG, 3.0)
    with pytest.raises(ValueError, match="merge"):
        plain.decode(LONG, logits, merge="middle")


def test_num_labels_is_the_label_count(pipeline):
    assert pipeline.num_labels == len(pipeline.labels) > 1


# ---------------------------------------------------------------------------- memory, params


def test_memory_used_and_highwater(model_dir):
    before = medner.memory_used()
    medner.memory_highwater(reset=True)
    with medner.Pipeline(model=str(model_dir)) as p:
        p(LONG)
        during = medner.memory_used()
        assert during > before
        peak = medner.memory_highwater()
        assert peak >= during
    gc.collect()
    assert medner.memory_used() <= before + 4096            # the pipeline's memory is back
    assert medner.memory_highwater(reset=True) == peak      # the peak, before the reset
    assert medner.memory_highwater() < peak                 # a new period


def test_params_structs_are_filled_by_the_library():
    for cls, fn in ((_capi.TokenizerParams, "medner_tokenizer_params_default"),
                    (_capi.EncodeParams, "medner_encode_params_default"),
                    (_capi.EncoderParams, "medner_encoder_params_default"),
                    (_capi.DecoderParams, "medner_decoder_params_default"),
                    (_capi.PipelineParams, "medner_pipeline_params_default")):
        assert cls._default == fn
        mine = cls()
        theirs = cls.__new__(cls)
        ctypes.memset(ctypes.byref(theirs), 0xA5, ctypes.sizeof(cls))
        assert getattr(_capi.lib, fn)(ctypes.byref(theirs), ctypes.sizeof(cls)) == 0
        assert bytes(mine) == bytes(theirs), cls.__name__
        assert mine.struct_size == ctypes.sizeof(cls)
        assert cls(struct_size=0).struct_size == ctypes.sizeof(cls)
    assert _capi.EncodeParams(max_length=7).max_length == 7
