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
# A field inserted in the middle of a public struct. (On LP64 the pinned
# released size in src/common/struct_sizes.h already stops the build; that
# assertion is dropped here so that the variant tests abidiff.)
variant field-inserted-mid-struct fail "abidiff reports an ABI change" \
  "sed -i 's/^    void \\*(\\*alloc_fn)(void \\*user_data, size_t size);/    int inserted_field;\\n&/' include/medner.h && grep -q inserted_field include/medner.h \\
   && sed -i '/released size of medner_allocator/d' src/common/struct_sizes.h"
# A field appended at the end of every versioned struct is allowed by the
# policy, and the library needs no change for it but the no-tail-padding
# guard (src/common/struct_sizes.h): check-abi then also runs the caller built
# against the v0.1.0 header (tests/abi/old_caller.c) against the patched
# library, whose structs are now larger than that caller's.
appended='allocator\|tokenizer_params\|encode_params\|window\|encoder_params\|decoder_params\|pipeline_params'
variant field-appended-at-end pass "v0.1.0 caller runs" \
  "sed -i 's/^} medner_\\($appended\\);\$/    void *appended_field;\\n&/' include/medner.h \\
   && [ \$(grep -c appended_field include/medner.h) -eq 7 ] \\
   && sed -i 's/^MEDNER__NO_TAIL_PADDING(medner_\\($appended\\), [a-z_0-9]*);/MEDNER__NO_TAIL_PADDING(medner_\\1, appended_field);/' src/common/struct_sizes.h \\
   && [ \$(grep -c 'appended_field);' src/common/struct_sizes.h) -eq 7 ]"
exit $fail
