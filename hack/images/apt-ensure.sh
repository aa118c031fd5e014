#!/bin/sh
# apt-ensure PACKAGE...: installs the packages that are not installed yet (apt-get, no
# recommends) and cleans apt's lists. A builder base that already has them all (the local one,
# hack/images/bases.sh) needs no network; a public debian:12 installs them.
set -eu
missing=
for p in "$@"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $missing
rm -rf /var/lib/apt/lists/*
