#!/bin/sh
# build-binary TARGET [CMAKE_OPTION...]: configures the sources under /src (only the folders the
# stage copied), builds TARGET, strips it and collects it with its shared libraries into /rootfs
# (collect-rootfs). Runs inside the Dockerfile's build stages (POSIX sh).
set -eu
target=$1
shift
cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVA_BUILD_TESTS=OFF "$@"
cmake --build /build --target "$target"
bin=$(find /build -type f -name "$target" -perm -u+x | head -1)
[ -n "$bin" ] || { echo "build-binary: no $target under /build" >&2; exit 1; }
strip "$bin"
collect-rootfs "$bin" /rootfs
