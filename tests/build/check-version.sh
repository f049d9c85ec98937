#!/bin/sh
# The release version is defined once, in include/medner.h
# (MEDNER_VERSION_MAJOR/MINOR/PATCH, MEDNER_VERSION_STRING). The Makefile
# (library file name, medner.pc, Doxygen) reads it from there; packaging
# formats that need the number written statically must carry the same one:
# this check names each copy that disagrees (update them when the header's
# version changes).
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
[ $status -eq 0 ] && echo "check-version: $v everywhere (header, Makefile, Python package, wheel build, Java pom)"
exit $status
