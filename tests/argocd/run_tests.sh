#!/usr/bin/env bash
# Tests the Argo CD health check for VirtualAssistant (config/argocd/):
#   1. the script uses Lua 5.1 only (Argo CD runs gopher-lua),
#   2. the copy embedded in argocd-cm-patch.yaml is byte-identical to the script,
#   3. every case in cases/*.json gets its expected verdict (harness.lua).
# Needs lua5.4 (hack/install-deps.sh). Exit status non-zero on any failure.
set -euo pipefail

root="${VA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
here="$root/tests/argocd"
script="$root/config/argocd/virtualassistant-health.lua"
patch="$root/config/argocd/argocd-cm-patch.yaml"
key="resource.customizations.health.virtualassistant.dev_VirtualAssistant"

command -v lua5.4 >/dev/null || { echo "lua5.4 not found; run hack/install-deps.sh" >&2; exit 1; }

failures=0
fail() { printf 'FAIL %s\n' "$*"; failures=$((failures + 1)); }

# 1. Lua 5.2+ syntax and libraries. gopher-lua would reject them only when Argo CD loads the
# script, so catch them here. Strings and comments are blanked first so prose cannot trip it.
code=$(sed -e 's/"[^"]*"/""/g' -e "s/'[^']*'/''/g" -e 's/--.*$//' "$script")
banned='\<goto\>|//|[&|]|<<|>>|~([^=]|$)|::|\<utf8\.|\<table\.(unpack|pack|move)\>|\<math\.(tointeger|type|ult)\>|\<string\.(pack|unpack|packsize)\>|\<(load|rawlen)\('
if hits=$(grep -nE "$banned" <<<"$code"); then
  fail "lua51: $script uses Lua 5.2+ features:"
  sed 's/^/  line /' <<<"$hits"
else
  echo "ok   lua51: no Lua 5.2+ syntax or library calls"
fi

# 2. The block scalar under $key, indentation removed. The script has no line indented less
# than the block, so the block ends at the first non-empty line with under four spaces.
embedded=$(mktemp)
trap 'rm -f "$embedded"' EXIT
awk -v key="  $key: |" '
  $0 == key { inside = 1; next }
  inside && /^$/ { print; next }
  inside && /^    / { print substr($0, 5); next }
  inside { exit }
' "$patch" >"$embedded"
if [ ! -s "$embedded" ]; then
  fail "sync: no '$key: |' block in $patch"
elif ! cmp -s "$script" "$embedded"; then
  fail "sync: the script in $patch differs from $script (regenerate it, see config/argocd/README.md):"
  diff -u --label virtualassistant-health.lua --label "argocd-cm-patch.yaml ($key)" "$script" "$embedded" || true
else
  echo "ok   sync: argocd-cm-patch.yaml embeds the script verbatim"
fi

# 3. Verdicts.
cases=0
for c in "$here"/cases/*.json; do
  cases=$((cases + 1))
  name=$(basename "$c" .json)
  if out=$(lua5.4 "$here/harness.lua" "$script" "$c" 2>&1); then
    echo "ok   $name -> ${out#ok }"
  else
    fail "$name"
    printf '%s\n' "$out"
  fi
done
[ "$cases" -ge 10 ] || fail "only $cases cases in $here/cases (want at least 10)"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all $cases cases passed"
