#!/usr/bin/env bash
# config/rbac is sufficient and minimal, against the real local control plane:
#   1. config/rbac (rendered with a test prefix, its ServiceAccount in a test namespace) is
#      applied, a TokenRequest token of that ServiceAccount goes into a kubeconfig of its own, and
#      va-operator runs with it (leader election on, watching a test namespace): a minimal VA and a
#      VA with every kind of child (HPA, Ingress, CronJob, ServiceMonitor when its CRD is served,
#      referenced Secrets) become Ready, with no 403 from the API server;
#   2. every verb of every rule is then removed, one at a time, and the test shows what breaks:
#        list, watch   a fresh operator logs "list/watch failed" with the 403 for that resource
#        create        a deleted child cannot come back: the VA is Stalled (ApplyFailed, Forbidden)
#        patch         a drifted child cannot be repaired: Stalled (ApplyFailed, Forbidden)
#        delete        an unwanted child cannot be pruned: Reconciling, reason Retrying, Forbidden
#        status patch  the operator logs "Reconciler error ... write status ... forbidden"
#        Event create  the operator logs "cannot record an Event ... forbidden"
#        Lease get, create, update: the elector logs the 403 and never leads;
#      a rule that no case covers fails the test. The one exception is update on
#      virtualassistants/finalizers, which only clusters with the OwnerReferencesPermissionEnforcement
#      admission plugin check (the local control plane does not enable it): reported, not tested.
#   3. namespaced mode: the ClusterRoleBinding is replaced by a Role with the same rules in the
#      watched namespace (what config/namespaced deploys), and a VA becomes Ready again.
# Uses namespaces cfg-rbac-op-<pid> and cfg-rbac-va-<pid> and cluster-scoped RBAC objects named
# cfg-rbac-<pid>-*, all removed at the end. Installs the VA CRD only if it is missing; never the
# ServiceMonitor CRD (its cases are skipped when it is not served).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/operator_lib.sh"

id=$$
op_ns="cfg-rbac-op-$id"
va_ns="cfg-rbac-va-$id"
prefix="cfg-rbac-$id-"
sa="${prefix}operator"
manager_role="${prefix}operator-manager"
lease_role="${prefix}operator-leader-election"
work=$(mktemp -d /tmp/va-rbac-test.XXXXXX)
log="$work/operator.log"
: >"$log"
failures=0
PID2=

cleanup() {
  local rc=$?
  op_kill
  [ -z "$PID2" ] || { kill -KILL "$PID2" 2>/dev/null || true; wait "$PID2" 2>/dev/null || true; }
  "$kubectl" delete namespace "$op_ns" "$va_ns" --wait=false >/dev/null 2>&1 || true
  "$kubectl" delete clusterrolebinding "$manager_role" --ignore-not-found >/dev/null 2>&1 || true
  "$kubectl" delete clusterrole "$manager_role" --ignore-not-found >/dev/null 2>&1 || true
  if [ "$rc" != 0 ] || [ "$failures" != 0 ]; then
    echo "--- operator log (last 30 lines of $log) ---" >&2
    tail -30 "$log" >&2
    cp "$log" "/tmp/va-rbac-test-$id.log" 2>/dev/null || true
    echo "(whole log: /tmp/va-rbac-test-$id.log)" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

k() { "$kubectl" "$@"; }
step() { echo "== $*"; }
ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
# poll SECONDS COMMAND...: true once COMMAND succeeds (every 0.25 s), false after SECONDS.
poll() {
  local limit=$1 start=$SECONDS
  shift
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -lt "$limit" ] || return 1
    sleep 0.25
  done
}
wait_for() {
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  poll "$limit" "$@" || fail "$what: not within $limit s"
  echo "   $what after $((SECONDS - start)) s"
}
jpath() { k get "$@" 2>/dev/null; }
condition() { jpath -n "$va_ns" va "$1" -o "jsonpath={.status.conditions[?(@.type==\"$2\")].$3}"; }
is_ready() {
  [ "$(condition "$1" Ready status)" = True ] &&
    [ "$(jpath -n "$va_ns" va "$1" -o jsonpath='{.status.observedGeneration}')" = \
      "$(jpath -n "$va_ns" va "$1" -o jsonpath='{.metadata.generation}')" ]
}
not_stalled() { [ "$(condition full Stalled status)" = False ] && [ "$(condition full Reconciling reason)" != Retrying ]; }
poke() { k annotate -n "$va_ns" va full "rbac-test/poke=$RANDOM$RANDOM" --overwrite >/dev/null; }
# log_since LINE PATTERN: the operator log after line LINE has a line matching PATTERN (ERE).
log_since() { tail -n +"$(($1 + 1))" "$log" | grep -Eq "$2"; }
log_lines() { wc -l <"$log"; }
# forbidden VERB RESOURCE: the API server's 403 text for it, quotes escaped any number of times.
forbidden() { echo "cannot $1 resource [\\\"]*$2[\\\"]*"; }

# --- RBAC objects -------------------------------------------------------------------------------
# can VERB RESOURCE NAMESPACE: does the operator's ServiceAccount have the permission now?
# RESOURCE is kubectl auth can-i's (resource.group or resource.group/name), or resource.group|sub
# for a subresource.
can() {
  local resource=${2%|*} sub=
  [ "$resource" = "$2" ] || sub=${2#*|}
  [ "$(k auth can-i "$1" "$resource" ${sub:+--subresource="$sub"} -n "$3" \
    --as="system:serviceaccount:$op_ns:$sa" 2>/dev/null)" = yes ]
}
cannot() { ! can "$@"; }
# without KIND VERB GROUP RESOURCE: the role (from its saved copy) with that verb removed.
without() {
  python3 - "$work/$1.json" "$2" "$3" "$4" <<'EOF'
import json, sys
path, verb, group, resource = sys.argv[1:]
role = json.load(open(path))
rules = []
for r in role["rules"]:
    if group in r.get("apiGroups", []) and resource in r.get("resources", []) and verb in r["verbs"]:
        others = [x for x in r["resources"] if x != resource]
        if others:
            rules.append(dict(r, resources=others))
        verbs = [v for v in r["verbs"] if v != verb]
        if verbs:
            rules.append(dict(r, resources=[resource], verbs=verbs))
    else:
        rules.append(r)
role["rules"] = rules
json.dump(role, sys.stdout)
EOF
}
# restrict KIND VERB GROUP RESOURCE CAN_I_RESOURCE NAMESPACE: remove the verb, wait until the
# authorizer denies it. restore KIND ...: put the role back, wait until it allows it again.
restrict() {
  without "$1" "$2" "$3" "$4" | k replace -f - >/dev/null
  poll 20 cannot "$2" "$5" "$6" || fail "RBAC change not effective: $2 $5 still allowed"
}
restore() {
  k replace -f "$work/$1.json" >/dev/null
  poll 20 can "$2" "$5" "$6" || fail "RBAC restore not effective: $2 $5 still denied"
}
# A role as stored, without server fields, so that `kubectl replace` takes it unconditionally.
save_role() { # save_role KIND NAME [NAMESPACE]
  k get "$1" "$2" ${3:+-n "$3"} -o json | python3 -c '
import json, sys
o = json.load(sys.stdin)
o["metadata"] = {k: v for k, v in o["metadata"].items()
                 if k in ("name", "namespace", "labels", "annotations")}
json.dump(o, sys.stdout)' >"$work/$1.json"
}

# --- operator processes -------------------------------------------------------------------------
kubeconfig="$work/kubeconfig"
# start_bare FLAGS...: va-operator with the ServiceAccount's kubeconfig, not waiting for readiness
# (with a permission missing it may never get ready). Sets PID2.
start_bare() {
  "$VA_OPERATOR" --kubeconfig="$kubeconfig" --metrics-bind-address=127.0.0.1:0 \
    --health-probe-bind-address=127.0.0.1:0 "$@" >>"$log" 2>&1 &
  PID2=$!
}
# An operator that may block in its cache sync (SIGTERM waits for it): SIGKILL.
kill_bare() {
  [ -n "$PID2" ] || return 0
  kill -KILL "$PID2" 2>/dev/null || true
  wait "$PID2" 2>/dev/null || true
  PID2=
}

# --- 1. sufficiency -----------------------------------------------------------------------------
step "config/rbac for ServiceAccount $op_ns/$sa; token and kubeconfig"
k get crd virtualassistants.virtualassistant.dev >/dev/null 2>&1 || install_crd
monitoring=false
if k get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then monitoring=true; fi
k create namespace "$op_ns" >/dev/null
k create namespace "$va_ns" >/dev/null
mkdir -p "$work/rbac"
cat >"$work/rbac/kustomization.yaml" <<EOF
namespace: $op_ns
namePrefix: $prefix
resources:
- $(realpath --relative-to="$work/rbac" "$VA_SOURCE_DIR/config/rbac")
patches:
- patch: |-
    \$patch: delete
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: virtualassistant-editor-role
- patch: |-
    \$patch: delete
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: virtualassistant-viewer-role
EOF
k kustomize "$work/rbac" >"$work/rbac.yaml"
k apply -f "$work/rbac.yaml" >/dev/null
save_role ClusterRole "$manager_role"
save_role Role "$lease_role" "$op_ns"
token=$(k create token "$sa" -n "$op_ns" --duration=2h)
server=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
if [ -z "$ca" ]; then
  ca=$(base64 -w0 <"$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')")
fi
cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: $sa
  user:
    token: $token
contexts:
- name: $sa
  context:
    cluster: local
    user: $sa
current-context: $sa
EOF
chmod 600 "$kubeconfig"
poll 20 can list secrets "$va_ns" || fail "the ClusterRoleBinding does not take effect"
echo "   $(grep -c '^kind:' "$work/rbac.yaml") objects; ServiceMonitor CRD served: $monitoring"

step "va-operator with the ServiceAccount's token reconciles the examples to Ready"
k apply -n "$va_ns" -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: full-stores
stringData:
  redis: redis://redis.example.internal:6379/0
  postgres: postgresql://va@postgres.example.internal:5432/va
EOF
op_start "$log" --kubeconfig="$kubeconfig" --namespace="$va_ns" --leader-elect \
  --leader-election-namespace="$op_ns"
grep -q '"msg":"successfully acquired lease"' "$log" || fail "no lease acquired"
grep -q "\"msg\":\"ServiceMonitors\",\"served\":$monitoring" "$log" ||
  fail "the operator's discovery of monitoring.coreos.com/v1 (system:discovery) did not say served=$monitoring"
k apply -n "$va_ns" -f "$VA_SOURCE_DIR/examples/minimal.yaml" >/dev/null
k apply -n "$va_ns" -f - >/dev/null <<'EOF'
apiVersion: virtualassistant.dev/v1alpha1
kind: VirtualAssistant
metadata:
  name: full
spec:
  components:
    inputProcessor:
      autoscaling: {enabled: true, minReplicas: 1, maxReplicas: 2, targetCPUUtilizationPercentage: 70}
    longTermMem:
      consolidation: {enabled: true, schedule: "*/30 * * * *"}
  exposure:
    ingress: {enabled: true, host: full.example.com}
  stores:
    redis:
      urlSecretRef: {name: full-stores, key: redis}
    postgres:
      dsnSecretRef: {name: full-stores, key: postgres}
  observability:
    metrics: {serviceMonitor: true}
EOF
wait_for 120 "va/minimal Ready" is_ready minimal
wait_for 120 "va/full Ready" is_ready full
kinds=serviceaccounts,configmaps,services,deployments.apps,horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,networkpolicies.networking.k8s.io,ingresses.networking.k8s.io,cronjobs.batch
$monitoring && kinds+=,servicemonitors.monitoring.coreos.com
have=$(k get -n "$va_ns" "$kinds" -l app.kubernetes.io/instance=full -o name | sed 's|/.*||' | sort -u | wc -l)
want=$(tr ',' '\n' <<<"$kinds" | wc -l)
[ "$have" = "$want" ] || fail "va/full has children of $have kinds, want $want"
op_settle 60
[ "$(op_metric '^leader_election_master_status')" = 1 ] || fail "the operator does not lead"
# (op_metric's grep fails when no series matches: the sum is still printed, 0.)
denied=$(op_metric '^rest_client_requests_total\{.*code="403"' || true)
[ "$denied" = 0 ] || fail "$denied requests answered 403 with the full RBAC"
ok "config/rbac is sufficient: both VAs Ready with children of all $want kinds, leader elected, no 403"
op_stop

# --- 2. minimality ------------------------------------------------------------------------------
step "every verb of every rule is needed"
# The rules to cover, as "KIND VERB GROUP RESOURCE" (KIND: the role's kind).
python3 - "$work/ClusterRole.json" "$work/Role.json" >"$work/cases.txt" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    role = json.load(open(path))
    for r in role["rules"]:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r["verbs"]:
                    print(role["kind"], v, g or '""', res)
EOF
echo "   $(wc -l <"$work/cases.txt") (verb, resource) pairs in ClusterRole $manager_role and Role $lease_role"

# The informer resources: a fresh operator cannot list or watch them.
case_informer() { # VERB GROUP RESOURCE CANI
  local verb=$1 group=$2 resource=$3 cani=$4 before
  restrict ClusterRole "$verb" "$group" "$resource" "$cani" "$va_ns"
  before=$(log_lines)
  start_bare --namespace="$va_ns"
  if poll 30 log_since "$before" "list/watch failed.*$(forbidden "$verb" "$resource")"; then
    if [ "$verb" = list ]; then
      ok "without list $cani: the $resource informer cannot fill its cache ('list/watch failed', 403)"
    else
      ok "without watch $cani: the $resource informer lists but cannot watch, changes go unseen ('list/watch failed', 403)"
    fi
  else
    bad "without $verb $cani: no list/watch failure for $resource within 30 s"
  fi
  kill_bare
  restore ClusterRole "$verb" "$group" "$resource" "$cani" "$va_ns"
}

# A child of va/full of that resource.
child_of() { k get -n "$va_ns" "$1" -l app.kubernetes.io/instance=full -o name | sed -n 1p; }
stalled_with() { [ "$(condition full Stalled reason)" = ApplyFailed ] && grep -Eq "$1" <<<"$(condition full Stalled message)"; }
retrying_with() { [ "$(condition full Reconciling reason)" = Retrying ] && grep -Eq "$1" <<<"$(condition full Reconciling message)"; }
exists() { k get -n "$va_ns" "$1" >/dev/null 2>&1; }
gone() { ! exists "$1"; }
hash_is_not() { [ "$(jpath -n "$va_ns" "$1" -o jsonpath='{.metadata.annotations.virtualassistant\.dev/intent-hash}')" != "$2" ]; }

case_create() { # GROUP RESOURCE CANI
  local group=$1 resource=$2 cani=$3 child
  child=$(child_of "$cani")
  [ -n "$child" ] || { bad "create $cani: va/full has no $resource"; return; }
  restrict ClusterRole create "$group" "$resource" "$cani" "$va_ns"
  k delete -n "$va_ns" "$child" --wait=true >/dev/null
  if poll 30 stalled_with "$(forbidden create "$resource")"; then
    ok "without create $cani: deleted $child is not re-created, va/full Stalled (ApplyFailed, Forbidden)"
  else
    bad "without create $cani: va/full not Stalled with a Forbidden create within 30 s ($(condition full Stalled message))"
  fi
  restore ClusterRole create "$group" "$resource" "$cani" "$va_ns"
  poke
  poll 60 exists "$child" && poll 60 not_stalled || bad "create $cani restored: $child not back within 60 s"
}

case_patch() { # GROUP RESOURCE CANI
  local group=$1 resource=$2 cani=$3 child
  child=$(child_of "$cani")
  [ -n "$child" ] || { bad "patch $cani: va/full has no $resource"; return; }
  restrict ClusterRole patch "$group" "$resource" "$cani" "$va_ns"
  k annotate -n "$va_ns" "$child" virtualassistant.dev/intent-hash=drifted --overwrite >/dev/null
  if poll 30 stalled_with "$(forbidden patch "$resource")"; then
    ok "without patch $cani: drifted $child is not repaired, va/full Stalled (ApplyFailed, Forbidden)"
  else
    bad "without patch $cani: va/full not Stalled with a Forbidden patch within 30 s ($(condition full Stalled message))"
  fi
  restore ClusterRole patch "$group" "$resource" "$cani" "$va_ns"
  poke
  poll 60 hash_is_not "$child" drifted && poll 60 not_stalled || bad "patch $cani restored: $child not repaired within 60 s"
}

# An object of that resource that va/full controls but does not want: the operator prunes it.
extra_object() { # RESOURCE UID
  local meta
  meta="metadata:
  name: full-extra
  labels: {app.kubernetes.io/managed-by: va-operator, app.kubernetes.io/instance: full}
  ownerReferences:
  - {apiVersion: virtualassistant.dev/v1alpha1, kind: VirtualAssistant, name: full, uid: $2, controller: true}"
  local selector="{matchLabels: {rbac-test/none: none}}"
  case $1 in
    serviceaccounts) printf 'apiVersion: v1\nkind: ServiceAccount\n%s\n' "$meta" ;;
    configmaps) printf 'apiVersion: v1\nkind: ConfigMap\n%s\n' "$meta" ;;
    services) printf 'apiVersion: v1\nkind: Service\n%s\nspec: {ports: [{port: 80}], selector: {rbac-test/none: none}}\n' "$meta" ;;
    deployments)
      printf 'apiVersion: apps/v1\nkind: Deployment\n%s\nspec:\n  replicas: 0\n  selector: %s\n  template:\n    metadata: {labels: {rbac-test/none: none}}\n    spec: {containers: [{name: c, image: va.local/none:0}]}\n' "$meta" "$selector" ;;
    horizontalpodautoscalers)
      printf 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n%s\nspec: {maxReplicas: 1, scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: none}}\n' "$meta" ;;
    poddisruptionbudgets) printf 'apiVersion: policy/v1\nkind: PodDisruptionBudget\n%s\nspec: {maxUnavailable: 1, selector: %s}\n' "$meta" "$selector" ;;
    networkpolicies) printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n%s\nspec: {podSelector: %s}\n' "$meta" "$selector" ;;
    ingresses)
      printf 'apiVersion: networking.k8s.io/v1\nkind: Ingress\n%s\nspec: {defaultBackend: {service: {name: none, port: {number: 80}}}}\n' "$meta" ;;
    cronjobs)
      printf 'apiVersion: batch/v1\nkind: CronJob\n%s\nspec:\n  schedule: "0 0 1 1 *"\n  suspend: true\n  jobTemplate:\n    spec:\n      template:\n        spec: {restartPolicy: Never, containers: [{name: c, image: va.local/none:0}]}\n' "$meta" ;;
    servicemonitors)
      printf 'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n%s\nspec: {selector: %s, endpoints: [{port: http}]}\n' "$meta" "$selector" ;;
  esac
}

case_delete() { # GROUP RESOURCE CANI
  local group=$1 resource=$2 cani=$3 uid
  uid=$(jpath -n "$va_ns" va full -o jsonpath='{.metadata.uid}')
  restrict ClusterRole delete "$group" "$resource" "$cani" "$va_ns"
  extra_object "$resource" "$uid" | k apply -n "$va_ns" -f - >/dev/null
  if poll 30 retrying_with "$(forbidden delete "$resource")"; then
    ok "without delete $cani: unwanted $resource/full-extra is not pruned, va/full Reconciling (Retrying, Forbidden)"
  else
    bad "without delete $cani: va/full not Retrying with a Forbidden delete within 30 s ($(condition full Reconciling message))"
  fi
  restore ClusterRole delete "$group" "$resource" "$cani" "$va_ns"
  poke
  poll 60 gone "$cani/full-extra" && poll 60 not_stalled || bad "delete $cani restored: full-extra not pruned within 60 s"
}

# A write the operator must report: a drifted ConfigMap makes it apply, write the status
# (Reconciling changes) and record an Updated Event.
drift() {
  k annotate -n "$va_ns" configmap full-input-processor-config \
    virtualassistant.dev/intent-hash="drift-$RANDOM" --overwrite >/dev/null
}
case_logged() { # VERB GROUP RESOURCE CANI PATTERN DESCRIPTION
  local verb=$1 group=$2 resource=$3 cani=$4 pattern=$5 what=$6 before
  restrict ClusterRole "$verb" "$group" "$resource" "$cani" "$va_ns"
  before=$(log_lines)
  drift
  if poll 30 log_since "$before" "$pattern"; then
    ok "without $verb $cani: $what"
  else
    bad "without $verb $cani: no '$what' in the operator log within 30 s"
  fi
  restore ClusterRole "$verb" "$group" "$resource" "$cani" "$va_ns"
  poke
  poll 60 not_stalled || bad "$verb $cani restored: va/full does not settle"
}

# Leader election: a fresh elector (debug logging) cannot get, create or renew the Lease.
case_lease() { # VERB
  local verb=$1 before pattern
  restrict Role "$verb" coordination.k8s.io leases "leases.coordination.k8s.io/va-operator-lock" "$op_ns"
  # create is needed only when the Lease is missing; get and update when it exists (here held
  # by nobody, as after a release).
  k delete lease -n "$op_ns" va-operator-lock --ignore-not-found >/dev/null
  if [ "$verb" != create ]; then
    k apply -n "$op_ns" -f - >/dev/null <<'EOF'
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: va-operator-lock
spec:
  leaseDurationSeconds: 15
EOF
  fi
  case $verb in
    get) pattern="error retrieving the lease.*$(forbidden get leases)" ;;
    create) pattern="error initially creating the lease.*$(forbidden create leases)" ;;
    update) pattern="failed to update the lease.*$(forbidden update leases)" ;;
  esac
  before=$(log_lines)
  start_bare --namespace="$va_ns" --leader-elect --leader-election-namespace="$op_ns" --zap-log-level=debug
  if poll 30 log_since "$before" "$pattern"; then
    if log_since "$before" '"msg":"successfully acquired lease"'; then
      bad "without $verb on the Lease: logged the 403 but still acquired the lease"
    else
      ok "without $verb on the Lease: the elector logs the 403 and never leads"
    fi
  else
    bad "without $verb on the Lease: no '$pattern' within 30 s"
  fi
  kill_bare
  restore Role "$verb" coordination.k8s.io leases "leases.coordination.k8s.io/va-operator-lock" "$op_ns"
}

# The live cases share one operator (no leader election: the Lease has its own cases).
op_start "$log" --kubeconfig="$kubeconfig" --namespace="$va_ns"
poll 60 not_stalled || fail "va/full does not settle under the restarted operator"
uncovered=()
while read -r kind verb group resource <&3; do
  [ "$group" = '""' ] && group=""
  cani=$resource${group:+.$group}
  case "$kind $verb $resource" in
    "ClusterRole "*" servicemonitors") $monitoring || {
      ok "$verb $cani: skipped (the ServiceMonitor CRD is not served, so the operator does not use it)"
      continue
    } ;;&
    # Every resource the operator lists and watches has an informer.
    "ClusterRole list "* | "ClusterRole watch "*) case_informer "$verb" "$group" "$resource" "$cani" ;;
    "ClusterRole create events") case_logged create "$group" events "$cani" \
      "cannot record an Event.*$(forbidden create events)" "the operator logs 'cannot record an Event' (403)" ;;
    "ClusterRole create "*) case_create "$group" "$resource" "$cani" ;;
    "ClusterRole patch virtualassistants/status") case_logged patch "$group" "$resource" \
      "virtualassistants.virtualassistant.dev|status" \
      "Reconciler error.*write status.*$(forbidden patch virtualassistants/status)" \
      "the status cannot be written: 'Reconciler error ... write status' (403)" ;;
    "ClusterRole patch "*) case_patch "$group" "$resource" "$cani" ;;
    "ClusterRole delete "*) case_delete "$group" "$resource" "$cani" ;;
    "ClusterRole update virtualassistants/finalizers")
      echo "skip update $cani: needed only where the OwnerReferencesPermissionEnforcement admission plugin runs (children set blockOwnerDeletion); the local control plane does not enable it" ;;
    "Role get leases" | "Role create leases" | "Role update leases") ;;  # below, without the live operator
    *) uncovered+=("$kind $verb $cani") ;;
  esac
done 3<"$work/cases.txt"
op_stop
while read -r kind verb group resource <&3; do
  if [ "$kind $resource" = "Role leases" ]; then case_lease "$verb"; fi
done 3<"$work/cases.txt"
for u in "${uncovered[@]}"; do bad "no case shows that '$u' is needed"; done

# --- 3. namespaced mode -------------------------------------------------------------------------
step "namespaced mode: a Role with the same rules in the watched namespace is enough"
k delete clusterrolebinding "$manager_role" >/dev/null
python3 - "$work/ClusterRole.json" "$va_ns" "$sa" "$op_ns" <<'EOF' | k apply -f - >/dev/null
import json, sys
cluster_role, ns, sa, sa_ns = sys.argv[1:]
role = json.load(open(cluster_role))
name = role["metadata"]["name"]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
     "metadata": {"name": name, "namespace": ns}, "rules": role["rules"]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
     "metadata": {"name": name, "namespace": ns},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
     "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}]}]}))
EOF
poll 20 cannot list secrets "$op_ns" || fail "the ClusterRoleBinding still applies"
poll 20 can list secrets "$va_ns" || fail "the namespaced Role does not take effect"
op_start "$log" --kubeconfig="$kubeconfig" --namespace="$va_ns" --leader-elect \
  --leader-election-namespace="$op_ns"
k apply -n "$va_ns" -f - >/dev/null <<'EOF'
apiVersion: virtualassistant.dev/v1alpha1
kind: VirtualAssistant
metadata:
  name: namespaced
spec: {}
EOF
if poll 120 is_ready namespaced; then
  ok "namespaced Role: va/namespaced Ready"
else
  bad "namespaced Role: va/namespaced not Ready within 120 s"
fi
op_stop

echo
if [ "$failures" -gt 0 ]; then
  echo "rbac_test: $failures check(s) failed"
  exit 1
fi
echo "rbac_test: all checks passed"
