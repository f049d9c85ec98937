"""medner for Python: find medical entities with BERT-family models.

A ctypes binding over libmedner.so, the medner C library (a wheel ships the
library inside the package):

    import medner
    with medner.Pipeline(model="path/to/hf-model-dir") as ner:
        for e in ner("Pt c/o fever; started amoxicillin."):
            print(e.label, e.start, e.end, e.score, e.text)

Offsets are Python str indices (code points): text[e.start:e.end] == e.text.
With clinical context (on by default for clinical labels, docs/context.md)
each entity also says e.negated, e.uncertain, e.historical, e.hypothetical,
e.family, e.section and e.sentence; medner.context(text, spans) does the
same for spans found elsewhere.
Calls into medner release the GIL.  Errors raise MednerError; batch calls
with errors="return" (pipeline.annotate_each, annotate_many, stream) put a
TextError in the slot of a failing text instead.  progress= and
should_abort= callbacks (medner.Progress, medner.Cancelled) follow and stop
long calls; pipeline.decode() turns logits of an encoder of your own into
entities; memory_used() / memory_highwater() report medner's heap.  `python -m medner
annotate` is the `medner annotate` CLI in Python.

The library is found through $MEDNER_LIBRARY, else the copy bundled in the
package (medner/_lib/, installed from a wheel), else the lib/ folder of the
source tree this package sits in, else ctypes.util.find_library("medner").
"""

from __future__ import annotations

import atexit as _atexit
import threading as _threading
from typing import Callable, Optional

from . import _capi
from ._errors import Cancelled, MednerError, Status
from .pipeline import OPTIONS, Entity, Pipeline, Progress, Result, TextError
from .context import ContextRules, context, sections, sentences
from .tokenizer import Encoding, Tokenizer, TokenizerOptions

__version__ = "0.4.0"

__all__ = ["Cancelled", "ContextRules", "Entity", "Encoding", "LOG_DEBUG", "LOG_ERROR", "LOG_INFO",
           "LOG_WARN", "MednerError", "OPTIONS", "Pipeline", "Progress", "Result", "Status",
           "TextError", "Tokenizer", "TokenizerOptions", "library_path", "memory_highwater", "memory_used",
           "context", "sections", "sentences", "set_log_handler", "version", "version_number"]

LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = (_capi.LOG_ERROR, _capi.LOG_WARN, _capi.LOG_INFO,
                                            _capi.LOG_DEBUG)


def version() -> str:
    """Release version of the loaded library, e.g. "0.4.0" (medner_version())."""
    return _capi.lib.medner_version().decode("ascii")


def version_number() -> int:
    """MAJOR*10000 + MINOR*100 + PATCH of the loaded library."""
    return _capi.lib.medner_version_number()


def memory_used() -> int:
    """Bytes of heap memory medner holds now, all threads together
    (medner_memory_used(), as sqlite3_memory_used()): the sizes it asked
    for, not counting the memory-mapped weights."""
    return _capi.lib.medner_memory_used()


def memory_highwater(reset: bool = False) -> int:
    """Highest memory_used() since the process started or the last reset
    (medner_memory_highwater()); reset=True starts a new period at the
    current memory_used() (the value returned is the peak before it)."""
    return _capi.lib.medner_memory_highwater(1 if reset else 0)


def library_path() -> str:
    """Path (or name) of the libmedner.so that was loaded: with a wheel, the
    copy inside the package (medner/_lib/libmedner.so.0)."""
    return _capi.LIBRARY_PATH


_log_lock = _threading.Lock()
_log_callback = None        # the installed ctypes callback
_log_callbacks_kept: list = []    # every callback ever installed: a C thread may still be inside
                            # an old one while it is replaced, so none is ever freed


def set_log_handler(handler: "Optional[Callable[[int, str], None]]",
                    max_level: int = LOG_WARN) -> None:
    """Route medner's diagnostics to `handler(level, message)` (level is one
    of LOG_ERROR..LOG_DEBUG), or silence them again with None (the default
    state).  Messages never contain input text.  The handler may be called
    from any thread that runs medner, concurrently; exceptions it raises are
    ignored.  Process-wide, like medner_log_set_callback()."""
    global _log_callback
    with _log_lock:
        if handler is None:
            cb = _capi.LogFn()
        else:
            def trampoline(level, message, _user):
                try:
                    handler(int(level), message.decode("utf-8", "replace"))
                except BaseException:       # never unwind into C
                    pass
            cb = _capi.LogFn(trampoline)
        rc = _capi.lib.medner_log_set_callback(cb, max_level, None)
        if rc != _capi.OK:
            from ._errors import check
            check(rc)
        if handler is not None:
            _log_callbacks_kept.append(cb)
        _log_callback = cb if handler is not None else None


def _silence_at_exit():
    # A C thread must not call into a finalising interpreter.
    if _log_callback is not None:
        _capi.lib.medner_log_set_callback(_capi.LogFn(), _capi.LOG_ERROR, None)


_atexit.register(_silence_at_exit)
