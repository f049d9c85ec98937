#!/bin/sh
# `make test-spark`: a virtualenv in build/venv-spark (reusing the
# interpreter's site-packages; pyspark, pandas, pyarrow from PyPI when they are
# missing), `pip install examples/python`, then check_spark.py: SPARK_NOTES
# (default 10000) generated notes through the CLI and through
# annotate_notes.py in Spark local[2]; identical entities, one pipeline load
# per Python worker, throughput and worker memory.
#   PYTHON=python3 SPARK_NOTES=10000 sh examples/spark/test-spark.sh
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
VENV=build/venv-spark
VPY=$ROOT/$VENV/bin/python

# Java: PySpark 4 runs on Java 17 or 21 (java on PATH or JAVA_HOME).
if [ -z "${JAVA_HOME:-}" ] && ! command -v java > /dev/null 2>&1; then
    for d in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-21-openjdk-*; do
        [ -x "$d/bin/java" ] && JAVA_HOME=$d && export JAVA_HOME && break
    done
fi

mkdir -p build
if [ ! -x "$VPY" ] || ! "$VPY" -c 'import sys' 2> /dev/null; then
    rm -rf "$VENV"
    # Without a pip of its own the venv uses the interpreter's (as
    # examples/python/run-tests.sh); without one there, it gets its own.
    "$PY" -m venv --system-site-packages --without-pip "$VENV"
    if ! "$VPY" -m pip --version > /dev/null 2>&1; then
        rm -rf "$VENV"
        "$PY" -m venv --system-site-packages "$VENV"
    fi
fi
"$VPY" -c 'import pyspark, pandas, pyarrow' 2> /dev/null ||
    "$VPY" -m pip install -q -r examples/spark/requirements.txt
# The medner package (reinstalled each run: it follows the source tree).
if ! "$VPY" -m pip install -q --force-reinstall --no-build-isolation --no-index --no-deps \
        ./examples/python > build/pip-spark-offline.log 2>&1; then
    "$VPY" -m pip install -q --force-reinstall --no-deps ./examples/python
fi
rm -rf examples/python/build examples/python/medner.egg-info

# The package finds the library through MEDNER_LIBRARY (unless it bundles
# one); local-mode executors inherit the environment, and annotate_notes.py
# also passes it on as spark.executorEnv.MEDNER_LIBRARY.
export MEDNER_LIBRARY="$ROOT/lib/libmedner.so.0"
export PYSPARK_PYTHON="$VPY" PYSPARK_DRIVER_PYTHON="$VPY"
export PYTHONWARNINGS="ignore::FutureWarning"
cd build
"$VPY" -c 'import medner, pyspark
assert "/site-packages/" in medner.__file__, medner.__file__
print("test-spark: medner", medner.version(), "from", medner.library_path(), "; pyspark", pyspark.__version__)'
exec "$VPY" -u "$ROOT/examples/spark/check_spark.py" --root "$ROOT" --out "$ROOT/build/spark-test" \
    --notes "${SPARK_NOTES:-10000}" "$@"
