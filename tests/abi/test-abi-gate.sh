#!/bin/sh
# Proves that `make check-abi` rejects incompatible changes: copies the tree,
# builds deliberately broken variants and asserts that the gate fails for each,
# and that a control copy (and a compatible append to a params struct) passes.
set -eu
root=$(pwd)
tmp=$(mktemp -d /tmp/medner-abigate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

variant() { # name expect(pass|fail) pattern-in-output edit-command
  name=$1; expect=$2; pattern=$3; edit=$4
  d="$tmp/$name"
  mkdir -p "$d"
  (cd "$root" && tar cf - Makefile include src tests pkgconfig .ci) | (cd "$d" && tar xf -)
  (cd "$d" && sh -c "$edit")
  if ! make -s -C "$d" lib >"$d.build.log" 2>&1; then
    echo "abi-gate: $name: variant did not build"; cat "$d.build.log"; fail=1; return
  fi
  if make -s -C "$d" check-abi-only >"$d.log" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" != "$expect" ]; then
    echo "abi-gate: $name: check-abi ${got}ed, expected it to $expect"; cat "$d.log"; fail=1; return
  fi
  if [ -n "$pattern" ] && ! grep -q -- "$pattern" "$d.log"; then
    echo "abi-gate: $name: output lacks '$pattern'"; cat "$d.log"; fail=1; return
  fi
  echo "abi-gate: $name: check-abi ${got}ed as expected"
}

# Control: an unmodified copy passes.
variant control pass "OK" "true"
# A public function removed.
variant symbol-removed fail "symbols removed from the ABI" \
  "sed -i '/^int medner_version_number(void)/,/^}/d' src/common/version.c"
# A field inserted in the middle of a public struct.
variant field-inserted-mid-struct fail "abidiff reports an ABI change" \
  "sed -i 's/^    void \\*(\\*alloc_fn)(void \\*user_data, size_t size);/    int inserted_field;\\n&/' include/medner.h && grep -q inserted_field include/medner.h"
# A field appended at the end of a params struct is allowed by the policy.
variant field-appended-at-end pass "OK" \
  "sed -i 's/^    void \\*user_data;    \\/\\*\\*< passed to each function; not owned \\*\\//&\\n    void *appended_field;/' include/medner.h && grep -q appended_field include/medner.h \\
   && sed -i 's/offsetof(medner_allocator, user_data)/offsetof(medner_allocator, appended_field)/' src/common/alloc.c"
exit $fail
