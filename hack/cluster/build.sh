#!/usr/bin/env bash
# Builds the local control plane's binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from their upstream Go modules through the Go module proxy,
# at the versions pinned in versions.env, into $VA_CACHE_DIR/bin/<component>-<version>/.
# A binary already in the cache is not rebuilt. Prints the directory of each binary set.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/versions.env"

command -v go >/dev/null || die "go is not installed; it is needed to build the control plane from upstream modules"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
BIN_ROOT="$VA_CACHE_DIR/bin"
LOG_DIR="$VA_CACHE_DIR/build-logs"
mkdir -p "$BIN_ROOT" "$LOG_DIR"

kube_minor="${KUBE_VERSION#v1.}"; kube_minor="${kube_minor%%.*}"
staging_version="v0.${KUBE_VERSION#v1.}"

# The kubernetes module requires its staging modules at v0.0.0 and replaces them with local
# paths, which a dependent module ignores; a wrapper module replaces each with its release.
prepare_kube_module() {
  local dir="$1"
  mkdir -p "$dir"
  local mod
  mod=$(curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/${KUBE_VERSION}.mod") ||
    die "cannot read k8s.io/kubernetes@${KUBE_VERSION} go.mod from the Go module proxy"
  {
    echo "module va.local/kube-build"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes ${KUBE_VERSION}"
    echo
    echo "replace ("
    grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging' <<<"$mod" | awk '{print $1}' | sort -u |
      while read -r m; do echo "	$m => $m ${staging_version}"; done
    echo ")"
  } >"$dir/go.mod"
}

build_kube() {
  local out="$BIN_ROOT/kubernetes-$KUBE_VERSION" work="$VA_CACHE_DIR/src/kubernetes-$KUBE_VERSION"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${kube_minor}"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION}"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=${kube_minor}"
  mkdir -p "$out"
  [ -f "$work/go.mod" ] || prepare_kube_module "$work"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$out/$c" ] && continue
    run_step "build $c $KUBE_VERSION" "$LOG_DIR/$c-$KUBE_VERSION.log" \
      bash -c "cd '$work' && go build -trimpath -ldflags '$ldflags' -o '$out/$c.tmp' k8s.io/kubernetes/cmd/$c && mv '$out/$c.tmp' '$out/$c'"
  done
}

build_etcd() {
  local out="$BIN_ROOT/etcd-$ETCD_VERSION" work="$VA_CACHE_DIR/src/etcd-$ETCD_VERSION"
  [ -x "$out/etcd" ] && return 0
  mkdir -p "$out" "$work"
  # The server module replaces its sibling modules with local paths; pin them instead.
  cat >"$work/go.mod" <<EOF
module va.local/etcd-build

go 1.24

require (
	go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/api/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/client/pkg/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/client/v3 ${ETCD_VERSION}
	go.etcd.io/etcd/pkg/v3 ${ETCD_VERSION}
)
EOF
  cat >"$work/main.go" <<'EOF'
// Command etcd is upstream etcd's server entry point, built from its module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  run_step "build etcd $ETCD_VERSION" "$LOG_DIR/etcd-$ETCD_VERSION.log" \
    bash -c "cd '$work' && go build -trimpath -ldflags '-s -w' -o '$out/etcd.tmp' . && mv '$out/etcd.tmp' '$out/etcd'"
}

build_kwok() {
  local out="$BIN_ROOT/kwok-$KWOK_VERSION"
  [ -x "$out/kwok" ] && return 0
  mkdir -p "$out"
  run_step "build kwok $KWOK_VERSION" "$LOG_DIR/kwok-$KWOK_VERSION.log" \
    env GOBIN="$out" go install -trimpath -ldflags '-s -w' "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
}

case "${1:-all}" in
  all) build_etcd; build_kwok; build_kube ;;
  paths) ;;
  *) die "usage: $0 [all|paths]" ;;
esac
echo "ETCD_BIN=$BIN_ROOT/etcd-$ETCD_VERSION/etcd"
echo "KWOK_BIN=$BIN_ROOT/kwok-$KWOK_VERSION/kwok"
echo "KUBE_BIN_DIR=$BIN_ROOT/kubernetes-$KUBE_VERSION"
