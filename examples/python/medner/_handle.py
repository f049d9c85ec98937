"""The lifetime plumbing shared by the classes that own a medner handle."""

import os


def c_path(name, value):
    """A path as the bytes a C `const char *` gets.  ctypes would silently
    cut a path at an embedded NUL (opening another file than the one named),
    so a NUL is refused, as open() refuses it."""
    b = os.fsencode(value)
    if b"\0" in b:
        raise ValueError(f"{name}: embedded null byte in path")
    return b


class Handle:
    """Base of Tokenizer and Pipeline: `with` support, freeing by the garbage
    collector, and _get() for the live handle.  A subclass sets self._handle
    (None once closed), names itself in _what and implements close()."""

    _what = "object"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _get(self):
        if self._handle is None:
            raise ValueError(f"the {self._what} is closed")
        return self._handle
