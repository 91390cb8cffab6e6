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
FAULT_PORT=15002                     # TLS: the fault proxy in front of the push registry (same credentials)
FAULT_ADMIN_PORT=15003               # plain HTTP on 127.0.0.1: the fault proxy's admin API
REG_PORTS="$MIRROR_PORT $PUSH_PORT $FAULT_PORT"   # what the netns nodes reach through socat
REG_USER=xbuild
NODE_QEMU_ADDR=127.0.0.1:11236
DOCKER_ADDR=127.0.0.1:12376
HOSTS_MARK='# xbuild-farm'

# Native nodes. Each runs in its own network namespace behind its own veth pair, so any one of them can be
# cut off (hack/farm/netns.sh). Node i owns 10.77.0.(4i)/30: the host end is .4i+1, the node .4i+2.
#   i  node    netns          host veth  netns veth  host end     endpoint
#   0  arm64   xbuild-arm64   xbf-veth0  xbf-veth1   10.77.0.1    tcp://10.77.0.2:1234
#   1  amd64   xbuild-amd64   xbf-veth2  xbf-veth3   10.77.0.5    tcp://10.77.0.6:1234
#   2  amd64b  xbuild-amd64b  xbf-veth4  xbf-veth5   10.77.0.9    tcp://10.77.0.10:1234
#   3  arm64b  xbuild-arm64b  xbf-veth6  xbf-veth7   10.77.0.13   tcp://10.77.0.14:1234
NATIVE_NODES=(amd64 amd64b arm64 arm64b)
NS_PREFIX=10.77.0.
NODE_PORT=1234

# native_index NODE : the node's row in the table above; fails for anything else.
native_index() { case $1 in arm64) echo 0 ;; amd64) echo 1 ;; amd64b) echo 2 ;; arm64b) echo 3 ;; *) return 1 ;; esac; }

# use_node NODE : select a native node; sets NODE NS_NAME NS_PATH VETH_HOST VETH_NS NS_NET NS_HOST_IP NS_IP
# NODE_ADDR and NODE_PLATFORM (lib/netns.sh and lib/buildkit.sh work on the selected node).
use_node() {
  local i
  i=$(native_index "$1") || die "unknown native node '$1' (one of: ${NATIVE_NODES[*]})"
  NODE=$1
  NS_NAME=xbuild-$1
  NS_PATH=/run/netns/$NS_NAME
  VETH_HOST=xbf-veth$((2 * i))
  VETH_NS=xbf-veth$((2 * i + 1))
  NS_NET=$NS_PREFIX$((4 * i))/30
  NS_HOST_IP=$NS_PREFIX$((4 * i + 1))
  NS_IP=$NS_PREFIX$((4 * i + 2))
  NODE_ADDR=$NS_IP:$NODE_PORT
  NODE_PLATFORM=linux/${1%b}
}

NODE_AMD64_ADDR=${NS_PREFIX}6:$NODE_PORT    # = use_node amd64; $NODE_ADDR (base images are built here)
NODE_ARM64_ADDR=${NS_PREFIX}2:$NODE_PORT    # = use_node arm64; $NODE_ADDR
CERT_HOSTS=(localhost 127.0.0.1 "$REG_HOST")
for _i in 0 1 2 3; do CERT_HOSTS+=("$NS_PREFIX$((4 * _i + 1))" "$NS_PREFIX$((4 * _i + 2))"); done
unset _i

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
