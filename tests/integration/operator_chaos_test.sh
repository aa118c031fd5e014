#!/usr/bin/env bash
# Chaos: va-operator is killed with SIGKILL at random every 10-30 s (and restarted at once) for
# CHAOS_SECONDS (default 300) while a churn loop creates up to 50 VirtualAssistants, changes them
# (inputProcessor replicas 1<->2, image tag, autoscaling on/off) and deletes and recreates them
# under the same names. After the churn stops the operator is killed and restarted once more;
# within 60 s of that last restart every VA must have status.observedGeneration ==
# metadata.generation and Ready True. Then: 0 orphans (every child has a controller reference to
# a live VA; the garbage collector gets 30 s for deleted VAs' children) and, for every VA, exactly
# the children `va-operator render` prints for it (none missing, none extra, none with a stale
# intent hash), with a Deployment for each of the 8 components.
#   CHAOS_SECONDS=60 CHAOS_SEED=42 bash tests/integration/operator_chaos_test.sh
# CHAOS_VAS changes the 50; CHAOS_KEEP_LOGS=1 keeps the operator and churn logs of a passing run.
set -euo pipefail
export LC_ALL=C # sort and join agree on the order
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/operator_lib.sh"

chaos_seconds=${CHAOS_SECONDS:-300}
max_live=${CHAOS_VAS:-50}
seed=${CHAOS_SEED:-$$}
converge_limit=60
gc_limit=30
components=8
ns="chaos-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/va-operator-chaos.XXXXXX")
log="$work/operator.log"
stop_file="$work/stop"
counts_file="$work/churn.counts"
churn_pid=
RANDOM=$seed
# A private copy: a rebuild during the run must not swap (or remove) the binary between restarts.
[ -x "$VA_OPERATOR" ] || fail "va-operator not built at $VA_OPERATOR"
cp "$VA_OPERATOR" "$work/va-operator"
VA_OPERATOR="$work/va-operator"
flags=(--namespace="$ns" --kube-api-qps=100 --kube-api-burst=200)
child_kinds=serviceaccounts,configmaps,services,deployments,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,ingresses,cronjobs

say() { printf '[chaos %s +%3ds] %s\n' "$(date +%H:%M:%S)" "$SECONDS" "$*"; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

cleanup() {
  local rc=$?
  if [ -n "$churn_pid" ]; then
    kill "$churn_pid" 2>/dev/null || true
    wait "$churn_pid" 2>/dev/null || true
  fi
  op_stop
  # Wait (bounded) for the garbage collector, so that the next test starts on a quiet cluster.
  "$kubectl" delete namespace "$ns" --ignore-not-found --timeout=300s >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    echo "--- operator log (last 40 lines; all of it, the churn log and the seed $seed are in $work) ---" >&2
    tail -40 "$log" >&2 || true
  elif [ -z "${CHAOS_KEEP_LOGS:-}" ]; then
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# True while the current operator process runs (a process that died on its own is a zombie
# until waited for, which kill -0 does not tell apart).
op_alive() {
  local state
  state=$(awk '{print $3}' "/proc/$OP_PID/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# 50 VAs run up to ~500 pods (8 components, 2 replicas or an HPA for one, surge in rollouts);
# kwok runs them, but the scheduler needs the nodes' room (hack/cluster/up.sh gives 20k a node).
check_room() {
  local need=$((max_live * 10)) room
  room=$("$kubectl" get nodes -o jsonpath='{range .items[*]}{.status.allocatable.pods}{"\n"}{end}' |
    awk '{v = $1; m = 1; if (sub(/k$/, "", v)) m = 1000; s += v * m} END {printf "%d\n", s}')
  [ "$room" -ge "$need" ] ||
    fail "the nodes have room for $room pods, $max_live VAs need ~$need: bring the cluster up with the current hack/cluster/up.sh"
}

# ---- churn (runs in a background subshell; its own state, counters written to a file) ----

churn() {
  RANDOM=$((seed + 1))
  local -A live=() used=() replicas=() tag=()
  local created=0 recreated=0 changed=0 deleted=0 errors=0
  local names=() i name r op patch
  for i in $(seq -w 1 "$max_live"); do names+=("va-$i"); done

  # run WHAT COMMAND...: logs the call to churn.log, counts a failure; returns its status.
  run() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then
      echo "$(date +%T.%3N) $what" >>"$work/churn.log"
      return 0
    fi
    errors=$((errors + 1))
    echo "$(date +%T.%3N) $what FAILED: $out" | tee -a "$work/churn.errors" >>"$work/churn.log"
    return 1
  }
  create() {
    local name=$1 ip
    replicas[$name]=$((1 + RANDOM % 2))
    [ $((RANDOM % 4)) = 0 ] && replicas[$name]=auto
    tag[$name]=0.$((1 + RANDOM % 3)).0
    if [ "${replicas[$name]}" = auto ]; then
      ip='{autoscaling: {enabled: true, minReplicas: 1, maxReplicas: 3}}'
    else
      ip="{replicas: ${replicas[$name]}}"
    fi
    run "create $name (inputProcessor $ip, tag ${tag[$name]})" "$kubectl" -n "$ns" create -f - <<YAML || return 0
apiVersion: virtualassistant.dev/v1alpha1
kind: VirtualAssistant
metadata: {name: $name}
spec:
  image: {tag: "${tag[$name]}"}
  components: {inputProcessor: $ip}
YAML
    live[$name]=1
    created=$((created + 1))
    [ -n "${used[$name]:-}" ] && recreated=$((recreated + 1))
    used[$name]=1
  }
  change() {
    local name=$1 what=$((RANDOM % 3)) value
    case $what in
      0) # replicas 1 <-> 2 (an autoscaled component gets a fixed count again)
        if [ "${replicas[$name]}" = 1 ]; then value=2; else value=1; fi
        patch="{\"spec\":{\"components\":{\"inputProcessor\":{\"replicas\":$value,\"autoscaling\":null}}}}"
        ;;
      1) # another image tag
        value=0.$((1 + RANDOM % 3)).0
        [ "$value" = "${tag[$name]}" ] && value=0.9.0
        patch="{\"spec\":{\"image\":{\"tag\":\"$value\"}}}"
        ;;
      2) # autoscaling on (replicas must be unset) or off
        if [ "${replicas[$name]}" = auto ]; then
          value=1
          patch='{"spec":{"components":{"inputProcessor":{"autoscaling":null}}}}'
        else
          value=auto
          patch='{"spec":{"components":{"inputProcessor":{"replicas":null,"autoscaling":{"enabled":true,"minReplicas":1,"maxReplicas":3}}}}}'
        fi
        ;;
    esac
    run "patch $name $patch" "$kubectl" -n "$ns" patch va "$name" --type=merge -p "$patch" || return 0
    if [ "$what" = 1 ]; then tag[$name]=$value; else replicas[$name]=$value; fi
    changed=$((changed + 1))
  }
  remove() {
    run "delete $1" "$kubectl" -n "$ns" delete va "$1" --timeout=60s || return 0
    unset "live[$1]"
    deleted=$((deleted + 1))
  }

  while [ ! -e "$stop_file" ]; do
    local idle=() alive=("${!live[@]}")
    for name in "${names[@]}"; do [ -n "${live[$name]:-}" ] || idle+=("$name"); done
    r=$((RANDOM % 10))
    # Fill up to 40 first; then 30% creates (while below the maximum), 50% changes, 20% deletes.
    if [ ${#idle[@]} -gt 0 ] && { [ ${#alive[@]} -lt $((max_live * 4 / 5)) ] || [ $r -lt 3 ]; }; then
      op=create
    elif [ ${#alive[@]} -gt 0 ] && [ $r -lt 8 ]; then
      op=change
    elif [ ${#alive[@]} -gt 0 ]; then
      op=delete
    else
      op=create
    fi
    case $op in
      create) create "${idle[RANDOM % ${#idle[@]}]}" ;;
      change) change "${alive[RANDOM % ${#alive[@]}]}" ;;
      delete) remove "${alive[RANDOM % ${#alive[@]}]}" ;;
    esac
    echo "$created $recreated $changed $deleted $errors" >"$counts_file"
    # A short random pause so that operations land at every point of the operator's life.
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
  done
}

# ---- set-up ----

install_crd
check_room
"$kubectl" create namespace "$ns" >/dev/null
say "namespace $ns, seed $seed, ${chaos_seconds} s of churn with up to $max_live VAs; operator log $log"

op_start "$log" "${flags[@]}"
churn &
churn_pid=$!

# ---- killer: SIGKILL after a random 10-30 s, restart at once ----

kills=0
end=$((SECONDS + chaos_seconds))
while [ "$SECONDS" -lt "$end" ]; do
  deadline=$((SECONDS + 10 + RANDOM % 21))
  while [ "$SECONDS" -lt "$deadline" ] && [ "$SECONDS" -lt "$end" ]; do
    op_alive || { tail -20 "$log" >&2; fail "va-operator (pid $OP_PID) exited on its own (not killed by the test)"; }
    sleep 0.5
  done
  [ "$SECONDS" -lt "$end" ] || break
  op_kill
  kills=$((kills + 1))
  op_start "$log" "${flags[@]}"
  say "kill $kills: restarted (pid $OP_PID); churn so far (created recreated changed deleted errors): $(cat "$counts_file" 2>/dev/null)"
done

touch "$stop_file"
wait "$churn_pid" || fail "the churn loop failed"
churn_pid=
read -r created recreated changed deleted errors <"$counts_file"
if [ "$errors" != 0 ]; then
  cat "$work/churn.errors" >&2
  fail "$errors kubectl calls of the churn loop failed (the test did not do what it counts)"
fi

# The last restart comes after the last change, so that "converged within 60 s of the last
# restart" covers every change.
op_alive || fail "va-operator (pid $OP_PID) exited on its own (not killed by the test)"
op_kill
kills=$((kills + 1))
restart_ms=$(now_ms)
op_start "$log" "${flags[@]}"
ready_ms=$(($(now_ms) - restart_ms))
last_run_line=$(grep -n '"msg":"operator running"' "$log" | tail -1 | cut -d: -f1)
say "churn stopped; kill $kills and last restart (pid $OP_PID); waiting up to ${converge_limit} s for convergence"

# ---- convergence: observedGeneration == generation and Ready True, for every VA ----

va_rows() {
  "$kubectl" -n "$ns" get va -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.generation}{" "}{.status.observedGeneration}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
}
converge_ms=
while :; do
  rows=$(va_rows)
  lagging=$(awk '$2 != $3 || $4 != "True"' <<<"$rows")
  total=$(grep -c . <<<"$rows" || true)
  if [ -z "$lagging" ]; then
    converge_ms=$(($(now_ms) - restart_ms))
    break
  fi
  if [ $(($(now_ms) - restart_ms)) -gt $((converge_limit * 1000)) ]; then
    echo "VAs not converged (name generation observedGeneration Ready):" >&2
    echo "$lagging" >&2
    for name in $(awk '{print $1}' <<<"$lagging" | head -3); do
      "$kubectl" -n "$ns" get va "$name" -o jsonpath='{.metadata.name}: {range .status.conditions[*]}{.type}={.status} ({.reason}: {.message}); {end}{"\n"}' >&2
      "$kubectl" -n "$ns" get deployments -l "app.kubernetes.io/instance=$name" -o custom-columns='DEPLOYMENT:.metadata.name,GEN:.metadata.generation,OBSERVED:.status.observedGeneration,SPEC:.spec.replicas,REPLICAS:.status.replicas,UPDATED:.status.updatedReplicas,AVAILABLE:.status.availableReplicas' >&2
    done
    fail "$(grep -c . <<<"$lagging") of $total VAs did not converge within ${converge_limit} s of the last restart"
  fi
  sleep 1
done
converge_s=$(awk -v ms="$converge_ms" 'BEGIN {printf "%.1f", ms / 1000}')
say "all $total VAs converged ${converge_s} s after the last restart"
# Where the time went: the last process' last child write (the rest is rollouts by
# kube-controller-manager, the scheduler and kwok).
last_write=$(tail -n +"$last_run_line" "$log" | grep '"msg":"Reconciled"' |
  grep -v '"created":0,"updated":0,"pruned":0' | tail -1 | sed -E 's/.*"ts":"([^"]+)".*/\1/' || true)
if [ -n "$last_write" ]; then
  last_write=$(awk -v ms=$(($(date -d "$last_write" +%s%3N) - restart_ms)) 'BEGIN {printf "%.1f s", ms / 1000}')
else
  last_write="none"
fi
[ "$total" -gt 0 ] || fail "no VA left at the end of the churn"

# ---- orphans: every child's controller is a live VA ----

# Every object of a child kind that carries our label or a VirtualAssistant owner reference:
# kind/name, instance label, controller uid, intent hash.
child_rows() {
  "$kubectl" -n "$ns" get "$child_kinds" -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}{"\t"}{.metadata.labels.app\.kubernetes\.io/managed-by}{"\t"}{.metadata.ownerReferences[?(@.kind=="VirtualAssistant")].uid}{"\t"}{.metadata.labels.app\.kubernetes\.io/instance}{"\t"}{.metadata.ownerReferences[?(@.controller==true)].uid}{"\t"}{.metadata.annotations.virtualassistant\.dev/intent-hash}{"\n"}{end}' |
    awk -F'\t' '$2 == "va-operator" || $3 != "" {print $1 "\t" $4 "\t" $5 "\t" $6}'
}
live_uids() { "$kubectl" -n "$ns" get va -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}'; }
orphan_rows() {
  awk -F'\t' 'NR == FNR {live[$1] = 1; next} !($3 in live)' <(live_uids) <(child_rows)
}
gc_start=$SECONDS
while orphans=$(orphan_rows) && [ -n "$orphans" ] && [ $((SECONDS - gc_start)) -lt "$gc_limit" ]; do
  sleep 1
done
orphan_count=$(grep -c . <<<"$orphans" || true)

# ---- children of each VA: exactly what `va-operator render` prints for it, up to date ----

rows=$(child_rows)
missing=0 extra=0 stale=0 bad_deployments=0 expected_total=0
report=
while read -r name uid; do
  "$kubectl" -n "$ns" get va "$name" -o yaml >"$work/va.yaml"
  # kind/name <TAB> intent hash of every document (keys are sorted: kind before metadata).
  "$VA_OPERATOR" render -f "$work/va.yaml" | awk '
    function flush() { if (kind != "" && name != "") print kind "/" name "\t" hash; kind = name = hash = ""; meta = 0 }
    /^---/ { flush(); next }
    /^kind: / { kind = $2 }
    /^[^ ]/ { meta = ($0 ~ /^metadata:/) }
    meta && /^  name: / { name = $2 }
    meta && /intent-hash:/ { hash = $2; gsub(/"/, "", hash) }
    END { flush() }' | sort >"$work/want"
  awk -F'\t' -v uid="$uid" '$3 == uid {print $1 "\t" $4}' <<<"$rows" | sort >"$work/have"
  want_n=$(grep -c . "$work/want" || true)
  [ "$want_n" -gt 0 ] || fail "va-operator render printed no children for $name"
  expected_total=$((expected_total + want_n))
  m=$(join -t $'\t' -v 1 <(cut -f1 "$work/want") <(cut -f1 "$work/have") | grep -c . || true)
  x=$(join -t $'\t' -v 2 <(cut -f1 "$work/want") <(cut -f1 "$work/have") | grep -c . || true)
  s=$(join -t $'\t' "$work/want" "$work/have" | awk -F'\t' '$2 != $3' | grep -c . || true)
  d=$(grep -c '^Deployment/' "$work/have" || true)
  missing=$((missing + m)) extra=$((extra + x)) stale=$((stale + s))
  [ "$d" = "$components" ] || bad_deployments=$((bad_deployments + 1))
  if [ "$m" != 0 ] || [ "$x" != 0 ] || [ "$s" != 0 ] || [ "$d" != "$components" ]; then
    report+="$name: render $want_n children, cluster $(grep -c . "$work/have" || true) ($m missing, $x extra, $s stale, $d Deployments)"$'\n'
    report+=$( (diff "$work/want" "$work/have" || true) | grep '^[<>]' | head -6 | sed 's/^/    /' || true)$'\n'
  fi
done < <("$kubectl" -n "$ns" get va -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.uid}{"\n"}{end}')

echo "chaos figures:"
echo "  operator kills (SIGKILL, restarted at once): $kills in ${chaos_seconds} s of churn"
echo "  VAs created $created (of them recreated under a used name $recreated), changed $changed, deleted $deleted; $total live at the end"
echo "  converged (observedGeneration == generation, Ready) ${converge_s} s after the last restart (limit ${converge_limit} s);"
echo "    of that: operator ready (caches synced) after $(awk -v ms="$ready_ms" 'BEGIN {printf "%.1f", ms / 1000}') s, its last child write at ${last_write}"
echo "  orphaned children: $orphan_count (after up to ${gc_limit} s for the garbage collector)"
echo "  children: expected $expected_total (render), missing $missing, extra (duplicates or not pruned) $extra, stale intent $stale; VAs without $components Deployments: $bad_deployments"
echo "  operator: $(grep -c '"msg":"Reconciler error"' "$log" || true) reconcile errors logged over all runs"

problems=()
if [ "$orphan_count" != 0 ]; then
  echo "orphans (kind/name, instance, controller uid):" >&2
  head -20 <<<"$orphans" | cut -f1-3 >&2
  problems+=("$orphan_count children have no live VirtualAssistant as controller ${gc_limit} s after the churn")
fi
if [ -n "$report" ]; then
  echo "VAs whose children differ from va-operator render (< expected, > found: kind/name, intent hash):" >&2
  head -40 <<<"$report" >&2
  problems+=("children differ from va-operator render: $missing missing, $extra extra, $stale stale, $bad_deployments VAs without $components Deployments")
fi
[ ${#problems[@]} = 0 ] || fail "$(printf '%s; ' "${problems[@]}")"
echo "PASS"
