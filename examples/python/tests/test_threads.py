"""Threads: calls into medner release the GIL, concurrent calls give the serial
results, and each thread works through its own medner_context.

ctypes releases the GIL around every call of a function from a CDLL (CPython's
_ctypes/callproc.c: Py_BEGIN_ALLOW_THREADS unless FUNCFLAG_PYTHONAPI, which
only PyDLL sets).  The tests below prove it for medner's own calls, with a
PyDLL control that keeps the GIL to show the tests can fail.
"""

import ctypes
import os
import threading
import time

import medner
from medner import _capi
from conftest import TEXTS

LONG = " ".join(TEXTS[:6]) * 8          # ~1700 tokens: 4-5 windows, 0.6-0.9 s of work


def _max_python_gap(call):
    """Run `call` in a thread while this thread spins in Python; return the
    longest stretch during which this thread could not run (seconds) and how
    long the whole thing took."""
    done = threading.Event()

    def worker():
        call()
        done.set()

    t = threading.Thread(target=worker)
    t0 = last = time.perf_counter()
    t.start()
    gap = 0.0
    while not done.is_set():
        now = time.perf_counter()
        gap = max(gap, now - last)
        last = now
    t.join()
    return gap, time.perf_counter() - t0


def test_gil_is_released_during_inference(pipeline):
    gap, took = _max_python_gap(lambda: pipeline(LONG))
    assert took > 0.3, f"the workload is too short to measure ({took:.3f} s)"
    print(f"\nCDLL: call {took:.3f} s, longest Python stall {gap * 1000:.1f} ms")
    assert gap < 0.5 * took

    # Control: the same C call through a PyDLL handle holds the GIL for its
    # whole duration, and this thread stalls for (nearly) all of it.
    pydll = ctypes.PyDLL(medner.library_path())
    annotate = pydll.medner_pipeline_annotate
    annotate.restype = ctypes.c_int
    annotate.argtypes = _capi.lib.medner_pipeline_annotate.argtypes
    data = LONG.encode("utf-8")
    out = (ctypes.POINTER(_capi.Entities) * 1)()
    bufs = (ctypes.c_char_p * 1)(data)
    lens = (ctypes.c_size_t * 1)(len(data))
    ctx = pipeline._acquire()
    try:
        def held():
            assert annotate(out, pipeline._handle, ctx, bufs, lens, 1) == 0
        gap_held, took_held = _max_python_gap(held)
    finally:
        pipeline._release(ctx)
        _capi.lib.medner_entities_free(out[0])
    print(f"PyDLL: call {took_held:.3f} s, longest Python stall {gap_held * 1000:.1f} ms")
    assert gap_held > 0.8 * took_held


def test_two_threads_overlap_and_match_serial(model_dir):
    texts = [[LONG], [LONG[::-1]]]            # different work per thread
    with medner.Pipeline(model=str(model_dir)) as p:
        serial, serial_s = [], []
        for t in texts:
            t0 = time.perf_counter()
            serial.append(p(t))
            serial_s.append(time.perf_counter() - t0)
        assert any(serial[0]) and any(serial[1])

        # Thread B starts its call 0.1 s after thread A has entered its own.
        # Were the GIL held during a call, B could not even wake from its
        # sleep before A's call returned, so the calls could not overlap.
        results, spans = [None, None], [None, None]
        a_in = threading.Event()

        def run(i):
            if i == 1:
                a_in.wait()
                time.sleep(0.1)
            else:
                a_in.set()
            t0 = time.perf_counter()
            results[i] = p(texts[i])
            spans[i] = (t0, time.perf_counter())

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        w0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - w0
        assert results == serial
        (a0, a1), (b0, b1) = spans
        in_flight = (a1 - a0) + (b1 - b0)
        print(f"\nserial calls {serial_s[0]:.3f} + {serial_s[1]:.3f} s; two threads: "
              f"calls {a1 - a0:.3f} + {b1 - b0:.3f} s in flight within {wall:.3f} s wall "
              f"(in flight / wall {in_flight / wall:.2f}; speed-up over serial "
              f"{sum(serial_s) / wall:.2f}x on {len(os.sched_getaffinity(0))} cores, "
              f"load average {os.getloadavg()[0]:.1f})")
        assert a0 < b0 < a1, "thread B could not enter medner while thread A was in it"
        # serialised calls give a ratio below 1 (B waits for A's whole call, and
        # its 0.1 s start offset); perfect overlap of these two calls only about
        # 1.5, so 1.25 separates the two on a shared 2-core machine
        assert in_flight / wall > 1.25, "the two calls did not overlap in time"
        # each thread used its own context; both are now back in the pool
        assert len(p._pool) == 2 and p._busy == 0


def test_many_threads_one_pipeline(pipeline):
    want = pipeline(TEXTS)
    got = [None] * 8

    def run(i):
        got[i] = pipeline(TEXTS)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 8


def test_close_refuses_while_another_thread_annotates(model_dir):
    p = medner.Pipeline(model=str(model_dir))
    errors = []
    entered = threading.Event()

    def run():
        entered.set()
        p(LONG)

    t = threading.Thread(target=run)
    t.start()
    entered.wait()
    deadline = time.perf_counter() + 5
    while p._busy == 0 and time.perf_counter() < deadline:
        time.sleep(0.001)
    try:
        p.close()
    except RuntimeError as e:
        errors.append(e)
    t.join()
    p.close()
    assert errors and "still annotating" in str(errors[0])
