"""Build of the medner wheel: libmedner.so is compiled from the C sources with
the repository's Makefile and shipped inside the package (medner/_lib/).

The C sources are found in one of two places:
  * ../../ when building from the repository (pip install examples/python,
    python -m build examples/python: the sdist step below copies them);
  * csrc/ next to this file when building from an unpacked sdist (the sdist
    carries include/, src/, Makefile, pkgconfig/ and LICENSE there).

The wheel is a platform wheel tagged py3-none-<platform>: the library is
opened with ctypes, so any CPython 3 works with it (no ABI tag).  Its
libutf8proc and libyaml dependencies are Debian shared libraries;
`auditwheel repair` copies them into the wheel (medner.libs/) and retags it
manylinux (examples/python/wheel-test.sh does that when auditwheel is there).

Environment: MAKE (default "make"), MEDNER_BUILD_JOBS (make -j, default 2),
CC and CFLAGS are passed on to make as usual.
"""

import os
import pathlib
import shutil
import subprocess
import sysconfig

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = pathlib.Path(__file__).resolve().parent
# What the sdist carries of the repository (relative to its root) to build the library.
C_SOURCES = ["Makefile", "LICENSE", "include", "src", "pkgconfig"]
SOLIB = "lib/libmedner.so.0.4.0"          # the Makefile's $(SOLIB)
BUNDLED = "libmedner.so.0"                 # its SONAME, the name inside medner/_lib/


def c_source_root():
    """The directory holding the C sources and the Makefile."""
    for root in (HERE / "csrc", HERE.parent.parent):
        if (root / "include" / "medner.h").is_file() and (root / "Makefile").is_file():
            return root
    raise SystemExit("medner setup.py: C sources not found: expected ../../include/medner.h "
                     "(a repository checkout) or csrc/include/medner.h (an sdist)")


def build_library():
    """Run the Makefile for the shared library only; returns its path."""
    root = c_source_root()
    cmd = [os.environ.get("MAKE", "make"), "-C", str(root),
           "-j" + os.environ.get("MEDNER_BUILD_JOBS", "2"), SOLIB]
    print("medner: building the C library:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    lib = root / SOLIB
    if not lib.is_file():
        raise SystemExit(f"medner setup.py: make did not produce {lib}")
    return lib


class BuildPy(build_py):
    """build_py + the compiled library copied into medner/_lib/."""

    def run(self):
        super().run()
        lib = build_library()
        dest = pathlib.Path(self.build_lib) / "medner" / "_lib"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib, dest / BUNDLED)
        print(f"medner: bundled {lib} as {dest / BUNDLED}", flush=True)


class Sdist(sdist):
    """sdist + the C sources under csrc/ (taken from the repository, or from
    csrc/ itself when making an sdist from an sdist)."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        root = c_source_root()
        out = pathlib.Path(base_dir) / "csrc"
        for name in C_SOURCES:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, out / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.o", "*.d", "__pycache__"))
            elif src.is_file():
                out.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out / name)
            else:
                raise SystemExit(f"medner setup.py: {src} is missing (needed in the sdist)")


cmdclass = {"build_py": BuildPy, "sdist": Sdist}

# A platform wheel without a Python ABI: py3-none-<platform>.
try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel  # setuptools >= 70.1
except ImportError:
    try:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel
    except ImportError:
        _bdist_wheel = None


class BinaryDistribution(Distribution):
    """Not pure: the package holds a shared library, so it installs into
    platlib (what auditwheel repair expects) and the wheel is not "any"."""

    def has_ext_modules(self):
        return True


if _bdist_wheel is not None:
    class BdistWheel(_bdist_wheel):
        def get_tag(self):
            plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = BdistWheel

setup(cmdclass=cmdclass, distclass=BinaryDistribution)
