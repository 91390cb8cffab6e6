#!/usr/bin/env bash
# netns.sh cut|drop|restore|status [NODE] — simulate losing one of the farm's native nodes.
#   NODE     amd64, amd64b, arm64 (the default) or arm64b; each runs in its own netns (table in lib/common.sh).
#            `restore all` and `status all` act on every native node.
#   cut      ip link set <its host veth> down (the node process keeps running, it just cannot be reached; a
#            guard route `unreachable <its /30>` keeps the traffic on this machine, see lib/netns.sh).
#            Clients fail fast: "no route to host".
#   drop     the link stays up, but inside the node's netns every reply to the host is blackholed
#            (`ip -n xbuild-NODE route add blackhole <host end>/32`): connections hang until the client's
#            own timeout, like a machine that went away without a word. Nothing leaves this machine.
#   restore  undoes cut or drop, and waits (bounded) until the node answers again
#   status   link state, and whether the node answers over mTLS
# A cut or dropped node also loses its registries (its forwarders run over the same veth).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$FARM_LIB/netns.sh"

usage() { echo "usage: $0 cut|drop|restore|status [amd64|amd64b|arm64|arm64b|all]   (default arm64)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
action=$1 target=${2:-arm64}
case "$action" in cut|drop|restore|status) ;; *) usage ;; esac
if [ "$target" = all ]; then
  case "$action" in restore|status) ;; *) echo "netns.sh: '$action all' would take every native node away; name one" >&2; exit 2 ;; esac
  nodes=("${NATIVE_NODES[@]}")
else
  native_index "$target" >/dev/null || { echo "netns.sh: unknown node '$target' (one of: ${NATIVE_NODES[*]}, all)" >&2; exit 2; }
  nodes=("$target")
fi
need_root

can_ask() { [ -x "$BUILDCTL" ] && [ -s "$CLIENT_DIR/cert.pem" ]; }

for n in "${nodes[@]}"; do
  use_node "$n"
  case "$action" in
    cut)
      [ "$(netns_link_state)" != absent ] || die "no $VETH_HOST: the $n node's netns is not up (run hack/farm/up.sh)"
      netns_guard_present || netns_guard_route   # never let the node's address fall through to the default route
      ip link set "$VETH_HOST" down
      echo "netns: $VETH_HOST down — the $n node $NODE_ADDR is cut off"
      ;;
    drop)
      [ "$(netns_link_state)" != absent ] || die "no $VETH_HOST: the $n node's netns is not up (run hack/farm/up.sh)"
      netns_drop_on
      echo "netns: replies from the $n node $NODE_ADDR to the host are dropped — connections to it hang"
      ;;
    restore)
      [ "$(netns_link_state)" != absent ] || die "no $VETH_HOST: the $n node's netns is not up (run hack/farm/up.sh)"
      netns_drop_off
      ip link set "$VETH_HOST" up
      if can_ask; then
        wait_until "$n node at $NODE_ADDR" 30 node_answers "$NODE_ADDR" || die "link is up but the $n node $NODE_ADDR does not answer"
      fi
      echo "netns: $VETH_HOST up — the $n node $NODE_ADDR is reachable"
      ;;
    status)
      st=$(netns_link_state)
      ans=no
      if [ "$st" = up ] && can_ask; then
        node_answers "$NODE_ADDR" && ans=yes
      fi
      guard=absent; netns_guard_present && guard=present
      drop=no; netns_drop_present && drop=yes
      echo "netns $NS_NAME: link $VETH_HOST $st; replies dropped: $drop; node $n $NODE_ADDR answers: $ans; guard route ($NS_NET unreachable): $guard"
      ;;
  esac
done
