#!/usr/bin/env bash
# The built-in NLU on CLINC150 (train on train+oos_train, evaluate on val+oos_val): one JSON line
# per run on stdout, with in-scope accuracy, out-of-scope recall, training seconds and p99
# classification microseconds.
#   1. the threshold tuned on a held-out 10% of the training splits (the issue's command line);
#   2. the threshold tuned on the even half of val, evaluated on the odd half (val[1::2] and
#      oos_val[1::2] were used for nothing else, including choosing features and options).
#   hack/bench/nlu.sh BUILD_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

build_dir="${1:-}"
[ -n "$build_dir" ] || die "usage: $0 BUILD_DIR"
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac
eval_bin="$build_dir/workloads/tools/va-nlu-eval"
[ -x "$eval_bin" ] || die "$eval_bin does not exist; build first (make bench)"

cd "$VA_ROOT"
data=../shared/datasets/clinc150/clinc150_train_val.json
[ -f "$data" ] || die "CLINC150 not found at $VA_ROOT/$data"

log "va-nlu-eval: threshold from a held-out 10% of train,oos_train"
"$eval_bin" --data "$data" --train train,oos_train --eval val,oos_val
log "va-nlu-eval: threshold from val[0::2], evaluated on the untouched val[1::2],oos_val[1::2]"
"$eval_bin" --data "$data" --train train,oos_train --tune 'val[0::2]' --eval 'val[1::2],oos_val[1::2]'
