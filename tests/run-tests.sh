#!/bin/sh
# Test runner: runs each test program, then (mode "all") the header, ABI,
# ABI-gate and install checks; prints one summary line at the end.
#   sh tests/run-tests.sh unit|sanitize|all BIN...
mode=$1; shift
passed=0; failed=0; failures=""
run() { # name command...
  name=$1; shift
  echo "==> $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures="$failures $name"; fi
}
for t in "$@"; do
  run "$(basename "$t")" "$t"
done
if [ "$mode" = all ]; then
  run cli sh tests/cli/test-cli.sh
  run eval-aggregation sh tests/cli/test-eval-aggregation.sh
  run eval-output sh tests/cli/test-eval-output.sh
  run cli-trust sh tests/cli/test-cli-trust.sh
  run cli-context sh tests/cli/test-cli-context.sh
  run cli-precision sh tests/cli/test-cli-precision.sh
  run cli-segment sh tests/cli/test-cli-segment.sh
  run cli-html sh tests/cli/test-cli-html.sh
  run cli-train sh tests/cli/test-cli-train.sh
  run check-abi make --no-print-directory check-abi
  run abi-gate sh tests/abi/test-abi-gate.sh
  run install sh tests/install/test-install.sh
fi
echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$mode: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
