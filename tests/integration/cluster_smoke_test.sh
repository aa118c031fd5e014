#!/usr/bin/env bash
# The local control plane schedules and runs workloads: kwok nodes are Ready, and a Deployment
# with 2 replicas applied with kubectl becomes Available (pods Running through kwok) within 60 s.
set -euo pipefail
: "${KUBECONFIG:?KUBECONFIG must point at the kubeconfig of the local cluster}"
[ -r "$KUBECONFIG" ] || { echo "FAIL: kubeconfig $KUBECONFIG is not readable: is the cluster up?" >&2; exit 1; }
kubectl="${VA_SOURCE_DIR:?}/_output/bin/kubectl"
ns="smoke-$$-$RANDOM"

cleanup() { "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

ready_nodes=$("$kubectl" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
echo "Ready nodes: $ready_nodes"
[ "$ready_nodes" -ge 2 ] || { echo "FAIL: expected at least 2 Ready kwok nodes, got $ready_nodes" >&2; exit 1; }

"$kubectl" create namespace "$ns" >/dev/null
"$kubectl" -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1.0
YAML
start=$SECONDS
if ! "$kubectl" -n "$ns" wait deployment/web --for=condition=Available --timeout=60s; then
  "$kubectl" -n "$ns" get deploy,rs,pods -o wide >&2 || true
  "$kubectl" -n "$ns" get events >&2 || true
  echo "FAIL: deployment did not become Available within 60 s" >&2
  exit 1
fi
running=$("$kubectl" -n "$ns" get pods -l app=web --field-selector=status.phase=Running -o name | wc -l)
echo "Deployment Available after $((SECONDS - start)) s with $running Running pods"
[ "$running" -eq 2 ] || { echo "FAIL: expected 2 Running pods, got $running" >&2; exit 1; }
