#!/usr/bin/env bash
# End to end on the local cluster's real node (make test-node runs it on a cluster brought up
# with VA_NODE=real): the operator deployed from config/default as pods, the concierge example
# with in-cluster Redis and PostgreSQL (examples/local-node, hack/node/concierge.sh), Ready with
# real pods; a multi-turn conversation through the input-processor Service; NetworkPolicies
# enforced: the allowed edges work, a pod outside them cannot reach prefrontal-cortex or the
# stores. Prints the time from `kubectl apply` to the first answered message and each pod's
# memory (the kubelet's working set).
set -euo pipefail
root="${VA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
source "$root/hack/lib.sh"
source "$root/hack/cluster/common.sh"
source "$root/hack/node/common.sh"
eval "$(bash "$root/hack/cluster/build.sh" paths)"
KUBECTL="$KUBE_BIN_DIR/kubectl"
export KUBECONFIG="$KUBECONFIG_PATH"
BIN_DIR="${BIN_DIR:-$root/build}"
va_chat="$BIN_DIR/workloads/tools/va-chat"
[ -x "$va_chat" ] || die "no $va_chat (make build)"
k() { "$KUBECTL" "$@"; }
work="$root/_output/node-e2e"
# The generated passwords stay (the stores of a reused cluster were made with them).
mkdir -p "$work" && find "$work" -maxdepth 1 -type f -delete
passed=0

dump() {
  echo "---- pods ----" >&2
  k get pods -A -o wide >&2 || true
  echo "---- VA ----" >&2
  k get va -n concierge concierge -o yaml 2>/dev/null | sed -n '/^status:/,$p' >&2 || true
  local p
  for p in $(k get pods -n concierge -o name 2>/dev/null); do
    if [ "$(k get -n concierge "$p" -o jsonpath='{.status.containerStatuses[0].ready}')" != true ]; then
      echo "---- $p (not ready) ----" >&2
      k describe -n concierge "$p" 2>/dev/null | sed -n '/^Events:/,$p' | tail -15 >&2 || true
      k logs -n concierge "$p" --tail 20 2>/dev/null >&2 || true
    fi
  done
  for p in prefrontal-cortex long-term-mem short-term-mem conversation-log input-processor; do
    echo "---- $p log (tail) ----" >&2
    k logs -n concierge "deploy/concierge-$p" --tail 8 2>/dev/null >&2 || true
  done
  echo "---- kubelet log (tail) ----" >&2
  tail -n 20 "$LOG_DIR/kubelet.log" >&2 || true
}
fail() { echo "FAIL: $*" >&2; dump; exit 1; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }

k get node "$NODE_NAME" >/dev/null 2>&1 || die "no node $NODE_NAME: bring the cluster up with VA_NODE=real"
# A run before this one on the same cluster may have left client pods.
k delete pods -A -l va-e2e/client=true --wait=true --timeout=60s >/dev/null 2>&1 || true

# --- the operator, as pods, from config/default ---
k kustomize "$root/config/default" | k apply --server-side -f - >/dev/null
k wait --for=condition=Established crd/virtualassistants.virtualassistant.dev --timeout=60s >/dev/null
k -n va-system wait --for=condition=Available deployment/va-operator --timeout=180s >/dev/null ||
  fail "the operator's Deployment is not Available"
running=$(k -n va-system get pods -l app.kubernetes.io/name=va-operator \
  -o jsonpath='{range .items[*]}{.spec.nodeName}/{.status.phase}{"\n"}{end}' | grep -c "^$NODE_NAME/Running$" || true)
[ "$running" -ge 1 ] || fail "no operator pod Running on $NODE_NAME"
ok "operator: $running pods Running on $NODE_NAME"

# --- the concierge, timed from kubectl apply to the first answered message ---
apply_start=$(date +%s.%N)
VA_CONCIERGE_DIR="$work/secrets" bash "$root/hack/node/concierge.sh" apply
svc_ip=""
first_answer=""
deadline=$((SECONDS + 420))
while [ $SECONDS -lt $deadline ]; do
  [ -n "$svc_ip" ] || svc_ip=$(k -n concierge get svc concierge-input-processor-public -o jsonpath='{.spec.clusterIP}' 2>/dev/null || true)
  if [ -n "$svc_ip" ] && printf 'hello\n' | "$va_chat" --url "http://$svc_ip:80" --key-file "$work/secrets/api-key" \
    --conversation first-answer --user e2e >"$work/first.txt" 2>&1 && grep -q '^assistant> ' "$work/first.txt"; then
    first_answer=$(date +%s.%N)
    break
  fi
  sleep 1
done
[ -n "$first_answer" ] || fail "no answer through the input-processor Service within 420 s: $(cat "$work/first.txt" 2>/dev/null)"
apply_to_answer=$(awk -v a="$apply_start" -v b="$first_answer" 'BEGIN {printf "%.1f", b - a}')
ok "first answered message $apply_to_answer s after kubectl apply: $(head -1 "$work/first.txt")"

k -n concierge wait --for=condition=Ready va/concierge --timeout=300s >/dev/null || fail "va/concierge not Ready"
ready_after=$(awk -v a="$apply_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
k get va -n concierge
ok "va/concierge Ready (seen $ready_after s after apply)"

# Every pod of the VA and the stores is a real container on the node.
pods=$(k -n concierge get pods -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.status.containerStatuses[0].ready} {.status.containerStatuses[0].containerID}{"\n"}{end}' | grep -v -- '-consolidation-' || true)
count=$(grep -c . <<<"$pods")
[ "$count" -ge 10 ] || fail "expected at least 10 pods (8 components and 2 stores), found $count"
bad=$(awk -v n="$NODE_NAME" '$2 != n || $3 != "Running" || $4 != "true" || $5 !~ /^containerd:\/\//' <<<"$pods")
[ -z "$bad" ] || fail "pods not Running and ready in containerd on $NODE_NAME: $bad"
tasks=$(ctr --address "$CONTAINERD_SOCKET" -n k8s.io tasks ls) || fail "ctr tasks ls failed"
for id in $(awk '{sub("containerd://", "", $5); print $5}' <<<"$pods"); do
  grep -Eq "^$id +[0-9]+ +RUNNING" <<<"$tasks" || fail "container $id is not a running containerd task"
done
ok "$count pods Running and ready on $NODE_NAME, each a running containerd task"

# The NetworkPolicy enforcer programs a new pod's address a moment after the pod starts, so in
# the first seconds after Ready an edge may still refuse (seen: a 502 from prefrontal-cortex for
# a memory write 8 s after apply). Wait until a throwaway conversation has used every edge
# (memory written and read back: prefrontal-cortex, short-term-mem and Redis, long-term-mem and
# PostgreSQL, conversation-log), then hold the real one to every reply.
warm=""
for attempt in $(seq 1 60); do
  if printf '%s\n' "remember that my locker code is 4512" "what's my locker code" |
    "$va_chat" --url "http://$svc_ip:80" --key-file "$work/secrets/api-key" \
      --conversation "warm-up-$attempt" --user e2e-warm-up >"$work/warm-up.txt" 2>&1 &&
    grep -q 4512 "$work/warm-up.txt"; then
    warm=$attempt
    break
  fi
  sleep 1
done
[ -n "$warm" ] || fail "every edge of the VA not usable 60 s after Ready: $(cat "$work/warm-up.txt")"
ok "every edge usable after $warm attempt(s), $(awk -v a="$apply_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s after apply"

# --- a multi-turn conversation through the Service ---
chat() { # conversation user lines...
  local conversation=$1 user=$2
  shift 2
  printf '%s\n' "$@" | "$va_chat" --url "http://$svc_ip:80" --key-file "$work/secrets/api-key" \
    --conversation "$conversation" --user "$user" >"$work/$conversation.txt" 2>&1 ||
    fail "va-chat failed: $(cat "$work/$conversation.txt")"
  local i=0 line
  while IFS= read -r line; do
    i=$((i + 1))
    echo "  [$conversation] you> ${!i}"
    echo "  [$conversation] $line"
  done <"$work/$conversation.txt"
  [ "$i" = $# ] || fail "$# messages sent, $i replies"
}
reply() { sed -n "${2}p" "$work/$1.txt"; }
chat e2e-1 guest-1204 "book a table for 2" "tomorrow" "remember that my room number is 1204"
[[ "$(reply e2e-1 1)" == *"day"* ]] || fail "book a table: expected a question for the day, got: $(reply e2e-1 1)"
[[ "$(reply e2e-1 2)" == *"time"* ]] || fail "tomorrow: expected a question for the time, got: $(reply e2e-1 2)"
chat e2e-2 guest-1204 "what's my room number"
[[ "$(reply e2e-2 1)" == *1204* ]] || fail "another conversation of the same user: expected 1204, got: $(reply e2e-2 1)"
chat e2e-3 guest-77 "what's my room number"
[[ "$(reply e2e-3 1)" != *1204* ]] || fail "another user got guest-1204's room number: $(reply e2e-3 1)"
ok "multi-turn conversation: slots asked in turn, a fact kept in PostgreSQL across conversations, not across users"

# --- NetworkPolicies: kube-router enforces them ---
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: ingress-nginx
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata:
  name: va-e2e-outside
  labels: {pod-security.kubernetes.io/enforce: restricted}
EOF
# A probe pod labelled like a component would be adopted by that component's ReplicaSet (same
# selector); a controller reference to a ConfigMap of its own namespace keeps it out.
declare -A owner_uid=()
for ns in concierge ingress-nginx va-e2e-outside; do
  k -n "$ns" create configmap va-e2e-probes --from-literal=purpose=probes >/dev/null 2>&1 || true
  owner_uid[$ns]=$(k -n "$ns" get configmap va-e2e-probes -o jsonpath='{.metadata.uid}')
done
# Client pods run agnhost pause; each check is `agnhost connect HOST:PORT` exec'd in one (as
# Kubernetes' own NetworkPolicy e2e tests do). kube-router learns a new pod's address a moment
# after the pod starts, so an allowed edge is tried up to 15 times, 1 s apart; a blocked one is
# sound on the first try (until the enforcer knows a pod, its traffic is only ever denied).
declare -A clients=()
client_n=0
client() { # namespace labels: sets CLIENT to a Running client pod with those labels (made once)
  local key="$1|$2" name
  if [ -z "${clients[$key]:-}" ]; then
    client_n=$((client_n + 1))
    name="client-$client_n"
    k -n "$1" run "$name" --image "$AGNHOST_IMAGE" --image-pull-policy Never --restart Never \
      --labels "$2${2:+,}va-e2e/client=true" \
      --overrides '{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"va-e2e-probes","uid":"'"${owner_uid[$1]}"'","controller":true}]},"spec":{"automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,"runAsUser":65532,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"agnhost","image":"'"$AGNHOST_IMAGE"'","imagePullPolicy":"Never","args":["pause"],"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true}}]}}' \
      >/dev/null
    k -n "$1" wait --for=condition=Ready "pod/$name" --timeout=60s >/dev/null || fail "client pod $1/$name not Ready"
    clients[$key]=$name
  fi
  CLIENT=${clients[$key]}
}
try_connect() { # namespace pod target
  k -n "$1" exec "$2" -- /agnhost connect "$3" --timeout=3s 2>&1
}
expect() { # allowed|blocked description namespace labels target
  local want=$1 what=$2 ns=$3 pod out attempt
  client "$ns" "$4"
  pod=$CLIENT
  if [ "$want" = allowed ]; then
    for attempt in $(seq 1 15); do
      if out=$(try_connect "$ns" "$pod" "$5"); then
        ok "allowed: $what (attempt $attempt)"
        return 0
      fi
      sleep 1
    done
    fail "$what: wanted allowed, 15 attempts failed, the last: $out"
  fi
  if out=$(try_connect "$ns" "$pod" "$5"); then
    fail "$what: wanted blocked, but the connection was made"
  fi
  ok "blocked: $what: $(tr '\n' ' ' <<<"$out" | sed 's/command terminated with exit code [0-9]*//')"
}
pfc=concierge-prefrontal-cortex.concierge.svc:8080
redis=concierge-redis.concierge.svc:6379
postgres=concierge-postgres.concierge.svc:5432
public=concierge-input-processor-public.concierge.svc:80
as_component() { echo "app.kubernetes.io/name=$1,app.kubernetes.io/instance=concierge,app.kubernetes.io/component=$1,app.kubernetes.io/part-of=virtual-assistant"; }
# The allowed edges, from pods that carry the labels the policies name.
expect allowed "ingress-nginx -> input-processor's public Service" ingress-nginx "" "$public"
expect allowed "a pod labelled input-processor -> prefrontal-cortex" concierge "$(as_component input-processor)" "$pfc"
expect allowed "a pod labelled short-term-mem -> Redis" concierge "$(as_component short-term-mem)" "$redis"
expect allowed "a pod labelled conversation-log -> PostgreSQL" concierge "$(as_component conversation-log)" "$postgres"
# Outside them: the same targets from pods the policies do not name.
expect blocked "ingress-nginx -> prefrontal-cortex" ingress-nginx "" "$pfc"
expect blocked "another namespace -> input-processor's public Service" va-e2e-outside "" "$public"
expect blocked "another namespace -> Redis" va-e2e-outside "" "$redis"
expect blocked "an unlabelled pod in the VA's namespace -> prefrontal-cortex" concierge "" "$pfc"
expect blocked "an unlabelled pod in the VA's namespace -> Redis" concierge "" "$redis"
expect blocked "an unlabelled pod in the VA's namespace -> PostgreSQL" concierge "" "$postgres"
expect blocked "a pod labelled output-manager -> Redis" concierge "$(as_component output-manager)" "$redis"

# --- memory per pod (the kubelet's working set) ---
# The kubelet's stats of a pod start a few seconds after it does: wait until every pod has one.
memory_table() {
k get --raw "/api/v1/nodes/$NODE_NAME/proxy/stats/summary" >"$work/summary.json" || return 1
python3 - "$work/summary.json" >"$work/memory.txt" 2>&1 <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
rows = []
for pod in summary.get("pods", []):
    ref = pod["podRef"]
    ws = (pod.get("memory") or {}).get("workingSetBytes")
    if ref["name"].startswith("client-"):  # the test's own client pods
        continue
    if not ws:
        sys.exit(f"no memory figure yet for {ref['namespace']}/{ref['name']}")
    rows.append((ref["namespace"], ref["name"], ws / 2**20))
if not rows:
    sys.exit("no pod memory in the kubelet's summary")
for ns, name, mib in sorted(rows):
    print(f"  {ns:<12} {name:<58} {mib:7.1f}")
va = [mib for ns, name, mib in rows if ns == "concierge"]
print(f"  concierge: {len(va)} pods, {sum(va):.1f} MiB in all")
PY
}
for _ in $(seq 1 60); do memory_table 2>/dev/null && break; sleep 1; done
memory_table || fail "the kubelet's stats have no memory figure for every pod: $(cat "$work/memory.txt")"
echo "memory per pod (working set, MiB):"
cat "$work/memory.txt"
ok "memory read from the kubelet's stats for every pod"

echo "node e2e: $passed passed, 0 failed; first answer $apply_to_answer s after kubectl apply"
