#!/bin/sh
# The release version is defined once, in include/medner.h
# (MEDNER_VERSION_MAJOR/MINOR/PATCH, MEDNER_VERSION_STRING). The Makefile
# (library file name, medner.pc, Doxygen) reads it from there; packaging
# formats that need the number written statically must carry the same one:
# this check names each copy that disagrees (update them when the header's
# version changes). It also checks that MAJOR.MINOR is the newest numbered
# symbol version node of src/medner.map (a release that adds API opens the
# node medner_MAJOR.MINOR), that medner.pc.in takes its Version from the
# Makefile, and that the file names the documentation quotes
# (libmedner.so.X.Y.Z, medner-X.Y.Z wheels and jars) carry the version.
#   sh tests/build/check-version.sh
set -eu
h=include/medner.h
part() { sed -n "s/^#define MEDNER_VERSION_$1 \([0-9][0-9]*\).*/\1/p" "$h"; }
v="$(part MAJOR).$(part MINOR).$(part PATCH)"
s=$(sed -n 's/^#define MEDNER_VERSION_STRING "\(.*\)"/\1/p' "$h")
status=0
bad() { echo "check-version: FAIL: $1 has $2, include/medner.h has $v" >&2; status=1; }
[ "$s" = "$v" ] || bad "MEDNER_VERSION_STRING" "\"$s\""
mk=$(make --no-print-directory -s -pRrq : 2>/dev/null | sed -n 's/^VERSION := //p')
[ "$mk" = "$v" ] || bad "the Makefile's VERSION" "\"$mk\""
check() { # file  sed-expression-printing-the-version
  [ -f "$1" ] || return 0
  got=$(sed -n "$2" "$1" | head -n 1)
  [ "$got" = "$v" ] || bad "$1" "\"$got\""
}
check examples/python/pyproject.toml 's/^version = "\(.*\)"/\1/p'
check examples/python/medner/__init__.py 's/^__version__ = "\(.*\)"/\1/p'
check examples/python/setup.py 's/^SOLIB = "lib\/libmedner\.so\.\([0-9.]*\)".*/\1/p'
check examples/java/pom.xml '/<artifactId>medner<\/artifactId>/{n;s/.*<version>\(.*\)<\/version>.*/\1/p;}'
# the newest numbered ABI node (medner_0.N, not medner_experimental) is this release's
node=$(sed -n 's/^medner_\([0-9][0-9]*\.[0-9][0-9]*\)[[:space:]]*{.*/\1/p' src/medner.map |
       sort -t. -k1,1n -k2,2n | tail -n 1)
[ "$node" = "${v%.*}" ] || bad "src/medner.map's newest version node" "\"medner_$node\""
grep -q '^Version: @VERSION@$' pkgconfig/medner.pc.in ||
  bad "pkgconfig/medner.pc.in" "\"$(sed -n 's/^Version: //p' pkgconfig/medner.pc.in)\" (want @VERSION@)"
# file names quoted in the documentation and build files
for f in README.md docs/*.md examples/python/README.md examples/java/README.md examples/java/pom.xml; do
  [ -f "$f" ] || continue
  for got in $(grep -oE 'libmedner\.so\.[0-9]+\.[0-9]+\.[0-9]+|medner-[0-9]+\.[0-9]+\.[0-9]+' "$f" |
               sed 's/^libmedner\.so\.//; s/^medner-//' | sort -u); do
    [ "$got" = "$v" ] || bad "$f (a file name)" "\"$got\""
  done
done
[ $status -eq 0 ] && echo "check-version: $v everywhere (header, Makefile, ABI node medner_${v%.*}, medner.pc.in, Python package, wheel build, Java pom, file names in the docs)"
exit $status
