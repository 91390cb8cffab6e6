#!/usr/bin/env bash
# check.sh [--no-cut] — smoke-test a running farm (root). Prints one line per check, exits 1 if any failed.
#   * every node answers `buildctl debug workers` over mTLS
#   * busybox and golang in the mirror are amd64+arm64 indexes (skopeo inspect --raw)
#   * every native node (each in its netns) pulls busybox through its forwarders and runs RUN uname -m
#   * a two-platform build on the qemu node: FROM busybox + RUN uname -m (arm64 must say aarch64)
#   * "# syntax=docker/dockerfile:1" resolves (the frontend image in the mirror)
#   * a push to the auth registry with the farm's docker config; anonymous access is refused
#   * the fault proxy: exactly one armed 503, then pass-through; a push through it from a netns node
#   * netns.sh cut NODE makes exactly that native node unreachable, restore brings it back (skip with --no-cut)
#   * the docker node answers over TLS (when enabled)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib/common.sh"
source "$HERE/lib/faultproxy.sh"
need_root
[ -s "$FARM/farm.json" ] || die "no $FARM/farm.json: run hack/farm/up.sh first"
CUT=1; [ "${1:-}" = --no-cut ] && CUT=0
fails=0
ok()  { printf '  ok    %-58s %s\n' "$1" "${2:-}"; }
bad() { printf '  FAIL  %-58s %s\n' "$1" "${2:-}"; fails=$((fails + 1)); }
W=$(mktemp -d /tmp/farm-check.XXXXXX)
trap 'rm -rf "$W"' EXIT

ALL_NODES=("${NATIVE_NODES[@]}" qemu)
endpoint() { jq -r ".nodes.$1.endpoint" "$FARM/farm.json"; }
for n in "${ALL_NODES[@]}"; do
  ep=$(endpoint "$n")
  if out=$(buildctl_tls "${ep#tcp://}" --timeout 5 debug workers 2>&1); then
    ok "node $n answers over mTLS ($ep)" "$(awk 'NR==2{print $2}' <<<"$out" | cut -d, -f1-2)"
  else bad "node $n answers over mTLS ($ep)" "$(tail -n 1 <<<"$out")"; fi
done

for ref in library/busybox:1.35 library/busybox:latest library/golang:1.26 docker/dockerfile:1; do
  plats=$(timeout 60 skopeo inspect --raw --cert-dir "$SKOPEO_CERTS" "docker://$REG_HOST:$MIRROR_PORT/$ref" 2>&1 \
          | jq -r '[.manifests[].platform | .os + "/" + .architecture] | sort | join(",")' 2>/dev/null)
  if [ "$plats" = "linux/amd64,linux/arm64" ]; then ok "skopeo: $ref is a two-platform index" "$plats"
  else bad "skopeo: $ref is a two-platform index" "got '${plats}'"; fi
done

# each netns node pulls through its socat forwarders and runs a RUN step of its own architecture
mkdir -p "$W/ns"
printf 'FROM busybox\nRUN uname -m\n' >"$W/ns/Dockerfile"
for n in "${NATIVE_NODES[@]}"; do
  want=x86_64; [ "${n#arm64}" != "$n" ] && want=aarch64
  ep=$(endpoint "$n")
  if buildctl_tls "${ep#tcp://}" build --progress plain --no-cache --frontend dockerfile.v0 --local context="$W/ns" \
       --local dockerfile="$W/ns" >"$W/ns-$n.log" 2>&1 && grep -q "$want" "$W/ns-$n.log"; then
    ok "$n node (netns): FROM busybox + RUN uname -m" "$want"
  else bad "$n node (netns): FROM busybox + RUN uname -m" "$(tail -n 2 "$W/ns-$n.log" | tr '\n' ' ')"; fi
done

# golang image: go runs on both platforms; a scratch stage can take the CA bundle from it
mkdir -p "$W/go" "$W/goout"
printf 'FROM golang:1.26 AS b\nRUN go version >/v\nFROM scratch\nCOPY --from=b /v /v\nCOPY --from=b /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\n' >"$W/go/Dockerfile"
s=$SECONDS
if timeout 300 "$BUILDCTL" --addr "tcp://$NODE_QEMU_ADDR" --tlsservername localhost --tlscacert "$CLIENT_DIR/ca.pem" \
     --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" build --progress plain \
     --frontend dockerfile.v0 --local context="$W/go" --local dockerfile="$W/go" \
     --opt platform=linux/amd64,linux/arm64 --output "type=local,dest=$W/goout" >"$W/go.log" 2>&1 \
   && grep -q 'linux/amd64' "$W/goout/linux_amd64/v" && grep -q 'linux/arm64' "$W/goout/linux_arm64/v" \
   && [ -s "$W/goout/linux_arm64/etc/ssl/certs/ca-certificates.crt" ]; then
  ok "golang:1.26: go version on amd64+arm64, CA bundle copyable" "$(cut -d' ' -f3 "$W/goout/linux_arm64/v") ($((SECONDS - s)) s)"
else bad "golang:1.26: go version on amd64+arm64" "$(tail -n 3 "$W/go.log" | tr '\n' ' ')"; fi

# two-platform build with RUN on the qemu node
mkdir -p "$W/uname" "$W/out"
printf 'FROM busybox\nRUN uname -m > /a\n' >"$W/uname/Dockerfile"
s=$SECONDS
if timeout 300 "$BUILDCTL" --addr "tcp://$NODE_QEMU_ADDR" --tlsservername localhost --tlscacert "$CLIENT_DIR/ca.pem" \
     --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" build --progress plain --no-cache \
     --frontend dockerfile.v0 --local context="$W/uname" --local dockerfile="$W/uname" \
     --opt platform=linux/amd64,linux/arm64 --output "type=local,dest=$W/out" >"$W/uname.log" 2>&1; then
  a=$(cat "$W/out/linux_amd64/a" 2>/dev/null); b=$(cat "$W/out/linux_arm64/a" 2>/dev/null)
  if [ "$a" = x86_64 ] && [ "$b" = aarch64 ]; then ok "qemu node: RUN uname -m on amd64+arm64" "$a / $b ($((SECONDS - s)) s)"
  else bad "qemu node: RUN uname -m on amd64+arm64" "got '$a' / '$b'"; fi
else bad "qemu node: RUN uname -m on amd64+arm64" "$(tail -n 3 "$W/uname.log" | tr '\n' ' ')"; fi

# syntax directive -> docker.io/docker/dockerfile:1 -> mirror; also a push to the auth registry
mkdir -p "$W/syntax"
printf '# syntax=docker/dockerfile:1\nFROM busybox\nRUN --mount=type=tmpfs,target=/t echo hi >/t/x && cp /t/x /hi\n' >"$W/syntax/Dockerfile"
tag=$REG_HOST:$PUSH_PORT/farm-check/syntax:latest
cp -a "$FARM/docker" "$W/docker"
if DOCKER_CONFIG=$W/docker timeout 300 "$BUILDCTL" --addr "tcp://$NODE_AMD64_ADDR" --tlsservername localhost \
     --tlscacert "$CLIENT_DIR/ca.pem" --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" build --progress plain \
     --frontend dockerfile.v0 --local context="$W/syntax" --local dockerfile="$W/syntax" \
     --output "type=image,name=$tag,push=true" >"$W/syntax.log" 2>&1; then
  if grep -q 'docker/dockerfile:1' "$W/syntax.log"; then ok "# syntax=docker/dockerfile:1 build + push to $REG_HOST:$PUSH_PORT"
  else bad "# syntax=docker/dockerfile:1 build" "frontend image not used?"; fi
else bad "# syntax=docker/dockerfile:1 build + push" "$(grep -m1 -i error "$W/syntax.log")"; fi
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' --cacert "$CA_CERT" "https://$REG_HOST:$PUSH_PORT/v2/farm-check/syntax/tags/list")
if [ "$code" = 401 ]; then ok "push registry refuses anonymous reads" "$code"; else bad "push registry refuses anonymous reads" "$code"; fi
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' --cacert "$CA_CERT" -u "$REG_USER:$(<"$FARM/registry/password")" \
       "https://$REG_HOST:$PUSH_PORT/v2/farm-check/syntax/tags/list")
if [ "$code" = 200 ]; then ok "push registry lists the pushed tag with the password" "$code"; else bad "push registry with password" "$code"; fi

# the fault proxy: one armed 503 on GET /v2/, then the registry's own answer; counters say exactly that
pw=$(<"$FARM/registry/password")
fault_admin POST /reset >/dev/null
fault_admin POST /faults '{"methods":["GET"],"path":"/v2/","status":503,"count":1}' >/dev/null
c1=$(_faultproxy_code -u "$REG_USER:$pw"); c2=$(_faultproxy_code -u "$REG_USER:$pw")
counters=$(fault_admin GET /counters | jq -c .)
if [ "$c1" = 503 ] && [ "$c2" = 200 ] && [ "$counters" = '{"injected":1,"passed":1}' ]; then
  ok "fault proxy: one armed 503, then pass-through" "$c1 $c2 $counters"
else bad "fault proxy: one armed 503, then pass-through" "got $c1 $c2 $counters"; fi
fault_admin POST /reset >/dev/null
# a push through the fault proxy from a netns node (its :15002 forwarder, its buildkitd.toml trust)
mkdir -p "$W/faulty"
printf 'FROM busybox\nCOPY Dockerfile /check\n' >"$W/faulty/Dockerfile"
ep=$(endpoint amd64b)
if DOCKER_CONFIG=$W/docker timeout 300 "$BUILDCTL" --addr "$ep" --tlsservername localhost \
     --tlscacert "$CLIENT_DIR/ca.pem" --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" build --progress plain \
     --frontend dockerfile.v0 --local context="$W/faulty" --local dockerfile="$W/faulty" \
     --output "type=image,name=$REG_HOST:$FAULT_PORT/farm-check/faulty:latest,push=true" >"$W/faulty.log" 2>&1 \
   && code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' --cacert "$CA_CERT" -u "$REG_USER:$pw" \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
        "https://$REG_HOST:$PUSH_PORT/v2/farm-check/faulty/manifests/latest") && [ "$code" = 200 ]; then
  ok "amd64b node pushes through the fault proxy to the push registry" "$(fault_admin GET /counters | jq -c .)"
else bad "amd64b node pushes through the fault proxy" "$(grep -m1 -i error "$W/faulty.log") ${code:-}"; fi
fault_admin POST /reset >/dev/null

if [ $CUT = 1 ]; then
  for n in "${NATIVE_NODES[@]}"; do
    ep=$(endpoint "$n")
    s=$SECONDS
    "$HERE/netns.sh" cut "$n" >/dev/null
    others=""
    for o in "${ALL_NODES[@]}"; do
      [ "$o" = "$n" ] && continue
      node_answers "$(endpoint "$o" | sed 's|^tcp://||')" || others+=" $o"
    done
    if node_answers "${ep#tcp://}"; then bad "netns.sh cut $n: $ep unreachable" "still answers"
    elif [ -n "$others" ]; then bad "netns.sh cut $n: only $n unreachable" "also unreachable:$others"
    else ok "netns.sh cut $n: $ep unreachable, the others answer" "($((SECONDS - s)) s)"; fi
    s=$SECONDS
    if "$HERE/netns.sh" restore "$n" >/dev/null && node_answers "${ep#tcp://}"; then
      ok "netns.sh restore $n: $ep answers again" "($((SECONDS - s)) s)"
    else bad "netns.sh restore $n: $ep answers again"; fi
  done
fi

if [ "$(jq -r '.docker.endpoint // ""' "$FARM/farm.json")" != "" ]; then
  dk() { DOCKER_CONFIG=$W/docker DOCKER_HOST=tcp://$DOCKER_ADDR DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$CLIENT_DIR \
         DOCKER_CONTEXT='' timeout 120 docker "$@"; }
  if v=$(dk version --format '{{.Server.Version}}' 2>&1); then ok "docker node answers over TLS" "$v"
  else bad "docker node answers over TLS" "$v"; fi
  # what buildx's docker-container driver does: a privileged, host-network container of the farm's buildkit image
  img=$(jq -r .docker.buildkitImage "$FARM/farm.json")
  mkdir -p "$W/dc/ctx"
  printf 'FROM busybox\nRUN uname -m >/a\n' >"$W/dc/ctx/Dockerfile"
  printf '[registry."docker.io"]\n  mirrors = ["127.0.0.1:%s"]\n[registry."127.0.0.1:%s"]\n  http = false\n  ca = ["/dc/ca.pem"]\n' \
    "$MIRROR_PORT" "$MIRROR_PORT" >"$W/dc/buildkitd.toml"
  cp "$CA_CERT" "$W/dc/ca.pem"
  dk rm -f farm-check-dc >/dev/null 2>&1
  if dk run -d --name farm-check-dc --privileged --network host -v "$W/dc:/dc:ro" "$img" \
       --config /dc/buildkitd.toml --addr unix:///run/buildkit/buildkitd.sock >"$W/dc.log" 2>&1 \
     && wait_until "buildkitd in farm-check-dc" 30 dk exec farm-check-dc buildctl debug workers \
     && dk exec farm-check-dc buildctl build --frontend dockerfile.v0 --local context=/dc/ctx --local dockerfile=/dc/ctx \
          --opt platform=linux/amd64,linux/arm64 >>"$W/dc.log" 2>&1; then
    ok "docker node: privileged buildkit container builds amd64+arm64" "$img"
  else bad "docker node: privileged buildkit container builds amd64+arm64" "$(tail -n 2 "$W/dc.log" | tr '\n' ' ')"; fi
  dk rm -f farm-check-dc >/dev/null 2>&1
fi

if [ $fails = 0 ]; then echo "farm-check: all passed"; else echo "farm-check: $fails failed"; exit 1; fi
