# shellcheck shell=bash
# netns.sh (lib) — the native nodes' network namespaces (table in common.sh). Every function works on the node
# selected with use_node, e.g. for arm64:
#   host  xbf-veth0 10.77.0.1/30  <->  xbf-veth1 10.77.0.2/30  in netns xbuild-arm64
# Only `ip -n` is used to configure the inside; processes are started there with nsenter --net (see proc.sh).
#
# Guard routes: while a host veth is down the kernel drops its connected route, and without a guard the
# node's address would be routed through the default gateway, i.e. off this machine. The host therefore keeps
# `unreachable 10.77.0.4i/30 metric 4000` for every node's subnet: it loses to the connected route while the
# link is up, and makes the node fail fast ("no route to host") while the link is down. Nothing leaves the
# machine.
NS_GUARD_METRIC=4000

netns_guard_route() {
  ip route replace unreachable "$NS_NET" metric "$NS_GUARD_METRIC"
}
netns_guard_present() {
  ip route show table main | grep -E "^unreachable ${NS_NET//./\\.} .*metric $NS_GUARD_METRIC" >/dev/null
}

netns_exists() { [ -e "$NS_PATH" ] && ip netns list 2>/dev/null | awk '{print $1}' | grep -x "$NS_NAME" >/dev/null; }

netns_up() {
  netns_guard_route
  netns_exists || ip netns add "$NS_NAME"
  if ip link show "$VETH_HOST" >/dev/null 2>&1 && ! ip -n "$NS_NAME" link show "$VETH_NS" >/dev/null 2>&1; then
    # the other end went away with an older namespace of the same name: start over with a new pair
    warn "veth $VETH_HOST has no peer $VETH_NS in netns $NS_NAME; recreating the pair"
    ip link del "$VETH_HOST"
  fi
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip link add "$VETH_HOST" type veth peer name "$VETH_NS" netns "$NS_NAME"
  fi
  ip -n "$NS_NAME" link show "$VETH_NS" >/dev/null 2>&1 \
    || die "veth $VETH_HOST exists but its peer $VETH_NS is not in netns $NS_NAME; run hack/farm/down.sh first"
  ip addr show dev "$VETH_HOST" | grep " $NS_HOST_IP/30 " >/dev/null || ip addr add "$NS_HOST_IP/30" dev "$VETH_HOST"
  ip link set "$VETH_HOST" up
  ip -n "$NS_NAME" link set lo up
  ip -n "$NS_NAME" addr show dev "$VETH_NS" | grep " $NS_IP/30 " >/dev/null || ip -n "$NS_NAME" addr add "$NS_IP/30" dev "$VETH_NS"
  ip -n "$NS_NAME" link set "$VETH_NS" up
}

# netns_down : remove the selected node's veth, netns and guard route; 0 when something was removed.
netns_down() {
  local did=1
  if ip link show "$VETH_HOST" >/dev/null 2>&1; then ip link del "$VETH_HOST" && did=0; fi
  if netns_exists; then ip netns del "$NS_NAME" && did=0; fi
  if netns_guard_present; then ip route del unreachable "$NS_NET" metric "$NS_GUARD_METRIC" && did=0; fi
  return $did
}

# netns_link_state : "up" or "down" (administrative state of the host end), "absent" if there is no veth.
netns_link_state() {
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then echo absent; return; fi
  if ip -o link show "$VETH_HOST" | grep '<[^>]*\bUP\b' >/dev/null; then echo up; else echo down; fi
}

# netns_drop_present : replies from the node to the host are blackholed (netns.sh drop)
netns_drop_present() {
  netns_exists && ip -n "$NS_NAME" route show table main | grep -E "^blackhole ${NS_HOST_IP//./\\.}( |$)" >/dev/null
}
netns_drop_on()  { netns_drop_present || ip -n "$NS_NAME" route add blackhole "$NS_HOST_IP/32"; }
netns_drop_off() { if netns_drop_present; then ip -n "$NS_NAME" route del blackhole "$NS_HOST_IP/32"; fi; }
