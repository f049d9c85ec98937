#!/bin/sh
# The layering of docs/architecture.md, checked on the sources:
#  - each subsystem of the Makefile's SUBSYSTEMS includes headers only of
#    itself and of subsystems to its left (dependencies flow one way);
#  - model.c does not include model/adapter.h (the adapter is a layer above
#    the model: adapter.c uses model.c, never the reverse);
#  - a subsystem's private header, src/S/*_internal.h (model_internal.h,
#    text_internal.h, qgemm_internal.h, ...), is included only by files of
#    src/S/ (and by the unit tests and fuzz targets under tests/, which may
#    check internals);
#  - the library includes nothing of src/cli/;
#  - the CLI includes, besides include/medner.h and its own headers, only the
#    internal headers listed in CLI_INTERNAL below (so the list cannot grow
#    without this file and the document changing).
#   sh tests/build/check-layers.sh
set -eu
CLI_INTERNAL="common json yaml eval encoder"
subs=$(make --no-print-directory -s -pRrq : 2>/dev/null | sed -n 's/^SUBSYSTEMS := //p')
[ -n "$subs" ] || { echo "check-layers: SUBSYSTEMS not found in the Makefile" >&2; exit 1; }
status=0
left=""
for s in $subs; do
  allowed=" $left $s "
  for f in src/"$s"/*.c src/"$s"/*.h; do
    [ -f "$f" ] || continue
    for dep in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([A-Za-z0-9_]*\)\/.*/\1/p' "$f" | sort -u); do
      case "$allowed" in
        *" $dep "*) ;;
        *) echo "check-layers: FAIL: $f includes $dep/ (allowed for $s/: $left $s)" >&2; status=1 ;;
      esac
    done
  done
  left="$left $s"
done
# private headers: "S/x_internal.h" only from src/S/ (tests/ may include them)
for f in src/*/*.c src/*/*.h; do
  [ -f "$f" ] || continue
  own=$(basename "$(dirname "$f")")
  for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([A-Za-z0-9_]*\/[A-Za-z0-9_]*_internal\.h\)".*/\1/p' "$f" | sort -u); do
    [ "${inc%%/*}" = "$own" ] || {
      echo "check-layers: FAIL: $f includes $inc (private to src/${inc%%/*}/)" >&2
      status=1
    }
  done
done
if grep -n '#[[:space:]]*include[[:space:]]*"model/adapter.h"' src/model/model.c >/dev/null; then
  echo "check-layers: FAIL: src/model/model.c includes model/adapter.h (the adapter is above the model)" >&2
  status=1
fi
for f in src/cli/*.c src/cli/*.h; do
  for dep in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([A-Za-z0-9_]*\)\/.*/\1/p' "$f" | sort -u); do
    case " cli $CLI_INTERNAL " in
      *" $dep "*) ;;
      *) echo "check-layers: FAIL: $f includes $dep/ (the CLI may include: medner.h, cli/, $CLI_INTERNAL)" >&2; status=1 ;;
    esac
  done
done
[ $status -eq 0 ] && echo "check-layers: OK:$(echo $subs | sed 's/ / < /g'); *_internal.h only within their subsystem; cli uses medner.h + $CLI_INTERNAL"
exit $status
