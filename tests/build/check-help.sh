#!/bin/sh
# `make help` lists every .PHONY target of the Makefile (each needs a `## `
# comment on its own rule line) and nothing that is not one. The .PHONY list
# comes from make's own database, so continuation lines and variables count.
#   sh tests/build/check-help.sh [MAKEFILE]
set -eu
mk=${1:-Makefile}
dir=$(dirname "$mk")
phony=$(make --no-print-directory -C "$dir" -f "$(basename "$mk")" -pRrq : 2>/dev/null |
        sed -n 's/^\.PHONY: //p' | tr ' ' '\n' | sed '/^$/d' | sort -u)
helped=$(make --no-print-directory -C "$dir" -f "$(basename "$mk")" help |
         sed -n 's/^  \([A-Za-z0-9_.-][A-Za-z0-9_.-]*\) .*/\1/p' | sort -u)
[ -n "$phony" ] || { echo "check-help: no .PHONY targets found in $mk" >&2; exit 1; }
missing=$(printf '%s\n' "$phony" | grep -vxF "$helped" || true)
extra=$(printf '%s\n' "$helped" | grep -vxF "$phony" || true)
status=0
if [ -n "$missing" ]; then
  echo "check-help: .PHONY targets without a '## ' line in make help:" $missing >&2
  status=1
fi
if [ -n "$extra" ]; then
  echo "check-help: make help lists targets that are not .PHONY:" $extra >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "check-help: $(printf '%s\n' "$phony" | wc -l) targets, each in make help"
exit "$status"
