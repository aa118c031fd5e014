#!/usr/bin/env bash
# Loads the images the real node's pods run into its containerd (namespace k8s.io): pause,
# CoreDNS and agnhost, each made here from its binary (hack/node/build.sh) with `docker import`
# when missing or changed, and every va.local/* image in Docker's store (make images). Run by
# hack/node/up.sh, and again after `make images` to give a running node the new builds
# (make test-node does). Nothing is pulled.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/common.sh"
source "$VA_ROOT/hack/node/common.sh"
eval "$(bash "$VA_ROOT/hack/node/build.sh" paths)"
[ -S "$CONTAINERD_SOCKET" ] || die "the node's containerd is not running ($CONTAINERD_SOCKET); make cluster-up NODE=real"

make_image() { # ref binary entrypoint-args...
  local ref="$1" bin="$2"; shift 2
  if [ "$(docker image inspect --format '{{index .Config.Labels "dev.virtualassistant.inputs"}}' "$ref" 2>/dev/null)" != "$(sha256sum "$bin" | cut -c1-16)" ]; then
    local dir
    dir=$(mktemp -d)
    install -m 0755 "$bin" "$dir/$(basename "$bin")"
    local entry
    entry=$(printf '"%s",' "/$(basename "$bin")" "$@")
    tar -C "$dir" --owner=0 --group=0 -cf - . |
      docker import --change "ENTRYPOINT [${entry%,}]" --change "USER 65532:65532" \
        --change "LABEL dev.virtualassistant.inputs=$(sha256sum "$bin" | cut -c1-16)" - "$ref" >/dev/null
    rm -rf "$dir"
  fi
}
make_image "$PAUSE_IMAGE" "$PAUSE_BIN"
make_image "$COREDNS_IMAGE" "$COREDNS_BIN"
make_image "$AGNHOST_IMAGE" "$AGNHOST_BIN"
images=("$PAUSE_IMAGE" "$COREDNS_IMAGE" "$AGNHOST_IMAGE")
for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "${VA_REGISTRY:-va.local}/*"); do
  case " ${images[*]} " in *" $ref "*) ;; *) images+=("$ref") ;; esac
done
run_step "load ${#images[@]} images into containerd" "$NODE_DIR/images-load.log" \
  bash -c "docker save ${images[*]} | ctr --address '$CONTAINERD_SOCKET' -n k8s.io images import -"
