# shellcheck shell=bash
# common.sh — settings, logging, timing and bounded waits shared by the farm scripts.
# Sourced by up.sh, down.sh and netns.sh; defines nothing that runs on its own.

FARM=${XBUILD_FARM_DIR:-/var/tmp/xbuild-farm}
FARM_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FARM_HACK=$(dirname "$FARM_LIB")
REPO_ROOT=$(cd "$FARM_HACK/../.." && pwd)

FARM_DOCKER=${FARM_DOCKER:-1}       # 0: no second dockerd, no buildkit image
FARM_FRONTEND=${FARM_FRONTEND:-1}   # 0: no docker/dockerfile:1 frontend image
FARM_BUILDKIT_DEFAULT=v0.34.2       # used only when go.mod does not name github.com/moby/buildkit

# Fixed layout: every address below is loopback or inside the netns this farm creates.
REG_HOST=registry.xbuild.test
MIRROR_PORT=15000                    # TLS, no auth; docker.io mirror for every buildkitd
PUSH_PORT=15001                      # TLS + htpasswd
REG_USER=xbuild
NODE_AMD64_ADDR=127.0.0.1:11234
NODE_QEMU_ADDR=127.0.0.1:11236
NS_NAME=xbuild-arm64
NS_PATH=/run/netns/$NS_NAME
VETH_HOST=xbf-veth0
VETH_NS=xbf-veth1
NS_HOST_IP=10.77.0.1
NS_IP=10.77.0.2
NODE_ARM64_ADDR=$NS_IP:1234
DOCKER_ADDR=127.0.0.1:12376
HOSTS_MARK='# xbuild-farm'
CERT_HOSTS=(localhost 127.0.0.1 "$NS_IP" "$NS_HOST_IP" "$REG_HOST")

CERTS=$FARM/certs
SERVER_CERT=$CERTS/server/cert.pem
SERVER_KEY=$CERTS/server/key.pem
CA_CERT=$CERTS/ca.pem
CLIENT_DIR=$CERTS/client
CA_BUNDLE=$CERTS/ca-bundle.pem
SKOPEO_CERTS=$CERTS/skopeo
BUILDCTL=$FARM/bin/buildctl
BUILDKITD=$FARM/bin/buildkitd
DOCKER_SOCK=$FARM/run/docker.sock
DOCKER_EXEC_ROOT=$FARM/run/docker-exec

case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) [ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin ;; esac
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
export PATH

# ---------------------------------------------------------------------------------------------------------------
# output

say()  { printf '%s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
warn() { printf '   WARNING: %s\n' "$*" >&2; }

# die MESSAGE [LOGFILE...]: print the message and the tail of each log, exit 1.
die() {
  local msg=$1 f; shift
  printf 'farm: ERROR: %s\n' "$msg" >&2
  for f in "$@"; do
    [ -s "$f" ] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 25 "$f" >&2
    printf -- '-----\n' >&2
  done
  exit 1
}

# microseconds since the epoch, no subshell-heavy tools
now_us() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "$t"; }
# fmt_us MICROSECONDS -> "12.3"
fmt_us() { local us=$1; printf '%d.%d' $((us / 1000000)) $(((us % 1000000) / 100000)); }

FARM_T0=$(now_us)
STEP_T0=
STEP_NAME=
# step_begin "what" ["how long it usually takes"]
step_begin() {
  STEP_NAME=$1; STEP_T0=$(now_us)
  if [ -n "${2:-}" ]; then say "== $1 ($2)"; else say "== $1"; fi
}
step_end() {
  local d=$(( $(now_us) - STEP_T0 ))
  say "   done in $(fmt_us "$d") s"
  STEP_TIMES+=("$(fmt_us "$d") s  $STEP_NAME")
}
STEP_TIMES=()
total_s() { fmt_us $(( $(now_us) - FARM_T0 )); }

# run_logged LOGFILE CMD... : run, append all output to LOGFILE; on failure die with its tail.
run_logged() {
  local log=$1; shift
  printf '\n+ %s   [%s]\n' "$*" "$(date -u +%FT%TZ)" >>"$log"
  "$@" >>"$log" 2>&1 || die "command failed (rc=$?): $*" "$log"
}

# wait_until DESCRIPTION TIMEOUT_S CMD... : poll CMD every 0.5 s, at most TIMEOUT_S seconds and 2*TIMEOUT_S+1 tries.
wait_until() {
  local what=$1 limit=$2; shift 2
  local tries=$((limit * 2 + 1)) start=$SECONDS
  while [ "$tries" -gt 0 ] && [ $((SECONDS - start)) -le "$limit" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    tries=$((tries - 1))
    sleep 0.5
  done
  warn "gave up waiting for $what after $((SECONDS - start)) s"
  return 1
}

need_root() { [ "$(id -u)" = 0 ] || { echo "farm: must run as root (it installs packages, creates a netns and starts daemons)" >&2; exit 1; }; }

# buildctl_tls ADDR ARGS... : buildctl against a node with the farm's client certificate.
buildctl_tls() {
  local addr=$1; shift
  "$BUILDCTL" --addr "tcp://$addr" --tlsservername localhost --tlscacert "$CLIENT_DIR/ca.pem" \
    --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" "$@"
}

# port_busy HOST:PORT : true when something listens there or on the wildcard address (in the current netns).
port_busy() {
  local p=${1##*:}
  ss -Hltn 2>/dev/null | awk '{print $4}' | grep -xE "(${1//./\\.}|0\.0\.0\.0:$p|\*:$p|\[::\]:$p)" >/dev/null
}

# node_answers ADDR : the node answers `debug workers` over mTLS within 10 s.
node_answers() {
  timeout 10 "$BUILDCTL" --timeout 5 --addr "tcp://$1" --tlsservername localhost --tlscacert "$CLIENT_DIR/ca.pem" \
    --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" debug workers >/dev/null 2>&1
}
