#!/bin/sh
# collect-rootfs BINARY ROOTFS: copies BINARY to ROOTFS/usr/local/bin and every shared library it
# loads (ldd) to ROOTFS/usr/lib/<multiarch>/ under its soname, except the ones every runtime base
# has (glibc's libraries and loader, libstdc++, libgcc_s): glibc's own libraries must come from
# the base's glibc, never from the builder's. The runtime stage copies ROOTFS over
# a distroless-style base, which then needs no shell and no package manager.
# Runs inside the Dockerfile's build stages (POSIX sh, Debian 12's ldd).
set -eu
bin=$1 rootfs=$2
[ -x "$bin" ] || { echo "collect-rootfs: $bin is not an executable" >&2; exit 1; }
multiarch=$(gcc -dumpmachine)
libdir="$rootfs/usr/lib/$multiarch"
mkdir -p "$rootfs/usr/local/bin" "$libdir"
cp "$bin" "$rootfs/usr/local/bin/"
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r soname path; do
  case "$soname" in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*.so.* | \
      libresolv.so.* | libanl.so.* | libutil.so.* | libnss_*.so.* | libstdc++.so.* | \
      libgcc_s.so.*) continue ;;
  esac
  cp -L "$path" "$libdir/$soname"
done
if ldd "$bin" | grep -q 'not found'; then
  echo "collect-rootfs: $bin has unresolved libraries:" >&2
  ldd "$bin" | grep 'not found' >&2
  exit 1
fi
echo "collect-rootfs: $(basename "$bin") and $(ls "$libdir" | wc -l) libraries in $rootfs"
