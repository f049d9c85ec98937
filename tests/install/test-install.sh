#!/bin/sh
# Installs into a temporary DESTDIR, then builds and runs a tiny program with
# `pkg-config --cflags --libs medner`, once against the shared and once against
# the static library.
set -eu
tmp=$(mktemp -d /tmp/medner-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/medner-test
make -s install DESTDIR="$tmp/root" PREFIX="$prefix" >/dev/null
root="$tmp/root"
# the release version is written once, in include/medner.h (the Makefile's VERSION)
ver=$(make --no-print-directory -s -pRrq : 2>/dev/null | sed -n 's/^VERSION := //p')
for f in "lib/libmedner.so.$ver" lib/libmedner.so.0 lib/libmedner.so lib/libmedner.a \
         include/medner.h lib/pkgconfig/medner.pc bin/medner; do
  [ -e "$root$prefix/$f" ] || { echo "install: missing $prefix/$f"; exit 1; }
done
export PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$root"
[ "$(pkg-config --modversion medner)" = "$ver" ] ||
  { echo "install: medner.pc Version $(pkg-config --modversion medner), include/medner.h has $ver"; exit 1; }
# OpenBLAS is opened at run time (src/kernels/blas.c), not linked: medner.pc must not make
# every integrator link it
grep -q '^Requires.private: libutf8proc yaml-0.1$' "$root$prefix/lib/pkgconfig/medner.pc" ||
  { echo "install: medner.pc Requires.private: $(grep Requires "$root$prefix/lib/pkgconfig/medner.pc")"; exit 1; }
if grep -qi openblas "$root$prefix/lib/pkgconfig/medner.pc"; then echo "install: medner.pc names openblas"; exit 1; fi

# shared
cc -o "$tmp/hello-shared" tests/install/hello.c $(pkg-config --cflags --libs medner)
readelf -d "$tmp/hello-shared" | grep -q 'NEEDED.*libmedner.so.0' || { echo "install: not linked to libmedner.so.0"; exit 1; }
LD_LIBRARY_PATH="$root$prefix/lib" "$tmp/hello-shared"

# static: libmedner.a, with the private dependencies pkg-config lists
libs=$(pkg-config --static --libs medner | sed 's/-lmedner//')
cc -o "$tmp/hello-static" tests/install/hello.c $(pkg-config --cflags medner) \
   -L"$root$prefix/lib" -Wl,-Bstatic -lmedner -Wl,-Bdynamic $libs
if readelf -d "$tmp/hello-static" | grep -q 'NEEDED.*libmedner'; then
  echo "install: static build still needs libmedner.so"; exit 1
fi
"$tmp/hello-static"
"$root$prefix/bin/medner" version >/dev/null
echo "install: OK (shared and static builds via pkg-config)"
