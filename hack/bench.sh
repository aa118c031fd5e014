#!/usr/bin/env bash
# Runs every benchmark binary of a build tree (BUILD_DIR/tests/bench/*_bench) against the local
# control plane, bringing it up first (and down again afterwards) when none is running, then
# every script hack/bench/*.sh (given BUILD_DIR). Builds nothing itself: `make bench` builds
# first. Each benchmark prints one JSON line on stdout.
#   hack/bench.sh build
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_dir="${1:-}"
[ -n "$build_dir" ] || die "usage: $0 BUILD_DIR"
bench_dir="$build_dir/tests/bench"
[ -d "$bench_dir" ] || die "$bench_dir does not exist; build first (make bench)"
mapfile -t benches < <(find "$bench_dir" -maxdepth 1 -type f -perm -u+x -name '*_bench' | sort)
[ ${#benches[@]} -gt 0 ] || die "no *_bench binaries in $bench_dir; build first (make bench)"

# fixture.sh reuses a running cluster and leaves it running; it stops only one it started.
bash "$VA_ROOT/hack/cluster/fixture.sh" up
trap 'bash "$VA_ROOT/hack/cluster/fixture.sh" down' EXIT
export KUBECONFIG="$VA_ROOT/_output/cluster/kubeconfig"

for bench in "${benches[@]}"; do
  log "running $(basename "$bench")"
  "$bench"
done

shopt -s nullglob
for script in "$VA_ROOT"/hack/bench/*.sh; do
  log "running hack/bench/$(basename "$script")"
  bash "$script" "$build_dir"
done
