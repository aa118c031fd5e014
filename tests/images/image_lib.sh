# Shared by the image tests (sourced, not run). The caller defines fail() and sets $version.
#   check_image IMAGE TITLE ENTRYPOINT [with-shell]
#                                        uid 65532:65532, entrypoint, OCI labels, no shell
#                                        (with-shell: the image needs one, say so instead)
#   stop_container NAME PATTERN          docker stop --time 30: exit 0, promptly, and a log line
#                                        with PATTERN (a fixed string)
# shellcheck shell=bash

# The restrictions every image runs under in the tests (and in the pods the operator writes).
hardening=(--read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges)

check_image() {
  local image=$1 title=$2 entrypoint=$3 shell=${4:-}
  inspect() { docker image inspect --format "$1" "$image"; }
  docker image inspect "$image" >/dev/null 2>&1 || fail "no image $image (make images)"
  [ "$(inspect '{{.Config.User}}')" = 65532:65532 ] ||
    fail "user is '$(inspect '{{.Config.User}}')', want 65532:65532"
  [ "$(inspect '{{json .Config.Entrypoint}}')" = "[\"$entrypoint\"]" ] ||
    fail "entrypoint is $(inspect '{{json .Config.Entrypoint}}'), want $entrypoint"
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.title"}}')" = "$title" ] ||
    fail "OCI title label is not $title"
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')" = "$version" ] ||
    fail "OCI version label is not $version"
  [ -n "$(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}')" ] ||
    fail "no OCI revision label"
  local has_shell=
  docker run --rm --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1 && has_shell=1
  if [ -z "$shell" ]; then
    [ -z "$has_shell" ] || fail "the image has a shell"
    shell="no shell"
  else
    [ -n "$has_shell" ] || fail "the image was to have /bin/sh and has none"
    shell="/bin/sh (needed)"
  fi
  if docker run --rm --entrypoint /usr/bin/apt-get "$image" --version >/dev/null 2>&1; then
    fail "the image has a package manager"
  fi
  echo "   user 65532:65532, entrypoint $entrypoint, OCI labels, $shell, no package manager;" \
    "$(inspect '{{.Size}}' | awk '{printf "%.1f MiB", $1 / 1048576}')"
}

stop_container() {
  local name=$1 pattern=$2 start_ms stop_ms code
  start_ms=$(($(date +%s%N) / 1000000))
  docker stop --time 30 "$name" >/dev/null
  stop_ms=$(($(date +%s%N) / 1000000 - start_ms))
  code=$(docker inspect --format '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || fail "exit code $code after SIGTERM, want 0"
  [ "$stop_ms" -lt 10000 ] || fail "took $stop_ms ms to stop; the grace period is 30 s and it should be prompt"
  grep -qF -- "$pattern" <<<"$(docker logs "$name" 2>&1)" || fail "no log line with $pattern"
  echo "   exit code 0 after $stop_ms ms, after logging $pattern"
}
