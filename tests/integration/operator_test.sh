#!/usr/bin/env bash
# va-operator against the real local control plane (kube-apiserver, kube-controller-manager with
# its garbage collector, kwok nodes): the examples become Ready with every child; an unchanged VA
# costs zero writes, also after a restart that resyncs 100 VAs; spec changes converge and prune;
# drift is undone; a missing Secret stalls a VA without a hot loop; pause stops changes; a changed
# Secret rolls the pods; the garbage collector removes a deleted VA's children; the API server
# rejects invalid VAs naming the field.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/operator_lib.sh"

# How many VAs the restart resync covers (the issue asks for 100; smaller for quick local runs).
resync_vas=${RESYNC_VAS:-100}
ns="va-op-$$"
ns_resync="va-resync-$$"
log=$(mktemp /tmp/va-operator-test.XXXXXX)
cleanup() {
  local rc=$?
  op_stop
  # Wait (bounded) for the garbage collector, so that the next test starts on a quiet cluster.
  "$kubectl" delete namespace "$ns" "$ns_resync" concierge --ignore-not-found --timeout=300s \
    >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    echo "--- operator log (last 40 lines of $log) ---" >&2
    tail -40 "$log" >&2
  fi
}
trap cleanup EXIT

k() { "$kubectl" "$@"; }
step() { echo "== $*"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.25 s.
wait_for() {
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -lt "$limit" ] || fail "$what: not within $limit s"
    sleep 0.25
  done
  echo "   $what after $((SECONDS - start)) s"
}

jp() { k get "$@" 2>/dev/null; }
condition() { jp -n "$1" va "$2" -o "jsonpath={.status.conditions[?(@.type==\"$3\")].$4}"; }
is_ready() {
  [ "$(condition "$1" "$2" Ready status)" = True ] &&
    [ "$(jp -n "$1" va "$2" -o jsonpath='{.status.observedGeneration}')" = \
      "$(jp -n "$1" va "$2" -o jsonpath='{.metadata.generation}')" ]
}
kinds=serviceaccounts,configmaps,services,deployments,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,ingresses,cronjobs,servicemonitors
children() { k get -n "$1" "$kinds" -l "app.kubernetes.io/instance=$2" -o name; }
child_count() { children "$1" "$2" | wc -l; }

install_crd
# ServiceMonitors are applied only when their CRD is installed: install a stand-in before the
# operator starts, so that concierge (serviceMonitor: true) gets one.
k apply -f "$here/testdata/servicemonitor-crd.yaml" >/dev/null
wait_established servicemonitors.monitoring.coreos.com
k create namespace "$ns" >/dev/null
op_start "$log" --kube-api-qps=300 --kube-api-burst=600

step "examples become Ready with every child"
k apply -n "$ns" -f "$VA_SOURCE_DIR/examples/minimal.yaml" >/dev/null
# The example's namespace is fixed: wait for a previous run's to be gone.
k wait --for=delete namespace/concierge --timeout=180s >/dev/null 2>&1 || true
k apply -f "$VA_SOURCE_DIR/examples/concierge-secrets.yaml" -f "$VA_SOURCE_DIR/examples/concierge.yaml" \
  2>&1 >/dev/null | { grep -v 'failed to find any PEM data' || true; } >&2
for target in "$ns minimal" "concierge concierge"; do
  set -- $target
  start=$SECONDS
  k wait -n "$1" "va/$2" --for=condition=Ready --timeout=60s >/dev/null ||
    fail "va/$2 not Ready within 60 s"
  echo "   va/$2 Ready after $((SECONDS - start)) s"
  want=$("$VA_OPERATOR" render -f "$VA_SOURCE_DIR/examples/$2.yaml" | grep -c '^kind:')
  have=$(child_count "$1" "$2")
  [ "$have" = "$want" ] || fail "va/$2 has $have children, render says $want"
  uid=$(jp -n "$1" va "$2" -o jsonpath='{.metadata.uid}')
  owners=$(k get -n "$1" "$kinds" -l "app.kubernetes.io/instance=$2" -o \
    jsonpath='{range .items[*]}{.metadata.ownerReferences[?(@.controller==true)].uid}{"\n"}{end}' |
    sort | uniq -c | awk '{print $1 " " $2}')
  [ "$owners" = "$want $uid" ] || fail "va/$2: controller owner uids are [$owners], want all $uid"
  labelled=$(k get -n "$1" "$kinds" -l "app.kubernetes.io/instance=$2,app.kubernetes.io/part-of=virtual-assistant,app.kubernetes.io/managed-by=va-operator,app.kubernetes.io/name,app.kubernetes.io/component,app.kubernetes.io/version" -o name | wc -l)
  [ "$labelled" = "$want" ] || fail "va/$2: $labelled of $want children carry every app.kubernetes.io label"
  row=$(k get -n "$1" va "$2" --no-headers)
  read -r _ ready components endpoint _ <<<"$row"
  [ "$ready" = True ] && [ "$components" = 8/8 ] && [[ "$endpoint" == http* ]] ||
    fail "kubectl get va: printer columns not filled in: $row"
  echo "   va/$2: $have children owned and labelled; kubectl get va: $row"
done

step "a second reconcile of an unchanged VA writes nothing"
op_settle
writes=$(op_writes)
before=$(child_versions "$ns"; child_versions concierge)
reconciles=$(op_reconciles)
k annotate -n "$ns" va minimal test/touch=1 >/dev/null
k annotate -n concierge va concierge test/touch=1 >/dev/null
op_settle
[ "$(op_reconciles)" -gt "$reconciles" ] || fail "touching the VAs did not trigger a reconcile"
[ "$(op_writes)" = "$writes" ] || fail "reconciling unchanged VAs wrote $(($(op_writes) - writes)) times"
[ "$(child_versions "$ns"; child_versions concierge)" = "$before" ] || fail "a child's resourceVersion changed"
echo "   $(($(op_reconciles) - reconciles)) reconciles, 0 writes, $(wc -l <<<"$before") resourceVersions unchanged"

step "a restarted operator resyncs $resync_vas VAs with zero writes"
k create namespace "$ns_resync" >/dev/null
for i in $(seq -w 1 "$resync_vas"); do
  printf 'apiVersion: virtualassistant.dev/v1alpha1\nkind: VirtualAssistant\nmetadata:\n  name: r%s\nspec: {}\n---\n' "$i"
done | k apply -n "$ns_resync" -f - >/dev/null
start=$SECONDS
all_ready() {
  [ "$(k get -n "$ns_resync" va -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = "$resync_vas" ]
}
wait_for 300 "$resync_vas VAs Ready" all_ready
op_settle
before=$(child_versions "$ns_resync"; child_versions "$ns")
op_stop
op_start "$log" --kube-api-qps=300 --kube-api-burst=600
op_settle
reconciles=$(op_reconciles)
[ "$reconciles" -ge $((resync_vas + 2)) ] || fail "the restarted operator reconciled only $reconciles times"
[ "$(op_writes)" = 0 ] || fail "the restarted operator wrote $(op_writes) times for unchanged VAs"
[ "$(child_versions "$ns_resync"; child_versions "$ns")" = "$before" ] || fail "a child's resourceVersion changed on resync"
echo "   restart: $reconciles reconciles, 0 writes, $(wc -l <<<"$before") resourceVersions unchanged"
# The 100 VAs stay until the end: deleting their namespace now would keep the garbage collector
# and the deployment controller busy for minutes and slow every step below.

step "spec changes converge and prune"
k patch -n "$ns" va minimal --type=merge -p '{"spec":{"components":{"inputProcessor":{"replicas":3}}}}' >/dev/null
replicas3() { [ "$(jp -n "$ns" deploy minimal-input-processor -o jsonpath='{.spec.replicas}')" = 3 ] && is_ready "$ns" minimal; }
wait_for 60 "replicas 3 applied and Ready" replicas3
k patch -n "$ns" va minimal --type=merge -p '{"spec":{"image":{"tag":"0.2.0"}}}' >/dev/null
retagged() {
  [ "$(k get -n "$ns" deploy -l app.kubernetes.io/instance=minimal -o jsonpath='{range .items[*]}{.spec.template.spec.containers[0].image}{"\n"}{end}' | grep -c ':0.2.0$')" = 8 ] && is_ready "$ns" minimal
}
wait_for 60 "image tag 0.2.0 on all 8 Deployments and Ready" retagged
k patch -n concierge va concierge --type=merge -p '{"spec":{"exposure":{"ingress":{"enabled":false}}}}' >/dev/null
no_ingress() { [ -z "$(k get -n concierge ingress -l app.kubernetes.io/instance=concierge -o name)" ] && is_ready concierge concierge; }
wait_for 60 "ingress off: Ingress pruned" no_ingress
endpoint=$(jp -n concierge va concierge -o jsonpath='{.status.endpoint}')
[ "$endpoint" = "http://concierge-input-processor-public.concierge.svc:80" ] || fail "endpoint after ingress off: $endpoint"
k patch -n concierge va concierge --type=merge -p '{"spec":{"components":{"inputProcessor":{"autoscaling":{"enabled":false}},"prefrontalCortex":{"autoscaling":{"enabled":false}},"languageCenter":{"autoscaling":{"enabled":false}}}}}' >/dev/null
no_hpa() {
  [ -z "$(k get -n concierge hpa -l app.kubernetes.io/instance=concierge -o name)" ] &&
    [ "$(jp -n concierge deploy concierge-language-center -o jsonpath='{.spec.replicas}')" = 1 ] && is_ready concierge concierge
}
wait_for 60 "autoscaling off: HPAs pruned, replicas owned again" no_hpa
want=$("$VA_OPERATOR" render -f <(k get -n concierge va concierge -o yaml) | grep -c '^kind:')
[ "$(child_count concierge concierge)" = "$want" ] || fail "concierge has $(child_count concierge concierge) children, render says $want"

step "drift is undone"
old_uid=$(jp -n "$ns" svc minimal-language-center -o jsonpath='{.metadata.uid}')
k delete -n "$ns" svc minimal-language-center >/dev/null
recreated() { uid=$(jp -n "$ns" svc minimal-language-center -o jsonpath='{.metadata.uid}') && [ -n "$uid" ] && [ "$uid" != "$old_uid" ]; }
wait_for 20 "deleted Service recreated" recreated
k patch -n "$ns" deploy minimal-prefrontal-cortex --type=json \
  -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.invalid/edited:1"}]' >/dev/null
restored() { [ "$(jp -n "$ns" deploy minimal-prefrontal-cortex -o jsonpath='{.spec.template.spec.containers[0].image}')" = va.local/prefrontal-cortex:0.2.0 ]; }
wait_for 20 "edited image restored" restored

step "a missing Secret stalls the VA with an Event and no hot loop"
k apply -n "$ns" -f - >/dev/null <<'YAML'
apiVersion: virtualassistant.dev/v1alpha1
kind: VirtualAssistant
metadata:
  name: needs-secret
spec:
  stores:
    redis:
      urlSecretRef: {name: late-redis, key: url}
YAML
stalled() { [ "$(condition "$ns" needs-secret Stalled reason)" = SecretNotFound ] && [ "$(condition "$ns" needs-secret Stalled status)" = True ]; }
wait_for 20 "Stalled=True reason SecretNotFound" stalled
message=$(condition "$ns" needs-secret Stalled message)
[[ "$message" == *"spec.stores.redis.urlSecretRef"*"late-redis"* ]] || fail "Stalled message does not name the field and Secret: $message"
has_event() { k get events -n "$ns" --field-selector reason=SecretNotFound,involvedObject.name=needs-secret -o name | grep -q .; }
wait_for 10 "Warning Event SecretNotFound" has_event
op_settle
reconciles=$(op_reconciles)
sleep 5
[ $(($(op_reconciles) - reconciles)) -le 1 ] || fail "hot loop: $(($(op_reconciles) - reconciles)) reconciles in 5 s while stalled"
[ "$(child_count "$ns" needs-secret)" = 0 ] || fail "a stalled VA got children"
k create secret generic -n "$ns" late-redis --from-literal=url=redis://redis:6379/0 >/dev/null
wait_for 60 "Secret created: Ready" is_ready "$ns" needs-secret

step "a changed Secret rolls the pods that read it"
hash() { jp -n "$ns" deploy needs-secret-short-term-mem -o jsonpath='{.spec.template.metadata.annotations.virtualassistant\.dev/config-hash}'; }
old_hash=$(hash)
[ -n "$old_hash" ] || fail "no config-hash annotation on the pod template"
other_hash=$(jp -n "$ns" deploy needs-secret-language-center -o jsonpath='{.spec.template.metadata.annotations.virtualassistant\.dev/config-hash}')
k create secret generic -n "$ns" late-redis --from-literal=url=redis://other:6379/0 --dry-run=client -o yaml | k replace -f - >/dev/null
rolled() { [ "$(hash)" != "$old_hash" ]; }
wait_for 20 "config-hash changed" rolled
[ "$(jp -n "$ns" deploy needs-secret-language-center -o jsonpath='{.spec.template.metadata.annotations.virtualassistant\.dev/config-hash}')" = "$other_hash" ] ||
  fail "a component that does not read the Secret was rolled too"

step "pause stops changes and says so"
k patch -n "$ns" va minimal --type=merge -p '{"spec":{"paused":true}}' >/dev/null
paused() { [ "$(condition "$ns" minimal Paused status)" = True ]; }
wait_for 20 "Paused=True" paused
k delete -n "$ns" configmap minimal-output-manager-config >/dev/null
sleep 3
[ -z "$(jp -n "$ns" configmap minimal-output-manager-config -o name)" ] || fail "a paused VA's child was recreated"
k patch -n "$ns" va minimal --type=merge -p '{"spec":{"paused":false}}' >/dev/null
back() { jp -n "$ns" configmap minimal-output-manager-config -o name | grep -q . && ! paused; }
wait_for 20 "unpaused: ConfigMap restored" back

step "deleting a VA lets the garbage collector remove every child"
k delete -n "$ns" va minimal --wait=true >/dev/null
gone() { [ "$(child_count "$ns" minimal)" = 0 ]; }
wait_for 60 "every child of va/minimal deleted" gone

step "the API server rejects invalid VAs, naming the field"
rejected=0
for file in "$VA_SOURCE_DIR"/tests/unit/api/testdata/invalid/*.yaml; do
  field=$(sed -n 's/^# expect: //p' "$file")
  if out=$(k apply --dry-run=server -n "$ns" -f "$file" 2>&1); then
    # Cases the schema cannot express are caught by the operator's parser (unit tests).
    grep -q '^# server: accepts' "$file" || fail "$(basename "$file"): accepted by the API server"
    continue
  fi
  [[ "$out" == *"$field"* ]] || fail "$(basename "$file"): the error does not name $field: $out"
  rejected=$((rejected + 1))
done
[ "$rejected" -ge 15 ] || fail "only $rejected invalid VAs rejected"
echo "   $rejected invalid VAs rejected by the API server, each naming its field"
echo "PASS"
