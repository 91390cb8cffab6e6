#!/usr/bin/env bash
# demo.sh — xbuild's main job, for real, on this machine (`make demo`, as root):
#   1. bring up the local build farm (or reuse it): BuildKit nodes over mutual TLS whose certificates
#      were made by `xbuild nodes certs`, a TLS registry, QEMU
#   2. register the amd64 and arm64 nodes with `xbuild nodes add`
#   3. `xbuild build examples/go-service` for linux/amd64 + linux/arm64, --push, verified, with a report
#   4. print how to look at the result, and how to clean up
# Everything xbuild writes goes to $XBUILD_FARM_DIR/demo (its own node registry and docker config).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FARM=${XBUILD_FARM_DIR:-/var/tmp/xbuild-farm}
XBUILD=${XBUILD_BIN:-$ROOT/bin/xbuild}
T0=$(date +%s)
say() { printf '\n== %s\n' "$*"; }
took() { printf '   (%ss)\n' "$(( $(date +%s) - $1 ))"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (the farm starts daemons and a network namespace)" >&2; exit 1; }
[ -x "$XBUILD" ] || { echo "demo: $XBUILD not found; run make build" >&2; exit 1; }

say "1/4 local build farm (first run on a fresh machine: ~6-8 min, mostly compiling BuildKit; then seconds)"
s=$(date +%s); bash "$ROOT/hack/farm/up.sh"; took "$s"

DEMO=$FARM/demo
mkdir -p "$DEMO"
export XBUILD_CONFIG_DIR=$DEMO/xbuild DOCKER_CONFIG=$DEMO/docker SSL_CERT_FILE=$FARM/certs/ca-bundle.pem
mkdir -p "$DOCKER_CONFIG" && cp "$FARM/docker/config.json" "$DOCKER_CONFIG/config.json"
C=$FARM/certs/client
SERVER=$(jq -r .certs.serverName "$FARM/farm.json")

say "2/4 register the nodes (certificates in $FARM/certs were made by: xbuild nodes certs --out ... --host ...)"
s=$(date +%s)
for n in amd1:$(jq -r .nodes.amd64.endpoint "$FARM/farm.json") arm1:$(jq -r .nodes.arm64.endpoint "$FARM/farm.json"); do
  name=${n%%:*} ep=${n#*:}
  "$XBUILD" nodes rm "$name" >/dev/null 2>&1 || true   # idempotent: a second demo re-registers
  echo "+ xbuild nodes add $name --endpoint $ep --tls-ca $C/ca.pem --tls-cert $C/cert.pem --tls-key $C/key.pem --tls-servername $SERVER"
  "$XBUILD" nodes add "$name" --endpoint "$ep" --tls-ca "$C/ca.pem" --tls-cert "$C/cert.pem" --tls-key "$C/key.pem" --tls-servername "$SERVER"
done
echo "+ xbuild nodes ls"
"$XBUILD" nodes ls
took "$s"

REF=$(jq -r .registry.push "$FARM/farm.json")/demo/go-service:$(date +%Y%m%d-%H%M%S)
say "3/4 build examples/go-service for linux/amd64 + linux/arm64, push one manifest list, verify it"
echo "   The farm's \"arm64 node\" is this amd64 VM running arm64 through QEMU, so its Go compile takes"
echo "   a few minutes the first time (real arm64 hardware does it as fast as amd64); later runs hit the cache."
echo "   The example's own xbuild.yaml sets the platforms, zstd level 19, the lint threshold and a 3 MB size budget."
echo "+ xbuild build --config examples/go-service/xbuild.yaml -t $REF --push --progress plain"
s=$(date +%s)
# the farm's hadolint (installed by farm-up), whatever else PATH offers
HADOLINT=$(jq -r '.hadolint // empty' "$FARM/farm.json")
XBUILD_LINT_HADOLINT=$HADOLINT \
  "$XBUILD" build --config "$ROOT/examples/go-service/xbuild.yaml" -t "$REF" --push --progress plain \
  --metadata-file "$DEMO/metadata.json"
took "$s"

say "4/4 done in $(( $(date +%s) - T0 ))s — $DEMO/metadata.json holds what docker buildx build --metadata-file writes"
cat <<EOF
Look at the result:
  export XBUILD_CONFIG_DIR=$XBUILD_CONFIG_DIR DOCKER_CONFIG=$DOCKER_CONFIG SSL_CERT_FILE=$SSL_CERT_FILE XBUILD_LINT_HADOLINT=$HADOLINT
  $XBUILD nodes ls
  $XBUILD verify $REF --platform linux/amd64,linux/arm64
  jq -r '."containerimage.digest"' $DEMO/metadata.json   # as a script written for buildx reads it
  skopeo inspect --raw --cert-dir $FARM/certs/skopeo --authfile $DOCKER_CONFIG/config.json docker://$REF | jq .
A node going away (hack/farm/netns.sh cut|drop|restore|status [NODE]; NODE is amd64, amd64b, arm64 (the default) or arm64b):
  bash $ROOT/hack/farm/netns.sh drop arm64; $XBUILD nodes check; bash $ROOT/hack/farm/netns.sh restore arm64
Clean up:
  make farm-down
EOF
