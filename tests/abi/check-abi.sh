#!/bin/sh
# ABI gate for libmedner.so.
#   check-abi.sh check SOLIB     compare SOLIB with the committed baseline
#   check-abi.sh baseline SOLIB  rewrite the baseline (only after a compatible addition)
# Baseline files (tests/abi/): symbols.txt (exported names, one per line) and
# libmedner.abi (abidw dump with type information, from a -g build).
set -eu
mode=$1
solib=$2
dir=tests/abi
out=build/abi
mkdir -p "$out"

for tool in abidw abidiff nm readelf; do
  command -v $tool >/dev/null || { echo "check-abi: $tool not found (Debian: abigail-tools binutils)" >&2; exit 1; }
done

# 1. SONAME
soname=$(readelf -d "$solib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libmedner.so.0" ] || { echo "check-abi: SONAME is '$soname', expected libmedner.so.0" >&2; exit 1; }

# 2. exported symbols: all medner_*, all in a named version node
nm -D --defined-only "$solib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u > "$out/symbols.txt"
bad=$(grep -v '^medner_' "$out/symbols.txt" || true)
if [ -n "$bad" ]; then
  echo "check-abi: exported symbols without the medner_ prefix:" >&2; echo "$bad" >&2; exit 1
fi
unversioned=$(nm -D --defined-only --with-symbol-versions "$solib" 2>/dev/null | awk '$2 != "A" {print $3}' | grep -v '@@*medner_' || true)
if [ -n "$unversioned" ]; then
  echo "check-abi: symbols outside a medner_ version node:" >&2; echo "$unversioned" >&2; exit 1
fi

# 3. type-level ABI dump (needs -g; an empty dump would hide every type change)
abidw --headers-dir include --drop-private-types --load-all-types \
      --out-file "$out/libmedner.abi" "$solib"
grep -q '<abi-instr' "$out/libmedner.abi" || {
  echo "check-abi: abidw found no type information; build with -g" >&2; exit 1; }

if [ "$mode" = baseline ]; then
  if [ -f "$dir/symbols.txt" ]; then
    gone=$(comm -23 "$dir/symbols.txt" "$out/symbols.txt")
    if [ -n "$gone" ] && [ "${FORCE:-0}" != 1 ]; then
      echo "check-abi: refusing to drop symbols from the baseline: $gone (FORCE=1 for a new SONAME)" >&2
      exit 1
    fi
  fi
  cp "$out/symbols.txt" "$dir/symbols.txt"
  cp "$out/libmedner.abi" "$dir/libmedner.abi"
  echo "check-abi: baseline updated ($(wc -l < "$dir/symbols.txt") symbols)"
  exit 0
fi

status=0
# 4. the symbol list only grows
gone=$(comm -23 "$dir/symbols.txt" "$out/symbols.txt")
if [ -n "$gone" ]; then
  echo "check-abi: FAIL: symbols removed from the ABI:" >&2; echo "$gone" | sed 's/^/  /' >&2
  status=1
fi
new=$(comm -13 "$dir/symbols.txt" "$out/symbols.txt")
if [ -n "$new" ]; then
  echo "check-abi: FAIL: new exported symbols not recorded in $dir/symbols.txt:" >&2
  echo "$new" | sed 's/^/  /' >&2
  echo "  (a compatible addition: run 'make abi-baseline' and commit tests/abi/)" >&2
  status=1
fi

# 5. abidiff: any reported change except additions fails (appending members at
#    the end of a params struct is allowed by tests/abi/suppressions.ini).
set +e
abidiff --no-added-syms --non-reachable-types --suppressions "$dir/suppressions.ini" \
        "$dir/libmedner.abi" "$out/libmedner.abi" > "$out/abidiff.txt" 2>&1
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "check-abi: FAIL: abidiff reports an ABI change (exit $rc):" >&2
  sed 's/^/  /' "$out/abidiff.txt" >&2
  status=1
fi
# 6. a caller compiled against the last release's header runs against SOLIB
if ! sh "$dir/check-old-caller.sh" "$solib" >"$out/old-caller.txt" 2>&1; then
  echo "check-abi: FAIL: a caller built against tests/abi/v0.1.0/medner.h fails with this library:" >&2
  sed 's/^/  /' "$out/old-caller.txt" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-abi: OK: SONAME libmedner.so.0, $(wc -l < "$out/symbols.txt") medner_ symbols, no ABI change against $dir, v0.1.0 caller runs"
exit $status
