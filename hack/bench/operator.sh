#!/usr/bin/env bash
# va-operator at scale: for each N in OPERATOR_BENCH_SIZES (default "100 1000"), in a fresh
# namespace, one operator (--max-concurrent-reconciles=8 --kube-api-qps=500 --kube-api-burst=1000)
# and N minimal VirtualAssistants (va-0001..., one `kubectl apply` of a multi-document file):
#   - seconds from the apply to all children created, and to all N VAs Ready (the second waits
#     for kube-controller-manager, the scheduler and kwok to roll out 8 Deployments per VA);
#   - API writes per VA until settled (children, status, Events);
#   - writes during a steady window of STEADY_SECONDS (default 300) afterwards: the target is 0;
#   - the operator's RSS and CPU seconds (from /proc) at the end.
# One JSON line per size on stdout, progress and a summary on stderr. The namespace is deleted
# (waiting up to 5 min) before the next size.
#   hack/bench/operator.sh BUILD_DIR
#   OPERATOR_BENCH_SIZES=20 STEADY_SECONDS=30 hack/bench/operator.sh build
# The cluster: $KUBECONFIG when set (hack/bench.sh sets it to the local control plane it brought
# up); otherwise the local control plane, brought up with hack/cluster/fixture.sh (and stopped
# again afterwards) when none is running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

build_dir="${1:-${BUILD_DIR:-}}"
[ -n "$build_dir" ] || die "usage: $0 BUILD_DIR"
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac
export VA_OPERATOR="$build_dir/operator/va-operator"
[ -x "$VA_OPERATOR" ] || die "$VA_OPERATOR does not exist; build first (make bench)"
read -r -a sizes <<<"${OPERATOR_BENCH_SIZES:-100 1000}"
steady_seconds=${STEADY_SECONDS:-300}
workers=8 qps=500 burst=1000

fixture_started=
if [ -z "${KUBECONFIG:-}" ]; then
  log "KUBECONFIG is not set: using the local control plane (brought up if it is not running)"
  bash "$VA_ROOT/hack/cluster/fixture.sh" up
  fixture_started=1
  export KUBECONFIG="$VA_ROOT/_output/cluster/kubeconfig"
fi
export VA_SOURCE_DIR="$VA_ROOT"
source "$VA_ROOT/tests/integration/operator_lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/va-operator-bench.XXXXXX")
# A private copy, so that a rebuild during the long run does not swap the binary under it.
cp "$VA_OPERATOR" "$work/va-operator"
VA_OPERATOR="$work/va-operator"
ns=
cleanup() {
  local rc=$?
  op_stop
  if [ -n "$ns" ]; then
    "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  fi
  if [ "$rc" != 0 ]; then
    log "operator.sh failed; logs kept in $work"
  else
    rm -rf "$work"
  fi
  if [ -n "$fixture_started" ]; then bash "$VA_ROOT/hack/cluster/fixture.sh" down; fi
}
trap cleanup EXIT

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
seconds_since() { awk -v ms=$(($(now_ms) - $1)) 'BEGIN {printf "%.1f", ms / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b ? a / b : 0}'; }

# N VAs run 8N pods (more during rollouts); kwok runs them, but the scheduler needs the nodes'
# room (hack/cluster/up.sh gives 20k a node).
check_room() {
  local need=$(($1 * 10)) room
  room=$("$kubectl" get nodes -o jsonpath='{range .items[*]}{.status.allocatable.pods}{"\n"}{end}' |
    awk '{v = $1; m = 1; if (sub(/k$/, "", v)) m = 1000; s += v * m} END {printf "%d\n", s}')
  [ "$room" -ge "$need" ] ||
    die "the nodes have room for $room pods, $1 VAs need ~$need: bring the cluster up with the current hack/cluster/up.sh"
}

ready_count() {
  "$kubectl" -n "$ns" get va -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    grep -c True || true
}

# Children created by server-side apply (the API server answers 201 to a PATCH that creates).
created_children() { op_metric '^rest_client_requests_total\{code="201".*method="PATCH"'; }

install_crd
children_per_va=$("$VA_OPERATOR" render -f "$VA_ROOT/examples/minimal.yaml" | grep -c '^kind:')
summary=()

for n in "${sizes[@]}"; do
  ns="opbench-$n-$$"
  log "N=$n: namespace $ns, $children_per_va children per VA"
  "$kubectl" create namespace "$ns" >/dev/null
  check_room "$n"
  oplog="$work/operator-$n.log"
  op_start "$oplog" --namespace="$ns" --max-concurrent-reconciles=$workers \
    --kube-api-qps=$qps --kube-api-burst=$burst

  manifest="$work/vas-$n.yaml"
  for i in $(seq 1 "$n"); do
    printf 'apiVersion: virtualassistant.dev/v1alpha1\nkind: VirtualAssistant\nmetadata: {name: va-%04d}\nspec: {}\n---\n' "$i"
  done >"$manifest"

  start_ms=$(now_ms)
  "$kubectl" -n "$ns" apply --server-side -f "$manifest" >/dev/null
  apply_s=$(seconds_since "$start_ms")
  log "N=$n: applied in $apply_s s; waiting for the children and for all VAs Ready"

  # Poll less often for large N: each poll lists every VA with its status.
  interval=$((1 + n / 250))
  limit=$((600 + 3 * n))
  children_s= ready=0 last_log=$SECONDS
  while :; do
    if [ -z "$children_s" ] && [ "$(created_children)" -ge $((n * children_per_va)) ]; then
      children_s=$(seconds_since "$start_ms")
      log "N=$n: all $((n * children_per_va)) children created after $children_s s"
    fi
    ready=$(ready_count)
    [ "$ready" -ge "$n" ] && break
    [ $(($(now_ms) - start_ms)) -lt $((limit * 1000)) ] ||
      die "N=$n: only $ready of $n VAs Ready after $limit s (operator log: $oplog)"
    if [ $((SECONDS - last_log)) -ge 30 ]; then
      log "N=$n: $ready/$n Ready, $(created_children) children created, queue $(op_metric '^workqueue_depth')"
      last_log=$SECONDS
    fi
    sleep "$interval"
  done
  ready_s=$(seconds_since "$start_ms")
  children_s=${children_s:-$ready_s}
  log "N=$n: all Ready after $ready_s s; waiting for the operator to settle"
  op_settle 600

  writes=$(op_writes)
  applies=$(op_metric '^va_operator_child_writes_total\{operation="apply"')
  status_writes=$(op_metric '^va_operator_status_writes_total')
  events=$(op_metric '^rest_client_requests_total\{.*method="POST"')
  reconciles=$(op_reconciles)
  log "N=$n: settled after $writes writes and $reconciles reconciles; steady window of $steady_seconds s"

  steady_reconciles0=$reconciles
  sleep "$steady_seconds"
  steady_writes=$(($(op_writes) - writes))
  steady_reconciles=$(($(op_reconciles) - steady_reconciles0))

  rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$OP_PID/status")
  hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$OP_PID/status")
  # utime and stime are fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
  # the command name (which may hold spaces).
  ticks=$(sed 's/.*) //' "/proc/$OP_PID/stat" | awk '{print $12 + $13}')
  cpu_s=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz}')
  rss_mib=$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')
  hwm_mib=$(awk -v k="$hwm_kb" 'BEGIN {printf "%.1f", k / 1024}')
  op_stop

  printf '{"benchmark":"operator","vas":%d,"children_per_va":%d,"workers":%d,"kube_api_qps":%d,"apply_seconds":%s,"children_created_seconds":%s,"all_ready_seconds":%s,"writes_per_va":%s,"child_applies_per_va":%s,"status_writes_per_va":%s,"events_per_va":%s,"reconciles_per_va":%s,"steady_seconds":%d,"steady_writes":%d,"steady_reconciles":%d,"rss_mib":%s,"peak_rss_mib":%s,"cpu_seconds":%s}\n' \
    "$n" "$children_per_va" "$workers" "$qps" "$apply_s" "$children_s" "$ready_s" \
    "$(ratio "$writes" "$n")" "$(ratio "$applies" "$n")" "$(ratio "$status_writes" "$n")" \
    "$(ratio "$events" "$n")" "$(ratio "$reconciles" "$n")" "$steady_seconds" "$steady_writes" \
    "$steady_reconciles" "$rss_mib" "$hwm_mib" "$cpu_s"
  summary+=("N=$n: children created in $children_s s, all Ready in $ready_s s (apply $apply_s s);
    $(ratio "$writes" "$n") writes per VA ($(ratio "$applies" "$n") child applies, $(ratio "$status_writes" "$n") status, $(ratio "$events" "$n") events);
    $steady_writes writes and $steady_reconciles reconciles in $steady_seconds s of steady state (target 0 writes);
    RSS $rss_mib MiB (peak $hwm_mib MiB), $cpu_s CPU seconds")

  log "N=$n: deleting namespace $ns (up to 5 min)"
  "$kubectl" delete namespace "$ns" --wait=false >/dev/null
  if ! "$kubectl" wait --for=delete "namespace/$ns" --timeout=300s >/dev/null 2>&1; then
    log "N=$n: warning: namespace $ns still there after 5 min; going on"
  fi
  ns=
done

log "operator benchmark summary (${#summary[@]} sizes):"
for line in "${summary[@]}"; do echo "  $line" >&2; done
