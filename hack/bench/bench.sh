#!/usr/bin/env bash
# make bench: measure xbuild against plain buildx on the local build farm and
# write docs/BENCHMARKS.md (issue 8). Knobs: BENCH_N (default 5), BENCH_ONLY
# (e.g. P1,P5; MB = Go micro-benchmarks; P9 = 4 concurrent builds on 1 vs 2 nodes per
# platform), BENCH_P7_SLEEP, BENCH_P9_WORK, BENCH_DEADLINE.
#   1. make farm-up                 idempotent; seconds when the farm is up
#   2. the standalone buildx        at the github.com/docker/buildx version of go.mod
#   3. hack/bench (Go)              P1..P7, P9 and the micro-benchmarks, then the document
# The arm64 node is cut off during P2; if the harness dies before it restores
# the node, the EXIT trap below does (the harness leaves a marker file).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
GO=${GO:-go}
MAKE=${MAKE:-make}
FARM=${XBUILD_FARM_DIR:-/var/tmp/xbuild-farm}
start=$(date +%s)
export BENCH_STARTED=$start

state=$(mktemp -d -t xbuild-bench-state.XXXXXX)
cleanup() {
  if [ -e "$state/netns-cut" ]; then
    echo "bench: restoring the arm64 node the harness left cut off" >&2
    bash hack/farm/netns.sh restore || echo "bench: restore failed; run: bash hack/farm/netns.sh restore" >&2
  fi
  rm -rf "$state"
}
trap cleanup EXIT

echo "bench: 1/3 farm-up (and bin/xbuild)" >&2
"$MAKE" --no-print-directory farm-up >"$state/farm-up.log" 2>&1 || { tail -30 "$state/farm-up.log" >&2; exit 1; }

echo "bench: 2/3 standalone buildx" >&2
bxv=$("$GO" list -m -f '{{.Version}}' github.com/docker/buildx)
if ! "$FARM/bin/buildx" version 2>/dev/null | grep -q " $bxv\( \|$\)"; then
  # farm-up builds it (hack/farm/lib/install.sh compile_buildx) at go.mod's version
  echo "bench: $FARM/bin/buildx is not buildx $bxv; run make farm-up again (it rebuilds it)" >&2
  exit 1
fi
"$FARM/bin/buildx" version >&2

echo "bench: 3/3 harness (N=${BENCH_N:-5}${BENCH_ONLY:+, only $BENCH_ONLY})" >&2
"$GO" build -o "$state/bench" ./hack/bench
rc=0
# one user of the farm at a time: the e2e suite (make e2e-run) takes the same lock
mkdir -p "$FARM/run"
flock -o -w 3600 "$FARM/run/e2e.lock" "$state/bench" -state "$state" -xbuild "${BIN:-bin/xbuild}" || rc=$?
echo "bench: make bench wall time $(( $(date +%s) - start )) s (exit $rc)" >&2
exit $rc
