# shellcheck shell=bash
# netns.sh (lib) — the arm64 node's network namespace.
#   host  xbf-veth0 10.77.0.1/30  <->  xbf-veth1 10.77.0.2/30  in netns xbuild-arm64
# Only `ip -n` is used to configure the inside; processes are started there with nsenter --net (see proc.sh).
#
# Guard route: while xbf-veth0 is down the kernel drops its connected route, and without the guard
# 10.77.0.2 would be routed through the default gateway, i.e. off this machine. The host therefore keeps
# `unreachable 10.77.0.0/30 metric 4000`: it loses to the connected route while the link is up, and makes
# the node fail fast ("network is unreachable") while the link is down. Nothing leaves the machine.
NS_NET=10.77.0.0/30
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

netns_down() {
  local did=1
  if ip link show "$VETH_HOST" >/dev/null 2>&1; then ip link del "$VETH_HOST" && did=0; fi
  if netns_exists; then ip netns del "$NS_NAME" && did=0; fi
  ip route del unreachable "$NS_NET" metric "$NS_GUARD_METRIC" 2>/dev/null
  return $did
}

# netns_link_state : "up" or "down" (administrative state of the host end), "absent" if there is no veth.
netns_link_state() {
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then echo absent; return; fi
  if ip -o link show "$VETH_HOST" | grep '<[^>]*\bUP\b' >/dev/null; then echo up; else echo down; fi
}
