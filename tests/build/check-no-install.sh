#!/bin/sh
# `make test BUILD=asan|tsan` and the other test targets never install Debian
# packages: in their dry run (make -n, which still descends into
# $(MAKE) sub-makes), every .ci/deps.sh call carries --check and nothing runs
# apt-get or dpkg -i. Only the README's two commands (`make demo`, and `make
# test` for the test tier, as root) and `make deps*` may install.
#   sh tests/build/check-no-install.sh [MAKEFILE]
set -eu
mk=${1:-Makefile}
status=0
for args in "test BUILD=asan" "test BUILD=tsan" "test-sanitize" "test-tsan" "unit" \
            "check-abi" "test-models" "test-python" "test-wheel" "test-java" "test-html" \
            "test-spark" "test-lora-roundtrip" "doc"; do
  # shellcheck disable=SC2086
  out=$(make --no-print-directory -n -f "$mk" $args 2>&1) || {
    echo "check-no-install: make -n $args failed:" >&2; echo "$out" | tail -5 >&2; status=1; continue; }
  bad=$(printf '%s\n' "$out" | grep -E 'deps\.sh|apt-get|apt |dpkg -i' | grep -v 'deps\.sh --check' || true)
  if [ -n "$bad" ]; then
    echo "check-no-install: FAIL: make $args would install packages:" >&2
    printf '%s\n' "$bad" >&2
    status=1
  fi
done
if ! make --no-print-directory -n -f "$mk" demo 2>/dev/null | grep -q 'deps\.sh demo test$'; then
  echo "check-no-install: FAIL: make demo no longer installs the demo and test tiers (README command 1)" >&2
  status=1
fi
if ! make --no-print-directory -n -f "$mk" test 2>/dev/null | grep -q '^sh \.ci/deps\.sh test$'; then
  echo "check-no-install: FAIL: make test no longer installs the test tier (README command 2)" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-no-install: OK: test targets only check packages; make demo and make test install their tiers"
exit $status
