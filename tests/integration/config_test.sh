#!/usr/bin/env bash
# config/ (kustomize, kubebuilder's layout) against the real local control plane:
#   1. every kustomization renders with plain `kubectl kustomize` (no load-restrictor flags), and
#      config/crd's copy of the CRD is byte-identical to crds/ (the source of truth);
#   2. config/default holds exactly the expected objects; the Deployment has 2 replicas, leader
#      election, the metrics and probe addresses, POD_NAME/POD_NAMESPACE, a pinned image,
#      restricted security contexts, probes, requests and limits; the namespace enforces
#      Pod Security "restricted";
#   3. every ClusterRole and Role (config/default and config/namespaced) has no "*", no
#      escalate/bind/impersonate, and Secrets verbs within get/list/watch; the namespaced Role has
#      exactly the ClusterRole's rules, in the namespace the operator is told to watch;
#   4. `kubectl apply --dry-run=server` accepts config/default, config/namespaced and
#      config/grafana (in throw-away cfg-dry-* namespaces, without Pod Security warnings), and
#      config/prometheus's ServiceMonitor / PrometheusRule when their CRDs are served (else they
#      are only rendered, and the test says so); `promtool check rules` (Debian's prometheus
#      package, installed by hack/install-deps.sh);
#   5. every metric name, label and label value the alerts and the operator's Grafana dashboard
#      select is in a real scrape of va-operator's /metrics (a process started against the
#      cluster, watching only its own namespace, with examples/minimal.yaml in it so that the
#      per-VA series exist), and those of the components dashboard in that scrape plus a real
#      scrape of va-language-center (the service library's metrics that every component has,
#      and the language center's own); names from outside (Prometheus' `up`,
#      kube-state-metrics) are listed in metric_names.py and must not be exported by them;
#   6. config/argocd/application.yaml is an Argo CD Application syncing config/default.
# Needs: the local cluster (KUBECONFIG), python3 (standard library only), a built va-operator
# and va-language-center ($VA_LANGUAGE_CENTER).
# Installs the VA CRD only when it is missing (the scrape needs a VA).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/operator_lib.sh"

config="$VA_SOURCE_DIR/config"
VA_LANGUAGE_CENTER="${VA_LANGUAGE_CENTER:-$VA_SOURCE_DIR/build/workloads/language_center/va-language-center}"
work=$(mktemp -d /tmp/va-config-test.XXXXXX)
ns="cfg-dry-$$"
wns="cfg-dryw-$$"
created_ns=()
failures=0
cleanup() {
  op_stop
  if [ ${#created_ns[@]} -gt 0 ]; then
    "$kubectl" delete namespace "${created_ns[@]}" --wait=false >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

k() { "$kubectl" "$@"; }
ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# jp FILE JSONPATH: the JSONPath applied to each object of a rendered (multi-document) YAML file,
# read offline (kubectl label --local needs neither the server nor the kinds' CRDs).
jp() { k label --local -f "$1" va-config-test=1 -o "jsonpath=$2"; }
# as_list FILE: the file's objects as one JSON List (for python3's json module).
as_list() {
  k label --local -f "$1" va-config-test=1 -o json | python3 -c '
import json, sys
text, items, decoder, at = sys.stdin.read(), [], json.JSONDecoder(), 0
while True:
    while at < len(text) and text[at].isspace(): at += 1
    if at == len(text): break
    item, at = decoder.raw_decode(text, at)
    items.extend(item["items"] if item.get("kind") == "List" else [item])
json.dump({"kind": "List", "items": items}, sys.stdout)'
}
# doc FILE KIND: the rendered document of that kind.
doc() { awk -v kind="kind: $2" 'BEGIN{RS="\n---\n"} $0 ~ "(^|\n)" kind "(\n|$)" {print; exit}' "$1"; }

echo "== 1. rendering"
for dir in crd rbac manager networkpolicy default namespaced prometheus grafana; do
  if k kustomize "$config/$dir" >"$work/$dir.yaml" 2>"$work/$dir.err" && [ -s "$work/$dir.yaml" ]; then
    ok "kubectl kustomize config/$dir ($(grep -c '^kind:' "$work/$dir.yaml") objects)"
  else
    bad "kubectl kustomize config/$dir: $(cat "$work/$dir.err")"
  fi
done
check "config/crd/bases/ holds crds/'s CRD byte for byte (cp crds/*.yaml config/crd/bases/)" \
  cmp -s "$VA_SOURCE_DIR/crds/virtualassistant.dev_virtualassistants.yaml" \
  "$config/crd/bases/virtualassistant.dev_virtualassistants.yaml"

echo "== 2. config/default"
default="$work/default.yaml"
objects=$(jp "$default" '{.kind}/{.metadata.namespace}/{.metadata.name}{"\n"}' | sort)
expected=$(sort <<'EOF'
Namespace//va-system
CustomResourceDefinition//virtualassistants.virtualassistant.dev
ServiceAccount/va-system/va-operator
Role/va-system/va-operator-leader-election
ClusterRole//va-operator-manager
ClusterRole//va-virtualassistant-editor-role
ClusterRole//va-virtualassistant-viewer-role
RoleBinding/va-system/va-operator-leader-election
ClusterRoleBinding//va-operator-manager
Service/va-system/va-operator-metrics
Deployment/va-system/va-operator
NetworkPolicy/va-system/va-operator
EOF
)
if [ "$objects" = "$expected" ]; then
  ok "config/default renders exactly the expected $(wc -l <<<"$expected") objects"
else
  bad "config/default objects differ (< got, > expected):"
  diff <(echo "$objects") <(echo "$expected") || true
fi
as_list "$default" >"$work/default.json"
python3 - "$work/default.json" <<'EOF' || failures=$((failures + 1))
import json, sys
items = json.load(open(sys.argv[1]))["items"]
by = {(o["kind"], o["metadata"]["name"]): o for o in items}
problems = []
def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond: problems.append(what)
ns = by[("Namespace", "va-system")]["metadata"].get("labels", {})
expect(ns.get("pod-security.kubernetes.io/enforce") == "restricted",
       "namespace va-system enforces Pod Security restricted")
d = by[("Deployment", "va-operator")]
spec = d["spec"]; pod = spec["template"]["spec"]
expect(spec.get("replicas") == 2, "Deployment: 2 replicas")
expect(pod.get("serviceAccountName") == "va-operator", "Deployment: serviceAccountName va-operator")
expect(pod.get("automountServiceAccountToken") is True,
       "Deployment: automountServiceAccountToken true (the operator needs its token)")
psc = pod.get("securityContext", {})
expect(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532
       and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
       "Deployment: pod runs as non-root uid 65532 with seccomp RuntimeDefault")
[c] = pod["containers"]
args = c.get("args", [])
for a in ["--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"]:
    expect(a in args, f"container args include {a}")
env = {e["name"]: e for e in c.get("env", [])}
for name, path in [("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")]:
    expect(env.get(name, {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == path,
           f"env {name} from the downward API ({path})")
expect("WATCH_NAMESPACE" not in env, "no WATCH_NAMESPACE: the operator watches every namespace")
image = c.get("image", "")
tag = image.rsplit("/", 1)[-1].partition(":")[2]
expect(image == "va.local/va-operator:0.1.0" and tag not in ("", "latest"),
       f"image pinned ({image})")
sc = c.get("securityContext", {})
expect(sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
       and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("runAsNonRoot") is True,
       "container: no privilege escalation, read-only root filesystem, drops ALL capabilities")
res = c.get("resources", {})
expect(all(k in res.get(kind, {}) for kind in ("requests", "limits") for k in ("cpu", "memory")),
       "container: cpu and memory requests and limits")
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
expect(ports == {"metrics": 8080, "probes": 8081}, f"container ports metrics 8080, probes 8081 ({ports})")
live = c.get("livenessProbe", {}).get("httpGet", {})
ready = c.get("readinessProbe", {}).get("httpGet", {})
expect(live.get("path") == "/healthz" and live.get("port") in ("probes", 8081),
       "liveness probe GET /healthz on 8081")
expect(ready.get("path") in ("/healthz", "/readyz") and ready.get("port") in ("probes", 8081),
       f"readiness probe GET {ready.get('path')} on 8081")
svc = by[("Service", "va-operator-metrics")]["spec"]
expect([(p.get("name"), p.get("port")) for p in svc["ports"]] == [("metrics", 8080)],
       "metrics Service: port 8080 named metrics")
expect(svc["selector"].items() <= spec["template"]["metadata"]["labels"].items()
       and spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(),
       "metrics Service and Deployment select the operator's pods")
npol = by[("NetworkPolicy", "va-operator")]["spec"]
expect(npol["podSelector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
       and sorted(npol["policyTypes"]) == ["Egress", "Ingress"],
       "NetworkPolicy selects the operator's pods, ingress and egress")
sys.exit(1 if problems else 0)
EOF

echo "== 3. RBAC"
as_list "$work/namespaced.yaml" >"$work/namespaced.json"
python3 - "$work/default.json" "$work/namespaced.json" <<'EOF' || failures=$((failures + 1))
import json, sys
problems = []
def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond: problems.append(what)
renders = {name: json.load(open(path))["items"] for name, path in
           zip(("config/default", "config/namespaced"), sys.argv[1:])}
for render, items in renders.items():
    roles = [o for o in items if o["kind"] in ("ClusterRole", "Role")]
    for role in roles:
        where = f'{render}: {role["kind"]} {role["metadata"]["name"]}'
        rules = role.get("rules", [])
        wild = [r for r in rules if any("*" in v for f in ("apiGroups", "resources", "verbs",
                                                           "resourceNames", "nonResourceURLs")
                                        for v in r.get(f, []))]
        expect(not wild, f"{where}: no wildcard ({len(rules)} rules)")
        risky = sorted({v for r in rules for v in r.get("verbs", [])} & {"escalate", "bind", "impersonate"})
        expect(not risky, f"{where}: no escalate, bind or impersonate {risky or ''}")
        secrets = sorted({v for r in rules if "" in r.get("apiGroups", [])
                          and "secrets" in r.get("resources", []) for v in r["verbs"]})
        expect(set(secrets) <= {"get", "list", "watch"},
               f"{where}: Secrets read-only {secrets}")
        expect(not any(r.get("nonResourceURLs") for r in rules), f"{where}: no nonResourceURLs")
d = {(o["kind"], o["metadata"]["name"]): o for o in renders["config/default"]}
n = {(o["kind"], o["metadata"]["name"]): o for o in renders["config/namespaced"]}
cluster = d[("ClusterRole", "va-operator-manager")]
binding = d[("ClusterRoleBinding", "va-operator-manager")]
expect(binding["roleRef"]["name"] == "va-operator-manager"
       and binding["subjects"] == [{"kind": "ServiceAccount", "name": "va-operator", "namespace": "va-system"}],
       "config/default: ClusterRoleBinding va-operator-manager binds the ClusterRole to va-system/va-operator")
lease = d[("Role", "va-operator-leader-election")]
expect(lease["rules"] == [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
     "resourceNames": ["va-operator-lock"], "verbs": ["get", "update"]}],
    "leader election Role: create leases, get/update va-operator-lock only")
expect(("ClusterRole", "va-operator-manager") not in n and ("ClusterRoleBinding", "va-operator-manager") not in n,
       "config/namespaced: no manager ClusterRole or ClusterRoleBinding")
role = n.get(("Role", "va-operator-manager"), {})
rb = n.get(("RoleBinding", "va-operator-manager"), {})
expect(role.get("rules") == cluster["rules"], "config/namespaced: the Role has exactly the ClusterRole's rules")
watched = role.get("metadata", {}).get("namespace")
env = {e["name"]: e.get("value") for e in
       n[("Deployment", "va-operator")]["spec"]["template"]["spec"]["containers"][0].get("env", [])}
expect(watched not in (None, "va-system") and rb.get("metadata", {}).get("namespace") == watched
       and env.get("WATCH_NAMESPACE") == watched,
       f"config/namespaced: Role, RoleBinding and WATCH_NAMESPACE name the same namespace ({watched})")
expect(rb.get("roleRef") == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "va-operator-manager"}
       and rb.get("subjects") == binding["subjects"],
       "config/namespaced: RoleBinding binds the Role to va-system/va-operator")
sys.exit(1 if problems else 0)
EOF

echo "== 4. server-side dry run"
# The rendered objects go to throw-away namespaces: the dry run of a namespaced object needs its
# namespace to exist, and va-system (or the watched namespace) belongs to a real install.
for n in "$ns" "$wns"; do
  k create namespace "$n" >/dev/null
  created_ns+=("$n")
  k label namespace "$n" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/warn=restricted >/dev/null
done
watched=$(jp "$work/namespaced.yaml" '{.kind}/{.metadata.name} {.metadata.namespace}{"\n"}' |
  awk '$1 == "Role/va-operator-manager" {print $2}')
relocate() {
  sed -E -e "s/^(  (namespace|name): )va-system$/\1$ns/" \
    -e "s/^(  namespace: )$watched$/\1$wns/" -e "s/^( +value: )$watched$/\1$wns/" "$1"
}
dry_run() { # dry_run NAME FILE
  local name=$1 file=$2 out
  if out=$(k apply --dry-run=server -f "$file" 2>&1); then
    if grep -q 'would violate PodSecurity' <<<"$out"; then
      bad "$name: Pod Security warnings: $(grep 'would violate' <<<"$out")"
    else
      ok "$name: kubectl apply --dry-run=server accepts $(grep -c 'server dry run' <<<"$out") objects"
    fi
  else
    bad "$name: kubectl apply --dry-run=server failed:"
    sed 's/^/    /' <<<"$out" | grep -v 'last-applied-configuration' | head -20
  fi
}
for dir in default namespaced grafana; do
  relocate "$work/$dir.yaml" >"$work/$dir.dry.yaml"
  if grep -v '^ *description:' "$work/$dir.dry.yaml" | grep -qw "va-system"; then
    bad "config/$dir: va-system left after relocating to $ns"
  fi
  dry_run "config/$dir" "$work/$dir.dry.yaml"
done
for kind in ServiceMonitor PrometheusRule; do
  resource=$(tr '[:upper:]' '[:lower:]' <<<"$kind")s.monitoring.coreos.com
  doc "$work/prometheus.yaml" "$kind" | relocate /dev/stdin >"$work/$kind.yaml"
  if k get crd "$resource" >/dev/null 2>&1; then
    dry_run "config/prometheus $kind" "$work/$kind.yaml"
  else
    ok "config/prometheus $kind: rendered only (CRD $resource not installed, no dry run)"
  fi
done
if command -v promtool >/dev/null; then
  jp "$work/PrometheusRule.yaml" '{.spec}' >"$work/rules.json"
  if out=$(promtool check rules "$work/rules.json" 2>&1); then
    ok "promtool check rules: $(grep -o 'SUCCESS: [0-9]* rules found' <<<"$out")"
  else
    bad "promtool check rules: $out"
  fi
else
  bad "promtool not installed (hack/install-deps.sh installs Debian's prometheus package)"
fi

echo "== 5. metric names against a real scrape"
log="$work/operator.log"
: >"$log"
op_start "$log" --namespace="$ns" --leader-elect --leader-election-namespace="$ns" \
  --leader-election-id=cfg-config-test
# rest_client_* series exist once requests were made (the informers' lists), the per-VA
# condition gauges once a VA was reconciled.
k get crd virtualassistants.virtualassistant.dev >/dev/null 2>&1 || install_crd
k apply -n "$ns" -f "$VA_SOURCE_DIR/examples/minimal.yaml" >/dev/null
scraped() {
  op_metrics >"$work/metrics.txt" &&
    grep -q '^rest_client_request_duration_seconds_bucket' "$work/metrics.txt" &&
    grep -q '^va_operator_virtualassistant_condition{.*type="Ready"' "$work/metrics.txt"
}
for _ in $(seq 1 150); do
  scraped && break
  sleep 0.2
done
scraped || bad "no va_operator_virtualassistant_condition series 30 s after applying a VA"
op_stop
k delete -n "$ns" virtualassistant minimal --wait=false >/dev/null
jp "$work/PrometheusRule.yaml" '{range .spec.groups[*].rules[*]}{.expr}{"\n---\n"}{end}' >"$work/exprs.txt"
python3 "$here/metric_names.py" --scrape "va-operator=$work/metrics.txt" --exprs "$work/exprs.txt" \
  --dashboard "$config/grafana/va-operator.json" || failures=$((failures + 1))
# The components dashboard: the service library's metrics (every component), the language
# center's own, and the operator's per-VA condition, from real scrapes of both binaries.
lc_log="$work/language-center.log"
lc_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
VA_LISTEN_ADDR=127.0.0.1 VA_PORT=$lc_port "$VA_LANGUAGE_CENTER" >"$lc_log" 2>&1 &
lc_pid=$!
lc_up=
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$lc_port/readyz" >/dev/null 2>&1; then lc_up=1; break; fi
  sleep 0.1
done
if [ -n "$lc_up" ]; then
  # One request of each kind, so that the request series exist with their labels.
  curl -fsS -X POST "http://127.0.0.1:$lc_port/v1/understand" -d '{"text": "hello"}' >/dev/null
  curl -sS -X POST "http://127.0.0.1:$lc_port/v1/understand" -d '{' >/dev/null
  curl -fsS "http://127.0.0.1:$lc_port/metrics" >"$work/language-center-metrics.txt"
  python3 "$here/metric_names.py" --scrape "va-operator=$work/metrics.txt" \
    --scrape "va-language-center=$work/language-center-metrics.txt" \
    --dashboard "$config/grafana/va-components.json" || failures=$((failures + 1))
else
  bad "va-language-center not ready on 127.0.0.1:$lc_port within 10 s: $(tail -3 "$lc_log")"
fi
kill -TERM "$lc_pid" 2>/dev/null || true
wait "$lc_pid" 2>/dev/null || true

echo "== 6. Argo CD Application"
app="$config/argocd/application.yaml"
appjson=$(k label --local -f "$app" va-config-test=1 -o json)
check "config/argocd/application.yaml: argoproj.io/v1alpha1 Application syncing path config/default into va-system" \
  python3 -c '
import json, sys
a = json.loads(sys.argv[1])
assert a["apiVersion"] == "argoproj.io/v1alpha1" and a["kind"] == "Application", "kind"
s = a["spec"]
assert s["source"]["path"] == "config/default", "path"
assert s["source"]["repoURL"] and s["source"]["targetRevision"], "repo"
assert s["destination"]["namespace"] == "va-system", "destination"
' "$appjson"

echo
if [ "$failures" -gt 0 ]; then
  echo "config_test: $failures check(s) failed"
  exit 1
fi
echo "config_test: all checks passed"
