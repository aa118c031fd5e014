#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages. Idempotent and quiet when
# everything is already present: it only calls apt-get when a package is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  # toolchain
  g++ make cmake ninja-build pkg-config git curl ca-certificates openssl procps iproute2
  clang-format clang-tidy
  # the design card's libraries
  libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev
  libspdlog-dev prometheus-cpp-dev libgtest-dev libgmock-dev
  # stores used by the workloads and their tests
  libhiredis-dev libpq-dev libpqxx-dev redis-server postgresql
  # runs the Argo CD health check's tests (tests/argocd)
  lua5.4
  # the conversation test (tests/integration/conversation_test.py) and the workload benchmark
  python3 python3-yaml wrk
  # makes the base images of the Dockerfile locally (hack/images/bases.sh)
  debootstrap
  # promtool checks the alerting rules in config/prometheus (tests/integration/config_test.sh)
  prometheus
)
# `install-deps.sh node`: what a real node needs besides (hack/node/up.sh); kept apart so that
# the usual build and tests never touch the machine's container runtime packages.
if [ "${1:-}" = node ]; then
  PACKAGES=(containerd runc iptables ipset conntrack)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Package installs must not start system services (PostgreSQL, Redis): tests start their own.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "Debian packages installed"
fi

# Go builds the upstream Kubernetes binaries; it is part of this kind of machine, not of Debian 12.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || die "go (1.25 or newer) is required to build the local control plane; install it at /usr/local/go"
