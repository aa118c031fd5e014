#!/usr/bin/env bash
# The operator's container image, run for real: tests/images/operator_image_test.sh IMAGE
#   1. the image: user 65532:65532, entrypoint /usr/local/bin/va-operator, OCI labels
#      (title, version = the project's, revision), no shell (/bin/sh cannot be started);
#   2. a container with --read-only, --user 65532:65532, --cap-drop ALL and no-new-privileges,
#      on the host network against the local control plane: `--version` prints the project's
#      version and `render` puts va.local/<component>:<version> (what `make images` builds) in
#      every pod of examples/minimal.yaml; then the operator answers /healthz and /readyz, and reconciles
#      examples/minimal.yaml in a namespace of its own to Ready (kwok runs the pods);
#   3. `docker stop --time 30` (SIGTERM): it exits with code 0 well within the grace period,
#      after logging its shutdown.
# Needs docker, the image (make docker-build) and the local control plane: $KUBECONFIG, else the
# local one is brought up (hack/cluster/fixture.sh) and stopped again afterwards.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VA_SOURCE_DIR="${VA_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
source "$VA_SOURCE_DIR/hack/lib.sh"
image=${1:?usage: $0 IMAGE}
version=$(sed -n 's/^project(va_operator VERSION \([0-9.]*\).*/\1/p' "$VA_SOURCE_DIR/CMakeLists.txt")

fixture_started=
if [ -z "${KUBECONFIG:-}" ]; then
  bash "$VA_SOURCE_DIR/hack/cluster/fixture.sh" up
  fixture_started=1
  export KUBECONFIG="$VA_SOURCE_DIR/_output/cluster/kubeconfig"
fi
source "$VA_SOURCE_DIR/tests/integration/operator_lib.sh"
source "$here/image_lib.sh"

name="va-operator-image-test-$$"
ns="imgtest-$$"
work=$(mktemp -d /tmp/va-image-test.XXXXXX)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ -n "$fixture_started" ]; then bash "$VA_SOURCE_DIR/hack/cluster/fixture.sh" down; fi
}
trap cleanup EXIT
step() { echo "== $*"; }
# operator_lib's fail(), with the container's last log lines.
fail() {
  echo "FAIL: $*" >&2
  docker logs "$name" 2>&1 | tail -20 >&2 || true
  exit 1
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

step "1. image $image"
check_image "$image" va-operator /usr/local/bin/va-operator

step "2. --version, then the operator against the local control plane (${hardening[*]})"
out=$(docker run --rm "${hardening[@]}" "$image" --version)
grep -q "$version" <<<"$out" || fail "--version printed '$out', want $version"
# The images the operator puts in a VA's pods are the ones `make images` builds.
images=$(docker run --rm "${hardening[@]}" -v "$VA_SOURCE_DIR/examples:/examples:ro" "$image" \
  render -f /examples/minimal.yaml | sed -n 's/^ *image: *//p' | sort -u)
[ "$(wc -l <<<"$images")" -ge 8 ] || fail "render printed $(wc -l <<<"$images") images, want the 8 components'"
while read -r ref; do
  [[ "$ref" =~ ^va\.local/[a-z-]+:${version//./\\.}$ ]] || fail "render uses image $ref, not va.local/<component>:$version"
done <<<"$images"
echo "   --version $version; render uses va.local/<component>:$version for all $(wc -l <<<"$images") images"
# The container user reads a copy of the kubeconfig (certificates embedded) and nothing else.
cp "$KUBECONFIG" "$work/kubeconfig"
chown 65532:65532 "$work/kubeconfig"
chmod 600 "$work/kubeconfig"
"$kubectl" get crd virtualassistants.virtualassistant.dev >/dev/null 2>&1 || install_crd
"$kubectl" create namespace "$ns" >/dev/null
metrics_port=$(free_port) probe_port=$(free_port)
docker run -d --name "$name" "${hardening[@]}" --network host \
  -v "$work/kubeconfig:/etc/va/kubeconfig:ro" "$image" \
  --kubeconfig=/etc/va/kubeconfig --namespace="$ns" \
  --metrics-bind-address="127.0.0.1:$metrics_port" \
  --health-probe-bind-address="127.0.0.1:$probe_port" >/dev/null
ready=
for _ in $(seq 1 300); do
  [ "$(docker inspect --format '{{.State.Running}}' "$name")" = true ] ||
    { docker logs "$name" 2>&1 | tail -20; fail "the container exited during start-up"; }
  if curl -fsS "http://127.0.0.1:$probe_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { docker logs "$name" 2>&1 | tail -20; fail "/readyz not 200 within 30 s"; }
curl -fsS "http://127.0.0.1:$probe_port/healthz" >/dev/null || fail "/healthz not 200"
grep -q '^controller_runtime_reconcile_total' <<<"$(curl -fsS "http://127.0.0.1:$metrics_port/metrics")" ||
  fail "/metrics has no controller_runtime_reconcile_total"
"$kubectl" apply -n "$ns" -f "$VA_SOURCE_DIR/examples/minimal.yaml" >/dev/null
start=$SECONDS
"$kubectl" wait -n "$ns" va/minimal --for=condition=Ready --timeout=60s >/dev/null ||
  { docker logs "$name" 2>&1 | tail -20; fail "va/minimal not Ready within 60 s"; }
children=$("$kubectl" get deploy,svc,cm,sa,netpol,pdb -n "$ns" -l app.kubernetes.io/managed-by=va-operator --no-headers | wc -l)
echo "   /healthz, /readyz and /metrics answer; va/minimal Ready after $((SECONDS - start)) s ($children children)"

step "3. SIGTERM (docker stop --time 30)"
stop_container "$name" '"msg":"shutting down"'
echo "operator image test: 1 passed, 0 failed"
