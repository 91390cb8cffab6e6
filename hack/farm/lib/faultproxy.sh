# shellcheck shell=bash
# faultproxy.sh — the registry fault proxy (hack/farm/faultproxy, built from this repository).
#   https://registry.xbuild.test:15002  TLS with the farm's server certificate, forwards to the push registry
#                                       (https://127.0.0.1:15001, checked against the farm CA); basic auth passes
#   http://127.0.0.1:15003              admin API: arm faults, read counters and the request log, reset
# Nodes in a netns reach :15002 through their socat forwarders, like the registries.

FAULTPROXY=$FARM/bin/faultproxy
FAULT_ADMIN=http://127.0.0.1:$FAULT_ADMIN_PORT

# _faultproxy_src_sum : a checksum of the proxy's sources and the Go version that builds it
_faultproxy_src_sum() {
  { cat "$FARM_HACK"/faultproxy/*.go "$REPO_ROOT/go.mod"; go env GOVERSION; } | sha256sum | cut -c1-16
}

# build_faultproxy : (re)build bin/faultproxy when its sources changed (a few seconds with a warm Go cache).
build_faultproxy() {
  local log=$FARM/logs/compile-faultproxy.log sum
  sum=$(_faultproxy_src_sum)
  if [ -x "$FAULTPROXY" ] && [ "$(cat "$FAULTPROXY.src" 2>/dev/null)" = "$sum" ]; then
    info "faultproxy up to date"; return 0
  fi
  info "building bin/faultproxy from hack/farm/faultproxy"
  (cd "$REPO_ROOT" && run_logged "$log" env CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false \
     go build -trimpath -o "$FAULTPROXY.tmp" ./hack/farm/faultproxy)
  mv -f "$FAULTPROXY.tmp" "$FAULTPROXY"
  echo "$sum" >"$FAULTPROXY.src"
}

# fault_admin METHOD PATH [JSON] : one admin API request; prints the answer, fails on a non-2xx status.
fault_admin() {
  local args=(-sf -m 5 -X "$1" "$FAULT_ADMIN$2")
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data "$3")
  curl "${args[@]}"
}

# _faultproxy_code [CURL-ARGS...] : HTTP status of GET /v2/ through the proxy
_faultproxy_code() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' --cacert "$CA_CERT" "$@" "https://$REG_HOST:$FAULT_PORT/v2/"
}

start_faultproxy() {
  local args=("$FAULTPROXY" -listen "127.0.0.1:$FAULT_PORT" -admin "127.0.0.1:$FAULT_ADMIN_PORT"
              -cert "$SERVER_CERT" -key "$SERVER_KEY" -upstream "https://127.0.0.1:$PUSH_PORT" -upstream-ca "$CA_CERT")
  [ -x "$FAULTPROXY" ] || die "$FAULTPROXY is missing (build_faultproxy did not run?)"
  proc_restart_if_changed faultproxy 10 "${args[@]}"
  if proc_alive faultproxy && [ "$FAULTPROXY" -nt "$FARM/run/faultproxy.pid" ]; then
    info "faultproxy: binary is newer than the process, restarting"; proc_stop faultproxy 10
  fi
  if proc_alive faultproxy && [ "$(cat "$FARM/run/faultproxy.certs" 2>/dev/null)" != "${CA_SHA:-}" ]; then
    info "faultproxy: certificates changed, restarting"; proc_stop faultproxy 10
  fi
  if ! proc_alive faultproxy; then
    local a
    for a in "127.0.0.1:$FAULT_PORT" "127.0.0.1:$FAULT_ADMIN_PORT"; do
      port_busy "$a" && die "$a is already taken by another process: $(ss -Hltnp "sport = :${a##*:}" | head -1)"
    done
  fi
  proc_start faultproxy "${args[@]}"
  echo "${CA_SHA:-}" >"$FARM/run/faultproxy.certs"
  wait_until "fault proxy admin API on $FAULT_ADMIN" 20 fault_admin GET /counters \
    || die "the fault proxy's admin API does not answer on $FAULT_ADMIN" "$FARM/logs/faultproxy.log"
  # no faults armed: the proxy must answer like the push registry (401 anonymous, 200 with the password)
  fault_admin DELETE /faults >/dev/null || die "cannot clear the fault proxy's faults" "$FARM/logs/faultproxy.log"
  local anon authed
  anon=$(_faultproxy_code)
  authed=$(_faultproxy_code -u "$REG_USER:$(<"$REG_PASSWORD_FILE")")
  [ "$anon" = 401 ] && [ "$authed" = 200 ] \
    || die "the fault proxy does not pass through to the push registry (anonymous $anon, with password $authed)" "$FARM/logs/faultproxy.log"
  fault_admin POST /reset >/dev/null || die "cannot reset the fault proxy" "$FARM/logs/faultproxy.log"
  info "fault proxy https://$REG_HOST:$FAULT_PORT -> :$PUSH_PORT ok (401 anonymous, 200 as $REG_USER); admin $FAULT_ADMIN, no faults armed, counters zero"
}
