#!/usr/bin/env bash
# restart.sh NAME... — restart farm daemons the way an operator would: stop each by its PID file (SIGTERM,
# SIGKILL after a grace period; only while its command line is still the farm's), then run up.sh, which starts
# what is missing and checks the rest (idempotent: nothing healthy is restarted a second time).
#   NAME  a daemon up.sh starts (run/NAME.pid): registry-push, registry-mirror, faultproxy, dockerd,
#         buildkitd-amd64, buildkitd-amd64b, buildkitd-arm64, buildkitd-arm64b, buildkitd-qemu, fwd-...
# Used by the e2e fault tests (test/e2e/faults_test.go), e.g. `hack/farm/restart.sh dockerd`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for f in common proc; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$f.sh"
done
[ $# -ge 1 ] || { echo "usage: $0 NAME...   (a farm daemon: registry-push, dockerd, buildkitd-amd64, ...)" >&2; exit 2; }
need_root
known=$(farm_daemons)
for n in "$@"; do
  grep -qx -- "$n" <<<"$known" || { echo "restart.sh: '$n' is not a farm daemon (one of: $(tr '\n' ' ' <<<"$known"))" >&2; exit 2; }
done
exec 9>"$FARM/run/.lock"
flock -w 120 9 || { echo "restart.sh: another up.sh/down.sh holds $FARM/run/.lock" >&2; exit 1; }
for n in "$@"; do
  say "restart: stopping $n"
  proc_stop "$n" 60
done
exec 9>&-
exec bash "$HERE/up.sh"
