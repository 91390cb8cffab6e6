package config

// Template is the commented xbuild.yaml that `xbuild init` writes. Every key
// is present with its default, so the file doubles as the reference. A test
// checks that it parses, validates and names every key.
const Template = `# xbuild.yaml — project build configuration, committed with the app.
# Precedence: command-line flags > XBUILD_* environment variables > this file > defaults.
# Every key below shows its default. Environment names: platforms -> XBUILD_PLATFORMS,
# lint.failure-threshold -> XBUILD_LINT_FAILURE_THRESHOLD.

# Repository the tags are appended to, e.g. registry.example.com/team/app.
image: ""
# Tags to push (image:tag). A full reference (registry/app:tag) is used as is.
tags: []
# Target platforms. Each goes to a healthy native node (see: xbuild nodes ls).
platforms:
  - linux/amd64
  - linux/arm64
# Paths in this file (dockerfile, context, metadata-file, digest-file) are relative to the file itself.
dockerfile: Dockerfile
context: .
# Dockerfile stage to build; empty builds the last stage.
target: ""
# Build arguments. TARGETARCH/TARGETOS/TARGETPLATFORM are refused: BuildKit sets them per platform.
build-args: {}

# buildx builder that xbuild keeps in sync with the registered nodes.
builder: xbuild
# embedded: buildx runs inside xbuild. docker-cli: run an external "docker buildx".
engine: embedded

# Push the merged multi-platform manifest list (also: --push).
push: false
# Layer compression: gzip (safest for older clusters), zstd (needs Docker >= 23 /
# containerd >= 1.5 on the pulling side) or uncompressed.
compression: gzip
# 0 keeps the compressor's default (gzip 1-9, zstd 1-22).
compression-level: 0

# Proxy settings are passed as build arguments, never as ENV, so they reach RUN steps
# but stay out of the image. Values here win over the environment.
proxy:
  # Copy HTTP_PROXY, HTTPS_PROXY, NO_PROXY, FTP_PROXY, ALL_PROXY (any case) from the environment.
  from-env: true
  http: ""
  https: ""
  no-proxy: ""
  ftp: ""
  all: ""

# Lint gate, run before anything is built (also: xbuild lint).
lint:
  enabled: true
  # hadolint binary; empty looks it up on PATH. Built-in rules always run.
  hadolint: ""
  # Fail when hadolint is missing instead of running the built-in rules alone.
  require-hadolint: false
  # Lowest severity that fails the build: error, warning, info, style or none.
  failure-threshold: error
  # Rule IDs to ignore everywhere, e.g. [DL3008, XB005].
  ignore: []

# After a push, read the image back from the registry and check platforms,
# architectures, compression and that no proxy value leaked into it.
verify: true
# Fail when the largest platform image (compressed) exceeds this, e.g. 50MB. Empty: no budget.
size-budget: ""
# When no native node for a platform is healthy, build it on an emulated (QEMU) node.
allow-emulation: false
# Pin platforms to nodes of your node registry instead of letting xbuild pick the
# least loaded healthy one: PLATFORM=NODE (linux/amd64=amd2), or a bare NODE for
# every platform it builds. A pinned node that is down fails the build (never re-routed).
nodes: []

# Progress display: auto, plain, tty or quiet.
progress: auto
# Fail a build that reports no progress for this long.
stall-timeout: 10m
# Per-node health-check timeout.
health-timeout: 2.5s

# Passed to buildx as --cache-from / --cache-to.
cache-from: []
cache-to: []
# Write what docker buildx build --metadata-file writes (containerimage.digest,
# containerimage.descriptor, image.name, ...) to this file, once the build succeeded.
# xbuild's own report (nodes, sizes, verify checks, step times): report: json.
metadata-file: ""
# Report format: table (on stderr) or json (on stdout).
report: table

# CI runners: push each platform by digest and verify it, with no index and no tag
# (implies push); the tags come from "xbuild merge" in a last job.
push-by-digest: false
# With push-by-digest: write what was pushed (repository, platform, digest, size, node,
# verify result) as JSON to this file, the input of "xbuild merge".
digest-file: ""
# Several images in one build (a repository that ships more than one): each entry
# has a name and sets any of image, tags, platforms, dockerfile, context, target,
# build-args and size-budget for its image; every other key above applies to all.
# They build concurrently, each verified and tagged on its own (--all-or-nothing:
# none is tagged unless all are verified); --only NAME builds some of them.
# A context without a dockerfile uses CONTEXT/Dockerfile. Example:
#   images:
#     - name: api
#       image: registry.example.com/team/api
#       context: services/api
#     - name: worker
#       image: registry.example.com/team/worker
#       context: services/worker
images: []
# Build secrets, buildx --secret form: id=ID,src=FILE or id=ID,env=VAR. A RUN step
# mounts one with RUN --mount=type=secret,id=ID; the value is never in the image,
# the history, the provenance or xbuild's output (xbuild reads it only to mask it).
secrets: []
# SSH agent sockets or keys, buildx --ssh form: default, or ID=SOCKET|KEY[,KEY].
ssh: []
# Image labels, KEY=VALUE. In a git checkout xbuild adds org.opencontainers.image.source,
# .revision, .version and .created itself (from git and the tag); labels here win.
labels: []
# OCI annotations, buildx --annotation form: [TYPE[PLATFORM],...:]KEY=VALUE, TYPE one
# of manifest (the default), index, manifest-descriptor, index-descriptor.
annotations: []
# Provenance attestation: min (no build-argument values), max (all of them: refused
# while a proxy setting carries credentials) or false.
provenance: min
# An SPDX SBOM attestation for every platform image.
sbom: false
# The BuildKit SBOM generator image; empty: BuildKit's default (docker/buildkit-syft-scanner).
sbom-generator: ""
# Same commit, same image digests: SOURCE_DATE_EPOCH from the last commit and
# rewritten layer timestamps.
reproducible: false

# Signing (after verify, before any tag is written), in cosign's format in the registry.
sign:
  # cosign private key (cosign generate-key-pair); its password from COSIGN_PASSWORD.
  # Empty: no signing.
  key: ""
`
