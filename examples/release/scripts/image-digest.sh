#!/bin/sh
# image-digest.sh METADATA_FILE IMAGE
#
# Prints IMAGE@DIGEST for the image a build pushed, read from the file
# `docker buildx build --metadata-file` writes (`xbuild build
# --metadata-file` writes the same keys). Written for buildx; used unchanged
# with xbuild by `make release-buildx`.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 METADATA_FILE IMAGE" >&2; exit 2; }
digest=$(jq -r '."containerimage.digest" // empty' "$1")
case $digest in
  sha256:*) ;;
  *) echo "$1: no containerimage.digest (was the image pushed?)" >&2; exit 1 ;;
esac
printf '%s@%s\n' "$2" "$digest"
