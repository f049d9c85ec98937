"""MednerError and the status codes of include/medner.h."""

import enum

from . import _capi


class Status(enum.IntEnum):
    """medner_status: the numeric values are ABI and never change."""
    OK = _capi.OK
    INVALID_ARGUMENT = _capi.E_INVALID_ARGUMENT
    OUT_OF_MEMORY = _capi.E_OUT_OF_MEMORY
    IO = _capi.E_IO
    PARSE = _capi.E_PARSE
    INVALID_UTF8 = _capi.E_INVALID_UTF8
    UNSUPPORTED = _capi.E_UNSUPPORTED
    INVALID_MODEL = _capi.E_INVALID_MODEL
    INVALID_CONFIG = _capi.E_INVALID_CONFIG
    LIMIT = _capi.E_LIMIT
    BUSY = _capi.E_BUSY
    INTERNAL = _capi.E_INTERNAL
    CANCELLED = _capi.E_CANCELLED
    DIVERGED = _capi.E_DIVERGED


class MednerError(Exception):
    """A medner function failed.

    Attributes:
        status:  the negative status code (a Status member, or a plain int for
                 a code newer than this package).
        message: medner_last_error() of the failing call: what failed, where
                 (file, line:column, byte offset) and what was expected.  It
                 never contains input text.
    """

    def __init__(self, status, message):
        try:
            status = Status(status)
        except ValueError:
            pass
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self):
        text = _capi.lib.medner_status_str(int(self.status)).decode("utf-8", "replace")
        return f"{text}: {self.message}" if self.message else text


class Cancelled(MednerError):
    """A call stopped on request (MEDNER_E_CANCELLED): the `should_abort`
    callback returned True.  The pipeline stays usable."""

    def __init__(self, status=_capi.E_CANCELLED, message=""):
        super().__init__(status, message)


def error(rc, msg):
    """The exception for status `rc`: Cancelled for MEDNER_E_CANCELLED, else
    MednerError."""
    return Cancelled(rc, msg) if rc == _capi.E_CANCELLED else MednerError(rc, msg)


def check(rc):
    """Raise MednerError (Cancelled for MEDNER_E_CANCELLED) for a failed call;
    must run on the calling thread right after the call (medner_last_error()
    is thread-local and valid until the next medner call)."""
    if rc != _capi.OK:
        msg = _capi.lib.medner_last_error().decode("utf-8", "replace")
        raise error(rc, msg)
