#!/usr/bin/env bash
# netns.sh cut|drop|restore|status — simulate losing the farm's arm64 node (tcp://10.77.0.2:1234).
#   cut      ip link set xbf-veth0 down   (the node process keeps running, it just cannot be reached; a guard
#            route `unreachable 10.77.0.0/30` keeps the traffic on this machine, see lib/netns.sh). Clients
#            fail fast: "no route to host".
#   drop     the link stays up, but inside the netns every reply to the host is blackholed
#            (`ip -n xbuild-arm64 route add blackhole 10.77.0.1/32`): connections hang until the client's
#            own timeout, like a machine that went away without a word. Nothing leaves this machine.
#   restore  undoes cut or drop, and waits (bounded) until the node answers again
#   status   link state, and whether the node answers over mTLS
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$FARM_LIB/netns.sh"

usage() { echo "usage: $0 cut|drop|restore|status" >&2; exit 2; }
drop_route() { ip -n "$NS_NAME" route show table main | grep -E "^blackhole ${NS_HOST_IP//./\\.}( |$)" >/dev/null; }
[ $# = 1 ] || usage
need_root

case "$1" in
  cut)
    [ "$(netns_link_state)" != absent ] || die "no $VETH_HOST: the farm's netns is not up"
    netns_guard_present || netns_guard_route   # never let 10.77.0.2 fall through to the default route
    ip link set "$VETH_HOST" down
    echo "netns: $VETH_HOST down — $NODE_ARM64_ADDR is cut off"
    ;;
  drop)
    [ "$(netns_link_state)" != absent ] || die "no $VETH_HOST: the farm's netns is not up"
    drop_route || ip -n "$NS_NAME" route add blackhole "$NS_HOST_IP/32"
    echo "netns: replies from $NODE_ARM64_ADDR to the host are dropped — connections to it hang"
    ;;
  restore)
    [ "$(netns_link_state)" != absent ] || die "no $VETH_HOST: the farm's netns is not up (run hack/farm/up.sh)"
    if drop_route; then ip -n "$NS_NAME" route del blackhole "$NS_HOST_IP/32"; fi
    ip link set "$VETH_HOST" up
    if [ -x "$BUILDCTL" ] && [ -s "$CLIENT_DIR/cert.pem" ]; then
      wait_until "arm64 node at $NODE_ARM64_ADDR" 30 node_answers "$NODE_ARM64_ADDR" || die "link is up but $NODE_ARM64_ADDR does not answer"
    fi
    echo "netns: $VETH_HOST up — $NODE_ARM64_ADDR reachable"
    ;;
  status)
    st=$(netns_link_state)
    ans=no
    if [ "$st" = up ] && [ -x "$BUILDCTL" ] && [ -s "$CLIENT_DIR/cert.pem" ]; then
      node_answers "$NODE_ARM64_ADDR" && ans=yes
    fi
    guard=absent; netns_guard_present && guard=present
    drop=no; drop_route && drop=yes
    echo "netns $NS_NAME: link $VETH_HOST $st; replies dropped: $drop; node $NODE_ARM64_ADDR answers: $ans; guard route ($NS_NET unreachable): $guard"
    ;;
  *) usage ;;
esac
