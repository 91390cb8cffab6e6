#!/usr/bin/env bash
# down.sh [--purge] — stop exactly what hack/farm/up.sh started (`make farm-down`).
#   Stops each daemon by its PID file in $FARM/run, only while the PID still runs the recorded command line,
#   then removes every native node's netns (xbuild-amd64, -amd64b, -arm64, -arm64b), veth pair and guard route.
#   --purge  also removes $FARM/data (registries, nodes, dockerd), the /etc/hosts line and the generated docker
#            config dir; compiled binaries, certificates and the registry password are kept.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for f in common proc netns k8s; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$f.sh"
done
PURGE=0
case "${1:-}" in
  "") ;;
  --purge) PURGE=1 ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
need_root
if [ ! -d "$FARM" ]; then echo "farm-down: $FARM does not exist; nothing to do"; exit 0; fi
mkdir -p "$FARM/run"
exec 9>"$FARM/run/.lock"
flock -w 120 9 || { echo "farm: another up.sh/down.sh holds $FARM/run/.lock" >&2; exit 1; }

say "farm-down: $FARM$([ $PURGE = 1 ] && echo ' (purge)')"
rc=0
# the opt-in Kubernetes cluster first: its pods, daemons and host side effects (sysctls, iptables chains)
[ -e "$K8S_DIR/enabled" ] && k8s_down
# the docker node first (it stops its containers, then its containerd); then the nodes, forwarders and the
# fault proxy side by side; the registries last
proc_stop dockerd 60
mapfile -t middle < <(farm_daemons | grep -vx -e dockerd -e 'registry-.*')
proc_stop_group 30 "${middle[@]}"
proc_stop_group 10 registry-push registry-mirror
# PID files of any other name (older layouts): same rules
for pf in "$FARM"/run/*.pid; do
  [ -e "$pf" ] || continue
  proc_stop "$(basename "$pf" .pid)" 20
done

for n in "${NATIVE_NODES[@]}"; do
  use_node "$n"
  if netns_down; then info "removed netns $NS_NAME, veth $VETH_HOST and the guard route for $NS_NET"; fi
done
wait_reaped 10 || warn "some stopped daemons are still <defunct> (not yet reaped by PID 1)"

# nothing that belongs to the farm may survive (e.g. a containerd-shim of a container dockerd could not stop)
left=$(farm_leftovers)
if [ -n "$left" ]; then
  warn "farm processes still running after their parents stopped:"
  printf '     %s\n' "$left" >&2
  while read -r pid _; do kill -TERM "$pid" 2>/dev/null; done <<<"$left"
  sleep 2
  left=$(farm_leftovers)
  if [ -n "$left" ]; then
    while read -r pid _; do kill -KILL "$pid" 2>/dev/null; done <<<"$left"
    sleep 1
  fi
  left=$(farm_leftovers)
  [ -z "$left" ] || { warn "could not stop: $left"; rc=1; }
fi

# dockerd leaves mounts under its exec-root/data-root (e.g. <exec-root>/netns/default); buildkitd may leave overlays
unmount_farm() {
  local m
  awk -v a="$FARM/" 'index($2, a) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "cannot unmount $m"
  done
}
if [ -z "$left" ]; then
  unmount_farm
  rm -rf "${DOCKER_EXEC_ROOT:?}" 2>/dev/null
  rm -f "$FARM"/run/*.sock "$FARM"/run/dockerd.certs "$FARM"/run/faultproxy.certs
fi

if [ $PURGE = 1 ] && [ -z "$left" ]; then
  unmount_farm
  rm -rf --one-file-system "${FARM:?}/data" && info "removed $FARM/data"
  rm -rf "${FARM:?}/docker" && info "removed $FARM/docker (generated docker config)"
  rm -f "$FARM/farm.json" "$FARM/env.sh"
  if grep -q "$HOSTS_MARK\$" /etc/hosts; then
    # /etc/hosts may be a bind mount: rewrite in place instead of replacing the file
    tmp=$(mktemp); grep -v "$HOSTS_MARK\$" /etc/hosts >"$tmp"; cat "$tmp" >/etc/hosts; rm -f "$tmp"
    info "removed the $REG_HOST line from /etc/hosts"
  fi
fi
say "farm-down: done in $(total_s) s"
exit $rc
