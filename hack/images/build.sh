#!/usr/bin/env bash
# Builds one image of the Dockerfile: hack/images/build.sh TARGET IMAGE
#   hack/images/build.sh operator va.local/va-operator:0.1.0
# Base images: $BUILDER_IMAGE and $RUNTIME_IMAGE when both are set (for example the public
# debian:12 and gcr.io/distroless/cc-debian12:nonroot where a registry is reachable); otherwise
# the local ones that hack/images/bases.sh makes from Debian's packages.
# Docker's classic builder (this machine's engine has no BuildKit): stages run in file order and
# every layer is cached, so a rebuild after a change redoes only the layers after the change.
# Prints the image's size and the build's wall time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

[ $# -eq 2 ] || die "usage: $0 TARGET IMAGE"
target=$1 image=$2
tag=${image##*:}
{ [ "$tag" != "$image" ] && [ "$tag" != latest ]; } || die "$image: give a pinned tag, not latest"

if [ -z "${BUILDER_IMAGE:-}" ] || [ -z "${RUNTIME_IMAGE:-}" ]; then
  bases=$(bash "$VA_ROOT/hack/images/bases.sh") || die "hack/images/bases.sh failed: no base images"
  eval "$(grep -E '^(BUILDER|RUNTIME)_IMAGE=' <<<"$bases")"
fi
version=$(sed -n 's/^project(va_operator VERSION \([0-9.]*\).*/\1/p' "$VA_ROOT/CMakeLists.txt")
revision=$(git -C "$VA_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

# Nothing to do when the image was built from the same inputs: the committed files of the build
# context (their git tree ids), the base images (their ids) and the version, with no
# uncommitted changes to any of them. Docker's cache would redo nothing either,
# but walking it takes seconds per image. An image built from uncommitted changes is labelled
# <revision>-dirty and never passes for current.
inputs=(Dockerfile .dockerignore CMakeLists.txt cmake crds operator workloads hack/images)
label() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
dirty=
key=unknown
if [ "$revision" != unknown ]; then
  [ -z "$(git -C "$VA_ROOT" status --porcelain -- "${inputs[@]}")" ] || dirty=1
  key=$({ git -C "$VA_ROOT" ls-tree HEAD -- "${inputs[@]}"
    docker image inspect --format '{{.Id}}' "$BUILDER_IMAGE" "$RUNTIME_IMAGE" 2>/dev/null || true
    echo "$version $BUILDER_IMAGE $RUNTIME_IMAGE"; } | sha256sum | cut -c1-16)
fi
if [ "$key" != unknown ] && [ -z "$dirty" ] && [ -z "${VA_IMAGES_REBUILD:-}" ] &&
  [ "$(label "$image" dev.virtualassistant.inputs)" = "$key" ]; then
  log "$image is current (inputs $key, built at revision $(label "$image" org.opencontainers.image.revision))"
  exit 0
fi
[ -z "$dirty" ] || { revision="$revision-dirty"; key=unknown; }

log "building $image (--target $target; builder $BUILDER_IMAGE, runtime $RUNTIME_IMAGE)"
start=$SECONDS
DOCKER_BUILDKIT=0 docker build --target "$target" --tag "$image" \
  --build-arg BUILDER_IMAGE="$BUILDER_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg INPUTS="$key" \
  --file "$VA_ROOT/Dockerfile" "$VA_ROOT" >&2
size=$(docker image inspect --format '{{.Size}}' "$image")
log "built $image in $((SECONDS - start)) s: $(awk -v b="$size" 'BEGIN {printf "%.1f MiB", b / 1048576}')"
