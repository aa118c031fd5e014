# Shared by the operator's integration tests and benchmarks (sourced, not run): start and stop a
# real va-operator process against the local control plane and read its /metrics.
#   source tests/integration/operator_lib.sh
#   op_start "$log" --max-concurrent-reconciles=8     # sets OP_PID, OP_METRICS_PORT, OP_PROBE_PORT
#   op_writes                                          # API writes this process has sent
#   op_settle                                          # until the queue is empty and quiet
#   op_stop
: "${VA_SOURCE_DIR:?VA_SOURCE_DIR must point at the repository}"
: "${KUBECONFIG:?KUBECONFIG must point at the kubeconfig of the local cluster}"
kubectl="$VA_SOURCE_DIR/_output/bin/kubectl"
VA_OPERATOR="${VA_OPERATOR:-$VA_SOURCE_DIR/build/operator/va-operator}"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_established NAME: until the CRD NAME is Established (30 s). Not `kubectl wait`: it fails
# at once, instead of waiting, while a just-created CRD has no status.conditions yet.
wait_established() {
  local i
  for i in $(seq 1 300); do
    [ "$("$kubectl" get crd "$1" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' \
      2>/dev/null)" = True ] && return 0
    sleep 0.1
  done
  fail "CRD $1 not Established within 30 s"
}

# Installs (or updates) the CRD and waits until it is served.
install_crd() {
  "$kubectl" apply --server-side --force-conflicts -f "$VA_SOURCE_DIR/crds/" >/dev/null
  wait_established virtualassistants.virtualassistant.dev
}

# op_start LOGFILE [FLAGS...]: runs va-operator in the background with ephemeral metrics and
# probe ports and waits until /readyz answers 200 (caches synced, workers started).
op_start() {
  local log=$1
  shift
  [ -x "$VA_OPERATOR" ] || fail "va-operator not built at $VA_OPERATOR"
  # A restarted operator appends to the same log: read only the lines this process writes.
  local before
  before=$( (wc -l <"$log") 2>/dev/null || echo 0)
  "$VA_OPERATOR" --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=127.0.0.1:0 \
    "$@" >>"$log" 2>&1 &
  OP_PID=$!
  local i line
  for i in $(seq 1 300); do
    kill -0 "$OP_PID" 2>/dev/null || { tail -20 "$log" >&2; fail "va-operator exited during start-up"; }
    line=$(tail -n +"$((before + 1))" "$log" | grep '"msg":"operator running"' | tail -1 || true)
    if [ -n "$line" ]; then
      OP_METRICS_PORT=$(sed -E 's/.*"metricsPort":([0-9]+).*/\1/' <<<"$line")
      OP_PROBE_PORT=$(sed -E 's/.*"healthProbePort":([0-9]+).*/\1/' <<<"$line")
      curl -fsS "http://127.0.0.1:$OP_PROBE_PORT/readyz" >/dev/null 2>&1 && return 0
    fi
    sleep 0.1
  done
  tail -20 "$log" >&2
  fail "va-operator not ready within 30 s"
}

op_stop() {
  [ -n "${OP_PID:-}" ] || return 0
  kill -TERM "$OP_PID" 2>/dev/null || true
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=
}

op_kill() {
  [ -n "${OP_PID:-}" ] || return 0
  kill -KILL "$OP_PID" 2>/dev/null || true
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=
}

op_metrics() { curl -fsS "http://127.0.0.1:$OP_METRICS_PORT/metrics"; }

# op_metric REGEX: the sum of the samples whose line matches REGEX (e.g. '^workqueue_depth').
op_metric() {
  op_metrics | grep -E "$1" | awk '{s += $NF} END {printf "%d\n", s}'
}

# API writes (every method but GET) this operator process has sent.
op_writes() { op_metric '^rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)"'; }

op_reconciles() { op_metric '^controller_runtime_reconcile_total'; }

# Waits until the work queue is empty and no reconcile ran for 2 s (at most $1 s, default 120).
op_settle() {
  local limit=${1:-120} start=$SECONDS last=-1 now quiet=0
  while [ $((SECONDS - start)) -lt "$limit" ]; do
    now=$(op_reconciles)
    if [ "$(op_metric '^workqueue_depth')" = 0 ] && [ "$now" = "$last" ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 4 ] && return 0
    else
      quiet=0
    fi
    last=$now
    sleep 0.5
  done
  fail "operator did not settle within ${limit} s"
}

# The resourceVersions of every object the operator manages in namespace $1, one per line.
child_versions() {
  local kinds=serviceaccounts,configmaps,services,deployments,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,ingresses,cronjobs
  if "$kubectl" get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then
    kinds+=,servicemonitors.monitoring.coreos.com
  fi
  "$kubectl" get -n "$1" "$kinds" \
    -l app.kubernetes.io/managed-by=va-operator \
    -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}' | sort
}
