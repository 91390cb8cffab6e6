# shellcheck shell=bash
# supply.sh — the farm's supply-chain tools, from the Go module proxy (no container registry needed):
#   bin/cosign                      the real cosign CLI (COSIGN_VERSION), to check what xbuild signs
#   bin/sbom-generator-{amd64,arm64}  hack/sbom: BuildKit's SBOM generator protocol over the syft library
#   xbuild/sbom-generator:<hash>, :1  in the mirror, so nodes resolve docker.io/xbuild/sbom-generator:<hash>
#                                   (buildx --attest type=sbom,generator=IMAGE; xbuild build --sbom-generator)

COSIGN_VERSION=${COSIGN_VERSION:-v2.6.5}
SBOM_SRC=$REPO_ROOT/hack/sbom

_cosign_ok() { [ -x "$FARM/bin/cosign" ] && "$FARM/bin/cosign" version --json 2>/dev/null | jq -e --arg v "$COSIGN_VERSION" '.gitVersion == $v' >/dev/null; }

# install_cosign : go install cosign at COSIGN_VERSION into $FARM/bin (about 3 min cold on 2 cores).
install_cosign() {
  local log=$FARM/logs/cosign.log t0
  if _cosign_ok; then info "cosign $COSIGN_VERSION already installed"; return 0; fi
  info "go install github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION (about 3 min on 2 cores, less with a warm Go cache)..."
  t0=$(now_us)
  (cd / && run_logged "$log" env GOBIN="$FARM/bin" CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
     go install -trimpath -ldflags "-s -w" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION")
  _cosign_ok || die "the installed cosign does not report $COSIGN_VERSION" "$log"
  info "cosign $COSIGN_VERSION -> bin/cosign in $(fmt_us $(( $(now_us) - t0 ))) s"
}

# sbom_generator_hash : what the generator image is built from (sources, go.mod, go.sum), 12 hex digits.
sbom_generator_hash() {
  (cd "$SBOM_SRC" && cat go.mod go.sum ./*.go) | sha256sum | cut -c1-12
}

# compile_sbom_generator : hack/sbom for linux/amd64 and linux/arm64, static (about 3 min per
# architecture cold on 2 cores: syft and its catalogers; seconds when the stamp matches).
compile_sbom_generator() {
  local log=$FARM/logs/compile-sbom.log h a out stamp=$FARM/bin/sbom-generator.version t0
  h=$(sbom_generator_hash)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$h" ] && [ -x "$FARM/bin/sbom-generator-amd64" ] && [ -x "$FARM/bin/sbom-generator-arm64" ]; then
    info "sbom-generator ($h) already built"; return 0
  fi
  info "compiling the SBOM generator (hack/sbom, syft) for amd64 and arm64 (about 3 min per architecture cold)..."
  for a in amd64 arm64; do
    t0=$(now_us)
    out=$FARM/bin/sbom-generator-$a
    (cd "$SBOM_SRC" && run_logged "$log" env CGO_ENABLED=0 GOOS=linux GOARCH=$a GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
       go build -trimpath -ldflags "-s -w -X main.version=$h" -o "$out.tmp" .)
    mv -f "$out.tmp" "$out"
    info "sbom-generator linux/$a in $(fmt_us $(( $(now_us) - t0 ))) s ($(( $(stat -c %s "$out") / 1048576 )) MiB)"
  done
  echo "$h" >"$stamp"
}

# image_sbom_generator : the generator image in the mirror (FROM scratch + COPY: no RUN, no emulation).
image_sbom_generator() {
  local h c=$FARM/ctx/sbom-generator
  h=$(sbom_generator_hash)
  if image_has "xbuild/sbom-generator:$h" linux/amd64 linux/arm64; then
    info "xbuild/sbom-generator:$h present"; return 0
  fi
  info "building xbuild/sbom-generator:$h (amd64+arm64, about 10 s)"
  rm -rf "$c"; mkdir -p "$c"
  install -m 0755 "$FARM/bin/sbom-generator-amd64" "$FARM/bin/sbom-generator-arm64" "$c/"
  cat >"$c/Dockerfile" <<'EOF'
# xbuild farm: an SBOM generator following BuildKit's protocol (hack/sbom, syft), no RUN
FROM scratch
ARG TARGETARCH
COPY sbom-generator-${TARGETARCH} /bin/sbom-generator
# syft may keep caches under $HOME; BuildKit mounts a tmpfs on /tmp
ENV HOME=/tmp
ENTRYPOINT ["/bin/sbom-generator"]
EOF
  _bk_image sbom-generator "$c" linux/amd64,linux/arm64 "xbuild/sbom-generator:$h" xbuild/sbom-generator:1
  rm -f "$c"/sbom-generator-*
}

# sbom_generator_ref : what `xbuild build --sbom-generator` takes on the farm.
sbom_generator_ref() { echo "docker.io/xbuild/sbom-generator:$(sbom_generator_hash)"; }
