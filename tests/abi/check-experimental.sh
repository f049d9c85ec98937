#!/bin/sh
# The experimental API and its version node agree (docs/abi-policy.md, rule 8):
# the functions declared in include/medner.h inside a Doxygen group whose
# @name ends in "(EXPERIMENTAL)" (up to its closing @}) are exactly the
# symbols the library exports in the medner_experimental node, and no
# function of such a group lands in a stable node (src/medner.map exports
# medner_* by pattern in medner_0.1, so a function missing from the map's
# experimental node would silently become stable).
#   sh tests/abi/check-experimental.sh lib/libmedner.so.X.Y.Z [HEADER]
set -eu
solib=$1
header=${2:-include/medner.h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/@name .*\(EXPERIMENTAL\)/ {on = 1} on && /@}/ {on = 0} on' "$header" |
  sed -n 's/.*MEDNER_API[^(]*[ *]\(medner_[A-Za-z0-9_]*\)[ ]*(.*/\1/p' | sort -u > "$tmp/header"
nm -D --defined-only --with-symbol-versions "$solib" |
  awk '$2 != "A" {print $3}' | sed -n 's/^\(medner_[A-Za-z0-9_]*\)@@*medner_experimental$/\1/p' |
  sort -u > "$tmp/node"
[ -s "$tmp/header" ] || { echo "check-experimental: no EXPERIMENTAL section found in $header" >&2; exit 1; }
status=0
only_header=$(comm -23 "$tmp/header" "$tmp/node")
only_node=$(comm -13 "$tmp/header" "$tmp/node")
if [ -n "$only_header" ]; then
  echo "check-experimental: FAIL: experimental in $header but not exported in medner_experimental" \
       "(list them in src/medner.map's medner_experimental node):" $only_header >&2
  status=1
fi
if [ -n "$only_node" ]; then
  echo "check-experimental: FAIL: exported in medner_experimental but not declared in an" \
       "(EXPERIMENTAL) section of $header:" $only_node >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-experimental: OK: $(wc -l < "$tmp/node") functions in medner_experimental, as the header's EXPERIMENTAL section declares"
exit $status
