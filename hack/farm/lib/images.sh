# shellcheck shell=bash
# images.sh — base images for the mirror registry, built without any daemon: buildctl against the amd64 node,
# FROM scratch/busybox + COPY, no RUN (so nothing is emulated). Multi-arch indexes linux/amd64 + linux/arm64.
#   library/busybox:1.35, :latest     Debian busybox-static, passwd/group with root, nobody, nonroot
#   library/golang:1.26, :<full>, :latest   host Go (amd64) + golang.org/toolchain module (arm64), CA certs
#   docker/dockerfile:1, :<ver>       BuildKit's Dockerfile frontend, so "# syntax=docker/dockerfile:1" resolves
#   moby/buildkit:buildx-stable-1     (docker node only) for buildx's docker-container driver

MIRROR=127.0.0.1:$MIRROR_PORT

# _manifest REPO REF : raw manifest/index JSON from the mirror registry (no auth there)
_manifest() {
  curl -sf -m 10 --cacert "$CA_CERT" \
    -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "https://$REG_HOST:$MIRROR_PORT/v2/$1/manifests/$2"
}

# image_has REPO:TAG [PLATFORM...] : the tag exists; for an index, it lists every given platform.
image_has() {
  local repo=${1%:*} tag=${1##*:} m p; shift
  m=$(_manifest "$repo" "$tag") || return 1
  [ $# = 0 ] && return 0
  for p in "$@"; do
    jq -e --arg os "${p%/*}" --arg arch "${p#*/}" \
      '[.manifests[]?.platform | select(.os==$os and .architecture==$arch)] | length > 0' <<<"$m" >/dev/null || return 1
  done
}

# _bk_image NAME CONTEXTDIR PLATFORMS TAG... : build CONTEXTDIR/Dockerfile on the amd64 node and push all tags
_bk_image() {
  local name=$1 ctx=$2 plats=$3; shift 3
  local names="" t log=$FARM/logs/image-$name.log
  local t0; t0=$(now_us)
  for t in "$@"; do names+="${names:+,}$MIRROR/$t"; done
  run_logged "$log" timeout 1200 "$BUILDCTL" --addr "tcp://$NODE_AMD64_ADDR" --tlsservername localhost \
    --tlscacert "$CLIENT_DIR/ca.pem" --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" \
    build --progress plain --frontend dockerfile.v0 --local "context=$ctx" --local "dockerfile=$ctx" \
    --opt "platform=$plats" --output "type=image,\"name=$names\",push=true"
  info "pushed $MIRROR/{$(IFS=,; echo "$*")} ($plats) in $(fmt_us $(( $(now_us) - t0 ))) s"
}

image_busybox() {
  local tags=(library/busybox:1.35 library/busybox:latest) t all=1
  for t in "${tags[@]}"; do image_has "$t" linux/amd64 linux/arm64 || all=0; done
  if [ $all = 1 ]; then info "library/busybox:1.35,latest present"; return 0; fi
  info "building library/busybox (amd64+arm64) from busybox-static (about 5 s)"
  local c=$FARM/ctx/busybox a r deb p
  rm -rf "$c"; mkdir -p "$c"
  for a in amd64 arm64; do
    r=$c/rootfs-$a
    deb=$(ls "$FARM"/debs/busybox-static_*_"$a".deb | tail -n 1)
    mkdir -p "$r" "$c/x-$a"
    dpkg-deb -x "$deb" "$c/x-$a"
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,home/nonroot,var/spool/mail,var/www,dev,proc,sys}
    install -m 0755 "$c/x-$a/bin/busybox" "$r/bin/busybox"
    install -d -m 0700 "$r/root"
    install -d -m 1777 "$r/tmp"
    install -d -m 1777 "$r/var/tmp"
    rm -rf "$c/x-$a"
  done
  # applet links (identical list for both architectures; asked of the amd64 binary)
  while read -r p; do
    [ "$p" = bin/busybox ] || [ -z "$p" ] && continue
    for a in amd64 arm64; do
      mkdir -p "$c/rootfs-$a/$(dirname "$p")"
      ln -sfn /bin/busybox "$c/rootfs-$a/$p"
    done
  done < <("$c/rootfs-amd64/bin/busybox" --list-full)
  for a in amd64 arm64; do
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n' >"$c/rootfs-$a/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n' >"$c/rootfs-$a/etc/group"
    chown -R 65532:65532 "$c/rootfs-$a/home/nonroot"
  done
  cat >"$c/Dockerfile" <<'EOF'
# xbuild farm: busybox from Debian busybox-static (no RUN: built on any node without emulation)
FROM scratch
ARG TARGETARCH
COPY rootfs-${TARGETARCH}/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
EOF
  _bk_image busybox "$c" linux/amd64,linux/arm64 "${tags[@]}"
}

image_golang() {
  local gov gm
  gov=$(go env GOVERSION); gov=${gov#go}; gm=${gov%.*}
  local tags=("library/golang:$gm" "library/golang:$gov" library/golang:latest) t all=1
  for t in "${tags[@]}"; do image_has "$t" linux/amd64 linux/arm64 || all=0; done
  if [ $all = 1 ]; then info "library/golang:$gm,$gov,latest present"; return 0; fi
  info "building library/golang:$gm (go$gov; amd64 from $(go env GOROOT), arm64 from golang.org/toolchain; about 1 min incl. a 70 MB download)"
  local c=$FARM/ctx/golang d log=$FARM/logs/image-golang.log
  rm -rf "$c"; mkdir -p "$c"
  cp -al "$(go env GOROOT)" "$c/go-amd64" 2>/dev/null || cp -a "$(go env GOROOT)" "$c/go-amd64"
  d=$(module_dir "golang.org/toolchain@v0.0.1-go$gov.linux-arm64" 2>>"$log") \
    || die "cannot download golang.org/toolchain@v0.0.1-go$gov.linux-arm64" "$log"
  cp -a "$d" "$c/go-arm64"
  chmod -R u+w "$c/go-arm64"
  # module zips carry no file modes: restore the executables
  chmod 0755 "$c"/go-arm64/bin/* "$c"/go-arm64/pkg/tool/linux_arm64/*
  find "$c/go-arm64" -type f \( -name '*.bash' -o -name '*.sh' \) -exec chmod 0755 {} +
  [ -x "$c/go-amd64/bin/go" ] && [ -x "$c/go-arm64/bin/go" ] || die "Go trees for the golang image are incomplete"
  if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    "$c/go-arm64/bin/go" version >>"$log" 2>&1 || die "the arm64 go binary does not run under qemu" "$log"
  fi
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$c/ca-certificates.crt"
  cat >"$c/Dockerfile" <<EOF
# xbuild farm: golang:$gm without Docker Hub (no RUN: built on any node without emulation)
FROM busybox
ARG TARGETARCH
ENV GOLANG_VERSION=$gov GOTOOLCHAIN=local GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go-\${TARGETARCH}/ /usr/local/go/
WORKDIR /go
EOF
  _bk_image golang "$c" linux/amd64,linux/arm64 "${tags[@]}"
  rm -rf "$c/go-amd64" "$c/go-arm64"
}

image_frontend() {
  local v=$1 c=$FARM/ctx/dockerfile-frontend fv tags
  fv=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$(module_dir "github.com/moby/buildkit@$v")/frontend/dockerfile/version/version.go" 2>/dev/null || true)
  tags=(docker/dockerfile:1)
  [[ ${fv:-} =~ ^[0-9]+\.[0-9]+ ]] && tags+=("docker/dockerfile:$fv")
  if image_has docker/dockerfile:1 linux/amd64 linux/arm64 && [ "$(cat "$c/.pushed" 2>/dev/null)" = "$v" ]; then
    info "docker/dockerfile:1 (buildkit $v) present"; return 0
  fi
  info "building docker/dockerfile:1 (${tags[*]#docker/dockerfile:}) from the compiled frontend (about 5 s)"
  rm -rf "$c"; mkdir -p "$c"
  install -m 0755 "$FARM/bin/dockerfile-frontend-amd64" "$FARM/bin/dockerfile-frontend-arm64" "$c/"
  cat >"$c/Dockerfile" <<'EOF'
# xbuild farm: BuildKit's Dockerfile frontend, so "# syntax=docker/dockerfile:1" resolves through the mirror
FROM scratch
ARG TARGETARCH
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
COPY dockerfile-frontend-${TARGETARCH} /bin/dockerfile-frontend
ENTRYPOINT ["/bin/dockerfile-frontend"]
EOF
  _bk_image dockerfile-frontend "$c" linux/amd64,linux/arm64 "${tags[@]}"
  rm -f "$c"/dockerfile-frontend-*
  echo "$v" >"$c/.pushed"
}

# Local stand-in for moby/buildkit:buildx-stable-1 (amd64): busybox + buildkitd/buildctl + Debian runc and its libs.
image_buildkit() {
  local v=$1 c=$FARM/ctx/buildkit-image l
  local tags=(moby/buildkit:buildx-stable-1 "moby/buildkit:$v")
  if image_has moby/buildkit:buildx-stable-1 && [ "$(cat "$c/.pushed" 2>/dev/null)" = "$v $(stat -c %Y "$BUILDKITD")" ]; then
    info "moby/buildkit:buildx-stable-1 ($v) present"; return 0
  fi
  info "building moby/buildkit:buildx-stable-1 (linux/amd64, about 10 s)"
  rm -rf "$c"; mkdir -p "$c/bin" "$c/lib"
  install -m 0755 "$BUILDKITD" "$BUILDCTL" "$c/bin/"
  install -m 0755 /usr/bin/runc "$c/bin/buildkit-runc"
  for l in $(ldd /usr/bin/runc | grep -o '/[^ ]*'); do
    mkdir -p "$c/lib$(dirname "$l")"; cp -L "$l" "$c/lib$l"
  done
  cat >"$c/Dockerfile" <<'EOF'
# xbuild farm: local stand-in for moby/buildkit:buildx-stable-1 (buildx docker-container driver)
FROM busybox
COPY lib/ /
COPY bin/ /usr/bin/
VOLUME /var/lib/buildkit
ENTRYPOINT ["buildkitd"]
EOF
  _bk_image buildkit "$c" linux/amd64 "${tags[@]}"
  rm -rf "${c:?}/bin" "${c:?}/lib"
  echo "$v $(stat -c %Y "$BUILDKITD")" >"$c/.pushed"
}
