#!/usr/bin/env bash
# Makes the two base images of the Dockerfile locally from Debian 12's packages, since no
# container registry is reachable here (cached: a second run only checks they exist):
#   va-local/debian:12-builder          debootstrap (minbase) + the toolchain, the design
#                                       card's -dev packages, and redis-server and
#                                       postgresql-15 for the store images: stands in for
#                                       debian:12
#   va-local/distroless-cc:12-nonroot   only glibc, libgcc, libstdc++, libssl3, CA certificates,
#                                       tzdata, netbase, os-release and a nonroot user (65532);
#                                       no shell, no package manager: stands in for
#                                       gcr.io/distroless/cc-debian12:nonroot
# The Debian mirror is the one this machine's apt uses. Prints the two references as
# BUILDER_IMAGE=... and RUNTIME_IMAGE=... lines on stdout.
#   hack/images/bases.sh            make them when missing
#   hack/images/bases.sh --rebuild  make them again (and the debootstrap folder)
# The images carry a label with this script's checksum: after a change to it (to the package
# lists, say) they are made again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BUILDER_IMAGE=va-local/debian:12-builder
RUNTIME_IMAGE=va-local/distroless-cc:12-nonroot
SUITE=bookworm
# What the Dockerfile's build stages need (it installs the same list on a public debian:12).
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config binutils libcpp-httplib-dev nlohmann-json3-dev
  libyaml-cpp-dev libcurl4-openssl-dev libssl-dev libspdlog-dev prometheus-cpp-dev
  libhiredis-dev libpq-dev libpqxx-dev ca-certificates tzdata netbase)
# The stores' servers, installed after debootstrap with their services kept from starting.
STORE_PACKAGES=(redis-server postgresql-15)
RUNTIME_PACKAGES=(base-files libc6 libgcc-s1 libstdc++6 libssl3 ca-certificates tzdata netbase)

rebuild=
[ "${1:-}" = --rebuild ] && rebuild=1
command -v docker >/dev/null || die "docker is required to build images"
command -v debootstrap >/dev/null || die "debootstrap is required (make deps installs it)"

key=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
label=dev.virtualassistant.bases
current() {
  [ "$(docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null)" = "$key" ]
}
if [ -z "$rebuild" ] && current "$BUILDER_IMAGE" && current "$RUNTIME_IMAGE"; then
  echo "BUILDER_IMAGE=$BUILDER_IMAGE"
  echo "RUNTIME_IMAGE=$RUNTIME_IMAGE"
  exit 0
fi

mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit} $1 == "deb" {print $3; exit}' \
    /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || die "cannot find a Debian mirror in this machine's apt sources"
  echo "$uri"
}

work="$VA_CACHE_DIR/images"
rootfs="$work/debian-12-builder"
mkdir -p "$work"
if [ -n "$rebuild" ] || [ "$(cat "$rootfs/.complete" 2>/dev/null)" != "$key" ]; then
  rm -rf "$rootfs"
  include=$(IFS=,; echo "${BUILD_PACKAGES[*]}")
  run_step "debootstrap $SUITE with the build packages" "$work/debootstrap.log" \
    debootstrap --variant=minbase --include="$include" "$SUITE" "$rootfs" "$(mirror)"
  # No service may start inside the chroot (policy-rc.d), and PostgreSQL's package makes no
  # cluster: the image's entrypoint makes one in its volume.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  mkdir -p "$rootfs/etc/postgresql-common"
  echo 'create_main_cluster = false' >"$rootfs/etc/postgresql-common/createcluster.conf"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  run_step "apt-get install ${STORE_PACKAGES[*]} in the builder" "$work/stores.log" \
    chroot "$rootfs" sh -c "apt-get update && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends ${STORE_PACKAGES[*]}"
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  echo "$key" >"$rootfs/.complete"
fi

# The builder: the whole folder. Device nodes and the marker stay out; Docker makes /dev.
log "importing $BUILDER_IMAGE"
tar -C "$rootfs" --numeric-owner --exclude=./.complete --exclude='./dev/*' --exclude='./proc/*' \
  --exclude='./sys/*' -cf - . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' --change "LABEL $label=$key" \
    --message "debootstrap --variant=minbase $SUITE + ${BUILD_PACKAGES[*]} ${STORE_PACKAGES[*]}" \
    - "$BUILDER_IMAGE" >/dev/null

# The runtime: the files of RUNTIME_PACKAGES (docs, manuals and locales left out), under their
# merged-/usr paths, and the /lib, /lib64, /bin, /sbin links of Debian 12.
staging=$(mktemp -d "$work/runtime.XXXXXX")
trap 'rm -rf "$staging"' EXIT
list="$staging.list"
{
  for p in "${RUNTIME_PACKAGES[@]}"; do chroot "$rootfs" dpkg -L "$p"; done |
    grep -Ev '^/usr/share/(doc|man|lintian|locale|info|bug)(/|$)|^/\.$' |
    sed -E 's#^/(lib|lib64|bin|sbin)/#/usr/\1/#' | sort -u | sed 's#^/#./#'
  # Generated when ca-certificates was configured.
  (cd "$rootfs" && find ./etc/ssl/certs)
  printf './%s\n' lib lib64 bin sbin
} >"$list"
tar -C "$rootfs" --no-recursion --numeric-owner -cf - -T "$list" | tar -C "$staging" -xf -
rm -f "$list"
mkdir -p "$staging/etc" "$staging/tmp" "$staging/home/nonroot" "$staging/root"
chmod 1777 "$staging/tmp"
chown 65532:65532 "$staging/home/nonroot"
chmod 700 "$staging/root"
cat >"$staging/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$staging/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
  >"$staging/etc/nsswitch.conf"
[ ! -e "$staging/bin/sh" ] || die "the runtime base must not have a shell"
log "importing $RUNTIME_IMAGE ($(du -sh "$staging" | cut -f1))"
tar -C "$staging" --numeric-owner -cf - . |
  docker import --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' --change "LABEL $label=$key" \
    --message "distroless-style runtime from $SUITE: ${RUNTIME_PACKAGES[*]}" \
    - "$RUNTIME_IMAGE" >/dev/null

echo "BUILDER_IMAGE=$BUILDER_IMAGE"
echo "RUNTIME_IMAGE=$RUNTIME_IMAGE"
