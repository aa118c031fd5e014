#!/usr/bin/env bash
# Builds what the real node runs, from upstream modules through the Go module proxy, at the
# versions pinned in hack/cluster/versions.env, into $VA_CACHE_DIR/bin/<component>-<version>/
# (a binary already there is not rebuilt), like hack/cluster/build.sh does for the control plane:
#   kubelet, kube-proxy      k8s.io/kubernetes (the same wrapper module as the control plane)
#   CNI plugins              github.com/containernetworking/plugins: bridge, host-local,
#                            loopback, portmap
#   coredns                  github.com/coredns/coredns
#   kube-router              github.com/cloudnativelabs/kube-router/v2, only its NetworkPolicy
#                            controller is used (iptables + ipset)
#   pause                    build/pause/linux/pause.c from the k8s.io/kubernetes module,
#                            compiled statically with the system's gcc
#   agnhost                  k8s.io/kubernetes/test/images/agnhost, the client Kubernetes' own
#                            NetworkPolicy e2e tests use (agnhost connect host:port)
# Prints the directory of each set as NAME=path lines.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/versions.env"

command -v go >/dev/null || die "go is not installed; it is needed to build the node from upstream modules"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
BIN_ROOT="$VA_CACHE_DIR/bin"
LOG_DIR="$VA_CACHE_DIR/build-logs"
mkdir -p "$BIN_ROOT" "$LOG_DIR"

kube_dir="$BIN_ROOT/kubernetes-$KUBE_VERSION"
cni_dir="$BIN_ROOT/cni-plugins-$CNI_PLUGINS_VERSION"
coredns_dir="$BIN_ROOT/coredns-$COREDNS_VERSION"
router_dir="$BIN_ROOT/kube-router-$KUBE_ROUTER_VERSION"
pause_dir="$BIN_ROOT/pause-$PAUSE_VERSION"

build_kube_node() {
  # kube-apiserver & co. first: their build prepares the wrapper module kubelet builds in.
  bash "$VA_ROOT/hack/cluster/build.sh" all >/dev/null
  local work="$VA_CACHE_DIR/src/kubernetes-$KUBE_VERSION" minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor}"
  local c pkg
  for c in kubelet kube-proxy agnhost; do
    [ -x "$kube_dir/$c" ] && continue
    pkg=k8s.io/kubernetes/cmd/$c
    [ "$c" = agnhost ] && pkg=k8s.io/kubernetes/test/images/agnhost
    run_step "build $c $KUBE_VERSION" "$LOG_DIR/$c-$KUBE_VERSION.log" \
      bash -c "cd '$work' && go build -trimpath -ldflags '$ldflags' -o '$kube_dir/$c.tmp' $pkg && mv '$kube_dir/$c.tmp' '$kube_dir/$c'"
  done
}

build_cni() {
  [ -x "$cni_dir/bridge" ] && [ -x "$cni_dir/host-local" ] && [ -x "$cni_dir/loopback" ] &&
    [ -x "$cni_dir/portmap" ] && return 0
  local m=github.com/containernetworking/plugins/plugins
  run_step "build CNI plugins $CNI_PLUGINS_VERSION" "$LOG_DIR/cni-plugins-$CNI_PLUGINS_VERSION.log" \
    env GOBIN="$cni_dir" go install -trimpath -ldflags '-s -w' \
      "$m/main/bridge@$CNI_PLUGINS_VERSION" "$m/main/loopback@$CNI_PLUGINS_VERSION" \
      "$m/ipam/host-local@$CNI_PLUGINS_VERSION" "$m/meta/portmap@$CNI_PLUGINS_VERSION"
}

build_coredns() {
  [ -x "$coredns_dir/coredns" ] && return 0
  run_step "build coredns $COREDNS_VERSION" "$LOG_DIR/coredns-$COREDNS_VERSION.log" \
    env GOBIN="$coredns_dir" go install -trimpath -ldflags '-s -w' "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_kube_router() {
  [ -x "$router_dir/kube-router" ] && return 0
  run_step "build kube-router $KUBE_ROUTER_VERSION" "$LOG_DIR/kube-router-$KUBE_ROUTER_VERSION.log" \
    env GOBIN="$router_dir" go install -trimpath -ldflags '-s -w' \
      "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
}

build_pause() {
  [ -x "$pause_dir/pause" ] && return 0
  local src
  src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
  [ -f "$src" ] || (cd "$VA_CACHE_DIR/src/kubernetes-$KUBE_VERSION" && go mod download k8s.io/kubernetes)
  [ -f "$src" ] || die "no $src in the k8s.io/kubernetes module"
  mkdir -p "$pause_dir"
  run_step "build pause $PAUSE_VERSION" "$LOG_DIR/pause-$PAUSE_VERSION.log" \
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$pause_dir/pause" "$src"
  strip "$pause_dir/pause"
}

case "${1:-all}" in
  all) build_kube_node; build_cni; build_coredns; build_kube_router; build_pause ;;
  paths) ;;
  *) die "usage: $0 [all|paths]" ;;
esac
echo "KUBE_BIN_DIR=$kube_dir"
echo "CNI_BIN_DIR=$cni_dir"
echo "COREDNS_BIN=$coredns_dir/coredns"
echo "KUBE_ROUTER_BIN=$router_dir/kube-router"
echo "PAUSE_BIN=$pause_dir/pause"
echo "AGNHOST_BIN=$kube_dir/agnhost"
