#!/usr/bin/env bash
# firstrun.sh — how long the first `make demo` of a fresh clone takes on this machine, measured piece by
# piece with nothing cached. The README's, the demo's and the farm's time estimates come from its output.
# Run as root, with the local farm up (it uses the farm's mirror, registry and buildkitd binary):
#
#   bash hack/firstrun.sh            # about half an hour on a 2-core machine; takes the farm's e2e lock
#   FIRSTRUN_KEEP=1 bash hack/firstrun.sh   # keep the work directory
#
# A fresh machine's `make demo` is: make build, then farm-up (packages, compiling BuildKit, buildx and the
# Dockerfile frontend, certificates, registries, nodes, base images), then the demo's first build of
# examples/go-service. The farm scripts run ONE farm per machine (fixed ports 15000-15003, 11236, 12376, fixed
# netns and veth names), so this script does not start a second farm. It measures each piece a first run
# compiles or builds, cold, next to the farm that is up, without touching that farm's daemons or state:
#   1. make build   in a fresh clone of HEAD, with an empty Go module cache (modules come from the module
#                   proxy) and an empty Go build cache
#   2. farm compile the farm's compile step (buildkitd, buildctl, the Dockerfile frontend for amd64 and arm64,
#                   buildx, the fault proxy): hack/farm/lib/install.sh's go build commands, same caches as 1
#   3. demo build   the demo's build of examples/go-service (linux/amd64 + linux/arm64, pushed, verified) on two
#                   private buildkitd daemons with empty state, on unix sockets in the work directory: one
#                   amd64, one declaring linux/arm64 like the farm's stand-in arm64 node (its RUN steps, the Go
#                   compiler included, run under QEMU); base images from the farm's mirror, pushed to its
#                   registry. The farm's own nodes are not used.
# Not measured here (farm-up prints each of its steps' times): apt packages (1-2 min on a fresh Debian 12),
# hadolint from PyPI, certificates, starting the daemons, assembling the base images in the mirror.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FARM=${XBUILD_FARM_DIR:-/var/tmp/xbuild-farm}
WORK=${FIRSTRUN_DIR:-/var/tmp/xbuild-firstrun}
KEEP=${FIRSTRUN_KEEP:-0}

[ "$(id -u)" = 0 ] || { echo "firstrun: run as root (it starts two buildkitd daemons)" >&2; exit 1; }
[ -s "$FARM/farm.json" ] || { echo "firstrun: no farm at $FARM (make farm-up): the demo build pulls from its mirror and pushes to its registry" >&2; exit 1; }
[ -x "$FARM/bin/buildkitd" ] || { echo "firstrun: $FARM/bin/buildkitd missing (make farm-up)" >&2; exit 1; }
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) [ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin ;; esac
for c in git go jq make flock; do command -v "$c" >/dev/null || { echo "firstrun: $c not found" >&2; exit 1; }; done
# Timings are only worth something on a machine that is not also running the e2e suite or a benchmark:
# take the lock they take (make e2e-run, make bench).
if [ -z "${FIRSTRUN_LOCKED:-}" ]; then
  mkdir -p "$FARM/run"
  echo "firstrun: waiting for the farm lock $FARM/run/e2e.lock (e2e runs and benchmarks hold it)"
  exec env FIRSTRUN_LOCKED=1 flock -w 7200 "$FARM/run/e2e.lock" bash "$0" "$@"
fi

rm -rf "$WORK"
mkdir -p "$WORK"/{logs,bin}
export GOCACHE=$WORK/gocache GOMODCACHE=$WORK/gomodcache GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$KEEP" != 1 ]; then
    # buildkitd's overlay mounts go with it; anything left is unmounted before the directory goes
    grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    go clean -modcache 2>/dev/null || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

now() { date +%s; }
RESULTS=()
# measure NAME LOG CMD... : run CMD with its output in LOG, record its wall time
measure() {
  local name=$1 log=$WORK/logs/$2 t0 rc=0; shift 2
  printf '== %s ...\n' "$name"
  t0=$(now)
  "$@" >"$log" 2>&1 || rc=$?
  local d=$(( $(now) - t0 ))
  if [ "$rc" != 0 ]; then
    echo "firstrun: $name failed (exit $rc); last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  printf '   %d s (%d min %02d s)\n' "$d" $((d / 60)) $((d % 60))
  RESULTS+=("$d|$name")
}

echo "firstrun: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), work directory $WORK"

# 1. a fresh clone and make build, nothing cached
git clone -q "$ROOT" "$WORK/xbuild"
git -C "$WORK/xbuild" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
measure "make build (fresh clone, empty module and build caches)" make-build.log make -C "$WORK/xbuild" build
XB=$WORK/xbuild/bin/xbuild

# 2. the farm's compile step, as hack/farm/lib/install.sh runs it, one piece at a time
BK=$(awk '{ for (i=1;i<NF;i++) if ($i=="github.com/moby/buildkit" && $(i+1) ~ /^v[0-9]/) {print $(i+1); exit} }' "$WORK/xbuild/go.mod")
BX=$(awk '{ for (i=1;i<NF;i++) if ($i=="github.com/docker/buildx" && $(i+1) ~ /^v[0-9]/) {print $(i+1); exit} }' "$WORK/xbuild/go.mod")
module_dir() { (cd / && GOFLAGS='' GOWORK=off go mod download -json "$1" | jq -er .Dir); }
compile_buildkit() {
  local dir ld
  dir=$(module_dir "github.com/moby/buildkit@$BK")
  ld="-X github.com/moby/buildkit/version.Version=$BK"
  (cd "$dir" && CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags "$ld -extldflags '-static'" \
     -tags "osusergo netgo static_build seccomp" -o "$WORK/bin/buildkitd" ./cmd/buildkitd)
  (cd "$dir" && CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags "$ld" -o "$WORK/bin/buildctl" ./cmd/buildctl)
}
compile_frontend() {
  local dir fv a
  dir=$(module_dir "github.com/moby/buildkit@$BK")
  fv=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$dir/frontend/dockerfile/version/version.go")
  for a in amd64 arm64; do
    (cd "$dir" && CGO_ENABLED=0 GOOS=linux GOARCH=$a GOWORK=off go build -trimpath -ldflags "-s -w -X main.Version=$fv" \
       -tags "netgo static_build osusergo" -o "$WORK/bin/dockerfile-frontend-$a" ./frontend/dockerfile/cmd/dockerfile-frontend)
  done
}
compile_buildx() {
  local dir
  dir=$(module_dir "github.com/docker/buildx@$BX")
  (cd "$dir" && CGO_ENABLED=0 GOWORK=off go build -trimpath -o "$WORK/bin/buildx" ./cmd/buildx)
}
compile_faultproxy() { (cd "$WORK/xbuild" && CGO_ENABLED=0 GOWORK=off go build -trimpath -o "$WORK/bin/faultproxy" ./hack/farm/faultproxy); }
measure "farm compile: buildkitd + buildctl $BK (modules + build)" farm-buildkit.log compile_buildkit
measure "farm compile: Dockerfile frontend, amd64 and arm64" farm-frontend.log compile_frontend
measure "farm compile: buildx $BX (modules + build)" farm-buildx.log compile_buildx
measure "farm compile: fault proxy" farm-faultproxy.log compile_faultproxy

# 3. the demo's build on two private, empty buildkitd daemons
bk_conf() { # NAME PLATFORM
  cat <<EOF
root = "$WORK/bk-$1"
[grpc]
  address = ["unix://$WORK/bk-$1.sock"]
[otel]
  socketPath = "$WORK/bk-$1-otel.sock"
[worker.oci]
  enabled = true
  platforms = [ "$2" ]
  snapshotter = "overlayfs"
  binary = "/usr/bin/runc"
  defaultCgroupParent = "xbuild-firstrun-$1"
[worker.containerd]
  enabled = false
EOF
  # the farm nodes' registry settings: docker.io through the farm's mirror, the farm's CA
  sed -n '/^\[registry\./,$p' "$FARM/conf/buildkitd-amd64.toml"
}
for n in amd64:linux/amd64 arm64:linux/arm64; do
  name=${n%%:*}
  bk_conf "$name" "${n#*:}" >"$WORK/bk-$name.toml"
  "$FARM/bin/buildkitd" --config "$WORK/bk-$name.toml" >"$WORK/logs/buildkitd-$name.log" 2>&1 &
  PIDS+=("$!")
done
for name in amd64 arm64; do
  for _ in $(seq 1 60); do [ -S "$WORK/bk-$name.sock" ] && break; sleep 0.5; done
  [ -S "$WORK/bk-$name.sock" ] || { echo "firstrun: buildkitd $name did not start" >&2; tail "$WORK/logs/buildkitd-$name.log" >&2; exit 1; }
done
export XBUILD_CONFIG_DIR=$WORK/xbuild-config DOCKER_CONFIG=$WORK/docker SSL_CERT_FILE=$FARM/certs/ca-bundle.pem
mkdir -p "$DOCKER_CONFIG" && cp "$FARM/docker/config.json" "$DOCKER_CONFIG/config.json"
"$XB" nodes add fr-amd64 --endpoint "unix://$WORK/bk-amd64.sock" --platform linux/amd64 --builder firstrun >"$WORK/logs/nodes.log" 2>&1
"$XB" nodes add fr-arm64 --endpoint "unix://$WORK/bk-arm64.sock" --platform linux/arm64 --builder firstrun >>"$WORK/logs/nodes.log" 2>&1
REF=$(jq -r .registry.push "$FARM/farm.json")/firstrun/go-service:$(date +%Y%m%d-%H%M%S)
demo_build() {
  XBUILD_LINT_HADOLINT=$(jq -r '.hadolint // empty' "$FARM/farm.json") \
    "$XB" build --config "$WORK/xbuild/examples/go-service/xbuild.yaml" --builder firstrun -t "$REF" --push --progress plain
}
measure "demo build (go-service, both platforms, cold: base image pulls, Go compiled, arm64 under QEMU)" demo-build.log demo_build

echo
echo "firstrun: measured on $(nproc) cores ($(date -u +%F), load now $(cut -d' ' -f1-3 /proc/loadavg)):"
total=0
for r in "${RESULTS[@]}"; do
  d=${r%%|*}; total=$((total + d))
  printf '  %5d s  %2d min  %s\n' "$d" $(((d + 30) / 60)) "${r#*|}"
done
printf '  %5d s  %2d min  total of the measured pieces (add 1-3 min for packages, hadolint, certificates, daemons, base images)\n' "$total" $(((total + 30) / 60))
grep -E '^(linux/(amd64|arm64)) ' "$WORK/logs/demo-build.log" | sed 's/^/  demo report: /' || true
