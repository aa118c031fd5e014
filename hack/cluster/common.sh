# Paths, ports and process helpers shared by up.sh and down.sh. Source it after lib.sh.
# shellcheck shell=bash

STATE_DIR="$VA_ROOT/_output/cluster"
PKI_DIR="$STATE_DIR/pki"
LOG_DIR="$STATE_DIR/logs"
PID_DIR="$STATE_DIR/pids"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"

# Every listener is on 127.0.0.1; VA_PORT_BASE moves them all together. With a real node
# (VA_NODE=real) the API server listens on the node's own address instead (hack/node/common.sh),
# which up.sh records in $STATE_DIR/api-host for the other scripts.
# A cluster with a real node defaults to 6400 (kube-apiserver on 6443, the port NetworkPolicies
# usually allow for it); up.sh records the base in $STATE_DIR/port-base for the other scripts.
PORT_BASE="${VA_PORT_BASE:-$(cat "$STATE_DIR/port-base" 2>/dev/null || echo 16400)}"
API_HOST=$(cat "$STATE_DIR/api-host" 2>/dev/null || echo 127.0.0.1)
APISERVER_PORT=$((PORT_BASE + 43))
ETCD_PORT=$((PORT_BASE + 79))
ETCD_PEER_PORT=$((PORT_BASE + 80))
KCM_PORT=$((PORT_BASE + 57))
SCHEDULER_PORT=$((PORT_BASE + 59))
KWOK_PORT=$((PORT_BASE + 47))

# The start order; down.sh stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_component NAME BINARY ARGS... : starts a component detached, logging to $LOG_DIR/NAME.log.
start_component() {
  local name="$1" bin="$2"; shift 2
  [ -x "$bin" ] || die "$name: binary $bin is missing (run hack/cluster/build.sh)"
  setsid "$bin" "$@" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$name.pid"
  log "$name started (pid $!, log: $LOG_DIR/$name.log)"
}

# True while PID runs. An exited child that init has not reaped yet (a zombie) counts as gone.
pid_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

component_alive() { local f="$PID_DIR/$1.pid"; [ -f "$f" ] && pid_running "$(cat "$f")"; }

# Fails loudly, naming the component and its log, if any started component has exited.
check_components_alive() {
  local f name
  for f in "$PID_DIR"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    if ! component_alive "$name"; then
      echo "---- last lines of $LOG_DIR/$name.log ----" >&2
      tail -n 20 "$LOG_DIR/$name.log" >&2 || true
      die "$name exited during start-up; full log: $LOG_DIR/$name.log"
    fi
  done
}

# wait_for WHAT TIMEOUT_SECONDS COMMAND... : polls COMMAND until it succeeds.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    check_components_alive
    [ $SECONDS -lt $deadline ] || die "$what not ready after ${timeout} s; logs in $LOG_DIR"
    sleep 0.5
  done
  log "$what ready"
}

cluster_healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do component_alive "$c" || return 1; done
  [ -f "$KUBECONFIG_PATH" ] && curl -fsS --max-time 5 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" \
    --key "$PKI_DIR/admin.key" "https://$API_HOST:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

# sign_cert DIR NAME SUBJECT EXTENSIONS: a key and a certificate DIR/NAME.{key,crt} signed by the
# cluster's CA ($PKI_DIR/ca.*), readable by the owner only.
sign_cert() {
  (
    cd "$1"
    umask 077
    openssl req -newkey rsa:2048 -nodes -subj "$3" -keyout "$2.key" -out "$2.csr" 2>/dev/null
    printf '%s\n' "$4" >"$2.ext"
    openssl x509 -req -in "$2.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" -CAcreateserial \
      -days 7 -extfile "$2.ext" -out "$2.crt" 2>/dev/null
    rm -f "$2.csr" "$2.ext"
  )
}

# write_kubeconfig FILE USER [DIR]: a kubeconfig for the API server with the client certificate
# DIR/USER.{crt,key} (DIR defaults to $PKI_DIR).
write_kubeconfig() {
  local b64="base64 -w0" dir="${3:-$PKI_DIR}"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: va-local
  cluster:
    server: https://${API_HOST}:${APISERVER_PORT}
    certificate-authority-data: $($b64 <"$PKI_DIR/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 <"$dir/$2.crt")
    client-key-data: $($b64 <"$dir/$2.key")
contexts:
- name: va-local
  context:
    cluster: va-local
    user: $2
    namespace: default
current-context: va-local
EOF
  chmod 600 "$1"
}
