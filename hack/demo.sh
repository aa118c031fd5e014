#!/usr/bin/env bash
# `make demo`: the local control plane, the CRD, the operator (in the background, logging to
# _output/va-operator.log) and the two examples, reconciled to Ready. The workloads' images do
# not exist yet, so kwok plays the pods; `make demo-down` (or `make cluster-down`) stops it all.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/hack/lib.sh"
build_dir=${1:-build}
export KUBECONFIG="$root/_output/cluster/kubeconfig"
kubectl="$root/_output/bin/kubectl"
operator="$root/$build_dir/operator/va-operator"
pid_file="$root/_output/va-operator.pid"
log_file="$root/_output/va-operator.log"

[ -x "$operator" ] || die "va-operator is not built at $operator (run make build)"
"$kubectl" apply --server-side -f "$root/crds/" >/dev/null
# Not `kubectl wait`: it fails at once while a just-created CRD has no status.conditions yet.
for _ in $(seq 1 300); do
  [ "$("$kubectl" get crd virtualassistants.virtualassistant.dev \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" = True ] && break
  sleep 0.1
done

if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  log "va-operator already running (pid $(cat "$pid_file"))"
else
  setsid "$operator" --metrics-bind-address=127.0.0.1:18080 --health-probe-bind-address=127.0.0.1:18081 \
    >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  for _ in $(seq 1 100); do
    curl -fsS http://127.0.0.1:18081/readyz >/dev/null 2>&1 && break
    kill -0 "$(cat "$pid_file")" 2>/dev/null || die "va-operator exited: $(tail -5 "$log_file")"
    sleep 0.2
  done
  log "va-operator running (pid $(cat "$pid_file"), log $log_file, metrics http://127.0.0.1:18080/metrics)"
fi

"$kubectl" apply -f "$root/examples/minimal.yaml" >/dev/null
"$kubectl" apply -f "$root/examples/concierge-secrets.yaml" -f "$root/examples/concierge.yaml" \
  2>&1 >/dev/null | { grep -v 'failed to find any PEM data' || true; } >&2
"$kubectl" wait va/minimal --for=condition=Ready --timeout=120s >/dev/null
"$kubectl" wait -n concierge va/concierge --for=condition=Ready --timeout=120s >/dev/null
echo
"$kubectl" get va -A
echo
"$kubectl" get -n concierge deploy,hpa,svc,ingress -l app.kubernetes.io/instance=concierge
